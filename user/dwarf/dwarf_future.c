/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which value inside a combinator is the future it waits on: Timeout's
 * inner future, the pending branches of join!/select!, an enum's active
 * variant, what a Pin<Box<F>> or &mut F points to. First by type (could a
 * future be in there?), then by memory (is it still pending?).
 */
#include <stdio.h>
#include <string.h>

#include "await_chain.h"
#include "dwarf_types.h"
#include "dwarf_walk.h"

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Shared state (Arc, Rc) is somebody's data, not a future this one owns. */
static bool shared_pointer(const char *qn)
{
	return starts(qn, "alloc::sync::Arc<") || starts(qn, "alloc::rc::Rc<") ||
	       starts(qn, "alloc::sync::Weak<") || starts(qn, "alloc::rc::Weak<");
}

bool chain_is_dyn(const struct dw_type *t)
{
	return t && t->kind == DW_K_STRUCT && t->nmembers == 2 && dw_type__member(t, "pointer") &&
	       dw_type__member(t, "vtable");
}

int chain_future_score(struct ts_dwarf *dw, const struct dw_type *t, int depth)
{
	int best = 0, s;
	size_t i, k;

	if (!t || depth < 0)
		return 0;
	if (t->coroutine)
		return 2;
	if (t->kind == DW_K_PTR)	/* Pin<Box<F>>, &mut F, join!'s &mut (MaybeDone<F>, ..) */
		return chain_future_score(dw, dw_type__get(dw, t->target), depth - 1);
	if (t->kind != DW_K_STRUCT)
		return 0;
	if (chain_is_leaf_type(dw_type__qname(dw, t)) || chain_is_dyn(t))
		return 1;
	if (shared_pointer(dw_type__qname(dw, t)))
		return 0;
	for (i = 0; i < t->nmembers && best < 2; i++) {
		s = chain_future_score(dw, dw_type__get(dw, t->members[i].type), depth - 1);
		best = s > best ? s : best;
	}
	for (k = 0; k < t->nvariants && best < 2; k++) {
		s = chain_future_score(dw, dw_type__get(dw, t->variants[k].type), depth - 1);
		best = s > best ? s : best;
	}
	return best;
}

int chain_pending_score(struct walk *w, const struct dw_type *t, uint64_t addr, int depth)
{
	const struct dw_variant *v;
	const struct dw_type *vt;
	uint64_t p;
	int best = 0, s;
	size_t i;

	if (!t || depth < 0 || chain_future_score(w->dw, t, depth) == 0)
		return 0;
	if (t->coroutine) {
		v = dw_type__active_variant(t, w->mr, addr);
		if (!v || (v->type_name && (!strcmp(v->type_name, "Returned") ||
					    !strcmp(v->type_name, "Panicked"))))
			return 0;
		return 2;
	}
	if (t->kind == DW_K_PTR) {
		if (mem_reader__u64(w->mr, addr, &p) || !p)
			return 0;
		return chain_pending_score(w, dw_type__get(w->dw, t->target), p, depth - 1);
	}
	if (chain_is_leaf_type(dw_type__qname(w->dw, t)) || chain_is_dyn(t))
		return 1;
	vt = t;
	if (t->has_variants) {
		v = dw_type__active_variant(t, w->mr, addr);
		vt = v ? dw_type__get(w->dw, v->type) : NULL;
		if (!vt)
			return 0;
		addr += v->off;
	}
	for (i = 0; i < vt->nmembers && best < 2; i++) {
		s = chain_pending_score(w, dw_type__get(w->dw, vt->members[i].type),
					addr + vt->members[i].off, depth - 1);
		best = s > best ? s : best;
	}
	return best;
}

bool chain_is_plumbing(const char *qn)
{
	return qn[0] == '(' || strstr(qn, "{closure_env#") ||
	       starts(qn, "tokio::future::poll_fn::PollFn<") || starts(qn, "core::future::poll_fn::PollFn<") ||
	       starts(qn, "tokio::future::maybe_done::MaybeDone<") ||
	       starts(qn, "futures_util::future::maybe_done::MaybeDone<") ||
	       starts(qn, "core::pin::Pin<") || starts(qn, "alloc::boxed::Box<");
}

/*
 * join!/select! poll a tuple of futures from a closure: tokio 1.24's join!
 * captures `futures: &mut (MaybeDone<F1>, ..)` and `skip_next_time`;
 * select! captures `_ref__futures: &&mut (F1, ..)` and `_ref__disabled`.
 * Names the macro and counts its branches still pending.
 */
bool chain_branches(struct walk *w, const struct dw_type *t, uint64_t addr, const char **macro,
		    int *pending, int *total)
{
	const struct dw_member *m = dw_type__member(t, "futures");
	const struct dw_type *tt;
	uint64_t p;
	size_t i;
	int hops;

	*macro = "join!";
	if (!m) {
		m = dw_type__member(t, "_ref__futures");
		*macro = "select!";
	}
	if (!m)
		return false;
	tt = dw_type__get(w->dw, m->type);
	addr += m->off;
	for (hops = 0; tt && tt->kind == DW_K_PTR && hops < 3; hops++) {
		if (mem_reader__u64(w->mr, addr, &p) || !p)
			return false;
		addr = p;
		tt = dw_type__get(w->dw, tt->target);
	}
	if (!tt || tt->kind != DW_K_STRUCT)
		return false;
	*pending = *total = 0;
	for (i = 0; i < tt->nmembers; i++) {
		const struct dw_type *bt = dw_type__get(w->dw, tt->members[i].type);

		if (chain_future_score(w->dw, bt, WRAPPER_DEPTH) == 0)
			continue;
		(*total)++;
		if (chain_pending_score(w, bt, addr + tt->members[i].off, WRAPPER_DEPTH) > 0)
			(*pending)++;
	}
	return *total > 0;
}
