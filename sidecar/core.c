/* SPDX-License-Identifier: MIT */
/* The sidecar's core, below its subsystems: the list of forwards and the
 * shutdown every subsystem may ask for. It names none of them: what a
 * shutdown stops is main's, through ctx->stop, so that no call runs back up. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <seccomp.h>

#include "sidecar.h"

/* The system calls this file needs once the sidecar is confined: the event loop (libuv) and what libc does under it:
 * memory, futexes, time, signals, exit. confine.c allows the union of every file's list. */
const int sc_sys_core[] = {
	SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_create1),
	SCMP_SYS(eventfd2),
	SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime),
	SCMP_SYS(poll),
	SCMP_SYS(ppoll),
	SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack),
	SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday),
	SCMP_SYS(brk),
	SCMP_SYS(mmap),
	SCMP_SYS(munmap),
	SCMP_SYS(mremap),
	SCMP_SYS(madvise),
	SCMP_SYS(mprotect),
	SCMP_SYS(futex),
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
	SCMP_SYS(restart_syscall),
	SCMP_SYS(getpid),
	SCMP_SYS(gettid),
	SCMP_SYS(getrandom),
	SCMP_SYS(sched_yield),
	SCMP_SYS(newfstatat),
	SCMP_SYS(fstat),
	SCMP_SYS(lseek),
	SCMP_SYS(getuid),
	SCMP_SYS(geteuid),
	SCMP_SYS(getgid),
	SCMP_SYS(getegid),
	SCMP_SYS(uname),
	SCMP_SYS(read),
	SCMP_SYS(write),
	SCMP_SYS(close),
	SC_SYS_END,
};

struct sc_forward *sc_forward_add(struct sc_ctx *ctx, const struct ps_forward *cfg)
{
	struct sc_forward *fw = calloc(1, sizeof(*fw)), **nv;

	if (!fw)
		return NULL;
	nv = realloc(ctx->fw, (ctx->nfw + 1) * sizeof(*nv));
	if (!nv) {
		free(fw);
		return NULL;
	}
	fw->cfg = *cfg;
	fw->ctx = ctx;
	ctx->fw = nv;
	ctx->fw[ctx->nfw++] = fw;
	return fw;
}

void sc_forward_remove(struct sc_ctx *ctx, struct sc_forward *fw)
{
	for (size_t i = 0; i < ctx->nfw; i++) {
		if (ctx->fw[i] == fw) {
			memmove(&ctx->fw[i], &ctx->fw[i + 1], (ctx->nfw - i - 1) * sizeof(ctx->fw[0]));
			ctx->nfw--;
			return;
		}
	}
}

void sc_shutdown(struct sc_ctx *ctx, const char *why)
{
	if (ctx->stopping)
		return;
	ctx->stopping = true;
	sc_log("stopping: %s", why);
	sc_event(ctx, PS_EV_STOPPED, NULL, NULL, "%s", why);
	if (ctx->stop)
		ctx->stop(ctx);
	sc_log_flush(true);
}

void sc_forward_closed(uv_handle_t *h)
{
	struct sc_forward *fw = h->data;

	if (fw->cfg.fd >= 0)
		close(fw->cfg.fd);
	fw->cfg.fd = -1;
	fw->poll_open = false;
	sc_forward_release(fw);
}
