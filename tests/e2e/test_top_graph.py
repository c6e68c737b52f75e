"""top's view of who waits on whom (issue 13), driven under tmux as a person
would: the deadlock banner, the problem view (P) with each task's .await
line and its source text, the resources view (r) and a resource's tasks
(Enter) with who can free it, the DOT file (D), and the task tree (t) on a
parent with 50 children. Targets: tests/targets/tokio/waitfor (see
test_waitfor.py), built into tests/targets/target/release/waitfor."""
import os
import re
import subprocess

from test_top import tmux  # noqa: F401  (the fixture)
from test_waitfor import line_of


def source_text(needle, after):
    """The source line taskscope should quote, stripped as it shows it."""
    n = line_of(needle, after=after)
    path = os.path.join(os.path.dirname(__file__), "..", "targets", "tokio", "waitfor", "src",
                        "main.rs")
    return n, open(path).read().splitlines()[n - 1].strip()


def test_cycle3_banner_problems_resources_dot(spawn, tmux, tmp_path):  # noqa: F811
    t = spawn("waitfor", args=("cycle3",))
    tm = tmux(["top", "-p", t.pid, "--mode", "default"], 150, 50)
    s = tm.wait_for(lambda s: "deadlock cycle detected" in s)
    assert "deadlock cycle detected \u2014 press P" in s, s

    tm.send("P")
    s = tm.wait_for(lambda s: "Problems:" in s and "tasks wait for each other" in s)
    assert re.search(r"\[deadlock\] PID \d+: 3 tasks wait for each other", s), s
    for needle, fn, name in (("waiter.await", "async fn hold_and_join", "hold_and_join"),
                             ("rx.recv().await", "async fn wait_for_message",
                              "wait_for_message"),
                             ("m.lock().await", "async fn lock_then_send", "lock_then_send")):
        n, code = source_text(needle, fn)
        assert re.search(rf"task \d+ waitfor::{name}\s+idle", s), (name, s)
        # the .await line and the source text itself, read from the file
        assert re.search(rf"src/main\.rs:{n}\s+{re.escape(code)}", s), (name, n, code, s)
    assert re.search(r"waits on recv on mpsc::channel<u64> 0x[0-9a-f]+ \(0/4\) \u2192 task \d+ "
                     r"waitfor::lock_then_send", s), s
    assert re.search(r"waits on Mutex<u64> 0x[0-9a-f]+ \u2192 task \d+ waitfor::hold_and_join",
                     s), s
    assert "fix: " in s, s

    # Enter on wait_for_message's entry (the second): the channel and who can free it
    tm.send("j", "Enter")
    s = tm.wait_for(lambda s: "LEN/CAP 0/4" in s)
    assert re.search(r"^mpsc mpsc::channel<u64> 0x[0-9a-f]+\s+LEN/CAP 0/4", s, re.M), s
    # an empty channel: its one Sender's holder can free the receiver's wait, not the receiver
    assert "freed by: a sender, by sending" in s and "1 task can free it" in s, s
    assert re.search(r"sender\s+frees\s+task \d+ waitfor::lock_then_send", s), s
    assert re.search(r"receiver\s+task \d+ waitfor::wait_for_message", s), s

    # Enter on the sender: that task's detail; Esc back to the resource
    tm.send("Enter")
    s = tm.wait_for(lambda s: re.search(r"^Task \d+ waitfor::lock_then_send", s, re.M))
    assert re.search(r"^Task \d+ waitfor::lock_then_send", s, re.M), s
    tm.send("Escape")
    s = tm.wait_for(lambda s: "LEN/CAP 0/4" in s)
    assert "LEN/CAP 0/4" in s, s

    # the resources view: the mutex held by hold_and_join, the channel with its fill
    tm.send("Escape", "r")
    s = tm.wait_for(lambda s: "Resources:" in s)
    assert re.search(r"^mpsc\s+mpsc::channel<u64>\s+0x[0-9a-f]+\s+0/4\s+-\s+1 tx \d+ rx \d+",
                     s, re.M), s
    assert re.search(r"^mutex\s+Mutex<u64>\s+0x[0-9a-f]+\s+-\s+\d+\s+1", s, re.M), s

    # D: a DOT file, named on screen, that Graphviz renders
    tm.send("D")
    s = tm.wait_for(lambda s: "wrote " in s)
    m = re.search(r"wrote (\S+\.dot)", s)
    assert m, s
    try:
        dot = open(m.group(1)).read()
        assert dot.startswith("digraph waits {") and "color=red" in dot, dot[:400]
        svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True)
        assert svg.returncode == 0 and "<svg" in svg.stdout, svg.stderr
    finally:
        os.unlink(m.group(1))


def test_chan_cycle_full_channel(spawn, tmux):  # noqa: F811
    """A sender blocked on a full channel whose receiver joins it: the
    deadlock goes through the channel's fill, and its receiver frees it."""
    t = spawn("waitfor", args=("chan_cycle",))
    tm = tmux(["top", "-p", t.pid, "--mode", "default"], 150, 50)
    s = tm.wait_for(lambda s: "deadlock cycle detected" in s)
    assert "deadlock cycle detected \u2014 press P" in s, s

    tm.send("P")
    s = tm.wait_for(lambda s: "tasks wait for each other" in s)
    assert re.search(r"\[deadlock\] PID \d+: 2 tasks wait for each other", s), s
    for needle, fn in (("tx.send(2).await", "async fn fill_and_send"),
                       # the join, not the line before it receiving the handle
                       ("    sender.await", "async fn join_then_drain")):
        n, code = source_text(needle, fn)
        assert re.search(rf"src/main\.rs:{n}\s+{re.escape(code)}", s), (n, code, s)
    assert re.search(r"waits on send on mpsc::channel<u64> 0x[0-9a-f]+ \(1/1 full\) \u2192 "
                     r"task \d+ waitfor::join_then_drain", s), s
    assert re.search(r"waits on JoinHandle of task \d+ \u2192 task \d+ waitfor::fill_and_send",
                     s), s

    # Enter on fill_and_send (the cycle's first): the full channel, freed by its receiver
    tm.send("Enter")
    s = tm.wait_for(lambda s: "LEN/CAP 1/1" in s)
    assert "freed by: its receiver, by taking a message: the channel is full" in s, s
    assert re.search(r"receiver\s+frees\s+task \d+ waitfor::join_then_drain", s), s
    assert re.search(r"sender\s+task \d+ waitfor::fill_and_send", s), s

    tm.send("r")
    s = tm.wait_for(lambda s: "Resources:" in s)
    assert re.search(r"^mpsc\s+mpsc::channel<u64>\s+0x[0-9a-f]+\s+1/1\s+-\s+1 tx \d+ rx \d+",
                     s, re.M), s


def test_tree_fifty_children(spawn, tmux):  # noqa: F811
    t = spawn("waitfor", args=("tree",))
    tm = tmux(["top", "-p", t.pid, "--mode", "default"], 150, 80)
    tm.wait_for(lambda s: "waitfor::child" in s)
    tm.send("t")

    def below(s):
        m = re.search(r"waitfor::parent  \[(\d+) below, ", s)
        return int(m.group(1)) if m else 0
    # children live a few hundred ms and done rows stay 5 s: within ~6 s
    # every row but the parent's was spawned since the attach
    s = tm.wait_for(lambda s: below(s) >= 50 and "parent unknown for 1 task " in s,
                    timeout=15)
    assert "parent unknown for 1 task (spawned before attach)" in s, s
    # the parent first, every child under it: none at the top level
    m = re.search(r"waitfor::parent  \[(\d+) below, ", s)
    assert m and int(m.group(1)) >= 50, s
    kids = re.findall(r"(\u251c|\u2514)\u2500 waitfor::child", s)
    assert len(kids) >= 49, s
    assert not re.search(r"\s{2}waitfor::child\s*$", s, re.M), \
        f"a child drawn at the top level, not under its parent:\n{s}"
    assert "deadlock" not in s and "starvation" not in s, s
    # t again: the flat list
    tm.send("t")
    s = tm.wait_for(lambda s: "below," not in s)
    assert "below," not in s and "\u251c\u2500" not in s, s
