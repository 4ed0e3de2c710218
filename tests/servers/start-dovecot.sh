#!/bin/bash
# Adapted (copied and trimmed) from the verified test-server recipe
# (shared/docs/test-servers.md, start-dovecot.sh; Debian 12, Dovecot 2.3.19.1).
#
# Start a throw-away Dovecot (dovecot-imapd + dovecot-lmtpd) on 127.0.0.1 high
# ports; config, TLS, sockets, logs and mail all live under one directory.
# No systemd needed. Must run as root.
#
# usage: start-dovecot.sh [DIR]
#   DIR defaults to $MAILTEST_DIR, else a new `mktemp -d /tmp/mailtest.XXXXXX`.
#   Restart in place: stop-dovecot.sh DIR; start-dovecot.sh DIR. The Maildir,
#   the CA and the server cert are kept; the ports of the previous start are
#   reused unless given in the environment.
# env (defaults):
#   IMAP_PORT=10143    IMAP + STARTTLS (also on 127.0.0.2, where it is "not secured":
#                      LOGINDISABLED until STARTTLS)
#   IMAPS_PORT=10993   IMAP over implicit TLS
#   LMTP_PORT=10024    LMTP (used by Postfix; also handy to inject mail)
#   VMAIL_UID=5000 VMAIL_GID=5000  owner of all mail (need not exist in /etc/passwd; must not be 0)
#   TEST_USERS="alice:alicepw bob:bobpw digest:digestpw"   user:password pairs
#   MAIL_FSYNC=never   (Dovecot default 'optimized'; never = faster tests)
#   MAIL_DOMAIN=example.test
#   PYTHON=/usr/bin/python3 (for wait_ready.py)
# Prints "export ..." lines; they are also written to $DIR/env.sh
# ($DIR/env-dovecot.sh + $DIR/env-smtp.sh). Stop: stop-dovecot.sh DIR.
# Logs: $DIR/log/dovecot.log (server), $DIR/log/dovecot-start.log (daemon start).
set -euo pipefail

DIR=${1:-${MAILTEST_DIR:-}}
[ -n "$DIR" ] || DIR=$(mktemp -d /tmp/mailtest.XXXXXX)
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

# previous value of a setting (restart in place), from env-dovecot.sh
prev() {
  [ -f "$DIR/env-dovecot.sh" ] || return 0
  # shellcheck disable=SC1091
  ( . "$DIR/env-dovecot.sh" >/dev/null 2>&1; eval "printf '%s' \"\${$1:-}\"" )
}
IMAP_PORT=${IMAP_PORT:-$(prev IMAP_PORT)};     IMAP_PORT=${IMAP_PORT:-10143}
IMAPS_PORT=${IMAPS_PORT:-$(prev IMAPS_PORT)};  IMAPS_PORT=${IMAPS_PORT:-10993}
LMTP_PORT=${LMTP_PORT:-$(prev LMTP_PORT)};     LMTP_PORT=${LMTP_PORT:-10024}
VMAIL_UID=${VMAIL_UID:-$(prev VMAIL_UID)};     VMAIL_UID=${VMAIL_UID:-5000}
VMAIL_GID=${VMAIL_GID:-$(prev VMAIL_GID)};     VMAIL_GID=${VMAIL_GID:-5000}
TEST_USERS=${TEST_USERS:-$(prev TEST_USERS)};  TEST_USERS=${TEST_USERS:-"alice:alicepw bob:bobpw digest:digestpw"}
MAIL_DOMAIN=${MAIL_DOMAIN:-$(prev MAIL_DOMAIN)}; MAIL_DOMAIN=${MAIL_DOMAIN:-example.test}
MAIL_FSYNC=${MAIL_FSYNC:-never}
if [ -z "${PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi

[ "$(id -u)" = 0 ] || { echo "start-dovecot.sh: must run as root" >&2; exit 1; }
[ "$VMAIL_UID" != 0 ] || { echo "VMAIL_UID=0 is refused by dovecot ('userdb returned 0 as uid')" >&2; exit 1; }
command -v dovecot >/dev/null || { echo "start-dovecot.sh: no dovecot binary; run tests/servers/install-deps.sh" >&2; exit 1; }

# PITFALL: mktemp -d gives 0700; dovecot's auth process (user 'dovecot') and
# postfix's smtpd (user 'postfix') must traverse DIR -> 0755.
chmod 755 "$DIR"
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
if [ -f "$DIR/run/master.pid" ] && alive "$(cat "$DIR/run/master.pid")"; then
  echo "dovecot already running in $DIR (pid $(cat "$DIR/run/master.pid"))" >&2; exit 1
fi
# PITFALL: stale sockets from a previous run (e.g. anvil-auth-penalty) confuse a
# new instance -> always start with an empty base_dir (mail, state, tls are kept).
rm -rf "$DIR/run"
mkdir -p "$DIR/etc" "$DIR/tls" "$DIR/state" "$DIR/log" "$DIR/mail"
chown "$VMAIL_UID:$VMAIL_GID" "$DIR/mail"   # dovecot creates mail/<user>/Maildir as VMAIL_UID

# --- TLS: private CA + leaf cert (SAN localhost,mail.DOMAIN,127.0.0.1,127.0.0.2,::1)
# A real CA + CA:FALSE leaf with SAN is what rustls/webpki accept (a self-signed
# leaf used directly as trust anchor is rejected by webpki). Kept across restarts.
if [ ! -s "$DIR/tls/server.pem" ] || [ ! -s "$DIR/tls/fullchain.pem" ]; then
  ( cd "$DIR/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj "/CN=mailtest CA" -keyout ca.key -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:localhost,DNS:mail.$MAIL_DOMAIN,IP:127.0.0.1,IP:127.0.0.2,IP:::1" \
      "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth" > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -days 30 -extfile server.ext -out server.pem 2>/dev/null
    cat server.pem ca.pem > fullchain.pem
    chmod 600 ca.key server.key; chmod 644 ca.pem server.pem fullchain.pem )
fi

# --- users: passwd-file with plaintext passwords ----------------------------
: > "$DIR/etc/passwd"
for up in $TEST_USERS; do
  u=${up%%:*}; p=${up#*:}
  echo "$u:{PLAIN}$p::::::" >> "$DIR/etc/passwd"
done
chmod 644 "$DIR/etc/passwd"   # read by the auth process running as user 'dovecot'

cat > "$DIR/etc/dovecot.conf" <<EOF
# Throw-away Dovecot $(dovecot --version | cut -d' ' -f1) test instance, generated by start-dovecot.sh
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $DIR/run
state_dir = $DIR/state
instance_name = mailtest-$(basename "$DIR")
hostname = mail.$MAIL_DOMAIN
# no syslog daemon here: without log_path all logs would vanish
log_path = $DIR/log/dovecot.log
auth_verbose = yes
verbose_proctitle = yes

ssl = yes
ssl_cert = <$DIR/tls/fullchain.pem
ssl_key = <$DIR/tls/server.key
ssl_min_protocol = TLSv1.2
# ssl_dh not needed: EC key => ECDHE only

# Loopback connections (rip == lip) count as "secured": plaintext LOGIN works on
# 127.0.0.1 without STARTTLS despite this. Connect to 127.0.0.2 (rip 127.0.0.1
# != lip 127.0.0.2) to get LOGINDISABLED / forced STARTTLS.
disable_plaintext_auth = yes
auth_mechanisms = plain login
# fail fast in tests: 2s default delay -> ~0.5s minimum; no anvil IP penalty
auth_failure_delay = 0

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $DIR/etc/passwd
}
userdb {
  driver = static
  args = uid=$VMAIL_UID gid=$VMAIL_GID home=$DIR/mail/%n
}
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_fsync = $MAIL_FSYNC
mail_max_userip_connections = 200

service imap-login {
  inet_listener imap {
    port = $IMAP_PORT
  }
  inet_listener imap_nonlocal {
    address = 127.0.0.2
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    port = $LMTP_PORT
  }
}
protocol lmtp {
  postmaster_address = postmaster@$MAIL_DOMAIN
}
service auth {
  # SASL socket for Postfix smtpd (smtpd_sasl_type = dovecot)
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service anvil {
  # disable the per-IP auth penalty (up to 15 s per login after failures)
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
getent passwd postfix >/dev/null || sed -i '/unix_listener auth-postfix/,/}/{s/user = postfix/user = root/;s/group = postfix/group = root/}' "$DIR/etc/dovecot.conf"

doveconf -c "$DIR/etc/dovecot.conf" -n > /dev/null   # syntax check, fails loudly
t0=$(date +%s%N)
# Daemonizes; pid in run/master.pid. PITFALL: the daemon keeps the caller's
# stdout/stderr open -> a harness reading our output (Rust Command::output(),
# `| cat`) would hang forever. Redirect; startup errors go to log/dovecot-start.log.
dovecot -c "$DIR/etc/dovecot.conf" </dev/null >"$DIR/log/dovecot-start.log" 2>&1 || {
  rc=$?
  echo "dovecot failed to start (rc $rc):" >&2; cat "$DIR/log/dovecot-start.log" >&2
  tail -20 "$DIR/log/dovecot.log" >&2 2>/dev/null || true
  exit 1
}

# --- readiness: IMAP greeting, verified TLS handshake + greeting on IMAPS, LMTP 220
# (all listeners are bound by the master before it forks, so a TCP connect alone
#  proves nothing; cert/key problems only show up at the first TLS handshake)
if ! "$PYTHON" "$HERE/wait_ready.py" --timeout 15 --ca "$DIR/tls/ca.pem" \
      "imap:$IMAP_PORT" "imaps:$IMAPS_PORT" "lmtp:$LMTP_PORT"; then
  echo "dovecot did not become ready; log:" >&2; tail -20 "$DIR/log/dovecot.log" >&2; exit 1
fi
t1=$(date +%s%N)

{
  echo "export MAILTEST_DIR=$DIR"
  echo "export MAILTEST_CA=$DIR/tls/ca.pem"
  echo "export MAILTEST_DOVECOT_CONF=$DIR/etc/dovecot.conf"
  echo "export MAILTEST_DOVECOT_PID=$(cat "$DIR/run/master.pid")"
  echo "export IMAP_HOST=127.0.0.1"
  echo "export IMAP_PORT=$IMAP_PORT"
  echo "export IMAPS_PORT=$IMAPS_PORT"
  echo "export LMTP_PORT=$LMTP_PORT"
  echo "export MAIL_DOMAIN=$MAIL_DOMAIN"
  echo "export VMAIL_UID=$VMAIL_UID"
  echo "export VMAIL_GID=$VMAIL_GID"
  echo "export TEST_USERS=\"$TEST_USERS\""
} > "$DIR/env-dovecot.sh"
cat "$DIR/env-dovecot.sh" "$DIR/env-smtp.sh" 2>/dev/null > "$DIR/env.sh" || true
cat "$DIR/env-dovecot.sh"
echo "# dovecot ready in $(( (t1 - t0) / 1000000 )) ms" >&2
