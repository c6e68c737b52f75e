"""`taskscope watch`: started before a stall begins, it writes exactly one
report of it (text and JSON) when it begins, logs its end, runs --exec with
the report; a healthy target gets no report over the same time; --all picks
up processes as they start (and again after a restart); bad input is one
line and exit 2; nothing stays attached after it stops."""
import json
import os
import signal
import subprocess
import time

from tslib import TASKSCOPE, Target, assert_nothing_left, run, wait_exit

DELAY_MS = 3000     # late_stall: healthy this long, then stuck
HOLD_MS = 5000      # and unstuck this much later


def events(out):
    path = os.path.join(out, "events.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def reports(out, ext=".txt"):
    return sorted(n for n in os.listdir(out) if n.startswith("stall-") and n.endswith(ext))


def watch(args, timeout):
    p = subprocess.Popen([TASKSCOPE, "watch", *map(str, args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return p, timeout


def watch_late_stall(args):
    """taskscope watch -p (a late_stall target) ARGS: (exit code, stdout,
    stderr, when the target was ready). The target must outlive the watch
    (and any core it saves)."""
    t = Target("late_stall", args=(str(DELAY_MS), str(HOLD_MS)), settle=0)
    try:
        ready = time.time()
        p = subprocess.Popen([TASKSCOPE, "watch", "-p", str(t.pid), *map(str, args)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        code, stdout, stderr = wait_exit(p, 60)
        assert t.alive(), "the target must outlive the watch"
    finally:
        t.kill()
    return code, stdout, stderr, ready


def test_late_stall_reported_once_and_its_end(tmp_path):
    out = tmp_path / "out"
    exec_log = tmp_path / "exec.log"
    code, stdout, stderr, start = watch_late_stall(["--out", out, "-d", "12", "--end-after", "2",
                                             "--exec", f'echo "$1" >> {exec_log}'])
    assert code == 1, f"exit {code} (1: a stall began); stderr {stderr[-300:]!r}"
    ev = events(out)
    began = [e for e in ev if e["event"] == "began"]
    ended = [e for e in ev if e["event"] == "ended"]
    names = sorted(e["task"] for e in began)
    # the waiter, and the replier asleep on its timer: one incident, both idle
    assert names == ["late_stall::slow_replier", "late_stall::wait_for_reply"], \
        f"began: {[(e['kind'], e['task']) for e in began]}"
    assert all(e["kind"] == "idle" for e in began), began
    assert not [e for e in began if "ticker" in e["task"]], "the ticker is healthy"
    # exactly one report, both stalls in it, written after the stall began
    txt = reports(out)
    assert len(txt) == 1, f"expected one report, found {txt}"
    assert reports(out, ".json") == [txt[0][:-4] + ".json"], os.listdir(out)
    assert {e["report"] for e in began} == {str(out / txt[0])}, began
    data = json.loads((out / txt[0]).with_suffix(".json").read_text())
    assert {s["name"] for s in data["stalls"]} == set(names), data["stalls"]
    text = (out / txt[0]).read_text()
    assert "wait_for_reply" in text and "src/main.rs:" in text, text[:600]
    first = time.mktime(time.strptime(began[0]["time"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert first >= start + DELAY_MS / 1000 - 1, \
        f"a stall reported {first - start:.1f} s after start, before it began"
    # and both ended once the reply went out
    assert sorted(e["task"] for e in ended) == names, \
        f"ended: {ended}; stdout {stdout[-600:]}"
    assert exec_log.read_text().split() == [str(out / txt[0])], exec_log.read_text()
    assert stdout.count("stall began") == 2 and stdout.count("stall ended") == 2, stdout


def test_healthy_target_no_report(spawn, tmp_path):
    out = tmp_path / "out"
    t = spawn("healthy")
    r = run(["watch", "-p", t.pid, "--out", out, "-d", "6"], timeout=60)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stdout[-400:]} {r.stderr[-300:]}"
    assert reports(out) == [] and events(out) == [], os.listdir(out)
    assert "stall began" not in r.stdout, r.stdout


def test_all_picks_up_starts_and_restarts(tmp_path):
    out = tmp_path / "out"
    p = subprocess.Popen([TASKSCOPE, "watch", "--all", "--out", str(out), "-d", "14"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = []
    try:
        time.sleep(2)
        for _ in range(2):      # a service, and the same service restarted
            t = Target("deadlock", settle=0)
            pids.append(t.pid)
            time.sleep(4)
            t.kill()
            time.sleep(1)
        code, stdout, stderr = wait_exit(p, 60)
    finally:
        if p.poll() is None:
            p.kill()
    mine = [e for e in events(out) if e["pid"] in pids]
    for pid in pids:
        assert f"watching PID {pid} (deadlock)" in stdout, f"PID {pid} not picked up: {stdout}"
        kinds = sorted(e["kind"] for e in mine if e["pid"] == pid and e["event"] == "began")
        assert kinds == ["deadlock", "idle", "idle"], f"PID {pid}: {kinds}"
        assert f"PID {pid} (deadlock) exited: no longer watched" in stdout, stdout
    assert code == 1, code
    assert_nothing_left("watch --all")


def test_sigterm_leaves_nothing(spawn, tmp_path):
    t = spawn("blocked")
    p = subprocess.Popen([TASKSCOPE, "watch", "-p", str(t.pid), "--out", str(tmp_path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    p.send_signal(signal.SIGTERM)
    code, _, stderr = wait_exit(p, 20)
    assert code in (0, 1), f"exit {code}: {stderr[-300:]}"
    assert t.alive()
    assert_nothing_left("watch stopped by SIGTERM")


def test_bad_input(tmp_path):
    afile = tmp_path / "file"
    afile.write_text("x")
    for args, words in ((["watch"], "-p PID or --all"),
                        (["watch", "-p", "1", "--all"], "-p PID or --all"),
                        (["watch", "-p", "999999999"], "no process with PID"),
                        (["watch", "--all", "--out", afile], "not a directory"),
                        (["watch", "--all", "-i", "0"], "invalid --interval"),
                        (["watch", "--all", "--max-reports", "0"], "invalid --max-reports"),
                        (["watch", "--all", "--bogus"], "--help")):
        r = run(args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and words in lines[0], \
            (args, r.returncode, lines)


def test_core_dir_one_core_per_incident(tmp_path):
    """--core-dir: the incident gets one core (gcore), which `report --core`
    reads with the process still running and after: the waiter at its
    .await line."""
    out, cores = tmp_path / "out", tmp_path / "cores"
    cores.mkdir()
    code, stdout, stderr, _ = watch_late_stall(["--out", out, "-d", "8", "--core-dir", cores])
    assert code == 1, f"exit {code}; stderr {stderr[-300:]!r}"
    saved = sorted(cores.iterdir())
    assert len(saved) == 1 and stdout.count("core of PID") == 1, \
        f"expected one core for the one incident, got {saved}: {stdout[-400:]}"
    r = run(["report", "--core", saved[0], "--json"], timeout=120)
    data = json.loads(r.stdout)
    waiter = [x for x in data["tasks"] if x["name"] == "late_stall::wait_for_reply"]
    assert len(waiter) == 1 and waiter[0]["state"] == "idle" and \
        waiter[0]["await_chain"]["frames"][0]["file"] == "src/main.rs", \
        f"expected the waiter idle at its .await in the core: {waiter}"


def test_core_dir_bad(tmp_path):
    r = run(["watch", "-p", "1", "--core-dir", str(tmp_path / "missing")])
    assert r.returncode == 2 and "--core-dir" in r.stderr and \
        len(r.stderr.strip().splitlines()) == 1, (r.returncode, r.stderr)
