/* SPDX-License-Identifier: MIT */
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/cleanup.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* asm-generic/socket.h, Linux 5.14 */
#endif

/* Field 22 of stat is the 20th after the comm's ")": 3 (state) is the first. */
#define STAT_START_AFTER_COMM 20

int ps_stat_start_time(const char *buf, size_t len, unsigned long long *out)
{
	const char *p = NULL, *end = buf + len;

	for (const char *q = buf; q < end; q++)
		if (*q == ')')
			p = q;
	if (!p)
		return -EINVAL;
	p++;
	for (int field = 0; field < STAT_START_AFTER_COMM; field++) {
		if (p >= end || *p != ' ')
			return -EINVAL;
		p++;
		if (field < STAT_START_AFTER_COMM - 1) {
			while (p < end && *p != ' ')
				p++;
			continue;
		}
		unsigned long long v = 0;
		const char *digits = p;

		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			if (v > (~0ULL - 9) / 10)
				return -EINVAL;
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (p == digits || (p < end && *p != ' ' && *p != '\n'))
			return -EINVAL;
		*out = v;
	}
	return 0;
}

int ps_proc_start_time(int procdir, unsigned long long *out)
{
	cleanup_close int fd = openat(procdir, "stat", O_RDONLY | O_CLOEXEC);
	char buf[1024];
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	return ps_stat_start_time(buf, (size_t)n, out);
}

int ps_stat_boot_time(const char *buf, size_t len, time_t *out)
{
	static const char key[] = "btime ";
	const char *end = buf + len;

	for (const char *line = buf; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line)), *p = line + sizeof(key) - 1;

		if (!nl)
			nl = end;
		if ((size_t)(nl - line) >= sizeof(key) - 1 && !memcmp(line, key, sizeof(key) - 1)) {
			long long v = 0;

			if (p == nl)
				return -EINVAL;
			for (; p < nl && *p >= '0' && *p <= '9'; p++) {
				if (v > (LLONG_MAX - 9) / 10)
					return -EINVAL;
				v = v * 10 + (*p - '0');
			}
			if (p != nl || !v)
				return -EINVAL;
			*out = (time_t)v;
			return 0;
		}
		line = nl + 1;
	}
	return -EINVAL;
}

int ps_start_wall_time(unsigned long long start, time_t *out)
{
	cleanup_fclose FILE *f = fopen("/proc/stat", "re");
	cleanup_free char *line = NULL;
	long hz = sysconf(_SC_CLK_TCK);
	size_t cap = 0;
	ssize_t n;
	time_t boot;

	if (!f)
		return -errno;
	if (hz <= 0)
		return -EINVAL;
	/* Line by line: the intr line alone may be tens of kilobytes. */
	while ((n = getline(&line, &cap, f)) > 0)
		if (ps_stat_boot_time(line, (size_t)n, &boot) == 0) {
			*out = boot + (time_t)(start / (unsigned long long)hz);
			return 0;
		}
	return -EINVAL;
}

int ps_proc_pin(pid_t pid, int *pidfd, int *procdir, unsigned long long *start)
{
	cleanup_close int dir = -1, pfd = -1;
	unsigned long long again;
	char path[64];
	int rc;

	if (pidfd)
		*pidfd = -1;
	if (procdir)
		*procdir = -1;
	if (pid <= 0)
		return -ESRCH;
	/* The directory first: whatever it names, reading through it reads
	 * that process and no later one. */
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -ESRCH;
	if ((rc = ps_proc_start_time(dir, start)) < 0)
		return rc == -EINVAL ? rc : -ESRCH;
	/* The pidfd names whoever holds PID now: the same process, unless
	 * PID came round in between. If the directory's process still exists
	 * (its stat reads, with the same start) and the pidfd's has not exited,
	 * both hold PID at once: they are one. */
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return -ESRCH;
	if (ps_proc_start_time(dir, &again) < 0 || again != *start)
		return -ESRCH;
	struct pollfd p = {.fd = pfd, .events = POLLIN};
	if (poll(&p, 1, 0) != 0)
		return -ESRCH; /* exited: a zombie holds nothing */
	if (pidfd) {
		*pidfd = pfd;
		pfd = -1; /* ownership to the caller */
	}
	if (procdir) {
		*procdir = dir;
		dir = -1; /* ownership to the caller */
	}
	return 0;
}

/* What the thread is given and reports: 0 and the cookie, or an errno. */
struct cookie_report {
	int nsfd;
	int err;
	uint64_t cookie;
};

/* A socket keeps the namespace it was made in; entering it is this thread's
 * only business (a thread's network namespace is its own: the caller's
 * other threads never leave theirs), and it ends with the socket's cookie. */
static void *cookie_thread(void *arg)
{
	struct cookie_report *r = arg;
	socklen_t len = sizeof(r->cookie);
	int s = -1;

	if (setns(r->nsfd, CLONE_NEWNET) < 0 || (s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &r->cookie, &len) < 0)
		r->err = errno;
	else
		r->err = len == sizeof(r->cookie) ? 0 : EIO;
	if (s >= 0)
		close(s);
	return NULL;
}

int ps_netns_cookie(int nsfd, uint64_t *out)
{
	struct cookie_report r = {nsfd, EIO, 0};
	pthread_t t;
	int rc;

	/* A thread rather than a child process: no copy of the caller's
	 * address space (a fork cost a container start more than a
	 * millisecond on the 2-core VM), and nothing to reap. */
	if (nsfd < 0)
		return -EBADF;
	if ((rc = pthread_create(&t, NULL, cookie_thread, &r)) != 0)
		return -rc;
	pthread_join(t, NULL);
	if (r.err)
		return -r.err;
	if (!r.cookie)
		return -EIO; /* the kernel's counter starts at 1 */
	*out = r.cookie;
	return 0;
}
