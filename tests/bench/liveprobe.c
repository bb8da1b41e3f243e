/* SPDX-License-Identifier: MIT */
/* liveprobe: how long a live change of the port table takes to be felt by a
 * client, for tests/bench/live.sh. It starts CMD (portsidectl expose or
 * unexpose) and, from that moment, tries 127.0.0.1:PORT again and again
 * until what the change promised is true:
 *
 *   liveprobe served  PORT -- CMD ARGS...   an HTTP GET of /1k.html through
 *                                           PORT is answered "200"
 *   liveprobe refused PORT -- CMD ARGS...   a connect to PORT is refused
 *
 * and prints, in milliseconds since just before CMD was spawned (both on
 * CLOCK_MONOTONIC), when that happened and when CMD exited, and how many
 * tries it took:  "FIRST_MS EXIT_MS TRIES". CMD's stdout goes to /dev/null,
 * its stderr is ours.
 *
 * Between two tries it sleeps INTERVAL µs (-i, 100 by default): a loop that
 * never sleeps would take one of this machine's two cores from the very
 * processes it times. After a try that reached a listener (an unexpose not
 * felt yet) it sleeps ten times that: such a try costs the sidecar an
 * accept and a connection into the container, and at 100 µs apart that
 * work slowed the change being timed by a fifth (measured). Every try and the whole wait are bounded: a try gets
 * 1 s, the whole wait 10 s; CMD is killed if it has not exited 10 s after
 * that; a CMD that failed ends the wait. Exit status: 0; 1 when CMD
 * failed (the times are printed if the change was felt all the same); 2
 * when the change was never felt or CMD never exited; 64 for bad usage.
 *
 * Only 127.0.0.1 is ever dialled. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TRY_MS	       1000
#define WAIT_MS	       10000
#define MAX_TRIES      1000000
#define EXIT_GRACE_SEC 10

extern char **environ;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The child's exit, seen by a thread of its own, so that the time is taken
 * the moment it happens whatever the probing loop is doing. */
struct child {
	pid_t pid;
	int status;
	int64_t exit_ns;
	bool done; /* status and exit_ns are set */
};

static void *reap(void *arg)
{
	struct child *c = arg;

	int st;

	while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
		;
	c->exit_ns = now_ns();
	__atomic_store_n(&c->status, st, __ATOMIC_RELEASE);
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int n;

	while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR)
		;
	return n;
}

/* A connected socket to 127.0.0.1:PORT, or -errno (-ECONNREFUSED: nothing
 * listens). */
static int dial(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	/* RST on close, no TIME_WAIT: a probe that connects is closed at once,
	 * and thousands of them must not use up the ephemeral ports. */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	socklen_t sl = sizeof(int);
	int fd, err = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (errno != EINPROGRESS)
			err = errno;
		else if (wait_fd(fd, POLLOUT, TRY_MS) != 1)
			err = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
	}
	if (err) {
		close(fd);
		return -err;
	}
	return fd;
}

/* True when a GET through PORT is answered 200 (within TRY_MS). */
static bool served(unsigned port, bool *reached)
{
	static const char req[] = "GET /1k.html HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	char buf[16];
	size_t got = 0;
	int fd = dial(port);
	bool ok = false;

	if (fd < 0)
		return false;
	*reached = true;
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1))
		goto out;
	/* "HTTP/1.1 200 " is all it takes. */
	while (got < 13 && wait_fd(fd, POLLIN, TRY_MS) == 1) {
		ssize_t n = recv(fd, buf + got, 13 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	ok = got == 13 && !strncmp(buf, "HTTP/1.", 7) && !strncmp(buf + 8, " 200 ", 5);
out:
	close(fd);
	return ok;
}

static bool refused(unsigned port, bool *reached)
{
	int fd = dial(port);

	if (fd >= 0) {
		*reached = true;
		close(fd);
	}
	return fd == -ECONNREFUSED;
}

static int usage(void)
{
	fprintf(stderr, "usage: liveprobe [-i INTERVAL_US] served|refused PORT -- CMD [ARG...]\n");
	return 64;
}

int main(int argc, char **argv)
{
	struct timespec gap = {0, 100 * 1000}, long_gap;
	posix_spawn_file_actions_t fa;
	struct child c = {.pid = -1};
	pthread_t reaper;
	struct timespec limit;
	int64_t t0, first = -1;
	long tries = 0;
	bool want_served;
	unsigned long port;
	char *end;
	int opt, rc;

	while ((opt = getopt(argc, argv, "+i:")) != -1) {
		if (opt != 'i')
			return usage();
		long us = strtol(optarg, &end, 10);

		if (*end || us < 0 || us > 100000)
			return usage();
		gap.tv_nsec = us * 1000;
	}
	if (argc - optind < 4 || strcmp(argv[optind + 2], "--"))
		return usage();
	if (!strcmp(argv[optind], "served"))
		want_served = true;
	else if (!strcmp(argv[optind], "refused"))
		want_served = false;
	else
		return usage();
	port = strtoul(argv[optind + 1], &end, 10);
	if (*end || port < 1 || port > 65535)
		return usage();
	char **cmd = argv + optind + 3;
	long ns = gap.tv_nsec * 10;

	long_gap = (struct timespec){ns / 1000000000, ns % 1000000000};

	if (posix_spawn_file_actions_init(&fa) ||
	    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0)) {
		perror("liveprobe: posix_spawn_file_actions");
		return 2;
	}
	t0 = now_ns();
	if ((rc = posix_spawnp(&c.pid, cmd[0], &fa, NULL, cmd, environ))) {
		fprintf(stderr, "liveprobe: %s: %s\n", cmd[0], strerror(rc));
		return 2;
	}
	posix_spawn_file_actions_destroy(&fa);
	if ((rc = pthread_create(&reaper, NULL, reap, &c))) {
		fprintf(stderr, "liveprobe: pthread_create: %s\n", strerror(rc));
		kill(c.pid, SIGKILL);
		waitpid(c.pid, NULL, 0);
		return 2;
	}
	while (tries < MAX_TRIES && now_ns() - t0 < (int64_t)WAIT_MS * 1000000) {
		bool reached = false;

		tries++;
		if (want_served ? served((unsigned)port, &reached) : refused((unsigned)port, &reached)) {
			first = now_ns();
			break;
		}
		/* A change refused will never be felt: no use waiting. */
		if (__atomic_load_n(&c.done, __ATOMIC_ACQUIRE) && (!WIFEXITED(c.status) || WEXITSTATUS(c.status)))
			break;
		nanosleep(reached ? &long_gap : &gap, NULL);
	}
	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += EXIT_GRACE_SEC;
	if (pthread_timedjoin_np(reaper, NULL, &limit)) {
		fprintf(stderr, "liveprobe: %s did not exit: killed\n", cmd[0]);
		kill(c.pid, SIGKILL);
		pthread_join(reaper, NULL);
		return 2;
	}
	if (!WIFEXITED(c.status) || WEXITSTATUS(c.status)) {
		fprintf(stderr, "liveprobe: %s failed (status %d)\n", cmd[0], c.status);
		if (first < 0)
			return 1;
	}
	if (first < 0) {
		fprintf(stderr, "liveprobe: port %lu not %s after %ld tries in %d ms\n", port,
			want_served ? "served" : "refused", tries, WAIT_MS);
		return 2;
	}
	printf("%.3f %.3f %ld\n", (double)(first - t0) / 1e6, (double)(c.exit_ns - t0) / 1e6, tries);
	return WIFEXITED(c.status) && !WEXITSTATUS(c.status) ? 0 : 1;
}
