#!/bin/bash
# Adapted (copied and trimmed: Postfix only) from the verified test-server recipe
# (shared/docs/test-servers.md, stop-smtp.sh).
#
# usage: stop-smtp.sh [DIR]   stops the Postfix that start-smtp.sh started in DIR
# (same as `postfix -c DIR/postfix/etc stop`: SIGTERM to the master, which stops
# its children; then wait until all are gone). The queue is kept. ~0.05 s.
set -u
# PITFALL: kill -0 also succeeds on zombies; daemonized servers are orphans and
# PID 1 here (not a real init) reaps them up to ~2 s late -> test the state.
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
waitgone() { for _ in $(seq 1 250); do alive "$1" || return 0; sleep 0.02; done; return 1; }
DIR=${1:-${MAILTEST_DIR:?usage: stop-smtp.sh DIR}}
PF=$DIR/postfix/spool/pid/master.pid
[ -f "$PF" ] || exit 0   # not running
PID=$(tr -d ' ' < "$PF")
KIDS=$(pgrep -P "$PID" | tr '\n' ' ')
if kill -TERM "$PID" 2>/dev/null; then
  waitgone "$PID" || { echo "postfix master $PID alive after 5s: SIGKILL" >&2; kill -KILL "$PID"; }
fi
for k in $KIDS; do waitgone "$k" || kill -KILL "$k" 2>/dev/null; done
rm -f "$PF"
exit 0
