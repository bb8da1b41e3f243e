/* SPDX-License-Identifier: MIT */
/* portsidectl check: validates an annotation value exactly as the hook does. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../oci/annotations.h"
#include "../base/cleanup.h"
#include "../oci/input.h"
#include "../oci/policy.h"
#include "ctl.h"

static void print_table(const struct oci_spec *s, const struct oci_policy *pol)
{
	/* ALLOW last: scripts that read the earlier columns keep working. */
	printf("%-24s %-6s %-5s %-16s %-5s %-5s %-10s %-10s %s\n", "EXTERNAL", "LOCAL", "PROTO", "EXPOSE-LOCALHOST",
	       "PROXY", "ENTRY", "VISIBILITY", "LABEL", "ALLOW");
	for (size_t i = 0; i < s->ports->n; i++) {
		const struct oci_mapping *m = &s->ports->v[i];
		char host[OCI_IP_LEN], ext[OCI_IP_LEN + 16], allow[OCI_NET_LEN + 8];

		oci_ip_format(&m->host_ip, host);
		ctl_allow_short(&m->allow, allow, sizeof(allow));
		if (!m->expose)
			snprintf(ext, sizeof(ext), "- (not exposed)");
		else if (!m->external_port)
			snprintf(ext, sizeof(ext), "auto");
		else if (m->host_ip.family == AF_INET6)
			snprintf(ext, sizeof(ext), "[%s]:%u", host, m->external_port);
		else
			/* No address: the policy's ("*"), or loopback when private. */
			snprintf(ext, sizeof(ext), "%s:%u",
				 host[0]				   ? host
				 : m->visibility == OCI_VISIBILITY_PRIVATE ? "localhost"
									   : "*",
				 m->external_port);
		printf("%-24s %-6u %-5s %-16s %-5s %-5u %-10s %-10s %s\n", ext, m->local_port, oci_proto_name(m->proto),
		       m->expose_localhost ? "yes" : "no", m->proxy_protocol ? "yes" : "no", m->entry,
		       oci_visibility_name(m->visibility), m->label[0] ? m->label : "-", m->expose ? allow : "-");
		/* The whole list, when the column could show only its first. */
		if (m->expose && m->allow.n > 1) {
			char all[1024];

			oci_allow_format(&m->allow, all, sizeof(all));
			printf("  entry %u allow: %s\n", m->entry, all);
		}
	}
	printf("autoforward: %s\n", oci_autoforward_name(s->autoforward));
	printf("automatic forwards: %s\n", oci_visibility_name(pol->visibility));
	if (pol->allow_from.n) {
		char all[1024];

		oci_allow_format(&pol->allow_from, all, sizeof(all));
		printf("allowFrom: %s\n", all);
	}
}

static json_object *mapping_json(const struct oci_mapping *m)
{
	json_object *o = json_object_new_object();
	char host[OCI_IP_LEN];

	oci_ip_format(&m->host_ip, host);
	json_object_object_add(o, "entry", json_object_new_int((int)m->entry));
	json_object_object_add(o, "localPort", json_object_new_int(m->local_port));
	json_object_object_add(o, "externalPort", m->external_port ? json_object_new_int(m->external_port) : NULL);
	json_object_object_add(o, "protocol", json_object_new_string(oci_proto_name(m->proto)));
	json_object_object_add(o, "hostIP", host[0] ? json_object_new_string(host) : NULL);
	json_object_object_add(o, "expose", json_object_new_boolean(m->expose));
	json_object_object_add(o, "exposeLocalhost", json_object_new_boolean(m->expose_localhost));
	json_object_object_add(o, "proxyProtocol", json_object_new_boolean(m->proxy_protocol));
	json_object_object_add(o, "visibility", json_object_new_string(oci_visibility_name(m->visibility)));
	json_object_object_add(o, "label", m->label[0] ? json_object_new_string(m->label) : NULL);
	json_object_object_add(o, "allow", m->expose ? ctl_allow_json(&m->allow) : NULL);
	return o;
}

static void print_json(const struct oci_spec *s, const struct oci_policy *pol, const struct oci_err *e)
{
	cleanup_json json_object *root = json_object_new_object();

	json_object_object_add(root, "valid", json_object_new_boolean(s != NULL));
	if (s) {
		json_object *arr = json_object_new_array();

		for (size_t i = 0; i < s->ports->n; i++)
			json_object_array_add(arr, mapping_json(&s->ports->v[i]));
		json_object_object_add(root, "autoforward",
				       json_object_new_string(oci_autoforward_name(s->autoforward)));
		json_object_object_add(root, "autoforwardVisibility",
				       json_object_new_string(oci_visibility_name(pol->visibility)));
		json_object_object_add(root, "mappings", arr);
		json_object_object_add(root, "allowFrom", ctl_allow_json(&pol->allow_from));
	} else {
		json_object *arr = json_object_new_array();

		for (unsigned i = 0; i < oci_err_lines(e); i++)
			json_object_array_add(arr, json_object_new_string(e->msg[i]));
		json_object_object_add(root, "errors", arr);
	}
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int ctl_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"autoforward", required_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *policy_path = NULL, *autoforward = NULL;
	cleanup_free char *stdin_buf = NULL;
	struct oci_policy *pol = NULL;
	struct oci_annotations ann = {0, NULL};
	struct oci_kv kv[2];
	struct oci_spec spec;
	struct oci_err e;
	bool json = false;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:a:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p': policy_path = optarg; break;
		case 'a': autoforward = optarg; break;
		case 'j': json = true; break;
		case 'h':
			printf("usage: portsidectl check [--policy FILE] [--autoforward MODE] [--json] VALUE|-\n");
			return CTL_EXIT_OK;
		default: return CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		ctl_warn("check: give exactly one annotation value (or - to read it from stdin)");
		return CTL_EXIT_USAGE;
	}

	oci_err_init(&e);
	const char *value = argv[optind];
	if (!strcmp(value, "-")) {
		size_t len;

		if (oci_read_fd(STDIN_FILENO, OCI_PORTS_MAX_LEN, "standard input", &stdin_buf, &len, &e) < 0)
			goto invalid;
		/* A trailing newline from echo or a heredoc is not part of the value. */
		while (len && (stdin_buf[len - 1] == '\n' || stdin_buf[len - 1] == '\r'))
			stdin_buf[--len] = '\0';
		value = stdin_buf;
	}
	/* The same path as the hook: a policy (the host's unless --policy names
	 * one), then the annotations through oci_spec_parse. */
	rc = policy_path ? oci_policy_load(policy_path, false, &pol, &e)
			 : oci_policy_load(OCI_POLICY_PATH, true, &pol, &e);
	if (rc < 0)
		goto invalid;
	kv[ann.n++] = (struct oci_kv){.key = (char *)OCI_ANN_PORTS, .value = (char *)value};
	if (autoforward)
		kv[ann.n++] = (struct oci_kv){.key = (char *)OCI_ANN_AUTOFORWARD, .value = (char *)autoforward};
	ann.v = kv;
	if (oci_spec_parse(&ann, pol, &spec, &e) < 0)
		goto invalid;

	if (json)
		print_json(&spec, pol, NULL);
	else
		print_table(&spec, pol);
	oci_spec_release(&spec);
	oci_policy_free(pol);
	return CTL_EXIT_OK;

invalid:
	if (json)
		print_json(NULL, NULL, &e);
	else
		oci_err_print(&e, stderr, "portsidectl");
	oci_policy_free(pol);
	return CTL_EXIT_INVALID;
}
