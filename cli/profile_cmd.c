// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * taskscope profile -p PID: where the time of a process's tasks goes,
 * per await point (issue 14). The kernel keeps the statistics
 * (bpf/profile.bpf.h); user space describes the state machines before
 * the window and reads the totals after it, plus a few memory snapshots
 * for contention.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "cli.h"
#include "observe.h"
#include "parse.h"
#include "profile.h"

enum { OPT_FOLDED = 1000, OPT_SVG, OPT_SNAPSHOT_MS };

struct profile_env {
	int pid;
	double duration_s;
	bool json;
	bool folded;
	const char *svg;		/* --svg FILE */
	const char *debuginfo;
	unsigned long rows;
	uint64_t snapshot_ms;		/* contention snapshots */
	enum ts_probe_mode mode;	/* default or full */
	bool verbose;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: taskscope profile -p PID [-d SECONDS] [--json | --folded] [--svg FILE]\n"
		"                         [-n ROWS] [--snapshot-ms N] [-m default|full] [--debuginfo FILE]\n\n"
		"Where the time of a process's tasks goes, per await point: for every\n"
		"`.await` (async fn and the source line), how often tasks waited there and\n"
		"how long (total, mean, p50, p99, max), what they awaited (timer, mutex,\n"
		"semaphore, channel, oneshot, join handle, I/O), and the busy time of the\n"
		"polls resumed from it; then the contended mutexes and semaphores. Needs\n"
		"the binary's DWARF; without it, polls, busy and idle time per future\n"
		"type. A wait counts when it ends (at the task's next poll).\n\n"
		"Options:\n"
		"  -p, --pid PID         process to profile (required)\n"
		"  -d, --duration SECS   how long (default 5)\n"
		"  -j, --json            JSON output\n"
		"      --folded          folded stacks instead (await chain; weight: us of\n"
		"                        wait or busy time), for flame graph tools\n"
		"      --svg FILE        also render a flame graph to FILE (no external tool)\n"
		"  -n, --rows N          await points in the text table (default 30)\n"
		"      --snapshot-ms N   memory snapshots for contention every N ms (default 500)\n"
		"  -m, --mode MODE       default: a poll's end is inferred (the worker's next\n"
		"                        poll, or leaving the CPU); full: a uretprobe per poll\n"
		"                        for exact busy times (+1.6 us per poll)\n"
		"  -g, --debuginfo FILE  DWARF for the binary when not in it or next to it\n"
		"  -v, --verbose         libbpf debug output\n"
		"  -h, --help            this text\n\n"
		"Exit status: 0 profiled, 2 error.\n\n"
		"Examples:\n"
		"  sudo taskscope profile -p 4242 -d 10\n"
		"  sudo taskscope profile -p 4242 --folded > out.folded\n"
		"  sudo taskscope profile -p 4242 --svg where.svg\n");
}

static int parse_args(int argc, char **argv, struct profile_env *env)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "folded", no_argument, NULL, OPT_FOLDED },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "rows", required_argument, NULL, 'n' },
		{ "snapshot-ms", required_argument, NULL, OPT_SNAPSHOT_MS },
		{ "debuginfo", required_argument, NULL, 'g' },
		{ "mode", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	char *end;
	int c;

	env->duration_s = 5.0;
	env->rows = 30;
	env->snapshot_ms = 500;
	ts_err_as_json_if_asked(argc, argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:d:jn:g:m:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			/* light has no wakes and sampled no poll probes: nothing to attribute */
			if (ts_parse_mode(optarg, 1u << TS_MODE_DEFAULT | 1u << TS_MODE_FULL,
					  &env->mode))
				return -1;
			break;
		case 'p':
			env->pid = ts_parse_pid(optarg);
			if (env->pid < 0)
				return -1;
			break;
		case 'd':
			if (ts_parse_seconds(optarg, &env->duration_s) ||
			    env->duration_s <= 0 || env->duration_s > 86400) {
				ts_err("invalid duration '%s' (seconds, > 0)", optarg);
				return -1;
			}
			break;
		case 'j':
			env->json = true;
			ts_err_as_json(true);
			break;
		case OPT_FOLDED:
			env->folded = true;
			break;
		case OPT_SVG:
			env->svg = optarg;
			break;
		case 'n':
			errno = 0;
			env->rows = strtoul(optarg, &end, 10);
			if (errno || *end || !env->rows || optarg[0] == '-') {
				ts_err("invalid --rows '%s' (a count > 0)", optarg);
				return -1;
			}
			break;
		case OPT_SNAPSHOT_MS:
			if (ts_parse_ms("--snapshot-ms", optarg, &env->snapshot_ms))
				return -1;
			break;
		case 'g':
			if (ts_check_readable("--debuginfo", optarg))
				return -1;
			env->debuginfo = optarg;
			break;
		case 'v':
			env->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(TS_EXIT_OK);
		default:
			ts_err_bad_option("profile", argv, c);
			return -1;
		}
	}
	if (optind < argc) {
		ts_err("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (env->json && env->folded) {
		ts_err("--json and --folded are two outputs: pick one");
		return -1;
	}
	if (!env->pid) {
		ts_err("profile needs -p PID (see taskscope profile --help)");
		return -1;
	}
	return 0;
}

/* One memory snapshot: the await chains, and who waits on which lock. */
static int contention_snapshot(struct observed_proc *op, struct ts_profile *prof)
{
	struct ts_process p = {};
	int err;

	err = observed_proc__snapshot(op, true, &p);
	if (!err) {
		observed_proc__await_chains(op, &p, 0, 0);
		err = ts_profile__add_snapshot(prof, &p) ? -ENOMEM : 0;
	}
	ts_process__free(&p);
	return err;
}

/*
 * The next snapshot, snapshot_ms +-25 % from now: a fixed period aliases
 * with a periodic program (3 lockers holding a Mutex 20 ms each were seen
 * with the same holder in every snapshot 500 ms apart).
 */
static uint64_t next_snapshot(uint64_t every_ns, unsigned int *seed)
{
	return ts_now_ns() + every_ns * 3 / 4 + (uint64_t)rand_r(seed) % (every_ns / 2 + 1);
}

/* Observes for the window, a contention snapshot every snapshot_ms or so. */
static int profile_window(struct observed_proc *op, const struct profile_env *env,
			  struct ts_profile *prof)
{
	uint64_t end = ts_now_ns() + (uint64_t)(env->duration_s * 1e9);
	uint64_t every = env->snapshot_ms * 1000 * 1000;
	unsigned int seed = (unsigned int)ts_now_ns();
	uint64_t next = next_snapshot(every, &seed);
	struct timespec tick = { .tv_nsec = 20 * 1000 * 1000 };

	while (!ts_stop_requested && ts_now_ns() < end) {
		nanosleep(&tick, NULL);
		if (!observed_proc__alive(op))
			return -ESRCH;
		if (prof->chains && ts_now_ns() >= next && ts_now_ns() < end) {
			contention_snapshot(op, prof);
			next = next_snapshot(every, &seed);
		}
	}
	return 0;
}

/* Without await points: polls, busy and idle time per future type (tasks map). */
static int per_future_type(struct ts_profile *prof, const struct ts_process *p)
{
	size_t i, k;

	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];
		struct ts_prof_type_row *r = NULL;

		if (!t->seen_by_probe)
			continue;
		for (k = 0; k < prof->ntypes; k++)
			if (prof->types[k].name == t->name)
				r = &prof->types[k];
		if (!r) {
			r = ts_array_add(&prof->types, &prof->ntypes, &prof->cap_types);
			if (!r)
				return -ENOMEM;
			r->name = t->name;
		}
		r->tasks++;
		r->polls += t->st.polls;
		r->busy_ns += t->st.busy_ns;
		r->idle_ns += t->st.idle_ns;
		r->scheduled_ns += t->st.scheduled_ns;
		prof->polls += t->st.polls;
	}
	return 0;
}

static int write_svg(const char *path, const struct ts_prof_tables *t,
		     const struct ts_prof_path *paths, size_t npaths, const struct ts_profile *prof)
{
	char *buf = NULL, **lines = NULL, *s, title[160];
	size_t len = 0, n = 0, cap = 0;
	FILE *mem = open_memstream(&buf, &len), *out;
	int err = -ENOMEM;

	if (!mem)
		return -errno;
	ts_prof_write_folded(mem, t, paths, npaths);
	fclose(mem);
	for (s = strtok(buf, "\n"); s; s = strtok(NULL, "\n")) {
		char **slot = ts_array_add(&lines, &n, &cap);

		if (!slot)
			goto cleanup;
		*slot = s;
	}
	out = fopen(path, "w");
	if (!out) {
		err = -errno;
		goto cleanup;
	}
	snprintf(title, sizeof(title), "taskscope profile: PID %d (%s), %.1f s", prof->pid,
		 prof->comm, prof->duration_s);
	err = ts_flame_write_svg(out, lines, n, title);
	if (fclose(out) && !err)
		err = -errno;
cleanup:
	free(lines);
	free(buf);
	return err;
}

int cmd_profile(int argc, char **argv)
{
	struct profile_env env = {};
	struct observed_proc op = {};
	struct ts_prof_tables tables = {};
	struct ts_profile prof = {};
	struct ts_process proc = {};
	struct ts_prof_path *paths = NULL;
	size_t npaths = 0;
	char why[512];
	int err, ret = TS_EXIT_ERROR;
	bool op_open = false;

	if (parse_args(argc, argv, &env))
		return TS_EXIT_ERROR;
	if (!ts_require_root())
		return TS_EXIT_ERROR;
	ts_catch_stop_signals(false);

	err = observed_proc__open(&op, env.pid, why, sizeof(why));
	if (err) {
		ts_err("%s", why);
		goto cleanup;
	}
	op_open = true;
	prof.pid = env.pid;
	snprintf(prof.comm, sizeof(prof.comm), "%s", op.comm);
	observed_proc__load_dwarf(&op, env.debuginfo);
	err = observed_proc__load_bpf(&op, env.verbose);
	if (err) {
		ts_err("loading BPF programs failed: %s (run with -v for libbpf's log)",
		       strerror(-err));
		goto cleanup;
	}
	err = ts_prof_tables__build(&tables, op.dw, &op.tb);
	if (err) {
		ts_err("describing the state machines failed: %s", strerror(-err));
		goto cleanup;
	}
	prof.dwarf = op.dw && tables.polls_described;
	prof.chains = op.dw != NULL;
	if (!op.dw)
		snprintf(prof.note, sizeof(prof.note), "%s",
			 op.dwarf_note[0] ? op.dwarf_note : "no DWARF for the binary");
	else if (!tables.polls_described)
		snprintf(prof.note, sizeof(prof.note),
			 "no task future is an async fn or block (hand-written futures, as hyper's, "
			 "await nothing)");
	err = ts_prof_tables__load(&tables, &op.own_bpf);
	if (err) {
		ts_err("filling the profile maps failed: %s", strerror(-err));
		goto cleanup;
	}
	err = observed_proc__attach(&op, NULL, env.mode, why, sizeof(why));
	if (err) {
		ts_err("%s", why);
		goto cleanup;
	}
	prof.duration_s = env.duration_s;
	err = profile_window(&op, &env, &prof);
	if (err) {
		ts_err("PID %d %s during profiling", env.pid,
		       observed_change__text(observed_proc__check(&op)));
		goto cleanup;
	}
	ts_prof__stop(&op.own_bpf);
	prof.duration_s = (double)(ts_now_ns() - op.attach_ns) / 1e9;
	err = ts_prof__read_paths(&op.own_bpf, (uint32_t)op.pid, &paths, &npaths);
	if (!err && !prof.dwarf)
		err = observed_proc__snapshot(&op, false, &proc);
	if (err) {
		ts_err("reading PID %d's profile failed: %s", env.pid, strerror(-err));
		goto cleanup;
	}
	/* detach first: the target pays nothing past the window */
	observed_proc__detach(&op);
	ts_profile__finish_contention(&prof);
	err = prof.dwarf ? ts_profile__aggregate(&prof, &tables, paths, npaths) :
			   per_future_type(&prof, &proc);
	if (err) {
		ts_err("out of memory");
		goto cleanup;
	}
	ts_profile__contention_waits(&prof);
	if (env.svg) {
		err = write_svg(env.svg, &tables, paths, npaths, &prof);
		if (err) {
			ts_err("writing %s failed: %s", env.svg, strerror(-err));
			goto cleanup;
		}
		if (!env.json && !env.folded)
			fprintf(stderr, "wrote %s\n", env.svg);
	}
	if (env.folded)
		ts_prof_write_folded(stdout, &tables, paths, npaths);
	else if (env.json)
		ts_profile__write_json(stdout, &prof);
	else
		ts_profile__write_text(stdout, &prof, env.rows);
	fflush(stdout);
	ret = TS_EXIT_OK;
cleanup:
	free(paths);
	ts_profile__free(&prof);
	ts_prof_tables__free(&tables);
	ts_process__free(&proc);
	if (op_open)
		observed_proc__close(&op);
	return ret;
}
