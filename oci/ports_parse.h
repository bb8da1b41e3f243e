/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_PORTS_PARSE_H
#define PORTSIDE_OCI_PORTS_PARSE_H

/* Inside oci/: what the two spellings of io.portside.ports share while one
 * list of mappings is built. ports.c: the list, its builder and the compact
 * spelling; ports_json.c: the JSON spelling; ports_read.c, above both: the
 * entry point and the checks across entries. */

#include "ports.h"

#define ANN "io.portside.ports"

/* A list under construction, with the policy's limit on its length. */
struct builder {
	struct oci_ports *p;
	size_t cap;
	const struct oci_policy *pol;
	unsigned max;		/* the policy's maxPorts */
	bool too_many;		/* said once */
	unsigned allow_entries; /* of the mappings' own allow lists, at most OCI_ALLOW_ENTRIES_MAX */
	struct oci_err *e;
};

/* Reserves room for COUNT more mappings; refuses past the policy's maxPorts
 * before allocating anything, so a huge range costs nothing. */
int oci_builder_reserve(struct builder *b, size_t count);
int oci_builder_add(struct builder *b, const struct oci_mapping *m);

/* "tcp" or "udp", any case, LEN bytes of S. */
int oci_ports_parse_proto(const char *s, size_t n, uint8_t *proto);

/* M's visibility from its hostIP, GIVEN (NULL: not given) or POL's default;
 * a hostIP that says the opposite of GIVEN is an error prefixed PFX. */
int oci_ports_settle_visibility(struct oci_mapping *m, const struct oci_policy *pol, const enum oci_visibility *given,
				const char *pfx, struct oci_err *e);

/* M's allow list from the JSON value V (NULL: not given, the policy's
 * allowFrom), checked against the policy's: errors prefixed PFX. */
int oci_ports_settle_allow(struct builder *b, struct oci_mapping *m, struct json_object *v, const char *pfx);

/* The compact spelling (ports.c): [HOSTIP:]EXTERNAL:LOCAL[/PROTO], ranges. */
void oci_ports_parse_compact(struct builder *b, const char *v, size_t len);

/* The JSON spelling (ports_json.c): an array of objects, each a mapping. */
void oci_ports_parse_json(struct builder *b, const char *v, size_t len);

#endif
