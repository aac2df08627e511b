#!/usr/bin/env bash
# task-order-compare.sh: the measurement of issue 15 — a model tuned with the task scheduler
# (--task-order gradient) and in order (sequential) at the same total budget and seed, each in
# a fresh work dir sharing the baselines, references and build cache; prints each run's
# allocation and end-to-end estimate.
#
#   scripts/task-order-compare.sh [OUT_DIR] [WORKLOAD] [BUDGET] [SEED] [STRATEGY]
#
# Defaults: OUT_DIR=.colt/task-order, WORKLOAD=llama3-8b, BUDGET=200, SEED=1,
# STRATEGY=evolutionary. A run whose report exists is skipped. Nothing else may run on the
# machine meanwhile: the figures are timings.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.colt/task-order}
workload=${2:-llama3-8b}
budget=${3:-200}
seed=${4:-1}
strategy=${5:-evolutionary}
mkdir -p "$out/shared/baselines" "$out/shared/cache"
go build -o "$out/colt" .
for order in gradient sequential; do
  dir="$out/$order"
  if [ ! -f "$dir/report.json" ]; then
    rm -rf "$dir" # a run cut short left records that would warm-start this one
    mkdir -p "$dir"
    ln -sfn "$(cd "$out/shared" && pwd)/baselines" "$dir/baselines"
    ln -sfn "$(cd "$out/shared" && pwd)/cache" "$dir/cache"
    echo "task-order-compare: $workload, $order, budget $budget, seed $seed" >&2
    "$out/colt" tune --workload "$workload" --task-order "$order" --strategy "$strategy" --budget "$budget" --seed "$seed" \
      --headless --work-dir "$dir" --json-out "$dir/report.tmp" >"$dir/summary.txt" 2>"$dir/progress.txt"
    mv "$dir/report.tmp" "$dir/report.json"
  fi
  echo "== $order"
  sed -n '/^allocation/,$p' "$dir/summary.txt"
done
