"""Nested magnitude masks: one ranking of a weight's blocks serves every sparsity level.

For a search over sparsity levels on one weight-sharing super-network, the mask at 90 % must be a
subset of the mask at 80 %, and that of the mask at 70 %: then every level reads the same stored
weights, the weights a sparse path keeps are the most important ones of every denser path, and a
fine-tune that samples levels trains one set of weights for all of them. The blocks (``block``
output channels x one input channel, as the sparse kernel runs them) are ranked once by magnitude;
level ``s`` keeps the ``round((1 - s) * n)`` best-ranked blocks.
"""

from __future__ import annotations

import torch
from torch import nn

from tailor.sparse._format import check_block
from tailor.sparse.density import check_sparsity
from tailor.sparse.pruning import _block_scores


class NestedMask(nn.Module):
    """Ranks of the (blocks, in_features) blocks of one (out_features, in_features) weight.

    The ranking is a buffer, so it is saved with the model (checkpoints, resume) and stays fixed
    until ``rank_by_magnitude`` is called again.
    """

    rank: torch.Tensor

    def __init__(self, out_features: int, in_features: int, block: int = 4):
        super().__init__()
        self.block = check_block(block)
        self.out_features, self.in_features = out_features, in_features
        blocks = -(-out_features // block)
        self.register_buffer("rank", torch.arange(blocks * in_features, dtype=torch.int32).reshape(blocks, in_features))

    def rank_by_magnitude(self, weight: torch.Tensor) -> None:
        """Rank blocks by the mean absolute value of ``weight`` (viewed as (out, in)); best first."""
        w2 = weight.detach().reshape(self.out_features, -1)
        if w2.shape[1] != self.in_features:
            raise ValueError(f"weight {tuple(weight.shape)} does not match ({self.out_features}, {self.in_features})")
        scores = _block_scores(w2.float(), self.block).reshape(-1)
        order = torch.sort(scores, descending=True, stable=True).indices
        rank = torch.empty_like(order)
        rank[order] = torch.arange(order.numel())
        self.rank.copy_(rank.reshape(self.rank.shape).to(self.rank.dtype))

    def keep(self, sparsity: float) -> torch.Tensor:
        """(blocks, in_features) bool: the blocks level ``sparsity`` keeps (nested across levels)."""
        s = check_sparsity(sparsity)
        return self.rank < int(round((1.0 - s) * self.rank.numel()))

    def mask(self, sparsity: float, out_features: int | None = None, in_features: int | None = None,
             ndim: int = 4) -> torch.Tensor | None:
        """Float 0/1 mask of the weight's leading ``out_features`` x ``in_features`` slice (the
        elastic layers' prefix slices), shaped (out, in, 1, 1) for ``ndim`` 4; ``None`` at 0."""
        if sparsity == 0:
            return None
        out = self.out_features if out_features is None else out_features
        cin = self.in_features if in_features is None else in_features
        m = self.keep(sparsity)[: -(-out // self.block), :cin].repeat_interleave(self.block, dim=0)[:out]
        m = m.to(torch.float32)
        return m.reshape(out, cin, *([1] * (ndim - 2)))
