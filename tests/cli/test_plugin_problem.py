"""A problem registered from outside tailor runs through search, report and export unchanged."""

import json

import toy_plugin  # noqa: F401  (registers toy_mlp: one file, one register_problem call)

from tailor.cli import main
from tailor.problems import list_problems


def test_registered_problem_runs_search_report_and_export(tmp_path, capsys):
    assert "toy_mlp" in list_problems()
    out = tmp_path / "run"
    assert main(["search", "toy_mlp", "--budget", "8", "--out", str(out), "-o", "seed=3"]) == 0
    data = json.loads((out / "results.json").read_text())
    assert len(data["evaluations"]) == 8 and data["front"]
    # the knee was exported and verified by the search, as for the built-in super-networks
    verify = json.loads((out / "knee" / "verify.json").read_text())
    assert verify["ok"] and {c["metric"] for c in verify["checks"]} == {"onnx_output", "error"}

    assert main(["report", str(out / "study.db"), "--json", str(tmp_path / "r.json")]) == 0
    assert len(json.loads((tmp_path / "r.json").read_text())["front"]) == len(data["front"])

    capsys.readouterr()
    smallest = min(data["evaluations"], key=lambda e: e["metrics"]["params"])
    assert main(["export", str(out / "study.db"), "--pick", str(smallest["number"]), "--out", str(tmp_path / "e")]) == 0
    written = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[1] for p in written] == ["subnet.pt", "config.json", "subnet.onnx"]
    record = json.loads((tmp_path / "e" / "config.json").read_text())
    assert record["config"] == smallest["config"] and record["problem"] == {"name": "toy_mlp", "options": {"seed": 3}}
    assert json.loads((tmp_path / "e" / "verify.json").read_text())["ok"]


def test_resume_with_changed_spec_is_refused_and_unchanged_resumes(tmp_path, capsys):
    args = ["search", "toy_mlp", "--budget", "4", "--out", str(tmp_path / "r")]
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args, "-o", "seed=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "problem.spec.options.seed: 0 -> 1" in err
    assert main([*args, "--tactic-option", "kappa=2"]) == 2
    assert "search.kappa: 1.0 -> 2" in capsys.readouterr().err
    assert main([*args[:2], "--budget", "6", *args[4:]]) == 0  # unchanged: resumes and extends
    assert "resuming study 'tailor': 4 evaluations already stored" in capsys.readouterr().err
