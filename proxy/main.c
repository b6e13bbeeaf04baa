// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfport-proxy: what dockerd runs for each published port and address
 * family when its userland-proxy-path names this program.
 *
 *   bpfport-proxy -proto tcp|udp|sctp -host-ip IP -host-port N
 *                 -container-ip IP -container-port N [-use-listen-fd]
 *
 * The protocol with the daemon (moby's cmd/docker-proxy): fd 3 is a pipe on
 * which the proxy writes "0\n" once it serves the port, or "1\n" and a
 * one-line error, then closes it; with -use-listen-fd, fd 4 is the socket
 * the daemon bound for the host endpoint (TCP listening). SIGINT stops the
 * proxy when the port is unpublished, SIGTERM when the daemon dies
 * (Pdeathsig); either way the binding goes and the exit status is 0.
 *
 * Start: hold the host endpoint (fd 4, or a socket bound here, as older
 * daemons expect), publish the binding in bpfport (owner.c) unless bpfport
 * cannot translate it, then report ready. From then on the socket is served
 * by the user-space relay (relay.c): everything when the binding could not be
 * published, otherwise only what the datapath leaves to the host's stack.
 * A failure before "0\n" leaves nothing behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <netinet/in.h>

#include "args.h"
#include "log.h"
#include "proxy.h"

#define STATUS_FD 3
#define LISTEN_FD 4

static char log_prefix[256] = PROXY;

void proxy_set_log_prefix(const struct proxy_binding *b)
{
	char host[64], ctr[64];

	proxy_endpoint_str(&b->host, host, sizeof(host));
	proxy_endpoint_str(&b->container, ctr, sizeof(ctr));
	snprintf(log_prefix, sizeof(log_prefix), PROXY "[%d] %s %s -> %s", (int)getpid(),
		 proxy_proto_name(b->proto), host, ctr);
}

/* One write per line, so lines of proxies sharing a log file never mix. */
void plog(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "%s: ", log_prefix);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to say it. */
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: " PROXY " -proto tcp|udp|sctp -host-ip IP -host-port PORT\n"
		   "                     -container-ip IP -container-port PORT [-use-listen-fd]\n"
		   "       " PROXY " -cleanup [-dry-run]\n"
		   "       " PROXY " -version\n"
		   "\n"
		   "Docker's userland proxy, publishing through bpfport: dockerd runs it once per\n"
		   "published port and address family (daemon.json \"userland-proxy-path\").\n"
		   "fd 3: status pipe (\"0\\n\" when ready, \"1\\n\" and an error otherwise);\n"
		   "-use-listen-fd: fd 4 is the socket the daemon bound. SIGINT or SIGTERM\n"
		   "removes the binding and exits 0.\n"
		   "-cleanup removes the bindings of proxies that are gone (killed, or before a\n"
		   "reboot); -dry-run only lists them.\n"
		   "-log FILE appends the log there (default: stderr, or $BPFPORT_PROXY_LOG);\n"
		   "-udp-timeout SECONDS idle UDP clients are forgotten after (default 90).\n"
		   "Environment: BPFPORT_BIN (the bpfport binary; default: beside this program,\n"
		   "then $PATH), BPFPORT_STATE, BPFPORT_PIN_DIR as for bpfport.\n");
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int status_fd = -1;

/* "1\n<message>" on the status pipe, as docker-proxy does; the log gets it too. */
static int fail(const char *fmt, ...)
{
	char msg[PROXY_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	plog("%s", msg);
	if (status_fd >= 0) {
		dprintf(status_fd, "1\n%s", msg);
		close(status_fd);
		status_fd = -1;
	}
	return 1;
}

static const char *sock_family_str(const struct proxy_binding *b)
{
	return b->host.family == BPFPORT_AF_INET ? "4" : "6";
}

static int sock_type(int proto)
{
	return proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
}

/* UDP: learn the address each datagram was sent to, to answer from it. */
static void want_pktinfo(int fd, const struct proxy_binding *b)
{
	int one = 1;

	if (b->proto != IPPROTO_UDP)
		return;
	if (b->host.family == BPFPORT_AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
}

/*
 * Binds the host endpoint as Go's net.Listen does (SO_REUSEADDR for streams,
 * V6ONLY); on failure *stage names the call that failed.
 */
static int bind_host(const struct proxy_binding *b, int *err, const char **stage)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	*stage = "socket";
	fd = socket(b->host.family == BPFPORT_AF_INET ? AF_INET : AF_INET6,
		    sock_type(b->proto) | SOCK_CLOEXEC | SOCK_NONBLOCK, b->proto);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (b->proto != IPPROTO_UDP)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (b->host.family == BPFPORT_AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	proxy_sockaddr(&b->host, &ss, &len);
	*stage = "bind";
	if (bind(fd, (struct sockaddr *)&ss, len))
		goto fail;
	*stage = "listen";
	if (b->proto != IPPROTO_UDP && listen(fd, SOMAXCONN))
		goto fail;
	return fd;
fail:
	*err = errno;
	close(fd);
	return -1;
}

static int open_listener(const struct proxy_binding *b)
{
	const char *stage;
	char host[64];
	int fd, err = 0;

	fd = bind_host(b, &err, &stage);
	/*
	 * A binding left by a killed proxy makes bind() fail here when bpfport's
	 * post_bind program sees this process: remove it if its proxy is gone.
	 */
	if (fd < 0 && err == EADDRINUSE && proxy_remove_stale(b) > 0)
		fd = bind_host(b, &err, &stage);
	if (fd < 0) {
		proxy_endpoint_str(&b->host, host, sizeof(host));
		fail("listen %s%s %s: %s: %s", proxy_proto_name(b->proto), sock_family_str(b), host,
		     stage, strerror(err));
	}
	return fd;
}

/* The daemon's socket on fd 4: check it is what the flags say, make it ready. */
static int adopt_listener(const struct proxy_binding *b)
{
	int domain = 0, type = 0, proto = 0, acc = 0;
	socklen_t len = sizeof(int);
	int want_domain = b->host.family == BPFPORT_AF_INET ? AF_INET : AF_INET6;

	if (!fd_open(LISTEN_FD))
		return fail("-use-listen-fd: no socket on fd 4"), -1;
	if (getsockopt(LISTEN_FD, SOL_SOCKET, SO_DOMAIN, &domain, &len) ||
	    getsockopt(LISTEN_FD, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    getsockopt(LISTEN_FD, SOL_SOCKET, SO_PROTOCOL, &proto, &len) || domain != want_domain ||
	    type != sock_type(b->proto) || proto != b->proto)
		return fail("unexpected socket type for listener fd 4 (want %s%s)",
			    proxy_proto_name(b->proto), sock_family_str(b)),
		       -1;
	if (b->proto != IPPROTO_UDP &&
	    (getsockopt(LISTEN_FD, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) || !acc) &&
	    listen(LISTEN_FD, SOMAXCONN))
		return fail("listen on fd 4: %s", strerror(errno)), -1;
	fcntl(LISTEN_FD, F_SETFL, fcntl(LISTEN_FD, F_GETFL) | O_NONBLOCK);
	return LISTEN_FD;
}

/* Each relayed connection costs up to six descriptors: take what the limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return -errno;
	if (fd != STDERR_FILENO) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char err[PROXY_MSG_MAX], why[PROXY_MSG_MAX], id[PROXY_ID_MAX];
	struct relay_cfg rc = {};
	struct proxy_args a;
	bool published = false;
	const char *log_path;
	sigset_t sigs;
	int sig_fd, sig;

	/* Before anything opens a descriptor: which of fds 3 and 4 the caller passed. */
	if (fd_open(STATUS_FD)) {
		status_fd = STATUS_FD;
		fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC);
	}
	if (fd_open(LISTEN_FD))
		fcntl(LISTEN_FD, F_SETFD, FD_CLOEXEC);
	log_init(LOG_WARN, false);

	proxy_args_init(&a);
	if (proxy_args_parse(argc, argv, &a, err, sizeof(err))) {
		fail("%s", err);
		usage(stderr);
		return 2;
	}
	log_path = a.log ? a.log : getenv("BPFPORT_PROXY_LOG");
	if (log_path && *log_path && open_log(log_path))
		plog("cannot open log %s: %s", log_path, strerror(errno));
	if (a.help) {
		usage(stdout);
		return 0;
	}
	if (a.version) {
		printf(PROXY " version " BPFPORT_VERSION " (docker-proxy protocol)\n");
		return 0;
	}
	if (a.cleanup)
		return proxy_cleanup(a.dry_run);
	if (proxy_args_check(&a, err, sizeof(err))) {
		fail("%s", err);
		return 2;
	}
	proxy_set_log_prefix(&a.b);
	raise_nofile();

	/* Signals wait in a signalfd: one that comes early is handled once ready. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0)
		return fail("signalfd: %s", strerror(errno));

	rc.proto = a.b.proto;
	rc.udp_timeout_ms = a.udp_timeout_ms;
	proxy_sockaddr(&a.b.container, &rc.upstream, &rc.upstream_len);
	rc.listen_fd = a.use_listen_fd ? adopt_listener(&a.b) : open_listener(&a.b);
	if (rc.listen_fd < 0)
		return 1;
	want_pktinfo(rc.listen_fd, &a.b);

	proxy_id(&a.b, id, sizeof(id));
	if (proxy_untranslatable(&a.b, why, sizeof(why))) {
		plog("%s: proxying in user space", why);
	} else {
		switch (proxy_publish(&a.b, err, sizeof(err))) {
		case PUBLISH_DONE:
			published = true;
			plog("published through bpfport as %s", id);
			break;
		case PUBLISH_REFUSED:
			close(rc.listen_fd);
			return fail("%s", err);
		case PUBLISH_UNAVAILABLE:
			plog("bpfport cannot publish it (%s): proxying in user space", err);
			break;
		}
	}

	if (status_fd >= 0) {
		/* The daemon gave up waiting (16 s) if this fails: undo, as it expects. */
		if (write(status_fd, "0\n", 2) != 2) {
			plog("status pipe: %s: the daemon is gone", strerror(errno));
			if (published && proxy_unpublish(&a.b, err, sizeof(err)))
				plog("cannot remove %s: %s", id, err);
			return 1;
		}
		close(status_fd);
		status_fd = -1;
	}

	sig = relay_run(&rc, sig_fd);
	if (published) {
		if (proxy_unpublish(&a.b, err, sizeof(err))) {
			plog("cannot remove %s: %s ('" PROXY " -cleanup' will)", id, err);
			return 1;
		}
		plog("%s removed (%s)", id, sig > 0 ? strsignal(sig) : "relay failed");
	} else {
		plog("stopped (%s)", sig > 0 ? strsignal(sig) : "relay failed");
	}
	close(rc.listen_fd);
	return sig > 0 ? 0 : 1;
}
