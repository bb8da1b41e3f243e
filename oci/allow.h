/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_ALLOW_H
#define PORTSIDE_OCI_ALLOW_H

/* Who may connect: a mapping's "allow" list and the policy's "allowFrom",
 * networks (CIDRs or plain addresses, IPv4 and IPv6). Parsed strictly,
 * kept sorted, matched with prefix compares: the sidecar asks at every
 * accept, so a match costs a few word compares per entry and no allocation. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "../base/err.h"

/* Networks in one list: an explicit limit, so that a match stays a short
 * scan and a record of every forward's list stays bounded. */
#define OCI_ALLOW_MAX 64
/* Entries summed over the allow lists of one io.portside.ports (the policy's
 * allowFrom, inherited, does not count): bounds the record, which carries
 * each forward's own list. */
#define OCI_ALLOW_ENTRIES_MAX 1024
/* Longest text of one network: an IPv6 address, "/" and 3 digits, NUL. */
#define OCI_NET_LEN (OCI_IP_LEN + 4)

/* One network. IPv4 and IPv6 are kept apart: an IPv4 entry takes IPv4
 * clients (and IPv4-mapped ones, ::ffff:a.b.c.d on a dual-stack listener),
 * an IPv6 entry IPv6 clients only, so "::/0" never lets IPv4 in. */
struct oci_net {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t bits;	/* prefix length: 0-32 or 0-128 */
	unsigned char a[16];
};

/* n == 0: everyone (no list given). Sorted by family, address, prefix. */
struct oci_allow {
	uint8_t n;
	struct oci_net v[OCI_ALLOW_MAX];
};

/* "ADDR" (a host: /32 or /128) or "ADDR/PREFIX" with no host bits set;
 * an IPv4-mapped IPv6 address is refused (write it as IPv4). 0 or -EINVAL
 * with the reason in *WHY. */
int oci_net_parse(const char *s, struct oci_net *out, const char **why);

/* Canonical text: "192.0.2.7", "10.0.0.0/8", "::1", "2001:db8::/32". */
void oci_net_format(const struct oci_net *n, char buf[OCI_NET_LEN]);

/* True when network A lies within network B. */
bool oci_net_within(const struct oci_net *a, const struct oci_net *b);

/* Parses a JSON array of network strings (json-c object V) into *OUT,
 * sorted. Refused, each with a line prefixed WHAT: not an array, an empty
 * array, more than OCI_ALLOW_MAX entries, a bad entry, a duplicate. */
struct json_object;
int oci_allow_parse_json(struct json_object *v, const char *what, struct oci_allow *out, struct oci_err *e);

/* Sorts A's entries (what every list is once loaded); false when two are
 * the same network. */
bool oci_allow_sort(struct oci_allow *a);

/* True when each network of NARROW lies within one of WIDE's (WIDE empty:
 * everyone, always true). Else false, with *BAD the first network outside. */
bool oci_allow_within(const struct oci_allow *narrow, const struct oci_allow *wide, size_t *bad);

/* True when client address IP may connect: A empty, or IP (its IPv4 form
 * when IPv4-mapped) within one of A's networks. */
bool oci_allow_match(const struct oci_allow *a, const struct oci_ip *ip);

bool oci_allow_equal(const struct oci_allow *a, const struct oci_allow *b);

/* A's networks, ", "-separated, into BUF (LEN bytes; "..." when cut). */
void oci_allow_format(const struct oci_allow *a, char *buf, size_t len);

#endif
