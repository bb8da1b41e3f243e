#!/usr/bin/env bats
# Per-mapping visibility and label under runc: a private mapping listens on
# loopback only, a public one on every address; ls shows both and the label.
# Host ports 18820-18839.

load helpers
load containers

setup() {
	suite_setup
}

teardown() {
	suite_teardown
}

# web NAME ANNOTATIONS: an httpd on port 3000 serving "hello from NAME".
web() { www_start "$1" "$2" "${3:-httpd -f -p 3000 -h /www}"; }

# bound PORT: the host addresses TCP PORT listens on, one a line, sorted.
bound() {
	ss -Hltn "sport = :$1" | awk '{print $4}' | sort
}

# loopback_only PORT: PORT listens on 127.0.0.1 (and [::1] when this host
# has IPv6), and on nothing else.
loopback_only() {
	local b
	b=$(bound "$1")
	echo "port $1 is bound on: $b"
	grep -qx "127.0.0.1:$1" <<<"$b"
	refute grep -vqxE "127\.0\.0\.1:$1|\[::1\]:$1" <<<"$b"
	if ip -6 addr show dev lo | grep -q '::1/128'; then grep -qxF "[::1]:$1" <<<"$b"; fi
}

@test "a private and a public mapping: loopback only, and every address; ls shows visibility and label" {
	web both "$(ports_ann '[{"localPort":3000,"externalPort":18820,"visibility":"private","label":"admin ui"},{"localPort":3000,"externalPort":18821,"label":"web"}]')"
	assert_status 0
	loopback_only 18820
	run bound 18821
	echo "$output"
	grep -qx "0.0.0.0:18821" <<<"$output"
	refute grep -q "^127\." <<<"$output"
	# Both serve, from this host.
	run http_get 18820
	[ "$output" = "hello from both" ]
	run http_get 18821
	[ "$output" = "hello from both" ]
	trace "$PORTSIDECTL" ls
	assert_status 0
	assert_output_has "VISIBILITY"
	assert_output_has "LABEL"
	[[ "$output" =~ 127\.0\.0\.1:18820\ +3000/tcp\ +explicit\ .*running\ +private\ +admin\ ui ]]
	[[ "$output" =~ 0\.0\.0\.0:18821\ +3000/tcp\ +explicit\ .*running\ +public\ +web ]]
	trace "$PORTSIDECTL" ls --json
	assert_status 0
	# One object per listener: the private one's carries its label.
	run bash -c "'$PORTSIDECTL' ls --json | tr -d ' \n' | grep -o '{\"hostIP\":\"127.0.0.1\",\"externalPort\":18820[^}]*}'"
	echo "$output"
	[[ "$output" == *'"visibility":"private"'* ]]
	[[ "$output" == *'"label":"adminui"'* ]] # spaces were squeezed out above
	run bash -c "'$PORTSIDECTL' ls --json | tr -d '\n' | grep -o '{[^{}]*\"externalPort\":18821[^{}]*}' | head -1"
	echo "$output"
	[[ "$output" == *'"visibility":"public"'* ]]
	[[ "$output" == *'"label":"web"'* ]]
}

@test "a mapping without a label has none in ls; the record keeps the label" {
	web nolabel "$(ports_ann '[{"localPort":3000,"externalPort":18822},{"localPort":3000,"externalPort":18823,"label":"docs"}]')"
	assert_status 0
	grep -q '"label":"docs"' "$STATEDIR/$CT/forwards.json" || grep -q '"label": "docs"' "$STATEDIR/$CT/forwards.json"
	trace "$PORTSIDECTL" ls
	# LABEL "-", then NAME and ALLOW (none either).
	[[ "$output" =~ 0\.0\.0\.0:18822\ .*running\ +public\ +-\ +-\ +-$'\n' ]]
	run bash -c "'$PORTSIDECTL' ls --json | tr -d '\n' | grep -o '{[^{}]*\"externalPort\":18822[^{}]*}' | head -1"
	echo "$output"
	[[ "$output" == *'"label":""'* ]]
}

@test "a private mapping with a non-loopback hostIP stops the container, with the reason" {
	web contra "$(ports_ann '[{"localPort":3000,"externalPort":18824,"hostIP":"0.0.0.0","visibility":"private"}]')"
	[ "$status" -ne 0 ]
	assert_output_has "entry 1: visibility is private but hostIP 0.0.0.0 is not loopback (public)"
	port_free 18824
}

@test "policy visibility private: a compact mapping and an automatic forward bind loopback only" {
	echo '{"visibility":"private","autoforwardPorts":[18826,18827]}' >"$TMP/policy.json"
	web privpol "$(ports_ann '18825:3000')" 'httpd -f -p 3000 -h /www & sleep 1; httpd -f -p 4500 -h /www & exec sleep 1000'
	assert_status 0
	loopback_only 18825
	run http_get 18825
	[ "$output" = "hello from privpol" ]
	# The port the app opens later is forwarded on loopback too.
	wait_for 5 port_listening 18826
	loopback_only 18826
	run http_get 18826
	[ "$output" = "hello from privpol" ]
	trace "$PORTSIDECTL" ls
	[[ "$output" =~ 127\.0\.0\.1:18825\ +3000/tcp\ +explicit\ .*private ]]
	[[ "$output" =~ 127\.0\.0\.1:18826\ +4500/tcp\ +auto\ .*private ]]
	# A mapping that says public is public under that policy.
	web pubpol "$(ports_ann '[{"localPort":3000,"externalPort":18828,"visibility":"public"}]')"
	assert_status 0
	run bound 18828
	grep -qx "0.0.0.0:18828" <<<"$output"
}

@test "with a loopback addressPool, a private mapping keeps the container's own pool address" {
	echo '{"addressPool":"127.78.0.0/16"}' >"$TMP/policy.json"
	web privpool "$(ports_ann '[{"localPort":3000,"externalPort":18829,"visibility":"private"}]')"
	assert_status 0
	run bound 18829
	echo "$output"
	[ "$(wc -l <<<"$output")" -eq 1 ]
	[[ "$output" =~ ^127\.78\.[0-9]+\.[0-9]+:18829$ ]]
	run curl -fsS --max-time 5 "http://${output}/"
	[ "$output" = "hello from privpool" ]
}
