/* SPDX-License-Identifier: MIT */
/* The sidecar's events, ROOT/containers/ID/events (lib/events.h): what
 * `portsidectl events` follows. Bounded like the log: the app can open and
 * close ports in a loop, so at most EV_PER_WINDOW events are written in a
 * window of EV_WINDOW_MS, the rest counted in one "dropped" event; past
 * PS_EVENTS_ROTATE bytes the file is copied to events.1 and emptied. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/rundir.h"
#include "sidecar.h"
#include "../lib/clock.h"

#define EV_WINDOW_MS  10000
#define EV_PER_WINDOW 100

struct sc_events {
	int fd, old_fd;
	off_t size;
	uint64_t window; /* start of the window, ms */
	unsigned written;
	unsigned long dropped;
};

int sc_events_open(struct sc_ctx *ctx)
{
	struct sc_events *ev = calloc(1, sizeof(*ev));
	char path[4096];
	struct stat st;

	if (!ev)
		return -ENOMEM;
	ev->fd = ev->old_fd = -1;
	/* Read-write: rotation copies it out. */
	if (ps_file(path, sizeof(path), ctx->id, PS_EVENTS) < 0 ||
	    (ev->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600)) < 0) {
		int rc = -errno;

		free(ev);
		return rc;
	}
	if (ps_file(path, sizeof(path), ctx->id, PS_EVENTS_OLD) == 0)
		ev->old_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	ev->size = fstat(ev->fd, &st) == 0 ? st.st_size : 0;
	ctx->events = ev;
	return 0;
}

static void put(struct sc_ctx *ctx, const struct ps_event *e)
{
	struct sc_events *ev = ctx->events;
	char line[PS_EVENT_LINE_MAX];
	int n = ps_event_encode(e, line, sizeof(line));

	if (n <= 0)
		return;
	if (ev->old_fd >= 0 && ev->size + n > PS_EVENTS_ROTATE && sc_rotate_copy(ev->fd, ev->old_fd, ev->size) == 0)
		ev->size = 0;
	if (write(ev->fd, line, (size_t)n) == n)
		ev->size += n;
}

void sc_event(struct sc_ctx *ctx, enum ps_event_kind kind, const struct ps_forward *w, const char *reason,
	      const char *fmt, ...)
{
	struct sc_events *ev = ctx->events;
	struct ps_event e;
	uint64_t now = ps_now_ms();
	va_list ap;

	if (!ev)
		return;
	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "%s", ctx->id);
	if (now - ev->window >= EV_WINDOW_MS) {
		if (ev->dropped) {
			ps_event_time(e.time, sizeof(e.time));
			e.kind = PS_EV_DROPPED;
			snprintf(e.reason, sizeof(e.reason), "rate-limit");
			snprintf(e.message, sizeof(e.message),
				 "%lu events not written in %d s (at most %d in that time)", ev->dropped,
				 EV_WINDOW_MS / 1000, EV_PER_WINDOW);
			put(ctx, &e);
			memset(&e, 0, sizeof(e));
			snprintf(e.id, sizeof(e.id), "%s", ctx->id);
		}
		ev->window = now;
		ev->written = 0;
		ev->dropped = 0;
	}
	/* "stopped" is the last word, whatever the rate. */
	if (ev->written >= EV_PER_WINDOW && kind != PS_EV_STOPPED) {
		ev->dropped++;
		return;
	}
	ev->written++;
	ps_event_time(e.time, sizeof(e.time));
	e.kind = kind;
	if (w) {
		e.has_port = true;
		e.proto = w->proto;
		e.host_ip = w->host_ip;
		e.external_port = w->external_port;
		e.local_port = w->local_port;
	}
	if (reason)
		snprintf(e.reason, sizeof(e.reason), "%s", reason);
	va_start(ap, fmt);
	vsnprintf(e.message, sizeof(e.message), fmt, ap);
	va_end(ap);
	put(ctx, &e);
}

void sc_events_close(struct sc_ctx *ctx)
{
	struct sc_events *ev = ctx->events;

	if (!ev)
		return;
	if (ev->fd >= 0)
		close(ev->fd);
	if (ev->old_fd >= 0)
		close(ev->old_fd);
	free(ev);
	ctx->events = NULL;
}
