/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <dwarf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "await_chain.h"
#include "dwarf_index.h"
#include "intern.h"
#include "dwarf_types.h"
#include "dwarf_walk.h"


/* What a raw::poll<T, S> instance tells about its tasks; one per instance. */
struct poll_info {
	uint64_t vaddr;
	int err;
	Dwarf_Off t_off;		/* the future type T */
	uint64_t stage_off;		/* Stage<T> from the Header (= Cell start) */
	const struct dw_type *stage;	/* the Stage enum */
	char future_name[192];
};

struct chain_cache {
	struct poll_info *polls;
	size_t npolls, cap_polls;
};

int ts_dwarf__open(const char *elf_path, const char *debuginfo_path, struct ts_dwarf **out,
		   char *why, size_t whylen)
{
	struct ts_dwarf *dw;
	int err;

	*out = NULL;
	if (whylen)
		why[0] = '\0';
	dw = calloc(1, sizeof(*dw));
	if (!dw)
		return -ENOMEM;
	err = dw_index__open(dw, elf_path, debuginfo_path, why, whylen);
	if (err) {
		ts_dwarf__close(dw);
		return err;
	}
	*out = dw;
	return 0;
}

void ts_dwarf__close(struct ts_dwarf *dw)
{
	if (!dw)
		return;
	if (dw->chain) {
		free(dw->chain->polls);
		free(dw->chain);
	}
	thread_root__free(dw);
	dw_types__free(dw);
	dw_index__close(dw);
	free(dw);
}

int ts_dwarf__member_offset(struct ts_dwarf *dw, const char *struct_name, const char *member,
			    uint64_t *off)
{
	const struct dw_type *t, *mt;
	Dwarf_Off toff;
	int err;

	err = dw_index__find_type(dw, struct_name, &toff);
	if (err)
		return err;
	t = dw_type__get(dw, toff);
	if (!t)
		return -ENOENT;
	return dw_type__find_path(dw, t, member, off, &mt);
}

/* --- the task's future: raw::poll<T, S> -> Cell<T, S> -> core.stage ----- */

bool chain_template_param(Dwarf_Die *fn, const char *name, Dwarf_Off *off, int depth)
{
	Dwarf_Die child, ty;
	Dwarf_Attribute a;

	if (dwarf_child(fn, &child) == 0) {
		do {
			const char *n;

			if (dwarf_tag(&child) != DW_TAG_template_type_parameter)
				continue;
			n = dwarf_diename(&child);
			if (n && !strcmp(n, name) && dwarf_attr(&child, DW_AT_type, &a) &&
			    dwarf_formref_die(&a, &ty)) {
				*off = dwarf_dieoffset(&ty);
				return true;
			}
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	/* a concrete instance may keep its template parameters on its declaration */
	if (depth < 4 && (dwarf_attr(fn, DW_AT_specification, &a) ||
			  dwarf_attr(fn, DW_AT_abstract_origin, &a)) &&
	    dwarf_formref_die(&a, &ty))
		return chain_template_param(&ty, name, off, depth + 1);
	return false;
}

/* The `harness` local of raw::poll has type Harness<T, S> { cell: NonNull<Cell<T, S>> }. */
static Dwarf_Off cell_from_harness(struct ts_dwarf *dw, Dwarf_Die *fn)
{
	Dwarf_Die stack[8], die;
	int n = 0;

	if (dwarf_child(fn, &die) != 0)
		return 0;
	for (;;) {
		int tag = dwarf_tag(&die);
		const char *name = dwarf_diename(&die);

		if (tag == DW_TAG_variable && name && !strcmp(name, "harness")) {
			Dwarf_Attribute a;
			Dwarf_Die ty;
			const struct dw_type *h, *pt;
			const struct dw_member *cell;
			uint64_t off;

			if (!dwarf_attr_integrate(&die, DW_AT_type, &a) || !dwarf_formref_die(&a, &ty))
				return 0;
			h = dw_type__get(dw, dwarf_dieoffset(&ty));
			cell = dw_type__member(h, "cell");
			if (!cell || dw_type__first_pointer(dw, dw_type__get(dw, cell->type), 4, &off, &pt))
				return 0;
			return pt->target;
		}
		if ((tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine) && n < 8 &&
		    dwarf_child(&die, &stack[n]) == 0) {
			Dwarf_Die tmp = stack[n];

			stack[n++] = die;
			die = tmp;
			continue;
		}
		while (dwarf_siblingof(&die, &die) != 0) {
			if (n == 0)
				return 0;
			die = stack[--n];
		}
	}
}

/* Down through single-field wrappers (CoreStage, UnsafeCell) to the Stage enum. */
static const struct dw_type *unwrap_to_enum(struct ts_dwarf *dw, const struct dw_type *t,
					    uint64_t *off)
{
	int i;

	for (i = 0; t && i < 8; i++) {
		const struct dw_member *only = NULL;
		size_t k;

		if (t->has_variants)
			return t;
		if (t->kind != DW_K_STRUCT)
			return NULL;
		for (k = 0; k < t->nmembers; k++) {
			if (dw_type__is_zst(dw_type__get(dw, t->members[k].type)))
				continue;
			if (only)
				return NULL;
			only = &t->members[k];
		}
		if (!only)
			return NULL;
		*off += only->off;
		t = dw_type__get(dw, only->type);
	}
	return NULL;
}

static struct poll_info *resolve_poll(struct ts_dwarf *dw, uint64_t vaddr)
{
	struct chain_cache *cc = dw->chain;
	struct poll_info *pi;
	const struct dw_type *cell, *stage_wrap, *t;
	Dwarf_Off cell_off = 0;
	char qname[1024];
	Dwarf_Die fn;
	size_t i;

	if (!cc) {
		cc = calloc(1, sizeof(*cc));
		if (!cc)
			return NULL;
		dw->chain = cc;
	}
	for (i = 0; i < cc->npolls; i++)
		if (cc->polls[i].vaddr == vaddr)
			return &cc->polls[i];
	pi = ts_array_add(&cc->polls, &cc->npolls, &cc->cap_polls);
	if (!pi)
		return NULL;
	pi->vaddr = vaddr;
	pi->err = -ENOENT;
	if (dw_index__func_at(dw, vaddr, &fn) || !chain_template_param(&fn, "T", &pi->t_off, 0))
		return pi;
	t = dw_type__get(dw, pi->t_off);
	if (t) {
		snprintf(qname, sizeof(qname), "%s", dw_type__qname(dw, t));
		ts_await_readable_name(qname, NULL, pi->future_name, sizeof(pi->future_name));
	}
	cell_off = cell_from_harness(dw, &fn);
	if (!cell_off)
		dw_index__find_generic(dw, pi->t_off, "tokio::runtime::task::core::Cell",
				       pi->t_off, &cell_off);
	cell = dw_type__get(dw, cell_off);
	if (!cell || dw_type__find_path(dw, cell, "core.stage", &pi->stage_off, &stage_wrap))
		return pi;
	pi->stage = unwrap_to_enum(dw, stage_wrap, &pi->stage_off);
	if (pi->stage)
		pi->err = 0;
	return pi;
}

int ts_dwarf__future_name(struct ts_dwarf *dw, uint64_t poll_fn_vaddr, char *buf, size_t len)
{
	struct poll_info *pi = resolve_poll(dw, poll_fn_vaddr);

	if (!pi)
		return -ENOMEM;
	if (!pi->future_name[0])
		return -ENOENT;
	snprintf(buf, len, "%s", pi->future_name);
	return 0;
}

/* --- the walk ------------------------------------------------------------- */

int ts_dwarf__poll_future(struct ts_dwarf *dw, uint64_t poll_fn_vaddr, uint64_t *future_off,
			  uint64_t *type_off)
{
	struct poll_info *pi = resolve_poll(dw, poll_fn_vaddr);
	const struct dw_variant *running = NULL;
	const struct dw_member *fut;
	size_t i;

	if (!pi)
		return -ENOMEM;
	if (pi->err)
		return pi->err;
	for (i = 0; i < pi->stage->nvariants; i++)
		if (pi->stage->variants[i].name && !strcmp(pi->stage->variants[i].name, "Running"))
			running = &pi->stage->variants[i];
	if (!running)
		return -ENOENT;
	fut = dw_type__member(dw_type__get(dw, running->type), "__0");
	if (!fut)
		return -ENOENT;
	*future_off = pi->stage_off + running->off + fut->off;
	*type_off = fut->type;
	return 0;
}

static bool seen_before(struct walk *w, uint64_t addr, Dwarf_Off type)
{
	int i;

	for (i = 0; i < w->nseen; i++)
		if (w->seen_addr[i] == addr && w->seen_type[i] == type)
			return true;
	if (w->nseen < WALK_MAX_STEPS) {
		w->seen_addr[w->nseen] = addr;
		w->seen_type[w->nseen++] = type;
	}
	return false;
}

/* The type `self` has in a method's state machine, pointee when a reference. */
static const struct dw_type *self_type_of(struct ts_dwarf *dw, const struct dw_type *sm)
{
	size_t i;

	for (i = 0; i < sm->nvariants; i++) {
		const struct dw_type *vt = dw_type__get(dw, sm->variants[i].type);
		const struct dw_member *self = dw_type__member(vt, "self");
		const struct dw_type *st;

		if (!self)
			continue;
		st = dw_type__get(dw, self->type);
		if (st && st->kind == DW_K_PTR)
			st = dw_type__get(dw, st->target);
		return st;
	}
	return NULL;
}

static void readable_type(struct ts_dwarf *dw, const struct dw_type *t, char *out, size_t len)
{
	const struct dw_type *self = t->coroutine ? self_type_of(dw, t) : NULL;
	char self_name[512] = "";

	if (self)
		ts_await_readable_name(dw_type__qname(dw, self), NULL, self_name, sizeof(self_name));
	ts_await_readable_name(dw_type__qname(dw, t), self_name[0] ? self_name : NULL, out, len);
}

static struct ts_await_frame *push_frame(struct walk *w, uint64_t addr)
{
	struct ts_await_frame *f;

	if (w->c->nframes >= TS_CHAIN_MAX_FRAMES) {
		w->c->truncated = true;
		w->frames_full = true;
		return NULL;
	}
	f = &w->c->frames[w->c->nframes++];
	memset(f, 0, sizeof(*f));
	f->addr = addr;
	return f;
}

static bool has_var(const struct ts_await_frame *f, const char *name)
{
	int i;

	for (i = 0; i < f->nvars; i++)
		if (!strcmp(f->vars[i].name, name))
			return true;
	return false;
}

static void capture_vars(struct walk *w, struct ts_await_frame *f, const struct dw_type *vt,
			 uint64_t base)
{
	int fi = w->c->nframes - 1;
	size_t i;

	for (i = 0; vt && i < vt->nmembers; i++) {
		const struct dw_member *m = &vt->members[i];
		const struct dw_type *t;
		struct ts_await_var *v;
		uint64_t p = 0;

		if (!m->name || !strncmp(m->name, "__", 2) || has_var(f, m->name))
			continue;
		t = dw_type__get(w->dw, m->type);
		if (!t)
			continue;
		if (!strcmp(m->name, "self") && fi >= 0) {
			/* kept as (address of the value, its type): `&self` is dereferenced */
			w->self_type[fi] = t;
			w->self_ptr[fi] = base + m->off;
			if (t->kind == DW_K_PTR) {
				w->self_type[fi] = dw_type__get(w->dw, t->target);
				if (mem_reader__u64(w->mr, base + m->off, &w->self_ptr[fi]))
					w->self_ptr[fi] = 0;
			}
		}
		if (f->nvars >= TS_CHAIN_MAX_VARS)
			continue;
		v = &f->vars[f->nvars];
		if (chain_tokio_value(w, t, base + m->off, m->name, v->value, sizeof(v->value)) &&
		    dw_format_value(w->dw, w->mr, t, base + m->off, v->value, sizeof(v->value), &p))
			continue;
		snprintf(v->name, sizeof(v->name), "%s", m->name);
		f->nvars++;
	}
}

/* The type the first parameter of fn points to: `self: Pin<&mut T>` of a poll fn. */
static const struct dw_type *self_pointee(struct walk *w, Dwarf_Die *fn)
{
	const struct dw_type *pt, *pin;
	Dwarf_Attribute a;
	Dwarf_Die child, ty;
	uint64_t off;

	if (dwarf_child(fn, &child) != 0)
		return NULL;
	do {
		if (dwarf_tag(&child) != DW_TAG_formal_parameter)
			continue;
		if (!dwarf_attr_integrate(&child, DW_AT_type, &a) || !dwarf_formref_die(&a, &ty))
			return NULL;
		pin = dw_type__get(w->dw, dwarf_dieoffset(&ty));
		if (dw_type__first_pointer(w->dw, pin, 4, &off, &pt))
			return NULL;
		return dw_type__get(w->dw, pt->target);
	} while (dwarf_siblingof(&child, &child) == 0);
	return NULL;
}

/*
 * The concrete type of a dyn Future from its vtable (Rust vtables:
 * drop_in_place, size, align, then the methods: poll). rustc merges
 * identical functions, so a drop glue may be another type's: the size
 * and align in the vtable must agree, else the poll method decides.
 */
static const struct dw_type *dyn_concrete(struct walk *w, uint64_t vtable)
{
	const struct dw_type *t = NULL;
	uint64_t slot[4];
	Dwarf_Die fn;
	Dwarf_Off t_off;

	if (mem_reader__read(w->mr, vtable, slot, sizeof(slot)))
		return NULL;
	if (slot[0] > w->bias && !dw_index__func_at(w->dw, slot[0] - w->bias, &fn) &&
	    chain_template_param(&fn, "T", &t_off, 0))
		t = dw_type__get(w->dw, t_off);
	if (t && t->size == slot[1])
		return t;
	t = NULL;
	if (slot[3] > w->bias && !dw_index__func_at(w->dw, slot[3] - w->bias, &fn))
		t = self_pointee(w, &fn);
	return t && t->size == slot[1] ? t : NULL;
}

/* A combinator worth a line of its own (Timeout, a user's enum): its name, variant, facts. */
static void wrapper_frame(struct walk *w, const struct dw_type *t, const struct dw_type *vt,
			  const struct dw_variant *v, uint64_t base, const struct dw_member *next)
{
	struct ts_await_frame *f = w->frames_full ? NULL : push_frame(w, base);
	size_t i;

	if (!f)
		return;
	ts_await_readable_name(dw_type__qname(w->dw, t), NULL, f->func, sizeof(f->func));
	f->wrapper = true;
	f->external = true;
	if (v)
		snprintf(f->variant, sizeof(f->variant), "%s", v->name ? v->name : "");
	capture_vars(w, f, vt, base);
	/* a Timeout's own Sleep is worth showing next to it */
	for (i = 0; i < vt->nmembers && f->nvars < TS_CHAIN_MAX_VARS; i++) {
		const struct dw_type *mt = dw_type__get(w->dw, vt->members[i].type);
		struct ts_await_leaf saved = w->c->leaf;

		if (&vt->members[i] == next || !mt || !vt->members[i].name ||
		    strcmp(dw_type__qname(w->dw, mt), "tokio::time::sleep::Sleep"))
			continue;
		chain_leaf_timer(w, mt, base + vt->members[i].off);
		snprintf(f->vars[f->nvars].name, sizeof(f->vars[0].name), "%s", vt->members[i].name);
		snprintf(f->vars[f->nvars].value, sizeof(f->vars[0].value), "%.*s",
			 (int)sizeof(f->vars[0].value) - 1, w->c->leaf.detail);
		f->nvars++;
		if (!f->note[0])
			snprintf(f->note, sizeof(f->note), "%s: %.*s", vt->members[i].name,
				 (int)sizeof(f->note) - 16, w->c->leaf.detail);
		w->c->leaf = saved;
	}
}

/*
 * An await inside a macro (join!, select!) carries the macro's file and
 * line, not the caller's: show the function's own place (its Unresumed
 * variant's) and keep the macro's in the note.
 */
static void own_location(const struct dw_type *t, struct ts_await_frame *f)
{
	char own[sizeof(f->file)], note[sizeof(f->note)];
	bool ext;
	size_t i;

	for (i = 0; i < t->nvariants; i++) {
		const struct dw_variant *u = &t->variants[i];

		if (!u->type_name || strcmp(u->type_name, "Unresumed") || !u->file)
			continue;
		ts_await_short_path(u->file, own, sizeof(own), &ext);
		if (ext)
			return;
		snprintf(note, sizeof(note), "await in a macro at %.*s:%u",
			 (int)sizeof(note) - 32, f->file, f->line);
		memcpy(f->note, note, sizeof(f->note));
		memcpy(f->file, own, sizeof(f->file));
		f->path = u->comp_dir && u->file[0] != '/' ? ts_internf("%s/%s", u->comp_dir, u->file) :
			  ts_intern(u->file);
		f->line = u->line;
		f->external = false;
		return;
	}
}

static void walk_future(struct walk *w, const struct dw_type *t, uint64_t addr)
{
	for (;;) {
		const struct dw_member *ptr_m, *vt_m, *best = NULL;
		const char *macro;
		int pending, total;
		const struct dw_variant *v;
		const struct dw_type *vt;
		struct ts_await_frame *f;
		uint64_t p, base;
		int best_score = 0;
		size_t i, nonzst = 0;

		if (!t) {
			chain_set_leaf(w, TS_LEAF_UNREADABLE, "", addr, "no DWARF type for the awaited future");
			return;
		}
		if (++w->steps > WALK_MAX_STEPS || seen_before(w, addr, t->off)) {
			w->c->truncated = true;
			chain_set_leaf(w, TS_LEAF_UNREADABLE, dw_type__qname(w->dw, t), addr,
				 "chain too deep or cyclic");
			return;
		}
		if (t->coroutine) {
			if (t->size && (addr < w->mr->base || addr + t->size > w->mr->base + w->mr->len))
				mem_reader__window(w->mr, addr, t->size);
			v = dw_type__active_variant(t, w->mr, addr);
			if (!v) {
				chain_set_leaf(w, TS_LEAF_UNREADABLE, dw_type__qname(w->dw, t), addr,
					 "state unreadable");
				return;
			}
			vt = dw_type__get(w->dw, v->type);
			f = w->frames_full ? NULL : push_frame(w, addr);
			if (f) {
				readable_type(w->dw, t, f->func, sizeof(f->func));
				if (v->file) {
					ts_await_short_path(v->file, f->file, sizeof(f->file), &f->external);
					f->path = v->comp_dir && v->file[0] != '/' ?
						  ts_internf("%s/%s", v->comp_dir, v->file) :
						  ts_intern(v->file);
				}
				f->line = v->line;
				if (f->external)
					own_location(t, f);
				snprintf(f->variant, sizeof(f->variant), "%s",
					 v->type_name ? v->type_name : v->name ? v->name : "?");
				capture_vars(w, f, vt, addr);
			}
			if (v->type_name && !strcmp(v->type_name, "Unresumed")) {
				if (w->c->nframes == 1)
					w->c->status = TS_CHAIN_UNRESUMED;
				chain_set_leaf(w, TS_LEAF_NONE, "", addr, "not polled yet");
				return;
			}
			if (v->type_name && (!strcmp(v->type_name, "Returned") ||
					     !strcmp(v->type_name, "Panicked"))) {
				chain_set_leaf(w, TS_LEAF_NONE, "", addr,
					 !strcmp(v->type_name, "Returned") ? "returned" : "panicked");
				return;
			}
			ptr_m = dw_type__member(vt, "__awaitee");
			if (!ptr_m) {
				chain_set_leaf(w, TS_LEAF_UNKNOWN, "", addr, "suspended without an awaitee");
				return;
			}
			addr += v->off + ptr_m->off;
			t = dw_type__get(w->dw, ptr_m->type);
			continue;
		}
		if (t->kind == DW_K_PTR) {
			if (!chain_future_score(w->dw, t, WRAPPER_DEPTH)) {
				chain_leaf_unknown(w, t, addr);
				return;
			}
			if (mem_reader__u64(w->mr, addr, &p) || !p) {
				chain_set_leaf(w, TS_LEAF_UNREADABLE, dw_type__qname(w->dw, t), addr,
					 "pointer unreadable");
				return;
			}
			addr = p;
			t = dw_type__get(w->dw, t->target);
			continue;
		}
		if (t->kind != DW_K_STRUCT) {
			chain_leaf_unknown(w, t, addr);
			return;
		}
		if (chain_classify_leaf(w, t, addr))
			return;
		ptr_m = dw_type__member(t, "pointer");
		vt_m = dw_type__member(t, "vtable");
		if (chain_is_dyn(t)) {
			const struct dw_type *ct;
			uint64_t vtable;

			if (mem_reader__u64(w->mr, addr + ptr_m->off, &p) ||
			    mem_reader__u64(w->mr, addr + vt_m->off, &vtable)) {
				chain_set_leaf(w, TS_LEAF_UNREADABLE, dw_type__qname(w->dw, t), addr,
					 "dyn pointer unreadable");
				return;
			}
			ct = dyn_concrete(w, vtable);
			if (!ct) {
				chain_set_leaf(w, TS_LEAF_UNKNOWN, "dyn Future", p, "concrete type unknown");
				return;
			}
			addr = p;
			t = ct;
			continue;
		}
		/* a combinator, an enum, a closure: follow the future it waits on */
		base = addr;
		vt = t;
		v = NULL;
		if (t->has_variants) {
			v = dw_type__active_variant(t, w->mr, addr);
			vt = v ? dw_type__get(w->dw, v->type) : NULL;
			if (!vt) {
				chain_leaf_unknown(w, t, addr);
				return;
			}
			base = addr + v->off;
		}
		for (i = 0; i < vt->nmembers; i++) {
			const struct dw_type *mt = dw_type__get(w->dw, vt->members[i].type);
			int s;

			if (dw_type__is_zst(mt))
				continue;
			nonzst++;
			s = chain_pending_score(w, mt, base + vt->members[i].off, WRAPPER_DEPTH);
			if (s > best_score) {
				best_score = s;
				best = &vt->members[i];
			}
		}
		if (!best) {
			chain_leaf_unknown(w, t, addr);	/* recv's PollFn<closure>: no future inside */
			return;
		}
		if ((nonzst > 1 || v) && !chain_is_plumbing(dw_type__qname(w->dw, t)))
			wrapper_frame(w, t, vt, v, base, best);
		else if (chain_branches(w, vt, base, &macro, &pending, &total) &&
			 !w->frames_full && (f = push_frame(w, addr)) != NULL) {
			snprintf(f->func, sizeof(f->func), "tokio::%s", macro);
			snprintf(f->note, sizeof(f->note), "%d of %d branches pending", pending, total);
			f->wrapper = true;
			f->external = true;
		}
		addr = base + best->off;
		t = dw_type__get(w->dw, best->type);
	}
}

int ts_dwarf__task_chain(struct ts_dwarf *dw, pid_t pid, uint64_t load_bias, uint64_t poll_fn_vaddr,
			 uint64_t header_addr, struct ts_await_chain *out)
{
	struct mem_reader mr = { .pid = pid };
	struct walk *w;
	struct poll_info *pi;
	const struct dw_variant *v;
	const struct dw_type *vt;
	const struct dw_member *fut;
	uint64_t stage_addr, state;

	memset(out, 0, sizeof(*out));
	out->leaf.kind = TS_LEAF_NONE;
	pi = resolve_poll(dw, poll_fn_vaddr);
	if (!pi)
		return -ENOMEM;
	snprintf(out->future_type, sizeof(out->future_type), "%s", pi->future_name);
	if (pi->err) {
		out->status = TS_CHAIN_NO_TYPE;
		return pi->err;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->dw = dw;
	w->mr = &mr;
	w->c = out;
	w->bias = load_bias;
	/* tokio 1.24 Header.state @0, bit 0 RUNNING */
	if (mem_reader__u64(&mr, header_addr, &state) == 0)
		out->running = state & 1;
	stage_addr = header_addr + pi->stage_off;
	/* one read for the whole Stage: the outer future and usually most of the chain */
	if (mem_reader__window(&mr, stage_addr, pi->stage->size)) {
		out->status = TS_CHAIN_UNREADABLE;
		chain_set_leaf(w, TS_LEAF_UNREADABLE, "", header_addr, "task memory unreadable");
		goto done;
	}
	v = dw_type__active_variant(pi->stage, &mr, stage_addr);
	if (!v || !v->name) {
		out->status = TS_CHAIN_UNREADABLE;
		chain_set_leaf(w, TS_LEAF_UNREADABLE, "", header_addr, "task stage unreadable");
		goto done;
	}
	if (!strcmp(v->name, "Finished") || !strcmp(v->name, "Consumed")) {
		out->status = !strcmp(v->name, "Finished") ? TS_CHAIN_FINISHED : TS_CHAIN_CONSUMED;
		goto done;
	}
	vt = dw_type__get(dw, v->type);
	fut = dw_type__member(vt, "__0");
	if (!fut) {
		out->status = TS_CHAIN_NO_TYPE;
		goto done;
	}
	out->status = TS_CHAIN_SUSPENDED;
	walk_future(w, dw_type__get(dw, fut->type), stage_addr + v->off + fut->off);
done:
	free(w);
	mem_reader__free(&mr);
	return 0;
}

int chain_of_future(struct ts_dwarf *dw, struct mem_reader *mr, uint64_t load_bias,
		    Dwarf_Off type_off, uint64_t addr, struct ts_await_chain *out)
{
	const struct dw_type *t = dw_type__get(dw, type_off);
	struct walk *w;
	char qname[1024];

	memset(out, 0, sizeof(*out));
	out->leaf.kind = TS_LEAF_NONE;
	if (!t) {
		out->status = TS_CHAIN_NO_TYPE;
		return -ENOENT;
	}
	snprintf(qname, sizeof(qname), "%s", dw_type__qname(dw, t));
	ts_await_readable_name(qname, NULL, out->future_type, sizeof(out->future_type));
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->dw = dw;
	w->mr = mr;
	w->c = out;
	w->bias = load_bias;
	out->status = TS_CHAIN_SUSPENDED;
	walk_future(w, t, addr);
	free(w);
	return 0;
}
