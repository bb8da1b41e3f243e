/* SPDX-License-Identifier: MIT */
/* libFuzzer: the runtime-spec state, then the annotations it carries. */
#include <stdint.h>
#include <stdlib.h>

#include "../../oci/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct oci_policy *pol;
	struct oci_state *s = NULL;
	struct oci_spec spec;
	struct oci_err e;

	if (!pol && !(pol = oci_policy_new()))
		abort();
	oci_err_init(&e);
	if (oci_state_parse((const char *)data, size, &s, &e) < 0)
		return 0;
	if (!oci_id_valid(s->id))
		abort();
	if (oci_spec_parse(&s->ann, pol, &spec, &e) == 0)
		oci_spec_release(&spec);
	oci_state_free(s);
	return 0;
}
