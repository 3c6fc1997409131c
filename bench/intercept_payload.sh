#!/usr/bin/env bash
# Intercept's bandwidth and CPU with payload forwarding (issue 13, intercept protocol version 2).
# The same recording (the bundled samples/http.pcap imported by tcprec: 9 sessions, 17 requests,
# two ~300 kB answers among 15 small ones) is replayed raw at --speed max --copies COPIES
# --loop LOOPS, in ROUNDS rounds of two modes, alternating which goes first:
#   A  comparison on (the default: tcpreplay2 asks for the payload feature, intercept forwards
#      every captured payload byte),
#   B  --no-compare (tcpreplay2 does not ask: intercept forwards the first 64 bytes, as in
#      protocol version 1).
# Lab (network namespaces this script creates and always removes; IPv6 off, so no neighbour
# discovery counts):
#   replayer ns --rpv/tgv-- target ns (nginx) --tg2/asv-- assistant ns (intercept on asv)
#   replayer ns --rp3/as3-- assistant ns: the replayer's connection to intercept, nothing else
# The target routes the client addresses (10.99.0.0/16) to the assistant, where intercept
# captures the answers and the kernel drops them (forwarding off). The answers' path has
# wire-sized segments (GSO off: intercept captures and reports every 1448-byte segment, as on a
# real network); the report link keeps the veth's segmentation offload, as a NIC with TSO would
# (REPORT_LINK=wire: wire-sized there too, so intercept's sends pay per 1448-byte segment).
# Per run (intercept restarted for each, so its exit summary is the run's own):
#   - report bytes: the as3 veth's tx bytes and packets (skbs) in the assistant namespace over
#     the replay. That link carries only the intercept->replayer TCP connection (and a rare ARP
#     frame), and every skb on it, a 64 kB GSO one too, holds one Ethernet + IP + TCP header
#     (66 bytes with timestamps), so the report traffic's TCP payload (the protocol's frames,
#     plus any TCP retransmissions of them: counted apart, from the assistant namespace's
#     RetransSegs, where intercept's is the only TCP) is tx_bytes - 66 * tx_packets, whatever
#     the segmentation; on a wire add 66 bytes per 1448 (+4.6%);
#   - answer bytes: the HTTP bytes nginx sent ($bytes_sent in its access log: headers + bodies,
#     the TCP payload of the answers without retransmissions; the replayer's own count,
#     responses.bytes, is checked against it), and the target's packets toward intercept (tg2
#     tx_packets: every answer segment, SYN-ACKs, ACKs and FINs included);
#   - intercept's CPU: utime+stime from /proc/PID/stat just before and after the replay;
#   - the replayer's CPU (/usr/bin/time user+sys), requests replayed and wall time (its JSON
#     report), reports received, retransmissions and answer bytes never reported;
#   - intercept's exit summary: "dropped for slow replayers" and "kernel drops"; and whether it
#     logged "reads too slowly"; drops on the veths (tx_dropped/rx_dropped), the target's TCP
#     retransmissions, and (mode A) the answers whose body the replayer could not compare.
# Prints a table with every run, the per-mode medians (min-max) and the ratios A/B; also saved
# to bench/out/intercept_payload/intercept_payload.md. The machine may be shared: the load
# average at start and end is part of the output. Needs root. About a minute with the defaults.
#   usage: bench/intercept_payload.sh [ROUNDS=3] [LOOPS=100] [COPIES=3]
#   env: BUILD=build (build directory), MAX_ACTIVE=256, RUN_TIMEOUT=120 (seconds per replay),
#        REPORT_LINK=offload|wire
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
LOOPS=${2:-100}
COPIES=${3:-3}
BUILD=${BUILD:-build}
MAX_ACTIVE=${MAX_ACTIVE:-256}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
REPORT_LINK=${REPORT_LINK:-offload}
TCPREC=$BUILD/src/tcprec
REPLAY=$BUILD/src/tcpreplay2
INTERCEPT=$BUILD/src/intercept
OUT=bench/out/intercept_payload
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "intercept_payload: needs root (network namespaces, raw replay)" >&2; exit 1; }
for b in "$TCPREC" "$REPLAY" "$INTERCEPT"; do
  [ -x "$b" ] || { echo "intercept_payload: build first ($b missing; BUILD=dir to use another)" >&2; exit 1; }
done
for t in nginx python3; do
  command -v $t >/dev/null || { echo "intercept_payload: $t missing (scripts/install-deps)" >&2; exit 1; }
done
case "$REPORT_LINK" in offload|wire) ;; *) echo "intercept_payload: REPORT_LINK offload or wire" >&2; exit 2 ;; esac
(( ROUNDS >= 1 && ROUNDS <= 10 && LOOPS >= 1 && LOOPS <= 2000 && COPIES >= 1 && COPIES <= 100 )) ||
  { echo "intercept_payload: ROUNDS 1-10, LOOPS 1-2000, COPIES 1-100" >&2; exit 2; }

RP=tcprip-rp-$$; TG=tcprip-tg-$$; AS=tcprip-as-$$
work=$(mktemp -d /tmp/tcpr-icptpay.XXXXXX)
cleanup() {
  local ns
  for ns in "$RP" "$TG" "$AS"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  done
  sleep 0.3
  for ns in "$RP" "$TG" "$AS"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
load_now() { cut -d' ' -f1-3 /proc/loadavg; }
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
stat_of() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }  # ns dev counter
wait_for() {  # tries command...: every 0.1 s
  local n=$1; shift
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "intercept_payload: timed out waiting for: $*" >&2; return 1
}
json_fields() {  # file key.path... -> the values joined by "|"
  python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); out=[]
for key in sys.argv[2:]:
    if key == "bodies_not_compared":  # answered requests whose body was not compared
        e=d["endpoints"]
        out.append(str(sum(x["requests"] - x["body_compared"] for x in e) if e else "-"))
        continue
    v=d
    for k in key.split("."): v=v[k]
    out.append(str(v))
print("|".join(out))' "$@"
}

# ---- namespaces ---------------------------------------------------------------------------
ip netns add "$RP"; ip netns add "$TG"; ip netns add "$AS"
ip link add rpv netns "$RP" type veth peer name tgv netns "$TG"
ip link add tg2 netns "$TG" type veth peer name asv netns "$AS"
ip link add rp3 netns "$RP" type veth peer name as3 netns "$AS"
ip -n "$RP" addr add 10.78.1.1/24 dev rpv; ip -n "$TG" addr add 10.78.1.2/24 dev tgv
ip -n "$TG" addr add 10.78.2.2/24 dev tg2; ip -n "$AS" addr add 10.78.2.3/24 dev asv
ip -n "$RP" addr add 10.78.3.1/24 dev rp3; ip -n "$AS" addr add 10.78.3.3/24 dev as3
for ns in "$RP" "$TG" "$AS"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  ip -n "$ns" link set lo up
done
for pair in "$RP rpv" "$TG tgv" "$TG tg2" "$AS asv" "$RP rp3" "$AS as3"; do
  set -- $pair
  ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" "net.ipv4.conf.$2.rp_filter=0"
  # The answers' path: wire-sized segments, as on a real network (intercept sees every segment,
  # no 64 kB super-packets). The report link: as REPORT_LINK says.
  case "$2" in
    rp3|as3) if [ "$REPORT_LINK" = wire ]; then ip -n "$1" link set dev "$2" gso_max_segs 1 gso_max_size 1500; fi ;;
    *) ip -n "$1" link set dev "$2" gso_max_segs 1 gso_max_size 1500 ;;
  esac
  ip -n "$1" link set "$2" up
done
set --
ip -n "$TG" route add 10.99.0.0/16 via 10.78.2.3
ip netns exec "$TG" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096

# ---- target: nginx with the sample's configuration ----------------------------------------
mkdir -p "$work/ng/www" "$work/ng/tmp"
sed -e "s#@PREFIX@#$work/ng#g" -e "s#@LISTEN@#10.78.1.2:80 backlog=4096#" \
  -e "s#worker_connections 1024#worker_connections 8192#" samples/nginx.conf.in >"$work/ng/nginx.conf"
echo '<html>tcpr test</html>' >"$work/ng/www/index.html"
for i in $(seq 1 3072); do
  printf 'tcpr /large line %06d: %s\n' "$i" 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:;,!?+*/='
done >"$work/ng/www/large"
ip netns exec "$TG" nginx -p "$work/ng" -c "$work/ng/nginx.conf" -e "$work/ng/error.log" &
wait_for 50 test -s "$work/ng/nginx.pid"
wait_for 50 bash -c "ip netns exec $TG ss -ltn | grep -q 10.78.1.2:80"
access=$work/ng/access.log

"$TCPREC" -q -r samples/http.pcap -o "$work/http.pcap.zst"

# ---- one run ------------------------------------------------------------------------------
icpt_pid=
start_intercept() {  # logfile
  ip netns exec "$AS" "$INTERCEPT" -i asv -F 'tcp and src port 80' -b 10.78.3.3 2>"$1" &
  wait_for 50 bash -c "ip netns exec $AS ss -ltn | grep -q 10.78.3.3:36524"
  icpt_pid=$(ip netns pids "$AS" | while read -r p; do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = intercept ] && echo "$p"; done | head -1)
  [ -n "$icpt_pid" ] || { echo "intercept_payload: intercept did not start" >&2; exit 1; }
}
stop_intercept() {
  kill -INT "$icpt_pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$icpt_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$icpt_pid" 2>/dev/null && kill -9 "$icpt_pid" 2>/dev/null || true
  icpt_pid=
}
# TCP segments the target retransmitted so far (its namespace's /proc/net/snmp, RetransSegs).
# In the assistant's namespace the only TCP is intercept's: its report connections.
retrans() { ip netns exec "${1:-$TG}" awk '/^Tcp:/ { if (h) print $13; h = 1 }' /proc/net/snmp; }
bytes_sent_sum() {  # access-log lines from N on -> sum of $bytes_sent
  tail -n "+$1" "$access" | awk '{s += $(NF-2)} END {printf "%d", s}'
}

# run ROUND MODE RUN_NO: prints one "|"-separated row (see the header in the python below)
run() {
  local round=$1 mode=$2 n=$3 name=$2$1
  local extra=()
  [ "$mode" = B ] && extra=(--no-compare)
  local ilog=$OUT/intercept-$name.log
  start_intercept "$ilog"
  sleep 0.3
  local l0 a0 ap0 t0 tp0 ar0 i0 lines0 vd0 rt0 ld0 art0
  l0=$(cut -d' ' -f1 /proc/loadavg)
  lines0=$(($(wc -l <"$access") + 1))
  a0=$(stat_of "$AS" as3 tx_bytes); ap0=$(stat_of "$AS" as3 tx_packets); ar0=$(stat_of "$AS" as3 rx_bytes)
  t0=$(stat_of "$TG" tg2 tx_bytes); tp0=$(stat_of "$TG" tg2 tx_packets)
  vd0=$(( $(stat_of "$TG" tg2 tx_dropped) + $(stat_of "$AS" asv rx_dropped) )); rt0=$(retrans)
  ld0=$(( $(stat_of "$AS" as3 tx_dropped) + $(stat_of "$RP" rp3 rx_dropped) )); art0=$(retrans "$AS")
  i0=$(cpu_ticks "$icpt_pid")
  local rc=0
  timeout -s INT "$RUN_TIMEOUT" ip netns exec "$RP" /usr/bin/time -f '%e %U %S' -o "$OUT/replay-$name.time" \
    "$REPLAY" --in "$work/http.pcap.zst" --target 10.78.1.2:80 --intercept 10.78.3.3 \
    --speed max --copies "$COPIES" --loop "$LOOPS" --max-active "$MAX_ACTIVE" \
    --client-pool "10.99.$n.0/24" --timeout 10s -q --report json "$OUT/replay-$name.json" \
    "${extra[@]}" >"$OUT/replay-$name.txt" 2>&1 || rc=$?
  local i1 a1 ap1 ar1 t1 tp1 vd1 rt1 ld1 art1
  i1=$(cpu_ticks "$icpt_pid")
  a1=$(stat_of "$AS" as3 tx_bytes); ap1=$(stat_of "$AS" as3 tx_packets); ar1=$(stat_of "$AS" as3 rx_bytes)
  t1=$(stat_of "$TG" tg2 tx_bytes); tp1=$(stat_of "$TG" tg2 tx_packets)
  vd1=$(( $(stat_of "$TG" tg2 tx_dropped) + $(stat_of "$AS" asv rx_dropped) )); rt1=$(retrans)
  ld1=$(( $(stat_of "$AS" as3 tx_dropped) + $(stat_of "$RP" rp3 rx_dropped) )); art1=$(retrans "$AS")
  stop_intercept
  sleep 0.3  # nginx writes its log lines at each request's end
  local answer; answer=$(bytes_sent_sum "$lines0")
  local served; served=$(($(wc -l <"$access") - lines0 + 1))
  local j=$OUT/replay-$name.json
  [ -s "$j" ] || { echo "intercept_payload: run $name wrote no report (exit status $rc):" >&2
    tail -n 5 "$OUT/replay-$name.txt" >&2; exit 1; }
  local cpu; cpu=$(tail -n 1 "$OUT/replay-$name.time" | awk '{printf "%.3f", $2+$3}')
  local summary dropped kdrops slow
  summary=$(grep -E 'stopped after' "$ilog" | tail -1 || true)
  dropped=$(sed -nE 's/.* ([0-9]+) dropped for slow replayers.*/\1/p' <<<"$summary")
  kdrops=$(sed -nE 's/.*kernel drops ([0-9]+).*/\1/p' <<<"$summary")
  slow=$(grep -c 'reads too slowly' "$ilog" || true)
  local rs rb nr reports wall retrans completed planned nc
  IFS='|' read -r rs rb nr reports wall retrans completed planned nc <<<"$(json_fields "$j" requests.sent \
    responses.bytes responses.bytes_not_reported intercept_link.reports wall_ns packets.retransmissions \
    sessions.completed sessions.planned bodies_not_compared)"
  echo "$round|$mode|$rc|$rs|$served|$answer|$rb|$nr|$((t1 - t0))|$((tp1 - tp0))|$((a1 - a0))|$((ap1 - ap0))|$((ar1 - ar0))|$reports|$((i1 - i0))|$cpu|$wall|$retrans|$completed|$planned|${dropped:-?}|${kdrops:-?}|$slow|$l0|$(cut -d' ' -f1 /proc/loadavg)|$((vd1 - vd0))|$((rt1 - rt0))|$nc|$((ld1 - ld0))|$((art1 - art0))"
}

load_start=$(load_now); up_start=$(uptime); t_start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "start: $up_start"
rows=()
n=0
for round in $(seq 1 "$ROUNDS"); do
  order="A B"
  [ $((round % 2)) = 0 ] && order="B A"
  for mode in $order; do
    n=$((n + 1))
    log "round $round, mode $mode (run $n), load $(load_now)"
    rows+=("$(run "$round" "$mode" "$n")")
    log "  ${rows[-1]}"
    sleep 1
  done
done
load_end=$(load_now); up_end=$(uptime); t_end=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "end: $up_end"

python3 - "$hz" "$LOOPS" "$COPIES" "$MAX_ACTIVE" "$REPORT_LINK" "$load_start" "$load_end" "$t_start" "$t_end" \
  "$(nproc)" "$(uname -r)" "${rows[@]}" <<'EOF' | tee "$OUT/intercept_payload.md"
import statistics, sys
hz, loops, copies, max_active, link = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
load0, load1, t0, t1, cores, kernel = sys.argv[6:12]
keys = ("round mode rc requests served answer resp_bytes not_reported tg2_bytes tg2_packets "
        "rep_bytes rep_packets rep_rx_bytes reports icpt_ticks replayer_cpu wall_ns retrans "
        "completed planned dropped kdrops slow load0 load1 veth_drops target_retrans not_compared link_drops icpt_retrans").split()
runs = []
for line in sys.argv[12:]:
    r = dict(zip(keys, line.split("|")))
    for k in keys:
        if k not in ("mode", "load0", "load1", "dropped", "kdrops", "replayer_cpu", "not_compared"):
            r[k] = int(r[k])
    r["replayer_cpu"] = float(r["replayer_cpu"])
    r["icpt_cpu"] = r["icpt_ticks"] / hz
    r["wall"] = r["wall_ns"] / 1e9
    r["rep_payload"] = r["rep_bytes"] - 66 * r["rep_packets"]  # Ethernet 14 + IP 20 + TCP 32 per skb
    r["per_answer"] = r["rep_payload"] / r["answer"] if r["answer"] else 0
    r["per_report"] = r["rep_payload"] / r["reports"] if r["reports"] else 0
    r["icpt_us_req"] = r["icpt_cpu"] * 1e6 / r["requests"] if r["requests"] else 0
    r["icpt_us_pkt"] = r["icpt_cpu"] * 1e6 / r["reports"] if r["reports"] else 0
    r["rp_us_req"] = r["replayer_cpu"] * 1e6 / r["requests"] if r["requests"] else 0
    r["mbps"] = r["rep_payload"] * 8 / r["wall"] / 1e6 if r["wall"] else 0
    runs.append(r)

MiB = 1024 * 1024
print(f"Every run: `--speed max --copies {copies} --loop {loops} --max-active {max_active}`, raw transport; report link: "
      f"{'segmentation offload (64 kB skbs)' if link == 'offload' else 'wire-sized segments'}; "
      f"{t0} to {t1}; {cores} cores ({kernel}); load average {load0} at the start, {load1} at the end.")
print()
print("| round | mode | requests replayed | answer bytes (nginx) | answer packets (target → intercept) | reports | report bytes (TCP payload) | intercept's TCP retransmissions / report link drops | report bytes / answer byte | bytes / report | report Mbit/s | intercept CPU s | intercept µs/report | replayer CPU s | replayer µs/request | wall s | replayer retransmissions | target retransmissions | veth drops target → intercept | answer bytes never reported | answers whose body was not compared | intercept: dropped for slow / kernel drops / \"reads too slowly\" | load before, after |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in runs:
    print(f"| {r['round']} | {r['mode']} | {r['requests']:,} | {r['answer']/MiB:.1f} MiB | {r['tg2_packets']:,} | {r['reports']:,} | "
          f"{r['rep_payload']/MiB:.1f} MiB | {r['icpt_retrans']:,} / {r['link_drops']:,} | {r['per_answer']:.3f} | {r['per_report']:.0f} | {r['mbps']:.0f} | "
          f"{r['icpt_cpu']:.2f} | {r['icpt_us_pkt']:.1f} | {r['replayer_cpu']:.2f} | {r['rp_us_req']:.0f} | {r['wall']:.2f} | "
          f"{r['retrans']:,} | {r['target_retrans']:,} | {r['veth_drops']:,} | {r['not_reported']:,} | {r['not_compared']} | {r['dropped']} / {r['kdrops']} / {r['slow']} | {r['load0']}, {r['load1']} |")
print()
cols = [
    ("requests replayed", "requests", "{:,.0f}"),
    ("answer bytes (nginx), MiB", lambda r: r["answer"] / MiB, "{:.1f}"),
    ("reports", "reports", "{:,.0f}"),
    ("report bytes (TCP payload), MiB", lambda r: r["rep_payload"] / MiB, "{:.2f}"),
    ("intercept's TCP retransmissions (report link)", "icpt_retrans", "{:,.0f}"),
    ("report bytes / answer byte", "per_answer", "{:.3f}"),
    ("report bytes / report", "per_report", "{:.0f}"),
    ("report Mbit/s (over the wall time)", "mbps", "{:.0f}"),
    ("replayer → intercept, KiB (Register, Ping, ACKs; wire)", lambda r: r["rep_rx_bytes"] / 1024, "{:,.0f}"),
    ("intercept CPU s", "icpt_cpu", "{:.2f}"),
    ("intercept CPU µs/report", "icpt_us_pkt", "{:.1f}"),
    ("replayer CPU s", "replayer_cpu", "{:.2f}"),
    ("replayer CPU µs/request", "rp_us_req", "{:.0f}"),
    ("wall s", "wall", "{:.2f}"),
]
print("| median (min-max) | A: comparison on (payloads) | B: --no-compare (64-byte heads) | A/B |")
print("|---|---|---|---|")
for name, key, fmt in cols:
    get = key if callable(key) else (lambda r, k=key: r[k])
    vals = {m: [get(r) for r in runs if r["mode"] == m] for m in "AB"}
    if not vals["A"] or not vals["B"]:
        continue
    cell = {m: f"{fmt.format(statistics.median(v))} ({fmt.format(min(v))}-{fmt.format(max(v))})" for m, v in vals.items()}
    mb = statistics.median(vals["B"])
    ratio = f"{statistics.median(vals['A']) / mb:.2f}" if mb else "-"
    print(f"| {name} | {cell['A']} | {cell['B']} | **{ratio}** |")
print()
for r in runs:
    if r["rc"] != 0 or r["completed"] != r["planned"]:
        print(f"- round {r['round']} mode {r['mode']}: exit status {r['rc']}, {r['completed']} of {r['planned']} sessions completed")
ov = [(r["rep_payload"] - r["answer"]) / r["reports"] for r in runs if r["mode"] == "A" and r["reports"]]
if ov:
    print(f"- A: report bytes minus answer bytes = {statistics.median(ov):.1f} bytes per report (median; the protocol:"
          " 41 bytes per IPv4 report, 20 per Reports frame, plus HelloAck and Ping echoes)")
same = all(r["resp_bytes"] == r["answer"] for r in runs)
print("- answer bytes: nginx's $bytes_sent; the replayer's own count (responses.bytes) "
      + ("equals it in every run" if same else "differs: " + ", ".join(
          f"{r['mode']}{r['round']} {r['resp_bytes']} vs {r['answer']}" for r in runs if r["resp_bytes"] != r["answer"])))
nr = [r for r in runs if r["not_reported"]]
if nr:
    print(f"- answer bytes never reported: {len(nr)} of {len(runs)} runs"
          f" ({', '.join(r['mode'] + str(r['round']) + ' ' + format(r['not_reported'], ',') for r in nr)});"
          f" target retransmissions in those runs {sum(r['target_retrans'] for r in nr):,}, veth drops"
          f" {sum(r['veth_drops'] for r in nr):,}, intercept drops as below. The replayer counts bytes it"
          " never saw before a later sequence number: a lost segment, or one reported out of order")
drops = [r for r in runs if r["dropped"] not in ("0", "?") or r["kdrops"] not in ("0", "?") or r["slow"]]
print("- intercept drops: " + ("none in any run" if not drops else ", ".join(
    f"{r['mode']}{r['round']}: {r['dropped']} reports dropped for slow replayers, {r['kdrops']} kernel drops"
    for r in drops)) + " (intercept's exit summary per run: bench/out/intercept_payload/intercept-*.log)")
EOF
