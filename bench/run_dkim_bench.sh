#!/usr/bin/env bash
# DKIM signing rate side by side with `openssl speed` (issue #5): signs/s of
# a ~5 KB email with RSA-2048 and Ed25519 (bench/dkim_sign.cpp), against
# the bare key operation measured by OpenSSL in the same invocation.
#
#   bench/run_dkim_bench.sh            # RUNS=3 SECONDS_OPENSSL=3 MIN_TIME=1
#
# One invocation interleaves the two: openssl, bench, openssl, bench, ...,
# openssl (RUNS bench runs bracketed by RUNS+1 openssl runs). Each openssl
# run is `openssl speed -mr -seconds S rsa2048 ed25519` (one process, CPU
# time, as bench_dkim's single-threaded figures) and `openssl speed -mr
# -elapsed -multi 2 ...` (two processes, wall time, as bench_dkim's
# ->Threads(2)->UseRealTime() figures: the 2-core limit). A run's ratio is
# vestnik ÷ the mean of the two openssl runs around it; the summary gives
# medians over the runs (min–max). Targets: ≥ 90 % for RSA-2048, ≥ 75 % for
# Ed25519 (single thread). They are reported, not enforced: the exit status
# is 0 whatever the ratios, non-zero only if something failed to run.
#
# Environment: BENCH_BIN (default build-bench/bench/bench_dkim, else
# build/bench/bench_dkim), RUNS, SECONDS_OPENSSL, MIN_TIME (seconds per
# benchmark), OPENSSL (default openssl), RESULTS_DIR (raw outputs; default
# a new /tmp/vestnik-dkim-bench-XXXXXX, kept).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SECONDS_OPENSSL=${SECONDS_OPENSSL:-3}
MIN_TIME=${MIN_TIME:-1}
OPENSSL=${OPENSSL:-openssl}
PY=/usr/bin/python3
if [ -z "${BENCH_BIN:-}" ]; then
  for b in build-bench/bench/bench_dkim build/bench/bench_dkim; do
    [ -x "$b" ] && { BENCH_BIN=$b; break; }
  done
fi
[ -n "${BENCH_BIN:-}" ] && [ -x "$BENCH_BIN" ] || {
  echo "bench_dkim not found: ninja -C build-bench bench_dkim (or set BENCH_BIN)" >&2
  exit 2
}
command -v "$OPENSSL" > /dev/null || { echo "$OPENSSL not found" >&2; exit 2; }
RESULTS_DIR=${RESULTS_DIR:-$(mktemp -d /tmp/vestnik-dkim-bench-XXXXXX)}
mkdir -p "$RESULTS_DIR"

echo "# $(date -u +%FT%TZ) $(nproc) cores; $(uname -r); $("$OPENSSL" version)"
echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- dkim bench 2>/dev/null || echo '+changes'); $BENCH_BIN; RUNS=$RUNS SECONDS_OPENSSL=$SECONDS_OPENSSL MIN_TIME=$MIN_TIME"
echo "# raw outputs in $RESULTS_DIR"

loadavg() { cut -d' ' -f1 /proc/loadavg; }

run_openssl() {  # index
  local i=$1
  echo "openssl run $i (load $(loadavg))"
  "$OPENSSL" speed -mr -seconds "$SECONDS_OPENSSL" rsa2048 ed25519 > "$RESULTS_DIR/openssl1_$i.txt" 2>&1
  "$OPENSSL" speed -mr -elapsed -multi 2 -seconds "$SECONDS_OPENSSL" rsa2048 ed25519 \
    > "$RESULTS_DIR/openssl2_$i.txt" 2>&1
  loadavg > "$RESULTS_DIR/load_openssl_$i.txt"
}

run_bench() {  # index
  local i=$1
  echo "bench_dkim run $i (load $(loadavg))"
  "$BENCH_BIN" --benchmark_format=json --benchmark_min_time="$MIN_TIME" \
    > "$RESULTS_DIR/bench_$i.json" 2> "$RESULTS_DIR/bench_$i.err"
  loadavg > "$RESULTS_DIR/load_bench_$i.txt"
}

for i in $(seq 1 "$RUNS"); do
  run_openssl "$i"
  run_bench "$i"
done
run_openssl $((RUNS + 1))
echo "done (load $(loadavg))"

"$PY" - "$RESULTS_DIR" "$RUNS" <<'PY'
import json, statistics, sys

d, runs = sys.argv[1], int(sys.argv[2])

def openssl(path):
    rsa = ed = None
    for line in open(path):
        f = line.strip().split(":")
        if f[0] == "+F2" and f[2] == "2048":   # +F2:2:2048:sign/s:verify/s (sum over -multi)
            rsa = float(f[3])
        elif f[0] == "+F6" and f[3] == "Ed25519":  # +F6:0:253:Ed25519:sign/s:verify/s
            ed = float(f[4])
    if rsa is None or ed is None:
        sys.exit(f"cannot parse {path}")
    return {"rsa": rsa, "ed": ed}

def bench(path):
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit(f"{path}: {b['name']}: {b.get('error_message')}")
        out[b["name"]] = b
    return out

o1 = [openssl(f"{d}/openssl1_{i}.txt") for i in range(1, runs + 2)]
o2 = [openssl(f"{d}/openssl2_{i}.txt") for i in range(1, runs + 2)]
bs = [bench(f"{d}/bench_{i}.json") for i in range(1, runs + 1)]
loads = [open(f"{d}/load_bench_{i}.txt").read().strip() for i in range(1, runs + 1)]

def med(xs):
    return statistics.median(xs)

def fmt_rate(xs):
    return f"{med(xs):,.0f} ({min(xs):,.0f}–{max(xs):,.0f})"

def fmt_ratio(xs):
    return f"{100 * med(xs):.1f} % ({100 * min(xs):.1f}–{100 * max(xs):.1f})"

def ips(b, name):
    if name not in b:
        sys.exit(f"benchmark {name} missing from bench_dkim output")
    return b[name]["items_per_second"]

RSA, ED = "alg:0", "alg:1"
rows = [  # label, bench name, openssl series, key, target
    ("RSA-2048, 1 thread", f"BM_Sign/{RSA}", o1, "rsa", 0.90),
    ("Ed25519, 1 thread", f"BM_Sign/{ED}", o1, "ed", 0.75),
    ("RSA-2048, 2 threads vs -multi 2", f"BM_Sign/{RSA}/real_time/threads:2", o2, "rsa", None),
    ("Ed25519, 2 threads vs -multi 2", f"BM_Sign/{ED}/real_time/threads:2", o2, "ed", None),
    ("RSA-2048, precomputed bh=", f"BM_SignPrecomputedBH/{RSA}", o1, "rsa", None),
    ("Ed25519, precomputed bh=", f"BM_SignPrecomputedBH/{ED}", o1, "ed", None),
    ("RSA-2048, sign_digest only", f"BM_SignDigest/{RSA}", o1, "rsa", None),
    ("Ed25519, sign_digest only", f"BM_SignDigest/{ED}", o1, "ed", None),
    ("RSA-2048, sign_digest, 2 threads", f"BM_SignDigest/{RSA}/real_time/threads:2", o2, "rsa", None),
    ("Ed25519, sign_digest, 2 threads", f"BM_SignDigest/{ED}/real_time/threads:2", o2, "ed", None),
]

msg = bs[0][f"BM_Sign/{RSA}"].get("msg_bytes", 0)
body = bs[0]["BM_BodyHash"].get("body_bytes", 0)
print()
print(f"message {msg:.0f} bytes (body {body:.0f}), relaxed/relaxed, default header lists;")
print(f"{runs} bench runs, load average during them: {', '.join(loads)}")
print()
w = 34
print(f"{'':{w}} {'vestnik signs/s':>26} {'openssl signs/s':>26} {'vestnik/openssl':>24}  target")
results = {}
for label, name, series, key, target in rows:
    v = [ips(b, name) for b in bs]
    o = [s[key] for s in series]
    ratios = [v[i] / ((series[i][key] + series[i + 1][key]) / 2) for i in range(runs)]
    results[label] = med(ratios)
    t = ""
    if target is not None:
        t = f"≥ {100 * target:.0f} % " + ("✔" if med(ratios) >= target else "MISSED")
    print(f"{label:{w}} {fmt_rate(v):>26} {fmt_rate(o):>26} {fmt_ratio(ratios):>24}  {t}")

bh = [b["BM_BodyHash"]["cpu_time"] / 1e3 for b in bs]  # ns -> µs
print()
print(f"body hash alone (relaxed, {body:.0f} bytes): {med(bh):.1f} µs "
      f"({min(bh):.1f}–{max(bh):.1f}), {body / med(bh):,.0f} MB/s")
for alg, tag in (("RSA-2048", RSA), ("Ed25519", ED)):
    full = med([1e6 / ips(b, f"BM_Sign/{tag}") for b in bs])
    pre = med([1e6 / ips(b, f"BM_SignPrecomputedBH/{tag}") for b in bs])
    raw = med([1e6 / ips(b, f"BM_SignDigest/{tag}") for b in bs])
    ref = 1e6 / med([s["rsa" if tag == RSA else "ed"] for s in o1])
    print(f"{alg}: µs per signature: openssl {ref:.1f}, sign_digest {raw:.1f}, "
          f"sign with bh= {pre:.1f}, sign {full:.1f} "
          f"(overhead over openssl: key call {raw - ref:+.1f}, header {pre - raw:+.1f}, body {full - pre:+.1f})")
PY
