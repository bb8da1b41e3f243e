#!/bin/sh
# Installs the Debian packages that building, testing and the demo need.
#   packaging/deps.sh               install them all (apt-get update first)
#   packaging/deps.sh --if-missing  do nothing when every one is installed already
set -eu

PACKAGES="gcc make pkg-config libseccomp-dev libcap-dev libjson-c-dev libuv1-dev \
libcmocka-dev bats clang libclang-rt-14-dev clang-format \
runc crun podman catatonit containernetworking-plugins iptables busybox-static iproute2 socat curl procps psmisc \
dpkg-dev fakeroot"

missing=""
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ "${1:-}" = "--if-missing" ] && [ -z "$missing" ]; then
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
