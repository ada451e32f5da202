#!/usr/bin/python3
"""Fake Telegram, Viber, VK, WhatsApp Cloud and Twilio APIs on loopback, for
vestnik's integration tests and benchmarks (issue #6).  The wire truth is
/work/shared/reference/channels.md; each API answers in its own convention
(Telegram: HTTP status = error_code; Viber: HTTP 200 + status; VK: HTTP 200 +
error; WhatsApp: 4xx + error.code; Twilio: 201 / 4xx + code) and callbacks are
signed as the real services sign them.

Throughput (bench_fake.py, this 2-core AMD EPYC VM, /usr/bin/python3 3.11.2,
plain HTTP, no --latency-ms, stats file on): Telegram sendMessage (HTML
parse mode, JSON body) over keep-alive, one request at a time per
connection, from 4 Python socket clients: 4,400-6,400 req/s (~6,000 when
the VM is otherwise idle), the fake using 85 % of one core (6,900-7,500
requests per CPU-second of the fake).  With the fake
pinned to one core and the clients to the other, ~4,900-5,200 req/s (the
client core is the limit).  Pipelined 16 deep: ~6,900 req/s, ~9,000 per
CPU-second.  tests/fakes/README.md has the script and stats formats.

Usage:
  fake_providers.py --port 0 [--tls CERT KEY] [--script FILE.json]
      [--stats FILE] [--callback-url-base http://127.0.0.1:8025]
      [--telegram-secret S] [--viber-token T] [--vk-secret S]
      [--vk-confirmation C] [--whatsapp-app-secret S]
      [--twilio-auth-token T] [--latency-ms N]
Prints "READY <port>" once listening.  SIGTERM/SIGINT: clean exit (0).
SIGUSR1: write the stats file now.

Control endpoints (same port):
  GET  /_fake/stats[?brief=1]  the stats JSON (brief: no times, no bodies)
  POST /_fake/callback         {"provider":..., "path":..., "event":...}
  POST /_fake/script           replace the script (JSON body)
  POST /_fake/reset            clear stats and behaviour cursors
  GET  /_fake/health           "ok"

Stdlib only; runs with Debian's /usr/bin/python3.
"""

import argparse
import asyncio
import collections
import json
import os
import re
import signal
import ssl
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fake_http  # noqa: E402
from fake_api_common import jdump  # noqa: E402
from fake_api_telegram import Telegram  # noqa: E402
from fake_api_twilio import Twilio  # noqa: E402
from fake_api_viber import Viber  # noqa: E402
from fake_api_vk import VK  # noqa: E402
from fake_api_whatsapp import WhatsApp  # noqa: E402
from fake_http import Response  # noqa: E402

PROVIDERS = ("telegram", "viber", "vk", "whatsapp", "twilio")
HANG_MAX_S = 300.0       # a "hang" holds the request at most this long
CALLBACK_TIMEOUT_S = 10.0


# ---- behaviours -------------------------------------------------------------

class Behaviour:
    __slots__ = ("name", "arg", "delay_ms")

    def __init__(self, name, arg=None, delay_ms=0):
        self.name = name
        self.arg = arg
        self.delay_ms = delay_ms

    def __repr__(self):
        return self.name + (f":{self.arg}" if self.arg is not None else "")


OK = Behaviour("ok")


def parse_behaviours(spec):
    """A behaviour list from the script: "name", "name:arg", "name*3",
    "delay:250", or {"do": "name", "arg": ..., "delay_ms": N, "count": N}."""
    if isinstance(spec, (str, dict)):
        spec = [spec]
    out = []
    for item in spec:
        count = 1
        if isinstance(item, dict):
            name = item.get("do", item.get("behaviour", "ok"))
            arg = item.get("arg")
            arg = None if arg is None else str(arg)
            delay = int(item.get("delay_ms", 0))
            count = int(item.get("count", 1))
        else:
            m = re.match(r"^(.*)\*(\d+)$", item)
            if m:
                item, count = m.group(1), int(m.group(2))
            name, sep, arg = item.partition(":")
            arg = arg if sep else None
            delay = 0
        if name == "delay":
            delay += int(arg or 0)
        out += [Behaviour(name, arg, delay)] * count
    return out or [OK]


# ---- stats ------------------------------------------------------------------

class RcptStats:
    __slots__ = ("count", "times", "outcomes")

    def __init__(self, keep):
        self.count = 0
        self.times = collections.deque(maxlen=keep)
        self.outcomes = collections.Counter()


class KeyStats:
    __slots__ = ("count", "times", "in_flight", "max_concurrent",
                 "recipients")

    def __init__(self, keep):
        self.count = 0
        self.times = collections.deque(maxlen=keep)
        self.in_flight = 0
        self.max_concurrent = 0
        self.recipients = {}


class ProviderStats:
    __slots__ = ("count", "in_flight", "max_concurrent", "http_status",
                 "outcomes", "keys")

    def __init__(self):
        self.count = 0
        self.in_flight = 0
        self.max_concurrent = 0
        self.http_status = collections.Counter()
        self.outcomes = collections.Counter()
        self.keys = {}


class Stats:
    def __init__(self, keep_times, keep_bodies):
        self.keep_times = keep_times
        self.started = time.monotonic()
        self.reset()
        self.requests = collections.deque(maxlen=keep_bodies)
        self.callbacks = collections.deque(maxlen=keep_bodies)

    def reset(self):
        self.providers = {p: ProviderStats() for p in PROVIDERS}
        self.total = 0
        self.in_flight = 0
        self.max_concurrent = 0
        self.callbacks_sent = 0
        self.callbacks_failed = 0
        if hasattr(self, "requests"):
            self.requests.clear()
            self.callbacks.clear()

    def snapshot(self, server, brief=False):
        provs = {}
        for name, p in self.providers.items():
            keys = {}
            for k, ks in p.keys.items():
                rc = {}
                for r, rs in ks.recipients.items():
                    e = {"count": rs.count, "outcomes": dict(rs.outcomes)}
                    if not brief:
                        e["times"] = list(rs.times)
                    rc[r] = e
                e = {"count": ks.count, "max_concurrent": ks.max_concurrent,
                     "in_flight": ks.in_flight,
                     "first": ks.times[0] if ks.times else None,
                     "last": ks.times[-1] if ks.times else None,
                     "recipients": rc}
                if not brief:
                    e["times"] = list(ks.times)
                keys[k] = e
            provs[name] = {"count": p.count, "in_flight": p.in_flight,
                           "max_concurrent": p.max_concurrent,
                           "http_status": {str(k): v for k, v in
                                           p.http_status.items()},
                           "outcomes": dict(p.outcomes), "keys": keys}
        snap = {"version": 1, "pid": os.getpid(), "clock": "monotonic",
                "now": time.monotonic(), "started": self.started,
                "requests_total": self.total, "in_flight": self.in_flight,
                "max_concurrent": self.max_concurrent,
                "connections": {"open": len(server.conns),
                                "max": server.max_connections,
                                "total": server.connections_total},
                "providers": provs,
                "callbacks": {"sent": self.callbacks_sent,
                              "failed": self.callbacks_failed}}
        if not brief:
            snap["requests"] = list(self.requests)
            snap["callbacks"]["recent"] = list(self.callbacks)
        return snap


# ---- the core ---------------------------------------------------------------

class FakeCore:
    """Routes requests to the providers, owns the script, the behaviour
    cursors, the stats and the callback sender.  Runs on the loop's thread
    only."""

    ROUTES = [
        (re.compile(r"^/bot([^/]*)/([A-Za-z]+)$"), "telegram"),
        (re.compile(r"^/pa/([a-z_]+)$"), "viber"),
        (re.compile(r"^/method/([A-Za-z.]+)$"), "vk"),
        (re.compile(r"^/(v\d+\.\d+)/([^/]+)/messages$"), "whatsapp"),
        (re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$"),
         "twilio"),
    ]

    def __init__(self, args):
        self.args = args
        self.secrets = {"telegram": args.telegram_secret,
                        "viber": args.viber_token, "vk": args.vk_secret,
                        "whatsapp": args.whatsapp_app_secret,
                        "twilio": args.twilio_auth_token}
        self.extra_tokens = {"viber": {args.viber_token}
                             if args.viber_token else set()}
        self.latency_ms = args.latency_ms
        self.stats = Stats(args.keep_times, args.keep_bodies)
        self.seq = 0
        self.dirty = True
        self.tg_update_id = 100000
        self.client = fake_http.Client(CALLBACK_TIMEOUT_S)
        self.tasks = set()
        self.providers = {
            "telegram": Telegram(self), "viber": Viber(self), "vk": VK(self),
            "whatsapp": WhatsApp(self), "twilio": Twilio(self)}
        self.set_script({})
        self.server = None

    # -- script
    def set_script(self, script):
        if not isinstance(script, dict):
            raise ValueError("the script must be a JSON object")
        unknown = set(script) - set(PROVIDERS) - {"comment"}
        if unknown:
            raise ValueError(f"unknown providers in script: {sorted(unknown)}")
        compiled = {}
        for p in PROVIDERS:
            cfg = dict(script.get(p, {}))
            rc = {}
            for r, spec in (cfg.get("recipients") or {}).items():
                if isinstance(spec, dict):
                    rc[str(r)] = (parse_behaviours(spec.get(
                        "behaviours", spec.get("do", "ok"))),
                        {k: v for k, v in spec.items()
                         if k not in ("behaviours", "do")})
                else:
                    rc[str(r)] = (parse_behaviours(spec), {})
            cfg["_recipients"] = rc
            cfg["_default"] = parse_behaviours(cfg.get("default", "ok"))
            compiled[p] = cfg
        self.script = compiled
        self.cursors = {}

    def provider_cfg(self, provider):
        return self.script[provider]

    def _list_for(self, provider, rcpt):
        cfg = self.script[provider]
        entry = cfg["_recipients"].get(rcpt)
        return entry[0] if entry else cfg["_default"]

    def next_behaviour(self, provider, rcpt):
        """Consumes one behaviour for the recipient; the last one repeats."""
        lst = self._list_for(provider, rcpt)
        k = (provider, rcpt)
        i = self.cursors.get(k, 0)
        self.cursors[k] = i + 1
        return lst[min(i, len(lst) - 1)]

    def peek_behaviour(self, provider, rcpt):
        lst = self._list_for(provider, rcpt)
        i = self.cursors.get((provider, rcpt), 0)
        return lst[min(max(i - 1, 0), len(lst) - 1)]

    # -- accounting
    def account(self, req, provider, key, rcpt, body):
        st = self.stats
        p = st.providers[provider]
        ks = p.keys.get(key)
        if ks is None:
            ks = p.keys[key] = KeyStats(st.keep_times)
        rs = ks.recipients.get(rcpt)
        if rs is None:
            rs = ks.recipients[rcpt] = RcptStats(st.keep_times)
        t = req.t
        st.total += 1
        p.count += 1
        ks.count += 1
        rs.count += 1
        ks.times.append(t)
        rs.times.append(t)
        st.in_flight += 1
        p.in_flight += 1
        ks.in_flight += 1
        if st.in_flight > st.max_concurrent:
            st.max_concurrent = st.in_flight
        if p.in_flight > p.max_concurrent:
            p.max_concurrent = p.in_flight
        if ks.in_flight > ks.max_concurrent:
            ks.max_concurrent = ks.in_flight
        self.seq += 1
        entry = {"seq": self.seq, "t": t, "provider": provider, "key": key,
                 "recipient": rcpt, "method": req.method,
                 "target": req.target, "headers": req.headers,
                 "body": body}
        if body is None:
            entry["raw"] = req.body[:65536].decode("utf-8", "replace")
        st.requests.append(entry)
        req.acct = (p, ks, rs, entry)
        self.dirty = True

    def outcome(self, req, beh, res):
        if req.acct is None:
            return
        p, ks, rs, entry = req.acct
        name = "invalid" if beh is None else beh.name
        if beh is None and res is not None and res.status < 300:
            name = "ok"
        status = None if res is None else res.status
        if beh is not None and beh.name == "hang":
            status = None
        entry["behaviour"] = name
        entry["status"] = status
        p.outcomes[name] += 1
        rs.outcomes[name] += 1
        if status is not None:
            p.http_status[status] += 1

    def release(self, req):
        if req.acct is None:
            return
        p, ks, _, _ = req.acct
        req.acct = None
        self.stats.in_flight -= 1
        p.in_flight -= 1
        ks.in_flight -= 1
        self.dirty = True

    def deferred(self, req, beh, res):
        delay = self.latency_ms
        if beh is not None:
            delay += beh.delay_ms
            if beh.name == "hang":
                return self._hang()
        if res is None or delay <= 0:
            return res
        return self._later(delay / 1000.0, res)

    async def _later(self, seconds, res):
        await asyncio.sleep(seconds)
        return res

    async def _hang(self):
        await asyncio.sleep(HANG_MAX_S)
        return None

    def log(self, text):
        print(f"fake_providers: {text}", file=sys.stderr, flush=True)

    # -- HTTP entry point
    def handle(self, req):
        path = req.path
        if path.startswith("/_fake/"):
            return self.control(req)
        for rx, name in self.ROUTES:
            m = rx.match(path)
            if m:
                if req.method not in ("POST", "GET") or (
                        req.method == "GET" and name != "vk" and
                        name != "telegram"):
                    return Response(405, b'{"error":"method not allowed"}')
                return self.providers[name].handle(req, m)
        return Response(404, b"<html><body><h1>404 Not Found</h1></body>"
                             b"</html>", "text/html")

    # -- callbacks after sends
    def callback_settings(self, provider, key, rcpt):
        cfg = self.script[provider]
        out = {k: cfg[k] for k in ("callbacks", "duplicate", "out_of_order",
                                   "delay_ms", "callback_path",
                                   "callback_url_base", "callback_sign_url_base",
                                   "failed_code", "failed_desc") if k in cfg}
        keys = cfg.get("keys") or {}
        out.update(keys.get(key, {}))
        toks = cfg.get("tokens")
        if isinstance(toks, dict) and isinstance(toks.get(key), dict):
            out.update(toks[key])
        entry = cfg["_recipients"].get(rcpt)
        if entry:
            out.update(entry[1])
        return out

    def send_callbacks(self, prov, key, rcpt, beh, info):
        cfg = self.callback_settings(prov.name, key, rcpt)
        events = list(cfg.get("callbacks") or [])
        if beh.name.endswith("_async"):
            events.append("undelivered" if prov.name == "twilio"
                          else "failed")
        if not events:
            return
        if cfg.get("out_of_order"):
            events.reverse()
        if cfg.get("duplicate"):
            events = [e for e in events for _ in (0, 1)]
        t = asyncio.ensure_future(self._send_events(prov, key, events, info,
                                                    cfg))
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    def _urls(self, provider, cfg, status_callback=None):
        """(URL to POST to, URL the signature covers) or (None, None)."""
        base = cfg.get("callback_url_base") or self.args.callback_url_base
        path = cfg.get("callback_path")
        if status_callback and not path:
            u = urllib.parse.urlsplit(status_callback)
            path = u.path + ("?" + u.query if u.query else "")
        path = path or f"/v1/callbacks/{provider}"
        if base:
            url = base.rstrip("/") + path
        elif status_callback:
            url = status_callback
        else:
            return None, None
        sign = status_callback or (
            cfg["callback_sign_url_base"].rstrip("/") + path
            if cfg.get("callback_sign_url_base") else url)
        return url, sign

    async def _send_events(self, prov, key, events, info, cfg):
        if cfg.get("delay_ms"):
            await asyncio.sleep(int(cfg["delay_ms"]) / 1000.0)
        url, sign_url = self._urls(prov.name, cfg, info.get("status_callback"))
        if url is None:
            self.log(f"{prov.name}: callbacks asked for but no "
                     f"--callback-url-base")
            return
        for ev in events:
            if prov.name == "twilio":
                params = prov.callback(ev, info, cfg)
                token = prov.auth_token_for(key)
                body, headers = prov.form(params, sign_url, token)
            else:
                built = prov.callback(ev, info, cfg)
                if built is None:
                    continue
                body, headers = built
            await self.post_callback(prov.name, ev, url, body, headers)

    async def post_callback(self, provider, event, url, body, headers):
        rec = {"t": time.monotonic(), "provider": provider, "event": event,
               "url": url, "headers": dict(headers),
               "body": body.decode("utf-8", "replace")}
        try:
            status, rbody = await self.client.post(url, body, headers)
            rec["status"] = status
            rec["response"] = rbody[:1024].decode("utf-8", "replace")
            self.stats.callbacks_sent += 1
        except Exception as e:
            rec["status"] = None
            rec["error"] = repr(e)
            self.stats.callbacks_failed += 1
        self.stats.callbacks.append(rec)
        self.dirty = True
        return rec

    # -- control endpoints
    def control(self, req):
        op = req.path[len("/_fake/"):]
        q = urllib.parse.parse_qs(req.query)
        if op == "health":
            return Response(200, b"ok", "text/plain")
        if op == "stats":
            brief = q.get("brief", ["0"])[0] not in ("0", "")
            return Response(200, jdump(
                self.stats.snapshot(self.server, brief)))
        if req.method != "POST":
            return Response(405, b'{"error":"POST only"}')
        try:
            spec = json.loads(req.body or b"{}")
        except ValueError as e:
            return Response(400, jdump({"error": str(e)}))
        if op == "reset":
            self.stats.reset()
            self.cursors = {}
            self.dirty = True
            return Response(200, b'{"ok":true}')
        if op == "script":
            try:
                self.set_script(spec)
            except (ValueError, TypeError, AttributeError) as e:
                return Response(400, jdump({"error": str(e)}))
            return Response(200, b'{"ok":true}')
        if op == "callback":
            try:
                coro = self.control_callback(spec)
            except (ValueError, KeyError, TypeError) as e:
                return Response(400, jdump({"error": str(e)}))
            if spec.get("async"):
                t = asyncio.ensure_future(coro)
                self.tasks.add(t)
                t.add_done_callback(self.tasks.discard)
                return Response(202, b'{"queued":true}')
            return self._as_response(coro)
        return Response(404, b'{"error":"unknown control endpoint"}')

    async def _as_response(self, coro):
        rec = await coro
        return Response(200, jdump(rec))

    def control_callback(self, spec):
        """Builds one callback now; returns the coroutine that POSTs it."""
        name = spec.get("provider")
        if name not in self.providers:
            raise ValueError(f"unknown provider {name!r}")
        prov = self.providers[name]
        cfg = dict(self.callback_settings(name, "", ""))
        if spec.get("path"):
            cfg["callback_path"] = spec["path"]
        if spec.get("url_base"):
            cfg["callback_url_base"] = spec["url_base"]
        url, sign_url = self._urls(name, cfg, spec.get("url"))
        if url is None:
            raise ValueError("no callback URL: give --callback-url-base, "
                             "url_base or url")
        if spec.get("sign_url"):
            sign_url = spec["sign_url"]
        if name == "twilio":
            params, token = prov.control_callback(spec)
            body, headers = prov.form(params, sign_url, token)
        else:
            body, headers, _ = prov.control_callback(spec)
        if "raw_body" in spec:
            body = spec["raw_body"].encode()
        if spec.get("bad_signature"):
            headers = [(k, "0" * len(v) if k.lower() in (
                "x-viber-content-signature", "x-hub-signature-256",
                "x-twilio-signature", "x-telegram-bot-api-secret-token")
                else v) for k, v in headers]
        if name == "vk" and spec.get("bad_signature"):
            body = body.replace(b'"secret":"', b'"secret":"wrong-')
        coro = self.post_callback(name, spec.get("event", ""), url, body,
                                  headers)
        if name == "vk" and spec.get("event") == "confirmation":
            return self._confirm(coro)
        return coro

    async def _confirm(self, coro):
        """VK's confirmation: the server must answer the confirmation
        string (--vk-confirmation)."""
        rec = await coro
        want = self.args.vk_confirmation
        rec["confirmed"] = rec.get("status") == 200 and \
            rec.get("response", "").strip() == (want or "")
        return rec

    # -- stats file
    def write_stats(self):
        path = self.args.stats
        if not path:
            return 0.0
        t0 = time.monotonic()
        snap = self.stats.snapshot(self.server)
        tmp = f"{path}.tmp.{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(jdump(snap))
        os.replace(tmp, path)
        self.dirty = False
        return time.monotonic() - t0

    async def housekeeping(self):
        """Every 100 ms: close idle connections; write the stats file if it
        changed.  A write that takes d seconds postpones the next one by
        10 d (at least 100 ms), so that a large stats file cannot eat the
        fake's CPU under benchmark load."""
        next_write = 0.0
        while True:
            await asyncio.sleep(0.1)
            self.server.sweep()
            now = time.monotonic()
            if self.dirty and self.args.stats and now >= next_write:
                d = self.write_stats()
                next_write = now + max(0.1, 10 * d)


async def amain(args):
    core = FakeCore(args)
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            core.set_script(json.load(f))
    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
    server = fake_http.Server(core, idle_timeout=args.idle_timeout)
    core.server = server
    port = await server.start("127.0.0.1", args.port, ctx)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, core.write_stats)
    core.write_stats()
    hk = asyncio.ensure_future(core.housekeeping())
    print(f"READY {port}", flush=True)
    await stop.wait()
    hk.cancel()
    server.close()
    for t in list(core.tasks):
        t.cancel()
    core.client.close()
    core.write_stats()
    await asyncio.sleep(0)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--script")
    ap.add_argument("--stats")
    ap.add_argument("--callback-url-base")
    ap.add_argument("--telegram-secret")
    ap.add_argument("--viber-token")
    ap.add_argument("--vk-secret")
    ap.add_argument("--vk-confirmation")
    ap.add_argument("--whatsapp-app-secret")
    ap.add_argument("--twilio-auth-token")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--idle-timeout", type=float, default=60.0,
                    help="close keep-alive connections idle this long (s)")
    ap.add_argument("--keep-times", type=int, default=100000,
                    help="arrival times kept per key and per recipient")
    ap.add_argument("--keep-bodies", type=int, default=1000,
                    help="recent requests (and callbacks) kept with bodies")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(amain(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
