#!/usr/bin/env bats
# portsidectl check, as a user runs it.

load helpers

setup() {
	[ -x "$PORTSIDECTL" ] || { echo "build first: make" >&2; return 1; }
	TMP=$(mktemp -d)
	# The host's own policy must not change what these tests see.
	DEFAULT_POLICY=$TMP/default.json
	echo '{}' >"$DEFAULT_POLICY"
}

teardown() {
	rm -rf "$TMP"
}

check() {
	trace "$PORTSIDECTL" check --policy "$DEFAULT_POLICY" "$@"
}

@test "a simple mapping is printed as a table" {
	check '80:3000'
	assert_status 0
	assert_output_has "EXTERNAL"
	[[ "$output" =~ \*:80[[:space:]]+3000[[:space:]]+tcp[[:space:]]+no ]]
	assert_output_has "autoforward: public"
}

@test "the compact list of DESIGN.md normalises to three mappings" {
	check '80:3000, 127.0.0.1:5173:5173, 5353:53/udp'
	assert_status 0
	[[ "$output" =~ 127\.0\.0\.1:5173[[:space:]]+5173[[:space:]]+tcp ]]
	[[ "$output" =~ \*:5353[[:space:]]+53[[:space:]]+udp ]]
	[ "$(grep -c -E '^(\*|127)' <<<"$output")" -eq 3 ]
}

@test "a range expands to one mapping per port" {
	check '8000-8003:3000-3003'
	assert_status 0
	for i in 0 1 2 3; do
		[[ "$output" =~ \*:800$i[[:space:]]+300$i ]]
	done
}

@test "the JSON table spelling is accepted, with the Kubernetes aliases" {
	check '[{"localPort":3000,"externalPort":80,"exposeLocalhost":true},{"containerPort":53,"hostPort":5353,"protocol":"UDP"},{"localPort":9229}]'
	assert_status 0
	[[ "$output" =~ \*:80[[:space:]]+3000[[:space:]]+tcp[[:space:]]+yes ]]
	[[ "$output" =~ \*:5353[[:space:]]+53[[:space:]]+udp ]]
	assert_output_has "- (not exposed)"
}

@test "--json prints the normalised mappings for scripts" {
	check --json '80:3000 [::1]:8080:8080/udp'
	assert_status 0
	assert_output_has '"valid":true'
	assert_output_has '"localPort":3000'
	assert_output_has '"externalPort":80'
	assert_output_has '"hostIP":"::1"'
	assert_output_has '"protocol":"udp"'
} 

@test "port 22 as external port is refused, naming it" {
	check '22:3000'
	assert_status 1
	assert_output_has "io.portside.ports entry 1 '22:3000': port 22 (ssh) is reserved"
}

@test "port 8283 as local port is refused, naming it" {
	check '80:8283'
	assert_status 1
	assert_output_has "io.portside.ports entry 1 '80:8283': port 8283 is reserved"
}

@test "a port above 65535 is refused as out of range" {
	check '70000:80'
	assert_status 1
	assert_output_has 'external port 70000 is out of range 1-65535'
}

@test "ranges of unequal length are refused" {
	check '8000-8002:3000-3001'
	assert_status 1
	assert_output_has 'ranges of unequal length: 3 external ports for 2 local ports'
}

@test "every problem is printed, one line each, and nothing on stdout" {
	run --separate-stderr "$PORTSIDECTL" check --policy "$DEFAULT_POLICY" '22:3000 70000:80 80:x 80:3001'
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	grep -q 'entry 1' <<<"${stderr_lines[0]}"
	grep -q 'entry 2' <<<"${stderr_lines[1]}"
	grep -q 'entry 3' <<<"${stderr_lines[2]}"
}

@test "--json reports the problems as a list" {
	check --json '22:3000'
	assert_status 1
	assert_output_has '"valid":false'
	assert_output_has 'port 22 (ssh) is reserved'
}

@test "--policy with externalPorts refuses a port outside it" {
	echo '{"externalPorts":[80,3000,"8000-8010"]}' >"$TMP/p.json"
	trace "$PORTSIDECTL" check --policy "$TMP/p.json" '8080:3000'
	assert_status 1
	assert_output_has 'external port 8080 is not allowed by the host policy (externalPorts)'
	trace "$PORTSIDECTL" check --policy "$TMP/p.json" '80:3000 8005:8005'
	assert_status 0
}

@test "the shipped cloud-IDE profile allows exactly its list" {
	profile=$BATS_TEST_DIRNAME/../../packaging/policy/cloud-ide.json
	trace "$PORTSIDECTL" check --policy "$profile" '5173:5173 8081:8081'
	assert_status 0
	trace "$PORTSIDECTL" check --policy "$profile" '8082:3000'
	assert_status 1
	assert_output_has '8082 is not allowed'
}

@test "a bad policy file is refused with the field named" {
	echo '{"externalPorts":[80],"maxport":3}' >"$TMP/p.json"
	trace "$PORTSIDECTL" check --policy "$TMP/p.json" '80:3000'
	assert_status 1
	assert_output_has "$TMP/p.json: policy field 'maxport' is unknown"
	trace "$PORTSIDECTL" check --policy "$TMP/missing.json" '80:3000'
	assert_status 1
	assert_output_has "cannot open $TMP/missing.json"
}

@test "--autoforward is checked as the annotation is" {
	check --autoforward never '80:3000'
	assert_status 0
	assert_output_has 'autoforward: never'
	check --autoforward sometimes '80:3000'
	assert_status 1
	assert_output_has 'io.portside.autoforward must be public, all or never'
}

@test "a value can come from stdin" {
	trace bash -c "printf '%s\n' '[{\"localPort\":3000,\"externalPort\":80}]' | '$PORTSIDECTL' check --policy '$DEFAULT_POLICY' -"
	assert_status 0
	[[ "$output" =~ \*:80[[:space:]]+3000 ]]
}

@test "hostile input: shell words, control bytes and huge values are refused cleanly" {
	check '80:3000;touch /tmp/portside-pwned'
	assert_status 1
	[ ! -e /tmp/portside-pwned ]
	check "$(printf '80:3000\033[2J')"
	assert_status 1
	assert_output_has 'unexpected byte 0x1b'
	check "$(head -c 20000 /dev/zero | tr '\0' '8')"
	assert_status 1
	assert_output_has 'longer than 16384 bytes'
	check '[{"localPort":3000,"localPort":22}]'
	assert_status 1
	assert_output_has 'member named twice'
}

@test "usage errors exit 2" {
	trace "$PORTSIDECTL" check
	assert_status 2
	trace "$PORTSIDECTL" frobnicate
	assert_status 2
	assert_output_has 'unknown command'
	trace "$PORTSIDECTL" --help
	assert_status 0
	assert_output_has 'check'
}

@test "label and visibility are printed in the table and in --json" {
	check '[{"localPort":3000,"externalPort":80,"label":"web ui","visibility":"private"},{"localPort":4000,"externalPort":81}]'
	assert_status 0
	assert_output_has "VISIBILITY"
	[[ "$output" =~ localhost:80[[:space:]]+3000[[:space:]]+tcp[[:space:]].*private[[:space:]]+web\ ui ]]
	[[ "$output" =~ \*:81[[:space:]]+4000[[:space:]]+tcp[[:space:]].*public[[:space:]]+- ]]
	assert_output_has "automatic forwards: public"
	check --json '[{"localPort":3000,"externalPort":80,"label":"web ui","visibility":"private"},{"localPort":4000,"externalPort":81}]'
	assert_status 0
	assert_output_has '"visibility":"private"'
	assert_output_has '"label":"web ui"'
	assert_output_has '"visibility":"public"'
	assert_output_has '"label":null'
}

@test "a policy's visibility makes compact mappings private; a hostIP still decides its own" {
	echo '{"visibility":"private"}' >"$TMP/p.json"
	trace "$PORTSIDECTL" check --policy "$TMP/p.json" '80:3000 0.0.0.0:81:3001'
	assert_status 0
	[[ "$output" =~ localhost:80[[:space:]]+3000[[:space:]].*private ]]
	[[ "$output" =~ 0\.0\.0\.0:81[[:space:]]+3001[[:space:]].*public ]]
	assert_output_has "automatic forwards: private"
	echo '{"visibility":"secret"}' >"$TMP/p.json"
	trace "$PORTSIDECTL" check --policy "$TMP/p.json" '80:3000'
	assert_status 1
	assert_output_has 'policy field visibility must be "public" or "private"'
}

@test "bad labels and visibilities are refused, one line each naming entry and field" {
	run --separate-stderr "$PORTSIDECTL" check --policy "$DEFAULT_POLICY" \
		'[{"localPort":3000,"label":"$(id)"},{"localPort":3001,"label":"abcdefghijklmnopqrstuvwxyz0123456"},{"localPort":3002,"visibility":"hidden"},{"localPort":3003,"externalPort":80,"hostIP":"10.1.2.3","visibility":"private"},{"localPort":3004,"label":"\u001b[2J"}]'
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$(wc -l <<<"$stderr")" -eq 5 ]
	[[ "$stderr" == *"entry 1: label must be 1-32 characters"* ]]
	[[ "$stderr" == *"entry 2: label must be 1-32 characters"* ]]
	[[ "$stderr" == *'entry 3: visibility must be "public" or "private"'* ]]
	[[ "$stderr" == *"entry 4: visibility is private but hostIP 10.1.2.3 is not loopback (public)"* ]]
	[[ "$stderr" == *"entry 5: label must be"* ]]
	# The escape sequence never reaches the terminal.
	[[ "$stderr" != *$'\033'* ]]
}
