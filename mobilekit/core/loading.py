"""Loading reference models under a trust policy: untrusted files never run arbitrary code.

Keras `.keras` archives and `.h5` files carry a JSON model config; we refuse layers that
deserialize Python code (Lambda) or classes outside Keras before anything is deserialized,
and load with Keras' own `safe_mode`. `--trust-model` lifts the refusal."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Iterator

from mobilekit.core.errors import InputError, UntrustedModelError

UNSAFE_CLASSES = {"Lambda", "TFOpLambda_with_python_code"}
SAFE_MODULE_PREFIXES = ("keras", "tf_keras", "builtins", "tensorflow")


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
        if layer["class_name"] in UNSAFE_CLASSES:
            found.append(f"{name} ({layer['class_name']})")
        elif isinstance(module, str) and not module.startswith(SAFE_MODULE_PREFIXES):
            found.append(f"{name} ({module}.{layer['class_name']})")
    return found


def check_model_file(path: Path, *, trust: bool = False) -> str:
    """Validate `path` and return its kind: 'keras2', 'keras3' or 'savedmodel'."""
    if not path.exists():
        raise InputError(f"{path}: model not found")
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise InputError(f"{path}: directory is not a SavedModel (no saved_model.pb)")
        return "savedmodel"
    config, version = read_keras_config(path)
    if not trust and (bad := unsafe_layers(config)):
        raise UntrustedModelError(
            f"{path}: refusing to load layers that deserialize code or classes outside Keras: {', '.join(bad)}. "
            "Pass --trust-model only if you trust where this file came from."
        )
    return "keras3" if version.startswith("3") else "keras2"


def load_keras_model(path: Path, *, trust: bool = False):
    """Load a tf_keras (Keras 2) reference model after `check_model_file`."""
    kind = check_model_file(path, trust=trust)
    from mobilekit.core.tf import tf_and_keras

    tf, keras = tf_and_keras()
    if kind == "keras3":
        raise InputError(f"{path}: Keras 3 models are not supported by this command yet; save with tf_keras or as a SavedModel")
    try:
        if kind == "savedmodel":
            return keras.models.load_model(str(path), compile=False)
        return keras.models.load_model(str(path), compile=False, safe_mode=not trust)
    except (ValueError, OSError, TypeError) as exc:
        raise InputError(f"{path}: could not load the model ({exc})") from exc
