/* SPDX-License-Identifier: MIT */
/* createRuntime / prestart: from annotations to a ready sidecar. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/control.h"
#include "../lib/refusal.h"
#include "../lib/rundir.h"
#include "../lib/sidecar_fds.h"
#include "../lib/starting.h"
#include "../lib/uids.h"
#include "../oci/annotations.h"
#include "../base/cleanup.h"
#include "hook.h"

#include "paths.h" /* generated: PORTSIDE_SIDECAR_PATH, from PREFIX */

/* The sidecar next to the hook's own binary (a build tree), else the
 * installed one. */
static void sidecar_path(const struct hook_opts *o, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n;

	if (o->sidecar) {
		snprintf(buf, len, "%s", o->sidecar);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash && snprintf(buf, len, "%.*s/portside-sidecar", (int)(slash - self), self) < (int)len &&
		    access(buf, X_OK) == 0)
			return;
	}
	snprintf(buf, len, "%s", PORTSIDE_SIDECAR_PATH);
}

/* True when ID's recorded bundle is exactly BUNDLE. Stricter than
 * poststop's check: nothing recorded, or a record that does not fit, is
 * another bundle, since what depends on it is whose refusal a start's is. */
static bool bundle_is(const char *id, const char *bundle)
{
	char path[4096], rec[PATH_MAX + 1];
	cleanup_close int fd = -1;
	ssize_t n;

	if (!bundle || ps_file(path, sizeof(path), id, PS_BUNDLE) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return false;
	n = read(fd, rec, sizeof(rec));
	if (n < 0 || (size_t)n >= sizeof(rec))
		return false;
	rec[n] = '\0';
	return strcmp(rec, bundle) == 0;
}

/* True when ID's directory belongs to a running container other than one
 * served by OWNER (NULL: any): its own live sidecar, or the live sidecar it
 * joined. The same id under another runtime root (runc --root), or a hostile
 * one, must never take over or delete that state. */
static bool id_in_use(const char *id, const char *owner)
{
	char cur[OCI_ID_MAX_LEN + 2];

	/* Another hook's start of ID, not yet ready, is ID in use too. Asked
	 * first: a start no longer pending is one whose sidecar is ready (or
	 * that failed), so the look at the sidecar after it cannot miss both
	 * (lib/starting.h). */
	if ((!owner || strcmp(owner, id)) && (ps_start_pending(id) || ps_sidecar_alive(id, NULL)))
		return true;
	ps_owner(id, cur, sizeof(cur));
	return cur[0] && (!owner || strcmp(cur, owner)) && ps_sidecar_alive(cur, NULL);
}

/* True when a refusal of ID's start from BUNDLE is ID's own: ID is not a
 * running forwarded container of another bundle (a start reusing a running
 * container's id must not put what it chose to say among that container's
 * events). */
static bool refusal_is_ids(const char *id, const char *bundle, int lock)
{
	cleanup_close int mine = -1;
	char path[4096];
	struct stat sb;

	/* No state directory, or one recorded from this very bundle: decided
	 * without the lock, since a refusal for a busy lock is the one whose
	 * hook could not have it, and a wait for it now would fail too. The
	 * race is harmless: only which log the line goes to depends on it, and
	 * a directory made meanwhile is a container started after this
	 * refusal was decided, never one running before it. */
	if (bundle_is(id, bundle) ||
	    (ps_path(path, sizeof(path), id, NULL) == 0 && lstat(path, &sb) < 0 && errno == ENOENT))
		return true;
	/* Else under the lock (LOCK, or taken here), which every start holds
	 * while it makes or removes a container's state; without it, nobody's. */
	if (lock < 0 && ps_lock(&mine, 1000) < 0)
		return false;
	return !id_in_use(id, NULL) && !ps_container_alive(id);
}

/* Refusals go to stderr, which runc and podman show; crun shows a hook's
 * stderr only when run.oci.hooks.stderr names a file. So they also go to the
 * refusal log (lib/refusal.h), where `portsidectl logs ID` finds them, as
 * ID's own when they are (refusal_is_ids). */
static void report_errors(const char *id, const char *bundle, int lock, const struct oci_err *e)
{
	oci_err_print(e, stderr, "portside");
	/* A refusal may come before anything else made the directory (the
	 * first container after an install). */
	ps_run_dir_init();
	if (refusal_is_ids(id, bundle, lock))
		ps_refusal_log(id, e);
	else
		ps_refusal_log_unattributed(id, e);
}

/* Records which bundle ID came from, for poststop to check. */
static int write_bundle(const char *id, const char *bundle)
{
	char path[4096];

	if (!bundle || ps_file(path, sizeof(path), id, PS_BUNDLE) < 0)
		return 0;
	return ps_write_file(path, bundle, strlen(bundle));
}

/* The netns already has a live sidecar (a second container of a pod, or a
 * runtime re-running createRuntime): record who serves ID, and the name a
 * CRI runtime gave it (ANN), add nothing. -EINPROGRESS, with the owner in
 * WAITFOR, when the netns's sidecar is still starting (lib/starting.h). */
static int join_existing(const char *id, const char *bundle, const struct oci_annotations *ann, const char *key,
			 int pidfd, bool *joined, char waitfor[OCI_ID_MAX_LEN + 2])
{
	char name[OCI_KUBE_NAME_MAX];
	char path[4096], owner[OCI_ID_MAX_LEN + 2];
	cleanup_close int fd = -1;
	ssize_t n;
	int rc;

	*joined = false;
	snprintf(path, sizeof(path), "%s/netns/%s", ps_run_dir(), key);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, owner, sizeof(owner) - 1);
	if (n <= 0)
		return 0;
	owner[n] = '\0';
	owner[strcspn(owner, "\n")] = '\0';
	/* Still starting, even with its pid file written: ready only once its
	 * mark is gone (it is cleared after the sidecar said ok). */
	if (oci_id_valid(owner) && ps_start_pending(owner)) {
		snprintf(waitfor, OCI_ID_MAX_LEN + 2, "%s", owner);
		return -EINPROGRESS;
	}
	if (!oci_id_valid(owner) || !ps_sidecar_alive(owner, NULL)) {
		/* Stale: the owner died without a poststop. Forget it. */
		unlink(path);
		return 0;
	}
	*joined = true;
	if (!strcmp(owner, id))
		return 0;
	if (id_in_use(id, owner))
		return -EEXIST;
	if (ps_path(path, sizeof(path), id, NULL) < 0 || (mkdir(path, 0700) < 0 && errno != EEXIST))
		return -errno;
	ps_file(path, sizeof(path), id, PS_OWNER);
	if ((rc = ps_write_file(path, owner, strlen(owner))) < 0 || (rc = write_bundle(id, bundle)) < 0)
		return rc;
	if (oci_kube_name(ann, name, sizeof(name)) == 0 && ps_file(path, sizeof(path), id, PS_NAME) == 0 &&
	    (rc = ps_write_file(path, name, strlen(name))) < 0)
		return rc;
	/* The sidecar serves the netns as long as one of its containers runs:
	 * it watches this one's init too. */
	if (pidfd >= 0) {
		char reply[64];

		if (ps_ctl_call(owner, PS_CTL_ADOPT, id, pidfd, reply, sizeof(reply), 1000) < 0 ||
		    strncmp(reply, "ok", 2))
			return -EIO;
	}
	return 0;
}

static int same_netns_as_host(const char *key)
{
	struct stat st;
	char mine[64];

	if (stat("/proc/self/ns/net", &st) < 0)
		return 0;
	snprintf(mine, sizeof(mine), "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	return !strcmp(mine, key);
}

/* How many times a pod's container waits for the start of the sidecar it
 * joins: each wait ends when that start is ready or failed, and a failed one
 * leaves the netns to whoever comes next; more than this is another start
 * beginning each time. */
#define JOIN_WAITS 3

int hook_create(const struct hook_opts *o, const struct oci_state *st, const struct oci_config *cfg,
		const struct oci_annotations *ann)
{
	struct oci_policy *pol = NULL;
	struct oci_spec spec = {NULL, 0};
	struct ps_forwards fw = {.v = NULL};
	cleanup_close int lock = -1, nsfd = -1, pidfd = -1;
	cleanup_free int *listeners = NULL;
	char path[4096], sidecar[PATH_MAX], key[64];
	struct oci_ip pool_addr;
	bool joined, made_dir = false, gc_ran;
	struct oci_err e;
	int rc;

	oci_err_init(&e);
	if ((rc = oci_policy_load(o->policy_path ? o->policy_path : OCI_POLICY_PATH, !o->policy_path, &pol, &e)) < 0 ||
	    (rc = oci_spec_parse(ann, pol, &spec, &e)) < 0 || (rc = ps_uid_container_check(cfg, st->pid, &e)) < 0)
		goto out;

	/* Before anything is bound or recorded: a sidecar that cannot start
	 * refuses the container with its path, not with an exec error later. */
	sidecar_path(o, sidecar, sizeof(sidecar));
	if ((rc = tb_sidecar_check(sidecar, &e)) < 0)
		goto out;

	if ((rc = ps_run_dir_init()) < 0) {
		oci_err_addp(&e, -rc, "cannot create %s", ps_run_dir());
		goto out;
	}
	if ((rc = ps_lock(&lock, 3000)) < 0) {
		oci_err_addp(&e, -rc, "cannot lock %s/lock", ps_run_dir());
		goto out;
	}
	if ((gc_ran = ps_gc_due())) {
		ps_gc();
		tb_cgroup_sweep();
	}
	if ((rc = hook_netns_open(cfg, st->pid, &nsfd, &pidfd, key, &fw.ident, &e)) < 0)
		goto out;
	if (same_netns_as_host(key)) {
		rc = oci_err_add(&e, EINVAL,
				 "the container shares the host's network namespace: there is nothing to forward");
		goto out;
	}
	/* A pod's first container still starting its sidecar: this one waits
	 * for it, without the lock (which that start may need to undo itself),
	 * then joins it, or serves the netns itself when it failed. */
	for (int waits = 0;; waits++) {
		char waitfor[OCI_ID_MAX_LEN + 2];

		if ((rc = join_existing(st->id, st->bundle, ann, key, pidfd, &joined, waitfor)) != -EINPROGRESS)
			break;
		if (waits == JOIN_WAITS) {
			rc = oci_err_add(&e, EBUSY,
					 "the sidecar of %s, which serves this container's network namespace, is still "
					 "starting: try again",
					 waitfor);
			goto out;
		}
		oci_close(&lock);
		ps_start_wait(waitfor, TB_READY_TIMEOUT_MS + 1000);
		if ((rc = ps_lock(&lock, 3000)) < 0) {
			oci_err_addp(&e, -rc, "cannot lock %s/lock", ps_run_dir());
			goto out;
		}
	}
	if (rc == -EEXIST || (!joined && id_in_use(st->id, NULL))) {
		rc = oci_err_add(
			&e, EEXIST,
			"container id %s is in use by another running container: ids must be unique on this host",
			st->id);
		goto out;
	}
	if (rc < 0) {
		oci_err_addp(&e, -rc, "cannot record container %s", st->id);
		goto out;
	}
	if (joined)
		goto out; /* served already: idempotent */

	snprintf(fw.id, sizeof(fw.id), "%s", st->id);
	snprintf(fw.netns, sizeof(fw.netns), "%s", key);
	fw.pid = st->pid;
	fw.max_connections = pol->max_connections;
	fw.udp_idle_timeout = pol->udp_idle_timeout;
	fw.max_udp_flows = pol->max_udp_flows;
	fw.udp_per_source = pol->udp_per_source;
	fw.max_autoforwards = pol->max_autoforwards;
	/* What automatic forwarding in the sidecar needs to decide alone. */
	fw.autoforward = spec.autoforward;
	memcpy(fw.auto_ports, pol->autoforward_ports, pol->n_autoforward_ports * sizeof(fw.auto_ports[0]));
	fw.n_auto_ports = pol->n_autoforward_ports;
	for (size_t i = 0; i < spec.ports->n && fw.n_known < OCI_PORTS_HARD_MAX; i++) {
		fw.known[fw.n_known].port = spec.ports->v[i].local_port;
		fw.known[fw.n_known++].proto = spec.ports->v[i].proto;
	}
	if (pol->has_pool) {
		struct oci_err first;

		/* None free, maybe for containers gone without a poststop: the
		 * collection this start skipped runs now, and the pick again. */
		oci_err_init(&first);
		if ((rc = tb_pool_pick(pol, &pool_addr, gc_ran ? &e : &first)) < 0 && !gc_ran) {
			ps_gc();
			rc = tb_pool_pick(pol, &pool_addr, &e);
		}
		if (rc < 0)
			goto out;
	}
	/* What the next container's hand-out counts as taken. */
	if (pol->has_pool)
		fw.pool_address = pool_addr;
	if ((rc = tb_bind(spec.ports, pol, pol->has_pool ? &pool_addr : NULL, &fw, &e)) < 0)
		goto out;
	/* Automatic listeners bind where explicit ones without a hostIP and
	 * with the policy's visibility do. */
	fw.visibility = pol->visibility;
	fw.allow_from = pol->allow_from; /* automatic forwards' allow */
	if (pol->visibility == OCI_VISIBILITY_PRIVATE) {
		fw.n_bind = tb_private_addresses(pol->has_pool ? &pool_addr : NULL, fw.bind);
	} else if (pol->has_pool) {
		fw.bind[fw.n_bind++] = pool_addr;
	} else if (pol->n_host_ips) {
		memcpy(fw.bind, pol->host_ips, pol->n_host_ips * sizeof(fw.bind[0]));
		fw.n_bind = pol->n_host_ips;
	} else {
		fw.bind[0] = (struct oci_ip){.family = AF_INET};
		fw.bind[1] = (struct oci_ip){.family = AF_INET6};
		fw.n_bind = 2;
	}

	/* A leftover directory from a container that died without poststop. */
	ps_state_remove(st->id);
	if (ps_path(path, sizeof(path), st->id, NULL) < 0 || mkdir(path, 0700) < 0) {
		rc = oci_err_addp(&e, errno, "cannot create %s", path);
		goto out;
	}
	made_dir = true;
	if ((rc = write_bundle(st->id, st->bundle)) < 0) {
		oci_err_addp(&e, -rc, "cannot record the bundle of %s", st->id);
		goto out;
	}

	/* The sidecar sees listener i at SC_FD_FIRST_LISTENER + i. */
	listeners = calloc(fw.n ? fw.n : 1, sizeof(int));
	if (!listeners) {
		rc = oci_err_add(&e, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < fw.n; i++)
		listeners[i] = fw.v[i].fd;
	/* The sidecar it is started with, for a restore. */
	snprintf(fw.sidecar, sizeof(fw.sidecar), "%s", sidecar);
	/* The policy it was started under, for a live change to read again
	 * (table/change.c): a relative --policy is the hook's working
	 * directory's (the bundle's), so recorded whole. */
	if (o->policy_path) {
		cleanup_free char *abs =
			o->policy_path[0] == '/' ? strdup(o->policy_path) : realpath(o->policy_path, NULL);

		if (!abs || strlen(abs) >= sizeof(fw.policy)) {
			rc = oci_err_add(&e, ENAMETOOLONG, "cannot record the policy's path %.256s", o->policy_path);
			goto out;
		}
		snprintf(fw.policy, sizeof(fw.policy), "%s", abs);
	}
	/* The name a CRI runtime gave the container with its own keys, for
	 * `portsidectl doctor POD/CONTAINER`: a claim until the runtime
	 * confirms it (ctl/resolve.c). podman's pods are named by podman's
	 * database, a plain runc container by nothing it writes itself. */
	if (oci_kube_name(ann, fw.kube_name, sizeof(fw.kube_name)) < 0)
		fw.kube_name[0] = '\0';
	if ((rc = tb_record_write(st->id, &fw, &e)) < 0)
		goto out;
	ps_process_write(&fw);
	/* Findable by the pod's other containers from here on: they wait for
	 * the mark below to go, then join. */
	snprintf(path, sizeof(path), "%s/netns/%s", ps_run_dir(), key);
	if ((rc = ps_write_file(path, st->id, strlen(st->id))) < 0)
		oci_err_addp(&e, -rc, "cannot write %s",
			     path); /* served, but not findable by a pod's other containers */
	if ((rc = ps_start_mark(st->id)) < 0) {
		oci_err_addp(&e, -rc, "cannot mark %s as starting", st->id);
		goto out;
	}
	/* Everything another start decides by is recorded: the lock goes, and
	 * other containers' starts overlap with this one's sidecar start
	 * (lib/starting.h). */
	oci_close(&lock);

	if ((rc = tb_spawn(sidecar, st->id, nsfd, pidfd, listeners, fw.n, fw.max_connections, fw.max_udp_flows, &e)) <
	    0) {
		char log[4096];

		ps_file(log, sizeof(log), st->id, PS_SIDECAR_LOG);
		/* The log says more; show its last line with the reason. */
		cleanup_fclose FILE *f = fopen(log, "re");
		char line[512], last[512] = "";
		while (f && fgets(line, sizeof(line), f))
			snprintf(last, sizeof(last), "%s", line);
		last[strcspn(last, "\n")] = '\0';
		if (last[0])
			oci_err_add(&e, EIO, "sidecar log: %s", last);
		goto out;
	}
	ps_start_clear(st->id);
	rc = 0;
out:
	/* The sidecar holds its own copies now; the hook's go. */
	tb_listen_close(&fw);
	free(fw.v);
	if (rc < 0 && made_dir) {
		/* Undone under the lock, as it was made; without it (another
		 * hook stuck), undone anyway: nobody else would. */
		if (lock < 0)
			ps_lock(&lock, 3000);
		ps_netns_forget(st->id);
		ps_state_remove(st->id);
	}
	if (oci_err_lines(&e))
		report_errors(st->id, st->bundle, lock, &e);
	oci_spec_release(&spec);
	oci_policy_free(pol);
	return rc < 0 ? 1 : 0;
}
