/* SPDX-License-Identifier: MIT */
/* libFuzzer: the JSON grammar check every portside document passes first
 * (oci/jsoncheck.c). Whatever it accepts, json-c in strict mode must parse
 * whole, to the end of the input: otherwise portside and another reader of
 * the same annotation could disagree on what it says. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../oci/jsoncheck.h"

#define DEPTH 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	size_t off = 0;

	if (oci_json_check((const char *)data, size, DEPTH, &why, &off) < 0) {
		if (!why || off > size)
			abort(); /* a refusal always says why, and where */
		return 0;
	}
	/* Accepted: no NUL inside (json-c would stop there), and json-c agrees. */
	if (memchr(data, '\0', size))
		abort();
	struct json_tokener *tok = json_tokener_new_ex(DEPTH + 1);
	json_object *o;

	if (!tok)
		return 0;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* With its NUL: a bare number ends there, as at the end of a file. */
	char *buf = malloc(size + 1);

	if (!buf) {
		json_tokener_free(tok);
		return 0;
	}
	memcpy(buf, data, size);
	buf[size] = '\0';
	o = json_tokener_parse_ex(tok, buf, (int)size + 1);
	if (json_tokener_get_error(tok) != json_tokener_success)
		abort();
	/* Nothing but whitespace after the value. */
	for (size_t i = json_tokener_get_parse_end(tok); i < size; i++)
		if (!strchr(" \t\r\n", buf[i]))
			abort();
	free(buf);
	json_object_put(o);
	json_tokener_free(tok);
	return 0;
}
