"""Exports reproduce the study: BN re-calibration travels with the sub-network, verify.json says so.

One tiny ``nb201_cell`` super-network is trained on digits and searched once for the module; its
batch norms use batch statistics in the super-network, so only a re-calibrated export can score
at batch 1 what the study recorded.
"""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from tailor.cli import main
from tailor.export import STATE_DICT_NAME, VERIFY_NAME


@pytest.fixture(scope="module")
def cell_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TAILOR_CACHE_DIR", str(root / "cache"))
        mp.chdir(root)
        out = root / "cell"
        args = ["search", "--supernet", "nb201_cell", "--data", "digits", "--epochs", "3", "--budget", "4",
                "--out", str(out)]
        assert main(args) == 0
        yield root, out


@pytest.fixture
def in_study_dir(cell_study, monkeypatch):
    root, out = cell_study
    monkeypatch.setenv("TAILOR_CACHE_DIR", str(root / "cache"))
    monkeypatch.chdir(root)
    return root, out


def _checks(folder):
    data = json.loads((folder / VERIFY_NAME).read_text())
    return data, {c["metric"]: c for c in data["checks"]}


def _onnx_correct(onnx_path):
    """Correct predictions of the ONNX file on the problem's validation split, sample by sample."""
    from tailor.train import load_data

    split = load_data("digits", 0.2, 0)  # the split TrainSpec's defaults give the search
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    correct = 0
    for x, y in zip(split.x_val, split.y_val, strict=True):
        feed = {names[0]: x[None].numpy()} if names else {}
        correct += int(session.run(None, feed)[0].argmax(1)[0] == int(y))
    return correct, len(split.y_val)


def test_search_writes_verify_json_and_the_onnx_scores_the_study_accuracy(cell_study):
    _, out = cell_study
    knee = out / "knee"
    data, checks = _checks(knee)
    assert data["ok"] is True and data["latency_tolerance"] == 0.1
    assert set(checks) == {"onnx_output", "accuracy", "latency_ms"}
    for c in checks.values():
        assert {"study", "exported", "ratio", "ok", "rule", "measured_on", "severity"} <= set(c)
    acc = checks["accuracy"]
    assert acc["measured_on"] == "onnx" and acc["ok"] and acc["exported"] == acc["study"] and acc["ratio"] == 1.0
    lat = checks["latency_ms"]
    assert lat["severity"] == "warning" and lat["exported"] > 0 and lat["ratio"] == lat["exported"] / lat["study"]
    assert lat["detail"]["repeats"] == 30 and lat["detail"]["threads"] == 1 and lat["detail"]["cache"] == "bypassed"
    # independently of tailor's code: ONNX Runtime on the validation images gives the same count
    study_acc = json.loads((knee / "config.json").read_text())["metrics"]["accuracy"]
    correct, n = _onnx_correct(knee / "subnet.onnx")
    assert correct == round(study_acc * n) and correct / n == study_acc


def test_exported_state_dict_carries_the_recalibrated_batchnorm(cell_study):
    from tailor.export import load_subnet
    from tailor.supernets import create_supernet

    _, out = cell_study
    knee = out / "knee"
    record = json.loads((knee / "config.json").read_text())
    assert record["bn_recalibrated"] is True
    state = torch.load(knee / STATE_DICT_NAME, weights_only=True)
    raw = create_supernet("nb201_cell", **record["supernet_kwargs"]).subnet(record["config"]).state_dict()
    stats = [k for k in state if k.endswith("running_mean")]
    assert stats and not any(k in raw for k in stats)  # the family itself keeps no running statistics
    assert all(not torch.equal(state[k], torch.zeros_like(state[k])) for k in stats)  # filled in, not defaults
    model = load_subnet(knee)  # rebuilds the tracking BN layers before loading
    with torch.no_grad():
        one = model(torch.randn(1, 1, 8, 8))
    assert one.shape == (1, 10) and torch.isfinite(one).all()


def test_tailor_export_reproduces_the_knee_exactly(in_study_dir):
    root, out = in_study_dir
    exported = root / "exported"
    assert main(["export", str(out / "study.db"), "--pick", "knee", "--out", str(exported)]) == 0
    _, checks = _checks(exported)
    assert checks["accuracy"]["ok"] and checks["accuracy"]["exported"] == checks["accuracy"]["study"]
    # same calibration batches, same order: the very same tensors as the knee written by search
    a = torch.load(out / "knee" / STATE_DICT_NAME, weights_only=True)
    b = torch.load(exported / STATE_DICT_NAME, weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert main(["export", str(out / "study.db"), "--pick", "knee", "--no-verify", "--out", str(exported)]) == 0
    assert not (exported / VERIFY_NAME).exists()  # no stale verification of an earlier export


def test_an_export_without_recalibration_fails_verification(in_study_dir, monkeypatch, capsys):
    """The old gap: the super-network's BN state exported as is does not score what the study did."""
    from tailor.measure.accuracy import AccuracyEvaluator

    root, out = in_study_dir
    monkeypatch.setattr(AccuracyEvaluator, "calibrated_subnet", lambda self, config: self.supernet.subnet(config))
    bad = root / "uncalibrated"
    assert main(["export", str(out / "study.db"), "--pick", "knee", "--out", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "tailor: error: verify: the exported model measures accuracy=" in err
    data, checks = _checks(bad)
    assert data["ok"] is False and not checks["accuracy"]["ok"]


def test_latency_outside_tolerance_is_only_a_warning():
    from tailor.export import Check, Verification

    v = Verification([Check("accuracy", 0.5, 0.5, True, "equal", "onnx"),
                      Check("latency_ms", 1.0, 1.3, False, "±10%", "onnx", "warning")])
    assert v.ok and [c.metric for c in v.warnings] == ["latency_ms"] and not v.errors
    assert np.isclose(v.to_dict()["checks"][1]["ratio"], 1.3)
