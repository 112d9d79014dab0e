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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "tailor-latency-table/2"  # 2: per-call overheads (null graphs), robust correction
MANIFEST = "manifest.json"
DTYPES = {"float32": np.float32, "int64": np.int64}


def _current_cpu() -> int | None:
    """The CPU this thread last ran on (field 39 of /proc/thread-self/stat), or None."""
    try:
        stat = Path("/proc/thread-self/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[36])
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def pinned(cpus: int = 1) -> Iterator[None]:
    """Keep the calling thread on ``cpus`` CPUs (starting with the one it is on, so parallel
    measuring workers stay spread) while it times calls, then restore its affinity. Unpinned, a
    thread that migrates between the 2 vCPUs of these machines timed the same 0.2 ms MobileNetV3 at
    0.15 ms in some rounds and 0.36 ms in others (two measurement halves: Kendall tau 0.53, 74 %
    apart, on an idle machine); pinned to either CPU its rounds agree within a few per cent.
    Linux only: elsewhere, or if the affinity cannot be set, nothing changes."""
    if not sys.platform.startswith("linux"):
        yield
        return
    allowed = sorted(os.sched_getaffinity(0))
    here = _current_cpu()
    start = allowed.index(here) if here in allowed else 0
    chosen = {allowed[(start + i) % len(allowed)] for i in range(min(max(cpus, 1), len(allowed)))}
    try:
        os.sched_setaffinity(0, chosen)
    except OSError:
        yield
        return
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


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
    """``{name: (onnx path, input specs)}`` -> ``{name: summarize(...)}``, interleaved over rounds,
    with the calling thread ``pinned`` to ``threads`` CPUs."""
    with pinned(threads):
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


def network_key(keys: Sequence[str]) -> str:
    """What a network's own call overhead is keyed by: its first and last block (its input and output shapes)."""
    return f"{keys[0]}|{keys[-1]}"


def overhead_aware_sum(entries: dict[str, dict], networks: dict[str, dict], keys: Sequence[str]) -> float:
    """sum(block - its own call overhead) + the network's one call overhead (ms).

    A block measured alone pays one session call; the network pays one for all its blocks. A tiny
    block's difference can come out negative (noise); it is kept, not clipped at zero, because a
    network sums many such differences and clipping would bias every sum upwards.
    """
    net = networks[network_key(keys)]["median_ms"]
    return float(net + sum(entries[k]["median_ms"] - entries[k]["overhead_ms"] for k in keys))


CORRECTIONS = ("blocks", "theil-sen", "scale", "none")
DEFAULT_CORRECTION = "blocks"  # chosen on development networks (docs/benchmarks/latency-tables.md)


def _theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Median of the pairwise slopes, then the median intercept (scipy.stats.theilslopes' estimate,
    written out because a device has numpy only)."""
    i, j = np.triu_indices(len(x), 1)
    ok = x[j] != x[i]
    if not ok.any():
        return float(np.median(y / x)), 0.0
    slope = float(np.median((y[j] - y[i])[ok] / (x[j] - x[i])[ok]))
    return slope, float(np.median(y - slope * x))


def _fit(kind: str, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if kind == "none" or len(y) == 0:
        return 1.0, 0.0
    if kind == "theil-sen" and len(y) >= 3:
        a, b = _theil_sen(x, y)
        if a > 0:
            return a, b
    return float(np.median(y / x)), 0.0  # "scale" (and the fallback): median ratio measured / predicted


def _fit_blocks(sums: np.ndarray, counts: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """latency ~ a * plain block sum + b * blocks + c by least squares: each entry carries one call's
    overhead, which ``b`` takes back per block, while the sum keeps each block's own dispatch costs."""
    x = np.column_stack([sums, counts, np.ones(len(y))])
    (a, b, c), *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(a), float(b), float(c)


def fit_correction(predicted: Sequence[float], measured: Sequence[float], kind: str = DEFAULT_CORRECTION,
                   block_sums: Sequence[float] | None = None, counts: Sequence[int] | None = None) -> dict[str, Any]:
    """End-to-end latency from the table, fitted on a few calibration networks.

    ``blocks`` (the default): a * (plain block sum) + b * (number of blocks) + c, by least squares
    (needs ``block_sums`` and ``counts``; at least 4 networks, else ``scale``). The others use the
    overhead-aware sum (``predicted``): ``scale``, one factor, the median of measured / predicted;
    ``theil-sen``, scale and offset as medians of pairwise slopes; ``none``, the sum as it is.
    Uncertainty: the leave-one-out relative errors, summarised robustly (1.4826 x their median
    absolute value, the standard deviation if they were normal).
    """
    if kind not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {kind!r}")
    x, y = np.asarray(predicted, dtype=np.float64), np.asarray(measured, dtype=np.float64)
    k = len(y)
    if kind == "blocks":
        if block_sums is None or counts is None:
            raise ValueError("the 'blocks' correction needs block_sums and counts")
        if k < 4:
            kind = "scale"
    if kind == "blocks":  # latency ~ a * plain sum + b * blocks + c
        base, n = np.asarray(block_sums, dtype=np.float64), np.asarray(counts, dtype=np.float64)

        def fit(rows: np.ndarray) -> tuple[float, float, float]:
            return _fit_blocks(base[rows], n[rows], y[rows])
    else:  # latency ~ a * overhead-aware sum + c
        base, n = x, np.zeros(k)

        def fit(rows: np.ndarray) -> tuple[float, float, float]:
            a, c = _fit(kind, x[rows], y[rows])
            return a, 0.0, c
    a, per_block, b = fit(np.arange(k))
    loo = []
    if k >= 3:
        for i in range(k):
            ai, pi, bi = fit(np.delete(np.arange(k), i))
            loo.append(float((ai * base[i] + pi * n[i] + bi - y[i]) / y[i]))
    rel_std = float(1.4826 * np.median(np.abs(loo))) if loo else None
    out = {"kind": kind, "scale": a, "offset_ms": b, "n": k, "rel_std": rel_std, "loo_rel": loo}
    if kind == "blocks":
        out["per_block_ms"] = per_block
    return out


def calibration_fit(calibration: Sequence[dict], kind: str) -> dict[str, Any]:
    """``fit_correction`` on a table's calibration records."""
    return fit_correction([c["predicted_ms"] for c in calibration], [c["measured_ms"] for c in calibration], kind,
                          [c["block_sum_ms"] for c in calibration], [len(c["blocks"]) for c in calibration])


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
    keep = {k: table.get(k) for k in ("family", "options", "threads", "batch", "entries", "networks", "correction")}
    blob = json.dumps(keep, sort_keys=True, default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:16]


def block_models(directory: Path, blocks: Sequence[dict]) -> dict[str, tuple[Path, Sequence[dict]]]:
    """The models to time for ``blocks`` (manifest records): each block and each distinct null graph."""
    models = {f"block:{b['key']}": (directory / b["file"], b["inputs"]) for b in blocks}
    models.update({f"null:{b['null']}": (directory / b["null"], b["inputs"]) for b in blocks})
    return models


def block_entries(blocks: Sequence[dict], measured: dict[str, dict]) -> dict[str, dict[str, Any]]:
    """Table entries: each block's latency, its shapes, and its null graph's latency (its call overhead)."""
    out = {}
    for b in blocks:
        null = measured[f"null:{b['null']}"]
        out[b["key"]] = {**measured[f"block:{b['key']}"], "inputs": [i["shape"] for i in b["inputs"]],
                         "outputs": [o["shape"] for o in b["outputs"]], "overhead_ms": null["median_ms"],
                         "overhead_spread": null["spread"], "overhead_rounds_ms": null["rounds_ms"]}
    return out


def profile(directory: str | Path, threads: int = 1, rounds: int = 5, repeats: int = 20, warmup: int = 5,
            seed: int = 0, on_step: Callable[[int, int], None] | None = None,
            correction: str = DEFAULT_CORRECTION) -> dict[str, Any]:
    """Measure every block, null graph and calibration network of an exported ``directory``; return the table."""
    directory = Path(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    models = block_models(directory, manifest["blocks"])
    models.update({f"net:{n['key']}": (directory / n["file"], n["inputs"]) for n in manifest["networks"]})
    models.update({f"cal:{i}": (directory / c["file"], c["inputs"]) for i, c in enumerate(manifest["calibration"])})
    measured = measure_models(models, threads, rounds, repeats, warmup, seed, on_step)
    entries = block_entries(manifest["blocks"], measured)
    networks = {n["key"]: measured[f"net:{n['key']}"] for n in manifest["networks"]}
    calibration = []
    for i, c in enumerate(manifest["calibration"]):
        m = measured[f"cal:{i}"]
        calibration.append({"config": c.get("config"), "blocks": c["blocks"], "measured_ms": m["median_ms"],
                            "spread": m["spread"], "rounds_ms": m["rounds_ms"],
                            "block_sum_ms": float(sum(entries[k]["median_ms"] for k in c["blocks"])),
                            "predicted_ms": overhead_aware_sum(entries, networks, c["blocks"])})
    table = {
        "format": FORMAT, "family": manifest["family"], "options": manifest["options"],
        "space": manifest["space"], "threads": threads, "batch": 1, "machine": machine_info(),
        "method": {"rounds": rounds, "repeats": repeats, "warmup": warmup, "seed": seed},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "entries": entries, "networks": networks, "calibration": calibration,
        "correction": calibration_fit(calibration, correction),
    }
    table["fingerprint"] = table_fingerprint(table)
    return table


def refit(table: dict[str, Any], correction: str = DEFAULT_CORRECTION) -> dict[str, Any]:
    """The table with its calibration predictions recomputed from its entries and the correction refitted
    (another method, or after a change to the predictor), without measuring anything again; re-signed."""
    out = json.loads(json.dumps(table))
    for c in out["calibration"]:
        c["predicted_ms"] = overhead_aware_sum(out["entries"], out["networks"], c["blocks"])
        c["block_sum_ms"] = float(sum(out["entries"][k]["median_ms"] for k in c["blocks"]))
    out["correction"] = calibration_fit(out["calibration"], correction)
    out["fingerprint"] = table_fingerprint(out)
    return out


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
    p.add_argument("--correction", choices=CORRECTIONS, default=DEFAULT_CORRECTION)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    if min(a.threads, a.rounds, a.repeats) < 1 or a.warmup < 0:
        print("run_profile: error: threads, rounds and repeats must be >= 1, warmup >= 0", file=sys.stderr)
        return 2

    def step(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            print(f"\r{done}/{total} measurements", end="\n" if done == total else "", file=sys.stderr, flush=True)

    table = profile(a.directory, a.threads, a.rounds, a.repeats, a.warmup, on_step=step, correction=a.correction)
    write_table(table, a.out)
    print(f"wrote {a.out}: {len(table['entries'])} entries, fingerprint {table['fingerprint']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
