#!/usr/bin/env bats
# Root runs the sidecar: at a container's start and at `portsidectl restore`
# the hook executes it only when nobody but root could have put it there or
# changed it (the file and every directory above it), and it executes the very
# file it checked.

load helpers
load containers

setup() {
	suite_setup
	N=0
}

teardown() {
	suite_teardown
}

web() { www_start "$1" "$2" "httpd -f -p 3000 -h /www"; }

# copy DIR [MODE [OWNER]]: the build's sidecar copied into DIR (made with MODE
# and OWNER, default 0755 root); prints the copy's path.
copy() {
	mkdir -p "$1"
	chown "${3:-0}:${3:-0}" "$1"
	chmod "${2:-0755}" "$1"
	cp "$PORTSIDE_BUILD/portside-sidecar" "$1/portside-sidecar"
	chmod 0755 "$1/portside-sidecar"
	echo "$1/portside-sidecar"
}

# runs_from PATH: a live sidecar executes PATH.
runs_from() {
	local p
	for p in $(all_sidecars); do
		[ "$(readlink "/proc/$p/exe")" = "$1" ] && return 0
	done
	return 1
}

# refused PATH WHY: a container whose hook is given the sidecar PATH does not
# start; the one-line refusal names PATH and WHY; no sidecar runs from PATH,
# nothing is recorded and the host port is free.
refused() {
	local path=$1 why=$2
	HOOK_ARGS="--policy $TMP/policy.json --sidecar $path"
	runc_start "unsafe$((++N))" "$(ports_ann 18880:3000)" "sleep 60"
	[ "$status" -ne 0 ]
	assert_output_has "portside: sidecar $path: $why; root runs it, so only root may be able to change it or a directory above it"
	[ "$(grep -c "portside: sidecar $path" <<<"$output")" = 1 ]
	refute runs_from "$path"
	[ ! -e "$STATEDIR/$CT" ]
	port_free 18880
	runc delete -f "$CT" 2>/dev/null || true
}

@test "a sidecar others could change is refused before anything is bound: its directory or itself writable by others or not root's" {
	d=$TMP/groupw
	refused "$(copy "$d" 0775)" "$d is writable by its group (mode 0775)"
	d=$TMP/worldw
	refused "$(copy "$d" 0777)" "$d is writable by everyone (mode 0777)"
	d=$TMP/nobodys
	refused "$(copy "$d" 0755 65534)" "$d is owned by uid 65534, not root"
	# Higher up counts too.
	mkdir -p "$TMP/up"
	chmod 0777 "$TMP/up"
	d=$TMP/up/down
	refused "$(copy "$d")" "$TMP/up is writable by everyone (mode 0777)"
	# The binary itself.
	p=$(copy "$TMP/own")
	chown 65534:65534 "$p"
	refused "$p" "$p is owned by uid 65534, not root"
	chown 0:0 "$p"
	chmod 0775 "$p"
	refused "$p" "$p is writable by its group (mode 0775)"
	# A symbolic link to a directory others can write to.
	ln -s "$TMP/groupw" "$TMP/link"
	refused "$TMP/link/portside-sidecar" "$TMP/groupw is writable by its group (mode 0775)"
	# doctor names it as the reason.
	trace "$PORTSIDECTL" doctor "$CT"
	assert_output_has "sidecar $TMP/link/portside-sidecar: $TMP/groupw is writable by its group"
}

@test "a sticky directory others write to (like /tmp) holds a sidecar of root's, and only that" {
	d=$TMP/sticky
	p=$(copy "$d" 1777)
	HOOK_ARGS="--policy $TMP/policy.json --sidecar $p"
	web sticky "$(ports_ann 18881:3000)"
	assert_status 0
	run http_get 18881
	[ "$output" = "hello from sticky" ]
	[ "$(readlink "/proc/$(sidecar_pid "$CT")/exe")" = "$p" ]
	# Someone else's directory in it could be swapped for anything.
	mkdir "$d/theirs"
	chown 65534:65534 "$d/theirs"
	cp "$p" "$d/theirs/portside-sidecar"
	refused "$d/theirs/portside-sidecar" "$d/theirs is owned by uid 65534 in $d, which others can write to"
}

@test "the build tree's sidecar, and one reached through a symbolic link of root's, are started" {
	# The default: the sidecar next to the hook, a tree only root writes.
	web tree "$(ports_ann 18882:3000)"
	assert_status 0
	run http_get 18882
	[ "$output" = "hello from tree" ]
	[ "$(readlink "/proc/$(sidecar_pid "$CT")/exe")" = "$(readlink -f "$PORTSIDE_BUILD/portside-sidecar")" ]
	p=$(copy "$TMP/real")
	ln -s real "$TMP/alias"
	HOOK_ARGS="--policy $TMP/policy.json --sidecar $TMP/alias/portside-sidecar"
	web linked "$(ports_ann 18883:3000)"
	assert_status 0
	run http_get 18883
	[ "$output" = "hello from linked" ]
	# What runs is the file checked, by its real path.
	[ "$(readlink "/proc/$(sidecar_pid "$CT")/exe")" = "$p" ]
}

@test "restore checks the recorded sidecar again: one others can change since the start is refused, nothing bound" {
	d=$TMP/kept
	p=$(copy "$d")
	HOOK_ARGS="--policy $TMP/policy.json --sidecar $p"
	web revive "$(ports_ann 18884:3000)"
	assert_status 0
	pid=$(sidecar_pid "$CT")
	kill -KILL "$pid"
	wait_for 3 gone_or_zombie "$pid"
	wait_for 3 port_free 18884
	chmod 0777 "$d"
	trace "$PORTSIDECTL" restore "$CT"
	assert_status 1
	assert_output_has "portsidectl: sidecar $p: $d is writable by everyone (mode 0777); root runs it, so only root may be able to change it or a directory above it"
	refute runs_from "$p"
	port_free 18884
	# Made safe again: restored.
	chmod 0755 "$d"
	trace "$PORTSIDECTL" restore "$CT"
	assert_status 0
	run http_get 18884
	[ "$output" = "hello from revive" ]
}

@test "a hard link of root's in a sticky directory is refused: with fs.protected_hardlinks=0 anyone could have made it" {
	p=$(copy "$TMP/elsewhere")
	mkdir -p "$TMP/stickyl"
	chmod 1777 "$TMP/stickyl"
	ln "$p" "$TMP/stickyl/portside-sidecar"
	refused "$TMP/stickyl/portside-sidecar" "$TMP/stickyl/portside-sidecar has 2 hard links in $TMP/stickyl, which others can write to"
}

@test "a script as the sidecar is refused with what it is, not an exec error" {
	mkdir -p "$TMP/script"
	printf '#!/bin/sh\nexit 0\n' >"$TMP/script/portside-sidecar"
	chmod 0755 "$TMP/script/portside-sidecar"
	HOOK_ARGS="--policy $TMP/policy.json --sidecar $TMP/script/portside-sidecar"
	runc_start script "$(ports_ann 18884:3000)" "sleep 60"
	[ "$status" -ne 0 ]
	assert_output_has "portside: sidecar $TMP/script/portside-sidecar: not an ELF executable (a script cannot be run from a descriptor;"
	[ "$(grep -c "portside: sidecar" <<<"$output")" = 1 ]
	[ ! -e "$STATEDIR/$CT" ]
	port_free 18884
	runc delete -f "$CT" 2>/dev/null || true
}
