"""tailor's Deep GA against EvoTorch 0.6.1 on CartPole-v1, side by side in one run: same population,
truncation, sigma, network (4-16-2 tanh MLP) and one process each. EvoTorch runs in its own
environment (``--peer-python``, default /tmp/evotorch-venv/bin/python) via peer_evotorch.py.

(1) throughput: a fixed number of generations without early stop, interleaved repeats, medians;
(2) solve: generations, evaluations and wall time until the elite reaches 475, over several seeds.

    PYTHONPATH=src python benchmarks/evolve/compare.py --repeats 3 --seeds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tailor.lab.meta import write_result

OUT = Path("benchmarks/results/evolve")
HERE = Path(__file__).resolve().parent


def tailor_run(seed: int, generations: int, stop: bool, task: str = "CartPole-v1") -> dict:
    from tailor.evolve import EvolveStore, GAConfig, LocalEvaluator, TaskSpec, evolve

    spec = TaskSpec(task)
    d = spec.build().defaults
    ga = GAConfig(population=d.population, truncation=d.truncation, sigma=d.sigma, seed=seed,
                  elite_episodes=d.elite_episodes)
    t = time.perf_counter()
    res = evolve(spec, ga, generations, EvolveStore("sqlite://"), LocalEvaluator(spec),
                 solved_at=d.solved_at if stop else None)
    wall = time.perf_counter() - t
    rec = res.records
    ev, fr = sum(r["evaluations"] for r in rec), sum(r["frames"] for r in rec)
    return {"peer": "tailor", "algo": "deepga", "seed": seed, "solved": res.solved, "generations": len(rec),
            "evaluations": ev, "frames": fr, "wall_s": wall, "evals_per_s": ev / wall, "frames_per_s": fr / wall,
            "final": {k: rec[-1][k] for k in ("best", "mean", "elite")}}


def peer_run(python: str, algo: str, seed: int, generations: int, stop: bool, task: str = "CartPole-v1") -> dict:
    """EvoTorch with the same population, truncation, sigma, elite episodes and solve threshold as
    tailor's defaults for ``task``."""
    from tailor.evolve import TaskSpec

    d = TaskSpec(task).build().defaults
    cmd = [python, str(HERE / "peer_evotorch.py"), "--algo", algo, "--seed", str(seed), "--generations",
           str(generations), "--env", task, "--population", str(d.population), "--truncation", str(d.truncation),
           "--sigma", str(d.sigma), "--elite-episodes", str(d.elite_episodes),
           "--solved-at", str(d.solved_at)] + ([] if stop else ["--no-stop"])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800,
                         env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""})
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer-python", default="/tmp/evotorch-venv/bin/python")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--generations", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=5, help="solve runs per system (0: throughput only)")
    ap.add_argument("--task", default="CartPole-v1",
                    help="MountainCar-v0: episodes last 200 steps whatever the policy (until solved), so "
                         "evaluations per second compare like for like")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    thr: dict[str, list[dict]] = {"tailor": [], "evotorch-deepga": [], "evotorch-ga": []}
    for r in range(args.repeats):
        thr["tailor"].append(tailor_run(100 + r, args.generations, False, args.task))
        thr["evotorch-deepga"].append(peer_run(args.peer_python, "deepga", 100 + r, args.generations, False, args.task))
        thr["evotorch-ga"].append(peer_run(args.peer_python, "ga", 100 + r, args.generations, False, args.task))
        print("repeat", r, {k: round(v[-1]["evals_per_s"], 1) for k, v in thr.items()}, file=sys.stderr, flush=True)
    solve: dict[str, list[dict]] = {"tailor": [], "evotorch-deepga": [], "evotorch-ga": []}
    for s in range(args.seeds):
        solve["tailor"].append(tailor_run(s, 30, True, args.task))
        solve["evotorch-deepga"].append(peer_run(args.peer_python, "deepga", s, 30, True, args.task))
        solve["evotorch-ga"].append(peer_run(args.peer_python, "ga", s, 30, True, args.task))
    summary = {}
    for k in thr:
        summary[k] = {
            "evals_per_s": statistics.median(x["evals_per_s"] for x in thr[k]),
            "frames_per_s": statistics.median(x["frames_per_s"] for x in thr[k]),
            "frames_per_eval": statistics.median(x["frames"] / x["evaluations"] for x in thr[k]),
        }
        if solve[k]:
            summary[k].update({
                "solved": sum(x["solved"] for x in solve[k]), "seeds": len(solve[k]),
                "median_generations_to_solve": statistics.median(x["generations"] for x in solve[k]),
                "median_wall_s_to_solve": statistics.median(x["wall_s"] for x in solve[k]),
                "median_final_best": statistics.median(x["final"]["best"] for x in solve[k]),
            })
    print(f"{'system':16s} {'evals/s':>8s} {'frames/s':>9s} {'frames/eval':>11s}")
    for k, v in summary.items():
        print(f"{k:16s} {v['evals_per_s']:8.1f} {v['frames_per_s']:9.0f} {v['frames_per_eval']:11.1f}"
              + (f"  solved {v['solved']}/{v['seeds']}, {v['median_generations_to_solve']:.1f} generations, "
                 f"{v['median_wall_s_to_solve']:.1f} s" if "solved" in v else ""))
    name = "compare_evotorch.json" if args.task == "CartPole-v1" else f"compare_evotorch_{args.task}.json"
    write_result(OUT / name, {"task": args.task, "throughput": thr, "solve": solve,
                                                 "summary": summary,
                                                 "evals_ratio_tailor_over_evotorch_deepga":
                                                     summary["tailor"]["evals_per_s"]
                                                     / summary["evotorch-deepga"]["evals_per_s"]})


if __name__ == "__main__":
    main()
