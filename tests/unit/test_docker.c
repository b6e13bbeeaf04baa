// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of Docker's semantics: -p grammar, allocator, conflicts,
 * `docker port` output order, link variables.
 *
 * Expectations come from the reference code, not from bpfport:
 *   docker/go-connections nat/nat.go      ParsePortSpec, splitParts, SplitProtoPort
 *   docker/go-connections nat/parse.go    parsePortRange (strings.Cut at the first
 *                                         '-'), parsePortNumber (strconv.ParseInt)
 *   docker/go-connections nat/nat_test.go the ParsePortSpec cases mirrored below
 *   Go net.SplitHostPort                  the bracket errors
 *   moby portallocator/portallocator.go   RequestPortsInRange, newPortRange
 *   moby bridge port mapping              configurePortBindingIPv4, bindHostPorts
 *   moby daemon/links/links.go            ToEnv, withTCPPriority
 *   fvbommel/sortorder natsort(_test).go  NaturalLess and its vectors
 * bpfport's own choices, by design: container port 0 is refused, host
 * port 0 is dynamic, sctp parses but is refused at publish time, a family the
 * container lacks is refused, <A>_NAME only with a client.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "binding.h"
#include "container.h"
#include "hostport.h"
#include "links.h"
#include "natsort.h"
#include "portspec.h"
#include "publish.h"
#include "state.h"
#include "unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PARSE_FAILED 100 /* not a publish_error */
#define MAX_KEPT 8

/* ---- helpers ---------------------------------------------------------- */

/* "*|0-0|80/tcp", "127.0.0.1|8080-8080|80/tcp", "[::1]|0-0|80/udp", ", "-joined. */
static void mappings_str(const struct port_mapping *m, size_t n, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && o < len; i++) {
		const char *proto = m[i].proto == IPPROTO_SCTP_NUM ? "sctp" :
								     proto_name(m[i].proto);
		char a[INET6_ADDRSTRLEN], ip[INET6_ADDRSTRLEN + 2] = "*";

		if (m[i].has_host_ip) {
			addr_format(m[i].host_family, &m[i].host_addr, a, sizeof(a));
			if (m[i].host_family == BPFPORT_AF_INET6)
				snprintf(ip, sizeof(ip), "[%s]", a);
			else
				snprintf(ip, sizeof(ip), "%s", a);
		}
		o += (size_t)snprintf(buf + o, len - o, "%s%s|%u-%u|%u/%s", i ? ", " : "", ip,
				      m[i].host_port_start, m[i].host_port_end, m[i].container_port,
				      proto);
	}
}

/* Parses spec; returns 0 and the mappings as text, or -1 and the error. */
static int parse_str(const char *spec, char *out, size_t len)
{
	struct port_mapping *m = NULL;
	size_t n = 0;

	if (portspec_parse(spec, &m, &n, out, len))
		return -1;
	mappings_str(m, n, out, len);
	free(m);
	return 0;
}

static void st_init(struct state *st, __u16 begin, __u16 end)
{
	memset(st, 0, sizeof(*st));
	st->port_range_begin = begin;
	st->port_range_end = end;
}

static void ctr_init(struct container *c, const char *id, const char *ip4, const char *ip6)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	if (ip4)
		c->has_ip4 = inet_pton(AF_INET, ip4, &c->ip4.a[0]) == 1;
	if (ip6)
		c->has_ip6 = inet_pton(AF_INET6, ip6, c->ip6.a) == 1;
}

struct outcome {
	int ret;
	size_t n; /* bindings planned */
	bool plan_empty; /* after a failure: nothing left in the plan */
	struct binding b[MAX_KEPT];
	char err[ERRBUF_MAX];
};

/* `docker run -p specs[0] -p specs[1] ...`: parse, plan and, on success,
 * install the bindings into st as the CLI would. */
static struct outcome publish_n(struct state *st, const struct container *c,
				const char *const *specs, size_t n_specs, bool sockets)
{
	struct port_mapping *all = NULL, *m, *grown;
	struct publish_plan plan;
	struct outcome o;
	size_t n_all = 0, n;

	memset(&o, 0, sizeof(o));
	for (size_t i = 0; i < n_specs; i++) {
		if (portspec_parse(specs[i], &m, &n, o.err, sizeof(o.err))) {
			free(all);
			o.ret = PARSE_FAILED;
			return o;
		}
		grown = realloc(all, (n_all + n) * sizeof(*all));
		if (!grown)
			abort();
		all = grown;
		memcpy(all + n_all, m, n * sizeof(*m));
		n_all += n;
		free(m);
	}
	o.ret = publish_plan(st, c, all, n_all, sockets, &plan, o.err, sizeof(o.err));
	free(all);
	o.n = plan.n;
	o.plan_empty = plan.n == 0 && plan.bindings == NULL;
	for (size_t i = 0; i < plan.n; i++) {
		if (i < MAX_KEPT)
			o.b[i] = plan.bindings[i];
		if (!o.ret) {
			plan.bindings[i].slot = (__u32)state_free_slot(st);
			state_add_binding(st, &plan.bindings[i]);
		}
	}
	publish_plan_free(&plan);
	return o;
}

static struct outcome pub(struct state *st, const struct container *c, const char *spec)
{
	return publish_n(st, c, &spec, 1, false);
}

static struct outcome pub_sock(struct state *st, const struct container *c, const char *spec)
{
	return publish_n(st, c, &spec, 1, true);
}

/* Removes every binding on a host port (docker rm of its container). */
static void unpublish(struct state *st, __u16 port)
{
	for (size_t i = st->n_bindings; i-- > 0;)
		if (st->bindings[i].host_port == port)
			state_remove_binding(st, i);
}

/* "0.0.0.0:49000/tcp", for messages and comparisons; two rotating buffers. */
static const char *bstr(const struct binding *b)
{
	static char bufs[2][ENDPOINT_STR_MAX + 8];
	static int k;
	char host[ENDPOINT_STR_MAX];

	k ^= 1;
	binding_host_str(b, host, sizeof(host));
	snprintf(bufs[k], sizeof(bufs[k]), "%s/%s", host, proto_name(b->proto));
	return bufs[k];
}

static void check_lines(const char *what, char *const *got, size_t n_got, const char *const *want,
			size_t n_want)
{
	for (size_t i = 0; i < n_got || i < n_want; i++) {
		const char *g = i < n_got ? got[i] : "(missing)";
		const char *w = i < n_want ? want[i] : "(nothing more)";

		CHECK(!strcmp(g, w), "%s, line %zu: got \"%s\", want \"%s\"", what, i, g, w);
	}
}

/* ---- 1. grammar, valid forms ------------------------------------------ */

struct good_spec {
	const char *spec;
	const char *want;
};

static void check_good(const struct good_spec *t, size_t n)
{
	char got[1024];

	for (size_t i = 0; i < n; i++) {
		int ret = parse_str(t[i].spec, got, sizeof(got));

		CHECK(!ret, "\"%s\" rejected: %.200s", t[i].spec, got);
		CHECK(ret || !strcmp(got, t[i].want), "\"%s\": got %.200s, want %s", t[i].spec, got,
		      t[i].want);
	}
}

static void test_portspec_basic_forms(void)
{
	static const struct good_spec t[] = {
		{ "80", "*|0-0|80/tcp" },
		{ "8080:80", "*|8080-8080|80/tcp" },
		{ "127.0.0.1:8080:80", "127.0.0.1|8080-8080|80/tcp" },
		{ "127.0.0.1::80", "127.0.0.1|0-0|80/tcp" },
		{ "0.0.0.0:8080:80", "0.0.0.0|8080-8080|80/tcp" },
		{ "[127.0.0.1]:8080:80", "127.0.0.1|8080-8080|80/tcp" }, /* brackets stripped */
		{ "192.168.1.100::6000/udp", "192.168.1.100|0-0|6000/udp" }, /* nat_test */
		{ "192.168.1.100:8080:80", "192.168.1.100|8080-8080|80/tcp" }, /* nat_test */
		{ "0:80", "*|0-0|80/tcp" },
		{ "65535:65535", "*|65535-65535|65535/tcp" },
		{ "1234/", "*|0-0|1234/tcp" }, /* SplitProtoPort: empty proto is tcp */
		{ "0123", "*|0-0|123/tcp" }, /* nat_test "octal value": decimal 123 */
	};

	check_good(t, ARRAY_SIZE(t));
}

static void test_portspec_ipv6_forms(void)
{
	/* nat_test TestPartPortSpecIPV6 and TestStringer */
	static const struct good_spec t[] = {
		{ "[::1]:8080:80", "[::1]|8080-8080|80/tcp" },
		{ "::1:8080:80", "[::1]|8080-8080|80/tcp" },
		{ "[::]::80/udp", "[::]|0-0|80/udp" },
		{ "::::80", "[::]|0-0|80/tcp" },
		{ "::::6000/udp", "[::]|0-0|6000/udp" },
		{ "[::1]::6000/udp", "[::1]|0-0|6000/udp" },
		{ "[2001:4860:0:2001::68]::333", "[2001:4860:0:2001::68]|0-0|333/tcp" },
		{ "2001:4860:0:2001::68::333", "[2001:4860:0:2001::68]|0-0|333/tcp" },
	};

	check_good(t, ARRAY_SIZE(t));
}

static void test_portspec_ranges(void)
{
	static const struct good_spec t[] = {
		{ "8000-8002:80-82", "*|8000-8000|80/tcp, *|8001-8001|81/tcp, *|8002-8002|82/tcp" },
		{ "80-82", "*|0-0|80/tcp, *|0-0|81/tcp, *|0-0|82/tcp" },
		{ "8000-8010:80", "*|8000-8010|80/tcp" }, /* dynamic within the host range */
		{ "8000-8000:80", "*|8000-8000|80/tcp" },
		{ "80-80", "*|0-0|80/tcp" },
		{ "0080-80", "*|0-0|80/tcp" },
		{ "80-81/udp", "*|0-0|80/udp, *|0-0|81/udp" },
		{ "0.0.0.0:1234-1235:3333-3334/tcp", /* nat_test TestParsePortSpecFull */
		  "0.0.0.0|1234-1234|3333/tcp, 0.0.0.0|1235-1235|3334/tcp" },
		{ "127.0.0.1::80-81", "127.0.0.1|0-0|80/tcp, 127.0.0.1|0-0|81/tcp" },
	};

	check_good(t, ARRAY_SIZE(t));
}

static void test_portspec_protocols(void)
{
	static const struct good_spec t[] = {
		{ "80/tcp", "*|0-0|80/tcp" },
		{ "80/udp", "*|0-0|80/udp" },
		{ "80/UDP", "*|0-0|80/udp" },
		{ "80/Tcp", "*|0-0|80/tcp" },
		{ "80/sctp", "*|0-0|80/sctp" },
		{ "3456-3457:3456-3457/SCTP", "*|3456-3456|3456/sctp, *|3457-3457|3457/sctp" },
	};
	struct port_mapping *m = NULL;
	char err[ERRBUF_MAX];
	size_t n = 0;
	int ret;

	check_good(t, ARRAY_SIZE(t));
	ret = portspec_parse("80/sctp", &m, &n, err, sizeof(err));
	CHECK(!ret && n == 1 && m[0].proto == IPPROTO_SCTP_NUM,
	      "80/sctp: proto is not IPPROTO_SCTP_NUM");
	free(m);
}

/* parsePortNumber is strconv.ParseInt(s, 10, 0): a leading '+' is accepted. */
static void test_portspec_plus_sign(void)
{
	static const struct good_spec t[] = {
		{ "+80", "*|0-0|80/tcp" },
		{ "+8080:80", "*|8080-8080|80/tcp" },
		{ "80-+81", "*|0-0|80/tcp, *|0-0|81/tcp" },
		{ "+0:80", "*|0-0|80/tcp" },
	};

	check_good(t, ARRAY_SIZE(t));
}

/* ---- 2. grammar, errors ----------------------------------------------- */

struct bad_spec {
	const char *spec;
	const char *error;
};

static void check_bad(const struct bad_spec *t, size_t n)
{
	char got[1024];

	for (size_t i = 0; i < n; i++) {
		int ret = parse_str(t[i].spec, got, sizeof(got));

		CHECK(ret, "\"%s\" accepted as %.200s", t[i].spec, got);
		CHECK(!ret || !strcmp(got, t[i].error), "\"%s\": got \"%.200s\", want \"%s\"",
		      t[i].spec, got, t[i].error);
	}
}

static void test_portspec_errors(void)
{
	static const struct bad_spec t[] = {
		{ "127.0.0.1:80", "invalid hostPort: 127.0.0.1" },
		{ "80/icmp", "invalid proto: icmp" },
		{ "80/ICMP", "invalid proto: icmp" }, /* lower-cased before validateProto */
		{ "80/tcp/udp", "invalid proto: tcp/udp" },
		{ "8000-8001:80-82",
		  "invalid ranges specified for container and host Ports: 80-82 and 8000-8001" },
		{ "8080:80-82",
		  "invalid ranges specified for container and host Ports: 80-82 and 8080" },
		{ "65536", "invalid containerPort: 65536" },
		{ "0", "invalid containerPort: 0" },
		{ "8080:0", "invalid containerPort: 0" },
		{ "abc", "invalid containerPort: abc" },
		{ "-1", "invalid containerPort: -1" },
		{ "1asdf", "invalid containerPort: 1asdf" },
		{ " 80", "invalid containerPort:  80" },
		{ "192.168.1.100", "invalid containerPort: 192.168.1.100" }, /* nat_test */
		{ "192.168.1.100:-1:-1", "invalid containerPort: -1" }, /* nat_test */
		{ "82-80", "invalid containerPort: 82-80" },
		{ "80-65536", "invalid containerPort: 80-65536" },
		{ "65536:80", "invalid hostPort: 65536" },
		{ "8001-8000:80", "invalid hostPort: 8001-8000" },
		{ "-1:80", "invalid hostPort: -1" },
		{ "8080:", "no port specified: 8080:<empty>" },
		{ "", "no port specified: <empty>" },
		{ "/udp", "no port specified: /udp<empty>" },
		{ "0.0.0.0:1234-1235:/tcp", "no port specified: 0.0.0.0:1234-1235:/tcp<empty>" },
		{ "0.0.0.0:1234-1235:", "no port specified: 0.0.0.0:1234-1235:<empty>" },
		{ "1.2.3:80:80", "invalid IP address: 1.2.3" },
		{ "localhost:1234:1234/tcp", "invalid IP address: localhost" }, /* nat_test */
		{ "256.0.0.1:80:80", "invalid IP address: 256.0.0.1" },
		{ "fe80::1%eth0:80:80", "invalid IP address: fe80::1%eth0" },
	};

	check_bad(t, ARRAY_SIZE(t));
}

/* net.SplitHostPort(ip + ":") errors, wrapped as "invalid IP address %v: %w". */
static void test_portspec_bracket_errors(void)
{
	static const struct bad_spec t[] = {
		{ "[::1:80:80", "invalid IP address [::1: address [::1:: missing ']' in address" },
		{ "[:80:80", "invalid IP address [: address [:: missing ']' in address" },
		{ "[::1]x:80:80",
		  "invalid IP address [::1]x: address [::1]x:: missing port in address" },
		{ "[::1]]:80:80",
		  "invalid IP address [::1]]: address [::1]]:: missing port in address" },
		{ "[1.2.3]:80:80", "invalid IP address: 1.2.3" }, /* brackets stripped first */
	};

	check_bad(t, ARRAY_SIZE(t));
}

/* SplitHostPort("[::1]::"): ']' is followed by a ':' that is not the last one. */
static void test_portspec_bracket_too_many_colons(void)
{
	static const struct bad_spec t[] = {
		{ "[::1]::80:80",
		  "invalid IP address [::1]:: address [::1]::: too many colons in address" },
	};

	check_bad(t, ARRAY_SIZE(t));
}

/* SplitHostPort("[[::1]:"): a second '[' after the first. */
static void test_portspec_bracket_unexpected_open(void)
{
	static const struct bad_spec t[] = {
		{ "[[::1]:80:80",
		  "invalid IP address [[::1]: address [[::1]:: unexpected '[' in address" },
	};

	check_bad(t, ARRAY_SIZE(t));
}

/* SplitHostPort("[]:") gives host "", and ParsePortSpec only checks a non-empty
 * ip: "[]:80:80" is "80:80". */
static void test_portspec_empty_brackets_mean_no_ip(void)
{
	static const struct good_spec t[] = {
		{ "[]:80:80", "*|80-80|80/tcp" },
		{ "[]::80", "*|0-0|80/tcp" },
	};

	check_good(t, ARRAY_SIZE(t));
}

/* parsePortRange cuts at the first '-': "-0" is an empty start port, an error
 * ("invalid start port '': value is empty"), not a signed zero. */
static void test_portspec_leading_minus_is_range_dash(void)
{
	static const struct bad_spec t[] = {
		{ "-0:80", "invalid hostPort: -0" },
		{ "-0-5:80", "invalid hostPort: -0-5" },
	};

	check_bad(t, ARRAY_SIZE(t));
}

/* ParsePortSpec: empty port, proto, IP, container port, host port, ranges. */
static void test_portspec_check_order(void)
{
	static const struct bad_spec t[] = {
		{ "1.2.3:80:80/icmp", "invalid proto: icmp" },
		{ "[::1:80:80/icmp", "invalid proto: icmp" },
		{ "1.2.3:abc:80", "invalid IP address: 1.2.3" },
		{ "1.2.3:80:abc", "invalid IP address: 1.2.3" },
		{ "1.2.3:80:", "no port specified: 1.2.3:80:<empty>" },
		{ "8080:/icmp", "no port specified: 8080:/icmp<empty>" },
		{ "127.0.0.1:abc:xyz", "invalid containerPort: xyz" },
		{ "abc:99999", "invalid containerPort: 99999" },
		{ "abc:80-82", "invalid hostPort: abc" },
		{ "99999:80/icmp", "invalid proto: icmp" },
	};

	check_bad(t, ARRAY_SIZE(t));
}

/* ---- 3. allocator ----------------------------------------------------- */

static void test_alloc_first_is_range_start(void)
{
	struct state st;
	struct container c;
	struct outcome o;
	char err[ERRBUF_MAX];

	/* state_load of a missing file: the default pool 49000-49900. */
	snprintf(err, sizeof(err), "%s/no-such-state", unit_tmpdir());
	CHECK(!state_load(err, &st), "state_load of a missing file failed");
	CHECK(st.port_range_begin == 49000 && st.port_range_end == 49900, "default range %u-%u",
	      st.port_range_begin, st.port_range_end);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	o = pub(&st, &c, "80");
	CHECK(o.ret == PUBLISH_OK && o.n == 1, "ret %d n %zu: %s", o.ret, o.n, o.err);
	CHECK(!strcmp(bstr(&o.b[0]), "0.0.0.0:49000/tcp"), "got %s", bstr(&o.b[0]));
	CHECK(o.b[0].container_port == 80 && o.b[0].family == BPFPORT_AF_INET &&
		      !strcmp(o.b[0].id, "web") && addr_equal(&o.b[0].container_addr, &c.ip4),
	      "binding fields wrong");
	CHECK(st.n_bindings == 1, "installed %zu", st.n_bindings);
	state_free(&st);
}

static void test_alloc_round_robin(void)
{
	const char *multi[] = { "90-92" };
	struct state st;
	struct container c;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	for (unsigned i = 0; i < 3; i++) {
		char spec[16];

		snprintf(spec, sizeof(spec), "%u", 80 + i);
		o = pub(&st, &c, spec);
		CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == 49000 + i, "-p %s: %d %u", spec,
		      o.ret, o.b[0].host_port);
	}
	o = publish_n(&st, &c, multi, 1, false);
	CHECK(o.ret == PUBLISH_OK && o.n == 3, "-p 90-92: %d %zu", o.ret, o.n);
	for (unsigned i = 0; i < 3 && i < o.n; i++)
		CHECK(o.b[i].host_port == 49003 + i && o.b[i].container_port == 90 + i,
		      "-p 90-92 [%u]: %u -> %u", i, o.b[i].host_port, o.b[i].container_port);
	state_free(&st);
}

static void test_alloc_released_not_reused_until_wrap(void)
{
	struct state st;
	struct container c;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	pub(&st, &c, "80");
	pub(&st, &c, "81");
	unpublish(&st, 49000);
	o = pub(&st, &c, "82");
	CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == 49002,
	      "released 49000 reused: got %u, want 49002", o.b[0].host_port);
	state_free(&st);
}

static void test_alloc_wraps_around(void)
{
	struct state st;
	struct container c;
	struct outcome o;

	st_init(&st, 49000, 49002);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	for (int i = 0; i < 3; i++)
		pub(&st, &c, "80");
	CHECK(st.n_bindings == 3, "three ports: %zu", st.n_bindings);
	unpublish(&st, 49001);
	o = pub(&st, &c, "81"); /* after 49002: wrap to 49000 (held), then 49001 */
	CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == 49001, "wrap: %d %u", o.ret,
	      o.b[0].host_port);
	unpublish(&st, 49000);
	o = pub(&st, &c, "82"); /* after 49001: 49002 held, wrap to 49000 */
	CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == 49000, "second wrap: %d %u", o.ret,
	      o.b[0].host_port);
	state_free(&st);
}

static void test_alloc_exhausted(void)
{
	struct state st;
	struct container c;
	struct outcome o;

	st_init(&st, 49000, 49002);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	for (int i = 0; i < 3; i++) {
		o = pub(&st, &c, "80");
		CHECK(o.ret == PUBLISH_OK, "allocation %d: %s", i, o.err);
	}
	o = pub(&st, &c, "81");
	CHECK(o.ret == PUBLISH_EXHAUSTED, "4th of 3: ret %d", o.ret);
	CHECK(!strcmp(o.err, "all ports are allocated"), "message \"%s\"", o.err);
	CHECK(o.plan_empty && st.n_bindings == 3, "plan %zu, installed %zu", o.n, st.n_bindings);
	state_free(&st);
}

/* A host range asks for a port within it, with its own round-robin position. */
static void test_alloc_host_range_own_cursor(void)
{
	struct state st;
	struct container c;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	o = pub(&st, &c, "8000-8002:80");
	CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == 8000, "first: %d %u", o.ret,
	      o.b[0].host_port);
	o = pub(&st, &c, "8000-8002:81");
	CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == 8001, "second: %u", o.b[0].host_port);
	o = pub(&st, &c, "82");
	CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == 49000, "pool: %u", o.b[0].host_port);
	o = pub(&st, &c, "8000-8002:83");
	CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == 8002, "third: %u", o.b[0].host_port);
	o = pub(&st, &c, "8000-8002:84");
	CHECK(o.ret == PUBLISH_EXHAUSTED && !strcmp(o.err, "all ports are allocated"),
	      "full range: %d \"%s\"", o.ret, o.err);
	o = pub(&st, &c, "8001-8003:85"); /* another range: own cursor, starts at 8001 */
	CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == 8003, "overlapping range: %u",
	      o.b[0].host_port);
	state_free(&st);
}

/* RequestPortsInRange: portStart 0 with portEnd != 0 is "invalid port range: 0-5". */
static void test_alloc_host_range_from_zero_refused(void)
{
	struct state st;
	struct container c;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	o = pub(&st, &c, "0-5:80");
	CHECK(o.ret != PUBLISH_OK, "-p 0-5:80 accepted as %s (Docker: invalid port range: 0-5)",
	      bstr(&o.b[0]));
	state_free(&st);
}

static void test_alloc_dual_stack_same_port(void)
{
	struct state st;
	struct container v4, dual;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&dual, "dual", "172.17.0.8", "fd00::8");
	ctr_init(&v4, "v4", "172.17.0.9", NULL);
	o = pub(&st, &dual, "80");
	CHECK(o.ret == PUBLISH_OK && o.n == 2, "ret %d n %zu", o.ret, o.n);
	CHECK(!strcmp(bstr(&o.b[0]), "0.0.0.0:49000/tcp") &&
		      !strcmp(bstr(&o.b[1]), "[::]:49000/tcp"),
	      "got %s and %s", bstr(&o.b[0]), bstr(&o.b[1]));
	CHECK(addr_equal(&o.b[0].container_addr, &dual.ip4) &&
		      addr_equal(&o.b[1].container_addr, &dual.ip6),
	      "container addresses per family");
	/* 49001 taken on 0.0.0.0 only: the pair needs it free in both families. */
	o = pub(&st, &v4, "49001:80");
	CHECK(o.ret == PUBLISH_OK, "fixed 49001: %s", o.err);
	o = pub(&st, &dual, "81");
	CHECK(o.ret == PUBLISH_OK && o.n == 2 && o.b[0].host_port == 49002 &&
		      o.b[1].host_port == 49002,
	      "got %s and %s, want port 49002 twice", bstr(&o.b[0]), bstr(&o.b[1]));
	/* An explicit address publishes one family only. */
	o = pub(&st, &dual, "127.0.0.1:8080:80");
	CHECK(o.ret == PUBLISH_OK && o.n == 1 && !strcmp(bstr(&o.b[0]), "127.0.0.1:8080/tcp"),
	      "explicit IPv4: %d %zu", o.ret, o.n);
	o = pub(&st, &dual, "[::1]:8080:80");
	CHECK(o.ret == PUBLISH_OK && o.n == 1 && !strcmp(bstr(&o.b[0]), "[::1]:8080/tcp"),
	      "explicit IPv6: %d %zu", o.ret, o.n);
	state_free(&st);
}

/* The unspecified address only covers its own family. */
static void test_alloc_per_family(void)
{
	struct state st;
	struct container v4, v6, dual;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&v4, "v4", "172.17.0.9", NULL);
	ctr_init(&v6, "v6", NULL, "fd00::9");
	ctr_init(&dual, "dual", "172.17.0.8", "fd00::8");
	o = pub(&st, &v4, "80");
	CHECK(o.ret == PUBLISH_OK && o.n == 1 && !strcmp(bstr(&o.b[0]), "0.0.0.0:49000/tcp"),
	      "v4: %s", bstr(&o.b[0]));
	o = pub(&st, &v6, "80");
	CHECK(o.ret == PUBLISH_OK && o.n == 1 && !strcmp(bstr(&o.b[0]), "[::]:49000/tcp"),
	      "v6 only: %s (49000 is free on ::)", bstr(&o.b[0]));
	o = pub(&st, &dual, "80"); /* 49000 held in both families now */
	CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == 49001, "dual: %u", o.b[0].host_port);
	o = pub(&st, &v4, "8080:80");
	CHECK(o.ret == PUBLISH_OK, "v4 fixed: %s", o.err);
	o = pub(&st, &v6, "8080:80");
	CHECK(o.ret == PUBLISH_OK, "v6 fixed on the port 0.0.0.0 holds: %s", o.err);
	o = pub(&st, &v6, "[::]::81"); /* explicit "::": same cursor as v6's "80" */
	CHECK(o.ret == PUBLISH_OK && !strcmp(bstr(&o.b[0]), "[::]:49002/tcp"), "[::]::81: %s",
	      bstr(&o.b[0]));
	state_free(&st);
}

/* RequestPortsInRange sets last on every address it allocated: after a
 * 0.0.0.0 + :: allocation the :: range also moved on. */
static void test_alloc_dual_stack_advances_ipv6_cursor(void)
{
	struct state st;
	struct container dual;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&dual, "dual", "172.17.0.8", "fd00::8");
	o = pub(&st, &dual, "80");
	CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == 49000, "dual: %u", o.b[0].host_port);
	unpublish(&st, 49000);
	o = pub(&st, &dual, "[::]::81");
	CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == 49001,
	      "[::]::81 after a released dual-stack 49000: got %u, want 49001", o.b[0].host_port);
	state_free(&st);
}

/* Each specific address has its own range position; conflicts still apply. */
static void test_alloc_specific_address_cursor(void)
{
	struct state st;
	struct container c;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	o = pub(&st, &c, "127.0.0.1::80");
	CHECK(o.ret == PUBLISH_OK && !strcmp(bstr(&o.b[0]), "127.0.0.1:49000/tcp"), "got %s",
	      bstr(&o.b[0]));
	o = pub(&st, &c, "80"); /* 0.0.0.0 starts at 49000, held by 127.0.0.1 */
	CHECK(o.ret == PUBLISH_OK && !strcmp(bstr(&o.b[0]), "0.0.0.0:49001/tcp"), "got %s",
	      bstr(&o.b[0]));
	o = pub(&st, &c, "127.0.0.2::80"); /* 127.0.0.1's 49000 is no conflict */
	CHECK(o.ret == PUBLISH_OK && !strcmp(bstr(&o.b[0]), "127.0.0.2:49000/tcp"), "got %s",
	      bstr(&o.b[0]));
	o = pub(&st, &c, "127.0.0.1::81"); /* 49001 held by 0.0.0.0 */
	CHECK(o.ret == PUBLISH_OK && !strcmp(bstr(&o.b[0]), "127.0.0.1:49002/tcp"), "got %s",
	      bstr(&o.b[0]));
	state_free(&st);
}

static void test_alloc_protocols_independent(void)
{
	struct state st;
	struct container c;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	o = pub(&st, &c, "80");
	CHECK(o.ret == PUBLISH_OK && !strcmp(bstr(&o.b[0]), "0.0.0.0:49000/tcp"), "tcp: %s",
	      bstr(&o.b[0]));
	o = pub(&st, &c, "80/udp");
	CHECK(o.ret == PUBLISH_OK && !strcmp(bstr(&o.b[0]), "0.0.0.0:49000/udp"), "udp: %s",
	      bstr(&o.b[0]));
	o = pub(&st, &c, "8080:80");
	CHECK(o.ret == PUBLISH_OK, "fixed tcp: %s", o.err);
	o = pub(&st, &c, "8080:80/udp");
	CHECK(o.ret == PUBLISH_OK && o.b[0].proto == IPPROTO_UDP, "fixed udp: %s", o.err);
	state_free(&st);
}

/* moby unmaps IPv4-mapped IPv6 host addresses (configurePortBindingIPv4:
 * bnd.HostIP.To4()): the binding is IPv4. */
static void test_publish_ipv4_mapped_host_ip_is_ipv4(void)
{
	struct state st;
	struct container c;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	o = pub(&st, &c, "[::ffff:127.0.0.1]:8080:80");
	CHECK(o.ret == PUBLISH_OK && o.n == 1, "ret %d: %s", o.ret, o.err);
	CHECK(o.ret || !strcmp(bstr(&o.b[0]), "127.0.0.1:8080/tcp"), "got %s", bstr(&o.b[0]));
	state_free(&st);
}

/* ---- 4. conflicts ----------------------------------------------------- */

static void test_conflict_fixed_port(void)
{
	struct state st;
	struct container a, b;
	struct outcome o;
	size_t cursors;

	st_init(&st, 49000, 49900);
	ctr_init(&a, "a", "172.17.0.8", NULL);
	ctr_init(&b, "b", "172.17.0.9", NULL);
	o = pub(&st, &a, "8080:80");
	CHECK(o.ret == PUBLISH_OK && !strcmp(bstr(&o.b[0]), "0.0.0.0:8080/tcp"), "a: %s", o.err);
	cursors = st.n_cursors;
	o = pub(&st, &b, "8080:80");
	CHECK(o.ret == PUBLISH_CONFLICT, "b: ret %d", o.ret);
	CHECK(!strcmp(o.err, "Bind for 0.0.0.0:8080 failed: port is already allocated"),
	      "message \"%s\"", o.err);
	CHECK(o.plan_empty && st.n_bindings == 1 && st.n_cursors == cursors,
	      "failed plan changed things: plan %zu, bindings %zu", o.n, st.n_bindings);
	state_free(&st);
}

static void test_conflict_specific_vs_wildcard(void)
{
	struct state st;
	struct container a, b;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&a, "a", "172.17.0.8", NULL);
	ctr_init(&b, "b", "172.17.0.9", NULL);
	pub(&st, &a, "8080:80");
	o = pub(&st, &b, "127.0.0.1:8080:80");
	CHECK(o.ret == PUBLISH_CONFLICT, "specific after wildcard: ret %d", o.ret);
	pub(&st, &a, "127.0.0.1:9090:80");
	o = pub(&st, &b, "9090:80");
	CHECK(o.ret == PUBLISH_CONFLICT, "wildcard after specific: ret %d", o.ret);
	o = pub(&st, &b, "0.0.0.0:9090:80");
	CHECK(o.ret == PUBLISH_CONFLICT, "explicit 0.0.0.0 after specific: ret %d", o.ret);
	CHECK(st.n_bindings == 2, "bindings %zu", st.n_bindings);
	state_free(&st);
}

/* alreadyAllocatedErr{ip: addr.String()} names the address whose map holds
 * the port, i.e. the existing binding, not the one asked for. */
static void test_conflict_message_names_holder(void)
{
	struct state st;
	struct container a, b, d;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&a, "a", "172.17.0.8", NULL);
	ctr_init(&b, "b", "172.17.0.9", NULL);
	ctr_init(&d, "d", NULL, "fd00::9");
	pub(&st, &a, "8080:80");
	o = pub(&st, &b, "127.0.0.1:8080:80");
	CHECK(!strcmp(o.err, "Bind for 0.0.0.0:8080 failed: port is already allocated"),
	      "127.0.0.1:8080 vs held 0.0.0.0:8080: \"%s\"", o.err);
	pub(&st, &a, "127.0.0.1:9090:80");
	o = pub(&st, &b, "9090:80");
	CHECK(!strcmp(o.err, "Bind for 127.0.0.1:9090 failed: port is already allocated"),
	      "0.0.0.0:9090 vs held 127.0.0.1:9090: \"%s\"", o.err);
	pub(&st, &d, "[::]:7070:80");
	o = pub(&st, &d, "[::1]:7070:81");
	CHECK(!strcmp(o.err, "Bind for :::7070 failed: port is already allocated"),
	      "[::1]:7070 vs held [::]:7070: \"%s\"", o.err);
	state_free(&st);
}

static void test_conflict_two_specific_addresses_ok(void)
{
	struct state st;
	struct container a, b;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&a, "a", "172.17.0.8", NULL);
	ctr_init(&b, "b", "172.17.0.9", NULL);
	o = pub(&st, &a, "127.0.0.1:8080:80");
	CHECK(o.ret == PUBLISH_OK, "first: %s", o.err);
	o = pub(&st, &b, "127.0.0.2:8080:80");
	CHECK(o.ret == PUBLISH_OK, "second specific address: %s", o.err);
	o = pub(&st, &b, "127.0.0.1:8080:80");
	CHECK(o.ret == PUBLISH_CONFLICT &&
		      !strcmp(o.err, "Bind for 127.0.0.1:8080 failed: port is already allocated"),
	      "same specific address: %d \"%s\"", o.ret, o.err);
	state_free(&st);
}

static void test_conflict_tcp_udp_ok(void)
{
	struct state st;
	struct container a, b;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&a, "a", "172.17.0.8", NULL);
	ctr_init(&b, "b", "172.17.0.9", NULL);
	pub(&st, &a, "8080:80/tcp");
	o = pub(&st, &b, "8080:80/udp");
	CHECK(o.ret == PUBLISH_OK, "udp next to tcp: %s", o.err);
	o = pub(&st, &b, "8080:81/udp");
	CHECK(o.ret == PUBLISH_CONFLICT, "udp twice: %d", o.ret);
	state_free(&st);
}

static void test_conflict_ipv6_wildcard_message(void)
{
	struct state st;
	struct container dual, v6, v4;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&dual, "dual", "172.17.0.8", "fd00::8");
	ctr_init(&v6, "v6", NULL, "fd00::9");
	ctr_init(&v4, "v4", "172.17.0.10", NULL);
	o = pub(&st, &dual, "8080:80");
	CHECK(o.ret == PUBLISH_OK && o.n == 2, "dual: %s", o.err);
	o = pub(&st, &v6, "8080:80");
	CHECK(o.ret == PUBLISH_CONFLICT &&
		      !strcmp(o.err, "Bind for :::8080 failed: port is already allocated"),
	      "v6: %d \"%s\"", o.ret, o.err);
	o = pub(&st, &v4, "8080:80");
	CHECK(o.ret == PUBLISH_CONFLICT &&
		      !strcmp(o.err, "Bind for 0.0.0.0:8080 failed: port is already allocated"),
	      "v4: %d \"%s\"", o.ret, o.err);
	/* Only :: holds 9090: the dual pair fails on its IPv6 half. */
	pub(&st, &v6, "9090:80");
	o = pub(&st, &dual, "9090:81");
	CHECK(o.ret == PUBLISH_CONFLICT &&
		      !strcmp(o.err, "Bind for :::9090 failed: port is already allocated"),
	      "dual vs [::]:9090: %d \"%s\"", o.ret, o.err);
	state_free(&st);
}

static void test_conflict_within_one_request(void)
{
	const char *dup[] = { "8080:80", "8080:81" };
	const char *dyn[] = { "80", "81", "8081:82" };
	struct state st;
	struct container c;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	o = publish_n(&st, &c, dup, ARRAY_SIZE(dup), false);
	CHECK(o.ret == PUBLISH_CONFLICT &&
		      !strcmp(o.err, "Bind for 0.0.0.0:8080 failed: port is already allocated"),
	      "-p 8080:80 -p 8080:81: %d \"%s\"", o.ret, o.err);
	CHECK(o.plan_empty && st.n_bindings == 0, "failed plan left %zu planned, %zu installed",
	      o.n, st.n_bindings);
	o = publish_n(&st, &c, dyn, ARRAY_SIZE(dyn), false);
	CHECK(o.ret == PUBLISH_OK && o.n == 3 && o.b[0].host_port == 49000 &&
		      o.b[1].host_port == 49001 && o.b[2].host_port == 8081,
	      "-p 80 -p 81 -p 8081:82: %d %zu", o.ret, o.n);
	state_free(&st);
}

static void test_publish_family_unsupported(void)
{
	struct state st;
	struct container v4, v6, none;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&v4, "v4", "172.17.0.8", NULL);
	ctr_init(&v6, "v6", NULL, "fd00::9");
	ctr_init(&none, "none", NULL, NULL);
	o = pub(&st, &v4, "[::1]:80:80");
	CHECK(o.ret == PUBLISH_UNSUPPORTED && o.plan_empty, "[::1]:80:80 on IPv4-only: %d", o.ret);
	o = pub(&st, &v6, "127.0.0.1:80:80");
	CHECK(o.ret == PUBLISH_UNSUPPORTED, "127.0.0.1:80:80 on IPv6-only: %d", o.ret);
	o = pub(&st, &v6, "80");
	CHECK(o.ret == PUBLISH_OK && o.n == 1 && !strcmp(bstr(&o.b[0]), "[::]:49000/tcp"),
	      "80 on IPv6-only: %d %zu", o.ret, o.n);
	o = pub(&st, &none, "80");
	CHECK(o.ret == PUBLISH_UNSUPPORTED, "no address: %d", o.ret);
	CHECK(st.n_bindings == 1, "bindings %zu", st.n_bindings);
	state_free(&st);
}

static void test_publish_sctp_unsupported(void)
{
	const char *mixed[] = { "80", "81/sctp" };
	struct state st;
	struct container c;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	o = pub(&st, &c, "80/sctp");
	CHECK(o.ret == PUBLISH_UNSUPPORTED && o.plan_empty, "80/sctp: %d", o.ret);
	o = publish_n(&st, &c, mixed, ARRAY_SIZE(mixed), false);
	CHECK(o.ret == PUBLISH_UNSUPPORTED && o.plan_empty && st.n_bindings == 0,
	      "-p 80 -p 81/sctp: %d, %zu installed", o.ret, st.n_bindings);
	state_free(&st);
}

/* ---- 5. sockets ------------------------------------------------------- */

/* A socket bound (and, for TCP, listening) on 127.0.0.1:*port, or -1. */
static int hold_port(int type, __u16 *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(*port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    (type == SOCK_STREAM && listen(fd, 1)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Holds a free port P for which P+1 looks free too. */
static int hold_port_with_free_next(int type, __u8 proto, __u16 *port)
{
	struct bpfport_addr any = {};

	for (int tries = 0; tries < 50; tries++) {
		int fd;

		*port = 0;
		fd = hold_port(type, port);
		if (fd < 0)
			return -1;
		if (*port < 65535 && !hostport_in_use(BPFPORT_AF_INET, &any, *port + 1, proto))
			return fd;
		close(fd);
	}
	return -1;
}

static void check_fixed_in_use(int type, __u8 proto)
{
	const char *pn = proto_name(proto);
	char spec[64], want[128];
	struct state st;
	struct container c;
	struct outcome o;
	__u16 p = 0;
	int fd = hold_port(type, &p);

	CHECK(fd >= 0, "cannot hold a %s port", pn);
	if (fd < 0)
		return;
	st_init(&st, 49000, 49900);
	ctr_init(&c, "web", "172.17.0.8", NULL);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u:80/%s", p, pn);
	o = pub_sock(&st, &c, spec);
	snprintf(want, sizeof(want),
		 "failed to bind host port 127.0.0.1:%u/%s: address already in use", p, pn);
	CHECK(o.ret == PUBLISH_IN_USE && !strcmp(o.err, want), "%s: %d \"%s\", want \"%s\"", spec,
	      o.ret, o.err, want);
	CHECK(o.plan_empty && st.n_bindings == 0, "%s: failed plan installed", spec);
	snprintf(spec, sizeof(spec), "%u:80/%s", p, pn);
	o = pub_sock(&st, &c, spec);
	snprintf(want, sizeof(want),
		 "failed to bind host port 0.0.0.0:%u/%s: address already in use", p, pn);
	CHECK(o.ret == PUBLISH_IN_USE && !strcmp(o.err, want), "%s: %d \"%s\", want \"%s\"", spec,
	      o.ret, o.err, want);
	o = pub(&st, &c, spec); /* no socket check: only bpfport's own bindings count */
	CHECK(o.ret == PUBLISH_OK, "%s without the socket check: %s", spec, o.err);
	close(fd);
	state_free(&st);
}

static void test_socket_fixed_port_in_use_tcp(void)
{
	check_fixed_in_use(SOCK_STREAM, IPPROTO_TCP);
}

static void test_socket_fixed_port_in_use_udp(void)
{
	check_fixed_in_use(SOCK_DGRAM, IPPROTO_UDP);
}

static void check_dynamic_skips(int type, __u8 proto)
{
	const char *pn = proto_name(proto);
	char spec[32];
	struct state st;
	struct container c;
	struct outcome o;
	__u16 p;
	int fd = hold_port_with_free_next(type, proto, &p);

	CHECK(fd >= 0, "cannot hold a %s port followed by a free one", pn);
	if (fd < 0)
		return;
	st_init(&st, p, (__u16)(p + 1));
	ctr_init(&c, "web", "172.17.0.8", NULL);
	snprintf(spec, sizeof(spec), "80/%s", pn);
	o = pub_sock(&st, &c, spec);
	CHECK(o.ret == PUBLISH_OK && o.b[0].host_port == p + 1, "%s in %u-%u with %u held: %d %u",
	      spec, p, p + 1, p, o.ret, o.b[0].host_port);
	o = pub_sock(&st, &c, spec); /* p+1 is bpfport's now, p is someone else's */
	CHECK(o.ret == PUBLISH_EXHAUSTED && !strcmp(o.err, "all ports are allocated"),
	      "second %s: %d \"%s\"", spec, o.ret, o.err);
	close(fd);
	state_free(&st);
}

static void test_socket_dynamic_skips_held_port_tcp(void)
{
	check_dynamic_skips(SOCK_STREAM, IPPROTO_TCP);
}

static void test_socket_dynamic_skips_held_port_udp(void)
{
	check_dynamic_skips(SOCK_DGRAM, IPPROTO_UDP);
}

/* ---- 6. natural order ------------------------------------------------- */

static void test_natural_less_sortorder_vectors(void)
{
	static const struct {
		const char *a, *b;
		bool less;
	} t[] = {
		{ "0", "00", true },
		{ "00", "0", false },
		{ "aa", "ab", true },
		{ "ab", "abc", true },
		{ "abc", "ad", true },
		{ "ab1", "ab2", true },
		{ "ab1c", "ab1c", false },
		{ "ab12", "abc", true },
		{ "ab2a", "ab10", true },
		{ "a0001", "a0000001", true },
		{ "a10", "abcdefgh2", true },
		{ "\xd0\xb0\xd0\xb1"
		  "2\xd0\xb0\xd0\xb1",
		  "\xd0\xb0\xd0\xb1"
		  "10\xd0\xb0\xd0\xb1",
		  true }, /* "аб2аб" < "аб10аб" */
		{ "2\xd0\xb0\xd0\xb1", "3\xd0\xb0\xd0\xb1", true },
		{ "a1b", "a01b", true },
		{ "a01b", "a1b", false },
		{ "ab01b", "ab010b", true },
		{ "ab010b", "ab01b", false },
		{ "a01b001", "a001b01", true },
		{ "a001b01", "a01b001", false },
		{ "a1", "a1x", true },
		{ "1ax", "1b", true },
		{ "1b", "1ax", false },
		{ "082", "83", true },
		{ "083a", "9a", false },
		{ "9a", "083a", true },
		{ "", "", false },
		{ "", "a", true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		CHECK(natural_less(t[i].a, t[i].b) == t[i].less,
		      "NaturalLess(\"%s\", \"%s\") != %s", t[i].a, t[i].b,
		      t[i].less ? "true" : "false");
}

static void test_natural_sort_string_sort(void)
{
	/* sortorder TestStringSort */
	static const char *const want[] = { "ab", "abc1", "abc01", "abc2", "abc5", "abc10" };
	char *got[] = { "abc5", "abc1", "abc01", "ab", "abc10", "abc2" };

	qsort(got, ARRAY_SIZE(got), sizeof(got[0]), natural_cmp);
	check_lines("sorted", got, ARRAY_SIZE(got), want, ARRAY_SIZE(want));
	CHECK(natural_cmp(&want[1], &want[1]) == 0, "natural_cmp of equal strings");
}

static void test_natural_sort_port_lines(void)
{
	static const char *const want[] = {
		"53/udp -> 0.0.0.0:53",	  "80/tcp -> 0.0.0.0:80",     "80/tcp -> 0.0.0.0:8080",
		"80/tcp -> 127.0.0.1:80", "80/tcp -> [::]:80",	      "80/udp -> 0.0.0.0:80",
		"443/tcp -> 0.0.0.0:443", "8080/tcp -> 0.0.0.0:9000", "8080/tcp -> 0.0.0.0:49000",
		"8080/tcp -> [::1]:9000",
	};
	char *got[] = {
		"8080/tcp -> [::1]:9000",    "80/tcp -> [::]:80",      "443/tcp -> 0.0.0.0:443",
		"8080/tcp -> 0.0.0.0:49000", "80/udp -> 0.0.0.0:80",   "80/tcp -> 127.0.0.1:80",
		"53/udp -> 0.0.0.0:53",	     "80/tcp -> 0.0.0.0:8080", "8080/tcp -> 0.0.0.0:9000",
		"80/tcp -> 0.0.0.0:80",
	};

	qsort(got, ARRAY_SIZE(got), sizeof(got[0]), natural_cmp);
	check_lines("docker port", got, ARRAY_SIZE(got), want, ARRAY_SIZE(want));
	CHECK(natural_less("80/tcp -> 0.0.0.0:80", "080/tcp -> 0.0.0.0:80"),
	      "fewer leading zeros first");
	CHECK(!natural_less("080/tcp -> 0.0.0.0:80", "80/tcp -> 0.0.0.0:80"),
	      "leading zeros tie-break reversed");
}

/* ---- 8. port lines from real bindings ---------------------------------- */

/* cli/format.c binding_port_line: "<container port>/<proto> -> <host endpoint>". */
static void port_line(const struct binding *b, char *buf, size_t len)
{
	char host[ENDPOINT_STR_MAX];

	binding_host_str(b, host, sizeof(host));
	snprintf(buf, len, "%u/%s -> %s", b->container_port, proto_name(b->proto), host);
}

static void test_port_lines_from_bindings(void)
{
	const char *specs[] = { "8080:8080", "443:443", "53:53/udp", "80:80", "127.0.0.1::9000" };
	static const char *const want[] = {
		"53/udp -> 0.0.0.0:53",	    "53/udp -> [::]:53",      "80/tcp -> 0.0.0.0:80",
		"80/tcp -> [::]:80",	    "443/tcp -> 0.0.0.0:443", "443/tcp -> [::]:443",
		"8080/tcp -> 0.0.0.0:8080", "8080/tcp -> [::]:8080",  "9000/tcp -> 127.0.0.1:49000",
	};
	char lines[16][ENDPOINT_STR_MAX + 16], *got[16];
	struct state st;
	struct container c;
	struct outcome o;
	size_t n = 0;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "web", "172.17.0.8", "fd00::8");
	o = publish_n(&st, &c, specs, ARRAY_SIZE(specs), false);
	CHECK(o.ret == PUBLISH_OK && st.n_bindings == 9, "publish: %d, %zu bindings: %s", o.ret,
	      st.n_bindings, o.err);
	for (size_t i = 0; i < st.n_bindings && n < ARRAY_SIZE(lines); i++) {
		port_line(&st.bindings[i], lines[n], sizeof(lines[n]));
		got[n] = lines[n];
		n++;
	}
	qsort(got, n, sizeof(got[0]), natural_cmp);
	check_lines("docker port", got, n, want, ARRAY_SIZE(want));
	state_free(&st);
}

static void test_binding_host_str_forms(void)
{
	struct state st;
	struct container c;
	struct outcome o;
	char buf[ENDPOINT_STR_MAX];

	st_init(&st, 49000, 49900);
	ctr_init(&c, "web", "172.17.0.8", "fd00::8");
	o = pub(&st, &c, "80:80");
	binding_host_str(&o.b[1], buf, sizeof(buf));
	CHECK(!strcmp(buf, "[::]:80"), "[::] form: %s", buf);
	binding_host_str(&o.b[0], buf, sizeof(buf));
	CHECK(!strcmp(buf, "0.0.0.0:80"), "0.0.0.0 form: %s", buf);
	o = pub(&st, &c, "[2001:db8::1]:8443:443");
	binding_host_str(&o.b[0], buf, sizeof(buf));
	CHECK(!strcmp(buf, "[2001:db8::1]:8443"), "specific IPv6: %s", buf);
	binding_container_str(&o.b[0], buf, sizeof(buf));
	CHECK(!strcmp(buf, "[fd00::8]:443"), "container side: %s", buf);
	state_free(&st);
}

/* ---- 7. link variables ------------------------------------------------ */

static void test_links_env_full(void)
{
	static const char *const want[] = {
		"MY_DB_PORT=tcp://172.17.0.8:80",
		"MY_DB_PORT_80_TCP=tcp://172.17.0.8:80",
		"MY_DB_PORT_80_TCP_ADDR=172.17.0.8",
		"MY_DB_PORT_80_TCP_PORT=80",
		"MY_DB_PORT_80_TCP_PROTO=tcp",
		"MY_DB_PORT_81_TCP=tcp://172.17.0.8:81",
		"MY_DB_PORT_81_TCP_ADDR=172.17.0.8",
		"MY_DB_PORT_81_TCP_PORT=81",
		"MY_DB_PORT_81_TCP_PROTO=tcp",
		"MY_DB_PORT_82_TCP=tcp://172.17.0.8:82",
		"MY_DB_PORT_82_TCP_ADDR=172.17.0.8",
		"MY_DB_PORT_82_TCP_PORT=82",
		"MY_DB_PORT_82_TCP_PROTO=tcp",
		"MY_DB_PORT_8080_TCP=tcp://172.17.0.8:8080",
		"MY_DB_PORT_8080_TCP_ADDR=172.17.0.8",
		"MY_DB_PORT_8080_TCP_PORT=8080",
		"MY_DB_PORT_8080_TCP_PROTO=tcp",
		/* the 80-82 run, emitted after the port that broke it */
		"MY_DB_PORT_80_TCP_START=tcp://172.17.0.8:80",
		"MY_DB_PORT_80_TCP_PORT_START=80",
		"MY_DB_PORT_80_TCP_END=tcp://172.17.0.8:82",
		"MY_DB_PORT_80_TCP_PORT_END=82",
		"MY_DB_PORT_53_UDP=udp://172.17.0.8:53",
		"MY_DB_PORT_53_UDP_ADDR=172.17.0.8",
		"MY_DB_PORT_53_UDP_PORT=53",
		"MY_DB_PORT_53_UDP_PROTO=udp",
		"MY_DB_NAME=/web/my-db",
		"MY_DB_ENV_FOO=bar=baz",
		"MY_DB_ENV_EMPTY=",
	};
	static const char *const env[] = { "HOME=/root", "PATH=/bin", "FOO=bar=baz", "EMPTY=" };
	struct state st;
	struct container c;
	struct env_list out;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "db", "172.17.0.8", NULL);
	container_expose(&c, 8080, IPPROTO_TCP);
	container_expose(&c, 53, IPPROTO_UDP);
	container_expose(&c, 82, IPPROTO_TCP);
	container_expose(&c, 80, IPPROTO_TCP);
	container_expose(&c, 81, IPPROTO_TCP);
	for (size_t i = 0; i < ARRAY_SIZE(env); i++)
		container_set_env(&c, env[i]);
	CHECK(!links_env(&st, &c, "my-db", "web", &out), "links_env failed");
	check_lines("env", out.lines, out.n, want, ARRAY_SIZE(want));
	env_list_free(&out);
	container_free(&c);
	state_free(&st);
}

static void test_links_env_udp_only(void)
{
	static const char *const want[] = {
		"DNS_PORT=udp://10.0.0.2:53",
		"DNS_PORT_53_UDP=udp://10.0.0.2:53",
		"DNS_PORT_53_UDP_ADDR=10.0.0.2",
		"DNS_PORT_53_UDP_PORT=53",
		"DNS_PORT_53_UDP_PROTO=udp",
		"DNS_PORT_54_UDP=udp://10.0.0.2:54",
		"DNS_PORT_54_UDP_ADDR=10.0.0.2",
		"DNS_PORT_54_UDP_PORT=54",
		"DNS_PORT_54_UDP_PROTO=udp",
		/* a run that reaches the last port is closed there */
		"DNS_PORT_53_UDP_START=udp://10.0.0.2:53",
		"DNS_PORT_53_UDP_PORT_START=53",
		"DNS_PORT_53_UDP_END=udp://10.0.0.2:54",
		"DNS_PORT_53_UDP_PORT_END=54",
	};
	struct state st;
	struct container c;
	struct env_list out;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "resolver", "10.0.0.2", NULL);
	container_expose(&c, 54, IPPROTO_UDP);
	container_expose(&c, 53, IPPROTO_UDP);
	CHECK(!links_env(&st, &c, "dns", NULL, &out), "links_env failed");
	check_lines("env", out.lines, out.n, want, ARRAY_SIZE(want));
	env_list_free(&out);
	container_free(&c);
	state_free(&st);
}

/* A tcp run followed by the next number in udp: not one run (proto differs). */
static void test_links_env_run_broken_by_proto(void)
{
	static const char *const want[] = {
		"A_PORT=tcp://10.0.0.3:80",    "A_PORT_80_TCP=tcp://10.0.0.3:80",
		"A_PORT_80_TCP_ADDR=10.0.0.3", "A_PORT_80_TCP_PORT=80",
		"A_PORT_80_TCP_PROTO=tcp",     "A_PORT_81_TCP=tcp://10.0.0.3:81",
		"A_PORT_81_TCP_ADDR=10.0.0.3", "A_PORT_81_TCP_PORT=81",
		"A_PORT_81_TCP_PROTO=tcp",     "A_PORT_82_UDP=udp://10.0.0.3:82",
		"A_PORT_82_UDP_ADDR=10.0.0.3", "A_PORT_82_UDP_PORT=82",
		"A_PORT_82_UDP_PROTO=udp",     "A_PORT_80_TCP_START=tcp://10.0.0.3:80",
		"A_PORT_80_TCP_PORT_START=80", "A_PORT_80_TCP_END=tcp://10.0.0.3:81",
		"A_PORT_80_TCP_PORT_END=81",   "A_NAME=/client/a",
	};
	struct state st;
	struct container c;
	struct env_list out;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "x", "10.0.0.3", NULL);
	container_expose(&c, 82, IPPROTO_UDP);
	container_expose(&c, 81, IPPROTO_TCP);
	container_expose(&c, 80, IPPROTO_TCP);
	CHECK(!links_env(&st, &c, "a", "client", &out), "links_env failed");
	check_lines("env", out.lines, out.n, want, ARRAY_SIZE(want));
	env_list_free(&out);
	container_free(&c);
	state_free(&st);
}

/*
 * Runs fn in a child, so that a sanitizer abort (the SAN build stops at the
 * first report) fails this test instead of ending the whole run.
 */
static void run_isolated(void (*fn)(void))
{
	char msg[sizeof(unit_failure_buf)] = "";
	int fds[2], status = 0;
	ssize_t len = 0;
	pid_t pid;

	fflush(stdout);
	if (pipe(fds)) {
		fn();
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		fn();
		if (unit_failure && write(fds[1], unit_failure, strlen(unit_failure)) < 0)
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	if (pid > 0) {
		len = read(fds[0], msg, sizeof(msg) - 1);
		waitpid(pid, &status, 0);
	}
	close(fds[0]);
	msg[len > 0 ? len : 0] = '\0';
	CHECK(pid > 0, "fork failed");
	CHECK(pid <= 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
	      "crashed (%s %d): a sanitizer report? (stderr is /dev/null: "
	      "strace -f -e trace=write the test binary to read it)",
	      WIFSIGNALED(status) ? "signal" : "exit status",
	      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	CHECK(!msg[0], "%s", msg);
}

static void links_env_no_ports(void)
{
	static const char *const want[] = { "CACHE_NAME=/app/cache", "CACHE_ENV_MODE=lru",
					    "CACHE_ENV_X=" };
	static const char *const want_no_client[] = { "CACHE_ENV_MODE=lru", "CACHE_ENV_X=" };
	struct state st;
	struct container c;
	struct env_list out;

	st_init(&st, 49000, 49900);
	ctr_init(&c, "cache", "10.0.0.4", NULL);
	container_set_env(&c, "PATH=/usr/bin");
	container_set_env(&c, "MODE=lru");
	container_set_env(&c, "HOME=/");
	container_set_env(&c, "X=");
	CHECK(!links_env(&st, &c, "cache", "app", &out), "links_env failed");
	check_lines("env", out.lines, out.n, want, ARRAY_SIZE(want));
	env_list_free(&out);
	CHECK(!links_env(&st, &c, "Cache", NULL, &out), "links_env failed");
	check_lines("env without client", out.lines, out.n, want_no_client,
		    ARRAY_SIZE(want_no_client));
	env_list_free(&out);
	container_free(&c);
	state_free(&st);
}

/* A container with no ports at all: only the _NAME and _ENV_ variables. */
static void test_links_env_no_ports(void)
{
	run_isolated(links_env_no_ports);
}

/* -p adds the container port to the exposed ports; dual-stack pairs count once. */
static void test_links_env_published_ports_count(void)
{
	static const char *const want[] = {
		"API_PORT=tcp://10.0.0.5:5000",	     "API_PORT_5000_TCP=tcp://10.0.0.5:5000",
		"API_PORT_5000_TCP_ADDR=10.0.0.5",   "API_PORT_5000_TCP_PORT=5000",
		"API_PORT_5000_TCP_PROTO=tcp",	     "API_PORT_5001_TCP=tcp://10.0.0.5:5001",
		"API_PORT_5001_TCP_ADDR=10.0.0.5",   "API_PORT_5001_TCP_PORT=5001",
		"API_PORT_5001_TCP_PROTO=tcp",	     "API_PORT_7000_UDP=udp://10.0.0.5:7000",
		"API_PORT_7000_UDP_ADDR=10.0.0.5",   "API_PORT_7000_UDP_PORT=7000",
		"API_PORT_7000_UDP_PROTO=udp",	     "API_PORT_5000_TCP_START=tcp://10.0.0.5:5000",
		"API_PORT_5000_TCP_PORT_START=5000", "API_PORT_5000_TCP_END=tcp://10.0.0.5:5001",
		"API_PORT_5000_TCP_PORT_END=5001",
	};
	struct state st;
	struct container api, other;
	struct env_list out;
	struct outcome o;

	st_init(&st, 49000, 49900);
	ctr_init(&api, "api", "10.0.0.5", "fd00::5");
	ctr_init(&other, "other", "10.0.0.6", NULL);
	container_expose(&api, 5001, IPPROTO_TCP);
	o = pub(&st, &api, "5000");
	CHECK(o.ret == PUBLISH_OK && o.n == 2, "publish 5000: %s", o.err);
	o = pub(&st, &api, "127.0.0.1:7000:7000/udp");
	CHECK(o.ret == PUBLISH_OK, "publish 7000/udp: %s", o.err);
	o = pub(&st, &other, "6000");
	CHECK(o.ret == PUBLISH_OK, "publish other: %s", o.err);
	CHECK(!links_env(&st, &api, "api", NULL, &out), "links_env failed");
	check_lines("env", out.lines, out.n, want, ARRAY_SIZE(want));
	env_list_free(&out);
	container_free(&api);
	state_free(&st);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_portspec_basic_forms),
	UNIT_TEST(test_portspec_ipv6_forms),
	UNIT_TEST(test_portspec_ranges),
	UNIT_TEST(test_portspec_protocols),
	UNIT_TEST(test_portspec_plus_sign),
	UNIT_TEST(test_portspec_errors),
	UNIT_TEST(test_portspec_bracket_errors),
	UNIT_TEST(test_portspec_bracket_too_many_colons),
	UNIT_TEST(test_portspec_bracket_unexpected_open),
	UNIT_TEST(test_portspec_empty_brackets_mean_no_ip),
	UNIT_TEST(test_portspec_leading_minus_is_range_dash),
	UNIT_TEST(test_portspec_check_order),
	UNIT_TEST(test_alloc_first_is_range_start),
	UNIT_TEST(test_alloc_round_robin),
	UNIT_TEST(test_alloc_released_not_reused_until_wrap),
	UNIT_TEST(test_alloc_wraps_around),
	UNIT_TEST(test_alloc_exhausted),
	UNIT_TEST(test_alloc_host_range_own_cursor),
	UNIT_TEST(test_alloc_host_range_from_zero_refused),
	UNIT_TEST(test_alloc_dual_stack_same_port),
	UNIT_TEST(test_alloc_per_family),
	UNIT_TEST(test_alloc_dual_stack_advances_ipv6_cursor),
	UNIT_TEST(test_alloc_specific_address_cursor),
	UNIT_TEST(test_alloc_protocols_independent),
	UNIT_TEST(test_publish_ipv4_mapped_host_ip_is_ipv4),
	UNIT_TEST(test_conflict_fixed_port),
	UNIT_TEST(test_conflict_specific_vs_wildcard),
	UNIT_TEST(test_conflict_message_names_holder),
	UNIT_TEST(test_conflict_two_specific_addresses_ok),
	UNIT_TEST(test_conflict_tcp_udp_ok),
	UNIT_TEST(test_conflict_ipv6_wildcard_message),
	UNIT_TEST(test_conflict_within_one_request),
	UNIT_TEST(test_publish_family_unsupported),
	UNIT_TEST(test_publish_sctp_unsupported),
	UNIT_TEST(test_socket_fixed_port_in_use_tcp),
	UNIT_TEST(test_socket_fixed_port_in_use_udp),
	UNIT_TEST(test_socket_dynamic_skips_held_port_tcp),
	UNIT_TEST(test_socket_dynamic_skips_held_port_udp),
	UNIT_TEST(test_natural_less_sortorder_vectors),
	UNIT_TEST(test_natural_sort_string_sort),
	UNIT_TEST(test_natural_sort_port_lines),
	UNIT_TEST(test_port_lines_from_bindings),
	UNIT_TEST(test_binding_host_str_forms),
	UNIT_TEST(test_links_env_full),
	UNIT_TEST(test_links_env_udp_only),
	UNIT_TEST(test_links_env_run_broken_by_proto),
	UNIT_TEST(test_links_env_no_ports),
	UNIT_TEST(test_links_env_published_ports_count),
};

const struct unit_group docker_tests = { tests, sizeof(tests) / sizeof(tests[0]) };
