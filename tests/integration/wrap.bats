#!/usr/bin/env bats
# portside-runc and portside-crun, the runtime wrapper containerd runs as its
# runc (packaging/kubernetes/): the hook goes into the bundle's config.json
# when it asks for portside, and the real runtime runs with the same
# arguments. Driven here as containerd's shim drives runc.

load helpers
load containers

WRAP=$PORTSIDE_BUILD/portside-runc

setup() {
	suite_setup
	NO_HOOKS=1
	# The wrapper's hook gets no --policy: the run's empty one comes from
	# the policy path the hook reads by default, so these tests use only
	# what no host policy changes (reserved ports are refused by any).
}

teardown() {
	suite_teardown
}

# wrapped NAME ANNOTATIONS CMD...: a bundle without hooks, started detached
# through WRAPPER (default portside-runc) with the shim's global options.
wrapped() {
	local name=$1 ann=$2
	shift 2
	CT=$CT_PREFIX$name
	BUNDLE=$TMP/$name
	make_bundle "$BUNDLE" "$ann" "$@"
	echo "hello from $name" >"$BUNDLE/www/index.html"
	cp "$BUNDLE/config.json" "$BUNDLE/config.orig"
	trace bash -c '"$0" --root /run/${RT:-runc} --log "$1/runtime.log" --log-format json run -d --bundle "$1" "$2" \
		</dev/null >"$1/runtime.out" 2>&1; rc=$?; cat "$1/runtime.out"; exit $rc' "${WRAPPER:-$WRAP}" "$BUNDLE" "$CT"
}

@test "portside-runc: a config asking for portside gets the hook, and its port is forwarded" {
	wrapped web "$(ports_ann 19100:3000)" "httpd -f -p 3000 -h /www"
	assert_status 0
	# Both stages, running the hook next to the wrapper.
	run grep -c "\"path\":\"$PORTSIDE_HOOK\"" "$BUNDLE/config.json"
	[ "$output" = 1 ] || { cat "$BUNDLE/config.json"; false; }
	grep -q '"createRuntime":\[{"path"' "$BUNDLE/config.json"
	grep -q '"poststop":\[{"path"' "$BUNDLE/config.json"
	wait_for 5 http_get 19100
	run http_get 19100
	[ "$output" = "hello from web" ]
	[ -f "$STATEDIR/$CT/sidecar.pid" ]
	# poststop ran through the added hook: the port and the state go.
	runc kill "$CT" KILL
	wait_for 5 runc_stopped "$CT"
	runc delete "$CT"
	wait_for 2 port_free 19100
	[ ! -e "$STATEDIR/$CT" ]
}

@test "portside-runc: a config without portside's annotations is run byte for byte as written" {
	wrapped plain '"org.example": "io.portside.ports in a value is not a key"' "sleep 60"
	assert_status 0
	cmp "$BUNDLE/config.orig" "$BUNDLE/config.json"
	[ "$(runc state "$CT" | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p')" = running ]
	[ ! -e "$STATEDIR/$CT" ]
}

@test "portside-runc: the hook's refusal reaches the runtime's caller in one line" {
	wrapped reserved "$(ports_ann 19101:22)" "sleep 60"
	[ "$status" -ne 0 ]
	grep -q 'port 22 (ssh) is reserved' "$BUNDLE/runtime.log" "$BUNDLE/runtime.out"
	port_free 19101
	[ ! -e "$STATEDIR/$CT" ]
}

@test "portside-runc: a config whose hooks it cannot extend fails the create, nothing started" {
	make_bundle "$TMP/bad" "$(ports_ann 19102:3000)" "sleep 60"
	sed -i 's/"hooks": {/"hooks": {"createRuntime": 7/' "$TMP/bad/config.json"
	cp "$TMP/bad/config.json" "$TMP/bad/config.orig"
	trace "$WRAP" --log "$TMP/bad/log.json" --log-format json run -d --bundle "$TMP/bad" "${CT_PREFIX}bad" </dev/null
	assert_status 1
	[ "${#lines[@]}" -eq 1 ]
	assert_output_has "portside: $TMP/bad/config.json: cannot add portside's hook"
	# And in runc's log, as runc writes its errors: containerd's shim reads
	# a failed runtime's reason only there.
	[ "$(jq -r 'select(.level == "error") | .msg' "$TMP/bad/log.json")" = "${lines[0]}" ]
	cmp "$TMP/bad/config.orig" "$TMP/bad/config.json"
	refute runc state "${CT_PREFIX}bad"
}

@test "portside-crun runs crun, with the hook" {
	need crun crun
	"$BATS_TEST_DIRNAME/host-quirks.sh"
	RT=crun WRAPPER=$PORTSIDE_BUILD/portside-crun wrapped crunweb "$(ports_ann 19103:3000)" "httpd -f -p 3000 -h /www"
	assert_status 0
	crun state "$CT" >/dev/null
	wait_for 5 http_get 19103
	run http_get 19103
	[ "$output" = "hello from crunweb" ]
}

@test "the wrapper under another name refuses to guess the runtime" {
	cp "$WRAP" "$TMP/runc"
	trace "$TMP/runc" --version
	assert_status 1
	[ "${#lines[@]}" -eq 1 ]
	assert_output_has "portside: called as runc: install this program as portside-runc or portside-crun"
	# Other commands pass through untouched.
	trace "$WRAP" --version
	assert_status 0
	assert_output_has "runc version"
}

@test "portside-runc: a bundle whose directory others may write to is refused when it asks for portside, run as is when not" {
	make_bundle "$TMP/open" "$(ports_ann 19104:3000)" "sleep 60"
	chmod 0777 "$TMP/open"
	cp "$TMP/open/config.json" "$TMP/open/config.orig"
	trace "$WRAP" run -d --bundle "$TMP/open" "${CT_PREFIX}open" </dev/null
	assert_status 1
	[ "${#lines[@]}" -eq 1 ]
	assert_output_has "portside: refusing to edit $TMP/open/config.json: its directory (mode 0777) can be written by group or others"
	cmp "$TMP/open/config.orig" "$TMP/open/config.json"
	refute runc state "${CT_PREFIX}open"
	# Nothing asked of portside: none of its business.
	make_bundle "$TMP/open2" '"org.example": "x"' "sleep 60"
	chmod 0777 "$TMP/open2"
	trace bash -c '"$0" run -d --bundle "$1" "$2" </dev/null >/dev/null 2>&1' "$WRAP" "$TMP/open2" "${CT_PREFIX}open2"
	assert_status 0
	runc state "${CT_PREFIX}open2" >/dev/null
}
