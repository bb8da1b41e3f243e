#!/usr/bin/env bats
# Each sidecar runs as a uid of its own, leased from the range the build
# reserves (lib/uids.h), never nobody: a container's processes running as
# nobody without a user namespace share nothing with it (per-user quotas,
# signals, limits).

load helpers
load containers

setup() {
	suite_setup
	UIDS=$RUNDIR/uids
	# The range this build reserves (the Makefile's SIDECAR_UID_BASE/COUNT).
	UID_BASE=$(sed -n 's/^#define PORTSIDE_SIDECAR_UID_BASE \([0-9]*\)u$/\1/p' "$PORTSIDE_BUILD/gen/paths.h")
	UID_COUNT=$(sed -n 's/^#define PORTSIDE_SIDECAR_UID_COUNT \([0-9]*\)u$/\1/p' "$PORTSIDE_BUILD/gen/paths.h")
	FAULTS=$PORTSIDE_BUILD/tests/faults
}

teardown() {
	[ -n "${STALE:-}" ] && rm -f "$UIDS/$STALE"
	suite_teardown
}

web() { www_start "$1" "$2" "httpd -f -p 3000 -h /www"; }

# in_range UID: UID is one of the build's reserved range.
in_range() {
	[ -n "$UID_BASE" ] && [ -n "$UID_COUNT" ] && [ "$1" -ge "$UID_BASE" ] && [ "$1" -lt $((UID_BASE + UID_COUNT)) ]
}

# as_nobody CMD...: CMD as uid and gid 65534, no groups, as a container's
# process without a user namespace is on the host.
as_nobody() {
	setpriv --reuid 65534 --regid 65534 --clear-groups "$@"
}

# no_lease_of ID: no lease in $UIDS names ID.
no_lease_of() {
	refute grep -qx -- "$1" "$UIDS"/* 2>/dev/null
}

@test "two containers' sidecars run as two uids of the reserved range, not nobody, each leased to its container" {
	web one "$(ports_ann 18861:3000)"
	assert_status 0
	ct1=$CT
	web two "$(ports_ann 18862:3000)"
	assert_status 0
	ct2=$CT
	pid1=$(sidecar_pid "$ct1")
	pid2=$(sidecar_pid "$ct2")
	uid1=$(sidecar_uid "$pid1")
	uid2=$(sidecar_uid "$pid2")
	echo "# sidecar uids $uid1 $uid2" >&3
	[ "$uid1" != "$uid2" ]
	[ "$uid1" != 65534 ]
	[ "$uid2" != 65534 ]
	in_range "$uid1"
	in_range "$uid2"
	assert_confined "$pid1"
	assert_confined "$pid2"
	# Its socket factory, a thread, drops to the same uid, not to nobody.
	tid=$(factory_tid "$pid1")
	[ "$(sidecar_uid "$pid1/task/$tid")" = "$uid1" ]
	# The lease: root's, 0600, naming the container.
	[ "$(cat "$UIDS/$uid1")" = "$ct1" ]
	[ "$(cat "$UIDS/$uid2")" = "$ct2" ]
	[ "$(stat -c '%u %a' "$UIDS/$uid1")" = "0 600" ]
	[ "$(stat -c '%u %a' "$UIDS")" = "0 700" ]
	# A process of nobody on the host can neither signal the sidecar nor
	# read or change its limits (prlimit), as it could when they shared it.
	refute as_nobody kill -0 "$pid1"
	refute as_nobody prlimit --pid "$pid1" --nofile
	run http_get 18861
	[ "$output" = "hello from one" ]
}

@test "a container process as nobody taking the whole per-user pipe quota does not shrink the sidecar's pipes" {
	mkdir -p "$TMP/eater/www"
	head -c $((32 * 1024 * 1024)) /dev/urandom >"$TMP/eater/www/blob"
	want=$(sha256sum <"$TMP/eater/www/blob" | cut -d' ' -f1)
	# The container's processes run as 65534 on the host (no user namespace).
	CT_UID=65534 www_start eater "$(ports_ann 18863:3000)" "httpd -f -p 3000 -h /www & faults pipe-eater 60"
	assert_status 0
	wait_for 10 grep -q "a new pipe gets" "$BUNDLE/runtime.out"
	cat "$BUNDLE/runtime.out" | sed 's/^/# /' >&3
	# The quota is gone for nobody: a new pipe of that user gets two pages.
	eaten=$(sed -n 's/.*a new pipe gets \([0-9]*\) bytes.*/\1/p' "$BUNDLE/runtime.out")
	[ "$eaten" -lt 65536 ]
	got=$(curl -fsS --max-time 30 "http://127.0.0.1:18863/blob" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ]
	# What the sidecar's pipes hold: the ones it made for the transfer (kept
	# for reuse) are of its own quota, full size or grown past it.
	pid=$(sidecar_pid "$CT")
	pipes=()
	for fd in /proc/$pid/fd/*; do
		[[ "$(readlink "$fd")" == pipe:* ]] && pipes+=("$fd")
	done
	[ "${#pipes[@]}" -gt 0 ]
	sizes=$("$FAULTS" pipesz "${pipes[@]}" | sort -n | tr '\n' ' ')
	echo "# the sidecar's pipes: $sizes bytes" >&3
	min=$(tr ' ' '\n' <<<"$sizes" | grep . | head -1)
	max=$(tr ' ' '\n' <<<"$sizes" | grep . | tail -1)
	[ "$min" -ge 65536 ]
	[ "$max" -ge $((256 * 1024)) ]
}

@test "a uid goes back when its container stops; one left by a container gone without poststop is swept at the next start" {
	web first "$(ports_ann 18864:3000)"
	assert_status 0
	uid=$(sidecar_uid "$(sidecar_pid "$CT")")
	[ "$(cat "$UIDS/$uid")" = "$CT" ]
	runc kill "$CT" KILL
	wait_for 5 runc_stopped "$CT"
	runc delete "$CT"
	wait_for 3 no_lease_of "$CT"
	[ ! -e "$UIDS/$uid" ]

	# A lease whose sidecar is gone and no process has its uid: a container
	# that died without poststop. The next start takes it back.
	STALE=$((UID_BASE + UID_COUNT - 1))
	printf 'pstest-gone' >"$UIDS/$STALE"
	# (at most once a second: the last collection's stamp goes)
	rm -f "$RUNDIR/gc.stamp"
	web second "$(ports_ann 18864:3000)"
	assert_status 0
	[ ! -e "$UIDS/$STALE" ]
	[ "$(cat "$UIDS/$(sidecar_uid "$(sidecar_pid "$CT")")")" = "$CT" ]
}

@test "a restored sidecar runs as a uid of the range again, leased to its container; stopping it gives it back" {
	web again "$(ports_ann 18865:3000)"
	assert_status 0
	pid=$(sidecar_pid "$CT")
	kill -KILL "$pid"
	wait_for 3 gone_or_zombie "$pid"
	trace "$PORTSIDECTL" restore "$CT"
	assert_status 0
	pid=$(sidecar_pid "$CT")
	uid=$(sidecar_uid "$pid")
	in_range "$uid"
	assert_confined "$pid"
	[ "$(cat "$UIDS/$uid")" = "$CT" ]
	# One lease for the container, not one more for each sidecar it had.
	[ "$(grep -lx -- "$CT" "$UIDS"/* | wc -l)" = 1 ]
	run http_get 18865
	[ "$output" = "hello from again" ]
	runc kill "$CT" KILL
	wait_for 5 runc_stopped "$CT"
	runc delete "$CT"
	wait_for 3 no_lease_of "$CT"
}

@test "a container whose process.user.uid is a uid of the range is refused, nothing left: it would share a sidecar's uid" {
	# Without a user namespace the container's ids are host ids; at the
	# hook's time its init is still root, so no scan could see it coming.
	CT_UID=$UID_BASE web squatter "$(ports_ann 18866:3000)"
	[ "$status" -ne 0 ]
	assert_output_has "portside: config: process.user.uid $UID_BASE is in the sidecars' uid range $UID_BASE-$((UID_BASE + UID_COUNT - 1))"
	[ "$(grep -c "portside: config: process.user" <<<"$output")" = 1 ]
	[ ! -e "$STATEDIR/$CT" ]
	port_free 18866
	no_lease_of "$CT"
	for p in $(all_sidecars); do
		[ "$(tr '\0' ' ' <"/proc/$p/cmdline")" != "portside-sidecar --id $CT "* ]
	done
	runc delete -f "$CT" 2>/dev/null || true
}
