"""Await chains in taskscope report, end to end, against await_nested.

Each task of tests/targets/tokio/await_nested parks at a known `.await`;
the report must show where (file:line per frame), what it waits on (leaf
kind and the lock/channel/task), and, for --task ID, the variables each
frame holds. Without DWARF the report must still run and say how to get
chains; --debuginfo FILE and a .gnu_debuglink file must bring them back.
"""
import os
import subprocess

import pytest

from tslib import TARGETS, Scenario, assert_findings, report, run, the_task

BIN = os.path.join(TARGETS, "await_nested")

# Every task parks at its .await; never_polled sits on a current-thread
# runtime nobody drives (woken at spawn, never polled).
IDLE = ["boxed_dyn", "broadcast_waiter", "channel_reader", "channel_writer", "enum_vars",
        "handle_request", "hold_lock", "join_waiter", "joiner", "lock_waiter",
        "main::{async block}", "never_finishes", "niche_holder", "notify_waiter",
        "oneshot_waiter", "rwlock_reader", "rwlock_writer", "selector", "semaphore_waiter",
        "short_timer", "unbounded_reader", "watch_waiter", "with_timeout"]
FINDINGS = [("idle", f"await_nested::{n}") for n in IDLE] + \
    [("starved", "await_nested::never_polled")]


def frames(chain):
    return [(f["func"], f["file"], f["line"]) for f in chain["frames"]]


def chain_of(data, name):
    """The await chain of the one task of that name; fails without one."""
    x = the_task(data, name)
    c = x.get("await_chain")
    assert c, f"expected an await chain for {name}, taskscope printed none: {x}"
    return c


class TestChains(Scenario):
    target = "await_nested"
    duration = 1
    findings = FINDINGS

    def test_chains_reported(self, observed):
        data = observed.data
        without = [x["name"] for x in data["tasks"] if "await_chain" not in x]
        assert not without, f"expected an await chain for every task, none for {without}"
        assert data["debuginfo"]["present"] and not data["debuginfo"]["note"], \
            f"expected DWARF present and no note, taskscope printed {data['debuginfo']}"

    def test_nested_fns(self, observed):
        c = chain_of(observed.data, "await_nested::handle_request")
        assert frames(c) == [("await_nested::handle_request", "src/main.rs", 28),
                             ("await_nested::fetch_user_data", "src/main.rs", 21),
                             ("await_nested::db_query", "src/main.rs", 14)] and \
            c["leaf"]["kind"] == "timer" and c["leaf"]["type"] == "tokio::time::Sleep", \
            f"expected handle_request:28 -> fetch_user_data:21 -> db_query:14 -> Sleep, " \
            f"got {frames(c)} -> {c['leaf']}"

    def test_timer_remaining(self, observed):
        c = chain_of(observed.data, "await_nested::short_timer")
        rem = c["leaf"].get("remaining_s")
        assert rem is not None and 20 < rem <= 30, \
            f"expected 20-30 s left on the 30 s timer, got {c['leaf']}"

    def test_lock_holder(self, observed):
        hc = chain_of(observed.data, "await_nested::hold_lock")
        wc = chain_of(observed.data, "await_nested::lock_waiter")
        assert wc["leaf"]["kind"] == "mutex" and hc["holds"] and \
            wc["leaf"]["object"] == hc["holds"][0]["object"], \
            f"expected lock_waiter waiting on the mutex hold_lock's guard holds, got " \
            f"{wc['leaf']} vs {hc['holds']}"
        assert frames(wc)[0] == ("await_nested::lock_waiter", "src/main.rs", 45) and \
            wc["frames"][1]["func"] == "tokio::sync::mutex::Mutex<u64>::lock" and \
            wc["frames"][1]["external"], \
            f"expected lock_waiter at main.rs:45 through tokio's Mutex::lock (external), " \
            f"got {frames(wc)}"

    @pytest.mark.parametrize("name, kind, line", [
        ("channel_reader", "channel_recv", 51),
        ("channel_writer", "channel_send", 59),
        ("join_waiter", "join", 68),
        ("never_finishes", "pending", 63),
        ("niche_holder", "pending", 101),
        ("boxed_dyn", "timer", 106),
        ("with_timeout", "timer", 110),
    ])
    def test_leaf(self, observed, name, kind, line):
        c = chain_of(observed.data, f"await_nested::{name}")
        assert c["leaf"]["kind"] == kind and frames(c)[0][1:] == ("src/main.rs", line), \
            f"expected {name} waiting on {kind} at src/main.rs:{line}, got " \
            f"{c['leaf']['kind']} at {frames(c)[0]}"

    def test_join_macro(self, observed):
        c = chain_of(observed.data, "await_nested::joiner")
        funcs = [f["func"] for f in c["frames"]]
        assert funcs == ["await_nested::joiner", "tokio::join!", "await_nested::db_query"] and \
            c["leaf"]["kind"] == "timer", \
            f"expected joiner -> tokio::join! -> db_query -> timer (the pending branch), " \
            f"got {funcs} -> {c['leaf']['kind']}"

    def test_join_handle_names_task(self, observed):
        leaf = chain_of(observed.data, "await_nested::join_waiter")["leaf"]
        nf = the_task(observed.data, "await_nested::never_finishes")
        assert leaf["object"] == nf["header"], \
            f"expected the JoinHandle to name never_finishes's header {nf['header']}, " \
            f"got {leaf}"

    def test_task_detail(self, observed):
        hr = the_task(observed.data, "await_nested::handle_request")
        r = run(["report", "-p", observed.target.pid, "-d", "1", "--task", hr["id"]])
        out = r.stdout
        assert "await_nested::fetch_user_data   src/main.rs:21   (Suspend0)" in out, \
            f"expected --task to show the tree with file:line, got {out[-1500:]!r}"
        assert 'route = "/api/users/42"' in out and 'owner = "alice"' in out and \
            "user_id = 42" in out, \
            f"expected --task to show the captured variables, got {out[-1500:]!r}"


@pytest.fixture(scope="module")
def no_dwarf(tmp_path_factory):
    """await_nested without DWARF, and one whose DWARF is in a .debug file
    named by .gnu_debuglink next to it."""
    tmp = tmp_path_factory.mktemp("await")
    stripped = tmp / "await_nested"
    subprocess.run(["objcopy", "--strip-debug", BIN, stripped], check=True)
    subprocess.run(["objcopy", "--only-keep-debug", BIN, tmp / "linked.debug"], check=True)
    subprocess.run(["objcopy", "--strip-debug", "--add-gnu-debuglink=linked.debug", BIN,
                    tmp / "linked"], check=True, cwd=tmp)
    return {"stripped": str(stripped), "linked": str(tmp / "linked")}


def test_no_debuginfo(no_dwarf, spawn):
    t = spawn("await_nested", path=no_dwarf["stripped"])
    code, data, err = report(t.pid, 1)
    assert_findings(code, data, FINDINGS)
    chained = [x["name"] for x in data["tasks"] if "await_chain" in x]
    assert not chained, f"expected no chain without DWARF, got chains for {chained}"
    note = data["debuginfo"]["note"]
    assert "no DWARF" in note and "debug = true" in note and "--debuginfo" in note, \
        f"expected the note to say what is missing and how to fix it, got {note!r}"

    code, data, err = report(t.pid, 1, extra=("--debuginfo", BIN))
    c = chain_of(data, "await_nested::handle_request")
    assert len(c["frames"]) == 3, \
        f"expected --debuginfo FILE to bring back the 3-frame chain, got {frames(c)}"


def test_debuglink(no_dwarf, spawn):
    t = spawn("await_nested", path=no_dwarf["linked"])
    code, data, err = report(t.pid, 1)
    c = chain_of(data, "await_nested::handle_request")
    assert len(c["frames"]) == 3, \
        f"expected the chain from the .debug file next to the binary, got {frames(c)} " \
        f"({data['debuginfo']})"
