# shellcheck shell=bash disable=SC2034 # SCALE* are read by report.sh
# The scale rows of tests/bench/run.sh: portside's sidecar with many ports,
# connections and flows, and the hook's cost per container start. Each sets
# SCALE[key] (a number or "-") and SCALE_NOTE[key] (what happened, or why it
# stopped). Sourced after lib.sh.

declare -A SCALE SCALE_NOTE

# The open-file limit for the clients and the app: 30,000 where the host
# lets a process raise it that far (CAP_SYS_RESOURCE), else the hard limit
# this shell has.
if prlimit --nofile=30000:30000 true 2>/dev/null; then NOFILE=30000; else NOFILE=$(ulimit -Hn); fi

# client_done PID FILE: the client has printed its result, or has exited.
client_done() { grep -q '^ok ' "$2" || ! kill -0 "$1"; }

# sidecar_limit ID: the sidecar's open-file limit (soft), for the report.
sidecar_limit() {
	local s
	s=$(sidecar_pids "$1" | head -1) || return 0
	awk '/^Max open files/ {print $4}' "/proc/$s/limits" 2>/dev/null
}

# sidecar_complaints ID: the sidecar's last log line that says why it
# refused or dropped something, without its time and id.
sidecar_complaints() {
	grep -iE 'refus|too many|limit|descriptors|cannot|fail' "/run/portside/containers/$1/sidecar.log" 2>/dev/null |
		grep -v 'more like this' | tail -1 | cut -d' ' -f3- || true
}

# A container with 1000 mapped ports (one range entry; the policy's maxPorts
# is raised to 1024 for it, the default being 256). Nothing listens behind
# them: the sidecar only holds the listeners.
scale_ports() {
	local first=$((BASE + 1000)) last=$((BASE + 1999)) n
	n=$(ss -Hltn "( sport >= :$first and sport <= :$last )" | wc -l)
	if [ "$n" -gt 0 ]; then
		SCALE[ports]=- SCALE_NOTE[ports]="skipped: $n host ports in $first-$last are in use"
		return 0
	fi
	if ! start_container "$NAME-ports" "127.0.0.1:$first-$last:$first-$last" -- sleep 600; then
		SCALE[ports]=- SCALE_NOTE[ports]="refused: $CT_ERR"
		return 0
	fi
	n=$(ss -Hltn "( sport >= :$first and sport <= :$last )" | wc -l)
	# shellcheck disable=SC2046 # a list of pids
	SCALE[ports]=$(rss_kb $(sidecar_pids "$CT_ID"))
	SCALE_NOTE[ports]="$n of 1000 host ports listening"
	P rm -f -t 0 "$NAME-ports" >/dev/null 2>&1 || true
}

# IDLE_CONNS connections through one port, held open; the app in the
# container (conns serve) greets each with a byte, so a connection counts
# only once it reached the app and back. The app's and the client's fd
# limits are raised (NOFILE) so that, as far as this host allows, only the
# sidecar's can stop it.
scale_idle() {
	local hp=$((BASE + 51)) out pids client
	# (an explicit --ulimit drops containers.conf's: nproc again, or runc
	# asks for more than this host's hard limit)
	if ! start_container "$NAME-idle" "127.0.0.1:$hp:7000" --ulimit "nofile=$NOFILE:$NOFILE" \
		--ulimit nproc=1024:1024 -- conns serve 7000; then
		SCALE[idle0]=- SCALE[idle]=- SCALE_NOTE[idle]="refused: $CT_ERR"
		return 0
	fi
	wait_until 10 ns_listening "$CT_PID" 7000 || die "conns serve did not start: $(podman logs "$NAME-idle" 2>&1)"
	pids=$(sidecar_pids "$CT_ID") || die "no sidecar for the idle-connection container"
	# shellcheck disable=SC2086 # a list of pids
	SCALE[idle0]=$(rss_kb $pids)
	prlimit --nofile="$NOFILE:$NOFILE" "$B/bench/conns" tcp 127.0.0.1 "$hp" "$IDLE_CONNS" >"$W/idle.out" 2>&1 &
	client=$!
	BG_PIDS+=("$client")
	if wait_until 60 client_done "$client" "$W/idle.out" && grep -q '^ok ' "$W/idle.out"; then
		# shellcheck disable=SC2086 # a list of pids
		SCALE[idle]=$(rss_kb $pids)
		out=$(awk '/^ok / {print $2}' "$W/idle.out")
		SCALE_NOTE[idle]="$out of $IDLE_CONNS through; open-file limits: sidecar $(sidecar_limit "$CT_ID"), client and app $NOFILE"
		if [ "$out" -lt "$IDLE_CONNS" ]; then
			SCALE_NOTE[idle]+="; sidecar log: $(sidecar_complaints "$CT_ID")"
		fi
	else
		SCALE[idle]=- SCALE_NOTE[idle]="the client did not finish: $(cat "$W/idle.out")"
	fi
	kill "$client" 2>/dev/null || true
	P rm -f -t 0 "$NAME-idle" >/dev/null 2>&1 || true
}

# 1000 UDP client sockets, one datagram each, to udp-echo behind a UDP
# mapping: 1000 flows in the sidecar, counted by their replies.
scale_udp() {
	local hp=$((BASE + 52)) out pids client
	if ! start_container "$NAME-udp" "127.0.0.1:$hp:5300/udp" -- udp-echo 5300; then
		SCALE[udp]=- SCALE_NOTE[udp]="refused: $CT_ERR"
		return 0
	fi
	wait_until 10 bash -c "nsenter -t $CT_PID -n ss -Hlun 'sport = :5300' | grep -q ." ||
		die "udp-echo did not start: $(podman logs "$NAME-udp" 2>&1)"
	pids=$(sidecar_pids "$CT_ID") || die "no sidecar for the UDP container"
	"$B/bench/conns" udp 127.0.0.1 "$hp" 1000 >"$W/udp.out" 2>&1 &
	client=$!
	BG_PIDS+=("$client")
	if wait_until 60 client_done "$client" "$W/udp.out" && grep -q '^ok ' "$W/udp.out"; then
		# shellcheck disable=SC2086 # a list of pids
		SCALE[udp]=$(rss_kb $pids)
		out=$(awk '/^ok / {print $2}' "$W/udp.out")
		SCALE_NOTE[udp]="$out of 1000 flows answered"
	else
		SCALE[udp]=- SCALE_NOTE[udp]="the client did not finish: $(cat "$W/udp.out")"
	fi
	kill "$client" 2>/dev/null || true
	P rm -f -t 0 "$NAME-udp" >/dev/null 2>&1 || true
}

# hook_bundle DIR ANNOTATIONS: a bundle running /bin/true from the image's
# root filesystem (runc.sh).
hook_bundle() { runc_bundle "$1" "$W/rootfs" "$W/policy.json" '"/bin/true"' "$2"; }

# The hook's cost per container start: `runc run` + `runc delete` of a
# container that exits at once, with the hook in config.json both times, with
# and without a port annotation (which makes the hook bind the port and start
# a sidecar).
scale_hook() {
	local hp=$((BASE + 53)) with=$NAME-hook-with without=$NAME-hook-without
	hook_bundle "$W/hook-with" "\"io.portside.ports\": \"127.0.0.1:$hp:80\", \"io.portside.autoforward\": \"never\""
	hook_bundle "$W/hook-without" ""
	RUNC_IDS+=("$with" "$without")
	if ! timeout 300 hyperfine --warmup 2 --runs "$HOOK_RUNS" --export-json "$W/hook.json" \
		-n with "runc run --keep --bundle $W/hook-with $with </dev/null >/dev/null && runc delete $with" \
		-n without "runc run --keep --bundle $W/hook-without $without </dev/null >/dev/null && runc delete $without" \
		>"$W/hyperfine.out" 2>&1; then
		SCALE[hook_with]=- SCALE[hook_without]=- SCALE_NOTE[hook]="hyperfine failed: $(tail -3 "$W/hyperfine.out")"
		return 0
	fi
	# seconds to milliseconds
	SCALE[hook_with]=$(jq '.results[] | select(.command == "with") | .median * 1000' "$W/hook.json")
	SCALE[hook_without]=$(jq '.results[] | select(.command == "without") | .median * 1000' "$W/hook.json")
	SCALE_NOTE[hook]="median of $HOOK_RUNS runs each"
}
