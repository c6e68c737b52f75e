/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Loading the BPF object and attaching it to target processes. */
#ifndef TS_ATTACH_H
#define TS_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime_binary.h"

struct taskscope_bpf;

/* The links of one attached process; closing them detaches. */
struct proc_links {
	pid_t pid;
	int fds[8];
	int nfds;
	size_t nprobes;		/* probe sites installed */
};

struct ts_bpf {
	struct taskscope_bpf *skel;
	struct bpf_link *sched_link;
	uint32_t next_usdt_site;	/* next free slot of the usdt_sites map */
};

/*
 * Opens the BPF object, hands it every runtime descriptor's layout
 * (read-only data), loads it and attaches the sched tracepoint.
 */
int ts_bpf__open_load(struct ts_bpf *b, bool verbose);
/*
 * The same for taskscope record: the probes also stream the events of
 * process rec_tgid through the rec_events ring buffer of ring_bytes (a
 * power of two, at least a page).
 */
int ts_bpf__open_load_record(struct ts_bpf *b, bool verbose, pid_t rec_tgid, uint32_t ring_bytes);
void ts_bpf__destroy(struct ts_bpf *b);
/*
 * Detaches the sched tracepoint program: it runs on every context switch
 * of the host, for nothing while no poll probe is attached (sampled mode
 * between bursts).
 */
void ts_bpf__detach_sched(struct ts_bpf *b);

/*
 * What to pay for, in traps per poll (--mode):
 * - DEFAULT: a uprobe per poll and one per wake. A poll ends at the
 *   thread's next poll or when it leaves the CPU with the task no longer
 *   RUNNING.
 * - FULL: adds a uretprobe on every poll: exact poll durations.
 * - LIGHT: no wake probes, one trap per poll: no wake counts and no
 *   scheduled (woken-to-polled) time; a woken task counts as idle until
 *   polled, so starvation is not seen.
 */
enum ts_probe_mode {
	TS_MODE_DEFAULT = 0,
	TS_MODE_FULL = 1,
	TS_MODE_LIGHT = 2,
	/*
	 * SAMPLED: no uprobe but during short bursts of DEFAULT; the running
	 * task of each thread sampled from its thread-local (user/observe/sampled.c).
	 */
	TS_MODE_SAMPLED = 3,
};

/*
 * Attaches the probes of binary tb (as mapped by pid) to that process only,
 * with uprobe_multi links filtered on pid: its runtime's entry points
 * (tokio, async-task) and its usdt/taskscope.h sites. The kernel follows
 * /proc/PID/exe, so a binary in another mount namespace works as well.
 * (Named for tokio, which came first.)
 */
int ts_bpf__attach_tokio(struct ts_bpf *b, pid_t pid, const struct runtime_binary *tb,
			 enum ts_probe_mode mode, struct proc_links *links);
void proc_links__detach(struct proc_links *links);

/* A global event counter (enum ts_counter), summed over the CPUs; 0 when unreadable. */
uint64_t ts_bpf__counter(const struct ts_bpf *b, uint32_t which);
/* fd of a map by name ("tasks", "workers", "counters") */
int ts_bpf__map_fd(const struct ts_bpf *b, const char *name);

#endif
