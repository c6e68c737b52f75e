/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "procfs.h"
#include "task_memory.h"

#define SCAN_CHUNK		(1u << 20)
#define SCAN_BUDGET		(2ULL << 30)	/* bytes read at most */
#define OWNED_WALK_MAX		200000


struct task_vec {
	struct mem_task *v;
	size_t n, cap;
};

static int cmp_mem_task(const void *a, const void *b)
{
	const struct mem_task *x = a, *y = b;

	return (x->header > y->header) - (x->header < y->header);
}

bool task_state_plausible(const struct task_layout *l, uint64_t state_word)
{
	uint64_t refs = state_word >> l->ref_shift;

	/*
	 * A live task is referenced (the owned list holds one) and a ref
	 * count beyond millions is some other word that happens to sit
	 * 16 bytes before a vtable pointer.
	 */
	return refs >= 1 && refs < (1ULL << 24);
}

/*
 * Index of the vtable whose runtime address is addr, or -1. tb->vtables is
 * sorted by ELF address and the load bias shifts them all alike, so it is
 * sorted by runtime address too.
 */
static int lookup_vt(const struct runtime_binary *tb, uint64_t bias, uint64_t addr)
{
	/* addr - bias may wrap when addr is below the binary: then nothing matches */
	size_t lo = TS_LOWER_BOUND(tb->vtables, tb->nvtables, vaddr, addr - bias);

	return lo < tb->nvtables && tb->vtables[lo].vaddr + bias == addr ? (int)lo : -1;
}

/* A chunk of the target already read: reads inside it cost no syscall. */
struct mem_window {
	const uint8_t *buf;
	uint64_t addr;
	size_t len;
};

static int read_at(pid_t pid, const struct mem_window *w, uint64_t addr, void *out, size_t len)
{
	/*
	 * A million tasks are a million headers in the heap chunk the scan
	 * holds: copying from it instead of two process_vm_readv per task
	 * saves seconds.
	 */
	if (w && addr >= w->addr && addr + len >= addr && addr + len <= w->addr + w->len) {
		memcpy(out, w->buf + (addr - w->addr), len);
		return 0;
	}
	return proc_read_mem(pid, addr, out, len) == (ssize_t)len ? 0 : -EFAULT;
}

static int read_task(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
		     uint64_t header, struct mem_task *t, const struct mem_window *w)
{
	const struct task_layout *l = &tb->layout;
	uint64_t hdr[4];
	const struct task_vtable *vt;
	int idx;

	if (l->hdr_size > sizeof(hdr) || read_at(pid, w, header, hdr, l->hdr_size))
		return -EFAULT;
	idx = lookup_vt(tb, bias, hdr[l->hdr_vtable_off / 8]);
	if (idx < 0 || !task_state_plausible(l, hdr[l->hdr_state_off / 8]))
		return -EFAULT;
	vt = &tb->vtables[idx];
	memset(t, 0, sizeof(*t));
	t->header = header;
	t->state_word = hdr[l->hdr_state_off / 8];
	t->vtable_idx = idx;
	t->owner_id = l->hdr_owner_off ? hdr[l->hdr_owner_off / 8] : 0;
	t->unowned = l->hdr_owner_off && !t->owner_id;
	if (vt->id_offset >= l->hdr_size && vt->id_offset < 4096)
		read_at(pid, w, header + vt->id_offset, &t->task_id, sizeof(t->task_id));
	return 0;
}

static int push_task(struct task_vec *tv, const struct mem_task *t)
{
	if (tv->n == tv->cap) {
		size_t cap = tv->cap ? tv->cap * 2 : 64;
		struct mem_task *nv = realloc(tv->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		tv->v = nv;
		tv->cap = cap;
	}
	tv->v[tv->n++] = *t;
	return 0;
}

/*
 * The first `sorted` entries are sorted by header (the scan's finds); the
 * few the owned-list walk adds after them are searched linearly.
 */
static bool have_task(const struct task_vec *tv, size_t sorted, uint64_t header)
{
	size_t lo = TS_LOWER_BOUND(tv->v, sorted, header, header), i;

	if (lo < sorted && tv->v[lo].header == header)
		return true;
	for (i = sorted; i < tv->n; i++)
		if (tv->v[i].header == header)
			return true;
	return false;
}

static bool scannable(const struct proc_mapping *m)
{
	if (strcmp(m->perms, "rw-p"))
		return false;
	/* task cells are heap allocations: brk heap or anonymous arenas */
	return m->path[0] == '\0' || !strcmp(m->path, "[heap]");
}

static int scan_region(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
		       const struct proc_mapping *m, uint64_t *buf,
		       struct task_vec *tv, struct mem_scan_stats *st)
{
	uint64_t lo_vt = tb->vtables[0].vaddr + bias;
	uint64_t hi_vt = tb->vtables[tb->nvtables - 1].vaddr + bias, addr;
	struct mem_window win;
	int err;

	for (addr = m->start; addr < m->end; addr += SCAN_CHUNK) {
		size_t len = m->end - addr < SCAN_CHUNK ? m->end - addr : SCAN_CHUNK;
		ssize_t got;
		size_t i;

		if (st->bytes_scanned + len > SCAN_BUDGET) {
			st->truncated = true;
			return 0;
		}
		got = proc_read_mem(pid, addr, buf, len);
		if (got <= 0)
			continue;	/* unmapped meanwhile: the next region still counts */
		st->bytes_scanned += (uint64_t)got;
		win.buf = (const uint8_t *)buf;
		win.addr = addr;
		win.len = (size_t)got;
		for (i = 0; i < (size_t)got / 8; i++) {
			uint64_t w = buf[i], header;
			struct mem_task t;

			if (w < lo_vt || w > hi_vt)
				continue;
			if (lookup_vt(tb, bias, w) < 0)
				continue;
			st->candidates++;
			header = addr + i * 8 - tb->layout.hdr_vtable_off;
			if (read_task(pid, tb, bias, header, &t, &win))
				continue;
			err = push_task(tv, &t);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * tokio's OwnedTasks links every task of a runtime through its trailer
 * (the descriptor's owned_links_off: two pointers, to the previous and
 * the next header). Walking it finds tasks whose memory the scan did not
 * cover.
 */
static int walk_owned(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
		      struct task_vec *tv, struct mem_scan_stats *st)
{
	size_t start_n = tv->n, i, steps = 0;
	int dir, err;

	if (tv->n > 1)	/* qsort of a NULL array is undefined, even empty */
		qsort(tv->v, tv->n, sizeof(*tv->v), cmp_mem_task);
	for (i = 0; i < start_n && steps < OWNED_WALK_MAX; i++) {
		const struct task_vtable *vt = &tb->vtables[tv->v[i].vtable_idx];

		if (!vt->trailer_offset)
			continue;	/* async-task keeps no list of its tasks */
		for (dir = 0; dir < 2; dir++) {
			uint64_t cur = tv->v[i].header;

			while (steps++ < OWNED_WALK_MAX) {
				struct mem_task t;
				uint64_t next;

				if (proc_read_u64(pid, cur + vt->trailer_offset +
						  tb->desc->owned_links_off + 8 * dir, &next))
					break;
				if (!next || next == tv->v[i].header)
					break;
				if (have_task(tv, start_n, next))
					break;	/* the rest of this direction was seen */
				if (read_task(pid, tb, bias, next, &t, NULL))
					break;
				err = push_task(tv, &t);
				if (err)
					return err;
				st->from_owned_list++;
				cur = next;
				vt = &tb->vtables[t.vtable_idx];
			}
		}
	}
	return 0;
}

int task_memory__discover(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
			  struct mem_task **out, size_t *n, struct mem_scan_stats *st)
{
	struct task_vec tv = {};
	struct proc_maps maps = {};
	uint64_t *buf = NULL;
	size_t i;
	int err;

	*out = NULL;
	*n = 0;
	memset(st, 0, sizeof(*st));
	if (!tb->nvtables)
		return -ENOENT;
	buf = malloc(SCAN_CHUNK);
	if (!buf)
		return -ENOMEM;
	err = proc_maps__read(pid, &maps);
	if (err)
		goto cleanup;
	for (i = 0; i < maps.n; i++) {
		if (!scannable(&maps.v[i]))
			continue;
		st->regions++;
		err = scan_region(pid, tb, bias, &maps.v[i], buf, &tv, st);
		if (err)
			goto cleanup;
	}
	err = walk_owned(pid, tb, bias, &tv, st);
	if (err)
		goto cleanup;
	if (tv.n > 1)
		qsort(tv.v, tv.n, sizeof(*tv.v), cmp_mem_task);
	*out = tv.v;
	*n = tv.n;
	tv.v = NULL;
cleanup:
	free(tv.v);
	free(buf);
	proc_maps__free(&maps);
	return err;
}

int task_memory__read(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
		      uint64_t header, struct mem_task *t)
{
	if (!tb->nvtables)
		return -ENOENT;
	return read_task(pid, tb, bias, header, t, NULL);
}
