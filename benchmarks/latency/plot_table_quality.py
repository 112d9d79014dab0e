"""Predicted against measured latency per family, from ``table_quality.json``: PNG and CSV beside it.

    PYTHONPATH=src .venv/bin/python benchmarks/latency/plot_table_quality.py [benchmarks/results/latency]
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "benchmarks/results/latency")
    data = json.loads((folder / "table_quality.json").read_text())
    rows = data["families"]
    with open(folder / "table_quality.csv", "w", newline="") as f:
        cols = ["family", "n_test", "n_blocks", "median_latency_ms", "table_tau", "table_mape", "sum_tau", "sum_mape",
                "macs_tau", "macs_mape", "repeat_tau", "repeat_mape", "median_entry_spread", "median_e2e_spread"]
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            w.writerow([r[c] if not isinstance(r[c], float) else f"{r[c]:.4f}" for c in cols])
    fig, axes = plt.subplots(1, len(rows), figsize=(4 * len(rows), 4), squeeze=False)
    for ax, r in zip(axes[0], rows, strict=True):
        m = [p["measured_ms"] for p in r["points"]]
        p = [p["predicted_ms"] for p in r["points"]]
        ax.scatter(m, p, s=12)
        lo, hi = min(m + p), max(m + p)
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_title(f"{r['family']}: tau {r['table_tau']:.2f}, MAPE {100 * r['table_mape']:.0f} %")
        ax.set_xlabel("measured end to end (ms)")
        ax.set_ylabel("table prediction (ms)")
    fig.tight_layout()
    fig.savefig(folder / "table_quality.png", dpi=110)
    print(folder / "table_quality.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
