// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What `taskscope watch` reports once: stall keys, begin and end, rotation. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stall_tracker.h"
#include "unit.h"
#include "watch_out.h"

#define S (1000ULL * 1000 * 1000)

static void fill(struct ts_process *p, struct ts_task *tasks, size_t n)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->tasks = tasks;
	p->ntasks = n;
	for (i = 0; i < n; i++)
		tasks[i].header = 0x1000 * (i + 1);
}

static void test_keys(void)
{
	struct ts_task tasks[3] = {};
	struct ts_process p;
	struct ts_finding a = {}, b = {}, t = {};
	char ka[TS_STALL_KEY_LEN], kb[TS_STALL_KEY_LEN], kt[TS_STALL_KEY_LEN];

	fill(&p, tasks, 3);
	/* the same cycle told from either member is one stall */
	a.kind = b.kind = TS_FIND_DEADLOCK;
	a.count = b.count = 2;
	a.members[0] = 0, a.members[1] = 2;
	b.members[0] = 2, b.members[1] = 0;
	stall_key(&p, &a, ka, sizeof(ka));
	stall_key(&p, &b, kb, sizeof(kb));
	CHECK_STR("deadlock key: member order does not matter", ka, kb);
	CHECK_STR("deadlock key names the headers", ka, "deadlock 0x1000,0x3000");
	/* a type finding: no task */
	t.kind = TS_FIND_LOST_WAKE;
	t.task = SIZE_MAX;
	t.name = ts_intern("app::f");
	stall_key(&p, &t, kt, sizeof(kt));
	CHECK_STR("type finding keyed by name", kt, "lost_wake app::f");
}

static void test_begin_once_then_end(void)
{
	struct stall_tracker tr = { .end_after_ns = 3 * S };
	struct ts_task tasks[2] = {};
	struct ts_process p;
	struct ts_finding f = { .kind = TS_FIND_IDLE, .task = 1 };
	struct stall_event *ev = NULL;
	size_t nev = 0;
	uint64_t now;

	fill(&p, tasks, 2);
	f.name = "app::waiter";
	for (now = 1 * S; now <= 5 * S; now += S) {
		f.message = ts_internf("idle for %llu s", (unsigned long long)now);
		stall_tracker__update(&tr, 42, &p, &f, 1, now, &ev, &nev);
		stall_tracker__expire(&tr, 42, now, false, &ev, &nev);
	}
	CHECK("five looks, one stall began", nev == 1 && ev[0].what == STALL_BEGAN);
	CHECK("began names the task", nev == 1 && !strcmp(ev[0].stall.name, "app::waiter"));
	/* one look without it is not its end (a flapping long poll) */
	stall_tracker__update(&tr, 42, &p, NULL, 0, 6 * S, &ev, &nev);
	stall_tracker__expire(&tr, 42, 6 * S, false, &ev, &nev);
	CHECK("not ended before end_after", nev == 1);
	stall_tracker__update(&tr, 42, &p, &f, 1, 7 * S, &ev, &nev);
	stall_tracker__expire(&tr, 42, 7 * S, false, &ev, &nev);
	CHECK("back within end_after: still the same stall", nev == 1 && tr.n == 1);
	stall_tracker__expire(&tr, 42, 10 * S, false, &ev, &nev);
	CHECK("ended once end_after passed", nev == 2 && ev[1].what == STALL_ENDED);
	CHECK("ended stall lasted first..last look",
	      nev == 2 && ev[1].stall.last_ns - ev[1].stall.first_ns == 6 * S);
	CHECK("tracker empty after the end", tr.n == 0);
	/* another process's stall with the same header is another stall */
	stall_tracker__update(&tr, 42, &p, &f, 1, 11 * S, &ev, &nev);
	stall_tracker__update(&tr, 43, &p, &f, 1, 11 * S, &ev, &nev);
	CHECK("same key in two processes: two stalls", nev == 4 && tr.n == 2);
	stall_tracker__expire(&tr, 43, 11 * S, true, &ev, &nev);
	CHECK("a process gone ends its stalls at once, only its own",
	      nev == 5 && ev[4].stall.pid == 43 && tr.n == 1);
	free(ev);
	stall_tracker__free(&tr);
}

static size_t count_files(const char *dir, const char *suffix)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)))
		if (strstr(de->d_name, suffix))
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_trim(void)
{
	char dir[] = "/tmp/ts-watch-XXXXXX", path[256], why[256];
	struct watch_out wo;
	int i;

	if (!mkdtemp(dir)) {
		CHECK("mkdtemp", 0);
		return;
	}
	CHECK("open existing dir", !watch_out__open(&wo, dir, 3, 1 << 20, why, sizeof(why)));
	for (i = 0; i < 5; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/stall-2026120%dT000000.000Z-1-x-idle.txt", dir, i);
		f = fopen(path, "w");
		fputs("report\n", f);
		fclose(f);
		snprintf(path, sizeof(path), "%s/stall-2026120%dT000000.000Z-1-x-idle.json", dir, i);
		f = fopen(path, "w");
		fputs("{}\n", f);
		fclose(f);
	}
	watch_out__trim(&wo);
	CHECK("trim keeps max_reports reports", count_files(dir, ".txt") == 3);
	CHECK("and their JSON", count_files(dir, ".json") == 3);
	snprintf(path, sizeof(path), "%s/stall-20261200T000000.000Z-1-x-idle.txt", dir);
	CHECK("the oldest went first", access(path, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/stall-20261204T000000.000Z-1-x-idle.txt", dir);
	CHECK("the newest stays", access(path, F_OK) == 0);
	wo.max_bytes = 8;	/* one report's text and JSON are 10 bytes */
	watch_out__trim(&wo);
	CHECK("a byte cap below one report empties it", count_files(dir, "stall-") == 0);
	snprintf(path, sizeof(path), "%s/file", dir);
	fclose(fopen(path, "w"));
	CHECK("--out on a file is refused", watch_out__open(&wo, path, 3, 1, why, sizeof(why)) &&
	      strstr(why, "not a directory"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_keys();
	test_begin_once_then_end();
	test_trim();
	UNIT_EXIT();
}
