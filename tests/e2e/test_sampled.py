"""taskscope report --mode sampled against the targets the precise mode is tested on.

Sampled mode attaches nothing to the target's code but during short bursts:
tasks and states come from memory, the running task of each thread from a
cpu-clock sample of tokio's thread-local, polls and wakes from the bursts.
Each check asserts the finding the precise mode makes on the same target
(tests/e2e/test_report.py), and on the healthy one that no uprobe stays
attached between bursts.
"""
import json
import os
import re
import subprocess
import time

import pytest

from tslib import (CRUNTIME, TASKSCOPE, Scenario, Target, assert_findings, deadlock, exit_status,
                   messages, prog_holders, stalls, tasks_named, the_task, wait_exit)

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
        held = prog_holders()
        left = [p for p in json.loads(out or "[]")
                if p.get("name") in SAMPLE_PROGS and not held.get(p["id"])]
        if not left or time.time() >= deadline:
            return [f"{p['id']} {p['name']}" for p in left]
        time.sleep(0.1)



class TestHealthy:
    """No finding, and no uprobe on the target between bursts: taskscope's
    links are looked at every 5 ms while the report runs."""

    @pytest.fixture(scope="class")
    def watched(self):
        t = Target("healthy")
        try:
            p = subprocess.Popen([TASKSCOPE, "report", "-p", str(t.pid), "-d", "3", "--json",
                                  *SAMPLED], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
            polls, with_uprobe, fewest_perf = watch_links(p, t.pid)
            code, out, err = wait_exit(p, 30)
            assert code >= 0, f"taskscope report {' '.join(SAMPLED)} died: " \
                              f"{exit_status(code)}; stderr {err[-400:]!r}"
            try:
                data = json.loads(out)
            except ValueError as e:
                raise AssertionError(f"expected JSON from report {' '.join(SAMPLED)}, got exit "
                                     f"{code}, stderr {err.strip()!r}, stdout {out[:400]!r} "
                                     f"({e})") from None
            yield Watched(t, code, data, polls, with_uprobe, fewest_perf)
            gone = t.ended_by_itself()
            assert gone is None, gone
        finally:
            t.kill()

    def test_exact_findings(self, watched):
        assert_findings(watched.code, watched.data, [])

    def test_mode_named(self, watched):
        data = watched.data
        assert data["mode"] == "sampled" and data["sampled"]["tls_layout"] == "DWARF", \
            f"expected mode sampled with the thread-local layout from DWARF, taskscope " \
            f"printed mode {data['mode']}, {data.get('sampled')}"

    def test_tasks(self, watched):
        names = {x["name"] for x in watched.data["tasks"]}
        want = {"healthy::pinger", "healthy::ponger", "healthy::ticker", "healthy::aggregator"}
        assert want <= names, f"expected task types {sorted(want)}, taskscope named {sorted(names)}"
        tick = tasks_named(watched.data, "healthy::ticker")
        assert len(tick) == 4, f"expected 4 healthy::ticker tasks, taskscope listed {len(tick)}"

    def test_polls_from_bursts(self, watched):
        # the 4 tickers sleep 5, 6, 7, 8 ms: ~640 polls/s together, ~1900 in 3 s;
        # estimated from 3 bursts of 10 ms, so a few dozen polls seen: +-50 %
        tick = tasks_named(watched.data, "healthy::ticker")
        total = sum(x["polls"] for x in tick)
        assert 950 <= total <= 2900, \
            f"expected 950-2900 ticker polls estimated from the bursts (~1900 in 3 s), " \
            f"taskscope estimated {total}: {[x['polls'] for x in tick]}"
        assert watched.data["sampled"]["bursts"] >= 2, \
            f"expected >= 2 bursts in 3 s, taskscope printed {watched.data['sampled']}"

    def test_no_uprobe_outside_bursts(self, watched):
        # the bursts: 10 ms attached per second, plus the links' teardown
        polls, with_uprobe = watched.polls, watched.with_uprobe
        frac = with_uprobe / polls if polls else 1
        assert polls >= 100 and 0 < with_uprobe and frac <= 0.15, \
            f"expected a uprobe_multi link on the target in some (bursts) but <= 15 % of " \
            f">= 100 looks at taskscope's links, saw one in {with_uprobe} of {polls} " \
            f"({100 * frac:.1f} %)"

    def test_perf_event_per_cpu(self, watched):
        assert watched.fewest_perf == online_cpus(), \
            f"expected one cpu-clock perf event per CPU ({online_cpus()}) all along, " \
            f"taskscope held as few as {watched.fewest_perf}"

    def test_nothing_left(self, watched):
        assert watched.target.alive(), "expected the target still running after the report"
        left = sampled_left_behind()
        assert not left, f"expected no sampling program left in the kernel, found {left}"


class Watched:
    def __init__(self, target, code, data, polls, with_uprobe, fewest_perf):
        self.target, self.code, self.data = target, code, data
        self.polls, self.with_uprobe, self.fewest_perf = polls, with_uprobe, fewest_perf


class TestDeadlock(Scenario):
    target = "deadlock"
    settle = 0.5
    extra = SAMPLED
    findings = [deadlock("deadlock::lock_ab", "deadlock::lock_ba"),
                ("idle", "deadlock::lock_ab"), ("idle", "deadlock::lock_ba")]

    def test_cycle(self, observed):
        d = stalls(observed.data, "deadlock")
        assert len(d) == 1 and d[0]["count"] == 2, \
            f"expected one cycle of two tasks: {messages(observed.data)}"
        m = d[0]["message"]
        assert "deadlock::lock_ab at src/main.rs:12 waits for mutex" in m and \
            "deadlock::lock_ba at src/main.rs:20 waits for mutex" in m, \
            f"expected both await lines (main.rs:12, main.rs:20) in the cycle, got {m!r}"


class TestBlocked(Scenario):
    """Sampled mode sees wakes only in bursts: no starvation finding, unlike
    the precise mode (test_report.py)."""
    target = "blocked"
    duration = 3
    extra = SAMPLED
    findings = [("blocked_worker", "blocked::blocking_handler")]

    def test_blocking_poll(self, observed):
        s = stalls(observed.data, "blocked_worker", "blocked::blocking_handler")
        assert len(s) == 1, f"expected one blocked_worker finding on blocking_handler: " \
                            f"{messages(observed.data)}"
        s = s[0]
        assert s["duration_s"] >= 1.4 and s["offcpu_s"] >= 0.8 * min(s["duration_s"], 1.5), \
            f"expected a poll >= 1.4 s, mostly off-CPU; taskscope measured " \
            f"{s['duration_s']} s, {s['offcpu_s']} s off-CPU"

    def test_busy_is_offcpu_poll(self, observed):
        bh = the_task(observed.data, "blocked::blocking_handler")
        assert bh["busy_s"] >= 1.0 and bh["offcpu_in_polls_s"] >= 1.0, \
            f"expected blocking_handler busy >= 1 s, off-CPU in its poll >= 1 s; taskscope " \
            f"printed busy {bh['busy_s']} s, off-CPU in polls {bh['offcpu_in_polls_s']} s"


class TestParked(Scenario):
    target = "parked"
    extra = SAMPLED
    findings = [("idle", "parked::wait_forever")] * 3 + [("idle", "parked::wait_for_signal")]

    def test_parked_tasks(self, observed):
        wf = tasks_named(observed.data, "parked::wait_forever")
        ws = tasks_named(observed.data, "parked::wait_for_signal")
        assert len(wf) == 3 and len(ws) == 1 and all(x["state"] == "idle" for x in wf + ws), \
            f"expected 3 wait_forever and 1 wait_for_signal, all idle; taskscope listed " \
            f"{[(x['name'], x['state']) for x in observed.data['tasks']]}"

    def test_idle_since_before_attach(self, observed):
        idle = stalls(observed.data, "idle")
        assert idle, "expected idle findings, taskscope reported none"
        bad = [s["message"] for s in idle if not (s["at_least"] and s["duration_s"] >= 1.9)]
        assert not bad, f"expected each idle >= 1.9 s since before attach: {bad}"

    def test_await_lines(self, observed):
        idle = [s["message"] for s in stalls(observed.data, "idle")]
        at9 = sum("at src/main.rs:9" in m for m in idle)
        at14 = sum("at src/main.rs:14" in m for m in idle)
        assert at9 == 3 and at14 == 1, \
            f"expected 3 idle findings at src/main.rs:9 and 1 at src/main.rs:14, " \
            f"taskscope printed {idle}"


class TestSpinner(Scenario):
    target = "spinner"
    extra = SAMPLED
    findings = [("spinning", "spinner::spin_loop")]

    def test_spin_loop_sampled(self, observed):
        sl = the_task(observed.data, "spinner::spin_loop")
        assert sl["cpu_samples"] > 0, \
            f"expected spin_loop seen on the CPU by samples, taskscope counted " \
            f"{sl['cpu_samples']} samples"


class TestCalibrated(Scenario):
    """No DWARF for the field: the offset is found against bursts, and agrees.
    Calibration needs samples that land inside probed polls: spin_loop is on
    the CPU all the time (healthy's polls are too short to be sure of it)."""
    target = "spinner"
    duration = 1.5
    extra = SAMPLED
    findings = [("spinning", "spinner::spin_loop")]

    @pytest.fixture(scope="class", autouse=True)
    def calibrate(self):
        # autouse: set before the class's observed fixture runs the report
        old = os.environ.get("TASKSCOPE_SAMPLED_CALIBRATE")
        os.environ["TASKSCOPE_SAMPLED_CALIBRATE"] = "1"
        yield
        if old is None:
            del os.environ["TASKSCOPE_SAMPLED_CALIBRATE"]
        else:
            os.environ["TASKSCOPE_SAMPLED_CALIBRATE"] = old

    def test_field_calibrated(self, observed):
        s = observed.data["sampled"]
        assert s["tls_layout"] == "calibrated" and \
            s["tls_field"] == "+0x20 tag 8 B (None 0), id +0x28", \
            f"expected the field found by calibration where DWARF puts it " \
            f"(+0x20 tag 8 B (None 0), id +0x28), taskscope printed layout " \
            f"{s['tls_layout']!r}, field {s['tls_field']!r}"


class TestUsdtDeadlock(Scenario):
    """A USDT runtime replays its state only to a tracer that stays: its probes
    stay attached in sampled mode, and the deadlock is found as in default."""
    target = "c_deadlock"
    path = os.path.join(CRUNTIME, "c_deadlock")
    extra = SAMPLED
    findings = [deadlock("transfer_ab", "transfer_ba"),
                ("idle", "transfer_ab"), ("idle", "transfer_ba")]

    def test_probes_stay(self, observed):
        s = observed.data["sampled"]
        assert s["probes_attached"] and observed.data["probe_sites"] > 0, \
            f"expected the USDT probes attached all along and said so, taskscope printed " \
            f"probe_sites {observed.data['probe_sites']}, {s}"

    def test_cycle(self, observed):
        d = stalls(observed.data, "deadlock")
        assert len(d) == 1 and d[0]["count"] == 2, \
            f"expected one cycle of two tasks: {messages(observed.data)}"
