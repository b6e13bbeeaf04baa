// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmd.h"
#include "dp.h"
#include "loader.h"
#include "log.h"

/* Debian's linux-libc-dev 6.1 predates TCX (kernel 6.6). */
#define ATTACH_TCX_INGRESS 46
#define ATTACH_TCX_EGRESS 47

/* Our legacy cls_bpf filter, found again by handle and priority on detach. */
#define TC_LEGACY_HANDLE 0xb9f0
#define TC_LEGACY_PRIO 0xb9f0

enum hook {
	HOOK_INGRESS,
	HOOK_EGRESS,
};

/* Per hook: the TCX link pin and the legacy filter's program pin. Bridge
 * mode puts tc_bridge on ingress instead of tc_ingress. */
static const char *const tcx_pin[] = { "tcx_ingress", "tcx_egress" };
static const char *const tc_legacy_pin[] = { "tc_ingress", "tc_egress" };
#define TCX_BRIDGE_PIN "tcx_bridge"
#define TC_BRIDGE_PIN "tc_bridge"
static const char *const xdp_pins[] = { "xdp_native", "xdp_generic" };

static int link_pin_path(char *buf, size_t len, const char *iface, const char *name)
{
	char sub[PATH_MAX];

	snprintf(sub, sizeof(sub), "%s/%s", PIN_LINKS_SUBDIR, iface);
	return pin_path(buf, len, sub, name);
}

static bool link_pinned(const char *iface, const char *name)
{
	char path[PATH_MAX];

	return !link_pin_path(path, sizeof(path), iface, name) && path_exists(path);
}

const char *attached_mode(const char *iface, char *buf, size_t len)
{
	const char *mode = NULL;

	if (link_pinned(iface, "xdp_native"))
		mode = "native";
	else if (link_pinned(iface, "xdp_generic"))
		mode = "generic";
	else if (link_pinned(iface, tcx_pin[HOOK_INGRESS]) ||
		 link_pinned(iface, tc_legacy_pin[HOOK_INGRESS]))
		mode = "tc";
	else if (link_pinned(iface, TCX_BRIDGE_PIN) || link_pinned(iface, TC_BRIDGE_PIN))
		mode = "bridge";
	if (!mode)
		return NULL;
	snprintf(buf, len, "%s", mode);
	return buf;
}

static int prog_fd_get(const char *name)
{
	char path[PATH_MAX];
	int fd;

	pin_path(path, sizeof(path), PIN_PROGS_SUBDIR, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

static int pin_fd(int fd, const char *iface, const char *name)
{
	char path[PATH_MAX];

	link_pin_path(path, sizeof(path), iface, name);
	return bpf_obj_pin(fd, path) ? -errno : 0;
}

static int attach_xdp(const char *iface, int ifindex, bool native)
{
	LIBBPF_OPTS(bpf_link_create_opts, lopts,
		    .flags = native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
	int prog_fd, link_fd, err;

	prog_fd = prog_fd_get(PROG_XDP_INGRESS);
	if (prog_fd < 0)
		return prog_fd;
	link_fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lopts);
	err = link_fd < 0 ? -errno : 0;
	close(prog_fd);
	if (err)
		return err;
	err = pin_fd(link_fd, iface, xdp_pins[native ? 0 : 1]);
	close(link_fd);
	return err;
}

static bool tcx_disabled(void)
{
	const char *env = getenv("BPFPORT_NO_TCX");

	return env && *env && strcmp(env, "0");
}

/* Legacy cls_bpf in a clsact qdisc, for kernels without TCX. The qdisc may be
 * shared with other users: we add and remove only our own filter. */
static int attach_tc_legacy(const char *iface, int ifindex, enum hook hook, int prog_fd,
			    const char *pin_name)
{
	LIBBPF_OPTS(bpf_tc_hook, tc_hook, .ifindex = ifindex,
		    .attach_point = hook == HOOK_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc_opts, .handle = TC_LEGACY_HANDLE, .priority = TC_LEGACY_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&tc_hook);
	if (err && err != -EEXIST)
		return err;
	err = bpf_tc_attach(&tc_hook, &tc_opts);
	if (err)
		return err;
	return pin_fd(prog_fd, iface, pin_name);
}

static int detach_tc_legacy(int ifindex, enum hook hook)
{
	LIBBPF_OPTS(bpf_tc_hook, tc_hook, .ifindex = ifindex,
		    .attach_point = hook == HOOK_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc_opts, .handle = TC_LEGACY_HANDLE, .priority = TC_LEGACY_PRIO);

	return bpf_tc_detach(&tc_hook, &tc_opts);
}

static int attach_tc(const char *iface, int ifindex, enum hook hook, bool bridge)
{
	const char *prog = bridge		? PROG_TC_BRIDGE :
			   hook == HOOK_INGRESS ? PROG_TC_INGRESS :
						  PROG_TC_EGRESS;
	const char *tcx_name = bridge ? TCX_BRIDGE_PIN : tcx_pin[hook];
	const char *legacy_name = bridge ? TC_BRIDGE_PIN : tc_legacy_pin[hook];
	int prog_fd, link_fd, err;

	prog_fd = prog_fd_get(prog);
	if (prog_fd < 0)
		return prog_fd;
	link_fd = -1;
	if (!tcx_disabled())
		link_fd = bpf_link_create(
			prog_fd, ifindex,
			hook == HOOK_INGRESS ? ATTACH_TCX_INGRESS : ATTACH_TCX_EGRESS, NULL);
	if (link_fd >= 0) {
		err = pin_fd(link_fd, iface, tcx_name);
		close(link_fd);
	} else {
		pr_debug("TCX unavailable on %s (%s), using a tc clsact filter", iface,
			 strerror(errno));
		err = attach_tc_legacy(iface, ifindex, hook, prog_fd, legacy_name);
	}
	close(prog_fd);
	return err;
}

static const char *attach_error_hint(int err, const char *what)
{
	if (err == -EBUSY || err == -EEXIST)
		return strcmp(what, "xdp") ? "another program holds this hook exclusively" :
					     "the interface already has an XDP program bpfport "
					     "does not own: remove it first (ip link set dev IFACE "
					     "xdp off)";
	if (err == -EOPNOTSUPP)
		return "the driver does not support this mode: try --mode generic or --mode tc";
	return strerror(-err);
}

static int attach_ingress(const char *iface, int ifindex, const char *mode, const char **actual)
{
	int err;

	if (!strcmp(mode, "tc") || !strcmp(mode, "bridge")) {
		*actual = mode;
		return attach_tc(iface, ifindex, HOOK_INGRESS, !strcmp(mode, "bridge"));
	}
	if (!strcmp(mode, "generic")) {
		*actual = "generic";
		return attach_xdp(iface, ifindex, false);
	}
	*actual = "native";
	err = attach_xdp(iface, ifindex, true);
	/* Unspecified mode: native where the driver has it, generic otherwise. */
	if (err && !strcmp(mode, "auto") && err != -EBUSY && err != -EEXIST) {
		pr_debug("native XDP on %s failed (%s), using generic", iface, strerror(-err));
		*actual = "generic";
		err = attach_xdp(iface, ifindex, false);
	}
	return err;
}

static void warn_if_no_forwarding(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/conf/all/forwarding", "re");
	int v = 1;

	if (!f)
		return;
	if (fscanf(f, "%d", &v) != 1)
		v = 1;
	fclose(f);
	if (!v)
		pr_warn("IPv4 forwarding is off (net.ipv4.ip_forward=0): translated packets "
			"cannot reach containers until it is on");
}

/*
 * The default mode for an interface, from bench/results.md: on a veth, an XDP
 * program turns off segmentation offload on the peer and bulk TCP drops to a
 * seventh; TC programs see whole GSO packets. Elsewhere native XDP (generic
 * where the driver lacks it) is the cheapest per packet.
 */
static const char *default_mode(const char *iface)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool veth = false;

	if (fd < 0)
		return "auto";
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	ifr.ifr_data = (void *)&info;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		veth = !strcmp(info.driver, "veth");
	close(fd);
	return veth ? "tc" : "auto";
}

int attach_iface(const char *iface, const char *mode)
{
	char dir[PATH_MAX], sub[PATH_MAX], cur_buf[16];
	const char *cur, *actual = mode;
	int ifindex, err;

	ifindex = (int)if_nametoindex(iface);
	if (!ifindex) {
		pr_err("cannot attach to %s: no such interface", iface);
		return -ENODEV;
	}
	if (!strcmp(mode, "auto"))
		mode = default_mode(iface);
	cur = attached_mode(iface, cur_buf, sizeof(cur_buf));
	if (cur && (!strcmp(cur, mode) ||
		    (!strcmp(mode, "auto") && strcmp(cur, "tc") && strcmp(cur, "bridge"))))
		return 0;
	if (cur) {
		err = detach_iface(iface);
		if (err)
			return err;
	}
	snprintf(sub, sizeof(sub), "%s/%s", PIN_LINKS_SUBDIR, iface);
	pin_path(dir, sizeof(dir), sub, NULL);
	err = mkdir_p(dir);
	if (err) {
		pr_err("cannot create %s: %s", dir, strerror(-err));
		return err;
	}
	err = attach_ingress(iface, ifindex, mode, &actual);
	if (err) {
		pr_err("cannot attach %s ingress to %s: %s", actual, iface,
		       attach_error_hint(err, strcmp(actual, "tc") ? "xdp" : "tc"));
		goto fail;
	}
	/* On the bridge, replies are handled at ingress: no egress program. */
	err = strcmp(actual, "bridge") ? attach_tc(iface, ifindex, HOOK_EGRESS, false) : 0;
	if (err) {
		pr_err("cannot attach reply translation (tc egress) to %s: %s", iface,
		       attach_error_hint(err, "tc"));
		goto fail;
	}
	warn_if_no_forwarding();
	/* Addresses may have changed since load: wildcard bindings follow them. */
	local_addrs_refresh();
	pr_debug("attached to %s in %s mode", iface, actual);
	return 0;
fail:
	detach_iface(iface);
	return err;
}

int detach_iface(const char *iface)
{
	int ifindex = (int)if_nametoindex(iface);
	char path[PATH_MAX], dir[PATH_MAX], sub[PATH_MAX];
	const char *links[] = { "xdp_native", "xdp_generic", "tcx_ingress", "tcx_egress",
				TCX_BRIDGE_PIN };

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		link_pin_path(path, sizeof(path), iface, links[i]);
		link_unpin(path);
	}
	for (int hook = HOOK_INGRESS; hook <= HOOK_EGRESS + 1; hook++) {
		/* The last round is the bridge program, a legacy filter on ingress. */
		const char *name = hook <= HOOK_EGRESS ? tc_legacy_pin[hook] : TC_BRIDGE_PIN;

		link_pin_path(path, sizeof(path), iface, name);
		if (!path_exists(path))
			continue;
		if (ifindex)
			detach_tc_legacy(ifindex, hook <= HOOK_EGRESS ? hook : HOOK_INGRESS);
		unlink(path);
	}
	snprintf(sub, sizeof(sub), "%s/%s", PIN_LINKS_SUBDIR, iface);
	pin_path(dir, sizeof(dir), sub, NULL);
	if (rmdir(dir) && errno != ENOENT) {
		pr_err("cannot remove %s: %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * The state, locked, for recording an attachment: taken before anything is
 * attached or detached, so that a state file that cannot be saved (unreadable,
 * or with damaged lines it would lose) refuses the command while nothing has
 * changed. Returns the lock fd or -errno; errors are reported.
 */
static int state_begin(struct state *st)
{
	int lock, err;

	lock = state_lock(opts.state_path);
	if (lock < 0)
		return lock;
	err = state_load_for_update(opts.state_path, st);
	if (err) {
		state_unlock(lock);
		return err;
	}
	return lock;
}

/* Records iface's mode (NULL: detached), saves, unlocks. */
static int state_commit(int lock, struct state *st, const char *iface, const char *mode)
{
	int err = 0;

	if (mode)
		err = state_set_attachment(st, iface, mode);
	else
		state_remove_attachment(st, iface);
	if (err)
		pr_err("cannot record %s in the state file: %s", iface, strerror(-err));
	else
		err = state_save(opts.state_path, st);
	state_free(st);
	state_unlock(lock);
	return err;
}

static bool mode_valid(const char *mode)
{
	return !strcmp(mode, "native") || !strcmp(mode, "generic") || !strcmp(mode, "tc") ||
	       !strcmp(mode, "bridge");
}

int cmd_attach(int argc, char **argv)
{
	static const struct option longopts[] = { { "mode", required_argument, NULL, 'm' },
						  { NULL, 0, NULL, 0 } };
	const char *mode = "auto", *iface;
	struct state st;
	char cur[16];
	int c, lock, slock, err;

	optind = 0; /* 0 also resets glibc's permutation state */
	while ((c = getopt_long(argc, argv, "m:", longopts, NULL)) != -1) {
		if (c != 'm')
			return cmd_usage_error(LOADER, loader_cmds, "attach", "unknown option %s",
					       argv[optind - 1]);
		mode = optarg;
		if (!mode_valid(mode))
			return cmd_usage_error(
				LOADER, loader_cmds, "attach",
				"invalid mode \"%s\": must be native, generic, tc or "
				"bridge",
				mode);
	}
	if (argc - optind != 1)
		return cmd_usage_error(LOADER, loader_cmds, "attach",
				       "expected one interface name");
	iface = argv[optind];
	if (strlen(iface) >= IF_NAMESIZE || strchr(iface, '/') || iface[0] == '.')
		return cmd_usage_error(LOADER, loader_cmds, "attach",
				       "invalid interface name \"%s\"", iface);
	if (!is_root()) {
		pr_err("attaching needs root (CAP_BPF, CAP_NET_ADMIN): run as root");
		return EXIT_FAIL;
	}
	if (!datapath_loaded()) {
		pr_err("datapath not loaded under %s: run 'bpfport-loader load' first",
		       opts.pin_dir);
		return EXIT_FAIL;
	}
	lock = pin_dir_lock();
	if (lock < 0) {
		pr_err("cannot lock pin dir %s: %s", opts.pin_dir, strerror(-lock));
		return EXIT_FAIL;
	}
	/* Pin dir lock, then state lock: the order load and restore take them in. */
	slock = state_begin(&st);
	if (slock < 0) {
		pin_dir_unlock(lock);
		return EXIT_FAIL;
	}
	err = attach_iface(iface, mode);
	if (err) {
		state_free(&st);
		state_unlock(slock);
	} else {
		err = state_commit(slock, &st, iface, attached_mode(iface, cur, sizeof(cur)));
	}
	pin_dir_unlock(lock);
	return err ? EXIT_FAIL : EXIT_OK;
}

int cmd_detach(int argc, char **argv)
{
	struct state st;
	char cur[16];
	int lock, slock, err;

	if (argc != 2)
		return cmd_usage_error(LOADER, loader_cmds, "detach",
				       "expected one interface name");
	if (strchr(argv[1], '/') || argv[1][0] == '.' || strlen(argv[1]) >= IF_NAMESIZE)
		return cmd_usage_error(LOADER, loader_cmds, "detach",
				       "invalid interface name \"%s\"", argv[1]);
	if (!is_root()) {
		pr_err("detaching needs root: run as root");
		return EXIT_FAIL;
	}
	if (!path_exists(opts.pin_dir) || !attached_mode(argv[1], cur, sizeof(cur))) {
		pr_err("%s is not attached", argv[1]);
		return EXIT_FAIL;
	}
	lock = pin_dir_lock();
	if (lock < 0) {
		pr_err("cannot lock pin dir %s: %s", opts.pin_dir, strerror(-lock));
		return EXIT_FAIL;
	}
	slock = state_begin(&st);
	if (slock < 0) {
		pin_dir_unlock(lock);
		return EXIT_FAIL;
	}
	err = detach_iface(argv[1]);
	if (err) {
		state_free(&st);
		state_unlock(slock);
	} else {
		err = state_commit(slock, &st, argv[1], NULL);
	}
	pin_dir_unlock(lock);
	return err ? EXIT_FAIL : EXIT_OK;
}
