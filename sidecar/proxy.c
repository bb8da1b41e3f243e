/* SPDX-License-Identifier: MIT */
/* The PROXY protocol v2 header (haproxy's proxy-protocol.txt, section 2.2):
 * what an app behind the forwarder reads first to learn the real client. */
#include <netinet/in.h>
#include <string.h>

#include "sidecar.h"

size_t sc_proxy_header(const struct sockaddr_storage *src, const struct sockaddr_storage *dst, unsigned char *h)
{
	static const unsigned char sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
	size_t n = 16;

	if (src->ss_family != dst->ss_family || (src->ss_family != AF_INET && src->ss_family != AF_INET6))
		return 0;
	memcpy(h, sig, sizeof(sig));
	h[12] = 0x21; /* version 2, PROXY */
	if (src->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)src, *d4 = (const void *)dst;

		h[13] = 0x11; /* TCP over IPv4 */
		memcpy(h + n, &s4->sin_addr, 4), n += 4;
		memcpy(h + n, &d4->sin_addr, 4), n += 4;
		memcpy(h + n, &s4->sin_port, 2), n += 2;
		memcpy(h + n, &d4->sin_port, 2), n += 2;
	} else {
		const struct sockaddr_in6 *s6 = (const void *)src, *d6 = (const void *)dst;

		h[13] = 0x21; /* TCP over IPv6 */
		memcpy(h + n, &s6->sin6_addr, 16), n += 16;
		memcpy(h + n, &d6->sin6_addr, 16), n += 16;
		memcpy(h + n, &s6->sin6_port, 2), n += 2;
		memcpy(h + n, &d6->sin6_port, 2), n += 2;
	}
	/* The length of what follows the 16 bytes, big-endian. */
	h[14] = (unsigned char)((n - 16) >> 8);
	h[15] = (unsigned char)(n - 16);
	return n;
}
