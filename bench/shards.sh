#!/usr/bin/env bash
# One replayer process vs two shard processes (--shard 0/2, --shard 1/2 started together with
# --start-at) replaying one recording at --speed max into one nginx, in network namespaces this
# script creates and always removes:
#   replayer ns R (10.63.0.1) --veth (wire-sized segments)-- target ns T (10.63.0.2, nginx)
# Socket transport, and raw transport with one intercept on the target behind a dummy interface
# (single-host deployment, as bench/socket_vs_raw.sh; a fresh --client-pool per run, so no run
# meets the last one's TIME_WAIT tuples). Per run: wall time from the common start (--start-at)
# to the last process's exit, requests sent (the report; for shards, the merged report of
# tcpreplay2 --merge-reports) per second of that wall, the replayers' CPU (user+sys,
# /usr/bin/time), intercept's CPU (raw) and nginx's (/proc/PID/stat), TCP retransmissions in
# both namespaces (/proc/net/snmp), nginx's access-log lines, and the check that the merged
# report's requests and completed sessions equal the single run's. A third mode, one process
# with --max-active 512, separates "two processes" from "twice the sessions open at once" (at
# --speed max each process opens at most 256 sessions at a time). Rounds rotate which mode goes
# first. Load average before/after every run. Prints markdown (also
# bench/out/shards/shards.md). Needs root.
#   usage: bench/shards.sh
#   env: INPUT=archive (default bench/out/input_memory/capture/web-1.pcap.zst: one ~100 MB part
#        of the capture bench/input_memory.sh makes, with its nginx files in ../www; WWW=dir
#        for another input's files); TCPREPLAY2=/path (default $BUILD/src/tcpreplay2);
#        BUILD=build-bench; ROUNDS=3; TRANSPORTS="socket raw"; LEAD=3 (seconds to --start-at).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build-bench}
TCPREPLAY2=${TCPREPLAY2:-$ROOT/$BUILD/src/tcpreplay2}
INTERCEPT=${INTERCEPT:-$ROOT/$BUILD/src/intercept}
INPUT=${INPUT:-$ROOT/bench/out/input_memory/capture/web-1.pcap.zst}
WWW=${WWW:-$(dirname "$INPUT")/www}
ROUNDS=${ROUNDS:-3}
TRANSPORTS=${TRANSPORTS:-socket raw}
LEAD=${LEAD:-3}
MAX_ACTIVE=256  # tcpreplay2's --max-active at --speed max (kMaxSpeedActive): a cap per process
OUT=$ROOT/bench/out/shards
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "shards: needs root (network namespaces, raw replay)" >&2; exit 1; }
for b in "$TCPREPLAY2" "$INTERCEPT"; do
    [ -x "$b" ] || { echo "shards: $b missing (build first)" >&2; exit 1; }
done
[ -s "$INPUT" ] && [ -d "$WWW" ] ||
    { echo "shards: $INPUT or $WWW missing (run CAPTURE_ONLY=1 bench/input_memory.sh first)" >&2; exit 1; }
command -v nginx >/dev/null && [ -x /usr/bin/time ] ||
    { echo "shards: needs nginx and /usr/bin/time (apt-get install nginx time)" >&2; exit 1; }

R=tcprsh-r-$$; T=tcprsh-t-$$
W=$(mktemp -d /tmp/tcprsh.XXXXXX)
cleanup() {
    local ns
    for ns in "$R" "$T"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; done
    sleep 0.5
    for ns in "$R" "$T"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
load_now() { cut -d' ' -f1-3 /proc/loadavg; }
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

ip netns add "$R"; ip netns add "$T"
ip link add rv netns "$R" type veth peer name tv netns "$T"
ip -n "$R" addr add 10.63.0.1/24 dev rv; ip -n "$T" addr add 10.63.0.2/24 dev tv
for ns in "$R" "$T"; do
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
ip -n "$R" link set rv up gso_max_segs 1 gso_max_size 1500
ip -n "$T" link set tv up gso_max_segs 1 gso_max_size 1500
ip netns exec "$T" sysctl -qw net.ipv4.conf.tv.rp_filter=0 net.core.somaxconn=65535 \
    net.ipv4.tcp_max_syn_backlog=65535
ip netns exec "$R" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 65000"
# raw: the client pool's addresses are routed into a dummy interface, where intercept captures
ip -n "$T" link add tcpr0 type dummy 2>/dev/null || ip -n "$T" link add tcpr0 type ifb
ip -n "$T" addr add 10.64.0.1/24 dev tcpr0; ip -n "$T" link set tcpr0 up
ip -n "$T" route add 10.99.0.0/16 dev tcpr0

mkdir -p "$W/ng/tmp"; ln -s "$(cd "$WWW" && pwd)" "$W/ng/www"
sed -e "s|@PREFIX@|$W/ng|g" -e "s|@LISTEN@|10.63.0.2:80 backlog=65535 reuseport|g" \
    -e "s|^worker_processes 1;|worker_processes 2;|" \
    -e "s|worker_connections 1024;|worker_connections 16000;|" \
    -e "s|keepalive_requests 1000;|keepalive_requests 1000000;|" \
    samples/nginx.conf.in >"$W/ng/nginx.conf"
grep -q "worker_connections 16000" "$W/ng/nginx.conf" ||
    { echo "shards: samples/nginx.conf.in changed, adapt this script" >&2; exit 1; }
ip netns exec "$T" nginx -p "$W/ng" -c "$W/ng/nginx.conf" -e "$W/ng/error.log" &
for _ in $(seq 50); do [ -s "$W/ng/nginx.pid" ] && break; sleep 0.1; done
sleep 0.3
icpt_pid=
if [[ " $TRANSPORTS " == *" raw "* ]]; then
    ip netns exec "$T" "$INTERCEPT" -i tcpr0 -F 'tcp and src port 80' -b 10.63.0.2 -q &
    for _ in $(seq 50); do ip netns exec "$T" ss -ltn | grep -q ':36524' && break; sleep 0.1; done
    icpt_pid=$(ip netns pids "$T" | while read -r p; do [ "$(cat /proc/$p/comm 2>/dev/null)" = intercept ] && echo "$p"; done | head -1)
    [ -n "$icpt_pid" ] || { echo "shards: intercept did not start" >&2; exit 1; }
fi
nginx_ticks() {  # utime+stime of nginx's processes (the target's CPU)
    local t=0 p
    for p in $(ip netns pids "$T"); do
        [ "$(cat /proc/$p/comm 2>/dev/null)" = nginx ] && t=$((t + $(cpu_ticks "$p")))
    done
    echo "$t"
}
# TCP segments retransmitted so far in a namespace (/proc/net/snmp, RetransSegs)
retrans() { ip netns exec "$1" awk '/^Tcp:/ { if (h) print $13; h = 1 }' /proc/net/snmp; }
access_lines() { wc -l <"$W/ng/access.log" 2>/dev/null || echo 0; }
jget() { python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(d['requests']['sent'], d['sessions']['completed'], d['wall_ns']/1e9)" "$1"; }

# one replayer process in R, timed; its exit time (ns since the epoch) in NAME.end
replayer() {  # name transport start_at extra args...
    local name=$1 tr=$2 at=$3; shift 3
    local targs=(--transport socket)
    [ "$tr" = raw ] && targs=(--transport raw --intercept 10.63.0.2 --client-pool "10.99.$RUN.0/24")
    ( ip netns exec "$R" timeout 900 /usr/bin/time -f '%e %U %S %M' -o "$OUT/$name.time" \
        "$TCPREPLAY2" --in "$INPUT" --target 10.63.0.2:80 "${targs[@]}" --speed max -q \
        --start-at "$at" --report json "$OUT/$name.json" "$@" >"$OUT/$name.out" 2>&1 || true
      date +%s%N >"$OUT/$name.end" ) &
    PIDS+=($!)
}
RUN=0
rows=()
run() {  # transport mode(single|single-ma|shards) round
    local tr=$1 mode=$2 round=$3 lb la at a0 a1 i0 i1 name=$1-$2-$3
    RUN=$((RUN + 1))
    sleep 2  # the last run's connections close
    local rt0 rr0 rt1 rr1
    rt0=$(retrans "$T"); rr0=$(retrans "$R")
    lb=$(load_now); a0=$(access_lines); n0=$(nginx_ticks); i0=0; [ -n "$icpt_pid" ] && i0=$(cpu_ticks "$icpt_pid")
    at=$(($(date +%s) + LEAD))
    log "$name: start at $at, load $lb"
    if [ "$mode" != shards ]; then
        PIDS=()
        if [ "$mode" = single ]; then replayer "$name" "$tr" "$at"
        else replayer "$name" "$tr" "$at" --max-active $((2 * MAX_ACTIVE)); fi
        wait "${PIDS[@]}"
        read -r req ses rwall < <(jget "$OUT/$name.json")
        ends=$(cat "$OUT/$name.end")
        cpu=$(awk '{printf "%.2f", $2+$3}' "$OUT/$name.time")
        rss=$(awk '{print $4}' "$OUT/$name.time")
    else
        PIDS=()
        replayer "$name-0" "$tr" "$at" --shard 0/2
        replayer "$name-1" "$tr" "$at" --shard 1/2
        wait "${PIDS[@]}"
        "$TCPREPLAY2" --merge-reports "$OUT/$name.json" "$OUT/$name-0.json" "$OUT/$name-1.json" \
            >"$OUT/$name.merge.out" 2>&1 || true
        read -r req ses rwall < <(jget "$OUT/$name.json")
        ends=$(sort -n "$OUT/$name-0.end" "$OUT/$name-1.end" | tail -1)
        cpu=$(cat "$OUT/$name-0.time" "$OUT/$name-1.time" | awk '{c+=$2+$3} END{printf "%.2f", c}')
        rss=$(cat "$OUT/$name-0.time" "$OUT/$name-1.time" | awk '$4>m{m=$4} END{print m}')
        local r0 r1
        r0=$(jget "$OUT/$name-0.json" | cut -d' ' -f1); r1=$(jget "$OUT/$name-1.json" | cut -d' ' -f1)
        req="$req ($r0+$r1)"
    fi
    rt1=$(retrans "$T"); rr1=$(retrans "$R")
    a1=$(access_lines); n1=$(nginx_ticks); i1=0; [ -n "$icpt_pid" ] && i1=$(cpu_ticks "$icpt_pid")
    la=$(load_now)
    local wall; wall=$(awk -v e="$ends" -v a="$at" 'BEGIN{printf "%.2f", e/1e9 - a}')
    local icpu; icpu=$(awk -v a="$i0" -v b="$i1" -v h="$hz" 'BEGIN{printf "%.2f", (b-a)/h}')
    local ncpu; ncpu=$(awk -v a="$n0" -v b="$n1" -v h="$hz" 'BEGIN{printf "%.2f", (b-a)/h}')
    rows+=("$tr|$mode|$round|$wall|$req|$ses|$cpu|$icpu|$((a1 - a0))|$rss|$rwall|$lb|$la|$ncpu|$((rt1 - rt0))|$((rr1 - rr0))")
    log "$name: wall $wall s, requests $req, sessions completed $ses, CPU $cpu s, load $la"
}
started=$(date -u +%FT%TZ); load0=$(load_now)
for round in $(seq "$ROUNDS"); do
    for tr in $TRANSPORTS; do
        # the modes in turn, each round starting one further: every mode runs first once
        modes=(single shards single-ma)
        for i in 0 1 2; do run "$tr" "${modes[$(((i + round - 1) % 3))]}" "$round"; done
    done
done
ended=$(date -u +%FT%TZ)

printf '%s\n' "${rows[@]}" >"$OUT/runs.tsv"
{
    echo "Input: $INPUT ($("$ROOT/$BUILD/src/tcprec" --info "$INPUT" --sessions 0 2>/dev/null | grep -E '^(size|sessions):' | tr -s ' ' | tr '\n' ';'))"
    echo "tcpreplay2: $TCPREPLAY2 (commit $(git -C "$(dirname "$TCPREPLAY2")" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "Runs $started - $ended, $ROUNDS rounds, load average $load0 at the start, $(load_now) at the end, $(nproc) cores."
    echo
    python3 - "$OUT/runs.tsv" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
def med(v): return statistics.median(v)
def mmm(v, f):
    v = sorted(v)
    if len(v) == 1:
        return f % v[0]
    return (f % med(v)) + " (" + (f % v[0]) + "-" + (f % v[-1]) + ")"
g = {}
for tr, mode, rnd, wall, req, ses, cpu, icpu, served, rss, rwall, lb, la, ncpu, rtt, rtr in rows:
    g.setdefault((tr, mode), []).append(dict(rnd=int(rnd), wall=float(wall), req=int(req.split()[0]),
        ses=int(ses), cpu=float(cpu), icpu=float(icpu), served=int(served), rss=int(rss), ncpu=float(ncpu), rt=int(rtt) + int(rtr)))
names = {"single": "1", "single-ma": "1, --max-active 512", "shards": "2 (--shard 0/2, 1/2)"}
print("| transport | processes | wall s | requests/s | replayers' CPU s | CPU µs/request | intercept CPU s | intercept CPU µs/request | nginx CPU µs/request | TCP retransmissions (both namespaces) | requests sent | sessions completed | nginx lines | = single run's (requests, sessions) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for tr in dict.fromkeys(k[0] for k in g):
    for mode in ("single", "single-ma", "shards"):
        x = g.get((tr, mode))
        if not x:
            continue
        same = "-"
        if mode != "single" and (tr, "single") in g:
            s = {r["rnd"]: r for r in g[(tr, "single")]}
            ok = sum(1 for r in x if r["rnd"] in s and r["req"] == s[r["rnd"]]["req"] and r["ses"] == s[r["rnd"]]["ses"])
            same = f"{ok} of {len(x)} rounds" + (" (merged report)" if mode == "shards" else "")
        print(f"| {tr} | {names[mode]} | {mmm([r['wall'] for r in x], '%.2f')} | "
              f"{mmm([r['req'] / r['wall'] for r in x], '%.0f')} | {mmm([r['cpu'] for r in x], '%.2f')} | "
              f"{mmm([r['cpu'] * 1e6 / r['req'] for r in x], '%.0f')} | "
              f"{mmm([r['icpu'] for r in x], '%.2f') if tr == 'raw' else '-'} | "
              f"{mmm([r['icpu'] * 1e6 / r['req'] for r in x], '%.0f') if tr == 'raw' else '-'} | "
              f"{mmm([r['ncpu'] * 1e6 / r['served'] for r in x], '%.0f')} | {mmm([r['rt'] for r in x], '%d')} | {mmm([r['req'] for r in x], '%d')} | "
              f"{mmm([r['ses'] for r in x], '%d')} | {mmm([r['served'] for r in x], '%d')} | {same} |")
    for a_mode, b_mode in (("shards", "single"), ("single-ma", "single"), ("shards", "single-ma")):
        if (tr, a_mode) in g and (tr, b_mode) in g:
            s = {r["rnd"]: r for r in g[(tr, b_mode)]}
            pairs = [(r, s[r["rnd"]]) for r in g[(tr, a_mode)] if r["rnd"] in s]
            print(f"| {tr} | ratio {names[a_mode]} / {names[b_mode]}, same round | {mmm([a['wall'] / b['wall'] for a, b in pairs], '%.2f')} | "
                  f"{mmm([(a['req'] / a['wall']) / (b['req'] / b['wall']) for a, b in pairs], '%.2f')} | "
                  f"{mmm([a['cpu'] / b['cpu'] for a, b in pairs], '%.2f')} | | | | | | | | | |")
print()
print("Every run, in the order run (wall: from --start-at to the last process's exit; the report's wall_ns is its own replay time):")
print()
print("| transport | processes | round | wall s | report wall s | requests sent | sessions completed | replayers' CPU s | intercept CPU s | nginx CPU s | TCP retransmissions (target; replayer) | nginx lines | peak RSS KiB (largest process) | load before | load after |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for tr, mode, rnd, wall, req, ses, cpu, icpu, served, rss, rwall, lb, la, ncpu, rtt, rtr in rows:
    print(f"| {tr} | {names[mode]} | {rnd} | {wall} | {float(rwall):.2f} | {req} | {ses} | {cpu} | {icpu if tr == 'raw' else '-'} | {ncpu} | {rtt}; {rtr} | {served} | {rss} | {lb} | {la} |")
EOF
} | tee "$OUT/shards.md"
