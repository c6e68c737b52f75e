"""taskscope report on the tokio releases users run: one scenario program
(tests/targets/releases/app) built against tokio 1.29.1, 1.38.2, 1.47.1 and
1.53.1 from tokio's tagged sources, and against 1.53.1 with release-profile
variants (tests/targets/releases/README.md).

Each test asserts the exact findings of a scenario on a release, the
release named, the worker threads counted (tokio 1.53 renamed them
tokio-rt-worker; the blocking pool shares the name), and nothing false:
no worker-launch task flagged, no blocking-pool task listed.
"""
import os
import subprocess

import pytest

from tslib import ROOT, Target, assert_findings, deadlock, report

RELEASES_DIR = os.path.join(ROOT, "tests", "targets", "releases", "target")
RELEASES = {"1_29": "1.29.1", "1_38": "1.38.2", "1_47": "1.47.1", "1_53": "1.53.1"}


def observe(release, scenario, profile="release", extra=(), path=None):
    path = path or os.path.join(RELEASES_DIR, profile, f"app_tokio_{release}")
    t = Target(f"app_tokio_{release} {scenario}", path=path, settle=0.5, args=(scenario,))
    try:
        code, data, err = report(t.pid, 2, extra)
        assert data is not None, f"report on {path} {scenario} printed no JSON: {err}"
        gone = t.ended_by_itself()
        assert gone is None, gone
        return code, data
    finally:
        t.kill()


def short(data):
    """The same findings with the crate prefix (app_tokio_1_XX::) removed."""
    for s in data["stalls"]:
        s["name"] = s["name"].split("::", 1)[-1] if "::" in s["name"] else s["name"]
        s["message"] = s["message"].replace(f"{data['comm']}::", "")
        for c in s.get("cycle", []):
            c["name"] = c["name"].split("::", 1)[-1]
    return data


def check_runtime(data, release, workers):
    assert data["runtime"] == {"name": "tokio", "version": RELEASES[release]}, \
        f"expected tokio {RELEASES[release]}, taskscope named {data['runtime']}"
    assert data["worker_threads"] == workers, \
        f"expected {workers} worker threads, taskscope counted {data['worker_threads']}"
    layout = data["layout"]
    # one descriptor from 1.24 to 1.52; 1.53 renamed the worker threads
    want = "tokio 1.53" if release == "1_53" else "tokio 1.24"
    assert layout["descriptor"] == want, f"expected the {want} descriptor, got {layout}"
    assert layout["confirmed"] and layout["memory_discovery"] and \
        layout["verdict"].startswith("confirmed: "), \
        f"expected the layout confirmed against the process, got {layout}"
    blocking = [t["name"] for t in data["tasks"] if "BlockingTask" in (t["name"] or "")]
    assert not blocking, f"expected no blocking-pool task listed, taskscope listed {blocking}"


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_deadlock(release):
    code, data = observe(release, "deadlock")
    check_runtime(data, release, 2)
    assert_findings(code, short(data), [deadlock("lock_ab", "lock_ba"),
                                        ("idle", "lock_ab"), ("idle", "lock_ba")])
    chains = [t.get("await_chain") for t in data["tasks"] if t["name"].endswith("::lock_ab")]
    assert chains and chains[0] and chains[0]["frames"][0]["file"] == "src/main.rs", \
        f"expected lock_ab's await chain to start in src/main.rs, taskscope printed {chains}"


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_blocked(release):
    code, data = observe(release, "blocked")
    check_runtime(data, release, 2)
    assert_findings(code, short(data), [("blocked_worker", "blocking_handler")])


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_quiet(release):
    """A two-worker runtime with one task waiting forever: that wait is the
    only finding; tokio's own worker-launch tasks are none."""
    code, data = observe(release, "quiet")
    check_runtime(data, release, 2)
    assert_findings(code, short(data), [("idle", "idle_task")])


def leaves(data):
    """{(task, leaf kind)} of every await chain, crate prefix removed."""
    return {(t["name"].split("::")[-1], t["await_chain"]["leaf"]["kind"])
            for t in data["tasks"] if t.get("await_chain") and t["await_chain"].get("leaf")}


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_healthy(release):
    """Ping-pong, tickers and an aggregator: busy and healthy, nothing to
    report; each task waits on the leaf its code awaits."""
    code, data = observe(release, "healthy")
    check_runtime(data, release, 2)
    assert_findings(code, short(data), [])
    names = sorted(t["name"].split("::")[-1] for t in data["tasks"] if not t.get("root_thread"))
    assert names == sorted(SCENARIO_TASKS["healthy"]), names
    want = {("aggregator", "channel_recv"), ("ponger", "channel_recv"), ("pinger", "timer"),
            ("ticker", "timer")}
    assert want <= leaves(data), f"expected the leaves {want}, taskscope read {leaves(data)}"


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_tree(release):
    """A parent keeping 8 short-lived children alive: every child alive at
    the end was spawned while taskscope watched, and names its parent
    (the spawn probe after Id::next's xadd, emulated or not per release)."""
    code, data = observe(release, "tree", extra=("--mode", "default"))
    check_runtime(data, release, 2)
    assert_findings(code, short(data), [])
    parent = [t for t in data["tasks"] if t["name"].endswith("::tree_parent")]
    kids = [t for t in data["tasks"] if t["name"].endswith("::tree_child")
            and t["state"] != "done"]
    # 8 alive, and children that ended moments ago whose end no probe saw yet
    assert len(parent) == 1 and len(kids) >= 7, (parent, len(kids))
    assert len({t["id"] for t in kids}) == len(kids), [t["id"] for t in kids]
    wrong = [(t["id"], t["parent_id"]) for t in kids if t["parent_id"] != parent[0]["id"]]
    assert not wrong, f"children whose parent_id is not {parent[0]['id']}: {wrong}"


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_parked(release):
    """Tasks parked since before attach, found in memory: each one idle, at
    its leaf (pending, oneshot receive, Notify)."""
    code, data = observe(release, "parked")
    check_runtime(data, release, 2)
    assert_findings(code, short(data), [("idle", "wait_forever")] * 3 +
                    [("idle", "wait_for_signal"), ("idle", "wait_notified")])
    want = {("wait_forever", "pending"), ("wait_for_signal", "channel_recv"),
            ("wait_notified", "notify")}
    assert want <= leaves(data), f"expected the leaves {want}, taskscope read {leaves(data)}"


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_channel_full(release):
    """A producer blocked on a full bounded channel whose consumer never
    receives: both idle, the producer at a channel send."""
    code, data = observe(release, "channel_full")
    check_runtime(data, release, 2)
    assert_findings(code, short(data), [("idle", "consumer"), ("idle", "producer")])
    assert ("producer", "channel_send") in leaves(data), leaves(data)


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_spinner(release):
    """A task that wakes itself in a loop: spinning, and the ticker beside it
    is no finding."""
    code, data = observe(release, "spinner")
    check_runtime(data, release, 2)
    assert_findings(code, short(data), [("spinning", "spin_loop")])


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_await_chain(release):
    """handle_request -> fetch_user_data -> db_query -> Sleep: every frame
    of the user's code at its .await line, the leaf a timer."""
    code, data = observe(release, "nested")
    check_runtime(data, release, 2)
    assert_findings(code, short(data), [("idle", "handle_request")])
    t = [x for x in data["tasks"] if x["name"].endswith("::handle_request")]
    assert len(t) == 1 and t[0].get("await_chain"), f"expected one chain, got {t}"
    chain = t[0]["await_chain"]
    frames = [(f["func"].split("::")[-1], f"{f['file']}:{f['line']}")
              for f in chain["frames"] if not f.get("external")]
    assert frames == [("handle_request", "src/main.rs:304"),
                      ("fetch_user_data", "src/main.rs:298"),
                      ("db_query", "src/main.rs:292")], \
        f"expected the three user frames at their .await lines on tokio {RELEASES[release]}, " \
        f"got {frames}"
    assert chain["leaf"]["kind"] == "timer" and "unreadable" not in chain["leaf"]["detail"], \
        chain["leaf"]


@pytest.mark.parametrize("release", ["1_29", "1_53"])
def test_current_thread(release):
    code, data = observe(release, "current_thread")
    check_runtime(data, release, 1)
    assert_findings(code, short(data), [("idle", "ct_parked")])


@pytest.mark.parametrize("release", ["1_38", "1_53"])
def test_blocking_pool(release):
    """64 finished spawn_blocking jobs: still 2 workers, no blocking task."""
    code, data = observe(release, "blocking_pool")
    check_runtime(data, release, 2)
    assert_findings(code, short(data), [("idle", "idle_after_blocking")] * 2)


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_sleep_deadline(release):
    """The Sleep deadline moved twice after 1.24 (entry.deadline, then
    Sleep.deadline): the leaf must still tell when it fires."""
    code, data = observe(release, "nested")
    leaves = [t["await_chain"]["leaf"] for t in data["tasks"]
              if t.get("await_chain") and t["await_chain"].get("leaf", {}).get("kind") == "timer"]
    assert leaves, f"expected a timer leaf in the nested scenario, taskscope printed " \
                   f"{[t.get('await_chain') for t in data['tasks']]}"
    bad = [l["detail"] for l in leaves if "unreadable" in l["detail"]]
    assert not bad, f"expected readable Sleep deadlines on tokio {RELEASES[release]}, got {bad}"


def test_lto_deadlock():
    code, data = observe("1_53", "deadlock", profile="release-lto")
    check_runtime(data, "1_53", 2)
    assert_findings(code, short(data), [deadlock("lock_ab", "lock_ba"),
                                        ("idle", "lock_ab"), ("idle", "lock_ba")])


@pytest.mark.parametrize("profile", ["release-z", "release-abort"])
def test_profile_deadlock(profile):
    """opt-level = "z" (size: more inlining decisions differ, smaller
    frames) and panic = "abort" (no unwind tables for drops): the same
    cycle with both .await lines, nothing else."""
    code, data = observe("1_53", "deadlock", profile=profile)
    check_runtime(data, "1_53", 2)
    assert data["debuginfo"]["present"], f"expected DWARF in {profile}: {data['debuginfo']}"
    assert_findings(code, short(data), [deadlock("lock_ab", "lock_ba"),
                                        ("idle", "lock_ab"), ("idle", "lock_ba")])
    lines = sorted(s["message"].split(" at ", 1)[1].split(",", 1)[0]
                   for s in data["stalls"] if s["kind"] == "idle")
    assert lines == ["src/main.rs:238", "src/main.rs:246"], \
        f"expected the .await lines of lock_ab and lock_ba, got {lines}"


def test_split_packed_dwarf():
    """split-debuginfo = "packed": the DWARF is in a .dwp that Debian 12's
    libdw (0.188) cannot read. The report says so in its note, names the
    tasks from the symbol table exactly, and claims no cycle it can't see."""
    code, data = observe("1_53", "deadlock", profile="release-split")
    check_runtime(data, "1_53", 2)
    note = data["debuginfo"]["note"]
    assert not data["debuginfo"]["present"] and ".dwp" in note and "0.191" in note, \
        f"expected a note naming the .dwp and the libdw it needs, got {data['debuginfo']}"
    names = sorted(t["name"] for t in data["tasks"] if not t.get("root_thread"))
    assert names == ["app_tokio_1_53::lock_ab", "app_tokio_1_53::lock_ba"], names
    assert sorted((s["kind"], s["name"]) for s in short(data)["stalls"]) == \
        [("idle", "lock_ab"), ("idle", "lock_ba")], \
        f"expected two idle findings and no cycle, got {[s['message'] for s in data['stalls']]}"
    assert code == 1


def test_stripped_quiet():
    """strip = true: tasks found by vtable shape, named by address; the
    launch tasks are still no finding."""
    code, data = observe("1_53", "quiet", profile="release-strip")
    check_runtime(data, "1_53", 2)
    names = [s["name"] for s in data["stalls"]]
    assert [s["kind"] for s in data["stalls"]] == ["idle"] and \
        names[0].startswith("<future at 0x"), \
        f"expected one idle task named by address, taskscope reported {names}"
    assert code == 1, f"expected exit 1 (one finding), taskscope exited {code}"


def test_nodebug_deadlock():
    """cargo's default release profile, no DWARF: no await chains, so no
    cycle; both tasks still idle, and the note says what is missing."""
    code, data = observe("1_53", "deadlock", profile="release-nodebug")
    check_runtime(data, "1_53", 2)
    assert sorted(s["kind"] for s in data["stalls"]) == ["idle", "idle"], \
        f"expected two idle findings, taskscope reported {[s['message'] for s in data['stalls']]}"
    assert not data["debuginfo"]["present"] and "debug" in data["debuginfo"]["note"], \
        f"expected a note on the missing DWARF, got {data['debuginfo']}"


def without_dwarf(release, tmp_path):
    """The release build with its DWARF removed: the code is what cargo's
    release profile (debug = false) compiles, as debuginfo does not change
    codegen; the symbol table stays."""
    src = os.path.join(RELEASES_DIR, "release", f"app_tokio_{release}")
    dst = str(tmp_path / f"app_tokio_{release}")
    subprocess.run(["objcopy", "--strip-debug", src, dst], check=True)
    return dst


# The tasks each scenario spawns (tests/targets/releases/app/src/main.rs).
SCENARIO_TASKS = {
    "deadlock": ["lock_ab", "lock_ba"],
    "healthy": ["aggregator", "pinger", "ponger"] + ["ticker"] * 4,
}


@pytest.mark.parametrize("release, profile, scenario", [
    ("1_53", "release-nodebug", "deadlock"),
    ("1_53", "release-nodebug", "healthy"),
    ("1_53", "release-lines", "deadlock"),
    ("1_47", "strip-debug", "deadlock"),
    ("1_47", "strip-debug", "healthy"),
])
def test_names_without_dwarf(release, profile, scenario, tmp_path):
    """tokio >= 1.47 inlines the Cell's drop into raw::dealloc, whose first
    call then names nothing. Names come from the Box<Cell<T, S>> glue that
    raw::poll's Harness::poll calls (glue the linker folded for lock_ab and
    lock_ba told apart by the future's own poll function), else from the
    dealloc's later calls: every task by its exact name, none unnamed or
    marked ambiguous."""
    path = without_dwarf(release, tmp_path) if profile == "strip-debug" else None
    code, data = observe(release, scenario, profile=profile, path=path)
    assert not data["debuginfo"]["present"], f"expected no usable DWARF in {profile}"
    got = sorted((t["name"], t["name_ambiguous"]) for t in data["tasks"])
    want = sorted((f"app_tokio_{release}::{n}", False) for n in SCENARIO_TASKS[scenario])
    assert got == want, f"expected the tasks {want} named from drop glue on tokio " \
                        f"{RELEASES[release]} {profile}, taskscope named {got}"
