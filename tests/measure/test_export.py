import json

import numpy as np
import pytest
import torch

from tailor.cli import main
from tailor.errors import ConfigError
from tailor.export import export_subnet, load_subnet
from tailor.measure.onnx_io import ort_feed, ort_session
from tailor.supernets import create_supernet


@pytest.mark.parametrize("name", ["mobilenetv3", "resnet"])
def test_exported_onnx_matches_supernet_path(name, small_kwargs, tmp_path):
    kwargs = small_kwargs[name]
    torch.manual_seed(0)
    net = create_supernet(name, **kwargs).eval()
    cfg = net.space().sample(np.random.default_rng(3))
    meta = {"supernet": name, "supernet_kwargs": kwargs}
    paths = export_subnet(net, cfg, tmp_path / "out", metadata=meta)
    assert json.loads(paths.config.read_text())["config_key"] == net.space().key(cfg)

    x = net.example_input(2, cfg)
    net.activate(cfg)
    with torch.no_grad():
        expected = net(x).numpy()
    session = ort_session(paths.onnx)
    # the ONNX graph was traced at batch 1: run sample by sample
    got = np.concatenate([session.run(None, ort_feed(session, (x[i:i + 1],)))[0] for i in range(2)])
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)

    reloaded = load_subnet(tmp_path / "out")
    with torch.no_grad():
        np.testing.assert_allclose(reloaded(x).numpy(), expected, atol=1e-5, rtol=1e-5)


def test_corrupt_state_dict_is_one_clear_error(tmp_path, small_kwargs):
    kwargs = small_kwargs["mobilenetv3"]
    net = create_supernet("mobilenetv3", **kwargs)
    cfg = net.space().extreme("min")
    paths = export_subnet(net, cfg, tmp_path, metadata={"supernet": "mobilenetv3",
                                                        "supernet_kwargs": kwargs})
    paths.state_dict.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="state_dict"):
        load_subnet(tmp_path)


def test_export_config_outside_space(tmp_path, small_kwargs):
    net = create_supernet("mobilenetv3", **small_kwargs["mobilenetv3"])
    bad = dict(net.space().extreme("min"), resolution=999)
    with pytest.raises(ConfigError, match="resolution"):
        export_subnet(net, bad, tmp_path)


def test_cli_needs_exactly_one_pick(tmp_path, capsys):
    assert main(["export", "study", "--out", str(tmp_path)]) == 2
    assert main(["export", "study", "--pick", "knee", "--max-latency", "3",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "tailor: error: pick" in err


def test_latency_of_a_network_that_ignores_its_input():
    """A degenerate sub-network (all edges 'none') exports a graph without inputs: still measurable."""
    import torch

    from tailor.measure.latency import measure_latency

    class Constant(torch.nn.Module):
        def forward(self, x):
            return torch.zeros(1, 10) + 1.0

    result = measure_latency(Constant(), (torch.randn(1, 3, 8, 8),), "onnxruntime", warmup=2, repeats=5)
    assert result.n == 5 and result.median_ms > 0


def test_cnn_export_carries_the_recalibrated_batchnorm_and_verifies(small_kwargs, tmp_path):
    """mobilenetv3 (elastic resolution, running BN statistics): the export holds the statistics the
    AccuracyEvaluator computed, not the super-network's, and its ONNX scores the same top-1."""
    from tailor.export import VERIFY_NAME, export_and_verify
    from tailor.measure import AccuracyEvaluator, LatencyEvaluator

    kwargs = small_kwargs["mobilenetv3"]
    torch.manual_seed(0)
    net = create_supernet("mobilenetv3", **kwargs).eval()
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(96, 1, 24, 24, generator=gen), torch.randint(0, 10, (96,), generator=gen)
    val = list(zip(torch.split(x[:64], 32), torch.split(y[:64], 32), strict=True))
    calib = list(zip(torch.split(x[64:] * 3 + 1, 16), torch.split(y[64:], 16), strict=True))
    cfg = dict(net.space().sample(np.random.default_rng(5)), resolution=16)
    evaluators = [AccuracyEvaluator(net, val, calib, calib_batches=2),
                  LatencyEvaluator(net, warmup=1, repeats=5, cache=False)]
    metrics = {k: v for e in evaluators for k, v in e.evaluate([cfg])[0].items()}
    before = {k: v.clone() for k, v in net.state_dict().items()}

    paths, result = export_and_verify(net, cfg, tmp_path, evaluators, {"supernet": "mobilenetv3"}, metrics)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # supernet untouched
    state = torch.load(paths.state_dict, weights_only=True)
    raw = net.subnet(cfg).state_dict()
    calibrated = evaluators[0].calibrated_subnet(cfg).state_dict()
    stats = [k for k in state if k.endswith(("running_mean", "running_var"))]
    assert stats and all(torch.equal(state[k], calibrated[k]) for k in stats)
    assert all(not torch.allclose(state[k], raw[k]) for k in stats)
    assert json.loads(paths.config.read_text())["bn_recalibrated"] is True

    checks = {c.metric: c for c in result.checks}
    assert result.ok and checks["accuracy"].exported == metrics["accuracy"]
    assert checks["onnx_output"].ok and checks["latency_ms"].exported > 0
    assert json.loads((tmp_path / VERIFY_NAME).read_text())["ok"] is True
    wrong = dict(metrics, accuracy=metrics["accuracy"] + 1 / 64)
    from tailor.export import verify_export

    assert [c.metric for c in verify_export(tmp_path, net, cfg, evaluators, wrong).errors] == ["accuracy"]
