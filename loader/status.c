// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dp.h"
#include "json.h"
#include "loader.h"
#include "log.h"

struct prog_status {
	const char *name;
	__u32 id;
};

struct map_status {
	const char *name;
	long entries;
	__u32 max_entries;
};

static const char *const prog_names[] = { PROG_XDP_INGRESS, PROG_TC_INGRESS, PROG_TC_EGRESS };
static const char *const map_names[] = { MAP_BINDINGS, MAP_CT,	   MAP_CT_NEW,	 MAP_DIRECT,
					 MAP_COUNTERS, MAP_CONFIG, MAP_SOCK_REV, MAP_LOCAL_ADDRS };
#define N_MAPS (sizeof(map_names) / sizeof(map_names[0]))

static __u32 prog_id(const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	pin_path(path, sizeof(path), PIN_PROGS_SUBDIR, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

static void map_status(const char *name, struct map_status *ms)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	ms->name = name;
	ms->entries = -1;
	ms->max_entries = 0;
	pin_path(path, sizeof(path), PIN_MAPS_SUBDIR, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		ms->max_entries = info.max_entries;
	/* Arrays are always full; counting them says nothing. */
	ms->entries = info.type == BPF_MAP_TYPE_HASH || info.type == BPF_MAP_TYPE_LRU_HASH ?
			      dp_map_count(fd) :
			      (long)info.max_entries;
	close(fd);
}

/* The datapath's conntrack counters (enum bpfport_stat); false if unreadable. */
static bool stats_read(__u64 *counts)
{
	struct dp dp;
	int err;

	if (dp_open(opts.pin_dir, &dp))
		return false;
	err = dp_stats_read(&dp, counts);
	dp_close(&dp);
	return !err;
}

static void print_text(bool loaded, DIR *links)
{
	__u64 counts[BPFPORT_STAT_MAX];
	struct dirent *de;
	char mode[16];

	printf("loaded: %s (pin dir %s)\n", loaded ? "yes" : "no", opts.pin_dir);
	if (!loaded)
		return;
	printf("programs:\n");
	for (size_t i = 0; i < 3; i++)
		printf("  %-12s id %u\n", prog_names[i], prog_id(prog_names[i]));
	printf("host processes: %s\n", host_path_attached() ? "socket programs attached" : "off");
	printf("interfaces:\n");
	while (links && (de = readdir(links))) {
		if (de->d_name[0] == '.')
			continue;
		printf("  %-12s ifindex %u mode %s\n", de->d_name, if_nametoindex(de->d_name),
		       attached_mode(de->d_name, mode, sizeof(mode)) ?: "none");
	}
	printf("maps:\n");
	for (size_t i = 0; i < N_MAPS; i++) {
		struct map_status ms;

		map_status(map_names[i], &ms);
		printf("  %-12s %ld/%u\n", ms.name, ms.entries, ms.max_entries);
	}
	if (stats_read(counts)) {
		printf("conntrack:\n");
		for (int i = 0; i < BPFPORT_STAT_MAX; i++)
			printf("  %-18s %llu\n", dp_stat_names[i], (unsigned long long)counts[i]);
	}
}

static void print_json(bool loaded, DIR *links)
{
	__u64 counts[BPFPORT_STAT_MAX];
	struct json_writer *jw = jw_new(stdout);
	struct dirent *de;
	char mode[16];

	jw_object_start(jw);
	jw_bool_field(jw, "loaded", loaded);
	jw_string_field(jw, "pin_dir", opts.pin_dir);
	jw_name(jw, "programs");
	jw_array_start(jw);
	for (size_t i = 0; loaded && i < 3; i++) {
		jw_object_start(jw);
		jw_string_field(jw, "name", prog_names[i]);
		jw_uint_field(jw, "id", prog_id(prog_names[i]));
		jw_object_end(jw);
	}
	jw_array_end(jw);
	jw_bool_field(jw, "host_path", loaded && host_path_attached());
	jw_name(jw, "interfaces");
	jw_array_start(jw);
	while (loaded && links && (de = readdir(links))) {
		if (de->d_name[0] == '.')
			continue;
		jw_object_start(jw);
		jw_string_field(jw, "name", de->d_name);
		jw_uint_field(jw, "ifindex", if_nametoindex(de->d_name));
		jw_string_field(jw, "mode",
				attached_mode(de->d_name, mode, sizeof(mode)) ?: "none");
		jw_object_end(jw);
	}
	jw_array_end(jw);
	jw_name(jw, "maps");
	jw_array_start(jw);
	for (size_t i = 0; loaded && i < N_MAPS; i++) {
		struct map_status ms;

		map_status(map_names[i], &ms);
		jw_object_start(jw);
		jw_string_field(jw, "name", ms.name);
		jw_uint_field(jw, "entries", ms.entries < 0 ? 0 : (__u64)ms.entries);
		jw_uint_field(jw, "max_entries", ms.max_entries);
		jw_object_end(jw);
	}
	jw_array_end(jw);
	if (loaded && stats_read(counts)) {
		jw_name(jw, "conntrack");
		jw_object_start(jw);
		for (int i = 0; i < BPFPORT_STAT_MAX; i++)
			jw_uint_field(jw, dp_stat_names[i], counts[i]);
		jw_object_end(jw);
	}
	jw_object_end(jw);
	jw_destroy(jw);
}

int cmd_status(int argc, char **argv)
{
	char links_dir[PATH_MAX];
	bool loaded;
	DIR *links;

	for (int i = 1; i < argc; i++) {
		if (cmd_json_flag(argv[i])) {
			opts.json = true;
			continue;
		}
		return cmd_usage_error(LOADER, loader_cmds, "status", "unexpected argument \"%s\"",
				       argv[i]);
	}
	loaded = datapath_loaded();
	pin_path(links_dir, sizeof(links_dir), PIN_LINKS_SUBDIR, NULL);
	links = opendir(links_dir);
	if (opts.json)
		print_json(loaded, links);
	else
		print_text(loaded, links);
	if (links)
		closedir(links);
	return EXIT_OK;
}
