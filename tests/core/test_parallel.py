"""--workers N: a batch measured by N processes gives the same study as one process.

Worker processes import this module to unpickle ``refuses`` and ``JitteryToy``: keep its top-level
imports light (the study, the tactics and the CLI are imported inside the tests).
"""

import dataclasses
import itertools
import json
import time

import numpy as np
import pytest

from tailor.errors import ConfigError
from tailor.problems.nb201 import NB201_OPS, arch_string
from tailor.testing import interrupted_toy_problem, toy_problem
from tailor.testing.toy import ToyEvaluator

COMPLETE, FAIL, WAITING = "COMPLETE", "FAIL", "WAITING"


def refuses(config) -> bool:
    return config["x"][0] == 0


class JitteryToy(ToyEvaluator):
    """The toy evaluator with a config-dependent delay, so results arrive out of planning order."""

    def evaluate(self, configs):
        time.sleep(0.004 * (sum(configs[0]["x"]) % 4))
        return super().evaluate(configs)


def jittery_problem():
    problem = toy_problem(fail=refuses)
    return dataclasses.replace(problem, evaluators=[JitteryToy(problem.settings["k"], fail=refuses)])


def make_study(problem, tactic: str, store: str = "sqlite://", **kw):
    from tailor.search import make_tactic
    from tailor.store import open_store
    from tailor.study import Study

    the_tactic = make_tactic(tactic)
    if the_tactic.name == "evolutionary":
        the_tactic.pop_size = 10  # several batches within a small budget
    return Study(problem, the_tactic, open_store(store), **kw)


def outcome(study) -> list[tuple]:
    return [(t.number, t.batch, t.key, t.state, t.metrics, t.error) for t in study.trials((COMPLETE, FAIL))]


def test_two_workers_give_the_same_study_as_one():
    studies = {}
    for workers in (1, 2):
        study = make_study(jittery_problem(), "evolutionary", seed=3, workers=workers)
        arrived = []
        stats = study.optimize(36, on_trial=lambda t, n: arrived.append((t.number, n)))  # noqa: B023
        assert stats.evaluated == 36 and stats.eval_s > 0 and stats.overhead_s >= 0
        assert sorted(n for _, n in arrived) == list(range(1, 37))  # the running count, one per commit
        studies[workers] = study
    one, two = studies[1], studies[2]
    assert outcome(two) == outcome(one)
    assert len(outcome(two)) == 36
    failed = two.trials((FAIL,))
    assert failed and all("refuses" in t.error for t in failed)  # evaluator errors stay per trial
    assert not two.trials((WAITING,))
    for attr in ("genes", "F", "batches", "failed_genes", "failed_batches"):
        np.testing.assert_array_equal(getattr(two.history, attr), getattr(one.history, attr))


def test_resume_after_out_of_order_commits_matches_an_uninterrupted_run(tmp_path):
    """A killed parallel batch can leave a later trial finished before an earlier one."""
    reference = make_study(toy_problem(), "evolutionary", seed=1)
    reference.optimize(40)
    path = str(tmp_path / "s.db")
    problem = interrupted_toy_problem(27)  # mid-batch
    with pytest.raises(KeyboardInterrupt):
        make_study(problem, "evolutionary", path, seed=1).optimize(40)
    from tailor.store import open_store

    store = open_store(path)
    waiting = store.trials(1, [WAITING])
    assert len(waiting) >= 2
    late = waiting[-1]  # finished by another worker before the kill
    metrics = ToyEvaluator(4).evaluate([late.config])[0]
    store.finish(late.id, COMPLETE, metrics, None, 0.0)
    resumed = make_study(toy_problem(), "evolutionary", path, seed=1)
    assert resumed.n_finished == 27
    resumed.optimize(40)
    assert outcome(resumed) == outcome(reference)
    np.testing.assert_array_equal(resumed.history.genes, reference.history.genes)


def test_a_study_object_resumes_in_memory_after_an_interrupt():
    reference = outcome(_run_plain("evolutionary", 40, seed=2))
    study = make_study(interrupted_toy_problem(15), "evolutionary", seed=2)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(40)
    assert study.n_finished == 14
    study.optimize(40)
    assert outcome(study) == reference


def _run_plain(spec, budget, seed):
    study = make_study(toy_problem(), spec, seed=seed)
    study.optimize(budget)
    return study


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2", True, None, 1025])
def test_bad_workers_is_a_config_error(workers):
    with pytest.raises(ConfigError, match=r"must be an integer in 1\.\.1024") as info:
        make_study(toy_problem(), "random", workers=workers)
    assert info.value.field == "workers"


def test_unpicklable_evaluators_are_a_config_error_before_anything_is_planned():
    study = make_study(toy_problem(fail=lambda c: False), "random", workers=2)
    with pytest.raises(ConfigError, match="cannot be sent to worker processes") as info:
        study.optimize(10)
    assert info.value.field == "workers"
    assert study.trials((COMPLETE, FAIL, WAITING)) == []


@pytest.fixture(scope="module")
def small_table(tmp_path_factory) -> str:
    """An NB201-format table of all 15,625 cells with made-up accuracy/latency."""
    rng = np.random.default_rng(0)
    w_acc, w_lat = rng.normal(0, 1, (6, 5)), np.abs(rng.normal(1, 0.5, (6, 5)))
    lines = ["arch,acc,lat"]
    for ops in itertools.product(range(5), repeat=6):
        acc = 89 + 0.9 * sum(w_acc[e, o] for e, o in enumerate(ops))
        lat = sum(w_lat[e, o] for e, o in enumerate(ops))
        lines.append(f"{arch_string({'op': [NB201_OPS[o] for o in ops]})},{acc:.4f},{lat:.4f}")
    path = tmp_path_factory.mktemp("nb201") / "table.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_cli_workers(small_table, tmp_path, capsys):
    from tailor.cli import main

    base = ["search", "nb201", "--table", small_table, "--accuracy-column", "acc", "--latency-column", "lat",
            "--budget", "20", "--seed", "4"]
    assert main([*base, "--workers", "2", "--out", str(tmp_path / "two")]) == 0
    assert main([*base, "--out", str(tmp_path / "one")]) == 0
    two = json.loads((tmp_path / "two" / "results.json").read_text())["evaluations"]
    one = json.loads((tmp_path / "one" / "results.json").read_text())["evaluations"]
    assert len(two) == 20 and [e["key"] for e in two] == [e["key"] for e in one]
    capsys.readouterr()
    assert main([*base, "--workers", "0", "--out", str(tmp_path / "zero")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "tailor: error: workers: must be an integer in 1..1024, got 0"
    assert not (tmp_path / "zero").exists()
