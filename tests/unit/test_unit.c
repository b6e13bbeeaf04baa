// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the user-space library: spec parser, addresses, conflict
 * rules, state file, JSON writer. No root, no kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "binding.h"
#include "cmd.h"
#include "dp.h"
#include "json.h"
#include "state.h"
#include "unit.h"

const char *unit_failure;
char unit_failure_buf[512];

static char tmpdir[] = "/tmp/bpfport-unit.XXXXXX";

/* Parse a spec given as one shell word (split on nothing) or several. */
static int parse(const char *spec, struct binding *b, char *err)
{
	char copy[512];
	char *words[8];
	int n = 0;

	snprintf(copy, sizeof(copy), "%s", spec);
	/* '|' separates words, to test the multi-word forms. */
	for (char *w = strtok(copy, "|"); w && n < 8; w = strtok(NULL, "|"))
		words[n++] = w;
	return binding_parse_spec(n, words, b, err, ERRBUF_MAX);
}

static void test_spec_forms(void)
{
	const char *forms[] = {
		"0.0.0.0:80 -> 172.17.0.8:8080/tcp", "0.0.0.0:80->172.17.0.8:8080/tcp",
		"0.0.0.0:80|->|172.17.0.8:8080/tcp", "0.0.0.0:80|to|172.17.0.8:8080/tcp",
		"0.0.0.0:80 to 172.17.0.8:8080",     "  0.0.0.0:80   ->   172.17.0.8:8080 ",
	};
	char err[ERRBUF_MAX], ip[INET6_ADDRSTRLEN];
	struct binding b;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		int ret = parse(forms[i], &b, err);

		CHECK(!ret, "form \"%s\" rejected: %s", forms[i], err);
		if (ret)
			continue;
		addr_format(b.family, &b.container_addr, ip, sizeof(ip));
		CHECK(b.family == BPFPORT_AF_INET && b.proto == IPPROTO_TCP && b.host_port == 80 &&
			      b.container_port == 8080 && addr_is_unspec(&b.host_addr) &&
			      !strcmp(ip, "172.17.0.8"),
		      "form \"%s\" parsed wrong", forms[i]);
	}
}

static void test_spec_udp_and_ipv6(void)
{
	char err[ERRBUF_MAX], ip[INET6_ADDRSTRLEN];
	struct binding b;

	CHECK(!parse("192.0.2.1:53 -> 198.51.100.8:5353/udp", &b, err), "udp: %s", err);
	CHECK(b.proto == IPPROTO_UDP && b.host_port == 53 && b.container_port == 5353, "udp");
	addr_format(b.family, &b.host_addr, ip, sizeof(ip));
	CHECK(!strcmp(ip, "192.0.2.1"), "host ip %s", ip);
	CHECK(!parse("[::]:80 -> [2001:db8::8]:8080", &b, err), "ipv6: %s", err);
	CHECK(b.family == BPFPORT_AF_INET6 && addr_is_unspec(&b.host_addr), "ipv6 family");
}

struct bad_spec {
	const char *spec;
	const char *error;
};

static void test_spec_errors(void)
{
	const struct bad_spec bad[] = {
		{ "0.0.0.0:0 -> 172.17.0.8:80",
		  "invalid port \"0\": must be a number from 1 to 65535" },
		{ "0.0.0.0:65536 -> 172.17.0.8:80", "invalid port \"65536\"" },
		{ "0.0.0.0:80 -> 172.17.0.8:99999", "invalid port \"99999\"" },
		{ "0.0.0.0:-1 -> 172.17.0.8:80", "invalid port \"-1\"" },
		{ "0.0.0.0:80 -> 172.17.0.8:8a", "invalid port \"8a\"" },
		{ "0.0.0.0:80 -> 172.17.0.8:80/icmp",
		  "invalid protocol \"icmp\": must be tcp or udp" },
		{ "0.0.0.0:80 -> 172.17.0.8:80/", "invalid protocol \"\"" },
		{ "1.2.3:80 -> 172.17.0.8:80", "invalid IP address \"1.2.3\"" },
		{ "0.0.0.0:80 -> 172.17.0.256:80", "invalid IP address \"172.17.0.256\"" },
		{ "0.0.0.0 -> 172.17.0.8:80", "\"0.0.0.0\" has no port" },
		{ "0.0.0.0:80 172.17.0.8:80", "invalid binding spec" },
		{ "0.0.0.0:80 -> ", "invalid binding spec" },
		{ "0.0.0.0:80 => 172.17.0.8:80", "invalid binding spec" },
		{ "0.0.0.0:80 -> 172.17.0.8:80 -> 1.1.1.1:1", "invalid binding spec" },
		{ "::1:80 -> [::1]:80", "IPv6 address in \"::1:80\" needs brackets" },
		{ "0.0.0.0:80 -> [2001:db8::8]:80", "different address families" },
		{ "0.0.0.0:80 -> 0.0.0.0:80", "must be a specific address" },
		{ "", "missing or overlong binding spec" },
	};
	char err[ERRBUF_MAX];
	struct binding b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = parse(bad[i].spec, &b, err);

		CHECK(ret, "\"%s\" accepted", bad[i].spec);
		if (ret)
			CHECK(strstr(err, bad[i].error), "\"%s\": got \"%s\", want \"%s\"",
			      bad[i].spec, err, bad[i].error);
	}
}

static struct binding mk(const char *spec, const char *id)
{
	char err[ERRBUF_MAX];
	struct binding b;

	if (parse(spec, &b, err)) {
		fprintf(stderr, "bad fixture %s: %s\n", spec, err);
		abort();
	}
	snprintf(b.id, sizeof(b.id), "%s", id);
	return b;
}

static void test_conflicts(void)
{
	struct binding any80 = mk("0.0.0.0:80 -> 10.0.0.1:1", "a");
	struct binding one80 = mk("192.0.2.10:80 -> 10.0.0.2:2", "b");
	struct binding two80 = mk("192.0.2.11:80 -> 10.0.0.2:2", "b");
	struct binding one80u = mk("192.0.2.10:80 -> 10.0.0.2:2/udp", "b");
	struct binding any81 = mk("0.0.0.0:81 -> 10.0.0.1:1", "a");
	struct binding v6any80 = mk("[::]:80 -> [2001:db8::1]:1", "c");

	CHECK(binding_conflicts(&any80, &one80), "wildcard vs specific");
	CHECK(binding_conflicts(&one80, &any80), "specific vs wildcard");
	CHECK(binding_conflicts(&any80, &any80), "wildcard vs wildcard");
	CHECK(binding_conflicts(&one80, &one80), "same specific");
	CHECK(!binding_conflicts(&one80, &two80), "two specific addresses");
	CHECK(!binding_conflicts(&one80, &one80u), "tcp vs udp");
	CHECK(!binding_conflicts(&any80, &any81), "different ports");
	CHECK(!binding_conflicts(&any80, &v6any80), "IPv4 vs IPv6 wildcard");
}

static void test_endpoint_format(void)
{
	struct binding b = mk("[::]:80 -> [2001:db8::8]:8080/udp", "x");
	char buf[160];

	binding_host_str(&b, buf, sizeof(buf));
	CHECK(!strcmp(buf, "[::]:80"), "v6 host %s", buf);
	binding_spec_str(&b, buf, sizeof(buf));
	CHECK(!strcmp(buf, "[::]:80 -> [2001:db8::8]:8080/udp"), "v6 spec %s", buf);
	b = mk("0.0.0.0:80 -> 172.17.0.8:8080", "x");
	binding_spec_str(&b, buf, sizeof(buf));
	CHECK(!strcmp(buf, "0.0.0.0:80 -> 172.17.0.8:8080/tcp"), "v4 spec %s", buf);
}

static void test_id_validation(void)
{
	const char *good[] = { "web", "a", "0abc", "my-container_1.2", "172.17.0.8" };
	const char *bad[] = { "", "-x", ".x", "_x", "a b", "a/b", "a:b" };
	char long_id[BINDING_ID_MAX + 1];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(id_is_valid(good[i]), "\"%s\" rejected", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!id_is_valid(bad[i]), "\"%s\" accepted", bad[i]);
	memset(long_id, 'a', BINDING_ID_MAX);
	long_id[BINDING_ID_MAX] = '\0';
	CHECK(!id_is_valid(long_id), "overlong id accepted");
}

static char *path_in_tmp(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", tmpdir, name);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static void test_state_roundtrip(void)
{
	char path[256];
	struct state st = {}, back;
	struct binding a = mk("0.0.0.0:80 -> 172.17.0.8:8080/tcp", "web");
	struct binding b = mk("[::1]:53 -> [2001:db8::8]:5353/udp", "dns");

	snprintf(path, sizeof(path), "%s", path_in_tmp("sub/dir/state"));
	a.slot = 0;
	b.slot = 7;
	CHECK(!state_load(path, &st) && st.n_bindings == 0, "missing file is not empty state");
	state_add_binding(&st, &a);
	state_add_binding(&st, &b);
	state_set_attachment(&st, "eth0", "native");
	state_set_attachment(&st, "eth0", "tc");
	CHECK(st.n_attachments == 1, "attachment not replaced");
	CHECK(!state_save(path, &st), "save failed");
	CHECK(!state_load(path, &back), "load failed");
	CHECK(back.n_bindings == 2 && back.n_attachments == 1, "counts %zu %zu", back.n_bindings,
	      back.n_attachments);
	if (back.n_bindings == 2) {
		CHECK(binding_same(&back.bindings[0], &a) && !strcmp(back.bindings[0].id, "web") &&
			      back.bindings[0].slot == 0,
		      "binding 0 differs");
		CHECK(binding_same(&back.bindings[1], &b) && back.bindings[1].slot == 7 &&
			      back.bindings[1].proto == IPPROTO_UDP,
		      "binding 1 differs");
	}
	if (back.n_attachments == 1)
		CHECK(!strcmp(back.attachments[0].mode, "tc"), "mode %s", back.attachments[0].mode);
	CHECK(state_free_slot(&back) == 1, "free slot %d", state_free_slot(&back));
	state_remove_binding(&back, 0);
	CHECK(state_free_slot(&back) == 0, "slot 0 not freed");
	state_free(&st);
	state_free(&back);
}

/* Line 1 must be our header, or the file is refused whole; any other line the
 * reader cannot use is skipped (and kept), the rest read as usual. */
static void test_state_rejects_garbage(void)
{
	const char *not_state[] = {
		"not a state file\n",
		"bpfport-state 2\n",
	};
	const char *bad[] = {
		"binding id=x proto=tcp host=0.0.0.0:80\n",
		"binding id=x proto=icmp host=0.0.0.0:80 container=1.2.3.4:5 slot=0\n",
		"binding id=x proto=tcp host=0.0.0.0:80 container=1.2.3.4:5 slot=99999999\n",
		"binding id=-x proto=tcp host=0.0.0.0:80 container=1.2.3.4:5 slot=0\n",
		"frobnicate all=yes\n",
	};
	char *path = path_in_tmp("garbage"), text[512];
	struct state st;

	for (size_t i = 0; i < sizeof(not_state) / sizeof(not_state[0]); i++) {
		write_file(path, not_state[i]);
		CHECK(state_load(path, &st), "not a state file %zu accepted", i);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 "bpfport-state 1\n%sbinding id=y proto=tcp host=0.0.0.0:81 "
			 "container=1.2.3.4:5 slot=1\n",
			 bad[i]);
		write_file(path, text);
		if (state_load(path, &st)) {
			CHECK(0, "garbage %zu refused the whole file", i);
			continue;
		}
		CHECK(st.n_bindings == 1 && st.n_damaged == 1 && st.damaged[0].lineno == 2,
		      "garbage %zu: %zu bindings, %zu damaged", i, st.n_bindings, st.n_damaged);
		state_free(&st);
	}
	write_file(path, "bpfport-state 1\n# comment\n\nbinding id=x proto=tcp host=0.0.0.0:80 "
			 "container=1.2.3.4:5 slot=3\n");
	CHECK(!state_load(path, &st) && st.n_bindings == 1 && st.bindings[0].slot == 3 &&
		      !st.n_damaged,
	      "valid file with comment rejected");
	state_free(&st);
}

/* A failed save must leave the old file intact and no temp file behind. */
static void test_state_save_atomic(void)
{
	char path[300], dir[256];
	struct state st = {};
	struct binding a = mk("0.0.0.0:80 -> 172.17.0.8:8080", "web");
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s", path_in_tmp("ro"));
	snprintf(path, sizeof(path), "%s/state", dir);
	mkdir(dir, 0755);
	state_add_binding(&st, &a);
	CHECK(!state_save(path, &st), "first save failed");
	if (geteuid() != 0) {
		chmod(dir, 0555);
		state_remove_binding(&st, 0);
		CHECK(state_save(path, &st), "save into read-only dir succeeded");
		chmod(dir, 0755);
	}
	state_free(&st);
	CHECK(!state_load(path, &st) && st.n_bindings == 1, "old state lost");
	state_free(&st);
	CHECK(stat(path, &sb) == 0 && sb.st_size > 0, "state file missing");
}

static void test_state_lock_excludes(void)
{
	char *path = path_in_tmp("locked");
	int fd1 = state_lock(path);
	pid_t pid;
	int status;

	CHECK(fd1 >= 0, "lock failed: %d", fd1);
	pid = fork();
	if (pid == 0) {
		/* The child must block: give it a moment, then report. */
		alarm(1);
		state_lock(path);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status), "second lock did not block");
	state_unlock(fd1);
}

static void test_json_writer(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json_writer *jw = jw_new(f);

	jw_object_start(jw);
	jw_string_field(jw, "s", "a\"b\\c\n");
	jw_uint_field(jw, "n", 18446744073709551615ULL);
	jw_name(jw, "arr");
	jw_array_start(jw);
	jw_uint(jw, 1);
	jw_object_start(jw);
	jw_bool_field(jw, "t", 1);
	jw_object_end(jw);
	jw_array_start(jw);
	jw_array_end(jw);
	jw_array_end(jw);
	jw_object_end(jw);
	jw_destroy(jw);
	fclose(f);
	CHECK(!strcmp(buf, "{\"s\":\"a\\\"b\\\\c\\u000a\",\"n\":18446744073709551615,"
			   "\"arr\":[1,{\"t\":true},[]]}\n"),
	      "got %s", buf);
	free(buf);
}

/* Conntrack timeouts: digits only; a sign or spaces once wrapped ("-1" stored 2^32-1). */
static void test_ct_timeout_parse(void)
{
	static const char *const bad[] = { "-1", "+5", " 5",	 "-18446744073709551615",
					   "",	 "5s", "2592001" };
	__u32 v = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(ct_timeout_parse(bad[i], &v) == -EINVAL, "\"%s\" accepted", bad[i]);
		CHECK(v == 7, "\"%s\" changed the value to %u", bad[i], v);
	}
	CHECK(!ct_timeout_parse("0", &v) && v == 0, "0 refused");
	CHECK(!ct_timeout_parse("2592000", &v) && v == 2592000, "the maximum refused");
}

static void test_port_parse(void)
{
	__u16 p;

	CHECK(!port_parse("1", &p) && p == 1, "1");
	CHECK(!port_parse("65535", &p) && p == 65535, "65535");
	CHECK(port_parse("0", &p), "0");
	CHECK(port_parse("65536", &p), "65536");
	CHECK(port_parse("", &p), "empty");
	CHECK(port_parse("+80", &p), "+80");
	CHECK(port_parse(" 80", &p), "space");
	CHECK(port_parse("80 ", &p), "trailing");
	CHECK(port_parse("18446744073709551697", &p), "overflow");
}

/*
 * Found by tests/fuzz/fuzz_arrow: words that fill the join buffer, then an
 * empty word (`bpfport add "$long" ""`), wrote the separator's NUL one byte
 * past the buffer. ASan (unit-san) sees the write; here, the spec is refused.
 */
static void test_spec_empty_word(void)
{
	char word[511], spec[512], err[ERRBUF_MAX];
	char *words[3] = { word, "", "" };
	struct binding b;

	memset(word, 'A', sizeof(word) - 1);
	word[sizeof(word) - 1] = '\0';
	CHECK(binding_parse_spec(2, words, &b, err, sizeof(err)), "510 bytes and \"\" accepted");
	CHECK(strstr(err, "overlong"), "510 bytes and \"\": %s", err);
	snprintf(spec, sizeof(spec), "0.0.0.0:80%499s", "");
	words[0] = spec;
	CHECK(binding_parse_spec(3, words, &b, err, sizeof(err)), "509 bytes, \"\", \"\" accepted");
}

/* Found by tests/fuzz/fuzz_state: an exposed sctp port was saved as tcp. */
static void test_state_expose_sctp(void)
{
	char *path = path_in_tmp("sctp");
	struct state st = {}, back;
	struct container c = { .id = "s" };

	container_expose(&c, 3456, IPPROTO_SCTP);
	container_expose(&c, 3457, IPPROTO_SCTP);
	container_expose(&c, 80, IPPROTO_TCP);
	state_add_container(&st, &c);
	container_free(&c);
	CHECK(!state_save(path, &st), "save failed");
	CHECK(!state_load(path, &back), "load failed");
	CHECK(back.n_containers == 1 && back.containers[0].n_exposed == 3, "containers %zu",
	      back.n_containers);
	if (back.n_containers == 1 && back.containers[0].n_exposed == 3)
		CHECK(back.containers[0].exposed[0].proto == IPPROTO_SCTP &&
			      back.containers[0].exposed[1].proto == IPPROTO_SCTP &&
			      back.containers[0].exposed[2].proto == IPPROTO_TCP,
		      "protocols %u %u %u", back.containers[0].exposed[0].proto,
		      back.containers[0].exposed[1].proto, back.containers[0].exposed[2].proto);
	state_free(&st);
	state_free(&back);
}

/* Command tables (lib/cmd.c): a unique prefix selects a command, except a
 * destructive one, which runs only when spelled out. */
static int ran_list, ran_load, ran_unload;

static int cmd_test_list(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ran_list++, EXIT_OK;
}

static int cmd_test_load(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ran_load++, EXIT_OK;
}

static int cmd_test_unload(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ran_unload++, EXIT_OK;
}

static int dispatch_word(const struct cmd *cmds, const char *word)
{
	char buf[32];
	char *argv[] = { buf };

	snprintf(buf, sizeof(buf), "%s", word);
	return cmd_dispatch("tool", cmds, 1, argv);
}

static void test_cmd_destructive_prefix(void)
{
	static const struct cmd cmds[] = {
		{ "list", cmd_test_list, "list", "List." },
		{ "load", cmd_test_load, "load", "Load." },
		{ "unload", cmd_test_unload, "unload", "Unload.", CMD_DESTRUCTIVE },
		{ NULL },
	};
	const char *refused[] = { "u", "un", "unloa", "" };

	ran_list = ran_load = ran_unload = 0;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECK(dispatch_word(cmds, refused[i]) == EXIT_USAGE, "\"%s\" is not a usage error",
		      refused[i]);
	CHECK(!ran_unload, "a prefix ran the destructive command");
	CHECK(dispatch_word(cmds, "unload") == EXIT_OK && ran_unload == 1,
	      "the full name did not run it");
	CHECK(dispatch_word(cmds, "unloadx") == EXIT_USAGE && ran_unload == 1,
	      "a longer word ran it");
	CHECK(dispatch_word(cmds, "li") == EXIT_OK && ran_list == 1, "'li' did not run list");
	CHECK(dispatch_word(cmds, "lo") == EXIT_OK && ran_load == 1, "'lo' did not run load");
	CHECK(dispatch_word(cmds, "l") == EXIT_USAGE && ran_list == 1 && ran_load == 1,
	      "'l' (list or load) ran one of them");
}

/* dp_pin_dir_check(): a pin directory others can change is refused. */
static void test_pin_dir_check(void)
{
	char dir[128], path[192], link[128], why[400];
	struct dp dp;
	int fd;

	snprintf(dir, sizeof(dir), "%s/pins", unit_tmpdir());
	snprintf(link, sizeof(link), "%s/pins-link", unit_tmpdir());
	why[0] = '\0';
	CHECK(!dp_pin_dir_check(dir, why, sizeof(why)), "a missing dir is refused: %s", why);
	CHECK(!mkdir(dir, 0700), "mkdir pins");
	CHECK(!dp_pin_dir_check(dir, why, sizeof(why)), "0700 refused: %s", why);
	chmod(dir, 0755);
	CHECK(!dp_pin_dir_check(dir, why, sizeof(why)), "0755 refused: %s", why);
	chmod(dir, 01777);
	CHECK(dp_pin_dir_check(dir, why, sizeof(why)) == -EPERM && strstr(why, "writable"),
	      "1777 accepted (%s)", why);
	CHECK(dp_open(dir, &dp) == -EPERM, "dp_open opened a 1777 pin dir");
	chmod(dir, 0770);
	CHECK(dp_pin_dir_check(dir, why, sizeof(why)) == -EPERM, "0770 accepted");
	chmod(dir, 0700);
	if (geteuid() == 0) {
		CHECK(!chown(dir, 65534, 65534), "chown");
		CHECK(dp_pin_dir_check(dir, why, sizeof(why)) == -EPERM &&
			      strstr(why, "owned by uid 65534"),
		      "a dir owned by uid 65534 accepted (%s)", why);
		CHECK(!chown(dir, 0, 0), "chown back");
	}
	CHECK(!symlink(dir, link), "symlink");
	CHECK(dp_pin_dir_check(link, why, sizeof(why)) == -ELOOP, "a symlinked pin dir accepted");
	snprintf(path, sizeof(path), "%s/", link);
	CHECK(dp_pin_dir_check(path, why, sizeof(why)) == -ELOOP, "\"pins-link/\" accepted");
	/* The subdirectories, which unload empties and load pins into. */
	snprintf(path, sizeof(path), "%s/maps", dir);
	CHECK(!symlink(unit_tmpdir(), path), "symlink maps");
	CHECK(dp_pin_dir_check(dir, why, sizeof(why)) == -ELOOP && strstr(why, "/maps"),
	      "a symlinked maps/ accepted (%s)", why);
	unlink(path);
	CHECK(!mkdir(path, 0700), "mkdir maps");
	CHECK(!dp_pin_dir_check(dir, why, sizeof(why)), "maps/ 0700 refused: %s", why);
	chmod(path, 0777);
	CHECK(dp_pin_dir_check(dir, why, sizeof(why)) == -EPERM, "maps/ 0777 accepted");
	chmod(path, 0700);
	snprintf(path, sizeof(path), "%s/links", dir);
	CHECK(!mkdir(path, 0700), "mkdir links");
	snprintf(path, sizeof(path), "%s/links/eth0", dir);
	CHECK(!mkdir(path, 0700), "mkdir links/eth0");
	CHECK(!dp_pin_dir_check(dir, why, sizeof(why)), "links/eth0 0700 refused: %s", why);
	chmod(path, 0777);
	CHECK(dp_pin_dir_check(dir, why, sizeof(why)) == -EPERM, "links/eth0 0777 accepted");
	chmod(path, 0700);
	snprintf(path, sizeof(path), "%s/progs", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0, "create progs");
	close(fd);
	CHECK(dp_pin_dir_check(dir, why, sizeof(why)) == -ENOTDIR, "a file as progs/ accepted");
}

const char *unit_tmpdir(void)
{
	return tmpdir;
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_spec_forms),	   UNIT_TEST(test_spec_udp_and_ipv6),
	UNIT_TEST(test_spec_errors),	   UNIT_TEST(test_conflicts),
	UNIT_TEST(test_endpoint_format),   UNIT_TEST(test_id_validation),
	UNIT_TEST(test_state_roundtrip),   UNIT_TEST(test_state_rejects_garbage),
	UNIT_TEST(test_state_save_atomic), UNIT_TEST(test_state_lock_excludes),
	UNIT_TEST(test_json_writer),	   UNIT_TEST(test_port_parse),
	UNIT_TEST(test_ct_timeout_parse),  UNIT_TEST(test_spec_empty_word),
	UNIT_TEST(test_state_expose_sctp), UNIT_TEST(test_cmd_destructive_prefix),
	UNIT_TEST(test_pin_dir_check),
};

const struct unit_group core_tests = { tests, sizeof(tests) / sizeof(tests[0]) };

int main(void)
{
	const struct unit_group *groups[] = { &core_tests, &docker_tests, &state_tests };
	int failed = 0;
	char cmd[300];

	/* Line-buffered, so a sanitizer exit cannot swallow the last results. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The library reports errors on stderr; the tests check return codes. */
	if (!freopen("/dev/null", "w", stderr))
		return 1;
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		for (size_t i = 0; i < groups[g]->n; i++) {
			const struct unit_test *t = &groups[g]->tests[i];

			unit_failure = NULL;
			t->fn();
			if (unit_failure) {
				printf("FAIL unit/%s: %s\n", t->name, unit_failure);
				failed++;
			} else {
				printf("PASS unit/%s\n", t->name);
			}
		}
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		failed++;
	return failed ? 1 : 0;
}
