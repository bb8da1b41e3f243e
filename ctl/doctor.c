/* SPDX-License-Identifier: MIT */
/* portsidectl doctor ID [--json]: for each mapping, whether anything listens
 * on its local port in the container and on which address, and what to change
 * for the classic mistakes: the app listens on another port, it binds
 * 127.0.0.1 only, the host port is held by another process, a reserved port. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../lib/refusal.h"
#include "../lib/rundir.h"
#include "../oci/cleanup.h"
#include "../oci/policy.h"
#include "../oci/ports.h"
#include "ctl.h"

struct finding {
	const char *status; /* "ok" or "problem" */
	char mapping[96];
	char detail[512];
	char fix[512];
};

/* The listeners of the container, as the sidecar sees them. */
struct seen {
	unsigned proto;
	unsigned port;
	struct oci_ip ip; /* an IPv4-mapped one as the IPv4 address it maps */
	bool dual;
	bool mapped; /* bound as [::ffff:IP] */
};

static size_t read_listeners(json_object *reply, struct seen *out, size_t max)
{
	json_object *arr, *it, *v;
	size_t n = 0;

	if (!reply || !json_object_object_get_ex(reply, "listeners", &arr))
		return 0;
	for (size_t i = 0; i < json_object_array_length(arr) && n < max; i++) {
		it = json_object_array_get_idx(arr, i);
		if (!json_object_object_get_ex(it, "port", &v))
			continue;
		out[n].port = (unsigned)json_object_get_int(v);
		out[n].proto =
			json_object_object_get_ex(it, "protocol", &v) && !strcmp(json_object_get_string(v), "udp")
				? OCI_PROTO_UDP
				: OCI_PROTO_TCP;
		if (!json_object_object_get_ex(it, "address", &v) ||
		    oci_ip_parse(json_object_get_string(v), &out[n].ip) < 0)
			continue;
		out[n].dual = json_object_object_get_ex(it, "dual", &v) && json_object_get_boolean(v);
		out[n].mapped = json_object_object_get_ex(it, "mapped", &v) && json_object_get_boolean(v);
		n++;
	}
	return n;
}

static void addr_list(const struct seen *s, size_t n, unsigned port, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		char a[OCI_IP_LEN + 24];

		if (s[i].port != port)
			continue;
		if (s[i].mapped) {
			char v4[OCI_IP_LEN];

			oci_ip_format(&s[i].ip, v4);
			snprintf(a, sizeof(a), "[::ffff:%s]:%u", v4, port);
		} else {
			ctl_format_addr(&s[i].ip, port, a, sizeof(a));
		}
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "", a);
	}
}

/* The ports the app listens on that no mapping of REC uses, "9000 (127.0.0.1
 * only), 8080"; *BEST gets the one to suggest: reachable from outside first. */
static void other_ports(const struct seen *s, size_t n, const struct oci_forwards *rec, char *buf, size_t len,
			unsigned *best)
{
	size_t off = 0;
	bool best_wide = false;

	buf[0] = '\0';
	*best = 0;
	for (size_t i = 0; i < n && off < len; i++) {
		bool dup = false, mapped = false, wide = false;

		for (size_t k = 0; k < i; k++)
			dup |= s[k].port == s[i].port;
		for (size_t k = 0; k < rec->n; k++)
			mapped |= rec->v[k].local_port == s[i].port && rec->v[k].proto == s[i].proto;
		if (dup || mapped)
			continue;
		for (size_t k = 0; k < n; k++)
			wide |= s[k].port == s[i].port && !oci_ip_is_loopback(&s[k].ip);
		off += (size_t)snprintf(buf + off, len - off, "%s%u%s", off ? ", " : "", s[i].port,
					wide ? "" : " (localhost only)");
		if (!*best || (wide && !best_wide)) {
			*best = s[i].port;
			best_wide = wide;
		}
	}
}

static void diagnose(const struct oci_forward *w, const struct oci_forwards *rec, const struct seen *all, size_t nall,
		     struct finding *f)
{
	/* Only the sockets of the mapping's protocol matter to it. */
	static struct seen s[512];
	size_t n = 0;

	for (size_t i = 0; i < nall && n < 512; i++)
		if (all[i].proto == w->proto)
			s[n++] = all[i];

	bool any = false, wide = false;
	char ext[OCI_IP_LEN + 8], addrs[256], others[256];

	ctl_format_addr(&w->host_ip, w->external_port, ext, sizeof(ext));
	snprintf(f->mapping, sizeof(f->mapping), "%s -> %u/%s", ext, w->local_port, oci_proto_name(w->proto));
	f->fix[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (s[i].port != w->local_port)
			continue;
		any = true;
		wide |= !oci_ip_is_loopback(&s[i].ip);
	}
	addr_list(s, n, w->local_port, addrs, sizeof(addrs));
	if (!any) {
		f->status = "problem";
		unsigned best;

		other_ports(s, n, rec, others, sizeof(others), &best);
		if (others[0]) {
			snprintf(f->detail, sizeof(f->detail),
				 "nothing listens on port %u in the container; unmapped, the app listens on %s",
				 w->local_port, others);
			snprintf(f->fix, sizeof(f->fix),
				 "map the port the app uses (io.portside.ports=%u:%u), or make the app listen on %u "
				 "(PORT=%u)",
				 w->external_port, best, w->local_port, w->local_port);
		} else {
			snprintf(f->detail, sizeof(f->detail),
				 "nothing listens on port %u/%s in the container, nor on any other unmapped %s port",
				 w->local_port, oci_proto_name(w->proto), oci_proto_name(w->proto));
			snprintf(f->fix, sizeof(f->fix), "start the app, listening on port %u/%s (PORT=%u)",
				 w->local_port, oci_proto_name(w->proto), w->local_port);
		}
	} else if (!wide && !w->expose_localhost) {
		f->status = "problem";
		snprintf(f->detail, sizeof(f->detail),
			 "the app listens on %s only (localhost): forwarded connections are refused", addrs);
		snprintf(f->fix, sizeof(f->fix),
			 "bind the app to 0.0.0.0 (or ::), or set \"exposeLocalhost\": true on this mapping");
	} else {
		f->status = "ok";
		snprintf(f->detail, sizeof(f->detail), "the app listens on %s", addrs);
	}
}

/* A refused start, from the refusal log: what it said and what to do. */
struct refusals {
	struct finding *f;
	size_t n, max;
};

static void refusal_fix(const struct ps_refusal *r, void *arg)
{
	struct refusals *rs = arg;
	struct finding *f = &rs->f[rs->n < rs->max ? rs->n++ : rs->max - 1];

	f->status = "problem";
	snprintf(f->mapping, sizeof(f->mapping), "(the container's start was refused)");
	snprintf(f->detail, sizeof(f->detail), "%s", r->message);
	switch (r->reason) {
	case PS_REASON_IN_USE:
		snprintf(f->fix, sizeof(f->fix),
			 "stop the process that holds the host port, or map another external port");
		break;
	case PS_REASON_RESERVED:
		snprintf(f->fix, sizeof(f->fix), "ports 22 and 8283 can never be forwarded: choose other ports");
		break;
	case PS_REASON_POLICY:
		snprintf(f->fix, sizeof(f->fix), "use what the host's %s allows (externalPorts, hostIP)",
			 OCI_POLICY_PATH);
		break;
	case PS_REASON_ADDRESS:
		snprintf(f->fix, sizeof(f->fix), "use a host address this host has, or leave hostIP out");
		break;
	case PS_REASON_SIDECAR:
		snprintf(f->fix, sizeof(f->fix), "see why in `portsidectl logs %.12s`; then start the container again",
			 r->id);
		break;
	default:
		snprintf(f->fix, sizeof(f->fix),
			 "correct the annotation; `portsidectl check VALUE` shows every problem");
	}
}

static size_t refusals(const char *id, struct finding *f, size_t max)
{
	struct refusals rs = {f, 0, max};

	ps_refusals_each(id, refusal_fix, &rs);
	return rs.n;
}

int ctl_doctor(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	struct finding findings[64];
	struct seen seen[512];
	struct oci_forwards *rec = NULL;
	char owner[256], id[256];
	size_t nf = 0, ns = 0;
	bool json = false, problems = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return CTL_EXIT_USAGE;
		json = true;
	}
	if (argc - optind != 1 || !oci_id_valid(argv[optind])) {
		ctl_warn("usage: portsidectl doctor [--json] ID");
		return CTL_EXIT_USAGE;
	}
	ps_owner(argv[optind], owner, sizeof(owner));
	snprintf(id, sizeof(id), "%s", owner[0] ? owner : argv[optind]);

	if (ps_record_load(id, &rec, NULL) == 0) {
		json_object *reply = ps_sidecar_alive(id, NULL) ? ctl_ask(id, "listeners") : NULL;

		if (!reply) {
			findings[nf++] = (struct finding){.status = "problem", .mapping = "(all)"};
			snprintf(findings[0].detail, sizeof(findings[0].detail), "the sidecar of %.12s is not running",
				 id);
			snprintf(findings[0].fix, sizeof(findings[0].fix),
				 "restart the container; `portsidectl logs %.12s` says why it stopped", id);
		} else {
			ns = read_listeners(reply, seen, sizeof(seen) / sizeof(seen[0]));
			json_object_put(reply);
			for (size_t i = 0; i < rec->n && nf < 64; i++) {
				bool dup = false;

				/* One line per mapping, not per address family. */
				for (size_t k = 0; k < i; k++)
					dup |= rec->v[k].local_port == rec->v[i].local_port &&
					       rec->v[k].external_port == rec->v[i].external_port &&
					       rec->v[k].proto == rec->v[i].proto;
				if (!dup)
					diagnose(&rec->v[i], rec, seen, ns, &findings[nf++]);
			}
		}
		oci_forwards_free(rec);
	} else {
		nf = refusals(argv[optind], findings, 64);
		if (nf == 0) {
			ctl_warn("%s is not a forwarded container (no state under %s, no refusal logged)", argv[optind],
				 ps_run_dir());
			return CTL_EXIT_INVALID;
		}
	}

	cleanup_json json_object *arr = json_object_new_array();
	for (size_t i = 0; i < nf; i++) {
		const struct finding *f = &findings[i];

		problems |= strcmp(f->status, "ok") != 0;
		if (json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "mapping", json_object_new_string(f->mapping));
			json_object_object_add(o, "status", json_object_new_string(f->status));
			json_object_object_add(o, "detail", json_object_new_string(f->detail));
			if (f->fix[0])
				json_object_object_add(o, "fix", json_object_new_string(f->fix));
			json_object_array_add(arr, o);
		} else {
			printf("%s\n  %s: %s\n", f->mapping, f->status, f->detail);
			if (f->fix[0])
				printf("  fix: %s\n", f->fix);
		}
	}
	if (json)
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	return problems ? CTL_EXIT_INVALID : CTL_EXIT_OK;
}
