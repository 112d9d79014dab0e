"""End to end over real super-networks: search, results folder, knee export, `tailor export`."""

import json

import onnxruntime as ort
import pytest

from tailor.cli import main


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TAILOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def _check_results(out, n):
    data = json.loads((out / "results.json").read_text())
    assert len(data["evaluations"]) == n
    assert all("latency_ms" in e["metrics"] and "macs" in e["metrics"] for e in data["evaluations"])
    names = ("evaluations.csv", "front.csv", "pareto.png", "knee/subnet.onnx", "knee/subnet.pt", "knee/config.json")
    for name in names:
        assert (out / name).is_file(), name
    return data


def test_main_job_minilm_with_a_tiny_budget(tmp_path):
    out = tmp_path / "minilm"
    assert main(["search", "--budget", "2", "--tactic", "random", "--out", str(out)]) == 0
    data = _check_results(out, 2)
    assert all(0.0 <= e["metrics"]["agreement"] <= 1.0 for e in data["evaluations"])
    session = ort.InferenceSession(str(out / "knee" / "subnet.onnx"))
    assert len(session.get_inputs()) == 2  # input_ids, attention_mask


def test_cell_supernet_train_search_and_export(tmp_path, capsys):
    out = tmp_path / "cell"
    args = ["search", "--supernet", "nb201_cell", "--data", "digits", "--epochs", "1", "--budget", "6",
            "--out", str(out)]
    assert main(args) == 0
    data = _check_results(out, 6)
    assert all(0.0 <= e["metrics"]["accuracy"] <= 1.0 for e in data["evaluations"])
    exported = tmp_path / "exported"
    assert main(["export", str(out / "study.db"), "--pick", "knee", "--out", str(exported)]) == 0
    meta = json.loads((exported / "config.json").read_text())
    assert meta["supernet"] == "nb201_cell"
    fastest = min(e["metrics"]["latency_ms"] for e in data["evaluations"])
    assert main(["export", str(out / "study.db"), "--max-latency", str(fastest / 2), "--out", str(exported)]) == 2
    assert "max_latency: no trial is that fast" in capsys.readouterr().err
    assert main(["export", str(out / "study.db"), "--max-latency", str(fastest), "--out", str(tmp_path / "f")]) == 0
    assert (tmp_path / "f" / "subnet.onnx").is_file()


def test_export_refuses_a_table_study(tmp_path, capsys, synthetic_table):
    out = tmp_path / "t"
    assert main(["search", "nb201", "--table", synthetic_table, "--accuracy-column", "acc", "--latency-column",
                 "lat_a", "--tactic", "random", "--budget", "5", "--out", str(out)]) == 0
    assert main(["export", str(out / "study.db"), "--pick", "knee", "--out", str(tmp_path / "e")]) == 2
    assert "searched problem 'nb201', which has no super-network: nothing to export" in capsys.readouterr().err
