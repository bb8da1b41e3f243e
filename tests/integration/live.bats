#!/usr/bin/env bats
# Changing a running container's ports (portsidectl expose, unexpose,
# autoforward), against real runc and podman containers and a pod: what
# flows keeps flowing, a change is whole or nothing, a kill at any step
# leaves no port behind and a record that restore serves.
# Host ports 18900-18999 only, each test its own.

load helpers
load containers

setup() {
	suite_setup
	BG=()
}

teardown() {
	local p
	# TERM first: timeout(1) passes it on to its command, which a KILL of
	# timeout alone would leave running (portsidectl events follows for
	# ever, as podman events does).
	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	sleep 0.2
	for p in "${BG[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	[ -f "$TMP/pod.yaml" ] && [ -n "${HOOKS_DIR:-}" ] && P kube down "$TMP/pod.yaml" >/dev/null 2>&1
	suite_teardown
}

# bg CMD...: CMD in the background, its output in $TMP/bg.N, killed in
# teardown whatever the test did; its pid in $BGPID. fd 3 closed: bats
# waits for whoever holds it.
bg() {
	local out=$TMP/bg.${#BG[@]}
	"$@" >"$out" 2>&1 3>&- &
	BGPID=$!
	BGOUT=$out
	BG+=("$BGPID")
}

# auto_ann PORTS MODE, as panel.bats: io.portside.ports and
# io.portside.autoforward.
auto_ann() {
	printf '%s, "io.portside.autoforward": "%s"' "$(ports_ann "$1")" "$2"
}

# big NAME: a 64 MiB file of random bytes at $TMP/NAME/www/big (one made per
# run, linked into each container's www).
big() {
	local src=$BATS_RUN_TMPDIR/big64
	[ -f "$src" ] || head -c 64M /dev/urandom >"$src"
	mkdir -p "$TMP/$1/www"
	ln -f "$src" "$TMP/$1/www/big" 2>/dev/null || cp "$src" "$TMP/$1/www/big"
	BIGSUM=$(sha256sum <"$src" | cut -d' ' -f1)
}

# download PORT FILE [RATE]: a rate-limited download of /big through host
# port PORT into FILE, in the background ($BGPID): a few seconds long, so
# that a change lands in its middle.
download() {
	bg curl -fsS --max-time 30 --limit-rate "${3:-24M}" -o "$2" "http://127.0.0.1:$1/big"
}

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

# grown FILE BYTES: FILE has at least BYTES.
grown() { [ "$(size_of "$1")" -ge "$2" ]; }

# refused_at_once PORT: a new connection to host port PORT is refused
# (curl's 7), not left hanging.
refused_at_once() {
	run curl -sS --max-time 2 -o /dev/null "http://127.0.0.1:$1/"
	[ "$status" -eq 7 ] || { echo "port $1: curl status $status, not refused" >&2; return 1; }
}

# status_json ID: the sidecar's STATUS reply.
status_json() {
	echo status | timeout 3 socat -t 2 - "UNIX-CONNECT:$STATEDIR/$1/control.sock"
}

# The explicit forwards, "HOSTIP PORT LOCAL PROTO" sorted, as the record
# says, as the sidecar serves them, as ls shows them.
recorded() {
	jq -r '.forwards[] | "\(.hostIP) \(.externalPort) \(.localPort) \(.protocol)"' "$STATEDIR/$1/forwards.json" | sort
}
served_explicit() {
	status_json "$1" | jq -r '.forwards[] | select(.automatic != true) | "\(.hostIP) \(.externalPort) \(.localPort) \(.protocol)"' | sort
}
served_auto() {
	status_json "$1" | jq -r '.forwards[] | select(.automatic == true) | "\(.hostIP) \(.externalPort) \(.localPort) \(.protocol)"' | sort
}
listed() {
	timeout 5 "$PORTSIDECTL" ls --json | jq -r --arg id "$1" '.[] | select(.id == $id) | .forwards[] | select(.how != "auto") | "\(.hostIP) \(.externalPort) \(.localPort) \(.protocol)"' | sort
}
listed_auto() {
	timeout 5 "$PORTSIDECTL" ls --json | jq -r --arg id "$1" '.[] | select(.id == $id) | .forwards[] | select(.how == "auto") | "\(.hostIP) \(.externalPort) \(.localPort) \(.protocol)"' | sort
}
ls_state() {
	timeout 5 "$PORTSIDECTL" ls --json | jq -r --arg id "$1" '.[] | select(.id == $id) | .state'
}

# agree ID: record, sidecar and ls say the same explicit forwards, every
# one of them listening on the host, and doctor finds no cut-short change.
agree() {
	local r s l
	r=$(recorded "$1")
	s=$(served_explicit "$1")
	l=$(listed "$1")
	if [ "$r" != "$s" ] || [ "$r" != "$l" ]; then
		printf 'record:\n%s\nserved:\n%s\nls:\n%s\n' "$r" "$s" "$l" >&2
		return 1
	fi
	local port proto
	while read -r port proto; do
		[ -n "$port" ] || continue
		if [ "$proto" = udp ]; then
			ss -Hlun "sport = :$port" | grep -q .
		else
			port_listening "$port"
		fi || { echo "recorded port $port/$proto not bound on the host" >&2; return 1; }
	done <<<"$(awk '{print $2, $4}' <<<"$r" | sort -u)"
	run timeout 10 "$PORTSIDECTL" doctor "$1"
	if grep -qF "a change was cut short" <<<"$output"; then
		echo "doctor: $output" >&2
		return 1
	fi
}

# has_forward ID "HOSTIP PORT LOCAL PROTO": the record has it.
recorded_has() { recorded "$1" | grep -qxF -- "$2"; }

# one_line_refusal TEXT: the last `run --separate-stderr` failed with
# status 1, nothing on stdout and one line on stderr, "portsidectl: ..."
# holding TEXT.
one_line_refusal() {
	local want=${2:-1}
	if [ "$status" -ne "$want" ] || [ -n "$output" ] || [ "$(printf '%s\n' "$stderr" | wc -l)" -ne 1 ] ||
		[[ "$stderr" != "portsidectl: "* ]] || ! grep -qF -- "$1" <<<"$stderr"; then
		printf 'expected one line with "%s", status %s; got status %s\nstdout: %s\nstderr: %s\n' \
			"$1" "$want" "$status" "$output" "$stderr" >&2
		return 1
	fi
}

# ctl ARGS...: portsidectl with stdout and stderr apart (bounded in time).
ctl() {
	run --separate-stderr timeout 20 "$PORTSIDECTL" "$@"
	echo "# \$ portsidectl $*" >&2
	echo "# status $status; stdout: $output; stderr: $stderr" >&2
}

# ev_has EVENT REASON PORT: the container's events file has one.
ev_has() {
	jq -e -s --arg ev "$1" --arg r "$2" --argjson p "$3" \
		'map(select(.event == $ev and .reason == $r and .externalPort == $p)) | length >= 1' \
		"$STATEDIR/$CT/events" >/dev/null
}

@test "expose adds a mapping to a running container; unexpose takes it away" {
	www_start live1 "$(ports_ann '18900:3000')" 'httpd -p 3000 -h /www; httpd -f -p 3001 -h /www'
	assert_status 0
	run http_get 18900
	[ "$output" = "hello from live1" ]
	refute http_get 18901
	trace "$PORTSIDECTL" expose "$CT" 18901:3001
	assert_status 0
	assert_output_has "forwarding 0.0.0.0:18901 -> 3001/tcp"
	run http_get 18901
	[ "$output" = "hello from live1" ]
	trace "$PORTSIDECTL" ls
	assert_output_has "18901"
	trace "$PORTSIDECTL" unexpose "$CT" 18901
	assert_status 0
	assert_output_has "stopped forwarding 0.0.0.0:18901 -> 3001/tcp"
	refute http_get 18901
	port_free 18901
	run http_get 18900
	[ "$output" = "hello from live1" ]
}

@test "expose while a download goes through another mapping: the download is unharmed, both mappings serve" {
	big dl
	www_start dl "$(ports_ann '18902:3000')" 'httpd -p 3000 -h /www; httpd -f -p 3001 -h /www'
	assert_status 0
	wait_for 5 port_listening 18902
	download 18902 "$TMP/dl.out"
	local client=$BGPID
	wait_for 5 grown "$TMP/dl.out" 4000000
	trace "$PORTSIDECTL" expose "$CT" 18903:3001
	assert_status 0
	assert_output_has "forwarding 0.0.0.0:18903 -> 3001/tcp"
	# Still in the middle of it: the change landed during the transfer.
	[ "$(size_of "$TMP/dl.out")" -lt $((64 << 20)) ]
	run http_get 18903
	[ "$output" = "hello from dl" ]
	wait "$client"
	[ "$(sha256sum <"$TMP/dl.out" | cut -d' ' -f1)" = "$BIGSUM" ]
	run http_get 18902
	[ "$output" = "hello from dl" ]
	ev_has forwarded live 18903
	agree "$CT"
}

# udp_ask PORT MSG: one datagram to 127.0.0.1:PORT, the first reply (as
# udp.bats asks).
udp_ask() {
	printf '%s' "$2" | timeout 5 socat -t 1 -T 0.5 - "UDP:127.0.0.1:$1" 2>/dev/null | head -c 200
}

udp_free() { ! ss -Hlun "sport = :$1" | grep -q .; }

@test "expose and unexpose a UDP mapping live" {
	www_start udp "$(ports_ann '18953:3000')" 'httpd -p 3000 -h /www; exec udp-echo 5300'
	assert_status 0
	wait_for 5 port_listening 18953
	wait_for 5 bash -c "nsenter -t \$(sed -n 's/.*\"pid\": *\([0-9]*\).*/\1/p' '$STATEDIR/$CT/forwards.json' | head -1) -n ss -Hlun 'sport = :5300' | grep -q ."
	trace "$PORTSIDECTL" expose "$CT" 18954:5300/udp
	assert_status 0
	assert_output_has "forwarding 0.0.0.0:18954 -> 5300/udp"
	run udp_ask 18954 hello
	[ "$output" = "echo:hello" ]
	# TCP on the same number is another mapping: not bound.
	port_free 18954
	agree "$CT"
	trace "$PORTSIDECTL" unexpose "$CT" 18954/udp
	assert_status 0
	assert_output_has "stopped forwarding 0.0.0.0:18954 -> 5300/udp"
	udp_free 18954
	run udp_ask 18954 again
	[ -z "$output" ]
	run http_get 18953
	[ "$output" = "hello from udp" ]
	agree "$CT"
}

@test "unexpose during a download through that mapping: the download completes, new connections are refused, the host port is free" {
	big drain
	www_start drain "$(ports_ann '18904:3000, 18905:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	wait_for 5 port_listening 18904
	download 18904 "$TMP/drain.out"
	local client=$BGPID
	wait_for 5 grown "$TMP/drain.out" 4000000
	trace "$PORTSIDECTL" unexpose "$CT" 18904
	assert_status 0
	assert_output_has "stopped forwarding 0.0.0.0:18904 -> 3000/tcp"
	[ "$(size_of "$TMP/drain.out")" -lt $((64 << 20)) ]
	refused_at_once 18904
	port_free 18904
	# The connection that was open drains to its end.
	wait "$client"
	[ "$(sha256sum <"$TMP/drain.out" | cut -d' ' -f1)" = "$BIGSUM" ]
	ev_has closed removed 18904
	run http_get 18905
	[ "$output" = "hello from drain" ]
	agree "$CT"
}

@test "unexpose --close cuts the open connections of the mapping" {
	big cut
	www_start cut "$(ports_ann '18906:3000, 18907:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	wait_for 5 port_listening 18906
	download 18906 "$TMP/cut.out"
	local client=$BGPID
	wait_for 5 grown "$TMP/cut.out" 4000000
	trace "$PORTSIDECTL" unexpose --close "$CT" 18906
	assert_status 0
	assert_output_has "stopped forwarding 0.0.0.0:18906 -> 3000/tcp"
	# Not `run wait`: run's subshell cannot wait for this shell's child.
	local st=0
	wait "$client" || st=$?
	[ "$st" -ne 0 ]
	[ "$(size_of "$TMP/cut.out")" -lt $((64 << 20)) ]
	refused_at_once 18906
	port_free 18906
	run http_get 18907
	[ "$output" = "hello from cut" ]
}

@test "all or nothing: three mappings whose third host port is taken are refused with the holder named; nothing bound, nothing recorded" {
	www_start whole "$(ports_ann '18908:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	bg socat TCP-LISTEN:18912,bind=0.0.0.0,reuseaddr,fork /dev/null
	wait_for 3 port_listening 18912
	cp "$STATEDIR/$CT/forwards.json" "$TMP/before.json"
	local ls_before
	ls_before=$(listed "$CT")
	ctl expose "$CT" 18910:3000 18911:3001 18912:3002
	one_line_refusal "18912"
	[[ "$stderr" == *socat* ]]
	port_free 18910
	port_free 18911
	cmp "$TMP/before.json" "$STATEDIR/$CT/forwards.json"
	[ "$(listed "$CT")" = "$ls_before" ]
	agree "$CT"
	# The same without the taken one lands whole.
	trace "$PORTSIDECTL" expose "$CT" 18910:3000 18911:3000
	assert_status 0
	run http_get 18911
	[ "$output" = "hello from whole" ]
	agree "$CT"
}

@test "a sidecar without capabilities gets a port below 1024: root binds it" {
	local p=80
	while ! port_free "$p" && [ "$p" -lt 1023 ]; do p=$((p + 1)); done
	port_free "$p"
	[ "$p" = 80 ] || echo "# host port 80 is taken here: $p instead" >&3
	echo "{\"autoforwardPorts\": [18913], \"externalPorts\": [$p, \"18913-18914\"]}" >"$TMP/policy.json"
	www_start low "$(ports_ann '18914:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	wait_for 5 port_listening 18914
	local pid
	pid=$(sidecar_pid "$CT")
	assert_confined "$pid" 0000000000000000
	trace "$PORTSIDECTL" expose "$CT" "$p:3000"
	assert_status 0
	assert_output_has "forwarding 0.0.0.0:$p -> 3000/tcp"
	run http_get "$p"
	[ "$output" = "hello from low" ]
	# The same sidecar, still without any capability.
	[ "$(sidecar_pid "$CT")" = "$pid" ]
	assert_confined "$pid" 0000000000000000
	agree "$CT"
	trace "$PORTSIDECTL" unexpose "$CT" "$p"
	assert_status 0
	port_free "$p"
}

@test "pin: exposing an automatic forward makes it explicit in place, under load, without a failed request; it outlives the app's port" {
	echo '{"autoforwardPorts": [18915, 18916]}' >"$TMP/policy.json"
	www_start pin "$(ports_ann '')" \
		'httpd -f -p 4500 -h /www & echo $! >/tmp/a.pid; sleep 0.5; httpd -f -p 4501 -h /www & echo $! >/tmp/b.pid; exec sleep 1000'
	assert_status 0
	wait_for 5 port_listening 18915
	wait_for 5 port_listening 18916
	trace "$PORTSIDECTL" ls
	[[ "$output" =~ 0\.0\.0\.0:18915\ +4500/tcp\ +auto ]]
	bg timeout 20 "$PORTSIDECTL" events --json "$CT"
	local events=$BGOUT
	sleep 0.3
	# 200 requests one after the other, each counted.
	bg bash -c 'for i in $(seq 200); do if curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:18915/; then echo ok >>"$0/ok"; else echo fail >>"$0/fail"; fi; done' "$TMP"
	local client=$BGPID
	wait_for 5 bash -c "[ \$(cat '$TMP/ok' 2>/dev/null | wc -l) -ge 30 ]"
	trace "$PORTSIDECTL" expose "$CT" 18915:4500
	assert_status 0
	assert_output_has "pinned 0.0.0.0:18915 -> 4500/tcp"
	assert_output_lacks "forwarding"
	wait "$client"
	[ ! -e "$TMP/fail" ] || { echo "failed requests: $(wc -l <"$TMP/fail")" >&2; false; }
	[ "$(wc -l <"$TMP/ok")" -eq 200 ]
	trace "$PORTSIDECTL" ls
	[[ "$output" =~ 0\.0\.0\.0:18915\ +4500/tcp\ +explicit ]]
	[[ "$output" =~ 0\.0\.0\.0:18916\ +4501/tcp\ +auto ]]
	wait_for 3 jq -e -s 'map(select(.event == "forwarded" and .reason == "pinned" and .externalPort == 18915)) | length >= 1' "$events"
	agree "$CT"
	# The app closes both ports: the automatic forward goes, the pinned
	# one stays, and serves again when the app reopens.
	runc exec "$CT" sh -c 'kill $(cat /tmp/a.pid) $(cat /tmp/b.pid)'
	wait_for 5 port_free 18916
	port_listening 18915
	sleep 1.5
	port_listening 18915
	runc exec -d "$CT" httpd -f -p 4500 -h /www </dev/null >/dev/null 2>&1
	wait_for 5 http_get 18915
	run http_get 18915
	[ "$output" = "hello from pin" ]
	recorded_has "$CT" "0.0.0.0 18915 4500 tcp"
	agree "$CT"
}

@test "autoforward public -> never -> all: never ends automatic forwards (their connections flow on), all takes a localhost-only port" {
	echo '{"autoforwardPorts": [18917, 18918, 18919]}' >"$TMP/policy.json"
	big mode
	www_start mode "$(ports_ann '')" 'httpd -f -p 4600 -h /www & httpd -f -p 127.0.0.1:4601 -h /www & exec sleep 1000'
	assert_status 0
	wait_for 5 port_listening 18917
	sleep 1
	[ "$(listed_auto "$CT" | awk '{print $3}' | sort -u)" = 4600 ]
	download 18917 "$TMP/mode.out"
	local client=$BGPID
	wait_for 5 grown "$TMP/mode.out" 4000000
	trace "$PORTSIDECTL" autoforward "$CT" never
	assert_status 0
	assert_output_has "automatic forwarding of"
	assert_output_has ": never"
	wait_for 3 port_free 18917
	[ "$(status_json "$CT" | jq -r .autoforward)" = never ]
	[ -z "$(listed_auto "$CT")" ]
	# The download started before goes on to its end.
	wait "$client"
	[ "$(sha256sum <"$TMP/mode.out" | cut -d' ' -f1)" = "$BIGSUM" ]
	# No new automatic forward: not for a port the app opens now.
	runc exec -d "$CT" httpd -f -p 4602 -h /www </dev/null >/dev/null 2>&1
	sleep 1.5
	port_free 18917
	port_free 18918
	port_free 18919
	[ -z "$(served_auto "$CT")" ]
	# all: the localhost-only one too.
	trace "$PORTSIDECTL" autoforward "$CT" all
	assert_status 0
	assert_output_has ": all"
	wait_for 5 bash -c "timeout 5 '$PORTSIDECTL' ls --json | jq -e --arg id '$CT' '[.[] | select(.id == \$id) | .forwards[] | select(.how == \"auto\" and .localPort == 4601)] | length >= 1' >/dev/null"
	local ext
	ext=$(listed_auto "$CT" | awk '$3 == 4601 && $1 == "0.0.0.0" {print $2}')
	run http_get "$ext"
	[ "$output" = "hello from mode" ]
	[ "$(status_json "$CT" | jq -r .autoforward)" = all ]
	[ "$(jq -r .autoforward "$STATEDIR/$CT/forwards.json")" = all ]
	# status and ls agree on the automatic ones.
	[ "$(served_auto "$CT")" = "$(listed_auto "$CT")" ]
	agree "$CT"
}

@test "restore after live changes serves the changed table" {
	www_start rest "$(ports_ann '18920:3000, 18921:3001')" 'httpd -p 3000 -h /www; httpd -p 3001 -h /www; httpd -f -p 3002 -h /www'
	assert_status 0
	wait_for 5 port_listening 18921
	trace "$PORTSIDECTL" expose "$CT" 18922:3002
	assert_status 0
	trace "$PORTSIDECTL" unexpose "$CT" 18921
	assert_status 0
	local old
	old=$(sidecar_pid "$CT")
	kill -9 "$old"
	wait_for 3 gone_or_zombie "$old"
	wait_for 3 port_free 18920
	[ "$(ls_state "$CT")" = dead ]
	trace "$PORTSIDECTL" restore "$CT"
	assert_status 0
	[ "$(sidecar_pid "$CT")" != "$old" ]
	run http_get 18920
	[ "$output" = "hello from rest" ]
	run http_get 18922
	[ "$output" = "hello from rest" ]
	port_free 18921
	refused_at_once 18921
	[ "$(awk '{print $2}' <<<"$(recorded "$CT")" | sort -u | tr '\n' ' ')" = "18920 18922 " ]
	agree "$CT"
	# Nothing more to do now.
	trace "$PORTSIDECTL" restore "$CT"
	assert_status 0
	assert_output_has "nothing to restore"
}

# paused STEP PORT: `expose $CT PORT:3001` stopped at STEP (in the
# background, $BGPID), until a test kills it or sends SIGUSR1.
paused() {
	PORTSIDE_FAULT_PAUSE=$1 bg "$PORTSIDECTL" expose "$CT" "$2:3001"
	wait_for 5 grep -q "paused at $1" "$BGOUT"
}

@test "portsidectl killed with listeners bound, nothing recorded: no port left bound, nothing changed" {
	www_start kbound "$(ports_ann '18923:3000')" 'httpd -p 3000 -h /www; httpd -f -p 3001 -h /www'
	assert_status 0
	wait_for 5 port_listening 18923
	cp "$STATEDIR/$CT/forwards.json" "$TMP/before.json"
	paused bound 18924
	# Bound by portsidectl, root, in the host's namespace.
	port_listening 18924
	kill -9 "$BGPID"
	wait "$BGPID" || true
	port_free 18924
	cmp "$TMP/before.json" "$STATEDIR/$CT/forwards.json"
	agree "$CT"
	run timeout 10 "$PORTSIDECTL" doctor "$CT"
	assert_status 0
	# The lock died with it: the next change goes through.
	trace "$PORTSIDECTL" expose "$CT" 18924:3001
	assert_status 0
	run http_get 18924
	[ "$output" = "hello from kbound" ]
	agree "$CT"
}

@test "portsidectl killed after the record, before the sidecar was told: doctor says so, restore serves the change" {
	www_start krec "$(ports_ann '18925:3000')" 'httpd -p 3000 -h /www; httpd -f -p 3001 -h /www'
	assert_status 0
	wait_for 5 port_listening 18925
	paused recorded 18926
	kill -9 "$BGPID"
	wait "$BGPID" || true
	# Its listener closed with it: no port bound by nobody.
	port_free 18926
	recorded_has "$CT" "0.0.0.0 18926 3001 tcp"
	run served_explicit "$CT"
	assert_output_lacks " 18926 "
	trace timeout 10 "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "a change was cut short"
	assert_output_has "portsidectl restore $CT"
	trace "$PORTSIDECTL" restore "$CT"
	assert_status 0
	run http_get 18926
	[ "$output" = "hello from krec" ]
	run http_get 18925
	[ "$output" = "hello from krec" ]
	agree "$CT"
	trace timeout 10 "$PORTSIDECTL" doctor "$CT"
	assert_status 0
}

@test "the sidecar killed while portsidectl is about to tell it: one line saying so, ls says dead, restore serves the changed record" {
	www_start ksc "$(ports_ann '18927:3000')" 'httpd -p 3000 -h /www; httpd -f -p 3001 -h /www'
	assert_status 0
	wait_for 5 port_listening 18927
	local sc
	sc=$(sidecar_pid "$CT")
	paused recorded 18928
	kill -9 "$sc"
	wait_for 3 gone_or_zombie "$sc"
	kill -USR1 "$BGPID"
	local st=0
	wait "$BGPID" || st=$?
	[ "$st" -eq 1 ]
	# One line after the pause's own.
	grep -v "paused at recorded" "$BGOUT" >"$TMP/said"
	cat "$TMP/said" >&2
	[ "$(wc -l <"$TMP/said")" -eq 1 ]
	grep -q "^portsidectl: the sidecar of $CT did not answer" "$TMP/said"
	grep -qF "portsidectl restore $CT" "$TMP/said"
	port_free 18928
	[ "$(ls_state "$CT")" = dead ]
	recorded_has "$CT" "0.0.0.0 18928 3001 tcp"
	trace "$PORTSIDECTL" restore "$CT"
	assert_status 0
	run http_get 18928
	[ "$output" = "hello from ksc" ]
	run http_get 18927
	[ "$output" = "hello from ksc" ]
	agree "$CT"
}

@test "refusals: each one line, exit 1; usage errors exit 2" {
	echo '{"externalPorts": ["18929-18935"], "hostIP": "127.0.0.1", "maxPorts": 4, "autoforwardPorts": []}' >"$TMP/policy.json"
	www_start refuse "$(ports_ann '18929:3000, 18930:3001')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	wait_for 5 port_listening 18930
	cp "$STATEDIR/$CT/forwards.json" "$TMP/before.json"
	ctl expose "$CT" 22:3000
	one_line_refusal "port 22 (ssh) is reserved"
	ctl expose "$CT" 8283:3000
	one_line_refusal "port 8283 is reserved"
	ctl expose "$CT" 18950:3000
	one_line_refusal "external port 18950 is not allowed by the host policy (externalPorts)"
	ctl expose "$CT" 127.0.0.2:18931:3000
	one_line_refusal "host address 127.0.0.2 is not allowed by the host policy"
	# maxPorts counts the two mappings there: three more is five.
	ctl expose "$CT" 18931:3000 18932:3000 18933:3000
	one_line_refusal "would have 5 ports, more than the policy's maxPorts (4)"
	ctl expose "$CT" 18929:3005
	one_line_refusal "host port 18929/tcp is mapped to local port 3000 of this container already"
	bg socat TCP-LISTEN:18934,bind=127.0.0.1,reuseaddr,fork /dev/null
	wait_for 3 port_listening 18934
	ctl expose "$CT" 18934:3000
	one_line_refusal "18934"
	[[ "$stderr" == *"in use by socat"* ]]
	ctl unexpose "$CT" 18935
	one_line_refusal "host port 18935 is not forwarded for $CT"
	ctl unexpose "$CT" --local 3999/udp
	one_line_refusal "local port 3999/udp is not forwarded"
	ctl autoforward "$CT" public
	one_line_refusal "gives no autoforwardPorts"
	ctl expose "$CT" 'no:such:thing'
	one_line_refusal "expose"
	ctl expose "$CT" '[{"localPort": "x"}]'
	one_line_refusal "expose"
	ctl expose "$CT" --json '{"localPort": 3000}'
	one_line_refusal "--json takes a JSON array of mappings"
	# Nothing of all that reached the record.
	cmp "$TMP/before.json" "$STATEDIR/$CT/forwards.json"
	agree "$CT"
	# Usage.
	ctl expose
	[ "$status" -eq 2 ]
	ctl expose "$CT"
	[ "$status" -eq 2 ]
	ctl expose "$CT" 18931:3000,18932:3000
	[ "$status" -eq 2 ]
	ctl unexpose "$CT"
	[ "$status" -eq 2 ]
	ctl unexpose "$CT" http
	[ "$status" -eq 2 ]
	ctl unexpose "$CT" 0
	[ "$status" -eq 2 ]
	ctl unexpose "$CT" 70000
	[ "$status" -eq 2 ]
	ctl unexpose --bogus "$CT" 18929
	[ "$status" -eq 2 ]
	ctl autoforward "$CT"
	[ "$status" -eq 2 ]
	ctl autoforward "$CT" sometimes
	[ "$status" -eq 2 ]
	[[ "$stderr" == "portsidectl: "* ]]
	# A name that is nobody's.
	ctl expose nosuchcontainer 18931:3000
	one_line_refusal "no container portside forwards matches 'nosuchcontainer'"
	# A dead sidecar: restore first.
	local sc
	sc=$(sidecar_pid "$CT")
	kill -9 "$sc"
	wait_for 3 gone_or_zombie "$sc"
	ctl expose "$CT" 18931:3000
	one_line_refusal "run portsidectl restore $CT first"
	ctl unexpose "$CT" 18929
	one_line_refusal "run portsidectl restore $CT first"
	# A stopped container (its record still there until runc delete).
	runc kill "$CT" KILL
	wait_for 5 runc_stopped "$CT"
	ctl expose "$CT" 18931:3000
	one_line_refusal "is not running"
	port_free 18931
}

@test "refusals: maxAutoforwards 0 keeps automatic forwarding off; reserved ports stay refused without externalPorts" {
	echo '{"maxAutoforwards": 0}' >"$TMP/policy.json"
	www_start noauto "$(auto_ann '18936:3000' never)" 'httpd -f -p 3000 -h /www'
	assert_status 0
	wait_for 5 port_listening 18936
	ctl autoforward "$CT" public
	one_line_refusal "has maxAutoforwards 0"
	ctl autoforward "$CT" all
	one_line_refusal "has maxAutoforwards 0"
	ctl autoforward "$CT" never
	[ "$status" -eq 0 ]
	[[ "$output" == *"(already)"* ]]
	ctl expose "$CT" 22:3000
	one_line_refusal "port 22 (ssh) is reserved"
	ctl expose "$CT" 8283:3000
	one_line_refusal "port 8283 is reserved"
}

@test "refusals: a pool container's mapping may name its own pool address, never another's" {
	echo '{"addressPool": "127.78.0.0/16"}' >"$TMP/policy.json"
	www_start pool1 "$(ports_ann '18938:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	local first=$CT
	www_start pool2 "$(ports_ann '18939:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	grep -q '"hostIP":"127.78.0.2"' "$STATEDIR/$CT/forwards.json" ||
		grep -q '"hostIP": *"127.78.0.2"' "$STATEDIR/$CT/forwards.json"
	ctl expose "$CT" 127.78.0.1:18940:3000
	one_line_refusal "host address 127.78.0.1 is not this container's pool address (127.78.0.2)"
	ctl expose "$CT" 127.0.0.1:18940:3000
	one_line_refusal "127.0.0.1"
	port_free 18940
	# Its own address, and no address at all (its pool address then).
	trace "$PORTSIDECTL" expose "$CT" 127.78.0.2:18940:3000 18941:3000
	assert_status 0
	assert_output_has "forwarding 127.78.0.2:18940 -> 3000/tcp"
	assert_output_has "forwarding 127.78.0.2:18941 -> 3000/tcp"
	run curl -fsS --max-time 5 http://127.78.0.2:18941/
	[ "$output" = "hello from pool2" ]
	refute curl -fsS --max-time 2 http://127.78.0.1:18941/
	agree "$CT"
	agree "$first"
}

@test "podman: expose and unexpose by the container's name" {
	podman_setup
	podman_start pod1 "18942:3000" 'httpd -p 3000 -h /www; httpd -f -p 3001 -h /www'
	assert_status 0
	echo "hello from pod1" >"$TMP/pod1/www/index.html"
	wait_for 5 port_listening 18942
	trace "$PORTSIDECTL" expose "${CT_PREFIX}pod1" 18943:3001
	assert_status 0
	assert_output_has "forwarding 0.0.0.0:18943 -> 3001/tcp"
	run http_get 18943
	[ "$output" = "hello from pod1" ]
	agree "$CT"
	trace "$PORTSIDECTL" unexpose "${CT_PREFIX}pod1" 18942
	assert_status 0
	port_free 18942
	run http_get 18943
	[ "$output" = "hello from pod1" ]
	agree "$CT"
}

@test "kube play: a change named by either container, or by NS/POD/CONTAINER, goes to the pod's one sidecar" {
	podman_setup
	local pod=${CT_PREFIX}kp
	pod_yaml "$pod" "18944:3000"
	local before
	before=$(all_sidecars | wc -l)
	trace P kube play "$TMP/pod.yaml"
	assert_status 0
	wait_for 5 port_listening 18944
	local owner="" id
	for id in $(podman ps -q --no-trunc --filter "pod=$pod"); do
		[ -f "$STATEDIR/$id/sidecar.pid" ] && owner=$id
	done
	[ -n "$owner" ]
	# By the second container's podman name.
	trace "$PORTSIDECTL" expose "$pod-api" 18945:3001
	assert_status 0
	run http_get 18945
	[ "$output" = "hello from the pod" ]
	# By NS/POD/CONTAINER, either container.
	trace "$PORTSIDECTL" expose "default/$pod/web" 18946:3001
	assert_status 0
	run http_get 18946
	[ "$output" = "hello from the pod" ]
	trace "$PORTSIDECTL" unexpose "default/$pod/api" 18945
	assert_status 0
	port_free 18945
	trace "$PORTSIDECTL" unexpose "$pod/web" 18944
	assert_status 0
	port_free 18944
	# One sidecar still, the owner's record has it all.
	[ "$(all_sidecars | wc -l)" -eq $((before + 1)) ]
	[ "$(awk '{print $2}' <<<"$(recorded "$owner")" | sort -u)" = 18946 ]
	agree "$owner"
}

@test "concurrent: two exposes at once both land; an expose while another container starts; an expose racing an automatic hand-out" {
	echo '{"autoforwardPorts": [18950]}' >"$TMP/policy.json"
	www_start conc "$(ports_ann '18947:3000')" 'httpd -p 3000 -h /www; httpd -p 3001 -h /www; httpd -f -p 3002 -h /www'
	assert_status 0
	wait_for 5 port_listening 18947
	local ct=$CT
	bg "$PORTSIDECTL" expose "$ct" 18948:3001
	local a=$BGPID aout=$BGOUT
	bg "$PORTSIDECTL" expose "$ct" 18949:3002
	local b=$BGPID bout=$BGOUT
	wait "$a" || { cat "$aout" >&2; false; }
	wait "$b" || { cat "$bout" >&2; false; }
	grep -q "forwarding 0.0.0.0:18948 -> 3001/tcp" "$aout"
	grep -q "forwarding 0.0.0.0:18949 -> 3002/tcp" "$bout"
	recorded_has "$ct" "0.0.0.0 18948 3001 tcp"
	recorded_has "$ct" "0.0.0.0 18949 3002 tcp"
	listed "$ct" | grep -q ' 18948 3001 '
	listed "$ct" | grep -q ' 18949 3002 '
	run http_get 18948
	[ "$output" = "hello from conc" ]
	run http_get 18949
	[ "$output" = "hello from conc" ]
	agree "$ct"
	# Another container starts while the first one's table changes.
	mkdir -p "$TMP/conc2/www"
	echo "hello from conc2" >"$TMP/conc2/www/index.html"
	make_bundle "$TMP/conc2" "$(ports_ann '18951:3000')" 'httpd -f -p 3000 -h /www'
	bg runc run -d --bundle "$TMP/conc2" "${CT_PREFIX}conc2" </dev/null
	local c=$BGPID cout=$BGOUT
	trace "$PORTSIDECTL" unexpose "$ct" 18948
	assert_status 0
	trace "$PORTSIDECTL" expose "$ct" 18952:3001
	assert_status 0
	wait "$c" || { cat "$cout" >&2; false; }
	wait_for 5 port_listening 18951
	run http_get 18951
	[ "$output" = "hello from conc2" ]
	run http_get 18952
	[ "$output" = "hello from conc" ]
	port_free 18948
	agree "$ct"
	agree "${CT_PREFIX}conc2"
	# The app opens a port as an expose asks for the host port automatic
	# forwarding hands out: one of them has it, and everything agrees.
	runc exec -d "$ct" httpd -f -p 4700 -h /www </dev/null >/dev/null 2>&1
	sleep 0.$((RANDOM % 10))
	ctl expose "$ct" 18950:3001
	sleep 1.5
	if [ "$status" -eq 0 ]; then
		recorded_has "$ct" "0.0.0.0 18950 3001 tcp"
		[ -z "$(served_auto "$ct")" ]
	else
		one_line_refusal "18950"
		[ "$(served_auto "$ct" | awk '$1 == "0.0.0.0" {print $2, $3}')" = "18950 4700" ]
		[ "$(listed_auto "$ct")" = "$(served_auto "$ct")" ]
	fi
	run http_get 18950
	[ "$output" = "hello from conc" ]
	agree "$ct"
}

@test "a range exposed at once: 100 ports, 200 listeners, more than one message carries" {
	www_start range1 "$(ports_ann '18955:3000')" 'httpd -p 3000 -h /www; i=3100; while [ $i -lt 3200 ]; do httpd -p $i -h /www; i=$((i+1)); done; exec sleep 1000'
	assert_status 0
	trace "$PORTSIDECTL" expose "$CT" 18700-18799:3100-3199
	assert_status 0
	[ "$(grep -c '^forwarding' <<<"$output")" -ge 100 ]
	wait_for 5 http_get 18700
	run http_get 18700
	[ "$output" = "hello from range1" ]
	wait_for 5 http_get 18799
	run http_get 18799
	[ "$output" = "hello from range1" ]
	trace "$PORTSIDECTL" unexpose "$CT" --local 3150
	assert_status 0
	refute http_get 18750
	run http_get 18751
	[ "$output" = "hello from range1" ]
}

@test "maxPorts counts the table as it will be: new local ports fit up to the limit, one more is refused" {
	echo '{"maxPorts": 4, "autoforwardPorts": []}' >"$TMP/policy.json"
	www_start maxp "$(ports_ann '18960:3000, 18961:3001')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	# Two mappings there, two of new local ports asked: four, the limit.
	ctl expose "$CT" 18962:3002 18963:3003
	[ "$status" -eq 0 ]
	ctl expose "$CT" 18964:3004
	one_line_refusal "would have 5 ports, more than the policy's maxPorts (4)"
	port_free 18964
	# A port unexpose leaves known still counts: nothing freed for 3004.
	ctl unexpose "$CT" 18963
	[ "$status" -eq 0 ]
	ctl expose "$CT" 18964:3004
	one_line_refusal "would have 5 ports, more than the policy's maxPorts (4)"
	# Its own local port again fits.
	ctl expose "$CT" 18963:3003
	[ "$status" -eq 0 ]
	agree "$CT"
}
