#!/usr/bin/env bats
# The forwarding assertions against crun, with the hook in config.json.

load helpers
load containers
load forwarding

setup() {
	need crun crun
	# crun refuses cgroups in hybrid mode on these hosts: the quirk script
	# moves the controller cgroup2 still owns.
	"$BATS_TEST_DIRNAME/host-quirks.sh"
	suite_setup
}

teardown() {
	suite_teardown
}

@test "crun: a page goes through the forwarded port" { fwd_serves crun 18300; }
@test "crun: reserved ports and malformed values fail the start" { fwd_refuses crun 18301; }
@test "crun: a taken host port names its holder" { fwd_refuses_taken crun 18302 18303; }
@test "crun: exposeLocalhost" { fwd_localhost crun 18304 18305; }
@test "crun: the sidecar dies with the container" { fwd_dies_with_container crun 18306; }
@test "crun: crun delete --force cleans up" { fwd_remove_cleans crun 18307; }
@test "crun: the sidecar is confined" { fwd_confined crun 18308; }
