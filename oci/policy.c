/* SPDX-License-Identifier: MIT */
#include "policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "input.h"

/* A cloud IDE's hand-out order: the first exposed port gets 80, then 3000, ... */
static const uint16_t default_autoforward[] = {80,   3000, 3001, 3002, 3003, 4200, 5000,
					       5173, 6000, 6800, 8000, 8008, 8080, 8081};

bool oci_port_reserved(unsigned port)
{
	return port == 22 || port == 8283;
}

const char *oci_port_reserved_why(unsigned port)
{
	return port == 22 ? "port 22 (ssh) is reserved and can never be forwarded"
			  : "port 8283 is reserved for the platform and can never be forwarded";
}

struct oci_policy *oci_policy_new(void)
{
	struct oci_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	memcpy(p->autoforward_ports, default_autoforward, sizeof(default_autoforward));
	p->n_autoforward_ports = sizeof(default_autoforward) / sizeof(default_autoforward[0]);
	p->autoforward = OCI_AUTOFORWARD_PUBLIC;
	p->visibility = OCI_VISIBILITY_PUBLIC;
	p->max_ports = 256;
	p->max_connections = 4096;
	p->udp_idle_timeout = 60;
	p->max_autoforwards = OCI_AUTOFORWARDS_DEFAULT;
	p->max_udp_flows = oci_policy_udp_flows_default(p->max_connections);
	p->udp_per_source = OCI_UDP_PER_SOURCE_DEFAULT;
	return p;
}

unsigned oci_policy_udp_flows_default(unsigned max_connections)
{
	return max_connections / 4 ? max_connections / 4 : 1;
}

void oci_policy_free(struct oci_policy *p)
{
	free(p);
}

int oci_autoforward_parse(const char *s, enum oci_autoforward *out)
{
	if (!strcmp(s, "public"))
		*out = OCI_AUTOFORWARD_PUBLIC;
	else if (!strcmp(s, "all"))
		*out = OCI_AUTOFORWARD_ALL;
	else if (!strcmp(s, "never"))
		*out = OCI_AUTOFORWARD_NEVER;
	else
		return -EINVAL;
	return 0;
}

const char *oci_autoforward_name(enum oci_autoforward a)
{
	switch (a) {
	case OCI_AUTOFORWARD_ALL: return "all";
	case OCI_AUTOFORWARD_NEVER: return "never";
	case OCI_AUTOFORWARD_PUBLIC: break;
	}
	return "public";
}

int oci_visibility_parse(const char *s, enum oci_visibility *out)
{
	if (!strcmp(s, "public"))
		*out = OCI_VISIBILITY_PUBLIC;
	else if (!strcmp(s, "private"))
		*out = OCI_VISIBILITY_PRIVATE;
	else
		return -EINVAL;
	return 0;
}

const char *oci_visibility_name(enum oci_visibility v)
{
	return v == OCI_VISIBILITY_PRIVATE ? "private" : "public";
}

bool oci_policy_external_allowed(const struct oci_policy *p, unsigned port)
{
	if (port < 1 || port > 65535 || oci_port_reserved(port))
		return false;
	return !p->external_restricted || (p->external_allowed[port / 8] & (1u << (port % 8)));
}

bool oci_policy_in_pool(const struct oci_policy *p, const struct oci_ip *ip)
{
	unsigned bits = p->pool_prefix;

	if (!p->has_pool || ip->family != p->pool.family)
		return false;
	for (unsigned i = 0; i < bits; i++)
		if ((ip->a[i / 8] ^ p->pool.a[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
}

bool oci_policy_host_allowed(const struct oci_policy *p, const struct oci_ip *ip)
{
	if (!ip->family)
		return true; /* the policy's own addresses */
	if (oci_ip_is_v4mapped(ip))
		return false; /* an IPv6 listener never takes it: write it as IPv4 */
	for (size_t i = 0; i < p->n_host_ips; i++)
		if (oci_ip_equal(&p->host_ips[i], ip) ||
		    (p->host_ips[i].family == ip->family && oci_ip_is_any(&p->host_ips[i])))
			return true;
	if (p->has_pool)
		return oci_policy_in_pool(p, ip);
	return p->n_host_ips == 0;
}

/* "A-B" in externalPorts, so that a platform can allow a span without listing it. */
static int parse_span(const char *s, unsigned *lo, unsigned *hi)
{
	char *end;
	unsigned long a, b;

	if (*s < '0' || *s > '9' || strlen(s) > 11)
		return -EINVAL;
	a = strtoul(s, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return -EINVAL;
	b = strtoul(end + 1, &end, 10);
	if (*end || a < 1 || b > 65535 || a > b)
		return -EINVAL;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return 0;
}

static void parse_external_ports(struct oci_policy *p, json_object *v, struct oci_err *e)
{
	const char *f = "policy field externalPorts";

	if (!json_object_is_type(v, json_type_array)) {
		oci_err_add(e, EINVAL, "%s must be an array of ports, not %s", f, oci_json_type_name(v));
		return;
	}
	p->external_restricted = true;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *it = json_object_array_get_idx(v, i);
		char what[64];
		unsigned lo, hi;

		snprintf(what, sizeof(what), "%s[%zu]", f, i);
		if (json_object_is_type(it, json_type_string)) {
			if (parse_span(json_object_get_string(it), &lo, &hi) < 0) {
				oci_err_add(e, EINVAL, "%s: '%.32s' is not a port range A-B within 1-65535", what,
					    json_object_get_string(it));
				continue;
			}
		} else if (oci_json_port(it, what, &lo, e) < 0) {
			continue;
		} else {
			hi = lo;
		}
		/* A single reserved port is a mistake worth saying; a span that
		 * covers one just never hands it out. */
		if (lo == hi && oci_port_reserved(lo)) {
			oci_err_add(e, EACCES, "%s: %s", what, oci_port_reserved_why(lo));
			continue;
		}
		for (unsigned port = lo; port <= hi; port++)
			p->external_allowed[port / 8] |= (uint8_t)(1u << (port % 8));
	}
}

static void parse_autoforward_ports(struct oci_policy *p, json_object *v, struct oci_err *e)
{
	const char *f = "policy field autoforwardPorts";
	size_t n;

	if (!json_object_is_type(v, json_type_array)) {
		oci_err_add(e, EINVAL, "%s must be an array of ports, not %s", f, oci_json_type_name(v));
		return;
	}
	n = json_object_array_length(v);
	if (n > sizeof(p->autoforward_ports) / sizeof(p->autoforward_ports[0])) {
		oci_err_add(e, E2BIG, "%s lists %zu ports, more than %zu", f, n,
			    sizeof(p->autoforward_ports) / sizeof(p->autoforward_ports[0]));
		return;
	}
	p->n_autoforward_ports = 0;
	for (size_t i = 0; i < n; i++) {
		char what[64];
		unsigned port;
		bool dup = false;

		snprintf(what, sizeof(what), "%s[%zu]", f, i);
		if (oci_json_port(json_object_array_get_idx(v, i), what, &port, e) < 0)
			continue;
		if (oci_port_reserved(port)) {
			oci_err_add(e, EACCES, "%s: %s", what, oci_port_reserved_why(port));
			continue;
		}
		for (size_t j = 0; j < p->n_autoforward_ports; j++)
			dup |= p->autoforward_ports[j] == port;
		if (dup) {
			oci_err_add(e, EINVAL, "%s: port %u is listed twice", what, port);
			continue;
		}
		p->autoforward_ports[p->n_autoforward_ports++] = (uint16_t)port;
	}
}

static void add_host_ip(struct oci_policy *p, json_object *it, const char *what, struct oci_err *e)
{
	if (!json_object_is_type(it, json_type_string)) {
		oci_err_add(e, EINVAL, "%s must be an IP address string, not %s", what, oci_json_type_name(it));
		return;
	}
	if (p->n_host_ips == OCI_POLICY_MAX_HOSTIPS) {
		oci_err_add(e, E2BIG, "%s: more than %d addresses", what, OCI_POLICY_MAX_HOSTIPS);
		return;
	}
	if (oci_ip_parse(json_object_get_string(it), &p->host_ips[p->n_host_ips]) < 0) {
		oci_err_add(e, EINVAL, "%s: '%.64s' is not an IP address", what, json_object_get_string(it));
		return;
	}
	p->n_host_ips++;
}

static void parse_host_ip(struct oci_policy *p, json_object *v, struct oci_err *e)
{
	const char *f = "policy field hostIP";

	/* One address or a list of them ("0.0.0.0" or ["127.0.0.1", "::1"]). */
	if (!json_object_is_type(v, json_type_array)) {
		add_host_ip(p, v, f, e);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		char what[64];

		snprintf(what, sizeof(what), "%s[%zu]", f, i);
		add_host_ip(p, json_object_array_get_idx(v, i), what, e);
	}
}

static void parse_uint(json_object *v, const char *field, unsigned lo, unsigned hi, unsigned *out, struct oci_err *e)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int)) {
		oci_err_add(e, EINVAL, "policy field %s must be an integer, not %s", field, oci_json_type_name(v));
		return;
	}
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < lo || x > hi) {
		oci_err_add(e, ERANGE, "policy field %s must be within %u-%u", field, lo, hi);
		return;
	}
	*out = (unsigned)x;
}

int oci_policy_parse(const char *buf, size_t len, struct oci_policy **out, struct oci_err *e)
{
	cleanup_json json_object *root = NULL;
	struct oci_policy *p;
	struct oci_err scratch;
	unsigned before;
	bool udp_flows_named = false;
	int rc;

	if (!e) /* problems must be counted even when nobody reads them */
		oci_err_init(&scratch), e = &scratch;
	before = e->count;

	if (len > OCI_POLICY_MAX_BYTES)
		return oci_err_add(e, EFBIG, "policy is larger than %d bytes", OCI_POLICY_MAX_BYTES);
	rc = oci_json_decode(buf, len, "policy", &root, e);
	if (rc < 0)
		return rc;
	if (!json_object_is_type(root, json_type_object))
		return oci_err_add(e, EINVAL, "policy must be a JSON object, not %s", oci_json_type_name(root));
	p = oci_policy_new();
	if (!p)
		return oci_err_add(e, ENOMEM, "policy: out of memory");

	json_object_object_foreach (root, key, val) {
		if (!strcmp(key, "externalPorts")) {
			parse_external_ports(p, val, e);
		} else if (!strcmp(key, "autoforwardPorts")) {
			parse_autoforward_ports(p, val, e);
		} else if (!strcmp(key, "autoforward")) {
			if (!json_object_is_type(val, json_type_string) ||
			    oci_autoforward_parse(json_object_get_string(val), &p->autoforward) < 0)
				oci_err_add(e, EINVAL,
					    "policy field autoforward must be \"public\", \"all\" or \"never\"");
		} else if (!strcmp(key, "visibility")) {
			if (!json_object_is_type(val, json_type_string) ||
			    oci_visibility_parse(json_object_get_string(val), &p->visibility) < 0)
				oci_err_add(e, EINVAL, "policy field visibility must be \"public\" or \"private\"");
		} else if (!strcmp(key, "hostIP")) {
			parse_host_ip(p, val, e);
		} else if (!strcmp(key, "addressPool")) {
			if (!json_object_is_type(val, json_type_string) ||
			    oci_cidr_parse(json_object_get_string(val), &p->pool, &p->pool_prefix) < 0)
				oci_err_add(e, EINVAL,
					    "policy field addressPool must be a network like \"127.77.0.0/16\" with no "
					    "host bits set");
			else
				p->has_pool = true;
		} else if (!strcmp(key, "allowFrom")) {
			oci_allow_parse_json(val, "policy field allowFrom", &p->allow_from, e);
		} else if (!strcmp(key, "maxPorts")) {
			parse_uint(val, "maxPorts", 1, OCI_PORTS_HARD_MAX, &p->max_ports, e);
		} else if (!strcmp(key, "maxAutoforwards")) {
			parse_uint(val, "maxAutoforwards", 0, 1024, &p->max_autoforwards, e);
		} else if (!strcmp(key, "maxConnections")) {
			parse_uint(val, "maxConnections", 1, 1000000, &p->max_connections, e);
		} else if (!strcmp(key, "udpIdleTimeout")) {
			parse_uint(val, "udpIdleTimeout", 1, 86400, &p->udp_idle_timeout, e);
		} else if (!strcmp(key, "maxUdpFlows")) {
			parse_uint(val, "maxUdpFlows", 1, 1000000, &p->max_udp_flows, e);
			udp_flows_named = true;
		} else if (!strcmp(key, "udpFlowsPerSource")) {
			parse_uint(val, "udpFlowsPerSource", 1, 1000000, &p->udp_per_source, e);
		} else {
			oci_err_add(e, EINVAL, "policy field '%.64s' is unknown", key);
		}
	}
	/* Derived after the loop: maxConnections may come after it, or alone. */
	if (!udp_flows_named)
		p->max_udp_flows = oci_policy_udp_flows_default(p->max_connections);
	if (p->has_pool && p->pool.family == AF_INET && p->pool_prefix > 30)
		oci_err_add(e, EINVAL, "policy field addressPool: a /%u network has too few addresses", p->pool_prefix);

	if (e->count != before) {
		oci_policy_free(p);
		return -EINVAL;
	}
	*out = p; /* ownership to the caller */
	return 0;
}

int oci_policy_load(const char *path, bool missing_ok, struct oci_policy **out, struct oci_err *e)
{
	cleanup_free char *buf = NULL;
	struct oci_err local;
	size_t len;
	int rc;

	oci_err_init(&local);
	rc = oci_read_file(path, OCI_POLICY_MAX_BYTES, &buf, &len, &local);
	if (rc == -ENOENT && missing_ok) {
		*out = oci_policy_new();
		return *out ? 0 : oci_err_add(e, ENOMEM, "policy: out of memory");
	}
	if (rc < 0) {
		oci_err_append(e, &local, NULL); /* these already name the file */
		return rc;
	}
	rc = oci_policy_parse(buf, len, out, &local);
	if (rc < 0)
		oci_err_append(e, &local, path);
	return rc;
}
