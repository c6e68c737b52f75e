/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Await chains as text: readable Rust names, short paths, the tree. Pure. */
#include <ctype.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "await_chain.h"
#include "json_writer.h"

/* Length of "{word#N}" at s when s starts with "{word#", else 0. */
static size_t brace_token(const char *s, const char *word)
{
	size_t n = strlen(word), i;

	if (s[0] != '{' || strncmp(s + 1, word, n) || s[1 + n] != '#')
		return 0;
	for (i = 2 + n; isdigit((unsigned char)s[i]); i++)
		;
	return s[i] == '}' && i > 2 + n ? i + 1 : 0;
}

/* Skips a generic argument list "<...>" at s; returns its length (0 if none). */
static size_t generic_args(const char *s)
{
	int depth = 0;
	size_t i;

	if (s[0] != '<')
		return 0;
	for (i = 0; s[i]; i++) {
		if (s[i] == '<')
			depth++;
		else if (s[i] == '>' && --depth == 0)
			return i + 1;
	}
	return 0;
}

static void put(char *out, size_t len, size_t *o, const char *s, size_t n)
{
	if (*o + n + 1 > len)
		n = len > *o + 1 ? len - *o - 1 : 0;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
}

/* Position just past the last top-level "::{impl#N}::" in q, or 0. */
static size_t after_impl(const char *q)
{
	size_t i, n, found = 0;
	int depth = 0;

	for (i = 0; q[i]; i++) {
		if (q[i] == '<')
			depth++;
		else if (q[i] == '>' && depth > 0)
			depth--;
		else if (depth == 0 && (n = brace_token(q + i, "impl")) && !strncmp(q + i + n, "::", 2))
			found = i + n + 2;
	}
	return found;
}

void ts_await_readable_name(const char *q, const char *self_type, char *out, size_t len)
{
	size_t o = 0, i = 0, n, cut = 0;

	if (!len)
		return;
	out[0] = '\0';
	if (self_type && (cut = after_impl(q)) > 0) {
		/* the self type is fully qualified: it replaces module and impl */
		put(out, len, &o, self_type, strlen(self_type));
		put(out, len, &o, "::", 2);
		i = cut;
	}
	while (q[i]) {
		if (q[i] == ':' && q[i + 1] == ':' &&
		    ((n = brace_token(q + i + 2, "async_fn_env")) ||
		     (n = brace_token(q + i + 2, "closure_env")) ||
		     (n = brace_token(q + i + 2, "async_block_env")) ||
		     (n = brace_token(q + i + 2, "async_closure_env")))) {
			const char *tok = q + i + 2;

			if (tok[1] == 'c')
				put(out, len, &o, "::{closure}", 11);
			else if (!strncmp(tok + 1, "async_block", 11))
				put(out, len, &o, "::{async block}", 15);
			else if (!strncmp(tok + 1, "async_closure", 13))
				put(out, len, &o, "::{async closure}", 17);
			i += 2 + n;
			/* an impl method's env repeats the impl's arguments: the self type has them */
			if (cut && (n = generic_args(q + i)))
				i += n;
			continue;
		}
		if ((n = brace_token(q + i, "async_fn")) || (n = brace_token(q + i, "closure")) ||
		    (n = brace_token(q + i, "async_block")) || (n = brace_token(q + i, "impl"))) {
			/* namespaces of items inside a fn or impl block: no name to a person */
			i += n;
			if (o >= 2 && !strncmp(out + o - 2, "::", 2))
				out[o -= 2] = '\0';
			else if (!strncmp(q + i, "::", 2))
				i += 2;
			continue;
		}
		put(out, len, &o, q + i, 1);
		i++;
	}
}

static const char *const external_markers[] = {
	"/registry/",		/* ~/.cargo/registry/src/..., /usr/share/cargo/registry/ */
	"/.cargo/",
	"/rustc/",		/* std: /rustc/<hash>/library/core/src/... */
	"/rustlib/",
	"/vendor/",
	"/git/checkouts/",
};

void ts_await_short_path(const char *path, char *out, size_t len, bool *external)
{
	const char *src = NULL, *p, *start;
	bool ext = false;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(external_markers); k++)
		if (strstr(path, external_markers[k]))
			ext = true;
	if (!strncmp(path, "src/", 4))
		src = path;
	for (p = path; (p = strstr(p, "/src/")); p++)
		src = p + 1;
	if (external)
		*external = ext;
	if (!src) {
		p = strrchr(path, '/');
		snprintf(out, len, "%s", path[0] == '/' && p ? p + 1 : path);
		return;
	}
	start = src;
	if (ext && src > path) {
		/* keep the crate directory: "tokio-1.24.2/src/...", "core/src/..." */
		for (start = src - 1; start > path && start[-1] != '/'; start--)
			;
	}
	snprintf(out, len, "%s", start);
}

void ts_await_format_remaining(int64_t ns, char *out, size_t len)
{
	const char *what = ns >= 0 ? "fires in" : "overdue by";
	uint64_t a = ns >= 0 ? (uint64_t)ns : (uint64_t)(-(ns + 1)) + 1;
	double s = (double)a / 1e9;

	if (s < 100)
		snprintf(out, len, "%s %.1f s", what, s);
	else if (s < 7200)
		snprintf(out, len, "%s %" PRIu64 " min %02" PRIu64 " s", what,
			 (uint64_t)s / 60, (uint64_t)s % 60);
	else if (s < 172800)
		snprintf(out, len, "%s %.1f h", what, s / 3600);
	else
		snprintf(out, len, "%s %.1f days", what, s / 86400);
}

const char *ts_leaf_kind_str(enum ts_leaf_kind kind)
{
	switch (kind) {
	case TS_LEAF_UNKNOWN: return "unknown";
	case TS_LEAF_TIMER: return "timer";
	case TS_LEAF_IO: return "io";
	case TS_LEAF_SEMAPHORE: return "semaphore";
	case TS_LEAF_MUTEX: return "mutex";
	case TS_LEAF_RWLOCK: return "rwlock";
	case TS_LEAF_CHAN_RECV: return "channel_recv";
	case TS_LEAF_CHAN_SEND: return "channel_send";
	case TS_LEAF_JOIN: return "join";
	case TS_LEAF_YIELD: return "yield";
	case TS_LEAF_NOTIFY: return "notify";
	case TS_LEAF_PENDING: return "pending";
	case TS_LEAF_UNREADABLE: return "unreadable";
	case TS_LEAF_NONE: return "none";
	}
	return "unknown";
}

const char *ts_chain_status_str(enum ts_chain_status s)
{
	switch (s) {
	case TS_CHAIN_SUSPENDED: return "suspended";
	case TS_CHAIN_UNRESUMED: return "unresumed";
	case TS_CHAIN_FINISHED: return "finished";
	case TS_CHAIN_CONSUMED: return "consumed";
	case TS_CHAIN_NO_TYPE: return "no_type";
	case TS_CHAIN_UNREADABLE: return "unreadable";
	}
	return "unknown";
}

const char *ts_hold_kind_str(enum ts_hold_kind k)
{
	switch (k) {
	case TS_HOLD_MUTEX_GUARD: return "mutex_guard";
	case TS_HOLD_RWLOCK_GUARD: return "rwlock_guard";
	case TS_HOLD_PERMIT: return "permit";
	case TS_HOLD_SENDER: return "sender";
	case TS_HOLD_RECEIVER: return "receiver";
	}
	return "unknown";
}

struct text {
	char *buf;
	size_t len, o;
};

static void emit(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->o >= t->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->o, t->len - t->o, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->o = t->o + (size_t)n < t->len ? t->o + (size_t)n : t->len - 1;
}

static void indent(struct text *t, int depth)
{
	emit(t, "%*s", 2 + 3 * depth, "");
}

static const char *status_note(enum ts_chain_status s)
{
	switch (s) {
	case TS_CHAIN_FINISHED: return "(finished: output not taken by its JoinHandle yet)";
	case TS_CHAIN_CONSUMED: return "(finished)";
	case TS_CHAIN_NO_TYPE: return "(no DWARF type for this task's future)";
	case TS_CHAIN_UNREADABLE: return "(task memory unreadable)";
	default: return NULL;
	}
}

static int format_chain(const struct ts_await_chain *c, char *buf, size_t len, bool detail)
{
	struct text t = { .buf = buf, .len = len };
	const char *note = status_note(c->status);
	int i, k;

	if (len)
		buf[0] = '\0';
	if (note) {
		emit(&t, "  %s\n", note);
		return (int)t.o;
	}
	for (i = 0; i < c->nframes; i++) {
		const struct ts_await_frame *f = &c->frames[i];

		indent(&t, i);
		emit(&t, "\u2514\u2500 %s", f->func);
		if (f->line)
			emit(&t, "   %s:%u", f->file, f->line);
		if (f->variant[0])
			emit(&t, "   (%s)", f->variant);
		if (f->note[0])
			emit(&t, "   %s", f->note);
		emit(&t, "\n");
		for (k = 0; detail && k < f->nvars; k++) {
			indent(&t, i + 1);
			emit(&t, "%s = %s\n", f->vars[k].name, f->vars[k].value);
		}
	}
	if (c->truncated) {
		indent(&t, i);
		emit(&t, "...\n");
	}
	if (c->leaf.kind == TS_LEAF_NONE) {
		if (c->leaf.detail[0]) {
			indent(&t, i);
			emit(&t, "(%s)\n", c->leaf.detail);
		}
		return (int)t.o;
	}
	indent(&t, i);
	emit(&t, "\u2514\u2500 %s", c->leaf.type_name[0] ? c->leaf.type_name : "?");
	if (c->leaf.detail[0])
		emit(&t, "   %s", c->leaf.detail);
	else if (c->leaf.kind == TS_LEAF_UNKNOWN)
		emit(&t, "   (unknown future)");
	emit(&t, "\n");
	return (int)t.o;
}

int ts_await_chain__format(const struct ts_await_chain *c, char *buf, size_t len)
{
	return format_chain(c, buf, len, false);
}

int ts_await_chain__format_detail(const struct ts_await_chain *c, char *buf, size_t len)
{
	return format_chain(c, buf, len, true);
}

void ts_await_chain__json(const struct ts_await_chain *c, struct json_writer *jw)
{
	int i, k;

	jw_object_begin(jw);
	jw_kv_string(jw, "status", ts_chain_status_str(c->status));
	jw_kv_bool(jw, "running", c->running);
	jw_kv_bool(jw, "truncated", c->truncated);
	jw_kv_string(jw, "future", c->future_type);
	jw_key(jw, "frames");
	jw_array_begin(jw);
	for (i = 0; i < c->nframes; i++) {
		const struct ts_await_frame *f = &c->frames[i];

		jw_object_begin(jw);
		jw_kv_string(jw, "func", f->func);
		jw_kv_string(jw, "file", f->file);
		jw_kv_u64(jw, "line", f->line);
		jw_kv_string(jw, "variant", f->variant);
		jw_kv_bool(jw, "external", f->external);
		jw_kv_bool(jw, "wrapper", f->wrapper);
		jw_kv_hex(jw, "addr", f->addr);
		jw_key(jw, "vars");
		jw_object_begin(jw);
		for (k = 0; k < f->nvars; k++)
			jw_kv_string(jw, f->vars[k].name, f->vars[k].value);
		jw_object_end(jw);
		jw_object_end(jw);
	}
	jw_array_end(jw);
	jw_key(jw, "leaf");
	jw_object_begin(jw);
	jw_kv_string(jw, "kind", ts_leaf_kind_str(c->leaf.kind));
	jw_kv_string(jw, "type", c->leaf.type_name);
	jw_kv_string(jw, "detail", c->leaf.detail);
	jw_kv_hex(jw, "addr", c->leaf.addr);
	jw_kv_hex(jw, "object", c->leaf.object);
	if (c->leaf.has_deadline)
		jw_kv_double(jw, "remaining_s", (double)c->leaf.remaining_ns / 1e9, 3);
	if (c->leaf.obj.kind)
		jw_kv_string(jw, "resource_kind", c->leaf.obj.kind);
	jw_object_end(jw);
	jw_key(jw, "holds");
	jw_array_begin(jw);
	for (i = 0; i < c->nholds; i++) {
		const struct ts_await_hold *h = &c->holds[i];

		jw_object_begin(jw);
		jw_kv_string(jw, "kind", ts_hold_kind_str(h->kind));
		jw_kv_hex(jw, "object", h->object);
		jw_kv_i64(jw, "frame", h->frame);
		jw_kv_string(jw, "var", h->var);
		if (h->obj.kind)
			jw_kv_string(jw, "resource_kind", h->obj.kind);
		jw_object_end(jw);
	}
	jw_array_end(jw);
	jw_object_end(jw);
}
