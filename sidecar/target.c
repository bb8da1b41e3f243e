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
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/if_addr.h>
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

/* The container's first non-loopback, non-link-local address of FAMILY,
 * asked of the route netlink socket that lives in its netns. */
static bool own_address(struct sc_ctx *ctx, int family, struct oci_ip *out)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req = {
		.nh = {.nlmsg_len = sizeof(req),
		       .nlmsg_type = RTM_GETADDR,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		       .nlmsg_seq = 2},
		.ifa = {.ifa_family = (uint8_t)family},
	};
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	long buf[8192 / sizeof(long)];
	bool found = false;

	if (sendto(ctx->route_fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return false;
	/* Read the whole dump even after a find: the next one must start clean. */
	for (int rounds = 0; rounds < 256; rounds++) {
		ssize_t len = recv(ctx->route_fd, buf, sizeof(buf), 0);

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return found;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			struct ifaddrmsg *ifa;
			int alen;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				return found;
			if (h->nlmsg_type != RTM_NEWADDR || found)
				continue;
			ifa = NLMSG_DATA(h);
			if (ifa->ifa_family != family || ifa->ifa_scope >= RT_SCOPE_LINK)
				continue; /* host (loopback) and link scope */
			alen = (int)IFA_PAYLOAD(h);
			for (struct rtattr *at = IFA_RTA(ifa); RTA_OK(at, alen); at = RTA_NEXT(at, alen)) {
				if (at->rta_type != IFA_ADDRESS && at->rta_type != IFA_LOCAL)
					continue;
				if (RTA_PAYLOAD(at) < (family == AF_INET ? 4u : 16u))
					continue;
				out->family = family;
				memset(out->a, 0, sizeof(out->a));
				memcpy(out->a, RTA_DATA(at), family == AF_INET ? 4 : 16);
				found = !oci_ip_is_loopback(out);
				if (found)
					break;
			}
		}
	}
	return found;
}

/* own_address, remembered for a second: a container's addresses change
 * rarely, and asking the kernel for them costs a netlink dump per
 * connection. What the app listens on is asked afresh every time. */
static bool own_address_cached(struct sc_ctx *ctx, int family, struct oci_ip *out)
{
	static struct {
		uint64_t at;
		bool valid, found;
		struct oci_ip ip;
	} cache[2];
	int k = family == AF_INET ? 0 : 1;
	uint64_t now = ctx->loop ? uv_now(ctx->loop) : 0;

	if (!cache[k].valid || now - cache[k].at >= 1000) {
		cache[k].found = own_address(ctx, family, &cache[k].ip);
		cache[k].at = now;
		cache[k].valid = ctx->loop != NULL;
	}
	*out = cache[k].ip;
	return cache[k].found;
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

		if (own_address_cached(ctx, fam, &own)) {
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
