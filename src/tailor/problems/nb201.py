"""NAS-Bench-201 as a ground-truth problem: an evaluation is a look-up in a measured table.

The table is any CSV with an architecture column in NAS-Bench-201 notation
(``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``) and numeric accuracy / latency columns.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tailor.errors import ConfigError
from tailor.measure import Evaluator
from tailor.objectives import Objective
from tailor.problems._problem import Problem
from tailor.problems._registry import BuildContext, register_problem
from tailor.space import Choice, Config, SearchSpace

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NB201_EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to-node, from-node), table order
DEFAULT_TABLE_ENV = "TAILOR_NB201_TABLE"


NB201_PATHS = ((3,), (0, 4), (1, 5), (0, 2, 5))  # edge indexes of the four input-to-output paths


def nb201_space() -> SearchSpace:
    """Six edges, each one of five ops: 5**6 = 15,625 cells; features know about dead edges
    and about the op sequences on the cell's paths (``path_features``)."""
    return SearchSpace([Choice("op", NB201_OPS, repeat=len(NB201_EDGES))], features=path_features)


def live_edges(genes: np.ndarray) -> np.ndarray:
    """(n, 6) mask of edges on some input-to-output path of non-``none`` edges.

    An op on any other edge never influences the output (and is pruned when the cell is
    compiled), so predictors should see it as ``none``.
    """
    genes = np.atleast_2d(genes)
    on = genes != NB201_OPS.index("none")
    n = len(genes)
    reach_in = np.zeros((n, 4), dtype=bool)  # node reachable from the input node 0
    reach_in[:, 0] = True
    for e, (dst, src) in enumerate(NB201_EDGES):  # edges are in topological order
        reach_in[:, dst] |= reach_in[:, src] & on[:, e]
    reach_out = np.zeros((n, 4), dtype=bool)  # node reaches the output node 3
    reach_out[:, 3] = True
    for e, (dst, src) in reversed(list(enumerate(NB201_EDGES))):
        reach_out[:, src] |= reach_out[:, dst] & on[:, e]
    src = np.array([s for _, s in NB201_EDGES])
    dst = np.array([d for d, _ in NB201_EDGES])
    return on & reach_in[:, src] & reach_out[:, dst]


def live_edge_onehot(genes: np.ndarray) -> np.ndarray:
    """Raw one-hot, one-hot with dead edges set to ``none``, and a 'cell is connected' bit.

    Accuracy follows the live graph; measured latency can still depend on the raw ops.
    """
    genes = np.atleast_2d(genes)
    live = live_edges(genes)
    eff = np.where(live, genes, NB201_OPS.index("none"))
    k = len(NB201_OPS)
    onehot = np.zeros((len(genes), genes.shape[1] * k), dtype=np.float32)
    rows = np.repeat(np.arange(len(genes)), genes.shape[1])
    cols = (np.arange(genes.shape[1]) * k)[None, :].repeat(len(genes), 0).ravel() + eff.ravel()
    onehot[rows, cols] = 1.0
    raw = np.zeros_like(onehot)
    raw[rows, cols - eff.ravel() + genes.ravel()] = 1.0
    return np.hstack([raw, onehot, live.any(axis=1, keepdims=True).astype(np.float32)])


def path_features(genes: np.ndarray) -> np.ndarray:
    """``live_edge_onehot``, plus a one-hot of the op sequence on each input-to-output path
    (all zero while a ``none`` cuts the path) and the count of each live op, divided by 6.

    A cell computes the sum of its paths, so what a path does (conv3x3 then pooling, say) matters
    more than which op sits on which edge. Held out, they lift tree models' ranking most and the
    MLP ensemble's a little; with the front-neighbour pick they are what makes the default
    tactic reach 0.99 on every NB201 column (docs/benchmarks.md, section 1).
    """
    genes = np.atleast_2d(genes)
    live = live_edges(genes)
    none = NB201_OPS.index("none")
    k = len(NB201_OPS) - 1  # ops other than none, coded 0..k-1
    code = genes - (genes > none)
    blocks = [live_edge_onehot(genes)]
    for path in NB201_PATHS:
        onehot = np.zeros((len(genes), k ** len(path)), dtype=np.float32)
        open_ = (genes[:, path] != none).all(axis=1)
        index = np.zeros(len(genes), dtype=np.int64)
        for e in path:
            index = index * k + code[:, e]
        onehot[np.flatnonzero(open_), index[open_]] = 1.0
        blocks.append(onehot)
    live_ops = np.where(live, genes, none)
    counts = np.stack([(live_ops == op).sum(axis=1) for op in range(len(NB201_OPS)) if op != none], axis=1)
    blocks.append(counts.astype(np.float32) / len(NB201_EDGES))
    return np.hstack(blocks)


NB201_FEATURES = {"edges": live_edge_onehot, "paths": path_features}  # the space's default: paths


def arch_string(config: Config) -> str:
    ops = config["op"]
    nodes = []
    for node in (1, 2, 3):
        nodes.append("|" + "|".join(f"{ops[i]}~{src}" for i, (dst, src) in enumerate(NB201_EDGES) if dst == node) + "|")
    return "+".join(nodes)


def parse_arch(text: str) -> list[str]:
    """``|a~0|+|b~0|c~1|+...`` -> [a, b, c, ...] in edge order; ValueError if malformed."""
    ops = []
    for node, part in enumerate(str(text).split("+"), start=1):
        tokens = [t for t in part.strip().split("|") if t]
        if len(tokens) != node:
            raise ValueError(f"node {node} has {len(tokens)} inputs, expected {node}")
        for src, token in enumerate(tokens):
            op, _, s = token.partition("~")
            if op not in NB201_OPS or s != str(src):
                raise ValueError(f"bad edge {token!r}")
            ops.append(op)
    if len(ops) != len(NB201_EDGES):
        raise ValueError(f"{len(ops)} edges, expected {len(NB201_EDGES)}")
    return ops


def default_table() -> Path | None:
    """$TAILOR_NB201_TABLE, else the shared benchmark table beside the checkout, if present."""
    env = os.environ.get(DEFAULT_TABLE_ENV)
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared/benchmarks/nb201/nb201_cifar10_latency.csv" for p in here.parents]
    return next((p for p in candidates if p.is_file()), None)


def resolve_table(table: str | Path | None) -> Path:
    """The given table, or the default one; a clear error when there is none."""
    if table is not None:
        return Path(table)
    found = default_table()
    if found is None:
        raise ConfigError("table", f"no NAS-Bench-201 table found; pass --table PATH or set ${DEFAULT_TABLE_ENV}")
    return found


def split_columns(latency_column: str | Sequence[str]) -> list[str]:
    """``"a+b+c"`` (or a sequence of names) -> the latency columns of one problem, in order."""
    names = latency_column.split("+") if isinstance(latency_column, str) else list(latency_column)
    return [c.strip() for c in names if c.strip()]


class TableEvaluator(Evaluator):
    """Looks configurations up in a table. Metrics: ``accuracy`` (max) and, per latency column,
    ``latency_ms`` (one column) or the column's own name (several: a multi-objective problem)."""

    metrics = {"accuracy": "max", "latency_ms": "min"}
    expensive = True

    def __init__(self, table: str | Path, accuracy_column: str, latency_column: str | Sequence[str],
                 arch_column: str = "arch"):
        path = Path(table)
        if not path.is_file():
            raise ConfigError("table", f"file not found: {path}")
        try:
            df = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise ConfigError("table", f"not a readable CSV ({str(e).splitlines()[0]}): {path}") from e
        columns = list(df.columns)
        if arch_column not in df.columns:
            raise ConfigError("arch_column", f"{arch_column!r} is not a column of {path.name}", columns)
        numeric = [c for c in columns if c != arch_column and pd.api.types.is_numeric_dtype(df[c])]
        latency_columns = split_columns(latency_column)
        if not latency_columns:
            raise ConfigError("latency_column", "names no column", numeric)
        if len(set(latency_columns)) < len(latency_columns):
            raise ConfigError("latency_column", f"names a column twice: {'+'.join(latency_columns)}")
        for field, col in (("accuracy_column", accuracy_column), *(("latency_column", c) for c in latency_columns)):
            if col not in numeric:
                raise ConfigError(field, f"{col!r} is not a numeric column of {path.name}", numeric)
        self.latency_metrics = ["latency_ms"] if len(latency_columns) == 1 else latency_columns
        self.metrics = {"accuracy": "max", **{m: "min" for m in self.latency_metrics}}
        self._rows: dict[tuple[str, ...], tuple[float, ...]] = {}
        values = df[[accuracy_column, *latency_columns]].to_numpy(dtype=float)
        for i, (arch, row) in enumerate(zip(df[arch_column], values, strict=True)):
            try:
                ops = tuple(parse_arch(arch))
            except ValueError as e:
                raise ConfigError("table", f"row {i + 2}: arch {arch!r}: {e}") from e
            self._rows[ops] = tuple(float(v) for v in row)
        self.path, self.accuracy_column, self.latency_columns = path, accuracy_column, latency_columns
        self.latency_column = "+".join(latency_columns)

    def __len__(self) -> int:
        return len(self._rows)

    def evaluate(self, configs: Sequence[Config]) -> list[dict[str, float]]:
        out = []
        for c in configs:
            row = self._rows.get(tuple(c["op"]))
            if row is None:
                raise KeyError(f"architecture {arch_string(c)} is not in the table")
            out.append({"accuracy": row[0], **dict(zip(self.latency_metrics, row[1:], strict=True))})
        return out

    def objective_vector(self, metrics: dict[str, float]) -> list[float]:
        """(100 - accuracy, latency...) of one measurement: the point that scoring places."""
        return [100.0 - metrics["accuracy"], *(metrics[m] for m in self.latency_metrics)]

    def all_objectives(self) -> np.ndarray:
        """(n, 1 + latency columns) array of (100 - accuracy, latency...) for every row: the ground
        truth for scoring."""
        F = np.array(list(self._rows.values()))
        F[:, 0] = 100.0 - F[:, 0]
        return F

    def fingerprint(self) -> str:
        return f"table:{self.path.name}:{self.accuracy_column}:{self.latency_column}"


@dataclass(frozen=True)
class NB201Options:
    """``table``: the CSV (default ``$TAILOR_NB201_TABLE`` or the shared table); the accuracy
    (%, maximised) and latency (minimised) columns to search. ``latency_column`` may join several
    columns with ``+`` (``latency_ms_pixel3+latency_ms_gold_6226``): one objective per device."""

    table: str | None = None
    accuracy_column: str = "cifar10_test_acc"
    latency_column: str = "latency_ms_pixel3"


@register_problem("nb201", NB201Options, "NAS-Bench-201 table: accuracy vs one or more devices' latency, looked up")
def build_nb201(options: NB201Options, context: BuildContext) -> Problem:
    return nb201_problem(options.table, options.accuracy_column, options.latency_column)


def nb201_problem(table: str | Path | None = None, accuracy_column: str = "cifar10_test_acc",
                  latency_column: str | Sequence[str] = "latency_ms_pixel3") -> Problem:
    """Maximise accuracy, minimise latency (on each device named, ``+``-joined) over the NB201
    cells, looked up in ``table``."""
    table = resolve_table(table)
    evaluator = TableEvaluator(table, accuracy_column, latency_column)
    return Problem(
        name="nb201",
        space=nb201_space(),
        evaluators=[evaluator],
        objectives=[Objective("accuracy", "max"), *(Objective(m, "min") for m in evaluator.latency_metrics)],
        settings={"table_file": Path(table).name},
    )
