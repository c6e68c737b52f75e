/* Demangling and the names users read: pure string logic. */
#include "demangle.h"
#include "unit.h"

int main(void)
{
	char out[1024], ty[512];

	ts_demangle("_ZN5tokio7runtime4task3raw4poll17h933774f4b92329adE.llvm.2634841331413632179",
		    out, sizeof(out));
	CHECK_STR("legacy raw::poll with .llvm suffix", out, "tokio::runtime::task::raw::poll");
	CHECK("raw::poll matched", ts_name_is(out, "tokio::runtime::task::raw::poll"));
	CHECK("RawTask::poll is not raw::poll",
	      !ts_name_is("tokio::runtime::task::raw::RawTask::poll",
			  "tokio::runtime::task::raw::poll"));
	CHECK("raw::poll_x is not raw::poll",
	      !ts_name_is("tokio::runtime::task::raw::poll_future", "tokio::runtime::task::raw::poll"));
	CHECK("v0 generic args accepted",
	      ts_name_is("tokio::runtime::task::raw::poll::<app::f::{closure#0}, S>",
			 "tokio::runtime::task::raw::poll"));

	ts_demangle("_RNvNtNtNtCs1234_5tokio7runtime4task3raw4poll", out, sizeof(out));
	CHECK_STR("v0 mangling", out, "tokio::runtime::task::raw::poll");

	ts_demangle("main", out, sizeof(out));
	CHECK_STR("unmangled passes through", out, "main");

	/* legacy mangling writes "::" inside generics as "..": only .llvm. is a suffix */
	ts_demangle("_ZN4core3ptr181drop_in_place$LT$tokio..runtime..task..core..Cell$LT$healthy..worker"
		    "..$u7b$$u7b$closure$u7d$$u7d$$C$alloc..sync..Arc$LT$tokio..runtime..scheduler.."
		    "current_thread..Handle$GT$$GT$$GT$17h77a4fbef803611b6E.llvm.26", out, sizeof(out));
	CHECK_STR("drop glue demangled", out,
		  "core::ptr::drop_in_place<tokio::runtime::task::core::Cell<healthy::worker::"
		  "{{closure}},alloc::sync::Arc<tokio::runtime::scheduler::current_thread::Handle>>>");

	CHECK("cell future type extracted", ts_cell_future_type(out, ty, sizeof(ty)));
	CHECK_STR("cell future type", ty, "healthy::worker::{{closure}}");

	CHECK("nested generics in T",
	      ts_cell_future_type("core::ptr::drop_in_place<tokio::runtime::task::core::Cell<"
				  "tokio::runtime::blocking::task::BlockingTask<a::b<c,d>::{{closure}}>,"
				  "tokio::runtime::blocking::schedule::BlockingSchedule>>", out, sizeof(out)));
	CHECK_STR("nested generics value", out,
		  "tokio::runtime::blocking::task::BlockingTask<a::b<c,d>::{{closure}}>");
	CHECK("not a cell", !ts_cell_future_type("core::ptr::drop_in_place<alloc::string::String>",
						 out, sizeof(out)));

	ts_readable_future_name("healthy::worker::{{closure}}", out, sizeof(out));
	CHECK_STR("async fn name", out, "healthy::worker");
	ts_readable_future_name("app::main::{{closure}}::{{closure}}", out, sizeof(out));
	CHECK_STR("async block inside fn", out, "app::main::{async block}");
	ts_readable_future_name("app::handler::{async_fn_env#0}", out, sizeof(out));
	CHECK_STR("DWARF async fn env", out, "app::handler");
	ts_readable_future_name("tokio::runtime::blocking::task::BlockingTask<x::{{closure}}>", out,
				sizeof(out));
	CHECK_STR("closure inside generic", out,
		  "tokio::runtime::blocking::task::BlockingTask<x::{async block}>");
	/* tokio >= 1.47 raw::dealloc: the Cell's drop inlined, its parts dropped (release build) */
	CHECK("Box<Cell> glue ranks as a Cell",
	      ts_task_glue_rank("core::ptr::drop_in_place<alloc::boxed::Box<tokio::runtime::task::core::"
				"Cell<app::lock_ab::{{closure}},alloc::sync::Arc<tokio::runtime::"
				"scheduler::multi_thread::handle::Handle>>>>", ty, sizeof(ty)) == TS_GLUE_CELL);
	CHECK_STR("Box<Cell> future", ty, "app::lock_ab::{{closure}}");
	CHECK("CoreStage glue ranks as a stage",
	      ts_task_glue_rank("core::ptr::drop_in_place<tokio::runtime::task::core::CoreStage<"
				"app::idle_task::{{closure}}>>", ty, sizeof(ty)) == TS_GLUE_STAGE);
	CHECK_STR("CoreStage future", ty, "app::idle_task::{{closure}}");
	CHECK("the future's own glue ranks as async",
	      ts_task_glue_rank("core::ptr::drop_in_place<app::ct_sender::{{closure}}>", ty,
				sizeof(ty)) == TS_GLUE_ASYNC);
	CHECK_STR("future's own glue", ty, "app::ct_sender::{{closure}}");
	CHECK("the Trailer names nothing",
	      ts_task_glue_rank("core::ptr::drop_in_place<tokio::runtime::task::core::Trailer>", ty,
				sizeof(ty)) == TS_GLUE_NONE);
	CHECK("the scheduler handle names nothing",
	      ts_task_glue_rank("core::ptr::drop_in_place<alloc::sync::Arc<tokio::runtime::scheduler::"
				"multi_thread::handle::Handle>>", ty, sizeof(ty)) == TS_GLUE_NONE);
	CHECK("an Option<Waker> names nothing",
	      ts_task_glue_rank("core::ptr::drop_in_place<core::option::Option<core::task::wake::"
				"Waker>>", ty, sizeof(ty)) == TS_GLUE_NONE);
	CHECK("a plain output type ranks below a future",
	      ts_task_glue_rank("core::ptr::drop_in_place<alloc::string::String>", ty, sizeof(ty)) ==
	      TS_GLUE_OTHER);
	CHECK("not drop glue", ts_task_glue_rank("app::main", ty, sizeof(ty)) == TS_GLUE_NONE);
	UNIT_EXIT();
}
