#!/usr/bin/env bats
# Where the sidecar's CPU, memory and tasks are charged (table/cgroup.c): a
# cgroup of its own, portside/ID, limited, in the cpu, memory and pids
# hierarchies: neither the runtime's (no limit) nor the container's (its OOM
# killer and pids limit are the author's).

load helpers
load containers

CG=/sys/fs/cgroup

setup() {
	suite_setup
}

teardown() {
	suite_teardown
}

# need_v1: these machines mount cgroup v1 (cpu, memory, pids) with a unified
# mount beside it; a host that does not is one this suite does not know, and
# fails loudly rather than passing without a check.
need_v1() {
	[ -d "$CG/memory" ] && [ -d "$CG/pids" ] && [ -d "$CG/cpu" ] && return 0
	echo "cgroup.bats checks the sidecar's cgroup on a cgroup v1 host (cpu, memory, pids under $CG); this host has none" >&2
	return 1
}

# cg_of PID CONTROLLER: PID's cgroup in the v1 hierarchy of CONTROLLER.
cg_of() {
	grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup" | cut -d: -f3
}

@test "the sidecar, its socket factory and its listener factory run in portside/ID, limited, not in the container's cgroup" {
	need_v1
	www_start cg "$(ports_ann '18170:3000')" 'httpd -f -p 3000 -h /www & exec sleep 1000'
	assert_status 0
	pid=$(sidecar_pid "$CT")
	lf=$(listen_factory_pid "$pid")
	[ -n "$lf" ]
	tid=$(factory_tid "$pid")
	[ -n "$tid" ]
	init=$(runc state "$CT" | grep -o '"pid": *[0-9]*' | grep -o '[0-9]*$')
	for c in cpu memory pids; do
		trace cg_of "$pid" $c
		[ "$output" = "/portside/$CT" ]
		[ "$(cg_of "$lf" $c)" = "/portside/$CT" ]
		[ "$(cg_of "$pid/task/$tid" $c)" = "/portside/$CT" ]
		[ "$(cg_of "$init" $c)" != "/portside/$CT" ]
	done
	[ "$(cat "$CG/memory/portside/$CT/memory.limit_in_bytes")" = $((512 << 20)) ]
	[ "$(cat "$CG/pids/portside/$CT/pids.max")" = 16 ]
	[ "$(cat "$CG/cpu/portside/$CT/cpu.cfs_quota_us")" = 100000 ]
	# It still forwards from there.
	run http_get 18170
	[ "$output" = "hello from cg" ]
	# poststop removes it with the sidecar.
	old=$CT
	cleanup_containers
	for c in cpu memory pids; do
		refute test -d "$CG/$c/portside/$old"
	done
}

@test "an empty cgroup a killed sidecar left is removed by the next start" {
	need_v1
	mkdir -p "$CG/memory/portside"
	stale=$CG/memory/portside/${CT_PREFIX}stale
	mkdir -p "$stale"
	# (at most once a second: the last collection's stamp goes)
	rm -f "$RUNDIR/gc.stamp"
	www_start cg3 "$(ports_ann '18172:3000')" 'httpd -f -p 3000 -h /www & exec sleep 1000'
	assert_status 0
	refute test -d "$stale"
	[ "$(cg_of "$(sidecar_pid "$CT")" memory)" = "/portside/$CT" ]
}
