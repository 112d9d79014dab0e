"""Every failure a user can cause is one line on stderr with the right exit code (issue #16)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tailor.cli import main

TOY = "import sys, tailor.testing.toy; from tailor.cli import main; sys.exit(main(sys.argv[1:]))"


def one_error_line(capsys, rc: int, expected_rc: int = 2) -> str:
    err = capsys.readouterr().err.strip()
    assert rc == expected_rc, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("tailor: error: "), err
    return err


@pytest.mark.parametrize("args, message", [
    (["search", "toy", "--budget", "abc"], "Invalid value for '--budget'"),
    (["serach"], "No such command 'serach'"),
    (["search", "--budgt", "3"], "No such option: --budgt"),
    ([], "Missing command"),
    (["report"], "Missing argument 'study'"),
    (["export", "x.db", "--pick"], "Option '--pick' requires an argument"),
    (["train", "--epochs", "0"], "epochs: must be a positive integer, got 0"),
    (["train", "--seed", "-1"], "seed: must be an integer >= 0, got -1"),
    (["search", "toy", "--seed", "-1"], "seed: must be an integer in [0, 2**32), got -1"),
    (["search", "toy", "--workers", "0"], "workers: must be an integer in 1..1024, got 0"),
    (["search", "toy", "-o", "k=1"], "toy.k: must be in 2..100, got 1"),
    (["search", "toy", "-o", "n_genes=x"], "toy.n_genes: must be an integer, got 'x'"),
    (["search", "toy", "-o", "nope"], "option: expected KEY=VALUE, got 'nope'"),
    (["search", "toy", "-t", "kappa"], "tactic-option: expected KEY=VALUE, got 'kappa'"),
    (["search", "toy", "-t", "bogus=1"], "tailor.bogus: unknown option"),
    (["bench", "nb201", "--seeds", "0"], "seeds: must be >= 1, got 0"),
    (["export", "none.db", "--pick", "knee", "--out", "x"], "study: file not found: none.db"),
])
def test_usage_errors_are_one_line_exit_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import tailor.testing.toy  # noqa: F401  (registers the toy problem)

    err = one_error_line(capsys, main(args))
    assert message in err, err


def test_file_system_faults_name_the_path(tmp_path, capsys):
    import tailor.testing.toy  # noqa: F401

    a_file = tmp_path / "file"
    a_file.write_text("x")
    base = ["search", "toy", "--budget", "3", "--tactic", "random"]
    assert main([*base, "--out", str(tmp_path / "ok")]) == 0
    capsys.readouterr()
    study = str(tmp_path / "ok" / "study.db")
    cases = [
        ([*base, "--out", str(a_file / "sub")], f"{a_file / 'sub'}: Not a directory"),
        ([*base, "--out", str(a_file)], f"out: not a directory: {a_file}"),
        ([*base, "--out", str(tmp_path / "o2"), "--study", str(a_file / "s.db")], str(a_file)),
        ([*base, "--out", str(tmp_path / "o3"), "--study", str(tmp_path / ("s" * 300 + ".db"))], "too long"),
        (["report", study, "--json", str(a_file / "r.json")], f"json: not a directory: {a_file}"),
        (["report", str(a_file)], str(a_file)),
    ]
    for args, message in cases:
        err = one_error_line(capsys, main(args))
        assert message in err, (args, err)


def _toy_search(out: Path, *extra: str, budget: int = 40, delay: float = 0.1) -> list[str]:
    return [sys.executable, "-c", TOY, "search", "toy", "--tactic", "random", "--budget", str(budget),
            "--out", str(out), "-o", f"delay_s={delay}", *extra]


def _finished(out: Path) -> int:
    import sqlite3

    db = out / "study.db"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("select count(*) from trials where state != 'WAITING'").fetchone()[0]
    except sqlite3.DatabaseError:  # schema not created yet
        return 0


def _wait_for(out: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.time() + timeout
    while _finished(out) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.time() < end, "no progress"
        time.sleep(0.1)


def _resumes_to_full_budget(out: Path, *extra: str) -> None:
    res = subprocess.run(_toy_search(out, *extra), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    data = json.loads((out / "results.json").read_text())
    keys = [e["key"] for e in data["evaluations"]]
    assert len(keys) == len(set(keys)) == 40


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_exits_130_with_one_line_and_resumes(tmp_path, workers):
    out = tmp_path / "run"
    extra = ("--workers", str(workers))
    proc = subprocess.Popen(_toy_search(out, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    _wait_for(out, 5, proc)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group, workers included
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "tailor: interrupted; rerun the same command to resume"
    for noise in ("Traceback", "KeyboardInterrupt", "Bad file descriptor"):
        assert noise not in err, err
    _resumes_to_full_budget(out, *extra)


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the worker processes")
def test_a_dead_worker_is_one_line_and_the_rerun_resumes(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(_toy_search(out, "--workers", "2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    _wait_for(out, 5, proc)
    workers = [w for server in _children(proc.pid) for w in _children(server)]
    assert workers, "no worker processes found"
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("tailor: error: a worker process died") and "rerun the same command" in last
    assert "Traceback" not in err
    _resumes_to_full_budget(out, "--workers", "2")
