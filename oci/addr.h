/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_OCI_ADDR_H
#define PORTSIDE_OCI_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Longest canonical text form of an address, NUL included (INET6_ADDRSTRLEN). */
#define OCI_IP_LEN 46

/* An IP address; family 0 means "not given" (the policy's default applies). */
struct oci_ip {
	int family; /* 0, AF_INET or AF_INET6 */
	unsigned char a[16];
};

/* Parses a numeric IPv4 or IPv6 address (no brackets, no zone, no names) into
 * *IP. Returns 0 or -EINVAL. */
int oci_ip_parse(const char *s, struct oci_ip *ip);

/* Parses an "ADDR/PREFIX" network; host bits must be zero. -EINVAL otherwise. */
int oci_cidr_parse(const char *s, struct oci_ip *net, unsigned *prefix);

/* Writes the canonical text of IP into BUF (OCI_IP_LEN bytes); "" for family 0. */
void oci_ip_format(const struct oci_ip *ip, char buf[OCI_IP_LEN]);

bool oci_ip_equal(const struct oci_ip *a, const struct oci_ip *b);

/* True for 0.0.0.0 and ::. */
bool oci_ip_is_any(const struct oci_ip *ip);

/* True for 127.0.0.0/8 and ::1. */
bool oci_ip_is_loopback(const struct oci_ip *ip);

#endif
