"""Measure exported block models and write a latency table: needs only numpy and onnxruntime.

This file is copied verbatim next to the block ONNX files by ``tailor profile --export DIR`` so
that a device without tailor can run ``python run_profile.py DIR --threads N --out DEVICE.json``;
``tailor profile`` runs the same code in-process. Keep it free of tailor and torch imports.

Robustness (OFA/nn-Meter style tables are only as good as their entries): every session is warmed
up first, then ``rounds`` rounds each visit all models in a fresh shuffled order (interleaved, so a
slow spell of a shared machine hits many entries a little instead of one entry a lot) and time
``repeats`` calls; an entry is the median of its round medians and keeps the rounds and their
spread ((max - min) / median).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "tailor-latency-table/1"
MANIFEST = "manifest.json"
DTYPES = {"float32": np.float32, "int64": np.int64}


def session(path: str | Path, threads: int) -> Any:
    """An ONNX Runtime CPU session with ``threads`` intra-op threads, run sequentially (as tailor's)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def feed_for(sess: Any, inputs: Sequence[dict]) -> dict[str, np.ndarray]:
    """Deterministic inputs of the recorded shapes, for the inputs the graph still has."""
    rng = np.random.default_rng(0)
    wanted = {i.name for i in sess.get_inputs()}
    feed = {}
    for spec in inputs:
        if spec["name"] not in wanted:
            continue
        shape, dtype = tuple(spec["shape"]), DTYPES[spec["dtype"]]
        if "values" in spec:  # integer inputs (token ids, masks) as exported
            feed[spec["name"]] = np.asarray(spec["values"], dtype=dtype).reshape(shape)
        else:
            feed[spec["name"]] = rng.standard_normal(shape).astype(np.float32)
    return feed


def summarize(rounds_ms: Sequence[float]) -> dict[str, Any]:
    """Median of the round medians and their relative spread."""
    r = np.asarray(rounds_ms, dtype=np.float64)
    med = float(np.median(r))
    return {"median_ms": med, "spread": float((r.max() - r.min()) / med) if med > 0 else 0.0,
            "rounds_ms": [float(v) for v in r]}


def measure_models(
    models: dict[str, tuple[str | Path, Sequence[dict]]],
    threads: int = 1,
    rounds: int = 5,
    repeats: int = 20,
    warmup: int = 5,
    seed: int = 0,
    on_step: Callable[[int, int], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """``{name: (onnx path, input specs)}`` -> ``{name: summarize(...)}``, interleaved over rounds."""
    sessions = {}
    for name, (path, inputs) in models.items():
        s = session(path, threads)
        feed = feed_for(s, inputs)
        for _ in range(warmup):
            s.run(None, feed)
        sessions[name] = (s, feed)
    per_round: dict[str, list[float]] = {name: [] for name in models}
    order, rng = list(models), random.Random(seed)
    total, done = rounds * len(order), 0
    for _ in range(rounds):
        rng.shuffle(order)
        for name in order:
            s, feed = sessions[name]
            s.run(None, feed)  # one untimed call: caches after the previous model
            samples = []
            for _ in range(repeats):
                t0 = time.perf_counter_ns()
                s.run(None, feed)
                samples.append((time.perf_counter_ns() - t0) / 1e6)
            per_round[name].append(float(np.median(samples)))
            done += 1
            if on_step is not None:
                on_step(done, total)
    return {name: summarize(r) for name, r in per_round.items()}


def fit_correction(sums: Sequence[float], counts: Sequence[int], measured: Sequence[float]) -> dict[str, Any]:
    """End-to-end ~ a * (sum of block entries) + b * (number of blocks) + c, by least squares.

    ``b`` absorbs each block's own session overhead (counted once per block in the sum but once per
    network end to end), ``c`` what the stem/head entries miss. Uncertainty: the relative
    leave-one-out error (its root mean square), so it is honest about a handful of points. With
    fewer than 4 points, or a fit that would scale the sum by a non-positive factor, it falls back
    to one scale factor (median of measured / sum).
    """
    s, n, y = (np.asarray(v, dtype=np.float64) for v in (sums, counts, measured))
    k = len(y)
    if k == 0:
        return {"kind": "identity", "coef": [1.0, 0.0], "intercept": 0.0, "n": 0, "rel_std": None}

    def solve(idx: np.ndarray) -> tuple[float, float, float]:
        if len(idx) >= 4:
            x = np.column_stack([s[idx], n[idx], np.ones(len(idx))])
            (a, b, c), *_ = np.linalg.lstsq(x, y[idx], rcond=None)
            if a > 0:
                return float(a), float(b), float(c)
        return float(np.median(y[idx] / s[idx])), 0.0, 0.0

    a, b, c = solve(np.arange(k))
    rel = []
    for i in range(k):
        if k < 3:
            break
        ai, bi, ci = solve(np.delete(np.arange(k), i))
        rel.append((ai * s[i] + bi * n[i] + ci - y[i]) / y[i])
    rel_std = float(np.sqrt(np.mean(np.square(rel)))) if rel else None
    kind = "linear" if (b, c) != (0.0, 0.0) else "scale"
    return {"kind": kind, "coef": [a, b], "intercept": c, "n": k, "rel_std": rel_std}


def machine_info() -> dict[str, str]:
    """The device the table describes (same fields tailor records for its latency cache)."""
    import onnxruntime

    cpu = platform.processor() or "unknown"
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text(errors="ignore").splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"system": platform.system(), "machine": platform.machine(), "cpu": cpu,
            "cpu_count": str(os.cpu_count()), "onnxruntime": onnxruntime.__version__}


def table_fingerprint(table: dict[str, Any]) -> str:
    """Hash of everything a prediction depends on (space, entries, correction, threads)."""
    keep = {k: table.get(k) for k in ("family", "options", "threads", "batch", "entries", "correction")}
    blob = json.dumps(keep, sort_keys=True, default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:16]


def profile(directory: str | Path, threads: int = 1, rounds: int = 5, repeats: int = 20, warmup: int = 5,
            seed: int = 0, on_step: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Measure every block and calibration network of an exported ``directory``; return the table."""
    directory = Path(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    models = {f"block:{b['key']}": (directory / b["file"], b["inputs"]) for b in manifest["blocks"]}
    models.update({f"net:{i}": (directory / c["file"], c["inputs"]) for i, c in enumerate(manifest["calibration"])})
    measured = measure_models(models, threads, rounds, repeats, warmup, seed, on_step)
    entries = {b["key"]: {**measured[f"block:{b['key']}"], "inputs": [i["shape"] for i in b["inputs"]]}
               for b in manifest["blocks"]}
    calibration = []
    for i, c in enumerate(manifest["calibration"]):
        m = measured[f"net:{i}"]
        calibration.append({"config": c.get("config"), "blocks": c["blocks"], "measured_ms": m["median_ms"],
                            "spread": m["spread"],
                            "block_sum_ms": float(sum(entries[k]["median_ms"] for k in c["blocks"]))})
    correction = fit_correction([c["block_sum_ms"] for c in calibration], [len(c["blocks"]) for c in calibration],
                                [c["measured_ms"] for c in calibration])
    table = {
        "format": FORMAT, "family": manifest["family"], "options": manifest["options"],
        "space": manifest["space"], "threads": threads, "batch": 1, "machine": machine_info(),
        "method": {"rounds": rounds, "repeats": repeats, "warmup": warmup, "seed": seed},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "entries": entries, "calibration": calibration, "correction": correction,
    }
    table["fingerprint"] = table_fingerprint(table)
    return table


def write_table(table: dict[str, Any], out: str | Path) -> Path:
    """Write atomically (a crash never leaves half a table behind)."""
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(table, indent=1, sort_keys=True))
    os.replace(tmp, out)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Profile exported tailor blocks with ONNX Runtime.")
    p.add_argument("directory", nargs="?", default=str(Path(__file__).resolve().parent))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    if min(a.threads, a.rounds, a.repeats) < 1 or a.warmup < 0:
        print("run_profile: error: threads, rounds and repeats must be >= 1, warmup >= 0", file=sys.stderr)
        return 2

    def step(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            print(f"\r{done}/{total} measurements", end="\n" if done == total else "", file=sys.stderr, flush=True)

    table = profile(a.directory, a.threads, a.rounds, a.repeats, a.warmup, on_step=step)
    write_table(table, a.out)
    print(f"wrote {a.out}: {len(table['entries'])} entries, fingerprint {table['fingerprint']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
