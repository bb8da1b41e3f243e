/* SPDX-License-Identifier: MIT */
/* The events codec (lib/events.c) and the Kubernetes name the hook records
 * (oci_kube_name): what portsidectl believes of a line, and of a name. */
#include "unit.h"

#include <errno.h>
#include <string.h>

#include "../../lib/events.h"
#include "../../oci/annotations.h"

#define T "2026-11-22T10:00:00.123Z" /* a good time, so that each bad line is bad for one reason */

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
	strcpy(ev.time, "2026-11-22T10:00:00Z"); /* as the hook's refusal log writes it */
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
		"{\"time\":\"" T "\",\"id\":\"x\"}",			     /* no event */
		"{\"time\":\"" T "\",\"id\":\"x\",\"event\":\"exploded\"}",  /* unknown */
		"{\"time\":\"" T "\",\"id\":\"../x\",\"event\":\"closed\"}", /* not an id */
		"{\"time\":\"" T "\",\"id\":\"x\",\"event\":\"closed\",\"protocol\":\"sctp\",\"localPort\":1}",
		"{\"time\":\"" T "\",\"id\":\"x\",\"event\":\"closed\",\"protocol\":\"tcp\",\"localPort\":70000}",
		"{\"time\":\"" T "\",\"id\":\"x\",\"event\":\"closed\",\"protocol\":\"tcp\",\"localPort\":\"80\"}",
		"{\"time\":\"" T "\",\"id\":\"x\",\"event\":\"closed\",\"protocol\":\"tcp\",\"localPort\":1,\"hostIP\":"
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
	static const char ok[] = "{\"time\":\"" T "\",\"id\":\"x\",\"event\":\"closed\"}";
	memcpy(big, ok, strlen(ok));
	assert_int_equal(ps_event_decode(big, strlen(big), &ev), -EINVAL);
}

/* The time is shown as it is (`portsidectl events`, --json): nothing but
 * digits in the one shape the sidecar writes, never a byte of anything else. */
static void test_event_time_strict(void **state)
{
	(void)state;
	static const char *const good[] = {"2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123Z",
					   "2026-11-22T10:00:00.123456789Z"};
	static const char *const bad[] = {
		"",
		"t",
		"2026-11-22T10:00:00",		   /* no Z */
		"2026-11-22 10:00:00Z",		   /* a space */
		"2026-11-22T10:00:00.Z",	   /* no digit after the dot */
		"2026-11-22T10:00:00.1234567890Z", /* ten */
		"2026-11-22T10:00:00Zx",
		"2026-11-22T10:00:00+01:00",
		"\\u001b[2J2026-11-22T10:00:00Z", /* an escape, as JSON */
		"2026-11-22T10:00:0\\u00e9Z",
		"2026-11-22T10:00:00\\u00adZ",
		"\\u0000026-11-22T10:00:00Z",
		"\\u0662026-11-22T10:00:00Z", /* an Arabic-Indic digit */
	};
	struct ps_event ev;
	char line[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(line, sizeof(line), "{\"time\":\"%s\",\"id\":\"x\",\"event\":\"closed\"}", good[i]);
		assert_int_equal(ps_event_decode(line, strlen(line), &ev), 0);
		assert_string_equal(ev.time, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "{\"time\":\"%s\",\"id\":\"x\",\"event\":\"closed\"}", bad[i]);
		assert_int_equal(ps_event_decode(line, strlen(line), &ev), -EINVAL);
	}
	/* Raw bytes that are no UTF-8 (json-c passes them through). */
	static const char raw[] = "{\"time\":\"2026-11-22T10:00:00\xff\xfeZ\",\"id\":\"x\",\"event\":\"closed\"}";
	assert_int_equal(ps_event_decode(raw, strlen(raw), &ev), -EINVAL);
	assert_false(ps_event_time_valid("2026-11-22T10:00:00\xc3\xa9Z"));
	assert_true(ps_event_time_valid("2026-11-22T10:00:00Z"));
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
		cmocka_unit_test(test_kube_name_crio),	 cmocka_unit_test(test_event_time_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
