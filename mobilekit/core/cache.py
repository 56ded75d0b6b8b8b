"""Stage cache: outputs keyed by the hash of what produced them."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable


def cache_root() -> Path:
    """MOBILEKIT_CACHE_DIR, else $XDG_CACHE_HOME/mobilekit, else ~/.cache/mobilekit."""
    if env := os.environ.get("MOBILEKIT_CACHE_DIR"):
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mobilekit"


def cache_enabled() -> bool:
    return os.environ.get("MOBILEKIT_NO_CACHE", "") in ("", "0")


def cached_dir(stage: str, key: str) -> Path | None:
    path = cache_root() / stage / key
    return path if cache_enabled() and (path / "COMPLETE").is_file() else None


def store_files(stage: str, key: str, files: list[Path]) -> None:
    """Copy `files` into the cache entry atomically (a COMPLETE marker makes the entry valid)."""
    store_entry(stage, key, lambda entry: [shutil.copy2(file, entry / file.name) for file in files])


def store_entry(stage: str, key: str, fill: Callable[[Path], None]) -> None:
    """Let `fill(directory)` write a cache entry, then publish it atomically (COMPLETE marker, rename);
    an entry whose `fill` raises is removed, never published."""
    if not cache_enabled():
        return
    final = cache_root() / stage / key
    tmp = final.with_name(f".{key}.partial.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        fill(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    (tmp / "COMPLETE").write_text("ok\n")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
