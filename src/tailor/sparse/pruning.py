"""Masks on 1x1 convolution and linear weights: random or magnitude pruning, kept through training.

A ``Pruner`` owns one boolean mask per pruned layer (granularity: ``block`` output channels x one
input channel, the block shape the sparse kernel runs). ``apply()`` zeroes the masked weights;
``attach(optimizer)`` re-applies after every optimiser step, so momentum or weight decay never
revive a pruned weight. ``layers_of`` finds the prunable layers of a plain model (a sub-network
extracted from MobileNetV3 or MiniLM), the first convolution left dense on request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.sparse._format import check_block
from tailor.sparse.density import check_sparsity, layer_densities
from tailor.supernets.elastic_ops import ElasticConv2d

CRITERIA = ("magnitude", "random")


def prunable(module: nn.Module) -> bool:
    """A layer the sparse kernel runs: ``Linear`` or ``Conv2d`` 1x1 with groups 1.

    Also an elastic 1x1 convolution of a super-network (its full weight is masked, so every
    sub-network sliced from it inherits the mask: a masked super-network).
    """
    if isinstance(module, nn.Linear):
        return True
    if isinstance(module, ElasticConv2d):
        return module.max_kernel == 1 and not module.depthwise
    return isinstance(module, nn.Conv2d) and tuple(module.kernel_size) == (1, 1) and module.groups == 1


def layers_of(model: nn.Module, dense_first: bool = True, include: Callable[[str, nn.Module], bool] | None = None,
              ) -> dict[str, nn.Module]:
    """The prunable layers of ``model`` by name (in order).

    ``dense_first``: leave the model's first convolution or linear layer dense (the stem).
    ``include(name, module)``: a further filter (e.g. only FFN layers).
    """
    found = {n: m for n, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear | ElasticConv2d)}
    first = next(iter(found), None)
    return {n: m for n, m in found.items()
            if prunable(m) and not (dense_first and n == first) and (include is None or include(n, m))}


def _block_scores(weight: torch.Tensor, block: int) -> torch.Tensor:
    """(blocks, in) mean |w| of each block of ``block`` output channels at one input channel."""
    w = weight.detach().reshape(weight.shape[0], -1).abs().float()
    out = w.shape[0]
    blocks = -(-out // block)
    padded = torch.zeros(blocks * block, w.shape[1])
    padded[:out] = w
    rows = torch.full((blocks, 1), float(block))
    rows[-1] = out - (blocks - 1) * block  # a last, partial block is scored by its mean too
    return padded.reshape(blocks, block, -1).sum(1) / rows


def block_mask(scores: torch.Tensor, density: float, block: int, out_features: int) -> torch.Tensor:
    """Keep the ``density`` fraction of highest-scoring blocks; expand to (out, in) bool."""
    k = int(round(density * scores.numel()))
    keep = torch.zeros(scores.numel(), dtype=torch.bool)
    if k > 0:
        keep[torch.topk(scores.reshape(-1), k, sorted=False).indices] = True
    keep = keep.reshape(scores.shape)
    return keep.repeat_interleave(block, dim=0)[:out_features]


class Pruner:
    """Masks for named layers of one model.

    Args:
        layers: ``{name: module}`` (see ``layers_of``); each weight viewed as (out, in).
        block: output channels per block (1, 2 or 4) sharing one pattern.
    """

    def __init__(self, layers: Mapping[str, nn.Module], block: int = 1):
        self.block = check_block(block)
        for name, m in layers.items():
            if not prunable(m):
                raise ConfigError(f"layer {name}", f"{type(m).__name__} cannot be pruned for the sparse kernel",
                                  "Conv2d(1x1, groups 1), Linear")
        self.layers = dict(layers)
        self.masks: dict[str, torch.Tensor] = {n: torch.ones_like(m.weight, dtype=torch.bool)
                                               for n, m in self.layers.items()}
        self._hooks: list[Any] = []

    # ------------------------------------------------------------------ masks
    def set_mask(self, name: str, mask: torch.Tensor) -> None:
        """Use ``mask`` (bool, the weight's shape, or (out, in) for a 1x1 conv) for layer ``name``."""
        if name not in self.layers:
            raise ConfigError("mask", f"no pruned layer named {name!r}", sorted(self.layers))
        w = self.layers[name].weight
        mask = torch.as_tensor(mask)
        if mask.numel() != w.numel() or (mask.shape != w.shape and mask.shape != w.shape[:2]):
            raise ConfigError("mask", f"layer {name}: mask shape {tuple(mask.shape)} does not match the weight's "
                              f"{tuple(w.shape)}", f"{tuple(w.shape)}")
        self.masks[name] = mask.reshape(w.shape).to(torch.bool)

    def densities(self, sparsity: float, distribution: str = "erk") -> dict[str, float]:
        """Per-layer densities for overall ``sparsity`` (see ``tailor.sparse.density``)."""
        shapes = {n: tuple(m.weight.shape) for n, m in self.layers.items()}
        return layer_densities(shapes, sparsity, distribution)

    def prune(self, sparsity: float | Mapping[str, float], distribution: str = "erk", criterion: str = "magnitude",
              rng: np.random.Generator | None = None) -> dict[str, float]:
        """Recompute every mask to overall ``sparsity`` (or per-layer sparsities) and apply it.

        ``criterion``: ``"magnitude"`` keeps the blocks of largest L1 norm (never one already
        pruned while others remain, since pruned weights are zero); ``"random"`` keeps random
        blocks (``rng`` required). Returns the per-layer densities used.
        """
        if criterion not in CRITERIA:
            raise ConfigError("criterion", f"unknown pruning criterion {criterion!r}", CRITERIA)
        if criterion == "random" and rng is None:
            raise ConfigError("rng", "random pruning needs a numpy Generator")
        if isinstance(sparsity, Mapping):
            unknown = set(sparsity) - set(self.layers)
            if unknown:
                raise ConfigError("sparsity", f"no pruned layer named {sorted(unknown)[0]!r}", sorted(self.layers))
            dens = {n: 1.0 - check_sparsity(sparsity.get(n, 0.0), f"sparsity[{n}]") for n in self.layers}
        else:
            dens = self.densities(sparsity, distribution)
        for name, m in self.layers.items():
            w = m.weight
            out = w.shape[0]
            if criterion == "magnitude":
                scores = _block_scores(w * self.masks[name], self.block)
            else:
                blocks = -(-out // self.block)
                scores = torch.from_numpy(rng.random((blocks, w[0].numel())))  # type: ignore[union-attr]
            mask2 = block_mask(scores, dens[name], self.block, out)
            self.masks[name] = mask2.reshape(w.shape)
        self.apply()
        return dens

    @torch.no_grad()
    def apply(self) -> None:
        """Zero every masked weight (in place)."""
        for name, m in self.layers.items():
            m.weight.masked_fill_(~self.masks[name], 0.0)  # not a product: 0 * inf is nan

    def attach(self, optimizer: torch.optim.Optimizer) -> None:
        """Re-apply the masks after each ``optimizer.step()`` (until ``detach``)."""
        self._hooks.append(optimizer.register_step_post_hook(lambda *_: self.apply()))

    def detach(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()

    # ------------------------------------------------------------------ reporting
    def sparsity(self) -> dict[str, float]:
        """Fraction of masked weights per layer, and ``"overall"``."""
        out = {n: 1.0 - float(m.float().mean()) for n, m in self.masks.items()}
        total = sum(m.numel() for m in self.masks.values())
        out["overall"] = 1.0 - sum(float(m.sum()) for m in self.masks.values()) / max(1, total)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"block": self.block, "masks": {n: m.clone() for n, m in self.masks.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if int(state["block"]) != self.block:
            raise ConfigError("block", f"masks were made with block {state['block']}, this pruner uses {self.block}")
        for name, mask in state["masks"].items():
            self.set_mask(name, mask)
        self.apply()


def random_prune(model: nn.Module, sparsity: float, distribution: str = "erk", block: int = 1,
                 dense_first: bool = True, rng: np.random.Generator | None = None,
                 layers: Iterable[str] | None = None) -> Pruner:
    """Prune ``model`` at random to overall ``sparsity`` with ``distribution`` layer densities."""
    found = layers_of(model, dense_first)
    if layers is not None:
        found = {n: found[n] for n in layers if n in found}
    pruner = Pruner(found, block)
    pruner.prune(sparsity, distribution, "random", rng if rng is not None else np.random.default_rng(0))
    return pruner
