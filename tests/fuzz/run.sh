#!/bin/bash
# Runs every libFuzzer target built in $BUILD/fuzz for FUZZ_TIME seconds on a
# copy of its seed corpus, FUZZ_JOBS targets at once, and prints one "Done N
# runs in T second(s)" line per target (what .ci/run counts). With
# FUZZ_KEEP=1 (make fuzz-long) the inputs that grew coverage are merged back
# into tests/fuzz/corpus/TARGET, so the next run starts where this one ended.
# A crash prints the fuzzer's last lines and fails the run.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FUZZ_TIME=${FUZZ_TIME:-15}
FUZZ_JOBS=${FUZZ_JOBS:-1}
FUZZ_KEEP=${FUZZ_KEEP:-0}

one() {
	local t=$1 bin=$BUILD/fuzz/fuzz-$1 work=$BUILD/fuzz/corpus-$1 log=$BUILD/fuzz/$1.log
	rm -rf "$work"
	mkdir -p "$work" "tests/fuzz/corpus/$t"
	if ! "$bin" -max_total_time="$FUZZ_TIME" -max_len=20000 -timeout=10 -print_final_stats=0 -artifact_prefix="$BUILD/fuzz/" \
		"$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
		echo "fuzz: $t FAILED:"
		tail -40 "$log"
		return 1
	fi
	if [ "$FUZZ_KEEP" = 1 ]; then
		local before after
		before=$(ls "tests/fuzz/corpus/$t" | wc -l)
		"$bin" -merge=1 -max_len=20000 "tests/fuzz/corpus/$t" "$work" >"$log.merge" 2>&1 ||
			{ echo "fuzz: $t: merging the corpus failed"; tail -5 "$log.merge"; return 1; }
		after=$(ls "tests/fuzz/corpus/$t" | wc -l)
		echo "fuzz: $t corpus $before -> $after inputs"
	fi
	echo "fuzz: $t for ${FUZZ_TIME}s: $(grep -E '^Done [0-9]+ runs' "$log" | tail -1)"
	grep -E '^Done [0-9]+ runs' "$log" | tail -1
}

targets=()
for b in "$BUILD"/fuzz/fuzz-*; do
	[ -x "$b" ] && targets+=("${b##*/fuzz-}")
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets built in $BUILD/fuzz" >&2; exit 1; }
export -f one
export BUILD FUZZ_TIME FUZZ_KEEP
printf '%s\n' "${targets[@]}" | xargs -P "$FUZZ_JOBS" -I{} bash -c 'one "$1"' _ {}
