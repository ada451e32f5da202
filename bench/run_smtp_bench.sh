#!/usr/bin/env bash
# bench/run_smtp_bench.sh -- end to end over SMTP, side by side with Postfix
# (issue #4), in one invocation, on loopback only. Per run:
#
#   ceiling  : smtp-source -d --> smtp-sink                         (no relay)
#   postfix  : smtp-source -d --> Postfix 127.0.0.1:10025 --> smtp-sink
#   listener : smtp-source -d --> vestnik SMTP listener 127.0.0.1:10026 --> smtp-sink
#   api      : POST /v1/messages:batch --> vestnik --> smtp-sink
#
# With VESTNIK_BIN_URING set (a vestnik built with -DVESTNIK_IO_URING=ON),
# the listener and api phases are also run with that binary, as
# listener-uring and api-uring, in the same run; which binary goes first
# alternates from run to run.
#
# The first three are ../shared/tools/postfix_baseline.sh (PHASES="ceiling
# postfix engine", SOURCE_OPTS=-d, ENGINE_CMD=bench/smtp_bench_engine.sh);
# the api phase is measured here the same way: a fresh spool and a fresh
# smtp-sink whose -c counters timestamp the N-th message, T0 just before the
# first request. N messages of SIZE bytes, one recipient each; through the API
# the recipients are spread over DOMAINS domains (d0.test ...), all routed
# by [[smtp.routes]] domain="*" to the sink. vestnik answers only once a
# message is fsynced in its spool (API 200 / SMTP 250), like Postfix.
#
# Prints the figures of every phase and a summary with the ratios of the
# issue's targets; exits non-zero if a phase failed a check (exact sink
# count, no duplicate 1 s later, every message delivered per vestnik's own
# queue totals, and N "delivered" lines in its accounting log, which stays on
# as in production), never because a target was missed. Needs root
# (Postfix, cgroups).
#
# Usage:  [VAR=value ...] bench/run_smtp_bench.sh      (--help lists the VARs)
set -euo pipefail
export LC_ALL=C
umask 022

REPO=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-20000}
RUNS=${RUNS:-1}
SESSIONS=${SESSIONS:-20}                 # smtp-source -s
SIZE=${SIZE:-4096}                       # body bytes (smtp-source -l; API "text")
DOMAINS=${DOMAINS:-1000}                 # API path: distinct recipient domains
API_BATCH=${API_BATCH:-1000}             # API path: messages per request
API_CONNECTIONS=${API_CONNECTIONS:-2}    # API path: keep-alive connections
PHASES=${PHASES:-"ceiling postfix listener api"}
BUILD_DIR=${BUILD_DIR:-build-bench}
[[ $BUILD_DIR == /* ]] || BUILD_DIR=$REPO/$BUILD_DIR
REBUILD=${REBUILD:-0}                    # 1: run ninja even if the binary exists
VESTNIK_BIN=${VESTNIK_BIN:-$BUILD_DIR/app/vestnik}
VESTNIK_BIN_URING=${VESTNIK_BIN_URING:-}  # optional second binary (io_uring build)
POSTFIX_BASELINE=${POSTFIX_BASELINE:-$REPO/../shared/tools/postfix_baseline.sh}
SINK_ADDR=${SINK_ADDR:-127.0.0.2}
SINK_PORT=${SINK_PORT:-2525}
ENGINE_ADDR=${ENGINE_ADDR:-127.0.0.1}
ENGINE_PORT=${ENGINE_PORT:-10026}
WORK=${WORK:-/tmp/vestnik-smtp-bench}    # wiped per phase
RESULTS_DIR=${RESULTS_DIR:-$WORK-results}
PHASE_TIMEOUT=${PHASE_TIMEOUT:-900}
STALL_TIMEOUT=${STALL_TIMEOUT:-120}
export BENCH_API_KEY=${BENCH_API_KEY:-bench-key-0123456789abcdef}
# vestnik tuning, passed to smtp_bench_config.sh through the environment
export SMTP_MAX_CONNECTIONS=${SMTP_MAX_CONNECTIONS:-20} SMTP_MAX_MSGS_PER_CONN=${SMTP_MAX_MSGS_PER_CONN:-1000}
export ENGINE_CONCURRENCY=${ENGINE_CONCURRENCY:-16} ENGINE_BATCH_SIZE=${ENGINE_BATCH_SIZE:-100}
export API_THREADS=${API_THREADS:-0} VESTNIK_LOG_LEVEL=${VESTNIK_LOG_LEVEL:-info}
# DKIM=rsa|ed25519: vestnik signs every message (issue #5); the summary then
# also gives each rate against the machine's signing limit on all cores
# (openssl speed -multi NCPU, measured in every run).
DKIM=${DKIM:-}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,31p' "$0"
    cat <<EOF

Environment (current values):
  N=$N RUNS=$RUNS SESSIONS=$SESSIONS SIZE=$SIZE DOMAINS=$DOMAINS API_BATCH=$API_BATCH
  API_CONNECTIONS=$API_CONNECTIONS PHASES="$PHASES" (any of: ceiling postfix listener api)
  BUILD_DIR=$BUILD_DIR REBUILD=$REBUILD POSTFIX_BASELINE=$POSTFIX_BASELINE
  VESTNIK_BIN=$VESTNIK_BIN (REBUILD and the automatic build apply to BUILD_DIR's binary)
  VESTNIK_BIN_URING=$VESTNIK_BIN_URING (empty: no *-uring phases)
  DKIM=$DKIM (rsa|ed25519: sign every message; empty: no DKIM)
  VESTNIK_REV=${VESTNIK_REV:-} (names the source when the checkout is not a git repository, e.g. an exported snapshot)
  FSYNC_REF_COUNT=${FSYNC_REF_COUNT:-200} (4 KiB dsync writes of the fsync reference before each phase group)
  SINK_ADDR=$SINK_ADDR SINK_PORT=$SINK_PORT ENGINE_ADDR=$ENGINE_ADDR ENGINE_PORT=$ENGINE_PORT
  WORK=$WORK RESULTS_DIR=$RESULTS_DIR PHASE_TIMEOUT=$PHASE_TIMEOUT STALL_TIMEOUT=$STALL_TIMEOUT
  vestnik: SMTP_MAX_CONNECTIONS=$SMTP_MAX_CONNECTIONS SMTP_MAX_MSGS_PER_CONN=$SMTP_MAX_MSGS_PER_CONN
           ENGINE_CONCURRENCY=$ENGINE_CONCURRENCY ENGINE_BATCH_SIZE=$ENGINE_BATCH_SIZE
           API_THREADS=$API_THREADS VESTNIK_LOG_LEVEL=$VESTNIK_LOG_LEVEL
EOF
    exit 0
fi

# ---------------------------------------------------------------- helpers
log()  { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die()  { log "FATAL: $*"; exit 1; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
us_now() { US=${EPOCHREALTIME/./}; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_loopback() { [[ $1 =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; }
SLEEP_FD=''
nap() { read -r -t "$1" -u "$SLEEP_FD" _ || true; }   # fork-free sleep
listening() { ss -Hltn "( sport = :$2 )" 2>/dev/null | awk -v a="$1:$2" '$4 == a { f = 1 } END { exit !f }'; }
port_in_use() { [[ -n $(ss -Hltn "( sport = :$1 )" 2>/dev/null) ]]; }
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
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

# ---------------------------------------------------------------- checks and build
[[ $(id -u) == 0 ]] || die "must run as root (postfix_baseline.sh starts Postfix and uses cgroups)"
for v in N RUNS SESSIONS SIZE DOMAINS API_BATCH API_CONNECTIONS SINK_PORT ENGINE_PORT PHASE_TIMEOUT STALL_TIMEOUT; do
    is_uint "${!v}" && (( ${!v} > 0 )) || die "$v must be a positive integer (got '${!v}')"
done
is_loopback "$SINK_ADDR" || die "SINK_ADDR must be a 127.x.y.z address"
is_loopback "$ENGINE_ADDR" || die "ENGINE_ADDR must be a 127.x.y.z address"
[[ $WORK == /tmp/?* && $WORK != *..* ]] || die "WORK must be under /tmp (it is wiped)"
for ph in $PHASES; do [[ $ph =~ ^(ceiling|postfix|listener|api)$ ]] || die "unknown phase '$ph'"; done
[[ -z $DKIM || $DKIM == rsa || $DKIM == ed25519 ]] || die "DKIM must be rsa, ed25519 or empty"
has_phase() { [[ " $PHASES " == *" $1 "* ]]; }
for b in smtp-sink perl ss awk curl timeout /usr/bin/python3; do command -v "$b" >/dev/null || die "missing $b"; done
if has_phase ceiling || has_phase postfix || has_phase listener; then
    [[ -r $POSTFIX_BASELINE ]] || die "postfix_baseline.sh not found at $POSTFIX_BASELINE (set POSTFIX_BASELINE)"
fi
VESTNIK=$VESTNIK_BIN
[[ $VESTNIK == /* ]] || VESTNIK=$PWD/$VESTNIK
if [[ $VESTNIK == "$BUILD_DIR/app/vestnik" ]] && [[ $REBUILD == 1 || ! -x $VESTNIK ]]; then
    command -v ninja >/dev/null && command -v cmake >/dev/null || die "cmake and ninja are needed to build $VESTNIK"
    [[ -f $BUILD_DIR/build.ninja ]] ||
        cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || die "cmake failed"
    log "building vestnik in $BUILD_DIR (ninja -j2)"
    ninja -C "$BUILD_DIR" -j2 vestnik >"$WORK.build.log" 2>&1 || die "build failed: $(tail -20 "$WORK.build.log")"
fi

[[ -x $VESTNIK ]] || die "no vestnik binary at $VESTNIK"
if [[ -n $VESTNIK_BIN_URING ]]; then
    [[ $VESTNIK_BIN_URING == /* ]] || VESTNIK_BIN_URING=$PWD/$VESTNIK_BIN_URING
    [[ -x $VESTNIK_BIN_URING ]] || die "VESTNIK_BIN_URING=$VESTNIK_BIN_URING is not an executable"
fi
BINS=("$VESTNIK") SUFFIXES=("")
[[ -z $VESTNIK_BIN_URING ]] || { BINS+=("$VESTNIK_BIN_URING"); SUFFIXES+=("-uring"); }
for b in "${BINS[@]}"; do
    stale=$(cd "$REPO" && find app api core engine mta queue templating transports proto dkim -newer "$b" \
              \( -name '*.cpp' -o -name '*.h' -o -name '*.proto' \) 2>/dev/null | head -3)
    [[ -z $stale ]] || log "warning: $b is older than sources ($(echo $stale)...); rebuild it"
done

mkdir -p "$WORK" "$RESULTS_DIR"
BATCH=$(date -u +%Y%m%dT%H%M%SZ)-$$
ART=$RESULTS_DIR/$BATCH
mkdir -p "$ART"
CSV=$RESULTS_DIR/smtp_bench.csv
CSV_HDR="batch,run,phase,n,status,inject_rate,e2e_rate,deliver_rate,engine_cpu_s,engine_cpu_us_per_msg,engine_peak_rss_mb,loadgen_cpu_s,sink_cpu_s,busy_cores,other_cores,fsync_ms,note"
if [[ ! -s $CSV ]]; then echo "$CSV_HDR" > "$CSV"
elif [[ $(head -1 "$CSV") != "$CSV_HDR" ]]; then mv "$CSV" "$CSV.old.$BATCH"; echo "$CSV_HDR" > "$CSV"
fi
mkfifo "$WORK/.nap.$$"; exec {SLEEP_FD}<> "$WORK/.nap.$$"; rm -f "$WORK/.nap.$$"

# ---------------------------------------------------------------- cleanup: everything by its PID
SINK_PID='' WATCH_PID='' VEST_PID='' LOAD_PID='' BASE_PID='' FAILED=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [[ -n $BASE_PID ]] && stop_pid "$BASE_PID" 60   # postfix_baseline.sh stops its own processes on TERM
    stop_pid "$LOAD_PID" 5
    stop_pid "$VEST_PID" 15
    stop_pid "$SINK_PID" 5
    [[ -n $WATCH_PID ]] && { wait_pid_exit "$WATCH_PID" 5 || kill -TERM "$WATCH_PID" 2>/dev/null || true; wait "$WATCH_PID" 2>/dev/null || true; }
    (( rc == 0 )) || log "exiting with status $rc; logs under $WORK, results under $ART"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- smtp-sink with a -c watcher
# As in postfix_baseline.sh: smtp-sink -c prints "sess=A quit=B mesg=C\r" after
# every event; a perl watcher timestamps the first message and the moment mesg
# reaches N (no polling error) and keeps progress/final counts in files.
start_sink() {   # start_sink DIR
    local d=$1 deadline US
    port_in_use "$SINK_PORT" && die "port $SINK_PORT already has a listener (not ours); set SINK_PORT"
    mkfifo "$d/sink.fifo"
    perl -MTime::HiRes=time -e '
        use strict; use warnings;
        my ($target, $dir) = @ARGV;
        $/ = "\r";
        my ($first, $done, $lastw, $mesg, $sess) = (undef, undef, 0, 0, 0);
        sub put { my ($f, $s) = @_; open(my $fh, ">", "$dir/$f.tmp") or die "$f: $!";
                  print $fh $s; close $fh; rename("$dir/$f.tmp", "$dir/$f") or die "$f: $!"; }
        while (my $l = <STDIN>) {
            next unless $l =~ /sess=(\d+) quit=(\d+) mesg=(\d+)/;
            my $t = time; ($sess, $mesg) = ($1, $3);
            $first //= $t if $mesg >= 1;
            if (!defined $done && $mesg >= $target) {
                $done = $t; put("sink.done", sprintf("%.6f %.6f %d %d\n", $done, $first, $mesg, $sess));
            }
            if ($t - $lastw >= 0.2) { put("sink.progress", "$mesg $sess\n"); $lastw = $t; }
        }
        put("sink.progress", "$mesg $sess\n");
        put("sink.final", "$mesg $sess\n");
    ' "$N" "$d" < "$d/sink.fifo" &
    WATCH_PID=$!
    smtp-sink -c -u postfix "$SINK_ADDR:$SINK_PORT" 1024 > "$d/sink.fifo" 2> "$d/sink.err" &
    SINK_PID=$!
    us_now; deadline=$(( US + 10000000 ))
    until listening "$SINK_ADDR" "$SINK_PORT"; do
        pid_alive "$SINK_PID" || die "smtp-sink died: $(cat "$d/sink.err")"
        us_now; (( US >= deadline )) && die "smtp-sink not listening after 10s"
        nap 0.05
    done
}
stop_sink() {
    stop_pid "$SINK_PID" 5; SINK_PID=''
    if [[ -n $WATCH_PID ]]; then   # ends by itself at EOF of the sink's output
        wait_pid_exit "$WATCH_PID" 5 || kill -TERM "$WATCH_PID" 2>/dev/null || true
        wait "$WATCH_PID" 2>/dev/null || true
    fi
    WATCH_PID=''
}
wait_sink_done() {   # wait_sink_done DIR T0_EPOCH -> 0, or 1 with REASON set (bounded)
    local d=$1 t0_us last=-1 last_change US CNT frac=${2#*.}000000
    t0_us=${2%%.*}${frac:0:6}
    us_now; last_change=$US
    while [[ ! -s $d/sink.done ]]; do
        pid_alive "$SINK_PID" || { REASON="smtp-sink died"; return 1; }
        pid_alive "$VEST_PID" || { REASON="vestnik died"; return 1; }
        read -r CNT _ 2>/dev/null < "$d/sink.progress" || CNT=0
        us_now
        if [[ $CNT != "$last" ]]; then last=$CNT; last_change=$US; fi
        (( US - last_change > STALL_TIMEOUT * 1000000 )) && { REASON="stalled at $CNT/$N for ${STALL_TIMEOUT}s"; return 1; }
        (( US - t0_us > PHASE_TIMEOUT * 1000000 )) && { REASON="phase timeout at $CNT/$N"; return 1; }
        nap 0.05
    done
}

# ---------------------------------------------------------------- vestnik
start_vestnik() {   # start_vestnik BIN DIR [LISTEN] -> VEST_PID, API_PORT (bounded 30 s)
    local bin=$1 d=$2 deadline US
    bash "$REPO/bench/smtp_bench_config.sh" "$d/spool" "$SINK_ADDR" "$SINK_PORT" ${3:+"$3"} > "$d/vestnik.toml"
    "$bin" serve --config "$d/vestnik.toml" 2> "$d/serve.log" &
    VEST_PID=$!
    API_PORT=''
    us_now; deadline=$(( US + 30000000 ))
    until [[ -n $API_PORT ]]; do
        pid_alive "$VEST_PID" || { REASON="vestnik exited at start: $(tail -3 "$d/serve.log")"; return 1; }
        us_now; (( US >= deadline )) && { REASON="vestnik API not up after 30s"; return 1; }
        nap 0.05
        API_PORT=$(grep -m1 -o '"msg":"api listening".*"port":[0-9]*' "$d/serve.log" | grep -o '[0-9]*$' || true)
    done
}
queue_totals() {   # "queued=0 sending=0 delivered=N ..." from GET /v1/queues
    curl -s -m 10 -H "Authorization: Bearer $BENCH_API_KEY" "http://127.0.0.1:$API_PORT/v1/queues" |
        /usr/bin/python3 -c 'import json,sys; print(" ".join("%s=%d" % (t["status"], t["count"]) for t in json.load(sys.stdin)["totals"]))'
}
totals_ok() {   # totals_ok "TOTALS": every message delivered, nothing else, and N delivery lines in the accounting log
    [[ " $1 " == *" delivered=$N "* && " $1 " == *" accounting_lines=$N "* && " $1 " == *" accounting_delivered=$N "* ]] &&
        ! [[ $1 =~ (queued|sending|failed|cancelled|forbidden|complained)=[1-9] ]]
}
accounting_counts() {   # accounting_counts SPOOL (vestnik has exited: its last lines are written at shutdown)
    local f=$1/accounting.jsonl lines=0 deliv=0
    if [[ -f $f ]]; then lines=$(wc -l < "$f"); deliv=$(grep -c '"result":"delivered"' "$f" || true); fi
    echo "accounting_lines=$lines accounting_delivered=$deliv"
}

# Find out once per binary whether it serves SMTP on ENGINE_ADDR:ENGINE_PORT
# with our config (a failed probe fails that binary's listener phases).
declare -A LISTENER_OK=() LISTENER_WHY=()
probe_listener() {   # probe_listener BIN
    local bin=$1 d=$WORK/probe deadline US
    rm -rf "$d"; mkdir -p "$d"
    LISTENER_OK[$bin]=0
    port_in_use "$ENGINE_PORT" && { LISTENER_WHY[$bin]="port $ENGINE_PORT already in use (not ours)"; return; }
    if ! start_vestnik "$bin" "$d" "$ENGINE_ADDR:$ENGINE_PORT"; then LISTENER_WHY[$bin]=$REASON; stop_pid "$VEST_PID"; VEST_PID=''; return; fi
    us_now; deadline=$(( US + 5000000 ))
    until listening "$ENGINE_ADDR" "$ENGINE_PORT"; do
        us_now; (( US >= deadline )) && break
        nap 0.05
    done
    if listening "$ENGINE_ADDR" "$ENGINE_PORT"; then LISTENER_OK[$bin]=1
    else LISTENER_WHY[$bin]="listener not available: $bin serve does not listen on $ENGINE_ADDR:$ENGINE_PORT with [listener] enabled"
    fi
    stop_pid "$VEST_PID"; VEST_PID=''
}

# other_cores: whole-machine busy cores minus the relay, the load generator and
# the sink over the same window (N / e2e rate): the harness and the sink's
# watcher, plus anything else running on the machine (noise).
# fsync_ms: the physical reference of this phase, see fsync_ref.
record() {   # record RUN PHASE STATUS INJ E2E DELIV CPU_S US_MSG RSS_MB LOAD_CPU SINK_CPU BUSY NOTE
    local note=${13//,/;} other=NA
    if [[ $5 != NA && $5 != 0 && ${12} != NA ]]; then
        other=$(awk -v n="$N" -v e2e="$5" -v busy="${12}" -v a="$7" -v b="${10}" -v c="${11}" 'BEGIN {
            w = n / e2e; cpu = 0; if (a != "NA") cpu += a; if (b != "NA") cpu += b; if (c != "NA") cpu += c
            printf "%.2f", busy - cpu / w }')
    fi
    echo "$BATCH,$1,$2,$N,$3,$4,$5,$6,$7,$8,$9,${10},${11},${12},$other,$FSYNC_MS,${note// /_}" >> "$CSV"
    log "run $1 $2: $3 inject=$4/s e2e=$5/s engine_cpu=${8}us/msg peak_rss=${9}MB loadgen_cpu=${10}s sink_cpu=${11}s busy=${12}/$NCPU other=$other fsync=${FSYNC_MS}ms ${13}"
}
# The physical reference, measured right before each phase group on the file
# system of the spools (vestnik's and Postfix's are both under WORK): mean
# time of a 4 KiB write + fdatasync (dd oflag=dsync), as in bench/run_api_bench.sh.
FSYNC_MS=NA
fsync_ref() {
    local f=$WORK/.fsync_ref t0 t1 n=${FSYNC_REF_COUNT:-200}
    t0=$EPOCHREALTIME
    dd if=/dev/zero of="$f" bs=4096 count="$n" oflag=dsync status=none 2>/dev/null || { FSYNC_MS=NA; rm -f "$f"; return; }
    t1=$EPOCHREALTIME
    rm -f "$f"
    FSYNC_MS=$(calc "($t1 - $t0) * 1000 / $n" 3)
}
fail_phase() { FAILED=1; record "$1" "$2" FAILED NA NA NA NA NA NA NA NA NA "$3"; }

# ---------------------------------------------------------------- phase: api
# T0 is the load generator's clock just before its first request (its bodies
# are built before, and it waits for "go" so that the CPU samples below
# bracket only the measured window); the end is the N-th message at the sink.
phase_api() {   # phase_api RUN BIN LABEL
    local run=$1 bin=$2 label=$3 d=$WORK/$3 sys0 sys1 sk0 sk1 v0 v1 rss=NA res t0 tlast acked lcpu done_t first_t
    local msgs totals US deadline rc
    rm -rf "$d"; mkdir -p "$d"
    fsync_ref
    start_sink "$d"
    if ! start_vestnik "$bin" "$d"; then fail_phase "$run" "$label" "$REASON"; stop_pid "$VEST_PID"; VEST_PID=''; stop_sink; return; fi
    timeout --kill-after=10 "$PHASE_TIMEOUT" /usr/bin/python3 "$REPO/bench/smtp_bench_load.py" \
        --port "$API_PORT" --key "$BENCH_API_KEY" --messages "$N" --batch "$API_BATCH" \
        --connections "$API_CONNECTIONS" --domains "$DOMAINS" --size "$SIZE" --go-file "$d/go" \
        > "$d/load.out" 2> "$d/load.err" &
    LOAD_PID=$!
    us_now; deadline=$(( US + 120000000 ))
    until grep -q '^READY' "$d/load.out" 2>/dev/null; do
        pid_alive "$LOAD_PID" || break
        us_now; (( US >= deadline )) && break
        nap 0.05
    done
    sys0=$(sys_cpu); sk0=$(proc_cpu_ticks "$SINK_PID"); v0=$(proc_cpu_ticks "$VEST_PID")
    : > "$d/go"
    set +e; wait "$LOAD_PID"; rc=$?; set -e
    LOAD_PID=''
    res=$(tail -1 "$d/load.out")
    read -r t0 tlast acked lcpu < <(/usr/bin/python3 -c 'import json,sys
try:
    r = json.loads(sys.argv[1]); print("%.6f %.6f %d %.3f" % (r["t0"], r["t_last_ack"], r["acked"], r["cpu_s"]))
except Exception:
    print("NA NA 0 NA")' "$res")
    if (( rc != 0 )) || [[ $t0 == NA ]]; then
        fail_phase "$run" "$label" "load generator exit $rc acked $acked: $(tail -2 "$d/load.err" | tr '\n' ' ')"
        stop_pid "$VEST_PID"; VEST_PID=''; stop_sink; return
    fi
    if ! wait_sink_done "$d" "$t0"; then
        fail_phase "$run" "$label" "$REASON"; stop_pid "$VEST_PID"; VEST_PID=''; stop_sink; return
    fi
    v1=$(proc_cpu_ticks "$VEST_PID"); sk1=$(proc_cpu_ticks "$SINK_PID"); sys1=$(sys_cpu)
    rss=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$VEST_PID/status" 2>/dev/null || echo NA)
    read -r done_t first_t _ _ < "$d/sink.done"
    nap 1   # a duplicate delivery would show up in the sink count
    totals=$(queue_totals 2>/dev/null || echo "queues unreadable")
    stop_pid "$VEST_PID" 30; VEST_PID=''
    stop_sink
    read -r msgs _ < "$d/sink.final"
    # the accounting log (one line per attempt, on by default) is part of what is measured and checked
    totals+=" $(accounting_counts "$d/spool")"
    for f in vestnik.toml serve.log load.out load.err sink.done sink.err; do
        [[ -f $d/$f ]] && cp "$d/$f" "$ART/run$run-$label-$f"
    done
    if (( msgs != N )); then fail_phase "$run" "$label" "sink counted $msgs, expected $N"; return; fi
    if ! totals_ok "$totals"; then fail_phase "$run" "$label" "vestnik totals: $totals"; return; fi
    record "$run" "$label" ok "$(calc "$N / ($tlast - $t0)" 0)" "$(calc "$N / ($done_t - $t0)" 0)" \
        "$(calc "($N - 1) / ($done_t - $first_t)" 0)" "$(calc "($v1 - $v0) / $CLK_TCK" 2)" \
        "$(calc "($v1 - $v0) * 1000000 / $CLK_TCK / $N" 0)" "$rss" "$lcpu" \
        "$(calc "($sk1 - $sk0) / $CLK_TCK" 2)" "$(busy_cores "$sys0" "$sys1")" "$totals"
}

# ---------------------------------------------------------------- phases: ceiling, postfix, listener
# One postfix_baseline.sh invocation per run (RUNS=1, its own results dir);
# its CSV rows are copied into ours. It checks the exact sink count and
# duplicates; for the listener phase the engine wrapper adds vestnik's own
# totals and peak RSS (report file), checked here.
phase_baseline() {   # phase_baseline RUN "ceiling postfix" BIN LABEL  (LABEL: listener or listener-uring; BIN empty: none)
    local run=$1 bin=$3 label=$4 phases='' rc tag
    local res report
    for ph in $2; do has_phase "$ph" && phases+="$ph "; done
    if [[ -n $bin ]] && has_phase listener; then
        if (( ${LISTENER_OK[$bin]:-0} )); then phases+="engine"; else fail_phase "$run" "$label" "${LISTENER_WHY[$bin]:-not probed}"; fi
    fi
    tag=${phases// /+}; tag=${tag%+}; tag=${tag/engine/$label}
    res=$ART/run$run-baseline-$tag report=$ART/run$run-$label-report.txt
    [[ -n ${phases// /} ]] || return 0
    fsync_ref
    log "run $run: postfix_baseline.sh PHASES=\"$phases\" (log: $res.log; fsync reference ${FSYNC_MS} ms)"
    mkdir -p "$res"
    ( export N RUNS=1 SESSIONS SIZE PHASES=$phases SOURCE_OPTS=-d SINK_ADDR SINK_PORT ENGINE_ADDR ENGINE_PORT \
             WORK=$WORK/baseline RESULTS_DIR=$res PHASE_TIMEOUT STALL_TIMEOUT ENGINE_NAME=vestnik \
             ENGINE_CMD="$REPO/bench/smtp_bench_engine.sh ${bin:-/bin/false} $WORK/engine $report"
      exec bash "$POSTFIX_BASELINE" ) > "$res.log" 2>&1 &
    BASE_PID=$!
    set +e; wait "$BASE_PID"; rc=$?; set -e
    BASE_PID=''
    grep -E '\] run 1 |FATAL' "$res.log" >&2 || true
    # copy its rows: phase names ceiling, postfix, vestnik (= our listener phase, LABEL)
    local row ph status extra note i
    local -A c=()
    while IFS=, read -r -a row; do
        if [[ ${row[0]} == batch ]]; then
            for i in "${!row[@]}"; do c[${row[i]}]=$i; done
            for i in phase inject_rate e2e_rate deliver_rate mta_cpu_s mta_cpu_us_per_msg sink_cpu_s source_cpu_s sys_busy_cores; do
                [[ -n ${c[$i]:-} ]] || die "postfix_baseline.sh CSV has no column $i"
            done
            continue
        fi
        ph=${row[c[phase]]}; status=ok note='' extra=NA
        if [[ $ph == vestnik ]]; then
            ph=$label
            if [[ -s $report ]]; then
                extra=$(awk '{ sub(/^peak_rss_kb=/, "", $1); printf "%.1f", $1 / 1024; exit }' "$report" 2>/dev/null || echo NA)
                note=$(head -1 "$report" | cut -d' ' -f3-)
                totals_ok "$note" || { status=FAILED note="vestnik totals: $note"; FAILED=1; }
            else
                status=FAILED note="no report from the engine wrapper"; FAILED=1
            fi
        fi
        record "$run" "$ph" "$status" "${row[c[inject_rate]]}" "${row[c[e2e_rate]]}" "${row[c[deliver_rate]]}" \
            "${row[c[mta_cpu_s]]}" "${row[c[mta_cpu_us_per_msg]]}" "$extra" "${row[c[source_cpu_s]]}" \
            "${row[c[sink_cpu_s]]}" "${row[c[sys_busy_cores]]}" "$note"
    done < <(cat "$res/results.csv" 2>/dev/null)
    if (( rc != 0 )); then
        FAILED=1
        fail_phase "$run" "baseline-$tag" "postfix_baseline.sh exit $rc: $(grep -m1 FATAL "$res.log" || tail -1 "$res.log")"
    fi
}

# ---------------------------------------------------------------- main
REV=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo "${VESTNIK_REV:-?}")
log "vestnik $REV ($VESTNIK, built $(date -u -r "$VESTNIK" +%FT%TZ)); N=$N runs=$RUNS sessions=$SESSIONS size=$SIZE domains=$DOMAINS phases=[$PHASES]"
log "load average: $(cut -d' ' -f1-3 /proc/loadavg); results: $CSV (batch $BATCH), artifacts: $ART"
{
    echo "date: $(date -u +%FT%TZ)"; echo "kernel: $(uname -r)"; echo "cpus: $NCPU"; echo "loadavg at start: $(cat /proc/loadavg)"
    echo "vestnik: $REV ($REPO)"
    for i in "${!BINS[@]}"; do echo "binary${SUFFIXES[i]:- (epoll)}: ${BINS[i]} built $(date -u -r "${BINS[i]}" +%FT%TZ)"; done
    echo "command: N=$N RUNS=$RUNS SESSIONS=$SESSIONS SIZE=$SIZE DOMAINS=$DOMAINS API_BATCH=$API_BATCH API_CONNECTIONS=$API_CONNECTIONS PHASES=\"$PHASES\" VESTNIK_BIN=$VESTNIK VESTNIK_BIN_URING=$VESTNIK_BIN_URING $0"
    echo "tuning: SMTP_MAX_CONNECTIONS=$SMTP_MAX_CONNECTIONS SMTP_MAX_MSGS_PER_CONN=$SMTP_MAX_MSGS_PER_CONN ENGINE_CONCURRENCY=$ENGINE_CONCURRENCY ENGINE_BATCH_SIZE=$ENGINE_BATCH_SIZE API_THREADS=$API_THREADS VESTNIK_LOG_LEVEL=$VESTNIK_LOG_LEVEL"
} > "$ART/sysinfo.txt"
if has_phase listener; then
    for b in "${BINS[@]}"; do
        probe_listener "$b"
        if (( LISTENER_OK[$b] )); then log "listener: $b serves SMTP on $ENGINE_ADDR:$ENGINE_PORT"
        else log "listener phases of $b will FAIL: ${LISTENER_WHY[$b]}"; fi
    done
fi
if [[ -n $DKIM ]]; then
    export DKIM_KEY=$RESULTS_DIR/dkim-$DKIM.pem   # outside WORK, which phases wipe
    "$VESTNIK" dkim keygen --domain example.com --selector bench --algorithm "$DKIM" --out "$DKIM_KEY" --force \
        >/dev/null 2>"$ART/dkim-keygen.log" || die "dkim keygen failed: $(cat "$ART/dkim-keygen.log")"
    echo "dkim: $DKIM, key $DKIM_KEY" >> "$ART/sysinfo.txt"
fi
# The signing limit of this machine now: all cores signing (openssl speed).
sign_limit() {
    local alg=rsa2048 out
    [[ $DKIM == ed25519 ]] && alg=ed25519
    out=$(openssl speed -multi "$NCPU" -seconds 3 "$alg" 2>/dev/null) || return 0
    if [[ $alg == rsa2048 ]]; then
        awk '/^rsa 2048 bits/ { print $6; exit }' <<< "$out" >> "$ART/sign_limit.txt"
    else
        awk '/Ed25519/ { print $(NF-1); exit }' <<< "$out" >> "$ART/sign_limit.txt"
    fi
}
for (( run = 1; run <= RUNS; run++ )); do
    [[ -z $DKIM ]] || sign_limit
    # with two binaries, the one that goes first alternates from run to run
    order=("${!BINS[@]}")
    (( ${#BINS[@]} == 2 && run % 2 == 0 )) && order=(1 0)
    first=1
    for i in "${order[@]}"; do
        if (( first )); then phase_baseline "$run" "ceiling postfix" "${BINS[i]}" "listener${SUFFIXES[i]}"; first=0
        elif has_phase listener; then phase_baseline "$run" "" "${BINS[i]}" "listener${SUFFIXES[i]}"
        fi
    done
    if has_phase api; then
        for i in "${order[@]}"; do phase_api "$run" "${BINS[i]}" "api${SUFFIXES[i]}"; done
    fi
done
echo "loadavg at end: $(cat /proc/loadavg)" >> "$ART/sysinfo.txt"

# ---------------------------------------------------------------- summary (this batch)
SIGN_LIMIT=NA
if [[ -n $DKIM && -s $ART/sign_limit.txt ]]; then
    SIGN_LIMIT=$(sort -n "$ART/sign_limit.txt" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
fi
awk -F, -v batch="$BATCH" -v ncpu="$NCPU" -v dkim="$DKIM" -v sign_limit="$SIGN_LIMIT" '
    function med(key,   k, i, j, t, a) {   # median of the values collected under key
        k = cnt[key]; if (k == 0) return "NA"
        for (i = 1; i <= k; i++) a[i] = val[key, i]
        for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    function add(key, x) { if (x != "" && x != "NA") val[key, ++cnt[key]] = x + 0 }
    function mn(key,   i, r) { r = "NA"; for (i = 1; i <= cnt[key]; i++) if (r == "NA" || val[key, i] < r) r = val[key, i]; return r }
    function mx(key,   i, r) { r = "NA"; for (i = 1; i <= cnt[key]; i++) if (r == "NA" || val[key, i] > r) r = val[key, i]; return r }
    function fmt(x, d) { return x == "NA" ? "NA" : sprintf("%." d "f", x) }
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 != batch { next }
    {
        ph = $(col["phase"]); seen[ph] = 1
        if ($(col["status"]) != "ok") { nfail[ph]++; next }
        nok[ph]++
        split("inject_rate e2e_rate engine_cpu_us_per_msg engine_peak_rss_mb loadgen_cpu_s sink_cpu_s busy_cores other_cores fsync_ms", m, " ")
        for (i in m) add(ph SUBSEP m[i], $(col[m[i]]))
        e2e[$2, ph] = $(col["e2e_rate"])
        if ($(col["engine_cpu_us_per_msg"]) != "NA") cpu[$2, ph] = $(col["engine_cpu_us_per_msg"])
    }
    END {
        nfixed = split("ceiling postfix listener listener-uring api api-uring", fixed, " ")
        for (i = 1; i <= nfixed; i++) if (fixed[i] in seen) { order[++np] = fixed[i]; delete seen[fixed[i]] }
        for (ph in seen) order[++np] = ph   # failed baseline invocations etc.
        printf "\n%-14s %4s %5s %11s %9s %12s %9s %11s %9s %6s %6s %8s\n", "phase", "ok", "fail", "inject/s", "e2e/s", "relay us/msg", "rss MB", "loadgen cpu", "sink cpu", "busy", "other", "fsync ms"
        for (p = 1; p <= np; p++) {
            ph = order[p]
            printf "%-14s %4d %5d %11s %9s %12s %9s %11s %9s %6s %6s %8s\n", ph, nok[ph], nfail[ph],
                fmt(med(ph SUBSEP "inject_rate"), 0), fmt(med(ph SUBSEP "e2e_rate"), 0), fmt(med(ph SUBSEP "engine_cpu_us_per_msg"), 0),
                fmt(med(ph SUBSEP "engine_peak_rss_mb"), 1), fmt(med(ph SUBSEP "loadgen_cpu_s"), 2), fmt(med(ph SUBSEP "sink_cpu_s"), 2),
                fmt(med(ph SUBSEP "busy_cores"), 2), fmt(med(ph SUBSEP "other_cores"), 2), fmt(med(ph SUBSEP "fsync_ms"), 2)
        }
        printf "(medians over runs; busy and other in cores of %d; other = busy - relay - load generator - sink)\n", ncpu
        for (k in e2e) {   # per-run ratios against the Postfix phase of the same run
            split(k, rk, SUBSEP)
            if ((rk[1], "postfix") in e2e && e2e[rk[1], "postfix"] > 0 && rk[2] != "postfix")
                add("ratio" SUBSEP rk[2], e2e[k] / e2e[rk[1], "postfix"])
            if (rk[2] ~ /-uring$/) {   # io_uring build against the epoll build, same run
                base = rk[2]; sub(/-uring$/, "", base)
                if ((rk[1], base) in e2e && e2e[rk[1], base] > 0) add("uring_e2e" SUBSEP base, e2e[k] / e2e[rk[1], base])
                if ((rk[1], base) in cpu && cpu[rk[1], base] > 0 && (k in cpu)) add("uring_cpu" SUBSEP base, cpu[k] / cpu[rk[1], base])
            }
        }
        printf "\nTargets (issue #4), medians over runs; each ratio uses the Postfix phase of the same run:\n"
        for (v = 1; v <= 2; v++) {
            sfx = v == 1 ? "" : "-uring"
            if (v == 2 && !(("api-uring" SUBSEP "e2e_rate") in cnt) && !(("listener-uring" SUBSEP "e2e_rate") in cnt)) break
            if (v == 2) printf "io_uring build:\n"
            x = med("api" sfx SUBSEP "engine_cpu_us_per_msg"); y = med("listener" sfx SUBSEP "engine_cpu_us_per_msg")
            printf "  engine CPU per delivered message   api: %s us, listener: %s us   (target <= 150; postfix: %s us)\n",
                fmt(x, 0), fmt(y, 0), fmt(med("postfix" SUBSEP "engine_cpu_us_per_msg"), 0)
            printf "  batch API e2e rate / Postfix       %sx   (target >= 20x)\n", fmt(med("ratio" SUBSEP "api" sfx), 1)
            printf "  smtp-source path e2e / Postfix     %sx   (target >= 10x)\n", fmt(med("ratio" SUBSEP "listener" sfx), 1)
        }
        printf "  loopback ceiling / Postfix         %sx   (smtp-source straight into smtp-sink)\n", fmt(med("ratio" SUBSEP "ceiling"), 1)
        if (dkim != "") {
            printf "\nDKIM %s signing on every message (issue #5); limit = openssl speed -multi %d, median over runs: %s signs/s\n", dkim, ncpu, fmt(sign_limit, 0)
            for (v = 1; v <= 2; v++) {
                base = v == 1 ? "api" : "listener"
                r = med(base SUBSEP "e2e_rate")
                printf "  %-8s e2e %s msgs/s = %s %% of the %d-core signing limit   (target >= 70 %% for rsa)\n", base, fmt(r, 0),
                    (r == "NA" || sign_limit == "NA" || sign_limit <= 0) ? "NA" : fmt(100 * r / sign_limit, 1), ncpu
            }
        }
        for (v = 1; v <= 2; v++) {
            base = v == 1 ? "listener" : "api"
            if (!(("uring_e2e" SUBSEP base) in cnt)) continue
            printf "io_uring / epoll, %-8s  e2e rate %sx (min %s, max %s), engine CPU %sx   (per-run ratios, median)\n", base,
                fmt(med("uring_e2e" SUBSEP base), 2), fmt(mn("uring_e2e" SUBSEP base), 2), fmt(mx("uring_e2e" SUBSEP base), 2),
                fmt(med("uring_cpu" SUBSEP base), 2)
        }
    }' "$CSV" | tee "$ART/summary.txt"
grep ",FAILED," "$CSV" | grep "^$BATCH," | cut -d, -f2,3,17- | sed 's/^/FAILED run,phase,reason: /' | tee -a "$ART/summary.txt" >&2 || true
log "done; rows in $CSV (batch $BATCH), artifacts in $ART"
(( FAILED == 0 )) || exit 1
