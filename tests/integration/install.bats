#!/usr/bin/env bats
# What a user installs, the way they install it: `make`, then `make install
# PREFIX=/usr` (the README's command). Built in a tree of its own, so that the
# programs the other suites test are left as they are; installed for real in
# a scratch root (scratch.bash), so that a portside the user installed is left
# as it is.

load helpers
load containers
load scratch

setup_file() {
	host_install_state >"$BATS_FILE_TMPDIR/host-before"
}

setup() {
	TMP=$(mktemp -d)
	SRC=$BATS_TEST_DIRNAME/../..
}

teardown() {
	scratch_podman_rm
	scratch_root_stop "$TMP"
	rm -rf "$TMP"
}

# default_sidecar HOOK: the sidecar path HOOK falls back to when neither
# --sidecar nor a sidecar next to it names one. Asked of the hook itself (a
# refused createRuntime names the path), not grepped from its binary: the
# compiler may store the string in pieces.
default_sidecar() {
	local d=$TMP/probe
	mkdir -p "$d/bundle" "$d/bin"
	cp "$1" "$d/bin/portside-hook"
	echo '{}' >"$d/policy.json"
	echo '{"ociVersion": "1.0.2", "root": {"path": "rootfs"}}' >"$d/bundle/config.json"
	printf '{"ociVersion": "1.0.2", "id": "probe", "status": "creating", "pid": 1, "bundle": "%s", "annotations": {"io.portside.ports": "18812:3000"}}' \
		"$d/bundle" | PORTSIDE_RUN_DIR=$d/run "$d/bin/portside-hook" --policy "$d/policy.json" createRuntime 2>&1 |
		sed -n 's/^portside: sidecar \(.*\): not found .*/\1/p'
}

@test "make, then make install PREFIX=/usr: the installed files name /usr, never /usr/local" {
	run make -C "$SRC" -s -j2 BUILD="$TMP/build" all
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	# The default build names /usr/local: the check below could fail.
	[ "$(default_sidecar "$TMP/build/portside-hook")" = /usr/local/libexec/portside/portside-sidecar ]
	run make -C "$SRC" -s BUILD="$TMP/build" install PREFIX=/usr DESTDIR="$TMP/root"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	for f in usr/libexec/oci/hooks.d/portside-hook usr/bin/portsidectl usr/libexec/portside/portside-sidecar \
		usr/libexec/portside/portside-runc usr/share/containers/oci/hooks.d/portside.json usr/libexec/portside/portside-node; do
		[ -f "$TMP/root/$f" ] || { echo "not installed: $f" >&2; false; }
		! grep -q /usr/local "$TMP/root/$f" || { echo "$f names /usr/local" >&2; false; }
	done
	[ "$(default_sidecar "$TMP/root/usr/libexec/oci/hooks.d/portside-hook")" = /usr/libexec/portside/portside-sidecar ]
	grep -q /usr/libexec/oci/hooks.d/portside-hook "$TMP/root/usr/bin/portsidectl"
	grep -q '"/usr/libexec/oci/hooks.d/portside-hook"' "$TMP/root/usr/share/containers/oci/hooks.d/portside.json"
	# The hooks.d file hands the hook the sidecar it installed.
	grep -qF '"args": ["portside-hook", "--sidecar", "/usr/libexec/portside/portside-sidecar"]' \
		"$TMP/root/usr/share/containers/oci/hooks.d/portside.json"
	# containerd's runtime wrapper, both names, adds the installed hook
	# (none is next to it) to a bundle that asks for portside.
	[ "$(readlink "$TMP/root/usr/libexec/portside/portside-crun")" = portside-runc ]
	mkdir -p "$TMP/b"
	echo '{"annotations": {"io.portside.ports": "8080:3000"}}' >"$TMP/b/config.json"
	"$TMP/root/usr/libexec/portside/portside-runc" create --bundle "$TMP/b" x >/dev/null 2>&1 || true
	grep -qF '"path":"/usr/libexec/oci/hooks.d/portside-hook"' "$TMP/b/config.json"
	# The node installer for containerd, its default wrapper under the PREFIX.
	[ -x "$TMP/root/usr/libexec/portside/portside-node" ]
	grep -qx 'default_wrapper=/usr/libexec/portside/portside-runc' "$TMP/root/usr/libexec/portside/portside-node"
	grep -qx 'runtime_path=/usr/sbin:/usr/bin:/sbin:/bin' "$TMP/root/usr/libexec/portside/portside-node"
	run "$TMP/root/usr/libexec/portside/portside-node" --help
	grep -qF "(default /usr/libexec/portside/portside-runc)" <<<"$output"
}

@test "installed for real (make, make install PREFIX=/usr), podman forwards with no --hooks-dir; make uninstall removes it" {
	need_root_tools
	need make make
	need podman podman
	run make -C "$SRC" -s -j2 BUILD="$TMP/build" all
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	scratch_root_start "$TMP"
	# Root, no DESTDIR: the files land in the scratch root's /usr.
	trace in_scratch make -C "$SRC" -s BUILD="$TMP/build" install PREFIX=/usr
	assert_status 0
	in_scratch test -x /usr/libexec/oci/hooks.d/portside-hook
	in_scratch test -x /usr/libexec/portside/portside-sidecar
	in_scratch test -x /usr/libexec/portside/portside-node
	in_scratch grep -qF '"--sidecar", "/usr/libexec/portside/portside-sidecar"' /usr/share/containers/oci/hooks.d/portside.json

	scratch_podman
	make_rootfs
	scratch_serve inst 18813 "hello through make install"
	id=$SCRATCH_ID
	# Served by the installed sidecar, started by the installed hook.
	pid=$(in_scratch cat "/run/portside/containers/$id/sidecar.pid")
	pid=${pid%% *} # "PID START"
	[ "$(in_scratch readlink "/proc/$pid/exe")" = /usr/libexec/portside/portside-sidecar ]
	trace in_scratch portsidectl ls
	assert_output_has "3000/tcp"
	in_scratch podman rm -f -t 0 "${CT_PREFIX}inst" >/dev/null
	wait_for 2 port_free 18813

	trace in_scratch make -C "$SRC" -s BUILD="$TMP/build" uninstall PREFIX=/usr
	assert_status 0
	for f in /usr/libexec/oci/hooks.d/portside-hook /usr/libexec/portside /usr/bin/portsidectl \
		/usr/share/containers/oci/hooks.d/portside.json /usr/share/portside; do
		# (/usr/libexec/portside held the runtime wrapper too)
		! in_scratch test -e "$f" || { echo "$f is still there" >&2; false; }
	done
}

@test "the host's installed portside is as this suite found it" {
	host_install_state >"$BATS_FILE_TMPDIR/host-after"
	diff -u "$BATS_FILE_TMPDIR/host-before" "$BATS_FILE_TMPDIR/host-after"
}
