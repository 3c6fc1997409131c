#!/usr/bin/env bash
# tcpreplay2 vs tcpcopy (issue 16). The same namespace lab as bench/live_copy.sh (client C,
# online O, target T, assistant A, joined by veths), the same load for both copiers: wrk
# with a mix of paths (/small, /medium 8 kB, /large 64 kB, /404) and a think time (Lua
# delay()) against the online nginx on O; each copier makes 3 copies of every connection
# into the target nginx on T; the target answers the clients' addresses through A, where the
# copier's intercept runs. Per load row the two copiers run one after the other (tcpreplay2
# first, then tcpcopy; ROUNDS=N repeats the pair), each with its own intercept (both listen on
# port 36524: never at the same time). tcpcopy runs in the online namespace as its README
# says (tcpcopy -x 80-10.88.2.2:80 -s 10.88.4.2 -n 3; intercept -i at -F 'tcp and src port 80'),
# in the foreground (no -d) so that the script owns and stops it; its logs stay in the out dir.
#   Rows (LOADS, "connections:think_ms ..."): 10:10 (~950 req/s), 50:10 (~4,500 req/s),
#   50:0 (saturated). Per row and copier: online requests/s, copy ratio = target access-log
#   lines / (online access-log lines x 3), CPU (utime+stime from /proc/PID/stat, over the
#   load and the wait for the target log to stop growing) of the copier on O and of the
#   intercept on A per copied request, the online nginx CPU per online request.
#   Production tax (TAX=0 skips it): a second lab with SPLIT (as live_copy.sh's SPLIT=1: the
#   online host -- nginx and the copier -- pinned to CPU 0, the other hosts to CPU 1, RPS on
#   every veth end to the receiving host's CPU); wrk saturating (50 connections, no think
#   time), keep-alive and "Connection: close"; the online nginx's requests/s with no copier,
#   with tcpreplay2 and with tcpcopy (3 copies); tax = with / without.
# Prints markdown tables (also saved to bench/out/tcpcopy/results.md). Needs root, wrk, nginx.
#   usage: TCPCOPY_DIR=/work/tcpcopy-env/bin bench/cpu_vs_tcpcopy.sh
#   env: TCPCOPY_DIR  directory holding tcpcopy and tcpcopy's intercept (required:
#                     TCPCOPY_DIR/tcpcopy, TCPCOPY_DIR/intercept), built from
#                     github.com/session-replay-tools/{tcpcopy,intercept} with ./configure && make
#        BIN=build/src (tcpreplay2, intercept)   DUR=10 (seconds of load per step)
#        LOADS="10:10 50:10 50:0"  COPIES=3  ROUNDS=1  SETTLE=40 (max seconds waiting for the
#        target log to stop growing: on a busy machine tcpreplay2's copies, paced like the
#        recording behind their live connections, drain a backlog for tens of seconds after the
#        load; tcpcopy is done in 1-3 s; the "settle s" column shows it)  TAX=1
#        TAX_SERIES="keep-alive close"
#        TAX_COPIERS="$COPIERS tcpreplay2-nc-nice" (the production tax's copiers; -nc-nice:
#        --no-compare at nice 19)
#        COPIERS="tcpreplay2 tcpreplay2-nc tcpcopy tcpcopy-c" (tcpreplay2-nc: with --no-compare,
#        no answer comparison, which tcpcopy does not do; tcpcopy-c: tcpcopy with -c 10.88.5.x, the
#        copies' client addresses rewritten into a /24 routed via A, tcpcopy's README's way
#        around -n's port conflicts with few client addresses; this lab has one client address)
#        MAX_LAG=0 (tcpreplay2's --max-lag: 0 copies every request however late, so that CPU
#        per copied request counts every request; the tool's default, 10s, sheds what a copy
#        more than 10 s behind has not begun, which at 50 connections -- the target cannot keep
#        up with 3 copies on its shared CPU and finishes 10-40 s after the load -- would leave
#        the capture's cost of the shed requests on the copied ones; MAX_LAG=10s for the
#        overload run, point 3)
#        SPLIT=1 (the load rows on split CPUs too)  CLIENT_FIRST=1 (SPLIT: on CPU 1 the client
#        at nice -10, the target and intercept at nice 10; 0: all at nice 0)
#        PROFILE=DIR: one more step per copier at the 50:10 load (PROFILE_ROW to change) with
#        perf record -g -e cpu-clock attached to the copier (PROFILE_SERIES=close: with
#        "Connection: close"; perf-<copier>.data in DIR; row
#        "perf" in the table), perf report top 30 and a category breakdown
#        (bench/perf_breakdown.py) in bench/out/tcpcopy/profile-<copier>.txt
# On one machine a veth delivers a packet in the sender's context: the receiver's TCP stack
# (the target's for the copies) runs inside the sender's send and is charged to it, for both
# copiers alike (see live_copy.sh). Other work on the machine adds noise: the load average
# is printed with every step.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "cpu_vs_tcpcopy: needs root (network namespaces)" >&2; exit 1; }
if [ -z "${TCPCOPY_DIR:-}" ]; then
  echo "cpu_vs_tcpcopy: set TCPCOPY_DIR to the directory holding tcpcopy's tcpcopy and intercept binaries" >&2
  exit 1
fi
for b in tcpcopy intercept; do
  [ -x "$TCPCOPY_DIR/$b" ] || { echo "cpu_vs_tcpcopy: $TCPCOPY_DIR/$b missing (TCPCOPY_DIR=$TCPCOPY_DIR)" >&2; exit 1; }
done
BIN=${BIN:-build/src}
for b in tcpreplay2 intercept; do
  [ -x "$BIN/$b" ] || { echo "cpu_vs_tcpcopy: build first ($BIN/$b missing; BIN=dir to override)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "cpu_vs_tcpcopy: wrk missing (scripts/install-deps)" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "cpu_vs_tcpcopy: nginx missing" >&2; exit 1; }
DUR=${DUR:-10}
LOADS=${LOADS:-"10:10 50:10 50:0"}
COPIES=${COPIES:-3}
ROUNDS=${ROUNDS:-1}
SETTLE=${SETTLE:-40}
COPIERS=${COPIERS:-"tcpreplay2 tcpreplay2-nc tcpcopy tcpcopy-c"}
PROFILE_ROW=${PROFILE_ROW:-50:10}
OUT=bench/out/tcpcopy
mkdir -p "$OUT"
if [ -n "${PROFILE:-}" ]; then
  command -v perf >/dev/null || { echo "cpu_vs_tcpcopy: PROFILE needs perf" >&2; exit 1; }
  mkdir -p "$PROFILE"
fi
log() { echo "[$(date +%T)] $*" >&2; }

P=tcprvs$$
C=${P}c; O=${P}o; T=${P}t; A=${P}a
WORK=$(mktemp -d /tmp/tcprvs.XXXXXX)
LAB_SPLIT=""
NOTES=""
lab_down() {
  for n in "$C" "$O" "$T" "$A"; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  sleep 0.3
  for n in "$C" "$O" "$T" "$A"; do ip netns del "$n" 2>/dev/null || true; done
}
cleanup() {
  [ -z "${PERF_PID:-}" ] || kill -9 "$PERF_PID" 2>/dev/null || true
  lab_down
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

cpu_of() { [ "$1" = "$O" ] && echo 0 || echo 1; }
# With SPLIT the client (wrk), the target and the assistant share CPU 1. In production they are
# other hosts: the client's rate must not depend on how much work the copies give the target.
# So on CPU 1 the client comes first (nice -10) and the target and intercept take what is left
# (nice 10); the online host on CPU 0 keeps nice 0. Without this, a saturating client starved
# by the target's 3 copies measured the lab's CPU 1, not the online host (CPU 0 had 20-30% idle
# in such rows). CLIENT_FIRST=0 turns it off.
nice_of() {
  [ -n "$LAB_SPLIT" ] && [ "${CLIENT_FIRST:-1}" = 1 ] || { echo 0; return; }
  case $1 in "$C") echo -10 ;; "$T"|"$A") echo 10 ;; *) echo 0 ;; esac
}
pin() {  # ns command... : with a split lab, pinned to its host's CPU, at its host's nice
  local ns=$1; shift
  if [ -n "$LAB_SPLIT" ]; then
    set -- taskset -c "$(cpu_of "$ns")" "$@"
    local n; n=$(nice_of "$ns")
    [ "$n" = 0 ] || set -- nice -n "$n" "$@"
  fi
  ip netns exec "$ns" "$@"
}
veth() {  # ns_a if_a addr_a ns_b if_b addr_b
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  ip -n "$1" addr add "$3" dev "$2"; ip -n "$4" addr add "$6" dev "$5"
  ip -n "$1" link set dev "$2" gso_max_segs 1 gso_max_size 1500 up
  ip -n "$4" link set dev "$5" gso_max_segs 1 gso_max_size 1500 up
  if [ -n "$LAB_SPLIT" ]; then
    ip netns exec "$1" sh -c "echo $((1 << $(cpu_of "$1"))) >/sys/class/net/$2/queues/rx-0/rps_cpus"
    ip netns exec "$4" sh -c "echo $((1 << $(cpu_of "$4"))) >/sys/class/net/$5/queues/rx-0/rps_cpus"
  fi
}
start_nginx() {  # ns dir listen
  mkdir -p "$2/www" "$2/tmp"
  sed -e "s#@PREFIX@#$2#g" -e "s#@LISTEN@#$3#g" samples/nginx.conf.in >"$2/nginx.conf"
  sed -i -e 's/worker_connections 1024;/worker_connections 8192;/' "$2/nginx.conf"
  echo "index" >"$2/www/index.html"
  head -c 8192 /dev/zero | tr '\0' m >"$2/www/medium"
  head -c 65536 /dev/zero | tr '\0' l >"$2/www/large"
  pin "$1" "$NGINX" -p "$2" -c "$2/nginx.conf" -e "$2/error.log" &
  disown
}
lab_up() {  # split(""|1)
  LAB_SPLIT=$1
  for n in "$C" "$O" "$T" "$A"; do ip netns add "$n"; ip -n "$n" link set lo up; done
  veth "$C" co 10.88.1.1/24 "$O" oc 10.88.1.2/24
  veth "$O" ot 10.88.2.1/24 "$T" to 10.88.2.2/24
  veth "$T" ta 10.88.3.1/24 "$A" at 10.88.3.2/24
  veth "$O" oa 10.88.4.1/24 "$A" ao 10.88.4.2/24
  for n in "$O" "$T"; do
    ip netns exec "$n" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  done
  ip netns exec "$T" sysctl -qw net.ipv4.conf.to.rp_filter=0 net.ipv4.conf.ta.rp_filter=0
  ip netns exec "$A" sysctl -qw net.ipv4.ip_forward=0
  # One client address: no TIME_WAIT on the servers, port reuse on the client (live_copy.sh).
  ip netns exec "$O" sysctl -qw net.ipv4.tcp_max_tw_buckets=0
  ip netns exec "$T" sysctl -qw net.ipv4.tcp_max_tw_buckets=0
  ip netns exec "$C" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"
  # The copies' answers (to the clients' addresses, both copiers keep them) go to A.
  ip -n "$T" route add 10.88.1.0/24 via 10.88.3.2
  ip -n "$T" route add 10.88.5.0/24 via 10.88.3.2   # tcpcopy -c 10.88.5.x
  rm -rf "$WORK/online" "$WORK/target"
  start_nginx "$O" "$WORK/online" 10.88.1.2:80
  start_nginx "$T" "$WORK/target" 10.88.2.2:80
  sleep 1
  for u in 10.88.1.2 10.88.2.2; do  # both serve the mix
    for p in small medium large 404; do
      ip netns exec "$([ $u = 10.88.1.2 ] && echo "$C" || echo "$O")" \
        curl -s -o /dev/null -w "%{http_code} " "http://$u/$p" >>"$WORK/probe" || true
    done
  done
  [ "$(cat "$WORK/probe")" = "200 200 200 404 200 200 200 404 " ] ||
    { echo "cpu_vs_tcpcopy: lab nginx probe failed: $(cat "$WORK/probe")" >&2; exit 1; }
  rm -f "$WORK/probe"
}

# wrk's Lua script: a path mix (per thread, round robin over a weighted list) and a think
# time before every request (delay(), ms; 0: none).
lua() {  # think_ms -> file
  local f="$WORK/mix-$1.lua"
  cat >"$f" <<EOF
local paths = {"/small", "/medium", "/small", "/large", "/small", "/medium", "/404", "/small", "/medium", "/404"}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end
EOF
  [ "$1" -gt 0 ] && echo "delay = function() return $1 end" >>"$f"
  echo "$f"
}

pid_of() {  # ns comm -> pids
  local p
  for p in $(ip netns pids "$1" 2>/dev/null); do
    if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]; then echo "$p"; fi
  done
}
ticks() {  # utime+stime of the given pids (all threads), clock ticks
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
wakeups() {  # voluntary context switches of the given pids (all threads): each sleep in
  # epoll_wait/poll/select that ended with work is one
  local t=0 p f
  for p in "$@"; do
    for f in /proc/$p/task/*/status; do
      t=$((t + $(awk '/^voluntary_ctxt_switches/ {print $2}' "$f" 2>/dev/null || echo 0)))
    done
  done
  echo "$t"
}
cpu_busy() {  # "busy total" ticks of cpu0 and cpu1 from /proc/stat
  awk '/^cpu[01] / {b = $2+$3+$4+$7+$8; t = b+$5+$6+$9; printf "%d %d ", b, t}' /proc/stat
}
sep() { printf '|---%.0s' $(seq 1 "$1"); echo '|'; }
lines() { wc -l <"$1" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

# Copier and intercept per kind; CPID/IPID their pids.
CPID=""; IPID=""
start_copier() {  # kind tag
  local kind=$1 tag=$2 i
  CPID=""; IPID=""
  case $kind in
    none) return 0 ;;
    tcpreplay2|tcpreplay2-nc|tcpreplay2-nc-nice)
      # tcpreplay2-nc: --no-compare (no answer comparison per endpoint; tcpcopy compares none);
      # tcpreplay2-nc-nice: the same at nice 19, below the online server (the operator's way to
      # put production first: the copier takes what CPU the online server leaves and sheds,
      # counted, what it cannot copy)
      local nc=() prio=()
      [ "$kind" != tcpreplay2 ] && nc=(--no-compare)
      [ "$kind" = tcpreplay2-nc-nice ] && prio=(nice -n 19)
      pin "$A" "$BIN/intercept" -i at -F 'tcp and src port 80' -b 10.88.4.2 -q \
        >"$OUT/intercept-ours-$tag.log" 2>&1 &
      disown
      sleep 0.5
      pin "$O" "${prio[@]}" "$BIN/tcpreplay2" -i oc -p 80 --target 10.88.2.2:80 --intercept 10.88.4.2 \
        --copies "$COPIES" "${nc[@]}" --max-active 1000000 --linger 2s --stats-interval 1s \
        --max-lag "${MAX_LAG:-0}" \
        >"$OUT/tcpreplay2-$tag.log" 2>&1 &
      disown
      for i in $(seq 1 100); do grep -q "info: copying" "$OUT/tcpreplay2-$tag.log" 2>/dev/null && break; sleep 0.1; done
      grep -q "info: copying" "$OUT/tcpreplay2-$tag.log" ||
        { echo "cpu_vs_tcpcopy: tcpreplay2 did not start:" >&2; cat "$OUT/tcpreplay2-$tag.log" >&2; exit 1; }
      CPID=$(pid_of "$O" tcpreplay2) ;;
    tcpcopy|tcpcopy-c)
      # tcpcopy-c: with -c, the copies' client addresses rewritten into 10.88.5.0/24 (the
      # README's way to avoid the port conflicts of -n with few client addresses)
      local extra=()
      [ "$kind" = tcpcopy-c ] && extra=(-c 10.88.5.x)
      # Default build (raw socket capture and send); foreground (no -d) so the script owns it.
      pin "$A" "$TCPCOPY_DIR/intercept" -i at -F 'tcp and src port 80' -b 10.88.4.2 \
        -l "$OUT/intercept-tcpcopy-$tag.log" >/dev/null 2>&1 &
      disown
      sleep 0.5
      rm -f "$OUT/tcpcopy-$tag.log"
      pin "$O" "$TCPCOPY_DIR/tcpcopy" -x 80-10.88.2.2:80 -s 10.88.4.2 -n "$COPIES" "${extra[@]}" \
        -l "$OUT/tcpcopy-$tag.log" >"$OUT/tcpcopy-$tag.stdout" 2>&1 &
      disown
      for i in $(seq 1 100); do grep -q "connect to remote server" "$OUT/tcpcopy-$tag.log" 2>/dev/null && break; sleep 0.1; done
      grep -q "connect to remote server" "$OUT/tcpcopy-$tag.log" ||
        { echo "cpu_vs_tcpcopy: tcpcopy did not connect to its intercept:" >&2; cat "$OUT/tcpcopy-$tag.log" "$OUT/tcpcopy-$tag.stdout" >&2; exit 1; }
      sleep 0.5
      CPID=$(pid_of "$O" tcpcopy) ;;
  esac
  IPID=$(pid_of "$A" intercept)
  [ -n "$CPID" ] && [ -n "$IPID" ] || { echo "cpu_vs_tcpcopy: $kind or its intercept died" >&2; exit 1; }
}
stop_pids() {  # pids...: SIGINT, then SIGKILL after 15 s (tcpreplay2 gives copies still
  # running 5 s to finish, then writes its summary)
  local p i
  for p in "$@"; do kill -INT "$p" 2>/dev/null || true; done
  for i in $(seq 1 150); do
    local alive=""
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && return 0
    sleep 0.1
  done
  for p in "$@"; do kill -9 "$p" 2>/dev/null || true; done
}
stop_copier() { stop_pids $CPID; stop_pids $IPID; CPID=""; IPID=""; sleep 0.5; }

# One step: copier kind, wrk connections, think ms, series (keep-alive|close), tag,
# [profile]: perf record the copier. Sets STEP_ROW, STEP_RATE.
run_step() {
  local kind=$1 conns=$2 think=$3 series=$4 tag=$5 hdr=() perf=""
  [ "$series" = close ] && hdr=(-H "Connection: close")
  start_copier "$kind" "$tag"
  local ngx; ngx=$(pid_of "$O" nginx | tr '\n' ' ')
  local o0 t0 c0 i0 n0 b0 v0 v1
  o0=$(lines "$WORK/online/access.log"); t0=$(lines "$WORK/target/access.log")
  c0=$(ticks $CPID); i0=$(ticks $IPID); n0=$(ticks $ngx); b0=$(cpu_busy); v0=$(wakeups $CPID)
  if [ "${6:-}" = profile ]; then
    perf record -q -g -e cpu-clock -o "$PROFILE/perf-$kind.data" -p "$(echo $CPID | tr ' ' ',')" \
      >"$PROFILE/perf-$kind.log" 2>&1 &
    PERF_PID=$!
    perf=$kind
  fi
  pin "$C" wrk -t 2 -c "$conns" -d "${DUR}s" -s "$(lua "$think")" "${hdr[@]}" \
    http://10.88.1.2/ >"$OUT/wrk-$tag.txt" 2>&1 || true
  local o1 b1 w; o1=$(lines "$WORK/online/access.log"); b1=$(cpu_busy)
  # Until the target's log stops growing (two equal reads 0.5 s apart; at most SETTLE s).
  local last=-1 now
  w=$(date +%s.%N)
  if [ "$kind" != none ]; then
    for _ in $(seq 1 $((SETTLE * 2))); do
      now=$(lines "$WORK/target/access.log")
      [ "$now" = "$last" ] && break
      last=$now; sleep 0.5
    done
  fi
  w=$(awk -v a="$w" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  local t1 c1 i1 n1
  t1=$(lines "$WORK/target/access.log")
  c1=$(ticks $CPID); i1=$(ticks $IPID); n1=$(ticks $ngx); v1=$(wakeups $CPID)
  if [ -n "$perf" ]; then
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=""
  fi
  [ "$kind" = none ] || stop_copier
  local on=$((o1 - o0)) cp=$((t1 - t0))
  STEP_ROW=$(awk -v on="$on" -v cp="$cp" -v k="$COPIES" -v d="$DUR" -v hz="$hz" -v none="$([ "$kind" = none ] && echo 1 || echo 0)" \
    -v c="$((c1 - c0))" -v i="$((i1 - i0))" -v n="$((n1 - n0))" -v b0="$b0" -v b1="$b1" -v w="$w" \
    -v v="$((${v1:-0} - ${v0:-0}))" 'BEGIN {
      us = 1e6 / hz
      split(b0, x); split(b1, y)
      u0 = y[2] > x[2] ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0
      u1 = y[4] > x[4] ? 100 * (y[3] - x[3]) / (y[4] - x[4]) : 0
      if (none)
        printf "%.0f | %d | - | - | - | - | - | %.1f | %.0f | - | - | %.0f / %.0f", on / d, on,
          n * us / (on ? on : 1), 100 * n / hz / d, u0, u1
      else
        printf "%.0f | %d | %d | %.4f | %.1f | %.2f | %.1f | %.1f | %.0f | %.0f | %s | %.0f / %.0f", on / d, on, cp,
          (on ? cp / (on * k) : 0), (cp ? c * us / cp : 0), (cp ? v / cp : 0), (cp ? i * us / cp : 0),
          n * us / (on ? on : 1), 100 * n / hz / d, 100 * c / hz / (d + w), w, u0, u1 }')
  # The copier's own counters from its log (written when it stops).
  case $kind in
    tcpreplay2*) STEP_NOTE="$tag: $( (grep -h 'capture:' "$OUT/tcpreplay2-$tag.log" || echo "no summary") | tail -1 | sed 's/^ *//')" ;;
    tcpcopy*) STEP_NOTE="$tag: $( (grep -hE '\] (syn cnt|conns|send|send syn|resp fin):' "$OUT/tcpcopy-$tag.log" || echo "no counters") | sed 's/.*\] //' | paste -sd ';' | sed 's/;/; /g')" ;;
    *) STEP_NOTE="" ;;
  esac
  [ -z "$STEP_NOTE" ] || NOTES+=$'\n'"- $STEP_NOTE"
  STEP_RATE=$(awk -v on="$on" -v d="$DUR" 'BEGIN { printf "%.0f", on / d }')
  log "$tag: $STEP_ROW (load $(cut -d' ' -f1 /proc/loadavg))"
}

hdr_cols="online req/s | online requests | target requests | copy ratio | copier CPU µs/copied req | copier wake-ups/copied req | intercept CPU µs/copied req | online nginx CPU µs/req | online nginx CPU % | copier CPU % | settle s | CPU0 / CPU1 busy % (all processes)"
{
  echo "# tcpreplay2 vs tcpcopy ($(date -u +%FT%TZ))"
  echo
  echo "tcpcopy: $("$TCPCOPY_DIR/tcpcopy" -v 2>&1 | head -1); its intercept: $("$TCPCOPY_DIR/intercept" -v 2>&1 | head -1); tcpreplay2: $("$BIN/tcpreplay2" --version 2>&1 | head -1)."
  echo "$(nproc) cores; ${DUR} s per step; $COPIES copies; uptime at start: $(uptime)"
} | tee "$OUT/results.md"

if [ -n "$LOADS" ]; then
  lab_up "${SPLIT:-}"
  table="| load (conns, think) | copier | round | $hdr_cols |"$'\n'"$(sep 15)"
  for load in $LOADS; do
    conns=${load%%:*}; think=${load##*:}
    for r in $(seq 1 "$ROUNDS"); do
      for kind in $COPIERS; do
        run_step "$kind" "$conns" "$think" keep-alive "load-$conns-$think-$kind-$r"
        table+=$'\n'"| $conns c, ${think} ms | $kind | $r | $STEP_ROW |"
      done
    done
  done
  if [ -n "${PROFILE:-}" ]; then  # extra steps, perf attached (its overhead kept out of the rows above)
    for kind in $COPIERS; do
      run_step "$kind" "${PROFILE_ROW%%:*}" "${PROFILE_ROW##*:}" "${PROFILE_SERIES:-keep-alive}" "profile-$kind" profile
      table+=$'\n'"| ${PROFILE_ROW%%:*} c, ${PROFILE_ROW##*:} ms${PROFILE_SERIES:+, $PROFILE_SERIES} | $kind | perf | $STEP_ROW |"
    done
  fi
  lab_down
  { echo; echo "## Loads (keep-alive, path mix${SPLIT:+, SPLIT})"; echo; echo "$table"; } | tee -a "$OUT/results.md"
fi

if [ "${TAX:-1}" != 0 ]; then
  lab_up 1
  table="| series | copier | round | $hdr_cols | tax (with / without) |"
  table+=$'\n'"$(sep 16)"
  for series in ${TAX_SERIES:-keep-alive close}; do
    for r in $(seq 1 "$ROUNDS"); do
      base=""
      for kind in none ${TAX_COPIERS:-$COPIERS tcpreplay2-nc-nice}; do
        run_step "$kind" 50 0 "$series" "tax-$series-$kind-$r"
        [ "$kind" = none ] && base=$STEP_RATE
        tax=$(awk -v a="$STEP_RATE" -v b="$base" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
        table+=$'\n'"| $series | $kind | $r | $STEP_ROW | $tax |"
      done
    done
  done
  lab_down
  { echo; echo "## Production tax (SPLIT: online host on CPU 0, the others on CPU 1; 50 connections, no think time)"; echo; echo "$table"; } | tee -a "$OUT/results.md"
fi

if [ -n "${PROFILE:-}" ]; then
  set +o pipefail  # head closes perf report's pipe
  for kind in $COPIERS; do
    f="$PROFILE/perf-$kind.data"
    [ -s "$f" ] || { echo "no profile for $kind ($(cat "$PROFILE/perf-$kind.log" 2>/dev/null))" | tee -a "$OUT/results.md"; continue; }
    {
      echo "# perf record -g -e cpu-clock of $kind, row $PROFILE_ROW; perf report --no-children --sort symbol (top 30)"
      perf report -i "$f" --no-children --sort symbol --stdio -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' | head -30
      echo
      echo "# inclusive (perf report --children --sort symbol, top 30): the calls that hold the time"
      perf report -i "$f" --children --sort symbol --stdio -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' | head -30
      echo
      echo "# categories (bench/perf_breakdown.py: kernel samples by the syscall they are in, user samples by function name)"
      python3 bench/perf_breakdown.py "$f" 2>&1
      echo
      echo "# by shared object (perf report --no-children --sort dso)"
      perf report -i "$f" --no-children --sort dso --stdio -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' | head -10
    } >"$OUT/profile-$kind.txt"
    { echo; echo "Profile of $kind: $OUT/profile-$kind.txt (top 12)"; echo '```'; head -13 "$OUT/profile-$kind.txt"; echo '```'; } | tee -a "$OUT/results.md"
  done
fi
{ echo; echo "Copiers' own counters (tcpreplay2: its summary's capture line; tcpcopy: its log's session counters at exit):"; echo "$NOTES"; } | tee -a "$OUT/results.md"
echo | tee -a "$OUT/results.md"
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)." | tee -a "$OUT/results.md"
