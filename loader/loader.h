/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bpfport-loader internals. Layout of the pin directory:
 *
 *   <pin-dir>/maps/bp_*              maps (pinned by libbpf, by name)
 *   <pin-dir>/progs/<program>        loaded programs, attached on demand
 *   <pin-dir>/cgroup/<program>       the host-local socket programs' links
 *   <pin-dir>/links/<iface>/<what>   one pin per attachment; its name is the
 *                                    mode: xdp_native, xdp_generic,
 *                                    tcx_ingress, tcx_egress, or (legacy tc
 *                                    filters, which have no link) the program
 *                                    pinned as tc_ingress, tc_egress
 */
#ifndef BPFPORT_LOADER_H
#define BPFPORT_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "cmd.h"
#include "state.h"

struct loader_opts {
	const char *pin_dir;
	const char *state_path;
	bool json;
};

#define PIN_CGROUP_SUBDIR "cgroup"

extern struct loader_opts opts;
extern const struct cmd loader_cmds[];

#define LOADER "bpfport-loader"

#define PROG_XDP_INGRESS "xdp_ingress"
#define PROG_TC_INGRESS "tc_ingress"
#define PROG_TC_EGRESS "tc_egress"
#define PROG_TC_BRIDGE "tc_bridge"

/* pins.c */
int pin_path(char *buf, size_t len, const char *sub, const char *name);
int ensure_bpffs(const char *dir);
int mkdir_p(const char *dir);
int pin_dir_lock(void);
void pin_dir_unlock(int fd);
bool datapath_loaded(void);
bool path_exists(const char *path);
void link_unpin(const char *path);

/* load.c */
int cmd_load(int argc, char **argv);
int cmd_unload(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int restore_bindings(const struct state *st);

/* attach.c */
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int attach_iface(const char *iface, const char *mode);
int detach_iface(const char *iface);
/* The mode an interface is attached in ("native", "generic", "tc"), or NULL. */
const char *attached_mode(const char *iface, char *buf, size_t len);

/* host.c */
const char *sock_prog_name(size_t i);
int cgroup2_root(char *buf, size_t len);
bool host_path_attached(void);
int host_path_attach(const char *cgroup);
void host_path_detach(void);
int local_addrs_refresh(void);

/* status.c */
int cmd_status(int argc, char **argv);

#endif /* BPFPORT_LOADER_H */
