// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfport: publish container ports through the bpfport datapath, and answer
 * questions about them the way docker does.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "dp.h"
#include "log.h"

struct cli_opts opts;

const struct cmd cli_cmds[] = {
	{ "add", cmd_add, "add [--id ID] 'HOST_IP:HOST_PORT -> CONTAINER_IP:CONTAINER_PORT[/tcp|/udp]'",
	  "Publish a container port. Quote the spec: a bare -> is a shell redirection.\n"
	  "The spec may also be given as three words, with '->' or 'to' in the middle:\n"
	  "  bpfport add 0.0.0.0:80 to 172.17.0.8:8080/tcp\n"
	  "The protocol defaults to tcp. ID names the container the binding belongs to;\n"
	  "without --id the container's IP is its ID. 0.0.0.0 publishes on every local\n"
	  "address; a wildcard and a specific address on the same port conflict." },
	{ "del", cmd_del, "del 'HOST_IP:HOST_PORT -> CONTAINER_IP:CONTAINER_PORT[/tcp|/udp]'",
	  "Remove one binding and drop its tracked flows." },
	{ "rm", cmd_rm, "rm ID", "Remove every binding of container ID." },
	{ "list", cmd_list, "list [-j]", "List every binding with its traffic counters." },
	{ "port", cmd_port, "port ID [PORT[/PROTO]]",
	  "Print the public endpoints of a container, as 'docker port' does." },
	{ NULL },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'p' }, { "state", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },          { "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },       { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pin_dir = NULL, *state = NULL;
	enum log_level level = LOG_INFO;
	int c;

	while ((c = getopt_long(argc, argv, "+jdVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pin_dir = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'j':
			opts.json = true;
			break;
		case 'd':
			level = LOG_DEBUG;
			break;
		case 'V':
			printf("bpfport %s\n", BPFPORT_VERSION);
			return EXIT_OK;
		case 'h':
			return cmd_help(CLI, cli_cmds, NULL);
		default:
			return EXIT_USAGE;
		}
	}
	log_init(level, opts.json);
	opts.pin_dir = dp_pin_dir(pin_dir);
	opts.state_path = dp_state_path(state);
	return cmd_dispatch(CLI, cli_cmds, argc - optind, argv + optind);
}
