/* SPDX-License-Identifier: MIT */
/* The record's size limit (lib/forwards.h) agrees with the policy's maxima:
 * a record of every maximum (maxPorts mappings, each on the longest hostIP
 * list, every field at its longest) is written and read back whole, through
 * the file the sidecar and portsidectl read; one forward more is refused by
 * the writer and by the reader alike. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../lib/forwards.h"
#include "../../lib/rundir.h"

/* One forward at its longest encoding. */
static void longest_forward(struct ps_forward *w, unsigned i)
{
	memset(w, 0, sizeof(*w));
	w->local_port = 65535;
	w->external_port = 65535;
	w->proto = OCI_PROTO_UDP;
	w->expose_localhost = true;
	w->proxy_protocol = true;
	w->visibility = OCI_VISIBILITY_PRIVATE;
	/* No two zero groups: inet_ntop writes all 39 bytes. */
	w->host_ip.family = AF_INET6;
	memset(w->host_ip.a, 0xff, sizeof(w->host_ip.a));
	w->host_ip.a[15] = (unsigned char)(0xf0 | (i & 0xf));
	w->fd = -2147483647 - 1;
	w->entry = 4294967295u;
	memset(w->label, 'L', OCI_LABEL_MAX_LEN);
}

static size_t encoded_len(const struct ps_forwards *f)
{
	cleanup_free char *doc = NULL;

	assert_int_equal(ps_forwards_encode(f, &doc), 0);
	return strlen(doc);
}

/* An IPv6 network of 16 bytes of 0xff but for byte 14 (B14) and byte 15
 * (B15): every group written whole. */
static struct oci_net net6(unsigned b14, unsigned b15, unsigned bits)
{
	struct oci_net n = {.family = AF_INET6, .bits = (uint8_t)bits};

	memset(n.a, 0xff, sizeof(n.a));
	n.a[14] = (unsigned char)b14;
	n.a[15] = (unsigned char)b15;
	return n;
}

/* allowFrom at its longest: 64 networks of 43 characters, the first
 * holding every network of OWN. */
static void longest_allow(struct oci_allow *from, struct oci_allow *own)
{
	from->n = own->n = OCI_ALLOW_MAX;
	for (unsigned k = 0; k < OCI_ALLOW_MAX; k++) {
		from->v[k] = net6(0xff - k, 0, 120);
		own->v[k] = net6(0xff, k, 128);
	}
	oci_allow_sort(from);
	oci_allow_sort(own);
}

/* A record with every field at its longest, N forwards: allowFrom at its
 * longest, and as many forwards as PS_FORWARDS_MAX_ALLOW takes with a
 * list of their own. */
static struct ps_forwards *longest_record(size_t n)
{
	struct ps_forwards *f = calloc(1, sizeof(*f));
	size_t part;

	assert_non_null(f);
	assert_non_null(f->v = calloc(n ? n : 1, sizeof(*f->v)));
	memset(f->id, 'i', OCI_ID_MAX_LEN);
	/* The longest key the record takes: two 64-bit numbers. */
	snprintf(f->netns, sizeof(f->netns), "%llu:%llu", ~0ULL, ~0ULL);
	f->sidecar[0] = '/';
	memset(f->sidecar + 1, 1, sizeof(f->sidecar) - 2);
	f->policy[0] = '/';
	memset(f->policy + 1, 1, sizeof(f->policy) - 2);
	/* Three DNS names as long as the field holds. */
	part = (sizeof(f->kube_name) - 3) / 3;
	part = part > 253 ? 253 : part;
	memset(f->kube_name, 'k', 3 * part + 2);
	f->kube_name[part] = f->kube_name[2 * part + 1] = '/';
	f->pid = -2147483647 - 1;
	f->max_connections = 2147483647;
	f->udp_idle_timeout = 2147483647;
	f->max_autoforwards = 1024;
	f->autoforward = OCI_AUTOFORWARD_PUBLIC;
	f->visibility = OCI_VISIBILITY_PRIVATE;
	f->n_auto_ports = sizeof(f->auto_ports) / sizeof(f->auto_ports[0]);
	for (size_t i = 0; i < f->n_auto_ports; i++)
		f->auto_ports[i] = 65535;
	f->n_known = OCI_PORTS_HARD_MAX;
	for (size_t i = 0; i < f->n_known; i++)
		f->known[i] = (struct ps_known){65535, OCI_PROTO_UDP};
	f->n_bind = OCI_POLICY_MAX_HOSTIPS;
	for (size_t i = 0; i < f->n_bind; i++) {
		struct ps_forward w;

		longest_forward(&w, (unsigned)i);
		f->bind[i] = w.host_ip;
	}
	f->pool_address = f->bind[0];
	struct oci_allow own;

	longest_allow(&f->allow_from, &own);
	for (size_t i = 0; i < n; i++) {
		longest_forward(&f->v[i], (unsigned)i);
		f->v[i].allow = i < PS_FORWARDS_MAX_ALLOW / OCI_ALLOW_MAX ? own : f->allow_from;
	}
	f->n = n;
	return f;
}

/* The budget of each part, measured. */
static void test_parts(void **state)
{
	(void)state;
	struct ps_forwards *f = longest_record(2);
	struct oci_allow own = f->v[1].allow;
	size_t two, one;

	/* A forward, with the policy's list (written once, not in it). */
	f->v[0].allow = f->v[1].allow = f->allow_from;
	two = encoded_len(f);
	f->n = 1;
	one = encoded_len(f);
	assert_true(two - one <= PS_FORWARD_MAX_BYTES);
	/* A network of a forward's own list, and of allowFrom. */
	f->n = 2;
	f->v[1].allow = own;
	two = encoded_len(f);
	f->v[1].allow.n--;
	assert_true(two - encoded_len(f) <= PS_ALLOW_ENTRY_MAX_BYTES);
	f->n = 1;
	f->n_known--;
	assert_true(one - encoded_len(f) <= PS_KNOWN_MAX_BYTES);
	f->n = 0;
	f->n_known = 0;
	one = encoded_len(f);
	f->allow_from.n--;
	assert_true(one - encoded_len(f) <= PS_ALLOW_ENTRY_MAX_BYTES);
	f->allow_from.n = 0;
	assert_true(encoded_len(f) <= PS_FORWARDS_REST_MAX_BYTES);
	ps_forwards_free(f);
}

static char root[64];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/portside-max-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	setenv("PORTSIDE_RUN_DIR", root, 1);
	return ps_run_dir_init();
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	unsetenv("PORTSIDE_RUN_DIR");
	return system(cmd) == 0 ? 0 : -1;
}

/* The policy's maximum: written, and read back from the file. */
static void test_largest_record_read_back(void **state)
{
	(void)state;
	struct ps_forwards *f = longest_record(PS_FORWARDS_MAX_FORWARDS), *g = NULL;
	cleanup_free char *doc = NULL;
	char path[4096];
	struct oci_err e;

	oci_err_init(&e);
	assert_int_equal(ps_forwards_encode(f, &doc), 0);
	assert_true(strlen(doc) <= PS_FORWARDS_MAX_BYTES);
	/* More than the old limit of 1 MiB by far: what the limit is for. */
	assert_true(strlen(doc) > 4 * 1024 * 1024);
	assert_int_equal(ps_path(path, sizeof(path), f->id, NULL), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ps_file(path, sizeof(path), f->id, PS_FORWARDS), 0);
	assert_int_equal(ps_write_file(path, doc, strlen(doc)), 0);
	if (ps_record_load(f->id, &g, &e) < 0) {
		oci_err_print(&e, stderr, "  ");
		fail();
	}
	assert_int_equal(g->n, PS_FORWARDS_MAX_FORWARDS);
	assert_int_equal(g->n_known, OCI_PORTS_HARD_MAX);
	assert_int_equal(g->n_bind, OCI_POLICY_MAX_HOSTIPS);
	assert_string_equal(g->sidecar, f->sidecar);
	assert_string_equal(g->policy, f->policy);
	assert_string_equal(g->kube_name, f->kube_name);
	assert_true(oci_ip_equal(&g->pool_address, &f->pool_address));
	assert_memory_equal(&g->v[g->n - 1], &f->v[f->n - 1], sizeof(f->v[0]));
	assert_memory_equal(&g->v[0], &f->v[0], sizeof(f->v[0]));
	assert_true(oci_allow_equal(&g->allow_from, &f->allow_from));
	ps_forwards_free(g);
	ps_forwards_free(f);
}

/* One forward more than any policy allows: neither written nor read. */
static void test_one_more_refused(void **state)
{
	(void)state;
	struct ps_forwards *f = longest_record(PS_FORWARDS_MAX_FORWARDS + 1), *g = NULL;
	cleanup_free char *doc = NULL, *small = NULL;
	struct oci_err e;
	size_t cap = 64 + (PS_FORWARDS_MAX_FORWARDS + 1) * 4, off;

	assert_int_equal(ps_forwards_encode(f, &doc), -EFBIG);
	assert_null(doc);
	ps_forwards_free(f);
	/* Small in bytes, too many in number: the count is its own limit. */
	assert_non_null(small = malloc(cap));
	off = (size_t)snprintf(small, cap, "{\"forwards\":[");
	for (size_t i = 0; i <= PS_FORWARDS_MAX_FORWARDS; i++)
		off += (size_t)snprintf(small + off, cap - off, "%s{}", i ? "," : "");
	off += (size_t)snprintf(small + off, cap - off, "]}");
	assert_true(off < cap);
	oci_err_init(&e);
	assert_int_equal(ps_forwards_decode(small, off, &g, &e), -EFBIG);
	assert_err(&e, "more than");
	assert_null(g);
}

/* One network more in the forwards' own lists than PS_FORWARDS_MAX_ALLOW:
 * never written. */
static void test_allow_one_more_refused(void **state)
{
	(void)state;
	size_t full = PS_FORWARDS_MAX_ALLOW / OCI_ALLOW_MAX;
	struct ps_forwards *f = longest_record(full + 1);
	cleanup_free char *doc = NULL;

	assert_int_equal(ps_forwards_encode(f, &doc), 0);
	free(doc);
	doc = NULL;
	f->v[full].allow = f->v[0].allow;
	f->v[full].allow.n = 1;
	assert_int_equal(ps_forwards_encode(f, &doc), -EFBIG);
	assert_null(doc);
	ps_forwards_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parts),
		cmocka_unit_test_setup_teardown(test_largest_record_read_back, setup, teardown),
		cmocka_unit_test(test_one_more_refused),
		cmocka_unit_test(test_allow_one_more_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
