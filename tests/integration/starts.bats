#!/usr/bin/env bats
# Starts of different containers overlap (lib/starting.h): a hook decides
# under the lock, marks its container as starting and starts the sidecar
# without it. Many at once each get their own sidecar, port and uid; a
# sidecar that never gets ready holds no other start back, and the state of
# its container stays its own until the start fails and leaves nothing.

load helpers
load containers

setup() {
	suite_setup
	UIDS=$RUNDIR/uids
}

teardown() {
	if [ -n "${ROOT2:-}" ]; then
		runc --root "$ROOT2" delete -f "${CT_PREFIX}stalled" >/dev/null 2>&1 || true
	fi
	[ -n "${STALLED_PID:-}" ] && kill "$STALLED_PID" 2>/dev/null
	suite_teardown
}

# start_bg NAME PORT [HOOK_ARGS]: a runc container serving "hello from
# NAME" on its port 3000, mapped to PORT, started in the background; its
# runc's exit status goes to $TMP/NAME/rc, its output to $TMP/NAME/out.
start_bg() {
	local name=$1 port=$2 args=${3:-$HOOK_ARGS}
	mkdir -p "$TMP/$name/www"
	echo "hello from $name" >"$TMP/$name/www/index.html"
	HOOK_ARGS=$args make_bundle "$TMP/$name" "$(ports_ann "$port:3000")" "httpd -f -p 3000 -h /www"
	# (bats' errexit holds in the subshell too: the status is taken, not
	# let end it)
	(
		rc=0
		runc run -d --bundle "$TMP/$name" "$CT_PREFIX$name" </dev/null >"$TMP/$name/out" 2>&1 || rc=$?
		echo "$rc" >"$TMP/$name/rc"
	) &
}

# ended NAME: its runc run has returned.
ended() { [ -s "$TMP/$1/rc" ]; }

@test "eight containers started at once each get their own sidecar, host port and uid" {
	local n
	for n in 1 2 3 4 5 6 7 8; do start_bg "many$n" $((18870 + n)); done
	for n in 1 2 3 4 5 6 7 8; do
		wait_for 30 ended "many$n"
		echo "many$n: $(cat "$TMP/many$n/out")"
		[ "$(cat "$TMP/many$n/rc")" = 0 ]
	done
	local pids=() uids=()
	for n in 1 2 3 4 5 6 7 8; do
		pids+=("$(sidecar_pid "${CT_PREFIX}many$n")")
		uids+=("$(sidecar_uid "${pids[-1]}")")
		[ "$(cat "$UIDS/${uids[-1]}")" = "${CT_PREFIX}many$n" ]
		refute test -e "$STATEDIR/${CT_PREFIX}many$n/starting"
		wait_for 5 port_listening $((18870 + n))
		run http_get $((18870 + n))
		[ "$output" = "hello from many$n" ]
	done
	[ "$(printf '%s\n' "${pids[@]}" | sort -u | wc -l)" -eq 8 ]
	[ "$(printf '%s\n' "${uids[@]}" | sort -u | wc -l)" -eq 8 ]
}

@test "a sidecar that never gets ready holds no other start back; its id stays its own; the start fails and leaves nothing" {
	mkdir -p "$TMP/libexec"
	cp "$PORTSIDE_BUILD/tests/stall" "$TMP/libexec/stall"
	start_bg stalled 18881 "$HOOK_ARGS --sidecar $TMP/libexec/stall"
	local stalled=${CT_PREFIX}stalled
	wait_for 5 test -e "$STATEDIR/$stalled/starting"
	# Pending: its host port is bound, ls says so, the lock is free.
	port_listening 18881
	trace "$PORTSIDECTL" ls
	assert_output_has "starting"
	# Another container starts meanwhile, and is served...
	www_start quick "$(ports_ann 18882:3000)" "httpd -f -p 3000 -h /www"
	assert_status 0
	wait_for 5 port_listening 18882
	run http_get 18882
	[ "$output" = "hello from quick" ]
	# ...while the stalled start still waits for its sidecar.
	test -e "$STATEDIR/$stalled/starting"
	refute ended stalled
	# Its id from another runtime root is refused, and takes nothing of it.
	ROOT2=$TMP/root2
	mkdir -p "$ROOT2"
	make_bundle "$TMP/again" "$(ports_ann 18883:3000)" "sleep 100"
	trace runc --root "$ROOT2" run -d --bundle "$TMP/again" "$stalled" </dev/null
	[ "$status" -ne 0 ]
	assert_output_has "is in use by another running container"
	test -e "$STATEDIR/$stalled/starting"
	port_free 18883
	# Its sidecar never says ok: the hook gives up on it, kills it, and
	# fails the start with why, leaving no state, port, lease or process.
	wait_for 15 ended stalled
	cat "$TMP/stalled/out"
	[ "$(cat "$TMP/stalled/rc")" != 0 ]
	grep -q "sidecar not ready after 5000 ms" "$TMP/stalled/out"
	refute test -e "$STATEDIR/$stalled"
	wait_for 2 port_free 18881
	refute grep -qx -- "$stalled" "$UIDS"/* 2>/dev/null
	refute pgrep -f -- "--id $stalled\$"
	# The other container is untouched.
	run http_get 18882
	[ "$output" = "hello from quick" ]
}
