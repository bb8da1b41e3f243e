#!/bin/bash
# make soak: SOAK_RUNC (1000) runc and SOAK_PODMAN (200) podman start/stop
# cycles with portside, mixed with kills: every 7th cycle the sidecar is
# killed first (SIGKILL), every 11th the container's init. Each cycle's
# container is served through its pool address before it goes. A witness
# container runs throughout and answers a request every cycle; its sidecar's
# fd count and RSS are printed every 100 cycles, with what is left over.
# Afterwards nothing of the cycles may remain: no sidecar, no listening port,
# no state directory, no netns index entry, no pool address bound.
# Not part of check (about 10-15 minutes). Needs root.
set -u
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "soak: needs root (containers)" >&2; exit 1; }
for t in runc podman curl socat ss; do
	command -v "$t" >/dev/null || { echo "soak: $t is missing: run packaging/deps.sh" >&2; exit 1; }
done
PORTSIDE_BUILD=$(cd "${PORTSIDE_BUILD:-build}" && pwd)
SOAK_RUNC=${SOAK_RUNC:-1000}
SOAK_PODMAN=${SOAK_PODMAN:-200}
TMP=$(mktemp -d)
BATS_RUN_TMPDIR=$TMP
BATS_TEST_DIRNAME=$PWD/tests/integration
bats_require_minimum_version() { :; }
# shellcheck source=../integration/helpers.bash
. tests/integration/helpers.bash
# shellcheck source=../integration/containers.bash
. tests/integration/containers.bash
PREFIX=soak-$$-
POOL=127.79
echo "{\"addressPool\": \"$POOL.0.0/16\", \"autoforwardPorts\": [18895, 18896]}" >"$TMP/policy.json"
HOOK_ARGS="--policy $TMP/policy.json"
make_rootfs
failures=0

fail() {
	echo "soak: FAIL: $*"
	failures=$((failures + 1))
}

cleanup() {
	for id in $(runc list -q 2>/dev/null | grep "^$PREFIX"); do runc delete -f "$id" >/dev/null 2>&1; done
	for id in $(podman ps -aq --filter "name=^$PREFIX" 2>/dev/null); do podman rm -f -t 0 "$id" >/dev/null 2>&1; done
	rm -rf "$TMP"
}
trap cleanup EXIT

# start ID PORTS CMD: a runc container.
start() {
	make_bundle "$TMP/$1" "$(ports_ann "$2")" "$3"
	echo "hello from $1" >"$TMP/$1/www/index.html"
	runc run -d --bundle "$TMP/$1" "$1" </dev/null >"$TMP/$1.out" 2>&1
}

# url ID PORT
url() { "$PORTSIDECTL" url "$1" "$2" 2>/dev/null; }

report() {
	local w
	w=$(sidecar_pid "${PREFIX}witness")
	printf '%-8s %-6s  witness sidecar: fds %4s  RSS %6s kB   left over: sidecar processes %s  state dirs %s  netns entries %s\n' \
		"$1" "$2" "$(ls "/proc/$w/fd" 2>/dev/null | wc -l)" "$(awk '/^VmRSS/ {print $2}' "/proc/$w/status" 2>/dev/null)" \
		"$(pgrep -fc "portside-sidecar --id $PREFIX" || true)" "$(ls -d "$STATEDIR/$PREFIX"* 2>/dev/null | wc -l)" \
		"$(grep -l "$PREFIX" "$RUNDIR"/netns/* 2>/dev/null | wc -l)"
}

start "${PREFIX}witness" "18890:3000" "httpd -f -p 3000 -h /www" || { cat "$TMP/${PREFIX}witness.out"; exit 1; }
WITNESS=$(url "${PREFIX}witness" 3000)
echo "soak: $SOAK_RUNC runc cycles, then $SOAK_PODMAN podman cycles; witness at $WITNESS"
printf '%-8s %-6s\n' RUNTIME CYCLE
report runc 0
t0=$SECONDS
for i in $(seq 1 "$SOAK_RUNC"); do
	id=${PREFIX}r$i
	if ! start "$id" "18891:3000" "httpd -f -p 3000 -h /www & httpd -f -p 4000 -h /www & exec sleep 1000"; then
		fail "cycle $i: start: $(cat "$TMP/$id.out")"
		continue
	fi
	# The app starts after runc returns: served once it listens.
	"$PORTSIDECTL" wait "$id" 3000 --timeout 5 >/dev/null || fail "cycle $i: wait"
	u=$(url "$id" 3000)
	out=$(curl -fsS --max-time 3 "$u" 2>&1) || true
	if [ "$out" != "hello from $id" ]; then
		fail "cycle $i: $u said '$out'"
		# What an operator would look at, before the state goes.
		ss -Hltn | grep ':18891 ' | sed 's/^/soak:   ss: /'
		"$PORTSIDECTL" doctor "$id" 2>&1 | sed 's/^/soak:   doctor: /'
		tail -5 "$STATEDIR/$id/sidecar.log" 2>&1 | sed 's/^/soak:   log: /'
		out=$(curl -fsS --max-time 3 "$u" 2>&1) || true
		echo "soak:   asked again: '$out'"
	fi
	out=$(curl -fsS --max-time 3 "$WITNESS" 2>&1) || true
	[ "$out" = "hello from ${PREFIX}witness" ] || fail "cycle $i: the witness said '$out'"
	if ((i % 7 == 0)); then
		kill -9 "$(sidecar_pid "$id")" 2>/dev/null
	elif ((i % 11 == 0)); then
		runc kill "$id" KILL 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			runc state "$id" 2>/dev/null | grep -q '"stopped"' && break
			sleep 0.1
		done
	fi
	runc delete -f "$id" >/dev/null 2>&1 || fail "cycle $i: runc delete"
	rm -rf "${TMP:?}/$id" "$TMP/$id.out"
	((i % 100 == 0)) && report runc "$i"
done
echo "soak: $SOAK_RUNC runc cycles in $((SECONDS - t0)) s"

podman_setup >/dev/null
t0=$SECONDS
for i in $(seq 1 "$SOAK_PODMAN"); do
	name=${PREFIX}p$i
	mkdir -p "$TMP/$name"
	echo "hello from $name" >"$TMP/$name/index.html"
	if ! P run -d --name "$name" --annotation io.portside.ports=18892:3000 -v "$TMP/$name:/www:ro" "$IMAGE" \
		httpd -f -p 3000 -h /www >"$TMP/$name.out" 2>&1; then
		fail "podman cycle $i: $(cat "$TMP/$name.out")"
		continue
	fi
	"$PORTSIDECTL" wait "$name" 3000 --timeout 5 >/dev/null || fail "podman cycle $i: wait"
	u=$(url "$name" 3000)
	out=$(curl -fsS --max-time 3 "$u" 2>&1) || true
	[ "$out" = "hello from $name" ] || fail "podman cycle $i: $u said '$out'"
	((i % 7 == 0)) && kill -9 "$(sidecar_pid "$(podman inspect -f '{{.Id}}' "$name")")" 2>/dev/null
	P rm -f -t 0 "$name" >/dev/null 2>&1 || fail "podman cycle $i: podman rm"
	rm -rf "${TMP:?}/$name" "$TMP/$name.out"
	((i % 100 == 0)) && report podman "$i"
done
echo "soak: $SOAK_PODMAN podman cycles in $((SECONDS - t0)) s"

runc delete -f "${PREFIX}witness" >/dev/null 2>&1
sleep 1
# Nothing of the cycles is left.
left=$(pgrep -fa "portside-sidecar --id $PREFIX" || true)
[ -z "$left" ] || fail "sidecars left: $left"
ls -d "$STATEDIR/$PREFIX"* >/dev/null 2>&1 && fail "state directories left: $(ls -d "$STATEDIR/$PREFIX"*)"
grep -l "$PREFIX" "$RUNDIR"/netns/* >/dev/null 2>&1 && fail "netns index entries left"
ss -Hltn | grep -E ":(18890|18891|18892|18895|18896) |$POOL\." && fail "ports or pool addresses still bound"
report end "-"
if [ "$failures" -eq 0 ]; then
	echo "soak: clean ($SOAK_RUNC runc and $SOAK_PODMAN podman cycles; nothing left over)"
else
	echo "soak: $failures failures"
	exit 1
fi
