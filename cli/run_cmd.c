// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * taskscope run -- CMD: CI's hang detector. Runs CMD (say `cargo test`)
 * with its output untouched, follows every process of its tree that runs
 * a supported runtime, and when one makes no progress for --hang-after
 * seconds prints where it hangs: each thread's block_on future (a
 * #[tokio::test] body runs on a thread named after the test), the
 * spawned tasks, their .await lines and who holds what they wait for.
 * Then it kills that process's tree (unless --keep) and, once CMD is
 * done, exits with TS_EXIT_HANG. Otherwise it exits with CMD's status
 * and prints nothing of its own.
 *
 * Following costs the tree nothing: the tree and each process's progress
 * are read from /proc (proc_tree.h); nothing is attached. "No progress"
 * is no thread of the process switched in for the whole time: nothing
 * polled, no timer fired. Only a hung process is read, from memory, as
 * `report --core` reads a dump.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "observe.h"
#include "parse.h"
#include "proc_scan.h"
#include "proc_tree.h"
#include "report.h"
#include "stall_rules.h"

#define TS_EXIT_HANG	124	/* as timeout(1): the command did not finish */
#define MAX_TREE	1024
#define MAX_FOLLOWED	256
#define TICK_NS		(200ULL * 1000 * 1000)

enum { OPT_HANG_AFTER = 1000, OPT_JSON, OPT_KEEP, OPT_CORE_DIR };

struct run_env {
	double hang_after_s;
	const char *json_path;
	bool keep;
	const char *core_dir;
	const char *debuginfo;
	char **cmd;
};

struct followed {
	pid_t pid;
	uint64_t start_ticks;	/* tells a reused PID apart */
	char exe[4096];		/* as last checked: an exec changes it */
	bool supported;
	bool reported;
	struct progress pr;
};

struct run_state {
	struct run_env env;
	struct proc_scan scan;
	struct followed *f;
	size_t nf;
	pid_t child;
	unsigned int hangs;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: taskscope run [--hang-after SECONDS] [--json FILE] [--keep]\n"
		"                     [--core-dir DIR] [--debuginfo FILE] -- CMD [ARGS...]\n\n"
		"Runs CMD (for example `cargo test`) and follows every process of its tree\n"
		"that runs a supported runtime. When one makes no progress for --hang-after\n"
		"seconds (none of its threads ran: no task polled, no timer fired), prints\n"
		"where it hangs on stderr (each test's or main's .await, file:line, what it\n"
		"waits on and who holds it; the spawned tasks), kills that process and its\n"
		"children, and exits with status 124 once CMD has finished. Otherwise exits\n"
		"with CMD's status. CMD's input and output pass through untouched; nothing\n"
		"is attached to a process that does not hang.\n\n"
		"Options:\n"
		"  -t, --hang-after SECS  no progress for this long is a hang (default 30)\n"
		"  -j, --json FILE        also write each hung process's report as JSON\n"
		"                         (one object per line)\n"
		"  -k, --keep             leave the hung processes running, exit 124 at once\n"
		"  -c, --core-dir DIR     save a core of each hung process there (gcore)\n"
		"                         before killing it: `taskscope report --core` reads it\n"
		"  -g, --debuginfo FILE   DWARF for the binaries, when not in them\n"
		"  -h, --help             this text\n\n"
		"Exit status: CMD's own; 124 a process hung; 126/127 CMD could not be run;\n"
		"2 bad options.\n\n"
		"Example (a CI step):\n"
		"  sudo taskscope run --hang-after 60 --json hangs.json -- cargo test\n");
}

static int parse_args(int argc, char **argv, struct run_env *env)
{
	static const struct option longopts[] = {
		{ "hang-after", required_argument, NULL, 't' },
		{ "json", required_argument, NULL, 'j' },
		{ "keep", no_argument, NULL, 'k' },
		{ "core-dir", required_argument, NULL, 'c' },
		{ "debuginfo", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct stat st;
	int c;

	env->hang_after_s = 30;
	/* '+': options end at CMD, whose own options are its own */
	while ((c = getopt_long(argc, argv, "+:t:j:kc:g:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (ts_parse_seconds(optarg, &env->hang_after_s) ||
			    env->hang_after_s < 0.5 || env->hang_after_s > 86400) {
				ts_err("--hang-after: expected seconds from 0.5 to 86400, got '%s'",
				       optarg);
				return -EINVAL;
			}
			break;
		case 'j':
			env->json_path = optarg;
			break;
		case 'k':
			env->keep = true;
			break;
		case 'c':
			if (stat(optarg, &st) || !S_ISDIR(st.st_mode)) {
				ts_err("--core-dir: '%s' is not a directory", optarg);
				return -EINVAL;
			}
			env->core_dir = optarg;
			break;
		case 'g':
			env->debuginfo = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(TS_EXIT_OK);
		case ':':
			ts_err("option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			ts_err("unknown option '%s' (see taskscope run --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		ts_err("no command to run: taskscope run [OPTIONS] -- CMD [ARGS...]");
		return -EINVAL;
	}
	env->cmd = &argv[optind];
	return 0;
}

/* An exit status as a shell reports it: the code, or 128 + the signal. */
static int shell_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return TS_EXIT_ERROR;
}

static struct followed *find_followed(struct run_state *st, pid_t pid, uint64_t start)
{
	size_t i;

	for (i = 0; i < st->nf; i++)
		if (st->f[i].pid == pid && st->f[i].start_ticks == start)
			return &st->f[i];
	return NULL;
}

/* The tree now: new processes followed, exec'd ones looked at again. */
static void refresh_tree(struct run_state *st, uint64_t now)
{
	struct pid_parent *all = NULL;
	pid_t tree[MAX_TREE];
	size_t n, i, k;
	int nall;

	nall = proc_tree__read(&all);
	if (nall <= 0)
		return;
	n = proc_tree__descendants(all, (size_t)nall, st->child, tree, MAX_TREE);
	free(all);
	for (i = 0; i < n; i++) {
		struct followed *f;
		char exe[4096];
		uint64_t start;

		if (proc_start_ticks(tree[i], &start) || proc_exe_path(tree[i], exe, sizeof(exe)))
			continue;
		f = find_followed(st, tree[i], start);
		if (!f) {
			if (st->nf == MAX_FOLLOWED) {
				/* the slot of a process that has exited is free again */
				for (k = 0; k < st->nf; k++)
					if (!proc_exists(st->f[k].pid))
						break;
				if (k == st->nf)
					continue;
				f = &st->f[k];
			} else {
				f = &st->f[st->nf++];
			}
			memset(f, 0, sizeof(*f));
			f->pid = tree[i];
			f->start_ticks = start;
		}
		if (strcmp(f->exe, exe)) {	/* new, or exec'd: cargo forks, then runs the test */
			snprintf(f->exe, sizeof(f->exe), "%s", exe);
			f->supported = proc_scan__is_supported(&st->scan, f->pid);
			f->pr.known = false;
			f->reported = false;
		}
		if (f->supported && !f->reported) {
			uint64_t runs;

			if (proc_tree__runs(f->pid, &runs) == 0)
				progress__update(&f->pr, runs, now);
		}
	}
}

static void write_json(struct run_state *st, const struct ts_process *p,
		       const struct ts_finding *findings, size_t nf,
		       const struct ts_report_opts *ro)
{
	struct ts_report_opts jo = *ro;
	FILE *out;

	jo.json = true;
	out = fopen(st->env.json_path, st->hangs > 1 ? "ae" : "we");
	if (!out) {
		ts_err("--json: cannot write '%s': %s", st->env.json_path, strerror(errno));
		return;
	}
	ts_report_write(out, p, findings, nf, &jo);
	fclose(out);
}

/* gcore stops the process for the dump: it is about to be killed anyway. */
static void save_core(struct run_state *st, pid_t pid)
{
	char path[4300];

	if (ts_save_core(st->env.core_dir, pid, "", path, sizeof(path)))
		fprintf(stderr, "taskscope run: saving a core of PID %d with gcore failed\n", pid);
	else
		fprintf(stderr, "taskscope run: core of PID %d saved: %s\n", pid, path);
}

/* Where the tests (the block_on futures) of p hang, one line each. */
static void name_hung_roots(const struct ts_process *p)
{
	size_t i;

	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];
		const struct ts_await_chain *c = t->chain;
		const struct ts_await_frame *fr;

		if (!t->root_tid || !c || !c->nframes)
			continue;
		fr = &c->frames[0];
		fprintf(stderr, "taskscope run: hung: %s (thread %u) at %s:%u, %s%s%s\n", t->name,
			t->root_tid, fr->file, fr->line, ts_leaf_kind_str(c->leaf.kind),
			c->leaf.detail[0] ? ": " : "", c->leaf.detail);
	}
}

/* Reads the hung process from memory and prints its report. */
static void report_hang(struct run_state *st, struct followed *f, uint64_t stalled_ns)
{
	struct ts_rules_config cfg;
	struct ts_report_opts ro = {};
	struct observed_proc op = {};
	struct ts_process p = {};
	struct ts_finding *findings = NULL;
	char why[512];
	size_t i;
	int nf = 0, err;

	st->hangs++;
	fprintf(stderr, "\ntaskscope run: PID %d (%s) made no progress for %.1f s: hung\n",
		f->pid, f->exe, (double)stalled_ns / 1e9);
	err = observed_proc__open(&op, f->pid, why, sizeof(why));
	if (err) {
		fprintf(stderr, "taskscope run: %s\n", why);
		return;
	}
	observed_proc__load_dwarf(&op, st->env.debuginfo);
	op.find_roots = true;
	err = observed_proc__snapshot_memory(&op, &p);
	if (err) {
		fprintf(stderr, "taskscope run: reading PID %d failed: %s\n", f->pid,
			strerror(-err));
		goto cleanup;
	}
	p.probe_mode = "run";
	/* nothing of it ran for stalled_ns: every parked task waited that long at least */
	p.observed_ns = stalled_ns;
	for (i = 0; i < p.ntasks; i++) {
		if (p.tasks[i].state != TS_TASK_IDLE)
			continue;
		p.tasks[i].in_state_ns = stalled_ns;	/* at least: the header says since when */
	}
	observed_proc__await_chains(&op, &p, 0, 0);
	ts_rules_config__default(&cfg);
	cfg.stall_ns = stalled_ns < cfg.stall_ns ? stalled_ns : cfg.stall_ns;
	cfg.idle_roots = true;	/* a test parked for good is the hang */
	nf = ts_rules__evaluate(&p, &cfg, &findings);
	if (nf < 0)
		nf = 0;
	ro.stall_ns = cfg.stall_ns;
	ro.long_poll_ns = cfg.long_poll_ns;
	name_hung_roots(&p);
	fputc('\n', stderr);
	ts_report_write(stderr, &p, findings, (size_t)nf, &ro);
	if (!op.dw)
		fprintf(stderr, "taskscope run: %s\n", op.dwarf_note);
	if (st->env.json_path)
		write_json(st, &p, findings, (size_t)nf, &ro);
cleanup:
	free(findings);
	ts_process__free(&p);
	observed_proc__close(&op);
}

/* SIGKILL to pid and every process under it, children first found last. */
static void kill_tree(pid_t pid)
{
	struct pid_parent *all = NULL;
	pid_t tree[MAX_TREE];
	size_t n, i;
	int nall;

	nall = proc_tree__read(&all);
	n = nall > 0 ? proc_tree__descendants(all, (size_t)nall, pid, tree, MAX_TREE) : 0;
	free(all);
	if (!n)
		kill(pid, SIGKILL);
	for (i = 0; i < n; i++)
		kill(tree[i], SIGKILL);
}

static volatile sig_atomic_t forward_sig;

static void on_signal(int sig)
{
	forward_sig = sig;
}

static int start_child(struct run_state *st)
{
	int errpipe[2], code = 0;
	ssize_t got;
	pid_t pid;

	/* CLOEXEC pipe: the child writes errno into it only when exec fails */
	if (pipe2(errpipe, O_CLOEXEC)) {
		ts_err("pipe: %s", strerror(errno));
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ts_err("fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		int e;

		close(errpipe[0]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		execvp(st->env.cmd[0], st->env.cmd);
		e = errno;
		if (write(errpipe[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(e == ENOENT ? 127 : 126);
	}
	close(errpipe[1]);
	got = read(errpipe[0], &code, sizeof(code));
	close(errpipe[0]);
	if (got == (ssize_t)sizeof(code)) {
		waitpid(pid, NULL, 0);
		fprintf(stderr, "taskscope run: cannot run '%s': %s\n", st->env.cmd[0],
			strerror(code));
		return code == ENOENT ? -ENOENT : -EACCES;
	}
	st->child = pid;
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_state st = {};
	struct sigaction sa = {};
	uint64_t hang_ns, now;
	int status = 0, rc, err;
	size_t i;

	ts_err_as_json(false);
	if (parse_args(argc, argv, &st.env))
		return TS_EXIT_ERROR;
	hang_ns = (uint64_t)(st.env.hang_after_s * 1e9);
	st.f = calloc(MAX_FOLLOWED, sizeof(*st.f));
	if (!st.f) {
		ts_err("out of memory");
		return TS_EXIT_ERROR;
	}
	/* Ctrl-C reaches CMD through the terminal; run waits for it to end */
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	err = start_child(&st);
	if (err) {
		rc = err == -ENOENT ? 127 : 126;
		goto cleanup;
	}
	for (;;) {
		struct timespec tick = { 0, (long)TICK_NS };
		pid_t w = waitpid(st.child, &status, WNOHANG);

		if (w == st.child)
			break;
		if (w < 0 && errno != EINTR) {
			status = W_EXITCODE(TS_EXIT_ERROR, 0);
			break;
		}
		if (forward_sig) {
			/* SIGTERM to run (a CI timeout) ends CMD too */
			if (forward_sig == SIGTERM)
				kill(st.child, SIGTERM);
			forward_sig = 0;
		}
		now = ts_now_ns();
		refresh_tree(&st, now);
		for (i = 0; i < st.nf; i++) {
			struct followed *f = &st.f[i];
			uint64_t stalled;

			if (!f->supported || f->reported || !f->pr.known)
				continue;
			stalled = now - f->pr.last_change_ns;
			if (stalled < hang_ns || !proc_exists(f->pid))
				continue;
			f->reported = true;
			report_hang(&st, f, stalled);
			if (st.env.keep) {
				fprintf(stderr, "taskscope run: --keep: PID %d left running\n", f->pid);
				rc = TS_EXIT_HANG;
				goto cleanup;
			}
			if (st.env.core_dir)
				save_core(&st, f->pid);
			fprintf(stderr, "taskscope run: killing PID %d and its children\n", f->pid);
			kill_tree(f->pid);
		}
		nanosleep(&tick, NULL);
	}
	rc = st.hangs ? TS_EXIT_HANG : shell_status(status);
cleanup:
	proc_scan__free(&st.scan);
	free(st.f);
	return rc;
}
