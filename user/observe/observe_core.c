// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Post-mortem observation: a core file stands in for the process. The
 * memory path is the live one (procfs routes reads to the core), so the
 * tasks, states, await chains and holds a core gives are those a live
 * report reads; what only probes see (counts, times) is absent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "observe.h"

int observed_proc__open_core(struct observed_proc *op, struct core_file *cf,
			     const char *exe_path, char *why, size_t whylen)
{
	int err;

	memset(op, 0, sizeof(*op));
	op->pid = cf->pid;
	op->core = cf;
	snprintf(op->comm, sizeof(op->comm), "%s", cf->comm);
	if (!cf->exe[0]) {
		snprintf(why, whylen, "%s: the core names no executable (no NT_FILE note or "
			 "AT_ENTRY); it was not written by Linux or gdb", cf->path);
		return -ENOENT;
	}
	snprintf(op->exe, sizeof(op->exe), "%s", cf->exe);
	snprintf(op->elf_path, sizeof(op->elf_path), "%s", exe_path ? exe_path : cf->exe);
	snprintf(cf->exe_override, sizeof(cf->exe_override), "%s", op->elf_path);
	proc_use_core(cf);
	err = runtime_binary__load(&op->tb, op->elf_path);
	if (err) {
		snprintf(why, whylen, "%s (the core's executable %s): %s%s", op->elf_path, cf->exe,
			 err == -ESRCH ? "no supported async runtime" :
			 err == -ENOEXEC ? "not a valid ELF file" : strerror(-err),
			 err == -ENOENT && !exe_path ? "; give the binary with --exe FILE" : "");
		return err;
	}
	err = observed_proc__compute_bias(op);
	if (err) {
		snprintf(why, whylen, "%s: %s is not mapped in the core as its executable "
			 "(another build? give the one that ran with --exe)", cf->path, op->elf_path);
		runtime_binary__free(&op->tb);
		return err;
	}
	return 0;
}
