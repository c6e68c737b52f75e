// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The pure parts of `taskscope run` and of block_on roots: the process
 * tree, progress, /proc/TID/syscall lines, a root's name, and which idle
 * roots are findings.
 */
#include <errno.h>
#include <stdlib.h>

#include "proc_tree.h"
#include "stall_rules.h"
#include "thread_root.h"
#include "unit.h"

#define S (1000ULL * 1000 * 1000)

static void test_tree(void)
{
	/* cargo (10) forks rustc (11, exited), the test binary (12) and a helper (13) */
	const struct pid_parent all[] = {
		{ 1, 0 }, { 10, 5 }, { 12, 10 }, { 13, 12 }, { 14, 1 }, { 20, 13 }, { 5, 1 },
	};
	pid_t out[8];
	size_t n;

	n = proc_tree__descendants(all, 7, 10, out, 8);
	CHECK("tree: root and its descendants, nothing else",
	      n == 4 && out[0] == 10 && out[1] == 12 && out[2] == 13 && out[3] == 20);
	CHECK("tree: a root that is gone has no tree", proc_tree__descendants(all, 7, 99, out, 8) == 0);
	CHECK("tree: bounded by max", proc_tree__descendants(all, 7, 10, out, 2) == 2);
}

static void test_progress(void)
{
	struct progress pr = {};

	CHECK("progress: first read starts the clock", progress__update(&pr, 50, 10 * S) == 0);
	CHECK("progress: unchanged runs: stalled since", progress__update(&pr, 50, 13 * S) == 3 * S);
	CHECK("progress: one switch-in resets", progress__update(&pr, 51, 14 * S) == 0);
	CHECK("progress: a thread gone (fewer runs) is a change too",
	      progress__update(&pr, 40, 20 * S) == 0 && progress__update(&pr, 40, 21 * S) == S);
}

static void test_syscall_line(void)
{
	uint64_t sp = 0, pc = 0;

	CHECK("syscall: in a syscall",
	      ts_parse_proc_syscall("202 0x7f749c000b90 0x89 0x0 0x0 0x0 0xffffffff "
				    "0x7f74a115c208 0x7f74a1263829\n", &sp, &pc) == 0 &&
	      sp == 0x7f74a115c208ULL && pc == 0x7f74a1263829ULL);
	CHECK("syscall: blocked outside one",
	      ts_parse_proc_syscall("-1 0x7ffd1000 0x5555aaaa\n", &sp, &pc) == 0 && sp == 0x7ffd1000);
	CHECK("syscall: running has no stack pointer",
	      ts_parse_proc_syscall("running\n", &sp, &pc) == -EBUSY);
	CHECK("syscall: garbage", ts_parse_proc_syscall("202 12 13\n", &sp, &pc) == -EINVAL &&
	      ts_parse_proc_syscall("", &sp, &pc) == -EINVAL);
}

static void test_root_name(void)
{
	char out[128];

	ts_thread_root_name("ledger::reconciles_ledger_after_audit", "reconciles_ledg", false,
			    out, sizeof(out));
	CHECK_STR("root name: the test's full name from a cut thread name", out,
		  "reconciles_ledger_after_audit");
	ts_thread_root_name("app::tests::hangs_on_mutex", "tests::hangs_on", false, out,
			    sizeof(out));
	CHECK_STR("root name: a test in a module", out, "tests::hangs_on_mutex");
	ts_thread_root_name("quiet::main", "quiet", true, out, sizeof(out));
	CHECK_STR("root name: #[tokio::main] on the first thread is main", out, "main");
	ts_thread_root_name("app::serve", "worker-3", false, out, sizeof(out));
	CHECK_STR("root name: another thread keeps its name", out, "worker-3");
}

static struct ts_task *root(struct ts_process *p, uint32_t tid, enum ts_leaf_kind leaf)
{
	struct ts_task *t = ts_process__add_task(p);

	t->root_tid = tid;
	t->header = 0x7ffd0000 + tid;
	t->name = ts_intern("main");
	t->state = TS_TASK_IDLE;
	t->in_state_ns = 5 * S;
	t->since_attach = true;
	t->chain = calloc(1, sizeof(*t->chain));
	t->chain->status = TS_CHAIN_SUSPENDED;
	t->chain->leaf.kind = leaf;
	return t;
}

static void test_idle_roots(void)
{
	struct ts_rules_config cfg;
	struct ts_process p = {};
	struct ts_finding *f;
	int n;

	ts_rules_config__default(&cfg);
	p.attach_ns = 100 * S;
	p.snapshot_ns = 105 * S;
	root(&p, 41, TS_LEAF_PENDING);
	root(&p, 42, TS_LEAF_JOIN);
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("roots: main parked on pending() or its server's JoinHandle is no finding", n == 0);
	free(f);
	root(&p, 43, TS_LEAF_MUTEX);
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("roots: a block_on waiting on a held mutex is one",
	      n == 1 && f[0].kind == TS_FIND_IDLE && strstr(f[0].message, "block_on main (thread 43)"));
	free(f);
	cfg.idle_roots = true;	/* taskscope run: every parked test is the hang */
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("roots: under run every idle root is a finding", n == 3);
	free(f);
	ts_process__free(&p);
}

static void test_block_in_place(void)
{
	struct ts_rules_config cfg;
	struct ts_process p = {};
	struct ts_finding *f;
	struct ts_task *t;
	int n;

	ts_rules_config__default(&cfg);
	p.attach_ns = 100 * S;
	p.snapshot_ns = 103 * S;
	t = ts_process__add_task(&p);
	t->task_id = 3;
	t->name = ts_intern("app::crunch");
	t->state = TS_TASK_IDLE;
	t->st.polls = 2;
	t->st.max_poll_ns = 2 * S;
	p.handoff_types[0] = ts_intern("tokio::runtime::blocking::task::BlockingTask<tokio::runtime::"
				       "scheduler::multi_thread::worker::block_in_place::{closure}<"
				       "app::other::{closure}, ()>>");
	p.nhandoffs = 1;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("block_in_place: another task's hand-off does not excuse a 2 s poll",
	      n == 1 && f[0].kind == TS_FIND_BLOCKED_WORKER);
	free(f);
	p.handoff_types[0] = ts_intern("tokio::runtime::blocking::task::BlockingTask<tokio::runtime::"
				       "scheduler::multi_thread::worker::block_in_place::{closure}<"
				       "app::crunch::{closure}, ()>>");
	CHECK("block_in_place: the hand-off names the task's closure",
	      ts_task__uses_block_in_place(&p, t));
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("block_in_place: its long poll holds no worker, no finding", n == 0);
	free(f);
	t->name = ts_intern("app::crunch_more");
	CHECK("block_in_place: a name that only starts alike does not match",
	      !ts_task__uses_block_in_place(&p, t));
	ts_process__free(&p);
}

int main(void)
{
	test_block_in_place();
	test_tree();
	test_progress();
	test_syscall_line();
	test_root_name();
	test_idle_roots();
	UNIT_EXIT();
}
