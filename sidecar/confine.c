/* SPDX-License-Identifier: MIT */
/* Confinement, in the order that lets each step verify the one before:
 * capability bounding set, groups, gid, uid (checked), no-new-privs, empty
 * capability sets (checked), seccomp last. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stddef.h>
#include <linux/seccomp.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/uids.h"
#include "bpf.h"
#include "sidecar.h"

/* The uid (and gid) the hook leased to this sidecar (lib/uids.h), numeric
 * so that no passwd lookup is needed; 0 until sc_confine_as sets it. Its
 * socket factory, forked from it, drops to the same. */
static uid_t sc_uid;

/* The union of every file's list (sc_sys_*, kept next to the code that
 * makes the calls): nothing that opens files, creates processes, or changes
 * identity. */
static const int *const lists[] = {sc_sys_core,		  sc_sys_tcp, sc_sys_relay, sc_sys_udp,
				   sc_sys_listen_factory, sc_sys_log};

size_t sc_filter_core(int *out, size_t max)
{
	size_t n = 0;

	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		for (const int *c = lists[l]; *c != SC_SYS_END && n < max; c++)
			out[n++] = *c;
	return n;
}

/* fcntl and ioctl by command, never whole: F_SETOWN(_EX), F_SETSIG and
 * O_ASYNC (fcntl), FIOSETOWN, SIOCSPGRP and FIOASYNC (ioctl) make the kernel
 * send a signal to a process of the caller's choosing when a socket is ready,
 * and the kernel checks only that the target has the caller's uid: every
 * sidecar, and any other process of nobody, would be a target. The commands
 * below are the ones made once confined (strace -f of the sidecar through
 * runc.bats, autoforward.bats, udp.bats; libuv 1.44 on Linux sets O_NONBLOCK
 * and FD_CLOEXEC with ioctl). Any other fails with EPERM like any other call
 * outside the filter: a kill would buy nothing (a refused F_SETOWN has no
 * effect), and a libc or sanitizer path not foreseen here (isatty's TCGETS
 * in a sanitizer's report) must fail one call, not every connection. */
static const scmp_datum_t fcntl_cmds[] = {
	F_GETFD,		  /* main.c: was the pidfd handed over */
	F_DUPFD_CLOEXEC,	  /* tcp.c: the spare descriptor for EMFILE */
	F_SETPIPE_SZ,		  /* relay.c: bulk pipes */
	F_GETPIPE_SZ,	 F_GETFL, /* libuv's fallback for O_NONBLOCK; F_SETFL only without O_ASYNC, below */
};
static const scmp_datum_t ioctl_cmds[] = {
	FIONBIO, /* libuv: O_NONBLOCK */
	FIOCLEX, /* libuv: FD_CLOEXEC */
};

static int add_fd_control(scmp_filter_ctx f)
{
	int rc = 0;

	for (size_t i = 0; i < sizeof(fcntl_cmds) / sizeof(fcntl_cmds[0]) && rc == 0; i++)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, fcntl_cmds[i]));
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 2, SCMP_A1(SCMP_CMP_EQ, F_SETFL),
				      SCMP_A2(SCMP_CMP_MASKED_EQ, O_ASYNC, 0));
	for (size_t i = 0; i < sizeof(ioctl_cmds) / sizeof(ioctl_cmds[0]) && rc == 0; i++)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, ioctl_cmds[i]));
	return rc;
}

scmp_filter_ctx sc_seccomp_build(const int *syscalls, size_t n, const int *families, size_t nfamilies, bool fd_control,
				 uint32_t self)
{
	scmp_filter_ctx f;
	int rc = 0;

	/* Refuse with EPERM rather than kill: a libc path not foreseen here
	 * fails one call, visibly in the log, instead of every connection. */
	f = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!f)
		return NULL;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, syscalls[i], 0);
	/* New sockets: only of the families given. */
	for (size_t i = 0; i < nfamilies && rc == 0; i++)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]));
	if (rc == 0 && fd_control)
		rc = add_fd_control(f);
	/* Signals to itself only (abort(), a sanitizer's report): every
	 * process of another uid is refused by the kernel anyway; this also
	 * covers one of the same uid (the sidecar and its listener factory). */
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self));
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self));
	if (rc != 0) {
		seccomp_release(f);
		return NULL;
	}
	return f;
}

static bool same_ints(const int *a, size_t na, const int *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

const struct sc_bpf *sc_seccomp_precompiled(const int *syscalls, size_t n, const int *families, size_t nfamilies,
					    bool fd_control)
{
	for (size_t i = 0; i < sc_bpf_count; i++) {
		const struct sc_bpf *b = &sc_bpf_table[i];

		if (b->fd_control == fd_control && b->arch == seccomp_arch_native() &&
		    same_ints(b->syscalls, b->n, syscalls, n) &&
		    same_ints(b->families, b->nfamilies, families, nfamilies))
			return b;
	}
	return NULL;
}

int sc_seccomp_program(const struct sc_bpf *b, uint32_t self, struct sock_filter *out, size_t room)
{
	size_t patched = 0;

	if (b->len > room || b->len > BPF_MAXINSNS)
		return -E2BIG;
	for (size_t i = 0; i < b->len; i++) {
		out[i] = b->prog[i];
		/* Only where the program compares the accumulator with it. */
		if (BPF_CLASS(out[i].code) == BPF_JMP && BPF_SRC(out[i].code) == BPF_K && out[i].k == SC_BPF_SELF) {
			out[i].k = self;
			patched++;
		}
	}
	return patched == b->nself ? (int)b->len : -EINVAL;
}

int sc_seccomp_load(const int *syscalls, size_t n, const int *families, size_t nfamilies, bool fd_control)
{
	const struct sc_bpf *b = sc_seccomp_precompiled(syscalls, n, families, nfamilies, fd_control);
	const uint32_t self = (uint32_t)getpid();
	scmp_filter_ctx f;
	int rc;

	if (b) {
		struct sock_filter prog[1024];
		struct sock_fprog fp;

		/* No new privileges first, as seccomp_load does (the kernel
		 * wants it without CAP_SYS_ADMIN); flags 0: this thread alone,
		 * as seccomp_load's default. */
		if ((rc = sc_seccomp_program(b, self, prog, sizeof(prog) / sizeof(prog[0]))) > 0) {
			fp = (struct sock_fprog){.len = (unsigned short)rc, .filter = prog};
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
				return -errno;
			return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) == 0 ? 0 : -errno;
		}
	}
	if (!(f = sc_seccomp_build(syscalls, n, families, nfamilies, fd_control, self)))
		return -ENOMEM;
	rc = seccomp_load(f);
	seccomp_release(f);
	return rc;
}

static int load_seccomp(void)
{
	/* No new socket at all: socket() would make it in the sidecar's own
	 * netns, the host's, and one could be connected to the host's
	 * loopback services, which seccomp cannot tell from a dial into the
	 * container (connect's address is behind a pointer, the netns behind
	 * the fd). The control socket is bound before; netlink and the
	 * container's sockets come from the socket factory (factory.c), host
	 * listeners for automatic forwarding from the listener factory
	 * (listenfactory.c). */
	int allowed[256];
	size_t n = sc_filter_core(allowed, sizeof(allowed) / sizeof(allowed[0]));

	return sc_seccomp_load(allowed, n, NULL, 0, true);
}

int sc_confine_as(uid_t uid)
{
	/* Never root, never nobody (what every other unconfined process of
	 * nobody shares), and only a uid of the reserved range. */
	if (uid == 0 || uid == 65534 || !ps_uid_in_range(uid))
		return -EINVAL;
	sc_uid = uid;
	return 0;
}

int sc_drop_privileges(bool keep_bind, const char **what)
{
	const uid_t uid = sc_uid;
	const gid_t gid = (gid_t)sc_uid;
	uid_t r, e, s;
	gid_t rg, eg, sg;
	cap_t caps;
	int rc;

	*what = "choosing the uid (none was given)";
	if (uid == 0)
		return -EINVAL;

	/* The bounding set can only shrink while CAP_SETPCAP is still held. */
	*what = "dropping the capability bounding set";
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (!(keep_bind && c == CAP_NET_BIND_SERVICE) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return -errno;
	*what = "clearing ambient capabilities";
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	/* Keep the permitted set across the uid change only when a later
	 * privileged bind needs CAP_NET_BIND_SERVICE from it. */
	*what = "setting keep-caps";
	if (prctl(PR_SET_KEEPCAPS, keep_bind ? 1 : 0, 0, 0, 0) < 0)
		return -errno;

	/* The system calls themselves, not libc's wrappers: those change every
	 * thread of the process (POSIX's rule, by signalling each), and the
	 * socket factory is a thread that drops on its own, under a filter that
	 * refuses these calls (factory.c). Each thread drops its own. */
	*what = "dropping supplementary groups";
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		return -errno;
	*what = "setting the gid";
	if (syscall(SYS_setresgid, gid, gid, gid) < 0)
		return -errno;
	*what = "setting the uid";
	if (syscall(SYS_setresuid, uid, uid, uid) < 0)
		return -errno;
	*what = "verifying the uid and gid";
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	if (r != uid || e != uid || s != uid || rg != gid || eg != gid || sg != gid || getgroups(0, NULL) != 0)
		return -EPERM;
	/* setuid back must fail now, or the drop did not take. */
	if (syscall(SYS_setuid, 0) == 0)
		return -EPERM;

	*what = "setting no-new-privs";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;

	/* Exactly the capabilities wanted, in every set, and checked. */
	*what = "setting capabilities";
	caps = cap_init();
	if (!caps)
		return -errno;
	if (keep_bind) {
		cap_value_t nbs = CAP_NET_BIND_SERVICE;

		cap_set_flag(caps, CAP_PERMITTED, 1, &nbs, CAP_SET);
		cap_set_flag(caps, CAP_EFFECTIVE, 1, &nbs, CAP_SET);
	}
	rc = cap_set_proc(caps) < 0 ? -errno : 0;
	cap_free(caps);
	if (rc < 0)
		return rc;
	caps = cap_get_proc();
	if (!caps)
		return -errno;
	for (int c = 0; c <= CAP_LAST_CAP && rc == 0; c++) {
		cap_flag_value_t v;

		for (cap_flag_t fl = CAP_EFFECTIVE; fl <= CAP_INHERITABLE; fl++)
			if (cap_get_flag(caps, (cap_value_t)c, fl, &v) == 0 && v == CAP_SET &&
			    !(keep_bind && c == CAP_NET_BIND_SERVICE && fl != CAP_INHERITABLE))
				rc = -EPERM;
	}
	cap_free(caps);
	return rc;
}

int sc_confine(const char **what)
{
	int rc = sc_drop_privileges(false, what);

	if (rc < 0)
		return rc;
	*what = "loading the seccomp filter";
	return load_seccomp();
}

size_t sc_filter_helper(const int *extra, size_t nextra, int *out, size_t max)
{
	/* What either factory needs: its socketpair, memory, exiting. */
	static const int base[] = {
		SCMP_SYS(recvmsg),
		SCMP_SYS(recvfrom),
		SCMP_SYS(read),
		SCMP_SYS(sendmsg),
		SCMP_SYS(write),
		SCMP_SYS(close),
		SCMP_SYS(setsockopt),
		SCMP_SYS(brk),
		SCMP_SYS(mmap),
		SCMP_SYS(munmap),
		SCMP_SYS(madvise),
		SCMP_SYS(mprotect),
		SCMP_SYS(futex),
		SCMP_SYS(clock_gettime),
		SCMP_SYS(getpid),
		SCMP_SYS(gettid),
		/* exiting, also through a sanitizer runtime's own exit path */
		SCMP_SYS(exit),
		SCMP_SYS(exit_group),
		SCMP_SYS(rt_sigreturn),
		SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(rt_sigaction),
		SCMP_SYS(sigaltstack),
		SCMP_SYS(sched_yield),
		SCMP_SYS(nanosleep),
	};
	size_t n = sizeof(base) / sizeof(base[0]);

	if (n + nextra > max)
		return 0;
	memcpy(out, base, sizeof(base));
	if (nextra) /* EXTRA may be NULL then */
		memcpy(out + n, extra, nextra * sizeof(*extra));
	return n + nextra;
}

int sc_confine_helper(bool keep_bind, pid_t parent, const int *extra, size_t nextra, const int *families,
		      size_t nfamilies, const char **what)
{
	int allowed[64];
	size_t n = sc_filter_helper(extra, nextra, allowed, sizeof(allowed) / sizeof(allowed[0]));
	int rc;

	if (n == 0)
		return -E2BIG;
	if ((rc = sc_drop_privileges(keep_bind, what)) < 0)
		return rc;
	/* A process: changing the uid cleared the parent-death signal: arm it
	 * now, then make sure the parent did not go before it was armed. (A
	 * thread, PARENT 0, ends with its process.) */
	*what = "arming the parent-death signal";
	if (parent && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return -errno;
	if (parent && getppid() != parent)
		return -ESRCH;
	*what = "loading the seccomp filter";
	return sc_seccomp_load(allowed, n, families, nfamilies, false);
}
