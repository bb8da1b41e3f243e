/* SPDX-License-Identifier: MIT */
#include "err.h"

#include <errno.h>
#include <stdbool.h>
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

/* Code points that change how a line is shown: C1 controls, the bidi marks,
 * embeddings, overrides and isolates, and the line/paragraph separators. */
static bool deceptive(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Length of the valid UTF-8 sequence at S (N bytes left) and its code point,
 * or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len;
	unsigned min;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, *cp = s[0] & 0x1fu, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, *cp = s[0] & 0x0fu, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, *cp = s[0] & 0x07u, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3fu);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

void oci_sanitize(const char *src, char *dst, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strlen(src), o = 0;

	if (!len)
		return;
	for (size_t i = 0; i < n && o + 1 < len;) {
		unsigned cp;
		size_t k;

		if (s[i] < 0x80) {
			dst[o++] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
			i++;
		} else if ((k = utf8_seq(s + i, n - i, &cp)) == 0) {
			dst[o++] = '?';
			i++;
		} else if (deceptive(cp)) {
			if (o + 7 > len)
				break;
			o += (size_t)snprintf(dst + o, len - o, "\\u%04x", cp);
			i += k;
		} else {
			if (o + k + 1 > len)
				break;
			memcpy(dst + o, s + i, k);
			o += k;
			i += k;
		}
	}
	dst[o] = '\0';
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
		char raw[OCI_ERR_LEN];
		int n = vsnprintf(raw, OCI_ERR_LEN, fmt, ap);

		if (n < 0)
			n = 0, raw[0] = '\0';
		if (with_strerror && n < OCI_ERR_LEN)
			n += snprintf(raw + n, OCI_ERR_LEN - (size_t)n, ": %s", strerror(errnum));
		mark_truncated(raw, n);
		oci_sanitize(raw, e->msg[e->count], OCI_ERR_LEN);
		e->code[e->count] = errnum > 0 ? errnum : EINVAL;
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
			oci_err_add(dst, src->code[i], "%s: %s", prefix, src->msg[i]);
		else
			oci_err_add(dst, src->code[i], "%s", src->msg[i]);
	}
	if (src->count > OCI_ERR_MAX)
		dst->count += src->count - OCI_ERR_MAX;
}
