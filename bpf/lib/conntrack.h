/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking for translated flows. A flow is one connection, not
 * a 4-tuple: it starts with a SYN (TCP) or a first datagram (UDP) in
 * bp_ct_new, moves to bp_ct once assured (handshake completed, datagram
 * answered), and its entries are checked against the connection's sequence
 * numbers and its binding's generation.
 *
 *   ct_key_from_pkt()    the tuple of a packet as it is on the wire
 *   ct_key_answer()      the tuple of the answer to a packet
 *   ct_lookup()          the live entry for that tuple in one direction, either table
 *   ct_admissible()      may this packet start a flow (TCP: a SYN)
 *   ct_syn_restarts()    a SYN on a tracked tuple that opens a new connection
 *   ct_reuse_of()        what the new connection keeps of the flow it replaces
 *   ct_flow_delete()     both entries of a flow
 *   ct_release_stale()   a direct SYN frees the tuple of a closed flow
 *   ct_reply_accept()    a SYN-ACK belongs to the SYN this flow translated
 *   ct_touch()           refresh last-seen time, follow sequence numbers, in-window FIN/RST
 *   ct_partner_restore() put back the other direction's entry if it was evicted
 *   ct_assure()          move a flow from bp_ct_new to bp_ct
 *   ct_retire()          move a closed flow back to bp_ct_new
 *   ct_create()          both entries of a new flow, remapping a clashing client port
 *   ct_create_hairpin()  both entries of a flow that must come back through us
 */
#ifndef BPFPORT_CONNTRACK_H
#define BPFPORT_CONNTRACK_H

#include "counters.h"
#include "direct.h"
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

/* The tuple of the answer to p, as it will arrive: its ends swapped. */
static __always_inline void ct_key_answer(struct bpfport_ct_key *k, const struct pkt *p, __u8 dir)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->daddr;
	k->daddr = p->saddr;
	k->sport = p->dport;
	k->dport = p->sport;
	k->family = p->family;
	k->proto = p->proto;
	k->dir = dir;
}

/*
 * How far a FIN or RST may lie from the highest sequence number seen from
 * its sender and still count. A real stack sends them at its snd_nxt, within
 * a segment or two (64 KiB GSO) of what passed us; an off-path sender must
 * guess within this.
 */
#define CT_SEQ_SLACK (1U << 20)
/*
 * How far an ACK may acknowledge past an ISN + 1: the SYN's data (TCP Fast
 * Open) at most, about as netfilter's window. A blind ACK that would assure a
 * spoofed flow must guess within 2^16 of 2^32.
 */
#define CT_ACK_SLACK 0xffffU
/* A UDP flow is assured once answered and still going this long after its
 * first datagram, as netfilter's UDP "stream": a flood of spoofed requests
 * that the container answers once stays in bp_ct_new. */
#define CT_UDP_STREAM_NS (2 * NSEC_PER_SEC)

static __always_inline bool ct_is_syn(const struct pkt *p)
{
	return p->proto == IPPROTO_TCP &&
	       (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

static __always_inline bool ct_is_synack(const struct pkt *p)
{
	return p->proto == IPPROTO_TCP &&
	       (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == (TCP_FLAG_SYN | TCP_FLAG_ACK);
}

/* Only a SYN opens a TCP flow, so a stray or spoofed mid-stream packet
 * never takes a table entry; any UDP datagram opens a UDP one. */
static __always_inline bool ct_admissible(const struct pkt *p)
{
	return p->proto != IPPROTO_TCP || ct_is_syn(p);
}

/* The entry for k: assured flows first, since most packets belong to them. */
static __always_inline struct bpfport_ct_val *ct_map_lookup(const struct bpfport_ct_key *k,
							    bool *assured)
{
	struct bpfport_ct_val *v = bpf_map_lookup_elem(&bp_ct, k);

	*assured = v != NULL;
	if (!v)
		v = bpf_map_lookup_elem(&bp_ct_new, k);
	return v;
}

static __always_inline void ct_map_delete(const struct bpfport_ct_key *k, bool assured)
{
	if (assured)
		bpf_map_delete_elem(&bp_ct, k);
	else
		bpf_map_delete_elem(&bp_ct_new, k);
}

/* Seen within the last second: live whatever the timeout (timeouts are whole
 * seconds), and not worth a new last-seen store. */
static __always_inline bool ct_seen_last_second(const struct bpfport_ct_val *v, __u64 now)
{
	return (__s64)(now - v->last_seen_ns) <= (__s64)NSEC_PER_SEC;
}

/*
 * Idle longer than the timeout for a flow in the state flags describe. A
 * TCP flow not yet assured has the close timeout, as netfilter's SYN_SENT
 * and SYN_RECV (120 s and 60 s) are short beside ESTABLISHED.
 */
static __always_inline bool ct_idle_expired(__u8 flags, __u64 last_seen, __u8 proto, bool assured,
					    __u64 now)
{
	struct bpfport_config *cfg = config_get();
	__u32 timeout;

	if (!cfg)
		return false;
	if (proto == IPPROTO_UDP)
		timeout = cfg->ct_timeout_udp;
	else if (flags & BPFPORT_CT_SEEN_RST)
		timeout = cfg->ct_timeout_tcp_rst;
	else if ((flags & BPFPORT_CT_SEEN_FIN) || !assured)
		timeout = cfg->ct_timeout_tcp_close;
	else
		timeout = cfg->ct_timeout_tcp;
	return idle_longer(last_seen, timeout, now);
}

static __always_inline bool ct_expired(const struct bpfport_ct_val *v, __u8 proto, bool assured,
				       __u64 now)
{
	return ct_idle_expired(v->flags, v->last_seen_ns, proto, assured, now);
}

/*
 * The flow was admitted no earlier than its slot's last removal or flush
 * (bp_slot_gen). User space gives the binding the next generation before
 * the slot, so flows admitted in between are newer, not stale. 16 bits in
 * sequence arithmetic: a flow would have to outlive 32,768 removals of
 * bindings on its slot to be misread.
 */
static __always_inline bool ct_gen_current(const struct bpfport_ct_val *v)
{
	__u32 slot = v->slot;
	__u32 *gen = bpf_map_lookup_elem(&bp_slot_gen, &slot);

	return gen && (__s16)((__u16)*gen - v->gen) <= 0;
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

/* Both entries of the flow k/v belongs to, from the table it lives in. */
static __always_inline void ct_flow_delete(const struct bpfport_ct_key *k,
					   const struct bpfport_ct_val *v, bool assured)
{
	struct bpfport_ct_key pk;

	ct_partner_key(k, v, &pk);
	ct_map_delete(&pk, assured);
	ct_map_delete(k, assured);
}

/* The live entry for a packet's tuple; an expired or stale one is dropped,
 * so the flow starts over from the bindings (or is not translated at all).
 * *assured tells which table it is in. */
static __always_inline struct bpfport_ct_val *ct_lookup(const struct pkt *p, __u8 dir,
							bool *assured)
{
	struct bpfport_ct_val *v;
	struct bpfport_ct_key k;
	__u64 now;

	ct_key_from_pkt(&k, p, dir);
	v = ct_map_lookup(&k, assured);
	if (!v)
		return NULL;
	if (!ct_gen_current(v)) {
		count_stat(BPFPORT_STAT_CT_STALE);
		ct_flow_delete(&k, v, *assured);
		return NULL;
	}
	now = ct_now();
	/* A busy flow skips reading the configuration. */
	if (ct_seen_last_second(v, now))
		return v;
	if (ct_expired(v, p->proto, *assured, now)) {
		struct bpfport_ct_val *partner;
		struct bpfport_ct_key pk;

		/* A flow is idle only if both directions are: traffic one way
		 * keeps the other way's entry alive, as conntrack's one timer does;
		 * a FIN or RST seen either way closes the flow for both. */
		ct_partner_key(&k, v, &pk);
		partner = *assured ? bpf_map_lookup_elem(&bp_ct, &pk) :
				     bpf_map_lookup_elem(&bp_ct_new, &pk);
		if (partner && !ct_idle_expired(v->flags | partner->flags, partner->last_seen_ns,
						p->proto, *assured, now)) {
			v->last_seen_ns = partner->last_seen_ns;
			return v;
		}
		ct_map_delete(&k, *assured);
		return NULL;
	}
	return v;
}

/*
 * A SYN on a tracked tuple: a new connection when the old one closed (FIN or
 * RST) or never completed and this SYN has another ISN. A retransmission of
 * the flow's own SYN keeps it; so does a SYN on a live connection, which the
 * kernel's conntrack ignores too (the endpoint answers with a challenge ACK).
 */
static __always_inline bool ct_syn_restarts(const struct bpfport_ct_val *v, const struct pkt *p,
					    bool assured)
{
	if (!ct_is_syn(p))
		return false;
	if (v->flags & (BPFPORT_CT_SEEN_FIN | BPFPORT_CT_SEEN_RST))
		return true;
	return !assured && p->tcp_seq != v->seq;
}

/*
 * A new connection on a client tuple keeps the container-side client port
 * of the flow it replaces. The container may still hold that tuple in
 * TIME_WAIT, which accepts a SYN of the same client tuple (its ISN and
 * timestamps grow), but not, half of the time, one of another client that a
 * fresh remap could give the freed port to.
 */
struct ct_reuse {
	bool valid;
	__be16 port; /* the client port the container saw */
};

static __always_inline void ct_reuse_of(const struct bpfport_ct_val *v, const struct pkt *p,
					struct ct_reuse *reuse)
{
	reuse->valid = true;
	reuse->port = v->nat_port ? v->nat_port : p->sport;
}

/*
 * p is a SYN from a client straight to a container endpoint. A flow whose
 * reply entry has that tuple is over if it closed or never completed: the
 * client has moved on, and the container's answer to this SYN must not be
 * taken for the old flow's.
 */
static __always_inline void ct_release_stale(const struct pkt *p)
{
	struct bpfport_ct_val *v;
	struct bpfport_ct_key k;
	bool assured;

	ct_key_answer(&k, p, BPFPORT_CT_REPLY);
	v = ct_map_lookup(&k, &assured);
	if (!v || (assured && !(v->flags & (BPFPORT_CT_SEEN_FIN | BPFPORT_CT_SEEN_RST))))
		return;
	ct_flow_delete(&k, v, assured);
	count_stat(BPFPORT_STAT_CT_RELEASED);
}

/*
 * A reply-direction packet of flow v: a SYN-ACK is translated only if it
 * answers the SYN this flow translated (it acknowledges the client's ISN,
 * kept in the reply entry until then), or repeats the container's accepted
 * SYN-ACK. Any other SYN-ACK answers a connection that only shares the tuple,
 * such as a direct one from the same client port.
 */
static __always_inline bool ct_reply_accept(struct bpfport_ct_val *v, const struct pkt *p)
{
	if (!ct_is_synack(p))
		return true;
	if (v->flags & BPFPORT_CT_REPLIED)
		return (v->flags & BPFPORT_CT_SEQ_KNOWN) && p->tcp_seq == v->seq;
	if (p->tcp_ack - (v->seq + 1) > CT_ACK_SLACK)
		return false;
	v->seq = p->tcp_seq;
	v->flags |= BPFPORT_CT_REPLIED | BPFPORT_CT_SEQ_KNOWN;
	return true;
}

/*
 * Follow the highest sequence number from this entry's sender, and take a
 * FIN or RST only near it (roughly the kernel's tcp_in_window): an off-path
 * RST with a guessed sequence number does not shorten a flow's timeout. The
 * reply entry keeps the client's ISN until the SYN-ACK (ct_reply_accept).
 */
static __always_inline void ct_track_tcp(struct bpfport_ct_val *v, const struct pkt *p, __u8 dir)
{
	__u8 closing = p->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST);
	__s32 ahead;

	if (!(v->flags & BPFPORT_CT_SEQ_KNOWN)) {
		if (dir == BPFPORT_CT_INGRESS || (v->flags & BPFPORT_CT_REPLIED)) {
			v->seq = p->tcp_seq;
			v->flags |= BPFPORT_CT_SEQ_KNOWN;
		}
	} else {
		ahead = (__s32)(p->tcp_seq - v->seq);
		if (ahead > (__s32)CT_SEQ_SLACK || ahead < -(__s32)CT_SEQ_SLACK) {
			if (closing)
				count_stat(BPFPORT_STAT_CT_OUT_OF_WINDOW);
			return;
		}
		if (ahead > 0)
			v->seq = p->tcp_seq;
	}
	if (p->tcp_flags & TCP_FLAG_FIN)
		v->flags |= BPFPORT_CT_SEEN_FIN;
	if (p->tcp_flags & TCP_FLAG_RST)
		v->flags |= BPFPORT_CT_SEEN_RST;
}

/* Refresh last-seen time and follow TCP; true when the time was refreshed
 * (at most about once a second). */
static __always_inline bool ct_touch(struct bpfport_ct_val *v, const struct pkt *p, __u8 dir)
{
	__u64 now = ct_now();
	bool refreshed = false;

	/* Skip the store when nothing changed much: fewer dirtied cache lines. */
	if (!ct_seen_last_second(v, now)) {
		v->last_seen_ns = now;
		refreshed = true;
	}
	if (p->proto == IPPROTO_TCP)
		ct_track_tcp(v, p, dir);
	return refreshed;
}

/*
 * The partner entry that k/v implies (the inverse of ct_partner_key): both
 * entries of a flow hold the same facts, so either rebuilds the other, less
 * the other sender's sequence number, which its next packet sets.
 */
static __always_inline void ct_partner_val(const struct bpfport_ct_key *k,
					   const struct bpfport_ct_val *v,
					   struct bpfport_ct_val *pv)
{
	bool peer = !addr_is_zero(&v->peer_addr);
	bool ingress = k->dir == BPFPORT_CT_INGRESS;

	__builtin_memset(pv, 0, sizeof(*pv));
	pv->slot = v->slot;
	pv->gen = v->gen;
	pv->flags = v->flags & ~BPFPORT_CT_SEQ_KNOWN;
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
 * The LRU evicts entries one at a time, so an assured flow can lose one
 * direction: a lost reply entry would leave the container's answers
 * untranslated for as long as the client keeps the ingress entry alive.
 * Called about once a second per flow (when ct_touch refreshes), it puts a
 * missing partner back.
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
	if (!bpf_map_update_elem(&bp_ct, &pk, &pv, BPF_NOEXIST))
		count_stat(BPFPORT_STAT_CT_PARTNER_LOST);
}

/* Both entries of flow k/v, with their partner pk/pv, into table dst; gone from src. */
static __always_inline void ct_flow_move(void *dst, void *src, const struct bpfport_ct_key *k,
					 const struct bpfport_ct_val *v,
					 const struct bpfport_ct_key *pk,
					 const struct bpfport_ct_val *pv)
{
	if (bpf_map_update_elem(dst, pk, pv, BPF_ANY) || bpf_map_update_elem(dst, k, v, BPF_ANY)) {
		bpf_map_delete_elem(dst, pk);
		return;
	}
	bpf_map_delete_elem(src, pk);
	bpf_map_delete_elem(src, k);
}

/*
 * The container answered a UDP flow of bp_ct_new: both entries note it, so
 * that a later datagram either way can assure the flow.
 */
static __always_inline void ct_udp_replied(const struct bpfport_ct_key *k, struct bpfport_ct_val *v)
{
	struct bpfport_ct_val *partner;
	struct bpfport_ct_key pk;

	v->flags |= BPFPORT_CT_REPLIED;
	ct_partner_key(k, v, &pk);
	partner = bpf_map_lookup_elem(&bp_ct_new, &pk);
	if (partner)
		partner->flags |= BPFPORT_CT_REPLIED;
}

/*
 * A flow of bp_ct_new becomes assured, as netfilter's ASSURED: TCP when the
 * client acknowledges the container's SYN-ACK (a spoofed source never sees
 * it), UDP once answered and still going CT_UDP_STREAM_NS after it began.
 * Both entries move to bp_ct.
 */
static __always_inline void ct_assure(const struct pkt *p, __u8 dir, struct bpfport_ct_val *v)
{
	struct bpfport_ct_val val = *v, pval, *partner;
	struct bpfport_ct_key k, pk;

	ct_key_from_pkt(&k, p, dir);
	if (p->proto == IPPROTO_TCP) {
		if (dir != BPFPORT_CT_INGRESS ||
		    (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_ACK)
			return;
	} else if (!(v->flags & BPFPORT_CT_REPLIED)) {
		if (dir == BPFPORT_CT_REPLY)
			ct_udp_replied(&k, v);
		return;
	} else if ((__s64)(ct_now() - v->created_ns) < (__s64)CT_UDP_STREAM_NS) {
		return;
	}
	ct_partner_key(&k, v, &pk);
	partner = bpf_map_lookup_elem(&bp_ct_new, &pk);
	if (!partner)
		return;
	if (p->proto == IPPROTO_TCP && (!(partner->flags & BPFPORT_CT_REPLIED) ||
					p->tcp_ack - (partner->seq + 1) > CT_ACK_SLACK))
		return;
	/* Both entries say so: either may rebuild the other (ct_partner_val). */
	pval = *partner;
	pval.flags |= BPFPORT_CT_REPLIED;
	val.flags |= BPFPORT_CT_REPLIED;
	ct_flow_move(&bp_ct, &bp_ct_new, &k, &val, &pk, &pval);
	count_stat(BPFPORT_STAT_CT_ASSURED);
}

/*
 * An assured flow that closed (an in-window FIN or RST) goes back to
 * bp_ct_new for its last seconds: the assured table keeps only live
 * connections, so that ordinary churn of short connections evicts closed
 * flows, never an idle established one.
 */
static __always_inline void ct_retire(const struct pkt *p, __u8 dir, const struct bpfport_ct_val *v)
{
	struct bpfport_ct_val *partner, pval;
	struct bpfport_ct_key k, pk;

	ct_key_from_pkt(&k, p, dir);
	ct_partner_key(&k, v, &pk);
	partner = bpf_map_lookup_elem(&bp_ct, &pk);
	if (partner)
		pval = *partner;
	else
		ct_partner_val(&k, v, &pval);
	ct_flow_move(&bp_ct_new, &bp_ct, &k, v, &pk, &pval);
}

/* Some binding publishes this host port (bp_published). */
static __always_inline bool ct_port_published(__u8 family, __u8 proto, __u16 port)
{
	__u32 idx = BPFPORT_PUBLISHED_WORD(family, proto, port);
	__u64 *word = bpf_map_lookup_elem(&bp_published, &idx);

	return word && (*word & BPFPORT_PUBLISHED_BIT(port));
}

/*
 * A client port for a remapped or hairpin flow: 1024-65535 outside the
 * host's ip_local_port_range, so that no connect() of the host's own later
 * picks the port a hairpin flow holds on the bridge address. Linux's
 * default range leaves 36,280 ports.
 */
#define CT_PORT_MIN 1024
#define CT_LOCAL_LO_DEFAULT 32768
#define CT_LOCAL_HI_DEFAULT 60999

static __always_inline __u16 ct_pick_port(const struct bpfport_config *cfg)
{
	__u32 lo = CT_LOCAL_LO_DEFAULT, hi = CT_LOCAL_HI_DEFAULT, span, port;

	if (cfg && cfg->local_port_lo >= CT_PORT_MIN && cfg->local_port_lo <= cfg->local_port_hi &&
	    cfg->local_port_hi - cfg->local_port_lo < 65535 - CT_PORT_MIN) {
		lo = cfg->local_port_lo;
		hi = cfg->local_port_hi;
	}
	span = 65536 - CT_PORT_MIN - (hi - lo + 1);
	port = CT_PORT_MIN + bpf_get_prandom_u32() % span;
	if (port >= lo)
		port += hi - lo + 1;
	return port;
}

/*
 * A host socket would take a packet from the container to the bridge
 * address on this tuple (rk: container -> snat:N): a connection of the
 * host's own, one in TIME_WAIT, or a listener on N.
 */
static __always_inline bool ct_host_socket_holds(struct __sk_buff *skb,
						 const struct bpfport_ct_key *rk)
{
	struct bpf_sock_tuple t;
	struct bpf_sock *sk;
	__u32 len;

	__builtin_memset(&t, 0, sizeof(t));
	if (rk->family == BPFPORT_AF_INET) {
		t.ipv4.saddr = rk->saddr.a[0];
		t.ipv4.daddr = rk->daddr.a[0];
		t.ipv4.sport = rk->sport;
		t.ipv4.dport = rk->dport;
		len = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, rk->saddr.a, sizeof(t.ipv6.saddr));
		__builtin_memcpy(t.ipv6.daddr, rk->daddr.a, sizeof(t.ipv6.daddr));
		t.ipv6.sport = rk->sport;
		t.ipv6.dport = rk->dport;
		len = sizeof(t.ipv6);
	}
	if (rk->proto == IPPROTO_TCP)
		sk = bpf_skc_lookup_tcp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

/*
 * Two flows clash on their reply tuple when one client port reaches the same
 * container endpoint through two published ports (Linux reuses an ephemeral
 * port towards different destinations), or when the client already talks to
 * the container directly from that port. The container would see one
 * connection where there are two, so the later flow gets another client
 * port, as conntrack's NAT does. For hairpin flows (skb set) the port lies on
 * the host's own address, so it must also be free of host sockets and
 * published ports. The BPF_NOEXIST insert settles races between CPUs.
 */
#define CT_REMAP_TRIES 8

static __always_inline int ct_insert_remapped(struct bpfport_ct_key *k,
					      const struct bpfport_ct_val *v, __be16 *nat_port,
					      struct __sk_buff *hairpin_skb)
{
	struct bpfport_config *cfg = config_get();
	__u64 now = v->created_ns;

	for (int i = 0; i < CT_REMAP_TRIES; i++) {
		__u16 port = ct_pick_port(cfg);

		k->dport = bpf_htons(port);
		if (bpf_map_lookup_elem(&bp_ct, k))
			continue;
		if (hairpin_skb) {
			if (ct_port_published(k->family, k->proto, port) ||
			    ct_host_socket_holds(hairpin_skb, k))
				continue;
		} else if (direct_holds(k, cfg, now)) {
			continue;
		}
		if (!bpf_map_update_elem(&bp_ct_new, k, v, BPF_NOEXIST)) {
			*nat_port = k->dport;
			return 0;
		}
	}
	return -1;
}

/* A reply entry left by this same flow (or an earlier use of its tuple). */
static __always_inline bool ct_reply_same_flow(const struct bpfport_ct_val *v, const struct pkt *p)
{
	return !v->nat_port && v->port == p->dport && v->addr.a[0] == p->daddr.a[0] &&
	       v->addr.a[1] == p->daddr.a[1] && v->addr.a[2] == p->daddr.a[2] &&
	       v->addr.a[3] == p->daddr.a[3];
}

/* Insert the reply entry k/v under the container-side port of the flow this
 * one replaces (struct ct_reuse); false if another flow took it meanwhile. */
static __always_inline bool ct_insert_reused(struct bpfport_ct_key *k, struct bpfport_ct_val *v,
					     const struct pkt *p, const struct ct_reuse *reuse,
					     __be16 *nat_port, bool hairpin)
{
	__be16 own = v->nat_port;

	if (!reuse->valid)
		return false;
	k->dport = reuse->port;
	if (!hairpin)
		v->nat_port = reuse->port == p->sport ? 0 : p->sport;
	if (bpf_map_lookup_elem(&bp_ct, k) || bpf_map_update_elem(&bp_ct_new, k, v, BPF_NOEXIST)) {
		v->nat_port = own;
		return false;
	}
	*nat_port = !hairpin && reuse->port == p->sport ? 0 : reuse->port;
	return true;
}

/* The reply tuple k is free for a new flow of p: no other live flow and no
 * direct connection holds it. A dead entry of its own is cleared. */
static __always_inline bool ct_reply_free(const struct bpfport_ct_key *k, const struct pkt *p,
					  __u64 now)
{
	struct bpfport_ct_val *old;
	bool assured;

	old = ct_map_lookup(k, &assured);
	if (old) {
		if (!ct_reply_same_flow(old, p) && !ct_expired(old, p->proto, assured, now) &&
		    ct_gen_current(old))
			return false;
		ct_map_delete(k, assured);
	}
	return !direct_holds(k, config_get(), now);
}

static __always_inline int ct_insert_reply(struct bpfport_ct_key *k, struct bpfport_ct_val *v,
					   const struct pkt *p, __be16 *nat_port)
{
	*nat_port = 0;
	if (ct_reply_free(k, p, v->created_ns))
		return bpf_map_update_elem(&bp_ct_new, k, v, BPF_ANY) ? -1 : 0;

	v->nat_port = p->sport; /* the reply restores the client's own port */
	if (ct_insert_remapped(k, v, nat_port, NULL))
		return -1;
	count_stat(BPFPORT_STAT_CT_REMAPPED);
	return 0;
}

/*
 * A fresh value for a new flow of binding b, and the key of its reply entry
 * (container -> client), for the caller to complete. The reply entry keeps
 * the client's ISN for ct_reply_accept; the ingress entry follows the
 * client's sequence numbers from it.
 */
static __always_inline void ct_new_flow(const struct pkt *p, const struct bpfport_bind_val *b,
					struct bpfport_ct_key *k, struct bpfport_ct_val *v)
{
	__u64 now = bpf_ktime_get_ns();

	__builtin_memset(v, 0, sizeof(*v));
	v->slot = b->slot;
	v->gen = (__u16)b->gen;
	v->seq = p->tcp_seq;
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

/* The ingress entry, from the reply entry's value v as inserted. */
static __always_inline int ct_insert_ingress(const struct pkt *p, const struct bpfport_bind_val *b,
					     struct bpfport_ct_val *v)
{
	struct bpfport_ct_key k;
	int err;

	ct_key_from_pkt(&k, p, BPFPORT_CT_INGRESS);
	v->addr = b->container_addr;
	v->port = b->container_port;
	if (p->proto == IPPROTO_TCP)
		v->flags |= BPFPORT_CT_SEQ_KNOWN;
	err = bpf_map_update_elem(&bp_ct_new, &k, v, BPF_ANY) ? -1 : 0;
	count_stat(err ? BPFPORT_STAT_CT_TABLE_FULL : BPFPORT_STAT_CT_NEW);
	return err;
}

/*
 * Insert the reply entry first: if the ingress insert then fails, the flow
 * is simply not translated, and a stray reply entry only ever matches
 * packets from the container to that exact client port. *nat_port is the
 * client port to write on ingress, 0 to keep the client's own.
 */
static __always_inline int ct_create(const struct pkt *p, const struct bpfport_bind_val *b,
				     const struct ct_reuse *reuse, __be16 *nat_port)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;

	ct_new_flow(p, b, &k, &v);
	k.daddr = p->saddr;
	if (ct_insert_reused(&k, &v, p, reuse, nat_port, false))
		goto ingress;
	k.dport = p->sport;
	if (ct_insert_reply(&k, &v, p, nat_port)) {
		count_stat(BPFPORT_STAT_CT_TABLE_FULL);
		return -1;
	}
ingress:
	v.nat_port = *nat_port;
	return ct_insert_ingress(p, b, &v);
}

/*
 * A hairpin flow: client A and container B behind the same bridge. B must
 * answer through us, not straight to A, so A's source becomes the bridge's
 * own address snat with a fresh port N (always remapped: the bridge address
 * is shared by every hairpin client).
 *   ingress A:sp -> pub:pp   = B:bp, source snat:N
 *   reply   B:bp -> snat:N   = pub:pp, destination A:sp
 */
static __always_inline int ct_create_hairpin(struct __sk_buff *skb, const struct pkt *p,
					     const struct bpfport_bind_val *b,
					     const struct bpfport_addr *snat,
					     const struct ct_reuse *reuse, __be16 *nat_port)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;

	ct_new_flow(p, b, &k, &v);
	v.peer_addr = p->saddr;
	v.nat_port = p->sport;
	k.daddr = *snat;
	if (!ct_insert_reused(&k, &v, p, reuse, nat_port, true) &&
	    ct_insert_remapped(&k, &v, nat_port, skb)) {
		count_stat(BPFPORT_STAT_CT_TABLE_FULL);
		return -1;
	}
	v.peer_addr = *snat;
	v.nat_port = *nat_port;
	return ct_insert_ingress(p, b, &v);
}

#endif /* BPFPORT_CONNTRACK_H */
