/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What `taskscope top` keeps between refreshes: one observed process each
 * (all sharing one loaded BPF object), its latest snapshot and findings,
 * the previous refresh for rates, and the rows the views draw.
 *
 * Scanning memory costs far more than reading the maps, so most refreshes
 * read only the maps and the observer carries the last scan's word into
 * them (observe_memory.h). A task a rule would flag that no scan has
 * confirmed since its last transition gets a scan at once, so nothing is
 * flagged on the maps' word alone.
 */
#ifndef TS_TOP_MODEL_H
#define TS_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "observe.h"
#include "sampled.h"
#include "stall_rules.h"
#include "task_model.h"

#define TOP_SCAN_EVERY_NS	(5ULL * 1000 * 1000 * 1000)
/* a confirming scan right after another tells nothing new */
#define TOP_CONFIRM_GAP_NS	(500ULL * 1000 * 1000)
/*
 * One uprobe hit plus its BPF program, in the target's CPU time: bench/
 * measured 5.3 us per trap and ~0.5 us of BPF per event on the test VM
 * (bare metal is 5-10x cheaper; the header says "est.").
 */
#define TOP_NS_PER_PROBE_HIT	5800.0

/* A warning on a row, from the stall rules' findings. */
#define TOP_WARN_NONE	(-1)

/* One task as the table shows it; name points into the model's snapshot. */
struct top_row {
	pid_t pid;
	uint64_t header;
	uint64_t task_id;		/* 0 unknown */
	uint32_t root_tid;		/* a thread's block_on future: ID shows T<tid> */
	uint64_t first_seen_ns;		/* with header: the task's identity */
	const char *name;
	enum ts_task_state state;
	uint64_t age_ns;
	bool age_at_least;		/* it existed before we attached */
	uint64_t busy_ns, sched_ns, idle_ns;
	bool idle_at_least;
	uint64_t polls, wakes, self_wakes, max_poll_ns;
	uint64_t done_ns;		/* how long ago it finished (done tasks) */
	double polls_per_s;		/* since the previous refresh; < 0 unknown */
	double busy_pct;
	int warn_kind;			/* enum ts_finding_kind, or TOP_WARN_NONE */
	uint64_t warn_ns;		/* the finding's duration */
	int nwarn;			/* findings on this task */
	size_t proc, task;		/* indexes into the model */
	/* the tree view (t): set by top_tree_order, zero in the flat list */
	char tree[48];			/* glyphs before the name: "│  ├─ " (8 levels fit) */
	uint32_t subtree;		/* tasks below it */
	uint64_t subtree_polls;		/* their polls and its own */
	uint64_t subtree_busy_ns;	/* their busy time and its own */
};

/* Just what rates need from the previous refresh. */
struct top_prev_task {
	uint64_t header, first_seen_ns, polls, busy_ns;
};

struct top_prev_worker {
	uint32_t tid;
	uint64_t polls, busy_ns;
};

struct top_proc {
	struct observed_proc op;
	bool attached;
	/* --mode sampled: its own sampled session, nothing on the hot path */
	bool sampled;
	struct sampled_session ss;
	struct ts_process cur;
	struct ts_finding *findings;
	size_t nfindings;
	/* per cur.tasks / cur.workers index; < 0 when unknown (first refresh) */
	double *task_pps, *task_busy;
	double *worker_pps, *worker_busy;
	double polls_per_s;
	/* the previous refresh */
	struct top_prev_task *prev_tasks;	/* sorted by header */
	size_t nprev_tasks;
	struct top_prev_worker *prev_workers;
	size_t nprev_workers;
	uint64_t prev_ns;
	/* the memory scans (what the last one settled: op.carry) */
	uint64_t *at_attach;			/* headers live at the first scan, sorted */
	size_t nat_attach;
	uint64_t scan_ns;			/* when it ran, 0 never */
	uint64_t scan_cost_ns;
	uint64_t nscans;
};

/* ---- pure parts, tested without a process ------------------------------ */

/* True when a finding rests on a task state no scan has confirmed. */
bool top_findings__need_scan(const struct ts_process *p, const struct ts_finding *f, size_t nf,
			     const struct mem_carry *last_scan);
/* Busy time including a poll still running at the snapshot. */
uint64_t top_task_busy_ns(const struct ts_process *p, const struct ts_task *t);
uint64_t top_worker_busy_ns(const struct ts_worker *w);
/* (now - prev) per second over dt_ns; -1 when unknown. */
double top_rate(uint64_t now, uint64_t prev, uint64_t dt_ns);
/* Rates against the previous refresh, then remembers this one. */
int top_rates__update(struct top_proc *tp);
/* The row of task ti of tp, warnings aside (top_rows__append adds those). */
void top_row__fill(const struct top_proc *tp, size_t ti, struct top_row *r);
/* Appends the rows of tp (index proc) to *rows. */
int top_rows__append(const struct top_proc *tp, size_t proc, struct top_row **rows, size_t *n,
		     size_t *cap);
/* Index of the task with (header, first_seen) in p, or -1. */
long top_proc__find_task(const struct top_proc *tp, uint64_t header, uint64_t first_seen_ns);

/* ---- with a process and BPF --------------------------------------------- */

/* Opens pid, reads its DWARF (debuginfo: a separate file, or NULL), attaches bpf to it. */
int top_proc__open(struct top_proc **out, struct ts_bpf *bpf, pid_t pid, const char *debuginfo,
		   const struct sampled_opts *sampled,
		   char *why, size_t whylen);
/*
 * Snapshots tp; scans memory on the first refresh, every scan_every_ns,
 * when force_scan, and to confirm a finding. -ESRCH when it has exited.
 */
int top_proc__refresh(struct top_proc *tp, const struct ts_rules_config *cfg,
		      uint64_t scan_every_ns, bool force_scan);
void top_proc__free(struct top_proc *tp);

#endif
