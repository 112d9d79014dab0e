"""Latency tables: how well the table predictor ranks and sizes sub-networks it was not fitted on.

Per family: profile a table (1 thread; blocks, their null graphs and ``--calibration``
end-to-end networks measured interleaved), then draw ``--dev`` + ``--n`` random sub-networks
disjoint from the calibration ones, export each and measure it end to end with ONNX Runtime in
interleaved rounds (``--rounds``; the two halves of the rounds give the measurement's own
repeatability). Every correction method is fitted on the table's calibration networks only;
the method is chosen on the development networks (lowest mean MAPE over the families) and
reported on the ``--n`` test networks, beside the plain block sum, version 1's least-squares
correction (a * sum + b * blocks + c), and MACs (a linear latency ~ MACs fit on the same
calibration networks). The machine's 1-minute load average is recorded around every step.

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/latency/table_quality.py
"""

from __future__ import annotations

import argparse
import json
import os
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
from tailor.measure.count import count_macs
from tailor.measure.latency import as_tuple
from tailor.problems.supernet import DIGITS_SIZES
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


def _huber(base, y):
    from sklearn.linear_model import HuberRegressor

    h = HuberRegressor().fit(np.asarray(base)[:, None], y)
    return lambda b: h.predict(np.asarray(b)[:, None])


METHODS = ("blocks", "scale", "theil-sen", "none", "huber", "block-sum")
CANDIDATES = ("blocks", "scale", "theil-sen", "none", "huber")  # what the development networks choose from


def family_quality(family: str, args, tmp: Path) -> dict:
    from tailor.latency_table.runner import fit_correction

    loads = {"start": os.getloadavg()[0]}
    t0 = time.time()
    net = build(family)
    blocks = block_family(family, net)
    repeats = args.repeats if family != "transformer" else args.repeats_ms
    table = LatencyTable(profile_supernet(net, blocks, threads=1, rounds=args.rounds, repeats=repeats,
                                          n_calibration=args.calibration, seed=0), f"{family}-t1")
    loads["profiled"] = os.getloadavg()[0]
    t_profile = time.time() - t0
    space = net.space()
    cal = table.data["calibration"]
    calib = [c["config"] for c in cal]
    configs = sample(space, args.dev + args.n, seed=123, exclude=[space.key(c) for c in calib])
    e2e = measure_configs(net, configs, 1, args.rounds, repeats, tmp)
    loads["measured"] = os.getloadavg()[0]
    ref = np.array([m["median_ms"] for m in e2e])
    half = args.rounds // 2
    ha = np.array([np.median(m["rounds_ms"][:half]) for m in e2e])
    hb = np.array([np.median(m["rounds_ms"][half:]) for m in e2e])
    keys = [blocks.blocks(c) for c in configs]
    base = np.array([table.uncorrected(k) for k in keys])
    raw = np.array([table.block_sum(k) for k in keys])
    nblk = np.array([len(k) for k in keys])
    cal_base = np.array([c["predicted_ms"] for c in cal])
    cal_y = np.array([c["measured_ms"] for c in cal])
    cal_raw = np.array([c["block_sum_ms"] for c in cal])
    cal_n = np.array([len(c["blocks"]) for c in cal])
    preds, fits = {}, {}
    for m in ("scale", "theil-sen", "none"):
        fits[m] = fit_correction(cal_base, cal_y, m)
        preds[m] = fits[m]["scale"] * base + fits[m]["offset_ms"]
    preds["huber"] = _huber(cal_base, cal_y)(base)
    fb = fits["blocks"] = fit_correction(cal_base, cal_y, "blocks", cal_raw, cal_n)
    preds["blocks"] = fb["scale"] * raw + fb["per_block_ms"] * nblk + fb["offset_ms"]
    preds["block-sum"] = raw

    def macs(c):
        return count_macs(net.subnet(c), as_tuple(net.example_input(1, c)))

    macs_all = np.array([macs(c) for c in configs], float)
    k, c0 = np.polyfit(np.array([macs(c) for c in calib], float), cal_y, 1)
    dev, test = slice(0, args.dev), slice(args.dev, None)

    def scores(part):
        out = {m: {"tau": tau(p[part], ref[part]), "mape": mape(p[part], ref[part])} for m, p in preds.items()}
        out["macs"] = {"tau": tau(macs_all[part], ref[part]), "mape": mape(k * macs_all[part] + c0, ref[part])}
        out["repeat"] = {"tau": tau(ha[part], hb[part]), "mape": mape(ha[part], hb[part])}
        return out

    # the overhead each entry carries, against the block itself
    e = table.data["entries"].values()
    return {
        "family": family, "n_dev": args.dev, "n_test": args.n, "n_blocks": len(table.data["entries"]),
        "n_calibration": len(calib), "profile_s": round(t_profile, 1), "repeats": repeats, "load_1m": loads,
        "median_latency_ms": float(np.median(ref[test])),
        "median_block_ms": float(np.median([x["median_ms"] for x in e])),
        "median_overhead_ms": float(np.median([x["overhead_ms"] for x in e])),
        "network_overhead_ms": {k: v["median_ms"] for k, v in table.data["networks"].items()},
        "fits": fits, "dev": scores(dev), "test": scores(test),
        "median_entry_spread": float(np.median([x["spread"] for x in e])),
        "median_e2e_spread": float(np.median([m["spread"] for m in e2e])),
        "calibration": [{"measured_ms": float(y), "predicted_ms": float(b)}
                        for y, b in zip(cal_y, cal_base, strict=True)],
        "points": [{"measured_ms": float(r), "uncorrected_ms": float(b), "block_sum_ms": float(s), "macs": float(m),
                    "blocks": int(n), "predicted_ms": {meth: float(p[i]) for meth, p in preds.items()},
                    "split": "dev" if i < args.dev else "test"}
                   for i, (r, b, s, m, n) in enumerate(zip(ref, base, raw, macs_all, nblk, strict=True))],
    }


def choose(rows: list[dict]) -> str:
    """The correction with the lowest mean development MAPE over the families (the overhead-aware ones
    rank alike: each is an increasing affine map of the same sum; ``blocks`` ranks by its own fit)."""
    return min(CANDIDATES, key=lambda m: float(np.mean([r["dev"][m]["mape"] for r in rows])))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--n", type=int, default=50, help="test sub-networks per family")
    p.add_argument("--dev", type=int, default=20, help="development sub-networks per family (choose the method)")
    p.add_argument("--calibration", type=int, default=12)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--repeats-ms", type=int, default=4, help="timed calls per round for MiniLM (ms-scale networks)")
    p.add_argument("--sizes", default="{}", help="JSON {family: sizes} instead of the digits sizes")
    p.add_argument("--out", default="benchmarks/results/latency")
    p.add_argument("--name", default="table_quality.json")
    args = p.parse_args(argv)
    SIZES.update(json.loads(args.sizes))
    out = Path(args.out)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families.split(","):
            row = family_quality(family, args, Path(tmp))
            rows.append(row)
            t, d = row["test"], row["dev"]
            print(f"{family:12s} load {row['load_1m']}  dev MAPE " +
                  " ".join(f"{m} {100 * d[m]['mape']:.1f}" for m in METHODS), flush=True)
            print(" " * 13 + "test " + " ".join(f"{m} {t[m]['tau']:.3f}/{100 * t[m]['mape']:.1f}%"
                                             for m in (*METHODS, "macs", "repeat")), flush=True)
            write_result(out / args.name, {"args": vars(args), "families": rows, "chosen": None})
    chosen = choose(rows)
    print(f"chosen on the development networks: {chosen}")
    write_result(out / args.name, {"args": vars(args), "families": rows, "chosen": chosen})
    return 0


if __name__ == "__main__":
    sys.exit(main())
