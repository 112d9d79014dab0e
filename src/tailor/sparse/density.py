"""How much of each layer to keep for a target overall density: uniform, ER or ERK.

ER (Erdos-Renyi, Mocanu et al. 2018) keeps a layer's density proportional to
``(n_in + n_out) / (n_in * n_out)``; ERK (Evci et al. 2020, RigL) adds the kernel:
``(n_in + n_out + k_h + k_w) / (n_in * n_out * k_h * k_w)``, so small layers stay denser.
Liu et al. (ICLR 2022) found this layer-wise allocation matters more than which weights go.
The scale is solved so the pruned layers together keep exactly ``density`` of their weights;
a layer whose share would exceed 1 is kept dense and the scale solved again over the others
(RigL's procedure).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tailor.errors import ConfigError

DISTRIBUTIONS = ("uniform", "er", "erk")


def check_sparsity(sparsity: float, field: str = "sparsity") -> float:
    """``sparsity`` as a float in [0, 1), else ``ConfigError``."""
    try:
        value = float(sparsity)
    except (TypeError, ValueError):
        raise ConfigError(field, f"{sparsity!r} is not a number", "0 <= sparsity < 1") from None
    if not 0.0 <= value < 1.0:
        raise ConfigError(field, f"{sparsity!r} is outside [0, 1)", "0 <= sparsity < 1")
    return value


def raw_score(shape: Sequence[int], distribution: str) -> float:
    """The un-normalised density of a weight of ``shape`` (out, in[, k_h, k_w])."""
    n_out, n_in = shape[0], shape[1]
    kernel = list(shape[2:])
    numel = n_out * n_in
    for k in kernel:
        numel *= k
    if distribution == "uniform":
        return 1.0
    if distribution == "er":
        return (n_in + n_out) / (n_in * n_out)
    if distribution == "erk":
        return (n_in + n_out + sum(kernel)) / numel
    raise ConfigError("distribution", f"unknown layer density {distribution!r}", DISTRIBUTIONS)


def layer_densities(shapes: Mapping[str, Sequence[int]], sparsity: float,
                    distribution: str = "erk") -> dict[str, float]:
    """``{layer: density}`` keeping ``1 - sparsity`` of all the weights of ``shapes`` together."""
    sparsity = check_sparsity(sparsity)
    if distribution not in DISTRIBUTIONS:
        raise ConfigError("distribution", f"unknown layer density {distribution!r}", DISTRIBUTIONS)
    sizes = {name: _numel(s) for name, s in shapes.items()}
    target = (1.0 - sparsity) * sum(sizes.values())  # weights to keep
    dense: set[str] = set()
    while True:
        free = [n for n in shapes if n not in dense]
        budget = target - sum(sizes[n] for n in dense)
        denom = sum(raw_score(shapes[n], distribution) * sizes[n] for n in free)
        if not free or denom <= 0:
            return dict.fromkeys(shapes, 1.0)
        eps = budget / denom
        over = [n for n in free if eps * raw_score(shapes[n], distribution) > 1.0]
        if not over:
            out = {n: 1.0 for n in dense}
            out.update({n: eps * raw_score(shapes[n], distribution) for n in free})
            return {n: out[n] for n in shapes}
        dense.update(over)


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n
