import itertools

import numpy as np
import pytest

from tailor.problems.nb201 import NB201_OPS, arch_string


@pytest.fixture(scope="session")
def synthetic_table(tmp_path_factory) -> str:
    """An NB201-format table of all 15,625 cells with made-up accuracy/latency (no shared data)."""
    rng = np.random.default_rng(0)
    w_acc = rng.normal(0, 1, (6, 5))
    w_lat = np.abs(rng.normal(1, 0.5, (6, 5)))
    lines = ["index,arch,acc,lat_a,lat_b,note"]
    for i, ops in enumerate(itertools.product(range(5), repeat=6)):
        acc = 89 + 0.9 * sum(w_acc[e, o] for e, o in enumerate(ops))
        lat = sum(w_lat[e, o] for e, o in enumerate(ops))
        arch = arch_string({"op": [NB201_OPS[o] for o in ops]})
        lines.append(f"{i},{arch},{acc:.4f},{lat:.4f},{lat * 1.7 + 0.3:.4f},x")
    path = tmp_path_factory.mktemp("nb201") / "table.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)
