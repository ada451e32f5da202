#!/usr/bin/python3
"""bench/messenger_bench_load.py: the two loads of bench/run_messenger_bench.sh.

  messenger_bench_load.py inject --port P --key K --channel C [--messages N]
      [--accounts B] [--batch 1000] [--connections 2] [--go-file F]
  messenger_bench_load.py fake --port P --channel C [--accounts B]
      [--seconds S] [--clients 4] [--recipients R] [--tls CA_FILE] [--go-file F]
  messenger_bench_load.py accounts --channel C [--accounts B] --base-url URL
      [--per-chat-interval 1s]

accounts: prints the TOML of section [C] with B accounts, account i serving
category "bench<i>", with the names and secrets the two loads use (one
source for both).

inject: posts N messages of one messenger channel to POST
/v1/messages:batch, --batch per request, over --connections keep-alive
connections (closed loop). Every recipient is distinct (so Telegram's
per-chat spacing never binds) and message i carries category
"bench<i mod B>": the harness configures one account per category, so the
load is spread evenly over B bots/tokens/numbers. Bodies are built before
the clock starts (as bench/smtp_bench_load.py, whose email-only messages do
not fit here). Prints one JSON line: t0 and t0_mono (epoch and
CLOCK_MONOTONIC just before the first request; the fake's stats use the
monotonic clock), t_last_ack, acked, refused, errors, cpu_s (this process
inside the window), build_cpu_s. Exit 0 only if every message got an id.

fake: the fake provider's own capacity with nobody else in the way. Up to
--seconds, --clients processes each send the provider request vestnik would
send for C (same path, headers and body shape, the same B accounts, distinct
recipients) one at a time over one keep-alive connection (HTTP/1.1 without
pipelining, as vestnik's client), raw sockets with the requests prebuilt so
that a client costs less CPU than the fake (as tests/fakes/bench_fake.py,
which speaks Telegram only and starts its own fake). Prints one JSON line:
requests, ok, seconds, rate, client_cpu_s.

With --go-file both print READY once prepared and start only when that file
exists (<= 120 s), so the harness can sample CPU counters in between.
"""
import argparse
import base64
import http.client
import json
import multiprocessing
import os
import re
import resource
import socket
import ssl
import sys
import threading
import time
import urllib.parse

CHANNELS = ("telegram", "viber", "vk", "whatsapp", "sms")


# ---- accounts and recipients, shared with the harness's config --------------
# The harness (run_messenger_bench.sh) writes the same names and secrets into
# vestnik.toml; keep both in step.

def account(channel, i):
    """Secrets of account i as configured by the harness."""
    return {
        "telegram": {"token": "%d:AAbench%02d" % (700000 + i, i)},
        "viber": {"token": "viber-bench-token-%02d" % i},
        "vk": {"token": "vk1.a.bench-token-%02d" % i},
        "whatsapp": {"token": "EAAGbench%02d" % i, "phone_number_id": "1065403522%05d" % i},
        "sms": {"sid": "AC%032x" % (0xbe00 + i), "token": "twilio-bench-%02d" % i,
                "from": "+1555000%04d" % i},
    }[channel]


def recipient(channel, i):
    """(the API's "to" object, the provider's recipient as sent) of recipient i."""
    if channel == "telegram":
        v = str(100000000 + i)
        return {"telegram_chat_id": v}, v
    if channel == "viber":
        v = "bench%07dViberId==" % i
        return {"viber_id": v}, v
    if channel == "vk":
        v = str(200000000 + i)
        return {"vk_peer_id": v}, v
    if channel == "whatsapp":
        v = "+38067%07d" % i
        return {"whatsapp": v}, v
    v = "+1555%07d" % i
    return {"phone": v}, v


def accounts_toml(channel, n, base_url, per_chat_interval):
    section = {"telegram": "telegram.bots", "viber": "viber.accounts", "vk": "vk.communities",
               "whatsapp": "whatsapp.numbers", "sms": "sms.twilio"}[channel]
    out = ['[%s]' % channel, 'base_url = "%s"' % base_url]
    if channel == "telegram":
        out.append('per_chat_interval = "%s"' % per_chat_interval)
    for i in range(n):
        acc = account(channel, i)
        out += ['', '[[%s]]' % section, 'name = "b%d"' % i, 'token = "%s"' % acc["token"],
                'categories = ["bench%d"]' % i]
        if channel == "viber":
            out.append('sender_name = "Bench shop"')
        elif channel == "whatsapp":
            out.append('phone_number_id = "%s"' % acc["phone_number_id"])
        elif channel == "sms":
            out += ['account_sid = "%s"' % acc["sid"], 'from = "%s"' % acc["from"]]
    return "\n".join(out) + "\n"


def text_of(i):
    return "Order %d has shipped. Track it in your account; thank you for shopping with us." % i


def cpu_now():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def wait_go(path):
    if not path:
        return True
    print("READY", flush=True)
    deadline = time.time() + 120
    while not os.path.exists(path):
        if time.time() > deadline:
            sys.stderr.write("no go file after 120 s\n")
            return False
        time.sleep(0.001)
    return True


# ---- inject -------------------------------------------------------------------

def build_bodies(channel, n, batch, accounts):
    bodies = []
    for start in range(0, n, batch):
        msgs = []
        for i in range(start, min(n, start + batch)):
            to, _ = recipient(channel, i)
            msgs.append({"channel": channel, "to": to, "category": "bench%d" % (i % accounts),
                         "text": text_of(i)})
        bodies.append((len(msgs), json.dumps({"messages": msgs}, separators=(",", ":")).encode()))
    return bodies


def inject(a):
    c0 = cpu_now()
    bodies = build_bodies(a.channel, a.messages, a.batch, a.accounts)
    build_cpu = cpu_now() - c0
    if not wait_go(a.go_file):
        return 1
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
                if ok != count and state["refused"] == 0:
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
    t0_mono = time.monotonic()
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()  # each request is bounded by --timeout
    cpu = cpu_now() - c1
    # Times with exactly 6 decimals: the harness reads them as microseconds.
    print('{"t0": %.6f, "t0_mono": %.6f, "t_last_ack": %.6f, "acked": %d, "refused": %d, '
          '"errors": %d, "cpu_s": %.3f, "build_cpu_s": %.3f}'
          % (t0, t0_mono, state["t_last"], state["acked"], state["refused"], state["errors"],
             cpu, build_cpu))
    sys.stdout.flush()
    return 0 if state["acked"] == a.messages and state["errors"] == 0 else 1


# ---- fake alone ------------------------------------------------------------------

def provider_request(channel, acct_i, rcpt_i, serial, host):
    """The request bytes vestnik's codec would send (transports/providers/)."""
    acc = account(channel, acct_i)
    _, to = recipient(channel, rcpt_i)
    text = text_of(rcpt_i)
    headers = []
    if channel == "telegram":
        target = "/bot%s/sendMessage" % acc["token"]
        body = json.dumps({"chat_id": int(to), "text": text, "parse_mode": "HTML"},
                          separators=(",", ":"))
        ctype = "application/json"
    elif channel == "viber":
        target = "/pa/send_message"
        headers.append(("X-Viber-Auth-Token", acc["token"]))
        body = json.dumps({"receiver": to, "min_api_version": 1, "sender": {"name": "Bench shop"},
                           "type": "text", "text": text}, separators=(",", ":"))
        ctype = "application/json"
    elif channel == "vk":
        target = "/method/messages.send"
        headers.append(("Authorization", "Bearer " + acc["token"]))
        body = urllib.parse.urlencode([("peer_id", to), ("random_id", str(serial)),
                                       ("message", text), ("v", "5.199")])
        ctype = "application/x-www-form-urlencoded"
    elif channel == "whatsapp":
        target = "/v21.0/%s/messages" % acc["phone_number_id"]
        headers.append(("Authorization", "Bearer " + acc["token"]))
        body = json.dumps({"messaging_product": "whatsapp", "recipient_type": "individual",
                           "to": to.lstrip("+"), "type": "text",
                           "text": {"preview_url": False, "body": text},
                           "biz_opaque_callback_data": "%026d" % serial},
                          separators=(",", ":"))
        ctype = "application/json"
    else:
        target = "/2010-04-01/Accounts/%s/Messages.json" % acc["sid"]
        cred = base64.b64encode(("%s:%s" % (acc["sid"], acc["token"])).encode()).decode()
        headers.append(("Authorization", "Basic " + cred))
        body = urllib.parse.urlencode([("To", to), ("From", acc["from"]), ("Body", text)])
        ctype = "application/x-www-form-urlencoded"
    body = body.encode()
    head = "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: vestnik\r\nContent-Type: %s\r\n" % (
        target, host, ctype)
    head += "".join("%s: %s\r\n" % h for h in headers)
    head += "Content-Length: %d\r\n\r\n" % len(body)
    return head.encode() + body


STATUS = re.compile(rb"HTTP/1\.1 (\d{3}) ")
LENGTH = re.compile(rb"\r\n[Cc]ontent-[Ll]ength: *(\d+)")


def fake_client(a, k, ready, out, go):
    """One connection, one request at a time, for a.seconds from the go time."""
    try:
        cpu0 = time.process_time()
        host = "127.0.0.1:%d" % a.port
        per = max(1, a.recipients)
        reqs = [provider_request(a.channel, (k * per + j) % a.accounts, 10_000_000 * (k + 1) + j,
                                 k * 10_000_000 + j + 1, host) for j in range(per)]
        s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if a.tls:
            ctx = ssl.create_default_context(cafile=a.tls)
            s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        prep_cpu = time.process_time() - cpu0
        ready.put(k)
        if not go[0].wait(300) or go[1].value <= 0:
            raise OSError("no go")
        while time.time() < go[1].value:
            time.sleep(0.0005)
        cpu1 = time.process_time()
        n = ok = 0
        buf = b""
        t0 = time.monotonic()
        end = t0 + a.seconds
        while time.monotonic() < end:
            s.sendall(reqs[n % per])
            while True:
                i = buf.find(b"\r\n\r\n")
                if i >= 0:
                    head = buf[:i + 2]
                    m = LENGTH.search(head)
                    cl = int(m.group(1)) if m else 0
                    if len(buf) >= i + 4 + cl:
                        st = STATUS.match(head)
                        if st and st.group(1)[:1] == b"2":
                            ok += 1
                        buf = buf[i + 4 + cl:]
                        break
                data = s.recv(65536)
                if not data:
                    raise OSError("closed by the fake")
                buf += data
            n += 1
        dt = time.monotonic() - t0
        s.close()
        out.put((n, ok, dt, time.process_time() - cpu1, prep_cpu))
    except Exception as e:  # the parent counts a missing result as a failure
        sys.stderr.write("client %d: %r\n" % (k, e))
        ready.put(None)
        out.put(None)


def fake_alone(a):
    # The clients are forked, build their requests and connect (and shake
    # hands) first; then all start at one epoch time, once the go file exists.
    ctx = multiprocessing.get_context("fork")
    ready, out = ctx.Queue(), ctx.Queue()
    go = (ctx.Event(), ctx.Value("d", 0.0))
    ps = [ctx.Process(target=fake_client, args=(a, k, ready, out, go)) for k in range(a.clients)]
    for p in ps:
        p.start()

    def give_up(why):
        sys.stderr.write(why + "\n")
        go[0].set()  # with no time: the clients give up
        for p in ps:
            p.join(5)
            if p.is_alive():
                p.terminate()
        return 1

    try:
        for _ in ps:
            if ready.get(timeout=120) is None:
                return give_up("a client failed")
    except Exception as e:  # queue.Empty
        return give_up("clients not ready after 120 s: %r" % (e,))
    if not wait_go(a.go_file):
        return give_up("no go")
    go[1].value = time.time() + 0.02
    go[0].set()
    results = []
    try:
        for _ in ps:
            results.append(out.get(timeout=a.seconds + 60))
    except Exception as e:  # queue.Empty
        results.append(None)
        sys.stderr.write("client lost: %r\n" % (e,))
    for p in ps:
        p.join(10)
        if p.is_alive():
            p.terminate()
    good = [r for r in results if r is not None]
    n = sum(r[0] for r in good)
    ok = sum(r[1] for r in good)
    rate = sum(r[0] / max(r[2], 1e-9) for r in good)
    seconds = max((r[2] for r in good), default=0.0)
    cpu = sum(r[3] for r in good)
    print('{"requests": %d, "ok": %d, "seconds": %.3f, "rate": %.1f, "client_cpu_s": %.3f, '
          '"client_prep_cpu_s": %.3f, "clients": %d}'
          % (n, ok, seconds, rate, cpu, sum(r[4] for r in good), len(good)))
    sys.stdout.flush()
    return 0 if len(good) == a.clients and n > 0 and ok == n else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    i = sub.add_parser("inject")
    i.add_argument("--host", default="127.0.0.1")
    i.add_argument("--port", type=int, required=True)
    i.add_argument("--key", required=True)
    i.add_argument("--channel", choices=CHANNELS, required=True)
    i.add_argument("--messages", type=int, default=20000)
    i.add_argument("--accounts", type=int, default=10)
    i.add_argument("--batch", type=int, default=1000)
    i.add_argument("--connections", type=int, default=2)
    i.add_argument("--timeout", type=float, default=120.0, help="per request (s)")
    i.add_argument("--go-file", default="")
    f = sub.add_parser("fake")
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--channel", choices=CHANNELS, required=True)
    f.add_argument("--accounts", type=int, default=10)
    f.add_argument("--seconds", type=float, default=5.0)
    f.add_argument("--clients", type=int, default=4)
    f.add_argument("--recipients", type=int, default=20000, help="distinct ones per client")
    f.add_argument("--tls", default="", help="CA file: speak TLS to the fake")
    f.add_argument("--go-file", default="")
    c = sub.add_parser("accounts")
    c.add_argument("--channel", choices=CHANNELS, required=True)
    c.add_argument("--accounts", type=int, default=10)
    c.add_argument("--base-url", required=True)
    c.add_argument("--per-chat-interval", default="1s", help="telegram only")
    a = ap.parse_args()
    if a.mode == "accounts":
        if a.accounts < 1:
            ap.error("--accounts must be positive")
        sys.stdout.write(accounts_toml(a.channel, a.accounts, a.base_url, a.per_chat_interval))
        return 0
    if a.mode == "inject":
        if min(a.messages, a.batch, a.connections, a.accounts) < 1:
            ap.error("numbers must be positive")
        return inject(a)
    if min(a.clients, a.accounts, a.recipients) < 1 or a.seconds <= 0:
        ap.error("numbers must be positive")
    return fake_alone(a)


if __name__ == "__main__":
    sys.exit(main())
