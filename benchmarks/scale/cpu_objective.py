"""A CPU-bound objective for the Ray speed-up benchmark: train and score a small MLP (numpy, one core)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tailor.measure import Evaluator


class CpuBoundAccuracy(Evaluator):
    """Accuracy of a one-hidden-layer MLP trained by full-batch gradient descent on a fixed
    synthetic 10-class problem: ~0.2 s of one core per configuration, deterministic per config."""

    metrics = {"accuracy": "max"}

    def __init__(self, n: int = 2000, dim: int = 64, steps: int = 60):
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(n, dim)).astype(np.float32)
        w = rng.normal(size=(dim, 10)).astype(np.float32)
        self.y = np.argmax(self.x @ w + 0.5 * rng.normal(size=(n, 10)), axis=1)
        self.steps = steps

    def evaluate(self, configs: Sequence[dict]) -> list[dict[str, float]]:
        out = []
        for c in configs:
            rng = np.random.default_rng(c["seed"])
            w1 = rng.normal(scale=0.1, size=(self.x.shape[1], c["hidden"])).astype(np.float32)
            w2 = rng.normal(scale=0.1, size=(c["hidden"], 10)).astype(np.float32)
            onehot = np.eye(10, dtype=np.float32)[self.y]
            for _ in range(self.steps):
                h = np.maximum(self.x @ w1, 0)
                logits = h @ w2
                p = np.exp(logits - logits.max(1, keepdims=True))
                p /= p.sum(1, keepdims=True)
                g = (p - onehot) / len(self.x)
                gw2 = h.T @ g
                gh = (g @ w2.T) * (h > 0)
                w1 -= 0.5 * (self.x.T @ gh)
                w2 -= 0.5 * gw2
            acc = float(np.mean(np.argmax(np.maximum(self.x @ w1, 0) @ w2, 1) == self.y))
            out.append({"accuracy": acc})
        return out
