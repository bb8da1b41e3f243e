/* SPDX-License-Identifier: MIT */
/* libFuzzer: the codec portsidectl reads a sidecar's STATUS and LISTENERS
 * replies with (lib/reply.c), and the one the sidecar reads a request line
 * and an APPLY's head with (lib/control.c). The first byte picks which. A
 * reply or head it takes must encode again to what decodes the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/control.h"
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

static void request(const char *buf, size_t len)
{
	char line[512], again[512];
	struct ps_apply_head a, b;
	const char *arg;

	if (len >= sizeof(line))
		return; /* the sidecar reads at most a line this long */
	memcpy(line, buf, len);
	line[len] = '\0';
	if (ps_ctl_decode(line, &arg) != PS_CTL_APPLY || ps_apply_head_decode(arg, &a) < 0)
		return;
	if (ps_apply_head_encode(&a, again, sizeof(again)) < 0)
		abort();
	again[strlen(again) - 1] = '\0';
	if (ps_ctl_decode(again, &arg) != PS_CTL_APPLY || ps_apply_head_decode(arg, &b) < 0 || a.bytes != b.bytes ||
	    a.nfds != b.nfds || a.close_conns != b.close_conns || strcmp(a.reason, b.reason) || strcmp(a.by, b.by))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 3 == 1)
		listeners((const char *)data + 1, size - 1);
	else if (data[0] % 3 == 2)
		request((const char *)data + 1, size - 1);
	else
		status((const char *)data + 1, size - 1);
	return 0;
}
