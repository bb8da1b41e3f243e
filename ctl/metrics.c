/* SPDX-License-Identifier: MIT */
/* portsidectl metrics [--textfile FILE] [ID]: every forwarded container's
 * counters (or one's) in the Prometheus text exposition format, from the
 * sidecars' status replies and the records (promfmt.c writes it); with
 * --textfile, into FILE for node_exporter's textfile collector, replaced
 * whole so that a scrape never reads half of it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../lib/clock.h"
#include "../lib/edit.h"
#include "../lib/rundir.h"
#include "ctl.h"
#include "metrics.h"

#include "paths.h" /* generated: PORTSIDE_VERSION */

static void count_refusal(const struct ps_refusal *r, void *arg)
{
	uint64_t *by = arg;

	if ((unsigned)r->reason < CTL_METRICS_REASONS)
		by[r->reason]++;
}

/* What the formatter needs of every container in IDS (N), into CT and ST
 * (N each); *SHOWN of them are filled: a container being created, or that
 * joined another's netns (its forwards are that one's), is left out. */
static void gather(char **ids, size_t n, struct ctl_metrics_ct *ct, struct ps_status *st, size_t *shown,
		   char (*names)[OCI_KUBE_NAME_MAX])
{
	*shown = 0;
	for (size_t i = 0; i < n; i++) {
		struct ps_forwards *f = NULL;
		struct ctl_metrics_ct *c = &ct[*shown];
		struct ps_status *s = &st[*shown];
		char owner[256];

		ps_owner(ids[i], owner, sizeof(owner));
		if (owner[0] || ps_record_load(ids[i], &f, NULL) < 0)
			continue;
		c->id = ids[i];
		c->name = names ? names[i] : "";
		c->restores = f->restores;
		c->up = ps_sidecar_alive(ids[i], NULL) && ps_ask_status(ids[i], s, CTL_ASK_MS) == 0;
		if (!c->up && ctl_status_from_record(f, s) < 0) {
			ps_forwards_free(f);
			continue;
		}
		c->st = s;
		ps_forwards_free(f);
		(*shown)++;
	}
}

int ctl_metrics(int argc, char **argv)
{
	static const struct option opts[] = {{"textfile", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
	const char *textfile = NULL;
	char one[OCI_ID_MAX_LEN + 1], *one_v[1] = {one};
	char **ids = NULL, **all = NULL;
	size_t n = 0, nall = 0, shown = 0;
	cleanup_free char(*names)[OCI_KUBE_NAME_MAX] = NULL;
	cleanup_free struct ctl_metrics_ct *ct = NULL;
	cleanup_free struct ps_status *st = NULL;
	uint64_t refusals[CTL_METRICS_REASONS] = {0};
	char *doc = NULL;
	size_t doclen = 0;
	FILE *mem;
	int c, rc = CTL_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 't' && optarg[0])
			textfile = optarg;
		else
			return CTL_EXIT_USAGE;
	}
	if (argc - optind > 1) {
		ctl_warn("usage: portsidectl metrics [--textfile FILE] [ID]");
		return CTL_EXIT_USAGE;
	}
	if (optind < argc) {
		if ((rc = ctl_resolve(argv[optind], one, sizeof(one))) != CTL_EXIT_OK)
			return rc;
		/* one that joined another's netns: that one's sidecar serves it */
		char owner[OCI_ID_MAX_LEN + 1];

		ps_owner(one, owner, sizeof(owner));
		if (owner[0])
			snprintf(one, sizeof(one), "%s", owner);
		ids = one_v, n = 1;
	} else {
		if (ctl_ids(&all, &nall) < 0) {
			ctl_warn("cannot read %s", ps_run_dir());
			return CTL_EXIT_INVALID;
		}
		ids = all, n = nall;
	}
	names = calloc(n ? n : 1, sizeof(*names));
	ct = calloc(n ? n : 1, sizeof(*ct));
	st = calloc(n ? n : 1, sizeof(*st));
	if (!names || !ct || !st) {
		ctl_warn("out of memory");
		ctl_ids_free(all, nall);
		return CTL_EXIT_INVALID;
	}
	/* Kubernetes names as ls shows them: containerd's word, never the container's. */
	ctl_cri_names(ids, n, names, ps_now_ms() + CTL_RESOLVE_MS);
	gather(ids, n, ct, st, &shown, names);
	ps_refusals_each(NULL, count_refusal, refusals);

	/* Whole in memory first: a textfile is written only once all of it is there. */
	if (!(mem = open_memstream(&doc, &doclen)) ||
	    ctl_metrics_format(mem, ct, shown, refusals, PORTSIDE_VERSION) < 0) {
		ctl_warn("out of memory");
		rc = CTL_EXIT_INVALID;
	}
	if (mem)
		fclose(mem);
	if (rc == CTL_EXIT_OK) {
		if (textfile)
			rc = ctl_textfile_write(textfile, doc, doclen) < 0 ? CTL_EXIT_INVALID : CTL_EXIT_OK;
		else if (fwrite(doc, 1, doclen, stdout) != doclen || fflush(stdout) != 0)
			rc = CTL_EXIT_INVALID;
	}
	for (size_t i = 0; i < shown; i++)
		ps_status_free(&st[i]);
	free(doc);
	ctl_ids_free(all, nall);
	return rc;
}

/* ---- the textfile ---- */

int ctl_textfile_write(const char *path, const char *buf, size_t len)
{
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	char dir[4096], tmp[300];
	cleanup_close int dfd = -1, fd = -1;
	sigset_t old;
	struct stat ds;
	int rc = 0;

	if (!name[0] || !strcmp(name, ".") || !strcmp(name, "..") || strlen(name) > 200) {
		ctl_warn("%s: not a file name", path);
		return -EINVAL;
	}
	if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if (slash && snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path) >= (int)sizeof(dir))
		return ctl_warn("%s: the path is too long", path), -ENAMETOOLONG;
	else if (!slash)
		snprintf(dir, sizeof(dir), ".");
	do
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (dfd < 0 && errno == EINTR);
	if (dfd < 0 || fstat(dfd, &ds) < 0) {
		rc = -errno;
		ctl_warn("cannot open the directory %s: %s", dir, strerror(-rc));
		return rc;
	}
	/* Whoever else may write the directory could put a link or another
	 * file where the new one goes, between its creation and the rename
	 * (lib/edit.c refuses such a directory for the same reason). */
	if ((ds.st_uid != 0 && ds.st_uid != geteuid()) || (ds.st_mode & (S_IWGRP | S_IWOTH))) {
		ctl_warn("refusing to write %s: its directory %s (uid %u, mode %04o) can be written by someone other "
			 "than root; make it root's and writable by its owner only",
			 path, dir, (unsigned)ds.st_uid, (unsigned)(ds.st_mode & 07777));
		return -EPERM;
	}
	/* A ^C between the create and the rename would leave the temp file,
	 * which the collector ignores (not *.prom) but nobody would remove. */
	ps_edit_hold_signals(&old);
	/* Named after FILE and this process, not ending in .prom: the
	 * collector reads *.prom only, so it never sees the temp file. */
	snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", name, (long)getpid());
	unlinkat(dfd, tmp, 0); /* left by an earlier run of this pid that was killed */
	do
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		rc = -errno;
		ctl_warn("cannot create %s/%s: %s", dir, tmp, strerror(-rc));
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			break;
		}
		off += (size_t)w;
	}
	/* 0644 whatever the umask: node_exporter reads it as its own user */
	if (rc == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		rc = -errno;
	if (rc == 0 && renameat(dfd, tmp, dfd, name) < 0)
		rc = -errno;
	if (rc < 0) {
		ctl_warn("cannot write %s: %s", path, strerror(-rc));
		unlinkat(dfd, tmp, 0);
		goto out;
	}
	/* The rename lasts only once the directory is on disk. */
	if (fsync(dfd) < 0 && errno != EINVAL && errno != EROFS) {
		rc = -errno;
		ctl_warn("%s was written but its directory could not be synced: %s", path, strerror(-rc));
	}
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
