"""Path samplers: which sub-networks of a super-network are trained at each step.

Lifecycle, per optimiser step: the trainer calls ``set_progress(fraction of training done)``,
then ``plan(rng)`` for the configurations to train (their gradients are accumulated), then
``after_backward(supernet, configs)`` once all backward passes ran and before the optimiser
step (where PA&DA reads gradient norms). ``state_dict``/``load_state_dict`` round-trip through
checkpoints as plain Python/NumPy data.

* ``spos``: one uniformly random path per step (Guo et al., Single Path One-Shot).
* ``fairnas``: k paths per step such that every value of every choice is trained exactly once
  (Chu et al., FairNAS); choices with fewer values than the largest repeat a random permutation.
* ``sandwich``: the largest, the smallest and ``num_random`` random paths; with in-place
  distillation the largest (first) teaches the others (Yu et al., BigNAS / slimmable nets).
* ``padad``: PA&DA's path half (Lu et al., CVPR 2023): per choice a categorical distribution
  proportional to an EMA of each candidate's gradient norm, mixed with uniform by ``tau``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.space import Config, SearchSpace
from tailor.supernets.base import HasChoiceParameters, HasExtremes

PATH_SAMPLERS = ("sandwich", "spos", "fairnas", "padad")
PARAM_FREE_POLICIES = ("mean", "zero")


def tau_at(progress: float, ramp: float = 1.0) -> float:
    """Linear schedule: 0 (uniform) at the start, 1 (pure importance) after ``ramp`` of training."""
    if ramp <= 0:
        return 1.0
    return float(min(1.0, max(0.0, progress / ramp)))


def _grad_norms(groups: list[list[nn.Parameter]]) -> list[float | None]:
    """L2 norm of the gradients of each parameter group; ``None`` where no parameter has one."""
    flat: list[torch.Tensor] = []
    owner: list[int] = []
    for i, params in enumerate(groups):
        for p in params:
            if p.grad is not None:
                flat.append(p.grad)
                owner.append(i)
    out: list[float | None] = [None] * len(groups)
    if not flat:
        return out
    norms = torch.stack(torch._foreach_norm(flat)).tolist()  # one tensor op, then plain floats
    sums = [0.0] * len(groups)
    for i, norm in zip(owner, norms, strict=True):
        sums[i] += norm * norm
        out[i] = 0.0
    return [None if o is None else float(np.sqrt(s)) for o, s in zip(out, sums, strict=True)]


class PathSampler:
    """Base: uniform single path. Subclasses override ``plan`` (and the hooks they need)."""

    name = "spos"
    distill = False  # whether plan()[0] is a teacher for the others

    def __init__(self, space: SearchSpace):
        self.space = space
        self.progress = 0.0

    def set_progress(self, progress: float) -> None:
        self.progress = float(progress)

    def plan(self, rng: np.random.Generator) -> list[Config]:
        return [self.space.sample(rng)]

    def after_backward(self, supernet: nn.Module, configs: list[Config]) -> None:
        """Runs after the backward passes of ``configs``, before the optimiser step."""

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "progress": self.progress}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != self.name:
            raise ConfigError("checkpoint.sampler", f"holds {state.get('name')!r}, not {self.name!r}")
        self.progress = float(state["progress"])


class UniformPathSampler(PathSampler):
    """SPOS: one path per step, every value of every choice equally likely."""


class FairPathSampler(PathSampler):
    """FairNAS strict fairness: ``max_k`` paths per step, each value of each choice once."""

    name = "fairnas"

    def plan(self, rng: np.random.Generator) -> list[Config]:
        card = self.space.cardinalities
        m = int(card.max())
        cols = []
        for k in card:
            reps = -(-m // int(k))
            cols.append(np.concatenate([rng.permutation(int(k)) for _ in range(reps)])[:m])
        genes = np.stack(cols, axis=1)  # (m, n_genes)
        return [self.space.from_genes(g) for g in genes]


class SandwichPathSampler(PathSampler):
    """Largest, smallest and ``num_random`` random paths; the largest teaches when ``distill``."""

    name = "sandwich"

    def __init__(
        self,
        space: SearchSpace,
        num_random: int = 2,
        distill: bool = True,
        extremes: tuple[Config, Config] | None = None,
    ):
        super().__init__(space)
        if num_random < 0:
            raise ConfigError("num_random", f"must be >= 0, got {num_random}")
        self.num_random, self.distill = num_random, distill
        self.smallest, self.largest = extremes or (space.extreme("min"), space.extreme("max"))

    def plan(self, rng: np.random.Generator) -> list[Config]:
        return [self.largest, self.smallest] + [self.space.sample(rng) for _ in range(self.num_random)]


class PadaPathSampler(PathSampler):
    """PA&DA path importance sampling.

    One categorical distribution per gene (per edge of a cell space, per block choice of an
    elastic space). A candidate's score is an EMA (factor ``ema``) of the gradient norm of its
    own parameters (from the optional ``choice_parameters()`` of the super-network); families
    without it use the *generic score*: the gradient norm of the whole active path, credited to
    every candidate that was active. The importance distribution (scores normalised per gene) is
    mixed with uniform by ``tau_at(progress, ramp)``, then the floor is applied::

        p = floor / k + (1 - floor) * ((1 - tau) / k + tau * score / sum(score))

    ``floor`` (default 0.1) keeps every candidate at >= ``floor / k``, so none is starved.

    Parameter-free candidates (none, skip, pool) have no gradient of their own. ``param_free``
    chooses their score: ``"zero"`` (default, the published code's behaviour: score 0, so at
    tau = 1 only the floor keeps them in training, with probability ``floor / k`` each) or
    ``"mean"`` (the mean score of the other candidates of the same gene: they keep their uniform
    share). The default is measured, not inherited: on the ranking benchmark
    (docs/benchmarks.md, section 3) "zero" ranked better (Kendall tau 0.754 +- 0.017 against
    0.710 +- 0.052 over 5 seeds): parameter-free ops need little training to be ranked, so the
    steps go to the convolutions. The floor keeps it from starving them entirely.
    Candidates never observed are treated like ``"mean"``; equal scores give uniform sampling.
    """

    name = "padad"

    def __init__(
        self,
        space: SearchSpace,
        ema: float = 0.9,
        floor: float = 0.1,
        ramp: float = 1.0,
        param_free: str = "zero",
    ):
        super().__init__(space)
        if not 0.0 <= ema < 1.0:
            raise ConfigError("path_ema", f"must be in [0, 1), got {ema!r}")
        if not 0.0 <= floor <= 1.0:
            raise ConfigError("path_floor", f"must be in [0, 1], got {floor!r}")
        if param_free not in PARAM_FREE_POLICIES:
            raise ConfigError("param_free", f"got {param_free!r}", PARAM_FREE_POLICIES)
        self.ema, self.floor, self.ramp, self.param_free = ema, floor, ramp, param_free
        self.card = space.cardinalities.astype(int)
        self.k_max = int(self.card.max())
        # scores[g, v]: NaN = never observed (also the padding beyond a gene's cardinality)
        self.scores = np.full((space.n_genes, self.k_max), np.nan)
        self._valid = np.arange(self.k_max)[None, :] < self.card[:, None]
        self._uniform = self._valid / self.card[:, None]
        self._groups: list[list[list[nn.Parameter]]] | None = None
        self._supernet_id: int | None = None
        self._planned: tuple[Config, np.ndarray] | None = None

    @property
    def tau(self) -> float:
        return tau_at(self.progress, self.ramp)

    def probabilities(self) -> np.ndarray:
        """(n_genes, k_max) matrix; row g sums to 1 over its first ``card[g]`` columns."""
        seen = ~np.isnan(self.scores)  # padding is NaN, so seen implies valid
        filled = np.where(seen, self.scores, 0.0)
        count = seen.sum(axis=1, keepdims=True)
        # a candidate not observed yet gets its gene's mean score (1 where nothing is observed)
        mean = np.where(count > 0, filled.sum(axis=1, keepdims=True) / np.maximum(count, 1), 1.0)
        filled += (self._valid & ~seen) * mean
        total = filled.sum(axis=1, keepdims=True)
        q = np.divide(filled, total, out=self._uniform.copy(), where=total > 0)
        # floor * u + (1 - floor) * ((1 - tau) * u + tau * q), as one mix of u and q
        w = (1.0 - self.floor) * self.tau
        return (1.0 - w) * self._uniform + w * q

    def plan(self, rng: np.random.Generator) -> list[Config]:
        probs = self.probabilities()
        cdf = np.cumsum(probs, axis=1)
        u = rng.random(len(cdf)) * cdf[:, -1]
        genes = np.minimum((cdf < u[:, None]).sum(axis=1), self.card - 1)
        config = self.space.from_genes(genes)
        self._planned = (config, genes)  # after_backward reuses the genes (no to_genes)
        return [config]

    # ------------------------------------------------------------------ scoring
    def _bind(self, supernet: nn.Module) -> None:
        """Per gene and value, that candidate's parameters (or ``None``: generic score)."""
        self._supernet_id = id(supernet)
        if not isinstance(supernet, HasChoiceParameters):
            self._groups = None
            return
        table = supernet.choice_parameters()
        groups: list[list[list[nn.Parameter]]] = []
        for c in self.space.choices:
            for b in range(c.n_genes):
                groups.append([list(table.get((c.name, b, v), [])) for v in range(len(c.values))])
        self._groups = groups

    def _update(self, g: int, v: int, norm: float) -> None:
        old = self.scores[g, v]
        self.scores[g, v] = norm if np.isnan(old) else self.ema * old + (1.0 - self.ema) * norm

    def _active_genes(self, config: Config) -> np.ndarray:
        """Value index per gene, -1 where the space's ``canonicalize`` marks it unused."""
        if self._planned is not None and self._planned[0] is config:
            genes = self._planned[1].copy()
        else:
            genes = self.space.to_genes(config)
        if self.space.canonicalize is None:
            return genes
        canon = self.space.canonical(config)
        start = 0
        for c in self.space.choices:
            values = [canon[c.name]] if c.repeat is None else canon[c.name]
            for b, v in enumerate(values):
                if v is None:
                    genes[start + b] = -1
            start += c.n_genes
        return genes

    def after_backward(self, supernet: nn.Module, configs: list[Config]) -> None:
        if self._supernet_id != id(supernet):
            self._bind(supernet)
        for config in configs:
            genes = self._active_genes(config)
            if self._groups is None:  # generic score: the whole path's gradient norm
                params = [p for p in supernet.parameters() if p.grad is not None]
                (norm,) = _grad_norms([params])
                if norm is not None:
                    for g, v in enumerate(genes):
                        if v >= 0:
                            self._update(g, int(v), norm)
                continue
            norms = _grad_norms([self._groups[g][int(v)] if v >= 0 else [] for g, v in enumerate(genes)])
            for g, (v, norm) in enumerate(zip(genes, norms, strict=True)):
                if v < 0:
                    continue
                if norm is not None:
                    self._update(g, int(v), norm)
                elif self.param_free == "zero" and not self._groups[g][int(v)]:
                    self._update(g, int(v), 0.0)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "scores": self.scores.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        scores = np.asarray(state["scores"], dtype=float)
        if scores.shape != self.scores.shape:
            raise ConfigError("checkpoint.sampler", "scores do not match the search space")
        self.scores = scores


def make_path_sampler(name: str, space: SearchSpace, supernet: nn.Module | None = None, **options: Any) -> PathSampler:
    """Build a path sampler by name; ``options`` are that sampler's keyword arguments."""
    if name == "spos":
        return UniformPathSampler(space)
    if name == "fairnas":
        return FairPathSampler(space)
    if name == "sandwich":
        extremes = supernet.extreme_configs() if isinstance(supernet, HasExtremes) else None
        return SandwichPathSampler(space, extremes=extremes, **options)
    if name == "padad":
        return PadaPathSampler(space, **options)
    raise ConfigError("sampler", f"unknown sampler {name!r}", PATH_SAMPLERS)
