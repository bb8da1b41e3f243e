#!/bin/sh
# make demo: a real runc container whose io.portside.ports annotation maps
# host port 18000 to its port 3000, a request through it, then clean-up.
set -eu
B=$(cd "${PORTSIDE_BUILD:-build}" && pwd)
[ "$(id -u)" = 0 ] || { echo "demo: runc needs root (sudo make demo)" >&2; exit 1; }
W=$(mktemp -d /tmp/portside-demo.XXXXXX)
ID=portside-demo-$$
cleanup() {
	runc delete --force "$ID" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

mkdir -p "$W/rootfs/bin" "$W/rootfs/www" "$W/rootfs/proc" "$W/rootfs/dev" "$W/rootfs/tmp"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh httpd; do ln -s busybox "$W/rootfs/bin/$a"; done
echo "hello from inside a runc container, through portside" >"$W/rootfs/www/index.html"
echo '{}' >"$W/policy.json"
cat >"$W/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "cwd": "/",
              "args": ["httpd", "-f", "-p", "3000", "-h", "/www"], "env": ["PATH=/bin"]},
  "root": {"path": "rootfs", "readonly": true},
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
             {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}],
  "annotations": {"io.portside.ports": "18000:3000"},
  "hooks": {
    "createRuntime": [{"path": "$B/portside-hook", "args": ["portside-hook", "--policy", "$W/policy.json", "createRuntime"]}],
    "poststop": [{"path": "$B/portside-hook", "args": ["portside-hook", "poststop"]}]
  },
  "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]}
}
JSON

echo "== a busybox httpd on port 3000 in its own network namespace, annotated io.portside.ports=18000:3000"
runc run -d --bundle "$W" "$ID" </dev/null >"$W/runc.out" 2>&1 || { cat "$W/runc.out"; exit 1; }
echo "\$ curl http://127.0.0.1:18000/"
curl -fsS --max-time 5 http://127.0.0.1:18000/
echo
echo "\$ portsidectl logs $ID"
"$B/portsidectl" logs "$ID"
echo
echo "== a reserved port is refused before the container starts:"
"$B/portsidectl" check --policy "$W/policy.json" '22:3000' || true
echo
echo "== removing the container frees the port:"
runc delete --force "$ID"
if curl -fsS --max-time 2 http://127.0.0.1:18000/ >/dev/null 2>&1; then
	echo "port 18000 still answers" >&2
	exit 1
fi
echo "port 18000 is closed again"
