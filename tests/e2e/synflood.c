// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * synflood: crafted TCP segments from a raw socket, for the e2e tests
 * (test_ct_flood.sh compiles it into its work directory). Every segment has
 * its own source tuple: the address SRC plus random bits in its low
 * HOST_BITS, and a random port 1024-65535, drawn from a full-period
 * generator so that no tuple repeats within a run.
 *
 *   synflood DST PORT COUNT [-s SRC] [-b HOST_BITS] [-f syn|ack] [-r SEED]
 *
 * SRC defaults to 203.0.113.0 (TEST-NET-3) and HOST_BITS to 8 (the host
 * part avoids all-zeros and all-ones); -b 0 sends every segment from SRC.
 * Prints "sent=N seconds=S pps=R" on success.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256
#define PKT_LEN (sizeof(struct iphdr) + sizeof(struct tcphdr))

struct gen {
	uint64_t x, mask;
};

/* x -> a*x + c modulo a power of two: full period (Hull-Dobell). */
static uint64_t gen_next(struct gen *g)
{
	g->x = (g->x * 6364136223846793005ULL + 1442695040888963407ULL) & g->mask;
	return g->x;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint16_t *p = data;

	for (; len > 1; len -= 2)
		sum += *p++;
	return sum;
}

static void build(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		  uint32_t seq, uint8_t flags)
{
	struct iphdr *ip = (struct iphdr *)buf;
	struct tcphdr *tcp = (struct tcphdr *)(buf + sizeof(*ip));
	struct {
		uint32_t saddr, daddr;
		uint8_t zero, proto;
		uint16_t len;
	} __attribute__((packed)) ph;
	uint32_t sum;

	memset(buf, 0, PKT_LEN);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->tot_len = htons(PKT_LEN);
	ip->saddr = saddr;
	ip->daddr = daddr;
	tcp->source = htons(sport);
	tcp->dest = htons(dport);
	tcp->seq = htonl(seq);
	tcp->doff = 5;
	tcp->syn = !!(flags & 1);
	tcp->ack = !!(flags & 2);
	if (tcp->ack)
		tcp->ack_seq = htonl(seq ^ 0x5a5a5a5a);
	tcp->window = htons(64240);
	ph.saddr = saddr;
	ph.daddr = daddr;
	ph.zero = 0;
	ph.proto = IPPROTO_TCP;
	ph.len = htons(sizeof(*tcp));
	sum = csum_add(0, &ph, sizeof(ph));
	sum = csum_add(sum, tcp, sizeof(*tcp));
	tcp->check = csum_fold(sum);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: synflood DST PORT COUNT [-s SRC] [-b HOST_BITS] [-f syn|ack] "
			"[-r SEED]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][PKT_LEN];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct in_addr src = { 0 };
	unsigned long long count, sent = 0;
	unsigned int bits = 8, dport;
	uint8_t flags = 1;
	struct gen g;
	uint64_t seed = (uint64_t)getpid() * 2654435761ULL ^ (uint64_t)time(NULL);
	double t0;
	int fd, opt;

	inet_pton(AF_INET, "203.0.113.0", &src);
	if (argc < 4)
		return usage();
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1)
		return usage();
	dport = strtoul(argv[2], NULL, 10);
	count = strtoull(argv[3], NULL, 10);
	optind = 4;
	while ((opt = getopt(argc, argv, "s:b:f:r:")) != -1) {
		switch (opt) {
		case 's':
			if (inet_pton(AF_INET, optarg, &src) != 1)
				return usage();
			break;
		case 'b':
			bits = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			if (!strcmp(optarg, "syn"))
				flags = 1;
			else if (!strcmp(optarg, "ack"))
				flags = 2;
			else
				return usage();
			break;
		case 'r':
			seed = strtoull(optarg, NULL, 10);
			break;
		default:
			return usage();
		}
	}
	if (!dport || dport > 65535 || bits > 16 || (bits == 1))
		return usage();

	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("socket(SOCK_RAW)");
		return 1;
	}
	g.mask = (1ULL << (bits + 16)) - 1;
	g.x = seed & g.mask;
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = PKT_LEN;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = sizeof(dst);
	}

	t0 = now_s();
	while (sent < count) {
		unsigned int n = count - sent < BATCH ? count - sent : BATCH;
		unsigned int done = 0;

		for (unsigned int i = 0; i < n; i++) {
			uint32_t host, port;

			do {
				uint64_t x = gen_next(&g);

				host = (uint32_t)(x >> 16);
				port = (uint32_t)(x & 0xffff);
			} while (port < 1024 || (bits && (host == 0 || host == (1U << bits) - 1)));
			build(bufs[i], htonl(ntohl(src.s_addr) + host), dst.sin_addr.s_addr,
			      (uint16_t)port, (uint16_t)dport, (uint32_t)gen_next(&g) * 2654435761U,
			      flags);
		}
		while (done < n) {
			int r = sendmmsg(fd, msgs + done, n - done, 0);

			if (r < 0) {
				if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
					usleep(100);
					continue;
				}
				perror("sendmmsg");
				return 1;
			}
			done += r;
		}
		sent += n;
	}
	t0 = now_s() - t0;
	printf("sent=%llu seconds=%.2f pps=%.0f\n", sent, t0, t0 > 0 ? sent / t0 : 0.0);
	return 0;
}
