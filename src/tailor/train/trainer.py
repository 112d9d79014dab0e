"""The super-network training loop: path sampler x data sampler, checkpoint each epoch, resume.

One optimiser step = the path sampler's configurations trained on one batch, their gradients
accumulated (summed losses), then clipped and applied (SGD, Nesterov, cosine schedule). With the
sandwich rule's in-place distillation, the first (largest) path learns from labels and the others
from its detached soft outputs. ``padad`` pairs PA&DA's path sampler with its data sampler; the
other samplers shuffle the data uniformly.

A checkpoint (``<out>/last.pt``) is written atomically after every epoch with the weights,
optimiser and schedule, epoch and step counters, both samplers' states, every RNG state and the
resolved ``TrainSpec``. Resuming restores all of it, so an interrupted run continues exactly
as if it had not stopped (a partial epoch is redone from its start).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tailor.errors import ConfigError
from tailor.measure.accuracy import recalibrate_batchnorm, top1
from tailor.optim import build_optimizer, peak_rss_bytes, state_bytes
from tailor.space import Config
from tailor.supernets import SuperNet, create_supernet, extreme_configs, supernet_option_names
from tailor.train.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from tailor.train.data import DataSplit, fit_to_input, load_data
from tailor.train.data_sampler import ImportanceDataSampler, UniformDataSampler
from tailor.train.paths import PathSampler, make_path_sampler, tau_at
from tailor.train.spec import TrainSpec

logger = logging.getLogger(__name__)

StepCallback = Callable[[int, int, int, float], None]  # (epoch, step in epoch, steps/epoch, loss)
EpochCallback = Callable[[dict[str, Any]], None]


@dataclass
class TrainResult:
    """What a run produced; ``history`` holds one record per epoch (also in the checkpoint)."""

    supernet: nn.Module
    config: TrainSpec
    data: DataSplit
    epochs_done: int
    steps: int
    history: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: Path | None = None
    resumed_from_epoch: int | None = None


def make_optimizer(config: TrainSpec, supernet: nn.Module) -> torch.optim.Optimizer:
    """SGD with Nesterov momentum (the default), or AdamW / GaLore / Fira from ``tailor.optim``."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(supernet.parameters(), lr=config.lr, momentum=config.momentum,
                               nesterov=config.momentum > 0, weight_decay=config.weight_decay)
    return build_optimizer(config.optimizer, supernet, lr=config.lr, weight_decay=config.weight_decay,
                           rank=config.rank)


def build_supernet(config: TrainSpec, data: DataSplit) -> nn.Module:
    """Create the registered family, telling it the classes and channels when it accepts them."""

    accepted = supernet_option_names(config.supernet)
    data_sizes = {"num_classes": data.num_classes, "in_channels": data.in_channels}
    kwargs = {k: v for k, v in data_sizes.items() if accepted is None or k in accepted}
    net = create_supernet(config.supernet, **{**kwargs, **config.supernet_kwargs})
    if not isinstance(net, SuperNet):
        raise ConfigError("supernet", f"{config.supernet!r} does not implement the SuperNet protocol "
                          "(space, activate, subnet, example_input, forward)")
    return net


@torch.no_grad()
def evaluate(
    supernet: nn.Module,
    config: Config,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 512,
    calib: torch.Tensor | None = None,
) -> float:
    """Top-1 accuracy of the sub-network ``config`` with inherited weights.

    Images are resized to the sub-network's input resolution when it differs. ``calib``: training
    images on which the path's batch-norm statistics are re-estimated first (in batches of 64, as
    ``AccuracyEvaluator`` does), the super-network's own statistics being restored afterwards.
    """
    supernet.activate(config)
    shape = tuple(supernet.example_input(1, config).shape[1:])
    x = fit_to_input(x, shape)
    batches = list(zip(torch.split(x, batch_size), torch.split(y, batch_size), strict=True))
    if calib is None:
        return top1(supernet, batches)
    saved = {k: v.clone() for k, v in supernet.state_dict().items() if "running_" in k or "num_batches_tracked" in k}
    try:
        calib = fit_to_input(calib, shape)
        recalibrate_batchnorm(supernet, ((b, None) for b in torch.split(calib, 64)), n_batches=len(calib))
        return top1(supernet, batches)
    finally:
        supernet.load_state_dict(saved, strict=False)


def _soft_cross_entropy(logits: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    return -(teacher * F.log_softmax(logits, dim=1)).sum(dim=1)


class Trainer:
    """Trains one super-network as ``config`` says; ``run`` resumes from ``out_dir`` if asked.

    Args:
        config: the run's settings.
        out_dir: checkpoint folder (``None``: no checkpoints, no resume).
        supernet, data: pass to reuse objects already built (benchmarks, tests); by default they
            are built from ``config``.
    """

    def __init__(
        self,
        config: TrainSpec,
        out_dir: str | Path | None = None,
        supernet: nn.Module | None = None,
        data: DataSplit | None = None,
    ):
        self.config = config
        self.out_dir = None if out_dir is None else Path(out_dir)
        if self.out_dir is not None and self.out_dir.exists() and not self.out_dir.is_dir():
            raise ConfigError("out", f"not a folder: {self.out_dir}")
        self.data = (
            data if data is not None else load_data(config.data, config.val_fraction, config.seed, config.image_size)
        )
        torch.manual_seed(config.seed)  # weight initialisation
        self.supernet = supernet if supernet is not None else build_supernet(config, self.data)
        self.space = self.supernet.space()
        self.smallest, self.largest = extreme_configs(self.supernet)
        # Families with an elastic input resolution (a config-dependent example_input) get each
        # batch resized to the sampled resolution; fixed-shape families get the data fitted once.
        shapes = {self._input_shape(c) for c in (self.smallest, self.largest)}
        self.fixed_shape = next(iter(shapes)) if len(shapes) == 1 else None
        fit = self.fixed_shape or self._input_shape(self.largest)
        self.x_train = fit_to_input(self.data.x_train, fit)
        self.x_val = fit_to_input(self.data.x_val, fit)
        self.y_train, self.y_val = self.data.y_train, self.data.y_val
        self._check_outputs()

        opts: dict[str, Any] = {}
        if config.sampler == "sandwich":
            opts = {"num_random": config.num_random, "distill": config.distill}
        elif config.sampler == "padad":
            opts = {
                "ema": config.path_ema,
                "floor": config.path_floor,
                "ramp": config.tau_ramp,
                "param_free": config.param_free,
            }
        self.path_sampler: PathSampler = make_path_sampler(config.sampler, self.space, self.supernet, **opts)
        n = len(self.x_train)
        self.data_sampler = (
            ImportanceDataSampler(n, config.importance_weights)
            if config.sampler == "padad" and config.data_importance
            else UniformDataSampler(n)
        )
        self.steps_per_epoch = max(1, n // config.batch_size)
        if config.max_steps_per_epoch is not None:
            self.steps_per_epoch = min(self.steps_per_epoch, config.max_steps_per_epoch)

        self.optimizer = make_optimizer(config, self.supernet)
        total = config.epochs * self.steps_per_epoch
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total))
        )
        self.rng = np.random.default_rng(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.epoch = 0
        self.step = 0
        self.history: list[dict[str, Any]] = []

    def _input_shape(self, config: Config) -> tuple[int, ...]:
        return tuple(self.supernet.example_input(1, config).shape[1:])

    def _inputs(self, x: torch.Tensor, config: Config) -> torch.Tensor:
        return x if self.fixed_shape is not None else fit_to_input(x, self._input_shape(config))

    def _check_outputs(self) -> None:
        self.supernet.activate(self.largest)
        self.supernet.eval()
        with torch.no_grad():
            out = self.supernet(self.x_val[:2])
        self.supernet.train()
        if out.ndim != 2 or out.shape[1] != self.data.num_classes:
            raise ConfigError(
                "supernet",
                f"outputs shape {tuple(out.shape)} but the data has {self.data.num_classes} classes; pass num_classes",
            )

    # ------------------------------------------------------------------ checkpoints
    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.out_dir is None else self.out_dir / CHECKPOINT_NAME

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.supernet.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "config": self.config.to_dict(),
            "path_sampler": self.path_sampler.state_dict(),
            "data_sampler": self.data_sampler.state_dict(),
            "rng": {
                "numpy": self.rng.bit_generator.state,
                "torch_generator": self.generator.get_state(),
                "torch_global": torch.get_rng_state(),
            },
            "history": self.history,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved = TrainSpec.from_dict(state["config"])
        diff = self.config.differences(saved)
        if diff:
            raise ConfigError(
                "resume",
                f"the checkpoint was trained with another {diff[0]!r}; use --no-resume or another --out",
            )
        try:
            self.supernet.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise ConfigError("checkpoint", f"does not fit this super-network: {e}") from None
        self.path_sampler.load_state_dict(state["path_sampler"])
        self.data_sampler.load_state_dict(state["data_sampler"])
        self.rng.bit_generator.state = state["rng"]["numpy"]
        self.generator.set_state(state["rng"]["torch_generator"])
        torch.set_rng_state(state["rng"]["torch_global"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.history = list(state.get("history", []))

    # ------------------------------------------------------------------ training
    def _backward(
        self,
        xb: torch.Tensor,
        yb: torch.Tensor,
        idx: torch.Tensor,
        configs: list[Config],
        weights: torch.Tensor | None,
        observe: bool = True,
    ) -> float:
        """Forward and backward every path of ``configs`` on one batch, summing into ``.grad``."""
        teacher: torch.Tensor | None = None
        total = 0.0
        for i, config in enumerate(configs):
            self.supernet.activate(config)
            logits = self.supernet(self._inputs(xb, config))
            if i == 0 and observe:
                self.data_sampler.observe(idx, logits, yb)
            if teacher is not None:
                per_example = _soft_cross_entropy(logits, teacher)
            else:
                per_example = F.cross_entropy(logits, yb, reduction="none")
            loss = (per_example * weights).mean() if weights is not None else per_example.mean()
            loss.backward()
            total += float(loss.detach())
            if i == 0 and self.path_sampler.distill:
                teacher = torch.softmax(logits.detach(), dim=1)
        return total

    def train_step(self, xb: torch.Tensor, yb: torch.Tensor, idx: torch.Tensor) -> float:
        """One optimiser step on one batch; returns the summed loss of its paths."""
        cfg = self.config
        total_steps = cfg.epochs * self.steps_per_epoch
        self.path_sampler.set_progress(self.step / total_steps)
        configs = self.path_sampler.plan(self.rng)
        weights = self.data_sampler.loss_weights(idx)
        self.optimizer.zero_grad(set_to_none=True)
        total = self._backward(xb, yb, idx, configs, weights)
        self.path_sampler.after_backward(self.supernet, configs)
        self.on_gradients()
        if cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.supernet.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return total

    # ------------------------------------------------------------------ hooks
    def on_epoch_start(self) -> None:
        """Called by ``train_epoch`` once the epoch's data order is drawn, before its first step.

        Does nothing here. Subclasses may observe the trainer (``tailor.lab.probes`` measures
        gradient variance at the frozen weights); they must leave the weights, the optimiser,
        the samplers and the random streams as they found them, so training is unchanged.
        """

    def on_gradients(self) -> None:
        """Called by ``train_step`` after the step's gradients are summed into ``.grad`` (and the
        path sampler has seen them), before clipping and the optimiser step.

        Does nothing here. Subclasses may read the gradients (``tailor.lab.probes`` tracks
        their variance) but must not change them.
        """

    def train_epoch(self, on_step: StepCallback | None = None) -> dict[str, Any]:
        cfg = self.config
        self.supernet.train()
        t0 = time.perf_counter()
        tau = tau_at(self.epoch / cfg.epochs, cfg.tau_ramp)
        order = self.data_sampler.epoch_indices(tau, self.generator)
        self.on_epoch_start()
        losses = []
        for s in range(self.steps_per_epoch):
            idx = order[s * cfg.batch_size : (s + 1) * cfg.batch_size]
            loss = self.train_step(self.x_train[idx], self.y_train[idx], idx)
            if not math.isfinite(loss):
                raise FloatingPointError(f"loss became {loss} at step {self.step}; lower --lr")
            losses.append(loss)
            if on_step is not None:
                on_step(self.epoch, s + 1, self.steps_per_epoch, loss)
        self.data_sampler.flush()
        seconds = time.perf_counter() - t0
        self.epoch += 1
        record = {
            "epoch": self.epoch,
            "step": self.step,
            "loss": float(np.mean(losses)),
            "lr": float(self.scheduler.get_last_lr()[0]),
            "tau": tau if cfg.sampler == "padad" else None,
            "seconds": seconds,
            "step_seconds": seconds / self.steps_per_epoch,
            # BN re-estimated for the largest path: the shared running statistics mix every path
            # trained, and would report a net the search measures at 98 % as a 40-80 % one
            "val_acc_largest": evaluate(self.supernet, self.largest, self.x_val, self.y_val, calib=self.x_train[:512]),
            # what the optimizer keeps per parameter (Adam moments, low-rank bases) and the process's peak
            "optimizer_state_bytes": state_bytes(self.optimizer)["total"],
            "peak_rss_bytes": peak_rss_bytes(),
        }
        self.history.append(record)
        return record

    def run(
        self,
        resume: bool = True,
        on_step: StepCallback | None = None,
        on_epoch: EpochCallback | None = None,
    ) -> TrainResult:
        """Train to ``config.epochs``, resuming from ``out_dir/last.pt`` when ``resume``."""
        resumed = None
        path = self.checkpoint_path
        if resume and path is not None and path.exists():
            self.load_state_dict(load_checkpoint(path))
            resumed = self.epoch
            logger.info("resumed from %s at epoch %d, step %d", path, self.epoch, self.step)
        while self.epoch < self.config.epochs:
            record = self.train_epoch(on_step)
            if path is not None:
                save_checkpoint(path, self.state_dict())
            logger.info(
                "epoch %d: loss %.4f, largest val acc %.4f",
                record["epoch"],
                record["loss"],
                record["val_acc_largest"],
            )
            if on_epoch is not None:
                on_epoch(record)
        return TrainResult(
            self.supernet,
            self.config,
            self.data,
            self.epoch,
            self.step,
            self.history,
            path if path is not None and path.exists() else None,
            resumed,
        )


def train(
    config: TrainSpec,
    out_dir: str | Path | None = None,
    resume: bool = True,
    on_step: StepCallback | None = None,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Build everything from ``config`` and train (the library side of ``tailor train``)."""
    return Trainer(config, out_dir).run(resume=resume, on_step=on_step, on_epoch=on_epoch)
