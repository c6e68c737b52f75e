/*
 * taskscope record's pure parts: a snapshot written and parsed back equals
 * the original, field for field; a hostile snapshot is bounded; the trace
 * writer's events (slices, flows, names, times); a recording read back,
 * and the files it refuses.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <json-c/json.h>

#include "array.h"
#include "intern.h"
#include "json_writer.h"
#include "rec_snapshot.h"
#include "rec_trace.h"
#include "recorder.h"
#include "recording.h"
#include "unit.h"

static void fill_chain(struct ts_await_chain *c)
{
	c->status = TS_CHAIN_SUSPENDED;
	c->running = true;
	c->nframes = 2;
	strcpy(c->frames[0].func, "app::handler");
	strcpy(c->frames[0].file, "src/main.rs");
	c->frames[0].path = ts_intern("/src/app/src/main.rs");
	c->frames[0].line = 42;
	strcpy(c->frames[0].variant, "Suspend1");
	c->frames[0].addr = 0x7f0000001000ULL;
	c->frames[0].nvars = 2;
	strcpy(c->frames[0].vars[0].name, "id");
	strcpy(c->frames[0].vars[0].value, "7");
	strcpy(c->frames[0].vars[1].name, "who");
	strcpy(c->frames[0].vars[1].value, "\"al\\ice\"\n");
	strcpy(c->frames[1].func, "tokio::sync::mutex::Mutex<u64>::lock");
	strcpy(c->frames[1].file, "tokio-1.24.2/src/sync/mutex.rs");
	c->frames[1].line = 359;
	c->frames[1].external = true;
	c->frames[1].wrapper = true;
	strcpy(c->frames[1].note, "2 of 3 branches pending");
	c->leaf.kind = TS_LEAF_MUTEX;
	strcpy(c->leaf.type_name, "tokio::sync::batch_semaphore::Acquire");
	strcpy(c->leaf.detail, "waiting on mutex 0x55..");
	c->leaf.addr = 0x10;
	c->leaf.object = 0x55aa00;
	c->leaf.has_deadline = true;
	c->leaf.remaining_ns = -1500000000LL;
	c->leaf.obj.kind = ts_intern("mutex");
	strcpy(c->leaf.obj.type, "Mutex<u64>");
	c->leaf.obj.has_len = true;
	c->leaf.obj.capacity = 64;
	c->leaf.obj.len = 3;
	c->leaf.obj.has_senders = true;
	c->leaf.obj.senders = 2;
	c->truncated = true;
	c->nholds = 1;
	c->holds[0].kind = TS_HOLD_MUTEX_GUARD;
	c->holds[0].object = 0x55bb00;
	c->holds[0].frame = 1;
	strcpy(c->holds[0].var, "guard");
	c->holds[0].obj.kind = ts_intern("mutex");
	strcpy(c->holds[0].obj.type, "Mutex<Ledger>");
	strcpy(c->future_type, "app::handler::{async_fn_env#0}");
}

static void fill_process(struct ts_process *p, struct ts_sampled_info *si)
{
	struct ts_task *t;
	struct ts_worker *w;
	struct ts_lost_wakes *l;
	struct ts_res_info *r;
	int k;

	p->pid = 4242;
	p->ns_pid = 7;
	strcpy(p->comm, "server");
	strcpy(p->exe, "/usr/bin/server");
	strcpy(p->runtime, "tokio");
	strcpy(p->runtime_version, "1.24.2");
	p->has_debuginfo = true;
	strcpy(p->debuginfo_note, "");
	p->layout_descriptor = ts_intern("tokio 1.24");
	p->layout_checked = p->layout_confirmed = true;
	strcpy(p->layout_verdict, "confirmed by 3 lists");
	p->observed_ns = 3000000000ULL;
	p->snapshot_ns = 72800612148193ULL;
	p->attach_ns = 72797500746561ULL;
	p->nprobes = 34;
	p->probe_mode = ts_intern("default");
	for (k = 0; k < TS_CNT_MAX; k++)
		p->counters[k] = 1000 + (uint64_t)k;
	p->tasks_evicted = 3;
	p->mem_bytes_scanned = 1 << 20;
	p->mem_scan_truncated = true;
	p->nworker_threads = 4;
	p->nblocking_threads = 2;
	p->nblocking_busy = 1;
	p->handoff_types[0] = ts_intern("app::blocking_closure");
	p->nhandoffs = 1;
	p->chains_skipped = 5;

	t = ts_process__add_task(p);
	t->header = 0x7f00aa000080ULL;
	t->task_id = 17;
	t->owner_id = 1;
	t->parent_known = true;
	t->parent_id = 3;
	t->parent_header = 0x7f00aa000000ULL;
	t->spawn_tid = 4243;
	t->name = ts_intern("app::handler");
	t->future_type = ts_intern("app::handler::{async_fn_env#0}");
	t->location = ts_intern("src/main.rs:90");
	t->poll_fn_vaddr = 0x1234;
	t->state = TS_TASK_IDLE;
	t->seen_by_probe = t->in_memory = true;
	t->state_word = 0xc4;
	t->in_state_ns = 2500000000ULL;
	t->since_attach = true;
	t->st.first_seen_ns = 1;
	t->st.polls = 99;
	t->st.busy_ns = 12345;
	t->st.wakes = 98;
	t->st.state = TS_TASK_IDLE;
	t->st.last_worker_tid = 4244;
	t->st.poll_fn = TS_POLL_UNKNOWN;
	t->st.waiting_res = 0x99;
	t->st.vtable = 0x55aa00001000ULL;
	for (k = 0; k < TS_HIST_SLOTS; k++)
		t->st.hist[k] = (uint32_t)k * 3;
	t->cpu_samples = 11;
	t->chain = calloc(1, sizeof(*t->chain));
	fill_chain(t->chain);

	t = ts_process__add_task(p);
	t->header = 0x7ffc0000;
	t->root_tid = 4242;
	t->name = ts_intern("main");
	t->state = TS_TASK_DONE;
	t->spawned_in_window = true;

	w = ts_process__add_worker(p);
	w->tid = 4244;
	w->ns_tid = 9;
	strcpy(w->comm, "tokio-runtime-w");
	w->seen_by_probe = true;
	w->st.tgid = 4242;
	w->st.depth = 1;
	w->st.header = 0x7f00aa000080ULL;
	w->st.poll_start_ns = 5;
	w->st.max_poll_ns = 1200000000ULL;
	w->st.first_seen_ns = 2;
	w->current_poll_ns = 342000000ULL;

	l = ts_array_add(&p->lost, &p->nlost, &p->lost_cap);
	strcpy(l->name, "demo::handle_order");
	l->wakes = 67;
	r = ts_array_add(&p->resources, &p->nresources, &p->resources_cap);
	r->id = 77;
	r->r.kind = 2;
	r->r.waiters = 3;
	r->r.capacity = 8;
	r->r.len = 8;
	r->r.holder = 17;
	r->r.acquired_ns = 100;
	strcpy(r->r.name, "jobs");

	si->sample_hz = 199;
	si->period_ns = 5025125;
	si->samples = 1000;
	si->tls_source = ts_intern("DWARF");
	strcpy(si->tls_field, "+0x20 tag 8 B (None 0), id +0x28");
	si->scale = 33.25;
	si->probes_attached = true;
	p->sampled = si;
}

/* Writes p to a string (malloc'd). */
static char *write_snapshot(const struct ts_process *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json_writer jw;

	jw_init(&jw, f);
	rec_snapshot__write(&jw, p);
	jw_finish(&jw);
	fclose(f);
	return buf;
}

/* Equal with the pointers to what each owns set aside (compared on their own). */
static bool process_fields_equal(const struct ts_process *a, const struct ts_process *b)
{
	struct ts_process x, y;

	/* memcpy, not assignment: padding bytes are copied too, and compared */
	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	x.tasks = y.tasks = NULL;
	x.workers = y.workers = NULL;
	x.lost = y.lost = NULL;
	x.resources = y.resources = NULL;
	x.sampled = y.sampled = NULL;
	x.tasks_cap = y.tasks_cap = x.workers_cap = y.workers_cap = 0;
	x.lost_cap = y.lost_cap = x.resources_cap = y.resources_cap = 0;
	return !memcmp(&x, &y, sizeof(x));
}

static bool task_equal(const struct ts_task *a, const struct ts_task *b)
{
	struct ts_task x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	/* "" is one literal per object file under ASan (no merging): equal by content */
	if (!*x.future_type && !*y.future_type)
		x.future_type = y.future_type = NULL;
	if (!*x.location && !*y.location)
		x.location = y.location = NULL;
	if (!*x.name && !*y.name)
		x.name = y.name = NULL;
	if (!a->chain != !b->chain)
		return false;
	if (a->chain && memcmp(a->chain, b->chain, sizeof(*a->chain)))
		return false;
	x.chain = y.chain = NULL;
	return !memcmp(&x, &y, sizeof(x));
}

static void test_round_trip(void)
{
	struct ts_process *p = calloc(1, sizeof(*p)), *q = calloc(1, sizeof(*q));
	struct ts_sampled_info *si = calloc(1, sizeof(*si)), *sq = calloc(1, sizeof(*sq));
	struct json_object *o;
	char *text, *again, why[128] = "";
	size_t i;
	int err;
	bool same;

	fill_process(p, si);
	text = write_snapshot(p);
	o = json_tokener_parse(text);
	CHECK("snapshot: the writer's JSON parses", o != NULL);
	err = rec_snapshot__parse(o, q, sq, why, sizeof(why));
	CHECK("snapshot: parsed", err == 0);
	CHECK("snapshot: process fields equal", process_fields_equal(p, q));
	CHECK("snapshot: as many tasks, workers, lost, resources",
	      q->ntasks == 2 && q->nworkers == 1 && q->nlost == 1 && q->nresources == 1);
	same = q->ntasks == p->ntasks;
	for (i = 0; same && i < p->ntasks; i++)
		same = task_equal(&p->tasks[i], &q->tasks[i]);
	CHECK("snapshot: every task equal, await chain and all", same);
	CHECK("snapshot: the chain's strings, escapes kept",
	      q->tasks[0].chain && !strcmp(q->tasks[0].chain->frames[0].vars[1].value,
					   "\"al\\ice\"\n"));
	CHECK("snapshot: interned strings come back as the same pointers",
	      q->tasks[0].name == p->tasks[0].name && q->layout_descriptor == p->layout_descriptor);
	CHECK("snapshot: workers equal", q->nworkers == 1 &&
	      !memcmp(&p->workers[0], &q->workers[0], sizeof(p->workers[0])));
	CHECK("snapshot: lost wakes equal", q->nlost == 1 &&
	      !memcmp(&p->lost[0], &q->lost[0], sizeof(p->lost[0])));
	CHECK("snapshot: resources equal", q->nresources == 1 &&
	      !memcmp(&p->resources[0], &q->resources[0], sizeof(p->resources[0])));
	CHECK("snapshot: sampled info equal", q->sampled == sq && !memcmp(si, sq, sizeof(*si)));
	again = write_snapshot(q);
	CHECK("snapshot: written again, the same text", !strcmp(text, again));

	/* the copy top --replay shows */
	{
		struct ts_process c;

		err = rec_snapshot__copy(&c, q);
		CHECK("copy: made", err == 0);
		CHECK("copy: chains are its own", c.tasks[0].chain != q->tasks[0].chain &&
		      task_equal(&c.tasks[0], &q->tasks[0]));
		ts_process__free(&c);
	}
	json_object_put(o);
	free(text);
	free(again);
	ts_process__free(p);
	ts_process__free(q);
	free(p);
	free(q);
	free(si);
	free(sq);
}

static void test_hostile(void)
{
	struct ts_process *q = calloc(1, sizeof(*q));
	struct json_object *o;
	char text[8192], frames[4096] = "", why[128];
	size_t used = 0;
	int i, err;

	for (i = 0; i < 20; i++)
		used += (size_t)snprintf(frames + used, sizeof(frames) - used,
					 "%s{\"func\":\"f%d\",\"line\":%d}", i ? "," : "", i, i);
	snprintf(text, sizeof(text),
		 "{\"pid\":\"nope\",\"comm\":\"%0200d\",\"tasks\":[7,{\"state\":99,"
		 "\"name\":\"x\",\"st\":{\"hist\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,"
		 "20,21,22,23,24,25,26,27]},\"chain\":{\"status\":42,\"leaf\":{\"kind\":1000},"
		 "\"frames\":[%s],\"holds\":[{\"kind\":99,\"frame\":50},{\"frame\":-3}]}}],"
		 "\"workers\":{}}", 1, frames);
	o = json_tokener_parse(text);
	CHECK("hostile: test input parses", o != NULL);
	err = rec_snapshot__parse(o, q, NULL, why, sizeof(why));
	CHECK("hostile: parsed without failing", err == 0);
	CHECK("hostile: a mistyped pid reads 0", q->pid == 0);
	CHECK("hostile: a long comm cut to its array", strlen(q->comm) == sizeof(q->comm) - 1);
	CHECK("hostile: a non-object task skipped", q->ntasks == 1);
	CHECK("hostile: an enum out of range reads 0", q->ntasks == 1 && q->tasks[0].state == 0);
	CHECK("hostile: hist bounded, 24 kept", q->ntasks == 1 &&
	      q->tasks[0].st.hist[TS_HIST_SLOTS - 1] == TS_HIST_SLOTS);
	CHECK("hostile: frames bounded", q->ntasks == 1 && q->tasks[0].chain &&
	      q->tasks[0].chain->nframes == TS_CHAIN_MAX_FRAMES);
	CHECK("hostile: chain status and leaf kind in range", q->tasks[0].chain &&
	      q->tasks[0].chain->status == 0 && q->tasks[0].chain->leaf.kind == 0);
	CHECK("hostile: hold frames point into the frames", q->tasks[0].chain &&
	      q->tasks[0].chain->nholds == 2 &&
	      q->tasks[0].chain->holds[0].frame < q->tasks[0].chain->nframes &&
	      q->tasks[0].chain->holds[1].frame >= 0 && q->tasks[0].chain->holds[0].kind == 0);
	CHECK("hostile: workers not an array: none", q->nworkers == 0);
	json_object_put(o);
	ts_process__free(q);

	o = json_tokener_parse("[1,2]");
	err = rec_snapshot__parse(o, q, NULL, why, sizeof(why));
	CHECK("hostile: an array is no snapshot", err == -EINVAL && strstr(why, "not an object"));
	json_object_put(o);
	free(q);
}

static void thread_name(void *ctx, uint32_t tid, char *buf, size_t len)
{
	snprintf(buf, len, "worker-%u", tid);
}

static struct ts_rec_event ev(uint32_t kind, uint32_t tid, uint64_t ns, uint64_t header)
{
	struct ts_rec_event e = { .kind = kind, .tid = tid, .ns = ns, .header = header,
				  .tgid = 100, .poll_idx = TS_POLL_UNKNOWN };

	return e;
}

static struct json_object *find_event(struct json_object *events, const char *ph, int nth)
{
	size_t i, n = json_object_array_length(events);
	struct json_object *v;

	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(events, i);

		if (json_object_object_get_ex(e, "ph", &v) &&
		    !strcmp(json_object_get_string(v), ph) && !nth--)
			return e;
	}
	return NULL;
}

static const char *str_of(struct json_object *e, const char *k1, const char *k2)
{
	struct json_object *v;

	if (!e || !json_object_object_get_ex(e, k1, &v))
		return "(none)";
	if (k2 && !json_object_object_get_ex(v, k2, &v))
		return "(none)";
	return json_object_get_string(v);
}

static void test_trace(void)
{
	struct rec_trace tr = { .thread_name = thread_name };
	struct json_writer jw;
	struct json_object *doc, *events;
	struct ts_rec_event e;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const uint64_t A = 0xa0, B = 0xb0, C = 0xc0, base = 1000000;

	jw_init(&jw, f);
	rec_trace__begin(&tr, &jw, 100, "server", base);
	rec_trace__label(&tr, A, 1, ts_intern("alpha"), ts_intern("src/main.rs:7"));
	rec_trace__label(&tr, B, 2, ts_intern("beta"), NULL);
	rec_trace__event(&tr, &(struct ts_rec_event){ 0 });	/* kind 0: ignored */
	e = ev(TS_REC_POLL_START, 1, base + 1000, A);
	rec_trace__event(&tr, &e);
	e = ev(TS_REC_WAKE, 1, base + 1500, B);
	e.waker_header = A;
	rec_trace__event(&tr, &e);
	e = ev(TS_REC_WAKE, 1, base + 1600, B);	/* a second wake: no second flow */
	e.waker_header = A;
	rec_trace__event(&tr, &e);
	e = ev(TS_REC_WAKE, 3, base + 1700, C);	/* not from a poll we saw: no flow */
	e.waker_header = 0xdead;
	rec_trace__event(&tr, &e);
	e = ev(TS_REC_POLL_END, 1, base + 2000, A);
	rec_trace__event(&tr, &e);
	e = ev(TS_REC_POLL_START, 2, base + 2500, B);
	rec_trace__event(&tr, &e);
	e = ev(TS_REC_POLL_END, 2, base + 3001, B);
	e.ready = TS_REC_READY;
	rec_trace__event(&tr, &e);
	e = ev(TS_REC_POLL_START, 1, base + 4000, A);
	rec_trace__event(&tr, &e);
	e = ev(TS_REC_POLL_START, 1, base + 5000, C);	/* A's end lost */
	e.task_id = 3;
	rec_trace__event(&tr, &e);
	e = ev(TS_REC_POLL_END, 4, base + 5100, C);	/* an end without its start */
	rec_trace__event(&tr, &e);
	rec_trace__stall(&tr, base + 5500, "deadlock", "alpha", 1, 0, "2 tasks \"wait\"");
	rec_trace__end(&tr, base + 6000);
	jw_kv_u64(&jw, "dropped", 0);
	jw_object_end(&jw);
	CHECK("trace: the writer balanced", jw_finish(&jw) == 0);
	fclose(f);

	CHECK("trace: ts and dur as microseconds, exact to the ns",
	      strstr(buf, "\"ts\":1.000,\"dur\":1.000,\"name\":\"alpha\"") &&
	      strstr(buf, "\"ts\":2.500,\"dur\":0.501,\"name\":\"beta\""));
	doc = json_tokener_parse(buf);
	CHECK("trace: the document parses", doc != NULL);
	json_object_object_get_ex(doc, "traceEvents", &events);
	CHECK("trace: counts", tr.slices == 4 && tr.flows == 1 && tr.orphan_ends == 1 &&
	      tr.unknown_ends == 2 && tr.stalls == 1);
	CHECK_STR("trace: process name", str_of(find_event(events, "M", 0), "args", "name"),
		  "server (PID 100)");
	CHECK_STR("trace: thread name", str_of(find_event(events, "M", 1), "args", "name"),
		  "worker-1");
	CHECK_STR("trace: slice named by its label", str_of(find_event(events, "X", 0), "name", NULL),
		  "alpha");
	CHECK_STR("trace: the await it resumed from",
		  str_of(find_event(events, "X", 0), "args", "await"), "src/main.rs:7");
	CHECK_STR("trace: pending", str_of(find_event(events, "X", 0), "args", "result"), "pending");
	CHECK_STR("trace: ready", str_of(find_event(events, "X", 1), "args", "result"), "ready");
	CHECK_STR("trace: a lost end closes at the next start",
		  str_of(find_event(events, "X", 2), "dur", NULL), "1.000");
	CHECK_STR("trace: ... as unknown", str_of(find_event(events, "X", 2), "args", "result"),
		  "unknown");
	CHECK_STR("trace: unlabelled task named by its Id",
		  str_of(find_event(events, "X", 3), "name", NULL), "task 3");
	CHECK_STR("trace: flow start on the waker's thread",
		  str_of(find_event(events, "s", 0), "tid", NULL), "1");
	CHECK_STR("trace: ... at the wake", str_of(find_event(events, "s", 0), "ts", NULL), "1.500");
	CHECK_STR("trace: flow end on the wakee's poll",
		  str_of(find_event(events, "f", 0), "ts", NULL), "2.500");
	CHECK_STR("trace: ... bound to it", str_of(find_event(events, "f", 0), "bp", NULL), "e");
	CHECK("trace: one flow pair, same id", !find_event(events, "s", 1) &&
	      !strcmp(str_of(find_event(events, "s", 0), "id", NULL),
		      str_of(find_event(events, "f", 0), "id", NULL)));
	CHECK_STR("trace: stall instant, process-wide",
		  str_of(find_event(events, "i", 0), "s", NULL), "p");
	CHECK_STR("trace: its message escaped and back",
		  str_of(find_event(events, "i", 0), "args", "message"), "2 tasks \"wait\"");
	json_object_put(doc);
	free(buf);
	rec_trace__free(&tr);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void test_recording(void)
{
	char path[] = "/tmp/test_record_XXXXXX", why[512], text[4096];
	struct recording rec;
	int fd = mkstemp(path), err;

	close(fd);
	snprintf(text, sizeof(text),
		 "{\"traceEvents\":[{\"ph\":\"X\",\"name\":\"\\\"taskscope\\\":{\\\"version\\\":\"}],"
		 "\"taskscope\":{\"version\":%d,\"pid\":9,\"comm\":\"srv\",\"start_ns\":1000000000,"
		 "\"end_ns\":11000000000,\"dropped\":5,\"snapshots\":["
		 "{\"pid\":9,\"snapshot_ns\":2000000000,\"tasks\":[{\"task_id\":1,\"name\":\"a\"}]},"
		 "{\"pid\":9,\"snapshot_ns\":6000000000,\"tasks\":[]},"
		 "{\"pid\":9,\"snapshot_ns\":11000000000,\"tasks\":[]}]}}\n", REC_FORMAT_VERSION);
	write_file(path, text);
	err = recording__load(&rec, path, why, sizeof(why));
	CHECK("recording: loads", err == 0);
	CHECK("recording: its section", rec.pid == 9 && !strcmp(rec.comm, "srv") &&
	      rec.dropped == 5 && rec.nsnaps == 3);
	CHECK("recording: snapshots", rec.nsnaps == 3 && rec.snaps[0].ntasks == 1 &&
	      !strcmp(rec.snaps[0].tasks[0].name, "a"));
	CHECK("recording: times", recording__time_of(&rec, 1) == 5.0 &&
	      recording__length(&rec) == 10.0);
	CHECK("recording: the snapshot at a time", recording__index_at(&rec, 0.5) == 0 &&
	      recording__index_at(&rec, 5.0) == 1 && recording__index_at(&rec, 9.9) == 1 &&
	      recording__index_at(&rec, 99) == 2);
	recording__free(&rec);

	write_file(path, "hello");
	err = recording__load(&rec, path, why, sizeof(why));
	CHECK("recording: not JSON", err == -EINVAL && strstr(why, "is not JSON"));
	write_file(path, "{\"traceEvents\":[]}");
	err = recording__load(&rec, path, why, sizeof(why));
	CHECK("recording: JSON, no section", err == -EINVAL && strstr(why, "not a taskscope"));
	write_file(path, "{\"taskscope\":{\"version\":2,\"snapshots\":[]}}");
	err = recording__load(&rec, path, why, sizeof(why));
	CHECK("recording: another version", err == -EINVAL && strstr(why, "version 2"));
	write_file(path, "{\"taskscope\":{\"version\":1,\"snapshots\":[{\"tasks\":[");
	err = recording__load(&rec, path, why, sizeof(why));
	CHECK("recording: cut short", err == -EINVAL && strstr(why, "ends too soon"));
	write_file(path, "{\"taskscope\":{\"version\":1,\"snapshots\":[]}}");
	err = recording__load(&rec, path, why, sizeof(why));
	CHECK("recording: no snapshot", err == -ENODATA && strstr(why, "no snapshot"));
	write_file(path, "{\"taskscope\":{\"version\":1,\"snapshots\":[{\"tasks\":[]}]}},{}");
	err = recording__load(&rec, path, why, sizeof(why));
	CHECK("recording: something after it", err == -EINVAL && strstr(why, "damaged"));
	unlink(path);
	err = recording__load(&rec, path, why, sizeof(why));
	CHECK("recording: missing file", err == -ENOENT && strstr(why, "can't read"));
}

int main(void)
{
	test_round_trip();
	test_hostile();
	test_trace();
	test_recording();
	UNIT_EXIT();
}
