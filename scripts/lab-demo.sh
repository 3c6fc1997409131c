#!/usr/bin/env bash
# Replays an archive of the bundled sample into a real nginx, tcpcopy style, inside three
# network namespaces that this script creates and always removes (trap on EXIT):
#
#   replayer ──veth── target (nginx, samples/nginx.conf.in) ──veth── assistant (intercept)
#       └──────────────────────veth─────────────────────────────────────┘
#
# The target routes the recorded client addresses (read from the archive with tcprec --info)
# to the assistant, which captures the responses with intercept and, forwarding off, drops
# them. Prints tcpreplay2's summary and, per request, how often nginx served it against how
# often the recording holds it. Root only (namespaces, raw sockets).
#
#   scripts/lab-demo.sh BUILD_DIR ARCHIVE [tcpreplay2 options...]
#   COPIES=3 SPEED=2x (defaults) choose --copies and --speed.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

die() { echo "lab-demo: $*" >&2; exit 1; }
if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR ARCHIVE [tcpreplay2 options...]" >&2
  exit 2
fi
build=$1 archive=$2
shift 2
copies=${COPIES:-3} speed=${SPEED:-2x}
tcprec="$build/src/tcprec" tcpreplay2="$build/src/tcpreplay2" intercept="$build/src/intercept"
for b in "$tcprec" "$tcpreplay2" "$intercept"; do
  [ -x "$b" ] || die "$b is not built"
done
[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, raw sockets)"
for t in ip nginx ss timeout; do
  command -v "$t" >/dev/null || die "'$t' is missing (scripts/install-deps installs it)"
done

id=tcpr-demo-$$
rp=$id-replayer tg=$id-target as=$id-assistant
work=$(mktemp -d /tmp/tcpr-lab-demo.XXXXXX)
nginx_pid="" intercept_pid=""
cleanup() {
  set +e
  [ -n "$intercept_pid" ] && kill "$intercept_pid" 2>/dev/null && wait "$intercept_pid" 2>/dev/null
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  for ns in "$rp" "$tg" "$as"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (at most 10 s) until something listens on TCP address:port in namespace $1.
wait_listen() {
  local i
  for i in $(seq 1 100); do
    ip netns exec "$1" ss -Htln "src $2:$3" | grep -q . && return 0
    sleep 0.1
  done
  echo "lab-demo: nothing listens on $2:$3 after 10 s" >&2
  return 1
}

# What the archive holds: its client addresses and its server port.
info=$("$tcprec" --info "$archive")
clients=$(awk '$1 ~ /^[0-9]+$/ && NF >= 3 { sub(/:[0-9]+$/, "", $2); print $2 }' \
  <<<"$info" | sort -u)
port=$(awk '$1 ~ /^[0-9]+$/ && NF >= 3 { sub(/^.*:/, "", $3); print $3; exit }' <<<"$info")
[ -n "$clients" ] && [ -n "$port" ] || die "no session in $archive"
for c in $clients; do
  case $c in 10.200.*) die "client $c collides with the lab's 10.200.0.0/16" ;; esac
done

# Three hosts, three links: replayer-target 10.200.1.0/24, target-assistant 10.200.2.0/24,
# replayer-assistant 10.200.3.0/24 (the replayer's connection to intercept).
rp_addr=10.200.1.1 tg_addr=10.200.1.2
tg_as=10.200.2.1 as_tg=10.200.2.2
rp_as=10.200.3.1 as_rp=10.200.3.2
for ns in "$rp" "$tg" "$as"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
ip link add rp0 netns "$rp" type veth peer name tg0 netns "$tg"
ip link add tg1 netns "$tg" type veth peer name as0 netns "$as"
ip link add rp1 netns "$rp" type veth peer name as1 netns "$as"
addr() { ip -n "$1" addr add "$3/24" dev "$2"; ip -n "$1" link set "$2" up; }
addr "$rp" rp0 $rp_addr; addr "$tg" tg0 $tg_addr
addr "$tg" tg1 $tg_as;   addr "$as" as0 $as_tg
addr "$rp" rp1 $rp_as;   addr "$as" as1 $as_rp
# The target answers the forged clients through the assistant, which must not forward.
for c in $clients; do ip -n "$tg" route add "$c/32" via $as_tg; done
ip netns exec "$tg" sysctl -qw net.ipv4.conf.tg0.rp_filter=0 net.ipv4.conf.tg1.rp_filter=0
ip netns exec "$as" sysctl -qw net.ipv4.ip_forward=0
echo "namespaces: $rp ($rp_addr), $tg (nginx on $tg_addr:$port), $as (intercept on $as_rp)"
echo "target routes $(echo $clients) via the assistant"

# nginx with the configuration and the files the sample was recorded against.
mkdir -p "$work/www" "$work/tmp"
echo "<html>tcpr test</html>" >"$work/www/index.html"
filler='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:;,!?+*/='
for i in $(seq 1 3072); do
  printf 'tcpr /large line %06d: %s\n' "$i" "$filler"
done >"$work/www/large"
sed -e "s|@PREFIX@|$work|g" -e "s|@LISTEN@|$tg_addr:$port|g" samples/nginx.conf.in \
  >"$work/nginx.conf"
ip netns exec "$tg" nginx -p "$work" -c "$work/nginx.conf" -e "$work/error.log" &
nginx_pid=$!
wait_listen "$tg" $tg_addr "$port"

ip netns exec "$as" "$intercept" -i as0 -F "tcp and src port $port" -b $as_rp -q &
intercept_pid=$!
wait_listen "$as" $as_rp 36524

echo
echo "\$ tcpreplay2 --in $archive --target $tg_addr:$port --intercept $as_rp" \
  "--copies $copies --speed $speed $*"
set +e
ip netns exec "$rp" timeout -s INT 300 "$tcpreplay2" --in "$archive" --target "$tg_addr:$port" \
  --intercept $as_rp --copies "$copies" --speed "$speed" "$@"
rc=$?
set -e
echo "tcpreplay2 exit code: $rc"
sleep 0.3  # the last access-log lines

echo
echo "nginx access log: $(wc -l <"$work/access.log") requests served"
printf '%8s %10s  %s\n' served recorded request
# Requests as "METHOD path" from the log format of samples/nginx.conf.in; the recorded counts
# come from samples/http.access.log when ARCHIVE is the bundled sample.
requests() {
  awk -F'"' 'NF >= 3 { sub(/ HTTP\/[0-9.]+$/, "", $2); print $2 }' "$1" | sort | uniq -c
}
join -1 2 -2 2 -a 1 -e 0 -o 1.1,2.1,0 -t $'\t' \
  <(requests "$work/access.log" | sed -E 's/^ *([0-9]+) /\1\t/' | sort -t $'\t' -k2,2) \
  <(requests samples/http.access.log | sed -E 's/^ *([0-9]+) /\1\t/' | sort -t $'\t' -k2,2) |
  awk -F'\t' -v copies="$copies" '{ printf "%8d %6d x %d  %s\n", $1, $2, copies, $3 }'

echo
echo "connections on the target after the run (TIME-WAIT is normal):"
ip netns exec "$tg" ss -Htan "sport = :$port" | awk '{ print $1 }' | sort | uniq -c
exit $rc
