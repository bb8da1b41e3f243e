/* SPDX-License-Identifier: MIT */
#include "events.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "../base/cleanup.h"
#include "../oci/input.h"
#include "../oci/ports.h"

static const char *const names[] = {
	[PS_EV_FORWARDED] = "forwarded", [PS_EV_AUTO_FORWARDED] = "auto-forwarded",
	[PS_EV_CLOSED] = "closed",	 [PS_EV_REFUSED] = "refused",
	[PS_EV_STOPPED] = "stopped",	 [PS_EV_DROPPED] = "dropped",
};

const char *ps_event_name(enum ps_event_kind k)
{
	return (unsigned)k < PS_EV_N ? names[k] : "unknown";
}

void ps_event_time(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	char s[24];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", s, (long)tv.tv_usec / 1000);
}

bool ps_event_time_valid(const char *t)
{
	/* YYYY-MM-DDTHH:MM:SS, then .fff (1 to 9 digits) or nothing, then Z. */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	for (i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !(t[i] >= '0' && t[i] <= '9') : t[i] != shape[i])
			return false;
	if (t[i] == '.') {
		size_t d = 0;

		while (d < 9 && t[i + 1 + d] >= '0' && t[i + 1 + d] <= '9')
			d++;
		if (d == 0)
			return false;
		i += 1 + d;
	}
	return t[i] == 'Z' && t[i + 1] == '\0';
}

int ps_event_encode(const struct ps_event *ev, char *buf, size_t len)
{
	cleanup_json json_object *o = json_object_new_object();
	const char *s;
	int n;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "time", json_object_new_string(ev->time));
	json_object_object_add(o, "id", json_object_new_string(ev->id));
	json_object_object_add(o, "event", json_object_new_string(ps_event_name(ev->kind)));
	if (ev->has_port) {
		json_object_object_add(o, "protocol", json_object_new_string(oci_proto_name(ev->proto)));
		if (ev->host_ip.family) {
			char ip[OCI_IP_LEN];

			oci_ip_format(&ev->host_ip, ip);
			json_object_object_add(o, "hostIP", json_object_new_string(ip));
			json_object_object_add(o, "externalPort", json_object_new_int((int)ev->external_port));
		}
		json_object_object_add(o, "localPort", json_object_new_int((int)ev->local_port));
	}
	if (ev->reason[0])
		json_object_object_add(o, "reason", json_object_new_string(ev->reason));
	if (ev->message[0])
		json_object_object_add(o, "message", json_object_new_string(ev->message));
	/* Plain: no newline inside, so one event is one line. */
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || (n = snprintf(buf, len, "%s\n", s)) < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

static int str(json_object *o, const char *k, char *out, size_t len, bool need)
{
	json_object *v;

	out[0] = '\0';
	if (!json_object_object_get_ex(o, k, &v))
		return need ? -EINVAL : 0;
	if (!json_object_is_type(v, json_type_string) || (size_t)json_object_get_string_len(v) >= len)
		return -EINVAL;
	memcpy(out, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return 0;
}

static int port(json_object *o, const char *k, unsigned *out)
{
	json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int) ||
	    (n = json_object_get_int64(v)) < 0 || n > 65535)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

int ps_event_decode(const char *line, size_t len, struct ps_event *ev)
{
	cleanup_json json_object *o = NULL;
	char name[24], proto[8], ip[OCI_IP_LEN + 1];

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	memset(ev, 0, sizeof(*ev));
	if (len == 0 || len > PS_EVENT_LINE_MAX || oci_json_decode(line, len, "event", &o, NULL) < 0 ||
	    !json_object_is_type(o, json_type_object))
		return -EINVAL;
	/* The time is printed as it is: digits in one shape, nothing else. */
	if (str(o, "time", ev->time, sizeof(ev->time), true) < 0 || !ps_event_time_valid(ev->time) ||
	    str(o, "id", ev->id, sizeof(ev->id), true) < 0 || str(o, "event", name, sizeof(name), true) < 0 ||
	    !oci_id_valid(ev->id) || str(o, "reason", ev->reason, sizeof(ev->reason), false) < 0 ||
	    str(o, "message", ev->message, sizeof(ev->message), false) < 0 ||
	    str(o, "protocol", proto, sizeof(proto), false) < 0 || str(o, "hostIP", ip, sizeof(ip), false) < 0)
		return -EINVAL;
	ev->kind = PS_EV_N;
	for (unsigned i = 0; i < PS_EV_N; i++)
		if (!strcmp(name, names[i]))
			ev->kind = (enum ps_event_kind)i;
	if (ev->kind == PS_EV_N)
		return -EINVAL;
	if (proto[0]) {
		uint8_t pr;

		if (oci_proto_parse(proto, &pr) < 0)
			return -EINVAL;
		ev->has_port = true;
		ev->proto = pr;
		if (port(o, "localPort", &ev->local_port) < 0)
			return -EINVAL;
		if (ip[0] && (oci_ip_parse(ip, &ev->host_ip) < 0 || port(o, "externalPort", &ev->external_port) < 0))
			return -EINVAL;
	}
	return 0;
}
