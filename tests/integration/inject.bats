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
