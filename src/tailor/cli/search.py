"""`tailor search`: run (or resume) a study and write its results folder."""

from __future__ import annotations

from pathlib import Path

import typer

from tailor.cli._console import err, key_values, print_table, print_verification, progress, say, writable_dir

DEFAULT_BUDGETS = {"minilm": 40, "nb201": 300, "supernet": 60}


def search(
    problem: str = typer.Argument(
        "minilm", help="A registered problem: minilm (default: elastic MiniLM, agreement vs latency), nb201 "
        "(table), supernet (a family trained on --data; implied by --supernet), or one a plugin registers."),
    supernet: str = typer.Option(None, "--supernet", help="supernet problem: registered image family."),
    data: str = typer.Option(None, "--data", help="supernet problem: digits (built in) or an image folder."),
    epochs: int = typer.Option(None, "--epochs", help="supernet problem: training epochs (cached)."),
    table: str = typer.Option(None, "--table", help="nb201: CSV (default: $TAILOR_NB201_TABLE or the shared table)."),
    accuracy_column: str = typer.Option(None, "--accuracy-column", help="nb201: accuracy column (%)."),
    latency_column: str = typer.Option(None, "--latency-column", help="nb201: latency column."),
    backend: str = typer.Option(None, "--backend", help="Measured latency: onnxruntime or torch (eager)."),
    latency: str = typer.Option(None, "--latency", help="'measure' (default: on this machine) or DEVICE.json, a "
                                "table from 'tailor profile' (predicted latency of the profiled device)."),
    option: list[str] = typer.Option(None, "--option", "-o", help="Any problem option as KEY=VALUE (repeatable)."),
    tactic: str = typer.Option("default", "--tactic", help="random, evolutionary[:ALGO], linas[:ALGO], tailor "
                               "or default."),
    tactic_option: list[str] = typer.Option(None, "--tactic-option", "-t", help="A tactic setting as KEY=VALUE "
                                            "(repeatable), e.g. -t kappa=2."),
    budget: int = typer.Option(None, "--budget", help="Real evaluations in total (a rerun resumes towards it)."),
    seed: int = typer.Option(0, "--seed", help="Seeds the search (and a supernet problem's training)."),
    study: str = typer.Option(None, "--study", help="Study file (SQLite) or SQLAlchemy URL; default OUT/study.db."),
    name: str = typer.Option("tailor", "--name", help="Study name inside the store."),
    out: Path = typer.Option(None, "--out", help="Results folder; default runs/PROBLEM-TACTIC-sSEED."),
    workers: int = typer.Option(1, "--workers", help="Evaluate each batch in N local processes (1 thread each), "
                                "or N Ray actors with --ray."),
    ray: str = typer.Option(None, "--ray", metavar="ADDRESS",
                            help="Evaluate on Ray actors: 'local' starts Ray on this machine, else a cluster "
                            "(HOST:PORT, ray://HOST:PORT or auto)."),
    cpus_per_worker: float = typer.Option(1.0, "--cpus-per-worker", help="--ray: CPUs each actor asks for."),
    gpus_per_worker: float = typer.Option(0.0, "--gpus-per-worker", help="--ray: GPUs each actor asks for."),
    ray_resource: str = typer.Option(None, "--ray-resource", help="--ray: a custom resource each actor asks one "
                                     "unit of (the node with the target device)."),
    lease: float = typer.Option(30.0, "--lease", help="Seconds a claimed evaluation stays with this process "
                                "without a heartbeat before another process sharing the study takes it over."),
) -> None:
    """Find the Pareto front of a problem; rerunning the same command resumes it."""
    from tailor.errors import ConfigError
    from tailor.parallel import check_workers
    from tailor.problems import BuildContext, ProblemSpec, build_problem
    from tailor.results import front, knee, write_results
    from tailor.search import SearchSpec
    from tailor.store import open_store
    from tailor.study import Study, check_budget, check_lease

    if supernet is not None:
        problem = "supernet"
    flags = {"supernet": supernet, "data": data, "epochs": epochs, "table": table, "accuracy_column": accuracy_column,
             "latency_column": latency_column, "backend": backend, "latency": latency}
    options = {k: v for k, v in flags.items() if v is not None}
    if problem == "supernet":
        options.setdefault("seed", seed)  # the super-network's training seed follows the study's
    options.update(key_values("option", option))
    problem_spec = ProblemSpec(problem, options)
    search_spec = SearchSpec.parse(tactic, key_values("tactic-option", tactic_option), seed)
    budget = check_budget(DEFAULT_BUDGETS.get(problem, 100) if budget is None else budget)
    check_workers(workers)
    check_lease(lease)
    pool = None
    if ray is not None:
        from tailor.parallel_ray import RaySettings, prepare, ray_pool

        ray_settings = RaySettings(ray, cpus_per_worker, gpus_per_worker, ray_resource)
        prepare(ray_settings, workers)  # an unreachable cluster: one line now, not after the problem is built
        pool = ray_pool(ray_settings)
    elif (cpus_per_worker, gpus_per_worker, ray_resource) != (1.0, 0.0, None):
        raise ConfigError("ray", "--cpus-per-worker, --gpus-per-worker and --ray-resource need --ray")
    the_tactic = search_spec.build()
    label = supernet if problem == "supernet" else problem
    out = writable_dir("out", out or Path("runs") / f"{label}-{search_spec.tactic}-s{seed}")
    store = open_store(study or str(out / "study.db"))
    if problem == "minilm":
        say("loading the elastic MiniLM super-network and the built-in corpus ...")
    with progress(transient=True) as bar:  # shown only while a super-network trains
        task = bar.add_task(f"train {label}", total=problem_spec.options.get("epochs", 0), status="", visible=False)

        def on_epoch(r: dict) -> None:
            bar.update(task, visible=True, completed=r["epoch"],
                       status=f"loss {r['loss']:.3f}, largest acc {r['val_acc_largest']:.3f}")

        the_problem = build_problem(problem_spec, BuildContext(on_epoch=on_epoch))
    the_study = Study(the_problem, the_tactic, store, name=name, seed=seed, workers=workers, pool=pool,
                      lease_s=lease)
    already = the_study.n_finished
    if already:
        say(f"resuming study {name!r}: {already} evaluations already stored")
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
    noisy = sum(1 for t in trials if t.metrics.get("latency_noisy") == 1.0)
    if noisy:
        say(f"warning: {noisy} of {len(trials)} latency measurements are flagged noisy (latency_noisy=1: repeat "
            "rounds disagreed); consider a quieter machine or a latency table (tailor profile, --latency)")
    names = [o.name for o in the_problem.objectives]
    logged = sorted({k for t in fr for k in t.metrics} - set(names))
    rows = [{"key": t.key, **t.metrics} for t in fr]
    print_table(f"Pareto front ({len(fr)} of {len(trials)} evaluated)", rows, ["key", *names, *logged])
    if names == ["agreement", "latency_ms"]:
        _print_speedups(trials, the_problem.space)
    if fr:
        k = knee(fr, the_problem.objectives)
        say(f"knee: {k.key} " + ", ".join(f"{n}={k.metrics[n]:.4g}" for n in names))
        if the_problem.supernet is not None:
            from tailor.export import export_and_verify

            meta = {"supernet": the_problem.settings.get("supernet"),
                    "supernet_kwargs": the_problem.settings.get("supernet_kwargs", {}),
                    "problem": problem_spec.to_dict(), "trial": k.number, "metrics": k.metrics}
            exported, verification = export_and_verify(the_problem.supernet, k.config, out / "knee",
                                                       the_problem.evaluators, meta, k.metrics)
            if verification is not None:
                print_verification(verification, out / "knee", strict=False)
            say(f"knee sub-network exported: {exported.onnx}")
    err.print(f"results: {paths['json'].parent}/ (results.json, evaluations.csv, front.csv, pareto.png, "
              "hypervolume.png)", markup=False, highlight=False, soft_wrap=True)


SPEEDUP_LEVELS = (0.95, 0.90, 0.80)


def speedups(trials: list, space, levels: tuple[float, ...] = SPEEDUP_LEVELS) -> list[dict]:
    """Per agreement level, the fastest measured sub-network that keeps it, and its speed-up over
    the full model (the space's largest, which the minilm problem always measures)."""
    done = [t for t in trials if t.state == "COMPLETE" and {"agreement", "latency_ms"} <= set(t.metrics)]
    full_key = space.key(space.extreme("max"))
    full = next((t.metrics["latency_ms"] for t in done if t.key == full_key), None)
    rows = []
    for level in levels:
        ok = [t for t in done if t.metrics["agreement"] >= level]
        best = min(ok, key=lambda t: t.metrics["latency_ms"]) if ok else None
        rows.append({"agreement >=": f"{level:.0%}", "key": best.key if best else "none measured",
                     "agreement": best.metrics["agreement"] if best else None,
                     "latency_ms": best.metrics["latency_ms"] if best else None,
                     "speed-up": full / best.metrics["latency_ms"] if best and full else None})
    return rows


def _print_speedups(trials: list, space) -> None:
    rows = speedups(trials, space)
    print_table("fastest sub-network per agreement level (speed-up over the full model)", rows,
                ["agreement >=", "key", "agreement", "latency_ms", "speed-up"])
