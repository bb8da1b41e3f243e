/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_SIDECAR_H
#define PORTSIDE_SIDECAR_H

/* portside-sidecar: forwards a container's host-side listeners to its
 * internal ports. One process per network namespace, one libuv loop. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "../lib/events.h"
#include "../lib/forwards.h"
#include "../lib/reply.h"

struct sc_ctx;
struct sc_conn;
struct sc_udp;
struct sc_sockpool;
struct sc_tcp;

/* Where FW's connections go, decided once and kept (target.c). */
struct sc_target_cache {
	bool valid;
	uint64_t at; /* uv_now() when decided */
	struct sockaddr_storage ss;
	socklen_t len;
};

/* One host-side listener. */
struct sc_forward {
	struct ps_forward cfg;
	struct sc_ctx *ctx;
	uv_poll_t poll;
	bool poll_open; /* POLL initialised and its close callback not yet run */
	bool polling;
	struct sc_target_cache target;
	/* Made by automatic forwarding (autoforward.c) because the app opened
	 * the port: it goes away when the app closes it. Not the record's
	 * auto_assigned, which says only that the host port was handed out
	 * from autoforwardPorts (a recorded mapping stays whatever the app
	 * does). A pin (a live expose of the same mapping) clears it. */
	bool automatic;
	/* Out of ctx->fw, its listener closed, while its connections drain
	 * (sc_forward_unserve); on ctx->draining, freed once the last one
	 * ended and its poll handle closed (sc_forward_release). */
	bool draining;
	struct sc_forward *next_draining;
	/* counters, for portsidectl */
	uint64_t conns_total, bytes_in, bytes_out;
	uint64_t refused[PS_REFUSED_N]; /* sc_count_refused */
	unsigned conns_live;
	/* Client addresses lately refused as not in cfg.allow, for doctor
	 * (allow.c): most recent first, at most PS_NOT_ALLOWED_MAX. */
	struct sc_not_allowed {
		struct oci_ip ip;
		uint64_t count;
		uint64_t since, last; /* uv_now() of the window's first and of the last refusal */
	} not_allowed[PS_NOT_ALLOWED_MAX];
	size_t n_not_allowed;
};

struct sc_ctx {
	uv_loop_t *loop;
	char id[OCI_ID_MAX_LEN + 1];
	struct ps_forwards *rec;
	struct sc_forward **fw; /* explicit ones first, then automatic ones */
	size_t nfw;
	struct sc_forward *draining; /* unserved, their connections still open */
	int listen_factory_fd;	     /* the host listener factory (listenfactory.c), -1: none */

	int ctl_fd; /* control socket, listening */
	uv_poll_t ctl_poll;
	uv_signal_t sig_term, sig_int;
	uv_timer_t log_timer;	 /* writes the log's summaries */
	uv_timer_t resume_timer; /* accepting again after EMFILE */
	bool resume_armed;

	int diag_fd;		  /* NETLINK_SOCK_DIAG, in the container's netns */
	int route_fd;		  /* NETLINK_ROUTE, in the container's netns */
	int factory_fd;		  /* the socket factory, see factory.c */
	struct sc_sockpool *pool; /* its sockets, made ahead (sockpool.c) */
	struct sc_tcp *tcp;	  /* the TCP data path's state (tcp.c) */
	struct {
		uint64_t at;
		bool valid, found;
		struct oci_ip ip;
	} own[2]; /* the container's own IPv4 and IPv6 address, see target.c */

	unsigned conns_live, max_conns; /* TCP connections (UDP flows: udp.c's own) */
	unsigned max_udp_flows, udp_per_source;
	uint64_t udp_idle_ms;
	struct sc_udp *udp;		  /* UDP state, see udp.c */
	struct sc_conn *conns;		  /* every live connection, for shutdown */
	struct sc_events *events;	  /* events.c */
	struct sc_auto *autoforward;	  /* autoforward.c */
	struct sc_watch *watched;	  /* watch.c: the containers served */
	struct ctl_client *ctl_clients;	  /* control.c: requests being answered */
	void (*stop)(struct sc_ctx *ctx); /* what sc_shutdown stops (main.c) */
	bool stopping;
};

/* log.c: one line to the log (fd 2), "TIME ID12 MSG". */
void sc_log_init(const char *id);
void sc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copies the SIZE bytes of FD (O_APPEND) into OLD_FD and empties FD: a
 * rotation that needs no rename in a directory the sidecar cannot write. */
int sc_rotate_copy(int fd, int old_fd, off_t size);

/* events.c: the events file (lib/events.h), opened before confinement. */
struct sc_events;
int sc_events_open(struct sc_ctx *ctx);
/* Appends an event of KIND about W (NULL: none; W->host_ip family 0: a port
 * not forwarded, W->local_port only), with REASON (a code, may be NULL) and
 * a message; at most EV_PER_WINDOW a window, the rest counted. */
void sc_event(struct sc_ctx *ctx, enum ps_event_kind kind, const struct ps_forward *w, const char *reason,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void sc_events_close(struct sc_ctx *ctx);

/* The log rotates into OLD_FD (PS_SIDECAR_LOG_OLD, opened read-write) from now on. */
void sc_log_rotate_to(int old_fd);

/* What others can make happen at will, rate-limited: "VERB a NOUN to host
 * port PORT: WHY" the first time in a window, then counted and summarised
 * ("refused 120 more connections to host port 80 in the last 10 s: WHY"). */
void sc_log_refused(const char *verb, const char *noun, unsigned port, const char *why);

/* Counts a client FW closed at once, for WHY (status, portsidectl metrics). */
static inline void sc_count_refused(struct sc_forward *fw, enum ps_refused why)
{
	if ((unsigned)why < PS_REFUSED_N)
		fw->refused[why]++;
}

/* allow.c: true when the client at SS may reach FW (its allow list, n 0:
 * everyone). Otherwise the refusal is counted (PS_REFUSED_NOT_ALLOWED),
 * summarised in the log as "refused a NOUN", and the address kept for
 * doctor; the caller then closes the client (or drops the datagram). SS is
 * always the socket's own peer: never what a PROXY header would say. */
bool sc_allow_client(struct sc_forward *fw, const struct sockaddr_storage *ss, const char *noun);

/* The table of FW's refused addresses as the status reply carries it. */
void sc_allow_status(const struct sc_forward *fw, struct ps_fwd_status *out);

/* Any other line the container can repeat at will, rate-limited the same way
 * by its text. */
void sc_log_limited(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes the summaries of windows that ended (ALL: of every window). */
void sc_log_flush(bool all);

/* confine.c: the uid (and gid) to drop to, leased by the hook (lib/uids.h):
 * -EINVAL for root, nobody or one outside the reserved range. Set before
 * sc_confine, which refuses to run without it. */
int sc_confine_as(uid_t uid);

/* confine.c: drop to that uid, verify, no-new-privs, no capability at
 * all, verify, seccomp (no new socket of any family: the factories make
 * them). Returns 0 or -errno; *WHAT names the step that failed.
 * sc_drop_privileges is all of it but seccomp, keeping CAP_NET_BIND_SERVICE
 * when KEEP_BIND (the listener factory's, for a hand-out port below 1024). */
int sc_confine(const char **what);
int sc_drop_privileges(bool keep_bind, const char **what);

/* Loads a seccomp filter that allows SYSCALLS, socket() of FAMILIES only,
 * kill/tgkill of the calling process only, and with FD_CONTROL fcntl and
 * ioctl of the few commands confine.c lists (none that makes the kernel
 * signal another process); anything else fails with EPERM. SYSCALLS must not
 * name fcntl or ioctl: allowed whole, they would void the commands' rules.
 * The program is the one compiled at build time when these are the lists of
 * one of the filters bpf.h holds; any other libseccomp builds now. */
int sc_seccomp_load(const int *syscalls, size_t n, const int *families, size_t nfamilies, bool fd_control);

/* A factory of the sidecar (factory.c's thread, listenfactory.c's forked
 * process) confines itself: the sidecar's uid (CAP_NET_BIND_SERVICE alone
 * with KEEP_BIND), no new privileges, a process killed with PARENT (gone
 * already: -ESRCH; 0 for a thread, which ends with its process), and a
 * seccomp filter of what every factory needs (its socketpair, memory,
 * exiting) plus the NEXTRA calls EXTRA, socket() of FAMILIES only. *WHAT
 * names the step that failed. */
int sc_confine_helper(bool keep_bind, pid_t parent, const int *extra, size_t nextra, const int *families,
		      size_t nfamilies, const char **what);

/* Each file's list of the system calls it needs once confined, next to the
 * code that makes them, ended by SC_SYS_END; confine.c allows their union. */
#define SC_SYS_END (-1)
extern const int sc_sys_core[];
extern const int sc_sys_tcp[];
extern const int sc_sys_relay[];
extern const int sc_sys_udp[];
extern const int sc_sys_listen_factory[];
extern const int sc_sys_log[];

/* factory.c: starts the socket factory, a thread, in the netns NSFD (see
 * factory.c); NSFD stays the caller's. */
int sc_factory_start(struct sc_ctx *ctx, int nsfd);

/* sockpool.c: the container's sockets, made ahead in batches. Init before
 * the first sc_netns_socket; start once the loop runs; stop closes what is
 * pooled; free after the loop ends. */
#define SC_POOL_KINDS 4 /* TCP and UDP, of IPv4 and IPv6 */
int sc_pool_init(struct sc_ctx *ctx);
int sc_pool_start(struct sc_ctx *ctx);
void sc_pool_stop(struct sc_ctx *ctx);
void sc_pool_free(struct sc_ctx *ctx);

/* A new socket (non-blocking if TYPE says so) in the container's netns, or
 * -errno: one round trip to the factory, for the few made at start. */
int sc_netns_socket(struct sc_ctx *ctx, int family, int type, int protocol);

/* A non-blocking TCP or UDP socket (TYPE: SOCK_STREAM or SOCK_DGRAM) in the
 * container's netns, from the pool, or -errno. */
int sc_netns_take(struct sc_ctx *ctx, int family, int type);

/* A listening TCP socket (or bound UDP one) in the container's netns. */
/* target.c: where a connection for FW goes, inside the container's netns.
 * Fills SS/LEN, or returns -ECONNREFUSED (nothing listens, or the listeners
 * could not be asked) or SC_TARGET_LOCALHOST_ONLY (the app listens on
 * loopback only, without exposeLocalhost) with the reason in WHY. The answer
 * is kept for SC_TARGET_TTL_MS (and refreshed by the autoforward watch);
 * *CACHED says whether it came from there. */
#define SC_TARGET_TTL_MS	 1000
#define SC_TARGET_LOCALHOST_ONLY (-EADDRNOTAVAIL)
int sc_target(struct sc_ctx *ctx, struct sc_forward *fw, struct sockaddr_storage *ss, socklen_t *len, bool *cached,
	      char *why, size_t whylen);

/* A dial to FW's kept target was refused: ask afresh next time. */
void sc_target_forget(struct sc_forward *fw);

/* Decides again, from the N listeners L of every TCP port (a whole dump),
 * the target of every TCP forward. */
void sc_target_refresh(struct sc_ctx *ctx, const struct ps_listener *l, size_t n);

/* The container's own address of FAMILY, or NULL when it has none. */
typedef const struct oci_ip *(*sc_own_fn)(void *arg, int family);

/* The decision alone: given the N sockets L bound to PORT/PROTO, the address
 * to dial in *PICK, or sc_target's refusals with the reason in WHY. OWN_ADDRESS(ARG,
 * FAMILY) is asked only when the app listens on every address. */
int sc_target_choose(const struct ps_listener *l, size_t n, unsigned port, unsigned proto, bool expose_localhost,
		     sc_own_fn own_address, void *arg, struct oci_ip *pick, char *why, size_t whylen);

/* diag.c: the container's listeners (TCP) or bound sockets (UDP) of PROTO on
 * PORT (0: all), at most MAX, into OUT. */
int sc_listeners(struct sc_ctx *ctx, unsigned proto, unsigned port, struct ps_listener *out, size_t max, size_t *n);

/* The container's first address of FAMILY that is neither loopback nor
 * link-local, into *OUT; false when it has none. */
bool sc_own_address(struct sc_ctx *ctx, int family, struct oci_ip *out);

/* proxy.c: the PROXY v2 header of a TCP connection from SRC to DST (the
 * address the client reached) into H (room for SC_PROXY_MAX bytes). Returns
 * its length, 0 when the families differ or are not IP. */
#define SC_PROXY_MAX 52
size_t sc_proxy_header(const struct sockaddr_storage *src, const struct sockaddr_storage *dst, unsigned char *h);

/* tcp.c: starts accepting on every TCP forward. */
int sc_tcp_start(struct sc_ctx *ctx);

/* Closes every listener and connection (the loop then ends). */
void sc_tcp_stop(struct sc_ctx *ctx);

/* Starts accepting on FW's listener (a forward added while running). */
int sc_tcp_watch(struct sc_forward *fw);

/* Closes every connection of FW now (sc_forward_unserve's, for TCP). */
void sc_tcp_close_conns(struct sc_forward *fw);

/* unserve.c: FW is served no more: out of ctx->fw, its poll handle closed
 * and its listener closed before this returns (the host port is free for
 * anyone at once), its TCP connections left to end on their own unless
 * CLOSE_CONNS (then closed now); a UDP forward's flows end with it (their
 * replies would leave through its socket). FW is on ctx->draining from
 * then on, and freed once nothing points at it (its last connection ended
 * and its handle's close callback ran): possibly before this returns, so
 * the caller must not touch FW afterwards. Called again for a draining FW,
 * it only closes what CLOSE_CONNS says. */
void sc_forward_unserve(struct sc_forward *fw, bool close_conns);
/* Frees FW if it is draining and nothing points at it any more: called
 * when one of its connections ends and when its handle has closed. */
void sc_forward_release(struct sc_forward *fw);
/* After the loop ended: frees whatever is still draining. */
void sc_draining_free(struct sc_ctx *ctx);

/* listenfactory.c: the host listener factory, forked before confinement
 * when REC's policy allows automatic forwarding at all (autoforwardPorts and
 * maxAutoforwards > 0), whatever its mode now, so that a live switch to
 * public or all works: the one process that may bind host sockets (with
 * CAP_NET_BIND_SERVICE when a hand-out port is below 1024), and only a port
 * of REC's autoforwardPorts on REC's bind addresses. The sidecar itself then
 * creates no IPv4/IPv6 socket in the host's namespace. */
bool sc_listen_factory_wanted(const struct ps_forwards *rec);
int sc_listen_factory_start(struct sc_ctx *ctx);
/* Listeners on PORT/tcp at every bind address of the record, all or nothing,
 * as ps_listen_all does (FDS: one per bind address, -1 where IPv6 is
 * missing): 0 or -errno (-EADDRINUSE: in use; -EPERM: no factory, or PORT
 * is not a hand-out port). */
int sc_host_listen(struct sc_ctx *ctx, unsigned port, int *fds);

/* autoforward.c: watches the container's listeners and forwards new ones,
 * through the listener factory: start does nothing without one (the policy
 * allows no automatic forwarding), and runs the watch unless the mode is
 * "never" now. */
int sc_autoforward_start(struct sc_ctx *ctx);
/* Bind attempts since start, and the app's ports waiting for a host port. */
void sc_autoforward_counts(const struct sc_ctx *ctx, uint64_t *binds, uint64_t *waiting);
void sc_autoforward_stop(struct sc_ctx *ctx);
/* The mode from now on (ctx->rec->autoforward too). NEVER stops the watch
 * and unserves every automatic forward (their connections keep flowing;
 * an event "autoforward-never" each), and always succeeds; PUBLIC or ALL
 * start the watch if it was off, and PUBLIC after ALL unserves the
 * automatic forwards of localhost-only ports ("autoforward-public").
 * Recorded mappings stay, handed-out ports (auto_assigned) too. -EPERM with
 * WHY (LEN bytes, one line) when this sidecar cannot forward automatically
 * (no listener factory: the policy's autoforwardPorts are empty or its
 * maxAutoforwards is 0); -EINVAL for another MODE. */
int sc_autoforward_set(struct sc_ctx *ctx, enum oci_autoforward mode, char *why, size_t len);

/* udp.c: starts serving every UDP forward; stop closes its flows. */
int sc_udp_start(struct sc_ctx *ctx);
void sc_udp_stop(struct sc_ctx *ctx);
/* Starts serving FW's socket (a UDP forward added while running). */
int sc_udp_watch(struct sc_forward *fw);
/* Ends every flow of FW now (sc_forward_unserve's, for UDP). */
void sc_udp_close_flows(struct sc_forward *fw);

/* reply.c: the reply to STATUS (lib/reply.h), a new newline-terminated
 * string; NULL when out of memory. */
char *sc_reply_status(const struct sc_ctx *ctx);

/* apply.c: serves the table in BODY (an APPLY request, head H) from now on,
 * with the N listeners FDS it names (each closed, or the sidecar's, after).
 * 0; 1 when it applied all but a listener it could not serve (WHY says
 * which); or -errno with why in WHY (LEN bytes), the sidecar unchanged. */
struct ps_apply_head;
int sc_apply(struct sc_ctx *ctx, const struct ps_apply_head *h, const char *body, int *fds, size_t n, char *why,
	     size_t len);

/* control.c: serves the control socket; stop closes it and its clients. */
int sc_control_start(struct sc_ctx *ctx);
void sc_control_stop(struct sc_ctx *ctx);

/* core.c: adds a forward for CFG (its listener in CFG->fd) to CTX; NULL when out of
 * memory. Remove takes it out of CTX->fw; the caller frees it once its
 * handles are closed. */
struct sc_forward *sc_forward_add(struct sc_ctx *ctx, const struct ps_forward *cfg);
void sc_forward_remove(struct sc_ctx *ctx, struct sc_forward *fw);
/* core.c: the close callback of a forward's poll handle (its data the
 * forward): the listener closes once the handle is (unless closed already),
 * and a draining forward may go (sc_forward_release). */
void sc_forward_closed(uv_handle_t *h);

/* watch.c: the containers served, each by a pidfd of its init (ownership of
 * PIDFD passes). The sidecar stops when none is left. Release: ID's poststop
 * ran. Remaining: how many still run. */
int sc_watch_add(struct sc_ctx *ctx, const char *id, int pidfd);
int sc_watch_release(struct sc_ctx *ctx, const char *id);
unsigned sc_watch_remaining(const struct sc_ctx *ctx);
bool sc_watch_running(const struct sc_ctx *ctx, const char *id);
void sc_watch_stop(struct sc_ctx *ctx);
void sc_watch_free(struct sc_ctx *ctx);

/* core.c: stops everything (ctx->stop); the loop ends once handles are closed. */
void sc_shutdown(struct sc_ctx *ctx, const char *why);

#endif
