"""Which weights get a low-rank state, and one call that builds any of the three optimizers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from tailor.errors import ConfigError, UnknownNameError
from tailor.optim._lowrank import Fira, GaLore

OPTIMIZERS = ("adamw", "galore", "fira")
# group keys lowrank_param_groups passes on, per optimizer
_GALORE_KEYS = ("update_proj_gap", "alpha", "proj_type", "code_compat")
_FIRA_KEYS = (*_GALORE_KEYS, "gamma", "scaling", "limiter")
_ADAM_KEYS = ("betas", "eps")

Target = str | Sequence[str] | Callable[[str, nn.Module], bool] | None


def _in_block(name: str) -> bool:
    # blocks live in indexed containers (ModuleList / Sequential): "layers.3.attn.q_proj"
    return any(part.isdigit() for part in name.split("."))


def _selector(target: Target) -> Callable[[str, nn.Module], bool]:
    if target is None:
        return lambda name, module: _in_block(name)
    if target == "all":
        return lambda name, module: True
    if callable(target):
        return target
    keys = [target] if isinstance(target, str) else list(target)
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ConfigError("target", f"must be None, 'all', name substrings or a callable, got {target!r}")
    return lambda name, module: any(k in name for k in keys)


def projected_weights(model: nn.Module, target: Target = None) -> list[tuple[str, nn.Parameter]]:
    """The ``nn.Linear`` weights ``target`` picks, as ``(module name, weight)``, each once.

    Args:
        model: the network.
        target: ``None`` (default): every Linear inside the repeated blocks, i.e. whose module
            path has an index (``layers.3.mlp.up``); that is the attention and MLP matrices and
            not the embeddings, an output head or a classifier, nor a Linear whose weight is
            tied to an ``nn.Embedding``. ``"all"``: every Linear weight. A string or a list of
            strings: Linears whose module name contains one of them (GaLore's and Fira's
            ``target_modules_list``, e.g. ``["attn", "mlp"]``). A callable ``(name, module) -> bool``.
    """
    pick = _selector(target)
    tied = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    seen: set[int] = set()
    out = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear) or id(module.weight) in seen or not module.weight.requires_grad:
            continue
        if target is None and id(module.weight) in tied:
            continue
        if pick(name, module):
            seen.add(id(module.weight))
            out.append((name, module.weight))
    return out


def lowrank_param_groups(model: nn.Module, rank: int, target: Target = None, **group_opts: Any) -> list[dict[str, Any]]:
    """Param groups for ``GaLore`` / ``Fira``: the targeted matrices with ``rank``, the rest without.

    Args:
        model: the network; every parameter that requires a gradient lands in exactly one group.
        rank: subspace rank of the projected group.
        target: which Linear weights to project (see ``projected_weights``).
        **group_opts: per-group settings of the projected group (``update_proj_gap``, ``alpha``,
            ``proj_type``, and for Fira ``gamma``, ``scaling``, ``limiter``); unset ones take the
            optimizer's defaults.

    Returns:
        ``[{"params": [...]}, {"params": [...], "rank": rank, ...}]`` (the first omitted when
        every parameter is projected).

    Raises:
        ConfigError: ``target`` selects no weight, or an unknown option is given.
    """
    unknown = sorted(set(group_opts) - set(_FIRA_KEYS) - {"lr", "weight_decay"})
    if unknown:
        raise ConfigError(unknown[0], "not a low-rank group option", (*_FIRA_KEYS, "lr", "weight_decay"))
    projected = [w for _, w in projected_weights(model, target)]
    if not projected:
        raise ConfigError("target", f"selects no nn.Linear weight of {type(model).__name__}")
    ids = {id(w) for w in projected}
    regular = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    groups: list[dict[str, Any]] = [{"params": regular}] if regular else []
    groups.append({"params": projected, "rank": rank, **group_opts})
    return groups


def build_optimizer(
    name: str,
    model: nn.Module,
    lr: float,
    weight_decay: float = 0.0,
    rank: int | None = None,
    **opts: Any,
) -> torch.optim.Optimizer:
    """``adamw``, ``galore`` or ``fira`` for ``model``, in one call.

    Args:
        name: one of ``OPTIMIZERS``.
        model: the network to optimise.
        lr, weight_decay: learning rate and decoupled weight decay (all parameters).
        rank: subspace rank; required for ``galore`` and ``fira``, ignored by ``adamw``.
        **opts: ``betas``, ``eps`` (all three); ``target``, ``update_proj_gap`` (default 200),
            ``alpha`` (default 0.25), ``proj_type``, ``code_compat`` (galore, fira); ``gamma``,
            ``scaling``, ``limiter`` (fira only).

    Returns:
        ``torch.optim.AdamW`` for ``adamw``; ``GaLore`` / ``Fira`` over ``lowrank_param_groups``
        (matrices picked by ``target``; every other parameter on AdamW) otherwise. ``state_bytes``
        in ``tailor.optim`` measures any of them.

    Raises:
        UnknownNameError: unknown optimizer name.
        ConfigError: missing rank, an option the optimizer does not take, or a bad value.
    """
    if name not in OPTIMIZERS:
        raise UnknownNameError("optimizer", name, OPTIMIZERS)
    allowed = {"adamw": _ADAM_KEYS, "galore": (*_ADAM_KEYS, "target", *_GALORE_KEYS),
               "fira": (*_ADAM_KEYS, "target", *_FIRA_KEYS)}[name]
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        raise ConfigError(unknown[0], f"not an option of the {name} optimizer", allowed)
    adam = {k: opts.pop(k) for k in _ADAM_KEYS if k in opts}
    if name == "adamw":
        params = [p for p in model.parameters() if p.requires_grad]
        for key, value in (("lr", lr), ("weight_decay", weight_decay)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(key, f"must be a number >= 0, got {value!r}")
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, **adam)
    if rank is None:
        raise ConfigError("rank", f"the {name} optimizer needs a subspace rank (a positive integer)")
    target = opts.pop("target", None)
    groups = lowrank_param_groups(model, rank, target=target, **opts)
    cls = Fira if name == "fira" else GaLore
    return cls(groups, lr=lr, weight_decay=weight_decay, **adam)
