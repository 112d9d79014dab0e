"""PA&DA's cost per training step on the built-in elastic families, against SPOS's.

The ranking benchmark (``run.py``) times PA&DA on the 125-cell space, whose steps are tiny
(a few ms), so its fixed bookkeeping per step weighs most there. This times the same three
trainers (``tailor.lab.step_cost``), epochs interleaved, on the families ``tailor train`` ships
(sized for the built-in digits as ``tailor search --supernet FAMILY --data digits`` trains them):

* ``spos``: one uniform path per step, uniform data;
* ``padad_tau0``: all of PA&DA's machinery (path and data scores, resampling) with tau held at 0,
  i.e. the same path and data mix as SPOS: its extra time is PA&DA's overhead;
* ``padad``: PA&DA as trained (tau 0 -> 1 over the timed epochs).

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ranking/step_cost.py
Writes benchmarks/results/ranking/padad_step_cost.json and prints a table (docs/benchmarks/ranking.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from tailor.lab.meta import write_result
from tailor.lab.step_cost import interleaved_step_times, step_overheads
from tailor.problems.supernet import DIGITS_SIZES
from tailor.train import load_digits

OUT = Path(__file__).resolve().parents[1] / "results" / "ranking" / "padad_step_cost.json"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", default="mobilenetv3,resnet")
    p.add_argument("--repeats", type=int, default=8, help="interleaved epochs per trainer")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    args.param_free = "zero"  # no parameter-free choices in these families: the generic score applies
    torch.set_num_threads(1)
    data = load_digits(val_fraction=0.2, seed=0)
    rows = {}
    print(f"{'family':>12} {'SPOS ms':>9} {'PA&DA tau=0':>14} {'PA&DA':>14} {'bookkeeping':>12}")
    for family in args.families.split(","):
        t = interleaved_step_times(data, supernet=family, supernet_kwargs=DIGITS_SIZES[family],
                                   param_free=args.param_free, batch_size=args.batch_size, lr=args.lr,
                                   repeats=args.repeats)
        r = rows[family] = t | step_overheads(t)
        spos, tau0, pada = (t[s]["cpu_median_ms"] for s in ("spos", "padad_tau0", "padad"))
        print(f"{family:>12} {spos:>9.2f} {tau0:>8.2f} ({100 * r['padad_tau0_overhead_cpu']:+.1f}%)"
              f" {pada:>7.2f} ({100 * r['padad_overhead_interleaved_cpu']:+.1f}%)"
              f" {100 * r['padad_sampler_overhead']:>+11.2f}%", flush=True)
    out = write_result(args.out, {"settings": {k: str(v) for k, v in vars(args).items()}, "families": rows})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
