/* SPDX-License-Identifier: MIT */
/* portsidectl ls [--json]: every forwarded container, its mappings, how each
 * was made, live connections and bytes each way. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/clock.h"
#include "../lib/rundir.h"
#include "../lib/starting.h"
#include "../base/cleanup.h"
#include "../oci/ports.h"
#include "ctl.h"

static void human(unsigned long long b, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)b;
	int u = 0;

	while (v >= 1000 && u < 4)
		v /= 1000, u++;
	snprintf(buf, len, u ? "%.1f%s" : "%.0f%s", v, unit[u]);
}

/* The allow list W is served with: the sidecar's status leaves the lists
 * out (64 networks a forward), so the record's forward on the same
 * listener, else (an automatic forward) the policy's allowFrom. */
static const struct oci_allow *allow_of(const struct ps_forwards *f, const struct ps_forward *w)
{
	static const struct oci_allow everyone;

	if (!f)
		return &everyone;
	for (size_t i = 0; i < f->n; i++)
		if (ps_forward_same_listener(&f->v[i], w))
			return &f->v[i].allow;
	return &f->allow_from;
}

/* running: its sidecar answers; starting: its hook is starting the sidecar
 * (lib/starting.h); dead: the sidecar is gone while the container runs
 * (`portsidectl restore` brings it back); stopped: both gone, the state not
 * yet cleaned up. */
static const char *state_of(const char *id, bool running)
{
	if (running)
		return "running";
	if (ps_start_pending(id))
		return "starting";
	return ps_container_alive(id) ? "dead" : "stopped";
}

static json_object *container_json(const char *id, const struct ps_forwards *f, const struct ps_status *st,
				   bool running, const char *owner, const char *name)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();

	json_object_object_add(o, "id", json_object_new_string(id));
	if (name[0])
		json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "state", json_object_new_string(owner[0] ? "joined" : state_of(id, running)));
	if (owner[0])
		json_object_object_add(o, "servedBy", json_object_new_string(owner));
	for (size_t i = 0; i < st->n; i++) {
		const struct ps_forward *w = &st->v[i].map;
		json_object *m = json_object_new_object();
		char ip[OCI_IP_LEN];

		oci_ip_format(&w->host_ip, ip);
		json_object_object_add(m, "hostIP", json_object_new_string(ip));
		json_object_object_add(m, "externalPort", json_object_new_int(w->external_port));
		json_object_object_add(m, "localPort", json_object_new_int(w->local_port));
		json_object_object_add(m, "protocol", json_object_new_string(oci_proto_name(w->proto)));
		json_object_object_add(m, "how", json_object_new_string(w->auto_assigned ? "auto" : "explicit"));
		json_object_object_add(m, "visibility", json_object_new_string(oci_visibility_name(w->visibility)));
		json_object_object_add(m, "label", json_object_new_string(w->label));
		json_object_object_add(m, "connections", json_object_new_uint64(st->v[i].conns_live));
		json_object_object_add(m, "bytesIn", json_object_new_uint64(st->v[i].bytes_in));
		json_object_object_add(m, "bytesOut", json_object_new_uint64(st->v[i].bytes_out));
		json_object_object_add(m, "allow", ctl_allow_json(allow_of(f, w)));
		json_object_array_add(arr, m);
	}
	json_object_object_add(o, "forwards", arr);
	return o;
}

static void container_table(const char *id, const struct ps_forwards *f, const struct ps_status *st, bool running,
			    const char *owner, const char *name)
{
	char short_id[CTL_SHORT_ID_LEN];

	ctl_short_id(id, short_id, sizeof(short_id));
	if (owner[0]) {
		printf("%-12s  (shares the network namespace of %s, served by its sidecar)%s%s\n", short_id,
		       ctl_sid(owner), name[0] ? "  " : "", name);
		return;
	}
	for (size_t i = 0; i < st->n; i++) {
		const struct ps_forward *w = &st->v[i].map;
		char ext[OCI_IP_LEN + 8], loc[16], in[16], out[16], allow[OCI_NET_LEN + 8];
		/* On the container's first row, "-" on the others: ALLOW,
		 * after it, stays the last field a script splits. */
		bool named = i == 0 && name[0];

		ctl_format_addr(&w->host_ip, w->external_port, ext, sizeof(ext));
		snprintf(loc, sizeof(loc), "%u/%s", w->local_port, oci_proto_name(w->proto));
		human(st->v[i].bytes_in, in, sizeof(in));
		human(st->v[i].bytes_out, out, sizeof(out));
		ctl_allow_short(allow_of(f, w), allow, sizeof(allow));
		/* The columns added later go last: scripts that read the
		 * earlier ones by position keep working. */
		printf("%-12s  %-22s  %-9s  %-8s  %5llu  %8s  %8s  %-7s  %-10s  %-10s  %-10s  %s\n", i ? "" : short_id,
		       ext, loc, w->auto_assigned ? "auto" : "explicit", (unsigned long long)st->v[i].conns_live, in,
		       out, state_of(id, running), oci_visibility_name(w->visibility), w->label[0] ? w->label : "-",
		       named ? name : "-", allow);
	}
}

int ctl_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'}, {NULL, 0, NULL, 0}};
	cleanup_json json_object *all = json_object_new_array();
	bool json = false, quiet = false;
	char sid[CTL_SHORT_ID_LEN];
	char **ids = NULL;
	cleanup_free char(*names)[OCI_KUBE_NAME_MAX] = NULL;
	size_t n = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'q')
			quiet = true;
		else
			return CTL_EXIT_USAGE;
	}
	if (ctl_ids(&ids, &n) < 0) {
		ctl_warn("cannot read %s", ps_run_dir());
		return CTL_EXIT_INVALID;
	}
	if (quiet) {
		/* What completion and scripts take: the ids ls shows. */
		for (size_t i = 0; i < n; i++)
			printf("%s\n", ctl_short_id(ids[i], sid, sizeof(sid)));
		ctl_ids_free(ids, n);
		return CTL_EXIT_OK;
	}
	if (!json)
		printf("%-12s  %-22s  %-9s  %-8s  %5s  %8s  %8s  %-7s  %-10s  %-10s  %-10s  %s\n", "CONTAINER",
		       "EXTERNAL", "LOCAL", "HOW", "CONNS", "IN", "OUT", "STATE", "VISIBILITY", "LABEL", "NAME",
		       "ALLOW");
	/* Kubernetes names as containerd confirms them (ctl_cri_names). */
	names = calloc(n ? n : 1, sizeof(*names));
	if (names)
		ctl_cri_names(ids, n, names, ps_now_ms() + CTL_RESOLVE_MS);
	for (size_t i = 0; i < n; i++) {
		struct ps_forwards *f = NULL;
		struct ps_status st = {0};
		bool running = false;
		char owner[256];

		ps_owner(ids[i], owner, sizeof(owner));
		if (!owner[0]) {
			if (ps_record_load(ids[i], &f, NULL) < 0)
				continue; /* being created, or not portside's */
			/* A live sidecar knows best: automatic forwards come and go. */
			running = ps_sidecar_alive(ids[i], NULL) && ps_ask_status(ids[i], &st, CTL_ASK_MS) == 0;
			if (!running)
				ctl_status_from_record(f, &st);
		}
		if (json)
			json_object_array_add(all,
					      container_json(ids[i], f, &st, running, owner, names ? names[i] : ""));
		else
			container_table(ids[i], f, &st, running, owner, names ? names[i] : "");
		ps_status_free(&st);
		ps_forwards_free(f);
	}
	if (json)
		puts(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	ctl_ids_free(ids, n);
	return CTL_EXIT_OK;
}
