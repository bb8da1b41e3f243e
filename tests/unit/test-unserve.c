/* SPDX-License-Identifier: MIT */
/* Forwards taken out while the sidecar runs (sidecar/unserve.c), for real:
 * the TCP and UDP data paths on a libuv loop, forwarding between loopback
 * sockets of this process (the socket factory forked into this process's
 * own netns, as test-sockpool does). An unserved forward gives its host
 * port back before the call returns; its TCP connections go on (or close,
 * when asked), its UDP flows end; it is freed when the last of them has,
 * and on shutdown (the sanitizer build sees any leak or use after free).
 * And automatic forwarding switched live (sidecar/autoforward.c). Needs
 * root, as `make check` does. */
#include "unit.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/listen.h"
#include "../../lib/uids.h"
#include "../../oci/ports.h"
#include "../../sidecar/sidecar.h"

static const struct oci_ip lo = {.family = AF_INET, .a = {127, 0, 0, 1}};
static struct ps_forwards rec;
static struct sc_ctx ctx;
static uv_loop_t loop;

static void start(void)
{
	int ns;

	if (getuid() != 0) {
		fprintf(stderr, "test-unserve: needs root (the socket factory drops to a sidecar uid)\n");
		fail();
	}
	memset(&ctx, 0, sizeof(ctx));
	memset(&rec, 0, sizeof(rec));
	ctx.rec = &rec;
	ctx.factory_fd = ctx.ctl_fd = ctx.diag_fd = ctx.route_fd = ctx.listen_factory_fd = -1;
	ctx.max_conns = ctx.max_udp_flows = ctx.udp_per_source = 64;
	ctx.udp_idle_ms = 60000;
	assert_int_equal(sc_pool_init(&ctx), 0);
	ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(ns >= 0);
	assert_int_equal(sc_factory_start(&ctx, ns), 0);
	close(ns);
	ctx.diag_fd = sc_netns_socket(&ctx, AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG);
	ctx.route_fd = sc_netns_socket(&ctx, AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
	assert_true(ctx.diag_fd >= 0 && ctx.route_fd >= 0);
	assert_int_equal(uv_loop_init(&loop), 0);
	ctx.loop = &loop;
	assert_int_equal(sc_pool_start(&ctx), 0);
	assert_int_equal(sc_tcp_start(&ctx), 0);
	assert_int_equal(sc_udp_start(&ctx), 0);
}

/* Shuts down as main's stop_all does; every forward, draining ones too,
 * must be gone by the time the loop ends (sc_draining_free is main's
 * safety net only). */
static void stop(void)
{
	sc_autoforward_stop(&ctx);
	sc_tcp_stop(&ctx);
	sc_udp_stop(&ctx);
	sc_pool_stop(&ctx);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_null(ctx.draining);
	sc_pool_free(&ctx);
	for (size_t i = 0; i < ctx.nfw; i++)
		free(ctx.fw[i]);
	free(ctx.fw);
	close(ctx.diag_fd);
	close(ctx.route_fd);
	close(ctx.factory_fd);
	if (ctx.listen_factory_fd >= 0)
		close(ctx.listen_factory_fd);
	while (waitpid(-1, NULL, 0) > 0)
		;
}

/* A port free for PROTO on 127.0.0.1, from FROM down. */
static unsigned free_port(unsigned from, unsigned proto)
{
	for (unsigned p = from; p > from - 500; p--) {
		int fd = ps_listen(&lo, p, proto);

		if (fd >= 0) {
			close(fd);
			return p;
		}
	}
	fail();
	return 0;
}

static bool port_free(unsigned port, unsigned proto)
{
	int fd = ps_listen(&lo, port, proto);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* A forward of host port EXT to the app's LOCAL, served now. */
static struct sc_forward *serve(unsigned ext, unsigned local, unsigned proto)
{
	struct ps_forward cfg = {
		.local_port = (uint16_t)local,
		.external_port = (uint16_t)ext,
		.proto = (uint8_t)proto,
		.expose_localhost = true, /* the app below listens on 127.0.0.1 */
		.host_ip = lo,
		.fd = ps_listen(&lo, ext, proto),
	};
	struct sc_forward *fw;

	assert_true(cfg.fd >= 0);
	assert_non_null(fw = sc_forward_add(&ctx, &cfg));
	assert_int_equal(proto == OCI_PROTO_UDP ? sc_udp_watch(fw) : sc_tcp_watch(fw), 0);
	return fw;
}

/* Turns the loop until FN(ARG) holds, for at most 2 s. */
static bool turn_until(bool (*fn)(void *), void *arg)
{
	for (int i = 0; i < 400; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		if (fn(arg))
			return true;
		nanosleep(&(struct timespec){0, 5000000}, NULL);
	}
	return false;
}

struct io {
	int fd;
	char c;
	ssize_t n;
};

static bool got(void *arg)
{
	struct io *io = arg;

	io->n = recv(io->fd, &io->c, 1, MSG_DONTWAIT);
	return io->n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

static bool accepted(void *arg)
{
	struct io *io = arg;

	io->n = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	return io->n >= 0;
}

static bool drained(void *arg)
{
	(void)arg;
	return ctx.draining == NULL;
}

static int dial(unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* A client through FW's host port EXT to the app listening on APP: both
 * ends, one byte through. */
static void connect_through(unsigned ext, int app, int *client, int *conn)
{
	struct io io = {.fd = app};

	*client = dial(ext);
	assert_true(turn_until(accepted, &io));
	*conn = (int)io.n;
	assert_int_equal(write(*client, "a", 1), 1);
	io = (struct io){.fd = *conn};
	assert_true(turn_until(got, &io));
	assert_int_equal(io.n, 1);
	assert_int_equal(io.c, 'a');
}

static void test_tcp_drains(void **unused)
{
	unsigned ext, local;
	int app, client, conn;
	struct sc_forward *fw;
	struct io io;

	(void)unused;
	start();
	ext = free_port(18899, OCI_PROTO_TCP);
	local = free_port(ext - 1, OCI_PROTO_TCP);
	assert_true((app = ps_listen(&lo, local, OCI_PROTO_TCP)) >= 0);
	fw = serve(ext, local, OCI_PROTO_TCP);
	connect_through(ext, app, &client, &conn);

	sc_forward_unserve(fw, false);
	/* Out of the table, on the draining list, its host port free before
	 * the loop turns once. */
	assert_int_equal(ctx.nfw, 0);
	assert_ptr_equal(ctx.draining, fw);
	assert_true(fw->draining);
	assert_int_equal(fw->cfg.fd, -1);
	assert_true(port_free(ext, OCI_PROTO_TCP));
	/* The connection goes on, both ways, counted on its forward. */
	assert_int_equal(write(conn, "b", 1), 1);
	io = (struct io){.fd = client};
	assert_true(turn_until(got, &io));
	assert_int_equal(io.c, 'b');
	assert_int_equal(write(client, "c", 1), 1);
	io = (struct io){.fd = conn};
	assert_true(turn_until(got, &io));
	assert_int_equal(io.c, 'c');
	assert_ptr_equal(ctx.draining, fw);
	assert_int_equal(fw->conns_live, 1);
	assert_true(fw->bytes_in == 2 && fw->bytes_out == 1);
	/* Unserved twice: nothing more happens. */
	sc_forward_unserve(fw, false);
	assert_ptr_equal(ctx.draining, fw);
	/* Its last connection ends: it is freed. */
	close(client);
	close(conn);
	assert_true(turn_until(drained, NULL));
	close(app);
	stop();
}

static void test_tcp_close_conns(void **unused)
{
	unsigned ext, local;
	int app, client, conn;
	struct sc_forward *fw;
	struct io io;

	(void)unused;
	start();
	ext = free_port(18899, OCI_PROTO_TCP);
	local = free_port(ext - 1, OCI_PROTO_TCP);
	assert_true((app = ps_listen(&lo, local, OCI_PROTO_TCP)) >= 0);
	fw = serve(ext, local, OCI_PROTO_TCP);
	connect_through(ext, app, &client, &conn);
	/* Unserved, then its connections closed too (a second call). */
	sc_forward_unserve(fw, false);
	sc_forward_unserve(fw, true);
	assert_true(port_free(ext, OCI_PROTO_TCP));
	assert_int_equal(ctx.conns_live, 0);
	io = (struct io){.fd = client};
	assert_true(turn_until(got, &io));
	assert_int_equal(io.n, 0); /* EOF */
	assert_true(turn_until(drained, NULL));
	close(client);
	close(conn);
	close(app);
	stop();
}

/* Shutdown with a forward draining: its connection closes, it is freed. */
static void test_tcp_shutdown_frees_draining(void **unused)
{
	unsigned ext, local, ext2;
	int app, client, conn;
	struct sc_forward *fw;

	(void)unused;
	start();
	ext = free_port(18899, OCI_PROTO_TCP);
	local = free_port(ext - 1, OCI_PROTO_TCP);
	ext2 = free_port(local - 1, OCI_PROTO_TCP);
	assert_true((app = ps_listen(&lo, local, OCI_PROTO_TCP)) >= 0);
	fw = serve(ext, local, OCI_PROTO_TCP);
	serve(ext2, local, OCI_PROTO_TCP); /* one that stays served */
	connect_through(ext, app, &client, &conn);
	sc_forward_unserve(fw, false);
	assert_int_equal(ctx.nfw, 1);
	assert_true(port_free(ext, OCI_PROTO_TCP));
	assert_false(port_free(ext2, OCI_PROTO_TCP));
	stop(); /* asserts ctx.draining is empty */
	close(client);
	close(conn);
	close(app);
}

static void test_udp_added_and_unserved(void **unused)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	unsigned ext, local;
	int app, client;
	struct sc_forward *fw;
	struct io io;

	(void)unused;
	start();
	assert_null(ctx.udp); /* no UDP forward at start */
	ext = free_port(18899, OCI_PROTO_UDP);
	local = free_port(ext - 1, OCI_PROTO_UDP);
	assert_true((app = ps_listen(&lo, local, OCI_PROTO_UDP)) >= 0);
	/* Added while running: served at once. */
	fw = serve(ext, local, OCI_PROTO_UDP);
	assert_non_null(ctx.udp);
	client = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	sa.sin_port = htons((uint16_t)ext);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(sendto(client, "u", 1, 0, (struct sockaddr *)&sa, sizeof(sa)), 1);
	io = (struct io){.fd = app};
	assert_true(turn_until(got, &io));
	assert_int_equal(io.c, 'u');
	assert_int_equal(fw->conns_live, 1);

	/* Unserved: its flow ends with it, the port is free at once. */
	sc_forward_unserve(fw, false);
	assert_int_equal(ctx.nfw, 0);
	assert_int_equal(fw->conns_live, 0);
	assert_true(port_free(ext, OCI_PROTO_UDP));
	assert_true(turn_until(drained, NULL));
	close(client);
	close(app);
	stop();
}

/* A forward never watched (its handle never made) goes at once. */
static void test_unwatched(void **unused)
{
	struct ps_forward cfg = {.local_port = 1, .external_port = 2, .proto = OCI_PROTO_TCP, .host_ip = lo};
	struct sc_forward *fw;

	(void)unused;
	start();
	cfg.external_port = (uint16_t)free_port(18899, OCI_PROTO_TCP);
	cfg.fd = ps_listen(&lo, cfg.external_port, OCI_PROTO_TCP);
	assert_non_null(fw = sc_forward_add(&ctx, &cfg));
	sc_forward_unserve(fw, false);
	assert_null(ctx.draining); /* freed already */
	assert_true(port_free(cfg.external_port, OCI_PROTO_TCP));
	stop();
}

/* Automatic forwarding switched live: "never" unserves what it made, not
 * the recorded mappings (a handed-out port, auto_assigned); "public" from
 * "all" unserves the localhost-only ones. The watch's tick never runs here
 * (the mode is never at start, and never again before the loop turns). */
static void test_autoforward_set(void **unused)
{
	int sp[2];
	unsigned p1, p2, p3;
	struct sc_forward *a1, *rec2, *a3;
	char why[128];

	(void)unused;
	start();
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	ctx.listen_factory_fd = sp[0]; /* a factory that is never asked */
	rec.n_auto_ports = 1;
	rec.max_autoforwards = 4;
	rec.autoforward = OCI_AUTOFORWARD_NEVER;
	assert_int_equal(sc_autoforward_start(&ctx), 0);
	p1 = free_port(18899, OCI_PROTO_TCP);
	p2 = free_port(p1 - 1, OCI_PROTO_TCP);
	p3 = free_port(p2 - 1, OCI_PROTO_TCP);
	a1 = serve(p1, 4001, OCI_PROTO_TCP);
	a1->automatic = true;
	a1->cfg.auto_assigned = true;
	a1->cfg.expose_localhost = false; /* the app opened it to the outside */
	rec2 = serve(p2, 4002, OCI_PROTO_TCP);
	rec2->cfg.auto_assigned = true; /* exposed, its port handed out at start */
	a3 = serve(p3, 4003, OCI_PROTO_TCP);
	a3->automatic = true;
	a3->cfg.auto_assigned = true;
	a3->cfg.expose_localhost = true; /* "all" took it: localhost only */

	rec.autoforward = OCI_AUTOFORWARD_ALL;
	assert_int_equal(sc_autoforward_set(&ctx, OCI_AUTOFORWARD_PUBLIC, why, sizeof(why)), 0);
	assert_int_equal(rec.autoforward, OCI_AUTOFORWARD_PUBLIC);
	assert_int_equal(ctx.nfw, 2);
	assert_true(port_free(p3, OCI_PROTO_TCP));
	assert_false(port_free(p1, OCI_PROTO_TCP));

	assert_int_equal(sc_autoforward_set(&ctx, OCI_AUTOFORWARD_NEVER, why, sizeof(why)), 0);
	assert_int_equal(rec.autoforward, OCI_AUTOFORWARD_NEVER);
	assert_int_equal(ctx.nfw, 1);
	assert_ptr_equal(ctx.fw[0], rec2);
	assert_true(port_free(p1, OCI_PROTO_TCP));
	assert_false(port_free(p2, OCI_PROTO_TCP));
	assert_true(turn_until(drained, NULL));
	assert_int_equal(sc_autoforward_set(&ctx, (enum oci_autoforward)7, why, sizeof(why)), -EINVAL);
	close(sp[1]);
	stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_drains),
		cmocka_unit_test(test_tcp_close_conns),
		cmocka_unit_test(test_tcp_shutdown_frees_draining),
		cmocka_unit_test(test_udp_added_and_unserved),
		cmocka_unit_test(test_unwatched),
		cmocka_unit_test(test_autoforward_set),
	};

	sc_log_init("unit");
	if (sc_confine_as(ps_uid_base() + ps_uid_count() - 1) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
