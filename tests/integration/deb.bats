#!/usr/bin/env bats
# The Debian package: built from the tree, installed with dpkg -i, forwarding
# a podman container through the installed hooks.d file, purged cleanly.

load helpers
load containers

setup_file() {
	cd "$BATS_TEST_DIRNAME/../.." && make -s deb >/dev/null
}

setup() {
	need_root_tools
	need dpkg-deb dpkg-dev
	TMP=$(mktemp -d)
	DEB=$(ls "$BATS_TEST_DIRNAME"/../../portside_*.deb | tail -1)
	[ -f "$DEB" ]
}

teardown() {
	if [ -n "${CONTAINERS_CONF:-}" ]; then
		for id in $(podman ps -aq --filter "name=^$CT_PREFIX"); do podman rm -f -t 0 "$id" >/dev/null 2>&1; done
	fi
	dpkg --purge portside >/dev/null 2>&1 || true
	rm -rf "$TMP"
}

@test "the package holds the hook, the sidecar, portsidectl and the hooks.d file, and depends on the libraries" {
	run dpkg-deb -c "$DEB"
	assert_output_has "./usr/libexec/oci/hooks.d/portside-hook"
	assert_output_has "./usr/libexec/portside/portside-sidecar"
	assert_output_has "./usr/bin/portsidectl"
	assert_output_has "./usr/share/containers/oci/hooks.d/portside.json"
	assert_output_has "./usr/share/man/man1/portsidectl.1.gz"
	assert_output_has "./usr/share/man/man5/portside-annotations.5.gz"
	assert_output_has "./usr/share/man/man5/portside-policy.5.gz"
	assert_output_has "./usr/share/man/man8/portside-hook.8.gz"
	assert_output_has "./usr/share/bash-completion/completions/portsidectl"
	run dpkg-deb -f "$DEB" Depends
	assert_output_has "libseccomp2"
	assert_output_has "libcap2"
	assert_output_has "libjson-c5"
	assert_output_has "libuv1"
}

@test "installed with dpkg -i, it forwards a podman container with no --hooks-dir; purge removes it all" {
	trace dpkg -i "$DEB"
	assert_status 0
	[ -x /usr/libexec/oci/hooks.d/portside-hook ]
	grep -q '"/usr/libexec/oci/hooks.d/portside-hook"' /usr/share/containers/oci/hooks.d/portside.json
	trace portsidectl check '18700:3000'
	assert_status 0

	# podman with this host's quirks, and its default hooks directories.
	export CONTAINERS_CONF=$TMP/containers.conf
	printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"
	IMAGE=localhost/portside-test:latest
	if ! podman image exists "$IMAGE"; then
		make_rootfs
		tar -C "$ROOTFS" -cf "$TMP/rootfs.tar" .
		podman import --change 'ENV PATH=/bin' "$TMP/rootfs.tar" "$IMAGE" >/dev/null
	fi
	mkdir -p "$TMP/www"
	echo "hello through the package" >"$TMP/www/index.html"
	trace podman run -d --name "${CT_PREFIX}deb" --annotation io.portside.ports=18700:3000 \
		-v "$TMP/www:/www:ro" "$IMAGE" httpd -f -p 3000 -h /www
	assert_status 0
	wait_for 5 bash -c "curl -fsS --max-time 2 http://127.0.0.1:18700/ >/dev/null"
	run http_get 18700
	[ "$output" = "hello through the package" ]
	podman rm -f -t 0 "${CT_PREFIX}deb" >/dev/null
	wait_for 2 port_free 18700

	trace dpkg --purge portside
	assert_status 0
	[ ! -e /usr/libexec/oci/hooks.d/portside-hook ]
	[ ! -e /usr/libexec/portside ]
	[ ! -e /usr/share/containers/oci/hooks.d/portside.json ]
	[ ! -e /usr/bin/portsidectl ]
	[ ! -e /run/portside ]
}
