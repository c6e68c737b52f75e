/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One observed process: validate the target, attach, take snapshots of the
 * task model (BPF maps merged with memory), detach.
 */
#ifndef TS_OBSERVE_H
#define TS_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attach.h"
#include "task_model.h"
#include "runtime_binary.h"
#include "task_memory.h"

struct observed_proc {
	pid_t pid;
	uint64_t start_ticks;		/* tells a reused PID apart */
	char exe[4096];			/* as the process sees it */
	char comm[64];
	struct runtime_binary tb;
	uint64_t bias;			/* runtime address - ELF vaddr */
	struct proc_links links;
	uint64_t attach_ns;
	uint64_t next_task_id_at_attach;	/* tokio's Id counter, 0 unknown */
	enum ts_probe_mode mode;
	struct ts_dwarf *dw;		/* NULL when the binary has no usable DWARF */
	char dwarf_note[256];		/* what is missing, and how to get it */
};

uint64_t ts_now_ns(void);

/*
 * Checks pid is a process we can observe and reads its binary. On failure
 * returns -errno and writes one line for the user into why.
 */
int observed_proc__open(struct observed_proc *op, pid_t pid, char *why, size_t whylen);
/*
 * Reads the binary's DWARF (or debuginfo_path): exact future type names,
 * and await chains. Without it, says what is missing in op->dwarf_note.
 */
void observed_proc__load_dwarf(struct observed_proc *op, const char *debuginfo_path);
/*
 * Reads where each suspended task waits (await chain from DWARF + memory),
 * for the tasks of p only; only_task restricts it to one tokio Id (0: all),
 * min_wait_ns to tasks suspended at least that long (stall candidates).
 */
void observed_proc__await_chains(struct observed_proc *op, struct ts_process *p,
				 uint64_t only_task, uint64_t min_wait_ns);

/* Await chains read per snapshot at most (longest waits first). */
#define TS_MAX_CHAINS	1000
int observed_proc__attach(struct observed_proc *op, struct ts_bpf *bpf, enum ts_probe_mode mode,
			  char *why, size_t whylen);
/* Still the same process (not exited, PID not reused)? */
bool observed_proc__alive(const struct observed_proc *op);
/*
 * Builds the model of the process from the BPF maps and, when scan_memory,
 * from its memory (tasks no probe saw). p is freed and refilled.
 */
int observed_proc__snapshot(struct observed_proc *op, struct ts_bpf *bpf, bool scan_memory,
			    struct ts_process *p);
void observed_proc__close(struct observed_proc *op);

#endif
