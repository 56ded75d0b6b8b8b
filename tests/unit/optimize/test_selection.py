"""Variant selection: smallest on disk within the budget, per target; failures never selected."""
from __future__ import annotations

from mobilekit.optimize.sweep import SweepResult, VariantRow, _select


def _row(name, target, size, metric, parity="passed", error=None):
    row = VariantRow(name, target, "", [], "fp32", bytes=size, metric=metric, delta=None if metric is None else metric - 0.90,
                     parity={"status": parity}, error=error)
    return row


def _result(rows, max_drop=0.01, limit=None, metric="iou", direction="higher", reference=0.90):
    return SweepResult("segmentation", "small", "x", metric, direction, "", max_drop, limit, {metric: reference}, rows, ["coreml", "tflite"])


def test_smallest_within_budget_per_target():
    result = _result([_row("coreml-fp16", "coreml", 1000, 0.90), _row("coreml-palette4", "coreml", 300, 0.8905),
                      _row("coreml-palette2", "coreml", 150, 0.85), _row("tflite-fp32", "tflite", 2000, 0.90),
                      _row("tflite-int8", "tflite", 500, 0.895)])
    _select(result)
    assert result.selected == {"coreml": "coreml-palette4", "tflite": "tflite-int8"}
    assert result.budget_met and result.row("coreml-palette4").selected and not result.row("coreml-palette2").within_budget


def test_failed_parity_and_errors_are_never_selected():
    result = _result([_row("coreml-fp16", "coreml", 1000, 0.90), _row("coreml-palette4", "coreml", 300, 0.90, parity="failed"),
                      _row("coreml-palette6", "coreml", 400, None, error="RuntimeError: boom"), _row("tflite-fp32", "tflite", 2000, 0.9)])
    _select(result)
    assert result.selected["coreml"] == "coreml-fp16"


def test_unmet_budget_names_the_target_and_keeps_the_table():
    result = _result([_row("coreml-fp16", "coreml", 1000, 0.90), _row("tflite-fp32", "tflite", 2000, 0.90)], limit=0.95)
    _select(result)
    assert not result.budget_met and result.selected == {"coreml": None, "tflite": None}
    assert "no coreml, tflite variant keeps iou at most 0.01 lower than the fp32 reference" in result.unmet_message()
    assert "at least 0.95" in result.unmet_message()
    assert "coreml-fp16" in result.table() and "over" in result.table()


def test_lower_is_better_metric_budget_and_limit():
    """AbsRel-like metric: a variant may be at most max_drop *higher*; the limit is a ceiling."""
    rows = [_row("coreml-fp16", "coreml", 1000, 0.100), _row("coreml-palette4", "coreml", 300, 0.108),
            _row("coreml-palette2", "coreml", 150, 0.125), _row("tflite-fp32", "tflite", 2000, 0.100),
            _row("tflite-int8", "tflite", 500, 0.095)]
    for row in rows:
        row.delta = row.metric - 0.100
    result = _result(rows, max_drop=0.01, metric="absrel", direction="lower", reference=0.100)
    _select(result)
    assert result.selected == {"coreml": "coreml-palette4", "tflite": "tflite-int8"}
    capped = _result(rows, max_drop=0.01, limit=0.105, metric="absrel", direction="lower", reference=0.100)
    _select(capped)
    assert capped.selected["coreml"] == "coreml-fp16" and "at most 0.105" in capped.budget_text()
    assert capped.spec.retention(0.100, 0.125) == 0.8
