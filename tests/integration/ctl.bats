#!/usr/bin/env bats
# portsidectl ls and doctor against real runc containers.

load helpers
load containers

setup() {
	suite_setup
}

teardown() {
	suite_teardown
}

# web NAME PORTS CMD: a container serving "hello from NAME" from /www.
web() { www_start "$1" "$(ports_ann "$2")" "$3"; }

@test "ls shows each forwarded container, its mappings, connections and bytes" {
	web listed "18950:3000" "httpd -f -p 3000 -h /www"
	assert_status 0
	run http_get 18950
	[ "$output" = "hello from listed" ]
	trace "$PORTSIDECTL" ls
	assert_status 0
	assert_output_has "CONTAINER"
	[[ "$output" =~ ${CT}\ +0\.0\.0\.0:18950\ +3000/tcp\ +explicit\ +0\ +[0-9]+B\ +[0-9.]+(B|kB)\ +running ]]
	assert_output_has "[::]:18950"
	trace "$PORTSIDECTL" ls --json
	assert_status 0
	assert_output_has "\"id\":\"$CT\""
	assert_output_has '"externalPort":18950'
	assert_output_has '"how":"explicit"'
	# Bytes went out to the client: the counter moved.
	[[ "$output" =~ \"bytesOut\":[1-9][0-9]* ]]
}

@test "doctor: a mapping that works is ok" {
	web fine "18951:3000" "httpd -f -p 3000 -h /www"
	assert_status 0
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 0
	assert_output_has "ok: the app listens on"
	assert_output_has ":3000"
}

@test "doctor: the app listens on 8080 while 3000 is mapped" {
	web wrongport "18952:3000" "httpd -f -p 8080 -h /www"
	assert_status 0
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "nothing listens on port 3000 in the container; unmapped, the app listens on 8080"
	assert_output_has "fix: map the port the app uses (io.portside.ports=18952:8080), or make the app listen on 3000"
	trace "$PORTSIDECTL" doctor --json "$CT"
	assert_output_has '"status":"problem"'
}

@test "doctor: the app binds 127.0.0.1 without exposeLocalhost" {
	web loopback "18953:3000" "httpd -f -p 127.0.0.1:3000 -h /www"
	assert_status 0
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "the app listens on 127.0.0.1:3000 only (localhost)"
	assert_output_has "bind the app to 0.0.0.0 (or ::), or set \"exposeLocalhost\": true"
}

@test "doctor: the host port is held by another process, named" {
	socat TCP-LISTEN:18954,reuseaddr,fork EXEC:true &
	holder=$!
	wait_for 2 port_listening 18954
	web held "18954:3000" "httpd -f -p 3000 -h /www"
	kill "$holder"
	[ "$status" -ne 0 ]
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "host port 18954/tcp is already in use by socat (pid $holder)"
	assert_output_has "fix: stop the process that holds the host port, or map another external port"
}

@test "doctor: a reserved port" {
	web reserved "18955:22" "httpd -f -p 22 -h /www"
	[ "$status" -ne 0 ]
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "port 22 (ssh) is reserved"
	assert_output_has "fix: ports 22 and 8283 can never be forwarded"
}

@test "doctor: an unknown container is an error, not a diagnosis" {
	trace "$PORTSIDECTL" doctor no-such-container
	assert_status 1
	assert_output_has "no container portside forwards matches 'no-such-container'"
}
