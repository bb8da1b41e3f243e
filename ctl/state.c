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

const char *ctl_short_id(const char *id, char *buf, size_t len)
{
	/* A runtime's random id: 12 characters, as podman and docker show it.
	 * An id someone chose (runc run NAME): whole, or it would not be one. */
	if (strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64)
		snprintf(buf, len, "%.12s", id);
	else
		snprintf(buf, len, "%s", id);
	return buf;
}

const char *ctl_sid(const char *id)
{
	/* A few at once in one message; portsidectl is one thread. */
	static char ring[4][CTL_SHORT_ID_LEN];
	static unsigned next;

	return ctl_short_id(id, ring[next++ % 4], CTL_SHORT_ID_LEN);
}
