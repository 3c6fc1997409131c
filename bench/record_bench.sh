#!/usr/bin/env bash
# Recorder benchmark (issue 2). In network namespaces this script creates and always removes:
# tcpreplay (Debian) replays a synthetic capture at top speed over a veth pair; on the other end
# `tcpdump -w`, `tcpdump -w - | zstd -3` and `tcprec` capture the same bounded burst, one after
# the other. Also: import speed and --info time vs full decompression on a large archive.
# Prints a markdown table (also saved to bench/out/record.md). Needs root.
#   usage: bench/record_bench.sh [MB_PER_BURST=200] [LOOPS=3] [INFO_MB=1000]
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-200}
LOOPS=${2:-3}
INFO_MB=${3:-1000}
TCPREC=${TCPREC:-build/src/tcprec}
OUT=bench/out
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "record_bench: needs root (network namespaces)" >&2; exit 1; }
[ -x "$TCPREC" ] || { echo "record_bench: build first ($TCPREC missing)" >&2; exit 1; }

ns_a=tcprbenchA$$; ns_b=tcprbenchB$$
cleanup() {
  ip netns pids "$ns_b" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns pids "$ns_a" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns_a" 2>/dev/null || true
  ip netns del "$ns_b" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$ns_a"; ip netns add "$ns_b"
ip link add vA netns "$ns_a" type veth peer name vB netns "$ns_b"
ip -n "$ns_a" link set vA up; ip -n "$ns_b" link set vB up
ip -n "$ns_a" link set lo up; ip -n "$ns_b" link set lo up

pcap=$OUT/burst.pcap
[ -f "$pcap" ] && [ "$(stat -c %s "$pcap")" -ge $((MB * 1000000)) ] || python3 bench/make_pcap.py "$pcap" --mbytes "$MB"
sent_expected=$(( $(tcpdump -nr "$pcap" 2>/dev/null | wc -l) * LOOPS ))

cpu_ticks() {  # utime+stime of a pid, in clock ticks
  awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
hz=$(getconf CLK_TCK)

run_case() {  # name, command (run inside ns_b, must capture on vB and stop on SIGINT)
  local name=$1 cmd=$2
  rm -f "$OUT"/cap.*
  ip netns exec "$ns_b" bash -c "exec $cmd" 2>"$OUT/$name.stderr" &
  local wrapper=$!
  sleep 1.5
  local pids
  pids=$(ip netns pids "$ns_b" | tr '\n' ' ')
  local start_ns end_ns
  start_ns=$(date +%s%N)
  ip netns exec "$ns_a" tcpreplay -q --topspeed --loop "$LOOPS" -i vA "$pcap" >"$OUT/$name.tcpreplay" 2>&1
  end_ns=$(date +%s%N)
  sleep 1
  local ticks=0 p
  for p in $pids; do ticks=$((ticks + $(cpu_ticks "$p"))); done
  for p in $pids; do
    case "$(cat /proc/$p/comm 2>/dev/null)" in tcpdump|tcprec) kill -INT "$p" 2>/dev/null || true;; esac
  done
  wait "$wrapper" 2>/dev/null || true
  local captured bytes
  case $name in
    tcprec) captured=$("$TCPREC" --info "$OUT/cap.pcap.zst" --json --sessions 0 | sed -E 's/.*"packets":([0-9]+).*/\1/'); bytes=$(stat -c %s "$OUT/cap.pcap.zst");;
    tcpdump-zstd) captured=$(zstd -dc "$OUT/cap.pcap.zst" | tcpdump -nr - 2>/dev/null | wc -l); bytes=$(stat -c %s "$OUT/cap.pcap.zst");;
    *) captured=$(tcpdump -nr "$OUT/cap.pcap" 2>/dev/null | wc -l); bytes=$(stat -c %s "$OUT/cap.pcap");;
  esac
  local secs pps
  secs=$(awk -v a="$start_ns" -v b="$end_ns" 'BEGIN{printf "%.2f", (b-a)/1e9}')
  pps=$(grep -oE '[0-9.]+ pps' "$OUT/$name.tcpreplay" | head -1 | cut -d' ' -f1)
  echo "$name|$sent_expected|$captured|$(awk -v t=$ticks -v h=$hz 'BEGIN{printf "%.2f", t/h}')|$bytes|$secs|${pps:-?}"
}

results=()
results+=("$(run_case tcpdump "tcpdump -i vB -s 262144 -B 65536 -w $OUT/cap.pcap")")
results+=("$(run_case tcpdump-zstd "tcpdump -i vB -s 262144 -B 65536 -w - | zstd -q -3 -o $OUT/cap.pcap.zst")")
results+=("$(run_case tcprec "$TCPREC -q -i vB -o $OUT/cap.pcap.zst")")

# Size: the archive (index included) vs zstd -3 over the whole pcap it holds.
"$TCPREC" -q -r "$pcap" -o "$OUT/import.pcap.zst" 2>/dev/null
zstd -q -3 -f "$pcap" -o "$OUT/whole.pcap.zst"
arch_bytes=$(stat -c %s "$OUT/import.pcap.zst"); zstd_bytes=$(stat -c %s "$OUT/whole.pcap.zst")

t0=$(date +%s%N); "$TCPREC" -q -r "$pcap" -o "$OUT/import2.pcap.zst" 2>/dev/null; t1=$(date +%s%N)
zstd -q -3 -f "$pcap" -o "$OUT/whole2.pcap.zst"; t2=$(date +%s%N)
pcap_bytes=$(stat -c %s "$pcap")
imp_mbs=$(awk -v b=$pcap_bytes -v t=$((t1 - t0)) 'BEGIN{printf "%.0f", b/1e6/(t/1e9)}')
zstd_mbs=$(awk -v b=$pcap_bytes -v t=$((t2 - t1)) 'BEGIN{printf "%.0f", b/1e6/(t/1e9)}')

# --info on a large archive vs decompressing it fully.
big=$OUT/big.pcap
[ -f "$big" ] && [ "$(stat -c %s "$big")" -ge $((INFO_MB * 1000000)) ] || python3 bench/make_pcap.py "$big" --mbytes "$INFO_MB" --seed 2
[ -f "$OUT/big.pcap.zst" ] || "$TCPREC" -q -r "$big" -o "$OUT/big.pcap.zst" 2>/dev/null
sync
median_ms() {  # runs "$@" N times (N in $RUNS), prints the median wall time in ms
  local i t0 t1
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
  done | sort -n | awk '{a[NR]=$1} END{printf "%.1f", a[int((NR+1)/2)]/1000}'
}
RUNS=7 info_ms=$(median_ms "$TCPREC" --info "$OUT/big.pcap.zst" --sessions 0)
RUNS=3 dec_ms=$(median_ms zstd -dcf "$OUT/big.pcap.zst" -o /dev/null)

{
  echo "### Live capture of one burst ($(tcpdump -nr "$pcap" 2>/dev/null | wc -l) packets x $LOOPS loops, tcpreplay --topspeed over veth)"
  echo
  echo "| tool | sent | captured | lost | CPU s | output bytes | bytes vs tcpdump -w | CPU vs tcpdump -w | replay s | tcpreplay pps |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  base_cpu=""; base_bytes=""
  for r in "${results[@]}"; do
    IFS='|' read -r name sent cap cpu bytes secs pps <<<"$r"
    [ -n "$base_cpu" ] || { base_cpu=$cpu; base_bytes=$bytes; }
    echo "| $name | $sent | $cap | $((sent - cap)) | $cpu | $bytes | $(awk -v a=$bytes -v b=$base_bytes 'BEGIN{printf "%.3f", a/b}') | $(awk -v a=$cpu -v b=$base_cpu 'BEGIN{printf "%.2f", (b>0)?a/b:0}') | $secs | $pps |"
  done
  echo
  echo "### Archive size and import speed ($((pcap_bytes / 1000000)) MB pcap)"
  echo
  echo "| measure | tcprec | zstd -3 (whole pcap) | ratio |"
  echo "|---|---|---|---|"
  echo "| bytes | $arch_bytes | $zstd_bytes | $(awk -v a=$arch_bytes -v b=$zstd_bytes 'BEGIN{printf "%.3f", a/b}') |"
  echo "| MB/s of pcap | $imp_mbs (tcprec -r) | $zstd_mbs (zstd -3) | $(awk -v a=$imp_mbs -v b=$zstd_mbs 'BEGIN{printf "%.2f", a/b}') |"
  echo
  echo "### --info vs full decompression ($(( $(stat -c %s "$big") / 1000000 )) MB pcap, archive $(( $(stat -c %s "$OUT/big.pcap.zst") / 1000000 )) MB)"
  echo
  echo "| tcprec --info (median of 7, warm cache, incl. process start) | zstd -dc > /dev/null (median of 3) | ratio |"
  echo "|---|---|---|"
  echo "| $info_ms ms | $dec_ms ms | 1/$(awk -v a=$info_ms -v b=$dec_ms 'BEGIN{printf "%.0f", b/a}') |"
} | tee "$OUT/record.md"
