"""`tailor search`: run (or resume) a study and write its results folder."""

from __future__ import annotations

from pathlib import Path

import typer

from tailor.cli import console
from tailor.cli._common import ACCURACY_COLUMN, BUDGET, TABLE, print_table, progress, table_path
from tailor.errors import ConfigError


def register(app: typer.Typer) -> None:
    @app.command()
    def search(
        problem: str = typer.Argument("nb201", help="What to search: nb201."),
        table: Path = TABLE,
        accuracy_column: str = ACCURACY_COLUMN,
        latency_column: str = typer.Option("latency_ms_pixel3", "--latency-column", help="Latency column."),
        tactic: str = typer.Option(
            "default", "--tactic", help="random, evolutionary[:ALGO], linas[:ALGO], tailor or default."
        ),
        budget: int = BUDGET,
        seed: int = typer.Option(0, "--seed"),
        study: str = typer.Option(None, "--study", help="Study file (SQLite) or SQLAlchemy URL; default OUT/study.db."),
        name: str = typer.Option("tailor", "--name", help="Study name inside the store."),
        out: Path = typer.Option(None, "--out", help="Results folder; default runs/PROBLEM-TACTIC-sSEED."),
    ) -> None:
        """Find the Pareto front of a problem; rerunning the same command resumes it."""
        from tailor.problems import nb201_problem
        from tailor.results import front, knee, write_results
        from tailor.search import DEFAULT_TACTIC, make_tactic
        from tailor.store import open_store
        from tailor.study import Study

        if problem != "nb201":
            raise ConfigError("problem", f"unknown problem {problem!r}", ["nb201"])
        if budget < 1:
            raise ConfigError("budget", f"must be >= 1, got {budget}")
        the_problem = nb201_problem(table_path(table), accuracy_column, latency_column)
        the_tactic = make_tactic(tactic)
        out = out or Path("runs") / f"{problem}-{tactic if tactic != 'default' else DEFAULT_TACTIC}-s{seed}"
        out.mkdir(parents=True, exist_ok=True)
        store = open_store(study or str(out / "study.db"))
        the_study = Study(the_problem, the_tactic, store, name=name, seed=seed)
        already = the_study.n_finished
        if already:
            console.print(f"resuming study {name!r}: {already} evaluations already stored")
        with progress() as bar:
            task = bar.add_task(f"{the_tactic.name}", total=budget, completed=min(already, budget), status="")

            def on_trial(trial, finished: int) -> None:
                bar.update(task, completed=finished, status=f"front {len(front_cache(trial))}")

            front_trials: list = []

            def front_cache(trial) -> list:
                # cheap running front size for the progress bar
                if trial.state == "COMPLETE":
                    front_trials.append(trial)
                    front_trials[:] = front(front_trials, the_problem.objectives)
                return front_trials

            for t in the_study.trials():
                front_cache(t)
            the_study.optimize(budget, on_trial=on_trial)
        trials = the_study.trials(("COMPLETE", "FAIL"))
        paths = write_results(trials, the_problem.objectives, out)
        fr = front(trials, the_problem.objectives)
        names = [o.name for o in the_problem.objectives]
        rows = [{"key": t.key, **{n: t.metrics[n] for n in names}} for t in fr]
        print_table(f"Pareto front ({len(fr)} of {len(trials)} evaluated)", rows, ["key", *names])
        if fr:
            k = knee(fr, the_problem.objectives)
            console.print(f"knee: {k.key} " + ", ".join(f"{n}={k.metrics[n]:.4g}" for n in names))
        console.print(f"results: {paths['json'].parent}/ "
                      "(results.json, evaluations.csv, front.csv, pareto.png, hypervolume.png)")
