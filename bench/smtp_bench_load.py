#!/usr/bin/python3
"""bench/smtp_bench_load.py: batch-API load for bench/run_smtp_bench.sh.

Posts N email messages (one recipient each, a plain-text body of exactly
--size bytes, recipients spread over --domains distinct domains
d0.test .. d<D-1>.test) to POST /v1/messages:batch, --batch messages per
request, over --connections keep-alive HTTP/1.1 connections (closed loop).

Why not bench/vestnik-api-load: it reuses 8 prebuilt bodies and spreads
recipients over 100 domains; this benchmark wants every recipient distinct and
1000 domains. Every request body is built before the clock starts, so the
timed window holds only sending and waiting; the CPU this process uses inside
that window is reported (it shares the 2 cores with the engine and the sink).

With --go-file it prints READY once the bodies are built and starts only
when that file exists (the harness samples CPU counters in between). Then
prints one JSON line: t0 (epoch seconds, just before the first request is
written), t_last_ack (the last 200 received), acked, refused, errors,
cpu_s (user+sys of this process inside the window), build_cpu_s.
Exit status 0 only if every message was acknowledged with an id.
"""
import argparse
import http.client
import json
import os
import resource
import sys
import threading
import time


def text_body(size):
    # ASCII lines of at most 76 characters + LF: nothing for MIME to encode.
    line = ("The quick brown fox jumps over the lazy dog. 0123456789 " * 2)[:75] + "\n"
    out = (line * (size // len(line) + 1))[:size]
    return out[:-1] + "\n" if size > 0 else out


def build_bodies(n, batch, domains, size):
    text = text_body(size)
    bodies = []
    for start in range(0, n, batch):
        msgs = []
        for i in range(start, min(n, start + batch)):
            msgs.append({
                "channel": "email",
                "to": {"email": "user%d@d%d.test" % (i, i % domains)},
                "from": {"email": "bench@sender.example"},
                "category": "notifications",
                "subject": "bench message %d" % i,
                "text": text,
            })
        bodies.append((len(msgs), json.dumps({"messages": msgs}, separators=(",", ":")).encode()))
    return bodies


def cpu_now():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--domains", type=int, default=1000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--timeout", type=float, default=120.0, help="per request (s)")
    ap.add_argument("--go-file", default="",
                    help="after building the bodies print READY and wait (<= 120 s) for this file")
    a = ap.parse_args()
    if min(a.messages, a.batch, a.connections, a.domains) < 1 or a.size < 1:
        ap.error("numbers must be positive")

    c0 = cpu_now()
    bodies = build_bodies(a.messages, a.batch, a.domains, a.size)
    build_cpu = cpu_now() - c0

    if a.go_file:
        print("READY", flush=True)
        deadline = time.time() + 120
        while not os.path.exists(a.go_file):
            if time.time() > deadline:
                sys.stderr.write("no go file after 120 s\n")
                return 1
            time.sleep(0.001)

    lock = threading.Lock()
    state = {"next": 0, "acked": 0, "refused": 0, "errors": 0, "t_last": 0.0}
    headers = {"Authorization": "Bearer " + a.key, "Content-Type": "application/json"}

    def worker():
        conn = http.client.HTTPConnection(a.host, a.port, timeout=a.timeout)
        try:
            while True:
                with lock:
                    i = state["next"]
                    if i >= len(bodies):
                        return
                    state["next"] = i + 1
                count, body = bodies[i]
                conn.request("POST", "/v1/messages:batch", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                now = time.time()
                ok = 0
                if resp.status == 200:
                    ok = sum(1 for r in json.loads(data)["results"] if "id" in r)
                elif state["refused"] == 0:
                    sys.stderr.write("HTTP %d: %s\n" % (resp.status, data[:300]))
                with lock:
                    state["acked"] += ok
                    state["refused"] += count - ok
                    state["t_last"] = max(state["t_last"], now)
        except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
            sys.stderr.write("connection error: %r\n" % (e,))
            with lock:
                state["errors"] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(a.connections)]
    c1 = cpu_now()
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()  # each request is bounded by --timeout
    cpu = cpu_now() - c1
    # Times with exactly 6 decimals: the harness reads them as microseconds.
    print('{"t0": %.6f, "t_last_ack": %.6f, "acked": %d, "refused": %d, "errors": %d, '
          '"cpu_s": %.3f, "build_cpu_s": %.3f}' % (t0, state["t_last"], state["acked"], state["refused"],
                                                  state["errors"], cpu, build_cpu))
    sys.stdout.flush()
    return 0 if state["acked"] == a.messages and state["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
