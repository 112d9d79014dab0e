"""Several processes on one study (SQLite file and a real PostgreSQL): leases, takeover, one result."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tailor.store import COMPLETE, FAIL, WAITING, open_store
from tailor.testing.postgres import free_port

CLI = "import sys, tailor.testing.toy; from tailor.cli import main; sys.exit(main(sys.argv[1:]))"
BUDGET = 30


def _search(study: str, out: Path, *extra: str, delay: float = 0.05) -> subprocess.Popen:
    args = [sys.executable, "-c", CLI, "-q", "search", "toy", "--study", study, "--budget", str(BUDGET),
            "--tactic", "evolutionary", "-t", "pop_size=10", "--seed", "4", "-o", f"delay_s={delay}",
            "--out", str(out), *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def _reference() -> list[tuple]:
    """The same study run by one process, in memory."""
    from tailor.search import SearchSpec
    from tailor.study import Study
    from tailor.testing import toy_problem

    study = Study(toy_problem(), SearchSpec.parse("evolutionary", {"pop_size": 10}, 4).build(),
                  open_store("sqlite://"), seed=4)
    study.optimize(BUDGET)
    return _outcome(study.trials((COMPLETE, FAIL, WAITING)))


def _outcome(trials) -> list[tuple]:
    return [(t.number, t.batch, t.key, t.state, t.metrics) for t in trials]


def _stored(url: str):
    store = open_store(url)
    try:
        return store.trials(store.load_study().id, (COMPLETE, FAIL, WAITING))
    finally:
        store.close()


# ------------------------------------------------------------------ the store's leases
def test_claims_are_exclusive_and_expired_or_dead_leases_are_taken_over(store_url):
    store = open_store(store_url)
    st = store.open_study("s", {})
    planned = store.plan(st.id, 0, [(f"k{i}", {"i": i}) for i in range(6)], "t", 0)
    again = store.plan(st.id, 0, [("other", {})], "t", 0, adopt=True)  # batch 0 exists: adopted, not replanned
    assert [t.id for t in again] == [t.id for t in planned]
    a = store.claim(st.id, "hostA:1:1:a", 2, lease_s=60)
    b = store.claim(st.id, "hostB:1:1:b", 2, lease_s=0.2)
    assert [t.number for t in a] == [0, 1] and [t.number for t in b] == [2, 3]
    assert all(t.owner == "hostA:1:1:a" and t.lease_until > time.time() + 50 for t in a)
    time.sleep(0.3)  # B stopped renewing: its lease ran out
    c = store.claim(st.id, "hostC:1:1:c", 10, lease_s=60)
    assert [t.number for t in c] == [2, 3, 4, 5]  # A's live lease is kept
    d = store.claim(st.id, "hostD:1:1:d", 10, lease_s=60, alive=lambda owner: owner != "hostA:1:1:a")
    assert [t.number for t in d] == [0, 1]  # A is known dead
    assert store.renew(st.id, "hostD:1:1:d", 60) == 2
    assert store.finish(d[0].id, COMPLETE, {"m": 1.0}, None, 0.1, owner="hostD:1:1:d", worker="w1")
    assert not store.finish(d[0].id, COMPLETE, {"m": 2.0}, None, 0.1, owner="hostA:1:1:a")  # too late: kept
    store.release(st.id, "hostC:1:1:c")
    rows = {t.number: t for t in store.trials(st.id, (COMPLETE, WAITING))}
    assert rows[0].metrics == {"m": 1.0} and rows[0].owner == "hostD:1:1:d" and rows[0].worker == "w1"
    assert all(rows[n].owner is None for n in (2, 3, 4, 5))
    assert store.check(full=True) == []


def test_a_store_from_before_leases_is_upgraded(tmp_path):
    path = tmp_path / "old.db"
    store = open_store(str(path))
    st = store.open_study("s", {})
    (t,) = store.plan(st.id, 0, [("k", {})], "t", 0)
    store.finish(t.id, COMPLETE, {"m": 1.0}, None, 0.1)
    store.close()
    con = sqlite3.connect(path)
    for column in ("owner", "worker", "claimed", "lease_until"):
        con.execute(f"ALTER TABLE trials DROP COLUMN {column}")
    con.commit()
    con.close()
    store = open_store(str(path))
    assert store.trials(st.id)[0].metrics == {"m": 1.0} and store.check(full=True) == []
    cols = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(trials)")}
    assert {"owner", "worker", "claimed", "lease_until"} <= cols


def test_an_unreachable_database_is_one_line_within_the_connect_timeout(tmp_path):
    url = f"postgresql://alice:s3cret@127.0.0.1:{free_port()}/studies"
    t0 = time.monotonic()
    proc = _search(url, tmp_path / "out")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("tailor: error: study: postgresql+psycopg://alice:***@127.0.0.1:")
    assert "refused" in lines[-1] and "s3cret" not in err
    assert time.monotonic() - t0 < 90  # imports on a loaded machine; the connection itself fails at once


# ------------------------------------------------------------------ processes sharing a study
def test_three_processes_share_one_study_and_end_with_the_same_result(store_url, tmp_path):
    procs = [_search(store_url, tmp_path / f"out{i}") for i in range(3)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    trials = _stored(store_url)
    assert len(trials) == BUDGET and all(t.state != WAITING for t in trials)
    assert len({t.key for t in trials}) == BUDGET  # no configuration twice
    assert _outcome(trials) == _reference()  # as one process would have found
    owners = {t.owner for t in trials}
    assert len(owners) >= 2, owners  # the work was shared
    csvs = {(tmp_path / f"out{i}" / "evaluations.csv").read_text() for i in range(3)}
    assert len(csvs) == 1  # every process wrote the same results


def test_a_killed_process_loses_nothing_and_its_claims_are_taken_over(store_url, tmp_path):
    first = _search(store_url, tmp_path / "a", "--lease", "3", delay=0.2)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            trials = _stored(store_url)
        except Exception:  # not created yet
            continue
        if sum(t.state == COMPLETE for t in trials) >= 3 and any(t.state == WAITING and t.owner for t in trials):
            break
    first.send_signal(signal.SIGKILL)
    first.communicate()
    before = _stored(store_url)
    held = [t for t in before if t.state == WAITING and t.owner]
    assert held, "the killed process held no claim"
    second = _search(store_url, tmp_path / "b", "--lease", "3", delay=0.2)
    _, err = second.communicate(timeout=240)
    assert second.returncode == 0, err
    trials = _stored(store_url)
    assert len(trials) == BUDGET and len({t.key for t in trials}) == BUDGET
    assert _outcome(trials) == _reference()
    done_before = {t.id: t for t in before if t.state != WAITING}
    assert all(_outcome([t]) == _outcome([done_before[t.id]]) for t in trials if t.id in done_before)  # kept
    by_id = {t.id: t for t in trials}
    assert all(by_id[t.id].owner != t.owner for t in held)  # the claims went to the second process



def test_status_shows_finished_running_and_expired_per_process_and_worker(store_url, capsys):
    from tailor.cli import main

    store = open_store(store_url)
    st = store.open_study("s", {"objectives": ["m:min"]})
    planned = store.plan(st.id, 0, [(f"k{i}", {"i": i}) for i in range(5)], "t", 0)
    store.claim(st.id, "hostA:1:7:a", 3, lease_s=600)
    store.finish(planned[0].id, COMPLETE, {"m": 1.0}, None, 0.5, owner="hostA:1:7:a", worker="ray:n1:11")
    store.finish(planned[1].id, FAIL, {}, "boom", 0.25, owner="hostA:1:7:a", worker="ray:n1:11")
    store.claim(st.id, "hostB:1:8:b", 1, lease_s=0.01)
    time.sleep(0.05)
    assert main(["status", store_url]) == 0
    out = " ".join(capsys.readouterr().err.split())
    assert "1 finished, 1 failed, 1 running, 1 with an expired lease, 1 waiting" in out
    assert "hostA:1:7:a │ ray:n1:11 │ 1 │ 1 │ 0 │ 0.75" in out and "hostA:1:7:a │ - │ 0 │ 0 │ 1" in out
    assert "s left" in out and "expired" in out and "hostB:1:8:b" in out
