"""Issue #24's check that the renovation changed no result: the same commands on two source trees.

    python benchmarks/renovation/behaviour_unchanged.py --before /path/to/old/src --after src --work /tmp/verify

runs in WORK/before and WORK/after: ``tailor bench nb201`` (3 latency columns x 3 tactics x 3 seeds,
budget 300), the MiniLM main job (10 evaluations) and a CNN family search (``nb201_cell`` on digits,
2 epochs, 8 evaluations); then compares the NB201 hypervolume traces (must be identical), and for
the same sub-networks the agreement / accuracy / MACs (identical) and latency (measured: a ratio).
``--compare-only`` skips the runs. Writes the comparison JSON with the run's metadata.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

COLUMNS = "latency_ms_pixel3,latency_ms_raspi4,latency_ms_eyeriss"


def run(src: Path, work: Path, old_cli: bool) -> None:
    """The three commands; ``old_cli``: the pre-renovation ``tailor bench`` took --json instead of --out."""
    env = {**os.environ, "PYTHONPATH": str(src.resolve()), "OMP_NUM_THREADS": "1"}
    work.mkdir(parents=True, exist_ok=True)
    bench_out = ["--json" if old_cli else "--out", "bench.json"]
    for args in (["bench", "nb201", "--latency-column", COLUMNS, "--tactics", "default,random,evolutionary",
                  "--budget", "300", "--seeds", "3", *bench_out],
                 ["search", "--budget", "10", "--out", "minilm"],
                 ["search", "--supernet", "nb201_cell", "--epochs", "2", "--budget", "8", "--out", "cell"]):
        subprocess.run([sys.executable, "-m", "tailor", *args], cwd=work, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _bench(work: Path) -> dict:
    path = work / "bench.json"
    runs = json.loads(path.read_text())["results"]
    return {(r["tactic"], r["latency_column"], r["seed"]): r["hv_curve"] for r in runs}


def _evaluations(path: Path) -> dict:
    return {e["key"]: e["metrics"] for e in json.loads(path.read_text())["evaluations"]}


def compare(before: Path, after: Path) -> dict:
    a, b = _bench(before), _bench(after)
    out: dict = {"nb201_runs": len(a), "nb201_identical_hv_curves": sum(a[k] == b.get(k) for k in a)}
    for problem, quality in (("minilm", "agreement"), ("cell", "accuracy")):
        ra, rb = (_evaluations(d / problem / "results.json") for d in (before, after))
        common = sorted(set(ra) & set(rb))
        out[problem] = {
            "evaluated": [len(ra), len(rb)], "same_subnetworks": len(common),
            f"identical_{quality}": sum(ra[k][quality] == rb[k][quality] for k in common),
            "identical_macs": sum(ra[k].get("macs") == rb[k].get("macs") for k in common),
            "latency_ratio_median": statistics.median(rb[k]["latency_ms"] / ra[k]["latency_ms"] for k in common),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", type=Path, help="src/ of the tree before the change")
    ap.add_argument("--after", type=Path, help="src/ of the tree after the change")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--compare-only", action="store_true")
    ap.add_argument("--json", type=Path, default=Path("benchmarks/results/renovation/behaviour_unchanged.json"))
    args = ap.parse_args()
    if not args.compare_only:
        run(args.before, args.work / "before", old_cli=True)
        run(args.after, args.work / "after", old_cli=False)
    result = compare(args.work / "before", args.work / "after")
    print(json.dumps(result, indent=1))
    from tailor.lab.meta import run_metadata

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": run_metadata(sys.argv), **result}, indent=1))


if __name__ == "__main__":
    main()
