"""A throw-away PostgreSQL server for tests and benchmarks: the Debian package's ``initdb`` and
``pg_ctl`` on a temporary folder, trust authentication, loopback TCP and a private socket folder.

PostgreSQL refuses to run as root; as root the server runs as the ``postgres`` user (or
``nobody``), which then owns the temporary folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

USER = "tailor"  # the database superuser initdb creates (trust authentication: no password)


def find_bin(name: str) -> str | None:
    """``initdb``/``pg_ctl`` on PATH, else in the newest /usr/lib/postgresql/*/bin (Debian keeps them there)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                      key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return versions[-1] if versions else None


def missing() -> str | None:
    """Why no server can be started here (None: one can)."""
    for name in ("initdb", "pg_ctl"):
        if find_bin(name) is None:
            return f"PostgreSQL's {name} not found (install the Debian package 'postgresql')"
    if os.geteuid() == 0 and _run_as() is None:
        return "running as root and neither user 'postgres' nor 'nobody' exists to run PostgreSQL"
    return None


def _run_as() -> pwd.struct_passwd | None:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempPostgres:
    """``start()`` a server, ``database()`` for a fresh empty database URL, ``stop()`` removes everything."""

    def __init__(self, fsync: bool = False):
        self.fsync = fsync
        self.root: Path | None = None
        self.port = 0

    def _run(self, *args: str, timeout: float = 120) -> None:
        kw: dict = {}
        if os.geteuid() == 0:
            user = _run_as()
            assert user is not None
            kw = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        res = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, cwd=self.root, **kw)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {(res.stderr or res.stdout).strip()[-800:]}")

    def start(self) -> str:
        """Start the server; the URL of its ``postgres`` database."""
        why = missing()
        if why:
            raise RuntimeError(why)
        self.root = Path(tempfile.mkdtemp(prefix="tailor-pg-"))
        if os.geteuid() == 0:
            user = _run_as()
            assert user is not None
            os.chown(self.root, user.pw_uid, user.pw_gid)
        data, sock = self.root / "data", self.root / "sock"
        self._run(find_bin("initdb"), "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8", "--locale=C",
                  "--no-sync")
        sock.mkdir()
        if os.geteuid() == 0:
            os.chown(sock, user.pw_uid, user.pw_gid)
        self.port = free_port()
        options = f"-k {sock} -h 127.0.0.1 -p {self.port} -c max_connections=200"
        if not self.fsync:
            options += " -F"
        self._run(find_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w",
                  "-t", "60", "start")
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new empty database on the server; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, dbname="postgres",
                             autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        if self.root is None:
            return
        with contextlib.suppress(Exception):
            self._run(find_bin("pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop",
                      timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None


@contextlib.contextmanager
def temp_postgres(fsync: bool = False) -> Iterator[TempPostgres]:
    server = TempPostgres(fsync)
    try:
        server.start()
        yield server
    finally:
        server.stop()


__all__ = ["TempPostgres", "find_bin", "free_port", "missing", "temp_postgres"]
