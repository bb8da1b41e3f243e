# The forwarding assertions every runtime must pass: one set of helpers, run
# by runc.bats, crun.bats and podman.bats against their own runtime. Each takes
# the runtime (runc, crun or podman) first. Loaded after containers.bash.

# start_web RT NAME PORTS [HTTPD_ADDR]: a busybox httpd on port 3000 (or
# HTTPD_ADDR) serving "hello from NAME", with io.portside.ports=PORTS.
start_web() {
	local rt=$1 name=$2 ports=$3 addr=${4:-3000}
	mkdir -p "$TMP/$name/www"
	echo "hello from $name" >"$TMP/$name/www/index.html"
	case $rt in
	podman) podman_start "$name" "$ports" "httpd -f -p $addr -h /www" ;;
	*) oci_start "$rt" "$name" "$(ports_ann "$ports")" "httpd -f -p $addr -h /www" ;;
	esac
}

# refusal_output RT: what a user of RT sees of a refused start. runc and
# podman show the hook's stderr; crun keeps it unless run.oci.hooks.stderr is
# set, so its users read `portsidectl logs ID`.
refusal_output() {
	if [ "$1" = crun ]; then
		"$PORTSIDECTL" logs "$CT"
	else
		printf '%s\n' "$output"
	fi
}

ct_kill() {
	case $1 in
	podman) podman kill -s KILL "$2" >/dev/null ;;
	*) "$1" kill "$2" KILL ;;
	esac
}

ct_remove() {
	case $1 in
	podman) P rm -f -t 0 "$2" >/dev/null ;;
	*) "$1" delete --force "$2" ;;
	esac
}

# A page through the forwarded port, on IPv4 and IPv6 loopback.
fwd_serves() {
	local rt=$1 port=$2
	start_web "$rt" serve "$port:3000"
	assert_status 0
	run http_get "$port"
	assert_status 0
	[ "$output" = "hello from serve" ]
	run curl -fsS --max-time 5 "http://[::1]:$port/"
	[ "$output" = "hello from serve" ]
	[ -n "$(sidecar_pid "$CT")" ]
}

# Reserved ports and malformed values: the start fails with the reason.
fwd_refuses() {
	local rt=$1 port=$2
	start_web "$rt" reserved "$port:22"
	[ "$status" -ne 0 ]
	output=$(refusal_output "$rt")
	assert_output_has "port 22 (ssh) is reserved"
	start_web "$rt" malformed "$port:3000x"
	[ "$status" -ne 0 ]
	output=$(refusal_output "$rt")
	assert_output_has "local port '3000x' is not a port number"
	port_free "$port"
	left=$(ls "$STATEDIR")
	refute grep -q "^$CT_PREFIX" <<<"$left"
}

# A host port already taken: the start fails naming the holder; a forwarded
# container next to it goes on serving.
fwd_refuses_taken() {
	local rt=$1 port=$2 taken=$3 holder
	start_web "$rt" neighbour "$port:3000"
	assert_status 0
	socat "TCP-LISTEN:$taken,reuseaddr,fork" EXEC:true &
	holder=$!
	wait_for 2 port_listening "$taken"
	start_web "$rt" taken "$taken:3000"
	kill "$holder"
	[ "$status" -ne 0 ]
	output=$(refusal_output "$rt")
	assert_output_has "host port $taken/tcp is already in use by socat (pid $holder)"
	run http_get "$port"
	[ "$output" = "hello from neighbour" ]
}

# exposeLocalhost off: an app on 127.0.0.1 is refused with a reason; on: served.
fwd_localhost() {
	local rt=$1 p1=$2 p2=$3
	start_web "$rt" lo-off "[{\"localPort\":3000,\"externalPort\":$p1}]" 127.0.0.1:3000
	assert_status 0
	run http_get "$p1"
	[ "$status" -ne 0 ]
	wait_for 2 grep -q "listens on 127.0.0.1:3000 only" "$STATEDIR/$CT/sidecar.log"
	start_web "$rt" lo-on "[{\"localPort\":3000,\"externalPort\":$p2,\"exposeLocalhost\":true}]" 127.0.0.1:3000
	assert_status 0
	run http_get "$p2"
	[ "$output" = "hello from lo-on" ]
}

# The container dies: the sidecar follows within 1 s and the port is free.
fwd_dies_with_container() {
	local rt=$1 port=$2 pid
	start_web "$rt" dies "$port:3000"
	assert_status 0
	pid=$(sidecar_pid "$CT")
	[ -n "$pid" ]
	ct_kill "$rt" "$CT"
	wait_for 1 gone_or_zombie "$pid"
	wait_for 1 port_free "$port"
}

# Removing the container runs poststop: no state, no sidecar, no port.
fwd_remove_cleans() {
	local rt=$1 port=$2 pid
	start_web "$rt" removed "$port:3000"
	assert_status 0
	pid=$(sidecar_pid "$CT")
	ct_remove "$rt" "$CT"
	[ ! -e "$STATEDIR/$CT" ]
	wait_for 1 gone_or_zombie "$pid"
	port_free "$port"
}

# The sidecar's confinement, from /proc.
fwd_confined() {
	local rt=$1 port=$2
	start_web "$rt" confined "$port:3000"
	assert_status 0
	assert_confined "$(sidecar_pid "$CT")"
}
