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

static int ps_control_call_fd(const char *id, const char *cmd, int pass, char *reply, size_t len, int timeout_ms)
{
	struct sockaddr_un sa;
	cleanup_close int fd = -1, dirfd = -1;
	long deadline = ps_now_ms() + timeout_ms;
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

static const char *const words[] = {
	[PS_CTL_STOP] = "stop",	  [PS_CTL_STATUS] = "status",	[PS_CTL_LISTENERS] = "listeners",
	[PS_CTL_ADOPT] = "adopt", [PS_CTL_RELEASE] = "release",
};

static bool takes_id(enum ps_ctl_cmd cmd)
{
	return cmd == PS_CTL_ADOPT || cmd == PS_CTL_RELEASE;
}

int ps_ctl_encode(enum ps_ctl_cmd cmd, const char *id, char *buf, size_t len)
{
	int n;

	if ((unsigned)cmd >= PS_CTL_UNKNOWN)
		return -EINVAL;
	n = takes_id(cmd) ? snprintf(buf, len, "%s %s\n", words[cmd], id ? id : "")
			  : snprintf(buf, len, "%s\n", words[cmd]);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

enum ps_ctl_cmd ps_ctl_decode(const char *line, const char **arg)
{
	*arg = "";
	for (unsigned c = 0; c < PS_CTL_UNKNOWN; c++) {
		size_t w = strlen(words[c]);

		if (strncmp(line, words[c], w))
			continue;
		if (!takes_id((enum ps_ctl_cmd)c))
			return line[w] == '\0' ? (enum ps_ctl_cmd)c : PS_CTL_UNKNOWN;
		if (line[w] != ' ' || !oci_id_valid(line + w + 1))
			return PS_CTL_UNKNOWN;
		*arg = line + w + 1;
		return (enum ps_ctl_cmd)c;
	}
	return PS_CTL_UNKNOWN;
}

int ps_ctl_remaining_encode(unsigned n, char *buf, size_t len)
{
	int k = snprintf(buf, len, "remaining %u\n", n);

	return k < 0 || (size_t)k >= len ? -ENAMETOOLONG : k;
}

int ps_ctl_remaining_decode(const char *reply, unsigned *n)
{
	return sscanf(reply, "remaining %u", n) == 1 ? 0 : -EINVAL;
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
