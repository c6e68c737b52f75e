/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The task model of one observed process: BPF aggregates merged with what
 * memory says of tasks no probe has seen. Plain structs, so the stall
 * rules and the views can be tested without BPF or a process.
 */
#ifndef TS_TASK_MODEL_H
#define TS_TASK_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "await_chain.h"
#include "intern.h"
#include "taskscope.h"

struct ts_task {
	uint64_t header;		/* a root: the future's address on the thread's stack */
	uint64_t task_id;		/* 0 when unknown */
	uint32_t root_tid;		/* not spawned: the future a thread runs in block_on */
	uint64_t owner_id;		/* tokio: which runtime owns it (OwnedTasks id), 0 unknown */
	/*
	 * Who spawned it (ts_task__parent): the task polled on the spawning
	 * thread when its Id was taken (stock tokio) or the parent the
	 * runtime named (USDT). parent_known false: not seen being spawned
	 * (before attach, or outside sampled mode's bursts).
	 */
	bool parent_known;
	uint64_t parent_id;		/* 0: spawned outside any task (see spawn_tid) */
	uint64_t parent_header;		/* stock tokio: the parent's header, 0 none */
	uint32_t spawn_tid;		/* the spawning thread */
	/*
	 * Strings are interned (intern.h), never NULL ("" unknown): a million
	 * tasks share a few hundred names. Set them with ts_intern().
	 */
	const char *name;		/* readable future type */
	bool name_ambiguous;		/* from folded drop glue, no debuginfo */
	const char *future_type;
	const char *location;		/* USDT task_spawn: where it was spawned; a root: its block_on */
	uint64_t poll_fn_vaddr;		/* ELF vaddr of its raw::poll, 0 unknown */
	enum ts_task_state state;
	bool seen_by_probe;		/* any probe fired for it */
	bool in_memory;			/* found live in memory at the end */
	bool state_from_memory;		/* no probe: state is the header's word */
	bool in_block_in_place;		/* its running poll's thread is inside block_in_place */
	uint64_t state_word;
	/* ns in the current state; a lower bound when since_attach is set */
	uint64_t in_state_ns;
	bool since_attach;		/* in this state since before we attached */
	bool spawned_in_window;		/* memory only, newer than the attach: in_state_ns unknown (0) */
	struct ts_task_stats st;	/* zero when !seen_by_probe */
	struct ts_await_chain *chain;	/* where it waits (DWARF), NULL when not read */
	/* sampled mode: st's counts are scaled from bursts, busy_ns from samples */
	uint64_t cpu_samples;		/* samples that found it polled on a CPU */
	uint64_t offcpu_in_polls_ns;	/* off the CPU inside its polls (sched_switch) */
	uint64_t burst_max_poll_ns;	/* longest poll the bursts' probes measured */
};

struct ts_worker {
	uint32_t tid;
	uint32_t ns_tid;		/* as its own PID namespace sees it (a container), 0 same */
	char comm[32];
	bool seen_by_probe;
	struct ts_worker_state st;
	uint64_t current_poll_ns;	/* running poll's age at snapshot, 0 none */
};

/* A resource an instrumented runtime announced (usdt/taskscope.h). */
/* How a sampled-mode snapshot was made: what its estimates rest on. */
struct ts_sampled_info {
	unsigned int sample_hz;
	uint64_t period_ns;		/* CPU time one sample stands for */
	uint64_t samples;		/* samples that interrupted the process */
	uint64_t poll_samples;		/* ... inside a poll */
	uint64_t tls_fail;		/* ... whose thread-local could not be read */
	const char *tls_source;		/* "DWARF", "tokio 1.24 layout", "calibrated", "" */
	char tls_field[64];		/* where in CONTEXT: "+0x20 tag 8 B (None 0), id +0x28" */
	char note[256];			/* what sampling could not do, "" */
	uint64_t burst_ns;		/* per burst (on average when sized) */
	bool burst_sized;		/* each sized to the last one's trap rate */
	uint64_t burst_every_ns;
	unsigned int bursts;
	uint64_t burst_total_ns;	/* precise probes attached, in all */
	double scale;			/* window / burst_total: burst counts times this */
	unsigned int snapshots;		/* memory snapshots taken */
	uint64_t snapshot_cpu_ns;	/* taskscope's CPU in them (periodic ones) */
	uint64_t burst_cpu_ns;		/* ... and in bursts (attach, detach, map reads) */
	uint64_t snapshot_every_ns;
	uint64_t ended_task_busy_ns;	/* sampled in tasks gone before the end */
	bool probes_attached;		/* all along (USDT runtimes): exact counts */
};

struct ts_res_info {
	uint64_t id;
	struct ts_resource r;
};

/* Wakes lost to tasks freed before their next poll, per future type. */
struct ts_lost_wakes {
	char name[256];
	uint64_t wakes;
};

struct ts_process {
	pid_t pid;
	pid_t ns_pid;			/* as its own PID namespace sees it (a container), 0 same */
	char comm[64];
	char exe[4096];
	char runtime[32];		/* "tokio", "async-std", "smol", "usdt" */
	char runtime_version[32];
	bool has_debuginfo;
	char debuginfo_note[256];	/* what is missing, "" when nothing */
	/* the runtime descriptor checked against the process (layout_check.h) */
	const char *layout_descriptor;	/* "tokio 1.53", NULL when none applies */
	bool layout_checked, layout_confirmed;
	bool layout_refuted;		/* memory discovery off: tasks from probes only */
	char layout_verdict[256];
	uint64_t observed_ns;		/* observation window */
	uint64_t snapshot_ns;		/* CLOCK_MONOTONIC at the snapshot */
	uint64_t attach_ns;
	size_t nprobes;
	const char *probe_mode;		/* "default", "full", "light" */
	const char *core_path;		/* post-mortem: the core file read, else NULL */
	uint64_t counters[TS_CNT_MAX];
	uint64_t tasks_evicted;		/* LRU drops: tasks lost from the map */
	uint64_t mem_bytes_scanned;
	bool mem_scan_truncated;
	size_t nworker_threads;		/* runtime worker threads */
	/* tokio's blocking pool (spawn_blocking), not async workers: threads, jobs running */
	size_t nblocking_threads, nblocking_busy;
	/*
	 * block_in_place hand-offs running: each a worker moved to a new
	 * thread while its old thread stays in a task's poll; their types
	 * (interned) name the closures given to block_in_place.
	 */
	const char *handoff_types[16];
	size_t nhandoffs;
	struct ts_task *tasks;
	size_t ntasks, tasks_cap;	/* caps: ts_array_add's */
	struct ts_worker *workers;
	size_t nworkers, workers_cap;
	struct ts_lost_wakes *lost;
	size_t nlost, lost_cap;
	struct ts_res_info *resources;
	size_t nresources, resources_cap;
	size_t chains_skipped;		/* suspended tasks whose chain was not read */
	const struct ts_sampled_info *sampled;	/* sampled mode only, else NULL */
};

void ts_process__free(struct ts_process *p);
/* Adds a zeroed task and returns it (NULL on ENOMEM). */
struct ts_task *ts_process__add_task(struct ts_process *p);
struct ts_worker *ts_process__add_worker(struct ts_process *p);
/* Polls per second over the window. */
double ts_process__poll_rate(const struct ts_process *p);
const struct ts_res_info *ts_process__find_resource(const struct ts_process *p, uint64_t id);
/* The worker polling task header at the snapshot, or NULL. */
const struct ts_worker *ts_process__worker_polling(const struct ts_process *p, uint64_t header);
/* Adds n lost wakes to the tally of future type name. */
int ts_process__add_lost_wakes(struct ts_process *p, const char *name, uint64_t n);
/*
 * Task t of p was freed without a dealloc probe (tokio frees a task inside
 * its own last poll): it is done, and a wake it had not been polled for
 * is lost.
 */
int ts_process__settle_freed(struct ts_process *p, struct ts_task *t);

const char *ts_task_state_name(enum ts_task_state s);
/*
 * True when a running block_in_place hand-off names a closure of task t
 * (t's future calls block_in_place itself): its long polls hold no worker.
 */
bool ts_task__uses_block_in_place(const struct ts_process *p, const struct ts_task *t);

#endif
