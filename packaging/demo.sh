#!/bin/sh
# make demo: shows portside at work on this machine.
set -eu
B=${PORTSIDE_BUILD:-build}
P=$(mktemp)
trap 'rm -f "$P"' EXIT
echo '{}' >"$P"
for v in '80:3000, 127.0.0.1:5173:5173, 5353:53/udp' '22:3000'; do
	echo "\$ portsidectl check '$v'"
	"$B/portsidectl" check --policy "$P" "$v" 2>&1 || true
	echo
done
