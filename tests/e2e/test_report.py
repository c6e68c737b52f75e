"""taskscope report against real tokio processes, one known behaviour each.

Each target (tests/targets/tokio/<name>) is started, taskscope attaches with
BPF, and the checks assert what a person would look for in the report: the
right task, the right finding, nothing false on the healthy one.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

from tslib import (Target, check, finish, report, run, stalls, tasks_named, attached_links,
                   left_attached, TARGETS)


def test_healthy():
    with Target("healthy") as t:
        code, data, err = report(t.pid, 2)
        if not check("healthy: report ran", data is not None, err):
            return
        check("healthy: exit 0, no stall", code == 0 and not data["stalls"],
              f"exit {code}, stalls {[s['message'] for s in data['stalls']]}")
        names = {x["name"] for x in data["tasks"]}
        want = {"healthy::pinger", "healthy::ponger", "healthy::ticker", "healthy::aggregator"}
        check("healthy: every task type named", want <= names, f"names {sorted(names)}")
        check("healthy: 4 tickers", len(tasks_named(data, "healthy::ticker")) == 4,
              f"{len(tasks_named(data, 'healthy::ticker'))}")
        check("healthy: tokio version and workers",
              data["runtime"]["version"] == "1.24.2" and data["worker_threads"] == 2,
              f"{data['runtime']} workers {data['worker_threads']}")
        tick = tasks_named(data, "healthy::ticker")
        # a ticker sleeps 5-8 ms: ~250-400 polls in 2 s, and each poll is woken once
        check("healthy: ticker polls counted",
              all(150 <= x["polls"] <= 600 for x in tick), f"{[x['polls'] for x in tick]}")
        check("healthy: ticker wakes ~ polls",
              all(abs(x["wakes"] - x["polls"]) <= 3 for x in tick),
              f"{[(x['wakes'], x['polls']) for x in tick]}")
        check("healthy: ids distinct and nonzero",
              len({x["id"] for x in data["tasks"]}) == len(data["tasks"]) and
              all(x["id"] > 0 for x in data["tasks"]), f"{[x['id'] for x in data['tasks']]}")
        check("healthy: poll rate", data["polls_per_s"] > 500, f"{data['polls_per_s']}")
        check("healthy: histogram sums to polls",
              all(sum(x["poll_hist_log2_us"]) == x["polls"] for x in data["tasks"]), "")
        check("healthy: target still running", t.alive(), "target died")
        # --mode full adds a uretprobe on every poll instance: exact poll ends
        code_f, full, err = report(t.pid, 2, ("--mode", "full"))
        if check("healthy --mode full: report ran", full is not None, err):
            check("healthy --mode full: more probe sites (uretprobes)",
                  full["probe_sites"] > data["probe_sites"],
                  f"{full['probe_sites']} vs {data['probe_sites']}")
            check("healthy --mode full: no stall", code_f == 0 and not full["stalls"],
                  f"{[s['message'] for s in full['stalls']]}")
            tick = tasks_named(full, "healthy::ticker")
            check("healthy --mode full: polls short and counted",
                  all(150 <= x["polls"] <= 600 and x["max_poll_s"] < 0.05 for x in tick),
                  f"{[(x['polls'], x['max_poll_s']) for x in tick]}")
        # --mode light drops the wake probes: one trap per poll
        code_l, light, err = report(t.pid, 2, ("--mode", "light"))
        if check("healthy --mode light: report ran", light is not None, err):
            tick = tasks_named(light, "healthy::ticker")
            check("healthy --mode light: fewer probe sites, no wakes traced",
                  light["mode"] == "light" and light["probe_sites"] < data["probe_sites"] and
                  all(x["wakes"] == 0 for x in light["tasks"]), f"{light['probe_sites']}")
            check("healthy --mode light: polls still counted, no stall",
                  code_l == 0 and all(150 <= x["polls"] <= 600 for x in tick),
                  f"{code_l} {[x['polls'] for x in tick]}")


def test_blocked():
    with Target("blocked") as t:
        code, data, err = report(t.pid, 3)
        if not check("blocked: report ran", data is not None, err):
            return
        check("blocked: exit 1", code == 1, f"exit {code}")
        b = stalls(data, "blocked_worker", "blocked::blocking_handler")
        check("blocked: blocked worker names blocking_handler", len(b) == 1,
              f"{[s['message'] for s in data['stalls']]}")
        if b:
            s = b[0]
            check("blocked: poll >= 1.4 s, mostly off-CPU",
                  s["duration_s"] >= 1.4 and s["offcpu_s"] >= 0.8 * min(s["duration_s"], 1.5),
                  f"duration {s['duration_s']} offcpu {s['offcpu_s']}")
        check("blocked: ticker starved", len(stalls(data, "starved", "blocked::ticker")) == 1,
              f"{[s['message'] for s in data['stalls']]}")
        check("blocked: ticker not itself blocked",
              not stalls(data, "blocked_worker", "blocked::ticker"), "")


def test_parked():
    with Target("parked") as t:
        code, data, err = report(t.pid, 2)
        if not check("parked: report ran", data is not None, err):
            return
        wf = tasks_named(data, "parked::wait_forever")
        ws = tasks_named(data, "parked::wait_for_signal")
        check("parked: every parked task listed", len(wf) == 3 and len(ws) == 1,
              f"{[(x['name'], x['state']) for x in data['tasks']]}")
        check("parked: found in memory, no probe fired",
              all(x["in_memory"] and not x["seen_by_probe"] and x["since_attach"]
                  for x in wf + ws), f"{wf + ws}")
        check("parked: all idle", all(x["state"] == "idle" for x in wf + ws), "")
        check("parked: tokio ids read", sorted(x["id"] for x in wf + ws) ==
              sorted(set(x["id"] for x in wf + ws)) and all(x["id"] > 0 for x in wf + ws),
              f"{[x['id'] for x in wf + ws]}")
        idle = stalls(data, "idle")
        check("parked: each flagged idle since before attach",
              len(idle) == 4 and all(s["at_least"] and s["duration_s"] >= 1.9 for s in idle),
              f"{idle}")
        check("parked: exit 1", code == 1, f"exit {code}")
        check("parked: no probe hit", data["polls_per_s"] == 0, f"{data['polls_per_s']}")


def test_channel_full():
    with Target("channel_full", settle=0.5) as t:
        code, data, err = report(t.pid, 2)
        if not check("channel_full: report ran", data is not None, err):
            return
        p = stalls(data, "idle", "channel_full::producer")
        check("channel_full: producer flagged idle", len(p) == 1,
              f"{[s['message'] for s in data['stalls']]}")
        check("channel_full: names the full channel and the receiver's holder",
              p and "(send: channel full) whose receiver is held by" in p[0]["message"]
              and "channel_full::consumer" in p[0]["message"], f"{p}")
        pr = tasks_named(data, "channel_full::producer")
        chain = pr[0].get("await_chain") if pr else None
        check("channel_full: producer's await chain ends at a channel send",
              chain and chain["leaf"]["kind"] == "channel_send" and
              chain["frames"][0]["func"] == "channel_full::producer" and
              chain["frames"][0]["file"] == "src/main.rs", f"{chain}")
        check("channel_full: consumer flagged idle",
              len(stalls(data, "idle", "channel_full::consumer")) == 1, "")
        check("channel_full: exit 1", code == 1, f"exit {code}")


def test_deadlock():
    with Target("deadlock", settle=0.5) as t:
        code, data, err = report(t.pid, 2)
        if not check("deadlock: report ran", data is not None, err):
            return
        for n in ("deadlock::lock_ab", "deadlock::lock_ba"):
            check(f"deadlock: {n} idle", len(stalls(data, "idle", n)) == 1,
                  f"{[s['message'] for s in data['stalls']]}")
        d = stalls(data, "deadlock")
        check("deadlock: one cycle of two tasks", len(d) == 1 and d[0]["count"] == 2,
              f"{[s['message'] for s in data['stalls']]}")
        if d:
            m = d[0]["message"]
            # the two lock lines of the target: lock B in lock_ab, lock A in lock_ba
            check("deadlock: cycle names both await lines",
                  "deadlock::lock_ab at src/main.rs:12 waits for mutex" in m and
                  "deadlock::lock_ba at src/main.rs:20 waits for mutex" in m, m)
        check("deadlock: exit 1", code == 1, f"exit {code}")


def test_spinner():
    with Target("spinner") as t:
        code, data, err = report(t.pid, 2)
        if not check("spinner: report ran", data is not None, err):
            return
        s = stalls(data, "spinning", "spinner::spin_loop")
        check("spinner: spin_loop flagged spinning", len(s) == 1,
              f"{[x['message'] for x in data['stalls']]}")
        check("spinner: ticker not flagged", not [x for x in data["stalls"]
                                                  if x["name"] == "spinner::ticker"], "")
        sl = tasks_named(data, "spinner::spin_loop")
        check("spinner: spin_loop polled a lot", sl and sl[0]["polls"] > 1000,
              f"{sl}")


def test_woken_dropped():
    with Target("woken_dropped") as t:
        code, data, err = report(t.pid, 2)
        if not check("woken_dropped: report ran", data is not None, err):
            return
        s = stalls(data, "lost_wake", "woken_dropped::doomed")
        check("woken_dropped: lost wakes on doomed", len(s) == 1 and s[0]["count"] >= 5,
              f"{[x['message'] for x in data['stalls']]}")
        check("woken_dropped: exit 1", code == 1, f"exit {code}")


def test_async_task():
    for name, rt in (("asyncstd_app", "async-std"), ("smol_app", "smol")):
        with Target(name) as t:
            code, data, err = report(t.pid, 2)
            if not check(f"{name}: report ran", data is not None, err):
                continue
            check(f"{name}: runtime named", data["runtime"]["name"] == rt,
                  f"{data['runtime']}")
            tick = tasks_named(data, f"{name}::ticker")
            check(f"{name}: ticker polled ~100/s", tick and 100 <= tick[0]["polls"] <= 400,
                  f"{tick}")
            stuck = tasks_named(data, f"{name}::stuck_receiver")
            check(f"{name}: stuck task found in memory, idle", stuck and
                  stuck[0]["state"] == "idle" and stuck[0]["in_memory"] and
                  stuck[0]["since_attach"], f"{stuck}")
            check(f"{name}: only the stuck task flagged",
                  [s["name"] for s in data["stalls"]] == [f"{name}::stuck_receiver"],
                  f"{[s['message'] for s in data['stalls']]}")


def test_many_tasks():
    """20,000 parked tasks: every one found in memory, quickly, and the text
    report counts alike findings instead of listing 20,000 lines."""
    with Target("many_tasks", settle=0.5) as t:
        t0 = time.time()
        code, data, err = report(t.pid, 1)
        took = time.time() - t0
        if not check("many_tasks: report ran", data is not None, err):
            return
        parked = tasks_named(data, "many_tasks::parked")
        check("many_tasks: all 20000 parked tasks found", len(parked) == 20000, f"{len(parked)}")
        check("many_tasks: report within 5 s (1 s window)", took < 5, f"{took:.2f} s")
        chains = [x for x in parked if x.get("await_chain")]
        check("many_tasks: chains read for the longest waits only",
              len(chains) == 1000 and chains[0]["await_chain"]["leaf"]["kind"] == "notify",
              f"{len(chains)}")
        r = run(["report", "-p", str(t.pid), "-d", "1"])
        check("many_tasks: text groups alike findings",
              "[idle] ... and 19995 more tasks of many_tasks::parked" in r.stdout,
              r.stdout[-600:])


def test_errors():
    r = run(["report", "-p", "999999", "-d", "1"])
    check("error: no such pid", r.returncode == 2 and "no process with PID 999999" in r.stderr
          and r.stderr.count("\n") == 1, f"{r.returncode} {r.stderr!r}")

    sl = subprocess.Popen(["sleep", "100"])
    try:
        r = run(["report", "-p", str(sl.pid), "-d", "1"])
        check("error: non-tokio process", r.returncode == 2 and
              "no supported async runtime" in r.stderr and r.stderr.count("\n") == 1,
              f"{r.returncode} {r.stderr!r}")
        check("error: non-tokio target untouched", sl.poll() is None, "sleep died")
    finally:
        sl.kill()
        sl.wait()

    with Target("healthy") as t:
        r = run(["report", "-p", str(t.pid), "-d", "1"], user="65534")
        check("error: not root", r.returncode == 2 and "must run as root" in r.stderr,
              f"{r.returncode} {r.stderr!r}")

    tmp = tempfile.mkdtemp()
    try:
        stripped = os.path.join(tmp, "healthy-stripped")
        shutil.copy(os.path.join(TARGETS, "healthy"), stripped)
        subprocess.run(["strip", "--strip-all", stripped], check=True)
        with Target("healthy-stripped", path=stripped) as t:
            r = run(["report", "-p", str(t.pid), "-d", "1"])
            check("error: stripped binary", r.returncode == 2 and "no symbol table" in r.stderr,
                  f"{r.returncode} {r.stderr!r}")
    finally:
        shutil.rmtree(tmp)

    t = Target("healthy")
    try:
        p = subprocess.Popen([os.path.join(os.path.dirname(__file__), "..", "..", "build",
                                           "taskscope"), "report", "-p", str(t.pid), "-d", "3"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        t.kill()
        out, err = p.communicate(timeout=10)
        check("error: target exits mid-run", p.returncode == 2 and "exited" in err and
              err.count("\n") == 1, f"{p.returncode} {err!r}")
    finally:
        t.kill()
    check("error: nothing left attached after target exit", not left_attached(),
          f"{left_attached()}")


def test_detach():
    with Target("healthy") as t:
        p = subprocess.Popen([os.path.join(os.path.dirname(__file__), "..", "..", "build",
                                           "taskscope"), "report", "-p", str(t.pid), "-d", "30"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        check("detach: probes attached while observing", len(attached_links(0)) >= 4,
              f"{attached_links()}")
        p.send_signal(signal.SIGINT)
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        check("detach: Ctrl-C ends the report promptly", p.returncode in (0, 1),
              f"{p.returncode} {err!r}")
        check("detach: nothing left attached after Ctrl-C", not left_attached(),
              f"{left_attached()}")
        check("detach: target still running", t.alive(), "")


if __name__ == "__main__":
    for fn in (test_healthy, test_blocked, test_parked, test_channel_full, test_deadlock,
               test_spinner, test_woken_dropped, test_async_task, test_many_tasks, test_errors,
               test_detach):
        try:
            fn()
        except Exception as e:  # a crashed test is a failed test, and the rest still run
            check(f"{fn.__name__}: ran without exception", False, repr(e))
    finish()
