"""taskscope record, report --from and top --replay (issue 14, parts 3 and 4)
on real targets: the trace a viewer opens (tracks, slices, wake arrows,
names), the snapshots the replays render (same findings as live), the ring
buffer's overflow counted, bad input refused in one line.
"""
import json
import os
import re
import select
import signal
import subprocess
import time
from collections import defaultdict

import pytest

from tslib import (TARGETS, TASKSCOPE, Target, deadlock, finding_key, report, run)


def ns(us):
    """A trace time (microseconds, three decimals) as integer nanoseconds."""
    return round(us * 1000)


def record(pid, path, seconds=3, extra=()):
    r = run(["record", "-p", pid, "-d", seconds, "-o", path, *extra], timeout=seconds + 60)
    assert r.returncode == 0, f"record failed: exit {r.returncode}, stderr {r.stderr.strip()!r}"
    with open(path) as f:
        doc = json.load(f)
    return doc, r.stderr


def report_from(path, extra=()):
    r = run(["report", "--from", path, "--json", *extra])
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"report --from {path}: no JSON (exit {r.returncode}, stderr "
                             f"{r.stderr.strip()!r})") from e
    return r.returncode, data


def events(doc, ph):
    return [e for e in doc["traceEvents"] if e["ph"] == ph]


class Recorded:
    def __init__(self, target, path, doc, stderr, live=None):
        self.target, self.path, self.doc, self.stderr, self.live = \
            target, path, doc, stderr, live


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    """healthy recorded for 4 s, then a live report of it (both while it runs)."""
    path = str(tmp_path_factory.mktemp("rec") / "healthy.json")
    t = Target("healthy")
    try:
        doc, err = record(t.pid, path, seconds=4)
        threads = set(int(x) for x in os.listdir(f"/proc/{t.pid}/task"))
        code, live, _ = report(t.pid, duration=2)
        assert t.alive(), t.ended_by_itself()
        rec = Recorded(t, path, doc, err, live)
        rec.threads = threads
        yield rec
    finally:
        t.kill()


@pytest.fixture(scope="module")
def deadlocked(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("rec") / "deadlock.json")
    t = Target("deadlock", settle=0.5)
    try:
        doc, err = record(t.pid, path, seconds=3)
        code, live, _ = report(t.pid, duration=2)
        assert t.alive(), t.ended_by_itself()
        rec = Recorded(t, path, doc, err, live)
        rec.live_code = code
        yield rec
    finally:
        t.kill()


# ---- the trace a viewer opens ----------------------------------------------

def test_slices_on_worker_tracks(healthy):
    doc = healthy.doc
    slices = events(doc, "X")
    assert len(slices) > 100, f"expected the polls of a busy service, got {len(slices)} slices"
    workers = {w["tid"] for w in doc["taskscope"]["snapshots"][-1]["workers"]}
    assert workers, "the last snapshot lists no worker"
    tids = {e["tid"] for e in slices}
    assert all(e["pid"] == healthy.target.pid for e in slices), "a slice of another process"
    assert tids <= healthy.threads, f"slices on threads {tids - healthy.threads} not of the target"
    assert tids <= workers, f"slices on threads {tids - workers} that the model has as no worker"
    assert healthy.target.pid not in tids or healthy.target.pid in workers


def test_slices_never_overlap_on_a_track(healthy):
    by_tid = defaultdict(list)
    for e in events(healthy.doc, "X"):
        assert e["dur"] >= 0, f"negative duration: {e}"
        by_tid[e["tid"]].append((ns(e["ts"]), ns(e["ts"]) + ns(e["dur"]), e["name"]))
    checked = 0
    for tid, sl in by_tid.items():
        sl.sort()
        for a, b in zip(sl, sl[1:]):
            assert a[1] <= b[0], f"thread {tid}: slice {a} overlaps the next {b}"
            checked += 1
    assert checked > 50, f"only {checked} consecutive pairs checked"


def test_flows_pair_up_inside_slices(healthy):
    starts = {e["id"]: e for e in events(healthy.doc, "s")}
    finishes = {e["id"]: e for e in events(healthy.doc, "f")}
    assert len(starts) == len(events(healthy.doc, "s")), "two flow starts share an id"
    assert len(finishes) == len(events(healthy.doc, "f")), "two flow ends share an id"
    # the pinger/ponger channel hand-offs wake from inside a poll
    assert len(starts) > 10, f"expected wake arrows between pinger and ponger, got {len(starts)}"
    assert set(starts) == set(finishes), \
        f"unpaired flows: starts only {set(starts) - set(finishes)}, " \
        f"ends only {set(finishes) - set(starts)}"
    by_tid = defaultdict(list)
    for e in events(healthy.doc, "X"):
        by_tid[e["tid"]].append((ns(e["ts"]), ns(e["ts"]) + ns(e["dur"]), e["name"]))
    for fid, s in starts.items():
        f = finishes[fid]
        assert f.get("bp") == "e", f"flow end without bp e: {f}"
        t = ns(s["ts"])
        around = [x for x in by_tid[s["tid"]] if x[0] <= t <= x[1]]
        assert around, f"flow {fid} starts at {s['ts']} on thread {s['tid']} outside any poll"
        after = [x for x in by_tid[f["tid"]] if x[0] == ns(f["ts"])]
        assert len(after) == 1, f"flow {fid} ends at {f['ts']} on thread {f['tid']}, " \
                                f"where no poll starts"
        assert ns(f["ts"]) >= t, f"flow {fid} ends before it starts"


def test_process_and_thread_names(healthy):
    meta = events(healthy.doc, "M")
    procs = [m for m in meta if m["name"] == "process_name"]
    assert len(procs) == 1 and procs[0]["pid"] == healthy.target.pid and \
        procs[0]["args"]["name"].startswith("healthy"), f"process_name: {procs}"
    named = {m["tid"]: m["args"]["name"] for m in meta if m["name"] == "thread_name"}
    tids = {e["tid"] for e in events(healthy.doc, "X")}
    assert tids <= set(named), f"tracks without a thread_name: {tids - set(named)}"
    for tid in tids:
        with open(f"/proc/{healthy.target.pid}/task/{tid}/comm") as f:
            assert named[tid] == f.read().strip(), f"thread {tid} named {named[tid]!r}"


def test_slice_names_match_the_reports(healthy):
    code, data = report_from(healthy.path)
    assert code == 0, f"report --from flagged a healthy service: {data['stalls']}"
    replayed = {t["name"] for t in data["tasks"]}
    live = {t["name"] for t in healthy.live["tasks"] if t["state"] != "done"}
    sliced = {e["name"] for e in events(healthy.doc, "X")}
    # every slice is named by a task the report lists: no "task N" placeholders
    assert sliced <= replayed, f"slice names not in report --from: {sliced - replayed}"
    assert {"healthy::pinger", "healthy::ponger", "healthy::ticker"} <= sliced, sliced
    # the tasks polled are the ones the live report sees
    assert sliced <= live, f"slice names a live report doesn't list: {sliced - live}"
    assert {n for n in live if n in replayed} >= sliced


def test_stalls_are_instants_and_healthy_has_none(healthy, deadlocked):
    assert events(healthy.doc, "i") == [], f"stalls marked on a healthy service"
    inst = events(deadlocked.doc, "i")
    kinds = {e["args"]["kind"] for e in inst}
    assert "deadlock" in kinds, f"no deadlock instant in {inst}"


def test_dropped_zero_when_the_ring_keeps_up(healthy):
    assert healthy.doc["taskscope"]["dropped"] == 0
    assert re.search(r"^dropped 0 events$", healthy.stderr, re.M), healthy.stderr
    m = re.search(r"(\d+) polls, (\d+) wake arrows", healthy.stderr)
    assert m and int(m.group(1)) == len(events(healthy.doc, "X")) and \
        int(m.group(2)) == len(events(healthy.doc, "s")), healthy.stderr


# ---- replays ---------------------------------------------------------------------

def test_report_from_flags_the_deadlock_as_live(deadlocked):
    code, data = report_from(deadlocked.path)
    want = deadlock("deadlock::lock_ab", "deadlock::lock_ba")
    got = [finding_key(s) for s in data["stalls"]]
    live = [finding_key(s) for s in deadlocked.live["stalls"]]
    assert want in live, f"the live report itself misses the deadlock: {live}"
    assert code == 1 and want in got, f"report --from: exit {code}, findings {got}"
    assert sorted(got) == sorted(live), f"replayed findings {got} != live {live}"


def test_report_from_at_picks_a_snapshot(deadlocked):
    snaps = deadlocked.doc["taskscope"]["snapshots"]
    assert len(snaps) >= 3, f"expected a snapshot a second, got {len(snaps)}"
    code, first = report_from(deadlocked.path, ["--at", "0"])
    _, last = report_from(deadlocked.path)
    assert first["observed_s"] < last["observed_s"], \
        f"--at 0 gave the window {first['observed_s']}, the last {last['observed_s']}"


def test_top_batch_replay_shows_the_same_tasks(healthy):
    r = run(["top", "--batch", "--replay", healthy.path, "-w", "200"])
    assert r.returncode == 0, r.stderr
    frames = re.split(r"\n(?=taskscope top - replay)", r.stdout)
    nsnaps = len(healthy.doc["taskscope"]["snapshots"])
    titles = re.findall(r"^taskscope top - replay healthy\.json  \+([\d.]+) s / ([\d.]+) s",
                        r.stdout, re.M)
    assert len(titles) == nsnaps, f"expected {nsnaps} frames, got titles {titles}"
    assert [float(a) for a, _ in titles] == sorted(float(a) for a, _ in titles)
    _, data = report_from(healthy.path)
    last = frames[-1]
    for t in data["tasks"]:
        if t["state"] != "done":
            assert t["name"] in last, f"task {t['name']} missing from the last frame"
    assert "Stalls   none" in last


def test_top_replay_deadlock(deadlocked):
    r = run(["top", "--batch", "--replay", deadlocked.path, "-n", "1", "-w", "200"])
    assert r.returncode == 0, r.stderr
    # the header's count and the finding, not the target's name (which says deadlock too)
    assert re.search(r"^Stalls +\d+ flagged: 1 deadlock", r.stdout, re.M), r.stdout[:1500]
    assert re.search(r"^  \[deadlock\] 2 tasks wait for each other", r.stdout, re.M), \
        r.stdout[-2000:]
    assert r.stdout.count("taskscope top - replay") == 1, "-n 1 printed more than one frame"


# ---- the ring buffer overflows, and says so ------------------------------------

def test_ring_overflow_is_counted(tmp_path):
    # spinner's spin_loop yields forever: with every poll and wake trapped,
    # some 10^5 events a second (a test target: built by `make targets`)
    path = str(tmp_path / "spinner.json")
    t = Target("spinner")
    try:
        # one page of ring for ~10^5 events a second: it must overflow
        doc, err = record(t.pid, path, seconds=2, extra=["--ring-kb", "4"])
        assert t.alive(), t.ended_by_itself()
    finally:
        t.kill()
    dropped = doc["taskscope"]["dropped"]
    assert dropped > 0, f"nothing dropped with a 4 KiB ring: {doc['taskscope']['events']} events"
    m = re.search(r"^dropped (\d+) events: the ring buffer was full", err, re.M)
    assert m and int(m.group(1)) == dropped, f"stderr doesn't say the {dropped} drops: {err!r}"
    # what did arrive is still a valid timeline
    by_tid = defaultdict(list)
    for e in events(doc, "X"):
        by_tid[e["tid"]].append((ns(e["ts"]), ns(e["ts"]) + ns(e["dur"])))
    assert sum(map(len, by_tid.values())) > 0
    for tid, sl in by_tid.items():
        sl.sort()
        assert all(a[1] <= b[0] for a, b in zip(sl, sl[1:])), f"overlap on {tid} after drops"
    assert {e["id"] for e in events(doc, "s")} == {e["id"] for e in events(doc, "f")}


# ---- bad input: one line, exit 2 -------------------------------------------------

@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, healthy):
    d = tmp_path_factory.mktemp("bad")
    text = open(healthy.path).read()
    files = {
        "missing": (str(d / "nope.json"), "can't read"),
        "not json": ("hello world", "is not JSON"),
        "other trace": ('{"traceEvents":[]}', "not a taskscope recording"),
        "version": (text.replace('"taskscope":{"version":1', '"taskscope":{"version":9'),
                    "version 9 recording"),
        "truncated": (text[:len(text) - 200], "damaged"),
        "directory": (str(d), "is not a file"),
    }
    out = {}
    for name, (content, why) in files.items():
        if name in ("missing", "directory"):
            out[name] = (content, why)
            continue
        p = d / (name.replace(" ", "_") + ".json")
        p.write_text(content)
        out[name] = (str(p), why)
    return out


@pytest.mark.parametrize("case", ["missing", "not json", "other trace", "version", "truncated",
                                  "directory"])
def test_bad_recordings_refused(bad_files, case):
    path, why = bad_files[case]
    for args in (["report", "--from", path], ["top", "--batch", "--replay", path]):
        r = run(args)
        assert r.returncode == 2, f"{args}: exit {r.returncode}, stderr {r.stderr!r}"
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and why in lines[0], f"{args}: stderr {r.stderr!r}"
        assert r.stdout == "", f"{args}: printed {r.stdout[:200]!r}"


@pytest.mark.parametrize("args,why", [
    (["record", "-p", "1", "-d", "0", "-o", "/tmp/x.json"], "invalid duration"),
    (["record", "-p", "1", "-d", "1"], "needs -o FILE"),
    (["record", "-o", "/tmp/x.json"], "needs -p PID"),
    (["record", "-p", "1", "-o", "/tmp/x.json", "--ring-kb", "3"], "power of two"),
    (["report", "--from", "/tmp/x.json", "-p", "1"], "--from reads a recording"),
    (["report", "--at", "2", "-p", "1"], "--at goes with --from"),
])
def test_bad_options(args, why):
    r = run(args)
    assert r.returncode == 2 and why in r.stderr and len(r.stderr.strip().splitlines()) == 1, \
        f"{args}: exit {r.returncode}, stderr {r.stderr!r}"


def test_record_of_a_missing_process_writes_nothing(tmp_path):
    path = tmp_path / "none.json"
    r = run(["record", "-p", "4194303", "-d", "1", "-o", str(path)])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not path.exists(), "a failed record left a file behind"


# ---- the replay's time cursor, in the real TUI under tmux ------------------------

from test_top import tmux  # noqa: E402,F401  (the fixture)


def test_top_replay_time_cursor(deadlocked, tmux):  # noqa: F811
    n = len(deadlocked.doc["taskscope"]["snapshots"])
    assert n >= 3
    tm = tmux(["top", "--replay", deadlocked.path, "-i", "60"], 150, 40)
    title = r"replay deadlock\.json  \+([\d.]+) s / [\d.]+ s  \((\d+)/%d\)" % n

    def at(s):
        m = re.search(title, s)
        return int(m.group(2)) if m else None

    def step(key, want):
        if key:
            tm.send(key)
        s = tm.wait_for(lambda s: at(s) == want)
        assert at(s) == want, f"after {key!r}: expected snapshot {want}, screen {s[:400]!r}"
        return s

    s = step(None, 1)
    assert "PAUSED" not in s.splitlines()[0], s.splitlines()[0]
    tm.send(" ")
    s = tm.wait_for(lambda s: "PAUSED" in s.splitlines()[0])
    assert "PAUSED" in s.splitlines()[0], s.splitlines()[0]
    step(".", 2)
    s = step("G", n)
    assert re.search(r"Stalls +\d+ flagged: 1 deadlock", s), s
    step(",", n - 1)
    step("[", 1)
    step("]", n)
    step("g", 1)
    # paused: nothing moves by itself
    time.sleep(1.0)
    assert at(tm.screen()) == 1


def test_target_exiting_ends_the_recording(tmp_path):
    """The target dies mid-recording: what was recorded is kept and replays."""
    path = str(tmp_path / "exit.json")
    t = Target("healthy")
    try:
        p = subprocess.Popen([TASKSCOPE, "record", "-p", str(t.pid), "-d", "20", "-o", path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.5)
        t.kill()
        _, err = p.communicate(timeout=30)
    finally:
        t.kill()
    assert p.returncode == 0, f"exit {p.returncode}: {err!r}"
    m = re.search(r"recorded PID \d+ for ([\d.]+) s \(it exited\)", err)
    assert m and float(m.group(1)) < 10, f"expected the recording to end with the target: {err!r}"
    with open(path) as f:
        doc = json.load(f)
    assert len(doc["taskscope"]["snapshots"]) >= 1 and events(doc, "X"), \
        "nothing kept of what was recorded"
    code, data = report_from(path)
    assert code == 0 and {"healthy::pinger", "healthy::ponger"} <= {t["name"] for t in data["tasks"]}
