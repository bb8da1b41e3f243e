#!/usr/bin/env bats
# Kubernetes pods on containerd, driven over the CRI as a kubelet drives it
# (containerd.bash, tests/cri/cri.py): containerd's runc runtime is
# portside-runc (BinaryName) and lets io.portside.* pod annotations through
# (pod_annotations), as packaging/kubernetes/portside-node sets a node up.
# The pod's sandbox (pause) container starts the pod's one sidecar; its app
# containers join it.

load helpers
load containers
load containerd

setup_file() {
	load helpers
	load containers
	load containerd
	CD_RUNC_BINARY=$PORTSIDE_BUILD/portside-runc
	CD_POD_ANNOTATIONS="io.portside.*"
	# The node's policy: automatic forwarding onto two host ports.
	echo '{"autoforwardPorts": [19130, 19131]}' >"$BATS_FILE_TMPDIR/policy.json"
	local env=("PORTSIDE_POLICY=$BATS_FILE_TMPDIR/policy.json")
	[ -z "${PORTSIDE_RUN_DIR:-}" ] || env+=("PORTSIDE_RUN_DIR=$PORTSIDE_RUN_DIR")
	cd_start "${env[@]}"
	# portsidectl asks containerd (ctr) for names: this one's socket.
	export CONTAINERD_ADDRESS=$CD_SOCK
}

teardown_file() {
	cd_stop
}

teardown() {
	local id
	[ -z "${HOLDER:-}" ] || kill "$HOLDER" 2>/dev/null || true
	for id in $(cri pods -q 2>/dev/null); do
		cri stopp "$id" >/dev/null 2>&1 || true
		cri rmp "$id" >/dev/null 2>&1 || true
	done
	# A sanitizer report in a sidecar's log fails the test (make asan).
	cleanup_containers
}

# pod_up NAME ANNOTATIONS: RunPodSandbox as a kubelet sends it; POD is the
# sandbox's id, POD_JSON its config (what CreateContainer gets again).
pod_up() {
	POD_JSON=$CD_DIR/pod-$1.json
	cd_pod_config "$POD_JSON" "$1" 0 "$2"
	trace cri runp "$POD_JSON"
	POD=$output
}

# app_up NAME ATTEMPT CMD...: CreateContainer and StartContainer in POD;
# CTR is its id.
app_up() {
	local name=$1 attempt=$2
	shift 2
	cd_ctr_config "$CD_DIR/ctr-$name-$attempt.json" "$name" "$attempt" "$@"
	trace cri create "$POD" "$CD_DIR/ctr-$name-$attempt.json" "$POD_JSON"
	assert_status 0
	CTR=$output
	trace cri start "$CTR"
	assert_status 0
}

# pod_down: StopPodSandbox (which stops its containers), RemovePodSandbox.
pod_down() {
	trace cri stopp "$POD"
	assert_status 0
	trace cri rmp "$POD"
	assert_status 0
}

# gone ID...: no state directory and no netns entry names any ID.
gone() {
	local id
	for id in "$@"; do
		[ ! -e "$STATEDIR/$id" ] || { echo "state of $id left" >&2; return 1; }
		if grep -rqxF "$id" "$RUNDIR/netns" 2>/dev/null; then
			echo "netns entry naming $id left" >&2
			return 1
		fi
	done
}

sidecars_are() {
	[ "$(all_sidecars | wc -l)" -eq "$1" ]
}

@test "cri: a one-container pod's port is forwarded by one sidecar the sandbox started, and StopPodSandbox frees it" {
	before=$(all_sidecars | wc -l)
	pod_up web '"io.portside.ports": "19110:3000"'
	assert_status 0
	# The sandbox holds the port from its start, before any app runs.
	[ -f "$STATEDIR/$POD/sidecar.pid" ]
	port_listening 19110
	app_up app 0 httpd -f -p 3000 -h /www
	wait_for 5 http_get 19110
	run http_get 19110
	[ "$output" = "$CD_APP_TEXT" ]
	[ "$(all_sidecars | wc -l)" -eq $((before + 1)) ]
	[ "$(cat "$STATEDIR/$CTR/owner")" = "$POD" ]
	# ls lists the app container by the name containerd gave it.
	trace "$PORTSIDECTL" ls
	assert_status 0
	assert_output_has "0.0.0.0:19110"
	assert_output_has "portside-test/web/app"
	trace "$PORTSIDECTL" ls --json
	[ "$(jq -r --arg id "$CTR" '.[] | select(.id == $id) | .name' <<<"$output")" = portside-test/web/app ]

	trace cri stopp "$POD"
	assert_status 0
	wait_for 2 port_free 19110
	wait_for 3 sidecars_are "$before"
	trace cri rmp "$POD"
	assert_status 0
	gone "$POD" "$CTR"
	wait_for 5 cd_clean
}

@test "cri: a two-container pod shares one sidecar, and each container is found by NS/POD/CONTAINER" {
	before=$(all_sidecars | wc -l)
	pod_up two '"io.portside.ports": "19111:3000, 19112:3001"'
	assert_status 0
	app_up web 0 httpd -f -p 3000 -h /www
	web=$CTR
	app_up api 0 httpd -f -p 3001 -h /www
	api=$CTR
	wait_for 5 http_get 19111
	wait_for 5 http_get 19112
	run http_get 19112
	[ "$output" = "$CD_APP_TEXT" ]
	[ "$(all_sidecars | wc -l)" -eq $((before + 1)) ]
	[ "$(cat "$STATEDIR/$web/owner")" = "$POD" ]
	[ "$(cat "$STATEDIR/$api/owner")" = "$POD" ]

	# Names from containerd's own keys, confirmed by containerd (ctr).
	trace "$PORTSIDECTL" url portside-test/two/api 3001
	assert_status 0
	[ "$output" = "http://127.0.0.1:19112/" ]
	trace "$PORTSIDECTL" wait two/web 3000 --timeout 5
	assert_status 0
	trace "$PORTSIDECTL" doctor portside-test/two/web
	assert_status 0
	assert_output_has "0.0.0.0:19111 -> 3000/tcp"
	# events follows the pod's sidecar; a port exposed live by the pod's
	# name shows in it. An unknown name fails at once.
	timeout 5 "$PORTSIDECTL" events two/api >"$CD_DIR/events.out" 2>&1 &
	ev=$!
	sleep 0.5
	trace "$PORTSIDECTL" expose portside-test/two/api 19119:3001
	assert_status 0
	wait_for 3 grep -q 19119 "$CD_DIR/events.out" || { cat "$CD_DIR/events.out"; false; }
	kill "$ev"
	run http_get 19119
	[ "$output" = "$CD_APP_TEXT" ]
	trace timeout 2 "$PORTSIDECTL" events two/nobody
	assert_status 1

	# One container stops: the pod's ports stay served by the sandbox.
	trace cri stop "$api" 0
	assert_status 0
	wait_for 3 gone "$api"
	run http_get 19111
	[ "$output" = "$CD_APP_TEXT" ]
	pod_down
	wait_for 2 port_free 19111
	wait_for 2 port_free 19112
	wait_for 2 port_free 19119
	wait_for 3 sidecars_are "$before"
	gone "$POD" "$web" "$api"
}

@test "cri: a runc container claiming a pod's CRI keys gets no name" {
	# The same keys containerd writes, in a plain runc container's
	# config.json: containerd knows no such container, so no name.
	suite_setup
	HOOK_ARGS="--policy $TMP/policy.json"
	www_start squat "$(ports_ann 19113:3000), \"io.kubernetes.cri.container-type\": \"container\", \"io.kubernetes.cri.sandbox-namespace\": \"portside-test\", \"io.kubernetes.cri.sandbox-name\": \"claimed\", \"io.kubernetes.cri.container-name\": \"app\"" \
		'httpd -f -p 3000 -h /www'
	assert_status 0
	wait_for 5 port_listening 19113
	trace "$PORTSIDECTL" url portside-test/claimed/app 3000
	assert_status 1
	trace "$PORTSIDECTL" ls --json
	[ "$(jq -r --arg id "$CT" '.[] | select(.id == $id) | .name // "none"' <<<"$output")" = none ]
	suite_teardown
}

@test "cri: a crash-looping container's ports stay served, each restart serves again within a second" {
	pod_up crash '"io.portside.ports": "19114:3000"'
	assert_status 0
	for attempt in 0 1 2; do
		# httpd for a second, then the container exits 3.
		app_up app "$attempt" sh -c 'httpd -f -p 3000 -h /www & sleep 1.5; exit 3'
		# Restarted, it serves again within a second.
		wait_for 1 http_get 19114
		trace cri wait "$CTR" exited 5
		assert_status 0
		# Between attempts the port stays the pod's: nobody else can take it.
		port_listening 19114
		# The exited attempt's state goes with its task.
		wait_for 3 gone "$CTR"
	done
	[ -f "$STATEDIR/$POD/sidecar.pid" ]
	pod_down
	wait_for 2 port_free 19114
	gone "$POD"
}

@test "cri: a refused annotation fails RunPodSandbox with portside's reason; nothing is left" {
	before=$(all_sidecars | wc -l)
	pod_up reserved '"io.portside.ports": "19115:22"'
	assert_status 1
	assert_output_has "RunPodSandbox"
	assert_output_has "portside: io.portside.ports entry 1 '19115:22': port 22 (ssh) is reserved"
	port_free 19115
	# A taken host port names its holder.
	socat TCP-LISTEN:19116,reuseaddr,fork EXEC:true &
	HOLDER=$!
	wait_for 2 port_listening 19116
	pod_up taken '"io.portside.ports": "19116:3000"'
	assert_status 1
	assert_output_has "host port 19116/tcp is already in use by socat (pid $HOLDER)"
	run cri pods -q
	[ -z "$output" ]
	[ "$(all_sidecars | wc -l)" -eq "$before" ]
	for d in "$STATEDIR"/*; do
		[ -e "$d/bundle" ] || continue
		refute grep -q "$CD_DIR" "$d/bundle"
	done
	wait_for 5 cd_clean
}

@test "cri: automatic forwarding, exposeLocalhost and doctor inside a pod, as with podman" {
	pod_up auto '"io.portside.ports": "[{\"localPort\": 3000, \"externalPort\": 19117}, {\"localPort\": 3001, \"externalPort\": 19118, \"exposeLocalhost\": true}]", "io.portside.autoforward": "public"'
	assert_status 0
	# 3000 on loopback only: refused, and doctor says why; 3001 on loopback
	# with exposeLocalhost: served; 4500 opened later: forwarded on its own.
	app_up lo 0 sh -c 'httpd -f -p 127.0.0.1:3000 -h /www & httpd -f -p 127.0.0.1:3001 -h /www & sleep 1; exec httpd -f -p 4500 -h /www'
	wait_for 5 http_get 19118
	run http_get 19118
	[ "$output" = "$CD_APP_TEXT" ]
	run http_get 19117
	[ "$status" -ne 0 ]
	trace "$PORTSIDECTL" doctor portside-test/auto/lo
	assert_output_has "127.0.0.1"
	wait_for 5 http_get 19130
	run http_get 19130
	[ "$output" = "$CD_APP_TEXT" ]
	trace "$PORTSIDECTL" ls
	[[ "$output" =~ 0\.0\.0\.0:19130\ +4500/tcp\ +auto ]]
	# On the bridge, the app sees the pod's own address, not 127.0.0.1.
	ip=$(cd_json_field "$(cri inspectp "$POD")" ip)
	exec 9<>/dev/tcp/127.0.0.1/19130
	pid=$(cd_json_field "$(cri inspect "$CTR")" pid)
	wait_for 2 bash -c "nsenter -t $pid -n ss -Htn state established '( dport = :4500 )' | grep -qF '$ip:'"
	exec 9>&-
	pod_down
	wait_for 2 port_free 19130
	wait_for 2 port_free 19117
}
