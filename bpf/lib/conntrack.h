/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking for translated flows.
 *
 *   ct_key_from_pkt()  the tuple of a packet as it is on the wire
 *   ct_lookup()        the entry for that tuple in one direction
 *   ct_create()        both entries of a new flow, remapping a clashing client port
 *   ct_create_hairpin() both entries of a flow that must come back through us
 *   ct_touch()         refresh last-seen time and note SYN/FIN/RST
 *   ct_partner_restore() put back the other direction's entry if it was evicted
 *   ct_expired()       idle longer than its protocol and state allow
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

/*
 * Seen within the last second: live whatever the timeout (timeouts are whole
 * seconds), and not worth a new last-seen store. Signed: the coarse clock may
 * trail a precise last_seen (ct_create, another CPU) by a tick.
 */
static __always_inline bool ct_seen_last_second(const struct bpfport_ct_val *v, __u64 now)
{
	return (__s64)(now - v->last_seen_ns) <= (__s64)NSEC_PER_SEC;
}

/* Idle longer than the timeout for a flow in the state flags describe. */
static __always_inline bool ct_idle_expired(__u8 flags, __u64 last_seen, __u8 proto, __u64 now)
{
	struct bpfport_config *cfg;
	__u32 zero = 0, timeout;

	cfg = bpf_map_lookup_elem(&bp_config, &zero);
	if (!cfg)
		return false;
	if (proto == IPPROTO_UDP)
		timeout = cfg->ct_timeout_udp;
	else if (flags & BPFPORT_CT_SEEN_RST)
		timeout = cfg->ct_timeout_tcp_rst;
	else if (flags & BPFPORT_CT_SEEN_FIN)
		timeout = cfg->ct_timeout_tcp_close;
	else
		timeout = cfg->ct_timeout_tcp;
	/* 0: never. Another CPU may have touched the entry after our clock
	 * read: a last_seen in our future is fresh, not a huge age. */
	return timeout && now > last_seen && now - last_seen > (__u64)timeout * NSEC_PER_SEC;
}

static __always_inline bool ct_expired(const struct bpfport_ct_val *v, __u8 proto, __u64 now)
{
	return ct_idle_expired(v->flags, v->last_seen_ns, proto, now);
}

/*
 * The other direction's entry of the flow k/v belongs to (see bpfport.h):
 * ingress A:sp -> pub:pp = B:bp [peer snat, nat N] pairs with
 *   reply B:bp -> (snat or A):(N or sp); and the reverse.
 */
static __always_inline void ct_partner_key(const struct bpfport_ct_key *k,
					   const struct bpfport_ct_val *v,
					   struct bpfport_ct_key *pk)
{
	bool peer = !addr_is_zero(&v->peer_addr);

	__builtin_memset(pk, 0, sizeof(*pk));
	pk->family = k->family;
	pk->proto = k->proto;
	if (k->dir == BPFPORT_CT_INGRESS) {
		pk->dir = BPFPORT_CT_REPLY;
		pk->saddr = v->addr;
		pk->sport = v->port;
		pk->daddr = peer ? v->peer_addr : k->saddr;
		pk->dport = v->nat_port ? v->nat_port : k->sport;
	} else {
		pk->dir = BPFPORT_CT_INGRESS;
		pk->saddr = peer ? v->peer_addr : k->daddr;
		pk->sport = v->nat_port ? v->nat_port : k->dport;
		pk->daddr = v->addr;
		pk->dport = v->port;
	}
}

/* The live entry for a packet's tuple; an expired one is dropped, so the
 * flow starts over from the bindings (or is not translated at all). */
static __always_inline struct bpfport_ct_val *ct_lookup(const struct pkt *p, __u8 dir)
{
	struct bpfport_ct_val *v;
	struct bpfport_ct_key k;
	__u64 now;

	ct_key_from_pkt(&k, p, dir);
	v = bpf_map_lookup_elem(&bp_ct, &k);
	if (!v)
		return NULL;
	now = ct_now();
	/* A busy flow skips reading the configuration. */
	if (ct_seen_last_second(v, now))
		return v;
	if (ct_expired(v, p->proto, now)) {
		struct bpfport_ct_val *partner;
		struct bpfport_ct_key pk;

		/* A flow is idle only if both directions are: traffic one way
		 * keeps the other way's entry alive, as conntrack's one timer does;
		 * a FIN or RST seen either way closes the flow for both. */
		ct_partner_key(&k, v, &pk);
		partner = bpf_map_lookup_elem(&bp_ct, &pk);
		if (partner && !ct_idle_expired(v->flags | partner->flags, partner->last_seen_ns,
						p->proto, now)) {
			v->last_seen_ns = partner->last_seen_ns;
			return v;
		}
		bpf_map_delete_elem(&bp_ct, &k);
		return NULL;
	}
	return v;
}

/*
 * The partner entry that k/v implies (the inverse of ct_partner_key): both
 * entries of a flow hold the same facts, so either rebuilds the other.
 */
static __always_inline void ct_partner_val(const struct bpfport_ct_key *k,
					   const struct bpfport_ct_val *v,
					   struct bpfport_ct_val *pv)
{
	bool peer = !addr_is_zero(&v->peer_addr);
	bool ingress = k->dir == BPFPORT_CT_INGRESS;

	__builtin_memset(pv, 0, sizeof(*pv));
	pv->slot = v->slot;
	pv->flags = v->flags;
	pv->created_ns = v->created_ns;
	pv->last_seen_ns = v->last_seen_ns;
	/* Ingress A:sp -> pub:pp knows the reply's pub:pp; the reply B:bp -> X:N
	 * knows the ingress's B:bp. */
	pv->addr = ingress ? k->daddr : k->saddr;
	pv->port = ingress ? k->dport : k->sport;
	if (v->nat_port)
		pv->nat_port = ingress ? k->sport : k->dport;
	if (peer)
		pv->peer_addr = ingress ? k->saddr : k->daddr;
}

/*
 * The LRU evicts entries one at a time, so a flow can lose one direction:
 * a lost reply entry would leave the container's answers untranslated for
 * as long as the client keeps the ingress entry alive. Called about once a
 * second per flow (when ct_touch refreshes), it puts a missing partner back.
 */
static __always_inline void ct_partner_restore(const struct pkt *p, __u8 dir,
					       const struct bpfport_ct_val *v)
{
	struct bpfport_ct_key k, pk;
	struct bpfport_ct_val pv;

	ct_key_from_pkt(&k, p, dir);
	ct_partner_key(&k, v, &pk);
	if (bpf_map_lookup_elem(&bp_ct, &pk))
		return;
	ct_partner_val(&k, v, &pv);
	bpf_map_update_elem(&bp_ct, &pk, &pv, BPF_NOEXIST);
}

/*
 * Refresh last-seen time and note FIN/RST; true when the time was refreshed
 * (at most about once a second). A SYN opens a new connection on the tuple:
 * the previous one's FIN or RST no longer applies.
 */
static __always_inline bool ct_touch(struct bpfport_ct_val *v, const struct pkt *p)
{
	__u64 now = ct_now();
	bool refreshed = false;

	/* Skip the store when nothing changed much: fewer dirtied cache lines. */
	if (!ct_seen_last_second(v, now)) {
		v->last_seen_ns = now;
		refreshed = true;
	}
	if (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST)) {
		__u8 flags = v->flags;

		if (p->tcp_flags & TCP_FLAG_SYN)
			flags &= ~(BPFPORT_CT_SEEN_FIN | BPFPORT_CT_SEEN_RST);
		if (p->tcp_flags & TCP_FLAG_FIN)
			flags |= BPFPORT_CT_SEEN_FIN;
		if (p->tcp_flags & TCP_FLAG_RST)
			flags |= BPFPORT_CT_SEEN_RST;
		v->flags = flags;
	}
	return refreshed;
}

/*
 * Two flows collide on their reply entry when one client port reaches the
 * same container endpoint through two published ports: Linux reuses an
 * ephemeral port towards different destinations. The container would see one
 * connection where there are two, so the later flow gets another client port,
 * as conntrack's NAT does. Candidates come from the ephemeral range; the
 * BPF_NOEXIST insert settles races between CPUs.
 */
#define CT_REMAP_TRIES 8
#define CT_REMAP_BASE 32768
#define CT_REMAP_SPAN 28232

/* A reply entry left by this same flow (or an earlier use of its tuple). */
static __always_inline bool ct_reply_same_flow(const struct bpfport_ct_val *v, const struct pkt *p)
{
	return !v->nat_port && v->port == p->dport && v->addr.a[0] == p->daddr.a[0] &&
	       v->addr.a[1] == p->daddr.a[1] && v->addr.a[2] == p->daddr.a[2] &&
	       v->addr.a[3] == p->daddr.a[3];
}

/* Insert the reply entry under a fresh destination (client) port. */
static __always_inline int ct_insert_remapped(struct bpfport_ct_key *k,
					      const struct bpfport_ct_val *v, __be16 *nat_port)
{
	for (int i = 0; i < CT_REMAP_TRIES; i++) {
		__be16 port = bpf_htons(CT_REMAP_BASE + bpf_get_prandom_u32() % CT_REMAP_SPAN);

		k->dport = port;
		if (!bpf_map_update_elem(&bp_ct, k, v, BPF_NOEXIST)) {
			*nat_port = port;
			return 0;
		}
	}
	return -1;
}

static __always_inline int ct_insert_reply(struct bpfport_ct_key *k, struct bpfport_ct_val *v,
					   const struct pkt *p, __be16 *nat_port)
{
	struct bpfport_ct_val *old = bpf_map_lookup_elem(&bp_ct, k);

	*nat_port = 0;
	if (!old || ct_reply_same_flow(old, p) || ct_expired(old, p->proto, v->created_ns))
		return bpf_map_update_elem(&bp_ct, k, v, BPF_ANY) ? -1 : 0;

	v->nat_port = p->sport; /* the reply restores the client's own port */
	return ct_insert_remapped(k, v, nat_port);
}

/* A fresh value for a new flow of binding b, and the key of its reply entry
 * (container -> client), for the caller to complete. */
static __always_inline void ct_new_flow(const struct pkt *p, const struct bpfport_bind_val *b,
					struct bpfport_ct_key *k, struct bpfport_ct_val *v)
{
	__u64 now = bpf_ktime_get_ns();

	__builtin_memset(v, 0, sizeof(*v));
	v->slot = b->slot;
	v->created_ns = now;
	v->last_seen_ns = now;
	v->addr = p->daddr;
	v->port = p->dport;

	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = b->container_addr;
	k->sport = b->container_port;
	k->family = p->family;
	k->proto = p->proto;
	k->dir = BPFPORT_CT_REPLY;
}

/*
 * Insert the reply entry first: if the ingress insert then fails, the flow
 * is simply not translated, and a stray reply entry only ever matches
 * packets from the container to that exact client port. *nat_port is the
 * client port to write on ingress, 0 to keep the client's own.
 */
static __always_inline int ct_create(const struct pkt *p, const struct bpfport_bind_val *b,
				     __be16 *nat_port)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;

	ct_new_flow(p, b, &k, &v);
	k.daddr = p->saddr;
	k.dport = p->sport;
	if (ct_insert_reply(&k, &v, p, nat_port))
		return -1;

	ct_key_from_pkt(&k, p, BPFPORT_CT_INGRESS);
	v.addr = b->container_addr;
	v.port = b->container_port;
	v.nat_port = *nat_port;
	return bpf_map_update_elem(&bp_ct, &k, &v, BPF_ANY) ? -1 : 0;
}

/*
 * A hairpin flow: client A and container B behind the same bridge. B must
 * answer through us, not straight to A, so A's source becomes the bridge's
 * own address snat with a fresh port N (always remapped: the bridge address
 * is shared by every hairpin client).
 *   ingress A:sp -> pub:pp   = B:bp, source snat:N
 *   reply   B:bp -> snat:N   = pub:pp, destination A:sp
 */
static __always_inline int ct_create_hairpin(const struct pkt *p, const struct bpfport_bind_val *b,
					     const struct bpfport_addr *snat, __be16 *nat_port)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;

	ct_new_flow(p, b, &k, &v);
	v.peer_addr = p->saddr;
	v.nat_port = p->sport;
	k.daddr = *snat;
	if (ct_insert_remapped(&k, &v, nat_port))
		return -1;

	ct_key_from_pkt(&k, p, BPFPORT_CT_INGRESS);
	v.addr = b->container_addr;
	v.port = b->container_port;
	v.peer_addr = *snat;
	v.nat_port = *nat_port;
	return bpf_map_update_elem(&bp_ct, &k, &v, BPF_ANY) ? -1 : 0;
}

#endif /* BPFPORT_CONNTRACK_H */
