"""Sandwich vs SPOS vs PA&DA for MiniLM distillation, on the same training budget.

Budget = sub-network passes (forward + backward): sandwich trains 4 paths per step (largest,
smallest, 2 random), SPOS and PA&DA one, so sandwich gets ``--steps`` steps and the others 4x as
many; all other settings are ``DistillConfig``'s defaults (the cosine schedule follows each run's
own step count). Each run starts from the same importance-ordered original weights and is scored
on 5 fixed sub-networks: retrieval agreement with the original model over the default 2,000
``test`` sentences (never trained on). Also records each run's training seconds (the passes
differ in cost: sandwich's always include the largest).
Writes benchmarks/results/minilm/distill/minilm_samplers.json.

Run: PYTHONPATH=src python benchmarks/transformer/minilm_samplers.py [--steps 40]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from tailor.lab.meta import run_metadata
from tailor.measure.retrieval import RetrievalAgreementEvaluator
from tailor.supernets.transformer import ElasticTransformer
from tailor.train.distill import DistillConfig, DistillTrainer

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "results" / "minilm" / "distill" / "minilm_samplers.json"


def uniform(depth: int, heads: int, ffn: int) -> dict:
    return {"depth": depth, "heads": [heads] * 6, "ffn": [ffn] * 6}


FIXED = {
    "d6 h12 f1536 (largest)": uniform(6, 12, 1536),
    "d6 h6 f768": uniform(6, 6, 768),
    "d4 h8 f1152": uniform(4, 8, 1152),
    "d3 h6 f768": uniform(3, 6, 768),
    "d1 h4 f384 (smallest)": uniform(1, 4, 384),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40, help="sandwich steps (the others: 4x)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = ElasticTransformer()
    start = {k: v.clone() for k, v in net.layers.state_dict().items()}
    teacher = None
    rows = []
    for sampler, steps in (("sandwich", args.steps), ("spos", 4 * args.steps), ("padad", 4 * args.steps)):
        net.layers.load_state_dict(start)
        trainer = DistillTrainer(DistillConfig(sampler=sampler, steps=steps, eval_every=steps,
                                               warmup_steps=max(1, steps // 20)), None, supernet=net)
        teacher = teacher or trainer.teacher  # the original model: the first trainer's frozen copy
        result = trainer.run()
        test = RetrievalAgreementEvaluator(net, reference_model=teacher)
        row = {"sampler": sampler, "steps": steps, "paths": steps * (4 if sampler == "sandwich" else 1),
               "train_seconds": result["train_seconds"],
            "agreement": {name: test.agreement(cfg) for name, cfg in FIXED.items()}}
        row["mean_agreement"] = sum(row["agreement"].values()) / len(FIXED)
        rows.append(row)
        print(sampler, steps, f"{row['train_seconds']:.0f}s", {k: round(v, 3) for k, v in row["agreement"].items()},
              flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"machine": run_metadata(), "budget": f"{4 * args.steps} sub-network passes",
                               "fixed": FIXED, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
