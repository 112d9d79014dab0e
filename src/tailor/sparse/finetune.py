"""A masked fine-tune that turns a trained dense super-network into one with a sparsity dimension.

The dense weights are loaded into the same family built with ``sparsities``; every 1x1 weight's
blocks are ranked by magnitude once (nested masks: ``tailor.sparse.nested``), and the trainer's own
path sampler then samples sparsity levels with the other dimensions, so every level's masked
weights are trained together. The masks multiply the weights in the forward pass, so a sparse
path never sees its pruned weights through any number of optimizer steps, while the denser
levels that share them keep training them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tailor.errors import ConfigError
from tailor.sparse.density import check_sparsity


def sparse_train_spec(dense: Any, sparsities: Sequence[float], epochs: int, lr_scale: float = 0.2,
                      per: str = "stage") -> Any:
    """The fine-tune's ``TrainSpec``: the dense run's, with ``sparsities`` (and ``per``, the family's
    ``sparsity_per``, when not the default ``"stage"``) in the family options, ``epochs`` epochs and
    ``lr_scale`` times its learning rate."""
    levels = [check_sparsity(s) for s in sparsities]
    if not levels:
        raise ConfigError("sparsity", "needs at least one level", "e.g. 0,0.7,0.8,0.9")
    kwargs = dict(dense.supernet_kwargs, sparsities=levels)
    if per != "stage":  # omitted by default: fine-tunes recorded before the option resume
        kwargs["sparsity_per"] = per
    return dataclasses.replace(dense, supernet_kwargs=kwargs, epochs=epochs, lr=dense.lr * lr_scale)


def masked_finetune(spec: Any, dense_state: Mapping[str, Any], out_dir: str | Path | None, data: Any,
                    on_epoch: Callable[[dict], None] | None = None) -> Any:
    """Fine-tune ``spec`` (from ``sparse_train_spec``) starting from ``dense_state`` (the dense
    super-network's state dict); checkpointed in ``out_dir`` and resumed from there (the ranking
    is part of the checkpoint). Returns the trainer's ``TrainResult``."""
    from tailor.supernets.base import HasSparsity
    from tailor.train import Trainer, build_supernet

    net = build_supernet(spec, data)
    if not isinstance(net, HasSparsity):
        raise ConfigError("sparsity", f"the {spec.supernet} family has no sparsity dimension", ["mobilenetv3"])
    missing, unexpected = net.load_state_dict(dict(dense_state), strict=False)
    if unexpected or any(not k.endswith(".rank") for k in missing):
        bad = (unexpected or [k for k in missing if not k.endswith(".rank")])[0]
        raise ConfigError("checkpoint", f"the dense super-network does not fit the sparse one ({bad})")
    net.rank_by_magnitude()
    return Trainer(spec, out_dir, supernet=net, data=data).run(resume=True, on_epoch=on_epoch)

