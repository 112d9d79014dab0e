"""The study: the only module that knows space, evaluators, tactic and store together.

Loop: plan a batch (the tactic's ask, stored as WAITING trials in one transaction), claim waiting
trials (a lease in the store), evaluate them, commit each result as it arrives. Tactics are
deterministic given (history, seed, batch index), and a batch is asked only when every trial planned
before it is finished, so a resumed study ends exactly where an uninterrupted one would.

Several processes (on one machine with SQLite, on several with PostgreSQL) can run the same study:
each claims waiting trials under a lease that a heartbeat thread renews, so no configuration is
measured twice; a lease that is not renewed (its process died) is taken over; whoever finds every
planned trial finished plans the next batch, and a process that finds it already planned adopts it.
The budget is the study's: the processes together stop at ``budget`` evaluations, all with the same
study.

With ``workers > 1`` the claimed trials are measured by a pool (``tailor.parallel``, or Ray with
``tailor.parallel_ray``) that lives for one ``optimize`` call. Results are committed in the order
they arrive, but enter the history only in planning order, so the search does not depend on which
worker (or process) finished first.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tailor.errors import ConfigError
from tailor.objectives import Objective
from tailor.parallel import Measured, Pool, PoolFactory, WorkerPool, check_workers, measure
from tailor.problems import Problem
from tailor.search import History, Tactic
from tailor.store import COMPLETE, FAIL, WAITING, SQLStore, TrialRecord

log = logging.getLogger(__name__)


def check_budget(budget: object) -> int:
    """``budget`` as an int >= 1, else ``ConfigError('budget', ...)``."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ConfigError("budget", f"must be an integer >= 1, got {budget!r}")
    return budget


@dataclass
class RunStats:
    """Wall time split into evaluation and everything else (the search overhead)."""

    evaluated: int = 0
    eval_s: float = 0.0
    wall_s: float = 0.0

    @property
    def overhead_s(self) -> float:
        return max(self.wall_s - self.eval_s, 0.0)


class CheapObjectives:
    """The objectives that the problem's cheap evaluators (``expensive = False``: MACs, params)
    report, computed for any genes a tactic scores (cached by configuration key); NaN for the
    objectives only a real evaluation measures."""

    def __init__(self, problem: Problem, columns: dict[int, Sequence]):
        self.problem, self.columns = problem, columns
        self._cache: dict[str, np.ndarray] = {}

    @classmethod
    def of(cls, problem: Problem) -> CheapObjectives | None:
        cheap = [e for e in problem.evaluators if not e.expensive]
        columns = {i: [e for e in cheap if o.name in e.metrics] for i, o in enumerate(problem.objectives)}
        columns = {i: es for i, es in columns.items() if es}
        return cls(problem, columns) if columns else None

    def __call__(self, genes: np.ndarray) -> np.ndarray:
        space, objectives = self.problem.space, self.problem.objectives
        out = np.full((len(genes), len(objectives)), np.nan)
        for row, g in enumerate(genes):
            config = space.from_genes(g)
            key = space.key(config)
            if key not in self._cache:
                values = np.full(len(objectives), np.nan)
                for i, evaluators in self.columns.items():
                    o = objectives[i]
                    values[i] = o.sign * float(evaluators[0].evaluate([config])[0][o.name])
                self._cache[key] = values
            out[row] = self._cache[key]
        return out


LEASE_S = 30.0  # a claimed trial whose process has not renewed it for this long is taken over
POLL_S = 0.25  # how often a process that waits for trials other processes measure looks again


def check_lease(lease_s: object) -> float:
    if isinstance(lease_s, bool) or not isinstance(lease_s, (int, float)) or not 1 <= lease_s <= 86_400:
        raise ConfigError("lease", f"must be a number of seconds in 1..86400, got {lease_s!r}")
    return float(lease_s)


def _pid_scope() -> str:
    """This machine and PID namespace: where a process id names the same process."""
    try:
        ns = os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        ns = "-"
    return f"{socket.gethostname()}:{ns}"


def new_owner() -> str:
    """A name for this process in the store: machine, PID namespace, PID and a random tag."""
    return f"{_pid_scope()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def owner_alive(owner: str) -> bool:
    """False when ``owner`` is a process of this machine that no longer exists (no need to wait for
    its lease); True for any other (it may be alive, its lease says until when)."""
    scope, _, rest = owner.rpartition(":")[0].rpartition(":")
    if scope != _pid_scope() or not rest.isdigit():
        return True
    try:
        os.kill(int(rest), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - exists, under another user
        return True
    return True


class Heartbeat:
    """A thread that renews this process's leases every third of the lease time."""

    def __init__(self, store: SQLStore, study_id: int, owner: str, lease_s: float):
        self.store, self.study_id, self.owner, self.lease_s = store, study_id, owner, lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tailor-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                self.store.renew(self.study_id, self.owner, self.lease_s)
            except Exception as e:  # the next beat tries again; the lease outlives one missed beat
                log.warning("could not renew leases: %s", e)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class Study:
    """Ties a problem, a tactic and a store; ``optimize(budget)`` runs or resumes the search.

    ``workers`` is how many workers measure claimed trials (1 without ``pool``: in this process).
    ``pool`` builds the pool from (evaluators, objective names, workers); default: local processes.
    Neither is part of the study's settings: any number of workers or processes gives the same study.
    """

    def __init__(self, problem: Problem, tactic: Tactic, store: SQLStore, name: str = "tailor", seed: int = 0,
                 workers: int = 1, pool: PoolFactory | None = None, lease_s: float = LEASE_S):
        self.workers = check_workers(workers)
        self.lease_s = check_lease(lease_s)
        self.pool_factory = pool
        self.problem, self.tactic, self.store, self.seed = problem, tactic, store, int(seed)
        self.objectives: Sequence[Objective] = problem.objectives
        settings = {  # everything that changes results: a resume with other settings is refused
            "problem": problem.settings,
            "search": {**tactic.describe(), "seed": self.seed},
            "objectives": [f"{o.name}:{o.direction}" for o in self.objectives],
            "space": problem.space.fingerprint(),
            "evaluators": [e.fingerprint() for e in problem.evaluators],
        }
        self.record = store.open_study(name, settings)
        self.owner = new_owner()
        tactic.setup(problem.space, len(self.objectives), self.seed, exact=CheapObjectives.of(problem))
        self.history = History(problem.space, len(self.objectives))
        self._in_history = 0  # trials (in planning order) the history holds
        self._stored: list[TrialRecord] = []
        self._finished_ids: set[int] = set()
        self._sync(None)
        self.stats = RunStats()

    # ------------------------------------------------------------------ queries
    def trials(self, states: Sequence[str] = (COMPLETE,)) -> list[TrialRecord]:
        return self.store.trials(self.record.id, states)

    @property
    def n_finished(self) -> int:
        return len(self._finished_ids)

    # ------------------------------------------------------------------ the loop
    def optimize(self, budget: int, on_trial: Callable[[TrialRecord, int], None] | None = None) -> RunStats:
        """Run until ``budget`` evaluations (finished or failed) are in the study.

        Args:
            budget: total number of real evaluations for the study, counting earlier runs and
                other processes working on it.
            on_trial: called after each trial this process finishes, and for each trial it sees
                that another process finished, with the trial and the finished count.
        """
        check_budget(budget)
        start = time.perf_counter()
        self.stats = RunStats()
        with contextlib.ExitStack() as stack:
            if self.store.shared:
                stack.callback(Heartbeat(self.store, self.record.id, self.owner, self.lease_s).stop)
            pool = None
            if self._wants_pool() and self.n_finished < budget:  # a pool that cannot start fails before any plan
                pool = stack.enter_context(self._make_pool())
            try:
                while True:
                    self._sync(on_trial)
                    if self.n_finished >= budget:
                        break
                    if any(t.state == WAITING for t in self._stored):
                        if not self._work(budget, on_trial, pool):
                            time.sleep(POLL_S)  # the rest of the batch is measured by other processes
                        continue
                    if not self._plan(budget):
                        break
            except BaseException:
                # Interrupted: what finished is committed; give back the rest at once, so that a
                # rerun (or another process) need not wait for the leases to expire.
                with contextlib.suppress(Exception):
                    self.store.release(self.record.id, self.owner)
                raise
        self._sync(on_trial)
        self.stats.wall_s = time.perf_counter() - start
        return self.stats

    def _work(self, budget: int, on_trial, pool: Pool | None) -> bool:
        """Claim and measure waiting trials until none is left to claim; False if there was none.

        Only claims are read here (the waiting rows); the whole study is read again once per batch.
        """
        worked = False
        while self.n_finished < budget:
            n = min(self._slots(), budget - self.n_finished)
            mine = self.store.claim(self.record.id, self.owner, n, self.lease_s, alive=owner_alive)
            if not mine:
                break
            self._evaluate(mine, on_trial, pool)
            worked = True
        return worked

    def _slots(self) -> int:
        return self.workers

    def _wants_pool(self) -> bool:
        return self.pool_factory is not None or self.workers > 1

    def _make_pool(self) -> Pool:
        names = [o.name for o in self.objectives]
        factory = self.pool_factory or WorkerPool
        return factory(self.problem.evaluators, names, self.workers)

    def _plan(self, budget: int) -> bool:
        """Ask the tactic for the next batch and store it (or adopt it, if another process did); False: none left."""
        batch = self.history.n_batches
        n = min(self.tactic.batch_size(self.history, budget), budget - len(self._stored))
        rng = np.random.default_rng([self.seed, batch])
        genes = self.tactic.ask(self.history, n, rng)
        if len(genes) == 0:
            log.warning("the search space has no unseen configuration left")
            return False
        if len(genes) > n:
            raise RuntimeError(f"tactic {self.tactic.name} proposed {len(genes)} > {n} configurations")
        if batch == 0 and self.problem.seed_configs:
            genes = self._with_seeds(genes, budget - len(self._stored))
        space = self.problem.space
        configs = [space.from_genes(g) for g in genes]
        self.store.plan(self.record.id, batch, [(space.key(c), c) for c in configs], self.tactic.name, self.seed,
                        adopt=True)
        return True

    def _with_seeds(self, genes: np.ndarray, room: int) -> np.ndarray:
        """The problem's seed configurations, then the tactic's first proposals (those that are not
        seeds), ``room`` rows at most: the first batch measures the seeds on top of the tactic's."""
        space = self.problem.space
        seeds = np.array([space.to_genes(space.validate(c)) for c in self.problem.seed_configs])
        both = self.history.unseen(np.vstack([seeds, genes]))  # drops repeats, seeds first
        return both[:room]

    def _sync(self, on_trial) -> None:
        """Read the study back: trials others finished, and the history up to the first unfinished one."""
        self._stored = self.store.trials(self.record.id)
        for t in self._stored:
            if t.state != WAITING and t.id not in self._finished_ids:
                self._finished_ids.add(t.id)
                if on_trial:
                    on_trial(t, self.n_finished)
        for t in self._stored[self._in_history:]:
            if t.state == WAITING:
                break
            self._remember(t)
            self._in_history += 1

    def _evaluate(self, claimed: Sequence[TrialRecord], on_trial, pool: Pool | None) -> None:
        """Measure claimed trials and commit each result as it arrives."""
        if pool is None:
            for trial in claimed:
                measured = self._measure(trial.config)
                self.stats.eval_s += measured[2]
                self._commit(trial, measured, "main", on_trial)
            return
        t0 = time.perf_counter()  # evaluation time is the wall time spent waiting for the workers
        try:
            for i, measured, worker in pool.imap_unordered([t.config for t in claimed]):
                self._commit(claimed[i], measured, worker, on_trial)
        finally:
            self.stats.eval_s += time.perf_counter() - t0

    def _commit(self, trial: TrialRecord, measured: Measured, worker: str, on_trial) -> None:
        """Store a claimed trial finished (one transaction)."""
        metrics, error, duration = measured
        if error is not None:
            log.warning("evaluation failed: %s", error)
        state = COMPLETE if error is None else FAIL
        clean = {k: v for k, v in metrics.items() if v is not None and math.isfinite(v)}
        if not self.store.finish(trial.id, state, clean, error, duration, owner=self.owner, worker=worker):
            return  # another process took over the lease and finished it first: its result stands
        done = TrialRecord(trial.id, trial.number, trial.batch, trial.key, trial.config, state,
                           clean, error, duration, trial.tactic, trial.seed, self.owner, worker)
        self._finished_ids.add(trial.id)
        self.stats.evaluated += 1
        if on_trial:
            on_trial(done, self.n_finished)

    def _measure(self, config: dict) -> Measured:
        """All evaluators' metrics for one configuration, in this process (see ``parallel.measure``)."""
        return measure(self.problem.evaluators, [o.name for o in self.objectives], config)

    def _remember(self, trial: TrialRecord) -> None:
        genes = self.problem.space.to_genes(trial.config)
        f = None
        if trial.state == COMPLETE:
            f = np.array([o.sign * trial.metrics[o.name] for o in self.objectives])
        self.history.add(genes, f, trial.batch)


__all__ = ["COMPLETE", "FAIL", "LEASE_S", "CheapObjectives", "RunStats", "Study", "check_budget", "check_lease",
           "new_owner", "owner_alive"]
