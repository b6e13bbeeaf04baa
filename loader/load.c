// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfport.skel.h"
#include "cmd.h"
#include "dp.h"
#include "hostport.h"
#include "loader.h"
#include "log.h"

#define CT_SIZE_MIN 1024
#define CT_SIZE_MAX (64u << 20)

/* The pinned ct map fixes the size: reuse requires identical definitions. */
static int pinned_ct_size(__u32 *size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err = 0;

	pin_path(path, sizeof(path), PIN_MAPS_SUBDIR, MAP_CT);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		err = -errno;
	else
		*size = info.max_entries;
	close(fd);
	return err;
}

/* The host's ip_local_port_range; the datapath's default if unreadable. */
static void local_port_range(struct bpfport_config *cfg)
{
	unsigned int lo, hi;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (!f)
		return;
	if (fscanf(f, "%u %u", &lo, &hi) == 2 && lo <= hi && hi <= 65535) {
		cfg->local_port_lo = (__u16)lo;
		cfg->local_port_hi = (__u16)hi;
	}
	fclose(f);
}

static int write_config(struct bpfport *skel)
{
	struct bpfport_config cfg = {
		.abi_version = BPFPORT_ABI_VERSION,
		.host_netns_cookie = hostport_netns_cookie(),
	};
	__u32 zero = 0;

	local_port_range(&cfg);
	return bpf_map_update_elem(bpf_map__fd(skel->maps.bp_config), &zero, &cfg, BPF_ANY) ?
		       -errno :
		       0;
}

/* Every loaded program, by name: attach and status find them there. */
static int pin_programs(struct bpfport *skel)
{
	struct bpf_program *prog;
	char path[PATH_MAX];
	int err;

	bpf_object__for_each_program(prog, skel->obj) {
		if (!bpf_program__autoload(prog))
			continue;
		pin_path(path, sizeof(path), PIN_PROGS_SUBDIR, bpf_program__name(prog));
		err = bpf_program__pin(prog, path);
		if (err)
			return err;
	}
	return 0;
}

static void remove_dir_pins(const char *sub)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;

	pin_path(dir, sizeof(dir), sub, NULL);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Every attachment, every pin, the pin directory itself. */
static int unload_all(void)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0;

	host_path_detach();
	pin_path(dir, sizeof(dir), PIN_LINKS_SUBDIR, NULL);
	d = opendir(dir);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] != '.' && detach_iface(de->d_name))
				err = -EIO;
		}
		closedir(d);
		rmdir(dir);
	}
	remove_dir_pins(PIN_PROGS_SUBDIR);
	remove_dir_pins(PIN_MAPS_SUBDIR);
	rmdir(opts.pin_dir);
	return err;
}

static int load_programs(__u32 ct_size)
{
	char maps_dir[PATH_MAX];
	struct bpfport *skel;
	__u32 pinned = 0;
	int err;

	pin_path(maps_dir, sizeof(maps_dir), PIN_MAPS_SUBDIR, NULL);
	if (!pinned_ct_size(&pinned)) {
		if (ct_size && ct_size != pinned) {
			pr_err("connection table is pinned with %u entries, not %u: run "
			       "'bpfport-loader unload' first to resize it",
			       pinned, ct_size);
			return -EINVAL;
		}
		ct_size = pinned;
	}
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = maps_dir);
	skel = bpfport__open_opts(&open_opts);
	if (!skel) {
		pr_err("cannot open the BPF object: %s", strerror(errno));
		return -errno;
	}
	bpf_map__set_max_entries(skel->maps.bp_ct, ct_size ? ct_size : BPFPORT_CT_DEFAULT_ENTRIES);
	bpf_program__set_autoload(skel->progs.xdp_pass, false);
	err = bpfport__load(skel);
	if (err && err == -EINVAL && pinned) {
		/* libbpf refuses a pinned map whose definition differs from ours. */
		pr_err("the maps pinned under %s do not match this bpfport's (another version?): "
		       "run 'bpfport-loader unload' first; the state file keeps the bindings",
		       maps_dir);
		goto out;
	}
	if (err) {
		pr_err("cannot load BPF programs: %s (run with --debug for the verifier log)",
		       strerror(-err));
		goto out;
	}
	err = write_config(skel);
	if (!err)
		err = pin_programs(skel);
	if (err)
		pr_err("cannot set up pins under %s: %s", opts.pin_dir, strerror(-err));
out:
	bpfport__destroy(skel);
	return err;
}

static int parse_ct_size(const char *s, __u32 *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < CT_SIZE_MIN || v > CT_SIZE_MAX)
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

/* --cgroup, else $BPFPORT_CGROUP, else the cgroup2 root; "none" for no host path. */
static const char *host_cgroup(const char *flag, char *buf, size_t len)
{
	const char *env = getenv("BPFPORT_CGROUP");

	if (flag)
		return flag;
	if (env && *env)
		return env;
	return cgroup2_root(buf, len) ? NULL : buf;
}

/*
 * Load (unless loaded) and fill the maps from the state file; with
 * attach_recorded (restore) also attach every interface the state records.
 * Holds the pin dir lock, then the state lock (the order attach takes them
 * in), so no bpfport command changes the state in between. A failure to load
 * the programs is fatal (-errno); past that, everything that can be done is
 * done, and *problems counts what could not (each reported): the state
 * unreadable or its lock refused, damaged lines skipped, bindings or
 * interfaces that failed.
 */
static int do_load(__u32 ct_size, const char *cgroup, bool attach_recorded, int *problems)
{
	char dir[PATH_MAX];
	int lock, state_lock_fd, err, ret;
	struct state st;
	bool fresh, have_state;

	*problems = 0;
	err = ensure_bpffs(opts.pin_dir);
	if (err)
		return err;
	pin_path(dir, sizeof(dir), PIN_PROGS_SUBDIR, NULL);
	err = mkdir_p(dir);
	if (!err) {
		pin_path(dir, sizeof(dir), PIN_MAPS_SUBDIR, NULL);
		err = mkdir_p(dir);
	}
	if (err) {
		pr_err("cannot create pin dir %s: %s", opts.pin_dir, strerror(-err));
		return err;
	}
	lock = pin_dir_lock();
	if (lock < 0) {
		pr_err("cannot lock pin dir %s: %s", opts.pin_dir, strerror(-lock));
		return lock;
	}
	/* Reported by state_lock; the state is still read (its own checks apply). */
	state_lock_fd = state_lock(opts.state_path);
	if (state_lock_fd < 0)
		(*problems)++;
	fresh = !datapath_loaded();
	if (fresh) {
		err = load_programs(ct_size);
		if (err) {
			remove_dir_pins(PIN_PROGS_SUBDIR);
			goto out;
		}
		pr_debug("loaded programs, pinned under %s", opts.pin_dir);
	}
	/* An unreadable state file leaves the maps alone; the rest goes on. */
	have_state = !state_load(opts.state_path, &st);
	if (!have_state)
		(*problems)++;
	ret = have_state ? restore_bindings(&st) : 0;
	if (ret < 0) {
		err = ret;
		goto out_state;
	}
	*problems += ret;
	if (local_addrs_refresh())
		pr_warn("cannot read this namespace's addresses: wildcard bindings will answer "
			"host processes on loopback only");
	if (!cgroup)
		pr_warn("no cgroup2 mount found: host processes cannot reach published ports "
			"(give --cgroup PATH)");
	else if (strcmp(cgroup, "none") && host_path_attach(cgroup))
		(*problems)++;
	for (size_t i = 0; attach_recorded && have_state && i < st.n_attachments; i++)
		if (attach_iface(st.attachments[i].iface, st.attachments[i].mode))
			(*problems)++;
	if (have_state && st.n_damaged) {
		pr_err("state file %s: %zu damaged line%s skipped (see above): what %s held was "
		       "not restored; fix %s, or set %s aside with 'bpfport repair'",
		       opts.state_path, st.n_damaged, st.n_damaged == 1 ? "" : "s",
		       st.n_damaged == 1 ? "it" : "they", st.n_damaged == 1 ? "it" : "them",
		       st.n_damaged == 1 ? "it" : "them");
		*problems += (int)st.n_damaged;
	}
out_state:
	if (have_state)
		state_free(&st);
out:
	state_unlock(state_lock_fd);
	pin_dir_unlock(lock);
	return err;
}

int cmd_load(int argc, char **argv)
{
	static const struct option longopts[] = { { "ct-size", required_argument, NULL, 'c' },
						  { "cgroup", required_argument, NULL, 'g' },
						  { NULL, 0, NULL, 0 } };
	const char *cgroup_flag = NULL;
	char cgroup_buf[PATH_MAX];
	__u32 ct_size = 0;
	int c, problems;

	optind = 0; /* 0 also resets glibc's permutation state */
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'g') {
			cgroup_flag = optarg;
			continue;
		}
		if (c != 'c' || parse_ct_size(optarg, &ct_size))
			return cmd_usage_error(LOADER, loader_cmds, "load",
					       c == 'c' ? "invalid --ct-size \"%s\": must be "
							  "1024 to 67108864" :
							  "unknown option %s",
					       c == 'c' ? optarg : argv[optind - 1]);
	}
	if (optind != argc)
		return cmd_usage_error(LOADER, loader_cmds, "load", "unexpected argument \"%s\"",
				       argv[optind]);
	if (!is_root()) {
		pr_err("loading BPF programs needs root (CAP_BPF, CAP_NET_ADMIN): run as root");
		return EXIT_FAIL;
	}
	if (do_load(ct_size, host_cgroup(cgroup_flag, cgroup_buf, sizeof(cgroup_buf)), false,
		    &problems))
		return EXIT_FAIL;
	return problems ? EXIT_FAIL : EXIT_OK;
}

/*
 * Rebuild the bindings map from the state when it is empty (first load after
 * boot or unload). A non-empty map is left alone: the CLI keeps the two in
 * step, and replaying would only fail on existing keys. Every binding that
 * can be installed is: returns how many could not (each reported), or -errno
 * (reported) when the maps cannot be opened.
 */
int restore_bindings(const struct state *st)
{
	size_t restored = 0;
	int err, failed = 0;
	struct dp dp;
	long present;

	err = dp_open(opts.pin_dir, &dp);
	if (err) {
		pr_err("cannot open pinned maps under %s: %s", opts.pin_dir, strerror(-err));
		return err;
	}
	err = dp_config_timeouts(&dp, st->ct_timeout);
	if (err) {
		pr_err("cannot write connection-tracking timeouts: %s", strerror(-err));
		failed++;
	}
	err = dp_config_flag(&dp, BPFPORT_CFG_DIRECT_ACCESS_ALLOW, st->direct_access_allow);
	if (err) {
		pr_err("cannot write the direct-access setting: %s", strerror(-err));
		failed++;
	}
	present = dp_map_count(dp.bindings_fd);
	if (present != 0) {
		err = dp_published_sync(&dp);
		if (err) {
			pr_err("cannot rebuild the published-ports map: %s", strerror(-err));
			failed++;
		}
		goto out;
	}
	for (size_t i = 0; i < st->n_bindings; i++) {
		char spec[160];

		err = dp_binding_install(&dp, &st->bindings[i]);
		if (!err) {
			restored++;
			continue;
		}
		binding_spec_str(&st->bindings[i], spec, sizeof(spec));
		pr_err("cannot restore binding %s: %s", spec, strerror(-err));
		failed++;
	}
	if (restored)
		pr_info("restored %zu bindings from %s", restored, opts.state_path);
out:
	dp_close(&dp);
	return failed;
}

int cmd_unload(int argc, char **argv)
{
	int lock, err;

	if (argc != 1)
		return cmd_usage_error(LOADER, loader_cmds, "unload", "unexpected argument \"%s\"",
				       argv[1]);
	if (!is_root()) {
		pr_err("unloading needs root: run as root");
		return EXIT_FAIL;
	}
	if (!path_exists(opts.pin_dir))
		return EXIT_OK;
	lock = pin_dir_lock();
	if (lock < 0) {
		pr_err("cannot lock pin dir %s: %s", opts.pin_dir, strerror(-lock));
		return EXIT_FAIL;
	}
	err = unload_all();
	pin_dir_unlock(lock);
	return err ? EXIT_FAIL : EXIT_OK;
}

/*
 * Boot: load, then attach every interface the state file records. Whatever
 * is readable is restored and attached; what was skipped or failed is
 * reported, and makes the exit status 1 once everything else is done.
 */
int cmd_restore(int argc, char **argv)
{
	char cgroup_buf[PATH_MAX];
	int problems;

	if (argc != 1)
		return cmd_usage_error(LOADER, loader_cmds, "restore", "unexpected argument \"%s\"",
				       argv[1]);
	if (!is_root()) {
		pr_err("restoring needs root: run as root");
		return EXIT_FAIL;
	}
	if (do_load(0, host_cgroup(NULL, cgroup_buf, sizeof(cgroup_buf)), true, &problems))
		return EXIT_FAIL;
	return problems ? EXIT_FAIL : EXIT_OK;
}
