/* SPDX-License-Identifier: MIT */
#include "jsoncheck.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
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

/* A member name, unescaped, for the duplicate check: json-c unescapes names
 * before it stores them, so "a" and "\u0061" are one member to it, the later
 * silently winning. */
struct name {
	char *b;
	size_t len, cap;
};

static int name_put(struct name *nm, const char *p, size_t n)
{
	if (!nm)
		return 0;
	if (nm->len + n > nm->cap) {
		size_t cap = nm->cap ? nm->cap : 64;
		char *nb;

		while (cap < nm->len + n)
			cap *= 2;
		if (!(nb = realloc(nm->b, cap)))
			return -ENOMEM;
		nm->b = nb;
		nm->cap = cap;
	}
	memcpy(nm->b + nm->len, p, n);
	nm->len += n;
	return 0;
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++)
		v = v * 16 + (unsigned)(p[k] <= '9' ? p[k] - '0' : (p[k] | 0x20) - 'a' + 10);
	return v;
}

static int put_utf8(struct name *nm, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80)
		u[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	else if (cp < 0x10000)
		u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
		u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	else
		u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
	return name_put(nm, u, n);
}

/* Scans a string; with NM (a member name), also unescapes it into NM, and
 * refuses a NUL or a lone surrogate in it (json-c would cut or mangle it). */
static int scan_string(struct scan *sc, struct name *nm)
{
	static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";

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
			const char *e;

			if (++sc->i >= sc->n)
				break;
			c = (unsigned char)sc->s[sc->i];
			if (c == 'u') {
				unsigned cp;

				for (int k = 1; k <= 4; k++)
					if (sc->i + (size_t)k >= sc->n || !is_hex(sc->s[sc->i + (size_t)k]))
						return fail(sc, "bad \\u escape");
				cp = hex4(sc->s + sc->i + 1);
				sc->i += 4;
				if (nm && cp >= 0xd800 && cp <= 0xdbff && sc->i + 6 < sc->n &&
				    sc->s[sc->i + 1] == '\\' && sc->s[sc->i + 2] == 'u' && is_hex(sc->s[sc->i + 3]) &&
				    is_hex(sc->s[sc->i + 4]) && is_hex(sc->s[sc->i + 5]) && is_hex(sc->s[sc->i + 6])) {
					unsigned lo = hex4(sc->s + sc->i + 3);

					if (lo >= 0xdc00 && lo <= 0xdfff) {
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
						sc->i += 6;
					}
				}
				if (nm && cp == 0)
					return fail(sc, "NUL in a member name");
				if (nm && cp >= 0xd800 && cp <= 0xdfff)
					return fail(sc, "lone surrogate in a member name");
				if (put_utf8(nm, cp) < 0)
					return fail(sc, "out of memory");
			} else if (c == '\0' || !(e = strchr(esc_in, c))) {
				return fail(sc, "bad escape in a string");
			} else if (name_put(nm, &esc_out[e - esc_in], 1) < 0) {
				return fail(sc, "out of memory");
			}
			sc->i++;
			continue;
		}
		if (name_put(nm, (const char *)&c, 1) < 0)
			return fail(sc, "out of memory");
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

/* The member names of one object: unescaped bytes in NAMES, and an open
 * addressing table of their offsets, so that the duplicate check is linear
 * (a config.json of 4 MiB with one huge object costs the hook no more than
 * reading it). */
struct members {
	struct name names;
	size_t *off, *len; /* per member */
	size_t n;
	size_t *slot; /* member index + 1; 0 empty */
	size_t nslots;
};

static uint64_t fnv(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

static void members_free(struct members *m)
{
	free(m->names.b);
	free(m->off);
	free(m->len);
	free(m->slot);
}

/* The name at OFF; the buffer is NULL while every name so far is "". */
static const char *name_at(const struct members *m, size_t off)
{
	return m->names.b ? m->names.b + off : "";
}

/* Adds the name at NAMES[START..] (just unescaped). 1 if it was there already,
 * 0 if added, -ENOMEM. */
static int members_add(struct members *m, size_t start)
{
	size_t len = m->names.len - start;
	const char *p = name_at(m, start);

	if ((m->n + 1) * 2 > m->nslots) {
		size_t ns = m->nslots ? m->nslots * 2 : 32;
		size_t *slot = calloc(ns, sizeof(*slot));
		size_t *off = realloc(m->off, ns / 2 * sizeof(*off));

		if (off)
			m->off = off;
		size_t *ln = off ? realloc(m->len, ns / 2 * sizeof(*ln)) : NULL;
		if (ln)
			m->len = ln;
		if (!slot || !off || !ln) {
			free(slot);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->n; i++) {
			size_t h = (size_t)fnv(name_at(m, m->off[i]), m->len[i]) & (ns - 1);

			while (slot[h])
				h = (h + 1) & (ns - 1);
			slot[h] = i + 1;
		}
		free(m->slot);
		m->slot = slot;
		m->nslots = ns;
	}
	size_t h = (size_t)fnv(p, len) & (m->nslots - 1);
	for (; m->slot[h]; h = (h + 1) & (m->nslots - 1)) {
		size_t k = m->slot[h] - 1;

		if (m->len[k] == len && !memcmp(name_at(m, m->off[k]), p, len))
			return 1;
	}
	m->slot[h] = m->n + 1;
	m->off[m->n] = start;
	m->len[m->n++] = len;
	return 0;
}

static int scan_object(struct scan *sc)
{
	struct members m = {{NULL, 0, 0}, NULL, NULL, 0, NULL, 0};
	int rc = 0;

	sc->i++;
	skip_ws(sc);
	if (sc->i < sc->n && sc->s[sc->i] == '}') {
		sc->i++;
		return 0;
	}
	for (;;) {
		size_t start, nstart = m.names.len;
		int dup;

		skip_ws(sc);
		if (sc->i >= sc->n || sc->s[sc->i] != '"') {
			rc = fail(sc, "expected a quoted member name");
			break;
		}
		start = sc->i;
		if ((rc = scan_string(sc, &m.names)) < 0)
			break;
		if (m.n >= MAX_MEMBERS) {
			rc = fail(sc, "too many members in one object");
			break;
		}
		if ((dup = members_add(&m, nstart)) != 0) {
			sc->i = start;
			rc = fail(sc, dup > 0 ? "member named twice in one object" : "out of memory");
			break;
		}
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
	members_free(&m);
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
	case '"': return scan_string(sc, NULL);
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
