/* SPDX-License-Identifier: MIT */
/* What portsidectl makes of the answers of the programs that name containers
 * (podman's database, a CRI runtime through crictl) and of a set of ids. No
 * I/O here: resolve.c asks, these read, and the unit tests reach them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../oci/annotations.h"
#include "../oci/state.h"
#include "ctl.h"

bool ctl_kube_matches(const char *name, const char *arg)
{
	size_t ln = strlen(name), la = strlen(arg);

	if (!ln || !la)
		return false;
	if (!strcmp(name, arg))
		return true;
	/* POD/CONTAINER: the last two parts, whole. */
	return strchr(arg, '/') && la < ln && name[ln - la - 1] == '/' && !strcmp(name + ln - la, arg);
}

static bool hex64(const char *s, size_t n)
{
	return n == 64 && strspn(s, "0123456789abcdef") >= 64;
}

int ctl_podman_kube_line(const char *line, char *id, size_t idlen, long *pid, char *name, size_t len)
{
	const char *f[5];
	size_t fl[5];
	const char *p = line;
	char pod[256], ctr[256], num[24];

	for (int i = 0; i < 5; i++) {
		f[i] = p;
		fl[i] = strcspn(p, i < 4 ? "\t\n" : "\n");
		if (i < 4 && p[fl[i]] != '\t')
			return -EINVAL;
		p += fl[i] + 1;
	}
	if (!hex64(f[0], fl[0]) || idlen < 65 || fl[1] == 0 || fl[1] >= sizeof(num) ||
	    strspn(f[1], "0123456789") < fl[1])
		return -EINVAL;
	/* The infra container holds the pod's namespaces; it runs no app of
	 * the manifest's, and a container outside a pod has no pod name. */
	if (fl[4] != 5 || strncmp(f[4], "false", 5) || fl[2] == 0)
		return -ENOENT;
	if (fl[2] >= sizeof(pod) || fl[3] >= sizeof(ctr))
		return -EINVAL;
	memcpy(num, f[1], fl[1]);
	num[fl[1]] = '\0';
	memcpy(pod, f[2], fl[2]);
	pod[fl[2]] = '\0';
	/* kube play names the container of a manifest POD-CONTAINER; one
	 * added to the pod by hand keeps its own name. */
	if (fl[3] > fl[2] + 1 && !strncmp(f[3], pod, fl[2]) && f[3][fl[2]] == '-')
		snprintf(ctr, sizeof(ctr), "%.*s", (int)(fl[3] - fl[2] - 1), f[3] + fl[2] + 1);
	else
		snprintf(ctr, sizeof(ctr), "%.*s", (int)fl[3], f[3]);
	*pid = strtol(num, NULL, 10);
	if (*pid <= 0)
		return -EINVAL;
	/* podman has no namespaces: a manifest's pod lands where Kubernetes
	 * puts one that names none. */
	if ((size_t)snprintf(name, len, "default/%s/%s", pod, ctr) >= len || !oci_kube_name_valid(name))
		return -EINVAL;
	memcpy(id, f[0], 64);
	id[64] = '\0';
	return 0;
}

static const char *label(json_object *labels, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(labels, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* A tool's JSON answer (BUF, BLEN bytes, at most 16 MiB read), or NULL. */
static json_object *parse_answer(const char *buf, size_t blen)
{
	json_tokener *tok = json_tokener_new();
	json_object *root;

	if (!tok)
		return NULL;
	root = json_tokener_parse_ex(tok, buf, (int)(blen > 1 << 24 ? 1 << 24 : blen));
	json_tokener_free(tok);
	return root;
}

int ctl_cri_inspect_parse(const char *buf, size_t blen, const char *id, char *name, size_t len, long *pid)
{
	json_object *root = parse_answer(buf, blen), *status, *labels, *info, *v;
	int rc = -EINVAL;

	if (!root)
		return -EINVAL;
	if (!json_object_object_get_ex(root, "status", &status) || !json_object_object_get_ex(status, "id", &v) ||
	    !json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), id) ||
	    !json_object_object_get_ex(status, "labels", &labels) || !json_object_object_get_ex(root, "info", &info) ||
	    !json_object_object_get_ex(info, "pid", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) <= 0)
		goto out;
	*pid = (long)json_object_get_int64(v);
	/* The kubelet's own labels on the container it asked for; a pod's
	 * labels go to its sandbox, never to these keys of a container. */
	const char *ns = label(labels, "io.kubernetes.pod.namespace"), *pod = label(labels, "io.kubernetes.pod.name"),
		   *ctr = label(labels, "io.kubernetes.container.name");
	if (!ns || !pod || !ctr)
		goto out;
	if ((size_t)snprintf(name, len, "%s/%s/%s", ns, pod, ctr) < len && oci_kube_name_valid(name))
		rc = 0;
out:
	json_object_put(root);
	return rc;
}

bool ctl_id_shortened(const char *id)
{
	return hex64(id, strlen(id));
}

size_t ctl_id_display_len(char *const *ids, size_t n, const char *id)
{
	size_t l = strlen(id), want = CTL_SHORT_ID_MIN;

	/* An id someone chose (runc run NAME) is shown whole: a part of it
	 * would not be one. */
	if (!ctl_id_shortened(id))
		return l;
	for (size_t i = 0; i < n; i++) {
		size_t c = 0;

		if (!strcmp(ids[i], id))
			continue;
		while (c < l && ids[i][c] == id[c])
			c++;
		/* One more than the other shares: it then differs, or ends
		 * before (its whole id would read the same). */
		if (c + 1 > want)
			want = c + 1;
	}
	return want > l ? l : want;
}

int ctl_ctr_info_parse(const char *buf, size_t blen, const char *id, char *name, size_t len)
{
	json_object *root = parse_answer(buf, blen), *v, *labels, *spec, *ann_obj;
	struct oci_annotations ann = {0, NULL};
	int rc = -EINVAL;

	if (!root)
		return -EINVAL;
	/* containerd's record: its id, the CRI plugin's label saying what
	 * kind of container it made, and the spec it wrote, whose
	 * io.kubernetes.cri.* keys no pod can set (pod_annotations lets only
	 * io.portside.* through). */
	if (!json_object_object_get_ex(root, "ID", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), id) || !json_object_object_get_ex(root, "Labels", &labels) ||
	    !label(labels, "io.cri-containerd.kind") || strcmp(label(labels, "io.cri-containerd.kind"), "container") ||
	    !json_object_object_get_ex(root, "Spec", &spec) ||
	    !json_object_object_get_ex(spec, "annotations", &ann_obj) ||
	    oci_annotations_from_json(ann_obj, "spec", &ann, NULL) < 0)
		goto out;
	if (oci_kube_name(&ann, name, len) == 0)
		rc = 0;
out:
	oci_annotations_clear(&ann);
	json_object_put(root);
	return rc;
}

long ctl_ctr_task_pid(const char *buf, const char *id)
{
	size_t l = strlen(id);

	/* "TASK  PID  STATUS" then a line a task: ID, spaces, the pid. */
	for (const char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		char *end;
		long pid;

		if (strncmp(line, id, l) || (line[l] != ' ' && line[l] != '\t'))
			continue;
		pid = strtol(line + l, &end, 10);
		if (pid > 0 && pid < (1L << 22) && (*end == ' ' || *end == '\t'))
			return pid;
		return -ENOENT;
	}
	return -ENOENT;
}
