"""Evaluation backends. A worker holds one task and a parent cache and receives seed chains only.

``LocalEvaluator`` runs jobs in this process (tests, ``--workers 0``). ``RayEvaluator`` spreads
chunks of jobs over Ray actors; an actor that dies (killed, out of memory, node lost) is replaced
and its chunk resubmitted, so every job is evaluated and counted exactly once per call.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Sequence
from typing import Any

from tailor.errors import ConfigError, TailorError
from tailor.evolve._ga import Job
from tailor.evolve._genome import ParamCache
from tailor.evolve._policy import init_scales
from tailor.evolve._tasks import Episode, TaskSpec

log = logging.getLogger(__name__)

LOCAL_SYSTEM_CONFIG = {"health_check_period_ms": 5000, "health_check_timeout_ms": 30000,
                       "health_check_failure_threshold": 20}
MAX_RESTARTS_PER_CALL = 3  # per worker: beyond that the cluster itself is failing; stop instead of looping
FAULT_ENV = "TAILOR_EVOLVE_FAULT_FILE"  # tests: a worker exits hard on its first chunk if this file is absent


class EvalWorker:
    """Evaluates jobs of one task; keeps rebuilt weights in a ``ParamCache``."""

    def __init__(self, spec: dict[str, Any]):
        import torch

        torch.set_num_threads(1)
        self.task = TaskSpec(spec["name"], spec["options"]).build()
        self.cache = ParamCache(init_scales(self.task.policy))
        self.jobs = 0

    def run(self, jobs: Sequence[Job]) -> list[tuple[Episode, ...]]:
        fault = os.environ.get(FAULT_ENV)
        if fault and not os.path.exists(fault):
            open(fault, "w").close()
            os._exit(1)  # a hard crash, as a killed or out-of-memory worker
        out = []
        for job in jobs:
            theta = self.cache.get(job.genome)
            out.append(tuple(self.task.episode(theta, s) for s in job.seeds))
        self.jobs += len(jobs)
        return out

    def stats(self) -> dict[str, int]:
        return {"jobs": self.jobs, "cache_hits": self.cache.hits, "noise_adds": self.cache.adds}


class LocalEvaluator:
    """All jobs in this process, in order."""

    def __init__(self, spec: TaskSpec):
        self.worker = EvalWorker(spec.to_dict())
        self.restarts = 0

    def evaluate(self, jobs: Sequence[Job]) -> list[tuple[Episode, ...]]:
        return self.worker.run(jobs)

    def stats(self) -> list[dict[str, int]]:
        return [self.worker.stats()]

    def close(self) -> None:
        pass


def check_ray_address(address: str, timeout: float = 5.0) -> None:
    """Refuse an unreachable ``--ray`` address in one line, before ``ray.init`` could hang on it."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError("ray", f"expected HOST:PORT or ray://HOST:PORT, got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise ConfigError("ray", f"cannot reach {address} within {timeout:g}s ({e.strerror or e})") from None


class RayEvaluator:
    """Jobs in chunks over ``workers`` Ray actors (one CPU each); a dead actor is replaced and its
    chunk resubmitted. Starts a local Ray unless ``address`` names a cluster."""

    def __init__(self, spec: TaskSpec, workers: int, address: str | None = None, chunks_per_worker: int = 2):
        import ray

        self._ray = ray
        self.spec = spec.to_dict()
        self.restarts = 0
        self.chunks_per_worker = chunks_per_worker
        self._own_ray = False
        if not ray.is_initialized():
            env = {"PYTHONPATH": os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
            if os.environ.get(FAULT_ENV):
                env[FAULT_ENV] = os.environ[FAULT_ENV]
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "runtime_env": {"env_vars": env}, "logging_level": logging.WARNING}
            if address:
                check_ray_address(address)
                ray.init(address=address, **kwargs)
            else:  # a busy machine delays heartbeats: be patient before declaring the local node dead
                ray.init(address="local", num_cpus=workers, _system_config=LOCAL_SYSTEM_CONFIG, **kwargs)
            self._own_ray = True
        self._actor_cls = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(EvalWorker)
        self.actors = [self._actor_cls.remote(self.spec) for _ in range(workers)]

    def evaluate(self, jobs: Sequence[Job]) -> list[tuple[Episode, ...]]:
        ray = self._ray
        jobs = list(jobs)
        n_chunks = max(1, min(len(jobs), len(self.actors) * self.chunks_per_worker))
        bounds = [round(i * len(jobs) / n_chunks) for i in range(n_chunks + 1)]
        chunks = [jobs[bounds[i]:bounds[i + 1]] for i in range(n_chunks)]
        results: dict[int, list] = {}
        restarts = 0
        pending: dict[Any, tuple[int, int, Any]] = {}  # ref -> (chunk, actor slot, actor)
        for c, chunk in enumerate(chunks):
            slot = c % len(self.actors)
            pending[self.actors[slot].run.remote(chunk)] = (c, slot, self.actors[slot])
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            c, slot, actor = pending.pop(ref)
            try:
                results[c] = ray.get(ref)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as e:
                if self.actors[slot] is actor:  # not yet replaced (chunks queued on it fail too)
                    restarts += 1
                    if restarts > MAX_RESTARTS_PER_CALL * len(self.actors):
                        raise TailorError(f"Ray workers died {restarts} times in one generation ({e}); finished "
                                          "generations are stored: rerun the same command to resume") from None
                    log.warning("evolve worker %d died (%s); re-running its chunks on a new worker", slot,
                                type(e).__name__)
                    self.restarts += 1
                    self._replace(slot)
                pending[self.actors[slot].run.remote(chunks[c])] = (c, slot, self.actors[slot])
        return [ep for c in range(n_chunks) for ep in results[c]]

    def _replace(self, slot: int) -> None:
        with contextlib.suppress(Exception):  # already gone
            self._ray.kill(self.actors[slot])
        self.actors[slot] = self._actor_cls.remote(self.spec)

    def stats(self) -> list[dict[str, int]]:
        return self._ray.get([a.stats.remote() for a in self.actors])

    def close(self) -> None:
        for a in self.actors:
            self._ray.kill(a)
        self.actors = []
        if self._own_ray:
            self._ray.shutdown()
