# Real containers for the bats suites: a busybox-static root filesystem and
# OCI bundles whose config.json carries the portside hooks and annotations.
# Loaded after helpers.bash.

PORTSIDE_HOOK=$PORTSIDE_BUILD/portside-hook
RUNDIR=${PORTSIDE_RUN_DIR:-/run/portside}
# One directory a container (lib/rundir.h).
STATEDIR=$RUNDIR/containers
# Every container a test starts is named with this prefix and removed in
# teardown, whatever the test did.
CT_PREFIX=pstest-$$-

# need_root_tools: the suite drives real runtimes; say what is missing.
need_root_tools() {
	[ "$(id -u)" = 0 ] || { echo "these tests start containers and need root" >&2; return 1; }
	need runc runc && need busybox busybox-static && need socat socat && need curl curl
}

# The shared, read-only root filesystem: busybox and its applets.
ROOTFS=$BATS_RUN_TMPDIR/rootfs
make_rootfs() {
	[ -x "$ROOTFS/bin/busybox" ] && return 0
	mkdir -p "$ROOTFS"/{bin,www,tmp,proc,dev,sys,etc,data}
	cp /bin/busybox "$ROOTFS/bin/"
	for a in sh httpd nc cat sleep ip wget ls ps kill od head; do
		ln -sf busybox "$ROOTFS/bin/$a"
	done
	echo "root:x:0:0:root:/:/bin/sh" >"$ROOTFS/etc/passwd"
	# The project's own static helpers (make builds them).
	cp "$PORTSIDE_BUILD/tests/udp-echo" "$PORTSIDE_BUILD/tests/hostile" "$PORTSIDE_BUILD/tests/faults" "$ROOTFS/bin/" ||
		{ echo "build the test helpers first: make" >&2; return 1; }
}

# suite_setup: what a container suite does first: root and its tools, a
# scratch directory ($TMP), the root filesystem, and an empty host policy for
# the hook (no policy of this host may change what a test sees).
suite_setup() {
	need_root_tools
	TMP=$(mktemp -d)
	make_rootfs
	echo '{}' >"$TMP/policy.json"
	HOOK_ARGS="--policy $TMP/policy.json"
}

# suite_teardown: every container of the test removed, sanitizer reports
# checked, the scratch directory gone.
suite_teardown() {
	local rc=0
	cleanup_containers || rc=$?
	rm -rf "$TMP"
	return $rc
}

# json_str S: S as a JSON string literal.
json_str() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\n'/\\n}
	printf '"%s"' "$s"
}

# make_bundle DIR ANNOTATIONS_JSON CMD...: writes DIR/config.json for a
# container running CMD (as /bin/sh -c), with portside's createRuntime and
# poststop hooks and the annotations given as a JSON object body
# (e.g. '"io.portside.ports": "80:3000"'). DIR/www is bind-mounted at /www.
# HOOK_ARGS (extra hook arguments), NO_HOOKS (set: no hooks, for what adds
# them itself), NETNS_PATH and CT_UID (the uid and gid
# CMD runs as, on the host too: no user namespace; default 0) are read from
# the caller.
make_bundle() {
	local dir=$1 ann=$2
	shift 2
	local cmd
	cmd=$(json_str "$*")
	local hook_args=""
	for a in ${HOOK_ARGS:-}; do hook_args+=", $(json_str "$a")"; done
	local hook_env='"PATH=/usr/sbin:/usr/bin:/sbin:/bin"'
	[ -n "${PORTSIDE_RUN_DIR:-}" ] && hook_env+=", $(json_str "PORTSIDE_RUN_DIR=$PORTSIDE_RUN_DIR")"
	[ -n "${ASAN_OPTIONS:-}" ] && hook_env+=", $(json_str "ASAN_OPTIONS=$ASAN_OPTIONS")"
	[ -n "${UBSAN_OPTIONS:-}" ] && hook_env+=", $(json_str "UBSAN_OPTIONS=$UBSAN_OPTIONS")"
	local netns='{"type": "network"}'
	[ -n "${NETNS_PATH:-}" ] && netns="{\"type\": \"network\", \"path\": $(json_str "$NETNS_PATH")}"
	local hooks="\"createRuntime\": [{\"path\": $(json_str "$PORTSIDE_HOOK"), \"args\": [\"portside-hook\"$hook_args, \"createRuntime\"], \"env\": [$hook_env], \"timeout\": 10}],
    \"poststop\": [{\"path\": $(json_str "$PORTSIDE_HOOK"), \"args\": [\"portside-hook\"$hook_args, \"poststop\"], \"env\": [$hook_env], \"timeout\": 10}]"
	[ -n "${NO_HOOKS:-}" ] && hooks=""
	mkdir -p "$dir/www"
	cat >"$dir/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": ${CT_UID:-0}, "gid": ${CT_UID:-0}},
    "args": ["/bin/sh", "-c", $cmd],
    "env": ["PATH=/bin"],
    "cwd": "/",
    "noNewPrivileges": true
  },
  "root": {"path": $(json_str "$ROOTFS"), "readonly": true},
  "hostname": "pstest",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=65536k"]},
    {"destination": "/www", "type": "bind", "source": $(json_str "$dir/www"), "options": ["rbind", "ro"]}
  ],
  "annotations": {$ann},
  "hooks": {
    $hooks
  },
  "linux": {
    "namespaces": [{"type": "pid"}, $netns, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
JSON
}

# ports_ann VALUE: the annotations body for io.portside.ports=VALUE.
ports_ann() {
	printf '"io.portside.ports": %s' "$(json_str "$1")"
}

# oci_start RUNTIME NAME ANNOTATIONS CMD...: a detached runc or crun
# container. Sets CT (its id) and BUNDLE; `RUNTIME run`'s status and output
# are in $status/$output.
oci_start() {
	local rt=$1 name=$2 ann=$3
	shift 3
	CT=$CT_PREFIX$name
	BUNDLE=$TMP/$name
	make_bundle "$BUNDLE" "$ann" "$@"
	# The container inherits the runtime's stdio: a file, not bats' pipe,
	# which the container would hold open.
	trace bash -c '"$0" run -d --bundle "$1" "$2" </dev/null >"$1/runtime.out" 2>&1; rc=$?; cat "$1/runtime.out"; exit $rc' \
		"$rt" "$BUNDLE" "$CT"
}

runc_start() { oci_start runc "$@"; }
crun_start() { oci_start crun "$@"; }

# www_start NAME ANNOTATIONS CMD...: a runc container whose /www holds an
# index.html saying "hello from NAME", for an httpd in CMD to serve.
www_start() {
	mkdir -p "$TMP/$1/www"
	echo "hello from $1" >"$TMP/$1/www/index.html"
	runc_start "$@"
}

# The sidecar of container $1 (its pid), or nothing.
sidecar_pid() {
	local f=$STATEDIR/$1/sidecar.pid
	[ -f "$f" ] || return 1
	local pid
	# "PID START" (its start time after the pid).
	read -r pid _ <"$f"
	proc_alive "$pid" && grep -q '^portside-sideca' "/proc/$pid/comm" && echo "$pid"
}

# listen_factory_pid PID: the host listener factory of sidecar PID
# (sidecar/listenfactory.c), or nothing (and failure).
listen_factory_pid() {
	pgrep -P "$1" -x portside-listen
}

# factory_tid PID: the thread of sidecar PID that is its socket factory
# (named portside-netns); /proc/PID/task/TID is its own view: its netns,
# credentials, capabilities and filter.
factory_tid() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = portside-netns ]; then
			echo "${t##*/}"
			return 0
		fi
	done
	return 1
}

# gone_or_zombie PID: the process has exited (a zombie holds no port).
gone_or_zombie() {
	! [ -r "/proc/$1/status" ] || grep -q '^State:.*Z' "/proc/$1/status"
}

# assert_confined PID [CAPS]: the process runs as a uid of its own (the same
# real, effective, saved and filesystem uid, as its gid too; neither root nor
# nobody, see sidecar_uid) with no new privs, a
# seccomp filter, and exactly the capability mask CAPS in its effective,
# permitted and bounding sets (default none: the sidecar and its socket
# factory keep no capability; 0000000000000400, CAP_NET_BIND_SERVICE alone,
# is the listener factory's when a hand-out port is below 1024).
assert_confined() {
	local st=/proc/$1/status caps=${2:-0000000000000000}
	grep -qP '^NoNewPrivs:\t1$' "$st"
	grep -qP '^Seccomp:\t2$' "$st"
	grep -qP "^CapEff:\t$caps\$" "$st"
	grep -qP "^CapPrm:\t$caps\$" "$st"
	grep -qP "^CapBnd:\t$caps\$" "$st"
	local uid
	uid=$(sidecar_uid "$1")
	[ "$uid" != 0 ]
	[ "$uid" != 65534 ]
	grep -qP "^Gid:\t$uid\t$uid\t$uid\t$uid\$" "$st"
	grep -qP '^Groups:\t *$' "$st"
}

# sidecar_uid PID: the uid PID runs as, when its real, effective, saved and
# filesystem uids agree; nothing (and failure) otherwise.
sidecar_uid() {
	sed -n 's/^Uid:\t\([0-9]*\)\t\1\t\1\t\1$/\1/p' "/proc/$1/status" | grep .
}

# rss PID: the process's resident memory, kB.
rss() {
	awk '/^VmRSS/ {print $2}' "/proc/$1/status"
}

# proc_alive PID: running (a zombie waiting for init to reap it holds nothing).
proc_alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# port_free PORT: nothing listens on TCP PORT on the host.
port_free() {
	! ss -Hltn "sport = :$1" | grep -q .
}

port_listening() {
	ss -Hltn "sport = :$1" | grep -q .
}

# http_get PORT [PATH]: the body of an HTTP GET through 127.0.0.1:PORT.
http_get() {
	curl -fsS --max-time 5 "http://127.0.0.1:$1/${2:-}"
}

# Removes every container this test started (and so, through poststop, its
# sidecar and state).
cleanup_containers() {
	local bad=0 rt id ids
	# Under `make asan` a sanitizer report lands in the sidecar's log, which
	# poststop removes: read them first.
	for log in "$STATEDIR/$CT_PREFIX"*/sidecar.log "$STATEDIR"/*/sidecar.log; do
		[ -f "$log" ] || continue
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$log"; then
			# The whole report (stacks included): the log goes with
			# the state, and CI keeps only what a test printed.
			sed -n '/ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:/,$p' "$log" | head -80 >&2
			echo "sanitizer report in $log" >&2
			bad=1
		fi
	done
	for rt in runc crun; do
		command -v "$rt" >/dev/null || continue
		ids=$("$rt" list -q 2>/dev/null | grep "^$CT_PREFIX" || true)
		for id in $ids; do
			"$rt" kill "$id" KILL 2>/dev/null || true
		done
		for id in $ids; do
			wait_for 5 oci_stopped "$rt" "$id" || true
			"$rt" delete -f "$id" 2>/dev/null || true
		done
	done
	if command -v podman >/dev/null && [ -n "${CONTAINERS_CONF:-}" ]; then
		for id in $(podman pod ls -q --filter "name=^$CT_PREFIX" 2>/dev/null); do
			P pod rm -f -t 0 "$id" >/dev/null 2>&1 || true
		done
		for id in $(podman ps -aq --filter "name=^$CT_PREFIX" 2>/dev/null); do
			P rm -f -t 0 "$id" >/dev/null 2>&1 || true
		done
	fi
	return $bad
}

oci_stopped() {
	local st
	st=$("$1" state "$2" 2>/dev/null | grep '"status"') || return 0
	[[ "$st" == *stopped* ]]
}

runc_stopped() { oci_stopped runc "$1"; }

# Live processes named portside-sidecar, one pid per line.
all_sidecars() {
	local p
	for p in $(pgrep -x portside-sideca); do
		proc_alive "$p" && echo "$p"
	done
	return 0
}

# ---- podman ----

# podman_setup: podman with this host's quirks handled in a test-only
# containers.conf (ulimits this host can grant, runc by default), portside's
# hooks.d file pointing at the build tree, and a busybox image.
podman_setup() {
	need podman podman
	export CONTAINERS_CONF=$BATS_RUN_TMPDIR/containers.conf
	cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "${PODMAN_RUNTIME:-runc}"
CONF
	HOOKS_DIR=$BATS_RUN_TMPDIR/hooks.d-$$
	mkdir -p "$HOOKS_DIR"
	local env='"PATH=/usr/sbin:/usr/bin:/sbin:/bin"'
	[ -n "${PORTSIDE_RUN_DIR:-}" ] && env+=", $(json_str "PORTSIDE_RUN_DIR=$PORTSIDE_RUN_DIR")"
	[ -n "${ASAN_OPTIONS:-}" ] && env+=", $(json_str "ASAN_OPTIONS=$ASAN_OPTIONS")"
	[ -n "${UBSAN_OPTIONS:-}" ] && env+=", $(json_str "UBSAN_OPTIONS=$UBSAN_OPTIONS")"
	# The shipped file, with the build tree's hook and a test policy.
	sed -e "s|@HOOK@|$PORTSIDE_HOOK|" -e "s|@SIDECAR@|$PORTSIDE_BUILD/portside-sidecar|" \
		-e "s|\"args\": \[\"portside-hook\",|\"args\": [\"portside-hook\", \"--policy\", $(json_str "$TMP/policy.json"),|" \
		-e "s|\"env\": \[.*\]|\"env\": [$env]|" \
		"$BATS_TEST_DIRNAME/../../packaging/hooks.d/portside.json.in" >"$HOOKS_DIR/portside.json"
	# Tagged by the helpers it holds, so that a rebuilt helper gets a new image.
	IMAGE=localhost/portside-test:$(cat /bin/busybox "$PORTSIDE_BUILD/tests/udp-echo" "$PORTSIDE_BUILD/tests/hostile" "$PORTSIDE_BUILD/tests/faults" | sha256sum | cut -c1-12)
	if ! podman image exists "$IMAGE"; then
		make_rootfs
		tar -C "$ROOTFS" -cf "$BATS_RUN_TMPDIR/rootfs.tar" .
		podman import --change 'ENV PATH=/bin' "$BATS_RUN_TMPDIR/rootfs.tar" "$IMAGE" >/dev/null
	fi
}

# P ARGS...: podman with the test hooks dir.
P() {
	podman --hooks-dir "$HOOKS_DIR" "$@"
}

# podman_start NAME ANNOTATION_VALUE CMD...: podman run -d with
# io.portside.ports=VALUE and $TMP/NAME/www on /www. Sets CT to the full id
# (the id the hook sees).
podman_start() {
	local name=$1 ports=$2
	shift 2
	mkdir -p "$TMP/$name/www"
	# podman reads --annotation as CSV: a value with a comma or a quote
	# must be one quoted field, its quotes doubled.
	local ann="io.portside.ports=$ports"
	if [[ "$ann" == *[,\"]* ]]; then
		ann="\"${ann//\"/\"\"}\""
	fi
	trace P run -d --name "$CT_PREFIX$name" --annotation "$ann" ${PODMAN_ARGS:-} \
		-v "$TMP/$name/www:/www:ro" "$IMAGE" sh -c "$*"
	CT=$(podman inspect -f '{{.Id}}' "$CT_PREFIX$name" 2>/dev/null || true)
}

# listening PORT [TEXT]: something listens on TCP PORT in $CT's netns (on
# TEXT, e.g. 127.0.0.1:3000, when given).
listening() {
	nsenter -t "$(netns_pid "$CT")" -n ss -Hltn "sport = :$1" | grep -qF -- "${2:-:$1}"
}

# ask PORT: what the app said to a client through host port PORT ("" if
# refused); the hostile helper's app says "peer=ADDR".
ask() {
	timeout 5 socat -T 2 - "TCP:127.0.0.1:$1" </dev/null 2>/dev/null || true
}

# netns_pid ID: a process in container ID's network namespace (its init), for
# nsenter: the sidecar itself stays in the host's namespace.
netns_pid() {
	local pid
	pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$STATEDIR/$1/forwards.json" | head -1)
	[ -n "$pid" ] && [ "$pid" != 0 ] && echo "$pid"
}

# pod_yaml NAME PORTS: a two-container pod (httpd on 3000 and on 3001, sharing
# the pod's network namespace) whose metadata.annotations carry the ports.
pod_yaml() {
	mkdir -p "$TMP/www"
	echo "hello from the pod" >"$TMP/www/index.html"
	cat >"$TMP/pod.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
  annotations:
    io.portside.ports: "$2"
spec:
  containers:
  - name: web
    image: $IMAGE
    command: ["httpd", "-f", "-p", "3000", "-h", "/www"]
    volumeMounts: [{name: www, mountPath: /www}]
  - name: api
    image: $IMAGE
    command: ["httpd", "-f", "-p", "3001", "-h", "/www"]
    volumeMounts: [{name: www, mountPath: /www}]
  volumes:
  - name: www
    hostPath: {path: $TMP/www, type: Directory}
YAML
}
