"""taskscope report --mode sampled against the targets the precise mode is tested on.

Sampled mode attaches nothing to the target's code but during short bursts:
tasks and states come from memory, the running task of each thread from a
cpu-clock sample of tokio's thread-local, polls and wakes from the bursts.
Each check asserts the finding the precise mode makes on the same target
(tests/e2e/test_report.py), and on the healthy one that no uprobe stays
attached between bursts.
"""
import os
import re
import subprocess
import time

from tslib import (ROOT, TASKSCOPE, Target, check, finish, report, stalls, tasks_named,
                   prog_holders)

CRT = os.path.join(ROOT, "tests", "targets", "cruntime", "build")

SAMPLED = ("--mode", "sampled")
SAMPLE_PROGS = ("sample_cpu", "sample_switch")


def link_fds(pid):
    """link_type of every BPF link fd pid holds, with the target pid of uprobe_multi
    ones; perf event fds (libbpf attaches the sampler to them with an ioctl) as
    ("perf_event", 0)."""
    out = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target == "anon_inode:[perf_event]":
                out.append(("perf_event", 0))
                continue
            if target != "anon_inode:bpf_link":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = f.read()
        except OSError:
            continue
        kind = re.search(r"^link_type:\s*(\S+)", info, re.M)
        target = re.search(r"^pid:\s*(\d+)", info, re.M)
        out.append((kind.group(1) if kind else "?", int(target.group(1)) if target else 0))
    return out


def watch_links(proc, target_pid, every=0.005):
    """Polls taskscope's links until it exits: (polls, polls with a uprobe on the
    target, fewest perf_event links seen while sampling)."""
    polls = with_uprobe = 0
    fewest_perf = None
    deadline = time.time() + 10  # past the start (BPF loads, first memory scan)
    while proc.poll() is None and time.time() < deadline and \
            not any(k == "perf_event" for k, _ in link_fds(proc.pid)):
        time.sleep(every)
    while proc.poll() is None:
        links = link_fds(proc.pid)
        if not any(k == "perf_event" for k, _ in links):
            break  # closing down
        polls += 1
        if any(k == "uprobe_multi" and p == target_pid for k, p in links):
            with_uprobe += 1
        nperf = sum(1 for k, _ in links if k == "perf_event")
        fewest_perf = nperf if fewest_perf is None else min(fewest_perf, nperf)
        time.sleep(every)
    return polls, with_uprobe, fewest_perf


def online_cpus():
    n = 0
    with open("/sys/devices/system/cpu/online") as f:
        for part in f.read().strip().split(","):
            a, _, b = part.partition("-")
            n += int(b or a) - int(a) + 1
    return n


def sampled_left_behind(settle=3.0):
    """sample_cpu / sample_switch programs nobody holds any more."""
    deadline = time.time() + settle
    while True:
        out = subprocess.run(["bpftool", "-j", "prog", "list"], capture_output=True,
                             text=True).stdout
        import json
        held = prog_holders()
        left = [p for p in json.loads(out or "[]")
                if p.get("name") in SAMPLE_PROGS and not held.get(p["id"])]
        if not left or time.time() >= deadline:
            return [f"{p['id']} {p['name']}" for p in left]
        time.sleep(0.1)


def test_healthy():
    with Target("healthy") as t:
        p = subprocess.Popen([TASKSCOPE, "report", "-p", str(t.pid), "-d", "3", "--json",
                              *SAMPLED], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        polls, with_uprobe, fewest_perf = watch_links(p, t.pid)
        out, err = p.communicate(timeout=30)
        import json
        try:
            data = json.loads(out)
        except ValueError:
            data = None
        if not check("sampled healthy: report ran", data is not None, err):
            return
        check("sampled healthy: exit 0, no finding at all", p.returncode == 0 and
              not data["stalls"], f"exit {p.returncode}, {[s['message'] for s in data['stalls']]}")
        check("sampled healthy: mode named", data["mode"] == "sampled" and
              data["sampled"]["tls_layout"] == "DWARF", f"{data['mode']} {data.get('sampled')}")
        names = {x["name"] for x in data["tasks"]}
        want = {"healthy::pinger", "healthy::ponger", "healthy::ticker", "healthy::aggregator"}
        check("sampled healthy: every task type named", want <= names, f"{sorted(names)}")
        check("sampled healthy: 4 tickers", len(tasks_named(data, "healthy::ticker")) == 4, "")
        # the 4 tickers sleep 5, 6, 7, 8 ms: ~640 polls/s together, ~1900 in 3 s;
        # estimated from 3 bursts of 10 ms, so a few dozen polls seen: +-50 %
        tick = tasks_named(data, "healthy::ticker")
        total = sum(x["polls"] for x in tick)
        check("sampled healthy: ticker polls estimated from bursts", 950 <= total <= 2900,
              f"{total}: {[x['polls'] for x in tick]}")
        check("sampled healthy: bursts ran", data["sampled"]["bursts"] >= 2,
              f"{data['sampled']}")
        # the bursts: 10 ms attached per second, plus the links' teardown
        frac = with_uprobe / polls if polls else 1
        print(f"# uprobe_multi links on the target in {with_uprobe} of {polls} looks "
              f"({100 * frac:.1f} %)", flush=True)
        check("sampled healthy: no uprobe on the target outside bursts",
              polls >= 100 and 0 < with_uprobe and frac <= 0.15,
              f"{with_uprobe} of {polls} polls of taskscope's links saw a uprobe_multi link")
        check("sampled healthy: one cpu-clock perf event per CPU all along",
              fewest_perf == online_cpus(), f"{fewest_perf} vs {online_cpus()} CPUs")
        check("sampled healthy: target still running", t.alive(), "")
        check("sampled healthy: sampling programs gone after exit", not sampled_left_behind(),
              f"{sampled_left_behind()}")


def test_deadlock():
    with Target("deadlock", settle=0.5) as t:
        code, data, err = report(t.pid, 2, SAMPLED)
        if not check("sampled deadlock: report ran", data is not None, err):
            return
        d = stalls(data, "deadlock")
        check("sampled deadlock: one cycle of two tasks", len(d) == 1 and d[0]["count"] == 2,
              f"{[s['message'] for s in data['stalls']]}")
        if d:
            m = d[0]["message"]
            check("sampled deadlock: cycle names both await lines",
                  "deadlock::lock_ab at src/main.rs:12 waits for mutex" in m and
                  "deadlock::lock_ba at src/main.rs:20 waits for mutex" in m, m)
        for n in ("deadlock::lock_ab", "deadlock::lock_ba"):
            check(f"sampled deadlock: {n} idle", len(stalls(data, "idle", n)) == 1,
                  f"{[s['message'] for s in data['stalls']]}")
        check("sampled deadlock: exit 1", code == 1, f"exit {code}")


def test_blocked():
    with Target("blocked") as t:
        code, data, err = report(t.pid, 3, SAMPLED)
        if not check("sampled blocked: report ran", data is not None, err):
            return
        b = stalls(data, "blocked_worker", "blocked::blocking_handler")
        check("sampled blocked: blocked worker names blocking_handler", len(b) == 1,
              f"{[s['message'] for s in data['stalls']]}")
        if b:
            s = b[0]
            check("sampled blocked: poll >= 1.4 s, mostly off-CPU",
                  s["duration_s"] >= 1.4 and s["offcpu_s"] >= 0.8 * min(s["duration_s"], 1.5),
                  f"duration {s['duration_s']} offcpu {s['offcpu_s']}")
        check("sampled blocked: ticker not itself blocked",
              not stalls(data, "blocked_worker", "blocked::ticker"), "")
        bh = tasks_named(data, "blocked::blocking_handler")
        check("sampled blocked: blocking_handler's busy time is its off-CPU poll",
              bh and bh[0]["busy_s"] >= 1.0 and bh[0]["offcpu_in_polls_s"] >= 1.0, f"{bh}")
        check("sampled blocked: exit 1", code == 1, f"exit {code}")


def test_parked():
    with Target("parked") as t:
        code, data, err = report(t.pid, 2, SAMPLED)
        if not check("sampled parked: report ran", data is not None, err):
            return
        wf = tasks_named(data, "parked::wait_forever")
        ws = tasks_named(data, "parked::wait_for_signal")
        check("sampled parked: every parked task listed, idle",
              len(wf) == 3 and len(ws) == 1 and all(x["state"] == "idle" for x in wf + ws),
              f"{[(x['name'], x['state']) for x in data['tasks']]}")
        idle = stalls(data, "idle")
        check("sampled parked: each flagged idle since before attach",
              len(idle) == 4 and all(s["at_least"] and s["duration_s"] >= 1.9 for s in idle),
              f"{idle}")
        check("sampled parked: idle findings name their .await line",
              sum("at src/main.rs:9" in s["message"] for s in idle) == 3 and
              sum("at src/main.rs:14" in s["message"] for s in idle) == 1,
              f"{[s['message'] for s in idle]}")
        check("sampled parked: exit 1", code == 1, f"exit {code}")


def test_spinner():
    with Target("spinner") as t:
        code, data, err = report(t.pid, 2, SAMPLED)
        if not check("sampled spinner: report ran", data is not None, err):
            return
        s = stalls(data, "spinning", "spinner::spin_loop")
        check("sampled spinner: spin_loop flagged spinning (from bursts)", len(s) == 1,
              f"{[x['message'] for x in data['stalls']]}")
        check("sampled spinner: ticker not flagged",
              not [x for x in data["stalls"] if x["name"] == "spinner::ticker"], "")
        sl = tasks_named(data, "spinner::spin_loop")
        check("sampled spinner: spin_loop seen on the CPU by samples",
              sl and sl[0]["cpu_samples"] > 0, f"{sl}")


def test_calibrated():
    """No DWARF for the field: the offset is found against bursts, and agrees.
    Calibration needs samples that land inside probed polls: spin_loop is on
    the CPU all the time (healthy's polls are too short to be sure of it)."""
    with Target("spinner") as t:
        env = dict(os.environ, TASKSCOPE_SAMPLED_CALIBRATE="1")
        r = subprocess.run([TASKSCOPE, "report", "-p", str(t.pid), "-d", "1.5", "--json",
                            *SAMPLED], capture_output=True, text=True, timeout=30, env=env)
        import json
        try:
            data = json.loads(r.stdout)
        except ValueError:
            data = None
        if not check("sampled calibrated: report ran", data is not None, r.stderr):
            return
        s = data["sampled"]
        check("sampled calibrated: field found by calibration, where DWARF puts it",
              s["tls_layout"] == "calibrated" and
              s["tls_field"] == "+0x20 tag 8 B (None 0), id +0x28", f"{s}")
        check("sampled calibrated: spin_loop still the only finding",
              [x["name"] for x in data["stalls"]] == ["spinner::spin_loop"],
              f"{[x['message'] for x in data['stalls']]}")


def test_usdt_deadlock():
    """A USDT runtime replays its state only to a tracer that stays: its probes
    stay attached in sampled mode, and the deadlock is found as in default."""
    path = os.path.join(CRT, "c_deadlock")
    if not os.access(path, os.X_OK):
        print("# c_deadlock not built: skipped")
        return
    with Target("c_deadlock", path=path) as t:
        code, data, err = report(t.pid, 2, SAMPLED)
        if not check("sampled usdt deadlock: report ran", data is not None, err):
            return
        check("sampled usdt deadlock: probes stay attached, said so",
              data["sampled"]["probes_attached"] and data["probe_sites"] > 0, f"{data['sampled']}")
        d = stalls(data, "deadlock")
        check("sampled usdt deadlock: the cycle is found", len(d) == 1 and d[0]["count"] == 2,
              f"{[s['message'] for s in data['stalls']]}")


if __name__ == "__main__":
    for fn in (test_healthy, test_deadlock, test_blocked, test_parked, test_spinner,
               test_calibrated, test_usdt_deadlock):
        try:
            fn()
        except Exception as e:  # a crashed test is a failed test, and the rest still run
            check(f"{fn.__name__}: ran without exception", False, repr(e))
    finish()
