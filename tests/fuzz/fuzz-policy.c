/* SPDX-License-Identifier: MIT */
/* libFuzzer: /etc/portside/policy.json. */
#include <stdint.h>
#include <stdlib.h>

#include "../../oci/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_policy *p = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (oci_policy_parse((const char *)data, size, &p, &e) == 0) {
		if (oci_policy_external_allowed(p, 22) || oci_policy_external_allowed(p, 8283))
			abort();
		/* UDP always has a table, and each address room in it. */
		if (p->max_udp_flows < 1 || p->udp_per_source < 1)
			abort();
		oci_policy_free(p);
	}
	return 0;
}
