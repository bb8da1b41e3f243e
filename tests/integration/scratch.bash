# A scratch root for the suites that install portside for real (deb.bats,
# install.bats): `make check` must leave a portside the user installed exactly
# as it found it, yet these suites run dpkg -i / --purge and make install /
# uninstall with PREFIX=/usr, as a user does.
#
# So they run in a private mount namespace where /usr, /etc, /var/lib/dpkg and
# /var/log are overlays whose writes land in the test's directory, and
# /run/portside is an empty tmpfs: an install, a purge and the package's postrm
# happen there and vanish with it. podman, conmon, runc, the hook and the
# sidecar started from inside see the same files. Everything else (the network,
# /run, podman's storage in /var/lib/containers) is the host's, so containers
# behave as they do anywhere. Loaded after helpers.bash.

SCRATCH_OVERLAYS="/usr /etc /var/lib/dpkg /var/log"

# scratch_root_start DIR: makes the namespace, held by DIR/ns/mnt (a bind
# mount of it, so that it outlives the commands run in it), and its mounts.
scratch_root_start() {
	local d=$1 m
	need unshare util-linux && need nsenter util-linux || return 1
	mkdir -p "$d/ns"
	# The file that holds the namespace must sit on a private mount.
	mount --bind "$d/ns" "$d/ns" && mount --make-private "$d/ns" || return 1
	touch "$d/ns/mnt"
	unshare --mount="$d/ns/mnt" --propagation private true || return 1
	SCRATCH_NS=$d/ns/mnt
	for m in $SCRATCH_OVERLAYS; do
		mkdir -p "$d/upper$m" "$d/work$m"
		in_scratch mount -t overlay overlay -o "lowerdir=$m,upperdir=$d/upper$m,workdir=$d/work$m" "$m" ||
			{ echo "cannot put an overlay over $m (overlayfs needs an upper dir on ext4, xfs or tmpfs)" >&2; return 1; }
	done
	# The host's /run/portside (made here when missing, as any hook would
	# make it) is hidden: a purge empties the tmpfs only.
	mkdir -p -m 0711 /run/portside
	in_scratch mount -t tmpfs -o mode=0711,size=16m tmpfs /run/portside
}

# in_scratch CMD...: runs CMD in the scratch root, in the current directory.
in_scratch() {
	nsenter --mount="$SCRATCH_NS" --wd="$PWD" -- "$@"
}

# scratch_root_stop DIR: lets the namespace go. Processes still in it (none
# when the test removed its containers) keep it until they exit; the host
# never sees its mounts either way.
scratch_root_stop() {
	[ -e "$1/ns/mnt" ] || return 0
	umount "$1/ns/mnt" 2>/dev/null
	umount "$1/ns" 2>/dev/null
	return 0
}

# scratch_podman: podman with this host's quirks (containers.conf in $TMP)
# and its default hooks directories, and a busybox image ($IMAGE).
scratch_podman() {
	export CONTAINERS_CONF=$TMP/containers.conf
	printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n' \
		>"$CONTAINERS_CONF"
	IMAGE=localhost/portside-test:latest
	if ! podman image exists "$IMAGE"; then
		make_rootfs
		tar -C "$ROOTFS" -cf "$TMP/rootfs.tar" .
		podman import --change 'ENV PATH=/bin' "$TMP/rootfs.tar" "$IMAGE" >/dev/null
	fi
}

# scratch_serve NAME PORT TEXT: a podman container started inside the scratch
# namespace with no --hooks-dir (what is installed there decides), its httpd
# on port 3000 forwarded to host PORT; TEXT must come back through the
# forward, from a sidecar of a uid of its own. Its id in SCRATCH_ID.
scratch_serve() {
	mkdir -p "$TMP/www"
	echo "$3" >"$TMP/www/index.html"
	trace in_scratch podman run -d --name "$CT_PREFIX$1" --annotation "io.portside.ports=$2:3000" \
		-v "$TMP/www:/www:ro" "$IMAGE" httpd -f -p 3000 -h /www
	assert_status 0
	SCRATCH_ID=$output
	wait_for 5 bash -c "curl -fsS --max-time 2 http://127.0.0.1:$2/ >/dev/null"
	run http_get "$2"
	[ "$output" = "$3" ]
	# Installed, its sidecar runs as a uid of the sidecars' range, leased
	# to the container (no passwd entry needed), not as nobody.
	local pid uid
	pid=$(in_scratch cat "/run/portside/containers/$SCRATCH_ID/sidecar.pid")
	pid=${pid%% *} # "PID START"
	uid=$(sidecar_uid "$pid")
	[ "$uid" != 65534 ]
	[ "$(in_scratch cat "/run/portside/uids/$uid")" = "$SCRATCH_ID" ]
}

# scratch_podman_rm: removes every podman container of this test, from inside.
# Listed from inside too: the container's netns is mounted in the scratch
# namespace only, and podman outside it fails on every container that has one
# (so a container of a failed test would stay, breaking every later podman ps).
scratch_podman_rm() {
	local id
	[ -n "${CONTAINERS_CONF:-}" ] || return 0
	for id in $(in_scratch podman ps -aq --filter "name=^$CT_PREFIX" 2>/dev/null); do
		in_scratch podman rm -f -t 0 "$id" >/dev/null 2>&1
	done
}

# host_install_state: every file an install of portside (make install with
# either PREFIX, or the package) puts on the host, with its mode, size, mtime
# and hash, or "absent"; and what dpkg says of the package.
host_install_state() {
	local p
	for p in /usr/bin/portsidectl /usr/local/bin/portsidectl \
		/usr/libexec/oci/hooks.d/portside-hook /usr/local/libexec/oci/hooks.d/portside-hook \
		/usr/libexec/portside /usr/local/libexec/portside /usr/share/portside /usr/local/share/portside \
		/usr/share/containers/oci/hooks.d/portside.json /etc/containers/oci/hooks.d/portside.json \
		/etc/portside; do
		if [ -e "$p" ]; then
			find "$p" -exec stat -c '%n %F %a %s %Y' {} +
			find "$p" -type f -exec sha256sum {} +
		else
			echo "$p absent"
		fi
	done
	dpkg-query -W -f='portside: ${Status} ${Version}\n' portside 2>/dev/null || echo "portside: unknown to dpkg"
}
