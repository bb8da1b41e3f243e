/* SPDX-License-Identifier: MIT */
/* The policy's addressPool: each container gets its own host-side address,
 * so that every container can have its own port 80. An address is in use
 * while some container's forwards.json holds it; it is free again once that
 * state is removed, so nothing else needs releasing. Runs under the lock. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../lib/rundir.h"
#include "../base/cleanup.h"
#include "../oci/input.h"
#include "hook.h"

#define POOL_SCAN_MAX 65536 /* candidates tried, whatever the pool's size */

/* One bit a candidate (its offset in the pool): sized to what the hand-out
 * can choose among, not to what the records list, so that no record is left
 * out however many containers or forwards there are. */
struct taken {
	uint8_t bit[POOL_SCAN_MAX / 8];
};

/* Marks IP when it is one of the pool's candidates. The pool's host bits are
 * zero (oci_cidr_parse), so an address of the pool is its offset XOR'd in. */
static void mark(const struct oci_policy *pol, const struct oci_ip *ip, struct taken *t)
{
	size_t alen = pol->pool.family == AF_INET ? 4 : 16;
	unsigned long k = 0;

	if (!oci_policy_in_pool(pol, ip))
		return;
	for (size_t i = 0; i < alen; i++) {
		unsigned d = ip->a[i] ^ pol->pool.a[i];

		if (i + 3 < alen && d)
			return; /* an offset past 2^24: never a candidate */
		k = (k << 8) | d;
	}
	if (k < POOL_SCAN_MAX)
		t->bit[k / 8] |= (uint8_t)(1u << (k % 8));
}

/* Marks the pool address container ID holds. A record of an earlier portside
 * names none: every address its listeners bind, explicit and automatic,
 * counts then (one with no explicit mapping holds it in bindAddresses
 * alone). A record that is there but cannot be read refuses the start:
 * handing out an address its container may hold would be worse. */
static int mark_record(const struct oci_policy *pol, const char *id, struct taken *t, struct oci_err *e)
{
	struct ps_forwards *f = NULL;
	int rc = ps_record_load(id, &f, NULL);

	if (rc == -ENOENT)
		return 0; /* it joined another's netns: that one holds the address */
	if (rc < 0)
		return oci_err_add(e, EIO,
				   "cannot tell which address of the policy's addressPool container %s holds: its "
				   "record cannot be read",
				   id);
	if (f->pool_address.family) {
		mark(pol, &f->pool_address, t);
	} else {
		for (size_t i = 0; i < f->n; i++)
			mark(pol, &f->v[i].host_ip, t);
		for (size_t i = 0; i < f->n_bind; i++)
			mark(pol, &f->bind[i], t);
	}
	ps_forwards_free(f);
	return 0;
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
	struct taken t;
	cleanup_closedir DIR *d = ps_containers_open();
	struct dirent *de;
	unsigned bits = (pol->pool.family == AF_INET ? 32 : 128) - pol->pool_prefix;
	unsigned long size = bits >= 20 ? POOL_SCAN_MAX : 1ul << bits;
	size_t alen = pol->pool.family == AF_INET ? 4 : 16;
	int rc;

	/* Every record is read, or nothing is handed out. */
	if (!d)
		return oci_err_addp(e, errno, "cannot list the containers under %s", ps_run_dir());
	memset(&t, 0, sizeof(t));
	for (errno = 0; (de = readdir(d)); errno = 0)
		if (de->d_name[0] != '.' && oci_id_valid(de->d_name) && (rc = mark_record(pol, de->d_name, &t, e)) < 0)
			return rc;
	if (errno)
		return oci_err_addp(e, errno, "cannot list the containers under %s", ps_run_dir());
	/* Skip the network address itself (and, for IPv4, the broadcast one). */
	for (unsigned long k = 1; k < size && k < POOL_SCAN_MAX; k++) {
		if (pol->pool.family == AF_INET && k == size - 1)
			break;
		if (t.bit[k / 8] & (1u << (k % 8)))
			continue;
		*out = pol->pool;
		add(out->a, alen, k);
		return 0;
	}
	return oci_err_add(e, EADDRINUSE, "every address of the policy's addressPool is in use");
}
