"""A short run on a real local Ray: workers get seed chains only, a worker that dies mid-generation
has its jobs re-run on a new one, and the results equal the in-process evaluator's."""

import os

from tailor.evolve import EvolveStore, GAConfig, LocalEvaluator, RayEvaluator, TaskSpec, evolve, initial_state, step
from tailor.evolve._workers import FAULT_ENV


def test_ray_workers_survive_a_crash_and_match_local(tmp_path, monkeypatch):
    spec = TaskSpec("hardmaze")
    ga = GAConfig(population=16, truncation=4, sigma=0.2, novelty="ns", seed=5, elite_episodes=1, elite_candidates=3)
    local = LocalEvaluator(spec)
    ref = evolve(spec, ga, 3, EvolveStore(str(tmp_path / "local.db")), local).records

    marker = tmp_path / "crashed"
    monkeypatch.setenv(FAULT_ENV, str(marker))  # the first chunk's worker exits hard (os._exit)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [os.path.abspath("src"),
                                                                   os.environ.get("PYTHONPATH")])))
    ray_eval = RayEvaluator(spec, workers=2)
    try:
        got = evolve(spec, ga, 3, EvolveStore(str(tmp_path / "ray.db")), ray_eval).records
        assert marker.exists() and ray_eval.restarts == 1
        assert got == ref  # nothing lost, nothing counted twice: same records, evaluations and frames
        stats = ray_eval.stats()
        assert len(stats) == 2 and sum(s["cache_hits"] for s in stats) > 0
        # a child whose parent a worker has cached costs one noise add there
        state = initial_state(ga)
        state, _ = step(ga, state, ray_eval)
        assert sum(s["jobs"] for s in ray_eval.stats()) > sum(s["jobs"] for s in stats)
    finally:
        ray_eval.close()
