"""Fault test: several `tailor search` processes on one PostgreSQL study, killed at random.

    PYTHONPATH=src .venv/bin/python benchmarks/scale/fault_nb201.py [--budget 1000] [--processes 4] \
        [--ray-processes 2] [--kills 12]

Starts a throw-away PostgreSQL (initdb + pg_ctl) and, for ``--ray-processes``, one Ray head
(`ray start --head`) that those processes join with ``--ray HOST:PORT``. Every ``--interval``
seconds a random victim gets SIGKILL: a search process (restarted at once with the same command)
or a Ray actor (Ray restarts it). When all processes have ended, the study must hold exactly
``--budget`` finished evaluations, no configuration twice, nothing waiting, and the same trials
(and front) as one process alone. Writes benchmarks/results/scale/fault_nb201.json.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tailor.lab.meta import write_result
from tailor.problems import ProblemSpec, build_problem
from tailor.results import front
from tailor.search import SearchSpec
from tailor.store import COMPLETE, FAIL, WAITING, open_store
from tailor.study import Study
from tailor.testing.postgres import free_port, temp_postgres

OUT = Path("benchmarks/results/scale")


def ray_actor_pids() -> list[int]:
    res = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True)
    return [int(line.split()[0]) for line in res.stdout.splitlines()[1:] if "ray::_Worker" in line]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--ray-processes", type=int, default=2, help="of the processes, how many use Ray workers")
    ap.add_argument("--kills", type=int, default=12)
    ap.add_argument("--interval", type=float, default=3.0)
    ap.add_argument("--warmup", type=float, default=25.0, help="seconds before the first kill (processes start)")
    ap.add_argument("--lease", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="fault_nb201", help="result file name under benchmarks/results/scale")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers this started (finally blocks)

    work = Path(tempfile.mkdtemp(prefix="tailor-fault-"))
    # RAY_AUTH_MODE: the head started here listens on loopback only; its drivers need no token
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "disabled"}
    ray_address = None
    if args.ray_processes:
        port = free_port()
        ray_bin = str(Path(sys.executable).with_name("ray"))
        subprocess.run([ray_bin, "start", "--head", f"--port={port}", "--num-cpus=4", "--include-dashboard=false",
                        "--disable-usage-stats"], check=True, capture_output=True, env=env)
        ray_address = f"127.0.0.1:{port}"
    try:
        with temp_postgres() as pg:
            url = pg.database()
            t0 = time.perf_counter()

            def command(i: int) -> list[str]:
                cmd = [sys.executable, "-m", "tailor", "-q", "search", "nb201", "--study", url, "--budget",
                       str(args.budget), "--tactic", "random", "--seed", str(args.seed), "--lease", str(args.lease),
                       "--out", str(work / f"p{i}")]
                if i < args.ray_processes:
                    cmd += ["--ray", ray_address, "--workers", "2", "--cpus-per-worker", "0.5"]
                return cmd

            procs = {i: subprocess.Popen(command(i), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         text=True) for i in range(args.processes)}
            rng = random.Random(args.seed)
            kills: list[dict] = []
            time.sleep(args.warmup)
            while any(p.poll() is None for p in procs.values()):
                time.sleep(args.interval)
                if len(kills) >= args.kills:
                    continue
                alive = [i for i, p in procs.items() if p.poll() is None]
                actors = ray_actor_pids() if ray_address else []
                if not alive:
                    break
                if actors and len(kills) % 2 == 1:  # every other kill a Ray actor, while there are some
                    pid = rng.choice(actors)
                    with_pid = {"what": "ray actor", "pid": pid, "t": round(time.perf_counter() - t0, 1)}
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        continue
                    kills.append(with_pid)
                else:
                    i = rng.choice(alive)
                    procs[i].kill()
                    procs[i].communicate()
                    kills.append({"what": f"process {i}" + (" (ray)" if i < args.ray_processes else ""),
                                  "t": round(time.perf_counter() - t0, 1)})
                    procs[i] = subprocess.Popen(command(i), env=env, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.PIPE, text=True)
                print(f"{kills[-1]['t']:7.1f} s  kill {len(kills):2d}: {kills[-1]['what']}", flush=True)
            errors = {i: p.communicate()[1][-500:] for i, p in procs.items() if p.returncode != 0}
            wall = time.perf_counter() - t0
            store = open_store(url)
            record = store.load_study()
            trials = store.trials(record.id, (COMPLETE, FAIL, WAITING))
            store.close()
    finally:
        if ray_address:
            subprocess.run([str(Path(sys.executable).with_name("ray")), "stop", "--force"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    problem = build_problem(ProblemSpec("nb201", {}))
    reference = Study(problem, SearchSpec.parse("random", {}, args.seed).build(), open_store("sqlite://"),
                      seed=args.seed)
    reference.optimize(args.budget)
    ref = reference.trials((COMPLETE, FAIL, WAITING))

    def outcome(ts):
        return [(t.number, t.key, t.state, t.metrics) for t in ts]

    finished = sum(t.state != WAITING for t in trials)
    checks = {
        "finished == budget": finished == args.budget,
        "nothing waiting": all(t.state != WAITING for t in trials),
        "no configuration twice": len({t.key for t in trials}) == len(trials),
        "same trials as one process": outcome(trials) == outcome(ref),
        "same front as one process": sorted(t.key for t in front(trials, problem.objectives))
        == sorted(t.key for t in front(ref, problem.objectives)),
        "every process exited 0": not errors,
    }
    owners = {t.owner for t in trials}
    workers = {t.worker for t in trials}
    print(f"\n{finished} finished of budget {args.budget} in {wall:.1f} s, {len(kills)} kills "
          f"({sum(k['what'] == 'ray actor' for k in kills)} Ray actors), {len(owners)} processes and "
          f"{len(workers)} workers stored results")
    print("| check | result |\n|---|---|")
    for name, ok in checks.items():
        print(f"| {name} | {'yes' if ok else 'NO'} |")
    for i, e in errors.items():
        print(f"process {i}: {e}")
    write_result(OUT / f"{args.name}.json", {
        "budget": args.budget, "processes": args.processes, "ray_processes": args.ray_processes,
        "finished": finished, "wall_s": round(wall, 1), "kills": kills, "checks": checks,
        "processes_that_stored": len(owners), "workers_that_stored": len(workers), "errors": errors,
    })


if __name__ == "__main__":
    main()
