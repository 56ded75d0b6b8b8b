"""What this machine has and can verify. Each probe is small and says why when it fails."""
from __future__ import annotations

import importlib
import platform
from typing import Any, Callable

from mobilekit.core.toolchain import swift_version, toolchain_versions


def _probe(name: str, fn: Callable[[], str], required: bool) -> dict[str, Any]:
    try:
        return {"name": name, "available": True, "detail": fn(), "required": required}
    except Exception as exc:  # a probe reports, it never crashes doctor
        detail = str(exc) if isinstance(exc, RuntimeError) else f"{type(exc).__name__}: {exc}"
        return {"name": name, "available": False, "detail": detail.splitlines()[0][:300], "required": required}


def _tensorflow() -> str:
    from mobilekit.core.tf import tf_and_keras

    tf, keras = tf_and_keras()
    gpus = tf.config.list_physical_devices("GPU")
    return f"TensorFlow {tf.__version__}, Keras 2 API {keras.__version__}; GPUs: {len(gpus) or 'none (CPU training)'}"


def _coreml_runtime() -> str:
    if platform.system() != "Darwin":
        raise RuntimeError(f"not available ({platform.system()}): Core ML prediction needs macOS")
    return "Core ML framework prediction via coremltools"


def _mil_executor() -> str:
    importlib.import_module("mobilekit.parity.mil")
    return "NumPy MIL executor: checks that converted Core ML programs compute what TF computes (not a model of GPU/ANE numerics)"


def _litert() -> str:
    from ai_edge_litert.interpreter import Interpreter  # noqa: F401

    return "LiteRT interpreter with XNNPACK (Android runtime)"


def _metadata() -> str:
    from mobilekit.core.native import import_metadata_writers, preload_libusb

    import_metadata_writers()
    return f"tflite-support metadata writers (libusb from {preload_libusb()})"


def _onnxruntime() -> str:
    import onnxruntime

    return f"onnxruntime {onnxruntime.__version__} ({', '.join(onnxruntime.get_available_providers())})"


def _swift() -> str:
    version = swift_version()
    if version is None:
        raise RuntimeError("`swift` not on PATH: swift_shaders tests cannot run")
    return version


def _coreml_converter() -> str:
    from mobilekit.core.native import import_coremltools

    return f"coremltools {import_coremltools().__version__} (mlprogram conversion, compression)"


PROBES: list[tuple[str, Callable[[], str], bool]] = [
    ("TensorFlow training", _tensorflow, True),
    ("Core ML conversion", _coreml_converter, True),
    ("Core ML runtime", _coreml_runtime, False),
    ("Core ML parity on Linux (MIL executor)", _mil_executor, False),
    ("LiteRT runtime", _litert, True),
    ("TFLite metadata", _metadata, True),
    ("ONNX Runtime", _onnxruntime, False),
    ("Swift toolchain", _swift, False),
]


def diagnose() -> dict[str, Any]:
    capabilities = [_probe(*probe) for probe in PROBES]
    return {
        "platform": f"{platform.system()} {platform.machine()}",
        "toolchain": {**toolchain_versions(), "swift": swift_version()},
        "capabilities": capabilities,
        "required_ok": all(c["available"] for c in capabilities if c["required"]),
    }
