#!/bin/sh
# Runs every unit test binary given; prints each one's cmocka report and, last,
# one "N passed, N failed" line over all of them. Exit status 1 if any failed.
set -u
passed=0
failed=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	# A binary that crashed (ASan, a signal) may report nothing: count it.
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		echo "$t: exited with status $rc"
		failed=$((failed + 1))
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
