#!/usr/bin/env bash
# Live passthrough benchmark (issue 4). In network namespaces this script creates and always
# removes: wrk (Debian) loads nginx on an "online" host, where tcpreplay2 copies every
# connection live (tcpcopy's mode, --copies 1) to a second nginx on a "target" host; intercept
# runs on an assistant host. Each step runs wrk for a fixed duration with more connections;
# per step: the online request rate, the copy ratio (requests the target logged / requests the
# online nginx logged) and the CPU time of tcpreplay2, intercept and the online nginx per
# request. Two series: keep-alive connections (wrk's default) and one connection per request
# (Connection: close). A series stops two steps after the copy ratio first fell below 99.9%.
# Prints a markdown table (also saved to bench/out/live/live.md). Needs root and wrk.
#   usage: bench/live_copy.sh [SECONDS_PER_STEP=10] ["CONNECTIONS PER STEP"="1 2 4 8 16 32 64 128"]
#   env: BIN=build dir of the binaries (build/src), SERIES="keep-alive close", NOCOPY=1 (the
#   load without tcpreplay2: the baseline), RECORD=FILE (--record), PROFILE=perf.data,
#   SPLIT=1: the hosts on separate CPUs (below)
#
# On one machine a veth delivers a packet in the sender's context: the receiving host's whole
# TCP stack runs inside the sender's send call and is charged to it (tcpreplay2 pays for the
# target's and intercept's work, the online nginx for wrk's). SPLIT=1 gives the online host
# (online nginx, tcpreplay2) CPU 0 and the other hosts (wrk, target nginx, intercept) CPU 1:
# processes are pinned (taskset) and each veth end hands received packets to its own host's
# CPU (RPS, /sys/class/net/*/queues/rx-0/rps_cpus), as separate machines would.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
STEPS=${2:-"1 2 4 8 16 32 64 128"}
BIN=${BIN:-build/src}
OUT=bench/out/live
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "live_copy: needs root (network namespaces)" >&2; exit 1; }
for b in tcpreplay2 intercept; do
  [ -x "$BIN/$b" ] || { echo "live_copy: build first ($BIN/$b missing; BIN=dir to override)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "live_copy: wrk missing (scripts/install-deps)" >&2; exit 1; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "live_copy: nginx missing" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

P=tcprlive$$
C=${P}c; O=${P}o; T=${P}t; A=${P}a
WORK=$(mktemp -d /tmp/tcprlive.XXXXXX)
cleanup() {
  for n in "$C" "$O" "$T" "$A"; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  sleep 0.2
  for n in "$C" "$O" "$T" "$A"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

for n in "$C" "$O" "$T" "$A"; do ip netns add "$n"; ip -n "$n" link set lo up; done
# SPLIT=1: the CPU of each host (the online host on CPU 0, the others on CPU 1).
cpu_of() { [ "$1" = "$O" ] && echo 0 || echo 1; }
pin() {  # ns command... : runs the command pinned to its host's CPU with SPLIT=1
  local ns=$1; shift
  if [ -n "${SPLIT:-}" ]; then set -- taskset -c "$(cpu_of "$ns")" "$@"; fi
  ip netns exec "$ns" "$@"
}
veth() {  # ns_a if_a addr_a ns_b if_b addr_b
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  ip -n "$1" addr add "$3" dev "$2"; ip -n "$4" addr add "$6" dev "$5"
  # Wire-sized segments, as on a real network (no 64 kB GSO super-packets between namespaces).
  ip -n "$1" link set dev "$2" gso_max_segs 1 gso_max_size 1500 up
  ip -n "$4" link set dev "$5" gso_max_segs 1 gso_max_size 1500 up
  if [ -n "${SPLIT:-}" ]; then  # received packets are processed on the receiving host's CPU
    ip netns exec "$1" sh -c "echo $((1 << $(cpu_of "$1"))) >/sys/class/net/$2/queues/rx-0/rps_cpus"
    ip netns exec "$4" sh -c "echo $((1 << $(cpu_of "$4"))) >/sys/class/net/$5/queues/rx-0/rps_cpus"
  fi
}
veth "$C" co 10.88.1.1/24 "$O" oc 10.88.1.2/24
veth "$O" ot 10.88.2.1/24 "$T" to 10.88.2.2/24
veth "$T" ta 10.88.3.1/24 "$A" at 10.88.3.2/24
veth "$O" oa 10.88.4.1/24 "$A" ao 10.88.4.2/24
for n in "$O" "$T"; do
  ip netns exec "$n" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
ip netns exec "$T" sysctl -qw net.ipv4.conf.to.rp_filter=0 net.ipv4.conf.ta.rp_filter=0
ip netns exec "$A" sysctl -qw net.ipv4.ip_forward=0
# All the load comes from one client address: a 4-tuple can only be reused once the server
# forgot it (TIME_WAIT, 60 s, when nginx closes first), so 64k ports last a few seconds at the
# top steps of the "close" series, for wrk's connections to the online nginx (its rate then
# collapses, with or without the copy) as for the copies to the target. Neither server keeps
# TIME_WAIT here and tcpreplay2 lingers 2 s (--linger) instead of 60 s; production traffic has
# many client addresses.
ip netns exec "$O" sysctl -qw net.ipv4.tcp_max_tw_buckets=0
ip netns exec "$T" sysctl -qw net.ipv4.tcp_max_tw_buckets=0
ip netns exec "$C" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"
ip -n "$T" route add 10.88.1.0/24 via 10.88.3.2   # the copies' answers go to intercept

start_nginx() {  # ns dir listen
  mkdir -p "$2/www" "$2/tmp"
  sed -e "s#@PREFIX@#$2#g" -e "s#@LISTEN@#$3#g" samples/nginx.conf.in >"$2/nginx.conf"
  # Enough connections for the biggest step (x2: the copies), and no access-log buffering.
  sed -i -e 's/worker_connections 1024;/worker_connections 8192;/' "$2/nginx.conf"
  echo "index" >"$2/www/index.html"
  pin "$1" "$NGINX" -p "$2" -c "$2/nginx.conf" -e "$2/error.log" &
}
start_nginx "$O" "$WORK/online" 10.88.1.2:80
start_nginx "$T" "$WORK/target" 10.88.2.2:80
pin "$A" "$BIN/intercept" -i at -F 'tcp and src port 80' -b 10.88.4.2 -q \
  2>"$OUT/intercept.stderr" &
sleep 1
if [ -z "${NOCOPY:-}" ]; then  # NOCOPY=1: the same load without tcpreplay2 (the baseline)
  pin "$O" "$BIN/tcpreplay2" -i oc -p 80 --target 10.88.2.2:80 --intercept 10.88.4.2 \
    --max-active 1000000 --linger 2s --stats-interval 1s --report json "$OUT/report.json" \
    ${RECORD:+--record "$RECORD"} >"$OUT/tcpreplay2.stdout" 2>"$OUT/tcpreplay2.stderr" &
  for _ in $(seq 1 100); do grep -q "info: copying" "$OUT/tcpreplay2.stderr" 2>/dev/null && break; sleep 0.1; done
  grep -q "info: copying" "$OUT/tcpreplay2.stderr" || { cat "$OUT/tcpreplay2.stderr" >&2; exit 1; }
fi

pid_of() {  # ns comm -> pids
  local p
  for p in $(ip netns pids "$1"); do
    if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]; then echo "$p"; fi
  done
}
ticks() {  # utime+stime of the given pids, in clock ticks
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
lines() { wc -l <"$1" 2>/dev/null || echo 0; }
# Capture drops so far, from tcpreplay2's latest stats line (one per second).
drops_now() {
  { grep -o 'capture drops [0-9.kM]*' "$OUT/tcpreplay2.stderr" 2>/dev/null || echo "x 0"; } |
    tail -1 | awk '{v = $3; m = 1; if (v ~ /k$/) m = 1e3; if (v ~ /M$/) m = 1e6; sub(/[kM]$/, "", v); printf "%d", v * m}'
}
hz=$(getconf CLK_TCK)
REP=$(pid_of "$O" tcpreplay2)
ICPT=$(pid_of "$A" intercept)
NGX=$(pid_of "$O" nginx | tr '\n' ' ')
PERF=""
if [ -n "${PROFILE:-}" ]; then  # PROFILE=perf.data: CPU profiles of tcpreplay2 and the online nginx
  perf record -q -g -o "$PROFILE" -p "$(echo $REP $NGX | tr ' ' ',')" >/dev/null 2>&1 &
  PERF=$!
fi

table="| series | wrk connections | online requests/s | online requests | copied | copy ratio | capture drops | tcpreplay2 CPU µs/copied request | intercept CPU µs/copied request | online nginx CPU µs/request | tcpreplay2 CPU % |
|---|---|---|---|---|---|---|---|---|---|---|"
headline=""
for series in ${SERIES:-keep-alive close}; do
  below=0
  for c in $STEPS; do
    hdr=()
    [ "$series" = close ] && hdr=(-H "Connection: close")
    o0=$(lines "$WORK/online/access.log"); t0=$(lines "$WORK/target/access.log")
    r0=$(ticks $REP); i0=$(ticks $ICPT); n0=$(ticks $NGX); d0=$(drops_now)
    threads=$(( c < 2 ? 1 : 2 ))
    pin "$C" wrk -t "$threads" -c "$c" -d "${DUR}s" "${hdr[@]}" \
      http://10.88.1.2/small >"$OUT/wrk-$series-$c.txt" 2>&1 || true
    # Let the copies finish: until the target's log stops growing (at most 15 s).
    last=-1
    [ -n "${NOCOPY:-}" ] && last=$(lines "$WORK/target/access.log")
    for _ in $(seq 1 75); do
      now=$(lines "$WORK/target/access.log")
      [ "$now" = "$last" ] && break
      last=$now; sleep 0.2
    done
    o1=$(lines "$WORK/online/access.log"); t1=$(lines "$WORK/target/access.log")
    r1=$(ticks $REP); i1=$(ticks $ICPT); n1=$(ticks $NGX)
    sleep 1.1; d1=$(drops_now)  # a stats line after the step
    on=$((o1 - o0)); cp=$((t1 - t0))
    row=$(awk -v s="$series" -v c="$c" -v on="$on" -v cp="$cp" -v d="$DUR" -v hz="$hz" \
      -v r="$((r1 - r0))" -v i="$((i1 - i0))" -v n="$((n1 - n0))" -v dr="$((d1 - d0))" 'BEGIN {
        ratio = on > 0 ? cp / on : 0
        us = 1e6 / hz
        rc = cp > 0 ? r * us / cp : 0
        ic = cp > 0 ? i * us / cp : 0
        nc = on > 0 ? n * us / on : 0
        printf "| %s | %d | %.0f | %d | %d | %.4f | %d | %.1f | %.1f | %.1f | %.0f |", s, c, on / d,
          on, cp, ratio, dr, rc, ic, nc, 100 * r / hz / d }')
    echo "$row" >&2
    table+=$'\n'"$row"
    ratio=$(awk -v on="$on" -v cp="$cp" 'BEGIN { low = on > 0 && cp / on < 0.999; print low ? 1 : 0 }')
    if [ -z "${NOCOPY:-}" ] && [ "$ratio" = 1 ]; then
      [ "$below" = 0 ] && headline+="$series: the copy ratio first fell below 99.9% at $c connections ($(awk -v on="$on" -v d="$DUR" 'BEGIN{printf "%.0f", on/d}') requests/s). "
      below=$((below + 1))
      [ "$below" -ge 2 ] && break
    fi
  done
  [ "$below" = 0 ] && headline+="$series: no step below 99.9% (up to $c connections). "
done

if [ -n "$REP" ]; then
  kill -INT "$REP" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$REP" 2>/dev/null || break; sleep 0.1; done
fi
drops=$(grep -o '"kernel_drops": [0-9]*' "$OUT/report.json" 2>/dev/null | awk '{print $2}' || true)
profile=""
if [ -n "$PERF" ]; then
  kill -INT "$PERF" 2>/dev/null || true
  wait "$PERF" 2>/dev/null || true
  # Each process's samples and the share spent processing received packets in softirq: on a
  # veth mostly the receiving host's work (the target's stack and intercept's capture inside
  # tcpreplay2's sends, wrk's receive path inside nginx's), which separate machines run there.
  profile="Profile ($PROFILE; process, samples, share in softirq): $(python3 bench/softirq_share.py "$PROFILE" tcpreplay2 nginx | paste -sd ';' | sed 's/;/; /g')"
fi
{
  echo "$table"
  echo
  echo "$headline"
  echo
  echo "Capture: kernel drops over the whole run: ${drops:-?}. ${DUR} s per step; $(nproc) cores${SPLIT:+ (SPLIT=1: online host on CPU 0, the others on CPU 1)}; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  [ -z "$profile" ] || { echo; echo "$profile"; }
} | tee "$OUT/live.md"
