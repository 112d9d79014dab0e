"""Hypervolume improvement of candidate points over a front (all minimised, normalised space)."""

from __future__ import annotations

import numpy as np

from tailor.search.pareto import hypervolume, pareto_mask


def hv_improvement(front: np.ndarray, cand: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """HV(front + c) - HV(front) for every row c of ``cand``.

    Two objectives: exact and vectorised over the front's staircase. More: exact per candidate
    with moocore.
    """
    cand = np.atleast_2d(cand)
    front = np.atleast_2d(front)[pareto_mask(front)] if len(front) else np.empty((0, cand.shape[1]))
    front = front[np.all(front < ref, axis=1)]
    if cand.shape[1] == 2:
        return _hvi_2d(front, cand, ref)
    base = hypervolume(front, ref)
    return np.array([hypervolume(np.vstack([front, c]), ref) - base if np.all(c < ref) else 0.0 for c in cand])


def _hvi_2d(front: np.ndarray, cand: np.ndarray, ref: np.ndarray) -> np.ndarray:
    order = np.argsort(front[:, 0]) if len(front) else np.array([], dtype=int)
    xs, ys = front[order, 0], front[order, 1]
    # staircase: on [x_i, x_{i+1}) the front covers everything above y_i
    lefts = np.r_[-np.inf, xs]
    rights = np.r_[xs, ref[0]]
    heights = np.r_[ref[1], ys]
    cx, cy = cand[:, :1], cand[:, 1:]
    width = np.clip(np.minimum(rights[None, :], ref[0]) - np.maximum(lefts[None, :], cx), 0, None)
    height = np.clip(np.minimum(heights[None, :], ref[1]) - cy, 0, None)
    return (width * height).sum(axis=1)


def greedy_batch(front: np.ndarray, optimistic: np.ndarray, believed: np.ndarray, n: int,
                 ref: np.ndarray) -> list[int]:
    """Pick up to ``n`` candidates one by one by optimistic HV improvement.

    After each pick its *believed* (mean) point joins the front, so the next pick goes where the
    front still has room ("kriging believer"). Stops early when no candidate improves.
    """
    picks: list[int] = []
    front = np.atleast_2d(front).copy()
    alive = np.ones(len(optimistic), dtype=bool)
    # only candidates not weakly dominated by the front can ever add hypervolume
    alive &= ~_dominated_by(front, optimistic)
    # 3+ objectives: each gain costs an exact hypervolume, so gains are evaluated lazily. A
    # candidate's gain only shrinks as the front grows, so a gain computed for an earlier front
    # (or, before that, the volume of its box up to ``ref``) bounds it from above, and a candidate
    # whose bound is below the best exact gain of this round cannot be the pick. Same picks as
    # evaluating every gain (ties go to the lowest index either way), a fraction of the work.
    bound = np.prod(np.clip(ref - optimistic, 0, None), axis=1) if optimistic.shape[1] > 2 else None
    for _ in range(n):
        idx = np.flatnonzero(alive)
        if len(idx) == 0:
            break
        if bound is None:
            gain = hv_improvement(front, optimistic[idx], ref)
            j = int(np.argmax(gain))
            pick, best = int(idx[j]), float(gain[j])
        else:
            # a candidate dominated by another never adds more hypervolume than it, so the best
            # pick lies on the candidates' own front
            pick, best = _lazy_best(front, optimistic, idx[pareto_mask(optimistic[idx])], bound, ref)
        if best <= 0:
            break
        picks.append(pick)
        alive[pick] = False
        front = np.vstack([front, believed[pick]])
    return picks


def _lazy_best(front: np.ndarray, cand: np.ndarray, idx: np.ndarray, bound: np.ndarray,
               ref: np.ndarray) -> tuple[int, float]:
    """The index in ``idx`` with the largest HV improvement over ``front`` (lowest index on ties),
    computing exact gains in order of their upper ``bound`` until the bound falls below the best;
    ``bound`` is tightened in place with every gain computed."""
    front = front[pareto_mask(front)] if len(front) else front
    front = front[np.all(front < ref, axis=1)]
    base = hypervolume(front, ref)
    pick, best = -1, -np.inf
    for i in idx[np.lexsort((idx, -bound[idx]))]:
        if bound[i] < best:
            break
        c = cand[i]
        gain = hypervolume(np.vstack([front, c]), ref) - base if np.all(c < ref) else 0.0
        bound[i] = gain
        if gain > best or (gain == best and i < pick):
            pick, best = int(i), gain
    return pick, float(best)


def _dominated_by(front: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Rows of ``cand`` weakly dominated by some row of ``front``."""
    if len(front) == 0:
        return np.zeros(len(cand), dtype=bool)
    return np.any(np.all(front[None, :, :] <= cand[:, None, :], axis=2), axis=1)
