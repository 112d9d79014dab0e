"""Cross-device: search with the right or the wrong latency table, judged on the right device.

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/latency/cross_device.py

Two "devices": MobileNetV3 (the peers problem: digits, accuracy vs latency) profiled with 1 and
with 2 ONNX Runtime threads (``mbv3_digits_t1.json``, ``mbv3_digits_t2.json`` under
``benchmarks/results/latency``; profiled here if absent). tailor's default tactic searches with
each table (``--seeds`` seeds, ``--budget`` evaluations). Each final front is then judged on each
device's table: hypervolume (error %, latency) with the device's predicted latency, common ideal
and reference points per device, so "right table" against "wrong table" is a like-for-like
comparison that no load on this machine can change. With ``--remeasure`` the union of the fronts
is also measured end to end with 1 and 2 threads and the same hypervolumes computed from the
measurements. Accuracy of a configuration is deterministic, so it is computed once and shared
by the two searches (a memo in this process).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from tailor.lab.meta import write_result
from tailor.lab.peers.harness import load
from tailor.lab.peers.mbv3 import mbv3_problem

ROOT = Path(__file__).resolve().parents[2]
TRAIN_DIR = ROOT / "runs" / "peers" / "mobilenetv3-digits"
RESULTS = ROOT / "benchmarks" / "results" / "latency"
DEVICES = (1, 2)


def table_path(threads: int) -> Path:
    return RESULTS / f"mbv3_digits_t{threads}.json"


def ensure_table(threads: int, net) -> Path:
    """Profile the digits MobileNetV3 with ``threads`` threads once (same settings as the committed t1 table)."""
    from tailor.latency_table import block_family
    from tailor.latency_table.profile import profile_supernet
    from tailor.latency_table.runner import write_table

    path = table_path(threads)
    if not path.is_file():
        write_table(profile_supernet(net, block_family("mobilenetv3", net), threads=threads, rounds=8, repeats=20,
                                     n_calibration=16, seed=0), path)
    return path


class MemoAccuracy:
    """The problem's accuracy evaluator with a memo by configuration key (deterministic per config)."""

    def __init__(self, inner, space, memo: dict):
        self.inner, self.space, self.memo = inner, space, memo
        self.metrics, self.expensive = inner.metrics, inner.expensive

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def evaluate(self, configs):
        todo = [c for c in configs if self.space.key(c) not in self.memo]
        for c, m in zip(todo, self.inner.evaluate(todo) if todo else [], strict=True):
            self.memo[self.space.key(c)] = m
        return [self.memo[self.space.key(c)] for c in configs]


def search(epochs: int, threads: int, seed: int, budget: int, memo: dict) -> dict:
    from dataclasses import replace

    from tailor.lab.peers.tools import run_tailor

    problem = mbv3_problem(TRAIN_DIR, epochs, "latency", str(table_path(threads)))
    acc, *rest = problem.evaluators
    problem = replace(problem, evaluators=[MemoAccuracy(acc, problem.space, memo), *rest])
    trace = run_tailor(problem, budget, seed, "default")
    return {"table": f"t{threads}", "seed": seed, "budget": budget, "keys": trace.keys, "configs": trace.configs,
            "error": [100.0 * (1.0 - m["accuracy"]) for m in trace.metrics], "load_1m": os.getloadavg()[0]}


def judge(runs: list[dict], epochs: int, remeasure: bool, rounds: int, repeats: int) -> dict:
    """Every final front (chosen with its own table) scored on each device's table (and measurements)."""
    from tailor.latency_table import LatencyTable, block_family
    from tailor.search import hypervolume, pareto_mask

    net = mbv3_problem(TRAIN_DIR, epochs, "latency", str(table_path(1))).supernet
    blocks = block_family("mobilenetv3", net)
    tables = {d: LatencyTable.load(table_path(d)) for d in DEVICES}
    configs, error = {}, {}
    for r in runs:
        for k, c, e in zip(r["keys"], r["configs"], r["error"], strict=True):
            configs[k], error[k] = c, e
    pred = {d: {k: t.predict(blocks.blocks(c))[0] for k, c in configs.items()} for d, t in tables.items()}
    fronts = {}
    for r in runs:  # the front each search returns: non-dominated under the table it searched with
        d = int(r["table"][1:])
        ks = list(dict.fromkeys(r["keys"]))
        F = np.array([[error[k], pred[d][k]] for k in ks])
        fronts[(r["table"], r["seed"])] = [ks[i] for i in np.flatnonzero(pareto_mask(F))]
    union = sorted({k for f in fronts.values() for k in f})
    latency = {f"table_t{d}": pred[d] for d in DEVICES}
    if remeasure:
        from tailor.latency_table.profile import export_network
        from tailor.latency_table.runner import measure_models

        with tempfile.TemporaryDirectory(prefix="cross-device-") as tmp:
            models = {}
            for i, k in enumerate(union):
                path = Path(tmp) / f"n{i:04d}.onnx"
                models[k] = (path, export_network(net, configs[k], path))
            for d in DEVICES:
                got = measure_models(models, d, rounds, repeats, warmup=5, seed=5)
                latency[f"measured_t{d}"] = {k: v["median_ms"] for k, v in got.items()}
    out = {"union_front_points": len(union),
           "tau_t1_t2_predicted": float(kendalltau([pred[1][k] for k in configs], [pred[2][k] for k in configs])
                                        .statistic),
           "front_sizes": {f"{t}/s{s}": len(f) for (t, s), f in fronts.items()}, "judged": {}}
    seeds = sorted({s for _, s in fronts})
    out["front_jaccard"] = {str(s): len(set(fronts[("t1", s)]) & set(fronts[("t2", s)]))
                            / len(set(fronts[("t1", s)]) | set(fronts[("t2", s)])) for s in seeds}
    for name, lat in latency.items():  # one "device" view: its latencies for every front point
        allP = np.array([[error[k], lat[k]] for k in union])
        ideal, ref = allP.min(axis=0), allP.max(axis=0) * np.array([1.0, 1.1]) + np.array([1.0, 0.0])
        hv = {}
        for (t, s), f in fronts.items():
            hv[f"{t}/s{s}"] = hypervolume(np.array([[error[k], lat[k]] for k in f]), ref, ideal)
        right = f"t{name[-1]}"
        wrong = f"t{3 - int(name[-1])}"
        out["judged"][name] = {"hv": hv, "right": right,
                               "right_median": float(np.median([hv[f"{right}/s{s}"] for s in seeds])),
                               "wrong_median": float(np.median([hv[f"{wrong}/s{s}"] for s in seeds])),
                               "right_wins": int(sum(hv[f"{right}/s{s}"] > hv[f"{wrong}/s{s}"] for s in seeds))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--remeasure", action="store_true")
    ap.add_argument("--pool-from", type=Path, default=None,
                    help="no new searches: each table picks its front from the sub-networks the peers runs of "
                    "one seed evaluated (peers_table.py's JSON lines; accuracy already known)")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--jsonl", type=Path, default=ROOT / "runs" / "latency" / "cross_device.jsonl")
    ap.add_argument("--json", type=Path, default=RESULTS / "cross_device.json")
    args = ap.parse_args()
    import torch

    from tailor.problems.supernet import SupernetOptions

    torch.set_num_threads(1)
    epochs = args.epochs or SupernetOptions.epochs
    net = mbv3_problem(TRAIN_DIR, epochs, "latency", str(table_path(1))).supernet
    for d in DEVICES:
        ensure_table(d, net)
    if args.pool_from is not None:
        runs = pool_runs(args.pool_from, args.seeds)
        out = judge(runs, epochs, args.remeasure, args.rounds, args.repeats)
        report(out, args, "pool")
        return
    done = {(r["table"], r["seed"], r["budget"]) for r in load(args.jsonl)}
    memo: dict = {}
    args.jsonl.parent.mkdir(parents=True, exist_ok=True)
    for seed in range(args.seeds):
        for d in DEVICES:
            if (f"t{d}", seed, args.budget) in done:
                continue
            r = search(epochs, d, seed, args.budget, memo)
            with args.jsonl.open("a") as f:
                f.write(json.dumps(r) + "\n")
            print(f"searched with table t{d}, seed {seed}: {len(r['keys'])} evaluations", flush=True)
    runs = [r for r in load(args.jsonl) if r["budget"] == args.budget and r["seed"] < args.seeds]
    out = judge(runs, epochs, args.remeasure, args.rounds, args.repeats)
    report(out, args, "search")


def pool_runs(jsonl: Path, seeds: int) -> list[dict]:
    """Per peers seed, the union of what every tool evaluated, offered to both tables as one 'search'."""
    runs = []
    for seed in range(seeds):
        rs = [r for r in load(jsonl) if r["seed"] == seed]
        if not rs:
            continue
        keys, configs, error = [], [], []
        for r in rs:
            keys += r["keys"]
            configs += r["configs"]
            error += [f[0] for f in r["F"]]
        runs += [{"table": f"t{d}", "seed": seed, "budget": len(keys), "keys": keys, "configs": configs,
                  "error": error} for d in DEVICES]
    return runs


def report(out: dict, args, mode: str) -> None:
    seeds = sorted({int(k.split("/s")[1]) for k in out["front_sizes"]})
    for name, j in out["judged"].items():
        print(f"judged on {name}: right table ({j['right']}) median HV {j['right_median']:.4f}, wrong "
              f"{j['wrong_median']:.4f}; right wins {j['right_wins']} of {len(seeds)} seeds")
    print(f"fronts' Jaccard overlap per seed: {out['front_jaccard']}; tau(t1, t2) {out['tau_t1_t2_predicted']:.3f}")
    path = args.json.with_name(args.json.stem + ("_pool" if mode == "pool" else "") + args.json.suffix)
    write_result(path, {"mode": mode, "args": {k: str(v) for k, v in vars(args).items()}, **out})


if __name__ == "__main__":
    main()
