/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sampler.h"
#include "sample.skel.h"

#define COUNT_BATCH	256	/* sample_counts entries per batch lookup */

static int perf_open_cpu_clock(int cpu, uint64_t period_ns)
{
	struct perf_event_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	/* cpu-clock counts nanoseconds: a fixed period is a fixed share of CPU time */
	attr.sample_period = period_ns;
	attr.freq = 0;
	fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Online CPUs from /sys ("0-1,4"); falls back to every possible CPU. */
static int online_cpus(bool **online, int *n)
{
	int ncpu = libbpf_num_possible_cpus(), a, b, i;
	char buf[512], *p;
	FILE *f;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	*online = calloc((size_t)ncpu, sizeof(**online));
	if (!*online)
		return -ENOMEM;
	*n = ncpu;
	f = fopen("/sys/devices/system/cpu/online", "re");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		for (i = 0; i < ncpu; i++)
			(*online)[i] = true;
		return 0;
	}
	fclose(f);
	for (p = strtok(buf, ",\n"); p; p = strtok(NULL, ",\n")) {
		if (sscanf(p, "%d-%d", &a, &b) != 2) {
			if (sscanf(p, "%d", &a) != 1)
				continue;
			b = a;
		}
		for (i = a; i <= b && i < ncpu; i++)
			if (i >= 0)
				(*online)[i] = true;
	}
	return 0;
}

static int add_link(struct ts_sampler *s, struct bpf_link *l)
{
	if (!l)
		return -errno;
	s->links[s->nlinks++] = l;
	return 0;
}

int ts_sampler__open(struct ts_sampler *s, unsigned int hz, bool verbose)
{
	bool *online = NULL;
	int ncpu = 0, cpu, err;

	memset(s, 0, sizeof(*s));
	if (!hz || hz > TS_SAMPLE_HZ_MAX)
		return -EINVAL;
	s->hz = hz;
	s->period_ns = 1000000000ULL / hz;
	s->skel = sample_bpf__open();
	if (!s->skel)
		return -errno ? -errno : -EINVAL;
	err = sample_bpf__load(s->skel);
	if (err)
		goto cleanup;
	err = online_cpus(&online, &ncpu);
	if (err)
		goto cleanup;
	s->links = calloc((size_t)ncpu + 1, sizeof(*s->links));
	s->perf_fds = calloc((size_t)ncpu, sizeof(*s->perf_fds));
	if (!s->links || !s->perf_fds) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (cpu = 0; cpu < ncpu; cpu++) {
		int fd;

		if (!online[cpu])
			continue;
		fd = perf_open_cpu_clock(cpu, s->period_ns);
		if (fd == -ENODEV)
			continue;	/* went offline meanwhile */
		if (fd < 0) {
			err = fd;
			goto cleanup;
		}
		s->perf_fds[s->nperf++] = fd;
		err = add_link(s, bpf_program__attach_perf_event(s->skel->progs.sample_cpu, fd));
		if (err)
			goto cleanup;
	}
	err = add_link(s, bpf_program__attach(s->skel->progs.sample_switch));
	if (err)
		goto cleanup;
	free(online);
	(void)verbose;	/* libbpf's print callback is set by ts_bpf__open_load */
	return 0;
cleanup:
	free(online);
	ts_sampler__destroy(s);
	return err ? err : -EINVAL;
}

void ts_sampler__destroy(struct ts_sampler *s)
{
	int i;

	for (i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	for (i = 0; i < s->nperf; i++)
		close(s->perf_fds[i]);
	free(s->links);
	free(s->perf_fds);
	sample_bpf__destroy(s->skel);
	memset(s, 0, sizeof(*s));
}

int ts_sampler__watch(struct ts_sampler *s, pid_t pid, const struct ts_tls_layout *l)
{
	uint32_t key = (uint32_t)pid;

	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.sample_procs), &key, l, BPF_ANY))
		return -errno;
	return 0;
}

int ts_sampler__ignore_task(struct ts_sampler *s, pid_t pid, uint64_t task_id)
{
	struct ts_sample_key k = { .tgid = (uint32_t)pid, .task = task_id };
	uint8_t one = 1;

	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.sample_ignore), &k, &one, BPF_ANY))
		return -errno;
	return 0;
}

static void delete_keys_of(int fd, pid_t pid)
{
	struct ts_sample_key ck, next_ck;
	void *prev = NULL;

	/* delete behind the cursor: get_next_key of a deleted key restarts */
	while (bpf_map_get_next_key(fd, prev, &next_ck) == 0) {
		ck = next_ck;
		if (ck.tgid == (uint32_t)pid) {
			bpf_map_delete_elem(fd, &ck);
			continue;
		}
		prev = &ck;
	}
}

void ts_sampler__unwatch(struct ts_sampler *s, pid_t pid)
{
	int tfd = bpf_map__fd(s->skel->maps.sample_threads);
	uint32_t key = (uint32_t)pid, tid, next_tid;
	struct ts_sample_thread st;
	void *prev = NULL;

	bpf_map_delete_elem(bpf_map__fd(s->skel->maps.sample_procs), &key);
	/* delete behind the cursor: get_next_key of a deleted key restarts */
	while (bpf_map_get_next_key(tfd, prev, &next_tid) == 0) {
		tid = next_tid;
		if (!bpf_map_lookup_elem(tfd, &tid, &st) && st.tgid == (uint32_t)pid) {
			bpf_map_delete_elem(tfd, &tid);
			continue;
		}
		prev = &tid;
	}
	delete_keys_of(bpf_map__fd(s->skel->maps.sample_counts), pid);
	delete_keys_of(bpf_map__fd(s->skel->maps.sample_ignore), pid);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int ts_sampler__read(struct ts_sampler *s, pid_t pid, struct ts_sample_read *out)
{
	int tfd = bpf_map__fd(s->skel->maps.sample_threads);
	int cfd = bpf_map__fd(s->skel->maps.sample_counts);
	int kfd = bpf_map__fd(s->skel->maps.sample_counters);
	int ncpu = libbpf_num_possible_cpus(), c;
	struct ts_sample_key ck, next_ck;
	uint32_t tid, next_tid, k;
	struct ts_sample_key kb[COUNT_BATCH];
	struct ts_sample_count vb[COUNT_BATCH];
	uint32_t in_batch = 0, out_batch = 0;
	uint64_t *vals = NULL;
	void *prev = NULL;
	size_t cap = 0;
	bool first;

	memset(out, 0, sizeof(*out));
	out->read_ns = mono_ns();
	while (bpf_map_get_next_key(tfd, prev, &next_tid) == 0) {
		struct ts_sample_thread_rec *nv;
		struct ts_sample_thread st;

		tid = next_tid;
		prev = &tid;
		if (bpf_map_lookup_elem(tfd, &tid, &st) || st.tgid != (uint32_t)pid)
			continue;
		nv = realloc(out->threads, (out->nthreads + 1) * sizeof(*nv));
		if (!nv)
			goto nomem;
		out->threads = nv;
		nv[out->nthreads].tid = tid;
		nv[out->nthreads++].st = st;
	}
	/* thousands of (thread, task) pairs: batches, not two syscalls each */
	for (first = true;; first = false) {
		uint32_t count = COUNT_BATCH, k;
		int rc = bpf_map_lookup_batch(cfd, first ? NULL : &in_batch, &out_batch, kb, vb,
					      &count, NULL);

		if (rc && rc != -ENOENT)
			goto fallback;
		for (k = 0; k < count; k++) {
			if (kb[k].tgid != (uint32_t)pid)
				continue;
			if (out->ncounts == cap) {
				struct ts_sample_count_rec *nv;

				/* grow by doubling: a busy process has thousands of pairs */
				cap = cap ? 2 * cap : 256;
				nv = realloc(out->counts, cap * sizeof(*nv));
				if (!nv)
					goto nomem;
				out->counts = nv;
			}
			out->counts[out->ncounts].key = kb[k];
			out->counts[out->ncounts++].c = vb[k];
		}
		if (rc == -ENOENT)
			break;
		in_batch = out_batch;
	}
	goto counters;
fallback:
	/* a kernel without batch lookups on this map type */
	out->ncounts = 0;
	prev = NULL;
	while (bpf_map_get_next_key(cfd, prev, &next_ck) == 0) {
		struct ts_sample_count_rec *nv;
		struct ts_sample_count cnt;

		ck = next_ck;
		prev = &ck;
		if (ck.tgid != (uint32_t)pid || bpf_map_lookup_elem(cfd, &ck, &cnt))
			continue;
		if (out->ncounts == cap) {
			cap = cap ? 2 * cap : 256;
			nv = realloc(out->counts, cap * sizeof(*nv));
			if (!nv)
				goto nomem;
			out->counts = nv;
		}
		out->counts[out->ncounts].key = ck;
		out->counts[out->ncounts++].c = cnt;
	}
counters:
	if (ncpu > 0 && (vals = calloc((size_t)ncpu, sizeof(*vals)))) {
		for (k = 0; k < TS_SCNT_MAX; k++) {
			if (bpf_map_lookup_elem(kfd, &k, vals))
				continue;
			for (c = 0; c < ncpu; c++)
				out->counters[k] += vals[c];
		}
		free(vals);
	}
	return 0;
nomem:
	ts_sample_read__free(out);
	return -ENOMEM;
}

void ts_sample_read__free(struct ts_sample_read *r)
{
	free(r->threads);
	free(r->counts);
	memset(r, 0, sizeof(*r));
}

int ts_sampler__set_hz(struct ts_sampler *s, unsigned int hz)
{
	uint64_t period;
	int i;

	if (!hz || hz > TS_SAMPLE_HZ_MAX)
		return -EINVAL;
	period = 1000000000ULL / hz;
	for (i = 0; i < s->nperf; i++)
		if (ioctl(s->perf_fds[i], PERF_EVENT_IOC_PERIOD, &period))
			return -errno;
	s->hz = hz;
	s->period_ns = period;
	return 0;
}

int ts_sampler__calibration_read(struct ts_sampler *s, struct ts_calib_sample *out, size_t *n)
{
	int fd = bpf_map__fd(s->skel->maps.calib_samples);
	struct ts_calib_sample zero = {};
	uint32_t k;

	*n = 0;
	for (k = 0; k < TS_CALIB_SLOTS; k++) {
		if (bpf_map_lookup_elem(fd, &k, &out[*n]) || !out[*n].tid)
			continue;
		(*n)++;
		bpf_map_update_elem(fd, &k, &zero, BPF_ANY);
	}
	return 0;
}
