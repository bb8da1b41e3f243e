#!/usr/bin/env bats
# portsidectl metrics against real runc containers: exact counts after a
# known load, refusals by reason, a dead sidecar's series, promtool's check,
# the textfile written whole and scraped by a real node_exporter.

load helpers
load containers

NE_PORT=19659

setup() {
	suite_setup
	need promtool prometheus
	need prometheus-node-exporter prometheus-node-exporter
	NE_PID=""
}

teardown() {
	if [ -n "$NE_PID" ]; then
		kill "$NE_PID" 2>/dev/null || true
		wait "$NE_PID" 2>/dev/null || true
	fi
	suite_teardown
}

# web NAME: an httpd on 3000 in a container whose index.html is 10000 bytes;
# host port 19640 forwards to it (label "web"), 19641 to 3001 where nothing
# listens. Waits until the app listens, without a connection through the
# forward (which the counters would show).
web() {
	mkdir -p "$TMP/$1/www"
	head -c 10000 /dev/zero | tr '\0' x >"$TMP/$1/www/index.html"
	runc_start "$1" "$(ports_ann '[{"localPort":3000,"externalPort":19640,"hostIP":"127.0.0.1","label":"web"},{"localPort":3001,"externalPort":19641,"hostIP":"127.0.0.1"}]')" \
		"httpd -f -p 3000 -h /www"
	assert_status 0
	trace "$PORTSIDECTL" wait "$CT" 3000 --timeout 10
	assert_status 0
}

# sample METRIC LABELS...: the value of METRIC's one sample of container $CT
# whose labels include every LABELS (k="v"), from $output.
sample() {
	local m=$1
	shift
	local lines
	lines=$(grep "^$m{" <<<"$output" | grep -F "container_id=\"$CT\"") || return 1
	for l in "$@"; do lines=$(grep -F "$l" <<<"$lines") || return 1; done
	[ "$(wc -l <<<"$lines")" -eq 1 ] || { echo "several samples: $lines" >&2; return 1; }
	awk '{print $NF}' <<<"$lines"
}

@test "after N requests, accepted is N and bytes are what curl sent and got" {
	web load
	N=20
	# curl's own count of what it sent and received, request by request
	run curl -s -o /dev/null -H 'Connection: close' --max-time 30 \
		-w '%{http_code} %{size_request} %{size_header} %{size_download}\n' "http://127.0.0.1:19640/index.html?[1-$N]"
	assert_status 0
	[ "$(grep -c '^200 ' <<<"$output")" -eq "$N" ]
	sent=$(awk '{s += $2} END {print s}' <<<"$output")
	got=$(awk '{s += $3 + $4} END {print s}' <<<"$output")
	body=$(awk '{s += $4} END {print s}' <<<"$output")
	[ "$body" -eq $((N * 10000)) ]
	# refused at once: nothing listens on 3001
	refute curl -s --max-time 5 -o /dev/null http://127.0.0.1:19641/
	wait_for 5 bash -c "[ \$(ss -Htn state established '( sport = :19640 )' | wc -l) -eq 0 ]"

	trace "$PORTSIDECTL" metrics
	assert_status 0
	web='external_port="19640"'
	[ "$(sample portside_connections_accepted_total "$web" 'label="web"' 'local_port="3000"' 'protocol="tcp"' 'external_address="127.0.0.1"')" -eq "$N" ]
	[ "$(sample portside_connections_active "$web")" -eq 0 ]
	in=$(sample portside_forwarded_bytes_total "$web" 'direction="in"')
	out=$(sample portside_forwarded_bytes_total "$web" 'direction="out"')
	[ "$in" -eq "$sent" ]
	[ "$out" -eq "$got" ]
	# and within what the page and busybox's headers can be
	[ "$out" -ge $((N * 10000)) ] && [ "$out" -le $((N * (10000 + 512))) ]
	[ "$(sample portside_connections_refused_total "$web" 'reason="not_listening"')" -eq 0 ]
	# the port nothing listens on: its one client, refused for that reason only
	none='external_port="19641"'
	[ "$(sample portside_connections_accepted_total "$none")" -eq 1 ]
	[ "$(sample portside_connections_refused_total "$none" 'reason="not_listening"')" -eq 1 ]
	for r in max_connections descriptors not_allowed localhost_only; do
		[ "$(sample portside_connections_refused_total "$none" "reason=\"$r\"")" -eq 0 ]
	done
	[ "$(sample portside_sidecar_up)" -eq 1 ]
	[ "$(sample portside_restores_total)" -eq 0 ]
	[ "$(sample portside_udp_flows)" -eq 0 ]
	grep -q '^portside_build_info{version="[^"]*"} 1$' <<<"$output"
	grep -q '^portside_start_refusals_total{reason="port-in-use"} [0-9]*$' <<<"$output"

	# one container, by id, says the same of it
	trace "$PORTSIDECTL" metrics "$CT"
	assert_status 0
	[ "$(sample portside_connections_accepted_total "$web")" -eq "$N" ]

	# the exposition as Prometheus' own linter reads it
	"$PORTSIDECTL" metrics >"$TMP/m.prom"
	run promtool check metrics <"$TMP/m.prom"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	[ -z "$output" ]
}

@test "an app on loopback only is refused as localhost_only" {
	runc_start lo "$(ports_ann '19642:3000')" "httpd -f -p 127.0.0.1:3000 -h /www"
	assert_status 0
	wait_for 5 bash -c "'$PORTSIDECTL' doctor '$CT' | grep -q 'only'"
	refute curl -s --max-time 5 -o /dev/null http://127.0.0.1:19642/
	trace "$PORTSIDECTL" metrics "$CT"
	[ "$(sample portside_connections_refused_total 'external_address="0.0.0.0"' 'external_port="19642"' 'reason="localhost_only"')" -eq 1 ]
	[ "$(sample portside_connections_refused_total 'external_address="0.0.0.0"' 'external_port="19642"' 'reason="not_listening"')" -eq 0 ]
}

@test "a killed sidecar shows as down with its mappings' series, and restore counts" {
	web dead
	run curl -s -o /dev/null --max-time 5 http://127.0.0.1:19640/
	old=$(sidecar_pid "$CT")
	kill -9 "$old"
	wait_for 3 gone_or_zombie "$old"
	trace "$PORTSIDECTL" metrics
	assert_status 0
	[ "$(sample portside_sidecar_up)" -eq 0 ]
	# every mapping still there, its counters 0
	[ "$(sample portside_connections_accepted_total 'external_port="19640"' 'label="web"')" -eq 0 ]
	[ "$(sample portside_connections_accepted_total 'external_port="19641"')" -eq 0 ]
	[ "$(sample portside_forwarded_bytes_total 'external_port="19640"' 'direction="out"')" -eq 0 ]
	[ "$(sample portside_connections_refused_total 'external_port="19641"' 'reason="not_listening"')" -eq 0 ]
	"$PORTSIDECTL" metrics | promtool check metrics

	trace "$PORTSIDECTL" restore "$CT"
	assert_status 0
	trace "$PORTSIDECTL" metrics "$CT"
	[ "$(sample portside_sidecar_up)" -eq 1 ]
	[ "$(sample portside_restores_total)" -eq 1 ]
}

@test "node_exporter's textfile collector serves what --textfile wrote" {
	web scraped
	run curl -s -o /dev/null -H 'Connection: close' --max-time 10 "http://127.0.0.1:19640/index.html?[1-3]"
	wait_for 5 bash -c "[ \$(ss -Htn state established '( sport = :19640 )' | wc -l) -eq 0 ]"
	mkdir -m 0755 "$TMP/textfile"
	trace "$PORTSIDECTL" metrics --textfile "$TMP/textfile/portside.prom"
	assert_status 0
	[ "$(stat -c %a "$TMP/textfile/portside.prom")" = 644 ]
	# nothing left next to it
	[ "$(ls -A "$TMP/textfile")" = portside.prom ]
	port_free "$NE_PORT"
	prometheus-node-exporter --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$TMP/textfile" --web.listen-address=127.0.0.1:$NE_PORT \
		>"$TMP/ne.log" 2>&1 &
	NE_PID=$!
	wait_for 10 curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$NE_PORT/metrics"
	run curl -fsS --max-time 5 "http://127.0.0.1:$NE_PORT/metrics"
	assert_status 0
	[ "$(sample portside_connections_accepted_total 'external_port="19640"')" -eq 3 ]
	[ "$(sample portside_sidecar_up)" -eq 1 ]
	grep -q '^portside_build_info{version="' <<<"$output"
	# the collector read the file without an error
	grep -q '^node_textfile_scrape_error 0$' <<<"$output"
}

@test "the textfile is replaced whole: a reader never sees part of one" {
	web atomic
	mkdir -m 0755 "$TMP/tf"
	F=$TMP/tf/portside.prom
	"$PORTSIDECTL" metrics --textfile "$F"
	lines=$(wc -l <"$F")
	first=$(head -1 "$F")
	[ "$lines" -gt 20 ]
	# shellcheck disable=SC2016
	bash -c 'for i in $(seq 200); do "$0" metrics --textfile "$1" || exit 1; done' "$PORTSIDECTL" "$F" &
	writer=$!
	reads=0 bad=0
	# bounded: until the writer is done, and at most 60 s or 100000 reads
	deadline=$((SECONDS + 60))
	while kill -0 "$writer" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ] && [ "$reads" -lt 100000 ]; do
		c=$(cat "$F")
		reads=$((reads + 1))
		last=$(tail -1 <<<"$c")
		if [ "$(wc -l <<<"$c")" -ne "$lines" ] || [ "$(head -1 <<<"$c")" != "$first" ] ||
			[[ $last != 'portside_connections_refused_total{'*'reason="localhost_only"} '* ]]; then
			bad=$((bad + 1))
		fi
	done
	wait "$writer"
	echo "reads: $reads, partial: $bad" >&2
	[ "$reads" -gt 10 ]
	[ "$bad" -eq 0 ]
	# no temp file left behind
	[ "$(ls -A "$TMP/tf")" = portside.prom ]
}

@test "--textfile refuses a directory others may write to" {
	mkdir -m 0777 "$TMP/shared"
	trace "$PORTSIDECTL" metrics --textfile "$TMP/shared/portside.prom"
	assert_status 1
	assert_output_has "refusing to write"
	[ ! -e "$TMP/shared/portside.prom" ]
	mkdir -m 0775 "$TMP/group"
	trace "$PORTSIDECTL" metrics --textfile "$TMP/group/portside.prom"
	assert_status 1
	# a link where the file goes is replaced, never followed
	mkdir -m 0755 "$TMP/ok"
	echo keep >"$TMP/target"
	ln -s "$TMP/target" "$TMP/ok/portside.prom"
	trace "$PORTSIDECTL" metrics --textfile "$TMP/ok/portside.prom"
	assert_status 0
	[ "$(cat "$TMP/target")" = keep ]
	[ ! -L "$TMP/ok/portside.prom" ]
	trace "$PORTSIDECTL" metrics --textfile "$TMP/nowhere/portside.prom"
	assert_status 1
	trace "$PORTSIDECTL" metrics a b
	assert_status 2
	trace "$PORTSIDECTL" metrics no-such-container-id
	refute [ "$status" -eq 0 ]
}

@test "UDP: flows, a source past udpFlowsPerSource and a port nothing has bound, counted by reason" {
	echo '{"udpFlowsPerSource": 3, "maxUdpFlows": 100}' >"$TMP/policy.json"
	runc_start udp "$(ports_ann '127.0.0.1:19643:5300/udp, 127.0.0.1:19644:5301/udp')" "udp-echo 5300"
	assert_status 0
	wait_for 5 bash -c "nsenter -t $(netns_pid "$CT") -n ss -Hlun 'sport = :5300' | grep -q ."
	# 5 flows from one address: 3 served, 2 refused for the per-source budget
	trace "$PORTSIDE_BUILD/tests/hostile" udp-flows 127.0.0.1 19643 5
	assert_output_has "answered 3 of 5"
	# nothing has bound 5301: its first datagram is refused for that (from
	# another address: 127.0.0.1 holds its 3 flows, the container's budget)
	printf x | timeout 5 socat -t 0.5 - UDP:127.0.0.1:19644,bind=127.0.0.2 >/dev/null 2>&1 || true
	trace "$PORTSIDECTL" metrics "$CT"
	assert_status 0
	[ "$(sample portside_connections_accepted_total 'external_port="19643"' 'protocol="udp"')" -eq 3 ]
	[ "$(sample portside_connections_refused_total 'external_port="19643"' 'reason="max_connections"')" -ge 2 ]
	[ "$(sample portside_connections_refused_total 'external_port="19644"' 'reason="not_listening"')" -ge 1 ]
	[ "$(sample portside_connections_refused_total 'external_port="19644"' 'reason="max_connections"')" -eq 0 ]
	[ "$(sample portside_connections_accepted_total 'external_port="19644"')" -eq 0 ]
	[ "$(sample portside_udp_flows)" -eq 3 ]
}
