/* SPDX-License-Identifier: MIT */
/* The control socket's replies (lib/reply.c, and sidecar/reply.c that fills
 * them): whatever the container makes the sidecar see, a reply is whole,
 * valid JSON that decodes back to what was encoded, never writes past what
 * it allocated (run under `make asan`), and a reply that is not what the
 * sidecar writes is refused, not half-read. */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/control.h"
#include "../../lib/reply.h"
#include "../../lib/rundir.h"
#include "../../oci/ports.h"
#include "../../sidecar/sidecar.h"

static struct ps_listener listener(const char *addr, unsigned port, unsigned proto)
{
	struct ps_listener l = {.port = (uint16_t)port, .proto = (uint8_t)proto};

	assert_int_equal(oci_ip_parse(addr, &l.ip), 0);
	return l;
}

static void assert_one_line(const char *s)
{
	assert_non_null(s);
	assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);
}

/* 512 IPv6-only listeners on 39-character addresses: what overflowed the
 * fixed-size buffer (96 bytes a listener) before. */
static void test_listeners_512_long_ipv6(void **state)
{
	(void)state;
	struct ps_listener *l = calloc(512, sizeof(*l));
	struct ps_listeners back;
	char a[OCI_IP_LEN];
	char *s;

	assert_non_null(l);
	for (size_t i = 0; i < 512; i++) {
		char addr[64];

		snprintf(addr, sizeof(addr), "fd12:3456:789a:bcde:f012:3456:789a:%04zx", i + 0x1000);
		assert_int_equal(strlen(addr), 39);
		l[i] = listener(addr, 65535, i < 500 ? OCI_PROTO_TCP : OCI_PROTO_UDP);
		l[i].dual = i % 2;
	}
	s = ps_listeners_encode(l, 512, 0);
	assert_one_line(s);
	assert_int_equal(ps_listeners_decode(s, strlen(s), &back, NULL), 0);
	assert_string_equal(back.error, "");
	assert_int_equal(back.n, 512);
	for (size_t i = 0; i < 512; i++) {
		assert_int_equal(back.v[i].port, 65535);
		assert_int_equal(back.v[i].proto, l[i].proto);
		assert_int_equal(back.v[i].dual, l[i].dual);
		assert_false(back.v[i].mapped);
		assert_true(oci_ip_equal(&back.v[i].ip, &l[i].ip));
	}
	oci_ip_format(&back.v[511].ip, a);
	assert_string_equal(a, "fd12:3456:789a:bcde:f012:3456:789a:11ff");
	ps_listeners_free(&back);
	free(s);
	free(l);
}

static void test_listeners_error_and_mapped(void **state)
{
	(void)state;
	struct ps_listener l = listener("127.0.0.1", 8080, OCI_PROTO_UDP);
	struct ps_listeners back;
	char *s;

	l.mapped = true;
	s = ps_listeners_encode(&l, 1, 0);
	assert_int_equal(ps_listeners_decode(s, strlen(s), &back, NULL), 0);
	assert_int_equal(back.n, 1);
	assert_int_equal(back.v[0].proto, OCI_PROTO_UDP);
	assert_true(back.v[0].mapped);
	ps_listeners_free(&back);
	free(s);

	/* The sidecar could not look: the list is empty and says why. */
	s = ps_listeners_encode(NULL, 0, EPERM);
	assert_one_line(s);
	assert_int_equal(ps_listeners_decode(s, strlen(s), &back, NULL), 0);
	assert_int_equal(back.n, 0);
	assert_string_equal(back.error, strerror(EPERM));
	free(s);
	/* ... on one line, whatever the error says. */
	assert_int_equal(ps_listeners_decode("{\"error\":\"two\\nlines\"}", 22, &back, NULL), 0);
	assert_string_equal(back.error, "two");
	/* ... harmless: no escape sequence for root's terminal, and a cut
	 * inside a character leaves no half of it. */
	assert_int_equal(ps_listeners_decode("{\"error\":\"\\u001b[2Jgone\"}", 25, &back, NULL), 0);
	assert_string_equal(back.error, "?[2Jgone");
	{
		char doc[512], want[128];
		int n = snprintf(doc, sizeof(doc), "{\"error\":\"xy");

		for (int i = 0; i < 100; i++)
			n += snprintf(doc + n, sizeof(doc) - (size_t)n, "\xc3\xa9");
		n += snprintf(doc + n, sizeof(doc) - (size_t)n, "\"}");
		assert_int_equal(ps_listeners_decode(doc, (size_t)n, &back, NULL), 0);
		/* "xy" and 62 whole characters fit in the 127 bytes, and the
		 * first byte of the 63rd: it is a '?'. */
		n = snprintf(want, sizeof(want), "xy");
		for (int i = 0; i < 62; i++)
			n += snprintf(want + n, sizeof(want) - (size_t)n, "\xc3\xa9");
		snprintf(want + n, sizeof(want) - (size_t)n, "?");
		assert_string_equal(back.error, want);
	}
	assert_int_equal(ps_listeners_decode("{\"error\":7}", 11, &back, NULL), 0);
	assert_string_equal(back.error, "unknown error");
}

/* Thousands of forwards with counters at their widest, filled from the
 * sidecar's own structures and read back whole. */
static void test_status_many_forwards(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct sc_ctx ctx = {.nfw = N, .conns_live = 4000000000u};
	struct sc_forward *fw = calloc(N, sizeof(*fw));
	struct ps_status back;
	char *s;

	ctx.fw = calloc(N, sizeof(*ctx.fw));
	assert_non_null(fw);
	assert_non_null(ctx.fw);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(oci_ip_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", &fw[i].cfg.host_ip), 0);
		fw[i].cfg.external_port = 65535;
		fw[i].cfg.local_port = (uint16_t)(i + 1);
		fw[i].cfg.proto = i % 2 ? OCI_PROTO_UDP : OCI_PROTO_TCP;
		fw[i].cfg.auto_assigned = i % 3 == 0;
		fw[i].bytes_in = fw[i].conns_total = UINT64_MAX;
		fw[i].bytes_out = i;
		fw[i].conns_live = 4000000000u;
		ctx.fw[i] = &fw[i];
	}
	s = sc_reply_status(&ctx);
	assert_one_line(s);
	assert_int_equal(ps_status_decode(s, strlen(s), &back, NULL), 0);
	assert_int_equal(back.pid, getpid());
	assert_int_equal(back.conns_live, 4000000000u);
	assert_int_equal(back.n, N);
	for (size_t i = 0; i < N; i++) {
		const struct ps_fwd_status *b = &back.v[i];

		assert_true(oci_ip_equal(&b->map.host_ip, &fw[i].cfg.host_ip));
		assert_int_equal(b->map.external_port, 65535);
		assert_int_equal(b->map.local_port, i + 1);
		assert_int_equal(b->map.proto, fw[i].cfg.proto);
		assert_int_equal(b->map.auto_assigned, fw[i].cfg.auto_assigned);
		assert_true(b->bytes_in == UINT64_MAX && b->conns_total == UINT64_MAX);
		assert_int_equal(b->bytes_out, i);
		assert_int_equal(b->conns_live, 4000000000u);
	}
	ps_status_free(&back);
	free(s);
	free(ctx.fw);
	free(fw);
}
static int status_rc(const char *json);

/* The status reply carries what portsidectl ls shows: visibility always, a
 * label only where the mapping has one. */
static void test_status_label_visibility(void **state)
{
	(void)state;
	struct ps_fwd_status v[2] = {0};
	struct ps_status st = {.n = 2, .v = v, .auto_binds = 1234567890123ull, .auto_waiting = 40}, back;
	char *s;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(oci_ip_parse("127.0.0.1", &v[i].map.host_ip), 0);
		v[i].map.external_port = v[i].map.local_port = (uint16_t)(8080 + i);
	}
	v[0].map.visibility = OCI_VISIBILITY_PRIVATE;
	snprintf(v[0].map.label, sizeof(v[0].map.label), "web");
	s = ps_status_encode(&st);
	/* One label in the reply: the second mapping has none. */
	assert_non_null(strstr(s, "\"label\":\"web\""));
	assert_null(strstr(strstr(s, "\"label\"") + 1, "\"label\""));
	assert_int_equal(ps_status_decode(s, strlen(s), &back, NULL), 0);
	assert_int_equal(back.v[0].map.visibility, OCI_VISIBILITY_PRIVATE);
	assert_string_equal(back.v[0].map.label, "web");
	assert_int_equal(back.v[1].map.visibility, OCI_VISIBILITY_PUBLIC);
	assert_string_equal(back.v[1].map.label, "");
	/* Automatic forwarding's counters (absent from an older sidecar's: 0). */
	assert_int_equal(back.auto_binds, 1234567890123ull);
	assert_int_equal(back.auto_waiting, 40);
	ps_status_free(&back);
	free(s);
	assert_int_equal(status_rc("{\"pid\":1,\"connections\":0,\"forwards\":[],\"autoforwardBinds\":-1}"), -EPROTO);
	assert_int_equal(status_rc("{\"pid\":1,\"connections\":0,\"forwards\":[]}"), 0);
}

static int status_rc(const char *json)
{
	struct ps_status st;
	struct oci_err e;
	int rc;

	oci_err_init(&e);
	rc = ps_status_decode(json, strlen(json), &st, &e);
	if (rc == 0)
		ps_status_free(&st);
	else
		assert_true(e.count > 0); /* refused, and said why */
	return rc;
}

static int listeners_rc(const char *json)
{
	struct ps_listeners l;
	int rc = ps_listeners_decode(json, strlen(json), &l, NULL);

	if (rc == 0)
		ps_listeners_free(&l);
	return rc;
}

#define FW(extra)                                                                                                      \
	"{\"pid\":1,\"connections\":0,\"forwards\":[{\"hostIP\":\"0.0.0.0\",\"externalPort\":8080,"                    \
	"\"localPort\":80,\"protocol\":\"tcp\",\"auto\":false" extra "}]}"

/* Strict about what it reads, silent about what it does not know. */
/* Each forward's refused addresses (allow): kept newest first, at most
 * PS_NOT_ALLOWED_MAX, read back as sent; more is refused. */
static void test_status_not_allowed(void **state)
{
	(void)state;
	struct ps_fwd_status fw = {.map = {.local_port = 80, .external_port = 8080}};
	struct ps_status s = {.n = 1, .v = &fw}, back;
	char *line;

	assert_int_equal(oci_ip_parse("127.0.0.1", &fw.map.host_ip), 0);
	for (unsigned i = 0; i < PS_NOT_ALLOWED_MAX; i++) {
		char a[32];

		snprintf(a, sizeof(a), i % 2 ? "2001:db8::%u" : "192.0.2.%u", i + 1);
		assert_int_equal(oci_ip_parse(a, &fw.not_allowed[i].ip), 0);
		fw.not_allowed[i].count = 1000 + i;
		fw.not_allowed[i].ago = i;
	}
	fw.n_not_allowed = PS_NOT_ALLOWED_MAX;
	assert_non_null(line = ps_status_encode(&s));
	assert_non_null(strstr(line, "\"notAllowed\":[{\"address\":\"192.0.2.1\",\"count\":1000,\"ago\":0}"));
	assert_int_equal(ps_status_decode(line, strlen(line), &back, NULL), 0);
	assert_int_equal(back.n, 1);
	assert_int_equal(back.v[0].n_not_allowed, PS_NOT_ALLOWED_MAX);
	for (unsigned i = 0; i < PS_NOT_ALLOWED_MAX; i++) {
		assert_true(oci_ip_equal(&back.v[0].not_allowed[i].ip, &fw.not_allowed[i].ip));
		assert_int_equal(back.v[0].not_allowed[i].count, 1000 + i);
		assert_int_equal(back.v[0].not_allowed[i].ago, i);
	}
	ps_status_free(&back);
	free(line);
	/* None: no field at all. */
	fw.n_not_allowed = 0;
	assert_non_null(line = ps_status_encode(&s));
	assert_null(strstr(line, "notAllowed\":["));
	free(line);
	assert_true(status_rc(FW(",\"notAllowed\":[{\"address\":\"1.1.1.1\"},{\"address\":\"1.1.1.2\"},"
				 "{\"address\":\"1.1.1.3\"},{\"address\":\"1.1.1.4\"},{\"address\":\"1.1.1.5\"}]")) <
		    0);
	assert_true(status_rc(FW(",\"notAllowed\":[{\"address\":\"somewhere\"}]")) < 0);
	assert_true(status_rc(FW(",\"notAllowed\":[{\"address\":\"1.1.1.1\",\"count\":-1}]")) < 0);
	assert_true(status_rc(FW(",\"notAllowed\":{}")) < 0);
	assert_int_equal(status_rc(FW(",\"notAllowed\":[{\"address\":\"::1\",\"count\":3,\"ago\":2}]")), 0);
}

static void test_decode_refuses(void **state)
{
	(void)state;
	assert_int_equal(status_rc(FW("")), 0);
	assert_int_equal(status_rc(FW(",\"somethingNew\":[1,2]")), 0);
	assert_int_equal(status_rc("{\"forwards\":[]}\n"), 0);
	assert_true(status_rc("[]") < 0);
	assert_true(status_rc("{}") < 0);
	assert_true(status_rc("{\"forwards\":{}}") < 0);
	assert_true(status_rc("{\"forwards\":[7]}") < 0);
	assert_true(status_rc(FW(",\"bytesIn\":-1")) < 0);
	assert_true(status_rc(FW(",\"bytesIn\":\"12\"")) < 0);
	assert_true(status_rc(FW(",\"label\":\"\\u001b[31m\"")) < 0);
	assert_true(status_rc(FW(",\"visibility\":\"secret\"")) < 0);
	assert_true(status_rc(FW("") " trailing") < 0);
	assert_true(status_rc("{\"pid\":-3,\"forwards\":[]}") < 0);
	assert_true(status_rc("{\"forwards\":[{\"hostIP\":\"0.0.0.0\",\"externalPort\":70000,\"localPort\":80,"
			      "\"protocol\":\"tcp\",\"auto\":false}]}") < 0);
	assert_true(status_rc("{\"forwards\":[{\"hostIP\":\"host\",\"externalPort\":8080,\"localPort\":80,"
			      "\"protocol\":\"tcp\",\"auto\":false}]}") < 0);
	assert_true(status_rc("{\"forwards\":[{\"hostIP\":\"0.0.0.0\",\"externalPort\":8080,\"localPort\":80,"
			      "\"protocol\":\"sctp\",\"auto\":false}]}") < 0);

	assert_int_equal(listeners_rc("{\"listeners\":[]}"), 0);
	assert_int_equal(listeners_rc("{\"listeners\":[{\"protocol\":\"tcp\",\"port\":80,\"address\":\"::\"}]}"), 0);
	assert_true(listeners_rc("{}") < 0);
	assert_true(listeners_rc("{\"listeners\":[{\"protocol\":\"tcp\",\"port\":0,\"address\":\"::\"}]}") < 0);
	assert_true(listeners_rc("{\"listeners\":[{\"protocol\":\"icmp\",\"port\":80,\"address\":\"::\"}]}") < 0);
	assert_true(listeners_rc("{\"listeners\":[{\"protocol\":\"tcp\",\"port\":80}]}") < 0);
	assert_true(listeners_rc("{\"listeners\":\"all\"}") < 0);
	assert_true(listeners_rc("{\"listeners\":[{\"protocol\":\"tcp\",\"port\":80,\"address\":\"::\"}") < 0);
}

/* Each forward's refusals by reason, filled from the sidecar's counters
 * (sc_count_refused) and read back reason by reason; a reply without them
 * (an older sidecar) reads as 0, and a count that is not one is refused. */
static void test_status_refused_round_trip(void **state)
{
	(void)state;
	struct sc_forward fw[2] = {0};
	struct sc_forward *pfw[2] = {&fw[0], &fw[1]};
	struct sc_ctx ctx = {.nfw = 2, .fw = pfw};
	struct ps_status back;
	char *s;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(oci_ip_parse("127.0.0.1", &fw[i].cfg.host_ip), 0);
		fw[i].cfg.external_port = fw[i].cfg.local_port = (uint16_t)(8080 + i);
	}
	for (int k = 0; k < PS_REFUSED_N; k++)
		for (int j = 0; j <= k; j++)
			sc_count_refused(&fw[0], (enum ps_refused)k);
	sc_count_refused(&fw[0], PS_REFUSED_N); /* no such reason: not counted */
	fw[1].refused[PS_REFUSED_NOT_LISTENING] = UINT64_MAX;
	s = sc_reply_status(&ctx);
	assert_one_line(s);
	assert_non_null(strstr(s, "\"notListening\":4"));
	assert_non_null(strstr(s, "\"localhostOnly\":5"));
	assert_int_equal(ps_status_decode(s, strlen(s), &back, NULL), 0);
	assert_int_equal(back.n, 2);
	for (int k = 0; k < PS_REFUSED_N; k++) {
		assert_int_equal(back.v[0].refused[k], k + 1);
		assert_true(back.v[1].refused[k] == (k == PS_REFUSED_NOT_LISTENING ? UINT64_MAX : 0));
	}
	ps_status_free(&back);
	free(s);
	assert_int_equal(status_rc(FW("")), 0);
	assert_int_equal(status_rc(FW(",\"refused\":{}")), 0);
	assert_int_equal(status_rc(FW(",\"refused\":{\"maxConnections\":3,\"someday\":1}")), 0);
	assert_int_equal(status_rc(FW(",\"refused\":7")), -EPROTO);
	assert_int_equal(status_rc(FW(",\"refused\":{\"descriptors\":-1}")), -EPROTO);
	assert_int_equal(status_rc(FW(",\"refused\":{\"notAllowed\":\"2\"}")), -EPROTO);
}

/* A reply cut at the size portsidectl reads is refused, not half-read. */
static void test_decode_too_long(void **state)
{
	(void)state;
	size_t len = PS_REPLY_MAX + 2;
	char *big = malloc(len + 1);
	struct ps_status st;

	assert_non_null(big);
	memset(big, ' ', len);
	memcpy(big, "{\"forwards\":[]}", 15);
	big[len] = '\0';
	assert_int_equal(ps_status_decode(big, len, &st, NULL), -EFBIG);
	free(big);
}

/* The typed call over a real socket: a server in the container's directory
 * answers STATUS once, as the sidecar would, and ps_ask_status reads it. */
static void test_ask_status(void **state)
{
	(void)state;
	char dir[] = "/tmp/portside-test-reply-XXXXXX", path[512], line[64];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ps_status st;
	int fd, status;
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	setenv("PORTSIDE_RUN_DIR", dir, 1);
	assert_true(ps_file(path, sizeof(path), "c1", PS_CONTROL_SOCK) >= 0);
	assert_true(ps_path(line, sizeof(line), NULL, NULL) >= 0);
	assert_int_equal(mkdir(line, 0700), 0);
	assert_true(ps_path(line, sizeof(line), "c1", NULL) >= 0);
	assert_int_equal(mkdir(line, 0700), 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const char reply[] = FW(",\"connections\":3,\"bytesIn\":12345") "\n";
		int c = accept(fd, NULL, NULL);
		ssize_t n = c < 0 ? -1 : read(c, line, sizeof(line) - 1);

		line[n > 0 ? n : 0] = '\0';
		if (strcmp(line, "status\n") || write(c, reply, sizeof(reply) - 1) != (ssize_t)sizeof(reply) - 1)
			_exit(1);
		_exit(0);
	}
	close(fd);
	assert_int_equal(ps_ask_status("c1", &st, 5000), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(st.n, 1);
	assert_int_equal(st.v[0].map.external_port, 8080);
	assert_int_equal(st.v[0].conns_live, 3);
	assert_int_equal(st.v[0].bytes_in, 12345);
	ps_status_free(&st);
	/* Nobody there now: an error, not a hang. */
	unlink(path);
	assert_true(ps_ask_status("c1", &st, 1000) < 0);
	assert_true(ps_path(line, sizeof(line), "c1", NULL) >= 0);
	assert_int_equal(rmdir(line), 0);
	assert_true(ps_path(line, sizeof(line), NULL, NULL) >= 0);
	assert_int_equal(rmdir(line), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listeners_512_long_ipv6),
		cmocka_unit_test(test_listeners_error_and_mapped),
		cmocka_unit_test(test_status_many_forwards),
		cmocka_unit_test(test_status_label_visibility),
		cmocka_unit_test(test_status_not_allowed),
		cmocka_unit_test(test_decode_refuses),
		cmocka_unit_test(test_decode_too_long),
		cmocka_unit_test(test_status_refused_round_trip),
		cmocka_unit_test(test_ask_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
