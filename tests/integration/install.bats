#!/usr/bin/env bats
# What a user installs, the way they install it: `make`, then `make install
# PREFIX=/usr` (the README's command). Built in a tree of its own, so that the
# programs the other suites test are left as they are.

load helpers

setup() {
	TMP=$(mktemp -d)
	SRC=$BATS_TEST_DIRNAME/../..
}

teardown() {
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
		usr/share/containers/oci/hooks.d/portside.json; do
		[ -f "$TMP/root/$f" ] || { echo "not installed: $f" >&2; false; }
		! grep -q /usr/local "$TMP/root/$f" || { echo "$f names /usr/local" >&2; false; }
	done
	[ "$(default_sidecar "$TMP/root/usr/libexec/oci/hooks.d/portside-hook")" = /usr/libexec/portside/portside-sidecar ]
	grep -q /usr/libexec/oci/hooks.d/portside-hook "$TMP/root/usr/bin/portsidectl"
	grep -q '"/usr/libexec/oci/hooks.d/portside-hook"' "$TMP/root/usr/share/containers/oci/hooks.d/portside.json"
	# The hooks.d file hands the hook the sidecar it installed.
	grep -qF '"args": ["portside-hook", "--sidecar", "/usr/libexec/portside/portside-sidecar"]' \
		"$TMP/root/usr/share/containers/oci/hooks.d/portside.json"
}
