/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Runtime descriptors: choice by version, entry points, the BPF-side table. */
#include <stdint.h>
#include <sys/cdefs.h>

#include "unit.h"
#include "runtime.h"

/* bits.bpf.h is plain C on BPF's kernel types */
typedef uint32_t u32;
typedef uint64_t u64;
#include "bits.bpf.h"

static void test_versions(void)
{
	CHECK("version: 1.9 < 1.24", runtime_version_cmp("1.9", "1.24") < 0);
	CHECK("version: 1.24.2 > 1.24", runtime_version_cmp("1.24.2", "1.24") > 0);
	CHECK("version: 1.24.0 == 1.24", runtime_version_cmp("1.24.0", "1.24") == 0);
	CHECK("version: 1.53.1 > 1.29.1", runtime_version_cmp("1.53.1", "1.29.1") > 0);
	CHECK("version: a suffix ends the number",
	      runtime_version_cmp("1.5.0 (async-executor)", "1.5") == 0);
	CHECK("version: not a number", runtime_version_cmp("abc", "0") == 0);
}

static void test_choose(void)
{
	const struct runtime_desc *tokio = runtime_desc__first(TS_RT_TOKIO);
	const struct runtime_desc *d;
	size_t i;

	CHECK("choose: a tokio descriptor exists", tokio && tokio->kind == TS_RT_TOKIO);
	CHECK("choose: 1.24.2 gets a tokio layout",
	      runtime_desc__choose(TS_RT_TOKIO, "1.24.2") == tokio);
	CHECK("choose: unknown version gets the oldest",
	      runtime_desc__choose(TS_RT_TOKIO, "") == tokio &&
	      runtime_desc__choose(TS_RT_TOKIO, NULL) == tokio);
	CHECK("choose: an older release than any gets the oldest",
	      runtime_desc__choose(TS_RT_TOKIO, "1.8.0") == tokio);
	/* the newest descriptor not after the version, whatever the table holds */
	d = runtime_desc__choose(TS_RT_TOKIO, "1.53.1");
	for (i = 0; i < runtime_desc__count(); i++) {
		const struct runtime_desc *o = runtime_desc__at(i);

		if (o->kind == TS_RT_TOKIO && o->since &&
		    runtime_version_cmp(o->since, "1.53.1") <= 0 &&
		    runtime_version_cmp(o->since, d->since) > 0)
			break;
	}
	CHECK("choose: the newest release at or before the binary's", i == runtime_desc__count());
	d = runtime_desc__choose(TS_RT_ASYNC_TASK, "4.7.1");
	CHECK("choose: async-task", d && d->kind == TS_RT_ASYNC_TASK);
	d = runtime_desc__choose(TS_RT_USDT, NULL);
	CHECK("choose: usdt", d && d->kind == TS_RT_USDT && d->abi_version);
	CHECK("index: round trip",
	      runtime_desc__at(runtime_desc__index(tokio)) == tokio &&
	      runtime_desc__count() <= TS_MAX_RUNTIME_DESCS);
}

static void test_entry_points(void)
{
	const struct runtime_entry_points *tokio = runtime_desc__first(TS_RT_TOKIO)->entry;
	const struct runtime_entry_points *at = runtime_desc__first(TS_RT_ASYNC_TASK)->entry;

	CHECK("entry: tokio raw::poll",
	      runtime_entry__match(tokio, "tokio::runtime::task::raw::poll") == RUNTIME_ENTRY_POLL);
	CHECK("entry: tokio v0 raw::poll with generics",
	      runtime_entry__match(tokio, "tokio::runtime::task::raw::poll::<a::f::{closure#0}, S>") ==
	      RUNTIME_ENTRY_POLL);
	CHECK("entry: not RawTask::poll (inlined, never fires)",
	      runtime_entry__match(tokio, "tokio::runtime::task::raw::RawTask::poll") ==
	      RUNTIME_ENTRY_NONE);
	CHECK("entry: tokio dealloc",
	      runtime_entry__match(tokio, "tokio::runtime::task::raw::dealloc") ==
	      RUNTIME_ENTRY_DEALLOC);
	CHECK("entry: tokio wakes",
	      runtime_entry__match(tokio, "tokio::runtime::task::waker::wake_by_val") ==
	      RUNTIME_ENTRY_WAKE &&
	      runtime_entry__match(tokio, "tokio::runtime::task::waker::wake_by_ref") ==
	      RUNTIME_ENTRY_WAKE);
	CHECK("entry: tokio clone_waker is not probed",
	      runtime_entry__match(tokio, "tokio::runtime::task::waker::clone_waker") ==
	      RUNTIME_ENTRY_NONE);
	CHECK("entry: async-task run",
	      runtime_entry__match(at, "async_task::raw::RawTask<F,T,S>::run") ==
	      RUNTIME_ENTRY_POLL);
	CHECK("entry: async-task <RawTask<…>>::destroy",
	      runtime_entry__match(at, "<async_task::raw::RawTask<F,T,S>>::destroy") ==
	      RUNTIME_ENTRY_DEALLOC);
	CHECK("entry: async-task wake_by_ref",
	      runtime_entry__match(at, "async_task::raw::RawTask<F,T,S>::wake_by_ref") ==
	      RUNTIME_ENTRY_WAKE);
	CHECK("entry: async-task other type",
	      runtime_entry__match(at, "async_task::raw::RawTaskX<F>::run") == RUNTIME_ENTRY_NONE);
	CHECK("entry: tokio name is not async-task's",
	      runtime_entry__match(at, "tokio::runtime::task::raw::poll") == RUNTIME_ENTRY_NONE);
	CHECK("entry: mangled hint",
	      runtime_entry__may_match(tokio, "_ZN5tokio7runtime4task3raw4poll17h0E") &&
	      !runtime_entry__may_match(tokio, "_ZN3std2io5stdio6_print17h0E"));
	CHECK("entry: task Id counter",
	      runtime_entry__is_task_id_counter(tokio, "tokio::runtime::task::id::Id::next::NEXT_ID") &&
	      !runtime_entry__is_task_id_counter(at, "tokio::runtime::task::id::Id::next::NEXT_ID"));
}

static void test_threads_and_futures(void)
{
	const struct runtime_desc *tokio = runtime_desc__first(TS_RT_TOKIO);
	const struct runtime_desc *at = runtime_desc__first(TS_RT_ASYNC_TASK);

	/* comm as the kernel keeps it: 15 bytes of "tokio-runtime-worker" */
	CHECK("threads: tokio worker", runtime_desc__is_worker_thread(tokio, "tokio-runtime-w"));
	CHECK("threads: main thread is not", !runtime_desc__is_worker_thread(tokio, "healthy"));
	CHECK("threads: no name, no worker", !runtime_desc__is_worker_thread(at, "async-std/runti"));
	CHECK("threads: no descriptor", !runtime_desc__is_worker_thread(NULL, "tokio-runtime-w"));
	CHECK("futures: blocking pool",
	      runtime_desc__is_blocking_future(tokio, "tokio::runtime::blocking::task::BlockingTask<"
					       "tokio::runtime::scheduler::multi_thread::worker::"
					       "launch::{{closure}}>"));
	CHECK("futures: worker launch task",
	      runtime_desc__is_worker_launch(tokio, "tokio::runtime::blocking::task::BlockingTask<"
					     "tokio::runtime::scheduler::multi_thread::worker::"
					     "launch::{{closure}}>") &&
	      !runtime_desc__is_worker_launch(tokio, "app::handler::{{closure}}") &&
	      !runtime_desc__is_worker_launch(at, "x::worker::launch"));
	CHECK("futures: an async fn is not blocking",
	      !runtime_desc__is_blocking_future(tokio, "app::handler::{{closure}}") &&
	      !runtime_desc__is_blocking_future(at, "app::handler::{{closure}}"));
}

static void test_bpf_layouts(void)
{
	struct ts_runtime_layout l[TS_MAX_RUNTIME_DESCS];
	const struct runtime_desc *tokio = runtime_desc__first(TS_RT_TOKIO);
	const struct runtime_desc *at = runtime_desc__first(TS_RT_ASYNC_TASK);
	uint32_t ti = runtime_desc__index(tokio), ai = runtime_desc__index(at);

	memset(l, 0xff, sizeof(l));
	runtime_desc__bpf_layouts(l, TS_MAX_RUNTIME_DESCS);
	/* the facts the BPF side hard-coded before the descriptors (tokio 1.24, async-task 4) */
	CHECK("bpf: tokio header",
	      l[ti].kind == TS_RT_TOKIO && l[ti].hdr_state_off == 0 && l[ti].hdr_vtable_off == 16 &&
	      l[ti].hdr_owner_off == 24 && l[ti].vt_id_offset_slot == 72);
	CHECK("bpf: tokio state bits",
	      l[ti].state_running == 1 && l[ti].state_complete == 2 && l[ti].state_notified == 4);
	CHECK("bpf: async-task header",
	      l[ai].kind == TS_RT_ASYNC_TASK && l[ai].hdr_state_off == 8 &&
	      l[ai].hdr_owner_off == 0 && l[ai].vt_id_offset_slot == 0);
	CHECK("bpf: async-task state bits",
	      l[ai].state_running == 2 && l[ai].state_complete == 4 && l[ai].state_notified == 1);
	CHECK("bpf: unused entries zeroed",
	      l[TS_MAX_RUNTIME_DESCS - 1].kind == 0 && l[TS_MAX_RUNTIME_DESCS - 1].state_running == 0);
	CHECK("cookie: descriptor, flags and instance apart",
	      TS_COOKIE_DESC(TS_COOKIE(ai | TS_COOKIE_F_NO_TASK_ID, 7)) == ai &&
	      TS_COOKIE_FLAGS(TS_COOKIE(ai | TS_COOKIE_F_NO_TASK_ID, 7)) == TS_COOKIE_F_NO_TASK_ID &&
	      TS_COOKIE_IDX(TS_COOKIE(ai, TS_POLL_UNKNOWN)) == TS_POLL_UNKNOWN);
}

/* The loop the BPF side used before: the reference for log2_u64. */
static u32 log2_by_loop(u64 v)
{
	u32 r = 0;

	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r;
}

static void test_log2(void)
{
	u64 v;
	int i, bad = 0;

	for (v = 0; v < 5000; v++)
		bad += log2_u64(v) != log2_by_loop(v);
	for (i = 0; i < 64; i++) {
		v = 1ULL << i;
		bad += log2_u64(v) != (u32)i;
		bad += log2_u64(v - 1) != log2_by_loop(v - 1);
		bad += log2_u64(v + 1) != log2_by_loop(v + 1);
		bad += log2_u64(v | (v >> 1)) != (u32)i;
	}
	CHECK("log2_u64: floor(log2) for 0..5000 and around every power of two", bad == 0);
	CHECK("log2_u64: extremes", log2_u64(0) == 0 && log2_u64(~0ULL) == 63);
}

int main(void)
{
	test_versions();
	test_choose();
	test_entry_points();
	test_threads_and_futures();
	test_bpf_layouts();
	test_log2();
	UNIT_EXIT();
}
