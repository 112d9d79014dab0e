"""Ablation of the default tactic's robust scaling on NAS-Bench-201 (the seven studied latency columns).

``robust``: objectives scaled to the upper Tukey fence, predictor targets clipped at 1.2, the
default since. ``min-max``: the tactic as it was before (scaled to the measured range, no
clipping), i.e. ``fence=None, clip=None``. Both on the rest of the tactic as it was then
(``live_edge_onehot`` features, no neighbour pick). Same runs and scoring as ``tailor bench``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search/scaling_ablation_nb201.py \
        [--columns all|C1,C2 --seeds 10 --jobs 2 --json OUT]

Writes ``benchmarks/results/search/scaling_ablation_nb201.json`` (docs/benchmarks/search.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from tailor.bench import summarise
from tailor.lab.ablate import NB201_COLUMNS, ablate, ablation_table
from tailor.lab.meta import write_result
from tailor.problems.nb201 import live_edge_onehot, resolve_table
from tailor.search import TailorTactic

VARIANTS = {"robust": {}, "min-max": {"fence": None, "clip": None}}
OUT = Path(__file__).resolve().parents[1] / "results" / "search" / "scaling_ablation_nb201.json"


def make_variant(name: str) -> TailorTactic:
    return TailorTactic(neighbours=0, features=live_edge_onehot, **VARIANTS[name])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--columns", default=",".join(NB201_COLUMNS), help="latency columns, comma-separated, or 'all'")
    ap.add_argument("--accuracy-column", default="cifar10_test_acc")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, default=OUT)
    args = ap.parse_args()
    columns = ([c for c in pd.read_csv(resolve_table(None), nrows=1).columns if c.startswith("latency")]
               if args.columns == "all" else args.columns.split(","))
    results = ablate(make_variant, list(VARIANTS), columns, args.seeds, args.budget, args.jobs,
                     accuracy_column=args.accuracy_column)
    rows = summarise(results)
    print(ablation_table(rows))
    print(f"wrote {write_result(args.json, {'summary': rows, 'results': results})}")


if __name__ == "__main__":
    main()
