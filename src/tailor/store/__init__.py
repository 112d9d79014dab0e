"""Persistence only: studies and trials, SQLite by default, any SQLAlchemy URL otherwise."""

from tailor.store._records import COMPLETE, FAIL, STATES, WAITING, StudyRecord, TrialRecord
from tailor.store._sql import SQLStore, storage_url


def open_store(study: str) -> SQLStore:
    """Open the store behind a file path (SQLite) or a SQLAlchemy URL (``sqlite://`` = in memory)."""
    return SQLStore(storage_url(study))


__all__ = [
    "COMPLETE", "FAIL", "STATES", "WAITING", "SQLStore", "StudyRecord", "TrialRecord",
    "open_store", "storage_url",
]
