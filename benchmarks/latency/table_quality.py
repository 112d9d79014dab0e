"""Latency tables: how well the table predictor ranks and sizes sub-networks it was not fitted on.

Per family: profile a table (1 thread), draw ``--n`` random sub-networks disjoint from the
table's calibration networks, export each and measure it end to end with ONNX Runtime in
interleaved rounds (``--rounds``; the two halves of the rounds give the measurement's own
repeatability), then compare against the table prediction, the uncorrected block sum, and MACs
(a linear latency ~ MACs fit on the same calibration networks). Cross-device: MobileNetV3 tables
profiled with 1 and 2 threads are two "devices"; each picks its (params max, latency min) front
over ``--pool`` random sub-networks, and both fronts are re-measured end to end on each device.

    PYTHONPATH=src .venv/bin/python benchmarks/latency/table_quality.py            # ~15 min, 2 cores
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from tailor.lab.meta import write_result
from tailor.latency_table import LatencyTable, block_family
from tailor.latency_table.profile import export_network, profile_supernet
from tailor.latency_table.runner import measure_models
from tailor.measure.count import count_macs, count_params
from tailor.measure.latency import as_tuple
from tailor.problems.supernet import DIGITS_SIZES
from tailor.search.pareto import hypervolume, pareto_mask
from tailor.supernets import create_supernet

FAMILIES = ("mobilenetv3", "resnet", "nb201_cell", "transformer")


SIZES: dict[str, dict] = {}  # --sizes: family -> sizes replacing the digits ones


def build(family: str):
    if family == "transformer":
        return create_supernet("transformer").eval()  # the minilm problem's sizes: seq_len 128
    if family in SIZES:
        return create_supernet(family, **SIZES[family]).eval()
    return create_supernet(family, **DIGITS_SIZES[family], num_classes=10, in_channels=1).eval()


def mape(pred, ref) -> float:
    pred, ref = np.asarray(pred, float), np.asarray(ref, float)
    return float(np.mean(np.abs(pred - ref) / ref))


def tau(a, b) -> float:
    return float(kendalltau(a, b).statistic)


def sample(space, n, seed, exclude=()):
    rng, seen, out = np.random.default_rng(seed), set(exclude), []
    while len(out) < n:
        c = space.sample(rng)
        if space.key(c) not in seen:
            seen.add(space.key(c))
            out.append(c)
    return out


def measure_configs(net, configs, threads, rounds, repeats, workdir: Path) -> list[dict]:
    models = {}
    for i, c in enumerate(configs):
        path = workdir / f"e2e{i:03d}.onnx"
        models[str(i)] = (path, export_network(net, c, path))
    got = measure_models(models, threads, rounds, repeats, warmup=5, seed=1)
    return [got[str(i)] for i in range(len(configs))]


def family_quality(family: str, args, tmp: Path) -> dict:
    t0 = time.time()
    net = build(family)
    blocks = block_family(family, net)
    table = LatencyTable(profile_supernet(net, blocks, threads=1, rounds=args.rounds, repeats=args.repeats,
                                          n_calibration=args.calibration, seed=0), f"{family}-t1")
    t_profile = time.time() - t0
    space = net.space()
    calib = [c["config"] for c in table.data["calibration"]]
    test = sample(space, args.n, seed=123, exclude=[space.key(c) for c in calib])
    e2e = measure_configs(net, test, 1, args.rounds, args.repeats, tmp)
    ref = np.array([m["median_ms"] for m in e2e])
    half = args.rounds // 2
    a = np.array([np.median(m["rounds_ms"][:half]) for m in e2e])
    b = np.array([np.median(m["rounds_ms"][half:]) for m in e2e])
    pred = np.array([table.predict(blocks.blocks(c))[0] for c in test])
    raw = np.array([table.block_sum(blocks.blocks(c)) for c in test])

    def macs(c):
        return count_macs(net.subnet(c), as_tuple(net.example_input(1, c)))

    macs_test = np.array([macs(c) for c in test], float)
    macs_cal = np.array([macs(c) for c in calib], float)
    cal_ms = np.array([c["measured_ms"] for c in table.data["calibration"]])
    k, c0 = np.polyfit(macs_cal, cal_ms, 1)
    macs_pred = k * macs_test + c0
    row = {
        "family": family, "n_test": len(test), "n_blocks": len(table.data["entries"]),
        "n_calibration": len(calib), "profile_s": round(t_profile, 1),
        "median_latency_ms": float(np.median(ref)),
        "table_tau": tau(pred, ref), "table_mape": mape(pred, ref),
        "sum_tau": tau(raw, ref), "sum_mape": mape(raw, ref),
        "macs_tau": tau(macs_test, ref), "macs_mape": mape(macs_pred, ref),
        "repeat_tau": tau(a, b), "repeat_mape": mape(a, b),
        "median_entry_spread": float(np.median([e["spread"] for e in table.data["entries"].values()])),
        "median_e2e_spread": float(np.median([m["spread"] for m in e2e])),
        "correction": table.data["correction"],
        "points": [{"measured_ms": float(r), "predicted_ms": float(p), "macs": float(m)}
                   for r, p, m in zip(ref, pred, macs_test, strict=True)],
    }
    return row


def cross_device(args, tmp: Path) -> dict:
    family = "mobilenetv3"
    net = build(family)
    blocks = block_family(family, net)
    tables = {t: LatencyTable(profile_supernet(net, blocks, threads=t, rounds=args.rounds, repeats=args.repeats,
                                               n_calibration=args.calibration, seed=0), f"t{t}") for t in (1, 2)}
    pool = sample(net.space(), args.pool, seed=7)
    params = np.array([count_params(net.subnet(c)) for c in pool], float)
    pred = {t: np.array([tab.predict(blocks.blocks(c))[0] for c in pool]) for t, tab in tables.items()}
    fronts = {t: np.flatnonzero(pareto_mask(np.column_stack([-params, pred[t]]))) for t in tables}
    chosen = sorted(set(fronts[1]) | set(fronts[2]))
    out = {"pool": len(pool), "tau_t1_t2_predicted": tau(pred[1], pred[2]),
           "front_sizes": {f"t{t}": int(len(f)) for t, f in fronts.items()},
           "front_jaccard": len(set(fronts[1]) & set(fronts[2])) / len(chosen), "devices": {}}
    for device in (1, 2):  # re-measure both fronts end to end on each "device"
        got = measure_configs(net, [pool[i] for i in chosen], device, args.rounds, args.repeats, tmp)
        ms = dict(zip(chosen, (m["median_ms"] for m in got), strict=True))
        ref_pt = np.array([0.0, max(ms.values()) * 1.1])
        ideal = np.array([-params.max(), min(ms.values())])
        hv = {}
        for t, f in fronts.items():
            pts = np.array([[-params[i], ms[i]] for i in f])
            hv[f"table_t{t}"] = hypervolume(pts, ref_pt, ideal)
        out["devices"][f"t{device}"] = {"hv_measured": hv, "right_table": f"table_t{device}"}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--calibration", type=int, default=12)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--pool", type=int, default=300)
    p.add_argument("--no-cross-device", action="store_true")
    p.add_argument("--sizes", default="{}", help="JSON {family: sizes} instead of the digits sizes")
    p.add_argument("--out", default="benchmarks/results/latency")
    p.add_argument("--name", default="table_quality.json")
    args = p.parse_args(argv)
    SIZES.update(json.loads(args.sizes))
    out = Path(args.out)
    rows, cross = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families.split(","):
            row = family_quality(family, args, Path(tmp))
            rows.append(row)
            print(f"{family:12s} tau {row['table_tau']:.3f} (sum {row['sum_tau']:.3f}, MACs {row['macs_tau']:.3f}, "
                  f"repeat {row['repeat_tau']:.3f})  MAPE {100 * row['table_mape']:.1f} % (sum "
                  f"{100 * row['sum_mape']:.1f}, MACs {100 * row['macs_mape']:.1f}, repeat "
                  f"{100 * row['repeat_mape']:.1f})", flush=True)
            write_result(out / args.name, {"args": vars(args), "families": rows, "cross_device": cross})
        if not args.no_cross_device:
            cross = cross_device(args, Path(tmp))
            print(json.dumps({k: v for k, v in cross.items()}, indent=1))
    write_result(out / args.name, {"args": vars(args), "families": rows, "cross_device": cross})
    return 0


if __name__ == "__main__":
    sys.exit(main())
