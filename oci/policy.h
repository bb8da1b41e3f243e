/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_POLICY_H
#define PORTSIDE_OCI_POLICY_H

/* The host policy, /etc/portside/policy.json: what the host's administrator
 * allows. Every field is optional and has a default. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "allow.h"
#include "../base/err.h"

#define OCI_POLICY_PATH	       "/etc/portside/policy.json"
#define OCI_POLICY_MAX_BYTES   (64 * 1024)
#define OCI_POLICY_MAX_HOSTIPS 8
#define OCI_PORTS_HARD_MAX     4096 /* no policy may allow more ports per container */
/* maxAutoforwards' default: a few dev servers, and never the whole of the
 * default autoforwardPorts (14), which other containers share. */
#define OCI_AUTOFORWARDS_DEFAULT 4
/* udpFlowsPerSource's default: a client address (an IPv6 /64) may hold this
 * many UDP flows at once. Enough for a NAT gateway's or a resolver's handful
 * of ports; a sixteenth of the default table, so that one address never
 * holds more than that share of it. */
#define OCI_UDP_PER_SOURCE_DEFAULT 64

enum oci_autoforward {
	OCI_AUTOFORWARD_PUBLIC = 0, /* ports opened on 0.0.0.0 / :: (the default) */
	OCI_AUTOFORWARD_ALL,	    /* localhost-only ports too */
	OCI_AUTOFORWARD_NEVER,	    /* only the explicit list */
};

/* Who may reach a mapping's external port. */
enum oci_visibility {
	OCI_VISIBILITY_PUBLIC = 0, /* every address the policy binds (the default) */
	OCI_VISIBILITY_PRIVATE,	   /* this host only: loopback addresses */
};

struct oci_policy {
	/* externalPorts: explicit mappings may use only these. */
	bool external_restricted;
	uint8_t external_allowed[65536 / 8]; /* bitmap, valid when restricted */

	/* autoforwardPorts: the hand-out order for automatically exposed ports. */
	uint16_t autoforward_ports[1024];
	size_t n_autoforward_ports;

	enum oci_autoforward autoforward; /* mode where a container names none */

	/* visibility: for mappings that name none, and for automatic forwards. */
	enum oci_visibility visibility;

	/* hostIP: where external ports bind; none = 0.0.0.0 and ::. */
	struct oci_ip host_ips[OCI_POLICY_MAX_HOSTIPS];
	size_t n_host_ips;

	/* addressPool: each container gets its own host-side address from it. */
	bool has_pool;
	struct oci_ip pool;
	unsigned pool_prefix;

	/* allowFrom: who may connect to any mapping and automatic forward
	 * (n 0: everyone); a mapping's allow may only narrow it. */
	struct oci_allow allow_from;

	unsigned max_ports;	   /* mappings per container */
	unsigned max_autoforwards; /* local ports forwarded automatically at once, per container */
	unsigned max_connections;  /* live TCP connections per container */
	unsigned udp_idle_timeout; /* seconds */
	unsigned max_udp_flows;	   /* live UDP flows per container, apart from TCP */
	unsigned udp_per_source;   /* of them, per client address (IPv6: per /64) */
};

/* maxUdpFlows where the policy names none: a quarter of MAX_CONNECTIONS, at
 * least 1. UDP flows have a table of their own (one datagram from each of N
 * ports must not shut TCP clients out), and a flow costs one descriptor where
 * a connection costs two: an administrator who sized maxConnections for the
 * host gets an eighth more descriptors for UDP, not a second budget as large,
 * and a container made small with maxConnections stays small. */
unsigned oci_policy_udp_flows_default(unsigned max_connections);

/* A new policy holding every default. NULL on out-of-memory. */
struct oci_policy *oci_policy_new(void);
void oci_policy_free(struct oci_policy *p);

/* Decodes a policy document. Unknown fields and wrong types are errors naming the
 * field; every problem is reported. On success *OUT is a new policy. */
int oci_policy_parse(const char *buf, size_t len, struct oci_policy **out, struct oci_err *e);

/* Loads PATH. A missing file is not an error when MISSING_OK (the policy is
 * optional): *OUT then holds the defaults. Messages are prefixed with PATH. */
int oci_policy_load(const char *path, bool missing_ok, struct oci_policy **out, struct oci_err *e);

/* True when an explicit mapping may use external PORT (reserved ports never). */
bool oci_policy_external_allowed(const struct oci_policy *p, unsigned port);

/* True when an explicit mapping may bind host address IP. With a hostIP list,
 * IP must be one of its addresses, or of the family of a 0.0.0.0 / :: in it;
 * with an addressPool, IP may also lie in the pool (the hook then requires it
 * to be the container's own pool address); with neither, the default binds
 * every address, so any address only narrows it. An annotation can never
 * widen what the policy binds. */
bool oci_policy_host_allowed(const struct oci_policy *p, const struct oci_ip *ip);

/* True when IP lies in the policy's addressPool network. */
bool oci_policy_in_pool(const struct oci_policy *p, const struct oci_ip *ip);

/* Parses "public", "all" or "never". */
int oci_autoforward_parse(const char *s, enum oci_autoforward *out);
const char *oci_autoforward_name(enum oci_autoforward a);

/* Parses "public" or "private". */
int oci_visibility_parse(const char *s, enum oci_visibility *out);
const char *oci_visibility_name(enum oci_visibility v);

/* True for the ports no spelling and no policy can forward: 22 and 8283. */
bool oci_port_reserved(unsigned port);

/* Why PORT is reserved, for messages. */
const char *oci_port_reserved_why(unsigned port);

#endif
