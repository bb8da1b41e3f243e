# shellcheck shell=bash
# What the bench's runc containers share (scale.sh's hook cost, metrics.sh,
# starts.sh): the checks a script that runs alone makes first, and one OCI
# bundle with portside's hooks in config.json, as
# tests/integration/containers.bash writes them (runc reads no hooks.d).
# Sourced; the caller defines die and sets B (the build directory).

# bench_needs CMD...: each command is there, or the bench stops saying what
# installs it.
bench_needs() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || die "$c is missing: packaging/deps.sh --bench"
	done
}

# bench_built PROGRAM...: each of portside's programs is built in B.
bench_built() {
	local f
	for f in "$@"; do
		[ -x "$B/$f" ] || die "$B/$f is missing: make all"
	done
}

# bench_commit: the commit measured, and whether the tree had changes.
bench_commit() {
	local c
	c=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
	[ -n "$(git status --porcelain -- . 2>/dev/null)" ] && c+=" (with uncommitted changes)"
	echo "$c"
}

# busybox_rootfs DIR PROGRAM...: a root filesystem of busybox alone, with
# links for the PROGRAMs the containers run.
busybox_rootfs() {
	local r=$1 p
	shift
	mkdir -p "$r"/{bin,proc,dev,tmp}
	cp "$(command -v busybox)" "$r/bin/"
	for p in "$@"; do ln -s busybox "$r/bin/$p"; done
}

# runc_bundle DIR ROOTFS POLICY ARGS ANNOTATIONS: DIR/config.json for a
# container running ARGS (a JSON array's body) from ROOTFS, with the
# annotations ANNOTATIONS (a JSON object's body) and portside's
# createRuntime and poststop hooks reading POLICY.
runc_bundle() {
	mkdir -p "$1"
	cat >"$1/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": [$4],
              "env": ["PATH=/bin"], "cwd": "/", "noNewPrivileges": true},
  "root": {"path": "$2", "readonly": true},
  "hostname": "bench",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755", "size=1024k"]}
  ],
  "annotations": {$5},
  "hooks": {
    "createRuntime": [{"path": "$B/portside-hook", "args": ["portside-hook", "--policy", "$3", "createRuntime"],
                       "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "timeout": 10}],
    "poststop": [{"path": "$B/portside-hook", "args": ["portside-hook", "--policy", "$3", "poststop"],
                  "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "timeout": 10}]
  },
  "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]}
}
JSON
}
