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

/* True for an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
bool oci_ip_is_v4mapped(const struct oci_ip *ip);

/* IP itself, or the IPv4 address an IPv4-mapped one stands for: a socket
 * bound to [::ffff:127.0.0.1] takes exactly what 127.0.0.1 takes (a JVM
 * binds "127.0.0.1" that way), so every decision is made on this form. */
struct oci_ip oci_ip_unmapped(const struct oci_ip *ip);

/* True for 0.0.0.0, :: and ::ffff:0.0.0.0. */
bool oci_ip_is_any(const struct oci_ip *ip);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool oci_ip_is_loopback(const struct oci_ip *ip);

#endif
