// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ICMP error and IP fragment translation through BPF_PROG_TEST_RUN, in a
 * private network namespace set up as tests/datapath does. Outputs are
 * compared byte for byte with packets built independently (pkt.c,
 * icmp_pkt.c), every checksum recomputed from scratch. Prints
 * "PASS icmp/name" or "FAIL icmp/name: why" per test; exits non-zero if any
 * test failed.
 *
 * An error about a flow is checked against the flow's own packets: the
 * container's error about a client packet, once translated, must quote that
 * packet exactly as the client sent it; an error about a reply the client
 * received must reach the container quoting the reply as the container sent it.
 *
 * Every test starts from empty maps and zero counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/types.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfport.h"
#include "bpfport.skel.h"
#include "icmp_pkt.h"
#include "harness.h"
#include "published.h"
#include "pkt.h"

#define TC_ACT_UNSPEC (-1)
#define SLOT 3

/* One family's addresses and ICMP numbers. */
struct fam {
	bool v6;
	const char *host; /* published address, local on lo */
	const char *ctr; /* container */
	const char *client;
	const char *crouter; /* a router on the container's side */
	const char *nrouter; /* a router on the client's side */
	uint8_t unreach, port_code; /* destination unreachable, port unreachable */
	uint8_t big, big_code; /* fragmentation needed / packet too big */
	uint32_t big_rest; /* header bytes 4-7 carrying the MTU */
	uint8_t time_exceeded, param_problem, echo_request, echo_reply;
	size_t ip_len; /* IP header length of the quotes */
};

static const struct fam F4 = {
	.host = "192.0.2.1",
	.ctr = "198.51.100.8",
	.client = "203.0.113.7",
	.crouter = "198.51.100.1",
	.nrouter = "203.0.113.254",
	.unreach = 3,
	.port_code = 3,
	.big = 3,
	.big_code = 4,
	.big_rest = 1400,
	.time_exceeded = 11,
	.param_problem = 12,
	.echo_request = 8,
	.echo_reply = 0,
	.ip_len = 20,
};
static const struct fam F6 = {
	.v6 = true,
	.host = "2001:db8:1::1",
	.ctr = "fd00:c::8",
	.client = "2001:db8:c::7",
	.crouter = "fd00:c::1",
	.nrouter = "2001:db8:c::fe",
	.unreach = 1,
	.port_code = 4,
	.big = 2,
	.big_code = 0,
	.big_rest = 1280,
	.time_exceeded = 3,
	.param_problem = 4,
	.echo_request = 128,
	.echo_reply = 129,
	.ip_len = 40,
};
static const struct fam *const FAMS[] = { &F4, &F6 };

/* Tests written for one family, run as two: name_ipv4 and name_ipv6. */
#define PER_FAM(fn)                 \
	static bool fn##_ipv4(void) \
	{                           \
		return fn(&F4);     \
	}                           \
	static bool fn##_ipv6(void) \
	{                           \
		return fn(&F6);     \
	}
#define FOR_FAM(f) \
	for (const struct fam *const *f##_ = FAMS, *f; f##_ < FAMS + 2 && (f = *f##_); f##_++)

static struct bpfport *skel;
static int fd_xdp, fd_tc_in, fd_tc_out;
static int fd_bind, fd_ct, fd_ct_new, fd_cnt, fd_cfg, fd_frags, fd_published, fd_containers;
static char why[2048];

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

/* ---- setup, as tests/datapath/test_datapath.c ---- */

static bool setup_netns(void)
{
	CHECK(!unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET): %s", strerror(errno));
	CHECK(harness_write_file("/proc/sys/net/ipv4/ip_forward", "1"), "ip_forward: %s",
	      strerror(errno));
	CHECK(harness_write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1") &&
		      harness_write_file("/proc/sys/net/ipv6/conf/default/forwarding", "1"),
	      "IPv6 forwarding: %s", strerror(errno));
	CHECK(!system("ip link set lo up && ip addr add 192.0.2.1/32 dev lo &&"
		      " ip -6 addr add 2001:db8:1::1/128 dev lo nodad"),
	      "could not set up lo");
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
	fd_cnt = bpf_map__fd(skel->maps.bp_counters);
	fd_cfg = bpf_map__fd(skel->maps.bp_config);
	fd_frags = bpf_map__fd(skel->maps.bp_frags);
	fd_published = bpf_map__fd(skel->maps.bp_published);
	fd_containers = bpf_map__fd(skel->maps.bp_containers);
	return true;
}

static size_t counters_stride(void)
{
	return (sizeof(struct bpfport_counters) + 7) & ~(size_t)7;
}

static void map_clear(int fd, void *key)
{
	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			break;
}

static void maps_reset(void)
{
	struct bpfport_config c = { .abi_version = BPFPORT_ABI_VERSION,
				    .ct_timeout_tcp = BPFPORT_CT_TIMEOUT_TCP,
				    .ct_timeout_tcp_close = BPFPORT_CT_TIMEOUT_TCP_CLOSE,
				    .ct_timeout_tcp_rst = BPFPORT_CT_TIMEOUT_TCP_RST,
				    .ct_timeout_udp = BPFPORT_CT_TIMEOUT_UDP };
	void *zero = calloc((size_t)libbpf_num_possible_cpus(), counters_stride());
	__u32 slot = 0;

	map_clear(fd_bind, &(struct bpfport_bind_key){});
	map_clear(fd_ct, &(struct bpfport_ct_key){});
	map_clear(fd_ct_new, &(struct bpfport_ct_key){});
	map_clear(fd_frags, &(struct bpfport_frag_key){});
	map_clear(fd_containers, &(struct bpfport_container_key){});
	harness_unpublish_all(fd_published);
	bpf_map_update_elem(fd_cfg, &slot, &c, BPF_ANY);
	for (slot = 0; slot < 16 && zero; slot++)
		bpf_map_update_elem(fd_cnt, &slot, zero, BPF_ANY);
	free(zero);
}

/* ---- maps ---- */

static __u8 addr_parse(const char *text, struct bpfport_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (strchr(text, ':')) {
		pkt_ip6(text, (uint8_t *)a->a);
		return BPFPORT_AF_INET6;
	}
	a->a[0] = pkt_ip(text);
	return BPFPORT_AF_INET;
}

static bool bind_add(const char *host, uint16_t hport, uint8_t proto, const char *ctr,
		     uint16_t cport)
{
	struct bpfport_bind_key k = { .host_port = htons(hport), .proto = proto };
	struct bpfport_bind_val v = { .container_port = htons(cport), .slot = SLOT };

	k.family = addr_parse(host, &k.host_addr);
	addr_parse(ctr, &v.container_addr);
	CHECK(!bpf_map_update_elem(fd_bind, &k, &v, BPF_ANY), "adding binding: %s",
	      strerror(errno));
	CHECK(!published_set(fd_published, k.family, proto, hport, true), "publishing: %s",
	      strerror(errno));
	return true;
}

static void spec_addrs(const struct pkt_spec *s, struct bpfport_addr *sa, struct bpfport_addr *da)
{
	memset(sa, 0, sizeof(*sa));
	memset(da, 0, sizeof(*da));
	if (s->v6) {
		memcpy(sa->a, s->saddr6, 16);
		memcpy(da->a, s->daddr6, 16);
	} else {
		sa->a[0] = s->saddr;
		da->a[0] = s->daddr;
	}
}

static bool ct_get(const struct pkt_spec *s, __u8 dir, struct bpfport_ct_val *v)
{
	struct bpfport_ct_key k = { .sport = htons(s->sport),
				    .dport = htons(s->dport),
				    .family = s->v6 ? BPFPORT_AF_INET6 : BPFPORT_AF_INET,
				    .proto = s->proto,
				    .dir = dir };

	spec_addrs(s, &k.saddr, &k.daddr);
	/* Assured or not: either table. */
	CHECK(!bpf_map_lookup_elem(fd_ct, &k, v) || !bpf_map_lookup_elem(fd_ct_new, &k, v),
	      "no %s CT entry for :%u -> :%u", dir == BPFPORT_CT_INGRESS ? "ingress" : "reply",
	      s->sport, s->dport);
	return true;
}

static long frags_count(void)
{
	struct bpfport_frag_key k, next;
	long n;

	if (bpf_map_get_next_key(fd_frags, NULL, &k))
		return 0;
	for (n = 1; !bpf_map_get_next_key(fd_frags, &k, &next); n++)
		k = next;
	return n;
}

/* The bp_frags entry of the datagram s (as on the wire) with ID id must say addr. */
static bool expect_frag_entry(const struct pkt_spec *s, uint32_t id, __u8 dir, const char *addr)
{
	struct bpfport_frag_key k = { .family = s->v6 ? BPFPORT_AF_INET6 : BPFPORT_AF_INET,
				      .proto = s->proto,
				      .dir = dir };
	struct bpfport_frag_val v;
	struct bpfport_addr want;

	/* The ID as the header carries it, read as a native integer. */
	k.id = s->v6 ? htonl(id) : htons((uint16_t)id);
	spec_addrs(s, &k.saddr, &k.daddr);
	addr_parse(addr, &want);
	CHECK(!bpf_map_lookup_elem(fd_frags, &k, &v),
	      "no bp_frags entry for ID 0x%x, proto %u, dir %u (%ld entries)", id, s->proto, dir,
	      frags_count());
	CHECK(!memcmp(&v.addr, &want, sizeof(want)),
	      "bp_frags entry holds another address, want %s", addr);
	CHECK(v.slot == SLOT, "bp_frags entry slot %u, want %u", v.slot, SLOT);
	return true;
}

static bool expect_counters(__u64 rx_p, __u64 rx_b, __u64 tx_p, __u64 tx_b)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	uint8_t *vals = calloc((size_t)ncpu, counters_stride());
	struct bpfport_counters s = { 0 };
	__u32 slot = SLOT;
	int err;

	CHECK(vals, "out of memory");
	err = bpf_map_lookup_elem(fd_cnt, &slot, vals);
	for (i = 0; !err && i < ncpu; i++) {
		const struct bpfport_counters *c = (void *)(vals + (size_t)i * counters_stride());

		s.rx_packets += c->rx_packets;
		s.rx_bytes += c->rx_bytes;
		s.tx_packets += c->tx_packets;
		s.tx_bytes += c->tx_bytes;
	}
	free(vals);
	CHECK(!err, "counters lookup: %s", strerror(errno));
	CHECK(s.rx_packets == rx_p && s.rx_bytes == rx_b && s.tx_packets == tx_p &&
		      s.tx_bytes == tx_b,
	      "counters rx %llu/%llu tx %llu/%llu (packets/bytes), want rx %llu/%llu tx %llu/%llu",
	      (unsigned long long)s.rx_packets, (unsigned long long)s.rx_bytes,
	      (unsigned long long)s.tx_packets, (unsigned long long)s.tx_bytes,
	      (unsigned long long)rx_p, (unsigned long long)rx_b, (unsigned long long)tx_p,
	      (unsigned long long)tx_b);
	return true;
}

/* ---- running packets ---- */

struct run {
	uint8_t out[ICMP_PKT_MAX];
	size_t len;
	int retval;
};

static const char *prog_name(int fd)
{
	return fd == fd_xdp ? "xdp_ingress" : fd == fd_tc_in ? "tc_ingress" : "tc_egress";
}

static int run_raw(int fd, const uint8_t *in, size_t len, struct run *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .repeat = 1);

	memset(r->out, 0, sizeof(r->out));
	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	r->len = opts.data_size_out;
	r->retval = (int)opts.retval;
	return 0;
}

static bool run_prog(int fd, const uint8_t *in, size_t len, struct run *r, const char *what)
{
	int err = run_raw(fd, in, len, r), want = fd == fd_xdp ? XDP_PASS : TC_ACT_UNSPEC;

	CHECK(!err, "%s: %s test run failed: %s", what, prog_name(fd), strerror(-err));
	CHECK(r->retval == want, "%s: %s returned %d, want %d", what, prog_name(fd), r->retval,
	      want);
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

static bool expect_untouched(int fd, const uint8_t *in, size_t len, const char *what)
{
	struct run r;

	TRY(run_prog(fd, in, len, &r, what));
	return same_bytes(r.out, r.len, in, len, what);
}

/* An ICMP packet out equal to want, with every checksum right. */
static bool expect_icmp(int fd, const uint8_t *in, size_t len, const uint8_t *want, size_t wlen,
			const char *what)
{
	char bad[300];
	struct run r;

	CHECK(icmp_verify(want, wlen, bad, sizeof(bad)), "test bug: %s: expected packet: %s", what,
	      bad);
	TRY(run_prog(fd, in, len, &r, what));
	TRY(same_bytes(r.out, r.len, want, wlen, what));
	CHECK(icmp_verify(r.out, r.len, bad, sizeof(bad)), "%s: %s", what, bad);
	return true;
}

/* A TCP/UDP packet or fragment out equal to want, its IPv4 header checksum right. */
static bool expect_frag(int fd, const uint8_t *in, size_t len, const uint8_t *want, size_t wlen,
			const char *what)
{
	struct run r;

	TRY(run_prog(fd, in, len, &r, what));
	TRY(same_bytes(r.out, r.len, want, wlen, what));
	CHECK(pkt_is_v6(r.out) || pkt_get16(r.out, PKT_ETH_LEN + 10) == pkt_ip_csum(r.out),
	      "%s: IP checksum 0x%04x, recomputed 0x%04x", what, pkt_get16(r.out, PKT_ETH_LEN + 10),
	      pkt_ip_csum(r.out));
	return true;
}

/* ---- packets of a flow ---- */

static void spec_addr(struct pkt_spec *s, bool dst, const char *addr)
{
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

/* The client's packet to the published endpoint :dport; TCP: a SYN, the
 * only packet that opens a flow (sent again, a retransmission of it). */
static struct pkt_spec spec(const struct fam *f, uint8_t proto, uint16_t dport, uint16_t sport)
{
	struct pkt_spec s = { .proto = proto, .v6 = f->v6, .sport = sport, .dport = dport };

	if (proto == IPPROTO_TCP)
		s.tcp_flags = 0x02;
	s.payload_len = proto == IPPROTO_TCP ? 32 : 21; /* odd: the checksum's last byte */
	spec_addr(&s, false, f->client);
	spec_addr(&s, true, f->host);
	return s;
}

/* A flow's four packets: the client's as sent (c) and as the container gets
 * it (ct), the container's reply as sent (r) and as the client gets it (rp). */
struct flow {
	const struct fam *f;
	struct pkt_spec c, ct, r, rp;
};

/* Open the flow of client packet c (to a bound port) through fd, and check
 * both directions; a remapped client port is taken from conntrack. */
static bool flow_open(struct flow *fl, const struct fam *f, int fd, const struct pkt_spec *c,
		      uint16_t cport)
{
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct bpfport_ct_val v;
	size_t len, wlen;
	struct run r;

	fl->f = f;
	fl->c = *c;
	len = pkt_build(in, c);
	TRY(run_prog(fd, in, len, &r, "client packet opening the flow"));
	TRY(ct_get(c, BPFPORT_CT_INGRESS, &v));
	fl->ct = with_dst(c, f->ctr, cport);
	if (v.nat_port)
		fl->ct.sport = ntohs(v.nat_port);
	wlen = pkt_build(want, &fl->ct);
	TRY(same_bytes(r.out, r.len, want, wlen, "client packet opening the flow"));

	fl->r = with_src(&fl->ct, f->ctr, cport);
	spec_addr(&fl->r, true, f->client);
	fl->r.dport = fl->ct.sport;
	fl->r.payload_len = 17;
	fl->rp = with_src(&fl->r, f->host, c->dport);
	fl->rp.dport = c->sport;
	len = pkt_build(in, &fl->r);
	wlen = pkt_build(want, &fl->rp);
	return expect_frag(fd_tc_out, in, len, want, wlen, "the container's reply");
}

/* Bind host:hport -> ctr:cport and open a flow from client port sport. */
static bool bind_flow(struct flow *fl, const struct fam *f, int fd, uint8_t proto, uint16_t hport,
		      uint16_t cport, uint16_t sport)
{
	struct pkt_spec c = spec(f, proto, hport, sport);

	TRY(bind_add(f->host, hport, proto, f->ctr, cport));
	return flow_open(fl, f, fd, &c, cport);
}

/* ---- ICMP errors ---- */

struct err {
	const char *src, *dst;
	uint8_t type, code;
	uint32_t rest;
	size_t qlen; /* bytes of the datagram quoted; 0: all of it */
	bool dest_opts; /* IPv6: a destination options header before ICMPv6 */
	uint8_t opt_words; /* IPv4: 32-bit words of options in the outer header */
};

static size_t err_raw(uint8_t *buf, bool v6, const struct err *e, const uint8_t *q, size_t qlen,
		      const uint8_t *trailer, size_t tlen)
{
	struct icmp_spec s = { .v6 = v6,
			       .type = e->type,
			       .code = e->code,
			       .rest = e->rest,
			       .quote = q,
			       .quote_len = qlen,
			       .dest_opts = e->dest_opts,
			       .trailer = trailer,
			       .trailer_len = tlen,
			       .icmp_len = -1,
			       .ip_opt_words = e->opt_words };

	if (v6) {
		pkt_ip6(e->src, s.saddr6);
		pkt_ip6(e->dst, s.daddr6);
	} else {
		s.saddr = pkt_ip(e->src);
		s.daddr = pkt_ip(e->dst);
	}
	return icmp_build(buf, &s);
}

/* The IP datagram of the packet built from s, in q; its length. */
static size_t datagram(uint8_t *q, const struct pkt_spec *s)
{
	uint8_t b[PKT_MAX];
	size_t len = pkt_build(b, s) - PKT_ETH_LEN;

	memcpy(q, b + PKT_ETH_LEN, len);
	return len;
}

static size_t err_build(uint8_t *buf, const struct err *e, const struct pkt_spec *q)
{
	uint8_t d[PKT_MAX];
	size_t len = datagram(d, q);

	return err_raw(buf, q->v6, e, d, e->qlen && e->qlen < len ? e->qlen : len, NULL, 0);
}

/* Error e quoting q comes out from src to dst, quoting w instead. */
static bool expect_err(int fd, const struct err *e, const struct pkt_spec *q, const char *src,
		       const char *dst, const struct pkt_spec *w, const char *what)
{
	uint8_t in[ICMP_PKT_MAX], want[ICMP_PKT_MAX];
	struct err we = *e;
	size_t len = err_build(in, e, q), wlen;

	we.src = src;
	we.dst = dst;
	wlen = err_build(want, &we, w);
	return expect_icmp(fd, in, len, want, wlen, what);
}

static bool expect_err_untouched(int fd, const struct err *e, const struct pkt_spec *q,
				 const char *what)
{
	uint8_t in[ICMP_PKT_MAX];
	size_t len = err_build(in, e, q);

	return expect_untouched(fd, in, len, what);
}

/* An error from src (the container: it becomes the published address) to the
 * client about the client's packet, on egress. */
static bool check_reply_err(const struct flow *fl, const char *src, uint8_t type, uint8_t code,
			    uint32_t rest, size_t qlen, const char *what)
{
	const struct fam *f = fl->f;
	struct err e = { src, f->client, type, code, rest, qlen, false };
	const char *wsrc = strcmp(src, f->ctr) ? src : f->host;
	char w[200];

	snprintf(w, sizeof(w), "%s: %s, type %u code %u, %s quoted", f->v6 ? "ipv6" : "ipv4", what,
		 type, code, qlen ? "part" : "all");
	return expect_err(fd_tc_out, &e, &fl->ct, wsrc, f->client, &fl->c, w);
}

/* An error from src to the published address about the reply, on ingress:
 * it goes to the container, quoting the reply as the container sent it. */
static bool check_ingress_err(int fd, const struct flow *fl, const char *src, uint8_t type,
			      uint8_t code, uint32_t rest, size_t qlen, const char *what)
{
	const struct fam *f = fl->f;
	struct err e = { src, f->host, type, code, rest, qlen, false };
	char w[200];

	snprintf(w, sizeof(w), "%s: %s via %s, type %u code %u, %s quoted", f->v6 ? "ipv6" : "ipv4",
		 what, prog_name(fd), type, code, qlen ? "part" : "all");
	return expect_err(fd, &e, &fl->rp, src, f->ctr, &fl->r, w);
}

/* ---- A1: errors about the client's packets, on egress ---- */

static bool test_reply_udp(void)
{
	FOR_FAM(f)
	{
		struct flow fl;
		size_t ip = f->ip_len;

		TRY(bind_flow(&fl, f, fd_xdp, IPPROTO_UDP, 53, 5353, 40000));
		TRY(check_reply_err(&fl, f->ctr, f->unreach, f->port_code, 0, ip + 8,
				    "port unreachable, 8 bytes"));
		TRY(check_reply_err(&fl, f->ctr, f->unreach, f->port_code, 0, ip + 8 + 10,
				    "port unreachable, 10 bytes of payload"));
		TRY(check_reply_err(&fl, f->ctr, f->unreach, f->port_code, 0, 0,
				    "port unreachable, whole datagram"));
		TRY(check_reply_err(&fl, f->ctr, f->big, f->big_code, f->big_rest, 0,
				    "too big from the container"));
		maps_reset();
	}
	return true;
}

/* A router's error keeps its source; only the quote changes. */
static bool test_reply_router_source_kept(void)
{
	FOR_FAM(f)
	{
		struct flow fl;
		size_t ip = f->ip_len;

		TRY(bind_flow(&fl, f, fd_xdp, IPPROTO_UDP, 53, 5353, 40001));
		TRY(check_reply_err(&fl, f->crouter, f->unreach, 1, 0, ip + 8,
				    "unreachable, code 1"));
		TRY(check_reply_err(&fl, f->crouter, f->big, f->big_code, f->big_rest, 0,
				    "too big"));
		TRY(check_reply_err(&fl, f->crouter, f->time_exceeded, 0, 0, 0, "time exceeded"));
		TRY(check_reply_err(&fl, f->crouter, f->param_problem, 0, f->v6 ? 6 : 0x09000000, 0,
				    "parameter problem"));
		maps_reset();
	}
	return true;
}

/* A quote of 8 bytes stops before TCP's checksum; 18 or more hold it. */
static bool test_reply_tcp(void)
{
	FOR_FAM(f)
	{
		static const size_t q[] = { 8, 18, 20, 0 };
		struct flow fl;
		size_t i;

		TRY(bind_flow(&fl, f, fd_xdp, IPPROTO_TCP, 80, 8080, 40002));
		for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
			char w[64];

			snprintf(w, sizeof(w), "tcp, %zu bytes of TCP", q[i] ? q[i] : 52);
			TRY(check_reply_err(&fl, f->ctr, f->unreach, f->port_code, 0,
					    q[i] ? f->ip_len + q[i] : 0, w));
			TRY(check_reply_err(&fl, f->crouter, f->big, f->big_code, f->big_rest,
					    q[i] ? f->ip_len + q[i] : 0, w));
		}
		maps_reset();
	}
	return true;
}

/* A UDP checksum of 0 (none) in the quote stays 0. */
static bool test_reply_udp_no_checksum(void)
{
	struct pkt_spec c = spec(&F4, IPPROTO_UDP, 53, 40003);
	struct flow fl;

	c.udp_no_csum = true;
	TRY(bind_add(F4.host, 53, IPPROTO_UDP, F4.ctr, 5353));
	TRY(flow_open(&fl, &F4, fd_xdp, &c, 5353));
	TRY(check_reply_err(&fl, F4.ctr, 3, 3, 0, 28, "no UDP checksum, 8 bytes"));
	return check_reply_err(&fl, F4.ctr, 3, 3, 0, 0, "no UDP checksum, whole datagram");
}

/* The quoted header's options move the ports; they stay as they are. */
static bool test_reply_quote_ip_options(void)
{
	struct pkt_spec c = spec(&F4, IPPROTO_UDP, 53, 40004),
			t = spec(&F4, IPPROTO_TCP, 80, 40004);
	struct flow fl, ft;

	c.ip_opt_words = 3;
	t.ip_opt_words = 10;
	TRY(bind_add(F4.host, 53, IPPROTO_UDP, F4.ctr, 5353));
	TRY(bind_add(F4.host, 80, IPPROTO_TCP, F4.ctr, 8080));
	TRY(flow_open(&fl, &F4, fd_xdp, &c, 5353));
	TRY(flow_open(&ft, &F4, fd_xdp, &t, 8080));
	TRY(check_reply_err(&fl, F4.ctr, 3, 3, 0, 32 + 8, "udp, quote with 12 bytes of options"));
	TRY(check_reply_err(&fl, F4.ctr, 3, 3, 0, 0, "udp, whole datagram with options"));
	TRY(check_reply_err(&ft, F4.ctr, 3, 3, 0, 60 + 8, "tcp, quote with 40 bytes of options"));
	TRY(check_ingress_err(fd_xdp, &ft, F4.nrouter, 3, 4, 1400, 0, "tcp, options"));
	return check_ingress_err(fd_tc_in, &fl, F4.nrouter, 3, 4, 1400, 60 + 8, "udp, options");
}

/*
 * A quoted UDP checksum that comes out as 0 must be sent as 0xffff, as the
 * client did (RFC 768: 0 means no checksum): find a client port whose packet
 * to the published endpoint has a checksum computing to 0.
 */
static bool check_quote_checksum_zero_as_ffff(const struct fam *f)
{
	struct pkt_spec c = spec(f, IPPROTO_UDP, 53, 0);
	uint8_t b[PKT_MAX];
	struct flow fl;
	uint32_t p;

	for (p = 1024; p < 65536; p++) {
		c.sport = (uint16_t)p;
		pkt_build(b, &c);
		if (pkt_l4_csum(b) == 0)
			break;
	}
	CHECK(p < 65536, "test bug: no client port gives a UDP checksum of 0");
	CHECK(pkt_get16(b, pkt_l4_csum_field(b)) == 0xffff, "test bug: not sent as 0xffff");
	TRY(bind_add(f->host, 53, IPPROTO_UDP, f->ctr, 5353));
	TRY(flow_open(&fl, f, fd_xdp, &c, 5353));
	TRY(check_reply_err(&fl, f->ctr, f->unreach, f->port_code, 0, f->ip_len + 8,
			    "client checksum 0xffff (computed 0)"));
	return check_reply_err(&fl, f->ctr, f->unreach, f->port_code, 0, 0,
			       "client checksum 0xffff (computed 0)");
}
PER_FAM(check_quote_checksum_zero_as_ffff)

/* A quoted IPv4 first fragment is translated; a quoted later fragment is
 * not. (IPv6 quotes with a Fragment header are not walked at all: see
 * quote_bad_header_untouched.) */
static bool test_reply_quote_fragments(void)
{
	struct pkt_spec c = spec(&F4, IPPROTO_UDP, 53, 40005), ctp, cp;
	uint8_t d[PKT_MAX], q[ICMP_PKT_MAX], wq[ICMP_PKT_MAX];
	uint8_t in[ICMP_PKT_MAX], want[ICMP_PKT_MAX];
	struct err e = { F4.ctr, F4.client, 3, 3, 0, 0, false }, we = e;
	size_t ql, wql, len, wlen;
	struct flow fl;

	we.src = F4.host;
	TRY(bind_add(F4.host, 53, IPPROTO_UDP, F4.ctr, 5353));
	TRY(flow_open(&fl, &F4, fd_xdp, &c, 5353));
	ctp = fl.ct;
	cp = fl.c;
	ctp.payload_len = cp.payload_len = 100;
	pkt_build(d, &ctp);
	ql = frag_build(q, d, 0, 40, true, 0x5151) - PKT_ETH_LEN;
	pkt_build(d, &cp);
	wql = frag_build(wq, d, 0, 40, true, 0x5151) - PKT_ETH_LEN;
	len = err_raw(in, false, &e, q + PKT_ETH_LEN, ql, NULL, 0);
	wlen = err_raw(want, false, &we, wq + PKT_ETH_LEN, wql, NULL, 0);
	TRY(expect_icmp(fd_tc_out, in, len, want, wlen, "quote of a first fragment"));

	pkt_build(d, &ctp);
	ql = frag_build(q, d, 40, 80, true, 0x5151) - PKT_ETH_LEN;
	len = err_raw(in, false, &e, q + PKT_ETH_LEN, ql, NULL, 0);
	return expect_untouched(fd_tc_out, in, len, "quote of a later fragment");
}

/* ---- A2: errors about the replies, on ingress ---- */

static bool check_ingress(int fd)
{
	FOR_FAM(f)
	{
		struct flow fu, ft;
		size_t ip = f->ip_len;

		TRY(bind_flow(&fu, f, fd, IPPROTO_UDP, 53, 5353, 40010));
		TRY(bind_flow(&ft, f, fd, IPPROTO_TCP, 80, 8080, 40010));
		TRY(check_ingress_err(fd, &fu, f->nrouter, f->big, f->big_code, f->big_rest, ip + 8,
				      "udp reply too big"));
		TRY(check_ingress_err(fd, &fu, f->nrouter, f->big, f->big_code, f->big_rest, 0,
				      "udp reply too big"));
		TRY(check_ingress_err(fd, &fu, f->client, f->unreach, f->port_code, 0, 0,
				      "udp reply to a closed client port"));
		TRY(check_ingress_err(fd, &fu, f->nrouter, f->time_exceeded, 0, 0, ip + 12,
				      "udp reply time exceeded"));
		TRY(check_ingress_err(fd, &ft, f->nrouter, f->big, f->big_code, f->big_rest, ip + 8,
				      "tcp reply too big"));
		TRY(check_ingress_err(fd, &ft, f->nrouter, f->big, f->big_code, f->big_rest,
				      ip + 20, "tcp reply too big"));
		TRY(check_ingress_err(fd, &ft, f->nrouter, f->big, f->big_code, f->big_rest, 0,
				      "tcp reply too big"));
		maps_reset();
	}
	return true;
}

static bool test_ingress_xdp(void)
{
	return check_ingress(fd_xdp);
}

static bool test_ingress_tc(void)
{
	return check_ingress(fd_tc_in);
}

/* ICMPv6 after a destination options header: found, and its checksum right. */
static bool test_ipv6_outer_extension_header(void)
{
	struct err e = { F6.nrouter, F6.host, 2, 0, 1280, 0, true };
	struct err r = { F6.ctr, F6.client, 1, 4, 0, 48, true };
	struct flow fl;

	TRY(bind_flow(&fl, &F6, fd_xdp, IPPROTO_UDP, 53, 5353, 40020));
	TRY(expect_err(fd_xdp, &e, &fl.rp, F6.nrouter, F6.ctr, &fl.r, "ingress, xdp"));
	TRY(expect_err(fd_tc_in, &e, &fl.rp, F6.nrouter, F6.ctr, &fl.r, "ingress, tc"));
	return expect_err(fd_tc_out, &r, &fl.ct, F6.host, F6.client, &fl.c, "egress");
}

/* ---- A3: remapped client ports ---- */

/*
 * host:53 and host:54 both publish ctr:5353, and one client port reaches
 * both: the second flow's client port is remapped to N on the way in. The
 * container's errors quote N, the client must see its own port; errors about
 * the second flow's replies must reach the container quoting N.
 */
static bool check_remap(uint8_t proto)
{
	FOR_FAM(f)
	{
		struct flow a, b;
		char w[80];

		TRY(bind_flow(&a, f, fd_xdp, proto, 53, 5353, 40030));
		TRY(bind_flow(&b, f, fd_xdp, proto, 54, 5353, 40030));
		CHECK(a.ct.sport == 40030, "first flow remapped to %u", a.ct.sport);
		CHECK(b.ct.sport != 40030, "second flow not remapped");
		snprintf(w, sizeof(w), "remapped flow (N = %u)", b.ct.sport);
		TRY(check_reply_err(&b, f->ctr, f->unreach, f->port_code, 0, f->ip_len + 8, w));
		TRY(check_reply_err(&b, f->crouter, f->big, f->big_code, f->big_rest, 0, w));
		TRY(check_reply_err(&a, f->ctr, f->unreach, f->port_code, 0, 0, "first flow"));
		TRY(check_ingress_err(fd_xdp, &b, f->nrouter, f->big, f->big_code, f->big_rest, 0,
				      w));
		TRY(check_ingress_err(fd_tc_in, &b, f->nrouter, f->big, f->big_code, f->big_rest,
				      f->ip_len + 8, w));
		TRY(check_ingress_err(fd_xdp, &a, f->nrouter, f->big, f->big_code, f->big_rest, 0,
				      "first flow"));
		maps_reset();
	}
	return true;
}

static bool test_remap_udp(void)
{
	return check_remap(IPPROTO_UDP);
}

static bool test_remap_tcp(void)
{
	return check_remap(IPPROTO_TCP);
}

/* ---- A5: what must pass untouched ---- */

/* Echo and other informational messages, even when their data looks like
 * the quote of a flow's packet. */
static bool test_informational_untouched(void)
{
	FOR_FAM(f)
	{
		const uint8_t types_v4[] = { 8, 0, 5, 13, 14, 4 };
		const uint8_t types_v6[] = { 128, 129, 133, 135, 136, 137 };
		uint8_t in[ICMP_PKT_MAX];
		struct flow fl;
		size_t i, len;

		TRY(bind_flow(&fl, f, fd_xdp, IPPROTO_UDP, 53, 5353, 40040));
		for (i = 0; i < 6; i++) {
			uint8_t t = f->v6 ? types_v6[i] : types_v4[i];
			struct err in_e = { f->client, f->host, t, 0, 0x12340001, 0, false };
			struct err out_e = { f->ctr, f->client, t, 0, 0x12340001, 0, false };
			char w[64];

			snprintf(w, sizeof(w), "%s type %u", f->v6 ? "ICMPv6" : "ICMP", t);
			len = err_build(in, &in_e, &fl.rp);
			TRY(expect_untouched(fd_xdp, in, len, w));
			TRY(expect_untouched(fd_tc_in, in, len, w));
			len = err_build(in, &out_e, &fl.ct);
			TRY(expect_untouched(fd_tc_out, in, len, w));
		}
		maps_reset();
	}
	return true;
}

/*
 * Direct access (bpf/lib/guard.h): a neighbour's echo request routed to a
 * container is dropped by default, while errors and echo replies, which
 * answer what the container sent, pass untouched; with direct access
 * allowed the request passes too.
 */
static bool test_direct_access_echo(void)
{
	FOR_FAM(f)
	{
		struct bpfport_container_key k = { 0 };
		struct err req = { f->client, f->ctr, f->echo_request, 0, 0x00070001, 0, false };
		struct err rep = { f->client, f->ctr, f->echo_reply, 0, 0x00070001, 0, false };
		struct err unr = { f->nrouter, f->ctr, f->unreach, f->port_code, 0, 0, false };
		struct bpfport_config c;
		uint8_t in[ICMP_PKT_MAX], data[16] = { 0 }, quote[64];
		__u32 one = 1, zero = 0;
		struct pkt_spec q = spec(f, IPPROTO_UDP, 53, 40150);
		size_t len, qlen;
		struct run r;

		k.family = addr_parse(f->ctr, &k.addr);
		CHECK(!bpf_map_update_elem(fd_containers, &k, &one, BPF_ANY), "container: %s",
		      strerror(errno));
		len = err_raw(in, f->v6, &req, data, sizeof(data), NULL, 0);
		for (int i = 0; i < 2; i++) {
			int fd = i ? fd_tc_in : fd_xdp, drop = i ? 2 : XDP_DROP;

			CHECK(!run_raw(fd, in, len, &r) && r.retval == drop,
			      "%s: echo request to the container: %s returned %d, want %d",
			      f->v6 ? "ICMPv6" : "ICMP", prog_name(fd), r.retval, drop);
		}
		len = err_raw(in, f->v6, &rep, data, sizeof(data), NULL, 0);
		TRY(expect_untouched(fd_xdp, in, len, "echo reply to the container"));
		/* A port unreachable quoting the container's own datagram out. */
		spec_addr(&q, false, f->ctr);
		spec_addr(&q, true, f->client);
		qlen = pkt_build(quote, &q);
		len = err_raw(in, f->v6, &unr, quote + PKT_ETH_LEN, qlen - PKT_ETH_LEN, NULL, 0);
		TRY(expect_untouched(fd_xdp, in, len, "port unreachable to the container"));
		CHECK(!bpf_map_lookup_elem(fd_cfg, &zero, &c), "config: %s", strerror(errno));
		c.flags |= BPFPORT_CFG_DIRECT_ACCESS_ALLOW;
		CHECK(!bpf_map_update_elem(fd_cfg, &zero, &c, BPF_ANY), "config: %s",
		      strerror(errno));
		len = err_raw(in, f->v6, &req, data, sizeof(data), NULL, 0);
		TRY(expect_untouched(fd_xdp, in, len, "echo request, direct access allowed"));
		maps_reset();
	}
	return true;
}

/* Errors about tuples conntrack does not know, or seen in the wrong direction. */
static bool test_unknown_flow_untouched(void)
{
	FOR_FAM(f)
	{
		struct err out = { f->ctr, f->client, f->unreach, f->port_code, 0, 0, false };
		struct err in = { f->nrouter, f->host, f->big, f->big_code, f->big_rest, 0, false };
		struct flow fl;
		struct pkt_spec q;

		TRY(bind_flow(&fl, f, fd_xdp, IPPROTO_UDP, 53, 5353, 40050));
		q = fl.ct;
		q.sport = 40051;
		TRY(expect_err_untouched(fd_tc_out, &out, &q, "another client port"));
		q = with_dst(&fl.ct, f->ctr, 5354);
		TRY(expect_err_untouched(fd_tc_out, &out, &q, "another container port"));
		q = fl.ct;
		q.proto = IPPROTO_TCP;
		TRY(expect_err_untouched(fd_tc_out, &out, &q, "tcp on the udp flow's ports"));
		q = fl.ct;
		spec_addr(&q, false, f->nrouter);
		TRY(expect_err_untouched(fd_tc_out, &out, &q, "another client address"));
		q = fl.rp;
		q.dport = 40051;
		TRY(expect_err_untouched(fd_xdp, &in, &q, "reply to another client port"));
		TRY(expect_err_untouched(fd_tc_in, &in, &q, "reply to another client port"));
		/* Wrong direction: the client's own packet quoted on ingress, the
		 * container's reply quoted on egress. */
		TRY(expect_err_untouched(fd_xdp, &in, &fl.c, "client packet quoted on ingress"));
		TRY(expect_err_untouched(fd_tc_in, &in, &fl.ct,
					 "container's view quoted on ingress"));
		TRY(expect_err_untouched(fd_tc_out, &out, &fl.r, "reply quoted on egress"));
		TRY(expect_err_untouched(fd_tc_out, &out, &fl.c, "untranslated packet on egress"));
		maps_reset();
	}
	return true;
}

/* Quotes of other protocols, on the flow's addresses and with bytes where the
 * ports would be that match the flow. */
static bool test_quote_not_tcp_udp_untouched(void)
{
	static const uint8_t protos[] = { 1, 58, 132, 136, 47, 0, 255 };
	FOR_FAM(f)
	{
		struct err out = { f->ctr, f->client, f->unreach, f->port_code, 0, 0, false };
		struct err in = { f->nrouter, f->host, f->big, f->big_code, f->big_rest, 0, false };
		uint8_t q[PKT_MAX], b[ICMP_PKT_MAX];
		struct flow fl;
		size_t i, ql, len;

		TRY(bind_flow(&fl, f, fd_xdp, IPPROTO_UDP, 53, 5353, 40060));
		for (i = 0; i < sizeof(protos); i++) {
			char w[64];

			snprintf(w, sizeof(w), "quoted protocol %u", protos[i]);
			ql = datagram(q, &fl.ct);
			q[f->v6 ? 6 : 9] = protos[i];
			len = err_raw(b, f->v6, &out, q, ql, NULL, 0);
			TRY(expect_untouched(fd_tc_out, b, len, w));
			ql = datagram(q, &fl.rp);
			q[f->v6 ? 6 : 9] = protos[i];
			len = err_raw(b, f->v6, &in, q, ql, NULL, 0);
			TRY(expect_untouched(fd_xdp, b, len, w));
			TRY(expect_untouched(fd_tc_in, b, len, w));
		}
		maps_reset();
	}
	return true;
}

/* Bad quoted headers: IHL below 5 or beyond the quote, another IP version,
 * a quoted IPv4 later fragment, IPv6 extension headers before TCP/UDP. */
static bool test_quote_bad_header_untouched(void)
{
	struct err out4 = { F4.ctr, F4.client, 3, 3, 0, 0, false };
	struct err out6 = { F6.ctr, F6.client, 1, 4, 0, 0, false };
	static const uint8_t exts[] = { PKT_EXT_HOP, PKT_EXT_DEST, PKT_EXT_ROUTING,
					PKT_EXT_FRAGMENT, PKT_EXT_AH };
	static const uint8_t v4_first[] = { 0x44, 0x40, 0x41, 0x4f, 0x65, 0x05, 0x35 };
	uint8_t q[PKT_MAX], b[ICMP_PKT_MAX];
	struct flow f4, f6;
	size_t i, ql, len;

	TRY(bind_flow(&f4, &F4, fd_xdp, IPPROTO_UDP, 53, 5353, 40070));
	TRY(bind_flow(&f6, &F6, fd_xdp, IPPROTO_UDP, 53, 5353, 40070));
	for (i = 0; i < sizeof(v4_first); i++) {
		char w[64];

		snprintf(w, sizeof(w), "quoted IPv4 header starting 0x%02x", v4_first[i]);
		ql = datagram(q, &f4.ct);
		q[0] = v4_first[i];
		len = err_raw(b, false, &out4, q, ql, NULL, 0);
		TRY(expect_untouched(fd_tc_out, b, len, w));
	}
	static const uint16_t frag_offs[] = { 0x0001, 0x2001, 0x1fff, 0x3fff, 0x4001 };
	for (i = 0; i < sizeof(frag_offs) / sizeof(frag_offs[0]); i++) {
		char w[64];

		snprintf(w, sizeof(w), "quoted fragment, flags+offset 0x%04x", frag_offs[i]);
		ql = datagram(q, &f4.ct);
		pkt_put16(q, 6, frag_offs[i]);
		len = err_raw(b, false, &out4, q, ql, NULL, 0);
		TRY(expect_untouched(fd_tc_out, b, len, w));
	}
	/* An IPv6 quote in an ICMP (v4) error and the other way round. */
	ql = datagram(q, &f6.ct);
	len = err_raw(b, false, &out4, q, ql, NULL, 0);
	TRY(expect_untouched(fd_tc_out, b, len, "IPv6 quote in an ICMP error"));
	ql = datagram(q, &f4.ct);
	len = err_raw(b, true, &out6, q, ql, NULL, 0);
	TRY(expect_untouched(fd_tc_out, b, len, "IPv4 quote in an ICMPv6 error"));
	for (i = 0; i < sizeof(exts); i++) {
		struct pkt_spec s = f6.ct;
		char w[64];

		s.n_ext = 1;
		s.ext[0] = exts[i];
		snprintf(w, sizeof(w), "IPv6 quote with extension header %u", exts[i]);
		TRY(expect_err_untouched(fd_tc_out, &out6, &s, w));
		s = f6.rp;
		s.n_ext = 1;
		s.ext[0] = exts[i];
		out6.src = F6.nrouter;
		out6.dst = F6.host;
		TRY(expect_err_untouched(fd_xdp, &out6, &s, w));
		TRY(expect_err_untouched(fd_tc_in, &out6, &s, w));
		out6.src = F6.ctr;
		out6.dst = F6.client;
	}
	return true;
}

/*
 * A quoted IHL of 4 puts the "ports" on the quoted destination address. With
 * a flow whose ports spell the container's address (198.51.100.8 is c6 33 64
 * 08: client port 0xc633, container port 0x6408), they match the flow: the
 * error must still pass untouched.
 */
static bool test_quote_ihl_4_untouched(void)
{
	struct err out = { F4.ctr, F4.client, 3, 3, 0, 0, false };
	uint8_t q[PKT_MAX], b[ICMP_PKT_MAX];
	struct flow fl;
	size_t ql, len;

	TRY(bind_flow(&fl, &F4, fd_xdp, IPPROTO_UDP, 53, 0x6408, 0xc633));
	ql = datagram(q, &fl.ct);
	CHECK(pkt_get16(q, 16) == fl.ct.sport && pkt_get16(q, 18) == fl.ct.dport,
	      "test bug: the ports do not spell the container's address");
	q[0] = 0x44;
	len = err_raw(b, false, &out, q, ql, NULL, 0);
	return expect_untouched(fd_tc_out, b, len, "quoted IHL 4, ports read from the address");
}

/*
 * A quote cut at every length (the outer IP length saying so). Shorter than
 * the quoted IP header and the 4 bytes of ports: untouched. Longer: the
 * quote comes out as the flow's other view, cut the same; a TCP/UDP checksum
 * field the cut splits stays as it was (there is no whole field to update).
 */
static bool check_every_quote_length(const struct flow *fl, int fd, bool reply)
{
	const struct fam *f = fl->f;
	const struct pkt_spec *qs = reply ? &fl->ct : &fl->rp, *ws = reply ? &fl->c : &fl->r;
	struct err e = { reply ? f->ctr : f->nrouter,
			 reply ? f->client : f->host,
			 f->unreach,
			 f->port_code,
			 0,
			 0,
			 false };
	struct err we = { reply ? f->host : f->nrouter,
			  reply ? f->client : f->ctr,
			  f->unreach,
			  f->port_code,
			  0,
			  0,
			  false };
	uint8_t q[PKT_MAX], wq[PKT_MAX], in[ICMP_PKT_MAX], want[ICMP_PKT_MAX];
	size_t ql = datagram(q, qs), csum_off, n, len, wlen;

	datagram(wq, ws);
	csum_off = f->ip_len + (qs->proto == IPPROTO_TCP ? 16 : 6);
	for (n = 0; n <= ql; n++) {
		char w[96];

		snprintf(w, sizeof(w), "%s %s, %zu bytes quoted, via %s", f->v6 ? "ipv6" : "ipv4",
			 qs->proto == IPPROTO_TCP ? "tcp" : "udp", n, prog_name(fd));
		len = err_raw(in, f->v6, &e, q, n, NULL, 0);
		if (n < f->ip_len + 4) {
			TRY(expect_untouched(fd, in, len, w));
			continue;
		}
		uint8_t cut[PKT_MAX];

		memcpy(cut, wq, n);
		if (n == csum_off + 1)
			cut[csum_off] = q[csum_off];
		wlen = err_raw(want, f->v6, &we, cut, n, NULL, 0);
		TRY(expect_icmp(fd, in, len, want, wlen, w));
	}
	return true;
}

static bool test_every_quote_length(void)
{
	FOR_FAM(f)
	{
		struct flow u, t;

		TRY(bind_flow(&u, f, fd_xdp, IPPROTO_UDP, 53, 5353, 40080));
		TRY(bind_flow(&t, f, fd_xdp, IPPROTO_TCP, 80, 8080, 40080));
		TRY(check_every_quote_length(&u, fd_tc_out, true));
		TRY(check_every_quote_length(&t, fd_tc_out, true));
		TRY(check_every_quote_length(&u, fd_xdp, false));
		TRY(check_every_quote_length(&t, fd_xdp, false));
		TRY(check_every_quote_length(&u, fd_tc_in, false));
		TRY(check_every_quote_length(&t, fd_tc_in, false));
		maps_reset();
	}
	return true;
}

/* An ICMP message of fewer than 8 bytes, the rest of a translatable error
 * following it outside the IP datagram (as Ethernet padding would). */
static bool test_icmp_shorter_than_8_untouched(void)
{
	FOR_FAM(f)
	{
		struct err e = { f->ctr, f->client, f->unreach, f->port_code, 0, 0, false };
		uint8_t full[ICMP_PKT_MAX], in[ICMP_PKT_MAX];
		size_t len, off, n;
		struct flow fl;

		TRY(bind_flow(&fl, f, fd_xdp, IPPROTO_UDP, 53, 5353, 40090));
		len = err_build(full, &e, &fl.ct);
		off = icmp_off(full);
		for (n = 0; n < 8; n++) {
			char w[64];

			memcpy(in, full, len);
			if (f->v6) {
				pkt_put16(in, PKT_ETH_LEN + 4, (uint16_t)n);
			} else {
				pkt_put16(in, PKT_ETH_LEN + 2, (uint16_t)(PKT_IP_LEN + n));
				pkt_put16(in, PKT_ETH_LEN + 10, pkt_ip_csum(in));
			}
			snprintf(w, sizeof(w), "%s message of %zu bytes, the rest after it",
				 f->v6 ? "ICMPv6" : "ICMP", n);
			TRY(expect_untouched(fd_tc_out, in, len, w));
			snprintf(w, sizeof(w), "%s message of %zu bytes, zero padding",
				 f->v6 ? "ICMPv6" : "ICMP", n);
			memset(in + off + n, 0, len - off - n);
			TRY(expect_untouched(fd_tc_out, in, off + n < 60 ? 60 : off + n, w));
		}
		maps_reset();
	}
	return true;
}

/* A translatable error cut at every length, its IP length left as it was. */
static bool test_truncated_packet_untouched(void)
{
	FOR_FAM(f)
	{
		struct err out = { f->ctr, f->client, f->unreach, f->port_code, 0, 0, false };
		struct err in = { f->nrouter, f->host, f->big, f->big_code, f->big_rest, 0, false };
		uint8_t eo[ICMP_PKT_MAX], ei[ICMP_PKT_MAX];
		size_t lo, li, n;
		struct flow fl;

		TRY(bind_flow(&fl, f, fd_xdp, IPPROTO_TCP, 80, 8080, 40100));
		lo = err_build(eo, &out, &fl.ct);
		li = err_build(ei, &in, &fl.rp);
		for (n = 0; n < lo || n < li; n++) {
			const int fds[] = { fd_tc_out, fd_xdp, fd_tc_in };
			int k;

			for (k = 0; k < 3; k++) {
				const uint8_t *p = k ? ei : eo;
				struct run r;
				char w[64];
				int err;

				if (n >= (k ? li : lo))
					continue;
				snprintf(w, sizeof(w), "%s error cut to %zu bytes",
					 f->v6 ? "ICMPv6" : "ICMP", n);
				err = run_raw(fds[k], p, n, &r);
				if (err == -EINVAL && n < PKT_ETH_LEN + f->ip_len)
					continue; /* the kernel refuses such runs */
				CHECK(!err, "%s: %s test run failed: %s", w, prog_name(fds[k]),
				      strerror(-err));
				TRY(expect_untouched(fds[k], p, n, w));
			}
		}
		maps_reset();
	}
	return true;
}

/* Random bytes from somewhere in the quote's header on: no flow matches
 * (the chance is 2^-32 per packet), so nothing may change, at any length. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static bool test_garbage_untouched(void)
{
	FOR_FAM(f)
	{
		struct err out = { f->ctr, f->client, f->unreach, f->port_code, 0, 0, false };
		struct err in = { f->nrouter, f->host, f->big, f->big_code, f->big_rest, 0, false };
		uint8_t q[PKT_MAX], b[ICMP_PKT_MAX];
		struct flow fl;
		int i;

		TRY(bind_flow(&fl, f, fd_xdp, IPPROTO_TCP, 80, 8080, 40110));
		for (i = 0; i < 3000; i++) {
			bool reply = i & 1;
			size_t ql = datagram(q, reply ? &fl.ct : &fl.rp), start, j, len;
			int fd = reply ? fd_tc_out : (i & 2) ? fd_xdp : fd_tc_in;
			char w[96];

			/* From the ports or before: the tuple is never intact. */
			start = rnd() % (f->ip_len + 1);
			for (j = start; j < ql; j++)
				q[j] = (uint8_t)rnd();
			if (rnd() & 1)
				q[0] = f->v6 ? 0x60 : 0x45;
			if (rnd() & 1)
				q[f->v6 ? 6 : 9] = rnd() & 1 ? IPPROTO_TCP : IPPROTO_UDP;
			ql = rnd() % (ql + 1);
			len = err_raw(b, f->v6, reply ? &out : &in, q, ql, NULL, 0);
			snprintf(w, sizeof(w),
				 "garbage #%d: %zu quoted bytes, random from byte %zu", i, ql,
				 start);
			TRY(expect_untouched(fd, b, len, w));
		}
		maps_reset();
	}
	return true;
}

/*
 * Bytes after the IP datagram (Ethernet padding, a trailer) are not part of
 * the ICMP message: never read as the quote, never written, never summed.
 */
static const uint8_t zeros16[16], ones16[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
						 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* A quote of qlen bytes of a flow's packet, then 16 bytes of padding: it
 * comes out translated, the padding as it was, the ICMP checksum right. */
static bool check_padding_after_quote(const struct fam *f, uint8_t proto, size_t qlen)
{
	uint16_t hport = proto == IPPROTO_TCP ? 80 : 53, cport = proto == IPPROTO_TCP ? 8080 : 5353;
	const uint8_t *const trailers[] = { zeros16, ones16 };
	struct err out = { f->ctr, f->client, f->unreach, f->port_code, 0, 0, false };
	struct err wout = { f->host, f->client, f->unreach, f->port_code, 0, 0, false };
	struct err in = { f->nrouter, f->host, f->big, f->big_code, f->big_rest, 0, false };
	struct err win = { f->nrouter, f->ctr, f->big, f->big_code, f->big_rest, 0, false };
	uint8_t q[PKT_MAX], wq[PKT_MAX], b[ICMP_PKT_MAX], want[ICMP_PKT_MAX];
	size_t len, wlen, k;
	struct flow fl;

	TRY(bind_flow(&fl, f, fd_xdp, proto, hport, cport, 40120));
	for (k = 0; k < 2; k++) {
		char w[128];

		snprintf(w, sizeof(w), "%s quote of %zu bytes then 16 bytes of 0x%02x, on egress",
			 proto == IPPROTO_TCP ? "tcp" : "udp", qlen, trailers[k][0]);
		datagram(q, &fl.ct);
		datagram(wq, &fl.c);
		len = err_raw(b, f->v6, &out, q, f->ip_len + qlen, trailers[k], 16);
		wlen = err_raw(want, f->v6, &wout, wq, f->ip_len + qlen, trailers[k], 16);
		TRY(expect_icmp(fd_tc_out, b, len, want, wlen, w));
		snprintf(w, sizeof(w), "%s quote of %zu bytes then 16 bytes of 0x%02x, on ingress",
			 proto == IPPROTO_TCP ? "tcp" : "udp", qlen, trailers[k][0]);
		datagram(q, &fl.rp);
		datagram(wq, &fl.r);
		len = err_raw(b, f->v6, &in, q, f->ip_len + qlen, trailers[k], 16);
		wlen = err_raw(want, f->v6, &win, wq, f->ip_len + qlen, trailers[k], 16);
		TRY(expect_icmp(fd_xdp, b, len, want, wlen, w));
		TRY(expect_icmp(fd_tc_in, b, len, want, wlen, w));
	}
	return true;
}

static bool check_udp8_then_padding(const struct fam *f)
{
	return check_padding_after_quote(f, IPPROTO_UDP, 8);
}
PER_FAM(check_udp8_then_padding)

/* TCP's checksum lies beyond an 8-byte quote, in the padding. */
static bool check_tcp8_then_padding(const struct fam *f)
{
	return check_padding_after_quote(f, IPPROTO_TCP, 8);
}
PER_FAM(check_tcp8_then_padding)

/* The quoted IP header (and 0-3 bytes more) inside the datagram, the rest
 * of the quote, the flow's ports, after it: untouched. */
static bool check_ports_after_datagram(const struct fam *f)
{
	struct err out = { f->ctr, f->client, f->unreach, f->port_code, 0, 0, false };
	uint8_t q[PKT_MAX], b[ICMP_PKT_MAX];
	struct flow fl;
	size_t n, ql, len;

	TRY(bind_flow(&fl, f, fd_xdp, IPPROTO_UDP, 53, 5353, 40121));
	ql = datagram(q, &fl.ct);
	for (n = f->ip_len; n < f->ip_len + 4; n++) {
		char w[96];

		snprintf(w, sizeof(w), "%zu bytes quoted, the rest of the quote after the datagram",
			 n);
		len = err_raw(b, f->v6, &out, q, n, q + n, ql - n);
		TRY(expect_untouched(fd_tc_out, b, len, w));
	}
	return true;
}
PER_FAM(check_ports_after_datagram)

/* The outer IPv4 header with options: the ICMP header is after them. */
static bool test_outer_ip_options(void)
{
	struct err out = { F4.ctr, F4.client, 3, 3, 0, 0, false, 4 };
	struct err in = { F4.nrouter, F4.host, 3, 4, 1400, 0, false, 4 };
	struct flow fl;

	TRY(bind_flow(&fl, &F4, fd_xdp, IPPROTO_UDP, 53, 5353, 40122));
	TRY(expect_err(fd_tc_out, &out, &fl.ct, F4.host, F4.client, &fl.c,
		       "egress, 16 bytes of outer options"));
	TRY(expect_err(fd_xdp, &in, &fl.rp, F4.nrouter, F4.ctr, &fl.r,
		       "ingress, 16 bytes of outer options"));
	return expect_err(fd_tc_in, &in, &fl.rp, F4.nrouter, F4.ctr, &fl.r,
			  "ingress, 16 bytes of outer options");
}

/* ---- B: fragments ---- */

struct frags {
	uint8_t p[3][ICMP_PKT_MAX];
	size_t len[3];
};

/* The datagram built from s (100 bytes of payload) cut at L4 bytes 32 and 72. */
static void frags_make(struct frags *fr, const struct pkt_spec *s, uint32_t id)
{
	struct pkt_spec d = *s;
	uint8_t b[PKT_MAX];
	size_t l4_len;

	d.payload_len = 100;
	pkt_build(b, &d);
	l4_len = (d.proto == IPPROTO_TCP ? 20 : d.proto == IPPROTO_UDP ? 8 : 0) + 100;
	fr->len[0] = frag_build(fr->p[0], b, 0, 32, true, id);
	fr->len[1] = frag_build(fr->p[1], b, 32, 72, true, id);
	fr->len[2] = frag_build(fr->p[2], b, 72, l4_len, false, id);
}

static const char *const frag_name[] = { "first fragment", "second fragment", "last fragment" };

static bool check_frags_in_order(int fd, const struct fam *f, uint8_t proto)
{
	uint16_t hport = proto == IPPROTO_TCP ? 80 : 53, cport = proto == IPPROTO_TCP ? 8080 : 5353;
	struct pkt_spec c = spec(f, proto, hport, 41000), w = with_dst(&c, f->ctr, cport);
	uint32_t id = f->v6 ? 0x8badf00d : 0xbeef;
	struct frags in, want;
	size_t i, total = 0;

	TRY(bind_add(f->host, hport, proto, f->ctr, cport));
	frags_make(&in, &c, id);
	frags_make(&want, &w, id);
	for (i = 0; i < 3; i++) {
		char what[96];

		snprintf(what, sizeof(what), "%s %s %s via %s", f->v6 ? "ipv6" : "ipv4",
			 proto == IPPROTO_TCP ? "tcp" : "udp", frag_name[i], prog_name(fd));
		TRY(expect_frag(fd, in.p[i], in.len[i], want.p[i], want.len[i], what));
		total += in.len[i];
		if (!i)
			TRY(expect_frag_entry(&c, id, BPFPORT_CT_INGRESS, f->ctr));
	}
	CHECK(frags_count() == 1, "%ld bp_frags entries, want 1", frags_count());
	return expect_counters(3, total, 0, 0);
}

static bool check_frags_in_order_all(int fd)
{
	FOR_FAM(f)
	{
		TRY(check_frags_in_order(fd, f, IPPROTO_UDP));
		maps_reset();
		TRY(check_frags_in_order(fd, f, IPPROTO_TCP));
		maps_reset();
	}
	return true;
}

static bool test_frags_in_order_xdp(void)
{
	return check_frags_in_order_all(fd_xdp);
}

static bool test_frags_in_order_tc(void)
{
	return check_frags_in_order_all(fd_tc_in);
}

/* Later fragments that overtake the first pass untouched; once the first
 * went through, they follow it. */
static bool test_frags_out_of_order(void)
{
	FOR_FAM(f)
	{
		struct pkt_spec c = spec(f, IPPROTO_UDP, 53, 41001), w = with_dst(&c, f->ctr, 5353);
		uint32_t id = f->v6 ? 0x00010002 : 0x0102;
		struct frags in, want;

		TRY(bind_add(f->host, 53, IPPROTO_UDP, f->ctr, 5353));
		frags_make(&in, &c, id);
		frags_make(&want, &w, id);
		TRY(expect_untouched(fd_xdp, in.p[2], in.len[2], "last fragment before the first"));
		TRY(expect_untouched(fd_tc_in, in.p[1], in.len[1],
				     "second fragment before the first"));
		CHECK(frags_count() == 0, "%ld bp_frags entries before the first fragment",
		      frags_count());
		TRY(expect_frag(fd_xdp, in.p[0], in.len[0], want.p[0], want.len[0],
				"first fragment"));
		TRY(expect_frag(fd_xdp, in.p[2], in.len[2], want.p[2], want.len[2],
				"last fragment again"));
		TRY(expect_frag(fd_tc_in, in.p[1], in.len[1], want.p[1], want.len[1],
				"second fragment again"));
		TRY(expect_counters(3, in.len[0] + in.len[1] + in.len[2], 0, 0));
		maps_reset();
	}
	return true;
}

/* The container's fragmented reply: the first fragment records, the later
 * ones get the published address as source. */
static bool test_frags_reply(void)
{
	FOR_FAM(f)
	{
		uint32_t id = f->v6 ? 0xfedcba98 : 0xfedc;
		struct frags in, want;
		struct flow fl;
		size_t i, total = 0, cl, rl;
		uint8_t b[PKT_MAX];

		TRY(bind_flow(&fl, f, fd_xdp, IPPROTO_UDP, 53, 5353, 41002));
		cl = pkt_build(b, &fl.c);
		rl = pkt_build(b, &fl.r);
		frags_make(&in, &fl.r, id);
		frags_make(&want, &fl.rp, id);
		for (i = 0; i < 3; i++) {
			char what[64];

			snprintf(what, sizeof(what), "%s reply %s", f->v6 ? "ipv6" : "ipv4",
				 frag_name[i]);
			TRY(expect_frag(fd_tc_out, in.p[i], in.len[i], want.p[i], want.len[i],
					what));
			total += in.len[i];
		}
		TRY(expect_frag_entry(&fl.r, id, BPFPORT_CT_REPLY, f->host));
		CHECK(frags_count() == 1, "%ld bp_frags entries, want 1", frags_count());
		/* The reply direction's entry does not translate ingress fragments. */
		frags_make(&in, &fl.c, id);
		TRY(expect_untouched(fd_xdp, in.p[1], in.len[1], "ingress fragment, reply's ID"));
		TRY(expect_counters(1, cl, 1 + 3, rl + total));
		maps_reset();
	}
	return true;
}

/* Later fragments that differ from the recorded first in ID (IPv6: in either
 * half of the 32 bits), source, destination or protocol stay untouched. */
static bool test_frags_other_datagram_untouched(void)
{
	FOR_FAM(f)
	{
		struct pkt_spec c = spec(f, IPPROTO_UDP, 53, 41003), w = with_dst(&c, f->ctr, 5353);
		struct pkt_spec o;
		uint32_t id = f->v6 ? 0x12345678 : 0x5678;
		struct frags in, want, x;

		TRY(bind_add(f->host, 53, IPPROTO_UDP, f->ctr, 5353));
		TRY(bind_add(f->host, 80, IPPROTO_TCP, f->ctr, 8080));
		frags_make(&in, &c, id);
		frags_make(&want, &w, id);
		TRY(expect_frag(fd_xdp, in.p[0], in.len[0], want.p[0], want.len[0],
				"first fragment"));
		frags_make(&x, &c, id + 1);
		TRY(expect_untouched(fd_xdp, x.p[1], x.len[1], "ID + 1"));
		if (f->v6) {
			frags_make(&x, &c, id ^ 0x10000);
			TRY(expect_untouched(fd_xdp, x.p[1], x.len[1],
					     "ID differing in its high half"));
			frags_make(&x, &c, id ^ 0x80000000);
			TRY(expect_untouched(fd_tc_in, x.p[2], x.len[2], "ID differing in bit 31"));
		}
		o = with_src(&c, f->nrouter, 41003);
		frags_make(&x, &o, id);
		TRY(expect_untouched(fd_xdp, x.p[1], x.len[1], "same ID, another source"));
		o = with_dst(&c, f->ctr, 53);
		frags_make(&x, &o, id);
		TRY(expect_untouched(fd_xdp, x.p[1], x.len[1], "same ID, another destination"));
		o = c;
		o.proto = IPPROTO_TCP;
		o.dport = 80;
		frags_make(&x, &o, id);
		TRY(expect_untouched(fd_xdp, x.p[2], x.len[2], "same ID, tcp"));
		o.proto = 132;
		frags_make(&x, &o, id);
		TRY(expect_untouched(fd_tc_in, x.p[2], x.len[2], "same ID, sctp"));
		TRY(expect_frag(fd_xdp, in.p[2], in.len[2], want.p[2], want.len[2],
				"the datagram's own last fragment"));
		maps_reset();
	}
	return true;
}

/* Fragments of datagrams that are not TCP/UDP, or of unbound ports: no entry,
 * nothing changed. */
static bool test_frags_not_translated_untouched(void)
{
	static const uint8_t protos[] = { 132, 47, 50 };
	FOR_FAM(f)
	{
		struct err echo = { f->client, f->host, f->echo_request, 0, 0x00070001, 0, false };
		struct pkt_spec u = spec(f, IPPROTO_UDP, 9999, 41004);
		uint8_t d[ICMP_PKT_MAX], data[100];
		struct frags x;
		size_t i, k;

		TRY(bind_add(f->host, 53, IPPROTO_UDP, f->ctr, 5353));
		for (k = 0; k < sizeof(protos); k++) {
			struct pkt_spec o = spec(f, protos[k], 53, 41004);
			char w[64];

			frags_make(&x, &o, 0x4444);
			for (i = 0; i < 3; i++) {
				snprintf(w, sizeof(w), "protocol %u, %s", protos[k], frag_name[i]);
				TRY(expect_untouched(fd_xdp, x.p[i], x.len[i], w));
				TRY(expect_untouched(fd_tc_in, x.p[i], x.len[i], w));
			}
		}
		/* An echo request of 108 bytes in three fragments. */
		for (i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)(i * 13 + 1);
		err_raw(d, f->v6, &echo, data, sizeof(data), NULL, 0);
		x.len[0] = frag_build(x.p[0], d, 0, 32, true, 0x4445);
		x.len[1] = frag_build(x.p[1], d, 32, 72, true, 0x4445);
		x.len[2] = frag_build(x.p[2], d, 72, 108, false, 0x4445);
		for (i = 0; i < 3; i++) {
			TRY(expect_untouched(fd_xdp, x.p[i], x.len[i], "echo request fragment"));
			TRY(expect_untouched(fd_tc_in, x.p[i], x.len[i], "echo request fragment"));
		}
		frags_make(&x, &u, 0x4446);
		for (i = 0; i < 3; i++)
			TRY(expect_untouched(fd_xdp, x.p[i], x.len[i], "udp to an unbound port"));
		CHECK(frags_count() == 0, "%ld bp_frags entries, want none", frags_count());
		maps_reset();
	}
	return true;
}

/* IPv4 options in every fragment: the ports are after them in the first. */
static bool test_frags_ipv4_options(void)
{
	struct pkt_spec c = spec(&F4, IPPROTO_UDP, 53, 41005), w;
	struct frags in, want;
	size_t i;

	c.ip_opt_words = 3;
	w = with_dst(&c, F4.ctr, 5353);
	TRY(bind_add(F4.host, 53, IPPROTO_UDP, F4.ctr, 5353));
	frags_make(&in, &c, 0x0a0b);
	frags_make(&want, &w, 0x0a0b);
	for (i = 0; i < 3; i++) {
		TRY(expect_frag(fd_xdp, in.p[i], in.len[i], want.p[i], want.len[i], frag_name[i]));
		TRY(expect_frag(fd_tc_in, in.p[i], in.len[i], want.p[i], want.len[i],
				frag_name[i]));
	}
	return expect_frag_entry(&c, 0x0a0b, BPFPORT_CT_INGRESS, F4.ctr);
}

/*
 * A fragment ID used again, later, by a datagram that is not translated (to
 * an unbound port of the host): its first fragment passes untouched, and its
 * later fragments must too, not follow the entry the earlier, translated
 * datagram with that ID left behind. (IPv4 IDs are 16 bits: a busy sender
 * reuses one after 65536 datagrams to the same host.)
 */
static bool check_frag_id_reused(const struct fam *f)
{
	struct pkt_spec a = spec(f, IPPROTO_UDP, 53, 41006), wa = with_dst(&a, f->ctr, 5353);
	struct pkt_spec b = spec(f, IPPROTO_UDP, 9999, 41006);
	uint32_t id = f->v6 ? 0x00c0ffee : 0xc0ff;
	struct frags fa, fwa, fb;
	size_t i;

	TRY(bind_add(f->host, 53, IPPROTO_UDP, f->ctr, 5353));
	frags_make(&fa, &a, id);
	frags_make(&fwa, &wa, id);
	for (i = 0; i < 3; i++)
		TRY(expect_frag(fd_xdp, fa.p[i], fa.len[i], fwa.p[i], fwa.len[i], frag_name[i]));
	frags_make(&fb, &b, id);
	TRY(expect_untouched(fd_xdp, fb.p[0], fb.len[0],
			     "first fragment of a later datagram to an unbound port, same ID"));
	TRY(expect_untouched(fd_xdp, fb.p[1], fb.len[1], "its second fragment"));
	return expect_untouched(fd_xdp, fb.p[2], fb.len[2], "its last fragment");
}
PER_FAM(check_frag_id_reused)

/* ---- main ---- */

struct test {
	const char *name;
	bool (*fn)(void);
};

static const struct test tests[] = {
	{ "reply_udp_errors_translated", test_reply_udp },
	{ "reply_router_source_kept", test_reply_router_source_kept },
	{ "reply_tcp_quotes_8_18_20_all", test_reply_tcp },
	{ "reply_udp_no_checksum_stays_zero", test_reply_udp_no_checksum },
	{ "quote_with_ip_options", test_reply_quote_ip_options },
	{ "quoted_udp_checksum_zero_sent_as_ffff_ipv4", check_quote_checksum_zero_as_ffff_ipv4 },
	{ "quoted_udp_checksum_zero_sent_as_ffff_ipv6", check_quote_checksum_zero_as_ffff_ipv6 },
	{ "quoted_first_fragment_translated_later_not", test_reply_quote_fragments },
	{ "ingress_errors_xdp", test_ingress_xdp },
	{ "ingress_errors_tc", test_ingress_tc },
	{ "ipv6_outer_extension_header", test_ipv6_outer_extension_header },
	{ "remapped_client_port_udp", test_remap_udp },
	{ "remapped_client_port_tcp", test_remap_tcp },
	{ "informational_messages_untouched", test_informational_untouched },
	{ "direct_access_echo_request_dropped", test_direct_access_echo },
	{ "unknown_flow_untouched", test_unknown_flow_untouched },
	{ "quote_not_tcp_udp_untouched", test_quote_not_tcp_udp_untouched },
	{ "quote_bad_header_untouched", test_quote_bad_header_untouched },
	{ "quote_ihl_4_untouched", test_quote_ihl_4_untouched },
	{ "every_quote_length", test_every_quote_length },
	{ "icmp_shorter_than_8_untouched", test_icmp_shorter_than_8_untouched },
	{ "truncated_packet_untouched", test_truncated_packet_untouched },
	{ "garbage_quotes_untouched", test_garbage_untouched },
	{ "udp_8_byte_quote_then_padding_ipv4", check_udp8_then_padding_ipv4 },
	{ "udp_8_byte_quote_then_padding_ipv6", check_udp8_then_padding_ipv6 },
	{ "tcp_8_byte_quote_then_padding_ipv4", check_tcp8_then_padding_ipv4 },
	{ "tcp_8_byte_quote_then_padding_ipv6", check_tcp8_then_padding_ipv6 },
	{ "quote_ports_after_datagram_untouched_ipv4", check_ports_after_datagram_ipv4 },
	{ "quote_ports_after_datagram_untouched_ipv6", check_ports_after_datagram_ipv6 },
	{ "outer_ip_options", test_outer_ip_options },
	{ "frags_in_order_xdp", test_frags_in_order_xdp },
	{ "frags_in_order_tc", test_frags_in_order_tc },
	{ "frags_out_of_order", test_frags_out_of_order },
	{ "frags_reply_tc_egress", test_frags_reply },
	{ "frags_other_datagram_untouched", test_frags_other_datagram_untouched },
	{ "frags_not_translated_untouched", test_frags_not_translated_untouched },
	{ "frags_ipv4_options", test_frags_ipv4_options },
	{ "frags_id_reused_by_untranslated_datagram_ipv4", check_frag_id_reused_ipv4 },
	{ "frags_id_reused_by_untranslated_datagram_ipv6", check_frag_id_reused_ipv6 },
};

int main(void)
{
	int failed = 0;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP icmp: needs root (BPF and a private network namespace)\n");
		return 0;
	}
	if (!setup_netns()) {
		printf("FAIL icmp/setup: %s\n", why);
		return 1;
	}
	if (!load_skeleton()) {
		fputs(harness_libbpf_log(), stderr);
		printf("FAIL icmp/load: %s\n", why);
		bpfport__destroy(skel);
		return 1;
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		maps_reset();
		why[0] = '\0';
		if (tests[i].fn()) {
			printf("PASS icmp/%s\n", tests[i].name);
		} else {
			printf("FAIL icmp/%s: %s\n", tests[i].name, why);
			failed++;
		}
	}
	bpfport__destroy(skel);
	return failed ? 1 : 0;
}
