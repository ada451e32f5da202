#!/usr/bin/python3
"""A small authoritative DNS server for the mta/ DNS integration tests.

Serves the records of a zone file over UDP and TCP on 127.0.0.1 (one port
for both), prints "READY <port>" on stdout once both listen, and appends one
line per query received to the log file: "<name> <TYPE> <udp|tcp>" (name
lowercase, no trailing dot), so tests can count queries.

Usage: dns_server.py --zone FILE --log FILE [--port N]

The zone file holds records in zone-file syntax, one per line, absolute
names ("mx.test. 300 IN MX 10 a.mx.test."), parsed by dnslib, plus
directives that script misbehaviour, one per line:
  !servfail NAME    answer SERVFAIL to every query for NAME
  !refused NAME     answer REFUSED
  !drop NAME        never answer (the client times out)
  !delay NAME MS    answer after MS milliseconds
  !glue NAME        MX answers for NAME carry the targets' A/AAAA records in
                    the additional section
A name that owns no record (and is not the parent of one) is NXDOMAIN; a
name that exists without records of the asked type is NODATA (NOERROR, no
answer). CNAMEs are followed inside the zone. Lines starting with ';' and
blank lines are ignored.
"""
import argparse
import sys
import threading
import time

from dnslib import QTYPE, RCODE, RR, DNSError
from dnslib.server import BaseResolver, DNSLogger, DNSServer


def norm(name):
    return str(name).lower().rstrip(".")


class ZoneResolver(BaseResolver):
    def __init__(self, records, directives, log_path):
        self.records = records          # list of dnslib RR
        self.directives = directives    # {"servfail": set(), "refused": set(), "drop": set(), "delay": {}, "glue": set()}
        self.log_path = log_path
        self.lock = threading.Lock()
        self.names = set()
        for rr in records:
            name = norm(rr.rname)
            # The owner and every parent exist (empty non-terminals are NODATA).
            labels = name.split(".")
            for i in range(len(labels)):
                self.names.add(".".join(labels[i:]))

    def log(self, qname, qtype, proto):
        with self.lock:
            with open(self.log_path, "a") as f:
                f.write("%s %s %s\n" % (qname, qtype, proto))
                f.flush()

    def find(self, name, rtype):
        return [rr for rr in self.records if norm(rr.rname) == name and rr.rtype == rtype]

    def resolve(self, request, handler):
        qname = norm(request.q.qname)
        qtype = request.q.qtype
        self.log(qname, QTYPE.get(qtype, str(qtype)), handler.protocol)
        d = self.directives
        if qname in d["drop"]:
            raise DNSError("dropped on purpose")
        if qname in d["delay"]:
            time.sleep(d["delay"][qname] / 1000.0)
        reply = request.reply()
        reply.header.aa = 1
        if qname in d["servfail"]:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if qname in d["refused"]:
            reply.header.rcode = RCODE.REFUSED
            return reply
        if qname not in self.names:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        name = qname
        for _ in range(8):  # CNAME chain, bounded
            answers = self.find(name, qtype)
            if answers:
                for rr in answers:
                    reply.add_answer(rr)
                break
            cnames = self.find(name, QTYPE.CNAME)
            if not cnames or qtype == QTYPE.CNAME:
                break
            reply.add_answer(cnames[0])
            name = norm(cnames[0].rdata.label)
        if qtype == QTYPE.MX and qname in d["glue"]:
            for rr in reply.rr:
                if rr.rtype != QTYPE.MX:
                    continue
                target = norm(rr.rdata.label)
                for t in (QTYPE.A, QTYPE.AAAA):
                    for g in self.find(target, t):
                        reply.add_ar(g)
        return reply


def load(path):
    records = []
    directives = {"servfail": set(), "refused": set(), "drop": set(), "delay": {}, "glue": set()}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            if line.startswith("!"):
                parts = line[1:].split()
                kind = parts[0]
                name = norm(parts[1])
                if kind == "delay":
                    directives["delay"][name] = int(parts[2])
                elif kind in directives:
                    directives[kind].add(name)
                else:
                    raise SystemExit("unknown directive: " + line)
                continue
            records.extend(RR.fromZone(line))
    return records, directives


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zone", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    records, directives = load(args.zone)
    resolver = ZoneResolver(records, directives, args.log)
    quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data",
                      logf=lambda s: None)

    # UDP first (on the given port or any), then TCP on the same number; if
    # that one is taken, try again with another port (bounded).
    for _ in range(20):
        udp = DNSServer(resolver, address="127.0.0.1", port=args.port, logger=quiet)
        port = udp.server.server_address[1]
        try:
            tcp = DNSServer(resolver, address="127.0.0.1", port=port, tcp=True, logger=quiet)
        except OSError:
            udp.server.server_close()
            if args.port:
                raise
            continue
        break
    else:
        raise SystemExit("no port free for both UDP and TCP")
    udp.start_thread()
    tcp.start_thread()
    print("READY %d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    main()
