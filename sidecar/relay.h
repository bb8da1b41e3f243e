/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_SIDECAR_RELAY_H
#define PORTSIDE_SIDECAR_RELAY_H

/* relay.c: one direction of a TCP connection, source socket to destination
 * socket, and the pipes the sidecar's directions share. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_COPY_MAX	  (16 * 1024) /* a read this big makes a flow bulk */
#define SC_IDLE_PIPES_MAX 64	      /* pipes kept for reuse */
/* A bulk flow's pipe: 1 MiB, what fs.pipe-max-size lets a process without
 * CAP_SYS_RESOURCE have by default (and what pasta ends up with), or
 * halved down to SC_BULK_PIPE_MIN where that sysctl is lower: a wake-up
 * moves a whole socket buffer. With tcp.c's no spin after bulk work, against
 * 256 KiB and spinning (tests/bench/bulk.sh, one stream): 0.46 to 0.33
 * sidecar CPU-s a GB, the same Gbit/s within 2%. */
#define SC_BULK_PIPE_SIZE (1024 * 1024)
#define SC_BULK_PIPE_MIN  (128 * 1024)
/* Grown pipes at once. Each pins at most its size of socket pages while
 * full: 8 MiB a sidecar at most, well inside the per-user pipe quota
 * (fs.pipe-user-pages-soft, 64 MiB; each sidecar has a uid of its own). */
#define SC_BULK_PIPES_MAX   8
#define SC_LEFT_TOTAL_MAX   (4 * 1024 * 1024) /* unsent copied bytes, every direction together */
#define SC_ROUNDS_PER_EVENT 16		      /* bound the work of one event: fairness */

struct sc_pipe {
	int fd[2]; /* -1: none */
	unsigned cap;
};

/* What every direction of a sidecar shares. Zeroed is empty. */
struct sc_relays {
	struct sc_pipe idle[SC_IDLE_PIPES_MAX];
	size_t nidle;
	unsigned grown;	   /* grown pipes in existence */
	size_t left_total; /* bytes in every direction's left buffer */
	uint64_t spliced;  /* bytes sent through pipes, ever (tcp.c: no spinning after bulk work) */
	char buf[SC_COPY_MAX];
};

/* One direction. sc_half_init before use. */
struct sc_half {
	struct sc_pipe pipe; /* held only while bytes sit in it */
	size_t queued;	     /* bytes in the pipe */
	char *left;	     /* read, not yet written (copy), or NULL */
	size_t left_off, left_len;
	bool bulk; /* reads fill the buffer: splice */
	bool eof;  /* the source said EOF */
	bool shut; /* shutdown(SHUT_WR) sent to the destination */
};

void sc_half_init(struct sc_half *h);

/* Bytes read but not yet sent: the direction waits for its destination. */
bool sc_half_pending(const struct sc_half *h);

/* Queues BUF[0..N) to go first (a PROXY header). 0 or -ENOMEM. */
int sc_half_hold(struct sc_relays *r, struct sc_half *h, const void *buf, size_t n);

/* Moves what it can from SRC to DST, adding what was sent to *COUNTER; EOF
 * becomes shutdown(DST, SHUT_WR) once drained. 0, or -errno of a socket. */
int sc_half_pump(struct sc_relays *r, struct sc_half *h, int src, int dst, uint64_t *counter);

/* Releases what H holds (its pipe is closed: it may hold bytes). */
void sc_half_free(struct sc_relays *r, struct sc_half *h);

/* Closes the idle pipes. */
void sc_relays_free(struct sc_relays *r);

#endif
