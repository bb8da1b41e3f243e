/* SPDX-License-Identifier: MIT */
/* How portsidectl shows an allow list: whole in JSON, short in a table. */
#include <stdio.h>

#include "ctl.h"

json_object *ctl_allow_json(const struct oci_allow *a)
{
	json_object *arr;

	if (!a->n)
		return NULL; /* JSON null: everyone */
	arr = json_object_new_array();
	for (size_t i = 0; arr && i < a->n; i++) {
		char net[OCI_NET_LEN];

		oci_net_format(&a->v[i], net);
		json_object_array_add(arr, json_object_new_string(net));
	}
	return arr;
}

void ctl_allow_short(const struct oci_allow *a, char *buf, size_t len)
{
	char net[OCI_NET_LEN];

	if (!a->n) {
		snprintf(buf, len, "-");
		return;
	}
	oci_net_format(&a->v[0], net);
	if (a->n == 1)
		snprintf(buf, len, "%s", net);
	else
		snprintf(buf, len, "%s+%u", net, a->n - 1u);
}
