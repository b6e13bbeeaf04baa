// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Docker's -p grammar: portspec_parse() on the input (up to its first NUL),
 * e.g. "127.0.0.1:8080-8090:80-90/udp", "[::1]:80:80", "80"; and on the same
 * text the --expose parser (port_proto_parse) and parsePortRange
 * (port_range_parse) it is built on.
 *
 * Checked beyond memory safety: a rejected spec has a message and no
 * mappings; an accepted one gives 1 to 65535 well-formed mappings, and each
 * mapping written back in the -p grammar parses to itself (for a range, the
 * first and last few).
 */
#include <errno.h>
#include <netinet/in.h>

#include "addr.h"
#include "portspec.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static bool proto_ok(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP_NUM;
}

static const char *proto_str(__u8 proto)
{
	return proto == IPPROTO_SCTP_NUM ? "sctp" : proto_name(proto);
}

/* One mapping in the -p grammar: [IP:][HOST[-END]:]PORT/PROTO. */
static void mapping_spec(const struct port_mapping *m, char *buf, size_t len)
{
	char ip[64] = "", host[16] = "";

	if (m->has_host_ip) {
		char a[INET6_ADDRSTRLEN];

		addr_format(m->host_family, &m->host_addr, a, sizeof(a));
		snprintf(ip, sizeof(ip), m->host_family == BPFPORT_AF_INET6 ? "[%s]:" : "%s:", a);
	}
	if (m->host_port_end > m->host_port_start)
		snprintf(host, sizeof(host), "%u-%u", m->host_port_start, m->host_port_end);
	else if (m->host_port_start)
		snprintf(host, sizeof(host), "%u", m->host_port_start);
	snprintf(buf, len, "%s%s%s%u/%s", ip, host, *ip || *host ? ":" : "", m->container_port,
		 proto_str(m->proto));
}

static bool mapping_equal(const struct port_mapping *a, const struct port_mapping *b)
{
	if (a->has_host_ip != b->has_host_ip || a->host_port_start != b->host_port_start ||
	    a->host_port_end != b->host_port_end || a->container_port != b->container_port ||
	    a->proto != b->proto)
		return false;
	return !a->has_host_ip ||
	       (a->host_family == b->host_family && addr_equal(&a->host_addr, &b->host_addr));
}

static void check_mappings(const char *spec, const struct port_mapping *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct port_mapping *back;
		char again[128], err[256] = "";
		size_t nback;

		if (!m[i].container_port || !proto_ok(m[i].proto) ||
		    m[i].host_port_end < m[i].host_port_start)
			fuzz_fail("\"%s\" [%zu]: container %u proto %u host %u-%u", spec, i,
				  m[i].container_port, m[i].proto, m[i].host_port_start,
				  m[i].host_port_end);
		if (m[i].has_host_ip && m[i].host_family != BPFPORT_AF_INET &&
		    m[i].host_family != BPFPORT_AF_INET6)
			fuzz_fail("\"%s\" [%zu]: family %u", spec, i, m[i].host_family);
		if (i && (m[i].container_port != m[i - 1].container_port + 1 ||
			  m[i].proto != m[i - 1].proto))
			fuzz_fail("\"%s\": mapping %zu does not follow the one before", spec, i);
		/* A range gives up to 65535 mappings: write back its ends only. */
		if (i > 2 && i + 2 < n)
			continue;
		mapping_spec(&m[i], again, sizeof(again));
		if (portspec_parse(again, &back, &nback, err, sizeof(err)))
			fuzz_fail("\"%s\" [%zu]: \"%s\" does not parse back: %s", spec, i, again,
				  err);
		if (nback != 1 || !mapping_equal(&m[i], back))
			fuzz_fail("\"%s\" [%zu]: \"%s\" parses back to something else", spec, i,
				  again);
		free(back);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = fuzz_cstr(data, size);
	struct port_mapping *maps = (struct port_mapping *)spec;
	char err[256] = "";
	__u16 start = 0, end = 0;
	size_t n = 1;
	__u8 proto;
	int ret;

	ret = portspec_parse(spec, &maps, &n, err, sizeof(err));
	if (ret) {
		if (maps || n || (ret != -ENOMEM && !err[0]))
			fuzz_fail("\"%s\" rejected (%d) with maps %p, n %zu, message \"%s\"", spec,
				  ret, (void *)maps, n, err);
	} else {
		if (!maps || !n || n > 65535)
			fuzz_fail("\"%s\" accepted with maps %p, n %zu", spec, (void *)maps, n);
		check_mappings(spec, maps, n);
		free(maps);
	}

	err[0] = '\0';
	if (port_proto_parse(spec, &start, &end, &proto, err, sizeof(err))) {
		if (!err[0])
			fuzz_fail("--expose \"%s\" rejected without a message", spec);
	} else if (!start || end < start || !proto_ok(proto)) {
		fuzz_fail("--expose \"%s\": %u-%u proto %u", spec, start, end, proto);
	}

	if (!port_range_parse(spec, &start, &end) && end < start)
		fuzz_fail("range \"%s\": %u-%u", spec, start, end);
	free(spec);
	return 0;
}
