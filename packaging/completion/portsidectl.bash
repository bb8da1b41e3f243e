# SPDX-License-Identifier: MIT
# bash completion for portsidectl: commands, each command's options, and the
# ids of forwarded containers where a command takes one.
#
# Container ids come from `portsidectl ls -q` (the 12 characters ls prints,
# one line per forwarded container); podman's names for those containers are
# offered too when podman is installed. Both need what portsidectl itself
# needs to read /run/portside (root, usually); without it nothing is offered.

# The ids (and podman names) of forwarded containers, one per line. $1 is the
# portsidectl being completed, so that ./build/portsidectl lists through itself.
_portsidectl_ids()
{
	local ids
	ids=$("$1" ls -q 2>/dev/null) || return 0
	[[ -n $ids ]] || return 0
	printf '%s\n' "$ids"
	# podman prints 12-character ids too: its names for the forwarded ones.
	if type -P podman >/dev/null 2>&1; then
		local id name
		while read -r id name; do
			[[ $'\n'$ids$'\n' == *$'\n'"$id"$'\n'* ]] && printf '%s\n' "$name"
		done < <(podman ps --format '{{.ID}} {{.Names}}' 2>/dev/null)
	fi
}

_portsidectl()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion || return
	else
		# No bash-completion package: the plain variables do.
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local commands="check ls doctor top logs restore metrics expose unexpose autoforward inject wait url events version help"
	if ((cword == 1)); then
		mapfile -t COMPREPLY < <(compgen -W "$commands --help --version" -- "$cur")
		return
	fi

	local cmd=${words[1]} opts="" takes_id=""
	case $cmd in
	check) opts="--policy --autoforward --json --help" ;;
	ls) opts="--json -q --quiet --help" ;;
	doctor) opts="--json --help" takes_id=1 ;;
	top) opts="--no-stream --help" takes_id=1 ;;
	logs) opts="--help" takes_id=1 ;;
	restore) opts="--help" takes_id=1 ;;
	metrics) opts="--textfile --help" takes_id=1 ;;
	expose) opts="--id --json --help" takes_id=1 ;;
	unexpose) opts="--close --local --id --help" takes_id=1 ;;
	autoforward) opts="--id --help" takes_id=1 ;;
	inject) opts="--ports --autoforward --hook --sidecar --policy --help" ;;
	wait) opts="--timeout --help" takes_id=1 ;;
	url) opts="--help" takes_id=1 ;;
	events) opts="--json --help" takes_id=1 ;;
	*) return ;;
	esac

	# The argument of an option.
	case $prev in
	--policy)
		mapfile -t COMPREPLY < <(compgen -f -X '!*.json' -o plusdirs -- "$cur")
		compopt -o filenames 2>/dev/null
		return
		;;
	--hook | --sidecar | --textfile)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		compopt -o filenames 2>/dev/null
		return
		;;
	--autoforward)
		mapfile -t COMPREPLY < <(compgen -W "public all never" -- "$cur")
		return
		;;
	--ports | --timeout)
		return
		;;
	--json)
		# expose's --json takes the mappings; elsewhere it is a flag.
		[[ $cmd == expose ]] && return
		;;
	esac

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		return
	fi

	# Which positional argument this is: words that are neither options nor
	# the arguments of options, before the cursor.
	local i n=0
	for ((i = 2; i < cword; i++)); do
		case ${words[i]} in
		--policy | --autoforward | --hook | --sidecar | --ports | --timeout | --textfile) i=$((i + 1)) ;;
		--json) [[ $cmd == expose ]] && i=$((i + 1)) ;;
		-*) ;;
		*) n=$((n + 1)) ;;
		esac
	done

	if [[ -n $takes_id ]] && ((n == 0)); then
		mapfile -t COMPREPLY < <(compgen -W "$(_portsidectl_ids "${words[0]}")" -- "$cur")
		return
	fi
	case $cmd in
	autoforward)
		# After the id, the mode.
		if ((n == 1)); then
			mapfile -t COMPREPLY < <(compgen -W "public all never" -- "$cur")
		fi
		;;
	inject)
		if ((n == 0)); then
			mapfile -t COMPREPLY < <(compgen -f -X '!*.json' -o plusdirs -- "$cur")
			compopt -o filenames 2>/dev/null
		fi
		;;
	esac
}

complete -F _portsidectl portsidectl
