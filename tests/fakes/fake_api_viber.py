"""The fake Viber REST Bot API (channels.md §2): send_message validation
(keyboard "Type" mandatory, sizes), status codes in HTTP 200 answers,
message_token above 2^53, callbacks signed with X-Viber-Content-Signature.
"""

import hashlib
import hmac
import json
import random
import time

from fake_api_common import (Invalid, Provider, generic_answer, jdump, jres,
                             parse_body)
from fake_http import Response


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
