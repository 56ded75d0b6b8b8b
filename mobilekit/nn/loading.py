"""Loading reference models under a trust policy: untrusted files never run arbitrary code.

Keras `.keras` archives and `.h5` files carry a JSON model config; we refuse layers that
deserialize Python code (Lambda) or classes outside Keras before anything is deserialized,
and load with Keras' own `safe_mode`. `--trust-model` lifts the refusal. Both config flavours are
inspected: tf_keras (Keras 2) entries, and Keras 3 entries (`{"module": "keras.layers", "class_name":
..., "registered_name": ...}`, where a Lambda carries its function as marshalled Python bytecode in a
`{"class_name": "__lambda__"}` entry). Keras 3 files load with the Keras 3 package, tf_keras files
with tf_keras.

A SavedModel directory is loaded with `tf.saved_model.load`, which runs no Python code from the
file: it rebuilds TensorFlow graphs and restores variables, and we use its serving signature. Graph
ops can still touch the file system when executed (parity runs the reference), so graphs containing
file-writing/reading or Python-callback ops (`SAVEDMODEL_UNSAFE_OPS`) are refused unless trusted."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Iterator

from mobilekit.core.errors import InputError, UntrustedModelError

# "__lambda__": a Keras 3 serialized Python function (bytecode), wherever it appears in a config.
UNSAFE_CLASSES = {"Lambda", "TFOpLambda_with_python_code", "__lambda__"}
SAFE_MODULE_PREFIXES = ("keras", "tf_keras", "builtins", "tensorflow", "mobilekit.")  # mobilekit.: our own registered layers
# Ops a SavedModel graph must not contain unless trusted: file-system access and Python callbacks.
# (Variable save/restore ops are not listed: every SavedModel has them, and loading uses its own.)
SAVEDMODEL_UNSAFE_OPS = frozenset({
    "WriteFile", "ReadFile", "MatchingFiles", "PyFunc", "PyFuncStateless", "EagerPyFunc",
    "Save", "SaveSlices", "CreateSummaryFileWriter", "WriteSummary", "WriteRawProtoSummary",
    "DebugIdentityV2", "DebugIdentityV3", "ImmutableConst",
})


def _safe_module(module: str) -> bool:
    """A whole package name match ("keras", "keras.layers"), not a prefix ("keras_evil")."""
    return any(module == p.rstrip(".") or module.startswith(p if p.endswith(".") else p + ".") for p in SAFE_MODULE_PREFIXES)


def _walk_layers(config: Any) -> Iterator[dict]:
    if isinstance(config, dict):
        if "class_name" in config:
            yield config
        for value in config.values():
            yield from _walk_layers(value)
    elif isinstance(config, list):
        for value in config:
            yield from _walk_layers(value)


def read_keras_config(path: Path) -> tuple[dict, str]:
    """(model config, keras major version string) of a `.keras` or `.h5` file, without deserializing."""
    if path.suffix == ".keras":
        try:
            with zipfile.ZipFile(path) as zf:
                config = json.loads(zf.read("config.json"))
                meta = json.loads(zf.read("metadata.json")) if "metadata.json" in zf.namelist() else {}
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: not a valid .keras archive ({exc})") from exc
        return config, str(meta.get("keras_version", "2"))
    if path.suffix in (".h5", ".hdf5"):
        import h5py

        try:
            with h5py.File(path, "r") as handle:
                raw = handle.attrs.get("model_config")
                version = handle.attrs.get("keras_version", "2")
        except OSError as exc:
            raise InputError(f"{path}: not a valid HDF5 model ({exc})") from exc
        if raw is None:
            raise InputError(f"{path}: HDF5 file holds no model config (weights-only file?)")
        raw = raw.decode() if isinstance(raw, bytes) else raw
        version = version.decode() if isinstance(version, bytes) else version
        return json.loads(raw), str(version)
    raise InputError(f"{path}: unsupported model format (expected .keras, .h5 or a SavedModel directory)")


def unsafe_layers(config: dict) -> list[str]:
    """Names of layers that would run code on deserialization or come from outside Keras."""
    found = []
    for layer in _walk_layers(config):
        name = layer.get("config", {}).get("name", "?") if isinstance(layer.get("config"), dict) else "?"
        module = layer.get("module")
        if layer["class_name"] == "__lambda__" and name == "?":  # Keras 3: the function entry itself
            found.append("a serialized Python function (__lambda__)")
        elif layer["class_name"] in UNSAFE_CLASSES:
            found.append(f"{name} ({layer['class_name']})")
        elif isinstance(module, str) and not _safe_module(module):
            found.append(f"{name} ({module}.{layer['class_name']})")
    return list(dict.fromkeys(found))


def savedmodel_ops(path: Path) -> dict[str, list[str]]:
    """{op type: [node names]} of every graph and library function in `path/saved_model.pb` (parsed, not loaded)."""
    from tensorflow.core.protobuf import saved_model_pb2
    from google.protobuf.message import DecodeError

    proto = saved_model_pb2.SavedModel()
    try:
        proto.ParseFromString((path / "saved_model.pb").read_bytes())
    except DecodeError as exc:
        raise InputError(f"{path}: saved_model.pb is not a valid SavedModel ({exc})") from exc
    found: dict[str, list[str]] = {}
    for meta in proto.meta_graphs:
        for node in meta.graph_def.node:
            found.setdefault(node.op, []).append(node.name)
        for fn in meta.graph_def.library.function:
            for node in fn.node_def:
                found.setdefault(node.op, []).append(f"{fn.signature.name}/{node.name}")
    return found


def check_model_file(path: Path, *, trust: bool = False) -> str:
    """Validate `path` and return its kind: 'keras2', 'keras3' or 'savedmodel'."""
    if not path.exists():
        raise InputError(f"{path}: model not found")
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise InputError(f"{path}: directory is not a SavedModel (no saved_model.pb)")
        bad = {op: nodes for op, nodes in savedmodel_ops(path).items() if op in SAVEDMODEL_UNSAFE_OPS}
        if not trust and bad:
            listed = ", ".join(f"{op} ({nodes[0]}{', ...' if len(nodes) > 1 else ''})" for op, nodes in sorted(bad.items()))
            raise UntrustedModelError(
                f"{path}: refusing a SavedModel whose graph accesses files or calls back into Python: {listed}. "
                "Pass --trust-model only if you trust where this model came from."
            )
        return "savedmodel"
    config, version = read_keras_config(path)
    if not trust and (bad := unsafe_layers(config)):
        raise UntrustedModelError(
            f"{path}: refusing to load layers that deserialize code or classes outside Keras: {', '.join(bad)}. "
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
    except (ValueError, OSError, TypeError, ImportError, tf.errors.OpError) as exc:
        raise InputError(f"{path}: could not load the model ({exc})") from exc
