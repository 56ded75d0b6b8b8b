"""`mobilekit dataset build|list|show|gc`: the content-addressed dataset cache."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer

from mobilekit.cli.common import JsonOpt, QuietOpt, run_command
from mobilekit.core.errors import EXIT_GATE_FAILED, EXIT_OK

app = typer.Typer(help="Build, list, inspect and garbage-collect cached datasets.", no_args_is_help=True)

CacheOpt = typer.Option(None, "--cache", help="Cache root: a path or any tf.io.gfile URL (default: the config's "
                        "data.cache_dir for build, else $MOBILEKIT_DATASET_CACHE, else ~/.cache/mobilekit/datasets).")


def _store(cache: Optional[str]):
    from mobilekit.data.cache.store import DatasetStore

    return DatasetStore(cache)


def _size(n: int | None) -> str:
    n = n or 0
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _ago(t: float | None) -> str:
    if t is None:
        return "never"
    age = max(0.0, time.time() - t)
    return f"{age:.0f} s ago" if age < 120 else f"{age / 60:.0f} min ago" if age < 7200 else f"{age / 3600:.1f} h ago"


@app.command("build")
def build_command(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Build config YAML (default: the embedded one)."),
    split: list[str] = typer.Option(["train", "val", "parity"], "--split", help="Split(s) to build (train, val, parity)."),
    shard_examples: int = typer.Option(512, "--shard-examples", help="Examples per TFRecord shard."),
    cache: Optional[str] = CacheOpt,
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Write the config's splits as sharded, compressed TFRecords with an index (atomically). A dataset
    another process is building is waited for and reused, never built twice."""
    from mobilekit.core.config import load_config

    def action(reporter) -> dict[str, Any]:
        from mobilekit.pipeline.datasets import build_datasets

        cfg, _ = load_config(config)
        store = _store(cache or cfg.data.cache_dir)
        results = build_datasets(cfg, split, store, shard_examples=shard_examples, progress=lambda s, d, t: reporter.progress(f"dataset {s}", d, t),
                                 on_wait=lambda s: reporter.stage(f"{s}: another process is building this dataset; waiting"))
        return {"root": store.root, "datasets": [{"id": r.id, "path": r.path, "built": r.built,
                                                  "resumed_shards": r.resumed_shards, "seconds": round(r.seconds, 2)} for r in results]}

    run_command(action, json_mode, quiet, lambda s: "\n".join(
        f"{d['id']}: {'built' if d['built'] else 'ready (reused)'}"
        + (f", {d['resumed_shards']} shard(s) kept from an interrupted build" if d["resumed_shards"] else "")
        + f" ({d['seconds']} s)" for d in s["datasets"]))


@app.command("list")
def list_command(cache: Optional[str] = CacheOpt, json_mode: bool = JsonOpt, quiet: bool = QuietOpt) -> None:
    """Datasets in the cache: ready ones with size, count and last use; builds in progress with their
    progress; interrupted builds (never reported as ready; the next build completes them)."""

    def action(reporter) -> dict[str, Any]:
        from mobilekit.pipeline.datasets import list_datasets

        store = _store(cache)
        return {"root": store.root, "datasets": list_datasets(store)}

    def human(s: dict[str, Any]) -> str:
        if not s["datasets"]:
            return f"no datasets in {s['root']}"
        lines = [f"{s['root']}:"]
        for d in s["datasets"]:
            if d["state"] == "ready":
                lines.append(f"  ready       {d['id']}  {d['count']} examples, {_size(d['bytes'])}, last used {_ago(d['last_used'])}")
            else:
                p = d["progress"] or {}
                lines.append(f"  {d['state']:<11} {d['id']}  {p.get('written', 0)}/{p.get('total', '?')} examples written"
                             + (f" (pid {p['pid']} on {p['host']})" if d["state"] == "building" and p else ""))
        return "\n".join(lines)

    run_command(action, json_mode, quiet, human)


@app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Dataset id, unique id prefix or readable name."),
    verify: bool = typer.Option(False, "--verify", help="Re-hash every shard against the index."),
    cache: Optional[str] = CacheOpt,
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """One dataset: its content (what names it), spec, shards, creation and last use. With --verify,
    exit 1 when a shard no longer matches its hash."""

    def action(reporter) -> dict[str, Any]:
        from mobilekit.pipeline.datasets import show_dataset

        return show_dataset(_store(cache), name, verify=verify)

    def human(s: dict[str, Any]) -> str:
        lines = [f"{s['id']} ({s['state']}) at {s['path']}"]
        if s["state"] == "ready":
            lines.append(f"  {s['count']} examples in {s['shards']} shards, {_size(s['bytes'])}; last used {_ago(s['last_used'])}")
            lines += [f"  {k}: {v['dtype']} {v['shape']}" for k, v in s["spec"].items()]
            lines.append(f"  content: {s['content']}")
            if "verified" in s:
                lines.append("  shards verified" if not s["verified"] else f"  ✗ shards changed: {', '.join(s['verified'])}")
        return "\n".join(lines)

    run_command(action, json_mode, quiet, human, lambda s: EXIT_GATE_FAILED if s.get("verified") else EXIT_OK)


@app.command("gc")
def gc_command(
    older_than: Optional[str] = typer.Option(None, "--older-than", help="Remove datasets unused for this long (e.g. 30d, 12h)."),
    max_size: Optional[str] = typer.Option(None, "--max-size", help="Then remove the least recently used until the cache is at most this big (e.g. 20G)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be removed; remove nothing."),
    cache: Optional[str] = CacheOpt,
    json_mode: bool = JsonOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Remove cached datasets by age and/or total size; a dataset in use or being built is never removed."""

    def action(reporter) -> dict[str, Any]:
        from mobilekit.pipeline.datasets import gc_datasets

        return gc_datasets(_store(cache), older_than=older_than, max_size=max_size, dry_run=dry_run)

    run_command(action, json_mode, quiet, lambda s: "\n".join(
        [f"{d['action']}: {d['id']} ({_size(d['bytes'])})" for d in s["datasets"]] + [f"freed {_size(s['freed_bytes'])}"]))
