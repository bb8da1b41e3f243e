/* SPDX-License-Identifier: MIT */
/* One direction of a forwarded TCP connection (sidecar/relay.c), between
 * real loopback sockets: small messages copied without a pipe, a bulk flow
 * spliced intact, a destination that stops reading parks a bounded amount,
 * EOF passed on as a half-close, a held header sent first. */
#include "unit.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../sidecar/relay.h"

/* A connected TCP pair on 127.0.0.1: P[0] the far end, P[1] the relay's
 * (non-blocking, as the sidecar's are). */
static void tcp_pair(int p[2])
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sl), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
	p[0] = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(p[0], (struct sockaddr *)&sa, sl), 0);
	p[1] = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	assert_true(p[1] >= 0);
	close(l);
}

struct rig {
	struct sc_relays *r;
	struct sc_half h;
	int in[2];  /* in[0]: the client writes; in[1]: the relay reads */
	int out[2]; /* out[1]: the relay writes; out[0]: the app reads */
	uint64_t sent;
};

static void rig_up(struct rig *g)
{
	memset(g, 0, sizeof(*g));
	g->r = calloc(1, sizeof(*g->r));
	assert_non_null(g->r);
	sc_half_init(&g->h);
	tcp_pair(g->in);
	tcp_pair(g->out);
	int t = g->out[0];
	g->out[0] = g->out[1];
	g->out[1] = t; /* the relay's end writes, the far end reads */
	fcntl(g->out[1], F_SETFL, fcntl(g->out[1], F_GETFL) | O_NONBLOCK);
}

static void rig_down(struct rig *g)
{
	sc_half_free(g->r, &g->h);
	sc_relays_free(g->r);
	free(g->r);
	for (int i = 0; i < 2; i++) {
		close(g->in[i]);
		close(g->out[i]);
	}
}

static int pump(struct rig *g)
{
	return sc_half_pump(g->r, &g->h, g->in[1], g->out[1], &g->sent);
}

/* Waits until FD is readable (at most a second). */
static void readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	assert_int_equal(poll(&p, 1, 1000), 1);
}

static void test_small_messages_copied_without_pipe(void **unused)
{
	struct rig g;
	char buf[256];

	(void)unused;
	rig_up(&g);
	for (int i = 0; i < 50; i++) {
		memset(buf, 'a' + i % 26, 100);
		assert_int_equal(send(g.in[0], buf, 100, 0), 100);
		readable(g.in[1]);
		assert_int_equal(pump(&g), 0);
		assert_false(g.h.bulk);
		assert_int_equal(g.h.pipe.fd[0], -1); /* no pipe for a small message */
		assert_int_equal(recv(g.out[0], buf + 100, 156, 0), 100);
		assert_memory_equal(buf, buf + 100, 100);
	}
	assert_int_equal(g.sent, 5000);
	assert_int_equal(g.r->nidle, 0); /* no pipe was ever made */
	rig_down(&g);
}

static void test_bulk_spliced_intact(void **unused)
{
	enum { TOTAL = 8 * 1024 * 1024 };
	struct rig g;
	static unsigned char chunk[65536], got[65536];
	size_t wrote = 0, read_ = 0;
	bool was_bulk = false;

	(void)unused;
	rig_up(&g);
	fcntl(g.in[0], F_SETFL, O_NONBLOCK);
	fcntl(g.out[0], F_SETFL, O_NONBLOCK);
	for (int spin = 0; read_ < TOTAL && spin < 200000; spin++) {
		if (wrote < TOTAL) {
			for (size_t i = 0; i < sizeof(chunk); i++)
				chunk[i] = (unsigned char)((wrote + i) * 7 + ((wrote + i) >> 16));
			size_t n = TOTAL - wrote < sizeof(chunk) ? TOTAL - wrote : sizeof(chunk);
			ssize_t w = send(g.in[0], chunk, n, MSG_DONTWAIT);
			if (w > 0)
				wrote += (size_t)w;
		}
		assert_int_equal(pump(&g), 0);
		was_bulk |= g.h.bulk;
		ssize_t r = recv(g.out[0], got, sizeof(got), MSG_DONTWAIT);
		for (ssize_t i = 0; i < r; i++)
			assert_int_equal(got[i],
					 (unsigned char)((read_ + (size_t)i) * 7 + ((read_ + (size_t)i) >> 16)));
		if (r > 0)
			read_ += (size_t)r;
	}
	assert_int_equal(read_, TOTAL);
	assert_int_equal(g.sent, TOTAL);
	assert_true(was_bulk);
	/* Most of it went through a pipe, grown for a bulk flow (past the
	 * kernel's 64 KiB), and counted for the loop's spin decision. */
	assert_true(g.r->spliced > TOTAL / 2 && g.r->spliced <= TOTAL);
	assert_false(sc_half_pending(&g.h));
	assert_int_equal(g.h.pipe.fd[0], -1); /* drained: the pipe went back to the pool */
	assert_true(g.r->nidle >= 1);
	assert_int_equal(g.r->grown, 1);
	assert_true(g.r->idle[g.r->nidle - 1].cap >= SC_BULK_PIPE_MIN);
	rig_down(&g);
}

/* The app stops reading: what the relay holds stays bounded, and it reads
 * no more from the client until its destination takes some. */
static void test_backpressure_bounded(void **unused)
{
	struct rig g;
	static char junk[1 << 16];
	size_t offered = 0;

	(void)unused;
	rig_up(&g);
	fcntl(g.in[0], F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 2000; i++) {
		ssize_t w = send(g.in[0], junk, sizeof(junk), MSG_DONTWAIT);

		if (w > 0)
			offered += (size_t)w;
		assert_int_equal(pump(&g), 0);
	}
	assert_true(sc_half_pending(&g.h));
	/* At most one read's worth held: a copy's rest, or one pipe. */
	assert_true(g.h.left_len <= SC_COPY_MAX);
	assert_true(g.h.queued <= SC_BULK_PIPE_SIZE);
	assert_true(g.sent + g.h.left_len + g.h.queued < offered); /* the client was held back */
	size_t held = g.h.left_len + g.h.queued;
	uint64_t sent = g.sent;
	assert_int_equal(pump(&g), 0);
	assert_int_equal(g.h.left_len + g.h.queued, held); /* nothing more read */
	assert_int_equal(g.sent, sent);
	rig_down(&g);
}

static void test_eof_becomes_half_close(void **unused)
{
	struct rig g;
	char buf[16];

	(void)unused;
	rig_up(&g);
	assert_int_equal(send(g.in[0], "bye", 3, 0), 3);
	assert_int_equal(shutdown(g.in[0], SHUT_WR), 0);
	for (int i = 0; i < 100 && !g.h.shut; i++) {
		readable(g.in[1]);
		assert_int_equal(pump(&g), 0);
	}
	assert_true(g.h.eof);
	assert_true(g.h.shut);
	assert_int_equal(recv(g.out[0], buf, sizeof(buf), 0), 3);
	assert_int_equal(recv(g.out[0], buf, sizeof(buf), 0), 0); /* EOF reached the app */
	/* The other way still works: the app can still answer the client. */
	assert_int_equal(send(g.out[0], "ok", 2, 0), 2);
	readable(g.out[1]);
	assert_int_equal(recv(g.out[1], buf, sizeof(buf), 0), 2);
	rig_down(&g);
}

static void test_held_header_goes_first(void **unused)
{
	struct rig g;
	char buf[64];

	(void)unused;
	rig_up(&g);
	assert_int_equal(sc_half_hold(g.r, &g.h, "HEADER:", 7), 0);
	assert_true(sc_half_pending(&g.h));
	assert_int_equal(g.r->left_total, 7);
	assert_int_equal(send(g.in[0], "data", 4, 0), 4);
	readable(g.in[1]);
	assert_int_equal(pump(&g), 0); /* sends the header, then reads */
	assert_int_equal(pump(&g), 0);
	size_t n = 0;
	for (int i = 0; i < 100 && n < 11; i++) {
		readable(g.out[0]);
		ssize_t r = recv(g.out[0], buf + n, sizeof(buf) - n, 0);
		assert_true(r > 0);
		n += (size_t)r;
	}
	assert_int_equal(n, 11);
	assert_memory_equal(buf, "HEADER:data", 11);
	assert_int_equal(g.r->left_total, 0);
	rig_down(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_messages_copied_without_pipe),
		cmocka_unit_test(test_bulk_spliced_intact),
		cmocka_unit_test(test_backpressure_bounded),
		cmocka_unit_test(test_eof_becomes_half_close),
		cmocka_unit_test(test_held_header_goes_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
