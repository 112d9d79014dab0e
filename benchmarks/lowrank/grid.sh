#!/usr/bin/env bash
# The low-rank benchmark's runs, one at a time, one thread, low priority (a shared 2-core machine).
#   bash benchmarks/lowrank/grid.sh tune                  # short runs: learning rate per method (r=16)
#   ADAMW_LR=.. GALORE_LR=.. FIRA_LR=.. bash benchmarks/lowrank/grid.sh main       # methods x ranks
#   FIRA_LR=.. bash benchmarks/lowrank/grid.sh ablations  # Fira r=16: gamma, scaling, limiter
#   bash benchmarks/lowrank/grid.sh sensitivity           # full-length runs at the next-best learning rates
# Optional: STEPS (default 300), SEEDS (default "0"), TUNE_STEPS (default 80), RANKS (default "4 16 64"),
# ADAMW_LRS, LOWRANK_LRS (the tuning grids). Each run writes benchmarks/results/lowrank/{tune,grid,sensitivity}/<label>.json
# and is skipped when that file exists, so a phase can be rerun to finish what an interruption left.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PY:-.venv/bin/python}"
STEPS="${STEPS:-300}"
SEEDS="${SEEDS:-0}"
TUNE_STEPS="${TUNE_STEPS:-80}"
ADAMW_LRS="${ADAMW_LRS:-0.0003 0.001 0.003 0.01}"
LOWRANK_LRS="${LOWRANK_LRS:-0.003 0.01 0.03 0.1}"
RANKS="${RANKS:-4 16 64}"
export OMP_NUM_THREADS=1 PYTHONPATH=src

run() { nice -n 10 "$PY" benchmarks/lowrank/run.py --skip-existing "$@"; }

case "${1:-}" in
  tune)
    for lr in $ADAMW_LRS; do
      run --method adamw --lr "$lr" --steps "$TUNE_STEPS" --eval-every 20 --out-dir benchmarks/results/lowrank/tune
    done
    for method in galore fira; do
      for lr in $LOWRANK_LRS; do
        run --method "$method" --rank 16 --lr "$lr" --steps "$TUNE_STEPS" --eval-every 20 \
            --out-dir benchmarks/results/lowrank/tune
      done
    done
    ;;
  main)
    for seed in $SEEDS; do
      run --method adamw --lr "$ADAMW_LR" --steps "$STEPS" --seed "$seed"
      for rank in $RANKS; do
        run --method galore --rank "$rank" --lr "$GALORE_LR" --steps "$STEPS" --seed "$seed"
        run --method fira --rank "$rank" --lr "$FIRA_LR" --steps "$STEPS" --seed "$seed"
      done
    done
    ;;
  ablations)
    for seed in $SEEDS; do
      for gamma in 1.001 1.1; do
        run --method fira --rank 16 --lr "$FIRA_LR" --steps "$STEPS" --seed "$seed" --gamma "$gamma"
      done
      for scaling in none matrix; do
        run --method fira --rank 16 --lr "$FIRA_LR" --steps "$STEPS" --seed "$seed" --scaling "$scaling"
      done
      run --method fira --rank 16 --lr "$FIRA_LR" --steps "$STEPS" --seed "$seed" --no-limiter
    done
    ;;
  sensitivity)
    # is the short-run pick still right after STEPS steps? AdamW one notch up; GaLore/Fira at r=64 one notch down
    out=benchmarks/results/lowrank/sensitivity
    run --method adamw --lr 0.003 --steps "$STEPS" --out-dir "$out"
    run --method galore --rank 64 --lr 0.01 --steps "$STEPS" --out-dir "$out"
    run --method fira --rank 64 --lr 0.01 --steps "$STEPS" --out-dir "$out"
    ;;
  *)
    echo "usage: $0 tune|main|ablations|sensitivity" >&2
    exit 2
    ;;
esac
