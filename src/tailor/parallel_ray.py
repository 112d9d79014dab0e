"""Measuring configurations on Ray actors: the same ``Pool`` as ``tailor.parallel``, across machines.

One actor per worker slot holds the problem's evaluators (pickled once, put once in Ray's object
store, unpickled once per actor), so a task carries only a configuration. Actors ask Ray for
``cpus_per_worker`` CPUs, ``gpus_per_worker`` GPUs and optionally one unit of a custom resource
(``--ray-resource npu`` on the node that has the target device, so latency is measured there). A
killed actor is restarted by Ray and its task retried; the study commits each result as it arrives.
The pool only measures: committing results, and leases across processes, are the study's job.
"""

from __future__ import annotations

import math
import os
import pickle
import socket
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tailor.errors import ConfigError
from tailor.parallel import THREAD_VARIABLES, Measured, check_workers, measure

CONNECT_TIMEOUT_S = 10.0  # an address that does not answer: an error after this long, not a hang
JOIN_TIMEOUT_S = 30.0  # an address that answers but is no Ray cluster (or a slow one): the same
LOCAL = "local"  # --ray without an address: start a Ray instance on this machine


@dataclass(frozen=True)
class RaySettings:
    """Where the actors run and what each asks for."""

    address: str = LOCAL
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    resource: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.address, str) or not self.address.strip():
            raise ConfigError("ray", f"must be '{LOCAL}', 'auto', HOST:PORT or ray://HOST:PORT, got {self.address!r}")
        for field, value in (("cpus-per-worker", self.cpus_per_worker), ("gpus-per-worker", self.gpus_per_worker)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1024 \
                    or not math.isfinite(value):
                raise ConfigError(field, f"must be a number in 0..1024, got {value!r}")
        if self.resource is not None and (not self.resource.strip() or self.resource in ("CPU", "GPU", "memory")):
            raise ConfigError("ray-resource", f"must name a custom Ray resource (not CPU/GPU/memory), "
                              f"got {self.resource!r}")

    def need(self) -> dict[str, float]:
        """What one actor asks for."""
        out = {"CPU": float(self.cpus_per_worker), "GPU": float(self.gpus_per_worker)}
        if self.resource:
            out[self.resource] = 1.0
        return {k: v for k, v in out.items() if v > 0}


def _host_port(address: str) -> tuple[str, int] | None:
    """HOST and PORT of ``HOST:PORT`` or ``ray://HOST:PORT`` (None for 'auto')."""
    if address == "auto":
        return None
    rest = address.split("://", 1)[1] if "://" in address else address
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError("ray", f"address must be HOST:PORT or ray://HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)


def _join_within(join, address: str) -> None:
    """``ray.init`` on an address gives up only after many retries: wait ``JOIN_TIMEOUT_S`` at most."""
    import threading

    failure: list[BaseException] = []

    def run() -> None:
        try:
            join()
        except BaseException as e:  # handed to the caller's thread
            failure.append(e)

    thread = threading.Thread(target=run, name="tailor-ray-join", daemon=True)
    saved, quiet = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 2)  # Ray's C++ client logs each retry on stderr: the outcome is said once, below
    try:
        thread.start()
        thread.join(JOIN_TIMEOUT_S)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(quiet)
    if thread.is_alive():
        raise ConfigError("ray", f"no Ray cluster answered at {address} within {JOIN_TIMEOUT_S:g} s")
    if failure:
        raise failure[0]


def prepare(settings: RaySettings, workers: int) -> None:
    """Connect and check the cluster can place ``workers`` actors: errors before any work starts."""
    connect(settings, workers)
    _check_capacity(settings, workers)


def connect(settings: RaySettings, workers: int) -> None:
    """Join the Ray cluster at ``settings.address``, or start a local one sized for ``workers`` actors."""
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")  # Ray's C++ retry warnings are not for users
    import ray

    if ray.is_initialized():
        return
    common = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    try:
        if settings.address == LOCAL:
            cpus = max(os.cpu_count() or 1, math.ceil(workers * settings.cpus_per_worker))
            # Started here, this machine is the one with the named device.
            slots = max(workers, os.cpu_count() or 1)
            resources = {settings.resource: float(slots)} if settings.resource else None
            ray.init(num_cpus=cpus, resources=resources, **common)
            return
        target = _host_port(settings.address)
        if target is not None:
            try:
                socket.create_connection(target, timeout=CONNECT_TIMEOUT_S).close()
            except OSError as e:
                raise ConfigError("ray", f"cannot reach Ray at {settings.address} "
                                  f"({e.strerror or type(e).__name__}, {CONNECT_TIMEOUT_S:g} s timeout)") from None
        _join_within(lambda: ray.init(address=settings.address, **common), settings.address)
    except ConfigError:
        raise
    except Exception as e:  # Ray's own errors: one line
        text = " ".join(str(e).split()) or type(e).__name__
        raise ConfigError("ray", f"cannot start or join Ray at {settings.address}: {text[:300]}") from None


def _check_capacity(settings: RaySettings, workers: int) -> None:
    """Refuse at once what the cluster cannot place (Ray would wait for it forever)."""
    import ray

    have = ray.cluster_resources()
    for key, per in settings.need().items():
        if have.get(key, 0.0) + 1e-9 < per * workers:
            field = {"CPU": "cpus-per-worker", "GPU": "gpus-per-worker"}.get(key, "ray-resource")
            raise ConfigError(field, f"the Ray cluster offers {have.get(key, 0):g} {key}, {workers} workers "
                              f"need {per * workers:g} ({per:g} each)")


class _Worker:
    """One Ray actor: the evaluators, unpickled once; 1 thread per CPU it asked for."""

    def __init__(self, payload: bytes, objectives: list[str], threads: int):
        for var in THREAD_VARIABLES:
            os.environ[var] = str(threads)
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(threads)
        except ImportError:  # pragma: no cover - comes with scikit-learn
            pass
        self.evaluators = pickle.loads(payload)
        self.objectives = objectives
        if "torch" in sys.modules:
            import torch

            torch.set_num_threads(threads)
        self.name = f"ray:{socket.gethostname()}:{os.getpid()}"

    def measure(self, config: dict) -> tuple[Measured, str]:
        return measure(self.evaluators, self.objectives, config), self.name

    def pid(self) -> int:
        return os.getpid()


class RayPool:
    """``workers`` Ray actors measuring configurations; a ``tailor.parallel.Pool``."""

    def __init__(self, evaluators: Sequence[Any], objectives: Sequence[str], workers: int,
                 settings: RaySettings | None = None):
        import ray

        self.workers = check_workers(workers)
        self.settings = settings or RaySettings()
        try:
            payload = pickle.dumps(list(evaluators))
        except Exception as e:
            raise ConfigError("ray", "the problem's evaluators cannot be sent to Ray workers "
                              f"({type(e).__name__}: {e})") from e
        connect(self.settings, self.workers)
        _check_capacity(self.settings, self.workers)
        options: dict[str, Any] = {"num_cpus": self.settings.cpus_per_worker,
                                   "num_gpus": self.settings.gpus_per_worker,
                                   "max_restarts": -1, "max_task_retries": -1}  # a killed actor comes back
        if self.settings.resource:
            options["resources"] = {self.settings.resource: 1.0}
        threads = max(1, math.floor(self.settings.cpus_per_worker))
        self._payload = ray.put(payload)  # held for the pool's life: restarted actors read it again
        actor = ray.remote(_Worker).options(**options)
        self.actors = [actor.remote(self._payload, list(objectives), threads) for _ in range(self.workers)]

    def pids(self) -> list[int]:
        """The actors' process ids (for fault tests)."""
        import ray

        return ray.get([a.pid.remote() for a in self.actors])

    def imap_unordered(self, configs: Sequence[dict]) -> Iterator[tuple[int, Measured, str]]:
        """One configuration per actor at a time, the next one as soon as an actor is free."""
        import ray

        todo = list(enumerate(configs))[::-1]
        idle = list(self.actors)
        pending: dict[Any, tuple[int, Any]] = {}
        try:
            while todo or pending:
                while todo and idle:
                    i, config = todo.pop()
                    worker = idle.pop()
                    pending[worker.measure.remote(config)] = (i, worker)
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    i, worker = pending.pop(ref)
                    idle.append(worker)
                    measured, name = ray.get(ref)
                    yield i, measured, name
        finally:  # stopped early: drop what is still running
            for ref in pending:
                ray.cancel(ref, force=False)

    def close(self) -> None:
        import ray

        for a in self.actors:
            ray.kill(a, no_restart=True)
        self.actors = []

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()


def ray_pool(settings: RaySettings):
    """A ``PoolFactory`` for ``Study(pool=...)``."""

    def factory(evaluators: Sequence[Any], objectives: Sequence[str], workers: int) -> RayPool:
        return RayPool(evaluators, objectives, workers, settings)

    return factory


__all__ = ["CONNECT_TIMEOUT_S", "LOCAL", "RayPool", "RaySettings", "connect", "prepare", "ray_pool"]
