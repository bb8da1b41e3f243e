/* SPDX-License-Identifier: MIT */
/* The control protocol's codec (lib/control.h): request lines and APPLY's
 * head, encoded by portsidectl and the hook, decoded by the sidecar. Pure,
 * so that the fuzzer reaches it. */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../oci/state.h"

static const char *const words[] = {
	[PS_CTL_STOP] = "stop",	  [PS_CTL_STATUS] = "status",	[PS_CTL_LISTENERS] = "listeners",
	[PS_CTL_ADOPT] = "adopt", [PS_CTL_RELEASE] = "release", [PS_CTL_APPLY] = "apply",
};

static bool takes_id(enum ps_ctl_cmd cmd)
{
	return cmd == PS_CTL_ADOPT || cmd == PS_CTL_RELEASE;
}

int ps_ctl_encode(enum ps_ctl_cmd cmd, const char *id, char *buf, size_t len)
{
	int n;

	if ((unsigned)cmd >= PS_CTL_UNKNOWN || cmd == PS_CTL_APPLY)
		return -EINVAL;
	n = takes_id(cmd) ? snprintf(buf, len, "%s %s\n", words[cmd], id ? id : "")
			  : snprintf(buf, len, "%s\n", words[cmd]);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

enum ps_ctl_cmd ps_ctl_decode(const char *line, const char **arg)
{
	*arg = "";
	for (unsigned c = 0; c < PS_CTL_UNKNOWN; c++) {
		size_t w = strlen(words[c]);

		if (strncmp(line, words[c], w))
			continue;
		if (c == PS_CTL_APPLY) {
			if (line[w] != ' ')
				return PS_CTL_UNKNOWN;
			*arg = line + w + 1;
			return PS_CTL_APPLY;
		}
		if (!takes_id((enum ps_ctl_cmd)c))
			return line[w] == '\0' ? (enum ps_ctl_cmd)c : PS_CTL_UNKNOWN;
		if (line[w] != ' ' || !oci_id_valid(line + w + 1))
			return PS_CTL_UNKNOWN;
		*arg = line + w + 1;
		return (enum ps_ctl_cmd)c;
	}
	return PS_CTL_UNKNOWN;
}

int ps_ctl_remaining_encode(unsigned n, char *buf, size_t len)
{
	int k = snprintf(buf, len, "remaining %u\n", n);

	return k < 0 || (size_t)k >= len ? -ENAMETOOLONG : k;
}

int ps_ctl_remaining_decode(const char *reply, unsigned *n)
{
	return sscanf(reply, "remaining %u", n) == 1 ? 0 : -EINVAL;
}

static bool reason_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= PS_APPLY_REASON_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
			return false;
	return true;
}

static bool by_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= PS_APPLY_BY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

int ps_apply_head_encode(const struct ps_apply_head *h, char *buf, size_t len)
{
	int n;

	if (h->bytes == 0 || h->bytes > PS_APPLY_MAX_BYTES || h->nfds > PS_APPLY_MAX_FDS || !reason_valid(h->reason) ||
	    !by_valid(h->by))
		return -EINVAL;
	n = snprintf(buf, len, "apply %zu %zu %s %s %s\n", h->bytes, h->nfds, h->close_conns ? "close" : "keep",
		     h->reason, h->by);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

int ps_apply_head_decode(const char *arg, struct ps_apply_head *h)
{
	char close_word[8];
	unsigned long long bytes, nfds;
	int at = 0;

	memset(h, 0, sizeof(*h));
	/* Digits only (no sign, no space before them), then the words. */
	if (arg[0] < '0' || arg[0] > '9' ||
	    sscanf(arg, "%llu %llu %7[a-z] %23[a-z-]%n", &bytes, &nfds, close_word, h->reason, &at) != 4 || !at ||
	    arg[at] != ' ')
		return -EINVAL; /* a reason cut at its longest is not one */
	at++;
	if (bytes == 0 || bytes > PS_APPLY_MAX_BYTES || nfds > PS_APPLY_MAX_FDS)
		return -EINVAL;
	if (strcmp(close_word, "close") && strcmp(close_word, "keep"))
		return -EINVAL;
	if (snprintf(h->by, sizeof(h->by), "%s", arg + at) >= (int)sizeof(h->by) || !by_valid(h->by) ||
	    !reason_valid(h->reason))
		return -EINVAL;
	h->bytes = (size_t)bytes;
	h->nfds = (size_t)nfds;
	h->close_conns = !strcmp(close_word, "close");
	return 0;
}
