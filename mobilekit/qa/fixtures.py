"""Device-QA fixtures: writing golden inputs, TensorFlow reference outputs and tolerances into a bundle."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from mobilekit.core.errors import GateFailed, InputError
from mobilekit.qa.fixture_format import FIXTURES_DIR, INDEX_NAME, quantize_image_inputs, write_fixture_tree
from mobilekit.qa.reference import _self_check, reference_context


def add_fixtures(bundle: Path, *, config_path: Path | None = None, reference: Path | None = None, cases: int | None = None,
                 out: Path | None = None, trust: bool = False, self_check: bool = True, reporter=None) -> dict[str, Any]:
    """Write golden fixtures into `bundle` (or a copy at `out`): same files plus `fixtures/`, manifest
    `files` updated, deterministic bytes, atomic replace. Returns a summary for the CLI."""
    from mobilekit.bundle.reader import verify_bundle
    from mobilekit.bundle.writer import write_manifest, zip_tree
    from mobilekit.core.fsio import safe_extract_zip
    from mobilekit.convert.context import parity_inputs, reference_outputs

    checked = verify_bundle(bundle)
    if not checked.ok:
        raise InputError(f"{bundle}: the bundle fails verification, refusing to add fixtures: " + "; ".join(checked.problems[:5]))
    destination = out or bundle
    with tempfile.TemporaryDirectory(prefix="mobilekit-fixtures-") as tmp:
        work = Path(tmp)
        root = work / "bundle"
        safe_extract_zip(bundle, root)
        manifest = json.loads((root / "manifest.json").read_text())
        if manifest.get("kind") == "model-set":
            raise InputError(f"{bundle}: a model-set bundle; device fixtures are written per model: run `qa fixtures` on "
                             "each model's own bundle (build it with that model's config)")
        ctx = reference_context(manifest, config_path=config_path, reference=reference, trust=trust, work=work, reporter=reporter)
        count = cases or (ctx.config.data.parity_samples if ctx.config else 8)
        if reporter is not None:
            reporter.stage(f"making {count} golden case(s) and their TensorFlow reference outputs")
        inputs = quantize_image_inputs(parity_inputs(ctx, count), manifest["inputs"])
        expected = reference_outputs(ctx, inputs)
        from mobilekit.parity.metrics import finite

        if bad := [n for n, a in expected.items() if not finite(a)]:
            raise GateFailed(f"reference outputs {bad} contain NaN/Inf; no fixtures written")
        checks = _self_check(ctx, root, manifest, inputs, expected, reporter) if self_check else {}
        index = write_fixture_tree(root, manifest, inputs, expected)
        write_manifest(root, manifest)
        zip_tree(root, destination)
    return {"bundle": str(destination), "source": str(bundle), "cases": len(index["cases"]),
            "fixtures": [f"{FIXTURES_DIR}/{INDEX_NAME}"] + [f"{FIXTURES_DIR}/{t['file']}" for c in index["cases"] for t in c["tensors"]],
            "tolerances": index["tolerances"], "self_check": checks}
