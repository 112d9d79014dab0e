"""``TrainSpec``: every setting of a training run, one field per CLI flag.

The resolved config is stored in each checkpoint; resuming with different settings (other than
``epochs``, which may be extended) is refused rather than silently mixing two runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tailor.errors import ConfigError
from tailor.train.paths import PARAM_FREE_POLICIES, PATH_SAMPLERS

# fields that may differ between a checkpoint and the run resuming from it
RESUMABLE_CHANGES = ("epochs",)
# research-probe settings that older checkpoints hold, at their "off" value; the probes now live
# in tailor.lab.probes (ProbedTrainer), so a checkpoint that has them off still loads
RETIRED_FIELDS = {"track_grad_variance": False, "grad_variance_probe": 0}


OPTIMIZERS = ("sgd", "adamw", "galore", "fira")


@dataclass(frozen=True)
class TrainSpec:
    """Settings of one super-network training run.

    Args:
        supernet: registered family name; ``supernet_kwargs`` are its sizes.
        data: ``"digits"`` or an image-folder path; ``image_size`` applies to folders.
        sampler: ``sandwich`` (default, with in-place distillation), ``spos``, ``fairnas`` or
            ``padad`` (PA&DA: importance sampling of paths *and* data).
        epochs, batch_size, lr, momentum, weight_decay: the optimizer's settings, with a cosine
            learning-rate schedule over all steps.
        optimizer: ``sgd`` (Nesterov momentum; default), ``adamw``, or the low-rank-state
            ``galore`` / ``fira`` (``tailor.optim``) with subspace ``rank``.
        seed: seeds weight init, data order, paths and the split.
        num_random, distill: the sandwich rule's random paths and in-place distillation.
        path_ema, path_floor, tau_ramp, param_free: PA&DA path sampler (see ``PadaPathSampler``).
        data_importance: ``padad`` also importance-samples the data (False: paths only).
        importance_weights: weight each example's loss by ``1/(N p_i)`` under PA&DA data sampling.
        val_fraction: held-out share when the data has no validation split.
        grad_clip: max gradient norm (0 disables).
        max_steps_per_epoch: truncate epochs (tests, smoke runs); ``None`` = full epochs.
    """

    supernet: str = "nb201_cell"
    supernet_kwargs: Mapping[str, Any] = field(default_factory=dict)
    data: str = "digits"
    image_size: int = 32
    sampler: str = "sandwich"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    seed: int = 0
    num_random: int = 2
    distill: bool = True
    path_ema: float = 0.9
    path_floor: float = 0.1
    tau_ramp: float = 1.0
    param_free: str = "zero"
    data_importance: bool = True
    importance_weights: bool = False
    val_fraction: float = 0.2
    grad_clip: float = 5.0
    max_steps_per_epoch: int | None = None
    optimizer: str = "sgd"
    rank: int | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError("optimizer", f"unknown name {self.optimizer!r}", OPTIMIZERS)
        if self.optimizer in ("galore", "fira"):
            if isinstance(self.rank, bool) or not isinstance(self.rank, int) or self.rank < 1:
                raise ConfigError("rank", f"{self.optimizer} needs a rank >= 1 (--rank R), got {self.rank!r}")
        elif self.rank is not None:
            raise ConfigError("rank", f"applies to galore and fira, not {self.optimizer!r}")
        if self.sampler not in PATH_SAMPLERS:
            raise ConfigError("sampler", f"unknown sampler {self.sampler!r}", PATH_SAMPLERS)
        if self.param_free not in PARAM_FREE_POLICIES:
            raise ConfigError("param_free", f"got {self.param_free!r}", PARAM_FREE_POLICIES)
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(name, f"must be a positive integer, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError("seed", f"must be an integer >= 0, got {self.seed!r}")
        if not self.lr > 0:
            raise ConfigError("lr", f"must be > 0, got {self.lr!r}")
        if self.max_steps_per_epoch is not None and self.max_steps_per_epoch < 1:
            raise ConfigError("max_steps_per_epoch", "must be a positive integer or None")
        object.__setattr__(self, "supernet_kwargs", dict(self.supernet_kwargs))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if not (k in RETIRED_FIELDS and v == RETIRED_FIELDS[k])}
        unknown = set(data) - names
        if unknown:
            raise ConfigError("train", f"unknown setting {sorted(unknown)[0]!r}", sorted(names))
        return cls(**data)

    def differences(self, other: TrainSpec) -> list[str]:
        """Names of the fields that differ, ignoring those a resume may change."""
        a, b = self.to_dict(), other.to_dict()
        return [k for k in a if a[k] != b[k] and k not in RESUMABLE_CHANGES]
