#!/usr/bin/python3
"""A real SMTP client (smtplib) for tests/integration/feedback_test.cpp: one
transaction into vestnik's listener on loopback, each step's reply recorded.

usage: feedback_smtp.py PORT MAIL_FROM RCPT[,RCPT...] FILE [--declare-size]

MAIL_FROM "" is the null sender (MAIL FROM:<>), as bounces and reports use.
FILE is the message (any line endings; smtplib sends CRLF and dot-stuffs).
--declare-size adds SIZE=<bytes of FILE> to MAIL FROM.
Prints one JSON line: {"mail": [code, text], "rcpt": [[code, text], ...],
"data": [code, text] or null, "noop": [code, text] or null, "error": text
or null}. "noop" is the reply to a NOOP after the transaction: the session
is still usable. Exits 0 whatever the server said (the test judges); every
socket operation has a 20 s timeout.
"""
import json
import smtplib
import sys


def text(msg):
    return msg.decode("latin-1") if isinstance(msg, bytes) else str(msg)


def main():
    port, mail_from, rcpts, path = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4]
    declare = "--declare-size" in sys.argv[5:]
    with open(path, "rb") as f:
        data = f.read()
    out = {"mail": None, "rcpt": [], "data": None, "noop": None, "error": None}
    try:
        s = smtplib.SMTP("127.0.0.1", int(port), local_hostname="reporter.example.net", timeout=20)
        try:
            s.ehlo()
            opts = ["SIZE=%d" % len(data)] if declare else []
            code, msg = s.mail(mail_from, opts)
            out["mail"] = [code, text(msg)]
            accepted = 0
            if code == 250:
                for r in rcpts:
                    code, msg = s.rcpt(r)
                    out["rcpt"].append([code, text(msg)])
                    accepted += code in (250, 251)
            if accepted:
                # data() raises on a non-354 answer to DATA; the final reply
                # is returned whatever its code.
                code, msg = s.data(data)
                out["data"] = [code, text(msg)]
            else:
                s.rset()
            code, msg = s.noop()
            out["noop"] = [code, text(msg)]
            s.quit()
        finally:
            s.close()
    except (smtplib.SMTPException, OSError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(out), flush=True)


main()
