/* SPDX-License-Identifier: MIT */
/* portsidectl events [--json] [ID]: what happens from now on, one line an
 * event, for a UI to follow instead of polling ls. It follows every
 * container's events file (written by its sidecar, lib/events.h) and the
 * hook's refusal log, and says "stopped" for a container whose sidecar died
 * without saying so or whose state went away. Files are polled: a few stat
 * calls every EV_POLL_MS, whatever the number of events. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/events.h"
#include "../lib/refusal.h"
#include "../lib/rundir.h"
#include "../base/cleanup.h"
#include "../oci/ports.h"
#include "ctl.h"

#define EV_POLL_MS	100
#define EV_ALIVE_EVERY	10 /* polls between checks that sidecars live */
#define EV_MAX_FOLLOWED 4096
#define EV_READ_MAX	(64 * 1024) /* bytes read of one file in one poll */

struct followed {
	char id[OCI_ID_MAX_LEN + 1];
	off_t off;
	bool present; /* seen in this poll's listing */
	bool stopped; /* its "stopped" was printed */
};

static volatile sig_atomic_t done;

static void on_signal(int sig)
{
	(void)sig;
	done = 1;
}

static void print_event(const struct ps_event *raw, bool json)
{
	/* The reason and the message come from a sidecar's events file and
	 * the refusal log: control characters never reach a terminal. */
	struct ps_event clean = *raw, *ev = &clean;

	oci_sanitize(raw->reason, clean.reason, sizeof(clean.reason));
	oci_sanitize(raw->message, clean.message, sizeof(clean.message));
	if (json) {
		char line[PS_EVENT_LINE_MAX];

		if (ps_event_encode(ev, line, sizeof(line)) > 0)
			fputs(line, stdout);
	} else {
		char sid[CTL_SHORT_ID_LEN];

		printf("%s %s %s", ev->time, ctl_short_id(ev->id, sid, sizeof(sid)), ps_event_name(ev->kind));
		if (ev->has_port) {
			if (ev->host_ip.family) {
				char a[OCI_IP_LEN + 8];

				ctl_format_addr(&ev->host_ip, ev->external_port, a, sizeof(a));
				printf(" %s ->", a);
			}
			printf(" %u/%s", ev->local_port, oci_proto_name(ev->proto));
		}
		if (ev->reason[0])
			printf(" (%s)", ev->reason);
		if (ev->message[0])
			printf(": %s", ev->message);
		putchar('\n');
	}
	fflush(stdout);
}

/* Calls EACH with every whole line of PATH past *OFF (from 0 again when the
 * file shrank: it rotated), and moves *OFF past them. */
static void read_new(const char *path, off_t *off, void (*each)(const char *line, size_t len, void *arg), void *arg)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	static char buf[EV_READ_MAX + 1];
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	if (st.st_size < *off)
		*off = 0;
	if (st.st_size == *off || (n = pread(fd, buf, EV_READ_MAX, *off)) <= 0)
		return;
	size_t used = 0;
	for (size_t i = 0; i < (size_t)n; i++) {
		if (buf[i] != '\n')
			continue;
		each(buf + used, i - used, arg);
		used = i + 1;
	}
	/* A line longer than a whole read is nobody's event: skip it. */
	if (used == 0 && n == EV_READ_MAX)
		used = (size_t)n;
	*off += (off_t)used;
}

struct sink {
	const char *only; /* an id, or NULL: all */
	bool json;
	struct followed *f; /* the container the file is of (NULL: the refusal log) */
};

static void on_event_line(const char *line, size_t len, void *arg)
{
	struct sink *s = arg;
	struct ps_event ev;

	/* The sidecar writes for its own id only: a line naming another is
	 * not believed. */
	if (ps_event_decode(line, len, &ev) < 0 || strcmp(ev.id, s->f->id))
		return;
	if (ev.kind == PS_EV_STOPPED)
		s->f->stopped = true;
	print_event(&ev, s->json);
}

static void on_refusal_line(const char *line, size_t len, void *arg)
{
	struct sink *s = arg;
	struct ps_refusal r;
	struct ps_event ev;

	if (ps_refusal_decode(line, len, &r) < 0 || !ps_event_time_valid(r.time) || (s->only && strcmp(r.id, s->only)))
		return;
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.time, sizeof(ev.time), "%s", r.time);
	snprintf(ev.id, sizeof(ev.id), "%s", r.id);
	ev.kind = PS_EV_REFUSED;
	snprintf(ev.reason, sizeof(ev.reason), "%s", ps_reason_name(r.reason));
	snprintf(ev.message, sizeof(ev.message), "the container's start was refused: %s", r.message);
	print_event(&ev, s->json);
}

static void say_stopped(struct followed *f, bool json, const char *why)
{
	struct ps_event ev;

	memset(&ev, 0, sizeof(ev));
	ps_event_time(ev.time, sizeof(ev.time));
	snprintf(ev.id, sizeof(ev.id), "%s", f->id);
	ev.kind = PS_EV_STOPPED;
	snprintf(ev.message, sizeof(ev.message), "%s", why);
	print_event(&ev, json);
	f->stopped = true;
}

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

int ctl_events(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	static struct followed fl[EV_MAX_FOLLOWED];
	char only[OCI_ID_MAX_LEN + 1] = "", path[4096], hooklog[4096];
	struct sink sink = {NULL, false, NULL};
	size_t nf = 0;
	off_t hook_off;
	unsigned poll_no = 0;
	bool first = true;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return CTL_EXIT_USAGE;
		sink.json = true;
	}
	if (argc - optind > 1) {
		ctl_warn("usage: portsidectl events [--json] [ID]");
		return CTL_EXIT_USAGE;
	}
	if (argc - optind == 1) {
		char owner[sizeof(only)];

		if ((rc = ctl_resolve(argv[optind], only, sizeof(only))) != CTL_EXIT_OK)
			return rc;
		/* A pod's container that joined another's sidecar: that
		 * sidecar's events are its own (they share its ports). */
		ps_owner(only, owner, sizeof(owner));
		if (owner[0])
			memcpy(only, owner, sizeof(only));
		sink.only = only;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_DFL); /* the reader left: so do we */
	ps_refusal_log_path(hooklog, sizeof(hooklog));
	hook_off = size_of(hooklog);

	while (!done) {
		char **ids = NULL;
		size_t n = 0;

		for (size_t i = 0; i < nf; i++)
			fl[i].present = false;
		if (ctl_ids(&ids, &n) < 0)
			n = 0;
		for (size_t i = 0; i < n; i++) {
			struct followed *f = NULL;

			if (sink.only && strcmp(ids[i], sink.only))
				continue;
			for (size_t k = 0; k < nf && !f; k++)
				if (!strcmp(fl[k].id, ids[i]))
					f = &fl[k];
			if (!f && nf < EV_MAX_FOLLOWED) {
				f = &fl[nf++];
				memset(f, 0, sizeof(*f));
				snprintf(f->id, sizeof(f->id), "%s", ids[i]);
				/* There before we started: only what comes next. */
				if (first && ps_file(path, sizeof(path), f->id, PS_EVENTS) == 0)
					f->off = size_of(path);
			}
			if (!f)
				continue;
			f->present = true;
			sink.f = f;
			if (ps_file(path, sizeof(path), f->id, PS_EVENTS) == 0)
				read_new(path, &f->off, on_event_line, &sink);
			/* Killed without a word: the state is still there. */
			if (!f->stopped && poll_no % EV_ALIVE_EVERY == EV_ALIVE_EVERY - 1 &&
			    ps_file(path, sizeof(path), f->id, PS_SIDECAR_PID) == 0 && size_of(path) > 0) {
				char owner[256];

				ps_owner(f->id, owner, sizeof(owner));
				if (!owner[0] && !ps_sidecar_alive(f->id, NULL))
					say_stopped(f, sink.json, "the sidecar is not running (killed, or it failed)");
			}
		}
		ctl_ids_free(ids, n);
		/* Gone: the container stopped and its poststop removed the state. */
		for (size_t i = 0; i < nf;) {
			if (fl[i].present) {
				i++;
				continue;
			}
			if (!fl[i].stopped)
				say_stopped(&fl[i], sink.json, "the container stopped");
			fl[i] = fl[--nf];
		}
		sink.f = NULL;
		read_new(hooklog, &hook_off, on_refusal_line, &sink);
		first = false;
		poll_no++;
		usleep(EV_POLL_MS * 1000);
	}
	return CTL_EXIT_OK;
}
