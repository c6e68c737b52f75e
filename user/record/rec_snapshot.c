// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Snapshots as JSON: one field table per struct, walked by the writer and
 * by the parser alike, so that the two can't disagree on a name or a type.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "array.h"
#include "intern.h"
#include "json_writer.h"
#include "rec_snapshot.h"

enum field_kind {
	F_UINT,		/* unsigned integer of size 1, 2, 4 or 8 */
	F_INT,		/* signed integer of size 4 or 8 */
	F_BOOL,
	F_DOUBLE,
	F_CHARS,	/* char array, NUL-terminated */
	F_ISTR,		/* interned const char *, "" when unknown */
	F_ISTR_NULL,	/* interned const char *, NULL when unknown (JSON null) */
	F_ENUM,		/* 4-byte enum, 0..max */
	F_UARRAY,	/* array of unsigned integers of elem bytes each */
	F_STRUCT,	/* nested, with its own table */
};

struct field {
	const char *key;
	enum field_kind kind;
	size_t off, size;
	size_t elem;			/* F_UARRAY */
	unsigned int max;		/* F_ENUM */
	const struct field *sub;	/* F_STRUCT */
	size_t nsub;
};

#define MSIZE(type, m) sizeof(((type *)0)->m)
#define FLD(type, m, k) .key = #m, .kind = (k), .off = offsetof(type, m), .size = MSIZE(type, m)
#define FU(type, m) { FLD(type, m, F_UINT) }
#define FI(type, m) { FLD(type, m, F_INT) }
#define FB(type, m) { FLD(type, m, F_BOOL) }
#define FD(type, m) { FLD(type, m, F_DOUBLE) }
#define FC(type, m) { FLD(type, m, F_CHARS) }
#define FS(type, m) { FLD(type, m, F_ISTR) }
#define FSN(type, m) { FLD(type, m, F_ISTR_NULL) }
#define FE(type, m, mx) { FLD(type, m, F_ENUM), .max = (mx) }
#define FA(type, m) { FLD(type, m, F_UARRAY), .elem = MSIZE(type, m[0]) }
#define FST(type, m, tab) { FLD(type, m, F_STRUCT), .sub = (tab), .nsub = ARRAY_SIZE(tab) }

static const struct field task_stats_fields[] = {
	FU(struct ts_task_stats, first_seen_ns),
	FU(struct ts_task_stats, last_transition_ns),
	FU(struct ts_task_stats, wake_ns),
	FU(struct ts_task_stats, polls),
	FU(struct ts_task_stats, busy_ns),
	FU(struct ts_task_stats, scheduled_ns),
	FU(struct ts_task_stats, idle_ns),
	FU(struct ts_task_stats, wakes),
	FU(struct ts_task_stats, self_wakes),
	FU(struct ts_task_stats, max_poll_ns),
	FU(struct ts_task_stats, max_scheduled_ns),
	FU(struct ts_task_stats, poll_fn),
	FU(struct ts_task_stats, task_id),
	FE(struct ts_task_stats, state, TS_TASK_DONE),
	FU(struct ts_task_stats, last_worker_tid),
	FU(struct ts_task_stats, generation),
	FU(struct ts_task_stats, lost_wakes),
	FU(struct ts_task_stats, woken_in_poll),
	FU(struct ts_task_stats, waiting_res),
	FU(struct ts_task_stats, wait_begin_ns),
	FU(struct ts_task_stats, vtable),
	FA(struct ts_task_stats, hist),
};

static const struct field task_fields[] = {
	FU(struct ts_task, header),
	FU(struct ts_task, task_id),
	FU(struct ts_task, root_tid),
	FU(struct ts_task, owner_id),
	FB(struct ts_task, parent_known),
	FU(struct ts_task, parent_id),
	FU(struct ts_task, parent_header),
	FU(struct ts_task, spawn_tid),
	FS(struct ts_task, name),
	FB(struct ts_task, name_ambiguous),
	FS(struct ts_task, future_type),
	FS(struct ts_task, location),
	FU(struct ts_task, poll_fn_vaddr),
	FE(struct ts_task, state, TS_TASK_DONE),
	FB(struct ts_task, seen_by_probe),
	FB(struct ts_task, in_memory),
	FB(struct ts_task, state_from_memory),
	FB(struct ts_task, in_block_in_place),
	FU(struct ts_task, state_word),
	FU(struct ts_task, in_state_ns),
	FB(struct ts_task, since_attach),
	FB(struct ts_task, spawned_in_window),
	FST(struct ts_task, st, task_stats_fields),
	FU(struct ts_task, cpu_samples),
	FU(struct ts_task, offcpu_in_polls_ns),
	FU(struct ts_task, burst_max_poll_ns),
};

static const struct field worker_state_fields[] = {
	FU(struct ts_worker_state, tgid),
	FU(struct ts_worker_state, depth),
	FU(struct ts_worker_state, runtime_desc),
	FU(struct ts_worker_state, header),
	FU(struct ts_worker_state, poll_start_ns),
	FU(struct ts_worker_state, offcpu_start_ns),
	FU(struct ts_worker_state, offcpu_in_poll_ns),
	FU(struct ts_worker_state, polls),
	FU(struct ts_worker_state, busy_ns),
	FU(struct ts_worker_state, offcpu_poll_total_ns),
	FU(struct ts_worker_state, max_poll_ns),
	FU(struct ts_worker_state, max_poll_offcpu_ns),
	FU(struct ts_worker_state, max_poll_header),
	FU(struct ts_worker_state, last_header),
	FU(struct ts_worker_state, last_end_ns),
	FU(struct ts_worker_state, first_seen_ns),
};

static const struct field worker_fields[] = {
	FU(struct ts_worker, tid),
	FU(struct ts_worker, ns_tid),
	FC(struct ts_worker, comm),
	FB(struct ts_worker, seen_by_probe),
	FST(struct ts_worker, st, worker_state_fields),
	FU(struct ts_worker, current_poll_ns),
};

static const struct field resource_fields[] = {
	FU(struct ts_resource, kind),
	FU(struct ts_resource, waiters),
	FU(struct ts_resource, capacity),
	FU(struct ts_resource, len),
	FU(struct ts_resource, holder),
	FU(struct ts_resource, acquired_ns),
	FC(struct ts_resource, name),
};

static const struct field res_info_fields[] = {
	FU(struct ts_res_info, id),
	FST(struct ts_res_info, r, resource_fields),
};

static const struct field lost_fields[] = {
	FC(struct ts_lost_wakes, name),
	FU(struct ts_lost_wakes, wakes),
};

static const struct field sampled_fields[] = {
	FU(struct ts_sampled_info, sample_hz),
	FU(struct ts_sampled_info, period_ns),
	FU(struct ts_sampled_info, samples),
	FU(struct ts_sampled_info, poll_samples),
	FU(struct ts_sampled_info, tls_fail),
	FS(struct ts_sampled_info, tls_source),
	FC(struct ts_sampled_info, tls_field),
	FC(struct ts_sampled_info, note),
	FU(struct ts_sampled_info, burst_ns),
	FU(struct ts_sampled_info, burst_every_ns),
	FU(struct ts_sampled_info, bursts),
	FU(struct ts_sampled_info, burst_total_ns),
	FD(struct ts_sampled_info, scale),
	FU(struct ts_sampled_info, snapshots),
	FU(struct ts_sampled_info, snapshot_cpu_ns),
	FU(struct ts_sampled_info, burst_cpu_ns),
	FU(struct ts_sampled_info, snapshot_every_ns),
	FU(struct ts_sampled_info, ended_task_busy_ns),
	FB(struct ts_sampled_info, probes_attached),
};

static const struct field object_fields[] = {
	FSN(struct ts_await_object, kind),
	FC(struct ts_await_object, type),
	FB(struct ts_await_object, has_len),
	FU(struct ts_await_object, capacity),
	FU(struct ts_await_object, len),
	FB(struct ts_await_object, has_senders),
	FU(struct ts_await_object, senders),
};

static const struct field var_fields[] = {
	FC(struct ts_await_var, name),
	FC(struct ts_await_var, value),
};

static const struct field frame_fields[] = {
	FC(struct ts_await_frame, func),
	FC(struct ts_await_frame, file),
	FSN(struct ts_await_frame, path),
	FU(struct ts_await_frame, line),
	FC(struct ts_await_frame, variant),
	FB(struct ts_await_frame, external),
	FB(struct ts_await_frame, wrapper),
	FC(struct ts_await_frame, note),
	FU(struct ts_await_frame, addr),
};

static const struct field leaf_fields[] = {
	FE(struct ts_await_leaf, kind, TS_LEAF_NONE),
	FC(struct ts_await_leaf, type_name),
	FC(struct ts_await_leaf, detail),
	FU(struct ts_await_leaf, addr),
	FU(struct ts_await_leaf, object),
	FB(struct ts_await_leaf, has_deadline),
	FI(struct ts_await_leaf, remaining_ns),
	FST(struct ts_await_leaf, obj, object_fields),
};

static const struct field hold_fields[] = {
	FE(struct ts_await_hold, kind, TS_HOLD_RECEIVER),
	FU(struct ts_await_hold, object),
	FI(struct ts_await_hold, frame),
	FC(struct ts_await_hold, var),
	FST(struct ts_await_hold, obj, object_fields),
};

static const struct field chain_fields[] = {
	FE(struct ts_await_chain, status, TS_CHAIN_UNREADABLE),
	FB(struct ts_await_chain, running),
	FST(struct ts_await_chain, leaf, leaf_fields),
	FB(struct ts_await_chain, truncated),
	FC(struct ts_await_chain, future_type),
};

static const struct field process_fields[] = {
	FI(struct ts_process, pid),
	FI(struct ts_process, ns_pid),
	FC(struct ts_process, comm),
	FC(struct ts_process, exe),
	FC(struct ts_process, runtime),
	FC(struct ts_process, runtime_version),
	FB(struct ts_process, has_debuginfo),
	FC(struct ts_process, debuginfo_note),
	FSN(struct ts_process, layout_descriptor),
	FB(struct ts_process, layout_checked),
	FB(struct ts_process, layout_confirmed),
	FB(struct ts_process, layout_refuted),
	FC(struct ts_process, layout_verdict),
	FU(struct ts_process, observed_ns),
	FU(struct ts_process, snapshot_ns),
	FU(struct ts_process, attach_ns),
	FU(struct ts_process, nprobes),
	FSN(struct ts_process, probe_mode),
	FSN(struct ts_process, core_path),
	FA(struct ts_process, counters),
	FU(struct ts_process, tasks_evicted),
	FU(struct ts_process, mem_bytes_scanned),
	FB(struct ts_process, mem_scan_truncated),
	FU(struct ts_process, nworker_threads),
	FU(struct ts_process, nblocking_threads),
	FU(struct ts_process, nblocking_busy),
	FU(struct ts_process, chains_skipped),
};

/* ---- writing ------------------------------------------------------------- */

static uint64_t get_uint(const void *p, size_t size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: return *(const uint16_t *)p;
	case 4: return *(const uint32_t *)p;
	default: return *(const uint64_t *)p;
	}
}

static void set_uint(void *p, size_t size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: *(uint16_t *)p = (uint16_t)v; break;
	case 4: *(uint32_t *)p = (uint32_t)v; break;
	default: *(uint64_t *)p = v; break;
	}
}

static void write_fields(struct json_writer *jw, const struct field *fs, size_t n, const void *base)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		const struct field *f = &fs[i];
		const char *at = (const char *)base + f->off;
		const char *s;

		jw_key(jw, f->key);
		switch (f->kind) {
		case F_UINT:
		case F_ENUM:
			jw_u64(jw, get_uint(at, f->size));
			break;
		case F_INT:
			jw_i64(jw, f->size == 4 ? *(const int32_t *)at : *(const int64_t *)at);
			break;
		case F_BOOL:
			jw_bool(jw, *(const bool *)at);
			break;
		case F_DOUBLE:
			jw_double(jw, *(const double *)at, 9);
			break;
		case F_CHARS:
			jw_string(jw, at);
			break;
		case F_ISTR:
		case F_ISTR_NULL:
			s = *(const char *const *)at;
			if (s)
				jw_string(jw, s);
			else if (f->kind == F_ISTR)
				jw_string(jw, "");
			else
				jw_null(jw);
			break;
		case F_UARRAY:
			jw_array_begin(jw);
			for (k = 0; k < f->size / f->elem; k++)
				jw_u64(jw, get_uint(at + k * f->elem, f->elem));
			jw_array_end(jw);
			break;
		case F_STRUCT:
			jw_object_begin(jw);
			write_fields(jw, f->sub, f->nsub, at);
			jw_object_end(jw);
			break;
		}
	}
}

static void write_chain(struct json_writer *jw, const struct ts_await_chain *c)
{
	int i, j, nframes = c->nframes, nholds = c->nholds;

	if (nframes > TS_CHAIN_MAX_FRAMES)
		nframes = TS_CHAIN_MAX_FRAMES;
	if (nholds > TS_CHAIN_MAX_HOLDS)
		nholds = TS_CHAIN_MAX_HOLDS;
	jw_object_begin(jw);
	write_fields(jw, chain_fields, ARRAY_SIZE(chain_fields), c);
	jw_key(jw, "frames");
	jw_array_begin(jw);
	for (i = 0; i < nframes; i++) {
		const struct ts_await_frame *fr = &c->frames[i];
		int nvars = fr->nvars < TS_CHAIN_MAX_VARS ? fr->nvars : TS_CHAIN_MAX_VARS;

		jw_object_begin(jw);
		write_fields(jw, frame_fields, ARRAY_SIZE(frame_fields), fr);
		jw_key(jw, "vars");
		jw_array_begin(jw);
		for (j = 0; j < nvars; j++) {
			jw_object_begin(jw);
			write_fields(jw, var_fields, ARRAY_SIZE(var_fields), &fr->vars[j]);
			jw_object_end(jw);
		}
		jw_array_end(jw);
		jw_object_end(jw);
	}
	jw_array_end(jw);
	jw_key(jw, "holds");
	jw_array_begin(jw);
	for (i = 0; i < nholds; i++) {
		jw_object_begin(jw);
		write_fields(jw, hold_fields, ARRAY_SIZE(hold_fields), &c->holds[i]);
		jw_object_end(jw);
	}
	jw_array_end(jw);
	jw_object_end(jw);
}

void rec_snapshot__write(struct json_writer *jw, const struct ts_process *p)
{
	size_t i, nhandoffs = p->nhandoffs < ARRAY_SIZE(p->handoff_types) ?
			      p->nhandoffs : ARRAY_SIZE(p->handoff_types);

	jw_object_begin(jw);
	write_fields(jw, process_fields, ARRAY_SIZE(process_fields), p);
	jw_key(jw, "handoff_types");
	jw_array_begin(jw);
	for (i = 0; i < nhandoffs; i++)
		jw_string(jw, p->handoff_types[i] ? p->handoff_types[i] : "");
	jw_array_end(jw);
	jw_key(jw, "tasks");
	jw_array_begin(jw);
	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];

		jw_object_begin(jw);
		write_fields(jw, task_fields, ARRAY_SIZE(task_fields), t);
		if (t->chain) {
			jw_key(jw, "chain");
			write_chain(jw, t->chain);
		}
		jw_object_end(jw);
	}
	jw_array_end(jw);
	jw_key(jw, "workers");
	jw_array_begin(jw);
	for (i = 0; i < p->nworkers; i++) {
		jw_object_begin(jw);
		write_fields(jw, worker_fields, ARRAY_SIZE(worker_fields), &p->workers[i]);
		jw_object_end(jw);
	}
	jw_array_end(jw);
	jw_key(jw, "lost_wakes");
	jw_array_begin(jw);
	for (i = 0; i < p->nlost; i++) {
		jw_object_begin(jw);
		write_fields(jw, lost_fields, ARRAY_SIZE(lost_fields), &p->lost[i]);
		jw_object_end(jw);
	}
	jw_array_end(jw);
	jw_key(jw, "resources");
	jw_array_begin(jw);
	for (i = 0; i < p->nresources; i++) {
		jw_object_begin(jw);
		write_fields(jw, res_info_fields, ARRAY_SIZE(res_info_fields), &p->resources[i]);
		jw_object_end(jw);
	}
	jw_array_end(jw);
	if (p->sampled) {
		jw_key(jw, "sampled");
		jw_object_begin(jw);
		write_fields(jw, sampled_fields, ARRAY_SIZE(sampled_fields), p->sampled);
		jw_object_end(jw);
	}
	jw_object_end(jw);
}

/* ---- parsing ------------------------------------------------------------- */

/* A member of o of type type, or NULL. */
static struct json_object *member(const struct json_object *o, const char *key, json_type type)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* Interned copy of a JSON string, cut at 4 KiB (no field holds more). */
static const char *intern_json(struct json_object *v)
{
	size_t len = (size_t)json_object_get_string_len(v);

	return ts_intern_n(json_object_get_string(v), len < 4096 ? len : 4096);
}

static void read_fields(const struct json_object *o, const struct field *fs, size_t n, void *base)
{
	struct json_object *v;
	size_t i, k, len;

	for (i = 0; i < n; i++) {
		const struct field *f = &fs[i];
		char *at = (char *)base + f->off;

		if (!json_object_object_get_ex(o, f->key, &v))
			v = NULL;
		switch (f->kind) {
		case F_UINT:
			if (v && json_object_is_type(v, json_type_int))
				set_uint(at, f->size, json_object_get_uint64(v));
			break;
		case F_ENUM:
			/* a renderer indexes name tables with it: out of range reads as 0 */
			if (v && json_object_is_type(v, json_type_int) &&
			    json_object_get_uint64(v) <= f->max)
				set_uint(at, f->size, json_object_get_uint64(v));
			break;
		case F_INT:
			if (!v || !json_object_is_type(v, json_type_int))
				break;
			if (f->size == 4)
				*(int32_t *)at = (int32_t)json_object_get_int64(v);
			else
				*(int64_t *)at = json_object_get_int64(v);
			break;
		case F_BOOL:
			if (v && json_object_is_type(v, json_type_boolean))
				*(bool *)at = json_object_get_boolean(v);
			break;
		case F_DOUBLE:
			if (v && (json_object_is_type(v, json_type_double) ||
				  json_object_is_type(v, json_type_int)))
				*(double *)at = json_object_get_double(v);
			break;
		case F_CHARS:
			at[0] = '\0';
			if (v && json_object_is_type(v, json_type_string)) {
				len = (size_t)json_object_get_string_len(v);
				if (len >= f->size)
					len = f->size - 1;
				memcpy(at, json_object_get_string(v), len);
				at[len] = '\0';
			}
			break;
		case F_ISTR:
		case F_ISTR_NULL:
			if (v && json_object_is_type(v, json_type_string))
				*(const char **)at = intern_json(v);
			else
				*(const char **)at = f->kind == F_ISTR ? "" : NULL;
			break;
		case F_UARRAY:
			if (!v || !json_object_is_type(v, json_type_array))
				break;
			len = json_object_array_length(v);
			for (k = 0; k < f->size / f->elem && k < len; k++) {
				struct json_object *e = json_object_array_get_idx(v, k);

				if (json_object_is_type(e, json_type_int))
					set_uint(at + k * f->elem, f->elem, json_object_get_uint64(e));
			}
			break;
		case F_STRUCT:
			if (v && json_object_is_type(v, json_type_object))
				read_fields(v, f->sub, f->nsub, at);
			break;
		}
	}
}

static size_t bounded_len(const struct json_object *a, size_t max)
{
	size_t n = a ? json_object_array_length(a) : 0;

	return n < max ? n : max;
}

static struct ts_await_chain *read_chain(const struct json_object *o)
{
	struct ts_await_chain *c = calloc(1, sizeof(*c));
	struct json_object *frames = member(o, "frames", json_type_array);
	struct json_object *holds = member(o, "holds", json_type_array);
	size_t i, j, n;

	if (!c)
		return NULL;
	read_fields(o, chain_fields, ARRAY_SIZE(chain_fields), c);
	n = bounded_len(frames, TS_CHAIN_MAX_FRAMES);
	for (i = 0; i < n; i++) {
		struct json_object *fo = json_object_array_get_idx(frames, i);
		struct ts_await_frame *fr = &c->frames[c->nframes];
		struct json_object *vars;
		size_t nv;

		if (!json_object_is_type(fo, json_type_object))
			continue;
		read_fields(fo, frame_fields, ARRAY_SIZE(frame_fields), fr);
		vars = member(fo, "vars", json_type_array);
		nv = bounded_len(vars, TS_CHAIN_MAX_VARS);
		for (j = 0; j < nv; j++) {
			struct json_object *vo = json_object_array_get_idx(vars, j);

			if (json_object_is_type(vo, json_type_object))
				read_fields(vo, var_fields, ARRAY_SIZE(var_fields),
					    &fr->vars[fr->nvars++]);
		}
		c->nframes++;
	}
	n = bounded_len(holds, TS_CHAIN_MAX_HOLDS);
	for (i = 0; i < n; i++) {
		struct json_object *ho = json_object_array_get_idx(holds, i);
		struct ts_await_hold *h = &c->holds[c->nholds];

		if (!json_object_is_type(ho, json_type_object))
			continue;
		read_fields(ho, hold_fields, ARRAY_SIZE(hold_fields), h);
		/* the views index frames with it */
		if (h->frame < 0 || h->frame >= c->nframes)
			h->frame = c->nframes ? c->nframes - 1 : 0;
		c->nholds++;
	}
	return c;
}

int rec_snapshot__parse(const struct json_object *o, struct ts_process *p,
			struct ts_sampled_info *sampled, char *why, size_t whylen)
{
	struct json_object *a, *v;
	size_t i, n;

	memset(p, 0, sizeof(*p));
	if (!json_object_is_type(o, json_type_object) || !member(o, "tasks", json_type_array)) {
		snprintf(why, whylen, "a snapshot is not an object with tasks");
		return -EINVAL;
	}
	read_fields(o, process_fields, ARRAY_SIZE(process_fields), p);
	a = member(o, "handoff_types", json_type_array);
	n = bounded_len(a, ARRAY_SIZE(p->handoff_types));
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(a, i);
		if (json_object_is_type(v, json_type_string))
			p->handoff_types[p->nhandoffs++] = intern_json(v);
	}

	a = member(o, "tasks", json_type_array);
	n = bounded_len(a, REC_MAX_TASKS);
	for (i = 0; i < n; i++) {
		struct json_object *to = json_object_array_get_idx(a, i), *co;
		struct ts_task *t;

		if (!json_object_is_type(to, json_type_object))
			continue;
		t = ts_process__add_task(p);
		if (!t)
			goto nomem;
		read_fields(to, task_fields, ARRAY_SIZE(task_fields), t);
		co = member(to, "chain", json_type_object);
		if (co) {
			t->chain = read_chain(co);
			if (!t->chain)
				goto nomem;
		}
	}
	a = member(o, "workers", json_type_array);
	n = bounded_len(a, REC_MAX_WORKERS);
	for (i = 0; i < n; i++) {
		struct json_object *wo = json_object_array_get_idx(a, i);
		struct ts_worker *w;

		if (!json_object_is_type(wo, json_type_object))
			continue;
		w = ts_process__add_worker(p);
		if (!w)
			goto nomem;
		read_fields(wo, worker_fields, ARRAY_SIZE(worker_fields), w);
	}
	a = member(o, "lost_wakes", json_type_array);
	n = bounded_len(a, REC_MAX_LOST);
	for (i = 0; i < n; i++) {
		struct json_object *lo = json_object_array_get_idx(a, i);
		struct ts_lost_wakes *l;

		if (!json_object_is_type(lo, json_type_object))
			continue;
		l = ts_array_add(&p->lost, &p->nlost, &p->lost_cap);
		if (!l)
			goto nomem;
		read_fields(lo, lost_fields, ARRAY_SIZE(lost_fields), l);
	}
	a = member(o, "resources", json_type_array);
	n = bounded_len(a, REC_MAX_RESOURCES);
	for (i = 0; i < n; i++) {
		struct json_object *ro = json_object_array_get_idx(a, i);
		struct ts_res_info *r;

		if (!json_object_is_type(ro, json_type_object))
			continue;
		r = ts_array_add(&p->resources, &p->nresources, &p->resources_cap);
		if (!r)
			goto nomem;
		read_fields(ro, res_info_fields, ARRAY_SIZE(res_info_fields), r);
	}
	v = member(o, "sampled", json_type_object);
	if (v && sampled) {
		memset(sampled, 0, sizeof(*sampled));
		read_fields(v, sampled_fields, ARRAY_SIZE(sampled_fields), sampled);
		p->sampled = sampled;
	}
	return 0;
nomem:
	ts_process__free(p);
	snprintf(why, whylen, "out of memory");
	return -ENOMEM;
}

/* A copy of n elements of size each; NULL for none (and on failure, with *err set). */
static void *dup_array(const void *src, size_t n, size_t size, int *err)
{
	void *dst;

	if (!n || !src)
		return NULL;
	dst = malloc(n * size);
	if (!dst) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(dst, src, n * size);
	return dst;
}

int rec_snapshot__copy(struct ts_process *dst, const struct ts_process *src)
{
	size_t i;
	int err = 0;

	*dst = *src;
	dst->tasks = dup_array(src->tasks, src->ntasks, sizeof(*src->tasks), &err);
	dst->tasks_cap = dst->tasks ? src->ntasks : 0;
	dst->ntasks = dst->tasks_cap;
	dst->workers = dup_array(src->workers, src->nworkers, sizeof(*src->workers), &err);
	dst->workers_cap = dst->nworkers = dst->workers ? src->nworkers : 0;
	dst->lost = dup_array(src->lost, src->nlost, sizeof(*src->lost), &err);
	dst->lost_cap = dst->nlost = dst->lost ? src->nlost : 0;
	dst->resources = dup_array(src->resources, src->nresources, sizeof(*src->resources), &err);
	dst->resources_cap = dst->nresources = dst->resources ? src->nresources : 0;
	for (i = 0; i < dst->ntasks; i++) {
		const struct ts_await_chain *c = src->tasks[i].chain;

		dst->tasks[i].chain = c ? dup_array(c, 1, sizeof(*c), &err) : NULL;
	}
	if (err)
		ts_process__free(dst);
	return err;
}
