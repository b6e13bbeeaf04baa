// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The arrow spec, as `bpfport add` and `bpfport del` parse it:
 * binding_parse_spec() on the input's words (NUL-separated, up to the 64
 * words add keeps), e.g. "0.0.0.0:80 -> 172.17.0.8:8080/tcp" or
 * "0.0.0.0:80\0to\0172.17.0.8:8080".
 *
 * Checked beyond memory safety: a rejected spec has a message; an accepted
 * one is a usable binding, and the form `list` prints for it parses back to
 * the same binding (what `del` is given).
 */
#include <netinet/in.h>

#include "addr.h"
#include "binding.h"
#include "fuzz.h"

#define SPEC_WORDS_MAX 64 /* cli/add.c: spec_words[64] */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void check_binding(const struct binding *b)
{
	char spec[2 * ENDPOINT_STR_MAX + 16], err[ERRBUF_MAX] = "";
	char *words[1] = { spec };
	struct binding back;

	if (b->family != BPFPORT_AF_INET && b->family != BPFPORT_AF_INET6)
		fuzz_fail("family %u", b->family);
	if (b->proto != IPPROTO_TCP && b->proto != IPPROTO_UDP)
		fuzz_fail("proto %u", b->proto);
	if (!b->host_port || !b->container_port)
		fuzz_fail("port 0 accepted: %u -> %u", b->host_port, b->container_port);
	if (addr_is_unspec(&b->container_addr))
		fuzz_fail("unspecified container address accepted");
	binding_spec_str(b, spec, sizeof(spec));
	if (binding_parse_spec(1, words, &back, err, sizeof(err)))
		fuzz_fail("\"%s\" does not parse back: %s", spec, err);
	if (!binding_same(b, &back))
		fuzz_fail("\"%s\" parses back to another binding", spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *words[SPEC_WORDS_MAX];
	char err[ERRBUF_MAX] = "";
	struct binding b;
	int n;

	n = fuzz_words(data, size, words, SPEC_WORDS_MAX);
	if (binding_parse_spec(n, words, &b, err, sizeof(err))) {
		if (!err[0])
			fuzz_fail("spec rejected without a message");
	} else {
		check_binding(&b);
	}
	fuzz_words_free(words, n);
	return 0;
}
