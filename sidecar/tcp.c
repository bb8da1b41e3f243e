/* SPDX-License-Identifier: MIT */
/* The TCP data path: accept on the host side, dial inside the container, and
 * move bytes both ways with splice(2) through a pipe per direction, so that
 * payload never crosses into user space.
 *
 * Backpressure: a direction reads from its source only while its pipe is
 * empty, and waits for its destination to be writable while the pipe holds
 * bytes; so each direction holds at most one pipe's worth (64 KiB).
 * Half-close: EOF on one side becomes shutdown(SHUT_WR) on the other once the
 * pipe is drained; the connection ends when both directions have. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sidecar.h"

#define SPLICE_CHUNK	 (64 * 1024)
#define ROUNDS_PER_EVENT 16 /* bound the work of one event: fairness */
#define EMFILE_PAUSE_MS	 200

struct half {
	int pipe[2];
	size_t queued; /* bytes in the pipe */
	bool eof;      /* the source said EOF */
	bool shut;     /* shutdown(SHUT_WR) sent to the destination */
};

struct sc_conn {
	struct sc_forward *fw;
	int fd[2]; /* 0: the client (host side), 1: the app (container side) */
	uv_poll_t poll[2];
	int events[2];
	struct half half[2]; /* half[0]: client to app, half[1]: app to client */
	bool connecting;
	bool closing;
	int open_handles;
	struct sc_conn *prev, *next;
};

static void conn_update(struct sc_conn *c);

static void conn_free(struct sc_conn *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] >= 0)
			close(c->fd[i]);
		for (int k = 0; k < 2; k++)
			if (c->half[i].pipe[k] >= 0)
				close(c->half[i].pipe[k]);
	}
	free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
	struct sc_conn *c = h->data;

	if (--c->open_handles == 0)
		conn_free(c);
}

/* RESET: abort both sides (RST) rather than closing cleanly, so that an error
 * on one side is seen as an error on the other. */
static void conn_close(struct sc_conn *c, bool reset)
{
	struct sc_ctx *ctx = c->fw->ctx;

	if (c->closing)
		return;
	c->closing = true;
	if (reset) {
		struct linger l = {1, 0};

		for (int i = 0; i < 2; i++)
			if (c->fd[i] >= 0)
				setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		ctx->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->fw->conns_live--;
	ctx->conns_live--;
	/* uv_close stops polling at once; the fds close in the callback. */
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&c->poll[i], on_conn_closed);
}

/* Moves what it can in direction H. Returns 0, or -errno on a socket error. */
static int pump(struct sc_conn *c, int h)
{
	struct half *hf = &c->half[h];
	int src = c->fd[h], dst = c->fd[!h];
	uint64_t *counter = h == 0 ? &c->fw->bytes_in : &c->fw->bytes_out;

	for (int round = 0; round < ROUNDS_PER_EVENT; round++) {
		ssize_t n;

		if (hf->queued) {
			n = splice(hf->pipe[0], NULL, dst, NULL, hf->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return errno == EAGAIN ? 0 : -errno;
			}
			hf->queued -= (size_t)n;
			*counter += (uint64_t)n;
			if (hf->queued)
				return 0; /* the destination is full: wait until writable */
		}
		if (hf->eof)
			break;
		n = splice(src, NULL, hf->pipe[1], NULL, SPLICE_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == 0) {
			hf->eof = true;
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		hf->queued += (size_t)n;
	}
	if (hf->eof && !hf->queued && !hf->shut) {
		hf->shut = true;
		if (shutdown(dst, SHUT_WR) < 0 && errno != ENOTCONN)
			return -errno;
	}
	return 0;
}

static void on_io(uv_poll_t *p, int status, int events)
{
	struct sc_conn *c = p->data;
	int rc;

	(void)events;
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c, true);
		return;
	}
	if (c->connecting) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (err == EINPROGRESS || err == EALREADY)
			return;
		if (err) {
			sc_log("refused a connection to host port %u: connecting to local port %u: %s",
			       c->fw->cfg.external_port, c->fw->cfg.local_port, strerror(err));
			conn_close(c, true);
			return;
		}
		c->connecting = false;
	}
	if ((rc = pump(c, 0)) < 0 || (rc = pump(c, 1)) < 0) {
		conn_close(c, rc != -EPIPE);
		return;
	}
	if (c->half[0].shut && c->half[1].shut) {
		conn_close(c, false);
		return;
	}
	conn_update(c);
}

/* Polls each socket for what its two directions need now. */
static void conn_update(struct sc_conn *c)
{
	for (int i = 0; i < 2; i++) {
		int ev = 0;

		if (c->connecting) {
			ev = i == 1 ? UV_WRITABLE : 0;
		} else {
			if (!c->half[i].eof && c->half[i].queued == 0)
				ev |= UV_READABLE;
			if (c->half[!i].queued)
				ev |= UV_WRITABLE;
		}
		if (ev == c->events[i])
			continue;
		c->events[i] = ev;
		if (ev)
			uv_poll_start(&c->poll[i], ev, on_io);
		else
			uv_poll_stop(&c->poll[i]);
	}
}

/* The PROXY protocol v2 header for CLIENT (its peer and the address it
 * reached), so that an app behind the forwarder learns the real client.
 * Returns its length, 0 when the addresses cannot be read. */
static size_t proxy_header(int client, unsigned char *h)
{
	static const unsigned char sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
	struct sockaddr_storage src, dst;
	socklen_t sl = sizeof(src), dl = sizeof(dst);
	size_t n = 16;

	if (getpeername(client, (struct sockaddr *)&src, &sl) < 0 ||
	    getsockname(client, (struct sockaddr *)&dst, &dl) < 0 || src.ss_family != dst.ss_family)
		return 0;
	memcpy(h, sig, sizeof(sig));
	h[12] = 0x21; /* version 2, PROXY */
	if (src.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)&src, *d4 = (const void *)&dst;

		h[13] = 0x11; /* TCP over IPv4 */
		memcpy(h + n, &s4->sin_addr, 4), n += 4;
		memcpy(h + n, &d4->sin_addr, 4), n += 4;
		memcpy(h + n, &s4->sin_port, 2), n += 2;
		memcpy(h + n, &d4->sin_port, 2), n += 2;
	} else {
		const struct sockaddr_in6 *s6 = (const void *)&src, *d6 = (const void *)&dst;

		h[13] = 0x21; /* TCP over IPv6 */
		memcpy(h + n, &s6->sin6_addr, 16), n += 16;
		memcpy(h + n, &d6->sin6_addr, 16), n += 16;
		memcpy(h + n, &s6->sin6_port, 2), n += 2;
		memcpy(h + n, &d6->sin6_port, 2), n += 2;
	}
	h[14] = (unsigned char)((n - 16) >> 8);
	h[15] = (unsigned char)(n - 16);
	return n;
}

static void start_conn(struct sc_forward *fw, int client)
{
	struct sc_ctx *ctx = fw->ctx;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct sc_conn *c;
	char why[256];
	int app;

	if (sc_target(ctx, fw, &ss, &sl, why, sizeof(why)) < 0) {
		sc_log_refused("refused", "connection", fw->cfg.external_port, why);
		close(client);
		return;
	}
	app = sc_netns_socket(ctx, ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (app < 0) {
		sc_log_limited("cannot dial local port %u: socket: %s", fw->cfg.local_port, strerror(-app));
		close(client);
		return;
	}
	if (connect(app, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		snprintf(why, sizeof(why), "connecting to local port %u: %s", fw->cfg.local_port, strerror(errno));
		sc_log_refused("refused", "connection", fw->cfg.external_port, why);
		close(app);
		close(client);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(app);
		close(client);
		return;
	}
	c->fw = fw;
	c->fd[0] = client;
	c->fd[1] = app;
	c->connecting = true;
	for (int i = 0; i < 2; i++)
		c->half[i].pipe[0] = c->half[i].pipe[1] = -1;
	for (int i = 0; i < 2; i++) {
		if (pipe2(c->half[i].pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
			sc_log_limited("cannot serve a connection: pipe: %s", strerror(errno));
			conn_free(c);
			return;
		}
	}
	if (fw->cfg.proxy_protocol) {
		/* The header goes first into the client-to-app pipe: it then
		 * leaves under the same backpressure as the data behind it. */
		unsigned char h[52];
		size_t n = proxy_header(client, h);

		if (n == 0 || write(c->half[0].pipe[1], h, n) != (ssize_t)n) {
			sc_log_refused("refused", "connection", fw->cfg.external_port, "cannot build its PROXY header");
			conn_free(c);
			return;
		}
		c->half[0].queued = n;
	}
	for (int i = 0; i < 2; i++) {
		uv_poll_init_socket(ctx->loop, &c->poll[i], c->fd[i]);
		c->poll[i].data = c;
		c->open_handles++;
	}
	c->next = ctx->conns;
	if (ctx->conns)
		ctx->conns->prev = c;
	ctx->conns = c;
	fw->conns_live++;
	fw->conns_total++;
	ctx->conns_live++;
	conn_update(c);
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
		int fd = accept4(fw->cfg.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				sc_log_limited("out of descriptors (%s): accepting again in %d ms", strerror(errno),
					       EMFILE_PAUSE_MS);
				pause_accepting(ctx);
			}
			return; /* EAGAIN, or an aborted connection */
		}
		if (ctx->conns_live >= ctx->max_conns) {
			char why[96];

			snprintf(why, sizeof(why), "%u connections and flows already (policy maxConnections)",
				 ctx->max_conns);
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

	if ((rc = uv_poll_init_socket(fw->ctx->loop, &fw->poll, fw->cfg.fd)) < 0)
		return rc;
	fw->poll.data = fw;
	if ((rc = uv_poll_start(&fw->poll, UV_READABLE, on_accept)) < 0)
		return rc;
	fw->polling = true;
	return 0;
}

int sc_tcp_start(struct sc_ctx *ctx)
{
	int rc;

	uv_timer_init(ctx->loop, &ctx->resume_timer);
	ctx->resume_timer.data = ctx;
	for (size_t i = 0; i < ctx->nfw; i++)
		if (ctx->fw[i]->cfg.proto == OCI_PROTO_TCP && (rc = sc_tcp_watch(ctx->fw[i])) < 0)
			return rc;
	return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
	struct sc_forward *fw = h->data;

	close(fw->cfg.fd);
	fw->cfg.fd = -1;
}

static void on_retired_closed(uv_handle_t *h)
{
	struct sc_forward *fw = h->data;

	close(fw->cfg.fd);
	free(fw);
}

void sc_tcp_retire(struct sc_forward *fw)
{
	struct sc_ctx *ctx = fw->ctx;

	/* Its connections go with it: nothing may point at it once freed. */
	for (struct sc_conn *c = ctx->conns, *next; c; c = next) {
		next = c->next;
		if (c->fw == fw)
			conn_close(c, false);
	}
	sc_forward_remove(ctx, fw);
	uv_close((uv_handle_t *)&fw->poll, on_retired_closed);
}

void sc_tcp_stop(struct sc_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nfw; i++) {
		struct sc_forward *fw = ctx->fw[i];

		if (fw->cfg.proto == OCI_PROTO_TCP && fw->cfg.fd >= 0 && !uv_is_closing((uv_handle_t *)&fw->poll))
			uv_close((uv_handle_t *)&fw->poll, on_listener_closed);
	}
	while (ctx->conns)
		conn_close(ctx->conns, false);
	if (!uv_is_closing((uv_handle_t *)&ctx->resume_timer))
		uv_close((uv_handle_t *)&ctx->resume_timer, NULL);
}
