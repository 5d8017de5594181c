#!/usr/bin/env bash
# Installs what `mmlab kernels` needs to boot another kernel under qemu:
# qemu-system-x86 (the emulator), busybox-static (the guest's shell and
# tools), kmod (modprobe --show-depends finds the guest's modules) and cpio
# (the initramfs). Root with apt-get only; `make experiments` never runs it.
set -u
PATH=$PATH:/usr/sbin:/sbin
need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' \
  || dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v modprobe >/dev/null 2>&1 || need+=(kmod)
command -v cpio >/dev/null 2>&1 || need+=(cpio)
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
if [ ${#need[@]} -eq 0 ]; then
  echo "kernels tools present: qemu-system-x86_64, busybox (static), modprobe, cpio, mkfs.ext4"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing (${need[*]}): install them as root with apt-get (or your distribution's tool); \`mmlab kernels\` needs them" >&2
  exit 1
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || { echo "could not install ${need[*]}" >&2; exit 1; }
fi
echo "installed: ${need[*]}"
