/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every process `taskscope top` watches: one BPF object loaded once, one
 * top_proc each, and in system-wide mode the /proc rescan that adds the
 * tokio processes that start and drops the ones that exit. Builds the
 * rows the views sort, filter and draw, and has the await chain of the
 * task shown in full read into its snapshot.
 */
#ifndef TS_TOP_SESSION_H
#define TS_TOP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attach.h"
#include "proc_scan.h"
#include "stall_rules.h"
#include "top_model.h"

#define TOP_RESCAN_EVERY_NS	(3ULL * 1000 * 1000 * 1000)

/* A task's identity across refreshes; first_seen_ns 0 for one only memory knows. */
struct top_ident {
	bool set;
	pid_t pid;
	uint64_t header, first_seen_ns;
};

/* A process that could not be attached: not retried while it lives. */
struct top_skipped {
	pid_t pid;
	uint64_t start_ticks;
};

struct top_session {
	struct ts_bpf bpf;
	bool loaded;
	bool system_wide;
	struct top_proc **procs;	/* ascending pid */
	size_t nprocs;
	struct ts_rules_config rules;
	uint64_t scan_every_ns;		/* memory scans */
	const char *debuginfo;		/* --debuginfo FILE for the one PID, or NULL */
	bool sampled;			/* --mode sampled: one sampled session per process */
	struct sampled_opts sampled_opts;
	/* system-wide discovery */
	struct proc_scan scan;
	uint64_t rescan_ns;		/* last /proc rescan */
	struct top_skipped *skipped;
	size_t nskipped;
	/* the counters are the one BPF object's, for every process at once */
	uint64_t counters[TS_CNT_MAX], prev_counters[TS_CNT_MAX];
	uint64_t counters_ns, prev_counters_ns;
	double events_per_s;		/* uprobe hits per second, < 0 unknown */
	uint64_t start_ns;
	uint64_t refreshes;
	/* the task shown in full: its snapshot holds its await chain */
	struct top_ident shown;
	/*
	 * --replay FILE: snapshots of a recording instead of live ones
	 * (top_replay.h); the header says where the cursor is, and times
	 * shown as ages count from the snapshot, not from now.
	 */
	char replay_title[320];		/* "" live */
	uint64_t replay_now_ns;		/* the snapshot's clock */
	/* rows of every process, rebuilt after each refresh */
	struct top_row *rows;
	size_t nrows, cap_rows;
};

/* Loads the BPF object (libbpf messages as top_log__capture_libbpf set them). */
int top_session__open(struct top_session *s, bool system_wide, bool verbose);
/* Opens and attaches pid. */
int top_session__add(struct top_session *s, pid_t pid, char *why, size_t whylen);
/* System-wide: attaches new tokio processes, drops exited ones. Returns processes added. */
int top_session__rescan(struct top_session *s);
/*
 * Refreshes every process. Exited ones are dropped (system-wide) or make
 * it return -ESRCH with *gone_pid set (one PID).
 */
int top_session__refresh(struct top_session *s, bool force_scan, pid_t *gone_pid);
int top_session__build_rows(struct top_session *s);
/*
 * Shows task id in full (NULL or unset: none): its await chain is read
 * into the snapshot now and at every refresh while it is shown.
 */
void top_session__show(struct top_session *s, const struct top_ident *id);
/* Looks up a task by identity; returns false when it is gone. */
bool top_ident__find(const struct top_session *s, const struct top_ident *id,
		     const struct top_proc **tp, size_t *task);
void top_ident__from_row(struct top_ident *id, const struct top_row *r);
/* The process with this pid, or NULL. */
struct top_proc *top_session__proc(const struct top_session *s, pid_t pid);
/* Now, for ages on screen: the replayed snapshot's time in a replay. */
uint64_t top_session__now(const struct top_session *s);
/* Estimated CPU share of the probes in percent of one CPU, < 0 unknown. */
double top_session__probe_cpu_pct(const struct top_session *s);
void top_session__close(struct top_session *s);

#endif
