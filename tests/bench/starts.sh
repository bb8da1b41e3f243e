#!/usr/bin/env bash
# Container starts at scale: BENCH_STARTS_N (100) real runc containers started
# BENCH_STARTS_P (10) at a time, as a node does after a drain, once with a
# port annotation (each its own mapping on 127.0.0.1, so the hook binds a
# port and starts a sidecar) and once with the hooks in config.json but no
# annotation (the hook runs and finds nothing to do). Reported, for each:
#
#   wall s       the first start to the last container running
#   p50, p99 ms  one `runc run -d`'s time, over every start of every run
#
# and, with every annotated container up, the total PSS of every sidecar and
# its factories (smaps_rollup), divided by the containers. The two kinds
# alternate, BENCH_STARTS_RUNS (3) times each; each cell is the median.
#
# Run by tests/bench/run.sh (make bench), or alone:
#
#   PORTSIDE_BUILD=$PWD/build tests/bench/starts.sh
#
#   BENCH_STARTS_N=N          containers (100)
#   BENCH_STARTS_P=P          at a time (10)
#   BENCH_STARTS_RUNS=R       runs of each kind (3)
#   BENCH_STARTS_PORT_BASE=B  host ports B..B+N-1 on 127.0.0.1 (23000)
#   BENCH_STARTS_OUT=PREFIX   PREFIX.tsv (raw, run.sh's columns), PREFIX.md and
#                             PREFIX.txt (the table); by default
#                             bench/results/DATE-HOST-starts.*
#
# No traffic at all: the containers' ports are only listened on.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=$(realpath "${PORTSIDE_BUILD:-build}")
N=${BENCH_STARTS_N:-100}
PAR=${BENCH_STARTS_P:-10}
RUNS=${BENCH_STARTS_RUNS:-3}
PBASE=${BENCH_STARTS_PORT_BASE:-23000}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)

log() { echo "bench starts: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# shellcheck source=tests/bench/runc.sh
. tests/bench/runc.sh
COMMIT=$(bench_commit)
[ "$(id -u)" = 0 ] || die "needs root (containers)"
bench_needs runc busybox xargs ss awk
bench_built portside-hook portside-sidecar
[[ $N =~ ^[0-9]+$ && $PAR =~ ^[0-9]+$ && $RUNS =~ ^[0-9]+$ && $N -ge 1 && $PAR -ge 1 && $RUNS -ge 1 &&
	$N -le 1000 && $PAR -le 100 && $RUNS -le 20 ]] ||
	die "BENCH_STARTS_N (1-1000), _P (1-100) and _RUNS (1-20) must be numbers"
for ((p = PBASE; p < PBASE + N; p++)); do
	! ss -Hltn "sport = :$p" | grep -q . || die "host port $p is in use: set BENCH_STARTS_PORT_BASE"
done

W=$(mktemp -d)
PREFIX_ID=psbench-starts-$$-
# remove: every container of this bench, gone (their sidecars with them,
# through poststop).
remove() {
	local ids id
	ids=$(runc list -q 2>/dev/null | grep "^$PREFIX_ID" || true)
	[ -n "$ids" ] || return 0
	# shellcheck disable=SC2086 # a list of ids
	printf '%s\n' $ids | xargs -P "$PAR" -I{} runc delete -f {} >/dev/null 2>&1 || true
	for id in $ids; do
		! runc state "$id" >/dev/null 2>&1 || die "container $id could not be deleted"
	done
}
cleanup() {
	remove || true
	rm -rf "$W"
}
trap cleanup EXIT

# busybox alone: the containers only sleep
busybox_rootfs "$W/rootfs" sleep
echo '{"autoforward": "never"}' >"$W/policy.json"
bundle() { runc_bundle "$1" "$W/rootfs" "$W/policy.json" '"/bin/sleep", "3600"' "$2"; }
for ((i = 0; i < N; i++)); do
	bundle "$W/with$i" "\"io.portside.ports\": \"127.0.0.1:$((PBASE + i)):80\""
	bundle "$W/without$i" ""
done

# one_start KIND I: starts container I of KIND and prints how long it took,
# in ms; a failed start prints "fail" and its error to W/KIND-I.err.
# Exported for xargs' shells.
one_start() {
	local t0 t1
	t0=$(date +%s%N)
	if runc run -d --bundle "$W/$1$2" "$PREFIX_ID$1-$2" </dev/null >"$W/$1-$2.err" 2>&1; then
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000000))
	else
		echo fail
	fi
}
export -f one_start
export W PREFIX_ID

RAW=$W/raw.tsv
printf 'path\tmetric\trun\tvalue\n' >"$RAW"
# (paths "starts-with" and "starts-without": run.sh joins this to its own)
record() { printf 'starts-%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RAW"; }

# pss_kb PID...: their proportional set sizes together, in kB.
pss_kb() {
	local p sum=0 v
	for p in "$@"; do
		v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null) || v=
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# a_run KIND R: N starts of KIND, PAR at a time; records wall, every start,
# and (with) the PSS of every sidecar and its children.
a_run() {
	local kind=$1 r=$2 t0 t1 fails pids s
	remove
	sync
	t0=$(date +%s%N)
	# shellcheck disable=SC2016 # expanded by the inner bash
	seq 0 $((N - 1)) | xargs -P "$PAR" -I{} bash -c 'one_start "$0" "$1"' "$kind" {} >"$W/$kind-$r.ms"
	t1=$(date +%s%N)
	fails=$(grep -c fail "$W/$kind-$r.ms" || true)
	if [ "$fails" -gt 0 ]; then
		die "$fails of $N $kind starts failed, e.g.: $(cat "$(grep -l . "$W/$kind"-*.err | head -1)")"
	fi
	record "$kind" wall_s "$r" "$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')"
	while read -r ms; do record "$kind" start_ms "$r" "$ms"; done <"$W/$kind-$r.ms"
	if [ "$kind" = with ]; then
		pids=()
		for ((i = 0; i < N; i++)); do
			s=$(cat "/run/portside/containers/$PREFIX_ID$kind-$i/sidecar.pid" 2>/dev/null) ||
				die "container $i has no sidecar"
			s=${s%% *}
			pids+=("$s")
			mapfile -t -O "${#pids[@]}" pids < <(pgrep -P "$s" || true)
		done
		record with pss_kb "$r" "$(pss_kb "${pids[@]}")"
		record with procs "$r" "${#pids[@]}"
	fi
	log "run $r $kind: $(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }') s"
}

log "$N containers, $PAR at a time, $RUNS runs of each kind"
for ((r = 1; r <= RUNS; r++)); do
	a_run with "$r"
	a_run without "$r"
done
remove

# med KIND METRIC: the median of a metric's values over the runs.
med() {
	awk -F'\t' -v k="starts-$1" -v m="$2" '$1 == k && $2 == m { print $4 }' "$RAW" | sort -n |
		awk '{ v[n++] = $1 } END { print (n % 2) ? v[int(n/2)] : (v[n/2-1] + v[n/2]) / 2 }'
}
# pct KIND P: the P-th percentile of every start of KIND.
pct() {
	awk -F'\t' -v k="starts-$1" '$1 == k && $2 == "start_ms" { print $4 }' "$RAW" | sort -n |
		awk -v p="$2" '{ v[n++] = $1 } END { i = int(n * p / 100 + 0.5) - 1; if (i < 0) i = 0; print v[i] }'
}
WITH=$(med with wall_s) WITHOUT=$(med without wall_s)
PSS=$(med with pss_kb) PROCS=$(med with procs)
EL=$(($(date +%s) - START))
TABLE=$(
	printf '%-34s %8s %8s %8s\n' "$N runc containers, $PAR at a time" "wall s" "p50 ms" "p99 ms"
	printf '%-34s %8s %8s %8s\n' "with a mapping (hook + sidecar)" "$WITH" "$(pct with 50)" "$(pct with 99)"
	printf '%-34s %8s %8s %8s\n' "without (hook, no annotation)" "$WITHOUT" "$(pct without 50)" "$(pct without 99)"
	echo
	awk -v a="$WITH" -v b="$WITHOUT" -v p="$PSS" -v n="$N" -v k="$PROCS" 'BEGIN {
		printf "wall time with / without: %.2fx; PSS of every sidecar and factory: %d kB, %d kB a container (%d processes)\n",
			a / b, p, p / n, k }'
	echo "median of $RUNS runs each; bench $EL s"
)
echo "$TABLE"

OUT=${BENCH_STARTS_OUT:-bench/results/$(date +%F)-$(hostname -s)-starts}
mkdir -p "$(dirname "$OUT")"
cp "$RAW" "$OUT.tsv"
echo "$TABLE" >"$OUT.txt"
{
	echo "# container starts at scale: $(hostname -s) $(date +%F)"
	echo
	echo "- commit: $COMMIT"
	echo "- kernel: $(uname -r); runc: $(runc --version | head -1); CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1) x $(nproc)"
	echo "- load average (1, 5, 15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo '```'
	echo "$TABLE"
	echo '```'
	echo
	echo "$N runc containers (busybox sleep) started with \`runc run -d\`, $PAR at a time (xargs -P), all"
	echo "with portside's createRuntime and poststop hooks in config.json; \"with\": an io.portside.ports"
	echo "annotation of one mapping on 127.0.0.1 each, so each gets its own sidecar. Wall: the first start"
	echo "to the last one returning; p50/p99: of every start of every run. PSS: smaps_rollup of every"
	echo "sidecar and its children with all $N up."
} >"$OUT.md"
log "results in $OUT.md"
