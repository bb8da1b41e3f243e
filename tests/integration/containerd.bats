#!/usr/bin/env bats
# The CRI harness itself, no portside: a private containerd driven through its
# CRI socket as a kubelet drives it (containerd.bash, tests/cri/cri.py).

load helpers
load containerd

# The runc runtime is a transparent wrapper (the hook point the portside
# tests point at portside-runc): it notes each call with the environment
# containerd passed on, and refuses, as a runtime does, a container whose
# annotation asks for it: its reason in runc's JSON log, the only place the
# shim reads a runtime's error from (its stderr is dropped).
setup_file() {
	WRAP=$BATS_FILE_TMPDIR/runc-wrap
	cat >"$WRAP" <<-EOF
		#!/bin/sh
		log="" bundle="" prev=""
		for a in "\$@"; do
			case "\$prev" in --log) log=\$a ;; --bundle) bundle=\$a ;; esac
			prev=\$a
		done
		echo "mark=\${CD_TEST_MARK:-unset} \$*" >>"$BATS_FILE_TMPDIR/wrap.log"
		if [ -n "\$bundle" ]; then
			why=\$(jq -r '.annotations as \$a | \$a["io.portside.test-refuse-" + \$a["io.kubernetes.cri.container-type"]] // empty' "\$bundle/config.json")
			if [ -n "\$why" ]; then
				echo "portside: \$why (on stderr)" >&2
				jq -cn --arg m "portside: \$why" '{level: "error", msg: \$m, time: "2026-01-01T00:00:00Z"}' >>"\$log"
				exit 1
			fi
		fi
		exec runc "\$@"
	EOF
	chmod +x "$WRAP"
	CD_RUNC_BINARY=$WRAP
	CD_POD_ANNOTATIONS="io.portside.*"
	cd_start CD_TEST_MARK=from-containerd
}

teardown_file() {
	cd_stop
}

# Each test removes its own pods and checks nothing is left; a failed one's
# are removed here, so that the next test starts with none.
teardown() {
	cri down --all >/dev/null 2>&1 || true
}

@test "containerd: a pod with annotations runs the httpd app, reachable on its IP, and goes without a trace" {
	cd_pod_config "$CD_DIR/pod.json" web 0 '"io.portside.ports": "18080:3000", "other.example/x": "y"'
	trace cri runp "$CD_DIR/pod.json"
	assert_status 0
	pod=$output
	trace cri inspectp "$pod"
	assert_status 0
	[ "$(cd_json_field "$output" state)" = SANDBOX_READY ]
	[ "$(cd_json_field "$output" '"annotations"."io.portside.ports"')" = 18080:3000 ]
	ip=$(cd_json_field "$output" ip)
	netns=$(cd_json_field "$output" netns)
	# The pod's address is on our bridge's subnet, its netns under our state.
	[[ "$ip" == 10.77.0.* ]]
	[[ "$(ip -o route get "$ip")" == *" dev $CD_BRIDGE "* ]]
	[[ "$netns" == "$CD_DIR/state/"* ]]
	# pod_annotations let the matching annotation through to the sandbox's
	# OCI spec, and only that one.
	run cri inspectp -v "$pod"
	[ "$(jq -r '.info.runtimeSpec.annotations."io.portside.ports"' <<<"$output")" = 18080:3000 ]
	[ "$(jq -r '.info.runtimeSpec.annotations."other.example/x"' <<<"$output")" = null ]

	cd_ctr_config "$CD_DIR/app.json" app 0 httpd -f -p 3000 -h /www
	trace cri create "$pod" "$CD_DIR/app.json" "$CD_DIR/pod.json"
	assert_status 0
	ctr=$output
	trace cri start "$ctr"
	assert_status 0
	trace cri inspect "$ctr"
	[ "$(cd_json_field "$output" state)" = CONTAINER_RUNNING ]
	[ "$(cd_json_field "$output" pid)" -gt 1 ]
	[ "$(cd_json_field "$output" pod_sandbox_id)" = "$pod" ]
	# The app container's spec carries the pod's annotation too.
	run cri inspect -v "$ctr"
	[ "$(jq -r '.info.runtimeSpec.annotations."io.portside.ports"' <<<"$output")" = 18080:3000 ]

	# While it runs, its shim, netns, rootfs and shm mounts, runc containers
	# and CNI result are what cd_leftovers sees (so its emptiness below counts).
	run cd_leftovers
	assert_output_has "shim "
	assert_output_has "mount $netns"
	assert_output_has "runc $ctr"
	assert_output_has "cni /var/lib/cni/results/$CD_CNI_NET-$pod-eth0"

	# From the host into the pod's netns, over the bridge.
	wait_for 5 curl -fsS --max-time 1 -o /dev/null "http://$ip:3000/"
	run curl -fsS --max-time 2 "http://$ip:3000/"
	assert_status 0
	[ "$output" = "$CD_APP_TEXT" ]

	trace cri stop "$ctr" 0
	assert_status 0
	trace cri inspect "$ctr"
	[ "$(cd_json_field "$output" state)" = CONTAINER_EXITED ]
	trace cri stopp "$pod"
	assert_status 0
	trace cri rmp "$pod"
	assert_status 0
	run cri pods -q
	[ -z "$output" ]
	run cri ps -q
	[ -z "$output" ]
	# Nothing of the pod outlives it: no shim, no mount (netns, rootfs, shm),
	# no runc container, and the netns file is gone.
	wait_for 5 cd_clean || { cd_leftovers; false; }
	[ ! -e "$netns" ]
}

@test "containerd: a crashing container exits 3, and attempt 1 in the same sandbox runs" {
	cd_pod_config "$CD_DIR/pod.json" crash 0
	trace cri runp "$CD_DIR/pod.json"
	assert_status 0
	pod=$output
	cd_ctr_config "$CD_DIR/c0.json" app 0 sh -c 'exit 3'
	trace cri create "$pod" "$CD_DIR/c0.json" "$CD_DIR/pod.json"
	assert_status 0
	c0=$output
	trace cri start "$c0"
	assert_status 0
	trace cri wait "$c0" exited 5
	assert_status 0
	trace cri inspect "$c0"
	[ "$(cd_json_field "$output" exit_code)" = 3 ]
	[ "$(cd_json_field "$output" reason)" = Error ]
	# As a kubelet restarts it: the next attempt, same name, same sandbox
	# (the exited one is still there until garbage-collected).
	cd_ctr_config "$CD_DIR/c1.json" app 1 httpd -f -p 3000 -h /www
	trace cri create "$pod" "$CD_DIR/c1.json" "$CD_DIR/pod.json"
	assert_status 0
	c1=$output
	[ "$c1" != "$c0" ]
	trace cri start "$c1"
	assert_status 0
	trace cri inspect "$c1"
	[ "$(cd_json_field "$output" state)" = CONTAINER_RUNNING ]
	[ "$(cd_json_field "$output" attempt)" = 1 ]
	run cri ps --pod "$pod"
	[ "$(grep -c " CONTAINER_EXITED app 0$" <<<"$output")" = 1 ]
	[ "$(grep -c " CONTAINER_RUNNING app 1$" <<<"$output")" = 1 ]
	trace cri stopp "$pod"
	assert_status 0
	trace cri rmp "$pod"
	assert_status 0
	wait_for 5 cd_clean || { cd_leftovers; false; }
}

@test "containerd: the BinaryName runtime runs with containerd's environment; its logged refusal is the RunPodSandbox and StartContainer error" {
	# Every runtime call so far went through the wrapper, environment intact.
	grep -q '^mark=from-containerd .* create --bundle ' "$BATS_FILE_TMPDIR/wrap.log"
	refute grep -q '^mark=unset' "$BATS_FILE_TMPDIR/wrap.log"

	cd_pod_config "$CD_DIR/pod.json" nosandbox 0 '"io.portside.test-refuse-sandbox": "no sandbox today"'
	trace cri runp "$CD_DIR/pod.json"
	assert_status 1
	assert_output_has "RunPodSandbox: UNKNOWN: "
	assert_output_has "portside: no sandbox today"
	assert_output_lacks "(on stderr)"
	# A refused sandbox leaves nothing behind.
	run cri pods -q
	[ -z "$output" ]
	wait_for 5 cd_clean || { cd_leftovers; false; }

	# An app container: CreateContainer only records it; the runtime first
	# runs at StartContainer, so the refusal is StartContainer's error.
	cd_pod_config "$CD_DIR/pod.json" noapp 0 '"io.portside.test-refuse-container": "no app today"'
	trace cri runp "$CD_DIR/pod.json"
	assert_status 0
	pod=$output
	cd_ctr_config "$CD_DIR/app.json" app 0 httpd -f -p 3000 -h /www
	trace cri create "$pod" "$CD_DIR/app.json" "$CD_DIR/pod.json"
	assert_status 0
	ctr=$output
	trace cri start "$ctr"
	assert_status 1
	assert_output_has "StartContainer: UNKNOWN: "
	assert_output_has "portside: no app today"
	trace cri inspect "$ctr"
	assert_status 0
	[ "$(cd_json_field "$output" state)" != CONTAINER_RUNNING ]
	trace cri stopp "$pod"
	assert_status 0
	trace cri rmp "$pod"
	assert_status 0
	wait_for 5 cd_clean || { cd_leftovers; false; }
}

@test "containerd: up starts a two-container pod in one call (one netns, both ports served); down removes it" {
	cd_pod_config "$CD_DIR/pod.json" two 0 '"io.portside.ports": "18080:3000, 18081:3001"'
	cd_ctr_config "$CD_DIR/a.json" a 0 httpd -f -p 3000 -h /www
	cd_ctr_config "$CD_DIR/b.json" b 0 httpd -f -p 3001 -h /www
	trace cri up "$CD_DIR/pod.json" "$CD_DIR/a.json" "$CD_DIR/b.json"
	assert_status 0
	[ "${#lines[@]}" = 3 ]
	pod=${lines[0]}
	ctrs=("${lines[@]:1}")
	run cri inspectp "$pod"
	ip=$(cd_json_field "$output" ip)
	netns=/proc/$(cd_json_field "$output" pid)/ns/net
	# Both containers run in the pod's netns (the sandbox's), as a
	# kubelet's pod does: one address, two ports.
	for c in "${ctrs[@]}"; do
		run cri inspect -v "$c"
		[ "$(cd_json_field "$output" state)" = CONTAINER_RUNNING ]
		[ "$(jq -r '.info.runtimeSpec.linux.namespaces[] | select(.type == "network") | .path' <<<"$output")" = "$netns" ]
	done
	for port in 3000 3001; do
		wait_for 5 curl -fsS --max-time 1 -o /dev/null "http://$ip:$port/"
		run curl -fsS --max-time 2 "http://$ip:$port/"
		[ "$output" = "$CD_APP_TEXT" ]
	done
	trace cri down "$pod"
	assert_status 0
	run cri pods -q
	[ -z "$output" ]
	wait_for 5 cd_clean || { cd_leftovers; false; }
}
