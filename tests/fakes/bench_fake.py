#!/usr/bin/python3
"""Throughput of the fake providers: Telegram sendMessage over keep-alive
from simple http.client processes on loopback.

  bench_fake.py [--clients 4] [--seconds 5] [--stats] [--fake-cpu 0]
      [--client-cpus 1]

Starts fake_providers.py (pinned to --fake-cpu with taskset when given),
runs the clients, prints requests/s, stops the fake by PID.
"""

import argparse
import json
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "123456:AAbench"


def read_answer(s, buf):
    """Reads one answer off the socket; returns the bytes after it."""
    while True:
        i = buf.find(b"\r\n\r\n")
        if i >= 0:
            head = buf[:i]
            if not head.startswith(b"HTTP/1.1 200 "):
                raise SystemExit(f"answer {head[:40]!r}")
            cl = int(re.search(rb"Content-Length: (\d+)", head).group(1))
            if len(buf) >= i + 4 + cl:
                return buf[i + 4 + cl:]
        data = s.recv(65536)
        if not data:
            raise SystemExit("closed")
        buf += data


def client(port, seconds, out, cpus, depth=1):
    """One keep-alive connection; `depth` requests per round trip (1: one
    at a time).  The request bytes are built once per chat and answers are
    read by Content-Length, so that the client costs less CPU than the
    fake."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reqs = []
    for chat in range(1000, 1050):
        body = json.dumps({"chat_id": chat, "text": "<b>Order</b> shipped",
                           "parse_mode": "HTML"}).encode()
        reqs.append(b"POST /bot%s/sendMessage HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (
                        TOKEN.encode(), len(body), body))
    n = 0
    buf = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.sendall(b"".join(reqs[(n + k) % 50] for k in range(depth)))
        for _ in range(depth):
            buf = read_answer(s, buf)
        n += depth
    s.close()
    out.put(n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--stats", action="store_true",
                    help="let the fake write a stats file")
    ap.add_argument("--fake-cpu", type=int)
    ap.add_argument("--client-cpus", default="")
    ap.add_argument("--pipeline", type=int, default=1,
                    help="requests sent back to back per round trip "
                         "(1: none); >1 measures the fake's own capacity")
    a = ap.parse_args()
    cmd = ["/usr/bin/python3", os.path.join(HERE, "fake_providers.py"),
           "--port", "0"]
    tmp = tempfile.mkdtemp()
    if a.stats:
        cmd += ["--stats", os.path.join(tmp, "stats.json")]
    if a.fake_cpu is not None:
        cmd = ["taskset", "-c", str(a.fake_cpu)] + cmd
    fake = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        port = int(re.match(r"READY (\d+)", fake.stdout.readline()).group(1))
        cpus = {int(x) for x in a.client_cpus.split(",") if x}
        q = multiprocessing.Queue()
        ps = [multiprocessing.Process(target=client,
                                      args=(port, a.seconds, q, cpus,
                                            a.pipeline))
              for _ in range(a.clients)]
        t0 = time.monotonic()
        for p in ps:
            p.start()
        total = sum(q.get(timeout=a.seconds + 30) for _ in ps)
        for p in ps:
            p.join(10)
        dt = time.monotonic() - t0
        cpu = open(f"/proc/{fake.pid}/stat").read().split()
        fake_cpu_s = (int(cpu[13]) + int(cpu[14])) / os.sysconf("SC_CLK_TCK")
        print(f"{total} requests in {dt:.2f} s: {total / dt:.0f} req/s; "
              f"fake CPU {fake_cpu_s:.2f} s "
              f"({total / max(fake_cpu_s, 1e-9):.0f} req per CPU-second)")
    finally:
        os.kill(fake.pid, signal.SIGTERM)
        fake.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
