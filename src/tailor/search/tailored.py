"""tailor's default tactic: predictor-guided batches chosen by hypervolume improvement.

The LINAS idea (measure, fit predictors, search on them, measure the most promising) with six
changes that make each real evaluation count more:
1. The candidate pool is every unseen configuration when the space is small enough to predict
   exhaustively; otherwise a MOEA run on the predictors plus mutations of the measured front.
2. One MLP ensemble predicts every objective (one fit per batch); its spread is an uncertainty,
   and candidates are scored by the hypervolume they would add at an optimistic
   (mean - kappa * std) estimate.
3. Objectives are scaled robustly (``robust_scale``): 0 at the best measured value, 1 at the
   upper Tukey fence of what was measured, and the predictor's targets are clipped at
   ``clip``. A few degenerate sub-networks (a disconnected cell at 10 % accuracy) would
   otherwise stretch the scale until the accuracy differences that decide the front are a
   tenth of it, and dominate the predictor's squared error.
4. Batches are small and picked greedily (each pick's predicted point joins the front before the
   next pick), so one batch spreads along the front instead of piling onto one spot.
5. One pick per batch (``neighbours``) is an unmeasured one-gene neighbour of the measured
   front, drawn at random. The predictor is pessimistic about the true-front cells it has not
   seen (they are the best of their kind, and it regresses to the mean), so hypervolume
   improvement alone never picks some of them; a random front neighbour gives them a chance
   that does not depend on the predictor. On NB201, together with the path features, this
   lifts the 20-seed median at 500 evaluations above 0.99 on every latency column
   (docs/benchmarks.md).
6. Every third batch each objective's mean predictor is re-chosen by validation on the study's
   own measurements (``predictor_choice="validated"``, ``tailor.search.validate``): ridge
   replaces the ensemble's mean where it ranks held-out points clearly better (some devices'
   latency is close to a sum of per-op costs). Chosen on CIFAR-10 x seven devices and checked on
   problems it was not tuned on (docs/benchmarks/search-generalise.md).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pymoo.optimize import minimize

from tailor.options import callable_id
from tailor.predict import MLPEnsemblePredictor
from tailor.search import moea, validate
from tailor.search.acquisition import greedy_batch
from tailor.search.base import Tactic, fill_unseen, unseen_pool
from tailor.search.history import History
from tailor.search.pareto import pareto_mask
from tailor.search.validate import ValidatedModel


class TailorTactic(Tactic):
    name = "tailor"
    predictor_cls = MLPEnsemblePredictor  # ablations swap in a variant

    def __init__(self, n_init: int | None = None, kappa: float = 1.0, batch_fraction: float = 1 / 12,
                 enumerate_limit: int = 50_000, pool_pop: int = 100, pool_generations: int = 30,
                 fence: float | None = 1.5, clip: float | None = 1.2, neighbours: int = 1,
                 neighbour_fraction: float = 0.0, neighbour_pick: str = "random",
                 predictor_choice: str = "validated", validate_every: int = 3, validate_margin: float = 0.05,
                 features: Callable[[np.ndarray], np.ndarray] | None = None):
        """``neighbours``: picks per batch drawn from the measured front's unmeasured one-gene
        neighbours (at least; ``neighbour_fraction`` of the batch if that is more), chosen at
        random, by the smallest optimistic domination gap (``gap``, a trust region around the
        front ranked by the predictor), or alternately (``mixed``). ``predictor_choice``:
        ``ensemble`` (one MLP ensemble for every objective) or ``validated`` (every
        ``validate_every`` batches, each objective's mean predictor re-chosen by 3-fold Kendall tau
        between the ensemble and ridge regression, the ensemble kept unless beaten by more than
        ``validate_margin``; ``tailor.search.validate``), or ``blended`` (the same choice, the
        chosen kind's mean averaged with the ensemble's). ``features``: gene matrix -> predictor
        inputs (default: the space's)."""
        if neighbour_pick not in NEIGHBOUR_PICKS:
            raise ValueError(f"neighbour_pick must be one of {NEIGHBOUR_PICKS}, got {neighbour_pick!r}")
        if predictor_choice not in PREDICTOR_CHOICES:
            raise ValueError(f"predictor_choice must be one of {PREDICTOR_CHOICES}, got {predictor_choice!r}")
        if int(validate_every) < 1:
            raise ValueError(f"validate_every must be at least 1, got {validate_every!r}")
        self.predictor_choice, self.validate_every = predictor_choice, int(validate_every)
        self.validate_margin = float(validate_margin)
        self._choices: dict[tuple[int, int], list[str]] = {}
        self.n_init, self.kappa, self.batch_fraction = n_init, kappa, batch_fraction
        self.fence, self.clip, self.neighbours, self._features = fence, clip, neighbours, features
        self.neighbour_fraction, self.neighbour_pick = neighbour_fraction, neighbour_pick
        self.enumerate_limit, self.pool_pop, self.pool_generations = enumerate_limit, pool_pop, pool_generations

    def setup(self, space, n_obj, seed, exact=None) -> None:
        super().setup(space, n_obj, seed, exact)
        self._choices = {}  # validated choices belong to one study

    def _n_init(self, budget: int) -> int:
        """Random start: 3 per gene (10..30), but at most a quarter of a small budget."""
        return self.n_init or int(min(np.clip(3 * self.space.n_genes, 10, 30), max(5, budget // 4)))

    def batch_size(self, history: History, budget: int) -> int:
        if history.n_batches == 0:
            return self._n_init(budget)
        return int(np.clip(round(len(history) * self.batch_fraction), 4, 20))

    def ask(self, history: History, n: int, rng: np.random.Generator) -> np.ndarray:
        empty = np.empty((0, self.space.n_genes), dtype=np.int64)
        if len(history) < 5:
            return fill_unseen(history, empty, n, rng)
        seed = int(rng.integers(2**31))
        Fn, model = self.fit_predictor(history, seed)

        def predict(genes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return model.predict(self.features(genes))

        pool = unseen_pool(history, self.enumerate_limit)
        if pool is None:
            pool = history.unseen(self._search_pool(history, predict, seed, rng))
        if len(pool) == 0:
            return fill_unseen(history, empty, n, rng)
        mean, std = predict(pool)
        if self.exact is not None:  # cheap objectives (MACs, params): computed, not predicted
            exact = self.exact(pool)
            known = ~np.isnan(exact)
            lo, span = robust_bounds(history.F, self.fence)
            mean = np.where(known, (np.nan_to_num(exact) - lo) / span, mean)
            std = np.where(known, 0.0, std)
        optimistic = mean - self.kappa * std
        on_front = pareto_mask(Fn)
        ref = np.full(self.n_obj, 1.1)
        n_near = min(max(self.neighbours, round(n * self.neighbour_fraction)), n - 1)
        chosen = pool[greedy_batch(Fn[on_front], optimistic, mean, n - n_near, ref)]
        if n_near > 0:
            near = self.space.neighbour_genes(history.genes[on_front])
            near = history.unseen(np.vstack([chosen, near]))[len(chosen):]
            chosen = np.vstack([chosen, self._pick_neighbours(near, n_near, Fn[on_front], predict, rng)])
        return fill_unseen(history, chosen, n, rng)

    def _pick_neighbours(self, near: np.ndarray, k: int, front: np.ndarray, predict,
                         rng: np.random.Generator) -> np.ndarray:
        """``k`` of the unmeasured front neighbours ``near``: random ones, or those whose
        optimistic point lies closest to the measured front (``domination_gap``)."""
        order = rng.permutation(len(near))
        if self.neighbour_pick == "random" or len(near) <= k:
            return near[order[:k]]
        mean, std = predict(near)
        by_gap = np.argsort(domination_gap(front, mean - self.kappa * std), kind="stable")
        if self.neighbour_pick == "gap":
            return near[by_gap[:k]]
        picks: list[int] = []  # mixed: random first, then the smallest gap, alternately
        for i in range(k):
            source = order if i % 2 == 0 else by_gap
            picks.append(int(next(j for j in source if j not in picks)))
        return near[picks]

    def features(self, genes: np.ndarray) -> np.ndarray:
        return self.space.encode_genes(genes, "features") if self._features is None else self._features(genes)

    def fit_predictor(self, history: History, seed: int) -> tuple[np.ndarray, MLPEnsemblePredictor | ValidatedModel]:
        """The measured objectives, robustly scaled, and one ensemble fitted to all of them
        (targets clipped at ``clip``), plus the validated kinds' means where they were chosen;
        benchmarks refit it the same way to inspect it."""
        Fn, targets, X = self._targets(history.genes, history.F)
        ensemble = self.predictor_cls(seed=seed).fit(X, targets)
        if self.predictor_choice == "ensemble":
            return Fn, ensemble
        blend = 0.5 if self.predictor_choice == "blended" else 1.0
        return Fn, validate.fit_chosen(ensemble, X, targets, self.chosen_predictors(history), seed, blend)

    def _targets(self, genes: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        Fn = robust_scale(F, self.fence)
        return Fn, (Fn if self.clip is None else np.minimum(Fn, self.clip)), self.features(genes)

    def chosen_predictors(self, history: History) -> list[str]:
        """Each objective's predictor kind, chosen at the last batch index that is a multiple of
        ``validate_every`` from the trials of the batches before it: a function of the history
        alone (cached), so resumed and uninterrupted studies choose alike."""
        b0 = history.n_batches - history.n_batches % self.validate_every
        rows = history.batches < b0
        key = (b0, int(rows.sum()))
        if key not in self._choices:
            if key[1] < 5 * VALIDATE_FOLDS:
                self._choices[key] = [validate.ENSEMBLE] * self.n_obj
            else:
                _, targets, X = self._targets(history.genes[rows], history.F[rows])
                scores = validate.validation_scores(
                    X, targets, validate.CANDIDATES, VALIDATE_FOLDS, (self.seed * 7919 + b0) % 2**31,
                    lambda s: self.predictor_cls(seed=s))
                self._choices[key] = validate.choose(scores, self.validate_margin)
        return self._choices[key]

    def _search_pool(self, history: History, predict, seed: int, rng: np.random.Generator) -> np.ndarray:
        """Candidates for spaces too big to enumerate: a MOEA on the predictors' optimistic values,
        mutations of the measured front, and random samples."""
        front_genes = history.genes[pareto_mask(history.F)]
        mutants = self.space.mutate_genes(np.repeat(front_genes, 20, axis=0), rng)
        random = self.space.sample_genes(rng, 500)

        def objective(genes: np.ndarray) -> np.ndarray:
            mean, std = predict(genes)
            return mean - self.kappa * std

        problem = moea.GeneProblem(self.space, self.n_obj, objective=objective)
        algorithm = moea.make_algorithm("nsga2", self.pool_pop, self.n_obj)
        result = minimize(problem, algorithm, ("n_gen", self.pool_generations), seed=seed,
                          verbose=False, save_history=False)
        evolved = np.clip(np.round(result.pop.get("X")).astype(np.int64), 0, self.space.cardinalities - 1)
        return np.vstack([evolved, mutants, random])

    def describe(self) -> dict:
        # the neighbour-pick options appear only when set, so studies begun before they existed
        # resume; the predictor choice appears unless it is the pre-issue-23 ``ensemble``, so such
        # a study resumes with ``predictor_choice=ensemble`` and is refused (one line) without it
        extra = {k: v for k, v in (("neighbour_fraction", self.neighbour_fraction),
                                   ("neighbour_pick", self.neighbour_pick)) if v != NEIGHBOUR_DEFAULTS[k]}
        if self.predictor_choice != "ensemble":
            extra.update(predictor_choice=self.predictor_choice, validate_every=self.validate_every,
                         validate_margin=self.validate_margin)
        return {"tactic": self.name, "kappa": self.kappa, "n_init": self.n_init,
                "batch_fraction": self.batch_fraction, "fence": self.fence, "clip": self.clip,
                "neighbours": self.neighbours, **extra, "enumerate_limit": self.enumerate_limit,
                "pool_pop": self.pool_pop,
                "pool_generations": self.pool_generations, "features": callable_id(self._features),
                "predictor": callable_id(self.predictor_cls)}


NEIGHBOUR_PICKS = ("random", "gap", "mixed")
PREDICTOR_CHOICES = ("ensemble", "validated", "blended")
VALIDATE_FOLDS = 3
NEIGHBOUR_DEFAULTS = {"neighbour_fraction": 0.0, "neighbour_pick": "random"}


def domination_gap(front: np.ndarray, points: np.ndarray) -> np.ndarray:
    """How far each point must move (the same amount on every objective) until no front point
    dominates it: max over the front of min over objectives of (point - front); <= 0 when it is
    not dominated."""
    return (points[:, None, :] - front[None, :, :]).min(axis=2).max(axis=1)


def robust_scale(F: np.ndarray, fence: float | None = 1.5) -> np.ndarray:
    """Each column scaled to 0 at its minimum and 1 at its upper Tukey fence, Q3 + fence * IQR
    (or its maximum, if lower). Values beyond the fence land above 1: outliers in the bad
    direction keep their order but no longer set the scale. ``fence=None``: min-max scaling."""
    lo, span = robust_bounds(F, fence)
    return (F - lo) / span


def robust_bounds(F: np.ndarray, fence: float | None = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Offset and span of ``robust_scale`` per column, to put other points on the same scale."""
    lo, hi = F.min(axis=0), F.max(axis=0)
    if fence is not None:
        q1, q3 = np.percentile(F, [25, 75], axis=0)
        fenced = q3 + fence * (q3 - q1)
        # most values tied at the minimum collapse the fence onto it: keep the maximum then
        hi = np.where(fenced > lo, np.minimum(hi, fenced), hi)
    return lo, np.where(hi > lo, hi - lo, 1.0)
