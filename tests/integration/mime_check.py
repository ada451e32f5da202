#!/usr/bin/python3
"""Independent parser check for templating::compose (tests/integration/mime_python_test.cpp).

Reads every *.eml file in the directory given as argv[1] with Python's
email package (policy.default: the modern, strict header parser) and prints
one JSON object per file on its own line:

  {"file": "003.eml", "subject": ..., "from": [{"name":..., "address":...}],
   "to": [...], "reply_to": [...], "message_id": ..., "headers": {name: [raw values]},
   "content_type": ..., "parts": [{"content_type":..., "charset":..., "cte":...,
   "body": decoded text, "defects": [...]}], "defects": [...], "lines": {...}}

Defects are collected from the message, from every part, and from every
parsed header (policy.default records header parse problems on the header
objects, not on the message). Uses only the standard library; no network.

Each address also carries "rfc2047": the whole raw field decoded by the
legacy email.header.decode_header, which applies RFC 2047 section 6.2
(whitespace between adjacent encoded-words is dropped). policy.default in
Python 3.11 does not do that inside display names (CPython gh-128110, fixed
upstream in 2025): a name that needs several encoded-words comes back from it
with a space at each word boundary, so the C++ test checks such names against
"rfc2047" exactly and against policy.default modulo those spaces.
"""
import email
import email.policy
import json
import os
import re
import sys
from email.header import decode_header, make_header


def mailboxes(msg, raw_msg, name):
    header = msg[name]
    if header is None:
        return None
    raw = re.sub(r"\r?\n", "", raw_msg[name])
    rfc2047 = str(make_header(decode_header(raw)))
    return [{"name": a.display_name, "address": a.addr_spec, "rfc2047": rfc2047}
            for a in header.addresses]


def header_defects(msg):
    out = []
    for name, value in msg.items():
        for d in getattr(value, "defects", ()):
            out.append(f"{name}: {type(d).__name__}: {d}")
    return out


def line_stats(data):
    lines = data.split(b"\r\n")
    bare = data.count(b"\n") - data.count(b"\r\n") + data.count(b"\r") - data.count(b"\r\n")
    return {"max_line": max(len(l) for l in lines), "bare_cr_lf": bare,
            "ends_crlf": data.endswith(b"\r\n"), "eight_bit": any(b >= 0x80 for b in data)}


def check(path):
    with open(path, "rb") as f:
        data = f.read()
    msg = email.message_from_bytes(data, policy=email.policy.default)
    raw_msg = email.message_from_bytes(data, policy=email.policy.compat32)
    parts = []
    defects = [f"message: {type(d).__name__}: {d}" for d in msg.defects]
    defects += header_defects(msg)
    for part in msg.walk():
        if part is not msg:
            defects += [f"part: {type(d).__name__}: {d}" for d in part.defects]
            defects += header_defects(part)
        if part.is_multipart():
            continue
        parts.append({
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "cte": part.get("Content-Transfer-Encoding", ""),
            "body": part.get_content(),
        })
    return {
        "file": os.path.basename(path),
        "subject": msg["Subject"],
        "from": mailboxes(msg, raw_msg, "From"),
        "to": mailboxes(msg, raw_msg, "To"),
        "reply_to": mailboxes(msg, raw_msg, "Reply-To"),
        "message_id": msg["Message-ID"],
        "content_type": msg.get_content_type(),
        "headers": {k: [str(v) for v in msg.get_all(k)] for k in dict.fromkeys(msg.keys())},
        "header_names": list(msg.keys()),
        "parts": parts,
        "defects": defects,
        "lines": line_stats(data),
    }


def main():
    directory = sys.argv[1]
    for name in sorted(os.listdir(directory)):
        if name.endswith(".eml"):
            try:
                result = check(os.path.join(directory, name))
            except Exception as e:  # report, do not hide: the C++ side fails the case
                result = {"file": name, "error": f"{type(e).__name__}: {e}"}
            print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
