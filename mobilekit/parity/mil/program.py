"""Load a saved ML program (.mlpackage) back into its MIL program on Linux, and describe it.

Loading: `MLModel(path, skip_model_load=True)` gives the spec and the weights directory;
`coremltools.converters.mil.frontend.milproto.load.load(...)` rebuilds the MIL `Program`
(functions -> blocks -> ops with typed vars; weights come back as `const` ops, compressed
weights as `constexpr_*` ops). Only `mlProgram` models are accepted.

How coremltools 9 represents an image input of a model converted from TensorFlow (verified on
`ct.ImageType(name="image", shape=(1, H, W, 3), scale=1/255, bias=[...], color_layout=RGB)`):

- The spec's feature description (`description.input[i].type.imageType`) carries only width,
  height and colorSpace (RGB / BGR / GRAYSCALE / GRAYSCALE_FLOAT16). There is no
  `preprocessing` message in an ML program (that exists only for neural networks): scale and
  bias are *not* in the spec.
- Instead the program's `main` function takes the image as an NCHW tensor var named like the
  feature, shape (1, C, H, W), dtype fp32 (fp16 only for GRAYSCALE_FLOAT16) -- the converter's
  `image_input_preprocess` pass turned the NHWC placeholder channel-first and inserted
  `transpose(perm=[0, 2, 3, 1])` named "<name>__transpose_from_nchw__" to give the TF graph
  its NHWC tensor back.
- The backend pass `insert_image_preprocessing_ops` then put the preprocessing in the graph,
  right after the input: `mul(x=image, y=scale)` named "<name>__scaled__" (only if scale != 1)
  and `add(x=..., y=bias reshaped [1, 3, 1, 1])` named "<name>__biased__" (only if any bias is
  non-zero). In an fp16 program these two stay fp32 and a `cast` to fp16 follows them.
- So the program consumes raw pixel values (0..255, what a CVPixelBuffer holds); `scale` /
  `bias` reported in `MilProgram.inputs` are read back from those two ops. For BGR layouts
  Core ML hands the channels to the program in B, G, R order.

Feed convention used by the executor: an image input is given as NHWC float32 RGB pixels in
0..255, shape (1, H, W, C) (C = 3, or 1 for grayscale); the executor reorders channels for BGR,
transposes to the program's NCHW layout and lets the program's own ops do the rest, so the
result corresponds to TF fed `pixels * scale + bias`. Tensor inputs are fed with the shape of
the Core ML feature description and cast to the program input's dtype (fp16 inputs are rounded
as Core ML would when converting an fp32 array).

Output names: the function's output vars carry the Core ML output feature names (coremltools
renames them); we still map by position when a name differs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mobilekit.parity.mil.errors import MilExecutionError

_COLOR_LAYOUTS = {"RGB": "RGB", "BGR": "BGR", "GRAYSCALE": "G", "GRAYSCALE_FLOAT16": "G_FLOAT16"}
_ARRAY_DTYPES = {"FLOAT32": "float32", "FLOAT16": "float16", "DOUBLE": "float64", "INT32": "int32"}


@dataclass
class MilProgram:
    """A loaded ML program plus a description of its interface (see module docstring)."""

    program: Any  # coremltools.converters.mil.mil.Program
    spec: Any  # coremltools Model protobuf
    path: str | None
    specification_version: int
    default_function: str
    function_io: dict[str, tuple[list[dict], list[dict]]]
    function_precision: dict[str, str]
    # compile-time values (const / constexpr outputs) per function, filled lazily by the executor
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def functions(self) -> list[str]:
        return list(self.program.functions)

    @property
    def inputs(self) -> list[dict]:
        return self.function_io[self.default_function][0]

    @property
    def outputs(self) -> list[dict]:
        return self.function_io[self.default_function][1]

    @property
    def compute_precision(self) -> str:
        return self.function_precision[self.default_function]

    def function(self, name: str | None = None):
        name = name or self.default_function
        if name not in self.program.functions:
            raise MilExecutionError(f"program has no function {name!r}; functions: {', '.join(self.functions)}")
        return self.program.functions[name]

    def io(self, name: str | None = None) -> tuple[list[dict], list[dict]]:
        name = name or self.default_function
        if name not in self.function_io:
            raise MilExecutionError(f"program has no function {name!r}; functions: {', '.join(self.functions)}")
        return self.function_io[name]

    def op_types(self, function: str | None = None) -> list[str]:
        return sorted({op.op_type for op in iter_ops(self.function(function).operations)})

    def missing_ops(self, function: str | None = None) -> list[tuple[str, str]]:
        """(op type, first op name) for every op type without a NumPy implementation."""
        from mobilekit.parity.mil.ops import MIL_OPS

        seen: dict[str, str] = {}
        for op in iter_ops(self.function(function).operations):
            if op.op_type != "const" and op.op_type not in MIL_OPS and op.op_type not in seen:
                seen[op.op_type] = op.name
        return sorted(seen.items())

    def describe(self) -> dict:
        return {
            "path": self.path,
            "specification_version": self.specification_version,
            "functions": self.functions,
            "default_function": self.default_function,
            "compute_precision": self.compute_precision,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "op_types": self.op_types(),
        }


def iter_ops(operations):
    """All ops, nested blocks included, in program order."""
    for op in operations:
        yield op
        for block in getattr(op, "blocks", ()) or ():
            yield from iter_ops(block.operations)


def _builtin_name(dtype) -> str:
    from coremltools.converters.mil.mil import types

    return types.builtin_to_string(dtype)


def _static_shape(var) -> tuple | None:
    shape = tuple(var.shape)
    return shape if all(isinstance(d, (int, np.integer)) for d in shape) else None


def _image_preprocessing(fn, name: str) -> dict:
    """Read scale/bias back from the ops coremltools inserted after the image input."""
    scale, bias, ops = 1.0, None, []
    for op in fn.operations:
        out = op.outputs[0].name if op.outputs else ""
        if op.op_type == "mul" and name + "__scaled__" in (op.name, out):
            x, y = op.inputs["x"], op.inputs["y"]
            const = y if y.val is not None else x
            scale = float(np.asarray(const.val).reshape(-1)[0])
            ops.append(op.name)
        elif op.op_type == "add" and name + "__biased__" in (op.name, out):
            x, y = op.inputs["x"], op.inputs["y"]
            const = y if y.val is not None else x
            bias = [float(v) for v in np.asarray(const.val).reshape(-1)]
            ops.append(op.name)
    return {"scale": scale, "bias": bias, "preprocessing_ops": ops}


def _describe_inputs(fn, features) -> list[dict]:
    out = []
    for feat in features:
        kind = feat.type.WhichOneof("Type")
        var = fn.inputs.get(feat.name)
        if var is None:
            raise MilExecutionError(f"feature {feat.name!r} has no input var in the program")
        if kind == "imageType":
            from coremltools.proto import FeatureTypes_pb2

            space = FeatureTypes_pb2.ImageFeatureType.ColorSpace.Name(feat.type.imageType.colorSpace)
            layout = _COLOR_LAYOUTS.get(space, space)
            channels = 1 if layout.startswith("G") else 3
            h, w = int(feat.type.imageType.height), int(feat.type.imageType.width)
            shape = (1, h, w, channels) if var.rank == 4 else (h, w, channels)
            pre = _image_preprocessing(fn, feat.name)
            if pre["bias"] is None:
                pre["bias"] = [0.0] * channels
            out.append(
                {
                    "name": feat.name,
                    "shape": shape,
                    "dtype": "float32",
                    "kind": "image",
                    "color_layout": layout,
                    "scale": pre["scale"],
                    "bias": pre["bias"],
                    "preprocessing_ops": pre["preprocessing_ops"],
                    "flexible": feat.type.imageType.WhichOneof("SizeFlexibility") is not None,
                    "program_layout": "NCHW",
                    "program_dtype": _builtin_name(var.dtype),
                }
            )
        elif kind == "multiArrayType":
            arr = feat.type.multiArrayType
            from coremltools.proto import FeatureTypes_pb2

            dt = FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.Name(arr.dataType)
            shape = tuple(int(s) for s in arr.shape) or _static_shape(var) or tuple(var.shape)
            out.append(
                {
                    "name": feat.name,
                    "shape": shape,
                    "dtype": _ARRAY_DTYPES.get(dt, dt.lower()),
                    "kind": "tensor",
                    "color_layout": None,
                    "flexible": arr.WhichOneof("ShapeFlexibility") is not None,
                    "program_dtype": _builtin_name(var.dtype),
                }
            )
        else:
            out.append({"name": feat.name, "shape": None, "dtype": kind, "kind": "other", "color_layout": None})
    return out


def _describe_outputs(fn, features) -> list[dict]:
    from coremltools.proto import FeatureTypes_pb2

    out_vars = list(fn.outputs)
    out = []
    for i, feat in enumerate(features):
        by_name = [v for v in out_vars if v.name == feat.name]
        var = by_name[0] if by_name else (out_vars[i] if i < len(out_vars) else None)
        if var is None:
            raise MilExecutionError(f"output feature {feat.name!r} has no output var in the program")
        kind = feat.type.WhichOneof("Type")
        if kind == "multiArrayType":
            arr = feat.type.multiArrayType
            dt = FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.Name(arr.dataType)
            dtype = _ARRAY_DTYPES.get(dt, dt.lower())
            shape = tuple(int(s) for s in arr.shape) or _static_shape(var) or tuple(var.shape)
        else:
            dtype, shape = kind, _static_shape(var)
        out.append({"name": feat.name, "shape": shape, "dtype": dtype, "var": var.name})
    return out


def _precision(fn) -> str:
    """"fp16" when any computing op produces an fp16 tensor (casts / fp16-typed vars), else "fp32"."""
    for op in iter_ops(fn.operations):
        if op.op_type == "const" or op.op_type.startswith("constexpr_"):
            continue
        if any(_builtin_name(v.dtype) == "fp16" for v in op.outputs):
            return "fp16"
    return "fp32"


def load_program(source) -> MilProgram:
    """Load an .mlpackage (path) or an in-memory `coremltools.models.MLModel` as a MilProgram.

    Raises MilExecutionError for missing / corrupt files and for non-ML-program models.
    """
    try:
        import coremltools as ct
        from coremltools.converters.mil.frontend.milproto.load import load as milproto_load
    except Exception as exc:  # pragma: no cover - environment problem
        raise MilExecutionError(f"coremltools is not usable: {exc}") from exc

    path: str | None
    if isinstance(source, ct.models.MLModel):
        mlmodel, path = source, getattr(source, "package_path", None)
    else:
        p = Path(source)
        path = str(p)
        if not p.exists():
            raise MilExecutionError(f"no such model: {p}")
        try:
            mlmodel = ct.models.MLModel(str(p), skip_model_load=True)
        except Exception as exc:
            raise MilExecutionError(f"cannot read Core ML model {p}: {exc}") from exc
    try:
        spec = mlmodel.get_spec()
    except Exception as exc:
        raise MilExecutionError(f"cannot read the spec of {path}: {exc}") from exc
    model_type = spec.WhichOneof("Type")
    if model_type != "mlProgram":
        raise MilExecutionError(f"{path or 'model'} is a {model_type!r} model, not an ML program (mlprogram)")
    try:
        program = milproto_load(
            model_spec=spec,
            specification_version=spec.specificationVersion,
            file_weights_dir=mlmodel.weights_dir,
        )
    except Exception as exc:
        raise MilExecutionError(f"cannot load the ML program of {path or 'model'}: {exc}") from exc

    desc = spec.description
    function_io: dict[str, tuple[list[dict], list[dict]]] = {}
    if len(desc.functions):
        default = desc.defaultFunctionName or desc.functions[0].name
        for fdesc in desc.functions:
            fn = program.functions[fdesc.name]
            function_io[fdesc.name] = (_describe_inputs(fn, fdesc.input), _describe_outputs(fn, fdesc.output))
    else:
        default = "main"
        if default not in program.functions:
            raise MilExecutionError(f"ML program has no 'main' function ({', '.join(program.functions)})")
        fn = program.functions[default]
        function_io[default] = (_describe_inputs(fn, desc.input), _describe_outputs(fn, desc.output))
    precision = {name: _precision(fn) for name, fn in program.functions.items()}
    return MilProgram(
        program=program,
        spec=spec,
        path=path,
        specification_version=int(spec.specificationVersion),
        default_function=default,
        function_io=function_io,
        function_precision=precision,
    )
