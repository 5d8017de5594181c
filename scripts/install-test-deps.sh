#!/usr/bin/env bash
# Installs the system tools some tests compare against (perf, strace) and
# the mkfs programs of the scratch filesystems (xfsprogs, btrfs-progs) when
# they are missing and this user may install them (root with apt-get). The
# tests that need a missing tool skip with a printed reason, so `make test`
# still passes where nothing can be installed.
set -u
here=$(dirname "$0")
# The report's browser test needs headless Chromium (it skips without it).
bash "$here/install-browser.sh" >/dev/null || echo "chromium unavailable: the report's browser test will skip"
# `mmlab kernels`' tests boot a Debian kernel under qemu (they skip without it).
bash "$here/install-kernels-deps.sh" >/dev/null 2>&1 || echo "qemu/busybox unavailable: the mmlab kernels boot tests will skip"
need=()
command -v perf >/dev/null 2>&1 || need+=(linux-perf)
command -v strace >/dev/null 2>&1 || need+=(strace)
PATH=$PATH:/usr/sbin:/sbin
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
command -v mkfs.xfs >/dev/null 2>&1 || need+=(xfsprogs)
command -v mkfs.btrfs >/dev/null 2>&1 || need+=(btrfs-progs)
if [ ${#need[@]} -eq 0 ]; then
  echo "test tools present: perf, strace, mkfs.ext4, mkfs.xfs, mkfs.btrfs"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing test tools (${need[*]}): not root or no apt-get; the tests that compare against them will skip"
  exit 0
fi
echo "installing test tools: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || echo "could not install ${need[*]}; the tests that compare against them will skip"
fi
exit 0
