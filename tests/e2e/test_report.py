"""taskscope report against real tokio, async-std and smol processes, one
known behaviour each.

Each target (tests/targets/tokio/<name>, tests/targets/asynctask/<name>) is
started, taskscope attaches with BPF, and the tests assert what a person
would look for in the report: the exact findings the target plants (no
other kind, no other task), then the details of each.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from tslib import (ROOT, TARGETS, TASKSCOPE, Scenario, assert_findings, assert_nothing_left,
                   attached_links, deadlock, messages, report, run, stalls, tasks_named,
                   the_task, wait_exit)


class TestHealthy(Scenario):
    """A busy, healthy service: every task woken every few ms."""
    target = "healthy"
    findings = []

    def test_tasks(self, observed):
        data = observed.data
        names = {x["name"] for x in data["tasks"]}
        want = {"healthy::pinger", "healthy::ponger", "healthy::ticker", "healthy::aggregator"}
        assert want <= names, f"expected task types {sorted(want)}, taskscope named {sorted(names)}"
        tick = tasks_named(data, "healthy::ticker")
        assert len(tick) == 4, f"expected 4 healthy::ticker tasks, taskscope listed {len(tick)}"
        ids = [x["id"] for x in data["tasks"] if "root_thread" not in x]
        assert len(set(ids)) == len(ids) and all(i > 0 for i in ids), \
            f"expected distinct nonzero task ids, taskscope printed {ids}"
        roots = [x for x in data["tasks"] if "root_thread" in x]
        assert [(x["name"], x["id"]) for x in roots] == [("main", 0)], \
            f"expected #[tokio::main]'s body as one task 'main' without a tokio id, got {roots}"

    def test_runtime(self, observed):
        data = observed.data
        assert data["runtime"]["version"] == "1.24.2" and data["worker_threads"] == 2, \
            f"expected tokio 1.24.2 with 2 workers, taskscope printed {data['runtime']} " \
            f"with {data['worker_threads']} workers"

    def test_polls_and_wakes(self, observed):
        data = observed.data
        tick = tasks_named(data, "healthy::ticker")
        assert tick, "expected healthy::ticker tasks, taskscope listed none"
        # a ticker sleeps 5-8 ms: ~250-400 polls in 2 s, and each poll is woken once
        assert all(150 <= x["polls"] <= 600 for x in tick), \
            f"expected 150-600 polls per ticker in 2 s, taskscope counted {[x['polls'] for x in tick]}"
        assert all(abs(x["wakes"] - x["polls"]) <= 3 for x in tick), \
            f"expected wakes ~ polls per ticker, taskscope counted " \
            f"{[(x['wakes'], x['polls']) for x in tick]} (wakes, polls)"
        assert data["polls_per_s"] > 500, \
            f"expected > 500 polls/s, taskscope measured {data['polls_per_s']}"
        bad = [(x["name"], sum(x["poll_hist_log2_us"]), x["polls"]) for x in data["tasks"]
               if sum(x["poll_hist_log2_us"]) != x["polls"]]
        assert not bad, f"expected each poll histogram to sum to the task's polls: {bad}"

    def test_mode_full(self, observed):
        """--mode full adds a uretprobe on every poll instance: exact poll ends."""
        code, full, _ = report(observed.target.pid, 2, ("--mode", "full"))
        assert_findings(code, full, [])
        assert full["probe_sites"] > observed.data["probe_sites"], \
            f"expected more probe sites in full mode than {observed.data['probe_sites']} " \
            f"(uretprobes), taskscope attached {full['probe_sites']}"
        tick = tasks_named(full, "healthy::ticker")
        assert tick, "expected healthy::ticker tasks in full mode, taskscope listed none"
        assert all(150 <= x["polls"] <= 600 and x["max_poll_s"] < 0.05 for x in tick), \
            f"expected 150-600 short polls (< 50 ms) per ticker, taskscope printed " \
            f"{[(x['polls'], x['max_poll_s']) for x in tick]} (polls, max poll s)"

    def test_mode_light(self, observed):
        """--mode light drops the wake probes: one trap per poll."""
        code, light, _ = report(observed.target.pid, 2, ("--mode", "light"))
        assert_findings(code, light, [])
        assert light["mode"] == "light" and light["probe_sites"] < observed.data["probe_sites"], \
            f"expected mode light with fewer than {observed.data['probe_sites']} probe sites, " \
            f"taskscope printed mode {light['mode']} with {light['probe_sites']}"
        assert all(x["wakes"] == 0 for x in light["tasks"]), \
            f"expected no wake traced in light mode: {[x['wakes'] for x in light['tasks']]}"
        tick = tasks_named(light, "healthy::ticker")
        assert tick, "expected healthy::ticker tasks in light mode, taskscope listed none"
        assert all(150 <= x["polls"] <= 600 for x in tick), \
            f"expected 150-600 polls per ticker, taskscope counted {[x['polls'] for x in tick]}"


@pytest.mark.parametrize("build", ["release", "release-lto"])
def test_quiet_process_no_finding(build, spawn, request):
    """Two idle workers and one idle task, observed longer than the stall
    threshold (1000 ms) once the process has been up > 3 s: nothing to
    report, whatever tokio's own tasks look like."""
    path = request.getfixturevalue("quiet_lto") if build == "release-lto" else None
    t = spawn("quiet", path=path, settle=3.2)
    code, data, _ = report(t.pid, 2.5)
    assert_findings(code, data, [])
    names = {x["name"] for x in data["tasks"]}
    assert names == {"quiet::idle_task", "main"}, \
        f"expected quiet::idle_task and main listed, taskscope listed {sorted(names)}"
    # main's body parked on pending() for the whole window: shown, not a finding
    main = [x for x in data["tasks"] if x["name"] == "main"][0]
    assert main.get("root_thread") == t.pid and main["since_attach"] and \
        main["await_chain"]["leaf"]["kind"] == "pending", \
        f"expected main on the main thread, idle since attach on pending(): {main}"
    assert data["worker_threads"] == 2, \
        f"expected 2 worker threads, taskscope counted {data['worker_threads']}"


class TestBlocked(Scenario):
    target = "blocked"
    duration = 3
    findings = [("blocked_worker", "blocked::blocking_handler"), ("starved", "blocked::ticker")]

    def test_blocking_poll(self, observed):
        b = stalls(observed.data, "blocked_worker", "blocked::blocking_handler")
        assert len(b) == 1, f"expected one blocked_worker finding on blocked::blocking_handler, " \
                            f"taskscope reported {messages(observed.data)}"
        s = b[0]
        assert s["duration_s"] >= 1.4 and s["offcpu_s"] >= 0.8 * min(s["duration_s"], 1.5), \
            f"expected a poll >= 1.4 s, mostly off-CPU; taskscope measured " \
            f"{s['duration_s']} s, {s['offcpu_s']} s off-CPU"
        assert not stalls(observed.data, "blocked_worker", "blocked::ticker"), \
            f"expected the ticker starved, not blocking: {messages(observed.data)}"
        assert len(stalls(observed.data, "starved", "blocked::ticker")) == 1, \
            f"expected blocked::ticker starved once: {messages(observed.data)}"


class TestParked(Scenario):
    target = "parked"
    findings = [("idle", "parked::wait_forever")] * 3 + [("idle", "parked::wait_for_signal")]

    def test_parked_tasks(self, observed):
        data = observed.data
        wf = tasks_named(data, "parked::wait_forever")
        ws = tasks_named(data, "parked::wait_for_signal")
        assert len(wf) == 3 and len(ws) == 1, \
            f"expected 3 wait_forever and 1 wait_for_signal, taskscope listed " \
            f"{[(x['name'], x['state']) for x in data['tasks']]}"
        bad = [x for x in wf + ws
               if not (x["in_memory"] and not x["seen_by_probe"] and x["since_attach"])]
        assert not bad, f"expected each parked task found in memory, no probe fired, " \
                        f"since attach: {bad}"
        assert all(x["state"] == "idle" for x in wf + ws), \
            f"expected all idle: {[x['state'] for x in wf + ws]}"
        ids = [x["id"] for x in wf + ws]
        assert len(set(ids)) == len(ids) and all(i > 0 for i in ids), \
            f"expected distinct nonzero tokio ids, taskscope read {ids}"
        assert data["polls_per_s"] == 0, \
            f"expected no probe hit, taskscope measured {data['polls_per_s']} polls/s"

    def test_idle_since_before_attach(self, observed):
        idle = stalls(observed.data, "idle")
        assert len(idle) == 4, f"expected 4 idle findings: {messages(observed.data)}"
        bad = [s["message"] for s in idle if not (s["at_least"] and s["duration_s"] >= 1.9)]
        assert not bad, f"expected each idle >= 1.9 s since before attach: {bad}"


class TestChannelFull(Scenario):
    target = "channel_full"
    settle = 0.5
    findings = [("idle", "channel_full::producer"), ("idle", "channel_full::consumer")]

    def test_producer_message(self, observed):
        p = stalls(observed.data, "idle", "channel_full::producer")
        assert len(p) == 1, f"expected the producer idle once: {messages(observed.data)}"
        m = p[0]["message"]
        assert "(send: channel full) whose receiver is held by" in m and \
            "channel_full::consumer" in m, \
            f"expected the full channel and the receiver's holder named, got {m!r}"

    def test_producer_chain(self, observed):
        chain = the_task(observed.data, "channel_full::producer").get("await_chain")
        assert chain and chain["leaf"]["kind"] == "channel_send" and \
            chain["frames"][0]["func"] == "channel_full::producer" and \
            chain["frames"][0]["file"] == "src/main.rs", \
            f"expected the producer's chain to end at a channel send in src/main.rs, got {chain}"


class TestDeadlock(Scenario):
    target = "deadlock"
    settle = 0.5
    findings = [deadlock("deadlock::lock_ab", "deadlock::lock_ba"),
                ("idle", "deadlock::lock_ab"), ("idle", "deadlock::lock_ba")]

    def test_cycle(self, observed):
        d = stalls(observed.data, "deadlock")
        assert len(d) == 1 and d[0]["count"] == 2, \
            f"expected one cycle of two tasks: {messages(observed.data)}"
        m = d[0]["message"]
        # the two lock lines of the target: lock B in lock_ab, lock A in lock_ba
        # written as the cycle: each task at its .await, then the mutex it waits for
        assert re.search(r"deadlock::lock_ab at src/main\.rs:12 \u2192 Mutex<u64> 0x[0-9a-f]+ "
                         r"\u2192 task \d+ deadlock::lock_ba at src/main\.rs:20 \u2192 "
                         r"Mutex<u64> 0x[0-9a-f]+ \u2192 task \d+ deadlock::lock_ab", m), \
            f"expected both await lines (main.rs:12, main.rs:20) in the cycle, got {m!r}"

    def test_future_type_is_the_tasks_own(self, observed):
        # the two futures' drop glue is identical and folded into one
        # function: its name must not label the other task's type
        for name in ("deadlock::lock_ab", "deadlock::lock_ba"):
            t = the_task(observed.data, name)
            assert t["future_type"].startswith(name), \
                f"task {name}: future_type {t['future_type']!r}"


class TestSpinner(Scenario):
    target = "spinner"
    findings = [("spinning", "spinner::spin_loop")]

    def test_spin_loop_polled(self, observed):
        sl = the_task(observed.data, "spinner::spin_loop")
        assert sl["polls"] > 1000, f"expected > 1000 polls of spin_loop, taskscope counted {sl}"


class TestWokenDropped(Scenario):
    target = "woken_dropped"
    findings = [("lost_wake", "woken_dropped::doomed")]

    def test_lost_wakes(self, observed):
        s = stalls(observed.data, "lost_wake", "woken_dropped::doomed")
        assert len(s) == 1 and s[0]["count"] >= 5, \
            f"expected >= 5 lost wakes on doomed: {messages(observed.data)}"


class AsyncTask(Scenario):
    """async-std and smol (async-task): a ticker and one stuck receiver."""
    runtime = None

    def test_runtime_named(self, observed):
        rt = observed.data["runtime"]
        assert rt["name"] == self.runtime, f"expected runtime {self.runtime}, taskscope printed {rt}"

    def test_ticker(self, observed):
        tick = the_task(observed.data, f"{self.target}::ticker")
        assert 100 <= tick["polls"] <= 400, \
            f"expected the ticker polled ~100/s (100-400 in 2 s), taskscope counted {tick['polls']}"

    def test_stuck_task(self, observed):
        stuck = the_task(observed.data, f"{self.target}::stuck_receiver")
        assert stuck["state"] == "idle" and stuck["in_memory"] and stuck["since_attach"], \
            f"expected the stuck task found in memory, idle since attach: {stuck}"


class TestAsyncStd(AsyncTask):
    target = "asyncstd_app"
    runtime = "async-std"
    findings = [("idle", "asyncstd_app::stuck_receiver")]


class TestSmol(AsyncTask):
    target = "smol_app"
    runtime = "smol"
    findings = [("idle", "smol_app::stuck_receiver")]


class TestManyTasks(Scenario):
    """20,000 parked tasks: every one found in memory, quickly, and the text
    report counts alike findings instead of listing 20,000 lines."""
    target = "many_tasks"
    settle = 0.5
    duration = 1
    findings = [("idle", "many_tasks::parked")] * 20000

    def test_all_found_quickly(self, observed):
        parked = tasks_named(observed.data, "many_tasks::parked")
        assert len(parked) == 20000, f"expected 20000 parked tasks, taskscope found {len(parked)}"
        assert observed.took < 5, \
            f"expected the report within 5 s (1 s window), it took {observed.took:.2f} s"

    def test_chains_for_longest_waits(self, observed):
        parked = tasks_named(observed.data, "many_tasks::parked")
        chains = [x for x in parked if x.get("await_chain")]
        assert len(chains) == 1000, \
            f"expected chains for the 1000 longest waits only, taskscope read {len(chains)}"
        assert chains[0]["await_chain"]["leaf"]["kind"] == "notify", \
            f"expected a notify leaf, got {chains[0]['await_chain']['leaf']}"

    def test_text_groups_alike(self, observed):
        r = run(["report", "-p", observed.target.pid, "-d", "1"])
        assert "[idle] ... and 19995 more tasks of many_tasks::parked" in r.stdout, \
            f"expected alike findings counted in one line, taskscope printed {r.stdout[-600:]!r}"
        # the table: one row for the 20,000 alike tasks, with one chain, not 20,000 rows
        rows = [l for l in r.stdout.splitlines() if "many_tasks::parked " in l and " idle " in l]
        assert len(rows) == 1 and rows[0].lstrip().startswith("20000\u00d7"), \
            f"expected one grouped row '20000\u00d7 many_tasks::parked', got {rows[:3]}"
        assert "(20000 alike tasks" in r.stdout and len(r.stdout) < 8000, \
            f"expected the group's note and a short report, got {len(r.stdout)} bytes"
        # --all lists each one
        r = run(["report", "-p", observed.target.pid, "-d", "1", "--all"])
        rows = [l for l in r.stdout.splitlines() if "many_tasks::parked " in l and " idle " in l]
        assert len(rows) == 20000, f"--all: expected 20000 rows, got {len(rows)}"


class TestBlockInPlace(Scenario):
    """A task calls a blocking 2 s function inside tokio::task::block_in_place,
    over and over, beside two 10 ms tickers on a 2-worker runtime. tokio
    hands the worker to another thread first: nothing is blocked, nothing
    starves, and the runtime still has 2 workers. Before: a false
    blocked_worker finding, and "1 worker thread, 3 blocking jobs"."""
    target = "block_in_place"
    settle = 1.0
    duration = 3
    findings = []

    def test_handoffs_not_jobs(self, observed):
        d = observed.data
        assert d["block_in_place_handoffs"] >= 1, \
            f"expected the block_in_place hand-off seen, got {d['block_in_place_handoffs']}"
        # the hand-offs run workers: not spawn_blocking jobs, and the count is a bound
        assert d.get("blocking_jobs_running", 0) == 0, \
            f"hand-offs counted as blocking jobs: {d.get('blocking_jobs_running')}"
        assert 2 <= d["worker_threads"] <= 4, \
            f"expected 2 workers (an upper bound while hand-offs run), got {d['worker_threads']}"

    def test_tickers_not_starved(self, observed):
        tick = tasks_named(observed.data, "block_in_place::ticker")
        assert len(tick) == 2 and all(t["polls"] >= 150 for t in tick), \
            f"expected both tickers polled every ~10 ms, got {[t['polls'] for t in tick]}"

    def test_caller_in_block_in_place(self, observed):
        crunch = [t for t in observed.data["tasks"] if "crunch" in t["name"]]
        assert len(crunch) == 1 and crunch[0].get("block_in_place"), \
            f"expected the caller's poll marked inside block_in_place, got " \
            f"{[(t['name'], t.get('block_in_place')) for t in crunch]}"


class TestBlockInPlaceSampled(TestBlockInPlace):
    """The same in sampled mode: no false blocked_worker from the samples."""
    extra = ("--mode", "sampled")

    def test_tickers_not_starved(self, observed):
        tick = tasks_named(observed.data, "block_in_place::ticker")
        assert len(tick) == 2, f"expected both tickers listed, got {len(tick)}"


class TestBlockInPlaceNested(TestBlockInPlace):
    """block_in_place called from an async fn the task awaits: the hand-off's
    closure type names that fn (settle_batch), not the task. The polling
    thread's stack holds block_in_place: still no blocked_worker."""
    args = ("nested",)

    def test_told_by_stack(self, observed):
        t = tasks_named(observed.data, "block_in_place::crunch_nested")
        assert len(t) == 1 and t[0].get("block_in_place") == "stack", \
            f"expected crunch_nested's poll found inside block_in_place on its thread's " \
            f"stack, got {[x.get('block_in_place') for x in t]}"


class TestBlockInPlaceNestedSampled(TestBlockInPlaceNested):
    extra = ("--mode", "sampled")
    test_tickers_not_starved = TestBlockInPlaceSampled.test_tickers_not_starved


class TestLongPolls(Scenario):
    """Each poll of sleeper holds the one worker ~300 ms (a synchronous sleep):
    above the 100 ms long-poll threshold, far below a 1 s stall."""
    target = "long_polls"
    duration = 2
    findings = [("blocked_worker", "long_polls::sleeper")]

    def test_long_poll(self, observed):
        s = stalls(observed.data, "blocked_worker", "long_polls::sleeper")
        assert len(s) == 1, f"expected one blocked_worker finding on sleeper: " \
                            f"{messages(observed.data)}"
        s = s[0]
        assert 0.25 <= s["duration_s"] <= 0.6 and s["offcpu_s"] >= 0.8 * s["duration_s"], \
            f"expected a poll of ~300 ms (0.25-0.6 s), mostly off-CPU; taskscope measured " \
            f"{s['duration_s']} s, {s['offcpu_s']} s off-CPU"

    def test_threshold_in_json(self, observed):
        assert observed.data.get("long_poll_threshold_ms") == 100, \
            f"expected long_poll_threshold_ms 100 by default, taskscope printed " \
            f"{observed.data.get('long_poll_threshold_ms')}"

    def test_higher_threshold(self, observed):
        code, data, _ = report(observed.target.pid, 2, ("--long-poll-ms", "500"))
        assert_findings(code, data, [])
        assert data.get("long_poll_threshold_ms") == 500, \
            f"expected long_poll_threshold_ms 500, taskscope printed " \
            f"{data.get('long_poll_threshold_ms')}"


class TestBlockingPool(Scenario):
    """64 finished spawn_blocking jobs on a 2-worker runtime: the blocking
    threads are named like the workers, and each worker runs in a
    blocking-pool task; still 2 workers and nothing flagged."""
    target = "blocking_pool"
    findings = []

    def test_two_workers(self, observed):
        assert observed.data["worker_threads"] == 2, \
            f"expected 2 worker threads, taskscope counted {observed.data['worker_threads']}"

    def test_no_blocking_task(self, observed):
        names = sorted({x["name"] for x in observed.data["tasks"]})
        assert names, "expected tasks listed, taskscope listed none"
        assert not [n for n in names if "BlockingTask" in n], \
            f"expected no BlockingTask among the tasks, taskscope listed {names}"
        the_task(observed.data, "blocking_pool::ticker")

    def test_pool_shown_apart(self, observed):
        d = observed.data
        assert d["blocking_threads"] == 64 and d["blocking_jobs_running"] == 0, \
            f"expected a pool of 64 idle threads: {d['blocking_threads']} threads, " \
            f"{d['blocking_jobs_running']} jobs running"


class TestBlockingPoolBusy(Scenario):
    """Three spawn_blocking jobs running for an hour: blocking work where it
    belongs, in the pool, is no blocked worker; shown as running jobs."""
    target = "blocking_pool"
    args = ("3",)
    findings = []

    def test_jobs_running(self, observed):
        d = observed.data
        assert d["worker_threads"] == 2, d["worker_threads"]
        # the pool reuses three of its 64 idle threads for them
        assert d["blocking_threads"] == 64 and d["blocking_jobs_running"] == 3, \
            f"{d['blocking_threads']} pool threads, {d['blocking_jobs_running']} jobs running"


def stripped_copy(tmp_dir, name):
    """A --strip-all copy of a target, and FILE.debug with its DWARF."""
    path = os.path.join(tmp_dir, name)
    shutil.copy(os.path.join(TARGETS, name), path)
    subprocess.run(["strip", "--strip-all", path], check=True)
    subprocess.run(["objcopy", "--only-keep-debug", os.path.join(TARGETS, name),
                    path + ".debug"], check=True)
    return path


class TestStripped(Scenario):
    """healthy with no symbol table and no DWARF: task vtables found by
    their shape, tasks named by address; its DWARF given back with
    --debuginfo names them again."""
    target = "healthy"
    findings = []

    @pytest.fixture(scope="class", autouse=True)
    def stripped(self, request, tmp_path_factory):
        # autouse: the path is set before the class's observed fixture starts it
        request.cls.path = stripped_copy(str(tmp_path_factory.mktemp("stripped")), "healthy")
        return request.cls.path

    def test_tasks_named_by_address(self, observed):
        names = sorted({x["name"] for x in observed.data["tasks"]})
        assert names and all(re.fullmatch(r"<future at 0x[0-9a-f]+>", n) for n in names), \
            f"expected tasks named <future at 0x...>, taskscope named {names}"

    def test_two_workers(self, observed):
        assert observed.data["worker_threads"] == 2, \
            f"expected 2 worker threads, taskscope counted {observed.data['worker_threads']}"

    def test_probes_found_by_shape(self, stripped):
        r = run(["probes", stripped])
        assert r.returncode == 0 and "found by their shape" in r.stdout, \
            f"expected probes to say the task vtables were found by their shape, got " \
            f"{r.returncode} stdout {r.stdout[:400]!r} stderr {r.stderr!r}"

    def test_debuginfo_names_tasks(self, observed, stripped):
        code, data, _ = report(observed.target.pid, 2, ("--debuginfo", stripped + ".debug"))
        assert_findings(code, data, [])
        names = {x["name"] for x in data["tasks"]}
        want = {"healthy::pinger", "healthy::ponger", "healthy::ticker", "healthy::aggregator"}
        assert want <= names, f"expected task types {sorted(want)} with --debuginfo, " \
                              f"taskscope named {sorted(names)}"
        tick = tasks_named(data, "healthy::ticker")
        assert len(tick) == 4, f"expected 4 healthy::ticker tasks with --debuginfo, " \
                               f"taskscope listed {len(tick)}"


class TestStrippedDebuginfo(Scenario):
    """parked stripped, its DWARF in a separate file: await chains as with
    an unstripped binary."""
    target = "parked"
    findings = [("idle", "parked::wait_forever")] * 3 + [("idle", "parked::wait_for_signal")]

    @pytest.fixture(scope="class", autouse=True)
    def stripped(self, request, tmp_path_factory):
        # autouse: path and --debuginfo set before the observed fixture runs
        path = stripped_copy(str(tmp_path_factory.mktemp("stripped")), "parked")
        request.cls.path = path
        request.cls.extra = ("--debuginfo", path + ".debug")

    def test_await_chains(self, observed):
        lines = {"parked::wait_forever": 9, "parked::wait_for_signal": 14}
        tasks = [x for x in observed.data["tasks"] if x["name"] in lines]
        assert len(tasks) == 4, f"expected 4 parked tasks, taskscope listed " \
                                f"{[x['name'] for x in observed.data['tasks']]}"
        bad = [(x["name"], x.get("await_chain")) for x in tasks
               if not (x.get("await_chain") and x["await_chain"]["frames"] and
                       x["await_chain"]["frames"][0]["file"] == "src/main.rs" and
                       x["await_chain"]["frames"][0]["line"] == lines[x["name"]])]
        assert not bad, f"expected each parked task's chain to start at its .await in " \
                        f"src/main.rs (wait_forever :9, wait_for_signal :14), got {bad}"


class TestErrors:
    def test_no_such_pid(self):
        r = run(["report", "-p", "999999", "-d", "1"])
        assert r.returncode == 2 and "no process with PID 999999" in r.stderr and \
            r.stderr.count("\n") == 1, \
            f"expected exit 2 and one line 'no process with PID 999999', got " \
            f"{r.returncode} {r.stderr!r}"

    def test_not_an_async_process(self, popen):
        sl = popen(["sleep", "100"])
        r = run(["report", "-p", sl.pid, "-d", "1"])
        assert r.returncode == 2 and "no supported async runtime" in r.stderr and \
            r.stderr.count("\n") == 1, \
            f"expected exit 2 and one line 'no supported async runtime', got " \
            f"{r.returncode} {r.stderr!r}"
        assert sl.poll() is None, f"expected sleep untouched, it ended: {sl.returncode}"

    def test_not_root(self, spawn):
        t = spawn("healthy")
        r = run(["report", "-p", t.pid, "-d", "1"], user="65534")
        assert r.returncode == 2 and "must run as root" in r.stderr, \
            f"expected exit 2 and 'must run as root', got {r.returncode} {r.stderr!r}"

    def test_kernel_thread(self):
        r = run(["report", "-p", "2", "-d", "1"])
        assert r.returncode == 2 and "is a kernel thread" in r.stderr and \
            r.stderr.count("\n") == 1, \
            f"expected exit 2 and one line 'is a kernel thread' for PID 2, got " \
            f"{r.returncode} {r.stderr!r}"

    def test_zombie(self, popen):
        z = popen(["sh", "-c", "exit 0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # not waited for: it stays a zombie until the popen fixture reaps it
        deadline = time.time() + 5
        while zombie_state(z.pid) != "Z" and time.time() < deadline:
            time.sleep(0.02)
        assert zombie_state(z.pid) == "Z", \
            f"setup: expected sh (PID {z.pid}) a zombie, its state is {zombie_state(z.pid)!r}"
        r = run(["report", "-p", z.pid, "-d", "1"])
        assert r.returncode == 2 and "is a zombie" in r.stderr and r.stderr.count("\n") == 1, \
            f"expected exit 2 and one line 'is a zombie', got {r.returncode} {r.stderr!r}"

    def test_duration_nan(self):
        r = run(["report", "-p", "1", "-d", "nan"])
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "nan" in r.stderr and \
            not r.stdout, \
            f"expected exit 2 and one line refusing duration 'nan', got {r.returncode} " \
            f"stderr {r.stderr!r} stdout {r.stdout[:200]!r}"

    def test_unknown_option(self):
        r = run(["report", "--bogus"])
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--bogus" in r.stderr and \
            not r.stdout, \
            f"expected exit 2 and one line naming --bogus, got {r.returncode} " \
            f"stderr {r.stderr!r} stdout {r.stdout[:200]!r}"

    def test_no_such_pid_json(self):
        r = run(["report", "-p", "999999", "-d", "1", "--json"])
        try:
            data = json.loads(r.stdout)
        except ValueError:
            data = None
        assert r.returncode == 2 and isinstance(data, dict) and "error" in data and \
            "999999" in data["error"], \
            f"expected exit 2 and a JSON object with an 'error' naming PID 999999 on stdout, " \
            f"got {r.returncode} stdout {r.stdout[:300]!r} stderr {r.stderr!r}"

    def test_exec_during_observation(self, spawn):
        t = spawn("execs", args=("1000",))
        r = run(["report", "-p", t.pid, "-d", "2"])
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and \
            "replaced its program (exec) during observation" in r.stderr, \
            f"expected exit 2 and one line 'replaced its program (exec) during observation', " \
            f"got {r.returncode} {r.stderr!r}"
        assert not r.stdout, f"expected no report of the old program, taskscope printed " \
                             f"{r.stdout[:400]!r}"

    @pytest.mark.parametrize("settle", [0.15, 0.25])
    def test_exec_while_attaching(self, spawn, settle):
        """The exec (300 ms after ready) races the attach, begun 50-150 ms
        before it: caught during observation or while attaching, never as a
        failed uprobe_multi."""
        t = spawn("execs", args=("300",), settle=settle)
        r = run(["report", "-p", t.pid, "-d", "2"])
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and \
            "replaced its program (exec)" in r.stderr and \
            "uprobe_multi" not in r.stderr + r.stdout, \
            f"expected exit 2 and one line 'replaced its program (exec)' (no uprobe_multi " \
            f"error), got {r.returncode} stderr {r.stderr!r} stdout {r.stdout[:300]!r}"

    def test_target_exits_mid_run(self, spawn, popen):
        t = spawn("healthy")
        p = popen([TASKSCOPE, "report", "-p", t.pid, "-d", "3"])
        time.sleep(1.0)
        t.kill()
        code, _, err = wait_exit(p)
        assert code == 2 and "exited" in err and err.count("\n") == 1, \
            f"expected exit 2 and one line saying the target exited, got {code} {err!r}"
        assert_nothing_left("the target exited")


def zombie_state(pid):
    """The state letter of /proc/PID/stat (Z: zombie), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_detach_on_ctrl_c(spawn, popen):
    t = spawn("healthy")
    p = popen([TASKSCOPE, "report", "-p", t.pid, "-d", "30"])
    time.sleep(1.5)
    progs = attached_links(0)
    assert len(progs) >= 4, f"expected >= 4 taskscope programs attached while observing, " \
                            f"found {progs}"
    p.send_signal(signal.SIGINT)
    code, _, err = wait_exit(p)
    assert code in (0, 1), f"expected Ctrl-C to end the report promptly with 0 or 1, " \
                           f"got {code} {err!r}"
    assert_nothing_left("Ctrl-C")
    assert t.alive(), "expected the target still running after the detach"


class TestThreeRuntimes(Scenario):
    """Two multi-thread runtimes (workers named rt-main and rt-side) and a
    LocalSet on a current-thread runtime in one process, one task stuck on
    each: every stuck task found, each attributed to its own runtime, the
    tickers beside them not flagged, 4 worker threads (not 6: the named
    workers are not counted again as current-thread pollers)."""
    target = "two_runtimes"
    findings = [("idle", "two_runtimes::main_stuck"), ("idle", "two_runtimes::side_stuck"),
                ("idle", "two_runtimes::local_stuck")]

    def test_runtimes_apart(self, observed):
        d = observed.data
        rid = {t["name"]: t.get("runtime_id") for t in d["tasks"]
               if t["name"].endswith("_stuck")}
        assert len(set(rid.values())) == 3 and None not in rid.values(), rid
        assert len(d["runtimes"]) == 3, d["runtimes"]
        tickers = sorted(t.get("runtime_id") for t in d["tasks"]
                         if t["name"] == "two_runtimes::ticker")
        assert tickers == sorted([rid["two_runtimes::main_stuck"],
                                  rid["two_runtimes::side_stuck"]]), (tickers, rid)
        names = {w["tid"]: w["comm"] for w in d["workers"]}
        for stuck, comm in (("two_runtimes::main_stuck", "rt-main"),
                            ("two_runtimes::side_stuck", "rt-side")):
            rt = [r for r in d["runtimes"] if r["id"] == rid[stuck]][0]
            assert rt["polled_on_threads"], f"{stuck}'s runtime: no polling thread seen"
            assert {names.get(t) for t in rt["polled_on_threads"]} == {comm}, (rt, names)

    def test_worker_count(self, observed):
        assert observed.data["worker_threads"] == 4, observed.data["worker_threads"]
