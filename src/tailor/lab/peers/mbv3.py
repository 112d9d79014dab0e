"""The MobileNetV3 peer problem: the super-network ``tailor search --supernet mobilenetv3`` trains
on the built-in digits, with measured latency (or counted MACs, the noise-free control) as the
second objective.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=2)
def mbv3_problem(train_dir: Path, epochs: int, objective: str = "latency", latency: str = "measure"):
    """Train (or load, from ``train_dir``) the super-network and pose the problem.

    One latency cache serves every tool in both virtual environments: DyNAS-T's runs torch
    2.14.1 and tailor's 2.13.0, both export the same TorchScript ONNX graph and run it on the
    same ONNX Runtime, so the machine fingerprint here leaves the torch version out (one latency
    per configuration, whichever tool measures it first).
    """
    from tailor.measure import machine
    from tailor.objectives import Objective
    from tailor.problems import BuildContext, Problem, ProblemSpec, build_problem

    info = {k: v for k, v in machine.machine_info().items() if k != "torch"}
    machine.machine_info = lambda: info
    spec = ProblemSpec("supernet", {"supernet": "mobilenetv3", "data": "digits", "train_dir": str(train_dir),
                                    "epochs": epochs, "seed": 0, "latency": latency})
    problem = build_problem(spec, BuildContext())
    if objective == "latency":
        return problem
    accuracy, _, complexity = problem.evaluators  # no latency measured at all for the MACs control
    return Problem(name=problem.name, space=problem.space, evaluators=[accuracy, complexity],
                   objectives=[Objective("accuracy", "max"), Objective("macs", "min")],
                   settings=problem.settings | {"objective": "macs"}, supernet=problem.supernet)
