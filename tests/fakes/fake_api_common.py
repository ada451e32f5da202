"""What the fake provider APIs share (fake_api_*.py): body parsing, JSON
answers, the Provider base (token checks, the common tail of a request)
and the answers that look the same in front of every API (nginx 502/504,
hang, close).

A provider object is stateless apart from id counters; everything scripted
(behaviours, known tokens, callback settings) comes from the FakeCore passed
in (fake_providers.py).  handle() returns a fake_http.Response, None (close
without an answer) or an awaitable (delays and hangs).
"""

import json
import urllib.parse

from fake_http import Response

NGINX_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
             b"<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
             b"<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n")
NGINX_504 = NGINX_502.replace(b"502 Bad Gateway", b"504 Gateway Time-out")


# One encoder for every answer: json.dumps() with arguments builds a new
# JSONEncoder per call, a third of the cost of a small answer.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def jdump(obj):
    return _ENCODER.encode(obj).encode()


def jres(status, obj, headers=None):
    return Response(status, jdump(obj), "application/json", headers)


class Invalid(Exception):
    """A request the real API rejects; carries the ready answer."""

    def __init__(self, response):
        super().__init__("invalid")
        self.response = response


def parse_form(text):
    out = {}
    for k, v in urllib.parse.parse_qsl(text, keep_blank_values=True):
        if k in out:
            if isinstance(out[k], list):
                out[k].append(v)
            else:
                out[k] = [out[k], v]
        else:
            out[k] = v
    return out


def parse_body(req, force_json=False):
    """JSON object or form fields (plus query parameters, which the real APIs
    also read). Returns (dict, kind) with kind "json", "form" or "bad"."""
    ctype = req.headers.get("content-type", "").lower()
    params = parse_form(req.query) if req.query else {}
    body = req.body
    if "json" in ctype or (force_json and body):
        try:
            obj = json.loads(body.decode("utf-8"))
        except Exception:
            return params, "bad"
        if not isinstance(obj, dict):
            return params, "bad"
        params.update(obj)
        return params, "json"
    if body:
        try:
            params.update(parse_form(body.decode("utf-8")))
        except UnicodeDecodeError:
            return params, "bad"
    return params, "form"


def utf16_len(s):
    return len(s) if s.isascii() else len(s.encode("utf-16-le")) // 2


def bearer(req):
    auth = req.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


class Provider:
    name = ""

    def __init__(self, core):
        self.core = core

    def cfg(self):
        return self.core.provider_cfg(self.name)

    def known_token(self, token):
        """Tokens listed in the script ("tokens": a list, or an object keyed
        by token) plus the CLI's are the only ones accepted; with none
        listed, any non-empty token is."""
        if not token:
            return False
        known = self.cfg().get("tokens")
        extra = self.core.extra_tokens.get(self.name, ())
        if known is None and not extra:
            return True
        return token in (known or ()) or token in extra

    def finish(self, req, beh, res, on_success=None):
        """Common tail: outcome accounting, delay/latency/hang."""
        self.core.outcome(req, beh, res)
        if res is not None and res.status < 300 and on_success is not None:
            on_success()
        return self.core.deferred(req, beh, res)


def generic_answer(beh):
    """Behaviours that look the same in front of every API."""
    if beh.name == "bad_gateway":
        return Response(502, NGINX_502, "text/html")
    if beh.name == "gateway_timeout":
        return Response(504, NGINX_504, "text/html")
    if beh.name in ("hang", "close"):
        return None
    return jres(500, {"fake": f"behaviour {beh.name!r} is not known for "
                              f"this provider"})
