/* SPDX-License-Identifier: MIT */
#include "starting.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "clock.h"
#include "identity.h"
#include "rundir.h"

int ps_start_mark(const char *id)
{
	return ps_write_self(id, PS_STARTING);
}

void ps_start_clear(const char *id)
{
	char path[4096];

	if (ps_file(path, sizeof(path), id, PS_STARTING) == 0)
		unlink(path);
}

bool ps_start_pending(const char *id)
{
	char path[4096], buf[64], end;
	cleanup_close int fd = -1;
	unsigned long long want, start;
	int pid;
	ssize_t n;

	if (ps_file(path, sizeof(path), id, PS_STARTING) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (sscanf(buf, "%d %llu%c", &pid, &want, &end) != 3 || end != '\n' || pid <= 0)
		return false;
	/* The hook itself, not a later process with its pid. */
	return ps_proc_pin((pid_t)pid, NULL, NULL, &start) == 0 && start == want;
}

int ps_start_wait(const char *id, int timeout_ms)
{
	struct timespec step = {0, 10 * 1000 * 1000};
	int64_t deadline = ps_now_ms() + timeout_ms;

	while (ps_start_pending(id)) {
		if (ps_now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&step, NULL);
	}
	return 0;
}
