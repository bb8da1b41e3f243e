#!/usr/bin/env bats
# What a cloud IDE's port panel needs of portsidectl, against real runc and
# podman containers: containers by name or id prefix, doctor on every
# automatic outcome, wait, url and events.

load helpers
load containers

setup() {
	suite_setup
}

teardown() {
	[ -n "${EVPID:-}" ] && kill "$EVPID" 2>/dev/null
	[ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
	suite_teardown
}

# auto_ann PORTS MODE: the annotations for io.portside.ports=PORTS and
# io.portside.autoforward=MODE.
auto_ann() {
	printf '%s, "io.portside.autoforward": "%s"' "$(ports_ann "$1")" "$2"
}

@test "names: ls -q prints the ids; any unique prefix of 8 or more characters names one; a shorter or shared one is refused" {
	www_start a1-first "$(ports_ann '18840:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	local first=$CT
	www_start a2-second "$(ports_ann '18841:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	# runc ids of our own choosing: ls shows them whole (a 64-hex id, 12).
	trace "$PORTSIDECTL" ls -q
	assert_status 0
	assert_output_has "$first"
	assert_output_has "$CT"
	trace "$PORTSIDECTL" doctor "${CT_PREFIX}a1"
	assert_status 0
	assert_output_has "0.0.0.0:18840 -> 3000/tcp"
	trace "$PORTSIDECTL" logs "$first"
	assert_status 0
	assert_output_has "serving"
	trace "$PORTSIDECTL" url "${CT_PREFIX}a2" 3000
	[ "$output" = "http://127.0.0.1:18841/" ]
	# Both ids start "pstest-PID-a": a shared prefix names neither.
	trace "$PORTSIDECTL" doctor "${CT_PREFIX}a"
	assert_status 1
	assert_output_has "matches 2 containers"
	trace "$PORTSIDECTL" doctor "${first:0:5}"
	assert_status 1
	assert_output_has "at least 8 characters"
	trace "$PORTSIDECTL" doctor nosuchcontainer
	assert_status 1
	assert_output_has "no container portside forwards matches 'nosuchcontainer'"
}

@test "names: a runc container's own io.kubernetes.* annotations name nothing: it cannot squat a pod's NS/POD/CONTAINER" {
	# Every key a runtime could have written, written by the container's
	# author instead: the bare ones, containerd's and CRI-O's.
	local pod=${CT_PREFIX}web
	www_start kube "$(ports_ann '18842:3000'), \"io.kubernetes.pod.namespace\": \"default\", \"io.kubernetes.pod.name\": \"$pod\", \"io.kubernetes.container.name\": \"app\", \"io.kubernetes.cri.container-type\": \"container\", \"io.kubernetes.cri.sandbox-namespace\": \"default\", \"io.kubernetes.cri.sandbox-name\": \"$pod\", \"io.kubernetes.cri.container-name\": \"app\"" \
		'httpd -f -p 3000 -h /www'
	assert_status 0
	wait_for 5 port_listening 18842
	# It is served, and found by its id.
	trace "$PORTSIDECTL" url "$CT" 3000
	assert_status 0
	[ "$output" = "http://127.0.0.1:18842/" ]
	trace "$PORTSIDECTL" url "default/$pod/app" 3000
	assert_status 1
	assert_output_has "no container portside forwards is named 'default/$pod/app' by podman or a CRI runtime"
	trace "$PORTSIDECTL" doctor "$pod/app"
	assert_status 1
	# wait gives up with the same reason, not with the squatter's port.
	trace "$PORTSIDECTL" wait "default/$pod/app" 3000 --timeout 1
	assert_status 1
	assert_output_has "is named 'default/$pod/app' by podman or a CRI runtime"
	assert_output_has "gave up after 1 s: no such container"
}

@test "names: a podman container by its name; url and wait through it" {
	podman_setup
	podman_start pnamed '18844:3000' 'sleep 1; httpd -f -p 3000 -h /www; exec sleep 1000'
	assert_status 0
	echo "hello from pnamed" >"$TMP/pnamed/www/index.html"
	trace "$PORTSIDECTL" wait "${CT_PREFIX}pnamed" 3000 --timeout 10
	assert_status 0
	trace "$PORTSIDECTL" url "${CT_PREFIX}pnamed" 3000
	assert_status 0
	[ "$output" = "http://127.0.0.1:18844/" ]
	run curl -fsS --max-time 3 "$output"
	[ "$output" = "hello from pnamed" ]
	# A podman container without portside's annotation is named as such.
	trace podman run -d --name "${CT_PREFIX}plain" "$IMAGE" sleep 1000
	trace "$PORTSIDECTL" doctor "${CT_PREFIX}plain"
	assert_status 1
	assert_output_has "is not forwarded by portside"
}

@test "wait: returns once the app listens, and gives up with doctor's reason at the timeout" {
	www_start waiter "$(ports_ann '18845:3000,18846:4000')" \
		'sleep 2; httpd -f -p 3000 -h /www & httpd -f -p 127.0.0.1:4000 -h /www & exec sleep 1000'
	assert_status 0
	# Not there yet: wait blocks until it is, then the port answers.
	local t0=$SECONDS
	trace "$PORTSIDECTL" wait "$CT" 3000 --timeout 10
	assert_status 0
	(( SECONDS - t0 >= 1 ))
	run http_get 18845
	[ "$output" = "hello from waiter" ]
	# 127.0.0.1 only: never reachable, so wait says why at the timeout.
	trace "$PORTSIDECTL" wait "$CT" 4000 --timeout 2
	assert_status 1
	assert_output_has "gave up after 2 s"
	assert_output_has "127.0.0.1:4000 only"
	trace "$PORTSIDECTL" wait "$CT" 3000 --timeout nope
	assert_status 2
}

@test "url: the pool address, udp, and a port that is not forwarded" {
	www_start urls "$(ports_ann '18847:3000,18848:5353/udp')" 'exec sleep 1000'
	assert_status 0
	trace "$PORTSIDECTL" url "$CT" 5353
	assert_status 0
	[ "$output" = "udp://127.0.0.1:18848" ]
	trace "$PORTSIDECTL" url "$CT" 9999
	assert_status 1
	assert_output_has "container port 9999 is not forwarded"
	trace "$PORTSIDECTL" url "$CT" 70000
	assert_status 2
}

@test "doctor explains automatic outcomes: localhost only under public, reserved, the limit, the list exhausted" {
	echo '{"autoforwardPorts": [18850, 18851], "maxAutoforwards": 1}' >"$TMP/policy.json"
	www_start autod "$(auto_ann '' public)" \
		'httpd -f -p 127.0.0.1:5001 -h /www & httpd -f -p 4600 -h /www & httpd -f -p 4601 -h /www & httpd -f -p 8283 -h /www & exec sleep 1000'
	assert_status 0
	wait_for 5 port_listening 18850
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "the app listens on 127.0.0.1:5001 only (localhost): automatic forwarding (public) forwards only"
	assert_output_has "fix: bind the app to 0.0.0.0 (or ::), or set io.portside.autoforward=all"
	assert_output_has "(automatic)"
	assert_output_has "maxAutoforwards"
	assert_output_has "skipped:"
	assert_output_has "8283"
	# No ID: every container, this one among them, still exit 1.
	trace "$PORTSIDECTL" doctor
	assert_status 1
	assert_output_has "$CT"
	trace "$PORTSIDECTL" doctor --json
	assert_output_has "\"id\":\"$CT\""
}

@test "doctor: the autoforward list exhausted names who holds each port" {
	echo '{"autoforwardPorts": [18852, 18853]}' >"$TMP/policy.json"
	socat TCP-LISTEN:18853,bind=0.0.0.0,reuseaddr,fork /dev/null &
	local holder=$!
	wait_for 3 port_listening 18853
	www_start full "$(auto_ann '' public)" 'httpd -f -p 4700 -h /www & sleep 1; httpd -f -p 4701 -h /www & exec sleep 1000'
	assert_status 0
	wait_for 5 port_listening 18852
	sleep 1
	trace "$PORTSIDECTL" doctor "$CT"
	kill $holder
	assert_status 1
	# Named as the hook names a holder: the program and its pid.
	assert_output_has "every port of the policy's autoforwardPorts is taken (18852: this container, 18853: socat (pid $holder))"
}

# utf8_json FILE: FILE is valid UTF-8 and one JSON document.
utf8_json() {
	iconv -f UTF-8 -t UTF-8 "$1" >/dev/null &&
		/usr/bin/python3 -c 'import json, sys; json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))' "$1"
}

@test "doctor, wait and url name a holder that calls itself an escape sequence harmlessly; --json stays UTF-8" {
	echo '{"autoforwardPorts": [18858, 18859]}' >"$TMP/policy.json"
	# A process's name (comm) is the file name it was started by: an
	# escape sequence and a byte that is not UTF-8.
	ln -s "$(command -v socat)" "$TMP/"$'\e[31mX\xff'
	"$TMP/"$'\e[31mX\xff' TCP-LISTEN:18859,bind=0.0.0.0,reuseaddr,fork /dev/null &
	HOLDER=$!
	wait_for 3 port_listening 18859
	[ "$(cat "/proc/$HOLDER/comm")" = $'\e[31mX\xff' ]
	www_start evilname "$(auto_ann '' public)" 'httpd -f -p 4700 -h /www & sleep 1; httpd -f -p 4701 -h /www & exec sleep 1000'
	assert_status 0
	wait_for 5 port_listening 18858
	sleep 1
	local named="18858: this container, 18859: ?[31mX? (pid $HOLDER)"
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "every port of the policy's autoforwardPorts is taken ($named)"
	assert_output_lacks $'\e'
	assert_output_lacks $'\xff'
	trace bash -c '"$1" doctor --json "$2" >"$3"' _ "$PORTSIDECTL" "$CT" "$TMP/one.json"
	assert_status 1
	grep -qF "$named" "$TMP/one.json"
	utf8_json "$TMP/one.json"
	trace bash -c '"$1" doctor --json >"$2"' _ "$PORTSIDECTL" "$TMP/all.json"
	utf8_json "$TMP/all.json"
	grep -qF "$named" "$TMP/all.json"
	trace timeout 10 "$PORTSIDECTL" wait "$CT" 4701 --timeout 1
	assert_status 1
	assert_output_has "$named"
	assert_output_lacks $'\e'
	assert_output_lacks $'\xff'
	trace timeout 10 "$PORTSIDECTL" url "$CT" 4701
	assert_status 1
	assert_output_has "$named"
	assert_output_lacks $'\e'
	assert_output_lacks $'\xff'
}

@test "events: forwarded, auto-forwarded, refused, closed and stopped, as text and as JSON" {
	echo '{"autoforwardPorts": [18855, 18856]}' >"$TMP/policy.json"
	"$PORTSIDECTL" events >"$TMP/events.txt" 2>&1 &
	EVPID=$!
	"$PORTSIDECTL" events --json >"$TMP/events.json" 2>&1 &
	local jpid=$!
	sleep 0.5
	www_start ev "$(auto_ann '18854:3000' public)" \
		'httpd -f -p 3000 -h /www & sleep 1; httpd -f -p 4800 -h /www & p=$!; httpd -f -p 127.0.0.1:4801 -h /www & sleep 2; kill $p; exec sleep 1000'
	assert_status 0
	local ct=$CT
	wait_for 8 grep -q "closed" "$TMP/events.txt"
	runc delete -f "$ct" >/dev/null 2>&1
	wait_for 5 grep -q "stopped" "$TMP/events.txt"
	# A refused start shows too.
	www_start evbad "$(ports_ann '22:3000')" 'exec sleep 1000'
	wait_for 5 grep -q "reserved" "$TMP/events.txt"
	kill "$EVPID" "$jpid"
	EVPID=
	cat "$TMP/events.txt"
	grep -q "${ct} forwarded 0.0.0.0:18854 -> 3000/tcp" "$TMP/events.txt"
	grep -q "${ct} auto-forwarded 0.0.0.0:18855 -> 4800/tcp" "$TMP/events.txt"
	grep -q "${ct} refused 4801/tcp (localhost-only)" "$TMP/events.txt"
	grep -q "${ct} closed 0.0.0.0:18855 -> 4800/tcp (app-closed)" "$TMP/events.txt"
	grep -q "${ct} stopped" "$TMP/events.txt"
	grep -q "refused (reserved): the container's start was refused" "$TMP/events.txt"
	# Every JSON line parses and names the container.
	grep -c . "$TMP/events.json"
	jq -e -s 'map(select(.event == "auto-forwarded" and .externalPort == 18855 and .localPort == 4800)) | length >= 1' "$TMP/events.json"
	jq -e -s "map(select(.id == \"$ct\" and .event == \"stopped\")) | length == 1" "$TMP/events.json"
}

@test "help: every command answers --help with exit 0" {
	for c in ls doctor wait url events logs check inject version; do
		trace "$PORTSIDECTL" "$c" --help
		assert_status 0
		assert_output_has "usage: portsidectl $c"
	done
	trace "$PORTSIDECTL" help url
	assert_status 0
	assert_output_has "usage: portsidectl url ID PORT"
	trace "$PORTSIDECTL" ls --json --help
	assert_status 0
}

@test "a killed sidecar: doctor says it is not running, events says stopped, wait gives up at once" {
	"$PORTSIDECTL" events >"$TMP/events.txt" 2>&1 &
	EVPID=$!
	www_start killed "$(ports_ann '18857:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	trace "$PORTSIDECTL" wait "$CT" 3000 --timeout 5
	assert_status 0
	kill -9 "$(sidecar_pid "$CT")"
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "the sidecar of"
	assert_output_has "is not running"
	assert_output_has "portsidectl restore"
	wait_for 5 grep -q "$CT stopped: the sidecar is not running" "$TMP/events.txt"
	local t0=$SECONDS
	trace "$PORTSIDECTL" wait "$CT" 3000 --timeout 20
	assert_status 1
	assert_output_has "is not running"
	(( SECONDS - t0 < 5 ))
}

@test "restore: a killed sidecar shows dead; restore brings the same ports back, and the automatic ones" {
	echo '{"autoforwardPorts": [18861, 18862], "addressPool": "127.78.0.0/16"}' >"$TMP/policy.json"
	www_start revive "$(auto_ann '18860:3000' public)" 'httpd -f -p 3000 -h /www & httpd -f -p 4900 -h /www & exec sleep 1000'
	assert_status 0
	local addr
	addr=$("$PORTSIDECTL" url "$CT" 3000)
	[[ "$addr" == http://127.78.* ]]
	wait_for 5 bash -c "'$PORTSIDECTL' ls | grep -q ':18861 .*4900/tcp'"
	local old
	old=$(sidecar_pid "$CT")
	kill -9 "$old"
	wait_for 3 bash -c "! curl -fsS --max-time 1 '$addr' >/dev/null 2>&1"
	trace "$PORTSIDECTL" ls
	assert_output_has "dead"
	# Another container's hook collects the state of stopped containers:
	# this one runs, so its state stays for the restore.
	www_start bystander "$(ports_ann '18863:3000')" 'exec sleep 1000'
	assert_status 0
	[ -d "$STATEDIR/${CT_PREFIX}revive" ]
	trace "$PORTSIDECTL" restore "${CT_PREFIX}revive"
	assert_status 0
	assert_output_has "restored"
	local new
	new=$(sidecar_pid "${CT_PREFIX}revive")
	[ -n "$new" ] && [ "$new" != "$old" ]
	assert_confined "$new" 0000000000000000
	# The same pool address and port, and the automatic forward again.
	run curl -fsS --max-time 3 "$addr"
	[ "$output" = "hello from revive" ]
	wait_for 5 bash -c "curl -fsS --max-time 1 http://\$(echo '$addr' | sed 's|http://||; s|:.*||'):18861/ | grep -q 'hello from revive'"
	trace "$PORTSIDECTL" ls
	assert_output_lacks "dead"
	# Running, and serving its record: nothing to restore.
	trace "$PORTSIDECTL" restore "${CT_PREFIX}revive"
	assert_status 0
	assert_output_has "is running and serves its record"
	# Stopped: nothing to restore either, and said so.
	kill -9 "$new"
	runc kill "${CT_PREFIX}revive" KILL
	wait_for 5 bash -c "[ \"\$(runc state ${CT_PREFIX}revive 2>/dev/null | grep -o stopped)\" = stopped ]"
	trace "$PORTSIDECTL" restore "${CT_PREFIX}revive"
	assert_status 1
	assert_output_has "is not running"
}

@test "SIGSTOP and SIGCONT of a sidecar lose nothing: a client that connected meanwhile is served" {
	www_start paused "$(ports_ann '18864:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	run http_get 18864
	[ "$output" = "hello from paused" ]
	local pid
	pid=$(sidecar_pid "$CT")
	kill -STOP "$pid"
	curl -fsS --max-time 10 http://127.0.0.1:18864/ >"$TMP/paused.out" 2>&1 &
	local client=$!
	sleep 2
	kill -CONT "$pid"
	wait "$client"
	[ "$(cat "$TMP/paused.out")" = "hello from paused" ]
	run http_get 18864
	[ "$output" = "hello from paused" ]
	[ "$(sidecar_pid "$CT")" = "$pid" ]
}
