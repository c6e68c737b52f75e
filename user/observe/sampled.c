/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "procfs.h"
#include "sampled.h"
#include "task_memory.h"
#include "taskscope.skel.h"

#define MS			(1000ULL * 1000)
#define CALIB_STEP_NS		(50 * MS)
#define CALIB_START_STEPS	20	/* at most 1 s at the start */
#define CALIB_HZ		1000	/* while calibrating */
#define HASH_MAX_BYTES		1024	/* of a task's cell, for "did it change" */
#define HASH_ASYNC_TASK_BYTES	256
#define READ_BATCH		512	/* iovecs per process_vm_readv */
#define TS_FULL_SCAN_EVERY	(10000 * MS)	/* whole-memory scans for tasks no link leads to */
#define OWNED_WALK_STEPS	200000
#define MAP_BATCH		1024	/* entries per BPF batch lookup */

void sampled_opts__default(struct sampled_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sample_hz = TS_SAMPLE_HZ_DEFAULT;
	o->burst_ns = TS_BURST_MS_DEFAULT * MS;
	o->burst_every_ns = TS_BURST_EVERY_MS_DEFAULT * MS;
	o->snapshot_every_ns = 1000 * MS;
	o->force_calibration = getenv("TASKSCOPE_SAMPLED_CALIBRATE") &&
			       !strcmp(getenv("TASKSCOPE_SAMPLED_CALIBRATE"), "1");
}

/* CPU time of this thread: what taskscope itself spends, per refresh. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---------------------------------------------------------------- memory */

struct region {
	uint64_t addr;
	size_t len;
	uint8_t *buf;
	bool ok;
};

/*
 * Many small reads in few syscalls. process_vm_readv stops at the first
 * remote iovec it can't read: the ones before it are complete, that one
 * is marked failed, and the batch resumes after it.
 */
static void read_regions(pid_t pid, struct region *r, size_t n)
{
	struct iovec local[READ_BATCH], remote[READ_BATCH];
	size_t i = 0;

	while (i < n) {
		size_t m = n - i < READ_BATCH ? n - i : READ_BATCH, k, want = 0, done = 0;
		ssize_t got;

		for (k = 0; k < m; k++) {
			local[k].iov_base = r[i + k].buf;
			local[k].iov_len = r[i + k].len;
			remote[k].iov_base = (void *)(uintptr_t)r[i + k].addr;
			remote[k].iov_len = r[i + k].len;
			want += r[i + k].len;
		}
		got = process_vm_readv(pid, local, m, remote, m, 0);
		if (got == (ssize_t)want) {
			for (k = 0; k < m; k++)
				r[i + k].ok = true;
			i += m;
			continue;
		}
		for (k = 0; got > 0 && k < m && done + r[i + k].len <= (size_t)got; k++) {
			r[i + k].ok = true;
			done += r[i + k].len;
		}
		if (k < m)
			r[i + k].ok = false;
		i += k + 1;
	}
}

static uint64_t hash_words(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL, w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h;
}

/*
 * What is read of a task's cell, from its header: the header, and the
 * part that changes when it is polled (its future's state, locals,
 * awaitee) but not while it waits, hashed from hash_from on: tokio's Core
 * and stage up to the Trailer (whose owned-list links change when
 * neighbours come and go, and whose join waker is the JoinHandle's), past
 * the header's state word and run-queue link. The Trailer's owned links
 * are read apart: they lead to tasks spawned since.
 */
struct cell_shape {
	size_t len;		/* bytes from the header */
	size_t hash_from;
	uint64_t links_off;	/* Trailer.owned { prev, next }; 0: none */
};

static void cell_shape(const struct runtime_binary *tb, int vtable_idx, struct cell_shape *cs)
{
	const struct task_vtable *vt = &tb->vtables[vtable_idx];
	size_t hashed;

	if (tb->runtime == TS_RT_TOKIO) {
		cs->hash_from = TOKIO_HDR_VTABLE;
		hashed = vt->trailer_offset > TOKIO_HDR_VTABLE ? vt->trailer_offset - TOKIO_HDR_VTABLE :
								 HASH_ASYNC_TASK_BYTES;
		cs->links_off = vt->trailer_offset;
	} else {
		/* async-task: the future follows the header (vtable, state, awaiter) */
		cs->hash_from = tb->layout.hdr_size;
		hashed = HASH_ASYNC_TASK_BYTES;
		cs->links_off = 0;
	}
	if (hashed > HASH_MAX_BYTES)
		hashed = HASH_MAX_BYTES;
	cs->len = (cs->hash_from + hashed) & ~(size_t)7;
	if (cs->len < tb->layout.hdr_size)
		cs->len = tb->layout.hdr_size;
}

static const struct sampled_task_hist *hist_find(const struct sampled_session *ss,
						 uint64_t header)
{
	size_t lo = 0, hi = ss->nhist;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ss->hist[mid].header < header)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ss->nhist && ss->hist[lo].header == header ? &ss->hist[lo] : NULL;
}

/* A task to read: where, and which vtable it had. */
struct cell_ref {
	uint64_t header;
	int vtable_idx;
};

struct cell_read {
	bool valid;
	uint64_t state_word, task_id, hash;
	uint64_t links[2];	/* owned-list prev, next; 0 unknown */
};

static int grow(void **p, size_t *cap, size_t want, size_t elem)
{
	void *nv;

	if (want <= *cap)
		return 0;
	nv = realloc(*p, want * elem);
	if (!nv)
		return -ENOMEM;
	*p = nv;
	*cap = want;
	return 0;
}

/*
 * Reads n cells in batches (the buffers stay allocated between snapshots:
 * fresh pages cost a fault each) and checks each is still a live task of
 * the same vtable.
 */
static int read_cells(struct sampled_session *ss, const struct cell_ref *c, size_t n,
		      struct cell_read *out)
{
	const struct runtime_binary *tb = &ss->op->tb;
	const struct task_layout *l = &tb->layout;
	size_t i, nr = 0, stride = HASH_MAX_BYTES + 64;
	int err;

	err = grow((void **)&ss->rbuf, &ss->rbuf_cap, n * stride, 1);
	if (!err)
		err = grow((void **)&ss->regions, &ss->regions_cap, 2 * n, sizeof(struct region));
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		struct cell_shape cs;
		uint8_t *buf = ss->rbuf + i * stride;

		cell_shape(tb, c[i].vtable_idx, &cs);
		ss->regions[nr++] = (struct region){ .addr = c[i].header, .len = cs.len, .buf = buf };
		/* links past what is hashed: a second iovec, after the cell's bytes */
		ss->regions[nr++] = (struct region){ .addr = c[i].header + cs.links_off,
						     .len = cs.links_off ? 16 : 0,
						     .buf = buf + HASH_MAX_BYTES + 32 };
	}
	read_regions(ss->op->pid, ss->regions, nr);
	for (i = 0; i < n; i++) {
		const struct task_vtable *vt = &tb->vtables[c[i].vtable_idx];
		const struct region *a = &ss->regions[2 * i], *b = &ss->regions[2 * i + 1];
		struct cell_shape cs;
		uint64_t vtw, state;

		memset(&out[i], 0, sizeof(out[i]));
		if (!a->ok)
			continue;
		cell_shape(tb, c[i].vtable_idx, &cs);
		memcpy(&vtw, a->buf + l->hdr_vtable_off, 8);
		memcpy(&state, a->buf + l->hdr_state_off, 8);
		if (vtw != vt->vaddr + ss->op->bias || !task_state_plausible(l, state))
			continue;	/* freed, or the cell now holds another kind of task */
		out[i].valid = true;
		out[i].state_word = state;
		if (vt->id_offset >= l->hdr_size && vt->id_offset + 8 <= cs.len)
			memcpy(&out[i].task_id, a->buf + vt->id_offset, 8);
		else if (vt->id_offset >= l->hdr_size && vt->id_offset < 4096)
			proc_read_u64(ss->op->pid, c[i].header + vt->id_offset, &out[i].task_id);
		out[i].hash = hash_words(a->buf + cs.hash_from, cs.len - cs.hash_from);
		if (b->len && b->ok)
			memcpy(out[i].links, b->buf, 16);
	}
	return 0;
}

static int cmp_cell_ref(const void *a, const void *b)
{
	const struct cell_ref *x = a, *y = b;

	return (x->header > y->header) - (x->header < y->header);
}

static bool have_ref(const struct cell_ref *v, size_t n, uint64_t header)
{
	struct cell_ref key = { .header = header };

	return bsearch(&key, v, n, sizeof(*v), cmp_cell_ref) != NULL;
}

/*
 * The tasks to read this time: every task known, and those spawned since,
 * found from their neighbours in the runtime's owned-task list (tokio
 * links a new task at the head). A full scan of the process's memory runs
 * at the start and every TS_FULL_SCAN_EVERY, for what no link leads to.
 */
static int cells_to_read(struct sampled_session *ss, uint64_t now, struct cell_ref **out,
			 size_t *n)
{
	const struct runtime_binary *tb = &ss->op->tb;
	struct cell_ref *v = NULL, *extra = NULL;
	size_t i, nv = 0, nextra = 0, cap_extra = 0, steps = 0;
	int err = 0;

	*out = NULL;
	*n = 0;
	if (!ss->nhist || now >= ss->next_full_scan_ns) {
		struct mem_scan_stats ms;
		struct mem_task *mt = NULL;
		size_t nmt = 0;

		err = task_memory__discover(ss->op->pid, tb, ss->op->bias, &mt, &nmt, &ms);
		if (err)
			return err;
		v = calloc(nmt + 1, sizeof(*v));
		if (!v) {
			free(mt);
			return -ENOMEM;
		}
		for (i = 0; i < nmt; i++)
			v[i] = (struct cell_ref){ mt[i].header, mt[i].vtable_idx };
		free(mt);
		ss->next_full_scan_ns = now + TS_FULL_SCAN_EVERY;
		*out = v;
		*n = nmt;	/* sorted by header */
		return 0;
	}
	v = calloc(ss->nhist + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < ss->nhist; i++)
		v[nv++] = (struct cell_ref){ ss->hist[i].header, ss->hist[i].vtable_idx };
	for (i = 0; i < ss->nhist; i++) {
		int d;

		for (d = 0; d < 2; d++) {
			uint64_t next = ss->hist[i].links[d];

			/* a chain of new tasks: follow it while it leads to unknown cells */
			while (next && steps++ < OWNED_WALK_STEPS && !have_ref(v, nv, next)) {
				struct mem_task mt;
				uint64_t link = 0;
				size_t k;

				for (k = 0; k < nextra && extra[k].header != next; k++)
					;
				if (k < nextra)
					break;
				if (task_memory__read(ss->op->pid, tb, ss->op->bias, next, &mt))
					break;
				if (grow((void **)&extra, &cap_extra, nextra + 1, sizeof(*extra))) {
					err = -ENOMEM;
					goto out;
				}
				extra[nextra++] = (struct cell_ref){ mt.header, mt.vtable_idx };
				if (!tb->vtables[mt.vtable_idx].trailer_offset ||
				    proc_read_u64(ss->op->pid, mt.header +
						  tb->vtables[mt.vtable_idx].trailer_offset + 8 * d,
						  &link))
					break;
				next = link;
			}
		}
	}
	if (nextra) {
		struct cell_ref *nv2 = realloc(v, (nv + nextra) * sizeof(*v));

		if (!nv2) {
			err = -ENOMEM;
			goto out;
		}
		v = nv2;
		memcpy(v + nv, extra, nextra * sizeof(*v));
		nv += nextra;
		qsort(v, nv, sizeof(*v), cmp_cell_ref);
	}
	*out = v;
	*n = nv;
	v = NULL;
out:
	free(v);
	free(extra);
	return err;
}

/*
 * Every task in memory, its state word and a hash of its cell: a task
 * whose word and cell did not change between two snapshots was not polled
 * meanwhile (unless a poll left every byte as it found it).
 */
static int memory_snapshot(struct sampled_session *ss, uint64_t now)
{
	const struct runtime_binary *tb = &ss->op->tb;
	struct sampled_task_hist *nh = NULL;
	struct cell_read *rd = NULL;
	struct cell_ref *c = NULL;
	size_t n = 0, i, j = 0, nn = 0;
	int err;

	if (!tb->nvtables)
		return 0;	/* USDT runtimes: no layout to read */
	err = cells_to_read(ss, now, &c, &n);
	if (err)
		return err == -ENOENT ? 0 : err;
	nh = calloc(n + 1, sizeof(*nh));
	rd = calloc(n + 1, sizeof(*rd));
	if (!nh || !rd) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = read_cells(ss, c, n, rd);
	if (err)
		goto cleanup;
	for (i = 0; i < n; i++) {
		const struct task_vtable *vt = &tb->vtables[c[i].vtable_idx];
		struct sampled_task_hist *h = &nh[nn];
		const struct sampled_task_hist *old = NULL;

		if (!rd[i].valid)
			continue;	/* gone since the last snapshot */
		nn++;
		h->header = c[i].header;
		h->vtable_idx = c[i].vtable_idx;
		h->task_id = rd[i].task_id;
		h->state_word = rd[i].state_word;
		h->mem_hash = rd[i].hash;
		h->links[0] = rd[i].links[0];
		h->links[1] = rd[i].links[1];
		h->blocking = vt->poll_idx >= 0 && (size_t)vt->poll_idx < tb->npolls &&
			      tb->polls[vt->poll_idx].blocking;
		/* both lists are sorted by header */
		while (j < ss->nhist && ss->hist[j].header < h->header)
			j++;
		if (j < ss->nhist && ss->hist[j].header == h->header &&
		    ss->hist[j].task_id == h->task_id)
			old = &ss->hist[j];
		if (old) {
			h->burst_polls = old->burst_polls;
			h->active_ns = old->active_ns;
			h->unchanged_since_ns = old->state_word == h->state_word &&
						old->mem_hash == h->mem_hash ?
						old->unchanged_since_ns : now;
		} else {
			h->unchanged_since_ns = now;
		}
		if (h->blocking && h->task_id && ss->sampler_open && !old)
			ts_sampler__ignore_task(&ss->sampler, ss->op->pid, h->task_id);
	}
	free(ss->hist);
	ss->hist = nh;
	ss->nhist = nn;
	nh = NULL;
	ss->info.snapshots++;
cleanup:
	free(nh);
	free(rd);
	free(c);
	return err;
}

/* ---------------------------------------------------------------- bursts */


/* Every entry of the precise tasks map that belongs to pid. */
static int read_task_entries(int fd, pid_t pid, struct ts_task_key **keys,
			     struct ts_task_stats **vals, size_t *n)
{
	struct ts_task_key *kb = NULL;
	struct ts_task_stats *vb = NULL;
	uint32_t in_batch = 0, out_batch = 0;
	size_t cap = 0;
	bool first = true;
	int err = 0;

	*keys = NULL;
	*vals = NULL;
	*n = 0;
	kb = calloc(MAP_BATCH, sizeof(*kb));
	vb = calloc(MAP_BATCH, sizeof(*vb));
	if (!kb || !vb) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		uint32_t count = MAP_BATCH, k;
		int rc = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, kb, vb,
					      &count, NULL);

		if (rc && rc != -ENOENT) {
			err = rc;
			break;
		}
		for (k = 0; k < count; k++) {
			if (kb[k].tgid != (uint32_t)pid)
				continue;
			if (*n == cap) {
				void *nk, *nv;

				cap = cap ? 2 * cap : 256;
				nk = realloc(*keys, cap * sizeof(**keys));
				if (nk)
					*keys = nk;
				nv = realloc(*vals, cap * sizeof(**vals));
				if (nv)
					*vals = nv;
				if (!nk || !nv) {
					err = -ENOMEM;
					goto out;
				}
			}
			(*keys)[*n] = kb[k];
			(*vals)[(*n)++] = vb[k];
		}
		if (rc == -ENOENT)
			break;
		in_batch = out_batch;
		first = false;
	}
out:
	free(kb);
	free(vb);
	if (err) {
		free(*keys);
		free(*vals);
		*keys = NULL;
		*vals = NULL;
		*n = 0;
	}
	return err;
}

/*
 * Before a burst: forget what the last one left half-done. A task
 * SCHEDULED at the end of the previous burst would otherwise count the
 * whole gap as time waiting to be polled, an IDLE one the gap as idle.
 * Nothing of pid traps between bursts, so nothing races these updates.
 */
static void burst_reset(struct sampled_session *ss, uint64_t now)
{
	int tfd = ts_bpf__map_fd(ss->bpf, "tasks"), wfd = ts_bpf__map_fd(ss->bpf, "workers");
	struct ts_task_key *keys;
	struct ts_task_stats *vals;
	struct ts_worker_state w;
	uint32_t tid, next;
	void *prev = NULL;
	size_t n, i;

	if (!read_task_entries(tfd, ss->op->pid, &keys, &vals, &n)) {
		uint32_t count;

		for (i = 0; i < n; i++) {
			if (vals[i].state != TS_TASK_DONE)
				vals[i].state = TS_TASK_IDLE;
			vals[i].last_transition_ns = now;
			vals[i].wake_ns = 0;
			vals[i].woken_in_poll = 0;
		}
		count = (uint32_t)n;
		if (n && bpf_map_update_batch(tfd, keys, vals, &count, NULL))
			for (i = 0; i < n; i++)
				bpf_map_update_elem(tfd, &keys[i], &vals[i], BPF_EXIST);
		free(keys);
		free(vals);
	}
	/*
	 * A poll still open when the links went away would only end at the
	 * thread's next switch, its length growing meanwhile: drop it.
	 */
	while (bpf_map_get_next_key(wfd, prev, &next) == 0) {
		tid = next;
		prev = &tid;
		if (bpf_map_lookup_elem(wfd, &tid, &w) || w.tgid != (uint32_t)ss->op->pid ||
		    (!w.depth && !w.offcpu_start_ns))
			continue;
		w.depth = 0;
		w.header = 0;
		w.offcpu_start_ns = 0;
		w.offcpu_in_poll_ns = 0;
		bpf_map_update_elem(wfd, &tid, &w, BPF_EXIST);
	}
}

/* Tasks the burst saw polled are not idle: their hist records it. */
static void burst_activity(struct sampled_session *ss, uint64_t now)
{
	struct ts_task_key *keys;
	struct ts_task_stats *vals;
	size_t n, i;

	if (read_task_entries(ts_bpf__map_fd(ss->bpf, "tasks"), ss->op->pid, &keys, &vals, &n))
		return;
	for (i = 0; i < n; i++) {
		struct sampled_task_hist *h =
			(struct sampled_task_hist *)hist_find(ss, keys[i].header);

		if (!h)
			continue;
		if (vals[i].polls != h->burst_polls)
			h->active_ns = now;
		h->burst_polls = vals[i].polls;
	}
	free(keys);
	free(vals);
}

static void *close_fd(void *arg)
{
	close((int)(intptr_t)arg);
	return NULL;
}

/*
 * Closing a uprobe_multi link removes its breakpoints at once, then waits
 * for a grace period (12-28 ms each here). Closed one after the other, the
 * wake link would keep counting for a grace period after the poll link
 * stopped: closed together, every probe stops at the same moment.
 */
static void detach_together(struct proc_links *links)
{
	pthread_t th[8];
	bool started[8] = {};
	int i;

	for (i = 0; i < links->nfds && i < 8; i++)
		started[i] = !pthread_create(&th[i], NULL, close_fd,
					     (void *)(intptr_t)links->fds[i]);
	for (i = 0; i < links->nfds && i < 8; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			close(links->fds[i]);
	}
	links->nfds = 0;
	links->nprobes = 0;
}

static int burst(struct sampled_session *ss, uint64_t len_ns)
{
	struct observed_proc *op = ss->op;
	uint64_t t0, t1;
	int err;

	burst_reset(ss, ts_now_ns());
	/*
	 * The precise sched_switch program runs on every context switch of
	 * the host (~190 ns each): between bursts it has nothing to do.
	 */
	if (!ss->bpf->sched_link) {
		ss->bpf->sched_link = bpf_program__attach(ss->bpf->skel->progs.sched_switch);
		if (!ss->bpf->sched_link)
			return -errno;
	}
	err = ts_bpf__attach_tokio(ss->bpf, op->pid, &op->tb, TS_MODE_DEFAULT, &op->links);
	if (err)
		goto out;
	t0 = ts_now_ns();
	sleep_ns(len_ns);
	t1 = ts_now_ns();
	detach_together(&op->links);
	ss->info.bursts++;
	ss->info.burst_total_ns += t1 - t0;
out:
	bpf_link__destroy(ss->bpf->sched_link);
	ss->bpf->sched_link = NULL;
	if (!err) {
		burst_reset(ss, ts_now_ns());
		burst_activity(ss, t1);
	}
	return err;
}

/* ----------------------------------------------------------- thread-local */

static void describe_field(struct sampled_session *ss)
{
	const struct tls_context *tc = &ss->tc;

	ss->info.tls_source = tls_field_source_name(tc->source);
	snprintf(ss->info.tls_field, sizeof(ss->info.tls_field),
		 "+0x%x tag %u B (None %llu), id +0x%x", tc->opt_off + tc->tag_off, tc->tag_size,
		 (unsigned long long)tc->tag_none, tc->opt_off + tc->id_off);
}

/*
 * Without DWARF or a known layout: sample CONTEXT's first words and keep
 * the one whose values are ids of tasks found in memory (the field holds
 * the task being polled, or between polls a worker's launch task). A
 * comparison with the task the precise probes see polled was tried first:
 * under a uprobe the poll itself is a sliver of the time the probes call
 * "in a poll" (the trap, the scheduler until the next poll), and on the
 * spinner 1 sample in 371 matched.
 */
static int calibration_begin(struct sampled_session *ss)
{
	struct ts_tls_layout l;
	size_t n;
	int err;

	tls_context__layout(&ss->tc, &l);
	l.tag_size = 8;
	l.calibrate = 1;
	err = ts_sampler__watch(&ss->sampler, ss->op->pid, &l);
	if (err)
		return err;
	/* room for one read on top of what is kept (< TS_CALIB_SLOTS) */
	ss->calib = calloc(2 * TS_CALIB_SLOTS, sizeof(*ss->calib));
	if (!ss->calib)
		return -ENOMEM;
	ts_sampler__calibration_read(&ss->sampler, ss->calib, &n);	/* from empty */
	ts_sampler__set_hz(&ss->sampler, CALIB_HZ);
	ss->calibrating = true;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void calibration_end(struct sampled_session *ss)
{
	ss->calibrating = false;
	ts_sampler__unwatch(&ss->sampler, ss->op->pid);
	ts_sampler__set_hz(&ss->sampler, ss->opts.sample_hz);
	free(ss->calib);
	ss->calib = NULL;
	ss->ncalib = 0;
}

/* Enough samples to tell the word? Then sample with it. */
static void calibration_step(struct sampled_session *ss)
{
	struct ts_tls_layout l;
	uint64_t *ids;
	size_t i, n = 0, nids = 0;
	int err;

	/* the samples since the last step, kept up to TS_CALIB_SLOTS in all */
	ts_sampler__calibration_read(&ss->sampler, ss->calib + ss->ncalib, &n);
	ss->ncalib += n;
	ids = calloc(ss->nhist + 1, sizeof(*ids));
	if (!ids)
		return;
	for (i = 0; i < ss->nhist; i++)
		if (ss->hist[i].task_id)
			ids[nids++] = ss->hist[i].task_id;
	qsort(ids, nids, sizeof(*ids), cmp_u64);
	err = tls_context__from_words(&ss->tc, ss->calib, ss->ncalib, ids, nids);
	free(ids);
	if (err == -EAGAIN) {
		if (ss->ncalib >= TS_CALIB_SLOTS)
			ss->ncalib = 0;	/* no verdict in that many: start a fresh set */
		return;
	}
	i = ss->ncalib;
	calibration_end(ss);
	if (err) {
		snprintf(ss->info.note, sizeof(ss->info.note),
			 "no DWARF for CONTEXT.current_task_id and calibration failed (%zu "
			 "samples, no word of CONTEXT held task ids): memory and bursts only", i);
		return;
	}
	tls_context__layout(&ss->tc, &l);
	if (ts_sampler__watch(&ss->sampler, ss->op->pid, &l))
		return;
	for (i = 0; i < ss->nhist; i++)
		if (ss->hist[i].blocking && ss->hist[i].task_id)
			ts_sampler__ignore_task(&ss->sampler, ss->op->pid, ss->hist[i].task_id);
	ss->sampling = true;
	ss->info.note[0] = '\0';
	describe_field(ss);
}

static void find_thread_local(struct sampled_session *ss)
{
	struct observed_proc *op = ss->op;
	char path[64];
	int err, i;

	snprintf(path, sizeof(path), "/proc/%d/exe", op->pid);
	if (op->tb.runtime != TS_RT_TOKIO ||
	    tls_context__find(&ss->tc, path)) {
		snprintf(ss->info.note, sizeof(ss->info.note),
			 "no running-task thread-local to sample (%s): memory and bursts only",
			 op->tb.runtime == TS_RT_TOKIO ? "tokio's CONTEXT not found" :
			 op->tb.runtime_name);
		return;
	}
	err = ss->opts.force_calibration ? -ENOENT : tls_context__from_dwarf(&ss->tc, op->dw);
	if (err && !ss->opts.force_calibration)
		err = tls_context__known_layout(&ss->tc, op->tb.version);
	if (err) {
		snprintf(ss->info.note, sizeof(ss->info.note), "no DWARF for "
			 "CONTEXT.current_task_id: calibrating, no samples of its threads yet");
		if (calibration_begin(ss))
			return;
		/* a first go at once; an idle process goes on being calibrated later */
		for (i = 0; i < CALIB_START_STEPS && ss->calibrating; i++) {
			sleep_ns(CALIB_STEP_NS);
			calibration_step(ss);
		}
		return;
	}
	ss->sampling = true;
	describe_field(ss);
}

/*
 * A USDT runtime tells its existing tasks, resources, holders and waiters
 * again only once its semaphores have been still for a while after an
 * attach (20 ms for tests/targets/cruntime): a burst ends before that, and
 * a deadlocked runtime fires nothing else. Its probes stay attached, as in
 * the default mode; with semaphores, a probe costs its runtime nothing
 * once taskscope detaches.
 */
static int start_usdt(struct sampled_session *ss, char *why, size_t whylen)
{
	struct observed_proc *op = ss->op;
	int err;

	ss->continuous = true;
	ss->info.probes_attached = true;
	snprintf(ss->info.note, sizeof(ss->info.note),
		 "USDT runtime: its probes stay attached (it replays its state only to a "
		 "tracer that stays), as in --mode default");
	err = ts_bpf__attach_tokio(ss->bpf, op->pid, &op->tb, TS_MODE_DEFAULT, &op->links);
	if (err) {
		snprintf(why, whylen, "PID %d: attaching USDT probes failed: %s", op->pid,
			 strerror(-err));
		sampled_session__stop(ss);
		return err;
	}
	ss->start_ns = ts_now_ns();
	op->attach_ns = ss->start_ns;
	op->mode = TS_MODE_SAMPLED;
	ss->next_burst_ns = UINT64_MAX;
	ss->next_snapshot_ns = UINT64_MAX;
	return 0;
}

int sampled_session__start(struct sampled_session *ss, struct observed_proc *op,
			   struct ts_bpf *bpf, const struct sampled_opts *opts, char *why,
			   size_t whylen)
{
	struct ts_tls_layout l;
	int err;

	memset(ss, 0, sizeof(*ss));
	ss->op = op;
	ss->bpf = bpf;
	ss->opts = *opts;
	ss->info.sample_hz = opts->sample_hz;
	ss->info.burst_ns = opts->burst_ns;
	ss->info.burst_every_ns = opts->burst_every_ns;
	ss->info.snapshot_every_ns = opts->snapshot_every_ns;
	ss->info.tls_source = "";
	err = ts_sampler__open(&ss->sampler, opts->sample_hz, opts->verbose);
	if (err) {
		snprintf(why, whylen, "opening the cpu-clock sampler failed: %s", strerror(-err));
		return err;
	}
	ss->sampler_open = true;
	ss->info.period_ns = ss->sampler.period_ns;
	if (op->tb.runtime == TS_RT_USDT)
		return start_usdt(ss, why, whylen);
	bpf_link__destroy(bpf->sched_link);	/* attached per burst from now on */
	bpf->sched_link = NULL;
	/* worker launch tasks must be known as "no task" before sampling starts */
	err = memory_snapshot(ss, ts_now_ns());
	if (!err)
		find_thread_local(ss);
	ss->start_ns = ts_now_ns();
	if (!err && ss->sampling && ss->tc.source != TLS_FIELD_CALIBRATED) {
		tls_context__layout(&ss->tc, &l);
		err = ts_sampler__watch(&ss->sampler, op->pid, &l);
	}
	if (err) {
		snprintf(why, whylen, "PID %d: starting sampled observation failed: %s", op->pid,
			 strerror(-err));
		sampled_session__stop(ss);
		return err;
	}
	op->attach_ns = ss->start_ns;
	op->mode = TS_MODE_SAMPLED;
	ss->next_burst_ns = ss->start_ns;
	ss->next_snapshot_ns = ss->start_ns + opts->snapshot_every_ns;
	return 0;
}

uint64_t sampled_session__tick(struct sampled_session *ss, uint64_t now)
{
	uint64_t c0 = thread_cpu_ns();

	if (ss->calibrating && now >= ss->next_calib_ns) {
		calibration_step(ss);
		ss->next_calib_ns = now + 4 * CALIB_STEP_NS;
	}
	if (ss->opts.burst_ns && !ss->continuous && now >= ss->next_burst_ns) {
		burst(ss, ss->opts.burst_ns);
		ss->info.burst_cpu_ns += thread_cpu_ns() - c0;
		c0 = thread_cpu_ns();
		ss->next_burst_ns += ss->opts.burst_every_ns;
		now = ts_now_ns();
		if (ss->next_burst_ns < now)
			ss->next_burst_ns = now + ss->opts.burst_every_ns;
	}
	if (now >= ss->next_snapshot_ns) {
		memory_snapshot(ss, now);
		ss->info.snapshot_cpu_ns += thread_cpu_ns() - c0;
		ss->next_snapshot_ns += ss->opts.snapshot_every_ns;
		if (ss->next_snapshot_ns < now)
			ss->next_snapshot_ns = now + ss->opts.snapshot_every_ns;
	}
	if (!ss->opts.burst_ns || ss->next_snapshot_ns < ss->next_burst_ns)
		return ss->next_snapshot_ns;
	return ss->next_burst_ns;
}

void sampled_session__stop(struct sampled_session *ss)
{
	if (!ss->op)
		return;
	proc_links__detach(&ss->op->links);
	if (ss->sampler_open)
		ts_sampler__destroy(&ss->sampler);
	ss->sampler_open = false;
	free(ss->calib);
	ss->calib = NULL;
	free(ss->hist);
	ss->hist = NULL;
	ss->nhist = 0;
	free(ss->rbuf);
	ss->rbuf = NULL;
	ss->rbuf_cap = 0;
	free(ss->regions);
	ss->regions = NULL;
	ss->regions_cap = 0;
}

/* ---------------------------------------------------------------- model */

/* What the samples say about one task id, summed over its threads. */
struct task_samples {
	uint64_t task;
	uint64_t samples, offcpu_ns, last_ns;
	uint64_t max_run_ns, max_run_offcpu_ns;
	uint32_t top_tid;		/* thread with most of its samples */
	uint64_t top_samples;
	bool matched;
};

static int cmp_task_samples(const void *a, const void *b)
{
	const struct task_samples *x = a, *y = b;

	return (x->task > y->task) - (x->task < y->task);
}

static struct task_samples *by_task(const struct ts_sample_read *r, size_t *n)
{
	struct task_samples *v = calloc(r->ncounts + 1, sizeof(*v));
	size_t i, m = 0;

	*n = 0;
	if (!v)
		return NULL;
	for (i = 0; i < r->ncounts; i++) {
		v[i].task = r->counts[i].key.task;
		v[i].samples = r->counts[i].c.samples;
		v[i].offcpu_ns = r->counts[i].c.offcpu_ns;
		v[i].last_ns = r->counts[i].c.last_ns;
		v[i].max_run_ns = r->counts[i].c.max_run_ns;
		v[i].max_run_offcpu_ns = r->counts[i].c.max_run_offcpu_ns;
		v[i].top_tid = r->counts[i].key.tid;
		v[i].top_samples = r->counts[i].c.samples;
	}
	qsort(v, r->ncounts, sizeof(*v), cmp_task_samples);
	for (i = 0; i < r->ncounts; i++) {
		struct task_samples *d = &v[m];

		if (m && v[m - 1].task == v[i].task) {
			d = &v[m - 1];
			d->samples += v[i].samples;
			d->offcpu_ns += v[i].offcpu_ns;
			if (v[i].last_ns > d->last_ns)
				d->last_ns = v[i].last_ns;
			if (v[i].max_run_ns > d->max_run_ns) {
				d->max_run_ns = v[i].max_run_ns;
				d->max_run_offcpu_ns = v[i].max_run_offcpu_ns;
			}
			if (v[i].top_samples > d->top_samples) {
				d->top_samples = v[i].top_samples;
				d->top_tid = v[i].top_tid;
			}
			continue;
		}
		v[m++] = v[i];
	}
	*n = m;
	return v;
}

static struct task_samples *find_samples(struct task_samples *v, size_t n, uint64_t task)
{
	struct task_samples key = { .task = task };

	return task ? bsearch(&key, v, n, sizeof(*v), cmp_task_samples) : NULL;
}

static uint64_t header_of(const struct ts_process *p, uint64_t task_id)
{
	size_t i;

	for (i = 0; task_id && i < p->ntasks; i++)
		if (p->tasks[i].task_id == task_id && p->tasks[i].state != TS_TASK_DONE)
			return p->tasks[i].header;
	return 0;
}

static const struct ts_sample_thread_rec *run_of(const struct ts_sample_read *r, uint64_t task)
{
	size_t i;

	for (i = 0; task && i < r->nthreads; i++)
		if (r->threads[i].st.task == task)
			return &r->threads[i];
	return NULL;
}

static bool thread_alive(pid_t pid, uint32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%u", pid, tid);
	return access(path, F_OK) == 0;
}

static uint64_t scaled(uint64_t v, double k)
{
	return (uint64_t)((double)v * k + 0.5);
}

static enum ts_task_state state_of_word(const struct task_layout *l, uint64_t w)
{
	if (w & l->complete)
		return TS_TASK_DONE;
	if (w & l->running)
		return TS_TASK_RUNNING;
	if (w & l->notified)
		return TS_TASK_SCHEDULED;
	return TS_TASK_IDLE;
}

/*
 * Tasks: counts from the bursts scaled to the window, busy time from the
 * samples, state from memory, time in state from the snapshots.
 */
static void model_tasks(struct sampled_session *ss, struct ts_process *p,
			const struct ts_sample_read *r, struct task_samples *ts, size_t nts,
			double k)
{
	const struct task_layout *l = &ss->op->tb.layout;
	uint64_t now = p->snapshot_ns, period = ss->info.period_ns;
	size_t i;

	for (i = 0; i < p->ntasks; i++) {
		struct ts_task *t = &p->tasks[i];
		const struct sampled_task_hist *h = hist_find(ss, t->header);
		const struct ts_sample_thread_rec *run;
		struct task_samples *s = find_samples(ts, nts, t->task_id);
		uint64_t quiet;

		t->burst_max_poll_ns = t->st.max_poll_ns;
		t->st.polls = scaled(t->st.polls, k);
		t->st.wakes = scaled(t->st.wakes, k);
		t->st.self_wakes = scaled(t->st.self_wakes, k);
		t->st.scheduled_ns = scaled(t->st.scheduled_ns, k);
		t->st.idle_ns = scaled(t->st.idle_ns, k);
		if (ss->sampling) {
			t->st.busy_ns = 0;
			if (s) {
				s->matched = true;
				t->cpu_samples = s->samples;
				t->offcpu_in_polls_ns = s->offcpu_ns;
				t->st.busy_ns = s->samples * period + s->offcpu_ns;
				if (s->max_run_ns > t->st.max_poll_ns)
					t->st.max_poll_ns = s->max_run_ns;
				if (!t->st.last_worker_tid)
					t->st.last_worker_tid = s->top_tid;
			}
		} else {
			t->st.busy_ns = scaled(t->st.busy_ns, k);
		}
		if (!t->in_memory || !h)
			continue;
		t->state_from_memory = false;
		t->state = state_of_word(l, t->state_word);
		run = ss->sampling ? run_of(r, t->task_id) : NULL;
		if (run && t->state != TS_TASK_DONE) {
			t->state = TS_TASK_RUNNING;
			t->since_attach = false;
			t->in_state_ns = now > run->st.run_start_ns ? now - run->st.run_start_ns : 0;
			continue;
		}
		if (t->state == TS_TASK_DONE || t->state == TS_TASK_RUNNING) {
			t->since_attach = false;
			t->in_state_ns = 0;
			continue;
		}
		/*
		 * Idle or woken: for as long as nothing says otherwise. Memory
		 * unchanged since some snapshot, no burst saw a poll, no sample
		 * found it polled since: a lower bound, labelled so.
		 */
		quiet = h->unchanged_since_ns;
		if (h->active_ns > quiet)
			quiet = h->active_ns;
		if (s && s->last_ns > quiet)
			quiet = s->last_ns;
		t->since_attach = quiet <= ss->start_ns;
		/* unchanged since before the window: as long as the window, at least */
		if (t->since_attach)
			quiet = ss->start_ns;
		t->in_state_ns = now > quiet ? now - quiet : 0;
	}
	for (i = 0; i < nts; i++)
		if (!ts[i].matched)
			ss->info.ended_task_busy_ns += ts[i].samples * period + ts[i].offcpu_ns;
}

static const struct ts_worker *burst_worker(const struct ts_worker *v, size_t n, uint32_t tid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].tid == tid)
			return &v[i];
	return NULL;
}

/* Already counted as a worker by the precise snapshot (it polled in a burst)? */
static bool nonworker_counted(const struct ts_worker *old, size_t nold, uint32_t tid)
{
	const struct ts_worker *w = burst_worker(old, nold, tid);

	return w && w->st.polls;
}

/*
 * Workers from the samples: busy = samples inside polls + off-CPU inside
 * them; the current run (the task seen on every observation of the thread
 * since run_start) stands for the poll in progress, the longest closed run
 * for the longest poll. Polls per worker come from the bursts, scaled.
 */
static int model_workers(struct sampled_session *ss, struct ts_process *p,
			 const struct ts_sample_read *r, double k)
{
	struct ts_worker *old = p->workers;
	size_t nold = p->nworkers, i;
	uint64_t period = ss->info.period_ns;

	p->workers = NULL;
	p->nworkers = 0;
	for (i = 0; i < r->nthreads; i++) {
		const struct ts_sample_thread *th = &r->threads[i].st;
		uint32_t tid = r->threads[i].tid;
		const struct ts_worker *bw = burst_worker(old, nold, tid);
		struct ts_worker *w;
		char comm[32] = "";

		if (!thread_alive(p->pid, tid))
			continue;
		proc_comm(p->pid, (pid_t)tid, comm, sizeof(comm));
		if (!th->poll_samples && !th->offcpu_in_poll_ns && !th->max_run_task && !th->task &&
		    !bw && strncmp(comm, "tokio-runtime-w", 15))
			continue;
		w = ts_process__add_worker(p);
		if (!w) {
			free(old);
			return -ENOMEM;
		}
		w->tid = tid;
		snprintf(w->comm, sizeof(w->comm), "%s", comm);
		w->seen_by_probe = true;
		w->st.tgid = (uint32_t)p->pid;
		w->st.first_seen_ns = ss->start_ns;
		w->st.polls = bw ? scaled(bw->st.polls, k) : 0;
		w->st.busy_ns = th->poll_samples * period + th->offcpu_in_poll_ns;
		w->st.offcpu_poll_total_ns = th->offcpu_in_poll_ns;
		if (th->task) {
			w->st.depth = 1;
			w->st.header = header_of(p, th->task);
			w->st.poll_start_ns = th->run_start_ns;
			w->st.offcpu_in_poll_ns = th->run_offcpu_ns;
			w->st.offcpu_start_ns = th->offcpu_start_ns;
			w->current_poll_ns = p->snapshot_ns > th->run_start_ns ?
					     p->snapshot_ns - th->run_start_ns : 0;
		}
		w->st.max_poll_ns = th->max_run_ns;
		w->st.max_poll_header = header_of(p, th->max_run_task);
		w->st.max_poll_offcpu_ns = th->max_run_offcpu_ns;
		if (bw && bw->st.max_poll_ns > w->st.max_poll_ns) {
			w->st.max_poll_ns = bw->st.max_poll_ns;
			w->st.max_poll_header = bw->st.max_poll_header;
			w->st.max_poll_offcpu_ns = bw->st.max_poll_offcpu_ns;
		}
		/* a current_thread runtime polls on whatever thread calls block_on */
		if (strncmp(comm, "tokio-runtime-w", 15) && !nonworker_counted(old, nold, tid) &&
		    (th->poll_samples || th->offcpu_in_poll_ns || th->task))
			p->nworker_threads++;
	}
	free(old);
	return 0;
}

/* No thread-local: the bursts' workers, scaled. */
static void scale_burst_workers(struct ts_process *p, double k)
{
	size_t i;

	for (i = 0; i < p->nworkers; i++) {
		struct ts_worker *w = &p->workers[i];

		w->st.polls = scaled(w->st.polls, k);
		w->st.busy_ns = scaled(w->st.busy_ns, k);
		w->st.offcpu_poll_total_ns = scaled(w->st.offcpu_poll_total_ns, k);
		w->st.depth = 0;
		w->current_poll_ns = 0;
	}
}

int sampled_session__snapshot(struct sampled_session *ss, struct ts_process *p)
{
	struct ts_sample_read r = {};
	struct task_samples *ts = NULL;
	size_t nts = 0, i;
	double k = 0;
	int err;

	err = memory_snapshot(ss, ts_now_ns());
	if (err)
		return err;
	if (ss->sampling) {
		err = ts_sampler__read(&ss->sampler, ss->op->pid, &r);
		if (err)
			return err;
		ts = by_task(&r, &nts);
		if (!ts) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	err = observed_proc__snapshot(ss->op, ss->bpf, true, p);
	if (err)
		goto cleanup;
	p->probe_mode = "sampled";
	p->sampled = &ss->info;
	if (ss->continuous)
		k = 1;	/* probes attached all along: counts, not estimates */
	else if (ss->info.burst_total_ns)
		k = (double)p->observed_ns / (double)ss->info.burst_total_ns;
	ss->info.scale = k;
	ss->info.ended_task_busy_ns = 0;
	ss->info.tls_fail = r.counters[TS_SCNT_TLS_FAIL];
	ss->info.samples = 0;
	ss->info.poll_samples = 0;
	for (i = 0; i < r.nthreads; i++) {
		ss->info.samples += r.threads[i].st.samples;
		ss->info.poll_samples += r.threads[i].st.poll_samples;
	}
	model_tasks(ss, p, &r, ts, nts, k);
	if (ss->sampling)
		err = model_workers(ss, p, &r, k);
	else if (!ss->continuous)
		scale_burst_workers(p, k);
cleanup:
	free(ts);
	ts_sample_read__free(&r);
	return err;
}
