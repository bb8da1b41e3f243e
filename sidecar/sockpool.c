/* SPDX-License-Identifier: MIT */
/* The container's sockets, ready before they are needed.
 *
 * A socket that dials the app must be made inside the container's network
 * namespace, by the factory (factory.c), another process: a round trip and
 * two context switches. Asking per connection put that on every
 * connection's path. So the sidecar keeps a few unconnected sockets of each
 * kind it uses, and asks for the next batch while COUNT_LOW are still left;
 * the reply arrives on the event loop. A connection waits for the factory
 * only when a burst empties the pool faster than the factory refills it.
 *
 * One request is outstanding at a time (the factory answers in order), so
 * a reply always matches the request it answers; the tag checks it anyway. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/fdpass.h"
#include "factory.h"
#include "sidecar.h"

#define POOL_CAP	32 /* sockets kept of a kind */
#define POOL_LOW	12 /* refilled when fewer are left */
#define FACTORY_WAIT_MS 5000
#define TAG_ONE_OFF	SC_POOL_KINDS

struct sc_sockpool {
	uv_poll_t poll;
	bool polling;
	int fds[SC_POOL_KINDS][POOL_CAP];
	unsigned n[SC_POOL_KINDS];
	bool used[SC_POOL_KINDS]; /* refilled only once asked for */
	int pending;		  /* the tag of the request in flight, or -1 */
	int last_rc;		  /* what ended the factory's last batch */
	int one_off;		  /* the answer to a one-off request */
};

static const struct {
	int family, type;
} kinds[SC_POOL_KINDS] = {
	{AF_INET, SOCK_STREAM},
	{AF_INET6, SOCK_STREAM},
	{AF_INET, SOCK_DGRAM},
	{AF_INET6, SOCK_DGRAM},
};

static int kind_of(int family, int type)
{
	for (int k = 0; k < SC_POOL_KINDS; k++)
		if (kinds[k].family == family && kinds[k].type == type)
			return k;
	return -1;
}

/* Takes one reply off the socketpair and files its sockets. WAIT_MS 0: only
 * if one is there. 0, -EAGAIN, or -EPIPE (the factory is gone or lied). */
static int take_reply(struct sc_ctx *ctx, int wait_ms)
{
	struct sc_sockpool *p = ctx->pool;
	struct sc_factory_reply rep;
	int fds[PS_FDPASS_MAX], rc;
	size_t n;

	if (wait_ms > 0) {
		struct pollfd pf = {.fd = ctx->factory_fd, .events = POLLIN};

		if (poll(&pf, 1, wait_ms) == 0)
			return -EPIPE; /* a factory that stopped answering is as good as gone */
	}
	if ((rc = sc_factory_answer(ctx->factory_fd, MSG_DONTWAIT, &rep, fds, &n)) < 0)
		return rc;
	if (p->pending < 0 || rep.tag != (unsigned)p->pending) {
		while (n > 0)
			close(fds[--n]);
		return -EPIPE;
	}
	p->pending = -1;
	p->last_rc = rep.rc;
	if (rep.tag == TAG_ONE_OFF) {
		p->one_off = n > 0 ? fds[0] : (rep.rc < 0 ? rep.rc : -EIO);
		for (size_t i = 1; i < n; i++)
			close(fds[i]);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (p->n[rep.tag] < POOL_CAP)
			p->fds[rep.tag][p->n[rep.tag]++] = fds[i];
		else
			close(fds[i]);
	}
	return 0;
}

static int ask(struct sc_ctx *ctx, int tag, int family, int type, int protocol, unsigned count)
{
	struct sc_factory_req req = {family, type | SOCK_NONBLOCK, protocol, count, (unsigned)tag};
	int rc;

	if (tag == TAG_ONE_OFF)
		req.type = type; /* as asked */
	if ((rc = sc_factory_ask(ctx->factory_fd, &req)) < 0)
		return rc;
	ctx->pool->pending = tag;
	return 0;
}

/* Asks for the kind that runs lowest, if one does and nothing is in flight. */
static void refill(struct sc_ctx *ctx)
{
	struct sc_sockpool *p = ctx->pool;
	int low = -1;

	if (p->pending >= 0 || ctx->stopping)
		return;
	for (int k = 0; k < SC_POOL_KINDS; k++)
		if (p->used[k] && p->n[k] < POOL_LOW && (low < 0 || p->n[k] < p->n[low]))
			low = k;
	if (low >= 0)
		ask(ctx, low, kinds[low].family, kinds[low].type, 0, POOL_CAP - p->n[low]);
}

static void on_factory(uv_poll_t *h, int status, int events)
{
	struct sc_ctx *ctx = h->data;
	int rc;

	(void)events;
	if (status < 0 || (rc = take_reply(ctx, 0)) == -EPIPE) {
		/* Connections now fail one by one, each with the reason. */
		sc_log_limited("the socket factory is gone: no new connection can be made");
		uv_poll_stop(h);
		return;
	}
	if (rc == 0)
		refill(ctx);
}

/* Waits for the reply in flight, if any. */
static int settle(struct sc_ctx *ctx)
{
	return ctx->pool->pending >= 0 ? take_reply(ctx, FACTORY_WAIT_MS) : 0;
}

int sc_pool_init(struct sc_ctx *ctx)
{
	ctx->pool = calloc(1, sizeof(*ctx->pool));
	if (!ctx->pool)
		return -ENOMEM;
	ctx->pool->pending = -1;
	ctx->pool->one_off = -1;
	return 0;
}

int sc_pool_start(struct sc_ctx *ctx)
{
	struct sc_sockpool *p = ctx->pool;
	int rc;

	if ((rc = uv_poll_init_socket(ctx->loop, &p->poll, ctx->factory_fd)) < 0)
		return rc;
	p->poll.data = ctx;
	p->polling = true;
	return uv_poll_start(&p->poll, UV_READABLE, on_factory);
}

int sc_netns_socket(struct sc_ctx *ctx, int family, int type, int protocol)
{
	struct sc_sockpool *p = ctx->pool;
	int rc;

	if ((rc = settle(ctx)) < 0 || (rc = ask(ctx, TAG_ONE_OFF, family, type, protocol, 1)) < 0 ||
	    (rc = take_reply(ctx, FACTORY_WAIT_MS)) < 0)
		return rc;
	rc = p->one_off;
	p->one_off = -1;
	return rc;
}

int sc_netns_take(struct sc_ctx *ctx, int family, int type)
{
	struct sc_sockpool *p = ctx->pool;
	int k = kind_of(family, type), rc;

	if (k < 0)
		return -EINVAL;
	p->used[k] = true;
	if (p->n[k] == 0) {
		/* Emptied by a burst: wait for the batch in flight, then ask. */
		if ((rc = settle(ctx)) < 0)
			return rc;
		if (p->n[k] == 0 &&
		    ((rc = ask(ctx, k, family, type, 0, POOL_CAP)) < 0 || (rc = take_reply(ctx, FACTORY_WAIT_MS)) < 0))
			return rc;
		if (p->n[k] == 0)
			return p->last_rc < 0 ? p->last_rc : -EIO;
	}
	rc = p->fds[k][--p->n[k]];
	refill(ctx);
	return rc;
}

static void on_closed(uv_handle_t *h)
{
	(void)h;
}

void sc_pool_stop(struct sc_ctx *ctx)
{
	struct sc_sockpool *p = ctx->pool;

	if (!p)
		return;
	if (p->polling && !uv_is_closing((uv_handle_t *)&p->poll))
		uv_close((uv_handle_t *)&p->poll, on_closed);
	for (int k = 0; k < SC_POOL_KINDS; k++)
		while (p->n[k] > 0)
			close(p->fds[k][--p->n[k]]);
}

void sc_pool_free(struct sc_ctx *ctx)
{
	free(ctx->pool);
	ctx->pool = NULL;
}
