/* SPDX-License-Identifier: MIT */
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../oci/cleanup.h"
#include "fdpass.h"
#include "rundir.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, long deadline)
{
	struct pollfd p = {.fd = fd, .events = ev};

	for (;;) {
		long left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

int ps_control_call(const char *id, const char *cmd, char *reply, size_t len, int timeout_ms)
{
	return ps_control_call_fd(id, cmd, -1, reply, len, timeout_ms);
}

int ps_control_call_fd(const char *id, const char *cmd, int pass, char *reply, size_t len, int timeout_ms)
{
	struct sockaddr_un sa;
	cleanup_close int fd = -1, dirfd = -1;
	long deadline = now_ms() + timeout_ms;
	size_t got = 0;
	char line[512]; /* "adopt " and an id (at most OCI_ID_MAX_LEN) fit */
	int rc, n;

	if ((rc = ps_control_addr(id, &sa, &dirfd)) < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS && errno != EAGAIN)
		return -errno;
	n = snprintf(line, sizeof(line), "%s\n", cmd);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENAMETOOLONG; /* never send a cut request */
	if ((rc = wait_fd(fd, POLLOUT, deadline)) < 0)
		return rc;
	if (ps_send_fd(fd, line, (size_t)n, pass, 0) != n)
		return -EIO;
	while (got + 1 < len) {
		ssize_t r;

		if ((rc = wait_fd(fd, POLLIN, deadline)) < 0)
			return rc;
		r = read(fd, reply + got, len - 1 - got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	reply[got] = '\0';
	return (int)got;
}
