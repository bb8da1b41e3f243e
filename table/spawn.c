/* SPDX-License-Identifier: MIT */
/* Starting the sidecar, fully detached, and waiting until it is ready.
 *
 * runc (and others) wait until the hook's stdout and stderr close, even past
 * the hook's timeout: a sidecar that kept them would hang the container's
 * start. So the sidecar gets its own session (setsid), has /dev/null on 0-2
 * and no other descriptor than those handed to it on purpose. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/rundir.h"
#include "../lib/warn.h"
#include "../lib/sidecar_fds.h"
#include "../lib/uids.h"
#include "../base/cleanup.h"
#include "table.h"
#include "safepath.h"
#include "../lib/clock.h"

/* What the sidecar's child needs, all made by the hook before the vfork:
 * the child shares the hook's memory until it execs, so it allocates
 * nothing (another thread of the hook could hold malloc's lock) and reads
 * no file. */
struct exec_plan {
	const char *sidecar; /* its path, for messages */
	const char *id;
	int exe;	/* the checked binary (sidecar_open) */
	int *src, *tmp; /* N: the descriptors to hand over, in order; room to move them */
	size_t n;
	char *argv[6];
	char *envp[8];
	char uid[16];
	struct tb_cgroup_mounts cg;
	sigset_t mask; /* the hook's signal mask, for the sidecar */
};

static void free_plan(struct exec_plan *p)
{
	free(p->src);
	free(p->tmp);
	for (size_t i = 0; p->envp[i]; i++)
		free(p->envp[i]);
}

static int make_plan(struct exec_plan *p, const char *sidecar, int exe, uid_t uid, const char *id, int ready, int nsfd,
		     int pidfd, const int *listeners, size_t nlisteners)
{
	static const char *const keep_env[] = {"PORTSIDE_RUN_DIR", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
	size_t ne = 0;

	memset(p, 0, sizeof(*p));
	p->sidecar = sidecar;
	p->id = id;
	p->exe = exe;
	p->n = 3 + nlisteners;
	p->src = calloc(p->n, sizeof(int));
	p->tmp = calloc(p->n, sizeof(int));
	if (!p->src || !p->tmp)
		return -ENOMEM;
	p->src[0] = ready;
	p->src[1] = nsfd;
	p->src[2] = pidfd;
	for (size_t i = 0; i < nlisteners; i++)
		p->src[3 + i] = listeners[i];
	snprintf(p->uid, sizeof(p->uid), "%u", (unsigned)uid);
	p->argv[0] = (char *)"portside-sidecar";
	p->argv[1] = (char *)"--id";
	p->argv[2] = (char *)id;
	p->argv[3] = (char *)"--uid";
	p->argv[4] = p->uid;
	for (size_t i = 0; i < sizeof(keep_env) / sizeof(keep_env[0]); i++) {
		const char *v = getenv(keep_env[i]);

		/* LeakSanitizer cannot work under the sidecar's seccomp filter
		 * (it needs ptrace); memory errors are still caught. */
		if (v && asprintf(&p->envp[ne], "%s=%s%s", keep_env[i], v,
				  !strcmp(keep_env[i], "ASAN_OPTIONS") ? ":detect_leaks=0" : "") < 0) {
			p->envp[ne] = NULL;
			return -ENOMEM;
		}
		ne += v != NULL;
	}
	tb_cgroup_mounts(&p->cg);
	return 0;
}

/* In the sidecar's child, until it execs: moves every fd it must keep to its
 * fixed number, closes the rest, enters its cgroup, execs P->exe (the file
 * sidecar_open checked, never its path again). System calls only (see
 * struct exec_plan). Never returns; failures are reported on the ready
 * pipe. */
static void __attribute__((noreturn)) exec_sidecar(struct exec_plan *p)
{
	const size_t n = p->n;
	int *src = p->src, *tmp = p->tmp;
	int null, report = src[0], exe = p->exe, exe_at = SC_FD_READY + (int)n;

	/* Two passes, so that no target number overwrites a source not yet
	 * moved: first above every target, then down into place. */
	for (size_t i = 0; i < n; i++)
		tmp[i] = -1;
	for (size_t i = 0; i < n; i++) {
		tmp[i] = src[i] < 0 ? -1 : fcntl(src[i], F_DUPFD_CLOEXEC, (int)(SC_FD_READY + n));
		if (src[i] >= 0 && tmp[i] < 0)
			goto fail;
	}
	/* The binary's descriptor, above every target too, then just past them
	 * (a copy there is no longer needed): close-on-exec, the sidecar never
	 * sees it. */
	if ((exe = fcntl(exe, F_DUPFD_CLOEXEC, exe_at)) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (tmp[i] < 0)
			close(SC_FD_READY + (int)i); /* an empty slot holds nothing inherited */
		else if (dup2(tmp[i], SC_FD_READY + (int)i) < 0)
			goto fail;
	}
	report = SC_FD_READY;
	if (exe != exe_at && dup3(exe, exe_at, O_CLOEXEC) < 0)
		goto fail;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		goto fail;
	if (syscall(SYS_close_range, (unsigned)exe_at + 1, ~0U, 0) < 0)
		goto fail;
	if (tb_cgroup_enter(&p->cg, p->id, SC_FD_READY) < 0)
		_exit(127);
	sigprocmask(SIG_SETMASK, &p->mask, NULL);
	syscall(SYS_execveat, exe_at, "", p->argv, p->envp, AT_EMPTY_PATH);
fail:
	dprintf(report, "error: cannot start %s: %s\n", p->sidecar, strerror(errno));
	_exit(127);
}

/* The vfork, in a frame of its own whose only live values are its
 * arguments: the caller's are never shared with the child. */
static pid_t __attribute__((noinline)) vfork_sidecar(struct exec_plan *p, int rd)
{
	pid_t pid = vfork();

	if (pid == 0) {
		close(rd);
		setsid();
		exec_sidecar(p);
	}
	return pid;
}

/* What a user can do about a sidecar that is not there: the hooks.d file (or
 * an injected config.json) names it with --sidecar. */
#define SIDECAR_FIX "reinstall portside, or pass --sidecar PATH in the hooks.d file"

/* The file at *FD (O_PATH, stat ST) begins as an ELF binary does. A script's
 * interpreter finds its script by a path under /dev/fd that execveat from a
 * close-on-exec descriptor leaves behind, which fails as a misleading
 * ENOENT; so anything else is refused here, by its first bytes read
 * through a reopening checked to be the same file. Closes *FD on failure. */
static int elf_check(const char *path, int *fd, const struct stat *st, struct oci_err *e)
{
	char proc[64], magic[4];
	cleanup_close int rfd = -1;
	struct stat rst;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", *fd);
	rfd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (rfd < 0 || fstat(rfd, &rst) < 0 || rst.st_dev != st->st_dev || rst.st_ino != st->st_ino) {
		oci_close(fd);
		return oci_err_add(e, EIO, "sidecar %s: cannot be read to check it (%s)", path, SIDECAR_FIX);
	}
	if (pread(rfd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) || memcmp(magic,
										    "\x7f"
										    "ELF",
										    4)) {
		oci_close(fd);
		return oci_err_add(e, EIO,
				   "sidecar %s: not an ELF executable (a script cannot be run from a descriptor; %s)",
				   path, SIDECAR_FIX);
	}
	return 0;
}

/* Opens the sidecar at PATH into *FD, for tb_spawn to execute that very
 * file: absolute, there, a regular file only root can change in a directory
 * only root can change (safepath.c), executable, an ELF binary. */
static int sidecar_open(const char *path, int *fd, struct oci_err *e)
{
	char why[PATH_MAX + 128];
	struct statvfs vfs;
	struct stat st;
	int rc;

	*fd = -1;
	if (path[0] != '/')
		return oci_err_add(e, EIO, "sidecar %s: not an absolute path (%s)", path, SIDECAR_FIX);
	rc = tb_safe_open(path, fd, &st, why, sizeof(why));
	if (rc == -ENOENT || rc == -ENOTDIR)
		return oci_err_add(e, EIO, "sidecar %s: not found (%s)", path, SIDECAR_FIX);
	/* Whoever can change it could have root run their own program. */
	if (rc == -EPERM)
		return oci_err_add(
			e, EIO,
			"sidecar %s: %s; root runs it, so only root may be able to change it or a directory above it",
			path, why);
	if (rc < 0)
		return oci_err_add(e, EIO, "sidecar %s: %s: %s (%s)", path, why, strerror(-rc), SIDECAR_FIX);
	if (!S_ISREG(st.st_mode)) {
		oci_close(fd);
		return oci_err_add(e, EIO, "sidecar %s: not a regular file (%s)", path, SIDECAR_FIX);
	}
	/* The mode bits, and the mount: root may run nothing of a noexec one. */
	if (!(st.st_mode & 0111) || (fstatvfs(*fd, &vfs) == 0 && (vfs.f_flag & ST_NOEXEC))) {
		oci_close(fd);
		return oci_err_add(e, EIO, "sidecar %s: not executable (mode %04o%s; %s)", path,
				   (unsigned)(st.st_mode & 07777), (st.st_mode & 0111) ? ", on a noexec mount" : "",
				   SIDECAR_FIX);
	}
	return elf_check(path, fd, &st, e);
}

int tb_sidecar_check(const char *path, struct oci_err *e)
{
	cleanup_close int fd = -1;

	return sidecar_open(path, &fd, e);
}

/* The sidecar's descriptor limit: two a connection or flow (its sockets),
 * its listeners, and room for pipes in flight, pooled sockets and the rest
 * (tcp.c, sockpool.c). Raised, for the hook and so for the sidecar, past
 * what the hook inherited when the policy's maxConnections needs it: root
 * may, with CAP_SYS_RESOURCE, up to fs.nr_open. Without it the sidecar has
 * what the hook had, says so, and refuses connections past it in its log. */
#define SIDECAR_FD_SLACK 512
static void raise_nofile(unsigned max_conns, unsigned max_udp_flows, size_t nlisteners)
{
	/* Two descriptors a connection, one (its socket) a UDP flow. */
	rlim_t want = (rlim_t)max_conns * 2 + max_udp_flows + nlisteners + SIDECAR_FD_SLACK;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return; /* the usual case: nothing to read or raise at start-up */
	if (rl.rlim_max < want) {
		FILE *f = fopen("/proc/sys/fs/nr_open", "re");
		unsigned long nr;

		if (f) {
			if (fscanf(f, "%lu", &nr) == 1 && want > nr)
				want = nr;
			fclose(f);
		}
	}
	if (rl.rlim_max < want) {
		struct rlimit up = {want, want};

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return;
		ps_warn("the sidecar's descriptor limit stays at %llu, short of the %llu that maxConnections %u "
			"and maxUdpFlows %u need: %s",
			(unsigned long long)rl.rlim_max, (unsigned long long)want, max_conns, max_udp_flows,
			strerror(errno));
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* Reads the readiness report: "ok\n" or "error: WHY\n" from the sidecar. */
static int read_report(int fd, char *buf, size_t len, struct oci_err *e)
{
	int64_t deadline = ps_now_ms() + TB_READY_TIMEOUT_MS;
	size_t got = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - ps_now_ms();
		char *nl;
		ssize_t r;

		buf[got] = '\0';
		if ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (!strcmp(buf, "ok"))
				return 0;
			return oci_err_add(e, EIO, "sidecar: %s", !strncmp(buf, "error: ", 7) ? buf + 7 : buf);
		}
		if (left <= 0)
			return oci_err_add(e, ETIMEDOUT, "sidecar not ready after %d ms", TB_READY_TIMEOUT_MS);
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return oci_err_addp(e, errno, "waiting for the sidecar");
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		if (got + 1 >= len)
			return oci_err_add(e, EIO, "sidecar: report too long");
		r = read(fd, buf + got, len - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return oci_err_add(e, EIO, "sidecar exited before it was ready");
		got += (size_t)r;
	}
}

/* A uid of the sidecars' range for ID's sidecar (lib/uids.h). */
static int lease_uid(const char *id, uid_t *uid, struct oci_err *e)
{
	int rc = ps_uid_acquire(id, uid);

	if (rc == -EUSERS)
		return oci_err_add(e, EUSERS, "no uid left for the sidecar: all %u of %u-%u are leased or in use",
				   ps_uid_count(), (unsigned)ps_uid_base(),
				   (unsigned)ps_uid_base() + ps_uid_count() - 1);
	if (rc < 0)
		return oci_err_addp(e, -rc, "cannot lease a uid for the sidecar in %s/" PS_UIDS_DIR, ps_run_dir());
	return 0;
}

int tb_spawn(const char *sidecar, const char *id, int nsfd, int pidfd, const int *listeners, size_t n,
	     unsigned max_conns, unsigned max_udp_flows, struct oci_err *e)
{
	cleanup_close int rd = -1, wr = -1, exe = -1;
	struct exec_plan plan;
	char report[512];
	int fds[2], status, rc;
	sigset_t all;
	pid_t pid;
	uid_t uid;

	/* Checked again here, and the descriptor checked is what runs: the
	 * path may have been swapped since tb_sidecar_check. */
	if (sidecar_open(sidecar, &exe, e) < 0)
		return -EIO;

	/* An ignored SIGCHLD, inherited from whoever ran the hook, would
	 * have the kernel reap the sidecar the moment it exits: its pid then
	 * is anyone's, and the kill below could hit another process. */
	signal(SIGCHLD, SIG_DFL);
	raise_nofile(max_conns, max_udp_flows, n);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return oci_err_addp(e, errno, "pipe");
	rd = fds[0];
	wr = fds[1];
	/* Last before the fork: from here every failure gives it back. */
	if (lease_uid(id, &uid, e) < 0)
		return -EIO;
	if (make_plan(&plan, sidecar, exe, uid, id, wr, nsfd, pidfd, listeners, n) < 0) {
		free_plan(&plan);
		ps_uid_release(id);
		return oci_err_add(e, ENOMEM, "out of memory");
	}
	/* One vfork: the sidecar is the hook's child, in a session of its own,
	 * and stays unreaped while the hook runs, so that its pid cannot be
	 * recycled before the hook has decided whether to kill it; when the
	 * hook exits it goes to the runtime's subreaper or init, as any
	 * orphan. A vfork, as the child only moves descriptors and execs: a
	 * fork cost every start a copy of the hook's page tables and the
	 * child's faults on it (about 3 ms of the 2-core VM's CPU under a
	 * burst of starts). Signals wait until the exec, so that no handler
	 * runs on the shared memory. (A second fork, once made to leave the
	 * session leader behind, is not needed either: the sidecar never
	 * opens a terminal, so it can take none.) */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &plan.mask);
	pid = vfork_sidecar(&plan, rd);
	rc = pid < 0 ? errno : 0;
	sigprocmask(SIG_SETMASK, &plan.mask, NULL);
	free_plan(&plan);
	if (pid < 0) {
		oci_err_addp(e, rc, "fork");
		ps_uid_release(id);
		return -EIO;
	}
	oci_close(&wr);
	if (read_report(rd, report, sizeof(report), e) < 0) {
		/* Whatever state it is in, a sidecar that did not say ok must not
		 * outlive the hook: it would hold the ports. Still unreaped, so
		 * the pid is this child's. */
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		ps_uid_release(id);
		return -EIO;
	}
	return 0;
}
