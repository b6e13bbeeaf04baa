/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The loaded datapath as user space sees it: the pinned maps under
 * <pin-dir>/maps. Functions return 0 or -errno and print nothing.
 *
 *   dp_open()               open the pinned maps (-ENOENT: not loaded)
 *   dp_binding_install()    add one binding (fails if the key exists)
 *   dp_binding_remove()     delete one binding and end its tracked flows
 *   dp_flows_end()          end every tracked flow of a binding (generation bump, then delete)
 *   dp_stats_read()         datapath event counts (enum bpfport_stat), summed over CPUs
 *   dp_counters_read()      sum a slot's per-CPU counters
 *   dp_map_count()          entries in a map
 *   dp_published_sync()     rebuild the published-ports bitmap from the port counts
 *   dp_pin_dir_check()      refuse a pin directory others could have planted or can change
 */
#ifndef BPFPORT_DP_H
#define BPFPORT_DP_H

#include <stdbool.h>
#include <stddef.h>

#include "binding.h"
#include "bpfport.h"

#define PIN_DIR_DEFAULT "/sys/fs/bpf/bpfport"
#define PIN_MAPS_SUBDIR "maps"
#define PIN_PROGS_SUBDIR "progs"
#define PIN_LINKS_SUBDIR "links"

#define MAP_BINDINGS "bp_bindings"
#define MAP_CT "bp_ct"
#define MAP_COUNTERS "bp_counters"
#define MAP_CONFIG "bp_config"
#define MAP_SOCK_REV "bp_sock_rev"
#define MAP_LOCAL_ADDRS "bp_local_addrs"
#define MAP_PORTS "bp_ports"
#define MAP_ALLOW "bp_allow"
#define MAP_PUBLISHED "bp_published"
#define MAP_CT_NEW "bp_ct_new"
#define MAP_SLOT_GEN "bp_slot_gen"
#define MAP_BACKENDS "bp_backends"
#define MAP_DIRECT "bp_direct"
#define MAP_STATS "bp_stats"
#define MAP_CONTAINERS "bp_containers"
#define MAP_OUTBOUND "bp_outbound"
#define MAP_EVENTS "bp_events"

struct dp {
	int bindings_fd;
	int ct_fd;
	int counters_fd;
	int config_fd;
	int ports_fd;
	int allow_fd;
	int published_fd;
	int ct_new_fd;
	int slot_gen_fd;
	int backends_fd;
	int stats_fd;
	int containers_fd;
};

/* Paths resolved from flags, then BPFPORT_PIN_DIR / BPFPORT_STATE, then defaults. */
const char *dp_pin_dir(const char *flag);
const char *dp_state_path(const char *flag);

int dp_open(const char *pin_dir, struct dp *dp);
void dp_close(struct dp *dp);

int dp_binding_install(const struct dp *dp, const struct binding *b);
int dp_binding_remove(const struct dp *dp, const struct binding *b);
/*
 * Ends every flow of b: its binding (if still installed) takes the slot's
 * next generation, the slot follows, so no packet of an older flow is
 * translated again even if an entry comes back; then both tables are swept.
 * Returns how many entries were deleted, or -errno.
 */
int dp_flows_end(const struct dp *dp, const struct binding *b);
/* Deletes every entry of both conntrack tables; returns how many. */
int dp_ct_delete_all(const struct dp *dp);
int dp_stats_read(const struct dp *dp, __u64 *counts /* [BPFPORT_STAT_MAX] */);
extern const char *const dp_stat_names[BPFPORT_STAT_MAX];
extern const char *const dp_stat_help[BPFPORT_STAT_MAX];
int dp_counters_read(const struct dp *dp, __u32 slot, struct bpfport_counters *sum);
int dp_counters_reset(const struct dp *dp, __u32 slot);
long dp_map_count(int map_fd);
/* Rebuild bp_published from bp_ports (maps pinned by an older version). */
int dp_published_sync(const struct dp *dp);
/* Set or clear a BPFPORT_CFG_* flag of the config map (direct access, events). */
int dp_config_flag(const struct dp *dp, __u32 flag, bool on);
/* Write the state's connection-tracking timeouts into the config map. */
int dp_config_timeouts(const struct dp *dp, const __u32 *timeouts);

/*
 * The pin directory and its subdirectories (maps, progs, links, links/IFACE,
 * cgroup) must be directories, not symlinks, owned by root (or the effective
 * uid) and writable by nobody else: whoever can write there can plant maps
 * and links for the tools to trust, or symlinks for unload to follow. A
 * missing directory passes (load creates it, 0700). Returns 0 or -errno
 * (-ELOOP, -ENOTDIR, -EPERM, or lstat's), with the reason in why (may be NULL).
 * dp_open() calls it first.
 */
struct stat;
int dp_pin_dir_check(const char *pin_dir, char *why, size_t len);
/* The same test on one directory's stat (of an open fd, say). */
int dp_pin_stat_check(const struct stat *st, const char *path, char *why, size_t len);
/* bp_slot_gen[slot] (0 if unreadable). */
__u32 dp_slot_gen(const struct dp *dp, __u32 slot);
/* The bp_allow key of one of b's prefixes. */
void dp_allow_key(const struct binding *b, const struct cidr *c, struct bpfport_allow_key *k);
/*
 * Deletes every allow-list prefix on slot; returns how many, or -errno. For
 * an add to call before dp_binding_install(): a remove killed between the key
 * and the prefixes leaves them on a slot the state calls free, and the next
 * binding there would admit them too.
 */
int dp_allow_clear_slot(const struct dp *dp, __u32 slot);

#endif /* BPFPORT_DP_H */
