#!/usr/bin/env python3
"""Timing fidelity of a 1x replay, for bench/replay_bench.sh: prints markdown tables.

usage: replay_timing.py RECORDED.pcap SYNS.pcap LOOPS REPORT.json

RECORDED.pcap is the replayed capture; SYNS.pcap the SYNs captured on the target's interface
during a `tcpreplay2 --speed 1x --loop LOOPS` run; REPORT.json its --report. The k-th captured
start (first SYN of each client endpoint) is matched to the k-th scheduled one: copy 0 of session
s in loop l is due at l * span + offset(s) after the run's start (docs/replay.md, "Scheduling"),
and at 1x the starts are far enough apart to keep their order. The capture's clock is not the
replayer's, so lateness here is relative to the earliest start; the report's histogram
(start_lateness_us) is the absolute one. Drift: per-loop medians, and the median lateness of the
last starts minus that of the first ones.
"""
import json
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        magic = struct.unpack("<I", f.read(24)[:4])[0]
        nano = magic == 0xA1B23C4D
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, caplen, _ = struct.unpack("<IIII", h)
            data = f.read(caplen)
            yield sec * 1_000_000_000 + frac * (1 if nano else 1000), data


def syn(data):
    """(client address, port) of a pure SYN to port 80 in an Ethernet/IPv4 frame, else None."""
    if len(data) < 54 or data[12:14] != b"\x08\x00":
        return None
    tcp = data[14 + (data[14] & 15) * 4:]
    if tcp[13] & 0x12 != 0x02 or struct.unpack("!H", tcp[2:4])[0] != 80:
        return None
    return data[26:30], struct.unpack("!H", tcp[0:2])[0]


def pct(v, p):
    """Nearest-rank percentile of a sorted list."""
    rank = -(-int(p * len(v) * 1000) // 1000)
    return v[min(len(v) - 1, max(0, rank - 1))]


def main():
    rec, syns, loops, report = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    late = json.load(open(report)).get("start_lateness_us", {})
    times = [t for t, _ in packets(rec)]
    first, span = min(times), max(times) - min(times)
    offsets = sorted(t - first for t, d in packets(rec) if syn(d))
    scheduled = [l * span + o for l in range(loops) for o in offsets]
    seen, actual = set(), []
    for t, d in packets(syns):
        k = syn(d)
        if k and k not in seen:  # a retransmitted SYN is not a new start
            seen.add(k)
            actual.append(t)
    n = min(len(actual), len(scheduled))
    if n == 0:
        print("no start captured")
        return
    diff = [actual[i] - scheduled[i] for i in range(n)]
    base = min(diff)
    rel = sorted(d - base for d in diff)

    print("| measured by | starts | p50 | p99 | p99.9 | max | p99 < 1 ms |")
    print("|---|---|---|---|---|---|---|")
    print("| tcpreplay2's report: SYN sent vs its scheduled time (absolute) | %d | %.0f µs | "
          "%.0f µs | %.0f µs | %.0f µs | %s |"
          % (late.get("count", 0), late.get("p50", 0), late.get("p99", 0), late.get("p999", 0),
             late.get("max", 0), "yes" if late.get("p99", 1e9) < 1000 else "**no**"))
    print("| SYNs captured on the target's veth, relative to the earliest start | %d of %d | "
          "%.0f µs | %.0f µs | %.0f µs | %.0f µs | %s |"
          % (n, len(scheduled), pct(rel, .5) / 1e3, pct(rel, .99) / 1e3, pct(rel, .999) / 1e3,
             rel[-1] / 1e3, "yes" if pct(rel, .99) < 1e6 else "**no**"))
    print()
    per = len(offsets)
    print("| loop (%.1f s each) | " % (span / 1e9) + " | ".join(str(l + 1) for l in range(loops))
          + " |")
    print("|---|" + "---|" * loops)
    med, p99 = [], []
    for l in range(loops):
        v = sorted(d - base for d in diff[l * per:(l + 1) * per])
        med.append("%.0f" % (pct(v, .5) / 1e3) if v else "-")
        p99.append("%.0f" % (pct(v, .99) / 1e3) if v else "-")
    print("| median lateness, µs (captured) | " + " | ".join(med) + " |")
    print("| p99 lateness, µs (captured) | " + " | ".join(p99) + " |")
    k = max(1, min(200, n // 10))
    first_m = sorted(diff[:k])[k // 2]
    last_m = sorted(diff[-k:])[k // 2]
    print()
    print("Drift: median lateness of the last %d starts minus that of the first %d, %.1f min "
          "apart: **%+.0f µs**." % (k, k, (scheduled[n - 1] - scheduled[0]) / 60e9,
                                    (last_m - first_m) / 1e3))


if __name__ == "__main__":
    main()
