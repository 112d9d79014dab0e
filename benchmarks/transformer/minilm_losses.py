"""Which distillation loss and batching make MiniLM sub-networks keep the full model's neighbours.

Variants on the same budget (``--steps`` sandwich steps from the same importance-ordered original
weights; all other settings ``DistillConfig``'s defaults):

- ``base``: today's loss (embedding cosine + in-batch similarity MSE + hidden states), random batches;
- ``neighbour``: plus KL(teacher || student) over the teacher's embedding bank of the training slice
  (``w_neighbour``, ``temperature``);
- ``groups``: random anchors with their nearest training sentences as batches (``batching``);
- ``both``.

Scored on 5 fixed sub-networks twice: on the ``val`` slice (500 sentences; the development set the
variant is chosen on) and on the default 2,000 ``test`` sentences (reported, never tuned on).
Writes benchmarks/results/minilm/distill/minilm_losses.json.

Run: PYTHONPATH=src python benchmarks/transformer/minilm_losses.py [--steps 40] [--variants base,both]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from tailor.lab.meta import write_result
from tailor.measure.retrieval import RetrievalAgreementEvaluator
from tailor.supernets.transformer import ElasticTransformer
from tailor.train.distill import DistillConfig, DistillTrainer

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "results" / "minilm" / "distill" / "minilm_losses.json"

VARIANTS = {
    "base": {},
    "neighbour": {"w_neighbour": 1.0},
    "groups": {"batching": "neighbourhood"},
    "both": {"w_neighbour": 1.0, "batching": "neighbourhood"},
}


def uniform(depth: int, heads: int, ffn: int) -> dict:
    return {"depth": depth, "heads": [heads] * 6, "ffn": [ffn] * 6}


FIXED = {
    "d6 h12 f1536 (largest)": uniform(6, 12, 1536),
    "d6 h6 f768": uniform(6, 6, 768),
    "d4 h8 f768": uniform(4, 8, 768),
    "d3 h6 f768": uniform(3, 6, 768),
    "d2 h6 f768": uniform(2, 6, 768),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a DistillConfig setting for every variant (e.g. temperature=0.02)")
    args = parser.parse_args()
    common = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    torch.set_num_threads(1)
    net = ElasticTransformer()
    start = {k: v.clone() for k, v in net.layers.state_dict().items()}
    rows = json.loads(OUT.read_text())["rows"] if OUT.exists() else []
    for name in args.variants.split(","):
        net.layers.load_state_dict(start)
        settings = {**VARIANTS[name], **common}
        trainer = DistillTrainer(DistillConfig(steps=args.steps, eval_every=args.steps,
                                               warmup_steps=max(1, args.steps // 20), **settings), None, supernet=net)
        result = trainer.run()
        scores = {}
        for split, evaluator in (("val", RetrievalAgreementEvaluator(net, corpus=list(trainer.split.val),
                                                                      reference_model=trainer.teacher)),
                                 ("test", RetrievalAgreementEvaluator(net, reference_model=trainer.teacher))):
            scores[split] = {label: evaluator.agreement(cfg) for label, cfg in FIXED.items()}
        row = {"variant": name, "settings": settings, "steps": args.steps, "train_seconds": result["train_seconds"],
               "agreement": scores, "mean": {s: sum(v.values()) / len(v) for s, v in scores.items()}}
        rows.append(row)
        print(name, settings, f"{row['train_seconds']:.0f}s",
              {s: round(v, 3) for s, v in row["mean"].items()},
              {k: round(v, 3) for k, v in scores["val"].items()}, flush=True)
        write_result(OUT, {"fixed": FIXED, "rows": rows})


if __name__ == "__main__":
    main()
