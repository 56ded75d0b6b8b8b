"""Parity for Core ML artifacts that carry custom layers.

1. NumPy references of mobilekit's MIL custom ops (`mk_dilation2d`, `mk_resize_bicubic`,
   `mk_resize_area`, see `mobilekit.convert.ops.coreml_custom`) registered in the MIL executor's
   `MIL_OPS` on import: they call the definitions in `mobilekit.shaders.reference`, which the Swift
   tests tie to the C/Metal code the emitted `MLCustomLayer` classes run (Linux: C math vs TF
   fixtures; macOS: also the GPU and the layers).
2. `verify_custom_layer_artifact`: custom layers force the neural-network model format, which the
   MIL executor cannot load (it runs ML programs), and no Python process can run the app's Swift
   classes, so the artifact itself cannot be executed on any build machine. What *can* run is the
   MIL program the neural-network backend starts from: the same lowered function through the same
   TF frontend with the same custom ops, converted to `milinternal` in fp32. The gate executes that
   program with the custom ops on their NumPy references, compares with TensorFlow under the usual
   tolerance, and checks the artifact's custom layers (class names, parameters) against the plan.
   Not covered, and said so in the result's note: the MIL → neural-network lowering, the image
   preprocessing (fed as tensors here) and Core ML's runtime numerics.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobilekit.parity.mil import MIL_OPS
from mobilekit.shaders import reference as ref

RUNNER = "mil-executor:pre-backend+kernel-references"


def _to_nhwc(x: np.ndarray, layout: str) -> np.ndarray:
    return np.transpose(x, (0, 2, 3, 1)) if layout.upper() == "NCHW" else x


def _from_nhwc(y: np.ndarray, layout: str) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(y, (0, 3, 1, 2)) if layout.upper() == "NCHW" else y)


def _dilation2d(call):
    layout = str(call.get("data_layout", "NCHW"))
    x = _to_nhwc(np.asarray(call["x"], np.float32), layout)
    filt = call.get("filter")
    y = ref.dilation2d(x, int(call["kernel_height"]), int(call["kernel_width"]),
                       filters=None if filt is None else np.asarray(filt, np.float32))
    return _from_nhwc(y, layout)


def _resize(fn):
    def run(call):
        layout = str(call.get("data_layout", "NCHW"))
        x = _to_nhwc(np.asarray(call["x"], np.float32), layout)
        return _from_nhwc(fn(x, (int(call["output_height"]), int(call["output_width"]))), layout)

    return run


CUSTOM_OP_REFERENCES = {
    "mk_dilation2d": _dilation2d,
    "mk_resize_bicubic": _resize(ref.resize_bicubic),
    "mk_resize_area": _resize(ref.resize_area),
}
for _op, _fn in CUSTOM_OP_REFERENCES.items():
    if _op not in MIL_OPS:
        MIL_OPS.register(_op, _fn)


def _tensor_io(program, io) -> tuple[list[dict], list[dict]]:
    fn = program.functions["main"]
    inputs = [{"name": t.name, "shape": tuple(t.shape), "dtype": "float32", "kind": "tensor", "color_layout": None,
               "flexible": False, "program_dtype": "fp32"} for t in io.inputs]
    # TF names outputs Identity, Identity_1, ... in sorted order of the serving dict's keys
    outputs = [{"name": name, "shape": tuple(var.shape), "dtype": "float32", "var": var.name}
               for name, var in zip(sorted(t.name for t in io.outputs), fn.outputs)]
    return inputs, outputs


def run_pre_backend_program(model, io, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run the fp32 MIL program of the custom-layer conversion, one case at a time."""
    from mobilekit.convert.coverage import analyze_target
    from mobilekit.core.native import import_coremltools
    from mobilekit.convert.ops.coreml_custom import convert_milinternal
    from mobilekit.parity.mil import MilProgram, run_program
    from mobilekit.parity.runners.base import stack_cases

    ct = import_coremltools()
    coverage = analyze_target(model, io, "coreml")
    op_types = sorted({row.op for row in coverage.custom_layers})
    program = convert_milinternal(coverage.function, [ct.TensorType(name=t.name, shape=t.shape) for t in io.inputs], op_types)
    prog = MilProgram(program=program, spec=None, path=None, specification_version=0, default_function="main",
                      function_io={"main": _tensor_io(program, io)}, function_precision={"main": "fp32"})
    count = len(next(iter(inputs.values())))
    return stack_cases([{k: np.asarray(v, np.float32) for k, v in run_program(prog, {n: a[i : i + 1] for n, a in inputs.items()}).outputs.items()}
                        for i in range(count)])


def verify_custom_layer_artifact(ctx, artifact, inputs: dict[str, np.ndarray], reference: dict[str, np.ndarray]):
    """Parity gate for a neural-network `.mlpackage` with custom layers (see module docstring)."""
    from mobilekit.convert.ops.coreml_custom import custom_layers_in
    from mobilekit.parity.compare import compare_outputs
    from mobilekit.parity.tolerances import tolerance_for

    import coremltools as ct

    path = Path(artifact.path)
    tolerance = tolerance_for(ctx.family, "coreml", artifact.precision, ctx.config)
    planned = sorted(r["class_name"] for r in artifact.details.get("op_routes", []) if r.get("class_name")
                     for _ in r["nodes"])
    layers = custom_layers_in(ct.models.MLModel(str(path), skip_model_load=True).get_spec())
    found = sorted(layer["class_name"] for layer in layers)
    candidate = run_pre_backend_program(ctx.model, ctx.io, inputs)
    result = compare_outputs(reference, candidate, tolerance, target="coreml", precision=artifact.precision,
                             runner=RUNNER, task_metrics=ctx.family.task_metrics if ctx.family else None, inputs=inputs)
    result.candidate_outputs = candidate
    ok = found == planned
    result.checks.insert(0, f"{'✓' if ok else '✗'} custom layers in {path.name}: {found} (planned {planned})")
    if not ok:
        result.status = "failed"
    result.note = ("neural-network model with Core ML custom layers: Core ML cannot run it here (prediction needs macOS "
                   "and the app's MLCustomLayer classes, which no Python process has). Checked instead: the fp32 MIL "
                   "program the neural-network backend was given (same TF frontend and custom ops), executed by the "
                   "NumPy MIL executor with each custom layer run by its NumPy reference "
                   "(mobilekit/shaders/reference/; the Swift tests tie it to the Swift/Metal code). Not executed: "
                   "the MIL-to-neural-network lowering, image preprocessing, Core ML runtime numerics.")
    return result


def verify_converted(ctx, artifact, inputs: dict[str, np.ndarray], reference: dict[str, np.ndarray]):
    """The parity gate for any converted artifact: the custom-layer gate above for neural-network
    Core ML models with custom layers, `parity.verify.verify_artifact` for everything else."""
    if artifact.target == "coreml" and artifact.details.get("format") == "neuralnetwork":
        return verify_custom_layer_artifact(ctx, artifact, inputs, reference)
    from mobilekit.parity.verify import verify_artifact

    function = ctx.module if ctx.module in artifact.details.get("functions", ()) else None
    return verify_artifact(ctx, artifact.path, artifact.precision, inputs, reference, function=function)
