/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_SIDECAR_BPF_H
#define PORTSIDE_SIDECAR_BPF_H

/* The sidecar's seccomp filters, compiled at build time (sidecar/bpfgen/,
 * by libseccomp, from the very lists confine.c is given at run time) into
 * the generated seccomp_bpf.c: a start then loads each as it is instead of
 * having libseccomp build it again (about 1 ms of CPU a filter, three a
 * start, on the 2-core VM). A filter's one value known only at run time,
 * the caller's pid that kill and tgkill may name, is SC_BPF_SELF in the
 * program, NSELF times, and replaced at load. */

#include <linux/filter.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Never a pid (those end below 2^22), a syscall number, a family or a
 * command the filters compare with. */
#define SC_BPF_SELF 0x5e1f5e1fu

struct sc_bpf {
	const int *syscalls;
	size_t n;
	const int *families;
	size_t nfamilies;
	bool fd_control;
	uint32_t arch; /* seccomp_arch_native() where it was built */
	size_t nself;
	const struct sock_filter *prog;
	size_t len;
};

/* The generated table (an empty one in the generator itself). */
extern const struct sc_bpf sc_bpf_table[];
extern const size_t sc_bpf_count;

/* What the three filters are made of (confine.c, factory.c,
 * listenfactory.c), for the generator to build the same ones:
 * the sidecar's calls (into OUT, their number returned); a factory's,
 * its own and EXTRA (0 when MAX is too few); and the families and extra
 * calls of each factory. */
size_t sc_filter_core(int *out, size_t max);
size_t sc_filter_helper(const int *extra, size_t nextra, int *out, size_t max);
extern const int sc_factory_families[];
extern const size_t sc_factory_nfamilies;
extern const int sc_listen_binding[], sc_listen_families[];
extern const size_t sc_listen_nbinding, sc_listen_nfamilies;

/* A filter of SYSCALLS, socket() of FAMILIES, FD_CONTROL's commands, and
 * kill/tgkill of SELF only (see sc_seccomp_load); NULL when libseccomp
 * fails. */
scmp_filter_ctx sc_seccomp_build(const int *syscalls, size_t n, const int *families, size_t nfamilies, bool fd_control,
				 uint32_t self);
/* The precompiled filter of exactly these, or NULL. */
const struct sc_bpf *sc_seccomp_precompiled(const int *syscalls, size_t n, const int *families, size_t nfamilies,
					    bool fd_control);
/* B's program into OUT (ROOM instructions) with SELF in place of
 * SC_BPF_SELF: its length, or -E2BIG, or -EINVAL when SC_BPF_SELF was not
 * found B->nself times. */
int sc_seccomp_program(const struct sc_bpf *b, uint32_t self, struct sock_filter *out, size_t room);

#endif
