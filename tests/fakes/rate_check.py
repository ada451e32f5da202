#!/usr/bin/python3
"""Upper-bound rate check over the fake providers' stats JSON.

Given a key (bot token, Viber auth token, VK community token, WhatsApp
phone_number_id or Twilio account SID; "*" for all keys of a provider),
optionally one recipient, a limit per window and a burst allowance: did any
sliding window of `window` seconds hold more than limit + burst request
arrivals?  Windows are half-open [t, t + window) starting at each arrival,
which finds the densest window exactly.  Only the arrival times the fake
kept (--keep-times, last 100k by default) are checked.

Importable: check(stats, key, limit, window=1.0, burst=0, provider=None,
recipient=None) -> dict.  CLI: exit 0 within the limit, 1 exceeded,
2 on usage errors (unknown key, unreadable file).

  rate_check.py STATS.json --key TOKEN [--provider telegram]
      [--recipient 42] --limit 30 [--window 1] [--burst 0]
"""

import argparse
import json
import sys


def arrival_times(stats, key, provider=None, recipient=None):
    provs = stats["providers"]
    names = [provider] if provider else list(provs)
    times = []
    found = False
    for name in names:
        keys = provs.get(name, {}).get("keys", {})
        for k, ks in keys.items():
            if key != "*" and k != key:
                continue
            if recipient is None:
                found = True
                times += ks.get("times", [])
            elif recipient in ks.get("recipients", {}):
                found = True
                times += ks["recipients"][recipient].get("times", [])
    if not found:
        raise KeyError(f"no requests for key {key!r}" +
                       (f" recipient {recipient!r}" if recipient else ""))
    times.sort()
    return times


def densest(times, window):
    """(max arrivals in any half-open window, index of its first arrival)."""
    best, at, j = 0, 0, 0
    for i, t in enumerate(times):
        if j < i:
            j = i
        while j < len(times) and times[j] < t + window:
            j += 1
        if j - i > best:
            best, at = j - i, i
    return best, at


def check(stats, key, limit, window=1.0, burst=0, provider=None,
          recipient=None):
    times = arrival_times(stats, key, provider, recipient)
    best, at = densest(times, window)
    allowed = limit + burst
    return {"ok": best <= allowed, "max_in_window": best,
            "allowed": allowed, "window": window, "count": len(times),
            "window_start": times[at] if times else None}


def main(argv=None):
    ap = argparse.ArgumentParser(description="sliding-window rate check")
    ap.add_argument("stats")
    ap.add_argument("--key", required=True)
    ap.add_argument("--provider")
    ap.add_argument("--recipient")
    ap.add_argument("--limit", type=float, required=True)
    ap.add_argument("--window", type=float, default=1.0)
    ap.add_argument("--burst", type=float, default=0)
    a = ap.parse_args(argv)
    try:
        with open(a.stats) as f:
            stats = json.load(f)
        r = check(stats, a.key, a.limit, a.window, a.burst, a.provider,
                  a.recipient)
    except (OSError, ValueError, KeyError) as e:
        print(f"rate_check: {e}", file=sys.stderr)
        return 2
    print(f"{'OK' if r['ok'] else 'EXCEEDED'}: at most {r['max_in_window']} "
          f"requests in a {r['window']:g} s window (allowed "
          f"{r['allowed']:g}; {r['count']} requests checked)")
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
