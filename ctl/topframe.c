/* SPDX-License-Identifier: MIT */
/* portsidectl top's pure parts: rates, order, frame (ctl/top.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../oci/ports.h"
#include "ctl.h"
#include "top.h"

/* The CONTAINER column grows with the longest id shown, up to this: an id
 * chosen by hand may be 200 characters, and the line is cut anyway. */
#define TOP_ID_COL_MAX 64
#define TOP_LINE_MAX   2048

const char *ctl_top_state_name(int state)
{
	switch (state) {
	case CTL_TOP_RUNNING: return "running";
	case CTL_TOP_SILENT: return "silent";
	case CTL_TOP_DEAD: return "dead";
	default: return "stopped";
	}
}

static int key_cmp(const struct ctl_top_row *a, const struct ctl_top_row *b)
{
	int c = strcmp(a->id, b->id);

	if (c)
		return c;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->host_ip.family != b->host_ip.family)
		return a->host_ip.family < b->host_ip.family ? -1 : 1;
	if ((c = memcmp(a->host_ip.a, b->host_ip.a, sizeof(a->host_ip.a))))
		return c;
	if (a->external_port != b->external_port)
		return a->external_port < b->external_port ? -1 : 1;
	return 0;
}

static int key_qcmp(const void *a, const void *b)
{
	return key_cmp(a, b);
}

/* The increase of a counter from P to C; one that went down was reset (a
 * new sidecar counts from 0), so all of C is new. */
static double increase(uint64_t p, uint64_t c)
{
	return (double)(c >= p ? c - p : c);
}

void ctl_top_rates(struct ctl_top_row *cur, size_t n, struct ctl_top_row *prev, size_t np)
{
	if (np)
		qsort(prev, np, sizeof(*prev), key_qcmp);
	for (size_t i = 0; i < n; i++) {
		struct ctl_top_row *c = &cur[i];
		const struct ctl_top_row *p = np ? bsearch(c, prev, np, sizeof(*prev), key_qcmp) : NULL;
		double dt;

		c->rated = false;
		c->conns_s = c->in_s = c->out_s = c->refused_s = 0;
		if (!p || p->state != CTL_TOP_RUNNING || c->state != CTL_TOP_RUNNING || c->t_ms <= p->t_ms)
			continue;
		dt = (double)(c->t_ms - p->t_ms) / 1000.0;
		c->conns_s = increase(p->conns_total, c->conns_total) / dt;
		c->in_s = increase(p->bytes_in, c->bytes_in) / dt;
		c->out_s = increase(p->bytes_out, c->bytes_out) / dt;
		c->refused_s = increase(p->refused, c->refused) / dt;
		c->rated = true;
	}
}

static int traffic_qcmp(const void *va, const void *vb)
{
	const struct ctl_top_row *a = va, *b = vb;
	double ta = a->in_s + a->out_s, tb = b->in_s + b->out_s;
	int c;

	if (ta != tb)
		return ta > tb ? -1 : 1;
	if (a->conns_s != b->conns_s)
		return a->conns_s > b->conns_s ? -1 : 1;
	if ((a->state == CTL_TOP_RUNNING) != (b->state == CTL_TOP_RUNNING))
		return a->state == CTL_TOP_RUNNING ? -1 : 1;
	if ((c = strcmp(a->shown, b->shown)))
		return c;
	if (a->external_port != b->external_port)
		return a->external_port < b->external_port ? -1 : 1;
	return key_cmp(a, b);
}

void ctl_top_sort(struct ctl_top_row *rows, size_t n)
{
	if (n)
		qsort(rows, n, sizeof(*rows), traffic_qcmp);
}

void ctl_top_human(double b, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "kB", "MB", "GB", "TB"};
	int u = 0;

	while (b >= 999.95 && u < 4)
		b /= 1000, u++;
	snprintf(buf, len, u ? "%.1f%s" : "%.0f%s", b, unit[u]);
}

/* A count per second: one decimal while it is small. */
static void per_s(double v, char *buf, size_t len)
{
	snprintf(buf, len, v < 99.95 ? "%.1f" : "%.0f", v);
}

struct out {
	char *buf;
	size_t len, used; /* used: what the whole frame takes, written or not */
	unsigned width;
};

/* LINE as one line of the frame: cut to the width, anything but printable
 * ASCII made '?' (a name is someone else's text), then '\n'. */
static void put_line(struct out *o, const char *line)
{
	size_t n = strlen(line);

	if (o->width && n > o->width)
		n = o->width;
	for (size_t i = 0; i <= n; i++) {
		char ch = i < n ? line[i] : '\n';

		if (i < n && (ch < 0x20 || ch > 0x7e))
			ch = '?';
		if (o->used + 1 < o->len)
			o->buf[o->used] = ch;
		o->used++;
	}
	if (o->len)
		o->buf[o->used < o->len ? o->used : o->len - 1] = '\0';
}

static void format_row(const struct ctl_top_row *r, int idw, char *line, size_t len)
{
	char ext[OCI_IP_LEN + 8], loc[16], cs[16], in[16], out[16], rs[16];

	ctl_format_addr(&r->host_ip, r->external_port, ext, sizeof(ext));
	snprintf(loc, sizeof(loc), "%u/%s", r->local_port, oci_proto_name(r->proto));
	if (r->rated) {
		per_s(r->conns_s, cs, sizeof(cs));
		ctl_top_human(r->in_s, in, sizeof(in));
		ctl_top_human(r->out_s, out, sizeof(out));
		per_s(r->refused_s, rs, sizeof(rs));
	} else {
		strcpy(cs, "-"), strcpy(in, "-"), strcpy(out, "-"), strcpy(rs, "-");
	}
	char active[24] = "-";
	if (r->state == CTL_TOP_RUNNING)
		snprintf(active, sizeof(active), "%llu", (unsigned long long)r->conns_live);
	/* The state padded only when a name follows: no trailing blanks. */
	snprintf(line, len, "%-*.*s  %-22s  %-9s  %7s  %6s  %8s  %8s  %9s  %-*s%s%s", idw, TOP_ID_COL_MAX, r->shown,
		 ext, loc, cs, active, in, out, rs, r->name[0] ? 7 : 0, ctl_top_state_name(r->state),
		 r->name[0] ? "  " : "", r->name);
}

size_t ctl_top_format(const struct ctl_top_row *rows, size_t n, const char *title, unsigned width, unsigned height,
		      char *buf, size_t len)
{
	struct out o = {.buf = buf, .len = len, .width = width};
	char line[TOP_LINE_MAX];
	unsigned lines = 0;
	int idw = 9;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(rows[i].shown);

		if (l > (size_t)idw)
			idw = l > TOP_ID_COL_MAX ? TOP_ID_COL_MAX : (int)l;
	}
	if (title && (!height || lines < height))
		put_line(&o, title), lines++;
	if (!height || lines < height) {
		snprintf(line, sizeof(line), "%-*s  %-22s  %-9s  %7s  %6s  %8s  %8s  %9s  %-7s  %s", idw, "CONTAINER",
			 "EXTERNAL", "LOCAL", "CONN/S", "ACTIVE", "IN/S", "OUT/S", "REFUSED/S", "STATE", "NAME");
		/* No trailing blanks: NAME is the last column. */
		put_line(&o, line), lines++;
	}
	/* Every row when they fit; else one line fewer, and that line says
	 * how many are left out. */
	size_t room = height ? height - lines : n, shown = n;
	if (n > room)
		shown = room ? room - 1 : 0;
	for (size_t i = 0; i < shown; i++) {
		format_row(&rows[i], idw, line, sizeof(line));
		put_line(&o, line);
	}
	if (shown < n && room) {
		snprintf(line, sizeof(line), "... %zu more %s (a taller window shows them)", n - shown,
			 n - shown == 1 ? "mapping" : "mappings");
		put_line(&o, line);
	}
	return o.used;
}
