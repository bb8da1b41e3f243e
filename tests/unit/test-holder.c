/* SPDX-License-Identifier: MIT */
/* Who holds a host port (table/bind.c tb_port_holder), as the hook's
 * refusals and portsidectl doctor, wait and url name it: a process names
 * itself, so its name must come out harmless for a terminal and valid UTF-8
 * for JSON. Real sockets of this process, found through /proc. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../table/table.h"
#include "../../oci/input.h"

/* A socket of TYPE bound to 127.0.0.1 on a port the kernel picks (listening
 * for TCP); its port in *PORT. */
static int bound(int type, unsigned *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* What tb_port_holder says of PORT/PROTO while this process is called NAME. */
static void holder_named(const char *name, unsigned port, unsigned proto, char *buf, size_t len)
{
	char before[16] = "";

	assert_int_equal(prctl(PR_GET_NAME, before), 0);
	assert_int_equal(prctl(PR_SET_NAME, name), 0);
	tb_port_holder(port, proto, buf, len);
	assert_int_equal(prctl(PR_SET_NAME, before), 0);
}

static void test_plain_name(void **state)
{
	(void)state;
	char buf[128], want[64];
	unsigned port;
	int fd = bound(SOCK_STREAM, &port);

	holder_named("plain-name", port, OCI_PROTO_TCP, buf, sizeof(buf));
	snprintf(want, sizeof(want), "plain-name (pid %d)", (int)getpid());
	assert_string_equal(buf, want);
	close(fd);
}

static void test_hostile_name(void **state)
{
	(void)state;
	char buf[128], want[64];
	unsigned port;
	int fd = bound(SOCK_STREAM, &port);

	/* ESC [31m (a colour, or worse, on root's terminal), a byte that is
	 * not UTF-8, a right-to-left override, a DEL: 11 bytes, under the
	 * kernel's 15. */
	holder_named("\x1b[31mX\xff\xe2\x80\xae\x7f", port, OCI_PROTO_TCP, buf, sizeof(buf));
	snprintf(want, sizeof(want), "?[31mX?\\u202e? (pid %d)", (int)getpid());
	assert_string_equal(buf, want);
	assert_true(oci_utf8_valid(buf, strlen(buf)));
	close(fd);

	/* UDP: the same name, found by its bound socket. */
	fd = bound(SOCK_DGRAM, &port);
	holder_named("\x1b]0;title\x07", port, OCI_PROTO_UDP, buf, sizeof(buf));
	snprintf(want, sizeof(want), "?]0;title? (pid %d)", (int)getpid());
	assert_string_equal(buf, want);
	close(fd);
}

static void test_bounded(void **state)
{
	(void)state;
	char buf[12];
	unsigned port;
	int fd = bound(SOCK_STREAM, &port);

	/* A buffer shorter than the description: cut, terminated. */
	holder_named("abcdefghijklmno", port, OCI_PROTO_TCP, buf, sizeof(buf));
	assert_string_equal(buf, "abcdefghijk");
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_name),
		cmocka_unit_test(test_hostile_name),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
