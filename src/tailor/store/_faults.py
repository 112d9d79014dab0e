"""Faults of the file system or the database, turned into one line that names the store and the cause.

The store catches what SQLAlchemy, the database driver and the OS raise while it works on a
study and raises a :class:`StoreError` instead (a ``ConfigError`` on the field ``study``): the CLI
prints it as ``tailor: error: study: <where>: <what> (<cause>)...`` and exits 2. SQLite errors are
classified by their result code, not their text.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from tailor.errors import ConfigError

SQLITE_MAGIC = b"SQLite format 3\x00"
DAMAGED_ADVICE = "restore a copy or start another study file"
# How a write-time fault leaves the study: each finished trial was committed on its own.
RESUMABLE = "every finished trial is kept: fix this and rerun to resume"

# SQLite primary result codes (https://sqlite.org/rescode.html) -> what went wrong.
_ERROR, _PERM, _BUSY, _LOCKED, _NOMEM, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN = 1, 3, 5, 6, 7, 8, 10, 11, 13, 14
_CONSTRAINT, _NOTADB = 19, 26
READONLY, BUSY = _READONLY, _BUSY


class StoreError(ConfigError):
    """A store fault, as one line; ``kind`` says which ('damaged', 'readonly', 'full', ...)."""

    def __init__(self, kind: str, why: str):
        self.kind = kind
        super().__init__("study", why)


class Damage(Exception):
    """Raised inside the store when stored data fails a check; the store reports it as ``damaged``."""


def damaged(where: str, what: str) -> StoreError:
    return StoreError("damaged", f"{where}: damaged ({what}); {DAMAGED_ADVICE}")


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def os_cause(e: OSError) -> str:
    """'File name too long', 'Not a directory', ...: the OS's words without the errno and path."""
    return e.strerror or first_line(e)


def path_fault(path: Path, e: OSError) -> StoreError:
    if e.errno == errno.ENOSPC:
        return StoreError("full", f"{path}: disk full ({os_cause(e)}); {RESUMABLE}")
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreError("readonly", f"{path}: read-only ({os_cause(e)})")
    return StoreError("os", f"{path}: {os_cause(e)}")


def store_fault(where: str, path: Path | None, e: BaseException, doing: str) -> StoreError:
    """The one-line error for exception ``e`` raised while ``doing`` something with the store."""
    if isinstance(e, OSError):
        return path_fault(path or Path(where), e)
    orig = e.orig if isinstance(e, DBAPIError) else None
    cause = first_line(orig if orig is not None else e)
    code = sqlite_code(orig) if isinstance(orig, sqlite3.Error) else None
    if isinstance(orig, sqlite3.Error) and code is None and "UTF-8" in cause:
        return damaged(where, "text that is not UTF-8")  # pysqlite's own decoding error, no result code
    if not isinstance(orig, sqlite3.Error) or code is None:
        if isinstance(e, SQLAlchemyError) and orig is None:
            cause = first_line(e)
        return StoreError("db", f"{where}: {cause} while {doing}")
    if code == _NOTADB:
        if path is not None and not _has_sqlite_header(path):
            return StoreError("notadb", f"{where}: not a study file ({cause})")
        return damaged(where, cause)
    if code in (_CORRUPT, _ERROR, _CONSTRAINT):
        # The store only runs SQL that is valid for its own schema (checked on open), and values that
        # satisfy its constraints: an SQL error or a refused value means the file is not as written.
        return damaged(where, cause)
    if code == _FULL:
        return StoreError("full", f"{where}: disk full ({cause}) while {doing}; {RESUMABLE}")
    if code == _READONLY:
        why = _write_probe(path) if path is not None else None
        cause = f"{cause}; {why}" if why else cause
        return StoreError("readonly", f"{where}: read-only ({cause}) while {doing}")
    if code == _CANTOPEN:
        why = _open_probe(path) if path is not None else None
        return StoreError("cantopen", f"{where}: cannot open ({cause}{'; ' + why if why else ''})")
    if code in (_BUSY, _LOCKED):
        return StoreError("busy", f"{where}: locked by another process ({cause}) while {doing}; retry later")
    if code == _IOERR:
        return StoreError("io", f"{where}: I/O error ({cause}) while {doing}; {RESUMABLE}")
    if code in (_PERM, _NOMEM):
        return StoreError("os", f"{where}: {cause} while {doing}")
    return StoreError("db", f"{where}: {cause} while {doing}")


# SQLite's own text for a primary result code (sqlite3_errstr), for Python < 3.11 whose sqlite3
# errors do not carry the code.
_ERRSTR = {"SQL logic error": _ERROR, "access permission denied": _PERM, "database is locked": _BUSY,
           "database table is locked": _LOCKED, "out of memory": _NOMEM,
           "attempt to write a readonly database": _READONLY, "disk I/O error": _IOERR,
           "database disk image is malformed": _CORRUPT, "database or disk is full": _FULL,
           "unable to open database file": _CANTOPEN, "file is not a database": _NOTADB}


def sqlite_code(e: sqlite3.Error) -> int | None:
    """The primary SQLite result code of a sqlite3 error (None: not from SQLite, e.g. a decoding error)."""
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    text = str(e)
    return next((c for s, c in _ERRSTR.items() if text.startswith(s)), None)


def _has_sqlite_header(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _write_probe(path: Path) -> str | None:
    """Why the file or its folder cannot be written, in the OS's words (None if it can)."""
    try:
        with open(path, "r+b"):
            pass
    except OSError as e:
        return f"the file: {os_cause(e)}"
    return dir_probe(path.parent)


def _open_probe(path: Path) -> str | None:
    """Why SQLite could not open ``path``: the OS's view of the file and its folder."""
    try:
        if path.is_dir():
            return "it is a directory, expected a study file"
        parent = path.parent
        if not parent.exists():
            for up in parent.parents:
                if up.exists():
                    return f"{up} is not a directory" if not up.is_dir() else f"folder {parent} does not exist"
            return f"folder {parent} does not exist"
        if not parent.is_dir():
            return f"{parent} is not a directory"
        if path.exists():
            with open(path, "rb"):
                pass
    except OSError as e:
        return os_cause(e)
    return dir_probe(path.parent)


def dir_probe(folder: Path) -> str | None:
    """SQLite in WAL mode creates files beside the study: can it?"""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".tailor-probe-")
    except OSError as e:
        return f"its folder: {os_cause(e)}"
    os.close(fd)
    os.unlink(name)
    return None
