/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Sampled mode, memory: every task cell re-read each snapshot, cheaply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "procfs.h"
#include "sampled_internal.h"
#include "task_memory.h"

#define HASH_ASYNC_TASK_BYTES	256
#define READ_BATCH		512	/* iovecs per process_vm_readv */
#define TS_FULL_SCAN_EVERY	(10000 * MS)	/* whole-memory scans for tasks no link leads to */
#define OWNED_WALK_STEPS	200000

struct region {
	uint64_t addr;
	size_t len;
	uint8_t *buf;
	bool ok;
};

/*
 * Many small reads in few syscalls. process_vm_readv stops at the first
 * remote iovec it can't read: the ones before it are complete, that one
 * is marked failed, and the batch resumes after it.
 */
static void read_regions(pid_t pid, struct region *r, size_t n)
{
	struct iovec local[READ_BATCH], remote[READ_BATCH];
	size_t i = 0;

	while (i < n) {
		size_t m = n - i < READ_BATCH ? n - i : READ_BATCH, k, want = 0, done = 0;
		ssize_t got;

		for (k = 0; k < m; k++) {
			local[k].iov_base = r[i + k].buf;
			local[k].iov_len = r[i + k].len;
			remote[k].iov_base = (void *)(uintptr_t)r[i + k].addr;
			remote[k].iov_len = r[i + k].len;
			want += r[i + k].len;
		}
		got = process_vm_readv(pid, local, m, remote, m, 0);
		if (got == (ssize_t)want) {
			for (k = 0; k < m; k++)
				r[i + k].ok = true;
			i += m;
			continue;
		}
		for (k = 0; got > 0 && k < m && done + r[i + k].len <= (size_t)got; k++) {
			r[i + k].ok = true;
			done += r[i + k].len;
		}
		if (k < m)
			r[i + k].ok = false;
		i += k + 1;
	}
}

static uint64_t hash_words(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL, w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h;
}

/*
 * What is read of a task's cell, from its header: the header, and the
 * part that changes when it is polled (its future's state, locals,
 * awaitee) but not while it waits, hashed from hash_from on: tokio's Core
 * and stage up to the Trailer (whose owned-list links change when
 * neighbours come and go, and whose join waker is the JoinHandle's), past
 * the header's state word and run-queue link. The Trailer's owned links
 * are read apart: they lead to tasks spawned since.
 */
struct cell_shape {
	size_t len;		/* bytes from the header */
	size_t hash_from;
	uint64_t links_off;	/* Trailer.owned { prev, next }; 0: none */
};

static void cell_shape(const struct runtime_binary *tb, int vtable_idx, struct cell_shape *cs)
{
	const struct task_vtable *vt = &tb->vtables[vtable_idx];
	size_t hashed;

	if (tb->runtime == TS_RT_TOKIO) {
		cs->hash_from = tb->layout.hdr_vtable_off;
		hashed = vt->trailer_offset > tb->layout.hdr_vtable_off ? vt->trailer_offset - tb->layout.hdr_vtable_off :
								 HASH_ASYNC_TASK_BYTES;
		cs->links_off = vt->trailer_offset;
	} else {
		/* async-task: the future follows the header (vtable, state, awaiter) */
		cs->hash_from = tb->layout.hdr_size;
		hashed = HASH_ASYNC_TASK_BYTES;
		cs->links_off = 0;
	}
	if (hashed > HASH_MAX_BYTES)
		hashed = HASH_MAX_BYTES;
	cs->len = (cs->hash_from + hashed) & ~(size_t)7;
	if (cs->len < tb->layout.hdr_size)
		cs->len = tb->layout.hdr_size;
}

const struct sampled_task_hist *sampled_memory__find(const struct sampled_session *ss,
						     uint64_t header)
{
	size_t lo = 0, hi = ss->nhist;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ss->hist[mid].header < header)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ss->nhist && ss->hist[lo].header == header ? &ss->hist[lo] : NULL;
}

/* A task to read: where, and which vtable it had. */
struct cell_ref {
	uint64_t header;
	int vtable_idx;
};

struct cell_read {
	bool valid;
	uint64_t state_word, task_id, hash;
	uint64_t owner_id;	/* tokio: the OwnedTasks id, 0 unowned */
	uint64_t links[2];	/* owned-list prev, next; 0 unknown */
};

static int grow(void **p, size_t *cap, size_t want, size_t elem)
{
	void *nv;

	if (want <= *cap)
		return 0;
	nv = realloc(*p, want * elem);
	if (!nv)
		return -ENOMEM;
	*p = nv;
	*cap = want;
	return 0;
}

/*
 * Reads n cells in batches (the buffers stay allocated between snapshots:
 * fresh pages cost a fault each) and checks each is still a live task of
 * the same vtable.
 */
static int read_cells(struct sampled_session *ss, const struct cell_ref *c, size_t n,
		      struct cell_read *out)
{
	const struct runtime_binary *tb = &ss->op->tb;
	const struct task_layout *l = &tb->layout;
	size_t i, nr = 0, stride = HASH_MAX_BYTES + 64;
	int err;

	err = grow((void **)&ss->rbuf, &ss->rbuf_cap, n * stride, 1);
	if (!err)
		err = grow((void **)&ss->regions, &ss->regions_cap, 2 * n, sizeof(struct region));
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		struct cell_shape cs;
		uint8_t *buf = ss->rbuf + i * stride;

		cell_shape(tb, c[i].vtable_idx, &cs);
		ss->regions[nr++] = (struct region){ .addr = c[i].header, .len = cs.len, .buf = buf };
		/* links past what is hashed: a second iovec, after the cell's bytes */
		ss->regions[nr++] = (struct region){ .addr = c[i].header + cs.links_off,
						     .len = cs.links_off ? 16 : 0,
						     .buf = buf + HASH_MAX_BYTES + 32 };
	}
	read_regions(ss->op->pid, ss->regions, nr);
	for (i = 0; i < n; i++) {
		const struct task_vtable *vt = &tb->vtables[c[i].vtable_idx];
		const struct region *a = &ss->regions[2 * i], *b = &ss->regions[2 * i + 1];
		struct cell_shape cs;
		uint64_t vtw, state;

		memset(&out[i], 0, sizeof(out[i]));
		if (!a->ok)
			continue;
		cell_shape(tb, c[i].vtable_idx, &cs);
		memcpy(&vtw, a->buf + l->hdr_vtable_off, 8);
		memcpy(&state, a->buf + l->hdr_state_off, 8);
		if (vtw != vt->vaddr + ss->op->bias || !task_state_plausible(l, state))
			continue;	/* freed, or the cell now holds another kind of task */
		out[i].valid = true;
		out[i].state_word = state;
		if (l->hdr_owner_off && l->hdr_owner_off + 8 <= cs.len)
			memcpy(&out[i].owner_id, a->buf + l->hdr_owner_off, 8);
		if (vt->id_offset >= l->hdr_size && vt->id_offset + 8 <= cs.len)
			memcpy(&out[i].task_id, a->buf + vt->id_offset, 8);
		else if (vt->id_offset >= l->hdr_size && vt->id_offset < 4096)
			proc_read_u64(ss->op->pid, c[i].header + vt->id_offset, &out[i].task_id);
		out[i].hash = hash_words(a->buf + cs.hash_from, cs.len - cs.hash_from);
		if (b->len && b->ok)
			memcpy(out[i].links, b->buf, 16);
	}
	return 0;
}

static int cmp_cell_ref(const void *a, const void *b)
{
	const struct cell_ref *x = a, *y = b;

	return (x->header > y->header) - (x->header < y->header);
}

static bool have_ref(const struct cell_ref *v, size_t n, uint64_t header)
{
	struct cell_ref key = { .header = header };

	return bsearch(&key, v, n, sizeof(*v), cmp_cell_ref) != NULL;
}

/*
 * The tasks to read this time: every task known, and those spawned since,
 * found from their neighbours in the runtime's owned-task list (tokio
 * links a new task at the head). A full scan of the process's memory runs
 * at the start and every TS_FULL_SCAN_EVERY, for what no link leads to.
 */
static int cells_to_read(struct sampled_session *ss, uint64_t now, struct cell_ref **out,
			 size_t *n)
{
	const struct runtime_binary *tb = &ss->op->tb;
	struct cell_ref *v = NULL, *extra = NULL;
	size_t i, nv = 0, nextra = 0, cap_extra = 0, steps = 0;
	int err = 0;

	*out = NULL;
	*n = 0;
	if (ss->op->memory_off)
		return 0;	/* the layout was refuted (observe_memory.c) */
	if (!ss->nhist || now >= ss->next_full_scan_ns) {
		struct mem_scan_stats ms;
		struct mem_task *mt = NULL;
		size_t nmt = 0;

		err = task_memory__discover(ss->op->pid, tb, ss->op->bias, &mt, &nmt, &ms);
		if (err)
			return err;
		if (!observed_proc__check_layout(ss->op, mt, nmt)) {
			free(mt);
			return 0;
		}
		v = calloc(nmt + 1, sizeof(*v));
		if (!v) {
			free(mt);
			return -ENOMEM;
		}
		for (i = 0; i < nmt; i++)
			v[i] = (struct cell_ref){ mt[i].header, mt[i].vtable_idx };
		free(mt);
		ss->next_full_scan_ns = now + TS_FULL_SCAN_EVERY;
		*out = v;
		*n = nmt;	/* sorted by header */
		return 0;
	}
	v = calloc(ss->nhist + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < ss->nhist; i++)
		v[nv++] = (struct cell_ref){ ss->hist[i].header, ss->hist[i].vtable_idx };
	for (i = 0; i < ss->nhist; i++) {
		int d;

		for (d = 0; d < 2; d++) {
			uint64_t next = ss->hist[i].links[d];

			/* a chain of new tasks: follow it while it leads to unknown cells */
			while (next && steps++ < OWNED_WALK_STEPS && !have_ref(v, nv, next)) {
				struct mem_task mt;
				uint64_t link = 0;
				size_t k;

				for (k = 0; k < nextra && extra[k].header != next; k++)
					;
				if (k < nextra)
					break;
				if (task_memory__read(ss->op->pid, tb, ss->op->bias, next, &mt))
					break;
				if (grow((void **)&extra, &cap_extra, nextra + 1, sizeof(*extra))) {
					err = -ENOMEM;
					goto out;
				}
				extra[nextra++] = (struct cell_ref){ mt.header, mt.vtable_idx };
				if (!tb->vtables[mt.vtable_idx].trailer_offset ||
				    proc_read_u64(ss->op->pid, mt.header +
						  tb->vtables[mt.vtable_idx].trailer_offset + 8 * d,
						  &link))
					break;
				next = link;
			}
		}
	}
	if (nextra) {
		struct cell_ref *nv2 = realloc(v, (nv + nextra) * sizeof(*v));

		if (!nv2) {
			err = -ENOMEM;
			goto out;
		}
		v = nv2;
		memcpy(v + nv, extra, nextra * sizeof(*v));
		nv += nextra;
		qsort(v, nv, sizeof(*v), cmp_cell_ref);
	}
	*out = v;
	*n = nv;
	v = NULL;
out:
	free(v);
	free(extra);
	return err;
}

/*
 * Every task in memory, its state word and a hash of its cell: a task
 * whose word and cell did not change between two snapshots was not polled
 * meanwhile (unless a poll left every byte as it found it).
 */
int sampled_memory__snapshot(struct sampled_session *ss, uint64_t now)
{
	const struct runtime_binary *tb = &ss->op->tb;
	struct sampled_task_hist *nh = NULL;
	struct cell_read *rd = NULL;
	struct cell_ref *c = NULL;
	size_t n = 0, i, j = 0, nn = 0;
	int err;

	if (!tb->nvtables)
		return 0;	/* USDT runtimes: no layout to read */
	err = cells_to_read(ss, now, &c, &n);
	if (err)
		return err == -ENOENT ? 0 : err;
	nh = calloc(n + 1, sizeof(*nh));
	rd = calloc(n + 1, sizeof(*rd));
	if (!nh || !rd) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = read_cells(ss, c, n, rd);
	if (err)
		goto cleanup;
	for (i = 0; i < n; i++) {
		const struct task_vtable *vt = &tb->vtables[c[i].vtable_idx];
		struct sampled_task_hist *h = &nh[nn];
		const struct sampled_task_hist *old = NULL;

		if (!rd[i].valid)
			continue;	/* gone since the last snapshot */
		nn++;
		h->header = c[i].header;
		h->vtable_idx = c[i].vtable_idx;
		h->task_id = rd[i].task_id;
		h->state_word = rd[i].state_word;
		h->owner_id = rd[i].owner_id;
		h->mem_hash = rd[i].hash;
		h->links[0] = rd[i].links[0];
		h->links[1] = rd[i].links[1];
		h->blocking = vt->poll_idx >= 0 && (size_t)vt->poll_idx < tb->npolls &&
			      tb->polls[vt->poll_idx].blocking;
		/* both lists are sorted by header */
		while (j < ss->nhist && ss->hist[j].header < h->header)
			j++;
		if (j < ss->nhist && ss->hist[j].header == h->header &&
		    ss->hist[j].task_id == h->task_id)
			old = &ss->hist[j];
		if (old) {
			h->burst_polls = old->burst_polls;
			h->active_ns = old->active_ns;
			h->unchanged_since_ns = old->state_word == h->state_word &&
						old->mem_hash == h->mem_hash ?
						old->unchanged_since_ns : now;
		} else {
			h->unchanged_since_ns = now;
		}
		if (h->blocking && h->task_id && ss->sampler_open && !old)
			ts_sampler__ignore_task(&ss->sampler, ss->op->pid, h->task_id);
	}
	free(ss->hist);
	ss->hist = nh;
	ss->nhist = nn;
	nh = NULL;
	ss->info.snapshots++;
cleanup:
	free(nh);
	free(rd);
	free(c);
	return err;
}
