/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One observed process: validate the target, attach, take snapshots of the
 * task model (BPF maps merged with memory), read where the tasks to show
 * wait, detach. The one path from the probes and the target's memory to a
 * snapshot: report and top both take theirs here, and only render them.
 */
#ifndef TS_OBSERVE_H
#define TS_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attach.h"
#include "task_model.h"
#include "layout_check.h"
#include "runtime_binary.h"
#include "task_memory.h"
#include "observe_memory.h"
#include "procfs.h"
#include "core_file.h"

/* Where a thread's block_on future was parked, and since when (observe_roots.c). */
struct root_mark {
	pid_t tid;
	uint64_t since_ns;	/* first seen so: attach_ns when already at attach */
	uint64_t future_addr, leaf_addr, leaf_object;
	uint64_t switches;	/* the thread's context switches: it ran if they moved */
	uint32_t line;
	char variant[24];
};

struct observed_proc {
	pid_t pid;
	pid_t ns_pid;			/* in its own PID namespace: a container's view */
	struct proc_identity id;	/* tells a reused PID or an exec apart */
	char exe[4096];			/* as the process sees it */
	char elf_path[4096];		/* where its binary is read: /proc/PID/exe, or a core's --exe */
	struct core_file *core;		/* post-mortem: the core file it is read from */
	char comm[64];
	struct runtime_binary tb;
	uint64_t bias;			/* runtime address - ELF vaddr */
	struct ts_bpf *bpf;		/* the object its probes feed, NULL when detached */
	struct ts_bpf own_bpf;		/* observed_proc__load_bpf's, else unused */
	bool owns_bpf;
	struct proc_links links;
	/*
	 * Keep each memory scan's word for the snapshots taken without one
	 * (top). An observer that snapshots once (report) leaves it unset and
	 * copies nothing: 20,000 memory-only tasks are ~22 MB.
	 */
	bool carry_scans;
	size_t worker_launch_tasks;	/* at the last memory scan: multi-thread workers */
	size_t blocking_jobs;		/* at the last memory scan: spawn_blocking jobs running */
	/* at the last memory scan: block_in_place hand-offs running, their types */
	const char *handoff_types[16];
	size_t nhandoffs;
	struct mem_carry carry;		/* the last memory scan's word */
	uint64_t attach_ns;
	uint64_t next_task_id_at_attach;	/* tokio's Id counter, 0 unknown */
	enum ts_probe_mode mode;
	struct ts_dwarf *dw;		/* NULL when the binary has no usable DWARF */
	/*
	 * Read each thread's block_on future into the snapshots with a
	 * memory scan (report, watch, run): a stack read per thread, too
	 * much for top's every refresh.
	 */
	bool find_roots;
	struct root_mark *root_marks;	/* one per thread, as last seen */
	size_t nroot_marks, cap_root_marks;
	/*
	 * Read the roots at most this often (0: every snapshot); in between,
	 * snapshots get the last read's copies (top: a stack read per thread
	 * per refresh would cost a 64-thread process 0.2 s each second).
	 */
	uint64_t roots_every_ns;
	uint64_t roots_read_ns;		/* snapshot time of the cached read */
	struct ts_task *root_cache;	/* chains owned */
	size_t nroot_cache, cap_root_cache;
	char dwarf_note[256];		/* what is missing, and how to get it */
	/*
	 * The descriptor checked against the live process at the first scan
	 * that found tasks (layout_check.h). Refuted: memory discovery is
	 * off, tasks come from the probes alone, and the report says so.
	 */
	struct layout_check layout;
	bool layout_done;
	bool memory_off;
	/*
	 * The tasks a caller has already read from memory this snapshot
	 * (sampled mode reads every known cell each refresh, and walks the
	 * owned lists for new ones): merged instead of a whole-memory scan.
	 */
	const struct mem_task *mem_given;
	size_t nmem_given;
	bool use_mem_given;
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
/*
 * Reads where task t of op's latest snapshot waits into t->chain, unless
 * it holds one already: a task shown in full. t->chain stays NULL when
 * there is no DWARF, t is not suspended at an await (running, done), its
 * future type is unknown, or the DWARF has no chain for it.
 */
void observed_proc__task_chain(struct observed_proc *op, struct ts_task *t);

/* Await chains read per snapshot at most (longest waits first). */
#define TS_MAX_CHAINS	1000
/*
 * Loads a BPF object for op alone (report), freed by observed_proc__detach.
 * An observer of many processes (top) loads one and passes it to attach.
 */
int observed_proc__load_bpf(struct observed_proc *op, bool verbose);
/* Attaches op's probes to bpf, or to op's own object (load_bpf) when NULL. */
int observed_proc__attach(struct observed_proc *op, struct ts_bpf *bpf, enum ts_probe_mode mode,
			  char *why, size_t whylen);
/*
 * Detaches the probes, and frees op's own BPF object: the target pays
 * nothing from here on. Memory reads (await chains) still work.
 */
void observed_proc__detach(struct observed_proc *op);
enum observed_change {
	OBSERVED_SAME,
	OBSERVED_EXITED,	/* exited, a zombie, or the PID reused */
	OBSERVED_EXECED,	/* the process exec'd: another program now */
};
/* Is it still the process and the program we opened? */
enum observed_change observed_proc__check(const struct observed_proc *op);
/* Still the same process (not exited, not a zombie, PID not reused, no exec)? */
bool observed_proc__alive(const struct observed_proc *op);
/* "exited", "replaced its program (exec)": for a message after a check. */
const char *observed_change__text(enum observed_change c);
/*
 * Builds the model of the process from the BPF maps, merged with memory:
 * when scan_memory, a scan of it (tasks no probe saw, tasks gone); else
 * the last scan's word, carried when op->carry_scans (observe_memory.h).
 * p is freed and refilled. Needs op attached.
 */
int observed_proc__snapshot(struct observed_proc *op, bool scan_memory, struct ts_process *p);
/*
 * The two halves of observed_proc__snapshot, for a caller that replaces
 * p's workers in between (sampled mode builds them from its samples):
 * the tasks, then what is read of the final workers' threads (their TIDs
 * in a container; block_in_place on a long poll's stack).
 */
int observed_proc__snapshot_tasks(struct observed_proc *op, bool scan_memory,
				  struct ts_process *p);
void observed_proc__snapshot_workers(struct observed_proc *op, struct ts_process *p);
void observed_proc__close(struct observed_proc *op);

/*
 * Post-mortem: opens the process core dumped, its binary read from
 * exe_path (NULL: the path the core names). Routes op's memory reads to
 * cf (proc_use_core). On failure returns -errno and writes one line into
 * why.
 */
int observed_proc__open_core(struct observed_proc *op, struct core_file *cf,
			     const char *exe_path, char *why, size_t whylen);
/*
 * The model from memory alone (a core, or no probes): every task and its
 * state word; no counts, no times. p is freed and refilled.
 */
int observed_proc__snapshot_memory(struct observed_proc *op, struct ts_process *p);

/*
 * Each thread's block_on future (#[tokio::main], #[tokio::test] bodies):
 * mark_roots reads them at attach, add_roots adds them to p as tasks
 * (ts_task.root_tid), idle since attach when unchanged. No-ops unless
 * op->find_roots.
 */
void observed_proc__mark_roots(struct observed_proc *op);
int observed_proc__add_roots(struct observed_proc *op, struct ts_process *p);
void observed_proc__free_roots(struct observed_proc *op);

/* ---- between observe.c and observe_memory.c ----------------------------- */

/* Names t after raw::poll instance poll_idx of op's binary. */
void observed_proc__name_task(const struct observed_proc *op, struct ts_task *t, int poll_idx);
/* The load bias of op's binary, from its executable mapping. */
int observed_proc__compute_bias(struct observed_proc *op);
/* Merges a scan of op's memory into p; -ENOENT when there is nothing to scan for. */
int observed_proc__merge_memory(struct observed_proc *op, struct ts_process *p);
/*
 * Until it is done: checks op's descriptor against the n tasks of a scan
 * (layout_check.h); a refuted layout turns memory discovery off. False
 * when memory discovery is off: the scan's tasks must not be used.
 */
bool observed_proc__check_layout(struct observed_proc *op, const struct mem_task *mt, size_t n);

#endif
