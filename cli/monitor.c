// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * monitor: stream the datapath's events (bp_events, bpf/lib/events.h) until
 * interrupted: new and ended flows, drops with their reason, translated ICMP
 * errors, hairpin flows. One line per event, or one JSON object per line
 * with -j. The datapath sends events only while BPFPORT_CFG_EVENTS is set:
 * monitor sets it and clears it again on exit, unless another monitor still
 * runs (a shared lock on the ring buffer's pin tells).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "cli.h"
#include "dp.h"
#include "json.h"
#include "log.h"
#include "state.h"

struct monitor {
	bool json; /* one JSON object per line */
	const struct state *st;
	bool drops_only;
	int slot_filter[64];
	int n_slots; /* -1: every slot */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *const event_names[] = {
	[BPFPORT_EV_FLOW_NEW] = "flow-new", [BPFPORT_EV_FLOW_END] = "flow-end",
	[BPFPORT_EV_DROP] = "drop",	    [BPFPORT_EV_ICMP] = "icmp",
	[BPFPORT_EV_HAIRPIN] = "hairpin",
};

static const char *event_name(__u32 type)
{
	if (type < sizeof(event_names) / sizeof(event_names[0]) && event_names[type])
		return event_names[type];
	return "unknown";
}

static bool slot_wanted(const struct monitor *m, __u32 slot)
{
	if (m->n_slots < 0)
		return true;
	for (int i = 0; i < m->n_slots; i++)
		if ((__u32)m->slot_filter[i] == slot)
			return true;
	return false;
}

static int on_event(void *ctx, void *data, size_t len)
{
	char src[ENDPOINT_STR_MAX], dst[ENDPOINT_STR_MAX], to[ENDPOINT_STR_MAX];
	char ifname[IF_NAMESIZE] = "?";
	const struct bpfport_event *e = data;
	struct monitor *m = ctx;
	const char *reason = "";

	if (len < sizeof(*e) || (m->drops_only && e->type != BPFPORT_EV_DROP) ||
	    !slot_wanted(m, e->slot))
		return 0;
	endpoint_format(e->family, &e->saddr, ntohs(e->sport), src, sizeof(src));
	endpoint_format(e->family, &e->daddr, ntohs(e->dport), dst, sizeof(dst));
	endpoint_format(e->family, &e->xaddr, ntohs(e->xport), to, sizeof(to));
	if_indextoname(e->ifindex, ifname);
	if (e->type == BPFPORT_EV_DROP && e->reason < BPFPORT_STAT_MAX)
		reason = dp_stat_names[e->reason];
	if (m->json) {
		struct json_writer *jw = jw_new(stdout);

		jw_object_start(jw);
		jw_uint_field(jw, "ts_ns", e->ts_ns);
		jw_string_field(jw, "event", event_name(e->type));
		jw_string_field(jw, "interface", ifname);
		jw_string_field(jw, "proto", proto_name(e->proto));
		jw_string_field(jw, "source", src);
		jw_string_field(jw, "destination", dst);
		if (e->type != BPFPORT_EV_DROP && e->type != BPFPORT_EV_ICMP)
			jw_string_field(jw, "translated", to);
		if (*reason)
			jw_string_field(jw, "reason", reason);
		jw_string_field(jw, "id", e->slot == ~0U ? "-" : state_slot_id(m->st, e->slot));
		jw_object_end(jw);
		jw_destroy(jw);
		fflush(stdout);
	} else {
		printf("%-9s %-10s %-4s %s -> %s", event_name(e->type), ifname,
		       proto_name(e->proto), src, dst);
		if (e->type != BPFPORT_EV_DROP && e->type != BPFPORT_EV_ICMP)
			printf(" => %s", to);
		if (*reason)
			printf(" (%s)", reason);
		if (e->slot != ~0U)
			printf(" [%s]", state_slot_id(m->st, e->slot));
		putchar('\n');
		fflush(stdout);
	}
	return 0;
}

/* Slots of a container's bindings (--container); -1 if it has none. */
static int container_slots(const struct state *st, const char *ref, struct monitor *m)
{
	int idx = container_resolve(st, ref);

	if (idx < 0)
		return -1;
	m->n_slots = 0;
	for (size_t i = 0; i < st->n_bindings && m->n_slots < 64; i++)
		if (!strcmp(st->bindings[i].id, st->containers[idx].id))
			m->slot_filter[m->n_slots++] = (int)st->bindings[i].slot;
	return 0;
}

static int monitor_run(struct monitor *m)
{
	char lock_path[PATH_MAX];
	struct ring_buffer *rb = NULL;
	int events_fd = -1, lock_fd = -1, err, ret = EXIT_FAIL;
	struct dp dp;

	err = dp_open(opts.pin_dir, &dp);
	if (err) {
		pr_err("datapath not loaded under %s: run 'bpfport-loader load' first",
		       opts.pin_dir);
		return EXIT_FAIL;
	}
	snprintf(lock_path, sizeof(lock_path), "%s/%s/%s", opts.pin_dir, PIN_MAPS_SUBDIR,
		 MAP_EVENTS);
	events_fd = bpf_obj_get(lock_path);
	if (events_fd < 0) {
		pr_err("no event ring buffer under %s: load this version of bpfport-loader first",
		       opts.pin_dir);
		goto out;
	}
	/* Monitors hold a shared lock on the pin; the last one out switches off. */
	lock_fd = open(lock_path, O_RDONLY | O_CLOEXEC);
	if (lock_fd >= 0)
		flock(lock_fd, LOCK_SH);
	rb = ring_buffer__new(events_fd, on_event, m, NULL);
	if (!rb) {
		pr_err("cannot read the event ring buffer: %s", strerror(errno));
		goto out;
	}
	err = dp_config_flag(&dp, BPFPORT_CFG_EVENTS, true);
	if (err) {
		pr_err("cannot switch datapath events on: %s", strerror(-err));
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop) {
		err = ring_buffer__poll(rb, 200);
		if (err < 0 && err != -EINTR) {
			pr_err("reading events: %s", strerror(-err));
			break;
		}
	}
	ret = err < 0 && err != -EINTR ? EXIT_FAIL : EXIT_OK;
	if (lock_fd < 0 || !flock(lock_fd, LOCK_EX | LOCK_NB))
		dp_config_flag(&dp, BPFPORT_CFG_EVENTS, false);
out:
	ring_buffer__free(rb);
	if (lock_fd >= 0)
		close(lock_fd);
	if (events_fd >= 0)
		close(events_fd);
	dp_close(&dp);
	return ret;
}

int cmd_monitor(int argc, char **argv)
{
	struct monitor m = { .n_slots = -1 };
	const char *container = NULL;
	struct state st;
	bool have_state = false;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (cmd_json_flag(argv[i]))
			opts.json = true;
		else if (!strcmp(argv[i], "--drops"))
			m.drops_only = true;
		else if (!strcmp(argv[i], "--container") && i + 1 < argc)
			container = argv[++i];
		else
			return cmd_usage_error(CLI, cli_cmds, "monitor",
					       "unexpected argument \"%s\"", argv[i]);
	}
	if (!state_load(opts.state_path, &st)) {
		have_state = true;
		m.st = &st;
	} else if (container) {
		return EXIT_FAIL;
	}
	if (container && container_slots(&st, container, &m)) {
		state_free(&st);
		return EXIT_FAIL;
	}
	m.json = opts.json;
	ret = monitor_run(&m);
	if (have_state)
		state_free(&st);
	return ret;
}
