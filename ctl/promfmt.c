/* SPDX-License-Identifier: MIT */
/* The Prometheus text exposition of portsidectl metrics (metrics.h): no
 * I/O but the stream it writes, so the unit tests see every byte.
 *
 * The exposition is one document a scraper takes whole or not at all (the
 * textfile collector drops a file with one bad line), so nothing a container
 * chose may break it: label values are escaped and made valid UTF-8, and a
 * mapping repeated in a reply (a sidecar gone wrong) is shown once, as two
 * samples of one series would void the whole file. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../oci/ports.h"
#include "ctl.h"
#include "metrics.h"

/* Longest label set written: every label of a mapping, each value escaped
 * (at most twice its length) and quoted. */
#define LABELS_MAX (2 * (OCI_ID_MAX_LEN + 2 * OCI_KUBE_NAME_MAX + OCI_LABEL_MAX_LEN + OCI_IP_LEN) + 512)

/* The length of the UTF-8 character at S (1 to 4), 0 when S does not start one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, c = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, c = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and past U+10FFFF are not UTF-8 */
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || (c >= 0xd800 && c <= 0xdfff) ||
	    c > 0x10ffff)
		return 0;
	return n;
}

void ctl_metrics_escape(const char *value, char *out, size_t len)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t o = 0;

	if (len == 0)
		return;
	while (*s) {
		size_t n = utf8_len(s);
		char rep[2] = {0};
		const char *put = NULL;
		size_t plen;

		if (*s == '\\' || *s == '"' || *s == '\n') {
			rep[0] = '\\';
			rep[1] = *s == '\n' ? 'n' : (char)*s;
			put = rep, plen = 2, n = 1;
		} else if (n == 0 || *s < 0x20 || *s == 0x7f) {
			put = "?", plen = 1, n = n ? n : 1;
		} else {
			put = (const char *)s, plen = n;
		}
		if (o + plen >= len)
			break;
		memcpy(out + o, put, plen);
		o += plen;
		s += n;
	}
	out[o] = '\0';
}

/* Appends NAME="VALUE" (escaped) to the label set in BUF, of *LEN bytes so far. */
static void label(char *buf, size_t *len, const char *name, const char *value)
{
	char esc[2 * OCI_KUBE_NAME_MAX + 2];
	int k;

	ctl_metrics_escape(value, esc, sizeof(esc));
	k = snprintf(buf + *len, LABELS_MAX - *len, "%s%s=\"%s\"", *len ? "," : "", name, esc);
	if (k > 0 && (size_t)k < LABELS_MAX - *len)
		*len += (size_t)k;
}

/* The container's labels: container_id, and where containerd confirmed its
 * name, name and its namespace, pod and container. */
static size_t ct_labels(const struct ctl_metrics_ct *c, char *buf)
{
	size_t len = 0;
	const char *name = c->name ? c->name : "";

	buf[0] = '\0';
	label(buf, &len, "container_id", c->id);
	if (name[0]) {
		const char *a = strchr(name, '/'), *b = a ? strchr(a + 1, '/') : NULL;

		label(buf, &len, "name", name);
		if (a && b && !strchr(b + 1, '/')) {
			char part[OCI_KUBE_NAME_MAX];

			snprintf(part, sizeof(part), "%.*s", (int)(a - name), name);
			label(buf, &len, "namespace", part);
			snprintf(part, sizeof(part), "%.*s", (int)(b - a - 1), a + 1);
			label(buf, &len, "pod", part);
			label(buf, &len, "container", b + 1);
		}
	}
	return len;
}

/* A mapping's: the container's, then external_address, external_port,
 * local_port, protocol and its label where it has one. */
static size_t map_labels(const struct ctl_metrics_ct *c, const struct ps_forward *w, char *buf)
{
	size_t len = ct_labels(c, buf);
	char ip[OCI_IP_LEN], num[8];

	oci_ip_format(&w->host_ip, ip);
	label(buf, &len, "external_address", ip);
	snprintf(num, sizeof(num), "%u", w->external_port);
	label(buf, &len, "external_port", num);
	snprintf(num, sizeof(num), "%u", w->local_port);
	label(buf, &len, "local_port", num);
	label(buf, &len, "protocol", oci_proto_name(w->proto));
	if (w->label[0])
		label(buf, &len, "label", w->label);
	return len;
}

static void family(FILE *o, const char *name, const char *type, const char *help)
{
	fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The metric's names of the refusal reasons (enum ps_refused), as labels. */
static const char *const refused_reason[PS_REFUSED_N] = {
	[PS_REFUSED_MAX_CONNECTIONS] = "max_connections", [PS_REFUSED_DESCRIPTORS] = "descriptors",
	[PS_REFUSED_NOT_ALLOWED] = "not_allowed",	  [PS_REFUSED_NOT_LISTENING] = "not_listening",
	[PS_REFUSED_LOCALHOST_ONLY] = "localhost_only",
};

/* For each container, which of its forwards to show: all but a repeat of
 * one listener shown already (same address, port, protocol). */
static int fwd_cmp(const void *pa, const void *pb)
{
	const struct ps_fwd_status *a = *(const struct ps_fwd_status *const *)pa;
	const struct ps_fwd_status *b = *(const struct ps_fwd_status *const *)pb;
	int r = memcmp(&a->map.host_ip, &b->map.host_ip, sizeof(a->map.host_ip));

	if (r)
		return r;
	if (a->map.external_port != b->map.external_port)
		return a->map.external_port < b->map.external_port ? -1 : 1;
	if (a->map.proto != b->map.proto)
		return a->map.proto < b->map.proto ? -1 : 1;
	return a < b ? -1 : a > b;
}

struct shown {
	const struct ctl_metrics_ct *c;
	const struct ps_fwd_status **v; /* its forwards in order, repeats left out */
	size_t n;
};

static int shown_of(const struct ctl_metrics_ct *c, struct shown *s)
{
	size_t n = c->st ? c->st->n : 0;

	s->c = c;
	s->n = 0;
	if (!(s->v = calloc(n ? n : 1, sizeof(*s->v))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		s->v[i] = &c->st->v[i];
	qsort(s->v, n, sizeof(*s->v), fwd_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct ps_forward *w = &s->v[i]->map;

		if (s->n && ps_forward_same_listener(&s->v[s->n - 1]->map, w))
			continue;
		s->v[s->n++] = s->v[i];
	}
	return 0;
}

static void host_families(FILE *o, const uint64_t refusals[CTL_METRICS_REASONS], const char *version)
{
	char esc[128];

	family(o, "portside_build_info", "gauge", "The portside version portsidectl belongs to, as a label; always 1.");
	ctl_metrics_escape(version, esc, sizeof(esc));
	fprintf(o, "portside_build_info{version=\"%s\"} 1\n", esc);
	family(o, "portside_start_refusals_total", "counter",
	       "Container starts the hook refused, by reason, as the refusal log (hook.log and hook.log.1) holds "
	       "them: it falls when the log rotates.");
	for (int r = 0; r < CTL_METRICS_REASONS; r++)
		fprintf(o, "portside_start_refusals_total{reason=\"%s\"} %" PRIu64 "\n",
			ps_reason_name((enum ps_reason)r), refusals[r]);
}

static void container_families(FILE *o, const struct shown *s, size_t n, char *lb)
{
	family(o, "portside_sidecar_up", "gauge",
	       "1 when the container's sidecar answered, 0 when it is gone (portsidectl restore brings it back).");
	for (size_t i = 0; i < n; i++) {
		ct_labels(s[i].c, lb);
		fprintf(o, "portside_sidecar_up{%s} %d\n", lb, s[i].c->up ? 1 : 0);
	}
	family(o, "portside_automatic_forwards", "gauge",
	       "Forwards the sidecar made because the app opened a port (automatic forwarding); 0 while it is down.");
	for (size_t i = 0; i < n; i++) {
		uint64_t a = 0;

		for (size_t k = 0; k < s[i].n; k++)
			a += s[i].v[k]->map.automatic;
		ct_labels(s[i].c, lb);
		fprintf(o, "portside_automatic_forwards{%s} %" PRIu64 "\n", lb, a);
	}
	family(o, "portside_udp_flows", "gauge", "UDP flows open now, over every UDP forward of the container.");
	for (size_t i = 0; i < n; i++) {
		uint64_t f = 0;

		for (size_t k = 0; k < s[i].n; k++)
			if (s[i].v[k]->map.proto == OCI_PROTO_UDP)
				f += s[i].v[k]->conns_live;
		ct_labels(s[i].c, lb);
		fprintf(o, "portside_udp_flows{%s} %" PRIu64 "\n", lb, f);
	}
	family(o, "portside_restores_total", "counter",
	       "How often portsidectl restore started the container's sidecar again.");
	for (size_t i = 0; i < n; i++) {
		ct_labels(s[i].c, lb);
		fprintf(o, "portside_restores_total{%s} %" PRIu64 "\n", lb, s[i].c->restores);
	}
}

static void mapping_families(FILE *o, const struct shown *s, size_t n, char *lb)
{
	family(o, "portside_connections_accepted_total", "counter",
	       "Clients a mapping accepted (UDP: flows opened), since its sidecar started; 0 while the sidecar is "
	       "down.");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < s[i].n; k++) {
			map_labels(s[i].c, &s[i].v[k]->map, lb);
			fprintf(o, "portside_connections_accepted_total{%s} %" PRIu64 "\n", lb, s[i].v[k]->conns_total);
		}
	family(o, "portside_connections_active", "gauge", "A mapping's open connections (UDP: flows) now.");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < s[i].n; k++) {
			map_labels(s[i].c, &s[i].v[k]->map, lb);
			fprintf(o, "portside_connections_active{%s} %" PRIu64 "\n", lb, s[i].v[k]->conns_live);
		}
	family(o, "portside_forwarded_bytes_total", "counter",
	       "Bytes a mapping forwarded, direction in (from clients to the app) or out (from the app to clients), "
	       "since its sidecar started; 0 while the sidecar is down.");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < s[i].n; k++) {
			size_t len = map_labels(s[i].c, &s[i].v[k]->map, lb);

			fprintf(o, "portside_forwarded_bytes_total{%.*s,direction=\"in\"} %" PRIu64 "\n", (int)len, lb,
				s[i].v[k]->bytes_in);
			fprintf(o, "portside_forwarded_bytes_total{%.*s,direction=\"out\"} %" PRIu64 "\n", (int)len, lb,
				s[i].v[k]->bytes_out);
		}
	family(o, "portside_connections_refused_total", "counter",
	       "Clients a mapping closed at once (UDP: first datagrams dropped), by reason, since its sidecar "
	       "started; 0 while the sidecar is down.");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < s[i].n; k++) {
			size_t len = map_labels(s[i].c, &s[i].v[k]->map, lb);

			for (int r = 0; r < PS_REFUSED_N; r++)
				fprintf(o, "portside_connections_refused_total{%.*s,reason=\"%s\"} %" PRIu64 "\n",
					(int)len, lb, refused_reason[r], s[i].v[k]->refused[r]);
		}
}

int ctl_metrics_format(FILE *out, const struct ctl_metrics_ct *ct, size_t n,
		       const uint64_t refusals[CTL_METRICS_REASONS], const char *version)
{
	struct shown *s = calloc(n ? n : 1, sizeof(*s));
	char *lb = malloc(LABELS_MAX);
	int rc = 0;

	if (!s || !lb) {
		free(s);
		free(lb);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = shown_of(&ct[i], &s[i]);
	if (rc == 0) {
		host_families(out, refusals, version);
		container_families(out, s, n, lb);
		mapping_families(out, s, n, lb);
		if (fflush(out) != 0 || ferror(out))
			rc = -EIO;
	}
	for (size_t i = 0; i < n; i++)
		free(s[i].v);
	free(s);
	free(lb);
	return rc;
}
