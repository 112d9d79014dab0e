import numpy as np
import pandas as pd
import pytest

from tailor.bench import nb201_reference, run_one
from tailor.problems.nb201 import arch_string, live_edges, nb201_problem, nb201_space, parse_arch


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
    feats = space.encode_genes(np.stack([none, chain]), "features")
    assert feats.shape == (2, 61)


def test_scoring_against_the_true_front(nb201_table):
    problem = nb201_problem(nb201_table)
    all_F = problem.evaluators[0].all_objectives()
    ideal, ref, true_hv = nb201_reference(all_F)
    assert ref[0] == 15.0 and ref[1] == pytest.approx(all_F[:, 1].max())
    assert 0 < true_hv <= 1
    r = run_one(nb201_table, "cifar10_test_acc", "latency_ms_pixel3", "random", 60, seed=0)
    assert 0.5 < r["hv_ratio"]["50"] < 1.0
    assert r["evals_to_99"] is None or r["evals_to_99"] > 50
    assert len(r["hv_curve"]) == 12
