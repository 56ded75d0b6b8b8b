"""Parity reports: `parity.json` (pipelines), JUnit XML (CI dashboards) and a self-contained HTML
page with input, reference, candidate and error-heatmap images per case (QA)."""
from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence
from xml.etree import ElementTree as ET

import numpy as np

from mobilekit.parity.compare import ParityResult

MAX_CASES = 4


@dataclass
class ReportEntry:
    """One artifact's verdict plus the arrays it was judged on (for images)."""

    title: str
    result: ParityResult
    inputs: dict[str, np.ndarray] | None = None
    reference: dict[str, np.ndarray] | None = None
    candidate: dict[str, np.ndarray] | None = None


REPORT_FILES = {"json": "parity.json", "junit": "junit.xml", "html": "report.html"}


def write_reports(entries: Sequence[ReportEntry], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / name for kind, name in REPORT_FILES.items()}
    paths["json"].write_text(json.dumps({e.title: e.result.to_dict() for e in entries}, indent=2, sort_keys=True) + "\n")
    paths["junit"].write_bytes(junit_xml(entries))
    paths["html"].write_text(html_report(entries), encoding="utf-8")
    return paths


def junit_xml(entries: Sequence[ReportEntry]) -> bytes:
    """One testcase per check line (names, shapes, values, task metric); not-run gates are skipped, not passed."""
    suite = ET.Element("testsuite", name="mobilekit-parity")
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    for entry in entries:
        for line in entry.result.checks:
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=entry.title, name=line[2:].split(":")[0])
            if line.startswith("✗"):
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=line[2:]).text = line
            elif line.startswith("-"):
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=line[2:])
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("errors", "0")
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


def _to_rgb(array: np.ndarray) -> np.ndarray:
    """(H, W, C) → uint8 RGB: 3 channels as colour, otherwise the first channel as grey; min-max scaled."""
    data = array.astype(np.float64)
    data = data[..., :3] if data.shape[-1] >= 3 else np.repeat(data[..., :1], 3, axis=-1)
    low, high = float(data.min()), float(data.max())
    scaled = (data - low) / (high - low) if high > low else np.zeros_like(data)
    return (scaled * 255).round().astype(np.uint8)


def _heatmap(reference: np.ndarray, candidate: np.ndarray) -> tuple[np.ndarray, float]:
    from matplotlib import colormaps

    error = np.abs(candidate.astype(np.float64) - reference.astype(np.float64)).max(axis=-1)
    peak = float(error.max())
    norm = error / peak if peak > 0 else error
    return (colormaps["inferno"](norm)[..., :3] * 255).astype(np.uint8), peak


def png_data_uri(rgb: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(label: str, rgb: np.ndarray) -> str:
    return f'<figure><img src="{png_data_uri(rgb)}" alt="{html.escape(label)}" width="{max(96, rgb.shape[1])}"><figcaption>{html.escape(label)}</figcaption></figure>'


def _case_rows(entry: ReportEntry) -> str:
    if not (entry.inputs and entry.reference and entry.candidate):
        return "<p>No outputs to show (the check did not run).</p>"
    rows = []
    count = min(MAX_CASES, len(next(iter(entry.reference.values()))))
    for i in range(count):
        figures = [_figure(f"input {n}", _to_rgb(a[i])) for n, a in entry.inputs.items() if a.ndim == 4]
        for name, ref in entry.reference.items():
            if ref.ndim != 4 or name not in entry.candidate:
                continue
            heat, peak = _heatmap(ref[i], entry.candidate[name][i])
            figures += [_figure(f"reference {name}", _to_rgb(ref[i])), _figure(f"candidate {name}", _to_rgb(entry.candidate[name][i])),
                        _figure(f"|error| {name} (max {peak:.3g})", heat)]
        rows.append(f'<div class="case"><h4>case {i}</h4>{"".join(figures)}</div>')
    return "".join(rows)


def html_report(entries: Sequence[ReportEntry]) -> str:
    sections = []
    for entry in entries:
        r = entry.result
        checks = "".join(f'<li class="{"bad" if c.startswith("✗") else "skip" if c.startswith("-") else "ok"}">{html.escape(c)}</li>' for c in r.checks)
        metrics = "".join(
            f"<tr><td>{html.escape(o.name)}</td><td>{o.max_abs:.3g}</td><td>{o.mean_abs:.3g}</td><td>{o.max_rel:.3g}</td>"
            f"<td>{o.cosine:.6f}</td><td>{'exact' if o.psnr is None else f'{o.psnr:.1f}'}</td><td>{'✓' if o.passed else '✗'}</td></tr>"
            for o in r.outputs if o.max_abs is not None)
        sections.append(
            f'<section><h2>{html.escape(entry.title)} — <span class="{r.status}">{r.status}</span></h2>'
            f"<p>target {html.escape(r.target)}, precision {html.escape(r.precision)}, runner {html.escape(r.runner)}, cases {r.cases}"
            f"{' — ' + html.escape(r.note) if r.note else ''}</p><ul>{checks}</ul>"
            f"<table><tr><th>output</th><th>max abs</th><th>mean abs</th><th>max rel</th><th>cosine</th><th>PSNR dB</th><th></th></tr>{metrics}</table>"
            f"{_case_rows(entry)}</section>")
    style = ("body{font-family:system-ui,sans-serif;margin:2em}figure{display:inline-block;margin:4px;text-align:center}"
             "img{image-rendering:pixelated;border:1px solid #ccc}.ok{color:#176f2c}.bad,.failed{color:#b00020}"
             ".skip,.not_run{color:#8a6d00}.passed{color:#176f2c}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 8px}")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>mobilekit parity report</title><style>{style}</style></head>'
            f'<body><h1>mobilekit parity report</h1>{"".join(sections)}</body></html>\n')
