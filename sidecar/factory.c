/* SPDX-License-Identifier: MIT */
/* The socket factory: the sidecar's only part inside the container's network
 * namespace.
 *
 * A socket keeps the namespace it was created in. So the sidecar proper stays
 * in the host's namespace, where it can bind new host-side listeners whenever
 * automatic forwarding needs one, and a child entered into the container's
 * netns creates, on request, the sockets that must live there (to dial the
 * app, the sock_diag and route netlink sockets), handing them back over a
 * socketpair with SCM_RIGHTS, a batch per message: the sidecar keeps a pool
 * of them (sockpool.c), so that no connection waits for this process. The child does nothing else: no capabilities, a
 * seccomp filter of a few calls, and it exits when the sidecar goes: EOF on
 * the socketpair ends it, and PR_SET_PDEATHSIG (armed after its uid change,
 * which clears it) kills it even where the sidecar's end is held elsewhere. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <seccomp.h> /* SCMP_SYS */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/fdpass.h"
#include "sidecar.h"

#include "factory.h"

static int confine_factory(pid_t parent)
{
	/* It makes sockets in the container's netns, of these families only. */
	static const int families[] = {AF_INET, AF_INET6, AF_NETLINK};
	const char *what;

	return sc_confine_helper(false, parent, NULL, 0, families, sizeof(families) / sizeof(families[0]), &what);
}

static void __attribute__((noreturn)) factory_main(int sp, int nsfd, pid_t parent)
{
	/* Its own name, so that a process list tells the two apart. */
	prctl(PR_SET_NAME, "portside-netns", 0, 0, 0);
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		sc_log("socket factory: cannot enter the container's network namespace: %s", strerror(errno));
		_exit(1);
	}
	close(nsfd);
	if (confine_factory(parent) < 0) {
		sc_log("socket factory: confinement failed");
		_exit(1);
	}
	for (;;) {
		struct sc_factory_req req;
		struct sc_factory_reply rep = {0, 0};
		int fds[PS_FDPASS_MAX];
		size_t n = 0;
		ssize_t r = recv(sp, &req, sizeof(req), 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r != (ssize_t)sizeof(req) || req.count == 0 || req.count > PS_FDPASS_MAX)
			_exit(0); /* the sidecar is gone, or talks nonsense */
		rep.tag = req.tag;
		/* As many as it can; the first failure ends the batch and is
		 * reported with what was made before it. */
		while (n < req.count) {
			int fd = socket(req.family, req.type | SOCK_CLOEXEC, req.protocol), one = 1;

			if (fd < 0) {
				rep.rc = -errno;
				break;
			}
			/* The app's side of a connection passes writes on at once,
			 * as the client's side does (lib/listen.c). */
			if ((req.type & 0xf) == SOCK_STREAM && (req.family == AF_INET || req.family == AF_INET6))
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			fds[n++] = fd;
		}
		if (ps_send_fds(sp, &rep, sizeof(rep), fds, n, 0) < 0)
			_exit(0);
		while (n > 0)
			close(fds[--n]);
	}
}

int sc_factory_start(struct sc_ctx *ctx, int nsfd)
{
	int sp[2];
	pid_t pid, self = getpid();

	/* SEQPACKET: one request, one reply, never merged or split. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(sp[0]);
		close(sp[1]);
		return rc;
	}
	if (pid == 0) {
		/* Nothing of the host side stays open here (listeners, the control
		 * socket, the hook's pipe): they must close when the sidecar does.
		 * Keep 0-2 (the log), the socketpair as 3 and the netns as 4. */
		int s = fcntl(sp[1], F_DUPFD_CLOEXEC, 5), ns = fcntl(nsfd, F_DUPFD_CLOEXEC, 5);

		/* Both first moved above 4, so that neither number is overwritten
		 * before it is moved (the netns may be fd 3). */
		if (s < 0 || ns < 0 || dup2(s, 3) < 0 || dup2(ns, 4) < 0 || syscall(SYS_close_range, 5U, ~0U, 0U) < 0)
			_exit(1);
		factory_main(3, 4, self);
	}
	close(sp[1]);
	ctx->factory_fd = sp[0];
	return 0;
}

int sc_factory_ask(int sp, const struct sc_factory_req *req)
{
	return send(sp, req, sizeof(*req), MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(*req) ? 0 : -EPIPE;
}

int sc_factory_answer(int sp, int flags, struct sc_factory_reply *rep, int *fds, size_t *n)
{
	ssize_t r = ps_recv_fds(sp, rep, sizeof(*rep), fds, PS_FDPASS_MAX, n, flags);

	if (r == -EAGAIN)
		return -EAGAIN;
	if (r != (ssize_t)sizeof(*rep)) {
		while (*n > 0)
			close(fds[--*n]);
		return -EPIPE;
	}
	return 0;
}
