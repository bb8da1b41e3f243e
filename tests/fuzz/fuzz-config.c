/* SPDX-License-Identifier: MIT */
/* libFuzzer: a bundle's config.json. */
#include <stdint.h>
#include <stdlib.h>

#include "../../oci/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_config *c = NULL;
	struct oci_err e;

	oci_err_init(&e);
	if (oci_config_parse((const char *)data, size, &c, &e) == 0) {
		if (c->netns_path && c->netns_path[0] != '/')
			abort();
		(void)oci_config_getenv(c, "PORT");
		oci_config_free(c);
	}
	return 0;
}
