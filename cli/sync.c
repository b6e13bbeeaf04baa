// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sync: bring the maps back in line with the state file, the source of truth,
 * under the state lock (txn.h). What a command killed half way, or an older
 * bpfport, can leave behind:
 *
 *   bp_bindings    an entry the state does not know (an add killed between the
 *                  map update and the state write): removed, its flows ended;
 *                  an entry that differs from the state's binding on that host
 *                  endpoint: replaced; a state binding the map lacks: installed
 *   bp_slot_gen    a binding whose generation differs from its slot's
 *   bp_ports, bp_published, bp_backends, bp_containers
 *                  counts (and bits) recomputed from the state's bindings
 *   bp_allow       prefixes on a slot no binding uses or not in its binding's
 *                  list: removed; prefixes of a binding's list missing: added
 *
 * Everything is planned from one reading of the maps, then applied; each step
 * writes absolute values, so a sync killed half way is finished by the next.
 * Order of the changes: missing allow-list prefixes first (a binding is never
 * live with a partial list), then bindings (an entry is deleted before its
 * flows are ended, so none starts after the sweep), generations, counts and
 * bits, and last the extra prefixes (once no removed binding can use them).
 *
 * One line per inconsistency found. Counts that only follow from a binding
 * fixed here (the port of a removed orphan, say) are corrected without a line
 * of their own: a line means the map disagreed with its own bindings too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "addr.h"
#include "cli.h"
#include "dp.h"
#include "json.h"
#include "log.h"
#include "state.h"
#include "txn.h"

#define SYNC_MSG_MAX 384

struct fix {
	const char *kind;
	char msg[SYNC_MSG_MAX];
};

/* A map key (zero-padded to KEY_MAX, so that whole records compare) and a count. */
#define KEY_MAX 32

struct kc {
	__u8 key[KEY_MAX];
	__u32 count;
};

struct kc_list {
	struct kc *v;
	size_t n, cap;
};

/* One entry of bp_bindings. */
struct map_binding {
	struct bpfport_bind_key key;
	struct bpfport_bind_val val;
};

/* A state binding by its map key. */
struct state_binding {
	struct bpfport_bind_key key;
	struct binding *b;
	bool install; /* missing from the map, or held there differently */
};

/* A change to a count map, planned. */
struct count_fix {
	int fd;
	__u8 key[KEY_MAX];
	__u32 want; /* 0: delete */
};

struct sync {
	struct txn *t;
	bool dry_run;
	struct fix *fixes;
	size_t n_fixes, cap_fixes;
	/* The plan. */
	struct map_binding *m;
	size_t n_m;
	struct state_binding *s;
	size_t n_s;
	const struct binding **slot_user; /* [BPFPORT_MAX_BINDINGS]: the state binding on a slot */
	struct map_binding *remove; /* orphans and entries to replace */
	size_t n_remove, cap_remove;
	struct count_fix *counts;
	size_t n_counts, cap_counts;
	__u64 *published; /* wanted words */
	bool *published_diff;
	struct bpfport_allow_key *allow_add, *allow_del;
	size_t n_allow_add, n_allow_del;
};

static const char *verb(const struct sync *s, const char *done, const char *would)
{
	return s->dry_run ? would : done;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *nv;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static int fix_add(struct sync *s, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fix_add(struct sync *s, const char *kind, const char *fmt, ...)
{
	struct fix *f;
	va_list ap;

	if (grow((void **)&s->fixes, &s->cap_fixes, s->n_fixes, sizeof(*s->fixes)))
		return -ENOMEM;
	f = &s->fixes[s->n_fixes++];
	f->kind = kind;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return 0;
}

static int kc_push(struct kc_list *l, const void *key, size_t key_size, __u32 count)
{
	if (grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v)))
		return -ENOMEM;
	memset(l->v[l->n].key, 0, KEY_MAX);
	memcpy(l->v[l->n].key, key, key_size);
	l->v[l->n++].count = count;
	return 0;
}

static int kc_cmp(const void *a, const void *b)
{
	return memcmp(((const struct kc *)a)->key, ((const struct kc *)b)->key, KEY_MAX);
}

/* Sort, and fold equal keys into one with the sum of their counts. */
static void kc_fold(struct kc_list *l)
{
	size_t out = 0;

	qsort(l->v, l->n, sizeof(*l->v), kc_cmp);
	for (size_t i = 0; i < l->n; i++) {
		if (out && !kc_cmp(&l->v[out - 1], &l->v[i]))
			l->v[out - 1].count += l->v[i].count;
		else
			l->v[out++] = l->v[i];
	}
	l->n = out;
}

static __u32 kc_find(const struct kc_list *l, const void *key, size_t key_size)
{
	const struct kc *hit;
	struct kc k;

	memset(&k, 0, sizeof(k));
	memcpy(k.key, key, key_size);
	hit = l->n ? bsearch(&k, l->v, l->n, sizeof(*l->v), kc_cmp) : NULL;
	return hit ? hit->count : 0;
}

/* Every entry of a hash or trie map whose values are __u32 counts (or __u8 flags). */
static int kc_read_map(int fd, size_t key_size, size_t val_size, struct kc_list *l)
{
	__u8 key[KEY_MAX] = {}, next[KEY_MAX] = {};
	void *prev = NULL;
	int err;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		__u32 count = 0;

		/* An entry deleted meanwhile is simply not there. */
		if (!bpf_map_lookup_elem(fd, next, &count)) {
			if (val_size == 1)
				count &= 0xff;
			err = kc_push(l, next, key_size, count);
			if (err)
				return err;
		}
		memcpy(key, next, key_size);
		prev = key;
	}
	return errno == ENOENT ? 0 : -errno;
}

static void kc_free(struct kc_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* "0.0.0.0:80/tcp -> 198.51.100.8:8080" */
static void binding_desc(const struct binding *b, char *buf, size_t len)
{
	char host[ENDPOINT_STR_MAX], container[ENDPOINT_STR_MAX];

	binding_host_str(b, host, sizeof(host));
	binding_container_str(b, container, sizeof(container));
	snprintf(buf, len, "%s/%s -> %s", host, proto_name(b->proto), container);
}

static void binding_from_map(const struct map_binding *m, struct binding *b)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->id, sizeof(b->id), "-");
	b->family = m->key.family;
	b->proto = m->key.proto;
	b->host_addr = m->key.host_addr;
	b->host_port = ntohs(m->key.host_port);
	b->container_addr = m->val.container_addr;
	b->container_port = ntohs(m->val.container_port);
	b->slot = m->val.slot;
}

static bool val_matches(const struct bpfport_bind_val *have, const struct binding *b)
{
	struct bpfport_bind_val want;

	binding_to_val(b, &want);
	return addr_equal(&have->container_addr, &want.container_addr) &&
	       have->container_port == want.container_port && have->slot == want.slot &&
	       have->flags == want.flags;
}

static int bind_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct bpfport_bind_key));
}

static int read_bindings(struct sync *s)
{
	struct bpfport_bind_key key, next, *prev = NULL;
	size_t cap = 0;
	int fd = s->t->dp.bindings_fd;

	memset(&next, 0, sizeof(next));
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct map_binding *m;

		if (grow((void **)&s->m, &cap, s->n_m, sizeof(*s->m)))
			return -ENOMEM;
		m = &s->m[s->n_m];
		m->key = next;
		if (!bpf_map_lookup_elem(fd, &next, &m->val))
			s->n_m++;
		key = next;
		prev = &key;
	}
	if (errno != ENOENT)
		return -errno;
	qsort(s->m, s->n_m, sizeof(*s->m), bind_key_cmp);
	return 0;
}

/* The state's bindings by key and by slot; two on one key or one slot are
 * refused (reported here), since no map can hold both. */
static int index_state(struct sync *s)
{
	const struct state *st = &s->t->st;
	char desc[160];

	s->s = calloc(st->n_bindings ? st->n_bindings : 1, sizeof(*s->s));
	s->slot_user = calloc(BPFPORT_MAX_BINDINGS, sizeof(*s->slot_user));
	if (!s->s || !s->slot_user) {
		pr_err("sync: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < st->n_bindings; i++) {
		const struct binding *b = &st->bindings[i];

		binding_to_key(b, &s->s[i].key);
		s->s[i].b = &st->bindings[i];
		if (b->slot < BPFPORT_MAX_BINDINGS && !s->slot_user[b->slot]) {
			s->slot_user[b->slot] = b;
			continue;
		}
		binding_desc(b, desc, sizeof(desc));
		pr_err("state file %s: binding %s has slot %u, %s: fix the state file",
		       opts.state_path, desc, b->slot,
		       b->slot < BPFPORT_MAX_BINDINGS ? "as another binding does" : "out of range");
		return -EINVAL;
	}
	s->n_s = st->n_bindings;
	qsort(s->s, s->n_s, sizeof(*s->s), bind_key_cmp);
	for (size_t i = 1; i < s->n_s; i++) {
		if (bind_key_cmp(&s->s[i - 1].key, &s->s[i].key))
			continue;
		binding_desc(s->s[i].b, desc, sizeof(desc));
		pr_err("state file %s: two bindings on the host endpoint of %s: fix the state file",
		       opts.state_path, desc);
		return -EINVAL;
	}
	return 0;
}

/* The state binding on slot, unless it is skip; NULL if none. */
static const struct binding *state_slot_user(const struct sync *s, __u32 slot,
					     const struct binding *skip)
{
	const struct binding *b = slot < BPFPORT_MAX_BINDINGS ? s->slot_user[slot] : NULL;

	return b == skip ? NULL : b;
}

/* The map's binding entry on key, or NULL. */
static const struct map_binding *map_find(const struct sync *s, const struct bpfport_bind_key *key)
{
	return s->n_m ? bsearch(key, s->m, s->n_m, sizeof(*s->m), bind_key_cmp) : NULL;
}

static int plan_remove(struct sync *s, const struct map_binding *m, const struct binding *want)
{
	char desc[160], other[160], shared[240] = "";
	const struct map_binding *live;
	const struct binding *user;
	struct bpfport_bind_key key;
	struct binding b;

	if (grow((void **)&s->remove, &s->cap_remove, s->n_remove, sizeof(*s->remove)))
		return -ENOMEM;
	s->remove[s->n_remove++] = *m;
	binding_from_map(m, &b);
	binding_desc(&b, desc, sizeof(desc));
	/* Its flows end with a bump of the slot's generation: a binding kept on
	 * that slot (an add after a killed one reuses the slot) loses its flows too. */
	user = state_slot_user(s, b.slot, want);
	if (user) {
		binding_to_key(user, &key);
		live = map_find(s, &key);
		if (live && val_matches(&live->val, user)) {
			binding_desc(user, other, sizeof(other));
			snprintf(shared, sizeof(shared), "; %s, on the same slot, %s its flows",
				 other, verb(s, "lost", "would lose"));
		}
	}
	if (!want)
		return fix_add(s, "orphan_binding", "%s orphan binding %s (slot %u)%s",
			       verb(s, "removed", "would remove"), desc, b.slot, shared);
	binding_desc(want, other, sizeof(other));
	return fix_add(s, "stale_binding",
		       "%s binding %s (slot %u) with the state's %s (slot %u)%s",
		       verb(s, "replaced", "would replace"), desc, b.slot, other, want->slot,
		       shared);
}

static int plan_install(struct sync *s, struct state_binding *sb, bool report)
{
	char desc[160];

	sb->install = true;
	if (!report)
		return 0;
	binding_desc(sb->b, desc, sizeof(desc));
	return fix_add(s, "missing_binding", "%s missing binding %s (slot %u)",
		       verb(s, "installed", "would install"), desc, sb->b->slot);
}

static int plan_bindings(struct sync *s)
{
	size_t i = 0, j = 0;
	int err = 0;

	/* Both lists are sorted by key: walk them side by side. */
	while (!err && (i < s->n_m || j < s->n_s)) {
		int c;

		if (i == s->n_m)
			c = 1;
		else if (j == s->n_s)
			c = -1;
		else
			c = bind_key_cmp(&s->m[i].key, &s->s[j].key);

		if (c < 0) {
			err = plan_remove(s, &s->m[i++], NULL);
		} else if (c > 0) {
			err = plan_install(s, &s->s[j++], true);
		} else {
			if (!val_matches(&s->m[i].val, s->s[j].b)) {
				err = plan_remove(s, &s->m[i], s->s[j].b);
				if (!err)
					err = plan_install(s, &s->s[j], false);
			}
			i++;
			j++;
		}
	}
	return err;
}

/* Bindings kept as they are whose generation is not their slot's. */
static int plan_generations(struct sync *s)
{
	char desc[160];
	int err = 0;

	for (size_t i = 0; i < s->n_s && !err; i++) {
		const struct map_binding *m = map_find(s, &s->s[i].key);
		__u32 gen;

		if (!m || s->s[i].install)
			continue;
		gen = dp_slot_gen(&s->t->dp, m->val.slot);
		if (m->val.gen == gen)
			continue;
		binding_desc(s->s[i].b, desc, sizeof(desc));
		err = fix_add(s, "generation",
			      "%s the generations of binding %s (%u) and slot %u (%u)",
			      verb(s, "aligned", "would align"), desc, m->val.gen, m->val.slot,
			      gen);
	}
	return err;
}

/* The generations of bindings kept, after removals bumped their slots. */
static int apply_generations(struct sync *s)
{
	const struct dp *dp = &s->t->dp;

	for (size_t i = 0; i < s->n_s; i++) {
		struct bpfport_bind_val val;
		__u32 gen;

		if (bpf_map_lookup_elem(dp->bindings_fd, &s->s[i].key, &val))
			continue;
		gen = dp_slot_gen(dp, val.slot);
		if (val.gen == gen)
			continue;
		/* Behind: its new flows would be stale at once, so it takes the slot's.
		 * Ahead (a flush killed between the two writes): the slot follows, which
		 * ends the flows the flush meant to end. */
		if ((__s32)(val.gen - gen) < 0) {
			val.gen = gen;
			if (bpf_map_update_elem(dp->bindings_fd, &s->s[i].key, &val, BPF_EXIST))
				return -errno;
		} else if (bpf_map_update_elem(dp->slot_gen_fd, &val.slot, &val.gen, BPF_ANY)) {
			return -errno;
		}
	}
	return 0;
}

/* A count map's key as text. */
typedef void (*describe_fn)(const __u8 *key, char *buf, size_t len);

static void describe_port(const __u8 *key, char *buf, size_t len)
{
	const struct bpfport_port_key *k = (const void *)key;

	snprintf(buf, len, "port count of %u/%s (%s)", ntohs(k->port), proto_name(k->proto),
		 family_name(k->family));
}

static void describe_backend(const __u8 *key, char *buf, size_t len)
{
	const struct bpfport_backend_key *k = (const void *)key;
	char ep[ENDPOINT_STR_MAX];

	endpoint_format(k->family, &k->addr, ntohs(k->port), ep, sizeof(ep));
	snprintf(buf, len, "binding count of container endpoint %s/%s", ep, proto_name(k->proto));
}

static void describe_container(const __u8 *key, char *buf, size_t len)
{
	const struct bpfport_container_key *k = (const void *)key;
	char ip[64];

	addr_format(k->family, &k->addr, ip, sizeof(ip));
	snprintf(buf, len, "binding count of container address %s", ip);
}

static const char *count_str(__u32 n, char *buf, size_t len)
{
	if (!n)
		return "none";
	snprintf(buf, len, "%u", n);
	return buf;
}

/*
 * One count map: want holds what the state's bindings need, implied what the
 * map's own bindings imply. A difference from want is fixed; it is reported
 * when the map disagreed with implied too.
 */
static int plan_counts(struct sync *s, int fd, size_t key_size, struct kc_list *want,
		       struct kc_list *implied, const char *kind, describe_fn describe)
{
	struct kc_list have = {};
	char what[160], a[16], b[16];
	int err;

	kc_fold(want);
	kc_fold(implied);
	err = kc_read_map(fd, key_size, sizeof(__u32), &have);
	kc_fold(&have); /* sorted, for kc_find() */
	for (size_t pass = 0; !err && pass < 2; pass++) {
		/* Pass 0: entries present; pass 1: entries wanted but absent. */
		const struct kc_list *l = pass ? want : &have;

		for (size_t i = 0; !err && i < l->n; i++) {
			const __u8 *key = l->v[i].key;
			bool present = !pass || kc_find(&have, key, KEY_MAX);
			__u32 cur = pass ? 0 : l->v[i].count;
			__u32 w = kc_find(want, key, KEY_MAX);
			struct count_fix *f;

			/* Pass 1 only adds what pass 0 did not see; a count of 0 is no entry. */
			if ((pass && present) || (cur == w && (w || !present)))
				continue;
			err = grow((void **)&s->counts, &s->cap_counts, s->n_counts,
				   sizeof(*s->counts));
			if (err)
				break;
			f = &s->counts[s->n_counts++];
			f->fd = fd;
			memcpy(f->key, key, KEY_MAX);
			f->want = w;
			if (cur == kc_find(implied, key, KEY_MAX) && (cur || !present))
				continue;
			describe(key, what, sizeof(what));
			snprintf(a, sizeof(a), "%u", cur);
			err = fix_add(s, kind, "%s %s: %s -> %s", verb(s, "fixed", "would fix"),
				      what, present ? a : "none", count_str(w, b, sizeof(b)));
		}
	}
	kc_free(&have);
	return err;
}

static void port_key(const struct binding *b, struct bpfport_port_key *k)
{
	memset(k, 0, sizeof(*k));
	k->port = htons(b->host_port);
	k->family = b->family;
	k->proto = b->proto;
}

static void backend_key(const struct binding *b, struct bpfport_backend_key *k)
{
	memset(k, 0, sizeof(*k));
	k->addr = b->container_addr;
	k->port = htons(b->container_port);
	k->family = b->family;
	k->proto = b->proto;
}

static void container_key(const struct binding *b, struct bpfport_container_key *k)
{
	memset(k, 0, sizeof(*k));
	k->addr = b->container_addr;
	k->family = b->family;
}

static void words_from_ports(const struct kc_list *ports, __u64 *words)
{
	for (size_t i = 0; i < ports->n; i++) {
		const struct bpfport_port_key *k = (const void *)ports->v[i].key;
		__u16 port = ntohs(k->port);

		words[BPFPORT_PUBLISHED_WORD(k->family, k->proto, port)] |=
			BPFPORT_PUBLISHED_BIT(port);
	}
}

/* The published bitmap: a bit per port the state's bindings publish. */
static int plan_published(struct sync *s, const struct kc_list *want_ports,
			  const struct kc_list *implied_ports)
{
	__u64 *implied = calloc(BPFPORT_PUBLISHED_WORDS, sizeof(*implied));
	int err = 0;

	s->published = calloc(BPFPORT_PUBLISHED_WORDS, sizeof(*s->published));
	s->published_diff = calloc(BPFPORT_PUBLISHED_WORDS, sizeof(*s->published_diff));
	if (!implied || !s->published || !s->published_diff) {
		free(implied);
		return -ENOMEM;
	}
	words_from_ports(want_ports, s->published);
	words_from_ports(implied_ports, implied);
	for (__u32 i = 0; i < BPFPORT_PUBLISHED_WORDS && !err; i++) {
		__u64 have = 0, diff, report;

		if (bpf_map_lookup_elem(s->t->dp.published_fd, &i, &have)) {
			err = -errno;
			break;
		}
		diff = have ^ s->published[i];
		s->published_diff[i] = diff != 0;
		report = diff & (have ^ implied[i]);
		for (int bit = 0; report && bit < 64 && !err; bit++) {
			__u32 group = i / 1024;
			__u16 port = (__u16)((i % 1024) * 64 + bit);

			if (!(report & (1ULL << bit)))
				continue;
			err = fix_add(s, "published_bit", "%s the published bit of %u/%s (%s)",
				      have & (1ULL << bit) ? verb(s, "cleared", "would clear") :
							     verb(s, "set", "would set"),
				      port, group & 1 ? "udp" : "tcp", group & 2 ? "IPv6" : "IPv4");
		}
	}
	free(implied);
	return err;
}

/* Every count map, and the bitmap that follows bp_ports. */
static int plan_count_maps(struct sync *s)
{
	struct kc_list want[3] = {}, implied[3] = {};
	struct bpfport_port_key pk;
	struct bpfport_backend_key bk;
	struct bpfport_container_key ck;
	const struct dp *dp = &s->t->dp;
	int err = 0;

	for (size_t i = 0; i < s->n_s && !err; i++) {
		port_key(s->s[i].b, &pk);
		backend_key(s->s[i].b, &bk);
		container_key(s->s[i].b, &ck);
		err = kc_push(&want[0], &pk, sizeof(pk), 1);
		if (!err)
			err = kc_push(&want[1], &bk, sizeof(bk), 1);
		if (!err)
			err = kc_push(&want[2], &ck, sizeof(ck), 1);
	}
	for (size_t i = 0; i < s->n_m && !err; i++) {
		struct binding b;

		binding_from_map(&s->m[i], &b);
		port_key(&b, &pk);
		backend_key(&b, &bk);
		container_key(&b, &ck);
		err = kc_push(&implied[0], &pk, sizeof(pk), 1);
		if (!err)
			err = kc_push(&implied[1], &bk, sizeof(bk), 1);
		if (!err)
			err = kc_push(&implied[2], &ck, sizeof(ck), 1);
	}
	if (!err)
		err = plan_counts(s, dp->ports_fd, sizeof(pk), &want[0], &implied[0], "port_count",
				  describe_port);
	if (!err)
		err = plan_published(s, &want[0], &implied[0]);
	if (!err)
		err = plan_counts(s, dp->backends_fd, sizeof(bk), &want[1], &implied[1],
				  "backend_count", describe_backend);
	if (!err)
		err = plan_counts(s, dp->containers_fd, sizeof(ck), &want[2], &implied[2],
				  "container_count", describe_container);
	for (int i = 0; i < 3; i++) {
		kc_free(&want[i]);
		kc_free(&implied[i]);
	}
	return err;
}

static void allow_desc(const struct bpfport_allow_key *k, __u8 family, char *buf, size_t len)
{
	struct cidr c;

	memset(&c, 0, sizeof(c));
	c.family = family;
	c.prefixlen = (__u8)(k->prefixlen - 32);
	memcpy(c.addr.a, k->addr, sizeof(c.addr.a));
	cidr_format(&c, buf, len);
}

/* Without a binding to say, a prefix longer than 32 bits or with bits past
 * the first word is IPv6. */
static __u8 allow_family_guess(const struct bpfport_allow_key *k)
{
	return k->prefixlen > 64 || k->addr[1] || k->addr[2] || k->addr[3] ? BPFPORT_AF_INET6 :
									     BPFPORT_AF_INET;
}

static int plan_allow(struct sync *s)
{
	struct kc_list want = {}, have = {};
	struct bpfport_allow_key k;
	char desc[160], cidr[64];
	size_t cap_add = 0, cap_del = 0;
	int err = 0;

	for (size_t i = 0; i < s->n_s && !err; i++)
		for (size_t j = 0; j < s->s[i].b->n_allow && !err; j++) {
			dp_allow_key(s->s[i].b, &s->s[i].b->allow[j], &k);
			err = kc_push(&want, &k, sizeof(k), 1);
		}
	if (!err)
		err = kc_read_map(s->t->dp.allow_fd, sizeof(k), 1, &have);
	if (err)
		goto out;
	kc_fold(&want);
	kc_fold(&have);
	for (size_t i = 0; i < have.n && !err; i++) {
		const struct binding *user;

		if (kc_find(&want, have.v[i].key, KEY_MAX))
			continue;
		memcpy(&k, have.v[i].key, sizeof(k));
		err = grow((void **)&s->allow_del, &cap_del, s->n_allow_del, sizeof(k));
		if (err)
			break;
		s->allow_del[s->n_allow_del++] = k;
		user = state_slot_user(s, k.slot, NULL);
		allow_desc(&k, user ? user->family : allow_family_guess(&k), cidr, sizeof(cidr));
		if (user) {
			binding_desc(user, desc, sizeof(desc));
			err = fix_add(s, "allow_prefix",
				      "%s allow-list prefix %s of slot %u: not in the list of %s",
				      verb(s, "removed", "would remove"), cidr, k.slot, desc);
		} else {
			err = fix_add(
				s, "allow_prefix",
				"%s allow-list prefix %s of slot %u: no binding uses the slot",
				verb(s, "removed", "would remove"), cidr, k.slot);
		}
	}
	for (size_t i = 0; i < s->n_s && !err; i++) {
		const struct binding *b = s->s[i].b;

		for (size_t j = 0; j < b->n_allow && !err; j++) {
			dp_allow_key(b, &b->allow[j], &k);
			if (kc_find(&have, &k, sizeof(k)))
				continue;
			err = grow((void **)&s->allow_add, &cap_add, s->n_allow_add, sizeof(k));
			if (err)
				break;
			s->allow_add[s->n_allow_add++] = k;
			/* A binding installed here brings its list: no line of its own. */
			if (s->s[i].install)
				continue;
			cidr_format(&b->allow[j], cidr, sizeof(cidr));
			binding_desc(b, desc, sizeof(desc));
			err = fix_add(s, "allow_prefix", "%s allow-list prefix %s of binding %s",
				      verb(s, "added", "would add"), cidr, desc);
		}
	}
out:
	kc_free(&want);
	kc_free(&have);
	return err;
}

/* Install b as the state has it; counts and prefixes are set elsewhere. */
static int install_binding(const struct dp *dp, const struct binding *b)
{
	struct bpfport_bind_key key;
	struct bpfport_bind_val val;
	int err;

	err = dp_counters_reset(dp, b->slot);
	if (err)
		return err;
	binding_to_key(b, &key);
	binding_to_val(b, &val);
	val.gen = dp_slot_gen(dp, b->slot);
	return bpf_map_update_elem(dp->bindings_fd, &key, &val, BPF_NOEXIST) ? -errno : 0;
}

/* A step failed: what came before it stays done, and sync can run again. */
static int apply_failed(int err, const char *what)
{
	pr_err("sync: cannot %s: %s (the fixes before it were applied: run sync again)", what,
	       strerror(-err));
	return err;
}

static int apply(struct sync *s)
{
	const struct dp *dp = &s->t->dp;
	__u8 one = 1;
	int n;

	for (size_t i = 0; i < s->n_allow_add; i++)
		if (bpf_map_update_elem(dp->allow_fd, &s->allow_add[i], &one, BPF_ANY))
			return apply_failed(-errno, "add an allow-list prefix");
	for (size_t i = 0; i < s->n_remove; i++) {
		struct binding b;

		binding_from_map(&s->remove[i], &b);
		if (bpf_map_delete_elem(dp->bindings_fd, &s->remove[i].key) && errno != ENOENT)
			return apply_failed(-errno, "remove a binding");
		n = dp_flows_end(dp, &b);
		if (n < 0)
			return apply_failed(n, "end the flows of a removed binding");
	}
	for (size_t i = 0; i < s->n_s; i++) {
		if (!s->s[i].install)
			continue;
		n = install_binding(dp, s->s[i].b);
		if (n)
			return apply_failed(n, "install a binding");
	}
	n = apply_generations(s);
	if (n)
		return apply_failed(n, "align binding generations");
	for (size_t i = 0; i < s->n_counts; i++) {
		const struct count_fix *f = &s->counts[i];

		if (f->want ? bpf_map_update_elem(f->fd, f->key, &f->want, BPF_ANY) :
			      bpf_map_delete_elem(f->fd, f->key) && errno != ENOENT)
			return apply_failed(-errno, "fix a count");
	}
	for (__u32 i = 0; i < BPFPORT_PUBLISHED_WORDS; i++)
		if (s->published_diff[i] &&
		    bpf_map_update_elem(dp->published_fd, &i, &s->published[i], BPF_ANY))
			return apply_failed(-errno, "write the published-ports bitmap");
	for (size_t i = 0; i < s->n_allow_del; i++)
		if (bpf_map_delete_elem(dp->allow_fd, &s->allow_del[i]) && errno != ENOENT)
			return apply_failed(-errno, "remove an allow-list prefix");
	return 0;
}

static void print_fixes(const struct sync *s)
{
	struct json_writer *jw;

	if (!opts.json) {
		for (size_t i = 0; i < s->n_fixes; i++)
			printf("%s\n", s->fixes[i].msg);
		if (!s->n_fixes)
			printf("nothing to fix\n");
		return;
	}
	jw = jw_new(stdout);
	jw_array_start(jw);
	for (size_t i = 0; i < s->n_fixes; i++) {
		jw_object_start(jw);
		jw_string_field(jw, "kind", s->fixes[i].kind);
		jw_string_field(jw, "message", s->fixes[i].msg);
		jw_bool_field(jw, "applied", !s->dry_run);
		jw_object_end(jw);
	}
	jw_array_end(jw);
	jw_destroy(jw);
}

static void sync_free(struct sync *s)
{
	free(s->fixes);
	free(s->m);
	free(s->s);
	free(s->slot_user);
	free(s->remove);
	free(s->counts);
	free(s->published);
	free(s->published_diff);
	free(s->allow_add);
	free(s->allow_del);
}

int cmd_sync(int argc, char **argv)
{
	struct sync s = {};
	struct txn t;
	int err;

	for (int i = 1; i < argc; i++) {
		if (cmd_json_flag(argv[i]))
			opts.json = true;
		else if (!strcmp(argv[i], "--dry-run") || !strcmp(argv[i], "-n"))
			s.dry_run = true;
		else
			return cmd_usage_error(CLI, cli_cmds, "sync", "unexpected argument \"%s\"",
					       argv[i]);
	}
	if (txn_begin(&t, "bpfport sync"))
		return EXIT_FAIL;
	s.t = &t;
	/* Reports its own errors; the rest only fail reading the maps. */
	err = index_state(&s);
	if (!err) {
		err = read_bindings(&s);
		if (!err)
			err = plan_bindings(&s);
		if (!err)
			err = plan_generations(&s);
		if (!err)
			err = plan_count_maps(&s);
		if (!err)
			err = plan_allow(&s);
		if (err)
			pr_err("sync: cannot read the maps: %s", strerror(-err));
	}
	if (!err && !s.dry_run)
		err = apply(&s);
	if (!err)
		print_fixes(&s);
	sync_free(&s);
	txn_end(&t);
	return err ? EXIT_FAIL : EXIT_OK;
}
