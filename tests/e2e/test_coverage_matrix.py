"""The conversion coverage matrix (mobilekit.qa.coverage_matrix): every keras.applications architecture
and the modern blocks through convert + parity for Core ML, TFLite and ONNX. Slow: the full run takes
about four hours of CPU on 2 cores; CI's reduced run (MOBILEKIT_SLOW_REDUCED=1) takes the cross-section
`REDUCED` (about 3 min), every cell of which must pass."""
from __future__ import annotations

import os

import pytest

from mobilekit.qa.coverage_matrix import REDUCED, TARGETS, run_matrix
from mobilekit.qa.coverage_report import failures, render_markdown
from mobilekit.qa.zoo import application_names, entries

pytestmark = pytest.mark.slow
REDUCED_RUN = bool(os.environ.get("MOBILEKIT_SLOW_REDUCED"))


def test_every_application_and_block_is_in_the_zoo():
    names = {e.name for e in entries()}
    assert set(application_names()) <= names and len(application_names()) >= 60
    assert set(REDUCED) <= names
    assert {"gelu-exact", "vit-block", "multi-head-attention", "group-norm", "resize-bilinear-align-corners"} <= names


def test_matrix_converts_with_parity_and_renders_every_row(tmp_path):
    names = list(REDUCED) if REDUCED_RUN else [e.name for e in entries()]
    rows = run_matrix(names, tmp_path / "results")
    assert [r.name for r in rows] == names
    bad = failures(rows)
    if REDUCED_RUN:
        assert not bad, bad  # the cross-section converts everywhere, exact GELU (ConvNeXt, ViT block) included
    for model, target, reason in bad:
        assert target in TARGETS and reason.strip(), (model, target)  # every ✗ says why
    text = render_markdown(rows, {"tensorflow": "test"})
    assert all(f"| {n} |" in text for n in names)
    assert f"{len(rows) * len(TARGETS) - len(bad)} of {len(rows) * len(TARGETS)} cells pass" in text
    gelu = next(r for r in rows if r.name == "gelu-exact")
    assert all(gelu.cells[t].ok for t in TARGETS) and gelu.cells["coreml"].psnr > 100
