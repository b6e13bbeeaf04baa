/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The socket-level path: processes on the host reach published ports by
 * having connect()/sendmsg() point their socket at the container directly,
 * so no packet needs translating; getpeername()/recvmsg() show the published
 * endpoint again, so the application sees what it asked for.
 *
 *   sock_redirect()  connect4/6, sendmsg4/6: published endpoint -> container
 *   sock_restore()   getpeername4/6, recvmsg4/6: container -> published endpoint
 *   sock_bind_taken() post_bind4/6: a host socket bound to a published port
 *
 * cgroup programs run for every socket in the cgroup whatever its network
 * namespace, so both act only in the host's namespace (netns cookie).
 */
#ifndef BPFPORT_SOCK_H
#define BPFPORT_SOCK_H

#include "maps.h"

static __always_inline bool sock_in_host_netns(void *ctx)
{
	struct bpfport_config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&bp_config, &zero);
	return cfg && cfg->host_netns_cookie && bpf_get_netns_cookie(ctx) == cfg->host_netns_cookie;
}

static __always_inline void sock_read(struct bpf_sock_addr *ctx, __u8 family,
				      struct bpfport_addr *a, __be16 *port)
{
	__builtin_memset(a, 0, sizeof(*a));
	if (family == BPFPORT_AF_INET) {
		a->a[0] = ctx->user_ip4;
	} else {
		a->a[0] = ctx->user_ip6[0];
		a->a[1] = ctx->user_ip6[1];
		a->a[2] = ctx->user_ip6[2];
		a->a[3] = ctx->user_ip6[3];
	}
	*port = (__be16)ctx->user_port;
}

static __always_inline void sock_write(struct bpf_sock_addr *ctx, __u8 family,
				       const struct bpfport_addr *a, __be16 port)
{
	if (family == BPFPORT_AF_INET) {
		ctx->user_ip4 = a->a[0];
	} else {
		ctx->user_ip6[0] = a->a[0];
		ctx->user_ip6[1] = a->a[1];
		ctx->user_ip6[2] = a->a[2];
		ctx->user_ip6[3] = a->a[3];
	}
	ctx->user_port = (__u32)port;
}

/* A wildcard binding answers on loopback and on the host's own addresses. */
static __always_inline bool sock_addr_is_local(const struct bpfport_addr *a, __u8 family)
{
	struct bpfport_local_key k;

	if (family == BPFPORT_AF_INET && (a->a[0] & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000))
		return true;
	if (family == BPFPORT_AF_INET6 && !a->a[0] && !a->a[1] && !a->a[2] &&
	    a->a[3] == bpf_htonl(1))
		return true;
	__builtin_memset(&k, 0, sizeof(k));
	k.addr = *a;
	k.family = family;
	return bpf_map_lookup_elem(&bp_local_addrs, &k) != NULL;
}

static __always_inline struct bpfport_bind_val *sock_binding(const struct bpfport_addr *dst,
							     __be16 port, __u8 family, __u8 proto)
{
	struct bpfport_bind_key k;
	struct bpfport_bind_val *b;

	__builtin_memset(&k, 0, sizeof(k));
	k.host_addr = *dst;
	k.host_port = port;
	k.family = family;
	k.proto = proto;
	b = bpf_map_lookup_elem(&bp_bindings, &k);
	if (b)
		return b;
	__builtin_memset(&k.host_addr, 0, sizeof(k.host_addr));
	b = bpf_map_lookup_elem(&bp_bindings, &k);
	return b && sock_addr_is_local(dst, family) ? b : NULL;
}

static __always_inline void sock_rev_key(struct bpf_sock_addr *ctx, __u8 family,
					 const struct bpfport_addr *addr, __be16 port,
					 struct bpfport_sock_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->cookie = bpf_get_socket_cookie(ctx);
	k->addr = *addr;
	k->port = port;
	k->family = family;
}

static __always_inline void sock_redirect(struct bpf_sock_addr *ctx, __u8 family)
{
	struct bpfport_bind_val *b;
	struct bpfport_sock_key k;
	struct bpfport_sock_val v;
	struct bpfport_addr dst;
	__u8 proto = (__u8)ctx->protocol;
	__be16 port;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return;
	if (!sock_in_host_netns(ctx))
		return;
	sock_read(ctx, family, &dst, &port);
	b = sock_binding(&dst, port, family, proto);
	if (!b)
		return;
	sock_rev_key(ctx, family, &b->container_addr, b->container_port, &k);
	__builtin_memset(&v, 0, sizeof(v));
	v.addr = dst;
	v.port = port;
	/* Without the reverse entry the peer would show as the container: still
	 * correct traffic, so a full map only costs cosmetics. */
	bpf_map_update_elem(&bp_sock_rev, &k, &v, BPF_ANY);
	sock_write(ctx, family, &b->container_addr, b->container_port);
}

static __always_inline void sock_restore(struct bpf_sock_addr *ctx, __u8 family)
{
	struct bpfport_sock_val *v;
	struct bpfport_sock_key k;
	struct bpfport_addr peer;
	__be16 port;

	if (!sock_in_host_netns(ctx))
		return;
	sock_read(ctx, family, &peer, &port);
	sock_rev_key(ctx, family, &peer, port, &k);
	v = bpf_map_lookup_elem(&bp_sock_rev, &k);
	if (v)
		sock_write(ctx, family, &v->addr, v->port);
}

/*
 * Once a port is published, a host process binding it would never see its
 * traffic (the datapath takes it first): fail the bind with EADDRINUSE, as a
 * second listener would. A wildcard bind collides with any binding on its
 * port (bp_ports); a specific bind with a binding on that address or on the
 * wildcard.
 */
static __always_inline bool sock_bind_taken(struct bpf_sock *sk, __u8 family)
{
	struct bpfport_port_key pk;
	struct bpfport_bind_key k;
	__u8 proto = (__u8)sk->protocol;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return false;
	if (!sock_in_host_netns(sk))
		return false;
	__builtin_memset(&k, 0, sizeof(k));
	if (family == BPFPORT_AF_INET) {
		k.host_addr.a[0] = sk->src_ip4;
	} else {
		k.host_addr.a[0] = sk->src_ip6[0];
		k.host_addr.a[1] = sk->src_ip6[1];
		k.host_addr.a[2] = sk->src_ip6[2];
		k.host_addr.a[3] = sk->src_ip6[3];
	}
	k.host_port = bpf_htons((__u16)sk->src_port);
	k.family = family;
	k.proto = proto;
	if (!(k.host_addr.a[0] | k.host_addr.a[1] | k.host_addr.a[2] | k.host_addr.a[3])) {
		pk.port = k.host_port;
		pk.family = family;
		pk.proto = proto;
		return bpf_map_lookup_elem(&bp_ports, &pk) != NULL;
	}
	if (bpf_map_lookup_elem(&bp_bindings, &k))
		return true;
	__builtin_memset(&k.host_addr, 0, sizeof(k.host_addr));
	return bpf_map_lookup_elem(&bp_bindings, &k) != NULL;
}

#endif /* BPFPORT_SOCK_H */
