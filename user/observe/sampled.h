/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Sampled mode (--mode sampled): observing a process with nothing on its
 * hot path. Three sources, none of which traps per event:
 * - memory, every snapshot: every task and its state word, and whether its
 *   memory changed since the previous snapshot (unchanged = idle, a lower
 *   bound labelled so);
 * - samples: the task each thread is polling, read from tokio's
 *   thread-local CONTEXT by a cpu-clock perf_event program and at
 *   sched_switch (busy share per task and per worker, long polls, off-CPU
 *   time inside polls);
 * - short bursts of the precise probes (default 10 ms per second): polls,
 *   wakes, scheduled time, self-wakes, histograms, scaled as estimates.
 */
#ifndef TS_SAMPLED_H
#define TS_SAMPLED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observe.h"
#include "sampler.h"
#include "task_model.h"
#include "tls.h"

/*
 * A burst costs the target what --mode default costs, for its length: on
 * hyper under wrk, 100 ms per second added 8 % of CPU per request, so 20
 * ms ~1.6 %, too much of a 2 % budget next to the sampling itself.
 */
#define TS_BURST_MS_DEFAULT		10
#define TS_BURST_EVERY_MS_DEFAULT	1000
/*
 * Unless --burst fixes the length, a burst is sized to what its traps cost
 * at the rate the last burst measured: at most TS_BURST_BUDGET_PPM of one
 * CPU (0.3 %), each trapped poll or wake taken as TS_TRAP_NS (an emulated
 * uprobe here, bench/README.md 1a), never shorter than TS_BURST_MS_DEFAULT,
 * never longer than TS_BURST_MAX_MS. The budget is set so that hyper at
 * saturation (~60 k trapped events/s, where a 10 ms burst was measured at
 * 0.8 % of its CPU per request: attach, detach and cache effects add to the
 * traps) keeps 10 ms bursts; a quiet process (the healthy target, ~1,300
 * events/s) gets 80 ms, 8 x more polls seen for its estimates, for ~0.06 %
 * of a CPU.
 */
#define TS_BURST_MAX_MS			80
#define TS_BURST_BUDGET_PPM		3000
#define TS_TRAP_NS			5300

struct sampled_opts {
	unsigned int sample_hz;		/* --sample-hz */
	uint64_t burst_ns;		/* --burst MS; 0: no bursts */
	bool burst_sized;		/* no --burst: burst_ns is the shortest, see TS_BURST_BUDGET_PPM */
	uint64_t burst_every_ns;	/* one burst per this */
	uint64_t snapshot_every_ns;	/* memory snapshots */
	bool verbose;
	/*
	 * Snapshots are few (report's one at the end of its window): each
	 * scans the whole memory again, for the blocking-pool tasks (spawn_
	 * blocking jobs, block_in_place hand-offs) spawned since the last
	 * full scan, which no owned list leads to. Else (top, watch, serve,
	 * every second) a snapshot merges the cells sampled_memory read.
	 */
	bool full_scan_each_snapshot;
	/*
	 * Calibrate even when DWARF or the known layout gives the field: a
	 * test hook, set from TASKSCOPE_SAMPLED_CALIBRATE=1 by
	 * sampled_opts__default.
	 */
	bool force_calibration;
};

/* One task across memory snapshots, by header address. */
struct sampled_task_hist {
	uint64_t header;
	int vtable_idx;
	uint64_t links[2];		/* tokio Trailer.owned: prev, next */
	uint64_t task_id;
	uint64_t state_word;
	uint64_t owner_id;		/* tokio: its OwnedTasks id, 0 unowned */
	uint64_t mem_hash;		/* of its cell past the header's hot words */
	uint64_t unchanged_since_ns;	/* first snapshot showing this state and memory */
	uint64_t burst_polls;		/* polls the bursts counted, at the last read */
	uint64_t active_ns;		/* last time a burst saw it polled */
	bool blocking;			/* a blocking-pool task (worker launch, spawn_blocking) */
};

struct region;

struct sampled_session {
	struct observed_proc *op;
	struct ts_bpf *bpf;		/* the precise probes, attached in bursts */
	struct sampled_opts opts;
	struct tls_context tc;
	bool sampling;			/* the thread-local is known and watched */
	bool continuous;		/* probes attached all along (USDT runtimes) */
	bool calibrating;		/* its field is being looked for */
	struct ts_calib_sample *calib;	/* samples of CONTEXT's words, TS_CALIB_SLOTS */
	size_t ncalib;
	uint64_t next_calib_ns;
	struct ts_sampler sampler;
	bool sampler_open;
	uint64_t start_ns;
	uint64_t next_burst_ns, next_snapshot_ns;
	uint64_t burst_len_ns;		/* of the next burst */
	struct sampled_task_hist *hist;	/* sorted by header */
	size_t nhist;
	uint64_t next_full_scan_ns;
	/* read buffers, kept between snapshots */
	uint8_t *rbuf;
	size_t rbuf_cap;
	struct region *regions;
	size_t regions_cap;
	struct ts_sampled_info info;
};

void sampled_opts__default(struct sampled_opts *o);
/*
 * Sets up sampling of op (open, not attached) with the precise object bpf
 * (loaded): finds the thread-local, opens the sampler, takes the first
 * memory snapshot. Where the thread-local can't be found (async-std, smol,
 * USDT runtimes) it goes on with memory and bursts, and says so in
 * info.note. On failure returns -errno and writes one line into why.
 */
int sampled_session__start(struct sampled_session *ss, struct observed_proc *op,
			   struct ts_bpf *bpf, const struct sampled_opts *opts, char *why,
			   size_t whylen);
/*
 * Runs what is due at now (a burst, blocking for its length; a memory
 * snapshot) and returns when the next thing is due (CLOCK_MONOTONIC ns).
 */
uint64_t sampled_session__tick(struct sampled_session *ss, uint64_t now);
/* The model as of now: p is freed and refilled. */
int sampled_session__snapshot(struct sampled_session *ss, struct ts_process *p);
/*
 * The next burst's length, from the events (polls and wakes) per second
 * the last burst trapped: what keeps their cost within TS_BURST_BUDGET_PPM
 * of a CPU per every_ns, clamped to [min_ns, max_ns]; max_ns when nothing
 * was trapped. Pure, for the unit tests.
 */
uint64_t sampled_burst__sized(uint64_t min_ns, uint64_t max_ns, uint64_t every_ns,
			      double events_per_s);
/* Detaches everything (also what a burst may hold). */
void sampled_session__stop(struct sampled_session *ss);

#endif
