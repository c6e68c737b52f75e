/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The future a thread runs in `block_on`: the body of `#[tokio::main]`,
 * of each `#[tokio::test]` (libtest runs every test on a thread of its
 * own, with a current-thread runtime), of `Runtime::block_on` or
 * `futures::executor::block_on` anywhere. Such a future is no spawned
 * task: no owned-task list has it. It is pinned in a local of the
 * block_on frame, on the thread's stack.
 *
 * How it is found, read-only: /proc/PID/task/TID/syscall gives the stack
 * pointer of a thread blocked in the kernel (parked runtimes are); the
 * stack from there up is read with process_vm_readv. A word on it that is
 * a return address into a function named block_on (or a closure or
 * inlined call inside one) marks that frame, and DWARF gives the
 * function's template parameter F, the future's exact type. The frame's
 * memory above the return address is searched for a value of F that is
 * suspended at an .await (the moved-from copies made before the first
 * poll are still `Unresumed`), and its await chain is read as a task's is.
 * Needs DWARF; a running thread (not in the kernel) has no stack pointer
 * to read and is left out.
 */
#ifndef TS_THREAD_ROOT_H
#define TS_THREAD_ROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "await_chain.h"

struct ts_thread_root {
	pid_t tid;
	uint64_t sp;			/* the stack pointer it was found from */
	uint64_t future_addr;		/* the pinned future, on the thread's stack */
	char func[192];			/* the fn whose body it is: "ledger::waits_for_reply" */
	char executor[192];		/* "tokio::runtime::runtime::Runtime::block_on" */
	struct ts_await_chain chain;
};

/*
 * Fills out for thread tid of pid (load_bias: runtime address minus ELF
 * vaddr). 0 found; -EBUSY the thread is running (no stack pointer);
 * -ENOENT no block_on frame on its stack or no suspended future in it;
 * other -errno when /proc or memory can't be read.
 */
int ts_dwarf__thread_root(struct ts_dwarf *dw, pid_t pid, pid_t tid, uint64_t load_bias,
			  struct ts_thread_root *out);

/* The same from a stack pointer known otherwise (a core's NT_PRSTATUS). */
int ts_dwarf__thread_root_at(struct ts_dwarf *dw, pid_t pid, pid_t tid, uint64_t sp,
			     uint64_t load_bias, struct ts_thread_root *out);

/*
 * Does thread tid of pid (blocked in the kernel) have a return address
 * into a Rust function whose mangled path holds the component comp
 * ("14block_in_place": length-prefixed as in _ZN...) on its stack? From
 * the binary's symbol table. 1 yes, 0 no, -EBUSY running, other -errno.
 */
int ts_dwarf__thread_calls(struct ts_dwarf *dw, pid_t pid, pid_t tid, uint64_t load_bias,
			   const char *comp);

/* --- pure helpers, exposed for tests ------------------------------------ */

/*
 * The stack and instruction pointers in a /proc/PID/task/TID/syscall line:
 * "NR ARG1..ARG6 SP PC" (in a syscall) or "-1 SP PC" (blocked outside
 * one). -EBUSY for "running", -EINVAL for anything else.
 */
int ts_parse_proc_syscall(const char *line, uint64_t *sp, uint64_t *pc);
/*
 * The test or thread a block_on body belongs to, from the body's fn path
 * and the thread's name as the kernel keeps it (cut to 15 bytes): the fn
 * path without its crate when the name is a prefix of it (libtest names a
 * test's thread after the test: "tests::hangs_on_mutex"); "main" for the
 * process's first thread (std's name for it; the kernel's is the
 * program's); else the name.
 */
void ts_thread_root_name(const char *func, const char *comm, bool main_thread, char *out,
			 size_t len);

#endif
