#!/usr/bin/env bats
# A hostile container gains nothing: each test is one way a container's author
# (annotations, config.json, id, every process in the container) or anyone
# reaching a host port could try to use portside against the host or other
# containers. The app side is the project's static `hostile` helper.

load helpers
load containers

setup() {
	suite_setup
	HOSTILE=$PORTSIDE_BUILD/tests/hostile
}

teardown() {
	# A container under a private runc root (the id tests) is ours to remove.
	if [ -n "${ALT_ROOT:-}" ]; then
		runc --root "$ALT_ROOT" kill "$ALT_ID" KILL 2>/dev/null || true
		sleep 0.2
		runc --root "$ALT_ROOT" delete -f "$ALT_ID" 2>/dev/null || true
	fi
	[ -n "${HOLDER_PID:-}" ] && kill "$HOLDER_PID" 2>/dev/null
	[ -n "${EVPID:-}" ] && kill "$EVPID" 2>/dev/null
	[ -n "${MNT:-}" ] && umount "$MNT" 2>/dev/null
	[ -n "${NS_PID:-}" ] && kill "$NS_PID" 2>/dev/null
	suite_teardown
}

@test "v4-mapped: an app on [::ffff:127.0.0.1] is localhost-only: refused, diagnosed, never auto-forwarded" {
	runc_start mapped "$(ports_ann 18401:3000)" "hostile listen ::ffff:127.0.0.1 3000 & hostile listen ::ffff:127.0.0.1 4701 & sleep 60"
	assert_status 0
	wait_for 5 listening 3000
	wait_for 5 listening 4701
	# Not dialled: the app would see an outside client as 127.0.0.1.
	run ask 18401
	[ -z "$output" ]
	wait_for 2 grep -q "listens on \[::ffff:127.0.0.1\]:3000 only (localhost)" "$STATEDIR/$CT/sidecar.log"
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "[::ffff:127.0.0.1]:3000 only (localhost)"
	# "public" forwards what is opened to the outside only.
	sleep 0.6
	refute grep -q -- "-> 4701/tcp automatically" "$STATEDIR/$CT/sidecar.log"
}

@test "v4-mapped: an app on [::ffff:0.0.0.0] listens everywhere: served, and does not see the client as local" {
	runc_start mappedany "$(ports_ann 18402:3000)" "hostile listen ::ffff:0.0.0.0 3000"
	assert_status 0
	wait_for 5 listening 3000
	wait_for 5 bash -c "[ -n \"\$(timeout 5 socat -T 2 - TCP:127.0.0.1:18402 </dev/null 2>/dev/null)\" ]"
	run ask 18402
	[[ "$output" == peer=* ]]
	[[ "$output" != "peer=127."* ]]
}

@test "a UDP host port is held once: a second container, or a host daemon with SO_REUSEADDR, is named and refused" {
	runc_start first "$(ports_ann 18411:5300/udp)" "udp-echo 5300"
	assert_status 0
	runc_start second "$(ports_ann 18411:5300/udp)" "udp-echo 5300"
	assert_status 1
	assert_output_has "host port 18411/udp is already in use by portside-sideca"
	# mDNS-style: a host daemon that set SO_REUSEADDR on 18412/udp.
	socat -u UDP4-RECV:18412,reuseaddr OPEN:/dev/null &
	HOLDER_PID=$!
	wait_for 5 bash -c "ss -Hlun 'sport = :18412' | grep -q ."
	runc_start third "$(ports_ann 18412:5300/udp)" "udp-echo 5300"
	assert_status 1
	assert_output_has "host port 18412/udp is already in use by socat"
}

@test "logs are bounded: a flood of refused connections is summarised, not written line by line" {
	runc_start flood "$(ports_ann 18421:3000)" "sleep 60"
	assert_status 0
	run "$HOSTILE" connect-flood 127.0.0.1 18421 5000
	assert_output_has "connected"
	# Summaries come when the 10 s window ends (checked every second).
	wait_for 15 grep -q "refused [0-9]* more connections to host port 18421 in the last" "$STATEDIR/$CT/sidecar.log"
	[ "$(grep -c 'refused a connection to host port 18421' "$STATEDIR/$CT/sidecar.log")" -le 2 ]
	[ "$(stat -c %s "$STATEDIR/$CT/sidecar.log")" -lt 20000 ]
	grep -q "nothing listens on port 3000 in the container" "$STATEDIR/$CT/sidecar.log"
}

@test "the listeners reply survives 512 IPv6 listeners on long addresses" {
	runc_start many6 "$(ports_ann 18425:3000)" "hostile listen-freebind6 fd12:3456:789a:bcde:f012:3456:789a 20000 512"
	assert_status 0
	wait_for 10 bash -c "[ \$(nsenter -t $(netns_pid "$CT") -n ss -Hltn | wc -l) -ge 512 ]"
	trace "$PORTSIDECTL" doctor --json "$CT"
	# The diagnosis names the unmapped ports it saw: the reply was whole
	# (doctor reads it with json-c, which refuses a cut document).
	assert_output_has "unmapped, the app listens on 20"
	assert_output_lacks "is not running"
	pid=$(sidecar_pid "$CT")
	[ -n "$pid" ]
}

@test "an annotation cannot widen the policy's hostIP: the hook and portsidectl check refuse it" {
	echo '{"hostIP": "127.0.0.1"}' >"$TMP/policy.json"
	runc_start wide "$(ports_ann 0.0.0.0:18431:3000)" "sleep 60"
	assert_status 1
	assert_output_has "host address 0.0.0.0 is not allowed by the host policy (hostIP)"
	port_free 18431
	trace "$PORTSIDECTL" check --policy "$TMP/policy.json" '0.0.0.0:18431:3000'
	assert_status 1
	assert_output_has "host address 0.0.0.0 is not allowed"
	trace "$PORTSIDECTL" check --policy "$TMP/policy.json" '127.0.0.1:18431:3000'
	assert_status 0
}

@test "UDP replies are bounded by the client: one datagram buys a few replies, and the flow still idles out" {
	echo '{"udpIdleTimeout": 2}' >"$TMP/policy.json"
	runc_start stream "$(ports_ann 18441:5300/udp)" "hostile udp-stream 5300"
	assert_status 0
	wait_for 5 bash -c "nsenter -t $(netns_pid "$CT") -n ss -Hlun 'sport = :5300' | grep -q ."
	# The app answers one datagram (2 bytes) with 2000 small ones over 4 s;
	# the client gets at most the budget of one datagram: 3 times its 30
	# bytes on the wire, plus 4096, each reply counted with its 28 bytes
	# of headers.
	run "$HOSTILE" udp-count 127.0.0.1 18441 3
	[[ "$output" =~ ^replies\ ([0-9]+)\ bytes\ ([0-9]+)$ ]]
	n=${BASH_REMATCH[1]} bytes=${BASH_REMATCH[2]}
	echo "replies: $n, $bytes bytes" >&2
	[ "$n" -ge 1 ] && [ $((bytes + 28 * n)) -le $((3 * 30 + 4096)) ]
	# The app keeps sending, the client does not: closed after the idle
	# timeout (2 s, swept within a second).
	wait_for 6 bash -c "'$PORTSIDECTL' ls --json | grep -q '\"connections\":0'"
	wait_for 12 grep -q "dropped [0-9]* more reply datagrams to host port 18441\|dropped a reply datagram to host port 18441" "$STATEDIR/$CT/sidecar.log"
}

# udp_count PORT SIZE TIMES: through host port PORT, TIMES datagrams of SIZE
# bytes, a second apart; sets n and bytes to the replies the client got.
udp_count() {
	run "$HOSTILE" udp-count 127.0.0.1 "$1" 1 "$2" "$3"
	[[ "$output" =~ ^replies\ ([0-9]+)\ bytes\ ([0-9]+)$ ]]
	n=${BASH_REMATCH[1]} bytes=${BASH_REMATCH[2]}
	echo "port $1, $3 x $2 bytes sent: $n replies, $bytes bytes" >&2
}

@test "UDP amplification: a datagram buys replies of 3 times its bytes plus 4096 a flow, however many and large the app sends" {
	# Three reflectors: 64 replies of 60,000 bytes to each datagram, 200
	# of 1,000, and one of 4,000 (a DNS answer's size).
	runc_start amplify "$(ports_ann "18442:5300/udp, 18443:5301/udp, 18444:5302/udp")" \
		"hostile udp-burst 5300 64 60000 & hostile udp-burst 5301 200 1000 & hostile udp-burst 5302 1 4000"
	assert_status 0
	wait_for 5 bash -c "nsenter -t $(netns_pid "$CT") -n ss -Hlun 'sport = :5302' | grep -q ."
	# A spoofed 2-byte datagram (30 on the wire): 3 x 30 + 4096 bytes at
	# most reach its "client", where a count of 64 datagrams let 3.8 MB go.
	udp_count 18442 2 1
	[ "$bytes" -le $((3 * 30 + 4096)) ]
	udp_count 18443 2 1
	[ "$n" -ge 1 ] && [ "$bytes" -le $((3 * 30 + 4096)) ]
	# The budget grows with what the client sends: two datagrams of 1,000
	# bytes buy 3 x 1,028 each, more than the first alone.
	udp_count 18443 1000 2
	[ "$bytes" -le $((2 * 3 * 1028 + 4096)) ] && [ "$bytes" -gt $((3 * 1028 + 4096 - 1028)) ]
	grep -q "dropped a reply datagram to host port 1844[23]: the app sent more than 3 times the bytes the client sent, plus at most 4096 a flow from the sidecar's shared allowance (the UDP reply budget)" \
		"$STATEDIR/$CT/sidecar.log"
	# A small question, a large answer: served whole.
	udp_count 18444 40 1
	[ "$n" = 1 ] && [ "$bytes" = 4000 ]
}

@test "UDP amplification: forged first datagrams from many sources share one allowance (64 KB, then 64,000 bytes a second), not 4096 bytes each" {
	echo '{"maxUdpFlows": 1000}' >"$TMP/policy.json"
	# A reflector answering each datagram with 4,000 bytes (a DNS answer's size).
	runc_start spray "$(ports_ann 18445:5300/udp)" "hostile udp-burst 5300 1 4000"
	assert_status 0
	wait_for 5 bash -c "nsenter -t $(netns_pid "$CT") -n ss -Hlun 'sport = :5300' | grep -q ."
	# 490 flows, as forged sources would open them: 10 ports on each of
	# 127.0.0.2 ... 127.0.0.50, one byte each (29 on the wire). Each flow
	# earns 3 x 29; past that its answers draw on the sidecar's allowance:
	# 65,536 bytes at once, 64,000 more a second. A 4096-byte allowance a
	# flow let every answer through: 490 x 4,000 = 1,960,000 bytes.
	start=$(date +%s%N)
	run "$HOSTILE" udp-spray 127.0.0.1 18445 49 10 2
	secs=$((($(date +%s%N) - start) / 1000000000 + 1))
	[[ "$output" =~ ^replies\ ([0-9]+)\ bytes\ ([0-9]+)$ ]]
	n=${BASH_REMATCH[1]} bytes=${BASH_REMATCH[2]}
	echo "490 forged flows: $n replies, $bytes bytes in ${secs}s" >&2
	[ "$n" -ge 1 ]
	[ $((bytes + 28 * n)) -le $((490 * 3 * 29 + 65536 + 64000 * secs)) ]
	wait_for 5 grep -q "plus at most 4096 a flow from the sidecar's shared allowance" "$STATEDIR/$CT/sidecar.log"
	# A second on, the allowance has room again: a client's small question
	# gets its large answer whole.
	sleep 1.1
	udp_count 18445 40 1
	[ "$n" = 1 ] && [ "$bytes" = 4000 ]
}

@test "automatic forwarding is bounded per container (maxAutoforwards)" {
	echo '{"maxAutoforwards": 2, "autoforwardPorts": [18451, 18452, 18453, 18454]}' >"$TMP/policy.json"
	runc_start greedy '"io.portside.autoforward": "public"' "hostile listen-many 4600 4"
	assert_status 0
	wait_for 5 grep -q "2 automatic forwards already (policy maxAutoforwards)" "$STATEDIR/$CT/sidecar.log"
	sleep 0.6
	trace "$PORTSIDECTL" ls --json
	# Exactly two host ports handed out (each on IPv4 and IPv6), of four.
	[ "$(grep -o '"externalPort":1845[1-4]' <<<"$output" | sort -u | wc -l)" -eq 2 ]
	port_listening 18451
	port_listening 18452
	port_free 18453
	port_free 18454
}

# hook_direct CONFIG_NETNS_PATH PID: runs the hook as a runtime would, on a
# bundle whose config names CONFIG_NETNS_PATH as the network namespace.
hook_direct() {
	local dir=$TMP/direct
	NETNS_PATH=$1 make_bundle "$dir" "$(ports_ann 18461:3000)" "true"
	printf '{"ociVersion":"1.0.2","id":"%sdirect","status":"creating","pid":%s,"bundle":"%s","annotations":{"io.portside.ports":"18461:3000"}}' \
		"$CT_PREFIX" "$2" "$dir" >"$dir/state.json"
	trace timeout 5 "$PORTSIDE_HOOK" $HOOK_ARGS createRuntime <"$dir/state.json"
}

@test "the netns path is checked before it can block: a FIFO, a device, a pid namespace, another netns" {
	sleep 60 &
	NS_PID=$!
	mkfifo "$TMP/fifo"
	SECONDS=0
	hook_direct "$TMP/fifo" "$NS_PID"
	assert_status 1
	assert_output_has "is not a network namespace (not a namespace file)"
	[ "$SECONDS" -lt 3 ]
	hook_direct /dev/zero "$NS_PID"
	assert_status 1
	assert_output_has "/dev/zero is not a network namespace"
	MNT=$TMP/pidns
	touch "$MNT"
	mount --bind /proc/self/ns/pid "$MNT"
	hook_direct "$MNT" "$NS_PID"
	assert_status 1
	assert_output_has "is a namespace, but not a network namespace"
	umount "$MNT"
	MNT=
	# A real netns, but not the one the container's process is in.
	kill "$NS_PID"
	unshare -n sleep 60 &
	NS_PID=$!
	wait_for 2 bash -c "[ \"\$(readlink /proc/$NS_PID/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ]"
	hook_direct /proc/self/ns/net "$NS_PID"
	assert_status 1
	assert_output_has "is not the one container process $NS_PID runs in"
	port_free 18461
}

@test "duplicate JSON keys are duplicates after unescaping" {
	runc_start dupkey "$(ports_ann '[{"localPort":3000,"externalPort":18471,"external\u0050ort":18472}]')" "sleep 60"
	assert_status 1
	assert_output_has "member named twice"
	port_free 18471
	port_free 18472
}

@test "refusals are attributed exactly, escaped, and kept 0600" {
	runc_start web "$(ports_ann 22:3000)" "sleep 60"
	assert_status 1
	web=$CT
	runc_start web-2 "$(ports_ann '[{"localPort":3000,"externalPort":18481,"x\u202ey":1}]')" "sleep 60"
	assert_status 1
	# A bidi override in quoted input shows as an escape, not as itself.
	assert_output_has '\u202e'
	[[ "$output" != *$'\u202e'* ]]
	trace "$PORTSIDECTL" logs "$web"
	assert_status 0
	assert_output_has "refused (reserved)"
	assert_output_lacks "x\\u202ey"
	trace "$PORTSIDECTL" doctor "$web"
	assert_output_has "ports 22 and 8283 can never be forwarded"
	[ "$(stat -c %a "$RUNDIR/hook.log")" = 600 ]
	# One JSON object a line, the id a field.
	tail -1 "$RUNDIR/hook.log" | grep -q "^{\"time\":\"[^\"]*\",\"id\":\"$CT\",\"reason\":\"invalid\","
}

# lock_held: another process holds the hooks' lock.
lock_held() {
	if flock -n "$RUNDIR/lock" true; then return 1; fi
}

@test "a start refused because the lock stayed busy is its own container's refusal, in portsidectl logs" {
	# Another hook stuck with the lock: this start's own wait times out.
	bash -c 'exec 9>"$0"; flock 9; exec sleep 8' "$RUNDIR/lock" &
	HOLDER_PID=$!
	wait_for 2 lock_held
	runc_start busy "$(ports_ann 18482:3000)" "sleep 60"
	assert_status 1
	assert_output_has "cannot lock"
	kill "$HOLDER_PID"
	HOLDER_PID=
	# Nothing of that id exists: the refusal is this start's, lock or not.
	trace "$PORTSIDECTL" logs "$CT"
	assert_status 0
	assert_output_has "cannot lock"
	tail -1 "$RUNDIR/hook.log" | grep -q "^{\"time\":\"[^\"]*\",\"id\":\"$CT\","
}

@test "the same id under another runtime root cannot take over a live container's state" {
	runc_start owner "$(ports_ann 18491:3000)" "hostile listen 0.0.0.0 3000"
	assert_status 0
	wait_for 5 listening 3000
	owner_sidecar=$(sidecar_pid "$CT")
	ALT_ROOT=$TMP/altroot
	ALT_ID=$CT
	make_bundle "$TMP/alt" "$(ports_ann 18492:3000)" "sleep 60"
	# The container inherits runc's stdio: a file, never bats' pipe.
	trace bash -c 'runc --root "$0" run -d --bundle "$1" "$2" </dev/null >"$1/runtime.out" 2>&1; rc=$?; cat "$1/runtime.out"; exit $rc' \
		"$ALT_ROOT" "$TMP/alt" "$ALT_ID"
	assert_status 1
	assert_output_has "container id $CT is in use by another running container"
	# The first one is untouched: same sidecar, still forwarding.
	[ "$(sidecar_pid "$CT")" = "$owner_sidecar" ]
	run ask 18491
	[[ "$output" == peer=* ]]
	port_free 18492
}

@test "a start reusing a running container's id: its refusal is logged, but not as that container's" {
	runc_start victim "$(ports_ann 18495:3000)" "hostile listen 0.0.0.0 3000"
	assert_status 0
	victim=$CT
	wait_for 5 listening 3000
	"$PORTSIDECTL" events "$victim" >"$TMP/events.txt" 2>&1 &
	EVPID=$!
	sleep 0.5
	ALT_ROOT=$TMP/altroot
	ALT_ID=$victim
	make_bundle "$TMP/alt" "$(ports_ann 22:3000)" "sleep 60"
	# A cgroup of its own: runc names one after the id otherwise, the victim's.
	jq --arg p "/$CT_PREFIX-alt" '.linux.cgroupsPath = $p' "$TMP/alt/config.json" >"$TMP/alt/c" &&
		mv "$TMP/alt/c" "$TMP/alt/config.json"
	trace bash -c 'runc --root "$0" run -d --bundle "$1" "$2" </dev/null >"$1/runtime.out" 2>&1; rc=$?; cat "$1/runtime.out"; exit $rc' \
		"$ALT_ROOT" "$TMP/alt" "$ALT_ID"
	assert_status 1
	# Whoever started it is still told why.
	assert_output_has "port 22 (ssh) is reserved"
	# The follower polls every 100 ms: it had a dozen chances to show it.
	sleep 1.2
	kill "$EVPID"
	EVPID=
	cat "$TMP/events.txt"
	refute grep -q "refused" "$TMP/events.txt"
	trace "$PORTSIDECTL" logs "$victim"
	assert_output_lacks "refused"
	trace "$PORTSIDECTL" doctor "$victim"
	assert_output_lacks "refused"
	assert_output_lacks "reserved"
	# The refusal log has it, under the id apart, with none of its text.
	tail -1 "$RUNDIR/hook.log" |
		grep -q "^{\"time\":\"[^\"]*\",\"idInUse\":\"$victim\",\"reason\":\"reserved\",\"message\":\"a start using this id was refused\"}$"
	# The victim forwards as before.
	run ask 18495
	[[ "$output" == peer=* ]]
}

@test "ids that could name portside's own files, or overflow a socket path, are ordinary ids" {
	ALT_ROOT=$TMP/altroot
	ALT_ID=netns
	make_bundle "$TMP/alt" "$(ports_ann 18493:3000)" "hostile listen 0.0.0.0 3000"
	trace bash -c 'runc --root "$0" run -d --bundle "$1" "$2" </dev/null >"$1/runtime.out" 2>&1; rc=$?; cat "$1/runtime.out"; exit $rc' \
		"$ALT_ROOT" "$TMP/alt" netns
	assert_status 0
	[ -d "$RUNDIR/netns" ] && [ -d "$STATEDIR/netns" ]
	wait_for 5 bash -c "[ -n \"\$(timeout 5 socat -T 2 - TCP:127.0.0.1:18493 </dev/null 2>/dev/null)\" ]"
	runc --root "$ALT_ROOT" kill netns KILL
	sleep 0.3
	runc --root "$ALT_ROOT" delete -f netns
	ALT_ROOT=
	[ ! -e "$STATEDIR/netns" ] && [ -d "$RUNDIR/netns" ]
	# 200 characters: its control socket path is longer than sun_path.
	long=$(printf 'x%.0s' $(seq 1 $((200 - ${#CT_PREFIX}))))
	runc_start "$long" "$(ports_ann 18494:3000)" "hostile listen 0.0.0.0 3000"
	assert_status 0
	[ ${#CT} -eq 200 ]
	wait_for 5 listening 3000
	run ask 18494
	[[ "$output" == peer=* ]]
	trace "$PORTSIDECTL" ls --json
	assert_output_has '"externalPort":18494'
	# Counters come from the sidecar over its control socket: it answered.
	[[ "$output" =~ \"bytesOut\":[1-9] ]]
}
