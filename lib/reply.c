/* SPDX-License-Identifier: MIT */
/* The control socket's JSON replies, built and read with json-c: no
 * fixed-size arithmetic, whatever the container makes the sidecar see
 * (thousands of forwards, 512 listeners on 39-character IPv6 addresses). */
#include "reply.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../oci/input.h"
#include "../oci/ports.h"

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

char *ps_status_encode(const struct ps_status *s)
{
	cleanup_json json_object *o = json_object_new_object();
	json_object *arr = json_object_new_array();

	if (!o || !arr) {
		json_object_put(arr);
		return NULL;
	}
	json_object_object_add(o, "pid", json_object_new_int64(s->pid));
	json_object_object_add(o, "connections", json_object_new_uint64(s->conns_live));
	json_object_object_add(o, "autoforwardBinds", json_object_new_uint64(s->auto_binds));
	json_object_object_add(o, "autoforwardWaiting", json_object_new_uint64(s->auto_waiting));
	if (s->autoforward >= 0)
		json_object_object_add(
			o, "autoforward",
			json_object_new_string(oci_autoforward_name((enum oci_autoforward)s->autoforward)));
	json_object_object_add(o, "forwards", arr);
	for (size_t i = 0; i < s->n; i++) {
		const struct ps_fwd_status *fw = &s->v[i];
		json_object *f = json_object_new_object();

		if (!f)
			return NULL;
		ps_mapping_encode(f, &fw->map);
		json_object_object_add(f, "connections", json_object_new_uint64(fw->conns_live));
		json_object_object_add(f, "connectionsTotal", json_object_new_uint64(fw->conns_total));
		json_object_object_add(f, "bytesIn", json_object_new_uint64(fw->bytes_in));
		json_object_object_add(f, "bytesOut", json_object_new_uint64(fw->bytes_out));
		json_object *r = json_object_new_object();
		for (int k = 0; r && k < PS_REFUSED_N; k++)
			json_object_object_add(r, ps_refused_name((enum ps_refused)k),
					       json_object_new_uint64(fw->refused[k]));
		json_object_object_add(f, "refused", r);
		if (fw->n_not_allowed) {
			json_object *na = json_object_new_array();

			for (size_t k = 0; na && k < fw->n_not_allowed && k < PS_NOT_ALLOWED_MAX; k++) {
				json_object *x = json_object_new_object();
				char a[OCI_IP_LEN];

				oci_ip_format(&fw->not_allowed[k].ip, a);
				json_object_object_add(x, "address", json_object_new_string(a));
				json_object_object_add(x, "count", json_object_new_uint64(fw->not_allowed[k].count));
				json_object_object_add(x, "ago", json_object_new_uint64(fw->not_allowed[k].ago));
				json_object_array_add(na, x);
			}
			json_object_object_add(f, "notAllowed", na);
		}
		json_object_array_add(arr, f);
	}
	return finish(o);
}

const char *ps_refused_name(enum ps_refused why)
{
	static const char *const names[PS_REFUSED_N] = {
		[PS_REFUSED_MAX_CONNECTIONS] = "maxConnections", [PS_REFUSED_DESCRIPTORS] = "descriptors",
		[PS_REFUSED_NOT_ALLOWED] = "notAllowed",	 [PS_REFUSED_NOT_LISTENING] = "notListening",
		[PS_REFUSED_LOCALHOST_ONLY] = "localhostOnly",
	};

	return (unsigned)why < PS_REFUSED_N ? names[why] : "";
}

char *ps_listeners_encode(const struct ps_listener *l, size_t n, int error)
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
		char a[OCI_IP_LEN];

		if (!e)
			return NULL;
		oci_ip_format(&l[i].ip, a);
		json_object_object_add(e, "protocol", json_object_new_string(oci_proto_name(l[i].proto)));
		json_object_object_add(e, "port", json_object_new_int(l[i].port));
		json_object_object_add(e, "address", json_object_new_string(a));
		json_object_object_add(e, "dual", json_object_new_boolean(l[i].dual));
		json_object_object_add(e, "mapped", json_object_new_boolean(l[i].mapped));
		json_object_array_add(arr, e);
	}
	return finish(o);
}

/* The reply's root object, and its array KEY (NULL: not there, *ARR NULL). */
static int root_of(const char *buf, size_t len, const char *key, json_object **root, json_object **arr,
		   struct oci_err *e)
{
	int rc;

	*arr = NULL;
	if (len > PS_REPLY_MAX)
		return oci_err_add(e, EFBIG, "reply: larger than %d bytes", PS_REPLY_MAX);
	if (len && buf[len - 1] == '\n')
		len--;
	if ((rc = oci_json_decode(buf, len, "reply", root, e)) < 0)
		return rc;
	if (!json_object_is_type(*root, json_type_object))
		return oci_err_add(e, EPROTO, "reply: not an object");
	if (json_object_object_get_ex(*root, key, arr) && !json_object_is_type(*arr, json_type_array))
		return oci_err_add(e, EPROTO, "reply: %s is not an array", key);
	return 0;
}

/* Counter KEY of O into *OUT: absent is 0, anything but a non-negative
 * integer is wrong. */
static int counter(json_object *o, const char *key, uint64_t *out, struct oci_err *e)
{
	json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return oci_err_add(e, EPROTO, "reply: %s is not a count", key);
	*out = json_object_get_uint64(v);
	return 0;
}

/* A forward's "refused" object: counts by reason, each optional (a reason
 * a newer sidecar counts is skipped). */
static int refused_of(json_object *o, uint64_t refused[PS_REFUSED_N], struct oci_err *e)
{
	json_object *r;

	memset(refused, 0, PS_REFUSED_N * sizeof(refused[0]));
	if (!json_object_object_get_ex(o, "refused", &r))
		return 0;
	if (!json_object_is_type(r, json_type_object))
		return oci_err_add(e, EPROTO, "reply: refused is not an object");
	for (int k = 0; k < PS_REFUSED_N; k++)
		if (counter(r, ps_refused_name((enum ps_refused)k), &refused[k], e) < 0)
			return -EPROTO;
	return 0;
}

/* A forward's "notAllowed" array, optional; more than PS_NOT_ALLOWED_MAX is
 * a sidecar that does not keep its bound. */
static int not_allowed_of(json_object *o, struct ps_fwd_status *f, struct oci_err *e)
{
	json_object *arr, *v;

	f->n_not_allowed = 0;
	if (!json_object_object_get_ex(o, "notAllowed", &arr))
		return 0;
	if (!json_object_is_type(arr, json_type_array) || json_object_array_length(arr) > PS_NOT_ALLOWED_MAX)
		return oci_err_add(e, EPROTO, "reply: notAllowed is not an array of at most %d", PS_NOT_ALLOWED_MAX);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *x = json_object_array_get_idx(arr, i);
		struct ps_not_allowed *n = &f->not_allowed[i];

		if (!json_object_is_type(x, json_type_object) || !json_object_object_get_ex(x, "address", &v) ||
		    !json_object_is_type(v, json_type_string) || oci_ip_parse(json_object_get_string(v), &n->ip) < 0)
			return oci_err_add(e, EPROTO, "reply: a notAllowed entry has no address");
		if (counter(x, "count", &n->count, e) < 0 || counter(x, "ago", &n->ago, e) < 0)
			return -EPROTO;
		f->n_not_allowed++;
	}
	return 0;
}

int ps_status_decode(const char *buf, size_t len, struct ps_status *out, struct oci_err *e)
{
	cleanup_json json_object *root = NULL;
	json_object *arr, *v;
	uint64_t pid;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = root_of(buf, len, "forwards", &root, &arr, e)) < 0)
		return rc;
	if (!arr)
		return oci_err_add(e, EPROTO, "reply: no forwards");
	if (counter(root, "pid", &pid, e) < 0 || counter(root, "connections", &out->conns_live, e) < 0 ||
	    counter(root, "autoforwardBinds", &out->auto_binds, e) < 0 ||
	    counter(root, "autoforwardWaiting", &out->auto_waiting, e) < 0)
		return -EPROTO;
	out->pid = (long long)(pid > INT32_MAX ? 0 : pid);
	/* Optional: a sidecar from before live changes says nothing of it. */
	out->autoforward = -1;
	if (json_object_object_get_ex(root, "autoforward", &v)) {
		enum oci_autoforward a;

		if (!json_object_is_type(v, json_type_string) ||
		    oci_autoforward_parse(json_object_get_string(v), &a) < 0)
			return oci_err_add(e, EPROTO, "reply: bad autoforward");
		out->autoforward = (int)a;
	}
	n = json_object_array_length(arr);
	if (n && !(out->v = calloc(n, sizeof(*out->v))))
		return oci_err_add(e, ENOMEM, "reply: out of memory");
	for (size_t i = 0; i < n; i++) {
		struct ps_fwd_status *f = &out->v[i];

		v = json_object_array_get_idx(arr, i);
		f->map.fd = -1;
		if (ps_mapping_decode(v, &f->map, e) < 0 || counter(v, "connections", &f->conns_live, e) < 0 ||
		    counter(v, "connectionsTotal", &f->conns_total, e) < 0 ||
		    counter(v, "bytesIn", &f->bytes_in, e) < 0 || counter(v, "bytesOut", &f->bytes_out, e) < 0 ||
		    refused_of(v, f->refused, e) < 0 || not_allowed_of(v, f, e) < 0) {
			ps_status_free(out);
			return oci_err_add(e, EPROTO, "reply: forward %zu is malformed", i);
		}
		out->n++;
	}
	return 0;
}

static int listener_of(json_object *o, struct ps_listener *l, struct oci_err *e)
{
	json_object *v;
	unsigned port;

	if (!json_object_is_type(o, json_type_object))
		return oci_err_add(e, EPROTO, "reply: a listener is not an object");
	if (!json_object_object_get_ex(o, "port", &v) || oci_json_port(v, "port", &port, e) < 0)
		return -EPROTO;
	l->port = (uint16_t)port;
	if (!json_object_object_get_ex(o, "protocol", &v) || !json_object_is_type(v, json_type_string))
		return oci_err_add(e, EPROTO, "reply: a listener has no protocol");
	if (oci_proto_parse(json_object_get_string(v), &l->proto) < 0)
		return oci_err_add(e, EPROTO, "reply: a listener's protocol is neither tcp nor udp");
	if (!json_object_object_get_ex(o, "address", &v) || !json_object_is_type(v, json_type_string) ||
	    oci_ip_parse(json_object_get_string(v), &l->ip) < 0)
		return oci_err_add(e, EPROTO, "reply: a listener has no address");
	/* Flags: absent is false. */
	l->dual = json_object_object_get_ex(o, "dual", &v) && json_object_is_type(v, json_type_boolean) &&
		  json_object_get_boolean(v);
	l->mapped = json_object_object_get_ex(o, "mapped", &v) && json_object_is_type(v, json_type_boolean) &&
		    json_object_get_boolean(v);
	return 0;
}

int ps_listeners_decode(const char *buf, size_t len, struct ps_listeners *out, struct oci_err *e)
{
	cleanup_json json_object *root = NULL;
	json_object *arr, *v;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = root_of(buf, len, "listeners", &root, &arr, e)) < 0)
		return rc;
	if (json_object_object_get_ex(root, "error", &v)) {
		/* The sidecar could not look: say what it said, on one line,
		 * harmless (a sidecar is the container's neighbour: what it
		 * says reaches root's terminal). */
		char said[sizeof(out->error)];

		snprintf(said, sizeof(said), "%s",
			 json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "unknown error");
		said[strcspn(said, "\n\r")] = '\0';
		oci_sanitize(said, out->error, sizeof(out->error));
		if (!out->error[0])
			snprintf(out->error, sizeof(out->error), "unknown error");
		return 0;
	}
	if (!arr)
		return oci_err_add(e, EPROTO, "reply: neither listeners nor an error");
	n = json_object_array_length(arr);
	if (n && !(out->v = calloc(n, sizeof(*out->v))))
		return oci_err_add(e, ENOMEM, "reply: out of memory");
	for (size_t i = 0; i < n; i++) {
		if (listener_of(json_object_array_get_idx(arr, i), &out->v[i], e) < 0) {
			ps_listeners_free(out);
			return -EPROTO;
		}
		out->n++;
	}
	return 0;
}

void ps_status_free(struct ps_status *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

void ps_listeners_free(struct ps_listeners *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
