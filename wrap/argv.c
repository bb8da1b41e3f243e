/* SPDX-License-Identifier: MIT */
/* The runtime's command line. containerd's shim writes it as go-runc does
 * (`runc --root R --log L --log-format json create --bundle B --pid-file P
 * ID`); people and other tools write it other ways urfave/cli accepts (one
 * dash or two, `--flag=value`). Only the command and the bundle matter here. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "wrap.h"

/* Global options of runc and crun that take a value as the next word. */
static const char *const global_valued[] = {
	"root", "log", "log-format", "log-level", "criu", "rootless", "cgroup-manager", NULL,
};

static bool in(const char *name, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

/* "--x", "-x" and "--x=v" of option word A: its name in NAME (without
 * dashes), and whether a value came with it. false: not an option. */
static bool option(const char *a, char *name, size_t len, const char **value)
{
	size_t n;
	const char *eq;

	if (a[0] != '-' || !a[1] || !strcmp(a, "--"))
		return false;
	a += a[1] == '-' ? 2 : 1;
	eq = strchr(a, '=');
	n = eq ? (size_t)(eq - a) : strlen(a);
	if (n == 0 || n >= len)
		n = 0;
	memcpy(name, a, n);
	name[n] = '\0';
	*value = eq ? eq + 1 : NULL;
	return true;
}

int wr_argv_parse(int argc, char *const *argv, struct wr_call *c)
{
	char name[32];
	const char *value;
	int i = 1;

	*c = (struct wr_call){NULL, NULL, NULL, NULL};
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return -EINVAL;
		if (!option(argv[i], name, sizeof(name), &value))
			break;
		if (!value && in(name, global_valued) && (value = ++i < argc ? argv[i] : NULL) == NULL)
			return -EINVAL;
		if (!strcmp(name, "log"))
			c->log = value;
		else if (!strcmp(name, "log-format"))
			c->log_format = value;
	}
	if (i >= argc)
		return 0; /* no command: --version, --help */
	c->command = argv[i++];
	if (strcmp(c->command, "create") && strcmp(c->command, "run"))
		return 0;
	/* --bundle may be anywhere among the command's options. The other
	 * options' values (--pid-file F) are never read: a shim writes paths
	 * there, never a word starting with a dash. */
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!option(argv[i], name, sizeof(name), &value))
			continue;
		if (strcmp(name, "bundle") && strcmp(name, "b"))
			continue;
		if (!value) {
			if (++i >= argc)
				return -EINVAL;
			value = argv[i];
		}
		if (!value[0])
			return -EINVAL;
		c->bundle = value;
	}
	return 0;
}
