#!/usr/bin/env bats
# The manual pages and the bash completion: they render cleanly, install and
# uninstall with make, stay in step with portsidectl --help, and the
# completion offers commands, options and the ids of real forwarded containers.

load helpers
load containers

SRC=$BATS_TEST_DIRNAME/../..
MAN_DIR=$SRC/packaging/man
COMPLETION=$SRC/packaging/completion/portsidectl.bash

setup() {
	TMP=$(mktemp -d)
}

teardown() {
	suite_teardown
}

# render PAGE: the page as man prints it at 80 columns; warnings on stderr.
render() {
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$1"
}

# complete_words WORD...: what the completion offers for the command line
# WORD... (the last word is the one being completed, "" for a fresh one), one
# per line, from a bash with nothing but the script loaded. portsidectl is
# the one in the build tree.
complete_words() {
	PATH=$PORTSIDE_BUILD:$PATH bash --norc --noprofile -c '
		source "$0" || exit 1
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_portsidectl portsidectl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' "$COMPLETION" "$@"
}

# The commands `portsidectl --help` lists, one per line.
help_commands() {
	"$PORTSIDECTL" --help | sed -n '/^commands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p'
}

# man_entry FILE CMD: the entry of CMD in the rendered portsidectl.1 FILE's
# COMMANDS section, from its tag line to the next command's.
man_entry() {
	sed -n '/^COMMANDS$/,/^[A-Z]/p' "$1" | awk -v c="$2" '
		$0 ~ "^       " c "( |$)" { on = 1; print; next }
		on && /^       [a-z]/ { exit }
		on { print }'
}

@test "every manual page renders without a warning and has the sections a reader looks for" {
	need man man-db
	need groff groff-base
	local pages=("$MAN_DIR"/*.[1-8]) page
	[ "${#pages[@]}" -ge 4 ] || { echo "pages: ${pages[*]}" >&2; false; }
	for page in "${pages[@]}"; do
		render "$page" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; false; }
		if [ -s "$TMP/err" ]; then
			echo "$page:" >&2
			cat "$TMP/err" >&2
			false
		fi
		# groff's own strictest warnings too (man --warnings asks for fewer).
		run groff -man -ww -z "$page"
		[ -z "$output" ] || { echo "$page: $output" >&2; false; }
		for s in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" FILES EXAMPLES "SEE ALSO"; do
			grep -q "^$s\$" "$TMP/out" || { echo "$page lacks the section $s" >&2; false; }
		done
		grep -Eq '^(OPTIONS|COMMANDS|FIELDS)$' "$TMP/out" || [[ $page == *annotations.5 ]] ||
			{ echo "$page lacks OPTIONS, COMMANDS or FIELDS" >&2; false; }
	done
}

@test "portsidectl.1 documents every command portsidectl --help lists" {
	need man man-db
	run help_commands
	assert_status 0
	[ "${#lines[@]}" -ge 5 ] || { echo "commands parsed from --help: $output" >&2; false; }
	local cmds=("${lines[@]}") c
	# The COMMANDS section, rendered: each command heads an entry of its own.
	render "$MAN_DIR/portsidectl.1" 2>/dev/null | sed -n '/^COMMANDS$/,/^[A-Z]/p' >"$TMP/commands"
	for c in "${cmds[@]}"; do
		grep -Eq "^ {7}$c( |\$)" "$TMP/commands" || { echo "portsidectl.1 has no entry for: $c" >&2; false; }
	done
}

@test "every command's --help, and each option its usage names in portsidectl.1 and the completion" {
	need man man-db
	run help_commands
	assert_status 0
	local cmds=("${lines[@]}") c o usage opts
	for c in expose unexpose autoforward restore; do
		printf '%s\n' "${cmds[@]}" | grep -qx -- "$c" || { echo "--help lists no $c" >&2; false; }
	done
	render "$MAN_DIR/portsidectl.1" 2>/dev/null >"$TMP/man"
	sed -n '/^SYNOPSIS$/,/^DESCRIPTION$/p' "$TMP/man" >"$TMP/synopsis"
	for c in "${cmds[@]}"; do
		run "$PORTSIDECTL" "$c" --help
		assert_status 0
		# The usage line is the one the command list shows.
		usage=$("$PORTSIDECTL" --help | sed -n "s/^  \($c\( .*\)\{0,1\}\)\$/\1/p")
		[ "${lines[0]}" = "usage: portsidectl $usage" ] ||
			{ echo "$c --help: '${lines[0]}', the list: '$usage'" >&2; false; }
		[ "${#lines[@]}" -ge 2 ] || { echo "$c --help says nothing more: $output" >&2; false; }
		grep -Eq "^ {7}portsidectl $c( |\$)" "$TMP/synopsis" ||
			{ echo "portsidectl.1's SYNOPSIS lacks $c" >&2; false; }
		man_entry "$TMP/man" "$c" >"$TMP/entry"
		[ -s "$TMP/entry" ] || { echo "portsidectl.1 has no entry for $c" >&2; false; }
		opts=$(grep -o -- '--[a-z][a-z-]*' <<<"$usage" | sort -u)
		run complete_words portsidectl "$c" --
		for o in $opts; do
			grep -q -- "$o" "$TMP/entry" || { echo "portsidectl.1's $c entry lacks $o" >&2; false; }
			grep -qx -- "$o" <<<"$output" || { echo "completion of $c -- lacks $o: $output" >&2; false; }
		done
	done
}

@test "completion: expose, unexpose and autoforward take their options, an id, then a mode" {
	run complete_words portsidectl une
	[ "$output" = unexpose ]
	run complete_words portsidectl autof
	[ "$output" = autoforward ]
	run complete_words portsidectl unexpose --
	assert_output_has --close
	assert_output_has --local
	assert_output_lacks --json
	run complete_words portsidectl expose web --
	assert_output_has --json
	assert_output_lacks --close
	# The mode comes after the id, and only there.
	run complete_words portsidectl autoforward web ""
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "all never public " ] || { echo "offered: $output" >&2; false; }
	run complete_words portsidectl autoforward web n
	[ "$output" = never ]
	run complete_words portsidectl autoforward web never ""
	[ -z "$output" ] || { echo "offered after the mode: $output" >&2; false; }
	# expose --json takes the mappings: nothing to offer, and no mode.
	run complete_words portsidectl expose web --json ""
	[ -z "$output" ] || { echo "offered for --json: $output" >&2; false; }
}

@test "the policy page names every field the policy parser knows" {
	need man man-db
	# The field names as oci/policy.c compares them.
	run sed -n 's/.*!strcmp(key, "\([A-Za-z]*\)").*/\1/p' "$SRC/oci/policy.c"
	[ "${#lines[@]}" -ge 9 ] || { echo "fields: $output" >&2; false; }
	local f
	render "$MAN_DIR/portside-policy.5" 2>/dev/null >"$TMP/out"
	for f in "${lines[@]}" visibility; do
		grep -Eq "^ {7}$f( |\$)" "$TMP/out" || { echo "portside-policy.5 has no entry for: $f" >&2; false; }
	done
}

@test "make install puts the pages and the completion in place, make uninstall removes them" {
	# A build tree of its own: PREFIX=/usr must not rebuild the one the other
	# suites test.
	run make -C "$SRC" -s -j2 BUILD="$TMP/build" install PREFIX=/usr DESTDIR="$TMP/root"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	local f files=(usr/share/man/man1/portsidectl.1 usr/share/man/man5/portside-policy.5
		usr/share/man/man5/portside-annotations.5 usr/share/man/man8/portside-hook.8
		usr/share/bash-completion/completions/portsidectl)
	for f in "${files[@]}"; do
		[ -f "$TMP/root/$f" ] || { echo "not installed: $f" >&2; false; }
		[ "$(stat -c %a "$TMP/root/$f")" = 644 ] || { echo "$f: mode $(stat -c %a "$TMP/root/$f")" >&2; false; }
	done
	cmp "$COMPLETION" "$TMP/root/usr/share/bash-completion/completions/portsidectl"

	run make -C "$SRC" -s BUILD="$TMP/build" uninstall PREFIX=/usr DESTDIR="$TMP/root"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	for f in "${files[@]}"; do
		[ ! -e "$TMP/root/$f" ] || { echo "left behind: $f" >&2; false; }
	done
	# Nothing of portside's is left at all.
	run find "$TMP/root" -type f
	[ -z "$output" ] || { echo "left behind: $output" >&2; false; }
}

@test "completion: commands, then each command's options" {
	run complete_words portsidectl d
	assert_status 0
	[ "$output" = doctor ]

	run complete_words portsidectl ls --
	assert_output_has --json
	assert_output_has --quiet
	run complete_words portsidectl check --autoforward a
	[ "$output" = all ]
	run complete_words portsidectl inject config.json --
	assert_output_has --ports
	assert_output_has --sidecar
}

@test "completion: every command portsidectl --help lists is offered, and no other" {
	run help_commands
	local cmds=("${lines[@]}") c
	run complete_words portsidectl ""
	for c in "${cmds[@]}"; do
		grep -qx -- "$c" <<<"$output" || { echo "not completed: $c" >&2; false; }
	done
	for c in "${lines[@]}"; do
		# help is the list itself; --help and --version are options.
		[[ $c == -* || $c == help ]] && continue
		printf '%s\n' "${cmds[@]}" | grep -qx -- "$c" || { echo "completed but not in --help: $c" >&2; false; }
	done
}

# This needs `portsidectl ls -q` (the ids of forwarded containers, 12
# characters each, one a line): the completion asks it, and nothing here
# stands in for it.
@test "completion: the id of a real forwarded runc container, for doctor" {
	suite_setup
	runc_start docs "$(ports_ann 18800:3000)" "httpd -f -p 3000 -h /www"
	assert_status 0
	trace "$PORTSIDECTL" ls -q
	assert_status 0
	# An id chosen by hand (runc run NAME) is shown, and offered, whole.
	assert_output_has "$CT"

	run complete_words portsidectl doctor ""
	assert_status 0
	grep -qx -- "$CT" <<<"$output" || { echo "offered: $output" >&2; false; }
	run complete_words portsidectl doctor "${CT:0:8}"
	grep -qx -- "$CT" <<<"$output" || { echo "offered: $output" >&2; false; }
	# Only where a command takes an id: check takes a value.
	run complete_words portsidectl check ""
	assert_output_lacks "$CT"

	# The commands that change a running container's ports take one too,
	# after their options; autoforward's second word is a mode, not an id.
	local c
	for c in expose unexpose autoforward restore; do
		run complete_words portsidectl "$c" ""
		grep -qx -- "$CT" <<<"$output" || { echo "$c offered: $output" >&2; false; }
	done
	run complete_words portsidectl unexpose --close ""
	grep -qx -- "$CT" <<<"$output" || { echo "offered: $output" >&2; false; }
	run complete_words portsidectl autoforward "$CT" ""
	assert_output_lacks "$CT"
	assert_output_has never
	run complete_words portsidectl unexpose "$CT" ""
	assert_output_lacks "$CT"
}
