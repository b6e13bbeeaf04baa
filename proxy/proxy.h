/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bpfport-proxy: a drop-in for Docker's docker-proxy (the daemon's
 * userland-proxy-path). One process per published binding and address family:
 *
 *   main.c   the status pipe (fd 3), the listen socket (own bind, or fd 4
 *            with -use-listen-fd), signals, and `-cleanup`
 *   args.c   docker-proxy's flags, in Go's flag syntax
 *   owner.c  the binding in bpfport: its ID, publish and unpublish through the
 *            bpfport binary, and finding bindings whose proxy is gone
 *   relay.c  user-space proxying on the listen socket (TCP and SCTP streams
 *            with splice, UDP with per-client sockets), as docker-proxy does:
 *            for everything the datapath does not translate
 */
#ifndef BPFPORT_PROXY_H
#define BPFPORT_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>

#include "bpfport.h"

#define PROXY "bpfport-proxy"
/* Every binding a proxy publishes has an ID of this form (owner.c). */
#define PROXY_ID_PREFIX "docker-proxy-"
#define PROXY_ID_MAX 128 /* BINDING_ID_MAX */
#define PROXY_MSG_MAX 512

/* One side of the binding: an address and a port. */
struct proxy_endpoint {
	__u8 family; /* BPFPORT_AF_INET or BPFPORT_AF_INET6 */
	struct bpfport_addr addr;
	__u16 port;
};

struct proxy_binding {
	int proto; /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	struct proxy_endpoint host;
	struct proxy_endpoint container;
};

/* main.c: log lines on stderr, "bpfport-proxy[PID]: tcp 0.0.0.0:80: ..." */
void plog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void proxy_set_log_prefix(const struct proxy_binding *b);

/* owner.c */
const char *proxy_proto_name(int proto);
int proxy_proto_parse(const char *s);
/* "0.0.0.0:80", "[::]:80" */
void proxy_endpoint_str(const struct proxy_endpoint *e, char *buf, size_t len);
void proxy_sockaddr(const struct proxy_endpoint *e, struct sockaddr_storage *ss, socklen_t *len);
/* docker-proxy-HOSTADDR-HOSTPORT-PROTO, ':' of IPv6 as '-': no such ID is a prefix of another. */
void proxy_id(const struct proxy_binding *b, char *buf, size_t len);

/* Why bpfport cannot translate b (NULL when it can): family mix, protocol, no datapath. */
const char *proxy_untranslatable(const struct proxy_binding *b, char *buf, size_t len);

enum publish_result {
	PUBLISH_DONE, /* bpfport translates the binding */
	PUBLISH_REFUSED, /* a conflict: report it, as Docker would */
	PUBLISH_UNAVAILABLE, /* bpfport cannot do it: proxy in user space */
};

/*
 * Publishes b as `bpfport add --force --id ID 'HOST -> CONTAINER/PROTO'`
 * (--force: the listener on the port is this proxy's own). A binding with this
 * proxy's ID left by a proxy that is gone is removed first. msg gets bpfport's
 * error for the caller to report.
 */
enum publish_result proxy_publish(const struct proxy_binding *b, char *msg, size_t len);
/* `bpfport rm ID`; 0 or -1 with the reason in msg. */
int proxy_unpublish(const struct proxy_binding *b, char *msg, size_t len);
/*
 * Removes the bindings in b's way that a gone proxy left: b's own ID, or a
 * proxy ID whose host endpoint conflicts with b's, when no running
 * bpfport-proxy of this network namespace serves it. Returns 1 if it removed
 * one, 0 if there was none, -1 on failure.
 */
int proxy_remove_stale(const struct proxy_binding *b);
/* `bpfport-proxy -cleanup [-dry-run]`: every stale proxy binding. Exit status. */
int proxy_cleanup(bool dry_run);

/* relay.c */
struct relay_cfg {
	int proto;
	int listen_fd; /* bound; listening for TCP and SCTP */
	struct sockaddr_storage upstream;
	socklen_t upstream_len;
	unsigned int udp_timeout_ms;
};

/*
 * Serves listen_fd until sig_fd (a signalfd) is readable; returns the signal
 * number, or -1 on a fatal error.
 */
int relay_run(const struct relay_cfg *cfg, int sig_fd);

#endif /* BPFPORT_PROXY_H */
