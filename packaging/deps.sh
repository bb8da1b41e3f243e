#!/bin/sh
# Installs the Debian packages that building, testing and the demo need.
#   packaging/deps.sh               install them all (apt-get update first)
#   packaging/deps.sh --if-missing  do nothing when every one is installed already
#   packaging/deps.sh --bench [--if-missing]
#                                   the same, plus what make bench runs (the
#                                   servers go into the bench's container only:
#                                   the services the redis-server and nginx
#                                   packages may start are left alone)
set -eu

if_missing=""
bench=""
for a in "$@"; do
	case "$a" in
	--if-missing) if_missing=1 ;;
	--bench) bench=1 ;;
	*)
		echo "usage: packaging/deps.sh [--bench] [--if-missing]" >&2
		exit 2
		;;
	esac
done

# man-db and groff-base: the tests render the manual pages. containerd and
# python3's grpc: the CRI tests (tests/cri/cri.py runs with /usr/bin/python3);
# containerd's config parser also checks what portside-node writes. tmux:
# portsidectl top is tested in a real terminal. prometheus (for promtool)
# and prometheus-node-exporter: the metrics tests check portsidectl metrics
# and scrape a node_exporter they start themselves.
PACKAGES="gcc make pkg-config libseccomp-dev libcap-dev libjson-c-dev libuv1-dev \
libcmocka-dev bats clang libclang-rt-14-dev clang-format \
runc crun podman catatonit containernetworking-plugins iptables busybox-static iproute2 socat curl procps psmisc \
dpkg-dev fakeroot util-linux man-db groff-base jq strace tmux \
containerd python3-grpcio python3-grpc-tools prometheus prometheus-node-exporter"
# make bench: pasta (passt), the load generators and servers, hyperfine, gnuplot for the
# chart, jq for iperf3's and hyperfine's JSON. (docker-proxy comes from the
# docker.io package, unpacked into the build tree by the bench, not installed.)
BENCH_PACKAGES="passt iperf3 wrk sockperf redis-server redis-tools nginx-light hyperfine gnuplot-nox jq"
[ -z "$bench" ] || PACKAGES="$PACKAGES $BENCH_PACKAGES"

missing=""
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -n "$if_missing" ] && [ -z "$missing" ]; then
	exit 0
fi
[ -n "$missing" ] || missing=" $PACKAGES"

SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "deps.sh: these packages are missing and installing needs root:$missing" >&2
		exit 1
	fi
fi
echo "deps.sh: installing$missing"
$SUDO apt-get update -q
# shellcheck disable=SC2086 # the list is meant to split into words
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
