/* SPDX-License-Identifier: MIT */
/* Where a forwarded connection goes inside the container.
 *
 * The app must not see forwarded traffic as local when exposeLocalhost is
 * off: an app that trusts 127.0.0.1 would trust the whole outside
 * (CVE-2021-20199, podman's rootlessport). So the sidecar looks up, with
 * sock_diag, where the app listens on the port, and dials:
 *  - the container's own non-loopback address when the app listens on every
 *    address and the container has one;
 *  - 127.0.0.1 / ::1 when the netns has nothing but loopback, or when
 *    exposeLocalhost is on;
 *  - nothing when the app listens on loopback only and exposeLocalhost is off:
 *    the client is refused and the log says why. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../oci/addr.h"
#include "../oci/ports.h"
#include "sidecar.h"

#define MAX_BOUND 16

int sc_diag_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return fd < 0 ? -errno : fd;
}

/* Appends the TCP listeners of FAMILY on PORT (0: every port) to OUT, at most
 * MAX in all. */
static int dump_family(int fd, int family, unsigned proto, unsigned port, struct sc_listener *out, size_t max,
		       size_t *n)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {
		.nh = {.nlmsg_len = sizeof(req),
		       .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		       .nlmsg_seq = 1},
		/* The kernel filters listeners by source port in a dump. */
		.r = {.sdiag_family = (uint8_t)family,
		      .sdiag_protocol = proto == OCI_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP,
		      /* a UDP server socket is bound and unconnected: TCP_CLOSE */
		      .idiag_states = proto == OCI_PROTO_UDP ? 1u << TCP_CLOSE : 1u << TCP_LISTEN,
		      .id = {.idiag_sport = htons((uint16_t)port)}},
	};
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	long buf[8192 / sizeof(long)];

	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	/* Bounded: past this many reads the answer is cut, not waited for. */
	for (int rounds = 0; rounds < 256; rounds++) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			struct inet_diag_msg *m;
			struct sc_listener *l;

			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -EIO;
			m = NLMSG_DATA(h);
			if ((port && ntohs(m->id.idiag_sport) != port) || *n >= max)
				continue;
			l = &out[(*n)++];
			memset(l, 0, sizeof(*l));
			l->port = ntohs(m->id.idiag_sport);
			l->ip.family = family;
			memcpy(l->ip.a, m->id.idiag_src, family == AF_INET ? 4 : 16);
			if (family == AF_INET6) {
				/* The kernel reports V6ONLY for every IPv6 socket. */
				int alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));

				for (struct rtattr *at = (struct rtattr *)(m + 1); RTA_OK(at, alen);
				     at = RTA_NEXT(at, alen))
					if (at->rta_type == INET_DIAG_SKV6ONLY && RTA_PAYLOAD(at) >= 1)
						l->dual = *(uint8_t *)RTA_DATA(at) == 0;
			}
		}
	}
	return 0;
}

int sc_listeners(struct sc_ctx *ctx, unsigned proto, unsigned port, struct sc_listener *out, size_t max, size_t *n)
{
	int rc;

	*n = 0;
	if ((rc = dump_family(ctx->diag_fd, AF_INET, proto, port, out, max, n)) < 0)
		return rc;
	return dump_family(ctx->diag_fd, AF_INET6, proto, port, out, max, n);
}

/* The container's first non-loopback, non-link-local address of FAMILY. */
static bool own_address(int family, struct oci_ip *out)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		struct oci_ip ip = {.family = family};

		if (!i->ifa_addr || i->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET)
			memcpy(ip.a, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		else
			memcpy(ip.a, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		if (oci_ip_is_loopback(&ip) || (family == AF_INET6 && ip.a[0] == 0xfe && (ip.a[1] & 0xc0) == 0x80))
			continue;
		*out = ip;
		found = true;
	}
	freeifaddrs(ifa);
	return found;
}

static void fill(const struct oci_ip *ip, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		memcpy(&s->sin_addr, ip->a, 4);
		*len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		memcpy(&s->sin6_addr, ip->a, 16);
		*len = sizeof(*s);
	}
}

int sc_target(struct sc_ctx *ctx, const struct sc_forward *fw, struct sockaddr_storage *ss, socklen_t *len, char *why,
	      size_t whylen)
{
	struct sc_listener bound[MAX_BOUND];
	struct oci_ip pick = {0}, own;
	unsigned port = fw->cfg.local_port;
	size_t n = 0;
	bool any4 = false, any6 = false, lo4 = false, lo6 = false;
	const struct oci_ip *specific = NULL;
	int rc;

	if ((rc = sc_listeners(ctx, fw->cfg.proto, port, bound, MAX_BOUND, &n)) < 0) {
		if (fw->cfg.proto != OCI_PROTO_UDP) {
			snprintf(why, whylen, "cannot query the container's listeners: %s", strerror(-rc));
			return -ECONNREFUSED;
		}
		/* A kernel without UDP sock_diag: assume the app takes every
		 * address, and let the kernel refuse what it does not. */
		memset(bound, 0, sizeof(bound[0]));
		bound[0].ip.family = AF_INET;
		n = 1;
	}
	if (n == 0) {
		snprintf(why, whylen, "nothing listens on port %u%s in the container", port,
			 fw->cfg.proto == OCI_PROTO_UDP ? "/udp" : "");
		return -ECONNREFUSED;
	}
	for (size_t i = 0; i < n; i++) {
		bool v4 = bound[i].ip.family == AF_INET;

		if (oci_ip_is_any(&bound[i].ip)) {
			*(v4 ? &any4 : &any6) = true;
			any4 |= bound[i].dual; /* [::] without V6ONLY takes IPv4 too */
		} else if (oci_ip_is_loopback(&bound[i].ip)) {
			*(v4 ? &lo4 : &lo6) = true;
		} else if (!specific) {
			specific = &bound[i].ip;
		}
	}

	if (fw->cfg.expose_localhost && (any4 || lo4 || any6 || lo6)) {
		/* :: without V6ONLY takes IPv4 too, but only a v6 listener is sure. */
		pick.family = any4 || lo4 ? AF_INET : AF_INET6;
		if (pick.family == AF_INET)
			pick.a[0] = 127, pick.a[3] = 1;
		else
			pick.a[15] = 1;
	} else if (any4 || any6) {
		int fam = any4 ? AF_INET : AF_INET6;

		if (own_address(fam, &own)) {
			pick = own;
		} else {
			/* Loopback is the only way in; the app listens everywhere,
			 * so it accepts the outside anyway. */
			pick.family = fam;
			if (fam == AF_INET)
				pick.a[0] = 127, pick.a[3] = 1;
			else
				pick.a[15] = 1;
		}
	} else if (specific) {
		pick = *specific;
	} else {
		char a[OCI_IP_LEN];

		oci_ip_format(&bound[0].ip, a);
		snprintf(why, whylen,
			 "the app listens on %s%s%s:%u only (localhost): bind it to 0.0.0.0 or set exposeLocalhost",
			 bound[0].ip.family == AF_INET6 ? "[" : "", a, bound[0].ip.family == AF_INET6 ? "]" : "", port);
		return -ECONNREFUSED;
	}
	fill(&pick, port, ss, len);
	return 0;
}
