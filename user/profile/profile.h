/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * taskscope profile: where the time of a process's tasks goes, per await
 * point. profile_tables.c describes the state machines to BPF (from
 * DWARF) and reads back the per-path statistics the kernel kept;
 * profile_model.c turns paths into await-point rows (pure);
 * profile_render.c prints them (text, JSON, folded stacks); flamegraph.c
 * renders folded stacks as SVG.
 */
#ifndef TS_PROFILE_H
#define TS_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "await_chain.h"
#include "taskscope.h"

struct ts_bpf;
struct ts_dwarf;
struct runtime_binary;
struct json_writer;

/* One `.await`: a Suspend<N> variant of one state machine type. */
struct ts_prof_await_point {
	const char *func;	/* interned, readable: "profiled::slow_backend" */
	const char *file;	/* interned, short: "src/main.rs" */
	uint32_t line;
	bool external;		/* in a dependency or std, not the program's crate */
	bool leaf;		/* awaits a leaf future (no state machine under it) */
	enum ts_leaf_kind leaf_kind;
	const char *awaitee;	/* interned readable type of the awaited future */
};

/* A state machine type: its DIE, and what BPF gets (its index is the map key). */
struct ts_prof_sm_entry {
	uint64_t die;
	struct ts_prof_sm sm;
};

struct ts_prof_susp_entry {
	struct ts_prof_suspend_key key;
	struct ts_prof_suspend val;
};

/* What BPF gets (taskscope.h profile section) and what its ids mean. */
struct ts_prof_tables {
	struct ts_prof_await_point *awaits;	/* by await id */
	size_t nawaits, cap_awaits;
	struct ts_prof_sm_entry *sms;		/* by state machine index */
	size_t nsms, cap_sms;
	struct ts_prof_susp_entry *susp;
	size_t nsusp, cap_susp;
	struct ts_prof_poll *polls;		/* by poll instance (cookie index) */
	const char **poll_names;		/* readable future type per poll instance */
	size_t npolls;
	size_t polls_described;			/* with a state machine */
};

/* One path of await points and what the kernel measured there. */
struct ts_prof_path {
	struct ts_prof_key key;
	struct ts_prof_stats st;
};

/* A row of the profile: an await point in the user's code (or a fallback). */
#define TS_PROF_SITE_FIRST_POLL	(-1)	/* a task's first poll: resumed from no await */
#define TS_PROF_SITE_NO_AWAITS	(-2)	/* a future type DWARF gave no state machine for */

struct ts_prof_site {
	int32_t await_id;	/* or TS_PROF_SITE_* */
	const char *func, *file;
	uint32_t line;
	bool external;		/* no frame of the path is in the user's crate */
	const char *kind;	/* what is awaited: "timer", "mutex", ...; of the most waited path */
	const char *future;	/* the task future of that path */
	uint64_t waits, wait_ns, max_wait_ns;
	uint64_t queued_ns;		/* of wait_ns: woken -> polled */
	uint64_t polls, busy_ns, max_busy_ns;
	uint32_t hist[TS_PROF_HIST_SLOTS];
	uint64_t p50_ns, p99_ns;	/* upper bounds of log2 buckets, capped at max */
	uint64_t kind_wait_ns;		/* wait of the path that named kind */
};

/* Waiters of one mutex/semaphore over the window's snapshots. */
struct ts_prof_contention {
	uint64_t object;
	const char *kind;		/* "mutex", "rwlock", "semaphore" */
	char type[96];
	unsigned int snapshots;		/* in which it was seen */
	unsigned int min_waiters, max_waiters;
	uint64_t sum_waiters;		/* over the window's snapshots */
	uint64_t longest_wait_ns;	/* seen in a snapshot, or measured at its wait lines */
	char holders[96];		/* task Ids that held it, last snapshot with one */
	char waiters[96];		/* task Ids seen waiting */
	char wait_lines[128];		/* where waiters await it: "src/main.rs:49" */
};

/* The fallback without DWARF: per future type, from the tasks map. */
struct ts_prof_type_row {
	const char *name;
	uint64_t tasks, polls, busy_ns, idle_ns, scheduled_ns;
};

struct ts_profile {
	int pid;
	char comm[64];
	double duration_s;
	bool dwarf;			/* await points from DWARF; false: per future type */
	char note[256];			/* why not, "" */
	struct ts_prof_site *sites;
	size_t nsites, cap_sites;
	struct ts_prof_contention *cont;
	size_t ncont, cap_cont;
	bool chains;			/* await chains readable (DWARF): contention possible */
	unsigned int snapshots;		/* memory snapshots taken for contention */
	struct ts_prof_type_row *types;
	size_t ntypes, cap_types;
	uint64_t polls;			/* profiled polls */
};

/* profile_tables.c */
int ts_prof_tables__build(struct ts_prof_tables *t, struct ts_dwarf *dw,
			  const struct runtime_binary *tb);
void ts_prof_tables__free(struct ts_prof_tables *t);
/* Fills the BPF maps from t and sets profile_on. */
int ts_prof_tables__load(const struct ts_prof_tables *t, struct ts_bpf *b);
void ts_prof__stop(struct ts_bpf *b);
/* The paths of process tgid (malloc'd array into *out). */
int ts_prof__read_paths(struct ts_bpf *b, uint32_t tgid, struct ts_prof_path **out, size_t *n);

/* profile_model.c (pure) */
/*
 * The bucket bound under which a fraction q (0.5, 0.99) of the waits of
 * a log2-microsecond histogram fall: the bucket's upper bound, capped at
 * max_ns. 0 when the histogram is empty.
 */
uint64_t ts_prof_hist_quantile(const uint32_t *hist, size_t nslots, double q, uint64_t max_ns);
/* "timer", "mutex", "channel recv", "oneshot", ... of the path's deepest await. */
const char *ts_prof_path_kind(const struct ts_prof_tables *t, const struct ts_prof_key *k);
/* Index in k->ids of the await point that stands for the path: the deepest in the user's crate. */
int ts_prof_path_site(const struct ts_prof_tables *t, const struct ts_prof_key *k, bool *external);
/* Rows per await point, sorted by total wait (slowest first), into prof->sites. */
int ts_profile__aggregate(struct ts_profile *prof, const struct ts_prof_tables *t,
			  const struct ts_prof_path *paths, size_t npaths);
void ts_profile__free(struct ts_profile *prof);
/*
 * One folded-stack line per path and weight: "future;f (src/a.rs:3);[timer wait] 5000"
 * and "...;[busy] 120", weights in microseconds, zero weights left out.
 */
void ts_prof_write_folded(FILE *out, const struct ts_prof_tables *t,
			  const struct ts_prof_path *paths, size_t npaths);
/* A frame's label in a folded stack: "func (file:line)", ';' replaced. */
void ts_prof_frame_label(const struct ts_prof_await_point *a, char *buf, size_t len);

/* profile_contention.c (pure) */
struct ts_process;
/* Adds one memory snapshot's mutexes / semaphores with waiters (await chains read). */
int ts_profile__add_snapshot(struct ts_profile *prof, const struct ts_process *p);
/* After the last snapshot: a resource missing from some had no waiter there. */
void ts_profile__finish_contention(struct ts_profile *prof);
/*
 * After aggregation: a lock's longest wait is also the longest the kernel
 * measured at the await points its waiters were seen at (snapshots only
 * see waits in progress).
 */
void ts_profile__contention_waits(struct ts_profile *prof);

/* profile_render.c */
void ts_profile__write_text(FILE *out, const struct ts_profile *prof, size_t max_rows);
void ts_profile__write_json(FILE *out, const struct ts_profile *prof);

/* flamegraph.c */
struct ts_flame_rect {
	const char *name;	/* points into the caller's lines */
	size_t name_len;
	int depth;		/* 0: the root frames */
	double x, width;	/* in units of weight */
	uint64_t weight;
};
/*
 * Lays folded lines ("a;b;c 42") out as a flame graph: one rect per
 * frame, width its weight summed over the lines through it, siblings in
 * order of first appearance. Lines not "stack weight" are skipped.
 * Returns the number of rects (malloc'd into *out) or -errno; *total gets
 * the sum of weights, *max_depth the deepest level.
 */
int ts_flame_layout(char **lines, size_t nlines, struct ts_flame_rect **out, uint64_t *total,
		    int *max_depth);
/* An SVG flame graph of folded lines, title on top; 0 or -errno. */
int ts_flame_write_svg(FILE *out, char **lines, size_t nlines, const char *title);

#endif
