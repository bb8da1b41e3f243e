/* SPDX-License-Identifier: MIT */
#include "ports.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/cleanup.h"
#include "input.h"
#include "ports_parse.h"

const char *oci_proto_name(unsigned proto)
{
	return proto == OCI_PROTO_UDP ? "udp" : "tcp";
}

int oci_proto_parse(const char *s, uint8_t *proto)
{
	if (!strcmp(s, "tcp"))
		*proto = OCI_PROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = OCI_PROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

void oci_ports_free(struct oci_ports *p)
{
	if (!p)
		return;
	free(p->v);
	free(p);
}

bool oci_label_valid(const char *s, size_t len)
{
	if (len < 1 || len > OCI_LABEL_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		/* Ranges, not isalnum(): the locale must not widen the set. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
		      c == '.' || c == '_' || c == '-' || c == ':' || c == '/'))
			return false;
	}
	return true;
}

/* A mapping's visibility follows from a hostIP it names: a loopback address is
 * reachable from this host only, any other from outside. Saying the opposite
 * is a contradiction. Without a hostIP, GIVEN (when set) or the policy's
 * default decides. */
int oci_ports_settle_visibility(struct oci_mapping *m, const struct oci_policy *pol, const enum oci_visibility *given,
				const char *pfx, struct oci_err *e)
{
	enum oci_visibility implied;
	char ip[OCI_IP_LEN];

	if (!m->host_ip.family) {
		m->visibility = (uint8_t)(given ? *given : pol->visibility);
		return 0;
	}
	implied = oci_ip_is_loopback(&m->host_ip) ? OCI_VISIBILITY_PRIVATE : OCI_VISIBILITY_PUBLIC;
	m->visibility = (uint8_t)implied;
	if (!given || *given == implied)
		return 0;
	oci_ip_format(&m->host_ip, ip);
	return oci_err_add(e, EINVAL, "%s: visibility is %s but hostIP %s is %s: leave one of them out", pfx,
			   oci_visibility_name(*given), ip,
			   implied == OCI_VISIBILITY_PRIVATE ? "loopback (private)" : "not loopback (public)");
}

const struct oci_mapping *oci_ports_first_exposed(const struct oci_ports *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].expose)
			return &p->v[i];
	return NULL;
}

/* Reserves room for COUNT more mappings; refuses past the policy's maxPorts
 * before allocating anything, so a huge range costs nothing. */
int oci_builder_reserve(struct builder *b, size_t count)
{
	if (b->p->n + count > b->max) {
		if (!b->too_many)
			oci_err_add(b->e, E2BIG, ANN ": more than %u ports (the policy's maxPorts)", b->max);
		b->too_many = true;
		return -E2BIG;
	}
	if (b->p->n + count > b->cap) {
		size_t ncap = b->cap ? b->cap : 16;
		struct oci_mapping *nv;

		while (ncap < b->p->n + count)
			ncap *= 2;
		nv = realloc(b->p->v, ncap * sizeof(*nv));
		if (!nv)
			return oci_err_add(b->e, ENOMEM, ANN ": out of memory");
		b->p->v = nv;
		b->cap = ncap;
	}
	return 0;
}

int oci_builder_add(struct builder *b, const struct oci_mapping *m)
{
	int rc = oci_builder_reserve(b, 1);

	if (rc < 0)
		return rc;
	b->p->v[b->p->n++] = *m;
	return 0;
}

/* ---- compact spelling: [HOSTIP:]EXTERNAL:LOCAL[/tcp|/udp], ranges A-B ---- */

struct span {
	unsigned lo, hi;
};

/* One port number: digits only (no sign, no space), 1-65535. */
static int parse_port(const char *s, size_t n, unsigned *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 10)
		return n ? -ERANGE : -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -ERANGE;
	*out = (unsigned)v;
	return 0;
}

/* "N" or "A-B". On failure explains in E with the entry's prefix PFX. */
static int parse_span(const char *s, size_t n, const char *side, const char *pfx, struct span *sp, struct oci_err *e)
{
	const char *dash = memchr(s, '-', n);
	int rc;

	if (!dash) {
		rc = parse_port(s, n, &sp->lo);
		sp->hi = sp->lo;
	} else {
		rc = parse_port(s, (size_t)(dash - s), &sp->lo);
		if (rc == 0)
			rc = parse_port(dash + 1, n - (size_t)(dash - s) - 1, &sp->hi);
	}
	if (rc == -ERANGE)
		return oci_err_add(e, ERANGE, "%s: %s port %.*s is out of range 1-65535", pfx, side, (int)n, s);
	if (rc < 0)
		return oci_err_add(e, EINVAL, "%s: %s port '%.*s' is not a port number or range", pfx, side, (int)n, s);
	if (sp->lo > sp->hi)
		return oci_err_add(e, EINVAL, "%s: %s range %u-%u is reversed", pfx, side, sp->lo, sp->hi);
	for (unsigned p = sp->lo; p <= sp->hi; p++)
		if (oci_port_reserved(p))
			return oci_err_add(
				e, EACCES, "%s: %s%s", pfx,
				sp->lo == sp->hi ? "" : "the range includes reserved port: ", oci_port_reserved_why(p));
	return 0;
}

int oci_ports_parse_proto(const char *s, size_t n, uint8_t *proto)
{
	if (n == 3 && !strncasecmp(s, "tcp", 3))
		*proto = OCI_PROTO_TCP;
	else if (n == 3 && !strncasecmp(s, "udp", 3))
		*proto = OCI_PROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

static void parse_compact_entry(struct builder *b, unsigned idx, const char *tok, size_t len)
{
	struct oci_err *e = b->e;
	struct oci_mapping m = {.entry = idx, .proto = OCI_PROTO_TCP};
	struct span ext = {0, 0}, loc;
	const char *s = tok, *end = tok + len, *slash, *colon;
	char pfx[OCI_ENTRY_MAX_LEN + 64];

	snprintf(pfx, sizeof(pfx), ANN " entry %u '%.*s'", idx, (int)(len > 48 ? 48 : len), tok);
	if (len > OCI_ENTRY_MAX_LEN) {
		oci_err_add(e, E2BIG, "%s...: entry is longer than %d bytes", pfx, OCI_ENTRY_MAX_LEN);
		return;
	}

	/* The protocol suffix; a slash can appear nowhere else. */
	slash = memchr(s, '/', len);
	if (slash) {
		if (oci_ports_parse_proto(slash + 1, (size_t)(end - slash - 1), &m.proto) < 0) {
			oci_err_add(e, EINVAL, "%s: unknown protocol '%.*s' (use tcp or udp)", pfx,
				    (int)(end - slash - 1), slash + 1);
			return;
		}
		end = slash;
	}

	/* The host address: bracketed IPv6, or IPv4 before the second-last colon. */
	if (s < end && *s == '[') {
		const char *close = memchr(s, ']', (size_t)(end - s));
		char ip[OCI_IP_LEN];
		size_t n;

		if (!close || close + 1 >= end || close[1] != ':') {
			oci_err_add(e, EINVAL, "%s: expected [IPv6]:EXTERNAL:LOCAL", pfx);
			return;
		}
		n = (size_t)(close - s - 1);
		if (n >= sizeof(ip) || (memcpy(ip, s + 1, n), ip[n] = '\0', oci_ip_parse(ip, &m.host_ip) < 0) ||
		    m.host_ip.family != AF_INET6) {
			oci_err_add(e, EINVAL, "%s: '%.*s' is not an IPv6 address", pfx, (int)(n > 46 ? 46 : n), s + 1);
			return;
		}
		s = close + 2;
		if (!memchr(s, ':', (size_t)(end - s))) {
			oci_err_add(e, EINVAL, "%s: a host address needs EXTERNAL:LOCAL after it", pfx);
			return;
		}
	} else {
		unsigned colons = 0;

		for (const char *c = s; c < end; c++)
			colons += *c == ':';
		if (colons > 2) {
			oci_err_add(e, EINVAL, "%s: write an IPv6 host address in brackets, like [::1]:8080:80", pfx);
			return;
		}
		if (colons == 2) {
			const char *c1 = memchr(s, ':', (size_t)(end - s));
			char ip[OCI_IP_LEN];
			size_t n = (size_t)(c1 - s);

			if (n == 0 || n >= sizeof(ip) ||
			    (memcpy(ip, s, n), ip[n] = '\0', oci_ip_parse(ip, &m.host_ip) < 0)) {
				oci_err_add(e, EINVAL, "%s: '%.*s' is not an IPv4 address", pfx, (int)(n > 46 ? 46 : n),
					    s);
				return;
			}
			s = c1 + 1;
		}
	}

	colon = memchr(s, ':', (size_t)(end - s));
	if (colon) {
		if (parse_span(s, (size_t)(colon - s), "external", pfx, &ext, e) < 0)
			return;
		s = colon + 1;
	}
	if (parse_span(s, (size_t)(end - s), "local", pfx, &loc, e) < 0)
		return;
	if (colon && ext.hi - ext.lo != loc.hi - loc.lo) {
		oci_err_add(e, EINVAL, "%s: ranges of unequal length: %u external port%s for %u local port%s", pfx,
			    ext.hi - ext.lo + 1, ext.hi > ext.lo ? "s" : "", loc.hi - loc.lo + 1,
			    loc.hi > loc.lo ? "s" : "");
		return;
	}
	m.expose = colon != NULL;
	if (oci_ports_settle_visibility(&m, b->pol, NULL, pfx, e) < 0)
		return;
	m.allow = b->pol->allow_from; /* the compact spelling has no allow of its own */
	if (oci_builder_reserve(b, loc.hi - loc.lo + 1) < 0)
		return;
	for (unsigned i = 0; i <= loc.hi - loc.lo; i++) {
		m.local_port = (uint16_t)(loc.lo + i);
		m.external_port = colon ? (uint16_t)(ext.lo + i) : 0;
		oci_builder_add(b, &m);
	}
}

void oci_ports_parse_compact(struct builder *b, const char *v, size_t len)
{
	unsigned idx = 0;
	size_t i = 0;

	/* Entries are separated by whitespace and at most one comma. */
	for (;;) {
		bool comma = false;
		size_t start;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == ',')) {
			if (v[i] == ',') {
				if (comma || idx == 0) {
					oci_err_add(b->e, EINVAL, ANN ": empty entry at byte %zu", i);
					return;
				}
				comma = true;
			}
			i++;
		}
		if (i == len) {
			if (comma)
				oci_err_add(b->e, EINVAL, ANN ": empty entry after the last comma");
			return;
		}
		start = i;
		while (i < len && v[i] != ' ' && v[i] != '\t' && v[i] != '\n' && v[i] != ',')
			i++;
		if (++idx > OCI_PORTS_HARD_MAX) {
			oci_err_add(b->e, E2BIG, ANN ": more than %d entries", OCI_PORTS_HARD_MAX);
			return;
		}
		parse_compact_entry(b, idx, v + start, i - start);
		if (b->too_many)
			return;
	}
}
