"""``sparsify(model)``: swap pruned 1x1 convolutions and linear layers for sparse-kernel modules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.sparse._format import check_block, infer_block
from tailor.sparse.modules import DISPATCH, SparseConv2d, SparseLinear, _SparseBase, check_conv

MIN_SPARSITY = 0.5  # below this a layer is left alone unless named in ``layers``


def weight_sparsity(module: nn.Module) -> float:
    """Fraction of exact zeros in a layer's weight."""
    w = module.weight.detach()
    return float((w == 0).sum()) / max(1, w.numel())


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def _candidate(module: nn.Module) -> bool:
    if isinstance(module, nn.Linear):
        return True
    return isinstance(module, nn.Conv2d) and tuple(module.kernel_size) == (1, 1) and module.groups == 1


def sparsify(
    model: nn.Module,
    layers: Iterable[str] | None = None,
    *,
    min_sparsity: float = MIN_SPARSITY,
    block: int | None = None,
    dispatch: str = "auto",
    example_inputs: Any = None,
) -> dict[str, _SparseBase]:
    """Replace pruned layers of ``model`` in place; returns ``{name: new module}``.

    Args:
        layers: names of the layers to replace (each must be a ``Conv2d`` 1x1 or ``Linear``,
            else ``ConfigError`` naming it); by default every 1x1 conv / linear layer whose weight
            is at least ``min_sparsity`` zeros.
        block: output channels per block (1, 2, 4); by default the largest one each layer's
            zero pattern has exactly.
        dispatch: ``"auto"`` (measured break-even per input shape), ``"sparse"`` or ``"dense"``.
        example_inputs: a tensor or tuple run through the model once (no grad) so every auto
            layer measures its break-even now rather than on the first real call.
    """
    if dispatch not in DISPATCH:
        raise ConfigError("dispatch", f"{dispatch!r} is not a dispatch mode", DISPATCH)
    if not 0.0 <= min_sparsity < 1.0:
        raise ConfigError("min_sparsity", f"{min_sparsity!r} is outside [0, 1)", "0 <= min_sparsity < 1")
    if block is not None:
        check_block(block)
    modules = dict(model.named_modules())
    if layers is None:
        chosen = [n for n, m in modules.items() if _candidate(m) and weight_sparsity(m) >= min_sparsity]
    else:
        chosen = list(layers)
        for name in chosen:
            m = modules.get(name)
            if m is None:
                raise ConfigError("layers", f"model has no layer {name!r}")
            if isinstance(m, nn.Conv2d):
                check_conv(m, name)
            elif not isinstance(m, nn.Linear):
                raise ConfigError(f"layer {name}", f"{type(m).__name__} is not supported by the sparse kernel",
                                  "Conv2d(1x1), Linear")
    replaced: dict[str, _SparseBase] = {}
    for name in chosen:
        m = modules[name]
        w2 = m.weight.detach().reshape(m.weight.shape[0], -1).cpu().numpy()
        b = block if block is not None else infer_block(w2)
        new = (SparseConv2d(m, b, dispatch, name) if isinstance(m, nn.Conv2d)
               else SparseLinear(m, b, dispatch, name))
        _replace(model, name, new)
        replaced[name] = new
    if example_inputs is not None:
        args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
        with torch.no_grad():
            model(*args)
    return replaced


def sparse_layers(model: nn.Module) -> dict[str, _SparseBase]:
    """The sparse-kernel modules inside ``model``, by name."""
    return {n: m for n, m in model.named_modules() if isinstance(m, _SparseBase)}


def densify(model: nn.Module) -> nn.Module:
    """Undo ``sparsify`` in place: plain ``Conv2d``/``Linear`` layers with the same (masked) weights."""
    for name, m in sparse_layers(model).items():
        if isinstance(m, SparseConv2d):
            dense: nn.Module = nn.Conv2d(m.in_channels, m.out_channels, 1, m.stride, bias=m.bias is not None)
        else:
            dense = nn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
        with torch.no_grad():
            dense.weight.copy_(m.weight)
            if m.bias is not None:
                dense.bias.copy_(m.bias)
        _replace(model, name, dense)
    return model


def sparse_runtime(model: nn.Module, example_inputs: Any = None, dispatch: str = "auto") -> nn.Module:
    """The model as the sparse runtime runs it, in place: eval mode, BatchNorm folded into the
    convolutions before it (so the kernel adds the bias first), then ``sparsify``. A model with no
    pruned layer is only folded, so dense and sparse sub-networks are measured the same way."""
    from tailor.sparse.fold import fold_batchnorm

    model.eval()
    fold_batchnorm(model)
    sparsify(model, dispatch=dispatch, example_inputs=example_inputs)
    return model
