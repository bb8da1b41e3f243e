/* SPDX-License-Identifier: MIT */
/* oci_ports_parse, above both spellings: which one a value is, the checks
 * across its entries (a host port mapped twice), and the list handed out. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ports_parse.h"

/* ---- checks across entries ---- */

/* Two host-side listeners collide when their protocol and port match and their
 * addresses overlap: "not given" binds every address, 0.0.0.0 every IPv4 one,
 * :: every IPv6 one. */
bool oci_hosts_overlap(const struct oci_ip *a, const struct oci_ip *b)
{
	if (!a->family || !b->family)
		return true;
	if (a->family != b->family)
		return false;
	return oci_ip_is_any(a) || oci_ip_is_any(b) || oci_ip_equal(a, b);
}

static void check_across(const struct oci_ports *p, const struct oci_policy *pol, struct oci_err *e)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct oci_mapping *a = &p->v[i];

		if (a->expose && a->external_port && !oci_policy_external_allowed(pol, a->external_port))
			oci_err_add(e, EPERM,
				    ANN " entry %u: external port %u is not allowed by the host policy (externalPorts)",
				    a->entry, a->external_port);
		if (a->expose && !oci_policy_host_allowed(pol, &a->host_ip)) {
			char ip[OCI_IP_LEN];

			oci_ip_format(&a->host_ip, ip);
			oci_err_add(e, EPERM, ANN " entry %u: host address %s is not allowed by the host policy (%s)",
				    a->entry, ip,
				    oci_ip_is_v4mapped(&a->host_ip) ? "write an IPv4-mapped address as IPv4"
				    : pol->has_pool && !pol->n_host_ips
					    ? "addressPool gives each container its own address: leave hostIP out"
					    : "hostIP");
		}
		for (size_t j = 0; j < i; j++) {
			const struct oci_mapping *o = &p->v[j];

			if (a->proto != o->proto)
				continue;
			if (a->expose && o->expose && a->external_port && a->external_port == o->external_port &&
			    oci_hosts_overlap(&a->host_ip, &o->host_ip)) {
				oci_err_add(e, EINVAL, ANN " entries %u and %u: external port %u/%s is mapped twice",
					    o->entry, a->entry, a->external_port, oci_proto_name(a->proto));
				break;
			}
			if (a->local_port == o->local_port && a->expose != o->expose) {
				oci_err_add(e, EINVAL,
					    ANN " entries %u and %u: local port %u/%s is both unexposed and exposed",
					    o->entry, a->entry, a->local_port, oci_proto_name(a->proto));
				break;
			}
			if (a->local_port == o->local_port && (!a->expose || !a->external_port) &&
			    (!o->expose || !o->external_port)) {
				oci_err_add(e, EINVAL, ANN " entries %u and %u: local port %u/%s is listed twice",
					    o->entry, a->entry, a->local_port, oci_proto_name(a->proto));
				break;
			}
		}
	}
}

/* JSON when the value opens an array. A compact value may also start with '['
 * for a bracketed IPv6 host address, and that bracket is always closed by "]:". */
static bool looks_json(const char *v, size_t len)
{
	const char *close;
	size_t i = 0;

	while (i < len && isspace((unsigned char)v[i]))
		i++;
	if (i == len || v[i] != '[' || (i + 1 < len && v[i + 1] == ':'))
		return false; /* "[::1]:..." cannot be JSON */
	close = memchr(v + i, ']', len - i);
	return !close || (size_t)(close - v) + 1 >= len || close[1] != ':' ||
	       memchr(v + i, '{', (size_t)(close - v) - i) != NULL;
}

int oci_ports_parse(const char *value, size_t len, const struct oci_policy *pol, struct oci_ports **out,
		    struct oci_err *e)
{
	struct oci_err scratch;
	struct builder b;
	unsigned before;

	if (!e) /* problems must be counted even when nobody reads them */
		oci_err_init(&scratch), e = &scratch;
	before = e->count;
	if (len > OCI_PORTS_MAX_LEN)
		return oci_err_add(e, E2BIG, ANN " is longer than %d bytes", OCI_PORTS_MAX_LEN);
	if (!looks_json(value, len)) {
		/* Compact values are plain ASCII: anything else is a mistake or an
		 * attack, and must not reach messages or logs. */
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)value[i] > 0x7e ||
			    ((unsigned char)value[i] < 0x20 && value[i] != '\t' && value[i] != '\n'))
				return oci_err_add(e, EINVAL, ANN ": unexpected byte 0x%02x at byte %zu",
						   (unsigned char)value[i], i);
	}

	memset(&b, 0, sizeof(b));
	b.e = e;
	b.pol = pol;
	b.max = pol->max_ports;
	b.p = calloc(1, sizeof(*b.p));
	if (!b.p)
		return oci_err_add(e, ENOMEM, ANN ": out of memory");
	if (looks_json(value, len))
		oci_ports_parse_json(&b, value, len);
	else
		oci_ports_parse_compact(&b, value, len);
	if (e->count == before)
		check_across(b.p, pol, e);
	if (e->count != before) {
		oci_ports_free(b.p);
		return -EINVAL;
	}
	*out = b.p; /* ownership to the caller */
	return 0;
}
