#!/usr/bin/env bash
# gpu-check.sh: checks colt's CUDA target on a machine with an NVIDIA GPU, the driver, nvcc and a
# C compiler. Needs no Go toolchain, jq or python: run it from a bundle made by
# scripts/gpu-bundle.sh (cd BUNDLE && ./gpu-check.sh --colt ./colt --tests ./tests) or from a
# checkout with a built colt.
#
# It prints the GPU and nvcc version, runs the GPU tests of the prebuilt test binaries (--tests),
# tunes every built-in single-task workload on --target cuda with --budget candidates each, all
# within --cap seconds of wall-clock time, and prints one Markdown table of the results.
# Exit status: 0 when every GPU test passed and at least one workload has a best latency;
# 1 otherwise; 2 on a bad command line.
set -uo pipefail
export LC_ALL=C

usage() {
  cat <<'EOF'
usage: gpu-check.sh [--colt PATH] [--budget N] [--cap SECONDS] [--tests DIR] [--work DIR] [--workloads A,B]
  --colt PATH      the colt binary (default ./colt)
  --budget N       candidates tuned per workload (default 32)
  --cap SECONDS    wall-clock cap for the whole script (default 420)
  --tests DIR      prebuilt go test binaries (*.test, found recursively; each is run in its own
                   directory, so testdata/ beside it resolves); default: no tests
  --work DIR       work dir for the tuning runs (default: a new ./gpu-check.XXXXXX)
  --workloads A,B  tune these workloads instead of every built-in single-task one
EOF
}

die() { echo "gpu-check: $*" >&2; exit 1; }
usage_error() { echo "gpu-check: $*" >&2; usage >&2; exit 2; }

colt=./colt budget=32 cap=420 tests="" work="" only=""
while [ $# -gt 0 ]; do
  case $1 in
    --colt|--budget|--cap|--tests|--work|--workloads)
      [ $# -ge 2 ] || usage_error "$1 needs a value"
      case $1 in
        --colt) colt=$2 ;; --budget) budget=$2 ;; --cap) cap=$2 ;;
        --tests) tests=$2 ;; --work) work=$2 ;; --workloads) only=$2 ;;
      esac
      shift 2 ;;
    --colt=*) colt=${1#*=}; shift ;;
    --budget=*) budget=${1#*=}; shift ;;
    --cap=*) cap=${1#*=}; shift ;;
    --tests=*) tests=${1#*=}; shift ;;
    --work=*) work=${1#*=}; shift ;;
    --workloads=*) only=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done
case $budget in ''|*[!0-9]*|0) usage_error "--budget must be a positive integer, not '$budget'" ;; esac
case $cap in ''|*[!0-9]*|0) usage_error "--cap must be a positive number of seconds, not '$cap'" ;; esac

# Deadline: the script ends within cap seconds of its start (bash's SECONDS counts from the start).
# A tuning run gets SIGTERM at its share's end (colt then writes its report for what it measured)
# and SIGKILL `grace` seconds later; `reserve` seconds are kept for the report.
grace=10 reserve=5
remaining() { echo $((cap - SECONDS - reserve)); }

# --- Preflight: one line, and exit 1, for each thing that is missing. -------------------------
command -v nvidia-smi >/dev/null 2>&1 ||
  die "no NVIDIA GPU here: nvidia-smi not found (run this on a machine with an NVIDIA GPU and its driver)"
gpus=$(nvidia-smi -L 2>&1) || die "no usable NVIDIA GPU: nvidia-smi -L failed: $(printf '%s' "$gpus" | head -n 1)"
printf '%s\n' "$gpus" | grep -q '^GPU ' || die "no NVIDIA GPU: nvidia-smi -L lists none"
command -v nvcc >/dev/null 2>&1 ||
  die "nvcc not found on PATH: install the CUDA toolkit (README, \"GPU target: installing the CUDA toolkit\")"
command -v timeout >/dev/null 2>&1 || die "the timeout command (coreutils) is missing"

# colt as an absolute path: test binaries and tuning runs are started from other directories.
case $colt in
  */*) if [ ! -f "$colt" ] || [ ! -x "$colt" ]; then die "colt binary not found or not executable: $colt"; fi
       colt="$(cd "$(dirname "$colt")" && pwd)/$(basename "$colt")" ;;
  *) resolved=$(command -v "$colt") || die "colt binary not found: $colt"; colt=$resolved ;;
esac
if [ -n "$tests" ]; then
  [ -d "$tests" ] || die "--tests $tests is not a directory"
  tests=$(cd "$tests" && pwd)
fi
if [ -z "$work" ]; then
  work=$(mktemp -d ./gpu-check.XXXXXX) || die "cannot create a work dir in $(pwd)"
fi
mkdir -p "$work" || die "cannot create the work dir $work"
work=$(cd "$work" && pwd)

echo "## colt GPU check"
echo
printf '%s\n' "$gpus"
echo "nvcc: $(nvcc --version | tail -n 1)"
echo "colt: $colt; budget $budget per workload; cap ${cap}s; work dir $work"
echo

status=0

# --- GPU tests --------------------------------------------------------------------------------
# Each binary runs in its own directory (the package directory of the bundle's repository copy),
# so its testdata/ and ../colt.toml resolve as under go test. Tests may use at most a third of
# the cap, split evenly between the binaries still to run.
if [ -n "$tests" ]; then
  mapfile -t bins < <(find "$tests" -type f -name '*.test' | sort)
  if [ ${#bins[@]} -eq 0 ]; then
    echo "GPU tests: no *.test binaries under $tests"
    status=1
  fi
  test_end=$((SECONDS + cap / 3))
  left=${#bins[@]}
  for bin in "${bins[@]}"; do
    rel=${bin#"$tests"/}
    log="$work/tests/${rel%.test}.log"
    mkdir -p "$(dirname "$log")"
    limit=$(((test_end - SECONDS) / left))
    left=$((left - 1))
    if [ "$limit" -lt 5 ]; then
      echo "test $rel: FAIL: cut by cap (not run)"
      status=1
      continue
    fi
    start=$SECONDS
    (cd "$(dirname "$bin")" && timeout -k "$grace" "$((limit + 5))" "./$(basename "$bin")" \
        -test.run 'CUDA|GPU|Cuda' -test.count=1 -test.v -test.timeout "${limit}s") >"$log" 2>&1
    rc=$?
    took=$((SECONDS - start))
    ran=$(grep -c '^=== RUN   [^/]*$' "$log")
    if [ "$rc" -eq 0 ]; then
      if [ "$ran" -eq 0 ]; then
        echo "test $rel: no GPU tests (${took}s)"
      else
        echo "test $rel: PASS, $ran GPU tests (${took}s)"
      fi
    else
      status=1
      if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || grep -q '^panic: test timed out' "$log"; then
        echo "test $rel: FAIL: cut by cap after ${took}s; log $log"
      else
        echo "test $rel: FAIL (exit $rc, ${took}s); log $log"
      fi
      # The last lines of the log without the RUN/PASS/SKIP noise, not the whole log.
      grep -vE '^[[:space:]]*(=== (RUN|PAUSE|CONT|NAME)|--- (PASS|SKIP))' "$log" | tail -n 20 | sed 's/^/    | /'
    fi
  done
  echo
fi

# --- Tuning -----------------------------------------------------------------------------------
if [ -n "$only" ]; then
  IFS=, read -r -a workloads <<<"$only"
else
  # `colt workloads` prints NAME STAGES GFLOP MB SOURCE DESCRIPTION; a model's STAGES is "N tasks".
  list=$("$colt" workloads 2>&1) || die "$colt workloads failed: $(printf '%s' "$list" | head -n 1)"
  mapfile -t workloads < <(printf '%s\n' "$list" |
    awk 'NR > 1 && $2 ~ /^[0-9]+$/ && $3 != "tasks" && $5 == "built-in" { print $1 }')
  [ ${#workloads[@]} -gt 0 ] || die "no built-in single-task workload in the output of '$colt workloads'"
fi

# parse_report FILE: prints best<TAB>gflops<TAB>samples<TAB>failures<TAB>vendor_latency<TAB>vendor_library
# from a --json-out report (Go's encoding/json, 2-space indent); "-" for a missing value.
parse_report() {
  awk '
    function val(line) { sub(/^[^:]*:[[:space:]]*/, "", line); sub(/,[[:space:]]*$/, "", line); gsub(/"/, "", line); return line }
    BEGIN { best = "-"; gf = "-"; samples = "-"; fails = ""; vlat = "-"; vlib = "-"; sect = "" }
    sect == "" && /^  "best_latency_s":/ { best = val($0) }
    sect == "" && /^  "best_gflops":/ { gf = val($0) }
    sect == "" && /^  "samples":/ { samples = val($0) }
    sect == "" && /^  "failures": \{$/ { sect = "failures"; next }
    sect == "" && /^  "vendor": \{$/ { sect = "vendor"; next }
    sect != "" && /^  \}/ { sect = ""; next }
    sect == "failures" && /^    "/ {
      k = $0; sub(/^[[:space:]]*"/, "", k); sub(/".*/, "", k); n = val($0)
      if (n + 0 > 0) fails = fails (fails == "" ? "" : ", ") k " " n
    }
    sect == "vendor" && /^    "latency_s":/ { vlat = val($0) }
    sect == "vendor" && /^    "library":/ { vlib = val($0) }
    END {
      if (best == "null") best = "-"; if (gf == "null") gf = "-"; if (vlat == "null") vlat = "-"
      if (fails == "") fails = "none"
      printf "%s\t%s\t%s\t%s\t%s\t%s\n", best, gf, samples, fails, vlat, vlib
    }' "$1"
}

rows=()
n=${#workloads[@]}
i=0
best_found=0
for w in "${workloads[@]}"; do
  left=$((n - i))
  i=$((i + 1))
  json="$work/$w.json" log="$work/$w.log"
  rm -f "$json"
  share=$(($(remaining) / left))
  limit=$((share - grace))
  note=""
  if [ "$limit" -lt 10 ]; then
    echo "tune $w: cut by cap (not run: ${share}s left for it)"
    rows+=("$w	-	-	-	-	cut by cap (not run)	-")
    continue
  fi
  start=$SECONDS
  timeout -k "$grace" "$limit" "$colt" tune --target cuda --workload "$w" --budget "$budget" --headless \
    --work-dir "$work/$w" --json-out "$json" >"$log" 2>&1
  rc=$?
  took=$((SECONDS - start))
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    note="cut by cap"
    echo "tune $w: cut by cap after ${took}s (limit ${limit}s); log $log"
    grep -E '^colt: ' "$log" | grep -v 'interrupted' | tail -n 1 | sed 's/^/    | /'
  elif [ "$rc" -ne 0 ]; then
    note="exit $rc"
    echo "tune $w: exit $rc after ${took}s; log $log"
    grep -E '^colt: ' "$log" | tail -n 3 | sed 's/^/    | /'
  else
    echo "tune $w: done in ${took}s"
  fi
  if [ -s "$json" ]; then
    IFS=$'\t' read -r best gf samples fails vlat vlib < <(parse_report "$json")
    if [ "$best" != "-" ]; then best_found=1; fi
  else
    best=- gf=- samples=- vlat=- vlib=-
    fails="no report"
  fi
  if [ -n "$note" ]; then
    if [ "$fails" = none ]; then fails=$note; else fails="$note; $fails"; fi
  fi
  rows+=("$w	$best	$gf	$vlat	$vlib	$fails	$samples")
done

# --- Report -----------------------------------------------------------------------------------
echo
echo "| workload | best latency | GFLOP/s | cuBLAS latency | ratio to cuBLAS | failures by kind | samples |"
echo "|---|---:|---:|---:|---:|---|---:|"
printf '%s\n' "${rows[@]}" | awk -F '\t' '
  function lat(s) {
    if (s == "-" || s == "") return "—"
    s += 0
    if (s < 1e-3) return sprintf("%.1f µs", s * 1e6)
    if (s < 1) return sprintf("%.3f ms", s * 1e3)
    return sprintf("%.3f s", s)
  }
  {
    w = $1; best = $2; gf = $3; vlat = $4; vlib = $5; fails = $6; samples = $7
    vendor = lat(vlat)
    if (vendor != "—" && vlib != "-" && vlib != "cuBLAS") vendor = vendor " (" vlib ")"
    ratio = (vlat != "-" && best != "-" && best + 0 > 0) ? sprintf("%.2f", vlat / best) : "—"
    printf "| %s | %s | %s | %s | %s | %s | %s |\n", w, lat(best), (gf == "-" ? "—" : sprintf("%.1f", gf)), vendor, ratio, fails, (samples == "-" ? "—" : samples)
  }'
echo
echo "ratio to cuBLAS = cuBLAS latency / best latency (above 1: colt's kernel is faster). Logs and reports: $work"

if [ "$best_found" -eq 0 ]; then
  echo "gpu-check: FAIL: no workload produced a best latency" >&2
  status=1
fi
if [ "$status" -eq 0 ]; then
  echo "gpu-check: OK (${SECONDS}s)"
else
  echo "gpu-check: FAIL (${SECONDS}s)" >&2
fi
exit "$status"
