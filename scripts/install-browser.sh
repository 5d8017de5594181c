#!/usr/bin/env bash
# Installs headless Chromium (Debian's `chromium` package) for the report's
# browser test, when it is missing and this user may install it (root with
# apt-get). Prints the browser's path on success. The test that needs it
# skips with a printed reason when it cannot be installed, so `make test`
# still passes on a machine without a browser or a network.
set -u
for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
    exit 0
  fi
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing: not root or no apt-get, cannot install it" >&2
  exit 1
fi
echo "installing chromium (headless browser for the report test)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1
  if ! apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
    echo "could not install chromium with apt-get" >&2
    exit 1
  fi
fi
command -v chromium
