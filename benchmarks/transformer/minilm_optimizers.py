"""AdamW vs GaLore vs Fira for MiniLM distillation, on the same training budget (issue #17).

Each optimizer runs ``--steps`` sandwich steps from the same importance-ordered original weights
with ``DistillConfig``'s defaults (lr 1e-4, the same for all three: GaLore and Fira use their
defaults, alpha 0.25, projection refreshed every 200 steps), in its own process so that its peak
RSS is its own. Scored like ``minilm_samplers.py``: retrieval agreement of 5 fixed sub-networks
with the original model on the 2,000 ``test`` sentences (never trained on); plus the optimizer
state in bytes (``tailor.optim.state_bytes``) and the process's peak RSS.
Writes benchmarks/results/minilm/distill/minilm_optimizers.json.

Run: PYTHONPATH=src python benchmarks/transformer/minilm_optimizers.py [--steps 40] [--rank 96]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "results" / "minilm" / "distill" / "minilm_optimizers.json"
OPTIMIZERS = ("adamw", "galore", "fira")


def one(name: str, steps: int, rank: int) -> dict:
    """Train with one optimizer in this process; the row for the table."""
    import torch

    from tailor.measure.retrieval import RetrievalAgreementEvaluator
    from tailor.optim import state_bytes
    from tailor.train.distill import DistillConfig, DistillTrainer, peak_rss_mb

    sys.path.insert(0, str(Path(__file__).parent))
    from minilm_samplers import FIXED

    torch.set_num_threads(1)
    trainer = DistillTrainer(DistillConfig(optimizer=name, optimizer_rank=rank, steps=steps, eval_every=steps,
                                           warmup_steps=max(1, steps // 20)), None)
    result = trainer.run()
    test = RetrievalAgreementEvaluator(trainer.supernet, reference_model=trainer.teacher)
    agreement = {label: test.agreement(cfg) for label, cfg in FIXED.items()}
    return {"optimizer": name, "rank": None if name == "adamw" else rank, "steps": steps,
            "train_seconds": result["train_seconds"], "optimizer_state_bytes": state_bytes(trainer.optimizer)["total"],
            "peak_rss_mb": peak_rss_mb(), "agreement": agreement,
            "mean_agreement": sum(agreement.values()) / len(agreement)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rank", type=int, default=96, help="GaLore / Fira subspace rank (hidden size 384)")
    parser.add_argument("--one", choices=OPTIMIZERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.steps, args.rank)))
        return
    from tailor.lab.meta import run_metadata

    rows = []
    for name in OPTIMIZERS:
        done = subprocess.run([sys.executable, __file__, "--one", name, "--steps", str(args.steps),
                               "--rank", str(args.rank)], capture_output=True, text=True, check=True)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{name:7s} state {row['optimizer_state_bytes'] / 2**20:6.1f} MiB  peak RSS {row['peak_rss_mb']:6.0f} MB"
              f"  {row['train_seconds']:5.0f} s  mean agreement {row['mean_agreement']:.3f}  "
              + " ".join(f"{v:.3f}" for v in row["agreement"].values()), flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"machine": run_metadata(), "steps": args.steps, "rank": args.rank, "rows": rows},
                              indent=1) + "\n")


if __name__ == "__main__":
    main()
