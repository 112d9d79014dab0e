"""Re-measure the latency of both arms' front candidates of ``search_dimension.py``, interleaved.

A search measures each configuration once, at the time the search asks for it, so on a loaded
machine two arms' fronts differ by when they were measured as much as by what they hold (the same
configuration measured by both arms can differ by 1.5x or more). Here the candidates of both arms
of a seed (their first ``--layers`` non-dominated layers) are measured again on the sparse runtime
in shuffled order, ``--rounds`` times, and each arm's hypervolume is recomputed from the medians
(accuracy is deterministic and reused), against one reference point over all seeds.

Run:  PYTHONPATH=src .venv/bin/python benchmarks/sparse/remeasure_fronts.py \
          benchmarks/results/sparse/search_dimension_seeded.json
Writes ``<input>_remeasured.json``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch

from tailor.lab.meta import write_result
from tailor.measure.evaluators import LatencyEvaluator
from tailor.search.pareto import hypervolume, pareto_mask
from tailor.sparse.finetune import masked_finetune, sparse_train_spec
from tailor.train import TrainSpec, train


def layers(F: np.ndarray, n: int) -> np.ndarray:
    """Indices of the first ``n`` non-dominated layers of ``F`` (minimised)."""
    left, out = np.arange(len(F)), []
    for _ in range(n):
        if not len(left):
            break
        m = pareto_mask(F[left])
        out.extend(left[m].tolist())
        left = left[~m]
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("result")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    src = json.loads(Path(args.result).read_text())
    st = src["settings"]
    levels = [float(v) for v in st["levels"].split(",")]
    sizes = {"width_mult": st["width"], "resolutions": [st["resolution"]], "final_channels": 128,
             "head_channels": 128}
    runs = Path(st["runs"]) / f"w{st['width']:g}-r{st['resolution']}-e{st['epochs']}"
    dense_spec = TrainSpec(supernet="mobilenetv3", supernet_kwargs=sizes, data="digits", epochs=st["epochs"],
                           sampler="sandwich", seed=0, max_steps_per_epoch=st["max_steps"])
    dense = train(dense_spec, runs / "dense", resume=True)
    spec = sparse_train_spec(dense_spec, levels, st["sparse_epochs"], per=st["per"])
    per = "" if st["per"] == "stage" else f"{st['per']}-"
    net = masked_finetune(spec, dense.supernet.state_dict(),
                          runs / (f"sparse-{per}e{st['sparse_epochs']}-" + st["levels"].replace(",", "-")),
                          dense.data).supernet.eval()
    lat = LatencyEvaluator(net, backend="torch", threads=1, repeats=st["repeats"], rounds=3, cache=False,
                           runtime="sparse")
    rng = np.random.default_rng(0)
    out: dict = {"source": args.result, "settings": vars(args), "seeds": {}}
    loads = []
    for seed, row in src["seeds"].items():
        cands: dict[str, dict] = {}
        for arm in ("sparse", "dense"):
            ts = row[arm]["trials"]
            F = np.array([[1 - t["accuracy"], t["latency_ms"]] for t in ts])
            for i in layers(F, args.layers):
                key = json.dumps(ts[i]["config"], sort_keys=True)
                cands.setdefault(key, {"config": ts[i]["config"], "accuracy": ts[i]["accuracy"], "arms": [],
                                       "search_ms": [], "ms": []})
                cands[key]["arms"].append(arm)
                cands[key]["search_ms"].append(ts[i]["latency_ms"])
        keys = list(cands)
        for r in range(args.rounds):
            for i in rng.permutation(len(keys)):
                cands[keys[i]]["ms"].append(lat.evaluate([cands[keys[i]]["config"]])[0]["latency_ms"])
            loads.append(os.getloadavg()[0])
            print(f"seed {seed}: round {r + 1}/{args.rounds}, {len(keys)} configurations (load {loads[-1]:.1f})",
                  flush=True)
        for c in cands.values():
            c["median_ms"] = float(np.median(c["ms"]))
        out["seeds"][seed] = {"candidates": list(cands.values())}
    union = np.array([[1 - c["accuracy"], c["median_ms"]] for r in out["seeds"].values() for c in r["candidates"]])
    ref = union.max(axis=0) * 1.1
    for seed, r in out["seeds"].items():
        for arm in ("sparse", "dense"):
            pts = [c for c in r["candidates"] if arm in c["arms"]]
            F = np.array([[1 - c["accuracy"], c["median_ms"]] for c in pts])
            front = F[pareto_mask(F)]
            r[arm] = {"hv": hypervolume(F, ref), "front": front[np.argsort(front[:, 1])].tolist(),
                      "front_levels": [pts[i]["config"]["sparsity"] for i in np.where(pareto_mask(F))[0]]}
        print(f"seed {seed}: re-measured HV sparse {r['sparse']['hv']:.4f}  dense {r['dense']['hv']:.4f}",
              flush=True)
    hv = {arm: [r[arm]["hv"] for r in out["seeds"].values()] for arm in ("sparse", "dense")}
    out["ref"] = ref.tolist()
    out["summary"] = {arm: {"hv_median": float(np.median(v)), "hv": v} for arm, v in hv.items()}
    out["summary"]["sparse_wins"] = sum(s > d for s, d in zip(hv["sparse"], hv["dense"], strict=True))
    out["load_avg_1min"] = {"min": min(loads), "median": float(np.median(loads)), "max": max(loads)}
    path = write_result(Path(args.result).with_name(Path(args.result).stem + "_remeasured.json"), out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
