"""Train the small LLaMA-style decoder from scratch with AdamW, GaLore or Fira; write one JSON.

The model (``model.py``) is a byte-level decoder, d=256, 4 layers, 4 heads, SwiGLU width 688
(3.3 M parameters; 28 projected matrices: q, k, v, o, gate, up, down of every block). The corpus
(``data.py``) is the Python standard library's sources with a fixed file-level split. Every
method sees the same initial weights and the same batches for a given seed. The learning rate
warms up linearly over the first 10 % of steps, then follows a cosine to 10 % of its peak;
gradients are clipped to norm 1. GaLore and Fira project every block Linear
(``tailor.optim.build_optimizer``'s default target) and leave embeddings, norms and the output
head on AdamW.

Recorded: validation loss and byte-level perplexity every ``--eval-every`` steps on a fixed
validation set, optimizer-state bytes (``tailor.optim.state_bytes``), peak RSS, the median time
of a whole training step and of ``optimizer.step()`` alone, and the run's metadata.

Run (one thread, low priority, e.g.):
  OMP_NUM_THREADS=1 PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/lowrank/run.py \\
      --method fira --rank 16 --steps 300 --lr 0.01 --seed 0
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from common import RESULTS, run_metadata
from data import build_corpus, random_windows, validation_windows
from model import LlamaConfig, TinyLlama
from torch.nn import functional as F

from tailor.optim import build_optimizer, peak_rss_bytes, projected_weights, state_bytes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", choices=("adamw", "galore", "fira"), required=True)
    p.add_argument("--rank", type=int, default=None, help="subspace rank (galore, fira)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--alpha", type=float, default=0.25, help="GaLore/Fira scale (the papers' LLaMA value)")
    p.add_argument("--update-proj-gap", type=int, default=50, help="T: steps between SVD refreshes")
    p.add_argument("--scaling", choices=("column", "matrix", "none"), default="column", help="fira ablation")
    p.add_argument("--no-limiter", action="store_true", help="fira ablation: no norm-growth limiter")
    p.add_argument("--gamma", type=float, default=1.01, help="fira: norm-growth limit")
    p.add_argument("--code-compat", action="store_true", help="reproduce the released code instead of the paper")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--warmup-frac", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--eval-every", type=int, default=25)
    p.add_argument("--eval-windows", type=int, default=32)
    p.add_argument("--label", default=None, help="file name (default: from method, rank, ablation, lr, seed)")
    p.add_argument("--out-dir", type=Path, default=RESULTS / "grid")
    p.add_argument("--skip-existing", action="store_true", help="do nothing if this run's JSON exists")
    args = p.parse_args(argv)
    if args.method != "adamw" and args.rank is None:
        p.error("--rank is required for galore and fira")
    return args


def default_label(args: argparse.Namespace) -> str:
    parts = [args.method]
    if args.method != "adamw":
        parts.append(f"r{args.rank}")
    if args.method == "fira":
        if args.scaling != "column":
            parts.append(f"scaling-{args.scaling}")
        if args.no_limiter:
            parts.append("no-limiter")
        if args.gamma != 1.01:
            parts.append(f"gamma{args.gamma:g}")
    if args.code_compat:
        parts.append("compat")
    parts += [f"lr{args.lr:g}", f"s{args.seed}", f"{args.steps}steps"]
    return "_".join(parts)


def lr_at(step: int, args: argparse.Namespace) -> float:
    """Linear warm-up, then cosine from ``lr`` to ``lr / 10`` at the last step."""
    warmup = max(1, round(args.warmup_frac * args.steps))
    if step < warmup:
        return args.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, args.steps - warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


@torch.no_grad()
def evaluate(model: TinyLlama, windows: torch.Tensor, batch: int) -> float:
    model.eval()
    total = 0.0
    for i in range(0, len(windows), batch):
        w = windows[i : i + batch]
        logits = model(w[:, :-1])
        total += F.cross_entropy(logits.flatten(0, 1), w[:, 1:].flatten(), reduction="sum").item()
    model.train()
    return total / (windows.shape[0] * (windows.shape[1] - 1))


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(1)
    label = args.label or default_label(args)
    out = args.out_dir / f"{label}.json"
    if args.skip_existing and out.is_file():
        print(f"{out} exists; skipped", flush=True)
        return json.loads(out.read_text())
    corpus = build_corpus()
    cfg = LlamaConfig(dim=args.dim, n_layers=args.layers, n_heads=args.heads,
                      hidden=16 * math.ceil(8 * args.dim / 3 / 16), max_seq=args.seq_len)
    torch.manual_seed(args.seed)
    model = TinyLlama(cfg)
    opts = {}
    if args.method != "adamw":
        opts = {"update_proj_gap": args.update_proj_gap, "alpha": args.alpha, "code_compat": args.code_compat}
    if args.method == "fira":
        opts |= {"scaling": args.scaling, "limiter": not args.no_limiter, "gamma": args.gamma}
    optimizer = build_optimizer(args.method, model, lr=args.lr, weight_decay=args.weight_decay, rank=args.rank,
                                **opts)
    val = validation_windows(corpus.val, args.eval_windows, args.seq_len)
    rng = np.random.default_rng(args.seed)
    curve = [{"step": 0, "val_loss": evaluate(model, val, args.batch_size)}]
    step_s, opt_s, train_losses = [], [], []
    started = time.perf_counter()
    for step in range(args.steps):
        batch = random_windows(corpus.train, args.batch_size, args.seq_len, rng)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args)
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(batch[:, :-1]).flatten(0, 1), batch[:, 1:].flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if args.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        t1 = time.perf_counter()
        optimizer.step()
        t2 = time.perf_counter()
        step_s.append(t2 - t0)
        opt_s.append(t2 - t1)
        train_losses.append(loss.item())
        if not math.isfinite(train_losses[-1]):
            break
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            point = {"step": step + 1, "val_loss": evaluate(model, val, args.batch_size),
                     "train_loss": statistics.fmean(train_losses[-args.eval_every:])}
            curve.append(point)
            print(f"{label} step {step + 1:>5} train {point['train_loss']:.4f} val {point['val_loss']:.4f} "
                  f"ppl {math.exp(point['val_loss']):.3f} ({statistics.median(step_s):.3f} s/step)", flush=True)
    for point in curve:
        point["val_ppl"] = math.exp(point["val_loss"]) if point["val_loss"] < 50 else float("inf")
    n_matrices = len(projected_weights(model)) if args.method != "adamw" else 0
    result = {
        "label": label,
        "meta": run_metadata(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "model": {"config": cfg.__dict__, "params": sum(p.numel() for p in model.parameters()),
                  "projected_matrices": n_matrices},
        "corpus": corpus.info,
        "curve": curve,
        "final_val_loss": curve[-1]["val_loss"],
        "final_val_ppl": curve[-1]["val_ppl"],
        "diverged": not math.isfinite(train_losses[-1]),
        "optimizer_state_bytes": state_bytes(optimizer),
        "peak_rss_bytes": peak_rss_bytes(),
        "median_step_s": statistics.median(step_s),
        "mean_step_s": statistics.fmean(step_s),
        "median_optimizer_step_s": statistics.median(opt_s),
        "mean_optimizer_step_s": statistics.fmean(opt_s),
        "train_wall_s": time.perf_counter() - started,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}: final val loss {result['final_val_loss']:.4f}, ppl {result['final_val_ppl']:.3f}, "
          f"state {result['optimizer_state_bytes']['total'] / 2**20:.2f} MiB", flush=True)
    return result


if __name__ == "__main__":
    main()
