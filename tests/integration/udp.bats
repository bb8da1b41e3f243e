#!/usr/bin/env bats
# UDP forwarding: flows, replies from the right address, the bounded flow
# table and its idle timeout. The app is the project's static udp-echo.

load helpers
load containers

setup() {
	suite_setup
}

teardown() {
	suite_teardown
}

# udp_ask ADDR PORT MSG [SOURCEPORT]: one datagram, the first reply (2 s).
udp_ask() {
	local opt="" addr=$1
	[ -n "${4:-}" ] && opt=",sourceport=$4"
	[[ "$addr" == *:* ]] && addr="[$addr]"
	printf '%s' "$3" | timeout 5 socat -t 1 -T 0.5 - "UDP:$addr:$2$opt" 2>/dev/null | head -c 200
}

echo_app() {
	runc_start "$1" "$(ports_ann "$2")" "udp-echo 5300"
	assert_status 0
	wait_for 5 bash -c "nsenter -t $(netns_pid $CT) -n ss -Hlun 'sport = :5300' | grep -q ."
}

@test "udp: datagrams go through and replies come back, over IPv4 and IPv6" {
	echo_app echo "18110:5300/udp"
	run udp_ask 127.0.0.1 18110 hello
	[ "$output" = "echo:hello" ]
	run udp_ask ::1 18110 hello6
	[ "$output" = "echo:hello6" ]
	# TCP on the same number is another mapping: not bound here.
	port_free 18110
}

@test "udp: the reply leaves from the address the client sent to" {
	echo_app from "18111:5300/udp"
	# socat connects its socket to 127.0.0.5: a reply from any other
	# source address would never reach it.
	run udp_ask 127.0.0.5 18111 where
	[ "$output" = "echo:where" ]
}

@test "udp: one flow per client, bounded by maxConnections, closed after udpIdleTimeout" {
	echo '{"maxConnections": 2, "udpIdleTimeout": 4}' >"$TMP/policy.json"
	echo_app bounded "18112:5300/udp"
	run udp_ask 127.0.0.1 18112 a 41001
	[ "$output" = "echo:a" ]
	run udp_ask 127.0.0.1 18112 b 41002
	[ "$output" = "echo:b" ]
	# A third client while both flows live: the table is full.
	run udp_ask 127.0.0.1 18112 c 41003
	[ -z "$output" ]
	grep -q "policy maxConnections" "$STATEDIR/$CT/sidecar.log"
	# The same client again reuses its flow.
	run udp_ask 127.0.0.1 18112 a2 41001
	[ "$output" = "echo:a2" ]
	# Idle flows go (after 4 s); then there is room again. Bounded: 12 tries.
	got=""
	for i in $(seq 1 12); do
		got=$(udp_ask 127.0.0.1 18112 c2 41003)
		[ "$got" = "echo:c2" ] && break
		sleep 0.5
	done
	[ "$got" = "echo:c2" ]
}

@test "udp: many clients, no process or thread per flow" {
	echo_app many "18113:5300/udp"
	pid=$(sidecar_pid "$CT")
	for i in $(seq 1 50); do
		printf 'x%s' "$i" | timeout 2 socat -t 0.2 - "UDP:127.0.0.1:18113,sourceport=$((42000 + i))" >/dev/null 2>&1 &
	done
	wait
	[ "$(ls /proc/$pid/task | wc -l)" -eq 1 ]
	[ "$(pgrep -x portside-sideca | while read -r p; do grep -l "$CT" /proc/$p/cmdline 2>/dev/null; done | wc -l)" -eq 1 ]
	run udp_ask 127.0.0.1 18113 still
	[ "$output" = "echo:still" ]
}

@test "udp: doctor sees the app's UDP socket, and ls counts the flow" {
	echo_app doc "18114:5300/udp, 18115:5301/udp"
	run udp_ask 127.0.0.1 18114 hi
	[ "$output" = "echo:hi" ]
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "-> 5300/udp"
	assert_output_has "ok: the app listens on"
	assert_output_has "nothing listens on port 5301/udp in the container"
	trace "$PORTSIDECTL" ls --json
	assert_output_has '"protocol":"udp"'
	[[ "$output" =~ \"bytesIn\":2[,}] ]]
}
