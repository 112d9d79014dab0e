"""End to end: the full MiniLM sub-network with its FFN pruned to 80 / 90 %, sparse runtime vs dense.

The largest sub-network of the ``transformer`` family (all-MiniLM-L6-v2 weights) is extracted as
a plain model. Its FFN layers (``fc1`` 1536x384, ``fc2`` 384x1536, six layers) are pruned by
magnitude to each target sparsity (blocks of ``--block`` output channels), either one-shot or
with gradual magnitude pruning during ``--steps`` steps of distillation towards the dense
model's embeddings (cosine loss, Adam, sentences from tailor's corpus). Reported: agreement with
the dense model on held-out sentences (mean cosine of the embeddings, overlap of each sentence's
10 nearest neighbours) and batch-1 latency at 128 tokens on 1 thread, dense against the sparse
runtime (``sparsify``, measured dispatch), in rotating turns, fastest of ``--repeats``.

Run:  PYTHONPATH=src .venv/bin/python benchmarks/sparse/e2e_minilm.py
Writes benchmarks/results/sparse/e2e_minilm.json.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tailor.data.corpus import load_corpus  # noqa: E402
from tailor.lab.meta import write_result  # noqa: E402
from tailor.sparse import GradualPruner, Pruner, layers_of, sparse_layers, sparsify  # noqa: E402
from tailor.supernets import create_supernet  # noqa: E402

RESULTS = Path("benchmarks/results/sparse")


def embed(model, tok, sentences, batch=64):  # noqa: ANN001, ANN201
    out = []
    with torch.no_grad():
        for i in range(0, len(sentences), batch):
            out.append(model(*tok(sentences[i : i + batch], 128)))
    return torch.cat(out)


def agreement(ref: torch.Tensor, emb: torch.Tensor, k: int = 10) -> dict[str, float]:
    cos = F.cosine_similarity(ref, emb).mean().item()

    def knn(e: torch.Tensor) -> torch.Tensor:
        s = e @ e.t()
        s.fill_diagonal_(-2)
        return s.topk(k, dim=1).indices

    a, b = knn(ref), knn(emb)
    overlap = np.mean([len(set(a[i].tolist()) & set(b[i].tolist())) / k for i in range(len(a))])
    return {"mean_cosine": cos, "knn10_overlap": float(overlap)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sparsities", default="0.8,0.9")
    p.add_argument("--block", type=int, default=4)
    p.add_argument("--steps", type=int, default=120, help="distillation steps (0: one-shot only)")
    p.add_argument("--repeats", type=int, default=41)
    p.add_argument("--out", default=str(RESULTS / "e2e_minilm.json"))
    args = p.parse_args()
    torch.set_num_threads(1)
    net = create_supernet("transformer")
    dense = net.subnet(net.space().extreme("max")).eval()
    corpus = load_corpus(2000)
    rng = np.random.default_rng(0)
    held = [corpus[i] for i in rng.choice(len(corpus), 400, replace=False)]
    train_s = [s for s in corpus if s not in set(held)]
    tok = net.tokenize
    ref = embed(dense, tok, held)
    ffn = lambda name, m: name.endswith(("fc1", "fc2"))  # noqa: E731
    rows: dict[str, dict] = {}
    models = {"dense": dense}
    for s in (float(v) for v in args.sparsities.split(",")):
        name = f"ffn{int(round(100 * s))}"
        one = copy.deepcopy(dense)
        Pruner(layers_of(one, dense_first=False, include=ffn), args.block).prune(s, "uniform")
        rows[name + "_oneshot"] = agreement(ref, embed(one, tok, held))
        if args.steps > 0:
            student = copy.deepcopy(dense).train()
            pruner = Pruner(layers_of(student, dense_first=False, include=ffn), args.block)
            gradual = GradualPruner(pruner, s, begin=0, end=int(0.6 * args.steps), frequency=max(1, args.steps // 20),
                                    distribution="uniform")
            opt = torch.optim.Adam(student.parameters(), lr=2e-5)
            gen = np.random.default_rng(1)
            t0 = time.time()
            for step in range(args.steps):
                batch = [train_s[i] for i in gen.choice(len(train_s), 32, replace=False)]
                ids, mask = tok(batch, 64)
                with torch.no_grad():
                    target = dense(ids, mask)
                loss = (1 - F.cosine_similarity(student(ids, mask), target)).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                gradual.update(step + 1)
            student.eval()
            rows[name + "_distilled"] = {**agreement(ref, embed(student, tok, held)),
                                         "sparsity": pruner.sparsity()["overall"], "seconds": time.time() - t0}
            one = student
        models[name] = one
        print(name, rows.get(name + "_oneshot"), rows.get(name + "_distilled"), flush=True)
    ids, mask = net.example_input(1, seq_len=128)
    runners = {"dense": dense}
    for name, m in models.items():
        if name == "dense":
            continue
        sp = copy.deepcopy(m)
        sparsify(sp, example_inputs=(ids, mask))
        chosen = sum(bool(next(iter(x.decisions.values()))["sparse"]) for x in sparse_layers(sp).values())
        rows.setdefault(name, {})["layers_on_kernel"] = f"{chosen}/{len(sparse_layers(sp))}"
        with torch.no_grad():
            torch.testing.assert_close(sp(ids, mask), m(ids, mask), rtol=1e-4, atol=1e-4)
        runners[name] = sp
        runners[name + "_masked_dense"] = m
    samples: dict[str, list[float]] = {k: [] for k in runners}
    keys = list(runners)
    with torch.no_grad():
        for m in runners.values():
            m(ids, mask)
        order = np.random.default_rng(0)
        for _ in range(args.repeats):  # a new order each round
            for k in (keys[i] for i in order.permutation(len(keys))):
                t = time.perf_counter()
                runners[k](ids, mask)
                samples[k].append(time.perf_counter() - t)
    lat = {k: {"min_ms": 1e3 * min(v), "median_ms": 1e3 * float(np.median(v))} for k, v in samples.items()}
    for k in models:
        if k != "dense":
            lat[k]["speedup_vs_dense"] = lat["dense"]["min_ms"] / lat[k]["min_ms"]
            lat[k]["speedup_vs_dense_median"] = lat["dense"]["median_ms"] / lat[k]["median_ms"]
    print({k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in lat.items()})
    write_result(args.out, {"block": args.block, "steps": args.steps, "threads": 1, "tokens": 128,
                            "agreement": rows, "latency": lat})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
