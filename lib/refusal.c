/* SPDX-License-Identifier: MIT */
#include "refusal.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../oci/input.h"
#include "rundir.h"

static const char *const names[] = {
	[PS_REASON_INVALID] = "invalid",    [PS_REASON_RESERVED] = "reserved", [PS_REASON_POLICY] = "policy",
	[PS_REASON_IN_USE] = "port-in-use", [PS_REASON_ADDRESS] = "address",   [PS_REASON_SIDECAR] = "sidecar",
	[PS_REASON_OTHER] = "other",
};

enum ps_reason ps_reason_of(int errnum)
{
	switch (errnum) {
	case EINVAL:
	case E2BIG:
	case EFBIG:
	case ERANGE: return PS_REASON_INVALID;
	case EACCES: return PS_REASON_RESERVED;
	case EPERM: return PS_REASON_POLICY;
	case EADDRINUSE: return PS_REASON_IN_USE;
	case EADDRNOTAVAIL: return PS_REASON_ADDRESS;
	case EIO:
	case ETIMEDOUT: return PS_REASON_SIDECAR;
	default: return PS_REASON_OTHER;
	}
}

const char *ps_reason_name(enum ps_reason r)
{
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "other";
}

int ps_refusal_encode(const struct ps_refusal *r, char **line)
{
	cleanup_json json_object *o = json_object_new_object();
	const char *s;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "time", json_object_new_string(r->time));
	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "reason", json_object_new_string(ps_reason_name(r->reason)));
	json_object_object_add(o, "message", json_object_new_string(r->message));
	/* Compact: no newline inside, so one record is one line. */
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(line, "%s\n", s) < 0)
		return -ENOMEM;
	return 0;
}

static int field(json_object *o, const char *k, char *out, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= len)
		return -EINVAL;
	memcpy(out, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return 0;
}

int ps_refusal_decode(const char *line, size_t len, struct ps_refusal *r)
{
	cleanup_json json_object *o = NULL;
	char reason[32];

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (oci_json_decode(line, len, "refusal", &o, NULL) < 0 || !json_object_is_type(o, json_type_object))
		return -EINVAL;
	/* Nobody's refusal, whatever else the line holds. */
	if (json_object_object_get_ex(o, PS_REFUSAL_UNATTRIBUTED, NULL))
		return -EINVAL;
	if (field(o, "time", r->time, sizeof(r->time)) < 0 || field(o, "id", r->id, sizeof(r->id)) < 0 ||
	    field(o, "message", r->message, sizeof(r->message)) < 0 || field(o, "reason", reason, sizeof(reason)) < 0 ||
	    !oci_id_valid(r->id))
		return -EINVAL;
	r->reason = PS_REASON_OTHER;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(reason, names[i]))
			r->reason = (enum ps_reason)i;
	return 0;
}

/* Opens the log for one append, rotated first when it is full; -errno. */
static int log_open(int *fd)
{
	char path[4096], old[4100];
	struct stat st;

	if (ps_refusal_log_path(path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (*fd < 0)
		return -errno;
	/* Bounded: /run is a tmpfs that every runtime on the host needs. */
	if (fstat(*fd, &st) == 0 && st.st_size > PS_REFUSAL_LOG_MAX) {
		snprintf(old, sizeof(old), "%s.1", path);
		if (rename(path, old) == 0) {
			oci_close(fd);
			*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
			if (*fd < 0)
				return -errno;
		}
	}
	/* Made by an older portside with another mode: what it says is the
	 * host's business only. */
	if (fchmod(*fd, 0600) < 0)
		return -errno;
	return 0;
}

static void log_time(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ps_refusal_log(const char *id, const struct oci_err *e)
{
	struct ps_refusal r;
	cleanup_close int fd = -1;
	int rc;

	if ((rc = log_open(&fd)) < 0)
		return rc;
	memset(&r, 0, sizeof(r));
	log_time(r.time, sizeof(r.time));
	snprintf(r.id, sizeof(r.id), "%s", id);
	for (unsigned i = 0; i < oci_err_lines(e); i++) {
		cleanup_free char *line = NULL;

		r.reason = ps_reason_of(e->code[i]);
		snprintf(r.message, sizeof(r.message), "%s", e->msg[i]);
		if (ps_refusal_encode(&r, &line) < 0)
			return -ENOMEM;
		/* One write a record: records of concurrent hooks never interleave. */
		if (write(fd, line, strlen(line)) < 0)
			return -errno;
	}
	return 0;
}

int ps_refusal_log_unattributed(const char *id, const struct oci_err *e)
{
	cleanup_json json_object *o = json_object_new_object();
	cleanup_free char *line = NULL;
	cleanup_close int fd = -1;
	char now[32];
	const char *s;
	int rc;

	if (!o)
		return -ENOMEM;
	if ((rc = log_open(&fd)) < 0)
		return rc;
	log_time(now, sizeof(now));
	json_object_object_add(o, "time", json_object_new_string(now));
	json_object_object_add(o, PS_REFUSAL_UNATTRIBUTED, json_object_new_string(id));
	json_object_object_add(
		o, "reason",
		json_object_new_string(ps_reason_name(oci_err_lines(e) ? ps_reason_of(e->code[0]) : PS_REASON_OTHER)));
	json_object_object_add(o, "message", json_object_new_string("a start using this id was refused"));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(&line, "%s\n", s) < 0)
		return -ENOMEM;
	return write(fd, line, strlen(line)) < 0 ? -errno : 0;
}

int ps_refusal_log_path(char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/hook.log", ps_run_dir());

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int ps_refusals_each(const char *id, void (*each)(const struct ps_refusal *r, void *arg), void *arg)
{
	static const char *const files[] = {"hook.log.1", "hook.log"};
	int n = 0;

	for (size_t i = 0; i < 2; i++) {
		char path[4096], line[4096];
		cleanup_close int fd = -1;
		cleanup_fclose FILE *f = NULL;

		snprintf(path, sizeof(path), "%s/%s", ps_run_dir(), files[i]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0 || !(f = fdopen(fd, "r")))
			continue;
		fd = -1; /* the FILE owns it */
		while (fgets(line, sizeof(line), f)) {
			struct ps_refusal r;

			if (ps_refusal_decode(line, strlen(line), &r) == 0 && (!id || !strcmp(r.id, id))) {
				each(&r, arg);
				n++;
			}
		}
	}
	return n;
}
