#!/usr/bin/env bash
# Issue 5: every system call the daemon makes must be allowed by the unit's
# SystemCallFilter=, or systemd answers it with EPERM (SystemCallErrorNumber=EPERM) and
# the service misbehaves in production only.
#
#   bash scripts/syscall-check.sh [BINARY]     (default: target/debug/invite-digest)
#
# 1. Starts a throw-away Dovecot + Postfix (tests/servers/start-*.sh, as the test rig
#    does) on free loopback ports, in /tmp/mailtest.syscall.XXXXXX.
# 2. Writes a config like the end-to-end tests' (IMAPS with the rig's CA, submission with
#    STARTTLS + AUTH, after_processing actions) and APPENDs synthetic invitations.
# 3. Runs under `strace -f -qq -c`, as an unprivileged uid like the unit's DynamicUser=
#    (as root, SQLite fchown()s its journal to the database owner; a dynamic user never
#    does): `poll --once`, `pending`, `digest --now --dry-run`, `digest --now` (sends over
#    SMTP), then the daemon `run` with a digest slot every 2 s, IMAP IDLE, NOTIFY_SOCKET
#    and a watchdog, a new invitation while it runs, SIGHUP, then SIGTERM (it must exit
#    within the unit's TimeoutStopSec=15s).
# 4. Reads the syscall names from strace's summary tables and checks each against the
#    effective filter of systemd/invite-digest.service: the allow-list (its first
#    SystemCallFilter=, plus @default, which systemd always allows with an allow-list)
#    minus every group and name of the `~` lines, each group expanded recursively with
#    `systemd-analyze syscall-filter`.
# Fails listing every syscall outside the filter, with the phase that made it and the
# groups that contain it; also fails when `run` does not exit within 15 s of SIGTERM. Servers are torn down on exit (also on failure or Ctrl-C);
# KEEP_MAILTEST=1 keeps the directory (strace tables, logs) for inspection.
#
# Needs root (Dovecot, Postfix), strace, systemd-analyze, python3: the packages of
# tests/servers/install-deps.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVERS=$ROOT/tests/servers
# SYSCALL_CHECK_UNIT: another unit file to check against (to test this script).
UNIT=${SYSCALL_CHECK_UNIT:-$ROOT/systemd/invite-digest.service}
BIN=${1:-$ROOT/target/debug/invite-digest}
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin ;; esac
export PATH
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

die() { echo "syscall-check: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (starts Dovecot and Postfix)"
[ -x "$BIN" ] || die "no binary at $BIN; run cargo build --locked first"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
for c in strace setpriv systemd-analyze dovecot postfix openssl; do
  command -v "$c" >/dev/null 2>&1 || die "$c not found; run tests/servers/install-deps.sh"
done

# ---- the unit's effective filter ------------------------------------------------------

# Recursively expands a group (or returns a plain name) to syscall names, one a line.
expand() {
  local item=$1 out line
  if [[ $item != @* ]]; then echo "$item"; return; fi
  out=$(systemd-analyze syscall-filter --no-pager "$item" 2>&1) || {
    echo "systemd-analyze syscall-filter $item: $out" >&2; return 1; }
  while IFS= read -r line; do
    line=${line#"${line%%[![:space:]]*}"}   # strip leading blanks
    case "$line" in ''|'#'*|"$item") continue ;; esac
    if [[ $line == @* ]]; then expand "$line" || return 1; else echo "$line"; fi
  done <<<"$out"
}

# Every group systemd knows, expanded once: GROUP[@name]=" a b c ".
mapfile -t ALL_GROUPS < <(systemd-analyze syscall-filter --no-pager 2>/dev/null | sed -n 's/^\(@[a-z0-9-]*\)$/\1/p')
[ ${#ALL_GROUPS[@]} -gt 10 ] || die "systemd-analyze syscall-filter lists no groups"
declare -A GROUP=()
for g in "${ALL_GROUPS[@]}"; do
  list=$(expand "$g") || die "cannot expand $g"
  [ -n "$list" ] || die "systemd-analyze syscall-filter $g lists nothing"
  GROUP[$g]=" $(tr '\n' ' ' <<<"$list")"
done
members() {   # names of a filter item (group or syscall)
  if [[ $1 == @* ]]; then
    [ -n "${GROUP[$1]:-}" ] || die "unknown syscall group $1 in $UNIT"
    # shellcheck disable=SC2086  # deliberately split into one name per word
    echo ${GROUP[$1]}
  else
    echo "$1"
  fi
}
groups_of() {
  local g hits=()
  for g in "${ALL_GROUPS[@]}"; do
    [ "$g" = @known ] && continue
    [[ ${GROUP[$g]} == *" $1 "* ]] && hits+=("$g")
  done
  echo "${hits[*]:-(in no group)}"
}

# The unit's SystemCallFilter= lines, in order. systemd: the first one decides allow-list
# (no `~`) or deny-list; with an allow-list, @default is always allowed; each later `~`
# line removes its syscalls, each later plain line adds.
mapfile -t FILTER_LINES < <(sed -n 's/^[[:space:]]*SystemCallFilter=[[:space:]]*//p' "$UNIT")
[ ${#FILTER_LINES[@]} -gt 0 ] || die "$UNIT has no SystemCallFilter="
[[ ${FILTER_LINES[0]} != "~"* ]] || die "the first SystemCallFilter= of $UNIT is a deny list; this check expects an allow-list first"
declare -A ALLOWED=()
ALLOW_DESC=()
DENY_DESC=()
for l in "@default" "${FILTER_LINES[@]}"; do
  if [[ $l == "~"* ]]; then
    DENY_DESC+=("${l#"~"}")
    for item in ${l#"~"}; do for s in $(members "$item"); do unset "ALLOWED[$s]"; done; done
  else
    [ "$l" = "@default" ] || ALLOW_DESC+=("$l")
    for item in $l; do for s in $(members "$item"); do ALLOWED[$s]=1; done; done
  fi
done
echo "--- effective filter of $(basename "$UNIT"): allow ${ALLOW_DESC[*]} (+@default), deny ${DENY_DESC[*]:-nothing}: ${#ALLOWED[@]} syscalls"

# ---- servers --------------------------------------------------------------------------

free_ports() {   # N ports free on 127.0.0.1 and 127.0.0.2, below the rig's range
  "$PY" - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1]); out = []
cands = list(range(15000, 19990)); random.shuffle(cands)
for p in cands:
    ok = True
    for host in ("127.0.0.1", "127.0.0.2"):
        s = socket.socket()
        try:
            s.bind((host, p))
        except OSError:
            ok = False
        finally:
            s.close()
    if ok:
        out.append(p)
    if len(out) == n:
        break
print(" ".join(map(str, out)))
EOF
}

DIR=$(mktemp -d /tmp/mailtest.syscall.XXXXXX)
chmod 755 "$DIR"
# Lets the Rust test rig reap these servers should this script be killed (see
# reap_stale_rigs in tests/support/rig.rs): owner pid, its start time, keep flag.
keep=0; [ "${KEEP_MAILTEST:-0}" = 1 ] && keep=1
echo "$$ $(awk '{print $22}' /proc/$$/stat) $keep" > "$DIR/rig-owner"
PIDS_TO_STOP=()
cleanup() {
  local rc=$?
  # Our own children (daemon, strace, notify listener); their data is thrown away.
  for p in "${PIDS_TO_STOP[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [ "${KEEP_MAILTEST:-0}" = 1 ]; then
    bash "$SERVERS/teardown.sh" "$DIR" --keep >/dev/null 2>&1 || true
    echo "syscall-check: kept $DIR" >&2
  else
    bash "$SERVERS/teardown.sh" "$DIR" >/dev/null 2>&1 || true
  fi
  exit $rc
}
forget() {   # reaped pids: never signal them again (the number may be reused)
  local keep=() p q
  for p in "${PIDS_TO_STOP[@]}"; do
    for q in "$@"; do [ "$p" = "$q" ] && continue 2; done
    keep+=("$p")
  done
  PIDS_TO_STOP=("${keep[@]}")
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=
for attempt in 1 2 3 4; do
  read -r P1 P2 P3 P4 P5 P6 < <(free_ports 6)
  if IMAP_PORT=$P1 IMAPS_PORT=$P2 LMTP_PORT=$P3 bash "$SERVERS/start-dovecot.sh" "$DIR" >"$DIR/start.log" 2>&1 &&
     SMTP_PORT=$P4 SUBMISSION_PORT=$P5 SUBMISSIONS_PORT=$P6 bash "$SERVERS/start-smtp.sh" "$DIR" >>"$DIR/start.log" 2>&1; then
    started=1; break
  fi
  grep -q "Address already in use" "$DIR/start.log" "$DIR"/log/*.log 2>/dev/null || break
  echo "syscall-check: port clash (attempt $attempt), retrying" >&2
  bash "$SERVERS/stop-smtp.sh" "$DIR" >/dev/null 2>&1 || true
  bash "$SERVERS/stop-dovecot.sh" --kill "$DIR" >/dev/null 2>&1 || true
  rm -f "$DIR/env.sh" "$DIR/env-dovecot.sh" "$DIR/env-smtp.sh"
done
if [ -z "$started" ]; then
  cat "$DIR/start.log" >&2
  tail -n 30 "$DIR"/log/*.log >&2 2>/dev/null || true
  die "cannot start Dovecot/Postfix"
fi
IMAPS_PORT=$P2 SUBMISSION_PORT=$P5
CA=$DIR/tls/ca.pem
echo "--- servers up in $DIR (IMAPS $IMAPS_PORT, submission $SUBMISSION_PORT)"

# ---- config and mail ------------------------------------------------------------------

# The daemon runs as this uid/gid, like a DynamicUser= (61184-65519), with no
# supplementary groups. It owns the state directory and reads the password file.
RUN_UID=61184
W=$DIR/syscall
mkdir -p "$W/strace" "$W/state" "$W/out"
chown "$RUN_UID:$RUN_UID" "$W/state" "$W/out"
chmod 700 "$W/state"
printf 'alicepw\n' > "$W/alice.pw"
chown "$RUN_UID:$RUN_UID" "$W/alice.pw"
chmod 600 "$W/alice.pw"
CFG=$W/config.toml
write_config() {   # $1: digest schedule
  cat > "$CFG.new" <<EOF
[[accounts]]
name = "alice"
host = "127.0.0.1"
port = $IMAPS_PORT
tls = "implicit"
username = "alice"
password_file = "$W/alice.pw"
ca_file = "$CA"
mailboxes = ["INBOX"]
poll_interval = "30s"
idle = true
timeout = "15s"

[accounts.after_processing]
invitations = "mark_seen"
phishing = "move:Junk"

[state]
dir = "$W/state"

[digest]
schedule = "$1"
timezone = "Europe/Berlin"
from = "invite-digest <alice@example.test>"
to = ["digest@example.test"]
send_empty = false

[smtp]
host = "127.0.0.1"
port = $SUBMISSION_PORT
tls = "starttls"
username = "alice"
password_file = "$W/alice.pw"
ca_file = "$CA"
timeout = "15s"

[authenticity]
trusted_authserv_ids = ["mx.example.net"]
EOF
  mv "$CFG.new" "$CFG"
}

fixture() {   # the synthetic fixture whose name starts with $1-
  local f
  for f in "$ROOT/tests/fixtures/synthetic/$1"-*.eml; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  die "no fixture tests/fixtures/synthetic/$1-*.eml"
}

append() {   # APPEND files to alice's INBOX over IMAPS, verified against the rig's CA
  "$PY" - "$IMAPS_PORT" "$CA" "$@" <<'EOF'
import imaplib, ssl, sys, time
port, ca, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
ctx = ssl.create_default_context(cafile=ca)
m = imaplib.IMAP4_SSL("localhost", port, ssl_context=ctx, timeout=20)
m.login("alice", "alicepw")
for f in files:
    typ, data = m.append("INBOX", None, imaplib.Time2Internaldate(time.time()), open(f, "rb").read())
    if typ != "OK":
        sys.exit(f"APPEND {f}: {typ} {data}")
m.logout()
EOF
}

# ---- traced runs ----------------------------------------------------------------------

declare -A SEEN=()     # syscall -> phases
PHASES=()
record() {   # $1 phase, $2 strace -c output file
  local phase=$1 file=$2 n=0 s
  [ -s "$file" ] || die "$phase: strace wrote no summary ($file)"
  while read -r s; do
    SEEN[$s]="${SEEN[$s]:+${SEEN[$s]}, }$phase"
    n=$((n + 1))
  done < <(awk '$1 ~ /^[0-9.]+$/ && $NF ~ /^[a-z_][a-z0-9_]*$/ && $NF != "total" { print $NF }' "$file" | sort -u)
  [ "$n" -gt 0 ] || die "$phase: no syscalls parsed from $file"
  PHASES+=("$phase ($n syscalls)")
}

proc_state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true; }
tracer_of() { awk '/^TracerPid:/ {print $2}' "/proc/$1/status" 2>/dev/null || true; }

# Starts invite-digest ARGS... under strace as $RUN_UID, in the background: a shell drops
# privileges (setpriv), exports its own pid as WATCHDOG_PID (systemd sets it; sd_notify
# only pings when it equals getpid()), stops itself; strace attaches; the shell execs the
# binary under the same pid. So neither setpriv nor the shell is traced, only the shell's
# return from kill() and its execve(). Sets TRACED_PID and STRACE_PID.
start_traced() {   # $1 phase; rest: invite-digest arguments
  local phase=$1; shift
  setpriv --reuid="$RUN_UID" --regid="$RUN_UID" --clear-groups --inh-caps=-all \
    bash -c 'export WATCHDOG_PID=$$; kill -STOP $$; exec "$@"' sh "$BIN" "$@" \
    >"$W/$phase.stdout" 2>"$W/$phase.stderr" </dev/null &
  TRACED_PID=$!
  PIDS_TO_STOP+=("$TRACED_PID")
  for _ in $(seq 1 100); do [ "$(proc_state "$TRACED_PID")" = T ] && break; sleep 0.05; done
  [ "$(proc_state "$TRACED_PID")" = T ] || die "$phase: the shell did not stop itself"
  strace -f -qq -c -o "$W/strace/$phase.txt" -p "$TRACED_PID" 2>"$W/strace/$phase.strace-stderr" &
  STRACE_PID=$!
  PIDS_TO_STOP+=("$STRACE_PID")
  for _ in $(seq 1 100); do [ "$(tracer_of "$TRACED_PID")" = "$STRACE_PID" ] && break; sleep 0.05; done
  [ "$(tracer_of "$TRACED_PID")" = "$STRACE_PID" ] ||
    die "$phase: strace did not attach: $(cat "$W/strace/$phase.strace-stderr")"
  kill -CONT "$TRACED_PID"
}

traced() {   # $1 phase; rest: invite-digest arguments. Must exit 0.
  local phase=$1 rc=0; shift
  start_traced "$phase" "$@" --config "$CFG"
  wait "$TRACED_PID" || rc=$?
  wait "$STRACE_PID" || true
  forget "$TRACED_PID" "$STRACE_PID"
  if [ "$rc" != 0 ]; then
    echo "--- invite-digest $* exited $rc" >&2
    cat "$W/$phase.stdout" "$W/$phase.stderr" >&2
    die "$phase failed"
  fi
  record "$phase" "$W/strace/$phase.txt"
  echo "--- $phase: ok ($(head -n1 "$W/$phase.stdout" | cut -c1-150))"
}

write_config "0 0 0 1 1 *"   # no digest slot during the one-shot commands
append "$(fixture 001)" "$(fixture 002)" "$(fixture 013)"
traced poll poll --once
grep -q "alice" "$W/poll.stdout" || die "poll printed no summary for alice: $(cat "$W/poll.stdout")"
traced pending pending
traced digest-dry-run digest --now --dry-run -o "$W/out/dry-run.eml"
[ -s "$W/out/dry-run.eml" ] || die "digest --dry-run wrote no file"
traced digest digest --now

# The daemon: a digest slot every 2 s, IDLE, systemd notifications and watchdog.
write_config "*/2 * * * * *"
NOTIFY=$W/notify.sock
"$PY" - "$NOTIFY" "$W/notify.log" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n")
EOF
NOTIFY_PID=$!
disown "$NOTIFY_PID"   # killed at exit; no "Killed" job message
PIDS_TO_STOP+=("$NOTIFY_PID")
for _ in $(seq 1 100); do [ -S "$NOTIFY" ] && break; sleep 0.05; done
[ -S "$NOTIFY" ] || die "notify socket did not appear"

chmod 666 "$NOTIFY"   # the daemon's uid sends to it
RUNLOG=$W/run.stderr
NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=2000000 RUST_LOG=debug start_traced run run --config "$CFG"
DAEMON_PID=$TRACED_PID
wait_for() {   # $1 file, $2 extended regex, $3 seconds
  local deadline=$((SECONDS + $3))
  while ! grep -Eq -- "$2" "$1" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "--- $1 (tail)" >&2; tail -n 40 "$1" >&2 || true
      die "timed out after $3 s waiting for /$2/ in $(basename "$1")"
    fi
    kill -0 "$DAEMON_PID" 2>/dev/null || { tail -n 40 "$RUNLOG" >&2; die "the daemon exited early"; }
    sleep 0.2
  done
}
wait_for "$W/notify.log" "READY=1" 20
# A digest slot passes with nothing new ...
wait_for "$RUNLOG" "no new invitations: no digest sent" 30
# ... a new invitation arrives while the daemon idles (IMAP IDLE), and a digest goes out
# over SMTP at the next slot,
append "$(fixture 003)"
wait_for "$RUNLOG" "scanned 1, new invitations 1" 30
wait_for "$RUNLOG" "INFO digest sent: " 30
# ... the config is reloaded, the watchdog pings, and SIGTERM stops it.
kill -HUP "$DAEMON_PID"
wait_for "$RUNLOG" "reload" 10
wait_for "$W/notify.log" "WATCHDOG=1" 10
sleep 2
kill -TERM "$DAEMON_PID"
STOP_PROBLEM=
t0=$SECONDS
for _ in $(seq 1 150); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$DAEMON_PID" 2>/dev/null; then
  # systemd would SIGKILL it now (TimeoutStopSec=15s). Reported at the end; the syscall
  # summary is still written when the tracee dies.
  STOP_PROBLEM="the daemon did not exit within 15 s of SIGTERM (TimeoutStopSec=15s; systemd would SIGKILL it)"
  grep -q "invite-digest stopped" "$RUNLOG" &&
    STOP_PROBLEM="$STOP_PROBLEM, although it logged \"invite-digest stopped\" (a blocking task, e.g. an IMAP IDLE wait, holds the runtime)"
  kill -KILL "$DAEMON_PID" 2>/dev/null || true
  wait "$DAEMON_PID" 2>/dev/null || true
else
  rc=0; wait "$DAEMON_PID" || rc=$?
  [ "$rc" = 0 ] || STOP_PROBLEM="run exited $rc after SIGTERM"
fi
wait "$STRACE_PID" || true   # strace -p exits with its tracee and writes the summary
forget "$DAEMON_PID" "$STRACE_PID"
if grep -q " ERROR " "$RUNLOG"; then
  echo "--- errors in the daemon's log (not a syscall problem, but worth a look):" >&2
  grep " ERROR " "$RUNLOG" | sort -u -k3 | head -n 5 >&2
fi
record run "$W/strace/run.txt"
echo "--- run: ${STOP_PROBLEM:+NOT }ok ($(grep -c "INFO digest sent: " "$RUNLOG") digest(s) sent, $(grep -c . "$W/notify.log") notifications, stopped $((SECONDS - t0)) s after SIGTERM)"

# ---- verdict --------------------------------------------------------------------------

echo "--- traced: ${PHASES[*]}"
bad=()
for s in $(printf '%s\n' "${!SEEN[@]}" | sort); do
  [ -n "${ALLOWED[$s]:-}" ] || bad+=("$s")
done
echo "--- ${#SEEN[@]} distinct syscalls: $(printf '%s\n' "${!SEEN[@]}" | sort | tr '\n' ' ')"
fail=
if [ ${#bad[@]} -gt 0 ]; then
  echo "syscall-check: FAIL: ${#bad[@]} syscall(s) outside the unit's SystemCallFilter= (systemd would return EPERM):" >&2
  for s in "${bad[@]}"; do
    echo "  $s    made by: ${SEEN[$s]}    in groups: $(groups_of "$s")" >&2
  done
  fail=1
else
  echo "syscall-check: every syscall is allowed by $(basename "$UNIT")'s SystemCallFilter="
fi
if [ -n "$STOP_PROBLEM" ]; then
  echo "syscall-check: FAIL: $STOP_PROBLEM" >&2
  fail=1
fi
[ -z "$fail" ] || exit 1
echo "syscall-check: ok"
