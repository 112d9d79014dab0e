"""Overhead-aware prediction (sum of block - call overhead, + one network call) and the robust correction."""

import json

import numpy as np
import onnxruntime as ort
import pytest
from scipy.stats import theilslopes

from tailor.cli import main
from tailor.errors import ConfigError
from tailor.latency_table import LatencyTable
from tailor.latency_table.overhead import null_model
from tailor.latency_table.runner import FORMAT, fit_correction, table_fingerprint


def _synthetic(entries: dict, networks: dict, correction: dict) -> dict:
    data = {"format": FORMAT, "family": "toy", "options": {}, "threads": 1, "batch": 1,
            "entries": {k: {"median_ms": m, "overhead_ms": o} for k, (m, o) in entries.items()},
            "networks": {k: {"median_ms": v} for k, v in networks.items()}, "correction": correction}
    data["fingerprint"] = table_fingerprint(data)
    return data


def test_prediction_subtracts_each_blocks_overhead_and_adds_the_networks_once():
    # a device where every call costs 0.05 ms: blocks of 0.10, 0.30 and 0.02 ms of real work
    table = LatencyTable(_synthetic(
        {"stem": (0.15, 0.05), "body": (0.35, 0.05), "head": (0.07, 0.05), "tiny": (0.03, 0.05)},
        {"stem|head": 0.06},
        {"kind": "scale", "scale": 1.5, "offset_ms": 0.0, "n": 8, "rel_std": 0.1}))
    assert table.uncorrected(["stem", "body", "head"]) == pytest.approx(0.06 + 0.10 + 0.30 + 0.02)
    assert table.block_sum(["stem", "body", "head"]) == pytest.approx(0.57)  # the old, overhead-laden sum
    # a block measured below its own null graph (noise on a tiny block) is not clipped: sums stay unbiased
    assert table.uncorrected(["stem", "tiny", "head"]) == pytest.approx(0.06 + 0.10 - 0.02 + 0.02)
    ms, std = table.predict(["stem", "body", "head"])
    assert ms == pytest.approx(1.5 * 0.48) and std == pytest.approx(0.1 * ms)
    with pytest.raises(ConfigError, match="no entry for block 'network overhead stem\\|body'"):
        table.predict(["stem", "body"])  # a network whose (first, last) pair has no overhead measured


def test_robust_correction_ignores_an_outlying_calibration_network():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.2, 1.0, 12)
    measured = 1.2 * pred * rng.uniform(0.97, 1.03, 12)
    measured[3] *= 3.0  # one network measured in a slow spell of the machine
    scale = fit_correction(pred, measured, "scale")
    assert scale["scale"] == pytest.approx(1.2, rel=0.03) and scale["offset_ms"] == 0
    ts = fit_correction(pred, measured, "theil-sen")
    assert ts["scale"] == pytest.approx(1.2, rel=0.08) and abs(ts["offset_ms"]) < 0.05
    assert ts["scale"] == pytest.approx(theilslopes(measured, pred)[0])  # the same estimate as scipy's
    # least squares (what version 1 tables fitted) follows the outlier
    lsq = np.polyfit(pred, measured, 1)
    assert abs(lsq[0] - 1.2) > 0.15 or abs(lsq[1]) > 0.1
    # the uncertainty is robust too: one bad point of 12 does not inflate it past the 3 % noise
    assert scale["rel_std"] < 0.05 and len(scale["loo_rel"]) == 12
    assert fit_correction(pred, measured, "none")["scale"] == 1.0
    with pytest.raises(ValueError, match="correction must be one of"):
        fit_correction(pred, measured, "lstsq")


def test_null_graph_has_the_blocks_inputs_and_outputs(tmp_path):
    inputs = [{"name": "x", "shape": [1, 8, 4, 4], "dtype": "float32"},
              {"name": "mask", "shape": [1, 4], "dtype": "int64"}]
    outputs = [{"shape": [1, 16, 2, 2], "dtype": "float32"}]
    path = tmp_path / "null.onnx"
    path.write_bytes(null_model(inputs, outputs).SerializeToString())
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["x", "mask"]
    x = np.full((1, 8, 4, 4), 2.5, np.float32)
    (y,) = sess.run(None, {"x": x, "mask": np.ones((1, 4), np.int64)})
    assert y.shape == (1, 16, 2, 2) and np.all(y == 2.5)


def test_version_1_and_corrupt_tables_are_refused_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = {"format": "tailor-latency-table/1", "family": "mobilenetv3", "entries": {}, "correction": {}}
    (tmp_path / "old.json").write_text(json.dumps(old))
    with pytest.raises(ConfigError, match="old.json is a version-1 table .*profile the device again"):
        LatencyTable.load(tmp_path / "old.json")
    base = ["search", "--supernet", "mobilenetv3", "--data", "digits", "--epochs", "1", "--budget", "2"]
    for name, text, message in (
        ("old.json", None, "is a version-1 table (no per-call overheads); profile the device again"),
        ("trunc.json", '{"format": "tailor-latency-table/2", "entr', "is not a valid latency table: not JSON"),
        ("list.json", "[1, 2]", "is not a valid latency table: not a JSON object"),
        ("future.json", json.dumps({"format": "tailor-latency-table/9"}), "format is 'tailor-latency-table/9'"),
    ):
        if text is not None:
            (tmp_path / name).write_text(text)
        assert main([*base, "--latency", name]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    good = _synthetic({"a": (0.1, 0.05)}, {"a|a": 0.05}, {"kind": "scale", "scale": 1.0, "offset_ms": 0.0})
    del good["entries"]["a"]["overhead_ms"]
    (tmp_path / "no_overhead.json").write_text(json.dumps(good))
    with pytest.raises(ConfigError, match="entry 'a' has no non-negative overhead_ms"):
        LatencyTable.load(tmp_path / "no_overhead.json")


def test_refit_changes_the_correction_without_measuring_and_re_signs():
    from tailor.latency_table.runner import refit

    data = _synthetic({"a": (0.30, 0.05), "b": (0.15, 0.05)}, {"a|b": 0.05, "a|a": 0.05},
                      {"kind": "scale", "scale": 1.0, "offset_ms": 0.0})
    data["calibration"] = [{"blocks": ["a", "b"], "measured_ms": 0.80}, {"blocks": ["a", "a", "b"], "measured_ms": 1.3},
                           {"blocks": ["a", "b", "b"], "measured_ms": 1.0}]
    out = refit(data, "theil-sen")
    assert [c["predicted_ms"] for c in out["calibration"]] == pytest.approx([0.40, 0.65, 0.50])
    assert out["correction"]["kind"] == "theil-sen" and out["correction"]["scale"] == pytest.approx(2.0)
    assert out["correction"]["offset_ms"] == pytest.approx(0.0, abs=1e-9)
    assert LatencyTable._check(out, "refit.json")["fingerprint"] != data["fingerprint"]


def test_blocks_correction_recovers_sum_and_per_block_terms_and_predicts_with_them():
    """The default correction: measured ~ a * plain block sum + b * blocks + c."""
    rng = np.random.default_rng(1)
    sums = rng.uniform(0.2, 2.0, 10)
    counts = rng.integers(5, 20, 10)
    measured = 0.9 * sums - 0.012 * counts + 0.03
    fit = fit_correction(sums, measured, "blocks", block_sums=sums, counts=counts)
    assert fit["kind"] == "blocks" and fit["scale"] == pytest.approx(0.9)
    assert fit["per_block_ms"] == pytest.approx(-0.012) and fit["offset_ms"] == pytest.approx(0.03)
    assert fit["rel_std"] == pytest.approx(0.0, abs=1e-9) and len(fit["loo_rel"]) == 10
    table = LatencyTable(_synthetic({"a": (0.30, 0.05), "b": (0.15, 0.05)}, {"a|b": 0.05},
                                    {k: fit[k] for k in ("kind", "scale", "per_block_ms", "offset_ms", "rel_std")}))
    ms, _ = table.predict(["a", "b", "b"])
    assert ms == pytest.approx(0.9 * 0.60 - 0.012 * 3 + 0.03)
    with pytest.raises(ValueError, match="needs block_sums"):
        fit_correction(sums, measured, "blocks")
    # fewer than 4 networks cannot fit 3 terms with a leave-one-out: the median ratio instead
    assert fit_correction(sums[:3], measured[:3], "blocks", sums[:3], counts[:3])["kind"] == "scale"


def test_a_blocks_correction_without_its_per_block_term_is_refused(tmp_path):
    data = _synthetic({"a": (0.30, 0.05)}, {"a|a": 0.05}, {"kind": "blocks", "scale": 1.0, "offset_ms": 0.0})
    (tmp_path / "t.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="per_block_ms"):
        LatencyTable.load(tmp_path / "t.json")
