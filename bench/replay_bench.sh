#!/usr/bin/env bash
# Replay benchmark (issue 3). In network namespaces this script creates and always removes:
#   replayer ns (tcpreplay2, tcpreplay) --veth-- target ns (nginx) --veth-- intercept ns
#   replayer ns --veth-- intercept ns (the replayer's connection to intercept)
# The target routes the recorded client addresses (10.100.0.0/16) to the intercept namespace,
# where intercept captures the answers and the kernel drops them (tcpcopy's layout).
# One run, same namespaces, same nginx, intercept running throughout:
#   1. timing at 1x: a looped replay; the report's start-lateness histogram (SYN sent vs its
#      scheduled time) and, from a capture of the SYNs on the target's interface, per-loop
#      lateness and the drift of the last starts against the first ones; once at normal
#      priority, once with tcpreplay2 and intercept under SCHED_FIFO;
#   2. concurrency: SESSIONS idle sessions held open at 1x (1000 recorded x --copies), the
#      replayer's RSS with 0 sessions and at the peak -> bytes per session;
#   3. throughput: tcpreplay2 --speed max, then Debian's tcpreplay --topspeed (addresses
#      rewritten to the target, so its packets reach the target's TCP stack and are refused),
#      on the same capture: packets/s, CPU, requests/s nginx served.
# Machine load is part of every table (load average, CPU pressure from /proc/pressure/cpu, and
# for timing a 1 ms sleeper's wake-up delays): the machine may be shared.
# Prints markdown tables (also saved to bench/out/replay/replay.md). Needs root.
#   usage: bench/replay_bench.sh [THROUGHPUT_MB=100] [SESSIONS=100000] [TIMING_SECONDS=30] [LOOPS=6]
#   env: BUILD=build-bench (build dir); PHASES="timing concurrency throughput";
#        MAX_ACTIVE="100 300 1000" (tcpreplay2 --max-active values, one throughput row each);
#        INJECT="raw pcap": tcpreplay2's sender(s) for those rows (raw IP socket, or frames on
#        the replayer's veth with --inject pcap);
#        TP_BODY=N: every answer in the throughput capture N bytes long (default: a mix around
#        5 kB); TP_LOOPS=10 (tcpreplay2 --loop), TR_LOOPS=20 (tcpreplay --loop): both loop the same
#        capture for runs of several seconds; TIMING_RT= (empty) skips the SCHED_FIFO timing run;
#        PROFILE=1 records the throughput runs with perf (bench/out/replay/tp-*.perf) and adds
#        each tool's share of CPU samples in softirq packet processing (bench/softirq_share.py:
#        on a veth the receiving host's stack runs inside the sender's send calls).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
THROUGHPUT_MB=${1:-100}
SESSIONS=${2:-100000}
TIMING_SECONDS=${3:-30}
LOOPS=${4:-6}
BUILD=${BUILD:-build-bench}
PHASES=${PHASES:-timing concurrency throughput}
MAX_ACTIVE=${MAX_ACTIVE:-100 300 1000}
INJECT=${INJECT:-raw}
TP_LOOPS=${TP_LOOPS:-10}
TR_LOOPS=${TR_LOOPS:-20}
B=$ROOT/$BUILD/src
OUT=$ROOT/bench/out/replay
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "replay_bench: needs root (network namespaces)" >&2; exit 1; }
for t in tcpreplay2 intercept; do
    [ -x "$B/$t" ] || { echo "replay_bench: build first ($B/$t missing)" >&2; exit 1; }
done
for t in nginx tcpreplay tcprewrite tcpdump python3; do
    command -v $t >/dev/null || { echo "replay_bench: $t not installed" >&2; exit 1; }
done
(( SESSIONS % 1000 == 0 )) || { echo "replay_bench: SESSIONS must be a multiple of 1000" >&2; exit 2; }

RP=tcprb-rp-$$; TG=tcprb-tg-$$; AS=tcprb-as-$$
P=$(mktemp -d /tmp/tcprb.XXXXXX)
BG_PIDS=()  # helpers started outside the namespaces (stall probe)
cleanup() {
    local ns p
    for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for ns in "$RP" "$TG" "$AS"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    done
    sleep 0.5
    for ns in "$RP" "$TG" "$AS"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$P"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
load_now() { cut -d' ' -f1-3 /proc/loadavg; }
# CPU pressure (PSI): microseconds during which some runnable task waited for a CPU.
psi_cpu() { awk '/^some/{sub("total=", "", $5); print $5}' /proc/pressure/cpu 2>/dev/null || echo 0; }
psi_since() {  # psi_cpu value at the start, start in ns -> percent of the time since
    awk -v a="$1" -v b="$(psi_cpu)" -v t0="$2" -v t1="$(date +%s%N)" \
        'BEGIN{printf "%.0f%%", (b-a)*1000*100/(t1-t0)}'
}
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }  # utime+stime
link_stat() {  # ns iface rx|tx -> packets
    ip netns exec "$1" cat "/sys/class/net/$2/statistics/${3}_packets"
}
wait_for() {  # tries command...: retries every 0.1 s, at most tries times
    local n=$1; shift
    for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "replay_bench: timed out waiting for: $*" >&2; return 1
}

# ---- namespaces ---------------------------------------------------------------------------
ip netns add "$RP"; ip netns add "$TG"; ip netns add "$AS"
ip link add rpv netns "$RP" type veth peer name tgv netns "$TG"
ip link add tg2 netns "$TG" type veth peer name asv netns "$AS"
ip link add rp3 netns "$RP" type veth peer name as3 netns "$AS"
ip -n "$RP" addr add 10.77.1.1/24 dev rpv; ip -n "$TG" addr add 10.77.1.2/24 dev tgv
ip -n "$TG" addr add 10.77.2.2/24 dev tg2; ip -n "$AS" addr add 10.77.2.3/24 dev asv
ip -n "$RP" addr add 10.77.3.1/24 dev rp3; ip -n "$AS" addr add 10.77.3.3/24 dev as3
for ns in "$RP" "$TG" "$AS"; do
    ip -n "$ns" link set lo up
    for d in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -v '^lo$'); do
        ip -n "$ns" link set "$d" up
    done
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
ip netns exec "$TG" sysctl -qw net.ipv4.conf.tgv.rp_filter=0 net.ipv4.conf.tg2.rp_filter=0 \
    net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
ip -n "$TG" route add 10.100.0.0/16 via 10.77.2.3
tgv_mac=$(ip netns exec "$TG" cat /sys/class/net/tgv/address)
rpv_mac=$(ip netns exec "$RP" cat /sys/class/net/rpv/address)

# ---- target: nginx (samples/nginx.conf.in with connection limits raised) ------------------
mkdir -p "$P/www" "$P/tmp"
echo "<html>tcpr bench</html>" >"$P/www/index.html"
# One nginx worker holds at most RLIMIT_NOFILE connections, and this script may not raise the
# limit (no CAP_SYS_RESOURCE in some containers): enough workers for SESSIONS, spread over by
# the kernel (listen ... reuseport).
nofile=$(ulimit -n)
[ "$nofile" = unlimited ] && nofile=1048576
worker_conns=$((nofile - 100))
workers=$(( (SESSIONS * 12 / 10 + worker_conns - 1) / worker_conns ))
(( workers >= 2 )) || workers=2
sed -e "s|@PREFIX@|$P|g" -e "s|@LISTEN@|10.77.1.2:80 backlog=65535 reuseport|g" \
    -e "s|^worker_processes 1;|worker_processes $workers;|" \
    -e "s|worker_connections 1024;|worker_connections $worker_conns;|" \
    -e "s|keepalive_timeout 60s;|keepalive_timeout 600s;|" \
    -e "s|keepalive_requests 1000;|keepalive_requests 1000000;|" \
    samples/nginx.conf.in >"$P/nginx.conf"
grep -q "worker_connections $worker_conns" "$P/nginx.conf" ||
    { echo "replay_bench: samples/nginx.conf.in changed, adapt this script" >&2; exit 1; }

# Captures: regenerated every run (deterministic), kept in bench/out/replay; the files their
# requests name are written to the target's root.
tp_pcap=$OUT/throughput-${THROUGHPUT_MB}mb${TP_BODY:+-body$TP_BODY}.pcap
python3 bench/make_pcap.py "$tp_pcap" --mbytes "$THROUGHPUT_MB" --www "$P/www" ${TP_BODY:+--body "$TP_BODY"}
tm_pcap=$OUT/timing-${TIMING_SECONDS}s.pcap
python3 bench/make_pcap.py "$tm_pcap" --mbytes 1000 --seconds "$TIMING_SECONDS" --rate 5000 \
    --seed 3 --www "$P/www"
idle_pcap=$OUT/idle.pcap
python3 bench/make_pcap.py "$idle_pcap" --idle-sessions 1000 --idle 60 --spread 20 --delay 8
copies=$((SESSIONS / 1000))

ip netns exec "$TG" nginx -p "$P" -c "$P/nginx.conf" -e "$P/error.log" &
ip netns exec "$AS" "$B/intercept" -i asv -b 10.77.3.3 -q &
wait_for 50 test -s "$P/nginx.pid"
wait_for 50 bash -c "ip netns exec $TG ss -ltn | grep -q 10.77.1.2:80"
wait_for 50 bash -c "ip netns exec $AS ss -ltn | grep -q 10.77.3.3:36524"
nginx_pids=$(ip netns pids "$TG" | while read -r p; do
    [ "$(cat /proc/$p/comm)" = nginx ] && echo "$p"
done | tr '\n' ' ')
icpt_pid=$(ip netns pids "$AS" | while read -r p; do [ "$(cat /proc/$p/comm)" = intercept ] && echo "$p"; done | head -1)
[ -n "$nginx_pids" ] && [ -n "$icpt_pid" ] || { echo "replay_bench: nginx or intercept missing" >&2; exit 1; }
nginx_ticks() { local t=0 p; for p in $nginx_pids; do t=$((t + $(cpu_ticks "$p"))); done; echo $t; }
access_lines() { wc -l <"$P/access.log"; }

REPLAY=("$B/tcpreplay2" --target 10.77.1.2:80 --intercept 10.77.3.3 -q)
report_field() {  # json file, dotted key (two levels) -> value
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); k=sys.argv[2].split(".")
v=d
for x in k: v=v[x]
print(v)' "$1" "$2"
}
md=$OUT/replay.md
: >"$md"
emit() { echo "$*" | tee -a "$md"; }

# ---- concurrency --------------------------------------------------------------------------
run_concurrency() {
    log "concurrency: $SESSIONS sessions (1000 recorded x $copies copies), load $(load_now)"
    local load0 psi0 ts0; load0=$(load_now); psi0=$(psi_cpu); ts0=$(date +%s%N)
    local samples=$OUT/concurrency-samples.txt
    ip netns exec "$RP" "${REPLAY[@]}" --in "$idle_pcap" --speed 1x --copies "$copies" \
        --max-active $((SESSIONS * 2)) --timeout 120s \
        --report json "$OUT/concurrency.json" >"$OUT/concurrency.txt" 2>&1 &
    local wrapper=$! pid="" i
    for ((i = 0; i < 50; i++)); do
        sleep 0.1
        pid=$(ip netns pids "$RP" | while read -r p; do [ "$(cat /proc/$p/comm 2>/dev/null)" = tcpreplay2 ] && echo "$p"; done | head -1)
        [ -z "$pid" ] || break
    done
    [ -n "$pid" ] || { echo "replay_bench: tcpreplay2 did not start" >&2; return 1; }
    # Every 0.5 s: milliseconds, replayer RSS (kB), the target's TCP sockets in use (sockstat:
    # cheap, unlike ss over 100k sockets).
    local t0; t0=$(date +%s%N)
    : >"$samples"
    local hwm=0
    while kill -0 "$pid" 2>/dev/null; do
        local rss inuse now h
        rss=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        h=$(awk '/^VmHWM/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        hwm=${h:-$hwm}
        inuse=$(ip netns exec "$TG" awk '/^TCP:/{print $3}' /proc/net/sockstat)
        now=$(date +%s%N)
        echo "$(( (now - t0) / 1000000 )) ${rss:-0} $inuse" >>"$samples"
        sleep 0.5
        (( (now - t0) / 1000000000 < 300 )) || { kill -INT "$pid"; break; }
    done
    wait "$wrapper" || true
    local pressure; pressure=$(psi_since "$psi0" "$ts0")
    # Baseline: the last sample before the sessions (the capture's lead is 8 s).
    read -r base_ms base_rss base_inuse < <(awk '$1 < 7000 {l=$0} END{print l}' "$samples")
    # The peak: every sample with the most target sockets; the largest RSS among them.
    local max_inuse; max_inuse=$(sort -k3,3n "$samples" | tail -1 | cut -d' ' -f3)
    read -r peak_ms peak_rss peak_inuse < <(awk -v m="$max_inuse" '$3 == m' "$samples" | sort -k2,2n | tail -1)
    local plateau; plateau=$(awk -v m="$max_inuse" '$3 == m' "$samples" | wc -l)
    local open=$((peak_inuse - base_inuse))
    local per; per=$(awk -v a="$peak_rss" -v b="$base_rss" -v n="$open" 'BEGIN{printf "%.0f", (a-b)*1024/n}')
    local started completed; started=$(report_field "$OUT/concurrency.json" sessions.started)
    completed=$(report_field "$OUT/concurrency.json" sessions.completed)
    local sizes; sizes=$(gdb -batch -ex 'print sizeof(tcpr::replay::SessionDriver)' \
        -ex 'print sizeof(tcpr::replay::RawTransport::Slot)' \
        -ex 'print sizeof(tcpr::net::Endpoint)' \
        -ex 'print sizeof(std::__detail::_Hash_node<std::pair<tcpr::net::Endpoint const, unsigned int>, false>)' \
        -ex 'print sizeof(tcpr::replay::RawTransport::TimerEntry)' "$B/tcpreplay2" 2>/dev/null |
        awk -F' = ' '/^\$/{printf "%s ", $2}')
    local sz_driver sz_slot sz_ep sz_node sz_timer
    read -r sz_driver sz_slot sz_ep sz_node sz_timer <<<"$sizes"
    emit "### Concurrency: $SESSIONS idle sessions at 1x (1000 recorded sessions x --copies $copies)"
    emit
    emit "Load average before: $load0, after: $(load_now); CPU pressure during the run (PSI: share of"
    emit "the time some task waited for a CPU): $pressure. Each session: handshake, GET /small, 60 s idle,"
    emit "GET /small, FIN; starts spread over 20 s after an 8 s quiet lead (RSS with 0 sessions taken there)."
    emit
    emit "| sessions started / completed | peak sessions open (target TCP sockets) | RSS, 0 sessions | RSS at peak | bytes per open session | target ≤ 512 |"
    emit "|---|---|---|---|---|---|"
    emit "| $started / $completed | $open (for $((plateau / 2)) s) | $((base_rss / 1024)) MiB | $((peak_rss / 1024)) MiB | **$per** | $([ "$per" -le 512 ] && echo met || echo 'NOT met') |"
    emit
    emit "In-code sizes (gdb on the built binary): \`SessionDriver\` ${sz_driver:-?} B inside"
    emit "\`RawTransport::Slot\` ${sz_slot:-?} B (one per session, in a vector); per session also one"
    emit "\`by_client_\` hash node (${sz_node:-?} B + malloc header + an 8 B bucket), one endpoint-allocator"
    emit "hash-set node (an \`Endpoint\`, ${sz_ep:-?} B, + next pointer and cached hash) and one or more"
    emit "timer-heap entries (${sz_timer:-?} B). Peak RSS (VmHWM) $((hwm / 1024)) MiB, reached after the peak, while"
    emit "released client endpoints stay reserved for \`--linger\` (60 s). nginx:"
    emit "$workers workers x $worker_conns connections (RLIMIT_NOFILE $nofile per process);"
    emit "error log lines at alert level or worse: $(grep -cE '\[(alert|crit|emerg)\]' "$P/error.log" || true)."
    emit
}

# ---- timing fidelity at 1x ----------------------------------------------------------------
timing_once() {  # label, description, command prefix (e.g. chrt -f 10)...
    local label=$1 what=$2; shift 2
    log "timing ($label): ${TIMING_SECONDS} s capture x $LOOPS loops at 1x, load $(load_now)"
    local load0 psi0 ts0; load0=$(load_now); psi0=$(psi_cpu); ts0=$(date +%s%N)
    local base=$OUT/timing-$label
    ip netns exec "$TG" tcpdump -i tgv -n -s 96 -B 16384 -U -w "$base-syns.pcap" \
        'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst port 80' 2>/dev/null &
    local dump=$!
    sleep 1
    local limit=$((TIMING_SECONDS * LOOPS + 60))
    python3 bench/stall_probe.py "$limit" >"$base-stalls.txt" &
    local probe=$!
    BG_PIDS+=("$probe")
    timeout -s INT "$limit" ip netns exec "$RP" "$@" "${REPLAY[@]}" --in "$tm_pcap" --speed 1x \
        --loop "$LOOPS" --report json "$base.json" >"$base.txt" 2>&1 || true
    kill -INT "$probe" 2>/dev/null || true
    wait "$probe" 2>/dev/null || true
    sleep 1
    kill -INT "$dump" 2>/dev/null || true
    wait "$dump" 2>/dev/null || true
    local load1 pressure; load1=$(load_now); pressure=$(psi_since "$psi0" "$ts0")
    python3 bench/replay_timing.py "$tm_pcap" "$base-syns.pcap" "$LOOPS" "$base.json" >"$base-table.md"
    local sessions wall
    sessions=$(report_field "$base.json" sessions.completed)
    wall=$(awk -v w="$(report_field "$base.json" wall_ns)" 'BEGIN{printf "%.1f", w/1e9}')
    emit "#### $what: ${TIMING_SECONDS} s capture, --loop $LOOPS, ${wall} s wall"
    emit
    emit "Load average before: $load0, after: $load1; CPU pressure (PSI some): $pressure. A 1 ms sleeper"
    emit "on the same machine meanwhile (bench/stall_probe.py): $(cat "$base-stalls.txt")."
    emit "$sessions sessions completed of $(report_field "$base.json" sessions.planned) planned; $(report_field "$base.json" responses.complete) responses complete, $(report_field "$base.json" packets.retransmissions) retransmissions, $(report_field "$base.json" packets.syn_retransmissions) SYN retries."
    emit
    while IFS= read -r line; do emit "$line"; done <"$base-table.md"
    emit
}

run_timing() {
    emit "### Timing fidelity at 1x"
    emit
    timing_once normal "tcpreplay2 and intercept at normal priority"
    if [ -n "${TIMING_RT-1}" ]; then
        # A SYN leaves once intercept confirmed its registration: intercept's wake-ups count too.
        chrt -f -p 10 "$icpt_pid"
        timing_once rt "tcpreplay2 and intercept under SCHED_FIFO (chrt -f 10)" chrt -f 10
        chrt -o -p 0 "$icpt_pid"
    fi
}

# ---- throughput ---------------------------------------------------------------------------
# One row: runs "$@" in the replayer namespace under /usr/bin/time; counts packets on both ends of
# the veth, nginx's access-log lines and the CPU of nginx and intercept meanwhile. Sets ROW to
# "tx|rx|requests|nginx cpu|intercept cpu|elapsed|user|sys".
tp_measure() {  # name, command...
    local name=$1; shift
    local a0 tx0 rx0 n0 i0 a1 tx1 rx1 n1 i1 e u s m
    a0=$(access_lines); tx0=$(link_stat "$RP" rpv tx); rx0=$(link_stat "$TG" tgv rx)
    n0=$(nginx_ticks); i0=$(cpu_ticks "$icpt_pid")
    timeout -s INT 600 ip netns exec "$RP" /usr/bin/time -f '%e %U %S %M' -o "$OUT/tp-$name.time" \
        "$@" >"$OUT/tp-$name.txt" 2>&1 || true
    sleep 0.5
    a1=$(access_lines); tx1=$(link_stat "$RP" rpv tx); rx1=$(link_stat "$TG" tgv rx)
    n1=$(nginx_ticks); i1=$(cpu_ticks "$icpt_pid")
    read -r e u s m <"$OUT/tp-$name.time"
    ROW="$((tx1 - tx0))|$((rx1 - rx0))|$((a1 - a0))|$(awk -v t=$((n1 - n0)) -v h="$hz" 'BEGIN{printf "%.1f", t/h}')|$(awk -v t=$((i1 - i0)) -v h="$hz" 'BEGIN{printf "%.1f", t/h}')|$e|$u|$s"
}

run_throughput() {
    log "throughput: tcpreplay2 --speed max vs tcpreplay --topspeed, load $(load_now)"
    local frames; frames=$(tcpdump -nr "$tp_pcap" 2>/dev/null | wc -l)
    local rows=() load0 psi0 ts0; load0=$(load_now); psi0=$(psi_cpu); ts0=$(date +%s%N)
    local notes=()
    local ma inject run
    for run in $(for inject in $INJECT; do for ma in $MAX_ACTIVE; do echo "$inject:$ma"; done; done); do
        inject=${run%%:*}; ma=${run#*:}
        local how=(--inject raw) tag=$ma
        if [ "$inject" = pcap ]; then how=(--inject pcap -i rpv --next-hop-mac "$tgv_mac"); tag=pcap-$ma; fi
        local prof=()  # PROFILE=1: where tcpreplay2's CPU goes (perf report -i bench/out/replay/tp-*.perf)
        [ -z "${PROFILE:-}" ] || prof=(perf record -q -g -o "$OUT/tp-tcpreplay2-$tag.perf")
        local j=$OUT/tp-tcpreplay2-$tag.json
        tp_measure "tcpreplay2-$tag" "${prof[@]}" "${REPLAY[@]}" "${how[@]}" --in "$tp_pcap" \
            --speed max --max-active "$ma" --loop "$TP_LOOPS" --report json "$j"
        local tx rx rq ncpu icpu e u s
        IFS='|' read -r tx rx rq ncpu icpu e u s <<<"$ROW"
        local sent wall
        sent=$(report_field "$j" packets.sent)
        wall=$(awk -v w="$(report_field "$j" wall_ns)" 'BEGIN{printf "%.2f", w/1e9}')
        rows+=("tcpreplay2 --speed max --inject $inject --max-active $ma --loop $TP_LOOPS|$sent|$tx|$rx|$wall ($e)|$u|$s|$rq|$ncpu|$icpu|$((frames * TP_LOOPS))")
        [ -z "${PROFILE:-}" ] || notes+=("--inject $inject --max-active $ma profile: $(python3 bench/softirq_share.py "$OUT/tp-tcpreplay2-$tag.perf" tcpreplay2) (process, samples, share in softirq)")
        notes+=("--inject $inject --max-active $ma: $(report_field "$j" sessions.completed) of $(report_field "$j" sessions.planned) sessions completed, $(report_field "$j" status_lines.match) of $(report_field "$j" requests.sent) status lines match, $(report_field "$j" packets.retransmissions) retransmissions")
    done

    # tcpreplay --topspeed: the same capture, destination rewritten to the target.
    local tr_pcap=$OUT/throughput-rewritten.pcap
    tcprewrite --infile="$tp_pcap" --outfile="$tr_pcap" --dstipmap=10.200.0.2/32:10.77.1.2/32 \
        --enet-dmac="$tgv_mac" --enet-smac="$rpv_mac" --fixcsum
    sleep 2
    local trprof=()
    [ -z "${PROFILE:-}" ] || trprof=(perf record -q -g -o "$OUT/tp-tcpreplay.perf")
    tp_measure tcpreplay "${trprof[@]}" tcpreplay -q --topspeed --loop "$TR_LOOPS" -i rpv "$tr_pcap"
    [ -z "${PROFILE:-}" ] || notes+=("tcpreplay profile: $(python3 bench/softirq_share.py "$OUT/tp-tcpreplay.perf" tcpreplay) (process, samples, share in softirq)")
    local tx rx rq ncpu icpu e u s
    IFS='|' read -r tx rx rq ncpu icpu e u s <<<"$ROW"
    local tr_sent tr_secs
    tr_sent=$(grep -oE 'Actual: [0-9]+ packets' "$OUT/tp-tcpreplay.txt" | grep -oE '[0-9]+' | head -1)
    tr_secs=$(grep -oE 'sent in [0-9.]+ seconds' "$OUT/tp-tcpreplay.txt" | grep -oE '[0-9.]+' | head -1)
    rows+=("tcpreplay --topspeed --loop $TR_LOOPS|$tr_sent|$tx|$rx|$tr_secs ($e)|$u|$s|$rq|$ncpu|$icpu|$tr_sent")
    local tr_pps; tr_pps=$(awk -v p="$tr_sent" -v w="$tr_secs" 'BEGIN{printf "%.0f", p/w}')
    local load1 pressure; load1=$(load_now); pressure=$(psi_since "$psi0" "$ts0")

    emit "### Throughput: $(basename "$tp_pcap") ($frames frames, both directions), same nginx, intercept running"
    emit
    emit "Load average before: $load0, after: $load1; CPU pressure (PSI some) during the phase: $pressure."
    emit
    emit "| tool | packets sent (own count) | replayer veth TX | target veth RX | sending s (process s) | packets/s | vs tcpreplay | CPU s user + sys | CPU µs/packet | requests served by nginx | requests/s | nginx CPU s | intercept CPU s | capture frames covered/s |"
    emit "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    local r
    for r in "${rows[@]}"; do
        local name ps txd rxd secs u s rq ncpu icpu covered
        IFS='|' read -r name ps txd rxd secs u s rq ncpu icpu covered <<<"$r"
        local w=${secs%% *}
        local pps; pps=$(awk -v p="$ps" -v w="$w" 'BEGIN{printf "%.0f", p/w}')
        emit "| $name | $ps | $txd | $rxd | $secs | $pps | **$(awk -v a="$pps" -v b="$tr_pps" 'BEGIN{printf "%.2f", a/b}')x** | $u + $s | $(awk -v a="$u" -v b="$s" -v p="$ps" 'BEGIN{printf "%.1f", (a+b)*1e6/p}') | $rq | $(awk -v r="$rq" -v w="$w" 'BEGIN{printf "%.0f", r/w}') | $ncpu | $icpu | $(awk -v c="$covered" -v w="$w" 'BEGIN{printf "%.0f", c/w}') |"
    done
    emit
    local n
    for n in "${notes[@]}"; do emit "- $n"; done
    emit
}

emit "## Replay run of $(date -u +%Y-%m-%dT%H:%MZ): bench/replay_bench.sh $THROUGHPUT_MB $SESSIONS $TIMING_SECONDS $LOOPS (phases: $PHASES)"
emit
for phase in $PHASES; do
    "run_$phase"
done
log "done; tables in $md"
