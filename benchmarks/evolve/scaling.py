"""Evaluations per second with 1 and 2 Ray workers (and in process), and the per-task overhead of
a Ray actor call, measured side by side in one run (interleaved repeats, medians).

    PYTHONPATH=src python benchmarks/evolve/scaling.py --task CartPole-v1 --population 100 --repeats 3
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
    ap.add_argument("--task", default="CartPole-v1")
    ap.add_argument("--population", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pings", type=int, default=200)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import ray

    from tailor.evolve import GAConfig, Genome, Job, LocalEvaluator, RayEvaluator, TaskSpec, episode_seed

    spec = TaskSpec(args.task)
    ga = GAConfig(population=args.population, truncation=10, sigma=0.1, seed=0)
    parents = [Genome(i) for i in range(10)]
    from tailor.evolve._workers import LOCAL_SYSTEM_CONFIG

    # 3 logical CPUs: the 1-worker and 2-worker pools live side by side (3 actors) and take turns on
    # the 2 cores, so they are measured interleaved under the same load
    ray.init(address="local", num_cpus=3, include_dashboard=False, log_to_driver=False,
             _system_config=LOCAL_SYSTEM_CONFIG,
             runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}})
    backends = {"in-process": LocalEvaluator(spec), "ray-1": RayEvaluator(spec, 1), "ray-2": RayEvaluator(spec, 2)}
    for ev in backends.values():  # warm up: actors started, parents cached, code compiled
        ev.evaluate([Job(p, (1,)) for p in parents])
    rates: dict[str, list[float]] = {k: [] for k in backends}
    fps: dict[str, list[float]] = {k: [] for k in backends}
    for r in range(args.repeats):
        jobs = [Job(parents[i % 10].child(1000 * r + i, ga.sigma), (episode_seed(0, r, i, 0),))
                for i in range(args.population)]
        for name, ev in backends.items():
            t = time.perf_counter()
            out = ev.evaluate(jobs)
            dt = time.perf_counter() - t
            rates[name].append(len(jobs) / dt)
            fps[name].append(sum(e[0].frames for e in out) / dt)
    # per-task overhead: an actor call with no work, round trip
    actor = backends["ray-1"].actors[0]
    ray.get(actor.run.remote([]))
    t = time.perf_counter()
    for _ in range(args.pings):
        ray.get(actor.run.remote([]))
    overhead = (time.perf_counter() - t) / args.pings
    t = time.perf_counter()
    ray.get([actor.run.remote([]) for _ in range(args.pings)])
    pipelined = (time.perf_counter() - t) / args.pings
    episode_s = 1.0 / statistics.median(rates["in-process"])
    rows = {k: {"evals_per_s": statistics.median(v), "frames_per_s": statistics.median(fps[k]),
                "all_evals_per_s": v} for k, v in rates.items()}
    print(f"{'backend':11s} {'evals/s':>9s} {'frames/s':>10s}")
    for k, v in rows.items():
        print(f"{k:11s} {v['evals_per_s']:9.1f} {v['frames_per_s']:10.0f}")
    print(f"actor call round trip {overhead * 1e3:.2f} ms, pipelined {pipelined * 1e3:.2f} ms; "
          f"one {args.task} episode {episode_s * 1e3:.2f} ms")
    for ev in backends.values():
        ev.close()
    ray.shutdown()
    write_result(OUT / f"scaling_{args.task}.json", {
        "task": args.task, "population": args.population, "repeats": args.repeats, "backends": rows,
        "speedup_2_over_1": rows["ray-2"]["evals_per_s"] / rows["ray-1"]["evals_per_s"],
        "actor_call_overhead_s": overhead, "actor_call_pipelined_s": pipelined, "episode_s": episode_s,
        "load_average_1m_after": os.getloadavg()[0]})


if __name__ == "__main__":
    main()
