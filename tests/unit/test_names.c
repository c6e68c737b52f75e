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
	UNIT_EXIT();
}
