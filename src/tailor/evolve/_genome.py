"""Seed-chain genomes (Such et al. 2017): an individual is the seed of its initial weights plus the
(seed, sigma) of every mutation since, so it travels as a few bytes and its weights are rebuilt
exactly on any machine: each seed drives its own ``numpy`` generator, no shared noise table."""

from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

SEED_BOUND = 2**31  # seeds are drawn in [0, 2**31): they pack into 4 bytes


@dataclass(frozen=True)
class Genome:
    """``init_seed`` and the mutations ``((seed, sigma), ...)`` applied in order."""

    init_seed: int
    mutations: tuple[tuple[int, float], ...] = ()

    def child(self, seed: int, sigma: float) -> Genome:
        return Genome(self.init_seed, (*self.mutations, (int(seed), float(sigma))))

    @property
    def parent(self) -> Genome | None:
        return Genome(self.init_seed, self.mutations[:-1]) if self.mutations else None

    def to_json(self) -> dict[str, Any]:
        return {"init_seed": self.init_seed, "mutations": [[s, sg] for s, sg in self.mutations]}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Genome:
        return Genome(int(data["init_seed"]), tuple((int(s), float(sg)) for s, sg in data["mutations"]))

    def packed(self) -> bytes:
        """The genome as sent: a uint32 seed, then uint32 seed + float32 sigma per mutation."""
        out = [struct.pack("<I", self.init_seed)]
        out += [struct.pack("<If", s, sg) for s, sg in self.mutations]
        return b"".join(out)

    @property
    def nbytes(self) -> int:
        return 4 + 8 * len(self.mutations)


def noise(seed: int, size: int) -> np.ndarray:
    """The standard-normal float32 vector of one seed (same on every machine: PCG64 + ziggurat)."""
    return np.random.default_rng(seed).standard_normal(size, dtype=np.float32)


def initial_params(seed: int, scales: np.ndarray) -> np.ndarray:
    """Initial weights: one normal draw per parameter times its layer's scale (0 for biases)."""
    return noise(seed, scales.size) * scales


def rebuild(genome: Genome, scales: np.ndarray) -> np.ndarray:
    """The weights of ``genome`` from its seeds alone."""
    theta = initial_params(genome.init_seed, scales)
    for seed, sigma in genome.mutations:
        theta += np.float32(sigma) * noise(seed, theta.size)
    return theta


class ParamCache:
    """Worker-side LRU of rebuilt weights: a child whose parent is cached costs one noise draw and
    one vector add; otherwise the longest cached prefix of its chain is extended."""

    def __init__(self, scales: np.ndarray, budget_bytes: int = 256 * 2**20):
        self.scales = scales
        self.capacity = max(8, budget_bytes // max(1, scales.nbytes))
        self._cache: OrderedDict[Genome, np.ndarray] = OrderedDict()
        self.hits = 0  # children built from a cached parent (or the genome itself cached)
        self.adds = 0  # noise vectors added in total

    def get(self, genome: Genome) -> np.ndarray:
        found = self._cache.get(genome)
        if found is not None:
            self._cache.move_to_end(genome)
            self.hits += 1
            return found
        chain: list[Genome] = []
        g: Genome | None = genome
        while g is not None and g not in self._cache:
            chain.append(g)
            g = g.parent
        if g is None:
            theta = initial_params(chain[-1].init_seed, self.scales)
            chain.pop()
        else:
            theta = self._cache[g]
            if len(chain) == 1:
                self.hits += 1
        for step in reversed(chain):
            seed, sigma = step.mutations[-1]
            theta = theta + np.float32(sigma) * noise(seed, theta.size)
            self.adds += 1
        self._put(genome, theta)
        return theta

    def _put(self, genome: Genome, theta: np.ndarray) -> None:
        theta.setflags(write=False)
        self._cache[genome] = theta
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
