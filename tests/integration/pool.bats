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

web() { www_start "$1" "$(ports_ann "$2")" "httpd -f -p 3000 -h /www"; }

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
	bound=$(ss -Hltn 'sport = :80')
	refute grep -qE '(\*|0\.0\.0\.0|\[::\]):80 ' <<<"$bound"
	grep -q '"hostIP":"127.77.0.1"' "$STATEDIR/$one/forwards.json" ||
		grep -q '"hostIP": "127.77.0.1"' "$STATEDIR/$one/forwards.json"
	# Released with the container: the next one gets it.
	runc delete --force "$one"
	web three 80:3000
	assert_status 0
	run get 127.77.0.1:80
	[ "$output" = "hello from three" ]
}

@test "with a pool, a mapping may name its own pool address, never another address" {
	# Outside the pool: the annotation would widen what the policy binds.
	web outside '[{"localPort":3000,"externalPort":18801,"hostIP":"127.0.0.9"}]'
	assert_status 1
	assert_output_has "entry 1: host address 127.0.0.9 is not allowed by the host policy"
	# Another container's pool address is not this one's.
	web first 18802:3000
	assert_status 0
	web thief '[{"localPort":3000,"externalPort":18803,"hostIP":"127.77.0.1"}]'
	assert_status 1
	assert_output_has "host address 127.77.0.1 is not this container's pool address (127.77.0.2)"
	# Its own (the next free one) is fine.
	web own '[{"localPort":3000,"externalPort":18804,"hostIP":"127.77.0.2"}]'
	assert_status 0
	run get 127.77.0.2:18804
	[ "$output" = "hello from own" ]
}

@test "an autoforward-only container holds its pool address: two never share one" {
	mkdir -p "$TMP/a/www" "$TMP/b/www"
	runc_start a '"io.portside.autoforward": "public"' "sleep 60"
	assert_status 0
	first=$CT
	runc_start b '"io.portside.autoforward": "public"' "sleep 60"
	assert_status 0
	second=$CT
	grep -q '"127.77.0.1"' "$STATEDIR/$first/forwards.json"
	grep -q '"127.77.0.2"' "$STATEDIR/$second/forwards.json"
	# One address a container, recorded as such: what the next hand-out counts.
	jq -e '.poolAddress == "127.77.0.1"' "$STATEDIR/$first/forwards.json"
	jq -e '.poolAddress == "127.77.0.2"' "$STATEDIR/$second/forwards.json"
	refute grep -q '"127.77.0.1"' "$STATEDIR/$second/forwards.json"
}

@test "the hand-out reads each container's addresses file, not its record: kept through gc and restore, gone once it stops" {
	web kept 18805:3000
	assert_status 0
	kept=$CT
	[ "$(cat "$STATEDIR/$kept/addresses")" = "127.77.0.1" ]
	read -r pid start _ <"$STATEDIR/$kept/process"
	[ "$pid" -gt 1 ] && [ "$start" -gt 0 ]
	# Its sidecar dies, the container runs on; its record made garbage past
	# any read limit: the next start neither reads it (for the pool, nor for
	# gc, which keeps the state of a running container) nor takes its address.
	kill -9 "$(sidecar_pid "$kept")"
	wait_for 3 port_free 18805
	mv "$STATEDIR/$kept/forwards.json" "$TMP/kept.json"
	truncate -s 64M "$STATEDIR/$kept/forwards.json"
	web next 18806:3000
	assert_status 0
	[ "$(cat "$STATEDIR/$CT/addresses")" = "127.77.0.2" ]
	[ -f "$STATEDIR/$kept/addresses" ]
	# Restored from its record: the same address, still its own.
	mv "$TMP/kept.json" "$STATEDIR/$kept/forwards.json"
	trace "$PORTSIDECTL" restore "$kept"
	assert_status 0
	run get 127.77.0.1:18805
	[ "$output" = "hello from kept" ]
	[ "$(cat "$STATEDIR/$kept/addresses")" = "127.77.0.1" ]
	# Stopped: its files go with its state, and the address is free again.
	runc delete --force "$kept"
	refute test -e "$STATEDIR/$kept"
	web third 18807:3000
	assert_status 0
	[ "$(cat "$STATEDIR/$CT/addresses")" = "127.77.0.1" ]
}
