"""File operations of the dataset cache on a local path or any `tf.io.gfile` URL (gs://, s3://,
hdfs://...): local roots use the standard library (no TensorFlow import for `dataset list`)."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


def is_url(path: str) -> bool:
    return "://" in path


def join(*parts: str) -> str:
    return "/".join([parts[0].rstrip("/"), *(p.strip("/") for p in parts[1:])]) if is_url(parts[0]) else str(Path(*parts))


def _gfile():
    from mobilekit.core.tf import tf_and_keras

    return tf_and_keras()[0].io.gfile


def exists(path: str) -> bool:
    return _gfile().exists(path) if is_url(path) else os.path.exists(path)


def makedirs(path: str) -> None:
    _gfile().makedirs(path) if is_url(path) else os.makedirs(path, exist_ok=True)


def listdir(path: str) -> list[str]:
    if is_url(path):
        return sorted(p.rstrip("/") for p in _gfile().listdir(path)) if _gfile().exists(path) else []
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def isdir(path: str) -> bool:
    return _gfile().isdir(path) if is_url(path) else os.path.isdir(path)


def size(path: str) -> int:
    return int(_gfile().stat(path).length) if is_url(path) else os.path.getsize(path)


def read_text(path: str) -> str:
    if is_url(path):
        with _gfile().GFile(path, "r") as f:
            return f.read()
    return Path(path).read_text()


def write_text_atomic(path: str, text: str) -> None:
    """Write beside `path`, then rename over it: readers see the old file or the new one."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    if is_url(path):
        with _gfile().GFile(tmp, "w") as f:
            f.write(text)
        _gfile().rename(tmp, path, overwrite=True)
        return
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def rename(src: str, dst: str) -> None:
    _gfile().rename(src, dst, overwrite=True) if is_url(src) else os.replace(src, dst)


def remove(path: str) -> None:
    if not exists(path):
        return
    if is_url(path):
        _gfile().rmtree(path) if _gfile().isdir(path) else _gfile().remove(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)
    else:
        os.remove(path)


def tree_bytes(path: str) -> int:
    if is_url(path):
        return sum(size(join(path, name)) for name in listdir(path) if not isdir(join(path, name)))
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
