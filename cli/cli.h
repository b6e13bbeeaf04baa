/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef BPFPORT_CLI_H
#define BPFPORT_CLI_H

#include <stdbool.h>

#include "cmd.h"

#define CLI "bpfport"

struct cli_opts {
	const char *pin_dir;
	const char *state_path;
	bool json;
};

extern struct cli_opts opts;
extern const struct cmd cli_cmds[];

/* bindings.c */
int cmd_add(int argc, char **argv);
int cmd_del(int argc, char **argv);
int cmd_rm(int argc, char **argv);

/* query.c */
int cmd_list(int argc, char **argv);
int cmd_port(int argc, char **argv);

/* ct.c */
int cmd_ct(int argc, char **argv);

/* monitor.c */
int cmd_monitor(int argc, char **argv);

/* sync.c */
int cmd_sync(int argc, char **argv);

/* show.c */
int cmd_inspect(int argc, char **argv);
int cmd_env(int argc, char **argv);
int cmd_config(int argc, char **argv);

/* repair.c */
int cmd_repair(int argc, char **argv);

#endif /* BPFPORT_CLI_H */
