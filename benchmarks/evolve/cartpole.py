"""CartPole-v1 with the task's defaults: generations, evaluations, frames and wall time until the
elite's re-evaluated return reaches 475, over several seeds (in process, one core).

    PYTHONPATH=src python benchmarks/evolve/cartpole.py --seeds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from tailor.lab.meta import write_result

OUT = Path("benchmarks/results/evolve")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--task", default="CartPole-v1")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from tailor.evolve import EvolveStore, GAConfig, LocalEvaluator, TaskSpec, evolve

    spec = TaskSpec(args.task)
    d = spec.build().defaults
    rows = []
    for seed in range(args.seeds):
        ga = GAConfig(population=d.population, truncation=d.truncation, sigma=d.sigma, seed=seed,
                      elite_episodes=d.elite_episodes)
        t = time.perf_counter()
        res = evolve(spec, ga, d.generations, EvolveStore("sqlite://"), LocalEvaluator(spec), solved_at=d.solved_at)
        wall = time.perf_counter() - t
        rec = res.records
        rows.append({"seed": seed, "solved": res.solved, "generations": len(rec), "elite": rec[-1]["elite"],
                     "evaluations": sum(r["evaluations"] for r in rec), "frames": sum(r["frames"] for r in rec),
                     "wall_s": wall, "seed_chain_length": len(rec[-1]["elite_seed_chain"]["mutations"])})
        r = rows[-1]
        print(f"seed {seed}: solved={r['solved']} generations={r['generations']} elite={r['elite']:.1f} "
              f"evaluations={r['evaluations']} frames={r['frames']} wall={wall:.1f}s", flush=True)
    summary = {"solved": sum(r["solved"] for r in rows), "runs": len(rows),
               "median_generations": statistics.median(r["generations"] for r in rows),
               "median_wall_s": statistics.median(r["wall_s"] for r in rows),
               "max_wall_s": max(r["wall_s"] for r in rows)}
    print(summary)
    write_result(OUT / f"solve_{args.task}.json", {"task": args.task, "defaults": d.__dict__, "runs": rows,
                                                   "summary": summary})


if __name__ == "__main__":
    main()
