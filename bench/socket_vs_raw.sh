#!/usr/bin/env bash
# Socket vs raw transport (issue 5). The bundled sample (samples/http.pcap, imported by tcprec)
# is replayed at --speed max with the same --copies/--loop/--max-active into the same nginx, once
# with --transport socket (no intercept) and once raw (forged packets, intercept on the target
# behind a dummy interface: docs/replay.md, "Deployment", single host), in network namespaces
# this script creates and always removes; both transports are measured twice, over wire-sized
# segments and with GSO/GRO on the veth pair. Measured per run: requests/s and sessions/s nginx
# served (its access log over the replay's wall time), replayer CPU per request, and for raw
# also intercept's CPU per request. Prints a markdown section and puts it into
# docs/benchmarks.md under "## Socket vs raw transport" (replacing that section only).
# Needs root.
#   usage: bench/socket_vs_raw.sh [COPIES=100] [LOOPS=2] [MAX_ACTIVE=200]
#   BUILD=dir picks the build directory (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
COPIES=${1:-100}
LOOPS=${2:-2}
MAX_ACTIVE=${3:-200}
BUILD=${BUILD:-build}
TCPREC=$BUILD/src/tcprec
REPLAY=$BUILD/src/tcpreplay2
INTERCEPT=$BUILD/src/intercept
OUT=bench/out
DOC=docs/benchmarks.md
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "socket_vs_raw: needs root (network namespaces, raw replay)" >&2; exit 1; }
for b in "$TCPREC" "$REPLAY" "$INTERCEPT"; do
  [ -x "$b" ] || { echo "socket_vs_raw: build first ($b missing; BUILD=dir to use another)" >&2; exit 1; }
done
command -v nginx >/dev/null || { echo "socket_vs_raw: nginx missing (scripts/install-deps)" >&2; exit 1; }

ns_r=tcprsockR$$; ns_t=tcprsockT$$
work=$(mktemp -d /tmp/tcpr-sockbench.XXXXXX)
cleanup() {
  for n in "$ns_r" "$ns_t"; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  ip netns del "$ns_r" 2>/dev/null || true
  ip netns del "$ns_t" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# replayer 10.55.0.1 <-> target 10.55.0.2
ip netns add "$ns_r"; ip netns add "$ns_t"
ip link add eth0 netns "$ns_r" type veth peer name eth0 netns "$ns_t"
ip -n "$ns_r" addr add 10.55.0.1/24 dev eth0; ip -n "$ns_t" addr add 10.55.0.2/24 dev eth0
for n in "$ns_r" "$ns_t"; do
  ip -n "$n" link set eth0 up; ip -n "$n" link set lo up
  ip netns exec "$n" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
    net.ipv4.conf.eth0.rp_filter=0
done
# Raw replay, single host: the recorded client (10.99.0.1) is routed into a dummy interface on
# the target, where intercept captures the answers and the kernel drops them.
ip -n "$ns_t" link add tcpr0 type dummy 2>/dev/null || ip -n "$ns_t" link add tcpr0 type ifb
ip -n "$ns_t" addr add 10.56.0.1/24 dev tcpr0; ip -n "$ns_t" link set tcpr0 up
ip -n "$ns_t" route add 10.99.0.0/16 dev tcpr0
# Socket replay closes its connections first: many copies leave TIME_WAIT on the replayer side.
ip netns exec "$ns_r" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 65000"

# nginx with the sample's configuration (more connections than the 1024 of the tests).
mkdir -p "$work/ng/www" "$work/ng/tmp"
sed -e "s#@PREFIX@#$work/ng#g" -e "s#@LISTEN@#10.55.0.2:80#" -e "s#worker_connections 1024#worker_connections 8192#" \
  samples/nginx.conf.in > "$work/ng/nginx.conf"
echo '<html>tcpr test</html>' > "$work/ng/www/index.html"
for i in $(seq 1 3072); do
  printf 'tcpr /large line %06d: %s\n' "$i" 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:;,!?+*/='
done > "$work/ng/www/large"
ip netns exec "$ns_t" bash -c "ulimit -n \$(ulimit -Hn); exec nginx -p $work/ng -c $work/ng/nginx.conf -e $work/ng/error.log" &
for _ in $(seq 50); do [ -s "$work/ng/nginx.pid" ] && break; sleep 0.1; done
sleep 0.3

"$TCPREC" -q -r samples/http.pcap -o "$work/http.pcap.zst"

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# TCP segments the target retransmitted so far (its namespace's /proc/net/snmp, RetransSegs).
retrans() { ip netns exec "$ns_t" awk '/^Tcp:/ { if (h) print $13; h = 1 }' /proc/net/snmp; }
hz=$(getconf CLK_TCK)
log=$work/ng/access.log

# run NAME ARGS...: one replay; prints
# "name|requests|sessions|wall_s|replayer_cpu_s|extra_cpu_s|failed|differ|retransmitted"
run() {
  local name=$1; shift
  local before after extra_before extra_after
  before=$(wc -l < "$log" 2>/dev/null || echo 0)
  local retrans_before
  retrans_before=$(retrans)
  extra_before=0
  [ -n "${EXTRA_PID:-}" ] && extra_before=$(cpu_ticks "$EXTRA_PID")
  /usr/bin/time -f "%U %S" -o "$work/$name.time" \
    ip netns exec "$ns_r" "$REPLAY" --in "$work/http.pcap.zst" \
      --target 10.55.0.2:80 --speed max --copies "$COPIES" --loop "$LOOPS" --max-active "$MAX_ACTIVE" \
      --timeout 10s -q --report json "$work/$name.json" "$@" > "$OUT/socket_vs_raw.$name.txt" 2>&1 || true
  sleep 0.5
  after=$(wc -l < "$log")
  extra_after=0
  [ -n "${EXTRA_PID:-}" ] && extra_after=$(cpu_ticks "$EXTRA_PID")
  local requests=$((after - before))
  # sessions = distinct nginx connection numbers among the new lines
  local sessions
  sessions=$(tail -n "+$((before + 1))" "$log" | awk '{print $(NF-1)}' | sort -u | wc -l)
  local wall failed
  wall=$(python3 -c "import json;print(json.load(open('$work/$name.json'))['wall_ns']/1e9)")
  failed=$(python3 -c "import json;d=json.load(open('$work/$name.json'))['sessions'];print(d['reset_by_target']+d['timed_out']+d['aborted'])")
  # answers not as recorded: socket compares first lines and lengths, raw first lines only
  local differ
  differ=$(python3 -c "import json;d=json.load(open('$work/$name.json'));print(d['socket']['responses_differ'] if d['transport'].startswith('socket') else d['status_lines']['mismatch'])")
  local cpu
  cpu=$(tail -n 1 "$work/$name.time" | awk '{printf "%.3f", $1+$2}')  # after any exit-status line
  local extra
  extra=$(awk -v a="$extra_before" -v b="$extra_after" -v h="$hz" 'BEGIN{printf "%.3f", (b-a)/h}')
  echo "$name|$requests|$sessions|$wall|$cpu|$extra|$failed|$differ|$(($(retrans) - retrans_before))"
}

# Two link setups, both transports in each: wire-sized segments (GSO off on the veth pair, as
# on a real network and in the e2e tests) and GSO/GRO on (a host with offloads; 64 kB
# super-packets between the namespaces).
set_links() {  # segs size
  for n in "$ns_r" "$ns_t"; do ip -n "$n" link set dev eth0 gso_max_segs "$1" gso_max_size "$2"; done
}
load=$(cut -d' ' -f1-3 /proc/loadavg)
ip netns exec "$ns_t" "$INTERCEPT" -i tcpr0 -F 'tcp and src port 80' -b 10.55.0.2 -q &
for _ in $(seq 50); do
  ip netns exec "$ns_t" ss -ltn 2>/dev/null | grep -q ':36524' && break; sleep 0.1
done
icpt_pid=$(ip netns pids "$ns_t" | while read -r p; do [ "$(cat /proc/$p/comm 2>/dev/null)" = intercept ] && echo "$p"; done | head -1)
[ -n "$icpt_pid" ] || { echo "socket_vs_raw: intercept did not start" >&2; exit 1; }
declare -A results
pass=0
for links in wire offload; do
  pass=$((pass + 1))
  if [ "$links" = wire ]; then set_links 1 1500; else set_links 65535 65536; fi
  sleep 1
  EXTRA_PID=
  results[$links.socket]=$(run "$links-socket" --transport socket --diff "$OUT/socket_vs_raw.$links.diff.txt")
  sleep 1
  EXTRA_PID=$icpt_pid
  # Fresh client addresses per pass: the target may still hold the last pass's tuples in
  # TIME_WAIT (sessions it closed first), and a SYN on such a tuple is not answered.
  results[$links.raw]=$(run "$links-raw" --intercept 10.55.0.2 --client-pool "10.99.$pass.0/24")
done

expected=$((17 * COPIES * LOOPS))
table() {  # links
  echo "| transport | requests served | sessions | wall s | requests/s | sessions/s | replayer CPU s | replayer CPU µs/request | intercept CPU µs/request | failed sessions | answers not as recorded | target TCP retransmissions |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for t in socket raw; do
    IFS='|' read -r name req ses wall cpu extra failed differ rt <<<"${results[$1.$t]}"
    awk -v n="$t" -v q="$req" -v s="$ses" -v w="$wall" -v c="$cpu" -v x="$extra" -v f="$failed" -v d="$differ" -v r="$rt" 'BEGIN{
      icpt = (n == "raw" && q > 0) ? sprintf("%.1f", x * 1e6 / q) : "-";
      printf "| %s | %d | %d | %.2f | %.0f | %.0f | %.2f | %.1f | %s | %d | %d | %d |\n", n, q, s, w, (w>0)?q/w:0, (w>0)?s/w:0, c, (q>0)?c*1e6/q:0, icpt, f, d, r }'
  done
}
{
  echo "## Socket vs raw transport"
  echo
  echo "\`bench/socket_vs_raw.sh $COPIES $LOOPS $MAX_ACTIVE\`: the bundled sample (9 sessions, 17 HTTP requests,"
  echo "~860 kB of responses per pass) replayed into nginx over a veth pair with \`--speed max"
  echo "--copies $COPIES --loop $LOOPS --max-active $MAX_ACTIVE\`: $((9 * COPIES * LOOPS)) sessions, $expected requests per run."
  echo "Raw: intercept on the target behind a dummy interface (single-host deployment), client"
  echo "addresses from a fresh \`--client-pool\` per pass. Rates are"
  echo "what nginx logged over the replay's wall time; CPU is user+system time of the process;"
  echo "\"answers not as recorded\": socket compares first lines and lengths, raw first lines only."
  echo
  echo "Wire-sized segments (GSO off on the veth pair, as on a real network):"
  echo
  table wire
  echo
  echo "GSO/GRO on (64 kB super-packets between the namespaces, as between containers on one host):"
  echo
  table offload
  echo
  echo "Measured on $(nproc) cores ($(uname -r)), load average $load at the start; nginx, the"
  echo "replayer and intercept share the cores."
} > "$OUT/socket_vs_raw.md"
cat "$OUT/socket_vs_raw.md"

# Put the section into docs/benchmarks.md (replace it if there, else append).
python3 - "$DOC" "$OUT/socket_vs_raw.md" <<'EOF'
import re, sys
doc, section = sys.argv[1], open(sys.argv[2]).read().rstrip() + "\n"
try:
    text = open(doc).read()
except FileNotFoundError:
    text = "# Benchmarks\n"
head = "## Socket vs raw transport"
notes_head = "### Reading the socket vs raw numbers"  # hand-written, kept across runs
start = text.find(head + "\n")
if start < 0:
    text = text.rstrip() + "\n\n" + section
else:
    nxt = text.find("\n## ", start + len(head))
    old = text[start:nxt + 1] if nxt >= 0 else text[start:]
    rest = text[nxt + 1:] if nxt >= 0 else ""
    n = old.find(notes_head)
    notes = "\n" + old[n:].rstrip() + "\n" if n >= 0 else ""
    text = text[:start] + section + notes + ("\n" + rest if rest else "")
open(doc, "w").write(text)
EOF
echo "socket_vs_raw: wrote $OUT/socket_vs_raw.md and the section in $DOC" >&2
