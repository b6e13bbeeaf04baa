// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Micro-benchmarks of the datapath through BPF_PROG_TEST_RUN: nanoseconds per
 * packet for each path, against a program that only passes the packet, with
 * 1 to 1,000,000 bindings and tracked flows; and the memory the maps take.
 *
 *   microbench [-q] [-n N[,N...]]
 *
 * Output, one record a line, tab-separated (bench/report.py reads it):
 *   micro  CASE  N  NS_PER_PACKET  FLOOR_NS
 *   cost   BLOCK  NS  FLOOR_NS   (one helper alone, see bench_costs)
 *   mem    NAME  VALUE
 *   note   TEXT
 *
 * Two ways around BPF_PROG_TEST_RUN not resetting the packet between
 * iterations of `repeat` (from the second one a translating program sees
 * its own output):
 *  - "hot" cases use two conntrack entries that map a tuple to the other:
 *    published -> container and container -> published. Every iteration is a
 *    real hit that really rewrites, on the same (cached) entries.
 *  - "spread" cases run each packet once (repeat=1) over thousands of tuples
 *    picked at random among all flows, interleaved packet by packet with the
 *    same run of the pass program; the difference of the medians is the
 *    program's cost with the cache misses a big table brings. `duration`
 *    times the program loop alone, so syscall and copy costs are in neither.
 *
 * Maps are created here, unpinned, with max_entries raised before load, so
 * nothing is shared with an installed bpfport. Runs in a private network
 * namespace (for the FIB lookup of wildcard bindings), on one CPU.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/types.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfport.h"
#include "bpfport.skel.h"
#include "published.h"

#define XDP_PASS_RET 2
#define TC_ACT_UNSPEC (-1)

/* Address plan (no traffic leaves this process; RFC 2544 benchmarking
 * range for published addresses, shared address space for clients). */
#define HOST_BASE 0xc6120000u /* 198.18.0.0: published addresses */
#define CTR_BASE 0xc6130000u /* 198.19.0.0: containers */
#define CLIENT_BASE 0x64400000u /* 100.64.0.0: clients of tracked flows */
#define FRESH_BASE 0x64600000u /* 100.96.0.0: clients of new flows */
#define LOCAL_ADDR 0xc0000201u /* 192.0.2.1 on lo: wildcard bindings */
#define PORTS_PER_ADDR 60000
#define PORT_BASE 1024
#define CTR_PORT 8080
#define WILDCARD_PORT 80

#define BATCH 8192

struct cfg {
	bool quick;
	long sizes[8];
	int nsizes;
	__u32 repeat; /* iterations of a hot run */
	int trials; /* hot runs per case; the median is kept */
	int spread; /* packets of a spread run */
};

struct flow {
	__u8 family;
	__u8 proto;
	struct bpfport_addr saddr, daddr;
	__u16 sport, dport; /* host order */
	bool syn; /* TCP: a SYN, which opens a flow (else an ACK of one) */
};

struct bench {
	struct bpfport *skel;
	int xdp, tc_in, tc_out, xdp_pass, tc_pass;
	int bind, ct, cnt, published;
	long n;
};

static void emit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static int warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "microbench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || level == LIBBPF_INFO)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* ---- packets ---- */

static __u32 csum_add(__u32 sum, const void *data, size_t len)
{
	const __u8 *p = data;

	for (; len > 1; len -= 2, p += 2)
		sum += (__u32)(p[0] << 8 | p[1]);
	if (len)
		sum += (__u32)(p[0] << 8);
	return sum;
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Ethernet + IPv4/IPv6 + TCP (ACK, or SYN) or UDP + 32 bytes, every checksum complete. */
static size_t build_pkt(__u8 *buf, const struct flow *f)
{
	const size_t payload = 32, l4len = (f->proto == IPPROTO_TCP ? 20 : 8) + payload;
	size_t l3 = 14, l4 = f->family == AF_INET ? 34 : 54, alen;
	__u8 pseudo[40];
	__u32 sum;

	memset(buf, 0, l4 + l4len);
	memcpy(buf, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	if (f->family == AF_INET) {
		buf[12] = 0x08;
		buf[l3] = 0x45;
		buf[l3 + 2] = (__u8)((20 + l4len) >> 8);
		buf[l3 + 3] = (__u8)(20 + l4len);
		buf[l3 + 8] = 64;
		buf[l3 + 9] = f->proto;
		memcpy(buf + l3 + 12, &f->saddr.a[0], 4);
		memcpy(buf + l3 + 16, &f->daddr.a[0], 4);
		sum = csum_fold(csum_add(0, buf + l3, 20));
		buf[l3 + 10] = (__u8)(sum >> 8);
		buf[l3 + 11] = (__u8)sum;
		alen = 4;
	} else {
		buf[12] = 0x86;
		buf[13] = 0xdd;
		buf[l3] = 0x60;
		buf[l3 + 4] = (__u8)(l4len >> 8);
		buf[l3 + 5] = (__u8)l4len;
		buf[l3 + 6] = f->proto;
		buf[l3 + 7] = 64;
		memcpy(buf + l3 + 8, f->saddr.a, 16);
		memcpy(buf + l3 + 24, f->daddr.a, 16);
		alen = 16;
	}
	buf[l4] = (__u8)(f->sport >> 8);
	buf[l4 + 1] = (__u8)f->sport;
	buf[l4 + 2] = (__u8)(f->dport >> 8);
	buf[l4 + 3] = (__u8)f->dport;
	if (f->proto == IPPROTO_TCP) {
		buf[l4 + 12] = 5 << 4;
		buf[l4 + 13] = f->syn ? 0x02 : 0x10; /* SYN or ACK */
		buf[l4 + 15] = 0xff; /* window */
	} else {
		buf[l4 + 4] = (__u8)(l4len >> 8);
		buf[l4 + 5] = (__u8)l4len;
	}
	memset(buf + l4 + l4len - payload, 0xa5, payload);

	memset(pseudo, 0, sizeof(pseudo));
	memcpy(pseudo, f->saddr.a, alen);
	memcpy(pseudo + alen, f->daddr.a, alen);
	sum = csum_add(0, pseudo, 2 * alen);
	sum += f->proto + (__u32)l4len;
	sum = csum_fold(csum_add(sum, buf + l4, l4len));
	if (f->proto == IPPROTO_UDP && !sum)
		sum = 0xffff;
	buf[l4 + (f->proto == IPPROTO_TCP ? 16 : 6)] = (__u8)(sum >> 8);
	buf[l4 + (f->proto == IPPROTO_TCP ? 17 : 7)] = (__u8)sum;
	return l4 + l4len;
}

/* Destination (or source) address and port of a built packet, to check a rewrite. */
static void pkt_endpoint(const __u8 *buf, bool dst, struct bpfport_addr *a, __u16 *port)
{
	bool v4 = buf[12] == 0x08;
	size_t l4 = v4 ? 34 : 54;

	memset(a, 0, sizeof(*a));
	if (v4)
		memcpy(&a->a[0], buf + 14 + (dst ? 16 : 12), 4);
	else
		memcpy(a->a, buf + 14 + (dst ? 24 : 8), 16);
	*port = (__u16)(buf[l4 + (dst ? 2 : 0)] << 8 | buf[l4 + (dst ? 3 : 1)]);
}

/* ---- address plan ---- */

static struct bpfport_addr v4(__u32 host_order)
{
	struct bpfport_addr a = { { htonl(host_order), 0, 0, 0 } };

	return a;
}

static struct bpfport_addr v6(__u32 tag, __u32 low)
{
	/* 2001:db8::/32, documentation */
	struct bpfport_addr a = { { htonl(0x20010db8), 0, htonl(tag), htonl(low) } };

	return a;
}

/* Binding i: HOST_BASE + i / 60000, port 1024 + i % 60000 -> CTR_BASE + same, 8080. */
static struct bpfport_addr bind_host(long i)
{
	return v4(HOST_BASE + (__u32)(i / PORTS_PER_ADDR));
}
static __u16 bind_port(long i)
{
	return (__u16)(PORT_BASE + i % PORTS_PER_ADDR);
}
static struct bpfport_addr bind_ctr(long i)
{
	return v4(CTR_BASE + (__u32)(i / PORTS_PER_ADDR));
}

/* Flow j: client CLIENT_BASE + j / 60000, port 1024 + j % 60000, to binding j % nbind. */
static struct flow flow_in(long j, long nbind, __u8 proto)
{
	struct flow f = { .family = AF_INET, .proto = proto };
	long b = j % nbind;

	f.saddr = v4(CLIENT_BASE + (__u32)(j / PORTS_PER_ADDR));
	f.sport = (__u16)(PORT_BASE + j % PORTS_PER_ADDR);
	f.daddr = bind_host(b);
	f.dport = bind_port(b);
	return f;
}

static struct flow flow_reply(long j, long nbind, __u8 proto)
{
	struct flow in = flow_in(j, nbind, proto), f = in;

	f.saddr = bind_ctr(j % nbind);
	f.sport = CTR_PORT;
	f.daddr = in.saddr;
	f.dport = in.sport;
	return f;
}

static void bind_kv(long i, __u8 proto, struct bpfport_bind_key *k, struct bpfport_bind_val *v,
		    long slots)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->host_addr = bind_host(i);
	k->host_port = htons(bind_port(i));
	k->family = BPFPORT_AF_INET;
	k->proto = proto;
	v->container_addr = bind_ctr(i);
	v->container_port = htons(CTR_PORT);
	v->slot = (__u32)(i % slots);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* A conntrack entry: packets with tuple f (direction dir) get addr:port written. */
static void ct_kv(const struct flow *f, __u8 dir, struct bpfport_addr addr, __u16 port, __u32 slot,
		  struct bpfport_ct_key *k, struct bpfport_ct_val *v)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->saddr = f->saddr;
	k->daddr = f->daddr;
	k->sport = htons(f->sport);
	k->dport = htons(f->dport);
	k->family = f->family == AF_INET ? BPFPORT_AF_INET : BPFPORT_AF_INET6;
	k->proto = f->proto;
	k->dir = dir;
	v->addr = addr;
	v->port = htons(port);
	v->slot = slot;
	v->created_ns = v->last_seen_ns = now_ns();
}

/* ---- loading ---- */

/* A SCHED_CLS program that only returns "next": the floor for TC paths. */
static int load_tc_pass(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_UNSPEC },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "tc_pass", "GPL", insns, 2, NULL);
}

/*
 * Building blocks of the hit path, each alone in an XDP program that then
 * returns XDP_PASS, so a reader can see where the time of a hit goes:
 * bpf_ktime_get_ns() (ct_touch; bpf_jiffies64() for comparison), a hash lookup with a conntrack-sized key
 * (40 bytes, jhash) in an LRU hash, the same in a plain hash, and a per-CPU
 * array lookup (counters).
 */
#define INSN(c, d, s_, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s_), .off = (o), .imm = (i) })

static int load_xdp_insns(const char *name, const struct bpf_insn *insns, size_t n)
{
	return bpf_prog_load(BPF_PROG_TYPE_XDP, name, "GPL", insns, n, NULL);
}

/* XDP program: `lookup(map, &zero_key[key_size])`, return XDP_PASS. */
static int load_lookup_prog(int map_fd, int key_size)
{
	struct bpf_insn insns[16];
	size_t n = 0;

	insns[n++] = INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd);
	insns[n++] = INSN(0, 0, 0, 0, 0);
	for (int off = 8; off <= ((key_size + 7) & ~7); off += 8)
		insns[n++] = INSN(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, (__s16)-off, 0);
	insns[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
	insns[n++] = INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -((key_size + 7) & ~7));
	insns[n++] = INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
	insns[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS_RET);
	insns[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return load_xdp_insns("bench_lookup", insns, n);
}

/* sizes: 0 keeps the skeleton's own max_entries (the shipped defaults). */
static int bench_load(struct bench *b, __u32 nbind, __u32 nct, __u32 ncnt)
{
	struct bpf_map *map;
	int err;

	memset(b, 0, sizeof(*b));
	b->tc_pass = -1;
	b->skel = bpfport__open();
	if (!b->skel)
		return warn("bpfport__open: %s", strerror(errno));
	bpf_object__for_each_map(map, b->skel->obj)
		bpf_map__set_pin_path(map, NULL);
	if ((nbind && bpf_map__set_max_entries(b->skel->maps.bp_bindings, nbind)) ||
	    (ncnt && bpf_map__set_max_entries(b->skel->maps.bp_counters, ncnt)) ||
	    (nct && bpf_map__set_max_entries(b->skel->maps.bp_ct, nct)))
		return warn("bpf_map__set_max_entries: %s", strerror(errno));
	err = bpfport__load(b->skel);
	if (err)
		return warn("bpfport__load: %s", strerror(-err));
	b->xdp = bpf_program__fd(b->skel->progs.xdp_ingress);
	b->tc_in = bpf_program__fd(b->skel->progs.tc_ingress);
	b->tc_out = bpf_program__fd(b->skel->progs.tc_egress);
	b->xdp_pass = bpf_program__fd(b->skel->progs.xdp_pass);
	b->bind = bpf_map__fd(b->skel->maps.bp_bindings);
	b->ct = bpf_map__fd(b->skel->maps.bp_ct);
	b->cnt = bpf_map__fd(b->skel->maps.bp_counters);
	b->published = bpf_map__fd(b->skel->maps.bp_published);
	b->tc_pass = load_tc_pass();
	if (b->tc_pass < 0)
		return warn("loading the tc pass program: %s", strerror(errno));
	return 0;
}

static void bench_unload(struct bench *b)
{
	if (b->tc_pass >= 0)
		close(b->tc_pass);
	bpfport__destroy(b->skel);
	memset(b, 0, sizeof(*b));
}

/* memlock of a map as the kernel accounts it (map_mem_usage since 6.4). */
static long map_memlock(int fd)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* ---- filling maps ---- */

static int batch_flush(int fd, void *keys, void *vals, __u32 *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = BPF_ANY);
	__u32 count = *n;

	if (count && bpf_map_update_batch(fd, keys, vals, &count, &o))
		return warn("bpf_map_update_batch: %s (after %u of %u)", strerror(errno), count,
			    *n);
	*n = 0;
	return 0;
}

static int fill_bindings(int fd, long n, long slots)
{
	struct bpfport_bind_key *k = calloc(BATCH, sizeof(*k));
	struct bpfport_bind_val *v = calloc(BATCH, sizeof(*v));
	__u32 fill = 0;
	int err = -1;

	if (!k || !v)
		goto out;
	for (long i = 0; i < n; i++) {
		bind_kv(i, IPPROTO_TCP, &k[fill], &v[fill], slots);
		if (++fill == BATCH && batch_flush(fd, k, v, &fill))
			goto out;
	}
	err = batch_flush(fd, k, v, &fill);
out:
	free(k);
	free(v);
	return err;
}

/* Mark a TCP port published, as the CLI does for every binding (lib/dp.c). */
static int publish(int fd, __u8 family, __u16 port)
{
	int err = published_set(fd, family, IPPROTO_TCP, port, true);

	return err ? warn("publishing port %u: %s", port, strerror(-err)) : 0;
}

/*
 * The ports of bindings 0..n-1, the wildcard binding's and the IPv6 flow's;
 * and the container port: hot cases run one packet back and forth between
 * the published and the container endpoint, and both halves must be hits.
 */
static int publish_ports(int fd, long n)
{
	int err = publish(fd, BPFPORT_AF_INET, CTR_PORT)	      ?:
			  publish(fd, BPFPORT_AF_INET6, CTR_PORT)     ?:
			  publish(fd, BPFPORT_AF_INET, WILDCARD_PORT) ?:
			  publish(fd, BPFPORT_AF_INET6, 80);

	for (long i = 0; i < n && i < PORTS_PER_ADDR && !err; i++)
		err = publish(fd, BPFPORT_AF_INET, bind_port(i));
	return err;
}

/* Both entries of flows 0..n-1, in reverse so that flow 0 is the most recent. */
static int fill_flows(int fd, long n, long nbind, long slots)
{
	struct bpfport_ct_key *k = calloc(BATCH, sizeof(*k));
	struct bpfport_ct_val *v = calloc(BATCH, sizeof(*v));
	__u32 fill = 0;
	int err = -1;

	if (!k || !v)
		goto out;
	for (long j = n - 1; j >= 0; j--) {
		struct flow in = flow_in(j, nbind, IPPROTO_TCP);
		struct flow rep = flow_reply(j, nbind, IPPROTO_TCP);
		__u32 slot = (__u32)((j % nbind) % slots);

		ct_kv(&in, BPFPORT_CT_INGRESS, bind_ctr(j % nbind), CTR_PORT, slot, &k[fill],
		      &v[fill]);
		fill++;
		ct_kv(&rep, BPFPORT_CT_REPLY, in.daddr, in.dport, slot, &k[fill], &v[fill]);
		fill++;
		if (fill >= BATCH - 1 && batch_flush(fd, k, v, &fill))
			goto out;
	}
	err = batch_flush(fd, k, v, &fill);
out:
	free(k);
	free(v);
	return err;
}

static int ct_put(int fd, const struct flow *f, __u8 dir, struct bpfport_addr addr, __u16 port)
{
	struct bpfport_ct_key k;
	struct bpfport_ct_val v;

	ct_kv(f, dir, addr, port, 0, &k, &v);
	if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
		return warn("adding a conntrack entry: %s", strerror(errno));
	return 0;
}

/*
 * The partner entries of flow 0 for hot runs: its ingress packet, once
 * rewritten to the container, maps back to the published endpoint, and its
 * reply, once rewritten to the published endpoint, maps back to the container.
 */
static int add_cycle(int fd, const struct flow *in, const struct flow *rep, struct bpfport_addr ctr,
		     __u16 ctr_port)
{
	struct flow in2 = *in, rep2 = *rep;

	in2.daddr = ctr;
	in2.dport = ctr_port;
	rep2.saddr = in->daddr;
	rep2.sport = in->dport;
	return ct_put(fd, &in2, BPFPORT_CT_INGRESS, in->daddr, in->dport) ?:
		       ct_put(fd, &rep2, BPFPORT_CT_REPLY, ctr, ctr_port);
}

/* ---- running ---- */

static int run(int prog, const void *pkt, size_t len, __u32 repeat, __u32 *duration, void *out,
	       __u32 *ret)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = repeat);

	if (out) {
		o.data_out = out;
		o.data_size_out = 512;
	}
	if (bpf_prog_test_run_opts(prog, &o))
		return warn("BPF_PROG_TEST_RUN: %s", strerror(errno));
	if (duration)
		*duration = o.duration;
	if (ret)
		*ret = o.retval;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Hot: the same packet `repeat` times, against the floor program. Trials go
 * round-robin over a set of cases, so a slow spell of the machine touches
 * every case alike, and the fastest trial of each is kept: interference
 * (other processes, interrupts, the hypervisor) only ever adds time.
 */
struct hot_case {
	const char *name;
	long n;
	int prog, floor;
	__u8 pkt[256];
	size_t len;
	double ns, floor_ns;
};

static int hot_set(const struct cfg *c, struct hot_case *hc, int n)
{
	__u32 d;

	for (int i = 0; i < n; i++)
		hc[i].ns = hc[i].floor_ns = 1e18;
	for (int t = 0; t < c->trials; t++) {
		for (int i = 0; i < n; i++) {
			if (run(hc[i].floor, hc[i].pkt, hc[i].len, c->repeat, &d, NULL, NULL))
				return -1;
			if (d < hc[i].floor_ns)
				hc[i].floor_ns = d;
			if (run(hc[i].prog, hc[i].pkt, hc[i].len, c->repeat, &d, NULL, NULL))
				return -1;
			if (d < hc[i].ns)
				hc[i].ns = d;
		}
	}
	return 0;
}

/*
 * Spread: packet i of pkts once through the floor, then once through prog.
 * check(i, out) says whether prog did what the case expects (e.g. the entry
 * was not evicted); a miss fails the case.
 */
typedef bool (*check_fn)(long i, const __u8 *out, void *arg);

static int spread(int prog, int floor, __u8 *pkts, size_t stride, const size_t *lens, int n,
		  check_fn check, void *arg, double *ns, double *floor_ns)
{
	double *sp = calloc((size_t)n, sizeof(double)), *sf = calloc((size_t)n, sizeof(double));
	int bad = 0, err = -1;
	__u8 out[512];
	__u32 d;

	if (!sp || !sf)
		goto out;
	for (int i = 0; i < n; i++) {
		const __u8 *pkt = pkts + (size_t)i * stride;

		if (run(floor, pkt, lens[i], 1, &d, NULL, NULL))
			goto out;
		sf[i] = d;
		if (run(prog, pkt, lens[i], 1, &d, out, NULL))
			goto out;
		sp[i] = d;
		if (check && !check(i, out, arg))
			bad++;
	}
	if (bad) {
		warn("%d of %d packets were not translated as expected", bad, n);
		goto out;
	}
	/* Medians: a packet interrupted midway costs microseconds, not nanoseconds. */
	*ns = median(sp, n);
	*floor_ns = median(sf, n);
	err = 0;
out:
	free(sp);
	free(sf);
	return err;
}

/* A TCP packet for programs that do not look at it. */
static size_t minimal_pkt(__u8 *pkt)
{
	struct flow f = { .family = AF_INET,
			  .proto = IPPROTO_TCP,
			  .saddr = v4(CLIENT_BASE),
			  .daddr = v4(HOST_BASE),
			  .sport = 40000,
			  .dport = 80 };

	return build_pkt(pkt, &f);
}

/* Run once and compare the rewritten endpoint with what the case expects. */
static int expect(int prog, const struct flow *f, bool dst, struct bpfport_addr want, __u16 port,
		  bool *ok)
{
	__u8 pkt[512], out[512];
	struct bpfport_addr got;
	size_t len = build_pkt(pkt, f);
	__u16 got_port;

	if (run(prog, pkt, len, 1, NULL, out, NULL))
		return -1;
	pkt_endpoint(out, dst, &got, &got_port);
	*ok = !memcmp(&got, &want, sizeof(got)) && got_port == port;
	return 0;
}

static void report(const char *name, long n, double ns, double floor_ns)
{
	emit("micro\t%s\t%ld\t%.1f\t%.1f\n", name, n, ns, floor_ns);
}

static long rand_below(long n)
{
	return (long)(((unsigned long)random() << 31 ^ (unsigned long)random()) % (unsigned long)n);
}

struct spread_arg {
	long n;
	const long *idx;
};

static bool check_ingress(long i, const __u8 *out, void *arg)
{
	const struct spread_arg *a = arg;
	struct bpfport_addr got, want = bind_ctr(a->idx[i] % a->n);
	__u16 port;

	pkt_endpoint(out, true, &got, &port);
	return !memcmp(&got, &want, sizeof(got)) && port == CTR_PORT;
}

static bool check_reply(long i, const __u8 *out, void *arg)
{
	const struct spread_arg *a = arg;
	struct bpfport_addr got, want = bind_host(a->idx[i] % a->n);
	__u16 port;

	pkt_endpoint(out, false, &got, &port);
	return !memcmp(&got, &want, sizeof(got)) && port == bind_port(a->idx[i] % a->n);
}

static bool check_wildcard(long i, const __u8 *out, void *arg)
{
	struct bpfport_addr got, want = v4(CTR_BASE);
	__u16 port;

	(void)i;
	(void)arg;
	pkt_endpoint(out, true, &got, &port);
	return !memcmp(&got, &want, sizeof(got)) && port == CTR_PORT;
}

/* One size under test: its own maps, filled, and flow 0 to time. */
struct size_run {
	long n;
	struct bench b;
	struct flow in, rep, v6, v6rep;
	bool have_v6;
};

/* IPv6 entries for a hot hit and reply, if the datapath translates IPv6 ("n/a" otherwise). */
static int prepare_ipv6(struct size_run *sr)
{
	bool reply_ok;
	struct flow f = { .family = AF_INET6,
			  .proto = IPPROTO_TCP,
			  .saddr = v6(1, 7),
			  .daddr = v6(2, 1),
			  .sport = 40000,
			  .dport = 80 };
	struct bpfport_addr ctr = v6(3, 8);

	sr->v6rep = (struct flow){ .family = AF_INET6,
				   .proto = IPPROTO_TCP,
				   .saddr = ctr,
				   .daddr = f.saddr,
				   .sport = CTR_PORT,
				   .dport = f.sport };
	/* The flow's two entries, and the two that map its rewritten packets back. */
	if (ct_put(sr->b.ct, &f, BPFPORT_CT_INGRESS, ctr, CTR_PORT) ||
	    ct_put(sr->b.ct, &sr->v6rep, BPFPORT_CT_REPLY, f.daddr, f.dport) ||
	    add_cycle(sr->b.ct, &f, &sr->v6rep, ctr, CTR_PORT))
		return -1;
	sr->v6 = f;
	if (expect(sr->b.xdp, &f, true, ctr, CTR_PORT, &sr->have_v6) ||
	    expect(sr->b.tc_out, &sr->v6rep, false, f.daddr, f.dport, &reply_ok))
		return -1;
	sr->have_v6 = sr->have_v6 && reply_ok;
	return 0;
}

/* Load maps sized for n, fill n bindings and n flows, check flow 0 both ways. */
static int prepare_size(const struct cfg *c, struct size_run *sr, long n)
{
	long slots = n > BPFPORT_MAX_BINDINGS ? n : BPFPORT_MAX_BINDINGS;
	__u32 nct = (__u32)(2 * n + 4 * (long)c->spread + 8192);
	__u64 t0;
	bool ok;

	sr->n = n;
	sr->in = flow_in(0, n, IPPROTO_TCP);
	sr->rep = flow_reply(0, n, IPPROTO_TCP);
	/* bp_ct keeps an LRU list per CPU (BPF_F_NO_COMMON_LRU) and everything
	 * here runs on one CPU, which gets max_entries / CPUs of it; plus headroom. */
	nct = nct * (__u32)libbpf_num_possible_cpus() + nct / 8;
	if (bench_load(&sr->b, (__u32)(n + 16), nct, (__u32)slots))
		return -1;
	t0 = now_ns();
	if (fill_bindings(sr->b.bind, n, slots) || publish_ports(sr->b.published, n) ||
	    fill_flows(sr->b.ct, n, n, slots))
		return -1;
	emit("note\tfilled %ld bindings and %ld flows (%ld conntrack entries) in %.2f s\n", n, n,
	     2 * n, (double)(now_ns() - t0) / 1e9);
	emit("mem\tct_max_entries.%ld\t%u\n", n, nct);
	if (add_cycle(sr->b.ct, &sr->in, &sr->rep, bind_ctr(0), CTR_PORT))
		return -1;
	/* Sanity: each path does what it should before it is timed. */
	if (expect(sr->b.xdp, &sr->in, true, bind_ctr(0), CTR_PORT, &ok) || !ok)
		return warn("hit: flow 0 was not translated (n=%ld)", n);
	if (expect(sr->b.tc_out, &sr->rep, false, sr->in.daddr, sr->in.dport, &ok) || !ok)
		return warn("reply: flow 0's reply was not translated (n=%ld)", n);
	return prepare_ipv6(sr);
}

#define HOT_CASES 8

/* Every hot case of every size in one round-robin, so sizes compare fairly. */
static int bench_hot(const struct cfg *c, struct size_run *sr, int nsizes)
{
	struct hot_case *hc = calloc((size_t)nsizes * HOT_CASES, sizeof(*hc));
	int n = 0, err = -1;

	if (!hc)
		return -1;
	for (int i = 0; i < nsizes; i++) {
		struct bench *b = &sr[i].b;
		struct flow miss6 = { .family = AF_INET6,
				      .proto = IPPROTO_TCP,
				      .saddr = v6(9, 7),
				      .daddr = v6(2, 1),
				      .sport = 5555,
				      .dport = 9 };
		struct flow miss_pub = { .family = AF_INET,
					 .proto = IPPROTO_TCP,
					 .saddr = v4(0xcb007107),
					 .daddr = v4(0xc613ff01),
					 .sport = 5555,
					 .dport = bind_port(0) };
		const struct {
			const char *name;
			int prog, floor;
			const struct flow *f;
		} cases[HOT_CASES] = {
			{ "hit", b->xdp, b->xdp_pass, &sr[i].in },
			{ "hit_tc", b->tc_in, b->tc_pass, &sr[i].in },
			{ "reply", b->tc_out, b->tc_pass, &sr[i].rep },
			{ "miss", b->xdp, b->xdp_pass, NULL },
			{ "miss_published", b->xdp, b->xdp_pass, &miss_pub },
			{ "hit_ipv6", b->xdp, b->xdp_pass, &sr[i].v6 },
			{ "reply_ipv6", b->tc_out, b->tc_pass, &sr[i].v6rep },
			{ "miss_ipv6", b->xdp, b->xdp_pass, &miss6 },
		};
		struct flow miss = { .family = AF_INET,
				     .proto = IPPROTO_TCP,
				     .saddr = v4(0xcb007107),
				     .daddr = v4(0xc613ff01),
				     .sport = 5555,
				     .dport = 9 };

		for (int k = 0; k < HOT_CASES; k++) {
			if (strstr(cases[k].name, "_ipv6") && !sr[i].have_v6)
				continue;
			hc[n].name = cases[k].name;
			hc[n].n = sr[i].n;
			hc[n].prog = cases[k].prog;
			hc[n].floor = cases[k].floor;
			hc[n].len = build_pkt(hc[n].pkt, cases[k].f ? cases[k].f : &miss);
			n++;
		}
	}
	if (hot_set(c, hc, n))
		goto out;
	for (int k = 0; k < n; k++)
		report(hc[k].name, hc[k].n, hc[k].ns, hc[k].floor_ns);
	for (int i = 0; i < nsizes; i++)
		if (!sr[i].have_v6)
			emit("micro\thit_ipv6\t%ld\tn/a\tn/a\nmicro\treply_ipv6\t%ld\tn/a\tn/a\n"
			     "micro\tmiss_ipv6\t%ld\tn/a\tn/a\n",
			     sr[i].n, sr[i].n, sr[i].n);
	err = 0;
out:
	free(hc);
	return err;
}

/* Cases that need fresh packets: random flows, new flows; and the map sizes. */
static int bench_spread(const struct cfg *c, struct size_run *sr)
{
	struct bench *b = &sr->b;
	long n = sr->n, slots = n > BPFPORT_MAX_BINDINGS ? n : BPFPORT_MAX_BINDINGS;
	int k = c->spread, err = -1;
	size_t stride = 128, *lens = calloc((size_t)k, sizeof(*lens));
	__u8 *pkts = calloc((size_t)k, stride);
	long *idx = calloc((size_t)k, sizeof(*idx));
	struct spread_arg arg = { .n = n, .idx = idx };
	double ns, fl;

	if (!lens || !pkts || !idx)
		goto out;

	/* Spread hits: random established flows. */
	for (int i = 0; i < k; i++) {
		struct flow f;

		idx[i] = rand_below(n);
		f = flow_in(idx[i], n, IPPROTO_TCP);
		lens[i] = build_pkt(pkts + (size_t)i * stride, &f);
	}
	if (spread(b->xdp, b->xdp_pass, pkts, stride, lens, k, check_ingress, &arg, &ns, &fl))
		goto out;
	report("hit_spread", n, ns, fl);
	for (int i = 0; i < k; i++) {
		struct flow f = flow_reply(idx[i], n, IPPROTO_TCP);

		lens[i] = build_pkt(pkts + (size_t)i * stride, &f);
	}
	if (spread(b->tc_out, b->tc_pass, pkts, stride, lens, k, check_reply, &arg, &ns, &fl))
		goto out;
	report("reply_spread", n, ns, fl);

	/* New flows: a binding hit (random binding, specific address) and two inserts. */
	for (int i = 0; i < k; i++) {
		struct flow f = flow_in(idx[i], n, IPPROTO_TCP);

		f.saddr = v4(FRESH_BASE + (__u32)i);
		f.syn = true; /* only a SYN opens a TCP flow */
		lens[i] = build_pkt(pkts + (size_t)i * stride, &f);
	}
	if (spread(b->xdp, b->xdp_pass, pkts, stride, lens, k, check_ingress, &arg, &ns, &fl))
		goto out;
	report("new_flow", n, ns, fl);

	/* New flows on a 0.0.0.0 binding: adds the FIB lookup that decides "local". */
	{
		struct bpfport_bind_key bk;
		struct bpfport_bind_val bv;

		bind_kv(0, IPPROTO_TCP, &bk, &bv, slots);
		memset(&bk.host_addr, 0, sizeof(bk.host_addr));
		bk.host_port = htons(WILDCARD_PORT);
		if (bpf_map_update_elem(b->bind, &bk, &bv, BPF_ANY)) {
			warn("adding the wildcard binding: %s", strerror(errno));
			goto out;
		}
	}
	for (int i = 0; i < k; i++) {
		struct flow f = { .family = AF_INET, .proto = IPPROTO_TCP, .syn = true };

		f.saddr = v4(FRESH_BASE + 0x100000 + (__u32)i);
		f.sport = 40000;
		f.daddr = v4(LOCAL_ADDR);
		f.dport = WILDCARD_PORT;
		lens[i] = build_pkt(pkts + (size_t)i * stride, &f);
	}
	if (spread(b->xdp, b->xdp_pass, pkts, stride, lens, k, check_wildcard, NULL, &ns, &fl))
		goto out;
	report("new_flow_wildcard", n, ns, fl);

	emit("mem\tbindings_memlock.%ld\t%ld\n", n, map_memlock(b->bind));
	emit("mem\tct_memlock.%ld\t%ld\n", n, map_memlock(b->ct));
	err = 0;
out:
	free(lens);
	free(pkts);
	free(idx);
	return err;
}

static int bench_sizes(const struct cfg *c)
{
	struct size_run *sr = calloc((size_t)c->nsizes, sizeof(*sr));
	int err = -1, i;

	if (!sr)
		return -1;
	for (i = 0; i < c->nsizes; i++)
		if (prepare_size(c, &sr[i], c->sizes[i]))
			goto out;
	if (bench_hot(c, sr, c->nsizes))
		goto out;
	for (i = 0; i < c->nsizes; i++)
		if (bench_spread(c, &sr[i]))
			goto out;
	err = 0;
out:
	for (i = 0; i < c->nsizes; i++)
		if (sr[i].b.skel)
			bench_unload(&sr[i].b);
	free(sr);
	return err;
}

static int bench_costs(const struct cfg *c, int xdp_pass)
{
	const struct bpf_insn ktime[] = {
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ktime_get_ns),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS_RET),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	const struct bpf_insn jiffies[] = {
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_jiffies64),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS_RET),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	const struct {
		const char *name;
		const struct bpf_insn *insns; /* or a lookup in a map of this kind: */
		enum bpf_map_type type;
		int key_size, value_size;
	} blocks[] = {
		{ "ktime_get_ns", ktime },
		{ "jiffies64", jiffies },
		{ "lookup_lru_hash_40b_key", NULL, BPF_MAP_TYPE_LRU_HASH,
		  sizeof(struct bpfport_ct_key), sizeof(struct bpfport_ct_val) },
		{ "lookup_hash_40b_key", NULL, BPF_MAP_TYPE_HASH, sizeof(struct bpfport_ct_key),
		  sizeof(struct bpfport_ct_val) },
		{ "lookup_hash_20b_key", NULL, BPF_MAP_TYPE_HASH, sizeof(struct bpfport_bind_key),
		  sizeof(struct bpfport_bind_val) },
		{ "lookup_percpu_array", NULL, BPF_MAP_TYPE_PERCPU_ARRAY, 4,
		  sizeof(struct bpfport_counters) },
	};
	enum { NBLOCKS = sizeof(blocks) / sizeof(blocks[0]) };
	struct hot_case hc[NBLOCKS];
	int maps[NBLOCKS], err = -1;
	size_t i;

	memset(hc, 0, sizeof(hc));
	for (i = 0; i < NBLOCKS; i++) {
		hc[i].prog = maps[i] = -1;
		hc[i].name = blocks[i].name;
		hc[i].floor = xdp_pass;
		hc[i].len = minimal_pkt(hc[i].pkt);
	}
	for (i = 0; i < NBLOCKS; i++) {
		__u8 key[64] = { 0 }, val[256] = { 0 };

		if (blocks[i].insns) {
			hc[i].prog = load_xdp_insns("bench_helper", blocks[i].insns, 3);
		} else {
			maps[i] = bpf_map_create(blocks[i].type, NULL, (__u32)blocks[i].key_size,
						 (__u32)blocks[i].value_size, 1024, NULL);
			/* The program looks up the all-zero key: make it a hit. */
			if (maps[i] >= 0 && (blocks[i].type == BPF_MAP_TYPE_PERCPU_ARRAY ||
					     !bpf_map_update_elem(maps[i], key, val, BPF_ANY)))
				hc[i].prog = load_lookup_prog(maps[i], blocks[i].key_size);
		}
		if (hc[i].prog < 0) {
			warn("%s: %s", blocks[i].name, strerror(errno));
			goto out;
		}
	}
	if (hot_set(c, hc, NBLOCKS))
		goto out;
	for (i = 0; i < NBLOCKS; i++)
		emit("cost\t%s\t%.1f\t%.1f\n", hc[i].name, hc[i].ns, hc[i].floor_ns);
	err = 0;
out:
	for (i = 0; i < NBLOCKS; i++) {
		if (hc[i].prog >= 0)
			close(hc[i].prog);
		if (maps[i] >= 0)
			close(maps[i]);
	}
	return err;
}

/*
 * Memory of the shipped map sizes, every map of the object, with the
 * bindings map full (65536). Maps created with BPF_F_NO_PREALLOC allocate per
 * element, so their memlock grows with their entries: bp_bindings is filled
 * and measured; the others are estimated full at the kernel's per-element
 * cost (struct htab_elem, 48 bytes, plus an 8-byte list node, plus key and
 * value rounded to 8), which the bindings measurement confirms. Preallocated
 * maps (LRU hashes, arrays) are charged whole at load.
 */
#define HTAB_ELEM_OVERHEAD 56

static long round8(long v)
{
	return (v + 7) & ~7L;
}

static int bench_memory(const struct cfg *c)
{
	long bind0 = 0, total = 0, loaded = 0, ports_full = 0, nbind = BPFPORT_MAX_BINDINGS;
	long per_binding = 0;
	const char *names[64];
	long empty[64];
	struct bpf_map *map;
	struct bench b;
	int err = -1, n = 0;

	if (bench_load(&b, 0, 0, 0))
		goto out;
	if (bench_costs(c, b.xdp_pass))
		goto out;
	bpf_object__for_each_map(map, b.skel->obj) {
		if (n == 64 || bpf_map__is_internal(map))
			continue;
		names[n] = bpf_map__name(map);
		empty[n] = map_memlock(bpf_map__fd(map));
		loaded += empty[n++];
	}
	bind0 = map_memlock(b.bind);
	if (fill_bindings(b.bind, nbind, nbind))
		goto out;
	emit("mem\tcpus\t%d\n", libbpf_num_possible_cpus());
	for (int i = 0; i < n; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(b.skel->obj, names[i]);
		long now = map_memlock(bpf_map__fd(m)), full = now, elem = 0;
		bool estimated = false;

		if ((bpf_map__map_flags(m) & BPF_F_NO_PREALLOC) && m != b.skel->maps.bp_bindings) {
			elem = HTAB_ELEM_OVERHEAD + round8(bpf_map__key_size(m)) +
			       round8(bpf_map__value_size(m));
			full = empty[i] + (long)bpf_map__max_entries(m) * elem;
			estimated = true;
		}
		/* map NAME TYPE MAX_ENTRIES AT_LOAD FULL ESTIMATED */
		emit("map\t%s\t%s\t%u\t%ld\t%ld\t%d\n", names[i],
		     libbpf_bpf_map_type_str(bpf_map__type(m)), bpf_map__max_entries(m), empty[i],
		     full, estimated);
		total += full;
		/* bp_ports holds at most one entry per binding (a count per host port). */
		if (!strcmp(names[i], "bp_ports")) {
			per_binding += elem;
			ports_full = full - now;
		}
	}
	emit("mem\tbindings_max\t%ld\n", nbind);
	emit("mem\tbytes_per_binding_elem\t%.1f\n",
	     (double)(map_memlock(b.bind) - bind0) / (double)nbind);
	emit("mem\tbytes_per_binding_counters\t%.1f\n",
	     (double)map_memlock(b.cnt) / (double)bpf_map__max_entries(b.skel->maps.bp_counters));
	emit("mem\tcounters_bytes_per_cpu\t%ld\n",
	     round8(bpf_map__value_size(b.skel->maps.bp_counters)));
	emit("mem\tbytes_per_binding_ports\t%ld\n", per_binding);
	per_binding += (map_memlock(b.bind) - bind0) / nbind +
		       map_memlock(b.cnt) / (long)bpf_map__max_entries(b.skel->maps.bp_counters);
	emit("mem\tbytes_per_binding\t%ld\n", per_binding);
	emit("mem\tct_max\t%u\n", bpf_map__max_entries(b.skel->maps.bp_ct));
	emit("mem\tbytes_per_flow\t%.1f\n",
	     2.0 * (double)map_memlock(b.ct) / (double)bpf_map__max_entries(b.skel->maps.bp_ct));
	/* At load; with every binding in use (bindings and their ports full, no
	 * allow-lists); and every map full. */
	emit("mem\tdefault_loaded\t%ld\n", loaded);
	emit("mem\tdefault_bindings_full\t%ld\n",
	     loaded + map_memlock(b.bind) - bind0 + ports_full);
	emit("mem\tdefault_all_full\t%ld\n", total);
	err = 0;
out:
	if (b.skel)
		bench_unload(&b);
	return err;
}

/* ---- setup ---- */

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* A private network namespace: lo up with 192.0.2.1, forwarding on (the FIB
 * lookup of wildcard bindings needs it). Nothing outside it is touched. */
static int setup_netns(void)
{
	if (unshare(CLONE_NEWNET))
		return warn("unshare(CLONE_NEWNET): %s", strerror(errno));
	if (write_file("/proc/sys/net/ipv4/ip_forward", "1"))
		return warn("enabling ip_forward in the private namespace: %s", strerror(errno));
	if (system("ip link set lo up && ip addr add 192.0.2.1/32 dev lo"))
		return warn("could not set up lo");
	return 0;
}

/* One CPU, so the per-CPU maps and caches stay put during a run. */
static void pin_cpu(void)
{
	cpu_set_t set;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	CPU_SET(ncpu > 1 ? (int)ncpu - 1 : 0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int parse_sizes(struct cfg *c, char *s)
{
	char *tok, *save = NULL, *end;

	c->nsizes = 0;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long v = strtol(tok, &end, 10);

		if (*end || v < 1 || v > 4000000 || c->nsizes == 8)
			return -1;
		c->sizes[c->nsizes++] = v;
	}
	return c->nsizes ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: microbench [-q] [-n N[,N...]]\n"
		   "  -q  quick: fewer iterations, sizes 1,100000\n"
		   "  -n  numbers of bindings (and tracked flows) to measure with\n"
		   "      (default 1,1000,100000,1000000)\n");
}

int main(int argc, char **argv)
{
	struct cfg c = { .sizes = { 1, 1000, 100000, 1000000 },
			 .nsizes = 4,
			 .repeat = 1000000,
			 .trials = 5,
			 .spread = 20000 };
	bool sizes_given = false;
	int opt;

	while ((opt = getopt(argc, argv, "qn:h")) != -1) {
		switch (opt) {
		case 'q':
			c.quick = true;
			break;
		case 'n':
			if (parse_sizes(&c, optarg)) {
				usage(stderr);
				return 2;
			}
			sizes_given = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (c.quick) {
		c.repeat = 200000;
		c.trials = 3;
		c.spread = 3000;
		if (!sizes_given) {
			c.sizes[1] = 100000;
			c.nsizes = 2;
		}
	}
	if (geteuid()) {
		fprintf(stderr, "microbench: needs root (BPF, a network namespace)\n");
		return 1;
	}
	libbpf_set_print(libbpf_quiet);
	srandom(42);
	if (setup_netns())
		return 1;
	pin_cpu();

	emit("# microbench: ns per packet (BPF_PROG_TEST_RUN), case n ns floor_ns\n");
	emit("note\trepeat=%u trials=%d spread=%d\n", c.repeat, c.trials, c.spread);
	if (bench_memory(&c))
		return 1;
	if (bench_sizes(&c))
		return 1;
	return 0;
}
