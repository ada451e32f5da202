#!/usr/bin/python3
"""Self-test of tests/fakes/fake_providers.py: starts the fake on loopback
(plain HTTP, then TLS with the committed test CA), exercises every provider
with urllib (success, each scripted behaviour, answer conventions), checks
the signatures of the callbacks it receives on a small local listener, the
stats (GET and file, SIGUSR1) and rate_check, then stops the fake by PID.
Exit status 0 on success, 1 on any failure.  Bounded: an alarm ends it after
55 s.  Stdlib only (Debian's /usr/bin/python3).
"""

import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import rate_check  # noqa: E402

FAKE = os.path.join(HERE, "fake_providers.py")
DATA = os.path.join(HERE, "data")

TG = "123456:AAFakeToken_x-1"
VIBER = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
VK = "vk1.a.communitytoken"
WA_TOKEN = "EAAGfake"
WA_SECRET = "wa-app-secret"
PNID = "106540352242922"
TW_SID = "AC" + "a" * 32
TW_TOKEN = "twilio-auth-token"
TG_SECRET = "tg-webhook-secret"
VK_SECRET = "vk-callback-secret"
VK_CONFIRM = "3a5f8b2c"

SCRIPT = {
    "telegram": {
        "tokens": [TG],
        "recipients": {
            "1001": ["rate_limit:7", "ok"],
            "1002": "blocked", "1003": "not_found", "1004": "migrate",
            "1005": "server_error", "1006": "bad_gateway", "1007": "hang",
            "1008": "delay:300", "1009": "bad_token",
            "1010": ["ok*2", "blocked"], "1011": "bad_request",
        }},
    "viber": {
        "tokens": [VIBER], "callback_path": "/v1/callbacks/viber/main",
        "recipients": {
            "rl=": "rate_limit", "bl=": "blocked", "nf=": "not_found",
            "bt=": "bad_token",
            "cb=": {"behaviours": ["ok"], "callbacks": ["delivered", "read"],
                    "duplicate": True, "out_of_order": True},
        }},
    "vk": {
        "tokens": [VK], "callback_path": "/v1/callbacks/vk/main",
        "recipients": {"6": "rate_limit", "901": "blocked", "18": "not_found",
                       "5": "bad_token"}},
    "whatsapp": {
        "tokens": [WA_TOKEN], "phone_number_ids": [PNID],
        "callback_path": "/v1/callbacks/whatsapp/main",
        "recipients": {
            "15550000429": "rate_limit", "15550000056": "pair_limit",
            "15550000026": "blocked", "15550000047": "outside_window",
            "15550000001": {"behaviours": "ok",
                            "callbacks": ["sent", "delivered", "read"]},
            "15550000002": "outside_window_async",
        }},
    "twilio": {
        "accounts": {TW_SID: TW_TOKEN},
        "callback_path": "/v1/callbacks/twilio/main",
        "recipients": {
            "+15550000429": "rate_limit", "+15550021610": "blocked",
            "+15550000001": {"behaviours": "ok",
                             "callbacks": ["sent", "delivered"]},
        }},
}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


# ---- the callback listener --------------------------------------------------

received = []
received_cv = threading.Condition()


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with received_cv:
            received.append((self.path, dict(self.headers.items()), body))
            received_cv.notify_all()
        out = b"ok"
        if b'"type":"confirmation"' in body:
            out = VK_CONFIRM.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


def wait_callbacks(path, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    with received_cv:
        while True:
            got = [r for r in received if r[0] == path]
            if len(got) >= n or time.monotonic() > deadline:
                return got
            received_cv.wait(0.1)


# ---- the fake ---------------------------------------------------------------

def start_fake(extra, stats=None):
    script = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(SCRIPT, script)
    script.close()
    cmd = ["/usr/bin/python3", FAKE, "--port", "0", "--script", script.name]
    if stats:
        cmd += ["--stats", stats]
    proc = subprocess.Popen(cmd + extra, stdout=subprocess.PIPE,
                            stderr=sys.stderr, text=True)
    line = ""
    deadline = time.monotonic() + 10

    def reader():
        nonlocal line
        line = proc.stdout.readline()
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(max(0.0, deadline - time.monotonic()))
    os.unlink(script.name)
    m = re.match(r"^READY (\d+)$", line.strip())
    if not m:
        proc.kill()
        raise RuntimeError(f"the fake did not get ready: {line!r}")
    return proc, int(m.group(1))


def stop_fake(proc):
    os.kill(proc.pid, signal.SIGTERM)
    try:
        rc = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
        rc = "killed"
    check(rc == 0, f"the fake exits 0 on SIGTERM (got {rc})")


class Api:
    def __init__(self, base, ctx=None):
        self.base = base
        self.ctx = ctx

    def call(self, path, body=None, headers=None, method="POST",
             timeout=5.0):
        """Returns (status, headers, raw body); raises on timeouts."""
        data = body
        h = dict(headers or {})
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, list):
            data = urllib.parse.urlencode(body).encode()
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        req = urllib.request.Request(self.base + path, data=data, headers=h,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout,
                                        context=self.ctx) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, *a, **kw):
        status, _, raw = self.call(*a, **kw)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw


# ---- per provider -----------------------------------------------------------

def test_telegram(api):
    p = f"/bot{TG}/sendMessage"
    st, b = api.json(p, {"chat_id": 42, "text": "<b>Order</b> shipped",
                         "parse_mode": "HTML"})
    check(st == 200 and b["ok"] and b["result"]["message_id"] == 1 and
          b["result"]["text"] == "Order shipped" and
          b["result"]["entities"] == [{"offset": 0, "length": 5,
                                       "type": "bold"}],
          f"telegram success {st} {b}")
    st, b = api.json(p, [("chat_id", "42"), ("text", "second"),
                         ("reply_markup", json.dumps({"inline_keyboard": [[
                             {"text": "OK", "callback_data": "ack:42"}]]}))])
    check(st == 200 and b["result"]["message_id"] == 2,
          f"telegram form body, message_id per chat {st} {b}")
    st, b = api.json(p, {"chat_id": 43, "text": "x"})
    check(st == 200 and b["result"]["message_id"] == 1,
          "telegram message_id counts per chat")
    st, b = api.json(p, {"chat_id": -1001234567890123, "text": "x"})
    check(st == 200 and b["result"]["chat"]["id"] == -1001234567890123 and
          b["result"]["chat"]["type"] == "supergroup",
          f"telegram negative int64 chat id {b}")
    st, b = api.json(p, {"chat_id": 42, "text": "<b>bold</i>",
                         "parse_mode": "HTML"})
    check(st == 400 and b["error_code"] == 400 and b["description"]
          .startswith("Bad Request: can't parse entities:"),
          f"telegram unbalanced HTML {st} {b}")
    st, b = api.json(p, {"chat_id": 42, "text": "a<br>b",
                         "parse_mode": "HTML"})
    check(st == 400 and "Unsupported start tag" in b["description"],
          "telegram unsupported tag")
    st, b = api.json(p, {"chat_id": 42, "text": "x" * 4097})
    check(st == 400 and b["description"] == "Bad Request: message is too "
                                           "long", "telegram too long")
    st, b = api.json(p, {"chat_id": 42, "text": "&lt;" * 4096,
                         "parse_mode": "HTML"})
    check(st == 200, "telegram length counted after entity parsing")
    st, b = api.json(p, {"chat_id": 42})
    check(st == 400 and b["description"] == "Bad Request: message text is "
                                            "empty", "telegram no text")
    st, b = api.json(p, {"chat_id": 42, "text": "x", "reply_markup": {
        "inline_keyboard": [[{"text": "a", "callback_data": "x" * 65}]]}})
    check(st == 400 and b["description"] == "Bad Request: BUTTON_DATA_INVALID",
          "telegram callback_data too long")
    st, b = api.json("/bot999:nope/sendMessage", {"chat_id": 1, "text": "x"})
    check(st == 401 and b == {"ok": False, "error_code": 401,
                              "description": "Unauthorized"},
          f"telegram unknown token {st} {b}")
    st, b = api.json(f"/bot{TG}/sendNothing", {"chat_id": 1, "text": "x"})
    check(st == 404 and b["error_code"] == 404, "telegram unknown method")
    # Scripted behaviours.
    st, b = api.json(p, {"chat_id": 1001, "text": "x"})
    check(st == 429 and b["parameters"] == {"retry_after": 7} and
          b["description"] == "Too Many Requests: retry after 7",
          f"telegram rate_limit {st} {b}")
    st, b = api.json(p, {"chat_id": 1001, "text": "x"})
    check(st == 200, "telegram behaviour list consumed (ok after 429)")
    st, b = api.json(p, {"chat_id": 1001, "text": "x"})
    check(st == 200, "telegram last behaviour repeats")
    st, b = api.json(p, {"chat_id": 1002, "text": "x"})
    check(st == 403 and b["description"] == "Forbidden: bot was blocked by "
                                            "the user", "telegram blocked")
    st, b = api.json(p, {"chat_id": 1003, "text": "x"})
    check(st == 400 and b["description"] == "Bad Request: chat not found",
          "telegram not_found")
    st, b = api.json(p, {"chat_id": 1004, "text": "x"})
    check(st == 400 and isinstance(b["parameters"]["migrate_to_chat_id"], int)
          and "upgraded to a supergroup" in b["description"],
          f"telegram migrate {b}")
    st, b = api.json(p, {"chat_id": 1005, "text": "x"})
    check(st == 500 and b["error_code"] == 500, "telegram server_error")
    st, h, raw = api.call(p, {"chat_id": 1006, "text": "x"})
    check(st == 502 and raw.startswith(b"<html>") and b"nginx" in raw,
          "telegram bad_gateway is nginx HTML")
    t0 = time.monotonic()
    st, b = api.json(p, {"chat_id": 1008, "text": "x"})
    check(st == 200 and time.monotonic() - t0 >= 0.28, "telegram delay:300")
    st, b = api.json(p, {"chat_id": 1009, "text": "x"})
    check(st == 401, "telegram bad_token")
    st, b = api.json(p, {"chat_id": 1011, "text": "x"})
    check(st == 400 and b["description"].startswith("Bad Request:"),
          "telegram bad_request")
    codes = [api.json(p, {"chat_id": 1010, "text": "x"})[0] for _ in range(4)]
    check(codes == [200, 200, 403, 403], f"telegram ok*2 then blocked {codes}")
    t0 = time.monotonic()
    try:
        api.call(p, {"chat_id": 1007, "text": "x"}, timeout=0.5)
        check(False, "telegram hang answered")
    except (TimeoutError, OSError) as e:
        check(time.monotonic() - t0 < 3, f"telegram hang times out {e!r}")


def test_viber(api):
    p = "/pa/send_message"
    h = {"X-Viber-Auth-Token": VIBER}
    msg = {"receiver": "01234567890A=", "type": "text", "text": "hi",
           "sender": {"name": "Shop"}}
    st, _, raw = api.call(p, msg, h)
    b = json.loads(raw)
    m = re.search(rb'"message_token":(\d+)[,}]', raw)
    check(st == 200 and b["status"] == 0 and b["status_message"] == "ok" and
          m and int(m.group(1)) > 2 ** 53, f"viber success {raw}")
    kb = dict(msg, keyboard={"Buttons": [{"ActionType": "reply",
                                          "ActionBody": "y", "Text": "Y"}]})
    st, b = api.json(p, kb, h)
    check(st == 200 and b["status"] == 3 and "Type" in b["status_message"],
          f"viber keyboard without Type {b}")
    kb["keyboard"]["Type"] = "keyboard"
    st, b = api.json(p, kb, h)
    check(st == 200 and b["status"] == 0, "viber keyboard with Type")
    st, b = api.json(p, msg, {"X-Viber-Auth-Token": "wrong"})
    check(st == 200 and b["status"] == 2 and
          b["status_message"] == "invalidAuthToken", "viber bad token")
    st, b = api.json(p, dict(msg, auth_token=VIBER))
    check(b["status"] == 0, "viber auth_token in the body")
    st, b = api.json(p, dict(msg, sender={"name": "x" * 29}), h)
    check(b["status"] == 3, "viber sender.name > 28")
    for rcpt, code in (("rl=", 12), ("bl=", 6), ("nf=", 5), ("bt=", 2)):
        st, b = api.json(p, dict(msg, receiver=rcpt), h)
        check(st == 200 and b["status"] == code,
              f"viber {rcpt} -> status {code}: {st} {b}")
    st, _, raw = api.call(p, dict(msg, receiver="cb="), h)
    token = int(re.search(rb'"message_token":(\d+)', raw).group(1))
    got = wait_callbacks("/v1/callbacks/viber/main", 4)
    check(len(got) == 4, f"viber 4 callbacks (2 events, duplicated): {len(got)}")
    events = []
    for _, hd, body in got:
        sig = hmac.new(VIBER.encode(), body, hashlib.sha256).hexdigest()
        check(hd.get("X-Viber-Content-Signature") == sig,
              "viber callback signature")
        ev = json.loads(body)
        check(ev["message_token"] == token and ev["user_id"] == "cb=",
              "viber callback message_token exact int64")
        events.append(ev["event"])
    check(events == ["seen", "seen", "delivered", "delivered"],
          f"viber out_of_order + duplicate: {events}")


def test_vk(api):
    p = "/method/messages.send"
    auth = {"Authorization": "Bearer " + VK}
    form = [("peer_id", "2000000001"), ("random_id", "12345"),
            ("message", "hi"), ("v", "5.199")]
    st, b = api.json(p, form, auth)
    check(st == 200 and isinstance(b.get("response"), int), f"vk success {b}")
    first = b["response"]
    st, b = api.json(p, form, auth)
    check(b.get("response") == first, "vk random_id de-duplicates")
    st, b = api.json(p, [("access_token", VK)] + form[:1] +
                     [("random_id", "1"), ("message", "x"), ("v", "5.199")])
    check(isinstance(b.get("response"), int), "vk access_token param")
    st, b = api.json(p, [f for f in form if f[0] != "random_id"], auth)
    check(st == 200 and b["error"]["error_code"] == 100 and
          "random_id" in b["error"]["error_msg"], "vk random_id required")
    st, b = api.json(p, [f for f in form if f[0] != "v"], auth)
    check(st == 200 and b["error"]["error_code"] == 8, "vk v required")
    st, b = api.json(p, form, {"Authorization": "Bearer nope"})
    check(st == 200 and b["error"]["error_code"] == 5, "vk bad token")
    st, b = api.json(p, form + [("keyboard", json.dumps({"buttons": [[
        {"action": {"type": "bogus"}}]]}))], auth)
    check(b["error"]["error_code"] == 911, "vk bad keyboard 911")
    st, b = api.json(p, [("peer_id", "1"), ("random_id", "9"),
                         ("message", "x" * 4097), ("v", "5.199")], auth)
    check(b["error"]["error_code"] == 914, "vk message too long 914")
    for peer, code in (("6", 6), ("901", 901), ("18", 18), ("5", 5)):
        st, b = api.json(p, [("peer_id", peer), ("random_id", "77" + peer),
                             ("message", "x"), ("v", "5.199")], auth)
        check(st == 200 and b["error"]["error_code"] == code and
              {"key": "method", "value": "messages.send"} in
              b["error"]["request_params"], f"vk peer {peer} -> {code}: {b}")


def test_whatsapp(api):
    p = f"/v21.0/{PNID}/messages"
    auth = {"Authorization": "Bearer " + WA_TOKEN}
    msg = {"messaging_product": "whatsapp", "to": "15551234567",
           "type": "text", "text": {"body": "hi"}}
    st, b = api.json(p, msg, auth)
    check(st == 200 and b["messages"][0]["id"].startswith("wamid.") and
          b["contacts"][0]["wa_id"] == "15551234567", f"whatsapp success {b}")
    st, b = api.json(p, msg)
    check(st == 401 and b["error"]["code"] == 190, "whatsapp no token")
    st, b = api.json(p, dict(msg, text={}), auth)
    check(st == 400 and b["error"]["code"] == 100, "whatsapp body required")
    btn = dict(msg, type="interactive", interactive={
        "type": "button", "body": {"text": "?"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": str(i), "title": "t"}}
            for i in range(4)]}})
    st, b = api.json(p, btn, auth)
    check(st == 400 and b["error"]["code"] == 131009, "whatsapp 4 buttons")
    st, b = api.json("/v21.0/999/messages", msg, auth)
    check(st == 400 and b["error"]["code"] == 100, "whatsapp unknown number")
    for to, http, code in (("15550000429", 429, 130429),
                           ("15550000056", 400, 131056),
                           ("15550000026", 400, 131026),
                           ("15550000047", 400, 131047)):
        st, b = api.json(p, dict(msg, to=to), auth)
        check(st == http and b["error"]["code"] == code and
              b["error"]["type"] == "OAuthException",
              f"whatsapp {to} -> {http}/{code}: {st} {b}")
    path = "/v1/callbacks/whatsapp/main"
    st, b = api.json(p, dict(msg, to="15550000001",
                             biz_opaque_callback_data="dlv-42"), auth)
    wamid = b["messages"][0]["id"]
    got = wait_callbacks(path, 3)
    sts = []
    for _, hd, body in got:
        sig = "sha256=" + hmac.new(WA_SECRET.encode(), body,
                                   hashlib.sha256).hexdigest()
        check(hd.get("X-Hub-Signature-256") == sig, "whatsapp signature")
        v = json.loads(body)["entry"][0]["changes"][0]["value"]
        s = v["statuses"][0]
        check(s["id"] == wamid and s["biz_opaque_callback_data"] == "dlv-42"
              and v["metadata"]["phone_number_id"] == PNID and
              isinstance(s["timestamp"], str), "whatsapp status shape")
        sts.append(s["status"])
    check(sts == ["sent", "delivered", "read"], f"whatsapp statuses {sts}")
    st, b = api.json(p, dict(msg, to="15550000002"), auth)
    check(st == 200, "whatsapp outside_window_async accepted")
    got = wait_callbacks(path, 4)
    s = json.loads(got[-1][2])["entry"][0]["changes"][0]["value"][
        "statuses"][0]
    check(s["status"] == "failed" and s["errors"][0]["code"] == 131047,
          f"whatsapp async failed 131047 {s}")


def test_twilio(api, base):
    p = f"/2010-04-01/Accounts/{TW_SID}/Messages.json"
    auth = {"Authorization": "Basic " + base64.b64encode(
        f"{TW_SID}:{TW_TOKEN}".encode()).decode()}
    form = [("To", "+15551234567"), ("From", "+15557654321"),
            ("Body", "hello")]
    st, b = api.json(p, form, auth)
    check(st == 201 and b["sid"].startswith("SM") and len(b["sid"]) == 34 and
          b["status"] == "queued" and b["num_segments"] == "1",
          f"twilio success {st} {b}")
    st, b = api.json(p, [("To", "+15551234567"), ("From", "+15557654321"),
                         ("Body", "ж" * 71)], auth)
    check(b["num_segments"] == "2", "twilio UCS-2 71 chars -> 2 segments")
    st, b = api.json(p, form, {"Authorization": "Basic " + base64.b64encode(
        f"{TW_SID}:wrong".encode()).decode()})
    check(st == 401 and b["code"] == 20003, "twilio bad auth")
    st, b = api.json(p, [("To", "+15551234567"), ("From", "+1555")], auth)
    check(st == 400 and b["code"] == 21602, "twilio body required")
    st, b = api.json(p, [("To", "5551234"), ("From", "+15557654321"),
                         ("Body", "x")], auth)
    check(st == 400 and b["code"] == 21211, "twilio invalid To")
    for to, http, code in (("+15550000429", 429, 20429),
                           ("+15550021610", 400, 21610)):
        st, b = api.json(p, [("To", to)] + form[1:], auth)
        check(st == http and b["code"] == code and b["status"] == http,
              f"twilio {to} -> {http}/{code}: {st} {b}")
    public = "https://vestnik.example.com/v1/callbacks/twilio/main?acct=1"
    st, b = api.json(p, [("To", "+15550000001")] + form[1:] +
                     [("StatusCallback", public)], auth)
    sid = b["sid"]
    got = wait_callbacks("/v1/callbacks/twilio/main", 2)
    sts = []
    for _, hd, body in got:
        params = urllib.parse.parse_qsl(body.decode())
        s = public + "".join(k + v for k, v in sorted(params))
        want = base64.b64encode(hmac.new(TW_TOKEN.encode(), s.encode(),
                                         hashlib.sha1).digest()).decode()
        check(hd.get("X-Twilio-Signature") == want,
              "twilio signature over the StatusCallback URL")
        d = dict(params)
        check(d["MessageSid"] == sid and d["AccountSid"] == TW_SID,
              "twilio callback fields")
        sts.append(d["MessageStatus"])
    check(sts == ["sent", "delivered"], f"twilio statuses {sts}")


def test_control_callbacks(api):
    def cb(spec):
        st, b = api.json("/_fake/callback", spec)
        check(st == 200 and b.get("status") == 200,
              f"control callback {spec.get('provider')} {st} {b}")
        return b
    cb({"provider": "telegram", "path": "/v1/callbacks/telegram/main",
        "event": "kicked", "chat_id": 42, "bot_token": TG})
    got = wait_callbacks("/v1/callbacks/telegram/main", 1)
    hd, body = got[0][1], json.loads(got[0][2])
    check(hd.get("X-Telegram-Bot-Api-Secret-Token") == TG_SECRET and
          body["my_chat_member"]["new_chat_member"]["status"] == "kicked" and
          body["my_chat_member"]["chat"]["id"] == 42, "telegram my_chat_member")
    cb({"provider": "vk", "path": "/v1/callbacks/vk/main",
        "event": "message_allow", "user_id": 7})
    got = wait_callbacks("/v1/callbacks/vk/main", 1)
    body = json.loads(got[0][2])
    check(body["type"] == "message_allow" and body["secret"] == VK_SECRET and
          body["object"]["user_id"] == 7 and body["v"] == "5.199",
          "vk message_allow")
    b = cb({"provider": "vk", "path": "/v1/callbacks/vk/main",
            "event": "confirmation"})
    check(b.get("confirmed") is True, "vk confirmation string checked")
    cb({"provider": "viber", "path": "/v1/callbacks/viber/ctl",
        "event": "unsubscribed", "user_id": "u1="})
    got = wait_callbacks("/v1/callbacks/viber/ctl", 1)
    check(got and got[0][1].get("X-Viber-Content-Signature") ==
          hmac.new(VIBER.encode(), got[0][2], hashlib.sha256).hexdigest(),
          "viber control callback signed with --viber-token")
    cb({"provider": "twilio", "path": "/v1/callbacks/twilio/in",
        "event": "inbound", "account_sid": TW_SID, "from": "+15551234567",
        "to": "+15557654321", "text": "STOP", "bad_signature": True})
    got = wait_callbacks("/v1/callbacks/twilio/in", 1)
    check(got and set(got[0][1]["X-Twilio-Signature"]) == {"0"},
          "bad_signature corrupts the signature")


def test_stats(api, proc, stats_path):
    st, s = api.json("/_fake/stats", method="GET")
    tg = s["providers"]["telegram"]["keys"][TG]
    check(tg["recipients"]["1001"]["count"] == 3 and
          tg["recipients"]["1001"]["outcomes"] == {"rate_limit": 1, "ok": 2},
          f"stats per recipient {tg['recipients'].get('1001')}")
    check(len(tg["times"]) == tg["count"] and
          tg["times"] == sorted(tg["times"]), "stats arrival times")
    check(s["providers"]["twilio"]["keys"][TW_SID]["count"] >= 5,
          "stats keyed by account sid")
    check(PNID in s["providers"]["whatsapp"]["keys"],
          "stats keyed by phone_number_id")
    last = [r for r in s["requests"] if r["provider"] == "vk"][-1]
    check(last["body"].get("v") == "5.199" and "access_token" not in
          last["body"], "stats keep parsed bodies")
    check(s["callbacks"]["sent"] >= 10, "stats count callbacks")
    # A burst of 20 to one chat; rate_check sees it.
    for _ in range(20):
        api.call(f"/bot{TG}/sendMessage", {"chat_id": 555, "text": "b"})
    before = os.stat(stats_path).st_mtime_ns if os.path.exists(stats_path) \
        else 0
    os.kill(proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if os.path.exists(stats_path) and \
                os.stat(stats_path).st_mtime_ns != before:
            break
        time.sleep(0.02)
    with open(stats_path) as f:
        fs = json.load(f)
    r = fs["providers"]["telegram"]["keys"][TG]["recipients"].get("555")
    check(r is not None and r["count"] == 20, "stats file after SIGUSR1")
    res = rate_check.check(fs, key=TG, provider="telegram", recipient="555",
                           limit=1, window=1.0, burst=3)
    check(not res["ok"] and res["max_in_window"] >= 5,
          f"rate_check flags a burst {res}")
    res = rate_check.check(fs, key=TG, provider="telegram", recipient="555",
                           limit=100, window=1.0, burst=0)
    check(res["ok"], "rate_check passes under the limit")
    rc = subprocess.run(["/usr/bin/python3", os.path.join(HERE,
                                                          "rate_check.py"),
                         stats_path, "--key", TG, "--recipient", "555",
                         "--limit", "1", "--window", "1", "--burst", "3"],
                        capture_output=True, text=True, timeout=20)
    check(rc.returncode == 1 and "EXCEEDED" in rc.stdout,
          f"rate_check CLI {rc.returncode} {rc.stdout}")


def test_keepalive_and_concurrency(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    body = json.dumps({"chat_id": 9, "text": "k"})
    for _ in range(50):
        c.request("POST", f"/bot{TG}/sendMessage", body,
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        check(r.status == 200, "keep-alive request")
    c.close()


def test_control_endpoints(api, port):
    # Chunked request bodies.
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    body = json.dumps({"chat_id": 77, "text": "chunked"}).encode()
    s.sendall(b"POST /bot%s/sendMessage HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
              % (TG.encode(), len(body), body))
    head = s.recv(65536)
    check(head.startswith(b"HTTP/1.1 200 "), f"chunked body {head[:40]!r}")
    s.sendall(b"garbage\r\n\r\n")
    check(s.recv(65536).startswith(b"HTTP/1.1 400 "), "bad request line")
    s.close()
    # VK peer_ids: per-peer results in one answer.
    st, b = api.json("/method/messages.send", [
        ("peer_ids", "1,901"), ("random_id", "4242"), ("message", "x"),
        ("v", "5.199"), ("access_token", VK)])
    check(isinstance(b.get("response"), list) and
          "message_id" in b["response"][0] and
          b["response"][1]["error"]["code"] == 901, f"vk peer_ids {b}")
    # Replace the script, then reset the stats and the cursors.
    st, b = api.json("/_fake/script", {"telegram": {"recipients": {
        "42": "blocked"}}})
    check(st == 200, "POST /_fake/script")
    st, _ = api.json(f"/bot{TG}/sendMessage", {"chat_id": 42, "text": "x"})
    check(st == 403, "the new script is in effect")
    st, _ = api.json("/_fake/script", {"nosuch": {}})
    check(st == 400, "a bad script is refused")
    st, _ = api.json("/_fake/reset", {})
    st, s2 = api.json("/_fake/stats?brief=1", method="GET")
    check(s2["requests_total"] == 0 and "requests" not in s2,
          "reset clears the stats; brief has no bodies")


def test_latency_concurrency():
    proc, port = start_fake(["--latency-ms", "300"])
    try:
        api = Api(f"http://127.0.0.1:{port}")
        results = []
        ts = [threading.Thread(target=lambda i=i: results.append(api.json(
            f"/bot{TG}/sendMessage", {"chat_id": 600 + i, "text": "x"})[0]))
            for i in range(5)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join(5)
        check(results == [200] * 5 and time.monotonic() - t0 < 1.5,
              f"--latency-ms answers in parallel {results}")
        st, s = api.json("/_fake/stats", method="GET")
        check(s["providers"]["telegram"]["keys"][TG]["max_concurrent"] == 5,
              "max_concurrent per key")
    finally:
        stop_fake(proc)


def main():
    signal.alarm(55)
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    cb_base = f"http://127.0.0.1:{sink.server_address[1]}"
    secrets = ["--callback-url-base", cb_base, "--telegram-secret", TG_SECRET,
               "--viber-token", VIBER, "--vk-secret", VK_SECRET,
               "--vk-confirmation", VK_CONFIRM, "--whatsapp-app-secret",
               WA_SECRET, "--twilio-auth-token", TW_TOKEN]
    tmp = tempfile.mkdtemp()
    stats = os.path.join(tmp, "stats.json")
    proc, port = start_fake(secrets, stats)
    try:
        api = Api(f"http://127.0.0.1:{port}")
        for name, fn in (("telegram", lambda: test_telegram(api)),
                         ("viber", lambda: test_viber(api)),
                         ("vk", lambda: test_vk(api)),
                         ("whatsapp", lambda: test_whatsapp(api)),
                         ("twilio", lambda: test_twilio(api, cb_base)),
                         ("control", lambda: test_control_callbacks(api)),
                         ("keepalive", lambda: test_keepalive_and_concurrency(
                             port)),
                         ("stats", lambda: test_stats(api, proc, stats)),
                         ("control endpoints",
                          lambda: test_control_endpoints(api, port))):
            try:
                fn()
            except Exception as e:
                check(False, f"{name}: {e!r}")
            print(f"{name}: done", flush=True)
    finally:
        stop_fake(proc)
    try:
        test_latency_concurrency()
        print("latency: done", flush=True)
    except Exception as e:
        check(False, f"latency: {e!r}")
    # TLS with the committed test CA, by IP and by name.
    proc, port = start_fake(["--tls", os.path.join(DATA, "server_cert.pem"),
                             os.path.join(DATA, "server_key.pem")])
    try:
        ctx = ssl.create_default_context(cafile=os.path.join(DATA, "ca.pem"))
        for host in ("127.0.0.1", "localhost"):
            api = Api(f"https://{host}:{port}", ctx)
            st, b = api.json(f"/bot{TG}/sendMessage", {"chat_id": 1,
                                                       "text": "tls"})
            check(st == 200 and b["ok"], f"TLS via {host}")
        print("tls: done", flush=True)
    except Exception as e:
        check(False, f"tls: {e!r}")
    finally:
        stop_fake(proc)
    sink.shutdown()
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("fake_providers_selftest: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
