/* SPDX-License-Identifier: MIT */
/* Asking another program (podman, crictl) what it knows: no shell, stdin and
 * stderr on /dev/null, the output bounded and the time limited, so that a
 * slow or hung runtime costs portsidectl a few seconds at most. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "ctl.h"

extern char **environ;

int ctl_ask(char *const argv[], size_t max, int timeout_ms, char **out)
{
	posix_spawn_file_actions_t fa;
	uint64_t end = ps_now_ms() + (uint64_t)timeout_ms;
	size_t got = 0;
	int p[2], status = 0, rc;
	pid_t pid;
	char *buf = malloc(max + 1);

	*out = NULL;
	if (!buf)
		return -ENOMEM;
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		free(buf);
		return rc;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		free(buf);
		return -ENOENT; /* not installed */
	}
	for (;;) {
		struct pollfd pf = {p[0], POLLIN, 0};
		uint64_t now = ps_now_ms();
		ssize_t n;

		if (now >= end || poll(&pf, 1, (int)(end - now)) <= 0 || got == max) {
			/* Too slow, or more than any answer we read: no answer. */
			kill(pid, SIGKILL);
			got = 0;
			status = -1;
			break;
		}
		if ((n = read(p[0], buf + got, max - got)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	{
		int st = 0;

		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (status == 0)
			status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	if (status != 0) {
		free(buf);
		return -ENOENT;
	}
	buf[got] = '\0';
	*out = buf; /* the caller frees it */
	return (int)got;
}
