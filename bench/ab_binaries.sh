#!/usr/bin/env bash
# A/B of two builds of tcpreplay2 + intercept in the same run (issue 12: the redesign must not
# cost speed): rounds alternate A and B (A first in odd rounds, B first in even ones, so a drift
# of the machine's load hits both), each round running, per build,
#   - live copy: bench/live_copy.sh, wrk against the online nginx, one step per series
#     (keep-alive and one connection per request), tcpreplay2 copying live: its CPU per copied
#     request and the copy ratio;
#   - replay: bench/replay_bench.sh's throughput phase (--speed max, --max-active 300, raw
#     transport, small answers), tcpreplay --topspeed beside it as usual: requests/s nginx
#     served and tcpreplay2's CPU per packet.
# Prints one markdown table (also bench/out/ab/ab.md) with every round's figures and the ratio of
# the medians B/A. Needs root (both scripts build their own namespaces).
#   usage: bench/ab_binaries.sh A_BIN_DIR B_BIN_DIR [ROUNDS=3]
#   env: LIVE_SECONDS=8, LIVE_CONNECTIONS=16, REPLAY_MB=20
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
A=$(realpath "${1:?usage: bench/ab_binaries.sh A_BIN_DIR B_BIN_DIR [ROUNDS]}")
B=$(realpath "${2:?usage: bench/ab_binaries.sh A_BIN_DIR B_BIN_DIR [ROUNDS]}")
ROUNDS=${3:-3}
LIVE_SECONDS=${LIVE_SECONDS:-8}
LIVE_CONNECTIONS=${LIVE_CONNECTIONS:-16}
REPLAY_MB=${REPLAY_MB:-20}
OUT=bench/out/ab
mkdir -p "$OUT"
for d in "$A" "$B"; do
  for t in tcpreplay2 intercept; do
    [ -x "$d/$t" ] || { echo "ab_binaries: $d/$t missing" >&2; exit 1; }
  done
done
# replay_bench.sh takes a build directory relative to the checkout, with the binaries in src/.
link_build() {  # bin_dir name -> a directory under bench/out/ab whose src/ is bin_dir
  mkdir -p "$OUT/$2"
  ln -sfn "$1" "$OUT/$2/src"
  echo "$OUT/$2"
}

rows=()
for round in $(seq 1 "$ROUNDS"); do
  order="A B"
  [ $((round % 2)) = 0 ] && order="B A"
  for side in $order; do
    dir=$A
    [ "$side" = B ] && dir=$B
    echo "ab_binaries: round $round, $side ($dir), load $(cut -d' ' -f1 /proc/loadavg)" >&2
    BIN=$dir SERIES="keep-alive close" bench/live_copy.sh "$LIVE_SECONDS" "$LIVE_CONNECTIONS" \
      >"$OUT/live-$side-$round.txt" 2>&1
    # Rows: | series | connections | online req/s | online | copied | ratio | drops | µs/copied | ...
    live=$(grep -E '^\| (keep-alive|close) \|' bench/out/live/live.md |
      awk -F'|' '{gsub(/ /, "", $2); gsub(/ /, "", $7); gsub(/ /, "", $9); printf "%s %s %s;", $2, $7, $9}')
    build=$(link_build "$dir" "build-$side")
    BUILD=$build PHASES=throughput MAX_ACTIVE=300 INJECT=raw TP_BODY=200 \
      bench/replay_bench.sh "$REPLAY_MB" >"$OUT/replay-$side-$round.txt" 2>&1
    # The tcpreplay2 row: | tool | packets sent | veth TX | veth RX | s | packets/s | vs | CPU | µs/packet | requests | requests/s | ...
    replay=$(grep -E '^\| tcpreplay2 ' bench/out/replay/replay.md | head -1 |
      awk -F'|' '{gsub(/[ ,]/, "", $10); gsub(/[ ,]/, "", $12); printf "%s %s", $12, $10}')
    rows+=("$round $side $live $replay $(cut -d' ' -f1 /proc/loadavg)")
  done
done

python3 - "$A" "$B" "${rows[@]}" <<'EOF' | tee "$OUT/ab.md"
import statistics, sys
a_dir, b_dir, rows = sys.argv[1], sys.argv[2], sys.argv[3:]
data = {"A": [], "B": []}
print("| round | build | keep-alive: copy ratio, tcpreplay2 µs/copied request | close: copy ratio, µs/copied request | replay: requests/s | replay: tcpreplay2 µs/packet | load average after |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    head, rest = r.split(" ", 2)[:2], r.split(" ", 2)[2]
    live, tail = rest.rsplit(";", 1)
    series = {}
    for item in live.split(";"):
        name, ratio, us = item.split()
        series[name] = (float(ratio), float(us))
    rps, uspp, load = tail.split()
    data[head[1]].append((series, float(rps), float(uspp)))
    ka, cl = series.get("keep-alive", (0, 0)), series.get("close", (0, 0))
    print(f"| {head[0]} | {head[1]} | {ka[0]:.4f}, {ka[1]:.1f} | {cl[0]:.4f}, {cl[1]:.1f} | {float(rps):,.0f} | {float(uspp):.1f} | {load} |")
def med(side, f):
    return statistics.median(f(x) for x in data[side])
cols = [("keep-alive µs/copied request", lambda x: x[0]["keep-alive"][1]),
        ("close µs/copied request", lambda x: x[0]["close"][1]),
        ("replay requests/s", lambda x: x[1]),
        ("replay µs/packet", lambda x: x[2])]
print()
print("| median | A | B | B/A |")
print("|---|---|---|---|")
for name, f in cols:
    a, b = med("A", f), med("B", f)
    print(f"| {name} | {a:,.1f} | {b:,.1f} | {b / a:.2f} |")
print()
print(f"A: {a_dir}; B: {b_dir}.")
EOF
