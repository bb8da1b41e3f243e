/* SPDX-License-Identifier: MIT */
/* io.portside.ports in its JSON spelling: an array of objects with localPort,
 * externalPort, protocol, hostIP, exposeLocalhost, proxyProtocol, label,
 * visibility and allow (and their aliases), every field type-checked and bounded. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "input.h"
#include "ports_parse.h"

/* ---- JSON spelling: the [[ports]] table ---- */

static int entry_bool(json_object *v, const char *pfx, const char *field, bool *out, struct oci_err *e)
{
	if (!json_object_is_type(v, json_type_boolean))
		return oci_err_add(e, EINVAL, "%s: %s must be true or false, not %s", pfx, field,
				   oci_json_type_name(v));
	*out = json_object_get_boolean(v);
	return 0;
}

/* Takes one of two alias fields; naming both is ambiguous. */
static json_object *alias(json_object *a, json_object *b, const char *pfx, const char *na, const char *nb, int *bad,
			  struct oci_err *e)
{
	if (a && b) {
		oci_err_add(e, EINVAL, "%s: both %s and its alias %s are given", pfx, na, nb);
		*bad = 1;
		return NULL;
	}
	return a ? a : b;
}

int oci_ports_settle_allow(struct builder *b, struct oci_mapping *m, json_object *v, const char *pfx)
{
	const struct oci_allow *from = &b->pol->allow_from;
	char what[96], net[OCI_NET_LEN], pol[160];
	size_t bad;

	m->allow = *from;
	if (!v)
		return 0;
	snprintf(what, sizeof(what), "%s: allow", pfx);
	if (oci_allow_parse_json(v, what, &m->allow, b->e) < 0)
		return -EINVAL;
	if (b->allow_entries + m->allow.n > OCI_ALLOW_ENTRIES_MAX)
		return oci_err_add(b->e, E2BIG, ANN ": more than %d networks in allow lists in all",
				   OCI_ALLOW_ENTRIES_MAX);
	b->allow_entries += m->allow.n;
	/* Like hostIP: a container may narrow what the host allows, never widen it. */
	if (!oci_allow_within(&m->allow, from, &bad)) {
		oci_net_format(&m->allow.v[bad], net);
		oci_allow_format(from, pol, sizeof(pol));
		return oci_err_add(b->e, EPERM, "%s: allow network %s is not within the host policy's allowFrom (%s)",
				   pfx, net, pol);
	}
	return 0;
}

static void parse_json_entry(struct builder *b, unsigned idx, json_object *obj)
{
	struct oci_err *e = b->e;
	struct oci_mapping m = {.entry = idx, .proto = OCI_PROTO_TCP};
	json_object *local = NULL, *cport = NULL, *ext = NULL, *hport = NULL, *expose = NULL, *hostip = NULL,
		    *allow = NULL;
	enum oci_visibility vis, *given = NULL;
	unsigned before = e->count, port;
	char pfx[64], what[96];
	int bad = 0;

	snprintf(pfx, sizeof(pfx), ANN " entry %u", idx);
	if (!json_object_is_type(obj, json_type_object)) {
		oci_err_add(e, EINVAL, "%s must be an object, not %s", pfx, oci_json_type_name(obj));
		return;
	}
	json_object_object_foreach (obj, key, val) {
		if (!strcmp(key, "localPort"))
			local = val;
		else if (!strcmp(key, "containerPort"))
			cport = val;
		else if (!strcmp(key, "externalPort"))
			ext = val;
		else if (!strcmp(key, "hostPort"))
			hport = val;
		else if (!strcmp(key, "expose"))
			expose = val;
		else if (!strcmp(key, "hostIP"))
			hostip = val;
		else if (!strcmp(key, "allow"))
			allow = val;
		else if (!strcmp(key, "exposeLocalhost"))
			entry_bool(val, pfx, key, &m.expose_localhost, e);
		else if (!strcmp(key, "proxyProtocol"))
			entry_bool(val, pfx, key, &m.proxy_protocol, e);
		else if (!strcmp(key, "label")) {
			if (!json_object_is_type(val, json_type_string))
				oci_err_add(e, EINVAL, "%s: label must be a string, not %s", pfx,
					    oci_json_type_name(val));
			else if (!oci_label_valid(json_object_get_string(val), (size_t)json_object_get_string_len(val)))
				oci_err_add(e, EINVAL,
					    "%s: label must be 1-%d characters: ASCII letters, digits, space and ._-:/",
					    pfx, OCI_LABEL_MAX_LEN);
			else
				snprintf(m.label, sizeof(m.label), "%s", json_object_get_string(val));
		} else if (!strcmp(key, "visibility")) {
			if (!json_object_is_type(val, json_type_string) ||
			    oci_visibility_parse(json_object_get_string(val), &vis) < 0)
				oci_err_add(e, EINVAL, "%s: visibility must be \"public\" or \"private\"", pfx);
			else
				given = &vis;
		} else if (!strcmp(key, "protocol")) {
			if (!json_object_is_type(val, json_type_string) ||
			    oci_ports_parse_proto(json_object_get_string(val), (size_t)json_object_get_string_len(val),
						  &m.proto) < 0)
				oci_err_add(e, EINVAL, "%s: protocol must be \"tcp\" or \"udp\"", pfx);
		} else
			oci_err_add(e, EINVAL, "%s: unknown field '%.48s'", pfx, key);
	}
	local = alias(local, cport, pfx, "localPort", "containerPort", &bad, e);
	ext = alias(ext, hport, pfx, "externalPort", "hostPort", &bad, e);
	if (bad)
		return;

	if (!local) {
		oci_err_add(e, EINVAL, "%s: localPort is missing", pfx);
	} else {
		snprintf(what, sizeof(what), "%s: localPort", pfx);
		if (oci_json_port(local, what, &port, e) == 0) {
			if (oci_port_reserved(port))
				oci_err_add(e, EACCES, "%s: %s", pfx, oci_port_reserved_why(port));
			m.local_port = (uint16_t)port;
		}
	}
	if (ext) {
		snprintf(what, sizeof(what), "%s: externalPort", pfx);
		if (oci_json_port(ext, what, &port, e) == 0) {
			if (oci_port_reserved(port))
				oci_err_add(e, EACCES, "%s: %s", pfx, oci_port_reserved_why(port));
			m.external_port = (uint16_t)port;
		}
	}
	m.expose = ext != NULL;
	if (expose && entry_bool(expose, pfx, "expose", &m.expose, e) == 0 && ext && !m.expose)
		oci_err_add(e, EINVAL, "%s: expose is false but externalPort is set", pfx);
	if (hostip) {
		if (!json_object_is_type(hostip, json_type_string) ||
		    oci_ip_parse(json_object_get_string(hostip), &m.host_ip) < 0)
			oci_err_add(e, EINVAL, "%s: hostIP must be an IPv4 or IPv6 address", pfx);
		else if (!m.expose)
			oci_err_add(
				e, EINVAL,
				"%s: hostIP is set but the port is not exposed (add externalPort or \"expose\": true)",
				pfx);
	}
	if (e->count == before) /* a bad hostIP says enough */
		oci_ports_settle_visibility(&m, b->pol, given, pfx, e);
	if (allow && !m.expose)
		oci_err_add(e, EINVAL, "%s: allow is set but the port is not exposed", pfx);
	else if (e->count == before)
		oci_ports_settle_allow(b, &m, allow, pfx);
	if (e->count == before)
		oci_builder_add(b, &m);
}

void oci_ports_parse_json(struct builder *b, const char *v, size_t len)
{
	cleanup_json json_object *root = NULL;
	size_t n;

	if (oci_json_decode(v, len, ANN, &root, b->e) < 0)
		return;
	if (!json_object_is_type(root, json_type_array)) {
		oci_err_add(b->e, EINVAL, ANN " must be a JSON array of port objects");
		return;
	}
	n = json_object_array_length(root);
	if (n > OCI_PORTS_HARD_MAX) {
		oci_err_add(b->e, E2BIG, ANN ": more than %d entries", OCI_PORTS_HARD_MAX);
		return;
	}
	for (size_t i = 0; i < n && !b->too_many; i++)
		parse_json_entry(b, (unsigned)i + 1, json_object_array_get_idx(root, i));
}
