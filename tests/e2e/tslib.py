"""Helpers for end-to-end tests: start a target, run taskscope, report checks.

Every check prints one line, "PASS name" or "FAIL name: why"; tests/run.sh
counts them. Nothing here decides a result by itself: a check compares what
taskscope printed with what the target is known to do.
"""
import json
import re
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TASKSCOPE = os.path.join(ROOT, "build", "taskscope")
TARGETS = os.path.join(ROOT, "tests", "targets", "target", "release")

failures = 0


def check(name, cond, why=""):
    global failures
    if cond:
        print(f"PASS {name}", flush=True)
    else:
        failures += 1
        print(f"FAIL {name}: {why}", flush=True)
    return cond


def finish():
    sys.exit(1 if failures else 0)


class Target:
    """A test program started for one test; killed on exit."""

    def __init__(self, name, path=None, settle=0.3):
        self.name = name
        path = path or os.path.join(TARGETS, name)
        self.proc = subprocess.Popen([path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, start_new_session=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            self.kill()
            raise RuntimeError(f"{name}: no ready line (got {line!r})")
        self.pid = self.proc.pid
        time.sleep(settle)

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def run(args, timeout=60, user=None):
    cmd = [TASKSCOPE] + args
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups",
               "--inh-caps=-all"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def report(pid, duration=2, extra=()):
    """taskscope report --json; returns (exit code, parsed JSON or None, stderr)."""
    r = run(["report", "-p", str(pid), "-d", str(duration), "--json", *extra])
    try:
        data = json.loads(r.stdout) if r.stdout.strip() else None
    except json.JSONDecodeError as e:
        print(f"# bad JSON: {e}: {r.stdout[:500]!r}")
        data = None
    return r.returncode, data, r.stderr


def tasks_named(data, name):
    return [t for t in data["tasks"] if t["name"] == name]


def stalls(data, kind, name=None):
    return [s for s in data["stalls"] if s["kind"] == kind and (name is None or s["name"] == name)]


def attached_links(settle=3.0):
    """taskscope's programs still in the kernel. The kernel frees a program
    a little after its last fd closes (uprobe_multi links are released from
    a workqueue), so allow `settle` seconds for them to go."""
    deadline = time.time() + settle
    while True:
        out = subprocess.run(["bpftool", "-j", "prog", "list"], capture_output=True,
                             text=True).stdout
        progs = [p for p in json.loads(out or "[]")
                 if p.get("name") in ("task_poll", "task_poll_ret", "task_wake",
                                      "task_dealloc", "sched_switch")]
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
