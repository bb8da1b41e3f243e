/* SPDX-License-Identifier: MIT */
/* Asking another program (ctl/ask.c), with real processes: found on the
 * fixed search path only, with an environment of portside's choosing, and
 * done by the deadline whatever the program does with its output. */
#include "unit.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "paths.h"

#include "../../ctl/ctl.h"
#include "../../lib/clock.h"

static void test_answer(void **state)
{
	(void)state;
	char *argv[] = {"sh", "-c", "echo hello", NULL}, *out = NULL;

	assert_int_equal(ctl_ask(argv, 64, ps_now_ms() + 5000, &out), 6);
	assert_string_equal(out, "hello\n");
	free(out);
	/* Failing is no answer; so is more than asked for. */
	char *fail[] = {"sh", "-c", "echo no; exit 3", NULL};
	assert_int_equal(ctl_ask(fail, 64, ps_now_ms() + 5000, &out), -ENOENT);
	assert_null(out);
	char *lots[] = {"sh", "-c", "while :; do echo xxxxxxxx; done", NULL};
	assert_int_equal(ctl_ask(lots, 64, ps_now_ms() + 5000, &out), -E2BIG);
	assert_null(out);
}

/* A program that closes its output and then hangs is killed at the
 * deadline: the wait for its exit keeps it too. */
static void test_deadline_after_eof(void **state)
{
	(void)state;
	char *argv[] = {"sh", "-c", "exec >&-; exec sleep 5", NULL}, *out = NULL;
	int64_t t0 = ps_now_ms();

	assert_int_equal(ctl_ask(argv, 64, t0 + 300, &out), -ETIMEDOUT);
	assert_true(ps_now_ms() - t0 < 2000);
	/* A deadline already past asks nothing. */
	char *echo[] = {"sh", "-c", "echo x", NULL};
	assert_int_equal(ctl_ask(echo, 64, ps_now_ms() - 1, &out), -ETIMEDOUT);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A signal while waiting is not the deadline. */
static void test_eintr(void **state)
{
	(void)state;
	struct sigaction sa = {.sa_handler = on_alarm}, old;
	struct itimerval it = {{0, 20000}, {0, 20000}}, off = {{0, 0}, {0, 0}};
	char *argv[] = {"sh", "-c", "sleep 0.3; echo late", NULL}, *out = NULL;

	sigemptyset(&sa.sa_mask); /* no SA_RESTART: poll sees EINTR */
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	int rc = ctl_ask(argv, 64, ps_now_ms() + 5000, &out);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	assert_int_equal(rc, 5);
	assert_string_equal(out, "late\n");
	free(out);
}

/* The caller's PATH chooses nothing, and only variables that select a local
 * configuration reach the program. */
static void test_path_and_env(void **state)
{
	(void)state;
	char dir[] = "/tmp/portside-ask-XXXXXX", prog[PATH_MAX], *out = NULL;
	const char *path = getenv("PATH");
	char *saved = path ? strdup(path) : NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(prog, sizeof(prog), "%s/portside-ask-probe", dir);
	FILE *f = fopen(prog, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\necho ran\n", f);
	fclose(f);
	assert_int_equal(chmod(prog, 0755), 0);
	setenv("PATH", dir, 1);
	setenv("CONTAINER_HOST", "tcp://127.0.0.1:1", 1);
	setenv("CONTAINER_CONNECTION", "elsewhere", 1);
	setenv("CONTAINERS_CONF", "/etc/containers/test.conf", 1);
	setenv("CONTAINER_RUNTIME_ENDPOINT", "tcp://127.0.0.1:2", 1);
	setenv("LD_PRELOAD", "/nonexistent.so", 1);

	char *probe[] = {"portside-ask-probe", NULL};
	int rc = ctl_ask(probe, 64, ps_now_ms() + 5000, &out);
	char *env[] = {"env", NULL};
	int n = ctl_ask(env, 65536, ps_now_ms() + 5000, &out);

	unlink(prog);
	rmdir(dir);
	if (saved)
		setenv("PATH", saved, 1);
	free(saved);
	unsetenv("CONTAINER_HOST");
	unsetenv("CONTAINER_CONNECTION");
	unsetenv("CONTAINERS_CONF");
	unsetenv("CONTAINER_RUNTIME_ENDPOINT");
	unsetenv("LD_PRELOAD");
	assert_int_equal(rc, -ENOENT);
	assert_true(n > 0);
	assert_non_null(strstr(out, "PATH=" PORTSIDE_TOOL_PATH "\n"));
	assert_non_null(strstr(out, "CONTAINERS_CONF=/etc/containers/test.conf\n"));
	assert_non_null(strstr(out, "LC_ALL=C\n"));
	assert_null(strstr(out, "CONTAINER_HOST"));
	assert_null(strstr(out, "CONTAINER_CONNECTION"));
	assert_null(strstr(out, "CONTAINER_RUNTIME_ENDPOINT"));
	assert_null(strstr(out, "LD_PRELOAD"));
	free(out);
	/* A local socket for crictl is kept. */
	setenv("CONTAINER_RUNTIME_ENDPOINT", "unix:///run/containerd/containerd.sock", 1);
	n = ctl_ask(env, 65536, ps_now_ms() + 5000, &out);
	unsetenv("CONTAINER_RUNTIME_ENDPOINT");
	assert_true(n > 0);
	assert_non_null(strstr(out, "CONTAINER_RUNTIME_ENDPOINT=unix:///run/containerd/containerd.sock\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_deadline_after_eof),
		cmocka_unit_test(test_eintr),
		cmocka_unit_test(test_path_and_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
