/* SPDX-License-Identifier: MIT */
/* portside-sidecar --id ID --uid UID
 *
 * Started by portside-hook only, with the descriptors of lib/sidecar_fds.h.
 * Start-up in a visible order: log, record, control socket (host namespaces),
 * the socket factory forked into the container's netns and the netlink
 * sockets it hands over, the host listener factory (when the policy allows
 * automatic forwarding), confinement (seccomp last), then the loop. The
 * sidecar itself never leaves the host's namespaces. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/netlink.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/identity.h"
#include "../lib/rundir.h"
#include "../lib/sidecar_fds.h"
#include "../lib/uids.h"
#include "../base/cleanup.h"
#include "../oci/input.h"
#include "../oci/ports.h"
#include "sidecar.h"

/* Before the loop runs, a failure goes to the hook (which prints it and fails
 * the container's start) and to the log. */
static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sc_log("%s", msg);
	dprintf(SC_FD_READY, "error: %s\n", msg);
	exit(1);
}

static void open_log(const char *id)
{
	char path[4096];
	int fd;

	if (ps_file(path, sizeof(path), id, PS_SIDECAR_LOG) < 0)
		return;
	/* Read-write: rotation copies it out (log.c). */
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return;
	/* stderr is the log from here on (sanitizer reports land there too). */
	dup2(fd, STDERR_FILENO);
	close(fd);
	/* Opened now: once confined, the sidecar can open nothing. */
	if (ps_file(path, sizeof(path), id, PS_SIDECAR_LOG_OLD) == 0 &&
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600)) >= 0)
		sc_log_rotate_to(fd);
}

static void on_log_tick(uv_timer_t *t)
{
	(void)t;
	sc_log_flush(false);
}

static struct ps_forwards *load_record(const char *id)
{
	struct ps_forwards *rec = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (ps_record_load(id, &rec, &e) < 0)
		fail("%s", e.msg[0]);
	for (size_t i = 0; i < rec->n; i++) {
		if (rec->v[i].fd != SC_FD_FIRST_LISTENER + (int)i || fcntl(rec->v[i].fd, F_GETFD) < 0)
			fail("listener %zu (fd %d) was not handed over", i, rec->v[i].fd);
	}
	return rec;
}

/* A filesystem socket in the host's namespaces, never an abstract one: any
 * process in a netns can reach those (CVE-2020-15257). */
static int control_socket(const char *id)
{
	struct sockaddr_un sa;
	cleanup_close int dirfd = -1;
	mode_t old;
	int fd, rc;

	if ((rc = ps_control_addr(id, &sa, &dirfd)) < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(sa.sun_path);
	old = umask(0177); /* 0600 from the start: no window where others connect */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 16) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static void on_signal(uv_signal_t *s, int signum)
{
	sc_shutdown(s->data, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* What sc_shutdown stops (core.c calls it through ctx->stop, so that the
 * core names none of the subsystems that call it). */
static void stop_all(struct sc_ctx *ctx)
{
	sc_autoforward_stop(ctx);
	sc_tcp_stop(ctx);
	sc_udp_stop(ctx);
	sc_pool_stop(ctx);
	sc_control_stop(ctx);
	sc_watch_stop(ctx);
	uv_close((uv_handle_t *)&ctx->sig_term, NULL);
	uv_close((uv_handle_t *)&ctx->sig_int, NULL);
	uv_close((uv_handle_t *)&ctx->log_timer, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"id", required_argument, NULL, 'i'}, {"uid", required_argument, NULL, 'u'}, {NULL, 0, NULL, 0}};
	struct sc_ctx ctx = {.ctl_fd = -1,
			     .diag_fd = -1,
			     .route_fd = -1,
			     .factory_fd = -1,
			     .listen_factory_fd = -1,
			     .stop = stop_all};
	const char *id = NULL, *what;
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY}; /* unknown: nothing to warn of */
	unsigned long uid = 0;
	char *end;
	int c, rc;

	/* Its name whatever the kernel made of an exec through a descriptor
	 * (some name the process after the descriptor's number): pid files are
	 * trusted only for a process of this name (lib/rundir.h). */
	prctl(PR_SET_NAME, "portside-sidecar", 0, 0, 0);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'i') {
			id = optarg;
		} else if (c == 'u') {
			errno = 0;
			uid = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || uid > UINT32_MAX)
				return 2;
		} else {
			return 2;
		}
	}
	/* The uid is the hook's to choose (lib/uids.h): without one of the
	 * reserved range the sidecar does not start. */
	if (!id || !oci_id_valid(id))
		return 2;
	if (sc_confine_as((uid_t)uid) < 0) {
		dprintf(SC_FD_READY, "error: --uid %lu is not a uid of the sidecars' range %u-%u\n", uid,
			(unsigned)ps_uid_base(), (unsigned)ps_uid_base() + ps_uid_count() - 1);
		return 2;
	}
	snprintf(ctx.id, sizeof(ctx.id), "%s", id);
	sc_log_init(id);
	open_log(id);
	signal(SIGPIPE, SIG_IGN);
	/* Opened now, like the log: once confined it could not be. */
	if ((rc = sc_events_open(&ctx)) < 0)
		sc_log("cannot open the events file: %s (portsidectl events will not show this container)",
		       strerror(-rc));

	ctx.rec = load_record(id);
	ctx.max_conns = ctx.rec->max_connections;
	ctx.udp_idle_ms = (uint64_t)ctx.rec->udp_idle_timeout * 1000;
	ctx.max_udp_flows = ctx.rec->max_udp_flows;
	ctx.udp_per_source = ctx.rec->udp_per_source;
	if (ps_write_self(id, PS_SIDECAR_PID) < 0)
		fail("cannot write the pid file: %s", strerror(errno));
	ctx.ctl_fd = control_socket(id);
	if (ctx.ctl_fd < 0)
		fail("cannot create the control socket: %s", strerror(-ctx.ctl_fd));
	/* Each connection costs two descriptors (its sockets), and two more
	 * for a pipe while bulk bytes are in flight (tcp.c). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* The hook raises it for maxConnections and maxUdpFlows (a socket a
	 * flow) where it may; say so where it could not, before the first
	 * refusal does. */
	if (rl.rlim_cur < (rlim_t)ctx.max_conns * 2 + ctx.max_udp_flows + 256)
		sc_log("descriptor limit %llu: fewer than maxConnections %u and maxUdpFlows %u need (%llu); past it "
		       "connections and flows are refused until some close",
		       (unsigned long long)rl.rlim_cur, ctx.max_conns, ctx.max_udp_flows,
		       (unsigned long long)ctx.max_conns * 2 + ctx.max_udp_flows + 256);

	/* Sockets keep the namespace they were made in. The sidecar stays in
	 * the host's (its listeners, and any it binds later); the sockets that
	 * must be the container's come from the factory, entered there. */
	signal(SIGCHLD, SIG_IGN); /* the factory is reaped by the kernel */
	/* What reading the record left free on the heap (json-c's objects: a
	 * few MB for 1000 mappings) goes back before the factories are
	 * forked, which would each hold a copy of it resident. */
	malloc_trim(0);
	if ((rc = sc_pool_init(&ctx)) < 0 || (rc = sc_factory_start(&ctx, SC_FD_NETNS)) < 0)
		fail("cannot start the socket factory: %s", strerror(-rc));
	close(SC_FD_NETNS);
	ctx.diag_fd = sc_netns_socket(&ctx, AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG);
	ctx.route_fd = sc_netns_socket(&ctx, AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
	if (ctx.diag_fd < 0 || ctx.route_fd < 0)
		fail("cannot open netlink sockets in the container's network namespace: %s",
		     strerror(-(ctx.diag_fd < 0 ? ctx.diag_fd : ctx.route_fd)));

	/* Automatic forwarding's host listeners come from a factory of their
	 * own, forked now (before confinement) whatever the mode, so that a
	 * live switch to public or all works: it alone keeps
	 * CAP_NET_BIND_SERVICE (a hand-out port below 1024) and may bind. */
	if (sc_listen_factory_wanted(ctx.rec) && (rc = sc_listen_factory_start(&ctx)) < 0)
		fail("cannot start the listener factory: %s", strerror(-rc));
	if ((rc = sc_confine(&what)) < 0)
		fail("confinement failed %s: %s", what, strerror(-rc));

	ctx.loop = uv_default_loop();
	for (size_t i = 0; i < ctx.rec->n; i++)
		if (!sc_forward_add(&ctx, &ctx.rec->v[i]))
			fail("out of memory");
	uv_signal_init(ctx.loop, &ctx.sig_term);
	uv_signal_init(ctx.loop, &ctx.sig_int);
	ctx.sig_term.data = ctx.sig_int.data = &ctx;
	uv_signal_start(&ctx.sig_term, on_signal, SIGTERM);
	uv_signal_start(&ctx.sig_int, on_signal, SIGINT);
	uv_timer_init(ctx.loop, &ctx.log_timer);
	uv_timer_start(&ctx.log_timer, on_log_tick, 1000, 1000);
	/* The container whose hook started the sidecar; others of its netns
	 * join through the control socket. */
	if (fcntl(SC_FD_PIDFD, F_GETFD) == 0 && (rc = sc_watch_add(&ctx, id, SC_FD_PIDFD)) < 0)
		fail("cannot watch the container's process: %s", uv_strerror(rc));
	if ((rc = sc_pool_start(&ctx)) < 0 || (rc = sc_tcp_start(&ctx)) < 0 || (rc = sc_udp_start(&ctx)) < 0 ||
	    (rc = sc_control_start(&ctx)) < 0 || (rc = sc_autoforward_start(&ctx)) < 0)
		fail("cannot start serving: %s", uv_strerror(rc));

	for (size_t i = 0; i < ctx.nfw; i++) {
		const struct ps_forward *w = &ctx.fw[i]->cfg;
		char ip[OCI_IP_LEN];

		oci_ip_format(&w->host_ip, ip);
		sc_log("forwarding %s%s%s:%u -> %u/%s%s", w->host_ip.family == AF_INET6 ? "[" : "", ip,
		       w->host_ip.family == AF_INET6 ? "]" : "", w->external_port, w->local_port,
		       oci_proto_name(w->proto), w->expose_localhost ? " (exposeLocalhost)" : "");
	}
	sc_log("serving %zu listener%s", ctx.nfw, ctx.nfw == 1 ? "" : "s");
	for (size_t i = 0; i < ctx.nfw; i++)
		sc_event(&ctx, PS_EV_FORWARDED, &ctx.fw[i]->cfg, NULL, "served from the container's start");
	if (dprintf(SC_FD_READY, "ok\n") < 0)
		fail("the hook is gone");
	close(SC_FD_READY);

	uv_run(ctx.loop, UV_RUN_DEFAULT);

	uv_loop_close(ctx.loop);
	sc_watch_free(&ctx);
	close(ctx.ctl_fd);
	close(ctx.diag_fd);
	close(ctx.route_fd);
	close(ctx.factory_fd); /* the factory sees EOF and exits */
	if (ctx.listen_factory_fd >= 0)
		close(ctx.listen_factory_fd); /* so does the listener factory */
	sc_pool_free(&ctx);
	for (size_t i = 0; i < ctx.nfw; i++)
		free(ctx.fw[i]);
	free(ctx.fw);
	sc_draining_free(&ctx);
	ps_forwards_free(ctx.rec);
	sc_log("stopped");
	sc_events_close(&ctx);
	return 0;
}
