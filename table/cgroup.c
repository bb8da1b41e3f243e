/* SPDX-License-Identifier: MIT */
/* Where the sidecar's CPU, memory and tasks are charged: a cgroup of its own,
 * portside/ID, with explicit limits, in the cpu, memory and pids hierarchies
 * (cgroup v1, as on these hosts) or in the unified one where those are not
 * mounted on v1 (a cgroup v2 host).
 *
 * Why not where it was: a child of the hook lands in the runtime's cgroup
 * (runc's caller, containerd's shim, conmon...), often under no limit at all,
 * and a container's author makes it work at will (connections, listeners,
 * automatic forwarding): work outside any limit.
 *
 * Why not the container's own cgroup, which would charge the author for it:
 * the container's memory and pids limits are the author's to fill, so its
 * OOM killer could kill the sidecar; and the sidecar also serves the
 * containers that joined its netns, while the cgroup belongs to the one that
 * started it: runc kills what is left in a cgroup it deletes when the
 * container shares a pid namespace, systemd kills a scope's every process
 * when it stops, and a cgroup v1 directory still holding the sidecar cannot
 * be removed at all. Either way the end of the first container would take
 * the others' forwarding with it.
 *
 * So each sidecar has its own cgroup, limited: what a container makes its
 * sidecar do is bounded (one core, SC_MEMORY_MAX, SC_PIDS_MAX), never
 * charged to another container's sidecar (each has its own limit, not a
 * shared one), and nothing the container does to its own cgroup reaches it.
 * The socket factory, forked by the sidecar, is charged there too. poststop
 * removes portside/ID once the sidecar is gone; one left behind (a sidecar
 * killed with no poststop after it) is removed, empty, by the next start's
 * collection (tb_cgroup_sweep, with ps_gc: at most once a second, as an
 * attempt on every populated cgroup of every hierarchy costs each start
 * more the more sidecars run). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "table.h"

#define CG_PARENT "portside"
/* A sidecar needs a few MB; connections add their buffers and pipes. Far
 * above what a busy one uses, and a bound on what a hostile one costs. */
#define SC_MEMORY_MAX (512ull << 20)
#define SC_PIDS_MAX   16 /* the sidecar and its socket factory */
#define SC_CPU_PERIOD 100000
#define SC_CPU_QUOTA  100000 /* one core */

struct cg_limit {
	const char *file, *value;
};

static int write_at(int dirfd, const char *file, const char *value)
{
	int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;
	size_t len = strlen(value);

	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len)
		rc = -errno;
	close(fd);
	return rc;
}

/* Removes the empty portside/ cgroups of sidecars that ended (a populated one
 * refuses with EBUSY, and is left). */
static void sweep(int parent)
{
	int fd = dup(parent);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.')
			unlinkat(parent, de->d_name, AT_REMOVEDIR);
	closedir(d);
}

/* Enters MOUNT/portside/ID (made, limited with LIMITS) with the calling
 * process. V2: enable the controllers for the children first. */
static int enter(const char *mount, const char *id, const struct cg_limit *limits, size_t n, bool v2)
{
	cleanup_close int root = -1, parent = -1, own = -1;
	int rc = -ENOENT;

	if ((root = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if (mkdirat(root, CG_PARENT, 0755) < 0 && errno != EEXIST)
		return -errno;
	if ((parent = openat(root, CG_PARENT, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if (v2) {
		/* Each may be missing from this host: its limit is then skipped. */
		for (const char *c = "+cpu\0+memory\0+pids\0"; *c; c += strlen(c) + 1) {
			write_at(root, "cgroup.subtree_control", c);
			write_at(parent, "cgroup.subtree_control", c);
		}
	}
	/* Another hook's sweep (tb_cgroup_sweep) may remove it between mkdir
	 * and the move. */
	for (int tries = 0; tries < 3 && rc == -ENOENT; tries++) {
		if (mkdirat(parent, id, 0755) < 0 && errno != EEXIST)
			return -errno;
		oci_close(&own);
		if ((own = openat(parent, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
			if (errno == ENOENT)
				continue; /* swept between mkdir and open: again */
			return -errno;
		}
		for (size_t i = 0; i < n; i++)
			write_at(own, limits[i].file, limits[i].value); /* absent controller: no file */
		rc = write_at(own, "cgroup.procs", "0");
	}
	return rc;
}

/* The controllers portside limits, in this order in struct tb_cgroup_mounts. */
static const char *const controllers[TB_CG_CONTROLLERS] = {"cpu", "memory", "pids"};

/* Fills M from one read of /proc/self/mountinfo. Only a mount of a
 * hierarchy's root counts. */
void tb_cgroup_mounts(struct tb_cgroup_mounts *m)
{
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	memset(m, 0, sizeof(*m));
	while (f && fgets(line, sizeof(line), f)) {
		char root[1024], mnt[1024], type[64], super[1024], *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2 ||
		    sscanf(sep + 3, "%63s %*s %1023s", type, super) != 2 || strcmp(root, "/") || strchr(mnt, '\\'))
			continue;
		if (!strcmp(type, "cgroup2") && !m->v2[0]) {
			snprintf(m->v2, sizeof(m->v2), "%s", mnt);
		} else if (!strcmp(type, "cgroup")) {
			for (char *save, *o = strtok_r(super, ",", &save); o; o = strtok_r(NULL, ",", &save))
				for (size_t i = 0; i < TB_CG_CONTROLLERS; i++)
					if (!strcmp(o, controllers[i]) && !m->v1[i][0])
						snprintf(m->v1[i], sizeof(m->v1[i]), "%s", mnt);
		}
	}
}

int tb_cgroup_enter(const struct tb_cgroup_mounts *m, const char *id, int report)
{
	char mem[32], pids[16], cpu[48], quota[16], period[16];
	const struct cg_limit v1_cpu[] = {{"cpu.cfs_period_us", period}, {"cpu.cfs_quota_us", quota}};
	const struct cg_limit v1_mem[] = {{"memory.limit_in_bytes", mem}};
	const struct cg_limit v1_pids[] = {{"pids.max", pids}};
	const struct cg_limit v2[] = {{"cpu.max", cpu}, {"memory.max", mem}, {"pids.max", pids}};
	const struct cg_limit *v1[] = {v1_cpu, v1_mem, v1_pids};
	const size_t nv1[] = {2, 1, 1};
	const char *mnt = "";
	bool any_v1 = false;
	int rc;

	snprintf(mem, sizeof(mem), "%llu", SC_MEMORY_MAX);
	snprintf(pids, sizeof(pids), "%d", SC_PIDS_MAX);
	snprintf(cpu, sizeof(cpu), "%d %d", SC_CPU_QUOTA, SC_CPU_PERIOD);
	snprintf(quota, sizeof(quota), "%d", SC_CPU_QUOTA);
	snprintf(period, sizeof(period), "%d", SC_CPU_PERIOD);
	for (size_t i = 0; i < TB_CG_CONTROLLERS; i++) {
		if (!m->v1[i][0])
			continue;
		any_v1 = true;
		mnt = m->v1[i];
		if ((rc = enter(mnt, id, v1[i], nv1[i], false)) < 0)
			goto fail;
	}
	if (any_v1 || !m->v2[0])
		return 0; /* v1 (its unified mount holds no controller), or no cgroups at all */
	mnt = m->v2;
	if ((rc = enter(mnt, id, v2, sizeof(v2) / sizeof(v2[0]), true)) < 0)
		goto fail;
	return 0;
fail:
	dprintf(report, "error: cannot put the sidecar in its cgroup %s/%s/%s: %s\n", mnt, CG_PARENT, id,
		strerror(-rc));
	return rc;
}

/* The hierarchies portside makes its cgroups in, into MNT (up to 3). */
static size_t mounts(char mnt[][1024])
{
	struct tb_cgroup_mounts m;
	size_t n = 0;

	tb_cgroup_mounts(&m);
	for (size_t i = 0; i < TB_CG_CONTROLLERS; i++)
		if (m.v1[i][0])
			snprintf(mnt[n++], sizeof(mnt[0]), "%s", m.v1[i]);
	if (n == 0 && m.v2[0])
		snprintf(mnt[n++], sizeof(mnt[0]), "%s", m.v2);
	return n;
}

/* Calls FN on the portside/ directory of each hierarchy. */
static void each_parent(void (*fn)(int parent, const char *id), const char *id)
{
	char mnt[TB_CG_CONTROLLERS][1024];
	size_t n = mounts(mnt);

	for (size_t i = 0; i < n; i++) {
		char path[1100];
		int parent;

		snprintf(path, sizeof(path), "%s/%s", mnt[i], CG_PARENT);
		if ((parent = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
			continue;
		fn(parent, id);
		close(parent);
	}
}

static void remove_one(int parent, const char *id)
{
	/* The socket factory dies with the sidecar, a moment after it (its
	 * parent-death signal): up to half a second. */
	for (int tries = 0; tries < 25 && unlinkat(parent, id, AT_REMOVEDIR) < 0 && errno == EBUSY; tries++)
		nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
}

void tb_cgroup_remove(const char *id)
{
	each_parent(remove_one, id);
}

static void sweep_one(int parent, const char *unused)
{
	(void)unused;
	sweep(parent);
}

void tb_cgroup_sweep(void)
{
	each_parent(sweep_one, NULL);
}
