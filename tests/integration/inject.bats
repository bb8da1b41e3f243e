#!/usr/bin/env bats
# portsidectl inject: portside added to an existing runc/crun config.json.

load helpers
load containers

setup() {
	suite_setup
}

teardown() {
	suite_teardown
}

# A config.json as `runc spec` writes it, with a busybox httpd as process.
spec_bundle() {
	mkdir -p "$TMP/$1"
	(cd "$TMP/$1" && runc spec)
	sed -i -e 's|"terminal": true|"terminal": false|' \
		-e 's|"sh"|"httpd", "-f", "-p", "3000", "-h", "/www"|' \
		-e "s|\"path\": \"rootfs\"|\"path\": \"$ROOTFS\"|" "$TMP/$1/config.json"
}

@test "inject adds the annotation, both hooks and PORT; a second run changes nothing" {
	spec_bundle inj
	cfg=$TMP/inj/config.json
	trace "$PORTSIDECTL" inject "$cfg" --ports '18600:3000 9229' --autoforward never --hook "$PORTSIDE_HOOK"
	assert_status 0
	grep -q '"io.portside.ports": "18600:3000 9229"' "$cfg"
	grep -q '"io.portside.autoforward": "never"' "$cfg"
	grep -q '"PORT=3000"' "$cfg"
	[ "$(grep -c "\"path\": \"$PORTSIDE_HOOK\"" "$cfg")" -eq 2 ]
	# Everything runc spec wrote is still there.
	grep -q '"CAP_AUDIT_WRITE"' "$cfg"
	grep -q '"/proc/kcore"' "$cfg"
	cp "$cfg" "$TMP/first.json"
	trace "$PORTSIDECTL" inject "$cfg" --ports '18600:3000 9229' --autoforward never --hook "$PORTSIDE_HOOK"
	assert_status 0
	cmp "$cfg" "$TMP/first.json"
}

@test "inject keeps a PORT the config already has, and refuses a bad value without touching the file" {
	spec_bundle keep
	cfg=$TMP/keep/config.json
	sed -i 's|"TERM=xterm"|"TERM=xterm", "PORT=8080"|' "$cfg"
	trace "$PORTSIDECTL" inject "$cfg" --ports '18601:3000' --hook "$PORTSIDE_HOOK"
	assert_status 0
	grep -q '"PORT=8080"' "$cfg"
	refute grep -q '"PORT=3000"' "$cfg"
	cp "$cfg" "$TMP/before.json"
	trace "$PORTSIDECTL" inject "$cfg" --ports '22:3000' --hook "$PORTSIDE_HOOK"
	assert_status 1
	assert_output_has "port 22 (ssh) is reserved"
	cmp "$cfg" "$TMP/before.json"
	trace "$PORTSIDECTL" inject "$TMP/nope.json" --ports '18601:3000'
	assert_status 1
}

@test "a config injected with portsidectl runs under runc and forwards" {
	spec_bundle run
	cfg=$TMP/run/config.json
	# Bind the page in: runc spec has no mounts for it.
	mkdir -p "$TMP/run/www"
	echo "hello from an injected config" >"$TMP/run/www/index.html"
	sed -i "s|\"mounts\": \\[|\"mounts\": [{\"destination\": \"/www\", \"type\": \"bind\", \"source\": \"$TMP/run/www\", \"options\": [\"rbind\", \"ro\"]},|" "$cfg"
	trace "$PORTSIDECTL" inject "$cfg" --ports '18602:3000' --hook "$PORTSIDE_HOOK"
	assert_status 0
	# The test's policy, as the other suites use.
	sed -i "s|\"portside-hook\", \"createRuntime\"|\"portside-hook\", \"--policy\", \"$TMP/policy.json\", \"createRuntime\"|" "$cfg"
	CT=${CT_PREFIX}inject
	trace bash -c 'runc run -d --bundle "$1" "$2" </dev/null >"$1/runtime.out" 2>&1' _ "$TMP/run" "$CT"
	assert_status 0
	run http_get 18602
	[ "$output" = "hello from an injected config" ]
}

@test "inject --sidecar passes the sidecar's path to both hooks; runc starts it from there" {
	spec_bundle side
	cfg=$TMP/side/config.json
	mkdir -p "$TMP/side/www" "$TMP/libexec"
	echo "hello through a named sidecar" >"$TMP/side/www/index.html"
	sed -i "s|\"mounts\": \\[|\"mounts\": [{\"destination\": \"/www\", \"type\": \"bind\", \"source\": \"$TMP/side/www\", \"options\": [\"rbind\", \"ro\"]},|" "$cfg"
	trace "$PORTSIDECTL" inject "$cfg" --ports '18811:3000' --hook "$PORTSIDE_HOOK" --sidecar relative/sidecar
	assert_status 2
	assert_output_has "--sidecar must be an absolute path"
	trace "$PORTSIDECTL" inject "$cfg" --ports '18811:3000' --hook "$PORTSIDE_HOOK" --sidecar /old/portside-sidecar
	assert_status 0
	[ "$(grep -c '"/old/portside-sidecar"' "$cfg")" -eq 2 ]
	# Another --sidecar replaces the path in both hooks; the same one again changes nothing.
	trace "$PORTSIDECTL" inject "$cfg" --ports '18811:3000' --hook "$PORTSIDE_HOOK" --sidecar "$TMP/libexec/portside-sidecar"
	assert_status 0
	refute grep -q /old/portside-sidecar "$cfg"
	[ "$(grep -c -- '"--sidecar"' "$cfg")" -eq 2 ]
	cp "$cfg" "$TMP/first.json"
	trace "$PORTSIDECTL" inject "$cfg" --ports '18811:3000' --hook "$PORTSIDE_HOOK" --sidecar "$TMP/libexec/portside-sidecar"
	assert_status 0
	cmp "$cfg" "$TMP/first.json"
	sed -i "s|\"portside-hook\", \"--sidecar\"|\"portside-hook\", \"--policy\", \"$TMP/policy.json\", \"--sidecar\"|" "$cfg"

	# Not there yet: the start is refused with the path.
	CT=${CT_PREFIX}side
	trace bash -c 'runc run -d --bundle "$1" "$2" </dev/null >"$1/runtime.out" 2>&1; rc=$?; cat "$1/runtime.out"; exit $rc' _ "$TMP/side" "$CT"
	[ "$status" -ne 0 ]
	assert_output_has "sidecar $TMP/libexec/portside-sidecar: not found"
	runc delete -f "$CT" 2>/dev/null || true

	cp "$PORTSIDE_BUILD/portside-sidecar" "$TMP/libexec/"
	trace bash -c 'runc run -d --bundle "$1" "$2" </dev/null >"$1/runtime.out" 2>&1' _ "$TMP/side" "$CT"
	assert_status 0
	run http_get 18811
	[ "$output" = "hello through a named sidecar" ]
	[ "$(readlink "/proc/$(sidecar_pid "$CT")/exe")" = "$TMP/libexec/portside-sidecar" ]
}

# Issue 18: inject is run by root on a bundle another user may own; it must
# never act on a path after reading it, nor open what was planted next to it.

@test "inject writes through a new file of its own: a FIFO at config.json.tmp does not hang it" {
	spec_bundle fifo
	cfg=$TMP/fifo/config.json
	mkfifo "$cfg.tmp"
	trace timeout 10 "$PORTSIDECTL" inject "$cfg" --ports '18603:3000' --hook "$PORTSIDE_HOOK"
	assert_status 0
	grep -q '"io.portside.ports": "18603:3000"' "$cfg"
	[ -p "$cfg.tmp" ]
	# Nothing of inject's own is left beside it.
	[ "$(find "$TMP/fifo" -maxdepth 1 -name 'config.json.*' | wc -l)" -eq 1 ]
}

@test "inject refuses a config.json that is a symbolic link and leaves its target alone" {
	spec_bundle link
	mv "$TMP/link/config.json" "$TMP/target.json"
	cp "$TMP/target.json" "$TMP/target.orig"
	ln -s "$TMP/target.json" "$TMP/link/config.json"
	trace timeout 10 "$PORTSIDECTL" inject "$TMP/link/config.json" --ports '18604:3000' --hook "$PORTSIDE_HOOK"
	assert_status 1
	assert_output_has "config.json is a symbolic link: refused"
	[ "${#lines[@]}" -eq 1 ]
	cmp "$TMP/target.json" "$TMP/target.orig"
	[ -L "$TMP/link/config.json" ]
}

@test "inject keeps the file's owner, group and mode, without setuid or setgid" {
	spec_bundle owner
	cfg=$TMP/owner/config.json
	chown 65534:65534 "$cfg"
	chmod 06750 "$cfg"
	trace timeout 10 "$PORTSIDECTL" inject "$cfg" --ports '18605:3000' --hook "$PORTSIDE_HOOK"
	assert_status 0
	grep -q '"io.portside.ports": "18605:3000"' "$cfg"
	[ "$(stat -c '%u:%g %a' "$cfg")" = "65534:65534 750" ]
	# A plain one stays as it was too.
	spec_bundle plain
	chmod 0640 "$TMP/plain/config.json"
	trace timeout 10 "$PORTSIDECTL" inject "$TMP/plain/config.json" --ports '18605:3000' --hook "$PORTSIDE_HOOK"
	assert_status 0
	[ "$(stat -c '%u:%g %a' "$TMP/plain/config.json")" = "0:0 640" ]
}

@test "inject refuses a bundle directory that another user can write to" {
	spec_bundle open
	cfg=$TMP/open/config.json
	cp "$cfg" "$TMP/before.json"
	chmod 0777 "$TMP/open"
	trace timeout 10 "$PORTSIDECTL" inject "$cfg" --ports '18606:3000' --hook "$PORTSIDE_HOOK"
	assert_status 1
	assert_output_has "its directory (mode 0777) can be written by group or others"
	[ "${#lines[@]}" -eq 1 ]
	cmp "$cfg" "$TMP/before.json"
	# Owned by someone else (nobody), though only its owner can write it.
	chmod 0755 "$TMP/open"
	chown 65534 "$TMP/open"
	trace timeout 10 "$PORTSIDECTL" inject "$cfg" --ports '18606:3000' --hook "$PORTSIDE_HOOK"
	assert_status 1
	assert_output_has "its directory belongs to uid 65534, neither root nor the file's owner (uid 0)"
	[ "${#lines[@]}" -eq 1 ]
	cmp "$cfg" "$TMP/before.json"
	# The file's owner may own its directory: nobody there could swap it but its owner.
	chown 65534 "$cfg"
	trace timeout 10 "$PORTSIDECTL" inject "$cfg" --ports '18606:3000' --hook "$PORTSIDE_HOOK"
	assert_status 0
	[ "$(stat -c '%u' "$cfg")" = 65534 ]
}

# A victim bundle of root's: nobody but root may get inject to write there.
victim() {
	spec_bundle victim
	cp "$TMP/victim/config.json" "$TMP/victim.orig"
}

@test "inject refuses a path through a directory another user owns, and names it" {
	victim
	mkdir -p "$TMP/home"
	mv "$TMP/victim" "$TMP/home/"
	chown 65534 "$TMP/home"
	for p in "$TMP/home/victim/config.json" "$TMP/home/victim//config.json" "$TMP/home/./victim/config.json"; do
		trace timeout 10 "$PORTSIDECTL" inject "$p" --ports '18607:3000' --hook "$PORTSIDE_HOOK"
		assert_status 1
		assert_output_has "$TMP/home on the way belongs to uid 65534, neither root nor the file's owner (uid 0)"
		[ "${#lines[@]}" -eq 1 ]
		cmp "$TMP/home/victim/config.json" "$TMP/victim.orig"
	done
	# Writable by others and not sticky: refused; sticky (as /tmp is): crossed.
	chown 0 "$TMP/home"
	chmod 0777 "$TMP/home"
	trace timeout 10 "$PORTSIDECTL" inject "$TMP/home/victim/config.json" --ports '18607:3000' --hook "$PORTSIDE_HOOK"
	assert_status 1
	assert_output_has "$TMP/home on the way (mode 0777) can be written by group or others and is not sticky"
	cmp "$TMP/home/victim/config.json" "$TMP/victim.orig"
	chmod 1777 "$TMP/home"
	trace timeout 10 "$PORTSIDECTL" inject "$TMP/home/victim/config.json" --ports '18607:3000' --hook "$PORTSIDE_HOOK"
	assert_status 0
	grep -q '"io.portside.ports": "18607:3000"' "$TMP/home/victim/config.json"
}

@test "inject follows no link another user could have made, in any directory on the way; root's own links it follows" {
	victim
	mkdir -p "$TMP/links"
	# A user's link to root's bundle, given as link//config.json and
	# link/./config.json: the last name is no link, the directory is.
	ln -s "$TMP/victim" "$TMP/links/theirs"
	chown -h 65534 "$TMP/links/theirs"
	for p in "$TMP/links/theirs//config.json" "$TMP/links/theirs/./config.json" "$TMP/links/theirs/config.json"; do
		trace timeout 10 "$PORTSIDECTL" inject "$p" --ports '18608:3000' --hook "$PORTSIDE_HOOK"
		assert_status 1
		assert_output_has "theirs in $TMP/links is a symbolic link that someone other than root could have made: give the real path"
		[ "${#lines[@]}" -eq 1 ]
		cmp "$TMP/victim/config.json" "$TMP/victim.orig"
	done
	# Root's link in a directory only root writes (/var/run -> /run): followed,
	# relative or absolute.
	ln -s ../victim "$TMP/links/ours"
	ln -s "$TMP/victim" "$TMP/links/abs"
	trace timeout 10 "$PORTSIDECTL" inject "$TMP/links/ours/config.json" --ports '18608:3000' --hook "$PORTSIDE_HOOK"
	assert_status 0
	grep -q '"io.portside.ports": "18608:3000"' "$TMP/victim/config.json"
	trace timeout 10 "$PORTSIDECTL" inject "$TMP/links/abs/config.json" --ports '18609:3000' --hook "$PORTSIDE_HOOK"
	assert_status 0
	grep -q '"io.portside.ports": "18609:3000"' "$TMP/victim/config.json"
	if [ -L /var/run ]; then
		trace timeout 10 "$PORTSIDECTL" inject "/var/run/..$TMP/links/abs/config.json" --ports '18608:3000' --hook "$PORTSIDE_HOOK"
		assert_status 0
		grep -q '"io.portside.ports": "18608:3000"' "$TMP/victim/config.json"
	fi
	# Root's link, but in a directory someone else can write: not followed.
	chmod 0777 "$TMP/links"
	cp "$TMP/victim/config.json" "$TMP/victim.orig"
	trace timeout 10 "$PORTSIDECTL" inject "$TMP/links/ours/config.json" --ports '18607:3000' --hook "$PORTSIDE_HOOK"
	assert_status 1
	assert_output_has "ours in $TMP/links is a symbolic link that someone other than root could have made"
	cmp "$TMP/victim/config.json" "$TMP/victim.orig"
}

@test "inject killed between writing the new file and renaming it leaves nothing behind, and the file whole" {
	need strace strace
	spec_bundle sig
	cfg=$TMP/sig/config.json
	# strace holds each fsync for 2 s: the signal lands while the new file
	# exists and is not yet renamed.
	strace -f -o /dev/null -e trace=fsync -e inject=fsync:delay_enter=2000000 \
		"$PORTSIDECTL" inject "$cfg" --ports '18607:3000' --hook "$PORTSIDE_HOOK" &
	tracer=$!
	pid=
	for _ in $(seq 50); do
		pid=$(pgrep -P "$tracer" -x portsidectl || true)
		[ -n "$pid" ] && [ "$(find "$TMP/sig" -maxdepth 1 -name 'config.json.*.tmp' | wc -l)" -eq 1 ] && break
		sleep 0.1
	done
	[ -n "$pid" ]
	kill -TERM "$pid"
	wait "$tracer" || true
	[ "$(find "$TMP/sig" -maxdepth 1 -name 'config.json.*' | wc -l)" -eq 0 ]
	# It finished the rename first: the file is the new one, whole.
	grep -q '"io.portside.ports": "18607:3000"' "$cfg"
	jq empty "$cfg"
}

# The new file's name has 32 random bits: no name can be planted in advance.
# getrandom is replaced here (LD_PRELOAD, nothing in portsidectl) so that
# every name inject can choose is one of four, each already taken.
@test "inject never opens what is already at a name it picks for its new file: a link, a dangling link, a FIFO, a file" {
	need cc gcc
	cat >"$TMP/fixed-random.c" <<-'C'
		#include <string.h>
		#include <sys/types.h>
		static unsigned calls;
		ssize_t getrandom(void *buf, size_t len, unsigned flags)
		{
			unsigned v = calls++ % 4;
			(void)flags;
			memset(buf, 0, len);
			memcpy(buf, &v, len < sizeof(v) ? len : sizeof(v));
			return (ssize_t)len;
		}
	C
	cc -shared -fPIC -o "$TMP/fixed-random.so" "$TMP/fixed-random.c"
	spec_bundle planted
	cfg=$TMP/planted/config.json
	cp "$cfg" "$TMP/before.json"
	echo "root's file" >"$TMP/roots"
	ln -s "$TMP/roots" "$cfg.00000000.tmp"
	ln -s "$TMP/created-through-a-link" "$cfg.00000001.tmp"
	mkfifo "$cfg.00000002.tmp"
	echo "someone's file" >"$cfg.00000003.tmp"
	trace timeout 10 env LD_PRELOAD="$TMP/fixed-random.so" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$PORTSIDECTL" inject "$cfg" --ports '18607:3000' --hook "$PORTSIDE_HOOK"
	assert_status 1
	assert_output_has "every name tried exists"
	cmp "$cfg" "$TMP/before.json"
	# One name free: taken, and nothing planted was opened.
	rm "$cfg.00000002.tmp"
	trace timeout 10 env LD_PRELOAD="$TMP/fixed-random.so" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$PORTSIDECTL" inject "$cfg" --ports '18607:3000' --hook "$PORTSIDE_HOOK"
	assert_status 0
	grep -q '"io.portside.ports": "18607:3000"' "$cfg"
	[ "$(cat "$TMP/roots")" = "root's file" ]
	[ ! -e "$TMP/created-through-a-link" ]
	[ -L "$cfg.00000000.tmp" ] && [ -L "$cfg.00000001.tmp" ]
	[ "$(cat "$cfg.00000003.tmp")" = "someone's file" ]
	[ ! -e "$cfg.00000002.tmp" ]
}
