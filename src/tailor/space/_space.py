"""Search spaces: named dimensions with explicit choices, optionally repeated per block.

A configuration (``Config``) is a plain JSON-able dict mapping each dimension name to one value
(scalar dimensions) or to a list of values (repeated dimensions, e.g. one kernel size per block).
Tactics work on integer *gene* matrices instead (one column per scalar dimension or block entry,
holding the index of the chosen value), which keeps the inner loops vectorised.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tailor.errors import ConfigError
from tailor.options import callable_id

Config = dict[str, Any]
"""One point of a search space: dimension name -> value, or list of values for repeated ones."""

_MAX_REJECTION_ROUNDS = 200


@dataclass(frozen=True)
class Choice:
    """One named dimension.

    Args:
        name: dimension name, the key in a ``Config``.
        values: the allowed values, in order (smallest first for ordered dimensions).
        repeat: ``None`` for a single value, or the number of blocks that each pick a value.
        ordered: whether the values are ordinal (kernel sizes, depths) rather than categorical.
    """

    name: str
    values: tuple
    repeat: int | None = None
    ordered: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        if not self.name or not isinstance(self.name, str):
            raise ConfigError("choice.name", "must be a non-empty string")
        if len(self.values) < 1:
            raise ConfigError(f"{self.name}.values", "must list at least one value")
        if len(set(map(_hashable, self.values))) != len(self.values):
            raise ConfigError(f"{self.name}.values", "must not repeat a value")
        if self.repeat is not None and (not isinstance(self.repeat, int) or self.repeat < 1):
            raise ConfigError(f"{self.name}.repeat", f"must be a positive integer, got {self.repeat!r}")

    @property
    def n_genes(self) -> int:
        return 1 if self.repeat is None else self.repeat


def _hashable(v: Any) -> Any:
    return json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else v


class SearchSpace:
    """A product of ``Choice`` dimensions, with optional validity and canonicalisation hooks.

    Args:
        choices: the dimensions.
        constraint: optional predicate; configurations for which it returns False are never
            sampled, mutated into, or accepted.
        canonicalize: optional map to a canonical form (e.g. set the kernels of blocks that a
            shallower depth skips to ``None``), so that equivalent configurations share a key and
            unused entries encode as a sentinel.
        features: optional map from a gene matrix to predictor features that know the space's
            structure (e.g. which cell edges are dead); ``encode_genes(kind="features")`` uses it
            and falls back to one-hot without it.
    """

    def __init__(
        self,
        choices: Sequence[Choice],
        constraint: Callable[[Config], bool] | None = None,
        canonicalize: Callable[[Config], Config] | None = None,
        features: Callable[[np.ndarray], np.ndarray] | None = None,
    ):
        names = [c.name for c in choices]
        if not choices:
            raise ConfigError("space", "needs at least one dimension")
        if len(set(names)) != len(names):
            raise ConfigError("space", "dimension names must be unique", names)
        self.choices: tuple[Choice, ...] = tuple(choices)
        self.constraint = constraint
        self.canonicalize = canonicalize
        self.features = features
        self._slices: dict[str, slice] = {}
        start = 0
        for c in self.choices:
            self._slices[c.name] = slice(start, start + c.n_genes)
            start += c.n_genes
        self.n_genes = start
        self.cardinalities = np.array(
            [len(c.values) for c in self.choices for _ in range(c.n_genes)], dtype=np.int64
        )
        self._lookup = {c.name: {_hashable(v): i for i, v in enumerate(c.values)} for c in self.choices}

    # ------------------------------------------------------------------ identity
    @property
    def size(self) -> int:
        """Number of configurations, ignoring the constraint."""
        return math.prod(int(k) for k in self.cardinalities)

    def describe(self) -> dict[str, Any]:
        """JSON-able description; also what ``from_dict`` reads."""
        return {
            "dimensions": [
                {"name": c.name, "values": list(c.values), "repeat": c.repeat, "ordered": c.ordered}
                for c in self.choices
            ]
        }

    def fingerprint(self) -> str:
        """Identity of the space: its dimensions and the code of its constraint and canonical form
        (a changed constraint changes which configurations exist, so a study must notice it)."""
        hooks = {"constraint": callable_id(self.constraint), "canonicalize": callable_id(self.canonicalize)}
        return hashlib.sha1(json.dumps({**self.describe(), **hooks}, sort_keys=True).encode()).hexdigest()[:16]

    def key(self, config: Config) -> str:
        """Stable identity of a configuration (of its canonical form): the dedupe key."""
        canon = self.canonical(config)
        return hashlib.sha1(json.dumps(canon, sort_keys=True).encode()).hexdigest()[:20]

    def identity(self, genes: np.ndarray) -> np.ndarray:
        """Fast dedupe ids for a gene matrix: two rows get the same id iff their keys are equal.

        Integer ids (mixed radix over canonical genes) when they fit in 62 bits, else row bytes.
        """
        genes = np.atleast_2d(genes)
        radix = self.cardinalities
        if self.canonicalize is not None:
            genes = np.stack([self._canonical_genes(g) for g in genes]) + 1
            radix = radix + 1
        if math.prod(int(r) for r in radix) < 2**62:
            mult = np.concatenate([np.cumprod(radix[::-1])[::-1][1:], [1]]).astype(np.int64)
            return genes.astype(np.int64) @ mult
        return np.array([row.tobytes() for row in genes.astype(np.int64)], dtype=object)

    def canonical(self, config: Config) -> Config:
        return self.canonicalize(dict(config)) if self.canonicalize else dict(config)

    # ------------------------------------------------------------------ conversion
    def validate(self, config: Mapping[str, Any]) -> Config:
        """Check a user-given configuration; raise ``ConfigError`` naming the bad field."""
        if not isinstance(config, Mapping):
            raise ConfigError("config", f"must be a mapping of dimension names, got {type(config).__name__}")
        extra = set(config) - set(self._slices)
        if extra:
            raise ConfigError("config", f"unknown dimension {sorted(extra)[0]!r}", self._slices)
        out: Config = {}
        for c in self.choices:
            if c.name not in config:
                raise ConfigError(f"config.{c.name}", "is missing")
            value = config[c.name]
            values = [value] if c.repeat is None else value
            if c.repeat is not None and (not isinstance(value, (list, tuple)) or len(value) != c.repeat):
                raise ConfigError(f"config.{c.name}", f"must be a list of {c.repeat} values")
            for i, v in enumerate(values):
                if _hashable(v) not in self._lookup[c.name]:
                    field = c.name if c.repeat is None else f"{c.name}[{i}]"
                    raise ConfigError(f"config.{field}", f"value {v!r} is not a choice", c.values)
            out[c.name] = value if c.repeat is None else list(value)
        if self.constraint is not None and not self.constraint(out):
            raise ConfigError("config", "violates the search space's constraint")
        return out

    def to_genes(self, config: Config) -> np.ndarray:
        """Config -> integer gene vector (choice indices)."""
        genes = np.empty(self.n_genes, dtype=np.int64)
        for c in self.choices:
            value = config[c.name]
            values = [value] if c.repeat is None else value
            lut = self._lookup[c.name]
            genes[self._slices[c.name]] = [lut[_hashable(v)] for v in values]
        return genes

    def from_genes(self, genes: np.ndarray) -> Config:
        """Integer gene vector -> Config."""
        config: Config = {}
        for c in self.choices:
            idx = genes[self._slices[c.name]]
            vals = [c.values[int(i)] for i in idx]
            config[c.name] = vals[0] if c.repeat is None else vals
        return config

    # ------------------------------------------------------------------ sampling and variation
    def is_valid(self, config: Config) -> bool:
        return self.constraint is None or bool(self.constraint(config))

    def _valid_mask(self, genes: np.ndarray) -> np.ndarray:
        if self.constraint is None:
            return np.ones(len(genes), dtype=bool)
        return np.array([self.is_valid(self.from_genes(g)) for g in genes], dtype=bool)

    def sample_genes(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` valid gene vectors drawn uniformly (rejection sampling under a constraint)."""
        out = np.empty((0, self.n_genes), dtype=np.int64)
        for _ in range(_MAX_REJECTION_ROUNDS):
            need = n - len(out)
            if need <= 0:
                break
            draw = rng.integers(0, self.cardinalities, size=(max(need, 16), self.n_genes))
            out = np.vstack([out, draw[self._valid_mask(draw)][:need]])
        if len(out) < n:
            raise ConfigError("space.constraint", "rejects nearly every sampled configuration")
        return out

    def sample(self, rng: np.random.Generator) -> Config:
        return self.from_genes(self.sample_genes(rng, 1)[0])

    def mutate_genes(self, genes: np.ndarray, rng: np.random.Generator, rate: float | None = None) -> np.ndarray:
        """Resample each gene with probability ``rate`` (default 1/n_genes); at least one changes.

        Works on a (n, n_genes) matrix; invalid children fall back to their parent.
        """
        genes = np.atleast_2d(genes)
        rate = 1.0 / self.n_genes if rate is None else rate
        flip = rng.random(genes.shape) < rate
        forced = rng.integers(0, self.n_genes, size=len(genes))
        flip[np.arange(len(genes)), forced] = True
        flip &= self.cardinalities[None, :] > 1
        # draw a *different* value: offset in 1..k-1 modulo k
        offset = rng.integers(1, np.maximum(self.cardinalities, 2)[None, :], size=genes.shape)
        child = np.where(flip, (genes + offset) % self.cardinalities[None, :], genes)
        ok = self._valid_mask(child)
        return np.where(ok[:, None], child, genes)

    def crossover_genes(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Uniform crossover of two (n, n_genes) matrices; invalid children fall back to ``a``."""
        a, b = np.atleast_2d(a), np.atleast_2d(b)
        take_b = rng.random(a.shape) < 0.5
        child = np.where(take_b, b, a)
        ok = self._valid_mask(child)
        return np.where(ok[:, None], child, a)

    def neighbour_genes(self, genes: np.ndarray) -> np.ndarray:
        """Every valid gene vector that differs from a row of ``genes`` in exactly one gene."""
        genes = np.atleast_2d(genes)
        out = [np.empty((0, self.n_genes), dtype=np.int64)]
        for j, k in enumerate(self.cardinalities):
            for offset in range(1, int(k)):
                child = genes.copy()
                child[:, j] = (child[:, j] + offset) % k
                out.append(child)
        every = np.vstack(out)
        return every[self._valid_mask(every)]

    def mutate(self, config: Config, rng: np.random.Generator, rate: float | None = None) -> Config:
        return self.from_genes(self.mutate_genes(self.to_genes(config), rng, rate)[0])

    def crossover(self, a: Config, b: Config, rng: np.random.Generator) -> Config:
        return self.from_genes(self.crossover_genes(self.to_genes(a), self.to_genes(b), rng)[0])

    def enumerate_genes(self, limit: int = 100_000) -> np.ndarray | None:
        """Every valid gene vector, or ``None`` if the space holds more than ``limit``."""
        if self.size > limit:
            return None
        grids = np.meshgrid(*[np.arange(k) for k in self.cardinalities], indexing="ij")
        genes = np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
        return genes[self._valid_mask(genes)]

    def extreme(self, which: str) -> Config:
        """The configuration taking every dimension's first ('min') or last ('max') value.

        With values declared smallest first, these are the smallest and largest sub-networks
        (the sandwich rule's ends).
        """
        if which not in ("min", "max"):
            raise ConfigError("which", f"got {which!r}", ["min", "max"])
        genes = np.zeros(self.n_genes, dtype=np.int64) if which == "min" else self.cardinalities - 1
        return self.from_genes(genes)

    # ------------------------------------------------------------------ encodings for predictors
    def encode_genes(self, genes: np.ndarray, kind: str = "onehot") -> np.ndarray:
        """Fixed-length features for predictors.

        ``onehot``: one column per (gene, value); ``ordinal``: one column per gene, value index
        scaled to [0, 1]. With a ``canonicalize`` hook, entries it sets to ``None`` become the
        sentinel (all-zero one-hot, -1 ordinal).
        """
        genes = np.atleast_2d(genes)
        if kind == "features":
            if self.features is not None:
                return np.asarray(self.features(genes), dtype=np.float32)
            kind = "onehot"
        if self.canonicalize is not None:
            genes = np.stack([self._canonical_genes(g) for g in genes])
        if kind == "onehot":
            offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]])
            out = np.zeros((len(genes), int(self.cardinalities.sum())), dtype=np.float32)
            rows, cols = np.nonzero(genes >= 0)
            out[rows, offsets[cols] + genes[rows, cols]] = 1.0
            return out
        if kind == "ordinal":
            denom = np.maximum(self.cardinalities - 1, 1)
            return np.where(genes >= 0, genes / denom, -1.0).astype(np.float32)
        raise ConfigError("encoding", f"unknown encoding {kind!r}", ["features", "onehot", "ordinal"])

    def encode(self, configs: Sequence[Config], kind: str = "onehot") -> np.ndarray:
        return self.encode_genes(np.stack([self.to_genes(c) for c in configs]), kind)

    def _canonical_genes(self, genes: np.ndarray) -> np.ndarray:
        canon = self.canonical(self.from_genes(genes))
        out = genes.copy()
        for c in self.choices:
            value = canon[c.name]
            values = [value] if c.repeat is None else value
            lut = self._lookup[c.name]
            out[self._slices[c.name]] = [-1 if v is None else lut[_hashable(v)] for v in values]
        return out

    # ------------------------------------------------------------------ files
    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> SearchSpace:
        """Build from ``{"dimensions": [{"name", "values", "repeat"?, "ordered"?}, ...]}``."""
        dims = spec.get("dimensions") if isinstance(spec, Mapping) else None
        if not isinstance(dims, list) or not dims:
            raise ConfigError("dimensions", "must be a non-empty list")
        choices = []
        allowed = {"name", "values", "repeat", "ordered"}
        for i, d in enumerate(dims):
            if not isinstance(d, Mapping):
                raise ConfigError(f"dimensions[{i}]", "must be a mapping")
            unknown = set(d) - allowed
            if unknown:
                raise ConfigError(f"dimensions[{i}]", f"unknown key {sorted(unknown)[0]!r}", sorted(allowed))
            if "name" not in d or "values" not in d:
                raise ConfigError(f"dimensions[{i}]", "needs 'name' and 'values'")
            choices.append(Choice(d["name"], tuple(d["values"]), d.get("repeat"), bool(d.get("ordered", False))))
        return cls(choices)

    @classmethod
    def from_file(cls, path: str | Path) -> SearchSpace:
        """Read a YAML or JSON file in the ``from_dict`` layout."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError("space", f"file not found: {path}")
        text = path.read_text()
        if path.suffix in (".yaml", ".yml"):
            import yaml

            spec = yaml.safe_load(text)
        else:
            spec = json.loads(text)
        return cls.from_dict(spec)

    def __repr__(self) -> str:
        dims = ", ".join(
            f"{c.name}{'' if c.repeat is None else f'[{c.repeat}]'}:{len(c.values)}" for c in self.choices
        )
        return f"SearchSpace({dims}; size={self.size})"
