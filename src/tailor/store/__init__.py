"""Persistence only: studies and trials, SQLite by default, any SQLAlchemy URL otherwise."""

from tailor.store._records import COMPLETE, FAIL, STATES, WAITING, StudyRecord, TrialRecord
from tailor.store._sql import SQLStore, storage_url


def open_store(study: str) -> SQLStore:
    """Open the store behind a file path (SQLite) or a SQLAlchemy URL (``sqlite://`` = in memory)."""
    return SQLStore(storage_url(study))


def open_existing_store(study: str) -> SQLStore:
    """``open_store`` for reading a study: a path that is no file is an error, not a new empty store."""
    from pathlib import Path

    from tailor.errors import ConfigError

    if "://" not in study and not Path(study).is_file():
        raise ConfigError("study", f"file not found: {study}")
    return open_store(study)


__all__ = [
    "COMPLETE", "FAIL", "STATES", "WAITING", "SQLStore", "StudyRecord", "TrialRecord",
    "open_existing_store", "open_store", "storage_url",
]
