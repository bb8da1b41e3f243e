/* SPDX-License-Identifier: MIT */
/* The events codec (lib/events.c) and the Kubernetes name the hook records
 * (oci_kube_name): what portsidectl believes of a line, and of a name. */
#include "unit.h"

#include <errno.h>
#include <string.h>

#include "../../lib/events.h"
#include "../../oci/annotations.h"

static void test_event_round_trip(void **state)
{
	(void)state;
	struct ps_event ev, back;
	char line[PS_EVENT_LINE_MAX];
	int n;

	memset(&ev, 0, sizeof(ev));
	ps_event_time(ev.time, sizeof(ev.time));
	assert_int_equal(strlen(ev.time), 24); /* 2026-11-22T10:00:00.123Z */
	strcpy(ev.id, "abc123");
	ev.kind = PS_EV_AUTO_FORWARDED;
	ev.has_port = true;
	ev.proto = 0;
	assert_int_equal(oci_ip_parse("::", &ev.host_ip), 0);
	ev.external_port = 18080;
	ev.local_port = 3000;
	strcpy(ev.message, "the app opened \"it\"\non a new line");
	n = ps_event_encode(&ev, line, sizeof(line));
	assert_true(n > 0);
	/* One event, one line: the newline in the message is escaped. */
	assert_ptr_equal(strchr(line, '\n'), line + n - 1);
	assert_int_equal(ps_event_decode(line, (size_t)n, &back), 0);
	assert_int_equal(back.kind, PS_EV_AUTO_FORWARDED);
	assert_string_equal(back.id, "abc123");
	assert_true(back.has_port);
	assert_int_equal(back.host_ip.family, AF_INET6);
	assert_int_equal(back.external_port, 18080);
	assert_int_equal(back.local_port, 3000);
	assert_string_equal(back.message, ev.message);

	/* A port not forwarded: no host side. */
	memset(&ev, 0, sizeof(ev));
	strcpy(ev.time, "t");
	strcpy(ev.id, "x");
	ev.kind = PS_EV_REFUSED;
	ev.has_port = true;
	ev.local_port = 5001;
	strcpy(ev.reason, "localhost-only");
	n = ps_event_encode(&ev, line, sizeof(line));
	assert_null(strstr(line, "hostIP"));
	assert_int_equal(ps_event_decode(line, (size_t)n, &back), 0);
	assert_int_equal(back.host_ip.family, 0);
	assert_string_equal(back.reason, "localhost-only");
}

static void test_event_decode_refuses(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{\"time\":\"t\",\"id\":\"x\"}",			 /* no event */
		"{\"time\":\"t\",\"id\":\"x\",\"event\":\"exploded\"}",	 /* unknown */
		"{\"time\":\"t\",\"id\":\"../x\",\"event\":\"closed\"}", /* not an id */
		"{\"time\":\"t\",\"id\":\"x\",\"event\":\"closed\",\"protocol\":\"sctp\",\"localPort\":1}",
		"{\"time\":\"t\",\"id\":\"x\",\"event\":\"closed\",\"protocol\":\"tcp\",\"localPort\":70000}",
		"{\"time\":\"t\",\"id\":\"x\",\"event\":\"closed\",\"protocol\":\"tcp\",\"localPort\":\"80\"}",
		"{\"time\":\"t\",\"id\":\"x\",\"event\":\"closed\",\"protocol\":\"tcp\",\"localPort\":1,\"hostIP\":"
		"\"nope\","
		"\"externalPort\":1}",
		"{\"time\":7,\"id\":\"x\",\"event\":\"closed\"}",
	};
	struct ps_event ev;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ps_event_decode(bad[i], strlen(bad[i]), &ev), -EINVAL);
	/* Longer than any event: refused before it is parsed. */
	char big[PS_EVENT_LINE_MAX + 64];
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "{\"time\":\"t\",\"id\":\"x\",\"event\":\"closed\"}", 38);
	assert_int_equal(ps_event_decode(big, strlen(big), &ev), -EINVAL);
}

static void test_kube_name(void **state)
{
	(void)state;
	struct oci_kv kv[4] = {
		{"io.kubernetes.cri.container-type", "container"},
		{"io.kubernetes.cri.sandbox-namespace", "team-a"},
		{"io.kubernetes.cri.sandbox-name", "web-7f9"},
		{"io.kubernetes.cri.container-name", "server"},
	};
	struct oci_annotations ann = {4, kv};
	char out[OCI_KUBE_NAME_MAX];

	assert_int_equal(oci_kube_name(&ann, out, sizeof(out)), 0);
	assert_string_equal(out, "team-a/web-7f9/server");
	ann.n = 3; /* no container name: nothing recorded */
	assert_int_equal(oci_kube_name(&ann, out, sizeof(out)), -ENOENT);
	ann.n = 4;
	kv[0].value = "sandbox"; /* the pause container */
	assert_int_equal(oci_kube_name(&ann, out, sizeof(out)), -ENOENT);
	kv[0].value = "container";
	static char *const bad[] = {"../x", "A", "a/b", "-a", "a.", "", "a b", "caf\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kv[2].value = bad[i];
		assert_int_equal(oci_kube_name(&ann, out, sizeof(out)), -EINVAL);
	}
	/* 254 bytes is not a name. */
	char longname[255];
	memset(longname, 'a', 254);
	longname[254] = '\0';
	kv[2].value = longname;
	assert_int_equal(oci_kube_name(&ann, out, sizeof(out)), -EINVAL);
}

/* The bare io.kubernetes.pod.* keys are anyone's: a runc config.json, podman
 * --annotation, a kube play manifest. They name nothing. */
static void test_kube_name_not_from_bare_keys(void **state)
{
	(void)state;
	struct oci_kv kv[5] = {
		{"io.kubernetes.pod.namespace", "default"},
		{"io.kubernetes.pod.name", "web"},
		{"io.kubernetes.container.name", "app"},
		/* what podman writes itself next to a manifest's annotations */
		{"io.kubernetes.cri-o.ContainerType", "container"},
		{"io.kubernetes.cri-o.SandboxID", "f41557c0eabc"},
	};
	struct oci_annotations ann = {5, kv};
	char out[OCI_KUBE_NAME_MAX] = "";

	assert_int_equal(oci_kube_name(&ann, out, sizeof(out)), -ENOENT);
	assert_string_equal(out, "");
}

static void test_kube_name_crio(void **state)
{
	(void)state;
	struct oci_kv kv[2] = {
		{"io.kubernetes.cri-o.ContainerType", "container"},
		{"io.kubernetes.cri-o.Labels",
		 "{\"io.kubernetes.container.name\":\"server\",\"io.kubernetes.pod.name\":\"web-7f9\","
		 "\"io.kubernetes.pod.namespace\":\"team-a\",\"io.kubernetes.pod.uid\":\"aaaa\"}"},
	};
	struct oci_annotations ann = {2, kv};
	char out[OCI_KUBE_NAME_MAX];

	assert_int_equal(oci_kube_name(&ann, out, sizeof(out)), 0);
	assert_string_equal(out, "team-a/web-7f9/server");
	kv[0].value = "sandbox";
	assert_int_equal(oci_kube_name(&ann, out, sizeof(out)), -ENOENT);
	kv[0].value = "container";
	kv[1].value = "{\"io.kubernetes.pod.name\":\"web-7f9\"}";
	assert_int_equal(oci_kube_name(&ann, out, sizeof(out)), -ENOENT);
	kv[1].value = "not json";
	assert_int_equal(oci_kube_name(&ann, out, sizeof(out)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_round_trip), cmocka_unit_test(test_event_decode_refuses),
		cmocka_unit_test(test_kube_name),	 cmocka_unit_test(test_kube_name_not_from_bare_keys),
		cmocka_unit_test(test_kube_name_crio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
