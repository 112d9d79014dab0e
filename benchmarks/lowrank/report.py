"""Tables (markdown) and plot (PNG) of the low-rank benchmark's runs, with the issue's targets checked.

Reads every JSON that ``run.py`` wrote under ``benchmarks/results/lowrank/grid/`` (plus the
learning-rate runs under ``tune/`` and ``sensitivity/``, and ``step_time.py``'s paired timings),
averages over seeds where several exist, and writes ``report.md``, ``lowrank.png`` and
``summary.json`` beside them.

Run:  .venv/bin/python benchmarks/lowrank/report.py
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

from common import RESULTS, run_metadata

MiB = 2**20


def variant(run: dict) -> str:
    """``adamw``, ``galore``, ``fira`` or a Fira ablation name (``fira gamma=1.1``, ...)."""
    a = run["args"]
    if a["method"] != "fira":
        name = a["method"]
    else:
        tags = []
        if a["gamma"] != 1.01:
            tags.append(f"gamma={a['gamma']:g}")
        if a["scaling"] != "column":
            tags.append(f"scaling={a['scaling']}")
        if a["no_limiter"]:
            tags.append("no limiter")
        name = " ".join(["fira", *tags])
    return name + (" (code_compat)" if a.get("code_compat") else "")


def load(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def aggregate(runs: list[dict]) -> dict[tuple, dict]:
    """Runs grouped by (variant, rank, lr, steps); seed means and spreads of what the tables show."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in runs:
        a = r["args"]
        groups[(variant(r), a["rank"] or 0, a["lr"], a["steps"])].append(r)
    out = {}
    for key, rs in groups.items():
        ppl = [r["final_val_ppl"] for r in rs]
        out[key] = {
            "variant": key[0], "rank": key[1], "lr": key[2], "steps": key[3],
            "seeds": sorted(r["args"]["seed"] for r in rs),
            "val_loss": statistics.fmean(r["final_val_loss"] for r in rs),
            "val_ppl": statistics.fmean(ppl), "val_ppl_sd": statistics.stdev(ppl) if len(ppl) > 1 else 0.0,
            "val_ppl_per_seed": [r["final_val_ppl"] for r in sorted(rs, key=lambda r: r["args"]["seed"])],
            "diverged": any(r["diverged"] for r in rs),
            "state_bytes": rs[0]["optimizer_state_bytes"]["total"],
            "projected_matrices": rs[0]["model"]["projected_matrices"],
            "median_step_s": statistics.fmean(r["median_step_s"] for r in rs),
            "median_optimizer_step_s": statistics.fmean(r["median_optimizer_step_s"] for r in rs),
            "mean_optimizer_step_s": statistics.fmean(r["mean_optimizer_step_s"] for r in rs),
            "peak_rss_mib": max(r["peak_rss_bytes"] or 0 for r in rs) / MiB,
            "curve": [(p["step"], statistics.fmean(r["curve"][i]["val_loss"] for r in rs))
                      for i, p in enumerate(rs[0]["curve"])],
        }
    return out


def pct(a: float, b: float) -> str:
    return f"{100 * (a / b - 1):+.1f} %"


def tune_table(tune: list[dict]) -> tuple[str, dict[str, float]]:
    rows = aggregate(tune)
    best: dict[str, tuple[float, float]] = {}
    for row in rows.values():
        if not row["diverged"] and (row["variant"] not in best or row["val_loss"] < best[row["variant"]][1]):
            best[row["variant"]] = (row["lr"], row["val_loss"])
    lines = ["| method | rank | lr | steps | val loss | val ppl | |", "|---|---|---|---|---|---|---|"]
    for row in sorted(rows.values(), key=lambda r: (r["variant"], r["lr"])):
        mark = "best" if best.get(row["variant"], (None,))[0] == row["lr"] else ""
        lines.append(f"| {row['variant']} | {row['rank'] or '-'} | {row['lr']:g} | {row['steps']} | "
                     f"{row['val_loss']:.4f} | {row['val_ppl']:.3f} | {mark} |")
    return "\n".join(lines), {k: v[0] for k, v in best.items()}


def main_table(rows: dict[tuple, dict]) -> tuple[str, list[dict]]:
    main = [r for r in rows.values() if r["variant"] in ("adamw", "galore", "fira")]
    adamw = next((r for r in main if r["variant"] == "adamw"), None)
    lines = ["| method | rank | lr | seeds | val loss | val ppl: mean (per seed) | vs GaLore | vs AdamW | "
             "optimizer state | vs AdamW state | step (median) | optimizer.step (median) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    order = {"adamw": 0, "galore": 1, "fira": 2}
    for r in sorted(main, key=lambda r: (r["rank"], order[r["variant"]])):
        galore = next((g for g in main if g["variant"] == "galore" and g["rank"] == r["rank"]), None)
        vs_galore = pct(r["val_ppl"], galore["val_ppl"]) if galore and r["variant"] == "fira" else ""
        vs_adamw = pct(r["val_ppl"], adamw["val_ppl"]) if adamw and r is not adamw else ""
        spread = f" ({', '.join(f'{v:.3f}' for v in r['val_ppl_per_seed'])})" if len(r["seeds"]) > 1 else ""
        state_vs = f"{r['state_bytes'] / adamw['state_bytes']:.2f}x" if adamw else ""
        lines.append(f"| {r['variant']} | {r['rank'] or '-'} | {r['lr']:g} | {len(r['seeds'])} | {r['val_loss']:.4f} | "
                     f"{r['val_ppl']:.3f}{spread} | {vs_galore} | {vs_adamw} | {r['state_bytes'] / MiB:.2f} MiB | "
                     f"{state_vs} | {1000 * r['median_step_s']:.0f} ms | "
                     f"{1000 * r['median_optimizer_step_s']:.1f} ms |")
    return "\n".join(lines), main


def _on_seeds(row: dict, seeds: list[int]) -> float | None:
    """``row``'s mean perplexity over ``seeds`` only (None if it lacks one), so variants compare seed for seed."""
    by_seed = dict(zip(row["seeds"], row["val_ppl_per_seed"], strict=True))
    if not all(s in by_seed for s in seeds):
        return None
    return statistics.fmean(by_seed[s] for s in seeds)


def ablation_table(rows: dict[tuple, dict]) -> str:
    fira16 = [r for r in rows.values() if r["variant"].startswith("fira") and r["rank"] == 16]
    base = next((r for r in fira16 if r["variant"] == "fira"), None)
    galore16 = next((r for r in rows.values() if r["variant"] == "galore" and r["rank"] == 16), None)
    lines = ["| Fira variant (r=16) | seeds | val ppl | Fira on the same seeds | vs Fira | GaLore on the same seeds "
             "| vs GaLore |", "|---|---|---|---|---|---|---|"]
    for r in sorted(fira16, key=lambda r: (r["variant"] != "fira", r["variant"])):
        f = _on_seeds(base, r["seeds"]) if base else None
        g = _on_seeds(galore16, r["seeds"]) if galore16 else None
        lines.append(f"| {r['variant']} | {r['seeds']} | {r['val_ppl']:.3f} | {f:.3f} | {pct(r['val_ppl'], f)} | "
                     f"{g:.3f} | {pct(r['val_ppl'], g)} |" if f and g else
                     f"| {r['variant']} | {r['seeds']} | {r['val_ppl']:.3f} | | | | |")
    return "\n".join(lines)


def sensitivity_table(rows: dict[tuple, dict], sens: dict[tuple, dict]) -> str:
    """Full-length runs at another learning rate beside the grid's run of the same method and rank."""
    lines = ["| method | rank | lr | val ppl | grid run (lr) |", "|---|---|---|---|---|"]
    for r in sorted(sens.values(), key=lambda r: (r["variant"], r["rank"])):
        grid = next((g for g in rows.values() if (g["variant"], g["rank"], g["steps"]) ==
                     (r["variant"], r["rank"], r["steps"])), None)
        ref = f"{grid['val_ppl']:.3f} ({grid['lr']:g})" if grid else ""
        lines.append(f"| {r['variant']} | {r['rank'] or '-'} | {r['lr']:g} | {r['val_ppl']:.3f} | {ref} |")
    return "\n".join(lines)


def step_time_table(path: Path) -> tuple[str, dict]:
    if not path.is_file():
        return "(no paired timing: run step_time.py)", {}
    data = json.loads(path.read_text())
    lines = ["| rank | AdamW step | GaLore step | Fira step | Fira vs GaLore | GaLore optimizer.step | "
             "Fira optimizer.step | Fira vs GaLore |", "|---|---|---|---|---|---|---|---|"]
    for rank, row in data["ranks"].items():
        m = row["median_s"]
        lines.append(f"| {rank} | {1000 * m['adamw']['step']:.0f} ms | {1000 * m['galore']['step']:.0f} ms | "
                     f"{1000 * m['fira']['step']:.0f} ms | {100 * (row['fira_over_galore_step'] - 1):+.1f} % | "
                     f"{1000 * m['galore']['optimizer']:.1f} ms | {1000 * m['fira']['optimizer']:.1f} ms | "
                     f"{100 * (row['fira_over_galore_optimizer'] - 1):+.1f} % |")
    return "\n".join(lines), data["ranks"]


def targets(main: list[dict], paired: dict) -> tuple[str, list[dict]]:
    """The issue's four targets, each with its numbers and a verdict."""
    by = {(r["variant"], r["rank"]): r for r in main}
    checks = []
    for rank in sorted({r["rank"] for r in main if r["rank"]}):
        f, g = by.get(("fira", rank)), by.get(("galore", rank))
        if f and g:
            checks.append({"target": f"Fira ppl < GaLore ppl at r={rank}",
                           "value": f"{f['val_ppl']:.3f} vs {g['val_ppl']:.3f}", "met": f["val_ppl"] < g["val_ppl"]})
    f, a = by.get(("fira", 16)), by.get(("adamw", 0))
    if f and a:
        checks.append({"target": "Fira r=16 ppl within 5 % of AdamW's", "value": pct(f["val_ppl"], a["val_ppl"]),
                       "met": f["val_ppl"] <= 1.05 * a["val_ppl"]})
    for rank in sorted({r["rank"] for r in main if r["rank"]}):
        f, g = by.get(("fira", rank)), by.get(("galore", rank))
        if f and g:
            extra = (f["state_bytes"] - g["state_bytes"]) / 4 / f["projected_matrices"]
            checks.append({"target": f"Fira state within one number per matrix of GaLore's, r={rank}",
                           "value": f"{extra:g} float32 per matrix ({f['state_bytes'] - g['state_bytes']} B over "
                                    f"{f['projected_matrices']} matrices)", "met": extra <= 1})
    # timed with the methods interleaved (step_time.py): the training runs' own medians move with the
    # load of a shared machine by more than the difference being measured (main table, last columns)
    for rank, row in paired.items():
        checks.append({"target": f"Fira step time <= 1.10 x GaLore's, r={rank} (paired timing)",
                       "value": f"{100 * (row['fira_over_galore_step'] - 1):+.1f} % whole step, "
                                f"{100 * (row['fira_over_galore_optimizer'] - 1):+.1f} % optimizer.step",
                       "met": row["fira_over_galore_step"] <= 1.10})
    lines = ["| target | measured | met |", "|---|---|---|"]
    lines += [f"| {c['target']} | {c['value']} | {'yes' if c['met'] else '**no**'} |" for c in checks]
    return "\n".join(lines), checks


def plot(rows: dict[tuple, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranks = sorted({r["rank"] for r in rows.values() if r["rank"] and r["variant"] in ("galore", "fira")})
    ablations = [r for r in rows.values() if r["variant"].startswith("fira") and r["rank"] == 16]
    panels = len(ranks) + (1 if len(ablations) > 1 else 0)
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.6), sharey=True, squeeze=False)
    adamw = next((r for r in rows.values() if r["variant"] == "adamw"), None)
    colours = {"adamw": "black", "galore": "tab:blue", "fira": "tab:red"}
    for ax, rank in zip(axes[0], ranks, strict=False):
        if adamw:
            ax.plot(*zip(*adamw["curve"], strict=True), color="black", ls="--", label="AdamW (full rank)")
        for name in ("galore", "fira"):
            r = next((r for r in rows.values() if r["variant"] == name and r["rank"] == rank), None)
            if r:
                ax.plot(*zip(*r["curve"], strict=True), color=colours[name], label=f"{name} r={rank}")
        ax.set_title(f"rank {rank}")
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    if len(ablations) > 1:
        ax = axes[0][-1]
        for r in sorted(ablations, key=lambda r: r["variant"]):
            ax.plot(*zip(*r["curve"], strict=True), lw=2 if r["variant"] == "fira" else 1, label=r["variant"])
        ax.set_title("Fira ablations, rank 16")
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("validation loss (nats / byte)")
    lo = min(v for r in rows.values() for _, v in r["curve"][1:])
    axes[0][0].set_ylim(lo - 0.05, lo + 1.5)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    runs, tune = load(args.results / "grid"), load(args.results / "tune")
    rows = aggregate(runs)
    sens = aggregate(load(args.results / "sensitivity"))
    paired_md, paired = step_time_table(args.results / "step_time.json")
    parts = []
    tune_md, best_lr = tune_table(tune) if tune else ("(no tuning runs)", {})
    main_md, main = main_table(rows)
    targets_md, checks = targets(main, paired)
    steps = sorted({r["steps"] for r in rows.values()})
    seeds = sorted({s for r in rows.values() for s in r["seeds"]})
    parts += [f"Runs: {len(runs)} ({', '.join(map(str, steps))} steps; seeds {seeds}).", "",
              "### Learning rate (short runs, r=16)", "", tune_md, "",
              "### Methods and ranks", "", main_md, "",
              "### Fira ablations", "", ablation_table(rows), "",
              "### Learning-rate sensitivity (full-length runs)", "", sensitivity_table(rows, sens), "",
              "### Step time, methods interleaved (step_time.py)", "", paired_md, "",
              "### Targets", "", targets_md, ""]
    (args.results / "report.md").write_text("\n".join(parts))
    if rows:
        plot(rows, args.results / "lowrank.png")
    summary = {"meta": run_metadata(), "best_lr": best_lr, "targets": checks,
               "rows": [{k: v for k, v in r.items() if k != "curve"} for r in rows.values()],
               "sensitivity": [{k: v for k, v in r.items() if k != "curve"} for r in sens.values()]}
    (args.results / "summary.json").write_text(json.dumps(summary, indent=1))
    print("\n".join(parts))
    print(f"wrote {args.results / 'report.md'}, lowrank.png, summary.json")


if __name__ == "__main__":
    main()
