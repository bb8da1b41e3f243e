/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_PORTS_H
#define PORTSIDE_OCI_PORTS_H

/* The io.portside.ports annotation in both spellings, normalised into one list
 * of mappings and validated against the host policy. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "../base/err.h"
#include "policy.h"

#define OCI_PORTS_MAX_LEN 16384 /* bytes of one annotation value */
#define OCI_ENTRY_MAX_LEN 128	/* bytes of one compact entry */
#define OCI_LABEL_MAX_LEN 32	/* bytes of a mapping's label */

enum oci_proto { OCI_PROTO_TCP = 0, OCI_PROTO_UDP = 1 };

struct oci_mapping {
	unsigned entry;		/* 1-based entry of the annotation it came from */
	uint16_t local_port;	/* the port inside the container */
	uint16_t external_port; /* host side; 0 with expose: handed out at start */
	uint8_t proto;		/* enum oci_proto */
	bool expose;		/* false: a known port that is never exposed */
	bool expose_localhost;	/* reachable even if the app binds 127.0.0.1/::1 */
	bool proxy_protocol;	/* send a PROXY v2 header to the app */
	struct oci_ip host_ip;	/* family 0: the policy's hostIP */
	uint8_t visibility;	/* enum oci_visibility, settled at parse time */
	/* Who may connect: the mapping's allow, else the policy's allowFrom
	 * (n 0: everyone). Settled at parse time, never wider than allowFrom. */
	struct oci_allow allow;

	/* "" when none, else valid per oci_label_valid */
	char label[OCI_LABEL_MAX_LEN + 1];
};

struct oci_ports {
	size_t n;
	struct oci_mapping *v;
};

/* Parses VALUE (LEN bytes, either spelling: JSON when it starts with '[' then
 * '{' or ']', else compact) and validates it against POL. Every problem is one
 * line in E naming the annotation, the entry and the reason. On success *OUT is
 * a new list (possibly empty) the caller frees with oci_ports_free. */
int oci_ports_parse(const char *value, size_t len, const struct oci_policy *pol, struct oci_ports **out,
		    struct oci_err *e);

void oci_ports_free(struct oci_ports *p);

const char *oci_proto_name(unsigned proto);
/* The other way, exactly as oci_proto_name spells it (portside's own files
 * and replies; the annotation's parser takes any case): 0 or -EINVAL. */
int oci_proto_parse(const char *s, uint8_t *proto);

/* True when S (LEN bytes) may be a label: 1..OCI_LABEL_MAX_LEN bytes of ASCII
 * letters, digits, space and "._-:/". Labels reach terminals and logs, so
 * nothing else (no control bytes, no quotes, no UTF-8) gets through. */
bool oci_label_valid(const char *s, size_t len);

/* True when listeners on host addresses A and B (family 0: "not given",
 * every address) would take the same port: the same address, or one of
 * them the family's any address. */
bool oci_hosts_overlap(const struct oci_ip *a, const struct oci_ip *b);

/* The first mapping that is exposed, or NULL. */
const struct oci_mapping *oci_ports_first_exposed(const struct oci_ports *p);

#endif
