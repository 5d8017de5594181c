#!/usr/bin/env bash
# make test-unprivileged (as root): the test binaries run as an unprivileged
# user (nobody, uid 65534), the way a student without root runs them. Every
# check that needs what that user lacks must say SKIPPED with its reason;
# nothing may fail.
#
# The tests write next to their package (a data folder on a disk filesystem,
# never tmpfs) and under the build's target/tmp, so they run in a copy of
# the tracked files owned by that user, built here by root into the copy's
# own target folder (paths compiled into the binaries point into the copy).
# The copy lives under /var/tmp and is removed on exit, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test-unprivileged: run as root (it switches to uid 65534)" >&2; exit 2; }
command -v setpriv >/dev/null || { echo "test-unprivileged: needs setpriv (util-linux)" >&2; exit 2; }
uid=65534
gid=65534

copy=$(mktemp -d /var/tmp/mmlab-unprivileged.XXXXXX)
cleanup() { rm -rf "$copy"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$copy"
echo "test-unprivileged: building the tests in $copy (as root)"
(cd "$copy" && cargo test --workspace --release --locked --no-run --message-format=json 2>"$copy/build.log") >"$copy/artifacts.json" || {
  tail -20 "$copy/build.log" >&2
  exit 1
}
mkdir -p "$copy/target/tmp"
chown -R "$uid:$gid" "$copy"
chmod 755 "$copy"

list=$(python3 -c '
import json, os, sys
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(os.path.dirname(m["manifest_path"]) + "\t" + m["executable"])
' "$copy/artifacts.json")

log="$copy/skips.log"
: >"$log"
chown "$uid:$gid" "$log"
status=0
failed=()
while IFS=$'\t' read -r pkg exe; do
  name="$(basename "$pkg")/$(basename "$exe")"
  if ! (cd "$pkg" && env -i PATH="$PATH" HOME="$copy" MMLAB_SKIP_LOG="$log" \
      setpriv --reuid="$uid" --regid="$gid" --clear-groups "$exe" -q 2>&1); then
    status=1
    failed+=("$name")
  fi
done <<<"$list"

echo
if [ -s "$log" ]; then
  echo "test-unprivileged: $(wc -l <"$log") check(s) skipped as uid $uid:"
  sort "$log"
fi
if [ $status -ne 0 ]; then
  echo "test-unprivileged: FAILED as uid $uid: ${failed[*]}" >&2
  exit 1
fi
echo "test-unprivileged: every test binary passed as uid $uid"
