/* SPDX-License-Identifier: MIT */
/* What a hostile container (or client) does, for tests/integration/hostile.bats.
 * Static, so that it runs in the busybox containers and on the host alike.
 *
 *   hostile listen ADDR PORT        TCP server; tells each client its peer
 *                                   ("peer=IP"); ADDR may be ::ffff:a.b.c.d
 *   hostile listen-many BASE N      N TCP listeners on 0.0.0.0, BASE..BASE+N-1
 *   hostile listen-freebind6 PREFIX PORT N
 *                                   N listeners on PREFIX:XXXX (IPV6_FREEBIND)
 *   hostile udp-stream PORT         UDP server that answers one datagram with
 *                                   a stream: 2000 datagrams over 4 s
 *   hostile connect-flood ADDR PORT N
 *                                   N connections, each closed at once
 *   hostile udp-burst PORT N SIZE   UDP server that answers each datagram with
 *                                   N datagrams of SIZE bytes (a reflector)
 *   hostile udp-count ADDR PORT SECS [SIZE [TIMES]]
 *                                   one datagram (of SIZE bytes, default 2),
 *                                   then counts replies and their bytes for
 *                                   SECS; TIMES rounds of that on one socket
 *   hostile udp-flows ADDR PORT N [FROM]
 *                                   one datagram from each of N sockets (bound
 *                                   to address FROM), then counts those that
 *                                   heard back within 2 s
 *   hostile udp-spray ADDR PORT NADDRS PER SECS
 *                                   one 1-byte datagram from each of PER
 *                                   sockets on each of 127.0.0.2 ... (NADDRS
 *                                   addresses), as forged sources would;
 *                                   then counts all replies and their bytes
 *                                   for SECS
 * Every loop is bounded in count and time. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int addr(const char *s, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((unsigned short)port);
		*len = sizeof(*a4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*a6);
		return AF_INET6;
	}
	fprintf(stderr, "hostile: bad address %s\n", s);
	exit(2);
}

static int tcp_listen(const char *ip, unsigned port, int freebind)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = addr(ip, port, &ss, &len), one = 1, zero = 0;
	int fd = socket(fam, SOCK_STREAM, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (freebind)
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 512) < 0) {
		fprintf(stderr, "hostile: listen %s:%u: %s\n", ip, port, strerror(errno));
		exit(1);
	}
	return fd;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int udp_burst(unsigned port, int n, size_t size)
{
	static char buf[65536];
	struct sockaddr_storage ss, peer;
	socklen_t len, pl;
	int fd;

	if (n < 0 || n > 10000 || size > sizeof(buf) - 28 - 8)
		return 2;
	addr("0.0.0.0", port, &ss, &len);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0) {
		perror("hostile: udp bind");
		return 1;
	}
	memset(buf, 'r', sizeof(buf));
	for (int round = 0; round < 1000; round++) {
		pl = sizeof(peer);
		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl) < 0)
			continue;
		/* Paced a little, so that what the client misses is what the
		 * forwarder dropped, not a socket buffer's overflow. */
		for (int i = 0; i < n; i++) {
			sendto(fd, buf, size, 0, (struct sockaddr *)&peer, pl);
			if (i % 8 == 7)
				usleep(1000);
		}
	}
	return 0;
}

static int udp_count(const char *ip, unsigned port, double secs, size_t size, int times)
{
	static char buf[65536];
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = addr(ip, port, &ss, &len), got = 0;
	int fd = socket(fam, SOCK_DGRAM, 0);
	long long bytes = 0;

	if (size > 65507 || times < 1 || times > 100 || secs > 30)
		return 2;
	memset(buf, 'q', sizeof(buf));
	for (int t = 0; t < times; t++) {
		double end = now() + secs;

		if (fd < 0 || sendto(fd, buf, size, 0, (struct sockaddr *)&ss, len) != (ssize_t)size) {
			perror("hostile: udp send");
			return 1;
		}
		while (now() < end) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			int ms = (int)((end - now()) * 1000) + 1;
			ssize_t r;

			if (poll(&p, 1, ms) > 0 && (r = recv(fd, buf, sizeof(buf), 0)) >= 0) {
				got++;
				bytes += r;
			}
		}
	}
	printf("replies %d bytes %lld\n", got, bytes);
	return 0;
}

static int udp_flows(const char *ip, unsigned port, int n, const char *from)
{
	static int fd[1024];
	struct sockaddr_storage ss, src;
	socklen_t len, sl;
	int fam = addr(ip, port, &ss, &len), answered = 0, open = 0;
	double end;
	char buf[256];

	if (n < 1 || n > 1024)
		return 2;
	if (from && addr(from, 0, &src, &sl) != fam)
		return 2;
	for (int i = 0; i < n; i++) {
		fd[i] = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd[i] < 0 || (from && bind(fd[i], (struct sockaddr *)&src, sl) < 0) ||
		    sendto(fd[i], "flow", 4, 0, (struct sockaddr *)&ss, len) != 4) {
			perror("hostile: udp flow");
			return 1;
		}
		open++;
	}
	for (end = now() + 2; open > 0 && now() < end;) {
		struct pollfd p[1024];

		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){.fd = fd[i], .events = POLLIN};
		if (poll(p, (nfds_t)n, (int)((end - now()) * 1000) + 1) <= 0)
			continue;
		for (int i = 0; i < n; i++)
			if (fd[i] >= 0 && (p[i].revents & POLLIN) && recv(fd[i], buf, sizeof(buf), 0) >= 0) {
				answered++;
				close(fd[i]);
				fd[i] = -1; /* poll ignores it from now on */
				open--;
			}
	}
	printf("answered %d of %d\n", answered, n);
	return 0;
}

static int udp_spray(const char *ip, unsigned port, int naddrs, int per, double secs)
{
	static int fd[1024];
	static char buf[65536];
	struct sockaddr_storage ss, src;
	socklen_t len, sl;
	int fam = addr(ip, port, &ss, &len), n = naddrs * per, got = 0;
	long long bytes = 0;
	double end;

	if (fam != AF_INET || naddrs < 1 || naddrs > 200 || per < 1 || n > 1024 || secs > 30)
		return 2;
	for (int i = 0; i < n; i++) {
		char from[32];

		snprintf(from, sizeof(from), "127.0.0.%d", 2 + i / per);
		addr(from, 0, &src, &sl);
		fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd[i] < 0 || bind(fd[i], (struct sockaddr *)&src, sl) < 0 ||
		    sendto(fd[i], "x", 1, 0, (struct sockaddr *)&ss, len) != 1) {
			perror("hostile: udp spray");
			return 1;
		}
	}
	for (end = now() + secs; now() < end;) {
		struct pollfd p[1024];

		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){.fd = fd[i], .events = POLLIN};
		if (poll(p, (nfds_t)n, (int)((end - now()) * 1000) + 1) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			ssize_t r;

			/* Each socket drained: a bounded 64 a round. */
			for (int k = 0;
			     k < 64 && (p[i].revents & POLLIN) && (r = recv(fd[i], buf, sizeof(buf), 0)) >= 0; k++) {
				got++;
				bytes += r;
			}
		}
	}
	printf("replies %d bytes %lld\n", got, bytes);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "listen")) {
		int fd = tcp_listen(argv[2], (unsigned)atoi(argv[3]), 0);

		for (int i = 0; i < 100000; i++) {
			struct sockaddr_storage peer;
			socklen_t pl = sizeof(peer);
			char ip[INET6_ADDRSTRLEN] = "?", line[128];
			int c = accept(fd, (struct sockaddr *)&peer, &pl);

			if (c < 0)
				continue;
			if (peer.ss_family == AF_INET)
				inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, ip, sizeof(ip));
			else
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, ip, sizeof(ip));
			int n = snprintf(line, sizeof(line), "peer=%s\n", ip);
			if (write(c, line, (size_t)n) < 0)
				perror("write");
			close(c);
		}
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "listen-many")) {
		int base = atoi(argv[2]), n = atoi(argv[3]);

		for (int i = 0; i < n && i < 4096; i++)
			tcp_listen("0.0.0.0", (unsigned)(base + i), 0);
		sleep(3600);
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "listen-freebind6")) {
		int port = atoi(argv[3]), n = atoi(argv[4]);

		for (int i = 0; i < n && i < 4096; i++) {
			char a[64];

			snprintf(a, sizeof(a), "%s:%04x", argv[2], 0x1000 + i);
			tcp_listen(a, (unsigned)(port + i), 1);
		}
		sleep(3600);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "udp-stream")) {
		struct sockaddr_storage ss, peer;
		socklen_t len, pl = sizeof(peer);
		char buf[512];
		int fd;

		addr("0.0.0.0", (unsigned)atoi(argv[2]), &ss, &len);
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0) {
			perror("hostile: udp bind");
			return 1;
		}
		for (int round = 0; round < 100; round++) {
			if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl) < 0)
				continue;
			/* One datagram in, a stream out: 2000 over about 4 s. */
			for (int i = 0; i < 2000; i++) {
				int n = snprintf(buf, sizeof(buf), "reply %d", i);

				sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, pl);
				usleep(2000);
			}
		}
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "connect-flood")) {
		struct sockaddr_storage ss;
		socklen_t len;
		int fam = addr(argv[2], (unsigned)atoi(argv[3]), &ss, &len), n = atoi(argv[4]), ok = 0;
		double deadline = now() + 60;

		for (int i = 0; i < n && i < 1000000 && now() < deadline; i++) {
			int fd = socket(fam, SOCK_STREAM, 0);

			if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) == 0)
				ok++;
			close(fd);
		}
		printf("connected %d\n", ok);
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "udp-burst"))
		return udp_burst((unsigned)atoi(argv[2]), atoi(argv[3]), (size_t)atoi(argv[4]));
	if (argc >= 7 && !strcmp(argv[1], "udp-spray"))
		return udp_spray(argv[2], (unsigned)atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atof(argv[6]));
	if (argc >= 5 && !strcmp(argv[1], "udp-count"))
		return udp_count(argv[2], (unsigned)atoi(argv[3]), atof(argv[4]), argc > 5 ? (size_t)atoi(argv[5]) : 2,
				 argc > 6 ? atoi(argv[6]) : 1);
	if (argc >= 5 && !strcmp(argv[1], "udp-flows"))
		return udp_flows(argv[2], (unsigned)atoi(argv[3]), atoi(argv[4]), argc > 5 ? argv[5] : NULL);
	fprintf(stderr, "hostile: unknown command\n");
	return 2;
}
