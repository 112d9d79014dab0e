"""Top-1 accuracy of a super-network's active path, after batch-norm re-calibration.

Weight sharing leaves BN running statistics that belong to no single sub-network (they mix all
the paths trained), so each config's statistics are recomputed on a few training batches before
it is evaluated (as in Once-for-All). The super-network's own statistics are restored afterwards.
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
    """Top-1 of each config's active path (``activate``) on ``val_loader``.

    Args:
        supernet: a ``SuperNet``; configs with a ``resolution`` entry get inputs resized to it.
        val_loader: iterable of (images, labels) batches.
        train_loader: batches for BN re-calibration (``None`` skips re-calibration).
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

    def accuracy(self, config: Config) -> float:
        net = self.supernet
        saved = {k: v.clone() for k, v in net.state_dict().items()
                 if "running_" in k or "num_batches_tracked" in k}
        resolution = config.get("resolution") if isinstance(config, dict) else None
        try:
            net.activate(config)
            if self.train_loader is not None:
                recalibrate_batchnorm(net, self.train_loader, self.calib_batches, resolution)
            return top1(net, self.val_loader, resolution, self.max_val_batches)
        finally:
            net.load_state_dict(saved, strict=False)

    def fingerprint(self) -> str:
        return f"accuracy/calib{self.calib_batches}/val{self.max_val_batches}"
