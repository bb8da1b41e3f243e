/* SPDX-License-Identifier: MIT */
/* portsidectl expose, unexpose and autoforward: a running container's port
 * table changed while it runs, the way a cloud IDE's networking panel
 * changes it. table/change.c does the work, with the hook's checks; this
 * file reads the command line and says what came of it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../lib/rundir.h"
#include "../oci/ports.h"
#include "../table/change.h"
#include "ctl.h"

/* Who asked, for the sidecar's log: the command, portsidectl's pid and uid,
 * and the user sudo names (what an operator reading the log looks for). */
static void who(const char *cmd, char *buf, size_t len)
{
	const char *sudo = getenv("SUDO_USER");
	char user[40] = "";

	if (sudo && sudo[0]) {
		size_t k = 0;

		/* A name, not whatever the variable holds. */
		for (const char *p = sudo; *p && k + 1 < sizeof(user) - 8; p++)
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    *p == '-' || *p == '_' || *p == '.')
				user[k++] = *p;
		user[k] = '\0';
	}
	snprintf(buf, len, "portsidectl %s (pid %d, uid %u%s%s)", cmd, (int)getpid(), (unsigned)getuid(),
		 user[0] ? ", sudo by " : "", user);
}

/* The container named, and the one whose sidecar serves it (a pod's other
 * containers are served by the first one's). */
static int target(const char *arg, bool exact, char *id, size_t len)
{
	char owner[OCI_ID_MAX_LEN + 1];
	int rc = exact ? ctl_resolve_id(arg, id, len) : ctl_resolve(arg, id, len);

	if (rc != CTL_EXIT_OK)
		return rc;
	ps_owner(id, owner, sizeof(owner));
	if (owner[0])
		snprintf(id, len, "%s", owner);
	return CTL_EXIT_OK;
}

static void print_forward(const char *what, const struct ps_forward *w)
{
	char addr[OCI_IP_LEN + 16];

	ctl_format_addr(&w->host_ip, w->external_port, addr, sizeof(addr));
	printf("%s %s -> %u/%s%s%s\n", what, addr, w->local_port, oci_proto_name(w->proto), w->label[0] ? " " : "",
	       w->label);
}

static void print_outcome(const struct tb_outcome *o)
{
	for (size_t i = 0; i < o->added->n; i++)
		print_forward("forwarding", &o->added->v[i]);
	for (size_t i = 0; i < o->pinned->n; i++)
		print_forward("pinned", &o->pinned->v[i]);
	for (size_t i = 0; i < o->removed->n; i++)
		print_forward("stopped forwarding", &o->removed->v[i]);
	if (o->rebound)
		printf("served again: %u listener%s the record had and the sidecar had lost\n", o->rebound,
		       o->rebound == 1 ? "" : "s");
}

/* Runs C on the container ARG names; prints what came of it. */
static int run(const char *arg, bool exact, struct tb_change *c, const char *cmd)
{
	char id[OCI_ID_MAX_LEN + 1], by[128];
	struct tb_outcome o;
	struct oci_err e;
	int rc;

	if ((rc = target(arg, exact, id, sizeof(id))) != CTL_EXIT_OK)
		return rc;
	who(cmd, by, sizeof(by));
	c->by = by;
	oci_err_init(&e);
	rc = tb_change(id, c, &o, &e);
	if (rc < 0) {
		/* Applied but for one listener: what it did, then why not all. */
		if (o.partial)
			print_outcome(&o);
		oci_err_print(&e, stderr, "portsidectl");
		tb_outcome_free(&o);
		return CTL_EXIT_INVALID;
	}
	print_outcome(&o);
	if (c->op == TB_EXPOSE && o.already && !o.added->n && !o.pinned->n)
		printf("nothing to expose: %s forwards %s already\n", ctl_sid(id), o.already == 1 ? "it" : "them");
	else if (c->op == TB_EXPOSE && o.already)
		printf("%u of them forwarded already\n", o.already);
	if (c->op == TB_AUTOFORWARD)
		printf("automatic forwarding of %s: %s%s\n", ctl_sid(id), oci_autoforward_name(c->mode),
		       o.already ? " (already)" : "");
	tb_outcome_free(&o);
	return CTL_EXIT_OK;
}

/* "PORT" or "PORT/PROTO" into *PORT and *PROTO (-1: not given). */
static int port_arg(const char *s, unsigned *port, int *proto)
{
	char *end;
	unsigned long v;

	*proto = -1;
	if (s[0] < '1' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || v < 1 || v > 65535)
		return -EINVAL;
	if (*end == '/') {
		uint8_t p;

		if (oci_proto_parse(end + 1, &p) < 0)
			return -EINVAL;
		*proto = p;
	} else if (*end) {
		return -EINVAL;
	}
	*port = (unsigned)v;
	return 0;
}

int ctl_expose(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", required_argument, NULL, 'j'}, {"id", no_argument, NULL, 'i'}, {NULL, 0, NULL, 0}};
	struct tb_change c = {.op = TB_EXPOSE};
	bool exact = false;
	cleanup_free char *spec = NULL;
	const char *json = NULL;
	size_t len = 0;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'i')
			exact = true;
		else if (opt == 'j')
			json = optarg;
		else
			return CTL_EXIT_USAGE;
	}
	if (optind >= argc || (json && optind + 1 != argc) || (!json && optind + 2 > argc)) {
		ctl_warn("usage: portsidectl expose [--id] ID SPEC... | expose [--id] ID --json '[{...}]'");
		return CTL_EXIT_USAGE;
	}
	/* The compact spelling's entries are the arguments, one each. --json
	 * says the value is JSON: never read as the compact spelling, whose
	 * errors about it would make no sense. */
	if (json && json[strspn(json, " \t\r\n")] != '[') {
		ctl_warn("expose: --json takes a JSON array of mappings, [{\"localPort\": ...}, ...]");
		return CTL_EXIT_INVALID;
	}
	if (json) {
		spec = strdup(json);
	} else {
		for (int i = optind + 1; i < argc; i++)
			len += strlen(argv[i]) + 1;
		if (len > OCI_PORTS_MAX_LEN + 1) {
			ctl_warn("expose: the mappings are longer than %d bytes", OCI_PORTS_MAX_LEN);
			return CTL_EXIT_INVALID;
		}
		if ((spec = calloc(1, len + 1)))
			for (int i = optind + 1; i < argc; i++) {
				if (strchr(argv[i], ',')) {
					ctl_warn("expose: one mapping an argument (%.64s has a comma)", argv[i]);
					return CTL_EXIT_USAGE;
				}
				if (i > optind + 1)
					strcat(spec, ",");
				strcat(spec, argv[i]);
			}
	}
	if (!spec) {
		ctl_warn("out of memory");
		return CTL_EXIT_INVALID;
	}
	c.spec = spec;
	return run(argv[optind], exact, &c, "expose");
}

int ctl_unexpose(int argc, char **argv)
{
	static const struct option opts[] = {{"local", no_argument, NULL, 'l'},
					     {"close", no_argument, NULL, 'c'},
					     {"id", no_argument, NULL, 'i'},
					     {NULL, 0, NULL, 0}};
	struct tb_change c = {.op = TB_UNEXPOSE};
	bool exact = false;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'l')
			c.local = true;
		else if (opt == 'c')
			c.close_conns = true;
		else if (opt == 'i')
			exact = true;
		else
			return CTL_EXIT_USAGE;
	}
	if (optind + 2 != argc || port_arg(argv[optind + 1], &c.port, &c.proto) < 0) {
		ctl_warn("usage: portsidectl unexpose [--close] [--id] ID EXTERNAL[/PROTO] | unexpose [--close] [--id] "
			 "ID --local LOCAL[/PROTO]");
		return CTL_EXIT_USAGE;
	}
	return run(argv[optind], exact, &c, "unexpose");
}

int ctl_autoforward(int argc, char **argv)
{
	static const struct option opts[] = {{"id", no_argument, NULL, 'i'}, {NULL, 0, NULL, 0}};
	struct tb_change c = {.op = TB_AUTOFORWARD};
	bool exact = false;
	struct oci_err e;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 'i')
			return CTL_EXIT_USAGE;
		exact = true;
	}
	oci_err_init(&e);
	if (optind + 2 != argc) {
		ctl_warn("usage: portsidectl autoforward [--id] ID public|all|never");
		return CTL_EXIT_USAGE;
	}
	if (oci_autoforward_parse(argv[optind + 1], &c.mode) < 0) {
		ctl_warn("autoforward: the mode is public, all or never, not '%.32s'", argv[optind + 1]);
		return CTL_EXIT_USAGE;
	}
	return run(argv[optind], exact, &c, "autoforward");
}

int ctl_sync(const char *id, struct tb_outcome *o, struct oci_err *e)
{
	char by[128];
	struct tb_change c = {.op = TB_SYNC};

	who("restore", by, sizeof(by));
	c.by = by;
	return tb_change(id, &c, o, e);
}

void ctl_print_outcome(const struct tb_outcome *o)
{
	print_outcome(o);
}
