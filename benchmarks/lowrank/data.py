"""The benchmark's corpus, built offline: the Python standard library's own ``.py`` sources, as bytes.

Every Python install ships them, so nothing is downloaded. Files are read in sorted order from
``sysconfig``'s stdlib folder (test suites, site-packages and vendored trees skipped); each file
goes to validation when the SHA-1 of its relative path (salted with a fixed string) says so, about
one in ten, so the split is fixed by file names, not by the training seed, and no file is in
both. Tokens are bytes (vocabulary 256). The corpus depends on the Python version: its size and
SHA-256 are recorded with every result.
"""

from __future__ import annotations

import hashlib
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

SPLIT_SALT = "tailor-lowrank-split-v1"
VAL_SHARE = 10  # one file in VAL_SHARE goes to validation
_SKIP = frozenset({"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__", "lib2to3",
                   "turtledemo", "idlelib", "pydoc_data", "_bundled", "ensurepip"})


@dataclass(frozen=True)
class Corpus:
    train: np.ndarray  # uint8
    val: np.ndarray  # uint8
    info: dict


def build_corpus() -> Corpus:
    """Train and validation byte streams, files joined by a blank line, and what they were built from."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP and not d.startswith("config-"))
        files.extend(Path(dirpath) / f for f in filenames if f.endswith(".py"))
    files.sort(key=lambda p: p.relative_to(root).as_posix())
    parts: dict[str, list[bytes]] = {"train": [], "val": []}
    for path in files:
        rel = path.relative_to(root).as_posix()
        split = "val" if hashlib.sha1(f"{SPLIT_SALT}:{rel}".encode()).digest()[0] % VAL_SHARE == 0 else "train"
        parts[split].append(path.read_bytes())
    train, val = (b"\n\n".join(parts[s]) for s in ("train", "val"))
    info = {"source": str(root), "files": {s: len(parts[s]) for s in parts},
            "bytes": {"train": len(train), "val": len(val)},
            "sha256": hashlib.sha256(train + b"\0" + val).hexdigest()}
    return Corpus(np.frombuffer(train, dtype=np.uint8), np.frombuffer(val, dtype=np.uint8), info)


def random_windows(data: np.ndarray, batch: int, seq_len: int, rng: np.random.Generator) -> torch.Tensor:
    """``batch`` windows of ``seq_len + 1`` bytes at random offsets, (batch, seq_len + 1) int64."""
    starts = rng.integers(0, len(data) - seq_len - 1, size=batch)
    return torch.from_numpy(np.stack([data[s : s + seq_len + 1] for s in starts]).astype(np.int64))


def validation_windows(data: np.ndarray, count: int, seq_len: int) -> torch.Tensor:
    """The fixed validation set: ``count`` windows at evenly spaced offsets (same for every run)."""
    starts = np.linspace(0, len(data) - seq_len - 2, count).astype(np.int64)
    return torch.from_numpy(np.stack([data[s : s + seq_len + 1] for s in starts]).astype(np.int64))
