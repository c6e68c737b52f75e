// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * From the kernel's per-path statistics to a profile: rows per await
 * point in the user's code, percentiles from log2 histograms, folded
 * stacks. Pure: no BPF, no process; tested in tests/unit/test_profile.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "intern.h"
#include "profile.h"

uint64_t ts_prof_hist_quantile(const uint32_t *hist, size_t nslots, double q, uint64_t max_ns)
{
	uint64_t total = 0, seen = 0, need, bound;
	size_t s;

	for (s = 0; s < nslots; s++)
		total += hist[s];
	if (!total)
		return 0;
	/* the smallest bucket holding the ceil(q * total)-th wait */
	need = (uint64_t)(q * (double)total);
	if ((double)need < q * (double)total)
		need++;
	if (!need)
		need = 1;
	for (s = 0; s < nslots; s++) {
		seen += hist[s];
		if (seen >= need)
			break;
	}
	if (s >= nslots)
		s = nslots - 1;
	/* bucket s holds [2^s, 2^(s+1)) us; bucket 0 [0, 2) us */
	bound = (1ULL << (s + 1)) * 1000;
	return max_ns && bound > max_ns ? max_ns : bound;
}

const char *ts_prof_path_kind(const struct ts_prof_tables *t, const struct ts_prof_key *k)
{
	const struct ts_prof_await_point *a;
	uint32_t id;

	if (!k->depth || k->depth > TS_PROF_MAX_DEPTH)
		return "start";
	id = k->ids[k->depth - 1];
	if (id >= t->nawaits)
		return "other";
	a = &t->awaits[id];
	if (!a->leaf)
		return "other";	/* deeper than the walk goes */
	switch (a->leaf_kind) {
	case TS_LEAF_TIMER: return "timer";
	case TS_LEAF_IO: return "io";
	case TS_LEAF_SEMAPHORE: return "semaphore";
	case TS_LEAF_MUTEX: return "mutex";
	case TS_LEAF_RWLOCK: return "rwlock";
	case TS_LEAF_CHAN_RECV:
		return a->awaitee && !strncmp(a->awaitee, "tokio::sync::oneshot::", 22) ?
		       "oneshot" : "channel recv";
	case TS_LEAF_CHAN_SEND: return "channel send";
	case TS_LEAF_JOIN: return "join";
	case TS_LEAF_YIELD: return "yield";
	case TS_LEAF_NOTIFY: return "notify";
	case TS_LEAF_PENDING: return "pending";
	default: return "other";
	}
}

int ts_prof_path_site(const struct ts_prof_tables *t, const struct ts_prof_key *k, bool *external)
{
	int i, depth = k->depth < TS_PROF_MAX_DEPTH ? (int)k->depth : TS_PROF_MAX_DEPTH;

	*external = false;
	for (i = depth - 1; i >= 0; i--)
		if (k->ids[i] < t->nawaits && !t->awaits[k->ids[i]].external)
			return i;
	*external = depth > 0;
	return depth ? 0 : -1;
}

static struct ts_prof_site *site_for(struct ts_profile *prof, int32_t await_id,
				     const char *future)
{
	struct ts_prof_site *s;
	size_t i;

	for (i = 0; i < prof->nsites; i++) {
		s = &prof->sites[i];
		/* rows without an await point are told apart by future type */
		if (s->await_id == await_id && (await_id >= 0 || s->future == future))
			return s;
	}
	s = ts_array_add(&prof->sites, &prof->nsites, &prof->cap_sites);
	if (s)
		s->await_id = await_id;
	return s;
}

static int cmp_site(const void *a, const void *b)
{
	const struct ts_prof_site *x = a, *y = b;

	if (x->wait_ns != y->wait_ns)
		return (x->wait_ns < y->wait_ns) - (x->wait_ns > y->wait_ns);
	if (x->busy_ns != y->busy_ns)
		return (x->busy_ns < y->busy_ns) - (x->busy_ns > y->busy_ns);
	return (x->await_id > y->await_id) - (x->await_id < y->await_id);
}

int ts_profile__aggregate(struct ts_profile *prof, const struct ts_prof_tables *t,
			  const struct ts_prof_path *paths, size_t npaths)
{
	size_t i, s;

	for (i = 0; i < npaths; i++) {
		const struct ts_prof_path *p = &paths[i];
		const char *future = p->key.poll_idx < t->npolls ? t->poll_names[p->key.poll_idx] :
				     ts_intern("?");
		struct ts_prof_site *site;
		bool external;
		int at = ts_prof_path_site(t, &p->key, &external);
		int32_t id = at >= 0 ? (int32_t)p->key.ids[at] : TS_PROF_SITE_FIRST_POLL;

		if (id >= (int32_t)t->nawaits)
			continue;	/* tables and map out of step: not ours */
		if (id < 0 && p->key.poll_idx < t->npolls && t->polls &&
		    t->polls[p->key.poll_idx].sm == TS_PROF_NONE)
			id = TS_PROF_SITE_NO_AWAITS;
		site = site_for(prof, id, future);
		if (!site)
			return -ENOMEM;
		if (id >= 0) {
			site->func = t->awaits[id].func;
			site->file = t->awaits[id].file;
			site->line = t->awaits[id].line;
		} else {
			site->func = future;
			site->file = ts_intern("");
		}
		site->external = external;
		if (!site->kind || p->st.wait_ns > site->kind_wait_ns || !site->future) {
			site->kind = ts_prof_path_kind(t, &p->key);
			site->kind_wait_ns = p->st.wait_ns;
			site->future = future;
		}
		site->waits += p->st.waits;
		site->wait_ns += p->st.wait_ns;
		site->queued_ns += p->st.queued_ns;
		if (p->st.max_wait_ns > site->max_wait_ns)
			site->max_wait_ns = p->st.max_wait_ns;
		site->polls += p->st.polls;
		site->busy_ns += p->st.busy_ns;
		if (p->st.max_busy_ns > site->max_busy_ns)
			site->max_busy_ns = p->st.max_busy_ns;
		for (s = 0; s < TS_PROF_HIST_SLOTS; s++)
			site->hist[s] += p->st.hist[s];
		prof->polls += p->st.polls;
	}
	for (i = 0; i < prof->nsites; i++) {
		struct ts_prof_site *site = &prof->sites[i];

		site->p50_ns = ts_prof_hist_quantile(site->hist, TS_PROF_HIST_SLOTS, 0.5,
						     site->max_wait_ns);
		site->p99_ns = ts_prof_hist_quantile(site->hist, TS_PROF_HIST_SLOTS, 0.99,
						     site->max_wait_ns);
	}
	if (prof->nsites)
		qsort(prof->sites, prof->nsites, sizeof(*prof->sites), cmp_site);
	return 0;
}

void ts_profile__free(struct ts_profile *prof)
{
	free(prof->sites);
	free(prof->cont);
	free(prof->types);
	prof->sites = NULL;
	prof->cont = NULL;
	prof->types = NULL;
	prof->nsites = prof->ncont = prof->ntypes = 0;
	prof->cap_sites = prof->cap_cont = prof->cap_types = 0;
}

/* Copies s into buf, ';' (the folded separator) replaced by ':'. */
static size_t folded_safe(char *buf, size_t len, const char *s)
{
	size_t n = 0;

	for (; s && *s && n + 1 < len; s++)
		buf[n++] = *s == ';' ? ':' : *s == '\n' ? ' ' : *s;
	if (len)
		buf[n] = '\0';
	return n;
}

void ts_prof_frame_label(const struct ts_prof_await_point *a, char *buf, size_t len)
{
	char tmp[512];

	if (a->file && a->file[0])
		snprintf(tmp, sizeof(tmp), "%s (%s:%u)", a->func, a->file, a->line);
	else
		snprintf(tmp, sizeof(tmp), "%s", a->func);
	folded_safe(buf, len, tmp);
}

void ts_prof_write_folded(FILE *out, const struct ts_prof_tables *t,
			  const struct ts_prof_path *paths, size_t npaths)
{
	char stack[4096], label[512];
	size_t i, n;
	uint32_t d;

	for (i = 0; i < npaths; i++) {
		const struct ts_prof_path *p = &paths[i];
		uint64_t wait_us = p->st.wait_ns / 1000, busy_us = p->st.busy_ns / 1000;

		if (p->key.depth > TS_PROF_MAX_DEPTH)
			continue;
		n = folded_safe(stack, sizeof(stack), p->key.poll_idx < t->npolls ?
				t->poll_names[p->key.poll_idx] : "?");
		for (d = 0; d < p->key.depth && n + 2 < sizeof(stack); d++) {
			if (p->key.ids[d] >= t->nawaits)
				break;
			ts_prof_frame_label(&t->awaits[p->key.ids[d]], label, sizeof(label));
			n += snprintf(stack + n, sizeof(stack) - n, ";%s", label);
		}
		if (n >= sizeof(stack))
			continue;
		if (wait_us)
			fprintf(out, "%s;[%s wait] %llu\n", stack, ts_prof_path_kind(t, &p->key),
				(unsigned long long)wait_us);
		if (busy_us)
			fprintf(out, "%s;[busy] %llu\n", stack, (unsigned long long)busy_us);
	}
}
