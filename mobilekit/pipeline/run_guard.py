"""One build's claim on its output directory, and the cleanup after builds that died.

Concurrency is handled by **per-run staging, then atomic renames** (no waiting on a lock): every
build gets a run id (`<pid>-<8 hex>`) and tags everything it writes before publishing with it —

- its work directory in the temp dir, `mobilekit-build-<id>-*/` (holding `run.lock`);
- partial zips beside their destination, `.<bundle>.zip.<id>.*.partial`;
- staged reports, `OUT/.mobilekit-staging-<id>/`;

and publishes each bundle with one `os.replace` and each report folder with a rename swap. Two
builds into the same `--out` therefore each publish complete files (the last rename wins) and never
touch each other's temporaries.

A run holds an exclusive `flock` on `OUT/.mobilekit-run-<id>.lock` and on its work directory's
`run.lock` for its lifetime. The kernel drops a flock when its process dies, SIGKILL included, so a
lock that can be taken belongs to a dead run: the next build removes that run's temporaries (in
`--out` and the temp dir) before it starts.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

RUN_LOCK = ".mobilekit-run-{id}.lock"
STAGING = ".mobilekit-staging-{id}"
WORK_PREFIX = "mobilekit-build-{id}-"
_ID = r"(\d+-[0-9a-f]{8})"


def _take(path: Path) -> int | None:
    """An fd holding an exclusive flock on `path`, or None when another live process holds it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _dead(lock: Path) -> bool:
    fd = _take(lock)
    if fd is None:
        return False
    os.close(fd)  # releases the flock
    return True


def sweep_stale(out: Path, temp_root: Path | None = None) -> list[Path]:
    """Remove the temporaries of dead runs in `out` and the temp dir; return what was removed."""
    removed: list[Path] = []
    if out.is_dir():
        for lock in out.glob(RUN_LOCK.format(id="*")):
            match = re.fullmatch(RUN_LOCK.format(id=_ID).replace(".", r"\."), lock.name)
            if not match or not _dead(lock):
                continue
            run = match.group(1)
            for leftover in [out / STAGING.format(id=run), *out.glob(f".*.{run}.*.partial")]:
                if leftover.exists():
                    shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
                    removed.append(leftover)
            lock.unlink(missing_ok=True)
            removed.append(lock)
    root = temp_root or Path(tempfile.gettempdir())
    for work in root.glob(WORK_PREFIX.format(id="*") + "*"):
        if work.is_dir() and (work / "run.lock").exists() and _dead(work / "run.lock"):
            shutil.rmtree(work, ignore_errors=True)
            removed.append(work)
    return removed


class BuildRun:
    """`with BuildRun(out) as run:` — a swept output directory, a locked work dir, a staging dir."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.id = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.work = Path()
        self._fds: list[int] = []

    @property
    def staging(self) -> Path:
        """Staged reports, renamed into `out` by `publish_dir`."""
        return self.out / STAGING.format(id=self.id)

    def __enter__(self) -> "BuildRun":
        self.out.mkdir(parents=True, exist_ok=True)
        sweep_stale(self.out)
        self.work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX.format(id=self.id)))
        for lock in (self.out / RUN_LOCK.format(id=self.id), self.work / "run.lock"):
            fd = _take(lock)
            if fd is not None:
                self._fds.append(fd)
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.staging, ignore_errors=True)
        for fd in self._fds:
            os.close(fd)
        (self.out / RUN_LOCK.format(id=self.id)).unlink(missing_ok=True)

    def publish_reports(self, failed: bool) -> None:
        """Every staged report folder into `out/reports/`: `<name>-<version>/` after a published build,
        `<name>-<version>.failed/` after a failed one (the last good build's reports stay in place)."""
        staged_root = self.staging / "reports"
        if not staged_root.is_dir():
            return
        for staged in sorted(p for p in staged_root.iterdir() if p.is_dir()):
            final = self.out / "reports" / (staged.name + (".failed" if failed else ""))
            self.publish_dir(staged, final)
            if not failed:
                shutil.rmtree(self.out / "reports" / f"{staged.name}.failed", ignore_errors=True)

    def publish_dir(self, staged: Path, final: Path) -> None:
        """Replace `final` with the staged directory (rename swap inside `out`: a previous `final`
        survives anything that stops the run before the swap)."""
        final.parent.mkdir(parents=True, exist_ok=True)
        old = self.staging / f"replaced-{final.name}"
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(old)
        if final.exists():
            os.replace(final, old)
        os.replace(staged, final)
        shutil.rmtree(old, ignore_errors=True)
