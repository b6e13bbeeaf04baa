/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Datapath events for `bpfport monitor`: new and ended flows, drops with
 * their reason, translated ICMP errors, hairpin flows. Off by default; the
 * cost when off is one configuration read on those (rare) paths, never on a
 * packet of an established flow. Bounded per CPU and second.
 *
 *   event_emit()  one event about packet p, if the monitor is on and the budget allows
 */
#ifndef BPFPORT_EVENTS_H
#define BPFPORT_EVENTS_H

#include "counters.h"
#include "ctx.h"
#include "direct.h"
#include "maps.h"
#include "parse.h"

#define EVENT_NO_SLOT 0xffffffffU

/* One more event this second on this CPU, within BPFPORT_EVENTS_PER_SEC. */
static __always_inline bool event_budget_take(__u64 now)
{
	__u32 zero = 0;
	struct bpfport_event_budget *b = bpf_map_lookup_elem(&bp_event_budget, &zero);
	__u64 second = now / NSEC_PER_SEC;

	if (!b)
		return false;
	if (b->second != second) {
		b->second = second;
		b->sent = 0;
	}
	if (b->sent >= BPFPORT_EVENTS_PER_SEC)
		return false;
	b->sent++;
	return true;
}

static __always_inline void event_emit(void *ctx, const bool xdp, __u32 type, const struct pkt *p,
				       __u32 slot, const struct bpfport_addr *xaddr, __be16 xport,
				       __u32 reason)
{
	struct bpfport_config *cfg = config_get();
	struct bpfport_event *e;
	__u64 now;

	if (!cfg || !(cfg->flags & BPFPORT_CFG_EVENTS))
		return;
	now = bpf_ktime_get_ns();
	if (!event_budget_take(now)) {
		count_stat(BPFPORT_STAT_EVENTS_LOST);
		return;
	}
	e = bpf_ringbuf_reserve(&bp_events, sizeof(*e), 0);
	if (!e) {
		count_stat(BPFPORT_STAT_EVENTS_LOST);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->type = type;
	e->ifindex = ctx_ifindex(ctx, xdp);
	e->slot = slot;
	e->reason = reason;
	e->family = p->family;
	e->proto = p->proto;
	e->sport = p->sport;
	e->dport = p->dport;
	e->saddr = p->saddr;
	e->daddr = p->daddr;
	if (xaddr)
		e->xaddr = *xaddr;
	e->xport = xport;
	bpf_ringbuf_submit(e, 0);
}

#endif /* BPFPORT_EVENTS_H */
