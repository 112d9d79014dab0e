"""Faults of the file system and the database become one line naming the study file and the cause,
and a fault while writing leaves the study consistent and resumable."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from tailor.errors import ConfigError
from tailor.store import COMPLETE, WAITING, SQLStore, _sql, open_store

from .helpers import build_study, immutable, remount_read_only, snapshot, tmpfs


def one_line(excinfo: pytest.ExceptionInfo) -> str:
    text = str(excinfo.value)
    assert len(text.splitlines()) == 1, text
    assert text.startswith("study: "), text
    return text


def test_parent_is_a_file(tmp_path):
    (tmp_path / "plain").write_text("x")
    for target in (tmp_path / "plain" / "s.db", tmp_path / "plain" / "deeper" / "s.db"):
        with pytest.raises(ConfigError) as e:
            open_store(str(target))
        assert one_line(e) == f"study: {target}: {tmp_path / 'plain'} is not a directory"


def test_path_is_a_directory(tmp_path):
    with pytest.raises(ConfigError) as e:
        open_store(str(tmp_path))
    assert one_line(e) == f"study: {tmp_path}: is a directory, expected a study file"
    with pytest.raises(ConfigError) as e:  # given as a URL, SQLite finds out; the OS says why
        SQLStore(f"sqlite:///{tmp_path}")
    assert one_line(e) == (f"study: {tmp_path}: cannot open (unable to open database file; "
                           "it is a directory, expected a study file)")


def test_name_too_long(tmp_path):
    target = tmp_path / ("n" * 300 + ".db")
    with pytest.raises(ConfigError) as e:
        open_store(str(target))
    assert one_line(e) == f"study: {target}: File name too long"
    with pytest.raises(ConfigError) as e:
        SQLStore(f"sqlite:///{target}")
    assert one_line(e) == f"study: {target}: cannot open (unable to open database file; File name too long)"


def test_not_a_database_is_refused_untouched(tmp_path):
    target = tmp_path / "notes.db"
    target.write_text("these are my notes, not a study\n" * 40)
    before = target.read_bytes()
    with pytest.raises(ConfigError) as e:
        open_store(str(target))
    assert one_line(e) == f"study: {target}: not a study file (file is not a database)"
    assert target.read_bytes() == before


def test_another_database_is_refused(tmp_path):
    target = tmp_path / "other.db"
    con = sqlite3.connect(target)
    con.execute("CREATE TABLE latency (key TEXT, ms REAL)")
    con.commit()
    con.close()
    with pytest.raises(ConfigError) as e:
        open_store(str(target))
    assert one_line(e) == f"study: {target}: holds no tailor study (tables: latency)"


def test_malformed_database(tmp_path):
    target = tmp_path / "s.db"
    build_study(target).close()
    data = bytearray(target.read_bytes())
    data[4096 + 8: 4096 + 40] = b"\xff" * 32  # the header of page 2
    target.write_bytes(bytes(data))
    with pytest.raises(ConfigError) as e:
        open_store(str(target))
    assert one_line(e).startswith(f"study: {target}: damaged (")
    assert one_line(e).endswith("); restore a copy or start another study file")


def _finish_first_waiting(store: SQLStore) -> None:
    st = store.load_study()
    waiting = [t for t in store.trials(st.id) if t.state == WAITING]
    store.finish(waiting[0].id, COMPLETE, {"acc": 1.0, "lat": 1.0}, None, 0.1)


def test_immutable_file_reads_and_refuses_writes(tmp_path):
    target = tmp_path / "s.db"
    build_study(target).close()
    with immutable(target):
        store = open_store(str(target))
        before = snapshot(store)
        with pytest.raises(ConfigError) as e:
            _finish_first_waiting(store)
        assert one_line(e) == (f"study: {target}: read-only (attempt to write a readonly database; "
                               "the file: Operation not permitted) while storing a finished trial")
        with pytest.raises(ConfigError, match="read-only .* while planning trials"):
            store.plan(store.load_study().id, 9, [("new", {})], "t", 0)
        store.close()
    store = open_store(str(target))
    assert snapshot(store) == before  # nothing half-written; and writable again, it resumes
    _finish_first_waiting(store)


def test_read_only_folder(tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    target = folder / "s.db"
    build_study(target).close()
    with immutable(folder):
        store = open_store(str(target))  # SQLite cannot create its WAL index here: read as immutable
        assert len(snapshot(store)[1]) == 40
        with pytest.raises(ConfigError) as e:
            _finish_first_waiting(store)
        assert one_line(e) == (f"study: {target}: read-only (attempt to write a readonly database; "
                               "its folder: Operation not permitted) while storing a finished trial")
        store.close()
        with pytest.raises(ConfigError) as e:
            open_store(str(folder / "new.db"))
        assert one_line(e) == (f"study: {folder / 'new.db'}: cannot open (unable to open database file; "
                               "its folder: Operation not permitted)")
        with pytest.raises(ConfigError) as e:
            open_store(str(folder / "sub" / "new.db"))
        assert one_line(e) == f"study: {folder / 'sub' / 'new.db'}: read-only (Operation not permitted)"


def test_read_only_file_system(tmp_path):
    with tmpfs(tmp_path / "mnt", "1m") as mnt:
        target = mnt / "s.db"
        build_study(target).close()
        remount_read_only(mnt)
        store = open_store(str(target))
        assert len(snapshot(store)[1]) == 40
        with pytest.raises(ConfigError) as e:
            _finish_first_waiting(store)
        assert one_line(e) == (f"study: {target}: read-only (attempt to write a readonly database; "
                               "the file: Read-only file system) while storing a finished trial")
        store.close()
        with pytest.raises(ConfigError) as e:
            open_store(str(mnt / "new.db"))
        assert one_line(e) == (f"study: {mnt / 'new.db'}: cannot open (unable to open database file; "
                               "its folder: Read-only file system)")


def _fill(store: SQLStore) -> tuple[int, str]:
    """Plan and finish trials until the disk is full; the trials stored up to then, and the message."""
    st = store.open_study("fill", {})
    done = 0
    with pytest.raises(ConfigError) as e:
        for b in range(10_000):
            for t in store.plan(st.id, b, [(f"k{b}-{i}", {"pad": "x" * 400}) for i in range(3)], "t", 0):
                store.finish(t.id, COMPLETE, {"acc": 1.0}, "y" * 200, 0.1)
                done += 1
    return done, one_line(e)


def test_disk_full_leaves_a_resumable_study(tmp_path):
    with tmpfs(tmp_path / "mnt", "96k") as mnt:
        target = mnt / "s.db"
        done, message = _fill(open_store(str(target)))
        assert message.startswith(f"study: {target}: disk full (database or disk is full) while ")
        assert message.endswith("; every finished trial is kept: fix this and rerun to resume")
        store = open_store(str(target))  # still full: reading works and finds every committed trial
        st = store.load_study("fill")
        trials = store.trials(st.id)
        assert sum(t.state == COMPLETE for t in trials) == done
        assert store.check(full=True) == []
        store.close()
        # space again: the study resumes where it stopped
        if subprocess.run(["mount", "-o", "remount,size=4m", str(mnt)], check=False).returncode == 0:
            store = open_store(str(target))
            for t in store.trials(st.id, [WAITING]):
                store.finish(t.id, COMPLETE, {"acc": 1.0}, None, 0.1)
            assert all(t.state == COMPLETE for t in store.trials(st.id))
            store.close()


def test_disk_full_without_root(tmp_path, monkeypatch):
    """The same fault through SQLite's page limit: a batch that does not fit is not stored at all."""
    target = tmp_path / "s.db"
    build_study(target).close()
    store = open_store(str(target))
    sa.event.listen(store.engine, "connect", lambda dbapi, _rec: dbapi.execute("PRAGMA max_page_count=12"))
    store.engine.dispose()
    before = snapshot(store)
    st = store.load_study()
    with pytest.raises(ConfigError) as e:
        store.plan(st.id, 9, [(f"big-{i}", {"pad": "x" * 3000}) for i in range(20)], "t", 0)
    assert one_line(e) == (f"study: {target}: disk full (database or disk is full) while planning trials; "
                           "every finished trial is kept: fix this and rerun to resume")
    assert snapshot(store) == before


def test_locked_by_another_process(tmp_path, monkeypatch):
    monkeypatch.setattr(_sql, "BUSY_TIMEOUT_MS", 200)
    target = tmp_path / "s.db"
    build_study(target).close()
    other = sqlite3.connect(target, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ConfigError) as e:
            store = open_store(str(target))
            _finish_first_waiting(store)
        assert "locked by another process (database is locked)" in one_line(e)
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_concurrent_opens_wait_for_each_other(tmp_path):
    """busy_timeout is set before journal_mode=WAL: many processes opening one new file do not fail."""
    target = tmp_path / "s.db"
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            store = open_store(str(target))
            st = store.open_study("shared", {"seed": 0})
            store.plan(st.id, i, [(f"w{i}", {"i": i})], "t", 0)
            store.close()
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = open_store(str(target))
    assert sorted(t.key for t in store.trials(store.load_study().id)) == [f"w{i}" for i in range(6)]


def test_busy_timeout_is_set_before_wal(tmp_path):
    statements: list[str] = []

    def traced() -> sqlite3.Connection:
        con = sqlite3.connect(tmp_path / "t.db", check_same_thread=False)
        con.set_trace_callback(statements.append)
        return con

    engine = sa.create_engine("sqlite://", creator=traced, poolclass=sa.pool.NullPool)
    _sql._sqlite_events(engine)
    with engine.connect():
        pass
    pragmas = [s for s in statements if s.startswith("PRAGMA")]
    assert pragmas.index(f"PRAGMA busy_timeout={_sql.BUSY_TIMEOUT_MS}") < pragmas.index("PRAGMA journal_mode=WAL")


def test_unknown_dialect_is_one_line():
    with pytest.raises(ConfigError) as e:
        open_store("nosuchdialect://x/y")
    assert one_line(e).startswith("study: cannot open store 'nosuchdialect://x/y': ")


def test_url_shows_no_password():
    with pytest.raises(ConfigError) as e:
        SQLStore("postgresql+nosuchdriver://user:secret@localhost/db")
    assert "secret" not in one_line(e)


def test_paths_with_url_characters_stay_paths(tmp_path):
    target = tmp_path / "a?b#c.db"
    build_study(target).close()
    assert Path(target).is_file()


def test_a_short_file_that_is_no_database_is_refused_and_left_untouched(tmp_path):
    """SQLite takes a file shorter than its header for an empty database and would overwrite it."""
    from tailor.errors import ConfigError
    from tailor.store import open_store

    path = tmp_path / "notes.db"
    path.write_bytes(b"x")
    with pytest.raises(ConfigError, match="not a study file"):
        open_store(str(path))
    assert path.read_bytes() == b"x"
