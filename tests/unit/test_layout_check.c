/*
 * The layout check against a live process: three tokio-shaped task cells
 * on the heap, linked as an owned list, with a vtable in static data, in a
 * child forked per case (a process scanning itself would find the copies
 * its scan buffer makes). No root needed: the children are ours.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "layout_check.h"
#include "task_memory.h"
#include "unit.h"

#define CELL_SIZE	256
#define ID_OFF		40
#define TRAILER_OFF	128
#define NTASKS		3
#define NSTALE		4	/* stale copies of blocking-pool headers (STALE_BLOCKING) */

/* Static, not heap: the scan reads anonymous memory for vtable pointers. */
static uint64_t vtable_words[10];
static uint64_t blocking_words[10];	/* a worker launch task's vtable */
static struct task_vtable vtables[2];
static struct task_poll_fn polls[2];
static struct runtime_binary tb;

static uint64_t *cells[NTASKS + NSTALE];

static void build(void)
{
	int i;

	memset(vtable_words, 0, sizeof(vtable_words));
	vtable_words[0] = 0x1000;		/* poll */
	vtable_words[2] = 0x2000;		/* dealloc */
	vtable_words[7] = TRAILER_OFF;
	vtable_words[8] = 32;
	vtable_words[9] = ID_OFF;
	polls[0].fn.vaddr = 0x1000;
	vtables[0] = (struct task_vtable){ .vaddr = (uint64_t)vtable_words, .poll_idx = 0,
					   .dealloc_vaddr = 0x2000, .trailer_offset = TRAILER_OFF,
					   .scheduler_offset = 32, .id_offset = ID_OFF };
	tb.runtime = TS_RT_TOKIO;
	tb.desc = runtime_desc__choose(TS_RT_TOKIO, "1.53.1");
	tb.layout = tb.desc->layout;
	memset(blocking_words, 0, sizeof(blocking_words));
	blocking_words[0] = 0x3000;
	blocking_words[2] = 0x4000;
	blocking_words[7] = TRAILER_OFF;
	blocking_words[8] = 32;
	blocking_words[9] = ID_OFF;
	polls[1].fn.vaddr = 0x3000;
	polls[1].blocking = true;
	vtables[1] = (struct task_vtable){ .vaddr = (uint64_t)blocking_words, .poll_idx = 1,
					   .dealloc_vaddr = 0x4000, .trailer_offset = TRAILER_OFF,
					   .scheduler_offset = 32, .id_offset = ID_OFF };
	tb.polls = polls;
	tb.npolls = 1;
	tb.vtables = vtables;
	tb.nvtables = 1;
	for (i = NTASKS; i < NTASKS + NSTALE; i++)
		memset(cells[i], 0, CELL_SIZE);
	for (i = 0; i < NTASKS; i++) {
		uint64_t *c = cells[i];

		memset(c, 0, CELL_SIZE);
		c[0] = 1ULL << 6;		/* state: one reference, idle */
		c[2] = (uint64_t)vtable_words;	/* header.vtable */
		c[3] = 1;			/* owner_id: owned */
		c[ID_OFF / 8] = 100 + i;
		c[TRAILER_OFF / 8] = i ? (uint64_t)cells[i - 1] : 0;		/* prev */
		c[TRAILER_OFF / 8 + 1] = i + 1 < NTASKS ? (uint64_t)cells[i + 1] : 0;	/* next */
	}
}

enum { OK, BROKEN_LINK, SAME_ID, VTABLE_DIFFERS, NO_TASK, BUDGET, STALE_CELL, STALE_BLOCKING,
       CHURN, NCASES };

/* A child holding the cells as they are now, until killed. */
static pid_t hold(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static struct layout_check check(pid_t pid)
{
	struct layout_check lc;

	if (pid <= 0 || layout_check__run(pid, &tb, 0, &lc))
		memset(&lc, 0, sizeof(lc));
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return lc;
}

int main(void)
{
	struct layout_check lc;
	pid_t child[NCASES];
	void *area;
	int i;

	/*
	 * Low in the address space, below ASan's shadow (the scan reads
	 * mappings in address order, within a budget ASan's terabytes of
	 * shadow would use up first).
	 */
	area = mmap((void *)0x10000000, (NTASKS + NSTALE) * CELL_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (area == MAP_FAILED)
		area = mmap(NULL, (NTASKS + NSTALE) * CELL_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK("cells mapped", area != MAP_FAILED);
	if (area == MAP_FAILED)
		UNIT_EXIT();
	for (i = 0; i < NTASKS + NSTALE; i++)
		cells[i] = (uint64_t *)((char *)area + i * CELL_SIZE);
	/* every child forked before any scan runs here */
	for (i = 0; i < NCASES; i++) {
		build();
		if (i == BROKEN_LINK)
			cells[2][TRAILER_OFF / 8] = (uint64_t)cells[0];	/* back link skips cell 1 */
		else if (i == STALE_CELL)
			cells[1][TRAILER_OFF / 8 + 1] = 0;	/* cell 2 freed: its prev is stale */
		else if (i == SAME_ID)
			cells[1][ID_OFF / 8] = 100;	/* two tasks, one Id: the Id offset is off */
		else if (i == VTABLE_DIFFERS)
			vtable_words[9] = ID_OFF + 8;	/* memory says another offset than the file */
		else if (i == NO_TASK)
			cells[0][2] = cells[1][2] = cells[2][2] = 0;
		else if (i == CHURN)
			for (int k = NTASKS; k < NTASKS + NSTALE; k++) {
				/* freed cells of a busy service: more of them than lists */
				cells[k][0] = 1ULL << 6;
				cells[k][2] = (uint64_t)vtable_words;
				cells[k][3] = 1;
				cells[k][ID_OFF / 8] = 200 + k;
				cells[k][TRAILER_OFF / 8] = (uint64_t)cells[0];
			}
		else if (i == STALE_BLOCKING)
			for (int k = NTASKS; k < NTASKS + NSTALE; k++) {
				/*
				 * A worker's stack holding its launch task's header
				 * words: a blocking-pool vtable, a garbage owner (a
				 * stack canary), a "link" into static data.
				 */
				cells[k][0] = 0xcc;
				cells[k][2] = (uint64_t)blocking_words;
				cells[k][3] = 0xcf94b755a8929c00ULL;
				cells[k][ID_OFF / 8] = 4;
				cells[k][TRAILER_OFF / 8] = (uint64_t)vtable_words;
			}
		child[i] = hold();
	}
	build();
	CHECK("offsets in the cell's order", layout_check__offsets(&tb) == 1);
	vtables[0].id_offset = 16;
	CHECK("an Id inside the header is out of order", layout_check__offsets(&tb) == 0);
	vtables[0].id_offset = 32;
	CHECK("a zero-sized scheduler shares its offset with the Id",
	      layout_check__offsets(&tb) == 1);
	vtables[0].id_offset = ID_OFF;
	vtables[0].trailer_offset = ID_OFF;
	CHECK("a trailer over the Id is out of order", layout_check__offsets(&tb) == 0);
	vtables[0].trailer_offset = TRAILER_OFF;

	lc = check(child[OK]);
	CHECK("consistent cells confirm the layout", lc.confirmed);
	CHECK("three tasks found", lc.tasks == NTASKS);
	CHECK("ids read back", lc.ids_ok == NTASKS);
	CHECK("one list of three walked", lc.lists == 1 && lc.list_tasks == NTASKS);
	CHECK("verdict says confirmed", !strncmp(lc.verdict, "confirmed: ", 11));

	CHECK("consistent cells are not refuted", !lc.refuted);

	{
		/* as report checks a live process: a budget of one link */
		struct mem_scan_stats st;
		struct mem_task *mt = NULL;
		size_t n = 0;

		memset(&lc, 0, sizeof(lc));
		if (layout_check__vtables(child[BUDGET], &tb, 0, &lc) &&
		    !task_memory__discover(child[BUDGET], &tb, 0, &mt, &n, &st))
			layout_check__tasks(child[BUDGET], &tb, 0, mt, n, 1, &lc);
		free(mt);
		kill(child[BUDGET], SIGKILL);
		waitpid(child[BUDGET], NULL, 0);
		CHECK("a list longer than the budget is confirmed as far as followed",
		      lc.confirmed && lc.list_budget_out && lc.lists == 0);
		CHECK("verdict says how far", strstr(lc.verdict, "links followed") != NULL);
	}

	lc = check(child[BROKEN_LINK]);
	CHECK("a broken back link is not confirmed", !lc.confirmed && !lc.list_closed);
	CHECK("a broken back link refutes the layout", lc.refuted);
	CHECK("verdict names the list", strstr(lc.verdict, "owned-task list") != NULL);

	lc = check(child[STALE_CELL]);
	CHECK("a freed cell's stale links do not refute the layout",
	      lc.confirmed && !lc.refuted && lc.lists == 1 && lc.lists_broken == 1);
	CHECK("verdict counts the walk from a freed cell", strstr(lc.verdict, "freed cell") != NULL);

	lc = check(child[SAME_ID]);
	CHECK("repeated Ids are not confirmed", !lc.confirmed && lc.ids_ok == NTASKS - 2);

	lc = check(child[VTABLE_DIFFERS]);
	CHECK("a vtable unlike the file's is not confirmed",
	      !lc.confirmed && lc.vtables_ok == 0 && strstr(lc.verdict, "differ"));

	lc = check(child[NO_TASK]);
	CHECK("no task in memory is not confirmed", !lc.confirmed && lc.tasks == 0 &&
	      strstr(lc.verdict, "no live task"));
	CHECK("nothing to check refutes nothing", !lc.refuted);

	lc = check(child[CHURN]);
	CHECK("freed cells outnumbering the lists do not refute a list linked both ways",
	      lc.confirmed && !lc.refuted && lc.lists == 1 && lc.lists_broken == NSTALE &&
	      lc.longest_list == NTASKS);

	tb.npolls = 2;
	tb.nvtables = 2;
	if (vtables[1].vaddr < vtables[0].vaddr) {	/* the scan looks vtables up sorted */
		struct task_vtable t = vtables[0];

		vtables[0] = vtables[1];
		vtables[1] = t;
	}
	lc = check(child[STALE_BLOCKING]);
	tb.npolls = 1;
	tb.nvtables = 1;
	CHECK("stale copies of blocking-pool headers do not refute the layout",
	      lc.confirmed && !lc.refuted && lc.lists == 1 && lc.lists_broken == 0);

	munmap(area, (NTASKS + NSTALE) * CELL_SIZE);
	UNIT_EXIT();
}
