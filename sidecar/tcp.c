/* SPDX-License-Identifier: MIT */
/* The TCP data path: accept on the host side, dial inside the container, and
 * move bytes both ways.
 *
 * What a connection costs is what decides how fast connections open and how
 * many one sidecar holds, so each connection's path does the least it can:
 * the dial target is kept per forward (target.c), the container-side socket
 * comes from a pool made ahead (sockpool.c), and an idle connection holds its
 * two sockets and nothing else.
 *
 * Bytes move through relay.c, a direction at a time: small messages copied,
 * bulk flows spliced through a pipe held only while bytes are in flight.
 * Half-close: EOF on one side becomes shutdown(SHUT_WR) on the other once
 * the direction is drained; the connection ends when both directions have.
 *
 * Connections are polled in an epoll set of their own, itself polled by the
 * loop: a socket is added once and its interest changed only when it
 * changes, and closing it takes it out; a libuv handle per socket cost
 * several more system calls a connection. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <seccomp.h>

#include "relay.h"
#include "sidecar.h"

/* The system calls this file needs once the sidecar is confined: accepting, dialling (a refused dial replaced in place
 * with dup3), shutting down. confine.c allows the union of every file's list, and fcntl and ioctl by command only
 * (the spare descriptor's F_DUPFD_CLOEXEC is there). */
const int sc_sys_tcp[] = {
	SCMP_SYS(accept4),    SCMP_SYS(accept),	     SCMP_SYS(connect),	    SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(dup3),	SC_SYS_END,
};

#define EVENTS_PER_WAKE 256
#define EMFILE_PAUSE_MS 200

struct sc_conn {
	struct sc_forward *fw;
	int fd[2];		/* 0: the client (host side), 1: the app (container side) */
	uint32_t events[2];	/* the interest registered, see conn_update */
	bool added[2];		/* in the epoll set */
	struct sc_half half[2]; /* half[0]: client to app, half[1]: app to client */
	bool connecting;
	bool cached; /* dialled a kept target: one more try if refused */
	/* why the last dial failed, for the counters (PS_REFUSED_N: none of them) */
	enum ps_refused refused;
	bool closing;
	struct sc_conn *prev, *next;
};

struct sc_tcp {
	int ep; /* the connections' epoll set */
	uv_poll_t ep_poll;
	bool dispatching;
	struct sc_conn *dead; /* closed during a dispatch, freed after it */
	bool spin;	      /* keep polling after events, see on_ready */
	uint64_t last_event;  /* now_ns() when events were last found */
	struct sc_relays relays;
	int spare; /* held back for a clean close at the fd limit, see shed */
};

/* ---- connections ---- */

static void conn_free(struct sc_tcp *t, struct sc_conn *c)
{
	for (int i = 0; i < 2; i++)
		sc_half_free(&t->relays, &c->half[i]);
	free(c);
}

static void free_dead(struct sc_tcp *t)
{
	while (t->dead) {
		struct sc_conn *c = t->dead;

		t->dead = c->next;
		conn_free(t, c);
	}
}

/* RESET: abort both sides (RST) rather than closing cleanly, so that an error
 * on one side is seen as an error on the other. The sockets close at once
 * (the epoll set forgets them); the memory goes after the current dispatch,
 * which may still hold events for it. */
static void conn_close(struct sc_conn *c, bool reset)
{
	struct sc_forward *fw = c->fw;
	struct sc_ctx *ctx = fw->ctx;
	struct sc_tcp *t = ctx->tcp;

	if (c->closing)
		return;
	c->closing = true;
	/* The app's socket came from the factory, which may not have closed
	 * its copy yet (a busy host can hold it between its sendmsg and its
	 * close): closing ours would then leave the socket, and its place in
	 * the epoll set, alive, and its next event would name freed memory. */
	if (c->fd[1] >= 0 && c->added[1])
		epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd[1], NULL);
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] < 0)
			continue;
		if (reset) {
			struct linger l = {1, 0};

			setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(c->fd[i]);
		c->fd[i] = -1;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		ctx->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	fw->conns_live--;
	ctx->conns_live--;
	c->next = t->dead;
	t->dead = c;
	if (!t->dispatching)
		free_dead(t);
	/* The last connection of an unserved forward: nothing points at it
	 * now (C, on the dead list, is never read through c->fw again). */
	sc_forward_release(fw);
}

/* Registers socket I's interest EV. */
static int ep_set(struct sc_conn *c, int i, uint32_t ev)
{
	struct sc_tcp *t = c->fw->ctx->tcp;
	struct epoll_event e = {.events = ev, .data.u64 = (uint64_t)(uintptr_t)c | (uint64_t)i};

	if (c->added[i] && ev == c->events[i])
		return 0;
	if (epoll_ctl(t->ep, c->added[i] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd[i], &e) < 0)
		return -errno;
	c->added[i] = true;
	c->events[i] = ev;
	return 0;
}

/* Polls each socket for what its two directions need now. */
static int conn_update(struct sc_conn *c)
{
	int rc;

	if (c->connecting)
		return ep_set(c, 1, EPOLLOUT);
	for (int i = 0; i < 2; i++) {
		uint32_t ev = 0;

		if (!c->half[i].eof && !sc_half_pending(&c->half[i]))
			ev |= EPOLLIN;
		if (sc_half_pending(&c->half[!i]))
			ev |= EPOLLOUT;
		if ((rc = ep_set(c, i, ev)) < 0)
			return rc;
	}
	return 0;
}

/* Moves what it can in direction H (0: client to app). 0, or -errno. */
static int pump(struct sc_conn *c, int h)
{
	return sc_half_pump(&c->fw->ctx->tcp->relays, &c->half[h], c->fd[h], c->fd[!h],
			    h == 0 ? &c->fw->bytes_in : &c->fw->bytes_out);
}

static int dial(struct sc_conn *c, char *why, size_t whylen);

/* The dial finished (or failed). Returns false when the connection closed. */
static bool connected(struct sc_conn *c)
{
	struct sc_forward *fw = c->fw;
	char why[256];
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return true;
	if (err == ECONNREFUSED && c->cached) {
		/* The app moved since the target was decided: decide again
		 * and dial once more, so this client does not pay for it. */
		sc_target_forget(fw);
		if (dial(c, why, sizeof(why)) == 0)
			return true;
		sc_count_refused(fw, c->refused);
		sc_log_refused("refused", "connection", fw->cfg.external_port, why);
		conn_close(c, true);
		return false;
	}
	if (err) {
		snprintf(why, sizeof(why), "connecting to local port %u: %s", fw->cfg.local_port, strerror(err));
		/* the app's netns answered the dial with a refusal (or nothing) */
		sc_count_refused(fw, PS_REFUSED_NOT_LISTENING);
		sc_log_refused("refused", "connection", fw->cfg.external_port, why);
		conn_close(c, true);
		return false;
	}
	c->connecting = false;
	return true;
}

static void on_event(struct sc_conn *c, int i, uint32_t ev)
{
	int rc = 0;

	if (c->closing)
		return;
	if (c->connecting) {
		if (i == 1 && connected(c) && !c->connecting)
			rc = pump(c, 0); /* the client has likely sent already */
	} else {
		if (ev & (EPOLLERR | EPOLLHUP)) {
			if (ev & EPOLLERR) {
				conn_close(c, true);
				return;
			}
			ev |= c->events[i]; /* hung up: let the reads and writes find out */
		}
		if (ev & EPOLLIN)
			rc = pump(c, i);
		if (rc == 0 && (ev & EPOLLOUT))
			rc = pump(c, !i);
	}
	if (c->closing)
		return;
	if (rc < 0) {
		conn_close(c, rc != -EPIPE);
		return;
	}
	if (c->half[0].shut && c->half[1].shut) {
		conn_close(c, false);
		return;
	}
	if ((rc = conn_update(c)) < 0 || ((ev & EPOLLHUP) && c->events[i] == 0)) {
		conn_close(c, rc < 0);
		return;
	}
}

/* Handles what the connections' epoll set has now. Returns how many. */
static int dispatch(struct sc_tcp *t)
{
	struct epoll_event ev[EVENTS_PER_WAKE];
	int n = epoll_wait(t->ep, ev, EVENTS_PER_WAKE, 0);

	t->dispatching = true;
	for (int k = 0; k < n; k++) {
		struct sc_conn *c = (struct sc_conn *)(uintptr_t)(ev[k].data.u64 & ~(uint64_t)1);

		on_event(c, (int)(ev[k].data.u64 & 1), ev[k].events);
	}
	t->dispatching = false;
	free_dead(t);
	return n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Waking a sleeping process costs more on these VMs than the whole of a small
 * message's work, and a forwarded round trip wakes the sidecar twice. So
 * after handling events the sidecar keeps polling for up to SPIN_NS, while
 * that pays: a spin that finds nothing turns spinning off, and only a
 * wake-up that comes within 2 x SPIN_NS of the last event turns it on
 * again. An idle or slow connection never makes the sidecar spin; a steady
 * exchange (a ping-pong, requests and replies) keeps it on the CPU instead of
 * sleeping between each message; a wake-up with more than SPIN_MAX_EVENTS
 * events does not spin. One turn of the loop spins at most
 * SPIN_TURN_NS, so that listeners, timers and the control socket get theirs. */
#define SPIN_NS		50000
#define SPIN_TURN_NS	1000000
#define SPIN_MAX_EVENTS 2

static void on_ready(uv_poll_t *p, int status, int events)
{
	struct sc_ctx *ctx = p->data;
	struct sc_tcp *t = ctx->tcp;
	uint64_t start = now_ns(), last = start, spliced = t->relays.spliced;
	int n;

	(void)status;
	(void)events;

	if (!t->spin && start - t->last_event < 2 * SPIN_NS)
		t->spin = true;
	if ((n = dispatch(t)) > 0)
		t->last_event = last = now_ns();
	/* Many events at once: connections enough to keep the sidecar busy
	 * without it, and on a small host the CPU a spin takes is theirs
	 * (redis-benchmark, 50 clients: about 10% fewer requests spinning).
	 * Bulk work (a pipe's worth spliced): the wake-up is a small part of
	 * it, and a spin between two socket buffers' worth only burns CPU
	 * that the sender and receiver on the same host need (measured
	 * with relay.h's bigger pipes: see SC_BULK_PIPE_SIZE). */
	while (t->spin && n <= SPIN_MAX_EVENTS && t->relays.spliced == spliced && !ctx->stopping) {
		uint64_t now = now_ns();

		if (now - last >= SPIN_NS) {
			t->spin = false; /* nothing came: sleep from now on */
			break;
		}
		if (now - start >= SPIN_TURN_NS)
			break;
		if ((n = dispatch(t)) > 0)
			t->last_event = last = now_ns();
	}
}

/* Dials C's app at FW's target, on a socket from the pool, into c->fd[1]
 * (replacing a refused one). 0, or -errno with the reason in WHY. */
static int dial(struct sc_conn *c, char *why, size_t whylen)
{
	struct sc_forward *fw = c->fw;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, rc;

	c->refused = PS_REFUSED_N;
	if ((rc = sc_target(fw->ctx, fw, &ss, &sl, &c->cached, why, whylen)) < 0) {
		c->refused = rc == SC_TARGET_LOCALHOST_ONLY ? PS_REFUSED_LOCALHOST_ONLY : PS_REFUSED_NOT_LISTENING;
		return rc;
	}
	if ((fd = sc_netns_take(fw->ctx, ss.ss_family, SOCK_STREAM)) < 0) {
		snprintf(why, whylen, "cannot dial local port %u: socket: %s", fw->cfg.local_port, strerror(-fd));
		if (fd == -EMFILE || fd == -ENFILE)
			c->refused = PS_REFUSED_DESCRIPTORS;
		return fd;
	}
	if (c->fd[1] >= 0) {
		/* The same descriptor number, the refused socket taken out of
		 * the epoll set first (see conn_close) and added again below. */
		if (c->added[1])
			epoll_ctl(fw->ctx->tcp->ep, EPOLL_CTL_DEL, c->fd[1], NULL);
		c->added[1] = false;
		if (dup3(fd, c->fd[1], O_CLOEXEC) < 0) {
			rc = -errno;
			close(fd);
			snprintf(why, whylen, "cannot dial local port %u again: %s", fw->cfg.local_port, strerror(-rc));
			return rc;
		}
		close(fd);
		c->added[1] = false;
	} else {
		c->fd[1] = fd;
	}
	c->connecting = true;
	if (connect(c->fd[1], (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		rc = -errno;
		if (rc == -ECONNREFUSED && c->cached) {
			/* Refused at the kept target: decided afresh, once
			 * (a fresh answer is never "cached"). */
			sc_target_forget(fw);
			return dial(c, why, whylen);
		}
		snprintf(why, whylen, "connecting to local port %u: %s", fw->cfg.local_port, strerror(-rc));
		c->refused = PS_REFUSED_NOT_LISTENING;
		return rc;
	}
	return conn_update(c);
}

static void start_conn(struct sc_forward *fw, int client)
{
	struct sc_ctx *ctx = fw->ctx;
	struct sc_conn *c;
	char why[256];

	c = calloc(1, sizeof(*c));
	if (!c) {
		close(client);
		return;
	}
	c->fw = fw;
	c->fd[0] = client;
	c->fd[1] = -1;
	for (int i = 0; i < 2; i++)
		sc_half_init(&c->half[i]);
	if (fw->cfg.proxy_protocol) {
		/* The header goes first: it leaves under the same
		 * backpressure as the data behind it. */
		struct sockaddr_storage src, dst;
		socklen_t sl = sizeof(src), dl = sizeof(dst);
		unsigned char h[SC_PROXY_MAX];
		size_t n = 0;

		if (getpeername(client, (struct sockaddr *)&src, &sl) == 0 &&
		    getsockname(client, (struct sockaddr *)&dst, &dl) == 0)
			n = sc_proxy_header(&src, &dst, h);
		if (n == 0 || sc_half_hold(&ctx->tcp->relays, &c->half[0], h, n) < 0) {
			sc_log_refused("refused", "connection", fw->cfg.external_port, "cannot build its PROXY header");
			close(client);
			free(c);
			return;
		}
	}
	c->next = ctx->conns;
	if (ctx->conns)
		ctx->conns->prev = c;
	ctx->conns = c;
	fw->conns_live++;
	fw->conns_total++;
	ctx->conns_live++;
	if (dial(c, why, sizeof(why)) < 0) {
		sc_count_refused(fw, c->refused);
		sc_log_refused("refused", "connection", fw->cfg.external_port, why);
		conn_close(c, true);
	}
}

/* ---- listeners ---- */

/* At the descriptor limit a client left in the backlog would hang until a
 * connection ends. The descriptor held back for this moment takes it
 * instead, closes it at once (a clean close, counted in one summarised log
 * line), and is taken back. True when a client was shed. */
static bool shed(struct sc_forward *fw)
{
	struct sc_tcp *t = fw->ctx->tcp;
	int fd;

	if (!t || t->spare < 0)
		return false;
	close(t->spare);
	fd = accept4(fw->cfg.fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		sc_count_refused(fw, PS_REFUSED_DESCRIPTORS);
		sc_log_refused("refused", "connection", fw->cfg.external_port,
			       "out of descriptors (the sidecar's RLIMIT_NOFILE): raise it, or lower maxConnections");
	}
	t->spare = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
	return fd >= 0;
}

static void on_accept(uv_poll_t *p, int status, int events);

static void on_resume(uv_timer_t *t)
{
	struct sc_ctx *ctx = t->data;

	ctx->resume_armed = false;
	for (size_t i = 0; i < ctx->nfw; i++) {
		struct sc_forward *fw = ctx->fw[i];

		if (!fw->polling && !ctx->stopping && fw->cfg.proto == OCI_PROTO_TCP) {
			uv_poll_start(&fw->poll, UV_READABLE, on_accept);
			fw->polling = true;
		}
	}
}

/* Out of fds: stop accepting for a moment rather than spin on a listener
 * that stays readable. Connections waiting in the backlog are served later. */
static void pause_accepting(struct sc_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nfw; i++) {
		if (ctx->fw[i]->polling && ctx->fw[i]->cfg.proto == OCI_PROTO_TCP) {
			uv_poll_stop(&ctx->fw[i]->poll);
			ctx->fw[i]->polling = false;
		}
	}
	if (!ctx->resume_armed) {
		ctx->resume_armed = true;
		uv_timer_start(&ctx->resume_timer, on_resume, EMFILE_PAUSE_MS, 0);
	}
}

static void on_accept(uv_poll_t *p, int status, int events)
{
	struct sc_forward *fw = p->data;
	struct sc_ctx *ctx = fw->ctx;

	(void)events;
	if (status < 0)
		return;
	/* Bounded per wake-up, so that one busy port cannot starve the rest. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		/* The peer only when there is a list to check it against. */
		bool check = fw->cfg.allow.n != 0;
		int fd = accept4(fw->cfg.fd, check ? (struct sockaddr *)&peer : NULL, check ? &pl : NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if ((errno == EMFILE || errno == ENFILE) && shed(fw))
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				sc_log_limited("out of descriptors (%s): accepting again in %d ms", strerror(errno),
					       EMFILE_PAUSE_MS);
				pause_accepting(ctx);
			}
			return; /* EAGAIN, or an aborted connection */
		}
		/* The accepted socket's own peer, before anything is spent on
		 * it: a PROXY header (proxyProtocol) is what portside sends,
		 * never what it believes. */
		if (check && !sc_allow_client(fw, &peer, "connection")) {
			close(fd);
			continue;
		}
		if (ctx->conns_live >= ctx->max_conns) {
			char why[96];

			snprintf(why, sizeof(why), "%u connections and flows already (policy maxConnections)",
				 ctx->max_conns);
			sc_count_refused(fw, PS_REFUSED_MAX_CONNECTIONS);
			sc_log_refused("refused", "connection", fw->cfg.external_port, why);
			close(fd);
			continue;
		}
		start_conn(fw, fd);
	}
}

int sc_tcp_watch(struct sc_forward *fw)
{
	int rc;

	if (fw->ctx->stopping || !fw->ctx->tcp)
		return UV_ECANCELED;
	if ((rc = uv_poll_init_socket(fw->ctx->loop, &fw->poll, fw->cfg.fd)) < 0)
		return rc;
	fw->poll_open = true;
	fw->poll.data = fw;
	if ((rc = uv_poll_start(&fw->poll, UV_READABLE, on_accept)) < 0)
		return rc;
	fw->polling = true;
	return 0;
}

int sc_tcp_start(struct sc_ctx *ctx)
{
	struct sc_tcp *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return UV_ENOMEM;
	ctx->tcp = t;
	t->spare = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0); /* /dev/null */
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	if (t->ep < 0)
		return -errno;
	if ((rc = uv_poll_init(ctx->loop, &t->ep_poll, t->ep)) < 0)
		return rc;
	t->ep_poll.data = ctx;
	if ((rc = uv_poll_start(&t->ep_poll, UV_READABLE, on_ready)) < 0)
		return rc;
	uv_timer_init(ctx->loop, &ctx->resume_timer);
	ctx->resume_timer.data = ctx;
	for (size_t i = 0; i < ctx->nfw; i++)
		if (ctx->fw[i]->cfg.proto == OCI_PROTO_TCP && (rc = sc_tcp_watch(ctx->fw[i])) < 0)
			return rc;
	return 0;
}

void sc_tcp_close_conns(struct sc_forward *fw)
{
	struct sc_ctx *ctx = fw->ctx;

	for (struct sc_conn *c = ctx->conns, *next; c; c = next) {
		next = c->next;
		if (c->fw == fw)
			conn_close(c, false);
	}
}

static void on_ep_closed(uv_handle_t *h)
{
	struct sc_ctx *ctx = h->data;
	struct sc_tcp *t = ctx->tcp;

	close(t->ep);
	if (t->spare >= 0)
		close(t->spare);
	sc_relays_free(&t->relays);
	free(t);
	ctx->tcp = NULL;
}

void sc_tcp_stop(struct sc_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nfw; i++) {
		struct sc_forward *fw = ctx->fw[i];

		if (fw->cfg.proto != OCI_PROTO_TCP)
			continue;
		if (fw->poll_open && !uv_is_closing((uv_handle_t *)&fw->poll))
			uv_close((uv_handle_t *)&fw->poll, sc_forward_closed);
		else if (!fw->poll_open && fw->cfg.fd >= 0) {
			close(fw->cfg.fd); /* never watched */
			fw->cfg.fd = -1;
		}
	}
	if (!ctx->tcp)
		return;
	/* Connections of unserved forwards too: each last one frees its
	 * forward (sc_forward_release), or the handle's close callback does. */
	while (ctx->conns)
		conn_close(ctx->conns, false);
	free_dead(ctx->tcp);
	if (!uv_is_closing((uv_handle_t *)&ctx->tcp->ep_poll))
		uv_close((uv_handle_t *)&ctx->tcp->ep_poll, on_ep_closed);
	if (!uv_is_closing((uv_handle_t *)&ctx->resume_timer))
		uv_close((uv_handle_t *)&ctx->resume_timer, NULL);
}
