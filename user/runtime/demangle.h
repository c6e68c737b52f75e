/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Rust symbol names: demangling and the readable names users see. */
#ifndef TS_DEMANGLE_H
#define TS_DEMANGLE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Demangles a Rust (legacy or v0) or C++ symbol into out, without the
 * legacy hash and without a `.llvm.NNN`-style suffix. Returns false (and
 * copies the name as it is) when it is not mangled.
 */
bool ts_demangle(const char *mangled, char *out, size_t len);

/*
 * True when a demangled name is exactly `path` or `path` followed by a
 * generic argument list (v0 mangling keeps them: `path::<T, S>`).
 */
bool ts_name_is(const char *demangled, const char *path);

/*
 * From `core::ptr::drop_in_place<tokio::runtime::task::core::Cell<T, S>>`
 * copies T. Returns false when the name has another shape.
 */
bool ts_cell_future_type(const char *drop_glue, char *out, size_t len);

/*
 * How well a drop glue symbol called from tokio task code names the task's
 * future T, best last. From tokio 1.47 on, raw::dealloc<T, S> inlines the
 * drop of the Cell, so its calls drop the Cell's parts: the Stage/Core (T
 * inside), T itself, and tokio's own fields (Arc<Handle>, the Trailer,
 * an Option<Waker>), which name nothing.
 */
enum ts_glue_rank {
	TS_GLUE_NONE,		/* not drop glue, or of a tokio-internal type */
	TS_GLUE_OTHER,		/* drop_in_place<X>, X not an async fn/block: maybe T's output */
	TS_GLUE_ASYNC,		/* drop_in_place<X>, X an async fn or block state machine */
	TS_GLUE_STAGE,		/* drop_in_place<tokio::…::core::{CoreStage,Stage,Core}<T…>> */
	TS_GLUE_CELL,		/* drop_in_place<…Cell<T, S>…> */
};

/* Ranks a demangled drop glue name and copies the future type it names. */
enum ts_glue_rank ts_task_glue_rank(const char *drop_glue, char *out, size_t len);

/* From `core::ptr::drop_in_place<X>` copies X. */
bool ts_drop_glue_type(const char *drop_glue, char *out, size_t len);
/* Copies the last generic argument of `path<A, B>` or `path<A, B>::x`. */
bool ts_last_generic_arg(const char *type, char *out, size_t len);

/*
 * The name a person reads for a future type: `app::handler::{{closure}}`
 * (an async fn's state machine) becomes `app::handler`; closures and async
 * blocks further in become `{async block}`.
 */
void ts_readable_future_name(const char *type, char *out, size_t len);

#endif
