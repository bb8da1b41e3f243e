#!/usr/bin/env bash
# What an allow list costs the data path: the bench's podman container
# (tests/bench/lib.sh) reached through one sidecar by two sets of forwards
# to the same nginx and sockperf,
#
#   open      mappings without allow (nobody is checked)
#   allow64   the same mappings with an allow list of 64 networks, the
#             client's (127.0.0.1) the last of them once sorted, so that
#             every accepted client scans the whole list
#
# measured alternately, BENCH_RUNS times (3): new connections a second (wrk,
# Connection: close, a 1 KB file: one check a connection) and 1 KB ping-pong
# round trips p50/p99 (sockperf, one connection: the check is at accept only,
# so this shows the list costs nothing once a client is in). The goal is no
# measurable difference. Medians of the runs, and the difference in %.
#
# Run by tests/bench/run.sh (make bench), or alone:
#
#   PORTSIDE_BUILD=$PWD/build tests/bench/allow.sh
#
#   BENCH_RUNS=N             runs of each (3)
#   BENCH_ALLOW_PORT_BASE=P  host ports P+1..P+4 (18970)
#   BENCH_QUICK=1            2 s tests, 1 run (and a -quick report)
#   BENCH_ALLOW_OUT=PREFIX   PREFIX.tsv, PREFIX.md; by default
#                            bench/results/DATE-HOST-allow.{md,tsv}
#
# Traffic goes only to 127.0.0.1 and the container's own bridge address.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=$(realpath "${PORTSIDE_BUILD:-build}")
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

ABASE=${BENCH_ALLOW_PORT_BASE:-18970}
if [ "${BENCH_QUICK:-0}" = 1 ]; then T=2 RUNS=${BENCH_RUNS:-1}; else T=5 RUNS=${BENCH_RUNS:-3}; fi
REDIS_N=0
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain -- . 2>/dev/null)" ] && COMMIT+=" (with uncommitted changes)"

[ "$(id -u)" = 0 ] || die "needs root (containers)"
for c in podman runc curl jq wrk sockperf nsenter ss; do
	command -v "$c" >/dev/null || die "$c is missing: packaging/deps.sh --bench"
done
for f in portsidectl portside-hook portside-sidecar tests/udp-echo bench/conns; do
	[ -x "$B/$f" ] || die "$B/$f is missing: make all $B/bench/conns"
done

# The image is run.sh's: nginx on a port of each of its paths; both rows
# here lead to the portside path's.
container_ports
ROWS=(open allow64)
PORT[open:http]=$((ABASE + 1)) PORT[open:pp]=$((ABASE + 2))
PORT[allow64:http]=$((ABASE + 3)) PORT[allow64:pp]=$((ABASE + 4))
ADDR[open]=127.0.0.1 ADDR[allow64]=127.0.0.1
for p in $(seq $((ABASE + 1)) $((ABASE + 4))); do
	host_listening "$p" && die "host port $p is in use (BENCH_ALLOW_PORT_BASE)"
done

# 63 networks that sort before 127.0.0.1, then 127.0.0.1: the last match.
ALLOW='['
for i in $(seq 0 62); do ALLOW+="\"10.$i.0.0/16\","; done
ALLOW+='"127.0.0.1"]'

W=$(mktemp -d /tmp/portside-allow.XXXXXX)
NAME=portside-allow-$$
CONTAINERS=()
cleanup() {
	set +e
	for c in "${CONTAINERS[@]}"; do P rm -f -t 0 "$c" >/dev/null 2>&1; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
RAW=$W/raw.tsv
printf 'path\tmetric\trun\tvalue\n' >"$RAW"

setup_podman
build_image
m() { printf '{"hostIP":"127.0.0.1","externalPort":%s,"localPort":%s%s}' "$1" "$2" "${3:+,\"allow\":$3}"; }
ann="[$(m "${PORT[open:http]}" "${TPORT[portside:http]}"),$(m "${PORT[open:pp]}" "${TPORT[portside:pp]}")"
ann+=",$(m "${PORT[allow64:http]}" "${TPORT[portside:http]}" "$ALLOW"),$(m "${PORT[allow64:pp]}" "${TPORT[portside:pp]}" "$ALLOW")]"
log "allow: starting the container"
# podman reads --annotation as CSV: the JSON's quotes doubled, the whole
# quoted (lib.sh's start_container passes the compact spelling as it is).
CONTAINERS+=("$NAME")
P run -d --name "$NAME" --annotation "\"io.portside.ports=${ann//\"/\"\"}\"" \
	--annotation io.portside.autoforward=never "$IMAGE" /etc/bench-services >"$W/run.out" 2>&1 ||
	die "podman run: $(grep -v 'failed to connect to syslog' "$W/run.out" | tail -3)"
ID=$(podman inspect -f '{{.Id}}' "$NAME")
IP=$(podman inspect -f '{{.NetworkSettings.IPAddress}}' "$NAME")
CT_PID=$(podman inspect -f '{{.State.Pid}}' "$NAME")
for s in http pp; do
	wait_until 20 ns_listening "$CT_PID" "${TPORT[portside:$s]}" ||
		die "$s did not start in the container: $(podman logs "$NAME" 2>&1 | tail -5)"
done
[ "$(jq '[.forwards[] | select(.allow)] | length' "/run/portside/containers/$ID/forwards.json")" = 2 ] ||
	die "the record does not carry the allow lists"
for p in "${ROWS[@]}"; do
	size=$(curl -fsS --max-time 5 -o /dev/null -w '%{size_download}' "http://127.0.0.1:${PORT[$p:http]}/1k.html") ||
		die "$p does not answer on 127.0.0.1:${PORT[$p:http]}"
	[ "$size" = 1024 ] || die "$p: got $size bytes, not 1024"
done
# The list is enforced: a client from elsewhere gets nothing.
curl -fsS --max-time 5 --interface 127.0.0.2 -o /dev/null "http://127.0.0.1:${PORT[allow64:http]}/1k.html" 2>/dev/null &&
	die "allow64 served a client from 127.0.0.2"
# Asked now: doctor names the addresses refused in the last minute only.
REFUSED=$(timeout 5 "$B/portsidectl" doctor "$ID" 2>/dev/null | grep -c "from 127.0.0.2 refused" || true)

for run in $(seq 1 "$RUNS"); do
	for i in 0 1; do
		p=${ROWS[$(((i + run - 1) % 2))]}
		log "allow: run $run/$RUNS: $p"
		measure_wrk "$p" "$run"
		measure_pingpong "$p" "$run"
	done
done

col() { median "$1" "$2"; }
summary() {
	local met name o a
	printf '%-30s %12s %12s %9s\n' "" "no allow" "allow of 64" "change"
	for met in cps p50 p99; do
		case $met in
		cps) name="connections/s (wrk, 1 KB)" ;;
		p50) name="1 KB round trip p50 (µs)" ;;
		p99) name="1 KB round trip p99 (µs)" ;;
		esac
		o=$(col open "$met") a=$(col allow64 "$met")
		printf '%-30s %12s %12s %9s\n' "$name" "$o" "$a" \
			"$(awk -v o="$o" -v a="$a" 'BEGIN {if (o > 0) printf "%+.1f%%", 100 * (a - o) / o; else print "-"}')"
	done
}

if [ -n "${BENCH_ALLOW_OUT:-}" ]; then
	OUT=$BENCH_ALLOW_OUT
else
	mkdir -p bench/results
	OUT=bench/results/$(date +%F)-$(hostname -s)-allow
	[ "${BENCH_QUICK:-0}" = 1 ] && OUT+=-quick
fi
summary >"$W/summary.txt"
cp "$RAW" "$OUT.tsv"
{
	echo "# portside allow lists on the data path: $(hostname) $(date +%F)"
	echo
	echo "- commit: $COMMIT"
	echo "- kernel: $(uname -r); CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) × $(nproc)"
	echo "- load average (1, 5, 15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- $RUNS runs of ${T} s each, alternating; medians. One sidecar, one container; both rows reach the same"
	echo "  nginx and sockperf through 127.0.0.1. allow64: 63 networks 10.N.0.0/16, then 127.0.0.1 (the client's,"
	echo "  scanned last). A client from 127.0.0.2 was refused (doctor named it: $REFUSED)."
	echo
	echo '```'
	cat "$W/summary.txt"
	echo '```'
	echo
	echo "Raw data: [$(basename "$OUT").tsv]($(basename "$OUT").tsv)"
} >"$OUT.md"
cat "$W/summary.txt"
log "allow: wrote $OUT.md and $OUT.tsv"
