#!/usr/bin/env bats
# Automatic forwarding: ports the app opens after start get a host port from
# the policy's autoforwardPorts, and lose it when the app closes them.

load helpers
load containers

setup() {
	suite_setup
	echo '{"autoforwardPorts": [18130, 18131, 18132]}' >"$TMP/policy.json"
}

teardown() {
	[ -z "${HOLDER:-}" ] || kill "$HOLDER" 2>/dev/null || true
	suite_teardown
}

# status_count NAME: counter NAME of the sidecar's status reply (lib/reply.h).
status_count() {
	echo status | timeout 3 socat -t 2 - "UNIX-CONNECT:$STATEDIR/$CT/control.sock" | grep -o "\"$1\":[0-9]*" | cut -d: -f2
}

waiting_is() {
	[ "$(status_count autoforwardWaiting)" = "$1" ]
}

@test "public: a port the app opens later is forwarded on the first free autoforward port, and freed when closed" {
	# httpd appears after 1 s, goes away after 4 s.
	www_start later "$(ports_ann '')" 'sleep 1; httpd -f -p 4500 -h /www & p=$!; sleep 4; kill $p; exec sleep 1000'
	assert_status 0
	wait_for 3 port_listening 18130
	run http_get 18130
	[ "$output" = "hello from later" ]
	trace "$PORTSIDECTL" ls
	[[ "$output" =~ 0\.0\.0\.0:18130\ +4500/tcp\ +auto ]]
	grep -q "forwarding 0.0.0.0:18130 -> 4500/tcp automatically" "$STATEDIR/$CT/sidecar.log"
	# The app closes the port: the host port is free within a second.
	wait_for 6 port_free 18130
	grep -q "stopped forwarding host port 18130 -> 4500/tcp" "$STATEDIR/$CT/sidecar.log"
}

@test "public: explicit mappings keep their ports; the next app port takes the next free one" {
	www_start two "$(ports_ann '18130:3000')" 'httpd -f -p 3000 -h /www & httpd -f -p 4501 -h /www & exec sleep 1000'
	assert_status 0
	# 18130 is taken by the explicit mapping: 4501 gets 18131. 3000 is not
	# forwarded twice.
	wait_for 3 port_listening 18131
	run http_get 18131
	[ "$output" = "hello from two" ]
	sleep 0.5
	[ "$(grep -c 'automatically' "$STATEDIR/$CT/sidecar.log")" -le 2 ]
	refute grep -q -- '-> 3000/tcp automatically' "$STATEDIR/$CT/sidecar.log"
}

@test "public skips localhost-only ports, bare LOCAL entries and port 22; all takes localhost-only ones" {
	www_start skip "$(ports_ann '4503')" \
		'httpd -f -p 127.0.0.1:4502 -h /www & httpd -f -p 4503 -h /www & httpd -f -p 22 -h /www & exec sleep 1000'
	assert_status 0
	sleep 1.5
	refute grep -q "automatically" "$STATEDIR/$CT/sidecar.log"
	port_free 18130

	www_start all "$(ports_ann '4503'), \"io.portside.autoforward\": \"all\"" \
		'httpd -f -p 127.0.0.1:4502 -h /www & httpd -f -p 4503 -h /www & httpd -f -p 22 -h /www & exec sleep 1000'
	assert_status 0
	wait_for 3 port_listening 18130
	run http_get 18130
	[ "$output" = "hello from all" ]
	refute grep -q -- '-> 4503/tcp automatically\|-> 22/tcp automatically' "$STATEDIR/$CT/sidecar.log"
}

@test "never: nothing is forwarded automatically; the listener factory waits for a live switch, with no capability" {
	www_start never "$(ports_ann ''), \"io.portside.autoforward\": \"never\"" 'httpd -f -p 4504 -h /www & exec sleep 1000'
	assert_status 0
	sleep 1.5
	port_free 18130
	pid=$(sidecar_pid "$CT")
	assert_confined "$pid"
	# The policy allows automatic forwarding (the mode may change while
	# the container runs): its factory is there, and binds below 1024
	# no more than the policy's ports need (18130-18132: never).
	lf=$(listen_factory_pid "$pid")
	assert_confined "$lf" 0000000000000000
}

@test "the default policy hands out 80 first: CAP_NET_BIND_SERVICE is the listener factory's alone, the sidecar has none" {
	port_free 80 || { echo "this test needs host port 80 free" >&2; false; }
	echo '{}' >"$TMP/policy.json"
	www_start eighty "$(ports_ann '')" 'httpd -f -p 4505 -h /www & exec sleep 1000'
	assert_status 0
	wait_for 3 port_listening 80
	run http_get 80
	[ "$output" = "hello from eighty" ]
	pid=$(sidecar_pid "$CT")
	assert_confined "$pid" 0000000000000000
	lf=$(listen_factory_pid "$pid")
	assert_confined "$lf" 0000000000000400
	# In the host's netns, holding nothing but the log and its socketpair.
	[ "$(readlink "/proc/$lf/ns/net")" = "$(readlink /proc/self/ns/net)" ]
	[ "$(ls "/proc/$lf/fd" | wc -l)" -eq 4 ]
	[ "$(readlink "/proc/$lf/fd/0")" = /dev/null ]
}

@test "a policy that allows no automatic forwarding starts no listener factory" {
	echo '{"autoforwardPorts": [18130, 18131], "maxAutoforwards": 0}' >"$TMP/policy.json"
	www_start nofactory "$(ports_ann '[{"localPort":3000,"externalPort":18133}]')" 'httpd -f -p 4507 -h /www & exec sleep 1000'
	assert_status 0
	pid=$(sidecar_pid "$CT")
	assert_confined "$pid"
	refute listen_factory_pid "$pid"
	# No child at all: the socket factory is a thread.
	[ "$(pgrep -P "$pid" | wc -l)" -eq 0 ]
	factory_tid "$pid"
	sleep 1
	port_free 18130
}

@test "every hand-out port taken: each is tried again after a growing pause, not once per waiting port every tick" {
	echo '{"autoforwardPorts": [18130, 18131, 18132], "maxAutoforwards": 64}' >"$TMP/policy.json"
	# 18131 and 18132 are held by someone else on the host; the app's first
	# port takes 18130, its 40 others wait.
	timeout 120 "$PORTSIDE_BUILD/tests/hostile" listen-many 18131 2 &
	HOLDER=$!
	wait_for 3 port_listening 18132
	runc_start busy '"io.portside.autoforward": "public"' \
		'hostile listen-many 4600 1 & echo $! >/tmp/first; sleep 1; hostile listen-many 4601 40 & exec sleep 1000'
	assert_status 0
	wait_for 3 port_listening 18130
	wait_for 5 waiting_is 40
	sleep 2
	# Every tick tried both taken ports for each of the 40: 320 binds a
	# second. Now each taken port is tried again after 0.25, 0.5, 1, 2 s...
	# (capped at 30 s): a handful by now, however slow this machine is.
	binds=$(status_count autoforwardBinds)
	echo "bind attempts: $binds" >&2
	[ "$binds" -ge 3 ]
	[ "$binds" -le 24 ]
	# The app's first port closes: the host port it frees goes to a waiting
	# port at once, not after the next probe of the taken ones.
	runc exec "$CT" sh -c 'kill $(cat /tmp/first)'
	wait_for 3 waiting_is 39
	port_listening 18130
	[ "$(grep -c -- "forwarding 0.0.0.0:18130 -> 46[0-9]*/tcp automatically" "$STATEDIR/$CT/sidecar.log")" -eq 2 ]
	grep -q 'cannot forward local port 46[0-9]*/tcp automatically: no free port left' "$STATEDIR/$CT/sidecar.log"
}

@test "an exposed mapping's handed-out port stays while the app is not listening: only automatic forwards close with the app" {
	# 3000 is exposed with no externalPort: the hook hands it 18130 at
	# start. The app listens on 3000 only after 2 s, and on 4506 (an
	# automatic forward) until then.
	www_start expose "$(ports_ann '[{"localPort":3000,"expose":true}]')" \
		'httpd -f -p 4506 -h /www & p=$!; sleep 2; kill $p; httpd -f -p 3000 -h /www & exec sleep 1000'
	assert_status 0
	port_listening 18130
	wait_for 3 port_listening 18131
	# Several ticks with nothing on 3000: the recorded mapping stays.
	sleep 1
	port_listening 18130
	# The app closes 4506: its automatic forward goes, the mapping stays.
	wait_for 4 port_free 18131
	port_listening 18130
	wait_for 3 http_get 18130
	run http_get 18130
	[ "$output" = "hello from expose" ]
	refute grep -q "stopped forwarding host port 18130" "$STATEDIR/$CT/sidecar.log"
}
