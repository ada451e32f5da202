#!/usr/bin/python3
"""dkimpy verification for tests/integration/dkim_verifiers_itest.cpp.

Usage: dkim_check.py MANIFEST.json

The manifest is {"dir": "/tmp/...", "keys": {"sel._domainkey.dom": "v=DKIM1; k=...; p=..."},
"files": ["a.eml", ...]}. Every DKIM-Signature of every file is verified with
dkim.DKIM(message).verify(idx=i, dnsfunc=...), the DNS lookups served from
"keys" (dkimpy asks for b"sel._domainkey.dom." with the trailing dot). One
JSON object per file is printed on its own line:

  {"file": "a.eml", "count": 2,
   "results": [{"idx": 0, "s": "ed1", "a": "ed25519-sha256", "pass": true, "error": ""}, ...]}

An exception from dkimpy (a malformed or truncated signature makes PyNaCl
raise ValueError, a bad tag makes dkimpy raise ValidationError) counts as a
failure with its text in "error". Uses only dkimpy and the standard library;
no DNS, no network.
"""
import json
import logging
import os
import sys

import dkim


def main():
    with open(sys.argv[1], "rb") as f:
        manifest = json.load(f)
    keys = {}
    for name, value in manifest["keys"].items():
        keys[name.lower().rstrip(".").encode() + b"."] = value.encode()

    def dnsfunc(name, timeout=5):
        return keys.get(name.lower())

    quiet = logging.getLogger("dkim_check")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    for file in manifest["files"]:
        with open(os.path.join(manifest["dir"], file), "rb") as f:
            msg = f.read()
        out = {"file": file, "results": []}
        try:
            d = dkim.DKIM(msg, logger=quiet)
            count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
        except Exception as e:  # noqa: BLE001 - reported, the C++ side fails on it
            out["count"] = 0
            out["error"] = f"{type(e).__name__}: {e}"
            print(json.dumps(out), flush=True)
            continue
        out["count"] = count
        for idx in range(count):
            r = {"idx": idx, "s": "", "a": "", "pass": False, "error": ""}
            d = dkim.DKIM(msg, logger=quiet)
            try:
                r["pass"] = bool(d.verify(idx=idx, dnsfunc=dnsfunc))
            except Exception as e:  # noqa: BLE001
                r["error"] = f"{type(e).__name__}: {e}"
            r["s"] = d.signature_fields.get(b"s", b"").decode(errors="replace")
            r["a"] = d.signature_fields.get(b"a", b"").decode(errors="replace")
            out["results"].append(r)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
