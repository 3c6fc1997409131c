#!/usr/bin/env python3
"""Where a copier's CPU goes, from a `perf record -g` profile: each sample is put in one
category by its call chain, the kernel part by the system call it is in (send, capture
receive, TCP socket receive, epoll, other) or by the interrupt it is in (softirq outside any
system call; at syscall entry and exit, by the libc wrapper), the user-space part by the innermost user function's name (rules below, for
tcpreplay2 and tcpcopy). The softirq share inside sends is mostly the receiving host's work
(the target's TCP stack) charged to the sender on a veth (see live_copy.sh).
usage: perf_breakdown.py perf.data     prints "share% samples category (softirq part)" lines,
biggest first
"""
import re
import subprocess
import sys

# Kernel: the first matching frame from the leaf towards the root decides.
KERNEL = [
    ("send syscall (incl. the receiver's stack on the veth)",
     re.compile(r"^__sys_(sendto|sendmmsg|sendmsg)$|^ksys_write$|^__x64_sys_(sendto|sendmmsg|sendmsg|write|writev)$")),
    ("capture (raw/packet socket receive)",
     re.compile(r"^(raw_recvmsg|packet_recvmsg|tpacket_rcv|packet_rcv|packet_poll|raw_rcv|raw_v4_input)$")),
    ("TCP socket receive (intercept channel)", re.compile(r"^tcp_recvmsg$")),
    ("epoll / poll wait", re.compile(r"^(do_epoll_wait|do_sys_poll|__x64_sys_epoll_pwait2?|__x64_sys_poll|__x64_sys_ppoll)$")),
    ("other syscalls", re.compile(r"^do_syscall_64$")),
    ("softirq / interrupts outside syscalls", re.compile(r"^(handle_softirqs|__do_softirq|asm_sysvec_.*|asm_common_interrupt)$")),
]
# User space: the innermost user frame's symbol.
USER = [
    ("user: answer comparison / digests", re.compile(r"Answer|Digest|[Cc]ompar|EndpointStats|Vote")),
    ("user: capture read (pcap / ring)", re.compile(r"pcap|Capture|Ring|tpacket|tc_raw_socket_rcv|tc_offline|tc_pcap")),
    ("user: decode (headers, tuples, HTTP)", re.compile(r"wire::|get_tuple|[Dd]ecode|[Pp]arse|Http|http|tc_check_ingress|check_pack")),
    ("user: session lookup / tables", re.compile(r"Hashtable|hash_|Hash|_M_find|lookup|Lookup|find|tc_sess|sess_|Session|Conversation|EndpointAllocator")),
    ("user: packet build / send", re.compile(r"[Bb]uild|Send|send|Transport|Segment|checksum|csum|tc_raw_socket_snd|tc_proc_outgress|wrap_send|fill_")),
    ("user: memory (malloc, free, copy)", re.compile(r"malloc|free|memmove|memcpy|memset|palloc|pfree|operator new|operator delete|_int_")),
    ("user: timers / event loop", re.compile(r"[Tt]imer|Epoll|epoll|event|rbtree|tc_time")),
]


# Kernel samples no kernel frame names (syscall entry and exit): the libc wrapper decides.
WRAPPERS = [
    (KERNEL[0][0], re.compile(r"^(__libc_sendto|__sendmmsg|__libc_send|__libc_sendmsg|__libc_write|sendto|sendmmsg)$")),
    (KERNEL[3][0], re.compile(r"^(epoll_wait|epoll_pwait2?|__poll|poll|__GI___poll)$")),
]


SOFTIRQ = {"handle_softirqs", "__do_softirq", "do_softirq"}


def kernel_category(frames, user_frames):
    for name, rule in KERNEL[:4]:
        for f in frames:
            if rule.search(f):
                return name
    for name, rule in WRAPPERS:
        if user_frames and rule.search(user_frames[0]):
            return name
    for name, rule in KERNEL[4:]:
        for f in frames:
            if rule.search(f):
                return name
    return "kernel: other"


def main():
    out = subprocess.run(["perf", "script", "-i", sys.argv[1], "-F", "ip,sym,dso"],
                         capture_output=True, text=True, check=True).stdout
    counts, soft, total = {}, {}, 0
    frames = []  # (symbol, is_kernel), leaf first

    def close():
        nonlocal total
        if not frames:
            return
        total += 1
        if frames[0][1]:  # the sample is in the kernel
            cat = kernel_category([s for s, k in frames if k], [s for s, k in frames if not k])
        else:
            sym = frames[0][0]
            cat = next((n for n, r in USER if r.search(sym)), "user: other")
            if cat == "user: other" and sym in ("[unknown]", ""):
                cat = "user: unknown"
        counts[cat] = counts.get(cat, 0) + 1
        if any(f in SOFTIRQ for f, k in frames if k):
            soft[cat] = soft.get(cat, 0) + 1
        frames.clear()

    for line in out.splitlines():
        if not line.strip():
            close()
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        rest = parts[1]
        m = re.match(r"(.*) \((.*)\)$", rest)
        sym, dso = (m.group(1), m.group(2)) if m else (rest, "")
        sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
        frames.append((sym, "kernel.kallsyms" in dso or dso.startswith("[kernel")))
    close()
    for cat, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print("%5.1f%% %7d  %-55s (%.0f%% of it in softirq)" % (100.0 * n / max(total, 1), n, cat,
                                                                100.0 * soft.get(cat, 0) / n))
    print("%5.1f%% %7d  total samples (%.0f%% in softirq)" % (100.0, total,
                                                         100.0 * sum(soft.values()) / max(total, 1)))


if __name__ == "__main__":
    main()
