/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where `taskscope serve` gets its snapshots: a thin adapter over top's
 * session (user/top/top_session.c), so serve and top watch processes the
 * same way (discovery, attach, memory scans, stall rules) and there is no
 * third snapshot path. The metrics and the JSON endpoints read the
 * processes through struct serve_proc only, so pointing serve at another
 * mode of the observer changes this file and nothing else.
 *
 * Mode: the ones top's session offers. Sampled by default (memory
 * snapshots, CPU samples and 10 ms/s probe bursts: nothing on the hot
 * path), or top's default mode (a trap per poll and per wake: exact
 * counts). Light mode is not offered: top's session has no way to attach
 * in it, and swapping a process's probes afterwards leaves a moment with
 * none, in which a task woken before and freed after would read as a lost
 * wake that never was.
 */
#ifndef TS_SERVE_SOURCE_H
#define TS_SERVE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "top_session.h"

/* What serve shows of one process; valid until the next refresh. */
struct serve_proc {
	struct ts_process *p;		/* the latest snapshot */
	const struct ts_finding *findings;
	size_t nfindings;
	const double *worker_busy;	/* percent per p->workers[i], < 0 unknown */
	double polls_per_s;		/* < 0 unknown */
	struct observed_proc *op;	/* memory reads (await chains) on demand */
};

struct serve_source {
	struct top_session s;
	bool open;
	uint64_t refresh_ns;		/* how long the last refresh took */
	uint64_t refreshes;
	uint64_t attach_failures;	/* processes that could not be attached */
	pid_t chains_pid;		/* every await chain of this snapshot read */
	uint64_t chains_snapshot_ns;
};

/*
 * Loads the BPF object, attaches the pids (none: every tokio process on
 * the host, found again at each rescan), sampled with those options or,
 * when NULL, in top's default mode. On failure returns -errno with one
 * line in why.
 */
int serve_source__open(struct serve_source *src, const pid_t *pids, size_t npids,
		       const struct sampled_opts *sampled, bool verbose, char *why, size_t whylen);
/* Takes a snapshot of every process; one given with -p that exits is dropped. */
int serve_source__refresh(struct serve_source *src);
size_t serve_source__count(const struct serve_source *src);
/* Process i (ascending pid), i < serve_source__count. */
void serve_source__get(const struct serve_source *src, size_t i, struct serve_proc *out);
/* Process pid, or false when it is not observed. */
bool serve_source__find(const struct serve_source *src, pid_t pid, struct serve_proc *out);
/*
 * Reads the await chain of every suspended task of pid's snapshot (the
 * stall rules read only the stall candidates'), once per snapshot.
 */
void serve_source__read_chains(struct serve_source *src, pid_t pid);
/* uprobe hits since the start, every process together. */
uint64_t serve_source__probe_hits(const struct serve_source *src);
/* Estimated CPU of the probes in the targets, percent of one CPU; < 0 unknown. */
double serve_source__probe_cpu_pct(const struct serve_source *src);
/* The probe mode the processes are observed in ("default" before any is). */
const char *serve_source__mode_name(const struct serve_source *src);
void serve_source__close(struct serve_source *src);

#endif
