/*
 * Await chains from DWARF: pure name/path/format checks (any user), the
 * clear message for a binary without DWARF and debuginfo found through
 * .gnu_debuglink (any user, needs objcopy), and live chains of the
 * await_nested target (root: reading another process's memory).
 * TS_DWARF_VERBOSE=1 prints every chain as "#" lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "await_chain.h"
#include "dwarf_index.h"
#include "dwarf_types.h"
#include "json_writer.h"
#include "procfs.h"
#include "runtime_binary.h"
#include "task_memory.h"
#include "unit.h"

static char repo_root[2048];
static bool verbose;

/* The chain's JSON as a string, through the writer the report streams with. */
static void chain_json(const struct ts_await_chain *c, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");
	struct json_writer jw;

	buf[0] = '\0';
	if (!f)
		return;
	jw_init(&jw, f);
	ts_await_chain__json(c, &jw);
	fclose(f);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void find_repo_root(void)
{
	char exe[PATH_MAX], probe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	/* build/tests/test_dwarf -> the repository; else where tests/run.sh runs */
	if (n > 0) {
		exe[n] = '\0';
		snprintf(repo_root, sizeof(repo_root), "%.2000s", dirname(dirname(dirname(exe))));
		snprintf(probe, sizeof(probe), "%s/tests/targets", repo_root);
		if (access(probe, F_OK) == 0)
			return;
	}
	if (!realpath(".", repo_root))
		snprintf(repo_root, sizeof(repo_root), ".");
}

static void test_readable_names(void)
{
	char out[256];

	ts_await_readable_name("await_nested::db_query::{async_fn_env#0}", NULL, out, sizeof(out));
	CHECK_STR("name: async fn env dropped", out, "await_nested::db_query");
	ts_await_readable_name("my_app::main::{async_block_env#1}", NULL, out, sizeof(out));
	CHECK_STR("name: async block", out, "my_app::main::{async block}");
	ts_await_readable_name("tokio::sync::mutex::{impl#8}::lock::{async_fn_env#0}<u64>",
			       "tokio::sync::mutex::Mutex<u64>", out, sizeof(out));
	CHECK_STR("name: impl method with self type", out, "tokio::sync::mutex::Mutex<u64>::lock");
	ts_await_readable_name("tokio::sync::mutex::{impl#8}::lock::{async_fn_env#0}<u64>", NULL, out,
			       sizeof(out));
	CHECK_STR("name: impl method without self type", out, "tokio::sync::mutex::lock<u64>");
	ts_await_readable_name("tokio::future::poll_fn::PollFn<tokio::sync::mpsc::bounded::{impl#0}::recv::{async_fn#0}::{closure_env#0}<u64>>",
			       NULL, out, sizeof(out));
	CHECK_STR("name: closure inside generics", out,
		  "tokio::future::poll_fn::PollFn<tokio::sync::mpsc::bounded::recv::{closure}<u64>>");
	ts_await_readable_name("tokio::time::timeout::Timeout<await_nested::db_query::{async_fn_env#0}>",
			       NULL, out, sizeof(out));
	CHECK_STR("name: env inside generics", out, "tokio::time::timeout::Timeout<await_nested::db_query>");
	ts_await_readable_name("tokio::task::yield_now::yield_now::{async_fn#0}::YieldNow", NULL, out,
			       sizeof(out));
	CHECK_STR("name: item inside an async fn", out, "tokio::task::yield_now::yield_now::YieldNow");
	ts_await_readable_name("app::main::{async_block#0}::{async_block_env#1}", NULL, out, sizeof(out));
	CHECK_STR("name: async block inside #[tokio::main]'s", out, "app::main::{async block}");
	ts_await_readable_name("u64", NULL, out, sizeof(out));
	CHECK_STR("name: plain", out, "u64");
	ts_await_readable_name("a::very::long::path::{async_fn_env#0}", NULL, out, 8);
	CHECK("name: cut to the buffer", strlen(out) == 7);
}

static void test_paths(void)
{
	char out[256];
	bool ext = true;

	ts_await_short_path("/work/main/tests/targets/tokio/await_nested/src/main.rs", out, sizeof(out), &ext);
	CHECK_STR("path: own crate from src/", out, "src/main.rs");
	CHECK("path: own crate not external", !ext);
	ts_await_short_path("/home/u/app/src/api/src/handlers.rs", out, sizeof(out), &ext);
	CHECK_STR("path: last src/ wins", out, "src/handlers.rs");
	ts_await_short_path("/usr/share/cargo/registry/tokio-1.24.2/src/sync/mutex.rs", out, sizeof(out), &ext);
	CHECK_STR("path: registry crate keeps its directory", out, "tokio-1.24.2/src/sync/mutex.rs");
	CHECK("path: registry crate external", ext);
	ts_await_short_path("/rustc/59807616e/library/core/src/future/mod.rs", out, sizeof(out), &ext);
	CHECK_STR("path: std", out, "core/src/future/mod.rs");
	ts_await_short_path("src/lib.rs", out, sizeof(out), &ext);
	CHECK_STR("path: already relative", out, "src/lib.rs");
	ts_await_short_path("/tmp/gen.rs", out, sizeof(out), &ext);
	CHECK_STR("path: no src/ gives the file name", out, "gen.rs");
}

static void test_remaining(void)
{
	char out[64];

	ts_await_format_remaining(27700000000LL, out, sizeof(out));
	CHECK_STR("remaining: seconds", out, "fires in 27.7 s");
	ts_await_format_remaining(-3000000000LL, out, sizeof(out));
	CHECK_STR("remaining: overdue", out, "overdue by 3.0 s");
	ts_await_format_remaining(3598LL * 1000000000LL, out, sizeof(out));
	CHECK_STR("remaining: minutes", out, "fires in 59 min 58 s");
	ts_await_format_remaining(5LL * 3600 * 1000000000LL, out, sizeof(out));
	CHECK_STR("remaining: hours", out, "fires in 5.0 h");
	ts_await_format_remaining(INT64_MIN, out, sizeof(out));
	CHECK("remaining: INT64_MIN does not overflow", !strncmp(out, "overdue by", 10));
}

static void test_text_helpers(void)
{
	char parts[8][256], out[64];
	int n;

	n = dw_split_path("tokio::runtime::task::core::Cell<a::B, c::D<e::F>>", parts, 8);
	CHECK("split: top-level :: only", n == 5 && !strcmp(parts[4], "Cell<a::B, c::D<e::F>>"));
	n = dw_split_path("tokio::time::sleep::Sleep", parts, 8);
	CHECK("split: plain path", n == 4 && !strcmp(parts[0], "tokio") && !strcmp(parts[3], "Sleep"));
	dw_quote_text("al\"ice", 6, false, out, sizeof(out));
	CHECK_STR("quote: escapes", out, "\"al\\\"ice\"");
	dw_quote_text("abcdef", 3, true, out, sizeof(out));
	CHECK_STR("quote: cut marked", out, "\"abc\"...");
	dw_quote_text("\xc3\xa9\xc3\xa9", 3, true, out, sizeof(out));
	CHECK_STR("quote: no half UTF-8 sequence", out, "\"\xc3\xa9\"...");
}

static void test_format(void)
{
	struct ts_await_chain *c = calloc(1, sizeof(*c));
	char buf[2048];

	if (!c)
		return;
	c->status = TS_CHAIN_SUSPENDED;
	c->nframes = 2;
	snprintf(c->frames[0].func, sizeof(c->frames[0].func), "app::handle_request");
	snprintf(c->frames[0].file, sizeof(c->frames[0].file), "src/api/handlers.rs");
	c->frames[0].line = 23;
	snprintf(c->frames[0].variant, sizeof(c->frames[0].variant), "Suspend1");
	c->frames[0].nvars = 1;
	snprintf(c->frames[0].vars[0].name, sizeof(c->frames[0].vars[0].name), "request_id");
	snprintf(c->frames[0].vars[0].value, sizeof(c->frames[0].vars[0].value), "7");
	snprintf(c->frames[1].func, sizeof(c->frames[1].func), "app::fetch_user_data");
	snprintf(c->frames[1].file, sizeof(c->frames[1].file), "src/users.rs");
	c->frames[1].line = 34;
	snprintf(c->frames[1].variant, sizeof(c->frames[1].variant), "Suspend0");
	c->leaf.kind = TS_LEAF_SEMAPHORE;
	snprintf(c->leaf.type_name, sizeof(c->leaf.type_name), "tokio::sync::batch_semaphore::Acquire");
	snprintf(c->leaf.detail, sizeof(c->leaf.detail), "waiting on semaphore 0x7f00a0");
	ts_await_chain__format(c, buf, sizeof(buf));
	CHECK_STR("format: tree", buf,
		  "  \u2514\u2500 app::handle_request   src/api/handlers.rs:23   (Suspend1)\n"
		  "     \u2514\u2500 app::fetch_user_data   src/users.rs:34   (Suspend0)\n"
		  "        \u2514\u2500 tokio::sync::batch_semaphore::Acquire   waiting on semaphore 0x7f00a0\n");
	ts_await_chain__format_detail(c, buf, sizeof(buf));
	CHECK("format: detail shows variables", strstr(buf, "\n     request_id = 7\n") != NULL);
	ts_await_chain__format(c, buf, 40);
	CHECK("format: cut to the buffer", strlen(buf) == 39);
	snprintf(c->frames[0].vars[0].value, sizeof(c->frames[0].vars[0].value), "\"a\\b\"");
	chain_json(c, buf, sizeof(buf));
	CHECK("json: frames", strstr(buf, "\"frames\":[{\"func\":\"app::handle_request\",\"file\":\"src/api/handlers.rs\",\"line\":23,\"variant\":\"Suspend1\"") != NULL);
	CHECK("json: escaped value", strstr(buf, "\"vars\":{\"request_id\":\"\\\"a\\\\b\\\"\"}") != NULL);
	CHECK("json: leaf", strstr(buf, "\"leaf\":{\"kind\":\"semaphore\",\"type\":\"tokio::sync::batch_semaphore::Acquire\"") != NULL);
	CHECK("json: closed", buf[0] == '{' && buf[strlen(buf) - 1] == '}');
	if (verbose)
		printf("# %s\n", buf);
	c->status = TS_CHAIN_FINISHED;
	ts_await_chain__format(c, buf, sizeof(buf));
	CHECK("format: finished task", strstr(buf, "finished") != NULL);
	free(c);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A stripped copy, and a copy whose DWARF sits in a .debug file named by .gnu_debuglink. */
static void test_no_dwarf(const char *bin)
{
	char dir[] = "/tmp/ts_dwarf_XXXXXX", cmd[3 * PATH_MAX], stripped[PATH_MAX], linked[PATH_MAX];
	char why[512], nodebug[PATH_MAX];
	struct ts_dwarf *dw = NULL;
	int err;

	snprintf(nodebug, sizeof(nodebug), "%s/tests/targets/target/nodebug/await_nested", repo_root);
	if (access(nodebug, X_OK) == 0) {
		err = ts_dwarf__open(nodebug, NULL, &dw, why, sizeof(why));
		CHECK("nodebug profile: -ENODATA", err == -ENODATA && !dw);
		CHECK("nodebug profile: says how to fix", strstr(why, "debug = true") && strstr(why, "--debuginfo"));
		ts_dwarf__close(dw);
		dw = NULL;
	}
	if (!mkdtemp(dir) || run("command -v objcopy >/dev/null")) {
		printf("SKIP no-DWARF checks (objcopy or /tmp unavailable)\n");
		return;
	}
	snprintf(stripped, sizeof(stripped), "%s/nodebug", dir);
	snprintf(cmd, sizeof(cmd), "objcopy --strip-debug '%s' '%s'", bin, stripped);
	if (run(cmd)) {
		printf("SKIP no-DWARF checks (objcopy failed)\n");
		goto cleanup;
	}
	err = ts_dwarf__open(stripped, NULL, &dw, why, sizeof(why));
	CHECK("no DWARF: -ENODATA", err == -ENODATA && !dw);
	CHECK("no DWARF: names the file", strstr(why, stripped) != NULL);
	CHECK("no DWARF: says how to fix", strstr(why, "debug = true") && strstr(why, "--debuginfo FILE"));
	CHECK("no DWARF: one line", !strchr(why, '\n'));
	if (verbose)
		printf("# why: %s\n", why);
	ts_dwarf__close(dw);
	dw = NULL;

	err = ts_dwarf__open(stripped, bin, &dw, why, sizeof(why));
	CHECK("--debuginfo FILE: opens", err == 0 && dw);
	ts_dwarf__close(dw);
	dw = NULL;

	snprintf(linked, sizeof(linked), "%s/linked", dir);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && objcopy --only-keep-debug '%s' linked.debug && "
		 "objcopy --strip-debug --add-gnu-debuglink=linked.debug '%s' linked",
		 dir, bin, bin);
	if (run(cmd)) {
		printf("SKIP debuglink check (objcopy failed)\n");
		goto cleanup;
	}
	err = ts_dwarf__open(linked, NULL, &dw, why, sizeof(why));
	CHECK("debuglink: found next to the binary", err == 0 && dw && strstr(dw->dwarf_path, "linked.debug"));
	ts_dwarf__close(dw);
	dw = NULL;
	snprintf(cmd, sizeof(cmd), "rm -f '%s/linked.debug'", dir);
	run(cmd);
	err = ts_dwarf__open(linked, NULL, &dw, why, sizeof(why));
	CHECK("debuglink missing: says which file", err == -ENODATA && strstr(why, "linked.debug"));
	if (verbose)
		printf("# why: %s\n", why);
	ts_dwarf__close(dw);
cleanup:
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	run(cmd);
}

/* --- live ----------------------------------------------------------------- */

struct target {
	pid_t pid;
	FILE *out;
};

static int target_start(struct target *t, const char *bin)
{
	int fds[2];
	char line[128];
	struct pollfd pfd;

	if (pipe(fds))
		return -errno;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	t->out = fdopen(fds[0], "r");
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	if (!t->out || poll(&pfd, 1, 10000) != 1 || !fgets(line, sizeof(line), t->out) ||
	    strncmp(line, "ready", 5))
		return -EIO;
	return 0;
}

static void target_stop(struct target *t)
{
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	if (t->out)
		fclose(t->out);
}

struct live_task {
	struct mem_task mt;
	char name[192];
	struct ts_await_chain chain;
};

static struct live_task *task_named(struct live_task *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static const char *var_of(const struct ts_await_frame *f, const char *name)
{
	int i;

	for (i = 0; i < f->nvars; i++)
		if (!strcmp(f->vars[i].name, name))
			return f->vars[i].value;
	return "(none)";
}

static bool frame_is(const struct ts_await_chain *c, int i, const char *func, const char *file,
		     uint32_t line, const char *variant)
{
	const struct ts_await_frame *f;

	if (i >= c->nframes)
		return false;
	f = &c->frames[i];
	return !strcmp(f->func, func) && (!file || !strcmp(f->file, file)) && (!line || f->line == line) &&
	       (!variant || !strcmp(f->variant, variant));
}

static void check_chains(struct live_task *v, size_t n, double started)
{
	const struct ts_await_chain *c;
	struct live_task *t, *nf;
	double up = now_s() - started;
	char name[160];

#define TASK(var, fname) \
	t = task_named(v, n, fname); \
	CHECK("live: task " fname " found", t != NULL); \
	c = t ? &t->chain : NULL; \
	if (c)

	TASK(c, "await_nested::handle_request") {
		CHECK("handle_request: 3 frames", c->nframes == 3);
		CHECK("handle_request: frame 0 at its second await",
		      frame_is(c, 0, "await_nested::handle_request", "src/main.rs", 28, "Suspend1"));
		CHECK("handle_request: frame 1 fetch_user_data",
		      frame_is(c, 1, "await_nested::fetch_user_data", "src/main.rs", 21, "Suspend0"));
		CHECK("handle_request: frame 2 db_query",
		      frame_is(c, 2, "await_nested::db_query", "src/main.rs", 14, "Suspend0"));
		CHECK("handle_request: own frames not external", c->nframes && !c->frames[0].external);
		CHECK("handle_request: leaf timer", c->leaf.kind == TS_LEAF_TIMER);
		CHECK_STR("handle_request: leaf type", c->leaf.type_name, "tokio::time::Sleep");
		CHECK("handle_request: 3600 s sleep remaining",
		      c->leaf.has_deadline && c->leaf.remaining_ns > (3600 - up - 2) * 1e9 &&
		      c->leaf.remaining_ns <= 3600e9);
		CHECK_STR("vars: u32 param", var_of(&c->frames[0], "request_id"), "7");
		CHECK_STR("vars: &str", var_of(&c->frames[0], "route"), "\"/api/users/42\"");
		CHECK_STR("vars: String", var_of(&c->frames[1], "owner"), "\"alice\"");
		CHECK_STR("vars: bool", var_of(&c->frames[1], "cached"), "false");
		CHECK_STR("vars: u64", var_of(&c->frames[2], "user_id"), "42");
		CHECK_STR("vars: &'static str param", var_of(&c->frames[2], "table"), "\"users\"");
		CHECK_STR("vars: local u32", var_of(&c->frames[2], "attempt"), "7");
		CHECK("vars: no __awaitee", strcmp(var_of(&c->frames[2], "__awaitee"), "(none)") == 0);
	}
	TASK(c, "await_nested::short_timer") {
		CHECK("short_timer: frame", c->nframes == 1 &&
		      frame_is(c, 0, "await_nested::short_timer", "src/main.rs", 33, "Suspend0"));
		CHECK("short_timer: 30 s sleep remaining within tolerance",
		      c->leaf.kind == TS_LEAF_TIMER && c->leaf.remaining_ns > (30 - up - 1) * 1e9 &&
		      c->leaf.remaining_ns <= 30e9);
		CHECK("short_timer: detail says fires in", !strncmp(c->leaf.detail, "fires in 2", 10));
		CHECK_STR("vars: negative i32", var_of(&c->frames[0], "label"), "-5");
	}
	uint64_t mutex = 0;

	TASK(c, "await_nested::hold_lock") {
		CHECK("hold_lock: sleeping with the guard",
		      frame_is(c, 0, "await_nested::hold_lock", "src/main.rs", 40, "Suspend1") &&
		      c->leaf.kind == TS_LEAF_TIMER);
		CHECK("hold_lock: holds a mutex guard", c->nholds >= 1 && c->holds[0].kind == TS_HOLD_MUTEX_GUARD &&
		      !strcmp(c->holds[0].var, "g"));
		mutex = c->nholds ? c->holds[0].object : 0;
		snprintf(name, sizeof(name), "mutex guard 0x%" PRIx64, mutex);
		CHECK_STR("vars: guard names its mutex", var_of(&c->frames[0], "g"), name);
		snprintf(name, sizeof(name), "0x%" PRIx64, mutex);
		CHECK_STR("vars: Arc shows its data", var_of(&c->frames[0], "m"), name);
	}
	TASK(c, "await_nested::lock_waiter") {
		CHECK("lock_waiter: frame 0", frame_is(c, 0, "await_nested::lock_waiter", "src/main.rs", 45, "Suspend0"));
		CHECK("lock_waiter: through Mutex::lock",
		      frame_is(c, 1, "tokio::sync::mutex::Mutex<u64>::lock", "tokio-1.24.2/src/sync/mutex.rs", 0, NULL) &&
		      c->frames[1].external);
		CHECK("lock_waiter: leaf mutex", c->leaf.kind == TS_LEAF_MUTEX);
		CHECK("lock_waiter: the mutex hold_lock holds", mutex && c->leaf.object == mutex);
		CHECK_STR("lock_waiter: leaf type", c->leaf.type_name, "tokio::sync::batch_semaphore::Acquire");
	}
	uint64_t chan = 0;

	TASK(c, "await_nested::channel_reader") {
		CHECK("channel_reader: frame 0", frame_is(c, 0, "await_nested::channel_reader", "src/main.rs", 51, "Suspend0"));
		CHECK("channel_reader: through recv",
		      frame_is(c, 1, "tokio::sync::mpsc::bounded::Receiver<u64>::recv", NULL, 0, NULL));
		CHECK("channel_reader: leaf channel recv", c->leaf.kind == TS_LEAF_CHAN_RECV && c->leaf.object);
		chan = c->leaf.object;
		snprintf(name, sizeof(name), "receiver of channel 0x%" PRIx64, chan);
		CHECK_STR("vars: receiver names its channel", var_of(&c->frames[0], "rx"), name);
	}
	TASK(c, "await_nested::channel_writer") {
		CHECK("channel_writer: at the second send",
		      frame_is(c, 0, "await_nested::channel_writer", "src/main.rs", 59, "Suspend1"));
		CHECK("channel_writer: leaf channel send", c->leaf.kind == TS_LEAF_CHAN_SEND && c->leaf.object);
		CHECK("channel_writer: another channel than the reader's", c->leaf.object != chan);
		CHECK("channel_writer: holds its sender", c->nholds >= 1 && c->holds[0].kind == TS_HOLD_SENDER &&
		      c->holds[0].object == c->leaf.object);
	}
	nf = task_named(v, n, "await_nested::never_finishes");
	/* Stage<never_finishes> is niche-encoded: Finished dataful, Running = 2, Consumed = 4 */
	TASK(c, "await_nested::never_finishes") {
		CHECK("never_finishes: niche-encoded Stage decoded as Running, pending",
		      frame_is(c, 0, "await_nested::never_finishes", "src/main.rs", 63, "Suspend0") &&
		      c->leaf.kind == TS_LEAF_PENDING);
	}
	TASK(c, "await_nested::join_waiter") {
		CHECK("join_waiter: frame", frame_is(c, 0, "await_nested::join_waiter", "src/main.rs", 68, "Suspend0"));
		CHECK("join_waiter: leaf join", c->leaf.kind == TS_LEAF_JOIN);
		CHECK("join_waiter: awaits never_finishes's task", nf && c->leaf.object == nf->mt.header);
		CHECK_STR("join_waiter: leaf type", c->leaf.type_name, "tokio::task::JoinHandle<()>");
	}
	TASK(c, "await_nested::niche_holder") {
		CHECK("niche: 3 frames", c->nframes == 3);
		CHECK("niche: holder frame", frame_is(c, 0, "await_nested::niche_holder", "src/main.rs", 101, "Suspend0"));
		/* Step's discriminant is the Box pointer's niche: Running is the default variant */
		CHECK("niche: Step wrapper decoded to Running",
		      frame_is(c, 1, "await_nested::Step<await_nested::maybe_inner>", NULL, 0, "Running") &&
		      c->frames[1].wrapper);
		CHECK("niche: inner future", frame_is(c, 2, "await_nested::maybe_inner", "src/main.rs", 72, "Suspend0"));
		CHECK_STR("niche: inner var", var_of(&c->frames[2], "flag"), "true");
		CHECK("niche: leaf pending", c->leaf.kind == TS_LEAF_PENDING);
	}
	TASK(c, "await_nested::boxed_dyn") {
		CHECK("dyn: holder frame", frame_is(c, 0, "await_nested::boxed_dyn", "src/main.rs", 106, "Suspend0"));
		CHECK("dyn: concrete future through the vtable",
		      frame_is(c, 1, "await_nested::db_query", "src/main.rs", 14, "Suspend0"));
		CHECK_STR("dyn: its vars", var_of(&c->frames[1], "table"), "\"boxed\"");
		CHECK("dyn: leaf timer", c->leaf.kind == TS_LEAF_TIMER);
	}
	TASK(c, "await_nested::with_timeout") {
		CHECK("timeout: holder frame", frame_is(c, 0, "await_nested::with_timeout", "src/main.rs", 110, "Suspend0"));
		CHECK("timeout: wrapper frame",
		      frame_is(c, 1, "tokio::time::timeout::Timeout<await_nested::db_query>", NULL, 0, NULL) &&
		      c->frames[1].wrapper);
		CHECK("timeout: its own deadline shown", !strncmp(var_of(&c->frames[1], "delay"), "fires in 29 min", 15) ||
		      !strncmp(var_of(&c->frames[1], "delay"), "fires in 30 min", 15));
		CHECK("timeout: note on the wrapper", !strncmp(c->frames[1].note, "delay: fires in 29 min", 22) ||
		      !strncmp(c->frames[1].note, "delay: fires in 30 min", 22));
		CHECK("timeout: inner future", frame_is(c, 2, "await_nested::db_query", "src/main.rs", 14, "Suspend0"));
		CHECK("timeout: leaf is the inner sleep", c->leaf.kind == TS_LEAF_TIMER &&
		      c->leaf.remaining_ns > 1800e9);
	}
	TASK(c, "await_nested::enum_vars") {
		CHECK("enums: frame", frame_is(c, 0, "await_nested::enum_vars", "src/main.rs", 121, "Suspend0"));
		CHECK_STR("vars: fieldless enum by name", var_of(&c->frames[0], "mode"), "Fast");
		CHECK_STR("vars: Some(3)", var_of(&c->frames[0], "retry"), "Some(3)");
		CHECK_STR("vars: None", var_of(&c->frames[0], "last"), "None");
	}
	TASK(c, "await_nested::main::{async block}") {
		CHECK("async block: frame", frame_is(c, 0, "await_nested::main::{async block}", "src/main.rs", 144, "Suspend0"));
		CHECK_STR("async block: captured u16", var_of(&c->frames[0], "batch"), "12");
	}
	TASK(c, "await_nested::never_polled") {
		CHECK("unresumed: status", c->status == TS_CHAIN_UNRESUMED && c->leaf.kind == TS_LEAF_NONE);
		CHECK("unresumed: at the fn's line", frame_is(c, 0, "await_nested::never_polled", "src/main.rs", 180, "Unresumed"));
		CHECK_STR("unresumed: its arguments", var_of(&c->frames[0], "id"), "77");
	}
	TASK(c, "await_nested::joiner") {
		/* the await's DWARF line is inside tokio's join! macro: the fn's own line is shown */
		CHECK("join!: own frame at the fn's line", frame_is(c, 0, "await_nested::joiner", "src/main.rs", 188, "Suspend0") &&
		      !c->frames[0].external && strstr(c->frames[0].note, "tokio-1.24.2/src/macros/join.rs:"));
		CHECK("join!: macro frame counts pending branches",
		      frame_is(c, 1, "tokio::join!", NULL, 0, NULL) && !strcmp(c->frames[1].note, "1 of 2 branches pending"));
		CHECK("join!: follows the pending branch, not the finished one",
		      frame_is(c, 2, "await_nested::db_query", "src/main.rs", 14, "Suspend0") &&
		      !strcmp(var_of(&c->frames[2], "table"), "\"join\"") && c->leaf.kind == TS_LEAF_TIMER);
	}
	TASK(c, "await_nested::selector") {
		CHECK("select!: own frame", frame_is(c, 0, "await_nested::selector", "src/main.rs", 193, "Suspend0"));
		CHECK("select!: macro frame", frame_is(c, 1, "tokio::select!", NULL, 0, NULL) &&
		      !strcmp(c->frames[1].note, "2 of 2 branches pending"));
		CHECK("select!: first pending branch", frame_is(c, 2, "await_nested::db_query", "src/main.rs", 14, NULL) &&
		      c->leaf.kind == TS_LEAF_TIMER);
	}
	TASK(c, "await_nested::notify_waiter") {
		CHECK("notify: frame and leaf", frame_is(c, 0, "await_nested::notify_waiter", "src/main.rs", 201, "Suspend0") &&
		      c->leaf.kind == TS_LEAF_NOTIFY);
		snprintf(name, sizeof(name), "0x%" PRIx64, c->leaf.object);
		CHECK_STR("notify: the Notify its Arc points to", var_of(&c->frames[0], "n"), name);
	}
	TASK(c, "await_nested::oneshot_waiter") {
		CHECK("oneshot: recv", frame_is(c, 0, "await_nested::oneshot_waiter", "src/main.rs", 205, "Suspend0") &&
		      c->leaf.kind == TS_LEAF_CHAN_RECV && c->leaf.object);
		CHECK_STR("oneshot: leaf type", c->leaf.type_name, "tokio::sync::oneshot::Receiver<u32>");
	}
	uint64_t rw = 0;

	TASK(c, "await_nested::rwlock_reader") {
		CHECK("rwlock: reader holds a read guard",
		      frame_is(c, 0, "await_nested::rwlock_reader", "src/main.rs", 210, "Suspend1") &&
		      c->nholds == 1 && c->holds[0].kind == TS_HOLD_RWLOCK_GUARD);
		rw = c->nholds ? c->holds[0].object : 0;
	}
	TASK(c, "await_nested::rwlock_writer") {
		CHECK("rwlock: writer through RwLock::write",
		      frame_is(c, 0, "await_nested::rwlock_writer", "src/main.rs", 215, "Suspend0") &&
		      frame_is(c, 1, "tokio::sync::rwlock::RwLock<u32>::write", "tokio-1.24.2/src/sync/rwlock.rs", 0, NULL));
		CHECK("rwlock: waits on the lock the reader holds", c->leaf.kind == TS_LEAF_RWLOCK && rw &&
		      c->leaf.object == rw);
	}
	TASK(c, "await_nested::semaphore_waiter") {
		CHECK("semaphore: through Semaphore::acquire",
		      frame_is(c, 0, "await_nested::semaphore_waiter", "src/main.rs", 220, "Suspend0") &&
		      frame_is(c, 1, "tokio::sync::semaphore::Semaphore::acquire", NULL, 0, NULL));
		snprintf(name, sizeof(name), "0x%" PRIx64, c->leaf.object);
		CHECK("semaphore: leaf names the Semaphore", c->leaf.kind == TS_LEAF_SEMAPHORE &&
		      !strcmp(var_of(&c->frames[0], "s"), name));
	}
	TASK(c, "await_nested::watch_waiter") {
		CHECK("watch: changed is a channel recv",
		      frame_is(c, 1, "tokio::sync::watch::Receiver<u32>::changed", NULL, 0, NULL) &&
		      c->leaf.kind == TS_LEAF_CHAN_RECV && c->leaf.object);
		snprintf(name, sizeof(name), "receiver of channel 0x%" PRIx64, c->leaf.object);
		CHECK_STR("watch: the receiver held names the same channel", var_of(&c->frames[0], "rx"), name);
	}
	TASK(c, "await_nested::broadcast_waiter") {
		CHECK("broadcast: recv", frame_is(c, 0, "await_nested::broadcast_waiter", "src/main.rs", 228, "Suspend0") &&
		      c->leaf.kind == TS_LEAF_CHAN_RECV && c->leaf.object);
		snprintf(name, sizeof(name), "receiver of channel 0x%" PRIx64, c->leaf.object);
		CHECK_STR("broadcast: the receiver held names the same channel", var_of(&c->frames[0], "rx"), name);
	}
	TASK(c, "await_nested::unbounded_reader") {
		CHECK("unbounded: recv", frame_is(c, 0, "await_nested::unbounded_reader", "src/main.rs", 232, "Suspend0") &&
		      c->leaf.kind == TS_LEAF_CHAN_RECV);
		snprintf(name, sizeof(name), "receiver of channel 0x%" PRIx64, c->leaf.object);
		CHECK_STR("unbounded: same channel as the receiver held", var_of(&c->frames[0], "rx"), name);
	}
#undef TASK
}

static void test_unreadable(struct ts_dwarf *dw, struct live_task *t, pid_t pid, uint64_t bias,
			    uint64_t poll_vaddr)
{
	struct ts_await_chain *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return;
	err = ts_dwarf__task_chain(dw, pid, bias, poll_vaddr, 0x10, c);
	CHECK("unreadable header: no crash, says so", err == 0 && c->status == TS_CHAIN_UNREADABLE);
	/* a live process, but the header of a task that isn't there: garbage, never a crash */
	err = ts_dwarf__task_chain(dw, pid, bias, poll_vaddr, t->mt.header + 8, c);
	CHECK("shifted header: no crash", err == 0);
	err = ts_dwarf__task_chain(dw, pid, bias, 0x1234, t->mt.header, c);
	CHECK("unknown poll fn: -ENOENT", err == -ENOENT && c->status == TS_CHAIN_NO_TYPE);
	free(c);
}

/*
 * Garbage in: every task's header read as every other task's type, and
 * shifted headers. The walk must end (depth and cycle guards), quickly,
 * without faulting: memory is only read through process_vm_readv.
 */
static void test_garbage(struct ts_dwarf *dw, const struct runtime_binary *tb, struct live_task *v,
			 size_t n, pid_t pid, uint64_t bias)
{
	struct ts_await_chain *c = calloc(1, sizeof(*c));
	double t0 = now_s();
	size_t i, j, runs = 0;
	int64_t shift;

	if (!c)
		return;
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			uint64_t pv = tb->polls[tb->vtables[v[j].mt.vtable_idx].poll_idx].fn.vaddr;

			for (shift = -128; shift <= 128; shift += 8, runs++)
				ts_dwarf__task_chain(dw, pid, bias, pv, v[i].mt.header + shift, c);
		}
	}
	printf("# %zu mismatched chains in %.0f ms\n", runs, (now_s() - t0) * 1e3);
	CHECK("garbage: mismatched types and shifted headers end, without faults",
	      now_s() - t0 < 10);
	free(c);
}

static void test_live(const char *bin)
{
	struct runtime_binary tb = {};
	struct proc_maps maps = {};
	struct mem_scan_stats st;
	struct mem_task *mt = NULL;
	struct live_task *tasks = NULL;
	struct target tgt = {};
	struct ts_dwarf *dw = NULL;
	char why[512], buf[8192];
	uint64_t bias = 0, off;
	double t0, t_open, t_chains, started;
	size_t n = 0, i;
	int err;

	if (geteuid() != 0) {
		printf("SKIP live await chains (needs root to read another process's memory)\n");
		return;
	}
	started = now_s();
	err = target_start(&tgt, bin);
	CHECK("live: await_nested starts", err == 0);
	if (err)
		goto cleanup;
	err = runtime_binary__load(&tb, bin);
	CHECK("live: tokio binary scanned", err == 0 && tb.npolls);
	if (err)
		goto cleanup;
	err = proc_maps__read(tgt.pid, &maps);
	if (!err)
		err = proc_maps__load_bias(&maps, bin, tb.polls[0].fn.vaddr, tb.polls[0].fn.file_off, &bias);
	CHECK("live: load bias", err == 0);
	err = task_memory__discover(tgt.pid, &tb, bias, &mt, &n, &st);
	CHECK("live: tasks discovered", err == 0 && n >= 12);
	if (err || !n)
		goto cleanup;

	t0 = now_s();
	err = ts_dwarf__open(bin, NULL, &dw, why, sizeof(why));
	t_open = now_s() - t0;
	CHECK("live: DWARF opens", err == 0);
	if (err) {
		printf("# %s\n", why);
		goto cleanup;
	}
	tasks = calloc(n, sizeof(*tasks));
	if (!tasks)
		goto cleanup;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		const struct task_vtable *vt = &tb.vtables[mt[i].vtable_idx];
		uint64_t pv = tb.polls[vt->poll_idx].fn.vaddr;

		tasks[i].mt = mt[i];
		ts_dwarf__future_name(dw, pv, tasks[i].name, sizeof(tasks[i].name));
		ts_dwarf__task_chain(dw, tgt.pid, bias, pv, mt[i].header, &tasks[i].chain);
	}
	t_chains = now_s() - t0;
	for (i = 0; verbose && i < n; i++) {
		printf("# task %s (header 0x%" PRIx64 ")\n", tasks[i].name, tasks[i].mt.header);
		ts_await_chain__format_detail(&tasks[i].chain, buf, sizeof(buf));
		for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
			printf("# %s\n", l);
	}
	printf("# %zu tasks: open %.1f ms, chains %.1f ms, %" PRIu64 " CUs indexed\n", n,
	       t_open * 1e3, t_chains * 1e3, dw->cus_indexed);
	check_chains(tasks, n, started);

	err = ts_dwarf__member_offset(dw, "tokio::runtime::task::raw::Vtable", "poll", &off);
	CHECK("member_offset: Vtable.poll", err == 0 && off == 0);
	err = ts_dwarf__member_offset(dw, "tokio::runtime::task::core::Header", "vtable", &off);
	CHECK("member_offset: Header.vtable", err == 0 && off == tb.layout.hdr_vtable_off);
	err = ts_dwarf__member_offset(dw, "tokio::runtime::task::core::Header", "nope", &off);
	CHECK("member_offset: missing member", err == -ENOENT);
	err = ts_dwarf__member_offset(dw, "no::such::Type", "x", &off);
	CHECK("member_offset: missing type", err == -ENOENT);
	test_garbage(dw, &tb, tasks, n, tgt.pid, bias);
	test_unreadable(dw, &tasks[0], tgt.pid, bias, tb.polls[tb.vtables[mt[0].vtable_idx].poll_idx].fn.vaddr);
cleanup:
	target_stop(&tgt);
	ts_dwarf__close(dw);
	free(tasks);
	free(mt);
	proc_maps__free(&maps);
	runtime_binary__free(&tb);
}

int main(void)
{
	char bin[PATH_MAX], real[PATH_MAX];

	verbose = getenv("TS_DWARF_VERBOSE") && atoi(getenv("TS_DWARF_VERBOSE"));
	find_repo_root();
	test_readable_names();
	test_paths();
	test_remaining();
	test_text_helpers();
	test_format();
	snprintf(bin, sizeof(bin), "%s/tests/targets/target/release/await_nested", repo_root);
	if (access(bin, X_OK)) {
		printf("SKIP DWARF checks on await_nested (not built: make targets)\n");
		UNIT_EXIT();
	}
	test_no_dwarf(bin);
	/* the path the target's maps show: tests/targets/target may be a symlink
	 * (git worktrees share the built targets) */
	if (realpath(bin, real))
		snprintf(bin, sizeof(bin), "%s", real);
	test_live(bin);
	UNIT_EXIT();
}
