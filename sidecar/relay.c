/* SPDX-License-Identifier: MIT */
/* Moving bytes, one direction of a connection at a time, one of two ways:
 *  - copy: recv into one buffer the sidecar shares, send at once. For small
 *    messages (requests, replies, a ping-pong) this is two system calls, the
 *    same as two splices but cheaper each, and needs no pipe. What the
 *    destination cannot take yet waits in a buffer of the direction's own,
 *    at most SC_COPY_MAX bytes, and nothing more is read until it is sent;
 *    past SC_LEFT_TOTAL_MAX for the whole sidecar, reads go through a pipe
 *    instead, which keeps waiting bytes in the kernel, under its quota.
 *  - splice: once a read fills the buffer, the flow is bulk, and moves
 *    through a pipe with splice(2), so that payload never enters user space.
 *    The pipe is taken from a pool, grown (F_SETPIPE_SZ) for a flow that
 *    fills it, and given back as soon as it is empty: pipes are held only
 *    while bytes are in flight, and an idle connection holds none.
 *
 * Backpressure: a direction reads only while it holds nothing unsent, so it
 * holds at most a pipe's worth (or SC_COPY_MAX) beside the socket buffers.
 * Half-close: EOF becomes shutdown(SHUT_WR) on the destination once the
 * direction is drained. */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <seccomp.h>
#include "sidecar.h" /* SC_SYS_END */

/* The system calls this file needs once the sidecar is confined: copying and splicing through pipes.
 * confine.c allows the union of every file's list. */
const int sc_sys_relay[] = {
	SCMP_SYS(splice), SCMP_SYS(pipe2),    SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SC_SYS_END,
};

static int pipe_take(struct sc_relays *t, struct sc_pipe *p)
{
	int fd[2];

	if (t->nidle > 0) {
		*p = t->idle[--t->nidle];
		return 0;
	}
	if (pipe2(fd, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	p->fd[0] = fd[0];
	p->fd[1] = fd[1];
	p->cap = 64 * 1024; /* the kernel's default; a full per-user quota gives less, splice copes */
	return 0;
}

static void pipe_close(struct sc_relays *t, struct sc_pipe *p)
{
	if (p->cap >= SC_BULK_PIPE_MIN)
		t->grown--;
	close(p->fd[0]);
	close(p->fd[1]);
	p->fd[0] = p->fd[1] = -1;
}

/* Gives back an empty pipe. */
static void pipe_give(struct sc_relays *t, struct sc_pipe *p)
{
	if (p->fd[0] < 0)
		return;
	if (t->nidle < SC_IDLE_PIPES_MAX)
		t->idle[t->nidle++] = *p;
	else
		pipe_close(t, p);
	p->fd[0] = p->fd[1] = -1;
}

/* A flow that fills its pipe gets a bigger one, while the sidecar holds few:
 * fewer splices per byte, within the per-user pipe quota. */
static void pipe_grow(struct sc_relays *t, struct sc_pipe *p)
{
	if (p->cap >= SC_BULK_PIPE_MIN || t->grown >= SC_BULK_PIPES_MAX)
		return;
	/* EPERM: past fs.pipe-max-size, or the user's pipe quota is spent. */
	for (int size = SC_BULK_PIPE_SIZE; size >= SC_BULK_PIPE_MIN; size /= 2) {
		int cap = fcntl(p->fd[0], F_SETPIPE_SZ, size);

		if (cap >= SC_BULK_PIPE_MIN) {
			p->cap = (unsigned)cap;
			t->grown++;
			return;
		}
		if (errno != EPERM)
			return;
	}
}

void sc_half_init(struct sc_half *h)
{
	memset(h, 0, sizeof(*h));
	h->pipe.fd[0] = h->pipe.fd[1] = -1;
}

bool sc_half_pending(const struct sc_half *h)
{
	return h->queued > 0 || h->left_len > 0;
}

static int keep_left(struct sc_relays *r, struct sc_half *h, const char *buf, size_t n)
{
	h->left = malloc(n);
	if (!h->left)
		return -ENOMEM;
	memcpy(h->left, buf, n);
	h->left_off = 0;
	h->left_len = n;
	r->left_total += n;
	return 0;
}

int sc_half_hold(struct sc_relays *r, struct sc_half *h, const void *buf, size_t n)
{
	return h->left ? -EBUSY : keep_left(r, h, buf, n);
}

/* Sends what H holds to DST. 0 (all of it, or DST is full), or -errno. */
static int flush(struct sc_relays *r, struct sc_half *h, int dst, uint64_t *counter)
{
	if (h->left_len) {
		ssize_t n = send(dst, h->left + h->left_off, h->left_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		h->left_off += (size_t)n;
		h->left_len -= (size_t)n;
		r->left_total -= (size_t)n;
		*counter += (uint64_t)n;
		if (h->left_len == 0) {
			free(h->left);
			h->left = NULL;
			h->left_off = 0;
		}
		return 0;
	}
	while (h->queued) {
		ssize_t n = splice(h->pipe.fd[0], NULL, dst, NULL, h->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		if (n == 0)
			break;
		h->queued -= (size_t)n;
		*counter += (uint64_t)n;
		r->spliced += (uint64_t)n;
	}
	return 0;
}

/* Copies one read. 1 to go on reading, 0 to stop, or -errno. */
static int copy_once(struct sc_relays *r, struct sc_half *h, int src, int dst, uint64_t *counter)
{
	ssize_t n = recv(src, r->buf, SC_COPY_MAX, MSG_DONTWAIT), m;

	if (n == 0) {
		h->eof = true;
		return 0;
	}
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	m = send(dst, r->buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (m < 0) {
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		m = 0;
	}
	*counter += (uint64_t)m;
	if (m < n) /* the destination is full: keep the rest, read no more */
		return keep_left(r, h, r->buf + m, (size_t)(n - m));
	if (n == SC_COPY_MAX) {
		h->bulk = true; /* more is likely waiting: splice it */
		return 1;
	}
	/* A short read: the socket is most likely empty, and the poll says so
	 * if not. No read just to hear EAGAIN. */
	return 0;
}

/* Splices one pipe's worth. 1 to go on, 0 to stop, or -errno. */
static int splice_once(struct sc_relays *r, struct sc_half *h, int src, int dst, uint64_t *counter, bool first)
{
	ssize_t n;
	int rc;

	if (h->pipe.fd[0] < 0 && (rc = pipe_take(r, &h->pipe)) < 0) {
		/* Out of pipes (descriptors, memory): copying needs none. */
		h->bulk = false;
		return rc == -EMFILE || rc == -ENFILE || rc == -ENOMEM ? copy_once(r, h, src, dst, counter) : rc;
	}
	n = splice(src, NULL, h->pipe.fd[1], NULL, h->pipe.cap, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n == 0) {
		h->eof = true;
		return 0;
	}
	if (n < 0) {
		if (errno == EINTR)
			return 1;
		return errno == EAGAIN ? 0 : -errno;
	}
	if ((size_t)n == h->pipe.cap)
		pipe_grow(r, &h->pipe);
	else if (first && n < SC_COPY_MAX)
		h->bulk = false; /* small again: copy from the next read on */
	h->queued = (size_t)n;
	if ((rc = flush(r, h, dst, counter)) < 0)
		return rc;
	return h->queued == 0;
}

int sc_half_pump(struct sc_relays *r, struct sc_half *h, int src, int dst, uint64_t *counter)
{
	int rc;

	if ((rc = flush(r, h, dst, counter)) < 0)
		return rc;
	rc = !sc_half_pending(h);
	for (int round = 0; rc == 1 && !h->eof && round < SC_ROUNDS_PER_EVENT; round++)
		rc = h->bulk || r->left_total >= SC_LEFT_TOTAL_MAX ? splice_once(r, h, src, dst, counter, round == 0)
								   : copy_once(r, h, src, dst, counter);
	/* An empty pipe goes back whatever comes next: a direction that goes
	 * quiet now holds none. */
	if (h->queued == 0 && h->pipe.fd[0] >= 0)
		pipe_give(r, &h->pipe);
	if (rc < 0)
		return rc;
	if (h->eof && !sc_half_pending(h) && !h->shut) {
		h->shut = true;
		if (shutdown(dst, SHUT_WR) < 0 && errno != ENOTCONN)
			return -errno;
	}
	return 0;
}

void sc_half_free(struct sc_relays *r, struct sc_half *h)
{
	if (h->pipe.fd[0] >= 0)
		pipe_close(r, &h->pipe);
	r->left_total -= h->left_len;
	free(h->left);
	h->left = NULL;
	h->left_len = 0;
}

void sc_relays_free(struct sc_relays *r)
{
	while (r->nidle > 0)
		pipe_close(r, &r->idle[--r->nidle]);
}
