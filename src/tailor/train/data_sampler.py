"""Data samplers: the order (and multiplicity) of training examples in each epoch.

``UniformDataSampler`` shuffles (every example once per epoch). ``ImportanceDataSampler`` is
PA&DA's data half: an example's score is the norm of the loss gradient w.r.t. its logits,
``||softmax(z) - onehot(y)||`` for cross-entropy, taken from the forward pass the step already
ran (no extra backward). Once per epoch the examples are resampled with replacement
(``torch.utils.data.WeightedRandomSampler``) with probabilities

    p_i = (1 - tau) / N + tau * s_i / sum(s)

so ``tau = 0`` is uniform. Examples not drawn in an epoch keep their last score; before their
first observation every score is 1. To keep the per-step cost near zero, ``observe`` only keeps
a reference to the step's detached logits; scores are computed in one batched call every
``flush_every`` steps and at the end of each epoch (``flush``), before the next resampling.
With ``importance_weights`` the trainer multiplies each example's loss by ``1 / (N p_i)``,
which makes the epoch's loss an unbiased estimate of the uniform mean (PA&DA's published code
trains unweighted, hence the default ``False``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import WeightedRandomSampler

from tailor.errors import ConfigError


def logit_gradient_norm(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-example ``||softmax(z) - onehot(y)||``: the cross-entropy gradient w.r.t. the logits."""
    with torch.no_grad():
        p = torch.softmax(logits.detach().float(), dim=1)
        # ||p - e_y||^2 = ||p||^2 - 2 p_y + 1, without building the one-hot matrix
        sq = (p * p).sum(dim=1) - 2.0 * p.gather(1, targets[:, None]).squeeze(1) + 1.0
        return sq.clamp_min(0.0).sqrt()


class UniformDataSampler:
    """A fresh permutation each epoch; unit loss weights."""

    importance_weights = False

    def __init__(self, n: int):
        if n < 1:
            raise ConfigError("data", "the training split is empty")
        self.n = n

    def epoch_indices(self, tau: float, generator: torch.Generator) -> torch.Tensor:
        return torch.randperm(self.n, generator=generator)

    def draw(self, size: int, generator: torch.Generator) -> torch.Tensor:
        """One batch from this epoch's distribution, outside the epoch's order (variance probes)."""
        return torch.randperm(self.n, generator=generator)[:size]

    def observe(self, indices: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        """Called with each step's first forward pass; uniform sampling ignores it."""

    def flush(self) -> None:
        """Runs at the end of each epoch: finish any deferred scoring."""

    def loss_weights(self, indices: torch.Tensor) -> torch.Tensor | None:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {"name": "uniform"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != "uniform":
            raise ConfigError("checkpoint.data_sampler", f"holds {state.get('name')!r}, not 'uniform'")


class ImportanceDataSampler(UniformDataSampler):
    """PA&DA data importance sampling (see the module docstring)."""

    def __init__(self, n: int, importance_weights: bool = False, flush_every: int = 64):
        super().__init__(n)
        self.importance_weights = importance_weights
        self.flush_every = flush_every
        self.scores = torch.ones(n, dtype=torch.float64)
        self.probs = torch.full((n,), 1.0 / n, dtype=torch.float64)
        self._pending: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def probabilities(self, tau: float) -> torch.Tensor:
        if not 0.0 <= tau <= 1.0:
            raise ConfigError("tau", f"must be in [0, 1], got {tau!r}")
        self.flush()
        total = float(self.scores.sum())
        q = self.scores / total if total > 0 else torch.full_like(self.scores, 1.0 / self.n)
        return (1.0 - tau) / self.n + tau * q

    def epoch_indices(self, tau: float, generator: torch.Generator) -> torch.Tensor:
        self.probs = self.probabilities(tau)
        sampler = WeightedRandomSampler(self.probs, self.n, replacement=True, generator=generator)
        return torch.tensor(list(sampler), dtype=torch.int64)

    def draw(self, size: int, generator: torch.Generator) -> torch.Tensor:
        return torch.multinomial(self.probs, size, replacement=True, generator=generator)

    def observe(self, indices: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        self._pending.append((indices, logits.detach(), targets))
        if len(self._pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Turn the kept logits into scores (one batched computation)."""
        if not self._pending:
            return
        idx, logits, targets = (torch.cat(t) for t in zip(*self._pending, strict=True))
        self._pending.clear()
        self.scores[idx] = logit_gradient_norm(logits, targets).to(torch.float64)

    def loss_weights(self, indices: torch.Tensor) -> torch.Tensor | None:
        if not self.importance_weights:
            return None
        return (1.0 / (self.n * self.probs[indices])).float()

    def state_dict(self) -> dict[str, Any]:
        self.flush()
        return {"name": "importance", "scores": self.scores.clone(), "probs": self.probs.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != "importance":
            raise ConfigError("checkpoint.data_sampler", f"holds {state.get('name')!r}, not 'importance'")
        if len(state["scores"]) != self.n:
            raise ConfigError("checkpoint.data_sampler", "scores do not match the training split")
        self._pending.clear()
        self.scores = torch.as_tensor(state["scores"], dtype=torch.float64).clone()
        self.probs = torch.as_tensor(state["probs"], dtype=torch.float64).clone()
