#!/usr/bin/env bats
# The policy's addressPool: each container its own host-side address.

load helpers
load containers

setup() {
	suite_setup
	echo '{"addressPool": "127.77.0.0/16"}' >"$TMP/policy.json"
}

teardown() {
	suite_teardown
}

web() {
	mkdir -p "$TMP/$1/www"
	echo "hello from $1" >"$TMP/$1/www/index.html"
	runc_start "$1" "$(ports_ann "$2")" "httpd -f -p 3000 -h /www"
}

get() {
	curl -fsS --max-time 5 "http://$1/"
}

@test "two containers serve on port 80, each on its own pool address; a freed address is handed out again" {
	port_free 80 || { echo "this test needs host port 80 free" >&2; false; }
	web one 80:3000
	assert_status 0
	one=$CT
	web two 80:3000
	assert_status 0
	run get 127.77.0.1:80
	[ "$output" = "hello from one" ]
	run get 127.77.0.2:80
	[ "$output" = "hello from two" ]
	# Bound on the pool address only, not on every address.
	! ss -Hltn 'sport = :80' | grep -qE '(\*|0\.0\.0\.0|\[::\]):80 '
	grep -q '"hostIP":"127.77.0.1"' "$RUNDIR/$one/forwards.json" ||
		grep -q '"hostIP": "127.77.0.1"' "$RUNDIR/$one/forwards.json"
	# Released with the container: the next one gets it.
	runc delete --force "$one"
	web three 80:3000
	assert_status 0
	run get 127.77.0.1:80
	[ "$output" = "hello from three" ]
}

@test "a mapping's own hostIP wins over the pool" {
	web own '[{"localPort":3000,"externalPort":18801,"hostIP":"127.0.0.9"}]'
	assert_status 0
	run get 127.0.0.9:18801
	[ "$output" = "hello from own" ]
}
