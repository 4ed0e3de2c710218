#!/bin/bash
# Install the Debian packages the integration tests need, if any is missing.
# Adapted from the install step of the verified test-server recipe
# (shared/docs/test-servers.md, section 1). Debian 12, must run as root.
#
#   dovecot-imapd dovecot-lmtpd  test IMAP server (+ LMTP for Postfix delivery)
#   postfix                      test SMTP server (SASL via Dovecot, LMTP delivery)
#   openssl                      test CA + server certificate
#   procps                       pgrep (stop scripts)
#   python3                      wait_ready.py, SMTP client in tests
#   strace                       tests that inspect the daemon's syscalls
#   systemd                      systemd-analyze (unit file checks)
#
# Idempotent: when everything is installed it only runs dpkg-query (~50 ms) and
# never touches the network. Otherwise: apt-get update once, then a
# non-interactive install without recommends.
set -euo pipefail

PKGS=(dovecot-imapd dovecot-lmtpd postfix openssl procps python3 strace systemd)

missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "install-deps.sh: missing packages (${missing[*]}) and not root; install them with:" >&2
  echo "  sudo $0" >&2
  exit 1
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# "No configuration": no /etc/postfix/main.cf, no questions; the tests run
# Postfix with their own config dir (postfix -c DIR).
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# wait for a concurrent apt/dpkg (e.g. unattended upgrades) instead of failing
APT=(apt-get -q -o DPkg::Lock::Timeout=600)
"${APT[@]}" update
"${APT[@]}" install -y --no-install-recommends "${missing[@]}"

# Only services started by the tests may run. Images without a policy-rc.d let
# the postinst start a system dovecot (ports 143/993); stop it by its pid file.
# (Postfix with "No configuration" has no main.cf and is never started.)
if [ -s /run/dovecot/master.pid ]; then
  pid=$(cat /run/dovecot/master.pid)
  if kill -TERM "$pid" 2>/dev/null; then echo "install-deps.sh: stopped system dovecot ($pid)" >&2; fi
fi

still=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || still+=("$p")
done
if [ ${#still[@]} -ne 0 ]; then
  echo "install-deps.sh: still missing after apt-get install: ${still[*]}" >&2
  exit 1
fi
