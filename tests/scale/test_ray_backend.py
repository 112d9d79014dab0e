"""--ray: a real local Ray; the worker count (and a killed actor) does not change the study."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tailor.errors import ConfigError
from tailor.store import COMPLETE, FAIL, WAITING, open_store
from tailor.testing.postgres import free_port

ray = pytest.importorskip("ray")


def _study(workers: int, kill_after: int | None = None):
    from tailor.parallel_ray import RaySettings, ray_pool
    from tailor.search import SearchSpec
    from tailor.study import Study
    from tailor.testing import toy_problem

    pools = []
    settings = RaySettings(cpus_per_worker=0.5, resource="toy_device")

    def factory(evaluators, objectives, n):
        pools.append(ray_pool(settings)(evaluators, objectives, n))
        return pools[-1]

    study = Study(toy_problem(), SearchSpec.parse("evolutionary", {"pop_size": 8}, 2).build(),
                  open_store("sqlite://"), seed=2, workers=workers, pool=factory)
    killed = []

    def on_trial(trial, finished):
        if kill_after is not None and finished == kill_after and not killed:
            killed.append(pools[0].pids()[0])
            os.kill(killed[0], signal.SIGKILL)  # Ray restarts the actor and retries its task

    study.optimize(24, on_trial=on_trial)
    return study, killed


def test_one_or_two_ray_workers_give_the_same_study_and_survive_a_killed_actor():
    one, _ = _study(1)
    two, killed = _study(2, kill_after=5)
    outcome = [[(t.number, t.batch, t.key, t.state, t.metrics) for t in s.trials((COMPLETE, FAIL, WAITING))]
               for s in (one, two)]
    assert len(outcome[0]) == 24 and outcome[0] == outcome[1]
    assert killed
    workers = {t.worker for t in two.trials((COMPLETE, FAIL))}
    assert all(w.startswith("ray:") for w in workers) and len(workers) >= 2
    assert ray.cluster_resources().get("toy_device", 0) >= 2  # local Ray offers the named device


def test_an_unreachable_ray_address_is_a_config_error_within_the_timeout():
    from tailor.parallel_ray import CONNECT_TIMEOUT_S, RaySettings, connect

    if ray.is_initialized():
        ray.shutdown()
    t0 = time.monotonic()
    with pytest.raises(ConfigError, match=r"ray: cannot reach Ray at 127\.0\.0\.1:\d+ \(Connection refused"):
        connect(RaySettings(f"127.0.0.1:{free_port()}"), 1)
    assert time.monotonic() - t0 < CONNECT_TIMEOUT_S
    with pytest.raises(ConfigError, match="cpus-per-worker: must be a number"):
        RaySettings(cpus_per_worker=-1)
    with pytest.raises(ConfigError, match="ray-resource: must name a custom"):
        RaySettings(resource="GPU")
