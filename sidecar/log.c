/* SPDX-License-Identifier: MIT */
/* The sidecar's log: fd 2, the PS_SIDECAR_LOG file of its container (lib/rundir.h).
 *
 * Bounded whatever anyone sends: anyone who reaches a host port can make
 * the sidecar refuse connections and drop datagrams, and the app can open and
 * close ports in a loop. So
 *  - lines that others trigger go through sc_log_refused / sc_log_limited:
 *    the first of a kind in a window of LOG_WINDOW_MS is written, the rest
 *    counted and summarised in one line when the window ends ("refused 19873
 *    more connections to host port 18602 in the last 10 s: ...");
 *  - past LOG_ROTATE_BYTES the log is copied to the rotated file (PS_SIDECAR_LOG_OLD) and emptied
 *    (copy and truncate: the sidecar cannot rename in its root-owned state
 *    directory once it runs as nobody), so the two never hold more than
 *    2 x LOG_ROTATE_BYTES = 1 MiB. /run is a tmpfs every runtime needs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <seccomp.h>

#include "sidecar.h"
#include "../lib/clock.h"

/* The system calls this file needs once the sidecar is confined: rotation on descriptors opened before confinement
 * (log.c, events.c). confine.c allows the union of every file's list. */
const int sc_sys_log[] = {
	SCMP_SYS(copy_file_range),
	SCMP_SYS(ftruncate),
	SC_SYS_END,
};

#define LOG_WINDOW_MS	 10000
#define LOG_KINDS	 64 /* kinds summarised at once; the oldest gives way */
#define LOG_ROTATE_BYTES (512 * 1024)

struct kind {
	uint64_t key;
	uint64_t since; /* start of the window, ms */
	unsigned long more;
	char verb[16], noun[24], what[200];
	unsigned port;
	bool used;
};

/* The one piece of process-wide state the sidecar keeps: the log is its
 * stderr, written from before a context exists (main's fail) to after it is
 * gone, like stderr itself. */
static struct {
	char short_id[13];
	int old_fd; /* the rotated log, or -1: no rotation */
	off_t size;
	struct kind kinds[LOG_KINDS];
} lg = {.old_fd = -1};

void sc_log_init(const char *id)
{
	snprintf(lg.short_id, sizeof(lg.short_id), "%s", id);
}

void sc_log_rotate_to(int old_fd)
{
	struct stat st;

	lg.old_fd = old_fd;
	lg.size = fstat(STDERR_FILENO, &st) == 0 ? st.st_size : 0;
}

int sc_rotate_copy(int fd, int old_fd, off_t size)
{
	loff_t in = 0, out = 0;
	ssize_t n = 1;

	if (ftruncate(old_fd, 0) < 0)
		return -errno;
	while (n > 0 && in < size)
		n = copy_file_range(fd, &in, old_fd, &out, (size_t)(size - in), 0);
	/* O_APPEND: the next line goes to the start of the emptied file. */
	return ftruncate(fd, 0) < 0 ? -errno : 0;
}

static void rotate(void)
{
	if (sc_rotate_copy(STDERR_FILENO, lg.old_fd, lg.size) == 0)
		lg.size = 0;
}

static void write_line(const char *fmt, va_list ap)
{
	char line[512];
	struct timespec ts;
	struct tm tm;
	int n;

	/* UTC: localtime would open /etc/localtime, which seccomp forbids. */
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ", tm.tm_year + 1900, tm.tm_mon + 1,
		     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, lg.short_id);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (lg.old_fd >= 0 && lg.size + n > LOG_ROTATE_BYTES)
		rotate();
	/* One write per line: lines from one process never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) == n)
		lg.size += n;
}

void sc_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_line(fmt, ap);
	va_end(ap);
}

static void summarise(struct kind *k, uint64_t now)
{
	unsigned secs = (unsigned)((now - k->since + 999) / 1000);

	if (!k->more)
		return;
	if (k->noun[0])
		sc_log("%s %lu more %ss to host port %u in the last %u s: %s", k->verb, k->more, k->noun, k->port, secs,
		       k->what);
	else
		sc_log("%lu more like this in the last %u s: %s", k->more, secs, k->what);
	k->more = 0;
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (h ^ 0xff) * 1099511628211ull;
}

/* True when this occurrence is to be written; else it was counted. */
static bool admit(const char *verb, const char *noun, unsigned port, const char *what)
{
	uint64_t now = ps_now_ms(), key = fnv(fnv(fnv(1469598103934665603ull ^ port, verb), noun), what);
	struct kind *k = NULL, *oldest = &lg.kinds[0];

	for (size_t i = 0; i < LOG_KINDS && !k; i++) {
		if (lg.kinds[i].used && lg.kinds[i].key == key)
			k = &lg.kinds[i];
		else if (!lg.kinds[i].used || (oldest->used && lg.kinds[i].since < oldest->since))
			oldest = &lg.kinds[i];
	}
	if (k && now - k->since < LOG_WINDOW_MS) {
		k->more++;
		return false;
	}
	if (k) {
		summarise(k, now);
	} else {
		k = oldest;
		if (k->used)
			summarise(k, now);
		k->key = key;
		k->used = true;
		snprintf(k->verb, sizeof(k->verb), "%s", verb);
		snprintf(k->noun, sizeof(k->noun), "%s", noun);
		snprintf(k->what, sizeof(k->what), "%s", what);
		k->port = port;
	}
	k->since = now;
	k->more = 0;
	return true;
}

void sc_log_refused(const char *verb, const char *noun, unsigned port, const char *why)
{
	if (admit(verb, noun, port, why))
		sc_log("%s a %s to host port %u: %s", verb, noun, port, why);
}

void sc_log_limited(const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (admit("", "", 0, msg))
		sc_log("%s", msg);
}

void sc_log_flush(bool all)
{
	uint64_t now = ps_now_ms();

	for (size_t i = 0; i < LOG_KINDS; i++)
		if (lg.kinds[i].used && (all || now - lg.kinds[i].since >= LOG_WINDOW_MS))
			summarise(&lg.kinds[i], now);
}
