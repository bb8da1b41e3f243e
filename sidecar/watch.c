/* SPDX-License-Identifier: MIT */
/* The containers a sidecar serves: the one whose hook started it, and those
 * that joined its network namespace later (a pod's other containers), each
 * watched through a pidfd of its init. The network namespace is in use while
 * one of them runs; when the last has exited, or been released by its
 * poststop, the sidecar stops and its ports are free. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sidecar.h"

struct sc_watch {
	char id[OCI_ID_MAX_LEN + 1];
	int pidfd; /* -1 once released */
	uv_poll_t poll;
	bool done;
	struct sc_ctx *ctx;
	struct sc_watch *next;
};

unsigned sc_watch_remaining(const struct sc_ctx *ctx)
{
	unsigned n = 0;

	for (struct sc_watch *w = ctx->watched; w; w = w->next)
		n += !w->done;
	return n;
}

static void on_closed(uv_handle_t *h)
{
	struct sc_watch *w = h->data;

	close(w->pidfd);
	w->pidfd = -1;
}

static void finish(struct sc_ctx *ctx, struct sc_watch *w, const char *how)
{
	if (w->done)
		return;
	w->done = true;
	uv_close((uv_handle_t *)&w->poll, on_closed);
	sc_log("container %.12s %s; %u still in the network namespace", w->id, how, sc_watch_remaining(ctx));
	if (sc_watch_remaining(ctx) == 0)
		sc_shutdown(ctx, "no container is left in the network namespace");
}

static void on_exit_(uv_poll_t *p, int status, int events)
{
	struct sc_watch *w = p->data;

	(void)status;
	(void)events;
	finish(w->ctx, w, "exited");
}

int sc_watch_add(struct sc_ctx *ctx, const char *id, int pidfd)
{
	struct sc_watch *w;
	int rc;

	for (w = ctx->watched; w; w = w->next) {
		if (!strcmp(w->id, id) && !w->done) {
			close(pidfd); /* a re-run createRuntime: watched already */
			return 0;
		}
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->pidfd = pidfd;
	w->ctx = ctx;
	if ((rc = uv_poll_init(ctx->loop, &w->poll, pidfd)) < 0 ||
	    (rc = uv_poll_start(&w->poll, UV_READABLE, on_exit_)) < 0) {
		free(w);
		return rc;
	}
	w->poll.data = w;
	w->next = ctx->watched;
	ctx->watched = w;
	return 0;
}

bool sc_watch_running(const struct sc_ctx *ctx, const char *id)
{
	for (struct sc_watch *w = ctx->watched; w; w = w->next)
		if (!strcmp(w->id, id) && !w->done)
			return true;
	return false;
}

int sc_watch_release(struct sc_ctx *ctx, const char *id)
{
	for (struct sc_watch *w = ctx->watched; w; w = w->next) {
		if (!strcmp(w->id, id) && !w->done) {
			finish(ctx, w, "was removed");
			return 0;
		}
	}
	return -ENOENT;
}

void sc_watch_stop(struct sc_ctx *ctx)
{
	(void)ctx;
	for (struct sc_watch *w = ctx->watched; w; w = w->next) {
		if (!w->done) {
			w->done = true;
			uv_close((uv_handle_t *)&w->poll, on_closed);
		}
	}
}

void sc_watch_free(struct sc_ctx *ctx)
{
	while (ctx->watched) {
		struct sc_watch *w = ctx->watched;

		ctx->watched = w->next;
		free(w);
	}
}
