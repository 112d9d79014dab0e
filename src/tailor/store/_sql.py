"""The study store: SQLite by default, any SQLAlchemy URL (e.g. PostgreSQL) when users outgrow it.

Every method runs in its own transaction, so a finished evaluation is either fully stored or not
at all, whatever happens to the process (``kill -9`` included).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from tailor.errors import ConfigError
from tailor.store._records import COMPLETE, FAIL, STATES, WAITING, StudyRecord, TrialRecord

_meta = sa.MetaData()
studies = sa.Table(
    "studies",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)
trials = sa.Table(
    "trials",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study_id", sa.Integer, sa.ForeignKey("studies.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("batch", sa.Integer, nullable=False),
    sa.Column("config_key", sa.String(64), nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("metrics", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("duration_s", sa.Float, nullable=True),
    sa.Column("tactic", sa.String(64), nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("finished", sa.Float, nullable=True),
    sa.UniqueConstraint("study_id", "config_key", name="uq_study_config"),
    sa.UniqueConstraint("study_id", "number", name="uq_study_number"),
)


def storage_url(study: str | Path) -> str:
    """A path becomes an SQLite URL; anything with '://' is used as a SQLAlchemy URL."""
    text = str(study)
    if "://" in text:
        return text
    path = Path(text).expanduser()
    if path.exists() and path.is_dir():
        raise ConfigError("study", f"is a directory, expected a file: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class SQLStore:
    """Persistence only: studies and their trials, nothing about search."""

    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = sa.create_engine(url, future=True)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            _meta.create_all(self.engine)
        except (SQLAlchemyError, ModuleNotFoundError) as e:
            raise ConfigError("study", f"cannot open store {url!r}: {str(e).splitlines()[0]}") from e

    # ------------------------------------------------------------------ studies
    def open_study(self, name: str, settings: dict[str, Any], load_if_exists: bool = True) -> StudyRecord:
        """Create the study, or re-attach to it if it exists with the same settings."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(studies).where(studies.c.name == name)).first()
            if row is None:
                res = conn.execute(
                    studies.insert().values(name=name, settings=_dumps(settings), created=time.time())
                )
                return StudyRecord(int(res.inserted_primary_key[0]), name, settings)
        if not load_if_exists:
            raise ConfigError("study", f"study {name!r} already exists in {self.url}")
        stored = json.loads(row.settings)
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
        return StudyRecord(int(row.id), name, stored)

    def study_names(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r.name for r in conn.execute(sa.select(studies.c.name).order_by(studies.c.id))]

    def load_study(self, name: str | None = None) -> StudyRecord:
        """The named study, or the only one in the store."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(studies).order_by(studies.c.id)).all()
        if name is not None:
            rows = [r for r in rows if r.name == name]
        if not rows:
            raise ConfigError("study", "no such study in the store", self.study_names() or "none stored")
        if len(rows) > 1:
            raise ConfigError("study", "the store holds several studies; name one", [r.name for r in rows])
        return StudyRecord(int(rows[0].id), rows[0].name, json.loads(rows[0].settings))

    # ------------------------------------------------------------------ trials
    def plan(
        self, study_id: int, batch: int, items: Sequence[tuple[str, dict[str, Any]]], tactic: str, seed: int
    ) -> list[TrialRecord]:
        """Store a proposed batch as WAITING trials, in one transaction.

        Raises ``ValueError`` if a configuration is already in the study (tactics must never
        propose one): the unique key makes that impossible even with several workers.
        """
        out = []
        try:
            with self.engine.begin() as conn:
                start = conn.execute(
                    sa.select(sa.func.coalesce(sa.func.max(trials.c.number), -1)).where(
                        trials.c.study_id == study_id
                    )
                ).scalar_one() + 1
                for i, (key, config) in enumerate(items):
                    res = conn.execute(
                        trials.insert().values(
                            study_id=study_id, number=start + i, batch=batch, config_key=key,
                            config=_dumps(config), state=WAITING, tactic=tactic, seed=seed,
                        )
                    )
                    out.append(
                        TrialRecord(int(res.inserted_primary_key[0]), start + i, batch, key, config,
                                    WAITING, tactic=tactic, seed=seed)
                    )
        except IntegrityError as e:
            raise ValueError(f"a configuration of batch {batch} is already in the study") from e
        return out

    def finish(
        self, trial_id: int, state: str, metrics: dict[str, float] | None, error: str | None, duration_s: float
    ) -> None:
        """Record the outcome of one evaluation atomically; a finished trial is never changed."""
        if state not in (COMPLETE, FAIL):
            raise ValueError(f"finish state must be COMPLETE or FAIL, got {state}")
        with self.engine.begin() as conn:
            res = conn.execute(
                trials.update()
                .where(trials.c.id == trial_id, trials.c.state == WAITING)
                .values(state=state, metrics=_dumps(metrics or {}), error=error,
                        duration_s=duration_s, finished=time.time())
            )
            if res.rowcount != 1:
                raise ValueError(f"trial {trial_id} is not waiting (already finished?)")

    def trials(self, study_id: int, states: Iterable[str] = STATES) -> list[TrialRecord]:
        """All trials of a study in planning order, as frozen records."""
        states = tuple(states)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(trials)
                .where(trials.c.study_id == study_id, trials.c.state.in_(states))
                .order_by(trials.c.number)
            ).all()
        return [
            TrialRecord(
                id=int(r.id), number=int(r.number), batch=int(r.batch), key=r.config_key,
                config=json.loads(r.config), state=r.state,
                metrics=json.loads(r.metrics) if r.metrics else {}, error=r.error,
                duration_s=r.duration_s, tactic=r.tactic, seed=int(r.seed),
            )
            for r in rows
        ]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


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
