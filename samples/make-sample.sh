#!/usr/bin/env bash
# Regenerates the bundled sample samples/http.pcap: real HTTP/1.1 traffic between curl and nginx
# in two network namespaces this script creates (and always removes), captured with tcpdump on
# the server's interface. If a built tcprec is found ($TCPREC, else build/src/tcprec) it records
# the same traffic at the same time, as a cross-check (its archive is not kept).
#
# Usage (root): samples/make-sample.sh [OUTPUT_DIR]   (default: samples/)
# Writes OUTPUT_DIR/http.pcap and OUTPUT_DIR/http.access.log (nginx's log of the requests).
# The sessions it holds are listed in samples/README.md; keep the two in step.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
outdir=$(cd "${1:-$here}" && pwd)
tcprec=${TCPREC:-$repo/build/src/tcprec}

die() { echo "make-sample: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (it builds network namespaces)"
for tool in ip nginx curl tcpdump setsid taskset; do
    command -v "$tool" >/dev/null || die "'$tool' not found (scripts/install-deps installs it)"
done

# Fixed addresses and ports: the sample is the same on every run except for timestamps, TCP
# sequence numbers and the order of the overlapping connections.
client_ip=10.99.0.1
server_ip=10.99.0.2
tag="tcprs-$$"
cns="$tag-client"
sns="$tag-server"
work=$(mktemp -d /tmp/tcpr-sample.XXXXXX)
bg_pids=()

cleanup() {
    local pid
    for pid in "${bg_pids[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    for pid in "${bg_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    ip netns del "$cns" 2>/dev/null || true
    ip netns del "$sns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Starts a command in the background as the leader of its own process group (killed with its
# children at exit); its pid is in $last_pid.
start_bg() {
    local log=$1
    shift
    setsid "$@" >"$log" 2>&1 &
    last_pid=$!
    bg_pids+=("$last_pid")
}

# Waits (at most 10 s) until `cmd...` succeeds.
wait_for() {
    local i
    for i in $(seq 1 100); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

echo "make-sample: building namespaces $cns and $sns" >&2
ip netns add "$cns"
ip netns add "$sns"
ip link add eth0 netns "$cns" type veth peer name eth0 netns "$sns"
for ns in "$cns" "$sns"; do
    ip -n "$ns" link set lo up
    # Wire-sized segments, real checksums: no GSO/TSO super-packets, no checksum offload
    # (ethtool), so the capture looks like one taken on a real network.
    ip -n "$ns" link set dev eth0 gso_max_segs 1 gso_max_size 1500
    if command -v ethtool >/dev/null; then
        ip netns exec "$ns" ethtool -K eth0 tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    else
        echo "make-sample: warning: ethtool not found: checksums are left to offload" >&2
    fi
done
ip -n "$cns" addr add "$client_ip/24" dev eth0
ip -n "$sns" addr add "$server_ip/24" dev eth0
ip -n "$cns" link set eth0 up
ip -n "$sns" link set eth0 up

# nginx with the shared configuration; www/large is 3072 lines of 100 bytes (307200 bytes),
# the same bytes the end-to-end tests serve (tests/support/netns_lab.cpp).
prefix="$work/nginx"
mkdir -p "$prefix/www" "$prefix/tmp"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@LISTEN@|$server_ip:80|g" "$here/nginx.conf.in" \
    >"$prefix/nginx.conf"
echo "<html>tcpr test</html>" >"$prefix/www/index.html"
filler='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:;,!?+*/='
for i in $(seq 1 3072); do
    printf 'tcpr /large line %06d: %s\n' "$i" "$filler"
done >"$prefix/www/large"
[ "$(stat -c %s "$prefix/www/large")" -eq 307200 ] || die "www/large has the wrong size"
# nginx and curl run on CPU 0 only: a veth delivers packets through per-CPU queues, and a
# sender hopping between CPUs can reorder its own segments (then the capture shows duplicate
# ACKs and fast retransmissions that have nothing to do with the application).
start_bg "$work/nginx.out" taskset -c 0 ip netns exec "$sns" nginx -p "$prefix" -c "$prefix/nginx.conf" \
    -e "$prefix/error.log"
wait_for ip netns exec "$sns" sh -c "ss -Hltn 'sport = :80' | grep -q ." ||
    die "nginx did not start: $(cat "$work/nginx.out" "$prefix/error.log" 2>/dev/null)"

# Recorders: tcpdump (the sample) and, if built, tcprec (cross-check).
start_bg "$work/tcpdump.err" ip netns exec "$sns" tcpdump -i eth0 -s 0 -U -Z root \
    -w "$work/http.pcap" "tcp port 80"
tcpdump_pid=$last_pid
wait_for grep -q "listening on" "$work/tcpdump.err" || die "tcpdump did not start"
tcprec_pid=
if [ -x "$tcprec" ]; then
    start_bg "$work/tcprec.err" ip netns exec "$sns" "$tcprec" -i eth0 -p 80 -q \
        -o "$work/http.pcap.zst"
    tcprec_pid=$last_pid
    wait_for test -e "$work/http.pcap.zst.partial" || die "tcprec did not start"
else
    echo "make-sample: no tcprec at $tcprec: recording with tcpdump only" >&2
fi

# The traffic. Every curl is bounded (--max-time); ports are fixed so README.md can name them.
url="http://$server_ip"
curl_in() {
    taskset -c 0 ip netns exec "$cns" curl --no-progress-meter --max-time 20 --connect-timeout 5 "$@"
}
head -c 204800 /dev/zero | tr '\0' 'P' >"$work/post-200k.txt"
head -c 1000 /dev/zero | tr '\0' 'f' >"$work/form-1k.txt"

echo "make-sample: generating traffic" >&2
# A: keep-alive, 5 GETs on different paths, 100 ms apart.
curl_in --local-port 50001 --rate 10/s \
    -o /dev/null "$url/" -o /dev/null "$url/small" -o /dev/null "$url/api/users?id=1" \
    -o /dev/null "$url/api/users?id=2" -o /dev/null "$url/small" &
a_pid=$!
# Short connections while A runs: 3 closed by the client, 1 by the server (Connection: close).
sleep 0.05
curl_in --local-port 50005 -o /dev/null "$url/small"
curl_in --local-port 50006 -o /dev/null "$url/api/ping"
curl_in --local-port 50007 -o /dev/null "$url/missing"
curl_in --local-port 50008 -H "Connection: close" -o /dev/null "$url/small"
wait "$a_pid"
sleep 0.2
# B: keep-alive, GET, small POST, GET, 200 ms apart.
# (--next starts a new set of per-request options; the connection is reused.)
curl_in --rate 5/s --local-port 50002 -o /dev/null "$url/api/orders" \
    --next --local-port 50002 -H "Expect:" --data-binary "@$work/form-1k.txt" \
    -o /dev/null "$url/upload" \
    --next --local-port 50002 -o /dev/null "$url/api/orders/17"
sleep 0.2
# C: one large response (307200 bytes), concurrently with D: one 200 kB POST.
curl_in --local-port 50003 -o /dev/null "$url/large" &
c_pid=$!
curl_in --local-port 50004 -H "Expect:" --data-binary "@$work/post-200k.txt" \
    -o /dev/null "$url/upload"
wait "$c_pid"
sleep 0.2
# E: keep-alive with the large response between two small ones.
curl_in --local-port 50009 --rate 10/s \
    -o /dev/null "$url/small" -o /dev/null "$url/large" -o /dev/null "$url/api/done"

# Let the last packets reach the recorders, then stop them cleanly.
sleep 1
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
if [ -n "$tcprec_pid" ]; then
    kill -INT "$tcprec_pid"
    wait "$tcprec_pid" || die "tcprec failed: $(cat "$work/tcprec.err")"
fi

cp "$work/http.pcap" "$outdir/http.pcap"
cp "$prefix/access.log" "$outdir/http.access.log"
packets=$(tcpdump -nr "$outdir/http.pcap" 2>/dev/null | wc -l)
requests=$(wc -l <"$outdir/http.access.log")
echo "make-sample: wrote $outdir/http.pcap ($(stat -c %s "$outdir/http.pcap") bytes," \
    "$packets packets, $requests requests)" >&2
if [ -n "$tcprec_pid" ]; then
    rec_packets=$(zstd -dc "$work/http.pcap.zst" | tcpdump -nr - 2>/dev/null | wc -l)
    if [ "$rec_packets" -ne "$packets" ]; then
        echo "make-sample: warning: tcprec recorded $rec_packets packets, tcpdump $packets" >&2
    else
        echo "make-sample: tcprec recorded the same $rec_packets packets" >&2
    fi
    "$tcprec" --info "$work/http.pcap.zst" --all-sessions >&2
fi
