/* SPDX-License-Identifier: MIT */
/* Which container a user means: its whole id, any prefix of at least 8
 * characters (what `ls` prints is one), a Kubernetes NS/POD/CONTAINER or
 * POD/CONTAINER name, or a podman container name. Only containers portside
 * knows (a state directory, or a refusal in the hook's log) are candidates.
 *
 * Every kind of match is tried, always: an argument that fits two
 * containers in any two ways (one's whole id and another's prefix, an id and
 * a podman name) names neither, and is refused with both. Letting one kind
 * win would let whoever picks a container id (runc run ID) take a name that
 * is someone else's.
 *
 * Kubernetes names never come from annotations alone: a plain runc or crun
 * container's author writes its config.json, io.kubernetes.* keys and all,
 * and podman copies a kube play manifest's annotations (or --annotation)
 * into the spec as they are, next to its own keys. So a name counts only
 * when the program that made the container says so, now, from its own
 * database:
 * - podman: `podman ps --pod` gives each running container's pod (the
 *   manifest's metadata.name) and name (POD-CONTAINER), podman's own record;
 *   podman has no namespaces, so such a pod is default/POD/CONTAINER.
 * - a CRI runtime (CRI-O, containerd): the hook recorded a name only from
 *   the keys that runtime sets itself (oci_kube_name); `crictl inspect ID`
 *   then confirms it with the kubelet's labels the runtime keeps, or, with
 *   no crictl, `ctr containers info ID` with the keys containerd keeps. A runc
 *   container carrying the same keys is unknown to the runtime: no name.
 * And the container the runtime names must be the one portside serves: its
 * process (the pid the runtime reports) runs in the network namespace that
 * portside's record of it names, so an id taken over by another container
 * does not carry the name along.
 *
 * A podman name is podman's container's even when portside does not serve
 * that one (not started, stopped, another's record under its id): it then
 * fits that container, which is no answer, so that nobody else's id equal
 * to the name takes it. And a program that did not answer in time leaves the
 * argument unresolved: what it would have said might have named another. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "../lib/refusal.h"
#include "../lib/rundir.h"
#include "../oci/annotations.h"
#include "../base/cleanup.h"
#include "ctl.h"

#define PREFIX_MIN	   8
#define PODMAN_NAME_MAX	   253
#define PODMAN_PS_MAX	   (4 * 1024 * 1024)
#define PODMAN_INSPECT_MAX 8192
#define CRICTL_INSPECT_MAX (1024 * 1024)
/* Containers whose own record claims one Kubernetes name, that crictl is
 * asked about: anyone who runs a container can write such a claim, and
 * each question costs a crictl run. More claimants than this leave the name
 * unresolved (never resolved to one of the few asked). */
#define CRI_ASK_MAX 4

#define say(quiet, ...)                                                                                                \
	do {                                                                                                           \
		if (!(quiet))                                                                                          \
			ctl_warn(__VA_ARGS__);                                                                         \
	} while (0)

struct cands {
	char **v;
	size_t n, cap;
};

/* Appended as they come (a full refusal log names thousands, repeats
 * among them); cands_load sorts them and drops the repeats once, so that a
 * lookup is a binary search, never a scan of every id for every id. */
static void cands_add(struct cands *c, const char *id)
{
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

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void cands_load(struct cands *c)
{
	char **ids = NULL;
	size_t n = 0, keep = 0;

	if (ctl_ids(&ids, &n) == 0)
		for (size_t i = 0; i < n; i++)
			cands_add(c, ids[i]);
	ctl_ids_free(ids, n);
	ps_refusals_each(NULL, add_refused, c);
	if (!c->n)
		return;
	qsort(c->v, c->n, sizeof(c->v[0]), by_name);
	for (size_t i = 0; i < c->n; i++) {
		if (keep && !strcmp(c->v[keep - 1], c->v[i])) {
			free(c->v[i]);
			continue;
		}
		c->v[keep++] = c->v[i];
	}
	c->n = keep;
}

static void cands_free(struct cands *c)
{
	ctl_ids_free(c->v, c->n);
}

static const char *cand(const struct cands *c, const char *id)
{
	char *const *at = c->n ? bsearch(&id, c->v, c->n, sizeof(c->v[0]), by_name) : NULL;

	return at ? *at : NULL;
}

static bool cands_has(const struct cands *c, const char *id)
{
	return cand(c, id) != NULL;
}

/* The containers an argument fits, each once, with how (for the message). */
struct hits {
	struct hit {
		const char *id; /* one of the candidates', or podman's */
		const char *how;
		/* podman's container by that name, which is not the one portside
		 * has a record of (not forwarded, stopped, or the record is
		 * another's under its id): it fits, so nothing else can take
		 * the name, but it cannot be the answer. */
		bool foreign;
	} v[8];
	size_t n, total;
	int64_t deadline;   /* for every program asked */
	const char *unsure; /* who gave no answer: then no answer at all */
};

static void hit(struct hits *h, const char *id, const char *how, bool foreign)
{
	/* One container once; podman's own beside a record of the same id is
	 * two (the record is someone else's). */
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(h->v[i].id, id) && h->v[i].foreign == foreign)
			return;
	h->total++;
	if (h->n < sizeof(h->v) / sizeof(h->v[0]))
		h->v[h->n++] = (struct hit){id, how, foreign};
}

/* A program that did not answer in time, or at too great a length: what it
 * would have said is unknown, so the argument stays unresolved. */
static void unanswered(struct hits *h, int rc, const char *who)
{
	if (rc == -ETIMEDOUT || rc == -E2BIG)
		h->unsure = who;
}

/* True when process PID runs in the network namespace portside serves for
 * ID (its own record's, or that of the container whose sidecar it joined). */
static bool serves(const char *id, long pid)
{
	struct ps_forwards *f = NULL;
	char owner[OCI_ID_MAX_LEN + 2], path[64], key[64];
	struct stat st;
	bool ok;

	ps_owner(id, owner, sizeof(owner));
	if (ps_record_load(owner[0] ? owner : id, &f, NULL) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
	ok = stat(path, &st) == 0;
	if (ok) {
		snprintf(key, sizeof(key), "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
		ok = !strcmp(key, f->netns);
	}
	ps_forwards_free(f);
	return ok;
}

/* The bundle the hook recorded for ID, in BUF; false when none. */
static bool recorded_bundle(const char *id, char *buf, size_t len)
{
	char path[4096];
	cleanup_close int fd = -1;
	ssize_t n;

	if (ps_file(path, sizeof(path), id, PS_BUNDLE) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return false;
	while ((n = read(fd, buf, len - 1)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

static bool has_record(const char *id)
{
	struct ps_forwards *f = NULL;
	char owner[OCI_ID_MAX_LEN + 2];

	ps_owner(id, owner, sizeof(owner));
	if (ps_record_load(owner[0] ? owner : id, &f, NULL) < 0)
		return false;
	ps_forwards_free(f);
	return true;
}

/* Pod containers podman runs whose default/POD/CONTAINER name fits ARG. */
static void kube_podman(const struct cands *c, const char *arg, struct hits *h)
{
	/* --remote=false: podman's own database here, whatever a
	 * containers.conf says. */
	char *argv[] = {"podman",
			"--remote=false",
			"ps",
			"--pod",
			"--no-trunc",
			"--format",
			"{{.ID}}\t{{.Pid}}\t{{.PodName}}\t{{.Names}}\t{{.IsInfra}}",
			NULL};
	cleanup_free char *out = NULL;
	int rc = ctl_ask(argv, PODMAN_PS_MAX, h->deadline, &out);

	if (rc < 0) {
		unanswered(h, rc, "podman");
		return;
	}
	for (char *line = out, *next; line && *line; line = next) {
		char id[65], name[OCI_KUBE_NAME_MAX];
		const char *mine;
		long pid;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (ctl_podman_kube_line(line, id, sizeof(id), &pid, name, sizeof(name)) == 0 &&
		    ctl_kube_matches(name, arg) && (mine = cand(c, id)) && serves(mine, pid))
			hit(h, mine, "Kubernetes name (podman)", false);
	}
}

/* ID's name and pid as crictl has them: 0, -ENOENT when crictl is not
 * installed or knows no such container, < 0 otherwise. */
static int crictl_name(const char *id, struct hits *h, char *name, size_t len, long *pid)
{
	/* "--": an id is never read as an option. */
	char *argv[] = {"crictl", "inspect", "-o", "json", "--", (char *)id, NULL};
	cleanup_free char *out = NULL;
	int rc = ctl_ask(argv, CRICTL_INSPECT_MAX, h->deadline, &out);

	unanswered(h, rc, "crictl");
	if (rc < 0)
		return rc;
	return ctl_cri_inspect_parse(out, (size_t)rc, id, name, len, pid);
}

/* Whether a containerd listens where ctr would ask (CONTAINERD_ADDRESS, as
 * ctl_ask passes it on, else the default socket): without one, ctr waits
 * for it 10 s. A host without containerd has no CRI names from it. */
static bool containerd_up(void)
{
	const char *a = getenv("CONTAINERD_ADDRESS");
	struct stat st;

	if (!a || a[0] != '/' || strchr(a, ':'))
		a = "/run/containerd/containerd.sock";
	return stat(a, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* ctr's global options: the CRI plugin's namespace, and a bound on a
 * containerd that does not answer. */
#define CTR_ARGS "ctr", "--connect-timeout", "2s", "--namespace", "k8s.io"

/* The same from containerd, through ctr: the container's record, then its
 * task's pid. */
static int ctr_name(const char *id, struct hits *h, char *name, size_t len, long *pid)
{
	char *info[] = {CTR_ARGS, "containers", "info", "--", (char *)id, NULL};
	char *tasks[] = {CTR_ARGS, "tasks", "ls", NULL};
	cleanup_free char *out = NULL, *ls = NULL;
	int rc;

	if (!containerd_up())
		return -ENOENT;
	rc = ctl_ask(info, CRICTL_INSPECT_MAX, h->deadline, &out);

	unanswered(h, rc, "ctr");
	if (rc < 0 || (rc = ctl_ctr_info_parse(out, (size_t)rc, id, name, len)) < 0)
		return rc;
	rc = ctl_ask(tasks, CRICTL_INSPECT_MAX, h->deadline, &ls);
	unanswered(h, rc, "ctr");
	if (rc < 0)
		return rc;
	*pid = ctl_ctr_task_pid(ls, id);
	return *pid > 0 ? 0 : -ENOENT;
}

/* Candidates whose recorded name (from a CRI runtime's keys) fits ARG, if
 * the runtime confirms it. */
static void kube_cri(const struct cands *c, const char *arg, struct hits *h)
{
	const char *claim[CRI_ASK_MAX];
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++) {
		char claimed[OCI_KUBE_NAME_MAX];

		ps_kube_claim(c->v[i], claimed, sizeof(claimed));
		if (!ctl_kube_matches(claimed, arg))
			continue;
		if (n == CRI_ASK_MAX) {
			h->unsure = "crictl (too many containers claim the name to ask about each)";
			return;
		}
		claim[n++] = c->v[i];
	}
	for (size_t i = 0; i < n; i++) {
		char name[OCI_KUBE_NAME_MAX];
		long pid;
		int rc = crictl_name(claim[i], h, name, sizeof(name), &pid);

		/* No crictl (containerd nodes seldom have it): containerd's own
		 * client, which every containerd node has. */
		if (rc == -ENOENT)
			rc = ctr_name(claim[i], h, name, sizeof(name), &pid);
		if (rc == 0 && ctl_kube_matches(name, arg) && serves(claim[i], pid))
			hit(h, claim[i], "Kubernetes name (CRI runtime)", false);
	}
}

/* True when ID is one line of LIST (ctr's -q output). */
static bool listed(const char *list, const char *id)
{
	size_t l = strlen(id);

	for (const char *p = list; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, id, l) && (p[l] == '\n' || p[l] == '\0'))
			return true;
	return false;
}

void ctl_cri_names(char *const *ids, size_t n, char (*names)[OCI_KUBE_NAME_MAX], int64_t deadline)
{
	char *ls[] = {CTR_ARGS, "containers", "ls", "-q", "labels.\"io.cri-containerd.kind\"==container", NULL};
	char *tasks[] = {CTR_ARGS, "tasks", "ls", NULL};
	cleanup_free char *ctrs = NULL, *pids = NULL;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		ps_kube_claim(ids[i], names[i], OCI_KUBE_NAME_MAX);
		any |= names[i][0] != '\0';
	}
	/* A host without CRI containers, or without containerd, asks
	 * nobody. */
	if (!any || !containerd_up()) {
		for (size_t i = 0; i < n; i++)
			names[i][0] = '\0';
		return;
	}
	/* One question each for all: containerd's CRI app containers, and
	 * its tasks' pids. A claim stands when containerd made a container of
	 * that id and its process runs in the netns portside serves for it:
	 * the hook read the claim from that container's own spec, since no
	 * second container gets a record under an id in use. */
	if (ctl_ask(ls, CRICTL_INSPECT_MAX, deadline, &ctrs) < 0 ||
	    ctl_ask(tasks, CRICTL_INSPECT_MAX, deadline, &pids) < 0) {
		for (size_t i = 0; i < n; i++)
			names[i][0] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++) {
		long pid;

		if (names[i][0] &&
		    !(listed(ctrs, ids[i]) && (pid = ctl_ctr_task_pid(pids, ids[i])) > 0 && serves(ids[i], pid)))
			names[i][0] = '\0';
	}
}

static bool podman_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PODMAN_NAME_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* A container as podman's database has it. */
struct podman_ctr {
	char id[65];
	long pid;	/* 0 when it has no process (created, stopped) */
	char dir[4096]; /* its StaticDir: the bundle podman gives the runtime */
};

/* What podman calls NAME (a name, its id, or a prefix of its id): 0 with
 * it in *P; -ENOENT when podman is not installed or knows no such
 * container, -ETIMEDOUT or -E2BIG when it did not answer. */
static int podman_id(const char *name, struct podman_ctr *p, int64_t deadline)
{
	/* "--": a name is never read as an option (podman_name_valid allows
	 * no leading '-' either). */
	char *argv[] = {"podman",  "--remote=false", "container",
			"inspect", "--format",	     "{{.Id}} {{.State.Pid}} {{.StaticDir}}",
			"--",	   (char *)name,     NULL};
	cleanup_free char *out = NULL;
	char *end;
	int rc;

	if ((rc = ctl_ask(argv, PODMAN_INSPECT_MAX, deadline, &out)) < 0)
		return rc;
	if (strlen(out) < 66 || strspn(out, "0123456789abcdef") != 64 || out[64] != ' ')
		return -ENOENT;
	p->pid = strtol(out + 65, &end, 10);
	if (*end != ' ' || end[1] != '/')
		return -ENOENT;
	end[1 + strcspn(end + 1, "\n")] = '\0';
	if ((size_t)snprintf(p->dir, sizeof(p->dir), "%s", end + 1) >= sizeof(p->dir))
		return -ENOENT;
	memcpy(p->id, out, 64);
	p->id[64] = '\0';
	return 0;
}

/* True when portside's candidate MINE (podman's id) is podman's container
 * P, not another's that took its id. A refusal alone (no record) forwards
 * nothing: doctor tells its story. A record holds the bundle the runtime
 * ran the container from; podman's is its StaticDir. A container with no
 * process (stopped) has nothing else to compare: only the bundle grants it. */
static bool podman_serves(const char *mine, const struct podman_ctr *p)
{
	char rec[4096];
	bool have;

	if (!has_record(mine))
		return true;
	have = recorded_bundle(mine, rec, sizeof(rec));
	if (have && strcmp(rec, p->dir))
		return false;
	if (p->pid <= 0)
		return have;
	return serves(mine, p->pid);
}

/* "a1b2c3d4e5f6 (id), team-a/web/app: 0f9e8d7c6b5a (Kubernetes name) and 2 more" */
static void list_hits(const struct hits *h, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < h->n && i < 3 && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s by %s", i ? ", " : "", ctl_sid(h->v[i].id),
					h->v[i].how);
	if (h->total > 3 && off < len)
		snprintf(buf + off, len - off, " and %zu more", h->total - 3);
}

static int resolve(const char *arg, char *id, size_t len, bool quiet, bool *ambiguous, int64_t deadline)
{
	struct cands c = {NULL, 0, 0};
	struct hits h = {.n = 0, .total = 0, .deadline = deadline ? deadline : ps_now_ms() + CTL_RESOLVE_MS};
	struct podman_ctr pc = {.id = ""};
	char some[512];
	size_t alen = strnlen(arg, OCI_KUBE_NAME_MAX + 1);
	bool podman_knows = false;
	int rc = CTL_EXIT_INVALID;

	if (ambiguous)
		*ambiguous = false;
	if (alen == 0 || alen > OCI_KUBE_NAME_MAX) {
		say(quiet, "'%.64s' is not a container id or name", arg);
		return CTL_EXIT_USAGE;
	}
	cands_load(&c);
	bool exact = cands_has(&c, arg);

	if (exact)
		hit(&h, cand(&c, arg), "id", false);
	/* A prefix of the id, as `ls` prints it. A whole id someone chose
	 * still names its container when it also begins another chosen id
	 * (web and web-2): ls shows those whole, so that prefix is nobody's
	 * display. A runtime's 64-hex id ls shows cut short, and that cut is
	 * what a chosen id equal to it would steal: both then fit. */
	if (oci_id_valid(arg) && alen >= PREFIX_MIN)
		for (size_t i = 0; i < c.n; i++)
			if (!strncmp(c.v[i], arg, alen) && (!exact || ctl_id_shortened(c.v[i])))
				hit(&h, c.v[i], "id prefix", false);
	if (strchr(arg, '/')) {
		kube_podman(&c, arg, &h);
		kube_cri(&c, arg, &h);
	} else if (podman_name_valid(arg)) {
		/* A podman name (or an id, or its prefix, as podman reads it).
		 * podman's container has it even when portside does not
		 * forward that one (not yet, no longer, or someone else's
		 * record under its id): it then still fits, so a container
		 * whose chosen id is the name does not get it either. */
		const char *mine;
		int r = podman_id(arg, &pc, h.deadline);

		if (r == 0) {
			podman_knows = true;
			if ((mine = cand(&c, pc.id)) && podman_serves(mine, &pc))
				hit(&h, mine, "podman name", false);
			else
				hit(&h, pc.id, pc.pid > 0 ? "podman name (not forwarded)" : "podman name (not running)",
				    true);
		} else
			unanswered(&h, r, "podman");
	}
	if (h.total > 1) {
		list_hits(&h, some, sizeof(some));
		say(quiet, "'%.64s' matches %zu containers (%s): give more of the id (see portsidectl ls)", arg,
		    h.total, some);
		if (ambiguous)
			*ambiguous = true;
		goto out;
	}
	if (h.unsure) {
		say(quiet, "cannot tell which container '%.64s' names: no answer in time from %s", arg, h.unsure);
		goto out;
	}
	if (h.total == 1 && !h.v[0].foreign) {
		snprintf(id, len, "%s", h.v[0].id);
		rc = CTL_EXIT_OK;
		goto out;
	}
	if (podman_knows)
		say(quiet,
		    "%.64s (podman container %.12s) is not forwarded by portside: it has no io.portside.* "
		    "annotation, it is not running, or portside's record under its id is another container's",
		    arg, pc.id);
	else if (strchr(arg, '/'))
		say(quiet,
		    "no container portside forwards is named '%.64s' by podman or a CRI runtime (a name in a "
		    "container's own io.kubernetes.* annotations is not one)",
		    arg);
	else if (oci_id_valid(arg) && alen < PREFIX_MIN)
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
	cands_free(&c);
	return rc;
}

int ctl_resolve_id(const char *arg, char *id, size_t len)
{
	char path[4096];
	struct stat st;

	if (!oci_id_valid(arg) || ps_path(path, sizeof(path), arg, NULL) < 0 || lstat(path, &st) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		ctl_warn("no container portside forwards has the id '%.64s' (--id takes a whole id, as ls --json "
			 "prints it)",
			 arg);
		return CTL_EXIT_INVALID;
	}
	snprintf(id, len, "%s", arg);
	return CTL_EXIT_OK;
}

int ctl_resolve(const char *arg, char *id, size_t len)
{
	return resolve(arg, id, len, false, NULL, 0);
}

int ctl_resolve_until(const char *arg, char *id, size_t len, bool quiet, bool *ambiguous, int64_t deadline)
{
	return resolve(arg, id, len, quiet, ambiguous, deadline);
}
