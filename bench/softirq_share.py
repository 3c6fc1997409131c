#!/usr/bin/env python3
"""Per process name: CPU samples of a `perf record -g` profile and the share of them spent in
softirq packet processing (a handle_softirqs / __do_softirq frame in the call chain).

On veths a packet is received in the sender's context, so that share is mostly the receiving
host's work (its TCP stack, a capture on it) charged to the sender; on separate machines it
would run there. usage: softirq_share.py perf.data [COMM...]   prints "comm samples share%"
"""
import subprocess
import sys

SOFTIRQ = {"handle_softirqs", "__do_softirq", "do_softirq"}

def main():
    data = sys.argv[1]
    wanted = set(sys.argv[2:])
    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,ip,sym"], capture_output=True,
                         text=True, check=True).stdout
    totals, soft = {}, {}
    comm, in_softirq = None, False

    def close():
        if comm is not None:
            totals[comm] = totals.get(comm, 0) + 1
            soft[comm] = soft.get(comm, 0) + (1 if in_softirq else 0)

    for line in out.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():  # a sample's first line: its process name
            close()
            comm, in_softirq = line.split()[0], False
        else:  # a frame: "address symbol"
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[1].split("+")[0] in SOFTIRQ:
                in_softirq = True
    close()
    for c in sorted(totals):
        if not wanted or c in wanted:
            print("%s %d %.1f%%" % (c, totals[c], 100.0 * soft[c] / totals[c]))

if __name__ == "__main__":
    main()
