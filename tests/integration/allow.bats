#!/usr/bin/env bats
# Who may connect: a mapping's allow list and the policy's allowFrom, checked
# by the sidecar on the client's own address (TCP at accept, UDP at a new
# flow's first datagram), against real runc containers. Clients come from
# loopback addresses only: 127.0.0.1 is allowed, 127.0.0.2 is not.
# Host ports 18640-18659 only.

load helpers
load containers

setup() {
	suite_setup
}

teardown() {
	suite_teardown
}

# get_from SRC PORT: the body of GET / on 127.0.0.1:PORT from address SRC.
get_from() {
	curl -fsS --max-time 5 --interface "$1" "http://127.0.0.1:$2/"
}

# udp_from SRC PORT MSG: one datagram from SRC, the first reply (2 s).
udp_from() {
	printf '%s' "$3" | timeout 5 socat -t 1 -T 0.5 - "UDP:127.0.0.1:$2,bind=$1" 2>/dev/null | head -c 200
}

@test "allow: a client from an address not in the list is closed at once, one in it is served" {
	www_start tcp "$(ports_ann '[{"localPort":3000,"externalPort":18640,"allow":["127.0.0.1"]}]')" \
		'httpd -f -p 3000 -h /www'
	assert_status 0
	wait_for 5 port_listening 18640
	run get_from 127.0.0.1 18640
	[ "$output" = "hello from tcp" ]
	refute get_from 127.0.0.2 18640
	refute get_from 127.0.0.2 18640
	# Both refusals counted and named, by address, in doctor.
	trace "$PORTSIDECTL" doctor "$CT"
	assert_output_has "2 connections from 127.0.0.2 refused in the last minute: not in allow (127.0.0.1)"
	assert_output_lacks "from 127.0.0.1 refused"
	run bash -c "timeout 5 '$PORTSIDECTL' ls --json | jq -c --arg id '$CT' '.[] | select(.id == \$id) | [.forwards[].allow]'"
	[ "$output" = '[["127.0.0.1"],["127.0.0.1"]]' ]
	trace "$PORTSIDECTL" ls
	[[ "$output" =~ 0\.0\.0\.0:18640\ .*\ 127\.0\.0\.1 ]]
	# The log summarises, it does not name every client.
	trace "$PORTSIDECTL" logs "$CT"
	assert_output_has "not in allow"
}

@test "allow: a UDP datagram from an address not in the list gets no answer and makes no flow" {
	runc_start udp "$(ports_ann '[{"localPort":5300,"externalPort":18641,"protocol":"udp","allow":["127.0.0.1"]}]')" \
		"udp-echo 5300"
	assert_status 0
	wait_for 5 bash -c "nsenter -t $(netns_pid $CT) -n ss -Hlun 'sport = :5300' | grep -q ."
	run udp_from 127.0.0.2 18641 nope
	[ -z "$output" ]
	run udp_from 127.0.0.1 18641 hello
	[ "$output" = "echo:hello" ]
	trace "$PORTSIDECTL" doctor "$CT"
	assert_output_has "1 new flow from 127.0.0.2 refused in the last minute: not in allow"
}

@test "allowFrom: a mapping without allow gets the policy's; a wider allow is refused at start with one line" {
	echo '{"allowFrom":["127.0.0.1","::1"]}' >"$TMP/policy.json"
	www_start pol "$(ports_ann '18642:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	wait_for 5 port_listening 18642
	run get_from 127.0.0.1 18642
	[ "$output" = "hello from pol" ]
	refute get_from 127.0.0.2 18642
	trace jq -c '.allowFrom' "$STATEDIR/$CT/forwards.json"
	[ "$output" = '["127.0.0.1","::1"]' ]
	# Narrower is fine; wider is not, and the start fails naming both.
	www_start wide "$(ports_ann '[{"localPort":3000,"externalPort":18643,"allow":["127.0.0.0/8"]}]')" \
		'httpd -f -p 3000 -h /www'
	[ "$status" -ne 0 ]
	assert_output_has "allow network 127.0.0.0/8 is not within the host policy's allowFrom (127.0.0.1, ::1)"
	[ "$(grep -c "allowFrom" <<<"$output")" -eq 1 ]
	port_free 18643
	trace "$PORTSIDECTL" check --policy "$TMP/policy.json" '[{"localPort":3000,"externalPort":18644,"allow":["127.0.0.1"]}]'
	assert_status 0
	assert_output_has "allowFrom: 127.0.0.1, ::1"
}

@test "allow: a live expose takes allow, and restore keeps it" {
	www_start live "$(ports_ann '18645:3000')" 'httpd -p 3000 -h /www; httpd -f -p 3001 -h /www'
	assert_status 0
	wait_for 5 port_listening 18645
	trace "$PORTSIDECTL" expose "$CT" --json '[{"localPort":3001,"externalPort":18646,"allow":["127.0.0.1"]}]'
	assert_status 0
	run get_from 127.0.0.1 18646
	[ "$output" = "hello from live" ]
	refute get_from 127.0.0.2 18646
	# The mapping without a list serves anyone.
	run get_from 127.0.0.2 18645
	[ "$output" = "hello from live" ]
	local old
	old=$(sidecar_pid "$CT")
	kill -9 "$old"
	wait_for 3 gone_or_zombie "$old"
	trace "$PORTSIDECTL" restore "$CT"
	assert_status 0
	wait_for 5 port_listening 18646
	run get_from 127.0.0.1 18646
	[ "$output" = "hello from live" ]
	refute get_from 127.0.0.2 18646
}

@test "allow with proxyProtocol: the socket's own peer decides, never a PROXY header the client sends" {
	runc_start proxy "$(ports_ann '[{"localPort":4000,"externalPort":18647,"proxyProtocol":true,"allow":["127.0.0.3"]}]')" \
		"nc -ll -p 4000 -e od -An -tx1 -N 28"
	assert_status 0
	wait_for 5 listening 4000
	hex=$(timeout 10 socat -T 5 - TCP:127.0.0.1:18647,bind=127.0.0.3 </dev/null | tr -s ' \n' ' ')
	# The app got portside's header naming 127.0.0.3.
	[[ "$hex" == *"7f 00 00 03 7f 00 00 01"* ]]
	# From 127.0.0.4, a forged header claiming 127.0.0.3 gets nothing.
	forged='\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0c\x7f\0\0\x03\x7f\0\0\x01\x30\x39\x48\x77'
	hex=$(printf "$forged" | timeout 10 socat -T 2 - TCP:127.0.0.1:18647,bind=127.0.0.4 2>/dev/null | od -An -tx1 | tr -s ' \n' ' ')
	[ -z "${hex// /}" ]
	trace "$PORTSIDECTL" doctor "$CT"
	assert_output_has "from 127.0.0.4 refused in the last minute: not in allow (127.0.0.3)"
}

@test "allowFrom: an automatic forward gets the policy's list" {
	echo '{"allowFrom":["127.0.0.1"],"autoforwardPorts":[18648]}' >"$TMP/policy.json"
	www_start auto "$(ports_ann ''), \"io.portside.autoforward\": \"public\"" 'sleep 1; exec httpd -f -p 4600 -h /www'
	assert_status 0
	wait_for 5 port_listening 18648
	run get_from 127.0.0.1 18648
	[ "$output" = "hello from auto" ]
	refute get_from 127.0.0.2 18648
	trace "$PORTSIDECTL" doctor "$CT"
	assert_output_has "1 connection from 127.0.0.2 refused in the last minute: not in allow (127.0.0.1)"
}
