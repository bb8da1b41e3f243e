#!/usr/bin/env bats
# portsidectl ls and doctor against real runc containers.

load helpers
load containers

setup() {
	suite_setup
}

teardown() {
	# Containers with ids of a test's choosing (not $CT_PREFIX...): delete
	# -f kills them, and their poststop removes their sidecars.
	for id in ${OWN_IDS:-}; do
		runc delete -f "$id" >/dev/null 2>&1 || true
	done
	suite_teardown
}

# web_id ID NAME PORTS CMD: a runc container with id ID (teardown removes it)
# serving "hello from NAME" from /www.
web_id() {
	local id=$1 dir=$TMP/$2
	OWN_IDS="${OWN_IDS:-} $id"
	mkdir -p "$dir/www"
	echo "hello from $2" >"$dir/www/index.html"
	make_bundle "$dir" "$(ports_ann "$3")" "$4"
	trace bash -c 'runc run -d --bundle "$0" "$1" </dev/null >"$0/runtime.out" 2>&1; rc=$?; cat "$0/runtime.out"; exit $rc' \
		"$dir" "$id"
}

# web NAME PORTS CMD: a container serving "hello from NAME" from /www.
web() { www_start "$1" "$(ports_ann "$2")" "$3"; }

@test "ls shows each forwarded container, its mappings, connections and bytes" {
	web listed "18950:3000" "httpd -f -p 3000 -h /www"
	assert_status 0
	run http_get 18950
	[ "$output" = "hello from listed" ]
	trace "$PORTSIDECTL" ls
	assert_status 0
	assert_output_has "CONTAINER"
	[[ "$output" =~ ${CT}\ +0\.0\.0\.0:18950\ +3000/tcp\ +explicit\ +0\ +[0-9]+B\ +[0-9.]+(B|kB)\ +running ]]
	assert_output_has "[::]:18950"
	trace "$PORTSIDECTL" ls --json
	assert_status 0
	assert_output_has "\"id\":\"$CT\""
	assert_output_has '"externalPort":18950'
	assert_output_has '"how":"explicit"'
	# Bytes went out to the client: the counter moved.
	[[ "$output" =~ \"bytesOut\":[1-9][0-9]* ]]
}

@test "doctor: a mapping that works is ok" {
	web fine "18951:3000" "httpd -f -p 3000 -h /www"
	assert_status 0
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 0
	assert_output_has "ok: the app listens on"
	assert_output_has ":3000"
}

@test "doctor: the app listens on 8080 while 3000 is mapped" {
	web wrongport "18952:3000" "httpd -f -p 8080 -h /www"
	assert_status 0
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "nothing listens on port 3000 in the container; unmapped, the app listens on 8080"
	assert_output_has "fix: map the port the app uses (io.portside.ports=18952:8080), or make the app listen on 3000"
	trace "$PORTSIDECTL" doctor --json "$CT"
	assert_output_has '"status":"problem"'
}

@test "doctor: the app binds 127.0.0.1 without exposeLocalhost" {
	web loopback "18953:3000" "httpd -f -p 127.0.0.1:3000 -h /www"
	assert_status 0
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "the app listens on 127.0.0.1:3000 only (localhost)"
	assert_output_has "bind the app to 0.0.0.0 (or ::), or set \"exposeLocalhost\": true"
}

@test "doctor: the host port is held by another process, named" {
	socat TCP-LISTEN:18954,reuseaddr,fork EXEC:true &
	holder=$!
	wait_for 2 port_listening 18954
	web held "18954:3000" "httpd -f -p 3000 -h /www"
	kill "$holder"
	[ "$status" -ne 0 ]
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "host port 18954/tcp is already in use by socat (pid $holder)"
	assert_output_has "fix: stop the process that holds the host port, or map another external port"
}

@test "doctor: a reserved port" {
	web reserved "18955:22" "httpd -f -p 22 -h /www"
	[ "$status" -ne 0 ]
	trace "$PORTSIDECTL" doctor "$CT"
	assert_status 1
	assert_output_has "port 22 (ssh) is reserved"
	assert_output_has "fix: ports 22 and 8283 can never be forwarded"
}

@test "doctor: an unknown container is an error, not a diagnosis" {
	trace "$PORTSIDECTL" doctor no-such-container
	assert_status 1
	assert_output_has "no container portside forwards matches 'no-such-container'"
}

@test "names: an id chosen to be another's 12-character short id names neither, and ls shows the longer id" {
	local long short
	long=$(printf '%s' "$CT_PREFIX$RANDOM$RANDOM" | sha256sum | cut -c1-64)
	short=${long:0:12}
	web_id "$long" random "18956:3000" "httpd -f -p 3000 -h /www"
	assert_status 0
	trace "$PORTSIDECTL" ls -q
	assert_output_has "$short"
	# A second container takes the 12 characters ls showed as its id.
	web_id "$short" squatter "18957:3000" "httpd -f -p 3000 -h /www"
	assert_status 0
	wait_for 5 port_listening 18957
	# ls tells them apart: 13 characters of the random id, the chosen one whole.
	trace "$PORTSIDECTL" ls -q
	assert_status 0
	grep -qx "${long:0:13}" <<<"$output"
	grep -qx "$short" <<<"$output"
	trace "$PORTSIDECTL" ls
	[[ "$output" =~ (^|$'\n')${long:0:13}\ +0\.0\.0\.0:18956 ]]
	[[ "$output" =~ (^|$'\n')${short}\ +0\.0\.0\.0:18957 ]]
	trace "$PORTSIDECTL" url "$short" 3000
	assert_status 1
	assert_output_has "'$short' matches 2 containers"
	assert_output_has "${long:0:13} by id prefix"
	assert_output_has "$short by id"
	trace "$PORTSIDECTL" wait "$short" 3000 --timeout 2
	assert_status 1
	assert_output_has "matches 2 containers"
	# What ls shows names one.
	trace "$PORTSIDECTL" url "${long:0:13}" 3000
	assert_status 0
	[ "$output" = "http://127.0.0.1:18956/" ]
}

@test "names: an exact id that is also a podman container's name names neither" {
	podman_setup
	podman_start pn '18958:3000' 'httpd -f -p 3000 -h /www; exec sleep 1000'
	assert_status 0
	local pid_id=$CT
	www_start pn "$(ports_ann '18959:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	[ "$CT" = "${CT_PREFIX}pn" ]
	trace "$PORTSIDECTL" url "${CT_PREFIX}pn" 3000
	assert_status 1
	assert_output_has "matches 2 containers"
	assert_output_has "by podman name"
	# The whole podman id still names the podman one.
	trace "$PORTSIDECTL" url "$pid_id" 3000
	assert_status 0
	[ "$output" = "http://127.0.0.1:18958/" ]
}

@test "wait: a name that comes to fit a second container while waiting does not succeed" {
	local long short
	long=$(printf '%s' "$CT_PREFIX$RANDOM$RANDOM" | sha256sum | cut -c1-64)
	short=${long:0:12}
	# Its app comes up after 5 s: wait is still waiting when the squatter comes.
	web_id "$long" slow "18960:3000" "sleep 5; exec httpd -f -p 3000 -h /www"
	assert_status 0
	"$PORTSIDECTL" wait "$short" 3000 --timeout 10 >"$TMP/wait.out" 2>&1 &
	local waiter=$!
	sleep 0.5
	web_id "$short" squatter "18961:3000" "httpd -f -p 3000 -h /www"
	assert_status 0
	local rc=0
	wait "$waiter" || rc=$?
	cat "$TMP/wait.out" >&2
	[ "$rc" -eq 1 ]
	grep -qF "'$short' matches 2 containers" "$TMP/wait.out"
}

@test "names: a podman container's name is not a runc id's while portside does not forward the podman one" {
	podman_setup
	# podman's container by that name exists, not started: not forwarded.
	trace P create --name "${CT_PREFIX}db" "$IMAGE" sleep 1000
	assert_status 0
	local pid_id
	pid_id=$(podman inspect -f '{{.Id}}' "${CT_PREFIX}db")
	# A runc container whose chosen id is that name.
	www_start db "$(ports_ann '18962:3000')" 'httpd -f -p 3000 -h /www'
	assert_status 0
	[ "$CT" = "${CT_PREFIX}db" ]
	wait_for 5 port_listening 18962
	trace "$PORTSIDECTL" url "${CT_PREFIX}db" 3000
	assert_status 1
	assert_output_has "'${CT_PREFIX}db' matches 2 containers"
	assert_output_has "${CT_PREFIX}db by id"
	assert_output_has "${pid_id:0:12} by podman name (not running)"
	# Whoever waits for their podman container is not told the runc one is ready.
	trace "$PORTSIDECTL" wait "${CT_PREFIX}db" 3000 --timeout 2
	assert_status 1
	assert_output_has "matches 2 containers"
	# Alone, podman's container not forwarded is what the name names: no url.
	runc delete -f "${CT_PREFIX}db" >/dev/null 2>&1
	wait_for 5 port_free 18962
	trace "$PORTSIDECTL" url "${CT_PREFIX}db" 3000
	assert_status 1
	assert_output_has "(podman container ${pid_id:0:12}) is not forwarded by portside"
}

@test "names: a stopped podman container's name and id do not go to a runc container that took its id" {
	podman_setup
	podman_start ps '18963:3000' 'httpd -f -p 3000 -h /www; exec sleep 1000'
	assert_status 0
	local pid_id=$CT
	wait_for 5 port_listening 18963
	trace "$PORTSIDECTL" url "${CT_PREFIX}ps" 3000
	assert_status 0
	[ "$output" = "http://127.0.0.1:18963/" ]
	trace P stop -t 0 "${CT_PREFIX}ps"
	assert_status 0
	wait_for 5 port_free 18963
	# Its id free at the runtime again, another container takes it.
	wait_for 5 refute runc state "$pid_id"
	web_id "$pid_id" squatter "18964:3000" "httpd -f -p 3000 -h /www"
	assert_status 0
	wait_for 5 port_listening 18964
	trace "$PORTSIDECTL" url "${CT_PREFIX}ps" 3000
	assert_status 1
	assert_output_has "is not forwarded by portside"
	assert_output_lacks "18964"
	# podman's id is podman's container's too: it names neither.
	trace "$PORTSIDECTL" url "$pid_id" 3000
	assert_status 1
	assert_output_has "matches 2 containers"
	assert_output_has "by podman name (not running)"
}

@test "logs: whatever got into a sidecar's log reaches the terminal harmless, line by line, each line bounded" {
	web logged "18609:3000" "httpd -f -p 3000 -h /www"
	assert_status 0
	# The rotated part: the sidecar writes only the current one.
	{
		printf 'an escape \033[2J and a bell \007 here\n'
		printf 'not UTF-8 \377\376, a NUL \000 inside\n'
		head -c 20000 /dev/zero | tr '\0' a
		printf '\nlast line\n'
	} >"$STATEDIR/$CT/sidecar.log.1"
	"$PORTSIDECTL" logs "$CT" >"$TMP/logs.out"
	refute grep -q "$(printf '\033')" "$TMP/logs.out"
	refute grep -q "$(printf '\007')" "$TMP/logs.out"
	iconv -f UTF-8 -t UTF-8 "$TMP/logs.out" >/dev/null
	[ "$(tr -cd '\000' <"$TMP/logs.out" | wc -c)" -eq 0 ]
	grep -q '^an escape ?\[2J and a bell ? here$' "$TMP/logs.out"
	grep -q 'a NUL ? inside$' "$TMP/logs.out"
	grep -q '^last line$' "$TMP/logs.out"
	grep -q '^aaaa*\.\.\.$' "$TMP/logs.out"
	[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$TMP/logs.out")" -le 4100 ]
	# The sidecar's own lines are still there after the rotated part.
	grep -q "serving" "$TMP/logs.out"
}
