"""Loading reference models under a trust policy: untrusted files never run arbitrary code.

Every model file is first validated as a file (`mobilekit.nn.model_files.validate_model_file`: a
whole zip / HDF5 / SavedModel, before any deserializer sees it). Keras `.keras` archives and `.h5`
files carry a JSON model config; every object entry in it (layers, activations, initializers,
regularizers, losses, metrics, optimizers, dtype policies, and function entries, at any depth) is
checked against an allow-list *before* Keras deserializes anything, and the file is loaded with
Keras' own `safe_mode`. `--trust-model` lifts the refusal.

The allow-list names exact modules, never a whole top-level package:

- classes (`{"module", "class_name", "registered_name"}` entries) from the public Keras / tf_keras
  modules (`CLASS_MODULES`: `keras`, `keras.layers`, `keras.initializers`, ...), the model classes'
  own modules (`keras.src.models.functional`, `tf_keras.src.engine.functional`, ...), the packages
  that hold nothing but modelling classes (`CLASS_PACKAGES`: `keras.src.layers.`,
  `tf_keras.src.layers.`, ...) and mobilekit's own registered layers (`mobilekit.nn.layers`,
  registered names `mobilekit>...`), plus a few exact (module, class) pairs Keras applications and
  TensorFlow initializers write (`EXACT_CLASSES`: ConvNeXt's `LayerScale`, `tf.constant_initializer`'s
  `Constant`, ...). `keras.src.saving`, `keras.src.utils`, `keras.src.export`,
  `keras.models`, `tensorflow.*`, `builtins`, `os`, `subprocess`, ... are not on it;
- functions (`"class_name": "function"`) only from the activation, loss, metric and op modules
  (`FUNCTION_MODULES`), never a non-modelling name (`get`, `deserialize`, `load_model`, ...);
- classes that run code or load other files whatever their module: `Lambda` and serialized Python
  functions (`__lambda__`), `TFSMLayer`, `TorchModuleWrapper`, `JaxLayer`, `FlaxLayer`; and any
  string, anywhere in the config, that is base64 of a marshalled code object (tf_keras writes a
  lambda activation as a bare `{"value": [code, defaults, closure]}`);
- tf_keras `TFOpLambda` / `SlicingOpLambda` layers only with a TensorFlow op from the math / nn /
  image / linalg / ... namespaces (`tf.io.*`, `tf.raw_ops.*`, `tf.compat.*`, `tf.print`,
  `tf.load_op_library`, `tf.py_function`, ... are refused); `ClassMethod` layers only on
  `tf.RaggedTensor` / `tf.SparseTensor`; `InstanceMethod` / `InstanceProperty` only public names.

Both config flavours are inspected: tf_keras (Keras 2, legacy `.h5` entries carry no module) and
Keras 3 (where a Lambda carries its function as marshalled bytecode in a `{"class_name":
"__lambda__"}` entry). Keras 3 files load with the Keras 3 package, tf_keras files with tf_keras.

A SavedModel directory is loaded with `tf.saved_model.load`, which runs no Python code from the
file: it rebuilds TensorFlow graphs and restores variables, and we use its serving signature. Graph
ops can still touch the file system when executed (parity runs the reference), so graphs containing
file-writing/reading or Python-callback ops (`SAVEDMODEL_UNSAFE_OPS`) are refused unless trusted."""
from __future__ import annotations

import ast
import base64
import binascii
import functools
import json
import re
import struct
import zipfile
from pathlib import Path
from typing import Any, Iterator

from mobilekit.core.errors import InputError, UntrustedModelError
from mobilekit.nn.model_files import parse_saved_model, validate_model_file

# Classes that run Python code or load other files on deserialization, whatever module they claim.
UNSAFE_CLASSES = frozenset({"Lambda", "TFOpLambda_with_python_code", "__lambda__", "TFSMLayer", "TorchModuleWrapper",
                            "JaxLayer", "FlaxLayer", "KerasLayer"})
# Public Keras / tf_keras API modules and the model classes' own modules, matched exactly.
CLASS_MODULES = frozenset({
    "keras", "keras.layers", "keras.initializers", "keras.regularizers", "keras.constraints", "keras.activations",
    "keras.losses", "keras.metrics", "keras.optimizers", "keras.optimizers.schedules", "keras.dtype_policies",
    "keras.mixed_precision",
    "keras.src.models.functional", "keras.src.models.sequential", "keras.src.models.model",
    "tf_keras", "tf_keras.layers", "tf_keras.initializers", "tf_keras.regularizers", "tf_keras.constraints",
    "tf_keras.activations", "tf_keras.losses", "tf_keras.metrics", "tf_keras.optimizers",
    "tf_keras.optimizers.schedules", "tf_keras.mixed_precision",
    "tf_keras.src.engine.functional", "tf_keras.src.engine.sequential", "tf_keras.src.engine.training",
    "tf_keras.src.engine.input_layer", "tf_keras.src.regularizers", "tf_keras.src.constraints", "tf_keras.src.losses",
    "tf_keras.src.mixed_precision.policy",
    "mobilekit.nn.layers",
})
# Packages that hold only modelling classes (every submodule is a layer / initializer / ... module).
CLASS_PACKAGES = (
    "keras.src.layers.", "keras.src.initializers.", "keras.src.regularizers.", "keras.src.constraints.",
    "keras.src.losses.", "keras.src.metrics.", "keras.src.optimizers.", "keras.src.dtype_policies.", "keras.src.ops.",
    "keras.src.quantizers.",
    "tf_keras.src.layers.", "tf_keras.src.initializers.", "tf_keras.src.metrics.", "tf_keras.src.optimizers.",
)
# Single classes outside those modules that Keras' own applications and TensorFlow initializers put in
# configs (exact module and class name: nothing else from these modules is admitted).
EXACT_CLASSES = {
    "keras.src.applications.convnext": frozenset({"LayerScale", "StochasticDepth"}),
    "tf_keras.src.applications.convnext": frozenset({"LayerScale", "StochasticDepth"}),
    "keras.src.applications.inception_resnet_v2": frozenset({"CustomScaleLayer"}),
    "tf_keras.src.applications.inception_resnet_v2": frozenset({"CustomScaleLayer"}),
    "tensorflow.python.ops.init_ops_v2": frozenset({  # tf.*_initializer objects (tf_keras EfficientNetV2 heads)
        "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal", "TruncatedNormal", "VarianceScaling",
        "Orthogonal", "Identity", "GlorotUniform", "GlorotNormal"}),
}
# Registered names Keras' own applications use (tf_keras registers InceptionResNetV2's layer under the
# default "Custom" package; legacy .h5 configs name it that way, without a module).
KERAS_REGISTERED = frozenset({"Custom>CustomScaleLayer"})
# Where a serialized function ("class_name": "function") may come from: activations, losses, metrics, ops.
FUNCTION_MODULES = frozenset({
    "keras.activations", "keras.losses", "keras.metrics", "keras.ops", "keras.ops.nn", "keras.ops.numpy",
    "keras.ops.image", "keras.ops.linalg",
    "tf_keras.activations", "tf_keras.losses", "tf_keras.metrics", "tf_keras.src.activations", "tf_keras.src.losses",
})
FUNCTION_PACKAGES = ("keras.src.activations.", "keras.src.losses.", "keras.src.metrics.", "keras.src.ops.",
                     "tf_keras.src.metrics.")
# Names that are not modelling functions even in those modules (registry access, (de)serialization, I/O).
DENIED_FUNCTIONS = frozenset({"get", "deserialize", "serialize", "load_model", "save_model", "get_file",
                              "enable_unsafe_deserialization", "set_global_attribute", "load_weights"})
# Keras 3 entries that are data, not classes (no module, nothing imported).
DATA_CLASSES = frozenset({"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__"})
TYPESPECS = {("tensorflow.python.framework.tensor", "TensorSpec"), ("tensorflow.python.framework.tensor_spec", "TensorSpec"),
             ("tensorflow.python.ops.ragged.ragged_tensor", "RaggedTensorSpec"),
             ("tensorflow.python.framework.sparse_tensor", "SparseTensorSpec")}
# tf_keras TFOpLambda: the TF API namespaces whose ops are pure tensor computations.
TF_OP_NAMESPACES = frozenset({"__operators__", "math", "nn", "image", "linalg", "signal", "bitwise", "random", "dtypes",
                              "sparse", "ragged", "strings"})
TF_OP_DENIED = frozenset({"print", "py_function", "numpy_function", "py_func", "load_op_library", "load_library",
                          "function", "Variable", "Module", "make_template", "while_loop", "cond", "case", "switch_case",
                          "map_fn", "scan", "foldl", "foldr", "vectorized_map", "custom_gradient", "recompute_grad",
                          "init_scope", "control_dependencies", "device", "name_scope"})
# tf_keras ClassMethod layers (`tf.RaggedTensor.from_row_lengths(...)` in a functional model): the class
# is looked up by name in the tf namespace, so only these may be named.
TF_CLASS_SYMBOLS = frozenset({"RaggedTensor", "SparseTensor", "sparse.SparseTensor"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Ops a SavedModel graph must not contain unless trusted: file-system access and Python callbacks.
# (Variable save/restore ops are not listed: every SavedModel has them, and loading uses its own.)
SAVEDMODEL_UNSAFE_OPS = frozenset({
    "WriteFile", "ReadFile", "MatchingFiles", "PyFunc", "PyFuncStateless", "EagerPyFunc",
    "Save", "SaveSlices", "CreateSummaryFileWriter", "WriteSummary", "WriteRawProtoSummary",
    "DebugIdentityV2", "DebugIdentityV3", "ImmutableConst",
})


@functools.cache
def mobilekit_layers() -> frozenset[str]:
    """Class names registered in `mobilekit/nn/layers.py` with `register_keras_serializable(package="mobilekit")`
    (read from the source: no TensorFlow import)."""
    tree = ast.parse((Path(__file__).parent / "layers.py").read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
                isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "register_keras_serializable"
                and any(k.arg == "package" and getattr(k.value, "value", None) == "mobilekit" for k in d.keywords)
                for d in node.decorator_list):
            names.add(node.name)
    return frozenset(names)


def _in(module: str, exact: frozenset[str], packages: tuple[str, ...]) -> bool:
    return module in exact or (module.startswith(packages) and all(_IDENTIFIER.match(p) for p in module.split(".")))


def class_module_allowed(module: str) -> bool:
    return _in(module, CLASS_MODULES, CLASS_PACKAGES)


def function_module_allowed(module: str) -> bool:
    return _in(module, FUNCTION_MODULES, FUNCTION_PACKAGES)


def tf_op_allowed(name: Any) -> bool:
    """A tf_keras TFOpLambda function ("nn.relu6", "__operators__.add", "reshape") that only computes."""
    if not isinstance(name, str) or not name:
        return False
    parts = name.split(".")
    if not all(_IDENTIFIER.match(p) for p in parts) or parts[-1] in TF_OP_DENIED:
        return False
    if parts[-1].startswith("_") and parts[0] != "__operators__":  # private helpers
        return False
    return len(parts) == 1 or (parts[0] in TF_OP_NAMESPACES and len(parts) <= 3)


def _entries(config: Any, owner: str = "?") -> Iterator[tuple[dict, str]]:
    """Every dict with a `class_name` or `module` key, at any depth, with the name of the nearest named layer."""
    if isinstance(config, dict):
        inner = config.get("config")
        name = inner.get("name") if isinstance(inner, dict) and isinstance(inner.get("name"), str) else None
        name = name or (config.get("name") if isinstance(config.get("name"), str) else None)
        here = name or owner
        if "class_name" in config or "module" in config:
            yield config, here
        for value in config.values():
            yield from _entries(value, here)
    elif isinstance(config, list):
        for value in config:
            yield from _entries(value, owner)


def _entry_problem(entry: dict) -> str | None:
    """What is refused about one config entry (its class / function path), or None."""
    class_name, module, registered = entry.get("class_name"), entry.get("module"), entry.get("registered_name")
    if "class_name" not in entry:  # e.g. a tf_keras Lambda's own config: {"function": ..., "module": "__main__"}
        return None if module is None or (isinstance(module, str) and class_module_allowed(module)) else f"module {module}"
    if not isinstance(class_name, str) or not class_name:
        return f"class_name {class_name!r}"
    if module is not None and not isinstance(module, str):
        return f"module {module!r}"
    path = f"{module}.{class_name}" if module else class_name
    if class_name in UNSAFE_CLASSES:
        return class_name if class_name == "__lambda__" else path
    if class_name == "function":
        fn = entry.get("config")
        fn_path = f"{module}.{fn}" if isinstance(fn, str) else f"{module}.<{type(fn).__name__}>"
        if not (isinstance(module, str) and function_module_allowed(module) and isinstance(fn, str) and _IDENTIFIER.match(fn)
                and not fn.startswith("_") and fn not in DENIED_FUNCTIONS and registered in (None, "function", fn)):
            return fn_path
        return None
    if class_name == "__typespec__":
        return None if (module, entry.get("spec_name")) in TYPESPECS else f"{module}.{entry.get('spec_name')}"
    if class_name in DATA_CLASSES:
        return None if module is None else path
    if class_name.startswith("__"):
        return path
    if ">" in class_name:  # legacy tf_keras configs name a registered class by its registered name
        package, _, name = class_name.partition(">")
        keras_own = module is None and class_name in KERAS_REGISTERED
        if not keras_own and (package != "mobilekit" or name not in mobilekit_layers() or module not in (None, "mobilekit.nn.layers")):
            return path
    elif not _IDENTIFIER.match(class_name):
        return path
    if module is not None and not (class_module_allowed(module) or class_name in EXACT_CLASSES.get(module, ())):  # noqa: SIM102
        return path
    if module == "mobilekit.nn.layers" and class_name not in mobilekit_layers():
        return path
    exact = class_name in EXACT_CLASSES.get(module, ())
    if registered is not None and registered != class_name and not (exact and registered == f"Custom>{class_name}") and not (
            isinstance(registered, str) and registered.startswith("mobilekit>")
            and registered.partition(">")[2] in mobilekit_layers() and module in (None, "mobilekit.nn.layers")):
        return f"{path} (registered as {registered!r})"
    inner = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    if class_name in ("TFOpLambda", "SlicingOpLambda") and not tf_op_allowed(inner.get("function")):
        return f"{path} calling tf.{inner.get('function')}"
    if class_name == "ClassMethod" and not (inner.get("cls_symbol") in TF_CLASS_SYMBOLS and _public(inner.get("method_name"))):
        return f"{path} calling tf.{inner.get('cls_symbol')}.{inner.get('method_name')}"
    if class_name in ("InstanceMethod", "InstanceProperty") and not _public(inner.get("attr_name")):
        return f"{path} reading attribute {inner.get('attr_name')!r}"
    return None


def _public(name: Any) -> bool:
    return isinstance(name, str) and bool(_IDENTIFIER.match(name)) and not name.startswith("_")


def looks_like_bytecode(text: Any) -> bool:
    """A base64 string that decodes to a marshalled code object (what Keras' `func_dump` writes: tf_keras
    puts lambda activations in a bare `{"value": [code, defaults, closure]}`, with no class name)."""
    if not isinstance(text, str) or len(text) < 40 or not re.fullmatch(r"[A-Za-z0-9+/=\s]+", text):
        return False
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(raw) < 17 or raw[0] not in (0x63, 0xE3):  # TYPE_CODE, with or without FLAG_REF
        return False
    argcount, posonly, kwonly = struct.unpack_from("<III", raw, 1)
    return argcount < 256 and posonly < 256 and kwonly < 256


def _strings(config: Any, owner: str = "?") -> Iterator[tuple[str, str]]:
    if isinstance(config, dict):
        inner = config.get("config")
        name = inner.get("name") if isinstance(inner, dict) and isinstance(inner.get("name"), str) else None
        here = name or (config.get("name") if isinstance(config.get("name"), str) else None) or owner
        for value in config.values():
            yield from _strings(value, here)
    elif isinstance(config, list):
        for value in config:
            yield from _strings(value, owner)
    elif isinstance(config, str):
        yield config, owner


def untrusted_entries(config: Any) -> list[str]:
    """Every entry of a Keras model config that the trust policy refuses, as `layer name (class path)`,
    and every marshalled Python function wherever it sits."""
    found = []
    for entry, owner in _entries(config):
        problem = _entry_problem(entry)
        if problem is None:
            continue
        if entry.get("class_name") == "__lambda__":
            found.append(f"a serialized Python function (__lambda__) in {owner}")
        elif entry.get("class_name") in UNSAFE_CLASSES:
            found.append(f"{owner} ({entry['class_name']})" + (f" [{problem}]" if problem != entry["class_name"] else ""))
        else:
            found.append(f"{owner} ({problem})")
    flagged = {f.split(" ", 1)[0] for f in found if "(Lambda)" in f} | {f.rsplit(" in ", 1)[-1] for f in found if "__lambda__" in f}
    found += [f"a serialized Python function (marshalled bytecode) in {owner}"
              for text, owner in _strings(config) if owner not in flagged and looks_like_bytecode(text)]
    return list(dict.fromkeys(found))


def unsafe_layers(config: dict) -> list[str]:
    """Names of layers that would run code on deserialization or come from outside Keras (kept name)."""
    return untrusted_entries(config)


def read_keras_config(path: Path) -> tuple[dict, str]:
    """(model config, keras major version string) of a `.keras` or `.h5` file, without deserializing."""
    suffix = path.suffix.lower()
    if suffix == ".keras":
        try:
            with zipfile.ZipFile(path) as zf:
                config = json.loads(zf.read("config.json"))
                meta = json.loads(zf.read("metadata.json")) if "metadata.json" in zf.namelist() else {}
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
            raise InputError(f"{path}: not a valid .keras archive ({_one_line(exc)})") from None
        return config, str(meta.get("keras_version", "2") if isinstance(meta, dict) else "2")
    if suffix in (".h5", ".hdf5"):
        import h5py

        try:
            with h5py.File(path, "r") as handle:
                raw = handle.attrs.get("model_config")
                version = handle.attrs.get("keras_version", "2")
        except Exception as exc:  # noqa: BLE001 - h5py raises OSError and others on corrupt files
            raise InputError(f"{path}: not a valid HDF5 model ({_one_line(exc)})") from None
        if raw is None:
            raise InputError(f"{path}: HDF5 file holds no model config (weights-only file?)")
        raw = raw.decode() if isinstance(raw, bytes) else raw
        version = version.decode() if isinstance(version, bytes) else version
        try:
            return json.loads(raw), str(version)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: the model_config attribute is not valid JSON ({_one_line(exc)})") from None
    raise InputError(f"{path}: unsupported model format (expected .keras, .h5 or a SavedModel directory)")


def savedmodel_ops(path: Path) -> dict[str, list[str]]:
    """{op type: [node names]} of every graph and library function in `path/saved_model.pb` (parsed, not loaded)."""
    proto = parse_saved_model(path)
    found: dict[str, list[str]] = {}
    for meta in proto.meta_graphs:
        for node in meta.graph_def.node:
            found.setdefault(node.op, []).append(node.name)
        for fn in meta.graph_def.library.function:
            for node in fn.node_def:
                found.setdefault(node.op, []).append(f"{fn.signature.name}/{node.name}")
    return found


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_model_file(path: Path, *, trust: bool = False) -> str:
    """Validate `path` as a file, then under the trust policy; return its kind: 'keras2', 'keras3' or 'savedmodel'."""
    kind = validate_model_file(path)
    if kind == "savedmodel":
        bad = {op: nodes for op, nodes in savedmodel_ops(path).items() if op in SAVEDMODEL_UNSAFE_OPS}
        if not trust and bad:
            listed = ", ".join(f"{op} ({nodes[0]}{', ...' if len(nodes) > 1 else ''})" for op, nodes in sorted(bad.items()))
            raise UntrustedModelError(
                f"{path}: refusing a SavedModel whose graph accesses files or calls back into Python: {listed}. "
                "Pass --trust-model only if you trust where this model came from."
            )
        return "savedmodel"
    if kind not in ("keras", "h5"):
        raise InputError(f"{path}: unsupported model format for a reference model (expected .keras, .h5 or a "
                         f"SavedModel directory; a .{kind} file is a converted artifact)")
    config, version = read_keras_config(path)
    # `compile_config` (optimizer, loss functions) is never deserialized: models load with
    # compile=False (below), so a training loss saved by name, e.g. ours, does not make a file untrusted.
    checked = {k: v for k, v in config.items() if k != "compile_config"} if isinstance(config, dict) else config
    if not trust and (bad := untrusted_entries(checked)):
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise UntrustedModelError(
            f"{path}: refusing to load code or classes outside Keras/mobilekit: {shown}. "
            "Pass --trust-model only if you trust where this file came from."
        )
    return "keras3" if version.startswith("3") else "keras2"


def load_keras_model(path: Path, *, trust: bool = False):
    """Load a reference model after `check_model_file`: a tf_keras model (Keras 2 `.keras`/`.h5`),
    a Keras 3 model (`.keras`/`.h5` saved by Keras 3, loaded with the `keras` package), or a SavedModel
    directory (`tf.saved_model.load`, used through its serving signature: a
    `mobilekit.nn.keras_io.SavedModelSignature`, callable like a model)."""
    kind = check_model_file(path, trust=trust)
    from mobilekit.core.tf import tf_and_keras

    tf, keras = tf_and_keras()
    import mobilekit.nn.layers  # noqa: F401  (registers mobilekit's own layers: mobilekit>Erosion2D, ...)
    try:
        if kind == "savedmodel":
            from mobilekit.nn.keras_io import savedmodel_signature

            return savedmodel_signature(tf.saved_model.load(str(path)), path)
        if kind == "keras3":
            import keras as keras3  # the Keras 3 package (tf.keras is tf_keras here: TF_USE_LEGACY_KERAS=1)

            return keras3.saving.load_model(str(path), compile=False, safe_mode=not trust)
        return keras.models.load_model(str(path), compile=False, safe_mode=not trust)
    except (ValueError, OSError, TypeError, ImportError, KeyError, AttributeError, tf.errors.OpError) as exc:
        raise InputError(f"{path}: could not load the model ({_one_line(exc)})") from None
