"""Stored runs: the same seed gives the same elite and seed chain; kill -9 then rerun equals an
uninterrupted run; a changed setting on the same store is refused."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tailor.errors import ConfigError
from tailor.evolve import EvolveStore, GAConfig, LocalEvaluator, TaskSpec, evolve, run_config

ARGS = ["evolve", "hardmaze", "--workers", "0", "--population", "24", "--truncation", "6", "--generations", "8",
        "--novelty", "mix", "--seed", "3"]


def _tailor(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tailor", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def _stored(db: str) -> int:
    try:
        con = sqlite3.connect(db)
        try:
            return con.execute("select count(*) from evolve_generations").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def test_same_seed_same_elite_and_chain(tmp_path):
    spec = TaskSpec("CartPole-v1")
    ga = GAConfig(population=10, truncation=3, sigma=0.1, seed=7, elite_episodes=2, elite_candidates=3)
    runs = []
    for i in range(2):
        store = EvolveStore(str(tmp_path / f"r{i}.db"))
        runs.append(evolve(spec, ga, 3, store, LocalEvaluator(spec)).records)
        store.close()
    assert runs[0] == runs[1] and len(runs[0]) == 3
    assert runs[0][-1]["elite_seed_chain"] == runs[1][-1]["elite_seed_chain"]
    other = EvolveStore(str(tmp_path / "other.db"))
    diff = evolve(spec, GAConfig(population=10, truncation=3, sigma=0.1, seed=8, elite_episodes=2,
                                 elite_candidates=3), 3, other, LocalEvaluator(spec)).records
    assert diff[-1]["elite_seed_chain"] != runs[0][-1]["elite_seed_chain"]


def test_resume_refuses_other_settings(tmp_path):
    spec = TaskSpec("CartPole-v1")
    store = EvolveStore(str(tmp_path / "r.db"))
    evolve(spec, GAConfig(population=6, truncation=2, sigma=0.1, elite_episodes=1, elite_candidates=2), 1, store,
           LocalEvaluator(spec))
    with pytest.raises(ConfigError, match="sigma"):
        evolve(spec, GAConfig(population=6, truncation=2, sigma=0.2, elite_episodes=1, elite_candidates=2), 2,
               store, LocalEvaluator(spec))


@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_kill_dash_nine_then_rerun_equals_uninterrupted(tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "tailor", *ARGS, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    while _stored(str(out / "evolve.db")) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _stored(str(out / "evolve.db"))
    assert 3 <= killed_at < 8 and not (out / "results.json").exists()
    r = _tailor(*ARGS, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert f"resumed at generation {killed_at}" in r.stderr
    got = json.loads((out / "results.json").read_text())
    # the uninterrupted reference, in this process, from the settings the command stored
    config = dict(got["config"])
    spec = TaskSpec.from_dict(config.pop("task"))
    store = EvolveStore(str(tmp_path / "ref.db"))
    ref = evolve(spec, GAConfig(**config), 8, store, LocalEvaluator(spec)).records
    keys = list(got["generations"][0])
    assert got["generations"] == [{k: r[k] for k in keys} for r in ref] and len(ref) == 8
    assert got["elite"]["seed_chain"] == ref[-1]["elite_seed_chain"] and got["elite"]["return"] == ref[-1]["elite"]
    assert (out / "policy" / "policy.onnx").stat().st_size > 0 and (out / "maze_trajectories.png").exists()


def test_hardmaze_run_stored_under_the_old_motion_is_refused(tmp_path):
    """A run stored before the maze's motion changed (no revision in its task) does not resume
    under the new motion; CartPole's stored task carries no revision, so its runs still resume."""
    ga = GAConfig(population=6, truncation=2, sigma=0.1, elite_episodes=1, elite_candidates=2)
    spec = TaskSpec("hardmaze")
    assert spec.to_dict()["revision"] == 2 and "revision" not in TaskSpec("CartPole-v1").to_dict()
    store = EvolveStore(str(tmp_path / "r.db"))
    old = {**run_config(spec, ga), "task": {"name": "hardmaze", "options": spec.to_dict()["options"]}}
    store.open_run("evolve", old)
    with pytest.raises(ConfigError, match="other settings \\(task\\)"):
        evolve(spec, ga, 1, store, LocalEvaluator(spec))
    with pytest.raises(ConfigError, match="stored at revision 1, its dynamics are now revision 2"):
        TaskSpec.from_dict(old["task"])
    assert TaskSpec.from_dict(spec.to_dict()) == spec
