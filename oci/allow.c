/* SPDX-License-Identifier: MIT */
#include "allow.h"

#include <endian.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

int oci_net_parse(const char *s, struct oci_net *out, const char **why)
{
	struct oci_ip ip;
	unsigned prefix;

	memset(out, 0, sizeof(*out));
	*why = "is not an IP address or a network ADDR/PREFIX";
	if (strchr(s, '/')) {
		if (oci_cidr_parse(s, &ip, &prefix) < 0) {
			const char *slash = strchr(s, '/');
			size_t n = (size_t)(slash - s), digits = strspn(slash + 1, "0123456789");
			char addr[OCI_IP_LEN];

			/* Say which part is wrong; host bits set ("10.1.2.3/8")
			 * is the usual mistake. */
			if (!n || n >= sizeof(addr))
				return -EINVAL;
			memcpy(addr, s, n);
			addr[n] = '\0';
			if (oci_ip_parse(addr, &ip) < 0)
				return -EINVAL;
			if (!digits || slash[1 + digits] || digits > 3)
				*why = "has a prefix that is not a number";
			else if (strtoul(slash + 1, NULL, 10) > (ip.family == AF_INET ? 32u : 128u))
				*why = ip.family == AF_INET ? "has a prefix longer than 32"
							    : "has a prefix longer than 128";
			else
				*why = "has host bits set past its prefix";
			return -EINVAL;
		}
	} else {
		if (oci_ip_parse(s, &ip) < 0)
			return -EINVAL;
		prefix = ip.family == AF_INET ? 32 : 128;
	}
	if (oci_ip_is_v4mapped(&ip)) {
		*why = "is an IPv4-mapped IPv6 address: write it as IPv4";
		return -EINVAL;
	}
	out->family = (uint8_t)ip.family;
	out->bits = (uint8_t)prefix;
	memcpy(out->a, ip.a, sizeof(out->a));
	return 0;
}

void oci_net_format(const struct oci_net *n, char buf[OCI_NET_LEN])
{
	struct oci_ip ip = {.family = n->family};
	char a[OCI_IP_LEN];

	memcpy(ip.a, n->a, sizeof(ip.a));
	oci_ip_format(&ip, a);
	if (n->bits == (n->family == AF_INET ? 32 : 128))
		snprintf(buf, OCI_NET_LEN, "%s", a);
	else
		snprintf(buf, OCI_NET_LEN, "%s/%u", a, n->bits);
}

/* The first BITS bits of A and B agree. */
static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole))
		return false;
	return !rest || ((a[whole] ^ b[whole]) & (0xff00u >> rest) & 0xff) == 0;
}

bool oci_net_within(const struct oci_net *a, const struct oci_net *b)
{
	return a->family == b->family && a->bits >= b->bits && prefix_equal(a->a, b->a, b->bits);
}

static int net_cmp(const void *x, const void *y)
{
	const struct oci_net *a = x, *b = y;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = memcmp(a->a, b->a, sizeof(a->a))))
		return c;
	return a->bits < b->bits ? -1 : a->bits > b->bits;
}

bool oci_allow_sort(struct oci_allow *a)
{
	qsort(a->v, a->n, sizeof(a->v[0]), net_cmp);
	for (size_t i = 1; i < a->n; i++)
		if (!net_cmp(&a->v[i - 1], &a->v[i]))
			return false;
	return true;
}

int oci_allow_parse_json(json_object *v, const char *what, struct oci_allow *out, struct oci_err *e)
{
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(v, json_type_array))
		return oci_err_add(e, EINVAL, "%s must be an array of addresses or networks, not %s", what,
				   oci_json_type_name(v));
	n = json_object_array_length(v);
	if (n == 0)
		return oci_err_add(e, EINVAL, "%s is empty: leave it out to allow everyone", what);
	if (n > OCI_ALLOW_MAX)
		return oci_err_add(e, E2BIG, "%s lists %zu networks, more than %d", what, n, OCI_ALLOW_MAX);
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(v, i);
		const char *why;

		if (!json_object_is_type(it, json_type_string))
			return oci_err_add(e, EINVAL, "%s[%zu] must be a string, not %s", what, i,
					   oci_json_type_name(it));
		if (oci_net_parse(json_object_get_string(it), &out->v[i], &why) < 0)
			return oci_err_add(e, EINVAL, "%s[%zu]: '%.64s' %s", what, i, json_object_get_string(it), why);
		for (size_t j = 0; j < i; j++)
			if (!net_cmp(&out->v[j], &out->v[i]))
				return oci_err_add(e, EINVAL, "%s[%zu]: '%.64s' is listed twice", what, i,
						   json_object_get_string(it));
	}
	out->n = (uint8_t)n;
	oci_allow_sort(out);
	return 0;
}

bool oci_allow_within(const struct oci_allow *narrow, const struct oci_allow *wide, size_t *bad)
{
	if (!wide->n)
		return true;
	for (size_t i = 0; i < narrow->n; i++) {
		bool in = false;

		for (size_t j = 0; j < wide->n && !in; j++)
			in = oci_net_within(&narrow->v[i], &wide->v[j]);
		if (!in) {
			*bad = i;
			return false;
		}
	}
	return true;
}

/* The first 8 bytes at P as a number, most significant first. */
static uint64_t be64_at(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/* A mask of the first BITS (0-64) of 64. */
static uint64_t mask64(unsigned bits)
{
	return bits >= 64 ? ~(uint64_t)0 : bits ? ~(uint64_t)0 << (64 - bits) : 0;
}

bool oci_allow_match(const struct oci_allow *a, const struct oci_ip *ip)
{
	unsigned char v4[8] = {0};
	uint64_t hi, lo;
	int family = ip->family;

	if (!a->n)
		return true;
	/* The client as two words, once; each entry is then two masked
	 * compares (this runs at every accept). A dual-stack listener's IPv4
	 * client (::ffff:a.b.c.d) is matched as IPv4. */
	if (oci_ip_is_v4mapped(ip)) {
		family = AF_INET;
		memcpy(v4, ip->a + 12, 4);
		hi = be64_at(v4), lo = 0;
	} else if (family == AF_INET) {
		memcpy(v4, ip->a, 4);
		hi = be64_at(v4), lo = 0;
	} else {
		hi = be64_at(ip->a), lo = be64_at(ip->a + 8);
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct oci_net *n = &a->v[i];
		unsigned bits = n->bits;

		if (n->family != family)
			continue;
		/* An IPv4 entry's bytes past its 4 are zero, as the client's are. */
		if ((hi & mask64(bits)) != (be64_at(n->a) & mask64(bits)))
			continue;
		if (bits <= 64 || (lo & mask64(bits - 64)) == (be64_at(n->a + 8) & mask64(bits - 64)))
			return true;
	}
	return false;
}

bool oci_allow_equal(const struct oci_allow *a, const struct oci_allow *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (net_cmp(&a->v[i], &b->v[i]))
			return false;
	return true;
}

void oci_allow_format(const struct oci_allow *a, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < a->n; i++) {
		char net[OCI_NET_LEN];
		int w;

		oci_net_format(&a->v[i], net);
		w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", net);
		if (w < 0 || (size_t)w >= len - used) {
			if (len > 4)
				snprintf(buf + len - 4, 4, "...");
			return;
		}
		used += (size_t)w;
	}
}
