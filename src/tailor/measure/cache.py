"""A persistent latency cache: SQLite file keyed by (network, backend, shapes, threads, machine).

Latency does not depend on weight values, so the network part of the key is the architecture
(super-network family and shapes, plus the config key), never a checkpoint hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from tailor.measure.latency import LatencyResult

ENV_CACHE_DIR = "TAILOR_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$TAILOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/tailor``, else ``~/.cache/tailor``."""
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tailor"


def architecture_fingerprint(model: nn.Module) -> str:
    """Hash of a module's class and every parameter/buffer name and shape (not the values)."""
    shapes = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    blob = json.dumps([type(model).__module__, type(model).__qualname__, shapes])
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def latency_key(
    config_key: str,
    architecture: str,
    backend: str,
    input_shapes: Sequence[Sequence[int]],
    threads: int,
    machine: str,
) -> str:
    """The cache key: a hash of everything a latency measurement depends on."""
    blob = json.dumps([config_key, architecture, backend, [list(s) for s in input_shapes],
                       threads, machine])
    return hashlib.sha1(blob.encode()).hexdigest()


def input_shapes(inputs: tuple[torch.Tensor, ...]) -> list[list[int]]:
    return [list(t.shape) for t in inputs]


class LatencyCache:
    """Stores ``LatencyResult`` summaries by key in ``<dir>/latency.sqlite``.

    Each call opens its own connection (safe across processes; SQLite serialises writers).
    """

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "latency.sqlite"
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS latency "
                       "(key TEXT PRIMARY KEY, result TEXT NOT NULL, created REAL NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get(self, key: str) -> LatencyResult | None:
        with self._connect() as db:
            row = db.execute("SELECT result FROM latency WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        d = json.loads(row[0])
        return LatencyResult(**d)

    def put(self, key: str, result: LatencyResult) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO latency (key, result, created) VALUES (?, ?, ?)",
                       (key, json.dumps(result.to_dict()), time.time()))

    def __len__(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM latency").fetchone()[0])
