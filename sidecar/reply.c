/* SPDX-License-Identifier: MIT */
/* The control socket's JSON replies, built with json-c: no fixed-size
 * arithmetic, whatever the container makes the sidecar see (thousands of
 * forwards, 512 listeners on 39-character IPv6 addresses). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../oci/ports.h"
#include "sidecar.h"

/* The document as one line, newline-terminated, in a new buffer. */
static char *finish(json_object *o)
{
	const char *s =
		o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
	char *out = NULL;

	if (!s || asprintf(&out, "%s\n", s) < 0)
		return NULL;
	return out;
}

static json_object *ip_string(const struct oci_ip *ip)
{
	char a[OCI_IP_LEN];

	oci_ip_format(ip, a);
	return json_object_new_string(a);
}

char *sc_reply_status(const struct sc_ctx *ctx)
{
	cleanup_json json_object *o = json_object_new_object();
	json_object *arr = json_object_new_array();

	if (!o || !arr) {
		json_object_put(arr);
		return NULL;
	}
	json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(o, "connections", json_object_new_int64(ctx->conns_live));
	json_object_object_add(o, "forwards", arr);
	for (size_t i = 0; i < ctx->nfw; i++) {
		const struct sc_forward *fw = ctx->fw[i];
		json_object *f = json_object_new_object();

		if (!f)
			return NULL;
		json_object_object_add(f, "hostIP", ip_string(&fw->cfg.host_ip));
		json_object_object_add(f, "externalPort", json_object_new_int(fw->cfg.external_port));
		json_object_object_add(f, "localPort", json_object_new_int(fw->cfg.local_port));
		json_object_object_add(f, "protocol", json_object_new_string(oci_proto_name(fw->cfg.proto)));
		json_object_object_add(f, "auto", json_object_new_boolean(fw->cfg.auto_assigned));
		json_object_object_add(f, "visibility",
				       json_object_new_string(oci_visibility_name(fw->cfg.visibility)));
		if (fw->cfg.label[0])
			json_object_object_add(f, "label", json_object_new_string(fw->cfg.label));
		json_object_object_add(f, "connections", json_object_new_int64(fw->conns_live));
		json_object_object_add(f, "connectionsTotal", json_object_new_uint64(fw->conns_total));
		json_object_object_add(f, "bytesIn", json_object_new_uint64(fw->bytes_in));
		json_object_object_add(f, "bytesOut", json_object_new_uint64(fw->bytes_out));
		json_object_array_add(arr, f);
	}
	return finish(o);
}

char *sc_reply_listeners(const struct sc_listener *l, size_t n, size_t ntcp, int error)
{
	cleanup_json json_object *o = json_object_new_object();
	json_object *arr;

	if (!o)
		return NULL;
	if (error) {
		json_object_object_add(o, "error", json_object_new_string(strerror(error)));
		return finish(o);
	}
	if (!(arr = json_object_new_array()))
		return NULL;
	json_object_object_add(o, "listeners", arr);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_new_object();

		if (!e)
			return NULL;
		json_object_object_add(e, "protocol", json_object_new_string(i < ntcp ? "tcp" : "udp"));
		json_object_object_add(e, "port", json_object_new_int(l[i].port));
		json_object_object_add(e, "address", ip_string(&l[i].ip));
		json_object_object_add(e, "dual", json_object_new_boolean(l[i].dual));
		json_object_object_add(e, "mapped", json_object_new_boolean(l[i].mapped));
		json_object_array_add(arr, e);
	}
	return finish(o);
}
