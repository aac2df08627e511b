#!/usr/bin/env bash
# vendor-table.sh: the measurement of issue 13 — colt tune with each strategy and seed on the
# headline layers, each run compared in its own confirmation rounds with oneDNN (or its
# composition) and OpenBLAS, then one Markdown table per workload.
#
#   scripts/vendor-table.sh [OUT_DIR] [BUDGET] [SEEDS] [STRATEGIES] [WORKLOADS]
#
# Defaults: OUT_DIR=.colt/vendor-table, BUDGET=200, SEEDS="1 2 3", STRATEGIES="evolutionary colt",
# WORKLOADS="llama3-8b-attn deepseek-r1-moe flux-conv llama4-scout-mlp flux-attn". Every run has
# its own work dir (fresh records) sharing one build and reference cache; a run whose report
# exists is skipped, so a killed table continues where it stopped. Needs python3 for the table.
# Nothing else may run on the machine meanwhile: the figures are timings.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.colt/vendor-table}
budget=${2:-200}
seeds=${3:-1 2 3}
strategies=${4:-evolutionary colt}
workloads=${5:-llama3-8b-attn deepseek-r1-moe flux-conv llama4-scout-mlp flux-attn}
mkdir -p "$out"
go build -o "$out/colt" .
for w in $workloads; do
  for s in $strategies; do
    for seed in $seeds; do
      dir="$out/$w-$s-$seed"
      [ -f "$dir/report.json" ] && continue
      rm -rf "$dir" # a run cut short left records that would warm-start this one
      mkdir -p "$dir"
      # Baselines, references and vendor figures are per workload: share them between runs.
      mkdir -p "$out/shared-$w/baselines" "$out/shared-$w/cache"
      ln -sfn "$(cd "$out/shared-$w" && pwd)/baselines" "$dir/baselines"
      ln -sfn "$(cd "$out/shared-$w" && pwd)/cache" "$dir/cache"
      echo "vendor-table: $w $s seed $seed (budget $budget)" >&2
      "$out/colt" tune --workload "$w" --strategy "$s" --seed "$seed" --budget "$budget" --headless \
        --work-dir "$dir" --json-out "$dir/report.tmp" >"$dir/summary.txt" 2>"$dir/progress.txt"
      mv "$dir/report.tmp" "$dir/report.json"
    done
  done
done
python3 - "$out" "$budget" <<'EOF'
import json, os, statistics, sys
out, budget = sys.argv[1], sys.argv[2]
runs = {}
for d in sorted(os.listdir(out)):
    p = os.path.join(out, d, "report.json")
    if os.path.isfile(p):
        r = json.load(open(p))
        runs.setdefault(r["workload"], {}).setdefault(r["strategy"], []).append(r)
for w, by in runs.items():
    print(f"\n### {w} (budget {budget})\n")
    print("| strategy | seed | best (confirmed median, spread) | GFLOP/s | × oneDNN | × OpenBLAS |")
    print("| --- | --- | --- | --- | --- | --- |")
    for s, rs in by.items():
        lat = []
        for r in rs:
            c = (r.get("confirmed") or {}).get("candidates") or [{}]
            best = c[0].get("latency_s") or r.get("best_latency_s")
            lat.append(best)
            ratios = {v["library"]: v.get("ratio") for v in r.get("vendors", [])}
            fmt = lambda x: f"{x:.2f}×" if x else "—"
            print(f"| {s} | {r['seed']} | {best*1e3:.3f} ms ({c[0].get('spread_pct', 0):.0f}%) | {r['flops']/best/1e9:.1f} | {fmt(ratios.get('oneDNN'))} | {fmt(ratios.get('OpenBLAS'))} |")
        if len(lat) > 1:
            print(f"| {s} | spread over seeds | {min(lat)*1e3:.3f}–{max(lat)*1e3:.3f} ms (median {statistics.median(lat)*1e3:.3f}) | | | |")
EOF
