/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The two halves of publishing a port, shared by the XDP and TC programs.
 *
 *   translate_ingress()  client -> published endpoint becomes client -> container;
 *                        VERDICT_DROP for a source the binding's allow-list refuses;
 *                        a port nobody publishes costs one array lookup
 *   translate_reply()    container -> client becomes published endpoint -> client
 *   translate_bridge()   on the containers' bridge: flows from containers to
 *                        published ports, hairpin ones both ways
 *   direct_observe()     a client's own TCP connection to a container endpoint,
 *                        which translated flows must not collide with
 * Packets to container addresses that nothing translated meet guard.h:
 * VERDICT_DROP unless direct access is allowed or they answer the container.
 * New and ended flows, drops, ICMP errors and hairpin flows go to events.h.
 */
#ifndef BPFPORT_TRANSLATE_H
#define BPFPORT_TRANSLATE_H

#include "conntrack.h"
#include "counters.h"
#include "direct.h"
#include "events.h"
#include "frag.h"
#include "guard.h"
#include "icmp.h"
#include "local.h"
#include "maps.h"
#include "nat.h"
#include "parse.h"

enum verdict {
	VERDICT_PASS,
	VERDICT_DROP,
	VERDICT_REDIRECT, /* hairpin: send back out the interface it came in on */
};

static __always_inline void nat_op_from_ct(struct nat_op *op, const struct bpfport_ct_val *v,
					   bool dst)
{
	__builtin_memset(op, 0, sizeof(*op));
	op->dst = dst;
	op->addr = v->addr;
	op->port = v->port;
	op->peer_port = v->nat_port;
	op->peer_addr = v->peer_addr;
	op->has_peer_addr = !addr_is_zero(&v->peer_addr);
}

/* Only the first packet of a flow is checked: an established flow was admitted. */
static __always_inline bool source_allowed(const struct bpfport_bind_val *b, const struct pkt *p)
{
	struct bpfport_allow_key k;

	if (!(b->flags & BPFPORT_BIND_ALLOWLIST))
		return true;
	k.prefixlen = 32 + (p->family == BPFPORT_AF_INET ? 32 : 128);
	k.slot = b->slot;
	__builtin_memcpy(k.addr, p->saddr.a, sizeof(k.addr));
	return bpf_map_lookup_elem(&bp_allow, &k) != NULL;
}

/* A packet of a tracked flow, in direction dir. True when it belongs to a
 * hairpin flow (its second address was rewritten too). */
static __always_inline bool ct_translate(void *ctx, const bool xdp, const struct pkt *p,
					 struct bpfport_ct_val *ctv, __u8 dir, bool assured)
{
	struct nat_op op;

	__u8 was_closed = ctv->flags & (BPFPORT_CT_SEEN_FIN | BPFPORT_CT_SEEN_RST);
	bool refreshed;

	nat_op_from_ct(&op, ctv, dir == BPFPORT_CT_INGRESS);
	refreshed = ct_touch(ctv, p, dir);
	if (!assured)
		ct_assure(p, dir, ctv);
	else if (!was_closed && (ctv->flags & (BPFPORT_CT_SEEN_FIN | BPFPORT_CT_SEEN_RST))) {
		ct_retire(p, dir, ctv);
		event_emit(ctx, xdp, BPFPORT_EV_FLOW_END, p, ctv->slot, &ctv->addr, ctv->port, 0);
	} else if (refreshed)
		ct_partner_restore(p, dir, ctv);
	if (dir == BPFPORT_CT_INGRESS)
		count_rx(ctv->slot, p->len);
	else
		count_tx(ctv->slot, p->len);
	frag_record(p, dir, &ctv->addr, ctv->slot);
	nat_rewrite(ctx, xdp, p, &op);
	return op.has_peer_addr;
}

/*
 * The flow a packet belongs to, in direction dir; NULL for none. A SYN that
 * opens a new connection on a closed flow's tuple ends that flow first, so
 * that the new one is admitted afresh (bindings, allow-list), keeping its
 * container-side port (*reuse); a reply that answers another connection is
 * not ours (NULL).
 */
static __always_inline struct bpfport_ct_val *ct_flow_of(const struct pkt *p, __u8 dir,
							 bool *assured, struct ct_reuse *reuse)
{
	struct bpfport_ct_val *ctv = ct_lookup(p, dir, assured);
	struct bpfport_ct_key k;

	reuse->valid = false;
	if (!ctv)
		return NULL;
	if (dir == BPFPORT_CT_REPLY) {
		if (ct_reply_accept(ctv, p))
			return ctv;
		count_stat(BPFPORT_STAT_CT_FOREIGN_SYNACK);
		return NULL;
	}
	if (!ct_syn_restarts(ctv, p, *assured))
		return ctv;
	ct_reuse_of(ctv, p, reuse);
	ct_key_from_pkt(&k, p, dir);
	ct_flow_delete(&k, ctv, *assured);
	count_stat(BPFPORT_STAT_CT_RESTARTED);
	return NULL;
}

/*
 * A TCP packet that no binding translates, on its way to a container
 * endpoint some binding targets: a client talking to the container directly.
 * Only SYN, FIN and RST matter, so other packets cost a flags test.
 */
static __always_inline void direct_observe(const struct pkt *p)
{
	struct bpfport_ct_key k;

	if (p->proto != IPPROTO_TCP ||
	    !(p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST)) ||
	    !backend_known(&p->daddr, p->dport, p->family, p->proto))
		return;
	if (ct_is_syn(p))
		ct_release_stale(p);
	ct_key_from_pkt(&k, p, BPFPORT_CT_INGRESS);
	if (direct_record(p, &k))
		count_stat(BPFPORT_STAT_DIRECT_TRACKED);
}

/* Some binding publishes the packet's destination port (bp_published). */
static __always_inline bool port_published(const struct pkt *p)
{
	return ct_port_published(p->family, p->proto, bpf_ntohs(p->dport));
}

/* Specific address first, then the wildcard, as Docker's DNAT rules match. */
static __always_inline struct bpfport_bind_val *binding_lookup(void *ctx, const bool xdp,
							       const struct pkt *p)
{
	struct bpfport_bind_key k;
	struct bpfport_bind_val *b;

	__builtin_memset(&k, 0, sizeof(k));
	k.host_addr = p->daddr;
	k.host_port = p->dport;
	k.family = p->family;
	k.proto = p->proto;
	b = bpf_map_lookup_elem(&bp_bindings, &k);
	if (b)
		return b;

	__builtin_memset(&k.host_addr, 0, sizeof(k.host_addr));
	b = bpf_map_lookup_elem(&bp_bindings, &k);
	if (b && !addr_is_local(ctx, xdp, p))
		return NULL;
	return b;
}

/* The binding a new flow matches and may use; NULL, with *v set, if none. */
static __always_inline struct bpfport_bind_val *binding_admit(void *ctx, const bool xdp,
							      const struct pkt *p, enum verdict *v)
{
	struct bpfport_bind_val *b = binding_lookup(ctx, xdp, p);

	*v = VERDICT_PASS;
	if (!b) {
		frag_forget(p, BPFPORT_CT_INGRESS);
		return NULL;
	}
	if (!source_allowed(b, p)) {
		count_drop(b->slot);
		count_stat(BPFPORT_STAT_DROP_ALLOWLIST);
		event_emit(ctx, xdp, BPFPORT_EV_DROP, p, b->slot, &b->container_addr,
			   b->container_port, BPFPORT_STAT_DROP_ALLOWLIST);
		*v = VERDICT_DROP;
		return NULL;
	}
	if (!ct_admissible(p)) {
		count_stat(BPFPORT_STAT_CT_UNTRACKED);
		return NULL;
	}
	return b;
}

static __always_inline enum verdict translate_ingress(void *ctx, const bool xdp)
{
	struct bpfport_ct_val *ctv;
	struct bpfport_bind_val *b;
	struct ct_reuse reuse;
	enum verdict verdict;
	bool assured;
	struct pkt p;

	switch (parse_packet(ctx, xdp, &p)) {
	case PARSE_OK:
		break;
	case PARSE_ICMP:
		if (icmp_translate(ctx, xdp, &p, BPFPORT_CT_INGRESS, false) > 0)
			event_emit(ctx, xdp, BPFPORT_EV_ICMP, &p, EVENT_NO_SLOT, NULL, 0, 0);
		else if (icmp_is_echo_request(ctx, xdp, &p) && !guard_direct_access(ctx, xdp, &p))
			return VERDICT_DROP;
		return VERDICT_PASS;
	case PARSE_FRAG:
		frag_translate(ctx, xdp, &p, BPFPORT_CT_INGRESS);
		return VERDICT_PASS;
	default:
		return VERDICT_PASS;
	}
	if (addr_is_loopback(&p))
		return VERDICT_PASS;
	/* Ingress entries are keyed by the published endpoint, so a port
	 * nobody publishes has neither a flow nor a binding. */
	if (!port_published(&p)) {
		frag_forget(&p, BPFPORT_CT_INGRESS);
		direct_observe(&p);
		return guard_direct_access(ctx, xdp, &p) ? VERDICT_PASS : VERDICT_DROP;
	}

	ctv = ct_flow_of(&p, BPFPORT_CT_INGRESS, &assured, &reuse);
	if (ctv) {
		ct_translate(ctx, xdp, &p, ctv, BPFPORT_CT_INGRESS, assured);
		return VERDICT_PASS;
	}

	b = binding_admit(ctx, xdp, &p, &verdict);
	if (!b) {
		direct_observe(&p);
		if (verdict == VERDICT_PASS && !guard_direct_access(ctx, xdp, &p))
			verdict = VERDICT_DROP;
		return verdict;
	}
	struct nat_op op = { .dst = true, .addr = b->container_addr, .port = b->container_port };

	if (ct_create(&p, b, &reuse, &op.peer_port))
		return VERDICT_PASS;
	count_rx(b->slot, p.len);
	frag_record(&p, BPFPORT_CT_INGRESS, &b->container_addr, b->slot);
	nat_rewrite(ctx, xdp, &p, &op);
	event_emit(ctx, xdp, BPFPORT_EV_FLOW_NEW, &p, b->slot, &op.addr, op.port, 0);
	return VERDICT_PASS;
}

static __always_inline void translate_reply(void *ctx, const bool xdp)
{
	struct bpfport_ct_val *ctv;
	struct ct_reuse reuse;
	bool assured;
	struct pkt p;

	switch (parse_packet(ctx, xdp, &p)) {
	case PARSE_OK:
		break;
	case PARSE_ICMP:
		if (icmp_translate(ctx, xdp, &p, BPFPORT_CT_REPLY, false) > 0)
			event_emit(ctx, xdp, BPFPORT_EV_ICMP, &p, EVENT_NO_SLOT, NULL, 0, 0);
		return;
	case PARSE_FRAG:
		frag_translate(ctx, xdp, &p, BPFPORT_CT_REPLY);
		return;
	default:
		return;
	}
	ctv = ct_flow_of(&p, BPFPORT_CT_REPLY, &assured, &reuse);
	if (!ctv) {
		frag_forget(&p, BPFPORT_CT_REPLY);
		guard_outbound_note(&p);
		return;
	}
	ct_translate(ctx, xdp, &p, ctv, BPFPORT_CT_REPLY, assured);
}

/*
 * Where the kernel would send a packet to addr, and from which source. The
 * source comes from BPF_FIB_LOOKUP_SRC (kernel 6.7+).
 */
static __always_inline bool fib_out(struct __sk_buff *skb, const struct pkt *p,
				    const struct bpfport_addr *addr, __u32 *ifindex,
				    struct bpfport_addr *src)
{
	struct bpf_fib_lookup fib;
	long rc;

	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = p->family;
	fib.l4_protocol = p->proto;
	fib.ifindex = skb->ingress_ifindex;
	if (p->family == BPFPORT_AF_INET)
		fib.ipv4_dst = addr->a[0];
	else
		__builtin_memcpy(fib.ipv6_dst, addr->a, sizeof(fib.ipv6_dst));
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_SRC | BPF_FIB_LOOKUP_SKIP_NEIGH);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return false;
	*ifindex = fib.ifindex;
	__builtin_memset(src, 0, sizeof(*src));
	if (p->family == BPFPORT_AF_INET)
		src->a[0] = fib.ipv4_src;
	else
		__builtin_memcpy(src->a, fib.ipv6_src, sizeof(src->a));
	return true;
}

/*
 * On the bridge the containers sit on, packets enter the host from the
 * containers: new flows from a container to a published endpoint, and the
 * replies of hairpin flows. A hairpin packet, once its source is the
 * bridge's own address (or the published one), would be dropped as a martian
 * by the input route: it is sent straight back out the bridge.
 */
static __always_inline enum verdict translate_bridge(struct __sk_buff *skb)
{
	struct bpfport_addr snat;
	struct bpfport_ct_val *ctv;
	struct bpfport_bind_val *b;
	enum verdict verdict;
	struct ct_reuse reuse, reply_reuse;
	struct nat_op op;
	bool assured;
	struct pkt p;
	__u32 out_ifindex;

	switch (parse_packet(skb, false, &p)) {
	case PARSE_OK:
		break;
	case PARSE_ICMP:
		/* Errors between two containers about a hairpin flow, either way. */
		if (icmp_translate(skb, false, &p, BPFPORT_CT_REPLY, true) == 2 ||
		    icmp_translate(skb, false, &p, BPFPORT_CT_INGRESS, true) == 2) {
			event_emit(skb, false, BPFPORT_EV_ICMP, &p, EVENT_NO_SLOT, NULL, 0, 0);
			return VERDICT_REDIRECT;
		}
		return VERDICT_PASS;
	default:
		return VERDICT_PASS;
	}
	if (addr_is_loopback(&p))
		return VERDICT_PASS;

	ctv = ct_flow_of(&p, BPFPORT_CT_INGRESS, &assured, &reuse);
	if (ctv)
		return ct_translate(skb, false, &p, ctv, BPFPORT_CT_INGRESS, assured) ?
			       VERDICT_REDIRECT :
			       VERDICT_PASS;
	/* Replies to outside clients are left to the external interface's egress:
	 * with a local source address the input route would drop them here. */
	ctv = ct_flow_of(&p, BPFPORT_CT_REPLY, &assured, &reply_reuse);
	if (ctv && !addr_is_zero(&ctv->peer_addr)) {
		ct_translate(skb, false, &p, ctv, BPFPORT_CT_REPLY, assured);
		return VERDICT_REDIRECT;
	}
	if (ctv)
		return VERDICT_PASS;

	b = binding_admit(skb, false, &p, &verdict);
	if (!b)
		return verdict;
	nat_op_from_ct(&op,
		       &(struct bpfport_ct_val){ .addr = b->container_addr,
						 .port = b->container_port },
		       true);
	if (fib_out(skb, &p, &b->container_addr, &out_ifindex, &snat) &&
	    out_ifindex == skb->ingress_ifindex) {
		if (ct_create_hairpin(skb, &p, b, &snat, &reuse, &op.peer_port))
			return VERDICT_PASS;
		op.peer_addr = snat;
		op.has_peer_addr = true;
		count_rx(b->slot, p.len);
		nat_rewrite(skb, false, &p, &op);
		event_emit(skb, false, BPFPORT_EV_HAIRPIN, &p, b->slot, &snat, op.peer_port, 0);
		return VERDICT_REDIRECT;
	}
	if (ct_create(&p, b, &reuse, &op.peer_port))
		return VERDICT_PASS;
	count_rx(b->slot, p.len);
	nat_rewrite(skb, false, &p, &op);
	event_emit(skb, false, BPFPORT_EV_FLOW_NEW, &p, b->slot, &op.addr, op.port, 0);
	return VERDICT_PASS;
}

#endif /* BPFPORT_TRANSLATE_H */
