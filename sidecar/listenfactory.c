/* SPDX-License-Identifier: MIT */
/* The host listener factory: the one part of a sidecar that may create an
 * IPv4 or IPv6 socket in the host's network namespace, and bind it.
 *
 * Automatic forwarding binds host listeners while the container runs. A
 * process that can create a host socket can also connect it to the host's
 * own loopback services (seccomp cannot tell that connect from a dial into
 * the container: the address is behind a pointer, the netns behind the fd),
 * and one that keeps CAP_NET_BIND_SERVICE can bind any port below 1024. So
 * the sidecar proper does neither: a child forked before confinement, still
 * in the host's netns, does only this. It takes the hand-out ports and bind
 * addresses from the record as they were when it was forked, and answers a
 * request "listen PORT" with the listeners ps_listen_all makes for PORT on
 * every bind address (the errno when it cannot), for a PORT of the policy's
 * autoforwardPorts only: a compromised sidecar can get nothing from it but
 * listening sockets on hand-out ports, which it could get anyway. It keeps
 * CAP_NET_BIND_SERVICE only when a hand-out port is below 1024, runs as the
 * sidecar's uid with no-new-privs and a seccomp filter of its own, and ends
 * when the sidecar does (EOF on its socketpair, or PR_SET_PDEATHSIG).
 *
 * One request at a time, answered before the next, synchronously: a bind
 * takes microseconds, and automatic forwarding bounds its binds per tick. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <seccomp.h> /* SCMP_SYS */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/fdpass.h"
#include "../lib/listen.h"
#include "../oci/policy.h"
#include "../oci/ports.h"
#include "bpf.h"
#include "sidecar.h"

/* How long the sidecar waits for an answer before it gives the factory up:
 * far more than a bind takes, short enough not to stall the loop long. */
#define LF_TIMEOUT_MS 1000
#define LF_NAME	      "portside-listen" /* not portside-sidecar: pid files trust that name */

_Static_assert(OCI_POLICY_MAX_HOSTIPS <= 32 && OCI_POLICY_MAX_HOSTIPS <= PS_FDPASS_MAX, "one bit a bind address");

/* One SEQPACKET message each way. */
struct lf_req {
	uint32_t port;
};

struct lf_reply {
	int32_t rc;    /* 0, or -errno */
	uint32_t port; /* the request answered */
	uint32_t have; /* bit i: the message carries bind address i's listener, in order */
};

/* The system calls the sidecar makes to ask, once confined (the socketpair
 * was made before). confine.c allows the union of every file's list. */
const int sc_sys_listen_factory[] = {
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(poll), SCMP_SYS(ppoll), SC_SYS_END,
};

bool sc_listen_factory_wanted(const struct ps_forwards *rec)
{
	return rec->n_auto_ports > 0 && rec->max_autoforwards > 0;
}

/* ---- the factory ---- */

const int sc_listen_binding[] = {SCMP_SYS(bind), SCMP_SYS(listen)};
const size_t sc_listen_nbinding = sizeof(sc_listen_binding) / sizeof(sc_listen_binding[0]);
/* The host's netns is where it stays: IP sockets, never netlink or unix ones
 * (nothing to reach, nothing to learn). */
const int sc_listen_families[] = {AF_INET, AF_INET6};
const size_t sc_listen_nfamilies = sizeof(sc_listen_families) / sizeof(sc_listen_families[0]);

static int confine_listen_factory(bool keep_bind, pid_t parent)
{
	const char *what;
	int rc = sc_confine_helper(keep_bind, parent, sc_listen_binding, sc_listen_nbinding, sc_listen_families,
				   sc_listen_nfamilies, &what);

	if (rc < 0)
		sc_log("listener factory: %s: %s", what, strerror(-rc));
	return rc;
}

/* PORT is one the policy hands out (and ps_hand_out would offer). */
static bool hand_out_port(const struct ps_forwards *rec, uint32_t port)
{
	if (port == 0 || port > 65535 || oci_port_reserved(port))
		return false;
	for (size_t i = 0; i < rec->n_auto_ports; i++)
		if (rec->auto_ports[i] == port)
			return true;
	return false;
}

static void __attribute__((noreturn)) factory_main(int sp, const struct ps_forwards *rec, bool keep_bind, pid_t parent)
{
	prctl(PR_SET_NAME, LF_NAME, 0, 0, 0);
	/* Its log lines are appended; the rotation is the sidecar's alone
	 * (the rotated file's descriptor is not open here). */
	sc_log_rotate_to(-1);
	if (confine_listen_factory(keep_bind, parent) < 0) {
		sc_log("listener factory: confinement failed");
		_exit(1);
	}
	for (;;) {
		struct lf_req req;
		struct lf_reply rep = {0, 0, 0};
		int fds[OCI_POLICY_MAX_HOSTIPS], out[OCI_POLICY_MAX_HOSTIPS];
		size_t n = 0, bad = 0;
		ssize_t r = recv(sp, &req, sizeof(req), 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r != (ssize_t)sizeof(req))
			_exit(0); /* the sidecar is gone, or talks nonsense */
		rep.port = req.port;
		if (!hand_out_port(rec, req.port))
			rep.rc = -EPERM;
		else
			rep.rc = ps_listen_all(rec->bind, rec->n_bind, req.port, OCI_PROTO_TCP, true, fds, &bad);
		for (size_t i = 0; rep.rc == 0 && i < rec->n_bind; i++) {
			if (fds[i] < 0)
				continue;
			rep.have |= 1u << i;
			out[n++] = fds[i];
		}
		if (ps_send_fds(sp, &rep, sizeof(rep), out, n, 0) < 0)
			_exit(0);
		while (n > 0)
			close(out[--n]);
	}
}

int sc_listen_factory_start(struct sc_ctx *ctx)
{
	const struct ps_forwards *rec = ctx->rec;
	bool keep_bind = false;
	int sp[2];
	pid_t pid, self = getpid();

	if (rec->n_bind > OCI_POLICY_MAX_HOSTIPS)
		return -EINVAL;
	for (size_t i = 0; i < rec->n_auto_ports; i++)
		keep_bind |= rec->auto_ports[i] < 1024;
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
		/* Nothing of the sidecar stays open here (listeners, the
		 * control socket, the hook's pipe, the other factory): only
		 * 0-2 (the log) and the socketpair, as 3. */
		int s = fcntl(sp[1], F_DUPFD_CLOEXEC, 4);

		if (s < 0 || dup2(s, 3) < 0 || syscall(SYS_close_range, 4U, ~0U, 0U) < 0)
			_exit(1);
		factory_main(3, rec, keep_bind, self);
	}
	close(sp[1]);
	ctx->listen_factory_fd = sp[0];
	return 0;
}

/* ---- the sidecar's side ---- */

/* The factory did not answer as it must: it is given up (it exits on EOF),
 * and automatic forwarding gets -EPERM from now on. */
static int give_up(struct sc_ctx *ctx, const char *why, int rc)
{
	sc_log("listener factory: %s: no more automatic listeners", why);
	close(ctx->listen_factory_fd);
	ctx->listen_factory_fd = -1;
	return rc;
}

int sc_host_listen(struct sc_ctx *ctx, unsigned port, int *fds)
{
	const size_t nb = ctx->rec->n_bind;
	struct lf_req req = {port};
	struct lf_reply rep;
	struct pollfd pfd;
	int got[PS_FDPASS_MAX];
	size_t n = 0, k = 0;
	ssize_t r;
	int rc;

	for (size_t i = 0; i < nb; i++)
		fds[i] = -1;
	if (ctx->listen_factory_fd < 0)
		return -EPERM;
	if (send(ctx->listen_factory_fd, &req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(req))
		return give_up(ctx, "cannot reach it", -EPIPE);
	pfd = (struct pollfd){.fd = ctx->listen_factory_fd, .events = POLLIN};
	do
		rc = poll(&pfd, 1, LF_TIMEOUT_MS);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		return give_up(ctx, "no answer", -ETIMEDOUT);
	r = ps_recv_fds(ctx->listen_factory_fd, &rep, sizeof(rep), got, PS_FDPASS_MAX, &n, MSG_DONTWAIT);
	if (r != (ssize_t)sizeof(rep) || rep.port != port || (uint32_t)__builtin_popcount(rep.have) != n ||
	    (nb < 32 && (rep.have >> nb)) || (rep.rc != 0 && n != 0) || rep.rc > 0) {
		while (n > 0)
			close(got[--n]);
		return give_up(ctx, "an answer that does not fit the request", -EPROTO);
	}
	if (rep.rc < 0)
		return rep.rc;
	for (size_t i = 0; i < nb; i++)
		if (rep.have & (1u << i))
			fds[i] = got[k++];
	return 0;
}
