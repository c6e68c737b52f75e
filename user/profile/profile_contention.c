// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Contention per mutex / rwlock / semaphore over the profile window, from
 * periodic memory snapshots (await chains and the wait-for graph): who
 * waits, how many per snapshot, who holds it. Pure over task models.
 */
#include <stdio.h>
#include <string.h>

#include "array.h"
#include "profile.h"
#include "wait_graph.h"

static bool is_lock(const char *kind)
{
	return kind && (!strcmp(kind, "mutex") || !strcmp(kind, "rwlock") ||
			!strcmp(kind, "semaphore"));
}

/* Where task t awaits: the deepest frame of its chain in the user's crate. */
static void await_line(const struct ts_task *t, char *buf, size_t len)
{
	int i;

	buf[0] = '\0';
	if (!t->chain)
		return;
	for (i = t->chain->nframes - 1; i >= 0; i--) {
		const struct ts_await_frame *f = &t->chain->frames[i];

		if (!f->external && f->line) {
			snprintf(buf, len, "%s:%u", f->file, f->line);
			return;
		}
	}
}

/* Adds item to a ", "-separated list unless it is there (whole items), when it fits. */
static void add_item(char *list, size_t len, const char *item)
{
	size_t n = strlen(list), k = strlen(item);
	const char *at = list;

	if (!k)
		return;
	while ((at = strstr(at, item)) != NULL) {
		if ((at == list || at[-1] == ' ') && (at[k] == ',' || at[k] == '\0'))
			return;
		at += k;
	}
	if (n + k + 3 >= len)
		return;
	snprintf(list + n, len - n, "%s%s", n ? ", " : "", item);
}

int ts_profile__add_snapshot(struct ts_profile *prof, const struct ts_process *p)
{
	struct ts_wait_graph g;
	size_t i, k;

	if (ts_wait_graph__build(&g, p))
		return -1;
	prof->snapshots++;
	for (i = 0; i < g.nres; i++) {
		const struct ts_wres *r = &g.res[i];
		struct ts_prof_contention *c = NULL;

		if (!is_lock(r->kind))
			continue;
		for (k = 0; k < prof->ncont; k++)
			if (prof->cont[k].object == r->object)
				c = &prof->cont[k];
		if (!c) {
			if (!r->nwaiters)
				continue;	/* never contended (yet): not listed */
			c = ts_array_add(&prof->cont, &prof->ncont, &prof->cap_cont);
			if (!c)
				break;
			c->object = r->object;
			c->kind = r->kind;
			c->min_waiters = r->nwaiters;
			snprintf(c->type, sizeof(c->type), "%s", r->type);
		}
		c->snapshots++;
		c->sum_waiters += r->nwaiters;
		if (r->nwaiters > c->max_waiters)
			c->max_waiters = r->nwaiters;
		if (r->nwaiters < c->min_waiters)
			c->min_waiters = r->nwaiters;
		if (r->nholders) {
			for (k = 0; k < r->nlinks; k++) {
				const struct ts_res_link *l = &g.links[r->first + k];
				char id[24];

				if (l->role != TS_ROLE_HOLDS || l->task >= p->ntasks)
					continue;
				snprintf(id, sizeof(id), "%llu",
					 (unsigned long long)p->tasks[l->task].task_id);
				add_item(c->holders, sizeof(c->holders), id);
			}
		}
		for (k = 0; k < r->nlinks; k++) {
			const struct ts_res_link *l = &g.links[r->first + k];
			const struct ts_task *t;
			char id[24], line[160];

			if (l->role != TS_ROLE_WAITS || l->task >= p->ntasks)
				continue;
			t = &p->tasks[l->task];
			snprintf(id, sizeof(id), "%llu", (unsigned long long)t->task_id);
			add_item(c->waiters, sizeof(c->waiters), id);
			await_line(t, line, sizeof(line));
			add_item(c->wait_lines, sizeof(c->wait_lines), line);
			if (t->in_state_ns > c->longest_wait_ns)
				c->longest_wait_ns = t->in_state_ns;
		}
	}
	ts_wait_graph__free(&g);
	return 0;
}

void ts_profile__finish_contention(struct ts_profile *prof)
{
	size_t i;

	/* not found in a snapshot: no waiter then */
	for (i = 0; i < prof->ncont; i++)
		if (prof->cont[i].snapshots < prof->snapshots)
			prof->cont[i].min_waiters = 0;
}

/* Is item one of the ", "-separated entries of list? */
static bool has_item(const char *list, const char *item)
{
	size_t k = strlen(item);
	const char *at = list;

	while (k && (at = strstr(at, item)) != NULL) {
		if ((at == list || at[-1] == ' ') && (at[k] == ',' || at[k] == '\0'))
			return true;
		at += k;
	}
	return false;
}

void ts_profile__contention_waits(struct ts_profile *prof)
{
	char where[160];
	size_t i, k;

	for (i = 0; i < prof->ncont; i++) {
		struct ts_prof_contention *c = &prof->cont[i];

		for (k = 0; k < prof->nsites; k++) {
			const struct ts_prof_site *s = &prof->sites[k];

			if (s->await_id < 0 || !is_lock(s->kind))
				continue;
			snprintf(where, sizeof(where), "%s:%u", s->file, s->line);
			if (has_item(c->wait_lines, where) && s->max_wait_ns > c->longest_wait_ns)
				c->longest_wait_ns = s->max_wait_ns;
		}
	}
}
