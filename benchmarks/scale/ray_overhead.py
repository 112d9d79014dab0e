"""Ray backend: overhead per evaluation against the local pool, and speed-up of 2 Ray workers over 1.

    PYTHONPATH=src .venv/bin/python benchmarks/scale/ray_overhead.py [--n 200] [--cpu-n 16] [--repeats 3]

Overhead: ``--n`` configurations of the toy problem (an evaluation costs ~20 us) through
``imap_unordered`` of each pool with 2 workers, after the pool has started (start-up reported
apart): the wall time per configuration is what the backend adds to every evaluation.
Speed-up: ``--cpu-n`` evaluations of a CPU-bound objective (``CpuBoundAccuracy``: trains and scores
a small numpy MLP on a fixed data set, ~0.2 s of one core each) on 1 then 2 Ray workers.
Pools run interleaved, ``--repeats`` times; medians. Writes benchmarks/results/scale/ray_overhead.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), *sys.path])  # for Ray's workers

import numpy as np  # noqa: E402
from cpu_objective import CpuBoundAccuracy  # noqa: E402

from tailor.lab.meta import write_result  # noqa: E402
from tailor.parallel import WorkerPool  # noqa: E402
from tailor.parallel_ray import RayPool, RaySettings  # noqa: E402
from tailor.testing import toy_problem  # noqa: E402

OUT = Path("benchmarks/results/scale")


def run(pool, configs) -> float:
    t0 = time.perf_counter()
    got = list(pool.imap_unordered(configs))
    assert len(got) == len(configs) and all(m[1] is None for _, m, _ in got), got[:2]
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--cpu-n", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    toy = toy_problem()
    configs = [toy.space.sample(np.random.default_rng(i)) for i in range(args.n)]
    names = [o.name for o in toy.objectives]
    starts, per_eval = {}, {"local pool": [], "ray": []}
    t0 = time.perf_counter()
    local = WorkerPool(toy.evaluators, names, 2)
    run(local, configs[:4])
    starts["local pool"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ray = RayPool(toy.evaluators, names, 2, RaySettings(cpus_per_worker=1))
    run(ray, configs[:4])
    starts["ray"] = time.perf_counter() - t0
    for r in range(args.repeats):
        for name, pool in (("local pool", local), ("ray", ray)):
            per_eval[name].append(run(pool, configs) / len(configs))
            print(f"repeat {r} {name:10s}: {per_eval[name][-1] * 1e3:7.3f} ms per evaluation", flush=True)
    local.close()
    ray.close()

    cpu = CpuBoundAccuracy()
    cpu_configs = [{"hidden": 32 + (i % 4) * 16, "seed": i} for i in range(args.cpu_n)]
    walls = {1: [], 2: []}
    # 0.5 CPU each: both pools (3 actors) fit on a 2-core machine at once, so they can run interleaved
    pools = {w: RayPool([cpu], ["accuracy"], w, RaySettings(cpus_per_worker=0.5)) for w in (1, 2)}
    for w in (1, 2):
        run(pools[w], cpu_configs[:w])  # warm: actors started and imported
    for r in range(args.repeats):
        for w in (1, 2):
            walls[w].append(run(pools[w], cpu_configs))
            print(f"repeat {r} {w} Ray worker(s), CPU-bound: {walls[w][-1]:6.2f} s", flush=True)
    for p in pools.values():
        p.close()
    med = {k: statistics.median(v) for k, v in per_eval.items()}
    wall = {w: statistics.median(v) for w, v in walls.items()}
    print("\n| backend (2 workers) | start-up s | overhead ms/evaluation |\n|---|---:|---:|")
    for k in med:
        print(f"| {k} | {starts[k]:.1f} | {med[k] * 1e3:.3f} |")
    print(f"\nCPU-bound, {args.cpu_n} evaluations: 1 worker {wall[1]:.2f} s, 2 workers {wall[2]:.2f} s, "
          f"speed-up {wall[1] / wall[2]:.2f}x (machine: {os.cpu_count()} cores)")
    write_result(OUT / "ray_overhead.json", {
        "n": args.n, "repeats": args.repeats, "startup_s": {k: round(v, 2) for k, v in starts.items()},
        "overhead_ms_per_eval": {k: round(v * 1e3, 3) for k, v in med.items()},
        "cpu_bound": {"evaluations": args.cpu_n, "wall_s": {str(w): round(v, 2) for w, v in wall.items()},
                      "speedup": round(wall[1] / wall[2], 2), "all": walls},
    })


if __name__ == "__main__":
    main()
