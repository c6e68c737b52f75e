"""Who waits on whom (issue 13): the wait-for graph, resources and the task
tree of stock tokio, on tests/targets/tokio/waitfor.

cycle3: hold_and_join holds a Mutex and awaits wait_for_message's
JoinHandle; wait_for_message waits on an mpsc channel whose only Sender
lock_then_send holds while it waits for the Mutex. chan_cycle: fill_and_send
is blocked on a full channel whose receiver join_then_drain awaits
fill_and_send's JoinHandle. tree: a parent keeping 50 children alive.
"""
import json
import os
import re
import subprocess

from tslib import (ROOT, TARGETS, Scenario, deadlock, messages, report, run, stalls,
                   tasks_named)

SOURCE = os.path.join(ROOT, "tests", "targets", "tokio", "waitfor", "src", "main.rs")
EXE = os.path.join(TARGETS, "waitfor")


def line_of(text, after=None):
    """The line number of the first source line containing text (after the
    line containing `after`, when given): no hard-coded line numbers."""
    lines = open(SOURCE).read().splitlines()
    start = next(i for i, l in enumerate(lines) if after in l) if after else 0
    return next(i + 1 for i, l in enumerate(lines) if i >= start and text in l)


def one(data, name):
    ts = [t for t in tasks_named(data, name) if t["state"] != "done"]
    assert len(ts) == 1, f"expected one live task {name}, got {ts}"
    return ts[0]


def resource(data, kind, type_):
    rs = [r for r in data["resources"] if r["kind"] == kind and r["type"] == type_]
    assert len(rs) == 1, f"expected one {kind} {type_} in resources[], got {data['resources']}"
    return rs[0]


class TestCycle3(Scenario):
    target = "waitfor"
    args = ("cycle3",)
    findings = [deadlock("waitfor::hold_and_join", "waitfor::wait_for_message",
                         "waitfor::lock_then_send"),
                ("idle", "waitfor::hold_and_join"), ("idle", "waitfor::wait_for_message"),
                ("idle", "waitfor::lock_then_send")]

    def test_cycle_edges(self, observed):
        d = stalls(observed.data, "deadlock")
        assert len(d) == 1 and d[0]["count"] == 3, \
            f"expected one cycle of three tasks: {messages(observed.data)}"
        cyc = [(c["name"], c["waits"]) for c in d[0]["cycle"]]
        # in cycle order, from any member
        want = [("waitfor::hold_and_join", "join"), ("waitfor::wait_for_message", "recv"),
                ("waitfor::lock_then_send", "lock")]
        k = cyc.index(want[0]) if want[0] in cyc else -1
        assert k >= 0 and cyc[k:] + cyc[:k] == want, \
            f"expected the cycle join -> recv -> lock, got {cyc}"
        assert d[0]["remedy"], d[0]

    def test_cycle_text_names_each_await(self, observed):
        m = stalls(observed.data, "deadlock")[0]["message"]
        join = line_of("waiter.await", after="async fn hold_and_join")
        recv = line_of("rx.recv().await", after="async fn wait_for_message")
        lock = line_of("m.lock().await", after="async fn lock_then_send")
        assert re.search(rf"waitfor::hold_and_join at src/main\.rs:{join} \u2192 JoinHandle of "
                         rf"task \d+ \u2192 task \d+ waitfor::wait_for_message at "
                         rf"src/main\.rs:{recv} \u2192 recv on mpsc::channel<u64> 0x[0-9a-f]+ "
                         rf"\(0/4\) \u2192 task \d+ waitfor::lock_then_send at "
                         rf"src/main\.rs:{lock} \u2192 Mutex<u64> 0x[0-9a-f]+ \u2192 task \d+ "
                         rf"waitfor::hold_and_join", m), m

    def test_resources(self, observed):
        data = observed.data
        holder, waiter = one(data, "waitfor::hold_and_join"), one(data, "waitfor::lock_then_send")
        recv = one(data, "waitfor::wait_for_message")
        mutex = resource(data, "mutex", "Mutex<u64>")
        assert mutex["holders"] == [holder["id"]] and mutex["waiting"] == [waiter["id"]], mutex
        ch = resource(data, "mpsc", "mpsc::channel<u64>")
        assert (ch["capacity"], ch["len"], ch["live_senders"]) == (4, 0, 1), ch
        assert ch["senders"] == [waiter["id"]] and ch["receivers"] == [recv["id"]] and \
            ch["waiting"] == [recv["id"]], ch
        # nothing but what the target has: the mutex, the channel, two oneshots
        kinds = sorted(r["kind"] for r in data["resources"])
        assert kinds == ["mpsc", "mutex", "oneshot", "oneshot"], data["resources"]

    def test_text_report(self, observed):
        r = run(["report", "-p", observed.target.pid, "-d", "1"])
        assert r.returncode == 1, r.stderr
        assert re.search(r"^mutex\s+Mutex<u64>\s+0x[0-9a-f]+\s+-\s+\d+\s+\d+", r.stdout, re.M), \
            r.stdout
        assert re.search(r"^mpsc\s+mpsc::channel<u64>\s+0x[0-9a-f]+\s+0/4\s", r.stdout, re.M), \
            r.stdout
        assert re.search(r"^\s+fix: ", r.stdout, re.M), r.stdout

    def test_graph_dot_renders(self, observed, tmp_path):
        r = run(["report", "-p", observed.target.pid, "-d", "1", "--graph", "dot"])
        assert r.returncode == 1 and r.stdout.startswith("digraph waits {"), r.stderr
        red = re.findall(r"^\s*\w+ -> \w+ \[.*color=red", r.stdout, re.M)
        # three waits and the three hand-backs (holder, sender, JoinHandle is direct)
        assert len(red) == 5, f"expected the cycle's 5 edges in red, got {red}\n{r.stdout}"
        svg = subprocess.run(["dot", "-Tsvg"], input=r.stdout, capture_output=True, text=True)
        assert svg.returncode == 0 and "<svg" in svg.stdout, svg.stderr
        out = tmp_path / "waits.svg"
        r = run(["report", "-p", observed.target.pid, "-d", "1", "--graph", "svg", out])
        assert r.returncode == 1 and out.read_text().lstrip().startswith(("<?xml", "<svg")), \
            r.stderr
        assert "waitfor::lock_then_send" in out.read_text()


class TestChanCycle(Scenario):
    target = "waitfor"
    args = ("chan_cycle",)
    findings = [deadlock("waitfor::fill_and_send", "waitfor::join_then_drain"),
                ("idle", "waitfor::fill_and_send"), ("idle", "waitfor::join_then_drain")]

    def test_cycle_through_the_channel(self, observed):
        d = stalls(observed.data, "deadlock")
        waits = sorted(c["waits"] for c in d[0]["cycle"])
        assert waits == ["join", "send"], d
        assert "send on mpsc::channel<u64> 0x" in d[0]["message"] and \
            "(1/1 full)" in d[0]["message"], d[0]["message"]
        ch = resource(observed.data, "mpsc", "mpsc::channel<u64>")
        assert (ch["capacity"], ch["len"]) == (1, 1), ch


class TestTree(Scenario):
    target = "waitfor"
    args = ("tree",)
    extra = ("--mode", "default")
    findings = []

    def test_children_parent_id(self, observed):
        parent = one(observed.data, "waitfor::parent")
        kids = [t for t in tasks_named(observed.data, "waitfor::child") if t["state"] != "done"]
        # 50 alive, and children that ended moments ago whose end no probe saw yet
        assert len(kids) >= 49, f"expected the parent's 50 children, got {len(kids)}"
        assert len({t["id"] for t in kids}) == len(kids), [t["id"] for t in kids]
        wrong = [(t["id"], t["parent_id"]) for t in kids if t["parent_id"] != parent["id"]]
        assert not wrong, f"children whose parent_id is not {parent['id']}: {wrong}"
        # spawned before the attach: not seen being spawned
        assert parent["parent_id"] is None, parent

    def test_nothing_waits(self, observed):
        assert all(not r["waiting"] for r in observed.data["resources"]), \
            observed.data["resources"]


def test_graph_bad_input(spawn):
    t = spawn("waitfor", args=("tree",))
    for args, want in ((["--graph", "png"], "invalid --graph 'png'"),
                       (["--graph", "svg"], "--graph svg needs the FILE"),
                       (["--graph", "dot", "--json"], "pick one")):
        r = run(["report", "-p", t.pid, "-d", "1", *args])
        said = (r.stderr + r.stdout).strip()     # with --json the error is JSON on stdout
        assert r.returncode == 2 and want in said and len(said.splitlines()) == 1, \
            (args, r.returncode, said)


SPAWN_BINARIES = [os.path.join(TARGETS, n) for n in ("waitfor", "deadlock", "demo")] + \
    [os.path.join(ROOT, "tests", "targets", "releases", "target", prof, f"app_tokio_{r}")
     for prof, r in (("release", "1_29"), ("release", "1_38"), ("release", "1_47"),
                     ("release", "1_53"), ("release-z", "1_53"), ("release-abort", "1_53"))]


def test_spawn_sites_on_instruction_boundaries():
    """A uprobe off an instruction boundary would corrupt the target's code:
    every spawn site taskscope picks must start an instruction (objdump's
    decoding), within a few instructions after a `lock xadd`, and the
    register it reads must be the one that xadd wrote."""
    regs = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"] + \
        [f"r{i}" for i in range(8, 16)]
    for exe in SPAWN_BINARIES:
        r = run(["probes", exe, "--json"])
        assert r.returncode == 0, r.stderr
        sites = json.loads(r.stdout)["spawn_sites"]
        assert sites, f"{exe}: no spawn site found (tokio's Id::next inlined everywhere)"
        for s in sites:
            at = int(s["vaddr"], 16)
            dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn",
                                  f"--start-address={at - 48}", f"--stop-address={at + 16}",
                                  exe], capture_output=True, text=True).stdout
            insns = re.findall(r"^\s+([0-9a-f]+):\s+(.*)$", dis, re.M)
            starts = [int(a, 16) for a, _ in insns]
            assert at in starts, f"{exe}: spawn site {s} is not an instruction start:\n{dis}"
            before = [t for a, t in insns if int(a, 16) < at][-7:]
            xadd = [t for t in before if t.startswith("lock xadd")]
            assert xadd, f"{exe}: no lock xadd just before spawn site {s}:\n{dis}"
            assert re.match(rf"lock xadd %{regs[s['reg']]},", xadd[-1]), \
                f"{exe}: site {s} reads {regs[s['reg']]}, the xadd was {xadd[-1]!r}"
            if s["emulated"]:
                kind = next(t for a, t in insns if int(a, 16) == at)
                assert re.match(r"(j\w+|call|push)\s", kind), (exe, s, kind)


def test_ancestry_of_a_stuck_task(spawn):
    """late_stall spawns wait_for_reply from main's block_on 2 s in, after
    the attach: its idle finding says who spawned it, and its JSON names
    the spawning thread with parent_id 0 (outside any task)."""
    t = spawn("late_stall", args=("2000",), settle=0)
    r = run(["report", "-p", t.pid, "-d", "4", "--mode", "default"], timeout=60)
    assert r.returncode == 1, r.stderr
    m = re.search(r"\[idle\] task \d+ late_stall::wait_for_reply: .*\n\s+spawned by "
                  rf"block_on main \(thread {t.pid}\)\n", r.stdout)
    assert m, r.stdout
    # the same in JSON, on a second target (a report attached later would
    # not see the spawn: parent_id null)
    t2 = spawn("late_stall", args=("2000",), settle=0)
    code, data, _ = report(t2.pid, 4, ("--mode", "default"))
    w = [x for x in data["tasks"] if x["name"] == "late_stall::wait_for_reply"]
    assert code == 1 and len(w) == 1, w
    assert w[0]["parent_id"] == 0 and w[0]["spawned_on_thread"] == int(t2.pid), w
    late = report(t.pid, 1, ("--mode", "default"))[1]
    w = [x for x in late["tasks"] if x["name"] == "late_stall::wait_for_reply"]
    assert len(w) == 1 and w[0]["parent_id"] is None, w
