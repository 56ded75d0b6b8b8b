"""Device-QA ingest: compare what a device produced on a bundle's fixtures with the goldens.

The device's outputs directory:

    DIR/device.json                  optional: {"device", "os", "runtime", "artifact", "compute_units", ...}
    DIR/case-000/<output>.bin        raw float32, little-endian, row-major, the output's shape (batch 1)
    ...

Every case × output of `fixtures/index.json` must be there with exactly the right size; anything
missing, misshapen or unreadable is bad input (InputError, exit 2) naming each file. Values are
judged with the tolerance the artifact's build-time gate used, per case and over all cases."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mobilekit.core.config import Tolerance
from mobilekit.core.errors import InputError
from mobilekit.parity.compare import ParityResult, compare_outputs
from mobilekit.qa.fixture_format import Goldens, decode, device_output_file, expected_bytes, read_goldens
from mobilekit.qa.reference import family_or_none

DEVICE_META = "device.json"
META_KEYS = ("device", "os", "runtime", "artifact", "compute_units")


@dataclass
class DeviceRun:
    meta: dict[str, Any]
    outputs: dict[str, np.ndarray]  # stacked over cases, in the index's case order
    ignored: list[str] = field(default_factory=list)


def read_device_meta(outputs_dir: Path) -> dict[str, Any]:
    path = outputs_dir / DEVICE_META
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise InputError(f"{path}: must be a JSON object, e.g. {{\"device\": \"Pixel 8\", \"runtime\": \"litert-xnnpack\"}}")
    for key in META_KEYS:
        if key in meta and not isinstance(meta[key], str):
            raise InputError(f"{path}: {key!r} must be a string")
    return meta


def read_device_outputs(outputs_dir: Path, goldens: Goldens) -> DeviceRun:
    """Every expected `<case>/<output>.bin`, checked for presence and size; all problems reported at once."""
    if not outputs_dir.is_dir():
        raise InputError(f"{outputs_dir}: outputs directory not found")
    meta = read_device_meta(outputs_dir)
    shapes = goldens.output_shapes
    problems: list[str] = []
    stacks: dict[str, list[np.ndarray]] = {name: [] for name in shapes}
    wanted = set()
    for case in goldens.cases:
        for name, shape in shapes.items():
            rel = device_output_file(case, name)
            wanted.add(rel)
            path = outputs_dir / rel
            want = expected_bytes(shape)
            if not path.is_file():
                problems.append(f"{path}: missing (expected {want} bytes: float32 little-endian, shape {'×'.join(map(str, shape))})")
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                problems.append(f"{path}: unreadable ({exc})")
                continue
            if len(data) != want:
                problems.append(f"{path}: {len(data)} bytes, expected {want} (float32 little-endian, shape {'×'.join(map(str, shape))})")
                continue
            stacks[name].append(decode(data, shape))
    if problems:
        raise InputError(f"{len(problems)} device output file(s) missing, misshapen or unreadable:\n" + "\n".join(f"  - {p}" for p in problems))
    present = sorted(p.relative_to(outputs_dir).as_posix() for p in outputs_dir.rglob("*") if p.is_file())
    ignored = [p for p in present if p not in wanted and p != DEVICE_META]
    return DeviceRun(meta, {n: np.concatenate(a) for n, a in stacks.items()}, ignored)


def select_artifact(goldens: Goldens, requested: str | None) -> tuple[str, dict[str, Any]]:
    """The artifact whose tolerance applies: by path or target name; the only one when unambiguous."""
    table = goldens.index["tolerances"]
    if not table:
        raise InputError(f"{goldens.bundle}: fixtures list no artifact tolerances")
    if requested is None:
        if len(table) == 1:
            return next(iter(table.items()))
        raise InputError(f"{goldens.bundle} holds {len(table)} artifacts; say which one ran (--artifact or "
                         f"\"artifact\" in {DEVICE_META}): {', '.join(sorted(table))}")
    if requested in table:
        return requested, table[requested]
    matches = [(p, e) for p, e in table.items() if e.get("target") == requested or Path(p).name == requested]
    if len(matches) == 1:
        return matches[0]
    raise InputError(f"artifact {requested!r} is not in {goldens.bundle}; accepted: {', '.join(sorted(table))}")


def _task_summary(result: ParityResult) -> dict[str, Any]:
    """`task_metrics` (one per output with a task metric) and `task_metric`, the first of them."""
    return {"task_metrics": result.task_metrics, "task_metric": result.task_metrics[0] if result.task_metrics else None}


def _outputs_summary(result: ParityResult) -> list[dict[str, Any]]:
    keys = ("name", "passed", "max_abs", "mean_abs", "max_rel", "cosine", "psnr", "failures")
    return [{k: getattr(o, k) for k in keys} for o in result.outputs]


def ingest(bundle: Path, outputs_dir: Path, *, artifact: str | None = None, report_dir: Path | None = None,
           reporter=None) -> dict[str, Any]:
    """Judge a device's outputs against the bundle's goldens. `passed` is true when every case and the
    all-cases comparison (the build gate's view) pass."""
    goldens = read_goldens(bundle)
    run = read_device_outputs(outputs_dir, goldens)
    if reporter is not None:
        reporter.stage(f"comparing {len(goldens.cases)} case(s) from {outputs_dir} with the goldens of {bundle.name}")
    path, entry = select_artifact(goldens, artifact or run.meta.get("artifact"))
    tolerance = Tolerance(**entry.get("tolerance", {}))
    target, precision = entry.get("target") or "unknown", entry.get("precision") or "fp32"
    device = run.meta.get("device") or "device"
    runner = f"device: {device}" + (f" ({run.meta['runtime']})" if run.meta.get("runtime") else "")
    family = family_or_none(goldens.manifest.get("family", ""))
    task = family.task_metrics if family else None

    def judge(window: slice = slice(None)) -> ParityResult:
        """The comparison over the cases `window` selects (all by default)."""
        def pick(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {n: a[window] for n, a in arrays.items()}

        return compare_outputs(pick(goldens.expected), pick(run.outputs), tolerance, target=target, precision=precision,
                               runner=runner, task_metrics=task, inputs=pick(goldens.inputs))

    overall = judge()
    per_case: list[tuple[str, ParityResult, slice]] = []
    for i, case in enumerate(goldens.cases):
        window = slice(i, i + 1)
        result = judge(window)
        per_case.append((case, result, window))
    passed = overall.passed and all(r.passed for _, r, _ in per_case)
    summary: dict[str, Any] = {
        "bundle": str(bundle), "outputs_dir": str(outputs_dir), "device": run.meta, "artifact": path,
        "target": target, "precision": precision, "tolerance": tolerance.model_dump(exclude_none=True),
        "passed": passed, "status": "passed" if passed else "failed",
        "cases_total": len(per_case), "cases_failed": [c for c, r, _ in per_case if not r.passed],
        "overall": {"passed": overall.passed, "checks": overall.checks, "outputs": _outputs_summary(overall),
                    **_task_summary(overall)},
        "cases": [{"case": c, "passed": r.passed, "checks": r.checks, "outputs": _outputs_summary(r), **_task_summary(r)}
                  for c, r, _ in per_case],
        "ignored_files": run.ignored,
    }
    if report_dir is not None:
        from mobilekit.parity.report import ReportEntry, write_reports

        title = f"{path} on {device}"
        entries = [ReportEntry(f"{title} — all cases", overall, goldens.inputs, goldens.expected, run.outputs)]
        entries += [ReportEntry(f"{title} — {c}", r, {n: a[w] for n, a in goldens.inputs.items()},
                                {n: a[w] for n, a in goldens.expected.items()}, {n: a[w] for n, a in run.outputs.items()})
                    for c, r, w in per_case]
        summary["reports"] = {k: str(v) for k, v in write_reports(entries, report_dir).items()}
    return summary


def human_summary(summary: dict[str, Any]) -> str:
    meta = summary["device"]
    who = meta.get("device", "device") + (f" ({meta['runtime']})" if meta.get("runtime") else "")
    lines = [f"{who}: {summary['artifact']} ({summary['target']} {summary['precision']}), {summary['cases_total']} case(s)"]
    for case in summary["cases"]:
        if case["passed"]:
            detail = ", ".join(f"{o['name']} max_abs {o['max_abs']:.3g}" for o in case["outputs"])
            if case["task_metric"]:
                detail += f", {case['task_metric']['name']} {case['task_metric']['value']:.4f}"
            lines.append(f"✓ {case['case']}: {detail}")
        else:
            lines.append(f"✗ {case['case']}: " + "; ".join(c[2:] for c in case["checks"] if c.startswith("✗")))
    bad_overall = [c[2:] for c in summary["overall"]["checks"] if c.startswith("✗")]
    if bad_overall:
        lines.append("✗ all cases: " + "; ".join(bad_overall))
    if summary["ignored_files"]:
        lines.append(f"ignored {len(summary['ignored_files'])} unexpected file(s): {', '.join(summary['ignored_files'][:5])}")
    for kind, path in summary.get("reports", {}).items():
        lines.append(f"report ({kind}): {path}")
    failed = len(summary["cases_failed"])
    lines.append(f"device QA {'passed' if summary['passed'] else 'FAILED'}: {summary['cases_total'] - failed}/{summary['cases_total']} case(s) passed")
    return "\n".join(lines)
