"""The main job's search: seed configurations measured first, resume unchanged, speed-up summary."""

from __future__ import annotations

import dataclasses

from tailor.cli.search import speedups
from tailor.search import SearchSpec
from tailor.store import TrialRecord, open_store
from tailor.study import Study
from tailor.testing.toy import toy_problem


def _seeded():
    problem = toy_problem(n_genes=6, k=4)
    space = problem.space
    return dataclasses.replace(problem, seed_configs=[space.extreme("max"), space.extreme("min")])


def test_seed_configs_lead_the_first_batch(tmp_path):
    problem = _seeded()
    study = Study(problem, SearchSpec.parse("default", {}, 0).build(), open_store(str(tmp_path / "s.db")))
    study.optimize(16)
    trials = sorted(study.trials(("COMPLETE", "FAIL")), key=lambda t: t.number)
    assert len(trials) == 16
    space = problem.space
    assert [t.key for t in trials[:2]] == [space.key(space.extreme("max")), space.key(space.extreme("min"))]
    assert len({t.key for t in trials}) == 16
    first = [t for t in trials if t.batch == 0]
    plain = Study(toy_problem(n_genes=6, k=4), SearchSpec.parse("default", {}, 0).build(),
                  open_store(str(tmp_path / "p.db")))
    plain.optimize(16)
    plain_first = [t for t in plain.trials(("COMPLETE",)) if t.batch == 0]
    # the seeds come on top of the tactic's own first batch, which is unchanged
    assert [t.key for t in first[2:]] == [t.key for t in plain_first][: len(first) - 2]


def test_seeded_study_resumes_to_the_same_result(tmp_path):
    whole = Study(_seeded(), SearchSpec.parse("default", {}, 0).build(), open_store(str(tmp_path / "a.db")))
    whole.optimize(20)
    parts = Study(_seeded(), SearchSpec.parse("default", {}, 0).build(), open_store(str(tmp_path / "b.db")))
    parts.optimize(7)  # stops inside the first batch
    again = Study(_seeded(), SearchSpec.parse("default", {}, 0).build(), open_store(str(tmp_path / "b.db")))
    again.optimize(20)
    keys = [t.key for t in sorted(whole.trials(), key=lambda t: t.number)]
    assert keys == [t.key for t in sorted(again.trials(), key=lambda t: t.number)]


def test_speedups_table():
    problem = toy_problem(n_genes=2, k=3)
    space = problem.space
    full, small = space.extreme("max"), space.extreme("min")
    mid = {"x": [1, 1]}

    def trial(i, config, agreement, latency):
        return TrialRecord(i, i, 0, space.key(config), config, "COMPLETE",
                           {"agreement": agreement, "latency_ms": latency}, None, 0.0, "t", 0)

    rows = speedups([trial(0, full, 1.0, 20.0), trial(1, mid, 0.92, 8.0), trial(2, small, 0.5, 2.0)], space)
    assert [r["agreement >="] for r in rows] == ["95%", "90%", "80%"]
    assert rows[0]["latency_ms"] == 20.0 and rows[0]["speed-up"] == 1.0
    assert rows[1]["latency_ms"] == 8.0 and rows[1]["speed-up"] == 2.5
    assert rows[2]["key"] == space.key(mid)
    none = speedups([trial(2, small, 0.5, 2.0)], space)
    assert none[0]["key"] == "none measured" and none[0]["speed-up"] is None
