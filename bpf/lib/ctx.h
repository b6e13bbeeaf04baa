/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One datapath for XDP and TC: every helper takes the program's context as
 * `void *ctx` plus a compile-time `xdp` flag. All helpers are always_inline,
 * so the flag is a constant and the branch for the other hook disappears
 * before the verifier sees it.
 *
 *   ctx_data(), ctx_data_end()  packet bounds
 *   ctx_len()                   bytes on the wire, for counters
 *   ctx_ifindex()               interface the packet arrived on
 *   ctx_pull()                  make the first N bytes directly readable (TC)
 *   ctx_load(), ctx_store()     copy bytes at any offset, for rare paths (ICMP)
 *
 * Direct access covers only the linear part of an skb, so lengths taken from
 * headers are checked against ctx_len(), the whole packet, never data_end.
 */
#ifndef BPFPORT_CTX_H
#define BPFPORT_CTX_H

/*
 * Context fields are loaded with inline asm at a constant offset: plain C
 * lets clang merge the XDP and TC loads into one "ctx + register" access,
 * which the verifier rejects ("dereference of modified ctx ptr").
 */
#define CTX_READ(ctx, type, field)                                    \
	({                                                            \
		__u64 __v; /* a 32-bit load zero-extends */           \
		asm volatile("%0 = *(u32 *)(%1 + %2)"                 \
			     : "=r"(__v)                              \
			     : "r"(ctx), "i"(offsetof(type, field))); \
		__v;                                                  \
	})

static __always_inline void *ctx_data(void *ctx, const bool xdp)
{
	if (xdp)
		return (void *)(long)CTX_READ(ctx, struct xdp_md, data);
	return (void *)(long)CTX_READ(ctx, struct __sk_buff, data);
}

static __always_inline void *ctx_data_end(void *ctx, const bool xdp)
{
	if (xdp)
		return (void *)(long)CTX_READ(ctx, struct xdp_md, data_end);
	return (void *)(long)CTX_READ(ctx, struct __sk_buff, data_end);
}

static __always_inline __u32 ctx_len(void *ctx, const bool xdp)
{
	if (xdp)
		return (__u32)(ctx_data_end(ctx, xdp) - ctx_data(ctx, xdp));
	return CTX_READ(ctx, struct __sk_buff, len);
}

static __always_inline __u32 ctx_ifindex(void *ctx, const bool xdp)
{
	if (xdp)
		return CTX_READ(ctx, struct xdp_md, ingress_ifindex);
	return CTX_READ(ctx, struct __sk_buff, ingress_ifindex);
}

/*
 * A TC packet's headers may sit partly in paged fragments; pull enough for
 * the deepest header we parse. XDP buffers are linear for our purposes.
 */
static __always_inline void ctx_pull(void *ctx, const bool xdp, __u32 len)
{
	__u32 skb_len;

	if (xdp)
		return;
	if (ctx_data(ctx, xdp) + len <= ctx_data_end(ctx, xdp))
		return;
	/* Asking for more than the packet holds fails and pulls nothing. */
	skb_len = ctx_len(ctx, xdp);
	bpf_skb_pull_data(ctx, len < skb_len ? len : skb_len);
}

static __always_inline long ctx_load(void *ctx, const bool xdp, __u32 off, void *to, __u32 len)
{
	if (xdp)
		return bpf_xdp_load_bytes(ctx, off, to, len);
	return bpf_skb_load_bytes(ctx, off, to, len);
}

/* TC: keep a CHECKSUM_COMPLETE skb's csum in step with the new bytes. */
static __always_inline long ctx_store(void *ctx, const bool xdp, __u32 off, void *from, __u32 len)
{
	if (xdp)
		return bpf_xdp_store_bytes(ctx, off, from, len);
	return bpf_skb_store_bytes(ctx, off, from, len, BPF_F_RECOMPUTE_CSUM);
}

#endif /* BPFPORT_CTX_H */
