"""Gradual magnitude pruning (Zhu & Gupta 2017): sparsity rises on a cubic schedule while training.

``s_t = s_f + (s_i - s_f) * (1 - (t - t_0) / (n * dt))**3`` for the pruning steps
``t = t_0, t_0 + dt, ..., t_0 + n * dt``: fast pruning early, while the network can still recover,
slow near the end. ``GradualPruner`` re-prunes every ``frequency`` steps and keeps the masks
applied in between; call it after each optimiser step, or pass it as ``Trainer.run(on_step=...)``
(it accepts the trainer's ``(epoch, step_in_epoch, steps_per_epoch, loss)`` call too).
"""

from __future__ import annotations

from tailor.errors import ConfigError
from tailor.sparse.density import check_sparsity
from tailor.sparse.pruning import Pruner


def cubic_sparsity(step: int, final: float, begin: int, end: int, frequency: int = 1, initial: float = 0.0) -> float:
    """Target sparsity at optimiser step ``step`` (held between pruning steps)."""
    final, initial = check_sparsity(final, "final_sparsity"), check_sparsity(initial, "initial_sparsity")
    if end <= begin:
        raise ConfigError("end_step", f"{end} must be after begin_step {begin}")
    if frequency < 1:
        raise ConfigError("frequency", f"{frequency} must be at least 1")
    if step < begin:
        return 0.0  # not pruning yet
    t = min(step, end)
    t = begin + ((t - begin) // frequency) * frequency  # last pruning step reached
    frac = (t - begin) / (end - begin)
    return final + (initial - final) * (1.0 - frac) ** 3


class GradualPruner:
    """Magnitude pruning to ``final`` sparsity on the cubic schedule between ``begin`` and ``end``.

    Args:
        pruner: the layers and masks (block size included).
        final: target sparsity (overall, shared out by ``distribution``).
        begin, end: optimiser steps where pruning starts and reaches ``final``.
        frequency: steps between mask updates (masks stay applied at every step).
    """

    def __init__(self, pruner: Pruner, final: float, begin: int, end: int, frequency: int = 10,
                 distribution: str = "erk", initial: float = 0.0):
        cubic_sparsity(begin, final, begin, end, frequency, initial)  # validates
        self.pruner, self.final, self.begin, self.end = pruner, final, begin, end
        self.frequency, self.distribution, self.initial = frequency, distribution, initial
        self.step = 0
        self.current = 0.0

    def target(self, step: int) -> float:
        return cubic_sparsity(step, self.final, self.begin, self.end, self.frequency, self.initial)

    def update(self, step: int | None = None) -> float:
        """After optimiser step ``step`` (default: the next one): re-prune if due, re-apply masks."""
        self.step = self.step + 1 if step is None else step
        target = self.target(self.step)
        if target > self.current + 1e-12:
            self.pruner.prune(target, self.distribution, "magnitude")
            self.current = target
        else:
            self.pruner.apply()
        return self.current

    def __call__(self, epoch: int, step_in_epoch: int, steps_per_epoch: int, loss: float) -> None:
        """The trainer's ``on_step`` signature: global step = epoch * steps + step in epoch."""
        self.update(epoch * steps_per_epoch + step_in_epoch)
