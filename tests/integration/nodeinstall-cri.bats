#!/usr/bin/env bats
# portside-node on a running containerd, the way a node gets it: a private
# containerd (containerd.bash) with a plain runc runtime runs a pod; then
# portside-node install edits its config and containerd is restarted. The pod
# started before still runs (its shim outlived containerd), and a new pod's
# sandbox and app container are created through the BinaryName portside-node
# wrote, with the pod's io.portside.* annotation in their specs, and its port
# is forwarded. The wrapper the config names notes its arguments and runs the
# build's portside-runc. Hold /tmp/portside-bats.lock.

load helpers
load containers
load containerd

NODE=$BATS_TEST_DIRNAME/../../packaging/kubernetes/portside-node

setup_file() {
	load helpers
	load containerd
	cd_start
}

teardown_file() {
	cd_stop
}

teardown() {
	local id
	for id in $(cri pods -q 2>/dev/null); do
		cri stopp "$id" >/dev/null 2>&1 || true
		cri rmp "$id" >/dev/null 2>&1 || true
	done
}

# exited PID: PID is gone or a zombie (containerd is setup_file's child,
# reaped only when bats gets to it).
exited() {
	[ ! -e "/proc/$1/stat" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# cd_restart: containerd stopped and started again on its config, as a node's
# `systemctl restart containerd` does (containerd.service's KillMode=process:
# the shims, and the pods they serve, stay).
cd_restart() {
	local pid
	pid=$(cat "$CD_DIR/containerd.pid")
	kill -TERM "$pid"
	wait_for 10 exited "$pid" || { echo "containerd $pid did not stop in 10 s" >&2; return 1; }
	setsid containerd --config "$CD_DIR/config.toml" \
		</dev/null >>"$CD_DIR/containerd.log" 2>&1 3>&- &
	echo $! >"$CD_DIR/containerd.pid"
	wait_for 15 cd_cri_up || { echo "containerd's CRI is not back in 15 s" >&2; return 1; }
}

annotation() {
	jq -r '.info.runtimeSpec.annotations."io.portside.ports"' <<<"$1"
}

@test "portside-node install on a running containerd: an older pod keeps running, new pods run through the wrapper with their annotations" {
	W=$CD_DIR/wrap/portside-runc
	mkdir -p "$CD_DIR/wrap"
	cat >"$W" <<-EOF
		#!/bin/sh
		echo "\$*" >>$CD_DIR/wrap/calls
		exec $PORTSIDE_BUILD/portside-runc "\$@"
	EOF
	chmod 0755 "$W"

	cd_pod_config "$CD_DIR/before.json" before 0 '"io.portside.ports": "19140:3000"'
	trace cri runp "$CD_DIR/before.json"
	assert_status 0
	before=$output
	# The runtime as cd_start wrote it lets no annotation through: the check
	# below could fail.
	run cri inspectp -v "$before"
	[ "$(annotation "$output")" = null ]

	cp "$CD_DIR/config.toml" "$CD_DIR/config.before"
	trace "$NODE" install --config "$CD_DIR/config.toml" --wrapper "$W" --no-restart
	assert_status 0
	cd_restart

	trace cri inspectp "$before"
	assert_status 0
	[ "$(cd_json_field "$output" state)" = SANDBOX_READY ]

	cd_pod_config "$CD_DIR/after.json" after 0 '"io.portside.ports": "19141:3000"'
	trace cri runp "$CD_DIR/after.json"
	assert_status 0
	after=$output
	run cri inspectp -v "$after"
	[ "$(annotation "$output")" = 19141:3000 ]
	cd_ctr_config "$CD_DIR/app.json" app 0 httpd -f -p 3000 -h /www
	trace cri create "$after" "$CD_DIR/app.json" "$CD_DIR/after.json"
	assert_status 0
	ctr=$output
	trace cri start "$ctr"
	assert_status 0
	run cri inspect -v "$ctr"
	[ "$(annotation "$output")" = 19141:3000 ]
	trace cri inspect "$ctr"
	[ "$(cd_json_field "$output" state)" = CONTAINER_RUNNING ]
	# And the whole way: the pod's port is forwarded through the hook the
	# wrapper added.
	wait_for 5 http_get 19141
	run http_get 19141
	[ "$output" = "$CD_APP_TEXT" ]
	# The wrapper created the sandbox (pause) container and the app's, and
	# never the pod from before.
	grep -E "(^| )create( .*)? $after\$" "$CD_DIR/wrap/calls"
	grep -E "(^| )create( .*)? $ctr\$" "$CD_DIR/wrap/calls"
	refute grep -q "$before" "$CD_DIR/wrap/calls"

	# Uninstalled and restarted: the config is cd_start's again, and a pod
	# runs without the wrapper.
	trace "$NODE" uninstall --config "$CD_DIR/config.toml" --no-restart
	assert_status 0
	cmp "$CD_DIR/config.toml" "$CD_DIR/config.before"
	cd_restart
	cp "$CD_DIR/wrap/calls" "$CD_DIR/calls.installed"
	cd_pod_config "$CD_DIR/last.json" last 0 '"io.portside.ports": "19142:3000"'
	trace cri runp "$CD_DIR/last.json"
	assert_status 0
	run cri inspectp -v "$output"
	[ "$(annotation "$output")" = null ]
	cmp "$CD_DIR/wrap/calls" "$CD_DIR/calls.installed"
}
