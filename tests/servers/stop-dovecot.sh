#!/bin/bash
# Adapted from the verified test-server recipe (shared/docs/test-servers.md,
# stop-dovecot.sh); changed: children that outlive the master are given a short
# common grace period instead of up to 2 s each (see below), and --kill.
#
# usage: stop-dovecot.sh [--kill] [DIR]  (DIR defaults to $MAILTEST_DIR)
# Default: SIGTERM to the Dovecot master (it tells clients "* BYE Server shutting
# down" and takes its children down), then wait until all of them are gone. Takes
# ~1.1 s (the master sleeps a hard-coded 1 s on shutdown), ~1.2 s with clients.
# --kill: SIGKILL the master and all its children at once (~0.05 s); for teardown,
# when the data is thrown away anyway.
# Leaves the Maildir, CA/cert, config and logs in place, so start-dovecot.sh DIR
# restarts the same instance (same ports, same data).
set -u
KILL=
if [ "${1:-}" = --kill ]; then KILL=1; shift; fi
# PITFALL: kill -0 also succeeds on zombies; daemonized servers are orphans and
# PID 1 here (not a real init) reaps them up to ~2 s late -> test the state.
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
any_alive() { for p in "$@"; do alive "$p" && return 0; done; return 1; }
DIR=${1:-${MAILTEST_DIR:?usage: stop-dovecot.sh [--kill] DIR}}
PIDF=$DIR/run/master.pid
[ -f "$PIDF" ] || exit 0   # not running
PID=$(cat "$PIDF")
if ! alive "$PID"; then rm -f "$PIDF"; exit 0; fi
# shellcheck disable=SC2207
KIDS=($(pgrep -P "$PID"))
if [ -n "$KILL" ]; then
  kill -KILL "$PID" "${KIDS[@]}" 2>/dev/null
else
  kill -TERM "$PID" 2>/dev/null
  for _ in $(seq 1 250); do alive "$PID" || break; sleep 0.02; done
  alive "$PID" && { echo "dovecot $PID alive after 5s: SIGKILL" >&2; kill -KILL "$PID"; }
  # PITFALL (found while adapting): children serving an external client outlive
  # the master: with an IMAP client connected, imap + imap-login (and, waiting on
  # them, log/config/anvil/stats) stay ~10 s after the BYE unless the client
  # closes its end; with Postfix running, auth (Postfix's SASL connection), stats
  # and log stay until Postfix goes. The listeners are closed by then; give the
  # children 0.1 s together, then SIGKILL (clients see the connection drop).
  for _ in $(seq 1 5); do any_alive "${KIDS[@]}" || break; sleep 0.02; done
  for k in "${KIDS[@]}"; do alive "$k" && kill -KILL "$k" 2>/dev/null; done
fi
for _ in $(seq 1 250); do any_alive "$PID" "${KIDS[@]}" || break; sleep 0.02; done
rm -f "$PIDF"   # dovecot removes it itself on clean exit
exit 0
