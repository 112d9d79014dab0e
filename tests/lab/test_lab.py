"""``tailor.lab``: research code apart from the product, run metadata, and the ablation runner."""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path

from tailor.bench import run_one, summarise
from tailor.lab.ablate import ablate, ablation_table
from tailor.lab.meta import run_metadata, write_result
from tailor.search import TailorTactic

SRC = Path(__file__).resolve().parents[2] / "src" / "tailor"


def test_the_product_never_imports_the_lab_or_the_benchmarks():
    pattern = re.compile(r"^\s*(from|import)\s+(tailor\.lab|benchmarks)\b", re.M)
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if "lab" not in p.relative_to(SRC).parts and pattern.search(p.read_text())]
    assert offenders == []


def test_run_metadata_and_write_result(tmp_path):
    meta = run_metadata(["benchmarks/x.py", "--seeds", "2"])
    assert set(meta) >= {"git_commit", "machine", "date", "command"}
    assert meta["command"].endswith("benchmarks/x.py --seeds 2")
    assert meta["machine"]["cores"] >= 1 and meta["machine"]["cpu"]
    path = write_result(tmp_path / "a" / "r.json", {"rows": [1]}, argv=["x.py"])
    data = json.loads(path.read_text())
    assert list(data) == ["meta", "rows"] and data["meta"]["command"].endswith("x.py")


def _variant(name: str) -> TailorTactic:
    return TailorTactic(neighbours={"plain": 0, "neighbour": 1}[name])


def test_ablate_runs_every_variant_as_tailor_bench_runs_it(nb201_table):
    results = ablate(_variant, ["plain", "neighbour"], ["latency_ms_pixel3"], seeds=1, budget=20, jobs=1,
                     accuracy_column="cifar10_test_acc", table=nb201_table)
    assert [r["tactic"] for r in results] == ["plain", "neighbour"]
    same = run_one(nb201_table, "cifar10_test_acc", "latency_ms_pixel3", partial(_variant, "plain"), 20, 0,
                   label="plain")
    assert same["hv_curve"] == results[0]["hv_curve"]
    text = ablation_table(summarise(results))
    assert "neighbour" in text.splitlines()[-1]
