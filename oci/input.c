/* SPDX-License-Identifier: MIT */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "jsoncheck.h"

int oci_read_fd(int fd, size_t max, const char *what, char **out, size_t *len, struct oci_err *e)
{
	cleanup_free char *buf = NULL;
	size_t cap = 0, n = 0;

	for (;;) {
		if (n == cap) {
			/* Grow geometrically but never past max + 1: one byte beyond
			 * the cap is how an oversized input is told apart. */
			size_t ncap = cap ? cap * 2 : 4096;
			char *nb;

			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= cap)
				return oci_err_add(e, EFBIG, "%s is larger than %zu bytes", what, max);
			nb = realloc(buf, ncap + 1);
			if (!nb)
				return oci_err_add(e, ENOMEM, "%s: out of memory", what);
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return oci_err_addp(e, errno, "reading %s", what);
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			return oci_err_add(e, EFBIG, "%s is larger than %zu bytes", what, max);
	}
	if (!buf && !(buf = malloc(1)))
		return oci_err_add(e, ENOMEM, "%s: out of memory", what);
	buf[n] = '\0';
	*len = n;
	*out = buf;
	buf = NULL; /* ownership to the caller */
	return 0;
}

int oci_read_file(const char *path, size_t max, char **out, size_t *len, struct oci_err *e)
{
	cleanup_close int fd = -1;
	struct stat st;

	do
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return oci_err_addp(e, errno, "cannot open %s", path);
	/* A FIFO or device here would block or never end: refuse it. */
	if (fstat(fd, &st) < 0)
		return oci_err_addp(e, errno, "cannot stat %s", path);
	if (!S_ISREG(st.st_mode))
		return oci_err_add(e, EINVAL, "%s is not a regular file", path);
	return oci_read_fd(fd, max, path, out, len, e);
}

bool oci_utf8_valid(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf, *end = s + len;

	while (s < end) {
		unsigned c = *s++;
		unsigned need, min;
		uint32_t cp;

		if (c == 0)
			return false;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if ((size_t)(end - s) < need)
			return false;
		while (need--) {
			if ((*s & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*s++ & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

int oci_json_decode(const char *buf, size_t len, const char *what, json_object **out, struct oci_err *e)
{
	json_tokener *tok;
	json_object *obj;
	const char *why;
	size_t off;

	if (!oci_utf8_valid(buf, len))
		return oci_err_add(e, EINVAL, "%s is not valid UTF-8 text", what);
	if (len > INT32_MAX)
		return oci_err_add(e, EFBIG, "%s is too large", what);
	/* Strict grammar first: json-c alone would take NaN, 'quotes' and
	 * duplicate keys (see jsoncheck.h). */
	if (oci_json_check(buf, len, OCI_JSON_MAX_DEPTH, &why, &off) < 0)
		return oci_err_add(e, EINVAL, "%s: invalid JSON at byte %zu: %s", what, off, why);
	tok = json_tokener_new_ex(OCI_JSON_MAX_DEPTH);
	if (!tok)
		return oci_err_add(e, ENOMEM, "%s: out of memory", what);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		/* The grammar check passed, so this is json-c running out of memory
		 * or disagreeing with RFC 8259: refuse either way. */
		json_object_put(obj);
		return oci_err_add(e, EINVAL, "%s: cannot decode JSON: %s", what, json_tokener_error_desc(jerr));
	}
	*out = obj; /* ownership to the caller (NULL for a JSON null) */
	return 0;
}

const char *oci_json_type_name(const json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a number with a fraction";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "an unknown type";
}

int oci_json_port(const json_object *o, const char *what, unsigned *port, struct oci_err *e)
{
	int64_t v;

	if (!json_object_is_type(o, json_type_int))
		return oci_err_add(e, EINVAL, "%s must be an integer port 1-65535, not %s", what,
				   oci_json_type_name(o));
	/* json-c clamps values beyond int64 and sets errno: treat both the same. */
	errno = 0;
	v = json_object_get_int64(o);
	if (errno || v < 1 || v > 65535)
		return oci_err_add(e, ERANGE, "%s: %s is out of range 1-65535", what,
				   json_object_to_json_string_ext((json_object *)o, JSON_C_TO_STRING_PLAIN));
	*port = (unsigned)v;
	return 0;
}
