#!/usr/bin/env bash
# make bench: portside's forwarder next to the alternatives, on one podman
# container (busybox httpd) on this host:
#   direct    the container's bridge address (kernel path, what DNAT forwards to)
#   portside  the sidecar (splice through pipes), on 127.0.0.1
#   socat     socat TCP-LISTEN,fork -> the container's address, on 127.0.0.1
# Prints throughput (one 256 MB download), requests per second (small pages,
# a new connection each) and the forwarder's resident memory, side by side.
# docker-proxy is not measured: it needs Docker's packages, not on these hosts.
# Traffic goes only to 127.0.0.1 and the container's own bridge address.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=$(pwd)/${PORTSIDE_BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "bench: needs root (containers)" >&2; exit 1; }
for c in podman socat curl; do command -v $c >/dev/null || { echo "bench: install $c (make deps)" >&2; exit 1; }; done

W=$(mktemp -d /tmp/portside-bench.XXXXXX)
NAME=portside-bench-$$
SOCAT_PID=
cleanup() {
	[ -n "$SOCAT_PID" ] && kill "$SOCAT_PID" 2>/dev/null
	podman --hooks-dir "$W/hooks.d" rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

# podman with this host's quirks (see tests/integration/containers.bash).
export CONTAINERS_CONF=$W/containers.conf
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"
mkdir -p "$W/hooks.d" "$W/rootfs/bin" "$W/rootfs/www"
echo '{}' >"$W/policy.json"
sed -e "s|@HOOK@|$B/portside-hook|" \
	-e "s|\"args\": \\[\"portside-hook\"\\]|\"args\": [\"portside-hook\", \"--policy\", \"$W/policy.json\"]|" \
	packaging/hooks.d/portside.json.in >"$W/hooks.d/portside.json"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh httpd; do ln -s busybox "$W/rootfs/bin/$a"; done
IMAGE=localhost/portside-bench:latest
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
podman import --change "ENV PATH=/bin" "$W/rootfs.tar" "$IMAGE" >"$W/import.log" 2>&1 || { cat "$W/import.log"; exit 1; }
mkdir -p "$W/www"
echo "hello" >"$W/www/index.html"
head -c $((256 * 1024 * 1024)) /dev/zero >"$W/www/blob"

podman --hooks-dir "$W/hooks.d" run -d --name "$NAME" --annotation io.portside.ports=19000:3000 \
	--annotation io.portside.autoforward=never -v "$W/www:/www:ro" "$IMAGE" httpd -f -p 3000 -h /www >/dev/null
ID=$(podman inspect -f '{{.Id}}' "$NAME")
IP=$(podman inspect -f '{{.NetworkSettings.IPAddress}}' "$NAME")
SIDECAR=$(cat "/run/portside/containers/$ID/sidecar.pid")
socat TCP-LISTEN:19001,bind=127.0.0.1,reuseaddr,fork "TCP:$IP:3000" &
SOCAT_PID=$!
for i in $(seq 1 50); do
	curl -fs -o /dev/null --max-time 1 http://127.0.0.1:19000/ && curl -fs -o /dev/null --max-time 1 http://127.0.0.1:19001/ && break
	sleep 0.1
done

# MB/s of one download of the blob (best of 3).
throughput() {
	local best=0 s
	for _ in 1 2 3; do
		s=$(curl -fs -o /dev/null --max-time 60 -w '%{speed_download}' "$1/blob")
		s=${s%.*}
		[ "$s" -gt "$best" ] && best=$s
	done
	echo $((best / 1000000))
}

# Requests per second over 500 sequential requests, a new connection each.
rps() {
	local start end
	start=$(date +%s%N)
	curl -fs -o /dev/null -H 'Connection: close' --max-time 120 "$1/index.html?[1-500]"
	end=$(date +%s%N)
	echo $((500 * 1000000000 / (end - start)))
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

printf '%-10s %12s %10s %12s\n' PATH "MB/s" "req/s" "RSS (kB)"
printf '%-10s %12s %10s %12s\n' direct "$(throughput "http://$IP:3000")" "$(rps "http://$IP:3000")" "-"
printf '%-10s %12s %10s %12s\n' portside "$(throughput http://127.0.0.1:19000)" "$(rps http://127.0.0.1:19000)" \
	"$(($(rss_kb "$SIDECAR") + $(rss_kb "$(pgrep -P "$SIDECAR" -x portside-netns)")))"
printf '%-10s %12s %10s %12s\n' socat "$(throughput http://127.0.0.1:19001)" "$(rps http://127.0.0.1:19001)" "$(rss_kb "$SOCAT_PID")"
echo "(portside's RSS is the sidecar plus its socket factory; socat's is its listener, each connection forks another)"
