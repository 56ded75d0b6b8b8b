import numpy as np

from mobilekit.core.config import Tolerance
from mobilekit.core.family import MetricSpec, TaskMetric
from mobilekit.parity.compare import compare_outputs, not_run
from mobilekit.parity.metrics import compare_values

TOL = Tolerance(max_abs=1e-4, min_psnr=40.0)


def _cmp(ref, cand, tol=TOL, **kw):
    return compare_outputs(ref, cand, tol, target="tflite", precision="fp32", runner="test", **kw)


def test_identical_outputs_pass_with_exact_psnr():
    ref = {"mask": np.linspace(0, 1, 32, dtype=np.float32).reshape(2, 4, 4, 1)}
    result = _cmp(ref, {"mask": ref["mask"].copy()})
    assert result.passed and result.outputs[0].psnr is None and result.outputs[0].max_abs == 0.0
    assert [line[0] for line in result.checks] == ["✓", "✓", "✓"]


def test_names_checked_before_shapes_before_values():
    ref = {"mask": np.zeros((1, 2, 2, 1), np.float32)}
    by_name = _cmp(ref, {"prob": np.zeros((1, 2, 2, 1), np.float32)})
    assert not by_name.passed and by_name.checks[0].startswith("✗ output names") and not by_name.outputs
    by_shape = _cmp(ref, {"mask": np.zeros((1, 2, 3, 1), np.float32)})
    assert not by_shape.passed and any(c.startswith("✗ shape") for c in by_shape.checks) and not by_shape.outputs


def test_value_error_beyond_tolerance_fails_with_reason():
    ref = {"mask": np.zeros((1, 8, 8, 1), np.float32)}
    cand = {"mask": ref["mask"] + 1e-3}
    result = _cmp(ref, cand)
    assert result.status == "failed" and "max_abs" in result.outputs[0].failures[0]


def test_nan_in_reference_never_passes():
    ref = {"mask": np.full((1, 2, 2, 1), np.nan, np.float32)}
    result = _cmp(ref, {"mask": ref["mask"].copy()})
    assert not result.passed and "NaN/Inf" in result.outputs[0].failures[0]


def test_task_metric_gate():
    ref = {"mask": np.ones((2, 4, 4, 1), np.float32)}
    cand = {"mask": np.zeros((2, 4, 4, 1), np.float32)}
    metric = TaskMetric(MetricSpec("agree"), lambda r, c: 0.5)
    result = _cmp(ref, cand, Tolerance(min_task_metric=0.99), task_metrics={name: metric for name in ref})
    out = next(iter(ref))
    assert not result.passed and result.task_metrics == [
        {"output": out, "name": "agree", "value": 0.5, "direction": "higher", "min": 0.99, "passed": False}]


def test_lower_is_better_task_metric_gates_on_its_maximum():
    ref = {"depth": np.ones((2, 4, 4, 1), np.float32)}
    metric = TaskMetric(MetricSpec("absrel", "lower"), lambda r, c: 0.02)
    assert _cmp(ref, dict(ref), Tolerance(max_task_metric=0.05), task_metrics={"depth": metric}).passed
    assert not _cmp(ref, dict(ref), Tolerance(max_task_metric=0.01), task_metrics={"depth": metric}).passed


def test_per_output_tolerances_replace_the_default():
    ref = {"a": np.zeros((1, 4), np.float32), "b": np.zeros((1, 4), np.float32)}
    cand = {"a": np.full((1, 4), 0.01, np.float32), "b": np.full((1, 4), 0.01, np.float32)}
    tol = Tolerance(max_abs=1e-3, outputs={"b": Tolerance(max_abs=0.1)})
    result = _cmp(ref, cand, tol)
    assert [o.passed for o in result.outputs] == [False, True]


def test_not_run_is_never_passed():
    result = not_run("coreml", "fp16", TOL, "needs macOS")
    assert result.status == "not_run" and not result.passed and result.to_dict()["passed"] is False


def test_metrics_values():
    ref = np.array([0.0, 1.0, 2.0, 3.0])
    m = compare_values(ref, ref + np.array([0.0, 0.0, 0.0, 0.3]))
    assert np.isclose(m["max_abs"], 0.3) and np.isclose(m["mean_abs"], 0.075) and np.isclose(m["max_rel"], 0.1)
    assert np.isclose(m["psnr"], 10 * np.log10(9 / (0.09 / 4)))
    assert 0.99 < m["cosine"] < 1.0
