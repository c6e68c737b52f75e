"""Post-mortem reports: `report --core FILE` on a core dump (gcore) gives the
tasks, states, await chains and deadlocks the live report gives, with the
target gone; nothing time-based is claimed, nothing false is reported, and
bad core files get one line and exit 2."""
import json
import os
import shutil
import subprocess

import pytest

from tslib import (Target, assert_findings, deadlock, report, run, TARGETS)

GCORE = shutil.which("gcore")


def dump(target, tmp_path):
    """gcore's core of target (gdb stops it for the dump: the user's choice,
    not taskscope's), then the target is killed: the core outlives it."""
    assert GCORE, "gcore not installed (package gdb, in make deps)"
    prefix = tmp_path / "core"
    r = subprocess.run([GCORE, "-o", str(prefix), str(target.pid)], capture_output=True,
                       text=True, timeout=120)
    path = f"{prefix}.{target.pid}"
    assert r.returncode == 0 and os.path.exists(path), \
        f"gcore {target.pid} failed: {r.returncode} {r.stderr[-300:]!r}"
    target.kill()
    return path


def core_report(path, extra=()):
    r = run(["report", "--core", path, "--json", *extra], timeout=120)
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"report --core {path}: exit {r.returncode}, stderr "
                             f"{r.stderr.strip()!r}, stdout {r.stdout[:300]!r}") from None
    return r.returncode, data, r.stderr


def await_lines(task):
    """The user's own .await lines of a task's chain (file:line)."""
    chain = task.get("await_chain") or {}
    return [f"{f['file']}:{f['line']}" for f in chain.get("frames", [])
            if not f.get("external") and f.get("line")]


def live_tasks(data):
    return {t["id"]: t for t in data["tasks"] if t["state"] != "done"}


class PostMortem:
    """Live report, then gcore, kill, and the core's report, once per class."""
    target = None
    live_findings = []      # of the live report (time-based ones included)
    core_findings = []      # of the core: no time, so only what needs none

    @pytest.fixture(scope="class")
    def both(self, request, tmp_path_factory):
        cls = request.cls
        t = Target(cls.target)
        try:
            live = report(t.pid, 1.5)
            path = dump(t, tmp_path_factory.mktemp(cls.target))
            gone_pid = t.pid
            assert not os.path.exists(f"/proc/{gone_pid}/exe"), "the target still runs"
            yield live, core_report(path), path
        finally:
            t.kill()

    def test_live_findings(self, both):
        (code, data, _), _, _ = both
        assert_findings(code, data, self.live_findings)

    def test_core_findings(self, both):
        _, (code, data, err), _ = both
        assert data["mode"] == "core", data["mode"]
        assert_findings(code, data, self.core_findings)

    def test_same_tasks_states_and_await_lines(self, both):
        (_, live, _), (_, core, _), _ = both
        lt, ct = live_tasks(live), live_tasks(core)
        # the live report may see a task the probes caught running; its
        # suspended tasks are the core's suspended tasks
        idle_live = {i: t for i, t in lt.items() if t["state"] == "idle"}
        idle_core = {i: t for i, t in ct.items() if t["state"] == "idle"}
        assert idle_live.keys() == idle_core.keys(), \
            f"idle tasks live {sorted(idle_live)} vs core {sorted(idle_core)}"
        for i, t in idle_live.items():
            c = idle_core[i]
            assert c["name"] == t["name"], f"task {i}: {c['name']} vs live {t['name']}"
            assert await_lines(c) == await_lines(t), \
                f"task {i} {t['name']}: core chain {await_lines(c)} vs live {await_lines(t)}"

    def test_text_says_post_mortem(self, both):
        _, _, path = both
        r = run(["report", "--core", path], timeout=120)
        assert "post-mortem: core file" in r.stdout, r.stdout[:500]
        assert ">=" not in r.stdout.split("STALLS")[0], \
            "a core has no window: no '>= N s' idle times may be claimed"


class TestDeadlockCore(PostMortem):
    target = "deadlock"
    live_findings = [deadlock("deadlock::lock_ab", "deadlock::lock_ba"),
                     ("idle", "deadlock::lock_ab"), ("idle", "deadlock::lock_ba")]
    core_findings = [deadlock("deadlock::lock_ab", "deadlock::lock_ba")]

    def test_chains_name_the_mutexes(self, both):
        _, (_, core, _), _ = both
        for name, line in (("deadlock::lock_ab", "src/main.rs:12"),
                           ("deadlock::lock_ba", "src/main.rs:20")):
            t = [t for t in core["tasks"] if t["name"] == name]
            assert len(t) == 1, f"one {name} expected in the core's tasks"
            assert await_lines(t[0])[:1] == [line], await_lines(t[0])


class TestChannelFullCore(PostMortem):
    """A producer waits for room nobody makes: live, both are idle
    findings; the core (no time) lists both at the same .await lines and
    claims nothing."""
    target = "channel_full"
    live_findings = [("idle", "channel_full::producer"), ("idle", "channel_full::consumer")]
    core_findings = []


class TestHealthyCore(PostMortem):
    target = "healthy"
    live_findings = []
    core_findings = []


class TestQuietCore(PostMortem):
    target = "quiet"
    live_findings = []
    core_findings = []


def test_not_a_core(tmp_path):
    """An executable, a text file, a truncated core: one line, exit 2."""
    text = tmp_path / "notes.txt"
    text.write_text("not a core\n" * 10)
    for path in (os.path.join(TARGETS, "healthy"), str(text), "/nonexistent/core"):
        r = run(["report", "--core", path])
        assert r.returncode == 2, f"{path}: exit {r.returncode}"
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("taskscope"), lines


def test_truncated_and_mismatched(tmp_path):
    t = Target("deadlock")
    try:
        path = dump(t, tmp_path)
    finally:
        t.kill()
    # the wrong binary for the core: said, not a wrong report
    r = run(["report", "--core", path, "--exe", os.path.join(TARGETS, "healthy")])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, \
        (r.returncode, r.stderr)
    # cut at every eighth of its size: never a crash, never a false finding
    size = os.path.getsize(path)
    cut = tmp_path / "cut"
    with open(path, "rb") as f:
        whole = f.read()
    for k in range(1, 8):
        cut.write_bytes(whole[:size * k // 8])
        r = run(["report", "--core", str(cut), "--json"], timeout=120)
        assert r.returncode in (0, 1, 2), r.returncode
        if r.returncode != 2:
            data = json.loads(r.stdout)
            kinds = {s["kind"] for s in data["stalls"]}
            assert kinds <= {"deadlock"}, f"cut at {k}/8: {kinds}"


def test_options_conflict():
    r = run(["report", "--core", "/proc/self/exe", "-p", "1"])
    assert r.returncode == 2 and "not both" in r.stderr, r.stderr
    r = run(["report", "-p", "1", "--exe", "/proc/self/exe"])
    assert r.returncode == 2 and "--exe goes with --core" in r.stderr, r.stderr
