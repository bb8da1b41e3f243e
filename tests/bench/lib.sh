# shellcheck shell=bash
# Helpers for tests/bench/run.sh: the image, the container, the forwarders,
# one function a measurement, and the raw-data bookkeeping. Sourced; reads the
# globals run.sh sets (B, W, RAW, T, REDIS_N, IP, CPID, ...).

# The services in the container, and their ports there.
SERVICES=(iperf http pp redis)
declare -A CPORT=([iperf]=5201 [http]=8080 [pp]=11111 [redis]=6379)
# Each row is a path to the same services: ADDR[path] and PORT[path:service]
# reach them, TPORT[path:service] is the port in the container that path
# leads to; CG[path] is the forwarder's cgroup (none for the kernel paths)
# and FWD_PIDS[path] the processes whose memory counts.
#
# nginx listens on a port of its own for each path (CPORT[http] + the path's
# index): the conn/s test leaves tens of thousands of conntrack entries for
# two minutes, and on a container port shared by every path the masquerade
# behind podman -p must then search for free NAT tuples among those of the
# other paths (measured here: half its conn/s), a cost of the bench's
# sharing, not of DNAT.
declare -A ADDR PORT TPORT CG FWD_PIDS
# Every path tests/bench/run.sh measures, in its order. The image has nginx
# listen on a port for each (build_image), so every script that shares the
# image numbers them alike (container_ports).
ALL_PATHS=(bridge podman-p portside pasta docker-proxy socat minimal)

# container_ports: TPORT[path:service] for every path.
container_ports() {
	local p s k=0
	for p in "${ALL_PATHS[@]}"; do
		for s in "${SERVICES[@]}"; do TPORT[$p:$s]=${CPORT[$s]}; done
		TPORT[$p:http]=$((CPORT[http] + k))
		k=$((k + 1))
	done
}

log() { echo "bench: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# wait_until SECONDS CMD...: CMD every 0.1 s until it succeeds, for at most
# SECONDS; fails if it never did.
wait_until() {
	local n=$(($1 * 10))
	shift
	until "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# host_listening PORT / ns_listening PID PORT: a TCP listener on PORT in the
# host's network namespace, or in the one process PID is in.
host_listening() { ss -Hltn "sport = :$1" | grep -q .; }
ns_listening() { nsenter -t "$1" -n ss -Hltn "sport = :$2" | grep -q .; }

# record PATH METRIC RUN VALUE: one measurement into the raw data file ("-"
# when it failed: the median then ignores it).
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:--}" >>"$RAW"; }

# median PATH METRIC: the median of that cell's runs, "-" if none.
median() {
	awk -F'\t' -v p="$1" -v m="$2" '
		$1 == p && $2 == m && $4 != "-" { v[n++] = $4 + 0 }
		END {
			if (!n) { print "-"; exit }
			# insertion sort: a handful of values
			for (i = 1; i < n; i++) for (j = i; j > 0 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
			print (n % 2) ? v[int(n/2)] : (v[n/2-1] + v[n/2]) / 2
		}' "$RAW"
}

# proc_sum FILE AWK PID...: the number AWK prints from /proc/PID/FILE,
# summed over the PIDs (a process that is gone counts 0).
proc_sum() {
	local file=$1 prog=$2 p sum=0 v
	shift 2
	for p in "$@"; do
		v=$(awk "$prog" "/proc/$p/$file" 2>/dev/null) || v=
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# rss_kb PID...: their resident memory together, in kB.
# shellcheck disable=SC2016 # an awk program
rss_kb() { proc_sum status '/^VmRSS:/ {print $2}' "$@"; }

# ---- the image ----

# build_image: a registry-free image: busybox-static, the four servers with
# the shared libraries ldd names (at the paths the loader looks in), the
# project's udp-echo and conns helpers, and the services' configuration.
# Tagged by a hash of its (reproducible) tar, so that it is built once and a
# changed binary gives a new image; the image stays after the run.
build_image() {
	local r=$W/rootfs bin lib
	mkdir -p "$r"/{bin,etc/nginx,tmp,www,run,var/log/nginx,var/lib/nginx,proc,sys,dev}
	cp /bin/busybox "$r/bin/"
	for a in sh sleep cat ls ps true; do ln -s busybox "$r/bin/$a"; done
	for bin in /usr/bin/iperf3 /usr/sbin/nginx /usr/bin/sockperf /usr/bin/redis-server; do
		cp -L "$bin" "$r/bin/"
		for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
			cp -L --parents "$lib" "$r"
		done
	done
	cp "$B/tests/udp-echo" "$B/bench/conns" "$r/bin/"
	printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
	head -c 1024 /dev/zero | tr '\0' x >"$r/www/1k.html"
	# nginx: one process, a 1 KB file, no keep-alive (every request a new
	# connection), no logs; /status counts accepted connections, so that
	# the bench can check that wrk really opened one per request.
	cat >"$r/etc/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
user root root;
error_log stderr crit;
pid /tmp/nginx.pid;
events { worker_connections 1000; }
http {
	access_log off;
	keepalive_timeout 0;
	server {
$(for p in "${ALL_PATHS[@]}"; do printf '\t\tlisten %s backlog=4096;\n' "${TPORT[$p:http]}"; done)
		root /www;
		location = /status { stub_status; }
	}
}
EOF
	# The container's init: every service on its own port, in the
	# background; logs in /tmp for a failed start.
	cat >"$r/etc/bench-services" <<EOF
#!/bin/sh
iperf3 -s -p ${CPORT[iperf]} >/tmp/iperf3.log 2>&1 &
nginx -c /etc/nginx/nginx.conf -e stderr >/tmp/nginx.log 2>&1 &
sockperf sr --tcp -i 0.0.0.0 -p ${CPORT[pp]} >/tmp/sockperf.log 2>&1 &
redis-server --port ${CPORT[redis]} --bind 0.0.0.0 --protected-mode no --save '' --appendonly no --dir /tmp >/tmp/redis.log 2>&1 &
wait
EOF
	chmod 755 "$r/etc/bench-services"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$r" -cf "$W/rootfs.tar" .
	IMAGE=localhost/portside-bench:$(sha256sum <"$W/rootfs.tar" | cut -c1-12)
	if ! podman image exists "$IMAGE"; then
		log "importing $IMAGE"
		podman import --change 'ENV PATH=/bin' "$W/rootfs.tar" "$IMAGE" >"$W/import.log" 2>&1 ||
			die "podman import failed: $(cat "$W/import.log")"
	fi
}

# ---- podman ----

# P ARGS...: podman with the bench's hooks.d (the build tree's hook and the
# bench policy; HOOKS_DIR for another); CONTAINERS_CONF is the bench's
# (run.sh).
P() { podman --hooks-dir "${HOOKS_DIR:-$W/hooks.d}" "$@"; }

setup_podman() {
	export CONTAINERS_CONF=$W/containers.conf
	# This host's quirks: podman's default ulimits above the hard limits,
	# and runc, not crun (see ../shared/ENVIRONMENT.md).
	printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n' \
		>"$CONTAINERS_CONF"
	mkdir -p "$W/hooks.d"
	# No limit of the host's own policy may shape the numbers; 1000
	# mappings, 10,000 connections and 1000 UDP flows from one client
	# address (the scale rows) need more than the defaults.
	echo '{"maxPorts": 1024, "maxConnections": 12000, "udpFlowsPerSource": 2000}' >"$W/policy.json"
	sed -e "s|@HOOK@|$B/portside-hook|" -e "s|@SIDECAR@|$B/portside-sidecar|" \
		-e "s|\"args\": \\[\"portside-hook\",|\"args\": [\"portside-hook\", \"--policy\", \"$W/policy.json\",|" \
		packaging/hooks.d/portside.json.in >"$W/hooks.d/portside.json"
}

# start_container NAME ANNOTATION PODMAN_ARGS... -- CMD...: podman run -d with
# io.portside.ports=ANNOTATION and no automatic forwarding. Sets CT_ID,
# CT_IP and CT_PID (its init, for nsenter) and remembers the name for the
# cleanup. Fails (podman's error in CT_ERR) if podman or the hook refused.
# shellcheck disable=SC2034 # CT_* are the caller's
start_container() {
	local name=$1 ann=$2
	shift 2
	local args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	CONTAINERS+=("$name")
	if ! CT_ERR=$(P run -d --name "$name" --annotation "io.portside.ports=$ann" \
		--annotation io.portside.autoforward=never "${args[@]}" "$IMAGE" "$@" 2>&1); then
		CT_ERR=$(grep -v 'failed to connect to syslog' <<<"$CT_ERR" | tail -3)
		return 1
	fi
	CT_ID=$(podman inspect -f '{{.Id}}' "$name")
	CT_IP=$(podman inspect -f '{{.NetworkSettings.IPAddress}}' "$name")
	CT_PID=$(podman inspect -f '{{.State.Pid}}' "$name")
}

# sidecar_pids ID: the sidecar of container ID (its socket factory is one of
# its threads) and its child, the listener factory, portside-listen, when
# the policy allows automatic forwarding, one a line.
sidecar_pids() {
	local s
	s=$(cat "/run/portside/containers/$1/sidecar.pid" 2>/dev/null) || return 1
	s=${s%% *} # "PID START"
	[ -d "/proc/$s" ] || return 1
	echo "$s"
	pgrep -P "$s" || true
}

# ---- CPU accounting ----

# One cpuacct cgroup (the v1 hierarchy: this host's cgroup2 mount has no cpu
# controller) a forwarder, under CG_ROOT: its CPU time, children included.
cg_make() {
	mkdir -p "$CG_ROOT/$1"
	echo "$CG_ROOT/$1"
}

# cg_exec CGROUP CMD...: CMD in CGROUP (and so are the children it forks).
cg_exec() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	exec bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$@"
}

# cg_move CGROUP PID...: processes that run already.
cg_move() {
	local cg=$1 p
	shift
	for p in "$@"; do echo "$p" >"$cg/cgroup.procs"; done
}

cg_usage_ns() { cat "$1/cpuacct.usage"; }

# ---- the forwarders ----

start_docker_proxy() {
	local dp=$1 s hp cg
	cg=$(cg_make docker-proxy)
	CG[docker-proxy]=$cg
	for s in "${SERVICES[@]}"; do
		hp=${PORT[docker-proxy:$s]}
		(cg_exec "$cg" "$dp" -proto tcp -host-ip 127.0.0.1 -host-port "$hp" -container-ip "$IP" \
			-container-port "${TPORT[docker-proxy:$s]}" 3>"$W/docker-proxy-$hp.ready" </dev/null >/dev/null 2>&1) &
		FWD_PIDS[docker-proxy]+=" $!"
		BG_PIDS+=("$!")
		# It writes "0" to fd 3 once it listens, "1" and the error if not.
		if ! wait_until 10 test -s "$W/docker-proxy-$hp.ready" || [ "$(head -c1 "$W/docker-proxy-$hp.ready")" != 0 ]; then
			die "docker-proxy on $hp did not start: $(cat "$W/docker-proxy-$hp.ready")"
		fi
	done
}

# pasta in the container's netns, as rootless podman runs it but as root
# (--runas 0) and with only the 4 TCP ports: no tap traffic, no DHCP or NDP,
# nothing else forwarded. It re-executes itself (passt.avx2) under the same
# pid, which its cgroup and RSS follow. --netns wants a name under
# /run/netns, not /proc/PID/ns/net: `ip netns attach` makes one.
start_pasta() {
	local s cg args=()
	cg=$(cg_make pasta)
	CG[pasta]=$cg
	ip netns attach "$NETNS" "$CT_PID" || die "ip netns attach $NETNS $CT_PID failed"
	for s in "${SERVICES[@]}"; do
		args+=(-t "127.0.0.1/${PORT[pasta:$s]}:${TPORT[pasta:$s]}")
	done
	(cg_exec "$cg" pasta --runas 0 --netns "/run/netns/$NETNS" -I pasta0 -f -q --no-dhcp --no-ndp \
		--no-dhcpv6 --no-ra "${args[@]}" -u none -T none -U none </dev/null >/dev/null 2>"$W/pasta.log") &
	FWD_PIDS[pasta]=$!
	BG_PIDS+=("$!")
	for s in "${SERVICES[@]}"; do
		wait_until 10 host_listening "${PORT[pasta:$s]}" || die "pasta did not start: $(cat "$W/pasta.log")"
	done
}

start_socat() {
	local s hp cg
	cg=$(cg_make socat)
	CG[socat]=$cg
	for s in "${SERVICES[@]}"; do
		hp=${PORT[socat:$s]}
		(cg_exec "$cg" socat "TCP-LISTEN:$hp,bind=127.0.0.1,reuseaddr,fork,backlog=4096" \
			"TCP:$IP:${TPORT[socat:$s]}" </dev/null >/dev/null 2>&1) &
		FWD_PIDS[socat]+=" $!"
		BG_PIDS+=("$!")
		wait_until 10 host_listening "$hp" || die "socat on $hp did not start"
	done
}

start_minimal() {
	local s cg args=()
	cg=$(cg_make minimal)
	CG[minimal]=$cg
	for s in "${SERVICES[@]}"; do
		args+=("127.0.0.1:${PORT[minimal:$s]}" "$IP:${TPORT[minimal:$s]}")
	done
	(cg_exec "$cg" "$B/bench/minfwd" "${args[@]}" </dev/null >/dev/null 2>"$W/minfwd.log") &
	FWD_PIDS[minimal]=$!
	BG_PIDS+=("$!")
	for s in "${SERVICES[@]}"; do
		wait_until 10 host_listening "${PORT[minimal:$s]}" || die "minfwd did not start: $(cat "$W/minfwd.log")"
	done
}

# ---- the measurements: each records its cells for PATH and RUN ----

# iperf3 with 1 and with 4 streams; the forwarder's CPU time over both, per
# GB moved (CPU ns per byte is CPU-s per GB).
measure_iperf() {
	local p=$1 run=$2 n j bytes=0 b c0=
	[ -n "${CG[$p]:-}" ] && c0=$(cg_usage_ns "${CG[$p]}")
	for n in 1 4; do
		if j=$(timeout $((T + 30)) iperf3 -c "${ADDR[$p]}" -p "${PORT[$p:iperf]}" -t "$T" -P "$n" -J 2>&1) &&
			b=$(jq -e '.end.sum_received.bytes' <<<"$j"); then
			record "$p" "gbps$n" "$run" "$(jq '.end.sum_received.bits_per_second / 1e9' <<<"$j")"
			bytes=$((bytes + ${b%.*}))
		else
			log "$p: iperf3 -P $n failed: $(jq -r '.error // empty' <<<"$j" 2>/dev/null || echo "$j" | tail -2)"
			record "$p" "gbps$n" "$run" -
		fi
	done
	if [ -n "$c0" ] && [ "$bytes" -gt 0 ]; then
		record "$p" cpu_gb "$run" "$(awk -v ns=$(($(cg_usage_ns "${CG[$p]}") - c0)) -v b="$bytes" 'BEGIN {print ns / b}')"
	fi
}

# nginx's count of accepted connections (read at the container's address,
# past every forwarder).
nginx_accepts() { curl -fsS --max-time 2 "http://$IP:${CPORT[http]}/status" | awk 'NR == 3 {print $1}'; }

# New connections a second: wrk fetching the 1 KB file with "Connection:
# close" (nginx has keep-alive off too). Also records conn_per_req, nginx's
# accepted connections per request wrk completed: about 1.0 when every
# request had a connection of its own.
measure_wrk() {
	local p=$1 run=$2 out a0 a1 reqs r
	a0=$(nginx_accepts) || a0=
	out=$(timeout $((T + 30)) wrk -t2 -c50 -d"${T}s" -H 'Connection: close' \
		"http://${ADDR[$p]}:${PORT[$p:http]}/1k.html" 2>&1) || log "$p: wrk failed: $out"
	a1=$(nginx_accepts) || a1=
	record "$p" cps "$run" "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	if [ -n "$a0" ] && [ -n "$a1" ] && [ "${reqs:-0}" -gt 0 ]; then
		# minus one: the second /status request itself
		r=$(awk -v a=$((a1 - a0 - 1)) -v r="$reqs" 'BEGIN {print a / r}')
		record "$p" conn_per_req "$run" "$r"
		awk -v r="$r" 'BEGIN {exit !(r < 0.95)}' &&
			log "WARNING: $p: nginx accepted only $r connections per request: wrk reused connections"
	fi
	grep -E 'Socket errors|Non-2xx' <<<"$out" | sed "s/^/bench: $p: wrk: /" >&2 || true
}

# 1 KB ping-pong round trips (sockperf --full-rtt: the whole round trip, not
# half of it), p50 and p99 in µs.
measure_pingpong() {
	local p=$1 run=$2 out
	out=$(timeout $((T + 30)) sockperf pp --tcp -i "${ADDR[$p]}" -p "${PORT[$p:pp]}" -m 1024 -t "$T" \
		--full-rtt 2>&1) || log "$p: sockperf failed: $(tail -3 <<<"$out")"
	record "$p" p50 "$run" "$(awk '/percentile 50.000 =/ {print $NF}' <<<"$out")"
	record "$p" p99 "$run" "$(awk '/percentile 99.000 =/ {print $NF}' <<<"$out")"
}

# redis GET requests a second, 50 clients. redis-benchmark retries a refused
# connection for ever: always under timeout.
measure_redis() {
	local p=$1 run=$2 out
	out=$(timeout 60 redis-benchmark -h "${ADDR[$p]}" -p "${PORT[$p:redis]}" -t get -c 50 -n "$REDIS_N" -q 2>&1 |
		tr '\r' '\n') || log "$p: redis-benchmark failed or timed out"
	record "$p" redis "$run" "$(awk '/^GET: [0-9.]+ requests per second/ {v = $2} END {print v}' <<<"$out")"
}

measure_rss() {
	local p=$1 run=$2 pids
	case $p in
	portside) pids=$(sidecar_pids "$ID") || pids= ;;
	bridge | podman-p) return 0 ;;
	*) pids=${FWD_PIDS[$p]} ;;
	esac
	# shellcheck disable=SC2086 # a list of pids
	record "$p" rss "$run" "$(rss_kb $pids)"
}
