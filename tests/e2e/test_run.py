"""taskscope run -- CMD: a hung #[tokio::test] named with its .await line,
killed, exit 124 soon after --hang-after; a passing run exits with CMD's
status and CMD's output unchanged, taskscope silent.

The target is the cargo test crate tests/targets/tokio/hung_tests: test
binary `ledger` with one passing test and two ignored ones that hang (a
mutex a forgotten task holds; a channel nobody sends to).
"""
import json
import os
import re
import subprocess
import time

import pytest

from tslib import ROOT, TASKSCOPE, exit_status, run

TARGETS_DIR = os.path.join(ROOT, "tests", "targets")
HANG = 124


@pytest.fixture(scope="module")
def ledger():
    """Path of the `ledger` test binary (built by make targets; cargo only
    checks it is fresh here)."""
    r = subprocess.run(["cargo", "test", "--release", "--offline", "--no-run", "-p", "hung_tests",
                        "--message-format=json"], cwd=TARGETS_DIR, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, f"cargo test --no-run -p hung_tests failed: {r.stderr[-400:]}"
    for line in r.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and \
                msg["target"]["name"] == "ledger":
            return msg["executable"]
    raise AssertionError("cargo did not name the ledger test binary")


def taskscope_run(args, cwd=None, timeout=60):
    t0 = time.time()
    r = subprocess.run([TASKSCOPE, "run", *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, cwd=cwd)
    return r, time.time() - t0


def processes_running(path):
    """PIDs whose /proc/PID/exe is path."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/exe") == path:
                    pids.append(int(d))
            except OSError:
                pass
    return pids


def hung_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("taskscope run: hung: ")]


class TestMutexHang:
    @pytest.fixture(scope="class")
    def result(self, ledger, tmp_path_factory):
        out = tmp_path_factory.mktemp("run") / "hang.json"
        r, took = taskscope_run(["--hang-after", 3, "--json", out, "--", ledger,
                                 "--include-ignored", "--exact", "reconciles_ledger_after_audit"])
        return r, took, out, ledger

    def test_exit_status_and_time(self, result):
        r, took, _, _ = result
        assert r.returncode == HANG, \
            f"expected exit {HANG} for a hang, got {exit_status(r.returncode)}: {r.stderr[-600:]}"
        assert 3 <= took <= 8, f"expected the hang called within a few s of 3 s, took {took:.1f} s"

    def test_names_the_test_and_its_await_line(self, result):
        r, _, _, _ = result
        hung = hung_lines(r.stderr)
        assert len(hung) == 1, f"expected exactly one hung test named, got {hung}"
        assert "reconciles_ledger_after_audit" in hung[0] and \
            "tests/ledger.rs:28" in hung[0] and "mutex" in hung[0], \
            f"expected the test, ledger.rs:28 and the mutex, got {hung[0]!r}"

    def test_says_who_holds_the_mutex(self, result):
        r, _, _, _ = result
        stalls = r.stderr.split("STALLS", 1)[-1]
        m = re.search(r"block_on reconciles_ledger_after_audit \(thread \d+\).*ledger\.rs:28.*"
                      r"held by task \d+ ledger::reconciles_ledger_after_audit", stalls)
        assert m, f"expected the test's wait on a mutex held by the spawned task: {stalls[:900]}"
        # the holder itself waits at line 24 on the audit channel
        assert re.search(r"\[idle\] task \d+ .*ledger\.rs:24, waiting on channel", stalls), \
            f"expected the holder idle at ledger.rs:24 on the channel: {stalls[:900]}"

    def test_json_exact_findings(self, result):
        _, _, out, _ = result
        data = json.loads(out.read_text().splitlines()[0])
        got = sorted((s["kind"], s["task"]["name"] if isinstance(s.get("task"), dict)
                      else s.get("name")) for s in data["stalls"])
        roots = [t for t in data["tasks"] if "root_thread" in t]
        assert [t["name"] for t in roots] == ["reconciles_ledger_after_audit"], \
            f"expected one block_on root, the hung test; got {[t['name'] for t in roots]}"
        # the test keeps the audit channel's only Sender while it waits for the
        # lock; the task holding the lock waits on that channel: a deadlock
        # through a channel (the cycle), and both tasks idle
        assert [k for k, _ in got] == ["deadlock", "idle", "idle"], \
            f"expected the cycle and two idle findings (the test, the lock's holder), got {got}"
        d = [s for s in data["stalls"] if s["kind"] == "deadlock"][0]
        m = d["message"]
        assert re.search(r"block_on reconciles_ledger_after_audit \(thread \d+\) at "
                         r"\S*tests/ledger\.rs:28 \u2192 Mutex<u64> 0x[0-9a-f]+ \u2192 task \d+ "
                         r"ledger::reconciles_ledger_after_audit::\{async block\}", m), m
        assert re.search(r"ledger::reconciles_ledger_after_audit::\{async block\} at "
                         r"\S*tests/ledger\.rs:24 \u2192 recv on mpsc::channel<\(\)> "
                         r"0x[0-9a-f]+ \(0/1\) \u2192 block_on reconciles_ledger_after_audit", m), m
        assert not any(s["kind"] in ("blocked_worker", "spinning", "starved")
                       for s in data["stalls"]), f"nothing else may be claimed: {got}"

    def test_killed(self, result):
        _, _, _, ledger = result
        assert not processes_running(ledger), "the hung test binary was not killed"


def test_channel_hang_through_cargo(ledger):
    """cargo test starts the binary: run follows the tree and finds it."""
    r, took = taskscope_run(["--hang-after", 3, "--", "cargo", "test", "--release", "--offline",
                             "-q", "-p", "hung_tests", "--test", "ledger", "--",
                             "--include-ignored", "--exact", "waits_for_settlement_reply"],
                            cwd=TARGETS_DIR, timeout=300)
    assert r.returncode == HANG, f"expected {HANG}, got {exit_status(r.returncode)}: " \
                                 f"{r.stderr[-600:]}"
    hung = hung_lines(r.stderr)
    assert len(hung) == 1 and "waits_for_settlement_reply" in hung[0] and \
        "tests/ledger.rs:37" in hung[0] and "channel_recv" in hung[0], \
        f"expected the channel test at ledger.rs:37, got {hung}"
    # the test keeps the reply channel's only Sender while it waits on it
    assert re.search(r"\[idle\] block_on waits_for_settlement_reply \(thread \d+\): .*"
                     r"ledger\.rs:37, waiting on channel 0x[0-9a-f]+ \(recv\) whose only sender "
                     r"it holds itself: nothing else can wake it", r.stderr), r.stderr[-1500:]
    assert "reconciles_ledger_after_audit" not in r.stderr, \
        "a test that did not run was named"
    assert not processes_running(ledger), "the hung test binary was not killed"


def test_passing_run_is_transparent(ledger):
    direct = subprocess.run([ledger, "passes_quickly", "--nocapture"], capture_output=True,
                            text=True, timeout=60)
    r, took = taskscope_run(["--hang-after", 3, "--", ledger, "passes_quickly", "--nocapture"])
    norm = lambda s: re.sub(r"finished in [0-9.]+s", "finished in Xs", s)
    assert r.returncode == 0 == direct.returncode, \
        f"expected exit 0 as the test's own, got {exit_status(r.returncode)}: {r.stderr[-400:]}"
    assert norm(r.stdout) == norm(direct.stdout) and "passes_quickly: got 7" in r.stdout, \
        f"CMD's output changed: {r.stdout!r} vs {direct.stdout!r}"
    assert r.stderr == direct.stderr, f"taskscope printed something of its own: {r.stderr!r}"
    assert took < 3, f"a passing run must not wait for anything: {took:.1f} s"


def test_exit_status_passes_through():
    r, _ = taskscope_run(["--", "sh", "-c", "echo out; echo err >&2; exit 7"])
    assert (r.returncode, r.stdout, r.stderr) == (7, "out\n", "err\n"), \
        f"expected CMD's status 7 and its output, got {r.returncode}, {r.stdout!r}, {r.stderr!r}"
    r, _ = taskscope_run(["--", "sh", "-c", "kill -TERM $$"])
    assert r.returncode == 128 + 15, f"expected 143 for a CMD killed by SIGTERM, got {r.returncode}"


def test_bad_input():
    for args, words in ((["--hang-after", "soon", "--", "true"], "--hang-after"),
                        ([], "no command"),
                        (["--core-dir", "/nonexistent/dir", "--", "true"], "--core-dir")):
        r, _ = taskscope_run(args)
        assert r.returncode == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, \
            f"run {args}: expected one line naming {words!r} and exit 2, got " \
            f"{r.returncode}: {r.stderr!r}"
    r, _ = taskscope_run(["--", "/nonexistent/cmd"])
    assert r.returncode == 127 and "cannot run" in r.stderr, \
        f"expected 127 for a missing command, got {r.returncode}: {r.stderr!r}"


def test_keep_leaves_it_running(ledger, tmp_path):
    # the kept process holds run's stdout and stderr: files, not pipes to wait on
    out = open(tmp_path / "out", "w+")
    try:
        code = subprocess.call([TASKSCOPE, "run", "--hang-after", "2", "--keep", "--", ledger,
                                "--include-ignored", "--exact", "waits_for_settlement_reply"],
                               stdout=out, stderr=out, timeout=60)
        out.seek(0)
        text = out.read()
        assert code == HANG, f"expected {HANG}, got {code}: {text[-400:]}"
        assert "--keep: PID" in text and processes_running(ledger), \
            "--keep: the hung process was killed"
    finally:
        out.close()
        for pid in processes_running(ledger):
            os.kill(pid, 9)


def test_core_dir_then_post_mortem(ledger, tmp_path):
    r, _ = taskscope_run(["--hang-after", 2, "--core-dir", tmp_path, "--", ledger,
                          "--include-ignored", "--exact", "reconciles_ledger_after_audit"],
                         timeout=120)
    assert r.returncode == HANG, f"expected {HANG}, got {r.returncode}: {r.stderr[-400:]}"
    cores = list(tmp_path.glob("core.*"))
    assert len(cores) == 1, f"expected one core saved, got {cores}: {r.stderr[-400:]}"
    assert not processes_running(ledger), "the hung test binary was not killed"
    p = run(["report", "--core", cores[0], "--exe", ledger, "--json"], timeout=120)
    data = json.loads(p.stdout)
    roots = [t for t in data["tasks"] if "root_thread" in t]
    assert [t["name"] for t in roots] == ["reconciles_ledger_after_audit"], \
        f"expected the hung test's body in the core, got {[t['name'] for t in roots]}"
    lines = [f["line"] for f in roots[0]["await_chain"]["frames"] if f["line"]]
    assert lines and lines[0] == 28, f"expected its .await at line 28 in the core: {lines}"
