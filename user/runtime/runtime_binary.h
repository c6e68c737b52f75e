/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a runtime's binary offers to observe, read from its ELF file alone:
 * the runtime and its version, hence its descriptor (runtime.h); the probe
 * points the descriptor names (tokio: raw::poll / raw::dealloc instances
 * and the waker functions; async-task, under async-std and smol:
 * RawTask::run / destroy / wake / wake_by_ref; usdt/taskscope.h sites);
 * task vtables and the future type each one polls.
 */
#ifndef TS_RUNTIME_BINARY_H
#define TS_RUNTIME_BINARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime.h"
#include "taskscope.h"
#include "usdt_notes.h"

/* A function in the binary: ELF virtual address and file offset. */
struct elf_func {
	uint64_t vaddr;
	uint64_t file_off;
	uint64_t size;
};

/* A task vtable (tokio `raw::Vtable`, async-task `TaskVTable`). */
struct task_vtable {
	uint64_t vaddr;			/* ELF vaddr of the Vtable */
	int poll_idx;			/* index into runtime_binary.polls */
	uint64_t dealloc_vaddr;
	uint64_t naming_vaddr;		/* instance whose drop glue names the type */
	uint64_t scheduler_offset;	/* from the header, bytes */
	uint64_t id_offset;		/* 0: the runtime has no task Id */
	uint64_t trailer_offset;	/* 0: no owned-task list */
};

struct task_poll_fn {
	struct elf_func fn;
	char future_type[512];	/* full Rust type, "" when unknown */
	char name[256];		/* readable name, "" when unknown */
	bool blocking;		/* spawn_blocking / worker launch: runs long by design */
	/*
	 * The name came from drop glue the linker shared between several
	 * future types (identical code folding): it may name another type.
	 */
	bool name_ambiguous;
};

struct runtime_binary {
	char path[4096];
	enum ts_runtime runtime;
	char runtime_name[32];	/* "tokio", "async-std", "smol", "async-task", "usdt" */
	const struct runtime_desc *desc;	/* chosen by runtime and version */
	struct task_layout layout;	/* desc->layout, for its many readers */
	bool has_symtab;
	/*
	 * No symbols named the task functions: the vtables were found by their
	 * shape (vtable_shape.h), poll and dealloc taken from their slots, and
	 * tasks are named by address unless DWARF names them. No wake probes.
	 */
	bool found_by_shape;
	bool has_debuginfo;	/* .debug_info present in the file itself */
	char build_id[64];	/* hex, "" when none */
	char version[32];	/* of runtime_name: "1.24.2", "" when not found */
	/* where version was read: "panic-location strings (…/tokio-1.24.2/src/…)" */
	char version_from[96];
	struct task_poll_fn *polls;
	size_t npolls;
	struct elf_func *deallocs;
	size_t ndeallocs;
	struct elf_func *wakes;	/* wake by value / by reference instances */
	size_t nwakes;
	struct task_vtable *vtables;
	size_t nvtables;
	/*
	 * tokio's task Id counter (static NEXT_ID in Id::next), 0 when not in
	 * the symbol table: Ids at or above its value at attach were spawned
	 * during the window.
	 */
	uint64_t next_task_id_vaddr;
	/*
	 * Where a task Id is taken: an instruction boundary after each inlined
	 * `lock xadd` into NEXT_ID (the first emulated instruction within a few
	 * plain ones when there is one), and the register holding the new Id
	 * there (x86-64 number). Probed, they tell who spawned each task.
	 */
	struct spawn_site {
		uint64_t vaddr, file_off;
		uint32_t reg;
		bool emulated;	/* a jcc/jmp/call/push there: the kernel emulates it */
	} *spawn_sites;
	size_t nspawn_sites;
	struct usdt_site *usdt;	/* usdt/taskscope.h probe sites */
	size_t nusdt;
};

/*
 * Scans the ELF at path. Returns 0 with tb filled, -ENOENT/-EIO... when the
 * file can't be read, -ENOEXEC when it is not an ELF, -ESRCH when it holds
 * no task symbols of a supported runtime (check has_symtab to tell
 * "stripped" apart; version is still read from .rodata then).
 */
int runtime_binary__load(struct runtime_binary *tb, const char *path);
void runtime_binary__free(struct runtime_binary *tb);
/* Index of the poll instance at ELF vaddr, or -1. */
int runtime_binary__poll_index(const struct runtime_binary *tb, uint64_t vaddr);
#endif
