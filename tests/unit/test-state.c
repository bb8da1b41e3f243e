/* SPDX-License-Identifier: MIT */
/* The runtime-spec state on a hook's stdin, as runc, crun and podman write it. */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../oci/state.h"

static struct oci_state *ok(const char *doc)
{
	struct oci_state *s = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (oci_state_parse(doc, strlen(doc), &s, &e) < 0) {
		fprintf(stderr, "refused %s:\n", doc);
		oci_err_print(&e, stderr, "  ");
		fail();
	}
	return s;
}

static void bad_at(const char *doc, const char *needle, const char *file, int line)
{
	struct oci_state *s = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (oci_state_parse(doc, strlen(doc), &s, &e) == 0) {
		fprintf(stderr, "%s:%d: %s was accepted\n", file, line, doc);
		oci_state_free(s);
		fail();
	}
	unit_assert_err(&e, needle, file, line);
}
#define bad(d, n) bad_at((d), (n), __FILE__, __LINE__)

static void test_runc(void **state)
{
	(void)state;
	struct oci_state *s = ok("{\"ociVersion\":\"1.0.2-dev\",\"id\":\"web1\",\"status\":\"creating\",\"pid\":4242,"
				 "\"bundle\":\"/run/bundles/web1\",\"annotations\":{\"io.portside.ports\":\"80:3000\","
				 "\"org.example\":\"x\"}}");

	assert_string_equal(s->id, "web1");
	assert_string_equal(s->status, "creating");
	assert_int_equal(s->pid, 4242);
	assert_string_equal(s->bundle, "/run/bundles/web1");
	assert_int_equal(s->ann.n, 2);
	assert_string_equal(oci_annotations_get(&s->ann, "io.portside.ports"), "80:3000");
	assert_null(oci_annotations_get(&s->ann, "io.portside.autoforward"));
	assert_true(oci_annotations_want_portside(&s->ann));
	oci_state_free(s);
}

static void test_crun_lenient(void **state)
{
	(void)state;
	/* crun: "1.0" and an extra "root"; poststop: no pid at all. */
	struct oci_state *s = ok("{\"ociVersion\":\"1.0\",\"id\":\"c\",\"status\":\"stopped\",\"bundle\":\"/b\","
				 "\"root\":\"/run/crun\",\"created\":\"2026-01-01T00:00:00Z\"}");

	assert_string_equal(s->oci_version, "1.0");
	assert_int_equal(s->pid, 0);
	assert_int_equal(s->ann.n, 0);
	assert_false(oci_annotations_want_portside(&s->ann));
	oci_state_free(s);
	/* runc's poststop: pid 0. */
	s = ok("{\"ociVersion\":\"1.2.0\",\"id\":\"c\",\"status\":\"stopped\",\"pid\":0,\"bundle\":\"/"
	       "b\",\"annotations\":null}");
	assert_int_equal(s->pid, 0);
	oci_state_free(s);
}

static void test_non_string_annotations(void **state)
{
	(void)state;
	/* Someone else's odd annotation is not portside's business... */
	struct oci_state *s =
		ok("{\"ociVersion\":\"1\",\"id\":\"c\",\"bundle\":\"/b\",\"annotations\":{\"x\":1,\"y\":\"z\"}}");

	assert_int_equal(s->ann.n, 1);
	oci_state_free(s);
	/* ...a portside one is. */
	bad("{\"ociVersion\":\"1\",\"id\":\"c\",\"bundle\":\"/b\",\"annotations\":{\"io.portside.ports\":80}}",
	    "annotation io.portside.ports must be a string");
	bad("{\"ociVersion\":\"1\",\"id\":\"c\",\"bundle\":\"/"
	    "b\",\"annotations\":{\"io.portside.ports\":\"80:3000\\u0000x\"}}",
	    "contains a NUL character");
	bad("{\"ociVersion\":\"1\",\"id\":\"c\",\"bundle\":\"/b\",\"annotations\":[]}",
	    "annotations must be an object");
}

static void test_refusals(void **state)
{
	(void)state;
	bad("{\"id\":\"c\",\"bundle\":\"/b\"}", "field ociVersion is missing");
	bad("{\"ociVersion\":\"1\",\"bundle\":\"/b\"}", "field id is missing");
	bad("{\"ociVersion\":\"1\",\"id\":\"c\"}", "field bundle is missing");
	bad("{\"ociVersion\":1,\"id\":\"c\",\"bundle\":\"/b\"}", "ociVersion must be a string, not an integer");
	bad("{\"ociVersion\":\"1\",\"id\":\"../etc\",\"bundle\":\"/b\"}", "is not a safe name");
	bad("{\"ociVersion\":\"1\",\"id\":\"..\",\"bundle\":\"/b\"}", "is not a safe name");
	bad("{\"ociVersion\":\"1\",\"id\":\"a/b\",\"bundle\":\"/b\"}", "is not a safe name");
	bad("{\"ociVersion\":\"1\",\"id\":\"\",\"bundle\":\"/b\"}", "is not a safe name");
	bad("{\"ociVersion\":\"1\",\"id\":\"c\",\"bundle\":\"relative\"}", "is not an absolute path");
	bad("{\"ociVersion\":\"1\",\"id\":\"c\",\"bundle\":\"/b\",\"pid\":-5}", "pid is out of range");
	bad("{\"ociVersion\":\"1\",\"id\":\"c\",\"bundle\":\"/b\",\"pid\":99999999999}", "pid is out of range");
	bad("{\"ociVersion\":\"1\",\"id\":\"c\",\"bundle\":\"/b\",\"pid\":\"12\"}", "pid must be an integer");
	bad("[1]", "state must be a JSON object, not an array");
	bad("{\"ociVersion\":\"1\",\"id\":\"c\",\"bundle\":\"/b\"} {}", "trailing characters");
	bad("{\"ociVersion\":\"\xc0\xaf\"}", "not valid UTF-8");
	bad("", "JSON ends early");
}

static void test_id_rules(void **state)
{
	(void)state;
	char id[OCI_ID_MAX_LEN + 2];

	assert_true(oci_id_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_true(oci_id_valid("k8s_POD_web-1.2+x"));
	assert_false(oci_id_valid("a b"));
	assert_false(oci_id_valid("a\nb"));
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	assert_false(oci_id_valid(id));
	id[OCI_ID_MAX_LEN] = '\0';
	assert_true(oci_id_valid(id));
}

static void test_read_fd_cap(void **state)
{
	(void)state;
	int fds[2];
	struct oci_state *s = NULL;
	struct oci_err e;
	const char *doc = "{\"ociVersion\":\"1\",\"id\":\"p\",\"bundle\":\"/b\",\"pid\":1}";

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], doc, strlen(doc)), (ssize_t)strlen(doc));
	close(fds[1]);
	oci_err_init(&e);
	assert_int_equal(oci_state_read(fds[0], &s, &e), 0);
	close(fds[0]);
	assert_string_equal(s->id, "p");
	oci_state_free(s);

	/* Past the cap: refused, not read to the end. /dev/zero never ends. */
	int z = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	assert_true(z >= 0);
	oci_err_init(&e);
	assert_int_equal(oci_state_read(z, &s, &e), -EFBIG);
	assert_err(&e, "state is larger than 1048576 bytes");
	close(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runc),
		cmocka_unit_test(test_crun_lenient),
		cmocka_unit_test(test_non_string_annotations),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_id_rules),
		cmocka_unit_test(test_read_fd_cap),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
