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
#include "../lib/forwards.h"
#include "../lib/fdpass.h"
#include "../base/cleanup.h"
#include "../oci/ports.h"
#include "../oci/state.h"
#include "sidecar.h"

/* The request line's longest ("apply" with who asked is the longest). */
#define LINE_MAX_BYTES 512

struct ctl_client {
	uv_poll_t poll;
	int fd;
	struct sc_ctx *ctx;
	char *out; /* a reply not yet written whole */
	size_t len, off;
	/* What came so far: the request line, then an APPLY's table and its
	 * listeners (at most the head's count: more is a refusal). */
	char line[LINE_MAX_BYTES];
	size_t line_len;
	bool applying;
	struct ps_apply_head head;
	char *body;
	size_t body_len;
	int *fds;
	size_t nfds;
	bool too_many_fds;
	struct ctl_client *next; /* every open client, for shutdown */
};

static void on_client_closed(uv_handle_t *h)
{
	struct ctl_client *cl = h->data;

	close(cl->fd);
	free(cl->out);
	for (size_t i = 0; i < cl->nfds; i++)
		close(cl->fds[i]);
	free(cl->fds);
	free(cl->body);
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

/* Answers the request in CL->line (PASSED: a descriptor that came with it,
 * or -1). */
static void answer(struct ctl_client *cl, int passed)
{
	const char *arg;
	enum ps_ctl_cmd cmd = ps_ctl_decode(cl->line, &arg);

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
		char r[32], id[sizeof(cl->line)];
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
	if (passed >= 0)
		close(passed); /* an fd nobody asked for */
	client_close(cl);
}

/* The APPLY's table came whole: served, or refused with the sidecar as
 * it was. */
static void answer_apply(struct ctl_client *cl)
{
	char why[256], out[300];
	int rc = -EINVAL, n;

	if (cl->too_many_fds || cl->nfds != cl->head.nfds)
		snprintf(why, sizeof(why), "%zu listeners came, the request said %zu", cl->nfds, cl->head.nfds);
	else
		rc = sc_apply(cl->ctx, &cl->head, cl->body, cl->fds, cl->nfds, why, sizeof(why));
	if (rc >= 0)
		cl->nfds = 0; /* the sidecar's, or closed, now */
	n = rc == 0  ? snprintf(out, sizeof(out), "ok\n")
	    : rc > 0 ? snprintf(out, sizeof(out), "ok but: %s\n", why)
		     : snprintf(out, sizeof(out), "error: %s\n", why);
	if (rc < 0)
		sc_log("port table change by %s refused: %s", cl->head.by[0] ? cl->head.by : "?", why);
	reply(cl->fd, out, (size_t)n);
	client_close(cl);
}

/* Keeps the N descriptors that came, up to what an APPLY announced (before
 * its line is read: what one message carries); any beyond are closed and
 * make it a refusal. */
static void keep_fds(struct ctl_client *cl, const int *got, size_t n)
{
	size_t max = cl->applying ? cl->head.nfds : PS_FDPASS_MAX;

	for (size_t i = 0; i < n; i++) {
		if (cl->nfds >= max) {
			close(got[i]);
			cl->too_many_fds = true;
			continue;
		}
		cl->fds[cl->nfds++] = got[i];
	}
}

/* The request line ended (at NL in cl->line): an APPLY's head makes room
 * for its table, and the bytes after the line are its first. */
static int start_apply(struct ctl_client *cl, const char *arg, const char *rest, size_t nrest)
{
	int *fds;

	if (ps_apply_head_decode(arg, &cl->head) < 0)
		return -EINVAL;
	if (nrest > cl->head.bytes)
		return -EINVAL;
	if (!(cl->body = malloc(cl->head.bytes + 1)) ||
	    !(fds = realloc(cl->fds, (cl->head.nfds > PS_FDPASS_MAX ? cl->head.nfds : PS_FDPASS_MAX) * sizeof(int))))
		return -ENOMEM;
	cl->too_many_fds |= cl->nfds > cl->head.nfds;
	cl->fds = fds;
	cl->applying = true;
	memcpy(cl->body, rest, nrest);
	cl->body_len = nrest;
	return 0;
}

static void on_request(uv_poll_t *p, int st, int events)
{
	struct ctl_client *cl = p->data;
	int got[PS_FDPASS_MAX];
	size_t ngot = 0;
	ssize_t n;

	(void)events;
	if (st < 0) {
		client_close(cl);
		return;
	}
	if (cl->applying)
		n = ps_recv_fds(cl->fd, cl->body + cl->body_len, cl->head.bytes - cl->body_len, got, PS_FDPASS_MAX,
				&ngot, MSG_DONTWAIT);
	else
		n = ps_recv_fds(cl->fd, cl->line + cl->line_len, sizeof(cl->line) - 1 - cl->line_len, got,
				PS_FDPASS_MAX, &ngot, MSG_DONTWAIT);
	if (n == -EAGAIN)
		return;
	if (!cl->fds && !(cl->fds = calloc(PS_FDPASS_MAX, sizeof(int)))) {
		for (size_t i = 0; i < ngot; i++)
			close(got[i]);
		client_close(cl);
		return;
	}
	keep_fds(cl, got, ngot);
	if (n <= 0) { /* closed before a whole request came: nothing to do */
		client_close(cl);
		return;
	}
	if (cl->applying) {
		cl->body_len += (size_t)n;
		if (cl->body_len == cl->head.bytes)
			answer_apply(cl);
		return;
	}
	cl->line_len += (size_t)n;
	cl->line[cl->line_len] = '\0';
	char *nl = memchr(cl->line, '\n', cl->line_len);
	if (!nl && cl->line_len + 1 < sizeof(cl->line))
		return; /* more of the line to come */
	size_t rest = nl ? cl->line_len - (size_t)(nl + 1 - cl->line) : 0;
	if (nl)
		*nl = '\0';
	cl->line[strcspn(cl->line, "\r")] = '\0';
	const char *arg;
	if (nl && ps_ctl_decode(cl->line, &arg) == PS_CTL_APPLY) {
		int rc = start_apply(cl, arg, nl + 1, rest);

		if (rc < 0) {
			reply(cl->fd, rc == -ENOMEM ? "error: out of memory\n" : "error: bad apply request\n",
			      rc == -ENOMEM ? 21 : 25);
			client_close(cl);
		} else if (cl->body_len == cl->head.bytes) {
			answer_apply(cl);
		}
		return;
	}
	/* A plain request takes one descriptor at most (ADOPT's pidfd). */
	int passed = cl->nfds ? cl->fds[0] : -1;
	for (size_t i = 1; i < cl->nfds; i++)
		close(cl->fds[i]);
	cl->nfds = 0;
	answer(cl, passed);
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
