/* SPDX-License-Identifier: MIT */
/* What the kernel says of the container's netns, through the netlink sockets
 * the socket factory made there: its listening sockets (sock_diag) and its
 * own addresses (route netlink).
 *
 * A dump is trusted only as far as it can be: every message must come from
 * the kernel (port id 0; with CAP_NET_ADMIN in its user namespace a process in
 * the container could otherwise send to these sockets) and carry this
 * request's sequence number. A dump that ends early (an error, the round
 * bound) is drained at once, and any stray message with another sequence
 * number is skipped, so one answer never mixes with the next. */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "../oci/ports.h"
#include "sidecar.h"

#define DUMP_ROUNDS 256 /* reads per dump: past this the answer is cut, not waited for */

static uint32_t next_seq(void)
{
	static uint32_t seq;

	return ++seq ? seq : ++seq;
}

/* Reads what a dump cut short left behind, without waiting: reading on is
 * what makes the kernel produce the rest, so this ends it. */
static void drain(int fd)
{
	long buf[1024 / sizeof(long)];

	for (int i = 0; i < DUMP_ROUNDS * 4; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) < 0 && errno != EINTR)
			return;
}

/* Sends REQ (LEN bytes, its header's sequence set here) and calls EACH for
 * every message of the answer until NLMSG_DONE. EACH returns 0 to go on.
 * Returns 0, -EIO on an error message or a cut answer, or -errno. */
static int dump(int fd, struct nlmsghdr *req, size_t len, int (*each)(const struct nlmsghdr *h, void *arg), void *arg)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	long buf[8192 / sizeof(long)];
	uint32_t seq = next_seq();

	req->nlmsg_seq = seq;
	if (sendto(fd, req, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (int rounds = 0; rounds < DUMP_ROUNDS; rounds++) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;

			drain(fd);
			return rc;
		}
		if (fl < sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue; /* not the kernel */
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue; /* a stale answer */
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				drain(fd);
				return -EIO;
			}
			if (each(h, arg) < 0) {
				drain(fd);
				return -EIO;
			}
		}
	}
	drain(fd);
	return -EIO;
}

struct listeners_arg {
	int family;
	unsigned proto, port;
	struct ps_listener *out;
	size_t max, *n;
};

static int on_listener(const struct nlmsghdr *h, void *arg)
{
	struct listeners_arg *a = arg;
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	struct ps_listener *l;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->idiag_family != a->family)
		return 0;
	if ((a->port && ntohs(m->id.idiag_sport) != a->port) || *a->n >= a->max)
		return 0;
	l = &a->out[(*a->n)++];
	memset(l, 0, sizeof(*l));
	l->port = ntohs(m->id.idiag_sport);
	l->proto = (uint8_t)a->proto;
	l->ip.family = a->family;
	memcpy(l->ip.a, m->id.idiag_src, a->family == AF_INET ? 4 : 16);
	if (a->family == AF_INET6) {
		/* The kernel reports V6ONLY for every IPv6 socket. */
		int alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));

		for (struct rtattr *at = (struct rtattr *)(m + 1); RTA_OK(at, alen); at = RTA_NEXT(at, alen))
			if (at->rta_type == INET_DIAG_SKV6ONLY && RTA_PAYLOAD(at) >= 1)
				l->dual = *(uint8_t *)RTA_DATA(at) == 0;
		/* [::ffff:127.0.0.1] takes exactly what 127.0.0.1 takes. */
		if (oci_ip_is_v4mapped(&l->ip)) {
			l->ip = oci_ip_unmapped(&l->ip);
			l->mapped = true;
			l->dual = false;
		}
	}
	return 0;
}

/* Appends the listeners of FAMILY and PROTO on PORT (0: every port) to OUT. */
static int dump_family(int fd, int family, unsigned proto, unsigned port, struct ps_listener *out, size_t max,
		       size_t *n)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {
		.nh = {.nlmsg_len = sizeof(req),
		       .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
		/* The kernel filters listeners by source port in a dump. */
		.r = {.sdiag_family = (uint8_t)family,
		      .sdiag_protocol = proto == OCI_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP,
		      /* a UDP server socket is bound and unconnected: TCP_CLOSE */
		      .idiag_states = proto == OCI_PROTO_UDP ? 1u << TCP_CLOSE : 1u << TCP_LISTEN,
		      .id = {.idiag_sport = htons((uint16_t)port)}},
	};
	struct listeners_arg a = {family, proto, port, out, max, n};

	return dump(fd, &req.nh, sizeof(req), on_listener, &a);
}

int sc_listeners(struct sc_ctx *ctx, unsigned proto, unsigned port, struct ps_listener *out, size_t max, size_t *n)
{
	int rc;

	*n = 0;
	if ((rc = dump_family(ctx->diag_fd, AF_INET, proto, port, out, max, n)) < 0)
		return rc;
	return dump_family(ctx->diag_fd, AF_INET6, proto, port, out, max, n);
}

struct addr_arg {
	int family;
	struct oci_ip *out;
	bool found;
};

static int on_addr(const struct nlmsghdr *h, void *arg)
{
	struct addr_arg *a = arg;
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	int alen;

	if (h->nlmsg_type != RTM_NEWADDR || a->found || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
		return 0;
	if (ifa->ifa_family != a->family || ifa->ifa_scope >= RT_SCOPE_LINK)
		return 0; /* host (loopback) and link scope */
	alen = (int)IFA_PAYLOAD(h);
	for (struct rtattr *at = IFA_RTA(ifa); RTA_OK(at, alen); at = RTA_NEXT(at, alen)) {
		if (at->rta_type != IFA_ADDRESS && at->rta_type != IFA_LOCAL)
			continue;
		if (RTA_PAYLOAD(at) < (a->family == AF_INET ? 4u : 16u))
			continue;
		a->out->family = a->family;
		memset(a->out->a, 0, sizeof(a->out->a));
		memcpy(a->out->a, RTA_DATA(at), a->family == AF_INET ? 4 : 16);
		/* Read the rest of the dump even after a find (dump() does). */
		if ((a->found = !oci_ip_is_loopback(a->out) && !oci_ip_is_any(a->out)))
			break;
	}
	return 0;
}

bool sc_own_address(struct sc_ctx *ctx, int family, struct oci_ip *out)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req = {
		.nh = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETADDR, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
		.ifa = {.ifa_family = (uint8_t)family},
	};
	struct addr_arg a = {family, out, false};

	return dump(ctx->route_fd, &req.nh, sizeof(req), on_addr, &a) == 0 && a.found;
}
