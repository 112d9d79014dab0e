import os

import pytest
import torch

# Tiny models on a shared 2-core machine: more threads only add contention.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")

SHARED_NB201 = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "benchmarks", "nb201",
                            "nb201_cifar10_latency.csv")


@pytest.fixture
def nb201_table() -> str:
    """The shared NAS-Bench-201 table; tests using it skip with a reason when it is absent."""
    path = os.environ.get("TAILOR_NB201_TABLE", SHARED_NB201)
    if not os.path.isfile(path):
        pytest.skip(f"NAS-Bench-201 table not found at {path} (set TAILOR_NB201_TABLE)")
    return path


@pytest.fixture(scope="session")
def postgresql_server():
    """A real PostgreSQL server for the session (initdb + pg_ctl on a temporary folder, loopback only);
    skips with the reason when the Debian package is not installed."""
    from tailor.testing.postgres import TempPostgres, missing

    why = missing()
    if why:
        pytest.skip(why)
    server = TempPostgres()
    server.start()
    yield server
    server.stop()
