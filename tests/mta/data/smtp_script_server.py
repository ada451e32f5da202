#!/usr/bin/python3
"""A scripted SMTP server for the mta/ integration tests (loopback only).

usage: smtp_script_server.py CONFIG.json

CONFIG keys:
  mode      "aiosmtpd" (default): a real aiosmtpd server whose RCPT and DATA
            replies follow `rules`; or "raw": a bare asyncio server for
            misbehaviour aiosmtpd cannot script (greeting, stalls, drops).
  record    path of a JSON-lines file: one line per accepted message
            {"mail_from", "rcpt_tos", "data"} (data as latin-1 text).
  rules     [{"rcpt": regex, "stage": "rcpt"|"data", "reply": "550 5.1.1 no",
              "times": N}]  first match wins; times > 0: only the first N
            times this rule matches, later the rule is skipped.
  tls_cert, tls_key   enable STARTTLS (aiosmtpd mode).
  greeting  raw mode: the greeting line ("421 4.7.0 busy"); a 4xx/5xx
            greeting is followed by a close.
  stall     raw mode: "greeting" (say nothing) or "dot" (never answer the
            final dot).
  drop      raw mode: "data" closes the connection in the middle of the
            message content.
  pipelining  raw mode: offer PIPELINING and read the content line by line,
            so that commands pipelined after the final dot stay buffered;
            each final dot appends {"dot": n, "next_buffered": bool} to
            `record` (were more bytes already buffered when the dot was
            read: the client wrote the next commands with the content).
  dot_replies raw mode: the replies to the 1st, 2nd, ... final dot
            (default "250 2.0.0 OK"); a 421 reply is followed by a close.
Prints "READY <port>" once listening on 127.0.0.1.
"""
import asyncio
import json
import re
import ssl
import sys

cfg = json.load(open(sys.argv[1]))
rules = cfg.get("rules", [])
hits = [0] * len(rules)
record_path = cfg.get("record")


def rule_reply(stage, addr):
    for i, r in enumerate(rules):
        if r.get("stage", "rcpt") != stage or not re.search(r["rcpt"], addr):
            continue
        if r.get("times", 0) and hits[i] >= r["times"]:
            continue
        hits[i] += 1
        return r["reply"]
    return None


def record(mail_from, rcpts, data, peer="", helo=""):
    if record_path:
        with open(record_path, "a") as f:
            f.write(json.dumps({"mail_from": mail_from, "rcpt_tos": rcpts,
                                "data": data.decode("latin-1"),
                                "peer": peer, "helo": helo}) + "\n")


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = rule_reply("rcpt", address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        for a in envelope.rcpt_tos:
            reply = rule_reply("data", a)
            if reply:
                return reply
        record(envelope.mail_from, envelope.rcpt_tos, envelope.original_content or envelope.content,
               session.peer[0] if session.peer else "", session.host_name or "")
        return "250 2.0.0 OK queued"


async def raw_client(reader, writer):
    dots = 0
    try:
        if cfg.get("stall") == "greeting":
            await asyncio.sleep(3600)
        greeting = cfg.get("greeting", "220 raw.test ESMTP")
        writer.write((greeting + "\r\n").encode())
        await writer.drain()
        if greeting[0] in "45":
            writer.close()
            return
        while True:
            line = await reader.readline()
            if not line:
                return
            cmd = line.decode("latin-1").strip().upper()
            if cmd.startswith("EHLO"):
                pipe = b"250-PIPELINING\r\n" if cfg.get("pipelining") else b""
                writer.write(b"250-raw.test\r\n" + pipe + b"250-8BITMIME\r\n250 SIZE 1000000\r\n")
            elif cmd.startswith("HELO") or cmd.startswith("MAIL") or cmd.startswith("RCPT") or cmd.startswith("RSET"):
                writer.write(b"250 2.0.0 OK\r\n")
            elif cmd == "DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                if cfg.get("drop") == "data":
                    await reader.read(10)
                    writer.close()
                    return
                if cfg.get("pipelining"):
                    while True:
                        content = await reader.readline()
                        if not content:
                            return
                        if content == b".\r\n":
                            break
                    # asyncio keeps what it read past the dot in its buffer.
                    buffered = len(reader._buffer) > 0
                    replies = cfg.get("dot_replies", [])
                    reply = replies[dots] if dots < len(replies) else "250 2.0.0 OK"
                    with open(record_path, "a") as f:
                        f.write(json.dumps({"dot": dots, "next_buffered": buffered}) + "\n")
                    dots += 1
                    writer.write((reply + "\r\n").encode())
                    await writer.drain()
                    if reply.startswith("421"):
                        writer.close()
                        return
                    continue
                buf = b""
                while not buf.endswith(b"\r\n.\r\n"):
                    chunk = await reader.read(65536)
                    if not chunk:
                        return
                    buf += chunk
                if cfg.get("stall") == "dot":
                    await asyncio.sleep(3600)
                writer.write(b"250 2.0.0 OK\r\n")
            elif cmd == "QUIT":
                writer.write(b"221 2.0.0 bye\r\n")
                await writer.drain()
                writer.close()
                return
            else:
                writer.write(b"502 5.5.2 unknown\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass


async def main():
    loop = asyncio.get_running_loop()
    if cfg.get("mode") == "raw":
        server = await asyncio.start_server(raw_client, "127.0.0.1", 0)
    else:
        from aiosmtpd.smtp import SMTP
        tls = None
        if cfg.get("tls_cert"):
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(cfg["tls_cert"], cfg["tls_key"])
        handler = Handler()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="script.test", enable_SMTPUTF8=True,
                         decode_data=False, tls_context=tls, require_starttls=False),
            "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
