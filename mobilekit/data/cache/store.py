"""The content-addressed dataset cache: one folder per dataset id holding compressed TFRecord
shards and `index.json`, which is written last and atomically, so a dataset is ready exactly when
its index exists. A per-dataset file lock makes concurrent builders of one dataset build it once
(the others wait, then reuse it), marks datasets in use (shared lock) so `gc` skips them, and
tells a build in progress from one that was interrupted.

    <root>/<id>/shard-00000.tfrecord.gz ...   complete shards (written beside, then renamed)
    <root>/<id>/progress.json                 while building: written / total, pid, host
    <root>/<id>/index.json                    ready: counts, spec, content, shards with sha256
    <root>/<id>/last_used                     time of the last build or open
    <locks>/<id>.lock                         local flock (`<root>/.locks`, or under the local cache for URLs)

Locks are local `flock`s: on shared storage reached from several machines two machines can
build the same dataset at once; both write identical bytes (the content is deterministic) and
the index rename lets one of them win."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from mobilekit.core.cache import cache_root
from mobilekit.core.faults import fault_point
from mobilekit.core.fsio import sha256_file
from mobilekit.data.cache import files
from mobilekit.data.cache.codec import encode, merge_spec, spec_of
from mobilekit.data.cache.identity import DatasetKey

INDEX, PROGRESS, LAST_USED = "index.json", "progress.json", "last_used"
SHARD_EXAMPLES = 512
INDEX_SCHEMA = 1


def default_root() -> str:
    """MOBILEKIT_DATASET_CACHE, else `<mobilekit cache>/datasets`."""
    return os.environ.get("MOBILEKIT_DATASET_CACHE") or str(cache_root() / "datasets")


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.tfrecord.gz"


@dataclass
class EntryStatus:
    """What `dataset list` shows for one cache folder."""

    id: str
    state: str  # ready | building | incomplete
    path: str
    bytes: int = 0
    index: dict[str, Any] = field(default_factory=dict)
    progress: dict[str, Any] = field(default_factory=dict)
    last_used: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "path": self.path, "bytes": self.bytes, "last_used": self.last_used,
                "count": self.index.get("count"), "content": self.index.get("content"), "progress": self.progress or None}


@dataclass(frozen=True)
class BuildResult:
    id: str
    path: str
    built: bool  # False: it was ready already (possibly built meanwhile by another process)
    resumed_shards: int = 0  # complete shards an interrupted build had left and this one kept
    seconds: float = 0.0


class DatasetStore:
    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = str(root or default_root())
        if files.is_url(self.root):
            self.lock_dir = cache_root() / "dataset-locks" / hashlib.sha256(self.root.encode()).hexdigest()[:16]
        else:
            self.lock_dir = Path(self.root) / ".locks"

    def path(self, dataset_id: str) -> str:
        return files.join(self.root, dataset_id)

    # ------------------------------------------------------------------ locks
    @contextlib.contextmanager
    def _lock(self, dataset_id: str, mode: int, *, blocking: bool = True) -> Iterator[bool]:
        """Hold the dataset's flock in `mode` (LOCK_EX / LOCK_SH); yields False if not blocking and busy."""
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lock_dir / f"{dataset_id}.lock", "a+") as handle:
            try:
                fcntl.flock(handle, mode | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _busy(self, dataset_id: str) -> bool:
        with self._lock(dataset_id, fcntl.LOCK_EX, blocking=False) as got:
            return not got

    # ------------------------------------------------------------------ state
    def is_ready(self, dataset_id: str) -> bool:
        return files.exists(files.join(self.path(dataset_id), INDEX))

    def index(self, dataset_id: str) -> dict[str, Any]:
        return json.loads(files.read_text(files.join(self.path(dataset_id), INDEX)))

    def status(self, dataset_id: str) -> EntryStatus:
        folder = self.path(dataset_id)
        used = files.join(folder, LAST_USED)
        last_used = float(files.read_text(used)) if files.exists(used) else None
        if self.is_ready(dataset_id):
            index = self.index(dataset_id)
            return EntryStatus(dataset_id, "ready", folder, index.get("bytes", 0), index, last_used=last_used)
        progress_file = files.join(folder, PROGRESS)
        progress = json.loads(files.read_text(progress_file)) if files.exists(progress_file) else {}
        state = "building" if self._busy(dataset_id) else "incomplete"
        return EntryStatus(dataset_id, state, folder, files.tree_bytes(folder), progress=progress, last_used=last_used)

    def entries(self) -> list[EntryStatus]:
        names = [n for n in files.listdir(self.root) if not n.startswith(".") and files.isdir(self.path(n))]
        return [self.status(name) for name in names]

    def resolve(self, name_or_id: str) -> str:
        """A dataset id from its id, unique id prefix or readable name; KeyError otherwise."""
        ids = [e for e in files.listdir(self.root) if not e.startswith(".")]
        if name_or_id in ids:
            return name_or_id
        matches = [i for i in ids if i.startswith(name_or_id)]
        if len(matches) != 1:
            raise KeyError(f"no dataset '{name_or_id}' in {self.root}" if not matches
                           else f"'{name_or_id}' names {len(matches)} datasets: {', '.join(matches)}")
        return matches[0]

    def touch(self, dataset_id: str) -> None:
        files.write_text_atomic(files.join(self.path(dataset_id), LAST_USED), f"{time.time():.3f}\n")

    # ------------------------------------------------------------------ build / use
    def build(self, key: DatasetKey, examples: Callable[[], Iterator[dict]], total: int, *,
              shard_examples: int = SHARD_EXAMPLES, storage: dict[str, str] | None = None, on_wait: Callable[[], None] | None = None,
              progress: Callable[[int, int], None] | None = None) -> BuildResult:
        """Make `key`'s dataset ready (built once whoever asks at the same time); `examples()` yields
        its `total` examples in order. An interrupted earlier build's complete shards are kept."""
        started = time.perf_counter()
        dataset_id = key.id
        with self._lock(dataset_id, fcntl.LOCK_EX, blocking=False) as got:
            if got:
                return self._build_locked(key, examples, total, shard_examples, storage, progress, started)
        if on_wait:
            on_wait()
        with self._lock(dataset_id, fcntl.LOCK_EX):
            return self._build_locked(key, examples, total, shard_examples, storage, progress, started)

    def _build_locked(self, key, examples, total, shard_examples, storage, progress, started) -> BuildResult:
        dataset_id, folder = key.id, self.path(key.id)
        if self.is_ready(dataset_id):
            self.touch(dataset_id)
            return BuildResult(dataset_id, folder, False, seconds=time.perf_counter() - started)
        files.makedirs(folder)
        for name in files.listdir(folder):  # a killed writer's partial shard or index (we hold the lock)
            if ".tmp-" in name:
                files.remove(files.join(folder, name))
        shard_count = max(1, -(-total // shard_examples))
        kept = sum(files.exists(files.join(folder, shard_name(i))) for i in range(shard_count))
        state = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(), "written": 0, "total": total,
                 "resumed_shards": kept}
        files.write_text_atomic(files.join(folder, PROGRESS), json.dumps(state))
        spec: dict[str, Any] | None = None
        shards, stream, done = [], iter(examples()), 0
        for shard in range(shard_count):
            count = min(shard_examples, total - shard * shard_examples)
            target = files.join(folder, shard_name(shard))
            spec = self._write_shard(target, stream, count, spec, storage, keep=files.exists(target))
            shards.append({"file": shard_name(shard), "count": count, "bytes": files.size(target), "sha256": file_sha256(target)})
            done += count
            state.update(written=done, updated=time.time())
            files.write_text_atomic(files.join(folder, PROGRESS), json.dumps(state))
            fault_point("dataset-shard-written")
            if progress:
                progress(done, total)
        index = {"schema": INDEX_SCHEMA, "id": dataset_id, "name": key.name, "digest": key.digest, "content": key.content,
                 "count": total, "spec": spec, "shards": shards, "compression": "GZIP",
                 "bytes": sum(s["bytes"] for s in shards),
                 "created": {"at": time.time(), "host": state["host"], "pid": state["pid"], "resumed_shards": kept,
                             "seconds": round(time.perf_counter() - started, 2)}}
        files.write_text_atomic(files.join(folder, INDEX), json.dumps(index, indent=1, sort_keys=True))
        files.remove(files.join(folder, PROGRESS))
        self.touch(dataset_id)
        return BuildResult(dataset_id, folder, True, kept, time.perf_counter() - started)

    @staticmethod
    def _write_shard(target: str, stream: Iterator[dict], count: int, spec: dict[str, Any] | None,
                     storage: dict[str, str] | None, *, keep: bool) -> dict[str, Any]:
        """Take `count` examples from `stream` into `target` one at a time (written beside, then
        renamed), widening `spec`; with `keep` the shard is complete already and is only read past."""
        from mobilekit.core.tf import tf_and_keras

        tf, _ = tf_and_keras()
        tmp = f"{target}.tmp-{os.getpid()}"
        with contextlib.ExitStack() as stack:
            writer = None if keep else stack.enter_context(
                tf.io.TFRecordWriter(tmp, options=tf.io.TFRecordOptions(compression_type="GZIP")))
            for _ in range(count):
                example = next(stream)
                spec = spec_of(example, storage) if spec is None else spec
                merge_spec(spec, example)
                if writer is not None:
                    writer.write(encode(example, spec))
        if not keep:
            files.rename(tmp, target)
        return spec

    @contextlib.contextmanager
    def using(self, dataset_id: str) -> Iterator[dict[str, Any]]:
        """Hold a ready dataset in use (gc skips it) and yield its index; KeyError if not ready."""
        with self._lock(dataset_id, fcntl.LOCK_SH):
            if not self.is_ready(dataset_id):
                raise KeyError(f"dataset {dataset_id} is not ready in {self.root}")
            self.touch(dataset_id)
            yield self.index(dataset_id)

    # ------------------------------------------------------------------ gc
    def gc(self, *, older_than_s: float | None = None, max_bytes: int | None = None, dry_run: bool = False,
           now: float | None = None) -> list[tuple[EntryStatus, str]]:
        """Remove datasets unused for `older_than_s`, then the least recently used until the cache
        holds at most `max_bytes`; a dataset in use or being built is never removed. Returns
        (entry, "removed" | "would remove" | "in use, kept")."""
        now = time.time() if now is None else now
        every = self.entries()
        entries = sorted((e for e in every if e.state != "building"), key=lambda e: e.last_used or 0.0)
        total = sum(e.bytes for e in every)
        chosen = []
        for entry in entries:
            stale = older_than_s is not None and now - (entry.last_used or 0.0) > older_than_s
            over = max_bytes is not None and total > max_bytes
            if stale or over:
                chosen.append(entry)
                total -= entry.bytes
        results = []
        for entry in chosen:
            with self._lock(entry.id, fcntl.LOCK_EX, blocking=False) as got:
                if not got:
                    results.append((entry, "in use, kept"))
                    continue
                if dry_run:
                    results.append((entry, "would remove"))
                    continue
                files.remove(files.join(entry.path, INDEX))  # not ready from here on
                files.remove(entry.path)
            results.append((entry, "removed"))
        return results


def file_sha256(path: str) -> str:
    """sha256 of a local file or a gfile URL."""
    if not files.is_url(path):
        return sha256_file(Path(path))
    digest = hashlib.sha256()
    with files._gfile().GFile(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
