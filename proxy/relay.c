// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * User-space proxying on the listen socket, as docker-proxy does, for what
 * the datapath does not translate: all of it when bpfport cannot publish the
 * binding, otherwise what still reaches the socket (connections from the
 * host itself when bpfport's socket programs do not see them). One thread,
 * one epoll loop, level-triggered.
 *
 * Streams (TCP, SCTP): each accepted connection gets a connection of its own
 * to the container; bytes move both ways through a pipe with splice(2) (no
 * copy through user space), or a buffer where splice is not supported. A
 * FIN is passed on as shutdown(SHUT_WR) once everything before it went out;
 * an error on either side closes both.
 *
 * UDP: each client address gets a socket connected to the container; the
 * container's datagrams go back to the client from the address the client
 * wrote to (IP_PKTINFO / IPV6_PKTINFO), so a wildcard socket answers from
 * the right address. A client's socket goes after udp_timeout_ms idle.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "proxy.h"

#define EVENTS_MAX 64
/* Work per wakeup on one socket, so no client starves the others. */
#define BATCH 64
#define STREAM_BUF 65536
#define UDP_FLOWS_MAX 4096
#define UDP_BUCKETS 1024

enum tag_kind { TAG_SIGNAL, TAG_LISTEN, TAG_STREAM, TAG_FLOW };

/* What an epoll event points at. */
struct tag {
	enum tag_kind kind;
	int side; /* TAG_STREAM: 0 the client's socket, 1 the container's */
	void *obj;
};

/* One direction of a stream: from fd[dir] to fd[1 - dir]. */
struct half {
	int pipe[2]; /* splice mode */
	char *buf; /* copy mode (SCTP, or splice refused) */
	size_t off, queued, cap;
	bool eof; /* the source said FIN */
	bool shut; /* and it was passed on */
};

struct stream {
	struct tag tags[2];
	int fd[2];
	__u32 mask[2]; /* events registered per fd */
	bool connecting;
	bool dead; /* closed; freed after the current batch of events */
	struct half dir[2];
	struct stream *prev, *next;
};

struct flow {
	struct tag tag;
	int fd; /* connected to the container */
	struct sockaddr_storage client;
	socklen_t client_len;
	struct sockaddr_storage local; /* where the client wrote to */
	int ifindex;
	bool has_local;
	__u64 last_ms;
	struct flow *hnext; /* bucket chain */
	struct flow *prev, *next; /* all flows */
};

struct relay {
	const struct relay_cfg *cfg;
	int epfd;
	struct tag listen_tag, signal_tag;
	bool listen_paused; /* out of file descriptors: wait for a close */
	struct stream *streams;
	struct stream *dead; /* closed in this batch, freed after it */
	struct flow *flows, *buckets[UDP_BUCKETS];
	size_t n_flows;
	bool warned_flows;
	char dgram[65536];
};

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

static int ep_set(struct relay *r, int fd, struct tag *tag, __u32 *cur, __u32 want)
{
	struct epoll_event ev = { .events = want, .data.ptr = tag };
	int op = *cur ? (want ? EPOLL_CTL_MOD : EPOLL_CTL_DEL) : EPOLL_CTL_ADD;

	if (*cur == want)
		return 0;
	if (!*cur && !want)
		return 0;
	if (epoll_ctl(r->epfd, op, fd, &ev))
		return -errno;
	*cur = want;
	return 0;
}

/* --- streams ------------------------------------------------------------- */

static void half_free(struct half *h)
{
	if (h->pipe[0] >= 0)
		close(h->pipe[0]);
	if (h->pipe[1] >= 0)
		close(h->pipe[1]);
	free(h->buf);
}

/* Closes both sockets now; the memory goes after this batch of events, which may name it. */
static void stream_close(struct relay *r, struct stream *s)
{
	if (s->dead)
		return;
	for (int i = 0; i < 2; i++) {
		if (s->fd[i] >= 0)
			close(s->fd[i]); /* also leaves the epoll set */
		s->fd[i] = -1;
		half_free(&s->dir[i]);
	}
	if (s->prev)
		s->prev->next = s->next;
	else
		r->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->dead = true;
	s->next = r->dead;
	r->dead = s;
	if (r->listen_paused) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &r->listen_tag };

		if (!epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->cfg->listen_fd, &ev))
			r->listen_paused = false;
	}
}

static void streams_reap(struct relay *r)
{
	while (r->dead) {
		struct stream *s = r->dead;

		r->dead = s->next;
		free(s);
	}
}

static int half_init(struct half *h, bool use_pipe)
{
	h->pipe[0] = h->pipe[1] = -1;
	if (use_pipe && !pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC)) {
		int sz = fcntl(h->pipe[1], F_GETPIPE_SZ);

		h->cap = sz > 0 ? (size_t)sz : 65536;
		return 0;
	}
	h->pipe[0] = h->pipe[1] = -1;
	h->buf = malloc(STREAM_BUF);
	h->cap = STREAM_BUF;
	return h->buf ? 0 : -ENOMEM;
}

/* splice refused (EINVAL: the socket type has no splice): buffer instead. */
static int half_to_copy(struct half *h)
{
	if (h->queued)
		return -EINVAL; /* bytes sit in the pipe: cannot happen, splice in moved them */
	close(h->pipe[0]);
	close(h->pipe[1]);
	h->pipe[0] = h->pipe[1] = -1;
	h->buf = malloc(STREAM_BUF);
	h->cap = STREAM_BUF;
	h->off = 0;
	return h->buf ? 0 : -ENOMEM;
}

/* Moves what it can from src to dst; -errno ends the stream. */
static int half_pump(struct half *h, int src, int dst, bool dst_ready)
{
	for (int round = 0; round < BATCH; round++) {
		bool progress = false;
		ssize_t n;

		if (!h->eof && h->queued < h->cap) {
			if (h->pipe[0] >= 0)
				n = splice(src, NULL, h->pipe[1], NULL, h->cap - h->queued,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			else
				n = h->off + h->queued < h->cap ?
					    read(src, h->buf + h->off + h->queued,
						 h->cap - h->off - h->queued) :
					    (errno = EAGAIN, -1);
			if (n > 0) {
				h->queued += (size_t)n;
				progress = true;
			} else if (n == 0) {
				h->eof = true;
				progress = true;
			} else if (errno == EINVAL && h->pipe[0] >= 0) {
				if (half_to_copy(h))
					return -EINVAL;
				progress = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -errno;
			}
		}
		if (h->queued && dst_ready) {
			if (h->pipe[0] >= 0)
				n = splice(h->pipe[0], NULL, dst, NULL, h->queued,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			else
				n = send(dst, h->buf + h->off, h->queued, MSG_NOSIGNAL);
			if (n > 0) {
				h->queued -= (size_t)n;
				h->off = h->queued ? h->off + (size_t)n : 0;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -errno;
			}
		}
		if (h->eof && !h->queued && !h->shut && dst_ready) {
			shutdown(dst, SHUT_WR);
			h->shut = true;
		}
		if (!progress)
			break;
	}
	return 0;
}

/* Register what each socket now waits for; close the stream when both ways are done. */
static void stream_update(struct relay *r, struct stream *s)
{
	for (int i = 0; i < 2; i++) {
		const struct half *out = &s->dir[i]; /* i is its source */
		const struct half *in = &s->dir[1 - i]; /* i is its destination */
		__u32 want = 0;

		if (!out->eof && out->queued < out->cap)
			want |= EPOLLIN;
		if (in->queued || (in->eof && !in->shut) || (i == 1 && s->connecting))
			want |= EPOLLOUT;
		if (ep_set(r, s->fd[i], &s->tags[i], &s->mask[i], want)) {
			stream_close(r, s);
			return;
		}
	}
	if (s->dir[0].shut && s->dir[1].shut)
		stream_close(r, s);
}

static void stream_event(struct relay *r, struct stream *s, int side, __u32 events)
{
	int err = 0;

	if (side == 1 && s->connecting) {
		socklen_t len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(s->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) || err) {
			plog("cannot reach the container: %s", strerror(err ? err : errno));
			stream_close(r, s);
			return;
		}
		s->connecting = false;
	}
	err = half_pump(&s->dir[0], s->fd[0], s->fd[1], !s->connecting);
	if (!err)
		err = half_pump(&s->dir[1], s->fd[1], s->fd[0], true);
	if (err) {
		stream_close(r, s);
		return;
	}
	stream_update(r, s);
}

static void stream_accept(struct relay *r)
{
	const struct relay_cfg *cfg = r->cfg;

	for (int i = 0; i < BATCH; i++) {
		int cfd = accept4(cfg->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct stream *s;
		int ufd;

		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Wait for a close instead of spinning on a full table. */
				struct epoll_event ev = { .events = 0, .data.ptr = &r->listen_tag };

				if (!r->listen_paused)
					plog("accept: %s: pausing until a connection closes",
					     strerror(errno));
				if (r->streams &&
				    !epoll_ctl(r->epfd, EPOLL_CTL_MOD, cfg->listen_fd, &ev))
					r->listen_paused = true;
			}
			return;
		}
		s = calloc(1, sizeof(*s));
		ufd = socket(cfg->upstream.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			     cfg->proto);
		if (!s || ufd < 0) {
			plog("cannot open a connection to the container: %s", strerror(errno));
			free(s);
			close(cfd);
			if (ufd >= 0)
				close(ufd);
			continue;
		}
		s->fd[0] = cfd;
		s->fd[1] = ufd;
		for (int k = 0; k < 2; k++) {
			s->tags[k] = (struct tag){ .kind = TAG_STREAM, .side = k, .obj = s };
			s->dir[k].pipe[0] = s->dir[k].pipe[1] = -1;
		}
		s->next = r->streams;
		if (r->streams)
			r->streams->prev = s;
		r->streams = s;
		if (half_init(&s->dir[0], cfg->proto == IPPROTO_TCP) ||
		    half_init(&s->dir[1], cfg->proto == IPPROTO_TCP)) {
			stream_close(r, s);
			continue;
		}
		if (connect(ufd, (struct sockaddr *)&cfg->upstream, cfg->upstream_len) &&
		    errno != EINPROGRESS) {
			plog("cannot reach the container: %s", strerror(errno));
			stream_close(r, s);
			continue;
		}
		s->connecting = true;
		stream_update(r, s);
	}
}

/* --- UDP ----------------------------------------------------------------- */

static unsigned int flow_hash(const struct sockaddr_storage *ss)
{
	const unsigned char *p = (const unsigned char *)ss;
	size_t len = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
						sizeof(struct sockaddr_in6);
	__u32 h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % UDP_BUCKETS;
}

static bool same_client(const struct flow *f, const struct sockaddr_storage *ss, socklen_t len)
{
	return f->client_len == len && !memcmp(&f->client, ss, len);
}

static void flow_close(struct relay *r, struct flow *f)
{
	struct flow **pp = &r->buckets[flow_hash(&f->client)];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	if (f->prev)
		f->prev->next = f->next;
	else
		r->flows = f->next;
	if (f->next)
		f->next->prev = f->prev;
	close(f->fd);
	free(f);
	r->n_flows--;
}

static struct flow *flow_new(struct relay *r, const struct sockaddr_storage *ss, socklen_t len)
{
	const struct relay_cfg *cfg = r->cfg;
	struct epoll_event ev = { .events = EPOLLIN };
	struct flow *f;
	unsigned int b;

	if (r->n_flows >= UDP_FLOWS_MAX) {
		if (!r->warned_flows)
			plog("%d clients at once: datagrams from new ones are dropped",
			     UDP_FLOWS_MAX);
		r->warned_flows = true;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->fd = socket(cfg->upstream.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0 ||
	    connect(f->fd, (const struct sockaddr *)&cfg->upstream, cfg->upstream_len)) {
		plog("cannot open a socket to the container: %s", strerror(errno));
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		return NULL;
	}
	f->tag = (struct tag){ .kind = TAG_FLOW, .obj = f };
	ev.data.ptr = &f->tag;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, f->fd, &ev)) {
		close(f->fd);
		free(f);
		return NULL;
	}
	memcpy(&f->client, ss, len);
	f->client_len = len;
	b = flow_hash(&f->client);
	f->hnext = r->buckets[b];
	r->buckets[b] = f;
	f->next = r->flows;
	if (r->flows)
		r->flows->prev = f;
	r->flows = f;
	r->n_flows++;
	return f;
}

/* The address the client wrote to, from IP_PKTINFO / IPV6_PKTINFO. */
static void flow_note_local(struct flow *f, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			struct sockaddr_in *sin = (struct sockaddr_in *)&f->local;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memset(&f->local, 0, sizeof(f->local));
			sin->sin_family = AF_INET;
			sin->sin_addr = pi.ipi_addr;
			f->ifindex = pi.ipi_ifindex;
			f->has_local = true;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&f->local;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memset(&f->local, 0, sizeof(f->local));
			sin6->sin6_family = AF_INET6;
			sin6->sin6_addr = pi.ipi6_addr;
			f->ifindex = (int)pi.ipi6_ifindex;
			f->has_local = true;
		}
	}
}

static void udp_from_clients(struct relay *r)
{
	__u64 now = now_ms();

	for (int i = 0; i < BATCH; i++) {
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
				 CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} ctl;
		struct sockaddr_storage ss;
		struct iovec iov = { r->dgram, sizeof(r->dgram) };
		struct msghdr mh = { .msg_name = &ss,
				     .msg_namelen = sizeof(ss),
				     .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		struct flow *f;
		ssize_t n;

		n = recvmsg(r->cfg->listen_fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		for (f = r->buckets[flow_hash(&ss)]; f; f = f->hnext)
			if (same_client(f, &ss, mh.msg_namelen))
				break;
		if (!f)
			f = flow_new(r, &ss, mh.msg_namelen);
		if (!f)
			continue;
		flow_note_local(f, &mh);
		f->last_ms = now;
		/* ECONNREFUSED reports an earlier datagram refused: keep going, as docker-proxy. */
		send(f->fd, r->dgram, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
}

static void udp_to_client(struct relay *r, struct flow *f)
{
	for (int i = 0; i < BATCH; i++) {
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { r->dgram, 0 };
		struct msghdr mh = { .msg_name = &f->client,
				     .msg_namelen = f->client_len,
				     .msg_iov = &iov,
				     .msg_iovlen = 1 };
		ssize_t n = recv(f->fd, r->dgram, sizeof(r->dgram), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			continue; /* ECONNREFUSED: the container's port is closed for now */
		}
		iov.iov_len = (size_t)n;
		memset(&ctl, 0, sizeof(ctl));
		if (f->has_local) {
			struct cmsghdr *c;

			mh.msg_control = ctl.buf;
			if (f->local.ss_family == AF_INET) {
				struct in_pktinfo pi = {
					.ipi_spec_dst = ((struct sockaddr_in *)&f->local)->sin_addr
				};

				mh.msg_controllen = CMSG_SPACE(sizeof(pi));
				c = CMSG_FIRSTHDR(&mh);
				c->cmsg_level = IPPROTO_IP;
				c->cmsg_type = IP_PKTINFO;
				c->cmsg_len = CMSG_LEN(sizeof(pi));
				memcpy(CMSG_DATA(c), &pi, sizeof(pi));
			} else {
				struct in6_pktinfo pi = {
					.ipi6_addr = ((struct sockaddr_in6 *)&f->local)->sin6_addr
				};

				/* The interface matters only for link-local addresses. */
				if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
					pi.ipi6_ifindex = (unsigned int)f->ifindex;
				mh.msg_controllen = CMSG_SPACE(sizeof(pi));
				c = CMSG_FIRSTHDR(&mh);
				c->cmsg_level = IPPROTO_IPV6;
				c->cmsg_type = IPV6_PKTINFO;
				c->cmsg_len = CMSG_LEN(sizeof(pi));
				memcpy(CMSG_DATA(c), &pi, sizeof(pi));
			}
		}
		if (sendmsg(r->cfg->listen_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    f->has_local && errno == EINVAL) {
			/* The address went away: let the kernel pick one. */
			f->has_local = false;
			mh.msg_control = NULL;
			mh.msg_controllen = 0;
			sendmsg(r->cfg->listen_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		}
		f->last_ms = now_ms();
	}
}

static void udp_expire(struct relay *r)
{
	__u64 now = now_ms();

	for (struct flow *f = r->flows, *next; f; f = next) {
		next = f->next;
		if (now - f->last_ms >= r->cfg->udp_timeout_ms)
			flow_close(r, f);
	}
}

/* --- the loop -------------------------------------------------------------- */

static void relay_free(struct relay *r)
{
	while (r->streams)
		stream_close(r, r->streams);
	streams_reap(r);
	while (r->flows)
		flow_close(r, r->flows);
	close(r->epfd);
}

int relay_run(const struct relay_cfg *cfg, int sig_fd)
{
	struct relay *r = calloc(1, sizeof(*r));
	struct epoll_event ev, events[EVENTS_MAX];
	int ret = -1;

	if (!r)
		return -1;
	r->cfg = cfg;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		free(r);
		return -1;
	}
	r->signal_tag.kind = TAG_SIGNAL;
	r->listen_tag.kind = TAG_LISTEN;
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &r->signal_tag };
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, sig_fd, &ev))
		goto out;
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &r->listen_tag };
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, cfg->listen_fd, &ev))
		goto out;

	for (;;) {
		/* Idle UDP clients are looked at once a second while there are any. */
		int n = epoll_wait(r->epfd, events, EVENTS_MAX, r->flows ? 1000 : -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			plog("epoll_wait: %s", strerror(errno));
			goto out;
		}
		for (int i = 0; i < n; i++) {
			struct tag *t = events[i].data.ptr;

			switch (t->kind) {
			case TAG_SIGNAL: {
				struct signalfd_siginfo si;

				if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
					ret = (int)si.ssi_signo;
					goto out;
				}
				break;
			}
			case TAG_LISTEN:
				if (cfg->proto == IPPROTO_UDP)
					udp_from_clients(r);
				else
					stream_accept(r);
				break;
			case TAG_STREAM:
				if (!((struct stream *)t->obj)->dead)
					stream_event(r, t->obj, t->side, events[i].events);
				break;
			case TAG_FLOW:
				udp_to_client(r, t->obj);
				break;
			}
		}
		streams_reap(r);
		if (r->flows)
			udp_expire(r);
	}
out:
	relay_free(r);
	free(r);
	return ret;
}
