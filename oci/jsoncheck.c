/* SPDX-License-Identifier: MIT */
#include "jsoncheck.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MEMBERS 8192 /* per object; bounds the duplicate search */

struct scan {
	const char *s;
	size_t n, i;
	unsigned depth, max_depth;
	const char *why;
};

static int fail(struct scan *sc, const char *why)
{
	sc->why = sc->i >= sc->n ? "JSON ends early" : why;
	return -EINVAL;
}

static void skip_ws(struct scan *sc)
{
	while (sc->i < sc->n &&
	       (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' || sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
		sc->i++;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int scan_string(struct scan *sc)
{
	sc->i++; /* the opening quote */
	while (sc->i < sc->n) {
		unsigned char c = (unsigned char)sc->s[sc->i];

		if (c == '"') {
			sc->i++;
			return 0;
		}
		if (c < 0x20)
			return fail(sc, "control character in a string");
		if (c == '\\') {
			if (++sc->i >= sc->n)
				break;
			c = (unsigned char)sc->s[sc->i];
			if (c == 'u') {
				for (int k = 1; k <= 4; k++)
					if (sc->i + (size_t)k >= sc->n || !is_hex(sc->s[sc->i + (size_t)k]))
						return fail(sc, "bad \\u escape");
				sc->i += 4;
			} else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
				return fail(sc, "bad escape in a string");
			}
		}
		sc->i++;
	}
	return fail(sc, "unterminated string");
}

static size_t digits(struct scan *sc)
{
	size_t start = sc->i;

	while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
		sc->i++;
	return sc->i - start;
}

static int scan_number(struct scan *sc)
{
	if (sc->s[sc->i] == '-')
		sc->i++;
	if (sc->i < sc->n && sc->s[sc->i] == '0')
		sc->i++;
	else if (digits(sc) == 0)
		return fail(sc, "bad number");
	if (sc->i < sc->n && sc->s[sc->i] == '.') {
		sc->i++;
		if (digits(sc) == 0)
			return fail(sc, "bad number");
	}
	if (sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
		sc->i++;
		if (sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
			sc->i++;
		if (digits(sc) == 0)
			return fail(sc, "bad number");
	}
	return 0;
}

static int scan_word(struct scan *sc, const char *w)
{
	size_t k = strlen(w);

	if (sc->n - sc->i < k || memcmp(sc->s + sc->i, w, k))
		return fail(sc, "unexpected character");
	sc->i += k;
	return 0;
}

static int scan_value(struct scan *sc);

struct key {
	size_t off, len;
};

static int scan_object(struct scan *sc)
{
	struct key *keys = NULL;
	size_t nkeys = 0, cap = 0;
	int rc = 0;

	sc->i++;
	skip_ws(sc);
	if (sc->i < sc->n && sc->s[sc->i] == '}') {
		sc->i++;
		return 0;
	}
	for (;;) {
		size_t start;

		skip_ws(sc);
		if (sc->i >= sc->n || sc->s[sc->i] != '"') {
			rc = fail(sc, "expected a quoted member name");
			break;
		}
		start = sc->i;
		if ((rc = scan_string(sc)) < 0)
			break;
		for (size_t k = 0; k < nkeys; k++) {
			if (keys[k].len == sc->i - start && !memcmp(sc->s + keys[k].off, sc->s + start, keys[k].len)) {
				sc->i = start;
				rc = fail(sc, "member named twice in one object");
				goto out;
			}
		}
		if (nkeys == cap) {
			struct key *nk;

			if (cap >= MAX_MEMBERS) {
				rc = fail(sc, "too many members in one object");
				break;
			}
			cap = cap ? cap * 2 : 16;
			nk = realloc(keys, cap * sizeof(*keys));
			if (!nk) {
				rc = fail(sc, "out of memory");
				break;
			}
			keys = nk;
		}
		keys[nkeys++] = (struct key){start, sc->i - start};
		skip_ws(sc);
		if (sc->i >= sc->n || sc->s[sc->i] != ':') {
			rc = fail(sc, "expected ':'");
			break;
		}
		sc->i++;
		if ((rc = scan_value(sc)) < 0)
			break;
		skip_ws(sc);
		if (sc->i < sc->n && sc->s[sc->i] == ',') {
			sc->i++;
			continue;
		}
		if (sc->i < sc->n && sc->s[sc->i] == '}') {
			sc->i++;
			break;
		}
		rc = fail(sc, "expected ',' or '}'");
		break;
	}
out:
	free(keys);
	return rc;
}

static int scan_array(struct scan *sc)
{
	sc->i++;
	skip_ws(sc);
	if (sc->i < sc->n && sc->s[sc->i] == ']') {
		sc->i++;
		return 0;
	}
	for (;;) {
		if (scan_value(sc) < 0)
			return -EINVAL;
		skip_ws(sc);
		if (sc->i < sc->n && sc->s[sc->i] == ',') {
			sc->i++;
			continue;
		}
		if (sc->i < sc->n && sc->s[sc->i] == ']') {
			sc->i++;
			return 0;
		}
		return fail(sc, "expected ',' or ']'");
	}
}

static int scan_value(struct scan *sc)
{
	int rc;

	skip_ws(sc);
	if (sc->i >= sc->n)
		return fail(sc, "JSON ends early");
	switch (sc->s[sc->i]) {
	case '{':
	case '[':
		if (++sc->depth > sc->max_depth)
			return fail(sc, "nested too deep");
		rc = sc->s[sc->i] == '{' ? scan_object(sc) : scan_array(sc);
		sc->depth--;
		return rc;
	case '"': return scan_string(sc);
	case 't': return scan_word(sc, "true");
	case 'f': return scan_word(sc, "false");
	case 'n': return scan_word(sc, "null");
	default:
		if (sc->s[sc->i] == '-' || (sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9'))
			return scan_number(sc);
		return fail(sc, "unexpected character");
	}
}

int oci_json_check(const char *buf, size_t len, unsigned max_depth, const char **why, size_t *off)
{
	struct scan sc = {.s = buf, .n = len, .max_depth = max_depth};

	if (scan_value(&sc) == 0) {
		skip_ws(&sc);
		if (sc.i == sc.n)
			return 0;
		sc.why = "trailing characters after the JSON value";
	}
	*why = sc.why;
	*off = sc.i;
	return -EINVAL;
}
