#!/usr/bin/env bats
# portsidectl top against real runc containers: one plain frame
# (--no-stream) while a known load runs, and the live view in a real
# terminal (tmux): it refreshes, q, Ctrl-C and SIGTERM quit and give the
# terminal back as it was, and a window too small still renders cleanly.

load helpers
load containers

BUSY_PORT=18920
IDLE_PORT=18921
TMUX_SOCK=pstest-top-$$

setup() {
	suite_setup
	LOAD_PID=""
}

teardown() {
	[ -z "$LOAD_PID" ] || kill "$LOAD_PID" 2>/dev/null || true
	[ -z "$LOAD_PID" ] || wait "$LOAD_PID" 2>/dev/null || true
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	suite_teardown
}

# two_webs: a container serving a 20 MB file on BUSY_PORT and one serving
# the same on IDLE_PORT, both on 127.0.0.1 only (one row each).
two_webs() {
	mkdir -p "$TMP/busy/www" "$TMP/idle/www"
	head -c 20000000 /dev/zero >"$TMP/busy/www/big"
	echo idle >"$TMP/idle/www/index.html"
	runc_start busy "$(ports_ann "127.0.0.1:$BUSY_PORT:3000")" "httpd -f -p 3000 -h /www"
	assert_status 0
	BUSY=$CT
	runc_start idle "$(ports_ann "127.0.0.1:$IDLE_PORT:3000")" "httpd -f -p 3000 -h /www"
	assert_status 0
	IDLE=$CT
	wait_for 10 bash -c "curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:$BUSY_PORT/big"
	wait_for 10 bash -c "curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:$IDLE_PORT/"
}

# start_load: downloads of the big file through BUSY_PORT, one after the
# other, for 12 s at most (teardown ends it sooner).
start_load() {
	timeout 12 bash -c "for i in \$(seq 400); do curl -s -o /dev/null --max-time 5 http://127.0.0.1:$BUSY_PORT/big; done" \
		</dev/null >/dev/null 2>&1 &
	LOAD_PID=$!
}

# row_field FRAME PORT N: field N of FRAME's row for 127.0.0.1:PORT.
row_field() {
	awk -v p="127.0.0.1:$2" -v n="$3" '$2 == p { print $n; exit }' <<<"$1"
}

@test "top --no-stream: the mapping under load first with its rate, the idle one after it, plain text" {
	two_webs
	start_load
	sleep 0.5
	trace "$PORTSIDECTL" top --no-stream
	assert_status 0
	[ "${lines[0]}" = "$(printf '%s' "${lines[0]}" | grep '^CONTAINER  *EXTERNAL  *LOCAL  *CONN/S  *ACTIVE  *IN/S  *OUT/S  *REFUSED/S  *STATE')" ]
	# The busy mapping first, the idle one after it.
	[[ ${lines[1]} == "$BUSY "*"127.0.0.1:$BUSY_PORT "*"3000/tcp"* ]]
	[[ ${lines[2]} == "$IDLE "*"127.0.0.1:$IDLE_PORT "*"3000/tcp"* ]]
	[ "${#lines[@]}" -eq 3 ] || [ "$(printf '%s\n' "${lines[@]}" | grep -c "^$CT_PREFIX")" -eq 2 ]
	# Bytes went out at a rate (MB/s, or GB/s), connections came.
	local out
	out=$(row_field "$output" "$BUSY_PORT" 7)
	[[ $out =~ ^[0-9.]+(MB|GB)$ ]] || { echo "busy OUT/S: $out" >&2; false; }
	[[ $(row_field "$output" "$BUSY_PORT" 4) =~ ^[0-9.]+$ ]]
	[ "$(row_field "$output" "$BUSY_PORT" 9)" = running ]
	# Idle: nothing at all.
	[ "$(row_field "$output" "$IDLE_PORT" 4)" = 0.0 ]
	[ "$(row_field "$output" "$IDLE_PORT" 5)" = 0 ]
	[ "$(row_field "$output" "$IDLE_PORT" 6)" = 0B ]
	[ "$(row_field "$output" "$IDLE_PORT" 7)" = 0B ]
	[ "$(row_field "$output" "$IDLE_PORT" 8)" = 0.0 ]
	# For scripts: no escape sequence, no carriage return.
	refute grep -q $'[\033\r]' <<<"$output"

	# One container by its id: its row alone.
	trace "$PORTSIDECTL" top --no-stream "$IDLE"
	assert_status 0
	[ "${#lines[@]}" -eq 2 ]
	assert_output_has "127.0.0.1:$IDLE_PORT"
	assert_output_lacks "127.0.0.1:$BUSY_PORT"
}

@test "top: a dead sidecar is shown dead; a wrong id, extra words or no terminal are refused in one line" {
	two_webs
	local pid
	pid=$(sidecar_pid "$IDLE")
	kill -KILL "$pid"
	wait_for 5 gone_or_zombie "$pid"
	trace "$PORTSIDECTL" top --no-stream
	assert_status 0
	[ "$(row_field "$output" "$IDLE_PORT" 9)" = dead ]
	[ "$(row_field "$output" "$IDLE_PORT" 4)" = - ]
	[ "$(row_field "$output" "$BUSY_PORT" 9)" = running ]
	# The running one comes before the dead one.
	[[ ${lines[1]} == "$BUSY "* ]]

	trace "$PORTSIDECTL" top --no-stream pstest-no-such-container
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	trace "$PORTSIDECTL" top "$BUSY" "$IDLE"
	assert_status 2
	# Not a terminal (bats' pipe): the live view says what to use.
	trace "$PORTSIDECTL" top </dev/null
	assert_status 2
	assert_output_has "--no-stream"
}

# ---- a real terminal ----

# tm ARGS...: tmux on this test's own server.
tm() { tmux -L "$TMUX_SOCK" "$@"; }

# term_start W H: a detached tmux session W x H running a plain bash whose
# prompt is "PROMPT$ ".
term_start() {
	need tmux tmux
	local env=(env -i "PATH=$PATH" "HOME=$TMP" "PS1=PROMPT\$ ")
	[ -z "${PORTSIDE_RUN_DIR:-}" ] || env+=("PORTSIDE_RUN_DIR=$PORTSIDE_RUN_DIR")
	[ -z "${ASAN_OPTIONS:-}" ] || env+=("ASAN_OPTIONS=$ASAN_OPTIONS")
	tm new-session -d -x "$1" -y "$2" -s t "${env[@]}" bash --norc --noprofile
	tm set-option -g status off
	wait_for 5 screen_has 'PROMPT\$'
}

screen() { tm capture-pane -p -t t; }
screen_has() { screen | grep -q -- "$1"; }
# The last non-empty line is the prompt, alone: the shell is back.
prompt_back() { [ "$(screen | grep -v '^$' | tail -n 1)" = 'PROMPT$' ]; }

# type_line TEXT: TEXT typed into the pane, then Enter.
type_line() { tm send-keys -t t -l "$1" && tm send-keys -t t Enter; }

# top_pid: the portsidectl the pane's shell runs.
top_pid() { pgrep -P "$(tm display-message -p -t t '#{pane_pid}')" -x portsidectl; }

# stty_state FILE: the terminal's settings as the shell in the pane sees
# them, into FILE.
stty_state() {
	rm -f "$1"
	type_line "clear; stty -g >$1"
	wait_for 5 test -s "$1"
}

@test "top in a terminal: refreshes while a load runs, q quits and the terminal is as it was" {
	two_webs
	term_start 160 40
	stty_state "$TMP/stty.before"
	start_load
	type_line "$PORTSIDECTL top"
	wait_for 5 screen_has 'CONN/S'
	# Every forwarded container, each mapping a row; the busy one first
	# once rates come.
	wait_for 5 bash -c "tmux -L $TMUX_SOCK capture-pane -p -t t | sed -n 3p | grep -q 127.0.0.1:$BUSY_PORT"
	screen_has "127.0.0.1:$IDLE_PORT"
	# The busy row changes from one frame to the next (4 tries, a second
	# apart); the title's clock does too.
	local a b changed=""
	a=$(screen | grep "127.0.0.1:$BUSY_PORT")
	for _ in 1 2 3 4; do
		sleep 1.1
		b=$(screen | grep "127.0.0.1:$BUSY_PORT")
		[ "$a" = "$b" ] || { changed=1; break; }
	done
	[ -n "$changed" ] || { echo "the row did not change: $a" >&2; false; }
	[[ $b =~ [0-9.]+(MB|GB) ]]
	# Input is not echoed, and no key but q quits.
	tm send-keys -t t x
	sleep 0.3
	top_pid >/dev/null

	tm send-keys -t t q
	wait_for 5 prompt_back
	refute top_pid
	# It exited 0 (under ASan: no leak, no error report).
	type_line 'echo "rc=$?"'
	wait_for 5 screen_has '^rc=0$'
	refute screen_has 'Sanitizer'
	# The screen from before top is back (the alternate screen left), and
	# the terminal's settings are what they were.
	refute screen_has 'CONN/S'
	stty_state "$TMP/stty.after"
	diff "$TMP/stty.before" "$TMP/stty.after"
	# Typing echoes again.
	tm send-keys -t t -l "echo vis""ible"
	wait_for 5 screen_has 'echo visible'
}

@test "top in a terminal: Ctrl-C and SIGTERM quit too, a stop and fg go back to raw mode, the terminal restored each time" {
	two_webs
	term_start 160 40
	stty_state "$TMP/stty.before"
	type_line "$PORTSIDECTL top"
	wait_for 5 screen_has 'CONN/S'
	tm send-keys -t t C-c
	wait_for 5 prompt_back
	stty_state "$TMP/stty.after"
	diff "$TMP/stty.before" "$TMP/stty.after"

	type_line "$PORTSIDECTL top"
	wait_for 5 screen_has 'CONN/S'
	local pid
	pid=$(top_pid)
	# Stopped from outside: the shell takes the terminal back; fg gives
	# the view its raw mode and screen again.
	kill -STOP "$pid"
	wait_for 5 screen_has 'Stopped'
	type_line fg
	wait_for 5 screen_has 'CONN/S'
	tm send-keys -t t x
	sleep 0.3
	refute screen_has 'x$'
	kill -TERM "$pid"
	wait_for 5 prompt_back
	refute top_pid
	stty_state "$TMP/stty.after"
	diff "$TMP/stty.before" "$TMP/stty.after"
}

# The screen is one line: the title cut at 20 characters.
one_line_title() { [[ $(screen) =~ ^portsidectl\ top\ \ [0-9]{2}:$ ]]; }

@test "top in a window too small: as many rows as fit, a line saying how many more, nothing else" {
	two_webs
	# 3 lines: the title, the header, and no room for 2 rows: the line
	# that says so.
	term_start 50 3
	type_line "$PORTSIDECTL top"
	wait_for 5 screen_has 'CONTAINER'
	wait_for 5 screen_has '2 more mappings'
	run screen
	[ "${#lines[@]}" -eq 3 ] || { printf '%s\n' "$output" >&2; false; }
	[[ ${lines[0]} == "portsidectl top "* ]]
	[[ ${lines[1]} == "CONTAINER "* ]]
	[ "${lines[2]}" = "... 2 more mappings (a taller window shows them)" ] || { printf '%s\n' "$output" >&2; false; }
	# Every line within the width, printable only (no escape shown as text).
	local l
	for l in "${lines[@]}"; do
		[ "${#l}" -le 50 ]
		refute grep -q '[^ -~]' <<<"$l"
		refute grep -q '\[[0-9?]' <<<"$l"
	done

	# Grown to 160x8: both rows by the next frame.
	tm resize-window -t t -x 160 -y 8
	wait_for 5 screen_has "127.0.0.1:$IDLE_PORT"
	screen_has "127.0.0.1:$BUSY_PORT"
	refute screen_has 'more mappings'
	# And shrunk again to a single line: the title alone, cut.
	tm resize-window -t t -x 20 -y 1
	wait_for 5 one_line_title || { screen >&2; false; }
	tm send-keys -t t q
	wait_for 5 prompt_back
}
