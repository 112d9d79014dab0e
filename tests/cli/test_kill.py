"""SIGKILL a running search at a random moment; the rerun loses and repeats nothing."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

SCRIPT = """
import sys
from tailor.store import open_store
from tailor.study import Study
from tailor.search import make_tactic
from tailor.testing import toy_problem
Study(toy_problem(delay_s=float(sys.argv[2])), make_tactic("tailor"), open_store(sys.argv[1]), seed=5).optimize(60)
"""


def _complete(db: str) -> list[tuple]:
    """Finished trials so far; none while the child has created the file but not yet its schema."""
    con = sqlite3.connect(db)
    try:
        return con.execute("select config_key, metrics from trials where state='COMPLETE' order by number").fetchall()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            return []
        raise
    finally:
        con.close()


@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_kill_dash_nine_then_rerun(tmp_path):
    ref_db, db = str(tmp_path / "ref.db"), str(tmp_path / "killed.db")
    subprocess.run([sys.executable, "-c", SCRIPT, ref_db, "0"], check=True, timeout=600)
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, db, "0.05"])
    deadline = time.time() + 300
    while time.time() < deadline:
        time.sleep(0.2)
        if os.path.exists(db) and len(_complete(db)) >= 25:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _complete(db)
    assert 25 <= len(before) < 60
    subprocess.run([sys.executable, "-c", SCRIPT, db, "0"], check=True, timeout=600)
    after = _complete(db)
    assert after[: len(before)] == before  # nothing lost or changed
    assert after == _complete(ref_db)  # and the same result as never interrupted
