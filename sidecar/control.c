/* SPDX-License-Identifier: MIT */
/* The control socket: "stop" ends the sidecar; "status" reports counters and
 * "listeners" the container's listening sockets, each as one JSON object.
 * Requests come from root only (the socket is 0600, in a 0700 directory);
 * still, a request is one short line, read once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/fdpass.h"
#include "../oci/ports.h"
#include "../oci/state.h"
#include "sidecar.h"

struct ctl_client {
	uv_poll_t poll;
	int fd;
	struct sc_ctx *ctx;
	struct ctl_client *next; /* every open client, for shutdown */
};

static struct ctl_client *clients;

static void on_client_closed(uv_handle_t *h)
{
	struct ctl_client *cl = h->data;

	close(cl->fd);
	free(cl);
}

static void client_close(struct ctl_client *cl)
{
	for (struct ctl_client **pp = &clients; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	uv_close((uv_handle_t *)&cl->poll, on_client_closed);
}

static void reply(int fd, const char *s, size_t n)
{
	/* Small replies into an empty socket buffer: one non-blocking send. */
	if (send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		sc_log("control: reply not sent: %s", strerror(errno));
}

static void status(struct sc_ctx *ctx, int fd)
{
	char *buf;
	size_t len, off = 0;

	len = 128 + ctx->nfw * 300;
	buf = malloc(len);
	if (!buf)
		return;
	off += (size_t)snprintf(buf + off, len - off, "{\"pid\":%d,\"connections\":%u,\"forwards\":[", (int)getpid(),
				ctx->conns_live);
	for (size_t i = 0; i < ctx->nfw; i++) {
		const struct sc_forward *fw = ctx->fw[i];
		char ip[OCI_IP_LEN];

		oci_ip_format(&fw->cfg.host_ip, ip);
		off += (size_t)snprintf(
			buf + off, len - off,
			"%s{\"hostIP\":\"%s\",\"externalPort\":%u,\"localPort\":%u,\"protocol\":\"%s\",\"auto\":%s,"
			"\"connections\":%u,\"connectionsTotal\":%llu,\"bytesIn\":%llu,\"bytesOut\":%llu}",
			i ? "," : "", ip, fw->cfg.external_port, fw->cfg.local_port, oci_proto_name(fw->cfg.proto),
			fw->cfg.auto_assigned ? "true" : "false", fw->conns_live, (unsigned long long)fw->conns_total,
			(unsigned long long)fw->bytes_in, (unsigned long long)fw->bytes_out);
	}
	off += (size_t)snprintf(buf + off, len - off, "]}\n");
	reply(fd, buf, off);
	free(buf);
}

/* Every TCP listener in the container, for portsidectl doctor. */
static void listeners(struct sc_ctx *ctx, int fd)
{
	enum { MAX = 512 };
	struct sc_listener *l = calloc(MAX, sizeof(*l));
	size_t n = 0, len = 64 + MAX * 96, off = 0;
	char *buf = malloc(len);
	int rc;

	if (!l || !buf)
		goto out;
	if ((rc = sc_listeners(ctx, OCI_PROTO_TCP, 0, l, MAX, &n)) < 0) {
		off = (size_t)snprintf(buf, len, "{\"error\":\"%s\"}\n", strerror(-rc));
	} else {
		size_t ntcp = n, nudp = 0;

		/* UDP sockets too, where the kernel has UDP sock_diag. */
		if (sc_listeners(ctx, OCI_PROTO_UDP, 0, l + ntcp, MAX - ntcp, &nudp) == 0)
			n += nudp;
		off += (size_t)snprintf(buf + off, len - off, "{\"listeners\":[");
		for (size_t i = 0; i < n; i++) {
			char ip[OCI_IP_LEN];

			oci_ip_format(&l[i].ip, ip);
			off += (size_t)snprintf(buf + off, len - off,
						"%s{\"protocol\":\"%s\",\"port\":%u,\"address\":\"%s\",\"dual\":%s}",
						i ? "," : "", i < ntcp ? "tcp" : "udp", l[i].port, ip,
						l[i].dual ? "true" : "false");
		}
		off += (size_t)snprintf(buf + off, len - off, "]}\n");
	}
	reply(fd, buf, off);
out:
	free(l);
	free(buf);
}

static void on_request(uv_poll_t *p, int st, int events)
{
	struct ctl_client *cl = p->data;
	char line[OCI_ID_MAX_LEN + 32];
	int passed = -1;
	ssize_t n;

	(void)events;
	n = st < 0 ? -1 : ps_recv_fd(cl->fd, line, sizeof(line) - 1, &passed, MSG_DONTWAIT);
	if (n == -EAGAIN)
		return;
	if (n > 0) {
		line[n] = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		if (!strncmp(line, "adopt ", 6) && passed >= 0 && oci_id_valid(line + 6)) {
			/* A container joined the netns: its init's pidfd comes along. */
			int rc = sc_watch_add(cl->ctx, line + 6, passed);

			passed = -1;
			if (rc == 0)
				sc_log("container %.12s joined the network namespace", line + 6);
			reply(cl->fd, rc == 0 ? "ok\n" : "error: cannot watch it\n", rc == 0 ? 3 : 23);
		} else if (!strncmp(line, "release ", 8)) {
			/* ID's poststop ran. Reply first: releasing the last one
			 * stops the sidecar, and this client with it. */
			struct sc_ctx *ctx = cl->ctx;
			unsigned left = sc_watch_remaining() - (sc_watch_running(line + 8) ? 1 : 0);
			char r[32], id[sizeof(line)];
			int len = snprintf(r, sizeof(r), "remaining %u\n", left);

			snprintf(id, sizeof(id), "%s", line + 8);
			reply(cl->fd, r, (size_t)len);
			if (passed >= 0)
				close(passed);
			client_close(cl);
			sc_watch_release(ctx, id);
			return;
		} else if (!strcmp(line, "stop")) {
			reply(cl->fd, "ok\n", 3);
			client_close(cl);
			sc_shutdown(cl->ctx, "stop requested");
			return;
		} else if (!strcmp(line, "status")) {
			status(cl->ctx, cl->fd);
		} else if (!strcmp(line, "listeners")) {
			listeners(cl->ctx, cl->fd);
		} else {
			reply(cl->fd, "error: unknown request\n", 23);
		}
	}
	if (passed >= 0)
		close(passed); /* an fd nobody asked for */
	client_close(cl);
}

static void on_connect(uv_poll_t *p, int st, int events)
{
	struct sc_ctx *ctx = p->data;
	struct ctl_client *cl;
	int fd;

	(void)events;
	if (st < 0)
		return;
	fd = accept4(ctx->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		return;
	}
	cl->fd = fd;
	cl->ctx = ctx;
	uv_poll_init_socket(ctx->loop, &cl->poll, fd);
	cl->poll.data = cl;
	cl->next = clients;
	clients = cl;
	uv_poll_start(&cl->poll, UV_READABLE, on_request);
}

int sc_control_start(struct sc_ctx *ctx)
{
	int rc = uv_poll_init_socket(ctx->loop, &ctx->ctl_poll, ctx->ctl_fd);

	if (rc < 0)
		return rc;
	ctx->ctl_poll.data = ctx;
	return uv_poll_start(&ctx->ctl_poll, UV_READABLE, on_connect);
}

void sc_control_stop(struct sc_ctx *ctx)
{
	while (clients)
		client_close(clients);
	if (!uv_is_closing((uv_handle_t *)&ctx->ctl_poll))
		uv_close((uv_handle_t *)&ctx->ctl_poll, NULL);
}
