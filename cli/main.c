// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfport: publish container ports through the bpfport datapath, and answer
 * questions about them the way docker does.
 */
#include <stdio.h>

#include "cli.h"
#include "dp.h"
#include "log.h"

struct cli_opts opts;

const struct cmd cli_cmds[] = {
	{ "add", cmd_add,
	  "add [--id ID] [--name NAME] [--ip ADDR]... [--expose PORT[-END][/PROTO]]...\n"
	  "    [--env KEY=VALUE]... [-p SPEC]... [-P] [--force] [--allow CIDR[,CIDR...]]\n"
	  "    ['HOST_IP:HOST_PORT -> CONTAINER_IP:PORT[/PROTO]']",
	  "Create or update a container and publish its ports.\n"
	  "-p takes Docker's grammar: PORT, HOST_PORT:PORT, IP:HOST_PORT:PORT, IP::PORT,\n"
	  "ranges (8000-8002:80-82), /tcp or /udp; no host port means a dynamic one from\n"
	  "the pool. -P publishes every exposed port that has no binding on a dynamic\n"
	  "port. Without a host address, one binding per address family of the container.\n"
	  "The arrow form publishes one explicit binding; quote it (a bare -> is a shell\n"
	  "redirection) or write it as three words with '->' or 'to' in the middle.\n"
	  "Without --id, the container's (first) IP is its ID. Conflicts follow Docker:\n"
	  "'Bind for 0.0.0.0:80 failed: port is already allocated'; a port another program\n"
	  "listens on is refused (--force publishes anyway). A failed add changes nothing.\n"
	  "Run in the host's namespace (--netns), published ports also go into\n"
	  "net.ipv4.ip_local_reserved_ports, and host processes that bind one get\n"
	  "EADDRINUSE.\n"
	  "--allow restricts the new bindings to clients from those prefixes; others are\n"
	  "dropped at the interface and counted (list: dropped_packets).",
	  CMD_PIN_DIR },
	{ "del", cmd_del, "del 'HOST_IP:HOST_PORT -> CONTAINER_IP:CONTAINER_PORT[/tcp|/udp]'",
	  "Remove one binding and drop its tracked flows. Only the full name runs it.",
	  CMD_DESTRUCTIVE | CMD_PIN_DIR },
	{ "rm", cmd_rm, "rm CONTAINER",
	  "Remove a container with all its bindings. CONTAINER is an ID, a unique ID\n"
	  "prefix, a name or an address, here and in every query. Only the full name\n"
	  "runs it.",
	  CMD_DESTRUCTIVE | CMD_PIN_DIR },
	{ "list", cmd_list, "list [-j]", "List every binding with its traffic counters.",
	  CMD_PIN_DIR },
	{ "port", cmd_port, "port CONTAINER [PORT[/PROTO]] [-j]",
	  "Print a container's public endpoints exactly as 'docker port' does." },
	{ "inspect", cmd_inspect, "inspect CONTAINER [-j]",
	  "Show a container: ID, name, addresses, exposed ports, env, bindings." },
	{ "env", cmd_env, "env CONTAINER [ALIAS] [--client NAME] [--export]",
	  "Print the variables 'docker run --link CONTAINER:ALIAS' sets, as KEY=VALUE lines\n"
	  "(for env and --env-file), or with --export for eval in a shell. ALIAS defaults\n"
	  "to the container's name, else its ID; --client NAME adds ALIAS_NAME." },
	{ "ct", cmd_ct, "ct [list] [-j]\nct stats [-j]\nct flush [CONTAINER]",
	  "List the translated flows (client, published and container endpoints, state,\n"
	  "assured or not, age and idle seconds); show both tables' fill and the\n"
	  "datapath's conntrack and drop counters; or end flows: all, or a container's.\n"
	  "Flushing is how a UDP client that keeps its tuple follows a binding to a new\n"
	  "container.",
	  CMD_PIN_DIR },
	{ "monitor", cmd_monitor, "monitor [-j] [--container CONTAINER] [--drops]",
	  "Stream the datapath's events until interrupted: new and ended flows, drops\n"
	  "with their reason, translated ICMP errors, hairpin flows; -j one JSON object\n"
	  "per line. Events are off (and cost nothing) while no monitor runs, and are\n"
	  "bounded to 20,000 a second per CPU.",
	  CMD_PIN_DIR },
	{ "config", cmd_config,
	  "config [show] [-j]\nconfig set port-range START-END|auto\n"
	  "config set ct-timeout-tcp|ct-timeout-tcp-close|ct-timeout-tcp-rst|ct-timeout-udp SECONDS\n"
	  "config set direct-access drop|allow",
	  "Show or set the pool dynamic host ports come from (default 49000-49900; auto:\n"
	  "the kernel's net.ipv4.ip_local_port_range, as current Docker), how long\n"
	  "idle flows are tracked (defaults as the kernel's conntrack: TCP 432000 s,\n"
	  "after FIN 120 s, after RST 10 s, UDP 120 s), and whether packets routed\n"
	  "straight to a container's address pass (allow) or are dropped (drop, the\n"
	  "default, as Docker 28)." },
	{ "repair", cmd_repair, "repair",
	  "Set the state file's damaged lines aside: append them, verbatim, to\n"
	  "STATE.damaged and save the rest. Commands that read the state skip a damaged\n"
	  "line with a warning naming it; commands that change the state refuse such a\n"
	  "file (saving would lose the line) until it is fixed by hand or repaired.\n"
	  "Only the full name runs it.",
	  CMD_DESTRUCTIVE },
	{ "sync", cmd_sync, "sync [--dry-run] [-j]",
	  "Bring the maps back in line with the state file, the source of truth, as a\n"
	  "command killed half way may leave them: bindings the state does not know\n"
	  "(removed, with their flows), bindings it has that the map lacks or holds\n"
	  "differently (installed), binding generations, port counts and the\n"
	  "published-ports bitmap, container endpoint counts, allow-list prefixes.\n"
	  "Prints one line per fix, or 'nothing to fix'; -j a JSON list. --dry-run\n"
	  "only reports. Only the full name runs it.",
	  CMD_DESTRUCTIVE | CMD_PIN_DIR },
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
	return cmd_main(CLI, cli_cmds, argc, argv, configure);
}
