"""Block enumeration: every block a sub-network runs is in the table's list, and nothing else is."""

import numpy as np
import pytest
import torch

from tailor.errors import ConfigError
from tailor.latency_table import block_family
from tailor.supernets import create_supernet


def _coverage(family, net, n=300):
    blocks = block_family(family, net)
    specs = blocks.all_blocks()
    rng = np.random.default_rng(0)
    used = set()
    for _ in range(n):
        keys = blocks.blocks(net.space().sample(rng))
        assert set(keys) <= set(specs), sorted(set(keys) - set(specs))
        used |= set(keys)
    return used, specs


@pytest.mark.parametrize("family", ["mobilenetv3", "resnet", "nb201_cell"])
def test_enumeration_is_exactly_the_blocks_subnetworks_use(family, sizes):
    net = create_supernet(family, **sizes[family])
    used, specs = _coverage(family, net)
    assert used == set(specs)  # nothing profiled in vain, nothing missing


@pytest.mark.parametrize("family", ["mobilenetv3", "resnet"])
def test_blocks_chain_into_the_subnetwork(family, sizes):
    """Running a config's blocks one after the other gives the sub-network's output shape, and each
    block accepts exactly the shape its key says (so entries are measured at the right shapes)."""
    net = create_supernet(family, **sizes[family]).eval()
    blocks = block_family(family, net)
    specs = blocks.all_blocks()
    rng = np.random.default_rng(1)
    for _ in range(5):
        cfg = net.space().sample(rng)
        x = net.example_input(1, cfg)
        with torch.no_grad():
            want = net.subnet(cfg).eval()(x)
            for key in blocks.blocks(cfg):
                module, inputs, _ = specs[key].build()
                assert inputs[0].shape == x.shape, key
                x = module.eval()(x)
        assert x.shape == want.shape


def test_nb201_cell_blocks_follow_the_dag():
    net = create_supernet("nb201_cell", channels=4, n_nodes=3, n_cells=2)
    blocks = block_family("nb201_cell", net)
    # edges (0->1), (0->2), (1->2): node 2 sums two inputs once per cell
    keys = blocks.blocks({"op": ["nor_conv_3x3", "skip_connect", "avg_pool_3x3"]})
    assert keys == ["stem", *(["op/nor_conv_3x3/c4/h8", "op/skip_connect/c4/h8", "op/avg_pool_3x3/c4/h8",
                               "add/c4/h8"] * 2), "head"]
    # node 1 unreachable: its outgoing edge is skipped; output unreachable: a constant
    assert blocks.blocks({"op": ["none", "nor_conv_1x1", "avg_pool_3x3"]}) == [
        "stem", "op/nor_conv_1x1/c4/h8", "op/nor_conv_1x1/c4/h8", "head"]
    assert blocks.blocks({"op": ["none", "none", "skip_connect"]}) == ["stem", "zeros/c4/h8", "zeros/c4/h8", "head"]


def test_minilm_layers_at_the_sequence_length():
    net = create_supernet("transformer", depths=(1, 6), heads=(6, 12), ffn=(768, 1536), seq_len=16,
                          importance="magnitude")
    blocks = block_family("transformer", net)
    used, specs = _coverage("transformer", net, 100)
    assert used == set(specs) and len(specs) == 2 + 4
    cfg = {"depth": 1, "heads": [12] * 6, "ffn": [1536] * 6}
    assert blocks.blocks(cfg) == ["embed/L16", "layer/L16/h12/f1536", "pool/L16"]
    module, inputs, _ = specs["layer/L16/h6/f768"].build()
    with torch.no_grad():
        assert module(*inputs).shape == (1, 16, 384)
    with pytest.raises(ConfigError, match="heads"):
        blocks.blocks({"depth": 1, "heads": [7] * 6, "ffn": [1536] * 6})


def test_unknown_family_is_named():
    with pytest.raises(ConfigError, match="unknown name 'nope'"):
        block_family("nope", None)
