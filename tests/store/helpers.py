"""Small real study files and the means to break them (immutable files, read-only or full disks)."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tailor.store import COMPLETE, FAIL, SQLStore, open_store

# The schema tailor wrote before row checksums (the tables of the store at commit 26e53ed).
LEGACY_DDL = """
CREATE TABLE studies (
    id INTEGER NOT NULL, name VARCHAR(200) NOT NULL, settings TEXT NOT NULL, created FLOAT NOT NULL,
    PRIMARY KEY (id), UNIQUE (name)
);
CREATE TABLE trials (
    id INTEGER NOT NULL, study_id INTEGER NOT NULL, number INTEGER NOT NULL, batch INTEGER NOT NULL,
    config_key VARCHAR(64) NOT NULL, config TEXT NOT NULL, state VARCHAR(16) NOT NULL, metrics TEXT,
    error TEXT, duration_s FLOAT, tactic VARCHAR(64) NOT NULL, seed INTEGER NOT NULL, finished FLOAT,
    PRIMARY KEY (id),
    CONSTRAINT uq_study_config UNIQUE (study_id, config_key),
    CONSTRAINT uq_study_number UNIQUE (study_id, number),
    FOREIGN KEY(study_id) REFERENCES studies (id)
);
"""


def build_study(path: Path | str, batches: int = 4, size: int = 10, waiting: int = 4) -> SQLStore:
    """A study 'fuzz' of ``batches * size`` trials: finished ones (every 7th failed), the last ``waiting`` not."""
    store = open_store(str(path))
    st = store.open_study("fuzz", {"seed": 3, "objectives": ["acc:max", "lat:min"]})
    n = batches * size
    for b in range(batches):
        planned = store.plan(st.id, b, [(f"key-{b}-{i:02d}", {"depth": i, "width": [b, i]}) for i in range(size)],
                             "random", 3)
        for t in planned:
            if t.number >= n - waiting:
                continue
            if t.number % 7 == 3:
                store.finish(t.id, FAIL, {}, f"boom {t.number}", 0.01 * t.number)
            else:
                store.finish(t.id, COMPLETE, {"acc": 0.5 + t.number / 100, "lat": 1.0 + t.number}, None,
                             0.01 * t.number)
    return store


def snapshot(store: SQLStore, name: str = "fuzz") -> tuple:
    """Everything a study holds, as plain data."""
    record = store.load_study(name)
    return record.settings, [(t.id, t.number, t.batch, t.key, t.config, t.state, t.metrics, t.error, t.duration_s,
                              t.tactic, t.seed) for t in store.trials(record.id)]


def build_legacy(path: Path, rows: list[tuple], wal: bool = True) -> None:
    """An old-schema store with study 'old' and the given trial rows
    (number, key, state, metrics, finished); in WAL mode, as tailor wrote them."""
    con = sqlite3.connect(path)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
    con.executescript(LEGACY_DDL)
    con.execute("INSERT INTO studies VALUES (1, 'old', '{\"seed\": 1}', 1.0)")
    for i, (number, key, state, metrics, finished) in enumerate(rows, 1):
        con.execute("INSERT INTO trials VALUES (?, 1, ?, 0, ?, '{\"x\": 1}', ?, ?, NULL, 0.5, 't', 1, ?)",
                    (i, number, key, state, metrics, finished))
    con.commit()
    con.close()  # the last connection folds the WAL into the file


@contextlib.contextmanager
def immutable(path: Path):
    """``chattr +i``: not even root can write the file, or create files in the folder."""
    if shutil.which("chattr") is None:
        pytest.skip("needs chattr to make a file immutable (root cannot be stopped by chmod)")
    res = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"chattr +i failed here ({res.stderr.strip()}): needs root and a file system with the flag")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@contextlib.contextmanager
def tmpfs(folder: Path, size: str):
    """A fresh tmpfs of ``size`` mounted on ``folder`` (real ENOSPC / EROFS); skips where mount is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip()}): needs root with CAP_SYS_ADMIN")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
