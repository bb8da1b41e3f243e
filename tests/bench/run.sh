#!/usr/bin/env bash
# make bench: one podman container running iperf3, nginx, sockperf and redis,
# reached by every path a user could pick, measured in one run:
#
#   bridge        the container's own address: no forwarder (the ceiling)
#   podman -p     podman's -p 127.0.0.1:P:Q: kernel DNAT
#   portside      the sidecar (io.portside.ports), on 127.0.0.1
#   pasta         passt's pasta attached to the container's netns (rootless
#                 podman's forwarder): splice through sockets in the netns
#   docker-proxy  Docker's userland proxy, one process a port
#   socat         socat TCP-LISTEN,fork, one listener a port
#   minimal       tests/bench/minfwd.c: epoll + splice and nothing else, the
#                 yardstick for what a userspace forwarder costs
#
# Columns: iperf3 Gbit/s with 1 and 4 streams; the forwarder's CPU seconds per
# GB moved (its cpuacct cgroup over the iperf3 runs); new connections a second
# (wrk, Connection: close, a 1 KB file); 1 KB ping-pong round trip p50/p99
# (sockperf); redis GET/s (redis-benchmark, 50 clients); the forwarder's RSS.
# Each cell is the median of BENCH_RUNS runs (default 3); the runs interleave
# the paths, so that a slow moment of the machine hits them all alike. Then
# the sidecar at scale: 1000 mapped ports, 10,000 idle connections, 1000 UDP
# flows, and the hook's cost per container start (hyperfine, runc); and live
# changes of a running container's port table (tests/bench/live.sh, which
# also runs alone: portsidectl expose to the first request served through
# the new port, unexpose to the first connect refused, 100 of each),
# portsidectl metrics' time and memory over 200 runc containers of 10
# mappings each (tests/bench/metrics.sh, which runs alone too), and the data
# path with and without an allow list of 64 networks (tests/bench/allow.sh,
# which also runs alone), and 100 runc containers started 10 at a time with
# and without a mapping (tests/bench/starts.sh, which runs alone too).
#
# The table goes to stdout and, with a raw data file and a chart, to
# bench/results/DATE-HOST.{md,tsv,png}.
#
#   BENCH_RUNS=N        runs a cell (default 3)
#   BENCH_QUICK=1       1 run, 2 s tests, for working on the bench itself
#                       (its report is DATE-HOST-quick.*)
#   BENCH_PATHS="A B"   only these paths (as lib.sh's ALL_PATHS names them), for
#                       working on one forwarder against another
#   BENCH_SCALE=0       the paths' table only: no live, metrics, allow or
#                       scale rows
#   BENCH_PORT_BASE=P   host ports used: P+1..P+69 and P+1000..P+1999 (19100)
#   BENCH_IDLE_CONNS=N  idle connections for the scale row (10000)
#   BENCH_LIVE_*        live.sh's (host ports 18980-18984 by default)
#   BENCH_METRICS_*     metrics.sh's (host ports 21000-22999 by default)
#   BENCH_STARTS_*      starts.sh's (host ports 23000-23099 by default)
#
# Traffic goes only to 127.0.0.1 and the container's own bridge address.
set -euo pipefail
cd "$(dirname "$0")/../.."
START=$(date +%s)
# Other work on this machine skews every number: the report shows the load.
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
B=$(realpath "${PORTSIDE_BUILD:-build}")
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
# shellcheck source=tests/bench/runc.sh
. tests/bench/runc.sh
# shellcheck source=tests/bench/scale.sh
. tests/bench/scale.sh
# shellcheck source=tests/bench/report.sh
. tests/bench/report.sh

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	RUNS=${BENCH_RUNS:-1} T=2 REDIS_N=30000 HOOK_RUNS=5
else
	RUNS=${BENCH_RUNS:-3} T=5 REDIS_N=200000 HOOK_RUNS=20
fi
BASE=${BENCH_PORT_BASE:-19100}
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}

# ---- what is needed ----

[ "$(id -u)" = 0 ] || die "needs root (containers, cgroups)"
for c in podman runc socat pasta ip curl jq iperf3 wrk sockperf redis-benchmark hyperfine gnuplot nsenter prlimit ss; do
	command -v "$c" >/dev/null || die "$c is missing: packaging/deps.sh --bench"
done
awk '{exit !($1 > 1)}' /proc/loadavg && log "WARNING: load average $LOAD_START: other work will skew the numbers"
for f in portsidectl portside-hook portside-sidecar tests/udp-echo bench/minfwd bench/conns bench/liveprobe; do
	[ -x "$B/$f" ] || die "$B/$f is missing: make all $B/bench/minfwd $B/bench/conns $B/bench/liveprobe"
done
CG_PARENT=/sys/fs/cgroup/cpuacct
[ -f "$CG_PARENT/cpuacct.usage" ] || die "no cgroup v1 cpuacct hierarchy at $CG_PARENT"

PATHS=("${ALL_PATHS[@]}")
if [ -n "${BENCH_PATHS:-}" ]; then
	PATHS=()
	for p in ${BENCH_PATHS//,/ }; do
		[[ " ${ALL_PATHS[*]} " == *" $p "* ]] || die "BENCH_PATHS: no path $p (${ALL_PATHS[*]})"
		PATHS+=("$p")
	done
fi
declare -A LABEL=([bridge]=bridge [podman-p]="podman -p" [portside]=portside [pasta]=pasta
	[docker-proxy]=docker-proxy [socat]=socat [minimal]=minimal)
# wanted PATH: the run measures PATH.
wanted() { [[ " ${PATHS[*]} " == *" $1 "* ]]; }
# Host ports: path k (after bridge) uses BASE+10k+1 .. BASE+10k+4. In the
# container every path has the same ports but nginx's (lib.sh says why).
container_ports
k=0
for p in "${ALL_PATHS[@]}"; do
	k=$((k + 1))
	[ "$p" = bridge ] && continue
	j=0
	for s in "${SERVICES[@]}"; do
		j=$((j + 1))
		PORT[$p:$s]=$((BASE + 10 * (k - 1) + j))
		host_listening "${PORT[$p:$s]}" && die "host port ${PORT[$p:$s]} is in use (BENCH_PORT_BASE)"
	done
	ADDR[$p]=127.0.0.1
done

# ---- clean-up: everything this run started, whatever happened ----

W=$(mktemp -d /tmp/portside-bench.XXXXXX)
CG_ROOT=$CG_PARENT/portside-bench-$$
NAME=portside-bench-$$
NETNS=portside-bench-$$ # pasta's handle on the container's netns (ip netns attach)
CONTAINERS=() BG_PIDS=() RUNC_IDS=()
cleanup() {
	local pid cg
	set +e
	for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for c in "${CONTAINERS[@]}"; do P rm -f -t 0 "$c" >/dev/null 2>&1; done
	for c in "${RUNC_IDS[@]}"; do runc delete -f "$c" >/dev/null 2>&1; done
	[ -e "/run/netns/$NETNS" ] && ip netns delete "$NETNS"
	# What is left in the cgroups: socat's forked children (ours), and the
	# sidecar, which goes with its container.
	for cg in "$CG_ROOT"/*/; do
		[ -d "$cg" ] || continue
		[ "$cg" = "$CG_ROOT/portside/" ] || xargs -r kill <"$cg/cgroup.procs" 2>/dev/null
		wait_until 10 rmdir "$cg" || log "cgroup $cg still busy"
	done
	[ -d "$CG_ROOT" ] && rmdir "$CG_ROOT"
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$CG_ROOT"
RAW=$W/raw.tsv
printf 'path\tmetric\trun\tvalue\n' >"$RAW"

# ---- docker-proxy, from the docker.io package, never installed ----

# Prints its path, or nothing (the row is then left out, and the report says
# why).
docker_proxy() {
	local dir=$B/bench/docker.io deb
	if [ ! -x "$dir/usr/sbin/docker-proxy" ]; then
		mkdir -p "$B/bench"
		deb=$(find "$B/bench" -maxdepth 1 -name 'docker.io_*.deb' | head -1)
		if [ -z "$deb" ]; then
			log "fetching docker.io (for docker-proxy; it is unpacked, not installed)"
			(cd "$B/bench" && timeout 300 apt-get download -q docker.io >&2) || return 0
			deb=$(find "$B/bench" -maxdepth 1 -name 'docker.io_*.deb' | head -1)
		fi
		[ -n "$deb" ] && dpkg-deb -x "$deb" "$dir"
	fi
	[ -x "$dir/usr/sbin/docker-proxy" ] && echo "$dir/usr/sbin/docker-proxy"
	return 0
}
DOCKER_PROXY=$(docker_proxy)
NOTES=()
if [ -z "$DOCKER_PROXY" ] && wanted docker-proxy; then
	NOTES+=("docker-proxy: not measured (apt-get download docker.io failed)")
	for i in "${!PATHS[@]}"; do [ "${PATHS[$i]}" = docker-proxy ] && unset "PATHS[$i]"; done
	PATHS=("${PATHS[@]}")
fi

# ---- the container, and every path to it ----

setup_podman
build_image
ann="" pub=()
for s in "${SERVICES[@]}"; do
	ann+="127.0.0.1:${PORT[portside:$s]}:${TPORT[portside:$s]} "
	pub+=(-p "127.0.0.1:${PORT[podman-p:$s]}:${TPORT[podman-p:$s]}")
done
log "starting the container"
start_container "$NAME" "${ann% }" "${pub[@]}" -- /etc/bench-services || die "podman run: $CT_ERR"
ID=$CT_ID IP=$CT_IP
ADDR[bridge]=$IP
for s in "${SERVICES[@]}"; do
	PORT[bridge:$s]=${TPORT[bridge:$s]}
done
for p in "${ALL_PATHS[@]}"; do
	for s in "${SERVICES[@]}"; do
		wait_until 20 ns_listening "$CT_PID" "${TPORT[$p:$s]}" ||
			die "$s did not start in the container: $(podman logs "$NAME" 2>&1 | tail -5)"
	done
done
SIDECAR_PIDS=$(sidecar_pids "$ID") || die "no sidecar for $ID: $(cat "/run/portside/containers/$ID/sidecar.log" 2>&1)"
CG[portside]=$(cg_make portside)
# shellcheck disable=SC2086 # a list of pids
cg_move "${CG[portside]}" $SIDECAR_PIDS
wanted docker-proxy && start_docker_proxy "$DOCKER_PROXY"
wanted pasta && start_pasta
wanted socat && start_socat
wanted minimal && start_minimal

# Every path must serve the 1 KB file before anything is measured.
for p in "${PATHS[@]}"; do
	size=$(curl -fsS --max-time 5 -o /dev/null -w '%{size_download}' "http://${ADDR[$p]}:${PORT[$p:http]}/1k.html") ||
		die "${LABEL[$p]} does not answer on ${ADDR[$p]}:${PORT[$p:http]}"
	[ "$size" = 1024 ] || die "${LABEL[$p]}: got $size bytes, not 1024"
done

# ---- the runs ----

for run in $(seq 1 "$RUNS"); do
	# Each run starts at another path, so that none is always first.
	n=${#PATHS[@]}
	for i in $(seq 0 $((n - 1))); do
		p=${PATHS[$(((i + run - 1) % n))]}
		log "run $run/$RUNS: ${LABEL[$p]} ($(($(date +%s) - START)) s)"
		measure_iperf "$p" "$run"
		measure_wrk "$p" "$run"
		measure_pingpong "$p" "$run"
		measure_redis "$p" "$run"
		measure_rss "$p" "$run"
	done
done

# The forwarders and the container are done: the scale rows run on a quiet
# machine, each with a container of its own.
for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
[ -e "/run/netns/$NETNS" ] && ip netns delete "$NETNS"
P rm -f -t 0 "$NAME" >/dev/null 2>&1 || true

if [ "${BENCH_SCALE:-1}" = 0 ]; then
	ELAPSED=$(($(date +%s) - START))
	report
	exit 0
fi

# Live changes: a container of its own (live.sh); its raw data joins ours.
log "live changes of the port table ($(($(date +%s) - START)) s)"
if PORTSIDE_BUILD=$B BENCH_LIVE_OUT=$W/live tests/bench/live.sh >/dev/null; then
	tail -n +2 "$W/live.tsv" >>"$RAW"
else
	NOTES+=("live changes: not measured (tests/bench/live.sh failed: its messages are above)")
fi

# portsidectl metrics over 200 containers of 10 mappings (metrics.sh): runc
# containers of its own, gone before the scale rows.
log "portsidectl metrics at scale ($(($(date +%s) - START)) s)"
if PORTSIDE_BUILD=$B BENCH_METRICS_OUT=$W/metrics tests/bench/metrics.sh >/dev/null; then
	tail -n +2 "$W/metrics.tsv" >>"$RAW"
else
	NOTES+=("portsidectl metrics at scale: not measured (tests/bench/metrics.sh failed: its messages are above)")
fi

# Allow lists on the data path: a container of its own (allow.sh), its own
# report (bench/results/DATE-HOST-allow.md).
log "allow lists on the data path ($(($(date +%s) - START)) s)"
PORTSIDE_BUILD=$B tests/bench/allow.sh >/dev/null ||
	NOTES+=("allow lists: not measured (tests/bench/allow.sh failed: its messages are above)")

# Container starts at scale (starts.sh): runc containers of its own, with
# and without a mapping, gone before the scale rows.
log "container starts at scale ($(($(date +%s) - START)) s)"
if PORTSIDE_BUILD=$B BENCH_STARTS_OUT=$W/starts tests/bench/starts.sh >/dev/null; then
	tail -n +2 "$W/starts.tsv" >>"$RAW"
else
	NOTES+=("container starts at scale: not measured (tests/bench/starts.sh failed: its messages are above)")
fi

log "scale: 1000 mapped ports ($(($(date +%s) - START)) s)"
scale_ports
log "scale: $IDLE_CONNS idle connections ($(($(date +%s) - START)) s)"
scale_idle
log "scale: 1000 UDP flows ($(($(date +%s) - START)) s)"
scale_udp
log "scale: hook cost per container start ($(($(date +%s) - START)) s)"
scale_hook

# ---- the report ----

ELAPSED=$(($(date +%s) - START))
report
