/* SPDX-License-Identifier: MIT */
/* libFuzzer: the codec portsidectl reads a sidecar's STATUS and LISTENERS
 * replies with (lib/reply.c). The first byte picks which. A reply it takes
 * must encode again as one line that decodes to the same thing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_mapping(const struct ps_forward *a, const struct ps_forward *b)
{
	if (!oci_ip_equal(&a->host_ip, &b->host_ip) || a->external_port != b->external_port ||
	    a->local_port != b->local_port || a->proto != b->proto || a->auto_assigned != b->auto_assigned ||
	    a->visibility != b->visibility || strcmp(a->label, b->label))
		abort();
}

static void status(const char *buf, size_t len)
{
	struct ps_status a, b;
	char *line;

	if (ps_status_decode(buf, len, &a, NULL) < 0)
		return;
	if (!(line = ps_status_encode(&a)) || strchr(line, '\n') != line + strlen(line) - 1)
		abort();
	if (ps_status_decode(line, strlen(line), &b, NULL) < 0 || a.n != b.n || a.conns_live != b.conns_live)
		abort();
	for (size_t i = 0; i < a.n; i++) {
		same_mapping(&a.v[i].map, &b.v[i].map);
		if (a.v[i].bytes_in != b.v[i].bytes_in || a.v[i].conns_total != b.v[i].conns_total)
			abort();
	}
	ps_status_free(&a);
	ps_status_free(&b);
	free(line);
}

static void listeners(const char *buf, size_t len)
{
	struct ps_listeners a, b;
	char *line;

	if (ps_listeners_decode(buf, len, &a, NULL) < 0)
		return;
	if (strchr(a.error, '\n'))
		abort(); /* said on one line */
	if (a.error[0]) {
		ps_listeners_free(&a);
		return;
	}
	if (!(line = ps_listeners_encode(a.v, a.n, 0)))
		abort();
	if (ps_listeners_decode(line, strlen(line), &b, NULL) < 0 || a.n != b.n)
		abort();
	for (size_t i = 0; i < a.n; i++)
		if (!oci_ip_equal(&a.v[i].ip, &b.v[i].ip) || a.v[i].port != b.v[i].port ||
		    a.v[i].proto != b.v[i].proto || a.v[i].dual != b.v[i].dual || a.v[i].mapped != b.v[i].mapped)
			abort();
	ps_listeners_free(&a);
	ps_listeners_free(&b);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		listeners((const char *)data + 1, size - 1);
	else
		status((const char *)data + 1, size - 1);
	return 0;
}
