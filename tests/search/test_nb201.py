import numpy as np
import pandas as pd
import pytest

from tailor.bench import nb201_reference, run_one
from tailor.problems.nb201 import (
    arch_string,
    live_edge_onehot,
    live_edges,
    nb201_problem,
    nb201_space,
    parse_arch,
    path_features,
)


def test_arch_strings_roundtrip_on_every_row(nb201_table):
    df = pd.read_csv(nb201_table)
    assert len(df) == 15625
    for arch in df["arch"]:
        assert arch_string({"op": parse_arch(arch)}) == arch


def test_every_cell_of_the_space_is_in_the_table(nb201_table):
    problem = nb201_problem(nb201_table)
    space = problem.space
    genes = space.enumerate_genes()
    metrics = problem.evaluators[0].evaluate([space.from_genes(g) for g in genes[::97]])
    assert all(0 < m["accuracy"] <= 100 and m["latency_ms"] >= 0 for m in metrics)


def test_live_edges():
    space = nb201_space()
    none = space.to_genes({"op": ["none"] * 6})
    chain = space.to_genes({"op": ["nor_conv_3x3", "none", "skip_connect", "none", "none", "nor_conv_1x1"]})
    dead_end = space.to_genes({"op": ["nor_conv_3x3", "nor_conv_3x3", "none", "skip_connect", "none", "none"]})
    live = live_edges(np.stack([none, chain, dead_end]))
    assert not live[0].any()
    assert live[1].tolist() == [True, False, True, False, False, True]
    # edges 0 and 1 lead to nodes 1 and 2, which never reach the output: dead
    assert live[2].tolist() == [False, False, False, True, False, False]
    assert live_edge_onehot(np.stack([none, chain])).shape == (2, 61)


def test_path_features_encode_the_op_sequence_of_each_path():
    space = nb201_space()
    # conv3x3 0->1, skip 1->2, conv1x1 2->3: only the path through edges 0, 2, 5 is open
    chain = space.to_genes({"op": ["nor_conv_3x3", "none", "skip_connect", "none", "none", "nor_conv_1x1"]})
    feats = space.encode_genes(chain[None], "features")[0]
    assert feats.shape == (61 + 4 + 16 + 16 + 64 + 4,)
    np.testing.assert_array_equal(feats[:61], live_edge_onehot(chain)[0])
    paths = feats[61:-4]
    # ops other than none coded skip 0, conv1x1 1, conv3x3 2, avgpool 3; sequence (2, 0, 1) -> 2*16 + 0*4 + 1
    assert np.flatnonzero(paths).tolist() == [4 + 16 + 16 + 33]
    np.testing.assert_allclose(feats[-4:], np.array([1, 1, 1, 0]) / 6)  # live skip, conv1x1, conv3x3, avgpool
    # the same ops in another order on the path is another feature
    swapped = space.to_genes({"op": ["nor_conv_1x1", "none", "skip_connect", "none", "none", "nor_conv_3x3"]})
    assert np.flatnonzero(path_features(swapped)[0][61:-4]).tolist() == [4 + 16 + 16 + 1 * 16 + 0 + 2]
    # edges 0 and 1 are dead here (nodes 1 and 2 never reach the output): their ops change the raw
    # one-hot only, so the predictor sees both cells as the single skip 0->3
    dead_end = space.to_genes({"op": ["nor_conv_3x3", "nor_conv_3x3", "none", "skip_connect", "none", "none"]})
    other = space.to_genes({"op": ["avg_pool_3x3", "skip_connect", "none", "skip_connect", "none", "none"]})
    a, b = path_features(np.stack([dead_end, other]))
    assert (a[:30] != b[:30]).any()
    np.testing.assert_array_equal(a[30:], b[30:])
    assert np.flatnonzero(a[61:-4]).tolist() == [0]
    np.testing.assert_allclose(a[-4:], [1 / 6, 0, 0, 0])


def test_scoring_against_the_true_front(nb201_table):
    problem = nb201_problem(nb201_table)
    all_F = problem.evaluators[0].all_objectives()
    ideal, ref, true_hv = nb201_reference(all_F)
    assert ref[0] == pytest.approx(15.11568) and ref[1] == pytest.approx(all_F[:, 1].max())
    assert 0 < true_hv <= 1
    r = run_one(nb201_table, "cifar10_test_acc", "latency_ms_pixel3", "random", 60, seed=0)
    assert 0.5 < r["hv_ratio"]["50"] < 1.0
    assert r["evals_to_99"] is None or r["evals_to_99"] > 50
    assert len(r["hv_curve"]) == 12
