/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The state of one await-chain walk, shared by await_chain.c and dwarf_leaf.c. */
#ifndef TS_DWARF_WALK_H
#define TS_DWARF_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "await_chain.h"
#include "dwarf_types.h"

#define WALK_MAX_STEPS	64	/* futures, pointers and wrappers followed per task */
#define WRAPPER_DEPTH	6	/* how deep a combinator's fields are searched for a future:
				   Pin<Box<F>> is Pin, Box, Unique, NonNull, pointer */

struct walk {
	struct ts_dwarf *dw;
	struct mem_reader *mr;
	struct ts_await_chain *c;
	uint64_t bias;
	int steps;
	bool frames_full;
	/* per recorded frame: the address `self` holds, and its type */
	uint64_t self_ptr[TS_CHAIN_MAX_FRAMES];
	const struct dw_type *self_type[TS_CHAIN_MAX_FRAMES];
	uint64_t seen_addr[WALK_MAX_STEPS];
	Dwarf_Off seen_type[WALK_MAX_STEPS];
	int nseen;
};

void chain_set_leaf(struct walk *w, enum ts_leaf_kind kind, const char *type_name, uint64_t addr,
		    const char *detail);
/* Fills the leaf from a tokio Sleep at addr: deadline against CLOCK_MONOTONIC. */
void chain_leaf_timer(struct walk *w, const struct dw_type *t, uint64_t addr);
/* Known leaf futures by type name; true when t is one (and the leaf is set). */
bool chain_classify_leaf(struct walk *w, const struct dw_type *t, uint64_t addr);
/* A future no one knows by type: the frames above may still tell (recv's PollFn). */
void chain_leaf_unknown(struct walk *w, const struct dw_type *t, uint64_t addr);
bool chain_is_leaf_type(const char *qname);
/*
 * tokio values worth naming in a frame: guards, permits, channel halves
 * (recorded as holds). -ENOTSUP when t is none of them.
 */
int chain_tokio_value(struct walk *w, const struct dw_type *t, uint64_t addr, const char *var,
		      char *buf, size_t len);

/* dwarf_future.c */
/* Could t hold a future, by type: 2 a state machine, 1 a known leaf or dyn Future, 0 no. */
int chain_future_score(struct ts_dwarf *dw, const struct dw_type *t, int depth);
/* The same, by memory: 0 when every future in it has returned (a join!'s done branch). */
int chain_pending_score(struct walk *w, const struct dw_type *t, uint64_t addr, int depth);
/* A fat pointer to a dyn Future: { pointer, vtable }. */
bool chain_is_dyn(const struct dw_type *t);
/* Closures, tuples, PollFn, MaybeDone, Pin, Box: no line of their own in a chain. */
bool chain_is_plumbing(const char *qname);
/* join!/select!'s closure: the macro and how many of its branches are pending. */
bool chain_branches(struct walk *w, const struct dw_type *t, uint64_t addr, const char **macro,
		    int *pending, int *total);

/* thread_root.c: frees dw->func_syms */
void thread_root__free(struct ts_dwarf *dw);

/* await_chain.c */
/* The template type parameter `name` of a function DIE (or of its declaration). */
bool chain_template_param(Dwarf_Die *fn, const char *name, Dwarf_Off *off, int depth);
/* The chain of a future that is no task: type_off's value at addr (a thread's block_on). */
int chain_of_future(struct ts_dwarf *dw, struct mem_reader *mr, uint64_t load_bias,
		    Dwarf_Off type_off, uint64_t addr, struct ts_await_chain *out);

#endif
