"""Helpers for the end-to-end tests: start a target, run taskscope, read its
JSON, compare its findings with the ones a target is known to produce.

Nothing here decides a result by itself: a test compares what taskscope
printed with what the target is known to do, and says both when they differ.
Fixtures that start targets and kill them at teardown are in conftest.py.
"""
import json
import os
import re
import select
import signal
import subprocess
import time
from collections import Counter

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TASKSCOPE = os.path.join(ROOT, "build", "taskscope")
TARGETS = os.path.join(ROOT, "tests", "targets", "target", "release")
CRUNTIME = os.path.join(ROOT, "tests", "targets", "cruntime", "build")


def exit_status(code):
    """A returncode as words: 'status 1', 'signal SIGSEGV'."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"


class Target:
    """A test program that prints "ready PID" once set up; killed by kill().

    Use it through the spawn fixture (conftest.py) or a Scenario, which kill
    it at teardown even when the test failed, and fail the test when the
    target ended by itself (a crashed target is a failed test).
    """

    def __init__(self, name, path=None, settle=0.3, args=()):
        self.name = name
        self.path = path or os.path.join(TARGETS, name)
        self.killed = False
        if not os.access(self.path, os.X_OK):
            raise AssertionError(f"target {name}: {self.path} not built (make targets)")
        self.proc = subprocess.Popen([self.path, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        # bounded: a target that hangs before its ready line fails, not the suite
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else "(nothing within 30 s)"
        if not line.startswith("ready"):
            self.kill()
            raise AssertionError(f"target {name}: expected a 'ready PID' line, got {line!r} "
                                 f"({exit_status(self.proc.returncode)})")
        self.pid = self.proc.pid
        self.started = time.time()
        time.sleep(settle)

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        """Kills the target (on purpose: the teardown check then ignores it)."""
        self.killed = True
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def ended_by_itself(self):
        """Why the target is gone if nobody killed it, else None."""
        if self.killed or self.proc.poll() is None:
            return None
        return f"target {self.name} (PID {self.pid}) ended by itself: " \
               f"{exit_status(self.proc.returncode)}"


def run(args, timeout=60, user=None, env=None):
    """taskscope ARGS (env: variables added to ours); a taskscope killed by
    a signal fails the test."""
    cmd = [TASKSCOPE] + [str(a) for a in args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups",
               "--inh-caps=-all"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **env} if env else None)
    assert r.returncode >= 0, \
        f"taskscope {' '.join(map(str, args))} died: {exit_status(r.returncode)}; " \
        f"stderr {r.stderr[-400:]!r}"
    return r


def report(pid, duration=2, extra=(), env=None):
    """taskscope report --json: (exit code, parsed JSON, stderr). No JSON
    fails the test with what taskscope printed."""
    args = ["report", "-p", str(pid), "-d", str(duration), "--json", *extra]
    r = run(args, timeout=duration + 60, env=env)
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"taskscope {' '.join(args)}: expected JSON, got exit "
                             f"{r.returncode}, stderr {r.stderr.strip()!r}, stdout "
                             f"{r.stdout[:400]!r} ({e})") from None
    return r.returncode, data, r.stderr


def tasks_named(data, name):
    return [t for t in data["tasks"] if t["name"] == name]


def the_task(data, name):
    """The one task of that name; fails unless there is exactly one."""
    found = tasks_named(data, name)
    assert len(found) == 1, f"expected one task {name}, taskscope listed {len(found)}: " \
                            f"{sorted({t['name'] for t in data['tasks']})}"
    return found[0]


def stalls(data, kind, name=None):
    return [s for s in data["stalls"] if s["kind"] == kind and (name is None or s["name"] == name)]


def messages(data):
    return [s["message"] for s in data["stalls"]]


# ---- Findings, compared as a whole: every scenario states the exact set.

def deadlock(*names):
    """The expected key of a deadlock finding: the tasks of the cycle, in any
    order (taskscope reports a cycle once, from whichever member it sorts
    first)."""
    return ("deadlock", " <-> ".join(sorted(names)))


def finding_key(stall):
    if stall["kind"] == "deadlock":
        # the members of the cycle (JSON cycle[]); in text, from the message
        # "N tasks wait for each other: task 3 A at f:12 → X → task 4 B ... → task 3 A"
        if "cycle" in stall:
            return deadlock(*[m["name"] for m in stall["cycle"]])
        hops = stall["message"].split(": ", 1)[-1].split(" \u2192 ")
        names = [re.match(r"(?:task \S+|block_on) (\S+)", h) for h in hops[0:-1:2]]
        return deadlock(*[m.group(1) for m in names if m])
    return (stall["kind"], stall["name"])


def assert_findings(code, data, expected):
    """taskscope reported exactly the expected findings, (kind, task name)
    pairs with their multiplicity, and exited 1 if any, 0 if none."""
    got, want = Counter(map(finding_key, data["stalls"])), Counter(expected)

    def show(c):
        return ", ".join(f"{n} x {k}/{t}" if n > 1 else f"{k}/{t}"
                         for (k, t), n in sorted(c.items())) or "none"
    assert got == want, \
        f"expected findings: {show(want)}; taskscope reported: {show(got)} " \
        f"(extra: {show(got - want)}; missing: {show(want - got)}); " \
        f"messages: {messages(data)[:8]}"
    assert code == (1 if want else 0), \
        f"expected exit {1 if want else 0} ({'findings' if want else 'no finding'}), " \
        f"taskscope exited {code}"


class Scenario:
    """One target, observed once by `taskscope report --json` for a class of
    tests. A subclass names the target and the exact findings it must
    produce; test_exact_findings runs for every subclass, the subclass adds
    the checks particular to its target. The target lives until the class's
    last test, and a target that ended by itself fails the class."""
    target = None           # name under tests/targets/target/release
    path = None             # or a full path
    settle = 0.3            # seconds between "ready" and the attach
    duration = 2            # report -d
    extra = ()              # more report options
    args = ()               # the target's own arguments
    findings = []           # [(kind, task name)], with repeats; deadlock(...)

    @pytest.fixture(scope="class")
    def observed(self, request):
        cls = request.cls
        t = Target(cls.target, path=cls.path, settle=cls.settle, args=cls.args)
        try:
            t0 = time.time()
            code, data, err = report(t.pid, cls.duration, cls.extra)
            yield Observed(t, code, data, err, time.time() - t0)
            gone = t.ended_by_itself()
            assert gone is None, gone
        finally:
            t.kill()

    def test_exact_findings(self, observed):
        assert_findings(observed.code, observed.data, self.findings)


class Observed:
    """A Scenario's target and its report: exit code, JSON, stderr, and how
    long the report took."""
    def __init__(self, target, code, data, err, took):
        self.target, self.code, self.data, self.err, self.took = target, code, data, err, took


# ---- BPF programs left in the kernel.

PROG_NAMES = ("task_poll", "task_poll_ret", "task_wake", "task_dealloc", "task_spawn",
              "sched_switch")


def attached_links(settle=3.0):
    """taskscope's programs still in the kernel. The kernel frees a program
    a little after its last fd closes (uprobe_multi links are released from
    a workqueue), so allow `settle` seconds for them to go."""
    deadline = time.time() + settle
    while True:
        out = subprocess.run(["bpftool", "-j", "prog", "list"], capture_output=True,
                             text=True).stdout
        progs = [p for p in json.loads(out or "[]") if p.get("name") in PROG_NAMES]
        if not progs or time.time() >= deadline:
            return progs
        time.sleep(0.1)


def prog_holders():
    """prog id -> pids holding an fd on it (the program's or a link's), from fdinfo."""
    held = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fdinfo")
        except OSError:
            continue
        for fd in fds:
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    m = re.search(r"^prog_id:\s*(\d+)", f.read(), re.M)
            except OSError:
                continue
            if m:
                held.setdefault(int(m.group(1)), set()).add(int(pid))
    return held


def left_attached(settle=3.0):
    """taskscope programs nobody holds any more: what a run left behind. Other
    runs of taskscope on the machine (other tests, benchmarks) hold theirs, and
    are not counted."""
    deadline = time.time() + settle
    while True:
        held = prog_holders()
        left = [p for p in attached_links(0) if not held.get(p["id"])]
        if not left or time.time() >= deadline:
            return [f"{p['id']} {p['name']}" for p in left]
        time.sleep(0.1)


def assert_nothing_left(after):
    left = left_attached()
    assert not left, f"expected no taskscope program left in the kernel after {after}, " \
                     f"found {left}"


def wait_exit(p, timeout=10):
    """Waits for a Popen'd process (text pipes); one that does not end in
    time is killed and fails the test. Returns (returncode, stdout, stderr)."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"{' '.join(map(str, p.args))} did not end within {timeout} s; "
                             f"stderr {err[-300:]!r}") from None
    return p.returncode, out, err
