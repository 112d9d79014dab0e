"""The main job before and after distillation: the same `tailor search` command on both weights.

Runs ``tailor search --out DIR -o weights=W`` (budget 40, the default tactic, seed 0) for
``W = original`` (before) and ``W = trained`` (after), each with a private latency cache so neither
reuses the other's measurements, then writes the two fronts as a table (JSON + CSV) and one plot,
with the wall time of each run and the speed-up table the CLI prints.

Run: PYTHONPATH=src python benchmarks/transformer/minilm_main_job.py [--skip-search]
(``--skip-search`` re-reads runs/minilm-main-{original,trained}/results.json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tailor.lab.meta import run_metadata

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "minilm" / "distill"


def pareto(evals: list[dict]) -> list[dict]:
    done = [e for e in evals if e["state"] == "COMPLETE"]

    def point(e: dict) -> tuple[float, float]:
        return -e["metrics"]["agreement"], e["metrics"]["latency_ms"]  # both minimised

    front = [e for e in done if not any(
        all(a <= b for a, b in zip(point(o), point(e), strict=True)) and point(o) != point(e) for o in done)]
    return sorted(front, key=lambda e: e["metrics"]["latency_ms"])


def levels(evals: list[dict], full_ms: float | None) -> list[dict]:
    out = []
    for level in (0.95, 0.90, 0.80, 0.60):
        ok = [e for e in evals if e["state"] == "COMPLETE" and e["metrics"]["agreement"] >= level]
        best = min(ok, key=lambda e: e["metrics"]["latency_ms"]) if ok else None
        out.append({"agreement_at_least": level, "config": best["config"] if best else None,
                    "agreement": best["metrics"]["agreement"] if best else None,
                    "latency_ms": best["metrics"]["latency_ms"] if best else None,
                    "speedup": full_ms / best["metrics"]["latency_ms"] if best and full_ms else None})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-search", action="store_true")
    args = parser.parse_args()
    runs = {}
    for weights in ("original", "trained"):
        out = ROOT / "runs" / f"minilm-main-{weights}"
        command = ["tailor", "search", "--out", str(out.relative_to(ROOT)), "-o", f"weights={weights}"]
        wall = None
        if not args.skip_search:
            env = {**os.environ, "TAILOR_CACHE_DIR": str(out) + "-cache", "PYTHONPATH": str(ROOT / "src")}
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "tailor", *command[1:]], cwd=ROOT, env=env, check=True)
            wall = time.perf_counter() - t0
        data = json.loads((out / "results.json").read_text())
        evals = data["evaluations"]
        full = next((e for e in evals if e["config"]["depth"] == 6 and all(h == 12 for h in e["config"]["heads"])
                     and all(f == 1536 for f in e["config"]["ffn"])), None)
        full_ms = full["metrics"]["latency_ms"] if full else None
        runs[weights] = {"command": " ".join(command), "wall_s": wall, "evaluations": len(evals),
                         "full_model": full["metrics"] if full else None,
                         "front": [{"config": e["config"], **e["metrics"]} for e in pareto(evals)],
                         "levels": levels(evals, full_ms)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = run_metadata()
    (RESULTS / "minilm_main_job.json").write_text(json.dumps({"machine": meta, "runs": runs}, indent=1) + "\n")
    with open(RESULTS / "minilm_main_job_fronts.csv", "w") as f:
        f.write("weights,agreement,latency_ms,macs,params,config\n")
        for weights, r in runs.items():
            for e in r["front"]:
                cfg = json.dumps({k: e["config"][k] for k in ("depth", "heads", "ffn")}).replace('"', '""')
                f.write(f"{weights},{e['agreement']:.4f},{e['latency_ms']:.3f},{e['macs']:.0f},{e['params']:.0f},"
                        f"\"{cfg}\"\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for weights, style in (("original", "o--"), ("trained", "s-")):
        fr = runs[weights]["front"]
        ax.plot([e["latency_ms"] for e in fr], [e["agreement"] for e in fr], style, drawstyle="steps-post",
                label=f"{'before' if weights == 'original' else 'after'} (-o weights={weights})")
    ax.set_xlabel("ONNX Runtime latency, batch 1, length 128, 1 thread (ms)")
    ax.set_ylabel("retrieval agreement with the original model")
    ax.set_title("tailor search (main job, 40 evaluations): Pareto fronts")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(RESULTS / "minilm_main_job_fronts.png", dpi=120)
    for weights, r in runs.items():
        print(weights, r["wall_s"], [(lv["agreement_at_least"], lv["latency_ms"], lv["speedup"]) for lv in r["levels"]])


if __name__ == "__main__":
    main()
