#!/usr/bin/env bash
# The project's test command:
#
#   bash scripts/test.sh [CARGO TEST ARGS...]
#   e.g. bash scripts/test.sh --test rig_selftest -- --nocapture
#
# 1. tests/servers/install-deps.sh: installs the Debian packages the integration
#    tests need (Dovecot, Postfix, openssl, python3, strace, systemd) if any is
#    missing; fast no-op otherwise.
# 2. cargo test --locked --all-targets "$@"; exits with cargo's status.
#
# The integration tests start their own throw-away Dovecot/Postfix instances on
# free loopback ports (tests/support/rig.rs), so nothing is started here. They
# need root. Set KEEP_MAILTEST=1 to keep the servers' directories (/tmp/mailtest.*)
# for inspection.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# dovecot, doveconf and postfix live in /usr/sbin, which not every PATH has
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin ;; esac
case ":$PATH:" in *:/sbin:*) ;; *) PATH=$PATH:/sbin ;; esac
export PATH

if [ "$(id -u)" != 0 ]; then
  echo "scripts/test.sh: must run as root (the integration tests start Dovecot and Postfix)" >&2
  exit 1
fi

bash tests/servers/install-deps.sh

missing=()
for bin in dovecot doveconf postfix openssl pgrep; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
[ -x /usr/bin/python3 ] || missing+=(/usr/bin/python3)
getent passwd postfix >/dev/null || missing+=("user postfix")
getent passwd dovecot >/dev/null || missing+=("user dovecot")
if [ ${#missing[@]} -ne 0 ]; then
  echo "scripts/test.sh: FATAL: missing after tests/servers/install-deps.sh: ${missing[*]}" >&2
  echo "scripts/test.sh: the integration tests cannot start their IMAP/SMTP servers; not running them." >&2
  exit 1
fi

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

exec cargo test --locked --all-targets "$@"
