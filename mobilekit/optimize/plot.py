"""The sweep's chart: on-disk size against the task metric, one series per target, with the
fp32 reference and the budget line."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mobilekit.optimize.sweep import SweepResult

SERIES_STYLE = {"coreml": ("tab:blue", "o", "Core ML (.mlpackage)"), "tflite": ("tab:green", "s", "TFLite (.tflite)")}
LABEL_OFFSET = {"coreml": (5, 5), "tflite": (5, -12)}  # points; keeps the two series' names apart


def plot_sweep(result: "SweepResult", path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 6.5), dpi=120)
    measured = [r for r in result.rows if r.metric is not None and r.bytes]
    for target in result.targets:
        color, marker, label = SERIES_STYLE.get(target, ("tab:gray", "^", target))
        rows = sorted((r for r in measured if r.target == target), key=lambda r: r.bytes)
        if not rows:
            continue
        ax.plot([r.bytes / 1024 for r in rows], [r.metric for r in rows], marker=marker, color=color, linestyle=":",
                markersize=7, label=label)
        for r in rows:
            ax.annotate(r.name.split("-", 1)[1] + (" ★" if r.selected else ""), (r.bytes / 1024, r.metric),
                        textcoords="offset points", xytext=LABEL_OFFSET.get(target, (5, 5)), fontsize=8, color=color,
                        fontweight="bold" if r.selected else "normal")
    reference = result.reference[result.metric]
    ax.axhline(reference, color="black", linewidth=1, label=f"fp32 TensorFlow reference ({reference:.4f})")
    ax.axhline(reference - result.max_drop, color="tab:red", linestyle="--", linewidth=1.2,
               label=f"budget: −{result.max_drop * 100:g} point{'s' if result.max_drop != 0.01 else ''} ({reference - result.max_drop:.4f})")
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda value, _: f"{value:,.0f}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("Deployable artifact size on disk (KiB, log scale)")
    ax.set_ylabel(f"{result.metric} on held-out data (higher is better)")
    ax.set_title(f"{result.family}/{result.preset}: size vs {result.metric} per variant (★ = selected)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
