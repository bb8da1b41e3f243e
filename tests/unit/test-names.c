/* SPDX-License-Identifier: MIT */
/* Naming containers (ctl/names.c): what portsidectl believes of podman's and
 * crictl's answers, which names fit an argument, and how long an id must be
 * shown to be told from the others. */
#include "unit.h"

#include "../../ctl/ctl.h"

#define HEX_A "a81fd049832ac04396bc4819475faaddb5d209b416feb6c1c6529653244e1a7e"
#define HEX_B "868ed4d0f3e9ab261174671b444dcf6647785197806cf684d361ade0fd531093"

static void test_kube_matches(void **state)
{
	(void)state;
	assert_true(ctl_kube_matches("team-a/web/app", "team-a/web/app"));
	assert_true(ctl_kube_matches("team-a/web/app", "web/app"));
	/* Whole parts only, and never a bare container name. */
	assert_false(ctl_kube_matches("team-a/web/app", "eb/app"));
	assert_false(ctl_kube_matches("team-a/web/app", "app"));
	assert_false(ctl_kube_matches("team-a/web/app", "team-b/web/app"));
	assert_false(ctl_kube_matches("", "web/app"));
	assert_false(ctl_kube_matches("team-a/web/app", ""));
}

static void test_podman_line(void **state)
{
	(void)state;
	char id[65], name[OCI_KUBE_NAME_MAX];
	long pid = 0;

	assert_int_equal(
		ctl_podman_kube_line(HEX_A "\t15168\tkp\tkp-web\tfalse", id, sizeof(id), &pid, name, sizeof(name)), 0);
	assert_string_equal(id, HEX_A);
	assert_int_equal(pid, 15168);
	assert_string_equal(name, "default/kp/web");
	/* Added to the pod by hand: its own name. */
	assert_int_equal(
		ctl_podman_kube_line(HEX_A "\t7\tkp\tsidecar\tfalse\n", id, sizeof(id), &pid, name, sizeof(name)), 0);
	assert_string_equal(name, "default/kp/sidecar");
	/* The infra container, one outside a pod: no name. */
	assert_int_equal(ctl_podman_kube_line(HEX_A "\t7\tkp\t174e2d8a0f96-infra\ttrue", id, sizeof(id), &pid, name,
					      sizeof(name)),
			 -ENOENT);
	assert_int_equal(ctl_podman_kube_line(HEX_A "\t7\t\tplain\tfalse", id, sizeof(id), &pid, name, sizeof(name)),
			 -ENOENT);
	/* Not a line podman writes, or not a Kubernetes name. */
	static const char *const bad[] = {
		"",
		HEX_A,
		HEX_A "\t7\tkp\tkp-web",
		"a81fd049832a\t7\tkp\tkp-web\tfalse",
		HEX_A "\t0\tkp\tkp-web\tfalse",
		HEX_A "\t-7\tkp\tkp-web\tfalse",
		HEX_A "\tx\tkp\tkp-web\tfalse",
		HEX_A "\t7\tKP\tKP-web\tfalse",
		HEX_A "\t7\tkp\tkp-my_app\tfalse",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ctl_podman_kube_line(bad[i], id, sizeof(id), &pid, name, sizeof(name)), -EINVAL);
}

static void test_cri_inspect(void **state)
{
	(void)state;
	char name[OCI_KUBE_NAME_MAX];
	long pid = 0;
	const char *ok = "{\"status\": {\"id\": \"" HEX_A "\", \"metadata\": {\"name\": \"server\"},"
			 " \"labels\": {\"io.kubernetes.container.name\": \"server\","
			 " \"io.kubernetes.pod.name\": \"web-7f9\", \"io.kubernetes.pod.namespace\": \"team-a\"}},"
			 " \"info\": {\"pid\": 4242, \"sandboxID\": \"" HEX_B "\"}}";

	assert_int_equal(ctl_cri_inspect_parse(ok, strlen(ok), HEX_A, name, sizeof(name), &pid), 0);
	assert_string_equal(name, "team-a/web-7f9/server");
	assert_int_equal(pid, 4242);
	/* About another container: not an answer. */
	assert_int_equal(ctl_cri_inspect_parse(ok, strlen(ok), HEX_B, name, sizeof(name), &pid), -EINVAL);
	static const char *const bad[] = {
		"",
		"not json",
		"{\"status\": {\"id\": \"" HEX_A "\", \"labels\": {}}, \"info\": {\"pid\": 1}}",
		"{\"status\": {\"id\": \"" HEX_A "\", \"labels\": {\"io.kubernetes.container.name\": \"s\","
		" \"io.kubernetes.pod.name\": \"p\", \"io.kubernetes.pod.namespace\": \"n\"}}, \"info\": {}}",
		"{\"status\": {\"id\": \"" HEX_A "\", \"labels\": {\"io.kubernetes.container.name\": \"s\","
		" \"io.kubernetes.pod.name\": \"p\", \"io.kubernetes.pod.namespace\": \"n\"}}, \"info\": {\"pid\": 0}}",
		"{\"status\": {\"id\": \"" HEX_A "\", \"labels\": {\"io.kubernetes.container.name\": \"s\","
		" \"io.kubernetes.pod.name\": \"../p\", \"io.kubernetes.pod.namespace\": \"n\"}}, \"info\": {\"pid\": "
		"9}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ctl_cri_inspect_parse(bad[i], strlen(bad[i]), HEX_A, name, sizeof(name), &pid),
				 -EINVAL);
}

#define CTR_INFO                                                                                                       \
	"{\"ID\": \"%s\", \"Labels\": {\"io.cri-containerd.kind\": \"%s\"},"                                           \
	" \"Spec\": {\"annotations\": {\"io.kubernetes.cri.container-type\": \"%s\","                                  \
	" \"io.kubernetes.cri.sandbox-namespace\": \"team-a\","                                                        \
	" \"io.kubernetes.cri.sandbox-name\": \"web\", \"io.kubernetes.cri.container-name\": \"app\"}}}"

static void test_ctr_info(void **state)
{
	(void)state;
	char name[OCI_KUBE_NAME_MAX], buf[2048];

	snprintf(buf, sizeof(buf), CTR_INFO, HEX_A, "container", "container");
	assert_int_equal(ctl_ctr_info_parse(buf, strlen(buf), HEX_A, name, sizeof(name)), 0);
	assert_string_equal(name, "team-a/web/app");
	/* Another container's record, a sandbox, a record without the CRI
	 * plugin's kind (made with ctr run, spec and all written by anyone). */
	assert_int_equal(ctl_ctr_info_parse(buf, strlen(buf), HEX_B, name, sizeof(name)), -EINVAL);
	snprintf(buf, sizeof(buf), CTR_INFO, HEX_A, "sandbox", "sandbox");
	assert_int_equal(ctl_ctr_info_parse(buf, strlen(buf), HEX_A, name, sizeof(name)), -EINVAL);
	snprintf(buf, sizeof(buf), CTR_INFO, HEX_A, "other", "container");
	assert_int_equal(ctl_ctr_info_parse(buf, strlen(buf), HEX_A, name, sizeof(name)), -EINVAL);
	assert_int_equal(ctl_ctr_info_parse("{\"ID\": 7", 8, HEX_A, name, sizeof(name)), -EINVAL);
}

static void test_ctr_tasks(void **state)
{
	(void)state;
	const char *ls =
		"TASK                                                                PID      STATUS    \n" HEX_B
		"    4711     RUNNING\n" HEX_A "    815      STOPPED\n"
		"abc    12 RUNNING\n";

	assert_int_equal(ctl_ctr_task_pid(ls, HEX_A), 815);
	assert_int_equal(ctl_ctr_task_pid(ls, HEX_B), 4711);
	/* A whole id only, never a prefix of a longer one. */
	assert_int_equal(ctl_ctr_task_pid(ls, "ab"), -ENOENT);
	assert_int_equal(ctl_ctr_task_pid(ls, "abc"), 12);
	assert_int_equal(ctl_ctr_task_pid("", HEX_A), -ENOENT);
}

static void test_display_len(void **state)
{
	(void)state;
	char *alone[] = {HEX_A, HEX_B};
	/* An id chosen to be exactly another's 12 characters. */
	char *squat[] = {HEX_A, "a81fd049832a", HEX_B};
	/* Two random ids that share 14 characters. */
	char *near[] = {HEX_A, "a81fd049832ac0ffffffffffffffffffffffffffffffffffffffffffffffffff"};

	assert_int_equal(ctl_id_display_len(alone, 2, HEX_A), 12);
	assert_int_equal(ctl_id_display_len(alone, 0, HEX_A), 12);
	assert_int_equal(ctl_id_display_len(squat, 3, HEX_A), 13);
	assert_int_equal(ctl_id_display_len(squat, 3, "a81fd049832a"), 12); /* chosen: whole */
	assert_int_equal(ctl_id_display_len(squat, 3, HEX_B), 12);
	assert_int_equal(ctl_id_display_len(near, 2, HEX_A), 15);
	assert_int_equal(ctl_id_display_len(near, 2, near[1]), 15);
	assert_int_equal(ctl_id_display_len(alone, 2, "pstest-1-web"), strlen("pstest-1-web"));
	assert_true(ctl_id_shortened(HEX_A));
	assert_false(ctl_id_shortened("a81fd049832a"));
	assert_false(ctl_id_shortened(HEX_A "0"));
	/* Never longer than the id. */
	char *same[] = {HEX_A, HEX_A};
	assert_int_equal(ctl_id_display_len(same, 2, HEX_A), 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kube_matches), cmocka_unit_test(test_podman_line),
		cmocka_unit_test(test_cri_inspect),  cmocka_unit_test(test_ctr_info),
		cmocka_unit_test(test_ctr_tasks),    cmocka_unit_test(test_display_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
