# shellcheck shell=bash
# The report of tests/bench/run.sh: the table of medians (stdout and
# Markdown), the ratios, the scale rows, the live changes (live.sh's
# tables, when it ran), the raw data and a chart, in
# bench/results/DATE-HOST.{md,tsv,png}. Sourced after lib.sh and scale.sh.

# The table's columns: metric, header, printf format of a value.
COLS=(gbps1 gbps4 cpu_gb cps p50 p99 redis rss)
declare -A HEAD=([gbps1]="Gbit/s 1" [gbps4]="Gbit/s 4" [cpu_gb]="CPU-s/GB" [cps]="conn/s"
	[p50]="p50 µs" [p99]="p99 µs" [redis]="GET/s" [rss]="RSS kB")
declare -A FMT=([gbps1]=%.1f [gbps4]=%.1f [cpu_gb]=%.2f [cps]=%.0f [p50]=%.1f [p99]=%.1f [redis]=%.0f [rss]=%.0f)

# cell PATH METRIC: the median, formatted ("-" when there is none).
cell() {
	local v
	v=$(median "$1" "$2")
	# shellcheck disable=SC2059 # the formats are ours
	if [ "$v" = - ]; then echo -; else LC_ALL=C printf "${FMT[$2]}\n" "$v"; fi
}

# ratio A B FORMAT: A / B, or "-".
ratio() {
	awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf f "\n", a / b }'
}

# table_rows: one line a path, tab-separated: label, then each column.
table_rows() {
	local p c line
	for p in "${PATHS[@]}"; do
		line=${LABEL[$p]}
		for c in "${COLS[@]}"; do line+=$'\t'$(cell "$p" "$c"); done
		echo "$line"
	done
}

# print_table: aligned for a terminal (the µs headers are one byte wider
# than they look, hence the wider format for them).
print_table() {
	local fmt='%-13s %9s %9s %9s %9s %10s %10s %9s %8s\n' c hdr=()
	for c in "${COLS[@]}"; do hdr+=("${HEAD[$c]}"); done
	# shellcheck disable=SC2059 # the format is ours
	printf "$fmt" PATH "${hdr[@]}"
	table_rows | while IFS=$'\t' read -r -a f; do
		# shellcheck disable=SC2059
		printf '%-13s %9s %9s %9s %9s %9s %9s %9s %8s\n' "${f[@]}"
	done
}

markdown_table() {
	local c
	printf '| path |'
	for c in "${COLS[@]}"; do printf ' %s |' "${HEAD[$c]}"; done
	printf '\n| --- |'
	for c in "${COLS[@]}"; do printf ' ---: |'; done
	echo
	table_rows | sed -e 's/\t/ | /g' -e 's/^/| /' -e 's/$/ |/'
}

# The ratios the issue asks about.
ratios() {
	echo "portside new conn/s ÷ minimal:         $(ratio "$(median portside cps)" "$(median minimal cps)" %.2f)"
	echo "portside new conn/s ÷ docker-proxy:    $(ratio "$(median portside cps)" "$(median docker-proxy cps)" %.2f)"
	echo "portside Gbit/s ÷ bridge:              $(ratio "$(median portside gbps1)" "$(median bridge gbps1)" %.2f)" \
		"(1 stream), $(ratio "$(median portside gbps4)" "$(median bridge gbps4)" %.2f) (4 streams)"
	echo "portside p50 − bridge p50:             $(awk -v a="$(median portside p50)" -v b="$(median bridge p50)" \
		'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%+.1f µs\n", a - b }')"
	echo "portside redis GET/s ÷ podman -p:      $(ratio "$(median portside redis)" "$(median podman-p redis)" %.2f)"
	vs_pasta
}

# portside against pasta, column by column, each said so that above 1.00 is
# portside ahead (the lower-is-better columns divided the other way).
vs_pasta() {
	local c line="" r
	for c in "${COLS[@]}"; do
		case $c in
		cpu_gb | p50 | p99 | rss) r=$(ratio "$(median pasta "$c")" "$(median portside "$c")" %.2f) ;;
		*) r=$(ratio "$(median portside "$c")" "$(median pasta "$c")" %.2f) ;;
		esac
		line+=" ${HEAD[$c]} $r,"
	done
	echo "portside ahead of pasta by (x):       ${line%,}"
}

scale_rows() {
	local d
	d=$(awk -v a="${SCALE[hook_with]:--}" -v b="${SCALE[hook_without]:--}" \
		'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%+.1f", a - b }')
	printf '%-38s %s kB\n' "sidecar RSS, 1 port, no connections:" "${SCALE[idle0]:--}"
	printf '%-38s %s kB (%s)\n' "sidecar RSS, 1000 mapped ports:" "${SCALE[ports]:--}" "${SCALE_NOTE[ports]:-}"
	printf '%-38s %s kB (%s)\n' "sidecar RSS, $IDLE_CONNS idle connections:" "${SCALE[idle]:--}" "${SCALE_NOTE[idle]:-}"
	printf '%-38s %s kB (%s)\n' "sidecar RSS, 1000 UDP flows:" "${SCALE[udp]:--}" "${SCALE_NOTE[udp]:-}"
	printf '%-38s %s ms with the annotation, %s ms without: %s ms (%s)\n' "hook, runc run + delete:" \
		"$(LC_ALL=C printf '%.1f' "${SCALE[hook_with]:-0}")" "$(LC_ALL=C printf '%.1f' "${SCALE[hook_without]:-0}")" \
		"$d" "${SCALE_NOTE[hook]:-}"
}

# What the reader needs to read the numbers.
legend() {
	cat <<EOF
Each cell is the median of $RUNS run(s); tests ran ${T} s each. Gbit/s: iperf3 -c -t $T (-P 4), host to container.
CPU-s/GB: the forwarder's cpuacct cgroup (children included) over both iperf3 runs, per GB moved; the kernel
paths (bridge, podman -p) have no process to charge. conn/s: wrk -t2 -c50 -H 'Connection: close' for a 1 KB
file (nginx keep-alive off; nginx counted $(conn_check) accepted connections per completed request).
p50/p99: sockperf pp --tcp -m 1024 --full-rtt, round trip. GET/s: redis-benchmark -t get -c 50 -n $REDIS_N.
RSS: portside = sidecar + its socket factory (all ports); docker-proxy = its ${#SERVICES[@]} processes (one a
port); socat = its ${#SERVICES[@]} listeners (forked children not counted); minimal = its one process;
pasta = its one process (passt.avx2), running as root (--runas 0), with its 4 TCP ports and nothing else.
docker-proxy, socat and minimal dial the container's bridge address from the host; portside dials from
inside the container's network namespace (sockets made by its socket factory) to the container's own address;
pasta dials 127.0.0.1 inside the container's network namespace (its spliced path).
"portside ahead of pasta": portside's value ÷ pasta's, or pasta's ÷ portside's for CPU-s/GB, p50, p99 and
RSS (lower is better there): above 1.00, portside is ahead.
EOF
}

# section FILE HEADING: FILE (another script's table) under HEADING, in
# the Markdown report, when that script ran.
section() {
	[ -f "$1" ] || return 0
	printf '## %s\n\n```\n' "$2"
	cat "$1"
	printf '```\n\n'
}

# conn_check: the lowest conn_per_req any wrk run saw.
conn_check() {
	awk -F'\t' '$2 == "conn_per_req" && $4 != "-" { if (min == "" || $4 < min) min = $4 }
		END { if (min == "") print "(not measured)"; else printf "at least %.3f\n", min }' "$RAW"
}

# plot PNG: a panel a column, a bar a path.
plot() {
	local dat=$W/plot.dat p c i=2
	local -A title=([gbps1]="Gbit/s, 1 stream (higher is better)" [gbps4]="Gbit/s, 4 streams (higher is better)"
		[cpu_gb]="forwarder CPU-s per GB (lower is better)" [cps]="new connections/s (higher is better)"
		[p50]="1 KB ping-pong p50, µs (lower is better)" [p99]="1 KB ping-pong p99, µs (lower is better)"
		[redis]="redis GET/s (higher is better)" [rss]="forwarder RSS, kB (lower is better)")
	local -A colour=([gbps1]="#4477aa" [gbps4]="#4477aa" [cpu_gb]="#aa3377" [cps]="#228833" [p50]="#ee6677"
		[p99]="#ee6677" [redis]="#228833" [rss]="#ccbb44")
	for p in "${PATHS[@]}"; do
		printf '"%s"' "${LABEL[$p]}"
		for c in "${COLS[@]}"; do printf ' %s' "$(median "$p" "$c")"; done
		echo
	done >"$dat"
	{
		cat <<EOF
set terminal pngcairo size 1800,850 font "sans,10"
set output "$1"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set xtics rotate by -25 nomirror
set grid ytics
set yrange [0:*]
set key off
set multiplot layout 2,4 title "portside bench, $(hostname) $(date +%F): the same container by every path (median of $RUNS)"
EOF
		for c in "${COLS[@]}"; do
			printf 'set title "%s"\n' "${title[$c]}"
			printf 'plot "%s" using %d:xtic(1) lc rgb "%s", "" using 0:%d:(sprintf("%s", $%d)) with labels offset 0,0.7\n' \
				"$dat" "$i" "${colour[$c]}" "$i" "${FMT[$c]}" "$i"
			i=$((i + 1))
		done
		echo "unset multiplot"
	} >"$W/plot.gp"
	gnuplot "$W/plot.gp" >"$W/gnuplot.log" 2>&1 || log "gnuplot failed: $(cat "$W/gnuplot.log")"
}

report() {
	local dir=bench/results base commit
	base=$dir/$(date +%F)-$(hostname -s)
	# A quick run never overwrites a real one.
	[ "${BENCH_QUICK:-0}" = 1 ] && base+=-quick
	# Nor does a run of a few paths, or without the scale rows.
	[ -n "${BENCH_PATHS:-}" ] || [ "${BENCH_SCALE:-1}" = 0 ] && base+=-partial
	mkdir -p "$dir"
	commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
	[ -n "$(git status --porcelain -- . 2>/dev/null)" ] && commit+=" (with uncommitted changes)"
	cp "$RAW" "$base.tsv"
	plot "$base.png"
	echo
	print_table
	echo
	ratios
	echo
	[ "${BENCH_SCALE:-1}" = 0 ] || { scale_rows && echo; }
	for t in live metrics starts; do
		if [ -f "$W/$t.txt" ]; then cat "$W/$t.txt" && echo; fi
	done
	legend
	for n in "${NOTES[@]}"; do echo "$n"; done
	echo
	echo "bench: $ELAPSED s; wrote $base.md, $base.tsv and $base.png"
	{
		echo "# portside benchmark: $(hostname) $(date +%F)"
		echo
		echo "- commit: $commit"
		echo "- portside-sidecar: sha256 $(sha256sum "$B/portside-sidecar" | cut -c1-12), built" \
			"$(date -r "$B/portside-sidecar" '+%F %T')"
		echo "- kernel: $(uname -r); CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) × $(nproc)"
		echo "- runs: $RUNS a cell (median), $T s tests; whole bench: $ELAPSED s"
		echo "- load average (1, 5, 15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
		echo
		echo "## Paths"
		echo
		markdown_table
		echo
		echo '```'
		ratios
		echo '```'
		echo
		echo "## Scale (portside)"
		echo
		echo '```'
		scale_rows
		echo '```'
		echo
		section "$W/live.txt" "Live changes (portside)"
		section "$W/metrics.txt" "portsidectl metrics at scale"
		section "$W/starts.txt" "Container starts at scale"
		echo "## How"
		echo
		legend
		for n in "${NOTES[@]}"; do echo "$n"; done
		echo
		echo "![chart]($(basename "$base").png)"
		echo
		echo "Raw data (every run): [$(basename "$base").tsv]($(basename "$base").tsv)"
	} >"$base.md"
}
