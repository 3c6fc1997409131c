#!/usr/bin/env python3
"""Writes a synthetic but realistic HTTP/1.1 capture (Ethernet, usec pcap) for benchmarks.

Each session: 3-way handshake, 1-4 keep-alive requests with HTML/JSON/binary responses split in
1448-byte segments, client FIN. Payloads mix templated text and random bytes so that zstd ratios
resemble real web traffic (~3-6x). Deterministic for a given --seed.

usage: make_pcap.py OUT.pcap --mbytes 200 [--seed 1] [--rate 20000] [--seconds S] [--www DIR]
       [--body N]
       make_pcap.py OUT.pcap --idle-sessions N --idle S --spread T [--delay D]

--www DIR: request paths are /f/SIZE (body sizes rounded to 2 significant digits) and DIR/f/SIZE
is written with SIZE bytes, so a web server rooted at DIR answers every request with at least
the recorded number of bytes (the replay benchmark's target). --seconds S: stop after S seconds
of capture time (instead of, or before, --mbytes). --body N: every answer body is N bytes
(default: sizes of a web page's mix, log-normal around 5 kB).
--idle-sessions N: instead, N sessions starting evenly over T seconds, each GET /small, then
idle S seconds, GET /small again, then FIN (the replay benchmark's concurrency capture); with
--delay D a lone SYN (a session without data) opens the capture D seconds before the others.
"""
import os
import argparse
import random
import struct

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                      flags, 64240, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + tcp

WORDS = ("the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet consectetur "
         "adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua "
         "div span class href src script style json user id name value items total page").split()

def body(rng, n):
    kind = rng.random()
    if kind < 0.5:   # html-ish text
        parts = []
        size = 0
        while size < n:
            w = '<div class="%s">%s %d</div>\n' % (rng.choice(WORDS), " ".join(rng.choices(WORDS, k=8)), rng.randrange(100000))
            parts.append(w)
            size += len(w)
        return "".join(parts).encode()[:n]
    if kind < 0.8:   # json
        parts = []
        size = 0
        while size < n:
            w = '{"id":%d,"name":"%s","score":%.3f,"tags":["%s","%s"]},' % (
                rng.randrange(10**6), rng.choice(WORDS), rng.random(), rng.choice(WORDS), rng.choice(WORDS))
            parts.append(w)
            size += len(w)
        return "".join(parts).encode()[:n]
    return rng.randbytes(n)  # images, compressed assets

HTTP_DATE = "Tue, 14 Nov 2023 22:13:20 GMT"  # nginx's dates are always this long

def round2(n):
    """n rounded to 2 significant digits (so a few hundred distinct sizes cover every body)."""
    digits = len(str(n))
    unit = 10 ** max(digits - 2, 0)
    return max(unit, (n + unit // 2) // unit * unit)

def write_file(www, n):
    path = os.path.join(www, "f", str(n))
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write((b"0123456789abcdef" * (n // 16 + 1))[:n])

def write_packets(out, timed):
    """timed: (time, packet tuple) pairs, written in time order."""
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    for t, p in sorted(timed, key=lambda x: x[0]):
        f = frame(*p)
        sec = int(t)
        out.write(struct.pack("<IIII", sec, int(round((t - sec) * 1e6)) % 1000000, len(f), len(f)) + f)

def idle_sessions(a):
    """Sessions that stay open and idle: the replay benchmark's concurrency capture."""
    rng = random.Random(a.seed)
    server = bytes([10, 200, 0, 2])
    req = b"GET /small HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
    resp = ("HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: %s\r\nContent-Type: text/plain\r\n"
            "Content-Length: 15\r\nConnection: keep-alive\r\n\r\nsmall response\n"
            % HTTP_DATE).encode()
    rtt = 0.0002
    t_first = 1_700_000_000.0
    timed = []
    if a.delay > 0:
        # A lone SYN (a session without data: replayed as a handshake and a FIN) marks the
        # capture's start, so a replay begins with `delay` seconds of (almost) no session.
        timed.append((t_first, (bytes([10, 100, 255, 254]), server, 1024, 80, 1, 0, 0x02, b"")))
        t_first += a.delay
    for i in range(a.idle_sessions):
        client = bytes([10, 100, (i // 250) & 0xFF, 1 + i % 250])
        sport = 20000 + (i * 13) % 40000
        t = t_first + a.spread * i / a.idle_sessions
        c = rng.randrange(2**32)
        s = rng.randrange(2**32)
        pk = [(0, (client, server, sport, 80, c, 0, 0x02, b"")),
              (rtt, (server, client, 80, sport, s, c + 1, 0x12, b"")),
              (rtt, (client, server, sport, 80, c + 1, s + 1, 0x10, b""))]
        c += 1
        s += 1
        for k in range(2):
            pk.append((a.idle if k else 0.001, (client, server, sport, 80, c, s, 0x18, req)))
            c += len(req)
            pk.append((rtt, (server, client, 80, sport, s, c, 0x18, resp)))
            s += len(resp)
            pk.append((rtt, (client, server, sport, 80, c, s, 0x10, b"")))
        pk += [(0.001, (client, server, sport, 80, c, s, 0x11, b"")),
               (rtt, (server, client, 80, sport, s, c + 1, 0x11, b"")),
               (rtt, (client, server, sport, 80, c + 1, s + 1, 0x10, b""))]
        for dt, p in pk:
            t += dt
            timed.append((t, p))
    with open(a.out, "wb") as out:
        write_packets(out, timed)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mbytes", type=float, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=20000, help="packets per second of capture time")
    ap.add_argument("--seconds", type=float, default=0, help="stop after this much capture time")
    ap.add_argument("--www", help="sized paths /f/SIZE, files written under this directory")
    ap.add_argument("--body", type=int, default=0, help="every answer body this long (0: mixed)")
    ap.add_argument("--idle-sessions", type=int, default=0)
    ap.add_argument("--idle", type=float, default=60, help="idle seconds inside each idle session")
    ap.add_argument("--spread", type=float, default=10, help="idle sessions start over this time")
    ap.add_argument("--delay", type=float, default=0, help="idle sessions start this late")
    a = ap.parse_args()
    if a.idle_sessions:
        idle_sessions(a)
        return
    if a.www:
        os.makedirs(os.path.join(a.www, "f"), exist_ok=True)
    rng = random.Random(a.seed)
    limit = int(a.mbytes * 1e6)
    out = open(a.out, "wb")
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    written = 24
    t = 1_700_000_000.0
    dt = 1.0 / a.rate
    server = bytes([10, 200, 0, 2])
    sess = 0
    while written < limit and (a.seconds <= 0 or t - 1_700_000_000.0 < a.seconds):
        sess += 1
        client = bytes([10, 100, (sess >> 8) & 0xFF, 1 + (sess & 0x7F)])
        sport = 1024 + (sess * 7) % 60000
        cseq = rng.randrange(2**32)
        sseq = rng.randrange(2**32)
        pkts = [(client, server, sport, 80, cseq, 0, 0x02, b""),
                (server, client, 80, sport, sseq, cseq + 1, 0x12, b""),
                (client, server, sport, 80, cseq + 1, sseq + 1, 0x10, b"")]
        c, s = cseq + 1, sseq + 1
        for _ in range(rng.randrange(1, 5)):
            path = "/%s/%s?id=%d" % (rng.choice(WORDS), rng.choice(WORDS), rng.randrange(10**6))
            cookie = rng.getrandbits(128)
            n = a.body if a.body > 0 else int(rng.lognormvariate(8.5, 1.2)) + 50
            if a.www:
                n = round2(n)
                path = "/f/%d" % n
                write_file(a.www, n)
            req = ("GET %s HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0 bench\r\n"
                   "Accept: */*\r\nCookie: session=%032x\r\n\r\n" % (path, cookie)).encode()
            pkts.append((client, server, sport, 80, c, s, 0x18, req))
            c += len(req)
            if a.www:  # as long as nginx's own answer for that file (dates have a fixed length)
                resp = ("HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: %s\r\n"
                        "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n"
                        "Last-Modified: %s\r\nConnection: keep-alive\r\nETag: \"%x-%x\"\r\n"
                        "Accept-Ranges: bytes\r\n\r\n" % (HTTP_DATE, n, HTTP_DATE, int(t), n)
                        ).encode() + body(rng, n)
            else:
                resp = ("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n"
                        "Content-Length: %d\r\n\r\n" % n).encode() + body(rng, n)
            for off in range(0, len(resp), 1448):
                seg = resp[off:off + 1448]
                pkts.append((server, client, 80, sport, s, c, 0x18 if off + 1448 >= len(resp) else 0x10, seg))
                s += len(seg)
                if (off // 1448) % 2 == 1:
                    pkts.append((client, server, sport, 80, c, s, 0x10, b""))
            pkts.append((client, server, sport, 80, c, s, 0x10, b""))
        pkts += [(client, server, sport, 80, c, s, 0x11, b""),
                 (server, client, 80, sport, s, c + 1, 0x11, b""),
                 (client, server, sport, 80, c + 1, s + 1, 0x10, b"")]
        for p in pkts:
            f = frame(*p)
            t += dt
            sec = int(t)
            out.write(struct.pack("<IIII", sec, int((t - sec) * 1e6), len(f), len(f)) + f)
            written += 16 + len(f)
    out.close()

if __name__ == "__main__":
    main()
