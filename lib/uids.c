/* SPDX-License-Identifier: MIT */
#include "uids.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../oci/config.h"
#include "../oci/state.h"
#include "clock.h"
#include "rundir.h"
#include "starting.h"

#include "paths.h" /* generated: PORTSIDE_SIDECAR_UID_BASE and _COUNT, from the Makefile */

#define BASE  PORTSIDE_SIDECAR_UID_BASE
#define COUNT PORTSIDE_SIDECAR_UID_COUNT

/* Never a uid anything on the host is likely to have (nobody, 65535, system
 * and login users), never past 2^31 (negative to some tools), and a bitmap of
 * the range stays small. */
_Static_assert(BASE > 65535u, "SIDECAR_UID_BASE must be above 65535");
_Static_assert(COUNT >= 1u && COUNT <= (1u << 20), "SIDECAR_UID_COUNT must be 1 to 1048576");
_Static_assert((unsigned long long)BASE + COUNT <= 2147483648ull, "the sidecar uid range must end below 2^31");

uid_t ps_uid_base(void)
{
	return (uid_t)BASE;
}

unsigned ps_uid_count(void)
{
	return COUNT;
}

bool ps_uid_in_range(uid_t uid)
{
	return uid >= BASE && uid - BASE < COUNT;
}

/* One bit a uid of the range. */
static uint64_t *bits_new(void)
{
	return calloc((COUNT + 63) / 64, sizeof(uint64_t));
}

static void bit_set(uint64_t *b, unsigned long v)
{
	if (v >= BASE && v - BASE < COUNT)
		b[(v - BASE) / 64] |= 1ULL << ((v - BASE) % 64);
}

static bool bit_get(const uint64_t *b, uid_t u)
{
	return (b[(u - BASE) / 64] >> ((u - BASE) % 64)) & 1;
}

/* ROOT/uids, made if missing (root's alone, like the rest of ROOT). */
static int open_dir(int *fd)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/" PS_UIDS_DIR, ps_run_dir()) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return *fd < 0 ? -errno : 0;
}

/* The uid a lease's name gives: decimal, in the range; 0 for anything else
 * (a stray file is neither a lease nor an error). */
static uid_t lease_uid(const char *name)
{
	char *end;
	unsigned long v;

	if (name[0] < '1' || name[0] > '9')
		return 0;
	errno = 0;
	v = strtoul(name, &end, 10);
	if (errno || *end || v > UINT32_MAX || !ps_uid_in_range((uid_t)v))
		return 0;
	return (uid_t)v;
}

/* True when the lease NAME in DFD holds ID. */
static bool lease_of(int dfd, const char *name, const char *id)
{
	char buf[OCI_ID_MAX_LEN + 2];
	cleanup_close int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	ssize_t n;

	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	return !strcmp(buf, id);
}

/* How many threads' status files one scan reads beyond the processes' own:
 * a container with more threads than this costs every start no more; the
 * rest of them are seen only by their process's ids. */
#define TASKS_MAX 65536

/* The ids of the range one process has, as a scan found them: a scan's
 * record (mark_recent) holds at most IDS_MAX of them a process, and a
 * process with more is read again at every scan. */
#define IDS_MAX 4
struct proc_ids {
	unsigned v[IDS_MAX];
	unsigned n;
	bool more;
};

/* Marks V in USED, and in P (may be NULL) when it is of the range. */
static void note(uint64_t *used, struct proc_ids *p, unsigned long v)
{
	if (v > UINT32_MAX || !ps_uid_in_range((uid_t)v))
		return;
	bit_set(used, v);
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++)
		if (p->v[i] == v)
			return;
	if (p->n < IDS_MAX)
		p->v[p->n++] = (unsigned)v;
	else
		p->more = true;
}

/* Marks in USED (and P) the ids of one /proc status text BUF: real,
 * effective, saved and filesystem uid and gid, and the supplementary
 * groups. */
static void mark_status(uint64_t *used, struct proc_ids *p, const char *buf)
{
	const char *l;

	for (int g = 0; g < 2; g++) {
		unsigned long v[4];

		l = strstr(buf, g ? "\nGid:\t" : "\nUid:\t");
		if (l && sscanf(l + 6, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) == 4)
			for (int i = 0; i < 4; i++)
				note(used, p, v[i]);
	}
	if ((l = strstr(buf, "\nGroups:\t"))) {
		char *end;

		/* Up to the line's end: at most what fits in the buffer read. */
		for (l += 9; *l && *l != '\n'; l = end) {
			unsigned long v = strtoul(l, &end, 10);

			if (end == l)
				break;
			note(used, p, v);
			end += strspn(end, " ");
		}
	}
}

/* Reads DFD/PATH (a status file) into BUF; false when it is gone. A status
 * file is about 1.5 kB; a long Groups: line cut at the buffer's end loses
 * groups past it (65536 groups do not fit in any status read). */
static bool read_status(int dfd, const char *path, char *buf, size_t len)
{
	cleanup_close int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || (n = read(fd, buf, len - 1)) <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* Marks the ids of PID's other threads: a thread that called setuid(2)
 * itself (not through libc, which changes every thread) has ids of its own. */
static void mark_threads(uint64_t *used, struct proc_ids *p, int procfd, const char *pid, unsigned *budget)
{
	char path[64], buf[8192];
	cleanup_closedir DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (snprintf(path, sizeof(path), "%s/task", pid) >= (int)sizeof(path) ||
	    (fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while (*budget && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' || !strcmp(de->d_name, pid) ||
		    snprintf(path, sizeof(path), "%s/status", de->d_name) >= (int)sizeof(path))
			continue;
		(*budget)--;
		if (read_status(dirfd(d), path, buf, sizeof(buf)))
			mark_status(used, p, buf);
	}
}

/* A process as a scan read it: its pid, the inode number of its /proc/PID
 * directory (a later process with the pid has a directory of a new inode:
 * the number comes from a counter), and its ids of the range. */
struct seen {
	unsigned pid, ino;
	struct proc_ids ids;
};

static int seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* The processes a scan record holds at most: on a host with more, every
 * start scans them all. */
#define PROCS_MAX 65536

/* What a scan read, sorted; full when it saw more than PROCS_MAX. */
struct scan {
	struct seen *v;
	size_t n, cap;
	bool full;
};

static void scan_add(struct scan *s, const struct seen *p)
{
	if (s->full)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct seen *v = cap <= PROCS_MAX ? realloc(s->v, cap * sizeof(*v)) : NULL;

		if (!v) {
			s->full = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *p;
}

/* Marks in USED every uid of the range that a live process (or one of its
 * threads, up to TASKS_MAX of them) has as any of its ids (a zombie holds
 * nothing): for a process SKIP (may be NULL) has read, with the same /proc
 * inode, the ids it recorded; for any other, those its status gives now.
 * OUT (may be NULL) gets every process that runs, read now or taken from
 * SKIP. Fails closed: without /proc nothing can be known to be free. */
static int mark_running(uint64_t *used, const struct scan *skip, struct scan *out)
{
	cleanup_closedir DIR *d = opendir("/proc");
	unsigned budget = TASKS_MAX;
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[64], buf[8192];
		struct seen me = {0}, *known;
		unsigned long pid;
		char *l, *end;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    snprintf(path, sizeof(path), "%s/status", de->d_name) >= (int)sizeof(path))
			continue;
		pid = strtoul(de->d_name, &end, 10);
		/* Inode 1: the kernel could not make the directory's inode while
		 * listing it; nothing is known by it. */
		if (!*end && pid <= UINT32_MAX && de->d_ino > 1 && de->d_ino <= UINT32_MAX)
			me = (struct seen){.pid = (unsigned)pid, .ino = (unsigned)de->d_ino};
		if (skip && me.ino && (known = bsearch(&me, skip->v, skip->n, sizeof(me), seen_cmp))) {
			for (unsigned i = 0; i < known->ids.n; i++)
				bit_set(used, known->ids.v[i]);
			if (out)
				scan_add(out, known);
			continue;
		}
		if (!read_status(dirfd(d), path, buf, sizeof(buf)))
			continue; /* gone meanwhile */
		if (!((l = strstr(buf, "\nState:\t")) && (l[8] == 'Z' || l[8] == 'X'))) {
			mark_status(used, &me.ids, buf);
			if ((l = strstr(buf, "\nThreads:\t")) && strtoul(l + 10, NULL, 10) > 1)
				mark_threads(used, &me.ids, dirfd(d), de->d_name, &budget);
		}
		if (out && me.ino && !me.ids.more)
			scan_add(out, &me);
	}
	if (out)
		qsort(out->v, out->n, sizeof(out->v[0]), seen_cmp);
	return 0;
}

/* What the last full scan of the processes read, ROOT/uids/.running: a line
 * "PID INO [ID...]" a process, with its ids of the range, the file's mtime
 * the scan's time. A start within RECENT_MS of it takes the ids of the
 * processes it lists that still run from there, and reads only those listed
 * since (a scan costs 7 ms of system time for 470 processes on the 2-core
 * VM, the most a start cost after its sidecar). What that cannot see is a
 * change of ids since, for at most RECENT_MS: a process with CAP_SETUID, or
 * one that execs a set-user-ID file of a uid of the range (a container's
 * image may hold one), moving into the range. Such a process gains nothing
 * from the window: it can take a uid of the range after a lease as well as
 * before, which the scan never could prevent (lib/uids.h: only containers
 * that cannot change uid are held to the range), and which uid a sidecar
 * gets it cannot know in advance (the choice is random). What the scan is
 * for, a uid some process already has when nobody is trying, it still
 * sees. A sweep and a restore's own lease always scan afresh. */
#define RUNNING_FILE ".running"
#define RECENT_MS    1000
/* A line: "PID INO" and IDS_MAX ids, 11 characters each at most. */
#define LINE_MAX_LEN ((2 + IDS_MAX) * 11)
#define RUNNING_MAX  ((size_t)PROCS_MAX * LINE_MAX_LEN)

static void record_running(int dfd, const struct scan *scan, const struct timespec *mtime);

/* Marks in USED what the recent record in DFD's RUNNING_FILE and a look at
 * the processes since give (mark_running); false when there is no recent
 * record (missing, old, or not what record_running writes). What it read is
 * recorded with it, under the record's own time: the next start of the
 * second then reads only what started since this one (in a burst of starts
 * each had read every process started since the full scan: 4 to 5 ms a
 * start), and no entry is older than that time says. */
static bool mark_recent(int dfd, uint64_t *used)
{
	cleanup_close int fd = openat(dfd, RUNNING_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	cleanup_free char *buf = NULL;
	struct scan rec = {0}, now = {0};
	struct stat st;
	int64_t age;
	size_t got = 0;
	bool ok = false;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > RUNNING_MAX)
		return false;
	age = ps_mtime_age_ms(&st);
	if (age < 0 || age >= RECENT_MS || !(buf = malloc((size_t)st.st_size + 1)))
		return false;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	buf[got] = '\0';
	for (char *l = buf, *end; *l; l = end + 1) {
		unsigned long v[2 + IDS_MAX];
		struct seen p = {0};
		unsigned k = 0;

		for (end = l; k < 2 + IDS_MAX && *end >= '0' && *end <= '9'; k++) {
			v[k] = strtoul(end, &end, 10);
			if (*end == ' ')
				end++;
		}
		/* Not a line record_running writes: scan afresh. */
		if (*end != '\n' || k < 2 || v[0] > UINT32_MAX || v[1] > UINT32_MAX || !v[1] || rec.full)
			goto out;
		p.pid = (unsigned)v[0];
		p.ino = (unsigned)v[1];
		for (unsigned i = 2; i < k; i++) {
			if (!ps_uid_in_range((uid_t)v[i]) || v[i] > UINT32_MAX)
				goto out;
			p.ids.v[p.ids.n++] = (unsigned)v[i];
		}
		/* Written sorted: bsearch needs it. */
		if (rec.n && seen_cmp(&rec.v[rec.n - 1], &p) >= 0)
			goto out;
		scan_add(&rec, &p);
	}
	ok = !rec.full && mark_running(used, &rec, &now) == 0;
	if (ok)
		record_running(dfd, &now, &st.st_mtim);
out:
	free(rec.v);
	free(now.v);
	return ok;
}

/* Writes what SCAN read to DFD's RUNNING_FILE, whole (a file of its own
 * renamed over it: hooks write it at once, without the lock), dated MTIME
 * (NULL: now), the time of its oldest reading. Best effort; nothing when the
 * scan saw more than PROCS_MAX. */
static void record_running(int dfd, const struct scan *scan, const struct timespec *mtime)
{
	cleanup_free char *buf = NULL;
	char tmp[48];
	size_t len = 0;
	unsigned r;
	int fd;

	if (scan->full || !(buf = malloc(scan->n * LINE_MAX_LEN + 1)))
		return;
	for (size_t i = 0; i < scan->n; i++) {
		const struct seen *p = &scan->v[i];

		len += (size_t)sprintf(buf + len, "%u %u", p->pid, p->ino);
		for (unsigned k = 0; k < p->ids.n; k++)
			len += (size_t)sprintf(buf + len, " %u", p->ids.v[k]);
		buf[len++] = '\n';
	}
	/* A name of its own (hooks in other pid namespaces may share a pid),
	 * swept when a killed hook left it (release). */
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		return;
	snprintf(tmp, sizeof(tmp), RUNNING_FILE ".%08x", r);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return;
	if (write(fd, buf, len) == (ssize_t)len &&
	    (!mtime || futimens(fd, (const struct timespec[2]){{.tv_nsec = UTIME_OMIT}, *mtime}) == 0) &&
	    close(fd) == 0) {
		if (renameat(dfd, tmp, dfd, RUNNING_FILE) == 0)
			return;
	} else {
		close(fd);
	}
	unlinkat(dfd, tmp, 0);
}

/* A full scan into USED, recorded in DFD for the starts of the next
 * RECENT_MS. */
static int scan_and_record(int dfd, uint64_t *used)
{
	struct scan scan = {0};
	int rc;

	if ((rc = mark_running(used, NULL, &scan)) == 0)
		record_running(dfd, &scan, NULL);
	free(scan.v);
	return rc;
}

/* How many entries of passwd or group one scan reads at most. */
#define NAMES_MAX (1u << 20)

/* Opens an account file without following a link someone put there. NULL
 * with errno set when it cannot; a missing one names nothing. */
static FILE *open_names(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	FILE *f;

	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, "r")))
		close(fd);
	return f;
}

/* Marks in USED every id of the range that /etc/passwd or /etc/group names:
 * someone gave it out already. Read as files, not through NSS: a directory
 * service (sssd, LDAP) that stalls would stall every start under the lock,
 * and ids it hands out belong in the range's choice at build time. */
static int mark_named(uint64_t *used)
{
	cleanup_fclose FILE *pw = open_names("/etc/passwd");
	cleanup_fclose FILE *gr = NULL;
	struct passwd *p;
	struct group *g;

	if (!pw && errno != ENOENT)
		return -errno;
	for (unsigned n = 0; pw && n < NAMES_MAX && (p = fgetpwent(pw)); n++) {
		bit_set(used, p->pw_uid);
		bit_set(used, p->pw_gid);
	}
	gr = open_names("/etc/group");
	if (!gr && errno != ENOENT)
		return -errno;
	for (unsigned n = 0; gr && n < NAMES_MAX && (g = fgetgrent(gr)); n++)
		bit_set(used, g->gr_gid);
	return 0;
}

/* Creates the lease of U for ID, its content in place from the start: an
 * unnamed file (O_TMPFILE) written, then linked to the lease's name (link(2)
 * fails when the name exists: of two hooks that chose U, one gets it). The
 * sweep reads a lease's id without the taking hook's lock (lib/starting.h),
 * so it must never see one empty; and a hook killed meanwhile leaves no
 * file behind. */
static int take(int dfd, uid_t u, const char *id)
{
	char name[16], self[32];
	size_t len = strlen(id);
	cleanup_close int fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (write(fd, id, len) != (ssize_t)len)
		return errno ? -errno : -EIO;
	snprintf(name, sizeof(name), "%u", (unsigned)u);
	/* Through /proc, as open(2) shows: AT_EMPTY_PATH would need
	 * CAP_DAC_READ_SEARCH on older kernels. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, self, dfd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

int ps_uid_acquire(const char *id, uid_t *uid)
{
	cleanup_free uint64_t *leased = bits_new(), *used = bits_new();
	cleanup_closedir DIR *d = NULL;
	cleanup_close int dfd = -1;
	struct dirent *de;
	uid_t mine = 0;
	bool recent;
	int rc;

	if (!leased || !used)
		return -ENOMEM;
	if ((rc = open_dir(&dfd)) < 0)
		return rc;
	if (!(recent = mark_recent(dfd, used)) && (rc = scan_and_record(dfd, used)) < 0)
		return rc;
	if (!(d = fdopendir(dfd)))
		return -errno;
	dfd = -1; /* the DIR owns it now */
	while ((de = readdir(d))) {
		uid_t u = lease_uid(de->d_name);

		if (!u)
			continue;
		bit_set(leased, u);
		if (!mine && !bit_get(used, u) && lease_of(dirfd(d), de->d_name, id))
			mine = u;
	}
	/* A container's own lease again (a restore) is taken only when no
	 * process has its uid now: a full scan says, not a recent one. */
	if (mine && recent) {
		memset(used, 0, (COUNT + 63) / 64 * sizeof(uint64_t));
		if ((rc = scan_and_record(dirfd(d), used)) < 0)
			return rc;
		if (bit_get(used, mine))
			mine = 0;
	}
	if (mine) {
		*uid = mine;
		return 0;
	}
	if ((rc = mark_named(used)) < 0)
		return rc;
	/* At random among the free ones, not the lowest: a container able to
	 * run as any uid it likes must not know which its sidecar will get. A
	 * uid another hook took meanwhile (O_EXCL) is marked and the draw made
	 * again, a bounded number of times. */
	for (int tries = 0; tries < 64; tries++) {
		unsigned nfree = 0, pick, r;
		uid_t u = 0;

		for (unsigned i = 0; i < COUNT; i++)
			nfree += !bit_get(leased, (uid_t)(BASE + i)) && !bit_get(used, (uid_t)(BASE + i));
		if (!nfree)
			return -EUSERS;
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return errno ? -errno : -EIO;
		pick = r % nfree; /* COUNT <= 2^20: the bias is below 2^-12 */
		for (unsigned i = 0; i < COUNT; i++) {
			u = (uid_t)(BASE + i);
			if (!bit_get(leased, u) && !bit_get(used, u) && pick-- == 0)
				break;
		}
		rc = take(dirfd(d), u, id);
		if (rc == -EEXIST) {
			bit_set(leased, u);
			continue;
		}
		if (rc < 0)
			return rc;
		*uid = u;
		return 0;
	}
	return -EUSERS;
}

/* How many leases one release weighs; the rest wait for the next sweep. */
#define RELEASE_MAX 4096

/* A lease that may go: its uid, and the inode it was read from. */
struct candidate {
	uid_t uid;
	ino_t ino;
};

/* Removes the leases (of ID, or every one when ID is NULL) whose uid no live
 * process has; of every one, only those whose start is not pending
 * (lib/starting.h). Returns how many.
 *
 * Which starts are pending is read before the processes are: a start that
 * is no longer pending then has its sidecar running already, and the scan
 * sees it. A lease taken again meanwhile is a new file (take links a new
 * one), told from the one weighed by its inode. */
static int release(const char *id)
{
	cleanup_free uint64_t *used = NULL;
	cleanup_free struct candidate *cand = NULL;
	cleanup_closedir DIR *d = NULL;
	cleanup_close int dfd = -1;
	struct dirent *de;
	size_t n = 0;
	int removed = 0;

	if (open_dir(&dfd) < 0 || !(d = fdopendir(dfd)))
		return 0;
	dfd = -1; /* the DIR owns it now */
	while ((de = readdir(d)) && n < RELEASE_MAX) {
		char buf[OCI_ID_MAX_LEN + 2];
		cleanup_close int fd = -1;
		uid_t u = lease_uid(de->d_name);
		struct stat st;
		ssize_t len;

		/* A scan record's copy that a hook killed while writing it left. */
		if (!id && !strncmp(de->d_name, RUNNING_FILE ".", sizeof(RUNNING_FILE)) &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime < time(NULL) - 60)
			unlinkat(dirfd(d), de->d_name, 0);

		if (!u || (fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0 ||
		    fstat(fd, &st) < 0 || (len = read(fd, buf, sizeof(buf) - 1)) < 0)
			continue;
		buf[len] = '\0';
		/* ID's own: its hook or poststop gives it back, pending or not.
		 * Of every one: a lease whose sidecar runs, or whose start is
		 * pending, is held without a look at every process (which a
		 * sweep at every start would otherwise cost). */
		if (id ? strcmp(buf, id) != 0
		       : oci_id_valid(buf) && (ps_start_pending(buf) || ps_sidecar_alive(buf, NULL)))
			continue;
		if (!cand && !(cand = calloc(RELEASE_MAX, sizeof(*cand))))
			return 0;
		cand[n++] = (struct candidate){u, st.st_ino};
	}
	/* Read once, and only when there is a lease to weigh. */
	if (!n || !(used = bits_new()) || scan_and_record(dirfd(d), used) < 0)
		return 0; /* unknown: kept, for the next sweep */
	for (size_t i = 0; i < n; i++) {
		char name[16];
		struct stat st;

		snprintf(name, sizeof(name), "%u", (unsigned)cand[i].uid);
		if (!bit_get(used, cand[i].uid) && fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_ino == cand[i].ino && unlinkat(dirfd(d), name, 0) == 0)
			removed++;
	}
	return removed;
}

void ps_uid_release(const char *id)
{
	release(id);
}

int ps_uid_sweep(void)
{
	return release(NULL);
}

int ps_uid_container_check(const struct oci_config *cfg, pid_t pid, struct oci_err *e)
{
	struct oci_id_map *um = cfg->uid_maps, *gm = cfg->gid_maps;
	size_t nu = cfg->n_uid_maps, ng = cfg->n_gid_maps;
	cleanup_free struct oci_id_map *read_u = NULL, *read_g = NULL;
	char field[128];

	/* A user namespace joined by path (a pod's) comes with no mappings in
	 * the config: its init's maps are the ones it runs under. */
	if (cfg->has_userns && !nu && !ng) {
		if (!(read_u = calloc(OCI_CONFIG_ID_MAPS_MAX, sizeof(*read_u))) ||
		    !(read_g = calloc(OCI_CONFIG_ID_MAPS_MAX, sizeof(*read_g))))
			return oci_err_add(e, ENOMEM, "out of memory");
		for (int g = 0; g < 2; g++) {
			char path[64], buf[OCI_CONFIG_ID_MAPS_MAX * 36];
			cleanup_close int fd = -1;
			ssize_t n = -1;

			snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, g ? "gid_map" : "uid_map");
			if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0)
				n = read(fd, buf, sizeof(buf) - 1);
			if (n >= 0)
				buf[n] = '\0';
			if (n < 0 || (size_t)n >= sizeof(buf) - 1 ||
			    oci_id_maps_parse(buf, g ? read_g : read_u, g ? &ng : &nu) < 0)
				return oci_err_add(
					e, EIO, "cannot read the container's %s: its ids may be the sidecar's", path);
		}
		um = read_u;
		gm = read_g;
	}
	if (oci_config_ids_overlap(cfg, um, nu, gm, ng, BASE, COUNT, field, sizeof(field)))
		return oci_err_add(e, EPERM,
				   "config: %s is in the sidecars' uid range %u-%u, reserved for portside's sidecars "
				   "(a container process would share a sidecar's uid)",
				   field, (unsigned)BASE, (unsigned)(BASE + COUNT - 1));
	return 0;
}
