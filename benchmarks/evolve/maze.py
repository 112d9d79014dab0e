"""Hard maze, equal budget: GA-NS vs GA vs random search (T = 0), several seeds.

Each (method, seed) run gets the same population and generations (so the same evaluation budget)
and stops early once an individual reaches the goal. Runs go to a pool of processes, one per core;
finished runs are kept under ``runs/`` and skipped on a rerun, so the script can be resumed.

    PYTHONPATH=src python benchmarks/evolve/maze.py --seeds 10 --generations 200 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tailor.lab.meta import write_result

OUT = Path("benchmarks/results/evolve")
METHODS = {"ga-ns": ("ns", 40), "ga": ("off", 40), "random": ("off", 0)}


def one_run(method: str, seed: int, population: int, generations: int, sigma: float, path: str) -> dict:
    os.environ["OMP_NUM_THREADS"] = "1"
    from tailor.evolve import EvolveStore, GAConfig, LocalEvaluator, TaskSpec, evolve

    spec = TaskSpec("hardmaze")
    task = spec.build()
    novelty, truncation = METHODS[method]
    ga = GAConfig(population=population, truncation=truncation, sigma=sigma, novelty=novelty, seed=seed,
                  elite_episodes=1, archive_prob=task.defaults.archive_prob)
    t = time.perf_counter()
    res = evolve(spec, ga, generations, EvolveStore("sqlite://"), LocalEvaluator(spec),
                 solved_at=task.defaults.solved_at)
    wall = time.perf_counter() - t
    rec = res.records
    row = {"method": method, "seed": seed, "reached": res.solved, "generations": len(rec),
           "evaluations": sum(r["evaluations"] for r in rec), "frames": sum(r["frames"] for r in rec),
           "final_distance": -rec[-1]["elite"], "best_distance": -max(r["elite"] for r in rec), "wall_s": wall,
           "elite_seed_chain": rec[-1]["elite_seed_chain"],
           "final_positions": rec[-1]["behaviours"]}
    Path(path).write_text(json.dumps(row))
    return row


def escaped(positions: list[list[float]]) -> bool:
    """Whether any final position is past the deceptive part: out of the start basin, through the
    channel and above the long diagonal (87,91)-(192,146), i.e. on the way round to the goal."""
    return any(x > 60 and y < 91 + (x - 87) * 55 / 105 for x, y in positions)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--population", type=int, default=200)
    ap.add_argument("--generations", type=int, default=200)
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--report", action="store_true", help="only summarise the finished runs (no new runs)")
    args = ap.parse_args()
    runs = OUT / "maze_runs"
    runs.mkdir(parents=True, exist_ok=True)
    todo = []
    for seed in range(args.seeds):  # seeds outer, methods inner: a partial run stays balanced
        for m in args.methods.split(","):
            p = runs / f"{m}-s{seed}-p{args.population}-g{args.generations}.json"
            if not p.exists() and not args.report:
                todo.append((m, seed, args.population, args.generations, args.sigma, str(p)))
    with ProcessPoolExecutor(args.jobs) as pool:
        for row in pool.map(one_run, *zip(*todo, strict=True)) if todo else []:
            print(f"{row['method']:7s} seed {row['seed']}: reached={row['reached']} gens={row['generations']} "
                  f"dist={row['final_distance']:.1f} {row['wall_s']:.0f}s", flush=True)
    rows = [json.loads(p.read_text()) for p in sorted(runs.glob(f"*-p{args.population}-g{args.generations}.json"))]
    rows = [r for r in rows if r["seed"] < args.seeds]
    summary = {}
    for m in METHODS:
        mine = [r for r in rows if r["method"] == m]
        if mine:
            solved = [r for r in mine if r["reached"]]
            summary[m] = {"runs": len(mine), "reached": len(solved),
                          "escaped_basin": sum(escaped(r["final_positions"]) for r in mine),
                          "median_final_distance": sorted(r["final_distance"] for r in mine)[len(mine) // 2],
                          "mean_evaluations_when_reached": (sum(r["evaluations"] for r in solved) / len(solved)
                                                            if solved else None)}
    print(f"{'method':8s} {'runs':>5s} {'reached':>8s} {'escaped':>8s} {'median dist':>12s} {'evals to goal':>14s}")
    for m, s in summary.items():
        ev = f"{s['mean_evaluations_when_reached']:.0f}" if s["mean_evaluations_when_reached"] else "-"
        print(f"{m:8s} {s['runs']:5d} {s['reached']:8d} {s['escaped_basin']:8d} {s['median_final_distance']:12.1f} "
              f"{ev:>14s}")
    budget = args.population * args.generations
    write_result(OUT / "maze.json", {"task": "hardmaze", "population": args.population,
                                     "generations": args.generations, "sigma": args.sigma,
                                     "budget_individuals": budget, "summary": summary,
                                     "runs": [{k: v for k, v in r.items() if k != "final_positions"} for r in rows]})
    _plot(rows, OUT / "maze_final_positions.png")


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tailor.evolve import maze

    fig, axes = plt.subplots(1, len(METHODS), figsize=(4 * len(METHODS), 4))
    for ax, m in zip(axes, METHODS, strict=True):
        for x1, y1, x2, y2 in maze.WALLS:
            ax.plot([x1, x2], [y1, y2], "k-", lw=2)
        for r in rows:
            if r["method"] == m:
                pts = list(zip(*r["final_positions"], strict=True))
                ax.scatter(pts[0], pts[1], s=2, alpha=0.4)
        ax.plot(*maze.GOAL, "g*", ms=14)
        ax.plot(*maze.START, "bs")
        n = sum(r["method"] == m for r in rows)
        ok = sum(r["method"] == m and r["reached"] for r in rows)
        ax.set_title(f"{m}: goal reached in {ok}/{n}")
        ax.set_xlim(0, 200)
        ax.set_ylim(210, -5)
        ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
