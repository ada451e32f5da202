#!/usr/bin/env bash
# bench/smtp_bench_engine.sh: the ENGINE_CMD of postfix_baseline.sh's "engine"
# phase, as run by bench/run_smtp_bench.sh.
#
#   smtp_bench_engine.sh VESTNIK_BIN DIR REPORT_FILE
#
# Environment (set by postfix_baseline.sh): ENGINE_ADDR ENGINE_PORT (our SMTP
# listener) and SINK_ADDR SINK_PORT (where every domain is routed).
#
# Each start wipes DIR and runs `vestnik serve` on a fresh spool in DIR/spool
# with the config of smtp_bench_config.sh plus the listener. This wrapper
# stays the parent (in the baseline's cgroup, so its CPU is counted: a bash
# blocked in `wait`, i.e. none). On SIGTERM it reads peak RSS (VmHWM), CPU
# (utime+stime) and the queue totals (GET /v1/queues) of the still running
# daemon, passes the signal on, waits (bounded) for vestnik to exit -- it
# writes its last accounting lines at shutdown -- and then appends to
# REPORT_FILE one line
#   peak_rss_kb=<VmHWM> cpu_s=<s> <status>=<count>... accounting_lines=<n> accounting_delivered=<n>
# counted in the accounting log (<spool>/accounting.jsonl, on by default).
# Every wait is bounded.
set -euo pipefail
export LC_ALL=C
[[ $# == 3 ]] || { echo "usage: $0 VESTNIK_BIN DIR REPORT_FILE" >&2; exit 2; }
bin=$1 dir=$2 report=$3
here=$(cd "$(dirname "$0")" && pwd)
: "${ENGINE_ADDR:?} ${ENGINE_PORT:?} ${SINK_ADDR:?} ${SINK_PORT:?}"
[[ $dir == /tmp/?* && $dir != *..* ]] || { echo "DIR must be under /tmp (it is wiped)" >&2; exit 2; }

rm -rf "$dir"; mkdir -p "$dir"
bash "$here/smtp_bench_config.sh" "$dir/spool" "$SINK_ADDR" "$SINK_PORT" "$ENGINE_ADDR:$ENGINE_PORT" > "$dir/vestnik.toml"
"$bin" serve --config "$dir/vestnik.toml" 2> "$dir/serve.log" &
vpid=$!
echo "vestnik pid $vpid, config $dir/vestnik.toml"

SNAP=''
snapshot() {   # -> SNAP; vestnik is still running
    local hwm=NA cpu=NA line port totals=NA
    local -a f
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$vpid/status" 2>/dev/null || echo NA)
    if read -r line 2>/dev/null < "/proc/$vpid/stat"; then
        read -r -a f <<< "${line##*) }"
        cpu=$(awk -v t=$(( f[11] + f[12] )) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
    fi
    port=$(grep -m1 -o '"msg":"api listening".*"port":[0-9]*' "$dir/serve.log" | grep -o '[0-9]*$' || true)
    if [[ -n $port ]]; then
        totals=$(curl -s -m 10 -H "Authorization: Bearer ${BENCH_API_KEY:-bench-key-0123456789abcdef}" \
                     "http://127.0.0.1:$port/v1/queues" |
                 /usr/bin/python3 -c 'import json,sys; print(" ".join("%s=%d" % (t["status"], t["count"]) for t in json.load(sys.stdin)["totals"]))' \
                 2>/dev/null || echo NA)
    fi
    SNAP="peak_rss_kb=$hwm cpu_s=$cpu $totals"
}
accounting_counts() {   # after vestnik has exited: lines and delivered lines of its accounting log
    local f=$dir/spool/accounting.jsonl lines=0 deliv=0
    if [[ -f $f ]]; then
        lines=$(wc -l < "$f")
        deliv=$(grep -c '"result":"delivered"' "$f" || true)
    fi
    echo "accounting_lines=$lines accounting_delivered=$deliv"
}

on_term() {
    trap - TERM INT
    snapshot || true
    kill -TERM "$vpid" 2>/dev/null || true
    # postfix_baseline.sh kills what is left in the cgroup after 10 s; stay under it
    for _ in $(seq 1 80); do kill -0 "$vpid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$vpid" 2>/dev/null || true
    wait "$vpid" 2>/dev/null || true
    echo "$SNAP $(accounting_counts)" >> "$report"
    exit 0
}
trap on_term TERM INT
set +e
wait "$vpid"
rc=$?
# only reached when vestnik exited by itself: that is a failure of the phase
echo "vestnik exited by itself with status $rc: $(tail -3 "$dir/serve.log")"
echo "engine_exited rc=$rc" >> "$report"
exit 1
