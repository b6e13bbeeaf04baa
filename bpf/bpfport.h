/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map keys and values shared by the datapath (bpf/) and user space
 * (lib/, loader/, cli/). Plain __u32/__be16 types only: the includer
 * provides them (vmlinux.h in BPF, <linux/types.h> in user space).
 *
 * These layouts are an ABI: a pinned map is reused by a new program only if
 * its key size, value size, max_entries and flags are unchanged. Grow a
 * struct only by consuming its reserved bytes.
 */
#ifndef BPFPORT_H
#define BPFPORT_H

#define BPFPORT_ABI_VERSION 1

/* Addresses are stored in 16 bytes for both families; IPv4 uses a[0]. */
struct bpfport_addr {
	__u32 a[4];
};

/* Address families as on Linux, so user space can use AF_INET/AF_INET6. */
#define BPFPORT_AF_INET 2
#define BPFPORT_AF_INET6 10

/*
 * bindings: published host endpoint -> container endpoint.
 * A wildcard binding (0.0.0.0 or ::) has an all-zero host address and
 * matches any address local to the host.
 */
struct bpfport_bind_key {
	struct bpfport_addr host_addr;
	__be16 host_port;
	__u8 family;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
};

/* The binding admits only sources listed in bp_allow. */
#define BPFPORT_BIND_ALLOWLIST 0x1

struct bpfport_bind_val {
	struct bpfport_addr container_addr;
	__be16 container_port;
	__u16 flags; /* BPFPORT_BIND_* */
	__u32 slot; /* index into the counters map */
	__u32 gen; /* bp_slot_gen[slot] when installed: flows remember it */
	__u32 reserved;
};

/*
 * ct: connection tracking. Every translated flow has two entries, one per
 * direction, keyed by the tuple as the packet carries it on the wire:
 *   ingress: client -> published host endpoint; value: container endpoint
 *   reply:   container -> client;               value: published host endpoint
 * A hairpin flow (client and container behind the same bridge) also has its
 * source translated to the bridge's address, so the reply comes back through
 * us: peer_addr/nat_port then hold the other side of the rewrite.
 * Keying replies on the full tuple keeps traffic that never went through a
 * published port (direct clients, the container's own connections) untouched.
 *
 * Two tables hold the same entries: bp_ct_new the flows not yet assured (a
 * TCP handshake not completed, a UDP flow not answered), bp_ct the assured
 * ones, as netfilter's early drop spares assured entries: a flood of spoofed
 * SYNs churns only bp_ct_new.
 */
#define BPFPORT_CT_INGRESS 0
#define BPFPORT_CT_REPLY 1

struct bpfport_ct_key {
	struct bpfport_addr saddr;
	struct bpfport_addr daddr;
	__be16 sport;
	__be16 dport;
	__u8 family;
	__u8 proto;
	__u8 dir;
	__u8 pad;
};

/* State of a flow, in its entries' flags. */
#define BPFPORT_CT_SEEN_FIN 0x1 /* an in-window FIN either way */
#define BPFPORT_CT_SEEN_RST 0x2 /* an in-window RST either way */
#define BPFPORT_CT_REPLIED 0x4 /* the container answered (TCP: a SYN-ACK that acked our SYN) */
#define BPFPORT_CT_SEQ_KNOWN 0x8 /* seq holds this direction's sender's sequence number */

struct bpfport_ct_val {
	struct bpfport_addr addr; /* address to write: new daddr or new saddr */
	struct bpfport_addr peer_addr; /* the other address too (hairpin), or all-zero */
	__be16 port; /* port to write: new dport or new sport */
	__be16 nat_port; /* the other port too (remapped client port), or 0 */
	__u32 slot; /* the binding's counters slot */
	__u8 flags; /* BPFPORT_CT_* */
	__u8 pad;
	__u16 gen; /* low bits of the binding's generation: a removed binding's flows are stale */
	/*
	 * TCP, host order: the highest sequence number seen from this entry's
	 * sender (BPFPORT_CT_SEQ_KNOWN), which FIN and RST must come close to.
	 * Until the container answers, the reply entry holds the client's ISN
	 * instead, which the SYN-ACK must acknowledge.
	 */
	__u32 seq;
	__u64 created_ns; /* bpf_ktime_get_ns() at the first packet */
	__u64 last_seen_ns;
};

/*
 * direct: TCP connections a client opened straight to a container endpoint
 * that some binding targets (bp_backends), seen on the way in. A translated
 * flow must not take the same tuple on the container's side while the
 * container may still hold it (open, or TIME_WAIT after a FIN or RST): its
 * client port is remapped instead, as netfilter's NAT does.
 */
struct bpfport_direct_val {
	__u64 last_seen_ns; /* the SYN, or the first FIN/RST */
	__u8 closing; /* a FIN or RST was seen */
	__u8 pad[7];
};

/*
 * containers: addresses of containers that bindings translate to (value: how
 * many bindings), kept by user space. With direct access dropped, packets to
 * them from an attached interface pass only if a binding translated them or
 * they answer a connection the container opened (outbound).
 */
struct bpfport_container_key {
	struct bpfport_addr addr;
	__u8 family;
	__u8 pad[3];
};

/* backends: container endpoints of bindings, with how many bindings use each. */
struct bpfport_backend_key {
	struct bpfport_addr addr;
	__be16 port;
	__u8 family;
	__u8 proto;
};

/*
 * stats: datapath events by kind, per CPU, indexed by enum bpfport_stat.
 * One list for the datapath, `bpfport ct` and `bpfport-loader status`.
 */
#define BPFPORT_STATS(X)                                                                      \
	X(CT_NEW, "ct_new", "flows admitted (first packet, not yet assured)")                 \
	X(CT_ASSURED, "ct_assured", "flows assured (TCP handshake done, UDP answered)")       \
	X(CT_UNTRACKED, "ct_untracked",                                                       \
	  "TCP packets to a published endpoint without SYN "                                  \
	  "or flow, not admitted")                                                            \
	X(CT_TABLE_FULL, "ct_table_full", "flows refused: no table entry or client port")     \
	X(CT_REMAPPED, "ct_remapped", "flows given another client port to avoid a clash")     \
	X(CT_RESTARTED, "ct_restarted", "flows replaced by a new SYN on their tuple")         \
	X(CT_RELEASED, "ct_released", "closed flows released by a direct SYN on their tuple") \
	X(CT_FOREIGN_SYNACK, "ct_foreign_synack",                                             \
	  "SYN-ACKs that acked no translated SYN, "                                           \
	  "left alone")                                                                       \
	X(CT_OUT_OF_WINDOW, "ct_out_of_window", "FIN/RST outside the flow's window, ignored") \
	X(CT_STALE, "ct_stale", "flows of removed bindings dropped")                          \
	X(CT_PARTNER_LOST, "ct_partner_lost", "entries evicted from a live flow, rebuilt")    \
	X(DIRECT_TRACKED, "direct_tracked", "direct connections to container endpoints seen") \
	X(DROP_DIRECT_ACCESS, "drop_direct_access",                                           \
	  "packets to container addresses that no "                                           \
	  "binding translated, dropped")                                                      \
	X(DROP_ALLOWLIST, "drop_allowlist",                                                   \
	  "new flows from sources outside a binding's "                                       \
	  "allow-list, dropped")                                                              \
	X(EVENTS_LOST, "events_lost",                                                         \
	  "monitor events not sent: over the rate bound or the ring buffer full")

#define BPFPORT_STAT_ENUM(id, name, help) BPFPORT_STAT_##id,
enum bpfport_stat { BPFPORT_STATS(BPFPORT_STAT_ENUM) BPFPORT_STAT_MAX };
#undef BPFPORT_STAT_ENUM

/* counters: per-CPU, indexed by bpfport_bind_val.slot; summed by user space. */
struct bpfport_counters {
	__u64 rx_packets; /* client -> container */
	__u64 rx_bytes;
	__u64 tx_packets; /* container -> client (replies) */
	__u64 tx_bytes;
	__u64 dropped_packets; /* new flows from sources outside the allow-list */
};

/*
 * allow: per-binding source allow-lists, a longest-prefix-match trie. The
 * first 32 bits of the key (the slot) always match exactly, so a lookup with
 * prefixlen 32 + 128 finds the longest prefix listed for that binding.
 */
struct bpfport_allow_key {
	__u32 prefixlen; /* 32 + the CIDR's prefix length */
	__u32 slot;
	__u32 addr[4];
};

/*
 * config: a one-entry array written by the loader. Configuration lives in a
 * pinned map rather than .rodata so that it outlives the loader process and
 * survives program upgrades.
 */
/* Packets to container addresses that no binding translated pass (Docker's
 * unprotected networks); unset, they are dropped (Docker 28's default). */
#define BPFPORT_CFG_DIRECT_ACCESS_ALLOW 0x1
/* Datapath events go to bp_events (`bpfport monitor` sets it while it runs). */
#define BPFPORT_CFG_EVENTS 0x2

struct bpfport_config {
	__u32 abi_version;
	__u32 flags; /* BPFPORT_CFG_* */
	__u64 host_netns_cookie;
	__u32 ct_timeout_tcp; /* seconds idle, established TCP */
	__u32 ct_timeout_tcp_close; /* seconds idle after FIN */
	__u32 ct_timeout_tcp_rst; /* seconds idle after RST */
	__u32 ct_timeout_udp; /* seconds idle, UDP */
	/* The host's ip_local_port_range: ports the datapath picks for remapped
	 * and hairpin flows lie outside it, where the kernel never picks a
	 * port for a socket of its own. 0, 0: Linux's default. */
	__u16 local_port_lo;
	__u16 local_port_hi;
	__u32 reserved[7];
};

/* Connection-tracking timeouts: the kernel conntrack's defaults (tcp
 * established 5 days, time-wait 120 s, close 10 s, UDP stream 120 s). */
#define BPFPORT_CT_TIMEOUT_TCP 432000
#define BPFPORT_CT_TIMEOUT_TCP_CLOSE 120
#define BPFPORT_CT_TIMEOUT_TCP_RST 10
#define BPFPORT_CT_TIMEOUT_UDP 120

/*
 * sock_rev: the socket-level path for processes on the host. connect() and
 * sendmsg() to a published endpoint are sent to the container instead; this
 * remembers, per socket, what the process asked for, so that getpeername()
 * and recvmsg() show the published endpoint again.
 */
struct bpfport_sock_key {
	__u64 cookie; /* bpf_get_socket_cookie() */
	struct bpfport_addr addr; /* container endpoint */
	__be16 port;
	__u8 family;
	__u8 pad[5];
};

struct bpfport_sock_val {
	struct bpfport_addr addr; /* published endpoint */
	__be16 port;
	__u8 pad[6];
};

/* local_addrs: the host's own addresses, for wildcard bindings at socket
 * level, where the FIB cannot be asked. Filled by the loader. */
struct bpfport_local_key {
	struct bpfport_addr addr;
	__u8 family;
	__u8 pad[3];
};

/*
 * frags: fragments after the first carry no ports. The first fragment of a
 * translated datagram records here, by fragment ID, the address the others
 * must get, per direction (as Cilium tracks fragments).
 */
struct bpfport_frag_key {
	struct bpfport_addr saddr;
	struct bpfport_addr daddr;
	__u32 id;
	__u8 family;
	__u8 proto;
	__u8 dir; /* BPFPORT_CT_INGRESS: new daddr; BPFPORT_CT_REPLY: new saddr */
	__u8 pad;
};

struct bpfport_frag_val {
	struct bpfport_addr addr;
	__u32 slot;
	__u32 first_seen_s; /* bpf_ktime_get_ns() / 1e9: stale IDs are not reused */
};

/* How long the rest of a datagram may follow its first fragment: the
 * kernel's reassembly timeouts (ipfrag_time 30 s, IPv6 60 s). */
#define BPFPORT_FRAG_TIMEOUT_S 60

/* ports: how many bindings use a port, on any address. A host process that
 * binds the wildcard address collides with every one of them. */
struct bpfport_port_key {
	__be16 port;
	__u8 family;
	__u8 proto;
};

/*
 * published: one bit per host port and (family, protocol), set while some
 * binding publishes that port; user space keeps it in step with ports. A
 * packet to any other port is none of ours: the datapath skips the conntrack
 * and binding lookups (tens of ns on every unrelated packet of a NIC).
 * Words of 64 bits, 1024 per (family, protocol); port in host order.
 */
#define BPFPORT_PUBLISHED_WORDS (4 * 65536 / 64)
#define BPFPORT_PUBLISHED_WORD(family, proto, port)                                      \
	((__u32)(((family) == BPFPORT_AF_INET6) * 2 + ((proto) == IPPROTO_UDP)) * 1024 + \
	 ((__u32)(port) >> 6))
#define BPFPORT_PUBLISHED_BIT(port) (1ULL << ((port)&63))

/*
 * events: what `bpfport monitor` streams from the bp_events ring buffer while
 * BPFPORT_CFG_EVENTS is set. Addresses and ports as the packet arrived; x*
 * is what it was translated to (new flow: the container endpoint; hairpin:
 * the source the container sees; ICMP: the endpoint rewritten in the quote).
 */
enum bpfport_event_type {
	BPFPORT_EV_FLOW_NEW = 1,
	BPFPORT_EV_FLOW_END, /* a FIN or RST closed an assured flow */
	BPFPORT_EV_DROP, /* reason: the enum bpfport_stat counter it went to */
	BPFPORT_EV_ICMP, /* an ICMP error about a flow, translated */
	BPFPORT_EV_HAIRPIN, /* a new hairpin flow, source translated too */
};

struct bpfport_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	__u32 type; /* enum bpfport_event_type */
	__u32 ifindex;
	__u32 slot; /* the binding's counters slot; ~0 for none */
	__u32 reason; /* BPFPORT_EV_DROP: enum bpfport_stat */
	__u8 family;
	__u8 proto;
	__be16 sport;
	__be16 dport;
	__be16 xport;
	struct bpfport_addr saddr;
	struct bpfport_addr daddr;
	struct bpfport_addr xaddr;
};

/* At most this many events a second per CPU: a flood costs the monitor
 * dropped events (counted), never the datapath its time. */
#define BPFPORT_EVENTS_PER_SEC 20000
#define BPFPORT_EVENTS_RINGBUF_BYTES (1 << 20)

/* The per-CPU budget: the monotonic second it counts and events sent in it. */
struct bpfport_event_budget {
	__u64 second;
	__u32 sent;
	__u32 pad;
};

/* Default and maximum sizes; the loader may size ct differently. */
#define BPFPORT_MAX_BINDINGS 65536
#define BPFPORT_CT_DEFAULT_ENTRIES 262144
#define BPFPORT_CT_NEW_ENTRIES 65536
#define BPFPORT_DIRECT_ENTRIES 65536
#define BPFPORT_OUTBOUND_ENTRIES 65536
#define BPFPORT_CONTAINERS_MAX 65536
#define BPFPORT_SOCK_REV_ENTRIES 16384
#define BPFPORT_LOCAL_ADDRS_MAX 1024
#define BPFPORT_ALLOW_MAX 65536
#define BPFPORT_FRAG_ENTRIES 4096

#endif /* BPFPORT_H */
