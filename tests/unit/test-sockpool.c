/* SPDX-License-Identifier: MIT */
/* The socket factory and the sidecar's pool of its sockets (sidecar/factory.c,
 * sidecar/sockpool.c), for real: a factory forked into this process's own
 * network namespace (root: it enters it and drops to a sidecar uid), batches over
 * SCM_RIGHTS, refills landing on a libuv loop. */
#include "unit.h"

#include <fcntl.h>
#include <signal.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/uids.h"
#include "../../sidecar/sidecar.h"

static int sockopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);

	assert_int_equal(getsockopt(fd, level, name, &v, &l), 0);
	return v;
}

static void start(struct sc_ctx *ctx, uv_loop_t *loop)
{
	int ns;

	if (getuid() != 0) {
		fprintf(stderr, "test-sockpool: needs root (the factory enters a network namespace and drops to a "
				"sidecar uid)\n");
		fail();
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->factory_fd = ctx->ctl_fd = ctx->diag_fd = ctx->route_fd = -1;
	assert_int_equal(sc_pool_init(ctx), 0);
	ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(ns >= 0);
	assert_int_equal(sc_factory_start(ctx, ns), 0);
	close(ns);
	assert_int_equal(uv_loop_init(loop), 0);
}

static void stop(struct sc_ctx *ctx, uv_loop_t *loop)
{
	sc_pool_stop(ctx);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
	sc_pool_free(ctx);
	if (ctx->factory_fd >= 0)
		close(ctx->factory_fd); /* EOF: the factory exits */
	while (waitpid(-1, NULL, 0) > 0)
		;
}

static void test_pool_hands_out_fresh_sockets(void **unused)
{
	struct sc_ctx ctx;
	uv_loop_t loop;
	int fds[300];

	(void)unused;
	start(&ctx, &loop);
	/* One-off, before the loop runs: what the sidecar asks for at start. */
	int nl = sc_netns_socket(&ctx, AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
	if (nl < 0)
		fprintf(stderr, "one-off socket: %s\n", strerror(-nl));
	assert_true(nl >= 0);
	assert_int_equal(sockopt(nl, SOL_SOCKET, SO_DOMAIN), AF_NETLINK);
	close(nl);

	ctx.loop = &loop;
	assert_int_equal(sc_pool_start(&ctx), 0);
	/* More than a batch of each kind, the loop turning now and then as
	 * it does between connections; each a new socket of the kind asked,
	 * non-blocking, close-on-exec, TCP ones without Nagle. */
	static const struct {
		int family, type;
	} kinds[] = {{AF_INET, SOCK_STREAM}, {AF_INET6, SOCK_STREAM}, {AF_INET, SOCK_DGRAM}, {AF_INET6, SOCK_DGRAM}};
	for (size_t k = 0; k < 4; k++) {
		for (int i = 0; i < 75; i++) {
			int fd = sc_netns_take(&ctx, kinds[k].family, kinds[k].type);

			assert_true(fd >= 0);
			assert_int_equal(sockopt(fd, SOL_SOCKET, SO_DOMAIN), kinds[k].family);
			assert_int_equal(sockopt(fd, SOL_SOCKET, SO_TYPE), kinds[k].type);
			assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
			assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
			if (kinds[k].type == SOCK_STREAM)
				assert_int_equal(sockopt(fd, IPPROTO_TCP, TCP_NODELAY), 1);
			fds[k * 75 + (size_t)i] = fd;
			if (i % 10 == 0)
				uv_run(&loop, UV_RUN_NOWAIT);
		}
	}
	for (int i = 0; i < 300; i++)
		for (int j = 0; j < i; j++)
			assert_int_not_equal(fds[i], fds[j]);
	for (int i = 0; i < 300; i++)
		close(fds[i]);
	assert_int_equal(sc_netns_take(&ctx, AF_UNIX, SOCK_STREAM), -EINVAL);
	stop(&ctx, &loop);
}

/* The factory's pid: this process's only child. */
static pid_t factory_pid(void)
{
	char path[64];
	long pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)gettid());
	f = fopen(path, "re");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	return (pid_t)pid;
}

/* The factory killed: what is pooled is still handed out, then each take
 * fails at once with an error; nothing waits for the factory. */
static void test_pool_without_factory(void **unused)
{
	struct sc_ctx ctx;
	uv_loop_t loop;
	struct timespec t0, t1;
	int fd = 0, got = 0;
	pid_t pid;

	(void)unused;
	start(&ctx, &loop);
	ctx.loop = &loop;
	assert_int_equal(sc_pool_start(&ctx), 0);
	fd = sc_netns_take(&ctx, AF_INET, SOCK_STREAM);
	assert_true(fd >= 0);
	close(fd);
	pid = factory_pid();
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 100; i++) {
		fd = sc_netns_take(&ctx, AF_INET, SOCK_STREAM);
		if (fd < 0)
			break;
		close(fd);
		got++;
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(fd < 0);
	assert_true(got < 64); /* the pooled ones, no more */
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	stop(&ctx, &loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_hands_out_fresh_sockets),
		cmocka_unit_test(test_pool_without_factory),
	};

	sc_log_init("unit");
	/* What the hook would lease (lib/uids.h): the range's last uid. */
	if (sc_confine_as(ps_uid_base() + ps_uid_count() - 1) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
