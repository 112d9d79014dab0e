"""Deep neuroevolution: the Deep GA of Such et al. (2017) with seed-chain genomes, novelty search
(GA-NS) and evaluation on Ray workers, stored generation by generation so a killed run resumes."""

from tailor.evolve._conv_policy import ConvPolicySpec
from tailor.evolve._ga import NOVELTY_MODES, Evaluator, GAConfig, GAState, Job, episode_seed, initial_state, step
from tailor.evolve._genome import Genome, ParamCache, noise, rebuild
from tailor.evolve._novelty import novelty, ranks01
from tailor.evolve._policy import (
    NumpyPolicy,
    Policy,
    PolicyIO,
    PolicySpec,
    TorchPolicy,
    build_module,
    build_policy,
    init_scales,
    register_policy,
    to_module,
)
from tailor.evolve._run import RunResult, evolve, run_config
from tailor.evolve._store import EvolveStore
from tailor.evolve._tasks import Episode, GADefaults, Task, TaskSpec, TrajectoryTask, list_tasks, register_task
from tailor.evolve._workers import EvalWorker, LocalEvaluator, RayEvaluator, check_ray_address

__all__ = [
    "NOVELTY_MODES", "ConvPolicySpec", "Episode", "EvalWorker", "Evaluator", "EvolveStore", "GAConfig",
    "GADefaults", "GAState", "Genome", "Job", "LocalEvaluator", "NumpyPolicy", "ParamCache", "Policy", "PolicyIO",
    "PolicySpec", "RayEvaluator", "RunResult", "Task", "TaskSpec", "TorchPolicy", "TrajectoryTask",
    "build_module", "build_policy", "check_ray_address", "episode_seed", "evolve", "init_scales", "initial_state",
    "list_tasks", "noise", "novelty", "ranks01", "rebuild", "register_policy", "register_task", "run_config",
    "step", "to_module",
]
