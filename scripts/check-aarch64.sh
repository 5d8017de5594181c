#!/usr/bin/env bash
# The aarch64 build, checked on an x86_64 machine: cross-compiles the whole
# workspace for aarch64-unknown-linux-gnu (so code behind
# cfg(target_arch = "aarch64") cannot rot), then runs `mmlab run prot-flags`
# under qemu-aarch64 (user-mode emulation) and checks that the aarch64
# machine-code stub returns 42 from every executable mapping and that
# non-executable ones fault.
#
# Only the exec cases are checked: qemu-user emulates mmap itself, so other
# cases (MAP_FIXED_NOREPLACE, MAP_POPULATE, ...) show qemu's behaviour, not
# the kernel's; and ptrace, perf events and the tracer are not run at all.
#
# Installs what it needs (rustup's aarch64 target; Debian's
# gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user) as root with
# apt-get. Where they cannot be installed (no network, not root), it says
# SKIPPED with the reason and exits 0, like the tests that need a missing
# tool, unless MMLAB_REQUIRE names `aarch64` (CI on a machine that can do
# it): then a skip fails. A failed build or a wrong result always fails.
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu

skip() {
  if [[ ",${MMLAB_REQUIRE:-}," == *,aarch64,* ]]; then
    echo "check-aarch64: FAILED: MMLAB_REQUIRE demands aarch64, which is missing: $*" >&2
    exit 1
  fi
  echo "check-aarch64: SKIPPED: $*" >&2
  exit 0
}
[ "$(uname -m)" = x86_64 ] || skip "this check cross-builds from x86_64; on $(uname -m) make test covers it"
command -v rustup >/dev/null 2>&1 || skip "no rustup to install the $target target"
if ! rustup target list --installed | grep -qx "$target"; then
  echo "check-aarch64: installing the rust target $target"
  rustup target add "$target" >/dev/null 2>&1 || skip "cannot install the rust target $target (rustup target add failed)"
fi
need=()
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null 2>&1 || need+=(qemu-user)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    skip "missing ${need[*]}, and installing them needs root and apt-get"
  fi
  echo "check-aarch64: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1
  } || skip "cannot install ${need[*]} with apt-get"
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# Debug profile: this checks code, not speed, and builds faster.
cargo build --locked --workspace --all-targets --target "$target" --target-dir target/aarch64
binary=target/aarch64/$target/debug/mmlab

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM
qemu-aarch64 -L /usr/aarch64-linux-gnu "$binary" run prot-flags --quiet \
  --out "$scratch/out" --data-dir "$scratch" >"$scratch/log" 2>&1 || {
  cat "$scratch/log" >&2
  echo "check-aarch64: mmlab run prot-flags failed under qemu-aarch64" >&2
  exit 1
}
python3 - "$scratch/out/prot-flags.json" <<'EOF'
import json, sys
result = json.load(open(sys.argv[1]))
stub = result["params"]["exec_stub_hex"]
exec_cases = {c["id"]: c["observed"] for c in result["cases"]
              if c["id"].endswith("-exec") and c["id"].startswith(("prot-", "mprotect-jit"))}
expected = {
    "prot-none-exec": "signal SIGSEGV/SEGV_ACCERR",
    "prot-r-exec": "signal SIGSEGV/SEGV_ACCERR",
    "prot-w-exec": "signal SIGSEGV/SEGV_ACCERR",
    "prot-rw-exec": "signal SIGSEGV/SEGV_ACCERR",
    "prot-x-exec": "ok: returned 42",
    "prot-rx-exec": "ok: returned 42",
    "prot-rwx-exec": "ok: returned 42",
    "mprotect-jit-rw-to-rx-exec": "ok: returned 42",
}
wrong = {k: (exec_cases.get(k), v) for k, v in expected.items() if exec_cases.get(k) != v}
for case, (observed, wanted) in wrong.items():
    print(f"check-aarch64: {case}: observed {observed!r}, expected {wanted!r}", file=sys.stderr)
if wrong:
    sys.exit(1)
print(f"check-aarch64: the workspace builds for aarch64; under qemu-aarch64 the stub ({stub}) "
      f"returned 42 from {sum(v.endswith('42') for v in expected.values())} executable mappings "
      f"and the {sum(v.startswith('signal') for v in expected.values())} non-executable ones faulted")
EOF
