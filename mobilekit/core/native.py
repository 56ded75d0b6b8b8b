"""Native-library fix-ups that must run before some imports (libusb for tflite-support), and coremltools."""
from __future__ import annotations

import ctypes
import functools

from mobilekit.core.errors import EnvironmentProblem


@functools.cache
def preload_libusb() -> str:
    """tflite-support's native module links against libusb-1.0.so.0; the PyPI package
    `libusb-package` ships it, so load it globally before importing the metadata writers."""
    try:
        ctypes.CDLL("libusb-1.0.so.0", mode=ctypes.RTLD_GLOBAL)
        return "system"
    except OSError:
        pass
    try:
        import libusb_package

        path = libusb_package.get_library_path()
        if path is None:
            raise OSError("libusb-package ships no library for this platform")
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        return str(path)
    except (ImportError, OSError) as exc:
        raise EnvironmentProblem(
            f"libusb-1.0 is needed by tflite-support and could not be loaded ({exc}); "
            "reinstall with `pip install -e .` (it pulls `libusb-package`) or install the system package libusb-1.0-0"
        ) from exc


def import_metadata_writers():
    """Import tflite-support metadata modules the way that works after TensorFlow is loaded."""
    preload_libusb()
    from tensorflow_lite_support.metadata.python import metadata
    from tensorflow_lite_support.metadata.python.metadata_writers import metadata_info, metadata_writer, writer_utils

    return metadata, metadata_info, metadata_writer, writer_utils


def import_coremltools():
    """coremltools, with its own progress bars off (we show ours)."""
    import os

    os.environ.setdefault("TQDM_DISABLE", "1")
    import coremltools as ct

    return ct
