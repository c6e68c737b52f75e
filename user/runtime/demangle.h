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
