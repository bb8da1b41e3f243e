/* SPDX-License-Identifier: MIT */
/* conns: many idle connections or UDP flows, for make bench's scale rows.
 *
 *   conns serve PORT            (in the container) accept TCP connections on
 *                               PORT for ever, greet each with one byte, hold
 *                               them open
 *   conns tcp ADDR PORT N       open N connections to ADDR:PORT; one counts
 *                               once the server's byte came back through it
 *   conns udp ADDR PORT N       N sockets each send one datagram to ADDR:PORT;
 *                               one counts once its reply arrived
 *
 * The clients print "ok COUNT N" once every attempt has ended (or after
 * DEADLINE_S, or when none has ended for STALL_S), then hold everything open for HOLD_S seconds so that the
 * caller can measure the forwarder, and exit (the caller may kill them
 * sooner). At most WINDOW attempts are under way at once, so that the
 * forwarder's listen backlog is never the limit being measured. Built static:
 * the server runs in a busybox container. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEADLINE_S 30
#define STALL_S	   5
#define HOLD_S	   120
#define WINDOW	   256

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int serve(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0) {
		perror("conns serve");
		return 1;
	}
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c < 0) {
			if (errno == EMFILE || errno == ENFILE)
				usleep(100 * 1000); /* out of fds: hold what we have */
			continue;
		}
		if (write(c, "!", 1) != 1)
			close(c);
	}
}

/* One attempt: a socket that has connected (TCP) or sent (UDP) and waits
 * for its byte or reply. */
static int clients(int udp, const char *addr, int port, int n)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	int ep = epoll_create1(0), started = 0, ended = 0, ok = 0, pending = 0;
	double deadline = now() + DEADLINE_S, progress = now();

	if (ep < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
		fprintf(stderr, "conns: bad address %s\n", addr);
		return 2;
	}
	while (ended < n && now() < deadline && now() < progress + STALL_S) {
		struct epoll_event evs[64];
		int k;

		/* Start attempts while the window has room. */
		while (started < n && pending < WINDOW) {
			int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);
			struct epoll_event ev = {.events = EPOLLIN};

			started++;
			if (fd < 0) {
				ended++;
				continue;
			}
			if (udp ? sendto(fd, "ping", 4, 0, (struct sockaddr *)&a, sizeof(a)) != 4
				: (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)) {
				close(fd);
				ended++;
				continue;
			}
			ev.data.fd = fd;
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			pending++;
		}
		k = epoll_wait(ep, evs, 64, 100);
		for (int i = 0; i < k; i++) {
			char b[64];
			int fd = evs[i].data.fd;
			ssize_t r = recv(fd, b, sizeof(b), 0);

			if (r < 0 && errno == EAGAIN)
				continue;
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			pending--;
			ended++;
			progress = now();
			if (r > 0)
				ok++; /* through: keep it open */
			else
				close(fd); /* refused, reset or closed by the forwarder */
		}
	}
	printf("ok %d %d\n", ok, n);
	fflush(stdout);
	sleep(HOLD_S);
	return 0;
}

int main(int argc, char **argv)
{
	raise_nofile();
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]));
	if (argc == 5 && (!strcmp(argv[1], "tcp") || !strcmp(argv[1], "udp")))
		return clients(!strcmp(argv[1], "udp"), argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: conns serve PORT | conns tcp|udp ADDR PORT N\n");
	return 2;
}
