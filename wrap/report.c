/* SPDX-License-Identifier: MIT */
/* A refusal, said where containerd looks: its shim runs the runtime with
 * --log FILE --log-format json and, when the runtime fails, puts the last
 * error of that file into the CRI error (what `kubectl describe pod`
 * shows); the runtime's stderr it drops. */
#include <fcntl.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "wrap.h"

static void log_line(int fd, bool json, const char *msg)
{
	char when[32], line[OCI_ERR_LEN + 160];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	if (json) {
		cleanup_json json_object *o = json_object_new_object();

		if (!o)
			return;
		json_object_object_add(o, "level", json_object_new_string("error"));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		json_object_object_add(o, "time", json_object_new_string(when));
		n = snprintf(line, sizeof(line), "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	} else {
		char quoted[OCI_ERR_LEN + 16];

		/* logfmt: the message in double quotes, none inside. */
		snprintf(quoted, sizeof(quoted), "%s", msg);
		for (char *q = quoted; (q = strchr(q, '"'));)
			*q = '\'';
		n = snprintf(line, sizeof(line), "time=\"%s\" level=error msg=\"%s\"\n", when, quoted);
	}
	if (n > 0 && (size_t)n < sizeof(line) && write(fd, line, (size_t)n) < 0)
		return; /* nowhere else to say it */
}

void wr_report(const struct wr_call *c, const struct oci_err *e)
{
	cleanup_close int fd = -1;
	char msg[OCI_ERR_LEN + 16];

	oci_err_print(e, stderr, "portside");
	if (!c->log || !c->log[0])
		return;
	/* The shim's file, in its own directory: appended to as runc does,
	 * never through a link. */
	fd = open(c->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return;
	for (unsigned i = 0; i < oci_err_lines(e); i++) {
		snprintf(msg, sizeof(msg), "portside: %s", e->msg[i]);
		log_line(fd, c->log_format && !strcmp(c->log_format, "json"), msg);
	}
}
