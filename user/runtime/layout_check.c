/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout_check.h"
#include "procfs.h"
#include "task_memory.h"

/* Steps of the owned-list walk at most: a cycle or a wild pointer stops it. */
#define LIST_WALK_MAX	200000

/*
 * A vtable as the process maps it: its function slots relocated by the
 * load bias, its header offsets the file's. A descriptor whose slots are
 * misplaced fails here, before any header is read with it.
 */
static bool vtable_as_mapped(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
			     const struct task_vtable *vt)
{
	const struct task_vtable_slots *s = &tb->desc->vtable;
	uint64_t words[16];

	if (s->size > sizeof(words) ||
	    proc_read_mem(pid, vt->vaddr + bias, words, s->size) != (ssize_t)s->size)
		return false;
	if (words[s->poll / 8] != tb->polls[vt->poll_idx].fn.vaddr + bias ||
	    words[s->dealloc / 8] != vt->dealloc_vaddr + bias)
		return false;
	if ((s->trailer_offset && words[s->trailer_offset / 8] != vt->trailer_offset) ||
	    (s->scheduler_offset && words[s->scheduler_offset / 8] != vt->scheduler_offset) ||
	    (s->id_offset && words[s->id_offset / 8] != vt->id_offset))
		return false;
	return true;
}

/* A task Id sits right after the scheduler handle: well inside the cell's first page. */
#define ID_OFFSET_MAX	4096

size_t layout_check__offsets(const struct runtime_binary *tb)
{
	const struct task_vtable_slots *s = &tb->desc->vtable;
	size_t i, ok = 0;

	for (i = 0; i < tb->nvtables; i++) {
		const struct task_vtable *vt = &tb->vtables[i];
		uint64_t floor = tb->layout.hdr_size;

		if (s->scheduler_offset) {
			if (vt->scheduler_offset < floor || vt->scheduler_offset % 8)
				continue;
			/* a zero-sized scheduler (the blocking pool's) puts the Id at its offset */
			floor = vt->scheduler_offset;
		}
		if (s->id_offset) {
			if (vt->id_offset < floor || vt->id_offset % 8 ||
			    vt->id_offset >= ID_OFFSET_MAX)
				continue;
			floor = vt->id_offset + 8;
		}
		if (s->trailer_offset && (vt->trailer_offset < floor || vt->trailer_offset % 8))
			continue;
		ok++;
	}
	return ok;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Ids non-zero, below the counter when known, and no two tasks sharing one. */
static size_t ids_plausible(const struct mem_task *tasks, size_t n, uint64_t next_id)
{
	uint64_t *ids = calloc(n ? n : 1, sizeof(*ids));
	size_t i, ok = 0;

	if (!ids)
		return 0;
	for (i = 0; i < n; i++)
		ids[i] = tasks[i].task_id;
	qsort(ids, n, sizeof(*ids), cmp_u64);
	for (i = 0; i < n; i++) {
		if (!ids[i] || (next_id && ids[i] >= next_id))
			continue;
		if ((i && ids[i - 1] == ids[i]) || (i + 1 < n && ids[i + 1] == ids[i]))
			continue;
		ok++;
	}
	free(ids);
	return ok;
}

/* The link (0: prev, 1: next) of the task at header in its owned list. */
static int read_link(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
		     uint64_t header, int dir, uint64_t *link)
{
	struct mem_task t;

	if (task_memory__read(pid, tb, bias, header, &t))
		return -EFAULT;
	return proc_read_u64(pid, header + tb->vtables[t.vtable_idx].trailer_offset +
			     tb->desc->owned_links_off + 8 * dir, link);
}

/* Headers already on a walked list, sorted for the lookup. */
struct seen_set {
	uint64_t *v;
	size_t n, cap;
};

static bool seen_has(const struct seen_set *s, uint64_t h)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] == h)
			return true;
	return false;
}

static int seen_add(struct seen_set *s, uint64_t h)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = h;
	return 0;
}

/*
 * tokio's OwnedTasks list (one per shard from 1.35) is doubly linked and
 * ends in null both ways. From one owned task, each step must land on a
 * task header whose link back is where it came from. Returns the tasks on
 * the list, 0 when it breaks.
 */
static size_t walk_list(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
			uint64_t start, struct seen_set *seen)
{
	size_t steps = 0, on_list = 1;
	int dir;

	if (seen_add(seen, start))
		return 0;
	for (dir = 0; dir < 2; dir++) {
		uint64_t cur = start, next, back;

		for (;;) {
			if (++steps > LIST_WALK_MAX || read_link(pid, tb, bias, cur, dir, &next))
				return 0;
			if (!next)
				break;
			if (read_link(pid, tb, bias, next, !dir, &back) || back != cur ||
			    seen_has(seen, next) || seen_add(seen, next))
				return 0;
			on_list++;
			cur = next;
		}
	}
	return on_list;
}

/* Lists walked at most: tokio shards a runtime's list in up to 65536 (1.35+). */
#define LISTS_MAX	256

/* Walks the list of every owned task not on a list walked before. */
static void walk_lists(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
		       const struct mem_task *tasks, size_t n, struct layout_check *lc)
{
	struct seen_set seen = {};
	size_t i, got;

	lc->list_closed = true;
	for (i = 0; i < n && lc->lists < LISTS_MAX; i++) {
		if (tasks[i].unowned || seen_has(&seen, tasks[i].header))
			continue;
		got = walk_list(pid, tb, bias, tasks[i].header, &seen);
		if (!got) {
			lc->list_closed = false;
			lc->list_break_id = tasks[i].task_id;
			break;
		}
		lc->lists++;
		lc->list_tasks += got;
	}
	free(seen.v);
}

int layout_check__run(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
		      struct layout_check *lc)
{
	struct mem_scan_stats st;
	struct mem_task *tasks = NULL;
	char ids[96] = "", list[96] = "";
	size_t i, n = 0;
	int err;

	memset(lc, 0, sizeof(*lc));
	if (!tb->nvtables) {
		snprintf(lc->verdict, sizeof(lc->verdict),
			 "not confirmed: no task vtable in the binary to check against");
		return 0;
	}
	lc->offsets_ok = layout_check__offsets(tb);
	if (lc->offsets_ok != tb->nvtables) {
		snprintf(lc->verdict, sizeof(lc->verdict),
			 "not confirmed: %zu of %zu task vtables store header offsets out of the "
			 "%s cell's order", tb->nvtables - lc->offsets_ok, tb->nvtables,
			 tb->desc->name);
		return 0;
	}
	for (i = 0; i < tb->nvtables; i++) {
		lc->vtables_checked++;
		lc->vtables_ok += vtable_as_mapped(pid, tb, bias, &tb->vtables[i]);
	}
	if (lc->vtables_ok != lc->vtables_checked) {
		snprintf(lc->verdict, sizeof(lc->verdict),
			 "not confirmed: %zu of %zu task vtables differ in the process from the "
			 "binary's (not this binary, or another layout)",
			 lc->vtables_checked - lc->vtables_ok, lc->vtables_checked);
		return 0;
	}
	err = task_memory__discover(pid, tb, bias, &tasks, &n, &st);
	if (err && err != -ENOENT)
		return err;
	lc->tasks = n;
	lc->has_ids = tb->desc->vtable.id_offset != 0;
	lc->has_list = tb->desc->vtable.trailer_offset != 0;
	if (!n) {
		snprintf(lc->verdict, sizeof(lc->verdict),
			 "not confirmed: %zu task vtables as mapped, but no live task found in "
			 "memory to check the header layout against", lc->vtables_ok);
		goto out;
	}
	if (lc->has_ids) {
		if (tb->next_task_id_vaddr)
			proc_read_u64(pid, tb->next_task_id_vaddr + bias, &lc->next_id);
		lc->ids_ok = ids_plausible(tasks, n, lc->next_id);
		if (lc->ids_ok != n) {
			snprintf(lc->verdict, sizeof(lc->verdict),
				 "not confirmed: %zu of %zu task Ids read back are zero, repeated "
				 "or past the Id counter (%llu)", n - lc->ids_ok, n,
				 (unsigned long long)lc->next_id);
			goto out;
		}
		if (lc->next_id)
			snprintf(ids, sizeof(ids), ", %zu task Ids read back (distinct, below the "
				 "Id counter, %llu)", n, (unsigned long long)lc->next_id);
		else
			snprintf(ids, sizeof(ids), ", %zu task Ids read back (distinct)", n);
	}
	if (lc->has_list) {
		walk_lists(pid, tb, bias, tasks, n, lc);
		if (!lc->list_closed) {
			snprintf(lc->verdict, sizeof(lc->verdict),
				 "not confirmed: the owned-task list of task %llu breaks (a link or "
				 "back link off the layout)", (unsigned long long)lc->list_break_id);
			goto out;
		}
		if (!lc->lists)
			snprintf(list, sizeof(list), ", no owned task to walk a list from");
		else
			snprintf(list, sizeof(list), ", %zu owned list%s walked end to end (%zu "
				 "task%s)", lc->lists, lc->lists == 1 ? "" : "s", lc->list_tasks,
				 lc->list_tasks == 1 ? "" : "s");
	}
	lc->confirmed = true;
	snprintf(lc->verdict, sizeof(lc->verdict), "confirmed: %zu task vtables as mapped, %zu "
		 "tasks in memory%s%s", lc->vtables_ok, n, ids, list);
out:
	free(tasks);
	return 0;
}
