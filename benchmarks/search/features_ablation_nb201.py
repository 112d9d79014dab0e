"""Ablation: predictor features on NB201, and front-neighbour picks on top of them.

``edges``: the previous default features, ``live_edge_onehot`` (one-hot of each edge's op, the
same with dead edges set to ``none``, a connectivity bit). ``paths``: the default,
``path_features`` (adds a one-hot of the op sequence on each input-to-output path and the live op
counts). ``paths+neighbour``: ``paths`` with one pick per batch a random unmeasured one-gene
neighbour of the measured front: the default tactic. ``edges+neighbour``: the previous features
with that pick. Same runs and scoring as ``tailor bench``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search/features_ablation_nb201.py \
        [--columns latency_ms_pixel3,... --variants edges,... --seeds 20 --jobs 2 --json OUT]

Writes ``benchmarks/results/search/features_ablation_nb201.json`` (docs/benchmarks/search.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tailor.bench import summarise
from tailor.lab.ablate import NB201_COLUMNS, ablate, ablation_table
from tailor.lab.meta import write_result
from tailor.problems.nb201 import live_edge_onehot
from tailor.search import TailorTactic

OUT = Path(__file__).resolve().parents[1] / "results" / "search" / "features_ablation_nb201.json"
VARIANTS = ("edges", "paths", "edges+neighbour", "paths+neighbour")


def make_variant(name: str) -> TailorTactic:
    return {"edges": lambda: TailorTactic(neighbours=0, features=live_edge_onehot),
            "edges+neighbour": lambda: TailorTactic(features=live_edge_onehot),
            "paths": lambda: TailorTactic(neighbours=0),
            "paths+neighbour": TailorTactic}[name]()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--columns", default=",".join(NB201_COLUMNS))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--accuracy-column", default="cifar10_test_acc")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, default=OUT)
    args = ap.parse_args()
    results = ablate(make_variant, args.variants.split(","), args.columns.split(","), args.seeds, args.budget,
                     args.jobs, accuracy_column=args.accuracy_column)
    rows = summarise(results)
    print(ablation_table(rows))
    print(f"wrote {write_result(args.json, {'summary': rows, 'results': results})}")


if __name__ == "__main__":
    main()
