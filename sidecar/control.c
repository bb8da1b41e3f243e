/* SPDX-License-Identifier: MIT */
/* The control socket (lib/control.h): STOP ends the sidecar; STATUS reports counters and
 * LISTENERS the container's listening sockets, each as one JSON object
 * (reply.c). Requests come from root only (the socket is 0600, in a 0700
 * directory); still, a request is one short line, read once, and a reply of
 * any size is written as the client reads it, never cut. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/control.h"
#include "../lib/fdpass.h"
#include "../base/cleanup.h"
#include "../oci/ports.h"
#include "../oci/state.h"
#include "sidecar.h"

struct ctl_client {
	uv_poll_t poll;
	int fd;
	struct sc_ctx *ctx;
	char *out; /* a reply not yet written whole */
	size_t len, off;
	struct ctl_client *next; /* every open client, for shutdown */
};

static void on_client_closed(uv_handle_t *h)
{
	struct ctl_client *cl = h->data;

	close(cl->fd);
	free(cl->out);
	free(cl);
}

static void client_close(struct ctl_client *cl)
{
	for (struct ctl_client **pp = &cl->ctx->ctl_clients; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	uv_close((uv_handle_t *)&cl->poll, on_client_closed);
}

static void reply(int fd, const char *s, size_t n)
{
	/* Short replies into an empty socket buffer: one non-blocking send. */
	if (send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		sc_log("control: reply not sent: %s", strerror(errno));
}

static void on_writable(uv_poll_t *p, int st, int events)
{
	struct ctl_client *cl = p->data;

	(void)events;
	while (st == 0 && cl->off < cl->len) {
		ssize_t n = send(cl->fd, cl->out + cl->off, cl->len - cl->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return; /* called again once the client has read some */
		if (n < 0)
			break;
		cl->off += (size_t)n;
	}
	client_close(cl);
}

/* Takes OUT (a whole reply, or NULL when it could not be built) and writes it
 * as fast as the client reads; the client is closed once it is written. */
static void reply_long(struct ctl_client *cl, char *out)
{
	static const char oom[] = "{\"error\":\"out of memory\"}\n";

	if (!out && !(out = strdup(oom))) {
		client_close(cl);
		return;
	}
	cl->out = out;
	cl->len = strlen(out);
	cl->off = 0;
	uv_poll_start(&cl->poll, UV_WRITABLE, on_writable);
}

/* Every listener in the container, TCP then UDP, for portsidectl doctor. */
static char *listeners(struct sc_ctx *ctx)
{
	enum { MAX = 512 };
	cleanup_free struct ps_listener *l = calloc(MAX, sizeof(*l));
	size_t ntcp = 0, nudp = 0;
	int rc;

	if (!l)
		return NULL;
	if ((rc = sc_listeners(ctx, OCI_PROTO_TCP, 0, l, MAX, &ntcp)) < 0)
		return ps_listeners_encode(NULL, 0, -rc);
	/* UDP sockets too, where the kernel has UDP sock_diag. */
	if (sc_listeners(ctx, OCI_PROTO_UDP, 0, l + ntcp, MAX - ntcp, &nudp) < 0)
		nudp = 0;
	return ps_listeners_encode(l, ntcp + nudp, 0);
}

static void on_request(uv_poll_t *p, int st, int events)
{
	struct ctl_client *cl = p->data;
	char line[OCI_ID_MAX_LEN + 32];
	int passed = -1;
	ssize_t n;

	(void)events;
	n = st < 0 ? -1 : ps_recv_fd(cl->fd, line, sizeof(line) - 1, &passed, MSG_DONTWAIT);
	if (n == -EAGAIN)
		return;
	if (n > 0) {
		line[n] = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		const char *arg;
		enum ps_ctl_cmd cmd = ps_ctl_decode(line, &arg);

		if (cmd == PS_CTL_ADOPT && passed >= 0) {
			/* A container joined the netns: its init's pidfd comes along. */
			int rc = sc_watch_add(cl->ctx, arg, passed);

			passed = -1;
			if (rc == 0)
				sc_log("container %.12s joined the network namespace", arg);
			reply(cl->fd, rc == 0 ? "ok\n" : "error: cannot watch it\n", rc == 0 ? 3 : 23);
		} else if (cmd == PS_CTL_RELEASE) {
			/* ID's poststop ran. Reply first: releasing the last one
			 * stops the sidecar, and this client with it. */
			struct sc_ctx *ctx = cl->ctx;
			unsigned left = sc_watch_remaining(ctx) - (sc_watch_running(ctx, arg) ? 1 : 0);
			char r[32], id[sizeof(line)];
			int len = ps_ctl_remaining_encode(left, r, sizeof(r));

			snprintf(id, sizeof(id), "%s", arg);
			reply(cl->fd, r, (size_t)len);
			if (passed >= 0)
				close(passed);
			client_close(cl);
			sc_watch_release(ctx, id);
			return;
		} else if (cmd == PS_CTL_STOP) {
			reply(cl->fd, "ok\n", 3);
			client_close(cl);
			sc_shutdown(cl->ctx, "stop requested");
			return;
		} else if (cmd == PS_CTL_STATUS) {
			if (passed >= 0)
				close(passed);
			reply_long(cl, sc_reply_status(cl->ctx));
			return;
		} else if (cmd == PS_CTL_LISTENERS) {
			if (passed >= 0)
				close(passed);
			reply_long(cl, listeners(cl->ctx));
			return;
		} else {
			reply(cl->fd, "error: unknown request\n", 23);
		}
	}
	if (passed >= 0)
		close(passed); /* an fd nobody asked for */
	client_close(cl);
}

static void on_connect(uv_poll_t *p, int st, int events)
{
	struct sc_ctx *ctx = p->data;
	struct ctl_client *cl;
	int fd;

	(void)events;
	if (st < 0)
		return;
	fd = accept4(ctx->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		return;
	}
	cl->fd = fd;
	cl->ctx = ctx;
	uv_poll_init_socket(ctx->loop, &cl->poll, fd);
	cl->poll.data = cl;
	cl->next = ctx->ctl_clients;
	ctx->ctl_clients = cl;
	uv_poll_start(&cl->poll, UV_READABLE, on_request);
}

int sc_control_start(struct sc_ctx *ctx)
{
	int rc = uv_poll_init_socket(ctx->loop, &ctx->ctl_poll, ctx->ctl_fd);

	if (rc < 0)
		return rc;
	ctx->ctl_poll.data = ctx;
	return uv_poll_start(&ctx->ctl_poll, UV_READABLE, on_connect);
}

void sc_control_stop(struct sc_ctx *ctx)
{
	while (ctx->ctl_clients)
		client_close(ctx->ctl_clients);
	if (!uv_is_closing((uv_handle_t *)&ctx->ctl_poll))
		uv_close((uv_handle_t *)&ctx->ctl_poll, NULL);
}
