"""Cross-language parity fixtures for ``swift_shaders`` (and any other port, e.g. Kotlin).

Expected outputs come from TensorFlow where TF has the op (erosion2d, dilation2d, bicubic and area
resize) and from :mod:`mobilekit.shaders.reference` otherwise (stitch, click maps, depth of field).

Layout (documented in ``swift_shaders/README.md``)::

    Fixtures/manifest.json   {"format": "mobilekit-shader-fixtures", "version": 1, "seed": 0,
                              "cases": [{"name", "op", "source", "params", "atol",
                                         "inputs": {key: {"file", "shape", "dtype"}},
                                         "outputs": {key: {...}}}, ...]}
    Fixtures/<case>.<key>.bin  raw little-endian float32, C order (NHWC), no header

Same seed -> byte-identical files (sorted JSON keys, fixed float formatting, TF CPU ops are
deterministic for these kernels).

Run ``PYTHONPATH=. python -m mobilekit.shaders.fixtures`` to regenerate the committed fixtures.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

import mobilekit  # noqa: F401  (environment for TensorFlow, before it is imported)
from mobilekit.shaders import reference as ref

FORMAT = "mobilekit-shader-fixtures"
VERSION = 1
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "swift_shaders" / "Tests" / "MobilekitShadersTests" / "Fixtures"
ATOL_EXACT = 1e-5  # morphology, stitch, click maps (bit-exact in practice)
ATOL_RESIZE = 1e-5  # bicubic / area: C reproduces TF's float32 operation order
ATOL_DOF = 1e-5  # float32 row sums vs the float64 summed-area table of the reference


def _tf_ops() -> dict[str, Callable[..., np.ndarray]]:
    from mobilekit.core.tf import tf_and_keras

    tf, _ = tf_and_keras()
    ones = [1, 1, 1, 1]

    def morph(fn):
        def run(x: np.ndarray, filt: np.ndarray) -> np.ndarray:
            return fn(tf.constant(x), tf.constant(filt), ones, "SAME", "NHWC", ones).numpy()

        return run

    return {
        "erosion2d": morph(tf.nn.erosion2d),
        "dilation2d": morph(tf.nn.dilation2d),
        "resize_bicubic": lambda x, size: tf.image.resize(x, size, method="bicubic", antialias=False).numpy(),
        "resize_area": lambda x, size: tf.image.resize(x, size, method="area").numpy(),
    }


def _arr(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype="<f4"))


def build_cases(seed: int = 0) -> list[dict[str, Any]]:
    """All fixture cases as dicts with numpy arrays under ``inputs`` / ``outputs``."""
    rng = np.random.default_rng(seed)
    tf_ops = _tf_ops()
    cases: list[dict[str, Any]] = []

    def add(name, op, source, params, inputs, outputs, atol):
        cases.append({"name": name, "op": op, "source": source, "params": params,
                      "inputs": {k: _arr(v) for k, v in inputs.items()},
                      "outputs": {k: _arr(v) for k, v in outputs.items()}, "atol": atol})

    img = rng.random((2, 16, 20, 3), dtype=np.float32)
    mask = (rng.random((1, 16, 20, 1)) > 0.7).astype(np.float32)

    # 1. erosion / dilation (TF; flat filters are zeros)
    for op in ("erosion2d", "dilation2d"):
        for tag, x, kh, kw, filt in (
            ("k3", img, 3, 3, None),
            ("mask_k5", mask, 5, 5, None),
            ("k1", img[:1], 1, 1, None),
            ("filter3x5", img[:1], 3, 5, rng.normal(0.0, 0.3, (3, 5, 3)).astype(np.float32)),
        ):
            f = np.zeros((kh, kw, x.shape[3]), np.float32) if filt is None else filt
            params = {"kernel_height": kh, "kernel_width": kw, "has_filter": filt is not None}
            inputs = {"x": x} if filt is None else {"x": x, "filter": filt}
            add(f"{op}_{tag}", op, "tensorflow", params, inputs, {"y": tf_ops[op](x, f)}, ATOL_EXACT)

    # 2./3. resize (TF)
    signed = (rng.random((1, 16, 20, 4), dtype=np.float32) * 2 - 1).astype(np.float32)
    for op, sizes in (
        ("resize_bicubic", [(24, 30), (7, 9), (16, 20), (1, 1), (33, 7), (40, 50)]),
        ("resize_area", [(8, 10), (7, 9), (5, 13), (20, 23), (1, 1), (16, 20)]),
    ):
        for h, w in sizes:
            add(f"{op}_{h}x{w}", op, "tensorflow", {"height": h, "width": w}, {"x": img},
                {"y": tf_ops[op](img, (h, w))}, ATOL_RESIZE)
        h, w = sizes[1]
        add(f"{op}_signed_c4_{h}x{w}", op, "tensorflow", {"height": h, "width": w}, {"x": signed},
            {"y": tf_ops[op](signed, (h, w))}, ATOL_RESIZE)

    # 4. stitch (reference)
    inpainted = rng.random((1, 16, 20, 3), dtype=np.float32)
    soft = (rng.random((1, 16, 20, 3), dtype=np.float32) * 1.6 - 0.3).astype(np.float32)  # <0 and >1 too
    add("stitch_binary_mask", "stitch", "reference", {}, {"original": img[:1], "inpainted": inpainted, "mask": mask},
        {"y": ref.stitch(img[:1], inpainted, mask)}, ATOL_EXACT)
    add("stitch_soft_mask_c3", "stitch", "reference", {}, {"original": img[:1], "inpainted": inpainted, "mask": soft},
        {"y": ref.stitch(img[:1], inpainted, soft)}, ATOL_EXACT)

    # 5. click maps (reference)
    C = ref.RefClick
    for tag, clicks, truncate in (
        ("mixed", [C(3, 4, True), C(12, 15, True), C(8, 1, False), C(0, 19, False), C(15, 0, True)], 255.0),
        ("positive_only", [C(7, 9, True)], 255.0),
        ("none", [], 255.0),
        ("truncated", [C(2, 2, True), C(13, 17, False)], 6.0),
    ):
        params = {"height": 16, "width": 20, "truncate": truncate,
                  "clicks": [[c.y, c.x, int(c.positive)] for c in clicks]}
        add(f"click_maps_{tag}", "click_maps", "reference", params, {},
            {"raw": ref.click_maps(clicks, 16, 20, truncate)[None],
             "normalized": ref.click_maps_normalized(clicks, 16, 20, truncate)[None]}, ATOL_EXACT)

    # 6. depth of field (reference)
    yy, xx = np.meshgrid(np.linspace(0, 1, 16, dtype=np.float32), np.linspace(0, 1, 20, dtype=np.float32), indexing="ij")
    depth = (0.6 * yy + 0.4 * xx + 0.05 * rng.random((16, 20), dtype=np.float32)).astype(np.float32)[None, :, :, None]
    for tag, focal, strength, max_r in (("r4", 0.4, 10.0, 4), ("r0", 0.4, 10.0, 0), ("r7_strong", 0.1, 25.0, 7)):
        params = {"focal_depth": focal, "strength": strength, "max_radius": max_r}
        add(f"depth_of_field_{tag}", "depth_of_field", "reference", params, {"image": img[:1], "depth": depth},
            {"y": ref.depth_of_field(img[:1], depth, focal, strength, max_r),
             "radius": ref.dof_radius(depth, focal, strength, max_r).astype(np.float32)}, ATOL_DOF)
    return cases


def write_fixtures(out_dir: Path = DEFAULT_DIR, seed: int = 0) -> Path:
    """Write ``manifest.json`` and the ``.bin`` arrays into ``out_dir``; stale ``.bin`` files there are
    removed. Returns the manifest path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = build_cases(seed)
    manifest_cases = []
    written = set()
    for case in cases:
        entry = {k: case[k] for k in ("name", "op", "source", "params", "atol")}
        for group in ("inputs", "outputs"):
            entry[group] = {}
            for key, arr in case[group].items():
                fname = f"{case['name']}.{key}.bin"
                (out_dir / fname).write_bytes(arr.tobytes(order="C"))
                written.add(fname)
                entry[group][key] = {"file": fname, "shape": list(arr.shape), "dtype": "float32"}
        manifest_cases.append(entry)
    for stale in out_dir.glob("*.bin"):
        if stale.name not in written:
            stale.unlink()
    manifest = {"format": FORMAT, "version": VERSION, "seed": seed, "cases": manifest_cases}
    path = out_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else DEFAULT_DIR
    seed = int(argv[1]) if len(argv) > 1 else 0
    path = write_fixtures(out, seed)
    total = sum(p.stat().st_size for p in path.parent.iterdir() if p.is_file())
    print(f"wrote {path} ({len(json.loads(path.read_text())['cases'])} cases, {total} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
