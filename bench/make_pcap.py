#!/usr/bin/env python3
"""Writes a synthetic but realistic HTTP/1.1 capture (Ethernet, usec pcap) for benchmarks.

Each session: 3-way handshake, 1-4 keep-alive requests with HTML/JSON/binary responses split in
1448-byte segments, client FIN. Payloads mix templated text and random bytes so that zstd ratios
resemble real web traffic (~3-6x). Deterministic for a given --seed.

usage: make_pcap.py OUT.pcap --mbytes 200 [--seed 1] [--rate 20000]
"""
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

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mbytes", type=float, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=20000, help="packets per second of capture time")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    limit = int(a.mbytes * 1e6)
    out = open(a.out, "wb")
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    written = 24
    t = 1_700_000_000.0
    dt = 1.0 / a.rate
    server = bytes([10, 200, 0, 2])
    sess = 0
    while written < limit:
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
            req = ("GET %s HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0 bench\r\n"
                   "Accept: */*\r\nCookie: session=%032x\r\n\r\n" % (path, rng.getrandbits(128))).encode()
            pkts.append((client, server, sport, 80, c, s, 0x18, req))
            c += len(req)
            n = int(rng.lognormvariate(8.5, 1.2)) + 50
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
