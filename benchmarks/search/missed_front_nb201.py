"""Which true-front cells does a run miss, and how much hypervolume do they hold?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search/missed_front_nb201.py --tactic default --seed 0 \
        [--features paths|edges --neighbours 1]

Prints the missed cells (docs/benchmarks/search.md); writes no file.
"""

from __future__ import annotations

import argparse

import numpy as np

from tailor.bench import nb201_reference
from tailor.problems import ProblemSpec, build_problem
from tailor.problems.nb201 import NB201_FEATURES
from tailor.search import TailorTactic, hypervolume, make_tactic, pareto_mask
from tailor.store import open_store
from tailor.study import Study


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accuracy-column", default="cifar10_test_acc")
    ap.add_argument("--latency-column", default="latency_ms_pixel3")
    ap.add_argument("--tactic", default="default")
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--features", choices=list(NB201_FEATURES), default="paths", help="for tailor's tactic")
    ap.add_argument("--neighbours", type=int, default=1, help="for tailor's tactic")
    args = ap.parse_args()
    problem = build_problem(ProblemSpec("nb201", {"accuracy_column": args.accuracy_column,
                                               "latency_column": args.latency_column}))
    all_F = problem.evaluators[0].all_objectives()
    ideal, ref, true_hv = nb201_reference(all_F)
    tactic = make_tactic(args.tactic)
    if isinstance(tactic, TailorTactic):
        tactic = TailorTactic(neighbours=args.neighbours, features=NB201_FEATURES[args.features])
    study = Study(problem, tactic, open_store("sqlite://"), seed=args.seed)
    study.optimize(args.budget)
    F = np.array([[100 - t.metrics["accuracy"], t.metrics["latency_ms"]] for t in study.trials()])
    print(f"{args.tactic} seed {args.seed}: HV ratio {hypervolume(F, ref, ideal) / true_hv:.4f} "
          f"after {len(F)} evaluations")
    front = all_F[pareto_mask(all_F)]
    for f in front[np.argsort(front[:, 1])]:
        if np.any(np.all(np.isclose(F, f), axis=1)) or f[0] >= ref[0]:
            continue
        rest = front[~np.all(np.isclose(front, f), axis=1)]
        share = (true_hv - hypervolume(rest, ref, ideal)) / true_hv
        if share > 5e-4:
            print(f"missed: error {f[0]:.3f} %, latency {f[1]:.3f} ms, holds {share:.2%} of the true HV")


if __name__ == "__main__":
    main()
