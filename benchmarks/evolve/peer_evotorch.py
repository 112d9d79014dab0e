"""EvoTorch 0.6.1 on a gymnasium task (``--env``, default CartPole-v1), run by ``compare.py``
inside its side environment (it needs its own torch install): its ``GeneticAlgorithm`` (mu +
lambda survivors, every parent mutated once) and a Deep-GA-faithful loop on its ``GymNE`` problem
(truncation to T, random parent + sigma noise, top-10 elite re-evaluated). Prints one JSON line.

    /tmp/evotorch-venv/bin/python benchmarks/evolve/peer_evotorch.py --algo deepga --seed 0 --actors 0
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--algo", choices=("ga", "deepga"), default="deepga")
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--actors", type=int, default=0)
    ap.add_argument("--population", type=int, default=50)
    ap.add_argument("--truncation", type=int, default=10)
    ap.add_argument("--sigma", type=float, default=0.1)
    ap.add_argument("--generations", type=int, default=30)
    ap.add_argument("--elite-episodes", type=int, default=5)
    ap.add_argument("--solved-at", type=float, default=475.0)
    ap.add_argument("--no-stop", action="store_true", help="run all generations (throughput)")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    from evotorch.neuroevolution import GymNE

    problem = GymNE(env=a.env, network="Linear(obs_length, 16) >> Tanh() >> Linear(16, act_length)",
                    num_actors=a.actors if a.actors > 0 else None, observation_normalization=False,
                    num_episodes=1)
    t0 = time.perf_counter()
    evals = 0
    gens = []
    solved = False
    if a.algo == "ga":
        from evotorch.algorithms import GeneticAlgorithm
        from evotorch.operators import GaussianMutation

        ga = GeneticAlgorithm(problem, operators=[GaussianMutation(problem, stdev=a.sigma)], popsize=a.population,
                              elitist=True, re_evaluate=False)
        for g in range(a.generations):
            ga.step()
            # the first step evaluates the initial population and its children; later steps only the
            # children (re_evaluate=False: survivors keep their scores)
            evals += a.population * (2 if g == 0 else 1)
            best = float(ga.status["pop_best_eval"])
            gens.append({"generation": g, "best": best, "mean": float(ga.status["mean_eval"])})
            if best >= a.solved_at and not a.no_stop:
                solved = True
                break
    else:
        batch = problem.generate_batch(a.population)
        elite = None
        for g in range(a.generations):
            problem.evaluate(batch)
            evals += len(batch)
            fit = torch.tensor(batch.evals[:, 0].tolist())  # a plain tensor (evals are read-only)
            order = torch.argsort(fit, descending=True)
            values = torch.tensor(batch.values.tolist())
            cands = values[order[:10]].clone()
            if elite is not None:
                cands = torch.cat([cands, elite[None]])
            cb = problem.generate_batch(len(cands))
            cb.set_values(cands)
            means = torch.zeros(len(cands))
            for _ in range(a.elite_episodes):
                problem.evaluate(cb)
                means += torch.tensor(cb.evals[:, 0].tolist())
                evals += len(cb)
            means /= a.elite_episodes
            elite = cands[int(torch.argmax(means))].clone()
            gens.append({"generation": g, "best": float(fit.max()), "mean": float(fit.mean()),
                         "elite": float(means.max())})
            if float(means.max()) >= a.solved_at and not a.no_stop:
                solved = True
                break
            parents = values[order[:a.truncation]]
            pick = torch.randint(0, a.truncation, (a.population - 1,))
            children = parents[pick] + a.sigma * torch.randn(a.population - 1, parents.shape[1])
            batch = problem.generate_batch(a.population)
            batch.set_values(torch.cat([elite[None], children]))
    wall = time.perf_counter() - t0
    frames = int(problem.status.get("total_interaction_count", 0))
    print(json.dumps({"peer": "evotorch", "algo": a.algo, "seed": a.seed, "actors": a.actors, "solved": solved,
                      "generations": len(gens), "evaluations": evals, "frames": frames, "wall_s": wall,
                      "evals_per_s": evals / wall, "frames_per_s": frames / wall, "final": gens[-1]}))


if __name__ == "__main__":
    main()
