/* SPDX-License-Identifier: MIT */
#include "forwards.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../oci/input.h"
#include "../oci/ports.h"

bool ps_forward_same_listener(const struct ps_forward *a, const struct ps_forward *b)
{
	return a->proto == b->proto && a->external_port == b->external_port && oci_ip_equal(&a->host_ip, &b->host_ip);
}

bool ps_forwards_names(const struct ps_forwards *f, unsigned port, unsigned proto)
{
	for (size_t i = 0; i < f->n_known; i++)
		if (f->known[i].port == port && f->known[i].proto == proto)
			return true;
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].local_port == port && f->v[i].proto == proto)
			return true;
	return false;
}

void ps_forwards_free(struct ps_forwards *f)
{
	if (!f)
		return;
	free(f->v);
	free(f);
}

/* pidStartTime and netnsCookie, each only when known. */
static void ident_encode(json_object *root, const struct ps_ident *id)
{
	if (id->pid_start)
		json_object_object_add(root, "pidStartTime", json_object_new_uint64(id->pid_start));
	if (id->netns_cookie)
		json_object_object_add(root, "netnsCookie", json_object_new_uint64(id->netns_cookie));
}

/* One of them: optional (0 when absent), else a positive integer. */
static int ident_field(json_object *root, const char *k, uint64_t *out)
{
	json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(root, k, &v))
		return 0;
	/* json-c reads a negative number as 0 here, so 0 also refuses those. */
	if (!json_object_is_type(v, json_type_int) || !(*out = json_object_get_uint64(v)))
		return -EINVAL;
	return 0;
}

bool ps_netns_key_valid(const char *s)
{
	size_t dev = strspn(s, "0123456789"), ino;

	if (!dev || dev > 20 || s[dev] != ':')
		return false;
	ino = strspn(s + dev + 1, "0123456789");
	return ino && ino <= 20 && !s[dev + 1 + ino];
}

static int ident_decode(json_object *root, struct ps_ident *id)
{
	uint64_t start;

	if (ident_field(root, "pidStartTime", &start) < 0 || ident_field(root, "netnsCookie", &id->netns_cookie) < 0)
		return -EINVAL;
	id->pid_start = start;
	return 0;
}

static json_object *allow_encode(const struct oci_allow *a)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < a->n; i++) {
		char net[OCI_NET_LEN];

		oci_net_format(&a->v[i], net);
		json_object_array_add(arr, json_object_new_string(net));
	}
	return arr;
}

/* The forward's own allow list, when it is not the policy's: counted into
 * *TOTAL, which PS_FORWARDS_MAX_ALLOW bounds. */
static int forward_allow_encode(json_object *o, const struct ps_forwards *f, const struct ps_forward *w, size_t *total)
{
	if (oci_allow_equal(&w->allow, &f->allow_from))
		return 0;
	/* Wider than the policy's: nothing writes such a forward, and no
	 * record may carry one. */
	if (!w->allow.n)
		return -EINVAL;
	if ((*total += w->allow.n) > PS_FORWARDS_MAX_ALLOW)
		return -EFBIG;
	json_object_object_add(o, "allow", allow_encode(&w->allow));
	return 0;
}

int ps_forwards_encode(const struct ps_forwards *f, char **out)
{
	size_t allow_total = 0;
	cleanup_json json_object *root = NULL;
	json_object *arr = NULL;
	const char *doc;

	if (f->n > PS_FORWARDS_MAX_FORWARDS)
		return -EFBIG;
	root = json_object_new_object();
	arr = json_object_new_array();
	if (!root || !arr) {
		json_object_put(arr);
		return -ENOMEM;
	}
	json_object_object_add(root, "id", json_object_new_string(f->id));
	json_object_object_add(root, "pid", json_object_new_int(f->pid));
	json_object_object_add(root, "netns", json_object_new_string(f->netns));
	ident_encode(root, &f->ident);
	if (f->sidecar[0])
		json_object_object_add(root, "sidecar", json_object_new_string(f->sidecar));
	if (f->kube_name[0])
		json_object_object_add(root, "kubeName", json_object_new_string(f->kube_name));
	if (f->policy[0])
		json_object_object_add(root, "policy", json_object_new_string(f->policy));
	json_object_object_add(root, "maxConnections", json_object_new_int((int)f->max_connections));
	json_object_object_add(root, "udpIdleTimeout", json_object_new_int((int)f->udp_idle_timeout));
	if (f->max_udp_flows) /* 0: not set, the default on read */
		json_object_object_add(root, "maxUdpFlows", json_object_new_int((int)f->max_udp_flows));
	if (f->udp_per_source)
		json_object_object_add(root, "udpFlowsPerSource", json_object_new_int((int)f->udp_per_source));
	json_object_object_add(root, "maxAutoforwards", json_object_new_int((int)f->max_autoforwards));
	if (f->restores) /* 0: none, the default on read */
		json_object_object_add(root, "restores", json_object_new_uint64(f->restores));
	json_object_object_add(root, "autoforward", json_object_new_string(oci_autoforward_name(f->autoforward)));
	json_object_object_add(root, "visibility", json_object_new_string(oci_visibility_name(f->visibility)));
	json_object *ap = json_object_new_array(), *kn = json_object_new_array(), *bd = json_object_new_array();
	for (size_t i = 0; i < f->n_auto_ports; i++)
		json_object_array_add(ap, json_object_new_int(f->auto_ports[i]));
	for (size_t i = 0; i < f->n_known; i++) {
		json_object *k = json_object_new_object();

		json_object_object_add(k, "port", json_object_new_int(f->known[i].port));
		json_object_object_add(k, "protocol", json_object_new_string(oci_proto_name(f->known[i].proto)));
		json_object_array_add(kn, k);
	}
	for (size_t i = 0; i < f->n_bind; i++) {
		char ip[OCI_IP_LEN];

		oci_ip_format(&f->bind[i], ip);
		json_object_array_add(bd, json_object_new_string(ip));
	}
	json_object_object_add(root, "autoforwardPorts", ap);
	json_object_object_add(root, "known", kn);
	json_object_object_add(root, "bindAddresses", bd);
	if (f->pool_address.family) {
		char ip[OCI_IP_LEN];

		oci_ip_format(&f->pool_address, ip);
		json_object_object_add(root, "poolAddress", json_object_new_string(ip));
	}
	if (f->allow_from.n)
		json_object_object_add(root, "allowFrom", allow_encode(&f->allow_from));
	json_object_object_add(root, "forwards", arr);
	for (size_t i = 0; i < f->n; i++) {
		const struct ps_forward *w = &f->v[i];
		json_object *o = json_object_new_object();
		int rc;

		if (!o)
			return -ENOMEM;
		ps_mapping_encode(o, w);
		if ((rc = forward_allow_encode(o, f, w, &allow_total)) < 0) {
			json_object_put(o);
			return rc;
		}
		json_object_object_add(o, "exposeLocalhost", json_object_new_boolean(w->expose_localhost));
		json_object_object_add(o, "proxyProtocol", json_object_new_boolean(w->proxy_protocol));
		json_object_object_add(o, "entry", json_object_new_int((int)w->entry));
		json_object_object_add(o, "fd", json_object_new_int(w->fd));
		json_object_array_add(arr, o);
	}
	doc = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!doc)
		return -ENOMEM;
	if (strlen(doc) > PS_FORWARDS_MAX_BYTES)
		return -EFBIG;
	*out = strdup(doc);
	return *out ? 0 : -ENOMEM;
}

static int get(json_object *o, const char *k, json_type t, json_object **v, struct oci_err *e)
{
	if (!json_object_object_get_ex(o, k, v) || !json_object_is_type(*v, t))
		return oci_err_add(e, EINVAL, "forwards: field %s is missing or of the wrong type", k);
	return 0;
}

/* "visibility", optional: a record written before it existed is public. */
static int get_visibility(json_object *o, uint8_t *out, struct oci_err *e)
{
	enum oci_visibility vis = OCI_VISIBILITY_PUBLIC;
	json_object *v;

	if (json_object_object_get_ex(o, "visibility", &v) &&
	    (!json_object_is_type(v, json_type_string) || oci_visibility_parse(json_object_get_string(v), &vis) < 0))
		return oci_err_add(e, EINVAL, "forwards: bad visibility");
	*out = (uint8_t)vis;
	return 0;
}

void ps_mapping_encode(json_object *o, const struct ps_forward *w)
{
	char ip[OCI_IP_LEN];

	oci_ip_format(&w->host_ip, ip);
	json_object_object_add(o, "localPort", json_object_new_int(w->local_port));
	json_object_object_add(o, "externalPort", json_object_new_int(w->external_port));
	json_object_object_add(o, "protocol", json_object_new_string(oci_proto_name(w->proto)));
	json_object_object_add(o, "hostIP", json_object_new_string(ip));
	json_object_object_add(o, "auto", json_object_new_boolean(w->auto_assigned));
	json_object_object_add(o, "visibility", json_object_new_string(oci_visibility_name(w->visibility)));
	if (w->label[0])
		json_object_object_add(o, "label", json_object_new_string(w->label));
	if (w->automatic)
		json_object_object_add(o, "automatic", json_object_new_boolean(true));
}

int ps_mapping_decode(json_object *o, struct ps_forward *w, struct oci_err *e)
{
	json_object *v;
	unsigned port;

	if (!json_object_is_type(o, json_type_object))
		return oci_err_add(e, EINVAL, "forwards: an entry is not an object");
	if (get(o, "localPort", json_type_int, &v, e) < 0 || oci_json_port(v, "localPort", &port, e) < 0)
		return -EINVAL;
	w->local_port = (uint16_t)port;
	if (get(o, "externalPort", json_type_int, &v, e) < 0 || oci_json_port(v, "externalPort", &port, e) < 0)
		return -EINVAL;
	w->external_port = (uint16_t)port;
	if (get(o, "protocol", json_type_string, &v, e) < 0)
		return -EINVAL;
	if (oci_proto_parse(json_object_get_string(v), &w->proto) < 0)
		return oci_err_add(e, EINVAL, "forwards: bad protocol");
	if (get(o, "hostIP", json_type_string, &v, e) < 0 || oci_ip_parse(json_object_get_string(v), &w->host_ip) < 0)
		return oci_err_add(e, EINVAL, "forwards: bad hostIP");
	if (get(o, "auto", json_type_boolean, &v, e) < 0)
		return -EINVAL;
	w->auto_assigned = json_object_get_boolean(v);
	if (get_visibility(o, &w->visibility, e) < 0)
		return -EINVAL;
	/* "label", optional; checked again: whoever reads it prints it. */
	if (json_object_object_get_ex(o, "label", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    !oci_label_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v)))
			return oci_err_add(e, EINVAL, "forwards: bad label");
		snprintf(w->label, sizeof(w->label), "%s", json_object_get_string(v));
	}
	/* "automatic", optional: a status from a sidecar before live changes
	 * has none (then a hand-out is all "auto" tells). */
	if (json_object_object_get_ex(o, "automatic", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return oci_err_add(e, EINVAL, "forwards: bad automatic");
		w->automatic = json_object_get_boolean(v);
	}
	return 0;
}

/* A forward of the record: its mapping and what only the sidecar needs;
 * without an allow of its own, the record's allowFrom. */
static int decode_one(json_object *o, const struct ps_forwards *f, struct ps_forward *w, size_t *allow_total,
		      struct oci_err *e)
{
	json_object *v;

	if (ps_mapping_decode(o, w, e) < 0)
		return -EINVAL;
	w->allow = f->allow_from;
	if (json_object_object_get_ex(o, "allow", &v)) {
		size_t bad;

		if (oci_allow_parse_json(v, "forwards: allow", &w->allow, e) < 0)
			return -EINVAL;
		if ((*allow_total += w->allow.n) > PS_FORWARDS_MAX_ALLOW)
			return oci_err_add(e, EFBIG, "forwards: more than %d networks in allow lists",
					   PS_FORWARDS_MAX_ALLOW);
		/* Read as written: never wider than the policy's. */
		if (!oci_allow_within(&w->allow, &f->allow_from, &bad))
			return oci_err_add(e, EINVAL, "forwards: an allow wider than allowFrom");
	}
	if (get(o, "exposeLocalhost", json_type_boolean, &v, e) < 0)
		return -EINVAL;
	w->expose_localhost = json_object_get_boolean(v);
	if (get(o, "proxyProtocol", json_type_boolean, &v, e) < 0)
		return -EINVAL;
	w->proxy_protocol = json_object_get_boolean(v);
	if (get(o, "entry", json_type_int, &v, e) < 0)
		return -EINVAL;
	w->entry = (unsigned)json_object_get_int(v);
	if (get(o, "fd", json_type_int, &v, e) < 0)
		return -EINVAL;
	w->fd = json_object_get_int(v);
	return 0;
}

int ps_forwards_decode(const char *buf, size_t len, struct ps_forwards **out, struct oci_err *e)
{
	cleanup_json json_object *root = NULL;
	json_object *v, *arr;
	struct ps_forwards *f;
	size_t n;
	int rc;

	if (len > PS_FORWARDS_MAX_BYTES)
		return oci_err_add(e, EFBIG, "forwards: larger than %d bytes", PS_FORWARDS_MAX_BYTES);
	if ((rc = oci_json_decode(buf, len, "forwards", &root, e)) < 0)
		return rc;
	if (!json_object_is_type(root, json_type_object))
		return oci_err_add(e, EINVAL, "forwards: not an object");
	if (get(root, "forwards", json_type_array, &arr, e) < 0)
		return -EINVAL;
	n = json_object_array_length(arr);
	if (n > PS_FORWARDS_MAX_FORWARDS)
		return oci_err_add(e, EFBIG, "forwards: more than %d forwards", PS_FORWARDS_MAX_FORWARDS);
	f = calloc(1, sizeof(*f));
	if (!f || (n && !(f->v = calloc(n, sizeof(*f->v))))) {
		ps_forwards_free(f);
		return oci_err_add(e, ENOMEM, "forwards: out of memory");
	}
	if (get(root, "id", json_type_string, &v, e) < 0 || !oci_id_valid(json_object_get_string(v)))
		goto bad;
	snprintf(f->id, sizeof(f->id), "%s", json_object_get_string(v));
	if (get(root, "pid", json_type_int, &v, e) < 0)
		goto bad;
	f->pid = json_object_get_int(v);
	if (get(root, "netns", json_type_string, &v, e) < 0 || !ps_netns_key_valid(json_object_get_string(v)))
		goto bad;
	snprintf(f->netns, sizeof(f->netns), "%s", json_object_get_string(v));
	if (ident_decode(root, &f->ident) < 0)
		goto bad;
	/* Optional: a record written before it was kept has none. */
	if (json_object_object_get_ex(root, "sidecar", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (size_t)json_object_get_string_len(v) >= sizeof(f->sidecar) || json_object_get_string(v)[0] != '/')
			goto bad;
		snprintf(f->sidecar, sizeof(f->sidecar), "%s", json_object_get_string(v));
	}
	/* Optional: the default policy, or a record from before live changes. */
	if (json_object_object_get_ex(root, "policy", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (size_t)json_object_get_string_len(v) >= sizeof(f->policy) || json_object_get_string(v)[0] != '/')
			goto bad;
		snprintf(f->policy, sizeof(f->policy), "%s", json_object_get_string(v));
	}
	/* Optional: only a Kubernetes pod's container has one. portsidectl
	 * finds containers by it, so it is checked as the hook checked it. */
	if (json_object_object_get_ex(root, "kubeName", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (size_t)json_object_get_string_len(v) >= sizeof(f->kube_name) ||
		    !oci_kube_name_valid(json_object_get_string(v)))
			goto bad;
		snprintf(f->kube_name, sizeof(f->kube_name), "%s", json_object_get_string(v));
	}
	if (get(root, "maxConnections", json_type_int, &v, e) < 0 || json_object_get_int(v) < 1)
		goto bad;
	f->max_connections = (unsigned)json_object_get_int(v);
	if (get(root, "udpIdleTimeout", json_type_int, &v, e) < 0 || json_object_get_int(v) < 1)
		goto bad;
	f->udp_idle_timeout = (unsigned)json_object_get_int(v);
	/* Optional: a record written before UDP flows had a budget of their
	 * own has none; the policy's defaults then. */
	f->max_udp_flows = oci_policy_udp_flows_default(f->max_connections);
	f->udp_per_source = OCI_UDP_PER_SOURCE_DEFAULT;
	if (json_object_object_get_ex(root, "maxUdpFlows", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int(v) < 1)
			goto bad;
		f->max_udp_flows = (unsigned)json_object_get_int(v);
	}
	if (json_object_object_get_ex(root, "udpFlowsPerSource", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int(v) < 1)
			goto bad;
		f->udp_per_source = (unsigned)json_object_get_int(v);
	}
	if (get(root, "maxAutoforwards", json_type_int, &v, e) < 0 || json_object_get_int(v) < 0 ||
	    json_object_get_int(v) > 1024)
		goto bad;
	f->max_autoforwards = (unsigned)json_object_get_int(v);
	if (json_object_object_get_ex(root, "restores", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
			goto bad;
		f->restores = (uint64_t)json_object_get_int64(v);
	}
	if (get(root, "autoforward", json_type_string, &v, e) < 0 ||
	    oci_autoforward_parse(json_object_get_string(v), &f->autoforward) < 0)
		goto bad;
	{
		uint8_t vis;

		if (get_visibility(root, &vis, e) < 0)
			goto bad;
		f->visibility = (enum oci_visibility)vis;
	}
	if (get(root, "autoforwardPorts", json_type_array, &v, e) < 0 ||
	    json_object_array_length(v) > sizeof(f->auto_ports) / sizeof(f->auto_ports[0]))
		goto bad;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		unsigned port;

		if (oci_json_port(json_object_array_get_idx(v, i), "autoforwardPorts", &port, e) < 0)
			goto bad;
		f->auto_ports[f->n_auto_ports++] = (uint16_t)port;
	}
	if (get(root, "known", json_type_array, &v, e) < 0 || json_object_array_length(v) > OCI_PORTS_HARD_MAX)
		goto bad;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *k = json_object_array_get_idx(v, i), *x;
		unsigned port;

		if (get(k, "port", json_type_int, &x, e) < 0 || oci_json_port(x, "known", &port, e) < 0 ||
		    get(k, "protocol", json_type_string, &x, e) < 0 ||
		    oci_proto_parse(json_object_get_string(x), &f->known[f->n_known].proto) < 0)
			goto bad;
		f->known[f->n_known++].port = (uint16_t)port;
	}
	if (get(root, "bindAddresses", json_type_array, &v, e) < 0 ||
	    json_object_array_length(v) > OCI_POLICY_MAX_HOSTIPS)
		goto bad;
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (oci_ip_parse(json_object_get_string(json_object_array_get_idx(v, i)), &f->bind[f->n_bind++]) < 0)
			goto bad;
	/* Optional: only a container of an addressPool policy holds one. */
	if (json_object_object_get_ex(root, "poolAddress", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	     oci_ip_parse(json_object_get_string(v), &f->pool_address) < 0 || oci_ip_is_any(&f->pool_address)))
		goto bad;
	/* Optional: none when the policy allows everyone (or from a record
	 * before allow lists). */
	if (json_object_object_get_ex(root, "allowFrom", &v) &&
	    oci_allow_parse_json(v, "forwards: allowFrom", &f->allow_from, e) < 0)
		goto bad;
	for (size_t allow_total = 0; f->n < n; f->n++)
		if (decode_one(json_object_array_get_idx(arr, f->n), f, &f->v[f->n], &allow_total, e) < 0)
			goto bad;
	*out = f; /* ownership to the caller */
	return 0;
bad:
	ps_forwards_free(f);
	return oci_err_add(e, EINVAL, "forwards: malformed record");
}
