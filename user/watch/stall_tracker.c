// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stall_tracker.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void stall_key(const struct ts_process *p, const struct ts_finding *f, char *key, size_t len)
{
	const char *kind = ts_finding_kind_name(f->kind);
	uint64_t hdr[16];
	size_t i, n, o;

	if (f->kind == TS_FIND_DEADLOCK) {
		/* a cycle is the same cycle from whichever member it is told */
		n = f->count < 16 ? (size_t)f->count : 16;
		for (i = 0; i < n; i++)
			hdr[i] = f->members[i] < p->ntasks ? p->tasks[f->members[i]].header : 0;
		qsort(hdr, n, sizeof(*hdr), cmp_u64);
		o = (size_t)snprintf(key, len, "%s", kind);
		for (i = 0; i < n && o < len; i++)
			o += (size_t)snprintf(key + o, len - o, "%s0x%" PRIx64, i ? "," : " ",
					      hdr[i]);
		return;
	}
	if (f->task < p->ntasks) {
		/* the header, not the tokio Id: USDT and async-task tasks have none */
		snprintf(key, len, "%s 0x%" PRIx64, kind, p->tasks[f->task].header);
		return;
	}
	snprintf(key, len, "%s %s", kind, f->name);	/* per future type */
}

static struct tracked_stall *find(struct stall_tracker *tr, pid_t pid, const char *key)
{
	size_t i;

	for (i = 0; i < tr->n; i++)
		if (tr->v[i].pid == pid && !strcmp(tr->v[i].key, key))
			return &tr->v[i];
	return NULL;
}

static int push_event(struct stall_event **ev, size_t *nev, enum stall_event_kind what,
		      const struct tracked_stall *s, size_t finding)
{
	struct stall_event *nv = realloc(*ev, (*nev + 1) * sizeof(**ev));

	if (!nv)
		return -ENOMEM;
	*ev = nv;
	nv[*nev].what = what;
	nv[*nev].stall = *s;
	nv[*nev].finding = finding;
	(*nev)++;
	return 0;
}

int stall_tracker__update(struct stall_tracker *tr, pid_t pid, const struct ts_process *p,
			  const struct ts_finding *f, size_t nf, uint64_t now,
			  struct stall_event **ev, size_t *nev)
{
	char key[TS_STALL_KEY_LEN];
	size_t i;

	for (i = 0; i < nf; i++) {
		struct tracked_stall *s;

		stall_key(p, &f[i], key, sizeof(key));
		s = find(tr, pid, key);
		if (s) {
			s->last_ns = now;
			continue;
		}
		if (tr->n == tr->cap) {
			size_t ncap = tr->cap ? tr->cap * 2 : 16;
			struct tracked_stall *nv = realloc(tr->v, ncap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			tr->v = nv;
			tr->cap = ncap;
		}
		s = &tr->v[tr->n++];
		memset(s, 0, sizeof(*s));
		s->pid = pid;
		snprintf(s->key, sizeof(s->key), "%s", key);
		s->kind = f[i].kind;
		snprintf(s->name, sizeof(s->name), "%s", f[i].name);
		s->first_ns = s->last_ns = now;
		s->reported = true;
		if (push_event(ev, nev, STALL_BEGAN, s, i))
			return -ENOMEM;
	}
	return 0;
}

int stall_tracker__expire(struct stall_tracker *tr, pid_t pid, uint64_t now, bool gone,
			  struct stall_event **ev, size_t *nev)
{
	size_t i = 0;

	while (i < tr->n) {
		struct tracked_stall *s = &tr->v[i];

		if (s->pid != pid || (!gone && now - s->last_ns < tr->end_after_ns)) {
			i++;
			continue;
		}
		if (push_event(ev, nev, STALL_ENDED, s, SIZE_MAX))
			return -ENOMEM;
		tr->v[i] = tr->v[--tr->n];	/* order does not matter */
	}
	return 0;
}

void stall_tracker__free(struct stall_tracker *tr)
{
	free(tr->v);
	memset(tr, 0, sizeof(*tr));
}
