/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Sampled mode's probes (bpf/sample.bpf.c): one software cpu-clock perf
 * event per online CPU running the sampling program, and sched_switch.
 * Processes are sampled only while watched; nothing is attached to their
 * code.
 */
#ifndef TS_SAMPLER_H
#define TS_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "taskscope.h"

struct sample_bpf;
struct bpf_link;

/*
 * A cpu-clock sample costs ~20 us of the interrupted CPU in this Firecracker
 * VM (timer interrupts exit to the hypervisor; the BPF program itself is
 * 0.4 us): 1 kHz took ~2 % of every CPU, 199 Hz takes ~0.4 %. Not a round
 * number, so that it does not beat in step with 100/250/1000 Hz timers.
 */
#define TS_SAMPLE_HZ_DEFAULT	199
#define TS_SAMPLE_HZ_MAX	10000

struct ts_sampler {
	struct sample_bpf *skel;
	struct bpf_link **links;	/* perf events, then sched_switch */
	int *perf_fds;
	int nlinks, nperf;
	unsigned int hz;
	uint64_t period_ns;		/* CPU time each sample stands for */
};

/* One thread and one (thread, task) aggregate of a watched process. */
struct ts_sample_thread_rec {
	uint32_t tid;
	struct ts_sample_thread st;
};

struct ts_sample_count_rec {
	struct ts_sample_key key;
	struct ts_sample_count c;
};

struct ts_sample_read {
	uint64_t read_ns;		/* CLOCK_MONOTONIC, as the BPF side's stamps */
	struct ts_sample_thread_rec *threads;
	size_t nthreads;
	struct ts_sample_count_rec *counts;
	size_t ncounts;
	uint64_t counters[TS_SCNT_MAX];	/* all processes */
};

/* Loads the programs, opens a cpu-clock event at hz on every online CPU, attaches. */
int ts_sampler__open(struct ts_sampler *s, unsigned int hz, bool verbose);
void ts_sampler__destroy(struct ts_sampler *s);
/* Samples pid's threads from now on, reading the task id where l says. */
int ts_sampler__watch(struct ts_sampler *s, pid_t pid, const struct ts_tls_layout *l);
/*
 * Task id of pid that stands for "no task" (a worker's launch task, a
 * spawn_blocking task): samples inside it count as outside any poll.
 */
int ts_sampler__ignore_task(struct ts_sampler *s, pid_t pid, uint64_t task_id);
/* Stops sampling pid and forgets its threads and aggregates. */
void ts_sampler__unwatch(struct ts_sampler *s, pid_t pid);
/* Everything gathered so far about pid (cumulative since watch). */
int ts_sampler__read(struct ts_sampler *s, pid_t pid, struct ts_sample_read *out);
void ts_sample_read__free(struct ts_sample_read *r);

/* Changes the sampling rate of every CPU's event (calibration samples faster). */
int ts_sampler__set_hz(struct ts_sampler *s, unsigned int hz);
/*
 * The calibration samples gathered since the last call (out holds
 * TS_CALIB_SLOTS), then cleared: see tls_context__from_words.
 */
int ts_sampler__calibration_read(struct ts_sampler *s, struct ts_calib_sample *out, size_t *n);

#endif
