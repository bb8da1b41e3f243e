/* SPDX-License-Identifier: MIT */
/* libFuzzer: the record portsidectl, gc and restore read back from
 * /run/portside (lib/forwards.c): the container's identities (pid, its start
 * time, the netns cookie), its limits and forwards. A record it takes must
 * encode again, and what that decodes to must encode to the very same text:
 * nothing read is lost or changed by a restore's rewrite. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/forwards.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_forwards *a = NULL, *b = NULL;
	char *one = NULL, *two = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (ps_forwards_decode((const char *)data, size, &a, &e) < 0)
		return 0;
	if (!oci_id_valid(a->id) || a->n > PS_FORWARDS_MAX_FORWARDS)
		abort();
	if (ps_forwards_encode(a, &one) < 0 || ps_forwards_decode(one, strlen(one), &b, &e) < 0)
		abort();
	/* The identities survive as they were read: a record that names none
	 * (an earlier portside's) never gains one, nor loses its own. */
	if (a->pid != b->pid || a->ident.pid_start != b->ident.pid_start ||
	    a->ident.netns_cookie != b->ident.netns_cookie || strcmp(a->netns, b->netns) || a->n != b->n)
		abort();
	if (ps_forwards_encode(b, &two) < 0 || strcmp(one, two))
		abort();
	ps_forwards_free(a);
	ps_forwards_free(b);
	free(one);
	free(two);
	return 0;
}
