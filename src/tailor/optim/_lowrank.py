"""GaLore and Fira: AdamW whose state for weight matrices lives in a rank-r gradient subspace.

Both optimizers keep, for each projected weight matrix W (m x n) with gradient G, an orthonormal
basis P of a rank-r subspace, refreshed every ``update_proj_gap`` (T) steps from the SVD of the
current gradient, and run Adam on the projected gradient R instead of G:

* ``left`` projection: P is m x r, R = P^T G is r x n, the update goes back as P N;
* ``right`` projection: P is r x n, R = G P^T is m x r, the update goes back as N P.

N is Adam's bias-corrected update of R. Adam's two moments are therefore r x n (or m x r)
instead of m x n, and the optimizer state of one matrix is ``m r + 2 n r`` numbers (left) or
``n r + 2 m r`` (right) rather than AdamW's ``2 m n``.

GaLore (Zhao et al. 2024) applies only the projected update: W <- W - lr * alpha * P N.

Fira (Chen et al. 2024, "Can We Achieve Full-rank Training of LLMs Under Low-rank
Constraint?") also applies the part of the gradient GaLore drops, S = G - P R, scaled so that
it takes the size of an Adam step: each column i (the dimension R shares with G) is multiplied by
phi_i = ||N_:,i|| / ||R_:,i||. A norm-growth limiter caps how fast the scaled residual may grow
from one step to the next: if ||S_t|| > gamma ||S_{t-1}||, S_t is rescaled to norm
gamma ||S_{t-1}||. The update is W <- W - lr * alpha * (P N + S_t). Fira keeps one number more
than GaLore per matrix: the previous residual norm.

Both use AdamW's decoupled weight decay, W <- W (1 - lr * weight_decay), before the step (as
``torch.optim.AdamW``); parameters that are not 2-D, and every parameter of a group without a
``rank``, get plain AdamW.

Full rank: when ``rank`` reaches the size of the projected side the subspace is the whole space,
any orthonormal basis of it spans the same updates, and tailor uses the identity (no SVD, no P in
the state). That choice matters: Adam is not rotation-invariant, so Adam run in the coordinates
of an SVD basis is not AdamW; with the identity, GaLore at full rank and alpha 1 *is* AdamW, and
Fira's residual is exactly zero.

``code_compat=True`` instead reproduces the released implementations (``galore-torch==1.0``,
``fira==1.0.2``, both built on Hugging Face's AdamW) operation for operation; see ``Fira`` for
where the released Fira differs from the paper.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from tailor.errors import ConfigError
from tailor.optim._memory import state_bytes

PROJ_TYPES = ("std", "reverse_std", "left", "right")
SCALINGS = ("column", "matrix", "none")
# Guards the division by ||R||; the released Fira uses the same constant.
PHI_EPS = 1e-8


def projection_side(shape: torch.Size | tuple[int, int], proj_type: str) -> str:
    """``"left"`` or ``"right"``: the side of an ``m x n`` matrix that ``proj_type`` projects.

    ``std`` projects the smaller side (left when m < n, right otherwise, as GaLore does), so
    that the moments take the larger dimension times r; ``reverse_std`` the larger side.
    """
    m, n = shape
    if proj_type == "std":
        return "left" if m < n else "right"
    if proj_type == "reverse_std":
        return "right" if m < n else "left"
    return proj_type


def _svd_basis(grad: torch.Tensor, rank: int, side: str, compact: bool = True) -> torch.Tensor:
    """The top-``rank`` left (m x r) or right (r x n) singular vectors of ``grad``, in its dtype.

    ``compact=False`` returns the slice of U or Vh itself, as the released code does: a view that
    keeps all min(m, n) singular vectors alive, laid out as LAPACK returned them (column-major),
    which is also what makes its matrix products round exactly like the released code's.
    """
    # torch.linalg.svd is looked up at call time so tests can count the calls by patching it
    matrix = grad if grad.dtype == torch.float32 else grad.float()
    U, _, Vh = torch.linalg.svd(matrix, full_matrices=False)
    basis = (U[:, :rank] if side == "left" else Vh[:rank, :]).to(grad.dtype)
    # a copy holding only the r vectors, so the state is m r (or n r) numbers and not m min(m, n)
    return basis.clone(memory_format=torch.contiguous_format) if compact else basis


def _project(grad: torch.Tensor, P: torch.Tensor, side: str) -> torch.Tensor:
    return P.t() @ grad if side == "left" else grad @ P.t()


def _project_back(low: torch.Tensor, P: torch.Tensor, side: str) -> torch.Tensor:
    return P @ low if side == "left" else low @ P


def _check_number(group: dict[str, Any], name: str, *, low: float, low_ok: bool, high: float | None = None) -> None:
    value = group[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(name, f"must be a finite number, got {value!r}")
    if value < low or (value == low and not low_ok) or (high is not None and value >= high):
        bound = f"{'>=' if low_ok else '>'} {low}" + (f" and < {high}" if high is not None else "")
        raise ConfigError(name, f"must be {bound}, got {value!r}")


def _check_positive_int(group: dict[str, Any], name: str) -> None:
    value = group[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(name, f"must be a positive integer, got {value!r}")


class _LowRankAdamW(torch.optim.Optimizer):
    """AdamW with GaLore's projected state for groups with a ``rank``; subclasses add Fira."""

    _fira = False

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        rank: int | None = None,
        update_proj_gap: int = 200,
        alpha: float = 0.25,
        proj_type: str = "std",
        code_compat: bool = False,
        **extra: Any,
    ):
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "rank": rank,
            "update_proj_gap": update_proj_gap,
            "alpha": alpha,
            "proj_type": proj_type,
            "code_compat": code_compat,
            **extra,
        }
        super().__init__(params, defaults)

    # -- arguments ---------------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (torch's contract) after filling defaults; ``ConfigError`` if a value is invalid."""
        super().add_param_group(param_group)
        self._validate(self.param_groups[-1])

    def _validate(self, group: dict[str, Any]) -> None:
        _check_number(group, "lr", low=0.0, low_ok=True)
        _check_number(group, "eps", low=0.0, low_ok=True)
        _check_number(group, "weight_decay", low=0.0, low_ok=True)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ConfigError("betas", f"must be a pair (beta1, beta2), got {betas!r}")
        for i, b in enumerate(betas):
            _check_number({f"betas[{i}]": b}, f"betas[{i}]", low=0.0, low_ok=True, high=1.0)
        if not isinstance(group["code_compat"], bool):
            raise ConfigError("code_compat", f"must be True or False, got {group['code_compat']!r}")
        if group["rank"] is None:
            return
        _check_positive_int(group, "rank")
        _check_positive_int(group, "update_proj_gap")
        _check_number(group, "alpha", low=0.0, low_ok=False)
        if group["proj_type"] not in PROJ_TYPES:
            raise ConfigError("proj_type", f"unknown projection {group['proj_type']!r}", PROJ_TYPES)

    # -- the step ----------------------------------------------------------------------------

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise ConfigError("params", "sparse gradients are not supported", "dense gradients")
                if group["rank"] is not None and p.dim() == 2:
                    self._step_projected(p, group)
                else:
                    self._step_dense(p, group)
        return loss

    def _step_dense(self, p: torch.Tensor, group: dict[str, Any]) -> None:
        """Plain AdamW: torch.optim.AdamW's arithmetic, or Hugging Face's under code_compat."""
        grad, state = p.grad, self.state[p]
        if "step" not in state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["step"] += 1
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        bc1, bc2 = 1.0 - beta1 ** state["step"], 1.0 - beta2 ** state["step"]
        if group["code_compat"]:
            exp_avg.mul_(beta1).add_(grad, alpha=1.0 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
            denom = exp_avg_sq.sqrt().add_(eps)
            p.add_(exp_avg / denom, alpha=-lr * math.sqrt(bc2) / bc1)
            if wd > 0.0:  # released code: decay after the step, from the updated weights
                p.add_(p, alpha=-lr * wd)
            return
        p.mul_(1.0 - lr * wd)
        exp_avg.lerp_(grad, 1.0 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
        denom = (exp_avg_sq.sqrt() / math.sqrt(bc2)).add_(eps)
        p.addcdiv_(exp_avg, denom, value=-lr / bc1)

    def _step_projected(self, p: torch.Tensor, group: dict[str, Any]) -> None:
        grad, state = p.grad, self.state[p]
        side = projection_side(p.shape, group["proj_type"])
        rank, compat = group["rank"], group["code_compat"]
        full_rank = not compat and rank >= (p.shape[0] if side == "left" else p.shape[1])
        if "step" not in state:
            state["step"] = 0
        # the basis is refreshed on steps 0, T, 2T, ... (counted before this step), as released
        if not full_rank and ("proj" not in state or state["step"] % group["update_proj_gap"] == 0):
            state["proj"] = _svd_basis(grad, rank, side, compact=not compat)
        P = None if full_rank else state["proj"]
        R = grad if P is None else _project(grad, P, side)
        if "exp_avg" not in state:
            state["exp_avg"] = torch.zeros_like(R)
            state["exp_avg_sq"] = torch.zeros_like(R)
        state["step"] += 1
        lr, wd, eps, alpha = group["lr"], group["weight_decay"], group["eps"], group["alpha"]
        beta1, beta2 = group["betas"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        bc1, bc2 = 1.0 - beta1 ** state["step"], 1.0 - beta2 ** state["step"]
        if compat:
            self._step_projected_compat(p, group, state, R, P, side, bc1, bc2)
            return
        exp_avg.lerp_(R, 1.0 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(R, R, value=1.0 - beta2)
        denom = (exp_avg_sq.sqrt() / math.sqrt(bc2)).add_(eps)
        N = exp_avg / denom / bc1  # Adam's bias-corrected update of R
        if wd != 0.0:
            p.mul_(1.0 - lr * wd)
        if P is None:  # full rank: plain Adam on G; for Fira nothing is left outside the subspace
            if self._fira:
                state["residual_norm"] = torch.zeros((), dtype=torch.float32, device=grad.device)
            p.add_(N, alpha=-lr * alpha)
        elif self._fira:
            self._fira_apply(p, grad, R, N, P, side, group, state, -lr * alpha)
        elif side == "left":  # W -= lr alpha P N, without an m x n temporary
            p.addmm_(P, N, alpha=-lr * alpha)
        else:
            p.addmm_(N, P, alpha=-lr * alpha)

    def _step_projected_compat(
        self,
        p: torch.Tensor,
        group: dict[str, Any],
        state: dict[str, Any],
        R: torch.Tensor,
        P: torch.Tensor,
        side: str,
        bc1: float,
        bc2: float,
    ) -> None:
        """The released code: Hugging Face's AdamW (eps added to the uncorrected sqrt(v), bias
        correction folded into the step size, weight decay after the step), scale applied by
        the projector's ``project_back``; Fira's residual term as ``fira==1.0.2`` computes it."""
        lr, wd, eps, alpha = group["lr"], group["weight_decay"], group["eps"], group["alpha"]
        beta1, beta2 = group["betas"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.mul_(beta1).add_(R, alpha=1.0 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(R, R, value=1.0 - beta2)
        denom = exp_avg_sq.sqrt().add_(eps)
        N = exp_avg / denom  # not bias-corrected: that lives in the step size
        update = _project_back(N, P, side) * alpha
        if self._fira:
            update = update + self._fira_residual_compat(p.grad, R, N, P, side, group, state)
        p.add_(update, alpha=-lr * math.sqrt(bc2) / bc1)
        if wd > 0.0:
            p.add_(p, alpha=-lr * wd)

    # Fira's residual; GaLore has none
    def _fira_apply(self, *args: Any) -> None:  # pragma: no cover - Fira overrides
        raise NotImplementedError

    def _fira_residual_compat(self, *args: Any) -> torch.Tensor:  # pragma: no cover - Fira overrides
        raise NotImplementedError

    # -- accounting --------------------------------------------------------------------------

    def state_bytes(self) -> dict[str, Any]:
        """Bytes of optimizer state: ``{"total": int, "groups": [int, ...]}`` (see ``state_bytes``)."""
        return state_bytes(self)


class GaLore(_LowRankAdamW):
    """GaLore (Zhao et al. 2024): AdamW with rank-r projected state for weight matrices.

    Args:
        params: parameters or param groups; a group is projected when it has a ``rank``
            (its own key, or the ``rank`` default here). ``lowrank_param_groups`` builds them.
        lr, betas, eps, weight_decay: AdamW's, with decoupled weight decay.
        rank: subspace rank r; ``None`` (default) leaves groups that do not set one on AdamW.
        update_proj_gap: T, steps between SVD refreshes of the basis.
        alpha: scale of the projected update (GaLore's ``scale``; 0.25 in the papers' LLaMA runs).
        proj_type: ``std`` (project the smaller side), ``reverse_std``, ``left`` or ``right``.
        code_compat: reproduce ``galore-torch==1.0`` operation for operation (Hugging Face
            AdamW arithmetic, SVD basis even at full rank) instead of ``torch.optim.AdamW``'s.

    Raises:
        ConfigError: a value is out of range or not one of the allowed names.
    """


class Fira(_LowRankAdamW):
    """Fira (Chen et al. 2024): GaLore plus the scaled, norm-limited residual outside the subspace.

    Per projected matrix and step (the paper's algorithm; left projection shown, right is the
    transpose): R = P^T G; N = Adam's bias-corrected update of R; S = G - P R from the raw
    gradient; S <- phi * S with phi per column (``scaling="column"``: phi_i = ||N_:,i|| /
    ||R_:,i||; ``"matrix"``: ||N||_F / ||R||_F; ``"none"``: phi = 1, the ablation); limiter
    (``limiter=True``): if ||S|| > gamma * ||S_prev|| then S <- S * gamma ||S_prev|| / ||S||,
    where S_prev is the previous step's (limited) residual; then
    W <- W (1 - lr wd) - lr * alpha * (P N + S). ``||R_:,i||`` gets ``1e-8`` added, and the
    limiter waits for a non-zero previous norm (a zero one would pin every later residual at 0).

    Cost: the same two matrix products per matrix as GaLore plus two passes over G, and no
    m x n temporary (see ``_fira_apply``). The residual's norms come from ||G_:,i||^2 -
    ||R_:,i||^2, exact up to float32 cancellation, about 1e-3 ||G||; a residual smaller than
    that moves the weights by less than that fraction of a step, so its norm does not matter.

    ``code_compat=True`` reproduces ``fira==1.0.2``, which differs from the paper in:

    * residual: S = G - alpha * P R (its ``project_back`` applies the scale), so for alpha != 1
      part of the in-subspace gradient leaks into the residual;
    * alpha: multiplies only P N; the residual term is not scaled by alpha;
    * phi: ||N~_i|| / (||R_i|| + 1e-8) with N~ = m / (sqrt(v) + eps), the update before bias
      correction; the bias correction sqrt(1 - b2^t) / (1 - b1^t) multiplies the whole step
      (residual included), and eps is added to the uncorrected sqrt(v) (Hugging Face AdamW);
    * limiter: compares norms of the uncorrected residual, so early steps, where the correction
      factor changes fastest, are limited differently from the paper; gamma is fixed at 1.01;
    * which norms make phi: chosen from the shape of R (over dim 0 if R has fewer rows than
      columns, else over dim 1), not from the projection side; they disagree when R is square
      (left projection with r equal to n), where it scales rows, which raises a shape error
      unless G is square too (compat raises alike);
    * projector: an SVD basis even at full rank; weight decay applied after the step, from the
      updated weights; the projector is a Python object in the state (tailor keeps tensors only,
      so ``state_dict`` loads with ``weights_only=True``).

    Args:
        gamma: norm-growth limit per step (> 1 to allow growth; 1.01 in the paper).
        scaling: ``column`` (default), ``matrix`` or ``none``.
        limiter: apply the norm-growth limiter.
        **kwargs: as ``GaLore``.

    Raises:
        ConfigError: a value is out of range or not one of the allowed names.
    """

    _fira = True

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        gamma: float = 1.01,
        scaling: str = "column",
        limiter: bool = True,
        **kwargs: Any,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, gamma=gamma, scaling=scaling, limiter=limiter, **kwargs)

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        _check_number(group, "gamma", low=1.0, low_ok=True)
        if group["scaling"] not in SCALINGS:
            raise ConfigError("scaling", f"unknown scaling {group['scaling']!r}", SCALINGS)
        if not isinstance(group["limiter"], bool):
            raise ConfigError("limiter", f"must be True or False, got {group['limiter']!r}")

    @staticmethod
    def _phi(N: torch.Tensor, R: torch.Tensor, scaling: str, norm_dim: int) -> torch.Tensor | float:
        """Per-column (or per-row, ``norm_dim=1``) or whole-matrix ||N|| / (||R|| + eps)."""
        if scaling == "none":
            return 1.0
        if scaling == "matrix":
            return torch.linalg.vector_norm(N) / (torch.linalg.vector_norm(R) + PHI_EPS)
        phi = torch.linalg.vector_norm(N, dim=norm_dim) / (torch.linalg.vector_norm(R, dim=norm_dim) + PHI_EPS)
        return phi.unsqueeze(1) if norm_dim == 1 else phi

    def _fira_apply(
        self,
        p: torch.Tensor,
        grad: torch.Tensor,
        R: torch.Tensor,
        N: torch.Tensor,
        P: torch.Tensor,
        side: str,
        group: dict[str, Any],
        state: dict[str, Any],
        step: float,
    ) -> None:
        """W += step * (P N + c * S), S = G - P R, c = phi (times the limiter's factor), per column.

        Two identities keep this at GaLore's two matrix products and no m x n temporary:
        c * S = c * G - P (c * R) (the scale acts on the columns that P leaves alone), so
        W += step * (c * G) and W += step * P (N - c * R); and since P has orthonormal columns
        and R = P^T G, ||S_:,i||^2 = ||G_:,i||^2 - ||R_:,i||^2 (Pythagoras), so the residual's
        norms come from G and R without forming S. Low-precision bases are not orthonormal
        enough for the second identity; there S is formed to measure it. Right projections are
        the transpose: rows instead of columns, products in the other order.
        """
        # column i of the paper is the dimension R shares with G: columns (left), rows (right)
        dim = 0 if side == "left" else 1
        if grad.dtype in (torch.float32, torch.float64):
            s_sq = torch.linalg.vector_norm(grad, dim=dim).square() - torch.linalg.vector_norm(R, dim=dim).square()
            s_cols = s_sq.clamp_(min=0.0).sqrt_().float()
        else:
            S = torch.addmm(grad, P, R, alpha=-1.0) if side == "left" else torch.addmm(grad, R, P, alpha=-1.0)
            s_cols = torch.linalg.vector_norm(S, dim=dim, dtype=torch.float32)
        scaling = group["scaling"]
        if scaling == "column":
            phi = torch.linalg.vector_norm(N, dim=dim, dtype=torch.float32) / (
                torch.linalg.vector_norm(R, dim=dim, dtype=torch.float32) + PHI_EPS)
        elif scaling == "matrix":
            phi = torch.linalg.vector_norm(N, dtype=torch.float32) / (
                torch.linalg.vector_norm(R, dtype=torch.float32) + PHI_EPS)
        else:
            phi = torch.ones((), dtype=torch.float32, device=grad.device)
        norm = torch.linalg.vector_norm(phi * s_cols)  # ||phi * S||
        prev = state.get("residual_norm")
        if group["limiter"] and prev is not None:
            cap = group["gamma"] * prev
            # tensor ops only (no host sync): factor 1 unless the norm grew past the cap
            factor = torch.where((prev > 0) & (norm > cap), cap / norm, torch.ones_like(norm))
            phi = phi * factor
            norm = norm * factor
        state["residual_norm"] = norm
        c = (phi.unsqueeze(1) if side == "right" and phi.dim() else phi).to(grad.dtype)
        p.addcmul_(grad, c, value=step)
        if side == "left":
            p.addmm_(P, N - R * c, alpha=step)
        else:
            p.addmm_(N - R * c, P, alpha=step)

    def _fira_residual_compat(
        self,
        grad: torch.Tensor,
        R: torch.Tensor,
        N: torch.Tensor,
        P: torch.Tensor,
        side: str,
        group: dict[str, Any],
        state: dict[str, Any],
    ) -> torch.Tensor:
        norm_dim = 0 if N.shape[0] < N.shape[1] else 1
        S = (grad - _project_back(R, P, side) * group["alpha"]) * self._phi(N, R, group["scaling"], norm_dim)
        if not group["limiter"]:
            state["residual_norm"] = torch.linalg.vector_norm(S)
            return S
        norm = torch.linalg.vector_norm(S)
        if "residual_norm" in state:
            gamma = group["gamma"]
            shrink = max(norm / (state["residual_norm"] + 1e-8), gamma) / gamma
            S = S / shrink
            state["residual_norm"] = norm / shrink
        else:
            state["residual_norm"] = norm
        return S
