"""Corruption fuzz: random bytes of a real study file overwritten (or the file cut short).

Each time, either opening or reading the study raises a one-line ``TailorError``, or the study reads
back exactly as it was: the same trials, states, metrics, configurations. Never a silently different
count or value, never a raw sqlite/SQLAlchemy exception. Where it reads back intact, finishing a
trial and planning more must work and read back, or be refused in one line too.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailor.errors import TailorError
from tailor.store import COMPLETE, WAITING, open_store

from .helpers import build_study, snapshot

SEEDED_CASES = 600  # uniform offsets, read only
HYPOTHESIS_CASES = 150  # structured damage, read then write


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, bytes, tuple]:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "pristine.db"
    store = build_study(path)
    expected = snapshot(store)
    store.close()
    assert not Path(f"{path}-wal").exists()  # everything is in the one file we damage
    return folder, path.read_bytes(), expected


def _try(fn):
    """fn()'s value, or the refusal (asserted to be one line)."""
    try:
        return fn(), None
    except TailorError as e:
        text = str(e)
        assert text and len(text.splitlines()) == 1, text
        return None, text


def _read(path: Path) -> tuple:
    store = open_store(str(path))
    try:
        return snapshot(store)
    finally:
        store.close()


def _write_then_read(path: Path, expected: tuple) -> None:
    """Finish the first waiting trial and plan two more; the study then reads back with exactly that."""
    def write():
        store = open_store(str(path))
        try:
            st_id = store.load_study("fuzz").id
            first = next(t for t in store.trials(st_id) if t.state == WAITING)
            store.finish(first.id, COMPLETE, {"acc": 0.9, "lat": 2.0}, None, 0.5)
            store.plan(st_id, 9, [("new-a", {"depth": 99}), ("new-b", {"depth": 98})], "random", 3)
            return first.number
        finally:
            store.close()

    number, refused = _try(write)
    if refused is not None:
        return
    after, refused = _try(lambda: _read(path))
    if refused is not None:
        return
    settings_, rows = expected
    assert after[0] == settings_ and len(after[1]) == len(rows) + 2
    for old, new in zip(rows, after[1], strict=False):
        if old[1] == number:
            assert new[5] == COMPLETE and new[6] == {"acc": 0.9, "lat": 2.0}
        else:
            assert new == old
    assert [r[3] for r in after[1][-2:]] == ["new-a", "new-b"]


def _damage(data: bytes, edits: list[tuple[int, bytes]], cut: int | None) -> bytes:
    b = bytearray(data)
    for offset, new in edits:
        offset %= len(b)
        b[offset:offset + len(new)] = new
        del b[len(data):]
    return bytes(b[:cut] if cut is not None else b)


def _clean(path: Path) -> None:
    for f in path.parent.glob(path.name + "*"):
        f.unlink()


def test_random_bytes_seeded(pristine):
    folder, data, expected = pristine
    rng = random.Random(20240607)
    outcomes = {"intact": 0, "refused": 0}
    for case in range(SEEDED_CASES):
        edits = [(rng.randrange(len(data)), bytes([rng.randrange(256)])) for _ in range(rng.choice([1, 1, 2, 4, 16]))]
        path = folder / f"seeded-{case}.db"
        path.write_bytes(_damage(data, edits, None))
        got, refused = _try(lambda p=path: _read(p))
        if refused is None:
            assert got == expected, f"case {case}: {edits} read back different data"
            outcomes["intact"] += 1
        else:
            outcomes["refused"] += 1
        _clean(path)
    # both outcomes are common: the damage does reach the data, and most of a file is slack
    assert min(outcomes.values()) > SEEDED_CASES // 5, outcomes


edit = st.tuples(st.integers(min_value=0, max_value=2**31), st.binary(min_size=1, max_size=48))


@settings(max_examples=HYPOTHESIS_CASES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=st.lists(edit, min_size=1, max_size=6), cut=st.none() | st.integers(min_value=0, max_value=2**16))
def test_structured_damage_read_and_write(pristine, edits, cut):
    folder, data, expected = pristine
    path = folder / "hypothesis.db"
    _clean(path)
    path.write_bytes(_damage(data, edits, cut))
    got, refused = _try(lambda: _read(path))
    if refused is None:
        assert got == expected, f"{edits}, cut {cut}: read back different data"
        _write_then_read(path, expected)
    _clean(path)
