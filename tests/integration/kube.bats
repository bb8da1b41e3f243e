#!/usr/bin/env bats
# Kubernetes pod annotations, through `podman kube play` of a Pod manifest.

load helpers
load containers

setup() {
	need_root_tools
	TMP=$(mktemp -d)
	echo '{}' >"$TMP/policy.json"
	podman_setup
}

teardown() {
	[ -f "$TMP/pod.yaml" ] && P kube down "$TMP/pod.yaml" >/dev/null 2>&1
	cleanup_containers
	rm -rf "$TMP" "$HOOKS_DIR"
}

pod_container_ids() {
	podman ps -q --no-trunc --filter "pod=$1" --filter "label=io.kubernetes.pod.name=$1" 2>/dev/null
	podman ps -q --no-trunc --filter "pod=$1" 2>/dev/null
}

@test "kube play: the pod's annotation forwards both containers' ports through one sidecar" {
	pod_yaml "${CT_PREFIX}pod" "18500:3000, 18501:3001"
	before=$(all_sidecars | wc -l)
	trace P kube play "$TMP/pod.yaml"
	assert_status 0
	wait_for 5 bash -c "curl -fsS --max-time 2 http://127.0.0.1:18500/ >/dev/null"
	run http_get 18500
	[ "$output" = "hello from the pod" ]
	run http_get 18501
	[ "$output" = "hello from the pod" ]
	# Two app containers share the netns: one sidecar serves it, the other
	# container is recorded as served by it.
	[ "$(all_sidecars | wc -l)" -eq $((before + 1)) ]
	owners=0 members=0
	for id in $(podman ps -q --no-trunc --filter "pod=${CT_PREFIX}pod"); do
		[ -f "$STATEDIR/$id/sidecar.pid" ] && owners=$((owners + 1))
		[ -f "$STATEDIR/$id/owner" ] && members=$((members + 1))
	done
	[ "$owners" -eq 1 ]
	[ "$members" -eq 1 ]
}

@test "kube down frees every port, sidecar and state" {
	pod_yaml "${CT_PREFIX}down" "18502:3000"
	before=$(all_sidecars | wc -l)
	trace P kube play "$TMP/pod.yaml"
	assert_status 0
	ids=$(podman ps -q --no-trunc --filter "pod=${CT_PREFIX}down")
	wait_for 5 port_listening 18502
	trace P kube down "$TMP/pod.yaml"
	assert_status 0
	wait_for 2 port_free 18502
	wait_for 2 bash -c "[ \$(pgrep -x portside-sideca | while read -r p; do grep -q '^State:.*Z' /proc/\$p/status 2>/dev/null || echo \$p; done | wc -l) -eq $before ]"
	for id in $ids; do
		[ ! -e "$STATEDIR/$id" ]
	done
}

@test "kube play: a reserved port in the pod's annotation fails the pod with the reason" {
	pod_yaml "${CT_PREFIX}bad" "18503:22"
	trace P kube play "$TMP/pod.yaml"
	[ "$status" -ne 0 ] || ! P pod ps --filter "name=${CT_PREFIX}bad" --format '{{.Status}}' | grep -q Running
	assert_output_has "port 22 (ssh) is reserved"
	port_free 18503
}

@test "kube play: the pod is found by default/POD/CONTAINER from podman's own record, never by a runc container's annotations" {
	local pod=${CT_PREFIX}kn
	# First a squatter: a plain runc container whose config.json claims the
	# pod's name, with an app on the same container port.
	make_rootfs
	HOOK_ARGS="--policy $TMP/policy.json"
	www_start squat "$(ports_ann '18505:3000'), \"io.kubernetes.pod.namespace\": \"default\", \"io.kubernetes.pod.name\": \"$pod\", \"io.kubernetes.container.name\": \"web\"" \
		'httpd -f -p 3000 -h /www'
	assert_status 0
	wait_for 5 port_listening 18505
	# Before the pod starts, the name is nobody's: wait does not return
	# for the squatter.
	trace "$PORTSIDECTL" wait "default/$pod/web" 3000 --timeout 1
	assert_status 1
	assert_output_has "gave up after 1 s: no such container"
	pod_yaml "$pod" "18504:3000, 18506:3001"
	trace P kube play "$TMP/pod.yaml"
	assert_status 0
	trace "$PORTSIDECTL" wait "default/$pod/web" 3000 --timeout 10
	assert_status 0
	trace "$PORTSIDECTL" url "default/$pod/web" 3000
	assert_status 0
	[ "$output" = "http://127.0.0.1:18504/" ]
	run curl -fsS --max-time 3 "$output"
	[ "$output" = "hello from the pod" ]
	# POD/CONTAINER too, and the pod's second container (served by the
	# first one's sidecar) by its own name.
	trace "$PORTSIDECTL" url "$pod/api" 3001
	assert_status 0
	[ "$output" = "http://127.0.0.1:18506/" ]
	trace "$PORTSIDECTL" doctor "$pod/web"
	assert_status 0
	assert_output_has "0.0.0.0:18504 -> 3000/tcp"
}
