#!/usr/bin/env bats
# portside-node, the node installer for containerd: what it writes into copies
# of real containerd configs (Debian's, `containerd config default`'s and
# variants an operator writes), checked with containerd's own parser
# (`containerd config dump` loads the file and starts nothing). No container
# runs, so no lock is needed; the system's config is only ever copied.

load helpers

NODE=$BATS_TEST_DIRNAME/../../packaging/kubernetes/portside-node
CRI='plugins."io.containerd.grpc.v1.cri"'

setup() {
	need containerd containerd
	need awk mawk
	TMP=$(mktemp -d)
	# Stand-ins for the wrappers: install refuses a wrapper that is not there.
	mkdir -p "$TMP/bin"
	printf '#!/bin/sh\nexit 0\n' >"$TMP/bin/portside-runc"
	cp "$TMP/bin/portside-runc" "$TMP/bin/portside-crun"
	chmod 0755 "$TMP/bin/portside-runc" "$TMP/bin/portside-crun"
	cp -a "$TMP/bin" "$TMP/bin2"
	W=$TMP/bin/portside-runc
	inputs
}

teardown() {
	rm -rf "$TMP"
}

# inputs: $TMP/in/NAME.toml, the configs every test runs over.
inputs() {
	mkdir -p "$TMP/in"
	[ -f /etc/containerd/config.toml ] || {
		echo "no /etc/containerd/config.toml: the Debian package containerd ships it" >&2
		return 1
	}
	cp /etc/containerd/config.toml "$TMP/in/debian.toml"
	containerd config default >"$TMP/in/default.toml"
	# crun as the default runtime, an operator's own pod_annotations (with a
	# comment of theirs) and options portside leaves alone.
	cat >"$TMP/in/crun.toml" <<-EOF
		version = 2
		[$CRI.containerd]
		  default_runtime_name = "crun"
		  [$CRI.containerd.runtimes.crun]
		    runtime_type = "io.containerd.runc.v2"
		    pod_annotations = ["io.example.*", 'example.org/x'] # the operator's
		    [$CRI.containerd.runtimes.crun.options]
		      BinaryName = "/usr/bin/crun"
		      SystemdCgroup = true
	EOF
	# No newline at the end, a runtime table without options, a multi-line
	# string that looks like a table.
	printf '%s\n' 'version = 2' 'motd = """' "[$CRI.containerd.runtimes.runc.options]" 'BinaryName = "x" """' \
		"[$CRI.containerd.runtimes.runc]" >"$TMP/in/odd.toml"
	printf '  runtime_type = "io.containerd.runc.v2" # "a # in a string"' >>"$TMP/in/odd.toml"
	: >"$TMP/in/empty.toml"
}

# runtime NAME CONFIG: the runtime's table and its options as containerd
# loads CONFIG, one key a line.
runtime() {
	containerd --config "$2" config dump 2>/dev/null | awk -v h="[$CRI.containerd.runtimes.$1]" \
		-v o="[$CRI.containerd.runtimes.$1.options]" '
		{ t = $0; sub(/^[ \t]+/, "", t) }
		t ~ /^\[/ { on = t == h || t == o; next }
		on && t != "" { print t }'
}

# runtime_has NAME CONFIG LINE: containerd loads CONFIG with LINE in the runtime.
runtime_has() {
	local got
	got=$(runtime "$1" "$2")
	grep -qxF -- "$3" <<<"$got" || {
		echo "containerd's view of runtime $1 in $2 lacks: $3" >&2
		printf '%s\n' "$got" >&2
		return 1
	}
}

@test "install: containerd loads each config with portside's BinaryName and pod_annotations on the default runtime" {
	for n in debian default crun odd empty; do
		f=$TMP/in/$n.toml
		trace "$NODE" install --config "$f" --wrapper "$W" --no-restart
		assert_status 0
		rt=runc
		bin=$W
		[ "$n" != crun ] || { rt=crun && bin=$TMP/bin/portside-crun; }
		runtime_has $rt "$f" "BinaryName = \"$bin\""
		runtime_has $rt "$f" 'runtime_type = "io.containerd.runc.v2"'
		if [ "$n" = crun ]; then
			runtime_has crun "$f" 'pod_annotations = ["io.example.*", "example.org/x", "io.portside.*"]'
			runtime_has crun "$f" 'SystemdCgroup = true'
		else
			runtime_has runc "$f" 'pod_annotations = ["io.portside.*"]'
		fi
		# What the operator set elsewhere is loaded as before.
		[ "$n" != debian ] || containerd --config "$f" config dump | grep -qF 'bin_dir = "/usr/lib/cni"'
		trace "$NODE" status --config "$f"
		assert_status 0
		[ "${#lines[@]}" -eq 1 ]
		assert_output_has "installed: runtime $rt runs $bin"
	done
}

@test "a missing config: install writes a minimal version 2 file; uninstall removes it" {
	f=$TMP/etc/containerd/config.toml
	trace "$NODE" status --config "$f"
	assert_status 3
	assert_output_has "not installed"
	trace "$NODE" install --config "$f" --wrapper "$W" --no-restart
	assert_status 0
	[ "$(stat -c %a "$f")" = 644 ]
	grep -qx 'version = 2 # portside' "$f"
	runtime_has runc "$f" "BinaryName = \"$W\""
	runtime_has runc "$f" 'pod_annotations = ["io.portside.*"]'
	runtime_has runc "$f" 'runtime_type = "io.containerd.runc.v2"'
	# Everything else is containerd's default, as with no file.
	containerd config dump 2>/dev/null | grep -F 'sandbox_image' >"$TMP/want"
	containerd --config "$f" config dump 2>/dev/null | grep -F 'sandbox_image' | cmp - "$TMP/want"
	[ -f "$f.portside-backup" ]
	trace "$NODE" uninstall --config "$f" --no-restart
	assert_status 0
	[ ! -e "$f" ]
	[ ! -e "$f.portside-backup" ]
	[ -z "$(ls -A "$TMP/etc/containerd")" ]
}

@test "install twice is byte for byte install once, and the backup is the file before the first" {
	for n in debian default crun odd empty; do
		f=$TMP/in/$n.toml
		cp "$f" "$TMP/orig"
		trace "$NODE" install --config "$f" --wrapper "$W" --no-restart
		assert_status 0
		cmp "$f.portside-backup" "$TMP/orig"
		refute cmp -s "$f" "$TMP/orig"
		cp "$f" "$TMP/once"
		trace "$NODE" install --config "$f" --wrapper "$W" --no-restart
		assert_status 0
		assert_output_has "already installed"
		cmp "$f" "$TMP/once"
		cmp "$f.portside-backup" "$TMP/orig"
		# Another wrapper: portside's own line changes, the backup stays the
		# file before the first install, and uninstall still gives it back.
		trace "$NODE" install --config "$f" --wrapper "$TMP/bin2/portside-runc" --no-restart
		assert_status 0
		refute cmp -s "$f" "$TMP/once"
		cmp "$f.portside-backup" "$TMP/orig"
		trace "$NODE" uninstall --config "$f" --no-restart
		assert_status 0
		cmp "$f" "$TMP/orig"
	done
}

@test "uninstall gives back the backup byte for byte, removes it, and a second uninstall changes nothing" {
	for n in debian default crun odd empty; do
		f=$TMP/in/$n.toml
		chmod 0640 "$f"
		chown 1234:1235 "$f"
		cp -p "$f" "$TMP/orig"
		trace "$NODE" install --config "$f" --wrapper "$W" --no-restart
		assert_status 0
		# Written atomically with the file's own mode and owner.
		[ "$(stat -c '%a %u %g' "$f")" = "640 1234 1235" ]
		trace "$NODE" uninstall --config "$f" --no-restart
		assert_status 0
		cmp "$f" "$TMP/orig"
		[ "$(stat -c '%a %u %g' "$f")" = "640 1234 1235" ]
		[ ! -e "$f.portside-backup" ]
		trace "$NODE" status --config "$f"
		assert_status 3
		cp "$f" "$TMP/after"
		trace "$NODE" uninstall --config "$f" --no-restart
		assert_status 0
		assert_output_has "not installed"
		cmp "$f" "$TMP/after"
	done
	# No temp file is left in the directory.
	[ "$(ls -A "$TMP/in" | grep -c portside)" -eq 0 ]
}

@test "edits the operator makes between install and uninstall survive it" {
	f=$TMP/in/default.toml
	trace "$NODE" install --config "$f" --wrapper "$W" --no-restart
	assert_status 0
	sed -i -e 's|snapshotter = "overlayfs"|snapshotter = "native"|' \
		-e 's|SystemdCgroup = false|SystemdCgroup = true|' "$f"
	printf '[proxy_plugins.example]\n  type = "snapshot"\n  address = "/run/example.sock"\n' >>"$f"
	sed -e 's|snapshotter = "overlayfs"|snapshotter = "native"|' \
		-e 's|SystemdCgroup = false|SystemdCgroup = true|' "$f.portside-backup" >"$TMP/want"
	printf '[proxy_plugins.example]\n  type = "snapshot"\n  address = "/run/example.sock"\n' >>"$TMP/want"
	trace "$NODE" uninstall --config "$f" --no-restart
	assert_status 0
	cmp "$f" "$TMP/want"
	runtime_has runc "$f" 'BinaryName = ""'
	runtime_has runc "$f" 'SystemdCgroup = true'

	# A key the operator put into a table portside added keeps its header
	# (and the runtime_type that table needs).
	f=$TMP/in/debian.toml
	trace "$NODE" install --config "$f" --wrapper "$W" --no-restart
	assert_status 0
	sed -i '/^  runtime_type = "io.containerd.runc.v2" # portside$/a\  privileged_without_host_devices = true' "$f"
	trace "$NODE" uninstall --config "$f" --no-restart
	assert_status 0
	assert_output_has "now holds other keys; its header is kept"
	runtime_has runc "$f" 'privileged_without_host_devices = true'
	runtime_has runc "$f" 'runtime_type = "io.containerd.runc.v2"'
	refute grep -q portside <<<"$(runtime runc "$f")"
	refute grep -q portside "$f"
}

@test "status: one line each for installed, not installed and partially" {
	f=$TMP/in/default.toml
	trace "$NODE" status --config "$f"
	assert_status 3
	[ "${#lines[@]}" -eq 1 ]
	assert_output_has "not installed: runtime runc runs runc"
	"$NODE" install --config "$f" --wrapper "$W" --no-restart
	trace "$NODE" status --config "$f"
	assert_status 0
	[ "${#lines[@]}" -eq 1 ]
	# The wrapper went away: every container would fail.
	mv "$W" "$W.gone"
	trace "$NODE" status --config "$f"
	assert_status 4
	assert_output_has "runs $W, which is not an executable file"
	mv "$W.gone" "$W"
	# The operator took io.portside.* out again.
	sed -i 's|pod_annotations = \["io.portside.\*"\] # portside|pod_annotations = []|' "$f"
	trace "$NODE" status --config "$f"
	assert_status 4
	[ "${#lines[@]}" -eq 1 ]
	assert_output_has "partially: its pod_annotations lacks io.portside.*"
	echo 'version = 3' >"$TMP/in/v3.toml"
	trace "$NODE" status --config "$TMP/in/v3.toml"
	assert_status 1
	[ "${#lines[@]}" -eq 1 ]
	assert_output_has "cannot tell: "
}

# refused NAME WHAT CONFIG-TEXT: install refuses the config with one line on
# stderr that says WHAT, exit 1, the file and its directory as they were.
refused() {
	local f=$TMP/refuse/$1.toml
	mkdir -p "$TMP/refuse"
	printf '%s\n' "$3" >"$f"
	refused_file "$f" "$2"
}

refused_file() {
	local f=$1
	# Copied only when a regular file: cp would read a FIFO.
	if [ -f "$f" ] && [ ! -L "$f" ]; then cp "$f" "$TMP/before"; fi
	ls -A "$(dirname "$f")" >"$TMP/dir-before"
	run --separate-stderr "$NODE" install --config "$f" --wrapper "$W" --restart "touch $TMP/restarted"
	{
		echo "# install --config $f: status $status"
		printf '# stderr: %s\n' "${stderr_lines[@]}"
	} >&2
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	grep -qF -- "$2" <<<"$stderr"
	[ -z "$output" ]
	[ ! -e "$TMP/restarted" ]
	if [ -f "$f" ] && [ ! -L "$f" ]; then cmp "$f" "$TMP/before"; fi
	ls -A "$(dirname "$f")" | cmp - "$TMP/dir-before"
}

@test "each config it cannot edit safely is refused: one line, exit 1, the file untouched" {
	refused nvidia "cannot be chained" "version = 2
[$CRI.containerd.runtimes.runc]
  runtime_type = \"io.containerd.runc.v2\"
[$CRI.containerd.runtimes.runc.options]
  BinaryName = \"/usr/bin/nvidia-container-runtime\""
	# portside-runc runs the runc of the system's directories only.
	refused opt-runc "runs the runc in /usr/sbin /usr/bin /sbin /bin only" "version = 2
[$CRI.containerd.runtimes.runc]
  runtime_type = \"io.containerd.runc.v2\"
[$CRI.containerd.runtimes.runc.options]
  BinaryName = \"/opt/runc-1.1/runc\""
	refused v3 "use NRI" "version = 3
[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.runc]
  runtime_type = \"io.containerd.runc.v2\""
	refused v1 "version 1 config" "[plugins.cri.containerd]
  snapshotter = \"overlayfs\""
	refused v1-plugins "version 1 config" "[plugins.linux]
  shim_debug = true"
	refused kata "io.containerd.runc.v2 only" "version = 2
[$CRI.containerd.runtimes.runc]
  runtime_type = \"io.containerd.kata.v2\""
	refused multiline "multi-line array" "version = 2
[$CRI.containerd.runtimes.runc]
  runtime_type = \"io.containerd.runc.v2\"
  pod_annotations = [
    \"example.org/x\",
  ]"
	refused inline "inline table" "version = 2
[$CRI.containerd.runtimes]
  runc = { runtime_type = \"io.containerd.runc.v2\" }"
	refused dotted "dotted key" "version = 2
[$CRI.containerd.runtimes.runc]
  runtime_type = \"io.containerd.runc.v2\"
  options.BinaryName = \"runc\""
	refused dotted-default "dotted key" "version = 2
[$CRI]
  containerd.default_runtime_name = \"crun\""
	cp "$TMP/in/debian.toml" "$TMP/refuse/real.toml"
	ln -s real.toml "$TMP/refuse/link.toml"
	refused_file "$TMP/refuse/link.toml" "symbolic link"
	cmp "$TMP/refuse/real.toml" "$TMP/in/debian.toml"
	mkdir "$TMP/refuse/dir.toml"
	refused_file "$TMP/refuse/dir.toml" "not a regular file"
	mkfifo "$TMP/refuse/fifo.toml"
	refused_file "$TMP/refuse/fifo.toml" "not a regular file"
	# A wrapper that is not there would fail every container on the node.
	W=$TMP/none/portside-runc refused_file "$TMP/refuse/real.toml" "is not an executable file"
	[ ! -e "$TMP/refuse/real.toml.portside-backup" ]
}

@test "--restart CMD runs once the file changed, not when nothing did; --no-restart says what to do" {
	f=$TMP/in/debian.toml
	trace "$NODE" install --config "$f" --wrapper "$W" --no-restart
	assert_status 0
	assert_output_has "containerd not restarted (--no-restart)"
	assert_output_has "reads $f only when it starts"
	"$NODE" uninstall --config "$f" --no-restart
	trace "$NODE" install --config "$f" --wrapper "$W" --restart "echo install >>$TMP/restarts"
	assert_status 0
	[ "$(cat "$TMP/restarts")" = install ]
	trace "$NODE" install --config "$f" --wrapper "$W" --restart "echo again >>$TMP/restarts"
	assert_status 0
	[ "$(cat "$TMP/restarts")" = install ]
	trace "$NODE" uninstall --config "$f" --restart "echo uninstall >>$TMP/restarts"
	assert_status 0
	[ "$(cat "$TMP/restarts")" = "$(printf 'install\nuninstall')" ]
	# A restart that fails is an error, said so, with the file written.
	trace "$NODE" install --config "$f" --wrapper "$W" --restart false
	assert_status 1
	assert_output_has "restart containerd by hand"
	trace "$NODE" status --config "$f"
	assert_status 0
}

# default_restart SYSTEMD ACTIVE CMD...: runs portside-node CMD with the default
# restart, in a mount namespace of its own where /run/systemd/system exists
# when SYSTEMD is 1, and with a systemctl of the test's own first on PATH
# that says containerd is active when ACTIVE is 1: the system's containerd is
# never touched.
default_restart() {
	local sd=$1 active=$2
	shift 2
	mkdir -p "$TMP/path"
	cat >"$TMP/path/systemctl" <<-EOF
		#!/bin/sh
		echo "\$*" >>$TMP/systemctl.log
		case "\$1" in is-active) [ $active = 1 ] || exit 3 ;; esac
		exit 0
	EOF
	chmod 0755 "$TMP/path/systemctl"
	: >"$TMP/systemctl.log"
	trace unshare -m sh -c 'mount -t tmpfs portside-test /run && { [ "$0" = 0 ] || mkdir -p /run/systemd/system; } && exec "$@"' \
		"$sd" env PATH="$TMP/path:$PATH" "$NODE" "$@"
}

@test "the default restart: systemctl restart containerd only when systemd runs containerd, else what to do" {
	need unshare util-linux
	f=$TMP/in/debian.toml
	for sd in 0 1; do
		default_restart $sd 0 install --config "$f" --wrapper "$W"
		assert_status 0
		assert_output_has "containerd must be restarted to apply this"
		refute grep -q restart "$TMP/systemctl.log"
		"$NODE" uninstall --config "$f" --no-restart
	done
	default_restart 1 1 install --config "$f" --wrapper "$W"
	assert_status 0
	assert_output_has "restarting containerd: systemctl restart containerd"
	grep -qx 'restart containerd.service' "$TMP/systemctl.log"
	default_restart 1 1 uninstall --config "$f"
	assert_status 0
	[ "$(grep -c '^restart containerd.service$' "$TMP/systemctl.log")" -eq 1 ]
	cmp "$f" /etc/containerd/config.toml
}

@test "it runs under busybox's sh and awk alone, as in a minimal installer image" {
	need busybox busybox-static
	mkdir -p "$TMP/bb"
	for c in sh awk cat cmp cp mv rm mkdir mktemp chmod dirname tail wc tr sync; do
		ln -s "$(command -v busybox)" "$TMP/bb/$c"
	done
	for n in default crun; do
		cp "$TMP/in/$n.toml" "$TMP/$n.mawk"
		"$NODE" install --config "$TMP/$n.mawk" --wrapper "$W" --no-restart
		f=$TMP/in/$n.toml
		cp "$f" "$TMP/orig"
		trace env PATH="$TMP/bb" sh "$NODE" install --config "$f" --wrapper "$W" --no-restart
		assert_status 0
		cmp "$f" "$TMP/$n.mawk"
		trace env PATH="$TMP/bb" sh "$NODE" uninstall --config "$f" --no-restart
		assert_status 0
		cmp "$f" "$TMP/orig"
	done
}

# ds_script ROOT: daemonset.yaml's install script (its `- |` block), with its
# /opt/portside and /host under ROOT, and without its final sleep. The node's
# containerd is asked with nsenter into PID 1, which this test cannot do: it
# is taken to be there.
ds_script() {
	awk '/^        - \|$/ { on = 1; next } on && !/^          / && !/^$/ { exit } on { print substr($0, 11) }' \
		"$BATS_TEST_DIRNAME/../../packaging/kubernetes/daemonset.yaml" |
		sed -e "s|/opt/portside|$1/opt|g" -e "s|/host/|$1/host/|g" -e "s|--root /host|--root $1/host|g" \
			-e 's|^exec sleep infinity$|exit 0|' -e 's|^on_containerd() {.*|on_containerd() { true; }|'
}

@test "daemonset.yaml's script puts the files on the node and runs portside-node install, which a second run leaves alone" {
	local r=$TMP/ds o
	o=$r/opt/usr/libexec
	mkdir -p "$o/oci/hooks.d" "$o/portside" "$r/opt/usr/bin" "$r/opt/usr/share/containers/oci/hooks.d" \
		"$r/host/usr/libexec" "$r/host/usr/share/containers" "$r/host/usr/local/bin" "$r/host/etc/containerd"
	# The image's layout, as make install DESTDIR=/opt/portside PREFIX=/usr makes it.
	for f in "$o/oci/hooks.d/portside-hook" "$o/portside/portside-sidecar" "$o/portside/portside-runc" \
		"$r/opt/usr/bin/portsidectl"; do
		cp "$TMP/bin/portside-runc" "$f"
	done
	ln -s portside-runc "$o/portside/portside-crun"
	echo '{}' >"$r/opt/usr/share/containers/oci/hooks.d/portside.json"
	sed 's|^default_wrapper=.*|default_wrapper=/usr/libexec/portside/portside-runc|' "$NODE" >"$o/portside/portside-node"
	chmod 0755 "$o/portside/portside-node"
	cp "$TMP/in/debian.toml" "$r/host/etc/containerd/config.toml"
	ds_script "$r" >"$TMP/ds.sh"
	grep -q 'portside-node install --root' "$TMP/ds.sh"

	for run in 1 2; do
		PORTSIDE_RESTART="echo restart >>$TMP/restarts" trace sh -e "$TMP/ds.sh"
		assert_status 0
	done
	# Restarted once, by the first run.
	[ "$(cat "$TMP/restarts")" = restart ]
	[ -x "$r/host/usr/libexec/portside/portside-runc" ]
	[ "$(readlink "$r/host/usr/libexec/portside/portside-crun")" = portside-runc ]
	[ -x "$r/host/usr/libexec/portside/portside-node" ]
	[ -x "$r/host/usr/libexec/oci/hooks.d/portside-hook" ]
	[ -f "$r/host/usr/share/containers/oci/hooks.d/portside.json" ]
	[ -z "$(find "$r/host" -name '*.portside-new')" ]
	# The node's config names the node's own path of the wrapper.
	runtime_has runc "$r/host/etc/containerd/config.toml" 'BinaryName = "/usr/libexec/portside/portside-runc"'
	# And the readiness probe's status finds the wrapper under --root.
	trace "$o/portside/portside-node" status --root "$r/host"
	assert_status 0
	assert_output_has "installed: runtime runc runs /usr/libexec/portside/portside-runc"
}
