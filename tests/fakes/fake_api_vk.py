"""The fake VK API messages.send (channels.md §3): token, v and random_id
checks, random_id de-duplication, keyboard limits, errors in HTTP 200
answers, Callback API events with "secret".
"""

import json
import os
import random
import re
import time

from fake_api_common import (Invalid, Provider, bearer, generic_answer, jdump,
                             jres, parse_body)


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
