/* SPDX-License-Identifier: MIT */
/* minfwd: the smallest sensible userspace TCP forwarder, the yardstick that
 * make bench holds portside's sidecar against. One thread, one epoll loop,
 * accept4, a non-blocking connect, one pipe per direction and splice(2), so
 * that payload never enters user space; nothing else (no limits, no logging,
 * no policy).
 *
 *   minfwd LISTEN_ADDR:PORT TARGET_ADDR:PORT [LISTEN_ADDR:PORT TARGET_ADDR:PORT]...
 *
 * Addresses are numeric, IPv6 ones in brackets ([::1]:8080). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK	  (64 * 1024) /* one default pipe's worth */
#define MAX_PAIRS 64

enum kind { LISTENER, END };

struct listener {
	enum kind kind; /* first: epoll's data.ptr points at a kind */
	int fd;
	struct sockaddr_storage target;
	socklen_t target_len;
};

struct conn;
/* One socket of a connection: what epoll reports for it. */
struct end {
	enum kind kind;
	struct conn *c;
	int i; /* 0: the client's socket, 1: the target's */
};

/* A direction: bytes read from fd[i] wait in pipe[i] until fd[!i] takes them. */
struct dir {
	int pipe[2];
	size_t queued; /* bytes in the pipe */
	bool eof;      /* the source said EOF */
	bool shut;     /* EOF passed on as shutdown(SHUT_WR) */
};

struct conn {
	int fd[2]; /* 0: the client, 1: the target */
	struct end end[2];
	struct dir dir[2]; /* dir[0]: client to target, dir[1]: back */
	bool connecting;
	bool dead;
	struct conn *next_dead;
};

static int ep;
static struct conn *dead; /* closed during this batch of events, freed after it */
static struct listener listeners[MAX_PAIRS];
static int n_listeners;
static bool paused; /* out of fds: listeners are off until a connection ends */

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* "1.2.3.4:80" or "[::1]:80" into an address. */
static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *ai;
	size_t hl;

	if (!colon)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void set_listeners(int op)
{
	for (int i = 0; i < n_listeners; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listeners[i]};

		epoll_ctl(ep, op, listeners[i].fd, &ev);
	}
}

/* Closes C now; its memory goes after this batch of events, which may still
 * name it. */
static void conn_close(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	for (int i = 0; i < 2; i++) {
		close(c->fd[i]); /* also leaves the epoll set */
		close(c->dir[i].pipe[0]);
		close(c->dir[i].pipe[1]);
	}
	c->next_dead = dead;
	dead = c;
	if (paused) {
		paused = false;
		set_listeners(EPOLL_CTL_ADD);
	}
}

/* Moves what it can in direction D: fd[d] -> pipe -> fd[!d]. Stops only at
 * EAGAIN on the side that blocks (epoll is edge-triggered: the next edge
 * resumes it; stopping sooner, for fairness, would need a list of
 * connections to come back to, which a yardstick does without). Returns -1
 * on a socket error. */
static int pump(struct conn *c, int d)
{
	struct dir *dr = &c->dir[d];
	ssize_t n;

	for (;;) {
		if (dr->queued) {
			n = splice(dr->pipe[0], NULL, c->fd[!d], NULL, dr->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0)
				return errno == EAGAIN ? 0 : -1; /* EAGAIN: wait until writable */
			dr->queued -= (size_t)n;
			continue;
		}
		if (dr->eof)
			break;
		n = splice(c->fd[d], NULL, dr->pipe[1], NULL, CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == 0)
			dr->eof = true;
		else if (n < 0)
			return errno == EAGAIN ? 0 : -1; /* EAGAIN: wait until readable */
		else
			dr->queued += (size_t)n;
	}
	if (!dr->shut) {
		dr->shut = true;
		if (shutdown(c->fd[!d], SHUT_WR) < 0)
			return -1;
	}
	return 0;
}

/* EVENTS happened on socket I of C: finish the connect, or move both ways;
 * close when both directions are done or a socket failed. */
static void conn_event(struct conn *c, int i, uint32_t events)
{
	if (c->dead)
		return;
	if (c->connecting) {
		int err = 0;
		socklen_t l = sizeof(err);

		/* Only the target socket turning writable (or failing) ends
		 * the connect; the client's bytes wait in its socket until
		 * then, and the first pump reads them. */
		if (i == 0 || !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
			conn_close(c);
			return;
		}
		c->connecting = false;
	}
	if (pump(c, 0) < 0 || pump(c, 1) < 0 || (c->dir[0].shut && c->dir[1].shut))
		conn_close(c);
}

static void on_accept(struct listener *l)
{
	for (;;) {
		int cfd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), tfd;
		struct conn *c;

		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Level-triggered listeners would spin: stop
				 * accepting until a connection ends. */
				paused = true;
				set_listeners(EPOLL_CTL_DEL);
			}
			return;
		}
		c = calloc(1, sizeof(*c));
		tfd = socket(l->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (!c || tfd < 0 || pipe2(c->dir[0].pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
			free(c);
			close(cfd);
			if (tfd >= 0)
				close(tfd);
			continue;
		}
		if (pipe2(c->dir[1].pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
			close(c->dir[0].pipe[0]);
			close(c->dir[0].pipe[1]);
			free(c);
			close(cfd);
			close(tfd);
			continue;
		}
		c->fd[0] = cfd;
		c->fd[1] = tfd;
		c->connecting = true;
		for (int i = 0; i < 2; i++) {
			struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
						 .data.ptr = &c->end[i]};

			c->end[i] = (struct end){.kind = END, .c = c, .i = i};
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd[i], &ev);
		}
		/* Done when epoll says the target socket is writable. */
		if (connect(tfd, (struct sockaddr *)&l->target, l->target_len) < 0 && errno != EINPROGRESS)
			conn_close(c);
	}
}

int main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct rlimit rl;

	if (argc < 3 || (argc - 1) % 2 || (argc - 1) / 2 > MAX_PAIRS) {
		fprintf(stderr, "usage: minfwd LISTEN_ADDR:PORT TARGET_ADDR:PORT [...] (at most %d pairs)\n",
			MAX_PAIRS);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN); /* a peer gone mid-splice is EPIPE, not death */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	for (int i = 1; i < argc; i += 2) {
		struct listener *l = &listeners[n_listeners++];
		struct sockaddr_storage ss;
		socklen_t len;
		int one = 1;

		if (parse_addr(argv[i], &ss, &len) < 0 || parse_addr(argv[i + 1], &l->target, &l->target_len) < 0) {
			fprintf(stderr, "minfwd: bad address pair %s %s\n", argv[i], argv[i + 1]);
			return 2;
		}
		l->kind = LISTENER;
		l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(l->fd, (struct sockaddr *)&ss, len) < 0 || listen(l->fd, 4096) < 0)
			die(argv[i]);
	}
	set_listeners(EPOLL_CTL_ADD);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			enum kind *k = evs[i].data.ptr;

			if (*k == LISTENER)
				on_accept((struct listener *)k);
			else
				conn_event(((struct end *)k)->c, ((struct end *)k)->i, evs[i].events);
		}
		while (dead) {
			struct conn *c = dead;

			dead = c->next_dead;
			free(c);
		}
	}
}
