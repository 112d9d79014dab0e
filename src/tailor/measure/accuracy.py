"""Top-1 accuracy of a sub-network after batch-norm re-calibration: the model ``tailor export`` ships.

Weight sharing leaves BN running statistics that belong to no single sub-network (they mix all
the paths trained), so each config's statistics are recomputed on a few training batches before
it is evaluated (as in Once-for-All). This happens on the standalone ``subnet(config)`` (a copy),
never on the super-network, and the very same calibrated copy is what export writes
(``AccuracyEvaluator.calibrated_subnet``), so the exported model scores what the study recorded.

BN layers that use batch statistics even in evaluation (``track_running_stats=False``, as the
``nb201_cell`` family does) cannot be deployed at batch 1: a batch of one would be normalised by
its own statistics. ``track_batchnorm_stats`` turns them into ordinary BN layers, whose running
statistics the re-calibration then fills in, so every scored sub-network is batch-independent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from tailor.errors import ConfigError
from tailor.measure.base import Evaluator
from tailor.space import Config

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def _bn_layers(model: nn.Module) -> list[_BatchNorm]:
    return [m for m in model.modules() if isinstance(m, _BatchNorm)]


def untracked_batchnorms(model: nn.Module) -> list[_BatchNorm]:
    """BN layers that normalise with batch statistics in evaluation (no running statistics)."""
    return [bn for bn in _bn_layers(model) if not bn.track_running_stats or bn.running_mean is None]


def track_batchnorm_stats(model: nn.Module) -> nn.Module:
    """Give every BN layer without running statistics a fresh set (mean 0, variance 1), in place.

    Afterwards the model uses running statistics in eval mode like any deployable CNN; call
    ``recalibrate_batchnorm`` to fill them in. Returns ``model``.
    """
    for bn in untracked_batchnorms(model):
        ref = bn.weight if bn.weight is not None else torch.empty(0)
        bn.track_running_stats = True
        bn.register_buffer("running_mean", torch.zeros(bn.num_features, dtype=ref.dtype, device=ref.device))
        bn.register_buffer("running_var", torch.ones(bn.num_features, dtype=ref.dtype, device=ref.device))
        bn.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=ref.device))
    return model


def recalibrate_batchnorm(
    model: nn.Module, batches: Batches, n_batches: int = 8, resolution: int | None = None
) -> None:
    """Reset every BN layer's running statistics and recompute them as an exact average.

    Only BN layers run in training mode (dropout etc. stay off); works for plain
    ``nn.BatchNorm*`` and for elastic layers that wrap one (``momentum=None`` means cumulative).
    """
    bns = _bn_layers(model)
    if not bns:
        return
    was_training = model.training
    momenta = [bn.momentum for bn in bns]
    model.eval()
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    try:
        with torch.no_grad():
            for x, _ in islice(batches, n_batches):
                model(_resize(x, resolution))
    finally:
        for bn, m in zip(bns, momenta, strict=True):
            bn.momentum = m
        model.train(was_training)


def _resize(x: torch.Tensor, resolution: int | None) -> torch.Tensor:
    if resolution is None or tuple(x.shape[-2:]) == (resolution, resolution):
        return x
    return F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False)


def _resolution(config: Config) -> int | None:
    return config.get("resolution") if isinstance(config, dict) else None


def top1(model: nn.Module, batches: Batches, resolution: int | None = None,
         max_batches: int | None = None) -> float:
    """Fraction of samples whose arg-max logit is the label (eval mode, no grad)."""
    was_training = model.training
    model.eval()
    correct = total = 0
    try:
        with torch.no_grad():
            for x, y in islice(batches, max_batches):
                pred = model(_resize(x, resolution)).argmax(dim=1)
                correct += int((pred == y).sum())
                total += len(y)
    finally:
        model.train(was_training)
    if total == 0:
        raise ConfigError("data.val", "the validation loader yielded no samples")
    return correct / total


class AccuracyEvaluator(Evaluator):
    """Top-1 of each config's calibrated standalone sub-network on ``val_loader``.

    ``calibrated_subnet(config)`` is the model that is scored (and that ``tailor export``
    writes); the super-network itself is never modified.

    Args:
        supernet: a ``SuperNet``; configs with a ``resolution`` entry get inputs resized to it.
        val_loader: iterable of (images, labels) batches; re-iterated for every config, so pass
            a list or a loader with a fixed order.
        train_loader: batches for BN re-calibration, the first ``calib_batches`` of them in order
            (``None`` skips re-calibration: the sub-network keeps the super-network's BN state).
        calib_batches: how many training batches re-calibrate BN.
        max_val_batches: optional cap on validation batches (for quick searches).
    """

    metrics = {"accuracy": "max"}
    expensive = True

    def __init__(self, supernet: nn.Module, val_loader: Batches, train_loader: Batches | None,
                 calib_batches: int = 8, max_val_batches: int | None = None):
        if not isinstance(calib_batches, int) or calib_batches < 1:
            raise ConfigError("calib_batches", f"must be a positive integer, got {calib_batches!r}")
        self.supernet, self.val_loader, self.train_loader = supernet, val_loader, train_loader
        self.calib_batches, self.max_val_batches = calib_batches, max_val_batches

    def evaluate(self, configs: Sequence[Config]) -> list[dict[str, float]]:
        return [{"accuracy": self.accuracy(c)} for c in configs]

    @property
    def recalibrates(self) -> bool:
        return self.train_loader is not None

    def calibrated_subnet(self, config: Config) -> nn.Module:
        """``supernet.subnet(config)`` with BN statistics re-computed, in eval mode.

        Deterministic: the same calibration batches in the same order, cumulative averages.
        """
        model = self.supernet.subnet(config)
        if self.train_loader is not None:
            track_batchnorm_stats(model)
            recalibrate_batchnorm(model, self.train_loader, self.calib_batches, _resolution(config))
        return model.eval()

    def score(self, model: nn.Module, config: Config) -> float:
        """Top-1 of ``model`` (e.g. a calibrated or exported sub-network of ``config``) on the
        validation batches, resized to the config's resolution as for the study."""
        return top1(model, self.val_loader, _resolution(config), self.max_val_batches)

    def accuracy(self, config: Config) -> float:
        return self.score(self.calibrated_subnet(config), config)

    def fingerprint(self) -> str:
        return f"accuracy/calib{self.calib_batches}/val{self.max_val_batches}"
