/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The two halves of publishing a port, shared by the XDP and TC programs.
 *
 *   translate_ingress()  client -> published endpoint becomes client -> container;
 *                        VERDICT_DROP for a source the binding's allow-list refuses
 *   translate_reply()    container -> client becomes published endpoint -> client
 */
#ifndef BPFPORT_TRANSLATE_H
#define BPFPORT_TRANSLATE_H

#include "conntrack.h"
#include "counters.h"
#include "frag.h"
#include "icmp.h"
#include "local.h"
#include "maps.h"
#include "nat.h"
#include "parse.h"

enum verdict {
	VERDICT_PASS,
	VERDICT_DROP,
};

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

static __always_inline enum verdict translate_ingress(void *ctx, const bool xdp)
{
	struct bpfport_ct_val *ctv;
	struct bpfport_bind_val *b;
	struct pkt p;

	switch (parse_packet(ctx, xdp, &p)) {
	case PARSE_OK:
		break;
	case PARSE_ICMP:
		icmp_translate(ctx, xdp, &p, BPFPORT_CT_INGRESS);
		return VERDICT_PASS;
	case PARSE_FRAG:
		frag_translate(ctx, xdp, &p, BPFPORT_CT_INGRESS);
		return VERDICT_PASS;
	default:
		return VERDICT_PASS;
	}
	if (addr_is_loopback(&p))
		return VERDICT_PASS;

	ctv = ct_lookup(&p, BPFPORT_CT_INGRESS);
	if (ctv) {
		struct nat_op op = { .dst = true, .addr = ctv->addr, .port = ctv->port,
				     .peer_port = ctv->nat_port };

		ct_touch(ctv, &p);
		count_rx(ctv->slot, p.len);
		frag_record(&p, BPFPORT_CT_INGRESS, &ctv->addr, ctv->slot);
		nat_rewrite(ctx, xdp, &p, &op);
		return VERDICT_PASS;
	}

	b = binding_lookup(ctx, xdp, &p);
	if (!b)
		return VERDICT_PASS;
	if (!source_allowed(b, &p)) {
		count_drop(b->slot);
		return VERDICT_DROP;
	}
	struct nat_op op = { .dst = true, .addr = b->container_addr, .port = b->container_port };

	if (ct_create(&p, b, &op.peer_port))
		return VERDICT_PASS;
	count_rx(b->slot, p.len);
	frag_record(&p, BPFPORT_CT_INGRESS, &b->container_addr, b->slot);
	nat_rewrite(ctx, xdp, &p, &op);
	return VERDICT_PASS;
}

static __always_inline void translate_reply(void *ctx, const bool xdp)
{
	struct bpfport_ct_val *ctv;
	struct pkt p;

	switch (parse_packet(ctx, xdp, &p)) {
	case PARSE_OK:
		break;
	case PARSE_ICMP:
		icmp_translate(ctx, xdp, &p, BPFPORT_CT_REPLY);
		return;
	case PARSE_FRAG:
		frag_translate(ctx, xdp, &p, BPFPORT_CT_REPLY);
		return;
	default:
		return;
	}
	ctv = ct_lookup(&p, BPFPORT_CT_REPLY);
	if (!ctv)
		return;
	struct nat_op op = { .dst = false, .addr = ctv->addr, .port = ctv->port,
			     .peer_port = ctv->nat_port };

	ct_touch(ctv, &p);
	count_tx(ctv->slot, p.len);
	frag_record(&p, BPFPORT_CT_REPLY, &ctv->addr, ctv->slot);
	nat_rewrite(ctx, xdp, &p, &op);
}

#endif /* BPFPORT_TRANSLATE_H */
