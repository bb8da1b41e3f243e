/* SPDX-License-Identifier: MIT */
/* The policy's addressPool: each container gets its own host-side address,
 * so that every container can have its own port 80. An address is in use
 * while some container's forwards.json binds it; it is free again once that
 * state is removed, so nothing else needs releasing. Runs under the lock. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../lib/rundir.h"
#include "../base/cleanup.h"
#include "../oci/input.h"
#include "hook.h"

#define POOL_SCAN_MAX 65536 /* candidates tried, whatever the pool's size */

/* Adds the host addresses of every recorded container to USED: those its
 * explicit listeners bind, and those its automatic ones will bind (a container
 * with no explicit mapping holds its pool address there alone). */
static size_t used_addresses(struct oci_ip *used, size_t max)
{
	cleanup_closedir DIR *d = ps_containers_open();
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d))) {
		struct ps_forwards *f = NULL;

		if (de->d_name[0] == '.' || !oci_id_valid(de->d_name) || ps_record_load(de->d_name, &f, NULL) < 0)
			continue;
		for (size_t i = 0; i < f->n && n < max; i++)
			used[n++] = f->v[i].host_ip;
		for (size_t i = 0; i < f->n_bind && n < max; i++)
			used[n++] = f->bind[i];
		ps_forwards_free(f);
	}
	return n;
}

/* Adds K to the address A (big-endian, LEN bytes). */
static void add(unsigned char *a, size_t len, unsigned long k)
{
	for (size_t i = len; i-- > 0 && k;) {
		unsigned long v = a[i] + (k & 0xff);

		a[i] = (unsigned char)v;
		k = (k >> 8) + (v >> 8);
	}
}

int hook_pool_pick(const struct oci_policy *pol, struct oci_ip *out, struct oci_err *e)
{
	static struct oci_ip used[4096];
	size_t nused = used_addresses(used, sizeof(used) / sizeof(used[0]));
	unsigned bits = (pol->pool.family == AF_INET ? 32 : 128) - pol->pool_prefix;
	unsigned long size = bits >= 20 ? POOL_SCAN_MAX : 1ul << bits;
	size_t alen = pol->pool.family == AF_INET ? 4 : 16;

	/* Skip the network address itself (and, for IPv4, the broadcast one). */
	for (unsigned long k = 1; k < size && k < POOL_SCAN_MAX; k++) {
		struct oci_ip cand = pol->pool;
		bool taken = false;

		if (pol->pool.family == AF_INET && k == size - 1)
			break;
		add(cand.a, alen, k);
		for (size_t i = 0; i < nused && !taken; i++)
			taken = oci_ip_equal(&used[i], &cand);
		if (!taken) {
			*out = cand;
			return 0;
		}
	}
	return oci_err_add(e, EADDRINUSE, "every address of the policy's addressPool is in use");
}
