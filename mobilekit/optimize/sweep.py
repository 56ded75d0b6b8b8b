"""`optimize sweep`: build every variant, judge each by the task metric on held-out data and by
parity with the model it was converted from, and pick the smallest per target within the budget.

Every variant runs in the runtime its target ships with where this machine has one (LiteRT for
TFLite; Core ML on macOS, the MIL executor on Linux) on the val split. The metric is the family's
single-pass score (segmentation: IoU after the first simulated click), compared with the fp32
TensorFlow model's score on the same inputs. Outputs — sweep.json, sweep.csv, sweep.png and the
variant artifacts — are staged and replace `out_dir` only when the sweep completes."""
from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from mobilekit.core.config import BuildConfig, load_config
from mobilekit.core.errors import InputError
from mobilekit.core.fsio import staging_dir
from mobilekit.core.progress import Reporter, SilentReporter
from mobilekit.optimize.variants import VARIANTS, default_variants

QAT_VARIANT, PTQ_INT8_VARIANT = "tflite-qat-int8", "tflite-int8"


@dataclass
class VariantRow:
    name: str
    target: str
    description: str
    steps: list[str]
    numerics: str
    path: str | None = None  # relative to the sweep directory
    bytes: int | None = None
    params: int | None = None
    bits_per_weight: float | None = None
    sparsity: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    metric: float | None = None
    delta: float | None = None  # variant − fp32 reference (metric units; −0.01 = one point lost)
    retention: float | None = None  # variant / fp32 reference
    expected_retention: float | None = None
    retention_ok: bool | None = None
    parity: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    within_budget: bool = False
    selected: bool = False
    seconds: float = 0.0
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class SweepResult:
    family: str
    preset: str
    config_sha256: str
    metric: str
    direction: str  # "higher" or "lower" is better
    unit: str
    max_drop: float
    limit: float | None
    reference: dict[str, float]
    rows: list[VariantRow]
    targets: list[str]
    selected: dict[str, str | None] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def budget_met(self) -> bool:
        return all(self.selected.get(t) for t in self.targets)

    @property
    def spec(self):
        from mobilekit.core.family import MetricSpec

        return MetricSpec(self.metric, self.direction, self.unit)  # type: ignore[arg-type]

    def budget_text(self) -> str:
        reference = self.reference[self.metric]
        worse = "lower" if self.direction == "higher" else "higher"
        unit = f" {self.unit}" if self.unit else ""
        text = f"{self.metric} at most {self.max_drop:g}{unit} {worse} than the fp32 reference ({reference:.4f})"
        bound = "at least" if self.direction == "higher" else "at most"
        return text + (f" and {bound} {self.limit:g}" if self.limit is not None else "")

    def unmet_message(self) -> str:
        missing = ", ".join(t for t in self.targets if not self.selected.get(t))
        return f"optimize budget not met: no {missing} variant keeps {self.budget_text()}"

    def row(self, name: str) -> VariantRow:
        return next(r for r in self.rows if r.name == name)

    def summary(self) -> dict[str, Any]:
        return {"family": self.family, "preset": self.preset, "config_sha256": self.config_sha256,
                "budget": {"metric": self.metric, "direction": self.direction, "unit": self.unit, "max_drop": self.max_drop,
                           "limit": self.limit, "met": self.budget_met},
                "reference": self.reference, "selected": self.selected, "targets": self.targets,
                "variants": [asdict(r) for r in self.rows], "outputs": self.outputs, "notes": self.notes,
                "seconds": round(self.seconds, 1)}

    def table(self) -> str:
        """A fixed-width table for terminals and error messages."""
        head = f"{'variant':30} {'bytes':>10} {'bits/w':>6} {'sparse':>6} {self.metric:>7} {'delta':>7} {'retain':>7} {'parity':>8}  budget"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            if r.error:
                lines.append(f"{r.name:30} error: {r.error.splitlines()[0][:90]}")
                continue
            fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
            mark = "selected" if r.selected else ("ok" if r.within_budget else "over")
            lines.append(f"{r.name:30} {fmt(r.bytes, 'd'):>10} {fmt(r.bits_per_weight, '.2f'):>6} {fmt(r.sparsity, '.2f'):>6} "
                         f"{fmt(r.metric, '.4f'):>7} {fmt(r.delta, '+.4f'):>7} {fmt(r.retention, '.2%'):>7} "
                         f"{r.parity.get('status', '-'):>8}  {mark}")
        return "\n".join(lines)


def resolve_variants(config: BuildConfig, names: Sequence[str] | None, targets: Sequence[str] | None) -> list[str]:
    """Explicit names, else the config's list, else every default variant of `targets` (both by default)."""
    chosen = list(names or config.optimize.variants or default_variants(tuple(targets or ("tflite", "coreml"))))
    unknown = [n for n in chosen if n not in VARIANTS]
    if unknown:
        raise InputError(f"optimize.variants: unknown variant(s) {', '.join(unknown)}; accepted: {', '.join(VARIANTS.names())}")
    if targets:
        chosen = [n for n in chosen if VARIANTS.get(n).target in targets]
    if not chosen:
        raise InputError("no variants to build for the requested targets")
    return list(dict.fromkeys(chosen))


def run_sweep(config_path: Path | str | None = None, variants: Sequence[str] | None = None, out_dir: Path | str = "sweep", *,
              targets: Sequence[str] | None = None, reporter: Reporter | None = None) -> SweepResult:
    """Build, measure and rank variants for the config's model; see the module docstring."""
    config, _ = load_config(config_path)
    names = resolve_variants(config, variants, targets)  # bad names: exit 2 before any work
    reporter = reporter or SilentReporter()
    ctx = _trained_context(config, reporter)
    with staging_dir(Path(out_dir)) as stage:
        result = sweep_context(ctx, config, names, stage, reporter)
        write_outputs(result, stage)
    result.outputs = {k: str(Path(out_dir) / Path(v).name) for k, v in result.outputs.items()}
    return result


def _trained_context(config: BuildConfig, reporter: Reporter):
    import tempfile

    from mobilekit.nn.loading import load_keras_model
    from mobilekit.core.family import get_family
    from mobilekit.convert.context import ModelContext
    from mobilekit.train.trainer import train

    family = get_family(config.family)
    reporter.stage(f"training {config.family}/{config.preset} (or reusing the cached model)")
    work = Path(tempfile.mkdtemp(prefix="mobilekit-sweep-"))  # removed with the process's temp files
    trained = train(config, work, progress=reporter.progress)
    return ModelContext(load_keras_model(trained.model_path), family.io(config), trained.model_path, config, family)


def sweep_context(ctx, config: BuildConfig, names: Sequence[str], out_dir: Path, reporter: Reporter, producer=None) -> SweepResult:
    """The sweep over an already-trained model context; artifacts go to `out_dir/variants/<name>/`.
    `producer` (default: one for `config`) keeps the fine-tuned models for the caller."""
    from mobilekit.optimize.produce import producer_for
    from mobilekit.convert.context import reference_outputs

    started = time.perf_counter()
    family = ctx.family
    split = family.make_split(config, "val")
    references = {None: reference_outputs(ctx, split.inputs)}
    reference_scores = family.score_outputs(references[None], split)
    budget = config.optimize.budget
    spec = family.metric(config.budget_metric)
    result = SweepResult(family.name, config.preset, config.sha256(), spec.name, spec.direction, spec.unit, budget.max_drop,
                         budget.limit, reference_scores, [], sorted({VARIANTS.get(n).target for n in names}))
    producer = producer or producer_for(ctx, config, reporter.stage)
    queue = list(names)
    while queue:
        name = queue.pop(0)
        reporter.stage(f"variant {name}")
        row = _measure(name, producer, references, split, result, out_dir, Path("variants") / name)
        result.rows.append(row)
        if name == PTQ_INT8_VARIANT and QAT_VARIANT not in names and row.retention is not None \
                and row.retention < config.optimize.qat.when_retention_below:
            note = (f"{name} keeps {row.retention:.2%} of the fp32 {spec.name} (below "
                    f"{config.optimize.qat.when_retention_below:.0%}): adding {QAT_VARIANT} (quantization-aware training)")
            result.notes.append(note)
            reporter.warn(note)
            queue.append(QAT_VARIANT)
    for row in result.rows:
        if row.retention_ok is False:
            result.notes.append(f"{row.name} keeps {row.retention:.2%} of the fp32 {spec.name}; expected at least "
                                f"{row.expected_retention:.1%}")
    _select(result)
    result.seconds = time.perf_counter() - started
    return result


def _measure(name: str, producer, references: dict, split, result: SweepResult, root: Path, subdir: Path) -> VariantRow:
    from mobilekit.optimize.accounting import weight_stats
    from mobilekit.parity.compare import compare_outputs
    from mobilekit.parity.tolerances import tolerance_for
    from mobilekit.convert.context import reference_outputs
    from mobilekit.parity.verify import runner_for_artifact

    variant = VARIANTS.get(name)
    row = VariantRow(name, variant.target, variant.description, variant.steps, variant.numerics,
                     expected_retention=variant.expected_retention)
    started = time.perf_counter()
    try:
        artifact, source, report = producer.produce(name, root / subdir)
        row.path = (subdir / artifact.path.name).as_posix()
        row.training = {k: v for k, v in report.items() if k != "loss"}
        stats = weight_stats(artifact.path)
        row.bytes, row.params = stats["bytes"], stats.get("params")
        row.bits_per_weight, row.sparsity = stats.get("bits_per_weight"), stats.get("sparsity")
        if variant.training_pass not in references:
            references[variant.training_pass] = reference_outputs(source, split.inputs)
        if variant.training_pass:  # the fine-tuned Keras model's own score, before conversion
            row.training["keras_metrics"] = source.family.score_outputs(references[variant.training_pass], split)
        runner, skipped = runner_for_artifact(artifact.path)
        if runner is None:
            row.parity = {"status": "not_run", "note": "; ".join(skipped)}
            row.notes.append("no runtime for this target on this machine: metric not measured")
            return row
        candidate = runner.run(artifact.path, split.inputs, source.io)
        tolerance = tolerance_for(source.family, variant.target, variant.numerics, source.config)
        parity = compare_outputs(references[variant.training_pass], candidate, tolerance, target=variant.target,
                                 precision=variant.numerics, runner=runner.name, task_metrics=source.family.task_metrics,
                                 inputs=split.inputs)
        row.parity = _parity_summary(parity)
        row.metrics = source.family.score_outputs(candidate, split)
        row.metric = row.metrics[result.metric]
        reference = result.reference[result.metric]
        row.delta = row.metric - reference
        row.retention = result.spec.retention(reference, row.metric)
        if variant.expected_retention is not None and row.retention is not None:
            row.retention_ok = row.retention >= variant.expected_retention
    except Exception as exc:  # a variant that cannot be built is reported, not fatal
        row.error = f"{type(exc).__name__}: {exc}"
    finally:
        row.seconds = round(time.perf_counter() - started, 1)
    return row


def _parity_summary(parity) -> dict[str, Any]:
    """The worst agreement over every output: largest max-abs, lowest PSNR, and the task metrics."""
    max_abs = [o.max_abs for o in parity.outputs if o.max_abs is not None]
    psnr = [o.psnr for o in parity.outputs if o.psnr is not None]
    tasks = parity.task_metrics
    return {"status": parity.status, "runner": parity.runner, "numerics": parity.precision, "tolerance": parity.tolerance,
            "max_abs": max(max_abs) if max_abs else None, "psnr": min(psnr) if psnr else None,
            "task_metric": tasks[0]["value"] if len(tasks) == 1 else None,
            "task_metrics": {t["output"]: t["value"] for t in tasks},
            "failed_checks": [c for c in parity.checks if c.startswith("✗")]}


def _select(result: SweepResult) -> None:
    """Smallest on-disk variant per target whose metric loses at most the budget's drop (in the
    metric's direction), stays within its limit if set, and whose parity did not fail."""
    spec = result.spec
    for row in result.rows:
        row.within_budget = (row.error is None and row.delta is not None and row.parity.get("status") != "failed"
                             and spec.drop(result.reference[result.metric], row.metric) <= result.max_drop + 1e-12
                             and (result.limit is None or spec.within(row.metric, result.limit)))
    for target in result.targets:
        fits = [r for r in result.rows if r.target == target and r.within_budget]
        best = min(fits, key=lambda r: (r.bytes, r.name)) if fits else None
        result.selected[target] = best.name if best else None
        if best:
            best.selected = True


CSV_COLUMNS = ("name", "target", "numerics", "bytes", "params", "bits_per_weight", "sparsity", "metric", "delta", "retention",
               "expected_retention", "retention_ok", "parity_status", "parity_max_abs", "parity_psnr", "parity_task_metric",
               "within_budget", "selected", "seconds", "error")


def write_outputs(result: SweepResult, out_dir: Path) -> None:
    """sweep.json, sweep.csv and sweep.png into `out_dir`."""
    from mobilekit.optimize.plot import plot_sweep

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "sweep.json", "csv": out_dir / "sweep.csv", "png": out_dir / "sweep.png"}
    result.outputs = {k: str(v) for k, v in paths.items()}
    with paths["csv"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in result.rows:
            p = r.parity
            writer.writerow([r.name, r.target, r.numerics, r.bytes, r.params, r.bits_per_weight, r.sparsity, r.metric, r.delta,
                             r.retention, r.expected_retention, r.retention_ok, p.get("status"), p.get("max_abs"), p.get("psnr"),
                             p.get("task_metric"), r.within_budget, r.selected, r.seconds, r.error])
    plot_sweep(result, paths["png"])
    paths["json"].write_text(json.dumps(result.summary(), indent=2, sort_keys=True, default=str) + "\n")
