import json
import subprocess
import sys

import pytest

from tailor.cli import main


def run(*args: str) -> int:
    return main(list(args))


def test_search_writes_results_and_report_reads_them(synthetic_table, tmp_path, capsys):
    out = tmp_path / "run"
    assert run("search", "nb201", "--table", synthetic_table, "--accuracy-column", "acc", "--latency-column",
               "lat_a", "--tactic", "random", "--budget", "40", "--seed", "1", "--out", str(out)) == 0
    for name in ("results.json", "evaluations.csv", "front.csv", "pareto.png", "hypervolume.png", "study.db"):
        assert (out / name).is_file(), name
    data = json.loads((out / "results.json").read_text())
    assert len(data["evaluations"]) == 40
    assert 1 <= len(data["front"]) < 40
    assert run("report", str(out / "study.db"), "--json", str(tmp_path / "r.json")) == 0
    rep = json.loads((tmp_path / "r.json").read_text())
    assert [e["config"] for e in rep["evaluations"]] == [e["config"] for e in data["evaluations"]]
    assert set(rep["evaluations"][0]) >= {"config", "metrics"}
    # front points are mutually non-dominated and each beats every other evaluation somewhere
    front = [(f["metrics"]["accuracy"], f["metrics"]["latency_ms"]) for f in rep["front"]]
    for a in front:
        for b in front:
            assert not (b[0] >= a[0] and b[1] <= a[1] and b != a)


def test_rerun_resumes_and_extends(synthetic_table, tmp_path):
    args = ["search", "nb201", "--table", synthetic_table, "--accuracy-column", "acc", "--latency-column", "lat_a",
            "--tactic", "evolutionary", "--seed", "2", "--out", str(tmp_path / "r")]
    assert run(*args, "--budget", "30") == 0
    assert run(*args, "--budget", "30") == 0  # nothing new to do
    assert run(*args, "--budget", "55") == 0
    data = json.loads((tmp_path / "r" / "results.json").read_text())
    keys = [e["key"] for e in data["evaluations"]]
    assert len(keys) == len(set(keys)) == 55


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tactic", "bayes"], "tactic: unknown name 'bayes' (allowed: default, evolutionary, linas, random, tailor)"),
        (["--latency-column", "nope"], "latency_column: 'nope' is not a numeric column"),
        (["--latency-column", "note"], "latency_column: 'note' is not a numeric column"),
        (["--accuracy-column", "arch"], "accuracy_column: 'arch' is not a numeric column"),
        (["--budget", "0"], "budget: must be an integer >= 1, got 0"),
        (["--tactic", "random:nsga2"], "tactic: 'random' takes no algorithm"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(synthetic_table, tmp_path, capsys, args, message):
    base = ["search", "nb201", "--table", synthetic_table, "--accuracy-column", "acc", "--latency-column", "lat_a",
            "--out", str(tmp_path / "x")]
    assert run(*base, *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tailor: error: ") and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_missing_and_malformed_tables(tmp_path, capsys):
    assert run("search", "nb201", "--table", str(tmp_path / "none.csv")) == 2
    assert "table: file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("arch,acc,lat\n|nor_conv_3x3~0|+|bogus~0|none~1|+|none~0|none~1|none~2|,90,1\n")
    assert run("search", "nb201", "--table", str(bad), "--accuracy-column", "acc", "--latency-column", "lat") == 2
    assert "table: row 2: arch" in capsys.readouterr().err
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x00\xff\xfe" * 100)
    assert run("search", "nb201", "--table", str(binary)) == 2
    assert "tailor: error: " in capsys.readouterr().err


def test_option_of_another_problem_is_refused(tmp_path, capsys):
    assert run("search", "--table", str(tmp_path / "t.csv")) == 2
    assert ("minilm.table: unknown option (allowed: backend, threads, latency_repeats, latency, latency_missing, "
            "latency_rounds, latency_noise, weights)") in capsys.readouterr().err


def test_unknown_problem_and_supernet(capsys):
    assert run("search", "cifar") == 2
    assert "problem: unknown name 'cifar' (allowed: minilm, nb201, supernet" in capsys.readouterr().err
    assert run("search", "--supernet", "vgg") == 2
    assert "supernet: unknown name 'vgg' (allowed: " in capsys.readouterr().err


def test_report_on_missing_study(tmp_path, capsys):
    assert run("report", str(tmp_path / "none.db")) == 2
    assert "study: file not found" in capsys.readouterr().err


def test_bench_writes_json_and_plot(synthetic_table, tmp_path):
    assert run("bench", "nb201", "--table", synthetic_table, "--accuracy-column", "acc", "--latency-column",
               "lat_a,lat_b", "--tactics", "random,default", "--budget", "50", "--seeds", "2", "--out",
               str(tmp_path / "b" / "bench.json")) == 0
    data = json.loads((tmp_path / "b" / "bench.json").read_text())
    assert len(data["results"]) == 2 * 2 * 2
    r = data["results"][0]
    assert set(r) >= {"tactic", "accuracy_column", "latency_column", "seed", "hv_ratio", "evals_to_99",
                      "overhead_s_per_eval"}
    assert 0 < r["hv_ratio"]["50"] <= 1.0 + 1e-9
    assert (tmp_path / "b" / "bench.png").is_file() and data["machine"]["cpu"]


def test_module_entry_point_prints_help():
    res = subprocess.run([sys.executable, "-m", "tailor", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "search" in res.stdout and "bench" in res.stdout


def test_bad_supernet_inputs_are_one_line_and_exit_2(tmp_path, capsys):
    """Unknown backend, missing data path, image folder with no classes, corrupt checkpoint."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "last.pt").write_bytes(b"not a checkpoint")
    cases = [
        (["search", "--supernet", "mobilenetv3", "--backend", "tvm"], "backend: unknown backend 'tvm'"),
        (["search", "--supernet", "mobilenetv3", "--data", str(tmp_path / "none")], "data: path not found"),
        (["search", "--supernet", "resnet", "--data", str(tmp_path / "empty")],
         "data: image folder has no class folders"),
        (["train", "--out", str(tmp_path / "ck"), "--epochs", "1"], "checkpoint: cannot read"),
    ]
    for args, message in cases:
        assert run(*args) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.startswith("tailor: error: ") and message in err, err
        assert len(err.splitlines()) == 1 and "Traceback" not in err
