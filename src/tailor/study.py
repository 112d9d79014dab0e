"""The study: the only module that knows space, evaluators, tactic and store together.

Loop: plan a batch (the tactic's ask, stored as WAITING trials in one transaction), evaluate it,
commit each result as it arrives. A rerun after a crash first finishes the waiting trials of the
interrupted batch, then asks again; tactics are deterministic given (history, seed, batch index),
so the resumed study ends exactly where an uninterrupted one would.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tailor.errors import ConfigError
from tailor.objectives import Objective
from tailor.problems import Problem
from tailor.search import History, Tactic
from tailor.store import COMPLETE, FAIL, WAITING, SQLStore, TrialRecord

log = logging.getLogger(__name__)


@dataclass
class RunStats:
    """Wall time split into evaluation and everything else (the search overhead)."""

    evaluated: int = 0
    eval_s: float = 0.0
    wall_s: float = 0.0

    @property
    def overhead_s(self) -> float:
        return max(self.wall_s - self.eval_s, 0.0)


class Study:
    """Ties a problem, a tactic and a store; ``optimize(budget)`` runs or resumes the search."""

    def __init__(self, problem: Problem, tactic: Tactic, store: SQLStore, name: str = "tailor", seed: int = 0):
        self.problem, self.tactic, self.store, self.seed = problem, tactic, store, int(seed)
        self.objectives: Sequence[Objective] = problem.objectives
        settings = {
            **problem.settings,
            **tactic.describe(),
            "seed": self.seed,
            "objectives": [f"{o.name}:{o.direction}" for o in self.objectives],
            "space": problem.space.fingerprint(),
        }
        self.record = store.open_study(name, settings)
        tactic.setup(problem.space, len(self.objectives), self.seed)
        self.history = History(problem.space, len(self.objectives))
        self._waiting: list[TrialRecord] = []
        for t in store.trials(self.record.id):
            if t.state == WAITING:
                self._waiting.append(t)
            else:
                self._remember(t)
        self.stats = RunStats()

    # ------------------------------------------------------------------ queries
    def trials(self, states: Sequence[str] = (COMPLETE,)) -> list[TrialRecord]:
        return self.store.trials(self.record.id, states)

    @property
    def n_finished(self) -> int:
        return self.history.n_seen

    # ------------------------------------------------------------------ the loop
    def optimize(self, budget: int, on_trial: Callable[[TrialRecord, int], None] | None = None) -> RunStats:
        """Run until ``budget`` evaluations (finished or failed) are in the study.

        Args:
            budget: total number of real evaluations for the study, counting earlier runs.
            on_trial: called after each finished trial with the trial and the finished count.
        """
        if not isinstance(budget, int) or budget < 1:
            raise ConfigError("budget", f"must be an integer >= 1, got {budget!r}")
        start = time.perf_counter()
        self.stats = RunStats()
        if self._waiting:
            todo, self._waiting = self._waiting[: budget - self.n_finished], []
            self._evaluate(todo, on_trial)
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
            space = self.problem.space
            configs = [space.from_genes(g) for g in genes]
            planned = self.store.plan(self.record.id, batch, [(space.key(c), c) for c in configs],
                                      self.tactic.name, self.seed)
            self._evaluate(planned, on_trial)
        self.stats.wall_s = time.perf_counter() - start
        return self.stats

    def _evaluate(self, planned: Sequence[TrialRecord], on_trial) -> None:
        for trial in planned:
            t0 = time.perf_counter()
            metrics, error = self._measure(trial.config)
            duration = time.perf_counter() - t0
            self.stats.eval_s += duration
            self.stats.evaluated += 1
            state = COMPLETE if error is None else FAIL
            clean = {k: v for k, v in metrics.items() if v is not None and math.isfinite(v)}
            self.store.finish(trial.id, state, clean, error, duration)
            done = TrialRecord(trial.id, trial.number, trial.batch, trial.key, trial.config, state,
                               clean, error, duration, trial.tactic, trial.seed)
            self._remember(done)
            if on_trial:
                on_trial(done, self.n_finished)

    def _measure(self, config: dict) -> tuple[dict[str, float], str | None]:
        """All evaluators' metrics for one configuration; an exception or NaN objective fails it."""
        metrics: dict[str, float] = {}
        try:
            for evaluator in self.problem.evaluators:
                metrics.update({k: float(v) for k, v in evaluator.evaluate([config])[0].items()})
        except Exception as e:  # an evaluator's failure is the trial's outcome, not the study's
            log.warning("evaluation failed: %s", e)
            return metrics, f"{type(e).__name__}: {e}"
        for o in self.objectives:
            v = metrics.get(o.name)
            if v is None or not math.isfinite(v):
                return metrics, f"objective {o.name!r} is {v!r}"
        return metrics, None

    def _remember(self, trial: TrialRecord) -> None:
        genes = self.problem.space.to_genes(trial.config)
        f = None
        if trial.state == COMPLETE:
            f = np.array([o.sign * trial.metrics[o.name] for o in self.objectives])
        self.history.add(genes, f, trial.batch)


__all__ = ["COMPLETE", "FAIL", "RunStats", "Study"]
