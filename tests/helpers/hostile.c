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
 *   hostile udp-count ADDR PORT SECS
 *                                   one datagram, then counts replies for SECS
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
	if (argc >= 5 && !strcmp(argv[1], "udp-count")) {
		struct sockaddr_storage ss;
		socklen_t len;
		int fam = addr(argv[2], (unsigned)atoi(argv[3]), &ss, &len), got = 0;
		int fd = socket(fam, SOCK_DGRAM, 0);
		double end = now() + atof(argv[4]);
		char buf[512];

		if (fd < 0 || sendto(fd, "hi", 2, 0, (struct sockaddr *)&ss, len) != 2) {
			perror("hostile: udp send");
			return 1;
		}
		while (now() < end) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			int ms = (int)((end - now()) * 1000) + 1;

			if (poll(&p, 1, ms) > 0 && recv(fd, buf, sizeof(buf), 0) > 0)
				got++;
		}
		printf("replies %d\n", got);
		return 0;
	}
	fprintf(stderr, "hostile: unknown command\n");
	return 2;
}
