// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfport-loader: load the bpfport datapath, pin it, attach it to
 * interfaces, and restore it from the state file at boot.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "dp.h"
#include "loader.h"
#include "log.h"

struct loader_opts opts;

const struct cmd loader_cmds[] = {
	{ "load", cmd_load, "load [--ct-size N] [--cgroup PATH|none]",
	  "Load the programs and create (or reuse) the maps pinned under the pin dir,\n"
	  "mounting bpffs if needed. When the bindings map is empty, fill it from the\n"
	  "state file. Loading twice is a no-op. --ct-size sets the connection table\n"
	  "size (default 262144 entries; a flow takes two; each CPU evicts from its\n"
	  "own share, N / CPUs).\n"
	  "Processes of this network namespace reach published ports through socket\n"
	  "programs on a cgroup: --cgroup PATH (or $BPFPORT_CGROUP; default the cgroup2\n"
	  "root, i.e. every process), or none. Run load in the host's namespace\n"
	  "(--netns) so that the socket path serves that namespace only.",
	  CMD_PIN_DIR },
	{ "attach", cmd_attach, "attach IFACE [--mode native|generic|tc|bridge]",
	  "Attach ingress translation (XDP, or TC with --mode tc) and reply translation\n"
	  "(TC egress) to IFACE, as pinned links that outlive this process. Without\n"
	  "--mode: tc on a veth (XDP there costs bulk TCP its offloads), else native XDP\n"
	  "where the driver has it, generic XDP otherwise.\n"
	  "--mode bridge is for the bridge the containers sit on (docker0): replies are\n"
	  "translated as they enter the host, and containers reach published ports\n"
	  "through the host's addresses (hairpin), their source translated to the\n"
	  "bridge's address when the target is on the same bridge.\n"
	  "Attaching again in the same mode is a no-op; another mode replaces it.",
	  CMD_PIN_DIR },
	{ "detach", cmd_detach, "detach IFACE",
	  "Remove bpfport's programs from IFACE. Only the full name runs it.",
	  CMD_DESTRUCTIVE | CMD_PIN_DIR },
	{ "unload", cmd_unload, "unload",
	  "Detach from every interface and remove every pin. The state file is kept,\n"
	  "so 'load' (or 'restore') brings the bindings back. Only the full name runs it.",
	  CMD_DESTRUCTIVE | CMD_PIN_DIR },
	{ "restore", cmd_restore, "restore",
	  "Load, then attach every interface recorded in the state file: what the\n"
	  "systemd unit runs at boot, since pins do not survive a reboot.",
	  CMD_PIN_DIR },
	{ "status", cmd_status, "status [-j]",
	  "Show whether the datapath is loaded, its programs, attached interfaces and\n"
	  "their modes, and map fill levels.",
	  CMD_PIN_DIR },
	{ NULL },
};

static void configure(const struct cmd_global *g)
{
	opts.pin_dir = dp_pin_dir(g->pin_dir);
	opts.state_path = dp_state_path(g->state);
	opts.json = g->json;
}

int main(int argc, char **argv)
{
	return cmd_main(LOADER, loader_cmds, argc, argv, configure);
}
