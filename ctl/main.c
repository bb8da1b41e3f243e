/* SPDX-License-Identifier: MIT */
/* portsidectl: list, inspect and diagnose forwarded containers; validate annotations. */
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "../oci/policy.h"

#include "../lib/warn.h"
#include "ctl.h"

#include "paths.h" /* generated: PORTSIDE_VERSION */

void ctl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ps_vwarn("portsidectl", fmt, ap);
	va_end(ap);
}

static int ctl_version(int argc, char **argv);

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
	const char *help;
} commands[] = {
	{"ls", ctl_ls, "ls [--json] [-q|--quiet]",
	 "List forwarded containers: each mapping's label, host address, container port, visibility, how it was\n"
	 "made (explicit or auto), live connections and bytes each way.\n"
	 "  --json        one JSON array of containers\n"
	 "  -q, --quiet   only the ids (12 characters), one a line"},
	{"doctor", ctl_doctor, "doctor [--json] [ID]",
	 "Say what is wrong with a container's ports and what to change: nothing listens on a mapped port, the\n"
	 "app binds 127.0.0.1 only, a port automatic forwarding skipped and why, a refused start, a sidecar that\n"
	 "is not running. Without ID, every forwarded container. Exit status 1 when it found a problem.\n"
	 "  --json        the findings as JSON"},
	{"wait", ctl_wait, "wait ID PORT [--timeout SECONDS]",
	 "Wait until container port PORT is forwarded and the app listens on it where the forward reaches it;\n"
	 "exit 0 then, or 1 with the reason at the timeout (default 30 s; 0 waits for ever)."},
	{"url", ctl_url, "url ID PORT",
	 "Print the URL a client on this host uses to reach container port PORT: http://ADDRESS:PORT/ for TCP,\n"
	 "udp://ADDRESS:PORT for UDP (the container's pool address when it has one)."},
	{"events", ctl_events, "events [--json] [ID]",
	 "Follow what happens, one line an event: forwarded, auto-forwarded, closed, refused (with the reason),\n"
	 "stopped (the sidecar stopped). Runs until interrupted.\n"
	 "  --json        one JSON object a line"},
	{"restore", ctl_restore, "restore ID",
	 "Start a new sidecar for a running container whose sidecar died (ls shows it dead): the same host\n"
	 "ports and addresses, the sidecar it was started with; automatic forwards come back as the app's\n"
	 "listeners are seen again. With a sidecar that runs, make it serve what the record says (what doctor\n"
	 "asks for after a change was interrupted)."},
	{"expose", ctl_expose, "expose [--id] ID SPEC... | expose [--id] ID --json '[{...}]'",
	 "Forward more ports of a running container, at once: SPEC as in io.portside.ports' compact form\n"
	 "(8080:3000, 127.0.0.1:5173:5173, 5353:53/udp, 9000-9009:9000-9009), one an argument, or the JSON\n"
	 "form's array. The same checks as at start (reserved ports, the policy, the container's pool address,\n"
	 "maxPorts, host ports in use, named with their holder); all or nothing. A SPEC a running automatic\n"
	 "forward already serves (same host and local port) pins it: explicit from then on, on the same listener.\n"
	 "  --id          ID is a whole container id (as ls --json prints it): no name is looked up (fast)"},
	{"unexpose", ctl_unexpose,
	 "unexpose [--close] [--id] ID EXTERNAL[/PROTO] | unexpose [--close] [--id] ID --local LOCAL[/PROTO]",
	 "Stop forwarding a host port (or every host port of a container port, with --local): its listener\n"
	 "closes at once; open connections go on until they end (--close ends them too). The container port\n"
	 "stays known: automatic forwarding leaves it alone until it is exposed again.\n"
	 "  --id          ID is a whole container id: no name is looked up"},
	{"autoforward", ctl_autoforward, "autoforward [--id] ID public|all|never",
	 "Switch a running container's automatic forwarding: public (ports the app opens on a non-loopback\n"
	 "address), all (localhost-only ones too), never (the automatic forwards close; their connections go on).\n"
	 "  --id          ID is a whole container id: no name is looked up"},
	{"metrics", ctl_metrics, "metrics [--textfile FILE] [ID]",
	 "Print every forwarded container's counters (or ID's) in the Prometheus text format: per mapping\n"
	 "connections accepted and active, bytes each way, refusals by reason; per container sidecar up,\n"
	 "automatic forwards, UDP flows, restores; the refusal log's counts. A dead sidecar shows as up 0.\n"
	 "  --textfile FILE   write it to FILE atomically instead, for node_exporter's textfile collector"},
	{"top", ctl_top, "top [--no-stream] [ID]",
	 "A live view of every forwarded mapping (or ID's), busiest first, redrawn every second: connections/s,\n"
	 "active connections, bytes/s in and out, refused clients/s, the sidecar's state. q or Ctrl-C quits.\n"
	 "  --no-stream   print one frame of plain text (rates over one second) and exit"},
	{"logs", ctl_logs, "logs ID", "Print the refusals of ID's starts, then its sidecar's log."},
	{"check", ctl_check, "check [--policy FILE] [--autoforward MODE] [--json] VALUE|-",
	 "Validate an io.portside.ports value (- reads it from stdin) against the host policy and print the\n"
	 "mappings it makes. Exit status 1 when it is refused.\n"
	 "  --policy FILE        the policy to check against (default " OCI_POLICY_PATH ")\n"
	 "  --autoforward MODE   the io.portside.autoforward value: public, all or never\n"
	 "  --json               the mappings or the problems as JSON"},
	{"inject", ctl_inject,
	 "inject CONFIG.json --ports VALUE [--autoforward MODE] [--hook PATH] [--sidecar PATH] [--policy FILE]",
	 "Add portside's hooks and annotations to a runc or crun bundle's config.json."},
	{"version", ctl_version, "version", "Print portsidectl's version."},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int ctl_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("portsidectl %s\n", PORTSIDE_VERSION);
	return CTL_EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: portsidectl COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "\nID is a container id, 8 or more of its first characters (ls prints 12), a podman\n"
		   "container name or a Kubernetes NS/POD/CONTAINER. `portsidectl COMMAND --help` says more.\n");
}

/* -h or --help anywhere before "--": the command's help, exit 0. */
static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	ps_prog = "portsidectl"; /* what table/ says (lib/warn.h) */
	if (argc < 2) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		if (argc > 2)
			for (size_t i = 0; i < NCOMMANDS; i++)
				if (!strcmp(argv[2], commands[i].name)) {
					printf("usage: portsidectl %s\n\n%s\n", commands[i].usage, commands[i].help);
					return CTL_EXIT_OK;
				}
		usage(stdout);
		return CTL_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version"))
		return ctl_version(0, NULL);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		if (wants_help(argc - 1, argv + 1)) {
			printf("usage: portsidectl %s\n\n%s\n", commands[i].usage, commands[i].help);
			return CTL_EXIT_OK;
		}
		return commands[i].run(argc - 1, argv + 1);
	}
	ctl_warn("unknown command \"%.32s\" (see portsidectl --help)", argv[1]);
	return CTL_EXIT_USAGE;
}
