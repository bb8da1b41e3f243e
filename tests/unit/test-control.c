/* SPDX-License-Identifier: MIT */
/* The control protocol's codec (lib/control.c): what each side sends is what
 * the other reads, and nothing else is taken for a request. */
#include "unit.h"

#include <errno.h>
#include <string.h>

#include "../../lib/control.h"

static void test_round_trip(void **state)
{
	(void)state;
	static const enum ps_ctl_cmd cmds[] = {PS_CTL_STOP, PS_CTL_STATUS, PS_CTL_LISTENERS, PS_CTL_ADOPT,
					       PS_CTL_RELEASE};
	char line[256];
	const char *arg;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int n = ps_ctl_encode(cmds[i], "abc-123", line, sizeof(line));

		assert_true(n > 0);
		assert_int_equal(line[n - 1], '\n');
		line[n - 1] = '\0';
		assert_int_equal(ps_ctl_decode(line, &arg), cmds[i]);
		if (cmds[i] == PS_CTL_ADOPT || cmds[i] == PS_CTL_RELEASE)
			assert_string_equal(arg, "abc-123");
		else
			assert_string_equal(arg, "");
	}
	/* Bounded: a request that does not fit is refused, never cut. */
	assert_int_equal(ps_ctl_encode(PS_CTL_ADOPT, "abc-123", line, 8), -ENAMETOOLONG);
}

static void test_decode_refuses(void **state)
{
	(void)state;
	static const char *const bad[] = {"",		"stopp",       "stop now",  "status ",	"adopt",      "adopt ",
					  "adopt ../x", "release a b", "ADOPT abc", "listener", "remaining 3"};
	const char *arg;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ps_ctl_decode(bad[i], &arg), PS_CTL_UNKNOWN);
}

static void test_remaining(void **state)
{
	(void)state;
	char r[32];
	unsigned n = 0;

	assert_true(ps_ctl_remaining_encode(3, r, sizeof(r)) > 0);
	assert_int_equal(ps_ctl_remaining_decode(r, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ps_ctl_remaining_decode("ok\n", &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_decode_refuses),
		cmocka_unit_test(test_remaining),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
