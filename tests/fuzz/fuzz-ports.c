/* SPDX-License-Identifier: MIT */
/* libFuzzer: io.portside.ports in both spellings, against a default and a
 * restrictive policy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../oci/ports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct oci_policy *def, *strict;
	struct oci_ports *p = NULL;
	struct oci_err e;
	char *v;

	if (!def) {
		const char *doc = "{\"externalPorts\":[80,\"8000-8100\"],\"maxPorts\":16}";

		def = oci_policy_new();
		if (!def || oci_policy_parse(doc, strlen(doc), &strict, NULL) < 0)
			abort();
	}
	/* The hook sees C strings: a NUL-terminated copy, as an annotation is. */
	v = malloc(size + 1);
	if (!v)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	oci_err_init(&e);
	if (oci_ports_parse(v, size, def, &p, &e) == 0) {
		for (size_t i = 0; i < p->n; i++)
			if (p->v[i].local_port == 0 || oci_port_reserved(p->v[i].local_port) ||
			    oci_port_reserved(p->v[i].external_port))
				abort(); /* validation let through what it must refuse */
		for (size_t i = 0; i < p->n; i++) {
			const struct oci_mapping *m = &p->v[i];

			/* A label reaches terminals: only what oci_label_valid allows. A
			 * private mapping never binds a non-loopback address. */
			if ((m->label[0] && !oci_label_valid(m->label, strlen(m->label))) ||
			    (m->visibility == OCI_VISIBILITY_PRIVATE && m->host_ip.family &&
			     !oci_ip_is_loopback(&m->host_ip)))
				abort();
		}
		oci_ports_free(p);
	}
	p = NULL;
	if (oci_ports_parse(v, size, strict, &p, &e) == 0)
		oci_ports_free(p);
	free(v);
	return 0;
}
