#!/usr/bin/env bats
# UDP forwarding: flows, replies from the right address, the bounded flow
# table and its idle timeout. The app is the project's static udp-echo.

load helpers
load containers

setup() {
	suite_setup
	HOSTILE=$PORTSIDE_BUILD/tests/hostile
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

# flows PORT: the live UDP flows of host port PORT (its IPv4 and IPv6
# listeners together), as the sidecar's status says.
flows() {
	"$PORTSIDECTL" ls --json | tr -d " \n\t" | grep -o "\"externalPort\":$1,[^}]*" | grep -o '"connections":[0-9]*' |
		awk -F: '{n += $2} END {print n + 0}'
}

# no_flows PORT: every flow of host port PORT closed.
no_flows() {
	[ "$(flows "$1")" = 0 ]
}

@test "udp: one flow per client; a full table makes room by evicting the flow heard from longest ago; idle flows close after udpIdleTimeout" {
	# maxConnections 8 leaves UDP a table of 2 (a quarter).
	echo '{"maxConnections": 8, "udpIdleTimeout": 4}' >"$TMP/policy.json"
	echo_app bounded "18112:5300/udp"
	# udp-echo names the port each datagram came from: the sidecar's
	# socket, so the flow.
	run udp_ask 127.0.0.1 18112 'peer?' 41001
	[[ "$output" =~ ^peer:[0-9]+$ ]]
	a=$output
	run udp_ask 127.0.0.1 18112 'peer?' 41002
	[[ "$output" =~ ^peer:[0-9]+$ ]]
	b=$output
	# The same client again reuses its flow.
	run udp_ask 127.0.0.1 18112 'peer?' 41001
	[ "$output" = "$a" ]
	# A third client while both flows live: served, in the place of the
	# flow heard from longest ago (41002's).
	run udp_ask 127.0.0.1 18112 c 41003
	[ "$output" = "echo:c" ]
	[ "$(flows 18112)" = 2 ]
	grep -q "evicted a flow to host port 18112: 2 flows already (policy maxUdpFlows)" "$STATEDIR/$CT/sidecar.log"
	run udp_ask 127.0.0.1 18112 'peer?' 41001
	[ "$output" = "$a" ]
	# 41002 comes back to a new flow, a socket of its own.
	run udp_ask 127.0.0.1 18112 'peer?' 41002
	[[ "$output" =~ ^peer:[0-9]+$ ]]
	[ "$output" != "$b" ]
	# Idle flows go (after 4 s, swept within a second).
	wait_for 8 no_flows 18112
	run udp_ask 127.0.0.1 18112 again 41003
	[ "$output" = "echo:again" ]
}

@test "udp: a full table evicts flows whose client sent one datagram before a conversation, however long quiet" {
	# A table of 2 (a quarter of maxConnections 8).
	echo '{"maxConnections": 8}' >"$TMP/policy.json"
	echo_app talk "18120:5300/udp"
	# 41021 talks (two datagrams), then 41022 sends one: 41021 was heard
	# from longest ago, but it is a conversation.
	run udp_ask 127.0.0.1 18120 'peer?' 41021
	[[ "$output" =~ ^peer:[0-9]+$ ]]
	a=$output
	run udp_ask 127.0.0.1 18120 'peer?' 41021
	[ "$output" = "$a" ]
	run udp_ask 127.0.0.1 18120 one 41022
	[ "$output" = "echo:one" ]
	# First datagrams from six more ports (as a flood of forged ones):
	# each served, each in the place of another first datagram's flow.
	for p in $(seq 41023 41028); do
		run udp_ask 127.0.0.1 18120 "f$p" "$p"
		[ "$output" = "echo:f$p" ]
	done
	# The conversation kept its flow: the same socket of the sidecar's.
	run udp_ask 127.0.0.1 18120 'peer?' 41021
	[ "$output" = "$a" ]
	[ "$(flows 18120)" = 2 ]
	grep -q "evicted a flow to host port 18120: 2 flows already (policy maxUdpFlows); its client had been quiet longest and sent one datagram" \
		"$STATEDIR/$CT/sidecar.log"
}

@test "udp: flows never take TCP's places, nor TCP connections theirs" {
	# maxConnections 4: TCP's; UDP's table is a quarter of it, 1.
	echo '{"maxConnections": 4}' >"$TMP/policy.json"
	runc_start shared "$(ports_ann "18116:5300/udp, 18117:3000")" "udp-echo 5300 & hostile listen 0.0.0.0 3000"
	assert_status 0
	wait_for 5 bash -c "nsenter -t $(netns_pid $CT) -n ss -Hlun 'sport = :5300' | grep -q ."
	wait_for 5 listening 3000
	# A datagram from each of 8 ports: 8 flows offered, more than TCP's 4.
	trace "$HOSTILE" udp-flows 127.0.0.1 18116 8
	# Some answered (each new flow takes the one table place, so a reply
	# may find its flow gone; "answered 0" would mean UDP served nobody).
	[[ "$output" =~ ^answered\ [1-8]\ of\ 8$ ]]
	# A TCP client is served all the same.
	run ask 18117
	assert_output_has "peer="
	# Four TCP connections held open fill maxConnections; a UDP client
	# is still served.
	"$PORTSIDE_BUILD/tests/faults" idle 127.0.0.1 18117 4 6 >"$TMP/idle.out" &
	wait_for 5 grep -q "idle 4" "$TMP/idle.out"
	run udp_ask 127.0.0.1 18116 still 41200
	[ "$output" = "echo:still" ]
	kill %1 2>/dev/null || true
	wait
}

@test "udp: a client address holds at most udpFlowsPerSource flows (64 by default); other addresses are served" {
	echo_app persource "18118:5300/udp"
	# 70 ports of 127.0.0.1 at once: 64 flows, the rest refused.
	trace "$HOSTILE" udp-flows 127.0.0.1 18118 70
	assert_output_has "answered 64 of 70"
	grep -q "dropped [0-9a-z ]*datagrams* to host port 18118: its address holds 64 flows already (policy udpFlowsPerSource)" \
		"$STATEDIR/$CT/sidecar.log"
	trace "$HOSTILE" udp-flows 127.0.0.1 18118 1
	assert_output_has "answered 0 of 1"
	# Another address is another client.
	trace "$HOSTILE" udp-flows 127.0.0.1 18118 3 127.0.0.2
	assert_output_has "answered 3 of 3"
}

@test "udp: udpFlowsPerSource, from the policy" {
	echo '{"udpFlowsPerSource": 3, "maxUdpFlows": 100}' >"$TMP/policy.json"
	echo_app persource3 "18119:5300/udp"
	trace "$HOSTILE" udp-flows 127.0.0.1 18119 5
	assert_output_has "answered 3 of 5"
	trace "$HOSTILE" udp-flows 127.0.0.1 18119 2 127.0.0.3
	assert_output_has "answered 2 of 2"
}

@test "udp: many clients, no process or thread per flow" {
	echo_app many "18113:5300/udp"
	pid=$(sidecar_pid "$CT")
	for i in $(seq 1 50); do
		printf 'x%s' "$i" | timeout 2 socat -t 0.2 - "UDP:127.0.0.1:18113,sourceport=$((42000 + i))" >/dev/null 2>&1 &
	done
	wait
	# Two threads: the loop and the socket factory.
	[ "$(ls /proc/$pid/task | wc -l)" -eq 2 ]
	factory_tid "$pid"
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
