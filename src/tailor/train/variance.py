"""Estimate of the variance of the stochastic step gradient, per epoch.

tr(Cov[g]) = E||g||^2 - ||E g||^2 over the steps of an epoch, with ``g`` the full flattened
gradient the optimiser receives (zero for parameters off the sampled paths). This is the
quantity PA&DA claims to reduce. The mean drifts within an epoch as the weights move, so the
estimate is an upper bound on the sampling variance; it is comparable between samplers that
take the same number of steps at the same learning rate.
"""

from __future__ import annotations

import torch
from torch import nn


class GradVarianceTracker:
    """Accumulates sum(g) and sum(||g||^2) in float64; ``end_epoch`` closes one estimate."""

    def __init__(self, model: nn.Module):
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.size = sum(p.numel() for p in self.params)
        self.history: list[float] = []
        self.mean_sq_norms: list[float] = []  # ||E g||^2 per epoch, for relative variance
        self._reset()

    def _reset(self) -> None:
        self.total = torch.zeros(self.size, dtype=torch.float64)
        self.sq = 0.0
        self.count = 0

    def update(self) -> None:
        """Read the current ``.grad`` of every parameter (call before the optimiser step)."""
        g = torch.cat(
            [p.grad.reshape(-1) if p.grad is not None else p.new_zeros(p.numel()) for p in self.params]
        ).double()
        self.total += g
        self.sq += float(g.dot(g))
        self.count += 1

    def end_epoch(self) -> float | None:
        if self.count < 2:
            self._reset()
            return None
        mean = self.total / self.count
        mean_sq = float(mean.dot(mean))
        value = self.sq / self.count - mean_sq
        self.history.append(value)
        self.mean_sq_norms.append(mean_sq)
        self._reset()
        return value
