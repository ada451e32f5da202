"""The fake Twilio Programmable Messaging API (channels.md §5b): Messages.json
with Basic auth, 201 / 4xx + code, num_segments by GSM-7/UCS-2, and
status callbacks signed with X-Twilio-Signature.
"""

import base64
import hashlib
import hmac
import os
import re
import time
import urllib.parse
from email.utils import formatdate

from fake_api_common import Invalid, Provider, generic_answer, jres, parse_body


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
