"""Picking the projected matrices, the optimizer factory, and argument errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tailor.errors import ConfigError, UnknownNameError
from tailor.optim import Fira, GaLore, build_optimizer, lowrank_param_groups, peak_rss_bytes, projected_weights


class TinyLM(nn.Module):
    """Embedding, two blocks (attention and MLP Linears), a final norm and an output head."""

    def __init__(self, tie: bool = False) -> None:
        super().__init__()
        self.embed = nn.Embedding(32, 16)
        self.layers = nn.ModuleList(
            nn.ModuleDict({"attn": nn.Linear(16, 48, bias=False), "mlp": nn.Linear(16, 40)}) for _ in range(2)
        )
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 32, bias=False)
        if tie:
            self.head.weight = self.embed.weight


def _names(model: nn.Module, target=None) -> list[str]:
    return [name for name, _ in projected_weights(model, target)]


def test_default_target_is_the_block_linears():
    assert _names(TinyLM()) == ["layers.0.attn", "layers.0.mlp", "layers.1.attn", "layers.1.mlp"]


def test_other_targets():
    model = TinyLM()
    assert _names(model, "all")[-1] == "head"
    assert _names(model, ["attn"]) == ["layers.0.attn", "layers.1.attn"]
    assert _names(model, "mlp") == ["layers.0.mlp", "layers.1.mlp"]
    assert _names(model, lambda name, module: module.out_features == 32) == ["head"]


def test_tied_head_is_not_projected_by_default():
    model = TinyLM(tie=True)
    model.layers.append(nn.ModuleDict({"out": model.head}))  # even if it sits in a block
    assert "layers.2.out" not in _names(model)


def test_groups_cover_every_parameter_once():
    model = TinyLM()
    groups = lowrank_param_groups(model, rank=4, alpha=0.5, gamma=1.1)
    assert [len(g["params"]) for g in groups] == [6, 4]  # embed, 2 mlp biases, norm x2, head
    assert groups[1]["rank"] == 4 and groups[1]["alpha"] == 0.5 and "rank" not in groups[0]
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())


def test_build_optimizer_names():
    model = TinyLM()
    adamw = build_optimizer("adamw", model, lr=1e-3, weight_decay=0.1, rank=8)  # rank ignored
    assert type(adamw) is torch.optim.AdamW and adamw.param_groups[0]["weight_decay"] == 0.1
    galore = build_optimizer("galore", model, lr=1e-3, weight_decay=0.0, rank=4, update_proj_gap=50)
    assert isinstance(galore, GaLore) and not isinstance(galore, Fira)
    assert galore.param_groups[1]["update_proj_gap"] == 50 and galore.param_groups[1]["alpha"] == 0.25
    fira = build_optimizer("fira", model, lr=1e-3, rank=4, scaling="matrix", limiter=False, target="all",
                           betas=(0.9, 0.95))
    assert isinstance(fira, Fira)
    group = fira.param_groups[1]
    assert (group["scaling"], group["limiter"], group["betas"], len(group["params"])) == ("matrix", False,
                                                                                          (0.9, 0.95), 5)


def test_build_optimizer_trains():
    torch.manual_seed(0)
    model = TinyLM()
    opt = build_optimizer("fira", model, lr=1e-2, rank=2)
    x = torch.randint(0, 32, (4, 5))
    losses = []
    for _ in range(5):
        h = model.embed(x)
        for layer in model.layers:
            h = h + layer["mlp"](h)[..., :16] + layer["attn"](h)[..., :16]
        loss = nn.functional.cross_entropy(model.head(model.norm(h)).flatten(0, 1), x.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert opt.state_bytes()["total"] > 0


@pytest.mark.parametrize(
    "make,field",
    [
        (lambda p: Fira(p, rank=0), "rank"),
        (lambda p: Fira(p, rank=2.5), "rank"),
        (lambda p: Fira(p, rank=True), "rank"),
        (lambda p: GaLore(p, rank=2, update_proj_gap=0), "update_proj_gap"),
        (lambda p: GaLore(p, rank=2, alpha=0.0), "alpha"),
        (lambda p: GaLore(p, rank=2, alpha=float("nan")), "alpha"),
        (lambda p: GaLore(p, rank=2, proj_type="full"), "proj_type"),
        (lambda p: Fira(p, rank=2, scaling="row"), "scaling"),
        (lambda p: Fira(p, rank=2, gamma=0.99), "gamma"),
        (lambda p: Fira(p, rank=2, limiter="yes"), "limiter"),
        (lambda p: Fira(p, lr=-1.0), "lr"),
        (lambda p: Fira(p, eps=-1e-8), "eps"),
        (lambda p: GaLore(p, weight_decay=-0.1), "weight_decay"),
        (lambda p: GaLore(p, betas=(1.0, 0.999)), "betas[0]"),
        (lambda p: GaLore(p, betas=(0.9,)), "betas"),
        (lambda p: GaLore(p, code_compat=1), "code_compat"),
        (lambda p: Fira([{"params": p, "rank": 2, "proj_type": "diag"}]), "proj_type"),
    ],
)
def test_bad_optimizer_arguments_raise_config_error(make, field):
    params = list(nn.Linear(4, 6).parameters())
    with pytest.raises(ConfigError) as info:
        make(params)
    assert info.value.field == field


def test_bad_group_added_later_raises():
    opt = Fira(list(nn.Linear(4, 6).parameters()), rank=2)
    with pytest.raises(ConfigError, match="scaling"):
        opt.add_param_group({"params": [nn.Parameter(torch.zeros(3, 3))], "scaling": "rows"})


def test_allowed_values_are_listed():
    with pytest.raises(ConfigError) as info:
        Fira(list(nn.Linear(4, 6).parameters()), rank=2, scaling="row")
    assert info.value.allowed == "column, matrix, none"


@pytest.mark.parametrize(
    "call,field",
    [
        (lambda m: build_optimizer("sgd", m, lr=1e-3), "optimizer"),
        (lambda m: build_optimizer("fira", m, lr=1e-3), "rank"),
        (lambda m: build_optimizer("galore", m, lr=1e-3, rank=4, gamma=1.1), "gamma"),
        (lambda m: build_optimizer("adamw", m, lr=1e-3, scaling="column"), "scaling"),
        (lambda m: build_optimizer("adamw", m, lr=-1.0), "lr"),
        (lambda m: build_optimizer("fira", m, lr=1e-3, rank=4, target="nothing_matches"), "target"),
        (lambda m: build_optimizer("fira", m, lr=1e-3, rank=4, target=[]), "target"),
        (lambda m: lowrank_param_groups(m, 4, rnak=3), "rnak"),
    ],
)
def test_bad_factory_arguments_raise_config_error(call, field):
    with pytest.raises(ConfigError) as info:
        call(TinyLM())
    assert info.value.field == field


def test_unknown_optimizer_lists_names():
    with pytest.raises(UnknownNameError) as info:
        build_optimizer("lion", TinyLM(), lr=1e-3)
    assert info.value.allowed == "adamw, fira, galore"


def test_peak_rss_is_positive():
    peak = peak_rss_bytes()
    assert peak is None or peak > 10 * 2**20
