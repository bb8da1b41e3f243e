#!/usr/bin/env bats
# Load and faults in the data path, against real runc containers: 10,000
# connections at once, clients and apps that go away mid-stream, half-closes,
# idle connections by the thousand next to a client that must be served, an
# app restarting, and a sidecar that leaks nothing through any of it.

load helpers
load containers

setup() {
	suite_setup
}

teardown() {
	suite_teardown
}

# conns: the sidecar's live connections, as its status says.
conns() {
	"$PORTSIDECTL" ls --json | sed -n 's/.*"connections": *\([0-9]*\).*/\1/p' | head -1
}

# conns_at_least N: the sidecar holds N connections or more.
conns_at_least() {
	[ "$(conns)" -ge "$1" ]
}

# no_conns: every connection ended.
no_conns() {
	[ "$(conns)" = 0 ]
}

# fds PID: how many descriptors the process holds.
fds() {
	ls "/proc/$1/fd" | wc -l
}

# fds_at_most PID N
fds_at_most() {
	[ "$(fds "$1")" -le "$2" ]
}

@test "10,000 connections at once through one sidecar: every byte echoed, any past the fd limit closed cleanly" {
	echo '{"maxConnections": 12000}' >"$TMP/policy.json"
	runc_start many "$(ports_ann 18870:3000)" "faults echo 3000"
	assert_status 0
	wait_for 5 listening 3000
	pid=$(sidecar_pid "$CT")
	soft=$(awk '/^Max open files/ {print $4}' "/proc/$pid/limits")
	trace "$PORTSIDE_BUILD/tests/faults" many 127.0.0.1 18870 10000 60
	assert_status 0
	read -r _ echoed _ closed _ hung <<<"$output"
	echo "sidecar RLIMIT_NOFILE $soft: echoed $echoed, closed $closed, hung $hung"
	# Nobody is left hanging, whatever the limit.
	[ "$hung" -eq 0 ]
	[ $((echoed + closed)) -eq 10000 ]
	if [ "$soft" -ge 20600 ]; then
		[ "$echoed" -eq 10000 ]
	else
		# This host grants no CAP_SYS_RESOURCE (ENVIRONMENT.md expects
		# it): the hook cannot raise the hard limit of 20,000, so the
		# sidecar holds what fits (two a connection) and closes the rest.
		echo "NOTE: RLIMIT_NOFILE $soft < 20,600: this host caps one sidecar below 10,000 connections" >&3
		[ "$echoed" -ge $(((soft - 400) / 2)) ]
		grep -q "refused .*out of descriptors" "$STATEDIR/$CT/sidecar.log"
		[ "$(grep -c "out of descriptors" "$STATEDIR/$CT/sidecar.log")" -le 4 ]
	fi
	# All of them ended: the sidecar is back to what it held before.
	wait_for 10 no_conns
}

@test "a client that goes away mid-transfer, and an app that resets: nothing held, the next client served" {
	runc_start gone "$(ports_ann '18871:3000,18872:4000')" "faults echo 3000 & faults reset 4000 & exec sleep 1000"
	assert_status 0
	wait_for 5 listening 3000
	wait_for 5 listening 4000
	pid=$(sidecar_pid "$CT")
	run bash -c "echo warm | timeout 3 socat -t 1 - TCP:127.0.0.1:18871"
	[ "$output" = "warm" ]
	before=$(fds "$pid")
	# 64 MiB offered; the client is killed after a second, mid-stream.
	for i in 1 2 3; do
		head -c 67108864 /dev/zero | timeout -s KILL 1 socat -u - TCP:127.0.0.1:18871 || true
	done
	# The app resets after its first words.
	run bash -c "echo hello | timeout 5 socat -t 3 - TCP:127.0.0.1:18872"
	assert_output_has "partial"
	wait_for 5 fds_at_most "$pid" "$before"
	run bash -c "echo again | timeout 3 socat -t 1 - TCP:127.0.0.1:18871"
	[ "$output" = "again" ]
}

@test "a client that half-closes and waits gets every byte back, then the end" {
	runc_start half "$(ports_ann 18873:3000)" "faults echo 3000"
	assert_status 0
	wait_for 5 listening 3000
	trace "$PORTSIDE_BUILD/tests/faults" halfclose 127.0.0.1 18873
	assert_status 0
	[ "$output" = "half-close
<eof>" ]
}

@test "3,000 idle connections (slowloris) next to a well-behaved client: it is still served" {
	runc_start slow "$(ports_ann 18874:3000)" "faults echo 3000"
	assert_status 0
	wait_for 5 listening 3000
	"$PORTSIDE_BUILD/tests/faults" idle 127.0.0.1 18874 3000 20 >"$TMP/idle.out" &
	local idler=$!
	wait_for 15 grep -q "idle 3000" "$TMP/idle.out"
	wait_for 10 conns_at_least 3000
	trace "$PORTSIDE_BUILD/tests/faults" many 127.0.0.1 18874 20 10
	assert_output_has "echoed 20 closed 0 hung 0"
	kill "$idler"
	wait_for 10 no_conns
}

@test "an app restarting on the same port is served again within a second" {
	runc_start restart "$(ports_ann 18875:3000)" \
		'while :; do httpd -f -p 3000 -h /www & echo $! >/tmp/httpd.pid; wait; sleep 0.5; done'
	assert_status 0
	echo "hello from restart" >"$TMP/restart/www/index.html"
	wait_for 5 listening 3000
	run http_get 18875
	[ "$output" = "hello from restart" ]
	for i in 1 2 3; do
		# Killed: 0.5 s down, then the same port again. The dial target
		# the sidecar keeps must not make it miss the new app.
		nsenter -t "$(netns_pid "$CT")" -p -m sh -c 'kill $(cat /tmp/httpd.pid)'
		wait_for 2 bash -c "! nsenter -t $(netns_pid "$CT") -n ss -Hltn 'sport = :3000' | grep -q ."
		wait_for 2 listening 3000
		wait_for 1 bash -c "curl -fsS --max-time 1 http://127.0.0.1:18875/ | grep -q 'hello from restart'"
	done
}

@test "backpressure the other way: an app writing to a client that never reads parks a few MiB, the sidecar stays flat" {
	runc_start flood "$(ports_ann 18876:3000)" "yes portside | nc -l -p 3000; exec sleep 1000"
	assert_status 0
	wait_for 5 listening 3000
	pid=$(sidecar_pid "$CT")
	before=$(rss "$pid")
	# A client that connects and never reads, for 5 s.
	socat -u TCP:127.0.0.1:18876 EXEC:'sleep 30' &
	local client=$!
	sleep 5
	after=$(rss "$pid")
	out=$("$PORTSIDECTL" ls --json | grep -o '"bytesOut":[0-9]*' | head -1 | cut -d: -f2)
	kill "$client"
	echo "sidecar RSS $before -> $after kB; $out bytes sent toward the client"
	[ -n "$out" ] && [ "$out" -gt 0 ]
	[ "$out" -lt $((32 * 1024 * 1024)) ]
	[ $((after - before)) -lt 8192 ]
}

@test "a UDP flood past maxUdpFlows: 20,000 flows offered, the client already there still served, memory and log bounded" {
	echo '{"maxConnections": 64, "udpIdleTimeout": 30}' >"$TMP/policy.json"
	runc_start uflood "$(ports_ann 18877:5300/udp)" "udp-echo 5300"
	assert_status 0
	wait_for 5 bash -c "nsenter -t $(netns_pid "$CT") -n ss -Hlun 'sport = :5300' | grep -q ."
	pid=$(sidecar_pid "$CT")
	run bash -c "printf first | timeout 5 socat -t 1 -T 0.5 - UDP:127.0.0.1:18877,sourceport=41101 | head -c 100"
	[ "$output" = "echo:first" ]
	before=$(rss "$pid")
	trace "$PORTSIDE_BUILD/tests/faults" udpflood 127.0.0.1 18877 20000
	assert_output_has "sent 20000"
	after=$(rss "$pid")
	echo "sidecar RSS $before -> $after kB"
	[ $((after - before)) -lt 8192 ]
	# The client that was there is served again (its flow, or a new one in
	# the place of the quietest). A datagram sent while the flood still
	# fills the listener's buffer may be dropped (UDP): asked again,
	# bounded, as a client would.
	got=""
	for i in $(seq 1 10); do
		got=$(printf again | timeout 5 socat -t 1 -T 0.5 - UDP:127.0.0.1:18877,sourceport=41101 | head -c 100)
		[ "$got" = "echo:again" ] && break
		sleep 0.5
	done
	[ "$got" = "echo:again" ]
	# Refusals summarised, not a line each: logged (the flood was
	# refused), in a few lines.
	local lines
	lines=$(grep -c "maxUdpFlows\|udpFlowsPerSource" "$STATEDIR/$CT/sidecar.log" || true)
	[ "$lines" -ge 1 ]
	[ "$lines" -le 6 ]
}
