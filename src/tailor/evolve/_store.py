"""Runs stored generation by generation in SQLite (or any SQLAlchemy URL), in two tables of their
own beside a study's: ``evolve_runs`` (name, resolved config, latest GA state) and
``evolve_generations`` (one record per finished generation). A generation's record and the state
after it are written in one transaction, so a kill at any moment leaves the last finished
generation and nothing half-written; a rerun continues from it."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from tailor.errors import ConfigError
from tailor.evolve._ga import GAState

_meta = sa.MetaData()
runs = sa.Table(
    "evolve_runs", _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("state", sa.Text),
)
generations = sa.Table(
    "evolve_generations", _meta,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("evolve_runs.id"), primary_key=True),
    sa.Column("generation", sa.Integer, primary_key=True),
    sa.Column("record", sa.Text, nullable=False),
)


def _url(study: str) -> str:
    return study if "://" in study else f"sqlite:///{study}"


class EvolveStore:
    """One run per name; ``open_run`` creates it or checks that a stored one has the same config."""

    def __init__(self, study: str):
        self.engine = sa.create_engine(_url(study))
        if self.engine.dialect.name == "sqlite":
            @sa.event.listens_for(self.engine, "connect")
            def _pragmas(conn, _record):  # noqa: ANN001 - DBAPI objects
                cur = conn.cursor()
                cur.execute("PRAGMA busy_timeout=30000")
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.close()
        _meta.create_all(self.engine)

    def open_run(self, name: str, config: dict[str, Any]) -> tuple[int, GAState | None]:
        """The run's id and its stored state (None for a new run)."""
        text = json.dumps(config, sort_keys=True)
        with self.engine.begin() as c:
            row = c.execute(sa.select(runs).where(runs.c.name == name)).first()
            if row is None:
                rid = c.execute(runs.insert().values(name=name, config=text)).inserted_primary_key[0]
                return int(rid), None
        stored = json.loads(row.config)
        if stored != json.loads(text):
            diff = sorted(k for k in set(stored) | set(config) if stored.get(k) != config.get(k))
            raise ConfigError("out", f"holds run {name!r} with other settings ({', '.join(diff)}); "
                              "use another --out or the same settings to resume")
        return int(row.id), GAState.from_json(json.loads(row.state)) if row.state else None

    def commit_generation(self, run_id: int, record: dict[str, Any], state: GAState) -> None:
        """The generation's record and the state after it, in one transaction."""
        with self.engine.begin() as c:
            c.execute(generations.insert().values(run_id=run_id, generation=record["generation"],
                                                  record=json.dumps(record)))
            c.execute(runs.update().where(runs.c.id == run_id).values(state=json.dumps(state.to_json())))

    def records(self, run_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(generations.c.record).where(generations.c.run_id == run_id)
                             .order_by(generations.c.generation)).all()
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        self.engine.dispose()
