# A private containerd, driven through its CRI socket as a kubelet drives it.
# Loaded after helpers.bash. Start it once per file:
#
#   setup_file()    { load helpers; load containerd; cd_start [VAR=VALUE...]; }
#   teardown_file() { cd_stop; }
#
# Its config, root, state, sockets, CNI config and IP leases live in one
# scratch directory ($CD_DIR): nothing of a system containerd is used or
# touched. Before cd_start the caller may set:
#   CD_RUNC_BINARY      options.BinaryName of the runc runtime (default: runc
#                       from PATH); the runtime wrapper under test goes here
#   CD_POD_ANNOTATIONS  the runtime's pod_annotations, patterns separated by
#                       spaces (e.g. "io.portside.*"; default none)
#   CD_TOML_EXTRA       text appended to config.toml (new tables only: TOML
#                       does not let a table be opened twice)
#   CD_SNAPSHOTTER      overlayfs (default) or native
# cd_start's VAR=VALUE arguments are set in containerd's environment on top of
# the caller's: containerd passes its environment to the shims, and they to
# the runtime (so PORTSIDE_RUN_DIR and the like reach a wrapper).
#
# A runtime (the wrapper) that refuses a container must say why in runc's
# JSON log, the file after its --log argument (one line: {"level": "error",
# "msg": "...", "time": "..."}), and exit non-zero: the shim reads the last
# error from there into the CRI error (what `kubectl describe pod` shows) and
# drops the runtime's stderr. A sandbox is refused at RunPodSandbox; an app
# container at StartContainer (CreateContainer only records it).
#
# Then, in a test: cd_pod_config / cd_ctr_config write the configs, `cri`
# runs tests/cri/cri.py (runp, create, start, inspect, up, down, ...: see its
# usage), cd_leftovers / cd_clean tell what a pod left, cd_log shows
# containerd's log. Images: $CD_APP_IMAGE (busybox; /www/index.html says
# $CD_APP_TEXT) and $CD_PAUSE_IMAGE, its sandbox image.
#
# Every run of this file must hold /tmp/portside-bats.lock: the bridge and
# its subnet are one for the machine.

CD_CRI_PY=$BATS_TEST_DIRNAME/../cri/cri.py
CD_BRIDGE=pscri0
CD_SUBNET=10.77.0.0/24
CD_NAMESPACE=k8s.io
CD_IMAGE_CACHE=${PORTSIDE_CRI_IMAGES:-/var/tmp/portside-cri-images}
CD_APP_IMAGE=localhost/portside-cri-app:latest
CD_PAUSE_IMAGE=localhost/portside-cri-pause:latest
# What the app image's /www/index.html says (httpd -f -p 3000 -h /www serves it).
CD_APP_TEXT="hello from the cri app"
# The bump makes every cached image tarball be built again.
CD_IMAGE_RECIPE=1

# cri ARGS...: the CRI client against this file's containerd (-S: no site
# directories to scan before relaying to the server; cri.py adds them when it
# runs a call itself).
cri() {
	/usr/bin/python3 -S "$CD_CRI_PY" --socket "$CD_SOCK" "$@"
}

# cd_need: what this harness runs, or a line naming the package to install.
cd_need() {
	[ "$(id -u)" = 0 ] || { echo "the containerd tests need root" >&2; return 1; }
	need containerd containerd && need ctr containerd && need jq jq && need curl curl &&
		need busybox busybox-static && need flock util-linux || return 1
	[ -x /usr/lib/cni/bridge ] || { echo "missing /usr/lib/cni/bridge: install containernetworking-plugins" >&2; return 1; }
	/usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null ||
		{ echo "missing python3 grpc: install python3-grpcio python3-grpc-tools" >&2; return 1; }
}

# cd_images: the app and pause image tarballs (docker-archive), built once
# per busybox binary and recipe into $CD_IMAGE_CACHE and kept there; sets
# CD_IMAGE_DIR. Built with podman (no registry here): a busybox-static root
# filesystem imported with PATH set (podman import sets none), saved, and
# removed from podman's store again.
cd_images() {
	local key d r
	key=$({ sha256sum /bin/busybox; echo "$CD_IMAGE_RECIPE $CD_APP_TEXT"; } | sha256sum | cut -c1-16)
	# shellcheck disable=SC2174 # the mode is for the cache itself, the deepest
	mkdir -p -m 0755 "$CD_IMAGE_CACHE" || return 1
	# /var/tmp is everyone's: a cache another user made or could write to
	# could hand root images of theirs.
	if [ -L "$CD_IMAGE_CACHE" ] || [ "$(stat -c %u "$CD_IMAGE_CACHE")" != "$(id -u)" ] ||
		[ $((0$(stat -c %a "$CD_IMAGE_CACHE") & 022)) != 0 ]; then
		echo "cd_images: $CD_IMAGE_CACHE is not a directory of ours that only we can write" >&2
		return 1
	fi
	CD_IMAGE_DIR=$CD_IMAGE_CACHE/$key
	[ -s "$CD_IMAGE_DIR/app.tar" ] && [ -s "$CD_IMAGE_DIR/pause.tar" ] && return 0
	need podman podman || return 1
	(
		# One builder at a time; the others find the tarballs made.
		flock -w 120 9 || { echo "cd_images: $CD_IMAGE_CACHE/.lock busy for 120 s" >&2; exit 1; }
		[ -s "$CD_IMAGE_DIR/app.tar" ] && [ -s "$CD_IMAGE_DIR/pause.tar" ] && exit 0
		d=$(mktemp -d "$CD_IMAGE_CACHE/.build.XXXXXX") || exit 1
		trap 'rm -rf "$d"' EXIT
		r=$d/rootfs
		mkdir -p "$r"/{bin,www,tmp,proc,dev,sys,etc,run,var} || exit 1
		cp /bin/busybox "$r/bin/" || exit 1
		for a in sh httpd sleep cat echo ls ps ip nc wget kill id head; do
			ln -s busybox "$r/bin/$a"
		done
		echo "root:x:0:0:root:/:/bin/sh" >"$r/etc/passwd"
		echo "root:x:0:" >"$r/etc/group"
		echo "$CD_APP_TEXT" >"$r/www/index.html"
		tar -C "$r" -cf "$d/rootfs.tar" . || exit 1
		local tag=portside-cri-build-$$
		podman import --change 'ENV PATH=/bin:/usr/bin:/usr/sbin' \
			--change 'CMD ["/bin/httpd", "-f", "-p", "3000", "-h", "/www"]' \
			"$d/rootfs.tar" "localhost/$tag-app:latest" >/dev/null 2>&1 &&
			podman import --change 'ENV PATH=/bin:/usr/bin:/usr/sbin' \
				--change 'ENTRYPOINT ["/bin/sleep", "2147483647"]' \
				"$d/rootfs.tar" "localhost/$tag-pause:latest" >/dev/null 2>&1 || exit 1
		# Saved under the names the tests use; podman's store keeps nothing.
		podman tag "localhost/$tag-app:latest" "$CD_APP_IMAGE" &&
			podman tag "localhost/$tag-pause:latest" "$CD_PAUSE_IMAGE" &&
			podman save -q --format docker-archive -o "$d/app.tar" "$CD_APP_IMAGE" &&
			podman save -q --format docker-archive -o "$d/pause.tar" "$CD_PAUSE_IMAGE"
		local rc=$?
		podman rmi -f "localhost/$tag-app:latest" "localhost/$tag-pause:latest" \
			"$CD_APP_IMAGE" "$CD_PAUSE_IMAGE" >/dev/null 2>&1
		[ $rc = 0 ] || exit 1
		mkdir -p "$CD_IMAGE_DIR" && mv "$d/app.tar" "$d/pause.tar" "$CD_IMAGE_DIR/"
	) 9>"$CD_IMAGE_CACHE/.lock"
}

# toml_str S: S as a TOML basic string.
toml_str() {
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}

# cd_write_config: config.toml and the CNI conflist under $CD_DIR.
cd_write_config() {
	local pa="" p
	for p in ${CD_POD_ANNOTATIONS:-}; do pa+="${pa:+, }$(toml_str "$p")"; done
	local cri='plugins."io.containerd.grpc.v1.cri"'
	cat >"$CD_DIR/config.toml" <<-EOF
		version = 2
		root = "$CD_DIR/root"
		state = "$CD_DIR/state"
		# Snapshotters that would probe the host's devices, never used here.
		# (runtime.v1.linux must stay: the tasks service, and with it the
		# CRI plugin, fail to load without it.)
		disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
		  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

		[grpc]
		  address = "$CD_SOCK"
		[ttrpc]
		  address = "$CD_DIR/containerd.sock.ttrpc"
		[debug]
		  level = "info"

		[plugins."io.containerd.internal.v1.opt"]
		  path = "$CD_DIR/opt"

		[$cri]
		  sandbox_image = "$CD_PAUSE_IMAGE"
		  # The pause container asks for oom_score_adj -998, which needs
		  # CAP_SYS_RESOURCE: nobody here has it.
		  restrict_oom_score_adj = true
		  # The pods' netns mounts under our state dir, not /run/netns.
		  netns_mounts_under_state_dir = true
		  stream_server_address = "127.0.0.1"
		  stream_server_port = "0"
		  enable_selinux = false
		  [$cri.containerd]
		    snapshotter = "${CD_SNAPSHOTTER:-overlayfs}"
		    default_runtime_name = "runc"
		    [$cri.containerd.runtimes.runc]
		      runtime_type = "io.containerd.runc.v2"
		      pod_annotations = [$pa]
		      [$cri.containerd.runtimes.runc.options]
		        BinaryName = $(toml_str "${CD_RUNC_BINARY:-}")
		        # runc's state too stays ours (default /run/containerd/runc).
		        Root = "$CD_DIR/runc"
		        SystemdCgroup = false
		  [$cri.cni]
		    bin_dir = "/usr/lib/cni"
		    conf_dir = "$CD_DIR/cni"
		    max_conf_num = 1
	EOF
	[ -z "${CD_TOML_EXTRA:-}" ] || printf '\n%s\n' "$CD_TOML_EXTRA" >>"$CD_DIR/config.toml"
	mkdir -p "$CD_DIR/cni" "$CD_DIR/logs"
	# No masquerade, no portmap: the pods reach nothing outside; the host
	# reaches them on the bridge.
	cat >"$CD_DIR/cni/10-portside-cri.conflist" <<-EOF
		{
		  "cniVersion": "1.0.0",
		  "name": "$CD_CNI_NET",
		  "plugins": [{
		    "type": "bridge",
		    "bridge": "$CD_BRIDGE",
		    "isGateway": true,
		    "ipMasq": false,
		    "hairpinMode": true,
		    "ipam": {
		      "type": "host-local",
		      "dataDir": "$CD_DIR/ipam",
		      "ranges": [[{"subnet": "$CD_SUBNET"}]],
		      "routes": [{"dst": "$CD_SUBNET"}]
		    }
		  }]
		}
	EOF
}

# cd_other_running: the pid of a private containerd of another run, if any.
cd_other_running() {
	local p cmd
	for p in $(pgrep -x containerd); do
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")
		case "$cmd" in *"--config /tmp/pscd."*) [[ "$cmd" == *"$CD_DIR/"* ]] || { echo "$p"; return 0; } ;; esac
	done
	return 1
}

# cd_start [VAR=VALUE...]: a private containerd with the CRI plugin, its
# images imported; exports CD_DIR, CD_SOCK. On failure its log's tail is
# printed, and what was started is stopped again (cd_stop is safe after it).
cd_start() {
	cd_need || return 1
	cd_images || { echo "cd_start: cannot build the images" >&2; return 1; }
	CD_DIR=$(mktemp -d /tmp/pscd.XXXXXX) || return 1
	CD_SOCK=$CD_DIR/containerd.sock
	# The pods' cgroups, in every hierarchy, under one of ours (without a
	# cgroup_parent containerd would use /k8s.io, a system containerd's).
	CD_CGROUP=/portside-cri/${CD_DIR##*/}
	# libcni caches each attachment's result in /var/lib/cni/results as
	# NETWORK-ID-IFNAME (no setting moves it in containerd 1.6): a network
	# name of this run's lets cd_stop remove what a pod not removed left.
	CD_CNI_NET=portside-cri-${CD_DIR##*/}
	export CD_DIR CD_SOCK CD_IMAGE_DIR CD_CGROUP CD_CNI_NET
	# The shims make /run/containerd/s for their sockets (a fixed path in
	# containerd 1.6); removed again by cd_stop if it was not there before.
	[ -e /run/containerd ] || touch "$CD_DIR/made-run-containerd"
	local other
	if other=$(cd_other_running); then
		echo "cd_start: another run's containerd (pid $other) is up: hold /tmp/portside-bats.lock" >&2
		return 1
	fi
	# From here the bridge is ours (cd_stop deletes it only then). One
	# left by a run that was killed is deleted: no containerd uses it now.
	touch "$CD_DIR/owns-bridge"
	ip link del "$CD_BRIDGE" 2>/dev/null || true
	cd_write_config
	# setsid: off the test's process group and terminal; every fd closed but
	# the log, or bats would wait for containerd to close its output.
	env "$@" setsid containerd --config "$CD_DIR/config.toml" \
		</dev/null >"$CD_DIR/containerd.log" 2>&1 3>&- &
	echo $! >"$CD_DIR/containerd.pid"
	disown # no "Killed" line from this shell when cd_stop ends it
	cd_serve_start
	wait_for 15 cd_ready_or_dead || true
	if ! cd_cri_up; then
		echo "cd_start: no CRI on $CD_SOCK (containerd exited, refused its config or took over 15 s); its log:" >&2
		grep -E 'level=(error|fatal)|failed to load plugin' "$CD_DIR/containerd.log" | tail -n 10 >&2
		tail -n 5 "$CD_DIR/containerd.log" >&2
		return 1
	fi
	# ctr imports one file a call (it ignores a second). Both images must be
	# there before the first pod: the CRI would try to pull a missing one.
	local t
	for t in app pause; do
		if ! timeout 60 ctr -a "$CD_SOCK" -n "$CD_NAMESPACE" images import \
			"$CD_IMAGE_DIR/$t.tar" >"$CD_DIR/import.log" 2>&1; then
			echo "cd_start: ctr images import $CD_IMAGE_DIR/$t.tar failed:" >&2
			cat "$CD_DIR/import.log" >&2
			return 1
		fi
	done
	local have
	have=$(ctr -a "$CD_SOCK" -n "$CD_NAMESPACE" images ls -q)
	for t in "$CD_APP_IMAGE" "$CD_PAUSE_IMAGE"; do
		grep -qxF "$t" <<<"$have" || { echo "cd_start: $t not imported; containerd has: $have" >&2; return 1; }
	done
}

# cd_serve_start: a `cri.py serve` for this containerd, so that a `cri` call
# costs a connect instead of a Python start with grpc (~0.3 s). It ends with
# containerd at the latest. Without it, calls run in their own process.
cd_serve_start() {
	local ctl=$CD_DIR/cri.ctl
	setsid /usr/bin/python3 "$CD_CRI_PY" --socket "$CD_SOCK" serve "$ctl" \
		--parent "$(cat "$CD_DIR/containerd.pid")" </dev/null >"$CD_DIR/cri-serve.log" 2>&1 3>&- &
	echo $! >"$CD_DIR/cri-serve.pid"
	disown
	if wait_for 10 test -S "$ctl"; then
		export CRI_SERVER=$ctl
	else
		echo "cd_start: cri.py serve did not start (calls will be slower):" >&2
		cat "$CD_DIR/cri-serve.log" >&2
	fi
}

# cd_cri_up: the CRI service answers (containerd's socket is up before the
# CRI plugin has initialised, which then refuses calls for a moment).
cd_cri_up() {
	[ -S "$CD_SOCK" ] && cri --timeout 2 version >/dev/null 2>&1
}

# cd_ready_or_dead: the CRI answers, or waiting longer is of no use:
# containerd exited, or is up without its CRI plugin (a config it refused).
cd_ready_or_dead() {
	kill -0 "$(cat "$CD_DIR/containerd.pid")" 2>/dev/null || return 0
	grep -q 'failed to load plugin io.containerd.grpc.v1.cri' "$CD_DIR/containerd.log" && return 0
	cd_cri_up
}

# cd_pod_config FILE NAME [ATTEMPT [ANNOTATIONS]]: writes a PodSandboxConfig
# as a kubelet sends it (uid, namespace "portside-test", the kubelet's labels,
# a log directory under $CD_DIR/logs). ANNOTATIONS is a JSON object body,
# e.g. '"io.portside.ports": "18080:3000"'.
cd_pod_config() {
	local file=$1 name=$2 attempt=${3:-0} ann=${4:-}
	local uid
	uid=$(printf '%s' "$CD_DIR/$name" | sha256sum | cut -c1-32)
	mkdir -p "$CD_DIR/logs/$name"
	jq -n --arg name "$name" --arg uid "$uid" --argjson attempt "$attempt" \
		--arg logs "$CD_DIR/logs/$name" --argjson ann "{$ann}" --arg cgroup "$CD_CGROUP/pod$uid" '{
		metadata: {name: $name, namespace: "portside-test", uid: $uid, attempt: $attempt},
		hostname: $name,
		log_directory: $logs,
		labels: {"io.kubernetes.pod.name": $name, "io.kubernetes.pod.namespace": "portside-test",
			"io.kubernetes.pod.uid": $uid},
		annotations: $ann,
		linux: {cgroup_parent: $cgroup,
			security_context: {namespace_options: {network: "POD", pid: "CONTAINER", ipc: "POD"}}}
	}' >"$file"
}

# cd_ctr_config FILE NAME ATTEMPT CMD...: writes a ContainerConfig for the
# app image running CMD (command, no args), its log NAME_ATTEMPT.log in the
# pod's log directory. CD_CTR_IMAGE overrides the image.
cd_ctr_config() {
	local file=$1 name=$2 attempt=$3
	shift 3
	# "--" first: jq takes any "-x" among --args for an option of its own
	# (httpd -f -p ..., sh -c ...).
	jq -n --arg name "$name" --argjson attempt "$attempt" --arg image "${CD_CTR_IMAGE:-$CD_APP_IMAGE}" '{
		metadata: {name: $name, attempt: $attempt},
		image: {image: $image},
		command: $ARGS.positional,
		log_path: ($name + "_" + ($attempt | tostring) + ".log"),
		labels: {"io.kubernetes.container.name": $name}
	}' --args -- "$@" >"$file"
}

# cd_json_field JSON FIELD: one field of inspect/inspectp's output, raw.
cd_json_field() {
	jq -r ".$2" <<<"$1"
}

# cd_shims: pids of the shims serving this containerd (their -address is
# our socket; they outlive containerd).
cd_shims() {
	local p cmd
	# (their argv[0] is the full path: /usr/bin/containerd-shim-runc-v2)
	for p in $(pgrep -f 'containerd-shim-runc-v2 ' 2>/dev/null); do
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
		[[ " $cmd " == *" -address $CD_SOCK "* ]] && echo "$p"
	done
	return 0
}

# cd_mounts: what is mounted under $CD_DIR, deepest first.
cd_mounts() {
	awk -v d="$CD_DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r
}

# cd_leftovers: what of this containerd's pods outlives them: our shims,
# mounts under $CD_DIR (netns, rootfs, shm), runc containers and libcni's
# cached results, one a line.
cd_leftovers() {
	cd_shims | sed 's/^/shim /'
	cd_mounts | sed 's/^/mount /'
	[ -d "$CD_DIR/runc/$CD_NAMESPACE" ] && runc --root "$CD_DIR/runc/$CD_NAMESPACE" list -q 2>/dev/null | sed 's/^/runc /'
	local f
	for f in /var/lib/cni/results/"$CD_CNI_NET"-*; do
		[ -e "$f" ] && echo "cni $f"
	done
	return 0
}

# cd_log [N]: the last N (default 40) lines of containerd's log, for a
# failing test to print.
cd_log() {
	tail -n "${1:-40}" "$CD_DIR/containerd.log" 2>/dev/null || true
}

# cd_clean: nothing is left (for wait_for: cd_leftovers is read each try).
cd_clean() {
	[ -z "$(cd_leftovers)" ]
}

# cd_pid_ours PID: PID runs and its command line names $CD_DIR.
cd_pid_ours() {
	local cmd
	[ -n "$1" ] || return 1
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
	[[ "$cmd" == *"$CD_DIR/"* ]]
}

# cd_stop: removes every pod through the CRI, ends our shims and what runc
# still runs under our root, stops containerd, unmounts what is left under
# $CD_DIR, deletes the bridge and the directory. Safe to call twice, and
# after a failed cd_start. Every wait bounded.
cd_stop() {
	[ -n "${CD_DIR:-}" ] && [ -d "$CD_DIR" ] || return 0
	local id p i m
	local pid
	# A shim that did not exit by itself (killed, or its containerd was)
	# leaves its socket in /run/containerd/s, named after the hash of our
	# address, the namespace and its id, a pod's sandbox id. The ids are
	# noted first, while the shims' command lines and our state still show
	# them (a shim that exits alone, or containerd cleaning up after a dead
	# one, removes its task directory).
	local socks="" d
	for d in $(for p in $(cd_shims); do tr '\0' '\n' 2>/dev/null <"/proc/$p/cmdline" | sed -n '/^-id$/{n;p;}'; done) \
		"$CD_DIR/state/io.containerd.runtime.v2.task/$CD_NAMESPACE"/* \
		"$CD_DIR/root/io.containerd.grpc.v1.cri/sandboxes"/* \
		"$CD_DIR/state/io.containerd.grpc.v1.cri/sandboxes"/*; do
		id=${d##*/}
		[[ "$id" =~ ^[0-9a-f]{64}$ ]] || continue
		socks+=" /run/containerd/s/$(printf '%s' "$CD_SOCK/$CD_NAMESPACE/$id" | sha256sum | cut -d' ' -f1)"
	done
	# Each pid only while it is still ours (its command line names our
	# directory): a pid of a process that exited may be someone else's now.
	pid=$(cat "$CD_DIR/containerd.pid" 2>/dev/null) || true
	cd_pid_ours "$pid" || pid=""
	if [ -n "$pid" ] && [ -S "$CD_SOCK" ]; then
		cri --timeout 10 down --all >/dev/null 2>&1 || true
	fi
	p=$(cat "$CD_DIR/cri-serve.pid" 2>/dev/null) || true
	! cd_pid_ours "$p" || kill -KILL "$p" 2>/dev/null || true
	unset CRI_SERVER
	# Containers whose pods the CRI could not remove: killed and deleted by
	# runc itself (their shims would otherwise keep them running).
	if [ -d "$CD_DIR/runc/$CD_NAMESPACE" ]; then
		for id in $(runc --root "$CD_DIR/runc/$CD_NAMESPACE" list -q 2>/dev/null); do
			timeout 10 runc --root "$CD_DIR/runc/$CD_NAMESPACE" delete --force "$id" >/dev/null 2>&1 || true
		done
	fi
	local shims
	shims=$(cd_shims)
	for p in $shims; do kill -KILL "$p" 2>/dev/null || true; done
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do cd_pid_ours "$pid" || break; sleep 0.1; done
		! cd_pid_ours "$pid" || kill -KILL "$pid" 2>/dev/null || true
	fi
	# shellcheck disable=SC2086 # a list of paths without spaces
	[ -z "$socks" ] || rm -f $socks
	for m in $(cd_mounts); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	[ -z "${CD_CNI_NET:-}" ] || rm -f /var/lib/cni/results/"$CD_CNI_NET"-*
	if [ -f "$CD_DIR/owns-bridge" ]; then
		ip link del "$CD_BRIDGE" 2>/dev/null || true
	fi
	# Empty cgroups of our pods (runc removes a container's own, not the
	# pod's parent), deepest first; a cgroup still in use stays.
	local cg
	for cg in /sys/fs/cgroup/*"$CD_CGROUP" /sys/fs/cgroup/unified"$CD_CGROUP"; do
		[ -d "$cg" ] || continue
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
		rmdir "${cg%/*}" 2>/dev/null || true
	done
	if [ -f "$CD_DIR/made-run-containerd" ]; then
		rmdir /run/containerd/s /run/containerd 2>/dev/null || true
	fi
	if [ -n "$(cd_mounts)" ]; then
		echo "cd_stop: still mounted, $CD_DIR kept:" >&2
		cd_mounts >&2
		return 1
	fi
	rm -rf --one-file-system "$CD_DIR"
	unset CD_DIR
	return 0
}
