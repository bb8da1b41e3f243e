#!/usr/bin/env bash
# Live changes of a running container's port table, timed as a client sees
# them: on the bench's podman container (tests/bench/lib.sh), BENCH_LIVE_N
# times (100):
#
#   expose    from the start of `portsidectl expose --id ID 127.0.0.1:P:Q`
#             to the first HTTP request answered through host port P;
#   unexpose  from the start of `portsidectl unexpose --id ID P` to the
#             first connect to P refused;
#
# (--id: the id as a program that read `ls --json` passes it), then 20 of
# each without --id, where portsidectl asks podman whether ID names one of
# its containers (about 0.1 s of podman start-up);
#
# and how long each portsidectl took (start to exit). tests/bench/liveprobe.c
# spawns portsidectl and retries 127.0.0.1:P meanwhile (every 100 µs, 1 ms
# after a try that connected); the times are CLOCK_MONOTONIC, from just
# before the spawn. p50/p99/max of each.
#
# A change must not cost the data path anything: the sidecar's forwarding
# is measured (lib.sh's iperf3, wrk, sockperf and redis runs, once each)
# through the container's four other forwards before the changes and after
# them, on the same sidecar, whose memory and open files are counted then
# too.
#
# Run by tests/bench/run.sh (make bench), or alone:
#
#   PORTSIDE_BUILD=$PWD/build tests/bench/live.sh
#
#   BENCH_LIVE_N=N          changes of each kind (100)
#   BENCH_LIVE_PORT_BASE=P  host ports P (the one changed) and P+1..P+4 (18980)
#   BENCH_LIVE_GAP_US=U     the client's pause between two tries (100 µs)
#   BENCH_LIVE_NOTE=TEXT    said in the report next to the sidecar's build
#   BENCH_QUICK=1           2 s data-path tests (and a -quick report)
#   BENCH_LIVE_OUT=PREFIX   where the results go: PREFIX.tsv (raw data, as
#                           run.sh's), PREFIX.md, and PREFIX.txt (the tables,
#                           for run.sh); bench/results/DATE-HOST-live.{md,tsv}
#                           by default
#   BENCH_LIVE_PROFILE=DIR  then where the time goes, into DIR: podman's
#                           answer to portsidectl's question alone, the
#                           changes again (20) with podman hidden from
#                           portsidectl, and with the refusal log hidden too,
#                           strace -c and strace -f -ttt -T of portsidectl
#                           and of the sidecar for one of each
#
# Traffic goes only to 127.0.0.1 and the container's own bridge address.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=$(realpath "${PORTSIDE_BUILD:-build}")
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

N=${BENCH_LIVE_N:-100}
GAP=${BENCH_LIVE_GAP_US:-100}
LBASE=${BENCH_LIVE_PORT_BASE:-18980}
if [ "${BENCH_QUICK:-0}" = 1 ]; then T=2 REDIS_N=30000; else T=5 REDIS_N=200000; fi
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
# What was measured, before this run writes its results into the tree.
COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain -- . 2>/dev/null)" ] && COMMIT+=" (with uncommitted changes)"

[ "$(id -u)" = 0 ] || die "needs root (containers, cgroups)"
for c in podman runc curl jq iperf3 wrk sockperf redis-benchmark nsenter ss; do
	command -v "$c" >/dev/null || die "$c is missing: packaging/deps.sh --bench"
done
for f in portsidectl portside-hook portside-sidecar tests/udp-echo bench/conns bench/liveprobe; do
	[ -x "$B/$f" ] || die "$B/$f is missing: make all $B/bench/conns $B/bench/liveprobe"
done
CG_PARENT=/sys/fs/cgroup/cpuacct
[ -f "$CG_PARENT/cpuacct.usage" ] || die "no cgroup v1 cpuacct hierarchy at $CG_PARENT"

# The image is run.sh's (build_image writes nginx a port a path, as run.sh
# numbers them): one image for both. The changed port leads to nginx's
# port of the portside path; the data path goes through the four others.
container_ports
HP=$LBASE
TARGET=${TPORT[portside:http]}
j=0
for s in "${SERVICES[@]}"; do
	j=$((j + 1))
	PORT[before:$s]=$((LBASE + j)) PORT[after:$s]=$((LBASE + j))
done
for p in $(seq "$LBASE" $((LBASE + j))); do
	host_listening "$p" && die "host port $p is in use (BENCH_LIVE_PORT_BASE)"
done
ADDR[before]=127.0.0.1 ADDR[after]=127.0.0.1

# ---- clean-up: everything this run started ----

W=$(mktemp -d /tmp/portside-live.XXXXXX)
CG_ROOT=$CG_PARENT/portside-live-$$
NAME=portside-live-$$
CONTAINERS=() BG_PIDS=()
cleanup() {
	set +e
	for c in "${CONTAINERS[@]}"; do P rm -f -t 0 "$c" >/dev/null 2>&1; done
	# The sidecar (in it) goes with its container.
	[ -d "$CG_ROOT/portside" ] && wait_until 10 rmdir "$CG_ROOT/portside"
	[ -d "$CG_ROOT" ] && rmdir "$CG_ROOT"
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$CG_ROOT"
RAW=$W/raw.tsv
printf 'path\tmetric\trun\tvalue\n' >"$RAW"

# ---- the container ----

setup_podman
build_image
ann=""
for s in "${SERVICES[@]}"; do
	ann+="127.0.0.1:${PORT[before:$s]}:${TPORT[portside:$s]} "
done
log "live: starting the container"
start_container "$NAME" "${ann% }" -- /etc/bench-services || die "podman run: $CT_ERR"
ID=$CT_ID IP=$CT_IP
for s in "${SERVICES[@]}"; do
	wait_until 20 ns_listening "$CT_PID" "${TPORT[portside:$s]}" ||
		die "$s did not start in the container: $(podman logs "$NAME" 2>&1 | tail -5)"
done
SIDECAR_PIDS=$(sidecar_pids "$ID") || die "no sidecar for $ID: $(cat "/run/portside/containers/$ID/sidecar.log" 2>&1)"
CG[before]=$(cg_make portside) CG[after]=$CG_ROOT/portside
# shellcheck disable=SC2086 # a list of pids
cg_move "${CG[before]}" $SIDECAR_PIDS
curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:${PORT[before:http]}/1k.html" ||
	die "the container does not answer through portside on 127.0.0.1:${PORT[before:http]}"
curl -fsS --max-time 5 -o /dev/null "http://$IP:$TARGET/1k.html" || die "nginx does not answer on $IP:$TARGET"

# fds PID...: their open files together.
fds() {
	local p n=0
	for p in "$@"; do n=$((n + $(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l))); done
	echo "$n"
}

# datapath before|after: the portside row of run.sh, once, and the
# sidecar's memory and open files.
datapath() {
	log "live: data path, $1 the changes"
	# shellcheck disable=SC2086 # a list of pids
	record "$1" rss 1 "$(rss_kb $SIDECAR_PIDS)"
	# shellcheck disable=SC2086
	record "$1" fds 1 "$(fds $SIDECAR_PIDS)"
	measure_iperf "$1" 1
	measure_wrk "$1" 1
	measure_pingpong "$1" 1
	measure_redis "$1" 1
}

# ---- the changes ----

# changes COUNT PREFIX ARGS...: COUNT exposes and unexposes, portsidectl
# given ARGS before the id (--id: the id taken whole, as a program that read
# ls --json passes it; none: looked up, podman asked), recorded under PREFIX.
changes() {
	local count=$1 pfx=$2 i out first exit
	shift 2
	for i in $(seq 1 "$count"); do
		if out=$("$B/bench/liveprobe" -i "$GAP" served "$HP" -- "$B/portsidectl" expose "$@" "$ID" "127.0.0.1:$HP:$TARGET" 2>"$W/err"); then
			read -r first exit _ <<<"$out"
			record live "${pfx}expose_served" "$i" "$first"
			record live "${pfx}expose_exit" "$i" "$exit"
		else
			FAILS=$((FAILS + 1))
			log "live: expose $i failed: $(tail -2 "$W/err")"
		fi
		if out=$("$B/bench/liveprobe" -i "$GAP" refused "$HP" -- "$B/portsidectl" unexpose "$@" "$ID" "$HP" 2>"$W/err"); then
			read -r first exit _ <<<"$out"
			record live "${pfx}unexpose_refused" "$i" "$first"
			record live "${pfx}unexpose_exit" "$i" "$exit"
		else
			FAILS=$((FAILS + 1))
			log "live: unexpose $i failed: $(tail -2 "$W/err")"
			# The next expose needs the port free.
			"$B/portsidectl" unexpose "$ID" "$HP" >/dev/null 2>&1 || true
		fi
		[ "$FAILS" -le 10 ] || die "more than 10 changes failed"
	done
}

datapath before
log "live: $N exposes and unexposes of 127.0.0.1:$HP -> $TARGET (--id), then 20 looked up"
FAILS=0
changes "$N" "" --id
changes 20 lookup_
[ "$(sidecar_pids "$ID")" = "$SIDECAR_PIDS" ] || die "the sidecar changed during the changes"
datapath after

# ---- where the time goes (BENCH_LIVE_PROFILE) ----

# ms_since NS: milliseconds from NS (date +%s%N) to now.
ms_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN {printf "%.3f\n", (b - a) / 1e6}'; }

# hidden CMD...: CMD in a mount namespace of its own where podman is not
# executable (/dev/null over it): portsidectl then resolves the id without
# asking podman (ctl/ask.c finds no podman), the rest is the same. With
# LIVE_EMPTY_LOG set, that file is over the hook's refusal log as well.
hidden() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	unshare -m bash -c 'mount --bind /dev/null "$0" &&
		{ [ -z "${LIVE_EMPTY_LOG:-}" ] || [ ! -e /run/portside/hook.log ] ||
			mount --bind "$LIVE_EMPTY_LOG" /run/portside/hook.log; } &&
		exec "$@"' "$(command -v podman)" "$@"
}

profile() {
	local d=$1 i t0 out first exit
	mkdir -p "$d"
	log "live: profile into $d"
	# What ctl_resolve asks podman for a whole id (ctl/resolve.c podman_id).
	for i in $(seq 1 20); do
		t0=$(date +%s%N)
		podman --remote=false container inspect --format '{{.Id}} {{.State.Pid}} {{.StaticDir}}' -- "$ID" \
			>/dev/null 2>&1
		record live podman_inspect "$i" "$(ms_since "$t0")"
	done
	# The changes again with podman hidden, and then with the hook's
	# refusal log (which ctl_resolve reads whole for its candidates) out of
	# sight too: an empty file over it, in the same private mount namespace.
	for v in nopodman nolog; do
		if [ "$v" = nolog ]; then
			export LIVE_EMPTY_LOG=$W/empty.log
			: >"$LIVE_EMPTY_LOG"
		fi
		for i in $(seq 1 20); do
			if out=$(hidden "$B/bench/liveprobe" -i "$GAP" served "$HP" -- "$B/portsidectl" expose "$ID" \
				"127.0.0.1:$HP:$TARGET" 2>"$W/err"); then
				read -r first exit _ <<<"$out"
				record live "${v}_expose_served" "$i" "$first"
				record live "${v}_expose_exit" "$i" "$exit"
			else
				log "live: expose ($v) $i failed: $(tail -2 "$W/err")"
			fi
			if out=$(hidden "$B/bench/liveprobe" -i "$GAP" refused "$HP" -- "$B/portsidectl" unexpose "$ID" \
				"$HP" 2>"$W/err"); then
				read -r first exit _ <<<"$out"
				record live "${v}_unexpose_refused" "$i" "$first"
				record live "${v}_unexpose_exit" "$i" "$exit"
			else
				log "live: unexpose ($v) $i failed: $(tail -2 "$W/err")"
				"$B/portsidectl" unexpose "$ID" "$HP" >/dev/null 2>&1 || true
			fi
		done
	done
	unset LIVE_EMPTY_LOG
	# The refusal log at its largest: hook.log and hook.log.1 of 1 MiB
	# each, every line another id (what a run of refused starts leaves),
	# in a run directory of its own (PORTSIDE_RUN_DIR); the container
	# asked about is none of them, so this is ctl_resolve's local part.
	mkdir -p "$W/rp/containers"
	chmod 700 "$W/rp" "$W/rp/containers"
	for f in hook.log.1 hook.log; do
		awk -v f="$f" 'BEGIN {
			for (i = 0; n < 1048000; i++) {
				l = sprintf("{\"time\":\"2026-12-01T00:00:00Z\",\"id\":\"refused-%s-%06d\",\"reason\":\"reserved\",\"message\":\"io.portside.ports entry 1: port 22 (ssh) is reserved and can never be forwarded\"}", f, i)
				print l; n += length(l) + 1
			} }' >"$W/rp/$f"
		chmod 600 "$W/rp/$f"
	done
	for i in $(seq 1 5); do
		t0=$(date +%s%N)
		PORTSIDE_RUN_DIR=$W/rp hidden "$B/portsidectl" unexpose deadbeefdeadbeef 1 >/dev/null 2>&1 || true
		record live fulllog_resolve "$i" "$(ms_since "$t0")"
	done
	hidden strace -f -ttt -T -s 200 -o "$d/expose.nopodman.strace" "$B/portsidectl" expose "$ID" \
		"127.0.0.1:$HP:$TARGET" >/dev/null
	hidden strace -f -ttt -T -s 200 -o "$d/unexpose.nopodman.strace" "$B/portsidectl" unexpose "$ID" "$HP" \
		>/dev/null
	strace -f -c -o "$d/expose.strace-c" "$B/portsidectl" expose "$ID" "127.0.0.1:$HP:$TARGET" >/dev/null
	strace -f -c -o "$d/unexpose.strace-c" "$B/portsidectl" unexpose "$ID" "$HP" >/dev/null
	# The sidecar's side of the same changes (its main thread and the
	# socket factory).
	for op in expose unexpose; do
		# shellcheck disable=SC2046,SC2086 # a list of pids
		strace -f -ttt -T -o "$d/$op.sidecar.strace" $(printf -- '-p %s ' $SIDECAR_PIDS) &
		local st=$!
		sleep 1
		if [ "$op" = expose ]; then
			strace -f -ttt -T -s 200 -o "$d/$op.strace" "$B/portsidectl" expose "$ID" "127.0.0.1:$HP:$TARGET" >/dev/null
		else
			strace -f -ttt -T -s 200 -o "$d/$op.strace" "$B/portsidectl" unexpose "$ID" "$HP" >/dev/null
		fi
		sleep 0.5
		kill -INT "$st"
		wait "$st" || true
	done
	{
		printf '%-50s %8s %8s %8s\n' "where the time goes (20 of each)" "p50 ms" "p99 ms" "max ms"
		summary_rows podman_inspect "podman container inspect (ctl_resolve's question)"
		summary_rows nopodman_expose_served "podman hidden: expose -> served"
		summary_rows nopodman_expose_exit "  portsidectl expose, start to exit"
		summary_rows nopodman_unexpose_refused "  unexpose -> refused"
		summary_rows nopodman_unexpose_exit "  portsidectl unexpose, start to exit"
		summary_rows nolog_expose_served "podman and the refusal log hidden: expose -> served"
		summary_rows nolog_expose_exit "  portsidectl expose, start to exit"
		summary_rows nolog_unexpose_refused "  unexpose -> refused"
		summary_rows nolog_unexpose_exit "  portsidectl unexpose, start to exit"
		summary_rows fulllog_resolve "an unknown id, refusal logs full (2 x 1 MiB; 5 runs)"
		echo "(the refusal log, $(stat -c %s /run/portside/hook.log 2>/dev/null || echo 0) bytes in $(wc -l </run/portside/hook.log 2>/dev/null || echo 0) lines," \
			"is read whole by every change; it rotates at 1 MiB into hook.log.1, read too)"
	} >"$d/summary.txt"
}

# ---- the report ----

# pct METRIC P: the P-th percentile (nearest rank) of the live runs, "-"
# when there are none.
pct() {
	awk -F'\t' -v m="$1" -v p="$2" '
		$1 == "live" && $2 == m && $4 != "-" { v[n++] = $4 + 0 }
		END {
			if (!n) { print "-"; exit }
			for (i = 1; i < n; i++) for (j = i; j > 0 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
			r = int(p / 100 * n + 0.999999); if (r < 1) r = 1; if (r > n) r = n
			printf "%.1f\n", v[r-1]
		}' "$RAW"
}

# one VALUE FORMAT: VALUE formatted, or "-".
# shellcheck disable=SC2059 # the formats are ours
one() { if [ "$1" = - ]; then echo -; else LC_ALL=C printf "$2\n" "$1"; fi; }

# summary_rows METRIC LABEL: its line of the table.
summary_rows() { printf '%-50s %8s %8s %8s\n' "$2" "$(pct "$1" 50)" "$(pct "$1" 99)" "$(pct "$1" 100)"; }

summary() {
	local p
	printf '%-50s %8s %8s %8s\n' "live change ($N of each)" "p50 ms" "p99 ms" "max ms"
	summary_rows expose_served "expose -> first request served"
	summary_rows expose_exit "portsidectl expose, start to exit"
	summary_rows unexpose_refused "unexpose -> first connect refused"
	summary_rows unexpose_exit "portsidectl unexpose, start to exit"
	summary_rows lookup_expose_served "without --id (podman asked; 20): expose -> served"
	summary_rows lookup_unexpose_refused "  unexpose -> refused"
	[ "$FAILS" = 0 ] || echo "($FAILS of $((2 * N)) changes failed and are left out)"
	echo
	printf '%-24s %9s %9s %9s %9s %9s %9s %9s %8s %6s\n' "data path (portside)" "Gbit/s 1" "Gbit/s 4" \
		"CPU-s/GB" "conn/s" "p50 µs" "p99 µs" "GET/s" "RSS kB" "fds"
	for p in before after; do
		printf '%-24s %9s %9s %9s %9s %9s %9s %9s %8s %6s\n' "$p the changes" \
			"$(one "$(median "$p" gbps1)" %.1f)" "$(one "$(median "$p" gbps4)" %.1f)" \
			"$(one "$(median "$p" cpu_gb)" %.2f)" "$(one "$(median "$p" cps)" %.0f)" \
			"$(one "$(median "$p" p50)" %.1f)" "$(one "$(median "$p" p99)" %.1f)" \
			"$(one "$(median "$p" redis)" %.0f)" "$(median "$p" rss)" "$(median "$p" fds)"
	done
	echo
	cat <<EOF
Live changes: on one podman container (runc), host port 127.0.0.1:$HP to nginx's $TARGET, exposed and
unexposed $N times in turn; the container id given whole. Times from just before portsidectl is
spawned (CLOCK_MONOTONIC) to the first HTTP 200 through the port, to the first refused connect, and to
portsidectl's exit; the client (tests/bench/liveprobe.c) retries every $GAP µs ($((GAP * 10)) µs after a
try that connected). p99 and max: nearest-rank percentiles of the $N. Data path: one run of each of
run.sh's tests (${T} s), through the container's other four forwards, on the same sidecar before and
after the changes.
EOF
}

[ -z "${BENCH_LIVE_PROFILE:-}" ] || profile "$BENCH_LIVE_PROFILE"

# run.sh reads the tables (PREFIX.txt); alone, the Markdown has them.
if [ -n "${BENCH_LIVE_OUT:-}" ]; then
	OUT=$BENCH_LIVE_OUT TXT=$BENCH_LIVE_OUT.txt
else
	mkdir -p bench/results
	OUT=bench/results/$(date +%F)-$(hostname -s)-live TXT=$W/live.txt
	[ "${BENCH_QUICK:-0}" = 1 ] && OUT+=-quick
fi
summary >"$TXT"
cp "$RAW" "$OUT.tsv"
{
	echo "# portside live changes: $(hostname) $(date +%F)"
	echo
	echo "- commit: $COMMIT"
	echo "- portside-sidecar: sha256 $(sha256sum "$B/portside-sidecar" | cut -c1-12), built" \
		"$(date -r "$B/portside-sidecar" '+%F %T')${BENCH_LIVE_NOTE:+; $BENCH_LIVE_NOTE}"
	echo "- kernel: $(uname -r); CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) × $(nproc)"
	echo "- load average (1, 5, 15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo '```'
	cat "$TXT"
	echo '```'
	echo
	if [ -n "${BENCH_LIVE_PROFILE:-}" ]; then
		echo
		echo "## Where the time goes"
		echo
		echo '```'
		cat "$BENCH_LIVE_PROFILE/summary.txt"
		echo '```'
	fi
	echo
	echo "Raw data (every change): [$(basename "$OUT").tsv]($(basename "$OUT").tsv)"
} >"$OUT.md"
echo
cat "$TXT"
[ -z "${BENCH_LIVE_PROFILE:-}" ] || { echo; cat "$BENCH_LIVE_PROFILE/summary.txt"; }
log "live: wrote $OUT.md and $OUT.tsv"
