/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libiberty/demangle.h>

#include "array.h"
#include "demangle.h"

static void copy_str(char *out, size_t len, const char *s, size_t n)
{
	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

bool ts_demangle(const char *mangled, char *out, size_t len)
{
	char buf[4096], *dm;
	const char *dot;
	size_t n;

	/*
	 * LLVM appends `.llvm.<hash>` to promoted local symbols. Legacy Rust
	 * mangling uses ".." for "::" itself, so only that suffix is cut.
	 */
	dot = strstr(mangled, ".llvm.");
	n = dot ? (size_t)(dot - mangled) : strlen(mangled);
	if (dot) {
		copy_str(buf, sizeof(buf), mangled, n);
		mangled = buf;
	}
	dm = rust_demangle(mangled, 0);
	if (!dm)
		dm = cplus_demangle(mangled, DMGL_PARAMS | DMGL_ANSI);
	if (!dm) {
		copy_str(out, len, mangled, strlen(mangled));
		return false;
	}
	copy_str(out, len, dm, strlen(dm));
	free(dm);
	return true;
}

bool ts_name_is(const char *demangled, const char *path)
{
	size_t n = strlen(path);

	if (strncmp(demangled, path, n))
		return false;
	return demangled[n] == '\0' || !strncmp(demangled + n, "::<", 3) ||
	       demangled[n] == '<';
}

/* Index just past the generic argument that starts at s[i], at depth 0. */
static size_t skip_generic_arg(const char *s, size_t i)
{
	int depth = 0;

	for (; s[i]; i++) {
		if (s[i] == '<' || s[i] == '(' || s[i] == '[')
			depth++;
		else if (s[i] == '>' || s[i] == ')' || s[i] == ']') {
			if (depth == 0)
				return i;
			depth--;
		} else if (s[i] == ',' && depth == 0)
			return i;
	}
	return i;
}

bool ts_cell_future_type(const char *drop_glue, char *out, size_t len)
{
	static const char cell[] = "tokio::runtime::task::core::Cell<";
	const char *p = strstr(drop_glue, cell);
	size_t end;

	if (!p)
		return false;
	p += sizeof(cell) - 1;
	end = skip_generic_arg(p, 0);
	if (!end || (p[end] != ',' && p[end] != '>'))
		return false;
	copy_str(out, len, p, end);
	return true;
}

bool ts_drop_glue_type(const char *drop_glue, char *out, size_t len)
{
	static const char pre[] = "core::ptr::drop_in_place<";
	size_t n = strlen(drop_glue), end;

	if (strncmp(drop_glue, pre, sizeof(pre) - 1) || drop_glue[n - 1] != '>')
		return false;
	end = skip_generic_arg(drop_glue, sizeof(pre) - 1);
	if (drop_glue[end] != '>' || end + 1 != n)
		return false;
	copy_str(out, len, drop_glue + sizeof(pre) - 1, end - (sizeof(pre) - 1));
	return true;
}

/* The first generic argument of `path<A, …>` when type starts with path<. */
static bool first_generic_arg(const char *type, const char *path, char *out, size_t len)
{
	size_t n = strlen(path), end;

	if (strncmp(type, path, n))
		return false;
	end = skip_generic_arg(type, n);
	if (end == n || (type[end] != ',' && type[end] != '>'))
		return false;
	copy_str(out, len, type + n, end - n);
	return true;
}

enum ts_glue_rank ts_task_glue_rank(const char *drop_glue, char *out, size_t len)
{
	/* the task's parts that hold T, as drop glue names them (1.24–1.53) */
	static const char *const stages[] = {
		"tokio::runtime::task::core::CoreStage<",
		"tokio::runtime::task::core::Stage<",
		"tokio::runtime::task::core::Core<",
	};
	/* what a task holds besides T: dropping them names no future */
	static const char *const internal[] = {
		"tokio::runtime::task::", "tokio::runtime::scheduler::",
		"tokio::runtime::handle::", "tokio::runtime::context::",
		"tokio::runtime::driver::", "tokio::util::",
		"alloc::sync::Arc<", "alloc::rc::Rc<", "alloc::boxed::Box<",
		"core::option::Option<", "core::result::Result<", "core::task::",
		"core::cell::", "std::sync::", "std::thread::",
	};
	char ty[1024];
	size_t i;

	if (ts_cell_future_type(drop_glue, out, len))
		return TS_GLUE_CELL;
	if (!ts_drop_glue_type(drop_glue, ty, sizeof(ty)))
		return TS_GLUE_NONE;
	for (i = 0; i < ARRAY_SIZE(stages); i++)
		if (first_generic_arg(ty, stages[i], out, len))
			return TS_GLUE_STAGE;
	for (i = 0; i < ARRAY_SIZE(internal); i++)
		if (!strncmp(ty, internal[i], strlen(internal[i])))
			return TS_GLUE_NONE;
	copy_str(out, len, ty, strlen(ty));
	/* an async fn's or block's state machine: `…::{{closure}}` or `{closure#N}` (v0) */
	if (strstr(ty, "{{closure}}") || strstr(ty, "{closure#") || strstr(ty, "_env#"))
		return TS_GLUE_ASYNC;
	return TS_GLUE_OTHER;
}

bool ts_last_generic_arg(const char *type, char *out, size_t len)
{
	const char *lt = strchr(type, '<');
	size_t i, start, end;

	if (!lt)
		return false;
	start = (size_t)(lt - type) + 1;
	for (i = start;;) {
		end = skip_generic_arg(type, i);
		if (type[end] != ',')
			break;
		i = end + 1;
		while (type[i] == ' ')
			i++;
		start = i;
	}
	if (type[end] != '>')
		return false;
	copy_str(out, len, type + start, end - start);
	return true;
}

static bool strip_suffix(char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	if (n < m || strcmp(s + n - m, suffix))
		return false;
	s[n - m] = '\0';
	return true;
}

/* Replaces every occurrence of `what` in s (in place, result no longer). */
static void replace_all(char *s, size_t cap, const char *what, const char *with)
{
	char tmp[1024];
	size_t wl = strlen(what), o = 0;
	const char *p = s;

	while (*p && o + 1 < sizeof(tmp)) {
		if (!strncmp(p, what, wl)) {
			size_t k = strlen(with);

			if (o + k >= sizeof(tmp))
				break;
			memcpy(tmp + o, with, k);
			o += k;
			p += wl;
		} else {
			tmp[o++] = *p++;
		}
	}
	tmp[o] = '\0';
	copy_str(s, cap, tmp, o);
}

void ts_readable_future_name(const char *type, char *out, size_t len)
{
	static const char *const env_suffixes[] = {
		"::{{closure}}", "::{closure#0}", "::{async_fn_env#0}",
		"::{async_block_env#0}",
	};
	char buf[1024];
	size_t i;

	copy_str(buf, sizeof(buf), type, strlen(type));
	/* an async fn's state machine is the closure/env directly inside it */
	for (i = 0; i < ARRAY_SIZE(env_suffixes); i++)
		if (strip_suffix(buf, env_suffixes[i]))
			break;
	replace_all(buf, sizeof(buf), "{{closure}}", "{async block}");
	replace_all(buf, sizeof(buf), "{closure#0}", "{async block}");
	replace_all(buf, sizeof(buf), "{async_block_env#0}", "{async block}");
	copy_str(out, len, buf, strlen(buf));
}
