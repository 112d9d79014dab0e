"""The store checks its own data: damaged rows, numbering, schema and indexes are refused in one line,
old stores are checked and upgraded, and names are validated where they enter."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tailor.errors import ConfigError
from tailor.store import COMPLETE, FAIL, WAITING, open_store
from tailor.store._checks import sequence_problems

from .helpers import build_legacy, build_study, immutable, snapshot

ADVICE = "; restore a copy or start another study file"


def _sql(path: Path, *statements: str) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA ignore_check_constraints=ON")
    for s in statements:
        con.execute(s)
    con.commit()
    con.close()


def _refused(path: Path) -> str:
    """Open and read the study; the one-line refusal."""
    with pytest.raises(ConfigError) as e:
        store = open_store(str(path))
        store.trials(store.load_study("fuzz").id)
    text = str(e.value)
    assert len(text.splitlines()) == 1 and text.startswith(f"study: {path}: damaged ("), text
    assert text.endswith(ADVICE), text
    return text[len(f"study: {path}: damaged ("): -len(ADVICE) - 1]


@pytest.fixture
def study_file(tmp_path) -> Path:
    path = tmp_path / "s.db"
    build_study(path).close()
    return path


@pytest.mark.parametrize(
    ("statement", "what"),
    [
        ("UPDATE trials SET metrics = '{\"acc\": 0.99, \"lat\": 6.0}' WHERE number = 5",
         "trial 5: checksum does not match the row"),
        ("UPDATE trials SET state = 'DONE' WHERE number = 5", "quick_check: CHECK constraint failed in trials"),
        ("UPDATE trials SET metrics = '{\"acc\": 0.9' WHERE number = 2",
         "trial 2: COMPLETE without metrics as a JSON object"),
        ("UPDATE trials SET metrics = '{\"acc\": \"high\"}' WHERE number = 2",
         "trial 2: metrics hold a value that is not a finite number"),
        ("UPDATE trials SET config = 'depth=3' WHERE number = 7", "trial 7: configuration is not a JSON object"),
        ("UPDATE trials SET state = 'WAITING' WHERE number = 8",
         "trial 8: WAITING but has metrics or a finishing time"),
        ("DELETE FROM trials WHERE number = 39", "the study counts 40 trials, the table holds 39"),
        ("DELETE FROM trials WHERE number = 17", "trial number 17 is missing and 1 more problem(s)"),
        ("UPDATE studies SET settings = '{\"seed\": 4}'", "study 'fuzz': checksum does not match the row"),
        ("UPDATE studies SET n_trials = 41", "study 'fuzz': checksum does not match the row"),
    ],
)
def test_damaged_rows_are_refused(study_file, statement, what):
    _sql(study_file, statement)
    assert _refused(study_file) == what


def test_numbering_and_keys():
    assert sequence_problems([0, 1, 2], ["a", "b", "c"], 3) == []
    assert sequence_problems([0, 1, 1, 2], ["a", "b", "c", "d"], None) == ["trial number 1 appears twice"]
    assert sequence_problems([1, 2], ["a", "b"], None) == ["trial number 0 is missing"]
    assert sequence_problems([0, 1], ["a", "a"], 3) == ["configuration a appears twice",
                                                        "the study counts 3 trials, the table holds 2"]


def test_schema_changes_are_refused(study_file):
    con = sqlite3.connect(study_file)
    con.execute("PRAGMA writable_schema=ON")
    con.execute("UPDATE sqlite_master SET sql = replace(sql, '''FAIL'')', '''FAIL'', ''LOST'')') WHERE name = 'trials'")
    con.commit()
    con.close()
    with pytest.raises(ConfigError) as e:
        open_store(str(study_file))
    assert str(e.value) == f"study: {study_file}: damaged (the check on trial states was altered){ADVICE}"


def _patch_index(path: Path, old: bytes, new: bytes) -> None:
    """Rewrite bytes inside the (study_id, config_key) index only, as a bad sector there would."""
    con = sqlite3.connect(path)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    name = next(n for _, n, *_ in con.execute("PRAGMA index_list(trials)")
                if [c[2] for c in con.execute(f"PRAGMA index_info({n})")] == ["study_id", "config_key"])
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
    con.close()
    data = bytearray(path.read_bytes())
    page = slice((root - 1) * page_size, root * page_size)
    assert data[page].count(old) == 1
    data[page] = bytes(data[page]).replace(old, new)
    path.write_bytes(bytes(data))


def test_damaged_index_cannot_hide_rows_and_check_full_finds_it(study_file):
    before = snapshot(open_store(str(study_file)))
    _patch_index(study_file, b"key-3-09", b"key-3-0Z")  # still in order: only a full check sees it
    store = open_store(str(study_file))
    assert snapshot(store) == before  # reads scan the table, not the index
    assert store.check() == []
    problems = store.check(full=True)
    assert problems and all(p.startswith("integrity_check: ") for p in problems), problems
    st = store.load_study("fuzz")
    # the index claims a key the study does not hold: damage, not the caller's duplicate (ValueError)
    with pytest.raises(ConfigError, match=r"damaged \(a unique index refused trial key-3-0Z, which the study"):
        store.plan(st.id, 9, [("key-3-0Z", {})], "t", 0)
    with pytest.raises(ValueError, match="already in the study"):
        store.plan(st.id, 9, [("key-0-01", {})], "t", 0)
    assert snapshot(store) == before


def test_check_lists_every_damaged_row(study_file):
    store = open_store(str(study_file))
    assert store.check() == [] and store.check(full=True) == []
    _sql(study_file, "UPDATE trials SET metrics = '{\"acc\": 1.0, \"lat\": 1.0}' WHERE number IN (4, 9)",
         "DELETE FROM trials WHERE number = 39")
    assert store.check(full=True) == [
        "study 'fuzz': trial 4: checksum does not match the row",
        "study 'fuzz': trial 9: checksum does not match the row",
        "study 'fuzz': the study counts 40 trials, the table holds 39",
    ]
    assert store.check() == ["study 'fuzz': the study counts 40 trials, the table holds 39"]


# ---------------------------------------------------------------------- stores written before checksums
GOOD_OLD = [(0, "k0", COMPLETE, '{"acc": 0.5}', 2.0), (1, "k1", FAIL, "{}", 3.0), (2, "k2", WAITING, None, None)]


def test_old_store_is_checked_and_upgraded(tmp_path):
    path = tmp_path / "old.db"
    build_legacy(path, GOOD_OLD)
    store = open_store(str(path))
    st = store.load_study("old")
    assert [(t.number, t.state, t.metrics) for t in store.trials(st.id)] == [
        (0, COMPLETE, {"acc": 0.5}), (1, FAIL, {}), (2, WAITING, {})]
    assert store.check(full=True) == []
    (waiting,) = store.trials(st.id, [WAITING])
    store.finish(waiting.id, COMPLETE, {"acc": 0.7}, None, 0.1)
    store.plan(st.id, 1, [("k3", {"x": 3})], "t", 1)
    store.close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM trials WHERE checksum IS NULL").fetchone() == (0,)
    con.close()


@pytest.mark.parametrize(
    ("rows", "what"),
    [
        ([*GOOD_OLD[:2], (2, "k2", "DONE", None, None)], "trial 2: state 'DONE' is not one of WAITING, COMPLETE, FAIL"),
        ([GOOD_OLD[0], (1, "k1", FAIL, "not json", 3.0)], "trial 1: FAIL without metrics as a JSON object"),
        ([GOOD_OLD[0], (2, "k2", WAITING, None, None)], "trial number 1 is missing"),
    ],
)
def test_damaged_old_store_is_refused_and_left_as_it_was(tmp_path, rows, what):
    path = tmp_path / "old.db"
    build_legacy(path, rows)
    before = path.read_bytes()
    with pytest.raises(ConfigError) as e:
        open_store(str(path))
    assert str(e.value) == f"study: {path}: damaged ({what}){ADVICE}"
    assert path.read_bytes() == before  # the upgrade was rolled back


def test_read_only_old_store_is_read_with_the_checks_on_values(tmp_path):
    path = tmp_path / "old.db"
    build_legacy(path, GOOD_OLD)
    with immutable(path):
        store = open_store(str(path))
        assert not store.summed
        st = store.load_study("old")
        assert [t.state for t in store.trials(st.id)] == [COMPLETE, FAIL, WAITING]
        assert store.check(full=True) == []
        store.close()
    bad = tmp_path / "bad.db"  # and in rollback-journal mode, which a read-only file cannot leave
    build_legacy(bad, [*GOOD_OLD[:2], (2, "k2", "DONE", None, None)], wal=False)
    with immutable(bad):
        store = open_store(str(bad))
        with pytest.raises(ConfigError, match=r"damaged \(trial 2: state 'DONE' is not one of"):
            store.trials(store.load_study("old").id)
        store.close()


# ---------------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "name: must not be empty"),
        ("   ", "name: must not be empty"),
        ("x" * 201, "name: is 201 characters long, at most 200 fit in the store"),
        ("two\nlines", "name: must not contain control characters or line breaks: 'two\\nlines'"),
        ("a\u2028b", "name: must not contain control characters or line breaks: 'a\\u2028b'"),
        (7, "name: must be text, got int"),
    ],
)
def test_study_names_are_checked(tmp_path, name, message):
    store = open_store(str(tmp_path / "s.db"))
    with pytest.raises(ConfigError) as e:
        store.open_study(name, {})
    assert str(e.value) == message
    assert store.study_names() == []


def test_longest_name_fits(tmp_path):
    store = open_store(str(tmp_path / "s.db"))
    name = "é" * 200
    assert store.open_study(name, {}).name == name
    assert open_store(str(tmp_path / "s.db")).load_study().name == name
