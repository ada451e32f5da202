#!/usr/bin/env python3
"""fake_smsc.py: a scripted SMPP 3.4 SMSC on loopback, for the SMS transport's
integration tests (tests/smpp/). Python 3 standard library only (asyncio).

Wire truth: shared/reference/channels.md §5a. Prints "READY <port>" on stdout
once it listens on 127.0.0.1 (port 0 = any free port, or --port).

What it does
  bind        bind_transceiver/transmitter/receiver checked against
              --system-id/--password (ESME_RINVSYSID 0x0F / ESME_RINVPASWD 0x0E).
  window      counts submit_sm not yet answered per connection (hung ones
              excluded) and records the maximum; above --window it answers
              ESME_RTHROTTLED and counts a window violation.
  tps         above --tps accepted submits in the last second (per bind) it
              answers ESME_RTHROTTLED (0x58) and counts it.
  responses   after --resp-delay-ms, so a window can fill up.
  DLRs        deliver_sm with esm_class 0x04, the text form
              "id:.. sub:001 dlvrd:001 submit date:.. done date:.. stat:.. err:.. text:.."
              and the TLVs receipted_message_id (0x001E), message_state
              (0x0427), network_error_code (0x0423); one per part. DLRs for a
              connection that is gone are kept and sent after the next bind.
  ids         decimal; with --hex-ids submit_sm_resp gives them in hex and
              the DLRs (text and TLV) in decimal, as some SMSCs do.
  enquire     answers enquire_link; sends its own every --enquire-interval s.
  probe       with --probe-unknown, sends a PDU with an unknown command id
              (0x00000099) after each bind and counts the generic_nacks back.
  UDH         reassembles concatenated parts (05 00 03 ref total seq and
              06 08 04 refhi reflo total seq) and records each message with
              its segment count and decoded text.

Script (--script, JSON): behaviour per destination_addr (digits, no '+'):
  {"default": {"action": "ok"},
   "destinations": {"380500000001": {"action": "ok", "dlr": "DELIVRD", "dlr_delay_ms": 50}, ...}}
  actions:
    ok            submit_sm_resp 0, then a DLR with stat "dlr" (default DELIVRD;
                  null: none; only when registered_delivery asks), "err"
                  (default "000"), "dlr_tlvs" (default true; false: text only)
    status        answer with command_status "status" (e.g. 11 = 0x0B)
    invalid_dest  answer ESME_RINVDSTADR (0x0B)
    throttle      answer 0x58 to the first "times" submits (default: all), then ok
    disconnect    once "after" submits for this destination arrived (answered
                  or not), close the connection without answering those still
                  pending; only the first time, later submits are "ok"
    hang          never answer

Stats (--stats FILE): JSON rewritten (to FILE.tmp, then renamed) on every
change: binds, bind_failures, connections, submits, throttled,
window_violations, max_window, enquire_links_received,
enquire_link_resps_received, deliver_sm_resps, generic_nacks_received,
unbinds, dlrs_sent,
messages: [{"dest", "segments", "data_coding", "text"}].
"""

import argparse
import asyncio
import collections
import json
import os
import signal
import struct
import sys
import time

GENERIC_NACK = 0x80000000
BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER = 0x01, 0x02, 0x09
SUBMIT_SM, DELIVER_SM, UNBIND, ENQUIRE_LINK = 0x04, 0x05, 0x06, 0x15
RESP = 0x80000000

ROK, RINVCMDID, RINVPASWD, RINVSYSID, RINVDSTADR, RTHROTTLED = 0x00, 0x03, 0x0E, 0x0F, 0x0B, 0x58
RINVBNDSTS = 0x04

STATES = {"ENROUTE": 1, "DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5,
          "ACCEPTD": 6, "UNKNOWN": 7, "REJECTD": 8}

# GSM 03.38 basic table (index = septet) and the extension table.
GSM_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
             "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXT = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~",
           0x3E: "]", 0x40: "|", 0x65: "€"}


def gsm_decode(data):
    out, esc = [], False
    for b in data:
        if esc:
            out.append(GSM_EXT.get(b, "?"))
            esc = False
        elif b == 0x1B:
            esc = True
        else:
            out.append(GSM_BASIC[b] if b < len(GSM_BASIC) else "?")
    return "".join(out)


def cstr(buf, pos, maxlen):
    end = buf.index(b"\0", pos, pos + maxlen)
    return buf[pos:end].decode("latin-1"), end + 1


def parse_sm(body):
    m, p = {}, 0
    m["service_type"], p = cstr(body, p, 6)
    m["source_addr_ton"], m["source_addr_npi"] = body[p], body[p + 1]
    p += 2
    m["source_addr"], p = cstr(body, p, 21)
    m["dest_addr_ton"], m["dest_addr_npi"] = body[p], body[p + 1]
    p += 2
    m["destination_addr"], p = cstr(body, p, 21)
    m["esm_class"], m["protocol_id"], m["priority_flag"] = body[p], body[p + 1], body[p + 2]
    p += 3
    m["schedule_delivery_time"], p = cstr(body, p, 17)
    m["validity_period"], p = cstr(body, p, 17)
    (m["registered_delivery"], m["replace_if_present_flag"], m["data_coding"],
     m["sm_default_msg_id"], sm_length) = body[p:p + 5]
    p += 5
    m["short_message"] = body[p:p + sm_length]
    if len(m["short_message"]) != sm_length:
        raise ValueError("sm_length beyond the PDU")
    return m


def c(s):
    return s.encode("latin-1") + b"\0"


def tlv(tag, value):
    return struct.pack(">HH", tag, len(value)) + value


class Smsc:
    def __init__(self, args):
        self.args = args
        self.script = {"default": {"action": "ok"}, "destinations": {}}
        if args.script:
            with open(args.script) as f:
                self.script.update(json.load(f))
        self.stats = {"binds": 0, "bind_failures": 0, "connections": 0, "submits": 0,
                      "throttled": 0, "window_violations": 0, "max_window": 0,
                      "enquire_links_received": 0, "enquire_link_resps_received": 0,
                      "deliver_sm_resps": 0, "generic_nacks_received": 0, "unbinds": 0, "dlrs_sent": 0, "messages": []}
        self.next_id = 1000000
        self.dest_counts = collections.Counter()
        self.fired = set()  # disconnect scripts already used
        self.parts = {}      # (dest, ref, total) -> {seq: text}
        self.pending_dlrs = []  # DLR PDU builders waiting for a bound connection
        self.conns = set()
        self.tasks = set()  # DLRs outlive the connection they were due on
        self.dump()

    def dump(self):
        if not self.args.stats:
            return
        tmp = self.args.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.stats, f)
        os.replace(tmp, self.args.stats)

    def spawn(self, coro):
        t = asyncio.ensure_future(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    async def send_dlr(self, body, delay):
        # Any bound connection will do, as for a real SMSC; none: keep it
        # for the next bind.
        if delay:
            await asyncio.sleep(delay)
        conn = next((x for x in self.conns if x.bound and not x.closed), None)
        if conn is None:
            self.pending_dlrs.append(body)
            return
        self.stats["dlrs_sent"] += 1
        self.dump()
        await conn.send(DELIVER_SM, 0, conn.next_seq(), body)

    def rule(self, dest):
        return self.script.get("destinations", {}).get(dest, self.script.get("default", {"action": "ok"}))

    def record_message(self, sm):
        data, dc = sm["short_message"], sm["data_coding"]
        dest = sm["destination_addr"]
        ref = total = seq = None
        if sm["esm_class"] & 0x40 and data:
            udhl = data[0]
            udh, data = data[1:1 + udhl], data[1 + udhl:]
            i = 0
            while i + 1 < len(udh):
                iei, ln = udh[i], udh[i + 1]
                v = udh[i + 2:i + 2 + ln]
                if iei == 0x00 and ln == 3:
                    ref, total, seq = v[0], v[1], v[2]
                elif iei == 0x08 and ln == 4:
                    ref, total, seq = (v[0] << 8) | v[1], v[2], v[3]
                i += 2 + ln
        text = data.decode("utf-16-be", "replace") if dc == 0x08 else gsm_decode(data)
        if ref is None or total is None or total <= 1:
            self.stats["messages"].append({"dest": dest, "segments": 1, "data_coding": dc, "text": text})
            return
        key = (dest, ref, total)
        got = self.parts.setdefault(key, {})
        got[seq] = text
        if len(got) == total:
            del self.parts[key]
            self.stats["messages"].append({"dest": dest, "segments": total, "data_coding": dc,
                                           "text": "".join(got[k] for k in sorted(got))})

    def dlr_pdu(self, msg_id, sm, stat, err, with_tlvs):
        now = time.strftime("%y%m%d%H%M", time.gmtime())
        done = time.strftime("%y%m%d%H%M%S", time.gmtime())
        shown = str(msg_id)  # decimal even with --hex-ids, as some SMSCs do
        text = ("id:%s sub:001 dlvrd:%s submit date:%s done date:%s stat:%s err:%s Text:%s" %
                (shown.zfill(10), "001" if stat == "DELIVRD" else "000", now, done, stat, err,
                 gsm_decode(sm["short_message"][-20:]) if sm["data_coding"] == 0 else ""))
        text_b = text.encode("latin-1", "replace")[:254]
        body = (c("") + bytes([1, 1]) + c(sm["destination_addr"]) + bytes([sm["source_addr_ton"],
                sm["source_addr_npi"]]) + c(sm["source_addr"]) + bytes([0x04, 0, 0]) + c("") + c("") +
                bytes([0, 0, 0, 0, len(text_b)]) + text_b)
        if with_tlvs:
            code = int(err) if err.isdigit() else 0
            body += tlv(0x001E, c(shown)) + tlv(0x0427, bytes([STATES.get(stat, 7)])) + \
                tlv(0x0423, bytes([3]) + struct.pack(">H", code & 0xFFFF))
        return body


class Conn:
    def __init__(self, smsc, reader, writer):
        self.smsc, self.reader, self.writer = smsc, reader, writer
        self.lock = asyncio.Lock()
        self.bound = False
        self.outstanding = 0
        self.accepted_times = collections.deque()
        self.seq = 0x10000
        self.closed = False
        self.tasks = set()

    def spawn(self, coro):
        t = asyncio.ensure_future(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    async def send(self, cmd, status, seq, body=b""):
        if self.closed:
            return
        async with self.lock:
            try:
                self.writer.write(struct.pack(">IIII", 16 + len(body), cmd, status, seq) + body)
                await self.writer.drain()
            except (ConnectionError, RuntimeError):
                self.close()

    def next_seq(self):
        self.seq += 1
        return self.seq

    def close(self):
        if not self.closed:
            self.closed = True
            self.writer.close()
            self.smsc.conns.discard(self)

    async def respond(self, seq, status, msg_id, delay):
        if delay:
            await asyncio.sleep(delay)
        if self.closed:
            return
        self.outstanding -= 1
        body = b"" if status else c(msg_id)
        await self.send(SUBMIT_SM | RESP, status, seq, body)

    async def enquirer(self):
        while not self.closed and self.smsc.args.enquire_interval > 0:
            await asyncio.sleep(self.smsc.args.enquire_interval)
            if self.bound and not self.closed:
                await self.send(ENQUIRE_LINK, 0, self.next_seq())

    async def on_submit(self, seq, body):
        s, a = self.smsc, self.smsc.args
        try:
            sm = parse_sm(body)
        except (ValueError, IndexError):
            await self.send(GENERIC_NACK, 0x02, seq)
            return
        s.stats["submits"] += 1
        dest = sm["destination_addr"]
        s.dest_counts[dest] += 1
        rule = s.rule(dest)
        action = rule.get("action", "ok")
        delay = a.resp_delay_ms / 1000.0
        if action == "hang":
            s.dump()
            return
        self.outstanding += 1
        s.stats["max_window"] = max(s.stats["max_window"], self.outstanding)
        if action == "disconnect" and dest not in s.fired and s.dest_counts[dest] >= rule.get("after", 1):
            s.fired.add(dest)
            s.dump()
            # Let the window fill (and earlier answers go out), then drop.
            await asyncio.sleep(delay)
            self.close()
            return
        if a.window and self.outstanding > a.window:
            s.stats["window_violations"] += 1
            s.stats["throttled"] += 1
            s.dump()
            self.spawn(self.respond(seq, RTHROTTLED, "", 0))
            return
        now = time.monotonic()
        while self.accepted_times and now - self.accepted_times[0] >= 1.0:
            self.accepted_times.popleft()
        if a.tps and len(self.accepted_times) >= a.tps:
            s.stats["throttled"] += 1
            s.dump()
            self.spawn(self.respond(seq, RTHROTTLED, "", delay))
            return
        status = ROK
        if action == "status":
            status = int(rule.get("status", 8))
        elif action == "invalid_dest":
            status = RINVDSTADR
        elif action == "throttle":
            times = rule.get("times")
            if times is None or s.dest_counts[dest] <= times:
                status = RTHROTTLED
                s.stats["throttled"] += 1
        if status != ROK:
            s.dump()
            self.spawn(self.respond(seq, status, "", delay))
            return
        self.accepted_times.append(now)
        msg_id = s.next_id
        s.next_id += 1
        s.record_message(sm)
        s.dump()
        shown = format(msg_id, "x") if a.hex_ids else str(msg_id)
        self.spawn(self.respond(seq, ROK, shown, delay))
        stat = rule.get("dlr", "DELIVRD")
        if stat and sm["registered_delivery"] & 0x03:
            dlr = s.dlr_pdu(msg_id, sm, stat, rule.get("err", "000"), rule.get("dlr_tlvs", True))
            s.spawn(s.send_dlr(dlr, delay + rule.get("dlr_delay_ms", 20) / 1000.0))

    async def on_bind(self, cmd, seq, body):
        s = self.smsc
        p = 0
        system_id, p = cstr(body, p, 16)
        password, p = cstr(body, p, 9)
        status = ROK
        if system_id != s.args.system_id:
            status = RINVSYSID
        elif password != s.args.password:
            status = RINVPASWD
        if status:
            s.stats["bind_failures"] += 1
            s.dump()
            await self.send(cmd | RESP, status, seq)
            return
        self.bound = True
        s.stats["binds"] += 1
        s.dump()
        await self.send(cmd | RESP, ROK, seq, c("fakesmsc"))
        if s.args.probe_unknown:
            await self.send(0x00000099, 0, self.next_seq())
        pending, s.pending_dlrs = s.pending_dlrs, []
        for body in pending:
            s.spawn(s.send_dlr(body, 0))

    async def run(self):
        s = self.smsc
        s.stats["connections"] += 1
        s.conns.add(self)
        s.dump()
        self.spawn(self.enquirer())
        try:
            while not self.closed:
                head = await self.reader.readexactly(16)
                length, cmd, status, seq = struct.unpack(">IIII", head)
                if length < 16 or length > 65536:
                    await self.send(GENERIC_NACK, 0x02, seq)
                    break
                body = await self.reader.readexactly(length - 16)
                if cmd in (BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER):
                    await self.on_bind(cmd, seq, body)
                elif not self.bound and cmd in (SUBMIT_SM, ENQUIRE_LINK, UNBIND):
                    await self.send(cmd | RESP, RINVBNDSTS, seq)
                elif cmd == SUBMIT_SM:
                    await self.on_submit(seq, body)
                elif cmd == ENQUIRE_LINK:
                    s.stats["enquire_links_received"] += 1
                    s.dump()
                    await self.send(ENQUIRE_LINK | RESP, 0, seq)
                elif cmd == ENQUIRE_LINK | RESP:
                    s.stats["enquire_link_resps_received"] += 1
                    s.dump()
                elif cmd == DELIVER_SM | RESP:
                    s.stats["deliver_sm_resps"] += 1
                    s.dump()
                elif cmd == UNBIND:
                    s.stats["unbinds"] += 1
                    s.dump()
                    await self.send(UNBIND | RESP, 0, seq)
                    break
                elif cmd == GENERIC_NACK:
                    s.stats["generic_nacks_received"] += 1
                    s.dump()
                elif cmd & RESP:
                    pass
                else:
                    await self.send(GENERIC_NACK, RINVCMDID, seq)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.close()
            for t in list(self.tasks):
                if t is not asyncio.current_task():
                    t.cancel()


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--system-id", default="vestnik")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--script")
    ap.add_argument("--stats")
    ap.add_argument("--window", type=int, default=0, help="max unanswered submits (0: no limit)")
    ap.add_argument("--tps", type=int, default=0, help="accepted submits per second per bind (0: no cap)")
    ap.add_argument("--resp-delay-ms", type=int, default=0)
    ap.add_argument("--enquire-interval", type=float, default=0)
    ap.add_argument("--hex-ids", action="store_true")
    ap.add_argument("--probe-unknown", action="store_true")
    args = ap.parse_args()

    smsc = Smsc(args)

    async def on_client(reader, writer):
        await Conn(smsc, reader, writer).run()

    server = await asyncio.start_server(on_client, "127.0.0.1", args.port)
    port = server.sockets[0].getsockname()[1]
    print("READY %d" % port, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, smsc.dump)
    await stop.wait()
    server.close()
    for conn in list(smsc.conns):
        conn.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    sys.exit(0)
