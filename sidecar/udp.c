/* SPDX-License-Identifier: MIT */
/* The UDP data path: a flow per client address and port, in a hash table,
 * each with its own socket connected to the app inside the container. No
 * thread or process per flow. Replies leave from the address the client sent
 * to (IP_PKTINFO / IPV6_PKTINFO), so a client of a 0.0.0.0 listener that sent
 * to 127.0.0.5 hears back from 127.0.0.5.
 *
 * The flow table has a budget of its own, the policy's maxUdpFlows, apart
 * from TCP's maxConnections: a datagram is cheap to send from many ports, and
 * flows that took TCP's places would shut every TCP client out until they
 * idled out. Within it a client address (an IPv6 /64) holds at most
 * udpFlowsPerSource flows; its next is refused until one of them goes. When
 * the table is full a new flow takes the place of the one whose client was
 * heard from longest ago, rather than being refused: a table that anyone can
 * fill then shuts nobody out. And first of those whose client sent one
 * datagram only: a flood of first datagrams (a forged source sends no
 * second, unless the forger pays for it) then churns among its own flows,
 * and a client that came back, a conversation, keeps its flow; only a table
 * with no such flow gives up the conversation heard from longest ago. Flows
 * are kept in that order (most recently heard first, a list for each kind),
 * so that eviction and the sweep that closes flows idle for udpIdleTimeout
 * start from the oldest. What the app may send back is
 * bounded in bytes by what the client sent (udplimit.h).
 *
 * Both tables (flows, and the clients' addresses) hash with a key drawn at
 * start (getrandom, which confinement allows), over every bit of the
 * address and port, into as many buckets as half maxUdpFlows (a power of
 * two, at most SC_UDP_BUCKETS_MAX): chains stay short whatever ports and
 * addresses a client picks. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <seccomp.h>

#include "../oci/ports.h"
#include "sidecar.h"
#include "udplimit.h"

/* The system calls this file needs once the sidecar is confined: datagrams, their flows, and the address a client sent
 * to. confine.c allows the union of every file's list. */
const int sc_sys_udp[] = {
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg), SC_SYS_END,
};

#define STR_(x) #x
#define STR(x)	STR_(x)
#define REPLY_BUDGET                                                                                                   \
	"the app sent more than " STR(SC_UDP_REPLY_FACTOR) " times the bytes the client sent, plus at most " STR(      \
		SC_UDP_REPLY_ALLOWANCE) " a flow from the sidecar's shared allowance (the UDP reply budget)"

#define SC_UDP_BUCKETS_MIN 64
#define SC_UDP_BUCKETS_MAX (1u << 19) /* 4 MB of heads a table, for maxUdpFlows 1,000,000 */
#define DGRAMS_PER_EVENT   64	      /* fairness between forwards and flows */

/* The flows of one client address (udplimit.h's sc_udp_source), while it has any. */
struct source {
	struct sc_udp_source key;
	unsigned flows;
	struct source *hnext;
};

struct flow {
	struct sc_forward *fw;
	struct sockaddr_storage client;
	socklen_t clen;
	union {
		struct in_pktinfo v4;
		struct in6_pktinfo v6;
	} local; /* the address the client sent to */
	int local_family;
	int fd; /* connected to the app */
	uv_poll_t poll;
	uint64_t last;	    /* uv_now() of the client's last datagram */
	uint64_t credit;    /* reply bytes the app may still send (udplimit.h) */
	uint64_t allowance; /* of SC_UDP_REPLY_ALLOWANCE, what the bucket may still pay */
	struct source *src;
	struct flow *hnext;
	struct flow *prev, *next; /* in order of the client's last datagram, newest first */
	bool again;		  /* the client sent more than one datagram: in list 1 */
};

struct sc_udp {
	struct flow **buckets;
	struct source **sources;
	size_t mask; /* the number of buckets of each, less one */
	uint64_t key[2];
	struct sc_udp_bucket allowance; /* what every flow's allowance draws from */
	struct order {
		struct flow *newest, *oldest;
	} order[2]; /* flows whose client sent one datagram, and more */
	unsigned nflows;
	uv_timer_t sweep;
	unsigned char dgram[65536]; /* one datagram at a time: one thread */
};

static size_t hash(const struct sc_udp *u, const struct sc_forward *fw, const struct sockaddr_storage *a)
{
	struct {
		uintptr_t fw;
		uint32_t family, port;
		unsigned char addr[16];
	} k;

	memset(&k, 0, sizeof(k));
	k.fw = (uintptr_t)fw;
	k.family = a->ss_family;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)a;

		k.port = s->sin_port;
		memcpy(k.addr, &s->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *s = (const void *)a;

		k.port = s->sin6_port;
		memcpy(k.addr, &s->sin6_addr, 16);
	}
	return (size_t)sc_udp_hash(u->key, &k, sizeof(k)) & u->mask;
}

static size_t source_hash(const struct sc_udp *u, const struct sc_udp_source *k)
{
	return (size_t)sc_udp_hash(u->key, k, sizeof(*k)) & u->mask;
}

static struct source *source_find(struct sc_udp *u, const struct sc_udp_source *k)
{
	struct source *s = u->sources[source_hash(u, k)];

	while (s && !sc_udp_source_equal(&s->key, k))
		s = s->hnext;
	return s;
}

/* A source loses a flow; it goes with its last. */
static void source_put(struct sc_udp *u, struct source *s)
{
	struct source **pp = &u->sources[source_hash(u, &s->key)];

	if (--s->flows)
		return;
	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
	free(s);
}

/* Flows in the order of their clients' last datagrams, newest first. */
static void order_unlink(struct sc_udp *u, struct flow *f)
{
	struct order *o = &u->order[f->again];

	if (f->prev)
		f->prev->next = f->next;
	else
		o->newest = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		o->oldest = f->prev;
	f->prev = f->next = NULL;
}

static void order_push(struct sc_udp *u, struct flow *f)
{
	struct order *o = &u->order[f->again];

	f->prev = NULL;
	f->next = o->newest;
	if (o->newest)
		o->newest->prev = f;
	else
		o->oldest = f;
	o->newest = f;
}

static bool same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

static void on_flow_closed(uv_handle_t *h)
{
	struct flow *f = h->data;

	close(f->fd);
	free(f);
}

static void flow_close(struct sc_ctx *ctx, struct flow *f)
{
	struct sc_udp *u = ctx->udp;
	struct flow **pp = &u->buckets[hash(u, f->fw, &f->client)];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	order_unlink(u, f);
	source_put(u, f->src);
	f->fw->conns_live--;
	u->nflows--;
	uv_close((uv_handle_t *)&f->poll, on_flow_closed);
}

/* A reply from the app: back to the client, from the address it used. */
static void on_reply(uv_poll_t *p, int status, int events)
{
	struct flow *f = p->data;
	struct sc_ctx *ctx = f->fw->ctx;

	(void)events;
	for (int i = 0; i < DGRAMS_PER_EVENT && status == 0; i++) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		} cbuf;
		struct iovec iov;
		struct msghdr msg = {.msg_name = &f->client, .msg_namelen = f->clen, .msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recv(f->fd, ctx->udp->dgram, sizeof(ctx->udp->dgram), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* ECONNREFUSED: an ICMP port unreachable from the app's
			 * side; the next flow asks where the app listens now. */
			if (errno == ECONNREFUSED)
				sc_target_forget(f->fw);
			sc_log_limited("udp flow to local port %u: %s", f->fw->cfg.local_port, strerror(errno));
			flow_close(ctx, f);
			return;
		}
		if (!sc_udp_reply_pay(&f->credit, &f->allowance, &ctx->udp->allowance, uv_now(ctx->loop), (size_t)n,
				      f->client.ss_family)) {
			sc_log_refused("dropped", "reply datagram", f->fw->cfg.external_port, REPLY_BUDGET);
			continue;
		}
		iov.iov_base = ctx->udp->dgram;
		iov.iov_len = (size_t)n;
		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		if (f->local_family == AF_INET) {
			struct in_pktinfo pi = {.ipi_spec_dst = f->local.v4.ipi_addr};

			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
			struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		} else if (f->local_family == AF_INET6) {
			struct in6_pktinfo pi = {.ipi6_addr = f->local.v6.ipi6_addr};

			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
			struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = IPV6_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		} else {
			msg.msg_control = NULL;
		}
		/* A full send buffer drops the datagram, as UDP may. */
		if (sendmsg(f->fw->cfg.fd, &msg, MSG_DONTWAIT) == n)
			f->fw->bytes_out += (uint64_t)n;
	}
}

static struct flow *flow_open(struct sc_forward *fw, const struct sockaddr_storage *client, socklen_t clen,
			      const struct msghdr *msg)
{
	struct sc_ctx *ctx = fw->ctx;
	struct sc_udp *u = ctx->udp;
	struct sockaddr_storage ss;
	struct sc_udp_source key;
	struct source *src;
	socklen_t sl;
	struct flow *f;
	char why[256];

	/* A flow's first datagram is its accept: a client not allowed makes
	 * no flow and takes no share of the table. */
	if (!sc_allow_client(fw, client, "datagram"))
		return NULL;
	sc_udp_source_of(client, &key);
	src = source_find(u, &key);
	if (src && src->flows >= ctx->udp_per_source) {
		snprintf(why, sizeof(why), "its address holds %u flows already (policy udpFlowsPerSource)", src->flows);
		/* the flow budget's refusal: a full table evicts rather than refuses */
		sc_count_refused(fw, PS_REFUSED_MAX_CONNECTIONS);
		sc_log_refused("dropped", "datagram", fw->cfg.external_port, why);
		return NULL;
	}
	bool cached;

	int rc = sc_target(ctx, fw, &ss, &sl, &cached, why, sizeof(why));

	if (rc < 0) {
		sc_count_refused(fw,
				 rc == SC_TARGET_LOCALHOST_ONLY ? PS_REFUSED_LOCALHOST_ONLY : PS_REFUSED_NOT_LISTENING);
		sc_log_refused("dropped", "datagram", fw->cfg.external_port, why);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->fd = sc_netns_take(ctx, ss.ss_family, SOCK_DGRAM);
	if (f->fd < 0 || connect(f->fd, (struct sockaddr *)&ss, sl) < 0) {
		if (f->fd == -EMFILE || f->fd == -ENFILE)
			sc_count_refused(fw, PS_REFUSED_DESCRIPTORS);
		sc_log_limited("udp flow to local port %u: %s", fw->cfg.local_port,
			       strerror(f->fd < 0 ? -f->fd : errno));
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		return NULL;
	}
	/* The table is full: the flow heard from longest ago makes room. A
	 * policy never has fewer than one flow; the loop ends with the table. */
	while (u->nflows >= ctx->max_udp_flows) {
		struct flow *victim = u->order[0].oldest ? u->order[0].oldest : u->order[1].oldest;

		if (!victim)
			break;
		snprintf(why, sizeof(why), "%u flows already (policy maxUdpFlows); its client had been quiet longest%s",
			 u->nflows, victim->again ? "" : " and sent one datagram");
		sc_log_refused("evicted", "flow", victim->fw->cfg.external_port, why);
		flow_close(ctx, victim);
	}
	/* Looked up again: the flow that made room may have been its last. */
	if (!(src = source_find(u, &key))) {
		if (!(src = calloc(1, sizeof(*src)))) {
			close(f->fd);
			free(f);
			return NULL;
		}
		src->key = key;
		size_t sb = source_hash(u, &key);
		src->hnext = u->sources[sb];
		u->sources[sb] = src;
	}
	src->flows++;
	f->src = src;
	f->credit = 0;
	f->allowance = SC_UDP_REPLY_ALLOWANCE;
	f->fw = fw;
	memcpy(&f->client, client, clen);
	f->clen = clen;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			memcpy(&f->local.v4, CMSG_DATA(c), sizeof(f->local.v4));
			f->local_family = AF_INET;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			memcpy(&f->local.v6, CMSG_DATA(c), sizeof(f->local.v6));
			f->local_family = AF_INET6;
		}
	}
	uv_poll_init_socket(ctx->loop, &f->poll, f->fd);
	f->poll.data = f;
	uv_poll_start(&f->poll, UV_READABLE, on_reply);
	size_t b = hash(u, fw, client);
	f->hnext = u->buckets[b];
	u->buckets[b] = f;
	order_push(u, f);
	u->nflows++;
	fw->conns_live++;
	fw->conns_total++;
	return f;
}

/* A datagram from a client: to its flow, opened on first sight. */
static void on_dgram(uv_poll_t *p, int status, int events)
{
	struct sc_forward *fw = p->data;
	struct sc_ctx *ctx = fw->ctx;

	(void)events;
	for (int i = 0; i < DGRAMS_PER_EVENT && status == 0; i++) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
		} cbuf;
		struct sockaddr_storage client;
		struct iovec iov = {.iov_base = ctx->udp->dgram, .iov_len = sizeof(ctx->udp->dgram)};
		struct msghdr msg = {.msg_name = &client,
				     .msg_namelen = sizeof(client),
				     .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf)};
		struct flow *f;
		ssize_t n = recvmsg(fw->cfg.fd, &msg, MSG_DONTWAIT);

		if (n < 0)
			return; /* EAGAIN, or an error the next datagram will not have */
		for (f = ctx->udp->buckets[hash(ctx->udp, fw, &client)]; f; f = f->hnext)
			if (f->fw == fw && same_client(&f->client, &client))
				break;
		bool fresh = !f;

		if (!f && !(f = flow_open(fw, &client, msg.msg_namelen, &msg)))
			continue;
		if (send(f->fd, ctx->udp->dgram, (size_t)n, MSG_DONTWAIT) == n)
			fw->bytes_in += (uint64_t)n;
		f->last = uv_now(ctx->loop);
		sc_udp_credit_earn(&f->credit, (size_t)n, client.ss_family);
		if (!fresh && !f->again) {
			order_unlink(ctx->udp, f);
			f->again = true; /* to the other list */
			order_push(ctx->udp, f);
		} else if (f != ctx->udp->order[f->again].newest) {
			order_unlink(ctx->udp, f);
			order_push(ctx->udp, f);
		}
	}
}

static void on_sweep(uv_timer_t *t)
{
	struct sc_ctx *ctx = t->data;
	uint64_t now = uv_now(ctx->loop);

	/* Oldest first: the first flow heard from recently ends each list's sweep. */
	for (int k = 0; k < 2; k++)
		while (ctx->udp->order[k].oldest && now - ctx->udp->order[k].oldest->last >= ctx->udp_idle_ms)
			flow_close(ctx, ctx->udp->order[k].oldest);
}

/* The tables, sized to maxUdpFlows, their key and the idle sweep: made
 * with the first UDP forward, at start or added later. */
static int udp_alloc(struct sc_ctx *ctx)
{
	struct sc_udp *u = calloc(1, sizeof(*u));
	size_t nb = SC_UDP_BUCKETS_MIN;
	uint64_t every;

	if (!u)
		return UV_ENOMEM;
	while (nb < ctx->max_udp_flows / 2 && nb < SC_UDP_BUCKETS_MAX)
		nb *= 2;
	u->mask = nb - 1;
	u->buckets = calloc(nb, sizeof(*u->buckets));
	u->sources = calloc(nb, sizeof(*u->sources));
	if (!u->buckets || !u->sources) {
		free(u->buckets);
		free(u->sources);
		free(u);
		return UV_ENOMEM;
	}
	/* Without the kernel's randomness (a boot too young, say) the key is
	 * weaker but still not the client's to know: the clock's nanoseconds. */
	if (getrandom(u->key, sizeof(u->key), GRND_NONBLOCK) != (ssize_t)sizeof(u->key)) {
		u->key[0] = uv_hrtime() ^ 0x9e3779b97f4a7c15ull;
		u->key[1] = (uint64_t)(uintptr_t)u ^ ((uint64_t)getpid() << 32);
	}
	sc_udp_bucket_init(&u->allowance, uv_now(ctx->loop));
	ctx->udp = u;
	every = ctx->udp_idle_ms / 4;
	every = every < 100 ? 100 : every > 1000 ? 1000 : every;
	uv_timer_init(ctx->loop, &u->sweep);
	u->sweep.data = ctx;
	return uv_timer_start(&u->sweep, on_sweep, every, every);
}

int sc_udp_watch(struct sc_forward *fw)
{
	struct sc_ctx *ctx = fw->ctx;
	int rc, one = 1;

	if (ctx->stopping)
		return UV_ECANCELED;
	if (!ctx->udp && (rc = udp_alloc(ctx)) < 0)
		return rc;
	/* Learn which address each datagram was sent to. */
	if (fw->cfg.host_ip.family == AF_INET6)
		rc = setsockopt(fw->cfg.fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	else
		rc = setsockopt(fw->cfg.fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	if (rc < 0)
		return -errno;
	if ((rc = uv_poll_init_socket(ctx->loop, &fw->poll, fw->cfg.fd)) < 0)
		return rc;
	fw->poll_open = true;
	fw->poll.data = fw;
	if ((rc = uv_poll_start(&fw->poll, UV_READABLE, on_dgram)) < 0)
		return rc;
	fw->polling = true;
	return 0;
}

int sc_udp_start(struct sc_ctx *ctx)
{
	int rc;

	for (size_t i = 0; i < ctx->nfw; i++)
		if (ctx->fw[i]->cfg.proto == OCI_PROTO_UDP && (rc = sc_udp_watch(ctx->fw[i])) < 0)
			return rc;
	return 0;
}

void sc_udp_close_flows(struct sc_forward *fw)
{
	struct sc_ctx *ctx = fw->ctx;

	if (!ctx->udp)
		return;
	/* Every flow, at most maxUdpFlows: a live change, not a datagram's
	 * path, pays for the walk. */
	for (int k = 0; k < 2; k++) {
		for (struct flow *f = ctx->udp->order[k].newest, *next; f; f = next) {
			next = f->next;
			if (f->fw == fw)
				flow_close(ctx, f);
		}
	}
}

static void on_udp_freed(uv_handle_t *h)
{
	struct sc_ctx *ctx = h->data;

	free(ctx->udp->buckets);
	free(ctx->udp->sources);
	free(ctx->udp);
	ctx->udp = NULL;
}

void sc_udp_stop(struct sc_ctx *ctx)
{
	if (!ctx->udp)
		return;
	for (size_t i = 0; i < ctx->nfw; i++) {
		struct sc_forward *fw = ctx->fw[i];

		if (fw->cfg.proto == OCI_PROTO_UDP && fw->poll_open && !uv_is_closing((uv_handle_t *)&fw->poll))
			uv_close((uv_handle_t *)&fw->poll, sc_forward_closed);
	}
	for (int k = 0; k < 2; k++)
		while (ctx->udp->order[k].newest)
			flow_close(ctx, ctx->udp->order[k].newest);
	uv_close((uv_handle_t *)&ctx->udp->sweep, on_udp_freed);
}
