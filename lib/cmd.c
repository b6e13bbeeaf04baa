// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE /* setns */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "cmd.h"
#include "dp.h"
#include "log.h"

static const struct cmd *cmd_find(const struct cmd *cmds, const char *name, bool *ambiguous)
{
	const struct cmd *match = NULL;
	size_t n = strlen(name);

	*ambiguous = false;
	for (const struct cmd *c = cmds; c->name; c++) {
		if (!strcmp(c->name, name))
			return c;
		if (n && !strncmp(c->name, name, n)) {
			if (match)
				*ambiguous = true;
			match = c;
		}
	}
	return *ambiguous ? NULL : match;
}

/* The first destructive command that name abbreviates, or NULL. */
static const struct cmd *cmd_destructive_prefix(const struct cmd *cmds, const char *name)
{
	size_t n = strlen(name);

	for (const struct cmd *c = cmds; c->name; c++)
		if ((c->flags & CMD_DESTRUCTIVE) && n && n < strlen(c->name) &&
		    !strncmp(c->name, name, n))
			return c;
	return NULL;
}

static void print_usage(FILE *f, const char *tool, const struct cmd *c)
{
	const char *line = c->usage;

	while (line && *line) {
		size_t n = strcspn(line, "\n");

		fprintf(f, "       %s %.*s\n", tool, (int)n, line);
		line += n + (line[n] == '\n');
	}
}

int cmd_help(const char *tool, const struct cmd *cmds, const char *name)
{
	bool ambiguous;
	const struct cmd *c;

	if (name) {
		c = cmd_find(cmds, name, &ambiguous);
		if (!c) {
			pr_err("unknown command \"%s\": try '%s help'", name, tool);
			return EXIT_USAGE;
		}
		printf("Usage:\n");
		print_usage(stdout, tool, c);
		printf("\n%s\n", c->help);
		return EXIT_OK;
	}
	printf("Usage: %s [OPTIONS] COMMAND [ARGS]\n\nCommands:\n", tool);
	for (c = cmds; c->name; c++)
		print_usage(stdout, tool, c);
	printf("\nOptions:\n"
	       "       --pin-dir DIR   pinned maps and links (env BPFPORT_PIN_DIR; default "
	       "/sys/fs/bpf/bpfport)\n"
	       "       --state FILE    state file (env BPFPORT_STATE; default "
	       "/var/lib/bpfport/state)\n"
	       "       -j, --json      JSON output\n"
	       "       -d, --debug     verbose output, including libbpf's\n"
	       "       -V, --version   print the version\n"
	       "\nRun '%s help COMMAND' for more about a command.\n",
	       tool);
	return EXIT_OK;
}

int cmd_usage_error(const char *tool, const struct cmd *cmds, const char *name, const char *fmt,
		    ...)
{
	char msg[512];
	bool ambiguous;
	const struct cmd *c = cmd_find(cmds, name, &ambiguous);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_err("%s", msg);
	if (c && !log_json()) {
		fprintf(stderr, "Usage:\n");
		print_usage(stderr, tool, c);
	}
	return EXIT_USAGE;
}

/*
 * The command name selects: its full name, else a unique prefix. A prefix of
 * a destructive command (unload, rm, ...) selects nothing, so that a typo or
 * a half-remembered name never removes anything. Returns the command, or NULL
 * with *ret the exit status of the reported error.
 */
static const struct cmd *cmd_resolve(const char *tool, const struct cmd *cmds, const char *name,
				     int *ret)
{
	const struct cmd *c, *d;
	bool ambiguous;

	*ret = EXIT_USAGE;
	c = cmd_find(cmds, name, &ambiguous);
	if (c && !strcmp(c->name, name))
		return c;
	d = cmd_destructive_prefix(cmds, name);
	if (d) {
		cmd_usage_error(tool, cmds, d->name,
				"'%s' is ambiguous or abbreviates the destructive command '%s': "
				"spell it out",
				name, d->name);
		return NULL;
	}
	if (!c)
		pr_err("%s command \"%s\": try '%s help'", ambiguous ? "ambiguous" : "unknown",
		       name, tool);
	return c;
}

int cmd_dispatch(const char *tool, const struct cmd *cmds, int argc, char **argv)
{
	const struct cmd *c;
	int ret;

	if (argc < 1)
		return cmd_help(tool, cmds, NULL), EXIT_USAGE;
	if (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))
		return cmd_help(tool, cmds, argc > 1 ? argv[1] : NULL);
	c = cmd_resolve(tool, cmds, argv[0], &ret);
	return c ? c->fn(argc, argv) : ret;
}

/*
 * A command that uses the pin directory refuses one that others could have
 * planted or can still change (a symlink, another owner, group or world
 * write: bpffs is often mounted 1777). Without root the directory may not
 * be readable: the command then says it needs root itself.
 */
static int cmd_check_pin_dir(const char *pin_dir)
{
	char why[PATH_MAX + 128];
	int err;

	err = dp_pin_dir_check(pin_dir, why, sizeof(why));
	if (!err || (err == -EACCES && !is_root()))
		return 0;
	pr_err("refusing pin dir %s: %s (pins must sit in directories owned by root and "
	       "writable by nobody else)",
	       pin_dir, why);
	return err;
}

bool cmd_json_flag(const char *arg)
{
	if (strcmp(arg, "-j") && strcmp(arg, "--json"))
		return false;
	log_set_json(true);
	return true;
}

bool is_root(void)
{
	return geteuid() == 0;
}

int cmd_enter_netns(const char *name)
{
	char path[PATH_MAX];
	int fd, err = 0;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_err("cannot open network namespace %s: %s", path, strerror(errno));
		return -errno;
	}
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		pr_err("cannot enter network namespace %s: %s", path, strerror(errno));
	}
	close(fd);
	return err;
}

int cmd_main(const char *tool, const struct cmd *cmds, int argc, char **argv,
	     void (*configure)(const struct cmd_global *g))
{
	struct cmd_global global = {}, *g = &global;
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "state", required_argument, NULL, 's' },
		{ "netns", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum log_level level = LOG_INFO;
	const struct cmd *cmd;
	int c, ret;

	while ((c = getopt_long(argc, argv, "+jdVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			g->pin_dir = optarg;
			break;
		case 's':
			g->state = optarg;
			break;
		case 'n':
			g->netns = optarg;
			break;
		case 'j':
			g->json = true;
			break;
		case 'd':
			level = LOG_DEBUG;
			break;
		case 'V':
			printf("%s %s\n", tool, BPFPORT_VERSION);
			return EXIT_OK;
		case 'h':
			return cmd_help(tool, cmds, NULL);
		default:
			return EXIT_USAGE;
		}
	}
	log_init(level, g->json);
	configure(g);
	/* Port-in-use checks and interface names belong to the namespace we run in. */
	if (g->netns && cmd_enter_netns(g->netns))
		return EXIT_FAIL;
	argc -= optind;
	argv += optind;
	if (argc < 1 || !strcmp(argv[0], "help") || !strcmp(argv[0], "--help") ||
	    !strcmp(argv[0], "-h"))
		return cmd_dispatch(tool, cmds, argc, argv);
	cmd = cmd_resolve(tool, cmds, argv[0], &ret);
	if (!cmd)
		return ret;
	if ((cmd->flags & CMD_PIN_DIR) && cmd_check_pin_dir(dp_pin_dir(g->pin_dir)))
		return EXIT_FAIL;
	return cmd->fn(argc, argv);
}
