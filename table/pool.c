/* SPDX-License-Identifier: MIT */
/* The policy's addressPool: each container gets its own host-side address,
 * so that every container can have its own port 80. An address is in use
 * while some container's state lists it (its addresses file, else its
 * forwards.json); it is free again once that state is removed, so nothing
 * else needs releasing, and a restore, which keeps the state, keeps it.
 * Runs under the lock. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../lib/rundir.h"
#include "../base/cleanup.h"
#include "../oci/input.h"
#include "table.h"

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

#define ADDRESSES_MAX	    16	 /* distinct addresses a container's file lists */
#define ADDRESSES_MAX_BYTES 4096 /* ADDRESSES_MAX lines of OCI_IP_LEN, with room */

/* The addresses F holds against a pool, into OUT: its pool address, or for
 * a record without one (an earlier portside's, or a start without a pool)
 * every address its listeners bind, explicit and automatic (one with no
 * explicit mapping holds it in bindAddresses alone), each once. -E2BIG past
 * ADDRESSES_MAX, which the policy's few host addresses never reach. */
static int holds(const struct ps_forwards *f, struct oci_ip out[ADDRESSES_MAX], size_t *n)
{
	*n = 0;
	if (f->pool_address.family) {
		out[(*n)++] = f->pool_address;
		return 0;
	}
	for (size_t i = 0; i < f->n + f->n_bind; i++) {
		const struct oci_ip *ip = i < f->n ? &f->v[i].host_ip : &f->bind[i - f->n];
		size_t j = 0;

		if (oci_ip_is_any(ip))
			continue;
		while (j < *n && !oci_ip_equal(&out[j], ip))
			j++;
		if (j < *n)
			continue;
		if (*n == ADDRESSES_MAX)
			return -E2BIG;
		out[(*n)++] = *ip;
	}
	return 0;
}

int tb_pool_record(const char *id, const struct ps_forwards *f)
{
	struct oci_ip ips[ADDRESSES_MAX];
	char path[4096], buf[ADDRESSES_MAX * (OCI_IP_LEN + 1) + 1];
	size_t n, len = 0;
	int rc;

	/* Too many to list: no file, and the hand-out reads the record. */
	if ((rc = holds(f, ips, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		char ip[OCI_IP_LEN];

		oci_ip_format(&ips[i], ip);
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\n", ip);
	}
	if (ps_file(path, sizeof(path), id, PS_ADDRESSES) < 0)
		return -ENAMETOOLONG;
	return ps_write_file(path, buf, len);
}

/* Marks the addresses container ID holds, from its addresses file: a few
 * lines, whatever its record's size, so that a start never reads every
 * container's whole record under the lock. A container started before that
 * file existed has only its record: read once, and its file written from it
 * for the next start. A file or record that is there but cannot be read
 * refuses the start: handing out an address its container may hold would be
 * worse. */
static int mark_container(const struct oci_policy *pol, const char *id, struct taken *t, struct oci_err *e)
{
	struct oci_ip ips[ADDRESSES_MAX];
	struct ps_forwards *f = NULL;
	cleanup_free char *buf = NULL;
	char path[4096];
	size_t len, n = 0;
	int rc;

	if (ps_file(path, sizeof(path), id, PS_ADDRESSES) < 0)
		return oci_err_add(e, ENAMETOOLONG, "state path too long");
	rc = oci_read_file(path, ADDRESSES_MAX_BYTES, &buf, &len, NULL);
	if (rc == 0) {
		char *line = buf, *nl;
		struct oci_ip ip;

		/* Each line an address, the last one ended too: as the hook
		 * writes it, else unknown. */
		while (line < buf + len && n < ADDRESSES_MAX && (nl = memchr(line, '\n', (size_t)(buf + len - line))) &&
		       (*nl = '\0', oci_ip_parse(line, &ip) == 0)) {
			mark(pol, &ip, t);
			n++;
			line = nl + 1;
		}
		if (line == buf + len)
			return 0;
		rc = -EINVAL;
	}
	if (rc != -ENOENT)
		return oci_err_add(e, EIO,
				   "cannot tell which address of the policy's addressPool container %s holds: its "
				   "addresses file cannot be read",
				   id);
	rc = ps_record_load(id, &f, NULL);
	if (rc == -ENOENT)
		return 0; /* it joined another's netns: that one holds the address */
	if (rc < 0)
		return oci_err_add(e, EIO,
				   "cannot tell which address of the policy's addressPool container %s holds: its "
				   "record cannot be read",
				   id);
	if (holds(f, ips, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			mark(pol, &ips[i], t);
		/* Best effort: without it, the next start reads the record again. */
		tb_pool_record(id, f);
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

int tb_pool_pick(const struct oci_policy *pol, struct oci_ip *out, struct oci_err *e)
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
		if (de->d_name[0] != '.' && oci_id_valid(de->d_name) &&
		    (rc = mark_container(pol, de->d_name, &t, e)) < 0)
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
