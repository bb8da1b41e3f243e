/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_FORWARDS_H
#define PORTSIDE_LIB_FORWARDS_H

/* portside's own run-time record of one container, its forwards.json:
 * the hook writes it (with the host ports it actually bound), the sidecar
 * serves from it, portsidectl reads it. Encoding and decoding only; the
 * callers do the file I/O. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../oci/addr.h"
#include "../oci/annotations.h"
#include "../base/err.h"
#include "../oci/policy.h"
#include "../oci/ports.h"
#include "../oci/state.h"

/* The record's size at its largest, derived from the policy's maxima, so
 * that whatever a policy allows can start: every mapping (maxPorts, at most
 * OCI_PORTS_HARD_MAX) bound on every address a mapping can bind (a hostIP
 * list of OCI_POLICY_MAX_HOSTIPS; 0.0.0.0 and :: are two), each forward's
 * entry at its longest (5-digit ports, a 39-byte IPv6 address, a 32-byte
 * label, 10-digit entry and fd: 347 bytes pretty-printed), each local port
 * of the annotation in "known" (56 bytes), and the rest (about 62 KiB at
 * its longest: the sidecar's and the policy's paths, 4095 bytes each all
 * escaped, 1024 autoforwardPorts, a Kubernetes name), with room for fields
 * to come. The
 * readers (ps_forwards_decode, ps_record_load) take up to this, the writer
 * (ps_forwards_encode) refuses more; tests/unit/test-forwards-max.c encodes
 * a record of every maximum and reads it back. A new field adds its worst
 * case there, within PS_FORWARDS_REST_MAX_BYTES. */
#define PS_FORWARDS_MAX_FORWARDS (OCI_PORTS_HARD_MAX * OCI_POLICY_MAX_HOSTIPS)
/* allow lists: the record writes a forward's list only when it is not the
 * policy's allowFrom (written once); the annotation's own lists hold at most
 * OCI_ALLOW_ENTRIES_MAX networks, each on every address its mapping binds,
 * and live changes add at most as many again. A network at its longest,
 * pretty-printed: 43 characters, quotes, comma, indentation. */
#define PS_FORWARDS_MAX_ALLOW	   (2 * OCI_ALLOW_ENTRIES_MAX * OCI_POLICY_MAX_HOSTIPS)
#define PS_ALLOW_ENTRY_MAX_BYTES   64
#define PS_FORWARD_MAX_BYTES	   384
#define PS_KNOWN_MAX_BYTES	   64
#define PS_FORWARDS_REST_MAX_BYTES (96 * 1024)
#define PS_FORWARDS_MAX_BYTES                                                                                          \
	(PS_FORWARDS_MAX_FORWARDS * PS_FORWARD_MAX_BYTES + OCI_PORTS_HARD_MAX * PS_KNOWN_MAX_BYTES +                   \
	 (PS_FORWARDS_MAX_ALLOW + OCI_ALLOW_MAX) * PS_ALLOW_ENTRY_MAX_BYTES + PS_FORWARDS_REST_MAX_BYTES)
_Static_assert(PS_FORWARDS_MAX_BYTES < 64 * 1024 * 1024, "a record the hook, sidecar and portsidectl read whole");

/* One host-side listener and where its connections go. A mapping bound on
 * 0.0.0.0 and :: is two forwards. */
struct ps_forward {
	uint16_t local_port;
	uint16_t external_port;
	uint8_t proto; /* enum oci_proto */
	bool expose_localhost;
	bool proxy_protocol;
	bool auto_assigned; /* the external port came from autoforwardPorts */
	/* In the sidecar's status only, never in the record: forwarded because
	 * the app opened the port (automatic forwarding), gone when it closes. */
	bool automatic;
	struct oci_ip host_ip; /* the address the listener is bound to */
	int fd;		       /* its descriptor in the sidecar; -1 when none */
	unsigned entry;	       /* the annotation entry it came from */
	uint8_t visibility;    /* enum oci_visibility */
	/* Who may connect (n 0: everyone): the mapping's allow, else the
	 * policy's allowFrom; in the record only (ps_forwards_encode), not in
	 * the status reply, which would grow by 64 networks a forward. */
	struct oci_allow allow;

	/* "" when none */
	char label[OCI_LABEL_MAX_LEN + 1];
};

/* What tells the recorded container from a process and a namespace that
 * took over its pid and its netns inode number (lib/identity.h). 0: not
 * known: a record an earlier portside wrote (then the container cannot be
 * shown to still run), or the cookie on a kernel before 5.14 (then the start
 * time alone pins the process, and the process the namespace). */
struct ps_ident {
	unsigned long long pid_start; /* the init's start time, clock ticks after boot */
	uint64_t netns_cookie;	      /* SO_NETNS_COOKIE of its network namespace */
};

struct ps_forwards {
	char id[OCI_ID_MAX_LEN + 1];
	pid_t pid;			   /* the container's init when the hook ran */
	char netns[64];			   /* "DEV:INO" of the container's network namespace */
	struct ps_ident ident;		   /* pidStartTime, netnsCookie */
	char sidecar[4096];		   /* the sidecar the hook started ("": unknown), for restore */
	char policy[4096];		   /* the policy file the hook read ("": the default), for live changes */
	char kube_name[OCI_KUBE_NAME_MAX]; /* NS/POD/CONTAINER (oci_kube_name), "" when none */
	unsigned max_connections;	   /* the policy\'s, for the sidecar */
	unsigned udp_idle_timeout;	   /* seconds */
	unsigned max_udp_flows;		   /* the policy's maxUdpFlows, for the sidecar */
	unsigned udp_per_source;	   /* and udpFlowsPerSource */
	unsigned max_autoforwards;	   /* the policy's, for the sidecar */
	/* how many times `portsidectl restore` started a sidecar again (tb_restore), for metrics */
	uint64_t restores;
	/* automatic forwarding, for the sidecar */
	enum oci_autoforward autoforward;
	enum oci_visibility visibility; /* of automatic forwards */
	struct oci_allow allow_from;	/* the policy's: automatic forwards' allow */
	uint16_t auto_ports[1024];	/* the policy's autoforwardPorts, in order */
	size_t n_auto_ports;
	struct ps_known {
		uint16_t port;
		uint8_t proto;
	} known[OCI_PORTS_HARD_MAX]; /* local ports the annotation names: never auto-exposed */
	size_t n_known;
	struct oci_ip bind[OCI_POLICY_MAX_HOSTIPS]; /* where automatic listeners bind */
	size_t n_bind;
	/* The address of the policy's addressPool the container holds (family
	 * 0: none, or a record of an earlier portside): the pool's hand-out
	 * counts one address a container, whatever its forwards. */
	struct oci_ip pool_address;
	size_t n;
	struct ps_forward *v;
};

/* True when A and B are one host listener: the same address, port and
 * protocol (what a live change and the sidecar match forwards by). */
bool ps_forward_same_listener(const struct ps_forward *a, const struct ps_forward *b);

/* True when F names local port PORT/PROTO: a forward of it, or a known
 * port (what automatic forwarding leaves alone). */
bool ps_forwards_names(const struct ps_forwards *f, unsigned port, unsigned proto);

/* Whether S is a network namespace key as the hook writes it, "DEV:INO" in
 * decimal: rundir, resolve and gc compare it, and a record's own is read
 * back, so one that would not fit the record's buffer is refused, never cut. */
bool ps_netns_key_valid(const char *s);

/* A new JSON document for F in *OUT (the caller frees it); -EFBIG past
 * PS_FORWARDS_MAX_FORWARDS forwards or PS_FORWARDS_MAX_BYTES, which no
 * reader would take. */
int ps_forwards_encode(const struct ps_forwards *f, char **out);

/* Decodes a document written by ps_forwards_encode (at most
 * PS_FORWARDS_MAX_BYTES, PS_FORWARDS_MAX_FORWARDS forwards). */
int ps_forwards_decode(const char *buf, size_t len, struct ps_forwards **out, struct oci_err *e);

void ps_forwards_free(struct ps_forwards *f);

/* A mapping as the record and the sidecar's status reply (reply.h) both
 * carry it: localPort, externalPort, protocol, hostIP, auto, visibility and
 * label, added to the JSON object O, and read back strictly. */
struct json_object;
void ps_mapping_encode(struct json_object *o, const struct ps_forward *w);
int ps_mapping_decode(struct json_object *o, struct ps_forward *w, struct oci_err *e);

#endif
