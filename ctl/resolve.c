/* SPDX-License-Identifier: MIT */
/* Which container a user means: what `ls` prints (a 12-character prefix),
 * any unique prefix of at least 8 characters, the whole id, a Kubernetes
 * name the hook recorded from the pod's annotations, or a podman container
 * name, asked of podman itself. Only containers portside knows (a state
 * directory, or a refusal in the hook's log) are candidates. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/refusal.h"
#include "../lib/rundir.h"
#include "../oci/annotations.h"
#include "../base/cleanup.h"
#include "ctl.h"
#include "../lib/clock.h"

#define PREFIX_MIN	  8
#define PODMAN_TIMEOUT_MS 10000
#define PODMAN_NAME_MAX	  253

extern char **environ;

#define say(quiet, ...)                                                                                                \
	do {                                                                                                           \
		if (!(quiet))                                                                                          \
			ctl_warn(__VA_ARGS__);                                                                         \
	} while (0)

struct cands {
	char **v;
	size_t n, cap;
};

static void cands_add(struct cands *c, const char *id)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i], id))
			return;
	if (c->n == c->cap) {
		char **nv = realloc(c->v, (c->cap = c->cap ? c->cap * 2 : 16) * sizeof(*nv));

		if (!nv)
			return;
		c->v = nv;
	}
	if ((c->v[c->n] = strdup(id)))
		c->n++;
}

static void add_refused(const struct ps_refusal *r, void *arg)
{
	if (oci_id_valid(r->id))
		cands_add(arg, r->id);
}

static void cands_load(struct cands *c)
{
	char **ids = NULL;
	size_t n = 0;

	if (ctl_ids(&ids, &n) == 0)
		for (size_t i = 0; i < n; i++)
			cands_add(c, ids[i]);
	ctl_ids_free(ids, n);
	ps_refusals_each(NULL, add_refused, c);
}

static void cands_free(struct cands *c)
{
	ctl_ids_free(c->v, c->n);
}

/* "a1b2c3d4e5f6, 0f9e8d7c6b5a and 2 more" */
static void list_some(char **v, size_t n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && i < 3 && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", ctl_sid(v[i]));
	if (n > 3 && off < len)
		snprintf(buf + off, len - off, " and %zu more", n - 3);
}

/* The recorded Kubernetes name of ID equals ARG ("NS/POD/CONTAINER"), or
 * ends with it ("POD/CONTAINER"). */
static bool kube_match(const char *id, const char *arg)
{
	struct ps_forwards *f = NULL;
	bool hit = false;

	if (ps_record_load(id, &f, NULL) < 0)
		return false;
	size_t ln = strlen(f->kube_name), la = strlen(arg);

	if (ln && !strcmp(f->kube_name, arg))
		hit = true;
	else if (la < ln && !strcmp(f->kube_name + ln - la, arg) && f->kube_name[ln - la - 1] == '/')
		hit = true;
	ps_forwards_free(f);
	return hit;
}

static bool podman_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PODMAN_NAME_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* Asks podman for NAME's id (no shell; NAME checked first). 0 with the id in
 * ID, -ENOENT when podman is not installed or has no such container. */
static int podman_id(const char *name, char *id, size_t len)
{
	char *argv[] = {"podman", "container", "inspect", "--format", "{{.Id}}", (char *)name, NULL};
	posix_spawn_file_actions_t fa;
	char out[256];
	size_t got = 0;
	int p[2], status = 0;
	pid_t pid;
	uint64_t end = ps_now_ms() + PODMAN_TIMEOUT_MS;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	int rc = posix_spawnp(&pid, "podman", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return -ENOENT;
	}
	for (;;) {
		struct pollfd pf = {p[0], POLLIN, 0};
		uint64_t now = ps_now_ms();
		ssize_t n;

		if (now >= end || poll(&pf, 1, (int)(end - now)) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if ((n = read(p[0], out + got, sizeof(out) - 1 - got)) <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(out) - 1)
			break;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	out[got] = '\0';
	out[strcspn(out, "\n")] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strlen(out) != 64 ||
	    strspn(out, "0123456789abcdef") != 64)
		return -ENOENT;
	if (len < 65)
		return -ENAMETOOLONG;
	memcpy(id, out, 65); /* 64 hex digits and the NUL */
	return 0;
}

static int resolve(const char *arg, char *id, size_t len, bool quiet)
{
	struct cands c = {NULL, 0, 0};
	char **hit = NULL, some[128];
	size_t nhit = 0, alen = strnlen(arg, OCI_KUBE_NAME_MAX + 1);
	int rc = CTL_EXIT_INVALID;

	if (alen == 0 || alen > OCI_KUBE_NAME_MAX) {
		say(quiet, "'%.64s' is not a container id or name", arg);
		return CTL_EXIT_USAGE;
	}
	cands_load(&c);
	if (!(hit = calloc(c.n ? c.n : 1, sizeof(*hit))))
		goto out;
	for (size_t i = 0; i < c.n; i++)
		if (!strcmp(c.v[i], arg)) {
			snprintf(id, len, "%s", arg);
			rc = CTL_EXIT_OK;
			goto out;
		}
	/* A prefix of the id, as `ls` prints it. */
	if (oci_id_valid(arg) && alen >= PREFIX_MIN)
		for (size_t i = 0; i < c.n; i++)
			if (!strncmp(c.v[i], arg, alen))
				hit[nhit++] = c.v[i];
	/* A Kubernetes name. */
	if (!nhit && strchr(arg, '/'))
		for (size_t i = 0; i < c.n; i++)
			if (kube_match(c.v[i], arg))
				hit[nhit++] = c.v[i];
	if (nhit > 1) {
		list_some(hit, nhit, some, sizeof(some));
		say(quiet, "'%.64s' matches %zu containers (%s): give more of the id", arg, nhit, some);
		goto out;
	}
	if (nhit == 1) {
		snprintf(id, len, "%s", hit[0]);
		rc = CTL_EXIT_OK;
		goto out;
	}
	/* A podman name (or an id podman knows better than a prefix). */
	char pid[OCI_ID_MAX_LEN + 1];
	if (podman_name_valid(arg) && podman_id(arg, pid, sizeof(pid)) == 0) {
		for (size_t i = 0; i < c.n; i++)
			if (!strcmp(c.v[i], pid)) {
				snprintf(id, len, "%s", pid);
				rc = CTL_EXIT_OK;
				goto out;
			}
		say(quiet,
		    "%.64s (podman container %.12s) is not forwarded by portside: it has no io.portside.* "
		    "annotation, or it stopped",
		    arg, pid);
		goto out;
	}
	if (oci_id_valid(arg) && alen < PREFIX_MIN)
		say(quiet,
		    "no container portside forwards is named '%.64s', and an id's prefix needs at least %d characters "
		    "(see portsidectl ls)",
		    arg, PREFIX_MIN);
	else
		say(quiet,
		    "no container portside forwards matches '%.64s' (an id, 8 or more of its first characters, a "
		    "podman name or NS/POD/CONTAINER; see portsidectl ls)",
		    arg);
out:
	free(hit);
	cands_free(&c);
	return rc;
}

int ctl_resolve(const char *arg, char *id, size_t len)
{
	return resolve(arg, id, len, false);
}

int ctl_resolve_quiet(const char *arg, char *id, size_t len)
{
	return resolve(arg, id, len, true);
}
