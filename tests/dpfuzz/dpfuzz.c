// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Datapath fuzzer: random, crafted and mutated packets through every
 * datapath program (xdp_ingress, tc_ingress, tc_egress, tc_bridge) with
 * BPF_PROG_TEST_RUN, in a private network namespace set up as
 * tests/datapath does, with bindings and established flows installed.
 *
 *   dpfuzz [-n PACKETS] [-s SEED] [-v]
 *
 * Each packet runs through all four programs. Every output is checked by
 * two layers of oracles:
 *
 *  1. For any input, read with an independent parser (fzpkt.c): the return
 *     code is one of the program's verdicts; a packet that names no
 *     published port (ingress), container port (replies) or recorded
 *     fragment leaves byte for byte unchanged with a pass verdict; a changed
 *     packet keeps its length, was well-formed, differs only in addresses,
 *     ports and checksums, and every checksum it carries (IPv4 header,
 *     TCP/UDP, ICMP, the quoted header and L4 checksum of an ICMP error)
 *     still sums as before: right if it was right, from scratch. A UDP
 *     checksum of 0 stays 0. XDP may take a checksum equal to the
 *     pseudo-header seed for a partial one (bpf/lib/nat.h): its output then
 *     carries the new seed.
 *  2. For packets built well-formed here, the exact output: after the run,
 *     the conntrack entry the datapath uses for the packet's tuple (or the
 *     fragment entry, for later fragments) names the rewrite, and the
 *     expected packet is the input with those fields replaced and the
 *     checksums recomputed from scratch; no entry means unchanged. Allow-list
 *     drops and the bridge's redirects are predicted too. Packets built to
 *     unbound ports and addresses must come out unchanged whatever the maps.
 *
 * The first failure of a program prints the seed, the iteration, the input,
 * output and expected packets; that program is then left out. At the end
 * one line per program: "PASS dpfuzz_<program>" or "FAIL dpfuzz_<program>:
 * why". Exit status 1 if any failed. The packet sequence follows from the
 * seed; the datapath's own random choices (remapped client ports) do not,
 * which the oracles do not depend on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/types.h>
#include <net/if.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfport.h"
#include "bpfport.skel.h"
#include "fzpkt.h"
#include "harness.h"
#include "pkt.h"
#include "published.h"

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

/* Datapath limits mirrored for the exact oracle (bpf/lib/parse.h). An
 * IPv6 packet needing more extension headers may be skipped or not. */
#define DP_IPV6_EXT_MAX 6

enum { P_XDP, P_TC_IN, P_TC_OUT, P_BRIDGE, NPROG };
static const char *const prog_name[NPROG] = { "xdp_ingress", "tc_ingress", "tc_egress",
					      "tc_bridge" };
static int prog_fd[NPROG];

static struct bpfport *skel;
static int fd_bind, fd_ct, fd_ct_new, fd_backends, fd_cfg, fd_allow, fd_frags, fd_published,
	fd_containers, fd_outbound;
static __u32 cfg_flags; /* BPFPORT_CFG_* as last written */
static int ifindex_lo = 1, ifindex_br;
static bool verbose;

static struct fz_rng rng;
static unsigned long long seed_arg, iter;
static const char *phase = "setup";

static bool failed[NPROG];
static char failed_why[NPROG][1200];
static int n_failed;

/* Per program: runs, outputs changed, outputs checked exactly, drops, redirects. */
static unsigned long long st_runs[NPROG], st_changed[NPROG], st_exact[NPROG], st_drop[NPROG],
	st_redirect[NPROG], st_refused;
static double st_time[NPROG];

/* Per packet class (-v): packets, and runs whose output changed or was dropped. */
#define MAX_CLASSES 32
static struct {
	const char *name;
	unsigned long long packets, changed, dropped;
} st_class[MAX_CLASSES];

static void count_class(const char *cls, bool changed, bool dropped, bool first)
{
	int i;

	for (i = 0; i < MAX_CLASSES && st_class[i].name && strcmp(st_class[i].name, cls); i++)
		;
	if (i == MAX_CLASSES)
		return;
	st_class[i].name = cls;
	st_class[i].packets += first;
	st_class[i].changed += changed;
	st_class[i].dropped += dropped;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- addresses, bindings, pools ---- */

static struct fz_addr addr_of(const char *text)
{
	struct fz_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(strchr(text, ':') ? AF_INET6 : AF_INET, text, a.b) != 1) {
		fprintf(stderr, "dpfuzz bug: bad address %s\n", text);
		abort();
	}
	return a;
}

static int fam_of(const char *text)
{
	return strchr(text, ':') ? 6 : 4;
}

static size_t alen_of(int fam)
{
	return fam == 4 ? 4 : 16;
}

static __u8 dp_family(int fam)
{
	return fam == 4 ? BPFPORT_AF_INET : BPFPORT_AF_INET6;
}

struct binding_def {
	const char *host; /* "0.0.0.0" / "::": wildcard */
	uint16_t hport;
	uint8_t proto;
	const char *ctr;
	uint16_t cport;
	const char *allow; /* allow-list prefix address, or NULL */
	int allow_len;
};

/*
 * 192.0.2.1 and 2001:db8:1::1 are on lo, 10.99.0.1 and 2001:db8:2::1 on
 * the veth bp0, whose subnets hold the hairpin containers (10.99.0.8,
 * 2001:db8:2::8) and clients (10.99.0.6-7, 2001:db8:2::6-7). Ports 80 and
 * 81 share a container endpoint, so one client port to both gets remapped.
 */
static const struct binding_def BINDS[] = {
	{ "192.0.2.1", 80, FZ_TCP, "198.51.100.8", 8080, NULL, 0 },
	{ "192.0.2.1", 81, FZ_TCP, "198.51.100.8", 8080, NULL, 0 },
	{ "192.0.2.1", 53, FZ_UDP, "198.51.100.8", 5353, NULL, 0 },
	{ "192.0.2.1", 443, FZ_TCP, "198.51.100.8", 8443, "100.64.0.0", 17 },
	{ "0.0.0.0", 8000, FZ_TCP, "198.51.100.9", 8001, NULL, 0 },
	{ "0.0.0.0", 8000, FZ_UDP, "198.51.100.9", 8001, NULL, 0 },
	{ "10.99.0.1", 9000, FZ_TCP, "10.99.0.8", 9090, NULL, 0 },
	{ "10.99.0.1", 9000, FZ_UDP, "10.99.0.8", 9090, NULL, 0 },
	{ "2001:db8:1::1", 80, FZ_TCP, "fd00:c::8", 8080, NULL, 0 },
	{ "2001:db8:1::1", 53, FZ_UDP, "fd00:c::8", 5353, NULL, 0 },
	{ "2001:db8:1::1", 8443, FZ_UDP, "fd00:c::8", 8443, "2001:db8:c::", 49 },
	{ "::", 8000, FZ_TCP, "fd00:c::9", 8001, NULL, 0 },
	{ "::", 8000, FZ_UDP, "fd00:c::9", 8001, NULL, 0 },
	{ "2001:db8:2::1", 9000, FZ_TCP, "2001:db8:2::8", 9090, NULL, 0 },
	{ "2001:db8:2::1", 9000, FZ_UDP, "2001:db8:2::8", 9090, NULL, 0 },
};
#define NBINDS (sizeof(BINDS) / sizeof(BINDS[0]))

struct binding {
	int fam;
	uint8_t proto;
	bool wildcard;
	struct fz_addr host, ctr, allow;
	uint16_t hport, cport;
	bool allowlist;
	int allow_len;
};
static struct binding binds[NBINDS];

/* Published host ports and container ports, any family and protocol. */
static uint8_t port_h[65536 / 8], port_c[65536 / 8];

static bool is_h(uint16_t port)
{
	return port_h[port / 8] & (1 << (port % 8));
}

static bool is_c(uint16_t port)
{
	return port_c[port / 8] & (1 << (port % 8));
}

struct pool {
	struct fz_addr a[24];
	int n;
};

/* Index 0: IPv4, 1: IPv6. */
static struct pool pool_host[2], pool_ctr[2], pool_client[2], pool_hpclient[2], pool_router[2],
	pool_other[2];

static void pool_add(struct pool *p, const char *text)
{
	p->a[p->n++] = addr_of(text);
}

static void pools_init(void)
{
	static const char *const v4_clients[] = { "100.64.0.1",	  "100.64.0.2",	  "100.64.0.3",
						  "100.64.0.4",	  "100.64.200.1", "100.64.200.2",
						  "100.64.200.3", "100.64.200.4" };
	static const char *const v6_clients[] = { "2001:db8:c::1",	"2001:db8:c::2",
						  "2001:db8:c::3",	"2001:db8:c::4",
						  "2001:db8:c:8000::1", "2001:db8:c:8000::2",
						  "2001:db8:c:8000::3", "2001:db8:c:8000::4" };
	size_t i;

	for (i = 0; i < 8; i++) {
		pool_add(&pool_client[0], v4_clients[i]);
		pool_add(&pool_client[1], v6_clients[i]);
	}
	pool_add(&pool_host[0], "192.0.2.1");
	pool_add(&pool_host[0], "10.99.0.1");
	pool_add(&pool_host[1], "2001:db8:1::1");
	pool_add(&pool_host[1], "2001:db8:2::1");
	pool_add(&pool_ctr[0], "198.51.100.8");
	pool_add(&pool_ctr[0], "198.51.100.9");
	pool_add(&pool_ctr[0], "10.99.0.8");
	pool_add(&pool_ctr[1], "fd00:c::8");
	pool_add(&pool_ctr[1], "fd00:c::9");
	pool_add(&pool_ctr[1], "2001:db8:2::8");
	pool_add(&pool_hpclient[0], "10.99.0.7");
	pool_add(&pool_hpclient[0], "10.99.0.6");
	pool_add(&pool_hpclient[1], "2001:db8:2::7");
	pool_add(&pool_hpclient[1], "2001:db8:2::6");
	pool_add(&pool_router[0], "198.51.100.1");
	pool_add(&pool_router[0], "203.0.113.254");
	pool_add(&pool_router[1], "fd00:c::1");
	pool_add(&pool_router[1], "2001:db8:c::fe");
	/* Routed, unrouted, multicast, broadcast, loopback, unspecified, neighbours. */
	pool_add(&pool_other[0], "203.0.113.9");
	pool_add(&pool_other[0], "198.18.0.9");
	pool_add(&pool_other[0], "224.0.0.5");
	pool_add(&pool_other[0], "255.255.255.255");
	pool_add(&pool_other[0], "127.0.0.1");
	pool_add(&pool_other[0], "127.1.2.3");
	pool_add(&pool_other[0], "0.0.0.0");
	pool_add(&pool_other[0], "10.99.0.255");
	pool_add(&pool_other[0], "10.99.0.2");
	pool_add(&pool_other[1], "2001:db8:ff::9");
	pool_add(&pool_other[1], "2001:db8:77::9");
	pool_add(&pool_other[1], "ff02::1");
	pool_add(&pool_other[1], "::1");
	pool_add(&pool_other[1], "::");
	pool_add(&pool_other[1], "fe80::1");
	pool_add(&pool_other[1], "::ffff:192.0.2.1");
	pool_add(&pool_other[1], "::ffff:127.0.0.1");
	pool_add(&pool_other[1], "2001:db8:2::2");
}

static int fi(int fam)
{
	return fam == 4 ? 0 : 1;
}

static struct fz_addr pick(const struct pool *p)
{
	return p->a[fz_below(&rng, (uint32_t)p->n)];
}

/* 198.18.0.0/16 or 2001:db8:99::/48: never bound, never a client of a flow. */
static struct fz_addr stranger(int fam)
{
	struct fz_addr a;

	memset(&a, 0, sizeof(a));
	if (fam == 4) {
		a.b[0] = 198;
		a.b[1] = 18;
		a.b[2] = (uint8_t)fz_below(&rng, 256);
		a.b[3] = (uint8_t)(1 + fz_below(&rng, 254));
	} else {
		memcpy(a.b, "\x20\x01\x0d\xb8\x00\x99", 6);
		fz_fill(&rng, a.b + 6, 10);
	}
	return a;
}

static struct fz_addr random_addr(int fam)
{
	struct fz_addr a;

	memset(&a, 0, sizeof(a));
	fz_fill(&rng, a.b, alen_of(fam));
	return a;
}

/* Any address of any role, or a random one. */
static struct fz_addr any_addr(int fam)
{
	switch (fz_below(&rng, 8)) {
	case 0:
		return pick(&pool_host[fi(fam)]);
	case 1:
		return pick(&pool_ctr[fi(fam)]);
	case 2:
		return pick(&pool_client[fi(fam)]);
	case 3:
		return pick(&pool_hpclient[fi(fam)]);
	case 4:
		return pick(&pool_router[fi(fam)]);
	case 5:
		return pick(&pool_other[fi(fam)]);
	case 6:
		return stranger(fam);
	default:
		return random_addr(fam);
	}
}

/* A few client ports, so that flows meet again; none published or a container's. */
static uint16_t client_port(void)
{
	return (uint16_t)(40000 + fz_below(&rng, 32));
}

static uint16_t unbound_port(void)
{
	uint16_t p;

	do
		p = (uint16_t)fz_u64(&rng);
	while (is_h(p) || is_c(p));
	return p;
}

static uint16_t any_port(void)
{
	static const uint16_t hs[] = { 80, 81, 53, 443, 8000, 8443, 9000 };
	static const uint16_t cs[] = { 8080, 5353, 8443, 8001, 9090 };

	switch (fz_below(&rng, 6)) {
	case 0:
		return hs[fz_below(&rng, 7)];
	case 1:
		return cs[fz_below(&rng, 5)];
	case 2:
		return client_port();
	case 3:
		return fz_one_in(&rng, 2) ? 0 : 65535;
	default:
		return (uint16_t)fz_u64(&rng);
	}
}

/* Destinations that are not this host's: routed elsewhere (via the veth),
 * multicast, broadcast. A wildcard binding must never match them
 * (addr_is_local in bpf/lib/local.h). Unrouted ones are left out: without
 * a default route the FIB calls them local, a documented imprecision. */
static bool never_local(int fam, const uint8_t *a)
{
	static const char *const v4[] = { "203.0.113.9", "224.0.0.5", "255.255.255.255" };
	static const char *const v6[] = { "2001:db8:ff::9", "ff02::1" };
	struct fz_addr x;

	if (fam == 4 ? (a[0] & 0xf0) == 0xe0 : a[0] == 0xff)
		return true;
	for (size_t i = 0; i < (fam == 4 ? 3 : 2); i++) {
		x = addr_of(fam == 4 ? v4[i] : v6[i]);
		if (!memcmp(x.b, a, alen_of(fam)))
			return true;
	}
	return false;
}

/* Addresses of the bindings' containers (bp_containers, as lib/dp.c keeps it). */
static bool is_container(int fam, const uint8_t *a)
{
	for (size_t i = 0; i < NBINDS; i++)
		if (binds[i].fam == fam && !memcmp(binds[i].ctr.b, a, alen_of(fam)))
			return true;
	return false;
}

static bool addr_in_prefix(const struct fz_addr *a, const struct fz_addr *pfx, int len)
{
	for (int i = 0; i < len; i++) {
		int bit = 7 - i % 8;

		if (((a->b[i / 8] >> bit) & 1) != ((pfx->b[i / 8] >> bit) & 1))
			return false;
	}
	return true;
}

/* ---- flows ---- */

struct flow {
	struct fz_tuple in, rep; /* as on the wire: client -> published, container -> client */
	uint32_t isn, sisn;
	bool hairpin;
};

#define MAX_FLOWS 16
#define RING 64
static struct flow flows[MAX_FLOWS];
static int n_flows;
static struct flow ring[RING];
static int ring_n, ring_pos;

struct fragrec {
	int fam;
	struct fz_addr s, d;
	uint8_t proto;
	uint32_t wire_id;
};
static struct fragrec frag_ring[RING];
static int frag_n, frag_pos;

static void ring_push(const struct flow *f)
{
	ring[ring_pos] = *f;
	ring_pos = (ring_pos + 1) % RING;
	if (ring_n < RING)
		ring_n++;
}

/* ---- map access ---- */

static void key_of(struct bpfport_ct_key *k, const uint8_t *buf, const struct fz_parse *p, __u8 dir)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->saddr.a, buf + p->saddr_off, p->alen);
	memcpy(k->daddr.a, buf + p->daddr_off, p->alen);
	k->sport = htons(p->sp);
	k->dport = htons(p->dp);
	k->family = dp_family(p->fam);
	k->proto = p->proto;
	k->dir = dir;
}

static void key_of_tuple(struct bpfport_ct_key *k, const struct fz_tuple *t, __u8 dir)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->saddr.a, t->s.b, alen_of(t->fam));
	memcpy(k->daddr.a, t->d.b, alen_of(t->fam));
	k->sport = htons(t->sp);
	k->dport = htons(t->dp);
	k->family = dp_family(t->fam);
	k->proto = t->proto;
	k->dir = dir;
}

/* The entry the datapath finds for k: assured flows first (ct_map_lookup). */
static bool ct_get(const struct bpfport_ct_key *k, struct bpfport_ct_val *v)
{
	return !bpf_map_lookup_elem(fd_ct, k, v) || !bpf_map_lookup_elem(fd_ct_new, k, v);
}

static bool addr_zero(const struct bpfport_addr *a)
{
	return !(a->a[0] | a->a[1] | a->a[2] | a->a[3]);
}

/* The reply tuple of the flow whose ingress tuple is `in` and entry v
 * (ct_partner_key in bpf/lib/conntrack.h, from the ingress side). */
static struct fz_tuple reply_tuple(const struct fz_tuple *in, const struct bpfport_ct_val *v)
{
	struct fz_tuple r = *in;

	memset(&r.s, 0, sizeof(r.s));
	memcpy(r.s.b, v->addr.a, alen_of(in->fam));
	r.sp = ntohs(v->port);
	if (!addr_zero(&v->peer_addr)) {
		memset(&r.d, 0, sizeof(r.d));
		memcpy(r.d.b, v->peer_addr.a, alen_of(in->fam));
	} else {
		r.d = in->s;
	}
	r.dp = v->nat_port ? ntohs(v->nat_port) : in->sp;
	return r;
}

static struct fz_tuple reversed(const struct fz_tuple *t)
{
	struct fz_tuple r = *t;

	r.s = t->d;
	r.d = t->s;
	r.sp = t->dp;
	r.dp = t->sp;
	return r;
}

/* Fragment entry for a later fragment; *age_s its age in seconds. */
static bool frag_get(const uint8_t *buf, const struct fz_parse *p, __u8 dir,
		     struct bpfport_frag_val *v, long *age_s)
{
	struct bpfport_frag_key k;
	struct timespec ts;

	memset(&k, 0, sizeof(k));
	memcpy(k.saddr.a, buf + p->saddr_off, p->alen);
	memcpy(k.daddr.a, buf + p->daddr_off, p->alen);
	k.id = p->frag_key_id;
	k.family = dp_family(p->fam);
	k.proto = p->frag_proto;
	k.dir = dir;
	if (bpf_map_lookup_elem(fd_frags, &k, v))
		return false;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	*age_s = (long)(__s32)((__u32)ts.tv_sec - v->first_seen_s);
	return true;
}

/* ---- setup ---- */

static bool setup_netns(char *why, size_t n)
{
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, n, "unshare(CLONE_NEWNET): %s", strerror(errno));
		return false;
	}
	if (!harness_write_file("/proc/sys/net/ipv4/ip_forward", "1") ||
	    !harness_write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1") ||
	    !harness_write_file("/proc/sys/net/ipv6/conf/default/forwarding", "1")) {
		snprintf(why, n, "enabling forwarding: %s", strerror(errno));
		return false;
	}
	if (system("ip link set lo up && ip addr add 192.0.2.1/32 dev lo &&"
		   " ip -6 addr add 2001:db8:1::1/128 dev lo nodad &&"
		   " ip link add bp0 type veth peer name bp1 &&"
		   " ip link set bp0 up && ip link set bp1 up &&"
		   " ip addr add 10.99.0.1/24 dev bp0 &&"
		   " ip route add 203.0.113.0/24 via 10.99.0.2 &&"
		   " ip -6 addr add 2001:db8:2::1/64 dev bp0 nodad &&"
		   " ip -6 route add 2001:db8:ff::/64 via 2001:db8:2::2")) {
		snprintf(why, n, "could not set up lo and the veth bp0");
		return false;
	}
	ifindex_br = (int)if_nametoindex("bp0");
	if (!ifindex_br) {
		snprintf(why, n, "no bp0: %s", strerror(errno));
		return false;
	}
	return true;
}

/* The loader's defaults, with flags (direct access, events). */
static bool config_write(__u32 flags)
{
	struct bpfport_config cfg = { .abi_version = BPFPORT_ABI_VERSION,
				      .flags = flags,
				      .ct_timeout_tcp = BPFPORT_CT_TIMEOUT_TCP,
				      .ct_timeout_tcp_close = BPFPORT_CT_TIMEOUT_TCP_CLOSE,
				      .ct_timeout_tcp_rst = BPFPORT_CT_TIMEOUT_TCP_RST,
				      .ct_timeout_udp = BPFPORT_CT_TIMEOUT_UDP };
	__u32 zero = 0;

	cfg_flags = flags;
	return !bpf_map_update_elem(fd_cfg, &zero, &cfg, BPF_ANY);
}

static bool install(char *why, size_t n)
{
	__u32 one = 1;
	size_t i;

	if (!config_write(0)) {
		snprintf(why, n, "writing config: %s", strerror(errno));
		return false;
	}
	for (i = 0; i < NBINDS; i++) {
		const struct binding_def *d = &BINDS[i];
		struct binding *b = &binds[i];
		struct bpfport_bind_key k;
		struct bpfport_bind_val v;
		struct bpfport_backend_key bk;

		b->fam = fam_of(d->host);
		b->proto = d->proto;
		b->host = addr_of(d->host);
		b->wildcard = !strcmp(d->host, "0.0.0.0") || !strcmp(d->host, "::");
		b->hport = d->hport;
		b->ctr = addr_of(d->ctr);
		b->cport = d->cport;
		b->allowlist = d->allow != NULL;
		if (d->allow) {
			b->allow = addr_of(d->allow);
			b->allow_len = d->allow_len;
		}
		port_h[d->hport / 8] |= (uint8_t)(1 << (d->hport % 8));
		port_c[d->cport / 8] |= (uint8_t)(1 << (d->cport % 8));

		memset(&k, 0, sizeof(k));
		memcpy(k.host_addr.a, b->host.b, alen_of(b->fam));
		k.host_port = htons(d->hport);
		k.family = dp_family(b->fam);
		k.proto = d->proto;
		memset(&v, 0, sizeof(v));
		memcpy(v.container_addr.a, b->ctr.b, alen_of(b->fam));
		v.container_port = htons(d->cport);
		v.slot = (__u32)i + 1;
		v.flags = b->allowlist ? BPFPORT_BIND_ALLOWLIST : 0;
		if (bpf_map_update_elem(fd_bind, &k, &v, BPF_ANY) ||
		    published_set(fd_published, k.family, d->proto, d->hport, true)) {
			snprintf(why, n, "adding binding %s:%u: %s", d->host, d->hport,
				 strerror(errno));
			return false;
		}
		memset(&bk, 0, sizeof(bk));
		bk.addr = v.container_addr;
		bk.port = v.container_port;
		bk.family = k.family;
		bk.proto = d->proto;
		if (bpf_map_update_elem(fd_backends, &bk, &one, BPF_ANY)) {
			snprintf(why, n, "adding backend: %s", strerror(errno));
			return false;
		}
		{
			struct bpfport_container_key ck;
			__u32 cnt = 0;

			memset(&ck, 0, sizeof(ck));
			ck.addr = v.container_addr;
			ck.family = k.family;
			bpf_map_lookup_elem(fd_containers, &ck, &cnt);
			cnt++;
			if (bpf_map_update_elem(fd_containers, &ck, &cnt, BPF_ANY)) {
				snprintf(why, n, "adding container: %s", strerror(errno));
				return false;
			}
		}
		if (b->allowlist) {
			struct bpfport_allow_key ak;
			__u8 yes = 1;

			memset(&ak, 0, sizeof(ak));
			ak.prefixlen = 32 + (__u32)d->allow_len;
			ak.slot = v.slot;
			memcpy(ak.addr, b->allow.b, alen_of(b->fam));
			if (bpf_map_update_elem(fd_allow, &ak, &yes, BPF_ANY)) {
				snprintf(why, n, "adding allow-list: %s", strerror(errno));
				return false;
			}
		}
	}
	return true;
}

/* ---- running a program ---- */

struct run {
	uint8_t out[FZ_MAX + 256];
	uint32_t len;
	int ret;
};

static int run_once(int prog, const uint8_t *in, size_t len, int ifindex, struct run *r)
{
	struct __sk_buff ctx;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .repeat = 1);

	if (prog != P_XDP) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.ingress_ifindex = (__u32)ifindex;
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}
	double t = now_s();
	int err = bpf_prog_test_run_opts(prog_fd[prog], &opts) ? -errno : 0;

	st_time[prog] += now_s() - t;
	if (err)
		return err;
	r->len = opts.data_size_out;
	r->ret = (int)opts.retval;
	return 0;
}

enum { V_PASS, V_DROP, V_REDIRECT, V_BAD };
#define VB(v) (1u << (v))

static int verdict_of(int prog, int ret)
{
	if (prog == P_XDP)
		return ret == XDP_PASS ? V_PASS : ret == XDP_DROP ? V_DROP : V_BAD;
	if (ret == TC_ACT_UNSPEC)
		return V_PASS;
	if (ret == TC_ACT_SHOT && prog != P_TC_OUT)
		return V_DROP;
	if (ret == TC_ACT_REDIRECT && prog == P_BRIDGE)
		return V_REDIRECT;
	return V_BAD;
}

static const char *const verdict_name[] = { "pass", "drop", "redirect", "?" };

/* ---- test cases ---- */

enum kind {
	K_EXACT, /* built well-formed: exact output predicted */
	K_UNBOUND, /* built to match nothing: must pass unchanged */
	K_LOOSE, /* mutated or random bytes: generic invariants only */
};

struct pcase {
	const char *cls;
	enum kind kind;
	uint8_t in[FZ_MAX];
	size_t len;
	bool csums_valid;
};

static void fail(int prog, const struct pcase *c, const struct run *r, const uint8_t *want,
		 size_t want_len, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(failed_why[prog], sizeof(failed_why[prog]),
		 "%s, %s iteration %llu (seed %llu), %s packet: %s", prog_name[prog], phase, iter,
		 seed_arg, c->cls, msg);
	printf("dpfuzz: %s\n", failed_why[prog]);
	printf("  reproduce: dpfuzz -s %llu -n %llu\n", seed_arg,
	       strcmp(phase, "random") ? 0ULL : iter + 1);
	pkt_hexdump("input", c->in, c->len);
	if (r)
		pkt_hexdump("output", r->out, r->len);
	if (want)
		pkt_hexdump("expected", want, want_len);
	fflush(stdout);
	failed[prog] = true;
	n_failed++;
}

/* ---- checksum helpers on parsed packets ---- */

static uint16_t hdr_residue(const uint8_t *buf, size_t l3, size_t ihl)
{
	return fz_fold(pkt_sum16(buf + l3, ihl, 0));
}

/* Recompute a checksum field at off so that the region's residue is res. */
static void csum_set_residue(uint8_t *buf, size_t off, uint32_t sum_without, uint16_t res, bool udp)
{
	uint16_t c = (uint16_t)~fz_fold(sum_without + (uint16_t)~res);

	if (udp && c == 0)
		c = 0xffff;
	fz_put16(buf, off, c);
}

static void ip_csum_keep(uint8_t *x, const uint8_t *in, size_t l3, size_t ihl)
{
	uint16_t res = hdr_residue(in, l3, ihl);

	fz_put16(x, l3 + 10, 0);
	csum_set_residue(x, l3 + 10, pkt_sum16(x + l3, ihl, 0), res, false);
}

/* The pseudo-header seed of a CHECKSUM_PARTIAL packet (bpf/lib/csum.h). */
static uint16_t seed_of(const uint8_t *buf, const struct fz_parse *p)
{
	return fz_fold(fz_pseudo(buf, p, p->proto, p->end - p->l4));
}

/* Sum of the fields an L4 rewrite touches, the checksum included. */
static uint32_t l4_fields_sum(const uint8_t *buf, size_t saddr, size_t daddr, size_t alen,
			      size_t l4, size_t csum_off)
{
	uint32_t s = pkt_sum16(buf + saddr, alen, 0);

	s = pkt_sum16(buf + daddr, alen, s);
	s = pkt_sum16(buf + l4, 4, s);
	return s + fz_get16(buf, csum_off);
}

/* ---- layer 1: invariants for any packet ---- */

static bool frag_ours(const uint8_t *in, const struct fz_parse *p, __u8 dir)
{
	struct bpfport_frag_val v;
	long age;

	return frag_get(in, p, dir, &v, &age);
}

/* Could the program rewrite this packet at all? By construction of the
 * maps: ingress entries and bindings have a published destination port,
 * reply entries a container source port, fragment entries an exact key. */
static bool ours(int prog, const uint8_t *in, const struct fz_parse *p)
{
	bool ingress = prog != P_TC_OUT, egress = prog == P_TC_OUT || prog == P_BRIDGE;

	if (!p->l3)
		return false;
	if (p->later)
		return (ingress && frag_ours(in, p, BPFPORT_CT_INGRESS)) ||
		       (egress && frag_ours(in, p, BPFPORT_CT_REPLY));
	if (p->has_ports)
		return (ingress && is_h(p->dp)) || (egress && is_c(p->sp));
	if (p->icmp && p->q.has_ports)
		return (ingress && is_h(p->q.sp)) || (egress && is_c(p->q.dp));
	return false;
}

static void mark(uint8_t *m, size_t len, size_t off, size_t n)
{
	for (size_t i = off; i < off + n && i < len; i++)
		m[i] = 1;
}

static bool check_generic(int prog, const struct pcase *c, const struct fz_parse *p,
			  const struct run *r, char *w, size_t wn)
{
	static const unsigned allowed[NPROG] = {
		VB(V_PASS) | VB(V_DROP),
		VB(V_PASS) | VB(V_DROP),
		VB(V_PASS),
		VB(V_PASS) | VB(V_DROP) | VB(V_REDIRECT),
	};
	const uint8_t *in = c->in, *out = r->out;
	int v = verdict_of(prog, r->ret);
	bool changed = r->len != c->len || memcmp(in, out, c->len);
	bool mine;
	uint8_t m[FZ_MAX];
	size_t i;

	if (v == V_BAD || !(allowed[prog] & VB(v))) {
		snprintf(w, wn, "returned %d, not one of the program's verdicts", r->ret);
		return false;
	}
	if (!changed && v == V_PASS)
		return true;
	/* The direct-access guard drops packets to container addresses. */
	if (!changed && v == V_DROP && (prog == P_XDP || prog == P_TC_IN) && p->l3 &&
	    is_container(p->fam, in + p->daddr_off))
		return true;
	mine = ours(prog, in, p);
	if (!mine) {
		snprintf(w, wn, "%s a packet that names no binding, flow or fragment entry",
			 changed ? "rewrote" : verdict_name[v]);
		return false;
	}
	if (!changed)
		return true;
	if (r->len != c->len) {
		snprintf(w, wn, "length changed from %zu to %u", c->len, r->len);
		return false;
	}
	if (!p->len_ok) {
		snprintf(w, wn, "rewrote a packet whose IP length field is inconsistent");
		return false;
	}

	memset(m, 0, c->len);
	if (p->fam == 4)
		mark(m, c->len, p->l3 + 10, 2);
	mark(m, c->len, p->saddr_off, p->alen);
	mark(m, c->len, p->daddr_off, p->alen);
	if (!p->later && p->has_ports) {
		mark(m, c->len, p->l4, 4);
		if (p->csum_off)
			mark(m, c->len, p->csum_off, 2);
	}
	if (!p->later && p->icmp) {
		mark(m, c->len, p->l4 + 2, 2);
		if (p->q.ok) {
			if (p->q.fam == 4)
				mark(m, c->len, p->q.l3 + 10, 2);
			mark(m, c->len, p->q.saddr_off, p->q.alen);
			mark(m, c->len, p->q.daddr_off, p->q.alen);
			if (p->q.has_ports)
				mark(m, c->len, p->q.l4, 4);
			if (p->q.csum_off)
				mark(m, c->len, p->q.csum_off, 2);
		}
	}
	for (i = 0; i < c->len; i++) {
		if (in[i] != out[i] && !m[i]) {
			snprintf(w, wn,
				 "byte %zu changed (0x%02x -> 0x%02x): not an address, port "
				 "or checksum",
				 i, in[i], out[i]);
			return false;
		}
	}

	if (p->fam == 4 && hdr_residue(in, p->l3, p->ihl) != hdr_residue(out, p->l3, p->ihl)) {
		snprintf(w, wn,
			 "IPv4 header checksum 0x%04x (was 0x%04x) does not follow the rewrite",
			 fz_get16(out, p->l3 + 10), fz_get16(in, p->l3 + 10));
		return false;
	}
	if (!p->later && p->has_ports) {
		uint16_t ic, oc;

		if (!p->csum_off || p->csum_off + 2 > p->end) {
			snprintf(w, wn, "rewrote a TCP/UDP header cut short of its checksum");
			return false;
		}
		ic = fz_get16(in, p->csum_off);
		oc = fz_get16(out, p->csum_off);
		if (p->proto == FZ_UDP && ic == 0) {
			if (oc != 0) {
				snprintf(w, wn, "UDP checksum 0 (none) became 0x%04x", oc);
				return false;
			}
		} else if (prog == P_XDP && ic == seed_of(in, p)) {
			if (oc != seed_of(out, p)) {
				snprintf(w, wn,
					 "partial checksum (seed 0x%04x) became 0x%04x, "
					 "new seed 0x%04x",
					 ic, oc, seed_of(out, p));
				return false;
			}
		} else {
			uint16_t a = fz_fold(l4_fields_sum(in, p->saddr_off, p->daddr_off, p->alen,
							   p->l4, p->csum_off));
			uint16_t b = fz_fold(l4_fields_sum(out, p->saddr_off, p->daddr_off, p->alen,
							   p->l4, p->csum_off));

			if (a != b || (p->proto == FZ_UDP && oc == 0)) {
				snprintf(w, wn,
					 "%s checksum 0x%04x does not follow the rewrite "
					 "(was 0x%04x)",
					 p->proto == FZ_TCP ? "TCP" : "UDP", oc, ic);
				return false;
			}
		}
	}
	if (!p->later && p->icmp) {
		const struct fz_quote *q = &p->q;
		uint32_t si = p->fam == 6 ? fz_pseudo(in, p, FZ_ICMP6, p->end - p->l4) : 0;
		uint32_t so = p->fam == 6 ? fz_pseudo(out, p, FZ_ICMP6, p->end - p->l4) : 0;

		if (p->l4 + 8 > p->end ||
		    fz_fold(pkt_sum16(in + p->l4, p->end - p->l4, si)) !=
			    fz_fold(pkt_sum16(out + p->l4, p->end - p->l4, so))) {
			snprintf(w, wn,
				 "ICMP checksum 0x%04x does not follow the rewrite (was 0x%04x)",
				 fz_get16(out, p->l4 + 2), fz_get16(in, p->l4 + 2));
			return false;
		}
		if (q->ok && q->fam == 4 && q->ihl >= 20 && q->l3 + q->ihl <= p->end &&
		    hdr_residue(in, q->l3, q->ihl) != hdr_residue(out, q->l3, q->ihl)) {
			snprintf(w, wn, "quoted IPv4 header checksum does not follow the rewrite");
			return false;
		}
		if (q->has_ports && q->csum_off && q->csum_off + 2 <= p->end) {
			uint16_t ic = fz_get16(in, q->csum_off), oc = fz_get16(out, q->csum_off);

			if (q->proto == FZ_UDP && ic == 0 ?
				    oc != 0 :
				    fz_fold(l4_fields_sum(in, q->saddr_off, q->daddr_off, q->alen,
							  q->l4, q->csum_off)) !=
					    fz_fold(l4_fields_sum(out, q->saddr_off, q->daddr_off,
								  q->alen, q->l4, q->csum_off))) {
				snprintf(w, wn,
					 "quoted %s checksum 0x%04x does not follow the "
					 "rewrite (was 0x%04x)",
					 q->proto == FZ_TCP ? "TCP" : "UDP", oc, ic);
				return false;
			}
		}
	}
	return true;
}

/* ---- layer 2: exact outputs for well-formed packets ---- */

struct expect {
	bool un_ok; /* unchanged is right, with a verdict in un_v */
	unsigned un_v;
	bool x_ok; /* the translation x is right, with a verdict in x_v */
	unsigned x_v;
	const char *x_what;
	uint8_t x[FZ_MAX];
};

static void expect_unchanged(struct expect *e, unsigned verdicts)
{
	e->un_ok = true;
	e->un_v |= verdicts;
}

/* The datapath's rewrite of a TCP/UDP packet by entry v: the destination
 * (dst) or source endpoint, the other port if remapped, the other address
 * for hairpin flows (nat_rewrite in bpf/lib/nat.h). */
static void l4_apply(uint8_t *x, const uint8_t *in, const struct fz_parse *p, bool dst,
		     const struct bpfport_ct_val *v, bool xdp)
{
	size_t l4len = p->end - p->l4;
	uint16_t ic = fz_get16(in, p->csum_off);
	bool udp0 = p->proto == FZ_UDP && ic == 0;
	bool partial = xdp && ic == seed_of(in, p);
	uint16_t res = fz_fold(fz_pseudo(in, p, p->proto, l4len) + pkt_sum16(in + p->l4, l4len, 0));

	memcpy(x, in, p->len);
	memcpy(x + (dst ? p->daddr_off : p->saddr_off), v->addr.a, p->alen);
	fz_put16(x, p->l4 + (dst ? 2 : 0), ntohs(v->port));
	if (v->nat_port)
		fz_put16(x, p->l4 + (dst ? 0 : 2), ntohs(v->nat_port));
	if (!addr_zero(&v->peer_addr))
		memcpy(x + (dst ? p->saddr_off : p->daddr_off), v->peer_addr.a, p->alen);
	if (p->fam == 4)
		ip_csum_keep(x, in, p->l3, p->ihl);
	if (udp0)
		return;
	if (partial) {
		fz_put16(x, p->csum_off, seed_of(x, p));
		return;
	}
	fz_put16(x, p->csum_off, 0);
	csum_set_residue(x, p->csum_off,
			 fz_pseudo(x, p, p->proto, l4len) + pkt_sum16(x + p->l4, l4len, 0), res,
			 p->proto == FZ_UDP);
}

/* The quote of an ICMP error as the datapath reads it (icmp_parse_quote). */
static bool dp_quote(const uint8_t *in, const struct fz_parse *p, struct fz_quote *q)
{
	const struct fz_quote *lq = &p->q;
	size_t q3 = p->l4 + 8, end = p->end, coff;

	memset(q, 0, sizeof(*q));
	if (!lq->ok || lq->fam != p->fam)
		return false;
	*q = *lq;
	if (p->fam == 4) {
		if (q3 + 20 > p->len || q->ihl < 20 || (fz_get16(in, q3 + 6) & 0x1fff) ||
		    q3 + q->ihl > end)
			return false;
		q->l4 = q3 + q->ihl;
		q->proto = in[q3 + 9];
	} else {
		if (q3 + 40 > end)
			return false;
		q->proto = in[q3 + 6]; /* extension headers are not walked */
		q->l4 = q3 + 40;
	}
	if (q->proto != FZ_TCP && q->proto != FZ_UDP)
		return false;
	if (q->l4 + 4 > end)
		return false;
	q->sp = fz_get16(in, q->l4);
	q->dp = fz_get16(in, q->l4 + 2);
	coff = q->l4 + (q->proto == FZ_TCP ? 16 : 6);
	q->csum_off = coff + 2 <= end && !(q->proto == FZ_UDP && fz_get16(in, coff) == 0) ? coff :
											    0;
	return true;
}

/* The datapath's rewrite of an ICMP error about flow v (icmp_translate). */
static void icmp_apply(uint8_t *x, const uint8_t *in, const struct fz_parse *p,
		       const struct fz_quote *q, __u8 dir, const struct bpfport_ct_val *v)
{
	bool reply = dir == BPFPORT_CT_REPLY, peer = !addr_zero(&v->peer_addr);
	size_t qa_main = reply ? q->daddr_off : q->saddr_off;
	size_t qa_peer = reply ? q->saddr_off : q->daddr_off;
	size_t qp_main = q->l4 + (reply ? 2 : 0), qp_peer = q->l4 + (reply ? 0 : 2);
	size_t mlen = p->end - p->l4;
	uint16_t qres = 0, icmp_res;

	if (q->csum_off)
		qres = fz_fold(
			l4_fields_sum(in, q->saddr_off, q->daddr_off, q->alen, q->l4, q->csum_off));
	icmp_res = fz_fold(
		pkt_sum16(in + p->l4, mlen, p->fam == 6 ? fz_pseudo(in, p, FZ_ICMP6, mlen) : 0));
	memcpy(x, in, p->len);
	memcpy(x + qa_main, v->addr.a, q->alen);
	fz_put16(x, qp_main, ntohs(v->port));
	if (peer)
		memcpy(x + qa_peer, v->peer_addr.a, q->alen);
	if (v->nat_port)
		fz_put16(x, qp_peer, ntohs(v->nat_port));
	if (!reply || !memcmp(in + p->saddr_off, in + qa_main, p->alen))
		memcpy(x + (reply ? p->saddr_off : p->daddr_off), v->addr.a, p->alen);
	if (peer)
		memcpy(x + (reply ? p->daddr_off : p->saddr_off), v->peer_addr.a, p->alen);

	if (q->fam == 4)
		ip_csum_keep(x, in, q->l3, q->ihl);
	if (q->csum_off) {
		fz_put16(x, q->csum_off, 0);
		csum_set_residue(x, q->csum_off,
				 l4_fields_sum(x, q->saddr_off, q->daddr_off, q->alen, q->l4,
					       q->csum_off),
				 qres, q->proto == FZ_UDP);
	}
	if (p->fam == 4)
		ip_csum_keep(x, in, p->l3, p->ihl);
	fz_put16(x, p->l4 + 2, 0);
	csum_set_residue(x, p->l4 + 2,
			 pkt_sum16(x + p->l4, mlen,
				   p->fam == 6 ? fz_pseudo(x, p, FZ_ICMP6, mlen) : 0),
			 icmp_res, false);
}

static bool is_loopback(const uint8_t *buf, const struct fz_parse *p)
{
	const uint8_t *d = buf + p->daddr_off;

	if (p->fam == 4)
		return d[0] == 127;
	if (!memcmp(d, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) /* IPv4-mapped */
		return d[12] == 127;
	return !memcmp(d, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
}

/*
 * The direct-access guard (bpf/lib/guard.h): unless the configuration allows
 * direct access, an ingress packet to a container address that nothing
 * translated is dropped, but for answers to a connection the container
 * opened (bp_outbound, fresh within the TCP or UDP timeout). Returns the
 * verdicts the guard allows: drop, pass, or both at the timeout's edge.
 */
static unsigned guard_verdicts(const uint8_t *in, const struct fz_parse *p)
{
	struct bpfport_ct_key k;
	struct timespec ts;
	__u64 seen;
	long long age, timeout;

	if ((cfg_flags & BPFPORT_CFG_DIRECT_ACCESS_ALLOW) ||
	    !is_container(p->fam, in + p->daddr_off))
		return VB(V_PASS);
	memset(&k, 0, sizeof(k));
	memcpy(k.saddr.a, in + p->saddr_off, p->alen);
	memcpy(k.daddr.a, in + p->daddr_off, p->alen);
	if (p->proto == FZ_TCP || p->proto == FZ_UDP) {
		k.sport = htons(p->sp);
		k.dport = htons(p->dp);
	}
	k.family = dp_family(p->fam);
	k.proto = p->proto;
	k.dir = BPFPORT_CT_REPLY;
	if (bpf_map_lookup_elem(fd_outbound, &k, &seen))
		return VB(V_DROP);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	age = ((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec - (long long)seen) / 1000000000LL;
	timeout = p->proto == FZ_TCP ? BPFPORT_CT_TIMEOUT_TCP : BPFPORT_CT_TIMEOUT_UDP;
	if (age < timeout - 2)
		return VB(V_PASS);
	return age > timeout + 2 ? VB(V_DROP) : VB(V_PASS) | VB(V_DROP);
}

/* A packet to an allow-listed binding from a source outside its list. */
static bool allowlist_drops(const uint8_t *in, const struct fz_parse *p)
{
	for (size_t i = 0; i < NBINDS; i++) {
		const struct binding *b = &binds[i];
		struct fz_addr s;

		if (!b->allowlist || b->fam != p->fam || b->proto != p->proto ||
		    b->hport != p->dp || memcmp(b->host.b, in + p->daddr_off, p->alen))
			continue;
		memset(&s, 0, sizeof(s));
		memcpy(s.b, in + p->saddr_off, p->alen);
		return !addr_in_prefix(&s, &b->allow, b->allow_len);
	}
	return false;
}

/* What was known before the run, for the admission checks. */
struct pre {
	bool no_ingress_entry; /* looked up, and no ingress entry for the tuple */
};

static const char *policy_why;

static void expect_l4(int prog, const uint8_t *in, const struct fz_parse *p, struct expect *e,
		      const struct pre *pre)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;
	bool synack = p->proto == FZ_TCP &&
		      (p->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK);
	unsigned blocked = allowlist_drops(in, p) ? VB(V_DROP) : VB(V_PASS);

	/* Ingress: what no binding or flow translated meets the guard. */
	if (prog != P_BRIDGE && blocked == VB(V_PASS))
		blocked = guard_verdicts(in, p);

	if (prog == P_TC_OUT) {
		key_of(&k, in, p, BPFPORT_CT_REPLY);
		if (!ct_get(&k, &v)) {
			expect_unchanged(e, VB(V_PASS));
			return;
		}
		l4_apply(e->x, in, p, false, &v, false);
		e->x_ok = true;
		e->x_v = VB(V_PASS);
		e->x_what = "reply entry";
		if (synack) /* a SYN-ACK that answers another connection stays */
			expect_unchanged(e, VB(V_PASS));
		return;
	}
	if (is_loopback(in, p)) {
		expect_unchanged(e, VB(V_PASS));
		return;
	}
	key_of(&k, in, p, BPFPORT_CT_INGRESS);
	if (ct_get(&k, &v)) {
		/* Admission: only a SYN opens a TCP flow; a wildcard binding
		 * matches only the host's own addresses. */
		if (pre->no_ingress_entry && p->proto == FZ_TCP &&
		    (p->tcp_flags & (TCP_SYN | TCP_ACK)) != TCP_SYN) {
			policy_why = "a TCP packet without SYN (or a SYN-ACK) opened a flow";
			expect_unchanged(e, blocked);
			return;
		}
		if (never_local(p->fam, in + p->daddr_off)) {
			policy_why =
				"a packet to an address not of this host opened or used a flow";
			expect_unchanged(e, blocked);
			return;
		}
		l4_apply(e->x, in, p, true, &v, prog == P_XDP);
		e->x_ok = true;
		e->x_v = prog == P_BRIDGE && !addr_zero(&v.peer_addr) ? VB(V_REDIRECT) : VB(V_PASS);
		e->x_what = "ingress entry";
		return;
	}
	if (prog == P_BRIDGE) {
		key_of(&k, in, p, BPFPORT_CT_REPLY);
		if (ct_get(&k, &v)) {
			if (addr_zero(&v.peer_addr)) {
				expect_unchanged(e, VB(V_PASS));
				return;
			}
			l4_apply(e->x, in, p, false, &v, false);
			e->x_ok = true;
			e->x_v = VB(V_REDIRECT);
			e->x_what = "hairpin reply entry";
			if (synack)
				expect_unchanged(e, VB(V_PASS));
			return;
		}
	}
	expect_unchanged(e, blocked);
}

static void expect_icmp(int prog, const uint8_t *in, const struct fz_parse *p, struct expect *e)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;
	struct fz_quote q;
	static const __u8 dirs[NPROG][2] = {
		{ BPFPORT_CT_INGRESS, 0xff },
		{ BPFPORT_CT_INGRESS, 0xff },
		{ BPFPORT_CT_REPLY, 0xff },
		{ BPFPORT_CT_REPLY, BPFPORT_CT_INGRESS },
	};

	if (!fz_icmp_is_error(p->fam, p->icmp_type) || !dp_quote(in, p, &q)) {
		/* An echo request opens an exchange: it meets the guard on ingress. */
		if ((prog == P_XDP || prog == P_TC_IN) && p->icmp_type == (p->fam == 4 ? 8 : 128))
			expect_unchanged(e, guard_verdicts(in, p));
		else
			expect_unchanged(e, VB(V_PASS));
		return;
	}
	for (int i = 0; i < 2 && dirs[prog][i] != 0xff; i++) {
		__u8 dir = dirs[prog][i];

		memset(&k, 0, sizeof(k));
		memcpy(k.saddr.a, in + q.daddr_off, q.alen);
		memcpy(k.daddr.a, in + q.saddr_off, q.alen);
		k.sport = htons(q.dp);
		k.dport = htons(q.sp);
		k.family = dp_family(p->fam);
		k.proto = q.proto;
		k.dir = dir;
		if (!ct_get(&k, &v))
			continue;
		if (prog == P_BRIDGE && addr_zero(&v.peer_addr))
			continue; /* the bridge translates errors of hairpin flows only */
		icmp_apply(e->x, in, p, &q, dir, &v);
		e->x_ok = true;
		e->x_v = prog == P_BRIDGE ? VB(V_REDIRECT) : VB(V_PASS);
		e->x_what = dir == BPFPORT_CT_REPLY ? "ICMP error about a reply-direction flow" :
						      "ICMP error about an ingress-direction flow";
		return;
	}
	expect_unchanged(e, VB(V_PASS));
}

static void expect_frag(int prog, const uint8_t *in, const struct fz_parse *p, struct expect *e)
{
	struct bpfport_frag_val v;
	__u8 dir = prog == P_TC_OUT ? BPFPORT_CT_REPLY : BPFPORT_CT_INGRESS;
	long age;

	if (prog == P_BRIDGE || !frag_get(in, p, dir, &v, &age) || age > 61) {
		expect_unchanged(e, VB(V_PASS));
		return;
	}
	memcpy(e->x, in, p->len);
	memcpy(e->x + (dir == BPFPORT_CT_INGRESS ? p->daddr_off : p->saddr_off), v.addr.a, p->alen);
	if (p->fam == 4)
		ip_csum_keep(e->x, in, p->l3, p->ihl);
	e->x_ok = true;
	e->x_v = VB(V_PASS);
	e->x_what = "fragment entry";
	if (age >= 59) /* at the timeout: either */
		expect_unchanged(e, VB(V_PASS));
}

/* What the datapath makes of a well-formed packet (bpf/lib/parse.h). */
enum path { PATH_NONE, PATH_L4, PATH_ICMP, PATH_FRAG };

static enum path dp_path(const struct fz_parse *p, bool *may_skip)
{
	*may_skip = p->fam == 6 && p->n_ext > DP_IPV6_EXT_MAX;
	if (!p->l3 || !p->len_ok || p->l3 != FZ_ETH_LEN)
		return PATH_NONE;
	if (p->later)
		return PATH_FRAG;
	if (!p->l4)
		return PATH_NONE;
	if (p->proto == FZ_TCP)
		return p->l4 + 20 <= p->end && p->tcp_doff >= 5 ? PATH_L4 : PATH_NONE;
	if (p->proto == FZ_UDP)
		return p->l4 + 8 <= p->end ? PATH_L4 : PATH_NONE;
	if (p->icmp)
		return p->l4 + 8 <= p->end ? PATH_ICMP : PATH_NONE;
	return PATH_NONE;
}

/* Equal, but for checksum fields where 0x0000 and 0xffff are the same
 * ones'-complement zero (never a UDP one, where 0 means none). */
static bool same_output(const struct run *r, const uint8_t *want, size_t len,
			const struct fz_parse *p)
{
	size_t tol[4], nt = 0;

	if (r->len != len)
		return false;
	if (!memcmp(r->out, want, len))
		return true;
	if (p->fam == 4)
		tol[nt++] = p->l3 + 10;
	if (p->has_ports && p->proto == FZ_TCP && p->csum_off)
		tol[nt++] = p->csum_off;
	if (p->icmp) {
		tol[nt++] = p->l4 + 2;
		if (p->q.ok && p->q.fam == 4)
			tol[nt++] = p->q.l3 + 10;
	}
	for (size_t i = 0; i < len; i++) {
		size_t j;

		if (r->out[i] == want[i])
			continue;
		for (j = 0; j < nt; j++) {
			size_t o = tol[j];

			if ((i == o || i == o + 1) &&
			    (fz_get16(r->out, o) | fz_get16(want, o)) == 0xffff &&
			    (fz_get16(r->out, o) == 0 || fz_get16(want, o) == 0))
				break;
		}
		if (j == nt)
			return false;
	}
	return true;
}

static void check_exact(int prog, const struct pcase *c, const struct fz_parse *p,
			const struct run *r, const struct pre *pre)
{
	static struct expect e;
	bool may_skip;
	int v = verdict_of(prog, r->ret);
	bool unchanged = r->len == c->len && !memcmp(r->out, c->in, c->len);
	char bad[256];

	e.un_ok = e.x_ok = false;
	e.un_v = e.x_v = 0;
	e.x_what = "";
	policy_why = NULL;
	switch (dp_path(p, &may_skip)) {
	case PATH_L4:
		expect_l4(prog, c->in, p, &e, pre);
		break;
	case PATH_ICMP:
		expect_icmp(prog, c->in, p, &e);
		break;
	case PATH_FRAG:
		expect_frag(prog, c->in, p, &e);
		break;
	default:
		expect_unchanged(&e, VB(V_PASS));
	}
	if (may_skip)
		expect_unchanged(&e, VB(V_PASS));

	if (policy_why) {
		fail(prog, c, r, NULL, 0, "%s", policy_why);
		return;
	}
	if (e.un_ok && unchanged && (e.un_v & VB(v)))
		return;
	if (e.x_ok && same_output(r, e.x, c->len, p) && (e.x_v & VB(v))) {
		st_exact[prog]++;
		/* From scratch too, when the input's checksums were right. */
		if (c->csums_valid && !unchanged && p->has_ports && !p->first &&
		    !(p->fam == 6 && p->proto == FZ_UDP && !fz_get16(c->in, p->csum_off)) &&
		    !(prog == P_XDP && fz_get16(c->in, p->csum_off) == seed_of(c->in, p)) &&
		    !pkt_verify(r->out, r->len, bad, sizeof(bad))) {
			fail(prog, c, r, NULL, 0, "translated output (%s): %s", e.x_what, bad);
		}
		return;
	}
	if (e.x_ok && !unchanged && !same_output(r, e.x, c->len, p)) {
		fail(prog, c, r, e.x, c->len, "output differs from the translation by the %s%s",
		     e.x_what, e.un_ok ? " (or the unchanged input)" : "");
		return;
	}
	if (e.x_ok && !e.un_ok && unchanged) {
		fail(prog, c, r, e.x, c->len, "left unchanged, but the %s translates it", e.x_what);
		return;
	}
	if (!e.x_ok && !unchanged) {
		fail(prog, c, r, c->in, c->len, "rewrote a packet that no entry translates");
		return;
	}
	fail(prog, c, r, NULL, 0, "verdict %s (%d), expected %s%s%s", verdict_name[v], r->ret,
	     unchanged ? (e.un_v & VB(V_DROP) ? "drop" : "pass") :
			 (e.x_v & VB(V_REDIRECT) ? "redirect" : "pass"),
	     e.x_ok && e.un_ok ? " or the other outcome" : "", "");
}

/* ---- running a case through every program ---- */

static int choose_ifindex(int prog)
{
	switch (prog) {
	case P_TC_IN:
		return fz_one_in(&rng, 3) ? ifindex_br : ifindex_lo;
	case P_BRIDGE:
		return fz_one_in(&rng, 5) ? ifindex_lo : ifindex_br;
	case P_TC_OUT:
		return ifindex_lo;
	default:
		return 0;
	}
}

static void remember(const struct pcase *c, const struct fz_parse *p)
{
	bool skip;
	enum path path = dp_path(p, &skip);
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;

	if (c->kind != K_EXACT || path != PATH_L4 || skip)
		return;
	if (p->first) {
		struct fragrec *f = &frag_ring[frag_pos];

		f->fam = p->fam;
		memset(&f->s, 0, sizeof(f->s));
		memset(&f->d, 0, sizeof(f->d));
		memcpy(f->s.b, c->in + p->saddr_off, p->alen);
		memcpy(f->d.b, c->in + p->daddr_off, p->alen);
		f->proto = p->frag_proto;
		f->wire_id = p->fam == 4 ? ntohs((uint16_t)p->frag_key_id) : ntohl(p->frag_key_id);
		frag_pos = (frag_pos + 1) % RING;
		if (frag_n < RING)
			frag_n++;
	}
	if (is_h(p->dp)) {
		key_of(&k, c->in, p, BPFPORT_CT_INGRESS);
		if (ct_get(&k, &v)) {
			struct flow f;

			memset(&f, 0, sizeof(f));
			f.in.fam = (uint8_t)p->fam;
			f.in.proto = p->proto;
			memcpy(f.in.s.b, c->in + p->saddr_off, p->alen);
			memcpy(f.in.d.b, c->in + p->daddr_off, p->alen);
			f.in.sp = p->sp;
			f.in.dp = p->dp;
			f.rep = reply_tuple(&f.in, &v);
			f.isn = p->seq;
			f.sisn = (uint32_t)fz_u64(&rng);
			f.hairpin = !addr_zero(&v.peer_addr);
			ring_push(&f);
		}
	}
}

/*
 * The kernel's skb test run refuses some inputs whatever the program (6.18:
 * an IPv4 frame shorter than an IPv4 header, an IPv6 one shorter than an
 * IPv6 header). A run that fails is tried again on a TC program that only
 * returns TC_ACT_UNSPEC: refused there too, it is the kernel's limit, not the
 * datapath's failure, and such frames are left to xdp_ingress.
 */
static int tc_probe_fd = -1;

static bool tc_probe_load(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_UNSPEC },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	tc_probe_fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "dpfuzz_probe", "GPL", insns, 2, NULL);
	return tc_probe_fd >= 0;
}

static bool skb_run_refused(const uint8_t *in, size_t len, int ifindex)
{
	static struct run r;
	int fd = prog_fd[P_TC_IN], err;

	prog_fd[P_TC_IN] = tc_probe_fd;
	err = run_once(P_TC_IN, in, len, ifindex, &r);
	prog_fd[P_TC_IN] = fd;
	return err != 0;
}

static void run_case(struct pcase *c)
{
	struct fz_parse p;
	static struct run r;
	struct pre pre;
	char w[512];

	fz_parse(c->in, c->len, &p);
	for (int prog = 0; prog < NPROG; prog++) {
		int ifx = choose_ifindex(prog), err;
		bool unchanged;

		if (failed[prog])
			continue;
		memset(&pre, 0, sizeof(pre));
		if (c->kind == K_EXACT && prog != P_TC_OUT && p.has_ports && p.proto == FZ_TCP &&
		    is_h(p.dp) && (p.tcp_flags & (TCP_SYN | TCP_ACK)) != TCP_SYN) {
			struct bpfport_ct_key k;
			struct bpfport_ct_val v;

			key_of(&k, c->in, &p, BPFPORT_CT_INGRESS);
			pre.no_ingress_entry = !ct_get(&k, &v);
		}
		err = run_once(prog, c->in, c->len, ifx, &r);
		if (err && prog != P_XDP && skb_run_refused(c->in, c->len, ifx)) {
			st_refused++;
			continue;
		}
		if (err) {
			fail(prog, c, NULL, NULL, 0, "test run failed: %s", strerror(-err));
			continue;
		}
		st_runs[prog]++;
		unchanged = r.len == c->len && !memcmp(r.out, c->in, c->len);
		if (!unchanged)
			st_changed[prog]++;
		if (verdict_of(prog, r.ret) == V_DROP)
			st_drop[prog]++;
		if (verdict_of(prog, r.ret) == V_REDIRECT)
			st_redirect[prog]++;
		count_class(c->cls, !unchanged, verdict_of(prog, r.ret) == V_DROP, prog == 0);
		if (!check_generic(prog, c, &p, &r, w, sizeof(w))) {
			fail(prog, c, &r, NULL, 0, "%s", w);
			continue;
		}
		if (c->kind == K_UNBOUND) {
			bool guarded = verdict_of(prog, r.ret) == V_DROP &&
				       (prog == P_XDP || prog == P_TC_IN) && p.l3 &&
				       is_container(p.fam, c->in + p.daddr_off);

			if (!unchanged ||
			    (r.ret != (prog == P_XDP ? XDP_PASS : TC_ACT_UNSPEC) && !guarded))
				fail(prog, c, &r, c->in, c->len,
				     "a packet to no binding or flow came out %s with verdict %d",
				     unchanged ? "unchanged" : "changed", r.ret);
		} else if (c->kind == K_EXACT) {
			check_exact(prog, c, &p, &r, &pre);
		}
	}
	remember(c, &p);
}

/* ---- packet generators ---- */

static void spec_base(struct fz_spec *s, const struct fz_tuple *t)
{
	uint32_t x = fz_below(&rng, 100);

	memset(s, 0, sizeof(*s));
	s->t = *t;
	s->ext_max = x < 60 ? 0 : x < 85 ? 2 : x < 95 ? 6 : 9;
	s->opt_max = fz_one_in(&rng, 2) ? 0 : 10;
	s->tcp_opt_max = fz_one_in(&rng, 2) ? 0 : 10;
	s->payload_max = fz_one_in(&rng, 5) ? 600 : 64;
	s->pad_max = 32;
	x = fz_below(&rng, 100);
	s->csum = x < 85 ? FZ_CSUM_VALID :
		  x < 91 ? FZ_CSUM_PARTIAL :
		  x < 96 ? FZ_CSUM_RANDOM :
			   FZ_CSUM_ZERO;
	x = fz_below(&rng, 100);
	s->frag = x < 88 ? FZ_FRAG_NONE : x < 95 ? FZ_FRAG_FIRST : FZ_FRAG_ATOMIC;
	if (s->frag == FZ_FRAG_ATOMIC && t->fam == 4)
		s->frag = FZ_FRAG_NONE;
	s->frag_id = (uint32_t)fz_u64(&rng);
	if (t->fam == 4)
		s->frag_id &= 0xffff;
	s->seq = (uint32_t)fz_u64(&rng);
	s->ack = (uint32_t)fz_u64(&rng);
	s->tcp_flags = TCP_ACK | TCP_PSH;
}

static void build_case(struct pcase *c, const struct fz_spec *s, const char *cls, enum kind kind)
{
	struct fz_built b;

	c->len = fz_build(&rng, c->in, s, &b);
	c->csums_valid = b.csums_valid;
	c->cls = cls;
	c->kind = kind;
}

static uint8_t random_flags(void)
{
	static const uint8_t common[] = { TCP_SYN,	     TCP_SYN | TCP_ACK, TCP_ACK,
					  TCP_ACK | TCP_PSH, TCP_FIN | TCP_ACK, TCP_RST,
					  TCP_RST | TCP_ACK, TCP_SYN | TCP_FIN, 0 };

	return fz_one_in(&rng, 3) ? (uint8_t)fz_u64(&rng) : common[fz_below(&rng, 9)];
}

/*
 * A packet whose translation has a checksum of exactly zero: a UDP one must
 * then go out as 0xffff, never 0 ("no checksum"), a TCP one as either zero.
 * One payload word moves both sums alike: raise it by the translated
 * checksum, then fix the input's from scratch. Only when the flow's entry
 * for the tuple is known and the packet whole, with a right checksum.
 */
static void craft_zero_csum(struct pcase *c, bool ingress)
{
	static uint8_t x[FZ_MAX];
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;
	struct fz_parse p;
	size_t off;
	uint16_t w, cx;
	uint32_t sum;

	fz_parse(c->in, c->len, &p);
	if (!c->csums_valid || !p.has_ports || !p.len_ok || p.first || p.later || !p.csum_off ||
	    (p.proto == FZ_UDP && !fz_get16(c->in, p.csum_off)))
		return;
	off = p.l4 + (p.proto == FZ_TCP ? (size_t)p.tcp_doff * 4 : 8);
	off += (off - p.l4) & 1;
	if (off + 2 > p.end)
		return;
	key_of(&k, c->in, &p, ingress ? BPFPORT_CT_INGRESS : BPFPORT_CT_REPLY);
	if (!ct_get(&k, &v))
		return;
	l4_apply(x, c->in, &p, ingress, &v, false);
	cx = fz_get16(x, p.csum_off);
	if (p.proto == FZ_UDP && cx == 0xffff)
		cx = 0;
	w = fz_get16(c->in, off);
	sum = (uint32_t)w + cx;
	fz_put16(c->in, off, fz_fold(sum));
	fz_put16(c->in, p.csum_off, 0);
	sum = fz_pseudo(c->in, &p, p.proto, p.end - p.l4);
	cx = (uint16_t)~fz_fold(pkt_sum16(c->in + p.l4, p.end - p.l4, sum));
	fz_put16(c->in, p.csum_off, p.proto == FZ_UDP && !cx ? 0xffff : cx);
	c->cls = ingress ? "flow-ingress-zero-csum" : "flow-reply-zero-csum";
}

/* A data packet of an established flow, either way. */
static void gen_flow(struct pcase *c)
{
	const struct flow *f = &flows[fz_below(&rng, (uint32_t)n_flows)];
	bool in = fz_one_in(&rng, 2);
	struct fz_spec s;

	spec_base(&s, in ? &f->in : &f->rep);
	s.tcp_flags = fz_one_in(&rng, 4) ? TCP_ACK : TCP_ACK | TCP_PSH;
	s.seq = (in ? f->isn : f->sisn) + 1 + fz_below(&rng, 100000);
	s.ack = (in ? f->sisn : f->isn) + 1 + fz_below(&rng, 100000);
	build_case(c, &s, in ? "flow-ingress" : "flow-reply", K_EXACT);
	if (fz_one_in(&rng, 8))
		craft_zero_csum(c, in);
}

/* A client's packet to a binding's host port: new flows, allow-list, wildcard. */
static void gen_bind(struct pcase *c)
{
	const struct binding *b = &binds[fz_below(&rng, NBINDS)];
	struct fz_tuple t;
	struct fz_spec s;

	memset(&t, 0, sizeof(t));
	t.fam = (uint8_t)b->fam;
	t.proto = b->proto;
	if (b->wildcard || fz_one_in(&rng, 10))
		t.d = fz_one_in(&rng, 3) ? pick(&pool_other[fi(b->fam)]) :
					   pick(&pool_host[fi(b->fam)]);
	else
		t.d = b->host;
	t.s = fz_one_in(&rng, 4) ? pick(&pool_hpclient[fi(b->fam)]) :
				   pick(&pool_client[fi(b->fam)]);
	t.sp = client_port();
	t.dp = b->hport;
	spec_base(&s, &t);
	s.tcp_flags = fz_below(&rng, 10) < 6 ? TCP_SYN : random_flags();
	build_case(c, &s, "new-flow", K_EXACT);
}

/* The handshake, data, FIN and RST of flows the fuzzer opened. */
static void gen_recent(struct pcase *c)
{
	struct flow *f;
	struct fz_spec s;
	bool in = fz_one_in(&rng, 2);
	uint32_t x = fz_below(&rng, 10);

	if (!ring_n) {
		gen_bind(c);
		return;
	}
	f = &ring[fz_below(&rng, (uint32_t)ring_n)];
	spec_base(&s, in ? &f->in : &f->rep);
	if (in) {
		s.seq = f->isn + 1;
		s.ack = f->sisn + 1;
		s.tcp_flags = x < 5 ? TCP_ACK : x < 7 ? TCP_ACK | TCP_PSH : x < 8 ? TCP_SYN : 0;
		if (x == 7)
			s.seq = f->isn;
		if (x >= 8)
			s.tcp_flags = fz_one_in(&rng, 2) ? TCP_FIN | TCP_ACK : TCP_RST;
	} else {
		s.seq = f->sisn + (x < 4 ? 0 : 1);
		s.ack = f->isn + 1;
		s.tcp_flags = x < 4 ? TCP_SYN | TCP_ACK :
			      x < 8 ? TCP_ACK | TCP_PSH :
				      TCP_FIN | TCP_ACK;
		if (x == 9)
			s.tcp_flags = TCP_RST | TCP_ACK;
	}
	build_case(c, &s, in ? "recent-ingress" : "recent-reply", K_EXACT);
}

/* A client straight to a container endpoint (direct connections). */
static void gen_direct(struct pcase *c)
{
	const struct binding *b = &binds[fz_below(&rng, NBINDS)];
	struct fz_tuple t;
	struct fz_spec s;

	memset(&t, 0, sizeof(t));
	t.fam = (uint8_t)b->fam;
	t.proto = b->proto;
	t.s = pick(&pool_client[fi(b->fam)]);
	t.d = b->ctr;
	t.sp = client_port();
	t.dp = b->cport;
	spec_base(&s, &t);
	s.tcp_flags = random_flags();
	build_case(c, &s, "direct", K_EXACT);
}

/* Connections containers open themselves (routed networks): their packets
 * out through tc_egress, the answers back in past the guard. */
static struct fz_tuple outbound_ring[RING];
static int outbound_n, outbound_pos;

static void gen_outbound(struct pcase *c)
{
	struct fz_spec s;
	struct fz_tuple t;

	if (outbound_n && fz_one_in(&rng, 2)) {
		t = reversed(&outbound_ring[fz_below(&rng, (uint32_t)outbound_n)]);
		spec_base(&s, &t);
		s.tcp_flags = fz_one_in(&rng, 2) ? TCP_SYN | TCP_ACK : TCP_ACK | TCP_PSH;
		build_case(c, &s, "outbound-answer", K_EXACT);
		return;
	}
	memset(&t, 0, sizeof(t));
	t.fam = fz_one_in(&rng, 2) ? 4 : 6;
	t.proto = fz_one_in(&rng, 2) ? FZ_TCP : FZ_UDP;
	t.s = pick(&pool_ctr[fi(t.fam)]);
	t.d = fz_one_in(&rng, 2) ? stranger(t.fam) : pick(&pool_client[fi(t.fam)]);
	t.sp = fz_one_in(&rng, 4) ? any_port() : unbound_port();
	t.dp = fz_one_in(&rng, 2) ? 443 : unbound_port();
	outbound_ring[outbound_pos] = t;
	outbound_pos = (outbound_pos + 1) % RING;
	if (outbound_n < RING)
		outbound_n++;
	spec_base(&s, &t);
	s.tcp_flags = fz_one_in(&rng, 2) ? TCP_SYN : TCP_ACK | TCP_PSH;
	build_case(c, &s, "outbound", K_EXACT);
}

/* Echo requests (and replies) to containers, hosts and others. */
static void gen_echo(struct pcase *c)
{
	struct fz_icmp_spec s;
	struct fz_built b;
	uint8_t data[64];
	int fam = fz_one_in(&rng, 2) ? 4 : 6;

	memset(&s, 0, sizeof(s));
	s.fam = (uint8_t)fam;
	s.s = fz_one_in(&rng, 2) ? pick(&pool_client[fi(fam)]) : any_addr(fam);
	s.d = fz_one_in(&rng, 2) ? pick(&pool_ctr[fi(fam)]) : any_addr(fam);
	s.type = fz_one_in(&rng, 4) ? (fam == 4 ? 0 : 129) : (fam == 4 ? 8 : 128);
	s.rest = (uint32_t)fz_u64(&rng);
	fz_fill(&rng, data, sizeof(data));
	s.quote = data;
	s.quote_len = fz_below(&rng, sizeof(data) + 1);
	s.opt_max = fz_one_in(&rng, 3) ? 2 : 0;
	s.ext_max = fz_one_in(&rng, 4) ? 2 : 0;
	s.pad_max = 16;
	c->len = fz_build_icmp(&rng, c->in, &s, &b);
	c->csums_valid = b.csums_valid;
	c->kind = K_EXACT;
	c->cls = "icmp-echo";
}

static const uint8_t other_protos[] = { 132, 47, 50, 2, 4, 41, 59, 103, 136, 255 };

/* Ports neither published nor a container's: must pass unchanged. */
static void gen_unbound(struct pcase *c)
{
	struct fz_tuple t;
	struct fz_spec s;
	int fam = fz_one_in(&rng, 2) ? 4 : 6;
	uint32_t x = fz_below(&rng, 10);

	memset(&t, 0, sizeof(t));
	t.fam = (uint8_t)fam;
	t.proto = x < 4 ? FZ_TCP : x < 8 ? FZ_UDP : other_protos[fz_below(&rng, 10)];
	t.s = any_addr(fam);
	t.d = any_addr(fam);
	t.sp = unbound_port();
	t.dp = unbound_port();
	spec_base(&s, &t);
	s.tcp_flags = random_flags();
	if (fz_one_in(&rng, 8)) { /* a later fragment, between strangers only */
		t.s = stranger(fam);
		t.d = stranger(fam);
		s.t = t;
		s.frag = FZ_FRAG_LATER;
		s.frag_off = (uint16_t)(1 + fz_below(&rng, 8191));
	}
	build_case(c, &s, "unbound", K_UNBOUND);
}

/* Every field from any pool: roles crossed, exact oracle still applies. */
static void gen_mixed(struct pcase *c)
{
	struct fz_tuple t;
	struct fz_spec s;
	int fam = fz_one_in(&rng, 2) ? 4 : 6;
	uint32_t x = fz_below(&rng, 20);

	memset(&t, 0, sizeof(t));
	t.fam = (uint8_t)fam;
	t.proto = x < 9 ? FZ_TCP : x < 18 ? FZ_UDP : other_protos[fz_below(&rng, 10)];
	t.s = any_addr(fam);
	t.d = any_addr(fam);
	t.sp = any_port();
	t.dp = any_port();
	spec_base(&s, &t);
	s.tcp_flags = (uint8_t)fz_u64(&rng);
	build_case(c, &s, "mixed", K_EXACT);
}

/* Fragments after the first: of datagrams seen, or of any. */
static void gen_later_frag(struct pcase *c)
{
	struct fz_tuple t;
	struct fz_spec s;

	memset(&t, 0, sizeof(t));
	if (frag_n && !fz_one_in(&rng, 4)) {
		const struct fragrec *f = &frag_ring[fz_below(&rng, (uint32_t)frag_n)];

		t.fam = (uint8_t)f->fam;
		t.s = f->s;
		t.d = f->d;
		t.proto = f->proto;
		spec_base(&s, &t);
		s.frag_id = f->wire_id;
		if (fz_one_in(&rng, 8))
			s.frag_id ^= 1;
	} else {
		int fam = fz_one_in(&rng, 2) ? 4 : 6;

		t.fam = (uint8_t)fam;
		t.s = any_addr(fam);
		t.d = any_addr(fam);
		t.proto = fz_one_in(&rng, 2) ? FZ_TCP : FZ_UDP;
		spec_base(&s, &t);
	}
	s.frag = FZ_FRAG_LATER;
	s.frag_off = (uint16_t)(1 + fz_below(&rng, 8191));
	build_case(c, &s, "later-fragment", K_EXACT);
}

/* An IP datagram (no Ethernet) for tuple t into q, cut to a random length. */
static size_t quote_of(const struct fz_tuple *t, uint8_t *q)
{
	static uint8_t tmp[FZ_MAX];
	struct fz_spec s;
	struct fz_built b;
	struct fz_parse p;
	size_t full, len, hdr;
	uint32_t x = fz_below(&rng, 10);

	spec_base(&s, t);
	s.ext_max = fz_one_in(&rng, 10) ? 2 : 0;
	s.opt_max = fz_one_in(&rng, 3) ? 3 : 0;
	s.payload_max = 48;
	s.pad_max = 0;
	if (s.frag == FZ_FRAG_ATOMIC)
		s.frag = FZ_FRAG_NONE;
	if (fz_one_in(&rng, 20)) {
		s.frag = FZ_FRAG_LATER;
		s.frag_off = (uint16_t)(1 + fz_below(&rng, 100));
	}
	s.tcp_flags = random_flags();
	fz_build(&rng, tmp, &s, &b);
	fz_parse(tmp, b.len, &p);
	full = p.end - FZ_ETH_LEN;
	hdr = (p.l4 ? p.l4 : p.end) - FZ_ETH_LEN;
	if (x < 3)
		len = full;
	else if (x < 6)
		len = hdr + 8 < full ? hdr + 8 : full;
	else if (x < 8)
		len = hdr + fz_below(&rng, (uint32_t)(full - hdr + 1));
	else
		len = fz_below(&rng, (uint32_t)full + 1);
	memcpy(q, tmp + FZ_ETH_LEN, len);
	return len;
}

/* ICMP/ICMPv6 errors quoting flows (either direction), random tuples or
 * unbound ones; some informational messages. */
static void gen_icmp(struct pcase *c)
{
	static uint8_t quote[FZ_MAX];
	struct fz_icmp_spec s;
	struct fz_tuple qt;
	struct fz_built b;
	uint32_t x = fz_below(&rng, 20);
	enum kind kind = K_EXACT;
	int fam;

	memset(&s, 0, sizeof(s));
	if (x < 12) {
		const struct flow *f = ring_n && fz_one_in(&rng, 2) ?
					       &ring[fz_below(&rng, (uint32_t)ring_n)] :
					       &flows[fz_below(&rng, (uint32_t)n_flows)];

		fam = f->in.fam;
		if (fz_one_in(&rng, 2)) { /* about what the client sent, seen by the container */
			qt = reversed(&f->rep);
			s.s = fz_one_in(&rng, 3) ? pick(&pool_router[fi(fam)]) : f->rep.s;
			s.d = f->rep.d;
		} else { /* about the reply the client received */
			qt = reversed(&f->in);
			s.s = fz_one_in(&rng, 3) ? pick(&pool_router[fi(fam)]) : f->in.s;
			s.d = f->in.d;
		}
		c->cls = "icmp-flow";
	} else {
		fam = fz_one_in(&rng, 2) ? 4 : 6;
		memset(&qt, 0, sizeof(qt));
		qt.fam = (uint8_t)fam;
		qt.proto = fz_one_in(&rng, 2) ? FZ_TCP : FZ_UDP;
		qt.s = any_addr(fam);
		qt.d = any_addr(fam);
		s.s = any_addr(fam);
		s.d = any_addr(fam);
		if (x < 17) {
			qt.sp = any_port();
			qt.dp = any_port();
			c->cls = "icmp-random";
		} else {
			qt.sp = unbound_port();
			qt.dp = unbound_port();
			kind = K_UNBOUND;
			c->cls = "icmp-unbound";
		}
	}
	s.fam = (uint8_t)fam;
	if (fz_one_in(&rng, 30)) { /* quoting the other family */
		struct fz_tuple o = qt;

		o.fam = fam == 4 ? 6 : 4;
		o.s = any_addr(o.fam);
		o.d = any_addr(o.fam);
		s.quote_len = quote_of(&o, quote);
	} else {
		s.quote_len = quote_of(&qt, quote);
	}
	s.quote = quote;
	if (fz_one_in(&rng, 7)) {
		static const uint8_t info4[] = { 0, 8, 5, 13, 4 },
				     info6[] = { 128, 129, 133, 135, 5 };

		s.type = fam == 4 ? info4[fz_below(&rng, 5)] : info6[fz_below(&rng, 5)];
	} else {
		static const uint8_t err4[] = { 3, 11, 12 };

		s.type = fam == 4 ? err4[fz_below(&rng, 3)] : (uint8_t)(1 + fz_below(&rng, 4));
	}
	s.code = (uint8_t)fz_below(&rng, 16);
	s.rest = fz_one_in(&rng, 2) ? 0 : (uint32_t)fz_u64(&rng);
	s.opt_max = fz_one_in(&rng, 3) ? 2 : 0;
	s.ext_max = fz_one_in(&rng, 4) ? 2 : fz_one_in(&rng, 20) ? 8 : 0;
	s.pad_max = 16;
	s.bad_csum = fz_one_in(&rng, 20);
	c->len = fz_build_icmp(&rng, c->in, &s, &b);
	c->csums_valid = b.csums_valid;
	c->kind = kind;
	/* The other family's ICMP protocol number (IPv4 protocol 58, IPv6
	 * next header 1): not an ICMP message, nothing to translate. */
	if (fz_one_in(&rng, 25)) {
		struct fz_parse p;

		fz_parse(c->in, c->len, &p);
		if (p.fam == 4 && p.l3 == FZ_ETH_LEN) {
			c->in[p.l3 + 9] = FZ_ICMP6;
			fz_put16(c->in, p.l3 + 10, fz_ip_csum(c->in, p.l3, p.ihl));
		} else if (p.fam == 6 && p.l3 == FZ_ETH_LEN && p.l4 == p.l3 + 40) {
			c->in[p.l3 + 6] = FZ_ICMP;
		} else {
			return;
		}
		c->cls = "icmp-wrong-family-proto";
		c->kind = K_EXACT;
	}
}

static void gen_wellformed(struct pcase *c)
{
	uint32_t x = fz_below(&rng, 100);

	if (x < 17)
		gen_flow(c);
	else if (x < 32)
		gen_bind(c);
	else if (x < 47)
		gen_recent(c);
	else if (x < 52)
		gen_direct(c);
	else if (x < 56)
		gen_outbound(c);
	else if (x < 65)
		gen_unbound(c);
	else if (x < 74)
		gen_mixed(c);
	else if (x < 81)
		gen_later_frag(c);
	else if (x < 84)
		gen_echo(c);
	else
		gen_icmp(c);
}

/* Recompute, from scratch, the checksums the packet seems to have. */
static void fix_csums(uint8_t *buf, size_t len)
{
	struct fz_parse p;

	fz_parse(buf, len, &p);
	if (p.fam == 4)
		fz_put16(buf, p.l3 + 10, fz_ip_csum(buf, p.l3, p.ihl));
	if (!p.later && p.has_ports && p.csum_off && p.csum_off + 2 <= p.end) {
		uint32_t sum = fz_pseudo(buf, &p, p.proto, p.end - p.l4);

		fz_put16(buf, p.csum_off, 0);
		fz_put16(buf, p.csum_off,
			 (uint16_t)~fz_fold(pkt_sum16(buf + p.l4, p.end - p.l4, sum)));
	}
}

static size_t header_biased_offset(size_t len)
{
	if (fz_one_in(&rng, 4) || len <= 14)
		return fz_below(&rng, (uint32_t)len);
	return 12 + fz_below(&rng, (uint32_t)(len - 12 < 100 ? len - 12 : 100));
}

static void mutate_once(struct pcase *c)
{
	static const uint8_t vals[] = { 0, 1, 0xff, 0x7f, 0x80, 5, 6, 17, 44, 58, 0x45, 0x60 };
	struct fz_parse p;
	size_t i, n;

	fz_parse(c->in, c->len, &p);
	switch (fz_below(&rng, 11)) {
	case 0: /* truncate, keeping or fixing the length fields */
		if (c->len > FZ_ETH_LEN) {
			c->len = FZ_ETH_LEN + fz_below(&rng, (uint32_t)(c->len - FZ_ETH_LEN));
			if (fz_one_in(&rng, 2) && p.l3 && c->len >= p.l3 + (p.fam == 4 ? 20 : 40)) {
				if (p.fam == 4)
					fz_put16(c->in, p.l3 + 2, (uint16_t)(c->len - p.l3));
				else
					fz_put16(c->in, p.l3 + 4, (uint16_t)(c->len - p.l3 - 40));
			}
		}
		break;
	case 1: /* flip bits */
		n = 1 + fz_below(&rng, 4);
		for (i = 0; i < n; i++)
			c->in[header_biased_offset(c->len)] ^= (uint8_t)(1 << fz_below(&rng, 8));
		break;
	case 2: /* interesting bytes */
		n = 1 + fz_below(&rng, 3);
		for (i = 0; i < n; i++)
			c->in[header_biased_offset(c->len)] = vals[fz_below(&rng, sizeof(vals))];
		break;
	case 3: /* IHL or version */
		if (p.l3)
			c->in[p.l3] =
				fz_one_in(&rng, 2) ?
					(uint8_t)((c->in[p.l3] & 0xf0) | fz_below(&rng, 16)) :
					(uint8_t)((c->in[p.l3] & 0x0f) | fz_below(&rng, 16) << 4);
		break;
	case 4: /* total or payload length */
		if (p.l3)
			fz_put16(c->in, p.l3 + (p.fam == 4 ? 2 : 4),
				 fz_one_in(&rng, 2) ?
					 (uint16_t)fz_u64(&rng) :
					 (uint16_t)(fz_get16(c->in, p.l3 + (p.fam == 4 ? 2 : 4)) +
						    fz_below(&rng, 17) - 8));
		break;
	case 5: /* TCP data offset, or UDP length */
		if (p.has_ports && p.l4 + 13 < c->len)
			c->in[p.l4 + 12] =
				(uint8_t)(fz_below(&rng, 16) << 4 | (c->in[p.l4 + 12] & 15));
		break;
	case 6: /* EtherType, or a VLAN tag */
		if (fz_one_in(&rng, 2) && c->len + 4 <= FZ_MAX) {
			memmove(c->in + 16, c->in + 12, c->len - 12);
			fz_put16(c->in, 12, fz_one_in(&rng, 4) ? 0x88a8 : 0x8100);
			fz_put16(c->in, 14, (uint16_t)fz_u64(&rng));
			c->len += 4;
		} else {
			static const uint16_t types[] = { 0x0800, 0x86dd, 0x0806, 0x8100, 0 };

			fz_put16(c->in, 12,
				 fz_one_in(&rng, 3) ? (uint16_t)fz_u64(&rng) :
						      types[fz_below(&rng, 5)]);
		}
		break;
	case 7: /* fragment field, or next header */
		if (p.fam == 4)
			fz_put16(c->in, p.l3 + 6, (uint16_t)fz_u64(&rng));
		else if (p.fam == 6) {
			static const uint8_t nh[] = { 0, 43, 44, 51, 60, 6, 17, 58, 59 };

			c->in[p.l3 + 6] = fz_one_in(&rng, 4) ? (uint8_t)fz_u64(&rng) :
							       nh[fz_below(&rng, sizeof(nh))];
		}
		break;
	case 8: /* trailing bytes */
		n = 1 + fz_below(&rng, 64);
		if (c->len + n <= FZ_MAX) {
			fz_fill(&rng, c->in + c->len, n);
			c->len += n;
		}
		break;
	case 9: /* a byte inside an ICMP quote */
		if (p.icmp && p.q.l3 && p.q.l3 < c->len) {
			i = p.q.l3 +
			    fz_below(&rng, (uint32_t)(c->len - p.q.l3 < 48 ? c->len - p.q.l3 : 48));
			c->in[i] = fz_one_in(&rng, 2) ? (uint8_t)fz_u64(&rng) :
							vals[fz_below(&rng, sizeof(vals))];
		}
		break;
	default: /* random bytes overwrite a run */
		i = header_biased_offset(c->len);
		n = 1 + fz_below(&rng, 8);
		if (i + n > c->len)
			n = c->len - i;
		fz_fill(&rng, c->in + i, n);
		break;
	}
}

static void gen_mutated(struct pcase *c)
{
	int n = 1 + (int)fz_below(&rng, 3);

	gen_wellformed(c);
	for (int i = 0; i < n; i++)
		mutate_once(c);
	if (fz_one_in(&rng, 3))
		fix_csums(c->in, c->len);
	c->kind = K_LOOSE;
	c->cls = "mutated";
}

static void gen_garbage(struct pcase *c)
{
	c->len = FZ_ETH_LEN + fz_below(&rng, 400);
	fz_fill(&rng, c->in, c->len);
	if (!fz_one_in(&rng, 3)) {
		bool v6 = fz_one_in(&rng, 2);

		fz_put16(c->in, 12, v6 ? 0x86dd : 0x0800);
		if (c->len > 14 && fz_one_in(&rng, 2)) {
			c->in[14] = v6 ? (uint8_t)(0x60 | (c->in[14] & 15)) : 0x45;
			if (c->len >= 14 + 40 && fz_one_in(&rng, 2)) {
				if (v6)
					fz_put16(c->in, 18, (uint16_t)(c->len - 14 - 40));
				else
					fz_put16(c->in, 16, (uint16_t)(c->len - 14));
				c->in[v6 ? 20 : 23] = fz_one_in(&rng, 3) ? FZ_TCP :
						      fz_one_in(&rng, 2) ? FZ_UDP :
						      v6		 ? FZ_ICMP6 :
									   FZ_ICMP;
				if (fz_one_in(&rng, 2))
					fix_csums(c->in, c->len);
			}
		}
	}
	c->kind = K_LOOSE;
	c->cls = "garbage";
}

static void gen_case(struct pcase *c)
{
	uint32_t x = fz_below(&rng, 100);

	if (x < 65)
		gen_wellformed(c);
	else if (x < 90)
		gen_mutated(c);
	else
		gen_garbage(c);
}

/* ---- established flows ---- */

static bool run_setup(int prog, struct fz_spec *s, int ifx, char *w, size_t wn, const char *what)
{
	static struct pcase c;
	struct fz_parse p;
	struct run r;
	int err;

	s->ext_max = s->opt_max = s->tcp_opt_max = 0;
	s->payload_max = 16;
	s->pad_max = 0;
	s->csum = FZ_CSUM_VALID;
	s->frag = FZ_FRAG_NONE;
	build_case(&c, s, "setup", K_EXACT);
	fz_parse(c.in, c.len, &p);
	err = run_once(prog, c.in, c.len, ifx, &r);
	if (err || verdict_of(prog, r.ret) == V_BAD || verdict_of(prog, r.ret) == V_DROP ||
	    (r.len == c.len && !memcmp(r.out, c.in, c.len))) {
		snprintf(w, wn, "%s through %s: %s", what, prog_name[prog],
			 err ? strerror(-err) : "not translated");
		return false;
	}
	return true;
}

static bool establish(const char *client, uint16_t sport, const char *host, uint16_t hport,
		      uint8_t proto, bool hairpin, char *w, size_t wn)
{
	struct flow *f = &flows[n_flows];
	int pin = hairpin ? P_BRIDGE : P_XDP, pout = hairpin ? P_BRIDGE : P_TC_OUT;
	int ifx = hairpin ? ifindex_br : ifindex_lo;
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;
	struct fz_spec s;

	memset(f, 0, sizeof(*f));
	f->in.fam = (uint8_t)fam_of(client);
	f->in.proto = proto;
	f->in.s = addr_of(client);
	f->in.d = addr_of(host);
	f->in.sp = sport;
	f->in.dp = hport;
	f->isn = 0x10000000u * (uint32_t)(n_flows + 1) + 0x1234;
	f->sisn = 0x80000000u + 0x01000000u * (uint32_t)n_flows + 0x777;
	f->hairpin = hairpin;

	spec_base(&s, &f->in);
	s.tcp_flags = TCP_SYN;
	s.seq = f->isn;
	s.ack = 0;
	if (!run_setup(pin, &s, ifx, w, wn, "first packet"))
		return false;
	key_of_tuple(&k, &f->in, BPFPORT_CT_INGRESS);
	if (!ct_get(&k, &v)) {
		snprintf(w, wn, "no flow entry after the first packet of %s:%u", client, sport);
		return false;
	}
	f->rep = reply_tuple(&f->in, &v);
	spec_base(&s, &f->rep);
	s.tcp_flags = TCP_SYN | TCP_ACK;
	s.seq = f->sisn;
	s.ack = f->isn + 1;
	if (!run_setup(pout, &s, ifx, w, wn, "answer"))
		return false;
	if (proto == FZ_TCP) {
		spec_base(&s, &f->in);
		s.tcp_flags = TCP_ACK;
		s.seq = f->isn + 1;
		s.ack = f->sisn + 1;
		if (!run_setup(pin, &s, ifx, w, wn, "handshake ACK"))
			return false;
	}
	n_flows++;
	return true;
}

/* UDP flows are assured once answered and still going 2 s later
 * (CT_UDP_STREAM_NS): one more datagram each, then every flow must be. */
static bool assure_all(char *w, size_t wn)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;
	struct fz_spec s;

	usleep(2100 * 1000);
	for (int i = 0; i < n_flows; i++) {
		const struct flow *f = &flows[i];

		key_of_tuple(&k, &f->in, BPFPORT_CT_INGRESS);
		if (f->in.proto == FZ_UDP) {
			spec_base(&s, &f->in);
			if (!run_setup(f->hairpin ? P_BRIDGE : P_XDP, &s,
				       f->hairpin ? ifindex_br : ifindex_lo, w, wn,
				       "a later datagram"))
				return false;
		}
		if (bpf_map_lookup_elem(fd_ct, &k, &v)) {
			char a[64];

			inet_ntop(f->in.fam == 4 ? AF_INET : AF_INET6, f->in.s.b, a, sizeof(a));
			snprintf(w, wn, "flow from %s port %u not assured after its handshake", a,
				 f->in.sp);
			return false;
		}
	}
	return true;
}

static bool establish_all(char *w, size_t wn)
{
	return establish("100.64.0.1", 40001, "192.0.2.1", 80, FZ_TCP, false, w, wn) &&
	       /* the same client port to another host port of the same container endpoint */
	       establish("100.64.0.1", 40001, "192.0.2.1", 81, FZ_TCP, false, w, wn) &&
	       establish("100.64.0.2", 40002, "192.0.2.1", 53, FZ_UDP, false, w, wn) &&
	       establish("100.64.0.3", 40003, "192.0.2.1", 443, FZ_TCP, false, w, wn) &&
	       establish("100.64.0.4", 40004, "10.99.0.1", 8000, FZ_TCP, false, w, wn) &&
	       establish("10.99.0.7", 40005, "10.99.0.1", 9000, FZ_TCP, true, w, wn) &&
	       establish("10.99.0.7", 40006, "10.99.0.1", 9000, FZ_UDP, true, w, wn) &&
	       establish("2001:db8:c::1", 40001, "2001:db8:1::1", 80, FZ_TCP, false, w, wn) &&
	       establish("2001:db8:c::2", 40002, "2001:db8:1::1", 53, FZ_UDP, false, w, wn) &&
	       establish("2001:db8:c::3", 40003, "2001:db8:1::1", 8443, FZ_UDP, false, w, wn) &&
	       establish("2001:db8:c::4", 40004, "2001:db8:2::1", 8000, FZ_TCP, false, w, wn) &&
	       establish("2001:db8:2::7", 40005, "2001:db8:2::1", 9000, FZ_TCP, true, w, wn) &&
	       assure_all(w, wn);
}

/* ---- truncation sweep: every length of a packet of each flow ---- */

static void sweep(void)
{
	static struct pcase base, c;

	phase = "sweep";
	iter = 0;
	for (int i = 0; i < n_flows; i++) {
		for (int kindn = 0; kindn < 4; kindn++) {
			const struct flow *f = &flows[i];
			struct fz_spec s;

			if (kindn < 2) {
				spec_base(&s, kindn ? &f->rep : &f->in);
				s.seq = (kindn ? f->sisn : f->isn) + 1;
				s.ack = (kindn ? f->isn : f->sisn) + 1;
				s.ext_max = 2;
				s.opt_max = 2;
				s.tcp_opt_max = 2;
				s.payload_max = 24;
				s.pad_max = 0;
				s.csum = FZ_CSUM_VALID;
				s.frag = FZ_FRAG_NONE;
				build_case(&base, &s, kindn ? "sweep-reply" : "sweep-ingress",
					   K_EXACT);
			} else {
				static uint8_t quote[FZ_MAX];
				static uint8_t tmp[FZ_MAX];
				struct fz_tuple qt = kindn == 2 ? reversed(&f->rep) :
								  reversed(&f->in);
				struct fz_icmp_spec is;
				struct fz_built b;
				struct fz_parse p;

				spec_base(&s, &qt);
				s.ext_max = s.opt_max = s.tcp_opt_max = 0;
				s.payload_max = 16;
				s.pad_max = 0;
				s.csum = FZ_CSUM_VALID;
				s.frag = FZ_FRAG_NONE;
				fz_build(&rng, tmp, &s, &b);
				fz_parse(tmp, b.len, &p);
				memset(&is, 0, sizeof(is));
				is.fam = qt.fam;
				is.s = kindn == 2 ? f->rep.s : f->in.s;
				is.d = kindn == 2 ? f->rep.d : f->in.d;
				is.type = qt.fam == 4 ? 3 : 1;
				is.code = 3;
				is.quote = quote;
				is.quote_len = p.end - FZ_ETH_LEN;
				memcpy(quote, tmp + FZ_ETH_LEN, is.quote_len);
				base.len = fz_build_icmp(&rng, base.in, &is, &b);
				base.csums_valid = true;
				base.cls = kindn == 2 ? "sweep-icmp-reply" : "sweep-icmp-ingress";
				base.kind = K_EXACT;
			}
			for (size_t len = FZ_ETH_LEN; len <= base.len; len++) {
				for (int fix = 0; fix < 2; fix++) {
					struct fz_parse p;

					c = base;
					c.len = len;
					c.csums_valid = len == base.len;
					fz_parse(base.in, base.len, &p);
					if (fix && p.l3 && len >= p.l3 + (p.fam == 4 ? 20 : 40)) {
						if (p.fam == 4) {
							fz_put16(c.in, p.l3 + 2,
								 (uint16_t)(len - p.l3));
							fz_put16(c.in, p.l3 + 10,
								 fz_ip_csum(c.in, p.l3, p.ihl));
						} else {
							fz_put16(c.in, p.l3 + 4,
								 (uint16_t)(len - p.l3 - 40));
						}
					} else if (fix) {
						continue;
					}
					run_case(&c);
					iter++;
				}
			}
		}
	}
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr, "usage: dpfuzz [-n PACKETS] [-s SEED] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long n = 100000, sweep_iters;
	bool have_seed = false;
	char w[1024];
	double t0, t1, t2;
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "n:s:vh")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoull(optarg, NULL, 0);
			break;
		case 's':
			seed_arg = strtoull(optarg, NULL, 0);
			have_seed = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (!have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed_arg = ((unsigned long long)ts.tv_sec * 1000003ULL) ^
			   (unsigned long long)ts.tv_nsec ^ ((unsigned long long)getpid() << 32);
	}
	printf("dpfuzz: seed %llu, %llu packets (reproduce: dpfuzz -s %llu -n %llu)\n", seed_arg, n,
	       seed_arg, n);
	fz_seed(&rng, seed_arg);

	if (geteuid() != 0) {
		printf("SKIP dpfuzz: needs root (BPF and a private network namespace)\n");
		return 0;
	}
	if (!setup_netns(w, sizeof(w))) {
		printf("FAIL dpfuzz_setup: %s\n", w);
		return 1;
	}
	skel = harness_load(w, sizeof(w));
	if (!skel) {
		fputs(harness_libbpf_log(), stderr);
		printf("FAIL dpfuzz_load: %s\n", w);
		return 1;
	}
	prog_fd[P_XDP] = bpf_program__fd(skel->progs.xdp_ingress);
	prog_fd[P_TC_IN] = bpf_program__fd(skel->progs.tc_ingress);
	prog_fd[P_TC_OUT] = bpf_program__fd(skel->progs.tc_egress);
	prog_fd[P_BRIDGE] = bpf_program__fd(skel->progs.tc_bridge);
	fd_bind = bpf_map__fd(skel->maps.bp_bindings);
	fd_ct = bpf_map__fd(skel->maps.bp_ct);
	fd_ct_new = bpf_map__fd(skel->maps.bp_ct_new);
	fd_backends = bpf_map__fd(skel->maps.bp_backends);
	fd_cfg = bpf_map__fd(skel->maps.bp_config);
	fd_allow = bpf_map__fd(skel->maps.bp_allow);
	fd_frags = bpf_map__fd(skel->maps.bp_frags);
	fd_published = bpf_map__fd(skel->maps.bp_published);
	fd_containers = bpf_map__fd(skel->maps.bp_containers);
	fd_outbound = bpf_map__fd(skel->maps.bp_outbound);
	pools_init();
	if (!tc_probe_load()) {
		printf("FAIL dpfuzz_load: loading a probe TC program: %s\n", strerror(errno));
		return 1;
	}
	if (!install(w, sizeof(w)) || !establish_all(w, sizeof(w))) {
		printf("FAIL dpfuzz_setup: %s\n", w);
		bpfport__destroy(skel);
		return 1;
	}

	t0 = now_s();
	sweep();
	sweep_iters = iter;
	t1 = now_s();
	phase = "random";
	for (iter = 0; iter < n && n_failed < NPROG; iter++) {
		static struct pcase c;

		/* Phases of 4096 packets: direct access dropped (the default) or
		 * allowed, monitor events off or on. */
		if (iter % 4096 == 0) {
			__u32 flags = 0;

			if ((iter / 4096) % 4 == 3)
				flags |= BPFPORT_CFG_DIRECT_ACCESS_ALLOW;
			if ((iter / 4096) % 3 == 2)
				flags |= BPFPORT_CFG_EVENTS;
			config_write(flags);
		}
		gen_case(&c);
		run_case(&c);
		if (verbose && iter && iter % 100000 == 0)
			printf("dpfuzz: %llu packets, %.1f s\n", iter, now_s() - t1);
	}
	t2 = now_s();

	printf("dpfuzz: sweep %llu packets in %.2f s; %llu random packets in %.2f s (%.1f us per "
	       "packet, 4 programs); %llu skb runs refused by the kernel's test run whatever the "
	       "program (short IP frames), left to XDP\n",
	       sweep_iters, t1 - t0, iter, t2 - t1, iter ? (t2 - t1) * 1e6 / (double)iter : 0.0,
	       st_refused);
	for (int prog = 0; prog < NPROG; prog++)
		printf("dpfuzz: %-11s %llu runs (%.1f us each), %llu rewritten (%llu checked "
		       "exactly), %llu dropped, %llu redirected\n",
		       prog_name[prog], st_runs[prog],
		       st_runs[prog] ? st_time[prog] * 1e6 / (double)st_runs[prog] : 0.0,
		       st_changed[prog], st_exact[prog], st_drop[prog], st_redirect[prog]);
	for (int i = 0; verbose && i < MAX_CLASSES && st_class[i].name; i++)
		printf("dpfuzz: class %-24s %9llu packets, %9llu runs rewritten, %9llu dropped\n",
		       st_class[i].name, st_class[i].packets, st_class[i].changed,
		       st_class[i].dropped);
	for (int prog = 0; prog < NPROG; prog++) {
		if (failed[prog])
			printf("FAIL dpfuzz_%s: %s\n", prog_name[prog], failed_why[prog]);
		else
			printf("PASS dpfuzz_%s\n", prog_name[prog]);
	}
	bpfport__destroy(skel);
	return n_failed ? 1 : 0;
}
