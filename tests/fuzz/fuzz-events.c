/* SPDX-License-Identifier: MIT */
/* libFuzzer: the events codec portsidectl reads sidecars' files with
 * (lib/events.c). A line it takes must come out of the encoder as a line that
 * decodes to the same event: one event, one line, nothing gained on the way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_event a, b;
	char line[PS_EVENT_LINE_MAX * 8];
	int n;

	if (ps_event_decode((const char *)data, size, &a) < 0)
		return 0;
	/* The time is printed as it is: it must be in its one shape. */
	if (a.kind >= PS_EV_N || a.local_port > 65535 || a.external_port > 65535 || !ps_event_time_valid(a.time))
		abort();
	if ((n = ps_event_encode(&a, line, sizeof(line))) <= 0)
		abort();
	if (memchr(line, '\n', (size_t)n - 1))
		abort(); /* a newline inside would forge a second event */
	if (ps_event_decode(line, (size_t)n, &b) < 0 || a.kind != b.kind || strcmp(a.id, b.id) ||
	    strcmp(a.time, b.time) || strcmp(a.message, b.message) || strcmp(a.reason, b.reason) ||
	    a.has_port != b.has_port || a.local_port != b.local_port || a.external_port != b.external_port ||
	    a.proto != b.proto || a.host_ip.family != b.host_ip.family)
		abort();
	return 0;
}
