/* SPDX-License-Identifier: MIT */
#include "err.h"

#include <errno.h>
#include <string.h>

void oci_err_init(struct oci_err *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

unsigned oci_err_lines(const struct oci_err *e)
{
	return e->count < OCI_ERR_MAX ? e->count : OCI_ERR_MAX;
}

/* Messages quote untrusted input (annotation entries): keep them one printable
 * line so that a hostile value cannot forge extra lines in a runtime's log. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void mark_truncated(char *line, int n)
{
	if (n >= OCI_ERR_LEN)
		memcpy(line + OCI_ERR_LEN - 4, "...", 4);
}

static int vadd(struct oci_err *e, int errnum, int with_strerror, const char *fmt, va_list ap)
{
	int rc = errnum > 0 ? -errnum : -EINVAL;

	if (!e)
		return rc;
	if (e->count < OCI_ERR_MAX) {
		char *line = e->msg[e->count];
		int n = vsnprintf(line, OCI_ERR_LEN, fmt, ap);

		if (n < 0)
			n = 0, line[0] = '\0';
		if (with_strerror && n < OCI_ERR_LEN)
			n += snprintf(line + n, OCI_ERR_LEN - n, ": %s", strerror(errnum));
		mark_truncated(line, n);
		sanitize(line);
	}
	e->count++;
	return rc;
}

int oci_err_add(struct oci_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vadd(e, errnum, 0, fmt, ap);
	va_end(ap);
	return rc;
}

int oci_err_addp(struct oci_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vadd(e, errnum, 1, fmt, ap);
	va_end(ap);
	return rc;
}

void oci_err_print(const struct oci_err *e, FILE *f, const char *prefix)
{
	for (unsigned i = 0; i < oci_err_lines(e); i++)
		fprintf(f, "%s%s%s\n", prefix ? prefix : "", prefix ? ": " : "", e->msg[i]);
	if (e->count > OCI_ERR_MAX)
		fprintf(f, "%s%s... and %u more problems\n", prefix ? prefix : "", prefix ? ": " : "",
			e->count - OCI_ERR_MAX);
}

void oci_err_append(struct oci_err *dst, const struct oci_err *src, const char *prefix)
{
	if (!dst)
		return;
	for (unsigned i = 0; i < oci_err_lines(src); i++) {
		if (prefix)
			oci_err_add(dst, EINVAL, "%s: %s", prefix, src->msg[i]);
		else
			oci_err_add(dst, EINVAL, "%s", src->msg[i]);
	}
	if (src->count > OCI_ERR_MAX)
		dst->count += src->count - OCI_ERR_MAX;
}
