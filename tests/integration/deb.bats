#!/usr/bin/env bats
# The Debian package: built from the tree, installed with dpkg -i, forwarding
# a podman container through the installed hooks.d file, purged cleanly.
# dpkg runs in a scratch root (scratch.bash): a portside the user installed,
# by package or by make install, is left exactly as it was.

load helpers
load containers
load scratch

setup_file() {
	host_install_state >"$BATS_FILE_TMPDIR/host-before"
	cd "$BATS_TEST_DIRNAME/../.." && make -s deb >/dev/null
}

setup() {
	need_root_tools
	need dpkg-deb dpkg-dev
	need flock util-linux
	need podman podman
	TMP=$(mktemp -d)
	DEB=$(ls "$BATS_TEST_DIRNAME"/../../portside_*.deb | tail -1)
	[ -f "$DEB" ]
	scratch_root_start "$TMP"
}

teardown() {
	scratch_podman_rm
	scratch_root_stop "$TMP"
	rm -rf "$TMP"
}

@test "the package holds the hook, the sidecar, portsidectl and the hooks.d file, and depends on the libraries" {
	run dpkg-deb -c "$DEB"
	assert_output_has "./usr/libexec/oci/hooks.d/portside-hook"
	assert_output_has "./usr/libexec/portside/portside-sidecar"
	assert_output_has "./usr/libexec/portside/portside-node"
	assert_output_has "./usr/bin/portsidectl"
	assert_output_has "./usr/share/containers/oci/hooks.d/portside.json"
	assert_output_has "./usr/share/man/man1/portsidectl.1.gz"
	assert_output_has "./usr/share/man/man5/portside-annotations.5.gz"
	assert_output_has "./usr/share/man/man5/portside-policy.5.gz"
	assert_output_has "./usr/share/man/man8/portside-hook.8.gz"
	assert_output_has "./usr/share/bash-completion/completions/portsidectl"
	# the metrics timer, shipped but not enabled (no maintainer script enables it)
	assert_output_has "./usr/lib/systemd/system/portside-metrics.service"
	assert_output_has "./usr/lib/systemd/system/portside-metrics.timer"
	run dpkg-deb -f "$DEB" Depends
	assert_output_has "libseccomp2"
	assert_output_has "libcap2"
	assert_output_has "libjson-c5"
	assert_output_has "libuv1"
}

@test "installed with dpkg -i, it forwards a podman container with no --hooks-dir; purge removes it all" {
	trace in_scratch dpkg -i "$DEB"
	assert_status 0
	in_scratch test -x /usr/libexec/oci/hooks.d/portside-hook
	in_scratch grep -qF '"args": ["portside-hook", "--sidecar", "/usr/libexec/portside/portside-sidecar"]' \
		/usr/share/containers/oci/hooks.d/portside.json
	trace in_scratch portsidectl check '18700:3000'
	assert_status 0

	scratch_podman
	scratch_serve deb 18700 "hello through the package"
	in_scratch podman rm -f -t 0 "${CT_PREFIX}deb" >/dev/null
	wait_for 2 port_free 18700

	trace in_scratch dpkg --purge portside
	assert_status 0
	for f in /usr/libexec/oci/hooks.d/portside-hook /usr/libexec/portside /usr/share/containers/oci/hooks.d/portside.json \
		/usr/bin/portsidectl; do
		! in_scratch test -e "$f" || { echo "$f is still there" >&2; false; }
	done
	# The runtime state is gone (the scratch root's /run/portside is a mount point: it stays, empty).
	[ -z "$(in_scratch ls -A /run/portside)" ]
}

@test "purge leaves /run/portside alone while a container is recorded in it (another install may serve it)" {
	trace in_scratch dpkg -i "$DEB"
	assert_status 0
	in_scratch mkdir -p -m 0700 /run/portside/containers/web /run/portside/netns
	in_scratch sh -c 'echo 123 >/run/portside/containers/web/sidecar.pid'
	trace in_scratch dpkg --purge portside
	assert_status 0
	assert_output_has "containers are still recorded in /run/portside; left as it is"
	in_scratch test -f /run/portside/containers/web/sidecar.pid
	refute in_scratch test -e /usr/bin/portsidectl
}

@test "the host's installed portside (files and dpkg's record) is as this suite found it" {
	host_install_state >"$BATS_FILE_TMPDIR/host-after"
	diff -u "$BATS_FILE_TMPDIR/host-before" "$BATS_FILE_TMPDIR/host-after"
}
