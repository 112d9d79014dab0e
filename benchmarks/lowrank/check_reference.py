"""tailor's GaLore and Fira(code_compat=True) against the released galore-torch==1.0 and fira==1.0.2.

Both sides start from the same small network (Linear layers of tall, square and wide shapes with
biases, and a LayerNorm), see the same seeded batches, and take 50 steps with the same settings;
the projector is refreshed every 10 steps so the SVD path runs five times. Reported: the largest
absolute difference between any parameter of the two copies, after every step (the maximum over
steps) and at the end, per optimizer and projection type. The paper-faithful default
(code_compat=False) is reported next to it, to show how far the released code is from the paper.

The reference packages import ``transformers.utils.versions.require_version`` (a version check
only) and galore_torch's ``__init__`` imports bitsandbytes for its 8-bit optimizer; neither is
installed in the side venv, so the version check is stubbed and galore_torch's modules are loaded
without running its ``__init__``. Nothing of the optimizers' code is replaced.

Run (after ``bash benchmarks/lowrank/install_reference.sh``):
  OMP_NUM_THREADS=1 PYTHONPATH=src /tmp/fira-ref/bin/python benchmarks/lowrank/check_reference.py
Writes benchmarks/results/lowrank/reference_agreement.json; exits 1 if a compat run is off by
more than the tolerance.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import sys
import types
import warnings
from importlib.metadata import version

import torch
from common import RESULTS, run_metadata
from torch import nn

from tailor.optim import Fira, GaLore, lowrank_param_groups


def _load_references() -> tuple[type, type]:
    versions = types.ModuleType("transformers.utils.versions")
    versions.require_version = lambda requirement, hint=None: None
    transformers = types.ModuleType("transformers")
    utils = types.ModuleType("transformers.utils")
    transformers.utils, utils.versions = utils, versions
    sys.modules.setdefault("transformers", transformers)
    sys.modules.setdefault("transformers.utils", utils)
    sys.modules.setdefault("transformers.utils.versions", versions)
    # galore_torch as a bare package: its submodules load, its __init__ (bitsandbytes) does not
    spec = importlib.util.find_spec("galore_torch")
    if spec is None or spec.submodule_search_locations is None:
        raise SystemExit("galore_torch is not installed here; run benchmarks/lowrank/install_reference.sh")
    package = types.ModuleType("galore_torch")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules["galore_torch"] = package
    from fira import FiraAdamW
    from galore_torch.adamw import AdamW as GaLoreAdamW

    return FiraAdamW, GaLoreAdamW


class Net(nn.Module):
    """Projected weights of every shape class: tall (32x12, 48x32), square (32x32), wide (20x48)."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(12, 32), nn.Linear(32, 32), nn.Linear(32, 48), nn.Linear(48, 20)])
        self.norm = nn.LayerNorm(20)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.blocks):
            x = layer(x)
            if i < len(self.blocks) - 1:
                x = torch.tanh(x)
        return self.norm(x)


def _max_diff(a: nn.Module, b: nn.Module) -> float:
    return max((pa - pb).abs().max().item() for pa, pb in zip(a.parameters(), b.parameters(), strict=True))


def _reference_groups(model: nn.Module, settings: dict, scale_key: str) -> list[dict]:
    projected = [layer.weight for layer in model.blocks]
    ids = {id(p) for p in projected}
    return [{"params": [p for p in model.parameters() if id(p) not in ids]},
            {"params": projected, "rank": settings["rank"], "update_proj_gap": settings["update_proj_gap"],
             scale_key: settings["alpha"], "proj_type": settings["proj_type"]}]


def compare(method: str, settings: dict, steps: int, seed: int, references: tuple[type, type]) -> dict:
    """Train tailor's optimizer (compat and paper modes) and the reference side by side."""
    FiraAdamW, GaLoreAdamW = references
    torch.manual_seed(seed)
    base = Net()
    ref_model, compat_model, paper_model = (copy.deepcopy(base) for _ in range(3))
    hyper = {"lr": settings["lr"], "weight_decay": settings["weight_decay"], "eps": settings["eps"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # HF AdamW's deprecation notice
        if method == "fira":
            ref = FiraAdamW(_reference_groups(ref_model, settings, "alpha"), **hyper)
        else:
            ref = GaLoreAdamW(_reference_groups(ref_model, settings, "scale"), **hyper)
    cls = Fira if method == "fira" else GaLore
    group = {k: settings[k] for k in ("update_proj_gap", "alpha", "proj_type")}
    compat = cls(lowrank_param_groups(compat_model, settings["rank"], **group), code_compat=True, **hyper)
    paper = cls(lowrank_param_groups(paper_model, settings["rank"], **group), **hyper)
    data = torch.Generator().manual_seed(seed + 1)
    worst_compat = worst_paper = 0.0
    for step in range(steps):
        x = torch.randn(16, 12, generator=data)
        y = torch.randn(16, 20, generator=data)
        errors = {}
        for label, model, opt in (("reference", ref_model, ref), ("compat", compat_model, compat),
                                  ("paper", paper_model, paper)):
            opt.zero_grad(set_to_none=True)
            nn.functional.mse_loss(model(x), y).backward()
            try:
                opt.step()
            except RuntimeError as e:  # the released Fira cannot run some shapes; compat must fail alike
                errors[label] = f"{type(e).__name__}: {e}"
        if errors:
            return {"method": method, **settings, "failed_at_step": step, "errors": errors,
                    "compat_fails_like_reference": errors.get("reference") == errors.get("compat")}
        worst_compat = max(worst_compat, _max_diff(ref_model, compat_model))
        worst_paper = max(worst_paper, _max_diff(ref_model, paper_model))
    return {"method": method, **settings,
            "compat_max_abs_diff_final": _max_diff(ref_model, compat_model),
            "compat_max_abs_diff_any_step": worst_compat,
            "paper_mode_max_abs_diff_final": _max_diff(ref_model, paper_model),
            "paper_mode_max_abs_diff_any_step": worst_paper,
            "param_max_abs": max(p.abs().max().item() for p in ref_model.parameters())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tol", type=float, default=1e-6)
    p.add_argument("--out", default=str(RESULTS / "reference_agreement.json"))
    args = p.parse_args()
    torch.set_num_threads(1)
    references = _load_references()
    rows = []
    # alpha != 1 and weight decay > 0 exercise the places where the released code differs from the paper
    for method in ("galore", "fira"):
        for proj_type in ("std", "reverse_std", "left", "right"):
            for rank in (4, 12):
                settings = {"proj_type": proj_type, "rank": rank, "update_proj_gap": 10, "alpha": 0.25,
                            "lr": 1e-2, "weight_decay": 0.01, "eps": 1e-6}
                row = compare(method, settings, args.steps, args.seed, references)
                rows.append(row)
                head = f"{method:>6} {proj_type:>11} r={rank:<3}"
                if "errors" in row:
                    print(f"{head} step {row['failed_at_step']} raised: {row['errors']}", flush=True)
                    continue
                print(f"{head} compat max|diff| {row['compat_max_abs_diff_any_step']:.2e}"
                      f"   paper mode {row['paper_mode_max_abs_diff_final']:.2e}", flush=True)
    ran = [r for r in rows if "errors" not in r]
    worst = max(r["compat_max_abs_diff_any_step"] for r in ran)
    failures_match = all(r["compat_fails_like_reference"] for r in rows if "errors" in r)
    passed = worst <= args.tol and failures_match

    out = {"meta": run_metadata(), "steps": args.steps, "seed": args.seed, "tolerance": args.tol,
           "reference": {"fira": version("fira"), "galore-torch": version("galore-torch")},
           "worst_compat_max_abs_diff": worst, "runs_compared": len(ran),
           "runs_where_reference_raises": len(rows) - len(ran), "compat_raises_alike": failures_match,
           "passed": passed, "runs": rows}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"worst compat max|diff| over {len(ran)} runs x {args.steps} steps: {worst:.3e} (tolerance {args.tol:g}); "
          f"{len(rows) - len(ran)} runs where the reference raises, compat raises alike: {failures_match} -> "
          f"{'PASS' if passed else 'FAIL'}; wrote {args.out}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
