/* SPDX-License-Identifier: MIT */
#include "control.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../oci/state.h"
#include "clock.h"
#include "fdpass.h"
#include "reply.h"
#include "rundir.h"

static int wait_fd(int fd, short ev, long deadline)
{
	struct pollfd p = {.fd = fd, .events = ev};

	for (;;) {
		long left = deadline - ps_now_ms();
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

/* A connected, non-blocking socket to ID's sidecar in *FD. */
static int dial(const char *id, int *fd)
{
	struct sockaddr_un sa;
	cleanup_close int dirfd = -1;
	int rc;

	if ((rc = ps_control_addr(id, &sa, &dirfd)) < 0)
		return rc;
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*fd < 0)
		return -errno;
	if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS && errno != EAGAIN)
		return -errno;
	return 0;
}

/* Sends BUF[0..LEN) whole, the N descriptors FDS with its first byte. */
static int send_all(int fd, const char *buf, size_t len, const int *fds, size_t n, long deadline)
{
	while (len > 0) {
		ssize_t w;
		int rc;

		if ((rc = wait_fd(fd, POLLOUT, deadline)) < 0)
			return rc;
		w = ps_send_fds(fd, buf, len, fds, n, MSG_DONTWAIT);
		if (w == -EAGAIN)
			continue;
		if (w <= 0)
			return w < 0 ? (int)w : -EIO;
		n = 0; /* they went with the first byte */
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The reply, NUL-terminated: read until the sidecar closes. */
static int read_reply(int fd, char *reply, size_t len, long deadline)
{
	size_t got = 0;
	int rc;

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

static int ps_control_call_fd(const char *id, const char *cmd, int pass, char *reply, size_t len, int timeout_ms)
{
	cleanup_close int fd = -1;
	long deadline = ps_now_ms() + timeout_ms;
	char line[512]; /* "adopt " and an id (at most OCI_ID_MAX_LEN) fit */
	int rc, n;

	if ((rc = dial(id, &fd)) < 0)
		return rc;
	n = snprintf(line, sizeof(line), "%s\n", cmd);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENAMETOOLONG; /* never send a cut request */
	if ((rc = send_all(fd, line, (size_t)n, &pass, pass >= 0, deadline)) < 0)
		return rc;
	return read_reply(fd, reply, len, deadline);
}

int ps_ctl_apply(const char *id, const struct ps_apply_head *h, const char *body, const int *fds, char *reply,
		 size_t len, int timeout_ms)
{
	cleanup_close int fd = -1;
	long deadline = ps_now_ms() + timeout_ms;
	char line[PS_APPLY_BY_MAX + PS_APPLY_REASON_MAX + 64];
	size_t sent = 0, chunks;
	int n, rc;

	if ((n = ps_apply_head_encode(h, line, sizeof(line))) < 0)
		return n;
	if ((rc = dial(id, &fd)) < 0)
		return rc;
	/* The line with the first PS_FDPASS_MAX descriptors, then the body in
	 * as many pieces as there are more of them (a piece at least a byte:
	 * each forward takes far more than a byte of the body). */
	chunks = h->nfds ? (h->nfds + PS_FDPASS_MAX - 1) / PS_FDPASS_MAX : 1;
	if (chunks - 1 > h->bytes)
		return -EINVAL;
	if ((rc = send_all(fd, line, (size_t)n, fds, h->nfds < PS_FDPASS_MAX ? h->nfds : PS_FDPASS_MAX, deadline)) < 0)
		return rc;
	for (size_t c = 1; c <= chunks; c++) {
		size_t first = c * PS_FDPASS_MAX, k = first < h->nfds ? h->nfds - first : 0;
		size_t piece = c == chunks ? h->bytes - sent : 1;

		if (k > PS_FDPASS_MAX)
			k = PS_FDPASS_MAX;
		if (piece && (rc = send_all(fd, body + sent, piece, fds + (k ? first : 0), k, deadline)) < 0)
			return rc;
		sent += piece;
	}
	return read_reply(fd, reply, len, deadline);
}

int ps_ctl_call(const char *id, enum ps_ctl_cmd cmd, const char *arg, int pass, char *reply, size_t len, int timeout_ms)
{
	char line[OCI_ID_MAX_LEN + 32];
	int n = ps_ctl_encode(cmd, arg, line, sizeof(line));

	if (n < 0)
		return n;
	line[n - 1] = '\0'; /* ps_control_call adds the newline */
	return ps_control_call_fd(id, line, pass, reply, len, timeout_ms);
}

/* CMD's reply from ID's sidecar in a new buffer; its length, or -errno. */
static int ask(const char *id, enum ps_ctl_cmd cmd, int timeout_ms, char **reply)
{
	int n;

	if (!(*reply = malloc(PS_REPLY_MAX + 1)))
		return -ENOMEM;
	n = ps_ctl_call(id, cmd, NULL, -1, *reply, PS_REPLY_MAX + 1, timeout_ms);
	if (n == 0)
		n = -EPROTO; /* closed without a word */
	if (n < 0) {
		free(*reply);
		*reply = NULL;
	}
	return n;
}

int ps_ask_status(const char *id, struct ps_status *out, int timeout_ms)
{
	cleanup_free char *reply = NULL;
	int n = ask(id, PS_CTL_STATUS, timeout_ms, &reply);

	memset(out, 0, sizeof(*out));
	return n < 0 ? n : ps_status_decode(reply, (size_t)n, out, NULL);
}

int ps_ask_listeners(const char *id, struct ps_listeners *out, int timeout_ms)
{
	cleanup_free char *reply = NULL;
	int n = ask(id, PS_CTL_LISTENERS, timeout_ms, &reply);

	memset(out, 0, sizeof(*out));
	return n < 0 ? n : ps_listeners_decode(reply, (size_t)n, out, NULL);
}
