/* SPDX-License-Identifier: MIT */
/* The socket factory and the sidecar's pool of its sockets (sidecar/factory.c,
 * sidecar/sockpool.c), for real: a factory thread entered into this process's own
 * network namespace (root: it enters it and drops to a sidecar uid), batches over
 * SCM_RIGHTS, refills landing on a libuv loop. */
#include "unit.h"

#include <dirent.h>
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
#include "../../sidecar/factory.h"
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

/* Whether a thread of this process is the factory (named portside-netns). */
static bool factory_running(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	bool found = false;

	assert_non_null(d);
	while (!found && (de = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		if (de->d_name[0] == '.' || !(f = fopen(path, "re")))
			continue;
		found = fgets(comm, sizeof(comm), f) && !strcmp(comm, "portside-netns\n");
		fclose(f);
	}
	closedir(d);
	return found;
}

/* The factory gone (it ends on nonsense as on EOF, its end closed): what is
 * pooled is still handed out, then each take fails at once with an error;
 * nothing waits for the factory. */
static void test_pool_without_factory(void **unused)
{
	struct sc_ctx ctx;
	uv_loop_t loop;
	struct timespec t0, t1;
	struct sc_factory_req nonsense = {.count = 0};
	int fd = 0, got = 0;

	(void)unused;
	start(&ctx, &loop);
	ctx.loop = &loop;
	assert_int_equal(sc_pool_start(&ctx), 0);
	fd = sc_netns_take(&ctx, AF_INET, SOCK_STREAM);
	assert_true(fd >= 0);
	close(fd);
	assert_true(factory_running());
	assert_int_equal(send(ctx.factory_fd, &nonsense, sizeof(nonsense), 0), (ssize_t)sizeof(nonsense));
	for (int i = 0; i < 200 && factory_running(); i++)
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	assert_false(factory_running());
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
