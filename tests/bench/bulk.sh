#!/usr/bin/env bash
# Where a forwarder's bulk bytes cost CPU: portside's sidecar and pasta, side
# by side on one podman container's iperf3 (the bench's image), host to
# container, with 1 and 4 streams:
#
#   Gbit/s       iperf3's
#   CPU-s/GB     the forwarder's CPU time (utime + stime of its processes,
#                /proc/PID/stat) per GB moved
#   wakes/MB     times the forwarder slept and was woken (its voluntary
#                context switches, /proc/PID/status) per MB: how often the
#                loop waits
#   calls/MB     system calls per MB, and splice(2) calls per MB, from a run
#                of its own under `strace -c -f` (strace slows every call, so
#                more accumulates between them: read these as lower bounds
#                and compare the two forwarders, not against the runs above)
#   KB/splice    bytes moved per splice call (two splices move a byte: in
#                and out)
#
# The first three are medians of BENCH_RUNS runs (3), the two forwarders
# alternating. Not part of make bench (tests/bench/run.sh has the Gbit/s and
# CPU-s/GB of every path); this is the tool that shows why they differ.
#
#   PORTSIDE_BUILD=$PWD/build tests/bench/bulk.sh
#
#   BENCH_RUNS=N            runs (3)
#   BENCH_BULK_VS=DIR       a third row, "vs": another build's sidecar (DIR is
#                           its PORTSIDE_BUILD) on a second container, for an
#                           A/B of a change in the same run
#   BENCH_BULK_PORT_BASE=P  host ports P+1 (portside), P+2 (pasta), P+3 (vs)
#                           (18960)
#   BENCH_QUICK=1           2 s tests, 1 run
#
# The table goes to stdout and to bench/results/DATE-HOST-bulk.txt
# (-bulk-quick.txt for a quick run).
#
# Traffic goes only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=$(realpath "${PORTSIDE_BUILD:-build}")
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

QBASE=${BENCH_BULK_PORT_BASE:-18960}
if [ "${BENCH_QUICK:-0}" = 1 ]; then T=2 RUNS=${BENCH_RUNS:-1}; else T=5 RUNS=${BENCH_RUNS:-3}; fi
OUT=bench/results/$(date +%F)-$(hostname -s)-bulk$([ "${BENCH_QUICK:-0}" = 1 ] && echo -quick).txt
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p bench/results

[ "$(id -u)" = 0 ] || die "needs root (containers)"
for c in podman runc pasta ip iperf3 jq strace nsenter ss; do
	command -v "$c" >/dev/null || die "$c is missing: packaging/deps.sh --bench"
done
for f in portside-hook portside-sidecar tests/udp-echo bench/conns; do
	[ -x "$B/$f" ] || die "$B/$f is missing: make all $B/bench/conns"
done
awk '{exit !($1 > 1)}' /proc/loadavg && log "WARNING: load average $(cut -d' ' -f1-3 /proc/loadavg): other work will skew the numbers"

container_ports
ROWS=(portside pasta)
VS=${BENCH_BULK_VS:+$(realpath "$BENCH_BULK_VS")}
if [ -n "$VS" ]; then
	{ [ -x "$VS/portside-sidecar" ] && [ -x "$VS/portside-hook" ]; } || die "BENCH_BULK_VS: no portside-hook and portside-sidecar in $VS"
	ROWS+=(vs)
fi
SERVICES=(iperf) # start_pasta forwards only these
PORT[portside:iperf]=$((QBASE + 1)) PORT[pasta:iperf]=$((QBASE + 2)) PORT[vs:iperf]=$((QBASE + 3))
for r in "${ROWS[@]}"; do
	host_listening "${PORT[$r:iperf]}" && die "host port ${PORT[$r:iperf]} is in use (BENCH_BULK_PORT_BASE)"
done

W=$(mktemp -d /tmp/portside-bulk.XXXXXX)
CG_ROOT=/sys/fs/cgroup/cpuacct/portside-bulk-$$
NAME=portside-bulk-$$
NETNS=portside-bulk-$$
CONTAINERS=() BG_PIDS=()
cleanup() {
	set +e
	for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for c in "${CONTAINERS[@]}"; do P rm -f -t 0 "$c" >/dev/null 2>&1; done
	[ -e "/run/netns/$NETNS" ] && ip netns delete "$NETNS"
	[ -d "$CG_ROOT/pasta" ] && wait_until 10 rmdir "$CG_ROOT/pasta"
	[ -d "$CG_ROOT" ] && rmdir "$CG_ROOT"
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$CG_ROOT"
RAW=$W/raw.tsv
: >"$RAW"

setup_podman
build_image
start_container "$NAME" "127.0.0.1:${PORT[portside:iperf]}:${CPORT[iperf]}" -- /etc/bench-services ||
	die "podman run: $CT_ERR"
ID=$CT_ID
wait_until 20 ns_listening "$CT_PID" "${CPORT[iperf]}" || die "iperf3 did not start in the container"
start_pasta
FWD_PIDS[portside]=$(sidecar_pids "$ID" | tr '\n' ' ') || die "no sidecar for $ID"
if [ -n "$VS" ]; then
	mkdir -p "$W/hooks-vs.d"
	sed -e "s|$B/|$VS/|g" "$W/hooks.d/portside.json" >"$W/hooks-vs.d/portside.json"
	HOOKS_DIR=$W/hooks-vs.d start_container "$NAME-vs" "127.0.0.1:${PORT[vs:iperf]}:${CPORT[iperf]}" -- /etc/bench-services ||
		die "podman run (BENCH_BULK_VS): $CT_ERR"
	wait_until 20 ns_listening "$CT_PID" "${CPORT[iperf]}" || die "iperf3 did not start in the second container"
	FWD_PIDS[vs]=$(sidecar_pids "$CT_ID" | tr '\n' ' ') || die "no sidecar for $CT_ID"
	[ "$(readlink "/proc/${FWD_PIDS[vs]%% *}/exe")" = "$VS/portside-sidecar" ] || die "the second container's sidecar is not $VS's"
fi

# cpu_ticks PID...: their utime + stime, in clock ticks; wakes PID...:
# their voluntary context switches.
# shellcheck disable=SC2016 # awk programs
cpu_ticks() { proc_sum stat '{print $14 + $15}' "$@"; }
# shellcheck disable=SC2016
wakes() { proc_sum status '/^voluntary_ctxt_switches/ {print $2}' "$@"; }
HZ=$(getconf CLK_TCK)

# iperf ROW STREAMS: "BYTES BITS_PER_SECOND" received, or nothing when
# iperf3 failed.
iperf() {
	local j
	j=$(timeout $((T + 30)) iperf3 -c 127.0.0.1 -p "${PORT[$1:iperf]}" -t "$T" -P "$2" -J 2>&1) || {
		log "$1: iperf3 -P $2 failed: $(tail -2 <<<"$j")"
		return 0
	}
	jq -er '"\(.end.sum_received.bytes | floor) \(.end.sum_received.bits_per_second)"' <<<"$j" || true
}

measure() { # ROW STREAMS RUN
	local r=$1 n=$2 run=$3 c0 w0 out
	# shellcheck disable=SC2086 # lists of pids
	c0=$(cpu_ticks ${FWD_PIDS[$r]}) w0=$(wakes ${FWD_PIDS[$r]})
	out=$(iperf "$r" "$n")
	[ -n "$out" ] || return 0
	# shellcheck disable=SC2086
	awk -v r="$r" -v n="$n" -v run="$run" -v out="$out" -v c=$(($(cpu_ticks ${FWD_PIDS[$r]}) - c0)) \
		-v w=$(($(wakes ${FWD_PIDS[$r]}) - w0)) -v hz="$HZ" 'BEGIN {
		split(out, f, " "); gb = f[1] / 1e9
		printf "%s\tgbps%s\t%s\t%s\n", r, n, run, f[2] / 1e9
		printf "%s\tcpu%s\t%s\t%s\n", r, n, run, c / hz / gb
		printf "%s\twakes%s\t%s\t%s\n", r, n, run, w / (gb * 1000)
	}' >>"$RAW"
}

for run in $(seq 1 "$RUNS"); do
	# the two forwarders in turn, the first another each run
	order=("${ROWS[@]}")
	[ $((run % 2)) = 0 ] && mapfile -t order < <(printf '%s\n' "${ROWS[@]}" | tac)
	for n in 1 4; do
		for r in "${order[@]}"; do
			log "run $run/$RUNS: $r, $n stream(s)"
			measure "$r" "$n" "$run"
		done
	done
done

# One run each under strace: the system calls.
declare -A CALLS SPLICES PERSPLICE
for r in "${ROWS[@]}"; do
	log "$r under strace -c"
	pid=${FWD_PIDS[$r]%% *}
	timeout -s INT $((T + 3)) strace -c -f -p "$pid" -o "$W/strace-$r" 2>/dev/null &
	st=$!
	sleep 1
	bytes=$(iperf "$r" 1)
	bytes=${bytes%% *}
	wait "$st" 2>/dev/null || true
	if [ -n "$bytes" ] && [ -s "$W/strace-$r" ]; then
		read -r calls splices < <(awk '$NF == "total" {t = $(NF-2)} $NF == "splice" {s = $4} END {print t + 0, s + 0}' "$W/strace-$r")
		CALLS[$r]=$(awk -v c="$calls" -v b="$bytes" 'BEGIN {printf "%.1f", c / (b / 1e6)}')
		SPLICES[$r]=$(awk -v c="$splices" -v b="$bytes" 'BEGIN {printf "%.1f", c / (b / 1e6)}')
		PERSPLICE[$r]=$(awk -v c="$splices" -v b="$bytes" 'BEGIN {if (c) printf "%.0f", 2 * b / c / 1024; else print "-"}')
	fi
done

med() { # ROW METRIC FORMAT
	local v
	v=$(median "$1" "$2")
	# shellcheck disable=SC2059
	if [ "$v" = - ]; then echo -; else LC_ALL=C printf "$3" "$v"; fi
}
{
	printf '%-9s %8s %9s %8s %8s %9s %9s %9s %10s\n' FORWARDER "Gbit/s 1" "Gbit/s 4" "CPU-s/GB" "(4)" wakes/MB "(4)" calls/MB splices/MB
	for r in "${ROWS[@]}"; do
		printf '%-9s %8s %9s %8s %8s %9s %9s %9s %10s\n' "$r" "$(med "$r" gbps1 %.1f)" "$(med "$r" gbps4 %.1f)" \
			"$(med "$r" cpu1 %.3f)" "$(med "$r" cpu4 %.3f)" "$(med "$r" wakes1 %.1f)" "$(med "$r" wakes4 %.1f)" \
			"${CALLS[$r]:--}" "${SPLICES[$r]:--}"
	done
	echo
	for r in "${ROWS[@]}"; do
		echo "$r: $(med "$r" gbps1 %.1f) Gbit/s, ${PERSPLICE[$r]:--} KB a splice under strace; the calls:"
		sed -n '3,8p' "$W/strace-$r" 2>/dev/null | awk '{print "   ", $4, $NF}'
	done
	echo
	echo "medians of $RUNS run(s) of ${T} s; CPU and wakes of the 1-stream and (4)-stream runs; calls under strace, 1 stream"
	[ -z "$VS" ] || echo "vs: the sidecar of $VS"
	echo "load average at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); kernel $(uname -r); $(nproc) CPUs"
} | tee "$OUT"
log "wrote $OUT"
