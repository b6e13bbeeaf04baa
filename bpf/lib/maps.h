/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maps, pinned by name under <pin-dir>/maps so that the CLI, later loader
 * runs and upgraded programs share them. Their definitions are an ABI (see
 * bpfport.h): changing one makes a new program fail to reuse the pin.
 */
#ifndef BPFPORT_MAPS_H
#define BPFPORT_MAPS_H

/* Published endpoints; written by the CLI, read on the first packet of a flow. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFPORT_MAX_BINDINGS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bpfport_bind_key);
	__type(value, struct bpfport_bind_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_bindings SEC(".maps");

/*
 * Both directions of every translated flow; LRU so a full table evicts the
 * least recently used flow instead of refusing new ones. Sized by the loader.
 * One LRU list per CPU (as Cilium's conntrack): with the shared list, heavy
 * connection churn on a full table had the kernel evict entries created
 * microseconds before, and new connections stalled (bench: 20,000 conn/s
 * fell to 1,000 once the table filled). The cost: a CPU evicts from its own
 * share, max_entries / CPUs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BPFPORT_CT_DEFAULT_ENTRIES);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct bpfport_ct_key);
	__type(value, struct bpfport_ct_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_ct SEC(".maps");

/* Flows not yet assured (bpfport.h): a flood of spoofed SYNs or datagrams
 * evicts only these, never the assured flows in bp_ct. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BPFPORT_CT_NEW_ENTRIES);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct bpfport_ct_key);
	__type(value, struct bpfport_ct_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_ct_new SEC(".maps");

/* Generation of each binding slot (__u32), bumped by user space when a
 * binding is removed or its flows flushed: older flows stop at their next
 * packet, even one an entry restore or a racing CPU put back. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFPORT_MAX_BINDINGS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_slot_gen SEC(".maps");

/* Container endpoints that bindings translate to (value: how many bindings);
 * kept by user space beside bp_bindings. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFPORT_MAX_BINDINGS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bpfport_backend_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_backends SEC(".maps");

/* Direct TCP connections to backends, keyed client -> container (dir 0). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BPFPORT_DIRECT_ENTRIES);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct bpfport_ct_key);
	__type(value, struct bpfport_direct_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_direct SEC(".maps");

/* Container addresses (struct bpfport_container_key -> number of bindings). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFPORT_CONTAINERS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bpfport_container_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_containers SEC(".maps");

/*
 * Connections containers opened to the outside without NAT (routed networks),
 * keyed as their replies arrive (remote -> container, dir BPFPORT_CT_REPLY);
 * value: last-seen time. Only kept while direct access is dropped.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BPFPORT_OUTBOUND_ENTRIES);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct bpfport_ct_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_outbound SEC(".maps");

/* Datapath events for `bpfport monitor` (struct bpfport_event). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BPFPORT_EVENTS_RINGBUF_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_events SEC(".maps");

/* Per-CPU event budget (struct bpfport_event_budget), not pinned: a new
 * program may start the second afresh. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpfport_event_budget);
} bp_event_budget SEC(".maps");

/* Event counts by enum bpfport_stat, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BPFPORT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_stats SEC(".maps");

/* Per-binding traffic counters, per CPU so the fast path never contends. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BPFPORT_MAX_BINDINGS);
	__type(key, __u32);
	__type(value, struct bpfport_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_counters SEC(".maps");

/* Loader-written settings (struct bpfport_config), entry 0. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpfport_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_config SEC(".maps");

/* Published endpoint behind each host socket the socket path redirected. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BPFPORT_SOCK_REV_ENTRIES);
	__type(key, struct bpfport_sock_key);
	__type(value, struct bpfport_sock_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_sock_rev SEC(".maps");

/* The host's addresses (value unused), refreshed by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFPORT_LOCAL_ADDRS_MAX);
	__type(key, struct bpfport_local_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_local_addrs SEC(".maps");

/* Number of bindings on each port (__u32), kept by the CLI next to bindings. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFPORT_MAX_BINDINGS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bpfport_port_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_ports SEC(".maps");

/* Published ports as a bitmap (bpfport.h): a plain array, so a lookup costs
 * next to nothing on the path of every packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFPORT_PUBLISHED_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_published SEC(".maps");

/* Source CIDRs admitted per binding (value unused); see bpfport_allow_key. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BPFPORT_ALLOW_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bpfport_allow_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_allow SEC(".maps");

/* Datagrams in flight as fragments; LRU, since a lost fragment never ends one. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BPFPORT_FRAG_ENTRIES);
	__type(key, struct bpfport_frag_key);
	__type(value, struct bpfport_frag_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bp_frags SEC(".maps");

#endif /* BPFPORT_MAPS_H */
