#!/usr/bin/env bash
# bench/run_inbound_bench.sh -- inbound DSNs processed per second, end to end
# (issue #7): SMTP receive + durable store + parse + match + classify +
# durable update, against the same pusher into smtp-sink. Per run:
#
#   deliver : POST /v1/messages:batch (N notifications, distinct recipients)
#             --> vestnik --(SMTP, static route)--> smtp-sink
#   vestnik : bench/inbound_bench_load.py push (K connections, PIPELINING,
#             MAIL FROM:<>) --> vestnik's listener, one RFC 3464 DSN per
#             delivered message (Action failed, 5.1.1, Gmail's wording)
#   alone   : the same pusher, the same corpus, into smtp-sink: the client's
#             and the loopback's own limit on this machine now
#
# The vestnik window runs from the pusher's first write (T0) until a poll of
# GET /v1/queues (every 20 ms) first shows failed = N: every DSN was stored,
# parsed, matched to its message, classified (bad-mailbox) and applied (the
# message failed, the address suppressed) in a committed transaction. The
# rate is N / window; "acked" is N / (last 250 - T0), the listener alone.
# ratio = vestnik rate / alone rate (1.0: the client or loopback is the
# limit, not vestnik). Also runs build-bench/bench/bench_bounce (the
# classifier alone, classifications/s, one thread).
#
# Addressing (MODE): verp -- to each message's return path
# bounce-<token>@bounces.bench.test (the token computed as
# templating/token.h seals it); quoted -- to postmaster@bounces.bench.test,
# matched by Original-Envelope-Id and Final-Recipient; auto (default) --
# verp if the listener takes a VERP recipient, else quoted with a warning.
# (At the time of writing the VERP local part is 78 octets and the listener
# refuses it with 501 5.1.3: see tests/integration/feedback_test.cpp.)
#
# Checked after the vestnik phase: failed = N and nothing else in flight,
# vestnik_inbound_matched_total = N, a sample message failed with bounce
# category bad-mailbox and its address suppressed (hard_bounce).
# Loopback only; every process is stopped by its PID; every wait is bounded.
#
# Usage:  [VAR=value ...] bench/run_inbound_bench.sh      (--help lists the VARs)
set -euo pipefail
export LC_ALL=C
umask 022

REPO=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-10000}                              # messages delivered, then DSNs pushed (per run)
RUNS=${RUNS:-1}
MODE=${MODE:-auto}                         # auto | verp | quoted
CONNECTIONS=${CONNECTIONS:-"16 64"}        # pusher's SMTP connections (both phases); a list: one run each
API_BATCH=${API_BATCH:-1000}
DOMAINS=${DOMAINS:-50}                     # recipient domains of the delivered messages
BUILD_DIR=${BUILD_DIR:-build-bench}
[[ $BUILD_DIR == /* ]] || BUILD_DIR=$REPO/$BUILD_DIR
VESTNIK_BIN=${VESTNIK_BIN:-$BUILD_DIR/app/vestnik}
BENCH_BOUNCE=${BENCH_BOUNCE:-$BUILD_DIR/bench/bench_bounce}
WORK=${WORK:-/tmp/vestnik-inbound-bench}   # wiped per run
RESULTS_DIR=${RESULTS_DIR:-$WORK-results}
PHASE_TIMEOUT=${PHASE_TIMEOUT:-300}
VESTNIK_LOG_LEVEL=${VESTNIK_LOG_LEVEL:-info}   # info logs one line per report, as in production
BENCH_API_KEY=${BENCH_API_KEY:-bench-key-0123456789abcdef}
TOKEN_SECRET=${TOKEN_SECRET:-bench-token-secret-0123456789abcdef0123}
BOUNCE_DOMAIN=bounces.bench.test
PY=/usr/bin/python3
LOAD=$REPO/bench/inbound_bench_load.py
SINK=/usr/sbin/smtp-sink

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,36p' "$0"
    cat <<EOF

Environment (current values):
  N=$N RUNS=$RUNS MODE=$MODE CONNECTIONS=$CONNECTIONS API_BATCH=$API_BATCH DOMAINS=$DOMAINS
  BUILD_DIR=$BUILD_DIR VESTNIK_BIN=$VESTNIK_BIN BENCH_BOUNCE=$BENCH_BOUNCE
  WORK=$WORK RESULTS_DIR=$RESULTS_DIR PHASE_TIMEOUT=$PHASE_TIMEOUT VESTNIK_LOG_LEVEL=$VESTNIK_LOG_LEVEL
EOF
    exit 0
fi

# ---------------------------------------------------------------- helpers
log()  { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die()  { log "FATAL: $*"; exit 1; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
us_now() { US=${EPOCHREALTIME/./}; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
SLEEP_FD=''
nap() { read -r -t "$1" -u "$SLEEP_FD" _ || true; }   # fork-free sleep
read_stat() { local line; read -r line 2>/dev/null < "/proc/$1/stat" || return 1; read -r -a STAT <<< "${line##*) }"; }
pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null && read_stat "$1" && [[ ${STAT[0]} != Z ]]; }
proc_cpu_ticks() { if read_stat "$1"; then echo $(( STAT[11] + STAT[12] )); else echo 0; fi; }   # all threads
wait_pid_exit() {   # wait_pid_exit PID SECONDS -> 0 when gone
    local deadline US; us_now; deadline=$(( US + $2 * 1000000 ))
    while pid_alive "$1"; do us_now; (( US >= deadline )) && return 1; nap 0.1; done
}
stop_pid() {   # stop_pid PID [SECONDS]: SIGTERM, bounded wait, SIGKILL; reaps our child
    local pid=$1
    [[ -n $pid ]] || return 0
    if pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        wait_pid_exit "$pid" "${2:-10}" || { log "pid $pid still alive, SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
    fi
    wait "$pid" 2>/dev/null || true
}
wait_line() {   # wait_line FILE REGEX PID SECONDS -> 0 when FILE has a line matching REGEX
    local deadline US; us_now; deadline=$(( US + $4 * 1000000 ))
    until grep -qE "$2" "$1" 2>/dev/null; do
        pid_alive "$3" || return 1
        us_now; (( US >= deadline )) && return 1
        nap 0.05
    done
}
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {   # wait_port PORT SECONDS
    "$PY" - "$1" "$2" <<'PY'
import socket, sys, time
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}
json_field() { "$PY" -c 'import json, sys
try:
    v = json.loads(sys.argv[1])
    for k in sys.argv[2:]: v = v[k]
    print("NA" if v is None else v)
except Exception:
    print("NA")' "$@"; }
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

# ---------------------------------------------------------------- checks
for v in N RUNS API_BATCH DOMAINS PHASE_TIMEOUT; do
    is_uint "${!v}" && (( ${!v} > 0 )) || die "$v must be a positive integer (got '${!v}')"
done
for c in $CONNECTIONS; do
    is_uint "$c" && (( c > 0 && c <= 100 )) || die "CONNECTIONS must be numbers 1..100 (listener.max_connections_per_ip), got '$c'"
done
[[ $MODE =~ ^(auto|verp|quoted)$ ]] || die "MODE must be auto, verp or quoted"
[[ $WORK == /tmp/?* && $WORK != *..* ]] || die "WORK must be under /tmp (it is wiped)"
for b in awk curl "$PY" "$SINK"; do command -v "$b" >/dev/null || die "missing $b"; done
[[ -x $VESTNIK_BIN ]] || die "no vestnik binary at $VESTNIK_BIN (flock /tmp/vestnik-build.lock ninja -C $BUILD_DIR vestnik)"
[[ -x $BENCH_BOUNCE ]] || log "warning: no $BENCH_BOUNCE; the classifier line is skipped"
SINK_USER=(); (( EUID == 0 )) && SINK_USER=(-u nobody)   # smtp-sink refuses to run as root
mkdir -p "$WORK" "$RESULTS_DIR"
mkfifo "$WORK/.nap.$$"; exec {SLEEP_FD}<> "$WORK/.nap.$$"; rm -f "$WORK/.nap.$$"
BATCH=$(date -u +%Y%m%dT%H%M%SZ)-$$
CSV=$RESULTS_DIR/inbound_bench.csv
CSV_HDR="batch,run,n,mode,connections,status,deliver_s,rate,acked_rate,window_s,vestnik_cpu_s,vestnik_cpu_us_per_dsn,pusher_cpu_s,alone_rate,alone_pusher_cpu_s,ratio,note"
if [[ ! -s $CSV ]]; then echo "$CSV_HDR" > "$CSV"
elif [[ $(head -1 "$CSV") != "$CSV_HDR" ]]; then mv "$CSV" "$CSV.old.$BATCH"; echo "$CSV_HDR" > "$CSV"
fi

# ---------------------------------------------------------------- cleanup: everything by its PID
SINK_PID='' VEST_PID='' LOAD_PID='' FAILED=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$LOAD_PID" 5
    stop_pid "$VEST_PID" 30
    stop_pid "$SINK_PID" 5
    (( rc == 0 )) || log "exiting with status $rc; logs under $WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_sink() {   # start_sink DIR NAME -> SINK_PID SINK_PORT
    SINK_PORT=$(free_port)
    "$SINK" "${SINK_USER[@]}" "127.0.0.1:$SINK_PORT" 1000 > "$1/$2.out" 2> "$1/$2.err" &
    SINK_PID=$!
    wait_port "$SINK_PORT" 10 || { REASON="smtp-sink did not start: $(tail -3 "$1/$2.err")"; return 1; }
}

write_config() {   # write_config DIR
    cat <<EOF
# generated by bench/run_inbound_bench.sh -- throwaway benchmark instance
[api]
listen = "127.0.0.1:$API_PORT"

[spool]
path = "$1/spool"

[log]
level = "$VESTNIK_LOG_LEVEL"

[smtp]
ehlo_name = "vestnik-bench.localdomain"
return_path = "bounce-{token}@$BOUNCE_DOMAIN"
max_connections = 20
max_messages_per_connection = 1000

[[smtp.routes]]
domain = "*"
host = "127.0.0.1"
port = $SINK_PORT

[throttle.default]
rate = "unlimited"
connection_rate = "unlimited"

# Loopback is not a relay network here: the DSNs are accepted because they
# are addressed to the inbound domain, as from any stranger on the Internet.
[listener]
enabled = true
listen = "127.0.0.1:$LISTEN_PORT"
hostname = "mx.vestnik-bench.localdomain"
networks = ["10.0.0.0/8"]

[email]
token_secret = "$TOKEN_SECRET"

[[tenants]]
id = "bench"
[[tenants.keys]]
key = "$BENCH_API_KEY"
role = "admin"
EOF
}

api() { curl -s -m 10 -H "Authorization: Bearer $BENCH_API_KEY" "http://127.0.0.1:$API_PORT$1"; }
count_of() {   # count_of STATUS -> the /v1/queues total
    api /v1/queues | "$PY" -c 'import json, sys
try:
    print(sum(t["count"] for t in json.load(sys.stdin)["totals"] if t["status"] == sys.argv[1]))
except Exception:
    print(-1)' "$1"
}
metric() { api /metrics | awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'; }

record() {   # record RUN STATUS NOTE [key=value...]
    local run=$1 status=$2 note=${3//,/;} c row=''
    local -A f=()
    shift 3
    for kv in "$@"; do f[${kv%%=*}]=${kv#*=}; done
    for c in deliver_s rate acked_rate window_s vestnik_cpu_s vestnik_cpu_us_per_dsn pusher_cpu_s alone_rate alone_pusher_cpu_s ratio; do
        row+=",${f[$c]:-NA}"
    done
    echo "$BATCH,$run,$N,${f[mode]:-$MODE},$CONNS,$status$row,${note// /_}" >> "$CSV"
    [[ $status == ok ]] || { FAILED=1; log "run $run: FAILED: $note"; }
}

one_run() {   # one_run RUN (with CONNS connections)
    local run=$1 d=$WORK/run$1 mode=$MODE t US t0_us res rc v0 v1 window rate acked cpu first verp code
    rm -rf "$d"; mkdir -p "$d"
    # ---- deliver N messages into smtp-sink
    start_sink "$d" sink || { record "$run" FAILED "$REASON"; return; }
    API_PORT=$(free_port); LISTEN_PORT=$(free_port)
    write_config "$d" > "$d/vestnik.toml"
    "$VESTNIK_BIN" serve --config "$d/vestnik.toml" 2> "$d/serve.log" &
    VEST_PID=$!
    wait_port "$API_PORT" 30 && wait_port "$LISTEN_PORT" 10 ||
        { record "$run" FAILED "vestnik did not start: $(tail -3 "$d/serve.log")"; stop_pid "$VEST_PID" 10; VEST_PID=''; stop_pid "$SINK_PID"; SINK_PID=''; return; }
    us_now; t0_us=$US
    timeout --kill-after=10 "$PHASE_TIMEOUT" "$PY" "$LOAD" inject --port "$API_PORT" --key "$BENCH_API_KEY" \
        --messages "$N" --batch "$API_BATCH" --domains "$DOMAINS" --out "$d/corpus.jsonl" > "$d/inject.out" 2> "$d/inject.err" ||
        { record "$run" FAILED "inject: $(tail -2 "$d/inject.err" | tr '\n' ' ')"; stop_pid "$VEST_PID" 30; VEST_PID=''; stop_pid "$SINK_PID"; SINK_PID=''; return; }
    local deadline=$(( t0_us + PHASE_TIMEOUT * 1000000 ))
    until [[ $(count_of delivered) == "$N" ]]; do
        us_now; (( US < deadline )) && pid_alive "$VEST_PID" ||
            { record "$run" FAILED "not all delivered: $(api /v1/queues | head -c 300)"; stop_pid "$VEST_PID" 30; VEST_PID=''; stop_pid "$SINK_PID"; SINK_PID=''; return; }
        nap 0.2
    done
    us_now; local deliver_s; deliver_s=$(calc "($US - $t0_us) / 1000000" 2)
    log "run $run: $N delivered into smtp-sink in ${deliver_s}s"

    # ---- MODE=auto: does the listener take a VERP recipient?
    first=$(head -1 "$d/corpus.jsonl" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    verp=$("$PY" "$LOAD" verp --secret "$TOKEN_SECRET" --tenant bench --id "$first" --domain "$BOUNCE_DOMAIN")
    code=$("$PY" - "$LISTEN_PORT" "$verp" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("probe.example.net"); s.mail(""); code, msg = s.rcpt(sys.argv[2]); s.rset(); s.quit()
print(code, msg.decode(errors="replace"))
PY
) || code="probe failed"
    if [[ $mode == auto ]]; then
        if [[ $code == 250* ]]; then mode=verp; else
            mode=quoted
            local localpart=${verp%%@*}
            log "warning: the listener refuses the VERP address (local part ${#localpart} octets): $code -- pushing to postmaster@$BOUNCE_DOMAIN (quoted ids) instead"
        fi
    fi
    [[ $mode != verp || $code == 250* ]] || log "warning: MODE=verp but the listener answered the probe: $code"

    # ---- the DSNs into vestnik
    rm -f "$d/go"
    timeout --kill-after=10 $(( PHASE_TIMEOUT + 60 )) "$PY" "$LOAD" push --smtp-port "$LISTEN_PORT" --corpus "$d/corpus.jsonl" \
        --mode "$mode" --domain "$BOUNCE_DOMAIN" --secret "$TOKEN_SECRET" --tenant bench --connections "$CONNS" \
        --go-file "$d/go" --api-port "$API_PORT" --key "$BENCH_API_KEY" --expect-failed "$N" --poll-timeout "$PHASE_TIMEOUT" \
        > "$d/push.out" 2> "$d/push.err" &
    LOAD_PID=$!
    wait_line "$d/push.out" '^READY' "$LOAD_PID" 120 || { record "$run" FAILED "pusher not ready: $(tail -2 "$d/push.err")"; stop_pid "$LOAD_PID"; LOAD_PID=''; stop_pid "$VEST_PID" 30; VEST_PID=''; stop_pid "$SINK_PID"; SINK_PID=''; return; }
    v0=$(proc_cpu_ticks "$VEST_PID")
    : > "$d/go"
    set +e; wait "$LOAD_PID"; rc=$?; set -e
    LOAD_PID=''
    v1=$(proc_cpu_ticks "$VEST_PID")
    res=$(tail -1 "$d/push.out")
    local failed matched sample sample_status sample_cat supp totals
    failed=$(count_of failed); matched=$(metric vestnik_inbound_matched_total)
    totals=$(api /v1/queues | "$PY" -c 'import json, sys
try: print(" ".join("%s=%d" % (t["status"], t["count"]) for t in json.load(sys.stdin)["totals"] if t["count"]))
except Exception: print("unreadable")')
    sample=$(sed -n "$(( (N + 1) / 2 ))p" "$d/corpus.jsonl")
    local sid srcpt; sid=$(json_field "$sample" id); srcpt=$(json_field "$sample" rcpt)
    local mjson; mjson=$(api "/v1/messages/$sid")
    sample_status=$(json_field "$mjson" status); sample_cat=$(json_field "$mjson" bounce category)
    supp=$(api "/v1/suppressions?channel=email&address=${srcpt/@/%40}" | "$PY" -c 'import json, sys
try: print(",".join(s["reason"] + "/" + s["category"] for s in json.load(sys.stdin)["suppressions"]))
except Exception: print("unreadable")')
    stop_pid "$VEST_PID" 30; VEST_PID=''
    stop_pid "$SINK_PID" 5; SINK_PID=''
    cp "$d/vestnik.toml" "$d/push.out" "$d/push.err" "$RESULTS_DIR/" 2>/dev/null || true
    if (( rc != 0 )) || [[ $(json_field "$res" t_done) == NA ]]; then
        record "$run" FAILED "push exit $rc: $res $(tail -2 "$d/push.err" | tr '\n' ' ') | $totals" mode="$mode" deliver_s="$deliver_s"; return
    fi
    [[ $failed == "$N" && $matched == "$N" && $sample_status == failed && $sample_cat == bad-mailbox && $supp == "hard_bounce/*" ]] ||
        { record "$run" FAILED "checks: failed=$failed matched=$matched sample=$sample_status/$sample_cat suppression=$supp ($totals)" mode="$mode" deliver_s="$deliver_s"; return; }
    local t0 tacked tdone pcpu
    t0=$(json_field "$res" t0); tacked=$(json_field "$res" t_acked); tdone=$(json_field "$res" t_done); pcpu=$(json_field "$res" cpu_s)
    window=$(calc "$tdone - $t0" 6)
    rate=$(calc "$N / $window" 0); acked=$(calc "$N / ($tacked - $t0)" 0)
    cpu=$(calc "($v1 - $v0) / $CLK_TCK" 2)
    log "run $run ($mode): ${rate} DSNs/s processed (window ${window}s), listener acked ${acked}/s, vestnik CPU ${cpu}s"

    # ---- the same pusher into smtp-sink alone
    start_sink "$d" sink-alone || { record "$run" FAILED "alone: $REASON" mode="$mode"; return; }
    rm -f "$d/go"
    timeout --kill-after=10 "$PHASE_TIMEOUT" "$PY" "$LOAD" push --smtp-port "$SINK_PORT" --corpus "$d/corpus.jsonl" \
        --mode "$mode" --domain "$BOUNCE_DOMAIN" --secret "$TOKEN_SECRET" --tenant bench --connections "$CONNS" \
        --go-file "$d/go" > "$d/alone.out" 2> "$d/alone.err" &
    LOAD_PID=$!
    wait_line "$d/alone.out" '^READY' "$LOAD_PID" 120 || { record "$run" FAILED "alone: pusher not ready" mode="$mode"; stop_pid "$LOAD_PID"; LOAD_PID=''; stop_pid "$SINK_PID"; SINK_PID=''; return; }
    : > "$d/go"
    set +e; wait "$LOAD_PID"; rc=$?; set -e
    LOAD_PID=''
    stop_pid "$SINK_PID" 5; SINK_PID=''
    local ares arate acpu
    ares=$(tail -1 "$d/alone.out")
    (( rc == 0 )) || { record "$run" FAILED "alone: push exit $rc: $ares" mode="$mode"; return; }
    arate=$(calc "$N / ($(json_field "$ares" t_acked) - $(json_field "$ares" t0))" 0); acpu=$(json_field "$ares" cpu_s)
    record "$run" ok "$totals" mode="$mode" deliver_s="$deliver_s" rate="$rate" acked_rate="$acked" window_s="$(calc "$window" 3)" \
        vestnik_cpu_s="$cpu" vestnik_cpu_us_per_dsn="$(calc "($v1 - $v0) * 1000000 / $CLK_TCK / $N" 0)" pusher_cpu_s="$pcpu" \
        alone_rate="$arate" alone_pusher_cpu_s="$acpu" ratio="$(calc "$rate / $arate" 2)"
}

# ---------------------------------------------------------------- main
REV=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo "?")
log "vestnik $REV ($VESTNIK_BIN, built $(date -u -r "$VESTNIK_BIN" +%FT%TZ)); N=$N mode=$MODE connections=$CONNECTIONS; $NCPU cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# The physical reference of the durable steps (each DSN is committed before
# its 250, and again when applied): a 4 KiB write + fdatasync in the spool's
# filesystem.
FSYNC_MS=$("$PY" - "$WORK" <<'PY'
import os, sys, tempfile, time
fd, path = tempfile.mkstemp(prefix="fsync-", dir=sys.argv[1])
t = time.time()
for i in range(200):
    os.pwrite(fd, b"x" * 4096, (i % 16) * 4096)
    os.fdatasync(fd)
print("%.3f" % ((time.time() - t) / 200 * 1e3))
os.close(fd); os.unlink(path)
PY
)
log "fdatasync of 4 KiB in $WORK: ${FSYNC_MS} ms"
run=0
for (( r = 1; r <= RUNS; r++ )); do
    for CONNS in $CONNECTIONS; do run=$(( run + 1 )); one_run "$run"; done
done

CLASSIFY='NA'
if [[ -x $BENCH_BOUNCE ]]; then
    "$BENCH_BOUNCE" --benchmark_filter='^BM_Classify$|^BM_ClassifyNoMatch$' --benchmark_min_time=0.5 \
        --benchmark_format=json > "$WORK/bench_bounce.json" 2> "$WORK/bench_bounce.err" || log "bench_bounce failed: $(tail -2 "$WORK/bench_bounce.err")"
    CLASSIFY=$("$PY" -c 'import json, sys
try:
    b = {x["name"]: x["items_per_second"] for x in json.load(open(sys.argv[1]))["benchmarks"]}
    print("%.0f %.0f" % (b["BM_Classify"], b["BM_ClassifyNoMatch"]))
except Exception:
    print("NA NA")' "$WORK/bench_bounce.json")
fi

awk -F, -v batch="$BATCH" -v ncpu="$NCPU" -v n="$N" -v classify="$CLASSIFY" -v fsync="$FSYNC_MS" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 != batch { next }
    { rows++; ok += $(col["status"]) == "ok"
      printf "%s", (rows == 1 ? sprintf("\n%-4s %-6s %-7s %-7s %10s %10s %9s %11s %11s %13s %6s\n", "run", "conns", "mode", "status", "DSNs/s", "acked/s", "window_s", "cpu_us/DSN", "pusher_cpu", "sink_alone/s", "ratio") : "")
      printf "%-4s %-6s %-7s %-7s %10s %10s %9s %11s %11s %13s %6s\n", $(col["run"]), $(col["connections"]), $(col["mode"]), $(col["status"]), $(col["rate"]),
          $(col["acked_rate"]), $(col["window_s"]), $(col["vestnik_cpu_us_per_dsn"]), $(col["pusher_cpu_s"]), $(col["alone_rate"]), $(col["ratio"]) }
    END {
        split(classify, c, " ")
        printf "\nN=%s per run, %d of %d runs ok, %d cores. DSNs/s: first connect to failed=N seen in GET /v1/queues;\n", n, ok, rows, ncpu
        printf "acked/s: the listener 250s alone; sink_alone/s: the same pusher into smtp-sink; ratio = DSNs/s / sink_alone/s.\n"
        printf "bench_bounce (one thread): classify %s/s, no-match worst case %s/s; fdatasync 4 KiB: %s ms\n", c[1], c[2], fsync
    }' "$CSV"
log "rows in $CSV (batch $BATCH)"
(( FAILED == 0 )) || exit 1
