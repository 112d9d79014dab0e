"""Leases in the store (SQLite file and a real PostgreSQL), the lease-column upgrade, `tailor status`."""

from __future__ import annotations

import sqlite3
import time

from tailor.store import COMPLETE, FAIL, WAITING, open_store


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
