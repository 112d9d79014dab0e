"""GradualPruner driven by tailor's Trainer (its ``on_step`` callback) on a masked super-network."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from tailor.sparse import GradualPruner, Pruner, layers_of


def test_gradual_pruner_as_the_trainers_on_step_masks_a_supernet() -> None:
    from tailor.problems.supernet import DIGITS_SIZES
    from tailor.supernets.elastic_ops import ElasticConv2d
    from tailor.train import DataSplit, Trainer, TrainSpec, load_digits

    spec = TrainSpec(supernet="mobilenetv3", supernet_kwargs=DIGITS_SIZES["mobilenetv3"], epochs=1,
                     batch_size=16, max_steps_per_epoch=4, sampler="spos", seed=0)
    d = load_digits(0.2, 0)
    small = DataSplit(d.x_train[:128], d.y_train[:128], d.x_val[:32], d.y_val[:32], d.classes)  # fast epoch end
    trainer = Trainer(spec, data=small)
    layers = layers_of(trainer.supernet)
    assert any(isinstance(m, ElasticConv2d) for m in layers.values())  # the elastic 1x1 convolutions
    assert not any(isinstance(m, ElasticConv2d) and m.max_kernel > 1 for m in layers.values())
    gradual = GradualPruner(Pruner(layers, block=2), 0.7, begin=0, end=3, frequency=1)
    trainer.run(on_step=gradual)
    assert gradual.step == 4
    assert gradual.pruner.sparsity()["overall"] == pytest.approx(0.7, abs=0.01)
    for name, m in layers.items():
        assert ((m.weight != 0) <= gradual.pruner.masks[name]).all()
    # a sub-network extracted from the masked super-network keeps the zeros
    sub = trainer.supernet.subnet(trainer.smallest)
    convs = [m for m in sub.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
    assert np.mean([float((m.weight == 0).float().mean()) for m in convs[1:]]) > 0.4
