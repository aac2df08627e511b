#!/usr/bin/env bash
# worker-bench.sh: issue 14's measurement — candidates per minute of one search measured by 1, 2
# and 3 colt worker processes on this machine (timed runs serialized by the machine's timing
# lock, builds in parallel), against the same search run by colt tune in one process; the
# difference per candidate between the local run and one worker is the server's overhead.
#
#   scripts/worker-bench.sh [OUT_DIR] [WORKLOAD] [BUDGET] [WORKERS]
#
# Defaults: OUT_DIR=.colt/worker-bench, WORKLOAD=deepseek-r1-moe, BUDGET=48, WORKERS="1 2 3".
# Every configuration has its own work dir (fresh records), sharing one baseline and build
# cache primed first; the confirmation is off. Rates are over the sampling phase: from the
# first sample to the last, read from the progress lines. Nothing else may run meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-.colt/worker-bench}" && cd "${1:-.colt/worker-bench}" && pwd)
workload=${2:-deepseek-r1-moe}
budget=${3:-48}
workers=${4:-1 2 3}
go build -o "$out/colt" .
colt="$out/colt"
port=$((20000 + RANDOM % 20000))
cat > "$out/colt.toml" <<TOML
[search]
confirm_top = 0
[serve]
port = $port
TOML
shared="$out/shared"
mkdir -p "$shared/baselines" "$shared/cache"
share() { mkdir -p "$1"; ln -sfn "$shared/baselines" "$1/baselines"; ln -sfn "$shared/cache" "$1/cache"; }

# Prime the shared reference and baseline (not timed).
share "$out/prime"
"$colt" tune --config "$out/colt.toml" --work-dir "$out/prime" --workload "$workload" --budget 1 --headless >/dev/null 2>&1

# rate LOGFILE: samples/minute between the first and the last sample line ("elapsed X").
rate() {
  python3 - "$1" <<'PY'
import re, sys
def secs(t):
    total = 0.0
    for n, u in re.findall(r'([\d.]+)(h|ms|m|s)', t):
        total += float(n) * {'h': 3600, 'm': 60, 's': 1, 'ms': 0.001}[u]
    return total
el = [secs(m.group(1)) for m in re.finditer(r'^colt: \[ *\d+/\d+\] (?!waiting).*elapsed (\S+)', open(sys.argv[1]).read(), re.M)]
if len(el) < 2:
    print("- - -"); sys.exit()
span = el[-1] - el[0]
print(f"{len(el)} {span:.1f} {60 * (len(el) - 1) / span:.1f}")
PY
}

echo "| configuration | samples | sampling time (s) | candidates / min | s / candidate |"
echo "| --- | --- | --- | --- | --- |"
share "$out/local"
"$colt" tune --config "$out/colt.toml" --work-dir "$out/local" --workload "$workload" --budget "$budget" --seed 7 --headless >/dev/null 2>"$out/local.log"
read -r n span per <<<"$(rate "$out/local.log")"
echo "| colt tune, one process | $n | $span | $per | $(python3 -c "print(f'{$span/($n-1):.3f}')") |"
for k in $workers; do
  wd="$out/serve-$k"
  share "$wd"
  "$colt" serve --config "$out/colt.toml" --work-dir "$wd" --no-local >"$wd.serve.log" 2>&1 &
  spid=$!
  for _ in $(seq 100); do "$colt" ps --config "$out/colt.toml" --work-dir "$wd" >/dev/null 2>&1 && break; sleep 0.2; done
  wpids=()
  for i in $(seq "$k"); do
    "$colt" worker --config "$out/colt.toml" --work-dir "$wd" --id "w$i" >"$wd.worker-$i.log" 2>&1 &
    wpids+=($!)
  done
  "$colt" tune --config "$out/colt.toml" --work-dir "$wd" --workload "$workload" --budget "$budget" --seed 7 --detach >/dev/null
  "$colt" logs --config "$out/colt.toml" --work-dir "$wd" 1 -f >"$wd.log" 2>&1
  read -r n span per <<<"$(rate "$wd.log")"
  echo "| colt serve --no-local, $k worker process(es) | $n | $span | $per | $(python3 -c "print(f'{$span/($n-1):.3f}')") |"
  kill "${wpids[@]}" "$spid" 2>/dev/null || true
  wait 2>/dev/null || true
done
