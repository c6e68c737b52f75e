// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tables BPF walks a task's state machines with (taskscope.h profile
 * section), built once from DWARF before the window, and the statistics
 * it kept, read once after it: nothing per event crosses to user space.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "array.h"
#include "attach.h"
#include "dwarf_types.h"
#include "intern.h"
#include "profile.h"
#include "runtime_binary.h"
#include "taskscope.skel.h"

static int sm_index(struct ts_prof_tables *t, struct ts_dwarf *dw, const struct dw_type *sm);

/* Suspend<N> of state machine sm (index smi) awaiting a future of type at */
static int add_suspend(struct ts_prof_tables *t, struct ts_dwarf *dw, uint32_t smi,
		       const struct dw_type *sm, const struct dw_variant *v)
{
	const struct dw_type *vt = dw_type__get(dw, v->type), *at;
	const struct dw_member *m = vt ? dw_type__member(vt, "__awaitee") : NULL;
	struct ts_prof_await_point *a;
	struct ts_prof_susp_entry *e;
	char name[256], file[128];
	uint32_t await_id;
	int next;

	if (!m || !(at = dw_type__get(dw, m->type)))
		return 0;
	await_id = (uint32_t)t->nawaits;
	a = ts_array_add(&t->awaits, &t->nawaits, &t->cap_awaits);
	if (!a)
		return -ENOMEM;
	ts_await_readable_name(dw_type__qname(dw, sm), NULL, name, sizeof(name));
	a->func = ts_intern(name);
	file[0] = '\0';
	if (v->file)
		ts_await_short_path(v->file, file, sizeof(file), &a->external);
	a->file = ts_intern(file);
	a->line = v->line;
	ts_await_readable_name(dw_type__qname(dw, at), NULL, name, sizeof(name));
	a->awaitee = ts_intern(name);
	/* a state machine can await itself only through a pointer: no loop here */
	next = at->coroutine ? sm_index(t, dw, at) : -1;
	if (next == -ENOMEM)
		return next;
	a = &t->awaits[await_id];	/* sm_index may have moved the array */
	if (next < 0) {
		a->leaf = true;
		a->leaf_kind = ts_leaf_kind_of_type(dw_type__qname(dw, at), dw_type__qname(dw, sm));
	}
	if (t->nsusp >= TS_PROF_MAX_SUSPENDS)
		return 0;
	e = ts_array_add(&t->susp, &t->nsusp, &t->cap_susp);
	if (!e)
		return -ENOMEM;
	e->key.sm = smi;
	e->key.discr = (uint32_t)v->discr;
	e->val.await_id = await_id;
	e->val.next_sm = next < 0 ? TS_PROF_NONE : (uint32_t)next;
	e->val.awaitee_off = v->off + m->off;
	return 0;
}

/* The index of state machine type sm, described with its suspension points on first sight. */
static int sm_index(struct ts_prof_tables *t, struct ts_dwarf *dw, const struct dw_type *sm)
{
	struct ts_prof_sm_entry *d;
	size_t i, smi;
	int err;

	/* a few thousand types in a big service: a linear search, once each */
	for (i = 0; i < t->nsms; i++)
		if (t->sms[i].die == sm->off)
			return (int)i;
	if (!sm->has_discr || t->nsms >= TS_PROF_MAX_SMS ||
	    (sm->discr_size != 1 && sm->discr_size != 2 && sm->discr_size != 4 &&
	     sm->discr_size != 8))
		return -ENOENT;
	smi = t->nsms;
	d = ts_array_add(&t->sms, &t->nsms, &t->cap_sms);
	if (!d)
		return -ENOMEM;
	d->die = sm->off;
	d->sm.discr_off = (uint32_t)sm->discr_off;
	d->sm.discr_size = (uint32_t)sm->discr_size;
	for (i = 0; i < sm->nvariants; i++) {
		const struct dw_variant *v = &sm->variants[i];

		if (!v->has_discr || !v->type_name || strncmp(v->type_name, "Suspend", 7))
			continue;
		err = add_suspend(t, dw, (uint32_t)smi, sm, v);
		if (err)
			return err;
	}
	return (int)smi;
}

/*
 * A wrapper around the task's state machine at a fixed offset: a plain
 * struct (no variants, no pointers followed) with exactly one state
 * machine among its fields, a few levels down: a poll counter, tracing's
 * Instrumented<F> { inner, span }. BPF then starts at that offset.
 */
static const struct dw_type *inner_coroutine(struct ts_dwarf *dw, const struct dw_type *t,
					     int depth, uint64_t *off)
{
	const struct dw_type *found = NULL, *mt, *c;
	uint64_t found_off = 0, o;
	size_t i;

	if (!t || t->kind != DW_K_STRUCT || t->has_variants || depth > 3)
		return NULL;
	for (i = 0; i < t->nmembers; i++) {
		mt = dw_type__get(dw, t->members[i].type);
		if (!mt)
			continue;
		o = 0;
		c = mt->coroutine ? mt : inner_coroutine(dw, mt, depth + 1, &o);
		if (!c)
			continue;
		if (found)
			return NULL;	/* two futures (join!, select!): which one runs is memory's call */
		found = c;
		found_off = t->members[i].off + o;
	}
	if (found)
		*off = found_off;
	return found;
}

int ts_prof_tables__build(struct ts_prof_tables *t, struct ts_dwarf *dw,
			  const struct runtime_binary *tb)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->npolls = tb->npolls < TS_PROF_MAX_POLLS ? tb->npolls : TS_PROF_MAX_POLLS;
	t->polls = calloc(t->npolls ? t->npolls : 1, sizeof(*t->polls));
	t->poll_names = calloc(t->npolls ? t->npolls : 1, sizeof(*t->poll_names));
	if (!t->polls || !t->poll_names)
		return -ENOMEM;
	for (i = 0; i < t->npolls; i++) {
		const struct task_poll_fn *pf = &tb->polls[i];
		uint64_t off = 0, type_off = 0;
		const struct dw_type *ft;
		char name[256];
		int smi;

		t->polls[i].sm = TS_PROF_NONE;
		t->poll_names[i] = ts_intern(pf->name[0] ? pf->name : "?");
		if (pf->blocking || !dw)
			continue;
		if (ts_dwarf__future_name(dw, pf->fn.vaddr, name, sizeof(name)) == 0)
			t->poll_names[i] = ts_intern(name);
		if (ts_dwarf__poll_future(dw, pf->fn.vaddr, &off, &type_off))
			continue;
		ft = dw_type__get(dw, type_off);
		if (ft && !ft->coroutine) {
			uint64_t inner = 0;

			ft = inner_coroutine(dw, ft, 0, &inner);
			off += inner;
		}
		if (!ft)
			continue;	/* a combinator or a hand-written future: per type only */
		smi = sm_index(t, dw, ft);
		if (smi == -ENOMEM)
			return smi;
		if (smi < 0)
			continue;
		t->polls[i].sm = (uint32_t)smi;
		t->polls[i].future_off = off;
		t->polls_described++;
	}
	return 0;
}

void ts_prof_tables__free(struct ts_prof_tables *t)
{
	free(t->awaits);
	free(t->sms);
	free(t->susp);
	free(t->polls);
	free(t->poll_names);
	memset(t, 0, sizeof(*t));
}

int ts_prof_tables__load(const struct ts_prof_tables *t, struct ts_bpf *b)
{
	int polls_fd = bpf_map__fd(b->skel->maps.prof_polls);
	int sms_fd = bpf_map__fd(b->skel->maps.prof_sms);
	int susp_fd = bpf_map__fd(b->skel->maps.prof_suspends);
	uint32_t i;

	for (i = 0; i < t->npolls; i++)
		if (bpf_map_update_elem(polls_fd, &i, &t->polls[i], BPF_ANY))
			return -errno;
	for (i = 0; i < t->nsms; i++)
		if (bpf_map_update_elem(sms_fd, &i, &t->sms[i].sm, BPF_ANY))
			return -errno;
	for (i = 0; i < t->nsusp; i++)
		if (bpf_map_update_elem(susp_fd, &t->susp[i].key, &t->susp[i].val, BPF_ANY))
			return -errno;
	b->skel->bss->profile_on = 1;
	return 0;
}

void ts_prof__stop(struct ts_bpf *b)
{
	if (b && b->skel && b->skel->bss)
		b->skel->bss->profile_on = 0;
}

int ts_prof__read_paths(struct ts_bpf *b, uint32_t tgid, struct ts_prof_path **out, size_t *n)
{
	int fd = bpf_map__fd(b->skel->maps.prof_stats);
	struct ts_prof_key key, next;
	struct ts_prof_path *p;
	size_t cap = 0;
	void *prev = NULL;

	*out = NULL;
	*n = 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key.tgid != tgid)
			continue;
		p = ts_array_add(out, n, &cap);
		if (!p)
			return -ENOMEM;
		p->key = key;
		if (bpf_map_lookup_elem(fd, &key, &p->st))
			(*n)--;	/* gone meanwhile (LRU) */
	}
	return 0;
}
