# Shared helpers for the bats suites. Each file loads this with `load helpers`.

bats_require_minimum_version 1.5.0

# Where the programs under test are: the build tree (`make` sets PORTSIDE_BUILD;
# `make asan` points it at the sanitizer build).
PORTSIDE_BUILD=${PORTSIDE_BUILD:-$BATS_TEST_DIRNAME/../../build}
PORTSIDECTL=$PORTSIDE_BUILD/portsidectl

# need CMD PACKAGE: fail loudly, naming what to install, when CMD is missing.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "missing $1: install the Debian package $2 (make deps does)" >&2
	return 1
}

# trace CMD...: runs CMD like bats' run (status and output captured), and on
# failure of a later assertion the command, its status and output are printed.
trace() {
	run "$@"
	{
		echo "# \$ $*"
		echo "# status: $status"
		printf '%s\n' "$output" | sed 's/^/# /'
	} >&2
	TRACE_CMD="$*"
}

# Assertions that print what they saw when they fail.
assert_status() {
	if [ "$status" -ne "$1" ]; then
		echo "expected status $1, got $status from: ${TRACE_CMD:-?}" >&2
		printf '%s\n' "$output" >&2
		return 1
	fi
}

assert_output_has() {
	if ! grep -qF -- "$1" <<<"$output"; then
		echo "output of ${TRACE_CMD:-?} lacks: $1" >&2
		printf '%s\n' "$output" >&2
		return 1
	fi
}

assert_output_lacks() {
	if grep -qF -- "$1" <<<"$output"; then
		echo "output of ${TRACE_CMD:-?} should not contain: $1" >&2
		printf '%s\n' "$output" >&2
		return 1
	fi
}

# refute CMD...: fails when CMD succeeds. Write this, never `! CMD`: bats
# runs a test under `set -e`, which ignores a negated command's status, so
# `! grep -q x file` in the middle of a test can never fail it.
refute() {
	if "$@"; then
		echo "should have failed: $*" >&2
		return 1
	fi
}

# wait_for SECONDS CMD...: retries CMD every 0.1 s until it succeeds or the time
# is up (bounded, as every loop in these tests).
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}
