#!/usr/bin/env bash
# gpu-bundle.sh OUT_DIR: builds what scripts/gpu-check.sh needs on a GPU machine that has no Go
# toolchain, run here (with Go):
#
#   OUT_DIR/colt            static linux/amd64 colt (CGO_ENABLED=0)
#   OUT_DIR/gpu-check.sh    the check script
#   OUT_DIR/tests/          a copy of the repository's layout holding only what the tests need:
#                           PKG/PKG.test (go test -c) beside PKG/testdata/, and the files the
#                           tests reach through ../ (such as colt.toml); gpu-check.sh runs each
#                           binary in its own directory, as go test would
#   OUT_DIR/MANIFEST        what was built and what was skipped
#
# Then carry OUT_DIR to the GPU machine and run: cd OUT_DIR && ./gpu-check.sh --colt ./colt --tests ./tests
# Test binaries are built for backend, schedule and core, and for any other package with a test
# whose name matches gpu-check.sh's -test.run pattern (CUDA|GPU|Cuda); a package whose tests do not
# compile is skipped with a warning.
set -euo pipefail

die() { echo "gpu-bundle: $*" >&2; exit 1; }
if [ $# -ne 1 ] || [ -z "$1" ]; then echo "usage: scripts/gpu-bundle.sh OUT_DIR" >&2; exit 2; fi
command -v go >/dev/null 2>&1 || die "go is not on PATH (the bundle is built where Go is installed)"

repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
case $out/ in "$repo"/*) echo "gpu-bundle: note: $out is inside the repository; go commands skip it only if it is ignored" >&2 ;; esac
cd "$repo"

export CGO_ENABLED=0 GOOS=linux GOARCH=amd64
rm -rf "$out/tests" "$out/colt" "$out/gpu-check.sh" "$out/MANIFEST"
mkdir -p "$out/tests"

echo "gpu-bundle: building colt"
go build -trimpath -ldflags='-s -w' -o "$out/colt" .
cp scripts/gpu-check.sh "$out/gpu-check.sh"
chmod +x "$out/gpu-check.sh"
{
  echo "colt GPU bundle, built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
  echo "run: ./gpu-check.sh --colt ./colt --tests ./tests"
} >"$out/MANIFEST"

# Packages to build tests for: the three named ones plus any with a GPU test by name.
pkgs=(backend schedule core)
while IFS= read -r dir; do
  dir=${dir#./}
  [ -z "$dir" ] && dir=.
  case " ${pkgs[*]} " in *" $dir "*) ;; *) pkgs+=("$dir") ;; esac
done < <(grep -rlE --include='*_test.go' '^func Test[[:alnum:]_]*(CUDA|GPU|Cuda)' . 2>/dev/null |
  xargs -r -n 1 dirname | sort -u)

built=0
for dir in "${pkgs[@]}"; do
  if [ "$dir" = . ]; then name=colt; else name=$(basename "$dir"); fi
  dest="$out/tests/$dir"
  mkdir -p "$dest"
  echo "gpu-bundle: building tests of ./$dir"
  if ! errs=$(go test -c -vet=off -ldflags='-s -w' -o "$dest/$name.test" "./$dir" 2>&1); then
    echo "gpu-bundle: WARNING: the tests of ./$dir do not compile; skipped:" >&2
    printf '%s\n' "$errs" | head -n 10 | sed 's/^/    /' >&2
    echo "skipped ./$dir (tests do not compile)" >>"$out/MANIFEST"
    rm -f "$dest/$name.test"
    rmdir -p "$dest" 2>/dev/null || true
    continue
  fi
  if [ ! -f "$dest/$name.test" ]; then # a package without test files
    echo "skipped ./$dir (no tests)" >>"$out/MANIFEST"
    continue
  fi
  built=$((built + 1))
  echo "tests/$dir/$name.test" >>"$out/MANIFEST"
  if [ -d "$dir/testdata" ]; then
    cp -R "$dir/testdata" "$dest/"
  fi
  # Files the tests name through ../ (core's tests load ../colt.toml).
  for ref in $(grep -ohE '"(\.\./)+[A-Za-z0-9_.-][A-Za-z0-9_./-]*"' "$dir"/*_test.go 2>/dev/null | tr -d '"' | sort -u); do
    src=$dir/$ref
    [ -e "$src" ] || continue
    case $(realpath -m "$src") in "$repo"/*) ;; *) continue ;; esac
    target="$dest/$ref"
    mkdir -p "$(dirname "$target")"
    cp -R "$src" "$target"
  done
done
[ "$built" -gt 0 ] || echo "gpu-bundle: WARNING: no test binary was built; gpu-check.sh --tests will fail" >&2

echo "gpu-bundle: $out ($(du -sh "$out" | cut -f 1)); on the GPU machine: cd $(basename "$out") && ./gpu-check.sh --colt ./colt --tests ./tests"
