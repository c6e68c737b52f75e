/*
 * user/serve/: what needs no process or socket: --listen parsing and the
 * loopback rule, the bearer check, Prometheus label escaping, the
 * exposition on a made-up process, and the ledger that keeps counters from
 * going down while tasks and threads come and go.
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "serve_http.h"
#include "serve_metrics.h"
#include "unit.h"

static bool loopback(const char *listen)
{
	struct sockaddr_storage a;
	socklen_t len;

	return serve_parse_listen(listen, &a, &len) == 0 && serve_addr_is_loopback(&a);
}

static void test_listen(void)
{
	struct sockaddr_storage a;
	socklen_t len;

	CHECK("listen ipv4", serve_parse_listen("127.0.0.1:9464", &a, &len) == 0 &&
	      a.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&a)->sin_port) == 9464);
	CHECK("listen ipv6", serve_parse_listen("[::1]:80", &a, &len) == 0 &&
	      a.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6));
	CHECK("listen no port", serve_parse_listen("127.0.0.1", &a, &len) == -1);
	CHECK("listen port 0", serve_parse_listen("127.0.0.1:0", &a, &len) == -1);
	CHECK("listen port too big", serve_parse_listen("127.0.0.1:65536", &a, &len) == -1);
	CHECK("listen port junk", serve_parse_listen("127.0.0.1:80x", &a, &len) == -1);
	CHECK("listen name", serve_parse_listen("localhost:80", &a, &len) == -1);
	CHECK("listen open bracket", serve_parse_listen("[::1:80", &a, &len) == -1);
	CHECK("listen empty", serve_parse_listen("", &a, &len) == -1);
	CHECK("loopback 127.0.0.1", loopback("127.0.0.1:1"));
	CHECK("loopback 127.1.2.3", loopback("127.1.2.3:1"));
	CHECK("loopback ::1", loopback("[::1]:1"));
	CHECK("loopback v4-mapped", loopback("[::ffff:127.0.0.1]:1"));
	CHECK("not loopback 0.0.0.0", !loopback("0.0.0.0:1"));
	CHECK("not loopback ::", !loopback("[::]:1"));
	CHECK("not loopback 10.0.0.1", !loopback("10.0.0.1:1"));
	CHECK("not loopback 128.0.0.1", !loopback("128.0.0.1:1"));
}

static void test_auth(void)
{
	CHECK("auth none asked", serve_auth_ok(NULL, NULL));
	CHECK("auth right", serve_auth_ok("Bearer abcdefgh", "abcdefgh"));
	CHECK("auth missing", !serve_auth_ok(NULL, "abcdefgh"));
	CHECK("auth no scheme", !serve_auth_ok("abcdefgh", "abcdefgh"));
	CHECK("auth basic", !serve_auth_ok("Basic abcdefgh", "abcdefgh"));
	CHECK("auth prefix", !serve_auth_ok("Bearer abcdefg", "abcdefgh"));
	CHECK("auth longer", !serve_auth_ok("Bearer abcdefghi", "abcdefgh"));
	CHECK("auth one byte off", !serve_auth_ok("Bearer abcdefgX", "abcdefgh"));
}

static char *capture(void (*fn)(FILE *out, void *arg), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, arg);
	fclose(f);
	return buf;
}

static void label_of(FILE *out, void *arg)
{
	serve_metrics__label(out, arg);
}

static void test_label(void)
{
	char *s = capture(label_of, "a\"b\\c\nd");

	CHECK_STR("label escapes quote, backslash, newline", s, "a\\\"b\\\\c\\nd");
	free(s);
}

/* A process with 3 tasks (2 idle, 1 running) and one worker. */
struct fake {
	struct ts_process p;
	struct ts_task tasks[3];
	struct ts_worker workers[1];
	struct ts_finding findings[2];
	double busy[1];
	struct serve_proc sp;
};

static void fake_init(struct fake *f, pid_t pid)
{
	memset(f, 0, sizeof(*f));
	f->p.pid = pid;
	snprintf(f->p.comm, sizeof(f->p.comm), "svc\"x");
	snprintf(f->p.runtime, sizeof(f->p.runtime), "tokio");
	f->p.probe_mode = "light";
	f->p.nworker_threads = 2;
	f->p.tasks = f->tasks;
	f->p.ntasks = 3;
	f->p.workers = f->workers;
	f->p.nworkers = 1;
	f->tasks[0] = (struct ts_task){ .header = 0x1000, .state = TS_TASK_IDLE };
	f->tasks[1] = (struct ts_task){ .header = 0x2000, .state = TS_TASK_IDLE };
	f->tasks[2] = (struct ts_task){ .header = 0x3000, .state = TS_TASK_RUNNING };
	f->tasks[0].st.wakes = 5;
	f->tasks[2].st.wakes = 7;
	f->workers[0].tid = 77;
	f->workers[0].st.polls = 100;
	f->workers[0].st.busy_ns = 2000000000ULL;
	f->findings[0].kind = TS_FIND_DEADLOCK;
	f->findings[1].kind = TS_FIND_IDLE;
	f->busy[0] = 50.0;
	f->sp.p = &f->p;
	f->sp.findings = f->findings;
	f->sp.nfindings = 2;
	f->sp.worker_busy = f->busy;
	f->sp.polls_per_s = 10;
}

struct exposition {
	struct serve_proc *procs;
	size_t n;
	struct serve_ledger *l;
};

static void write_of(FILE *out, void *arg)
{
	struct exposition *e = arg;
	struct serve_self self = { .version = "0.1.0", .mode = "light", .probe_cpu_ratio = -1 };

	serve_metrics__write(out, e->procs, e->n, e->l, &self);
}

static void test_exposition(void)
{
	struct fake f;
	struct serve_ledger l = {};
	struct exposition e = { &f.sp, 1, &l };
	char *s;

	fake_init(&f, 42);
	serve_ledger__update(&l, &f.sp, 1);
	s = capture(write_of, &e);
	CHECK("expo idle tasks",
	      strstr(s, "taskscope_tasks{pid=\"42\",comm=\"svc\\\"x\",runtime=\"tokio\",state=\"idle\"} 2\n"));
	CHECK("expo running tasks", strstr(s, ",state=\"running\"} 1\n"));
	CHECK("expo done tasks 0", strstr(s, ",state=\"done\"} 0\n"));
	CHECK("expo deadlock 1", strstr(s, ",kind=\"deadlock\"} 1\n"));
	CHECK("expo starved 0", strstr(s, ",kind=\"starved\"} 0\n"));
	CHECK("expo busy ratio", strstr(s, "taskscope_worker_busy_ratio{pid=\"42\",comm=\"svc\\\"x\","
					   "runtime=\"tokio\"} 0.5\n"));
	CHECK("expo workers", strstr(s, "taskscope_workers{pid=\"42\",comm=\"svc\\\"x\",runtime=\"tokio\"} 2\n"));
	CHECK("expo polls", strstr(s, "taskscope_polls_total{pid=\"42\",comm=\"svc\\\"x\",runtime=\"tokio\"} 100\n"));
	CHECK("expo no wakes in light mode", !strstr(s, "taskscope_wakes_total"));
	free(s);
	f.p.probe_mode = "default";
	s = capture(write_of, &e);
	CHECK("expo wakes in default mode",
	      strstr(s, "taskscope_wakes_total{pid=\"42\",comm=\"svc\\\"x\",runtime=\"tokio\"} 12\n"));
	CHECK("expo one TYPE per family", strstr(s, "# TYPE taskscope_tasks gauge\n") &&
	      !strstr(strstr(s, "# TYPE taskscope_tasks gauge\n") + 1, "# TYPE taskscope_tasks "));
	CHECK("expo no task label", !strstr(s, "task_id") && !strstr(s, "header"));
	free(s);
	serve_ledger__free(&l);
}

static void test_cap(void)
{
	struct fake *f = calloc(SERVE_MAX_PROCS + 3, sizeof(*f));
	struct serve_proc *sp = calloc(SERVE_MAX_PROCS + 3, sizeof(*sp));
	struct serve_ledger l = {};
	struct exposition e = { sp, SERVE_MAX_PROCS + 3, &l };
	size_t i, n = 0;
	char *s, *c;

	for (i = 0; i < SERVE_MAX_PROCS + 3; i++) {
		fake_init(&f[i], (pid_t)(100 + i));
		sp[i] = f[i].sp;
	}
	s = capture(write_of, &e);
	for (c = s; (c = strstr(c, "taskscope_process_info{")); c++)
		n++;
	CHECK("cap processes exported", n == SERVE_MAX_PROCS);
	CHECK("cap omitted counted", strstr(s, "taskscope_processes_omitted 3\n"));
	free(s);
	free(sp);
	free(f);
}

static void test_ledger(void)
{
	struct fake f;
	struct serve_ledger l = {};
	const struct serve_totals *t;

	fake_init(&f, 7);
	f.p.probe_mode = "default";
	serve_ledger__update(&l, &f.sp, 1);
	t = serve_ledger__find(&l, 7);
	CHECK("ledger first polls", t && t->polls == 100);
	CHECK("ledger first wakes", t && t->wakes == 12);
	CHECK("ledger first busy", t && t->busy_ns == 2000000000ULL);

	/* task 0 gone, task 1 woken twice, a new worker thread appears */
	f.tasks[0] = f.tasks[2];
	f.tasks[0].st.wakes = 9;
	f.tasks[1].st.wakes = 2;
	f.p.ntasks = 2;
	f.workers[0].st.polls = 150;
	f.workers[0].st.busy_ns = 2500000000ULL;
	serve_ledger__update(&l, &f.sp, 1);
	t = serve_ledger__find(&l, 7);
	CHECK("ledger polls grow", t && t->polls == 150);
	CHECK("ledger wakes count what each task gained", t && t->wakes == 12 + 2 + 2);
	CHECK("ledger busy grows", t && t->busy_ns == 2500000000ULL);

	/*
	 * Lower than the mark (a sampled estimate reading low, a tid reused):
	 * nothing gained, nothing lost; growth past the mark counts again.
	 */
	f.workers[0].st.polls = 3;
	f.workers[0].st.busy_ns = 1000;
	f.tasks[1].st.wakes = 1;
	serve_ledger__update(&l, &f.sp, 1);
	t = serve_ledger__find(&l, 7);
	CHECK("ledger lower reads gain nothing",
	      t && t->polls == 150 && t->busy_ns == 2500000000ULL && t->wakes == 16);
	f.workers[0].st.polls = 160;
	f.workers[0].st.busy_ns = 2600000000ULL;
	f.tasks[1].st.wakes = 4;
	serve_ledger__update(&l, &f.sp, 1);
	t = serve_ledger__find(&l, 7);
	CHECK("ledger growth past the mark counts",
	      t && t->polls == 160 && t->busy_ns == 2600000000ULL && t->wakes == 18);

	/* probe hits of per-process objects: gains summed, kept when the process goes */
	f.p.counters[TS_CNT_POLLS] = 40;
	f.p.counters[TS_CNT_WAKES] = 2;
	serve_ledger__update(&l, &f.sp, 1);
	CHECK("ledger own hits", l.own_hits == 42);
	f.p.counters[TS_CNT_POLLS] = 50;
	serve_ledger__update(&l, &f.sp, 1);
	CHECK("ledger own hits grow", l.own_hits == 52);

	/* the process gone: forgotten */
	serve_ledger__update(&l, NULL, 0);
	CHECK("ledger forgets gone processes", !serve_ledger__find(&l, 7) && l.n == 0);
	CHECK("ledger keeps gone processes' hits", l.own_hits == 52);
	serve_ledger__free(&l);
}

int main(void)
{
	test_listen();
	test_auth();
	test_label();
	test_exposition();
	test_cap();
	test_ledger();
	UNIT_EXIT();
}
