"""The neighbour loss and neighbourhood batches of MiniLM distillation (tensors only, no model)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tailor.errors import ConfigError
from tailor.train.distill import DistillConfig, _nearest, neighbour_loss


def _unit(n: int, d: int, seed: int) -> torch.Tensor:
    return F.normalize(torch.randn(n, d, generator=torch.Generator().manual_seed(seed)), dim=1)


def test_neighbour_loss_is_zero_for_the_teacher_and_grows_with_noise():
    bank = _unit(200, 16, 0)
    idx = torch.arange(8)
    t_emb = bank[idx]
    assert neighbour_loss(t_emb, t_emb, bank, idx, 0.05).item() == pytest.approx(0.0, abs=1e-6)
    losses = [neighbour_loss(F.normalize(t_emb + s * _unit(8, 16, 1), dim=1), t_emb, bank, idx, 0.05).item()
              for s in (0.05, 0.2, 0.8)]
    assert 0 < losses[0] < losses[1] < losses[2]


def test_neighbour_loss_leaves_the_sentence_itself_out():
    """The bank's own row of each sentence does not count: replacing it changes nothing, while
    replacing any other row does."""
    bank = _unit(50, 8, 2)
    idx = torch.tensor([3, 7])
    t_emb = bank[idx]
    s_emb = F.normalize(t_emb + 0.3 * _unit(2, 8, 4), dim=1)
    other = bank.clone()
    other[idx] = _unit(2, 8, 5)
    moved = bank.clone()
    moved[[10, 11]] = t_emb  # near neighbours now: they dominate both softmaxes
    base = neighbour_loss(s_emb, t_emb, bank, idx, 0.05).item()
    assert neighbour_loss(s_emb, t_emb, other, idx, 0.05).item() == pytest.approx(base, rel=1e-5)
    assert neighbour_loss(s_emb, t_emb, moved, idx, 0.05).item() != pytest.approx(base, rel=0.1)


def test_nearest_excludes_self_and_ranks_by_similarity():
    emb = _unit(30, 8, 3)
    near = _nearest(emb, 4, chunk=7)  # chunks must not shift the diagonal
    assert near.shape == (30, 4)
    sims = emb @ emb.T
    for i in range(30):
        assert i not in near[i]
        order = sims[i].clone()
        order[i] = -2
        assert set(near[i]) == set(order.topk(4).indices.tolist())


def test_bad_neighbour_settings_name_the_field():
    with pytest.raises(ConfigError, match="batching"):
        DistillConfig(batching="clusters")
    with pytest.raises(ConfigError, match="group_size"):
        DistillConfig(batching="neighbourhood", batch_size=4, group_size=8)
    with pytest.raises(ConfigError, match="temperature"):
        DistillConfig(temperature=0)
    with pytest.raises(ConfigError, match="w_neighbour"):
        DistillConfig(w_neighbour=-1)
