#!/usr/bin/env bats
# Changing a running container's ports (portsidectl expose, unexpose,
# autoforward), against real runc and podman containers and a pod.

load helpers
load containers

setup() {
	suite_setup
}

teardown() {
	[ -n "${CLIENT:-}" ] && kill "$CLIENT" 2>/dev/null
	suite_teardown
}

@test "expose adds a mapping to a running container; unexpose takes it away" {
	www_start live1 "$(ports_ann '18900:3000')" 'httpd -p 3000 -h /www; httpd -f -p 3001 -h /www'
	assert_status 0
	run http_get 18900
	[ "$output" = "hello from live1" ]
	refute http_get 18901
	trace "$PORTSIDECTL" expose "$CT" 18901:3001
	assert_status 0
	assert_output_has "forwarding 0.0.0.0:18901 -> 3001/tcp"
	run http_get 18901
	[ "$output" = "hello from live1" ]
	trace "$PORTSIDECTL" ls
	assert_output_has "18901"
	trace "$PORTSIDECTL" unexpose "$CT" 18901
	assert_status 0
	assert_output_has "stopped forwarding 0.0.0.0:18901 -> 3001/tcp"
	refute http_get 18901
	port_free 18901
	run http_get 18900
	[ "$output" = "hello from live1" ]
}

@test "a change cut short after its record: doctor names it, restore mends it" {
	www_start cut1 "$(ports_ann '18902:3000')" 'httpd -p 3000 -h /www; httpd -f -p 3001 -h /www'
	assert_status 0
	PORTSIDE_FAULT_PAUSE=recorded "$PORTSIDECTL" expose "$CT" 18903:3001 2>"$TMP/expose.err" &
	local pid=$!
	wait_for 10 grep -q "paused at recorded" "$TMP/expose.err"
	kill -9 "$pid"
	wait "$pid" || true
	port_free 18903
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "a change was cut short"
	assert_output_has "portsidectl restore"
	trace "$PORTSIDECTL" restore "$CT"
	assert_status 0
	run http_get 18903
	[ "$output" = "hello from cut1" ]
	trace "$PORTSIDECTL" doctor "$CT"
	assert_output_lacks "cut short"
}

@test "a range exposed at once: 100 ports, 200 listeners, more than one message carries" {
	www_start range1 "$(ports_ann '18904:3000')" 'httpd -p 3000 -h /www; i=3100; while [ $i -lt 3200 ]; do httpd -p $i -h /www; i=$((i+1)); done; exec sleep 1000'
	assert_status 0
	trace "$PORTSIDECTL" expose "$CT" 18700-18799:3100-3199
	assert_status 0
	[ "$(grep -c '^forwarding' <<<"$output")" -ge 100 ]
	wait_for 5 http_get 18700
	run http_get 18700
	[ "$output" = "hello from range1" ]
	wait_for 5 http_get 18799
	run http_get 18799
	[ "$output" = "hello from range1" ]
	trace "$PORTSIDECTL" unexpose "$CT" --local 3150
	assert_status 0
	refute http_get 18750
	run http_get 18751
	[ "$output" = "hello from range1" ]
}
