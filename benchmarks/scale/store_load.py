"""Load on the study store alone: evaluations per second for 1-8 concurrent processes, SQLite vs PostgreSQL.

    PYTHONPATH=src .venv/bin/python benchmarks/scale/store_load.py [--trials 400] [--procs 1 2 4 8]

Each evaluation costs the store what a `tailor search` process spends on it: one claim (a write
transaction that leases the trial) and one finish (a write transaction that stores the result),
plus a heartbeat every few seconds; the measurement itself takes no time here. A study of
``--trials`` trials is planned, then N processes (started first, released together) claim and finish
until none is left. SQLite: a WAL file on local disk (synchronous=NORMAL); PostgreSQL: a local
server with fsync on, over TCP on loopback. Backends are measured interleaved, ``--repeats`` times,
medians reported. Writes benchmarks/results/scale/store_load.json.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tailor.lab.meta import write_result
from tailor.store import COMPLETE, open_store
from tailor.testing.postgres import temp_postgres

OUT = Path("benchmarks/results/scale")


def _worker(url: str, study_id: int, owner: str, start: mp.Event, done: mp.Queue) -> None:
    store = open_store(url)
    start.wait()
    n, cpu0 = 0, time.process_time()
    while True:
        claimed = store.claim(study_id, owner, 1, lease_s=30)
        if not claimed:
            break
        for t in claimed:
            if store.finish(t.id, COMPLETE, {"acc": 1.0, "lat": 2.0}, None, 0.0, owner=owner, worker="w"):
                n += 1
    done.put((n, time.process_time() - cpu0))
    store.close()


def measure(url: str, trials: int, procs: int) -> tuple[float, float]:
    """Evaluations per second (wall) and the client CPU seconds each evaluation cost."""
    store = open_store(url)
    st = store.open_study(f"load-{procs}-{time.time_ns()}", {})
    for b in range(0, trials, 50):
        store.plan(st.id, b // 50, [(f"k{i}", {"i": i}) for i in range(b, min(b + 50, trials))], "t", 0)
    store.close()
    ctx = mp.get_context("spawn")
    start, done = ctx.Event(), ctx.Queue()
    ps = [ctx.Process(target=_worker, args=(url, st.id, f"p{i}", start, done)) for i in range(procs)]
    for p in ps:
        p.start()
    time.sleep(3.0)  # all opened their store (imports done)
    t0 = time.perf_counter()
    start.set()
    got = [done.get(timeout=600) for _ in ps]
    wall = time.perf_counter() - t0
    total, cpu = sum(n for n, _ in got), sum(c for _, c in got)
    for p in ps:
        p.join()
    assert total == trials, (total, trials)
    return trials / wall, cpu / trials


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers this started (finally blocks)
    rates: dict[str, dict[int, list[float]]] = {"sqlite": {}, "postgresql": {}}
    cpu_ms: dict[str, dict[int, list[float]]] = {"sqlite": {}, "postgresql": {}}
    with temp_postgres(fsync=True) as pg, tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for procs in args.procs:
                for backend in rates:
                    url = str(Path(tmp) / f"s{r}-{procs}.db") if backend == "sqlite" else pg.database()
                    rate, cpu = measure(url, args.trials, procs)
                    rates[backend].setdefault(procs, []).append(rate)
                    cpu_ms[backend].setdefault(procs, []).append(cpu * 1e3)
                    print(f"repeat {r} {backend:10s} {procs} processes: {rate:7.1f} evals/s, "
                          f"{cpu * 1e3:6.2f} ms client CPU per evaluation", flush=True)
    table = {b: {p: round(statistics.median(v), 1) for p, v in per.items()} for b, per in rates.items()}
    cpu = {b: {p: round(statistics.median(v), 2) for p, v in per.items()} for b, per in cpu_ms.items()}
    print("\n| processes | SQLite evals/s | PostgreSQL evals/s | SQLite client CPU ms/eval "
          "| PostgreSQL client CPU ms/eval |\n|---:|---:|---:|---:|---:|")
    for p in args.procs:
        sq, pg = "sqlite", "postgresql"
        print(f"| {p} | {table[sq][p]} | {table[pg][p]} | {cpu[sq][p]} | {cpu[pg][p]} |")
    write_result(OUT / "store_load.json", {"trials": args.trials, "repeats": args.repeats, "median_evals_per_s": table,
                                           "median_client_cpu_ms_per_eval": cpu, "all": rates, "all_cpu_ms": cpu_ms})


if __name__ == "__main__":
    main()
