#!/usr/bin/env python3
"""How late a process that sleeps 1 ms at a time wakes up on this machine: a measure of how
busy the (shared) CPUs were while a timing benchmark ran, independent of the program measured.

usage: stall_probe.py SECONDS   (stops early on SIGINT/SIGTERM; prints one summary line)
"""
import signal
import sys
import time

stop = False


def on_signal(_sig, _frame):
    global stop
    stop = True


def main():
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    end = time.monotonic() + float(sys.argv[1])
    last = time.monotonic()
    late = []  # wake-up delay beyond the 1 ms asked for, in ms
    while not stop and last < end:
        time.sleep(0.001)
        now = time.monotonic()
        late.append((now - last) * 1e3 - 1.0)
        last = now
    late.sort()
    n = len(late)
    if n == 0:
        print("no samples")
        return
    over = lambda ms: sum(1 for v in late if v > ms)
    print("%d wake-ups: p99 %.2f ms late, max %.0f ms; %d later than 10 ms, %d later than 100 ms"
          % (n, late[min(n - 1, int(0.99 * n))], late[-1], over(10), over(100)))


if __name__ == "__main__":
    main()
