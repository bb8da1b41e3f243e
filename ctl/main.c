/* SPDX-License-Identifier: MIT */
/* portsidectl: list, inspect and diagnose forwarded containers; validate annotations. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

#include "paths.h" /* generated: PORTSIDE_VERSION */

void ctl_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("portsidectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"check", ctl_check,
	 "check [--policy FILE] [--autoforward MODE] [--json] VALUE|-   validate an io.portside.ports value"},
	{"ls", ctl_ls, "ls [--json]   list forwarded containers, their mappings, connections and bytes"},
	{"doctor", ctl_doctor, "doctor [--json] ID   say what is wrong with a container's ports, and the fix"},
	{"logs", ctl_logs, "logs ID   print the log of a container's sidecar"},
	{"inject", ctl_inject,
	 "inject CONFIG.json --ports VALUE [--autoforward MODE] [--hook PATH] [--sidecar PATH]   add portside to a "
	 "runc/crun config"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: portsidectl COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].help);
	fprintf(f, "  version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CTL_EXIT_OK;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("portsidectl %s\n", PORTSIDE_VERSION);
		return CTL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	ctl_warn("unknown command \"%.32s\" (see portsidectl --help)", argv[1]);
	return CTL_EXIT_USAGE;
}
