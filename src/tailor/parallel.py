"""Measuring configurations, in this process or in a pool of local worker processes.

``measure`` is what one evaluation is: every evaluator's metrics for one configuration, where an
exception or a missing/non-finite objective makes the trial fail instead of the study. ``WorkerPool``
runs it in N worker processes (forked by a fork server, or spawned; 1 thread each); the problem's
evaluators are pickled once in the parent and unpickled once per worker by the pool initializer, so
a task carries only a configuration. The pool only measures: committing results is the study's job.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

from tailor.errors import ConfigError

# Thread pools of the numeric libraries a worker may load; set before its evaluators are unpickled.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS")

Measured = tuple[dict[str, float], str | None, float]  # metrics, error (None when it worked), seconds


class Pool(Protocol):
    """Workers that measure configurations with the same evaluators (local processes, Ray actors).

    ``imap_unordered`` yields ``(index, measured, worker)`` as results arrive; ``worker`` names
    the worker that measured it (for ``tailor status``). A context manager: leaving it stops them.
    """

    def imap_unordered(self, configs: Sequence[dict]) -> Iterator[tuple[int, Measured, str]]: ...

    def __enter__(self) -> Pool: ...

    def __exit__(self, exc_type, exc, tb) -> None: ...


# Builds a pool from (evaluators, objective names, workers).
PoolFactory = Callable[[Sequence[Any], Sequence[str], int], Pool]


MAX_WORKERS = 1024  # local processes; more machines are a job for a distributed backend


def check_workers(workers: Any) -> int:
    """``workers`` as an int in 1..MAX_WORKERS, else ``ConfigError('workers', ...)``."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise ConfigError("workers", f"must be an integer in 1..{MAX_WORKERS}, got {workers!r}")
    return int(workers)


def measure(evaluators: Sequence[Any], objectives: Sequence[str], config: dict) -> Measured:
    """All evaluators' metrics for one configuration; an exception or NaN objective fails it."""
    t0 = time.perf_counter()
    metrics: dict[str, float] = {}
    error = None
    try:
        for evaluator in evaluators:
            metrics.update({k: float(v) for k, v in evaluator.evaluate([config])[0].items()})
    except Exception as e:  # an evaluator's failure is the trial's outcome, not the study's
        error = f"{type(e).__name__}: {e}"
    else:
        for name in objectives:
            v = metrics.get(name)
            if v is None or not math.isfinite(v):
                error = f"objective {name!r} is {v!r}"
                break
    return metrics, error, time.perf_counter() - t0


# ------------------------------------------------------------------ inside a worker process
_evaluators: list[Any] = []
_objectives: list[str] = []


def _exit_with(parent_pid: int) -> None:
    """Watchdog thread: end this worker when the study process is gone (``kill -9`` included).

    A pool's workers otherwise outlive a killed parent, blocked on a queue they hold both ends of,
    or still measuring and stealing the cores from the rerun.
    """
    if os.name != "posix":  # os.kill(pid, 0) would terminate the parent on Windows
        parent = multiprocessing.parent_process()
        if parent is not None:
            parent.join()
            os._exit(1)
        return
    while True:
        time.sleep(0.5)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # pragma: no cover - exists, under another user
            pass


def _init_worker(payload: bytes, objectives: list[str], parent_pid: int) -> None:
    """Pool initializer: one thread per worker, then the problem's evaluators, once.

    Ctrl-C reaches every process of the terminal's group: workers ignore it, and the study process
    stops the pool and reports the interruption once (what finished is already committed).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent_pid,), name="tailor-watchdog", daemon=True).start()
    for var in THREAD_VARIABLES:
        os.environ[var] = "1"
    try:  # libraries already loaded (numpy's BLAS) ignore the variables
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    _evaluators[:] = pickle.loads(payload)
    _objectives[:] = objectives
    if "torch" in sys.modules:  # an evaluator that uses torch has imported it while unpickling
        import torch

        torch.set_num_threads(1)


def worker_name() -> str:
    """This worker process, as ``tailor status`` shows it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _measure_in_worker(config: dict) -> tuple[Measured, str]:
    return measure(_evaluators, _objectives, config), worker_name()


# ------------------------------------------------------------------ in the parent
def _context(evaluators: Sequence[Any]) -> multiprocessing.context.BaseContext:
    """A fork server where there is one, else spawn; never a plain fork of this (threaded) process.

    The fork server is started once per process and forks every worker of every pool, so the
    heavy imports (torch, pandas, the evaluators' modules) are paid once, not once per worker.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    modules = ["__main__", __name__, "tailor.problems", *sorted({type(e).__module__ for e in evaluators})]
    ctx.set_forkserver_preload(modules)  # used when the server starts, ignored once it runs
    return ctx


class WorkerPool:
    """N worker processes that measure configurations with the same evaluators.

    Use as a context manager; ``imap_unordered`` yields ``(index, measured)`` as results arrive.
    """

    def __init__(self, evaluators: Sequence[Any], objectives: Sequence[str], workers: int):
        self.workers = check_workers(workers)
        try:
            payload = pickle.dumps(list(evaluators))
        except Exception as e:
            raise ConfigError("workers", "the problem's evaluators cannot be sent to worker processes "
                              f"({type(e).__name__}: {e}); use 1 worker") from e
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=_context(evaluators),
            initializer=_init_worker, initargs=(payload, list(objectives), os.getpid()),
        )

    def imap_unordered(self, configs: Sequence[dict]) -> Iterator[tuple[int, Measured, str]]:
        futures = {self._executor.submit(_measure_in_worker, c): i for i, c in enumerate(configs)}
        try:
            for future in as_completed(futures):
                measured, worker = future.result()
                yield futures[future], measured, worker
        finally:  # stopped early (an error, or the consumer gave up): drop what has not started
            for future in futures:
                future.cancel()

    def close(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(wait=exc_type is None)


__all__ = ["MAX_WORKERS", "THREAD_VARIABLES", "Pool", "PoolFactory", "WorkerPool", "check_workers", "measure",
           "worker_name"]
