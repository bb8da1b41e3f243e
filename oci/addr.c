/* SPDX-License-Identifier: MIT */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int oci_ip_parse(const char *s, struct oci_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	/* inet_pton is strict already (no octal, no short forms for v4). */
	if (inet_pton(AF_INET, s, ip->a) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->a) == 1) {
		ip->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int oci_cidr_parse(const char *s, struct oci_ip *net, unsigned *prefix)
{
	const char *slash = strchr(s, '/');
	char addr[OCI_IP_LEN];
	unsigned long p;
	char *end;
	size_t n;

	if (!slash || (n = (size_t)(slash - s)) == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (oci_ip_parse(addr, net) < 0)
		return -EINVAL;
	if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
		return -EINVAL;
	p = strtoul(slash + 1, &end, 10);
	if (*end || p > (net->family == AF_INET ? 32u : 128u))
		return -EINVAL;
	unsigned bytes = net->family == AF_INET ? 4 : 16;
	for (unsigned bit = (unsigned)p; bit < bytes * 8; bit++)
		if (net->a[bit / 8] & (0x80 >> (bit % 8)))
			return -EINVAL;
	*prefix = (unsigned)p;
	return 0;
}

void oci_ip_format(const struct oci_ip *ip, char buf[OCI_IP_LEN])
{
	buf[0] = '\0';
	if (ip->family && !inet_ntop(ip->family, ip->a, buf, OCI_IP_LEN))
		buf[0] = '\0';
}

bool oci_ip_equal(const struct oci_ip *a, const struct oci_ip *b)
{
	return a->family == b->family && memcmp(a->a, b->a, sizeof(a->a)) == 0;
}

bool oci_ip_is_v4mapped(const struct oci_ip *ip)
{
	static const unsigned char prefix[12] = {[10] = 0xff, [11] = 0xff};

	return ip->family == AF_INET6 && memcmp(ip->a, prefix, sizeof(prefix)) == 0;
}

struct oci_ip oci_ip_unmapped(const struct oci_ip *ip)
{
	struct oci_ip v4 = {.family = AF_INET};

	if (!oci_ip_is_v4mapped(ip))
		return *ip;
	memcpy(v4.a, ip->a + 12, 4);
	return v4;
}

bool oci_ip_is_any(const struct oci_ip *ip)
{
	static const unsigned char zero[16];
	struct oci_ip u = oci_ip_unmapped(ip);

	return u.family && memcmp(u.a, zero, sizeof(zero)) == 0;
}

bool oci_ip_is_loopback(const struct oci_ip *ip)
{
	static const unsigned char one[16] = {[15] = 1};
	struct oci_ip u = oci_ip_unmapped(ip);

	if (u.family == AF_INET)
		return u.a[0] == 127;
	return u.family == AF_INET6 && memcmp(u.a, one, sizeof(one)) == 0;
}
