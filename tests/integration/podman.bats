#!/usr/bin/env bats
# podman run --annotation io.portside.ports=..., through portside's hooks.d
# file; the forwarding assertions, then podman's lifecycle.

load helpers
load containers
load forwarding

setup() {
	need_root_tools
	TMP=$(mktemp -d)
	echo '{}' >"$TMP/policy.json"
	podman_setup
}

teardown() {
	cleanup_containers
	rm -rf "$TMP" "$HOOKS_DIR"
}

@test "podman: a page goes through the forwarded port" { fwd_serves podman 18400; }
@test "podman: reserved ports and malformed values fail the start" { fwd_refuses podman 18401; }
@test "podman: a taken host port names its holder" { fwd_refuses_taken podman 18402 18403; }
@test "podman: exposeLocalhost" { fwd_localhost podman 18404 18405; }
@test "podman: the sidecar dies with the container" { fwd_dies_with_container podman 18406; }
@test "podman: podman rm cleans up" { fwd_remove_cleans podman 18407; }
@test "podman: the sidecar is confined" { fwd_confined podman 18408; }

@test "podman: on the bridge network the app sees the container's own address, not 127.0.0.1" {
	start_web podman bridge "18409:3000"
	assert_status 0
	run http_get 18409
	[ "$output" = "hello from bridge" ]
	# The sidecar dialled the container's bridge address: httpd logs the
	# peer with -v; simpler and as telling, the sidecar's socket to the app.
	pid=$(netns_pid "$CT")
	ip=$(podman inspect -f '{{.NetworkSettings.IPAddress}}' "$CT")
	[ -n "$ip" ]
	exec 9<>/dev/tcp/127.0.0.1/18409
	wait_for 2 bash -c "nsenter -t $pid -n ss -Htn state established '( dport = :3000 )' | grep -qF '$ip:'"
	conns=$(nsenter -t "$pid" -n ss -Htn state established '( dport = :3000 )')
	refute grep -q '127.0.0.1:3000' <<<"$conns"
	exec 9>&-
}

@test "podman: stop frees the port, start and restart forward again, rm frees it" {
	start_web podman life "18410:3000"
	assert_status 0
	run http_get 18410
	[ "$output" = "hello from life" ]
	trace P stop -t 0 "$CT"
	assert_status 0
	wait_for 2 port_free 18410
	[ ! -e "$STATEDIR/$CT" ]
	trace P start "$CT"
	assert_status 0
	run http_get 18410
	[ "$output" = "hello from life" ]
	trace P restart -t 0 "$CT"
	assert_status 0
	run http_get 18410
	[ "$output" = "hello from life" ]
	[ "$(all_sidecars | xargs -r -n1 sh -c 'cat /proc/$0/cmdline | tr "\0" " "' | grep -c "$CT")" -eq 1 ]
	trace P rm -f -t 0 "$CT"
	assert_status 0
	wait_for 2 port_free 18410
	[ ! -e "$STATEDIR/$CT" ]
}

@test "podman: --runtime crun works too" {
	"$BATS_TEST_DIRNAME/host-quirks.sh"
	PODMAN_ARGS="--runtime crun" start_web podman viacrun "18411:3000"
	assert_status 0
	run http_get 18411
	[ "$output" = "hello from viacrun" ]
}

@test "podman: UDP through the bridge network" {
	trace P run -d --name "${CT_PREFIX}udp" --annotation "io.portside.ports=18412:5300/udp" "$IMAGE" udp-echo 5300
	assert_status 0
	CT=$(podman inspect -f '{{.Id}}' "${CT_PREFIX}udp")
	got=""
	for i in $(seq 1 10); do
		got=$(printf ping | timeout 3 socat -t 1 -T 0.5 - UDP:127.0.0.1:18412 2>/dev/null)
		[ "$got" = "echo:ping" ] && break
		sleep 0.3
	done
	[ "$got" = "echo:ping" ]
}

@test "podman: a port the app opens later is forwarded automatically" {
	echo '{"autoforwardPorts": [18413]}' >"$TMP/policy.json"
	start_web podman auto "" 4600
	assert_status 0
	wait_for 3 port_listening 18413
	run http_get 18413
	[ "$output" = "hello from auto" ]
}

# move_app ADDR: the app in $CT stops, and listens again on ADDR:3000 once its
# old socket is gone (/proc/net/tcp: no listener on port 3000 left).
move_app() {
	P exec "$CT" sh -c 'kill $(cat /tmp/app); i=0
		while grep -q ":0BB8 00000000:0000 0A" /proc/net/tcp && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		hostile listen '"$1"' 3000 >/dev/null 2>&1 & echo $! >/tmp/app'
}

@test "podman: the dial target is kept, yet an app that moves is followed: everywhere, loopback only, everywhere" {
	podman_start move 18230:3000 "hostile listen 0.0.0.0 3000 & echo \$! >/tmp/app; sleep 120"
	assert_status 0
	wait_for 5 bash -c "timeout 5 socat -T 2 - TCP:127.0.0.1:18230 </dev/null 2>/dev/null | grep -q peer="
	ip=$(podman inspect -f '{{.NetworkSettings.IPAddress}}' "$CT")
	[ -n "$ip" ]
	# Kept: twenty clients in a row, each dialled at the container's address.
	for i in $(seq 1 20); do
		[ "$(ask 18230)" != "peer=127.0.0.1" ]
	done
	[ "$(ask 18230)" = "peer=$ip" ]
	# The app moves to 127.0.0.1: the next client is refused with the
	# reason, never dialled at loopback (the kept target was refused, the
	# sidecar asked again).
	move_app 127.0.0.1
	wait_for 5 listening 3000 127.0.0.1:3000
	[ -z "$(ask 18230)" ]
	wait_for 2 grep -q "the app listens on 127.0.0.1:3000 only (localhost)" "$STATEDIR/$CT/sidecar.log"
	# Back on every address: served again within a second.
	move_app 0.0.0.0
	wait_for 5 listening 3000 0.0.0.0:3000
	wait_for 1 bash -c "[ \"\$(timeout 5 socat -T 2 - TCP:127.0.0.1:18230 </dev/null 2>/dev/null)\" = 'peer=$ip' ]"
}
