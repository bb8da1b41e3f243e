#!/usr/bin/env bats
# A stopped container's state names a pid and a network namespace, and its
# sidecar a pid: numbers the kernel hands out again. An unprivileged user
# who gets them back (forking until the pid comes round, making namespaces
# until the freed one's inode number does) must not be taken for the
# container (ls saying it runs, restore forwarding its host ports into the
# user's namespace, the next hook keeping its state) nor for its sidecar.
# The namespaces here are the user's own, made without privilege; root only
# steers the pid, with /proc/sys/kernel/ns_last_pid (a few attempts), and
# starts the process that gets it in the user's namespace as the user: a
# user would fork there until the pid came round.

load helpers
load containers

setup() {
	suite_setup
	need setpriv util-linux && need nsenter util-linux && need unshare util-linux && need jq jq
	ATTACKERS=()
	# Where an unprivileged user can run a program from.
	USERBIN=$(mktemp -d)
	chmod 755 "$USERBIN"
}

teardown() {
	local p
	# What a hook run by hand started (an older hook took a state without
	# a pid): its poststop, as the runtime would run it.
	if [ -n "${DIRECT_STATE:-}" ]; then
		sed 's/"creating"/"stopped"/' "$DIRECT_STATE" | timeout 10 "$PORTSIDE_HOOK" $HOOK_ARGS poststop >/dev/null 2>&1 || true
	fi
	for p in "${ATTACKERS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$USERBIN"
	suite_teardown
}

# record_field NAME: a top-level field of the container's record.
record_field() {
	jq -r ".$1" "$STATEDIR/$CT/forwards.json"
}

# ls_of ID: the lines of `portsidectl ls` about container ID (other suites'
# containers may be listed too).
ls_of() {
	"$PORTSIDECTL" ls | grep -F -- "$1"
}

# gone PID: no process holds PID any more, not even as a zombie.
gone() {
	[ ! -e "/proc/$1" ]
}

# What runs a command as uid and gid 65534, no groups, no privilege: an
# array, not a function, so that `"${NOBODY[@]}" CMD &` sets $! to CMD's pid.
NOBODY=(setpriv --reuid 65534 --regid 65534 --clear-groups)

# netns_key PID: "DEV:INO" of the process's network namespace, as the record
# writes it.
netns_key() {
	stat -L -c '%d:%i' "/proc/$1/ns/net" 2>/dev/null
}

# ns_ino PID TYPE: the inode number of the process's namespace of TYPE.
ns_ino() {
	stat -L -c %i "/proc/$1/ns/$2" 2>/dev/null
}

# unshared PID TYPE: the process has left the host's namespace of TYPE.
unshared() {
	local i
	i=$(ns_ino "$1" "$2") && [ "$i" != "$(ns_ino $$ "$2")" ]
}

# userns: a user namespace of the unprivileged user's, held by a sleeping
# process (set in FILLER).
userns() {
	"${NOBODY[@]}" unshare -r sleep 120 </dev/null >/dev/null 2>&1 &
	FILLER=$!
	disown "$FILLER" # killed in teardown; bash need not report it
	ATTACKERS+=("$FILLER")
	wait_for 2 unshared "$FILLER" user
}

# netns_with_key KEY: a network namespace the unprivileged user makes, with
# the inode number KEY names (sets HOLDER, the process in it). Namespaces
# take their numbers from one pool, the lowest free one first, as do the
# entries of each new netns's /proc/net (some 70 a netns): the user fills
# every free number below with user namespaces (one number each), and when
# one gets the number, frees it and makes the netns at once, whose own number
# is the first it takes. In a user namespace of the user's made before, so
# that making it takes no other. 300 tries, 20 s at most.
netns_with_key() {
	local deadline=$((SECONDS + 20)) want=${1#*:} maker='' got i
	HOLDER=
	for _ in $(seq 300); do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		userns || continue
		i=$(ns_ino "$FILLER" user)
		if [ "$i" -lt "$want" ]; then
			maker=${maker:-$FILLER}
			continue
		fi
		[ "$i" -eq "$want" ] || return 1 # taken, by another or by our own netns
		got=$FILLER
		if [ -z "$maker" ]; then
			userns || return 1
			maker=$FILLER
		fi
		kill -9 "$got"
		wait_for 2 gone "$got"
		sleep 0.3 # a user namespace is freed by a kernel worker, soon after
		"${NOBODY[@]}" nsenter --preserve-credentials -U -t "$maker" unshare -n sleep 120 </dev/null >/dev/null 2>&1 &
		HOLDER=$!
		disown "$HOLDER"
		ATTACKERS+=("$HOLDER")
		wait_for 2 unshared "$HOLDER" net && [ "$(netns_key "$HOLDER")" = "$1" ]
		return
	done
	return 1
}

# pid_again PID CMD...: CMD run as the next process forked after the kernel
# was told PID - 1 was the last given, so that it gets PID; five attempts
# (another process of the host may fork in between). Sets TAKER.
pid_again() {
	local want=$1 p
	shift
	TAKER=
	for _ in 1 2 3 4 5; do
		echo $((want - 1)) >/proc/sys/kernel/ns_last_pid
		"$@" </dev/null >/dev/null 2>&1 &
		p=$!
		disown "$p"
		ATTACKERS+=("$p")
		if [ "$p" = "$want" ]; then
			TAKER=$p
			return 0
		fi
		kill -9 "$p" 2>/dev/null || true
		sleep 0.1
	done
	return 1
}

@test "a stopped container's pid and netns inode, had again by another user: ls says stopped, restore refuses, the next hook removes its state" {
	runc_start victim "$(ports_ann 18760:3000)" 'exec sleep 1000'
	assert_status 0
	local victim=$CT pid key
	pid=$(record_field pid)
	key=$(record_field netns)
	[ -n "$pid" ] && [ -n "$key" ]
	[ "$(netns_key "$pid")" = "$key" ]
	# Stopped without a poststop (the sidecar killed, then the container):
	# its state stays, as after a crash.
	kill -9 "$(sidecar_pid "$CT")"
	runc kill "$CT" KILL
	wait_for 5 gone "$pid"
	# Freed once nothing holds it: the sidecar and its socket factory too.
	wait_for 5 bash -c "! pgrep -f -- '--id $CT\$' >/dev/null"
	wait_for 5 port_free 18760
	[ -d "$STATEDIR/$CT" ]

	# The user takes the namespace's inode number, then the pid, in it.
	netns_with_key "$key" || skip "the namespace's inode number $key did not come round (taken meanwhile)"
	pid_again "$pid" nsenter --net="/proc/$HOLDER/ns/net" "${NOBODY[@]}" sleep 120 || skip "pid $pid did not come round in five attempts (a busy host)"
	wait_for 2 unshared "$TAKER" net
	# What the record names is there again: the same pid in a namespace
	# with the same DEV:INO, both the user's.
	[ "$(netns_key "$pid")" = "$key" ]
	[ "$(stat -c %u "/proc/$pid")" = 65534 ]

	trace ls_of "$victim"
	assert_status 0
	assert_output_has "stopped"
	assert_output_lacks "dead"
	assert_output_lacks "running"
	trace "$PORTSIDECTL" restore "$victim"
	assert_status 1
	assert_output_has "is not running"
	# Nothing forwards into the user's namespace.
	port_free 18760
	[ -z "$(sidecar_pid "$victim")" ]
	refute pgrep -f -- "--id $victim\$"
	# The next hook's clean-up takes the state: nobody runs it any more.
	# (at most once a second: the last collection's stamp goes)
	rm -f "$RUNDIR/gc.stamp"
	runc_start bystander "$(ports_ann 18761:3000)" 'exec sleep 1000'
	assert_status 0
	[ ! -e "$STATEDIR/$victim" ]
}

@test "a dead sidecar's pid, had again by a process named like it: restore still brings the container back, poststop kills only the real sidecar" {
	www_start sc "$(ports_ann 18762:3000)" 'httpd -f -p 3000 -h /www'
	assert_status 0
	run http_get 18762
	[ "$output" = "hello from sc" ]
	local spid
	spid=$(sidecar_pid "$CT")
	[ -n "$spid" ]
	kill -9 "$spid"
	# Reaped (this VM's init reaps orphans about once a second).
	wait_for 5 gone "$spid"
	# The user's own program, named as a sidecar is, under the sidecar's pid.
	cp /bin/sleep "$USERBIN/portside-sidecar"
	pid_again "$spid" "${NOBODY[@]}" "$USERBIN/portside-sidecar" 120 ||
		skip "pid $spid did not come round in five attempts (a busy host)"
	wait_for 2 grep -q '^portside-sideca' "/proc/$spid/comm"

	trace ls_of "$CT"
	assert_output_has "dead"
	trace "$PORTSIDECTL" restore "$CT"
	assert_status 0
	assert_output_has "restored"
	run http_get 18762
	[ "$output" = "hello from sc" ]
	local new
	new=$(sidecar_pid "$CT")
	[ -n "$new" ] && [ "$new" != "$spid" ]
	# Stopped and deleted: poststop stops the real sidecar, not the user's.
	runc kill "$CT" KILL
	wait_for 5 runc_stopped "$CT"
	runc delete "$CT"
	wait_for 5 port_free 18762
	wait_for 5 gone_or_zombie "$new"
	proc_alive "$spid"
}

@test "a state without a pid is refused, a netns path or not: nothing would pin the container or tell it from a later one" {
	unshare -n sleep 60 </dev/null >/dev/null 2>&1 &
	local ns=$! dir=$TMP/nopid id=${CT_PREFIX}nopid
	disown "$ns"
	ATTACKERS+=("$ns")
	wait_for 2 unshared "$ns" net
	NETNS_PATH=/proc/$ns/ns/net make_bundle "$dir" "$(ports_ann 18763:3000)" true
	DIRECT_STATE=$dir/state.json
	printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","bundle":"%s","annotations":{"io.portside.ports":"18763:3000"}}' \
		"$id" "$dir" >"$DIRECT_STATE"
	trace timeout 5 "$PORTSIDE_HOOK" $HOOK_ARGS createRuntime <"$DIRECT_STATE"
	assert_status 1
	assert_output_has "the state names no container process (pid)"
	port_free 18763
	[ ! -e "$STATEDIR/$id" ]
	# Nor with "pid": 0, nor without the path.
	sed -i 's/"bundle"/"pid":0,"bundle"/' "$DIRECT_STATE"
	trace timeout 5 "$PORTSIDE_HOOK" $HOOK_ARGS createRuntime <"$DIRECT_STATE"
	assert_status 1
	assert_output_has "the state names no container process (pid)"
	make_bundle "$dir" "$(ports_ann 18763:3000)" true
	trace timeout 5 "$PORTSIDE_HOOK" $HOOK_ARGS createRuntime <"$DIRECT_STATE"
	assert_status 1
	assert_output_has "the state names no container process (pid)"
	port_free 18763
	[ ! -e "$STATEDIR/$id" ]
}
