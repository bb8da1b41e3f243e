/* SPDX-License-Identifier: MIT */
/* Asking another program (podman, crictl) what it knows: no shell, stdin and
 * stderr on /dev/null, the output bounded and everything, the wait for its
 * exit included, done by one deadline, so that a slow or hung runtime costs
 * portsidectl a few seconds at most.
 *
 * The program is found on a fixed search path and runs with a small
 * environment of our own, never the caller's: portsidectl runs as root, and
 * a PATH or a variable someone left in root's environment (sudo -E, a
 * profile) must not choose which binary answers, nor send the question to a
 * podman service elsewhere whose answer names containers here. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "ctl.h"
#include "paths.h"

/* root's programs only, as sudo's secure_path has them: the system's
 * directories and portsidectl's own (the Makefile's PORTSIDE_TOOL_PATH). */
#define SEARCH_PATH "PATH=" PORTSIDE_TOOL_PATH

/* Variables passed on as they are: each only selects a local configuration
 * file or socket. podman's config files: the tests, and an admin, point
 * podman at their own (a containers.conf can ask for a remote service too,
 * but resolve.c runs podman --remote=false). Dropped among others:
 * CONTAINER_HOST, CONTAINER_CONNECTION, CONTAINER_SSHKEY, CONTAINER_PASSPHRASE
 * (podman would ask a remote service), XDG_* and HOME (ours is root's own).
 * crictl's endpoint and ctr's containerd socket are kept only as local
 * sockets (below). */
static const char *const keep[] = {
	"CONTAINERS_CONF=", "CONTAINERS_STORAGE_CONF=", "CONTAINER_RUNTIME_ENDPOINT=", "CONTAINERD_ADDRESS="};

#define ENV_MAX 8

extern char **environ;

static bool kept(const char *v)
{
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		size_t l = strlen(keep[i]);

		if (strncmp(v, keep[i], l))
			continue;
		/* crictl's endpoint: a unix socket here, nothing else. */
		if (!strcmp(keep[i], "CONTAINER_RUNTIME_ENDPOINT="))
			return !strncmp(v + l, "unix:///", 8);
		/* ctr's: a socket's absolute path, never a host:port. */
		if (!strcmp(keep[i], "CONTAINERD_ADDRESS="))
			return v[l] == '/' && !strchr(v + l, ':');
		return v[l] != '\0';
	}
	return false;
}

/* The environment the program gets, pointing into static storage and
 * environ (read only, before the spawn). */
static void make_env(const char *envp[ENV_MAX + 1])
{
	static char home[4096 + 6];
	const struct passwd *pw = getpwuid(geteuid());
	size_t n = 0;

	snprintf(home, sizeof(home), "HOME=%s", pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : "/");
	envp[n++] = SEARCH_PATH;
	envp[n++] = home;
	envp[n++] = "LC_ALL=C";
	for (char **e = environ; e && *e && n < ENV_MAX; e++)
		if (kept(*e))
			envp[n++] = *e;
	envp[n] = NULL;
}

/* NAME on the search path, in BUF; false when it is not there. */
static bool find(const char *name, char *buf, size_t len)
{
	if (strchr(name, '/'))
		return false;
	for (const char *d = PORTSIDE_TOOL_PATH, *end; *d; d = *end ? end + 1 : end) {
		end = strchrnul(d, ':');
		if (snprintf(buf, len, "%.*s/%s", (int)(end - d), d, name) < (int)len && access(buf, X_OK) == 0)
			return true;
	}
	return false;
}

/* Waits for PID until DEADLINE, then kills it: 0 with its status in *ST,
 * -ETIMEDOUT when it had to be killed. */
static int reap(pid_t pid, int64_t deadline, int *st)
{
	for (;;) {
		pid_t r = waitpid(pid, st, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -ECHILD;
		if (ps_now_ms() >= deadline)
			break;
		usleep(5 * 1000);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, st, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
}

int ctl_ask(char *const argv[], size_t max, int64_t deadline, char **out)
{
	posix_spawn_file_actions_t fa;
	const char *envp[ENV_MAX + 1];
	char path[4096];
	size_t got = 0;
	int p[2], st = 0, rc, fail = 0;
	pid_t pid;
	char *buf;

	*out = NULL;
	if (!find(argv[0], path, sizeof(path)))
		return -ENOENT; /* not installed */
	if (ps_now_ms() >= deadline)
		return -ETIMEDOUT;
	if (!(buf = malloc(max + 1)))
		return -ENOMEM;
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		free(buf);
		return rc;
	}
	make_env(envp);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	rc = posix_spawn(&pid, path, &fa, NULL, argv, (char *const *)envp);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		free(buf);
		return -ENOENT;
	}
	for (;;) {
		struct pollfd pf = {p[0], POLLIN, 0};
		int64_t now = ps_now_ms();
		ssize_t n;
		int r;

		if (got == max) {
			fail = -E2BIG; /* more than any answer we read */
			break;
		}
		if (now >= deadline) {
			fail = -ETIMEDOUT;
			break;
		}
		if ((r = poll(&pf, 1, (int)(deadline - now))) < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail = -errno;
			break;
		}
		if (r == 0)
			continue; /* the deadline, seen above */
		if ((n = read(p[0], buf + got, max - got)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	/* Its output closed is not its exit: that wait has the same deadline
	 * (a program that closes stdout and hangs is killed at it). */
	if (fail)
		kill(pid, SIGKILL);
	rc = reap(pid, fail ? INT64_MAX : deadline, &st);
	if (!fail && rc < 0)
		fail = rc;
	if (!fail && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		fail = -ENOENT;
	if (fail) {
		free(buf);
		return fail;
	}
	buf[got] = '\0';
	*out = buf; /* the caller frees it */
	return (int)got;
}
