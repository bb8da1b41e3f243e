/* SPDX-License-Identifier: MIT */
/* portsidectl top [--no-stream] [ID]: a live view of every forwarded
 * mapping's connections/s, active connections, bytes/s each way and
 * refused clients/s, busiest first, redrawn once a second until q. The
 * counters come from the sidecars' status replies (as ls reads them); the
 * rates, order and frame from ctl/topframe.c. The terminal is put in raw
 * mode on the alternate screen and given back as it was on every way out:
 * q, Ctrl-C (read as a key: ISIG is off, so Ctrl-Z cannot stop it raw
 * either), SIGINT, SIGTERM, SIGHUP, the terminal gone, an error; after a
 * stop from outside and SIGCONT it is put back in raw mode. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../lib/clock.h"
#include "../lib/rundir.h"
#include "ctl.h"
#include "top.h"

#define TOP_PERIOD_MS 1000 /* a frame a second, never more */
/* A sidecar that takes longer is shown silent for this frame: a slow one
 * must not stall the view (and q) for long. */
#define TOP_ASK_MS 500
/* containerd asked for Kubernetes names when containers come and go. */
#define TOP_NAMES_MS 2000

struct sample {
	struct ctl_top_row *v;
	size_t n, cap;
	size_t containers;
};

static void sample_free(struct sample *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* The Kubernetes names of the ids seen last (ctl_cri_names), asked again
 * only when the ids change. */
struct names {
	char **ids;
	size_t n;
	char (*v)[OCI_KUBE_NAME_MAX];
};

static void names_free(struct names *nm)
{
	ctl_ids_free(nm->ids, nm->n);
	free(nm->v);
	memset(nm, 0, sizeof(*nm));
}

/* Takes over IDS (N of them). */
static void names_update(struct names *nm, char **ids, size_t n, int64_t deadline)
{
	bool same = nm->ids && n == nm->n;

	for (size_t i = 0; same && i < n; i++)
		same = !strcmp(ids[i], nm->ids[i]);
	if (same) {
		ctl_ids_free(ids, n);
		return;
	}
	names_free(nm);
	nm->ids = ids;
	nm->n = n;
	if ((nm->v = calloc(n ? n : 1, sizeof(*nm->v))))
		ctl_cri_names(ids, n, nm->v, deadline);
}

static struct ctl_top_row *row_add(struct sample *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct ctl_top_row *v;

		/* A bound on memory: past it, rows are left out. */
		if (s->cap >= CTL_TOP_MAX_ROWS)
			return NULL;
		if (cap > CTL_TOP_MAX_ROWS)
			cap = CTL_TOP_MAX_ROWS;
		if (!(v = realloc(s->v, cap * sizeof(*v))))
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	struct ctl_top_row *r = &s->v[s->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

/* One container's rows: its sidecar's counters, or when it does not
 * answer, the record's mappings without them. */
static void sample_container(struct sample *s, const char *id, const char *name)
{
	struct ps_forwards *f = NULL;
	struct ps_status st = {0};
	int state = CTL_TOP_RUNNING;
	int64_t t;

	if (ps_record_load(id, &f, NULL) < 0)
		return; /* being created, or not portside's */
	if (ps_sidecar_alive(id, NULL))
		state = ps_ask_status(id, &st, TOP_ASK_MS) == 0 ? CTL_TOP_RUNNING : CTL_TOP_SILENT;
	else
		state = ps_container_alive(id) ? CTL_TOP_DEAD : CTL_TOP_STOPPED;
	t = ps_now_ms();
	s->containers++;
	size_t n = state == CTL_TOP_RUNNING ? st.n : f->n;
	for (size_t i = 0; i < n; i++) {
		const struct ps_forward *w = state == CTL_TOP_RUNNING ? &st.v[i].map : &f->v[i];
		struct ctl_top_row *r = row_add(s);

		if (!r)
			break;
		snprintf(r->id, sizeof(r->id), "%s", id);
		ctl_short_id(id, r->shown, sizeof(r->shown));
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->host_ip = w->host_ip;
		r->external_port = w->external_port;
		r->local_port = w->local_port;
		r->proto = w->proto;
		r->state = state;
		r->t_ms = t;
		if (state != CTL_TOP_RUNNING)
			continue;
		const struct ps_fwd_status *c = &st.v[i];
		r->conns_total = c->conns_total;
		r->conns_live = c->conns_live;
		r->bytes_in = c->bytes_in;
		r->bytes_out = c->bytes_out;
		for (int k = 0; k < PS_REFUSED_N; k++)
			r->refused += c->refused[k];
	}
	ps_status_free(&st);
	ps_forwards_free(f);
}

/* Every forwarded container's rows (or ONLY's), into S, emptied first. A
 * container that joined another's sidecar is left out: its owner's rows
 * are its mappings too. */
static void sample_take(struct sample *s, const char *only, struct names *nm, int64_t names_deadline)
{
	char **ids = NULL;
	size_t n = 0;

	s->n = 0;
	s->containers = 0;
	if (ctl_ids(&ids, &n) < 0)
		return;
	names_update(nm, ids, n, names_deadline);
	for (size_t i = 0; i < nm->n; i++) {
		char owner[OCI_ID_MAX_LEN + 1];

		if (only && strcmp(nm->ids[i], only))
			continue;
		ps_owner(nm->ids[i], owner, sizeof(owner));
		if (owner[0])
			continue;
		sample_container(s, nm->ids[i], nm->v ? nm->v[i] : "");
	}
}

/* ---- the terminal ---- */

static struct termios saved_tio, raw_tio;
static bool term_raw;
static volatile sig_atomic_t quit_signal, continued;

static void on_quit(int sig)
{
	quit_signal = sig;
}

/* After a stop (kill -STOP, or -TSTP from outside: Ctrl-Z is only a key
 * here) the shell has set the terminal back to its own modes. */
static void on_cont(int sig)
{
	(void)sig;
	continued = 1;
}

/* A resize wakes the loop, and the next frame, within the second, takes
 * the new size: a resize never draws more than a frame a second. */
static void on_winch(int sig)
{
	(void)sig;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w, n -= (size_t)w;
	}
	return 0;
}

#define ESC_ENTER "\033[?1049h\033[?25l" /* the alternate screen; no cursor */
#define ESC_LEAVE "\033[?25h\033[?1049l"

/* Gives the terminal back as it was: every way out comes here (atexit
 * too), at most once. */
static void term_leave(void)
{
	if (!term_raw)
		return;
	term_raw = false;
	(void)write_all(STDOUT_FILENO, ESC_LEAVE, strlen(ESC_LEAVE));
	while (tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio) < 0 && errno == EINTR)
		;
}

static int term_enter(void)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return -errno;
	raw = saved_tio;
	/* Keys one at a time, unechoed; Ctrl-C and Ctrl-Z are keys too, so
	 * that no signal stops the process with the terminal left raw. */
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
	raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	raw_tio = raw;
	term_raw = true;
	atexit(term_leave);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0) {
		int err = errno;

		term_raw = false;
		return -err;
	}
	if (write_all(STDOUT_FILENO, ESC_ENTER, strlen(ESC_ENTER)) < 0)
		return -EIO;
	return 0;
}

static void term_size(unsigned *w, unsigned *h)
{
	struct winsize ws;

	*w = 80, *h = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row)
		*w = ws.ws_col, *h = ws.ws_row;
}

/* The frame over the screen from its top left: each line erased past its
 * end, everything below the last erased, no newline after the last (the
 * screen never scrolls). */
static int draw(const struct sample *s, const char *title)
{
	unsigned w, h;

	term_size(&w, &h);
	size_t len = (size_t)(w + 1) * h + 1;
	cleanup_free char *frame = malloc(len);
	cleanup_free char *out = malloc(len + (size_t)h * 8 + 16);
	size_t o = 0;

	if (!frame || !out)
		return -ENOMEM;
	ctl_top_format(s->v, s->n, title, w, h, frame, len);
	o += (size_t)sprintf(out + o, "\033[H");
	for (char *line = frame, *nl; *line; line = nl + 1) {
		if (!(nl = strchr(line, '\n')))
			break;
		memcpy(out + o, line, (size_t)(nl - line));
		o += (size_t)(nl - line);
		o += (size_t)sprintf(out + o, nl[1] ? "\033[K\r\n" : "\033[K");
	}
	o += (size_t)sprintf(out + o, "\033[J");
	return write_all(STDOUT_FILENO, out, o) < 0 ? -EIO : 0;
}

static void title_of(const struct sample *s, bool rated, char *buf, size_t len)
{
	double in = 0, out = 0;
	char tm[16] = "", a[16], b[16];
	time_t now = time(NULL);
	struct tm lt;

	for (size_t i = 0; i < s->n; i++)
		in += s->v[i].in_s, out += s->v[i].out_s;
	if (localtime_r(&now, &lt))
		strftime(tm, sizeof(tm), "%H:%M:%S", &lt);
	ctl_top_human(in, a, sizeof(a));
	ctl_top_human(out, b, sizeof(b));
	snprintf(buf, len, "portsidectl top  %s  %zu %s, %zu %s  in %s/s  out %s/s  (q quits)%s", tm, s->containers,
		 s->containers == 1 ? "container" : "containers", s->n, s->n == 1 ? "mapping" : "mappings", a, b,
		 rated ? "" : "  measuring...");
}

/* True when a key that quits came (or the terminal went away). */
static bool keys_quit(void)
{
	char k[64];
	ssize_t n = read(STDIN_FILENO, k, sizeof(k));

	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
		return true;
	for (ssize_t i = 0; i < n; i++)
		if (k[i] == 'q' || k[i] == 'Q' || k[i] == 3 /* Ctrl-C */ || k[i] == 4 /* Ctrl-D */)
			return true;
	return false;
}

static int live(const char *only)
{
	struct sample a = {0}, b = {0}, *prev = &a, *cur = &b;
	struct names nm = {0};
	struct sigaction sa = {0};
	char title[256];
	int rc = CTL_EXIT_OK, err;

	sa.sa_handler = on_quit; /* no SA_RESTART: poll wakes up */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = on_cont;
	sigaction(SIGCONT, &sa, NULL);
	if ((err = term_enter()) < 0) {
		term_leave();
		ctl_warn("top: cannot set up the terminal: %s", strerror(-err));
		return CTL_EXIT_INVALID;
	}
	/* What there is at once, rates from the next frame on. */
	sample_take(prev, only, &nm, ps_now_ms() + TOP_NAMES_MS);
	ctl_top_sort(prev->v, prev->n);
	title_of(prev, false, title, sizeof(title));
	int64_t next = ps_now_ms() + TOP_PERIOD_MS;
	if (draw(prev, title) < 0)
		quit_signal = -1;
	while (!quit_signal) {
		int64_t now = ps_now_ms();

		if (continued) {
			continued = 0;
			if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw_tio) < 0 ||
			    write_all(STDOUT_FILENO, ESC_ENTER, strlen(ESC_ENTER)) < 0)
				break;
		}
		if (now >= next) {
			struct sample *t;

			sample_take(cur, only, &nm, now + TOP_NAMES_MS);
			ctl_top_rates(cur->v, cur->n, prev->v, prev->n);
			ctl_top_sort(cur->v, cur->n);
			title_of(cur, true, title, sizeof(title));
			/* A resize waits for the next frame: a frame a second at most. */
			if (draw(cur, title) < 0)
				break;
			t = prev, prev = cur, cur = t;
			next += TOP_PERIOD_MS;
			if (next <= (now = ps_now_ms()))
				next = now + TOP_PERIOD_MS;
		}
		struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
		int r = poll(&p, 1, (int)(next - now));
		if (r < 0 && errno != EINTR) {
			rc = CTL_EXIT_INVALID;
			break;
		}
		if (r > 0 && ((p.revents & (POLLHUP | POLLERR | POLLNVAL)) || keys_quit()))
			break;
	}
	term_leave();
	sample_free(&a);
	sample_free(&b);
	names_free(&nm);
	return rc;
}

/* One frame, plain: two samples a second apart, every row, no cut. */
static int one_frame(const char *only)
{
	struct sample prev = {0}, cur = {0};
	struct names nm = {0};
	cleanup_free char *buf = NULL;
	int64_t until;
	size_t len;

	sample_take(&prev, only, &nm, ps_now_ms() + CTL_RESOLVE_MS);
	until = ps_now_ms() + TOP_PERIOD_MS;
	for (int64_t now; (now = ps_now_ms()) < until;) {
		struct timespec ts = {.tv_sec = (until - now) / 1000, .tv_nsec = (until - now) % 1000 * 1000000};

		nanosleep(&ts, NULL);
	}
	sample_take(&cur, only, &nm, ps_now_ms() + CTL_RESOLVE_MS);
	ctl_top_rates(cur.v, cur.n, prev.v, prev.n);
	ctl_top_sort(cur.v, cur.n);
	len = ctl_top_format(cur.v, cur.n, NULL, 0, 0, NULL, 0) + 1;
	if ((buf = malloc(len)))
		ctl_top_format(cur.v, cur.n, NULL, 0, 0, buf, len);
	sample_free(&prev);
	sample_free(&cur);
	names_free(&nm);
	if (!buf) {
		ctl_warn("top: out of memory");
		return CTL_EXIT_INVALID;
	}
	fputs(buf, stdout);
	return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_INVALID;
}

int ctl_top(int argc, char **argv)
{
	static const struct option opts[] = {{"no-stream", no_argument, NULL, 'n'}, {NULL, 0, NULL, 0}};
	char id[OCI_ID_MAX_LEN + 1], owner[OCI_ID_MAX_LEN + 1];
	bool no_stream = false;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			no_stream = true;
		else
			return CTL_EXIT_USAGE;
	}
	if (argc - optind > 1) {
		ctl_warn("top takes one ID at most (see portsidectl top --help)");
		return CTL_EXIT_USAGE;
	}
	if (optind < argc) {
		if ((rc = ctl_resolve(argv[optind], id, sizeof(id))) != CTL_EXIT_OK)
			return rc;
		/* A container that joined another's sidecar: its owner's rows. */
		ps_owner(id, owner, sizeof(owner));
		if (owner[0])
			snprintf(id, sizeof(id), "%s", owner);
	}
	if (no_stream)
		return one_frame(optind < argc ? id : NULL);
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		ctl_warn("top: the live view needs a terminal (--no-stream prints one frame)");
		return CTL_EXIT_USAGE;
	}
	return live(optind < argc ? id : NULL);
}
