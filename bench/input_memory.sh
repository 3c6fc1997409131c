#!/usr/bin/env bash
# Peak memory replaying the rotated archives of a ~1 GB capture (issue: scale-out, "replaying
# archives of a 1 GB pcap holds under 256 MB resident").
#
# 1. Capture (once; cached in bench/out/input_memory/, git-ignored): in network namespaces this
#    script creates and always removes, real clients (wrk keep-alive with a Lua path mix, ab with
#    one connection per request, curl with a few requests per connection) load a real nginx
#    (small pages, /api/<id>, 10-50 kB binary files); `tcprec -i sv -p 80 -C $ROTATE` records the
#    server's veth into rotated archives until their pcap data reaches PCAP_MB (bounded by
#    CAPTURE_SECONDS and a round count). The first part is renamed web-0.pcap.zst so that
#    'web-*.pcap.zst' names every part (tcprec names the parts web.pcap.zst, web-1, web-2, ...).
# 2. Measure, side by side, for the first k archives (k in KS, "all" = the glob):
#    - tcpreplay2 --in FILES --target <nginx in a namespace> --transport socket --speed max -q
#      --report json: peak RSS (/usr/bin/time -v, "Maximum resident set size"), wall, CPU;
#    - Debian's tcpreplay --topspeed on the same traffic as one plain pcap (the parts' pcaps
#      concatenated; headers after the first dropped) onto a veth whose peer drops it: peak RSS.
#    Rows alternate which tool runs first. Machine load before/after every run.
# Prints a markdown section (also bench/out/input_memory/input_memory.md). Needs root.
#   usage: bench/input_memory.sh
#   env: TCPREPLAY2=/path/to/tcpreplay2 (default $BUILD/src/tcpreplay2: rerun against another
#        build); BUILD=build-bench (tcprec comes from there); KS="1 2 4 all"; ROUNDS=3 (runs per
#        row); PCAP_MB=1000, CAPTURE_SECONDS=900 (the capture, if not cached); ROTATE=100M
#        (tcprec -C counts archive bytes; this traffic compresses ~2.4x, so parts of ~240 MB of
#        pcap, 4-5 of them); RECAPTURE=1 makes it again; CAPTURE_ONLY=1 stops after it;
#        RSS_TRACE=1 samples tcpreplay2's VmRSS, RssAnon and RssFile every 0.1 s into
#        bench/out/input_memory/t2-K-ROUND.rss.txt (when the peak comes, and of what).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build-bench}
TCPREC=${TCPREC:-$ROOT/$BUILD/src/tcprec}
TCPREPLAY2=${TCPREPLAY2:-$ROOT/$BUILD/src/tcpreplay2}
KS=${KS:-1 2 4 all}
ROUNDS=${ROUNDS:-3}
PCAP_MB=${PCAP_MB:-1000}
ROTATE=${ROTATE:-100M}
CAPTURE_SECONDS=${CAPTURE_SECONDS:-900}
OUT=$ROOT/bench/out/input_memory
CAP=$OUT/capture
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "input_memory: needs root (network namespaces, capture)" >&2; exit 1; }
for b in "$TCPREC" "$TCPREPLAY2"; do
    [ -x "$b" ] || { echo "input_memory: $b missing (build first, or TCPREPLAY2=/path)" >&2; exit 1; }
done
for t in nginx wrk ab curl tcpreplay zstdcat python3; do
    command -v $t >/dev/null || { echo "input_memory: $t not installed (apt-get install nginx wrk apache2-utils curl tcpreplay zstd)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "input_memory: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

C=tcprim-c-$$; S=tcprim-s-$$; K=tcprim-k-$$
W=$(mktemp -d /tmp/tcprim.XXXXXX)
cleanup() {
    local ns
    for ns in "$C" "$S" "$K"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; done
    sleep 0.5
    for ns in "$C" "$S" "$K"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
load_now() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- namespaces: clients/replayer C 10.61.0.1 -- S 10.61.0.2 (nginx); C tr0 -- K (sink) ----
ip netns add "$C"; ip netns add "$S"; ip netns add "$K"
ip link add cv netns "$C" type veth peer name sv netns "$S"
ip link add tr0 netns "$C" type veth peer name tr1 netns "$K"
ip -n "$C" addr add 10.61.0.1/24 dev cv; ip -n "$S" addr add 10.61.0.2/24 dev sv
for ns in "$C" "$S" "$K"; do
    ip -n "$ns" link set lo up
    for d in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -v '^lo$'); do
        ip -n "$ns" link set "$d" up
    done
done
# Wire-sized segments (as on a real network): the capture holds frames a NIC could send, so
# Debian's tcpreplay can put every one on a 1500-byte link.
ip -n "$C" link set dev cv gso_max_segs 1 gso_max_size 1500
ip -n "$S" link set dev sv gso_max_segs 1 gso_max_size 1500
ip netns exec "$C" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 65000"
ip netns exec "$S" sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535

# ---- nginx (samples/nginx.conf.in, more connections); its files are kept with the capture ----
start_nginx() {  # www dir
    local p=$W/ng
    mkdir -p "$p/tmp"; rm -f "$p/access.log"
    ln -sfn "$1" "$p/www"
    sed -e "s|@PREFIX@|$p|g" -e "s|@LISTEN@|10.61.0.2:80 backlog=65535 reuseport|g" \
        -e "s|^worker_processes 1;|worker_processes 2;|" \
        -e "s|worker_connections 1024;|worker_connections 16000;|" \
        -e "s|keepalive_requests 1000;|keepalive_requests 1000000;|" \
        samples/nginx.conf.in >"$p/nginx.conf"
    grep -q "worker_connections 16000" "$p/nginx.conf" ||
        { echo "input_memory: samples/nginx.conf.in changed, adapt this script" >&2; exit 1; }
    ip netns exec "$S" nginx -p "$p" -c "$p/nginx.conf" -e "$p/error.log" &
    for _ in $(seq 50); do [ -s "$p/nginx.pid" ] && break; sleep 0.1; done
    sleep 0.3
    ip netns exec "$C" curl -sf -o /dev/null http://10.61.0.2/small ||
        { echo "input_memory: nginx did not start" >&2; exit 1; }
}
make_www() {  # dir: pages (text, 3-8 kB), images (random, 10-50 kB), a script (30 kB)
    python3 - "$1" <<'EOF'
import base64, os, random, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True); rnd = random.Random(7)
words = "the of and to in is for on with as by at from about product price cart order user".split()
def text(n):
    out = []
    while sum(map(len, out)) < n:
        out.append("<p>" + " ".join(rnd.choice(words) for _ in range(12)) + "</p>\n")
    return "".join(out)[:n]
open(f"{d}/index.html", "w").write("<html><body>" + text(2000) + "</body></html>\n")
for i in range(1, 21):
    open(f"{d}/page-{i}.html", "w").write(text(rnd.randint(3000, 8000)))
    open(f"{d}/img-{i}.jpg", "wb").write(rnd.randbytes(rnd.randint(10000, 50000)))
open(f"{d}/app.js", "w").write(base64.b64encode(rnd.randbytes(22500)).decode())
EOF
}
# wrk's path mix: /api/... ids, small answers, pages, images, the script.
cat >"$W/mix.lua" <<'EOF'
math.randomseed(11)
request = function()
  local r = math.random(100)
  local p
  if r <= 20 then p = "/api/users/" .. math.random(100000) .. "?fields=name,email"
  elseif r <= 30 then p = "/small"
  elseif r <= 55 then p = "/page-" .. math.random(20) .. ".html"
  elseif r <= 85 then p = "/img-" .. math.random(20) .. ".jpg"
  elseif r <= 95 then p = "/app.js"
  else p = "/" end
  return wrk.format("GET", p, {["User-Agent"] = "wrk-mix", ["Accept"] = "*/*"})
end
EOF

mib() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1048576}'; }
# pcap bytes an archive holds, from its index (tcprec --info: "... N MiB pcap ...").
pcap_bytes() {
    "$TCPREC" --info "$1" --sessions 0 --json 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["pcap_bytes"])'
}
parts_in_order() {  # the capture's parts, oldest first
    ls "$CAP"/web-*.pcap.zst 2>/dev/null | sort -t- -k2,2n -V
}

# ---- 1. the capture ----------------------------------------------------------------------
if [ -n "${RECAPTURE:-}" ] || [ ! -s "$CAP/done" ]; then
    rm -rf "$CAP"; mkdir -p "$CAP/rec"
    make_www "$CAP/www"
    start_nginx "$CAP/www"
    log "capture: until ${PCAP_MB} MB of pcap or ${CAPTURE_SECONDS} s, load $(load_now)"
    ip netns exec "$S" "$TCPREC" -i sv -p 80 -C "$ROTATE" -o "$CAP/rec/web.pcap.zst" \
        2>"$CAP/tcprec.log" &
    sleep 1
    t0=$(date +%s)
    rounds=0; ratio=1
    urls=(/api/orders/ /img-3.jpg /page-7.html /small /img-12.jpg /app.js /api/items/ /index.html)
    while :; do
        rounds=$((rounds + 1))
        # keep-alive clients, a random path mix (bounded: 5 s)
        pids=()
        ip netns exec "$C" timeout 20 wrk -t1 -c48 -d5s --timeout 5s -s "$W/mix.lua" http://10.61.0.2/ \
            >>"$CAP/wrk.log" 2>&1 &
        pids+=($!)
        # one connection per request (bounded: 3,000 requests, 30 s)
        u=${urls[$((rounds % ${#urls[@]}))]}
        [[ $u == /api/* ]] && u="$u$rounds"
        ip netns exec "$C" timeout 30 ab -q -n 3000 -c 16 -s 10 "http://10.61.0.2$u" \
            >>"$CAP/ab.log" 2>&1 &
        pids+=($!)
        # curl: 20 connections of 4 requests each
        ip netns exec "$C" timeout 30 bash -c "for i in \$(seq 20); do
            curl -s -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
              http://10.61.0.2/ http://10.61.0.2/api/cart/\$i http://10.61.0.2/page-\$((i % 20 + 1)).html \
              http://10.61.0.2/img-\$((i % 20 + 1)).jpg; done" >/dev/null 2>&1 &
        pids+=($!)
        wait "${pids[@]}" 2>/dev/null || true
        # pcap so far: the finished parts' (from their index) + the current part's file size x
        # the finished parts' compression ratio
        done_pcap=0; done_arch=0; cur=0
        for f in "$CAP"/rec/*.pcap.zst; do
            [ -e "$f" ] || continue
            done_pcap=$((done_pcap + $(pcap_bytes "$f"))); done_arch=$((done_arch + $(stat -c %s "$f")))
        done
        for f in "$CAP"/rec/*.partial; do [ -e "$f" ] && cur=$((cur + $(stat -c %s "$f"))); done
        [ "$done_arch" -gt 0 ] && ratio=$(awk -v a="$done_pcap" -v b="$done_arch" 'BEGIN{print a/b}')
        est=$(awk -v a="$done_pcap" -v c="$cur" -v r="$ratio" 'BEGIN{printf "%d", a + c*r}')
        elapsed=$(($(date +%s) - t0))
        log "capture: round $rounds, ~$(mib "$est") MiB pcap, ${elapsed} s, load $(load_now)"
        (( est >= PCAP_MB * 1000000 )) && break
        (( elapsed >= CAPTURE_SECONDS || rounds >= 400 )) && { log "capture: time/round bound reached"; break; }
    done
    tcprec_pid=$(ip netns pids "$S" | while read -r p; do [ "$(cat /proc/$p/comm 2>/dev/null)" = tcprec ] && echo "$p"; done | head -1)
    kill -INT "$tcprec_pid"
    for _ in $(seq 300); do kill -0 "$tcprec_pid" 2>/dev/null || break; sleep 0.1; done
    ip netns exec "$S" sh -c 'kill $(cat '"$W"'/ng/nginx.pid)' || true
    sleep 0.5
    capture_s=$(($(date +%s) - t0))
    mv "$CAP/rec/web.pcap.zst" "$CAP/web-0.pcap.zst"
    mv "$CAP"/rec/web-*.pcap.zst "$CAP/"
    rmdir "$CAP/rec"
    {
        echo "capture_seconds $capture_s"
        echo "rounds $rounds"
        echo "tcprec_drops $(grep -o "kernel drops: [0-9]*" "$CAP/tcprec.log" | tail -1)"
        echo "wrk_requests $(awk '/requests in/{s+=$1} END{print s+0}' "$CAP/wrk.log")"
        echo "ab_requests $(awk '/^Complete requests:/{s+=$3} END{print s+0}' "$CAP/ab.log")"
    } >"$CAP/capture.txt"
    date -u +%FT%TZ >"$CAP/done"
    log "capture: done in $capture_s s"
else
    log "capture: cached in $CAP ($(cat "$CAP/done"))"
fi
[ -z "${CAPTURE_ONLY:-}" ] || exit 0

mapfile -t PARTS < <(parts_in_order)
declare -A PB
total_pcap=0; total_arch=0
for f in "${PARTS[@]}"; do
    PB[$f]=$(pcap_bytes "$f"); total_pcap=$((total_pcap + PB[$f])); total_arch=$((total_arch + $(stat -c %s "$f")))
done
log "input: ${#PARTS[@]} archives, $(mib $total_arch) MiB, holding $(mib $total_pcap) MiB pcap"

# ---- 2. replays --------------------------------------------------------------------------
start_nginx "$CAP/www"
# one plain pcap of the first k parts: the first part's pcap whole, the others without their
# 24-byte file header (the parts follow each other in time)
cat_pcap() {  # k out
    local i=0 f
    : >"$2"
    for f in "${PARTS[@]:0:$1}"; do
        if [ $i -eq 0 ]; then zstdcat -q "$f" >>"$2"; else zstdcat -q "$f" | tail -c +25 >>"$2"; fi
        i=$((i + 1))
    done
}
# /usr/bin/time -v file -> "rss_kib wall_s cpu_s"
time_fields() {
    awk -F': ' '/Maximum resident set size/{r=$2} /User time/{u=$2} /System time/{s=$2}
        /Elapsed \(wall clock\)/{n=split($2,a,":"); w=0; for(i=1;i<=n;i++) w=w*60+a[i]}
        END{printf "%d %.2f %.2f\n", r, w, u+s}' "$1"
}
rows=()
run_tcpreplay2() {  # k round
    local k=$1 r=$2 name=t2-$1-$2 files=() n lb la
    if [ "$k" = all ]; then files=("$CAP/web-*.pcap.zst"); n=${#PARTS[@]}; else files=("${PARTS[@]:0:$k}"); n=$k; fi
    local pb=0 f
    for f in "${PARTS[@]:0:$n}"; do pb=$((pb + PB[$f])); done
    lb=$(load_now)
    log "tcpreplay2 k=$k round $r ($(mib $pb) MiB pcap), load $lb"
    # "all": the glob is passed quoted, for tcpreplay2 to expand
    ip netns exec "$C" /usr/bin/time -v -o "$OUT/$name.time" timeout 1800 \
        "$TCPREPLAY2" --in "${files[@]}" --target 10.61.0.2:80 --transport socket --speed max -q \
        --report json "$OUT/$name.json" >"$OUT/$name.out" 2>&1 &
    local tpid=$! rpid="" t0; t0=$(date +%s%N)
    if [ -n "${RSS_TRACE:-}" ]; then  # seconds, VmRSS, RssAnon, RssFile (KiB) every 0.1 s
        echo "s rss_kib anon_kib file_kib" >"$OUT/$name.rss.txt"
        while kill -0 "$tpid" 2>/dev/null; do
            [ -n "$rpid" ] || rpid=$(pgrep -P "$(pgrep -P "$tpid" | head -1)" 2>/dev/null | head -1 || true)
            [ -n "$rpid" ] && awk -v t="$(( ($(date +%s%N) - t0) / 1000000 ))" \
                '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{if (r) printf "%.1f %d %d %d\n", t/1000, r, a, f}' \
                "/proc/$rpid/status" >>"$OUT/$name.rss.txt" 2>/dev/null
            sleep 0.1
        done
    fi
    wait "$tpid" || true
    la=$(load_now)
    read -r rss wall cpu < <(time_fields "$OUT/$name.time")
    local req ses
    read -r req ses < <(python3 -c "import json;d=json.load(open('$OUT/$name.json'));print(d['requests']['sent'], d['sessions']['completed'])" 2>/dev/null || echo "? ?")
    rows+=("$k|$n|$pb|tcpreplay2|$rss|$wall|$cpu|$req|$ses|$lb|$la")
}
run_tcpreplay() {  # k round
    local k=$1 r=$2 name=tr-$1-$2 n lb la
    if [ "$k" = all ]; then n=${#PARTS[@]}; else n=$k; fi
    cat_pcap "$n" "$W/in.pcap"
    local pb; pb=$(stat -c %s "$W/in.pcap")
    lb=$(load_now)
    log "tcpreplay k=$k round $r ($(mib $pb) MiB pcap), load $lb"
    ip netns exec "$C" timeout 1800 /usr/bin/time -v -o "$OUT/$name.time" \
        tcpreplay -q -i tr0 --topspeed "$W/in.pcap" >"$OUT/$name.out" 2>&1 || true
    la=$(load_now)
    rm -f "$W/in.pcap"
    read -r rss wall cpu < <(time_fields "$OUT/$name.time")
    local pk; pk=$(awk '/Actual:/{print $2}' "$OUT/$name.out")
    rows+=("$k|$n|$pb|tcpreplay|$rss|$wall|$cpu|${pk:-?} packets|-|$lb|$la")
}
started=$(date -u +%FT%TZ); load0=$(load_now)
turn=0
for k in $KS; do
    for r in $(seq "$ROUNDS"); do
        if (( turn % 2 == 0 )); then run_tcpreplay2 "$k" "$r"; run_tcpreplay "$k" "$r"
        else run_tcpreplay "$k" "$r"; run_tcpreplay2 "$k" "$r"; fi
        turn=$((turn + 1))
    done
done
ended=$(date -u +%FT%TZ)

# ---- table: per row (k archives, tool) median (min-max) over the rounds; then every run ------
printf '%s\n' "${rows[@]}" >"$OUT/runs.tsv"
{
    echo "Input: ${#PARTS[@]} archives ($(mib $total_arch) MiB) holding $(mib $total_pcap) MiB of pcap; capture: $(grep -E '^(capture_seconds|rounds|wrk_requests|ab_requests|tcprec_drops)' "$CAP/capture.txt" | tr '\n' ' ')"
    echo "tcpreplay2: $TCPREPLAY2 (commit $(git -C "$(dirname "$TCPREPLAY2")" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "Runs $started - $ended, $ROUNDS round(s), load average $load0 at the start, $(load_now) at the end, $(nproc) cores."
    echo
    python3 - "$OUT/runs.tsv" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
def mmm(v, f):
    v = sorted(v)
    if len(v) == 1:
        return f % v[0]
    return (f % statistics.median(v)) + " (" + (f % v[0]) + "-" + (f % v[-1]) + ")"
groups = {}
for k, n, pb, tool, rss, wall, cpu, req, ses, lb, la in rows:
    groups.setdefault((k, tool), []).append((int(n), int(pb), int(rss), float(wall), float(cpu), req, ses))
print("| archives (files) | pcap MiB | tool | peak RSS MiB | RSS MiB per GiB of pcap | tcpreplay2 RSS / tcpreplay RSS | wall s | CPU s (user+sys) | sent |")
print("|---|---|---|---|---|---|---|---|---|")
for (k, tool) in sorted(groups, key=lambda kt: (list(dict.fromkeys(r[0] for r in rows)).index(kt[0]), kt[1] != "tcpreplay2")):
    g = groups[(k, tool)]
    n, pb = g[0][0], g[0][1]
    rss = [x[2] / 1024 for x in g]
    ratio = "-"
    if tool == "tcpreplay2" and (k, "tcpreplay") in groups:
        o = statistics.median(x[2] / 1024 for x in groups[(k, "tcpreplay")])
        ratio = "%.1f" % (statistics.median(rss) / o)
    sent = g[0][5] + (" requests, " + g[0][6] + " sessions completed" if tool == "tcpreplay2" else "")
    print(f"| {k} ({n}) | {pb/1048576:.0f} | {tool} | {mmm(rss, '%.1f')} | "
          f"{mmm([r * 1024 / (pb / 1048576) for r in rss], '%.1f')} | {ratio} | "
          f"{mmm([x[3] for x in g], '%.1f')} | {mmm([x[4] for x in g], '%.1f')} | {sent} |")
print()
print("Every run, in the order run:")
print()
print("| archives | tool | peak RSS KiB | wall s | CPU s | load before | load after |")
print("|---|---|---|---|---|---|---|")
for k, n, pb, tool, rss, wall, cpu, req, ses, lb, la in rows:
    print(f"| {k} | {tool} | {rss} | {wall} | {cpu} | {lb} | {la} |")
EOF
} | tee "$OUT/input_memory.md"
