/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A process's memory as an ELF core file keeps it (gcore, a crash, kill
 * -ABRT): its mappings (PT_LOAD segments, named by the NT_FILE note), its
 * threads (NT_PRSTATUS), its name and PID (NT_PRPSINFO). Post-mortem
 * reports read the memory here instead of process_vm_readv; what the core
 * left out (file-backed pages nobody wrote, as the kernel and gdb skip
 * them by default) is read from the mapped file when it is on this
 * machine.
 */
#ifndef TS_CORE_FILE_H
#define TS_CORE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct core_segment {
	uint64_t vaddr, memsz;
	uint64_t file_off, filesz;	/* in the core; filesz < memsz: the rest was not dumped */
	char perms[5];			/* "rw-p", as /proc/PID/maps writes them */
	int file_idx;			/* the NT_FILE entry mapping it, -1 anonymous */
	uint64_t map_off;		/* offset in that file of vaddr */
};

struct core_mapped_file {
	uint64_t start, end, offset;	/* from NT_FILE */
	char path[256];
	int fd;				/* opened on first need; -1 unreadable, -2 not yet */
};

struct core_thread {
	pid_t tid;
	uint64_t fs_base;		/* thread pointer: its thread-locals */
	uint64_t rip, rsp;
};

struct core_file {
	char path[4096];
	int fd;
	const uint8_t *data;		/* the whole core, mapped read-only */
	size_t size;
	pid_t pid;
	char comm[17];			/* pr_fname */
	char args[81];			/* pr_psargs */
	char exe[256];			/* the NT_FILE entry holding AT_ENTRY, "" unknown */
	uint64_t entry;			/* AT_ENTRY */
	struct core_segment *segs;	/* sorted by vaddr */
	size_t nsegs;
	struct core_mapped_file *files;
	size_t nfiles;
	struct core_thread *threads;
	size_t nthreads;
	/* a mapped file read from elsewhere (--exe): path as in the core -> real path */
	char exe_override[4096];
};

/*
 * Opens and indexes a core file. On failure returns -errno and writes one
 * line for the user into why ("not an ELF core file", ...).
 */
int core_file__open(struct core_file *cf, const char *path, char *why, size_t whylen);
void core_file__close(struct core_file *cf);
/*
 * Reads len bytes at addr of the dumped process: from the core, or from
 * the mapped file for pages the core left out. Returns the bytes read (a
 * short read at a hole) or -EFAULT when nothing at addr is readable.
 */
ssize_t core_file__read(struct core_file *cf, uint64_t addr, void *buf, size_t len);

#endif
