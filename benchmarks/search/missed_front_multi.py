"""Where a multi-objective run's missing hypervolume lies: true-front cells found, and the HV each
missing cell (and each normalised-error band of them) would add. Prints only (a diagnostic).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search/missed_front_multi.py \
        cifar10_test_acc latency_ms_pixel3+latency_ms_gold_6226 0
"""

from __future__ import annotations

import sys

import numpy as np

from tailor.bench import nb201_scoring
from tailor.problems.nb201 import resolve_table
from tailor.search import make_tactic
from tailor.search.pareto import hypervolume, normalise, pareto_mask
from tailor.search.tailored import robust_bounds
from tailor.store import open_store
from tailor.study import Study


def main(accuracy_column: str, latency_column: str, seed: int, budget: int = 300) -> None:
    problem, ideal, ref, true_hv = nb201_scoring(str(resolve_table(None)), accuracy_column, latency_column)
    evaluator = problem.evaluators[0]
    table = evaluator.all_objectives()
    study = Study(problem, make_tactic("default"), open_store("sqlite://"), name="diag", seed=seed)
    study.optimize(budget)
    measured = np.array([evaluator.objective_vector(t.metrics) for t in study.trials()])
    hv = hypervolume(measured, ref, ideal) / true_hv
    front = table[pareto_mask(table)]
    found = np.array([np.any(np.all(np.isclose(measured, row), axis=1)) for row in front])
    print(f"HV {hv:.4f}; true front {len(front)} cells, found {found.sum()}; "
          f"measured front {pareto_mask(measured).sum()}")
    missing = front[~found]

    def gain(cells: np.ndarray) -> float:
        return hypervolume(np.vstack([measured, cells]), ref, ideal) / true_hv - hv

    bands = np.digitize(normalise(missing, ideal, ref)[:, 0], [0.1, 0.2, 0.4, 0.7])
    for b in range(5):
        if (bands == b).any():
            n, added = int((bands == b).sum()), gain(missing[bands == b])
            print(f"normalised error band {b}: {n} missing, HV if added {added:.4f}")
    lo, span = robust_bounds(measured, 1.5)
    outside = np.any((missing - lo) / span >= 1.1, axis=1)  # beyond the acquisition's reference point
    print(f"missing cells outside the acquisition's box: {int(outside.sum())} (HV {gain(missing[outside]):.4f}); "
          f"inside: {int((~outside).sum())} (HV {gain(missing[~outside]):.4f})")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
