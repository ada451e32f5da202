"""The fake Telegram Bot API (channels.md §1): sendMessage with HTML,
MarkdownV2 and Markdown entity checks and reply markup validation; getMe,
setWebhook; Update bodies (my_chat_member, message, callback_query) for
the control endpoint.
"""

import hashlib
import json
import random
import re
import time

from fake_api_common import (Invalid, Provider, generic_answer, jdump, jres,
                             parse_body, utf16_len)


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
