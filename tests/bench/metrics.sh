#!/usr/bin/env bash
# portsidectl metrics at scale: BENCH_METRICS_CTS (200) real runc containers
# of BENCH_METRICS_MAPS (10) mappings each, every one served by its own
# sidecar (the hook starts them, as in production), then
#
#   portsidectl metrics >/dev/null       wall time (hyperfine, 20 runs) and
#                                        peak RSS (GNU time, 5 runs: median)
#   portsidectl metrics --textfile F     the same, the file replaced whole
#
# with every sidecar up (each answers a status request over its control
# socket), and with a tenth of them killed (their series then come from the
# records). The containers run busybox sleep: the counters are 0, which costs
# the formatter what any other value would.
#
# Run by tests/bench/run.sh (make bench), or alone:
#
#   PORTSIDE_BUILD=$PWD/build tests/bench/metrics.sh
#
#   BENCH_METRICS_CTS=N        containers (200)
#   BENCH_METRICS_MAPS=M       mappings each (10)
#   BENCH_METRICS_PORT_BASE=P  host ports P..P+N*M-1 on 127.0.0.1 (21000)
#   BENCH_METRICS_OUT=PREFIX   PREFIX.tsv (raw, run.sh's columns), PREFIX.md and
#                              PREFIX.txt (the table); by default
#                              bench/results/DATE-HOST-metrics.{md,tsv}
#
# No traffic at all: the containers' ports are only listened on.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=$(realpath "${PORTSIDE_BUILD:-build}")
NCT=${BENCH_METRICS_CTS:-200}
NMAP=${BENCH_METRICS_MAPS:-10}
PBASE=${BENCH_METRICS_PORT_BASE:-21000}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)

log() { echo "bench metrics: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# shellcheck source=tests/bench/runc.sh
. tests/bench/runc.sh
COMMIT=$(bench_commit)
[ "$(id -u)" = 0 ] || die "needs root (containers)"
bench_needs runc busybox hyperfine jq /usr/bin/time ss
bench_built portsidectl portside-hook portside-sidecar
for ((p = PBASE; p < PBASE + NCT * NMAP; p++)); do
	! ss -Hltn "sport = :$p" | grep -q . || die "host port $p is in use: set BENCH_METRICS_PORT_BASE"
done

W=$(mktemp -d)
PREFIX_ID=psbench-metrics-$$-
cleanup() {
	local ids
	ids=$(runc list -q 2>/dev/null | grep "^$PREFIX_ID" || true)
	for id in $ids; do runc kill "$id" KILL 2>/dev/null || true; done
	for id in $ids; do
		for _ in $(seq 50); do
			runc state "$id" 2>/dev/null | grep -q '"status": "running"' || break
			sleep 0.1
		done
		runc delete -f "$id" >/dev/null 2>&1 || true
	done
	rm -rf "$W"
}
trap cleanup EXIT

# busybox alone: the containers only sleep
busybox_rootfs "$W/rootfs" sh sleep
echo '{}' >"$W/policy.json"
bundle() { runc_bundle "$1" "$W/rootfs" "$W/policy.json" '"/bin/sleep", "3600"' "\"io.portside.ports\": \"$2\""; }

log "starting $NCT containers of $NMAP mappings each"
for ((i = 0; i < NCT; i++)); do
	spec=""
	for ((k = 0; k < NMAP; k++)); do
		spec+="${spec:+,}127.0.0.1:$((PBASE + i * NMAP + k)):$((3000 + k))"
	done
	bundle "$W/b$i" "$spec"
	runc run -d --bundle "$W/b$i" "$PREFIX_ID$i" </dev/null >"$W/b$i/out" 2>&1 ||
		die "container $i did not start: $(cat "$W/b$i/out")"
done
STARTED=$(($(date +%s) - START))
log "started in $STARTED s"

# the containers of this bench in the exposition, and its size
mine() { "$B/portsidectl" metrics | grep -c "^portside_sidecar_up{container_id=\"$PREFIX_ID"; }
[ "$(mine)" -eq "$NCT" ] || die "portsidectl metrics shows $(mine) of the $NCT containers"
"$B/portsidectl" metrics >"$W/all.prom"
SAMPLES=$(grep -vc '^#' "$W/all.prom")
BYTES=$(wc -c <"$W/all.prom")
UP=$(grep -c "^portside_sidecar_up{container_id=\"$PREFIX_ID.*} 1$" "$W/all.prom")
[ "$UP" -eq "$NCT" ] || die "only $UP of $NCT sidecars answered"
if command -v promtool >/dev/null; then
	promtool check metrics <"$W/all.prom" >"$W/promtool.out" 2>&1 || die "promtool: $(head -3 "$W/promtool.out")"
fi

RAW=$W/raw.tsv
printf 'path\tmetric\trun\tvalue\n' >"$RAW"
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RAW"; }

# CASE NAME CMD: hyperfine's mean, min, max (ms) and the median peak RSS (kB).
measure() {
	local name=$1 cmd=$2
	hyperfine -N --warmup 2 --runs 20 --export-json "$W/$name.json" "$cmd" >/dev/null 2>&1 ||
		hyperfine --warmup 2 --runs 20 --export-json "$W/$name.json" "$cmd" >/dev/null
	local m
	for m in mean min max median; do
		record metrics "$name wall $m ms" 1 "$(jq ".results[0].$m * 1000" "$W/$name.json")"
	done
	local rss=()
	for r in 1 2 3 4 5; do
		rss+=("$(/usr/bin/time -f %M sh -c "$cmd" 2>&1 >/dev/null | tail -1)")
		record metrics "$name rss kB" "$r" "${rss[-1]}"
	done
	printf '%s\n' "${rss[@]}" | sort -n | sed -n 3p >"$W/$name.rss"
}

mkdir -m 0755 "$W/tf"
log "measuring, every sidecar up"
measure up "$B/portsidectl metrics >/dev/null"
measure up-textfile "$B/portsidectl metrics --textfile $W/tf/portside.prom"

# a tenth of the sidecars killed: their series come from the records
DEAD=$((NCT / 10))
for ((i = 0; i < DEAD; i++)); do
	read -r pid _ <"/run/portside/containers/$PREFIX_ID$((i * 10))/sidecar.pid"
	kill -9 "$pid"
done
sleep 2
DOWN=$("$B/portsidectl" metrics | grep -c "^portside_sidecar_up{container_id=\"$PREFIX_ID.*} 0$" || true)
log "measuring, $DOWN sidecars down"
measure down "$B/portsidectl metrics >/dev/null"

EL=$(($(date +%s) - START))
ms() { jq -r ".results[0].$2 * 1000 | . * 10 | round / 10" "$W/$1.json"; }
TABLE=$(
	printf '%-44s %9s %9s %9s %9s\n' "portsidectl metrics ($NCT containers x $NMAP)" "mean ms" "min ms" "max ms" "RSS kB"
	for c in up up-textfile down; do
		case $c in
		up) what="stdout, every sidecar up" ;;
		up-textfile) what="--textfile, every sidecar up" ;;
		down) what="stdout, $DOWN sidecars down" ;;
		esac
		printf '%-44s %9s %9s %9s %9s\n' "$what" "$(ms "$c" mean)" "$(ms "$c" min)" "$(ms "$c" max)" "$(cat "$W/$c.rss")"
	done
	echo
	echo "exposition: $SAMPLES samples, $BYTES bytes; $NCT sidecars; containers started in $STARTED s; bench $EL s"
)
echo "$TABLE"

OUT=${BENCH_METRICS_OUT:-bench/results/$(date +%F)-$(hostname -s)-metrics}
mkdir -p "$(dirname "$OUT")"
cp "$RAW" "$OUT.tsv"
echo "$TABLE" >"$OUT.txt"
{
	echo "# portsidectl metrics at scale: $(hostname -s) $(date +%F)"
	echo
	echo "- commit: $COMMIT"
	echo "- kernel: $(uname -r); CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1) x $(nproc)"
	echo "- load average (1, 5, 15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo '```'
	echo "$TABLE"
	echo
	echo "$NCT real runc containers (busybox sleep), each with $NMAP mappings on 127.0.0.1 and its own"
	echo "sidecar, started by the hook. Wall time: hyperfine, 2 warm-up runs and 20 measured; RSS: GNU time's"
	echo "peak resident set, median of 5. \"down\": every tenth sidecar killed with SIGKILL, its series"
	echo "read from its record. The output checked by promtool check metrics first."
	echo '```'
} >"$OUT.md"
log "results in $OUT.md"
