#!/usr/bin/env bats
# The hook and the TCP sidecar, end to end under runc, with real containers.

load helpers
load containers

setup() {
	need_root_tools
	TMP=$(mktemp -d)
	make_rootfs
	# No host policy may change what these tests see.
	echo '{}' >"$TMP/policy.json"
	HOOK_ARGS="--policy $TMP/policy.json"
}

teardown() {
	suite_teardown
}

# web NAME ANNOTATIONS [HTTPD_ADDR]: an httpd on port 3000 (or ADDR) in a
# container, serving $TMP/NAME/www.
web() { www_start "$1" "$2" "httpd -f -p ${3:-3000} -h /www"; }

@test "a page goes through the forwarded port" {
	web page "$(ports_ann 18080:3000)"
	assert_status 0
	run http_get 18080
	assert_status 0
	[ "$output" = "hello from page" ]
	# IPv6 too: the default binds 0.0.0.0 and ::.
	run curl -fsS --max-time 5 "http://[::1]:18080/"
	assert_status 0
	[ "$output" = "hello from page" ]
}

@test "a container without a portside annotation is left alone" {
	before=$(all_sidecars | wc -l)
	runc_start plain '"org.example": "x"' "sleep 60"
	assert_status 0
	[ ! -e "$STATEDIR/$CT" ]
	[ "$(all_sidecars | wc -l)" -eq "$before" ]
}

@test "1000 sequential and 100 concurrent connections are served" {
	web load "$(ports_ann 18081:3000)"
	assert_status 0
	wait_for 5 http_get 18081 # httpd listens a moment after the start
	run curl -s -o /dev/null -w '%{http_code}\n' -H 'Connection: close' --max-time 120 "http://127.0.0.1:18081/index.html?[1-1000]"
	[ "$(grep -c '^200$' <<<"$output")" -eq 1000 ] || { sort <<<"$output" | uniq -c; tail -5 "$STATEDIR/$CT/sidecar.log"; false; }
	run curl -s -o /dev/null -w '%{http_code}\n' -H 'Connection: close' --parallel --parallel-immediate --parallel-max 100 --max-time 60 "http://127.0.0.1:18081/index.html?[1-100]"
	[ "$(grep -c '^200$' <<<"$output")" -eq 100 ]
	# Every one of them closed again.
	wait_for 5 bash -c "[ \$(ss -Htn state established '( sport = :18081 or dport = :18081 )' | wc -l) -eq 0 ]"
}

@test "a 100 MB transfer arrives intact" {
	mkdir -p "$TMP/big/www"
	head -c $((100 * 1024 * 1024)) /dev/urandom >"$TMP/big/www/blob"
	want=$(sha256sum <"$TMP/big/www/blob" | cut -d' ' -f1)
	runc_start big "$(ports_ann 18082:3000)" "httpd -f -p 3000 -h /www"
	assert_status 0
	got=$(curl -fsS --max-time 60 "http://127.0.0.1:18082/blob" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ]
}

@test "half-close: the client's EOF reaches the app, the reply still comes back" {
	head -c 1000000 /dev/urandom >"$TMP/payload"
	runc_start echo "$(ports_ann 18083:4000)" "nc -ll -p 4000 -e cat"
	assert_status 0
	wait_for 5 bash -c "echo | socat -t 2 - TCP:127.0.0.1:18083 >/dev/null"
	# socat shuts its write side down at the end of the file and reads on;
	# cat in the container sees EOF only if the shutdown was forwarded, and
	# only then exits and closes.
	timeout 20 socat -t 15 - TCP:127.0.0.1:18083 <"$TMP/payload" >"$TMP/echoed"
	cmp "$TMP/payload" "$TMP/echoed"
}

@test "a killed container takes its sidecar with it, and its port is free within 1 s" {
	web killed "$(ports_ann 18084:3000)"
	assert_status 0
	pid=$(sidecar_pid "$CT")
	[ -n "$pid" ]
	port_listening 18084
	runc kill "$CT" KILL
	wait_for 1 bash -c "! [ -r /proc/$pid/status ] || grep -q '^State:.*Z' /proc/$pid/status"
	wait_for 1 port_free 18084
	# The port is immediately usable by someone else.
	timeout 5 socat TCP-LISTEN:18084,reuseaddr EXEC:true &
	wait_for 2 port_listening 18084
	kill %1 2>/dev/null || true
}

@test "runc delete runs poststop, which removes the state; a second poststop is harmless" {
	web deleted "$(ports_ann 18085:3000)"
	assert_status 0
	[ -d "$STATEDIR/$CT" ]
	runc kill "$CT" KILL
	wait_for 5 runc_stopped "$CT"
	trace runc delete "$CT"
	assert_status 0
	[ ! -e "$STATEDIR/$CT" ]
	refute grep -rqx "$CT" "$RUNDIR/netns"
	# poststop again (a runtime retrying): exit 0, nothing to do.
	trace "$PORTSIDE_HOOK" poststop <<<"{\"ociVersion\":\"1.0.2\",\"id\":\"$CT\",\"status\":\"stopped\",\"bundle\":\"$BUNDLE\"}"
	assert_status 0
}

@test "poststop stops a live sidecar (runc delete --force)" {
	web forced "$(ports_ann 18086:3000)"
	assert_status 0
	pid=$(sidecar_pid "$CT")
	trace runc delete --force "$CT"
	assert_status 0
	[ ! -e "$STATEDIR/$CT" ]
	wait_for 1 bash -c "! [ -r /proc/$pid/status ] || grep -q '^State:.*Z' /proc/$pid/status"
	port_free 18086
}

@test "50 start/stop cycles leak no process, fd, port or state" {
	fds_before=$(ls /proc/self/fd | wc -l)
	sidecars_before=$(all_sidecars | wc -l)
	for i in $(seq 1 50); do
		runc_start cycle "$(ports_ann 18087:3000)" "httpd -f -p 3000 -h /www"
		assert_status 0
		port_listening 18087
		runc delete --force "$CT"
		[ ! -e "$STATEDIR/$CT" ] || { echo "state left after cycle $i"; false; }
	done
	wait_for 2 port_free 18087
	# Exiting takes a moment longer under the sanitizers: wait, bounded.
	wait_for 3 bash -c "[ \$(pgrep -x portside-sideca | while read -r p; do grep -q '^State:.*Z' /proc/\$p/status 2>/dev/null || echo \$p; done | wc -l) -eq $sidecars_before ]"
	[ "$(ls /proc/self/fd | wc -l)" -eq "$fds_before" ]
	[ -z "$(ls "$RUNDIR/netns")" ] || ! grep -rq "^$CT_PREFIX" "$RUNDIR/netns"
}

@test "reserved ports: runc run fails with the reason, nothing is left behind" {
	for v in 22:3000 80:8283 '[{"localPort":22,"externalPort":18088}]'; do
		runc_start reserved "$(ports_ann "$v")" "sleep 60"
		[ "$status" -ne 0 ]
		assert_output_has "is reserved"
		assert_output_has "can never be forwarded"
		[ ! -e "$STATEDIR/$CT" ]
		runc delete -f "$CT" 2>/dev/null || true
	done
	port_free 18088
}

@test "a missing or non-executable sidecar refuses the start, naming its path; doctor shows it" {
	HOOK_ARGS="--policy $TMP/policy.json --sidecar $TMP/gone/portside-sidecar"
	runc_start nosidecar "$(ports_ann 18810:3000)" "sleep 60"
	[ "$status" -ne 0 ]
	assert_output_has "portside: sidecar $TMP/gone/portside-sidecar: not found (reinstall portside, or pass --sidecar PATH in the hooks.d file)"
	[ ! -e "$STATEDIR/$CT" ]
	port_free 18810
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "sidecar $TMP/gone/portside-sidecar: not found"
	runc delete -f "$CT" 2>/dev/null || true

	cp "$PORTSIDE_BUILD/portside-sidecar" "$TMP/portside-sidecar"
	chmod 0644 "$TMP/portside-sidecar"
	HOOK_ARGS="--policy $TMP/policy.json --sidecar $TMP/portside-sidecar"
	runc_start noexec "$(ports_ann 18810:3000)" "sleep 60"
	[ "$status" -ne 0 ]
	assert_output_has "portside: sidecar $TMP/portside-sidecar: not executable (mode 0644;"
	[ ! -e "$STATEDIR/$CT" ]
	port_free 18810
	runc delete -f "$CT" 2>/dev/null || true

	# The same file, executable: served.
	chmod 0755 "$TMP/portside-sidecar"
	web withsidecar "$(ports_ann 18810:3000)"
	assert_status 0
	run http_get 18810
	[ "$output" = "hello from withsidecar" ]
	[ "$(readlink "/proc/$(sidecar_pid "$CT")/exe")" = "$TMP/portside-sidecar" ]
}

@test "a malformed annotation fails the start with a one-line reason" {
	runc_start malformed "$(ports_ann '80:3000x')" "sleep 60"
	[ "$status" -ne 0 ]
	assert_output_has "portside: io.portside.ports entry 1 '80:3000x': local port '3000x' is not a port number"
	runc_start typo '"io.portside.port": "18089:3000"' "sleep 60"
	[ "$status" -ne 0 ]
	assert_output_has 'unknown annotation io.portside.port'
	port_free 18089
}

@test "a taken host port names its holder; other forwarded containers are unaffected" {
	web other "$(ports_ann 18090:3000)"
	assert_status 0
	socat TCP-LISTEN:18091,reuseaddr,fork EXEC:true &
	holder=$!
	wait_for 2 port_listening 18091
	runc_start taken "$(ports_ann '18092:3000, 18091:3001')" "httpd -f -p 3000 -h /www"
	kill "$holder"
	[ "$status" -ne 0 ]
	assert_output_has "host port 18091/tcp is already in use by socat (pid $holder)"
	[ ! -e "$STATEDIR/$CT" ]
	# All or nothing: the port that could be bound was released too.
	port_free 18092
	run http_get 18090
	[ "$output" = "hello from other" ]
}

@test "exposeLocalhost: an app on 127.0.0.1 is refused when off, served when on" {
	web lo-off "$(ports_ann '[{"localPort":3000,"externalPort":18093}]')" 127.0.0.1:3000
	assert_status 0
	run http_get 18093
	[ "$status" -ne 0 ]
	wait_for 2 grep -q "the app listens on 127.0.0.1:3000 only (localhost): bind it to 0.0.0.0 or set exposeLocalhost" "$STATEDIR/$CT/sidecar.log"

	web lo-on "$(ports_ann '[{"localPort":3000,"externalPort":18094,"exposeLocalhost":true}]')" 127.0.0.1:3000
	assert_status 0
	run http_get 18094
	assert_status 0
	[ "$output" = "hello from lo-on" ]
}

@test "exposeLocalhost off: an app on 0.0.0.0 is served; nothing listening is refused with a reason" {
	web any "$(ports_ann '[{"localPort":3000,"externalPort":18095}, {"localPort":3001,"externalPort":18096}]')"
	assert_status 0
	run http_get 18095
	assert_status 0
	[ "$output" = "hello from any" ]
	run http_get 18096
	[ "$status" -ne 0 ]
	wait_for 2 grep -q "nothing listens on port 3001 in the container" "$STATEDIR/$CT/sidecar.log"
}

@test "the sidecar is confined: no new privs, seccomp, no capabilities, a uid of its own, no stray fds" {
	web confined "$(ports_ann 18097:3000)"
	assert_status 0
	pid=$(sidecar_pid "$CT")
	assert_confined "$pid"
	# Its own session (setsid in the hook's child, then a second fork): not
	# the session of whoever ran runc.
	sid=$(ps -o sid= -p "$pid" | tr -d ' ')
	[ -n "$sid" ] && [ "$sid" != "$(ps -o sid= -p $$ | tr -d ' ')" ]
	[ "$(ps -o ppid= -p "$pid" | tr -d ' ')" != "$(pgrep -x runc | head -1)" ]
	# Descriptors: /dev/null, its log and events files, sockets, pipes and
	# its own anonymous inodes; nothing inherited from runc (no fifo, no
	# config, no tty).
	for fd in /proc/$pid/fd/*; do
		l=$(readlink "$fd")
		case "$l" in
		/dev/null | "$STATEDIR/$CT/sidecar.log" | "$STATEDIR/$CT/sidecar.log.1" | "$STATEDIR/$CT/events" | \
			"$STATEDIR/$CT/events.1" | socket:* | pipe:* | anon_inode:*) ;;
		*) echo "unexpected fd $fd -> $l"; false ;;
		esac
	done
	[ "$(readlink /proc/$pid/fd/0)" = /dev/null ]
	[ "$(readlink /proc/$pid/fd/1)" = /dev/null ]
	# Its socket factory, a thread and the only part inside the container's
	# netns: confined the same way, on its own (a thread's credentials,
	# capabilities and filter are its own); no process of its own.
	tid=$(factory_tid "$pid")
	[ -n "$tid" ]
	[ "$tid" != "$pid" ]
	assert_confined "$pid/task/$tid" 0000000000000000
	[ "$(readlink /proc/$pid/task/$tid/ns/net)" = "$(readlink /proc/$(netns_pid "$CT")/ns/net)" ]
	[ "$(readlink /proc/$pid/ns/net)" = "$(readlink /proc/self/ns/net)" ]
	refute pgrep -P "$pid" -x portside-netns
	# The control socket is the owner's alone.
	[ "$(stat -c %a "$STATEDIR/$CT/control.sock")" = 600 ]
	[ "$(stat -c %a "$STATEDIR/$CT")" = 700 ]
}

@test "one sidecar per network namespace: a re-run hook and a second container add none" {
	web first "$(ports_ann 18098:3000)"
	assert_status 0
	first=$CT
	pid=$(sidecar_pid "$first")
	ctpid=$(runc state "$first" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
	# The runtime re-runs createRuntime (a restart): idempotent.
	trace "$PORTSIDE_HOOK" $HOOK_ARGS createRuntime <<<"{\"ociVersion\":\"1.0.2\",\"id\":\"$first\",\"status\":\"creating\",\"pid\":$ctpid,\"bundle\":\"$BUNDLE\"}"
	assert_status 0
	[ "$(all_sidecars | grep -c .)" -ge 1 ]
	[ "$(sidecar_pid "$first")" = "$pid" ]
	# A second container joins the first one's netns, as in a pod.
	NETNS_PATH=/proc/$ctpid/ns/net web second "$(ports_ann 18099:3001)"
	assert_status 0
	[ "$(cat "$STATEDIR/$CT/owner")" = "$first" ]
	[ ! -e "$STATEDIR/$CT/sidecar.pid" ]
	[ "$(pgrep -x portside-sideca | while read -r p; do grep -l "$first" /proc/$p/cmdline 2>/dev/null; done | wc -l)" -eq 1 ]
	run http_get 18098
	[ "$output" = "hello from first" ]
}

@test "portsidectl logs prints the sidecar's log" {
	web logs "$(ports_ann 18100:3000)"
	assert_status 0
	trace "$PORTSIDECTL" logs "$CT"
	assert_status 0
	assert_output_has "serving 2 listeners"
	assert_output_has "${CT:0:12} "
	trace "$PORTSIDECTL" logs no-such-container
	assert_status 1
	assert_output_has "no-such-container"
}

@test "a container that fails after createRuntime leaves nothing once the next hook runs" {
	# Starts, then its init exits at once.
	runc_start broken "$(ports_ann 18101:3000)" "exec /nonexistent"
	# Its init is gone, so is its sidecar, so its port is free.
	wait_for 2 port_free 18101
	# State whose sidecar died without a poststop (a crash, a runtime that
	# never calls it): the next hook run removes it.
	mkdir -p "$STATEDIR/${CT_PREFIX}stale"
	echo 999999 >"$STATEDIR/${CT_PREFIX}stale/sidecar.pid"
	# (at most once a second: the last collection's stamp goes)
	rm -f "$RUNDIR/gc.stamp"
	web later "$(ports_ann 18103:3000)"
	assert_status 0
	[ ! -e "$STATEDIR/${CT_PREFIX}stale" ]
	[ ! -e "$STATEDIR/${CT_PREFIX}broken" ]
}

@test "proxyProtocol: the app receives a PROXY v2 header with the client's address" {
	# The app prints the first 28 bytes it receives, in hex: a PROXY v2
	# header for TCP over IPv4 is exactly that long.
	runc_start proxy "$(ports_ann '[{"localPort":4000,"externalPort":18104,"proxyProtocol":true}]')" \
		"nc -ll -p 4000 -e od -An -tx1 -N 28"
	assert_status 0
	wait_for 5 listening 4000
	hex=$(timeout 10 socat -T 5 - TCP:127.0.0.2:18104,bind=127.0.0.3 </dev/null | tr -s ' \n' ' ')
	echo "got: $hex"
	# signature, v2 PROXY, TCP4, length 12
	[[ "$hex" == *"0d 0a 0d 0a 00 0d 0a 51 55 49 54 0a 21 11 00 0c"* ]]
	# source 127.0.0.3, destination 127.0.0.2, destination port 18104 (0x46b8)
	[[ "$hex" == *"7f 00 00 03 7f 00 00 02"* ]]
	[[ "$hex" == *"46 b8 " || "$hex" == *"46 b8" ]]
}

@test "IPv6: a service listening on ::1 only is reached (exposeLocalhost), from IPv4 and IPv6 clients" {
	web v6only "$(ports_ann '[{"localPort":3000,"externalPort":18105,"exposeLocalhost":true}]')" '[::1]:3000'
	assert_status 0
	run http_get 18105
	[ "$output" = "hello from v6only" ]
	run curl -fsS --max-time 5 "http://[::1]:18105/"
	[ "$output" = "hello from v6only" ]
	pid=$(netns_pid "$CT")
	exec 9<>/dev/tcp/127.0.0.1/18105
	wait_for 2 bash -c "nsenter -t $pid -n ss -Htn state established '( dport = :3000 )' | grep -qF '[::1]:3000'"
	exec 9>&-
}

@test "a shared network namespace stays forwarded while any of its containers runs" {
	# The first container starts the sidecar; the second joins its netns
	# (as a pod's containers do) and holds the app.
	runc_start holder "$(ports_ann 18106:3000)" "sleep 1000"
	assert_status 0
	first=$CT
	ctpid=$(netns_pid "$first")
	NETNS_PATH=/proc/$ctpid/ns/net web app "$(ports_ann 18106:3000)"
	assert_status 0
	second=$CT
	[ "$(cat "$STATEDIR/$second/owner")" = "$first" ]
	grep -q "container ${second:0:12} joined the network namespace" "$STATEDIR/$first/sidecar.log"
	run http_get 18106
	[ "$output" = "hello from app" ]
	# The first one goes: the netns is still in use, so the port stays.
	runc delete --force "$first"
	sleep 0.5
	run http_get 18106
	[ "$output" = "hello from app" ]
	[ -n "$(sidecar_pid "$first")" ]
	# The last one goes: everything goes.
	pid=$(sidecar_pid "$first")
	runc delete --force "$second"
	wait_for 2 gone_or_zombie "$pid"
	wait_for 1 port_free 18106
	[ ! -e "$STATEDIR/$first" ]
	[ ! -e "$STATEDIR/$second" ]
}

@test "the sidecar's descriptor limit fits the policy's maxConnections (two a connection) and maxUdpFlows (one a flow), past the hook's own" {
	echo '{"maxConnections": 12000}' >"$TMP/policy.json"
	web nofile "$(ports_ann 18116:3000)"
	assert_status 0
	pid=$(sidecar_pid "$CT")
	[ -n "$pid" ]
	soft=$(awk '/^Max open files/ {print $4}' "/proc/$pid/limits")
	if prlimit --nofile=30000:30000 true 2>/dev/null; then
		# 2 x 12000, and the default maxUdpFlows 3000 (a quarter).
		[ "$soft" -ge 27000 ] || { cat "/proc/$pid/limits"; false; }
	else
		# No CAP_SYS_RESOURCE here (some sandboxes drop it): the limit
		# stays, and the sidecar's log says what it allows.
		grep -q "descriptor limit $soft: fewer than maxConnections 12000 and maxUdpFlows 3000 need (27256)" \
			"$STATEDIR/$CT/sidecar.log"
	fi
}

@test "backpressure: a client writing into an app that never reads parks a few MiB at most; the sidecar's memory stays flat" {
	runc_start stall "$(ports_ann 18117:3000)" "nc -l -p 3000 | sleep 600"
	assert_status 0
	wait_for 5 listening 3000
	pid=$(sidecar_pid "$CT")
	before=$(rss "$pid")
	# 256 MiB offered for 5 s; the app stops reading once its pipe is full.
	head -c 268435456 /dev/zero | timeout 5 socat -u - TCP:127.0.0.1:18117 || true
	after=$(rss "$pid")
	in=$("$PORTSIDECTL" ls --json | grep -o '"bytesIn":[0-9]*' | head -1 | cut -d: -f2)
	echo "sidecar RSS $before -> $after kB; $in bytes reached the app's socket"
	[ -n "$in" ] && [ "$in" -gt 0 ]
	[ "$in" -lt $((32 * 1024 * 1024)) ]
	[ $((after - before)) -lt 8192 ]
}

@test "the policy's maximum starts: maxPorts 4096 on 0.0.0.0 and :: is a record of 2 MB, which the sidecar and portsidectl read" {
	echo '{"maxPorts": 4096}' >"$TMP/policy.json"
	runc_start maxports "$(ports_ann 21000-25095:21000-25095)" "sleep 60"
	assert_status 0
	[ "$(stat -c %s "$STATEDIR/$CT/forwards.json")" -gt $((1024 * 1024)) ]
	[ "$(ss -Hltn 'sport >= :21000 and sport <= :25095' | wc -l)" -ge 4096 ]
	trace "$PORTSIDECTL" ls
	assert_status 0
	assert_output_has "0.0.0.0:25095 "
}
