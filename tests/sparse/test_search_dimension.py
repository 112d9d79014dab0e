"""Sparsity as a search dimension: nested masks, the mobilenetv3 option, the problem option, a tiny search."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tailor.cli import main
from tailor.errors import ConfigError
from tailor.measure.accuracy import AccuracyEvaluator
from tailor.measure.evaluators import LatencyEvaluator
from tailor.objectives import Objective
from tailor.problems import ProblemSpec
from tailor.problems._problem import Problem
from tailor.search import SearchSpec
from tailor.sparse import NestedMask, SparseConv2d, sparse_layers, sparse_runtime
from tailor.sparse.finetune import masked_finetune, sparse_train_spec
from tailor.store import open_store
from tailor.study import Study
from tailor.supernets import create_supernet
from tailor.train import TrainSpec, fit_to_input, train

TINY = {"num_classes": 10, "in_channels": 1, "width_mult": 0.25, "resolutions": (16,), "depths": (1, 2),
        "kernel_sizes": (3,), "expand_ratios": (3, 6), "final_channels": 32, "head_channels": 32}


def test_nested_masks_are_nested_and_have_the_requested_density():
    torch.manual_seed(0)
    w = torch.randn(64, 48)
    m = NestedMask(64, 48, block=4)
    m.rank_by_magnitude(w)
    keeps = {s: m.keep(s) for s in (0.0, 0.5, 0.7, 0.8, 0.9, 0.95)}
    n = keeps[0.0].numel()  # 16 blocks x 48 inputs
    for s, k in keeps.items():
        assert int(k.sum()) == round((1 - s) * n)
    levels = sorted(keeps)
    for lo, hi in zip(levels, levels[1:], strict=False):
        assert bool((keeps[hi] & ~keeps[lo]).sum() == 0), f"{hi} is not inside {lo}"
    # kept blocks are the largest by mean |w| over their 4 output channels
    scores = w.abs().reshape(16, 4, 48).mean(1)
    k = keeps[0.9]
    assert scores[k].min() >= scores[~k].max()
    mask = m.mask(0.9)
    assert mask.shape == (64, 48, 1, 1)
    rows = mask.reshape(16, 4, 48)
    assert torch.equal(rows, rows[:, :1].expand_as(rows))  # 4 output channels share each pattern
    assert float(1 - mask.mean()) == pytest.approx(0.9, abs=1 / n)
    assert m.mask(0.0) is None
    with pytest.raises(ConfigError, match="outside"):
        m.keep(1.0)


def test_sparsity_zero_is_the_dense_network_and_the_option_is_off_by_default():
    torch.manual_seed(0)
    plain = create_supernet("mobilenetv3", **TINY).eval()
    torch.manual_seed(0)
    net = create_supernet("mobilenetv3", **TINY, sparsities=(0.9, 0, 0.8)).eval()
    assert "sparsity" not in [c.name for c in plain.space().choices]
    choice = net.space().choices[-1]
    assert choice.name == "sparsity" and choice.values == (0.9, 0.8, 0.0) and choice.repeat == 5
    assert net.space().extreme("max")["sparsity"] == [0.0] * 5  # largest = dense
    x = torch.randn(3, 1, 16, 16)
    cfg = plain.space().extreme("max")
    plain.activate(cfg)
    net.activate({**cfg, "sparsity": [0.0] * 5})
    with torch.no_grad():
        assert torch.equal(plain(x), net(x))
        assert torch.equal(plain.subnet(cfg).eval()(x), net.subnet({**cfg, "sparsity": [0.0] * 5}).eval()(x))


def test_a_sparse_subnet_carries_its_masks_and_runs_on_the_kernel():
    torch.manual_seed(0)
    net = create_supernet("mobilenetv3", **TINY, sparsities=(0.0, 0.9)).eval()
    cfg = {**net.space().extreme("max"), "sparsity": [0.0, 0.9, 0.0, 0.9, 0.9]}
    net.activate(cfg)
    sub = net.subnet(cfg).eval()
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(sub(x), net(x), rtol=1e-5, atol=1e-5)  # evaluation sees the pruning
    blocks = list(sub.blocks)
    stage_of = [s for s in range(5) for _ in range(cfg["depth"][s])]
    for block, s in zip(blocks, stage_of, strict=True):
        for conv in (block.expand[0], block.project[0]):
            zeros = float((conv.weight == 0).float().mean())
            assert (zeros > 0.8) if cfg["sparsity"][s] else (zeros == 0.0)
    dense_out = sub(x).detach()
    sparse_runtime(sub, x[:1], dispatch="sparse")
    layers = sparse_layers(sub)
    pruned = {f"blocks.{i}.{part}.0" for i, s in enumerate(stage_of) if cfg["sparsity"][s] for part in
              ("expand", "project")}
    assert len(pruned) == 12 and pruned <= set(layers)  # (untrained residual projects fold to all zeros too)
    assert all(m.block == 4 for m in layers.values())
    with torch.no_grad():
        torch.testing.assert_close(sub(x), dense_out, rtol=1e-4, atol=1e-4)


def test_fast_path_matches_dense_on_padded_and_non_contiguous_inputs():
    torch.manual_seed(1)
    conv = nn.Conv2d(16, 22, 1, bias=True)  # 22 outputs: the last block of 4 is padded
    with torch.no_grad():
        conv.weight.mul_((torch.rand(22, 16, 1, 1) < 0.2).float())
    layer = SparseConv2d(conv, block=1, dispatch="sparse")
    x = torch.randn(1, 16, 7, 9)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), conv(x), rtol=1e-5, atol=1e-5)
        xc = x.to(memory_format=torch.channels_last)
        torch.testing.assert_close(layer(xc), conv(xc), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(layer(x), conv(x), rtol=1e-5, atol=1e-5)  # cached plan, again


@pytest.mark.parametrize("value, why", [("0,0.7,1.2", "outside [0, 1)"), ("-0.1", "outside [0, 1)"),
                                        ("abc", "not a number"), ("0.5,0.5", "repeats")])
def test_bad_sparsity_exits_2_with_one_line(capsys, tmp_path, value, why):
    code = main(["search", "--supernet", "mobilenetv3", "-o", f"sparsity={value}", "-o", "backend=torch",
                 "--budget", "2", "--study", str(tmp_path / "s.db"), "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tailor: error: sparsity:") and why in lines[0]
    assert "Traceback" not in err


def test_problem_option_parses_and_refuses_other_backends_and_families():
    spec = ProblemSpec("supernet", {"supernet": "mobilenetv3", "sparsity": "0.9,0,0.7", "backend": "torch"})
    assert spec.options["sparsity"] == [0.0, 0.7, 0.9]
    assert ProblemSpec.from_dict(spec.to_dict()).options == spec.options  # stored spec round-trips
    with pytest.raises(ConfigError, match="backend"):
        ProblemSpec("supernet", {"supernet": "mobilenetv3", "sparsity": "0,0.9"})
    with pytest.raises(ConfigError, match="no sparsity dimension"):
        ProblemSpec("supernet", {"supernet": "resnet", "sparsity": "0,0.9", "backend": "torch"})


def test_tiny_search_with_the_sparsity_dimension(tmp_path):
    torch.set_num_threads(1)
    dense_spec = TrainSpec(supernet="mobilenetv3", supernet_kwargs={k: v for k, v in TINY.items()
                                                                    if k not in ("num_classes", "in_channels")},
                           data="digits", epochs=1, seed=0, max_steps_per_epoch=2, batch_size=32,
                           sampler="spos")
    dense = train(dense_spec, tmp_path / "dense")
    spec = sparse_train_spec(dense_spec, [0.0, 0.9], epochs=1)
    ft = masked_finetune(spec, dense.supernet.state_dict(), tmp_path / "sparse", dense.data)
    net = ft.supernet.eval()
    # the fine-tune kept the ranking it started from, and a rerun resumes it unchanged
    again = masked_finetune(spec, dense.supernet.state_dict(), tmp_path / "sparse", dense.data)
    assert torch.equal(again.supernet.stages[1][0].expand_mask.rank, net.stages[1][0].expand_mask.rank)
    x = fit_to_input(dense.data.x_val[:64], (1, 16, 16))
    val = [(x, dense.data.y_val[:64])]
    problem = Problem("tiny", net.space(), [
        AccuracyEvaluator(net, val, None),
        LatencyEvaluator(net, backend="torch", warmup=1, repeats=2, rounds=1, cache=False, runtime="sparse"),
    ], [Objective("accuracy", "max"), Objective("latency_ms", "min")])
    study = Study(problem, SearchSpec(seed=0).build(), open_store("sqlite://"), seed=0)
    study.optimize(4)
    trials = study.trials()
    assert len(trials) == 4
    assert all(0 <= t.metrics["accuracy"] <= 1 and t.metrics["latency_ms"] > 0 for t in trials)
    assert {s for t in trials for s in t.config["sparsity"]} <= {0.0, 0.9}
    assert any(s > 0 for t in trials for s in t.config["sparsity"])
    assert np.isfinite([t.metrics["latency_ms"] for t in trials]).all()
    with pytest.raises(ConfigError, match="backend"):
        LatencyEvaluator(net, backend="onnxruntime", runtime="sparse")


def test_studies_and_tables_without_sparsity_keep_their_stored_options():
    spec = ProblemSpec("supernet", {"supernet": "mobilenetv3"})
    assert "sparsity" not in spec.options and "sparse_epochs" not in spec.options  # old studies resume
    from tailor.latency_table.blocks import ImageFamilyBlocks

    opts = ImageFamilyBlocks(create_supernet("mobilenetv3", **TINY)).options()
    assert "sparsities" not in opts and "sparse_block" not in opts


def test_one_level_per_network_reaches_the_dense_subnetworks_and_matches_per_stage():
    torch.manual_seed(0)
    per_stage = create_supernet("mobilenetv3", **TINY, sparsities=(0, 0.7, 0.8, 0.9)).eval()
    torch.manual_seed(0)
    net = create_supernet("mobilenetv3", **TINY, sparsities=(0, 0.7, 0.8, 0.9), sparsity_per="network").eval()
    choice = net.space().choices[-1]
    assert choice.name == "sparsity" and choice.values == (0.9, 0.8, 0.7, 0.0) and choice.repeat is None
    assert net.space().extreme("max")["sparsity"] == 0.0 and net.space().extreme("min")["sparsity"] == 0.9
    rng = np.random.default_rng(0)
    dense = np.mean([net.space().sample(rng)["sparsity"] == 0.0 for _ in range(800)])
    assert 0.2 < dense < 0.3  # 1 in 4, where one level per stage gives 1 in 4^5
    rng = np.random.default_rng(0)
    assert np.mean([set(per_stage.space().sample(rng)["sparsity"]) == {0.0} for _ in range(800)]) < 0.01
    x = torch.randn(2, 1, 16, 16)
    cfg = {k: v for k, v in net.space().extreme("max").items() if k != "sparsity"}
    for level in (0.0, 0.8):
        net.activate({**cfg, "sparsity": level})
        per_stage.activate({**cfg, "sparsity": [level] * 5})
        assert all(b.active_sparsity == level for stage in net.stages for b in stage[:2])
        with torch.no_grad():
            assert torch.equal(net(x), per_stage(x))
            assert torch.equal(net.subnet({**cfg, "sparsity": level})(x),
                               per_stage.subnet({**cfg, "sparsity": [level] * 5})(x))
    # sparsity 0 is the dense sub-network on the dense runtime: folded, no layer on the kernel
    sub = net.subnet({**cfg, "sparsity": 0.0}).eval()
    with torch.no_grad():  # as after training: no residual branch folds to all zeros
        for m in sub.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
    sparse_runtime(sub, x[:1])
    assert sparse_layers(sub) == {}
    with pytest.raises(ConfigError, match="sparsity_per"):
        create_supernet("mobilenetv3", **TINY, sparsities=(0, 0.9), sparsity_per="block")


def test_sparsity_per_option_is_stored_only_when_set_and_reaches_the_fine_tune():
    base = {"supernet": "mobilenetv3", "sparsity": "0,0.9", "backend": "torch"}
    assert "sparsity_per" not in ProblemSpec("supernet", base).options
    spec = ProblemSpec("supernet", {**base, "sparsity_per": "network"})
    assert spec.options["sparsity_per"] == "network"
    assert ProblemSpec.from_dict(spec.to_dict()).options == spec.options
    with pytest.raises(ConfigError, match="sparsity_per"):
        ProblemSpec("supernet", {**base, "sparsity_per": "layer"})
    with pytest.raises(ConfigError, match="sparsity_per.*needs sparsity"):
        ProblemSpec("supernet", {"supernet": "mobilenetv3", "sparsity_per": "network"})
    dense = TrainSpec(supernet="mobilenetv3", supernet_kwargs={"width_mult": 0.25}, epochs=3)
    assert "sparsity_per" not in sparse_train_spec(dense, [0, 0.9], 2).supernet_kwargs  # old fine-tunes resume
    assert sparse_train_spec(dense, [0, 0.9], 2, per="network").supernet_kwargs["sparsity_per"] == "network"
