// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Datapath tier: crafted packets through the loaded programs with
 * BPF_PROG_TEST_RUN, in a private network namespace, outputs compared byte
 * for byte with packets built independently (pkt.c) and their checksums
 * recomputed from scratch. Prints "PASS name" / "FAIL name: why" /
 * "SKIP name: why" per test; exits non-zero if any test failed.
 *
 * Every test starts from empty bindings, empty conntrack and zero counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/types.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfport.h"
#include "bpfport.skel.h"
#include "harness.h"
#include "published.h"
#include "pkt.h"

#define TC_ACT_UNSPEC (-1)
#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define TCP_ACK_PSH 0x18

#define HOST "192.0.2.1" /* local address on lo */
#define HOST2 "10.99.0.1" /* local address on a veth */
#define ROUTED "203.0.113.9" /* not local, routed via the veth */
#define UNROUTED "198.18.0.9" /* not local, no route at all */
#define CTR "198.51.100.8" /* container */
#define CLIENT "100.64.7.7"
#define SLOT 3

#define HOST6 "2001:db8:1::1" /* local address on lo */
#define HOST6_2 "2001:db8:2::1" /* local address on a veth */
#define ROUTED6 "2001:db8:ff::9" /* not local, routed via the veth */
#define CTR6 "fd00:c::8" /* container */
#define CLIENT6 "2001:db8:c::7"

static struct bpfport *skel;
static int fd_xdp, fd_tc_in, fd_tc_out;
static int fd_bind, fd_ct, fd_ct_new, fd_slot_gen, fd_backends, fd_direct, fd_stats, fd_containers,
	fd_outbound, fd_cnt, fd_cfg, fd_allow, fd_frags, fd_published;
static int lo_ifindex = 1;
static bool have_veth, have_ipv6, have_veth6;
static char why[1024];
static char skip_why[256];

/* Failure reporting: CHECK fails the current test with a message; TRY passes
 * on the failure of a helper that already wrote one. */
#define CHECK(cond, ...)                                         \
	do {                                                     \
		if (!(cond)) {                                   \
			snprintf(why, sizeof(why), __VA_ARGS__); \
			return false;                            \
		}                                                \
	} while (0)
#define TRY(expr)                     \
	do {                          \
		if (!(expr))          \
			return false; \
	} while (0)
#define SKIP(...)                                                  \
	do {                                                       \
		snprintf(skip_why, sizeof(skip_why), __VA_ARGS__); \
		return true;                                       \
	} while (0)

/* ---- private network namespace ---- */

static bool setup_netns(void)
{
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, sizeof(why), "unshare(CLONE_NEWNET): %s", strerror(errno));
		return false;
	}
	/* Before creating interfaces, so that they inherit it too. */
	if (!harness_write_file("/proc/sys/net/ipv4/ip_forward", "1")) {
		snprintf(why, sizeof(why), "enabling ip_forward: %s", strerror(errno));
		return false;
	}
	if (system("ip link set lo up && ip addr add " HOST "/32 dev lo")) {
		snprintf(why, sizeof(why), "could not set up lo with " HOST);
		return false;
	}
	/* IPv6 FIB lookups answer FWD_DISABLED unless the ingress device (lo in
	 * an XDP test run) forwards; "all" sets every device, later ones too. */
	have_ipv6 = harness_write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1") &&
		    harness_write_file("/proc/sys/net/ipv6/conf/default/forwarding", "1") &&
		    !system("ip -6 addr add " HOST6 "/128 dev lo nodad");
	have_veth = !system("ip link add bp0 type veth peer name bp1 2>/dev/null &&"
			    " ip link set bp0 up && ip link set bp1 up &&"
			    " ip addr add " HOST2 "/24 dev bp0 &&"
			    " ip route add 203.0.113.0/24 via 10.99.0.2");
	have_veth6 = have_veth && have_ipv6 &&
		     !system("ip -6 addr add " HOST6_2 "/64 dev bp0 nodad &&"
			     " ip -6 route add 2001:db8:ff::/64 via 2001:db8:2::2");
	return true;
}

static bool load_skeleton(void)
{
	skel = harness_load(why, sizeof(why));
	if (!skel)
		return false;
	fd_xdp = bpf_program__fd(skel->progs.xdp_ingress);
	fd_tc_in = bpf_program__fd(skel->progs.tc_ingress);
	fd_tc_out = bpf_program__fd(skel->progs.tc_egress);
	fd_bind = bpf_map__fd(skel->maps.bp_bindings);
	fd_ct = bpf_map__fd(skel->maps.bp_ct);
	fd_ct_new = bpf_map__fd(skel->maps.bp_ct_new);
	fd_slot_gen = bpf_map__fd(skel->maps.bp_slot_gen);
	fd_backends = bpf_map__fd(skel->maps.bp_backends);
	fd_direct = bpf_map__fd(skel->maps.bp_direct);
	fd_stats = bpf_map__fd(skel->maps.bp_stats);
	fd_containers = bpf_map__fd(skel->maps.bp_containers);
	fd_outbound = bpf_map__fd(skel->maps.bp_outbound);
	fd_cnt = bpf_map__fd(skel->maps.bp_counters);
	fd_cfg = bpf_map__fd(skel->maps.bp_config);
	fd_allow = bpf_map__fd(skel->maps.bp_allow);
	fd_frags = bpf_map__fd(skel->maps.bp_frags);
	fd_published = bpf_map__fd(skel->maps.bp_published);
	return true;
}

/* ---- maps ---- */

static size_t counters_stride(void)
{
	return (sizeof(struct bpfport_counters) + 7) & ~(size_t)7;
}

/* Addresses in tests are text, IPv6 when it has a colon. */
static bool is_v6(const char *addr)
{
	return strchr(addr, ':') != NULL;
}

static __u8 addr_parse(const char *text, struct bpfport_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (is_v6(text)) {
		pkt_ip6(text, (uint8_t *)a->a);
		return BPFPORT_AF_INET6;
	}
	a->a[0] = pkt_ip(text);
	return BPFPORT_AF_INET;
}

static const char *addr_text(const struct bpfport_addr *a, __u8 family, char *buf, size_t len)
{
	if (!inet_ntop(family == BPFPORT_AF_INET6 ? AF_INET6 : AF_INET, a->a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static void bind_key(struct bpfport_bind_key *k, const char *host, uint16_t port, uint8_t proto)
{
	memset(k, 0, sizeof(*k));
	k->family = addr_parse(host, &k->host_addr);
	k->host_port = htons(port);
	k->proto = proto;
}

static bool bind_add_flags(const char *host, uint16_t hport, uint8_t proto, const char *ctr,
			   uint16_t cport, uint32_t slot, __u16 flags)
{
	struct bpfport_backend_key bk;
	struct bpfport_bind_key k;
	struct bpfport_bind_val v;
	__u32 one = 1;

	bind_key(&k, host, hport, proto);
	memset(&v, 0, sizeof(v));
	addr_parse(ctr, &v.container_addr);
	v.container_port = htons(cport);
	v.slot = slot;
	v.flags = flags;
	CHECK(!bpf_map_update_elem(fd_bind, &k, &v, BPF_ANY), "adding binding: %s",
	      strerror(errno));
	CHECK(!published_set(fd_published, k.family, proto, hport, true), "publishing: %s",
	      strerror(errno));
	/* As lib/dp.c: the container endpoint is a backend (direct connections). */
	memset(&bk, 0, sizeof(bk));
	bk.addr = v.container_addr;
	bk.port = v.container_port;
	bk.family = k.family;
	bk.proto = proto;
	CHECK(!bpf_map_update_elem(fd_backends, &bk, &one, BPF_ANY), "adding backend: %s",
	      strerror(errno));
	return true;
}

static bool bind_add(const char *host, uint16_t hport, uint8_t proto, const char *ctr,
		     uint16_t cport, uint32_t slot)
{
	return bind_add_flags(host, hport, proto, ctr, cport, slot, 0);
}

/* An allow-list entry for a binding's slot: "addr/len" (no length: a host). */
static bool allow_key(struct bpfport_allow_key *k, __u32 slot, const char *cidr)
{
	char buf[64];
	char *slash;
	struct bpfport_addr a;
	__u8 family;
	unsigned len;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	family = addr_parse(buf, &a);
	len = slash ? (unsigned)atoi(slash + 1) : family == BPFPORT_AF_INET ? 32 : 128;
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + len;
	k->slot = slot;
	memcpy(k->addr, a.a, sizeof(k->addr));
	return true;
}

static bool allow_add(__u32 slot, const char *cidr)
{
	struct bpfport_allow_key k;
	__u8 one = 1;

	allow_key(&k, slot, cidr);
	CHECK(!bpf_map_update_elem(fd_allow, &k, &one, BPF_ANY), "adding allow %s: %s", cidr,
	      strerror(errno));
	return true;
}

static bool allow_del(__u32 slot, const char *cidr)
{
	struct bpfport_allow_key k;

	allow_key(&k, slot, cidr);
	CHECK(!bpf_map_delete_elem(fd_allow, &k), "deleting allow %s: %s", cidr, strerror(errno));
	return true;
}

/* Conntrack timeouts in seconds (0: never), as the loader writes them. */
static bool config_set(__u32 tcp, __u32 tcp_close, __u32 tcp_rst, __u32 udp)
{
	struct bpfport_config c;
	__u32 zero = 0;

	memset(&c, 0, sizeof(c));
	c.abi_version = BPFPORT_ABI_VERSION;
	c.ct_timeout_tcp = tcp;
	c.ct_timeout_tcp_close = tcp_close;
	c.ct_timeout_tcp_rst = tcp_rst;
	c.ct_timeout_udp = udp;
	CHECK(!bpf_map_update_elem(fd_cfg, &zero, &c, BPF_ANY), "writing config: %s",
	      strerror(errno));
	return true;
}

static bool bind_del(const char *host, uint16_t hport, uint8_t proto)
{
	struct bpfport_bind_key k;

	bind_key(&k, host, hport, proto);
	CHECK(!bpf_map_delete_elem(fd_bind, &k), "deleting binding: %s", strerror(errno));
	return true;
}

static void map_clear(int fd, void *key)
{
	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			break;
}

static void maps_reset(void)
{
	struct bpfport_bind_key bk;
	struct bpfport_ct_key ck;
	int ncpu = libbpf_num_possible_cpus();
	void *zero = calloc((size_t)ncpu, counters_stride());
	__u32 slot;

	map_clear(fd_bind, &bk);
	map_clear(fd_ct, &ck);
	map_clear(fd_ct_new, &ck);
	map_clear(fd_direct, &ck);
	map_clear(fd_backends, &(struct bpfport_backend_key){});
	map_clear(fd_containers, &(struct bpfport_container_key){});
	map_clear(fd_outbound, &ck);
	map_clear(fd_allow, &(struct bpfport_allow_key){});
	map_clear(fd_frags, &(struct bpfport_frag_key){});
	harness_unpublish_all(fd_published);
	/* The loader's defaults: expiry is on, but nothing here is ever idle. */
	config_set(BPFPORT_CT_TIMEOUT_TCP, BPFPORT_CT_TIMEOUT_TCP_CLOSE, BPFPORT_CT_TIMEOUT_TCP_RST,
		   BPFPORT_CT_TIMEOUT_UDP);
	for (slot = 0; slot < 16 && zero; slot++) {
		__u32 gen = 0;

		bpf_map_update_elem(fd_cnt, &slot, zero, BPF_ANY);
		bpf_map_update_elem(fd_slot_gen, &slot, &gen, BPF_ANY);
	}
	for (slot = 0; slot < BPFPORT_STAT_MAX && zero; slot++)
		bpf_map_update_elem(fd_stats, &slot, zero, BPF_ANY);
	free(zero);
}

/* Sum of the per-CPU counters of one slot. */
static bool counters_get(__u32 slot, struct bpfport_counters *sum)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	uint8_t *vals = calloc((size_t)ncpu, counters_stride());
	int err;

	CHECK(vals, "out of memory");
	err = bpf_map_lookup_elem(fd_cnt, &slot, vals);
	memset(sum, 0, sizeof(*sum));
	for (i = 0; !err && i < ncpu; i++) {
		const struct bpfport_counters *c = (void *)(vals + (size_t)i * counters_stride());

		sum->rx_packets += c->rx_packets;
		sum->rx_bytes += c->rx_bytes;
		sum->tx_packets += c->tx_packets;
		sum->tx_bytes += c->tx_bytes;
		sum->dropped_packets += c->dropped_packets;
	}
	free(vals);
	CHECK(!err, "counters lookup: %s", strerror(errno));
	return true;
}

static bool expect_counters(__u32 slot, __u64 rx_p, __u64 rx_b, __u64 tx_p, __u64 tx_b)
{
	struct bpfport_counters c;

	TRY(counters_get(slot, &c));
	CHECK(c.rx_packets == rx_p && c.rx_bytes == rx_b && c.tx_packets == tx_p &&
		      c.tx_bytes == tx_b,
	      "counters[%u] rx %llu/%llu tx %llu/%llu (packets/bytes), want rx %llu/%llu tx %llu/%llu",
	      slot, (unsigned long long)c.rx_packets, (unsigned long long)c.rx_bytes,
	      (unsigned long long)c.tx_packets, (unsigned long long)c.tx_bytes,
	      (unsigned long long)rx_p, (unsigned long long)rx_b, (unsigned long long)tx_p,
	      (unsigned long long)tx_b);
	return true;
}

static bool expect_dropped(__u32 slot, __u64 dropped)
{
	struct bpfport_counters c;

	TRY(counters_get(slot, &c));
	CHECK(c.dropped_packets == dropped, "counters[%u] dropped_packets %llu, want %llu", slot,
	      (unsigned long long)c.dropped_packets, (unsigned long long)dropped);
	return true;
}

static void ct_key_spec(struct bpfport_ct_key *k, const struct pkt_spec *s, __u8 dir)
{
	memset(k, 0, sizeof(*k));
	if (s->v6) {
		memcpy(k->saddr.a, s->saddr6, 16);
		memcpy(k->daddr.a, s->daddr6, 16);
	} else {
		k->saddr.a[0] = s->saddr;
		k->daddr.a[0] = s->daddr;
	}
	k->sport = htons(s->sport);
	k->dport = htons(s->dport);
	k->family = s->v6 ? BPFPORT_AF_INET6 : BPFPORT_AF_INET;
	k->proto = s->proto;
	k->dir = dir;
}

/* The conntrack table holding key k (assured bp_ct first, as the datapath
 * looks), or -1 with errno ENOENT; *v gets the entry. */
static int ct_find(const struct bpfport_ct_key *k, struct bpfport_ct_val *v)
{
	if (!bpf_map_lookup_elem(fd_ct, k, v))
		return fd_ct;
	if (!bpf_map_lookup_elem(fd_ct_new, k, v))
		return fd_ct_new;
	errno = ENOENT;
	return -1;
}

/* The CT entry for a tuple as on the wire must exist and name addr:port, slot
 * and the remapped client port nat_port (host order; 0: none). */
static bool expect_ct_nat(const struct pkt_spec *s, __u8 dir, const char *addr, uint16_t port,
			  __u32 slot, uint16_t nat_port)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;
	const char *name = dir == BPFPORT_CT_INGRESS ? "ingress" : "reply";
	struct bpfport_addr want;
	__u8 family = addr_parse(addr, &want);
	char text[INET6_ADDRSTRLEN];

	ct_key_spec(&k, s, dir);
	CHECK(ct_find(&k, &v) >= 0, "no %s CT entry for :%u -> :%u: %s", name, s->sport, s->dport,
	      strerror(errno));
	CHECK(!memcmp(&v.addr, &want, sizeof(want)) && v.port == htons(port),
	      "%s CT entry holds %s:%u, want %s:%u", name,
	      addr_text(&v.addr, family, text, sizeof(text)), ntohs(v.port), addr, port);
	CHECK(!memcmp(&v.peer_addr, &(struct bpfport_addr){}, sizeof(v.peer_addr)),
	      "%s CT entry has a peer address (hairpin) for a plain flow", name);
	CHECK(v.slot == slot, "%s CT entry slot %u, want %u", name, v.slot, slot);
	CHECK(v.nat_port == htons(nat_port), "%s CT entry nat_port %u, want %u", name,
	      ntohs(v.nat_port), nat_port);
	CHECK(v.created_ns && v.last_seen_ns >= v.created_ns, "%s CT entry timestamps %llu/%llu",
	      name, (unsigned long long)v.created_ns, (unsigned long long)v.last_seen_ns);
	return true;
}

static bool expect_ct(const struct pkt_spec *s, __u8 dir, const char *addr, uint16_t port,
		      __u32 slot)
{
	return expect_ct_nat(s, dir, addr, port, slot, 0);
}

#define CT_CLOSED (BPFPORT_CT_SEEN_FIN | BPFPORT_CT_SEEN_RST)

static bool ct_flags(const struct pkt_spec *s, __u8 dir, __u8 *flags)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;

	ct_key_spec(&k, s, dir);
	CHECK(ct_find(&k, &v) >= 0, "no CT entry: %s", strerror(errno));
	*flags = v.flags;
	return true;
}

static bool ct_del(const struct pkt_spec *s, __u8 dir)
{
	struct bpfport_ct_key k;

	ct_key_spec(&k, s, dir);
	CHECK(!bpf_map_delete_elem(fd_ct, &k) || !bpf_map_delete_elem(fd_ct_new, &k),
	      "deleting CT entry: %s", strerror(errno));
	return true;
}

static long map_count(int fd)
{
	struct bpfport_ct_key k, next;
	long n = 0;

	if (bpf_map_get_next_key(fd, NULL, &k))
		return 0;
	for (n = 1; !bpf_map_get_next_key(fd, &k, &next); n++)
		k = next;
	return n;
}

static void ct_clear(void)
{
	map_clear(fd_ct, &(struct bpfport_ct_key){});
	map_clear(fd_ct_new, &(struct bpfport_ct_key){});
}

/* Entries in both conntrack tables. */
static long ct_count(void)
{
	return map_count(fd_ct) + map_count(fd_ct_new);
}

/* ---- running packets ---- */

struct run {
	uint8_t out[PKT_MAX];
	size_t len;
	int retval;
};

static const char *prog_name(int fd)
{
	return fd == fd_xdp ? "xdp_ingress" : fd == fd_tc_in ? "tc_ingress" : "tc_egress";
}

/* What every program returns for every packet: it rewrites, never drops. */
static int pass_verdict(int fd)
{
	return fd == fd_xdp ? XDP_PASS : TC_ACT_UNSPEC;
}

/* One test run; for TC, ifindex (if nonzero) sets the skb's ingress_ifindex. */
static int run_raw(int fd, const uint8_t *in, size_t len, int ifindex, struct run *r)
{
	struct __sk_buff ctx;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .repeat = 1);

	if (ifindex && fd != fd_xdp) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.ingress_ifindex = (__u32)ifindex;
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}
	memset(r->out, 0, sizeof(r->out));
	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	r->len = opts.data_size_out;
	r->retval = (int)opts.retval;
	return 0;
}

static bool run_prog(int fd, const uint8_t *in, size_t len, int ifindex, struct run *r,
		     const char *what)
{
	int err = run_raw(fd, in, len, ifindex, r);

	CHECK(!err, "%s: %s test run failed: %s", what, prog_name(fd), strerror(-err));
	CHECK(r->retval == pass_verdict(fd), "%s: %s returned %d, want %d", what, prog_name(fd),
	      r->retval, pass_verdict(fd));
	return true;
}

static bool same_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
		       const char *what)
{
	size_t i;

	if (got_len == want_len && !memcmp(got, want, want_len))
		return true;
	for (i = 0; i < got_len && i < want_len && got[i] == want[i]; i++)
		;
	pkt_hexdump("got", got, got_len);
	pkt_hexdump("want", want, want_len);
	snprintf(why, sizeof(why),
		 "%s: output (%zu bytes) differs from expected (%zu bytes) at byte %zu", what,
		 got_len, want_len, i);
	return false;
}

/* Output must equal `want` exactly and carry checksums that recompute. */
static bool expect_output(int fd, const uint8_t *in, size_t len, int ifindex, const uint8_t *want,
			  size_t want_len, const char *what)
{
	struct run r;
	char bad[200];

	TRY(run_prog(fd, in, len, ifindex, &r, what));
	TRY(same_bytes(r.out, r.len, want, want_len, what));
	CHECK(pkt_verify(r.out, r.len, bad, sizeof(bad)), "%s: %s", what, bad);
	return true;
}

static bool expect_untouched(int fd, const uint8_t *in, size_t len, const char *what)
{
	struct run r;

	TRY(run_prog(fd, in, len, 0, &r, what));
	return same_bytes(r.out, r.len, in, len, what);
}

/* Set a spec's source or destination address from text (IPv6 if s->v6). */
static void spec_addr(struct pkt_spec *s, bool dst, const char *addr)
{
	if (s->v6 != is_v6(addr)) {
		fprintf(stderr, "test bug: address %s in a packet of the other family\n", addr);
		abort();
	}
	if (s->v6)
		pkt_ip6(addr, dst ? s->daddr6 : s->saddr6);
	else if (dst)
		s->daddr = pkt_ip(addr);
	else
		s->saddr = pkt_ip(addr);
}

static struct pkt_spec with_dst(const struct pkt_spec *s, const char *addr, uint16_t port)
{
	struct pkt_spec w = *s;

	spec_addr(&w, true, addr);
	w.dport = port;
	return w;
}

static struct pkt_spec with_src(const struct pkt_spec *s, const char *addr, uint16_t port)
{
	struct pkt_spec w = *s;

	spec_addr(&w, false, addr);
	w.sport = port;
	return w;
}

/* A packet built from `s` comes out with its destination now addr:port. */
static bool expect_dnat_if(int fd, const struct pkt_spec *s, int ifindex, const char *addr,
			   uint16_t port, const char *what)
{
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct pkt_spec w = with_dst(s, addr, port);
	size_t len = pkt_build(in, s), want_len;

	want_len = pkt_build(want, &w);
	return expect_output(fd, in, len, ifindex, want, want_len, what);
}

static bool expect_dnat(int fd, const struct pkt_spec *s, const char *addr, uint16_t port,
			const char *what)
{
	return expect_dnat_if(fd, s, 0, addr, port, what);
}

/* A packet built from `s` comes out with its source now addr:port. */
static bool expect_snat(int fd, const struct pkt_spec *s, const char *addr, uint16_t port,
			const char *what)
{
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct pkt_spec w = with_src(s, addr, port);
	size_t len = pkt_build(in, s), want_len;

	want_len = pkt_build(want, &w);
	return expect_output(fd, in, len, 0, want, want_len, what);
}

static bool expect_spec_untouched(int fd, const struct pkt_spec *s, const char *what)
{
	uint8_t in[PKT_MAX];
	size_t len = pkt_build(in, s);

	return expect_untouched(fd, in, len, what);
}

/* A SYN: only a SYN opens a TCP flow, and sent again (same ISN) it is a
 * retransmission that the flow translates as before. */
static struct pkt_spec tcp_pkt(const char *daddr, uint16_t dport, uint16_t sport)
{
	return (struct pkt_spec){ .proto = IPPROTO_TCP,
				  .saddr = pkt_ip(CLIENT),
				  .daddr = pkt_ip(daddr),
				  .sport = sport,
				  .dport = dport,
				  .payload_len = 32,
				  .tcp_flags = TCP_SYN };
}

static struct pkt_spec udp_pkt(const char *daddr, uint16_t dport, uint16_t sport)
{
	struct pkt_spec s = tcp_pkt(daddr, dport, sport);

	s.proto = IPPROTO_UDP;
	s.payload_len = 21; /* odd, to exercise the checksum's last byte */
	return s;
}

/* The container's reply to a client packet `s` that went to container ctr:cport. */
static struct pkt_spec reply_to(const struct pkt_spec *s, const char *ctr, uint16_t cport)
{
	struct pkt_spec r = *s;

	spec_addr(&r, false, ctr);
	r.sport = cport;
	r.daddr = s->saddr;
	memcpy(r.daddr6, s->saddr6, 16);
	r.dport = s->sport;
	r.payload_len = 17;
	return r;
}

/* Date both entries of the flow of s back by age_s seconds of creation. */
static bool flow_backdate(const struct pkt_spec *s, const struct pkt_spec *reply, __u64 age_s)
{
	const struct pkt_spec *specs[] = { s, reply };

	for (int i = 0; i < 2; i++) {
		__u8 dir = i ? BPFPORT_CT_REPLY : BPFPORT_CT_INGRESS;
		struct bpfport_ct_key k;
		struct bpfport_ct_val v;
		int fd;

		ct_key_spec(&k, specs[i], dir);
		fd = ct_find(&k, &v);
		CHECK(fd >= 0, "no CT entry to backdate: %s", strerror(errno));
		v.created_ns -= age_s * 1000000000ULL;
		CHECK(!bpf_map_update_elem(fd, &k, &v, BPF_EXIST), "backdating: %s",
		      strerror(errno));
	}
	return true;
}

/*
 * Make the flow s opened (its first packet already sent) assured, as a real
 * connection does: for TCP the container's SYN-ACK acknowledges the SYN and
 * the client acknowledges the SYN-ACK; for UDP the container answers and the
 * client sends again more than 2 s after the flow began. The
 * flow then lives in bp_ct; s and reply become data packets of it, and the
 * handshake's packets are taken off the counters of every test slot.
 */
static bool flow_assure(int fd_in, int fd_out, struct pkt_spec *s, struct pkt_spec *reply)
{
	struct pkt_spec synack = *reply, ack = *s;
	int ncpu = libbpf_num_possible_cpus();
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;
	uint8_t in[PKT_MAX];
	struct run r;
	void *zero;

	synack.tcp_flags = TCP_SYN | TCP_ACK;
	synack.tcp_ack = PKT_TCP_SEQ + 1;
	ack.tcp_flags = TCP_ACK;
	ack.tcp_ack = PKT_TCP_SEQ + 1;
	TRY(run_prog(fd_out, in, pkt_build(in, &synack), 0, &r,
		     "handshake: the container's answer"));
	if (s->proto == IPPROTO_UDP)
		TRY(flow_backdate(s, reply, 3));
	TRY(run_prog(fd_in, in, pkt_build(in, &ack), 0, &r, "handshake: the client's ACK"));
	ct_key_spec(&k, s, BPFPORT_CT_INGRESS);
	CHECK(!bpf_map_lookup_elem(fd_ct, &k, &v), "the handshake did not assure the flow");
	if (s->proto == IPPROTO_TCP)
		s->tcp_flags = reply->tcp_flags = TCP_ACK_PSH;
	zero = calloc((size_t)ncpu, counters_stride());
	CHECK(zero, "out of memory");
	for (__u32 slot = 0; slot < 16; slot++)
		bpf_map_update_elem(fd_cnt, &slot, zero, BPF_ANY);
	free(zero);
	return true;
}

/* ---- tests: translation hits ---- */

static bool test_xdp_tcp_specific_binding(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 40000);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	uint8_t in[PKT_MAX];
	size_t len = pkt_build(in, &s);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "tcp to " HOST ":80"));
	TRY(expect_ct(&s, BPFPORT_CT_INGRESS, CTR, 8080, SLOT));
	TRY(expect_ct(&reply, BPFPORT_CT_REPLY, HOST, 80, SLOT));
	CHECK(ct_count() == 2, "%ld CT entries, want 2", ct_count());
	return expect_counters(SLOT, 1, len, 0, 0);
}

static bool test_xdp_udp_binding(void)
{
	struct pkt_spec s = udp_pkt(HOST, 53, 40001);
	struct pkt_spec reply = reply_to(&s, CTR, 5353);
	uint8_t in[PKT_MAX];
	size_t len = pkt_build(in, &s);

	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 5353, "udp to " HOST ":53"));
	TRY(expect_ct(&s, BPFPORT_CT_INGRESS, CTR, 5353, SLOT));
	TRY(expect_ct(&reply, BPFPORT_CT_REPLY, HOST, 53, SLOT));
	return expect_counters(SLOT, 1, len, 0, 0);
}

static bool check_udp_zero_csum(int fd)
{
	struct pkt_spec s = udp_pkt(HOST, 53, 40002);
	uint8_t in[PKT_MAX];

	s.udp_no_csum = true;
	pkt_build(in, &s);
	CHECK(pkt_get16(in, pkt_l4_off(in) + 6) == 0, "test bug: input UDP checksum not 0");
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	return expect_dnat(fd, &s, CTR, 5353, "udp without checksum");
}

static bool test_xdp_udp_zero_csum_stays_zero(void)
{
	return check_udp_zero_csum(fd_xdp);
}

/* A source port for which the packet's UDP checksum computes to 0 once
 * translated to ctr:cport. */
static bool find_sport_for_zero_csum_to(struct pkt_spec *s, const char *ctr, uint16_t cport)
{
	uint8_t buf[PKT_MAX];
	struct pkt_spec w = with_dst(s, ctr, cport);
	unsigned port;

	for (port = 1024; port <= 65535; port++) {
		w.sport = (uint16_t)port;
		pkt_build(buf, &w);
		if (pkt_l4_csum(buf) == 0) {
			s->sport = (uint16_t)port;
			return true;
		}
	}
	snprintf(why, sizeof(why), "test bug: no source port gives a zero UDP checksum");
	return false;
}

static bool find_sport_for_zero_csum(struct pkt_spec *s)
{
	return find_sport_for_zero_csum_to(s, CTR, 5353);
}

static bool check_udp_csum_zero_becomes_ffff(int fd)
{
	struct pkt_spec s = udp_pkt(HOST, 53, 0);
	uint8_t in[PKT_MAX];
	struct run r;
	uint16_t in_csum;
	size_t len;

	TRY(find_sport_for_zero_csum(&s));
	len = pkt_build(in, &s);
	in_csum = pkt_get16(in, pkt_l4_off(in) + 6);
	CHECK(in_csum != 0 && in_csum != 0xffff, "test bug: input checksum 0x%04x", in_csum);
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(expect_dnat(fd, &s, CTR, 5353, "udp whose new checksum computes to 0"));
	TRY(run_prog(fd, in, len, 0, &r, "again (CT hit)"));
	CHECK(pkt_get16(r.out, pkt_l4_off(r.out) + 6) == 0xffff,
	      "UDP checksum 0x%04x on the CT path, want 0xffff",
	      pkt_get16(r.out, pkt_l4_off(r.out) + 6));
	return true;
}

static bool test_xdp_udp_csum_zero_becomes_ffff(void)
{
	return check_udp_csum_zero_becomes_ffff(fd_xdp);
}

static bool test_xdp_ip_options(void)
{
	uint8_t words[] = { 1, 2, 10 };
	char what[64];
	size_t i;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	for (i = 0; i < sizeof(words); i++) {
		struct pkt_spec t = tcp_pkt(HOST, 80, (uint16_t)(41000 + i));
		struct pkt_spec u = udp_pkt(HOST, 53, (uint16_t)(41000 + i));

		t.ip_opt_words = u.ip_opt_words = words[i];
		snprintf(what, sizeof(what), "tcp with IHL=%u", 5 + words[i]);
		TRY(expect_dnat(fd_xdp, &t, CTR, 8080, what));
		snprintf(what, sizeof(what), "udp with IHL=%u", 5 + words[i]);
		TRY(expect_dnat(fd_xdp, &u, CTR, 5353, what));
	}
	return true;
}

static bool test_xdp_first_fragment_translates(void)
{
	struct pkt_spec s = udp_pkt(HOST, 53, 41100);

	s.frag_off = 0x2000; /* MF, offset 0: the first fragment carries the ports */
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	return expect_dnat(fd_xdp, &s, CTR, 5353, "first fragment");
}

static bool test_xdp_ethernet_padding(void)
{
	struct pkt_spec s = udp_pkt(HOST, 53, 41200);
	uint8_t in[PKT_MAX];
	size_t len;

	s.payload_len = 2;
	s.eth_pad = 16; /* 14 + 20 + 8 + 2 + 16 = 60, the minimum frame */
	len = pkt_build(in, &s);
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 5353, "padded frame"));
	return expect_counters(SLOT, 1, len, 0, 0);
}

/* ---- tests: wildcard bindings ---- */

static bool test_xdp_wildcard_matches_local(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 81, 42000);
	struct pkt_spec s2 = tcp_pkt(HOST2, 81, 42001);

	TRY(bind_add("0.0.0.0", 81, IPPROTO_TCP, CTR, 8081, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8081, "tcp to " HOST ":81 (on lo)"));
	TRY(expect_ct(&s, BPFPORT_CT_INGRESS, CTR, 8081, SLOT));
	if (have_veth)
		TRY(expect_dnat(fd_xdp, &s2, CTR, 8081, "tcp to " HOST2 ":81 (on a veth)"));
	return true;
}

static bool test_xdp_wildcard_ignores_routed_nonlocal(void)
{
	struct pkt_spec s = tcp_pkt(ROUTED, 81, 42100);

	if (!have_veth)
		SKIP("could not create a veth to route " ROUTED " through");
	TRY(bind_add("0.0.0.0", 81, IPPROTO_TCP, CTR, 8081, SLOT));
	TRY(expect_spec_untouched(fd_xdp, &s, "tcp to routed " ROUTED ":81"));
	CHECK(ct_count() == 0, "%ld CT entries for an untranslated packet", ct_count());
	return expect_counters(SLOT, 0, 0, 0, 0);
}

/*
 * Not tested on purpose: a destination the host has no route for at all. The
 * FIB answers NOT_FWDED for it as for a local address (ENETUNREACH is mapped
 * so), so a wildcard binding translates it; see the note in bpf/lib/local.h.
 */

static bool test_xdp_wildcard_ignores_multicast_broadcast(void)
{
	const char *dsts[] = { "224.0.0.1", "239.1.2.3", "255.255.255.255" };
	size_t i;

	TRY(bind_add("0.0.0.0", 81, IPPROTO_UDP, CTR, 8081, SLOT));
	for (i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		struct pkt_spec s = udp_pkt(dsts[i], 81, 42300);

		TRY(expect_spec_untouched(fd_xdp, &s, dsts[i]));
	}
	return true;
}

static bool test_xdp_specific_binding_beats_wildcard(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 82, 42400);
	struct pkt_spec s2 = tcp_pkt(HOST2, 82, 42401);

	TRY(bind_add("0.0.0.0", 82, IPPROTO_TCP, "198.51.100.9", 9000, SLOT + 1));
	TRY(bind_add(HOST, 82, IPPROTO_TCP, CTR, 8082, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8082, "tcp to " HOST ":82"));
	if (have_veth)
		TRY(expect_dnat(fd_xdp, &s2, "198.51.100.9", 9000, "tcp to " HOST2 ":82"));
	return true;
}

/* ---- tests: misses ---- */

static bool test_xdp_miss_unbound_port(void)
{
	struct pkt_spec t = tcp_pkt(HOST, 8443, 43000);
	struct pkt_spec u = udp_pkt(HOST, 8443, 43000);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_spec_untouched(fd_xdp, &t, "tcp to unbound port"));
	TRY(expect_spec_untouched(fd_xdp, &u, "udp to unbound port"));
	CHECK(ct_count() == 0, "%ld CT entries after misses", ct_count());
	return expect_counters(SLOT, 0, 0, 0, 0);
}

static bool test_xdp_miss_wrong_protocol(void)
{
	struct pkt_spec u = udp_pkt(HOST, 80, 43100);
	struct pkt_spec t = tcp_pkt(HOST, 53, 43100);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(expect_spec_untouched(fd_xdp, &u, "udp to a tcp binding"));
	TRY(expect_spec_untouched(fd_xdp, &t, "tcp to a udp binding"));
	CHECK(ct_count() == 0, "%ld CT entries after misses", ct_count());
	return true;
}

static bool test_xdp_other_l4_protocol_untouched(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 0, 0);
	uint8_t in[PKT_MAX];
	size_t len, l4;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	/* ICMP echo whose first bytes would read as ports 80 -> 80 */
	s.proto = IPPROTO_ICMP;
	s.payload_len = 24;
	len = pkt_build(in, &s);
	l4 = pkt_l4_off(in);
	pkt_put16(in, l4, 80);
	pkt_put16(in, l4 + 2, 80);
	TRY(expect_untouched(fd_xdp, in, len, "icmp"));
	/* and a TCP packet with protocol number changed to SCTP */
	s = tcp_pkt(HOST, 80, 43200);
	len = pkt_build(in, &s);
	in[pkt_l3_off() + 9] = 132;
	pkt_fix_csums(in);
	return expect_untouched(fd_xdp, in, len, "sctp");
}

/* ---- tests: malformed packets ---- */

/* Every prefix of a packet shorter than its headers passes untouched. The
 * kernel refuses (EINVAL) test runs shorter than an Ethernet header, and for
 * SCHED_CLS an IPv4 frame shorter than Ethernet + 20 bytes: the program never
 * sees those, which is accepted below that length only. With fix_tot_len, the IPv4 total
 * length is set to what is left, so the L4 bounds checks are what skip. */
static bool check_truncations(int fd, const struct pkt_spec *s, bool fix_tot_len)
{
	uint8_t full[PKT_MAX], in[PKT_MAX];
	size_t l4_hdr = s->proto == IPPROTO_TCP ? PKT_TCP_LEN : PKT_UDP_LEN;
	size_t min_run_len = PKT_ETH_LEN + (fd == fd_xdp ? 0 : PKT_IP_LEN);
	size_t len;
	struct run r;
	char what[96];
	int err;

	pkt_build(full, s);
	for (len = 0; len < pkt_l4_off(full) + l4_hdr; len++) {
		memcpy(in, full, len);
		if (fix_tot_len && len >= pkt_l4_off(full)) {
			pkt_put16(in, pkt_l3_off() + 2, (uint16_t)(len - pkt_l3_off()));
			pkt_put16(in, pkt_l3_off() + 10, 0);
			pkt_put16(in, pkt_l3_off() + 10, pkt_ip_csum(in));
		}
		snprintf(what, sizeof(what), "%s truncated to %zu bytes%s",
			 s->proto == IPPROTO_TCP ? "tcp" : "udp", len,
			 fix_tot_len ? " (tot_len adjusted)" : "");
		if (len < min_run_len) {
			err = run_raw(fd, in, len, 0, &r);
			if (err == -EINVAL)
				continue;
			CHECK(!err, "%s: test run failed: %s", what, strerror(-err));
			CHECK(r.retval == pass_verdict(fd), "%s: returned %d", what, r.retval);
			TRY(same_bytes(r.out, r.len, in, len, what));
			continue;
		}
		TRY(expect_untouched(fd, in, len, what));
	}
	CHECK(ct_count() == 0, "%ld CT entries after truncated packets", ct_count());
	return true;
}

static bool check_all_truncations(int fd)
{
	struct pkt_spec t = tcp_pkt(HOST, 80, 44000);
	struct pkt_spec u = udp_pkt(HOST, 53, 44000);
	struct pkt_spec o = tcp_pkt(HOST, 80, 44001);

	o.ip_opt_words = 3;
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(check_truncations(fd, &t, false));
	TRY(check_truncations(fd, &u, false));
	TRY(check_truncations(fd, &o, false));
	TRY(check_truncations(fd, &t, true));
	TRY(check_truncations(fd, &u, true));
	TRY(check_truncations(fd, &o, true));
	return expect_counters(SLOT, 0, 0, 0, 0);
}

static bool test_xdp_truncated_every_length(void)
{
	return check_all_truncations(fd_xdp);
}

static bool test_tc_ingress_truncated_every_length(void)
{
	return check_all_truncations(fd_tc_in);
}

/* Build a TCP packet to a bound port, let `edit` break it, expect it untouched. */
static bool expect_broken_untouched(int fd, void (*edit)(uint8_t *, size_t *), const char *what)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 45000);
	uint8_t in[PKT_MAX];
	size_t len = pkt_build(in, &s);

	edit(in, &len);
	return expect_untouched(fd, in, len, what);
}

static void set_ip_field16(uint8_t *p, size_t off, uint16_t v)
{
	pkt_put16(p, pkt_l3_off() + off, v);
	pkt_put16(p, pkt_l3_off() + 10, 0);
	pkt_put16(p, pkt_l3_off() + 10, pkt_ip_csum(p));
}

static void edit_ihl_4(uint8_t *p, size_t *len)
{
	(void)len;
	/* header checksum over the 20 bytes that are there, then claim IHL=4 */
	pkt_put16(p, pkt_l3_off() + 10, 0);
	pkt_put16(p, pkt_l3_off() + 10, pkt_ip_csum(p));
	p[pkt_l3_off()] = 0x44;
}

static void edit_ihl_0(uint8_t *p, size_t *len)
{
	(void)len;
	p[pkt_l3_off()] = 0x40;
}

static void edit_tot_len_beyond(uint8_t *p, size_t *len)
{
	set_ip_field16(p, 2, (uint16_t)(*len - pkt_l3_off() + 1));
}

static void edit_tot_len_huge(uint8_t *p, size_t *len)
{
	(void)len;
	set_ip_field16(p, 2, 0xffff);
}

static void edit_tot_len_below_ihl(uint8_t *p, size_t *len)
{
	(void)len;
	set_ip_field16(p, 2, 19);
}

static void edit_tot_len_zero(uint8_t *p, size_t *len)
{
	(void)len;
	set_ip_field16(p, 2, 0);
}

static void edit_doff_4(uint8_t *p, size_t *len)
{
	(void)len;
	p[pkt_l4_off(p) + 12] = 4 << 4;
	pkt_fix_csums(p);
}

static void edit_doff_0(uint8_t *p, size_t *len)
{
	(void)len;
	p[pkt_l4_off(p) + 12] = 0;
	pkt_fix_csums(p);
}

static void edit_ethertype_ipv6(uint8_t *p, size_t *len)
{
	(void)len;
	pkt_put16(p, 12, 0x86dd);
}

static void edit_ethertype_arp(uint8_t *p, size_t *len)
{
	(void)len;
	pkt_put16(p, 12, 0x0806);
}

static void edit_ethertype_vlan(uint8_t *p, size_t *len)
{
	(void)len;
	pkt_put16(p, 12, 0x8100);
}

static void edit_ip_version_6(uint8_t *p, size_t *len)
{
	(void)len;
	p[pkt_l3_off()] = 0x65;
	pkt_fix_csums(p);
}

static void edit_frag_offset_1(uint8_t *p, size_t *len)
{
	(void)len;
	set_ip_field16(p, 6, 0x0001); /* offset 8 bytes, last fragment */
}

static void edit_frag_offset_mf(uint8_t *p, size_t *len)
{
	(void)len;
	set_ip_field16(p, 6, 0x2000 | 185); /* middle fragment */
}

static void edit_frag_offset_df_max(uint8_t *p, size_t *len)
{
	(void)len;
	set_ip_field16(p, 6, 0x4000 | 0x1fff);
}

static void edit_dst_loopback(uint8_t *p, size_t *len)
{
	uint32_t a = pkt_ip("127.0.0.1");

	(void)len;
	memcpy(p + pkt_l3_off() + 16, &a, 4);
	pkt_fix_csums(p);
}

static void edit_dst_loopback_other(uint8_t *p, size_t *len)
{
	uint32_t a = pkt_ip("127.1.2.3");

	(void)len;
	memcpy(p + pkt_l3_off() + 16, &a, 4);
	pkt_fix_csums(p);
}

struct broken {
	const char *what;
	void (*edit)(uint8_t *, size_t *);
};

static bool check_broken(int fd, const struct broken *b, size_t n)
{
	size_t i;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	for (i = 0; i < n; i++)
		TRY(expect_broken_untouched(fd, b[i].edit, b[i].what));
	CHECK(ct_count() == 0, "%ld CT entries after malformed packets", ct_count());
	return expect_counters(SLOT, 0, 0, 0, 0);
}

#define CHECK_BROKEN(fd, ...)                                      \
	({                                                         \
		static const struct broken b_[] = { __VA_ARGS__ }; \
		check_broken(fd, b_, sizeof(b_) / sizeof(b_[0]));  \
	})

static bool test_xdp_bad_ihl(void)
{
	return CHECK_BROKEN(fd_xdp, { "IHL=4", edit_ihl_4 }, { "IHL=0", edit_ihl_0 });
}

static bool test_xdp_bad_tot_len(void)
{
	return CHECK_BROKEN(fd_xdp, { "tot_len one beyond the packet", edit_tot_len_beyond },
			    { "tot_len 65535", edit_tot_len_huge });
}

static bool test_xdp_tot_len_below_ihl(void)
{
	return CHECK_BROKEN(fd_xdp, { "tot_len 19", edit_tot_len_below_ihl },
			    { "tot_len 0", edit_tot_len_zero });
}

static bool test_xdp_tcp_doff_below_5(void)
{
	return CHECK_BROKEN(fd_xdp, { "doff=4", edit_doff_4 }, { "doff=0", edit_doff_0 });
}

static bool test_xdp_non_ipv4(void)
{
	return CHECK_BROKEN(fd_xdp, { "ethertype IPv6", edit_ethertype_ipv6 },
			    { "ethertype ARP", edit_ethertype_arp },
			    { "ethertype 802.1Q", edit_ethertype_vlan },
			    { "ethertype IPv4, version 6", edit_ip_version_6 });
}

static bool test_xdp_non_first_fragment(void)
{
	return CHECK_BROKEN(fd_xdp, { "fragment offset 8", edit_frag_offset_1 },
			    { "middle fragment", edit_frag_offset_mf },
			    { "DF and the largest offset", edit_frag_offset_df_max });
}

static bool test_tc_ingress_malformed(void)
{
	return CHECK_BROKEN(fd_tc_in, { "IHL=4", edit_ihl_4 },
			    { "tot_len one beyond the packet", edit_tot_len_beyond },
			    { "tot_len 19", edit_tot_len_below_ihl }, { "doff=4", edit_doff_4 },
			    { "ethertype IPv6", edit_ethertype_ipv6 },
			    { "fragment offset 8", edit_frag_offset_1 });
}

static bool test_xdp_options_without_l4(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 45100);
	uint8_t in[PKT_MAX];
	size_t len;

	s.ip_opt_words = 10; /* IHL=15: 60-byte header, then nothing */
	pkt_build(in, &s);
	len = pkt_l4_off(in);
	set_ip_field16(in, 2, 60);
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	return expect_untouched(fd_xdp, in, len, "IHL=15, no L4 header");
}

/* ---- tests: loopback ---- */

static bool test_xdp_loopback_binding_unreachable(void)
{
	struct pkt_spec s = tcp_pkt("127.0.0.1", 80, 46000);

	TRY(bind_add("127.0.0.1", 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_spec_untouched(fd_xdp, &s, "tcp to 127.0.0.1:80, bound on 127.0.0.1"));
	TRY(expect_spec_untouched(fd_tc_in, &s, "same through tc_ingress"));
	CHECK(ct_count() == 0, "%ld CT entries", ct_count());
	return expect_counters(SLOT, 0, 0, 0, 0);
}

static bool test_xdp_wildcard_skips_loopback(void)
{
	TRY(bind_add("0.0.0.0", 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(bind_add("127.1.2.3", 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_broken_untouched(fd_xdp, edit_dst_loopback, "127.0.0.1 via a wildcard binding"));
	TRY(expect_broken_untouched(fd_xdp, edit_dst_loopback_other, "127.1.2.3, bound"));
	CHECK(ct_count() == 0, "%ld CT entries", ct_count());
	return true;
}

/* ---- tests: established flows ---- */

static bool test_xdp_established_flow_survives_unbind(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 47000);
	struct pkt_spec other = tcp_pkt(HOST, 80, 47001);
	uint8_t in[PKT_MAX];
	size_t len = pkt_build(in, &s);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "first packet"));
	TRY(bind_del(HOST, 80, IPPROTO_TCP));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "second packet, binding deleted"));
	TRY(expect_counters(SLOT, 2, 2 * len, 0, 0));
	TRY(expect_spec_untouched(fd_xdp, &other, "a new flow after the binding was deleted"));
	return expect_counters(SLOT, 2, 2 * len, 0, 0);
}

static bool test_ct_notes_fin_and_rst(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 47100);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	__u8 flags;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	s.tcp_flags = 0x02; /* SYN */
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "SYN"));
	TRY(ct_flags(&s, BPFPORT_CT_INGRESS, &flags));
	CHECK(!(flags & CT_CLOSED), "ingress CT flags 0x%x after SYN", flags);
	s.tcp_flags = 0x11; /* FIN|ACK */
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "FIN"));
	TRY(ct_flags(&s, BPFPORT_CT_INGRESS, &flags));
	CHECK((flags & CT_CLOSED) == BPFPORT_CT_SEEN_FIN, "ingress CT flags 0x%x after FIN", flags);
	reply.tcp_flags = 0x14; /* RST|ACK */
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, "RST reply"));
	TRY(ct_flags(&reply, BPFPORT_CT_REPLY, &flags));
	CHECK((flags & CT_CLOSED) == BPFPORT_CT_SEEN_RST, "reply CT flags 0x%x after RST", flags);
	return true;
}

/* ---- tests: replies ---- */

static bool test_tc_egress_tcp_reply(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 48000);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	uint8_t in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(in, &s), reply_len = pkt_build(out, &reply);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "request"));
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, "reply"));
	return expect_counters(SLOT, 1, len, 1, reply_len);
}

static bool test_tc_egress_udp_reply(void)
{
	struct pkt_spec s = udp_pkt(HOST, 53, 48100);
	struct pkt_spec reply = reply_to(&s, CTR, 5353);
	struct pkt_spec reply0 = reply;
	uint8_t in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(in, &s), reply_len = pkt_build(out, &reply);

	reply0.udp_no_csum = true;
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 5353, "request"));
	TRY(expect_snat(fd_tc_out, &reply, HOST, 53, "reply"));
	TRY(expect_snat(fd_tc_out, &reply0, HOST, 53, "reply without checksum"));
	return expect_counters(SLOT, 1, len, 2, 2 * reply_len);
}

static bool test_tc_egress_unknown_client_port(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 48200);
	struct pkt_spec own = reply_to(&s, CTR, 8080);
	struct pkt_spec other_client = reply_to(&s, CTR, 8080);
	struct pkt_spec other_sport = reply_to(&s, CTR, 8080);
	struct pkt_spec other_proto = reply_to(&s, CTR, 8080);
	uint8_t in[PKT_MAX];
	size_t len = pkt_build(in, &s);

	own.dport = 48201;
	other_client.daddr = pkt_ip("100.64.7.8");
	other_sport.sport = 8081;
	other_proto.proto = IPPROTO_UDP;
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "request"));
	TRY(expect_spec_untouched(fd_tc_out, &own, "container to a client port with no flow"));
	TRY(expect_spec_untouched(fd_tc_out, &other_client, "container to another client"));
	TRY(expect_spec_untouched(fd_tc_out, &other_sport, "from another container port"));
	TRY(expect_spec_untouched(fd_tc_out, &other_proto, "udp on the tcp flow's ports"));
	return expect_counters(SLOT, 1, len, 0, 0);
}

static bool test_tc_egress_ignores_ingress_direction(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 48300);

	/* The client's own packet, seen on egress, must not match the reply entry. */
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "request"));
	return expect_spec_untouched(fd_tc_out, &s, "request tuple through tc_egress");
}

static bool test_two_host_ports_one_container_port(void)
{
	struct pkt_spec a = tcp_pkt(HOST, 80, 49001);
	struct pkt_spec b = tcp_pkt(HOST, 8000, 49002);
	struct pkt_spec ra = reply_to(&a, CTR, 8080), rb = reply_to(&b, CTR, 8080);
	uint8_t buf[PKT_MAX];
	size_t la = pkt_build(buf, &a), lb = pkt_build(buf, &b), lra = pkt_build(buf, &ra),
	       lrb = pkt_build(buf, &rb);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, 1));
	TRY(bind_add(HOST, 8000, IPPROTO_TCP, CTR, 8080, 2));
	TRY(expect_dnat(fd_xdp, &a, CTR, 8080, "to :80"));
	TRY(expect_dnat(fd_xdp, &b, CTR, 8080, "to :8000"));
	TRY(expect_snat(fd_tc_out, &rb, HOST, 8000, "reply to the :8000 client"));
	TRY(expect_snat(fd_tc_out, &ra, HOST, 80, "reply to the :80 client"));
	TRY(expect_counters(1, 1, la, 1, lra));
	return expect_counters(2, 1, lb, 1, lrb);
}

/* ---- tests: tc_ingress agrees with xdp_ingress ---- */

/* Same input through both programs, each from empty state: same bytes out. */
static bool expect_tc_like_xdp(const struct pkt_spec *s, const char *what)
{
	uint8_t in[PKT_MAX];
	size_t len = pkt_build(in, s);
	struct run x, t;
	char label[128];

	ct_clear();
	snprintf(label, sizeof(label), "%s via xdp_ingress", what);
	TRY(run_prog(fd_xdp, in, len, 0, &x, label));
	CHECK(ct_count() == 2, "%s: %ld CT entries, want 2", label, ct_count());
	ct_clear();
	snprintf(label, sizeof(label), "%s via tc_ingress", what);
	TRY(run_prog(fd_tc_in, in, len, 0, &t, label));
	CHECK(ct_count() == 2, "%s: %ld CT entries, want 2", label, ct_count());
	TRY(same_bytes(t.out, t.len, x.out, x.len, label));
	snprintf(label, sizeof(label), "%s via tc_ingress, CT hit", what);
	TRY(run_prog(fd_tc_in, in, len, 0, &t, label));
	return same_bytes(t.out, t.len, x.out, x.len, label);
}

static bool test_tc_ingress_matches_xdp_tcp(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 50000);
	struct pkt_spec o = tcp_pkt(HOST, 80, 50001);

	o.ip_opt_words = 2;
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_tc_in, &s, CTR, 8080, "tcp via tc_ingress"));
	ct_clear();
	TRY(expect_tc_like_xdp(&s, "tcp"));
	return expect_tc_like_xdp(&o, "tcp with IP options");
}

static bool test_tc_ingress_matches_xdp_udp(void)
{
	struct pkt_spec s = udp_pkt(HOST, 53, 50100);
	struct pkt_spec z = udp_pkt(HOST, 53, 50101);
	struct pkt_spec f = udp_pkt(HOST, 53, 0);

	z.udp_no_csum = true;
	TRY(find_sport_for_zero_csum(&f));
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(expect_dnat(fd_tc_in, &s, CTR, 5353, "udp via tc_ingress"));
	ct_clear();
	TRY(expect_tc_like_xdp(&s, "udp"));
	TRY(expect_tc_like_xdp(&z, "udp without checksum"));
	return expect_tc_like_xdp(&f, "udp whose new checksum computes to 0");
}

static bool test_tc_ingress_udp_csum_zero_becomes_ffff(void)
{
	return check_udp_csum_zero_becomes_ffff(fd_tc_in);
}

static bool test_tc_ingress_udp_zero_csum_stays_zero(void)
{
	return check_udp_zero_csum(fd_tc_in);
}

static bool test_tc_ingress_counters_and_ct(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 50200);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	uint8_t in[PKT_MAX];
	size_t len = pkt_build(in, &s);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_tc_in, &s, CTR, 8080, "tcp via tc_ingress"));
	TRY(expect_ct(&s, BPFPORT_CT_INGRESS, CTR, 8080, SLOT));
	TRY(expect_ct(&reply, BPFPORT_CT_REPLY, HOST, 80, SLOT));
	return expect_counters(SLOT, 1, len, 0, 0);
}

static bool test_tc_ingress_wildcard_local(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 81, 50300);
	struct pkt_spec r = tcp_pkt(ROUTED, 81, 50301);
	uint8_t in[PKT_MAX];
	struct run out;
	size_t len = pkt_build(in, &s);
	int err;

	TRY(bind_add("0.0.0.0", 81, IPPROTO_TCP, CTR, 8081, SLOT));
	err = run_raw(fd_tc_in, in, len, lo_ifindex, &out);
	if (err == -EINVAL)
		SKIP("kernel does not take ingress_ifindex in a SCHED_CLS test run context");
	ct_clear();
	TRY(expect_dnat_if(fd_tc_in, &s, lo_ifindex, CTR, 8081, "tcp to " HOST ":81 from lo"));
	if (have_veth) {
		len = pkt_build(in, &r);
		TRY(run_prog(fd_tc_in, in, len, lo_ifindex, &out, "tcp to routed " ROUTED ":81"));
		TRY(same_bytes(out.out, out.len, in, len, "tcp to routed " ROUTED ":81"));
	}
	return true;
}

/* ---- helpers: partial checksums and client port remapping ---- */

/* A packet from s; partial: as a local stack hands it to a veth, with only
 * the pseudo-header seed in its L4 checksum field. */
static size_t build(uint8_t *buf, const struct pkt_spec *s, bool partial)
{
	size_t len = pkt_build(buf, s);

	if (partial)
		pkt_set_partial(buf);
	return len;
}

/*
 * The output must be, byte for byte, the packet built from w. For a partial
 * packet: the IP header checksum complete, the L4 field the seed of the NEW
 * pseudo-header (computed from scratch, so no port change folded in); and
 * once completed as a device would, exactly w with full checksums.
 */
static bool check_out(const struct run *r, const struct pkt_spec *w, bool partial, const char *what)
{
	uint8_t want[PKT_MAX], done[PKT_MAX];
	size_t want_len = build(want, w, partial);
	char bad[200], label[200];

	TRY(same_bytes(r->out, r->len, want, want_len, what));
	if (!partial) {
		CHECK(pkt_verify(r->out, r->len, bad, sizeof(bad)), "%s: %s", what, bad);
		return true;
	}
	CHECK(pkt_is_v6(r->out) || pkt_get16(r->out, pkt_l3_off() + 10) == pkt_ip_csum(r->out),
	      "%s: IP checksum 0x%04x, recomputed 0x%04x", what,
	      pkt_get16(r->out, pkt_l3_off() + 10), pkt_ip_csum(r->out));
	memcpy(done, r->out, r->len);
	pkt_complete_partial(done);
	want_len = build(want, w, false);
	snprintf(label, sizeof(label), "%s, completed as a device would", what);
	TRY(same_bytes(done, r->len, want, want_len, label));
	CHECK(pkt_verify(done, r->len, bad, sizeof(bad)), "%s: %s", label, bad);
	return true;
}

/* The packet built from s (partial or not) comes out as the one built from w. */
static bool expect_xlate(int fd, const struct pkt_spec *s, const struct pkt_spec *w, bool partial,
			 const char *what)
{
	uint8_t in[PKT_MAX];
	size_t len = build(in, s, partial);
	struct run r;

	TRY(run_prog(fd, in, len, 0, &r, what));
	return check_out(&r, w, partial, what);
}

/* The packet built from s comes out to addr:port from a remapped client port,
 * returned in *n: one from the ephemeral range, not the client's own. */
static bool expect_remapped(int fd, const struct pkt_spec *s, bool partial, const char *addr,
			    uint16_t port, uint16_t *n, const char *what)
{
	uint8_t in[PKT_MAX];
	size_t len = build(in, s, partial);
	struct pkt_spec w = with_dst(s, addr, port);
	struct run r;

	TRY(run_prog(fd, in, len, 0, &r, what));
	CHECK(r.len >= pkt_l4_off(r.out) + 4, "%s: output of %zu bytes", what, r.len);
	*n = pkt_get16(r.out, pkt_l4_off(r.out));
	CHECK(*n != s->sport, "%s: client port %u not remapped", what, *n);
	CHECK(*n >= 1024 && (*n < 32768 || *n > 60999),
	      "%s: client port remapped to %u, inside ip_local_port_range or below 1024", what, *n);
	w.sport = *n;
	return check_out(&r, &w, partial, what);
}

/* ---- tests: partial (CHECKSUM_PARTIAL) L4 checksums in XDP ---- */

/*
 * One flow of partial packets to a binding: first packet (CT miss), again
 * (CT hit), then a packet with a full checksum on the same flow, which must
 * still get a full one.
 */
static bool check_xdp_partial_flow(const struct pkt_spec *s, const char *ctr, uint16_t cport,
				   const char *what)
{
	uint8_t full[PKT_MAX];
	struct pkt_spec w = with_dst(s, ctr, cport);
	char label[160];

	pkt_build(full, s);
	CHECK(pkt_get16(full, pkt_l4_csum_field(full)) != pkt_pseudo_seed(full),
	      "test bug: %s: the full checksum equals the seed", what);
	snprintf(label, sizeof(label), "%s, partial, first packet", what);
	TRY(expect_xlate(fd_xdp, s, &w, true, label));
	snprintf(label, sizeof(label), "%s, partial, CT hit", what);
	TRY(expect_xlate(fd_xdp, s, &w, true, label));
	snprintf(label, sizeof(label), "%s, full checksum on the same flow", what);
	TRY(expect_xlate(fd_xdp, s, &w, false, label));
	return true;
}

static bool test_xdp_partial_tcp(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 51000);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	uint8_t in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(in, &s);

	/* The reference seed against the kernel's formula, by hand for one packet:
	 * 100.64.7.7 -> 192.0.2.1, TCP, 20 + 32 bytes. */
	pkt_set_partial(in);
	CHECK(pkt_pseudo_seed(in) == 0x6440 + 0x0707 + 0xc000 + 0x0201 + 6 + 52 - 0xffff,
	      "test bug: seed 0x%04x", pkt_pseudo_seed(in));
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(check_xdp_partial_flow(&s, CTR, 8080, "tcp to " HOST ":80"));
	TRY(expect_ct(&s, BPFPORT_CT_INGRESS, CTR, 8080, SLOT));
	TRY(expect_ct(&reply, BPFPORT_CT_REPLY, HOST, 80, SLOT));
	CHECK(ct_count() == 2, "%ld CT entries, want 2", ct_count());
	/* The reply leaves through TC, where the skb is not partial. */
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, "reply"));
	return expect_counters(SLOT, 3, 3 * len, 1, pkt_build(out, &reply));
}

static bool test_xdp_partial_udp(void)
{
	struct pkt_spec s = udp_pkt(HOST, 53, 51100);
	struct pkt_spec empty = udp_pkt(HOST, 53, 51101);
	struct pkt_spec one = udp_pkt(HOST, 53, 51102);
	struct pkt_spec padded = udp_pkt(HOST, 53, 51103);
	struct pkt_spec reply = reply_to(&s, CTR, 5353);

	empty.payload_len = 0;
	one.payload_len = 1;
	padded.payload_len = 2;
	padded.eth_pad = 16; /* the seed's length is UDP's, not the frame's */
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(check_xdp_partial_flow(&s, CTR, 5353, "udp to " HOST ":53"));
	TRY(check_xdp_partial_flow(&empty, CTR, 5353, "udp, no payload"));
	TRY(check_xdp_partial_flow(&one, CTR, 5353, "udp, 1 byte of payload"));
	TRY(check_xdp_partial_flow(&padded, CTR, 5353, "udp in a padded frame"));
	TRY(expect_ct(&s, BPFPORT_CT_INGRESS, CTR, 5353, SLOT));
	TRY(expect_ct(&reply, BPFPORT_CT_REPLY, HOST, 53, SLOT));
	CHECK(ct_count() == 8, "%ld CT entries, want 8", ct_count());
	return expect_snat(fd_tc_out, &reply, HOST, 53, "reply");
}

static bool test_xdp_partial_ip_options(void)
{
	uint8_t words[] = { 1, 3, 10 };
	char what[64];
	size_t i;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	for (i = 0; i < sizeof(words); i++) {
		struct pkt_spec t = tcp_pkt(HOST, 80, (uint16_t)(51200 + i));
		struct pkt_spec u = udp_pkt(HOST, 53, (uint16_t)(51200 + i));

		t.ip_opt_words = u.ip_opt_words = words[i];
		snprintf(what, sizeof(what), "tcp with IHL=%u", 5 + words[i]);
		TRY(check_xdp_partial_flow(&t, CTR, 8080, what));
		snprintf(what, sizeof(what), "udp with IHL=%u", 5 + words[i]);
		TRY(check_xdp_partial_flow(&u, CTR, 5353, what));
	}
	return true;
}

/* A binding that keeps the address changes only a port, which is payload to
 * a partial checksum: the seed must come out exactly as it went in. */
static bool test_xdp_partial_port_change_leaves_seed(void)
{
	struct pkt_spec t = tcp_pkt(HOST, 83, 51300);
	struct pkt_spec u = udp_pkt(HOST, 83, 51300);
	uint8_t in[PKT_MAX];
	struct run r;
	size_t len, i;
	struct pkt_spec *specs[] = { &t, &u };

	TRY(bind_add(HOST, 83, IPPROTO_TCP, HOST, 8083, SLOT));
	TRY(bind_add(HOST, 83, IPPROTO_UDP, HOST, 8083, SLOT));
	for (i = 0; i < 2; i++) {
		const char *what = i ? "udp " HOST ":83 -> " HOST ":8083" :
				       "tcp " HOST ":83 -> " HOST ":8083";

		TRY(check_xdp_partial_flow(specs[i], HOST, 8083, what));
		len = build(in, specs[i], true);
		TRY(run_prog(fd_xdp, in, len, 0, &r, what));
		CHECK(pkt_get16(r.out, pkt_l4_csum_field(r.out)) == pkt_pseudo_seed(in),
		      "%s: L4 checksum field 0x%04x, want the unchanged seed 0x%04x", what,
		      pkt_get16(r.out, pkt_l4_csum_field(r.out)), pkt_pseudo_seed(in));
	}
	return true;
}

/* ---- tests: client port remapping when reply entries clash ---- */

/* A first packet of a flow from CLIENT:sport to HOST:dport (TCP: a SYN). */
static struct pkt_spec flow_pkt(uint8_t proto, const char *host, uint16_t dport, uint16_t sport)
{
	struct pkt_spec s = proto == IPPROTO_TCP ? tcp_pkt(host, dport, sport) :
						   udp_pkt(host, dport, sport);

	if (proto == IPPROTO_TCP)
		s.tcp_flags = 0x02;
	return s;
}

/*
 * HOST:80 and HOST:81 both publish CTR:8080. One client port reaches both:
 * the second flow's reply entry (CTR:8080 -> CLIENT:40000) would be the
 * first flow's, so its client port becomes some N, and replies to N go back
 * as HOST:81 -> CLIENT:40000.
 */
static bool check_remap_clash(int fd, uint8_t proto, bool partial, bool no_csum)
{
	struct pkt_spec a = flow_pkt(proto, HOST, 80, 40000);
	struct pkt_spec b = flow_pkt(proto, HOST, 81, 40000);
	struct pkt_spec ra, rb, wa, wb, w;
	uint8_t buf[PKT_MAX];
	size_t la, lra;
	uint16_t n;

	a.udp_no_csum = b.udp_no_csum = no_csum;
	ra = reply_to(&a, CTR, 8080);
	la = pkt_build(buf, &a);
	lra = pkt_build(buf, &ra);
	TRY(bind_add(HOST, 80, proto, CTR, 8080, 1));
	TRY(bind_add(HOST, 81, proto, CTR, 8080, 2));

	wa = with_dst(&a, CTR, 8080);
	TRY(expect_xlate(fd, &a, &wa, partial, "first flow, to :80: client port kept"));
	TRY(expect_ct_nat(&a, BPFPORT_CT_INGRESS, CTR, 8080, 1, 0));
	TRY(expect_ct_nat(&ra, BPFPORT_CT_REPLY, HOST, 80, 1, 0));

	TRY(expect_remapped(fd, &b, partial, CTR, 8080, &n,
			    "second flow, same client port, to :81"));
	TRY(expect_ct_nat(&b, BPFPORT_CT_INGRESS, CTR, 8080, 2, n));
	rb = ra;
	rb.dport = n;
	TRY(expect_ct_nat(&rb, BPFPORT_CT_REPLY, HOST, 81, 2, 40000));
	TRY(expect_ct_nat(&ra, BPFPORT_CT_REPLY, HOST, 80, 1, 0));
	CHECK(ct_count() == 4, "%ld CT entries, want 4", ct_count());

	w = with_src(&ra, HOST, 80);
	TRY(expect_xlate(fd_tc_out, &ra, &w, false, "reply on the first flow"));
	w = with_src(&rb, HOST, 81);
	w.dport = 40000;
	TRY(expect_xlate(fd_tc_out, &rb, &w, false,
			 "reply to N: from :81 to the client's own port"));

	/* Later packets hit CT: the first flow is still not remapped, the second
	 * keeps its N. */
	if (proto == IPPROTO_TCP)
		a.tcp_flags = b.tcp_flags = 0x10;
	wa = with_dst(&a, CTR, 8080);
	TRY(expect_xlate(fd, &a, &wa, partial, "first flow again: still not remapped"));
	wb = with_dst(&b, CTR, 8080);
	wb.sport = n;
	TRY(expect_xlate(fd, &b, &wb, partial, "second flow again: the same N"));
	CHECK(ct_count() == 4, "%ld CT entries after CT hits, want 4", ct_count());
	TRY(expect_counters(1, 2, 2 * la, 1, lra));
	return expect_counters(2, 2, 2 * la, 1, lra);
}

static bool test_xdp_remap_tcp_clash(void)
{
	return check_remap_clash(fd_xdp, IPPROTO_TCP, false, false);
}

static bool test_xdp_remap_udp_clash(void)
{
	TRY(check_remap_clash(fd_xdp, IPPROTO_UDP, false, false));
	maps_reset();
	return check_remap_clash(fd_xdp, IPPROTO_UDP, false, true);
}

static bool test_xdp_remap_partial_clash(void)
{
	TRY(check_remap_clash(fd_xdp, IPPROTO_TCP, true, false));
	maps_reset();
	return check_remap_clash(fd_xdp, IPPROTO_UDP, true, false);
}

static bool test_tc_ingress_remap_clash(void)
{
	TRY(check_remap_clash(fd_tc_in, IPPROTO_TCP, false, false));
	maps_reset();
	TRY(check_remap_clash(fd_tc_in, IPPROTO_UDP, false, false));
	maps_reset();
	return check_remap_clash(fd_tc_in, IPPROTO_UDP, false, true);
}

/* The reply entry of an earlier flow with the same tuple and destination is
 * that flow's own: a re-SYN after the ingress entry vanished is not remapped. */
static bool check_same_flow_not_remapped(int fd)
{
	struct pkt_spec a = flow_pkt(IPPROTO_TCP, HOST, 80, 40100);
	struct pkt_spec b = flow_pkt(IPPROTO_TCP, HOST, 81, 40100);
	struct pkt_spec ra = reply_to(&a, CTR, 8080), rb;
	uint16_t n;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, 1));
	TRY(bind_add(HOST, 81, IPPROTO_TCP, CTR, 8080, 2));
	TRY(expect_dnat(fd, &a, CTR, 8080, "SYN"));
	TRY(ct_del(&a, BPFPORT_CT_INGRESS));
	CHECK(ct_count() == 1, "%ld CT entries, want 1", ct_count());
	TRY(expect_dnat(fd, &a, CTR, 8080, "re-SYN after the ingress entry vanished"));
	TRY(expect_ct_nat(&a, BPFPORT_CT_INGRESS, CTR, 8080, 1, 0));
	TRY(expect_ct_nat(&ra, BPFPORT_CT_REPLY, HOST, 80, 1, 0));
	CHECK(ct_count() == 2, "%ld CT entries, want 2", ct_count());

	/* Again with a remapped flow from the same client port alongside. */
	TRY(expect_remapped(fd, &b, false, CTR, 8080, &n, "to :81 from the same port"));
	TRY(ct_del(&a, BPFPORT_CT_INGRESS));
	TRY(expect_dnat(fd, &a, CTR, 8080, "re-SYN to :80 with a remapped flow alongside"));
	CHECK(ct_count() == 4, "%ld CT entries, want 4", ct_count());
	TRY(expect_ct_nat(&a, BPFPORT_CT_INGRESS, CTR, 8080, 1, 0));
	TRY(expect_ct_nat(&ra, BPFPORT_CT_REPLY, HOST, 80, 1, 0));
	rb = ra;
	rb.dport = n;
	TRY(expect_ct_nat(&rb, BPFPORT_CT_REPLY, HOST, 81, 2, 40100));
	return expect_snat(fd_tc_out, &ra, HOST, 80, "reply on the first flow");
}

static bool test_xdp_same_flow_not_remapped(void)
{
	return check_same_flow_not_remapped(fd_xdp);
}

static bool test_tc_ingress_same_flow_not_remapped(void)
{
	return check_same_flow_not_remapped(fd_tc_in);
}

/* Same port, another published address: still another flow. */
static bool test_xdp_remap_other_host_address(void)
{
	struct pkt_spec a = flow_pkt(IPPROTO_TCP, HOST, 80, 40200);
	struct pkt_spec b = flow_pkt(IPPROTO_TCP, HOST2, 80, 40200);
	struct pkt_spec ra = reply_to(&a, CTR, 8080), rb, w;
	uint16_t n;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, 1));
	TRY(bind_add(HOST2, 80, IPPROTO_TCP, CTR, 8080, 2));
	TRY(expect_dnat(fd_xdp, &a, CTR, 8080, "to " HOST ":80"));
	TRY(expect_remapped(fd_xdp, &b, false, CTR, 8080, &n, "to " HOST2 ":80, same client port"));
	rb = ra;
	rb.dport = n;
	TRY(expect_ct_nat(&rb, BPFPORT_CT_REPLY, HOST2, 80, 2, 40200));
	TRY(expect_snat(fd_tc_out, &ra, HOST, 80, "reply on the first flow"));
	w = with_src(&rb, HOST2, 80);
	w.dport = 40200;
	return expect_xlate(fd_tc_out, &rb, &w, false, "reply on the remapped flow");
}

/*
 * A client whose own port happens to be an earlier flow's N, to the same
 * published port: the reply entry for N is the remapped flow's (nat_port set),
 * not an earlier use of this tuple, so the new flow is remapped in turn and
 * the remapped flow keeps its entry.
 */
static bool test_xdp_remap_client_port_taken_by_remap(void)
{
	struct pkt_spec a = flow_pkt(IPPROTO_TCP, HOST, 80, 40300);
	struct pkt_spec b = flow_pkt(IPPROTO_TCP, HOST, 81, 40300);
	struct pkt_spec c, rb = reply_to(&a, CTR, 8080), rc, w;
	uint16_t n, m;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, 1));
	TRY(bind_add(HOST, 81, IPPROTO_TCP, CTR, 8080, 2));
	TRY(expect_dnat(fd_xdp, &a, CTR, 8080, "to :80"));
	TRY(expect_remapped(fd_xdp, &b, false, CTR, 8080, &n, "to :81, same client port"));
	c = flow_pkt(IPPROTO_TCP, HOST, 81, n);
	TRY(expect_remapped(fd_xdp, &c, false, CTR, 8080, &m,
			    "to :81 from the client's own port N"));
	CHECK(m != 40300, "new flow remapped to the first flow's port %u", m);
	CHECK(ct_count() == 6, "%ld CT entries, want 6", ct_count());
	TRY(expect_ct_nat(&c, BPFPORT_CT_INGRESS, CTR, 8080, 2, m));
	rb.dport = n;
	TRY(expect_ct_nat(&rb, BPFPORT_CT_REPLY, HOST, 81, 2, 40300));
	rc = rb;
	rc.dport = m;
	TRY(expect_ct_nat(&rc, BPFPORT_CT_REPLY, HOST, 81, 2, n));
	w = with_src(&rb, HOST, 81);
	w.dport = 40300;
	TRY(expect_xlate(fd_tc_out, &rb, &w, false, "reply to N: still the remapped flow's"));
	w = with_src(&rc, HOST, 81);
	w.dport = n;
	return expect_xlate(fd_tc_out, &rc, &w, false, "reply to M: to the client's port N");
}

/* Every candidate port taken: the flow is not translated at all (rather than
 * translated without a remap onto the other flow's reply entry). */
#define REMAP_LO 1024
#define REMAP_HI 65536
/* Linux's default ip_local_port_range, which remapped ports avoid. */
#define LOCAL_LO 32768
#define LOCAL_HI 60999

static bool check_remap_exhausted(const struct pkt_spec *a, const struct pkt_spec *b, long filled)
{
	struct pkt_spec ra = reply_to(a, CTR, 8080);

	CHECK(ct_count() == filled + 2, "%ld CT entries after filling, want %ld", ct_count(),
	      filled + 2);
	TRY(expect_spec_untouched(fd_xdp, b, "to :81, every candidate port taken"));
	TRY(expect_spec_untouched(fd_tc_in, b, "same through tc_ingress"));
	CHECK(ct_count() == filled + 2, "%ld CT entries, want %ld", ct_count(), filled + 2);
	TRY(expect_counters(2, 0, 0, 0, 0));
	TRY(expect_dnat(fd_xdp, a, CTR, 8080, "first flow again"));
	TRY(expect_ct_nat(&ra, BPFPORT_CT_REPLY, HOST, 80, 1, 0));
	return expect_snat(fd_tc_out, &ra, HOST, 80, "reply on the first flow");
}

static bool test_remap_exhausted_untranslated(void)
{
	struct pkt_spec a = flow_pkt(IPPROTO_TCP, HOST, 80, 40400);
	struct pkt_spec b = flow_pkt(IPPROTO_TCP, HOST, 81, 40400);
	struct pkt_spec ra = reply_to(&a, CTR, 8080);
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;
	struct timespec now;
	long filled = 0;
	unsigned port;
	bool ok;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, 1));
	TRY(bind_add(HOST, 81, IPPROTO_TCP, CTR, 8080, 2));
	TRY(expect_dnat(fd_xdp, &a, CTR, 8080, "to :80"));
	memset(&v, 0, sizeof(v));
	v.addr.a[0] = pkt_ip(HOST);
	v.port = htons(82);
	v.nat_port = htons(1);
	v.slot = 9;
	/* Fresh, as bpf_ktime_get_ns() counts: never taken for stale entries. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	v.created_ns = v.last_seen_ns = (__u64)now.tv_sec * 1000000000ULL + (__u64)now.tv_nsec;
	ct_key_spec(&k, &ra, BPFPORT_CT_REPLY);
	for (port = REMAP_LO; port < REMAP_HI; port++) {
		if (port == a.sport || (port >= LOCAL_LO && port <= LOCAL_HI))
			continue;
		k.dport = htons((uint16_t)port);
		if (bpf_map_update_elem(fd_ct, &k, &v, BPF_NOEXIST))
			break;
		filled++;
	}
	ok = port == REMAP_HI;
	if (!ok)
		snprintf(why, sizeof(why), "filling CT at port %u: %s", port, strerror(errno));
	else
		ok = check_remap_exhausted(&a, &b, filled);
	/* Delete by key: clearing from the start of the map is slow. */
	for (port = REMAP_LO; port < REMAP_HI; port++) {
		if (port == a.sport || (port >= LOCAL_LO && port <= LOCAL_HI))
			continue;
		k.dport = htons((uint16_t)port);
		bpf_map_delete_elem(fd_ct, &k);
	}
	return ok;
}

/* ---- helpers: IPv6 ---- */

static struct pkt_spec tcp6_pkt(const char *daddr, uint16_t dport, uint16_t sport)
{
	struct pkt_spec s = { .proto = IPPROTO_TCP,
			      .v6 = true,
			      .sport = sport,
			      .dport = dport,
			      .payload_len = 32,
			      .tcp_flags = TCP_SYN };

	pkt_ip6(CLIENT6, s.saddr6);
	pkt_ip6(daddr, s.daddr6);
	return s;
}

static struct pkt_spec udp6_pkt(const char *daddr, uint16_t dport, uint16_t sport)
{
	struct pkt_spec s = tcp6_pkt(daddr, dport, sport);

	s.proto = IPPROTO_UDP;
	s.payload_len = 21; /* odd, to exercise the checksum's last byte */
	return s;
}

static struct pkt_spec with_ext(struct pkt_spec s, const uint8_t *ext, uint8_t n)
{
	s.n_ext = n;
	if (n)
		memcpy(s.ext, ext, n);
	return s;
}

static const char *ext_name(uint8_t kind)
{
	switch (kind) {
	case PKT_EXT_HOP:
		return "hop-by-hop";
	case PKT_EXT_ROUTING:
		return "routing";
	case PKT_EXT_FRAGMENT:
		return "fragment";
	case PKT_EXT_AH:
		return "AH";
	case PKT_EXT_DEST:
		return "destination options";
	}
	return "?";
}

#define NEEDS_IPV6()                                                                   \
	do {                                                                           \
		if (!have_ipv6)                                                        \
			SKIP("no IPv6 in the test namespace (address or forwarding)"); \
	} while (0)

/* A run whose verdict must be `verdict` and whose packet comes out as it went in. */
static bool expect_verdict_untouched(int fd, const uint8_t *in, size_t len, int verdict,
				     const char *what)
{
	struct run r;
	int err = run_raw(fd, in, len, 0, &r);

	CHECK(!err, "%s: %s test run failed: %s", what, prog_name(fd), strerror(-err));
	CHECK(r.retval == verdict, "%s: %s returned %d, want %d", what, prog_name(fd), r.retval,
	      verdict);
	return same_bytes(r.out, r.len, in, len, what);
}

/* ---- tests: IPv6 ---- */

static bool check_ipv6_binding(int fd, uint8_t proto, const char *host, uint16_t hport,
			       uint16_t cport, uint16_t sport)
{
	struct pkt_spec s = proto == IPPROTO_TCP ? tcp6_pkt(host, hport, sport) :
						   udp6_pkt(host, hport, sport);
	struct pkt_spec reply = reply_to(&s, CTR6, cport);
	uint8_t in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(in, &s), reply_len = pkt_build(out, &reply);
	char what[128];

	snprintf(what, sizeof(what), "%s to [%s]:%u via %s", proto == IPPROTO_TCP ? "tcp" : "udp",
		 host, hport, prog_name(fd));
	TRY(expect_dnat(fd, &s, CTR6, cport, what));
	TRY(expect_ct(&s, BPFPORT_CT_INGRESS, CTR6, cport, SLOT));
	TRY(expect_ct(&reply, BPFPORT_CT_REPLY, HOST6, hport, SLOT));
	CHECK(ct_count() == 2, "%s: %ld CT entries, want 2", what, ct_count());
	TRY(expect_dnat(fd, &s, CTR6, cport, "again (CT hit)"));
	TRY(expect_snat(fd_tc_out, &reply, HOST6, hport, "reply through tc_egress"));
	return expect_counters(SLOT, 2, 2 * len, 1, reply_len);
}

static bool test_ipv6_xdp_specific_binding(void)
{
	NEEDS_IPV6();
	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	TRY(check_ipv6_binding(fd_xdp, IPPROTO_TCP, HOST6, 80, 8080, 40000));
	maps_reset();
	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	return check_ipv6_binding(fd_xdp, IPPROTO_UDP, HOST6, 53, 5353, 40000);
}

static bool test_ipv6_tc_ingress_specific_binding(void)
{
	NEEDS_IPV6();
	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(check_ipv6_binding(fd_tc_in, IPPROTO_TCP, HOST6, 80, 8080, 40010));
	maps_reset();
	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	return check_ipv6_binding(fd_tc_in, IPPROTO_UDP, HOST6, 53, 5353, 40010);
}

static bool test_ipv6_xdp_wildcard_matches_local(void)
{
	struct pkt_spec t = tcp6_pkt(HOST6, 81, 40100), u = udp6_pkt(HOST6, 81, 40100);
	struct pkt_spec t2 = tcp6_pkt(HOST6_2, 81, 40101), u2 = udp6_pkt(HOST6_2, 81, 40101);
	struct pkt_spec rt = reply_to(&t, CTR6, 8081);

	NEEDS_IPV6();
	TRY(bind_add("::", 81, IPPROTO_TCP, CTR6, 8081, SLOT));
	TRY(bind_add("::", 81, IPPROTO_UDP, CTR6, 5381, SLOT));
	TRY(expect_dnat(fd_xdp, &t, CTR6, 8081, "tcp to [" HOST6 "]:81 (on lo)"));
	TRY(expect_dnat(fd_xdp, &u, CTR6, 5381, "udp to [" HOST6 "]:81 (on lo)"));
	TRY(expect_ct(&t, BPFPORT_CT_INGRESS, CTR6, 8081, SLOT));
	TRY(expect_ct(&rt, BPFPORT_CT_REPLY, HOST6, 81, SLOT));
	TRY(expect_snat(fd_tc_out, &rt, HOST6, 81, "reply"));
	if (have_veth6) {
		TRY(expect_dnat(fd_xdp, &t2, CTR6, 8081, "tcp to [" HOST6_2 "]:81 (on a veth)"));
		TRY(expect_dnat(fd_xdp, &u2, CTR6, 5381, "udp to [" HOST6_2 "]:81 (on a veth)"));
	}
	return true;
}

static bool test_ipv6_tc_ingress_wildcard_matches_local(void)
{
	struct pkt_spec t = tcp6_pkt(HOST6, 81, 40110);
	struct pkt_spec r = tcp6_pkt(ROUTED6, 81, 40111);
	uint8_t in[PKT_MAX];
	struct run out;
	size_t len = pkt_build(in, &t);
	int err;

	NEEDS_IPV6();
	TRY(bind_add("::", 81, IPPROTO_TCP, CTR6, 8081, SLOT));
	err = run_raw(fd_tc_in, in, len, lo_ifindex, &out);
	if (err == -EINVAL)
		SKIP("kernel does not take ingress_ifindex in a SCHED_CLS test run context");
	ct_clear();
	TRY(expect_dnat_if(fd_tc_in, &t, lo_ifindex, CTR6, 8081, "tcp to [" HOST6 "]:81 from lo"));
	if (have_veth6) {
		len = pkt_build(in, &r);
		TRY(run_prog(fd_tc_in, in, len, lo_ifindex, &out,
			     "tcp to routed [" ROUTED6 "]:81"));
		TRY(same_bytes(out.out, out.len, in, len, "tcp to routed [" ROUTED6 "]:81"));
	}
	return true;
}

static bool test_ipv6_wildcard_ignores_routed_nonlocal(void)
{
	struct pkt_spec s = tcp6_pkt(ROUTED6, 81, 40200);

	NEEDS_IPV6();
	if (!have_veth6)
		SKIP("could not create a veth to route " ROUTED6 " through");
	TRY(bind_add("::", 81, IPPROTO_TCP, CTR6, 8081, SLOT));
	TRY(expect_spec_untouched(fd_xdp, &s, "tcp to routed [" ROUTED6 "]:81"));
	CHECK(ct_count() == 0, "%ld CT entries for an untranslated packet", ct_count());
	return expect_counters(SLOT, 0, 0, 0, 0);
}

static bool test_ipv6_wildcard_ignores_multicast(void)
{
	const char *dsts[] = { "ff02::1", "ff02::1:ff00:1", "ff05::2", "ff0e::1234" };
	size_t i;

	NEEDS_IPV6();
	TRY(bind_add("::", 81, IPPROTO_UDP, CTR6, 8081, SLOT));
	for (i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		struct pkt_spec s = udp6_pkt(dsts[i], 81, 40300);

		TRY(expect_spec_untouched(fd_xdp, &s, dsts[i]));
		TRY(expect_spec_untouched(fd_tc_in, &s, dsts[i]));
	}
	CHECK(ct_count() == 0, "%ld CT entries", ct_count());
	return true;
}

static bool test_ipv6_specific_binding_beats_wildcard(void)
{
	struct pkt_spec s = tcp6_pkt(HOST6, 82, 40400);
	struct pkt_spec s2 = tcp6_pkt(HOST6_2, 82, 40401);

	NEEDS_IPV6();
	TRY(bind_add("::", 82, IPPROTO_TCP, "fd00:c::9", 9000, SLOT + 1));
	TRY(bind_add(HOST6, 82, IPPROTO_TCP, CTR6, 8082, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR6, 8082, "tcp to [" HOST6 "]:82"));
	if (have_veth6)
		TRY(expect_dnat(fd_xdp, &s2, "fd00:c::9", 9000, "tcp to [" HOST6_2 "]:82"));
	return true;
}

/* Bindings are per family: an IPv6 packet never matches an IPv4 binding, or
 * the reverse, even on the same port. */
static bool test_ipv6_families_do_not_cross(void)
{
	struct pkt_spec s6 = tcp6_pkt(HOST6, 80, 40500);
	struct pkt_spec s4 = tcp_pkt(HOST, 80, 40500);

	NEEDS_IPV6();
	TRY(bind_add("0.0.0.0", 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_spec_untouched(fd_xdp, &s6, "IPv6 packet, IPv4 wildcard binding"));
	maps_reset();
	TRY(bind_add("::", 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(expect_spec_untouched(fd_xdp, &s4, "IPv4 packet, IPv6 wildcard binding"));
	CHECK(ct_count() == 0, "%ld CT entries", ct_count());
	return true;
}

static bool test_ipv6_loopback_never_translated(void)
{
	struct pkt_spec t = tcp6_pkt("::1", 80, 40600), u = udp6_pkt("::1", 53, 40600);

	NEEDS_IPV6();
	TRY(bind_add("::1", 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(bind_add("::", 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	TRY(expect_spec_untouched(fd_xdp, &t, "tcp to [::1]:80, bound on ::1"));
	TRY(expect_spec_untouched(fd_tc_in, &t, "same through tc_ingress"));
	TRY(expect_spec_untouched(fd_xdp, &u, "udp to [::1]:53 via a wildcard binding"));
	TRY(expect_spec_untouched(fd_tc_in, &u, "same through tc_ingress"));
	CHECK(ct_count() == 0, "%ld CT entries", ct_count());
	return expect_counters(SLOT, 0, 0, 0, 0);
}

static bool test_ipv6_tc_ingress_matches_xdp(void)
{
	static const uint8_t chain[] = { PKT_EXT_HOP, PKT_EXT_ROUTING, PKT_EXT_DEST };
	struct pkt_spec t = tcp6_pkt(HOST6, 80, 40700), u = udp6_pkt(HOST6, 53, 40701);
	struct pkt_spec z = udp6_pkt(HOST6, 53, 0);

	NEEDS_IPV6();
	TRY(find_sport_for_zero_csum_to(&z, CTR6, 5353));
	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	TRY(expect_tc_like_xdp(&t, "ipv6 tcp"));
	TRY(expect_tc_like_xdp(&u, "ipv6 udp"));
	TRY(expect_tc_like_xdp(&z, "ipv6 udp whose new checksum computes to 0"));
	t = with_ext(t, chain, 3);
	u = with_ext(u, chain, 3);
	TRY(expect_tc_like_xdp(&t, "ipv6 tcp, 3 extension headers"));
	return expect_tc_like_xdp(&u, "ipv6 udp, 3 extension headers");
}

/* IPv6 UDP must carry a checksum: a computed 0 goes out as 0xffff. */
static bool check_ipv6_udp_csum_zero_becomes_ffff(int fd)
{
	struct pkt_spec s = udp6_pkt(HOST6, 53, 0);
	uint8_t in[PKT_MAX];
	struct run r;
	size_t len;

	TRY(find_sport_for_zero_csum_to(&s, CTR6, 5353));
	len = pkt_build(in, &s);
	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	TRY(expect_dnat(fd, &s, CTR6, 5353, "ipv6 udp whose new checksum computes to 0"));
	TRY(run_prog(fd, in, len, 0, &r, "again (CT hit)"));
	CHECK(pkt_get16(r.out, pkt_l4_csum_field(r.out)) == 0xffff,
	      "UDP checksum 0x%04x on the CT path, want 0xffff",
	      pkt_get16(r.out, pkt_l4_csum_field(r.out)));
	return true;
}

static bool test_ipv6_xdp_udp_csum_zero_becomes_ffff(void)
{
	NEEDS_IPV6();
	return check_ipv6_udp_csum_zero_becomes_ffff(fd_xdp);
}

static bool test_ipv6_tc_ingress_udp_csum_zero_becomes_ffff(void)
{
	NEEDS_IPV6();
	return check_ipv6_udp_csum_zero_becomes_ffff(fd_tc_in);
}

static bool test_ipv6_xdp_partial_checksum(void)
{
	static const uint8_t chain[] = { PKT_EXT_HOP, PKT_EXT_DEST, PKT_EXT_AH };
	struct pkt_spec t = tcp6_pkt(HOST6, 80, 40800), u = udp6_pkt(HOST6, 53, 40800);
	struct pkt_spec e = udp6_pkt(HOST6, 53, 40801);
	struct pkt_spec te = with_ext(t, chain, 3), ue = with_ext(u, chain, 3);
	struct pkt_spec reply = reply_to(&t, CTR6, 8080);
	uint8_t in[PKT_MAX];

	NEEDS_IPV6();
	/* The reference seed by hand: 2001:db8:c::7 -> 2001:db8:1::1, TCP, 20 + 32
	 * bytes; extension headers are not part of the upper-layer length. */
	pkt_build(in, &t);
	CHECK(pkt_pseudo_seed(in) ==
		      2 * 0x2001 + 2 * 0x0db8 + 0x000c + 0x0007 + 0x0001 + 0x0001 + 6 + 52,
	      "test bug: seed 0x%04x", pkt_pseudo_seed(in));
	pkt_build(in, &te);
	CHECK(pkt_pseudo_seed(in) ==
		      2 * 0x2001 + 2 * 0x0db8 + 0x000c + 0x0007 + 0x0001 + 0x0001 + 6 + 52,
	      "test bug: seed 0x%04x with extension headers", pkt_pseudo_seed(in));
	e.payload_len = 0;
	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	TRY(check_xdp_partial_flow(&t, CTR6, 8080, "ipv6 tcp"));
	TRY(check_xdp_partial_flow(&u, CTR6, 5353, "ipv6 udp"));
	TRY(check_xdp_partial_flow(&e, CTR6, 5353, "ipv6 udp, no payload"));
	ct_clear();
	TRY(check_xdp_partial_flow(&te, CTR6, 8080, "ipv6 tcp, 3 extension headers"));
	TRY(check_xdp_partial_flow(&ue, CTR6, 5353, "ipv6 udp, 3 extension headers"));
	ct_clear();
	TRY(expect_dnat(fd_xdp, &t, CTR6, 8080, "full checksum"));
	return expect_snat(fd_tc_out, &reply, HOST6, 80, "reply");
}

/* Only the port changes: the seed must come out exactly as it went in. */
static bool test_ipv6_xdp_partial_port_change_leaves_seed(void)
{
	struct pkt_spec t = tcp6_pkt(HOST6, 83, 40900), u = udp6_pkt(HOST6, 83, 40900);
	struct pkt_spec *specs[] = { &t, &u };
	uint8_t in[PKT_MAX];
	struct run r;
	size_t len, i;

	NEEDS_IPV6();
	TRY(bind_add(HOST6, 83, IPPROTO_TCP, HOST6, 8083, SLOT));
	TRY(bind_add(HOST6, 83, IPPROTO_UDP, HOST6, 8083, SLOT));
	for (i = 0; i < 2; i++) {
		const char *what = i ? "ipv6 udp :83 -> :8083" : "ipv6 tcp :83 -> :8083";

		TRY(check_xdp_partial_flow(specs[i], HOST6, 8083, what));
		len = build(in, specs[i], true);
		TRY(run_prog(fd_xdp, in, len, 0, &r, what));
		CHECK(pkt_get16(r.out, pkt_l4_csum_field(r.out)) == pkt_pseudo_seed(in),
		      "%s: L4 checksum field 0x%04x, want the unchanged seed 0x%04x", what,
		      pkt_get16(r.out, pkt_l4_csum_field(r.out)), pkt_pseudo_seed(in));
	}
	return true;
}

/* Each kind of extension header alone, then chains, through both programs. */
static bool check_ipv6_ext(const uint8_t *ext, uint8_t n, uint16_t sport, const char *what)
{
	struct pkt_spec t = with_ext(tcp6_pkt(HOST6, 80, sport), ext, n);
	struct pkt_spec u = with_ext(udp6_pkt(HOST6, 53, sport), ext, n);
	struct pkt_spec rt = reply_to(&t, CTR6, 8080);
	uint8_t in[PKT_MAX];
	char label[160];

	pkt_build(in, &t);
	CHECK(pkt_l4_off(in) > PKT_ETH_LEN + PKT_IP6_LEN || !n, "test bug: %s not built", what);
	snprintf(label, sizeof(label), "tcp, %s, xdp_ingress", what);
	TRY(expect_dnat(fd_xdp, &t, CTR6, 8080, label));
	TRY(expect_ct(&t, BPFPORT_CT_INGRESS, CTR6, 8080, SLOT));
	snprintf(label, sizeof(label), "tcp, %s, reply through tc_egress", what);
	TRY(expect_snat(fd_tc_out, &rt, HOST6, 80, label));
	snprintf(label, sizeof(label), "udp, %s, xdp_ingress", what);
	TRY(expect_dnat(fd_xdp, &u, CTR6, 5353, label));
	ct_clear();
	snprintf(label, sizeof(label), "tcp, %s, tc_ingress", what);
	TRY(expect_dnat(fd_tc_in, &t, CTR6, 8080, label));
	snprintf(label, sizeof(label), "udp, %s, tc_ingress", what);
	TRY(expect_dnat(fd_tc_in, &u, CTR6, 5353, label));
	CHECK(ct_count() == 4, "%s: %ld CT entries, want 4", what, ct_count());
	ct_clear();
	return true;
}

static bool test_ipv6_extension_headers_each_kind(void)
{
	static const uint8_t kinds[] = { PKT_EXT_HOP, PKT_EXT_DEST, PKT_EXT_ROUTING,
					 PKT_EXT_FRAGMENT, PKT_EXT_AH };
	char what[64];
	size_t i;

	NEEDS_IPV6();
	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	TRY(check_ipv6_ext(NULL, 0, 41000, "no extension header"));
	for (i = 0; i < sizeof(kinds); i++) {
		snprintf(what, sizeof(what), "%s header", ext_name(kinds[i]));
		TRY(check_ipv6_ext(&kinds[i], 1, (uint16_t)(41001 + i), what));
	}
	return true;
}

static bool test_ipv6_extension_header_chains(void)
{
	static const uint8_t three[] = { PKT_EXT_HOP, PKT_EXT_DEST, PKT_EXT_ROUTING };
	static const uint8_t three_b[] = { PKT_EXT_DEST, PKT_EXT_FRAGMENT, PKT_EXT_AH };
	static const uint8_t six[] = { PKT_EXT_HOP,	 PKT_EXT_DEST, PKT_EXT_ROUTING,
				       PKT_EXT_FRAGMENT, PKT_EXT_AH,   PKT_EXT_DEST };

	NEEDS_IPV6();
	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	TRY(check_ipv6_ext(three, 3, 41100, "hop-by-hop, destination options, routing"));
	TRY(check_ipv6_ext(three_b, 3, 41101, "destination options, fragment, AH"));
	return check_ipv6_ext(six, 6, 41102, "6 extension headers (IPV6_EXT_MAX)");
}

static bool test_ipv6_extension_chain_too_long_untouched(void)
{
	static const uint8_t seven[] = { PKT_EXT_HOP,  PKT_EXT_DEST, PKT_EXT_DEST,
					 PKT_EXT_DEST, PKT_EXT_DEST, PKT_EXT_DEST,
					 PKT_EXT_DEST, PKT_EXT_DEST, PKT_EXT_DEST };
	uint8_t n;
	char what[96];

	NEEDS_IPV6();
	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	for (n = 7; n <= sizeof(seven); n++) {
		struct pkt_spec t = with_ext(tcp6_pkt(HOST6, 80, 41200), seven, n);
		struct pkt_spec u = with_ext(udp6_pkt(HOST6, 53, 41200), seven, n);

		snprintf(what, sizeof(what), "tcp, %u extension headers", n);
		TRY(expect_spec_untouched(fd_xdp, &t, what));
		TRY(expect_spec_untouched(fd_tc_in, &t, what));
		snprintf(what, sizeof(what), "udp, %u extension headers", n);
		TRY(expect_spec_untouched(fd_xdp, &u, what));
		TRY(expect_spec_untouched(fd_tc_in, &u, what));
	}
	CHECK(ct_count() == 0, "%ld CT entries", ct_count());
	return expect_counters(SLOT, 0, 0, 0, 0);
}

static struct pkt_spec frag6_pkt(struct pkt_spec s, uint16_t frag6, uint32_t id)
{
	s.n_ext = 1;
	s.ext[0] = PKT_EXT_FRAGMENT;
	s.frag6 = frag6;
	s.frag_id = id;
	return s;
}

static bool test_ipv6_fragments(void)
{
	/* offset << 3 | M */
	static const uint16_t later[] = { 1 << 3 | 1, 185 << 3, 0xfff8, 0xfff8 | 1, 1 << 3 };
	struct pkt_spec first = frag6_pkt(udp6_pkt(HOST6, 53, 41300), 0x0001, 0x1234abcd);
	struct pkt_spec atomic = frag6_pkt(tcp6_pkt(HOST6, 80, 41301), 0x0000, 0x1234abce);
	struct pkt_spec tfirst = frag6_pkt(tcp6_pkt(HOST6, 80, 41302), 0x0001, 0x1234abcf);
	char what[96];
	size_t i;

	NEEDS_IPV6();
	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	/* Later fragments whose ID no first fragment recorded: their first bytes
	 * would read as ports of a bound flow, but they carry no ports. */
	for (i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		struct pkt_spec u = frag6_pkt(udp6_pkt(HOST6, 53, 41300), later[i], 0x77);
		struct pkt_spec t = frag6_pkt(tcp6_pkt(HOST6, 80, 41300), later[i], 0x77);

		snprintf(what, sizeof(what), "udp fragment, offset %u, M=%u", later[i] >> 3,
			 later[i] & 1);
		TRY(expect_spec_untouched(fd_xdp, &u, what));
		TRY(expect_spec_untouched(fd_tc_in, &u, what));
		snprintf(what, sizeof(what), "tcp fragment, offset %u, M=%u", later[i] >> 3,
			 later[i] & 1);
		TRY(expect_spec_untouched(fd_xdp, &t, what));
		TRY(expect_spec_untouched(fd_tc_in, &t, what));
	}
	CHECK(ct_count() == 0, "%ld CT entries after later fragments", ct_count());
	TRY(expect_counters(SLOT, 0, 0, 0, 0));
	TRY(expect_dnat(fd_xdp, &first, CTR6, 5353, "udp first fragment (offset 0, M=1)"));
	TRY(expect_ct(&first, BPFPORT_CT_INGRESS, CTR6, 5353, SLOT));
	TRY(expect_dnat(fd_xdp, &tfirst, CTR6, 8080, "tcp first fragment (offset 0, M=1)"));
	TRY(expect_dnat(fd_xdp, &atomic, CTR6, 8080, "atomic fragment (offset 0, M=0)"));
	ct_clear();
	TRY(expect_dnat(fd_tc_in, &first, CTR6, 5353, "udp first fragment via tc_ingress"));
	return expect_dnat(fd_tc_in, &atomic, CTR6, 8080, "atomic fragment via tc_ingress");
}

/* A later fragment: the packet built from s with only its destination (dst)
 * or source address replaced; its payload is opaque and stays as it is. */
static bool expect_frag_addr(int fd, const struct pkt_spec *s, bool dst, const char *addr,
			     const char *what)
{
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct pkt_spec w = *s;
	size_t len = pkt_build(in, s), want_len;

	spec_addr(&w, dst, addr);
	want_len = pkt_build(want, &w);
	return expect_output(fd, in, len, 0, want, want_len, what);
}

/* The fragments after a translated first one follow it by fragment ID. */
static bool check_ipv6_later_fragments_follow(int fd)
{
	struct pkt_spec first = frag6_pkt(udp6_pkt(HOST6, 53, 41400), 0x0001, 0xabcd0001);
	struct pkt_spec later = frag6_pkt(udp6_pkt(HOST6, 53, 41400), 4 << 3, 0xabcd0001);
	struct pkt_spec other = frag6_pkt(udp6_pkt(HOST6, 53, 41400), 4 << 3, 0xabcd0002);
	struct pkt_spec rfirst = reply_to(&first, CTR6, 5353), rlater;
	uint8_t buf[PKT_MAX];
	size_t l1, l2, lr1, lr2;

	later.payload_len = 40; /* bytes 32.. of the datagram: opaque */
	other.payload_len = 40;
	rfirst.frag_id = 0x55aa0001;
	rlater = rfirst;
	rlater.frag6 = 4 << 3;
	rlater.payload_len = 24;
	l1 = pkt_build(buf, &first);
	l2 = pkt_build(buf, &later);
	lr1 = pkt_build(buf, &rfirst);
	lr2 = pkt_build(buf, &rlater);

	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	TRY(expect_spec_untouched(fd, &later, "later fragment before the first"));
	TRY(expect_dnat(fd, &first, CTR6, 5353, "first fragment"));
	TRY(expect_frag_addr(fd, &later, true, CTR6, "later fragment, same ID"));
	TRY(expect_spec_untouched(fd, &other, "later fragment, another ID"));
	TRY(expect_counters(SLOT, 2, l1 + l2, 0, 0));
	TRY(expect_snat(fd_tc_out, &rfirst, HOST6, 53, "first reply fragment"));
	TRY(expect_frag_addr(fd_tc_out, &rlater, false, HOST6, "later reply fragment"));
	return expect_counters(SLOT, 2, l1 + l2, 2, lr1 + lr2);
}

static bool test_ipv6_xdp_later_fragments_follow(void)
{
	NEEDS_IPV6();
	return check_ipv6_later_fragments_follow(fd_xdp);
}

static bool test_ipv6_tc_ingress_later_fragments_follow(void)
{
	NEEDS_IPV6();
	return check_ipv6_later_fragments_follow(fd_tc_in);
}

/*
 * RFC 8200 4.5: the fragmentable part may begin with extension headers
 * (destination options) before the upper-layer header. The first fragment's
 * walk ends at UDP; a later fragment's header names the destination options
 * header as its Next Header. They are one datagram all the same.
 */
static bool test_ipv6_later_fragments_follow_with_dest_opts(void)
{
	static const uint8_t chain[] = { PKT_EXT_FRAGMENT, PKT_EXT_DEST };
	struct pkt_spec first = with_ext(udp6_pkt(HOST6, 53, 41500), chain, 2);
	struct pkt_spec later = frag6_pkt(udp6_pkt(HOST6, 53, 41500), 5 << 3, 0xabcd0003);

	NEEDS_IPV6();
	first.frag6 = 0x0001;
	first.frag_id = 0xabcd0003;
	later.proto = PKT_EXT_DEST; /* its Next Header; the bytes after are opaque */
	later.payload_len = 40;
	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	TRY(expect_dnat(fd_xdp, &first, CTR6, 5353, "first fragment, destination options after"));
	return expect_frag_addr(fd_xdp, &later, true, CTR6,
				"later fragment (Next Header: destination options), same ID");
}

/* Build an IPv6 TCP packet to a bound port, break it, expect it untouched. */
struct broken6 {
	const char *what;
	void (*edit)(uint8_t *, size_t *);
};

static void set_plen(uint8_t *p, uint16_t v)
{
	pkt_put16(p, PKT_ETH_LEN + 4, v);
}

static void edit6_plen_beyond(uint8_t *p, size_t *len)
{
	set_plen(p, (uint16_t)(*len - PKT_ETH_LEN - PKT_IP6_LEN + 1));
}

static void edit6_plen_huge(uint8_t *p, size_t *len)
{
	(void)len;
	set_plen(p, 0xffff);
}

static void edit6_plen_zero(uint8_t *p, size_t *len)
{
	(void)len;
	set_plen(p, 0); /* a jumbogram's payload length */
}

static void edit6_plen_zero_jumbo_option(uint8_t *p, size_t *len)
{
	/* A real jumbogram: hop-by-hop with the Jumbo Payload option (C2 04 len). */
	uint32_t jumbo = (uint32_t)(*len - PKT_ETH_LEN - PKT_IP6_LEN);
	uint8_t *h = p + PKT_ETH_LEN + PKT_IP6_LEN;

	set_plen(p, 0);
	h[2] = 0xc2;
	h[3] = 4;
	h[4] = (uint8_t)(jumbo >> 24);
	h[5] = (uint8_t)(jumbo >> 16);
	h[6] = (uint8_t)(jumbo >> 8);
	h[7] = (uint8_t)jumbo;
}

static void edit6_version(uint8_t *p, uint8_t v)
{
	p[PKT_ETH_LEN] = (uint8_t)(v << 4 | (p[PKT_ETH_LEN] & 0x0f));
}

static void edit6_version_4(uint8_t *p, size_t *len)
{
	(void)len;
	edit6_version(p, 4);
}

static void edit6_version_0(uint8_t *p, size_t *len)
{
	(void)len;
	edit6_version(p, 0);
}

static void edit6_version_7(uint8_t *p, size_t *len)
{
	(void)len;
	edit6_version(p, 7);
}

static void edit6_version_15(uint8_t *p, size_t *len)
{
	(void)len;
	edit6_version(p, 15);
}

static void edit6_next_sctp(uint8_t *p, size_t *len)
{
	(void)len;
	p[PKT_ETH_LEN + 6] = 132;
}

static void edit6_next_none(uint8_t *p, size_t *len)
{
	(void)len;
	p[PKT_ETH_LEN + 6] = 59; /* No Next Header */
}

static void edit6_next_esp(uint8_t *p, size_t *len)
{
	(void)len;
	p[PKT_ETH_LEN + 6] = 50;
}

static void edit6_doff_4(uint8_t *p, size_t *len)
{
	(void)len;
	p[pkt_l4_off(p) + 12] = 4 << 4;
	pkt_fix_csums(p);
}

static void edit6_ethertype_ipv4(uint8_t *p, size_t *len)
{
	(void)len;
	pkt_put16(p, 12, 0x0800);
}

/* The payload length ends inside the TCP header; Ethernet padding after it
 * keeps the bytes readable, so only the length can tell. */
static void edit6_plen_cuts_l4(uint8_t *p, size_t *len)
{
	(void)len;
	set_plen(p, 8 + 10); /* hop-by-hop, then half a TCP header */
}

static void edit6_plen_cuts_ext(uint8_t *p, size_t *len)
{
	(void)len;
	set_plen(p, 4); /* inside the hop-by-hop header */
}

static void edit6_ext_len_huge(uint8_t *p, size_t *len)
{
	(void)len;
	p[PKT_ETH_LEN + PKT_IP6_LEN + 1] = 255; /* 2048 bytes of hop-by-hop */
}

static bool check_broken6(int fd)
{
	static const struct broken6 b[] = {
		{ "payload length one beyond the packet", edit6_plen_beyond },
		{ "payload length 65535", edit6_plen_huge },
		{ "payload length 0", edit6_plen_zero },
		{ "payload length 0, jumbo payload option", edit6_plen_zero_jumbo_option },
		{ "version 4", edit6_version_4 },
		{ "version 0", edit6_version_0 },
		{ "version 7", edit6_version_7 },
		{ "version 15", edit6_version_15 },
		{ "next header SCTP", edit6_next_sctp },
		{ "no next header", edit6_next_none },
		{ "next header ESP", edit6_next_esp },
		{ "doff=4", edit6_doff_4 },
		{ "ethertype IPv4 on an IPv6 header", edit6_ethertype_ipv4 },
		{ "payload length ends inside TCP", edit6_plen_cuts_l4 },
		{ "payload length ends inside an extension header", edit6_plen_cuts_ext },
		{ "extension header longer than the packet", edit6_ext_len_huge },
	};
	static const uint8_t hop[] = { PKT_EXT_HOP };
	size_t i;

	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		struct pkt_spec s = with_ext(tcp6_pkt(HOST6, 80, 41600), hop, 1);
		uint8_t in[PKT_MAX];
		size_t len;

		s.eth_pad = 24;
		len = pkt_build(in, &s);
		b[i].edit(in, &len);
		TRY(expect_untouched(fd, in, len, b[i].what));
	}
	CHECK(ct_count() == 0, "%ld CT entries after malformed packets", ct_count());
	return expect_counters(SLOT, 0, 0, 0, 0);
}

static bool test_ipv6_xdp_malformed(void)
{
	NEEDS_IPV6();
	return check_broken6(fd_xdp);
}

static bool test_ipv6_tc_ingress_malformed(void)
{
	NEEDS_IPV6();
	return check_broken6(fd_tc_in);
}

/* Every prefix of an IPv6 packet shorter than its headers passes untouched;
 * with fix_plen, the payload length says what is left. */
static bool check_truncations6(int fd, const struct pkt_spec *s, bool fix_plen)
{
	uint8_t full[PKT_MAX], in[PKT_MAX];
	size_t l4_hdr = s->proto == IPPROTO_TCP ? PKT_TCP_LEN : PKT_UDP_LEN;
	size_t min_run_len = PKT_ETH_LEN + (fd == fd_xdp ? 0 : PKT_IP6_LEN);
	size_t len, end;
	struct run r;
	char what[128];
	int err;

	pkt_build(full, s);
	end = pkt_l4_off(full) + l4_hdr;
	for (len = 0; len < end; len++) {
		memcpy(in, full, len);
		if (fix_plen && len >= PKT_ETH_LEN + PKT_IP6_LEN)
			set_plen(in, (uint16_t)(len - PKT_ETH_LEN - PKT_IP6_LEN));
		snprintf(what, sizeof(what),
			 "ipv6 %s with %u extension headers truncated to %zu bytes%s",
			 s->proto == IPPROTO_TCP ? "tcp" : "udp", s->n_ext, len,
			 fix_plen ? " (payload length adjusted)" : "");
		if (len < min_run_len) {
			err = run_raw(fd, in, len, 0, &r);
			if (err == -EINVAL)
				continue;
			CHECK(!err, "%s: test run failed: %s", what, strerror(-err));
			CHECK(r.retval == pass_verdict(fd), "%s: returned %d", what, r.retval);
			TRY(same_bytes(r.out, r.len, in, len, what));
			continue;
		}
		TRY(expect_untouched(fd, in, len, what));
	}
	CHECK(ct_count() == 0, "%ld CT entries after truncated packets", ct_count());
	return true;
}

static bool check_all_truncations6(int fd)
{
	static const uint8_t chain[] = { PKT_EXT_HOP, PKT_EXT_FRAGMENT, PKT_EXT_AH };
	struct pkt_spec t = tcp6_pkt(HOST6, 80, 41700), u = udp6_pkt(HOST6, 53, 41700);
	struct pkt_spec te = with_ext(t, chain, 3), ue = with_ext(u, chain, 3);
	const struct pkt_spec *specs[] = { &t, &u, &te, &ue };
	size_t i;

	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(bind_add(HOST6, 53, IPPROTO_UDP, CTR6, 5353, SLOT));
	for (i = 0; i < 4; i++) {
		TRY(check_truncations6(fd, specs[i], false));
		TRY(check_truncations6(fd, specs[i], true));
	}
	return expect_counters(SLOT, 0, 0, 0, 0);
}

static bool test_ipv6_xdp_truncated_every_length(void)
{
	NEEDS_IPV6();
	return check_all_truncations6(fd_xdp);
}

static bool test_ipv6_tc_ingress_truncated_every_length(void)
{
	NEEDS_IPV6();
	return check_all_truncations6(fd_tc_in);
}

/* ---- tests: connection-tracking expiry ---- */

#define NS 1000000000ULL
/* Timeouts for these tests, in seconds, all different so that an age
 * between two of them tells which one a flow got. */
#define T_TCP 1000
#define T_CLOSE 100
#define T_RST 10
#define T_UDP 500

/* bpf_ktime_get_ns() counts CLOCK_MONOTONIC. */
static __u64 mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (__u64)t.tv_sec * NS + (__u64)t.tv_nsec;
}

static bool ct_get(const struct pkt_spec *s, __u8 dir, struct bpfport_ct_val *v)
{
	struct bpfport_ct_key k;

	ct_key_spec(&k, s, dir);
	CHECK(ct_find(&k, v) >= 0, "no %s CT entry for :%u -> :%u: %s",
	      dir == BPFPORT_CT_INGRESS ? "ingress" : "reply", s->sport, s->dport, strerror(errno));
	return true;
}

static bool ct_absent(const struct pkt_spec *s, __u8 dir, const char *what)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;

	ct_key_spec(&k, s, dir);
	CHECK(ct_find(&k, &v) < 0 && errno == ENOENT, "%s: the %s CT entry is still there", what,
	      dir == BPFPORT_CT_INGRESS ? "ingress" : "reply");
	return true;
}

/* Rewrite an entry's last_seen_ns (bpf_ktime_get_ns() time). */
static bool ct_set_last_seen(const struct pkt_spec *s, __u8 dir, __u64 last_seen)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;
	int fd;

	ct_key_spec(&k, s, dir);
	fd = ct_find(&k, &v);
	CHECK(fd >= 0, "no CT entry to rewrite: %s", strerror(errno));
	v.last_seen_ns = last_seen;
	CHECK(!bpf_map_update_elem(fd, &k, &v, BPF_EXIST), "rewriting CT entry: %s",
	      strerror(errno));
	return true;
}

/* Pretend the entry was last seen age_s seconds ago. */
static bool ct_age(const struct pkt_spec *s, __u8 dir, __u64 age_s)
{
	return ct_set_last_seen(s, dir, mono_ns() - age_s * NS);
}

/*
 * The flow of an ingress entry idle age_s seconds in both directions: its
 * reply entry is found as the datapath finds it (conntrack.h ct_partner_key),
 * since one direction alone never expires a flow.
 */
static bool ingress_flow_age(const struct pkt_spec *s, __u64 age_s)
{
	struct bpfport_ct_key k, pk;
	struct bpfport_ct_val v, pv;
	bool peer;
	int fd;

	TRY(ct_age(s, BPFPORT_CT_INGRESS, age_s));
	TRY(ct_get(s, BPFPORT_CT_INGRESS, &v));
	ct_key_spec(&k, s, BPFPORT_CT_INGRESS);
	peer = v.peer_addr.a[0] | v.peer_addr.a[1] | v.peer_addr.a[2] | v.peer_addr.a[3];
	memset(&pk, 0, sizeof(pk));
	pk.family = k.family;
	pk.proto = k.proto;
	pk.dir = BPFPORT_CT_REPLY;
	pk.saddr = v.addr;
	pk.sport = v.port;
	pk.daddr = peer ? v.peer_addr : k.saddr;
	pk.dport = v.nat_port ? v.nat_port : k.sport;
	fd = ct_find(&pk, &pv);
	CHECK(fd >= 0, "no reply entry for the flow: %s", strerror(errno));
	pv.last_seen_ns = v.last_seen_ns;
	CHECK(!bpf_map_update_elem(fd, &pk, &pv, BPF_EXIST), "rewriting reply entry: %s",
	      strerror(errno));
	return true;
}

/* Both entries of a flow, the same age: the whole flow idle that long. */
static bool flow_age(const struct pkt_spec *s, const struct pkt_spec *reply, __u64 age_s)
{
	TRY(ct_age(s, BPFPORT_CT_INGRESS, age_s));
	return ct_age(reply, BPFPORT_CT_REPLY, age_s);
}

static bool test_ct_expired_ingress_recreated_from_binding(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 52000);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	struct bpfport_ct_val v0, v;
	uint8_t in[PKT_MAX];
	size_t len = pkt_build(in, &s);
	__u64 before;

	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "first packet"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &s, &reply));
	TRY(ct_get(&s, BPFPORT_CT_INGRESS, &v0));

	/* Idle, but not for long enough: the same entry, refreshed. */
	TRY(flow_age(&s, &reply, T_TCP - 100));
	before = mono_ns();
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "idle T_TCP - 100 s"));
	TRY(ct_get(&s, BPFPORT_CT_INGRESS, &v));
	CHECK(v.created_ns == v0.created_ns, "a live entry was re-created");
	/* The datapath's clock is CLOCK_MONOTONIC at tick resolution: allow 20 ms. */
	CHECK(v.last_seen_ns + 20000000ULL >= before,
	      "a hit did not refresh last_seen_ns (%llu < %llu)",
	      (unsigned long long)v.last_seen_ns, (unsigned long long)before);

	/* Idle too long: deleted; a data packet is not admitted, and the next
	 * connection's SYN starts over from the binding. */
	TRY(flow_age(&s, &reply, T_TCP + 100));
	TRY(expect_spec_untouched(fd_xdp, &s, "data, idle T_TCP + 100 s"));
	s.tcp_flags = TCP_SYN;
	before = mono_ns();
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "SYN, idle T_TCP + 100 s, binding still there"));
	TRY(ct_get(&s, BPFPORT_CT_INGRESS, &v));
	CHECK(v.created_ns >= before, "the expired ingress entry was used, not re-created");
	TRY(expect_ct(&reply, BPFPORT_CT_REPLY, HOST, 80, SLOT));
	TRY(ct_get(&reply, BPFPORT_CT_REPLY, &v));
	CHECK(v.created_ns >= before, "the reply entry was not re-created with the flow");
	CHECK(ct_count() == 2, "%ld CT entries, want 2", ct_count());

	/* Once more, the binding gone: nothing to start over from. */
	TRY(bind_del(HOST, 80, IPPROTO_TCP));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "fresh flow, binding deleted"));
	TRY(ingress_flow_age(&s, T_TCP + 100));
	TRY(expect_spec_untouched(fd_xdp, &s, "idle T_TCP + 100 s, binding deleted"));
	TRY(ct_absent(&s, BPFPORT_CT_INGRESS, "expired, binding deleted"));
	return expect_counters(SLOT, 3, 3 * len, 0, 0);
}

static bool test_ct_expired_ingress_tc(void)
{
	struct pkt_spec s = udp_pkt(HOST, 53, 52100);

	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(expect_dnat(fd_tc_in, &s, CTR, 5353, "first packet"));
	TRY(bind_del(HOST, 53, IPPROTO_UDP));
	TRY(ingress_flow_age(&s, T_UDP - 100));
	TRY(expect_dnat(fd_tc_in, &s, CTR, 5353, "idle T_UDP - 100 s"));
	TRY(ingress_flow_age(&s, T_UDP + 100));
	TRY(expect_spec_untouched(fd_tc_in, &s, "idle T_UDP + 100 s, binding deleted"));
	return ct_absent(&s, BPFPORT_CT_INGRESS, "expired");
}

static bool test_ct_expired_reply_not_used(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 52200);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	uint8_t in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(in, &s), reply_len = pkt_build(out, &reply);

	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "request"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &s, &reply));
	TRY(flow_age(&s, &reply, T_TCP - 100));
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, "reply, idle T_TCP - 100 s"));
	TRY(flow_age(&s, &reply, T_TCP + 100));
	TRY(expect_spec_untouched(fd_tc_out, &reply, "reply, idle T_TCP + 100 s"));
	TRY(ct_absent(&reply, BPFPORT_CT_REPLY, "expired reply"));
	CHECK(ct_count() == 1, "%ld CT entries, want the ingress one only", ct_count());
	return expect_counters(SLOT, 0, 0 * len, 1, reply_len);
}

/* The FIN or RST noted on an entry picks its timeout; RST wins over FIN.
 * The binding is deleted first, so that expiry shows as "not translated". */
static bool check_flags_timeout(uint8_t flags, __u64 alive_s, __u64 dead_s, uint16_t sport,
				const char *what)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, sport);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	char label[160];

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	s.tcp_flags = 0x02;
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "SYN"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &s, &reply));
	TRY(bind_del(HOST, 80, IPPROTO_TCP));
	/* Flags on each direction's own entry, through real packets. */
	s.tcp_flags = reply.tcp_flags = flags;
	snprintf(label, sizeof(label), "%s from the client", what);
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, label));
	snprintf(label, sizeof(label), "%s from the container", what);
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, label));
	s.tcp_flags = reply.tcp_flags = 0x10;

	TRY(flow_age(&s, &reply, alive_s));
	snprintf(label, sizeof(label), "after %s, idle %llu s", what, (unsigned long long)alive_s);
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, label));
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, label));
	TRY(flow_age(&s, &reply, dead_s));
	snprintf(label, sizeof(label), "after %s, idle %llu s", what, (unsigned long long)dead_s);
	TRY(expect_spec_untouched(fd_xdp, &s, label));
	TRY(expect_spec_untouched(fd_tc_out, &reply, label));
	CHECK(ct_count() == 0, "%s: %ld CT entries left", label, ct_count());
	return true;
}

static bool test_ct_fin_rst_select_timeouts(void)
{
	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	/* No flags: T_TCP; alive well past T_CLOSE and T_UDP. */
	TRY(check_flags_timeout(0x10, T_TCP - 100, T_TCP + 100, 52300, "ACK"));
	TRY(check_flags_timeout(0x11, T_CLOSE - 50, T_CLOSE + 50, 52301, "FIN"));
	TRY(check_flags_timeout(0x14, T_RST - 5, T_RST + 5, 52302, "RST"));
	return check_flags_timeout(0x15, T_RST - 5, T_RST + 5, 52303, "FIN and RST together");
}

/* FIN then RST in separate packets: the entry holds both, RST's timeout. */
static bool test_ct_fin_then_rst_uses_rst_timeout(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 52400);
	__u8 flags;

	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "first packet"));
	TRY(bind_del(HOST, 80, IPPROTO_TCP));
	s.tcp_flags = 0x11;
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "FIN"));
	s.tcp_flags = 0x04;
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "RST"));
	TRY(ct_flags(&s, BPFPORT_CT_INGRESS, &flags));
	CHECK((flags & CT_CLOSED) == CT_CLOSED, "ingress CT flags 0x%x", flags);
	s.tcp_flags = 0x10;
	TRY(ingress_flow_age(&s, T_RST + 5));
	return expect_spec_untouched(fd_xdp, &s, "idle T_RST + 5 s after FIN and RST");
}

static bool test_ct_udp_uses_udp_timeout(void)
{
	struct pkt_spec s = udp_pkt(HOST, 53, 52500);
	struct pkt_spec reply = reply_to(&s, CTR, 5353);

	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 5353, "first packet"));
	TRY(bind_del(HOST, 53, IPPROTO_UDP));
	TRY(flow_age(&s, &reply, T_UDP - 100)); /* past T_CLOSE and T_RST */
	TRY(expect_dnat(fd_xdp, &s, CTR, 5353, "idle T_UDP - 100 s"));
	TRY(expect_snat(fd_tc_out, &reply, HOST, 53, "reply, idle T_UDP - 100 s"));
	TRY(flow_age(&s, &reply, T_UDP + 100)); /* short of T_TCP */
	TRY(expect_spec_untouched(fd_xdp, &s, "idle T_UDP + 100 s"));
	TRY(expect_spec_untouched(fd_tc_out, &reply, "reply, idle T_UDP + 100 s"));
	CHECK(ct_count() == 0, "%ld CT entries left", ct_count());
	return true;
}

static bool test_ct_ipv6_expiry(void)
{
	struct pkt_spec s = tcp6_pkt(HOST6, 80, 52600);
	struct pkt_spec reply = reply_to(&s, CTR6, 8080);

	NEEDS_IPV6();
	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR6, 8080, "first packet"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &s, &reply));
	TRY(bind_del(HOST6, 80, IPPROTO_TCP));
	TRY(flow_age(&s, &reply, T_TCP - 100));
	TRY(expect_dnat(fd_xdp, &s, CTR6, 8080, "idle T_TCP - 100 s"));
	TRY(expect_snat(fd_tc_out, &reply, HOST6, 80, "reply, idle T_TCP - 100 s"));
	TRY(flow_age(&s, &reply, T_TCP + 100));
	TRY(expect_spec_untouched(fd_xdp, &s, "idle T_TCP + 100 s"));
	TRY(expect_spec_untouched(fd_tc_out, &reply, "reply, idle T_TCP + 100 s"));
	CHECK(ct_count() == 0, "%ld CT entries left", ct_count());
	return true;
}

/* A timeout of 0 (a config from before timeouts) never expires; the others
 * still apply to the flows they select. */
static bool test_ct_timeout_zero_never_expires(void)
{
	struct pkt_spec t = tcp_pkt(HOST, 80, 52700), u = udp_pkt(HOST, 53, 52700);
	struct pkt_spec f = tcp_pkt(HOST, 80, 52701);
	struct pkt_spec rt = reply_to(&t, CTR, 8080), ru = reply_to(&u, CTR, 5353);

	TRY(config_set(0, T_CLOSE, T_RST, 0));
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(expect_dnat(fd_xdp, &t, CTR, 8080, "tcp"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &t, &rt));
	TRY(expect_dnat(fd_xdp, &u, CTR, 5353, "udp"));
	TRY(expect_dnat(fd_xdp, &f, CTR, 8080, "tcp, to be closed"));
	f.tcp_flags = 0x11;
	TRY(expect_dnat(fd_xdp, &f, CTR, 8080, "FIN"));
	f.tcp_flags = 0x10;
	TRY(bind_del(HOST, 80, IPPROTO_TCP));
	TRY(bind_del(HOST, 53, IPPROTO_UDP));
	/* Last seen when the clock started. */
	TRY(ct_set_last_seen(&t, BPFPORT_CT_INGRESS, 1));
	TRY(ct_set_last_seen(&rt, BPFPORT_CT_REPLY, 1));
	TRY(ct_set_last_seen(&u, BPFPORT_CT_INGRESS, 1));
	TRY(ct_set_last_seen(&ru, BPFPORT_CT_REPLY, 1));
	TRY(ingress_flow_age(&f, T_CLOSE + 50));
	TRY(expect_dnat(fd_xdp, &t, CTR, 8080, "tcp, timeout 0, ancient"));
	TRY(expect_snat(fd_tc_out, &rt, HOST, 80, "tcp reply, timeout 0, ancient"));
	TRY(expect_dnat(fd_xdp, &u, CTR, 5353, "udp, timeout 0, ancient"));
	TRY(expect_snat(fd_tc_out, &ru, HOST, 53, "udp reply, timeout 0, ancient"));
	TRY(expect_spec_untouched(fd_xdp, &f, "after FIN, idle T_CLOSE + 50 s (tcp timeout 0)"));

	/* All zero, as in a config map nobody wrote. */
	TRY(config_set(0, 0, 0, 0));
	TRY(expect_dnat(fd_tc_in, &t, CTR, 8080, "tcp via tc_ingress, all timeouts 0"));
	return true;
}

/*
 * A reply entry left by an expired flow is not a clash: a new flow from the
 * same client port to another published port of the same container takes it
 * over without a remap (ct_insert_reply's ct_expired()).
 */
static bool test_ct_expired_reply_entry_taken_over(void)
{
	struct pkt_spec a = flow_pkt(IPPROTO_TCP, HOST, 80, 52800);
	struct pkt_spec b = flow_pkt(IPPROTO_TCP, HOST, 81, 52800);
	struct pkt_spec ra = reply_to(&a, CTR, 8080);
	uint16_t n;

	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, 1));
	TRY(bind_add(HOST, 81, IPPROTO_TCP, CTR, 8080, 2));
	TRY(expect_dnat(fd_xdp, &a, CTR, 8080, "to :80"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &a, &ra));
	/* Live (idle T_TCP - 100 s): still a clash, remapped. */
	TRY(flow_age(&a, &ra, T_TCP - 100));
	TRY(expect_remapped(fd_xdp, &b, false, CTR, 8080, &n, "to :81, first flow idle but live"));
	TRY(ct_del(&b, BPFPORT_CT_INGRESS));
	ct_clear();
	a.tcp_flags = ra.tcp_flags = TCP_SYN;
	TRY(expect_dnat(fd_xdp, &a, CTR, 8080, "to :80 again"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &a, &ra));
	TRY(flow_age(&a, &ra, T_TCP + 100));
	TRY(expect_dnat(fd_xdp, &b, CTR, 8080, "to :81, first flow expired: client port kept"));
	TRY(expect_ct_nat(&b, BPFPORT_CT_INGRESS, CTR, 8080, 2, 0));
	TRY(expect_ct_nat(&ra, BPFPORT_CT_REPLY, HOST, 81, 2, 0));
	return expect_snat(fd_tc_out, &ra, HOST, 81, "reply: the new flow's");
}

/*
 * One flow, one lifetime: kernel conntrack refreshes a connection's timeout
 * on packets in either direction. Here the client keeps sending (one-way UDP,
 * say a stream of datagrams the container answers only now and then): the
 * ingress entry stays fresh, and the flow is not idle, so the container's
 * answer must still go out from the published address.
 */
static bool test_ct_one_way_traffic_keeps_reply_alive(void)
{
	struct pkt_spec s = udp_pkt(HOST, 53, 52900);
	struct pkt_spec reply = reply_to(&s, CTR, 5353);

	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 5353, "first datagram"));
	/* T_UDP - 100 s later, the client sends again; then 200 s more pass,
	 * the client sending all along, before the container answers. */
	TRY(flow_age(&s, &reply, T_UDP - 100));
	TRY(expect_dnat(fd_xdp, &s, CTR, 5353, "datagram after T_UDP - 100 s"));
	TRY(ct_age(&s, BPFPORT_CT_INGRESS, 0));
	TRY(ct_age(&reply, BPFPORT_CT_REPLY, T_UDP + 100));
	TRY(expect_dnat(fd_xdp, &s, CTR, 5353, "datagram, the client still sending"));
	return expect_snat(fd_tc_out, &reply, HOST, 53,
			   "the container's answer; the client sent a moment ago");
}

/*
 * A CPU that read the clock and then found last_seen_ns just written by
 * another CPU (a moment later than its own "now") must not take the
 * unsigned difference for an age: that entry is as fresh as they come.
 */
static bool test_ct_entry_touched_after_clock_read_not_expired(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 53000);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);

	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "first packet"));
	TRY(bind_del(HOST, 80, IPPROTO_TCP));
	TRY(ct_set_last_seen(&s, BPFPORT_CT_INGRESS, mono_ns() + NS / 5));
	TRY(ct_set_last_seen(&reply, BPFPORT_CT_REPLY, mono_ns() + NS / 5));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "last_seen_ns a moment after the clock read"));
	return expect_snat(fd_tc_out, &reply, HOST, 80, "reply, the same");
}

/* ---- tests: ports nobody publishes (bp_published) ---- */

/* A port whose bit is clear is not looked up at all: not even a flow's
 * entries or a binding on it are found; setting the bit brings them back. */
static bool test_unpublished_port_skips_lookups(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 53600);
	uint8_t buf[PKT_MAX];
	size_t len = pkt_build(buf, &s);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "published"));
	CHECK(!published_set(fd_published, BPFPORT_AF_INET, IPPROTO_TCP, 80, false),
	      "unpublishing: %s", strerror(errno));
	TRY(expect_spec_untouched(fd_xdp, &s, "flow and binding there, port not published"));
	TRY(expect_spec_untouched(fd_tc_in, &s, "the same through tc_ingress"));
	CHECK(!published_set(fd_published, BPFPORT_AF_INET, IPPROTO_TCP, 80, true),
	      "publishing: %s", strerror(errno));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "published again"));
	return expect_counters(SLOT, 2, 2 * len, 0, 0);
}

/* One bit per port, family and protocol: clearing UDP/80 over IPv4 leaves
 * TCP/80, TCP/81 and IPv6 TCP/80 alone; ports 64 apart share no bit. */
static bool test_published_bits_per_port_family_proto(void)
{
	/* Client ports of their own: one port to one container endpoint through
	 * two published ports would be remapped (check_remap_clash). */
	struct pkt_spec t = tcp_pkt(HOST, 80, 53700), u = udp_pkt(HOST, 80, 53701);
	struct pkt_spec t81 = tcp_pkt(HOST, 81, 53702), t144 = tcp_pkt(HOST, 144, 53703);
	struct pkt_spec t6 = tcp6_pkt(HOST6, 80, 53704);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(bind_add(HOST, 80, IPPROTO_UDP, CTR, 8080, SLOT));
	TRY(bind_add(HOST, 81, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(bind_add(HOST, 144, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(bind_add(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	CHECK(!published_set(fd_published, BPFPORT_AF_INET, IPPROTO_UDP, 80, false),
	      "unpublishing: %s", strerror(errno));
	TRY(expect_spec_untouched(fd_xdp, &u, "UDP/80, unpublished"));
	TRY(expect_dnat(fd_xdp, &t, CTR, 8080, "TCP/80"));
	TRY(expect_dnat(fd_xdp, &t81, CTR, 8080, "TCP/81"));
	TRY(expect_dnat(fd_xdp, &t144, CTR, 8080, "TCP/144"));
	TRY(expect_dnat(fd_xdp, &t6, CTR6, 8080, "IPv6 TCP/80"));
	CHECK(!published_set(fd_published, BPFPORT_AF_INET, IPPROTO_TCP, 144, false),
	      "unpublishing: %s", strerror(errno));
	TRY(expect_spec_untouched(fd_xdp, &t144, "TCP/144, unpublished"));
	return expect_dnat(fd_xdp, &t81, CTR, 8080, "TCP/81, 64 ports away");
}

/* ---- tests: a flow that lost one of its two entries (LRU eviction) ---- */

/* The entry for s/dir holds the same translation as want (times aside). */
static bool expect_ct_same(const struct pkt_spec *s, __u8 dir, const struct bpfport_ct_val *want,
			   const char *what)
{
	struct bpfport_ct_val v;

	TRY(ct_get(s, dir, &v));
	CHECK(!memcmp(&v.addr, &want->addr, sizeof(v.addr)) && v.port == want->port &&
		      v.nat_port == want->nat_port &&
		      !memcmp(&v.peer_addr, &want->peer_addr, sizeof(v.peer_addr)) &&
		      v.slot == want->slot && v.flags == want->flags,
	      "%s: restored entry differs (port %u nat_port %u slot %u flags %#x, want %u %u %u %#x)",
	      what, ntohs(v.port), ntohs(v.nat_port), v.slot, v.flags, ntohs(want->port),
	      ntohs(want->nat_port), want->slot, want->flags);
	return true;
}

/*
 * The LRU evicts one entry at a time. A flow left with its ingress entry
 * alone would have every answer of the container go out untranslated for
 * as long as the client kept that entry alive; the next refresh of the
 * ingress entry (about once a second) puts the reply entry back.
 */
static bool check_lost_reply_restored(int fd)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 53300);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	struct bpfport_ct_val rv;

	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd, &s, CTR, 8080, "first packet"));
	TRY(flow_assure(fd, fd_tc_out, &s, &reply));
	TRY(ct_get(&reply, BPFPORT_CT_REPLY, &rv));
	rv.flags &= ~BPFPORT_CT_SEQ_KNOWN; /* the other sender's number is not known */
	rv.seq = 0;
	TRY(ct_del(&reply, BPFPORT_CT_REPLY));
	/* Touched less than a second ago: no refresh, no lookup of the partner. */
	TRY(expect_dnat(fd, &s, CTR, 8080, "the client again at once"));
	TRY(ct_absent(&reply, BPFPORT_CT_REPLY, "ingress entry not refreshed"));

	TRY(ct_age(&s, BPFPORT_CT_INGRESS, 2));
	TRY(expect_dnat(fd, &s, CTR, 8080, "the client, 2 s later"));
	TRY(expect_ct_same(&reply, BPFPORT_CT_REPLY, &rv, "reply entry"));
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, "the container's answer"));
	CHECK(ct_count() == 2, "%ld CT entries, want 2", ct_count());
	return true;
}

static bool test_ct_lost_reply_restored_xdp(void)
{
	return check_lost_reply_restored(fd_xdp);
}

static bool test_ct_lost_reply_restored_tc(void)
{
	return check_lost_reply_restored(fd_tc_in);
}

/*
 * A remapped flow (client port N, see check_remap_clash) rebuilds either
 * entry from the other: the lost ingress entry from a reply keeps N, where
 * starting over from the binding would pick another port mid-connection.
 */
static bool test_ct_lost_entries_of_remapped_flow_restored(void)
{
	struct pkt_spec a = tcp_pkt(HOST, 80, 40000), b = tcp_pkt(HOST, 81, 40000);
	struct pkt_spec ra = reply_to(&a, CTR, 8080), rb, wb, w;
	struct bpfport_ct_val bv, rbv;
	uint16_t n;

	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, 1));
	TRY(bind_add(HOST, 81, IPPROTO_TCP, CTR, 8080, 2));
	TRY(expect_dnat(fd_xdp, &a, CTR, 8080, "first flow, to :80"));
	TRY(expect_remapped(fd_xdp, &b, false, CTR, 8080, &n, "second flow, to :81"));
	rb = ra;
	rb.dport = n;
	TRY(flow_assure(fd_xdp, fd_tc_out, &b, &rb));
	TRY(ct_get(&b, BPFPORT_CT_INGRESS, &bv));
	TRY(ct_get(&rb, BPFPORT_CT_REPLY, &rbv));
	b.tcp_flags = rb.tcp_flags = 0x10;
	/* A rebuilt entry does not know its sender's sequence number yet. */
	bv.flags &= ~BPFPORT_CT_SEQ_KNOWN;
	bv.seq = 0;

	/* Ingress entry lost; a reply refreshes its entry and rebuilds it. */
	TRY(ct_del(&b, BPFPORT_CT_INGRESS));
	TRY(ct_age(&rb, BPFPORT_CT_REPLY, 2));
	w = with_src(&rb, HOST, 81);
	w.dport = 40000;
	TRY(expect_xlate(fd_tc_out, &rb, &w, false, "reply to N, ingress entry lost"));
	TRY(expect_ct_same(&b, BPFPORT_CT_INGRESS, &bv, "ingress entry"));
	wb = with_dst(&b, CTR, 8080);
	wb.sport = n;
	TRY(expect_xlate(fd_xdp, &b, &wb, false, "the client again: the same N"));
	rbv.flags &= ~BPFPORT_CT_SEQ_KNOWN;
	rbv.seq = 0;

	/* Reply entry lost; the client's next packet rebuilds it. */
	TRY(ct_del(&rb, BPFPORT_CT_REPLY));
	TRY(ct_age(&b, BPFPORT_CT_INGRESS, 2));
	TRY(expect_xlate(fd_xdp, &b, &wb, false, "the client, reply entry lost"));
	TRY(expect_ct_same(&rb, BPFPORT_CT_REPLY, &rbv, "reply entry"));
	TRY(expect_xlate(fd_tc_out, &rb, &w, false, "reply to N again"));
	CHECK(ct_count() == 4, "%ld CT entries, want 4", ct_count());
	return true;
}

/*
 * A restored entry never overwrites another flow's: the partner key is
 * taken, by a flow that remapped around this one's reply entry.
 */
static bool test_ct_restore_never_overwrites(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 53400);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	struct bpfport_ct_key k;
	struct bpfport_ct_val other, v;

	TRY(config_set(T_TCP, T_CLOSE, T_RST, T_UDP));
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "first packet"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &s, &reply));
	TRY(ct_get(&reply, BPFPORT_CT_REPLY, &other));
	other.port = htons(81);
	other.slot = SLOT + 1;
	ct_key_spec(&k, &reply, BPFPORT_CT_REPLY);
	CHECK(!bpf_map_update_elem(fd_ct, &k, &other, BPF_EXIST), "rewriting: %s", strerror(errno));
	TRY(ct_age(&s, BPFPORT_CT_INGRESS, 2));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "the client, 2 s later"));
	TRY(ct_get(&reply, BPFPORT_CT_REPLY, &v));
	CHECK(v.port == htons(81) && v.slot == SLOT + 1, "another flow's reply entry was replaced");
	return true;
}

/* A SYN on a tuple whose last connection closed starts a new one: the old
 * FIN or RST (and its short timeout) no longer applies. */
static bool test_ct_syn_clears_close_flags(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 53500);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	struct bpfport_ct_val v;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	s.tcp_flags = 0x02;
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "SYN"));
	s.tcp_flags = 0x11; /* FIN, ACK */
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "FIN"));
	reply.tcp_flags = 0x14; /* RST, ACK */
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, "RST"));
	TRY(ct_get(&s, BPFPORT_CT_INGRESS, &v));
	CHECK((v.flags & CT_CLOSED) == BPFPORT_CT_SEEN_FIN, "ingress flags %#x after FIN", v.flags);
	s.tcp_flags = 0x02;
	s.tcp_seq = PKT_TCP_SEQ + 100000; /* a new connection's ISN */
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "SYN, the port reused"));
	TRY(ct_get(&s, BPFPORT_CT_INGRESS, &v));
	CHECK(!(v.flags & CT_CLOSED), "ingress flags %#x after a new SYN", v.flags);
	reply.tcp_flags = 0x12; /* SYN, ACK */
	reply.tcp_ack = s.tcp_seq + 1;
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, "SYN-ACK"));
	TRY(ct_get(&reply, BPFPORT_CT_REPLY, &v));
	CHECK(!(v.flags & CT_CLOSED), "reply flags %#x after SYN-ACK", v.flags);
	CHECK(v.flags & BPFPORT_CT_REPLIED, "reply flags %#x after SYN-ACK: not replied", v.flags);
	return true;
}

/* ---- tests: connections (a flow is one TCP connection, not a 4-tuple) ---- */

/* The datapath's count of one event (bp_stats), summed over CPUs. */
static __u64 stat_get(enum bpfport_stat stat)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals = calloc((size_t)ncpu, sizeof(*vals)), sum = 0;
	__u32 key = stat;

	if (vals && !bpf_map_lookup_elem(fd_stats, &key, vals))
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

#define EXPECT_STAT(stat, want)                                                             \
	CHECK(stat_get(BPFPORT_STAT_##stat) == (want), "stat " #stat " is %llu, want %llu", \
	      (unsigned long long)stat_get(BPFPORT_STAT_##stat), (unsigned long long)(want))

/* Which table holds the flow's ingress entry: 1 bp_ct, 0 bp_ct_new, -1 none. */
static int ct_table_of(const struct pkt_spec *s, __u8 dir)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;
	int fd;

	ct_key_spec(&k, s, dir);
	fd = ct_find(&k, &v);
	return fd < 0 ? -1 : fd == fd_ct;
}

/* Only a SYN opens a TCP flow: an ACK, a FIN or an RST that matches no flow
 * passes untouched and takes no entry; UDP opens on any datagram. */
static bool test_ct_non_syn_not_admitted(void)
{
	static const uint8_t flags[] = { 0x10, 0x18, 0x11, 0x04, 0x12 };
	struct pkt_spec s = tcp_pkt(HOST, 80, 54000);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	for (size_t i = 0; i < sizeof(flags); i++) {
		char what[64];

		s.tcp_flags = flags[i];
		snprintf(what, sizeof(what), "flags %#x, no flow", flags[i]);
		TRY(expect_spec_untouched(fd_xdp, &s, what));
		TRY(expect_spec_untouched(fd_tc_in, &s, what));
	}
	CHECK(ct_count() == 0, "%ld CT entries after packets without SYN", ct_count());
	EXPECT_STAT(CT_UNTRACKED, 2 * sizeof(flags));
	s.tcp_flags = TCP_SYN;
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "SYN"));
	CHECK(ct_table_of(&s, BPFPORT_CT_INGRESS) == 0, "a SYN's flow is not in bp_ct_new");
	EXPECT_STAT(CT_NEW, 1);
	return expect_counters(SLOT, 1, pkt_build((uint8_t[PKT_MAX]){ 0 }, &s), 0, 0);
}

/*
 * A flow is assured (moved to bp_ct) only when the client acknowledges the
 * container's SYN-ACK: a SYN-ACK alone (which a spoofed SYN also gets) or an
 * ACK that acknowledges something else leaves it in bp_ct_new.
 */
static bool test_ct_handshake_assures_flow(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 54100);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	struct pkt_spec synack = reply, ack = s;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "SYN"));
	synack.tcp_flags = TCP_SYN | TCP_ACK;
	synack.tcp_seq = 0x70000000;
	synack.tcp_ack = PKT_TCP_SEQ + 1;
	TRY(expect_snat(fd_tc_out, &synack, HOST, 80, "SYN-ACK"));
	CHECK(ct_table_of(&s, BPFPORT_CT_INGRESS) == 0, "assured by the SYN-ACK alone");
	ack.tcp_flags = TCP_ACK;
	ack.tcp_ack = 0x70000000 + 5000000; /* acknowledges nothing the container sent */
	TRY(expect_dnat(fd_xdp, &ack, CTR, 8080, "ACK of something else"));
	CHECK(ct_table_of(&s, BPFPORT_CT_INGRESS) == 0, "assured by a wrong ACK");
	ack.tcp_ack = 0x70000000 + 1;
	TRY(expect_dnat(fd_xdp, &ack, CTR, 8080, "ACK of the SYN-ACK"));
	CHECK(ct_table_of(&s, BPFPORT_CT_INGRESS) == 1, "ingress entry not assured");
	CHECK(ct_table_of(&reply, BPFPORT_CT_REPLY) == 1, "reply entry not assured");
	CHECK(ct_count() == 2, "%ld CT entries, want 2 (moved, not copied)", ct_count());
	EXPECT_STAT(CT_ASSURED, 1);
	reply.tcp_flags = TCP_ACK_PSH;
	return expect_snat(fd_tc_out, &reply, HOST, 80, "data from the container");
}

/*
 * UDP, as netfilter's "stream": a flow is assured once the container answered
 * and datagrams still flow 2 s after the first. One answer to a (spoofed)
 * request does not assure it.
 */
static bool test_ct_udp_stream_assures_flow(void)
{
	struct pkt_spec s = udp_pkt(HOST, 53, 54150);
	struct pkt_spec reply = reply_to(&s, CTR, 5353);

	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 5353, "datagram"));
	TRY(flow_backdate(&s, &reply, 3));
	TRY(expect_dnat(fd_xdp, &s, CTR, 5353, "another, unanswered, 3 s later"));
	CHECK(ct_table_of(&s, BPFPORT_CT_INGRESS) == 0, "assured before any answer");
	TRY(flow_backdate(&s, &reply, -3ULL));
	TRY(expect_snat(fd_tc_out, &reply, HOST, 53, "the answer"));
	TRY(expect_dnat(fd_xdp, &s, CTR, 5353, "a datagram right after"));
	CHECK(ct_table_of(&s, BPFPORT_CT_INGRESS) == 0, "assured within 2 s");
	TRY(flow_backdate(&s, &reply, 3));
	TRY(expect_snat(fd_tc_out, &reply, HOST, 53, "an answer, 3 s after the start"));
	CHECK(ct_table_of(&s, BPFPORT_CT_INGRESS) == 1, "ingress entry not assured");
	CHECK(ct_table_of(&reply, BPFPORT_CT_REPLY) == 1, "reply entry not assured");
	EXPECT_STAT(CT_ASSURED, 1);
	return expect_dnat(fd_xdp, &s, CTR, 5353, "datagram on the assured flow");
}

/*
 * A connection that closed leaves the assured table for bp_ct_new, where
 * churn evicts it before any idle established connection; its next SYN
 * still finds it (restart, same container-side port).
 */
static bool test_ct_closed_flow_retired(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 54160);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "SYN"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &s, &reply));
	reply.tcp_flags = 0x11;
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, "the container's FIN"));
	CHECK(ct_table_of(&s, BPFPORT_CT_INGRESS) == 0, "ingress entry still assured");
	CHECK(ct_table_of(&reply, BPFPORT_CT_REPLY) == 0, "reply entry still assured");
	CHECK(ct_count() == 2, "%ld CT entries, want 2", ct_count());
	s.tcp_flags = 0x11;
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "the client's FIN"));
	s.tcp_flags = TCP_SYN;
	s.tcp_seq = PKT_TCP_SEQ + 300000;
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "the next connection"));
	EXPECT_STAT(CT_RESTARTED, 1);
	return true;
}

/*
 * The container's SYN-ACK on a flow's reply tuple is translated only if it
 * acknowledges the SYN that flow translated: a SYN-ACK for another SYN (a
 * direct connection from the same client port) leaves untouched.
 */
static bool test_ct_foreign_synack_untouched(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 54200);
	struct pkt_spec synack = reply_to(&s, CTR, 8080);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "SYN"));
	synack.tcp_flags = TCP_SYN | TCP_ACK;
	synack.tcp_seq = 0x30000000;
	synack.tcp_ack = PKT_TCP_SEQ + 77777777;
	TRY(expect_spec_untouched(fd_tc_out, &synack, "SYN-ACK of another SYN"));
	EXPECT_STAT(CT_FOREIGN_SYNACK, 1);
	synack.tcp_ack = PKT_TCP_SEQ + 1;
	TRY(expect_snat(fd_tc_out, &synack, HOST, 80, "SYN-ACK of the translated SYN"));
	TRY(expect_snat(fd_tc_out, &synack, HOST, 80, "the same SYN-ACK, retransmitted"));
	synack.tcp_seq = 0x30000000 + 999;
	TRY(expect_spec_untouched(fd_tc_out, &synack, "a second SYN-ACK with another ISN"));
	EXPECT_STAT(CT_FOREIGN_SYNACK, 2);
	return true;
}

/*
 * FIN and RST shorten a flow's timeout only near the sequence numbers its
 * sender has used (roughly the kernel's tcp_in_window): an off-path RST or
 * FIN with a guessed number is translated but changes nothing.
 */
static bool test_ct_rst_fin_outside_window_ignored(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 54300);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	__u8 flags;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "SYN"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &s, &reply));
	s.tcp_flags = 0x04;
	s.tcp_seq = PKT_TCP_SEQ + 0x40000000;
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "RST far outside the window"));
	reply.tcp_flags = 0x11;
	reply.tcp_seq = PKT_TCP_SEQ - 0x20000000;
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, "FIN far behind the window"));
	TRY(ct_flags(&s, BPFPORT_CT_INGRESS, &flags));
	CHECK(!(flags & CT_CLOSED), "ingress flags %#x after an off-path RST", flags);
	TRY(ct_flags(&reply, BPFPORT_CT_REPLY, &flags));
	CHECK(!(flags & CT_CLOSED), "reply flags %#x after an off-path FIN", flags);
	EXPECT_STAT(CT_OUT_OF_WINDOW, 2);
	s.tcp_seq = PKT_TCP_SEQ + 1400;
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "RST in the window"));
	TRY(ct_flags(&s, BPFPORT_CT_INGRESS, &flags));
	CHECK((flags & CT_CLOSED) == BPFPORT_CT_SEEN_RST, "ingress flags %#x after an RST", flags);
	return true;
}

/*
 * A SYN on a live, assured flow with another ISN does not replace it (the
 * kernel's conntrack ignores it too); a SYN on a closed flow starts a new
 * flow from the binding; a SYN on an unanswered flow with another ISN too.
 */
static bool test_ct_syn_restarts_only_closed_flows(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 54400), syn;
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	struct bpfport_ct_val v0, v;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "SYN"));
	syn = s;
	syn.tcp_seq = PKT_TCP_SEQ + 500;
	TRY(expect_dnat(fd_xdp, &syn, CTR, 8080, "another SYN, flow unanswered"));
	EXPECT_STAT(CT_RESTARTED, 1);
	TRY(ct_get(&s, BPFPORT_CT_INGRESS, &v));
	CHECK(v.seq == syn.tcp_seq, "the flow follows ISN %#x, want the new SYN's %#x", v.seq,
	      syn.tcp_seq);
	s = syn;
	reply.tcp_ack = syn.tcp_seq; /* flow_assure acks PKT_TCP_SEQ + 1: set below */
	{
		struct pkt_spec synack = reply, ack = s;
		uint8_t in[PKT_MAX];
		struct run r;

		synack.tcp_flags = TCP_SYN | TCP_ACK;
		synack.tcp_ack = syn.tcp_seq + 1;
		TRY(run_prog(fd_tc_out, in, pkt_build(in, &synack), 0, &r, "SYN-ACK"));
		ack.tcp_flags = TCP_ACK;
		ack.tcp_ack = PKT_TCP_SEQ + 1;
		TRY(run_prog(fd_xdp, in, pkt_build(in, &ack), 0, &r, "ACK"));
	}
	CHECK(ct_table_of(&s, BPFPORT_CT_INGRESS) == 1, "the restarted flow was not assured");
	TRY(ct_get(&s, BPFPORT_CT_INGRESS, &v0));
	syn.tcp_seq = PKT_TCP_SEQ + 90000;
	TRY(expect_dnat(fd_xdp, &syn, CTR, 8080, "SYN with another ISN on a live flow"));
	TRY(ct_get(&s, BPFPORT_CT_INGRESS, &v));
	CHECK(v.created_ns == v0.created_ns && ct_table_of(&s, BPFPORT_CT_INGRESS) == 1,
	      "a SYN replaced a live connection's flow");
	s.tcp_flags = 0x11;
	s.tcp_seq = PKT_TCP_SEQ + 501;
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "FIN"));
	TRY(expect_dnat(fd_xdp, &syn, CTR, 8080, "SYN after the FIN"));
	TRY(ct_get(&s, BPFPORT_CT_INGRESS, &v));
	CHECK(v.created_ns != v0.created_ns && ct_table_of(&s, BPFPORT_CT_INGRESS) == 0,
	      "a SYN on a closed flow did not start a new one");
	EXPECT_STAT(CT_RESTARTED, 2);
	return true;
}

/* The client's own SYN straight to the container endpoint, as on the wire. */
/* s goes to CTR:8080 from client port n (a remapped flow). */
static bool expect_dnat_port(const struct pkt_spec *s, uint16_t n, const char *what)
{
	struct pkt_spec w = with_dst(s, CTR, 8080);

	w.sport = n;
	return expect_xlate(fd_xdp, s, &w, false, what);
}

static struct pkt_spec direct_syn(uint16_t sport)
{
	struct pkt_spec d = tcp_pkt(CTR, 8080, sport);

	d.tcp_seq = 0x50000000;
	return d;
}

/*
 * Same client port, published then direct: once the published connection
 * closed, a direct SYN to the container from that port releases its flow,
 * and the container's SYN-ACK to the direct SYN leaves untranslated.
 */
static bool test_ct_direct_after_published(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 54500);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	struct pkt_spec d = direct_syn(54500), dsynack = reply_to(&d, CTR, 8080);

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "published SYN"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &s, &reply));
	s.tcp_flags = reply.tcp_flags = 0x11;
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "client FIN"));
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, "container FIN"));
	TRY(expect_spec_untouched(fd_xdp, &d, "direct SYN from the same port"));
	CHECK(ct_count() == 0, "%ld CT entries: the closed flow was not released", ct_count());
	EXPECT_STAT(CT_RELEASED, 1);
	EXPECT_STAT(DIRECT_TRACKED, 1);
	dsynack.tcp_flags = TCP_SYN | TCP_ACK;
	dsynack.tcp_ack = d.tcp_seq + 1;
	return expect_spec_untouched(fd_tc_out, &dsynack, "the container's SYN-ACK to it");
}

/*
 * Same client port, direct then published: the container may still hold the
 * direct connection's tuple (TIME_WAIT), so the published flow takes another
 * client port, outside ip_local_port_range, as netfilter's NAT would.
 */
static bool test_ct_published_after_direct_remapped(void)
{
	struct pkt_spec d = direct_syn(54600), s = tcp_pkt(HOST, 80, 54600);
	struct pkt_spec other = tcp_pkt(HOST, 80, 54601);
	uint16_t n;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_spec_untouched(fd_xdp, &d, "direct SYN"));
	d.tcp_flags = 0x11;
	TRY(expect_spec_untouched(fd_xdp, &d, "direct FIN"));
	TRY(expect_remapped(fd_xdp, &s, false, CTR, 8080, &n, "published SYN, same port"));
	EXPECT_STAT(CT_REMAPPED, 1);
	TRY(expect_dnat(fd_xdp, &other, CTR, 8080, "published SYN, another port: kept"));
	EXPECT_STAT(CT_REMAPPED, 1);
	/* Long after the close timeout the tuple is free again. */
	{
		struct bpfport_ct_key k;
		struct bpfport_direct_val dv;

		ct_key_spec(&k, &d, BPFPORT_CT_INGRESS);
		CHECK(!bpf_map_lookup_elem(fd_direct, &k, &dv), "direct connection not recorded");
		CHECK(dv.closing, "direct FIN not recorded");
		dv.last_seen_ns -= (BPFPORT_CT_TIMEOUT_TCP_CLOSE + 10) * 1000000000ULL;
		CHECK(!bpf_map_update_elem(fd_direct, &k, &dv, BPF_EXIST), "ageing: %s",
		      strerror(errno));
	}
	ct_clear();
	s.tcp_seq = PKT_TCP_SEQ + 1000;
	return expect_dnat(fd_xdp, &s, CTR, 8080, "published SYN after the close timeout: kept");
}

/*
 * A new connection on a client tuple keeps the container-side port of the
 * flow it replaces: the container may hold that tuple in TIME_WAIT, which
 * takes a SYN of the same client connection sequence but not, half of the
 * time, one of another client that a fresh remap could hand the port to.
 */
static bool test_ct_restart_keeps_remapped_port(void)
{
	struct pkt_spec d = direct_syn(54900), s = tcp_pkt(HOST, 80, 54900);
	struct pkt_spec syn;
	uint16_t n;
	struct bpfport_ct_val v;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_spec_untouched(fd_xdp, &d, "direct SYN"));
	TRY(expect_remapped(fd_xdp, &s, false, CTR, 8080, &n, "published SYN, remapped"));
	s.tcp_flags = 0x11;
	TRY(expect_dnat_port(&s, n, "FIN"));
	syn = s;
	syn.tcp_flags = TCP_SYN;
	syn.tcp_seq = PKT_TCP_SEQ + 200000;
	TRY(expect_dnat_port(&syn, n, "the next connection's SYN: the same port"));
	TRY(ct_get(&syn, BPFPORT_CT_INGRESS, &v));
	CHECK(v.seq == syn.tcp_seq && !(v.flags & CT_CLOSED),
	      "not a fresh flow (seq %#x flags %#x)", v.seq, v.flags);
	EXPECT_STAT(CT_RESTARTED, 1);
	return true;
}

/*
 * Removal is final: after user space moves the slot to the next generation
 * (lib/dp.c dp_flows_end), no packet of an older flow is translated, even
 * one whose entry an LRU restore or a racing CPU put back.
 */
static bool test_ct_stale_generation_not_translated(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 54700), u = udp_pkt(HOST, 53, 54700);
	struct pkt_spec reply = reply_to(&s, CTR, 8080), ru = reply_to(&u, CTR, 5353);
	struct pkt_spec n = tcp_pkt(HOST, 80, 54701);
	__u32 slot = SLOT, uslot = SLOT + 1, gen = 1;
	struct bpfport_bind_key bk;
	struct bpfport_bind_val bv;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, slot));
	TRY(bind_add(HOST, 53, IPPROTO_UDP, CTR, 5353, uslot));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "tcp"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &s, &reply));
	TRY(expect_dnat(fd_xdp, &u, CTR, 5353, "udp"));

	/* ct flush of the TCP binding: the binding first, then the slot. */
	bind_key(&bk, HOST, 80, IPPROTO_TCP);
	CHECK(!bpf_map_lookup_elem(fd_bind, &bk, &bv), "binding: %s", strerror(errno));
	bv.gen = gen;
	CHECK(!bpf_map_update_elem(fd_bind, &bk, &bv, BPF_EXIST), "binding: %s", strerror(errno));
	TRY(expect_dnat(fd_xdp, &n, CTR, 8080, "a flow admitted between the two steps"));
	CHECK(!bpf_map_update_elem(fd_slot_gen, &slot, &gen, BPF_ANY), "slot gen: %s",
	      strerror(errno));
	TRY(expect_spec_untouched(fd_tc_out, &reply, "tcp reply, old generation"));
	TRY(expect_spec_untouched(fd_xdp, &s, "tcp data, old generation"));
	TRY(ct_absent(&s, BPFPORT_CT_INGRESS, "stale tcp flow"));
	TRY(expect_dnat(fd_xdp, &n, CTR, 8080, "the flow of the new generation"));

	/* Removal of the UDP binding: deleted, then the slot moves on. */
	TRY(bind_del(HOST, 53, IPPROTO_UDP));
	TRY(expect_dnat(fd_xdp, &u, CTR, 5353, "udp, binding deleted, flow not yet ended"));
	CHECK(!bpf_map_update_elem(fd_slot_gen, &uslot, &gen, BPF_ANY), "slot gen: %s",
	      strerror(errno));
	TRY(expect_spec_untouched(fd_xdp, &u, "udp, old generation"));
	TRY(expect_spec_untouched(fd_tc_out, &ru, "udp reply, old generation"));
	TRY(ct_absent(&u, BPFPORT_CT_INGRESS, "stale udp flow"));
	CHECK(stat_get(BPFPORT_STAT_CT_STALE) == 2, "stat CT_STALE %llu, want 2",
	      (unsigned long long)stat_get(BPFPORT_STAT_CT_STALE));
	return true;
}

/*
 * A flood of spoofed SYNs (random sources) churns bp_ct_new only: an idle
 * assured flow keeps both entries through 1,000,000 of them, at the default
 * table sizes, and translates both ways afterwards.
 */
#define FLOOD_SYNS 1000000

static bool test_ct_syn_flood_spares_assured(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 54800), f = tcp_pkt(HOST, 80, 1);
	struct pkt_spec reply = reply_to(&s, CTR, 8080);
	uint8_t in[PKT_MAX];
	size_t len = pkt_build(in, &f), l3 = pkt_l3_off(), l4 = pkt_l4_off(in);
	struct run r;

	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "SYN"));
	TRY(flow_assure(fd_xdp, fd_tc_out, &s, &reply));
	srand(54800);
	for (unsigned i = 0; i < FLOOD_SYNS; i++) {
		/* Source address and port from the run; checksums do not matter here. */
		uint32_t a = htonl(0x0a000000u | ((unsigned)rand() & 0xffffffu));

		memcpy(in + l3 + 12, &a, 4);
		pkt_put16(in, l4, (uint16_t)(1024 + rand() % 60000));
		CHECK(!run_raw(fd_xdp, in, len, 0, &r), "flood SYN %u: %s", i, strerror(errno));
	}
	CHECK(stat_get(BPFPORT_STAT_CT_NEW) >= FLOOD_SYNS / 2, "only %llu flood flows admitted",
	      (unsigned long long)stat_get(BPFPORT_STAT_CT_NEW));
	CHECK(ct_table_of(&s, BPFPORT_CT_INGRESS) == 1, "the assured flow's ingress entry is gone");
	CHECK(ct_table_of(&reply, BPFPORT_CT_REPLY) == 1, "the assured flow's reply entry is gone");
	TRY(expect_snat(fd_tc_out, &reply, HOST, 80, "the container speaks first after the flood"));
	return expect_dnat(fd_xdp, &s, CTR, 8080, "the client after the flood");
}

/* ---- tests: source allow-lists ---- */

#define OUTSIDE "100.65.7.7"
#define OUTSIDE6 "2001:db8:d::7"

static int drop_verdict(int fd)
{
	return fd == fd_xdp ? XDP_DROP : 2 /* TC_ACT_SHOT */;
}

static bool expect_dropped_spec(int fd, const struct pkt_spec *s, const char *what)
{
	uint8_t in[PKT_MAX];
	size_t len = pkt_build(in, s);

	return expect_verdict_untouched(fd, in, len, drop_verdict(fd), what);
}

static bool check_allow_basic(int fd)
{
	struct pkt_spec t = tcp_pkt(HOST, 80, 53100), u = udp_pkt(HOST, 53, 53100);
	struct pkt_spec to = with_src(&t, OUTSIDE, 53101), uo = with_src(&u, OUTSIDE, 53101);
	struct pkt_spec rt = reply_to(&t, CTR, 8080);
	uint8_t buf[PKT_MAX];
	size_t lt = pkt_build(buf, &t), lu = pkt_build(buf, &u), lrt = pkt_build(buf, &rt);

	TRY(bind_add_flags(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT, BPFPORT_BIND_ALLOWLIST));
	TRY(bind_add_flags(HOST, 53, IPPROTO_UDP, CTR, 5353, SLOT, BPFPORT_BIND_ALLOWLIST));
	TRY(allow_add(SLOT, "100.64.0.0/16"));
	TRY(expect_dnat(fd, &t, CTR, 8080, "tcp from " CLIENT ", inside 100.64.0.0/16"));
	TRY(expect_dnat(fd, &u, CTR, 5353, "udp from " CLIENT ", inside 100.64.0.0/16"));
	TRY(expect_snat(fd_tc_out, &rt, HOST, 80, "reply"));
	CHECK(ct_count() == 4, "%ld CT entries, want 4", ct_count());
	TRY(expect_dropped(SLOT, 0));
	TRY(expect_dropped_spec(fd, &to, "tcp from " OUTSIDE ", outside"));
	TRY(expect_dropped_spec(fd, &uo, "udp from " OUTSIDE ", outside"));
	TRY(expect_dropped_spec(fd, &to, "tcp from " OUTSIDE " again"));
	CHECK(ct_count() == 4, "%ld CT entries after drops, want 4", ct_count());
	TRY(expect_dropped(SLOT, 3));
	TRY(expect_counters(SLOT, 2, lt + lu, 1, lrt));
	/* A wildcard binding checks the same way. */
	maps_reset();
	TRY(bind_add_flags("0.0.0.0", 80, IPPROTO_TCP, CTR, 8080, SLOT, BPFPORT_BIND_ALLOWLIST));
	TRY(allow_add(SLOT, CLIENT));
	if (fd == fd_xdp) {
		TRY(expect_dnat(fd, &t, CTR, 8080, "wildcard binding, listed /32"));
		TRY(expect_dropped_spec(fd, &to, "wildcard binding, unlisted"));
		TRY(expect_dropped(SLOT, 1));
	}
	return true;
}

static bool test_allow_xdp_admits_listed_drops_others(void)
{
	return check_allow_basic(fd_xdp);
}

static bool test_allow_tc_ingress_admits_listed_drops_others(void)
{
	return check_allow_basic(fd_tc_in);
}

/* An empty list under the flag admits nobody. */
static bool test_allow_empty_list_drops_all(void)
{
	struct pkt_spec t = tcp_pkt(HOST, 80, 53200);

	TRY(bind_add_flags(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT, BPFPORT_BIND_ALLOWLIST));
	TRY(expect_dropped_spec(fd_xdp, &t, "flag set, nothing listed"));
	TRY(expect_dropped_spec(fd_tc_in, &t, "same through tc_ingress"));
	CHECK(ct_count() == 0, "%ld CT entries", ct_count());
	return expect_dropped(SLOT, 2);
}

/* Without the flag, a slot's list (if any) is not consulted. */
static bool test_allow_without_flag_admits_all(void)
{
	struct pkt_spec to = tcp_pkt(HOST, 80, 53300);

	spec_addr(&to, false, OUTSIDE);
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(allow_add(SLOT, CLIENT));
	TRY(expect_dnat(fd_xdp, &to, CTR, 8080, "unlisted source, binding without the flag"));
	return expect_dropped(SLOT, 0);
}

/* Only the first packet of a flow is checked. */
static bool test_allow_established_flow_not_rechecked(void)
{
	struct pkt_spec t = tcp_pkt(HOST, 80, 53400), t2 = tcp_pkt(HOST, 80, 53401);
	struct pkt_spec rt = reply_to(&t, CTR, 8080);

	TRY(bind_add_flags(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT, BPFPORT_BIND_ALLOWLIST));
	TRY(allow_add(SLOT, "100.64.0.0/10"));
	TRY(expect_dnat(fd_xdp, &t, CTR, 8080, "listed"));
	TRY(allow_del(SLOT, "100.64.0.0/10"));
	TRY(expect_dnat(fd_xdp, &t, CTR, 8080, "same flow, prefix removed"));
	TRY(expect_dnat(fd_tc_in, &t, CTR, 8080, "same flow via tc_ingress"));
	TRY(expect_snat(fd_tc_out, &rt, HOST, 80, "reply"));
	TRY(expect_dropped_spec(fd_xdp, &t2, "a new flow from the same source"));
	return expect_dropped(SLOT, 1);
}

/* Each binding has its own list: a prefix listed for another slot, even a
 * longer or a catch-all one, admits nothing here. */
static bool test_allow_longest_prefix_per_slot(void)
{
	struct pkt_spec a = tcp_pkt(HOST, 80, 53500), b = tcp_pkt(HOST, 81, 53500);
	struct pkt_spec ao = with_src(&a, "100.64.8.1", 53501);
	struct pkt_spec bo = with_src(&b, "100.64.8.1", 53501);
	struct pkt_spec c = tcp_pkt(HOST, 82, 53502), co = with_src(&c, "203.0.113.200", 53502);

	TRY(bind_add_flags(HOST, 80, IPPROTO_TCP, CTR, 8080, 3, BPFPORT_BIND_ALLOWLIST));
	TRY(bind_add_flags(HOST, 81, IPPROTO_TCP, CTR, 8081, 4, BPFPORT_BIND_ALLOWLIST));
	TRY(bind_add_flags(HOST, 82, IPPROTO_TCP, CTR, 8082, 5, BPFPORT_BIND_ALLOWLIST));
	TRY(allow_add(3, "10.0.0.0/8"));
	TRY(allow_add(4, "100.64.0.0/10"));
	TRY(allow_add(5, "0.0.0.0/0"));
	TRY(allow_add(2, "100.64.7.7/32"));
	TRY(allow_add(6, "100.64.0.0/16"));
	TRY(expect_dnat(fd_xdp, &b, CTR, 8081, CLIENT " to slot 4 (100.64.0.0/10)"));
	TRY(expect_dnat(fd_xdp, &c, CTR, 8082, CLIENT " to slot 5 (0.0.0.0/0)"));
	TRY(expect_dnat(fd_xdp, &co, CTR, 8082, "203.0.113.200 to slot 5 (0.0.0.0/0)"));
	TRY(expect_dropped_spec(fd_xdp, &a,
				CLIENT " to slot 3: listed for slots 2, 4, 5 and 6, not 3"));
	TRY(expect_dropped(3, 1));
	/* A longer prefix for slot 3 admits its own range only. */
	TRY(allow_add(3, "100.64.7.0/24"));
	TRY(expect_dnat(fd_xdp, &a, CTR, 8080, CLIENT " to slot 3 (100.64.7.0/24)"));
	TRY(expect_dropped_spec(fd_xdp, &ao, "100.64.8.1 to slot 3, outside /24"));
	TRY(expect_dnat(fd_xdp, &bo, CTR, 8081, "100.64.8.1 to slot 4 (/10)"));
	TRY(expect_dropped(3, 2));
	TRY(expect_dropped(4, 0));
	return expect_dropped(5, 0);
}

static bool test_allow_ipv6_prefixes(void)
{
	struct pkt_spec t = tcp6_pkt(HOST6, 80, 53600), u = udp6_pkt(HOST6, 53, 53600);
	struct pkt_spec to = with_src(&t, OUTSIDE6, 53601), uo = with_src(&u, OUTSIDE6, 53601);
	struct pkt_spec tin = with_src(&t, "2001:db8:c:ffff::1", 53602);

	NEEDS_IPV6();
	TRY(bind_add_flags(HOST6, 80, IPPROTO_TCP, CTR6, 8080, SLOT, BPFPORT_BIND_ALLOWLIST));
	TRY(bind_add_flags("::", 53, IPPROTO_UDP, CTR6, 5353, SLOT + 1, BPFPORT_BIND_ALLOWLIST));
	TRY(allow_add(SLOT, "2001:db8:c::/48"));
	TRY(allow_add(SLOT + 1, "2001:db8:c::7/128"));
	TRY(allow_add(SLOT + 2, "::/0"));
	TRY(expect_dnat(fd_xdp, &t, CTR6, 8080, "tcp from " CLIENT6 ", in /48"));
	TRY(expect_dnat(fd_xdp, &tin, CTR6, 8080, "tcp from 2001:db8:c:ffff::1, in /48"));
	TRY(expect_dnat(fd_xdp, &u, CTR6, 5353, "udp from " CLIENT6 ", the listed /128"));
	TRY(expect_dropped_spec(fd_xdp, &to, "tcp from " OUTSIDE6));
	TRY(expect_dropped_spec(fd_tc_in, &to, "tcp from " OUTSIDE6 " via tc_ingress"));
	TRY(expect_dropped_spec(fd_xdp, &uo, "udp from " OUTSIDE6));
	TRY(expect_dropped(SLOT, 2));
	TRY(expect_dropped(SLOT + 1, 1));
	TRY(allow_add(SLOT, OUTSIDE6));
	TRY(expect_dnat(fd_xdp, &to, CTR6, 8080, "tcp from " OUTSIDE6 ", now a listed /128"));
	/* A listed /128 is that one address. */
	uo = with_src(&u, "2001:db8:c::8", 53604);
	TRY(expect_dropped_spec(fd_xdp, &uo, "udp from 2001:db8:c::8, next to the listed /128"));
	return expect_dropped(SLOT + 1, 2);
}

/* ---- tests: direct access to container addresses (guard.h) ---- */

#define REMOTE "203.0.113.50" /* a host out there the container talks to */

/* As lib/dp.c does for every binding: the container's address is known. */
static bool container_add(const char *addr)
{
	struct bpfport_container_key k;
	__u32 one = 1;

	memset(&k, 0, sizeof(k));
	k.family = addr_parse(addr, &k.addr);
	CHECK(!bpf_map_update_elem(fd_containers, &k, &one, BPF_ANY), "adding container: %s",
	      strerror(errno));
	return true;
}

static bool config_direct_access(bool allow)
{
	struct bpfport_config c;
	__u32 zero = 0;

	CHECK(!bpf_map_lookup_elem(fd_cfg, &zero, &c), "reading config: %s", strerror(errno));
	c.flags = allow ? BPFPORT_CFG_DIRECT_ACCESS_ALLOW : 0;
	CHECK(!bpf_map_update_elem(fd_cfg, &zero, &c, BPF_ANY), "writing config: %s",
	      strerror(errno));
	return true;
}

/*
 * Routed straight to a container: dropped by default on both ingress
 * programs, whatever the port (published to 127.0.0.1 only, unpublished);
 * passed untouched with direct access allowed. The published port still works.
 */
static bool test_direct_access_dropped_by_default(void)
{
	struct pkt_spec d = tcp_pkt(CTR, 8080, 55000), u = udp_pkt(CTR, 9999, 55001);
	struct pkt_spec s = tcp_pkt(HOST, 80, 55002), other = tcp_pkt("198.51.100.9", 8080, 55003);

	TRY(bind_add("127.0.0.1", 8443, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT + 1));
	TRY(container_add(CTR));
	TRY(expect_dropped_spec(fd_xdp, &d, "tcp straight to the container"));
	TRY(expect_dropped_spec(fd_tc_in, &d, "same through tc_ingress"));
	TRY(expect_dropped_spec(fd_xdp, &u, "udp to an unpublished container port"));
	TRY(expect_spec_untouched(fd_xdp, &other, "to an address no binding targets"));
	EXPECT_STAT(DROP_DIRECT_ACCESS, 3);
	TRY(expect_dnat(fd_xdp, &s, CTR, 8080, "through the published port"));
	TRY(config_direct_access(true));
	TRY(expect_spec_untouched(fd_xdp, &d, "tcp straight to the container, allowed"));
	TRY(expect_spec_untouched(fd_tc_in, &u, "udp, allowed, tc_ingress"));
	EXPECT_STAT(DROP_DIRECT_ACCESS, 3);
	return true;
}

/*
 * A container on a routed network (no masquerade) opens connections with
 * its own address: the replies come in to that address and pass, once
 * tc_egress saw the container's packet leave; nothing else does.
 */
static bool test_direct_access_outbound_replies_pass(void)
{
	struct pkt_spec out = udp_pkt(REMOTE, 53, 40053), t = tcp_pkt(REMOTE, 443, 40443);
	struct pkt_spec in, tin, stranger;

	spec_addr(&out, false, CTR);
	spec_addr(&t, false, CTR);
	in = reply_to(&out, REMOTE, 53);
	tin = reply_to(&t, REMOTE, 443);
	stranger = in;
	stranger.sport = 54;
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(container_add(CTR));
	TRY(expect_dropped_spec(fd_xdp, &in, "an answer before the container asked"));
	TRY(expect_spec_untouched(fd_tc_out, &out, "the container's query leaves untouched"));
	TRY(expect_spec_untouched(fd_tc_out, &t, "the container's SYN leaves untouched"));
	TRY(expect_spec_untouched(fd_xdp, &in, "the answer"));
	TRY(expect_spec_untouched(fd_tc_in, &tin, "the SYN-ACK, tc_ingress"));
	TRY(expect_dropped_spec(fd_xdp, &stranger, "from another port of that host"));
	return true;
}

/* A binding on 127.0.0.1 stays unreachable from the wire through its
 * IPv4-mapped IPv6 form too, as stored by a CLI that did not unmap it. */
static bool test_loopback_v4mapped_unreachable(void)
{
	struct pkt_spec s = tcp6_pkt("::ffff:127.0.0.1", 80, 55100);

	NEEDS_IPV6();
	TRY(bind_add("::ffff:127.0.0.1", 80, IPPROTO_TCP, CTR6, 8080, SLOT));
	TRY(expect_spec_untouched(fd_xdp, &s, "tcp to [::ffff:127.0.0.1]:80"));
	TRY(expect_spec_untouched(fd_tc_in, &s, "same through tc_ingress"));
	CHECK(ct_count() == 0, "%ld CT entries", ct_count());
	return expect_counters(SLOT, 0, 0, 0, 0);
}

/* ---- tests: monitor events (events.h) ---- */

struct event_sink {
	struct bpfport_event ev[8];
	int n;
};

static int event_collect(void *ctx, void *data, size_t len)
{
	struct event_sink *sink = ctx;

	if (len >= sizeof(struct bpfport_event) && sink->n < 8)
		memcpy(&sink->ev[sink->n++], data, sizeof(struct bpfport_event));
	return 0;
}

static bool config_events(bool on)
{
	struct bpfport_config c;
	__u32 zero = 0;

	CHECK(!bpf_map_lookup_elem(fd_cfg, &zero, &c), "reading config: %s", strerror(errno));
	c.flags = on ? c.flags | BPFPORT_CFG_EVENTS : c.flags & ~BPFPORT_CFG_EVENTS;
	CHECK(!bpf_map_update_elem(fd_cfg, &zero, &c, BPF_ANY), "writing config: %s",
	      strerror(errno));
	return true;
}

/*
 * With the monitor on, a new flow and an allow-list drop each send one event
 * naming the binding, the packet as it arrived and the container endpoint;
 * with it off, nothing is sent; over the per-second budget, events are
 * counted as lost instead.
 */
static bool test_events_new_flow_and_drop(void)
{
	struct pkt_spec s = tcp_pkt(HOST, 80, 55200), o = tcp_pkt(HOST, 81, 55201);
	struct ring_buffer *rb;
	struct event_sink sink = { .n = 0 };
	struct bpfport_addr want;
	__u32 zero = 0;
	bool ok = false;

	spec_addr(&o, false, OUTSIDE);
	TRY(bind_add(HOST, 80, IPPROTO_TCP, CTR, 8080, SLOT));
	TRY(bind_add_flags(HOST, 81, IPPROTO_TCP, CTR, 8081, SLOT + 1, BPFPORT_BIND_ALLOWLIST));
	TRY(allow_add(SLOT + 1, CLIENT));
	rb = ring_buffer__new(bpf_map__fd(skel->maps.bp_events), event_collect, &sink, NULL);
	CHECK(rb, "ring buffer: %s", strerror(errno));
	ring_buffer__consume(rb); /* whatever an earlier test left */
	sink.n = 0;
	if (!expect_dnat(fd_xdp, &s, CTR, 8080, "new flow, monitor off"))
		goto out;
	ring_buffer__consume(rb);
	if (sink.n) {
		snprintf(why, sizeof(why), "%d events with the monitor off", sink.n);
		goto out;
	}
	ct_clear();
	if (!config_events(true) || !expect_dnat(fd_xdp, &s, CTR, 8080, "new flow, monitor on") ||
	    !expect_dnat(fd_xdp, &s, CTR, 8080, "the same flow again") ||
	    !expect_dropped_spec(fd_xdp, &o, "from outside the allow-list"))
		goto out;
	ring_buffer__consume(rb);
	addr_parse(CTR, &want);
	if (sink.n != 2 || sink.ev[0].type != BPFPORT_EV_FLOW_NEW || sink.ev[0].slot != SLOT ||
	    sink.ev[0].sport != htons(55200) || sink.ev[0].dport != htons(80) ||
	    memcmp(&sink.ev[0].xaddr, &want, sizeof(want)) || sink.ev[0].xport != htons(8080) ||
	    sink.ev[0].ifindex != (__u32)lo_ifindex || sink.ev[1].type != BPFPORT_EV_DROP ||
	    sink.ev[1].reason != BPFPORT_STAT_DROP_ALLOWLIST || sink.ev[1].slot != SLOT + 1) {
		snprintf(why, sizeof(why),
			 "events: %d, first type %u slot %u ports %u->%u to :%u, second type %u "
			 "reason %u",
			 sink.n, sink.ev[0].type, sink.ev[0].slot, ntohs(sink.ev[0].sport),
			 ntohs(sink.ev[0].dport), ntohs(sink.ev[0].xport), sink.ev[1].type,
			 sink.ev[1].reason);
		goto out;
	}
	/* This CPU's budget for this second spent: the next event is lost, counted. */
	{
		int ncpu = libbpf_num_possible_cpus();
		struct bpfport_event_budget *b = calloc((size_t)ncpu, sizeof(*b));
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		for (int i = 0; b && i < ncpu; i++) {
			b[i].second = (__u64)now.tv_sec;
			b[i].sent = BPFPORT_EVENTS_PER_SEC;
		}
		if (!b || bpf_map_update_elem(bpf_map__fd(skel->maps.bp_event_budget), &zero, b,
					      BPF_ANY)) {
			free(b);
			snprintf(why, sizeof(why), "setting the budget: %s", strerror(errno));
			goto out;
		}
		free(b);
	}
	sink.n = 0;
	if (!expect_dropped_spec(fd_xdp, &o, "dropped again, budget spent"))
		goto out;
	ring_buffer__consume(rb);
	if (sink.n || stat_get(BPFPORT_STAT_EVENTS_LOST) != 1) {
		snprintf(why, sizeof(why), "over budget: %d events sent, %llu lost", sink.n,
			 (unsigned long long)stat_get(BPFPORT_STAT_EVENTS_LOST));
		goto out;
	}
	ok = true;
out:
	config_events(false);
	ring_buffer__free(rb);
	return ok;
}

/* ---- main ---- */

struct test {
	const char *name;
	bool (*fn)(void);
};

static const struct test tests[] = {
	{ "xdp_tcp_specific_binding_translates", test_xdp_tcp_specific_binding },
	{ "xdp_udp_binding_translates", test_xdp_udp_binding },
	{ "xdp_udp_zero_checksum_stays_zero", test_xdp_udp_zero_csum_stays_zero },
	{ "xdp_udp_checksum_computing_to_zero_sent_as_ffff", test_xdp_udp_csum_zero_becomes_ffff },
	{ "xdp_ip_options_translated_after_options", test_xdp_ip_options },
	{ "xdp_first_fragment_translates", test_xdp_first_fragment_translates },
	{ "xdp_ethernet_padding_preserved", test_xdp_ethernet_padding },
	{ "xdp_wildcard_matches_local_addresses", test_xdp_wildcard_matches_local },
	{ "xdp_wildcard_ignores_routed_nonlocal_address",
	  test_xdp_wildcard_ignores_routed_nonlocal },
	{ "xdp_wildcard_ignores_multicast_and_broadcast",
	  test_xdp_wildcard_ignores_multicast_broadcast },
	{ "xdp_specific_binding_beats_wildcard", test_xdp_specific_binding_beats_wildcard },
	{ "xdp_miss_unbound_port_untouched", test_xdp_miss_unbound_port },
	{ "xdp_miss_wrong_protocol_untouched", test_xdp_miss_wrong_protocol },
	{ "xdp_non_tcp_udp_protocol_untouched", test_xdp_other_l4_protocol_untouched },
	{ "xdp_truncated_every_length_untouched", test_xdp_truncated_every_length },
	{ "xdp_ihl_below_5_untouched", test_xdp_bad_ihl },
	{ "xdp_tot_len_beyond_packet_untouched", test_xdp_bad_tot_len },
	{ "xdp_tot_len_below_ihl_untouched", test_xdp_tot_len_below_ihl },
	{ "xdp_tcp_doff_below_5_untouched", test_xdp_tcp_doff_below_5 },
	{ "xdp_non_ipv4_untouched", test_xdp_non_ipv4 },
	{ "xdp_non_first_fragment_untouched", test_xdp_non_first_fragment },
	{ "xdp_ip_options_without_l4_untouched", test_xdp_options_without_l4 },
	{ "xdp_loopback_binding_unreachable", test_xdp_loopback_binding_unreachable },
	{ "xdp_loopback_destination_never_translated", test_xdp_wildcard_skips_loopback },
	{ "xdp_established_flow_survives_binding_removal",
	  test_xdp_established_flow_survives_unbind },
	{ "ct_notes_fin_and_rst", test_ct_notes_fin_and_rst },
	{ "tc_egress_tcp_reply_translated", test_tc_egress_tcp_reply },
	{ "tc_egress_udp_reply_translated", test_tc_egress_udp_reply },
	{ "tc_egress_unrelated_container_traffic_untouched", test_tc_egress_unknown_client_port },
	{ "tc_egress_ignores_ingress_direction_tuple", test_tc_egress_ignores_ingress_direction },
	{ "two_host_ports_one_container_port_replies_map_back",
	  test_two_host_ports_one_container_port },
	{ "tc_ingress_matches_xdp_tcp", test_tc_ingress_matches_xdp_tcp },
	{ "tc_ingress_matches_xdp_udp", test_tc_ingress_matches_xdp_udp },
	{ "tc_ingress_udp_zero_checksum_stays_zero", test_tc_ingress_udp_zero_csum_stays_zero },
	{ "tc_ingress_udp_checksum_computing_to_zero_sent_as_ffff",
	  test_tc_ingress_udp_csum_zero_becomes_ffff },
	{ "tc_ingress_counts_and_creates_ct", test_tc_ingress_counters_and_ct },
	{ "tc_ingress_truncated_every_length_untouched", test_tc_ingress_truncated_every_length },
	{ "tc_ingress_malformed_untouched", test_tc_ingress_malformed },
	{ "tc_ingress_wildcard_matches_local_address", test_tc_ingress_wildcard_local },
	{ "xdp_partial_tcp_checksum_gets_new_seed", test_xdp_partial_tcp },
	{ "xdp_partial_udp_checksum_gets_new_seed", test_xdp_partial_udp },
	{ "xdp_partial_checksum_with_ip_options", test_xdp_partial_ip_options },
	{ "xdp_partial_checksum_port_change_leaves_seed",
	  test_xdp_partial_port_change_leaves_seed },
	{ "xdp_remap_tcp_client_port_on_reply_clash", test_xdp_remap_tcp_clash },
	{ "xdp_remap_udp_client_port_on_reply_clash", test_xdp_remap_udp_clash },
	{ "xdp_remap_partial_checksum_on_reply_clash", test_xdp_remap_partial_clash },
	{ "tc_ingress_remap_client_port_on_reply_clash", test_tc_ingress_remap_clash },
	{ "xdp_same_flow_reply_entry_not_remapped", test_xdp_same_flow_not_remapped },
	{ "tc_ingress_same_flow_reply_entry_not_remapped", test_tc_ingress_same_flow_not_remapped },
	{ "xdp_remap_same_port_other_host_address", test_xdp_remap_other_host_address },
	{ "xdp_remap_client_port_taken_by_earlier_remap",
	  test_xdp_remap_client_port_taken_by_remap },
	{ "remap_exhausted_flow_untranslated", test_remap_exhausted_untranslated },
	{ "ipv6_xdp_specific_binding_translates", test_ipv6_xdp_specific_binding },
	{ "ipv6_tc_ingress_specific_binding_translates", test_ipv6_tc_ingress_specific_binding },
	{ "ipv6_xdp_wildcard_matches_local_addresses", test_ipv6_xdp_wildcard_matches_local },
	{ "ipv6_tc_ingress_wildcard_matches_local_address",
	  test_ipv6_tc_ingress_wildcard_matches_local },
	{ "ipv6_wildcard_ignores_routed_nonlocal_address",
	  test_ipv6_wildcard_ignores_routed_nonlocal },
	{ "ipv6_wildcard_ignores_multicast", test_ipv6_wildcard_ignores_multicast },
	{ "ipv6_specific_binding_beats_wildcard", test_ipv6_specific_binding_beats_wildcard },
	{ "ipv6_and_ipv4_bindings_do_not_cross", test_ipv6_families_do_not_cross },
	{ "ipv6_loopback_never_translated", test_ipv6_loopback_never_translated },
	{ "ipv6_tc_ingress_matches_xdp", test_ipv6_tc_ingress_matches_xdp },
	{ "ipv6_xdp_udp_checksum_computing_to_zero_sent_as_ffff",
	  test_ipv6_xdp_udp_csum_zero_becomes_ffff },
	{ "ipv6_tc_ingress_udp_checksum_computing_to_zero_sent_as_ffff",
	  test_ipv6_tc_ingress_udp_csum_zero_becomes_ffff },
	{ "ipv6_xdp_partial_checksum_gets_new_seed", test_ipv6_xdp_partial_checksum },
	{ "ipv6_xdp_partial_checksum_port_change_leaves_seed",
	  test_ipv6_xdp_partial_port_change_leaves_seed },
	{ "ipv6_extension_headers_each_kind_translated", test_ipv6_extension_headers_each_kind },
	{ "ipv6_extension_header_chains_translated", test_ipv6_extension_header_chains },
	{ "ipv6_extension_chain_over_max_untouched", test_ipv6_extension_chain_too_long_untouched },
	{ "ipv6_fragments_first_translated_later_untouched", test_ipv6_fragments },
	{ "ipv6_xdp_later_fragments_follow_first", test_ipv6_xdp_later_fragments_follow },
	{ "ipv6_tc_ingress_later_fragments_follow_first",
	  test_ipv6_tc_ingress_later_fragments_follow },
	{ "ipv6_later_fragments_follow_first_with_dest_opts",
	  test_ipv6_later_fragments_follow_with_dest_opts },
	{ "ipv6_xdp_malformed_untouched", test_ipv6_xdp_malformed },
	{ "ipv6_tc_ingress_malformed_untouched", test_ipv6_tc_ingress_malformed },
	{ "ipv6_xdp_truncated_every_length_untouched", test_ipv6_xdp_truncated_every_length },
	{ "ipv6_tc_ingress_truncated_every_length_untouched",
	  test_ipv6_tc_ingress_truncated_every_length },
	{ "ct_expired_ingress_recreated_from_binding",
	  test_ct_expired_ingress_recreated_from_binding },
	{ "ct_expired_ingress_tc_ingress", test_ct_expired_ingress_tc },
	{ "ct_expired_reply_not_used", test_ct_expired_reply_not_used },
	{ "ct_fin_rst_select_close_and_rst_timeouts", test_ct_fin_rst_select_timeouts },
	{ "ct_fin_then_rst_uses_rst_timeout", test_ct_fin_then_rst_uses_rst_timeout },
	{ "ct_udp_uses_udp_timeout", test_ct_udp_uses_udp_timeout },
	{ "ct_ipv6_expiry", test_ct_ipv6_expiry },
	{ "ct_timeout_zero_never_expires", test_ct_timeout_zero_never_expires },
	{ "ct_expired_reply_entry_taken_over_without_remap",
	  test_ct_expired_reply_entry_taken_over },
	{ "ct_one_way_traffic_keeps_reply_entry_alive", test_ct_one_way_traffic_keeps_reply_alive },
	{ "ct_entry_touched_after_clock_read_not_expired",
	  test_ct_entry_touched_after_clock_read_not_expired },
	{ "unpublished_port_skips_flow_and_binding", test_unpublished_port_skips_lookups },
	{ "published_bits_per_port_family_protocol", test_published_bits_per_port_family_proto },
	{ "ct_lost_reply_entry_restored_xdp", test_ct_lost_reply_restored_xdp },
	{ "ct_lost_reply_entry_restored_tc_ingress", test_ct_lost_reply_restored_tc },
	{ "ct_lost_entries_of_remapped_flow_restored_keep_port",
	  test_ct_lost_entries_of_remapped_flow_restored },
	{ "ct_restore_never_overwrites_another_flow", test_ct_restore_never_overwrites },
	{ "ct_syn_clears_fin_rst_of_previous_connection", test_ct_syn_clears_close_flags },
	{ "ct_non_syn_not_admitted", test_ct_non_syn_not_admitted },
	{ "ct_handshake_assures_flow", test_ct_handshake_assures_flow },
	{ "ct_udp_stream_assures_flow", test_ct_udp_stream_assures_flow },
	{ "ct_closed_flow_retired", test_ct_closed_flow_retired },
	{ "ct_foreign_synack_untouched", test_ct_foreign_synack_untouched },
	{ "ct_rst_fin_outside_window_ignored", test_ct_rst_fin_outside_window_ignored },
	{ "ct_syn_restarts_only_closed_flows", test_ct_syn_restarts_only_closed_flows },
	{ "ct_direct_syn_releases_closed_published_flow", test_ct_direct_after_published },
	{ "ct_published_after_direct_remapped", test_ct_published_after_direct_remapped },
	{ "ct_restart_keeps_container_side_port", test_ct_restart_keeps_remapped_port },
	{ "ct_stale_generation_not_translated", test_ct_stale_generation_not_translated },
	{ "ct_syn_flood_spares_assured_flows", test_ct_syn_flood_spares_assured },
	{ "allow_xdp_admits_listed_drops_others", test_allow_xdp_admits_listed_drops_others },
	{ "allow_tc_ingress_admits_listed_drops_others",
	  test_allow_tc_ingress_admits_listed_drops_others },
	{ "allow_empty_list_drops_all", test_allow_empty_list_drops_all },
	{ "allow_without_flag_admits_all", test_allow_without_flag_admits_all },
	{ "allow_established_flow_not_rechecked", test_allow_established_flow_not_rechecked },
	{ "allow_longest_prefix_per_slot", test_allow_longest_prefix_per_slot },
	{ "allow_ipv6_prefixes", test_allow_ipv6_prefixes },
	{ "direct_access_dropped_by_default", test_direct_access_dropped_by_default },
	{ "direct_access_outbound_replies_pass", test_direct_access_outbound_replies_pass },
	{ "loopback_v4mapped_unreachable", test_loopback_v4mapped_unreachable },
	{ "events_new_flow_and_drop", test_events_new_flow_and_drop },
};

int main(void)
{
	size_t i;
	int failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP datapath: needs root (BPF and a private network namespace)\n");
		return 0;
	}
	if (!setup_netns()) {
		printf("FAIL datapath_setup: %s\n", why);
		return 1;
	}
	if (!load_skeleton()) {
		fputs(harness_libbpf_log(), stderr);
		printf("FAIL datapath_load: %s\n", why);
		bpfport__destroy(skel);
		return 1;
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		maps_reset();
		why[0] = skip_why[0] = '\0';
		if (!tests[i].fn()) {
			printf("FAIL %s: %s\n", tests[i].name, why);
			failed++;
		} else if (skip_why[0]) {
			printf("SKIP %s: %s\n", tests[i].name, skip_why);
		} else {
			printf("PASS %s\n", tests[i].name);
		}
	}
	bpfport__destroy(skel);
	return failed ? 1 : 0;
}
