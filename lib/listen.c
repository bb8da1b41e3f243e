/* SPDX-License-Identifier: MIT */
#include "listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../oci/policy.h"
#include "../oci/ports.h"

#define LISTEN_BACKLOG 1024

int ps_listen(const struct oci_ip *ip, unsigned port, unsigned proto)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, fd, rc;

	memset(&ss, 0, sizeof(ss));
	if (ip->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, ip->a, 16);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, ip->a, 4);
		sl = sizeof(*s4);
	}
	fd = socket(ip->family, (proto == OCI_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* SO_REUSEADDR only for TCP. On UDP it lets a second socket bind the
	 * same port (another container's mapping, or a host daemon that set it
	 * too, like mDNS on 5353) and silently share its datagrams. */
	/* TCP_NODELAY is inherited by every accepted connection: a forwarder
	 * must pass each write on when it comes, not wait for the previous
	 * one's ACK (Nagle), or a client's second small write waits for the
	 * app's delayed ACK. */
	if ((proto == OCI_PROTO_TCP && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    (proto == OCI_PROTO_TCP && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) ||
	    (ip->family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 || (proto == OCI_PROTO_TCP && listen(fd, LISTEN_BACKLOG) < 0)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int ps_listen_all(const struct oci_ip *ips, size_t n, unsigned port, unsigned proto, bool defaults, int *fds,
		  size_t *failed)
{
	for (size_t i = 0; i < n; i++) {
		int fd = ps_listen(&ips[i], port, proto);

		fds[i] = -1;
		if (defaults && ips[i].family == AF_INET6 && (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL))
			continue;
		if (fd < 0) {
			*failed = i;
			while (i-- > 0)
				if (fds[i] >= 0) {
					close(fds[i]);
					fds[i] = -1;
				}
			return fd;
		}
		fds[i] = fd;
	}
	return 0;
}

int ps_hand_out(const uint16_t *list, size_t n, bool (*taken)(unsigned port, void *arg),
		int (*try_bind)(unsigned port, void *arg), void *arg, unsigned *port)
{
	int rc = -EADDRINUSE;

	for (size_t k = 0; k < n && rc == -EADDRINUSE; k++) {
		if (oci_port_reserved(list[k]) || taken(list[k], arg))
			continue;
		*port = list[k];
		rc = try_bind(list[k], arg);
	}
	return rc;
}
