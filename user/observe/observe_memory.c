/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The memory side of a snapshot: a scan merged with the maps, and its carry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "observe.h"

#define SPACESHIP(a, b) (((a) > (b)) - ((a) < (b)))

/* ---- a scan ------------------------------------------------------------- */

/*
 * A task freed inside its own last poll (tokio calls Harness::dealloc
 * directly) fires no dealloc probe: it is simply no longer in memory.
 * One woken and then freed without a poll lost that wake.
 */
static void settle_vanished(struct observed_proc *op, struct ts_process *p)
{
	size_t i;

	for (i = 0; i < p->ntasks; i++) {
		struct ts_task *t = &p->tasks[i];
		struct mem_task mt;

		if (t->in_memory || !t->seen_by_probe || t->state == TS_TASK_DONE ||
		    t->state == TS_TASK_RUNNING)
			continue;
		/* the scan may have stopped at its budget: ask the header itself */
		if (!task_memory__read(op->pid, &op->tb, op->bias, t->header, &mt) &&
		    !(mt.state_word & op->tb.layout.complete)) {
			t->in_memory = true;
			t->task_id = mt.task_id;
			continue;
		}
		ts_process__settle_freed(p, t);
	}
}

static int cmp_task_header(const void *a, const void *b, void *ctx)
{
	const struct ts_process *p = ctx;
	uint64_t x = p->tasks[*(const size_t *)a].header, y = p->tasks[*(const size_t *)b].header;

	return SPACESHIP(x, y);
}

static struct ts_task *seen_task(struct ts_process *p, const size_t *by_header, size_t n,
				 uint64_t header)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->tasks[by_header[mid]].header < header)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && p->tasks[by_header[lo]].header == header ? &p->tasks[by_header[lo]] : NULL;
}

/* Tasks no probe saw are as old as the attach, at least. */
/*
 * A multi-thread worker's launch task: its future type names
 * `multi_thread::worker::launch` when the binary names it (DWARF or drop
 * glue); an unnamed unowned task that is RUNNING forever is one too, since
 * a spawn_blocking job in progress is rarely caught unnamed.
 */
static bool is_worker_launch(const struct runtime_desc *d, const struct task_poll_fn *pf)
{
	return !pf->name[0] || runtime_desc__is_worker_launch(d, pf->future_type) ||
	       runtime_desc__is_worker_launch(d, pf->name);
}

/* A block_in_place hand-off: a worker on a new thread, not a blocking job. */
static void add_handoff(struct observed_proc *op, const struct task_poll_fn *pf)
{
	if (op->nhandoffs < ARRAY_SIZE(op->handoff_types))
		op->handoff_types[op->nhandoffs++] = ts_intern(pf->future_type[0] ? pf->future_type :
									     pf->name);
}

/* Links of the owned lists followed at attach at most: ~2 reads each. */
#define LAYOUT_LINKS_MAX	4096

/*
 * TASKSCOPE_TEST_LAYOUT_FAULT=owned-links makes the
 * check read the owned-list links 8 bytes off, as a tokio release that
 * moved them would put them: the suite's only way to see a refuted
 * layout on a real process, as every release we know shares one layout.
 */
bool observed_proc__check_layout(struct observed_proc *op, const struct mem_task *mt, size_t n)
{
	const char *fault = getenv("TASKSCOPE_TEST_LAYOUT_FAULT");
	struct runtime_binary tb = op->tb;
	struct runtime_desc desc;

	if (op->layout_done)
		return !op->memory_off;
	/*
	 * A live process only: the check is the attach-time guard against a
	 * release we don't know. A core is read as dumped, its segments as
	 * gcore wrote them; probes (taskscope probes PID) checks live ones.
	 */
	if (op->tb.runtime == TS_RT_USDT || op->core) {
		op->layout_done = true;
		snprintf(op->layout.verdict, sizeof(op->layout.verdict), "not checked: %s",
			 op->core ? "a core file is read as dumped" : "no layout (USDT)");
		return true;
	}
	if (fault && !strcmp(fault, "owned-links") && tb.desc) {
		desc = *tb.desc;
		desc.owned_links_off += 8;
		tb.desc = &desc;
	}
	if (layout_check__vtables(op->pid, &tb, op->bias, &op->layout)) {
		layout_check__tasks(op->pid, &tb, op->bias, mt, n, LAYOUT_LINKS_MAX, &op->layout);
		/* no task yet: nothing to check against, try again at the next scan */
		op->layout_done = n > 0;
	} else {
		op->layout_done = op->layout.refuted || !op->tb.nvtables;
	}
	op->memory_off = op->layout.refuted;
	return !op->memory_off;
}

int observed_proc__merge_memory(struct observed_proc *op, struct ts_process *p)
{
	struct mem_scan_stats ms;
	struct mem_task *mt = NULL;
	size_t n = 0, i, nseen, *by_header, nlaunch = 0, nbusy = 0;
	int err;

	if (op->memory_off)
		return 0;
	if (op->use_mem_given) {
		memset(&ms, 0, sizeof(ms));
		n = op->nmem_given;
		mt = malloc((n ? n : 1) * sizeof(*mt));
		if (!mt)
			return -ENOMEM;
		if (n)
			memcpy(mt, op->mem_given, n * sizeof(*mt));
	} else {
		err = task_memory__discover(op->pid, &op->tb, op->bias, &mt, &n, &ms);
		if (err)
			return err;
	}
	if (!observed_proc__check_layout(op, mt, n)) {
		free(mt);
		return 0;
	}
	op->nhandoffs = 0;
	p->mem_bytes_scanned = ms.bytes_scanned;
	p->mem_scan_truncated = ms.truncated;
	/* the probe-seen tasks, by header, to merge with memory's in O(n log n) */
	by_header = calloc(p->ntasks + 1, sizeof(*by_header));
	if (!by_header) {
		free(mt);
		return -ENOMEM;
	}
	nseen = p->ntasks;
	for (i = 0; i < nseen; i++)
		by_header[i] = i;
	qsort_r(by_header, nseen, sizeof(*by_header), cmp_task_header, p);
	/* one growth for every task memory found, not a doubling series of copies */
	if (ts_array_reserve(&p->tasks, &p->tasks_cap, p->ntasks + n)) {
		free(by_header);
		free(mt);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const struct task_vtable *vt = &op->tb.vtables[mt[i].vtable_idx];
		struct ts_task *t = seen_task(p, by_header, nseen, mt[i].header);

		/*
		 * The blocking pool is not async tasks (see task_unowned in
		 * bpf/). Each worker thread runs inside one unowned task that
		 * is always RUNNING: those count the workers.
		 */
		if (op->tb.polls[vt->poll_idx].blocking || mt[i].unowned) {
			if (!(mt[i].state_word & op->tb.layout.running))
				continue;
			if (is_worker_launch(op->tb.desc, &op->tb.polls[vt->poll_idx]))
				nlaunch++;
			else if (runtime_desc__is_worker_handoff(op->tb.desc,
								 op->tb.polls[vt->poll_idx].future_type) ||
				 runtime_desc__is_worker_handoff(op->tb.desc,
								 op->tb.polls[vt->poll_idx].name))
				add_handoff(op, &op->tb.polls[vt->poll_idx]);
			else
				nbusy++;
			continue;
		}
		if (t && t->state == TS_TASK_DONE) {
			/* the allocator reused a finished task's cell */
			memset(t, 0, sizeof(*t));
			t->name = t->future_type = t->location = "";
			t->header = mt[i].header;
		}
		if (!t) {
			t = ts_process__add_task(p);
			if (!t) {
				err = -ENOMEM;
				break;
			}
			t->header = mt[i].header;
		}
		t->in_memory = true;
		t->state_word = mt[i].state_word;
		t->task_id = mt[i].task_id;
		t->owner_id = mt[i].owner_id;
		if (!t->name[0])
			observed_proc__name_task(op, t, vt->poll_idx);
		if (mt[i].state_word & op->tb.layout.complete) {
			/* finished; the JoinHandle still holds the cell */
			t->state = TS_TASK_DONE;
		} else if (!t->seen_by_probe) {
			t->state_from_memory = true;
			t->state = task_layout__state(&op->tb.layout, mt[i].state_word);
			if (op->next_task_id_at_attach && t->task_id >= op->next_task_id_at_attach) {
				/* spawned during the window: how long it has waited is unknown */
				t->spawned_in_window = true;
			} else {
				t->since_attach = true;
				t->in_state_ns = p->snapshot_ns - op->attach_ns;
			}
		}
	}
	op->worker_launch_tasks = nlaunch;
	op->blocking_jobs = nbusy;
	free(mt);
	free(by_header);
	/* USDT tasks live only in what the runtime told us, not in a known layout */
	if (!err && op->tb.runtime != TS_RT_USDT)
		settle_vanished(op, p);
	return err;
}

/* ---- carrying the last scan --------------------------------------------- */

static int cmp_verdict(const void *a, const void *b)
{
	const struct mem_verdict *x = a, *y = b;

	return SPACESHIP(x->header, y->header);
}

int mem_carry__take(struct mem_carry *c, const struct ts_process *scan)
{
	struct mem_verdict *nv;
	struct ts_task *nm;
	size_t i, k = 0, m = 0, nmem = 0;

	for (i = 0; i < scan->ntasks; i++)
		if (!scan->tasks[i].seen_by_probe)
			nmem++;
	nv = calloc(scan->ntasks - nmem + 1, sizeof(*nv));
	nm = calloc(nmem + 1, sizeof(*nm));
	if (!nv || !nm) {
		free(nv);
		free(nm);
		return -ENOMEM;
	}
	for (i = 0; i < scan->ntasks; i++) {
		const struct ts_task *t = &scan->tasks[i];

		if (!t->seen_by_probe) {
			nm[m] = *t;
			nm[m++].chain = NULL;	/* the snapshot owns it */
			continue;
		}
		nv[k].header = t->header;
		nv[k].last_transition_ns = t->st.last_transition_ns;
		nv[k].polls = t->st.polls;
		nv[k].wakes = t->st.wakes;
		nv[k].bpf_state = t->st.state;
		nv[k].state = t->state;
		nv[k].in_memory = t->in_memory;
		nv[k].task_id = t->task_id;
		nv[k].owner_id = t->owner_id;
		k++;
	}
	qsort(nv, k, sizeof(*nv), cmp_verdict);
	mem_carry__free(c);
	c->verdicts = nv;
	c->nverdicts = k;
	c->mem_only = nm;
	c->nmem_only = m;
	return 0;
}

static const struct mem_verdict *find_verdict(const struct mem_carry *c, uint64_t header)
{
	struct mem_verdict key = { .header = header };

	return c->nverdicts ? bsearch(&key, c->verdicts, c->nverdicts, sizeof(key), cmp_verdict) :
			      NULL;
}

static bool verdict_matches(const struct mem_verdict *vd, const struct ts_task *t)
{
	return vd && vd->last_transition_ns == t->st.last_transition_ns &&
	       vd->polls == t->st.polls && vd->wakes == t->st.wakes &&
	       vd->bpf_state == t->st.state;
}

bool mem_carry__confirms(const struct mem_carry *c, const struct ts_task *t)
{
	if (!t->seen_by_probe)
		return true;
	return verdict_matches(find_verdict(c, t->header), t);
}

int mem_carry__apply(const struct mem_carry *c, struct ts_process *p)
{
	size_t i, nseen = p->ntasks;

	for (i = 0; i < nseen; i++) {
		struct ts_task *t = &p->tasks[i];
		const struct mem_verdict *vd = find_verdict(c, t->header);

		if (!verdict_matches(vd, t))
			continue;	/* news since the scan: the maps know best */
		t->in_memory = vd->in_memory;
		if (!t->task_id)
			t->task_id = vd->task_id;
		if (!t->owner_id)
			t->owner_id = vd->owner_id;
		/* the scan found it freed: the maps still hold its last state */
		if (vd->state == TS_TASK_DONE && t->state != TS_TASK_DONE &&
		    ts_process__settle_freed(p, t))
			return -ENOMEM;
	}
	/* one growth for them all: a million carried tasks are 376 MB to place */
	if (ts_array_reserve(&p->tasks, &p->tasks_cap, p->ntasks + c->nmem_only))
		return -ENOMEM;
	for (i = 0; i < c->nmem_only; i++) {
		const struct ts_task *m = &c->mem_only[i];
		struct ts_task *t;
		size_t k;
		bool seen = false;

		/* once a probe fires for it, the maps have it */
		for (k = 0; k < nseen && !seen; k++)
			seen = p->tasks[k].header == m->header;
		if (seen)
			continue;
		t = ts_process__add_task(p);
		if (!t)
			return -ENOMEM;
		*t = *m;
		t->chain = NULL;
		if (t->since_attach && p->snapshot_ns > p->attach_ns)
			t->in_state_ns = p->snapshot_ns - p->attach_ns;
	}
	return 0;
}

void mem_carry__free(struct mem_carry *c)
{
	free(c->verdicts);
	free(c->mem_only);
	memset(c, 0, sizeof(*c));
}
