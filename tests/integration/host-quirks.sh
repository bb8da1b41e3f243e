#!/bin/sh
# Work-arounds for this kind of test host, applied by the suites before they
# start containers (idempotent, and only what is needed):
#
# 1. crun refuses "cgroups in hybrid mode" while the cgroup2 "unified" mount
#    still owns a controller (hugetlb here). Mounting that controller on a v1
#    hierarchy moves it off cgroup2; crun (and podman --runtime crun) then work.
set -eu

unified=/sys/fs/cgroup/unified/cgroup.controllers
if [ -r "$unified" ]; then
	for c in $(cat "$unified"); do
		dir=/run/portside-cgroup-$c
		mountpoint -q "$dir" 2>/dev/null && continue
		mkdir -p "$dir"
		mount -t cgroup -o "$c" cgroup "$dir" ||
			echo "host-quirks: cannot move cgroup controller $c to v1; crun may refuse to run" >&2
	done
fi
