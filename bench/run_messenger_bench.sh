#!/usr/bin/env bash
# bench/run_messenger_bench.sh -- messages/s per messenger transport against
# its fake on loopback, with the engine's CPU per message (issue #6). Per run:
#
#   vestnik : POST /v1/messages:batch --> vestnik --> tests/fakes/fake_providers.py
#   alone   : bench/messenger_bench_load.py fake --> fake_providers.py (nobody in between)
#
# vestnik: a fresh fake (plain HTTP, or TLS with tests/fakes/data and
# [http] ca_file) and a fresh daemon on a fresh spool, with BOTS accounts of
# CHANNEL, account i serving category "bench<i>"; N messages, every recipient
# distinct (Telegram's per-chat spacing never binds), spread evenly over the
# accounts by category, no throttle ([throttle.default] rate = "unlimited").
# T0 is the load generator's clock just before its first request; the end
# is the arrival of the N-th request at the fake (its stats, monotonic
# clock). Checked: the fake counted exactly N requests, all answered with
# success (no retry, no duplicate 1 s later), vestnik's GET /v1/queues says
# delivered = N and nothing else, and its accounting log has N "delivered"
# lines. CPU over the window from /proc: the daemon (utime+stime, all
# threads), the fake, the load generator (its own count), the machine
# (/proc/stat busy cores); peak RSS = VmHWM.
#
# alone: right after, a fresh fake (same flags) under FAKE_CLIENTS simple
# keep-alive clients sending the same provider requests one at a time, for
# as long as the vestnik window lasted (ALONE_MIN..ALONE_MAX seconds): the
# fake's own capacity on this machine now. The ratio vestnik / alone says
# whether the transport is the bottleneck or the fake (on a 2-core box the
# fake and vestnik share cores, so vestnik's CPU per message counts too).
#
# Appends one CSV row per run to $RESULTS_DIR/messenger_bench.csv and prints
# medians (min-max) of this invocation. Exits non-zero if a run failed a
# check, never because a target was missed. Loopback only; every process is
# stopped by its PID and every wait is bounded.
#
# Usage:  [VAR=value ...] bench/run_messenger_bench.sh      (--help lists the VARs)
set -euo pipefail
export LC_ALL=C
umask 022

REPO=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-20000}
RUNS=${RUNS:-1}
CHANNEL=${CHANNEL:-telegram}             # telegram | viber | vk | whatsapp | sms (Twilio)
BOTS=${BOTS:-10}                         # accounts of the channel (bots, tokens, numbers)
TLS=${TLS:-0}                            # 1: the fake speaks TLS (tests/fakes/data), vestnik verifies it
API_BATCH=${API_BATCH:-1000}             # messages per batch request
API_CONNECTIONS=${API_CONNECTIONS:-2}    # keep-alive connections of the load generator
FAKE_CLIENTS=${FAKE_CLIENTS:-4}          # client processes of the fake-alone phase
ALONE_MIN=${ALONE_MIN:-3}                # fake-alone duration bounds (s)
ALONE_MAX=${ALONE_MAX:-60}
FAKE_LATENCY_MS=${FAKE_LATENCY_MS:-0}     # the fake's --latency-ms (a provider's round trip); the alone phase is then latency-bound
PERF=${PERF:-0}                          # 1: perf record -g the daemon for PERF_SECONDS from T0 (run 1)
PERF_SECONDS=${PERF_SECONDS:-3}
BUILD_DIR=${BUILD_DIR:-build-bench}
[[ $BUILD_DIR == /* ]] || BUILD_DIR=$REPO/$BUILD_DIR
REBUILD=${REBUILD:-0}
VESTNIK_BIN=${VESTNIK_BIN:-$BUILD_DIR/app/vestnik}
WORK=${WORK:-/tmp/vestnik-messenger-bench}   # wiped per run
RESULTS_DIR=${RESULTS_DIR:-$WORK-results}
PHASE_TIMEOUT=${PHASE_TIMEOUT:-600}
STALL_TIMEOUT=${STALL_TIMEOUT:-60}
BENCH_API_KEY=${BENCH_API_KEY:-bench-key-0123456789abcdef}
# vestnik tuning
ENGINE_CONCURRENCY=${ENGINE_CONCURRENCY:-16}   # engine.default_concurrency (sends in flight per account)
ENGINE_BATCH_SIZE=${ENGINE_BATCH_SIZE:-100}    # engine.batch_size
HTTP_CONNECTIONS=${HTTP_CONNECTIONS:-64}       # http.max_connections_per_host (all accounts share the fake's origin)
PER_CHAT_INTERVAL=${PER_CHAT_INTERVAL:-1s}     # telegram.per_chat_interval (the production default)
API_THREADS=${API_THREADS:-0}
VESTNIK_LOG_LEVEL=${VESTNIK_LOG_LEVEL:-info}
PY=/usr/bin/python3
FAKES=$REPO/tests/fakes
LOAD=$REPO/bench/messenger_bench_load.py

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,34p' "$0"
    cat <<EOF

Environment (current values):
  N=$N RUNS=$RUNS CHANNEL=$CHANNEL BOTS=$BOTS TLS=$TLS
  API_BATCH=$API_BATCH API_CONNECTIONS=$API_CONNECTIONS FAKE_CLIENTS=$FAKE_CLIENTS ALONE_MIN=$ALONE_MIN ALONE_MAX=$ALONE_MAX
  FAKE_LATENCY_MS=$FAKE_LATENCY_MS (added to every answer of the fake; alone = FAKE_CLIENTS connections, so its ratio means little then)
  PERF=$PERF PERF_SECONDS=$PERF_SECONDS (perf report of the daemon in the artifacts; that run's CPU includes perf's cost)
  BUILD_DIR=$BUILD_DIR REBUILD=$REBUILD VESTNIK_BIN=$VESTNIK_BIN
  WORK=$WORK RESULTS_DIR=$RESULTS_DIR PHASE_TIMEOUT=$PHASE_TIMEOUT STALL_TIMEOUT=$STALL_TIMEOUT
  vestnik: ENGINE_CONCURRENCY=$ENGINE_CONCURRENCY ENGINE_BATCH_SIZE=$ENGINE_BATCH_SIZE HTTP_CONNECTIONS=$HTTP_CONNECTIONS
           PER_CHAT_INTERVAL=$PER_CHAT_INTERVAL API_THREADS=$API_THREADS VESTNIK_LOG_LEVEL=$VESTNIK_LOG_LEVEL
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
sys_cpu() { local u n s i w q sq st; read -r _ u n s i w q sq st _ < /proc/stat; echo "$u $n $s $i $w $q $sq $st"; }
busy_cores() {   # busy_cores BEFORE AFTER -> cores busy (of NCPU) between two sys_cpu samples
    awk -v a="$1" -v b="$2" -v ncpu="$NCPU" 'BEGIN { split(a, x, " "); split(b, y, " "); tot = 0
        for (i = 1; i <= 8; i++) { d[i] = y[i] - x[i]; tot += d[i] }
        if (tot <= 0) tot = 1
        printf "%.2f", ncpu * (tot - d[4] - d[5] - d[8]) / tot }'
}
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
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

# ---------------------------------------------------------------- checks and build
is_uint "$FAKE_LATENCY_MS" || die "FAKE_LATENCY_MS must be a whole number of milliseconds"
for v in N RUNS BOTS API_BATCH API_CONNECTIONS FAKE_CLIENTS ALONE_MIN ALONE_MAX PERF_SECONDS PHASE_TIMEOUT STALL_TIMEOUT \
         ENGINE_CONCURRENCY ENGINE_BATCH_SIZE HTTP_CONNECTIONS; do
    is_uint "${!v}" && (( ${!v} > 0 )) || die "$v must be a positive integer (got '${!v}')"
done
[[ $CHANNEL =~ ^(telegram|viber|vk|whatsapp|sms)$ ]] || die "CHANNEL must be telegram, viber, vk, whatsapp or sms"
[[ $TLS == 0 || $TLS == 1 ]] || die "TLS must be 0 or 1"
[[ $PERF == 0 || $PERF == 1 ]] || die "PERF must be 0 or 1"
(( BOTS <= 1000 )) || die "BOTS must be at most 1000"
[[ $WORK == /tmp/?* && $WORK != *..* ]] || die "WORK must be under /tmp (it is wiped)"
for b in awk curl timeout "$PY"; do command -v "$b" >/dev/null || die "missing $b"; done
(( PERF == 0 )) || command -v perf >/dev/null || die "PERF=1 needs perf"
[[ -r $FAKES/fake_providers.py && -r $LOAD ]] || die "tests/fakes/fake_providers.py or $LOAD missing"
VESTNIK=$VESTNIK_BIN
[[ $VESTNIK == /* ]] || VESTNIK=$PWD/$VESTNIK
mkdir -p "$WORK" "$RESULTS_DIR"
if [[ $VESTNIK == "$BUILD_DIR/app/vestnik" ]] && [[ $REBUILD == 1 || ! -x $VESTNIK ]]; then
    command -v ninja >/dev/null && command -v cmake >/dev/null || die "cmake and ninja are needed to build $VESTNIK"
    [[ -f $BUILD_DIR/build.ninja ]] ||
        cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || die "cmake failed"
    log "building vestnik in $BUILD_DIR"
    flock /tmp/vestnik-build.lock ninja -C "$BUILD_DIR" vestnik >"$WORK.build.log" 2>&1 ||
        die "build failed: $(tail -20 "$WORK.build.log")"
fi
[[ -x $VESTNIK ]] || die "no vestnik binary at $VESTNIK"
stale=$(cd "$REPO" && find app api core engine queue templating transports proto -newer "$VESTNIK" \
          \( -name '*.cpp' -o -name '*.h' -o -name '*.proto' \) 2>/dev/null | head -3)
[[ -z $stale ]] || log "warning: $VESTNIK is older than sources ($(echo $stale)...); rebuild it (REBUILD=1)"

PROVIDER=$CHANNEL; [[ $CHANNEL == sms ]] && PROVIDER=twilio   # the fake's name
LABEL=$CHANNEL; (( TLS )) && LABEL+=-tls
BATCH=$(date -u +%Y%m%dT%H%M%SZ)-$$
ART=$RESULTS_DIR/$BATCH
mkdir -p "$ART"
CSV=$RESULTS_DIR/messenger_bench.csv
CSV_HDR="batch,run,channel,tls,bots,n,status,inject_rate,e2e_rate,deliver_rate,window_s,engine_cpu_s,engine_cpu_us_per_msg,engine_peak_rss_mb,fake_cpu_s,fake_us_per_req,loadgen_cpu_s,busy_cores,other_cores,alone_rate,alone_s,alone_fake_cpu_s,alone_fake_us_per_req,alone_client_cpu_s,alone_busy_cores,alone_other_cores,ratio,note"
if [[ ! -s $CSV ]]; then echo "$CSV_HDR" > "$CSV"
elif [[ $(head -1 "$CSV") != "$CSV_HDR" ]]; then mv "$CSV" "$CSV.old.$BATCH"; echo "$CSV_HDR" > "$CSV"
fi
mkfifo "$WORK/.nap.$$"; exec {SLEEP_FD}<> "$WORK/.nap.$$"; rm -f "$WORK/.nap.$$"

# ---------------------------------------------------------------- cleanup: everything by its PID
FAKE_PID='' VEST_PID='' LOAD_PID='' PERF_PID='' FAILED=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$PERF_PID" 10
    stop_pid "$LOAD_PID" 5
    stop_pid "$VEST_PID" 15
    stop_pid "$FAKE_PID" 5
    (( rc == 0 )) || log "exiting with status $rc; logs under $WORK, results under $ART"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the fake
FAKE_PORT='' FAKE_URL=''
start_fake() {   # start_fake DIR NAME -> FAKE_PID FAKE_PORT FAKE_URL (bounded 20 s); no --stats file: its dumps cost the fake CPU
    local d=$1 f=$1/$2
    local -a tls=()
    (( TLS )) && tls=(--tls "$FAKES/data/server_cert.pem" "$FAKES/data/server_key.pem")
    "$PY" "$FAKES/fake_providers.py" --port 0 --latency-ms "$FAKE_LATENCY_MS" "${tls[@]}" > "$f.out" 2> "$f.err" &
    FAKE_PID=$!
    wait_line "$f.out" '^READY [0-9]+' "$FAKE_PID" 20 || { REASON="fake did not start: $(tail -3 "$f.err")"; return 1; }
    FAKE_PORT=$(awk '/^READY/ { print $2; exit }' "$f.out")
    FAKE_URL=$( (( TLS )) && echo https || echo http )://127.0.0.1:$FAKE_PORT
}
stop_fake() { stop_pid "$FAKE_PID" 10; FAKE_PID=''; }
fake_counts() {   # -> "requests ok min_first max_last" of PROVIDER (the fake's monotonic clock), or "NA ..."
    local -a ca=()
    (( TLS )) && ca=(--cacert "$FAKES/data/ca.pem")
    curl -s -m 30 "${ca[@]}" "$FAKE_URL/_fake/stats?brief=1" |
        "$PY" -c 'import json, sys
try:
    p = json.load(sys.stdin)["providers"][sys.argv[1]]
    keys = [k for k in p["keys"].values() if k["first"] is not None]
    print("%d %d %.6f %.6f" % (p["count"], p["outcomes"].get("ok", 0),
          min((k["first"] for k in keys), default=0), max((k["last"] for k in keys), default=0)))
except Exception:
    print("NA NA NA NA")' "$PROVIDER"
}

# ---------------------------------------------------------------- vestnik
write_config() {   # write_config SPOOL -> vestnik.toml on stdout
    cat <<EOF
# generated by bench/run_messenger_bench.sh -- throwaway benchmark instance
[api]
listen = "127.0.0.1:0"
threads = $API_THREADS

[spool]
path = "$1"

[log]
level = "$VESTNIK_LOG_LEVEL"

[engine]
default_concurrency = $ENGINE_CONCURRENCY
batch_size = $ENGINE_BATCH_SIZE

# The production default is 100 messages/s per destination (per account
# here); that would measure the throttle, not the transport.
[throttle.default]
rate = "unlimited"
connection_rate = "unlimited"

[http]
max_connections_per_host = $HTTP_CONNECTIONS
EOF
    (( TLS )) && echo "ca_file = \"$FAKES/data/ca.pem\""
    cat <<EOF

[[tenants]]
id = "bench"
[[tenants.keys]]
key = "$BENCH_API_KEY"
role = "admin"

EOF
    "$PY" "$LOAD" accounts --channel "$CHANNEL" --accounts "$BOTS" --base-url "$FAKE_URL" \
        --per-chat-interval "$PER_CHAT_INTERVAL"
}
API_PORT=''
start_vestnik() {   # start_vestnik DIR -> VEST_PID API_PORT (bounded 30 s)
    local d=$1
    write_config "$d/spool" > "$d/vestnik.toml"
    "$VESTNIK" serve --config "$d/vestnik.toml" 2> "$d/serve.log" &
    VEST_PID=$!
    wait_line "$d/serve.log" '"msg":"api listening"' "$VEST_PID" 30 ||
        { REASON="vestnik did not start: $(tail -3 "$d/serve.log")"; return 1; }
    API_PORT=$(grep -m1 -o '"msg":"api listening".*"port":[0-9]*' "$d/serve.log" | grep -o '[0-9]*$' || true)
    [[ -n $API_PORT ]] || { REASON="no API port in the log"; return 1; }
}
stop_vestnik() { stop_pid "$VEST_PID" 40; VEST_PID=''; }
TOTALS=''
queue_totals() {   # -> TOTALS "queued=0 sending=0 delivered=N ..." from GET /v1/queues (no python: polled)
    local body re='"status":"([a-z]+)","count":([0-9]+)'
    TOTALS=''
    body=$(curl -s -m 10 -H "Authorization: Bearer $BENCH_API_KEY" "http://127.0.0.1:$API_PORT/v1/queues") || return 1
    body=${body%%\"destinations\"*}
    body=${body// /}
    while [[ $body =~ $re ]]; do
        TOTALS+="${BASH_REMATCH[1]}=${BASH_REMATCH[2]} "
        body=${body#*"${BASH_REMATCH[0]}"}
    done
    TOTALS=${TOTALS% }
    [[ -n $TOTALS ]]
}
delivered_of() { local re='(^| )delivered=([0-9]+)'; [[ $1 =~ $re ]] && echo "${BASH_REMATCH[2]}" || echo 0; }
wait_delivered() {   # wait_delivered T0_US -> 0 when vestnik says delivered=N; 1 with REASON (bounded)
    local t0_us=$1 last=-1 last_change US got
    us_now; last_change=$US
    for (( ; ; )); do
        pid_alive "$VEST_PID" || { REASON="vestnik died"; return 1; }
        pid_alive "$FAKE_PID" || { REASON="the fake died"; return 1; }
        queue_totals || TOTALS=''
        got=$(delivered_of "$TOTALS")
        (( got >= N )) && return 0
        us_now
        if [[ $got != "$last" ]]; then last=$got; last_change=$US; fi
        (( US - last_change > STALL_TIMEOUT * 1000000 )) && { REASON="stalled at delivered=$got/$N for ${STALL_TIMEOUT}s ($TOTALS)"; return 1; }
        (( US - t0_us > PHASE_TIMEOUT * 1000000 )) && { REASON="timeout (${PHASE_TIMEOUT}s) at delivered=$got/$N ($TOTALS)"; return 1; }
        nap 0.1
    done
}
totals_ok() {   # every message delivered, nothing else, N delivery lines in the accounting log
    [[ " $1 " == *" delivered=$N "* && " $1 " == *" accounting_lines=$N "* && " $1 " == *" accounting_delivered=$N "* ]] &&
        ! [[ $1 =~ (queued|sending|failed|cancelled|forbidden|complained)=[1-9] ]]
}
accounting_counts() {   # accounting_counts SPOOL (vestnik has exited: its last lines are written at shutdown)
    local f=$1/accounting.jsonl lines=0 deliv=0
    if [[ -f $f ]]; then lines=$(wc -l < "$f"); deliv=$(grep -c '"result":"delivered"' "$f" || true); fi
    echo "accounting_lines=$lines accounting_delivered=$deliv"
}

# ---------------------------------------------------------------- one run
record() {   # record RUN STATUS NOTE [key=value...]: one CSV row; missing figures are NA
    local run=$1 status=$2 note=${3//,/;} c row=''
    local -A f=()
    shift 3
    for kv in "$@"; do f[${kv%%=*}]=${kv#*=}; done
    for c in inject_rate e2e_rate deliver_rate window_s engine_cpu_s engine_cpu_us_per_msg engine_peak_rss_mb fake_cpu_s \
             fake_us_per_req loadgen_cpu_s busy_cores other_cores alone_rate alone_s alone_fake_cpu_s alone_fake_us_per_req \
             alone_client_cpu_s alone_busy_cores alone_other_cores ratio; do
        row+=",${f[$c]:-NA}"
    done
    echo "$BATCH,$run,$CHANNEL,$TLS,$BOTS,$N,$status$row,${note// /_}" >> "$CSV"
    if [[ $status == ok ]]; then
        log "run $run $LABEL: e2e=${f[e2e_rate]}/s inject=${f[inject_rate]}/s engine=${f[engine_cpu_us_per_msg]}us/msg" \
            "fake=${f[fake_us_per_req]}us/req loadgen=${f[loadgen_cpu_s]}s busy=${f[busy_cores]}/$NCPU other=${f[other_cores]} rss=${f[engine_peak_rss_mb]}MB" \
            "| alone=${f[alone_rate]}/s (fake ${f[alone_fake_us_per_req]}us/req, busy ${f[alone_busy_cores]}, other ${f[alone_other_cores]}) ratio=${f[ratio]}"
    else
        log "run $run $LABEL: FAILED: $note"
    fi
}
fail_run() { FAILED=1; record "$1" FAILED "$2"; stop_pid "$PERF_PID" 10; PERF_PID=''; stop_pid "$LOAD_PID" 5; LOAD_PID=''; stop_vestnik; stop_fake; }

one_run() {   # one_run RUN
    local run=$1 d=$WORK/run$1 rc res t0 t0_mono tlast acked lcpu US t0_us
    local sys0 sys1 f0 f1 v0 v1 t1_us busy rss cnt ok first last cnt2 totals window e2e inj deliv
    rm -rf "$d"; mkdir -p "$d"
    # ---- vestnik through the fake
    start_fake "$d" fake || { fail_run "$run" "$REASON"; return; }
    start_vestnik "$d" || { fail_run "$run" "$REASON"; return; }
    timeout --kill-after=10 "$PHASE_TIMEOUT" "$PY" "$LOAD" inject --port "$API_PORT" --key "$BENCH_API_KEY" \
        --channel "$CHANNEL" --messages "$N" --accounts "$BOTS" --batch "$API_BATCH" \
        --connections "$API_CONNECTIONS" --go-file "$d/go" > "$d/load.out" 2> "$d/load.err" &
    LOAD_PID=$!
    wait_line "$d/load.out" '^READY' "$LOAD_PID" 120 || { fail_run "$run" "load generator not ready: $(tail -2 "$d/load.err")"; return; }
    sys0=$(sys_cpu); f0=$(proc_cpu_ticks "$FAKE_PID"); v0=$(proc_cpu_ticks "$VEST_PID")
    us_now; t0_us=$US
    : > "$d/go"
    if (( PERF && run == 1 )); then
        perf record -F 499 -g -p "$VEST_PID" -o "$d/perf.data" -- sleep "$PERF_SECONDS" > "$d/perf.log" 2>&1 &
        PERF_PID=$!
    fi
    set +e; wait "$LOAD_PID"; rc=$?; set -e
    LOAD_PID=''
    res=$(tail -1 "$d/load.out")
    read -r t0 t0_mono tlast acked lcpu < <("$PY" -c 'import json, sys
try:
    r = json.loads(sys.argv[1]); print("%.6f %.6f %.6f %d %.3f" % (r["t0"], r["t0_mono"], r["t_last_ack"], r["acked"], r["cpu_s"]))
except Exception:
    print("NA NA NA 0 NA")' "$res")
    if (( rc != 0 )) || [[ $t0 == NA ]]; then
        fail_run "$run" "load generator exit $rc acked $acked: $(tail -2 "$d/load.err" | tr '\n' ' ')"; return
    fi
    wait_delivered "$t0_us" || { fail_run "$run" "$REASON"; return; }
    v1=$(proc_cpu_ticks "$VEST_PID"); f1=$(proc_cpu_ticks "$FAKE_PID"); sys1=$(sys_cpu); us_now; t1_us=$US
    rss=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$VEST_PID/status" 2>/dev/null || echo NA)
    # the fake must have counted N successes too (bounded: it answered before vestnik committed)
    us_now; local deadline=$(( US + 10000000 ))
    for (( ; ; )); do
        read -r cnt ok first last < <(fake_counts)
        [[ $ok != NA ]] && (( ok >= N )) && break
        us_now; (( US >= deadline )) && { fail_run "$run" "the fake counted $ok successes of $cnt requests, expected $N"; return; }
        nap 0.2
    done
    nap 1   # a late duplicate would show up now
    read -r cnt2 _ _ _ < <(fake_counts)
    queue_totals || TOTALS="queues unreadable"
    totals=$TOTALS
    if [[ -n $PERF_PID ]]; then wait_pid_exit "$PERF_PID" $(( PERF_SECONDS + 30 )) || true; stop_pid "$PERF_PID" 5; PERF_PID=''; fi
    stop_vestnik
    stop_fake
    totals+=" $(accounting_counts "$d/spool")"
    for f in vestnik.toml serve.log load.out load.err fake.err fake-alone.err; do [[ -f $d/$f ]] && cp "$d/$f" "$ART/run$run-$f"; done
    if [[ -f $d/perf.data ]]; then
        perf report -i "$d/perf.data" --stdio --no-children --sort dso,symbol --percent-limit 0.7 > "$ART/run$run-perf.txt" 2>/dev/null || true
        perf report -i "$d/perf.data" --stdio --no-children --sort comm,dso --percent-limit 1 -g none > "$ART/run$run-perf-threads.txt" 2>/dev/null || true
    fi
    [[ $cnt == "$N" && $cnt2 == "$N" && $ok == "$N" ]] ||
        { FAILED=1; record "$run" FAILED "the fake counted $cnt then $cnt2 requests ($ok ok), expected exactly $N"; return; }
    totals_ok "$totals" || { FAILED=1; record "$run" FAILED "vestnik totals: $totals"; return; }
    window=$(calc "$last - $t0_mono" 6)
    e2e=$(calc "$N / $window" 0); inj=$(calc "$N / ($tlast - $t0)" 0); deliv=$(calc "($N - 1) / ($last - $first)" 0)
    local -a figs=(inject_rate="$inj" e2e_rate="$e2e" deliver_rate="$deliv" window_s="$(calc "$window" 3)"
        engine_cpu_s="$(calc "($v1 - $v0) / $CLK_TCK" 2)" engine_cpu_us_per_msg="$(calc "($v1 - $v0) * 1000000 / $CLK_TCK / $N" 0)"
        engine_peak_rss_mb="$rss" fake_cpu_s="$(calc "($f1 - $f0) / $CLK_TCK" 2)"
        fake_us_per_req="$(calc "($f1 - $f0) * 1000000 / $CLK_TCK / $N" 0)" loadgen_cpu_s="$lcpu"
        busy_cores="$(busy_cores "$sys0" "$sys1")")
    # other: busy cores minus vestnik, the fake and the load generator over
    # the CPU sampling window (go .. completion seen): the harness's polling
    # and whatever else runs on the machine (noise).
    busy=$(busy_cores "$sys0" "$sys1")
    figs+=(other_cores="$(calc "$busy - (($v1 - $v0 + $f1 - $f0) / $CLK_TCK + ${lcpu}) / (($t1_us - $t0_us) / 1000000)" 2)")

    # ---- the fake alone, as long as the vestnik window lasted
    local secs=$(( ${window%.*} + 1 )) ares arate aok an acpu fa0 fa1
    (( secs < ALONE_MIN )) && secs=$ALONE_MIN
    (( secs > ALONE_MAX )) && secs=$ALONE_MAX
    start_fake "$d" fake-alone || { FAILED=1; record "$run" FAILED "alone: $REASON" "${figs[@]}"; stop_fake; return; }
    local -a tls=()
    (( TLS )) && tls=(--tls "$FAKES/data/ca.pem")
    rm -f "$d/go"
    timeout --kill-after=10 $(( secs + 240 )) "$PY" "$LOAD" fake --port "$FAKE_PORT" --channel "$CHANNEL" \
        --accounts "$BOTS" --seconds "$secs" --clients "$FAKE_CLIENTS" \
        --recipients $(( (N + FAKE_CLIENTS - 1) / FAKE_CLIENTS )) "${tls[@]}" --go-file "$d/go" \
        > "$d/alone.out" 2> "$d/alone.err" &
    LOAD_PID=$!
    if ! wait_line "$d/alone.out" '^READY' "$LOAD_PID" 180; then
        FAILED=1; record "$run" FAILED "alone: clients not ready: $(tail -2 "$d/alone.err" | tr '\n' ' ')" "${figs[@]}"
        stop_pid "$LOAD_PID" 5; LOAD_PID=''; stop_fake; return
    fi
    sys0=$(sys_cpu); fa0=$(proc_cpu_ticks "$FAKE_PID"); us_now; t0_us=$US
    : > "$d/go"
    set +e; wait "$LOAD_PID"; rc=$?; set -e
    LOAD_PID=''
    fa1=$(proc_cpu_ticks "$FAKE_PID"); sys1=$(sys_cpu); us_now; t1_us=$US
    stop_fake
    cp "$d/alone.out" "$ART/run$run-alone.out"; cp "$d/alone.err" "$ART/run$run-alone.err"
    [[ -s $d/fake-alone.err ]] && cp "$d/fake-alone.err" "$ART/run$run-fake-alone.err"
    ares=$(tail -1 "$d/alone.out")
    read -r an aok arate as acpu < <("$PY" -c 'import json, sys
try:
    r = json.loads(sys.argv[1]); print("%d %d %.1f %.3f %.3f" % (r["requests"], r["ok"], r["rate"], r["seconds"], r["client_cpu_s"]))
except Exception:
    print("0 0 NA NA NA")' "$ares")
    if (( rc != 0 )) || [[ $arate == NA ]]; then
        FAILED=1; record "$run" FAILED "alone: exit $rc, $aok ok of $an: $(tail -2 "$d/alone.err" | tr '\n' ' ')" "${figs[@]}"; return
    fi
    record "$run" ok "$totals" "${figs[@]}" alone_rate="$(calc "$arate" 0)" alone_s="$as" \
        alone_fake_cpu_s="$(calc "($fa1 - $fa0) / $CLK_TCK" 2)" alone_fake_us_per_req="$(calc "($fa1 - $fa0) * 1000000 / $CLK_TCK / $an" 0)" \
        alone_client_cpu_s="$acpu" alone_busy_cores="$(busy_cores "$sys0" "$sys1")" ratio="$(calc "$e2e / $arate" 2)" \
        alone_other_cores="$(calc "$(busy_cores "$sys0" "$sys1") - (($fa1 - $fa0) / $CLK_TCK + $acpu) / (($t1_us - $t0_us) / 1000000)" 2)"
}

# ---------------------------------------------------------------- main
REV=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo "${VESTNIK_REV:-?}")
log "vestnik $REV ($VESTNIK, built $(date -u -r "$VESTNIK" +%FT%TZ)); $LABEL N=$N runs=$RUNS bots=$BOTS"
log "load average: $(cut -d' ' -f1-3 /proc/loadavg); results: $CSV (batch $BATCH), artifacts: $ART"
{
    echo "date: $(date -u +%FT%TZ)"; echo "kernel: $(uname -r)"; echo "cpus: $NCPU"; echo "loadavg at start: $(cat /proc/loadavg)"
    echo "vestnik: $REV ($REPO), binary $VESTNIK built $(date -u -r "$VESTNIK" +%FT%TZ)"
    echo "command: N=$N RUNS=$RUNS CHANNEL=$CHANNEL BOTS=$BOTS TLS=$TLS FAKE_LATENCY_MS=$FAKE_LATENCY_MS API_BATCH=$API_BATCH API_CONNECTIONS=$API_CONNECTIONS FAKE_CLIENTS=$FAKE_CLIENTS $0"
    echo "tuning: ENGINE_CONCURRENCY=$ENGINE_CONCURRENCY ENGINE_BATCH_SIZE=$ENGINE_BATCH_SIZE HTTP_CONNECTIONS=$HTTP_CONNECTIONS PER_CHAT_INTERVAL=$PER_CHAT_INTERVAL API_THREADS=$API_THREADS VESTNIK_LOG_LEVEL=$VESTNIK_LOG_LEVEL"
} > "$ART/sysinfo.txt"
for (( run = 1; run <= RUNS; run++ )); do one_run "$run"; done
echo "loadavg at end: $(cat /proc/loadavg)" >> "$ART/sysinfo.txt"

# ---------------------------------------------------------------- summary (this invocation)
awk -F, -v batch="$BATCH" -v ncpu="$NCPU" -v label="$LABEL" '
    function sorted(key,   k, i, j, t) {   # sorts val[key, 1..k] in place; returns k
        k = cnt[key]
        for (i = 2; i <= k; i++) { t = val[key, i]; for (j = i - 1; j >= 1 && val[key, j] > t; j--) val[key, j + 1] = val[key, j]; val[key, j + 1] = t }
        return k
    }
    function stat(key, d,   k, m) {   # "median (min-max)"
        k = sorted(key); if (k == 0) return "NA"
        m = (k % 2) ? val[key, (k + 1) / 2] : (val[key, k / 2] + val[key, k / 2 + 1]) / 2
        if (k == 1) return sprintf("%." d "f", m)
        return sprintf("%." d "f (%." d "f-%." d "f)", m, val[key, 1], val[key, k])
    }
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 != batch { next }
    $(col["status"]) != "ok" { nfail++; next }
    { nok++; for (c in col) if ($(col[c]) ~ /^-?[0-9.]+$/) val[c, ++cnt[c]] = $(col[c]) + 0 }
    END {
        printf "\n%s, %d ok, %d failed (medians, min-max over runs; cores of %d):\n", label, nok, nfail, ncpu
        split("e2e_rate:0 inject_rate:0 deliver_rate:0 engine_cpu_us_per_msg:0 engine_peak_rss_mb:1 fake_us_per_req:0 fake_cpu_s:2 loadgen_cpu_s:2 busy_cores:2 other_cores:2 alone_rate:0 alone_fake_us_per_req:0 alone_client_cpu_s:2 alone_busy_cores:2 alone_other_cores:2 ratio:2", m, " ")
        for (i = 1; i in m; i++) { split(m[i], kd, ":"); printf "  %-24s %s\n", kd[1], stat(kd[1], kd[2]) }
    }' "$CSV" | tee "$ART/summary.txt"
grep ",FAILED," "$CSV" | grep "^$BATCH," | sed 's/^/FAILED: /' | tee -a "$ART/summary.txt" >&2 || true
log "done; rows in $CSV (batch $BATCH), artifacts in $ART"
(( FAILED == 0 )) || exit 1
