"""Can tailor's predictor learn the MobileNetV3 peer problem's objectives on this machine?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/peers/mbv3_predictor_check.py

Runs the default tactic on the peer problem (one seed, through the shared latency cache) and
records what its own predictor believed about each pick when it chose it. Then it refits the tactic's predictor, as
the tactic fits it, on the first ``--train`` evaluations and ranks the rest: Kendall tau per
objective on evaluations it never saw, and how far the picks' predicted latency was from the
measured one. Writes ``benchmarks/results/peers/mbv3_predictor_check.json`` (docs/benchmarks/peers.md).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from tailor.lab.meta import write_result
from tailor.lab.peers.mbv3 import mbv3_problem
from tailor.search.history import History
from tailor.search.tailored import TailorTactic, robust_bounds

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("TAILOR_CACHE_DIR", str(ROOT / "runs" / "peers" / "latency-cache"))


class RecordingTactic(TailorTactic):
    """The default tactic, plus a note of what its own predictor believed about every pick."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.picks: list[dict] = []
        self._fitted = None

    def fit_predictor(self, history: History, seed: int):
        self._fitted = (history.F.copy(), *super().fit_predictor(history, seed))
        return self._fitted[1:]

    def ask(self, history: History, n: int, rng: np.random.Generator) -> np.ndarray:
        self._fitted = None
        chosen = super().ask(history, n, rng)
        if self._fitted is not None:  # the model this ask chose with (none in the random start)
            F, _, model = self._fitted
            lo, span = robust_bounds(F, self.fence)
            mean, _ = model.predict(self.features(chosen))
            self.picks += [{"genes": g.tolist(), "predicted_latency_ms": float(m), "measured_min_ms": float(lo[1])}
                           for g, m in zip(chosen, mean[:, 1] * span[1] + lo[1], strict=True)]
        return chosen


def main() -> None:
    import torch

    from tailor.store import open_store
    from tailor.study import Study

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--budget", type=int, default=150)
    ap.add_argument("--train", type=int, default=100, help="evaluations the refitted predictor sees")
    ap.add_argument("--epochs", type=int, default=10, help="the peer benchmark's super-network (tailor search's)")
    ap.add_argument("--out", type=Path,
                    default=ROOT / "benchmarks" / "results" / "peers" / "mbv3_predictor_check.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    problem = mbv3_problem(ROOT / "runs" / "peers" / "mobilenetv3-digits", args.epochs)
    tactic = RecordingTactic()
    study = Study(problem, tactic, open_store("sqlite://"), name="predictor-check", seed=args.seed)
    study.optimize(args.budget)
    trials = study.trials()
    genes = np.stack([problem.space.to_genes(t.config) for t in trials])
    F = np.array([[-t.metrics["accuracy"], t.metrics["latency_ms"]] for t in trials])  # as minimised
    latency = {tuple(g): f[1] for g, f in zip(genes.tolist(), F, strict=True)}

    history = History(problem.space, 2)
    for g, f in zip(genes[: args.train], F[: args.train], strict=True):
        history.add(g, f, 0)
    _, model = tactic.fit_predictor(history, seed=args.seed)
    lo, span = robust_bounds(history.F, tactic.fence)
    predicted = model.predict(tactic.features(genes[args.train:]))[0] * span + lo
    held_out = {name: float(kendalltau(predicted[:, j], F[args.train:, j]).statistic)
                for j, name in enumerate(("accuracy", "latency_ms"))}
    picks = [p | {"measured_ms": float(latency[tuple(p["genes"])])} for p in tactic.picks
             if tuple(p["genes"]) in latency]
    below = [p for p in picks if p["predicted_latency_ms"] < p["measured_min_ms"]]
    print(f"predictor fitted on {args.train} evaluations, Kendall tau on the next {len(trials) - args.train}: "
          f"accuracy {held_out['accuracy']:.3f}, latency {held_out['latency_ms']:.3f}")
    print(f"{len(below)} of {len(picks)} picks were predicted faster than anything measured so far; they measured "
          f"median {np.median([p['measured_ms'] for p in below]) if below else float('nan'):.3f} ms, predicted "
          f"{np.median([p['predicted_latency_ms'] for p in below]) if below else float('nan'):.3f} ms")
    write_result(args.out, {"settings": {k: str(v) for k, v in vars(args).items()},
                            "held_out_tau": held_out, "picks": picks})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
