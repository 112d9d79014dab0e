"""`tailor search`: run (or resume) a study and write its results folder."""

from __future__ import annotations

from pathlib import Path

import typer

from tailor.cli import console
from tailor.cli._common import ACCURACY_COLUMN, TABLE, print_table, progress, table_path
from tailor.errors import ConfigError

PROBLEMS = ("minilm", "nb201", "supernet")
DEFAULT_BUDGETS = {"minilm": 40, "nb201": 300, "supernet": 60}


def register(app: typer.Typer) -> None:
    @app.command()
    def search(
        problem: str = typer.Argument(
            "minilm", help="minilm (default: elastic MiniLM, agreement vs latency), nb201 (table), "
            "or supernet (a registered family trained on --data; implied by --supernet)."),
        supernet: str = typer.Option(None, "--supernet", help="Registered image family to train and search."),
        data: str = typer.Option("digits", "--data", help="digits (built in) or an image folder."),
        epochs: int = typer.Option(10, "--epochs", help="Super-network training epochs (cached)."),
        table: Path = TABLE,
        accuracy_column: str = ACCURACY_COLUMN,
        latency_column: str = typer.Option("latency_ms_pixel3", "--latency-column", help="Latency column."),
        backend: str = typer.Option("onnxruntime", "--backend", help="Latency backend: onnxruntime or torch (eager)."),
        tactic: str = typer.Option(
            "default", "--tactic", help="random, evolutionary[:ALGO], linas[:ALGO], tailor or default."
        ),
        budget: int = typer.Option(None, "--budget", help="Real evaluations in total (a rerun resumes towards it)."),
        seed: int = typer.Option(0, "--seed"),
        study: str = typer.Option(None, "--study", help="Study file (SQLite) or SQLAlchemy URL; default OUT/study.db."),
        name: str = typer.Option("tailor", "--name", help="Study name inside the store."),
        out: Path = typer.Option(None, "--out", help="Results folder; default runs/PROBLEM-TACTIC-sSEED."),
        workers: int = typer.Option(1, "--workers", help="Evaluate each batch in N local processes (1 thread each)."),
    ) -> None:
        """Find the Pareto front of a problem; rerunning the same command resumes it."""
        from tailor.parallel import check_workers
        from tailor.results import front, knee, write_results
        from tailor.search import DEFAULT_TACTIC, make_tactic
        from tailor.store import open_store
        from tailor.study import Study

        if supernet is not None:
            problem = "supernet"
        if problem not in PROBLEMS:
            raise ConfigError("problem", f"unknown problem {problem!r}", PROBLEMS)
        if table is not None and problem != "nb201":
            raise ConfigError("table", f"applies to the nb201 problem, not {problem!r} (run: tailor search nb201 ...)")
        budget = DEFAULT_BUDGETS[problem] if budget is None else budget
        if budget < 1:
            raise ConfigError("budget", f"must be >= 1, got {budget}")
        check_workers(workers)
        the_tactic = make_tactic(tactic)
        label = supernet if problem == "supernet" else problem
        out = out or Path("runs") / f"{label}-{tactic if tactic != 'default' else DEFAULT_TACTIC}-s{seed}"
        the_problem = _build_problem(problem, supernet, data, epochs, table, accuracy_column, latency_column,
                                     backend, seed, out)
        out.mkdir(parents=True, exist_ok=True)
        store = open_store(study or str(out / "study.db"))
        the_study = Study(the_problem, the_tactic, store, name=name, seed=seed, workers=workers)
        already = the_study.n_finished
        if already:
            console.print(f"resuming study {name!r}: {already} evaluations already stored")
        running_front: list = front(the_study.trials(), the_problem.objectives)
        with progress() as bar:
            task = bar.add_task(f"search {label}", total=budget, completed=min(already, budget),
                                status=f"front {len(running_front)}")

            def on_trial(trial, finished: int) -> None:
                if trial.state == "COMPLETE":
                    running_front[:] = front([*running_front, trial], the_problem.objectives)
                bar.update(task, completed=finished, status=f"front {len(running_front)}")

            the_study.optimize(budget, on_trial=on_trial)
        trials = the_study.trials(("COMPLETE", "FAIL"))
        paths = write_results(trials, the_problem.objectives, out)
        fr = front(trials, the_problem.objectives)
        names = [o.name for o in the_problem.objectives]
        logged = sorted({k for t in fr for k in t.metrics} - set(names))
        rows = [{"key": t.key, **t.metrics} for t in fr]
        print_table(f"Pareto front ({len(fr)} of {len(trials)} evaluated)", rows, ["key", *names, *logged])
        if fr:
            k = knee(fr, the_problem.objectives)
            console.print(f"knee: {k.key} " + ", ".join(f"{n}={k.metrics[n]:.4g}" for n in names))
            if the_problem.supernet is not None:
                from tailor.cli.export import export_and_report

                exported = export_and_report(the_problem.supernet, the_problem.evaluators, k.config, out / "knee",
                                             {**the_problem.settings, "trial": k.number, "metrics": k.metrics},
                                             k.metrics, strict=False)
                console.print(f"knee sub-network exported: {exported.onnx}")
        console.print(f"results: {paths['json'].parent}/ "
                      "(results.json, evaluations.csv, front.csv, pareto.png, hypervolume.png)")


def _build_problem(problem, supernet, data, epochs, table, accuracy_column, latency_column, backend, seed, out):
    if problem == "nb201":
        from tailor.problems import nb201_problem

        return nb201_problem(table_path(table), accuracy_column, latency_column)
    from tailor.measure.latency import check_backend

    check_backend(backend)
    if problem == "minilm":
        from tailor.problems.supernet import minilm_problem

        console.print("loading the elastic MiniLM super-network and the built-in corpus ...")
        return minilm_problem(backend=backend)
    from tailor.problems.supernet import supernet_problem
    from tailor.supernets import list_supernets

    if supernet is None:
        raise ConfigError("supernet", "the supernet problem needs --supernet NAME", list_supernets())
    if supernet not in list_supernets():
        raise ConfigError("supernet", f"unknown name {supernet!r}", list_supernets())
    from tailor.train.data import check_data

    check_data(data)
    with progress() as bar:
        task = bar.add_task(f"train {supernet}", total=epochs, status="")
        problem_obj = supernet_problem(
            supernet, data, epochs=epochs, backend=backend, seed=seed,
            on_epoch=lambda r: bar.update(
                task, completed=r["epoch"], status=f"loss {r['loss']:.3f}, largest acc {r['val_acc_largest']:.3f}"
            ),
        )
    return problem_obj
