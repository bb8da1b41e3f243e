/* SPDX-License-Identifier: MIT */
/* portsidectl ls [--json]: every forwarded container, its mappings, how each
 * was made, live connections and bytes each way. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/rundir.h"
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

/* Counter NAME of forward I in a status reply (0 when unknown). */
static unsigned long long counter(json_object *status, size_t i, const char *name)
{
	json_object *arr, *fw, *v;

	if (!status || !json_object_object_get_ex(status, "forwards", &arr) ||
	    !(fw = json_object_array_get_idx(arr, i)) || !json_object_object_get_ex(fw, name, &v))
		return 0;
	return (unsigned long long)json_object_get_int64(v);
}

/* Replaces F's forwards with those a live sidecar reports. */
static void from_status(struct oci_forwards *f, json_object *status)
{
	json_object *arr, *fw, *v;
	size_t n;

	if (!json_object_object_get_ex(status, "forwards", &arr) || !json_object_is_type(arr, json_type_array))
		return;
	n = json_object_array_length(arr);
	struct oci_forward *nv = calloc(n ? n : 1, sizeof(*nv));
	if (!nv)
		return;
	for (size_t i = 0; i < n; i++) {
		fw = json_object_array_get_idx(arr, i);
		if (json_object_object_get_ex(fw, "hostIP", &v))
			oci_ip_parse(json_object_get_string(v), &nv[i].host_ip);
		if (json_object_object_get_ex(fw, "externalPort", &v))
			nv[i].external_port = (uint16_t)json_object_get_int(v);
		if (json_object_object_get_ex(fw, "localPort", &v))
			nv[i].local_port = (uint16_t)json_object_get_int(v);
		if (json_object_object_get_ex(fw, "protocol", &v))
			nv[i].proto = strcmp(json_object_get_string(v), "udp") ? OCI_PROTO_TCP : OCI_PROTO_UDP;
		nv[i].auto_assigned = json_object_object_get_ex(fw, "auto", &v) && json_object_get_boolean(v);
		if (json_object_object_get_ex(fw, "visibility", &v) && json_object_is_type(v, json_type_string)) {
			enum oci_visibility vis = OCI_VISIBILITY_PUBLIC;

			oci_visibility_parse(json_object_get_string(v), &vis);
			nv[i].visibility = (uint8_t)vis;
		}
		/* The sidecar checked it; a terminal gets nothing it would not. */
		if (json_object_object_get_ex(fw, "label", &v) && json_object_is_type(v, json_type_string) &&
		    oci_label_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v)))
			snprintf(nv[i].label, sizeof(nv[i].label), "%s", json_object_get_string(v));
	}
	free(f->v);
	f->v = nv;
	f->n = n;
}

/* running: its sidecar answers; dead: the sidecar is gone while the
 * container runs (`portsidectl restore` brings it back); stopped: both gone,
 * the state not yet cleaned up. */
static const char *state_of(const char *id, json_object *status)
{
	if (status)
		return "running";
	return ps_container_alive(id) ? "dead" : "stopped";
}

static json_object *container_json(const char *id, const struct oci_forwards *f, json_object *status, const char *owner)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();

	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "state", json_object_new_string(owner[0] ? "joined" : state_of(id, status)));
	if (owner[0])
		json_object_object_add(o, "servedBy", json_object_new_string(owner));
	for (size_t i = 0; f && i < f->n; i++) {
		const struct oci_forward *w = &f->v[i];
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
		json_object_object_add(m, "connections",
				       json_object_new_int64((int64_t)counter(status, i, "connections")));
		json_object_object_add(m, "bytesIn", json_object_new_int64((int64_t)counter(status, i, "bytesIn")));
		json_object_object_add(m, "bytesOut", json_object_new_int64((int64_t)counter(status, i, "bytesOut")));
		json_object_array_add(arr, m);
	}
	json_object_object_add(o, "forwards", arr);
	return o;
}

static void container_table(const char *id, const struct oci_forwards *f, json_object *status, const char *owner)
{
	char short_id[CTL_SHORT_ID_LEN];

	ctl_short_id(id, short_id, sizeof(short_id));
	if (owner[0]) {
		printf("%-12s  (shares the network namespace of %s, served by its sidecar)\n", short_id,
		       ctl_sid(owner));
		return;
	}
	for (size_t i = 0; f && i < f->n; i++) {
		const struct oci_forward *w = &f->v[i];
		char ext[OCI_IP_LEN + 8], loc[16], in[16], out[16];

		ctl_format_addr(&w->host_ip, w->external_port, ext, sizeof(ext));
		snprintf(loc, sizeof(loc), "%u/%s", w->local_port, oci_proto_name(w->proto));
		human(counter(status, i, "bytesIn"), in, sizeof(in));
		human(counter(status, i, "bytesOut"), out, sizeof(out));
		/* The columns added later go last: scripts that read the
		 * earlier ones by position keep working. */
		printf("%-12s  %-22s  %-9s  %-8s  %5llu  %8s  %8s  %-7s  %-10s  %s\n", i ? "" : short_id, ext, loc,
		       w->auto_assigned ? "auto" : "explicit", counter(status, i, "connections"), in, out,
		       state_of(id, status), oci_visibility_name(w->visibility), w->label[0] ? w->label : "-");
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
		printf("%-12s  %-22s  %-9s  %-8s  %5s  %8s  %8s  %-7s  %-10s  %s\n", "CONTAINER", "EXTERNAL", "LOCAL",
		       "HOW", "CONNS", "IN", "OUT", "STATE", "VISIBILITY", "LABEL");
	for (size_t i = 0; i < n; i++) {
		struct oci_forwards *f = NULL;
		json_object *status = NULL;
		char owner[256];

		ps_owner(ids[i], owner, sizeof(owner));
		if (!owner[0]) {
			if (ps_record_load(ids[i], &f, NULL) < 0)
				continue; /* being created, or not portside's */
			/* A live sidecar knows best: automatic forwards come and go. */
			if (ps_sidecar_alive(ids[i], NULL) && (status = ctl_ask(ids[i], PS_CTL_STATUS)))
				from_status(f, status);
		}
		if (json)
			json_object_array_add(all, container_json(ids[i], f, status, owner));
		else
			container_table(ids[i], f, status, owner);
		json_object_put(status);
		oci_forwards_free(f);
	}
	if (json)
		puts(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	ctl_ids_free(ids, n);
	return CTL_EXIT_OK;
}
