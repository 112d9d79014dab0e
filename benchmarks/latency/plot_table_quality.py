"""Predicted against measured latency per family, from ``table_quality.json``: PNG and CSV beside it.

    PYTHONPATH=src .venv/bin/python benchmarks/latency/plot_table_quality.py [benchmarks/results/latency]

The prediction shown is the correction chosen on the development networks (``chosen``); the CSV
has test-split Kendall tau and MAPE of every method, MACs and the measurement's repeatability.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLUMNS = ("blocks", "scale", "theil-sen", "none", "huber", "block-sum", "macs", "repeat")


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "benchmarks/results/latency")
    data = json.loads((folder / "table_quality.json").read_text())
    rows, chosen = data["families"], data.get("chosen") or "scale"
    with open(folder / "table_quality.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["family", "split", "n", "median_latency_ms", "load_1m_start",
                    *(f"{m}_{s}" for m in COLUMNS for s in ("tau", "mape"))])
        for r in rows:
            for split in ("dev", "test"):
                w.writerow([r["family"], split, r[f"n_{split}"], f"{r['median_latency_ms']:.4f}",
                            f"{r['load_1m']['start']:.1f}",
                            *(f"{r[split][m][s]:.4f}" for m in COLUMNS for s in ("tau", "mape"))])
    fig, axes = plt.subplots(1, len(rows), figsize=(4 * len(rows), 4), squeeze=False)
    for ax, r in zip(axes[0], rows, strict=True):
        pts = [p for p in r["points"] if p["split"] == "test"]
        m = [p["measured_ms"] for p in pts]
        p = [p["predicted_ms"][chosen] for p in pts]
        ax.scatter(m, p, s=12)
        lo, hi = min(m + p), max(m + p)
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        t = r["test"][chosen]
        ax.set_title(f"{r['family']}: tau {t['tau']:.2f}, MAPE {100 * t['mape']:.0f} %", fontsize=9)
        ax.set_xlabel("measured end to end (ms)")
        ax.set_ylabel(f"table prediction, {chosen} (ms)")
    fig.tight_layout()
    fig.savefig(folder / "table_quality.png", dpi=110)
    print(folder / "table_quality.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
