/* SPDX-License-Identifier: MIT */
/* portsidectl doctor [--json] [ID]: for each mapping, whether anything listens
 * on its local port in the container and on which address, and what to change
 * for the classic mistakes: the app listens on another port, it binds
 * 127.0.0.1 only, the host port is held by another process, a reserved port. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/refusal.h"
#include "../lib/rundir.h"
#include "../base/cleanup.h"
#include "../oci/policy.h"
#include "../oci/ports.h"
#include "ctl.h"
#include "findings.h"

/* The ports the app listens on that no mapping of REC uses, "9000 (127.0.0.1
 * only), 8080"; *BEST gets the one to suggest: reachable from outside first. */
static void other_ports(const struct ps_listener *s, size_t n, const struct ps_forwards *rec, char *buf, size_t len,
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

static void diagnose(const struct ps_forward *w, const struct ps_forwards *rec, const struct ps_listener *all,
		     size_t nall, struct finding *f)
{
	/* Only the sockets of the mapping's protocol matter to it. */
	static struct ps_listener s[512];
	size_t n = 0;

	for (size_t i = 0; i < nall && n < 512; i++)
		if (all[i].proto == w->proto)
			s[n++] = all[i];

	bool any = false, wide = false;
	char ext[OCI_IP_LEN + 8], addrs[256], others[256];

	ctl_format_addr(&w->host_ip, w->external_port, ext, sizeof(ext));
	snprintf(f->mapping, sizeof(f->mapping), "%s -> %u/%s", ext, w->local_port, oci_proto_name(w->proto));
	f->port = w->local_port;
	f->proto = w->proto;
	f->fix[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (s[i].port != w->local_port)
			continue;
		any = true;
		wide |= !oci_ip_is_loopback(&s[i].ip);
	}
	ctl_addr_list(s, n, w->local_port, addrs, sizeof(addrs));
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
		snprintf(f->fix, sizeof(f->fix), "see why in `portsidectl logs %s`; then start the container again",
			 ctl_sid(r->id));
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

static size_t examine_raw(const char *want, struct finding *findings, size_t max)
{
	struct ps_listeners ls = {0};
	struct ps_status st = {0};
	struct ps_forwards *rec = NULL;
	char owner[256], id[256];
	size_t nf = 0;

	ps_owner(want, owner, sizeof(owner));
	snprintf(id, sizeof(id), "%s", owner[0] ? owner : want);
	if (ps_record_load(id, &rec, NULL) < 0)
		return refusals(want, findings, max);

	if (!ps_sidecar_alive(id, NULL) || ps_ask_listeners(id, &ls, CTL_ASK_MS) < 0) {
		findings[nf] = (struct finding){.status = "problem", .mapping = "(all)"};
		if (ps_container_alive(id)) {
			snprintf(findings[nf].detail, sizeof(findings[nf].detail),
				 "the sidecar of %s is not running, though the container is: its ports are closed",
				 ctl_sid(id));
			snprintf(findings[nf].fix, sizeof(findings[nf].fix),
				 "`portsidectl restore %s` starts a new one with the same mappings; `portsidectl logs "
				 "%s` says why it stopped",
				 ctl_sid(id), ctl_sid(id));
		} else {
			snprintf(findings[nf].detail, sizeof(findings[nf].detail),
				 "the sidecar of %s is not running: the container stopped", ctl_sid(id));
			snprintf(findings[nf].fix, sizeof(findings[nf].fix),
				 "start the container again; `portsidectl logs %s` says why it stopped", ctl_sid(id));
		}
		ps_forwards_free(rec);
		return nf + 1;
	}
	if (ls.error[0]) {
		/* Without the app's sockets every port would look closed: say why instead. */
		findings[nf] = (struct finding){.status = "problem", .mapping = "(all)"};
		snprintf(findings[nf].detail, sizeof(findings[nf].detail),
			 "the sidecar of %s cannot read the container's sockets: %s", ctl_sid(id), ls.error);
		snprintf(findings[nf].fix, sizeof(findings[nf].fix),
			 "`portsidectl logs %s` says more; a kernel without sock_diag (CONFIG_INET_DIAG) cannot tell",
			 ctl_sid(id));
		nf++;
	}
	/* Does the sidecar serve the record? Compared first as read (no lock:
	 * `wait` asks often, and a start must not wait for it); only a
	 * difference is read again under the lock a live change holds from its
	 * record to the sidecar's answer, since one under way would look cut
	 * short. A lock held long (a start) leaves the comparison out rather
	 * than guess. */
	if (ps_ask_status(id, &st, CTL_ASK_MS) == 0 && ctl_diagnose_table(id, rec, &st, findings + nf, max - nf)) {
		cleanup_close int lock = -1;
		struct ps_forwards *now = NULL;

		ps_status_free(&st);
		if (ps_lock(&lock, 1000) == 0 && ps_record_load(id, &now, NULL) == 0 &&
		    ps_ask_status(id, &st, CTL_ASK_MS) == 0)
			nf += ctl_diagnose_table(id, now, &st, findings + nf, max - nf);
		else if (!st.v)
			ps_ask_status(id, &st, CTL_ASK_MS);
		ps_forwards_free(now);
	}

	const struct ps_listener *seen = ls.v;
	size_t ns = ls.n;
	unsigned long long conns = st.conns_live;

	for (size_t i = 0; i < rec->n && nf < max; i++) {
		bool dup = false;

		/* One line per mapping, not per address family. */
		for (size_t k = 0; k < i; k++)
			dup |= rec->v[k].local_port == rec->v[i].local_port &&
			       rec->v[k].external_port == rec->v[i].external_port && rec->v[k].proto == rec->v[i].proto;
		if (!dup)
			diagnose(&rec->v[i], rec, seen, ns, &findings[nf++]);
	}
	/* The app's TCP ports no mapping names: automatic forwarding's part. */
	for (size_t i = 0; i < ns && nf < max; i++) {
		bool dup = false, named = false;

		if (seen[i].proto != OCI_PROTO_TCP)
			continue;
		for (size_t k = 0; k < i; k++)
			dup |= seen[k].proto == OCI_PROTO_TCP && seen[k].port == seen[i].port;
		for (size_t k = 0; k < rec->n_known; k++)
			named |= rec->known[k].port == seen[i].port && rec->known[k].proto == OCI_PROTO_TCP;
		if (!dup && !named)
			ctl_diagnose_auto(id, rec, seen, ns, seen[i].port, st.v, st.n, &findings[nf++]);
	}
	nf += ctl_diagnose_allow(rec, &st, findings + nf, max - nf);
	if (rec->max_connections && conns >= rec->max_connections && nf < max) {
		findings[nf] = (struct finding){.status = "problem", .mapping = "(all)"};
		snprintf(findings[nf].detail, sizeof(findings[nf].detail),
			 "%llu connections are open, the most the policy allows a container (maxConnections %u): "
			 "new ones are refused",
			 conns, rec->max_connections);
		snprintf(findings[nf].fix, sizeof(findings[nf].fix),
			 "close idle connections, or raise maxConnections in %s", OCI_POLICY_PATH);
		nf++;
	}
	ps_listeners_free(&ls);
	ps_status_free(&st);
	ps_forwards_free(rec);
	return nf;
}

/* S (LEN bytes) as oci_sanitize leaves it, in place. */
static void clean(char *s, size_t len)
{
	char raw[sizeof(((struct finding *)0)->detail)];

	snprintf(raw, sizeof(raw) < len ? sizeof(raw) : len, "%s", s);
	oci_sanitize(raw, s, len);
}

/* Every finding about container ID (which must be known) in F; returns how
 * many, 0 when ID is not a forwarded container and no refusal is logged.
 * What a finding says quotes other processes (a port holder's name, a
 * sidecar's error, the refusal log) and is cut to its buffer, perhaps inside
 * a character: made harmless for a terminal and valid UTF-8 for --json, once,
 * here, for doctor, wait and url alike. */
static size_t examine(const char *want, struct finding *findings, size_t max)
{
	size_t n = examine_raw(want, findings, max);

	for (size_t i = 0; i < n; i++) {
		clean(findings[i].mapping, sizeof(findings[i].mapping));
		clean(findings[i].detail, sizeof(findings[i].detail));
		clean(findings[i].fix, sizeof(findings[i].fix));
	}
	return n;
}

static json_object *findings_json(const struct finding *f, size_t n)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "mapping", json_object_new_string(f[i].mapping));
		json_object_object_add(o, "status", json_object_new_string(f[i].status));
		json_object_object_add(o, "detail", json_object_new_string(f[i].detail));
		if (f[i].fix[0])
			json_object_object_add(o, "fix", json_object_new_string(f[i].fix));
		json_object_array_add(arr, o);
	}
	return arr;
}

static bool print_findings(const struct finding *f, size_t n, const char *indent)
{
	bool problems = false;

	for (size_t i = 0; i < n; i++) {
		problems |= !strcmp(f[i].status, "problem");
		printf("%s%s\n%s  %s: %s\n", indent, f[i].mapping, indent, f[i].status, f[i].detail);
		if (f[i].fix[0])
			printf("%s  fix: %s\n", indent, f[i].fix);
	}
	return problems;
}

static bool any_problem(const struct finding *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].status, "problem"))
			return true;
	return false;
}

/* doctor with no ID: every forwarded container (a container that joined
 * another's netns is examined with it). */
static int doctor_all(bool json)
{
	static struct finding findings[FINDINGS_MAX];
	cleanup_json json_object *arr = json_object_new_array();
	bool problems = false;
	char **ids = NULL, owner[256];
	size_t n = 0, shown = 0;

	if (ctl_ids(&ids, &n) < 0) {
		ctl_warn("cannot read %s", ps_run_dir());
		return CTL_EXIT_INVALID;
	}
	for (size_t i = 0; i < n; i++) {
		ps_owner(ids[i], owner, sizeof(owner));
		if (owner[0])
			continue;
		size_t nf = examine(ids[i], findings, FINDINGS_MAX);
		if (nf == 0)
			continue; /* being created or removed */
		problems |= any_problem(findings, nf);
		if (json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "id", json_object_new_string(ids[i]));
			json_object_object_add(o, "findings", findings_json(findings, nf));
			json_object_array_add(arr, o);
		} else {
			char sid[CTL_SHORT_ID_LEN];

			printf("%s%s\n", shown ? "\n" : "", ctl_short_id(ids[i], sid, sizeof(sid)));
			print_findings(findings, nf, "  ");
		}
		shown++;
	}
	ctl_ids_free(ids, n);
	if (json)
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (!shown)
		printf("no forwarded containers\n");
	return problems ? CTL_EXIT_INVALID : CTL_EXIT_OK;
}

int ctl_doctor(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	static struct finding findings[FINDINGS_MAX];
	char id[OCI_ID_MAX_LEN + 1];
	bool json = false;
	size_t nf;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return CTL_EXIT_USAGE;
		json = true;
	}
	if (argc - optind > 1) {
		ctl_warn("usage: portsidectl doctor [--json] [ID]");
		return CTL_EXIT_USAGE;
	}
	if (argc == optind)
		return doctor_all(json);
	if ((rc = ctl_resolve(argv[optind], id, sizeof(id))) != CTL_EXIT_OK)
		return rc;
	if ((nf = examine(id, findings, FINDINGS_MAX)) == 0) {
		ctl_warn("%s is not a forwarded container (no state under %s, no refusal logged)", ctl_sid(id),
			 ps_run_dir());
		return CTL_EXIT_INVALID;
	}
	if (json) {
		cleanup_json json_object *arr = findings_json(findings, nf);

		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		return any_problem(findings, nf) ? CTL_EXIT_INVALID : CTL_EXIT_OK;
	}
	return print_findings(findings, nf, "") ? CTL_EXIT_INVALID : CTL_EXIT_OK;
}

int ctl_doctor_port(const char *id, unsigned port, char *why, size_t len)
{
	static struct finding findings[FINDINGS_MAX];
	size_t nf = examine(id, findings, FINDINGS_MAX);
	const struct finding *best = NULL;

	snprintf(why, len, "container port %u: the container is not running", port);
	for (size_t i = 0; i < nf; i++) {
		/* About the whole container (the sidecar gone, maxConnections):
		 * no port of it is reachable. Not the automatic forwarding
		 * mode a cut-short change left apart: ports still serve. */
		if (findings[i].port == 0 && !strcmp(findings[i].status, "problem") &&
		    !strcmp(findings[i].mapping, "(all)")) {
			snprintf(why, len, "%s", findings[i].detail); /* the sidecar is gone */
			return 0;
		}
		/* TCP first: what a user waits for or opens a URL on. */
		if (findings[i].port == port &&
		    (!best || (best->proto != OCI_PROTO_TCP && findings[i].proto == OCI_PROTO_TCP)))
			best = &findings[i];
	}
	if (!best) {
		if (nf)
			snprintf(why, len, "container port %u: nothing listens on it and no mapping names it", port);
		return 0;
	}
	snprintf(why, len, "%s: %s%s%s", best->mapping, best->detail, best->fix[0] ? "; fix: " : "", best->fix);
	return !strcmp(best->status, "ok");
}
