/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout_check.h"
#include "procfs.h"
#include "task_memory.h"

/* Links followed at most (probes): a cycle or a wild pointer stops sooner. */
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

/*
 * A blocking-pool task (worker launch, spawn_blocking) by its vtable: a
 * worker's stack can hold stale copies of its launch task's header words
 * (a garbage owner, a repeated Id, links into anything), which the scan
 * finds like any other. The checks weigh the async tasks only.
 */
static bool blocking_task(const struct runtime_binary *tb, const struct mem_task *t)
{
	return t->vtable_idx >= 0 && (size_t)t->vtable_idx < tb->nvtables &&
	       tb->polls[tb->vtables[t->vtable_idx].poll_idx].blocking;
}

/*
 * Ids non-zero, below the counter when known, and no two tasks sharing
 * one: how many of all the tasks have such an Id (the figure shown), and
 * of the async tasks (*async_ok of *async_n, the figure weighed).
 */
static size_t ids_plausible(const struct runtime_binary *tb, const struct mem_task *tasks,
			    size_t n, uint64_t next_id, size_t *async_ok, size_t *async_n)
{
	struct id_of { uint64_t id; bool blocking; } *ids = calloc(n ? n : 1, sizeof(*ids));
	size_t i, ok = 0;

	*async_ok = *async_n = 0;
	if (!ids)
		return 0;
	for (i = 0; i < n; i++) {
		ids[i].id = tasks[i].task_id;
		ids[i].blocking = blocking_task(tb, &tasks[i]);
		*async_n += !ids[i].blocking;
	}
	/* the Id first in each entry: sorting entries sorts Ids */
	qsort(ids, n, sizeof(*ids), cmp_u64);
	for (i = 0; i < n; i++) {
		if (!ids[i].id || (next_id && ids[i].id >= next_id))
			continue;
		if ((i && ids[i - 1].id == ids[i].id) || (i + 1 < n && ids[i + 1].id == ids[i].id))
			continue;
		ok++;
		*async_ok += !ids[i].blocking;
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

/*
 * Headers already on a walked list: open addressing, sized once for every
 * link the walk may follow (no rehash), with an undo log so that a walk
 * that broke leaves the set as it found it and can be tried again.
 */
struct seen_set {
	uint64_t *slot;
	size_t mask;
	size_t *log;		/* slots filled, in order */
	size_t nlog, caplog;
};

static int seen_init(struct seen_set *s, size_t max_entries)
{
	size_t cap = 64;

	while (cap < 2 * max_entries + 2)
		cap *= 2;
	memset(s, 0, sizeof(*s));
	s->slot = calloc(cap, sizeof(*s->slot));
	s->log = calloc(max_entries + 1, sizeof(*s->log));
	if (!s->slot || !s->log) {
		free(s->slot);
		free(s->log);
		return -ENOMEM;
	}
	s->mask = cap - 1;
	s->caplog = max_entries + 1;
	return 0;
}

static void seen_free(struct seen_set *s)
{
	free(s->slot);
	free(s->log);
}

static size_t seen_pos(const struct seen_set *s, uint64_t h)
{
	size_t i = (size_t)((h >> 4) * 0x9E3779B97F4A7C15ULL) & s->mask;

	while (s->slot[i] && s->slot[i] != h)
		i = (i + 1) & s->mask;
	return i;
}

static bool seen_has(const struct seen_set *s, uint64_t h)
{
	return s->slot[seen_pos(s, h)] == h;
}

/* -ENOSPC past the entries the set was sized for. */
static int seen_add(struct seen_set *s, uint64_t h)
{
	size_t i = seen_pos(s, h);

	if (s->slot[i] == h)
		return 0;
	if (s->nlog == s->caplog)
		return -ENOSPC;
	s->slot[i] = h;
	s->log[s->nlog++] = i;
	return 0;
}

/*
 * Back to the first mark entries. Linear probing puts an entry in the
 * first free slot of its sequence; taking the newest out first restores
 * each slot as it was before, so no lookup loses its way.
 */
static void seen_undo(struct seen_set *s, size_t mark)
{
	while (s->nlog > mark)
		s->slot[s->log[--s->nlog]] = 0;
}

/*
 * tokio's OwnedTasks list (one per shard from 1.35) is doubly linked and
 * ends in null both ways. From one owned task, each step must land on a
 * task header whose link back is where it came from. Returns the tasks on
 * the list, 0 when it breaks; -ENOSPC when the budget of links ran out
 * before its ends (every link followed was consistent).
 */
static long walk_list(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
		      uint64_t start, struct seen_set *seen)
{
	size_t on_list = 1;
	int dir;

	if (seen_add(seen, start))
		return -ENOSPC;
	for (dir = 0; dir < 2; dir++) {
		uint64_t cur = start, next, back;

		for (;;) {
			if (read_link(pid, tb, bias, cur, dir, &next))
				return 0;
			if (!next)
				break;
			if (read_link(pid, tb, bias, next, !dir, &back) || back != cur ||
			    seen_has(seen, next))
				return 0;
			if (seen_add(seen, next))
				return -ENOSPC;
			on_list++;
			cur = next;
		}
	}
	return (long)on_list;
}

/* Lists walked at most: tokio shards a runtime's list in up to 65536 (1.35+). */
#define LISTS_MAX	256
/*
 * A list that changes while it is walked (a task spawned or freed between
 * two reads) can look broken once; a layout that is wrong breaks each time.
 */
#define WALK_TRIES	3

/* Walks the list of every owned task not on a list walked before. */
static void walk_lists(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
		       const struct mem_task *tasks, size_t n, size_t max_links,
		       struct layout_check *lc)
{
	struct seen_set seen;
	size_t i;

	lc->list_closed = true;
	if (seen_init(&seen, max_links)) {
		lc->list_closed = false;
		return;
	}
	for (i = 0; i < n && lc->lists < LISTS_MAX; i++) {
		size_t mark = seen.nlog;
		long got = 0;
		int try;

		/* blocking-pool tasks are on no owned list (blocking_task) */
		if (tasks[i].unowned || seen_has(&seen, tasks[i].header) ||
		    blocking_task(tb, &tasks[i]))
			continue;
		for (try = 0; try < WALK_TRIES && !got; try++) {
			seen_undo(&seen, mark);
			got = walk_list(pid, tb, bias, tasks[i].header, &seen);
		}
		if (got == -ENOSPC) {
			lc->list_budget_out = true;
			lc->list_tasks += seen.nlog - mark;
			break;
		}
		if (!got) {
			/*
			 * A cell freed a moment ago still holds its old links (the
			 * scan found it before the allocator reused it): a walk
			 * from there breaks. Counted; the verdict weighs them.
			 */
			seen_undo(&seen, mark);
			if (!lc->lists_broken++)
				lc->list_break_id = tasks[i].task_id;
			continue;
		}
		lc->lists++;
		lc->list_tasks += (size_t)got;
		if ((size_t)got > lc->longest_list)
			lc->longest_list = (size_t)got;
	}
	lc->list_closed = !lc->lists_broken;
	seen_free(&seen);
}

bool layout_check__vtables(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
			   struct layout_check *lc)
{
	size_t i;

	memset(lc, 0, sizeof(*lc));
	if (!tb->nvtables) {
		snprintf(lc->verdict, sizeof(lc->verdict),
			 "not confirmed: no task vtable in the binary to check against");
		return false;
	}
	lc->offsets_ok = layout_check__offsets(tb);
	if (lc->offsets_ok != tb->nvtables) {
		lc->refuted = true;
		snprintf(lc->verdict, sizeof(lc->verdict),
			 "not confirmed: %zu of %zu task vtables store header offsets out of the "
			 "%s cell's order", tb->nvtables - lc->offsets_ok, tb->nvtables,
			 tb->desc->name);
		return false;
	}
	for (i = 0; i < tb->nvtables; i++) {
		lc->vtables_checked++;
		lc->vtables_ok += vtable_as_mapped(pid, tb, bias, &tb->vtables[i]);
	}
	if (lc->vtables_ok != lc->vtables_checked) {
		lc->refuted = true;
		snprintf(lc->verdict, sizeof(lc->verdict),
			 "not confirmed: %zu of %zu task vtables differ in the process from the "
			 "binary's (not this binary, or another layout)",
			 lc->vtables_checked - lc->vtables_ok, lc->vtables_checked);
		return false;
	}
	return true;
}

void layout_check__tasks(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
			 const struct mem_task *tasks, size_t n, size_t max_links,
			 struct layout_check *lc)
{
	char ids[96] = "", list[128] = "";

	lc->tasks = n;
	lc->has_ids = tb->desc->vtable.id_offset != 0;
	lc->has_list = tb->desc->vtable.trailer_offset != 0;
	if (!n) {
		snprintf(lc->verdict, sizeof(lc->verdict),
			 "not confirmed: %zu task vtables as mapped, but no live task found in "
			 "memory to check the header layout against", lc->vtables_ok);
		return;
	}
	if (lc->has_ids) {
		if (tb->next_task_id_vaddr)
			proc_read_u64(pid, tb->next_task_id_vaddr + bias, &lc->next_id);
		size_t async_ok, counted;

		lc->ids_ok = ids_plausible(tb, tasks, n, lc->next_id, &async_ok, &counted);
		/*
		 * A cell being freed or reused while the scan reads it can give
		 * an odd Id; a wrong Id offset makes most of them odd.
		 */
		if (async_ok * 2 < counted) {
			lc->refuted = true;
			snprintf(lc->verdict, sizeof(lc->verdict),
				 "not confirmed: %zu of %zu task Ids read back are zero, repeated "
				 "or past the Id counter (%llu)", counted - async_ok, counted,
				 (unsigned long long)lc->next_id);
			return;
		}
		if (lc->next_id)
			snprintf(ids, sizeof(ids), ", %zu task Ids read back (distinct, below the "
				 "Id counter, %llu)", lc->ids_ok, (unsigned long long)lc->next_id);
		else
			snprintf(ids, sizeof(ids), ", %zu task Ids read back (distinct)", lc->ids_ok);
	}
	if (lc->has_list) {
		walk_lists(pid, tb, bias, tasks, n, max_links, lc);
		/*
		 * Freed cells break a walk each; a wrong link offset breaks every
		 * walk. A service spawning and freeing tasks all the time leaves
		 * more freed cells than it has lists, so a single list of two or
		 * more tasks linked both ways, which a wrong offset practically
		 * never yields, confirms it against any number of broken walks.
		 */
		if (lc->lists_broken > lc->lists && lc->longest_list < 2) {
			lc->refuted = true;
			snprintf(lc->verdict, sizeof(lc->verdict),
				 "not confirmed: the owned-task list of task %llu breaks (a link or "
				 "back link off the layout; %zu of %zu walks broke)",
				 (unsigned long long)lc->list_break_id, lc->lists_broken,
				 lc->lists_broken + lc->lists);
			return;
		}
		if (lc->list_budget_out)
			snprintf(list, sizeof(list), ", %zu owned-list links followed, each "
				 "linked back (%zu list%s walked end to end)", lc->list_tasks,
				 lc->lists, lc->lists == 1 ? "" : "s");
		else if (!lc->lists)
			snprintf(list, sizeof(list), ", no owned task to walk a list from");
		else
			snprintf(list, sizeof(list), ", %zu owned list%s walked end to end (%zu "
				 "task%s)", lc->lists, lc->lists == 1 ? "" : "s", lc->list_tasks,
				 lc->list_tasks == 1 ? "" : "s");
		if (lc->lists_broken) {
			size_t used = strlen(list);

			snprintf(list + used, sizeof(list) - used, ", %zu walk%s from a freed cell",
				 lc->lists_broken, lc->lists_broken == 1 ? "" : "s");
		}
	}
	lc->confirmed = true;
	snprintf(lc->verdict, sizeof(lc->verdict), "confirmed: %zu task vtables as mapped, %zu "
		 "tasks in memory%s%s", lc->vtables_ok, n, ids, list);
}

int layout_check__run(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
		      struct layout_check *lc)
{
	struct mem_scan_stats st;
	struct mem_task *tasks = NULL;
	size_t n = 0;
	int err;

	if (!layout_check__vtables(pid, tb, bias, lc))
		return 0;
	err = task_memory__discover(pid, tb, bias, &tasks, &n, &st);
	if (err && err != -ENOENT)
		return err;
	layout_check__tasks(pid, tb, bias, tasks, n, LIST_WALK_MAX, lc);
	free(tasks);
	return 0;
}
