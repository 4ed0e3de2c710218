#!/bin/bash
# Adapted from the verified test-server recipe (shared/docs/test-servers.md, teardown.sh).
#
# usage: teardown.sh DIR [--keep]   stop Postfix + Dovecot of DIR, then rm -rf DIR
# Dovecot gets SIGKILL (~0.05 s instead of ~1.1 s) unless --keep, which stops it
# gracefully and leaves DIR for inspection. DIR is only removed when under /tmp.
set -u
DIR=${1:?usage: teardown.sh DIR [--keep]}
HERE=$(cd "$(dirname "$0")" && pwd)
"$HERE/stop-smtp.sh" "$DIR"
if [ "${2:-}" = --keep ]; then
  "$HERE/stop-dovecot.sh" "$DIR"; exit 0   # graceful: complete logs for inspection
fi
"$HERE/stop-dovecot.sh" --kill "$DIR"     # data is thrown away: skip the 1.1 s graceful stop
case "$DIR" in
  /tmp/*) rm -rf "$DIR" ;;
  *) echo "teardown.sh: not removing $DIR (outside /tmp)" >&2 ;;
esac
