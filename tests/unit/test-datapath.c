/* SPDX-License-Identifier: MIT */
/* Pure parts of the data path: the PROXY v2 header (sidecar/proxy.c) an app
 * parses to learn the client, and the descriptor hand-off (lib/fdpass.c) the
 * socket factory's batches ride on. */
#include "unit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/fdpass.h"
#include "../../lib/listen.h"
#include "../../oci/ports.h"
#include "../../sidecar/sidecar.h"

static struct sockaddr_storage SA(const char *ip, unsigned port) {
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
	}
	return ss;
}

static const unsigned char sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

static void test_proxy_v4(void **unused)
{
	struct sockaddr_storage src = SA("192.0.2.7", 40000), dst = SA("127.0.0.1", 8080);
	unsigned char h[SC_PROXY_MAX];
	static const unsigned char want[] = {0x21, 0x11, 0x00, 12, 192, 0, 2, 7, 127, 0, 0, 1, 0x9c, 0x40, 0x1f, 0x90};

	(void)unused;
	assert_int_equal(sc_proxy_header(&src, &dst, h), 28);
	assert_memory_equal(h, sig, sizeof(sig));
	assert_memory_equal(h + 12, want, sizeof(want));
}

static void test_proxy_v6(void **unused)
{
	struct sockaddr_storage src = SA("2001:db8::1", 1), dst = SA("::1", 65535);
	unsigned char h[SC_PROXY_MAX];

	(void)unused;
	assert_int_equal(sc_proxy_header(&src, &dst, h), SC_PROXY_MAX);
	assert_int_equal(h[12], 0x21);
	assert_int_equal(h[13], 0x21); /* TCP over IPv6 */
	assert_int_equal(h[14] << 8 | h[15], 36);
	assert_int_equal(h[16], 0x20); /* 2001:db8::1, first byte */
	assert_int_equal(h[47], 1);    /* ::1, last byte */
	assert_int_equal(h[48] << 8 | h[49], 1);
	assert_int_equal(h[50] << 8 | h[51], 65535);
}

static void test_proxy_refuses_mixed(void **unused)
{
	struct sockaddr_storage src = SA("192.0.2.7", 1), dst = SA("::1", 2), unix_ = {.ss_family = AF_UNIX};
	unsigned char h[SC_PROXY_MAX];

	(void)unused;
	assert_int_equal(sc_proxy_header(&src, &dst, h), 0);
	assert_int_equal(sc_proxy_header(&unix_, &unix_, h), 0);
}

static ino_t ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

/* A batch goes across whole, the same files in the same order, close-on-exec;
 * more than the receiver takes are closed, never leaked. */
static void test_fdpass_batch(void **unused)
{
	int sp[2], fds[PS_FDPASS_MAX], got[PS_FDPASS_MAX], tag = 42, rtag = 0;
	size_t n = 0;

	(void)unused;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	for (int i = 0; i < PS_FDPASS_MAX; i++)
		assert_true((fds[i] = socket(i % 2 ? AF_INET6 : AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(ps_send_fds(sp[0], &tag, sizeof(tag), fds, PS_FDPASS_MAX, 0), sizeof(tag));
	assert_int_equal(ps_recv_fds(sp[1], &rtag, sizeof(rtag), got, PS_FDPASS_MAX, &n, 0), sizeof(rtag));
	assert_int_equal(rtag, 42);
	assert_int_equal(n, PS_FDPASS_MAX);
	for (int i = 0; i < PS_FDPASS_MAX; i++) {
		assert_int_equal(ino(got[i]), ino(fds[i]));
		assert_true(fcntl(got[i], F_GETFD) & FD_CLOEXEC);
		close(got[i]);
	}

	/* The receiver takes 3: the others are closed on arrival. */
	assert_int_equal(ps_send_fds(sp[0], &tag, sizeof(tag), fds, 10, 0), sizeof(tag));
	assert_int_equal(ps_recv_fds(sp[1], &rtag, sizeof(rtag), got, 3, &n, 0), sizeof(rtag));
	assert_int_equal(n, 3);
	int probe = dup(0);
	assert_true(probe >= 0);
	/* Received descriptors take the lowest free numbers: the extras
	 * came right after ours, and their numbers are free again. */
	assert_int_equal(probe, got[2] + 1);
	close(probe);
	for (size_t i = 0; i < n; i++)
		close(got[i]);

	/* Too many to send is refused before anything is sent. */
	assert_int_equal(ps_send_fds(sp[0], &tag, sizeof(tag), fds, PS_FDPASS_MAX + 1, 0), -EINVAL);
	/* None at all, and one, through the single-descriptor calls. */
	int one = -2;
	assert_int_equal(ps_send_fd(sp[0], &tag, sizeof(tag), -1, 0), sizeof(tag));
	assert_int_equal(ps_recv_fd(sp[1], &rtag, sizeof(rtag), &one, 0), sizeof(rtag));
	assert_int_equal(one, -1);
	assert_int_equal(ps_send_fd(sp[0], &tag, sizeof(tag), fds[5], 0), sizeof(tag));
	assert_int_equal(ps_recv_fd(sp[1], &rtag, sizeof(rtag), &one, 0), sizeof(rtag));
	assert_int_equal(ino(one), ino(fds[5]));
	close(one);
	for (int i = 0; i < PS_FDPASS_MAX; i++)
		close(fds[i]);
	close(sp[0]);
	close(sp[1]);
}

/* A host listener's connections pass writes on at once (no Nagle): the
 * option is set on the listener and every accepted socket inherits it. */
static void test_listener_nodelay(void **unused)
{
	struct oci_ip lo;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct pollfd p;
	int l, c, a, v = 0;
	socklen_t vl = sizeof(v);

	(void)unused;
	assert_int_equal(oci_ip_parse("127.0.0.1", &lo), 0);
	l = ps_listen(&lo, 0, OCI_PROTO_TCP);
	assert_true(l >= 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&ss, &sl), 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&ss, sl), 0);
	p = (struct pollfd){.fd = l, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 2000), 1);
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(a >= 0);
	assert_int_equal(getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
	assert_int_equal(v, 1);
	close(a);
	close(c);
	close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proxy_v4),
		cmocka_unit_test(test_proxy_v6),
		cmocka_unit_test(test_proxy_refuses_mixed),
		cmocka_unit_test(test_fdpass_batch),
		cmocka_unit_test(test_listener_nodelay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
