"""The study: the only module that knows space, evaluators, tactic and store together.

Loop: plan a batch (the tactic's ask, stored as WAITING trials in one transaction), evaluate it,
commit each result as it arrives. A rerun after a crash first finishes the waiting trials of the
interrupted batch, then asks again; tactics are deterministic given (history, seed, batch index),
so the resumed study ends exactly where an uninterrupted one would.

With ``workers > 1`` a batch is measured by a pool of local processes (``tailor.parallel``) that
lives for one ``optimize`` call. Results are committed by this process in the order they arrive,
but enter the history only when the whole batch is in, in planning order, so the search does not
depend on which worker finished first.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tailor.errors import ConfigError
from tailor.objectives import Objective
from tailor.parallel import Measured, WorkerPool, check_workers, measure
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


class Study:
    """Ties a problem, a tactic and a store; ``optimize(budget)`` runs or resumes the search.

    ``workers`` is how many local processes measure a batch (1: in this process). It is not part
    of the study's settings: any number of workers gives the same study.
    """

    def __init__(self, problem: Problem, tactic: Tactic, store: SQLStore, name: str = "tailor", seed: int = 0,
                 workers: int = 1):
        self.workers = check_workers(workers)
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
        tactic.setup(problem.space, len(self.objectives), self.seed, exact=CheapObjectives.of(problem))
        self.history = History(problem.space, len(self.objectives))
        self._waiting: list[TrialRecord] = []
        # Finished trials not yet in the history: it takes them in planning order, so one that
        # finished before a trial planned ahead of it (parallel workers) waits for that one.
        self._held: list[TrialRecord] = []
        stored = store.trials(self.record.id)
        first_waiting = min((t.number for t in stored if t.state == WAITING), default=math.inf)
        for t in stored:
            if t.state == WAITING:
                self._waiting.append(t)
            elif t.number < first_waiting:
                self._remember(t)
            else:
                self._held.append(t)
        self.stats = RunStats()

    # ------------------------------------------------------------------ queries
    def trials(self, states: Sequence[str] = (COMPLETE,)) -> list[TrialRecord]:
        return self.store.trials(self.record.id, states)

    @property
    def n_finished(self) -> int:
        return self.history.n_seen + len(self._held)

    # ------------------------------------------------------------------ the loop
    def optimize(self, budget: int, on_trial: Callable[[TrialRecord, int], None] | None = None) -> RunStats:
        """Run until ``budget`` evaluations (finished or failed) are in the study.

        Args:
            budget: total number of real evaluations for the study, counting earlier runs.
            on_trial: called after each finished trial (in the order they finish) with the trial
                and the finished count.
        """
        check_budget(budget)
        start = time.perf_counter()
        self.stats = RunStats()
        with contextlib.ExitStack() as stack:
            pool = None
            if self.workers > 1 and self.n_finished < budget:
                names = [o.name for o in self.objectives]
                pool = stack.enter_context(WorkerPool(self.problem.evaluators, names, self.workers))
            if self._waiting or self._held:
                todo, self._waiting = self._waiting[: max(budget - self.n_finished, 0)], []
                self._evaluate(todo, on_trial, pool)
            while self.n_finished < budget:
                batch = self.history.n_batches
                n = min(self.tactic.batch_size(self.history, budget), budget - self.n_finished)
                rng = np.random.default_rng([self.seed, batch])
                genes = self.tactic.ask(self.history, n, rng)
                if len(genes) == 0:
                    log.warning("the search space has no unseen configuration left")
                    break
                if len(genes) > n:
                    raise RuntimeError(f"tactic {self.tactic.name} proposed {len(genes)} > {n} configurations")
                if batch == 0 and self.problem.seed_configs:
                    genes = self._with_seeds(genes, budget - self.n_finished)
                space = self.problem.space
                configs = [space.from_genes(g) for g in genes]
                planned = self.store.plan(self.record.id, batch, [(space.key(c), c) for c in configs],
                                          self.tactic.name, self.seed)
                self._evaluate(planned, on_trial, pool)
        self.stats.wall_s = time.perf_counter() - start
        return self.stats

    def _with_seeds(self, genes: np.ndarray, room: int) -> np.ndarray:
        """The problem's seed configurations, then the tactic's first proposals (those that are not
        seeds), ``room`` rows at most: the first batch measures the seeds on top of the tactic's."""
        space = self.problem.space
        seeds = np.array([space.to_genes(space.validate(c)) for c in self.problem.seed_configs])
        both = self.history.unseen(np.vstack([seeds, genes]))  # drops repeats, seeds first
        return both[:room]

    def _evaluate(self, planned: Sequence[TrialRecord], on_trial, pool: WorkerPool | None) -> None:
        """Measure a planned batch, commit each result as it arrives, then extend the history."""
        unfinished = dict(enumerate(planned))
        try:
            if pool is None:
                for i, trial in enumerate(planned):
                    measured = self._measure(trial.config)
                    self.stats.eval_s += measured[2]
                    self._commit(i, unfinished, measured, on_trial)
            else:  # evaluation time is the wall time spent waiting for the workers
                t0 = time.perf_counter()
                try:
                    for i, measured in pool.imap_unordered([t.config for t in planned]):
                        self._commit(i, unfinished, measured, on_trial)
                finally:
                    self.stats.eval_s += time.perf_counter() - t0
        except BaseException:
            # Interrupted: what finished is committed and held; the rest is still WAITING in the
            # store, and a further optimize() resumes it exactly as a new Study would.
            self._waiting = [unfinished[i] for i in sorted(unfinished)]
            raise
        for trial in sorted(self._held, key=lambda t: t.number):
            self._remember(trial)
        self._held = []

    def _commit(self, i: int, unfinished: dict[int, TrialRecord], measured: Measured, on_trial) -> None:
        """Store planned trial ``i`` finished (one transaction), then hold it for the history."""
        trial = unfinished[i]
        metrics, error, duration = measured
        if error is not None:
            log.warning("evaluation failed: %s", error)
        state = COMPLETE if error is None else FAIL
        clean = {k: v for k, v in metrics.items() if v is not None and math.isfinite(v)}
        self.store.finish(trial.id, state, clean, error, duration)
        done = TrialRecord(trial.id, trial.number, trial.batch, trial.key, trial.config, state,
                           clean, error, duration, trial.tactic, trial.seed)
        del unfinished[i]
        self._held.append(done)
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


__all__ = ["COMPLETE", "FAIL", "CheapObjectives", "RunStats", "Study", "check_budget"]
