#!/usr/bin/env bash
# make flake-check: runs every kernel-facing test binary ROUNDS times
# (default 20) with a CPU hog on every CPU, and prints the failures per
# test. A test that fails one run in fifty is a broken test: it asserts what
# the kernel usually does, not what it guarantees.
#
#   ROUNDS=20 bash scripts/flake-check.sh          (what `make flake-check` runs)
#   ROUNDS=5 HOG=0 bash scripts/flake-check.sh     (no CPU hog)
#   ONLY=kernel bash scripts/flake-check.sh        (binaries whose name matches)
#
# The binaries run from their package's folder, as `cargo test` runs them.
# Logs of failed runs stay in target/flake-check/ (removed at the start of
# the next check). The hog processes are killed on exit, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-20}
hog=${HOG:-1}
only=${ONLY:-}
# Integration tests that touch no kernel behaviour (rendering, file formats).
pure="report result_files figures class"

logs=target/flake-check
rm -rf "$logs"
mkdir -p "$logs"

echo "flake-check: building the test binaries"
list=$(cargo test --workspace --release --locked --no-run --message-format=json 2>/dev/null |
  python3 -c '
import json, os, sys
pure = set(sys.argv[1].split())
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    t = m["target"]
    if t["kind"] != ["test"] or t["name"] in pure:
        continue
    pkg = os.path.dirname(m["manifest_path"])
    print("\t".join([pkg, t["name"], m["executable"]]))
' "$pure")
if [ -n "$only" ]; then
  list=$(printf '%s\n' "$list" | awk -F'\t' -v only="$only" 'index($2, only) || index($1, only)')
fi
[ -n "$list" ] || { echo "flake-check: no test binaries found" >&2; exit 2; }
n_binaries=$(printf '%s\n' "$list" | wc -l)

hogs=()
cleanup() {
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ "$hog" = 1 ]; then
  for _ in $(seq "$(nproc)"); do
    (while :; do :; done) &
    hogs+=($!)
  done
fi
echo "flake-check: $n_binaries kernel-facing test binaries x $rounds rounds, CPU hog on $([ "$hog" = 1 ] && nproc || echo 0) CPU(s)"

declare -A failures=()
runs=0
failed_runs=0
started=$(date +%s)
for round in $(seq "$rounds"); do
  while IFS=$'\t' read -r pkg name exe; do
    runs=$((runs + 1))
    log="$logs/round$round-$(basename "$pkg")-$name.log"
    if (cd "$pkg" && "$exe") >"$log" 2>&1; then
      rm -f "$log"
      continue
    fi
    failed_runs=$((failed_runs + 1))
    tests=$(grep -E '^test .* \.\.\. FAILED$' "$log" | sed -E 's/^test (.*) \.\.\. FAILED$/\1/' || true)
    [ -n "$tests" ] || tests="(the whole binary failed: see $log)"
    while IFS= read -r t; do
      key="$(basename "$pkg")/$name: $t"
      failures[$key]=$(( ${failures[$key]:-0} + 1 ))
    done <<<"$tests"
  done <<<"$list"
  echo "flake-check: round $round of $rounds done ($(( $(date +%s) - started )) s, $failed_runs failed run(s) so far)"
done

echo
if [ ${#failures[@]} -eq 0 ]; then
  echo "flake-check: 0 failures in $rounds rounds ($runs binary runs) of $n_binaries test binaries"
  exit 0
fi
echo "flake-check: failures per test in $rounds rounds (logs in $logs):"
for key in "${!failures[@]}"; do
  printf '  %3d of %d  %s\n' "${failures[$key]}" "$rounds" "$key"
done | sort -rn
exit 1
