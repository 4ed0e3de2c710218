#!/bin/bash
# Checks the units as CI does: `systemd-analyze verify` is clean and the system unit's
# exposure score is at most 1.5. Needs the built binary (verify checks ExecStart exists),
# so the unit is verified as a copy whose ExecStart points at target/debug.
# usage: systemd/check.sh [BINARY]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../target/debug/invite-digest}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
[ -x "$bin" ] || { echo "systemd/check.sh: build the binary first ($bin missing)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/local/bin/invite-digest|$bin|" "$here/invite-digest.service" > "$tmp/invite-digest.service"
out=$(systemd-analyze verify "$tmp/invite-digest.service" 2>&1 || true)
if [ -n "$out" ]; then echo "systemd-analyze verify reported:"; echo "$out"; exit 1; fi
score=$(systemd-analyze security --offline=true "$tmp/invite-digest.service" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "exposure score: ${score:-unknown}"
awk -v s="${score:-99}" 'BEGIN { exit !(s <= 1.5) }' || { echo "exposure $score is above 1.5" >&2; exit 1; }
sed "s|%h/.cargo/bin/invite-digest|$bin|" "$here/invite-digest.user.service" > "$tmp/invite-digest-user.service"
# `verify --user` sets up a user manager, which needs $XDG_RUNTIME_DIR; CI (root, no login
# session) has none: "Failed to lookup RuntimeDirectory path: No such device or address".
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
  export XDG_RUNTIME_DIR=$tmp/run
  mkdir -m 0700 "$XDG_RUNTIME_DIR"
fi
out=$(systemd-analyze verify --user "$tmp/invite-digest-user.service" 2>&1 || true)
if [ -n "$out" ]; then echo "systemd-analyze verify --user reported:"; echo "$out"; exit 1; fi
echo "systemd units: ok"
