/* SPDX-License-Identifier: MIT */
/* APPLY (lib/control.h): its head's codec, and the transport of a table
 * with more listeners than one message carries: every descriptor arrives,
 * in order, with the body whole. */
#include "unit.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/control.h"
#include "../../lib/fdpass.h"
#include "../../lib/rundir.h"

static void test_head_round_trip(void **state)
{
	(void)state;
	struct ps_apply_head h = {.bytes = 1234, .nfds = 130, .close_conns = true}, back;
	char line[512];
	const char *arg;
	int n;

	snprintf(h.reason, sizeof(h.reason), "live");
	snprintf(h.by, sizeof(h.by), "portsidectl expose (pid 12, uid 0)");
	n = ps_apply_head_encode(&h, line, sizeof(line));
	assert_true(n > 0);
	assert_int_equal(line[n - 1], '\n');
	line[n - 1] = '\0';
	assert_int_equal(ps_ctl_decode(line, &arg), PS_CTL_APPLY);
	assert_int_equal(ps_apply_head_decode(arg, &back), 0);
	assert_int_equal(back.bytes, 1234);
	assert_int_equal(back.nfds, 130);
	assert_true(back.close_conns);
	assert_string_equal(back.reason, "live");
	assert_string_equal(back.by, h.by);
	/* Not a request any other way: APPLY has its own line. */
	assert_int_equal(ps_ctl_encode(PS_CTL_APPLY, NULL, line, sizeof(line)), -EINVAL);
}

static void test_head_refuses(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"0 0 keep live x",			 /* an empty table */
		"-1 0 keep live x",			 /* a sign */
		" 10 0 keep live x",			 /* a space first */
		"10 0 maybe live x",			 /* neither close nor keep */
		"10 0 keep Live x",			 /* a reason of other letters */
		"10 0 keep live",			 /* nobody asked */
		"99999999999 0 keep live x",		 /* past PS_APPLY_MAX_BYTES */
		"10 99999999 keep live x",		 /* past PS_APPLY_MAX_FDS */
		"10 0 keep live \x01",			 /* a control byte in who asked */
		"10 0 keep aaaaaaaaaaaaaaaaaaaaaaaaa x", /* a reason too long */
	};
	struct ps_apply_head h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ps_apply_head_decode(bad[i], &h), -EINVAL);
	memset(&h, 0, sizeof(h));
	h.bytes = 10;
	snprintf(h.reason, sizeof(h.reason), "live");
	char line[512];
	assert_int_equal(ps_apply_head_encode(&h, line, sizeof(line)), -EINVAL); /* no "by" */
}

#define NFDS  150 /* past PS_FDPASS_MAX twice */
#define BYTES 5000

static char dir[] = "/tmp/portside-unit-apply-XXXXXX";

/* The sidecar's side, simply: the line, then the body, collecting the
 * descriptors each message brings. */
static void serve(int lfd)
{
	int c = accept(lfd, NULL, NULL), fds[NFDS + PS_FDPASS_MAX];
	char buf[BYTES + 512];
	size_t got = 0, nfds = 0, at = 0;
	bool ok = true;

	assert_true(c >= 0);
	while (got < sizeof(buf)) {
		size_t n = 0;
		ssize_t r = ps_recv_fds(c, buf + got, sizeof(buf) - got, fds + nfds, PS_FDPASS_MAX, &n, 0);

		assert_true(nfds + n <= NFDS);
		nfds += n;
		if (r <= 0)
			break;
		got += (size_t)r;
		char *nl = memchr(buf, '\n', got);
		if (nl && got - (size_t)(nl + 1 - buf) >= BYTES) {
			at = (size_t)(nl + 1 - buf);
			break;
		}
	}
	assert_int_equal(nfds, NFDS);
	assert_int_equal(got - at, BYTES);
	for (size_t i = 0; i < BYTES; i++)
		ok &= buf[at + i] == (char)('a' + i % 26);
	assert_true(ok);
	/* In order: eventfd i counts i + 1. */
	for (size_t i = 0; i < nfds; i++) {
		uint64_t v = 0;

		assert_int_equal(read(fds[i], &v, sizeof(v)), sizeof(v));
		assert_int_equal(v, i + 1);
		close(fds[i]);
	}
	assert_int_equal(write(c, "ok\n", 3), 3);
	close(c);
}

static void test_transport(void **state)
{
	(void)state;
	char path[4096], reply[64], *body = malloc(BYTES);
	struct sockaddr_un sa;
	struct ps_apply_head h = {.bytes = BYTES, .nfds = NFDS};
	int fds[NFDS], lfd, status, dirfd = -1;
	pid_t child;

	assert_non_null(mkdtemp(dir));
	setenv("PORTSIDE_RUN_DIR", dir, 1);
	assert_int_equal(ps_run_dir_init(), 0);
	assert_int_equal(ps_path(path, sizeof(path), "ct1", NULL), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ps_control_addr("ct1", &sa, &dirfd), 0);
	assert_int_equal(dirfd, -1); /* a short path under /tmp */
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	for (size_t i = 0; i < BYTES; i++)
		body[i] = (char)('a' + i % 26);
	for (int i = 0; i < NFDS; i++)
		assert_true((fds[i] = eventfd((unsigned)i + 1, EFD_CLOEXEC)) >= 0);
	snprintf(h.reason, sizeof(h.reason), "live");
	snprintf(h.by, sizeof(h.by), "unit test");
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int n = ps_ctl_apply("ct1", &h, body, fds, reply, sizeof(reply), 5000);

		_exit(n == 3 && !strcmp(reply, "ok\n") ? 0 : 1);
	}
	serve(lfd);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; i < NFDS; i++)
		close(fds[i]);
	close(lfd);
	free(body);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_round_trip),
		cmocka_unit_test(test_head_refuses),
		cmocka_unit_test(test_transport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
