"""`tailor evolve`: run (or resume) a Deep GA on a task and write its results folder."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from tailor.cli._console import err, say, writable_dir


def evolve(
    task: str = typer.Argument(..., help="CartPole-v1, Acrobot-v1, MountainCar-v0, Hopper-v5, hardmaze or "
                               "hardmaze-image."),
    generations: int = typer.Option(None, "--generations", help="Generations in total (a rerun resumes towards "
                                    "it); default: the task's."),
    population: int = typer.Option(None, "--population", help="Individuals per generation (N)."),
    truncation: int = typer.Option(None, "--truncation", help="Parents kept (T); 0 = random search."),
    sigma: float = typer.Option(None, "--sigma", help="Mutation power: child = parent + sigma * N(0, I)."),
    novelty: str = typer.Option("off", "--novelty", help="Selection: off (reward), ns (novelty search, GA-NS) or "
                                "mix (reward + novelty ranks)."),
    seed: int = typer.Option(0, "--seed", help="Seeds the whole run: same seed, same elite and seed chain."),
    workers: int = typer.Option(None, "--workers", help="Ray workers (default: the CPU count); 0 = in this "
                                "process, no Ray."),
    ray_address: str = typer.Option(None, "--ray", help="Join a running Ray cluster at HOST:PORT instead of "
                                    "starting a local one."),
    out: Path = typer.Option(None, "--out", help="Results folder (holds the run's store, evolve.db); default "
                             "runs/evolve-TASK-NOVELTY-sSEED."),
) -> None:
    """Train a policy with the Deep GA; rerunning the same command resumes at the last finished generation."""
    from tailor.errors import ConfigError
    from tailor.evolve import (
        GAConfig,
        Genome,
        LocalEvaluator,
        RayEvaluator,
        TaskSpec,
        TrajectoryTask,
        check_ray_address,
        init_scales,
        rebuild,
        run_config,
    )
    from tailor.evolve import evolve as run_evolve
    from tailor.evolve._outputs import export_policy, fitness_plot, maze_plot, results_json
    from tailor.evolve._store import EvolveStore

    spec = TaskSpec(task)
    the_task = spec.build()
    d = the_task.defaults
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 0:
        raise ConfigError("workers", f"must be >= 0, got {workers}")
    ga = GAConfig(population=d.population if population is None else population,
                  truncation=d.truncation if truncation is None else truncation,
                  sigma=d.sigma if sigma is None else sigma, novelty=novelty, seed=seed,
                  elite_episodes=d.elite_episodes, archive_prob=d.archive_prob,
                  parents_survive=d.parents_survive and novelty != "off"
                  and (d.truncation if truncation is None else truncation) > 0)
    generations = d.generations if generations is None else generations
    if generations < 1:
        raise ConfigError("generations", f"must be >= 1, got {generations}")
    if ray_address:
        check_ray_address(ray_address)
    out = writable_dir("out", out or Path("runs") / f"evolve-{task}-{novelty}-s{seed}")
    store = EvolveStore(str(out / "evolve.db"))
    if workers == 0 and not ray_address:
        evaluator = LocalEvaluator(spec)
    else:
        say(f"starting Ray ({'joining ' + ray_address if ray_address else f'{workers} local workers'}) ...")
        evaluator = RayEvaluator(spec, max(1, workers), address=ray_address)
    from tailor.cli._console import progress

    try:
        with progress() as bar:
            job = bar.add_task(f"evolve {task}", total=generations, status="")

            def on_generation(r: dict) -> None:
                bar.update(job, completed=r["generation"] + 1,
                           status=f"best {r['best']:.4g}  mean {r['mean']:.4g}  elite {r['elite']:.4g}")

            result = run_evolve(spec, ga, generations, store, evaluator, solved_at=d.solved_at,
                                on_generation=on_generation)
            bar.update(job, completed=len(result.records))
            if result.resumed_at:
                say(f"resumed at generation {result.resumed_at}")
        restarts = evaluator.restarts
        worker_stats = evaluator.stats()
    finally:
        evaluator.close()
        store.close()
    records = result.records
    if not records:
        raise ConfigError("generations", "no generation ran")
    elite = Genome.from_json(records[-1]["elite_seed_chain"])
    extra = {"solved": result.solved, "solved_at": d.solved_at, "worker_restarts": restarts,
             "workers": worker_stats}
    path = results_json(out, run_config(spec, ga), records, the_task, extra)
    fitness_plot(out, records, f"{task} ({'GA' if ga.truncation else 'random search'}, novelty {novelty})")
    if isinstance(the_task, TrajectoryTask):
        maze_plot(out, records, the_task, rebuild(elite, init_scales(the_task.policy)), f"{task}, novelty {novelty}")
    files = export_policy(out, the_task, elite)
    r = records[-1]
    say(f"elite return {r['elite']:.4g} after {len(records)} generations "
        f"({'solved' if result.solved else 'not solved'}); genome {elite.nbytes} B vs dense "
        f"{4 * the_task.policy.n_params} B")
    err.print(f"results: {path} ; policy: {files['onnx'].parent}/", markup=False, highlight=False, soft_wrap=True)
