/* SPDX-License-Identifier: MIT */
/* What portsidectl reads of /run/portside: the forwarded containers, their
 * records, and what their sidecars say. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/refusal.h"
#include "../lib/rundir.h"
#include "../base/cleanup.h"
#include "../oci/input.h"
#include "../oci/ports.h"
#include "ctl.h"

int ctl_ids(char ***out, size_t *n)
{
	cleanup_closedir DIR *d = ps_containers_open();
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !oci_id_valid(de->d_name))
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
		}
		if (!(v[*n] = strdup(de->d_name)))
			break;
		(*n)++;
	}
	*out = v;
	return 0;
}

void ctl_ids_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void ctl_format_addr(const struct oci_ip *ip, unsigned port, char *buf, size_t len)
{
	char a[OCI_IP_LEN];

	oci_ip_format(ip, a);
	if (ip->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

/* Every id portside knows, loaded once: portsidectl is one short-lived
 * thread, and its messages should name each container the same way. */
static struct {
	char **v;
	size_t n, cap;
	bool loaded;
} known;

static void known_add(const char *id)
{
	for (size_t i = 0; i < known.n; i++)
		if (!strcmp(known.v[i], id))
			return;
	if (known.n == known.cap) {
		char **nv = realloc(known.v, (known.cap = known.cap ? known.cap * 2 : 16) * sizeof(*nv));

		if (!nv)
			return;
		known.v = nv;
	}
	if ((known.v[known.n] = strdup(id)))
		known.n++;
}

static void known_refused(const struct ps_refusal *r, void *arg)
{
	(void)arg;
	if (oci_id_valid(r->id))
		known_add(r->id);
}

static void known_free(void)
{
	ctl_ids_free(known.v, known.n);
}

static void known_load(void)
{
	char **ids = NULL;
	size_t n = 0;

	if (known.loaded)
		return;
	known.loaded = true;
	if (ctl_ids(&ids, &n) == 0)
		for (size_t i = 0; i < n; i++)
			known_add(ids[i]);
	ctl_ids_free(ids, n);
	ps_refusals_each(NULL, known_refused, NULL);
	atexit(known_free);
}

const char *ctl_short_id(const char *id, char *buf, size_t len)
{
	/* A runtime's random id: 12 characters, as podman and docker show it,
	 * unless another id (one chosen to be exactly those 12, or sharing
	 * them) would then read the same. An id someone chose (runc run NAME):
	 * whole, or it would not be one. */
	known_load();
	snprintf(buf, len, "%.*s", (int)ctl_id_display_len(known.v, known.n, id), id);
	return buf;
}

const char *ctl_sid(const char *id)
{
	/* A few at once in one message; portsidectl is one thread. */
	static char ring[4][CTL_SHORT_ID_LEN];
	static unsigned next;

	return ctl_short_id(id, ring[next++ % 4], CTL_SHORT_ID_LEN);
}

int ctl_status_from_record(const struct ps_forwards *f, struct ps_status *st)
{
	memset(st, 0, sizeof(*st));
	if (!f || !f->n)
		return 0;
	if (!(st->v = calloc(f->n, sizeof(*st->v))))
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++)
		st->v[i].map = f->v[i];
	st->n = f->n;
	return 0;
}
