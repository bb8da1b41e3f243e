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

#include "../lib/control.h"
#include "../lib/rundir.h"
#include "../base/cleanup.h"
#include "../oci/input.h"
#include "../oci/ports.h"
#include "ctl.h"

/* A status of every forward a container may have (maxPorts 4096 on two
 * addresses, plus automatic ones) fits, with room to spare. */
#define CTL_REPLY_MAX (4 << 20)

json_object *ctl_ask(const char *id, enum ps_ctl_cmd cmd)
{
	char *reply = malloc(CTL_REPLY_MAX);
	json_object *o = NULL;
	struct oci_err e;
	int n;

	if (!reply)
		return NULL;
	n = ps_ctl_call(id, cmd, NULL, -1, reply, CTL_REPLY_MAX, 1000);
	oci_err_init(&e);
	if (n > 0 && oci_json_decode(reply, (size_t)n, "reply", &o, &e) < 0)
		o = NULL;
	free(reply);
	return o;
}

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

size_t ctl_read_status(json_object *status, struct ctl_fwd *out, size_t max, long long *conns)
{
	json_object *arr, *it, *v;
	size_t n = 0;

	*conns = status && json_object_object_get_ex(status, "connections", &v) ? json_object_get_int64(v) : 0;
	if (!status || !json_object_object_get_ex(status, "forwards", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(arr) && n < max; i++) {
		struct ctl_fwd *l = &out[n];

		it = json_object_array_get_idx(arr, i);
		memset(l, 0, sizeof(*l));
		if (!json_object_object_get_ex(it, "hostIP", &v) || oci_ip_parse(json_object_get_string(v), &l->ip) < 0)
			continue;
		l->ext = json_object_object_get_ex(it, "externalPort", &v) ? (unsigned)json_object_get_int(v) : 0;
		l->local = json_object_object_get_ex(it, "localPort", &v) ? (unsigned)json_object_get_int(v) : 0;
		l->proto = json_object_object_get_ex(it, "protocol", &v) && !strcmp(json_object_get_string(v), "udp")
				   ? OCI_PROTO_UDP
				   : OCI_PROTO_TCP;
		l->is_auto = json_object_object_get_ex(it, "auto", &v) && json_object_get_boolean(v);
		n++;
	}
	return n;
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
