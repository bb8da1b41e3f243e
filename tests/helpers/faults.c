/* SPDX-License-Identifier: MIT */
/* Load and faults through the forwarder, for tests/integration/faults.bats.
 * Static, so that it runs in the busybox containers and on the host alike.
 *
 *   faults echo PORT                 TCP echo server (epoll, any number of
 *                                    connections); a half-close is answered
 *                                    with what is left, then a close
 *   faults reset PORT                TCP server that reads a little, writes a
 *                                    little, then resets every connection
 *   faults many ADDR PORT N SECS     N connections at once, each sends 16
 *                                    bytes of its own and waits for them back;
 *                                    prints "echoed E closed C hung H" after
 *                                    all ended or SECS passed, holding every
 *                                    echoed one open until then
 *   faults halfclose ADDR PORT       sends "half-close\n", shuts its side
 *                                    down, prints what comes back until EOF
 *   faults idle ADDR PORT N SECS     N connections that never write, held SECS
 *   faults udpflood ADDR PORT N      one datagram from each of N sockets (N
 *                                    flows), 64 sockets open at a time
 *   faults pipe-eater SECS           takes its user's whole pipe quota
 *                                    (fs.pipe-user-pages-soft): pipes grown
 *                                    to 1 MiB until a new one is small, at
 *                                    most PIPES_MAX; prints "held N pipes, a
 *                                    new pipe gets S bytes", holds them SECS
 *   faults pipesz PATH...            the capacity (F_GETPIPE_SZ) of each pipe
 *                                    PATH names (/proc/PID/fd/N), one a line
 * Every loop is bounded in count and time. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_N	  20000
#define WINDOW	  512 /* connects in flight at once */
#define MSG_LEN	  16
#define SERVE_MAX 3600 /* seconds a server runs at most */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int listen_on(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0) {
		perror("listen");
		exit(1);
	}
	return fd;
}

static int connect_to(const char *ip, unsigned port, int flags)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);

	if (fd < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* echo: each connection's bytes back; what cannot be written now waits in a
 * small buffer while reading that connection pauses. */
struct econn {
	int fd;
	char buf[4096];
	size_t len;
	int eof;
};

static int serve_echo(unsigned port)
{
	int lfd = listen_on(port), ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[256];
	long end = now_ms() + SERVE_MAX * 1000L;

	raise_nofile();
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	while (now_ms() < end) {
		int n = epoll_wait(ep, evs, 256, 1000);

		for (int i = 0; i < n; i++) {
			struct econn *c = evs[i].data.ptr;

			if (!c) {
				int fd;

				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct econn *nc = calloc(1, sizeof(*nc));

					if (!nc) {
						close(fd);
						continue;
					}
					nc->fd = fd;
					ev.events = EPOLLIN;
					ev.data.ptr = nc;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			if (c->len == 0 && !c->eof) {
				ssize_t r = read(c->fd, c->buf, sizeof(c->buf));

				if (r > 0)
					c->len = (size_t)r;
				else if (r == 0)
					c->eof = 1;
				else if (errno != EAGAIN)
					goto drop;
			}
			if (c->len) {
				ssize_t w = write(c->fd, c->buf, c->len);

				if (w < 0 && errno != EAGAIN)
					goto drop;
				if (w > 0) {
					memmove(c->buf, c->buf + w, c->len - (size_t)w);
					c->len -= (size_t)w;
				}
			}
			if (c->eof && c->len == 0)
				goto drop; /* a half-close answered: all of it back, then close */
			ev.events = c->len ? EPOLLOUT : EPOLLIN;
			ev.data.ptr = c;
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			continue;
		drop:
			close(c->fd);
			free(c);
		}
	}
	return 0;
}

static int serve_reset(unsigned port)
{
	int lfd = listen_on(port);
	long end = now_ms() + SERVE_MAX * 1000L;

	fcntl(lfd, F_SETFL, 0);
	while (now_ms() < end) {
		struct linger lg = {1, 0};
		char buf[256];
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			continue;
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 2000) > 0 && read(fd, buf, sizeof(buf)) > 0 && write(fd, "partial", 7) < 0)
			perror("write");
		/* A reset that overtakes the data would drop it unread: the
		 * words go first, the reset a moment later. */
		usleep(200 * 1000);
		/* SO_LINGER 0: the close sends a reset, not a FIN. */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	return 0;
}

enum { PENDING, CONNECTING, WAITING, ECHOED, CLOSED };

static int many(const char *ip, unsigned port, int n, int secs)
{
	static int fd[MAX_N], state[MAX_N];
	static size_t got[MAX_N];
	static char want[MAX_N][MSG_LEN + 1], have[MAX_N][MSG_LEN];
	int ep = epoll_create1(EPOLL_CLOEXEC), started = 0, active = 0, done = 0, echoed = 0, closed = 0;
	long end = now_ms() + secs * 1000L;
	struct epoll_event evs[512];

	raise_nofile();
	if (n > MAX_N)
		n = MAX_N;
	while (done < n && now_ms() < end) {
		while (started < n && active < WINDOW) {
			struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)started};
			int i = started++;

			snprintf(want[i], sizeof(want[i]), "conn%011d", i);
			if ((fd[i] = connect_to(ip, port, SOCK_NONBLOCK)) < 0) {
				state[i] = CLOSED;
				closed++;
				done++;
				continue;
			}
			state[i] = CONNECTING;
			epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &ev);
			active++;
		}
		int k = epoll_wait(ep, evs, 512, 200);
		for (int e = 0; e < k; e++) {
			int i = (int)evs[e].data.u32;
			ssize_t r;

			if (state[i] == CONNECTING && (evs[e].events & EPOLLOUT)) {
				if (write(fd[i], want[i], MSG_LEN) != MSG_LEN)
					goto fail;
				state[i] = WAITING;
				struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
				epoll_ctl(ep, EPOLL_CTL_MOD, fd[i], &ev);
				continue;
			}
			if (state[i] != WAITING)
				continue;
			r = read(fd[i], have[i] + got[i], MSG_LEN - got[i]);
			if (r <= 0 && !(r < 0 && errno == EAGAIN))
				goto fail;
			if (r > 0 && (got[i] += (size_t)r) == MSG_LEN) {
				if (memcmp(have[i], want[i], MSG_LEN))
					goto fail;
				state[i] = ECHOED;
				echoed++;
				done++;
				active--;
				epoll_ctl(ep, EPOLL_CTL_DEL, fd[i], NULL); /* held open */
			}
			continue;
		fail:
			state[i] = CLOSED;
			closed++;
			done++;
			active--;
			epoll_ctl(ep, EPOLL_CTL_DEL, fd[i], NULL);
			close(fd[i]);
		}
	}
	printf("echoed %d closed %d hung %d\n", echoed, closed, n - echoed - closed);
	fflush(stdout);
	return 0;
}

static int halfclose(const char *ip, unsigned port)
{
	int fd = connect_to(ip, port, 0);
	char buf[256];
	ssize_t r;
	struct pollfd p;

	if (fd < 0 || write(fd, "half-close\n", 11) != 11 || shutdown(fd, SHUT_WR) < 0) {
		perror("halfclose");
		return 1;
	}
	p.fd = fd;
	p.events = POLLIN;
	while (poll(&p, 1, 5000) > 0 && (r = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)r, stdout);
	printf("<eof>\n");
	return 0;
}

static int idle(const char *ip, unsigned port, int n, int secs)
{
	static int fd[MAX_N];
	int ok = 0;

	raise_nofile();
	if (n > MAX_N)
		n = MAX_N;
	for (int i = 0; i < n; i++)
		if ((fd[i] = connect_to(ip, port, 0)) >= 0)
			ok++;
	printf("idle %d\n", ok);
	fflush(stdout);
	sleep((unsigned)secs);
	return 0;
}

static int udpflood(const char *ip, unsigned port, int n)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	int fd[64], sent = 0;

	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		return 2;
	for (int i = 0; i < n; i += 64) {
		int k = n - i < 64 ? n - i : 64;

		for (int j = 0; j < k; j++) {
			fd[j] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (fd[j] >= 0 && sendto(fd[j], "flood", 5, 0, (struct sockaddr *)&a, sizeof(a)) == 5)
				sent++;
		}
		for (int j = 0; j < k; j++)
			if (fd[j] >= 0)
				close(fd[j]);
	}
	printf("sent %d\n", sent);
	return 0;
}

#define PIPES_MAX 1024

static int pipe_eater(int secs)
{
	static int fds[PIPES_MAX][2];
	int n = 0, fresh[2], size;

	raise_nofile();
	/* Each pipe charges its pages to this process's user; past the soft
	 * limit, growing one is refused and a new one gets two pages. Grown
	 * while the kernel lets it, then default ones fill what is left (some
	 * of the quota may be taken by other processes of the user). */
	while (n < PIPES_MAX && pipe2(fds[n], O_CLOEXEC) == 0) {
		if (fcntl(fds[n++][0], F_GETPIPE_SZ) < 64 * 1024)
			break; /* the quota is gone */
		fcntl(fds[n - 1][0], F_SETPIPE_SZ, 1024 * 1024);
	}
	if (pipe2(fresh, O_CLOEXEC) < 0)
		return 1;
	size = fcntl(fresh[0], F_GETPIPE_SZ);
	printf("held %d pipes, a new pipe gets %d bytes\n", n, size);
	fflush(stdout);
	sleep((unsigned)(secs >= 0 && secs < SERVE_MAX ? secs : SERVE_MAX));
	return 0;
}

static int pipe_sizes(int n, char **paths)
{
	for (int i = 0; i < n; i++) {
		/* Non-blocking: opening a pipe's read end waits for a writer. */
		int fd = open(paths[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);

		printf("%d\n", fd < 0 ? -1 : fcntl(fd, F_GETPIPE_SZ));
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "pipe-eater"))
		return pipe_eater(atoi(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "pipesz"))
		return pipe_sizes(argc - 2, argv + 2);
	if (argc == 5 && !strcmp(argv[1], "udpflood"))
		return udpflood(argv[2], (unsigned)atoi(argv[3]), atoi(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "echo"))
		return serve_echo((unsigned)atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "reset"))
		return serve_reset((unsigned)atoi(argv[2]));
	if (argc == 6 && !strcmp(argv[1], "many"))
		return many(argv[2], (unsigned)atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "halfclose"))
		return halfclose(argv[2], (unsigned)atoi(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "idle"))
		return idle(argv[2], (unsigned)atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	fprintf(stderr, "usage: see tests/helpers/faults.c\n");
	return 2;
}
