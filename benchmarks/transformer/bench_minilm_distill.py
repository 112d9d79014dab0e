"""MiniLM sub-networks before and after distillation: retrieval agreement and ONNX Runtime latency.

The same fixed sub-networks are scored twice: with the original pre-trained weights (re-ordered
by importance, today's ``-o weights=original``) and with the distilled layers (``--weights``,
default the file shipped in ``tailor/supernets/weights/``). Agreement is recall@10 of the
*original* full model's neighbours over the default 2,000-sentence set (the corpus' ``test``
slice: never used for training or importance ranking). Latency: ONNX Runtime, batch 1, sequence
length 128, 1 thread, the fastest of 3 interleaved rounds of 30 runs (median each), because other
processes share the machine; it depends on the architecture only, so one measurement serves both.

Run: PYTHONPATH=src python benchmarks/transformer/bench_minilm_distill.py [--weights FILE] [--out JSON]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from tailor.lab.meta import run_metadata
from tailor.measure.latency import measure_latency
from tailor.measure.retrieval import RetrievalAgreementEvaluator
from tailor.supernets import create_supernet
from tailor.supernets.transformer import TRAINED_WEIGHTS

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "results" / "minilm" / "distill" / "minilm_distill.json"
ROUNDS, REPEATS = 3, 30


def uniform(depth: int, heads: int, ffn: int) -> dict:
    return {"depth": depth, "heads": [heads] * 6, "ffn": [ffn] * 6}


CONFIGS = {
    "d6 h12 f1536 (full)": uniform(6, 12, 1536),
    "d6 h8 f1152": uniform(6, 8, 1152),
    "d6 h6 f768": uniform(6, 6, 768),
    "d5 h8 f768": uniform(5, 8, 768),
    "d4 h12 f1536": uniform(4, 12, 1536),
    "d4 h8 f768": uniform(4, 8, 768),
    "d3 h12 f1536": uniform(3, 12, 1536),
    "d3 h8 f1152": uniform(3, 8, 1152),
    "d3 h6 f768": uniform(3, 6, 768),
    "d2 h12 f1536": uniform(2, 12, 1536),
    "d2 h6 f768": uniform(2, 6, 768),
    "d1 h12 f1536": uniform(1, 12, 1536),
    "d1 h4 f384 (smallest)": uniform(1, 4, 384),
}


def _relative(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=str(TRAINED_WEIGHTS), help="trained layers (.safetensors)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    torch.set_num_threads(1)

    t0 = time.perf_counter()
    original = create_supernet("transformer")
    trained = create_supernet("transformer", weights=args.weights)
    before = RetrievalAgreementEvaluator(original)
    after = RetrievalAgreementEvaluator(trained, reference_model=original)  # original at its largest
    setup_s = time.perf_counter() - t0

    inputs = original.example_input(1)
    subs = {name: original.subnet(cfg) for name, cfg in CONFIGS.items()}
    best: dict[str, float] = {}
    for _ in range(ROUNDS):
        for name, model in subs.items():
            r = measure_latency(model, inputs, "onnxruntime", threads=1, warmup=5, repeats=REPEATS)
            best[name] = min(best.get(name, float("inf")), r.median_ms)
    full = best["d6 h12 f1536 (full)"]

    rows = []
    for name, cfg in CONFIGS.items():
        rows.append({"name": name, "config": original.space().canonical(cfg),
                     "params_layers": sum(p.numel() for p in subs[name].layers.parameters()),
                     "latency_ms": best[name], "latency_vs_full": best[name] / full,
                     "agreement_before": before.agreement(cfg), "agreement_after": after.agreement(cfg)})
        print(f"{name:24s} {best[name]:7.2f} ms ({best[name] / full:5.1%})  agreement "
              f"{rows[-1]['agreement_before']:.3f} -> {rows[-1]['agreement_after']:.3f}", flush=True)

    # the full configuration runs the original layers; what the distilled (shared) layers give there:
    trained.original_full_model = False
    shared_full = after.agreement(CONFIGS["d6 h12 f1536 (full)"])
    trained.original_full_model = True
    print(f"full configuration on the distilled layers: agreement {shared_full:.3f}")

    from tailor.train.distill import peak_rss_mb

    result = {
        "what": "MiniLM sub-networks before (original weights, re-ordered) and after distillation",
        "weights": _relative(Path(args.weights)),
        "weights_sha256": trained.describe()["weights"],
        "agreement": {"metric": "recall@10 of the original full model's neighbours", "fingerprint": after.fingerprint(),
                      "sentences": after.n_sentences, "slice": "test (tailor.data.text.split_corpus)"},
        "latency": {"backend": "onnxruntime", "batch_size": 1, "seq_len": 128, "threads": 1,
                    "summary": f"fastest of {ROUNDS} interleaved rounds of {REPEATS} runs (median each)"},
        "full_configuration_on_distilled_layers": shared_full,
        "setup_s": setup_s, "peak_rss_mb": peak_rss_mb(), "machine": run_metadata(), "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
