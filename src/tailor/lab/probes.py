"""Research probes on super-network training: gradient variance and the samplers' own cost.

None of this changes what a ``Trainer`` trains: the probes run in the trainer's two hooks
(``on_epoch_start``, ``on_gradients``), draw from their own random streams, restore what they
touch, and are excluded from the epoch's timing.

* ``GradVarianceTracker``: tr(Cov[g]) = E||g||^2 - ||E g||^2 over the steps of an epoch, with
  ``g`` the full flattened gradient the optimiser receives (zero for parameters off the sampled
  paths). This is the quantity PA&DA claims to reduce. The mean drifts within an epoch as the
  weights move, so the estimate is an upper bound on the sampling variance; it is comparable
  between samplers that take the same number of steps at the same learning rate.
* ``probe_grad_variance``: the same variance at frozen weights, from fresh draws (pure
  sampling variance), from the trainer's samplers or as SPOS would draw.
* ``ProbedTrainer``: a ``Trainer`` whose epoch records also hold the in-run variance, the
  per-epoch probe, and the thread CPU time its samplers spent choosing and scoring paths and
  data (``sampler_step_seconds``: the samplers' own cost, insensitive to other processes
  preempting this one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.train.data import DataSplit
from tailor.train.data_sampler import UniformDataSampler
from tailor.train.paths import UniformPathSampler
from tailor.train.spec import TrainSpec
from tailor.train.trainer import StepCallback, Trainer

# the sampler methods a training step or epoch calls; the time spent in them is the samplers' own
PATH_SAMPLER_CALLS = ("set_progress", "plan", "after_backward")
DATA_SAMPLER_CALLS = ("epoch_indices", "loss_weights", "observe", "flush")


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


def probe_grad_variance(trainer: Trainer, draws: int, uniform: bool = False) -> tuple[float, float]:
    """(tr Cov, ||mean||^2) of the step gradient at the trainer's current, frozen weights.

    ``draws`` fresh (paths, batch) pairs from the samplers' current distributions, each
    backpropagated as a training step would be (same loss weights), but no step is taken.
    Unlike the in-run tracker, this is pure sampling variance: the weights do not move
    between draws. ``uniform``: draw as SPOS would instead (one uniform path, a uniform
    batch, unit weights), which gives the baseline's variance at *these* weights, so two
    samplers compare at one point rather than along two different trajectories. The probe
    uses its own random streams and restores the batch-norm buffers and gradients, so the run
    it probes trains exactly as it would without it.
    """
    if draws < 2:
        raise ConfigError("probe_draws", f"needs at least 2 draws, got {draws}")
    trainer.path_sampler.set_progress(trainer.step / (trainer.config.epochs * trainer.steps_per_epoch))
    rng = np.random.default_rng([trainer.config.seed, trainer.epoch, 7, int(uniform)])
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    paths = UniformPathSampler(trainer.space) if uniform else trainer.path_sampler
    data = UniformDataSampler(len(trainer.x_train)) if uniform else trainer.data_sampler
    buffers = {k: v.clone() for k, v in trainer.supernet.named_buffers()}
    tracker = GradVarianceTracker(trainer.supernet)
    try:
        for _ in range(draws):
            configs = paths.plan(rng)
            idx = data.draw(trainer.config.batch_size, generator)
            trainer.optimizer.zero_grad(set_to_none=True)
            trainer._backward(trainer.x_train[idx], trainer.y_train[idx], idx, configs, data.loss_weights(idx), False)
            tracker.update()
    finally:
        trainer.optimizer.zero_grad(set_to_none=True)
        trainer.supernet.load_state_dict(buffers, strict=False)
    variance = tracker.end_epoch()
    return float(variance), tracker.mean_sq_norms[-1]


class SamplerClock:
    """Thread CPU time spent inside timed calls; ``paused()`` stops counting for a while."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._paused = 0

    @contextmanager
    def paused(self) -> Iterator[None]:
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    def timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self._paused:
                return fn(*args, **kwargs)
            t0 = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.thread_time() - t0

        return call


class TimedSampler:
    """A path or data sampler whose ``calls`` are timed on a ``SamplerClock``; every other
    attribute is the wrapped sampler's own (state, checkpoints and scores are untouched)."""

    def __init__(self, sampler: Any, calls: tuple[str, ...], clock: SamplerClock):
        self.__dict__.update(sampler=sampler, calls=calls, clock=clock)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.__dict__["sampler"], name)
        return self.__dict__["clock"].timed(value) if name in self.__dict__["calls"] else value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.__dict__["sampler"], name, value)


class ProbedTrainer(Trainer):
    """A ``Trainer`` that also measures, per epoch (extra keys of each epoch record):

    * ``sampler_step_seconds``: thread CPU time in the samplers' calls, per step (always);
    * ``grad_variance``, ``grad_mean_sq_norm``: the in-run estimate (``track_grad_variance``);
    * ``probe_grad_variance``, ``probe_grad_mean_sq_norm``, ``probe_uniform_grad_variance``:
      ``probe_grad_variance`` with ``probe_draws`` draws at the start of each epoch, from the
      trainer's samplers and as SPOS would draw (0 = off).

    Keys that are off hold ``None``. ``seconds`` and ``step_seconds`` exclude the probes' time.
    Training itself (losses, weights, random streams) is that of a plain ``Trainer``.
    """

    def __init__(
        self,
        config: TrainSpec,
        out_dir: str | Path | None = None,
        supernet: nn.Module | None = None,
        data: DataSplit | None = None,
        *,
        track_grad_variance: bool = False,
        probe_draws: int = 0,
    ):
        if probe_draws == 1 or probe_draws < 0:
            raise ConfigError("probe_draws", f"must be 0 (off) or at least 2, got {probe_draws!r}")
        super().__init__(config, out_dir, supernet, data)
        self.clock = SamplerClock()
        self.path_sampler = TimedSampler(self.path_sampler, PATH_SAMPLER_CALLS, self.clock)
        self.data_sampler = TimedSampler(self.data_sampler, DATA_SAMPLER_CALLS, self.clock)
        self.tracker = GradVarianceTracker(self.supernet) if track_grad_variance else None
        self.probe_draws = probe_draws
        self._probe: tuple[float | None, ...] = (None, None, None)
        self._probe_seconds = 0.0

    def on_epoch_start(self) -> None:
        self._probe = (None, None, None)
        if self.probe_draws:
            t0 = time.perf_counter()
            with self.clock.paused():
                own = probe_grad_variance(self, self.probe_draws)
                uniform = probe_grad_variance(self, self.probe_draws, uniform=True)[0]
            self._probe = (*own, uniform)
            self._probe_seconds += time.perf_counter() - t0

    def on_gradients(self) -> None:
        if self.tracker is not None:
            t0 = time.perf_counter()
            self.tracker.update()
            self._probe_seconds += time.perf_counter() - t0

    def train_epoch(self, on_step: StepCallback | None = None) -> dict[str, Any]:
        self.clock.seconds = self._probe_seconds = 0.0
        record = super().train_epoch(on_step)  # the same dict as history[-1]: updated in place
        steps = self.steps_per_epoch
        record["seconds"] -= self._probe_seconds
        record["step_seconds"] = record["seconds"] / steps
        record["sampler_step_seconds"] = self.clock.seconds / steps
        record["grad_variance"] = self.tracker.end_epoch() if self.tracker is not None else None
        record["grad_mean_sq_norm"] = (
            self.tracker.mean_sq_norms[-1] if self.tracker is not None and self.tracker.mean_sq_norms else None
        )
        # the same at frozen weights, before the epoch's first step
        record["probe_grad_variance"], record["probe_grad_mean_sq_norm"] = self._probe[:2]
        record["probe_uniform_grad_variance"] = self._probe[2]  # SPOS's draws at the same weights
        return record
