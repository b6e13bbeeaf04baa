/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `tool [OPTIONS] COMMAND [ARGS]` dispatch shared by bpfport and
 * bpfport-loader, as bpftool does it: a table of commands, unique prefixes
 * accepted, `help COMMAND` for each. A destructive command runs only when
 * spelled out: a prefix of one is a usage error naming it.
 *
 * Exit status: 0 success, 1 the operation failed, 2 bad usage.
 */
#ifndef BPFPORT_CMD_H
#define BPFPORT_CMD_H

#include <stdbool.h>

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Removes or overwrites what the tool manages: runs only under its full name. */
#define CMD_DESTRUCTIVE 0x1
/* Uses the pin directory: refused first if it is not trusted (dp_pin_dir_check()). */
#define CMD_PIN_DIR 0x2

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage; /* one line per form, without the tool name */
	const char *help; /* what it does, a few lines */
	unsigned int flags; /* CMD_* */
};

/*
 * Runs argv[0] from the table; argv is the command and its arguments. The
 * full name or a unique prefix selects a command, except that a prefix of a
 * destructive command is a usage error. Pin directories are not checked here.
 */
int cmd_dispatch(const char *tool, const struct cmd *cmds, int argc, char **argv);
/* Prints the usage of one command (or all when name is NULL) to f. */
int cmd_help(const char *tool, const struct cmd *cmds, const char *name);
/* Reports a usage error for a command and returns EXIT_USAGE. */
int cmd_usage_error(const char *tool, const struct cmd *cmds, const char *name, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));

/* The options both tools take before the command. */
struct cmd_global {
	const char *pin_dir;
	const char *state;
	const char *netns;
	bool json;
};

/*
 * Parses the global options, sets up logging, hands them to configure(),
 * enters --netns, checks the pin directory for a CMD_PIN_DIR command, then
 * runs the command: the whole of main() for both tools.
 */
int cmd_main(const char *tool, const struct cmd *cmds, int argc, char **argv,
	     void (*configure)(const struct cmd_global *g));

/* A command's own "-j"/"--json": true, and errors switch to JSON too. */
bool cmd_json_flag(const char *arg);

bool is_root(void);
/* --netns NAME: join /run/netns/NAME (or a path) before anything else. */
int cmd_enter_netns(const char *name);

#endif /* BPFPORT_CMD_H */
