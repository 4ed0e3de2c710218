#!/usr/bin/env bash
# Benchmarks against peers (issue 6): sync cost, parse throughput and memory, side by side
# in one run, on a throw-away Dovecot (tests/servers/) on loopback, over IMAPS.
#
#   sudo bash bench/run.sh            full run: 1k, 10k and 100k messages, release build
#   sudo bash bench/run.sh --quick    2,000 messages, debug build, few repetitions: proves
#                                     the harness works (CI); its numbers mean little
#
# What it does:
#  1. installs what is missing (Dovecot etc. via tests/servers/install-deps.sh, plus the
#     Debian packages imapfilter and time), builds invite-digest and bench/imap_limit.rs;
#  2. starts Dovecot on non-default ports (BENCH_IMAP_PORT=12143, BENCH_IMAPS_PORT=12993,
#     BENCH_LMTP_PORT=12024) and writes the mailbox straight into the Maildir
#     (bench/gen_mailbox.py: 1% invitations built from tests/fixtures/synthetic, the rest
#     ~3 KB ordinary mail; nothing else mentions LinkedIn, so every client fetches the same
#     messages), then lets Dovecot index it;
#  3. times, RUNS times each (median and min-max), after one untimed warm-up run:
#     - invite-digest `poll --once` with a fresh state directory (first scan);
#     - bench/imap_limit.rs: the same SEARCH + FETCH with no parsing (the server-bound limit),
#       and again with imaplib's narrower search;
#     - bench/imaplib_peer.py: Python imaplib, SEARCH FROM "linkedin.com" + FETCH + `email`;
#     - imapfilter with bench/imapfilter-linkedin.lua (from invitations@linkedin.com), and
#       again selecting what invite-digest selects (LI_SELECT=same: three searches);
#     - invite-digest `poll --once` again with nothing new (idle poll), and its IMAP commands
#       after login, read from Dovecot's rawlog;
#     at each mailbox size; at the largest, also the incremental poll after 10 new messages
#     (5 of them invitations, delivered over LMTP; the summary must say "scanned 5") and the
#     RSS of `invite-digest run` after N polls (IDLE on, each poll woken by one new message);
#  4. peak RSS of every client from /usr/bin/time -v;
#  5. Criterion (benches/extract.rs) beside bench/python_extract.py on the fixture corpus,
#     then both again in CPU time per pass, in alternating rounds;
#  6. prints one report (tables, ratios, targets) and writes it to target/bench/RESULTS.md.
#
# env: RUNS (full 5, quick 3), IDLE_RUNS (3 x RUNS: an idle poll takes ~30 ms, and its
#      1k-against-100k ratio is judged within 1.2x), SIZES (full "1000 10000 100000", quick "2000"),
#      DAEMON_POLLS (full 60, quick 3), KEEP_BENCH=1 keeps the work directory.
# Must run as root (Dovecot). Takes ~10 min in full mode (after the build), ~1 min quick.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac
export PATH

QUICK=0
case "${1:-}" in
  --quick) QUICK=1 ;;
  "") ;;
  *) sed -n '2,35p' "$0"; exit 64 ;;
esac
if [ "$QUICK" = 1 ]; then
  RUNS=${RUNS:-3}; SIZES=${SIZES:-2000}; DAEMON_POLLS=${DAEMON_POLLS:-3}
else
  RUNS=${RUNS:-5}; SIZES=${SIZES:-"1000 10000 100000"}; DAEMON_POLLS=${DAEMON_POLLS:-60}
fi
IDLE_RUNS=${IDLE_RUNS:-$((RUNS * 3))}
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: must run as root (it starts Dovecot)" >&2; exit 1; }
log() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- 1. dependencies and build ------------------------------------------------------------
bash tests/servers/install-deps.sh
missing=()
command -v imapfilter >/dev/null 2>&1 || missing+=(imapfilter)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -ne 0 ]; then
  log "installing ${missing[*]}"
  apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 install -y \
    --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
if [ "$QUICK" = 1 ]; then PROFILE_ARGS=(); PROFILE=debug; else PROFILE_ARGS=(--release); PROFILE=release; fi
log "building invite-digest and bench/imap_limit.rs ($PROFILE)"
LIMIT=$(cargo build --locked "${PROFILE_ARGS[@]}" --bin invite-digest --bench imap_limit \
          --message-format=json 2>/dev/null |
        python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "imap_limit" and m.get("executable"):
        print(m["executable"])') || true
BIN=$ROOT/target/$PROFILE/invite-digest
if [ -z "$LIMIT" ] || [ ! -x "$LIMIT" ] || [ ! -x "$BIN" ]; then
  cargo build --locked "${PROFILE_ARGS[@]}" --bin invite-digest --bench imap_limit >&2
  echo "bench/run.sh: build failed (imap_limit: '${LIMIT}')" >&2; exit 1
fi

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- 2. server and mailbox ----------------------------------------------------------------
W=$(mktemp -d /tmp/invite-bench.XXXXXX)
chmod 755 "$W"   # Dovecot's auth (user dovecot) and imap (VMAIL_UID) must traverse it
D=$W/dovecot
DAEMON_PID=
cleanup() {
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then kill -TERM "$DAEMON_PID" 2>/dev/null || true; fi
  if [ -d "$D" ]; then bash tests/servers/stop-dovecot.sh --kill "$D" || true; fi
  if [ "${KEEP_BENCH:-}" = 1 ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
log "work directory $W"
IMAP_PORT=${BENCH_IMAP_PORT:-12143} IMAPS_PORT=${BENCH_IMAPS_PORT:-12993} LMTP_PORT=${BENCH_LMTP_PORT:-12024} \
  TEST_USERS="alice:alicepw" bash tests/servers/start-dovecot.sh "$D" >/dev/null
# shellcheck disable=SC1091
. "$D/env.sh"
CONF=$MAILTEST_DOVECOT_CONF
DOVEADM=(doveadm -c "$CONF")
# Dovecot writes a rawlog (the plaintext IMAP stream after login) for a user only while
# the directory $D/rawlog/<user> exists: switched on just for the round-trip count.
printf 'protocol imap {\n  rawlog_dir = %s/rawlog/%%u\n}\n' "$D" >> "$CONF"
"${DOVEADM[@]}" reload
mkdir -p "$D/rawlog"
MAILDIR=$D/mail/alice/Maildir
install -d -o "$VMAIL_UID" -g "$VMAIL_GID" "$D/mail/alice"
export IMAP_USER=alice IMAP_PASSWORD=alicepw BENCH_IMAP_PASSWORD=alicepw

write_config() { # FILE STATE_DIR [extra account lines]
  cat > "$1" <<EOF
[[accounts]]
name = "bench"
host = "127.0.0.1"
port = $IMAPS_PORT
tls = "implicit"
username = "alice"
password_env = "BENCH_IMAP_PASSWORD"
ca_file = "$MAILTEST_CA"
${3:-}

[state]
dir = "$2"

# \`run\` wants a complete sending setup; the schedule keeps the digest out of the way.
[digest]
schedule = "0 3 1 1 *"
timezone = "UTC"
from = "invite-digest <alice@example.test>"
to = ["alice@example.test"]

[smtp]
host = "127.0.0.1"
port = ${BENCH_SMTP_PORT:-12025}
tls = "plain"
allow_plaintext = true

[log]
level = "info"
EOF
}
write_config "$W/poll.toml" "$W/state"
write_config "$W/run.toml" "$W/state-daemon" $'poll_interval = "30s"\nidle = true'

LOADED=0
load_to() { # N: add messages LOADED..N-1, index, pre-warm the search caches
  local n=$1 t0 t1
  t0=$(date +%s%N)
  python3 bench/gen_mailbox.py maildir "$MAILDIR" "$LOADED" "$n" --uid "$VMAIL_UID" --gid "$VMAIL_GID"
  t1=$(date +%s%N)
  "${DOVEADM[@]}" mailbox status -u alice "messages uidnext" INBOX >/dev/null
  # The first search of a header field parses every message file (seconds at 100k); Dovecot
  # then caches the field. Benchmarks measure the warm state, as a daily poll would see it.
  "${DOVEADM[@]}" search -u alice mailbox INBOX "(" FROM linkedin OR FROM linkedln OR SUBJECT linkedin ")" >/dev/null
  "${DOVEADM[@]}" search -u alice mailbox INBOX FROM linkedin.com >/dev/null
  log "mailbox: $n messages ($((n / 100)) invitations); wrote $((n - LOADED)) in $(( (t1 - t0) / 1000000 )) ms, indexed in $(( ($(date +%s%N) - t1) / 1000000 )) ms"
  LOADED=$n
}

# ---- 3./4. timing -------------------------------------------------------------------------
RES=$W/results.tsv
: > "$RES"
OUT=$W/out.txt
run_timed() { # LABEL SIZE RUN CMD...: wall, peak RSS, CPU (user+sys) into $RES; stdout in $OUT
  local label=$1 size=$2 run=$3 t0 t1 rss cpu
  shift 3
  t0=$(date +%s%N)
  if ! /usr/bin/time -v -o "$W/time.txt" "$@" > "$OUT" 2> "$W/err.txt"; then
    echo "bench/run.sh: $label failed:" >&2; cat "$W/err.txt" "$OUT" >&2; exit 1
  fi
  t1=$(date +%s%N)
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time.txt")
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%d", s * 1000}' "$W/time.txt")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$size" "$run" "$(( (t1 - t0) / 1000 ))" "$rss" \
    "$(head -c 300 "$OUT" | head -1)" "$cpu" >> "$RES"
}
expect() { # PATTERN WHAT: the last output must contain PATTERN
  grep -q -- "$1" "$OUT" || { echo "bench/run.sh: $2: expected '$1' in: $(cat "$OUT")" >&2; exit 1; }
}
# The commands timed (each one process, so /usr/bin/time sees exactly the client). The limit
# searches with invite-digest's SEARCH_CRITERIA (src/source/imap.rs): keep the two the same.
POLL=("$BIN" poll --once --config "$W/poll.toml")
# invite-digest with a ca_file trusts (and loads) only that file. The limit is a native-tls
# client, which would parse the system bundle (~140 roots, ~45 ms with OpenSSL 3.0) twice
# whatever it is told to trust: OpenSSL is pointed at the test CA instead, for the same effect.
NOBUNDLE=(env SSL_CERT_FILE="$MAILTEST_CA" SSL_CERT_DIR=/nonexistent)
LIMIT_CMD=("${NOBUNDLE[@]}" "$LIMIT" --host 127.0.0.1 --port "$IMAPS_PORT" --ca "$MAILTEST_CA" --user alice --password alicepw
           --search 'OR OR HEADER From "linkedin" HEADER From "linkedln" SUBJECT "linkedin"')
# the same client with the peers' narrower search (imaplib's), to show what the search costs
LIMIT_NARROW_CMD=("${LIMIT_CMD[@]:0:${#LIMIT_CMD[@]}-1}" 'FROM "linkedin.com"')
IMAPLIB_CMD=(python3 bench/imaplib_peer.py)
IMAPFILTER_CMD=(env HOME="$W/imapfilter-home" imapfilter -t "$MAILTEST_CA" -c bench/imapfilter-linkedin.lua)
# imapfilter selecting what invite-digest selects (look-alike senders too): three searches
IMAPFILTER_SAME_CMD=(env LI_SELECT=same "${IMAPFILTER_CMD[@]}")
mkdir -p "$W/imapfilter-home"

bench_size() { # N
  local n=$1 k=$(( $1 / 100 )) r client
  log "first scan x$RUNS at $n messages"
  rm -rf "$W/state"; run_timed warmup:first_scan "$n" 0 "${POLL[@]}"
  run_timed warmup:limit "$n" 0 "${LIMIT_CMD[@]}"
  run_timed warmup:limit_narrow "$n" 0 "${LIMIT_NARROW_CMD[@]}"
  run_timed warmup:imaplib "$n" 0 "${IMAPLIB_CMD[@]}"
  run_timed warmup:imapfilter "$n" 0 "${IMAPFILTER_CMD[@]}" < /dev/null
  run_timed warmup:imapfilter_same "$n" 0 "${IMAPFILTER_SAME_CMD[@]}" < /dev/null
  for r in $(seq 1 "$RUNS"); do
    # interleaved, so a slow moment of the machine does not hit one client only
    rm -rf "$W/state"
    run_timed first_scan "$n" "$r" "${POLL[@]}"
    expect "scanned $k, new invitations $k," "first scan at $n"
    run_timed limit "$n" "$r" "${LIMIT_CMD[@]}"
    expect "fetched=$k " "limit at $n"
    run_timed limit_narrow "$n" "$r" "${LIMIT_NARROW_CMD[@]}"
    expect "fetched=$k " "limit (narrow search) at $n"
    run_timed imaplib "$n" "$r" "${IMAPLIB_CMD[@]}"
    expect "fetched=$k " "imaplib at $n"
    run_timed imapfilter "$n" "$r" "${IMAPFILTER_CMD[@]}" < /dev/null
    expect "fetched=$k " "imapfilter at $n"
    run_timed imapfilter_same "$n" "$r" "${IMAPFILTER_SAME_CMD[@]}" < /dev/null
    expect "fetched=$k " "imapfilter (same selection) at $n"
  done
  log "idle poll x$IDLE_RUNS at $n messages"
  run_timed warmup:idle "$n" 0 "${POLL[@]}"
  for r in $(seq 1 "$IDLE_RUNS"); do
    run_timed idle "$n" "$r" "${POLL[@]}"
    expect "scanned 0," "idle poll at $n"
  done
  # IMAP commands of one idle poll after login (LOGIN itself is handled before the rawlog)
  rm -rf "$D/rawlog/alice"; install -d -o "$VMAIL_UID" -g "$VMAIL_GID" "$D/rawlog/alice"
  "${POLL[@]}" > "$OUT"
  expect "scanned 0," "idle poll (rawlog) at $n"
  local cmds
  # rawlog lines: "<unix time> <tag> <command> ..."
  cmds=$(cat "$D"/rawlog/alice/*.in 2>/dev/null | tr -d '\r' |
         awk 'NF >= 3 {print toupper($3) == "UID" ? toupper($3 " " $4) : toupper($3)}' | paste -sd' ' -)
  rm -rf "$D/rawlog/alice"
  [ -n "$cmds" ] || { echo "bench/run.sh: no rawlog written by Dovecot" >&2; exit 1; }
  printf 'commands\t%s\t1\t%s\t0\t%s\n' "$n" "$(wc -w <<<"$cmds")" "$cmds" >> "$RES"
}

for n in $SIZES; do
  load_to "$n"
  bench_size "$n"
done
N=$LOADED

log "incremental poll x$RUNS at $N messages (10 new, 5 of them invitations)"
NEXT=10000000
for r in $(seq 1 "$RUNS"); do
  python3 bench/gen_mailbox.py lmtp 127.0.0.1 "$LMTP_PORT" alice@example.test "$NEXT" 10 5
  NEXT=$((NEXT + 10))
  run_timed incremental "$N" "$r" "${POLL[@]}"
  expect "scanned 5, new invitations 5," "incremental poll"
done

log "daemon: invite-digest run, first scan then $DAEMON_POLLS polls woken by IDLE"
rm -rf "$W/state-daemon"
"$BIN" run --config "$W/run.toml" 2> "$W/daemon.log" &
DAEMON_PID=$!
polls() { grep -c 'scanned [0-9]*,' "$W/daemon.log" || true; }
wait_polls() { # COUNT
  local i
  for i in $(seq 1 600); do
    [ "$(polls)" -ge "$1" ] && return 0
    kill -0 "$DAEMON_PID" 2>/dev/null || { echo "bench/run.sh: the daemon exited:" >&2; cat "$W/daemon.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench/run.sh: the daemon did not poll $1 times in 60 s:" >&2; tail -20 "$W/daemon.log" >&2; exit 1
}
vm() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$DAEMON_PID/status"; }
wait_polls 1
sleep 1
printf 'daemon_first\t%s\t1\t0\t%s\tVmRSS %s kB after the first scan\n' "$N" "$(vm VmHWM)" "$(vm VmRSS)" >> "$RES"
for i in $(seq 1 "$DAEMON_POLLS"); do
  python3 bench/gen_mailbox.py lmtp 127.0.0.1 "$LMTP_PORT" alice@example.test "$NEXT" 1 0
  NEXT=$((NEXT + 1))
  wait_polls $((i + 1))
done
sleep 2
printf 'daemon_idle\t%s\t%s\t0\t%s\tVmHWM %s kB, RssAnon %s kB, RssFile %s kB\n' "$N" "$DAEMON_POLLS" \
  "$(vm VmRSS)" "$(vm VmHWM)" "$(vm RssAnon)" "$(vm RssFile)" >> "$RES"
# SIGTERM: the README promises a stop within seconds; give it 5
t0=$(date +%s%N)
kill -TERM "$DAEMON_PID"
stopped=
for _ in $(seq 1 50); do
  [ "$(awk '{print $3}' "/proc/$DAEMON_PID/stat" 2>/dev/null || echo Z)" = Z ] && { stopped=1; break; }
  sleep 0.1
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ -n "$stopped" ]; then
  printf 'daemon_stop\t%s\t1\t%s\t0\texited %s ms after SIGTERM\n' "$N" "$((ms * 1000))" "$ms" >> "$RES"
else
  printf 'daemon_stop\t%s\t1\t%s\t0\tstill running 5 s after SIGTERM (killed)\n' "$N" "$((ms * 1000))" >> "$RES"
  kill -KILL "$DAEMON_PID" 2>/dev/null || true
fi
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=

# ---- 5. parse throughput ------------------------------------------------------------------
log "Criterion: benches/extract.rs"
CRIT_DIR=$ROOT/target/criterion/corpus
rm -rf "$CRIT_DIR"
if [ "$QUICK" = 1 ]; then
  # debug build: one benchmark, the fewest samples Criterion takes
  cargo bench --locked --profile dev --bench extract -- --warm-up-time 0.1 --measurement-time 0.1 \
    --sample-size 10 classify_extract_score >&2
  PY_SECONDS=0.5
else
  cargo bench --locked --bench extract >&2
  PY_SECONDS=5
fi
log "bench/python_extract.py"
python3 bench/python_extract.py --seconds "$PY_SECONDS" > "$W/python_extract.txt"

# The same comparison in CPU time (user + sys of each process), in alternating rounds: the
# figure the target is judged by. On a shared machine a neighbour's load stretches wall time
# (Criterion's and Python's alike, but not equally, since they run minutes apart); CPU time
# per pass moves far less. Each side runs N passes and 1 pass; the difference over N - 1
# leaves out start-up (reading the corpus, compiling regexes, importing modules).
if [ "$QUICK" = 1 ]; then BENCH_PROFILE=(--profile dev); RUST_PASSES=10; PY_PASSES=2; ROUNDS=2
else BENCH_PROFILE=(); RUST_PASSES=300; PY_PASSES=40; ROUNDS=9; fi
EXTRACT_EXE=$(cargo bench --locked "${BENCH_PROFILE[@]}" --bench extract --no-run --message-format=json 2>/dev/null |
              python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "extract" and m.get("executable"):
        print(m["executable"])')
[ -x "$EXTRACT_EXE" ] || { echo "bench/run.sh: cannot find the benches/extract.rs executable" >&2; exit 1; }
cpu_of() { # CMD...: user + sys seconds of the process
  /usr/bin/time -f '%U %S' -o "$W/cpu.txt" "$@" > /dev/null 2> "$W/cpu_err.txt" ||
    { echo "bench/run.sh: $* failed:" >&2; cat "$W/cpu_err.txt" >&2; exit 1; }
  awk '{printf "%.2f", $1 + $2}' "$W/cpu.txt"
}
log "CPU time per pass: $ROUNDS alternating rounds ($RUST_PASSES Rust passes, $PY_PASSES Python passes)"
: > "$W/cpu_rounds.tsv"
for r in $(seq 1 "$ROUNDS"); do
  r1=$(cpu_of env EXTRACT_PASSES=1 "$EXTRACT_EXE" --bench)
  rn=$(cpu_of env EXTRACT_PASSES=$((RUST_PASSES + 1)) "$EXTRACT_EXE" --bench)
  p1=$(cpu_of python3 bench/python_extract.py --policy compat32 --passes 1)
  pn=$(cpu_of python3 bench/python_extract.py --policy compat32 --passes $((PY_PASSES + 1)))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$r1" "$rn" "$RUST_PASSES" "$p1" "$pn" "$PY_PASSES" >> "$W/cpu_rounds.tsv"
done

# ---- 6. report ----------------------------------------------------------------------------
mkdir -p target/bench
{
  echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ); load average at the start $LOAD_START, at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "invite-digest: $("$BIN" --version 2>/dev/null | head -1) ($PROFILE build, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
  echo "rustc: $(rustc --version)"
  echo "dovecot: $(dovecot --version)"
  echo "imapfilter: $(dpkg-query -W -f='${Version}' imapfilter 2>/dev/null)"
  echo "python: $(python3 --version 2>&1 | cut -d' ' -f2)"
  echo "mode: $([ "$QUICK" = 1 ] && echo "quick (debug build, small mailbox: proves the harness works; numbers are not meaningful)" || echo full), $RUNS runs each"
} > "$W/machine.txt"
python3 bench/report.py "$RES" "$W/machine.txt" "$CRIT_DIR" "$W/python_extract.txt" "$W/cpu_rounds.tsv" |
  tee target/bench/RESULTS.md
log "report written to target/bench/RESULTS.md"
