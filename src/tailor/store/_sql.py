"""The study store: SQLite by default, any SQLAlchemy URL (e.g. PostgreSQL) when users outgrow it.

Every method runs in its own transaction, so a finished evaluation is either fully stored or not
at all, whatever happens to the process (``kill -9`` included) or the disk (full, read-only).

The store checks its own integrity rather than trusting the file: on open, SQLite's
``PRAGMA quick_check`` and the schema; on every read, each row of the study (state, JSON, numbering,
checksum; see ``_checks``). A damaged study is refused with one line
(``study: <path>: damaged (<what>); ...``) instead of being miscounted or silently resumed from a
wrong history, and so is every fault of the file system or the database (``_faults``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from tailor.errors import ConfigError
from tailor.store._checks import (
    STUDY_SUMMED,
    TRIAL_SUMMED,
    checksum,
    sequence_problems,
    study_problems,
    to_study,
    to_trial,
    trial_problems,
)
from tailor.store._faults import (
    BUSY,
    READONLY,
    Damage,
    StoreError,
    damaged,
    dir_probe,
    first_line,
    path_fault,
    sqlite_code,
    store_fault,
)
from tailor.store._records import COMPLETE, FAIL, STATES, WAITING, StudyRecord, TrialRecord

log = logging.getLogger(__name__)

NAME_MAX = 200  # studies.name
BUSY_TIMEOUT_MS = 30_000  # how long SQLite waits for another process's lock before "database is locked"
KEY_MAX = 64  # trials.config_key and trials.tactic
OWNER_MAX = 128  # trials.owner and trials.worker
CONNECT_TIMEOUT_S = 10  # a database server that does not answer: an error after this long, not a hang
# Every write transaction on a server database takes this advisory lock first: writers then run one
# after another, as SQLite's BEGIN IMMEDIATE makes them, whatever the isolation level.
WRITE_LOCK_KEY = 0x7461696C6F72  # "tailor"

STATE_CHECK = f"state IN ({', '.join(repr(s) for s in STATES)})"

_meta = sa.MetaData()
studies = sa.Table(
    "studies",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(NAME_MAX), nullable=False, unique=True),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    # Added in stores written since checksums exist (older ones get them on first open, see _upgrade).
    sa.Column("n_trials", sa.Integer, nullable=True),
    sa.Column("checksum", sa.String(16), nullable=True),
)
trials = sa.Table(
    "trials",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study_id", sa.Integer, sa.ForeignKey("studies.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("batch", sa.Integer, nullable=False),
    sa.Column("config_key", sa.String(KEY_MAX), nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("metrics", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("duration_s", sa.Float, nullable=True),
    sa.Column("tactic", sa.String(KEY_MAX), nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("finished", sa.Float, nullable=True),
    sa.Column("checksum", sa.String(16), nullable=True),
    # Leases (stores written since several processes share a study; older ones get them on open).
    # Not covered by the checksum: they change with every heartbeat and say who works, not what was found.
    sa.Column("owner", sa.String(OWNER_MAX), nullable=True),
    sa.Column("worker", sa.String(OWNER_MAX), nullable=True),
    sa.Column("claimed", sa.Float, nullable=True),
    sa.Column("lease_until", sa.Float, nullable=True),
    sa.UniqueConstraint("study_id", "config_key", name="uq_study_config"),
    sa.UniqueConstraint("study_id", "number", name="uq_study_number"),
    sa.CheckConstraint(STATE_CHECK, name="ck_trial_state"),
)
# Columns that stores written before checksums lack.
_ADDED = {"studies": ("n_trials", "checksum"), "trials": ("checksum",)}
# Columns that stores written before leases lack.
_LEASE = ("owner", "worker", "claimed", "lease_until")
# Statements built once: SQLAlchemy reuses their compiled form, the values go in as parameters.
_SEAL_TRIAL = trials.update().where(trials.c.id == sa.bindparam("tid")).values(checksum=sa.bindparam("sum"))
_FINISH_TRIAL = trials.update().where(trials.c.id == sa.bindparam("tid"), trials.c.state == WAITING)
_CLAIM_TRIAL = trials.update().where(trials.c.id == sa.bindparam("tid"), trials.c.state == WAITING)
_SEAL_STUDY = studies.update().where(studies.c.id == sa.bindparam("sid"))


SQLITE_HEADER = b"SQLite format 3\x00"


def storage_url(study: str | Path) -> str:
    """A path becomes an SQLite URL (its folder is created); anything with '://' is used as a SQLAlchemy URL."""
    text = str(study)
    if "://" in text:
        scheme, rest = text.split("://", 1)
        if scheme in ("postgresql", "postgres"):  # SQLAlchemy's default driver is psycopg2; tailor ships psycopg 3
            return f"postgresql+psycopg://{rest}"
        return text
    path = Path(text).expanduser()
    try:
        if path.is_dir():
            raise StoreError("os", f"{path}: is a directory, expected a study file")
        for up in path.parents:
            if up.exists():
                if not up.is_dir():
                    raise StoreError("os", f"{path}: {up} is not a directory")
                break
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file() and path.stat().st_size > 0:
            # SQLite would take a short non-database file for an empty database and overwrite it
            with path.open("rb") as f:
                if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                    raise StoreError("notadb", f"{path}: not a study file (file is not a database)")
    except OSError as e:
        raise path_fault(path, e) from None
    return sa.engine.URL.create("sqlite", database=str(path)).render_as_string()


def check_name(name: Any) -> str:
    """A study name as it may enter the store: 1 to 200 characters, not all blank, on one line."""
    if not isinstance(name, str):
        raise ConfigError("name", f"must be text, got {type(name).__name__}")
    if not name.strip():
        raise ConfigError("name", "must not be empty")
    if len(name) > NAME_MAX:
        raise ConfigError("name", f"is {len(name)} characters long, at most {NAME_MAX} fit in the store")
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in name):
        raise ConfigError("name", f"must not contain control characters or line breaks: {name!r}")
    return name


class _Duplicate(Exception):
    """A unique constraint refused a planned trial (sorted out after the rollback)."""


class SQLStore:
    """Persistence only: studies and their trials, nothing about search.

    Opening checks the store (``PRAGMA quick_check`` for SQLite files, and the schema); reads check
    every row of the study they return. Problems and faults raise a ``ConfigError`` on ``study``
    whose message is one line naming the store (its path, or its URL without password) and the
    cause. ``ValueError`` is kept for calls that break the contract of ``plan``/``finish``.
    """

    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = sa.create_engine(url, **_engine_options(url))
        except (SQLAlchemyError, ModuleNotFoundError, ValueError) as e:
            raise StoreError("url", f"cannot open store {_shown(url)!r}: {first_line(e)}") from e
        self.sqlite = self.engine.dialect.name == "sqlite"
        self.postgresql = self.engine.dialect.name == "postgresql"
        db = self.engine.url.database if self.sqlite else None
        self.path = Path(db) if db and db != ":memory:" and not db.startswith("file:") else None
        self.where = str(self.path) if self.path else self.engine.url.render_as_string(hide_password=True)
        # Another process can open the same study (an in-memory SQLite store lives in one connection).
        self.shared = not self.sqlite or self.path is not None
        self.summed = True  # rows carry checksums (False: an old store opened read-only)
        self.leased = True  # trials carry lease columns (False: an old store opened read-only)
        if self.sqlite:
            _sqlite_events(self.engine)
        try:
            self._open()
        except StoreError as e:
            if not (e.kind == "cantopen" and self._read_only_fallback()):
                self.engine.dispose()
                raise

    def close(self) -> None:
        """Close the pooled connections (SQLite then folds its write-ahead log into the file)."""
        self.engine.dispose()

    # ------------------------------------------------------------------ opening
    def _open(self) -> None:
        with self._tx("opening the store") as conn:
            if self.path is not None:
                self._raise_if(self._sqlite_check(conn, full=False))
            layout = self._layout(conn)
        if layout == "current":
            return
        try:
            with self._tx("creating the store" if layout == "empty" else "upgrading the store", write=True) as conn:
                layout = self._layout(conn)  # again, now holding the write lock
                if layout == "empty":
                    _meta.create_all(conn)
                elif layout != "current":
                    self._upgrade(conn, layout)
        except StoreError as e:
            if e.kind != "readonly" or layout in ("empty", "current"):
                raise
            # read what is there; any write will say read-only
            self.summed, self.leased = layout not in ("old", "old-unleased"), False
            log.info("%s: an older store, read-only: %s", self.where,
                     "rows are checked without checksums" if not self.summed else "no leases")

    def _read_only_fallback(self) -> bool:
        """SQLite cannot open a WAL file in a folder it cannot write to: read it as immutable instead.

        Safe only without a write-ahead log beside it (which a writer would have, and which holds
        commits the file does not have yet); any write then fails as read-only.
        """
        path = self.path
        try:
            if path is None or not path.is_file() or Path(f"{path}-wal").exists() or dir_probe(path.parent) is None:
                return False
        except OSError:
            return False
        self.engine.dispose()
        self.engine = sa.create_engine(f"sqlite:///file:{quote(str(path.resolve()))}?immutable=1&uri=true")
        _sqlite_events(self.engine)
        self._open()
        return True

    def _layout(self, conn: sa.Connection) -> str:
        """'empty', 'current' (with checksums) or 'old' (without); anything else is refused."""
        inspector = sa.inspect(conn)
        names = set(inspector.get_table_names())
        if not names:
            return "empty"
        ours = {"studies", "trials"}
        if not names & ours:
            raise StoreError("notadb", f"{self.where}: holds no tailor study (tables: {', '.join(sorted(names))})")
        missing = ours - names
        if missing:
            raise Damage(f"table {missing.pop()} is missing")
        added = 0
        leases = 0
        for table in (studies, trials):
            have = {c["name"] for c in inspector.get_columns(table.name)}
            optional = (*_ADDED[table.name], *(_LEASE if table is trials else ()))
            for c in table.c:
                if c.name not in have and c.name not in optional:
                    raise Damage(f"table {table.name} has no column {c.name}")
            unknown = have - set(table.c.keys())
            if unknown:
                raise Damage(f"table {table.name} has an unknown column {unknown.pop()}")
            added += sum(c in have for c in _ADDED[table.name])
            if table is trials:
                leases = sum(c in have for c in _LEASE)
        if leases not in (0, len(_LEASE)):
            raise Damage("the lease columns are incomplete")
        if added == 0:
            if leases:
                raise Damage("lease columns without checksum columns")
            return "old"
        if added != sum(len(v) for v in _ADDED.values()):
            raise Damage("the checksum columns are incomplete")
        if leases == 0:
            return "unleased"
        # New stores check states in the schema; upgraded ones cannot (states are checked on read anyway).
        checks = {_squash(c["sqltext"]) for c in inspector.get_check_constraints("trials")}
        if self.sqlite and checks not in (set(), {_squash(STATE_CHECK)}):
            raise Damage("the check on trial states was altered")
        return "current"

    def _upgrade(self, conn: sa.Connection, layout: str) -> None:
        """Give an older store its lease columns and (before checksums) its checksum columns,
        after checking every row as it stands."""
        added = [("trials", c) for c in _LEASE]
        if layout == "old":
            added += [(table, c) for table, columns in _ADDED.items() for c in columns]
        for table, column in added:
            ddl = sa.schema.CreateColumn(sa.Table(table, _meta).c[column]).compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {ddl}")
        if layout != "old":
            log.info("%s: upgraded the store with trial leases", self.where)
            return
        for study in conn.execute(sa.select(*self._cols(studies, summed=False))).mappings().all():
            self._raise_if(study_problems(study, summed=False))
            rows = self._trial_rows(conn, study["id"], summed=False)
            problems = [p for r in rows for p in trial_problems(r, summed=False)]
            self._raise_if(problems or sequence_problems([r["number"] for r in rows],
                                                         [r["config_key"] for r in rows], None))
            for r in rows:
                conn.execute(_SEAL_TRIAL, {"tid": r["id"], "sum": checksum(r, TRIAL_SUMMED)})
            self._seal_study(conn, {**study, "n_trials": len(rows)})
        log.info("%s: upgraded the store with row checksums and trial leases", self.where)

    # ------------------------------------------------------------------ checks
    def check(self, full: bool = False) -> list[str]:
        """Look for damage everywhere in the store; the problems found, one line each (empty: none).

        ``full=False``: SQLite's ``quick_check``, the schema, every study row, and each study's trial
        numbering and count. ``full=True`` adds what costs a pass over all data: SQLite's
        ``integrity_check`` (which also compares indexes with their tables) and every check on every
        trial row (state, JSON, checksum). Exposed as ``tailor report --check``.
        """
        out: list[str] = []
        try:
            with self._tx("checking the store") as conn:
                if self.sqlite:
                    out += self._sqlite_check(conn, full)
                try:
                    self._layout(conn)
                except Damage as e:
                    return [*out, str(e)]  # rows of an unknown layout cannot be read
                for study in conn.execute(sa.select(*self._cols(studies)).order_by(studies.c.id)).mappings():
                    problems = study_problems(study, self.summed)
                    out += problems
                    if problems or not full:
                        rows = conn.execute(sa.select(trials.c.number, trials.c.config_key)
                                            .where(self._of_study(study["id"]))).mappings().all()
                    else:
                        rows = self._trial_rows(conn, study["id"])
                        out += [f"study {study['name']!r}: {p}" for r in rows for p in trial_problems(r, self.summed)]
                    n = study["n_trials"] if self.summed and not problems else None
                    out += [f"study {study['name']!r}: {p}" for p in
                            sequence_problems([r["number"] for r in rows], [r["config_key"] for r in rows], n)]
        except StoreError as e:
            out.append(e.why)
        return out

    def _sqlite_check(self, conn: sa.Connection, full: bool) -> list[str]:
        pragma = "integrity_check" if full else "quick_check"
        lines = [line for r in conn.exec_driver_sql(f"PRAGMA {pragma}") for line in str(r[0]).splitlines()]
        # SQLite heads its report with '*** in database main ***'; the lines after it are the problems
        return [] if lines == ["ok"] else [f"{pragma}: {line}" for line in lines if not line.startswith("***")]

    def _raise_if(self, problems: Sequence[str]) -> None:
        if problems:
            more = f" and {len(problems) - 1} more problem(s)" if len(problems) > 1 else ""
            raise Damage(problems[0] + more)

    # ------------------------------------------------------------------ studies
    def open_study(self, name: str, settings: dict[str, Any], load_if_exists: bool = True) -> StudyRecord:
        """Create the study, or re-attach to it if it exists with the same settings."""
        check_name(name)
        text = _dumps(settings)
        with self._tx("opening the study") as conn:
            row = self._study_named(conn, name)
        if row is None:
            with self._tx("creating the study", write=True) as conn:
                row = self._study_named(conn, name)  # again, now holding the write lock
                if row is None:
                    values = {"name": name, "settings": text, "created": time.time()}
                    if self.summed:
                        values["n_trials"] = 0
                    new_id = int(conn.execute(studies.insert(), values).inserted_primary_key[0])
                    self._seal_study(conn, {"id": new_id, **values})
                    return StudyRecord(new_id, name, json.loads(text))
        if not load_if_exists:
            raise ConfigError("study", f"study {name!r} already exists in {self.where}")
        stored = json.loads(row["settings"])
        old, new = _flatten(stored), _flatten(json.loads(_dumps(settings)))
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if diff:
            changes = "; ".join(f"{k}: {old.get(k, '(none)')!r} -> {new.get(k, '(none)')!r}" for k in diff[:6])
            more = f" (and {len(diff) - 6} more)" if len(diff) > 6 else ""
            raise ConfigError(
                "study",
                f"study {name!r} exists with other settings ({changes}{more}); "
                "rerun with the same settings to resume, or use another --study file or --name",
            )
        return to_study(row)

    def study_names(self) -> list[str]:
        with self._tx("reading the studies") as conn:
            return [r["name"] for r in self._study_rows(conn)]

    def load_study(self, name: str | None = None) -> StudyRecord:
        """The named study, or the only one in the store."""
        with self._tx("reading the studies") as conn:
            rows = self._study_rows(conn)
        names = [r["name"] for r in rows]
        if name is not None:
            rows = [r for r in rows if r["name"] == name]
        if not rows:
            raise ConfigError("study", "no such study in the store", names or "none stored")
        if len(rows) > 1:
            raise ConfigError("study", "the store holds several studies; name one", names)
        return to_study(rows[0])

    def _study_rows(self, conn: sa.Connection) -> list[sa.RowMapping]:
        """All study rows, checked; read in full (few), so that no index can hide or invent one."""
        rows = conn.execute(sa.select(*self._cols(studies)).order_by(studies.c.id)).mappings().all()
        self._raise_if([p for r in rows for p in study_problems(r, self.summed)])
        names = [r["name"] for r in rows]
        if len(set(names)) != len(names):
            raise Damage("two studies have the same name")
        return rows

    def _study_named(self, conn: sa.Connection, name: str) -> sa.RowMapping | None:
        return next((r for r in self._study_rows(conn) if r["name"] == name), None)

    def _study_by_id(self, conn: sa.Connection, study_id: int) -> sa.RowMapping:
        row = next((r for r in self._study_rows(conn) if r["id"] == study_id), None)
        if row is None:
            raise ConfigError("study", f"{self.where}: holds no study with id {study_id}")
        return row

    def _seal_study(self, conn: sa.Connection, values: dict[str, Any]) -> None:
        """Store the study's trial count (with checksums) and its checksum."""
        if self.summed:
            conn.execute(_SEAL_STUDY, {"sid": values["id"], "n_trials": values["n_trials"],
                                       "checksum": checksum(values, STUDY_SUMMED)})

    # ------------------------------------------------------------------ trials
    def plan(
        self, study_id: int, batch: int, items: Sequence[tuple[str, dict[str, Any]]], tactic: str, seed: int,
        adopt: bool = False,
    ) -> list[TrialRecord]:
        """Store a proposed batch as WAITING trials, in one transaction.

        Raises ``ValueError`` if a configuration is already in the study (tactics must never
        propose one): the unique key makes that impossible even with several workers.
        ``adopt``: if batch ``batch`` is already stored (another process sharing the study planned
        it first, from the same history), return its trials instead of planning it again.
        """
        batch, seed, tactic = int(batch), int(seed), str(tactic)
        keys = [k for k, _ in items]
        if batch < 0 or len(tactic) > KEY_MAX or any(not isinstance(k, str) or not 0 < len(k) <= KEY_MAX for k in keys):
            raise ValueError(f"plan: batch >= 0, keys and tactic of 1 to {KEY_MAX} characters, got {batch}, "
                             f"{tactic!r}, {keys!r}")
        if len(set(keys)) != len(keys):
            raise ValueError(f"a configuration of batch {batch} is already in the study (twice in the batch)")
        texts = [_dumps(config) for _, config in items]
        out = []
        try:
            with self._tx("planning trials", write=True) as conn:
                # other databases: lock the study's row, so concurrent planners number one after another
                # (SQLite renders no FOR UPDATE: its BEGIN IMMEDIATE already serialises writers)
                conn.execute(sa.select(studies.c.id).where(studies.c.id == study_id).with_for_update())
                study = self._study_by_id(conn, study_id)
                if adopt:
                    rows = [r for r in self._trial_rows(conn, study_id) if r["batch"] == batch]
                    if rows:
                        self._raise_if([p for r in rows for p in trial_problems(r, self.summed)])
                        return [to_trial(r) for r in rows]
                count = conn.execute(sa.select(sa.func.count()).select_from(trials)
                                     .where(self._of_study(study_id))).scalar_one()
                if self.summed:
                    if count != study["n_trials"]:
                        raise Damage(f"the study counts {study['n_trials']} trials, the table holds {count}")
                    start = count
                else:
                    start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(trials.c.number), -1))
                                         .where(self._of_study(study_id))).scalar_one() + 1
                for i, (key, text) in enumerate(zip(keys, texts, strict=True)):
                    values = {"study_id": study_id, "number": start + i, "batch": batch, "config_key": key,
                              "config": text, "state": WAITING, "metrics": None, "error": None,
                              "duration_s": None, "tactic": tactic, "seed": seed, "finished": None}
                    try:
                        res = conn.execute(trials.insert(), values)
                    except IntegrityError as e:
                        raise _Duplicate(key) from e
                    values["id"] = int(res.inserted_primary_key[0])
                    if self.summed:
                        conn.execute(_SEAL_TRIAL, {"tid": values["id"], "sum": checksum(values, TRIAL_SUMMED)})
                    out.append(TrialRecord(values["id"], start + i, batch, key, json.loads(text), WAITING,
                                           tactic=tactic, seed=seed))
                if self.summed:
                    self._seal_study(conn, {**study, "n_trials": start + len(items)})
        except _Duplicate as dup:
            # Rolled back. Only a key truly in the study is the caller's mistake; otherwise the
            # unique index disagrees with the table, which is damage.
            if any(t.key == str(dup) for t in self.trials(study_id)):
                raise ValueError(f"a configuration of batch {batch} is already in the study") from dup.__cause__
            raise damaged(self.where, f"a unique index refused trial {dup}, which the study does not hold "
                                      f"({dup.__cause__.orig})") from None  # type: ignore[union-attr]
        return out

    def finish(
        self, trial_id: int, state: str, metrics: dict[str, float] | None, error: str | None, duration_s: float,
        owner: str | None = None, worker: str | None = None,
    ) -> bool:
        """Record the outcome of one evaluation atomically; a finished trial is never changed.

        ``owner`` (a process sharing the study): a trial that another process finished after taking
        over its expired lease is left as it is, and False returned; without an owner that is an error.
        """
        if state not in (COMPLETE, FAIL):
            raise ValueError(f"finish state must be COMPLETE or FAIL, got {state}")
        values = {"state": state, "metrics": _dumps(metrics or {}), "error": None if error is None else str(error),
                  "duration_s": float(duration_s), "finished": time.time()}
        if self.leased:
            values.update(owner=_cut(owner), worker=_cut(worker), lease_until=None)
        with self._tx("storing a finished trial", write=True) as conn:
            row = conn.execute(sa.select(*self._cols(trials)).where(trials.c.id == trial_id)).mappings().first()
            if row is None:
                counted = conn.execute(sa.select(sa.func.sum(studies.c.n_trials))).scalar() if self.summed else None
                held = conn.execute(sa.select(sa.func.count()).select_from(trials)).scalar_one()
                if counted is not None and counted != held:
                    raise Damage(f"the studies count {counted} trials, the table holds {held}")
                raise ValueError(f"trial {trial_id} is not waiting (no such trial)")
            self._raise_if(trial_problems(row, self.summed))
            if row["state"] != WAITING:
                if owner is not None:
                    log.info("trial %s was finished by %s, who took over its lease", row["number"], row["owner"])
                    return False
                raise ValueError(f"trial {trial_id} is not waiting (already finished?)")
            if self.summed:
                values["checksum"] = checksum({**row, **values}, TRIAL_SUMMED)
            try:
                res = conn.execute(_FINISH_TRIAL, {"tid": trial_id, **values})
            except IntegrityError as e:  # the row was fine and the values are: the schema is not
                raise Damage(f"the database refused a valid result ({e.orig})") from e
            if res.rowcount != 1:
                raise Damage(f"trial {row['number']} could not be updated")
        return True

    # ------------------------------------------------------------------ leases
    def claim(self, study_id: int, owner: str, n: int, lease_s: float,
              alive: Callable[[str], bool] | None = None) -> list[TrialRecord]:
        """Lease up to ``n`` WAITING trials of the study to ``owner``, in planning order.

        A trial can be claimed when nobody holds it, ``owner`` already does, its lease expired
        (its process stopped renewing it), or ``alive(holder)`` says its holder is gone.
        """
        now = time.time()
        out = []
        with self._tx("claiming trials", write=True) as conn:
            # the lease columns of the waiting trials first (few, small), whole rows only for those claimed
            waiting = conn.execute(sa.select(trials.c.id, trials.c.owner, trials.c.lease_until)
                                   .where(self._of_study(study_id), trials.c.state == WAITING)
                                   .order_by(trials.c.number)).all()
            free = []
            for tid, holder, until in waiting:
                if len(free) >= n:
                    break
                held = holder is not None and holder != owner and (until or 0) >= now
                if not held or (alive is not None and not alive(holder)):
                    free.append(tid)
            if not free:
                return []
            rows = conn.execute(sa.select(*self._cols(trials)).where(trials.c.id.in_(free))
                                .order_by(trials.c.number)).mappings().all()
            for r in rows:
                self._raise_if(trial_problems(r, self.summed))
                if r["owner"] not in (None, owner):
                    log.info("trial %s: taking over the lease of %s", r["number"], r["owner"])
                conn.execute(_CLAIM_TRIAL, {"tid": r["id"], "owner": _cut(owner), "claimed": now,
                                            "lease_until": now + lease_s})
                out.append(to_trial({**r, "owner": _cut(owner), "claimed": now, "lease_until": now + lease_s}))
        return out

    def renew(self, study_id: int, owner: str, lease_s: float) -> int:
        """Heartbeat: extend the leases ``owner`` holds; how many it holds."""
        with self._tx("renewing leases", write=True) as conn:
            res = conn.execute(trials.update().where(self._of_study(study_id), trials.c.owner == _cut(owner),
                                                     trials.c.state == WAITING)
                               .values(lease_until=time.time() + lease_s))
            return int(res.rowcount)

    def release(self, study_id: int, owner: str) -> None:
        """Give back the leases ``owner`` holds (it stops): another process may take them at once."""
        with self._tx("releasing leases", write=True) as conn:
            conn.execute(trials.update().where(self._of_study(study_id), trials.c.owner == _cut(owner),
                                               trials.c.state == WAITING)
                         .values(owner=None, claimed=None, lease_until=None))

    def trials(self, study_id: int, states: Iterable[str] = STATES) -> list[TrialRecord]:
        """All trials of a study in planning order, as frozen records; the whole study is checked."""
        states = tuple(states)
        with self._tx("reading trials") as conn:
            study = self._study_by_id(conn, study_id)
            rows = self._trial_rows(conn, study_id)
            self._raise_if([p for r in rows for p in trial_problems(r, self.summed)])
            self._raise_if(sequence_problems([r["number"] for r in rows], [r["config_key"] for r in rows],
                                             study["n_trials"] if self.summed else None))
        return [to_trial(r) for r in rows if r["state"] in states]

    def _trial_rows(self, conn: sa.Connection, study_id: int, summed: bool | None = None) -> list[sa.RowMapping]:
        rows = conn.execute(sa.select(*self._cols(trials, summed)).where(self._of_study(study_id))).mappings().all()
        return sorted(rows, key=lambda r: (r["number"] if isinstance(r["number"], int) else -1))

    def _of_study(self, study_id: int) -> sa.ColumnElement[bool]:
        # On SQLite, `+ 0` keeps the query off the (study_id, ...) indexes: a full scan of the table
        # cannot miss or repeat a row because an index is damaged (quick_check does not read indexes).
        column = trials.c.study_id + 0 if self.sqlite else trials.c.study_id
        return column == study_id

    def _cols(self, table: sa.Table, summed: bool | None = None) -> list[sa.Column]:
        """The table's columns that this store has (``summed=False``: as before checksums)."""
        summed = self.summed if summed is None else summed
        return [c for c in table.c if (summed or c.name not in _ADDED[table.name])
                and (self.leased or c.name not in _LEASE)]

    # ------------------------------------------------------------------ faults
    @contextlib.contextmanager
    def _tx(self, doing: str, write: bool = False) -> Iterator[sa.Connection]:
        """One transaction (``write``: holding the write lock from its start); faults become one line."""
        try:
            with self.engine.connect() as conn:
                if write and self.sqlite:
                    conn.execution_options(tailor_write=True)
                elif self.postgresql:
                    # Readers see one snapshot (a study row and its trials agree); writers hold the
                    # advisory lock, so each statement may read the latest commit (READ COMMITTED).
                    conn.execution_options(isolation_level="READ COMMITTED" if write else "REPEATABLE READ")
                with conn.begin():
                    if write and self.postgresql:
                        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))
                    yield conn
        except Damage as e:
            raise damaged(self.where, str(e)) from None
        except UnicodeDecodeError:  # a text (or SQLite's message quoting it) that was not written by us
            raise damaged(self.where, "text that is not UTF-8") from None
        except (SQLAlchemyError, OSError) as e:
            if isinstance(e, OSError) and e.errno not in _OS_FAULTS:
                raise
            raise store_fault(self.where, self.path, e, doing) from e


# OS errors that can escape the driver (e.g. while SQLAlchemy inspects the file).
_OS_FAULTS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.ENAMETOOLONG, errno.ENOTDIR,
              errno.EISDIR, errno.ENOENT}


def _sqlite_events(engine: sa.Engine) -> None:
    """Pragmas on each new connection, and real transactions (BEGIN emitted by us, not pysqlite)."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # pysqlite emits no BEGIN of its own (DDL stays transactional)
        cur = dbapi_conn.cursor()
        # busy_timeout first: switching to WAL takes a lock, and must wait for it like anything else.
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        try:
            _switch_to_wal(cur)
        except sqlite3.OperationalError as e:
            if sqlite_code(e) != READONLY:
                raise  # a read-only file in rollback-journal mode stays so: it can still be read
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # IMMEDIATE takes the write lock now, so a writer never fails halfway on a lock upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("tailor_write") else "BEGIN")


def _switch_to_wal(cur: sqlite3.Cursor) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another connection holds the file.

    SQLite answers "database is locked" at once, without its busy handler, when several
    connections switch one new file to WAL together; so this waits the same
    ``BUSY_TIMEOUT_MS`` that every other statement waits.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if sqlite_code(e) != BUSY or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _engine_options(url: str) -> dict[str, Any]:
    """Server databases: give up connecting after ``CONNECT_TIMEOUT_S`` unless the URL or PGCONNECT_TIMEOUT says."""
    import os

    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql" or "connect_timeout" in parsed.query \
            or os.environ.get("PGCONNECT_TIMEOUT"):
        return {}
    return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}}


def _cut(text: str | None) -> str | None:
    return None if text is None else str(text)[:OWNER_MAX]


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return url


def _squash(sql: str) -> str:
    return "".join(sql.split()).lower()


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested settings as ``{"search.kappa": 1.0, ...}``, so a refusal names the exact fields."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: obj}


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, allow_nan=False)
