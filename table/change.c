/* SPDX-License-Identifier: MIT */
/* A running container's port table changed live: `portsidectl expose`,
 * `unexpose`, `autoforward`, and `restore` of a sidecar that runs but does
 * not serve what the record says. One path for all of them:
 *
 *   1. under the lock every start takes, the record (what must be served)
 *      and the sidecar's status (what is) are read;
 *   2. the new table is made from the record, with the same checks and the
 *      same one-line refusals as at start (oci_ports_parse, then tb_bind:
 *      reserved ports, the policy the container was started under, its pool
 *      address, maxPorts counting what is there, overlaps, a host port in
 *      use with its holder named);
 *   3. every host listener the sidecar lacks is bound here, by root, in the
 *      host's namespace (all or nothing: one that cannot be had closes
 *      every other, and nothing is recorded);
 *   4. the record is written (atomically: rename), then the table goes to
 *      the sidecar with those listeners (APPLY, lib/control.h), which checks
 *      it whole and serves it or refuses it unchanged; a refusal puts the
 *      old record back.
 *
 * The record is written before the sidecar is told, so that whatever is
 * killed when, the record says what the user asked for: a change the
 * sidecar never got is what `doctor` finds (recorded, not served) and what
 * `portsidectl restore` (TB_SYNC here) serves; a listener bound by a
 * portsidectl that died closed with it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../lib/clock.h"
#include "../lib/control.h"
#include "../lib/listen.h"
#include "../lib/reply.h"
#include "../lib/rundir.h"
#include "../lib/sidecar_fds.h"
#include "../lib/starting.h"
#include "../oci/annotations.h"
#include "change.h"
#include "table.h"

/* How long the sidecar may take to answer its status and the table: it
 * answers at once, so this is only for one that hangs. Short: a start
 * waits for the lock a change holds at most 3 s (hook/create.c). */
#define STATUS_TIMEOUT_MS 1000
#define APPLY_TIMEOUT_MS  1500
/* All of one change, its retry included, within this: a start waits 3 s
 * for the lock (hook/create.c), and must get it. */
#define CHANGE_BUDGET_MS 2500

/* The time left before DEADLINE (ps_now_ms), at most CAP, at least 1 ms. */
static int left_ms(int64_t deadline, int cap)
{
	int64_t left = deadline - ps_now_ms();

	return left < 1 ? 1 : left > cap ? cap : (int)left;
}

static volatile sig_atomic_t fault_go_on;

static void fault_resume(int sig)
{
	(void)sig;
	fault_go_on = 1;
}

/* Test-only: PORTSIDE_FAULT_PAUSE=STEP makes a change stop at STEP
 * ("bound": listeners bound, nothing recorded; "recorded": the record
 * written, the sidecar not told) for up to 30 s, saying so on stderr, so
 * that a test can kill it there, or let it go on at once with SIGUSR1 (after
 * something else was killed meanwhile). */
static void fault_pause(const char *step)
{
	const char *want = getenv("PORTSIDE_FAULT_PAUSE");

	if (!want || strcmp(want, step))
		return;
	fault_go_on = 0;
	signal(SIGUSR1, fault_resume);
	fprintf(stderr, "portsidectl: paused at %s\n", step);
	fflush(stderr);
	for (int i = 0; i < 300 && !fault_go_on; i++)
		usleep(100 * 1000);
}

/* Problems from START on in E say "expose" where the parser and tb_bind,
 * written for the annotation, say io.portside.ports: the user typed a
 * command line, not an annotation. */
static void reword(struct oci_err *e, unsigned start)
{
	static const char from[] = OCI_ANN_PORTS;

	for (unsigned i = start; i < oci_err_lines(e); i++) {
		char *at = strstr(e->msg[i], from);

		if (!at)
			continue;
		memcpy(at, "expose", 6);
		memmove(at + 6, at + sizeof(from) - 1, strlen(at + sizeof(from) - 1) + 1);
	}
}

/* A served forward (the status) on W's listener, or NULL. */
static const struct ps_forward *served(const struct ps_status *st, const struct ps_forward *w)
{
	for (size_t i = 0; i < st->n; i++)
		if (ps_forward_same_listener(&st->v[i].map, w))
			return &st->v[i].map;
	return NULL;
}

static int push(struct ps_forwards *f, const struct ps_forward *w)
{
	struct ps_forward *nv;

	if (f->n >= PS_FORWARDS_MAX_FORWARDS)
		return -EFBIG;
	if (!(nv = realloc(f->v, (f->n + 1) * sizeof(*nv))))
		return -ENOMEM;
	f->v = nv;
	f->v[f->n++] = *w;
	return 0;
}

static void known_add(struct ps_forwards *f, unsigned port, unsigned proto)
{
	for (size_t i = 0; i < f->n_known; i++)
		if (f->known[i].port == port && f->known[i].proto == proto)
			return;
	if (f->n_known < OCI_PORTS_HARD_MAX)
		f->known[f->n_known++] = (struct ps_known){(uint16_t)port, (uint8_t)proto};
}

/* The mappings table T would hold with the N mappings M bound too, as
 * maxPorts counts them: a host port (whatever the number of addresses it is
 * bound on; one handed out later is one more), and a known local port that
 * none forwards. */
static unsigned mappings_after(const struct ps_forwards *t, const struct oci_mapping *m, size_t n)
{
	unsigned count = 0;

	for (size_t i = 0; i < t->n; i++) {
		bool dup = false;

		for (size_t k = 0; k < i && !dup; k++)
			dup = t->v[k].external_port == t->v[i].external_port && t->v[k].proto == t->v[i].proto;
		count += !dup;
	}
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		for (size_t k = 0; k < i && !dup && m[i].external_port; k++)
			dup = m[k].external_port == m[i].external_port && m[k].proto == m[i].proto;
		count += !dup;
	}
	for (size_t i = 0; i < t->n_known; i++) {
		bool mapped = false;

		for (size_t k = 0; k < t->n && !mapped; k++)
			mapped = t->v[k].local_port == t->known[i].port && t->v[k].proto == t->known[i].proto;
		for (size_t k = 0; k < n && !mapped; k++)
			mapped = m[k].local_port == t->known[i].port && m[k].proto == t->known[i].proto;
		count += !mapped;
	}
	return count;
}

static unsigned last_entry(const struct ps_forwards *f)
{
	unsigned n = 0;

	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].entry > n)
			n = f->v[i].entry;
	return n;
}

/* What a change works on: the table being made, the listeners bound for it
 * (fds[i] for forward i, -1: the sidecar has it), and what to tell. */
struct work {
	const char *id;
	int64_t deadline;	/* ps_now_ms() by which the change is done */
	struct ps_forwards *f;	/* the record as it is */
	struct ps_forwards *t;	/* the new table */
	int *fds;		/* one a forward of T */
	struct ps_status st;	/* what the sidecar serves */
	struct oci_policy *pol; /* the container's policy, as it reads now */
	struct tb_outcome *out;
};

/* True when S, an automatic forward the sidecar reports, is one it could
 * have made from record F: a hand-out port on one of F's bind addresses,
 * with F's visibility. */
static bool automatic_as_given(const struct ps_forwards *f, const struct ps_forward *s)
{
	bool port = false, addr = false;

	for (size_t i = 0; i < f->n_auto_ports && !port; i++)
		port = f->auto_ports[i] == s->external_port;
	for (size_t i = 0; i < f->n_bind && !addr; i++)
		addr = oci_ip_equal(&f->bind[i], &s->host_ip);
	return port && addr && s->proto == OCI_PROTO_TCP && s->visibility == (uint8_t)f->visibility;
}

/* EXPOSE: M (a parsed mapping) against what the table has: already there
 * (1), pinned onto automatic forwards (2), for tb_bind (0), or refused. */
static int expose_one(struct work *w, const struct oci_mapping *m, unsigned base, struct oci_err *e)
{
	bool already = false;
	size_t pins = 0;

	for (size_t i = 0; i < w->t->n; i++) {
		const struct ps_forward *o = &w->t->v[i];

		if (o->proto != m->proto || o->external_port != m->external_port ||
		    !oci_hosts_overlap(&o->host_ip, &m->host_ip))
			continue;
		if (o->local_port == m->local_port && (!m->host_ip.family || oci_ip_equal(&o->host_ip, &m->host_ip))) {
			already = true;
			continue;
		}
		return oci_err_add(e, EADDRINUSE,
				   "expose entry %u: host port %u/%s is mapped to local port %u of this container "
				   "already (portsidectl unexpose %.64s %u/%s first)",
				   m->entry, m->external_port, oci_proto_name(m->proto), o->local_port, w->id,
				   m->external_port, oci_proto_name(m->proto));
	}
	if (already)
		return 1;
	for (size_t i = 0; i < w->st.n; i++) {
		const struct ps_forward *s = &w->st.v[i].map;

		if (!s->automatic || s->proto != m->proto || s->external_port != m->external_port ||
		    !oci_hosts_overlap(&s->host_ip, &m->host_ip))
			continue;
		/* What the sidecar says is checked against what it was given:
		 * a pin is recorded, and restore binds it as root, so only a
		 * hand-out port on the container's own bind addresses. */
		if (!automatic_as_given(w->f, s))
			return oci_err_add(
				e, EPERM,
				"expose entry %u: the sidecar reports host port %u/%s forwarded automatically "
				"where it could not be (not a hand-out port on the container's addresses)",
				m->entry, m->external_port, oci_proto_name(m->proto));
		if (s->local_port != m->local_port || m->host_ip.family || s->visibility != m->visibility)
			return oci_err_add(e, EADDRINUSE,
					   "expose entry %u: host port %u/%s is this container's automatic forward of "
					   "local port %u%s (portsidectl unexpose %.64s --local %u first)",
					   m->entry, m->external_port, oci_proto_name(m->proto), s->local_port,
					   s->local_port == m->local_port ? ", on other addresses or visibility" : "",
					   w->id, s->local_port);
		/* Pinned: the automatic forward's own listeners, explicit from
		 * now on (the sidecar keeps them open: no gap). */
		struct ps_forward p = *s;

		p.automatic = false;
		p.auto_assigned = false;
		p.entry = base + m->entry;
		p.expose_localhost = m->expose_localhost || s->expose_localhost;
		p.proxy_protocol = m->proxy_protocol;
		p.allow = m->allow;
		memcpy(p.label, m->label, sizeof(p.label));
		p.fd = -1;
		if (push(w->t, &p) < 0 || push(w->out->pinned, &p) < 0)
			return oci_err_add(e, ENOMEM, "out of memory");
		pins++;
	}
	return pins ? 2 : 0;
}

static int do_expose(struct work *w, const struct tb_change *c, struct oci_err *e)
{
	cleanup_free struct oci_mapping *bind_v = NULL;
	struct oci_ports *ports = NULL, to_bind = {0, NULL};
	struct ps_forwards bound = {.v = NULL};
	unsigned before = e->count, base = last_entry(w->f);
	int rc;

	if ((rc = oci_ports_parse(c->spec, strlen(c->spec), w->pol, &ports, e)) < 0) {
		reword(e, before);
		return rc;
	}
	if (!(bind_v = calloc(ports->n ? ports->n : 1, sizeof(*bind_v)))) {
		oci_ports_free(ports);
		return oci_err_add(e, ENOMEM, "out of memory");
	}
	/* Every entry checked, each problem said (as at start). */
	for (size_t i = 0; i < ports->n; i++) {
		const struct oci_mapping *m = &ports->v[i];

		if (!m->expose) {
			/* In the annotation a port known and never exposed;
			 * asked of expose, a mistake. */
			oci_err_add(e, EINVAL,
				    "expose entry %u: local port %u/%s has no host port: write EXTERNAL:%u, or --json "
				    "'[{\"localPort\": %u, \"expose\": true}]' for one from autoforwardPorts",
				    m->entry, m->local_port, oci_proto_name(m->proto), m->local_port, m->local_port);
			continue;
		}
		rc = m->external_port ? expose_one(w, m, base, e) : 0;
		if (rc == 1)
			w->out->already++;
		else if (rc == 0)
			bind_v[to_bind.n++] = *m;
		known_add(w->t, m->local_port, m->proto);
	}
	if (e->count == before) {
		unsigned total = mappings_after(w->t, bind_v, to_bind.n);

		if (total > w->pol->max_ports)
			oci_err_add(e, E2BIG, "expose: %.64s would have %u ports, more than the policy's maxPorts (%u)",
				    w->id, total, w->pol->max_ports);
	}
	oci_ports_free(ports);
	if (e->count != before)
		return -EINVAL;

	/* Bound as the hook binds: the table so far is what hand-out skips.
	 * tb_bind grows its list at each power of two: room for the next one
	 * up, whatever the table's length. */
	size_t cap = 1;

	while (cap < w->t->n)
		cap *= 2;
	to_bind.v = bind_v;
	bound.v = calloc(cap, sizeof(*bound.v));
	if (!bound.v)
		return oci_err_add(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < w->t->n; i++) {
		bound.v[i] = w->t->v[i];
		bound.v[i].fd = -1;
	}
	bound.n = w->t->n;
	if ((rc = tb_bind(&to_bind, w->pol, w->f->pool_address.family ? &w->f->pool_address : NULL, &bound, e)) < 0) {
		reword(e, before);
		free(bound.v);
		return rc;
	}
	for (size_t i = w->t->n; i < bound.n; i++) {
		bound.v[i].entry += base;
		bool in_table = false;

		if ((rc = push(w->t, &bound.v[i])) < 0 ||
		    (in_table = true, rc = push(w->out->added, &bound.v[i])) < 0) {
			/* One in the table already is closed with the table's. */
			for (size_t k = i + in_table; k < bound.n; k++)
				close(bound.v[k].fd);
			free(bound.v);
			return oci_err_add(e, -rc, "out of memory");
		}
	}
	free(bound.v);
	return 0;
}

static int do_unexpose(struct work *w, const struct tb_change *c, struct oci_err *e)
{
	size_t keep = 0;
	bool automatic = false;

	for (size_t i = 0; i < w->t->n; i++) {
		struct ps_forward *o = &w->t->v[i];
		unsigned port = c->local ? o->local_port : o->external_port;

		if (port == c->port && (c->proto < 0 || o->proto == c->proto)) {
			/* It stays known: not forwarded automatically after. */
			known_add(w->t, o->local_port, o->proto);
			if (push(w->out->removed, o) < 0)
				return oci_err_add(e, ENOMEM, "out of memory");
			continue;
		}
		w->t->v[keep++] = *o;
	}
	w->t->n = keep;
	/* An automatic forward goes too: its local port becomes known, and the
	 * sidecar unserves automatic forwards of known ports. */
	for (size_t i = 0; i < w->st.n; i++) {
		const struct ps_forward *s = &w->st.v[i].map;
		unsigned port = c->local ? s->local_port : s->external_port;

		if (!s->automatic || port != c->port || (c->proto >= 0 && s->proto != c->proto))
			continue;
		known_add(w->t, s->local_port, s->proto);
		automatic = true;
		if (push(w->out->removed, s) < 0)
			return oci_err_add(e, ENOMEM, "out of memory");
	}
	if (!w->out->removed->n && !automatic) {
		char proto[8] = "";

		if (c->proto >= 0)
			snprintf(proto, sizeof(proto), "/%s", oci_proto_name((unsigned)c->proto));
		return oci_err_add(e, ENOENT,
				   "%s port %u%s is not forwarded for %.64s (portsidectl ls shows its mappings)",
				   c->local ? "local" : "host", c->port, proto, w->id);
	}
	return 0;
}

static int do_autoforward(struct work *w, const struct tb_change *c, struct oci_err *e)
{
	if (c->mode != OCI_AUTOFORWARD_NEVER && (!w->f->n_auto_ports || !w->f->max_autoforwards))
		return oci_err_add(e, EPERM, "automatic forwarding cannot be turned on for %.64s: its policy %s", w->id,
				   w->f->n_auto_ports ? "has maxAutoforwards 0" : "gives no autoforwardPorts");
	if (w->t->autoforward == c->mode)
		w->out->already++;
	w->t->autoforward = c->mode;
	return 0;
}

/* A recorded forward (fd -2) the sidecar serves (tb_rebind's SKIP). */
static bool is_served(const struct ps_forward *o, void *arg)
{
	return o->fd != -2 || served(arg, o);
}

/* Every forward of the table the sidecar does not serve gets its listener
 * now: those just bound have one (fd >= 0), pinned ones are served (-1); a
 * recorded one (-2) is served, or was lost (a change the sidecar never
 * got) and is bound again where the record says. */
static int listeners(struct work *w, struct oci_err *e)
{
	if (!(w->fds = calloc(w->t->n ? w->t->n : 1, sizeof(int))))
		return oci_err_add(e, ENOMEM, "out of memory");
	/* First every listener already bound, so that a failure below closes
	 * them all. */
	for (size_t i = 0; i < w->t->n; i++)
		w->fds[i] = w->t->v[i].fd >= 0 ? w->t->v[i].fd : -1;
	return tb_rebind(w->t, w->fds, is_served, &w->st, &w->out->rebound, e);
}

/* What the sidecar will unserve besides what the change removed itself,
 * by the rules of sidecar/apply.c: explicit forwards the table lacks (a
 * change it got that the record lost), automatic ones of a local port the
 * table names now, all automatic ones when the mode becomes never, and
 * those of localhost-only ports when it becomes public. Said, so that
 * nothing closes unannounced. */
static void strays(struct work *w)
{
	for (size_t i = 0; i < w->st.n; i++) {
		const struct ps_forward *s = &w->st.v[i].map;
		bool stays = false;

		for (size_t k = 0; k < w->t->n && !stays; k++)
			stays = ps_forward_same_listener(&w->t->v[k], s);
		for (size_t k = 0; k < w->out->removed->n && !stays; k++)
			stays = ps_forward_same_listener(&w->out->removed->v[k], s); /* said already */
		if (stays)
			continue;
		if (s->automatic) {
			bool goes = ps_forwards_names(w->t, s->local_port, s->proto) ||
				    w->t->autoforward == OCI_AUTOFORWARD_NEVER ||
				    (w->t->autoforward == OCI_AUTOFORWARD_PUBLIC && s->expose_localhost &&
				     w->st.autoforward == (int)OCI_AUTOFORWARD_ALL);

			if (!goes)
				continue;
		}
		push(w->out->removed, s);
	}
	w->out->mode_changed = w->st.autoforward >= 0 && w->st.autoforward != (int)w->t->autoforward;
}

static void close_listeners(struct work *w)
{
	for (size_t i = 0; w->fds && i < w->t->n; i++)
		if (w->fds[i] >= 0)
			close(w->fds[i]), w->fds[i] = -1;
}

/* The table as APPLY carries it: each forward's fd the index of its
 * listener among those sent, or -1 (served already). */
static int apply_send(struct work *w, const struct tb_change *c, char *reply, size_t len, struct oci_err *e)
{
	cleanup_free int *keep = calloc(w->t->n ? w->t->n : 1, sizeof(int));
	cleanup_free int *send = calloc(w->t->n ? w->t->n : 1, sizeof(int));
	cleanup_free char *doc = NULL;
	struct ps_apply_head h = {.close_conns = c->close_conns};
	size_t n = 0;
	int rc;

	if (!keep || !send)
		return oci_err_add(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < w->t->n; i++) {
		keep[i] = w->t->v[i].fd;
		w->t->v[i].fd = w->fds[i] >= 0 ? (int)n : -1;
		if (w->fds[i] >= 0)
			send[n++] = w->fds[i];
	}
	rc = ps_forwards_encode(w->t, &doc);
	for (size_t i = 0; i < w->t->n; i++)
		w->t->v[i].fd = keep[i];
	if (rc < 0)
		return oci_err_add(e, -rc, "cannot encode the table: %s", strerror(-rc));
	h.bytes = strlen(doc);
	h.nfds = n;
	snprintf(h.reason, sizeof(h.reason), "%s", c->op == TB_SYNC ? "restore" : "live");
	snprintf(h.by, sizeof(h.by), "%s", c->by && c->by[0] ? c->by : "portsidectl");
	for (char *p = h.by; *p; p++) /* one line of plain ASCII */
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return ps_ctl_apply(w->id, &h, doc, send, reply, len, left_ms(w->deadline, APPLY_TIMEOUT_MS));
}

static struct ps_forwards *copy(const struct ps_forwards *f)
{
	struct ps_forwards *t = malloc(sizeof(*t));

	if (!t)
		return NULL;
	*t = *f;
	t->v = NULL;
	if (f->n && !(t->v = malloc(f->n * sizeof(*t->v)))) {
		free(t);
		return NULL;
	}
	if (f->n)
		memcpy(t->v, f->v, f->n * sizeof(*t->v));
	return t;
}

static struct ps_forwards *empty_list(void)
{
	return calloc(1, sizeof(struct ps_forwards));
}

void tb_outcome_free(struct tb_outcome *o)
{
	ps_forwards_free(o->added);
	ps_forwards_free(o->pinned);
	ps_forwards_free(o->removed);
	memset(o, 0, sizeof(*o));
}

/* A host port this change could not bind because automatic forwarding
 * gave it to the app's port meanwhile: asked again, it is a pin (or a
 * refusal naming that forward). */
static bool taken_meanwhile(const struct work *w)
{
	struct ps_status now;
	bool more = false;

	if (ps_ask_status(w->id, &now, left_ms(w->deadline, STATUS_TIMEOUT_MS)) < 0)
		return false;
	for (size_t i = 0; i < now.n && !more; i++) {
		bool before = false;

		if (!now.v[i].map.automatic)
			continue;
		for (size_t k = 0; k < w->st.n && !before; k++)
			before = w->st.v[k].map.automatic &&
				 w->st.v[k].map.external_port == now.v[i].map.external_port &&
				 w->st.v[k].map.proto == now.v[i].map.proto;
		more = !before;
	}
	ps_status_free(&now);
	return more;
}

/* One try: 0, -EAGAIN when the sidecar lost an automatic forward being
 * pinned meanwhile (the app closed it: try again, it binds now), or the
 * error in E. */
static int change_once(const char *id, const struct tb_change *c, int64_t deadline, struct tb_outcome *out,
		       struct oci_err *e)
{
	struct work w = {.id = id, .deadline = deadline, .out = out};
	char why[160], reply[512];
	int rc;

	tb_outcome_free(out);
	if (!(out->added = empty_list()) || !(out->pinned = empty_list()) || !(out->removed = empty_list()))
		return oci_err_add(e, ENOMEM, "out of memory");
	if ((rc = ps_record_load(id, &w.f, e)) < 0)
		return rc;
	if ((rc = ps_container_open(w.f, NULL, NULL, why, sizeof(why))) < 0) {
		rc = oci_err_add(e, ESRCH, "the container %.64s is not running (%s): its ports cannot change", id, why);
		goto out;
	}
	/* Pending first: a sidecar with its pid file written may not serve
	 * yet; ready only once the start's mark is gone. */
	if (ps_start_pending(id)) {
		rc = oci_err_add(e, EBUSY, "the sidecar of %.64s is still starting: try again", id);
		goto out;
	}
	if (!ps_sidecar_alive(id, NULL)) {
		rc = oci_err_add(e, EPIPE, "the sidecar of %.64s is not running: run portsidectl restore %.64s first",
				 id, id);
		goto out;
	}
	if ((rc = ps_ask_status(id, &w.st, left_ms(deadline, STATUS_TIMEOUT_MS))) < 0) {
		rc = oci_err_add(e, -rc, "the sidecar of %.64s does not answer: %s", id, strerror(-rc));
		goto out;
	}
	if (c->op == TB_EXPOSE &&
	    (rc = oci_policy_load(w.f->policy[0] ? w.f->policy : OCI_POLICY_PATH, !w.f->policy[0], &w.pol, e)) < 0)
		goto out;
	if (!(w.t = copy(w.f))) {
		rc = oci_err_add(e, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < w.t->n; i++)
		w.t->v[i].fd = -2; /* from the record: served, or to bind again */
	if (c->op == TB_EXPOSE) {
		rc = do_expose(&w, c, e);
		if (rc == -EADDRINUSE && taken_meanwhile(&w)) {
			rc = -EAGAIN;
			goto out;
		}
	} else if (c->op == TB_UNEXPOSE)
		rc = do_unexpose(&w, c, e);
	else if (c->op == TB_AUTOFORWARD)
		rc = do_autoforward(&w, c, e);
	else
		rc = 0;
	if (rc < 0 || (rc = listeners(&w, e)) < 0)
		goto out;
	strays(&w);
	fault_pause("bound");
	if ((rc = tb_record_write(id, w.t, e)) < 0)
		goto out;
	fault_pause("recorded");
	rc = apply_send(&w, c, reply, sizeof(reply), e);
	/* The sidecar's words reach root's terminal: plain ASCII, one line. */
	if (rc >= 0) {
		reply[strcspn(reply, "\n")] = '\0';
		for (char *p = reply; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
	}
	if (rc >= 0 && !strncmp(reply, "ok but: ", 8)) {
		out->partial = true;
		/* Applied, the record stands; one port the sidecar could not
		 * serve is what doctor shows apart. */
		reply[strcspn(reply, "\n")] = '\0';
		rc = oci_err_add(
			e, EIO,
			"the sidecar of %.64s took the change but %s (portsidectl doctor shows it; portsidectl "
			"restore %.64s tries again)",
			id, reply + 8, id);
		goto out;
	}
	if (rc >= 0 && !strncmp(reply, "ok", 2)) {
		rc = 0;
		goto out;
	}
	if (rc >= 0) {
		/* Refused whole: the sidecar serves what it did, so the record
		 * goes back to what it was. */
		struct oci_err ignore;

		reply[strcspn(reply, "\n")] = '\0';
		oci_err_init(&ignore);
		tb_record_write(id, w.f, &ignore);
		if (strstr(reply, "is not served") && out->pinned->n) {
			rc = -EAGAIN;
			goto out;
		}
		rc = oci_err_add(e, EIO, "the sidecar of %.64s refused the change: %s", id,
				 !strncmp(reply, "error: ", 7) ? reply + 7
				 : reply[0]		       ? reply
							       : "no reason given");
		goto out;
	}
	/* No answer: whether it took the change is not known. The record has
	 * it; restore serves it. */
	rc = oci_err_add(e, -rc,
			 "the sidecar of %.64s did not answer (%s): the record has the change; portsidectl restore "
			 "%.64s serves it",
			 id, strerror(-rc), id);
out:
	if (w.fds)
		close_listeners(&w);
	else /* listeners() never ran: what do_expose bound is in the table */
		for (size_t i = 0; w.t && i < w.t->n; i++)
			if (w.t->v[i].fd >= 0)
				close(w.t->v[i].fd);
	free(w.fds);
	ps_status_free(&w.st);
	oci_policy_free(w.pol);
	ps_forwards_free(w.t);
	ps_forwards_free(w.f);
	return rc;
}

int tb_change(const char *id, const struct tb_change *c, struct tb_outcome *out, struct oci_err *e)
{
	cleanup_close int lock = -1;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = ps_lock(&lock, 3000)) < 0)
		return oci_err_addp(e, -rc, "cannot lock %s/lock", ps_run_dir());
	/* Automatic forwarding changed between the status and the change (an
	 * automatic forward being pinned closed, or one took a port being
	 * bound): once more, from a fresh status, without the first try's
	 * problems. */
	struct oci_err first = *e;

	int64_t deadline = ps_now_ms() + CHANGE_BUDGET_MS;

	rc = change_once(id, c, deadline, out, e);
	if (rc == -EAGAIN && deadline - ps_now_ms() > STATUS_TIMEOUT_MS) {
		*e = first;
		rc = change_once(id, c, deadline, out, e);
	}
	if (rc == -EAGAIN)
		rc = oci_err_add(e, EAGAIN, "the automatic forwards of %.64s changed while it was asked: try again",
				 id);
	return rc;
}
