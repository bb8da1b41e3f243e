/* SPDX-License-Identifier: MIT */
/* portsidectl top's pure parts (ctl/topframe.c): rates from two samples,
 * the order of the rows, and a frame cut to a window. */
#include "unit.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "../../ctl/top.h"
#include "../../oci/ports.h"

static struct ctl_top_row row(const char *id, unsigned ext, int64_t t)
{
	struct ctl_top_row r;

	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.shown, sizeof(r.shown), "%s", id);
	r.host_ip.family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", r.host_ip.a);
	r.external_port = (uint16_t)ext;
	r.local_port = 3000;
	r.proto = OCI_PROTO_TCP;
	r.state = CTL_TOP_RUNNING;
	r.t_ms = t;
	return r;
}

static void test_rates(void **state)
{
	(void)state;
	struct ctl_top_row prev[3], cur[4];

	prev[0] = row("web", 8080, 1000);
	prev[0].conns_total = 10, prev[0].bytes_in = 1000, prev[0].bytes_out = 5000, prev[0].refused = 2;
	prev[1] = row("web", 8081, 1000);
	prev[1].conns_total = 100, prev[1].bytes_in = 1 << 20;
	prev[2] = row("db", 5432, 1000);
	prev[2].state = CTL_TOP_SILENT;

	/* Half a second later: the rates are per second. */
	cur[0] = row("web", 8080, 1500);
	cur[0].conns_total = 15, cur[0].bytes_in = 2000, cur[0].bytes_out = 5000, cur[0].refused = 3;
	/* A counter that went down: a new sidecar counts from 0. */
	cur[1] = row("web", 8081, 1500);
	cur[1].conns_total = 4, cur[1].bytes_in = 100;
	/* The earlier sample of it had no counters. */
	cur[2] = row("db", 5432, 1500);
	cur[2].conns_total = 7;
	/* A mapping with no earlier sample. */
	cur[3] = row("web", 9090, 1500);
	cur[3].conns_total = 7;

	ctl_top_rates(cur, 4, prev, 3);
	assert_true(cur[0].rated);
	assert_true(cur[0].conns_s == 10.0);
	assert_true(cur[0].in_s == 2000.0);
	assert_true(cur[0].out_s == 0.0);
	assert_true(cur[0].refused_s == 2.0);
	assert_true(cur[1].rated);
	assert_true(cur[1].conns_s == 8.0);
	assert_true(cur[1].in_s == 200.0);
	assert_false(cur[2].rated);
	assert_false(cur[3].rated);
	assert_true(cur[3].conns_s == 0.0);

	/* The same mapping on another address or protocol is another row. */
	struct ctl_top_row p6 = row("web", 8080, 1000), c6 = row("web", 8080, 2000), cu = row("web", 8080, 2000);
	p6.host_ip.family = AF_INET6;
	memset(p6.host_ip.a, 0, 16);
	cu.proto = OCI_PROTO_UDP;
	ctl_top_rates(&c6, 1, &p6, 1);
	assert_false(c6.rated);
	ctl_top_rates(&cu, 1, &prev[0], 1);
	assert_false(cu.rated);

	/* No time between the two: no rate rather than a division by 0. */
	struct ctl_top_row a = row("web", 8080, 1000), b = row("web", 8080, 1000);
	b.conns_total = 3;
	ctl_top_rates(&b, 1, &a, 1);
	assert_false(b.rated);
	/* Nothing before: nothing rated, and no crash. */
	ctl_top_rates(&b, 1, NULL, 0);
	assert_false(b.rated);
}

static void test_sort(void **state)
{
	(void)state;
	struct ctl_top_row v[5];

	v[0] = row("a", 1, 0);				  /* idle */
	v[1] = row("b", 2, 0), v[1].in_s = 10;		  /* some traffic */
	v[2] = row("c", 3, 0), v[2].out_s = 1e6;	  /* the most */
	v[3] = row("d", 4, 0), v[3].conns_s = 5;	  /* connections, no bytes */
	v[4] = row("0", 5, 0), v[4].state = CTL_TOP_DEAD; /* idle, dead */
	ctl_top_sort(v, 5);
	assert_string_equal(v[0].id, "c");
	assert_string_equal(v[1].id, "b");
	assert_string_equal(v[2].id, "d");
	/* Equal traffic: running first, then by container. */
	assert_string_equal(v[3].id, "a");
	assert_string_equal(v[4].id, "0");
	ctl_top_sort(NULL, 0);
}

static void test_human(void **state)
{
	(void)state;
	char b[16];

	ctl_top_human(0, b, sizeof(b));
	assert_string_equal(b, "0B");
	ctl_top_human(999, b, sizeof(b));
	assert_string_equal(b, "999B");
	ctl_top_human(1500, b, sizeof(b));
	assert_string_equal(b, "1.5kB");
	ctl_top_human(2e6, b, sizeof(b));
	assert_string_equal(b, "2.0MB");
	/* Never "1000.0kB". */
	ctl_top_human(999999, b, sizeof(b));
	assert_string_equal(b, "1.0MB");
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Every line of S at most W characters, each printable ASCII. */
static void assert_clean(const char *s, unsigned w)
{
	unsigned col = 0;

	for (; *s; s++) {
		if (*s == '\n') {
			col = 0;
			continue;
		}
		assert_true(*s >= 0x20 && *s < 0x7f);
		assert_true(++col <= w);
	}
}

static void test_format(void **state)
{
	(void)state;
	struct ctl_top_row v[30];
	char buf[8192];
	size_t len;

	for (int i = 0; i < 30; i++) {
		char id[16];

		snprintf(id, sizeof(id), "ct%02d", i);
		v[i] = row(id, 8000 + (unsigned)i, 0);
		v[i].rated = true;
		v[i].in_s = 1500, v[i].out_s = 2e6, v[i].conns_s = 2.5, v[i].conns_live = 7;
	}
	v[1].rated = false;
	v[2].state = CTL_TOP_DEAD, v[2].rated = false;
	snprintf(v[3].name, sizeof(v[3].name), "ns/pod/\033[31mapp\n");

	/* No limits: a title, the header and every row. */
	len = ctl_top_format(v, 30, "title", 0, 0, buf, sizeof(buf));
	assert_int_equal(len, strlen(buf));
	assert_int_equal(count_lines(buf), 32);
	assert_non_null(strstr(buf, "CONTAINER"));
	assert_non_null(strstr(buf, "REFUSED/S"));
	assert_non_null(strstr(buf, "127.0.0.1:8000"));
	assert_non_null(strstr(buf, "3000/tcp"));
	assert_non_null(strstr(buf, "1.5kB"));
	assert_non_null(strstr(buf, "2.0MB"));
	assert_non_null(strstr(buf, "2.5"));
	assert_non_null(strstr(buf, "dead"));
	/* A name's escape and newline never reach the terminal. */
	assert_null(strchr(buf, '\033'));
	assert_non_null(strstr(buf, "ns/pod/?[31mapp?"));
	/* No trailing blanks. */
	assert_null(strstr(buf, " \n"));

	/* A window of 40x10: 10 lines, the last says how many are left. */
	len = ctl_top_format(v, 30, "title", 40, 10, buf, sizeof(buf));
	assert_int_equal(len, strlen(buf));
	assert_int_equal(count_lines(buf), 10);
	assert_clean(buf, 40);
	assert_non_null(strstr(buf, "... 23 more mappings"));
	/* Every row fits: no such line. */
	len = ctl_top_format(v, 8, "title", 200, 10, buf, sizeof(buf));
	assert_int_equal(count_lines(buf), 10);
	assert_null(strstr(buf, "more"));
	/* One row too many: 7 rows and the line. */
	ctl_top_format(v, 9, "title", 200, 10, buf, sizeof(buf));
	assert_int_equal(count_lines(buf), 10);
	assert_non_null(strstr(buf, "... 2 more mappings"));

	/* Tiny windows still render, within bounds. */
	for (unsigned h = 1; h <= 4; h++)
		for (unsigned w = 1; w <= 12; w++) {
			ctl_top_format(v, 30, "title", w, h, buf, sizeof(buf));
			assert_int_equal(count_lines(buf), h);
			assert_clean(buf, w);
		}

	/* A buffer too small: cut, NUL-terminated, the whole length told. */
	char small[16];
	memset(small, 'x', sizeof(small));
	len = ctl_top_format(v, 30, NULL, 0, 0, small, sizeof(small));
	assert_true(len > sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(ctl_top_format(v, 30, NULL, 0, 0, NULL, 0), len);

	/* Nothing forwarded: the header alone. */
	ctl_top_format(v, 0, NULL, 0, 0, buf, sizeof(buf));
	assert_int_equal(count_lines(buf), 1);
}

static void test_format_long_id(void **state)
{
	(void)state;
	struct ctl_top_row r = row("x", 80, 0);
	char buf[4096];

	memset(r.shown, 'a', 200);
	r.shown[200] = '\0';
	ctl_top_format(&r, 1, NULL, 0, 0, buf, sizeof(buf));
	/* The column holds 64 characters of it, the rest of the line follows. */
	char *row2 = strchr(buf, '\n') + 1;
	assert_int_equal(strspn(row2, "a"), 64);
	assert_non_null(strstr(row2, "127.0.0.1:80"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates),  cmocka_unit_test(test_sort),	      cmocka_unit_test(test_human),
		cmocka_unit_test(test_format), cmocka_unit_test(test_format_long_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
