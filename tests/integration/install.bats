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

@test "make, then make install PREFIX=/usr: the installed files name /usr, never /usr/local" {
	run make -C "$SRC" -s -j2 BUILD="$TMP/build" all
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	# The default build names /usr/local: the check below could fail.
	grep -q /usr/local/libexec/portside/portside-sidecar "$TMP/build/portside-hook"
	run make -C "$SRC" -s BUILD="$TMP/build" install PREFIX=/usr DESTDIR="$TMP/root"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	for f in usr/libexec/oci/hooks.d/portside-hook usr/bin/portsidectl usr/libexec/portside/portside-sidecar \
		usr/share/containers/oci/hooks.d/portside.json; do
		[ -f "$TMP/root/$f" ] || { echo "not installed: $f" >&2; false; }
		! grep -q /usr/local "$TMP/root/$f" || { echo "$f names /usr/local" >&2; false; }
	done
	grep -q /usr/libexec/portside/portside-sidecar "$TMP/root/usr/libexec/oci/hooks.d/portside-hook"
	grep -q /usr/libexec/oci/hooks.d/portside-hook "$TMP/root/usr/bin/portsidectl"
	grep -q '"/usr/libexec/oci/hooks.d/portside-hook"' "$TMP/root/usr/share/containers/oci/hooks.d/portside.json"
}
