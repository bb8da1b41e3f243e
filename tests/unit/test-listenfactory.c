/* SPDX-License-Identifier: MIT */
/* The host listener factory (sidecar/listenfactory.c), for real: forked
 * from a child that then confines itself exactly as the sidecar does (no
 * capability, no socket of its own), which still gets listeners on the
 * policy's hand-out ports, one below 1024 too, and nothing else. Needs
 * root, as `make check` does. */
#include "unit.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/listen.h"
#include "../../lib/uids.h"
#include "../../oci/ports.h"
#include "../../sidecar/sidecar.h"

static struct ps_forwards rec;
static unsigned high_port, low_port, other_port;

/* A TCP port free on 127.0.0.1 now, from FROM downwards. */
static unsigned free_port(unsigned from)
{
	struct oci_ip lo = {.family = AF_INET, .a = {127, 0, 0, 1}};

	for (unsigned p = from; p > from - 200; p--) {
		int fd = ps_listen(&lo, p, OCI_PROTO_TCP);

		if (fd >= 0) {
			close(fd);
			return p;
		}
	}
	return 0;
}

static unsigned port_of(int fd)
{
	struct sockaddr_in sa;
	socklen_t l = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &l) < 0 || sa.sin_family != AF_INET)
		return 0;
	return ntohs(sa.sin_port);
}

static bool listening(int fd)
{
	int v = 0;
	socklen_t l = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v == 1;
}

/* The sidecar's side, confined; each failed check its own exit status. */
static int sidecar(void)
{
	struct sc_ctx ctx = {.rec = &rec, .listen_factory_fd = -1};
	const char *what;
	int fds[OCI_POLICY_MAX_HOSTIPS], low[OCI_POLICY_MAX_HOSTIPS];

	alarm(10);
	if (sc_confine_as(ps_uid_base() + ps_uid_count() - 1) < 0 || sc_listen_factory_start(&ctx) < 0)
		return 1;
	if (sc_confine(&what) < 0)
		return 2;
	/* The sidecar itself can make no host socket now. */
	if (socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EPERM)
		return 3;
	/* A hand-out port: listening on it, on the bind address. */
	if (sc_host_listen(&ctx, high_port, fds) != 0 || fds[0] < 0 || port_of(fds[0]) != high_port ||
	    !listening(fds[0]))
		return 4;
	/* Held already (by this sidecar): the errno comes back. */
	if (sc_host_listen(&ctx, high_port, low) != -EADDRINUSE || low[0] != -1)
		return 5;
	/* Not a hand-out port, or a reserved one: nothing, whatever asks. */
	if (sc_host_listen(&ctx, other_port, low) != -EPERM || low[0] != -1)
		return 6;
	if (sc_host_listen(&ctx, 22, low) != -EPERM || sc_host_listen(&ctx, 0, low) != -EPERM ||
	    sc_host_listen(&ctx, 65536 + high_port, low) != -EPERM)
		return 7;
	/* Below 1024: the factory kept CAP_NET_BIND_SERVICE for it. */
	if (sc_host_listen(&ctx, low_port, low) != 0 || port_of(low[0]) != low_port || !listening(low[0]))
		return 8;
	close(fds[0]);
	close(low[0]);
	/* Freed, the port is bound again. */
	if (sc_host_listen(&ctx, high_port, fds) != 0 || port_of(fds[0]) != high_port)
		return 9;
	close(fds[0]);
	/* The sidecar goes (its end closes): so does the factory (the test,
	 * its subreaper, reaps it). */
	close(ctx.listen_factory_fd);
	return 0;
}

static void test_listen_factory(void **state)
{
	int st;
	pid_t pid;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test-listenfactory needs root (make check runs as root)\n");
		fail();
	}
	high_port = free_port(18999);
	other_port = free_port(high_port - 1);
	low_port = free_port(1023);
	assert_true(high_port && other_port && low_port && low_port < 1024);
	memset(&rec, 0, sizeof(rec));
	rec.bind[0] = (struct oci_ip){.family = AF_INET, .a = {127, 0, 0, 1}};
	rec.n_bind = 1;
	rec.auto_ports[0] = (uint16_t)high_port;
	rec.auto_ports[1] = (uint16_t)low_port;
	rec.auto_ports[2] = 22;
	rec.n_auto_ports = 3;
	rec.max_autoforwards = 4;
	assert_true(sc_listen_factory_wanted(&rec));
	/* The factory, orphaned when the sidecar's child exits, comes here. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(sidecar());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* The factory ended with it (EOF, or its parent-death signal). */
	alarm(5);
	assert_true(waitpid(-1, &st, 0) > 0);
	alarm(0);
	assert_int_equal(waitpid(-1, &st, WNOHANG), -1);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

/* No hand-out port or no slot: no factory wanted; without one, nothing. */
static void test_no_factory(void **state)
{
	struct ps_forwards r = {.n_auto_ports = 1, .max_autoforwards = 0, .n_bind = 1};
	struct sc_ctx ctx = {.rec = &r, .listen_factory_fd = -1};
	int fds[OCI_POLICY_MAX_HOSTIPS];
	char why[128];

	(void)state;
	r.auto_ports[0] = 18990;
	assert_false(sc_listen_factory_wanted(&r));
	r.max_autoforwards = 4;
	r.n_auto_ports = 0;
	assert_false(sc_listen_factory_wanted(&r));
	assert_int_equal(sc_host_listen(&ctx, 18990, fds), -EPERM);
	assert_int_equal(fds[0], -1);
	/* Switching automatic forwarding on says why it cannot be. */
	assert_int_equal(sc_autoforward_set(&ctx, OCI_AUTOFORWARD_PUBLIC, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "this container's policy gives no autoforwardPorts");
	r.n_auto_ports = 1;
	r.max_autoforwards = 0;
	assert_int_equal(sc_autoforward_set(&ctx, OCI_AUTOFORWARD_ALL, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "the policy's maxAutoforwards is 0");
	assert_int_equal(r.autoforward, OCI_AUTOFORWARD_PUBLIC); /* unchanged (0) */
	/* Off is always possible. */
	assert_int_equal(sc_autoforward_set(&ctx, OCI_AUTOFORWARD_NEVER, why, sizeof(why)), 0);
	assert_int_equal(r.autoforward, OCI_AUTOFORWARD_NEVER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_factory),
		cmocka_unit_test(test_no_factory),
	};

	sc_log_init("unit");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
