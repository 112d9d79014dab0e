"""Several `tailor search` processes on one study (SQLite file and a real PostgreSQL): takeover, one result."""

from __future__ import annotations

import os
import signal
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
