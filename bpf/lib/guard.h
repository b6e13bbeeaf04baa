/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Direct access: a neighbour that routes the containers' subnet via the host
 * reaches container ports that no binding publishes, or that a binding
 * publishes only on 127.0.0.1 or to an allow-list (the CVE-2025-54388
 * class). As Docker 28's raw-table "DROP DIRECT ACCESS" rules, packets to a
 * container address arriving on an attached interface are dropped unless a
 * binding translated them, or they answer a connection the container opened
 * itself (routed networks, no masquerade), or the operator allowed direct
 * access (`bpfport config set direct-access allow`).
 *
 *   guard_container_addr()  the address belongs to a container of some binding
 *   guard_outbound_note()   a container's own packet leaving: its replies may come in
 *   guard_direct_access()   may a packet no binding translated reach its container
 */
#ifndef BPFPORT_GUARD_H
#define BPFPORT_GUARD_H

#include "conntrack.h"
#include "counters.h"
#include "events.h"
#include "maps.h"
#include "parse.h"

static __always_inline bool guard_container_addr(const struct bpfport_addr *addr, __u8 family)
{
	struct bpfport_container_key k;

	__builtin_memset(&k, 0, sizeof(k));
	k.addr = *addr;
	k.family = family;
	return bpf_map_lookup_elem(&bp_containers, &k) != NULL;
}

static __always_inline bool guard_dropping(const struct bpfport_config *cfg)
{
	return cfg && !(cfg->flags & BPFPORT_CFG_DIRECT_ACCESS_ALLOW);
}

/*
 * p leaves through an attached interface untranslated. From a container, it
 * belongs to a connection the container opened: note it (refreshed at most
 * once a second) so that its replies are let in.
 */
static __always_inline void guard_outbound_note(const struct pkt *p)
{
	struct bpfport_ct_key k;
	__u64 now, *seen;

	if (!guard_dropping(config_get()) || !guard_container_addr(&p->saddr, p->family))
		return;
	ct_key_answer(&k, p, BPFPORT_CT_REPLY);
	now = ct_now();
	seen = bpf_map_lookup_elem(&bp_outbound, &k);
	if (seen) {
		if ((__s64)(now - *seen) > (__s64)NSEC_PER_SEC)
			*seen = now;
		return;
	}
	bpf_map_update_elem(&bp_outbound, &k, &now, BPF_ANY);
}

/* An answer to a connection the container opened, within the UDP timeout
 * (the longest a silent peer is still answered, short of TCP's days). */
static __always_inline bool guard_outbound_reply(const struct pkt *p,
						 const struct bpfport_config *cfg)
{
	struct bpfport_ct_key k;
	__u64 *seen;

	ct_key_from_pkt(&k, p, BPFPORT_CT_REPLY);
	seen = bpf_map_lookup_elem(&bp_outbound, &k);
	if (!seen)
		return false;
	return !idle_longer(*seen,
			    p->proto == IPPROTO_TCP ? cfg->ct_timeout_tcp : cfg->ct_timeout_udp,
			    ct_now());
}

/* p arrived on an attached interface and no binding or flow translated it. */
static __always_inline bool guard_direct_access(void *ctx, const bool xdp, const struct pkt *p)
{
	struct bpfport_config *cfg = config_get();

	if (!guard_dropping(cfg) || !guard_container_addr(&p->daddr, p->family) ||
	    guard_outbound_reply(p, cfg))
		return true;
	count_stat(BPFPORT_STAT_DROP_DIRECT_ACCESS);
	event_emit(ctx, xdp, BPFPORT_EV_DROP, p, EVENT_NO_SLOT, NULL, 0,
		   BPFPORT_STAT_DROP_DIRECT_ACCESS);
	return false;
}

#endif /* BPFPORT_GUARD_H */
