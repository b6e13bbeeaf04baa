/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IP fragments of translated datagrams. The first fragment is translated
 * like any packet and records, by fragment ID, the address the rest must
 * get; the rest only get that address. Fragments that overtake the first
 * pass untranslated (the datagram then fails to reassemble, as it would
 * behind a NAT that does not reassemble).
 *
 *   frag_record()     after translating a first fragment
 *   frag_forget()     a first fragment left alone: drop any stale entry
 *   frag_translate()  a later fragment
 */
#ifndef BPFPORT_FRAG_H
#define BPFPORT_FRAG_H

#include "counters.h"
#include "maps.h"
#include "nat.h"
#include "parse.h"

static __always_inline void frag_key(struct bpfport_frag_key *k, const struct pkt *p, __u8 dir)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->id = p->frag_id;
	k->family = p->family;
	k->proto = p->frag_proto;
	k->dir = dir;
}

static __always_inline __u32 frag_now_s(void)
{
	return (__u32)(bpf_ktime_get_ns() / 1000000000ULL);
}

static __always_inline void frag_record(const struct pkt *p, __u8 dir,
					const struct bpfport_addr *addr, __u32 slot)
{
	struct bpfport_frag_key k;
	struct bpfport_frag_val v;

	if (p->frag != PKT_FRAG_FIRST)
		return;
	frag_key(&k, p, dir);
	__builtin_memset(&v, 0, sizeof(v));
	v.addr = *addr;
	v.slot = slot;
	v.first_seen_s = frag_now_s();
	bpf_map_update_elem(&bp_frags, &k, &v, BPF_ANY);
}

/* A first fragment we do not translate: its ID must not inherit an older
 * datagram's entry. */
static __always_inline void frag_forget(const struct pkt *p, __u8 dir)
{
	struct bpfport_frag_key k;

	if (p->frag != PKT_FRAG_FIRST)
		return;
	frag_key(&k, p, dir);
	bpf_map_delete_elem(&bp_frags, &k);
}

static __always_inline void frag_translate(void *ctx, const bool xdp, const struct pkt *p, __u8 dir)
{
	struct bpfport_frag_key k;
	struct bpfport_frag_val *v;

	/* Only first fragments of translated TCP/UDP datagrams make entries. */
	frag_key(&k, p, dir);
	v = bpf_map_lookup_elem(&bp_frags, &k);
	/* Signed: another CPU may have recorded it a moment after our clock read. */
	if (!v || (__s32)(frag_now_s() - v->first_seen_s) > BPFPORT_FRAG_TIMEOUT_S)
		return;
	struct nat_op op = { .dst = dir == BPFPORT_CT_INGRESS, .addr = v->addr };

	if (dir == BPFPORT_CT_INGRESS)
		count_rx(v->slot, p->len);
	else
		count_tx(v->slot, p->len);
	nat_rewrite_l3(ctx, xdp, p, &op);
}

#endif /* BPFPORT_FRAG_H */
