#!/usr/bin/env bash
# End-to-end API enqueue benchmark: a fresh spool, the real `vestnik serve`,
# and bench/vestnik-api-load as the client, all on loopback.
#
#   bench/run_api_bench.sh [MESSAGES_BATCH] [MESSAGES_SINGLE]
#
# Phase 1: POST /v1/messages:batch, 1,000 x ~1 KB messages per request,
#          2 connections (target >= 100,000 msgs/s durable).
# Phase 2: POST /v1/messages, one message per request, 64 keep-alive
#          connections (target >= 10,000 msgs/s; group commit).
# Messages carry a far-future send_at so the dispatcher stays idle and the
# figure is the durable-enqueue rate; phase 3 repeats phase 1 with delivery to
# the sink transport running at the same time. Prints one JSON line per phase,
# with server CPU per message and peak RSS. Build first: scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
N_BATCH=${1:-1000000}
N_SINGLE=${2:-200000}
BIN=./build/app/vestnik
LOAD=./build/bench/vestnik-api-load
[ -x "$BIN" ] && [ -x "$LOAD" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
KEY=bench-key-0123456789abcdef

run_phase() {  # name sink(true|false) mode connections messages batch send_at
  local name=$1 sink=$2 mode=$3 conns=$4 msgs=$5 batch=$6 send_at=$7
  local dir; dir=$(mktemp -d /tmp/vestnik-bench-XXXXXX)
  cat > "$dir/vestnik.toml" <<TOML
[api]
listen = "127.0.0.1:0"
[spool]
path = "$dir/spool"
[log]
level = "warn"
[transports.sink]
enabled = $sink
[[tenants]]
id = "bench"
[[tenants.keys]]
key = "$KEY"
role = "admin"
TOML
  "$BIN" serve --config "$dir/vestnik.toml" 2> "$dir/server.log" &
  local pid=$!
  local port=""
  for _ in $(seq 1 200); do
    port=$(grep -o '"port":[0-9]*' "$dir/server.log" 2>/dev/null | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    # the serving line is logged at info; with level=warn read the socket table instead
    port=$(ss -ltnp 2>/dev/null | grep "pid=$pid," | grep -o '127.0.0.1:[0-9]*' | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "server did not start"; cat "$dir/server.log"; kill -9 $pid; exit 1; }
  local args=(--port "$port" --key "$KEY" --mode "$mode" --connections "$conns" --messages "$msgs" --batch "$batch" --pid "$pid")
  [ -n "$send_at" ] && args+=(--send-at "$send_at")
  echo -n "{\"phase\":\"$name\",\"result\":"
  "$LOAD" "${args[@]}" | tr -d '\n'
  echo -n ",\"spool_bytes\":$(du -sb "$dir/spool" | cut -f1)"
  echo "}"
  kill -TERM $pid; wait $pid || true
  rm -rf "$dir"
}

# The physical reference, measured in the same run: a 4 KiB write + fdatasync
# on the filesystem that holds the spool (an LMDB commit costs two of them).
fsync_probe() {
  /usr/bin/python3 - "$1" <<'PY'
import os, sys, time, tempfile
fd, path = tempfile.mkstemp(prefix="vestnik-fsync-", dir="/tmp")
buf = b"x" * 4096
n = 200
t = time.time()
for i in range(n):
    os.pwrite(fd, buf, (i % 16) * 4096)
    os.fdatasync(fd)
ms = (time.time() - t) / n * 1e3
os.close(fd); os.unlink(path)
print('{"phase":"fsync-reference-%s","fdatasync_4k_ms":%.3f,"syncs_per_s":%.0f}' % (sys.argv[1], ms, 1e3 / ms))
PY
}

echo "# $(date -u +%FT%TZ) $(nproc) cores; $(uname -r)"
fsync_probe before
run_phase batch-enqueue false batch 2 "$N_BATCH" 1000 $(date -u -d "+300 days" +%FT%TZ)
run_phase single-enqueue false single 64 "$N_SINGLE" 1 $(date -u -d "+300 days" +%FT%TZ)
run_phase batch-enqueue+deliver true batch 2 "$N_BATCH" 1000 ""
fsync_probe after
