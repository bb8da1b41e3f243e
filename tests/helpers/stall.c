/* SPDX-License-Identifier: MIT */
/* A sidecar that never gets ready, for tests/integration/starts.bats: the
 * hook runs it in the sidecar's place (--sidecar), it holds what it was
 * handed for STALL_SECS without a word on the readiness pipe (the hook
 * kills it first: it waits 5 s), then exits.
 * Static, an ELF file as the hook requires of a sidecar. */
#include <errno.h>
#include <time.h>

#define STALL_SECS 30

int main(void)
{
	struct timespec left = {STALL_SECS, 0};

	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
	return 1;
}
