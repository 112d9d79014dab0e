"""Hard maze, equal budget: GA-NS vs GA vs random search (T = 0), on development or test seeds.

Protocol: settings are tuned on development seeds (``--seeds 100-104 --tag dev-...``), then the
chosen ones run once on the test seeds 0-9 for all three methods with the same population and
generations (the same evaluation budget). A run stops early once an individual reaches the goal.
Runs go to a pool of processes; finished runs are kept under ``maze_runs/TAG/`` and skipped on a
rerun, so the script resumes.

    PYTHONPATH=src python benchmarks/evolve/maze.py --seeds 0-9 --tag test --jobs 2
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
METHODS = {"ga-ns": "ns", "ga": "off", "random": "off"}


def one_run(method: str, seed: int, s: dict, path: str, plot: str | None) -> dict:
    os.environ["OMP_NUM_THREADS"] = "1"
    from tailor.evolve import GAConfig, Genome, LocalEvaluator, TaskSpec, init_scales, initial_state, rebuild, step

    spec = TaskSpec("hardmaze", {"hidden": s["hidden"]})
    task = spec.build()
    ga = GAConfig(population=s["population"], truncation=0 if method == "random" else s["truncation"],
                  sigma=s["sigma"], novelty=METHODS[method], seed=seed, elite_episodes=1,
                  archive_prob=s["archive_prob"], k=s["k"],
                  parents_survive=s.get("parents_survive", False) and method == "ga-ns")
    t = time.perf_counter()
    # the GA loop of ``tailor.evolve.evolve`` without its store (each run is kept as one file instead)
    state, rec, evaluator = initial_state(ga), [], LocalEvaluator(spec)
    while state.generation < s["generations"] and not (rec and rec[-1]["elite"] >= task.defaults.solved_at):
        state, record = step(ga, state, evaluator)
        rec.append(record)
    wall = time.perf_counter() - t
    solved = rec[-1]["elite"] >= task.defaults.solved_at
    elite = Genome.from_json(rec[-1]["elite_seed_chain"])
    theta = rebuild(elite, init_scales(task.policy))
    row = {"method": method, "seed": seed, "reached": solved, "generations": len(rec),
           "evaluations": sum(r["evaluations"] for r in rec), "frames": sum(r["frames"] for r in rec),
           "final_distance": -rec[-1]["elite"], "best_distance": -max(r["elite"] for r in rec), "wall_s": wall,
           "elite_seed_chain": rec[-1]["elite_seed_chain"], "final_positions": rec[-1]["behaviours"],
           "elite_trajectory": task.trajectory(theta, 0).round(2).tolist()}
    Path(path).write_text(json.dumps(row))
    if plot:
        from tailor.evolve._outputs import maze_plot

        name = "GA-NS" if method == "ga-ns" else method.upper() if method == "ga" else "random search"
        maze_plot(Path(plot).parent, rec, task, theta, f"{name}, seed {seed}: "
                  f"{'goal reached' if solved else 'not reached'} ({row['evaluations']:,} evals)",
                  name=Path(plot).name)
    return row


def escaped(positions: list[list[float]]) -> bool:
    """Whether any final position is past the deceptive part: out of the start basin, through the
    channel and above the long diagonal (87,91)-(192,146), i.e. on the way round to the goal."""
    return any(x > 60 and y < 91 + (x - 87) * 55 / 105 for x, y in positions)


def seed_list(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0-9", help="e.g. 0-9 (test) or 100-104 (development)")
    ap.add_argument("--tag", default="test", help="names the folder of runs and the JSON")
    ap.add_argument("--population", type=int, default=None)
    ap.add_argument("--truncation", type=int, default=None)
    ap.add_argument("--generations", type=int, default=None)
    ap.add_argument("--sigma", type=float, default=None)
    ap.add_argument("--archive-prob", type=float, default=None)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--parents-survive", choices=("on", "off"), default=None,
                    help="GA-NS only: the T parents compete again in the next generation (default: the task's)")
    ap.add_argument("--hidden", default=None, help="hidden widths, e.g. 16 or 32,32 (default: the task's)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--plot-seed", type=int, default=None, help="draw every final position of this seed's runs")
    args = ap.parse_args()

    from tailor.evolve import TaskSpec

    task = TaskSpec("hardmaze").build()
    d = task.defaults
    s = {"population": args.population or d.population, "truncation": args.truncation or d.truncation,
         "generations": args.generations or d.generations, "sigma": args.sigma or d.sigma,
         "archive_prob": d.archive_prob if args.archive_prob is None else args.archive_prob, "k": args.k,
         "parents_survive": d.parents_survive if args.parents_survive is None else args.parents_survive == "on",
         "hidden": [int(h) for h in args.hidden.split(",")] if args.hidden else list(task.policy.hidden)}
    runs = OUT / "maze_runs" / args.tag
    runs.mkdir(parents=True, exist_ok=True)
    (runs / "settings.json").write_text(json.dumps(s))
    methods = args.methods.split(",")
    seeds = seed_list(args.seeds)
    todo = []
    for seed in seeds:  # seeds outer, methods inner: a partial run stays balanced
        for m in methods:
            p = runs / f"{m}-s{seed}.json"
            plot = str(OUT / f"maze_{args.tag}_{m}_s{seed}.png") if seed == args.plot_seed else None
            if not p.exists():
                todo.append((m, seed, s, str(p), plot))
    with ProcessPoolExecutor(args.jobs) as pool:
        for row in pool.map(one_run, *zip(*todo, strict=True)) if todo else []:
            print(f"{row['method']:7s} seed {row['seed']}: reached={row['reached']} gens={row['generations']} "
                  f"evals={row['evaluations']} dist={row['final_distance']:.1f} {row['wall_s']:.0f}s", flush=True)
    rows = [json.loads(p.read_text()) for p in sorted(runs.glob("*-s*.json"))]
    rows = [r for r in rows if r["seed"] in seeds and r["method"] in methods]
    summary = {}
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        if mine:
            solved = [r for r in mine if r["reached"]]
            evals = sorted(r["evaluations"] for r in solved)
            summary[m] = {"runs": len(mine), "reached": len(solved),
                          "reached_seeds": sorted(r["seed"] for r in solved),
                          "escaped_basin": sum(escaped(r["final_positions"]) for r in mine),
                          "median_final_distance": sorted(r["final_distance"] for r in mine)[len(mine) // 2],
                          "median_evaluations_when_reached": evals[len(evals) // 2] if evals else None,
                          "max_evaluations": max(r["evaluations"] for r in mine),
                          "wall_s": sum(r["wall_s"] for r in mine)}
    print(f"[{args.tag}] {s}")
    print(f"{'method':8s} {'runs':>5s} {'reached':>8s} {'escaped':>8s} {'median dist':>12s} {'evals to goal':>14s}")
    for m, v in summary.items():
        ev = f"{v['median_evaluations_when_reached']}" if v["median_evaluations_when_reached"] else "-"
        print(f"{m:8s} {v['runs']:5d} {v['reached']:8d} {v['escaped_basin']:8d} {v['median_final_distance']:12.1f} "
              f"{ev:>14s}")
    write_result(OUT / f"maze_{args.tag}.json", {
        "task": "hardmaze", "tag": args.tag, "seeds": seeds, "settings": s,
        "budget_individuals": s["population"] * s["generations"], "summary": summary,
        "runs": [{k: v for k, v in r.items() if k not in ("final_positions", "elite_trajectory")} for r in rows]})
    _plot(rows, methods, OUT / f"maze_{args.tag}_final_positions.png")


def _plot(rows: list[dict], methods: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tailor.evolve import maze

    fig, axes = plt.subplots(1, len(methods), figsize=(4 * len(methods), 4), squeeze=False)
    for ax, m in zip(axes[0], methods, strict=True):
        for x1, y1, x2, y2 in maze.WALLS:
            ax.plot([x1, x2], [y1, y2], "k-", lw=2)
        for r in rows:
            if r["method"] == m:
                pts = list(zip(*r["final_positions"], strict=True))
                ax.scatter(pts[0], pts[1], s=2, alpha=0.4)
                if r.get("elite_trajectory"):  # runs stored before trajectories were kept have none
                    tr = list(zip(*r["elite_trajectory"], strict=True))
                    ax.plot(tr[0], tr[1], lw=0.8, alpha=0.7)
        ax.plot(*maze.GOAL, "g*", ms=14)
        ax.plot(*maze.START, "bs")
        n = sum(r["method"] == m for r in rows)
        ok = sum(r["method"] == m and r["reached"] for r in rows)
        ax.set_title(f"{m}: goal reached in {ok}/{n}")
        ax.set_xlim(0, 200)
        ax.set_ylim(210, -5)
        ax.set_aspect("equal")
    fig.suptitle("last generation's final positions (dots) and each run's elite path (lines)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
