"""Message size per individual: the seed-chain genome (packed, and as Ray pickles the job) against
the dense float32 weights, for each task's default network (the image maze's conv net included), a
paper-sized MLP (~4M params) and the Atari DQN conv net the Deep GA used.

    PYTHONPATH=src python benchmarks/evolve/messages.py
"""

from __future__ import annotations

import pickle
from pathlib import Path

from tailor.lab.meta import write_result

OUT = Path("benchmarks/results/evolve")


def main() -> None:
    from tailor.evolve import Genome, Job, PolicySpec, TaskSpec, list_tasks
    from tailor.evolve._conv_policy import ConvPolicySpec

    rows = []
    nets = {name: TaskSpec(name).build().policy for name in list_tasks()}
    nets["paper-size MLP (4M)"] = PolicySpec(obs_dim=7056, act_dim=18, hidden=(512, 512), discrete=True)
    nets["Atari conv (4x84x84)"] = ConvPolicySpec((4, 84, 84), 18, hidden=(512,))  # Mnih et al. 2015 / Deep GA
    for name, pol in nets.items():
        dense = 4 * pol.n_params
        for gens in (1, 100, 1000):
            g = Genome(123)
            for i in range(gens):
                g = g.child(10_000 + i, 0.002)
            pickled = len(pickle.dumps(Job(g, (7,)), protocol=5))
            rows.append({"network": name, "params": pol.n_params, "dense_bytes": dense, "generations": gens,
                         "genome_bytes": g.nbytes, "pickled_job_bytes": pickled,
                         "ratio_packed": dense / g.nbytes, "ratio_pickled": dense / pickled})
    print(f"{'network':22s} {'params':>9s} {'gens':>5s} {'genome B':>9s} {'pickled B':>10s} {'dense B':>10s} "
          f"{'x packed':>9s} {'x pickled':>9s}")
    for r in rows:
        print(f"{r['network']:22s} {r['params']:9d} {r['generations']:5d} {r['genome_bytes']:9d} "
              f"{r['pickled_job_bytes']:10d} {r['dense_bytes']:10d} {r['ratio_packed']:9.1f} {r['ratio_pickled']:9.1f}")
    write_result(OUT / "messages.json", {"rows": rows})


if __name__ == "__main__":
    main()
