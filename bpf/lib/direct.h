/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Direct connections: TCP connections a client opens straight to a container
 * endpoint that a binding translates to. They never pass through a binding,
 * but they hold a tuple on the container's side that a translated flow must
 * not reuse (bpfport.h, bp_direct).
 *
 *   backend_known()   some binding translates to this endpoint (bp_backends)
 *   direct_record()   note a direct SYN, or the FIN/RST that closes it
 *   direct_holds()    the container may still hold the tuple of a reply key
 */
#ifndef BPFPORT_DIRECT_H
#define BPFPORT_DIRECT_H

#include "maps.h"
#include "parse.h"

#define NSEC_PER_SEC 1000000000ULL

/*
 * The per-packet clock: CLOCK_MONOTONIC at tick resolution. A precise read
 * costs 30-40 ns a packet on a VM (bench/results.md); idle timeouts are in
 * seconds, so a tick of error is nothing.
 */
static __always_inline __u64 ct_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* Idle longer than timeout_s (0: never). Signed, so that a last_seen a
 * little in our future (another CPU's fresher clock read) is fresh, and
 * times dated before boot (tests) still compare. */
static __always_inline bool idle_longer(__u64 last_seen, __u32 timeout_s, __u64 now)
{
	return timeout_s && (__s64)(now - last_seen) > (__s64)timeout_s * (__s64)NSEC_PER_SEC;
}

static __always_inline struct bpfport_config *config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&bp_config, &zero);
}

static __always_inline bool backend_known(const struct bpfport_addr *addr, __be16 port, __u8 family,
					  __u8 proto)
{
	struct bpfport_backend_key k;

	__builtin_memset(&k, 0, sizeof(k));
	k.addr = *addr;
	k.port = port;
	k.family = family;
	k.proto = proto;
	return bpf_map_lookup_elem(&bp_backends, &k) != NULL;
}

/* p is client -> container. A SYN (re)opens the tuple; the first FIN or RST
 * starts its TIME_WAIT-like hold. */
static __always_inline bool direct_record(const struct pkt *p, const struct bpfport_ct_key *k)
{
	struct bpfport_direct_val *d, nd;

	if ((p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN) {
		__builtin_memset(&nd, 0, sizeof(nd));
		nd.last_seen_ns = ct_now();
		bpf_map_update_elem(&bp_direct, k, &nd, BPF_ANY);
		return true;
	}
	d = bpf_map_lookup_elem(&bp_direct, k);
	if (d && !d->closing) {
		d->closing = 1;
		d->last_seen_ns = ct_now();
	}
	return false;
}

/*
 * rk is the reply key of a flow being created (container -> client). The
 * container may hold that tuple for a direct connection: while open (the
 * established timeout, the LRU ending it sooner) and for the close timeout
 * after its FIN or RST, as netfilter keeps TIME_WAIT entries.
 */
static __always_inline bool direct_holds(const struct bpfport_ct_key *rk,
					 const struct bpfport_config *cfg, __u64 now)
{
	struct bpfport_direct_val *d;
	struct bpfport_ct_key k;

	if (rk->proto != IPPROTO_TCP)
		return false;
	__builtin_memset(&k, 0, sizeof(k));
	k.saddr = rk->daddr;
	k.sport = rk->dport;
	k.daddr = rk->saddr;
	k.dport = rk->sport;
	k.family = rk->family;
	k.proto = rk->proto;
	d = bpf_map_lookup_elem(&bp_direct, &k);
	if (!d)
		return false;
	if (!cfg)
		return true;
	return !idle_longer(d->last_seen_ns,
			    d->closing ? cfg->ct_timeout_tcp_close : cfg->ct_timeout_tcp, now);
}

#endif /* BPFPORT_DIRECT_H */
