/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking for translated flows.
 *
 *   ct_key_from_pkt()  the tuple of a packet as it is on the wire
 *   ct_lookup()        the entry for that tuple in one direction
 *   ct_create()        both entries of a new flow
 *   ct_touch()         refresh last-seen time and note FIN/RST
 */
#ifndef BPFPORT_CONNTRACK_H
#define BPFPORT_CONNTRACK_H

#include "maps.h"
#include "parse.h"

static __always_inline void ct_key_from_pkt(struct bpfport_ct_key *k, const struct pkt *p, __u8 dir)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->sport = p->sport;
	k->dport = p->dport;
	k->family = p->family;
	k->proto = p->proto;
	k->dir = dir;
}

static __always_inline struct bpfport_ct_val *ct_lookup(const struct pkt *p, __u8 dir)
{
	struct bpfport_ct_key k;

	ct_key_from_pkt(&k, p, dir);
	return bpf_map_lookup_elem(&bp_ct, &k);
}

static __always_inline void ct_touch(struct bpfport_ct_val *v, const struct pkt *p)
{
	__u64 now = bpf_ktime_get_ns();

	/* Skip the store when nothing changed much: fewer dirtied cache lines. */
	if (now - v->last_seen_ns > 1000000000ULL)
		v->last_seen_ns = now;
	if (p->tcp_flags & TCP_FLAG_FIN)
		v->flags |= BPFPORT_CT_SEEN_FIN;
	if (p->tcp_flags & TCP_FLAG_RST)
		v->flags |= BPFPORT_CT_SEEN_RST;
}

/*
 * Insert the reply entry first: if the ingress insert then fails, the flow
 * is simply not translated, and a stray reply entry only ever matches
 * packets from the container to that exact client port.
 */
static __always_inline int ct_create(const struct pkt *p, const struct bpfport_bind_val *b)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;
	__u64 now = bpf_ktime_get_ns();

	__builtin_memset(&v, 0, sizeof(v));
	v.slot = b->slot;
	v.created_ns = now;
	v.last_seen_ns = now;

	__builtin_memset(&k, 0, sizeof(k));
	k.saddr = b->container_addr;
	k.daddr = p->saddr;
	k.sport = b->container_port;
	k.dport = p->sport;
	k.family = p->family;
	k.proto = p->proto;
	k.dir = BPFPORT_CT_REPLY;
	v.addr = p->daddr;
	v.port = p->dport;
	if (bpf_map_update_elem(&bp_ct, &k, &v, BPF_ANY))
		return -1;

	ct_key_from_pkt(&k, p, BPFPORT_CT_INGRESS);
	v.addr = b->container_addr;
	v.port = b->container_port;
	return bpf_map_update_elem(&bp_ct, &k, &v, BPF_ANY) ? -1 : 0;
}

#endif /* BPFPORT_CONNTRACK_H */
