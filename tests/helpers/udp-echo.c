/* SPDX-License-Identifier: MIT */
/* udp-echo PORT [ADDR]: a UDP echo server for the tests (busybox nc has no
 * UDP). Answers each datagram with "echo:" and the datagram, from the socket
 * it came to; "peer?" with "peer:PORT", the port it came from (which socket
 * of the forwarder's, so which flow). Built static so that it runs in the
 * busybox test rootfs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	char buf[65536 + 5];
	int fd, off = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: udp-echo PORT [ADDR]\n");
		return 2;
	}
	a.sin6_port = htons((unsigned short)atoi(argv[1]));
	if (argc > 2 && inet_pton(AF_INET6, argv[2], &a.sin6_addr) != 1) {
		/* An IPv4 address, as v4-mapped. */
		char mapped[64];

		snprintf(mapped, sizeof(mapped), "::ffff:%s", argv[2]);
		if (inet_pton(AF_INET6, mapped, &a.sin6_addr) != 1) {
			fprintf(stderr, "udp-echo: bad address %s\n", argv[2]);
			return 2;
		}
	}
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("udp-echo");
		return 1;
	}
	memcpy(buf, "echo:", 5);
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf + 5, sizeof(buf) - 5, 0, (struct sockaddr *)&from, &fl);

		if (n < 0)
			continue;
		if (n == 5 && !memcmp(buf + 5, "peer?", 5)) {
			char p[32];
			int pn = snprintf(p, sizeof(p), "peer:%u",
					  ntohs(((struct sockaddr_in6 *)&from)->sin6_port)); /* sin_port is there too */

			sendto(fd, p, (size_t)pn, 0, (struct sockaddr *)&from, fl);
			continue;
		}
		sendto(fd, buf, (size_t)n + 5, 0, (struct sockaddr *)&from, fl);
	}
}
