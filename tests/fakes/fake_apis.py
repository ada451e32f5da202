"""The five provider APIs of the fake (channels.md §1-§4, §5b): request
validation, each API's own answer convention, and the bodies and signatures
of their callbacks.

A provider object is stateless apart from id counters; everything scripted
(behaviours, known tokens, callback settings) comes from the FakeCore passed
in (fake_providers.py).  handle() returns a fake_http.Response or an
awaitable (for delays and hangs).
"""

import base64
import hashlib
import hmac
import json
import os
import random
import re
import time
import urllib.parse
from email.utils import formatdate

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


# ---- Telegram entity parsing (§1) ------------------------------------------

TG_TAGS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic",
           "u": "underline", "ins": "underline", "s": "strikethrough",
           "strike": "strikethrough", "del": "strikethrough",
           "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link",
           "code": "code", "pre": "pre", "blockquote": "blockquote",
           "tg-emoji": "custom_emoji"}
HTML_ENT = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


class EntityError(Exception):
    pass


def _boff(s, i):
    return len(s[:i].encode("utf-8"))


def tg_parse_html(s):
    """Telegram's HTML parse mode: returns (plain text, entities) or raises
    EntityError with Telegram's wording."""
    out = []
    stack = []           # (name, utf16 start, attrs)
    entities = []
    u16 = 0
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "<":
            j = s.find(">", i)
            if j < 0:
                raise EntityError(f"Unclosed start tag at byte offset "
                                  f"{_boff(s, i)}")
            inner = s[i + 1:j]
            if inner.startswith("/"):
                name = inner[1:].strip().lower()
                if not stack:
                    raise EntityError(f"Unexpected end tag at byte offset "
                                      f"{_boff(s, i)}")
                top, start, attrs = stack.pop()
                if name != top:
                    raise EntityError(
                        f'Unmatched end tag at byte offset {_boff(s, i)}, '
                        f'expected "</{top}>", found "</{name}>"')
                if u16 > start:
                    ent = {"offset": start, "length": u16 - start,
                           "type": TG_TAGS[top]}
                    if top == "a":
                        m = HREF.search(attrs)
                        url = next(g for g in m.groups() if g is not None) \
                            if m else ""
                        if url.startswith("tg://user?id="):
                            ent["type"] = "text_mention"
                        else:
                            ent["url"] = url
                    elif top == "pre":
                        pass
                    entities.append(ent)
            else:
                m = re.match(r"([a-zA-Z0-9-]*)(.*)", inner, re.S)
                name, attrs = m.group(1).lower(), m.group(2)
                if name not in TG_TAGS:
                    raise EntityError(f'Unsupported start tag "{name}" at '
                                      f'byte offset {_boff(s, i)}')
                if name == "span" and "tg-spoiler" not in attrs:
                    raise EntityError(f'Tag "span" must have class '
                                      f'"tg-spoiler" at byte offset '
                                      f'{_boff(s, i)}')
                stack.append((name, u16, attrs))
            i = j + 1
        elif c == "&":
            m = HTML_ENT.match(s, i)
            if m:
                ref = m.group(1)
                if ref[0] == "#":
                    cp = int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:])
                    try:
                        ch = chr(cp)
                    except (ValueError, OverflowError):
                        raise EntityError(f"Unsupported HTML entity at byte "
                                          f"offset {_boff(s, i)}")
                else:
                    ch = HTML_NAMED[ref]
                out.append(ch)
                u16 += utf16_len(ch)
                i = m.end()
            else:
                out.append("&")
                u16 += 1
                i += 1
        else:
            j = i + 1
            while j < n and s[j] not in "<&":
                j += 1
            chunk = s[i:j]
            out.append(chunk)
            u16 += utf16_len(chunk)
            i = j
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag '
                          f'"{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")


def tg_parse_markdown_v2(s):
    """A sanity check of MarkdownV2 close to Telegram's: every reserved
    character outside markup must be escaped; markup pairs must close."""
    out = []
    open_marks = {}
    i = 0
    n = len(s)
    in_code = False
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n:
            out.append(s[i + 1])
            i += 2
            continue
        if c == "`":
            in_code = not in_code
            open_marks.setdefault("`", i) if in_code else \
                open_marks.pop("`", None)
            i += 1
            continue
        if in_code:
            out.append(c)
            i += 1
            continue
        if c in "*_~" or s.startswith("||", i):
            mark = "||" if s.startswith("||", i) else \
                ("__" if s.startswith("__", i) else c)
            if mark in open_marks:
                del open_marks[mark]
            else:
                open_marks[mark] = i
            i += len(mark)
            continue
        if c == "[":
            m = re.match(r"\[((?:[^\]\\]|\\.)*)\]\(((?:[^)\\]|\\.)*)\)", s[i:])
            if not m:
                raise EntityError(f"Character '[' is reserved and must be "
                                  f"escaped with the preceding '\\'")
            out.append(m.group(1))
            i += m.end()
            continue
        if c == ">" and (i == 0 or s[i - 1] == "\n"):
            i += 1
            continue
        if c in MDV2_RESERVED:
            raise EntityError(f"Character '{c}' is reserved and must be "
                              f"escaped with the preceding '\\'")
        out.append(c)
        i += 1
    names = {"*": "Bold", "_": "Italic", "__": "Underline",
             "~": "Strikethrough", "||": "Spoiler", "`": "Code"}
    if in_code or open_marks:
        mark, at = min(open_marks.items(), key=lambda kv: kv[1]) \
            if open_marks else ("`", 0)
        raise EntityError(f"Can't find end of {names[mark]} entity at byte "
                          f"offset {_boff(s, at)}")
    return "".join(out), []


def tg_parse_markdown(s):
    for mark, name in (("*", "Bold"), ("_", "Italic"), ("`", "Code")):
        if s.count(mark) % 2:
            raise EntityError(f"Can't find end of the entity starting at "
                              f"byte offset {_boff(s, s.rfind(mark))}")
    return re.sub(r"[*_`]", "", s), []


# ---- GSM 03.38 segment counting (§5a/§5b) -----------------------------------

GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789"
                ":;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstu"
                "vwxyzäöñüà")
GSM_EXT = set("^{}\\[~]|€\f")


def sms_segments(text):
    if all(c in GSM_BASIC or c in GSM_EXT for c in text):
        units = [2 if c in GSM_EXT else 1 for c in text]
        single, multi = 160, 153
    else:
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, multi = 70, 67
    total = sum(units)
    if total <= single:
        return 1
    segs, used = 1, 0
    for u in units:           # never split an ESC pair or a surrogate pair
        if used + u > multi:
            segs += 1
            used = 0
        used += u
    return segs


# ---- providers --------------------------------------------------------------

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


class Telegram(Provider):
    name = "telegram"
    TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")

    def __init__(self, core):
        super().__init__(core)
        self.message_ids = {}

    def error(self, code, desc, params=None):
        obj = {"ok": False, "error_code": code, "description": desc}
        if params:
            obj["parameters"] = params
        return jres(code, obj)

    def bot(self, token):
        bots = self.cfg().get("bots", {})
        info = bots.get(token, {}) if isinstance(bots, dict) else {}
        bot_id = token.split(":", 1)[0]
        return {"id": int(bot_id) if bot_id.isdigit() else 1, "is_bot": True,
                "first_name": info.get("first_name", "Fake Bot"),
                "username": info.get("username", "fake_bot")}

    def handle(self, req, m):
        token, method = m.group(1), m.group(2)
        if not self.TOKEN.match(token) or \
                not self.known_token(token):
            self.core.account(req, self.name, token, "", None)
            return self.finish(req, None, self.error(401, "Unauthorized"))
        body, kind = parse_body(req)
        if method == "getMe":
            self.core.account(req, self.name, token, "", body)
            return self.finish(req, None, jres(200, {"ok": True,
                                                     "result": self.bot(token)}))
        if method in ("setWebhook", "deleteWebhook"):
            self.core.account(req, self.name, token, "", body)
            return self.finish(req, None, jres(200, {
                "ok": True, "result": True,
                "description": "Webhook was set" if method == "setWebhook"
                else "Webhook was deleted"}))
        if method != "sendMessage":
            self.core.account(req, self.name, token, "", body)
            return self.finish(req, None, self.error(404, "Not Found"))
        chat = body.get("chat_id")
        rcpt = "" if chat is None else str(chat)
        self.core.account(req, self.name, token, rcpt, body)
        try:
            text, entities, markup = self.validate(body, kind)
        except Invalid as e:
            return self.finish(req, None, e.response)
        beh = self.core.next_behaviour(self.name, rcpt)
        res = self.answer(beh, token, rcpt, chat, text, entities, markup)
        return self.finish(req, beh, res)

    def validate(self, body, kind):
        bad = lambda d: Invalid(self.error(400, "Bad Request: " + d))
        if kind == "bad":
            raise bad("can't parse JSON")
        chat = body.get("chat_id")
        if chat is None or chat == "":
            raise bad("chat_id is empty")
        if isinstance(chat, bool) or not (
                isinstance(chat, int) or
                (isinstance(chat, str) and
                 (re.match(r"^-?\d+$", chat) or chat.startswith("@")))):
            raise bad("chat not found")
        if isinstance(chat, str) and re.match(r"^-?\d+$", chat):
            v = int(chat)
            if not -(2 ** 63) <= v < 2 ** 63:
                raise bad("chat not found")
        text = body.get("text")
        if text is None or text == "":
            raise bad("message text is empty")
        if not isinstance(text, str):
            text = str(text)
        mode = body.get("parse_mode") or ""
        try:
            if mode == "HTML":
                plain, ents = tg_parse_html(text)
            elif mode == "MarkdownV2":
                plain, ents = tg_parse_markdown_v2(text)
            elif mode == "Markdown":
                plain, ents = tg_parse_markdown(text)
            elif mode == "":
                plain, ents = text, []
            else:
                raise bad("unsupported parse_mode")
        except EntityError as e:
            raise bad("can't parse entities: " + str(e))
        if not plain.strip():
            raise bad("message text is empty")
        if utf16_len(plain) > 4096:
            raise bad("message is too long")
        markup = body.get("reply_markup")
        if markup is not None and markup != "":
            if isinstance(markup, str):
                try:
                    markup = json.loads(markup)
                except ValueError:
                    raise bad("can't parse reply keyboard markup JSON object")
            self.check_markup(markup, bad)
        for flag in ("disable_notification", "protect_content",
                     "allow_paid_broadcast"):
            v = body.get(flag)
            if v is not None and not isinstance(v, bool) and \
                    str(v).lower() not in ("true", "false", "0", "1"):
                raise bad(f"can't parse {flag}")
        return plain, ents, markup

    def check_markup(self, mk, bad):
        if not isinstance(mk, dict):
            raise bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in mk:
            rows = mk["inline_keyboard"]
            if not isinstance(rows, list) or \
                    not all(isinstance(r, list) for r in rows):
                raise bad('field "inline_keyboard" of the InlineKeyboardMarkup'
                          ' should be an Array of Arrays')
            kinds = ("url", "callback_data", "web_app", "login_url",
                     "switch_inline_query", "switch_inline_query_current_chat",
                     "switch_inline_query_chosen_chat", "copy_text",
                     "callback_game", "pay")
            for row in rows:
                for b in row:
                    if not isinstance(b, dict) or not isinstance(
                            b.get("text"), str) or not b.get("text"):
                        raise bad("can't parse inline keyboard button: Text "
                                  "buttons are unallowed in the inline "
                                  "keyboard")
                    set_kinds = [k for k in kinds if k in b]
                    if len(set_kinds) != 1:
                        raise bad("can't parse inline keyboard button: "
                                  "InlineKeyboardButton must have exactly one"
                                  " of the optional fields")
                    if "callback_data" in b:
                        cd = b["callback_data"]
                        if not isinstance(cd, str) or \
                                not 1 <= len(cd.encode()) <= 64:
                            raise bad("BUTTON_DATA_INVALID")
                    if "url" in b:
                        u = b["url"]
                        if not isinstance(u, str) or not re.match(
                                r"^(https?|tg)://[^\s]+$", u):
                            raise bad(f"inline keyboard button URL '{u}' is "
                                      f"invalid: Wrong HTTP URL")
        elif "keyboard" in mk:
            rows = mk["keyboard"]
            if not isinstance(rows, list) or \
                    not all(isinstance(r, list) for r in rows):
                raise bad('field "keyboard" of the ReplyKeyboardMarkup should'
                          ' be an Array of Arrays')
            for row in rows:
                for b in row:
                    if not (isinstance(b, str) or (isinstance(b, dict) and
                                                   isinstance(b.get("text"),
                                                              str))):
                        raise bad("can't parse keyboard button: Field "
                                  "\"text\" must be of type String")
        elif mk.get("remove_keyboard") is True or \
                mk.get("force_reply") is True:
            pass
        else:
            raise bad("can't parse reply keyboard markup JSON object")

    def answer(self, beh, token, rcpt, chat, text, entities, markup):
        name, arg = beh.name, beh.arg
        if name in ("ok", "delay"):
            key = (token, rcpt)
            mid = self.message_ids.get(key, 0) + 1
            self.message_ids[key] = mid
            if isinstance(chat, str) and chat.startswith("@"):
                cid = -1000000000000 - (int(hashlib.sha1(chat.encode())
                                            .hexdigest()[:8], 16))
                cobj = {"id": cid, "title": chat[1:], "username": chat[1:],
                        "type": "channel"}
            else:
                cid = int(chat)
                if cid > 0:
                    cobj = {"id": cid, "first_name": "Test", "type": "private"}
                elif cid <= -1000000000000:
                    cobj = {"id": cid, "title": "Test supergroup",
                            "type": "supergroup"}
                else:
                    cobj = {"id": cid, "title": "Test group",
                            "type": "group"}
            result = {"message_id": mid, "from": self.bot(token),
                      "chat": cobj, "date": int(time.time()), "text": text}
            if entities:
                result["entities"] = entities
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                result["reply_markup"] = markup
            return jres(200, {"ok": True, "result": result})
        if name == "rate_limit":
            s = int(arg or 1)
            return self.error(429, f"Too Many Requests: retry after {s}",
                              {"retry_after": s})
        if name == "blocked":
            return self.error(403, "Forbidden: bot was blocked by the user")
        if name == "deactivated":
            return self.error(403, "Forbidden: user is deactivated")
        if name == "kicked":
            return self.error(403, "Forbidden: bot was kicked from the group "
                                   "chat")
        if name == "cant_initiate":
            return self.error(403, "Forbidden: bot can't initiate "
                                   "conversation with a user")
        if name == "not_found":
            return self.error(400, "Bad Request: chat not found")
        if name == "bad_request":
            return self.error(400, "Bad Request: " + (
                arg or "can't parse entities: Unsupported start tag \"x\" at "
                       "byte offset 0"))
        if name == "migrate":
            to = int(arg) if arg else -1000000000000 - abs(int(chat or 0))
            return self.error(400, "Bad Request: group chat was upgraded to a "
                                   "supergroup chat",
                              {"migrate_to_chat_id": to})
        if name == "bad_token":
            return self.error(401, "Unauthorized")
        if name == "server_error":
            code = int(arg or 500)
            return self.error(code, "Internal Server Error")
        if name == "code":
            code, _, desc = (arg or "400").partition(":")
            return self.error(int(code), desc or "Bad Request")
        return generic_answer(beh)

    # -- callbacks: my_chat_member (block/unblock), message (inbound)
    def control_callback(self, spec):
        chat_id = int(spec.get("chat_id", spec.get("user_id", 1)))
        token = spec.get("bot_token") or "1:fake"
        bot = self.bot(token)
        user = {"id": chat_id, "is_bot": False,
                "first_name": spec.get("first_name", "Test")}
        chat = {"id": chat_id, "first_name": user["first_name"],
                "type": "private"} if chat_id > 0 else \
            {"id": chat_id, "title": "Test group",
             "type": "supergroup" if chat_id <= -1000000000000 else "group"}
        self.core.tg_update_id += 1
        upd = {"update_id": spec.get("update_id", self.core.tg_update_id)}
        event = spec.get("event", "kicked")
        now = int(time.time())
        if event in ("kicked", "member", "left", "blocked", "unblocked"):
            new = {"kicked": "kicked", "blocked": "kicked", "left": "left",
                   "member": "member", "unblocked": "member"}[event]
            old = "member" if new != "member" else "kicked"
            new_m = {"status": new, "user": bot}
            if new == "kicked":
                new_m["until_date"] = 0
            upd["my_chat_member"] = {
                "chat": chat, "from": user, "date": now,
                "old_chat_member": {"status": old, "user": bot},
                "new_chat_member": new_m}
        elif event == "message":
            upd["message"] = {"message_id": spec.get("message_id", 1),
                              "from": user, "chat": chat, "date": now,
                              "text": spec.get("text", "hello")}
        elif event == "callback_query":
            upd["callback_query"] = {
                "id": str(random.getrandbits(60)), "from": user,
                "chat_instance": "1", "data": spec.get("data", "ack"),
                "message": {"message_id": spec.get("message_id", 1),
                            "chat": chat, "date": now}}
        else:
            raise ValueError(f"unknown telegram event {event!r}")
        body = jdump(upd)
        headers = [("Content-Type", "application/json")]
        secret = spec.get("secret", self.core.secrets.get("telegram"))
        if secret:
            headers.append(("X-Telegram-Bot-Api-Secret-Token", secret))
        return body, headers, None


class Viber(Provider):
    name = "viber"
    STATUS = {0: "ok", 1: "invalidUrl", 2: "invalidAuthToken", 3: "badData",
              4: "missingData", 5: "receiverNotRegistered",
              6: "receiverNotSubscribed", 7: "publicAccountBlocked",
              8: "publicAccountNotFound", 9: "publicAccountSuspended",
              10: "webhookNotSet", 11: "receiverNoSuitableDevice",
              12: "tooManyRequests", 13: "apiVersionNotSupported",
              14: "incompatibleWithVersion",
              15: "publicAccountNotAuthorized",
              16: "inchatReplyMessageNotAllowed",
              17: "publicAccountIsNotInline", 18: "noPublicChat",
              19: "cannotSendBroadcast", 20: "broadcastNotAllowed",
              21: "unsupportedCountry", 22: "paymentUnsupported",
              23: "freeMessagesExceeded", 24: "noBalance"}
    TYPES = {"text", "picture", "video", "file", "location", "contact",
             "sticker", "url", "rich_media"}
    ACTIONS = {"reply", "open-url", "location-picker", "share-phone", "none"}

    def status(self, code, message=None, extra=None):
        obj = {"status": code,
               "status_message": message or self.STATUS.get(code,
                                                            "General error"),
               "chat_hostname": "SN-CHAT-05_"}
        if extra:
            obj.update(extra)
        return jres(200, obj)

    def handle(self, req, m):
        body, kind = parse_body(req, force_json=True)
        token = req.headers.get("x-viber-auth-token") or \
            body.get("auth_token") or ""
        op = req.path[len("/pa/"):]
        if kind == "bad":
            self.core.account(req, self.name, token, "", None)
            return self.finish(req, None, self.status(3, "badData"))
        if not self.known_token(token):
            self.core.account(req, self.name, token, "", body)
            return self.finish(req, None, self.status(2))
        if op in ("set_webhook", "get_account_info"):
            self.core.account(req, self.name, token, "", body)
            extra = {"event_types": ["delivered", "seen", "failed",
                                     "subscribed", "unsubscribed",
                                     "conversation_started"]} \
                if op == "set_webhook" else \
                {"id": "pa:fake", "name": "Fake PA", "uri": "fakepa",
                 "webhook": "", "subscribers_count": 1}
            return self.finish(req, None, self.status(0, "ok", extra))
        if op != "send_message":
            self.core.account(req, self.name, token, "", body)
            return self.finish(req, None, Response(
                404, b"Not Found", "text/plain"))
        rcpt = str(body.get("receiver", ""))
        self.core.account(req, self.name, token, rcpt, body)
        if len(req.body) > 30 * 1024:
            return self.finish(req, None, self.status(
                3, "badData: message is bigger than 30KB"))
        try:
            self.validate(body)
        except Invalid as e:
            return self.finish(req, None, e.response)
        beh = self.core.next_behaviour(self.name, rcpt)
        info = {}
        res = self.answer(beh, info)
        return self.finish(req, beh, res, lambda: self.core.send_callbacks(
            self, token, rcpt, beh, dict(info, token=token, receiver=rcpt)))

    def validate(self, b):
        def bad(msg, code=3):
            return Invalid(self.status(code, msg))
        missing = [f for f in ("receiver", "type") if not b.get(f)]
        sender = b.get("sender")
        if missing:
            raise bad(f'object has missing required properties '
                      f'({json.dumps(missing)})')
        if not isinstance(sender, dict) or not sender.get("name"):
            raise bad('[#/sender] object has missing required properties '
                      '(["name"])')
        if len(sender["name"]) > 28:
            raise bad("[#/sender/name] string is too long (maximum 28)")
        if b["type"] not in self.TYPES:
            raise bad(f'[#/type] instance value ("{b["type"]}") not found in'
                      f' enum')
        if b["type"] == "text":
            t = b.get("text")
            if not isinstance(t, str) or t == "":
                raise bad('object has missing required properties (["text"])',
                          4)
            if len(t) > 7000:
                raise bad("[#/text] string is too long (maximum 7000)")
        td = b.get("tracking_data")
        if td is not None and (not isinstance(td, str) or len(td) > 4000):
            raise bad("[#/tracking_data] string is too long (maximum 4000)")
        mav = b.get("min_api_version")
        if mav is not None and (not isinstance(mav, int) or
                                isinstance(mav, bool)):
            raise bad("[#/min_api_version] instance type not allowed")
        kb = b.get("keyboard")
        if kb is not None:
            if not isinstance(kb, dict):
                raise bad("[#/keyboard] instance type not allowed")
            if "Type" not in kb:
                raise bad('[#/keyboard] object has missing required '
                          'properties (["Type"])')
            if kb["Type"] != "keyboard":
                raise bad(f'[#/keyboard/Type] instance value '
                          f'("{kb["Type"]}") not found in enum')
            btns = kb.get("Buttons")
            if not isinstance(btns, list) or not btns:
                raise bad('[#/keyboard] object has missing required '
                          'properties (["Buttons"])')
            for n, bt in enumerate(btns):
                where = f"[#/keyboard/Buttons/{n}]"
                if not isinstance(bt, dict) or "ActionBody" not in bt:
                    raise bad(f'{where} object has missing required '
                              f'properties (["ActionBody"])')
                at = bt.get("ActionType", "reply")
                if at not in self.ACTIONS:
                    raise bad(f'{where}/ActionType instance value ("{at}") '
                              f'not found in enum')
                if at == "location-picker" and (mav or 1) < 3:
                    raise bad("incompatibleWithVersion", 14)
                for f, lo, hi in (("Columns", 1, 6), ("Rows", 1, 2)):
                    v = bt.get(f, lo)
                    if not isinstance(v, int) or not lo <= v <= hi:
                        raise bad(f"{where}/{f} numeric instance is out of "
                                  f"range ({lo}..{hi})")

    def answer(self, beh, info):
        name, arg = beh.name, beh.arg
        if name in ("ok", "delay"):
            tok = random.randint(2 ** 53 + 1, 2 ** 63 - 1)
            info["message_token"] = tok
            return self.status(0, "ok", {"message_token": tok,
                                         "billing_status": 1})
        table = {"rate_limit": 12, "blocked": 6, "not_found": 5,
                 "bad_request": 3, "bad_token": 2, "no_device": 11,
                 "webhook_not_set": 10, "quota": 23}
        if name in table:
            return self.status(table[name])
        if name == "code":
            return self.status(int(arg or 1000))
        if name == "server_error":
            return jres(int(arg or 500), {"status_message":
                                          "Internal Server Error"})
        return generic_answer(beh)

    EVENTS = {"delivered": "delivered", "read": "seen", "seen": "seen",
              "failed": "failed"}

    def callback(self, event, info, cfg):
        ev = self.EVENTS.get(event)
        if ev is None:
            return None
        obj = {"event": ev, "timestamp": int(time.time() * 1000),
               "chat_hostname": "SN-448_",
               "message_token": info["message_token"],
               "user_id": info["receiver"]}
        if ev == "failed":
            obj["desc"] = cfg.get("failed_desc", "failure description")
        return self.signed(jdump(obj), info["token"])

    def signed(self, body, token):
        sig = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
        return body, [("Content-Type", "application/json"),
                      ("X-Viber-Content-Signature", sig)]

    def control_callback(self, spec):
        ev = spec.get("event", "subscribed")
        uid = spec.get("user_id", "01234567890A=")
        now = int(time.time() * 1000)
        obj = {"event": ev, "timestamp": spec.get("timestamp", now),
               "chat_hostname": "SN-448_",
               "message_token": int(spec.get("message_token",
                                             random.randint(2 ** 53 + 1,
                                                            2 ** 63 - 1)))}
        user = {"id": uid, "name": spec.get("name", "Test"),
                "avatar": "https://example.com/a.jpg", "country": "UK",
                "language": "en", "api_version": 1}
        if ev == "subscribed":
            obj["user"] = user
        elif ev == "conversation_started":
            obj.update({"type": "open", "context": "", "user": user,
                        "subscribed": False})
        elif ev == "message":
            obj.update({"sender": user, "message": {
                "type": "text", "text": spec.get("text", "hello"),
                "tracking_data": spec.get("tracking_data", "")}})
        else:
            obj["user_id"] = uid
            if ev == "failed":
                obj["desc"] = spec.get("desc", "failure description")
        token = spec.get("token") or self.core.secrets.get("viber") or ""
        return self.signed(jdump(obj), token) + (None,)


class VK(Provider):
    name = "vk"
    ERRORS = {1: "Unknown error occurred", 5: "User authorization failed",
              6: "Too many requests per second",
              7: "Permission to perform this action is denied",
              8: "Invalid request", 9: "Flood control",
              10: "Internal server error", 14: "Captcha needed",
              18: "User was deleted or banned",
              29: "Rate limit reached",
              100: "One of the parameters specified was missing or invalid",
              113: "Invalid user id",
              900: "Can't send messages for users from blacklist",
              901: "Can't send messages for users without permission",
              902: "Can't send messages to this user due to their privacy "
                   "settings",
              911: "Keyboard format is invalid",
              913: "Too many forwarded messages",
              914: "Message is too long",
              917: "You don't have access to this chat",
              936: "Contact not found", 945: "Chat was disabled",
              946: "Chat not supported",
              950: "Can't send message, reply timed out",
              985: "Only notifications are allowed in this group"}
    ACTIONS = {"text", "callback", "open_link", "location", "vkpay",
               "open_app"}
    COLORS = {"primary", "secondary", "default", "negative", "positive"}

    def __init__(self, core):
        super().__init__(core)
        self.next_id = {}
        self.random_ids = {}

    def error(self, code, params, detail=None):
        msg = self.ERRORS.get(code, "Unknown error occurred")
        if detail:
            msg = f"{msg}: {detail}"
        rp = [{"key": "method", "value": "messages.send"},
              {"key": "oauth", "value": "1"}]
        for k in ("v", "peer_id", "random_id"):
            if k in params:
                rp.append({"key": k, "value": str(params[k])})
        err = {"error_code": code, "error_msg": msg, "request_params": rp}
        if code == 14:
            err["captcha_sid"] = str(random.getrandbits(40))
            err["captcha_img"] = "https://api.vk.com/captcha.php?sid=" + \
                err["captcha_sid"]
        return jres(200, {"error": err})

    def handle(self, req, m):
        method = m.group(1)
        params, kind = parse_body(req)
        token = bearer(req) or params.get("access_token") or ""
        if isinstance(token, list):
            token = token[0]
        logged = {k: v for k, v in params.items() if k != "access_token"}
        peer = params.get("peer_id", params.get("user_id", ""))
        rcpt = str(peer) if peer != "" else str(params.get("peer_ids", ""))
        self.core.account(req, self.name, token, rcpt, logged)
        if not token:
            return self.finish(req, None, self.error(
                5, params, "no access_token passed."))
        if not self.known_token(token):
            return self.finish(req, None, self.error(
                5, params, "invalid access_token (4)."))
        if not params.get("v"):
            return self.finish(req, None, self.error(
                8, params, "v (version) is required"))
        if method != "messages.send":
            return self.finish(req, None, jres(200, {"error": {
                "error_code": 3, "error_msg": "Unknown method passed",
                "request_params": []}}))
        try:
            peers = self.validate(params)
        except Invalid as e:
            return self.finish(req, None, e.response)
        rid = int(params["random_id"])
        dedupe = (token, rid) if rid != 0 else None
        if dedupe and dedupe in self.random_ids:
            beh = self.core.peek_behaviour(self.name, rcpt)
            if beh.name in ("ok", "delay"):
                return self.finish(req, beh, jres(200, {
                    "response": self.random_ids[dedupe]}))
        if "peer_ids" in params:
            return self.finish(req, None, self.multi(token, peers, params))
        beh = self.core.next_behaviour(self.name, rcpt)
        res = self.answer(beh, token, params, dedupe)
        return self.finish(req, beh, res)

    def validate(self, p):
        def bad(code, detail=None):
            return Invalid(self.error(code, p, detail))
        peers = []
        if "peer_ids" in p:
            for x in str(p["peer_ids"]).split(","):
                if not re.match(r"^-?\d+$", x.strip()):
                    raise bad(100, "peer_ids is invalid")
                peers.append(x.strip())
        elif "peer_id" in p or "user_id" in p:
            v = str(p.get("peer_id", p.get("user_id")))
            if not re.match(r"^-?\d+$", v):
                raise bad(100, "peer_id is invalid")
        else:
            raise bad(100, "peer_id is undefined")
        rid = p.get("random_id")
        if rid is None or rid == "":
            raise bad(100, "random_id is a required parameter")
        if not re.match(r"^-?\d+$", str(rid)) or \
                not -(2 ** 31) <= int(rid) < 2 ** 31:
            raise bad(100, "random_id not integer")
        msg = p.get("message", "")
        if not msg and not p.get("attachment") and not p.get("sticker_id"):
            raise bad(100, "message is empty or invalid")
        if len(msg) > 4096:
            raise bad(914)
        kb = p.get("keyboard")
        if kb:
            self.check_keyboard(kb, bad)
        return peers

    def check_keyboard(self, kb, bad):
        try:
            k = json.loads(kb)
        except ValueError:
            raise bad(911, "keyboard is not a valid JSON")
        if not isinstance(k, dict) or not isinstance(k.get("buttons"), list):
            raise bad(911, "buttons is required")
        inline = bool(k.get("inline"))
        rows = k["buttons"]
        max_rows, max_total = (6, 10) if inline else (10, 40)
        if len(rows) > max_rows:
            raise bad(911, f"too many rows (max {max_rows})")
        total = 0
        for row in rows:
            if not isinstance(row, list):
                raise bad(911, "buttons must be an array of arrays")
            if len(row) > 5:
                raise bad(911, "too many buttons in a row (max 5)")
            for b in row:
                total += 1
                a = b.get("action") if isinstance(b, dict) else None
                if not isinstance(a, dict) or a.get("type") not in \
                        self.ACTIONS:
                    raise bad(911, "action type is invalid")
                if a["type"] in ("text", "callback", "open_link") and \
                        not a.get("label"):
                    raise bad(911, "label is required")
                if len(a.get("label", "")) > 40:
                    raise bad(911, "label is too long (max 40)")
                if len(a.get("payload", "")) > 255:
                    raise bad(911, "payload is too long (max 255)")
                if a["type"] == "open_link" and not a.get("link"):
                    raise bad(911, "link is required")
                if "color" in b:
                    if a["type"] not in ("text", "callback") or \
                            b["color"] not in self.COLORS:
                        raise bad(911, "color is invalid")
        if total > max_total:
            raise bad(911, f"too many buttons (max {max_total})")

    def new_id(self, token):
        n = self.next_id.get(token, 100000) + 1
        self.next_id[token] = n
        return n

    def answer(self, beh, token, params, dedupe):
        name, arg = beh.name, beh.arg
        if name in ("ok", "delay"):
            mid = self.new_id(token)
            if dedupe:
                self.random_ids[dedupe] = mid
            return jres(200, {"response": mid})
        table = {"rate_limit": 6, "blocked": 901, "not_found": 18,
                 "bad_request": 100, "bad_token": 5, "flood": 9,
                 "privacy": 902, "blacklist": 900, "captcha": 14,
                 "permission": 7, "quota": 29}
        if name in table:
            return self.error(table[name], params)
        if name == "code":
            return self.error(int(arg or 1), params)
        if name == "server_error":
            return jres(int(arg or 500), {"error": {
                "error_code": 10, "error_msg": "Internal server error"}})
        return generic_answer(beh)

    def multi(self, token, peers, params):
        items = []
        for p in peers:
            beh = self.core.next_behaviour(self.name, p)
            if beh.name in ("ok", "delay"):
                items.append({"peer_id": int(p), "message_id":
                              self.new_id(token),
                              "conversation_message_id": 1})
            else:
                code = {"blocked": 901, "not_found": 18, "privacy": 902,
                        "blacklist": 900}.get(beh.name, 1)
                if beh.name == "code":
                    code = int(beh.arg)
                items.append({"peer_id": int(p), "error": {
                    "code": code, "description": self.ERRORS.get(
                        code, "Unknown error occurred")}})
        return jres(200, {"response": items})

    def control_callback(self, spec):
        ev = spec.get("event", "message_allow")
        uid = int(spec.get("user_id", 1))
        if ev == "message_allow":
            obj = {"user_id": uid, "key": spec.get("key", "")}
        elif ev == "message_deny":
            obj = {"user_id": uid}
        elif ev == "message_new":
            obj = {"message": {"id": spec.get("message_id", 1),
                               "date": int(time.time()), "peer_id": uid,
                               "from_id": uid, "text": spec.get("text",
                                                                "hello"),
                               "random_id": 0, "out": 0},
                   "client_info": {"button_actions": ["text"],
                                   "keyboard": True, "inline_keyboard": True}}
        elif ev == "message_event":
            obj = {"user_id": uid, "peer_id": uid,
                   "event_id": os.urandom(6).hex(),
                   "payload": spec.get("payload", {"cmd": "ack"}),
                   "conversation_message_id": 1}
        elif ev == "confirmation":
            obj = None
        else:
            raise ValueError(f"unknown vk event {ev!r}")
        upd = {"type": ev, "group_id": int(spec.get("group_id", 1)),
               "event_id": spec.get("event_id", os.urandom(20).hex()),
               "v": "5.199"}
        if obj is not None:
            upd["object"] = obj
        secret = spec.get("secret", self.core.secrets.get("vk"))
        if secret:
            upd["secret"] = secret
        return jdump(upd), [("Content-Type", "application/json")], None


class WhatsApp(Provider):
    name = "whatsapp"
    ERRORS = {100: "Invalid parameter", 130429: "Rate limit hit",
              131056: "(Business Account, Consumer Account) pair rate limit "
                      "hit",
              131026: "Message undeliverable",
              131047: "Re-engagement message",
              131048: "Spam rate limit hit",
              131049: "This message was not delivered to maintain healthy "
                      "ecosystem engagement.",
              131050: "User has stopped marketing messages",
              131000: "Something went wrong", 131008: "Required parameter "
                                                     "is missing",
              131009: "Parameter value is not valid",
              131021: "Recipient cannot be sender",
              131051: "Unsupported message type",
              132000: "Number of parameters does not match the expected "
                      "number of params",
              132001: "Template name does not exist in the translation",
              190: "Invalid OAuth access token - Cannot parse access token",
              80007: "Rate limit issues", 368: "Temporarily blocked for "
                                              "policies violations"}
    TYPES = {"text", "interactive", "template", "image", "audio",
             "document", "video", "sticker", "location", "contacts",
             "reaction"}

    def error(self, code, http=400, details=None):
        msg = self.ERRORS.get(code, "Something went wrong")
        err = {"message": f"(#{code}) {msg}", "type": "OAuthException",
               "code": code,
               "fbtrace_id": base64.urlsafe_b64encode(
                   os.urandom(15)).decode()}
        if details:
            err["error_data"] = {"messaging_product": "whatsapp",
                                 "details": details}
        return jres(http, {"error": err})

    def handle(self, req, m):
        pnid = m.group(2)
        body, kind = parse_body(req, force_json=True)
        to = body.get("to", "") if kind == "json" else ""
        rcpt = str(to).lstrip("+")
        self.core.account(req, self.name, pnid, rcpt, body)
        token = bearer(req)
        if not token or not self.known_token(token):
            return self.finish(req, None, self.error(190, 401))
        known_ids = self.cfg().get("phone_number_ids")
        if known_ids is not None and pnid not in known_ids:
            return self.finish(req, None, self.error(
                100, 400, f"Unsupported post request. Object with ID "
                          f"'{pnid}' does not exist"))
        if kind != "json":
            return self.finish(req, None, self.error(
                100, 400, "The request body must be JSON"))
        try:
            self.validate(body)
        except Invalid as e:
            return self.finish(req, None, e.response)
        beh = self.core.next_behaviour(self.name, rcpt)
        info = {"pnid": pnid, "to": rcpt,
                "biz": body.get("biz_opaque_callback_data"),
                "category": "marketing" if body.get("type") == "template"
                and "marketing" in str(body.get("template", {}).get("name"))
                else ("utility" if body.get("type") == "template"
                      else "service")}
        res = self.answer(beh, info)
        return self.finish(req, beh, res, lambda: self.core.send_callbacks(
            self, pnid, rcpt, beh, info))

    def validate(self, b):
        def bad(code, details):
            return Invalid(self.error(code, 400, details))
        if b.get("messaging_product") != "whatsapp":
            raise bad(100, "The parameter messaging_product is required.")
        to = b.get("to")
        if not to:
            raise bad(100, "The parameter to is required.")
        if not re.match(r"^\+?\d{6,15}$", str(to)):
            raise bad(131009, "Invalid parameter to.")
        t = b.get("type", "text")
        if t not in self.TYPES:
            raise bad(131051, f"Unsupported message type {t}")
        if t == "text":
            text = b.get("text")
            if not isinstance(text, dict) or not text.get("body"):
                raise bad(100, "The parameter text['body'] is required.")
            if len(text["body"]) > 4096:
                raise bad(100, "Param text['body'] must be at most 4096 "
                               "characters long.")
        elif t == "interactive":
            it = b.get("interactive")
            if not isinstance(it, dict) or it.get("type") not in (
                    "button", "list", "cta_url", "product", "product_list",
                    "flow", "location_request_message"):
                raise bad(100, "The parameter interactive['type'] is "
                               "required.")
            body = it.get("body")
            if not isinstance(body, dict) or not body.get("text"):
                raise bad(100, "The parameter interactive['body']['text'] "
                               "is required.")
            if len(body["text"]) > 1024:
                raise bad(100, "Param interactive['body']['text'] must be at"
                               " most 1024 characters long.")
            act = it.get("action")
            if not isinstance(act, dict):
                raise bad(100, "The parameter interactive['action'] is "
                               "required.")
            if it["type"] == "button":
                btns = act.get("buttons")
                if not isinstance(btns, list) or not 1 <= len(btns) <= 3:
                    raise bad(131009, "buttons: should have between 1 and 3"
                                      " items")
                ids = set()
                for bt in btns:
                    r = bt.get("reply") if isinstance(bt, dict) else None
                    if bt.get("type") != "reply" or not isinstance(r, dict):
                        raise bad(131009, "button type must be reply")
                    if not r.get("title") or len(r["title"]) > 20:
                        raise bad(131009, "Button title length invalid. Min"
                                          " length: 1, Max length: 20")
                    if not r.get("id") or len(r["id"]) > 256:
                        raise bad(131009, "Button id length invalid. Max "
                                          "length: 256")
                    if r["id"] in ids:
                        raise bad(131009, "Button ids must be unique")
                    ids.add(r["id"])
            elif it["type"] == "list":
                if not act.get("button") or len(act["button"]) > 20:
                    raise bad(131009, "action['button'] is required, at most"
                                      " 20 characters")
                secs = act.get("sections")
                if not isinstance(secs, list) or not 1 <= len(secs) <= 10:
                    raise bad(131009, "sections: between 1 and 10 items")
                rows = 0
                for s in secs:
                    for r in s.get("rows", []) if isinstance(s, dict) else []:
                        rows += 1
                        if not r.get("id") or not r.get("title") or \
                                len(r["title"]) > 24:
                            raise bad(131009, "row id and title (at most 24"
                                              " characters) are required")
                if not 1 <= rows <= 10:
                    raise bad(131009, "rows: between 1 and 10 in total")
        elif t == "template":
            tp = b.get("template")
            if not isinstance(tp, dict) or not tp.get("name"):
                raise bad(100, "The parameter template['name'] is required.")
            lang = tp.get("language")
            if not isinstance(lang, dict) or not lang.get("code"):
                raise bad(100, "The parameter template['language']['code'] "
                               "is required.")
            known = self.cfg().get("templates")
            if known is not None:
                if tp["name"] not in known:
                    raise bad(132001, f"template name ({tp['name']}) does "
                                      f"not exist in {lang['code']}")
                want = known[tp["name"]] if isinstance(known, dict) else None
                if want is not None:
                    got = sum(len(c.get("parameters", []))
                              for c in tp.get("components", [])
                              if isinstance(c, dict) and
                              c.get("type") == "body")
                    if got != want:
                        raise bad(132000, f"body: number of localizable_"
                                          f"params ({got}) does not match "
                                          f"the expected number of params "
                                          f"({want})")
        elif not isinstance(b.get(t), dict):
            raise bad(100, f"The parameter {t} is required.")
        biz = b.get("biz_opaque_callback_data")
        if biz is not None and (not isinstance(biz, str) or len(biz) > 512):
            raise bad(100, "Param biz_opaque_callback_data must be at most "
                           "512 characters long.")

    def answer(self, beh, info):
        name, arg = beh.name, beh.arg
        if name in ("ok", "delay", "failed_async", "blocked_async",
                    "outside_window_async"):
            wamid = "wamid.HBgL" + base64.b64encode(os.urandom(27)).decode()
            info["wamid"] = wamid
            if name != "ok" and name != "delay":
                info["fail_code"] = int(arg) if arg else (
                    131047 if name == "outside_window_async" else 131026)
            m = {"id": wamid}
            status = self.cfg().get("message_status", "accepted")
            if status:
                m["message_status"] = status
            return jres(200, {"messaging_product": "whatsapp",
                              "contacts": [{"input": info["to"],
                                            "wa_id": info["to"]}],
                              "messages": [m]})
        if name == "rate_limit":
            return self.error(130429, 429, "Cloud API message throughput "
                                           "has been reached.")
        if name == "pair_limit":
            return self.error(131056, 400, "Message failed to send because "
                                           "there were too many messages "
                                           "sent from this phone number to "
                                           "the same phone number in a short"
                                           " period of time.")
        if name in ("blocked", "not_found"):
            return self.error(131026, 400, "Message Undeliverable.")
        if name == "outside_window":
            return self.error(131047, 400, "Message failed to send because "
                                           "more than 24 hours have passed "
                                           "since the customer last replied "
                                           "to this number.")
        if name == "bad_request":
            return self.error(100, 400, arg or "Invalid parameter")
        if name == "bad_token":
            return self.error(190, 401)
        if name == "server_error":
            return self.error(131000, int(arg or 500))
        if name == "code":
            code, _, http = (arg or "131000").partition(":")
            return self.error(int(code), int(http or 400))
        return generic_answer(beh)

    def statuses_body(self, pnid, statuses):
        cfg = self.cfg()
        return jdump({"object": "whatsapp_business_account", "entry": [{
            "id": cfg.get("waba_id", "102290129340398"),
            "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number":
                             cfg.get("display_phone_number", "15550001111"),
                             "phone_number_id": pnid},
                "statuses": statuses}}]}]})

    def status_obj(self, wamid, status, to, biz, category, code=None):
        st = {"id": wamid, "status": status,
              "timestamp": str(int(time.time())), "recipient_id": to}
        if biz:
            st["biz_opaque_callback_data"] = biz
        if status in ("sent", "delivered", "read"):
            st["conversation"] = {"id": hashlib.md5(
                (wamid + "c").encode()).hexdigest(),
                "origin": {"type": category}}
            if status == "sent":
                st["conversation"]["expiration_timestamp"] = \
                    str(int(time.time()) + 86400)
            st["pricing"] = {"billable": category != "service",
                             "pricing_model": "PMP", "category": category}
        if status == "failed":
            c = int(code or 131026)
            title = self.ERRORS.get(c, "Something went wrong")
            st["errors"] = [{"code": c, "title": title, "message": title,
                             "error_data": {"details": title}}]
        return st

    def signed(self, body, secret):
        h = [("Content-Type", "application/json")]
        if secret is not None:
            sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            h.append(("X-Hub-Signature-256", "sha256=" + sig))
        return body, h

    def callback(self, event, info, cfg):
        ev = {"read": "read", "seen": "read"}.get(event, event)
        if ev not in ("sent", "delivered", "read", "failed", "deleted"):
            return None
        code = info.get("fail_code") or cfg.get("failed_code")
        st = self.status_obj(info["wamid"], ev, info["to"], info.get("biz"),
                             info["category"], code)
        return self.signed(self.statuses_body(info["pnid"], [st]),
                           self.core.secrets.get("whatsapp"))

    def control_callback(self, spec):
        ev = spec.get("event", "message")
        pnid = str(spec.get("phone_number_id", "12345"))
        frm = str(spec.get("from", spec.get("to", "15551234567"))).lstrip("+")
        if ev == "message":
            value = {"messaging_product": "whatsapp", "metadata": {
                "display_phone_number": self.cfg().get(
                    "display_phone_number", "15550001111"),
                "phone_number_id": pnid},
                "contacts": [{"profile": {"name": spec.get("name", "Test")},
                              "wa_id": frm}],
                "messages": [{"from": frm, "id": "wamid.HBgL" +
                              base64.b64encode(os.urandom(27)).decode(),
                              "timestamp": str(int(time.time())),
                              "type": "text",
                              "text": {"body": spec.get("text", "hello")}}]}
            body = jdump({"object": "whatsapp_business_account", "entry": [{
                "id": self.cfg().get("waba_id", "102290129340398"),
                "changes": [{"field": "messages", "value": value}]}]})
        else:
            st = self.status_obj(spec.get("id", "wamid.unknown"), ev, frm,
                                 spec.get("biz_opaque_callback_data"),
                                 spec.get("category", "utility"),
                                 spec.get("code"))
            body = self.statuses_body(pnid, [st])
        secret = spec.get("app_secret", self.core.secrets.get("whatsapp"))
        return self.signed(body, secret) + (None,)


class Twilio(Provider):
    name = "twilio"
    ERRORS = {20003: "Authenticate", 20429: "Too Many Requests",
              20500: "Internal Server Error",
              21211: "Invalid 'To' Phone Number",
              21602: "Message body is required.",
              21603: "A 'From' phone number is required.",
              21604: "A 'To' phone number is required.",
              21606: "The 'From' phone number provided is not a valid "
                     "message-capable Twilio phone number for this "
                     "destination.",
              21408: "Permission to send an SMS has not been enabled for the"
                     " region indicated by the 'To' number",
              21610: "Attempt to send to unsubscribed recipient",
              21614: "'To' number is not a valid mobile number",
              21617: "The concatenated message body exceeds the 1600 "
                     "character limit."}

    def error(self, code, http=400, message=None):
        return jres(http, {"code": code, "message": message or
                           self.ERRORS.get(code, "Error"),
                           "more_info": f"https://www.twilio.com/docs/errors/"
                                        f"{code}", "status": http})

    def auth_token_for(self, sid):
        accts = self.cfg().get("accounts")
        if isinstance(accts, dict) and sid in accts:
            return accts[sid]
        return self.core.secrets.get("twilio")

    def handle(self, req, m):
        sid = m.group(1)
        params, kind = parse_body(req)
        to = params.get("To", "")
        self.core.account(req, self.name, sid, str(to), params)
        auth = req.headers.get("authorization", "")
        user = pw = None
        if auth[:6].lower() == "basic ":
            try:
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(
                    ":")
            except Exception:
                pass
        accts = self.cfg().get("accounts")
        expected = self.auth_token_for(sid)
        ok = user == sid and pw and (
            pw == expected if (expected is not None or accts is not None)
            else True)
        if not ok:
            return self.finish(req, None, self.error(20003, 401))
        try:
            self.validate(params)
        except Invalid as e:
            return self.finish(req, None, e.response)
        beh = self.core.next_behaviour(self.name, str(to))
        info = {"sid": sid, "to": to, "from": params.get("From"),
                "mg": params.get("MessagingServiceSid"),
                "status_callback": params.get("StatusCallback")}
        res = self.answer(beh, params, info)
        return self.finish(req, beh, res, lambda: self.core.send_callbacks(
            self, sid, str(to), beh, info))

    def validate(self, p):
        def bad(code, msg=None):
            return Invalid(self.error(code, 400, msg))
        to = p.get("To")
        if not to:
            raise bad(21604)
        if not re.match(r"^\+[1-9]\d{6,14}$", to):
            raise bad(21211, f"Invalid 'To' Phone Number: {to}")
        if not p.get("From") and not p.get("MessagingServiceSid"):
            raise bad(21603)
        frm = p.get("From")
        if frm and not (re.match(r"^\+[1-9]\d{3,14}$", frm) or
                        re.match(r"^[A-Za-z0-9 ]{1,11}$", frm) or
                        frm.startswith("whatsapp:")):
            raise bad(21606)
        body = p.get("Body", "")
        if not body and not p.get("MediaUrl") and not p.get("ContentSid"):
            raise bad(21602)
        if len(body) > 1600:
            raise bad(21617)

    def answer(self, beh, p, info):
        name, arg = beh.name, beh.arg
        if name in ("ok", "delay", "failed_async"):
            sid = "SM" + os.urandom(16).hex()
            info["message_sid"] = sid
            if name == "failed_async":
                info["fail_code"] = int(arg or 30003)
            body = p.get("Body", "")
            mg = p.get("MessagingServiceSid")
            acct = info["sid"]
            return jres(201, {
                "account_sid": acct, "api_version": "2010-04-01",
                "body": body,
                "date_created": formatdate(usegmt=True).replace("GMT",
                                                                "+0000"),
                "date_sent": None, "date_updated":
                formatdate(usegmt=True).replace("GMT", "+0000"),
                "direction": "outbound-api", "error_code": None,
                "error_message": None, "from": p.get("From"),
                "messaging_service_sid": mg,
                "num_media": "0", "num_segments": str(sms_segments(body)),
                "price": None, "price_unit": "USD", "sid": sid,
                "status": "accepted" if mg else "queued",
                "subresource_uris": {"media": f"/2010-04-01/Accounts/{acct}/"
                                              f"Messages/{sid}/Media.json"},
                "to": p.get("To"),
                "uri": f"/2010-04-01/Accounts/{acct}/Messages/{sid}.json"})
        table = {"rate_limit": (20429, 429), "blocked": (21610, 400),
                 "not_found": (21211, 400), "bad_request": (21602, 400),
                 "bad_token": (20003, 401), "not_mobile": (21614, 400)}
        if name in table:
            code, http = table[name]
            return self.error(code, http)
        if name == "server_error":
            return self.error(20500, int(arg or 500))
        if name == "code":
            code, _, http = (arg or "21211").partition(":")
            return self.error(int(code), int(http or 400))
        return generic_answer(beh)

    @staticmethod
    def signature(auth_token, url, params):
        s = url + "".join(k + v for k, v in sorted(params))
        return base64.b64encode(hmac.new(auth_token.encode(), s.encode(),
                                         hashlib.sha1).digest()).decode()

    def form(self, params, url, token):
        body = urllib.parse.urlencode(params).encode()
        h = [("Content-Type", "application/x-www-form-urlencoded"),
             ("I-Twilio-Idempotency-Token", os.urandom(16).hex()),
             ("User-Agent", "TwilioProxy/1.1")]
        if token is not None:
            h.append(("X-Twilio-Signature",
                      self.signature(token, url, params)))
        return body, h

    def callback(self, event, info, cfg):
        ev = {"seen": "read"}.get(event, event)
        code = info.get("fail_code")
        if ev == "failed" and code is None:
            code = cfg.get("failed_code", 30003)
        params = [("MessageSid", info["message_sid"]),
                  ("SmsSid", info["message_sid"]),
                  ("MessageStatus", ev), ("SmsStatus", ev),
                  ("AccountSid", info["sid"]), ("To", info["to"]),
                  ("ApiVersion", "2010-04-01")]
        if info.get("from"):
            params.append(("From", info["from"]))
        if info.get("mg"):
            params.append(("MessagingServiceSid", info["mg"]))
        if ev in ("failed", "undelivered"):
            params.append(("ErrorCode", str(code)))
        if ev in ("delivered", "undelivered"):
            params.append(("RawDlrDoneDate",
                           time.strftime("%y%m%d%H%M", time.gmtime())))
        return params

    def control_callback(self, spec):
        """event: a MessageStatus (needs message_sid) or "inbound"."""
        sid = spec.get("account_sid", "AC" + "0" * 32)
        ev = spec.get("event", "delivered")
        if ev == "inbound":
            params = [("MessageSid", "SM" + os.urandom(16).hex()),
                      ("AccountSid", sid), ("From", spec.get("from", "")),
                      ("To", spec.get("to", "")),
                      ("Body", spec.get("text", "STOP")),
                      ("NumMedia", "0"), ("NumSegments", "1"),
                      ("ApiVersion", "2010-04-01")]
            if spec.get("text", "STOP").strip().upper() in (
                    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END",
                    "QUIT"):
                params.append(("OptOutType", "STOP"))
        else:
            info = {"message_sid": spec.get("message_sid", "SM" + "0" * 32),
                    "sid": sid, "to": spec.get("to", ""),
                    "from": spec.get("from"), "mg": spec.get("mg"),
                    "fail_code": spec.get("code")}
            params = self.callback(ev, info, {})
        return params, spec.get("auth_token", self.auth_token_for(sid))


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
