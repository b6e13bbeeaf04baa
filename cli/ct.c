// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ct: the connection-tracking tables. `ct` lists translated flows (one line
 * per flow, from its ingress entry, assured or not); `ct stats` the table
 * fill and the datapath's conntrack events (admitted, assured, refused...);
 * `ct flush [CONTAINER]` ends flows, as needed when a UDP binding moves to
 * another container and clients keep sending on the same tuple.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "addr.h"
#include "cli.h"
#include "dp.h"
#include "json.h"
#include "log.h"
#include "state.h"
#include "txn.h"

struct ct_row {
	struct bpfport_ct_key key;
	struct bpfport_ct_val val;
	bool assured;
};

static __u64 now_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* The datapath's expiry rule (conntrack.h), so stale entries show as such. */
static bool ct_row_expired(const struct state *st, const struct ct_row *r, __u64 now)
{
	__u32 t;

	if (r->key.proto == IPPROTO_UDP)
		t = st->ct_timeout[CT_TIMEOUT_UDP];
	else if (r->val.flags & BPFPORT_CT_SEEN_RST)
		t = st->ct_timeout[CT_TIMEOUT_TCP_RST];
	else if ((r->val.flags & BPFPORT_CT_SEEN_FIN) || !r->assured)
		t = st->ct_timeout[CT_TIMEOUT_TCP_CLOSE];
	else
		t = st->ct_timeout[CT_TIMEOUT_TCP];
	return t && (__s64)(now - r->val.last_seen_ns) > (__s64)t * 1000000000LL;
}

static const char *ct_state(const struct state *st, const struct ct_row *r, __u64 now)
{
	if (ct_row_expired(st, r, now))
		return "expired";
	if (r->key.proto == IPPROTO_UDP)
		return "udp"; /* assured or not: the "assured" field says */
	if (r->val.flags & BPFPORT_CT_SEEN_RST)
		return "reset";
	if (r->val.flags & BPFPORT_CT_SEEN_FIN)
		return "closing";
	return r->assured ? "established" : "syn-sent";
}

static void print_row(struct json_writer *jw, const struct state *st, const struct ct_row *r,
		      __u64 now)
{
	char client[ENDPOINT_STR_MAX], published[ENDPOINT_STR_MAX], container[ENDPOINT_STR_MAX];
	__u64 age = (now - r->val.created_ns) / 1000000000ULL;
	__u64 idle = (now - r->val.last_seen_ns) / 1000000000ULL;
	__u16 nat = ntohs(r->val.nat_port);

	endpoint_format(r->key.family, &r->key.saddr, ntohs(r->key.sport), client, sizeof(client));
	endpoint_format(r->key.family, &r->key.daddr, ntohs(r->key.dport), published,
			sizeof(published));
	endpoint_format(r->key.family, &r->val.addr, ntohs(r->val.port), container,
			sizeof(container));
	if (!jw) {
		printf("%-4s %-24s %-24s %-24s %-6s %-12s %8llu %8llu %s\n",
		       proto_name(r->key.proto), client, published, container, nat ? "yes" : "-",
		       ct_state(st, r, now), (unsigned long long)age, (unsigned long long)idle,
		       state_slot_id(st, r->val.slot));
		return;
	}
	jw_object_start(jw);
	jw_string_field(jw, "id", state_slot_id(st, r->val.slot));
	jw_string_field(jw, "proto", proto_name(r->key.proto));
	jw_string_field(jw, "client", client);
	jw_string_field(jw, "published", published);
	jw_string_field(jw, "container", container);
	jw_uint_field(jw, "client_port_nat", nat);
	jw_string_field(jw, "state", ct_state(st, r, now));
	jw_bool_field(jw, "assured", r->assured);
	jw_uint_field(jw, "age_s", age);
	jw_uint_field(jw, "idle_s", idle);
	jw_object_end(jw);
}

/* The pinned maps, for a reader of the connection tables; reports failures. */
static int ct_open(struct dp *dp)
{
	int err;

	if (!is_root()) {
		pr_err("reading the connection tables needs root: run it as root");
		return -EPERM;
	}
	err = dp_open(opts.pin_dir, dp);
	if (err)
		pr_err("datapath not loaded under %s: run 'bpfport-loader load' first",
		       opts.pin_dir);
	return err;
}

static int ct_list(void)
{
	struct bpfport_ct_key key, next, *prev = NULL;
	struct json_writer *jw = NULL;
	__u64 now = now_ns();
	struct state st;
	struct ct_row r;
	struct dp dp;

	if (ct_open(&dp))
		return EXIT_FAIL;
	if (state_load(opts.state_path, &st)) {
		dp_close(&dp);
		return EXIT_FAIL;
	}
	if (opts.json) {
		jw = jw_new(stdout);
		jw_array_start(jw);
	} else {
		printf("%-4s %-24s %-24s %-24s %-6s %-12s %8s %8s %s\n", "PROTO", "CLIENT",
		       "PUBLISHED", "CONTAINER", "REMAP", "STATE", "AGE", "IDLE", "ID");
	}
	for (int t = 0; t < 2; t++) {
		int fd = t ? dp.ct_new_fd : dp.ct_fd;

		for (prev = NULL; !bpf_map_get_next_key(fd, prev, &next); prev = &key) {
			key = next;
			if (key.dir != BPFPORT_CT_INGRESS || bpf_map_lookup_elem(fd, &key, &r.val))
				continue;
			r.key = key;
			r.assured = !t;
			print_row(jw, &st, &r, now);
		}
	}
	if (jw) {
		jw_array_end(jw);
		jw_destroy(jw);
	}
	state_free(&st);
	dp_close(&dp);
	return EXIT_OK;
}

static int ct_flush(const char *ref)
{
	struct txn t;
	int idx = -1, n = 0, err = 0;

	if (txn_begin(&t, "bpfport ct flush"))
		return EXIT_FAIL;
	if (ref) {
		idx = container_resolve(&t.st, ref);
		if (idx < 0) {
			txn_end(&t);
			return EXIT_FAIL;
		}
	}
	for (size_t i = 0; i < t.st.n_bindings && !err; i++) {
		int r;

		if (idx >= 0 && strcmp(t.st.bindings[i].id, t.st.containers[idx].id))
			continue;
		r = dp_flows_end(&t.dp, &t.st.bindings[i]);
		if (r < 0)
			err = r;
		else
			n += r;
	}
	/* Entries of no known binding (left by another state file) go too. */
	if (!err && idx < 0)
		n += dp_ct_delete_all(&t.dp);
	if (err)
		pr_err("flushing connection tracking: %s", strerror(-err));
	else
		pr_debug("flushed %d entries", n);
	txn_end(&t);
	return err ? EXIT_FAIL : EXIT_OK;
}

static long map_max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : (long)info.max_entries;
}

/* Table fill and the datapath's conntrack counters. */
static int ct_stats(void)
{
	__u64 counts[BPFPORT_STAT_MAX];
	struct json_writer *jw = NULL;
	long fill[2], size[2];
	struct dp dp;
	int err;

	if (ct_open(&dp))
		return EXIT_FAIL;
	err = dp_stats_read(&dp, counts);
	fill[0] = dp_map_count(dp.ct_fd);
	fill[1] = dp_map_count(dp.ct_new_fd);
	size[0] = map_max_entries(dp.ct_fd);
	size[1] = map_max_entries(dp.ct_new_fd);
	dp_close(&dp);
	if (err) {
		pr_err("reading %s: %s", MAP_STATS, strerror(-err));
		return EXIT_FAIL;
	}
	if (opts.json) {
		jw = jw_new(stdout);
		jw_object_start(jw);
		jw_uint_field(jw, "assured_entries", (uint64_t)(fill[0] < 0 ? 0 : fill[0]));
		jw_uint_field(jw, "assured_max", (uint64_t)(size[0] < 0 ? 0 : size[0]));
		jw_uint_field(jw, "new_entries", (uint64_t)(fill[1] < 0 ? 0 : fill[1]));
		jw_uint_field(jw, "new_max", (uint64_t)(size[1] < 0 ? 0 : size[1]));
		for (int i = 0; i < BPFPORT_STAT_MAX; i++)
			jw_uint_field(jw, dp_stat_names[i], counts[i]);
		jw_object_end(jw);
		jw_destroy(jw);
		return EXIT_OK;
	}
	printf("%-20s %ld / %ld entries\n", "assured table", fill[0], size[0]);
	printf("%-20s %ld / %ld entries\n", "new table", fill[1], size[1]);
	for (int i = 0; i < BPFPORT_STAT_MAX; i++)
		printf("%-20s %llu  %s\n", dp_stat_names[i], (unsigned long long)counts[i],
		       dp_stat_help[i]);
	return EXIT_OK;
}

int cmd_ct(int argc, char **argv)
{
	char *args[3];
	int nargs = 0;

	for (int i = 1; i < argc; i++) {
		if (cmd_json_flag(argv[i])) {
			opts.json = true;
		} else if (nargs < 3) {
			args[nargs++] = argv[i];
		} else {
			return cmd_usage_error(CLI, cli_cmds, "ct", "too many arguments");
		}
	}
	if (nargs == 0 || (nargs == 1 && !strcmp(args[0], "list")))
		return ct_list();
	if (nargs == 1 && !strcmp(args[0], "stats"))
		return ct_stats();
	if (!strcmp(args[0], "flush") && nargs <= 2)
		return ct_flush(nargs == 2 ? args[1] : NULL);
	return cmd_usage_error(
		CLI, cli_cmds, "ct",
		"expected 'ct [list] [-j]', 'ct stats [-j]' or 'ct flush [CONTAINER]'");
}
