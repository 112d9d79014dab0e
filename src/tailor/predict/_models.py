"""Surrogate models for one objective: ``fit(X, y)``, ``predict(X) -> (mean, std | None)``.

Small data (tens to hundreds of measured sub-networks) and many predictions (whole candidate
pools), so: sklearn models for the classics, and a vectorised torch MLP ensemble whose members
train together in one batched forward/backward pass (cheap, and its spread is an uncertainty).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch
from scipy.stats import kendalltau
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.svm import SVR


class Predictor(ABC):
    """One objective's surrogate. ``predict`` returns the mean and, if the model has one, a std."""

    name: str = "predictor"

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray) -> Predictor: ...

    @abstractmethod
    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...


class _Standardised(Predictor):
    """Standardise targets so model hyper-parameters need no per-objective tuning."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> Predictor:
        y = np.asarray(y, dtype=float)
        self._mu = y.mean(axis=0)
        self._sd = np.where(y.std(axis=0) > 0, y.std(axis=0), 1.0)
        self._fit(np.asarray(X, dtype=float), (y - self._mu) / self._sd)
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        mean, std = self._predict(np.asarray(X, dtype=float))
        return mean * self._sd + self._mu, None if std is None else std * self._sd

    @abstractmethod
    def _fit(self, X: np.ndarray, z: np.ndarray) -> None: ...

    @abstractmethod
    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...


class RidgePredictor(_Standardised):
    name = "ridge"

    def _fit(self, X, z):
        self._m = RidgeCV(alphas=(0.01, 0.1, 1.0, 10.0)).fit(X, z)

    def _predict(self, X):
        return self._m.predict(X), None


class SVRPredictor(_Standardised):
    name = "svr"

    def _fit(self, X, z):
        self._m = SVR(C=3.0, epsilon=0.05, gamma="scale").fit(X, z)

    def _predict(self, X):
        return self._m.predict(X), None


class GBTPredictor(_Standardised):
    name = "gbt"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def _fit(self, X, z):
        self._m = HistGradientBoostingRegressor(
            max_iter=150, learning_rate=0.08, max_leaf_nodes=15, min_samples_leaf=4,
            l2_regularization=1e-3, early_stopping=False, random_state=self.seed,
        ).fit(X, z)

    def _predict(self, X):
        return self._m.predict(X), None


def _adam_step(params: list[torch.Tensor], grads: list[torch.Tensor], exp_avgs: list[torch.Tensor],
               exp_avg_sqs: list[torch.Tensor], t: int, lr: float, weight_decay: float,
               beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
    """``torch.optim.Adam(foreach=True)``'s step, op for op (same numbers), without the
    optimiser's per-step dispatch and the one-time ``torch._dynamo`` import its constructor
    triggers: together a third of the default tactic's search overhead on NB201."""
    grads = torch._foreach_add(grads, params, alpha=weight_decay)
    torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
    denom = torch._foreach_sqrt(exp_avg_sqs)
    torch._foreach_div_(denom, (1 - beta2**t) ** 0.5)
    torch._foreach_add_(denom, eps)
    torch._foreach_addcdiv_(params, exp_avgs, denom, (lr / (1 - beta1**t)) * -1)


class MLPEnsemblePredictor(_Standardised):
    """``members`` two-layer MLPs on bootstrap resamples, trained at once as batched matmuls.

    The spread of the members' predictions is the uncertainty estimate. Accepts a 2-D target
    (one column per objective): the members then share their hidden layer across objectives,
    one fit for all, and ``predict`` returns (n, m) arrays.
    """

    name = "mlp_ensemble"

    def __init__(self, members: int = 5, hidden: int = 64, steps: int = 80, lr: float = 0.025,
                 weight_decay: float = 1e-3, seed: int = 0):
        self.members, self.hidden, self.steps = members, hidden, steps
        self.lr, self.weight_decay, self.seed = lr, weight_decay, seed

    def _fit(self, X, z):
        g = torch.Generator().manual_seed(self.seed)
        n, d = X.shape
        E, H = self.members, self.hidden
        Xt = torch.as_tensor(X, dtype=torch.float32)
        zt = torch.as_tensor(z, dtype=torch.float32)
        self._multi = zt.ndim == 2
        zt = zt.reshape(n, -1)  # (n, m)
        m = zt.shape[1]
        # bootstrap weights: how often each member sees each point
        idx = torch.randint(0, n, (E, n), generator=g)
        w = torch.zeros(E, n).scatter_add_(1, idx, torch.ones(E, n))
        self._weights = w  # kept: zero marks a member's out-of-bag points
        self._params = [
            (torch.randn(E, d, H, generator=g) * (2.0 / d) ** 0.5).requires_grad_(),
            torch.zeros(E, 1, H, requires_grad=True),
            (torch.randn(E, H, m, generator=g) * (1.0 / H) ** 0.5).requires_grad_(),
            torch.zeros(E, 1, m, requires_grad=True),
        ]
        moments = [torch.zeros_like(p) for p in self._params], [torch.zeros_like(p) for p in self._params]
        for t in range(1, self.steps + 1):
            with torch.enable_grad():
                pred = self._forward(Xt)  # (E, n, m)
                loss = ((pred - zt) ** 2 * w[:, :, None]).sum() / (w.sum() * m)
                grads = torch.autograd.grad(loss, self._params)
            with torch.no_grad():
                _adam_step(self._params, list(grads), *moments, t, self.lr, self.weight_decay)

    def _forward(self, Xt: torch.Tensor) -> torch.Tensor:
        W1, b1, W2, b2 = self._params
        h = torch.relu(Xt.unsqueeze(0) @ W1 + b1)  # (E, n, H)
        return h @ W2 + b2  # (E, n, m)

    def _predict(self, X):
        with torch.no_grad():
            P = self._forward(torch.as_tensor(X, dtype=torch.float32)).numpy().astype(float)
        if not self._multi:
            P = P[..., 0]
        return P.mean(0), P.std(0)


PREDICTORS: dict[str, type[Predictor]] = {
    cls.name: cls for cls in (RidgePredictor, SVRPredictor, GBTPredictor, MLPEnsemblePredictor)
}


def score_predictor(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Kendall tau (ranking quality, what search needs) and MAPE (%) on held-out points."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    tau = kendalltau(y_true, y_pred).statistic
    denom = np.maximum(np.abs(y_true), 1e-12)
    return {"kendall_tau": float(np.nan_to_num(tau)), "mape": float(np.mean(np.abs(y_pred - y_true) / denom) * 100)}
