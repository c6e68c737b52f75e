/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Read-only views of a target process: /proc files and its memory. */
#ifndef TS_PROCFS_H
#define TS_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_mapping {
	uint64_t start, end;
	uint64_t offset;	/* file offset of start */
	char perms[5];		/* "r-xp" */
	char path[256];		/* "" for anonymous */
};

struct proc_maps {
	struct proc_mapping *v;
	size_t n;
};

struct core_file;
/*
 * Post-mortem: from now on the process cf dumped (its PID) is read from
 * cf: memory, mappings, threads, name, and an identity that never
 * changes. NULL goes back to /proc alone.
 */
void proc_use_core(struct core_file *cf);

bool proc_exists(pid_t pid);
/*
 * pid as the innermost PID namespace it lives in sees it (NSpid's last
 * field in /proc/PID/status): 1 for a container's first process. Returns
 * 0 with *ns_pid = pid when it shares our namespace, -errno when unreadable.
 */
int proc_ns_pid(pid_t pid, pid_t *ns_pid);
/* The command name (comm) of pid, or of thread tid when tid > 0. */
int proc_comm(pid_t pid, pid_t tid, char *buf, size_t len);
/* Target of /proc/PID/exe, as the process sees it (inside its root). */
int proc_exe_path(pid_t pid, char *buf, size_t len);
/*
 * Context switches of thread tid so far (voluntary + not): unchanged
 * between two reads, the thread never ran in between.
 */
int proc_thread_switches(pid_t pid, pid_t tid, uint64_t *switches);
int proc_maps__read(pid_t pid, struct proc_maps *maps);
void proc_maps__free(struct proc_maps *maps);
/*
 * Runtime address minus ELF virtual address for the file at exe_path as
 * mapped in the process (PIE load bias), from a function's address and
 * file offset. Segments sharing a page are mapped twice (r-- and r-x), so
 * only executable mappings count. Returns -ENOENT when not mapped.
 */
int proc_maps__load_bias(const struct proc_maps *maps, const char *exe_path,
			 uint64_t elf_vaddr, uint64_t elf_offset, uint64_t *bias);
/* Thread ids of pid; returns count (<= max) or -errno. */
int proc_threads(pid_t pid, pid_t *tids, int max);
/* Process state letter (stat field 3): 'R', 'S', 'Z'... */
int proc_state(pid_t pid, char *state);
/* Process start time in clock ticks since boot (stat field 22). */
int proc_start_ticks(pid_t pid, uint64_t *ticks);
/*
 * Why pid has no program to observe, as words after "PID N (comm) ":
 * "is a kernel thread", "is a zombie ..."; NULL when it has one. Both
 * have no /proc/PID/exe, which otherwise reads as a bare ENOENT.
 */
const char *proc_no_program(pid_t pid);

/*
 * What tells one program run from the next in the same process: exec
 * keeps the PID and the start time but maps a new stack (stat field 28)
 * and usually a new executable.
 */
struct proc_identity {
	char state;			/* field 3 */
	uint64_t start_ticks;		/* field 22 */
	uint64_t start_stack;		/* field 28 */
	uint64_t exe_dev, exe_ino;	/* of /proc/PID/exe's target, 0 when unreadable */
};
int proc_identity(pid_t pid, struct proc_identity *id);

/*
 * Reads target memory without stopping or writing to it
 * (process_vm_readv). Returns bytes read (a short read when a page is
 * unmapped mid-range) or -errno.
 */
ssize_t proc_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len);
/* All-or-nothing 8-byte read. */
int proc_read_u64(pid_t pid, uint64_t addr, uint64_t *val);

#endif
