"""`tailor profile` and `tailor search --latency DEVICE.json` end to end on the NB201 cell family."""

import json

import pytest

from tailor.cli import main


@pytest.fixture(autouse=True)
def _private(tmp_path, monkeypatch):
    monkeypatch.setenv("TAILOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def _profile(path, threads=1, *extra):
    return main(["profile", "--supernet", "nb201_cell", "--data", "digits", "--threads", str(threads), "--rounds", "2",
                 "--repeats", "3", "--calibration", "5", "--out", str(path), *extra])


def test_profile_then_search_with_the_table(tmp_path, capsys):
    assert _profile(tmp_path / "dev1.json") == 0
    table = json.loads((tmp_path / "dev1.json").read_text())
    assert table["family"] == "nb201_cell" and table["threads"] == 1 and len(table["entries"]) == 8
    assert table["options"]["channels"] == 8 and table["options"]["num_classes"] == 10  # the digits sizes
    out = tmp_path / "run"
    args = ["search", "--supernet", "nb201_cell", "--data", "digits", "--epochs", "1", "--budget", "4", "--tactic",
            "random", "--latency", str(tmp_path / "dev1.json"), "--out", str(out)]
    assert main(args) == 0
    evals = json.loads((out / "results.json").read_text())["evaluations"]
    from tailor.latency_table import LatencyTable, block_family
    from tailor.supernets import create_supernet

    t = LatencyTable.load(tmp_path / "dev1.json")
    blocks = block_family("nb201_cell", create_supernet("nb201_cell", channels=8, num_classes=10, in_channels=1))
    for e in evals:  # the objective is the table's prediction, exactly
        assert e["metrics"]["latency_ms"] == pytest.approx(t.predict(blocks.blocks(e["config"]))[0])
        assert "latency_std_ms" in e["metrics"]
    # another table (another "device") for the same study is refused by the settings check
    assert _profile(tmp_path / "dev2.json", 2) == 0
    capsys.readouterr()
    args[args.index(str(tmp_path / "dev1.json"))] = str(tmp_path / "dev2.json")
    assert main(args) == 2
    assert "settings" in capsys.readouterr().err


def test_profile_export_writes_runner(tmp_path):
    assert main(["profile", "--supernet", "nb201_cell", "--data", "digits", "--calibration", "2", "--export",
                 str(tmp_path / "x")]) == 0
    assert (tmp_path / "x" / "run_profile.py").is_file() and (tmp_path / "x" / "manifest.json").is_file()


@pytest.mark.parametrize("args,message", [
    (["--out", "a.json", "--export", "d"], "give exactly one of --out"),
    (["--threads", "0", "--out", "a.json"], "threads: must be a positive integer"),
    (["--rounds", "0", "--out", "a.json"], "rounds: must be >= 1"),
    (["-o", "resolutionz=[8]", "--out", "a.json"], "resolutionz"),
])
def test_profile_bad_input_exits_2(args, message, capsys):
    assert main(["profile", "--supernet", "nb201_cell", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_search_with_a_bad_table_exits_2(tmp_path, capsys):
    # all refused before any training (the table is read and its family checked first)
    base = ["search", "--supernet", "mobilenetv3", "--data", "digits", "--epochs", "1", "--budget", "2"]
    assert main([*base, "--latency", "missing.json"]) == 2
    assert "latency: table file not found: missing.json" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("[1, 2")
    assert main([*base, "--latency", "bad.json"]) == 2
    assert "bad.json is not a valid latency table" in capsys.readouterr().err
    assert _profile(tmp_path / "cell.json") == 0
    capsys.readouterr()
    assert main([*base, "--latency", "cell.json"]) == 2
    assert "profiled for family 'nb201_cell', this search uses 'mobilenetv3'" in capsys.readouterr().err
    assert not (tmp_path / "runs" / "supernets").exists()
