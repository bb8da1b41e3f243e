/* SPDX-License-Identifier: MIT */
/* The socket factory: the sidecar's only part inside the container's network
 * namespace.
 *
 * A socket keeps the namespace it was created in. So the sidecar proper stays
 * in the host's namespace, where it can bind new host-side listeners whenever
 * automatic forwarding needs one, and a thread entered into the container's
 * netns (setns changes the calling thread's alone) creates, on request, the
 * sockets that must live there (to dial the app, the sock_diag and route
 * netlink sockets), handing them back over a socketpair with SCM_RIGHTS, a
 * batch per message: the sidecar keeps a pool of them (sockpool.c), so that
 * no connection waits for this thread. The thread does nothing else: no
 * capabilities, a seccomp filter of its own of a few calls (a thread's
 * credentials, capabilities, no-new-privs and filter are its own), and it
 * ends on EOF or nonsense on the socketpair, or with the sidecar.
 *
 * Why a thread, not a process: it shares the sidecar's memory and
 * descriptors, and so gives the sidecar nothing it has not (the same uid, no
 * capability; what it can make, the sidecar can have by asking). A forked
 * process cost every start a copy of the sidecar's page tables, its own
 * faults, and 100 kB of PSS: about 4 ms of CPU a start on the 2-core VM
 * under a burst. The listener factory (listenfactory.c) stays a process: it
 * alone keeps CAP_NET_BIND_SERVICE, which a shared memory would hand to the
 * sidecar. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h> /* SCMP_SYS */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/fdpass.h"
#include "bpf.h"
#include "sidecar.h"

#include "factory.h"

/* It makes sockets in the container's netns, of these families only. */
const int sc_factory_families[] = {AF_INET, AF_INET6, AF_NETLINK};
const size_t sc_factory_nfamilies = sizeof(sc_factory_families) / sizeof(sc_factory_families[0]);

static int confine_factory(void)
{
	const char *what;
	int rc = sc_confine_helper(false, 0, NULL, 0, sc_factory_families, sc_factory_nfamilies, &what);

	if (rc < 0)
		sc_log("socket factory: %s: %s", what, strerror(-rc));
	return rc;
}

/* Answers requests on SP until EOF or nonsense. */
static void serve(int sp)
{
	for (;;) {
		struct sc_factory_req req;
		struct sc_factory_reply rep = {0, 0};
		int fds[PS_FDPASS_MAX];
		size_t n = 0;
		ssize_t r = recv(sp, &req, sizeof(req), 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r != (ssize_t)sizeof(req) || req.count == 0 || req.count > PS_FDPASS_MAX)
			return; /* the sidecar is gone, or talks nonsense */
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
		r = ps_send_fds(sp, &rep, sizeof(rep), fds, n, 0);
		while (n > 0)
			close(fds[--n]);
		if (r < 0)
			return;
	}
}

struct factory_fds {
	int sp, nsfd;
};

static void *factory_thread(void *arg)
{
	struct factory_fds f = *(struct factory_fds *)arg;

	free(arg);
	/* Its own name, so that a thread list tells it apart. */
	prctl(PR_SET_NAME, "portside-netns", 0, 0, 0);
	if (setns(f.nsfd, CLONE_NEWNET) < 0)
		sc_log("socket factory: cannot enter the container's network namespace: %s", strerror(errno));
	else if (close(f.nsfd), f.nsfd = -1, confine_factory() == 0)
		serve(f.sp);
	/* Its end closes: the sidecar sees EOF, as from a factory that died. */
	if (f.nsfd >= 0)
		close(f.nsfd);
	close(f.sp);
	return NULL;
}

int sc_factory_start(struct sc_ctx *ctx, int nsfd)
{
	struct factory_fds *f = malloc(sizeof(*f));
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int sp[2], rc;

	if (!f)
		return -ENOMEM;
	/* SEQPACKET: one request, one reply, never merged or split. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		free(f);
		return -errno;
	}
	/* The thread's own copy of the netns: the caller closes NSFD. */
	f->sp = sp[1];
	f->nsfd = fcntl(nsfd, F_DUPFD_CLOEXEC, 3);
	if (f->nsfd < 0) {
		rc = -errno;
		goto fail;
	}
	/* A small stack (its loop holds a batch of descriptors), and every
	 * signal blocked: the sidecar's main thread takes them all. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&t, &attr, factory_thread, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc < 0) {
		close(f->nsfd);
		goto fail;
	}
	ctx->factory_fd = sp[0];
	return 0;
fail:
	close(sp[0]);
	close(sp[1]);
	free(f);
	return rc;
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
