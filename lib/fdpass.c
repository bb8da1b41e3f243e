/* SPDX-License-Identifier: MIT */
#include "fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

union fdbuf {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * PS_FDPASS_MAX)];
};

ssize_t ps_send_fds(int sock, const void *buf, size_t len, const int *fds, size_t n, int flags)
{
	union fdbuf c;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r;

	if (n > PS_FDPASS_MAX)
		return -EINVAL;
	if (n > 0) {
		struct cmsghdr *h;

		memset(&c, 0, sizeof(c));
		msg.msg_control = c.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		h = CMSG_FIRSTHDR(&msg);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(h), fds, sizeof(int) * n);
	}
	do
		r = sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

ssize_t ps_recv_fds(int sock, void *buf, size_t len, int *fds, size_t max, size_t *n, int flags)
{
	union fdbuf c;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof(c.buf)};
	ssize_t r;

	*n = 0;
	do
		r = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
		size_t k;

		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS || h->cmsg_len < CMSG_LEN(0))
			continue;
		k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (*n < max)
				fds[(*n)++] = fd;
			else
				close(fd); /* more than asked for: dropped */
		}
	}
	return r;
}

ssize_t ps_send_fd(int sock, const void *buf, size_t len, int fd, int flags)
{
	return ps_send_fds(sock, buf, len, &fd, fd >= 0 ? 1 : 0, flags);
}

ssize_t ps_recv_fd(int sock, void *buf, size_t len, int *fd, int flags)
{
	size_t n;
	ssize_t r = ps_recv_fds(sock, buf, len, fd, 1, &n, flags);

	if (n == 0)
		*fd = -1;
	return r;
}
