#!/usr/bin/python3
"""bench/inbound_bench_load.py: the load side of bench/run_inbound_bench.sh.

  inject  posts N notification emails through POST /v1/messages:batch (one
          distinct recipient each, user<i>@d<i % domains>.test) and writes
          the corpus: one JSON line {"id", "rcpt"} per message.
  push    delivers one RFC 3464 DSN per corpus line (Action: failed,
          Status: 5.1.1, Gmail's "does not exist" wording, the original's
          headers quoted) with the null sender over K parallel SMTP
          connections (PIPELINING: MAIL, RCPT and DATA in one write, then
          the content; two round trips per message), then optionally polls
          GET /v1/queues until `failed` reaches N.
  verp    prints the VERP address of one message (for a probe).

Addressing (--mode):
  verp    to the message's return path, bounce-<token>@<domain>, with the
          token computed here exactly as templating/token.h seals it
          (templating::seal_id_token: base32 of id | HMAC-SHA256(secret,
          "b2\\0" | id)[:10]): the authenticated match.
  quoted  to postmaster@<domain>, with Original-Envelope-Id = the message id
          and Final-Recipient = its recipient: the unauthenticated match (a
          lookup of the id plus the recipient check). Same parse, classify
          and durable update as verp; no HMAC check.
Every DSN is built before the clock starts. With --go-file, push prints
READY and starts when that file exists. Then one JSON line: t0 (epoch s,
just before the first write), t_acked (the last 250), t_done (the poll that
first saw failed >= N; null without --api-port), sent, ok, refused (any
non-250 reply; the first few in "samples"), errors, cpu_s (this process,
inside the window). Exit status 0 only if every DSN got 250 (and, when
polling, failed reached N within --poll-timeout).
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import os
import resource
import sys
import time


def cpu_now():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ------------------------------------------------------------------ inject

def inject(a):
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
    headers = {"Authorization": "Bearer " + a.key, "Content-Type": "application/json"}
    n = 0
    with open(a.out, "w") as out:
        for start in range(0, a.messages, a.batch):
            msgs, rcpts = [], []
            for i in range(start, min(a.messages, start + a.batch)):
                rcpt = "user%d@d%d.test" % (i, i % a.domains)
                rcpts.append(rcpt)
                msgs.append({"channel": "email", "to": {"email": rcpt},
                             "from": {"email": "bench@sender.example"},
                             "category": "notifications", "subject": "bench %d" % i,
                             "text": "Hello, this is message %d.\n" % i})
            conn.request("POST", "/v1/messages:batch", json.dumps({"messages": msgs}), headers)
            r = conn.getresponse()
            body = r.read()
            if r.status not in (200, 202):
                sys.exit("batch answered %d: %s" % (r.status, body[:300]))
            results = json.loads(body)["results"]
            if len(results) != len(msgs):
                sys.exit("batch answered %d results for %d messages: %s" % (len(results), len(msgs), body[:300]))
            for rcpt, res in zip(rcpts, results):
                if "id" not in res:
                    sys.exit("a message was refused: %s" % json.dumps(res))
                out.write(json.dumps({"id": res["id"], "rcpt": rcpt}) + "\n")
                n += 1
    print(json.dumps({"injected": n}))


# ------------------------------------------------------------------ DSNs

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def id_bytes(mid):
    # core::Id text (26 Crockford base32 characters) -> its 16 bytes.
    n = 0
    for c in mid.upper():
        n = n * 32 + CROCKFORD.index(c)
    return n.to_bytes(17, "big")[1:]


def verp_address(secret, tenant, mid, domain):
    # templating::seal_id_token: base32 (lower case, no padding) of
    # id(16) | HMAC-SHA256(secret, "b2\0" | id)[:10]. tenant is unused
    # (the id names it); kept for the callers.
    raw = id_bytes(mid)
    tag = hmac.new(secret.encode(), b"b2\x00" + raw, hashlib.sha256).digest()[:10]
    token = base64.b32encode(raw + tag).decode().rstrip("=").lower()
    return "bounce-%s@%s" % (token, domain)


def dsn(to, mid, rcpt, n):
    # Quotes the original's headers as a provider does (text/rfc822-headers).
    return (
        "From: Mail Delivery Subsystem <mailer-daemon@mx.example.com>\r\n"
        "To: %(to)s\r\n"
        "Subject: Delivery Status Notification (Failure)\r\n"
        "Date: Tue, 08 Dec 2026 10:00:00 +0000\r\n"
        "Message-ID: <dsn-%(n)d@mx.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b%(n)d\"\r\n"
        "\r\n"
        "--b%(n)d\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "Your message wasn't delivered to %(rcpt)s because the address couldn't be\r\n"
        "found, or is unable to receive mail.\r\n"
        "\r\n"
        "--b%(n)d\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n"
        "Original-Envelope-Id: %(mid)s\r\n"
        "Arrival-Date: Tue, 08 Dec 2026 09:59:58 +0000\r\n"
        "\r\n"
        "Final-Recipient: rfc822; %(rcpt)s\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Remote-MTA: dns; gmail-smtp-in.l.google.com\r\n"
        "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does\r\n"
        " not exist. Please try double-checking the recipient's email address for\r\n"
        " typos or unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser\r\n"
        "Last-Attempt-Date: Tue, 08 Dec 2026 09:59:59 +0000\r\n"
        "\r\n"
        "--b%(n)d\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        "From: bench@sender.example\r\n"
        "To: %(rcpt)s\r\n"
        "Subject: bench %(n)d\r\n"
        "Message-ID: <%(mid)s@sender.example>\r\n"
        "X-Vestnik-Id: %(mid)s\r\n"
        "\r\n"
        "--b%(n)d--\r\n" % {"to": to, "mid": mid, "rcpt": rcpt, "n": n}).encode()


def build(a):
    items = []
    with open(a.corpus) as f:
        for n, line in enumerate(f):
            m = json.loads(line)
            if a.mode == "verp":
                to = verp_address(a.secret, a.tenant, m["id"], a.domain)
            else:
                to = "postmaster@" + a.domain
            items.append((("MAIL FROM:<>\r\nRCPT TO:<%s>\r\nDATA\r\n" % to).encode(),
                          dsn(to, m["id"], m["rcpt"], n) + b".\r\n"))
    return items


# ------------------------------------------------------------------ SMTP

async def reply(reader):
    code, lines = None, []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("connection closed")
        lines.append(line.decode("latin-1").rstrip())
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), " ".join(lines)


async def worker(a, items, stats):
    reader, writer = await asyncio.open_connection("127.0.0.1", a.smtp_port)
    try:
        await reply(reader)
        writer.write(b"EHLO reporter.example.net\r\n")
        code, text = await reply(reader)
        if code != 250 or "PIPELINING" not in text.upper():
            raise ConnectionError("EHLO: %s (PIPELINING is needed)" % text)
        for head, content in items:
            writer.write(head)
            replies = [await reply(reader) for _ in range(3)]
            if replies[2][0] != 354:
                stats["refused"] += 1
                if len(stats["samples"]) < 5:
                    stats["samples"].append([r[1] for r in replies])
                if replies[2][0] == 250:  # should not happen: DATA accepted without content
                    writer.write(b".\r\n")
                    await reply(reader)
                writer.write(b"RSET\r\n")
                await reply(reader)
                continue
            writer.write(content)
            code, text = await reply(reader)
            stats["sent"] += 1
            if code == 250:
                stats["ok"] += 1
                stats["t_acked"] = time.time()
            else:
                stats["refused"] += 1
                if len(stats["samples"]) < 5:
                    stats["samples"].append(text)
        writer.write(b"QUIT\r\n")
        await writer.drain()
        try:
            await asyncio.wait_for(reply(reader), 5)
        except (asyncio.TimeoutError, ConnectionError):
            pass
    except (ConnectionError, OSError) as e:
        stats["errors"] += 1
        if len(stats["samples"]) < 5:
            stats["samples"].append("%s: %s" % (type(e).__name__, e))
    finally:
        writer.close()


def failed_count(a):
    conn = http.client.HTTPConnection("127.0.0.1", a.api_port, timeout=10)
    try:
        conn.request("GET", "/v1/queues", headers={"Authorization": "Bearer " + a.key})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            return -1
        totals = json.loads(body).get("totals", [])
        if isinstance(totals, dict):
            return int(totals.get("failed", 0))
        return sum(int(t.get("count", 0)) for t in totals if t.get("status") == "failed")
    except (OSError, ValueError, http.client.HTTPException):
        return -1
    finally:
        conn.close()


def push(a):
    items = build(a)
    if a.go_file:
        print("READY %d" % len(items), flush=True)
        deadline = time.time() + 600
        while not os.path.exists(a.go_file):
            if time.time() > deadline:
                sys.exit("no go file")
            time.sleep(0.01)
    shares = [items[i::a.connections] for i in range(a.connections)]
    stats = {"sent": 0, "ok": 0, "refused": 0, "errors": 0, "samples": [], "t_acked": None}
    cpu0 = cpu_now()
    t0 = time.time()

    async def run():
        await asyncio.gather(*(worker(a, s, stats) for s in shares if s))
    asyncio.run(run())
    t_done = None
    seen = None
    if a.api_port and stats["ok"] == len(items):
        deadline = time.time() + a.poll_timeout
        while time.time() < deadline:
            seen = failed_count(a)
            if seen >= a.expect_failed:
                t_done = time.time()
                break
            time.sleep(a.poll_interval)
    cpu = cpu_now() - cpu0
    print(json.dumps({"t0": t0, "t_acked": stats["t_acked"], "t_done": t_done, "failed_seen": seen,
                      "n": len(items), "sent": stats["sent"], "ok": stats["ok"],
                      "refused": stats["refused"], "errors": stats["errors"],
                      "samples": stats["samples"], "cpu_s": round(cpu, 3)}), flush=True)
    good = stats["ok"] == len(items) and (not a.api_port or t_done is not None)
    sys.exit(0 if good else 1)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("inject")
    i.add_argument("--port", type=int, required=True)
    i.add_argument("--key", required=True)
    i.add_argument("--messages", type=int, required=True)
    i.add_argument("--batch", type=int, default=1000)
    i.add_argument("--domains", type=int, default=50)
    i.add_argument("--out", required=True)
    s = sub.add_parser("push")
    s.add_argument("--smtp-port", type=int, required=True)
    s.add_argument("--corpus", required=True)
    s.add_argument("--mode", choices=["verp", "quoted"], default="quoted")
    s.add_argument("--domain", default="bounces.bench.test")
    s.add_argument("--secret", default="")
    s.add_argument("--tenant", default="bench")
    s.add_argument("--connections", type=int, default=16)
    s.add_argument("--go-file")
    s.add_argument("--api-port", type=int, default=0)
    s.add_argument("--key", default="")
    s.add_argument("--expect-failed", type=int, default=0)
    s.add_argument("--poll-interval", type=float, default=0.02)
    s.add_argument("--poll-timeout", type=float, default=300)
    v = sub.add_parser("verp")
    v.add_argument("--secret", required=True)
    v.add_argument("--tenant", required=True)
    v.add_argument("--id", required=True)
    v.add_argument("--domain", required=True)
    a = p.parse_args()
    if a.cmd == "inject":
        inject(a)
    elif a.cmd == "push":
        push(a)
    else:
        print(verp_address(a.secret, a.tenant, a.id, a.domain))


main()
