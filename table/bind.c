/* SPDX-License-Identifier: MIT */
/* Binding the host-side listeners, in the host's network namespace. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/listen.h"
#include "../lib/rundir.h"
#include "../oci/state.h"
#include "../base/cleanup.h"
#include "table.h"

/* /proc/net/{tcp,tcp6,udp,udp6}: the socket inodes bound to PORT (listening
 * for TCP). At most MAX. */
static size_t holder_inodes(unsigned port, unsigned proto, unsigned long *inodes, size_t max)
{
	static const char *const tcp[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	static const char *const udp[] = {"/proc/net/udp", "/proc/net/udp6"};
	const char *const *files = proto == OCI_PROTO_UDP ? udp : tcp;
	size_t n = 0;

	for (int i = 0; i < 2; i++) {
		cleanup_fclose FILE *f = fopen(files[i], "re");
		char line[512];

		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f)) /* the header */
			continue;
		while (n < max && fgets(line, sizeof(line), f)) {
			char local[64];
			unsigned st, lport;
			unsigned long inode;
			char *colon;

			if (sscanf(line, " %*u: %63s %*s %x %*s %*s %*s %*u %*u %lu", local, &st, &inode) != 3)
				continue;
			colon = strrchr(local, ':');
			if (!colon || sscanf(colon + 1, "%x", &lport) != 1 || lport != port)
				continue;
			if (proto == OCI_PROTO_TCP && st != 0x0A) /* TCP_LISTEN */
				continue;
			inodes[n++] = inode;
		}
	}
	return n;
}

bool tb_port_listened(unsigned port, unsigned proto)
{
	unsigned long inode;

	return holder_inodes(port, proto, &inode, 1) > 0;
}

/* " of container ID" when PID is a portside sidecar (or the listener
 * factory it forked), found by its pid file: the holder a user needs is
 * the container, not the process. "" otherwise. */
static const char *whose(const char *pid, const char *comm)
{
	static char out[OCI_ID_MAX_LEN + 16];
	char path[600], line[128];
	long want = atol(pid);
	cleanup_closedir DIR *d = NULL;
	struct dirent *e;
	unsigned scanned = 0;

	out[0] = '\0';
	if (!strncmp(comm, "portside-listen", 15)) {
		/* The factory's parent is the sidecar. */
		snprintf(path, sizeof(path), "/proc/%s/status", pid);
		cleanup_fclose FILE *f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "PPid: %ld", &want) == 1)
				break;
	} else if (strncmp(comm, "portside-sideca", 15)) {
		return out;
	}
	if (!(d = ps_containers_open()))
		return out;
	while ((e = readdir(d)) && scanned++ < 65536) {
		long p;

		if (!oci_id_valid(e->d_name) || ps_file(path, sizeof(path), e->d_name, PS_SIDECAR_PID) < 0)
			continue;
		cleanup_fclose FILE *f = fopen(path, "re");
		if (f && fscanf(f, "%ld", &p) == 1 && p == want) {
			snprintf(out, sizeof(out), " of container %.64s", e->d_name);
			break;
		}
	}
	return out;
}

void tb_port_holder(unsigned port, unsigned proto, char *buf, size_t len)
{
	unsigned long inodes[16];
	size_t n = holder_inodes(port, proto, inodes, 16);
	cleanup_closedir DIR *proc = NULL;
	struct dirent *d;
	unsigned scanned = 0;

	buf[0] = '\0';
	if (n == 0 || !(proc = opendir("/proc")))
		return;
	/* Bounded: a host with more processes than this gets no name. */
	while ((d = readdir(proc)) && scanned++ < 65536) {
		char path[600], link[64], raw[64] = "?", comm[96];
		cleanup_closedir DIR *fds = NULL;
		struct dirent *fd;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", d->d_name);
		if (!(fds = opendir(path)))
			continue;
		while ((fd = readdir(fds))) {
			unsigned long ino;
			ssize_t l;

			snprintf(path, sizeof(path), "/proc/%s/fd/%s", d->d_name, fd->d_name);
			l = readlink(path, link, sizeof(link) - 1);
			if (l <= 0)
				continue;
			link[l] = '\0';
			if (sscanf(link, "socket:[%lu]", &ino) != 1)
				continue;
			for (size_t i = 0; i < n; i++) {
				if (inodes[i] != ino)
					continue;
				snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
				cleanup_fclose FILE *f = fopen(path, "re");
				if (f && fgets(raw, sizeof(raw), f))
					raw[strcspn(raw, "\n")] = '\0';
				/* The name is whatever its owner called the program
				 * (any bytes, 15 at most): it reaches root's terminal
				 * and portsidectl's JSON, so made harmless and UTF-8. */
				oci_sanitize(raw, comm, sizeof(comm));
				snprintf(buf, len, "%s%s (pid %s)", comm, whose(d->d_name, raw), d->d_name);
				return;
			}
		}
	}
}

size_t tb_private_addresses(const struct oci_ip *pool_addr, struct oci_ip out[2])
{
	if (pool_addr && oci_ip_is_loopback(pool_addr)) {
		out[0] = *pool_addr;
		return 1;
	}
	memset(out, 0, 2 * sizeof(*out));
	out[0].family = AF_INET;
	out[0].a[0] = 127;
	out[0].a[3] = 1;
	out[1].family = AF_INET6;
	out[1].a[15] = 1;
	return 2;
}

/* The addresses a mapping binds: its own, else loopback when it is private,
 * else the pool's or the policy's, else 0.0.0.0 and ::. *DEFAULTS tells the
 * caller that IPv6 may be missing on this host. */
static size_t addresses(const struct oci_mapping *m, const struct oci_policy *pol, const struct oci_ip *pool_addr,
			struct oci_ip *out, bool *defaults)
{
	*defaults = false;
	if (m->host_ip.family) {
		out[0] = m->host_ip;
		return 1;
	}
	if (m->visibility == OCI_VISIBILITY_PRIVATE) {
		size_t n = tb_private_addresses(pool_addr, out);

		*defaults = n == 2;
		return n;
	}
	if (pool_addr) {
		out[0] = *pool_addr;
		return 1;
	}
	if (pol->n_host_ips) {
		memcpy(out, pol->host_ips, pol->n_host_ips * sizeof(*out));
		return pol->n_host_ips;
	}
	*defaults = true;
	memset(out, 0, 2 * sizeof(*out));
	out[0].family = AF_INET;
	out[1].family = AF_INET6;
	return 2;
}

static int add_forward(struct ps_forwards *f, const struct oci_mapping *m, const struct oci_ip *ip, unsigned ext,
		       bool is_auto, int fd)
{
	/* Doubled at each power of two (F starts empty, tb_bind's caller):
	 * thousands of forwards are not copied over one by one. */
	if (!f->n || !(f->n & (f->n - 1))) {
		struct ps_forward *nv = realloc(f->v, (f->n ? 2 * f->n : 1) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		f->v = nv;
	}
	f->v[f->n++] = (struct ps_forward){
		.local_port = m->local_port,
		.external_port = (uint16_t)ext,
		.proto = m->proto,
		.expose_localhost = m->expose_localhost,
		.proxy_protocol = m->proxy_protocol,
		.auto_assigned = is_auto,
		.host_ip = *ip,
		.fd = fd,
		.entry = m->entry,
		.visibility = m->visibility,
	};
	memcpy(f->v[f->n - 1].label, m->label, sizeof(m->label));
	f->v[f->n - 1].allow = m->allow;
	return 0;
}

static void explain(int rc, const struct oci_ip *ip, unsigned port, unsigned proto, const struct oci_mapping *m,
		    struct oci_err *e)
{
	char addr[OCI_IP_LEN], who[128];

	oci_ip_format(ip, addr);
	if (rc == -EADDRINUSE) {
		tb_port_holder(port, proto, who, sizeof(who));
		oci_err_add(e, EADDRINUSE, "host port %u/%s is already in use%s%s (io.portside.ports entry %u)", port,
			    oci_proto_name(proto), who[0] ? " by " : "", who, m->entry);
	} else if (rc == -EADDRNOTAVAIL) {
		oci_err_add(e, EADDRNOTAVAIL, "host address %s is not on this host (io.portside.ports entry %u)", addr,
			    m->entry);
	} else if (rc == -EACCES) {
		oci_err_add(e, EPERM, "not allowed to bind host port %u/%s on %s", port, oci_proto_name(proto), addr);
	} else {
		oci_err_addp(e, -rc, "cannot bind host port %u/%s on %s", port, oci_proto_name(proto), addr);
	}
}

/* Binds M on every address at port EXT; all or nothing. With QUIET, an address
 * in use is not an error message (automatic hand-out tries the next port). */
static int bind_mapping(const struct oci_mapping *m, const struct oci_policy *pol, const struct oci_ip *pool_addr,
			unsigned ext, bool is_auto, bool quiet, struct ps_forwards *f, struct oci_err *e)
{
	struct oci_ip ips[OCI_POLICY_MAX_HOSTIPS];
	size_t first = f->n;
	bool defaults;
	size_t n = addresses(m, pol, pool_addr, ips, &defaults);

	int fds[OCI_POLICY_MAX_HOSTIPS];
	size_t bad = 0;
	int rc = ps_listen_all(ips, n, ext, m->proto, defaults, fds, &bad);

	if (rc < 0) {
		if (!(quiet && rc == -EADDRINUSE))
			explain(rc, &ips[bad], ext, m->proto, m, e);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue; /* no IPv6 here: the IPv4 half serves */
		if (add_forward(f, m, &ips[i], ext, is_auto, fds[i]) < 0) {
			oci_err_add(e, ENOMEM, "out of memory");
			for (size_t k = i; k < n; k++)
				if (fds[k] >= 0)
					close(fds[k]);
			while (f->n > first)
				close(f->v[--f->n].fd);
			return -ENOMEM;
		}
	}
	return 0;
}

/* An exposed mapping's hand-out (ps_hand_out): a port this container has
 * not taken already, bound quietly (a port in use means the next one). */
struct hand_out {
	const struct oci_mapping *m;
	const struct oci_policy *pol;
	const struct oci_ip *pool_addr;
	struct ps_forwards *f;
	struct oci_err *e;
};

static bool hand_out_taken(unsigned port, void *arg)
{
	const struct hand_out *h = arg;

	for (size_t i = 0; i < h->f->n; i++)
		if (h->f->v[i].external_port == port && h->f->v[i].proto == h->m->proto)
			return true;
	return false;
}

static int hand_out_try(unsigned port, void *arg)
{
	struct hand_out *h = arg;

	return bind_mapping(h->m, h->pol, h->pool_addr, port, true, true, h->f, h->e);
}

int tb_bind(const struct oci_ports *ports, const struct oci_policy *pol, const struct oci_ip *pool_addr,
	    struct ps_forwards *f, struct oci_err *e)
{
	unsigned before = e->count;

	/* A pool address in an annotation must be this container's own: another
	 * one belongs (or will belong) to another container. */
	for (size_t i = 0; i < ports->n && pool_addr; i++) {
		const struct oci_mapping *m = &ports->v[i];
		char ip[OCI_IP_LEN], own[OCI_IP_LEN];

		if (!m->expose || !oci_policy_in_pool(pol, &m->host_ip) || oci_ip_equal(&m->host_ip, pool_addr))
			continue;
		oci_ip_format(&m->host_ip, ip);
		oci_ip_format(pool_addr, own);
		oci_err_add(e, EPERM,
			    "io.portside.ports entry %u: host address %s is not this container's pool address (%s): "
			    "leave hostIP out",
			    m->entry, ip, own);
	}
	if (e->count != before)
		return -EPERM;

	/* Explicit ports first, so that automatic hand-out skips them. */
	for (size_t i = 0; i < ports->n; i++) {
		const struct oci_mapping *m = &ports->v[i];

		if (m->expose && m->external_port)
			bind_mapping(m, pol, pool_addr, m->external_port, false, false, f, e);
	}
	for (size_t i = 0; i < ports->n && e->count == before; i++) {
		struct hand_out h = {&ports->v[i], pol, pool_addr, f, e};
		unsigned p;
		int rc;

		if (!h.m->expose || h.m->external_port)
			continue;
		rc = ps_hand_out(pol->autoforward_ports, pol->n_autoforward_ports, hand_out_taken, hand_out_try, &h,
				 &p);
		if (rc == -EADDRINUSE)
			oci_err_add(e, EADDRINUSE,
				    "no free port left in the policy's autoforwardPorts for local port %u/%s "
				    "(io.portside.ports entry %u)",
				    h.m->local_port, oci_proto_name(h.m->proto), h.m->entry);
	}
	if (e->count != before) {
		tb_listen_close(f);
		return -EADDRINUSE;
	}
	return 0;
}

void tb_listen_close(struct ps_forwards *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].fd >= 0)
			close(f->v[i].fd), f->v[i].fd = -1;
}
