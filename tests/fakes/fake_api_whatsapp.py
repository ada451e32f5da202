"""The fake WhatsApp Business Cloud API (channels.md §4): /messages
validation (text, interactive, templates), 4xx + error.code, and the
statuses webhook signed with X-Hub-Signature-256.
"""

import base64
import hashlib
import hmac
import os
import re
import time

from fake_api_common import (Invalid, Provider, bearer, generic_answer, jdump,
                             jres, parse_body)


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
