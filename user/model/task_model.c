/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "task_model.h"

void ts_process__free(struct ts_process *p)
{
	size_t i;

	for (i = 0; i < p->ntasks; i++)
		free(p->tasks[i].chain);
	free(p->tasks);
	free(p->workers);
	free(p->lost);
	free(p->resources);
	p->resources = NULL;
	p->nresources = p->resources_cap = 0;
	p->tasks = NULL;
	p->workers = NULL;
	p->lost = NULL;
	p->ntasks = p->nworkers = p->nlost = 0;
	p->tasks_cap = p->workers_cap = p->lost_cap = 0;
}

struct ts_task *ts_process__add_task(struct ts_process *p)
{
	struct ts_task *t = ts_array_add(&p->tasks, &p->ntasks, &p->tasks_cap);

	if (t)
		t->name = t->future_type = t->location = "";
	return t;
}

struct ts_worker *ts_process__add_worker(struct ts_process *p)
{
	return ts_array_add(&p->workers, &p->nworkers, &p->workers_cap);
}

const struct ts_worker *ts_process__worker_polling(const struct ts_process *p, uint64_t header)
{
	size_t i;

	/* depth: a poll is open on that thread (its end not seen yet) */
	for (i = 0; i < p->nworkers; i++)
		if (p->workers[i].st.depth && p->workers[i].st.header == header)
			return &p->workers[i];
	return NULL;
}

double ts_process__poll_rate(const struct ts_process *p)
{
	uint64_t polls = 0;
	size_t i;

	for (i = 0; i < p->nworkers; i++)
		polls += p->workers[i].st.polls;
	if (!p->observed_ns)
		return 0;
	return (double)polls * 1e9 / (double)p->observed_ns;
}

const struct ts_res_info *ts_process__find_resource(const struct ts_process *p, uint64_t id)
{
	size_t i;

	for (i = 0; i < p->nresources; i++)
		if (p->resources[i].id == id)
			return &p->resources[i];
	return NULL;
}

int ts_process__add_lost_wakes(struct ts_process *p, const char *name, uint64_t n)
{
	struct ts_lost_wakes *nv;
	size_t i;

	for (i = 0; i < p->nlost; i++) {
		if (!strcmp(p->lost[i].name, name)) {
			p->lost[i].wakes += n;
			return 0;
		}
	}
	nv = ts_array_add(&p->lost, &p->nlost, &p->lost_cap);
	if (!nv)
		return -ENOMEM;
	snprintf(nv->name, sizeof(nv->name), "%s", name);
	nv->wakes = n;
	return 0;
}

int ts_process__settle_freed(struct ts_process *p, struct ts_task *t)
{
	int err = 0;

	if (t->state == TS_TASK_SCHEDULED) {
		t->st.lost_wakes++;
		err = ts_process__add_lost_wakes(p, t->name, 1);
	}
	t->state = TS_TASK_DONE;
	t->in_state_ns = 0;
	return err;
}

const char *ts_task_state_name(enum ts_task_state s)
{
	switch (s) {
	case TS_TASK_IDLE:
		return "idle";
	case TS_TASK_SCHEDULED:
		return "scheduled";
	case TS_TASK_RUNNING:
		return "running";
	case TS_TASK_DONE:
		return "done";
	}
	return "?";
}

bool ts_task__uses_block_in_place(const struct ts_process *p, const struct ts_task *t)
{
	size_t n = strlen(t->name), i;

	if (t->in_block_in_place)
		return true;	/* seen on the polling thread's stack (observe.c) */
	for (i = 0; n && i < p->nhandoffs; i++) {
		const char *h = p->handoff_types[i], *at;

		/* ...block_in_place::{closure}<app::crunch::{closure}, ()>: the caller's own closure */
		for (at = strstr(h, t->name); at; at = strstr(at + 1, t->name))
			if ((at == h || at[-1] == '<' || at[-1] == ' ') && !strncmp(at + n, "::{", 3))
				return true;
	}
	return false;
}
