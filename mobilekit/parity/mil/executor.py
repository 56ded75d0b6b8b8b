"""Reference NumPy executor for MIL programs: runs a loaded ML program op by op on Linux.

What it is: a check that the *converted program* computes what TensorFlow computes, using the
op semantics documented in coremltools' MIL op definitions. What it is not: a model of the
numerics of Core ML's CPU / GPU / Neural Engine backends (their accumulation order, fused
kernels, fp16 accumulators, approximated transcendental functions).

Precision: every op computes in float32 (float16 inputs are widened first); each output is
then cast to the dtype the program declares for it. So in an fp16 program every fp16-typed op
output is rounded to float16 (round-to-nearest-even), which emulates per-op fp16 storage; the
arithmetic inside an op (e.g. a conv's accumulation) is fp32. `cast` ops cast.

Compile-time values: `const` outputs are read once; `constexpr_*` outputs (compressed weights)
are computed by their NumPy implementation on the first run and cached on the program. `const`
ops do not appear in the trace; constexpr ops do on every run, even when served from the cache
(they are real decompression steps worth inspecting).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from mobilekit.core.errors import InputError  # noqa: F401
from mobilekit.parity.mil.errors import MilExecutionError

if TYPE_CHECKING:  # pragma: no cover
    from mobilekit.parity.mil.program import MilProgram


@dataclass
class MilRunResult:
    outputs: dict[str, np.ndarray]
    intermediates: dict[str, np.ndarray] = field(default_factory=dict)
    op_trace: list[tuple[str, str, list[str]]] = field(default_factory=list)
    function: str = "main"


_NP_DTYPES = {
    "fp16": np.float16,
    "fp32": np.float32,
    "fp64": np.float64,
    "bool": np.bool_,
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "uint16": np.uint16,
    "int32": np.int32,
    "uint32": np.uint32,
    "int64": np.int64,
    "uint64": np.uint64,
    "int4": np.int8,
    "uint1": np.uint8,
    "uint2": np.uint8,
    "uint3": np.uint8,
    "uint4": np.uint8,
    "uint6": np.uint8,
}


@dataclass
class _FunctionCache:
    """Per-function compile-time values kept on the MilProgram between runs."""

    values: dict[str, Any] = field(default_factory=dict)  # const / constexpr outputs, declared dtype
    widened: dict[str, Any] = field(default_factory=dict)  # the same as op inputs (fp16 -> fp32)
    consts_loaded: bool = False


def _var_dtype(var):
    from coremltools.converters.mil.mil import types

    try:
        return _NP_DTYPES.get(types.builtin_to_string(var.dtype))
    except Exception:  # list / tuple / str types
        return None


def _static(shape) -> tuple | None:
    shape = tuple(shape)
    return shape if all(isinstance(d, (int, np.integer)) for d in shape) else None


def _widen(v):
    if isinstance(v, np.ndarray) and v.dtype == np.float16:
        return v.astype(np.float32)
    if isinstance(v, np.float16):
        return np.float32(v)
    return v


class OpCall:
    """What an op implementation sees: input values by name, the MIL op, its opset."""

    __slots__ = ("op", "inputs", "_executor", "_env")

    def __init__(self, op, inputs: dict, executor: "_Executor", env: dict) -> None:
        self.op = op
        self.inputs = inputs
        self._executor = executor
        self._env = env

    @property
    def opset(self) -> str:
        """"iOS15".."iOS18": the opset of the op's class (its variant), "custom" otherwise."""
        module = self.op.__class__.__module__
        return module.rsplit(".", 2)[-2] if ".ops.defs." in module else "custom"

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def type(self) -> str:
        return self.op.op_type

    def __getitem__(self, key: str):
        try:
            value = self.inputs[key]
        except KeyError:
            raise KeyError(f"op {self.op.name!r} ({self.op.op_type}) has no input {key!r}") from None
        if value is None:
            raise KeyError(f"op {self.op.name!r} ({self.op.op_type}) has no input {key!r}")
        return value

    def get(self, key: str, default=None):
        value = self.inputs.get(key)
        return default if value is None else value

    def __contains__(self, key: str) -> bool:
        return self.inputs.get(key) is not None

    def out_shape(self, index: int = 0) -> tuple | None:
        return _static(self.op.outputs[index].shape)

    def run_block(self, block, values: list) -> list:
        return self._executor.run_block(block, self._env, values)


class _Executor:
    def __init__(self, prog: "MilProgram", function: str, keep_intermediates: bool) -> None:
        from mobilekit.parity.mil.ops import MIL_OPS

        self.registry = MIL_OPS
        self.prog = prog
        self.function = function
        self.keep = keep_intermediates
        self.trace: list[tuple[str, str, list[str]]] = []
        self.intermediates: dict[str, np.ndarray] = {}
        fc = prog.cache.get(function)
        if fc is None:
            fc = prog.cache[function] = _FunctionCache()
        self.fc = fc
        self.cache = fc.values

    # -- values -------------------------------------------------------------------------
    def _value(self, var, env):
        name = var.name
        if name in env:
            return env[name]
        if name in self.cache:
            return self.cache[name]
        if var.val is not None:  # a compile-time value not produced by an op in this scope
            v = var.val
            v = v if isinstance(v, str) else np.asarray(v)
            self.cache[name] = v
            return v
        raise MilExecutionError(f"value of var {name!r} is not available (op order broken?)")

    def _input(self, var, env):
        """Value as an op input: float16 widened to float32 (compile-time values widened once)."""
        name = var.name
        if name not in self.cache and name in env:
            return _widen(env[name])
        widened = self.fc.widened.get(name)
        if widened is None:
            widened = self.fc.widened[name] = _widen(self._value(var, env))
        return widened

    def load_consts(self, operations) -> None:
        if self.fc.consts_loaded:
            return
        from mobilekit.parity.mil.program import iter_ops

        for op in iter_ops(operations):
            if op.op_type == "const":
                for v in op.outputs:
                    val = v.val
                    self.cache[v.name] = val if isinstance(val, str) else self._finalize(np.asarray(val), v, op)
        self.fc.consts_loaded = True

    def _finalize(self, value, var, producer):
        """Cast to the dtype the program declares for `var` (fp16 rounding happens here) and check
        the shape against the declared one; `producer` is the op (or block) named in errors."""
        dtype = _var_dtype(var)
        if dtype is None:
            return value
        arr = np.asarray(value)
        if arr.dtype != dtype:
            if dtype is np.bool_ and arr.dtype != np.bool_:
                arr = arr != 0
            else:
                arr = arr.astype(dtype)  # fp16 overflow -> inf, as fp16 storage would (errstate set by run_program)
        expected = _static(var.shape)
        if expected is not None and arr.shape != expected:
            what = f"op {producer.name!r} ({getattr(producer, 'op_type', 'block')})"
            raise MilExecutionError(f"{what} produced shape {arr.shape} for {var.name!r}, the program declares {expected}")
        return arr

    # -- execution ----------------------------------------------------------------------
    def check_supported(self, operations) -> None:
        from mobilekit.parity.mil.program import iter_ops

        for op in iter_ops(operations):
            if op.op_type != "const" and op.op_type not in self.registry:
                raise MilExecutionError(
                    f"no NumPy implementation for MIL op type {op.op_type!r} (op {op.name!r}); "
                    f"register one with MIL_OPS.register({op.op_type!r}, fn)"
                )

    def run_block(self, block, env: dict, values: list) -> list:
        for var, val in zip(block.inputs, values):
            env[var.name] = self._finalize(val, var, block)
        for op in block.operations:
            if op.op_type == "const":
                continue
            self.run_op(op, env)
        return [self._value(v, env) for v in block.outputs]

    def run_op(self, op, env: dict) -> None:
        outs = op.outputs
        cached = op.op_type.startswith("constexpr_") and all(v.name in self.cache for v in outs)
        if cached:
            results = [self.cache[v.name] for v in outs]
        else:
            inputs: dict[str, Any] = {}
            for key, var in op.inputs.items():
                if isinstance(var, (list, tuple)):
                    inputs[key] = [self._input(v, env) for v in var]
                else:
                    inputs[key] = self._input(var, env)
            try:
                impl = self.registry.get(op.op_type)
            except KeyError:
                raise MilExecutionError(f"no NumPy implementation for MIL op type {op.op_type!r} (op {op.name!r})") from None
            try:
                raw = impl(OpCall(op, inputs, self, env))
            except MilExecutionError:
                raise
            except Exception as exc:
                raise MilExecutionError(f"op {op.name!r} ({op.op_type}) failed: {type(exc).__name__}: {exc}") from exc
            raw = list(raw) if isinstance(raw, (tuple, list)) and len(outs) != 1 else [raw]
            if len(raw) != len(outs):
                raise MilExecutionError(f"op {op.name!r} ({op.op_type}) returned {len(raw)} values for {len(outs)} outputs")
            results = [self._finalize(r, v, op) for r, v in zip(raw, outs)]
            if op.op_type.startswith("constexpr_"):
                for v, r in zip(outs, results):
                    self.cache[v.name] = r
        for v, r in zip(outs, results):
            env[v.name] = r
            if self.keep:
                self.intermediates[v.name] = r
        self.trace.append((op.name, op.op_type, [v.name for v in outs]))


def _prepare_image(desc: dict, value, var) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float32)
    expected = tuple(desc["shape"])
    flexible_ok = desc.get("flexible") and arr.ndim == len(expected) and arr.shape[-1] == expected[-1]
    if arr.shape != expected and not flexible_ok:
        raise MilExecutionError(
            f"image input {desc['name']!r} expects NHWC pixels of shape {expected} (values 0..255), got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or arr.min(initial=0) < 0 or arr.max(initial=0) > 255:
        raise MilExecutionError(f"image input {desc['name']!r} must hold pixel values in 0..255")
    if desc["color_layout"] == "BGR":
        arr = arr[..., ::-1]
    arr = np.ascontiguousarray(np.moveaxis(arr, -1, -3))  # NHWC -> NCHW (HWC -> CHW)
    dtype = _var_dtype(var) or np.float32
    return arr.astype(dtype)


def _prepare_tensor(desc: dict, value, var) -> np.ndarray:
    arr = np.asarray(value)
    expected = _static(var.shape)
    declared = tuple(desc["shape"]) if desc.get("shape") is not None else None
    if expected is not None and arr.shape != expected:
        raise MilExecutionError(f"input {desc['name']!r} expects shape {expected}, got {arr.shape}")
    if expected is None and declared is not None and not desc.get("flexible") and arr.shape != declared:
        raise MilExecutionError(f"input {desc['name']!r} expects shape {declared}, got {arr.shape}")
    if expected is None and len(arr.shape) != var.rank:
        raise MilExecutionError(f"input {desc['name']!r} expects rank {var.rank}, got shape {arr.shape}")
    dtype = _var_dtype(var) or np.float32
    return arr.astype(dtype)


def run_program(
    prog: "MilProgram",
    feeds: Mapping[str, Any],
    keep_intermediates: bool = False,
    function: str = "main",
) -> MilRunResult:
    """Execute one function of a loaded program on `feeds` (see program.py for conventions)."""
    if function == "main" and "main" not in prog.program.functions:
        function = prog.default_function
    fn = prog.function(function)
    inputs_desc, outputs_desc = prog.io(function)

    known = {d["name"] for d in inputs_desc}
    unknown = sorted(set(feeds) - known)
    if unknown:
        raise MilExecutionError(f"unknown input(s) {unknown}; the program takes {sorted(known)}")
    missing = sorted(known - set(feeds))
    if missing:
        raise MilExecutionError(f"missing input(s) {missing}")

    ex = _Executor(prog, function, keep_intermediates)
    ex.check_supported(fn.operations)
    env: dict[str, Any] = {}
    for desc in inputs_desc:
        var = fn.inputs[desc["name"]]
        if desc["kind"] == "image":
            env[var.name] = _prepare_image(desc, feeds[desc["name"]], var)
        elif desc["kind"] == "tensor":
            env[var.name] = _prepare_tensor(desc, feeds[desc["name"]], var)
        else:
            raise MilExecutionError(f"input {desc['name']!r} of type {desc['dtype']} is not supported")

    ex.load_consts(fn.operations)  # compile-time constants: read once per program
    for op in fn.operations:
        if op.op_type == "const":
            continue
        ex.run_op(op, env)

    outputs = {}
    for desc in outputs_desc:
        outputs[desc["name"]] = ex._value(_find_var(fn, desc["var"]), env)
    return MilRunResult(outputs=outputs, intermediates=ex.intermediates, op_trace=ex.trace, function=function)


def _find_var(fn, name: str):
    for v in fn.outputs:
        if v.name == name:
            return v
    raise MilExecutionError(f"output var {name!r} not found")
