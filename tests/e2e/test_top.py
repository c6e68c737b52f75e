"""taskscope top against real tokio processes: --batch frames, and the real TUI
driven under tmux (send-keys, capture-pane), as a person would use it.

Each test asserts what a person looks for on the screen: the stuck tasks of
the demo service listed and flagged, and nothing else flagged; no flag at
all on a healthy or quiet process; the busiest task first when sorted by
BUSY, the filter hiding the rest, the histogram in the detail, the help, and
nothing left attached once top is gone.
"""
import os
import re
import signal
import subprocess
import time

import pytest

from tslib import (TASKSCOPE, Target, assert_nothing_left, attached_links, finding_key,
                   prog_holders, run, wait_exit)

WARN = r"[!⚠] "
STUCK = ("demo::reconcile_accounts", "demo::settle_payments")
# What the demo plants, as top flags it: the deadlocked pair, and
# flush_metrics's 1.2 s std::thread::sleep while it lasts or just after.
DEMO_FLAGS = {("demo::reconcile_accounts", "deadlock"), ("demo::settle_payments", "deadlock"),
              ("demo::flush_metrics", "long poll")}
# What the planted blocking call can cause, and no more: while it holds one
# worker for 1.2 s, the other may be parked off the timer driver, so the
# 10 ms timers of the order tasks fire late and they sit idle ~1 s. True
# (their last poll is that old), allowed, never required; any other flag is
# a failure.
DEMO_MAYBE = {("demo::accept_orders", "idle"), ("demo::process_orders", "idle"),
              ("demo::handle_order", "idle")}
# the same, as STALLS lines
DEMO_MAYBE_STALLS = {("idle", name) for name, _ in DEMO_MAYBE}
DEMO_STALLS = {("deadlock", "demo::reconcile_accounts <-> demo::settle_payments"),
               ("idle", "demo::reconcile_accounts"), ("idle", "demo::settle_payments"),
               ("blocked_worker", "demo::flush_metrics")}


def frames(out):
    """--batch output split into frames, each a list of lines."""
    parts = re.split(r"\n(?=taskscope top - )", out.strip("\n"))
    return [p.splitlines() for p in parts if p.startswith("taskscope top - ")]


def table(lines):
    """The task rows of a frame or a screen: the lines under the column titles."""
    rows, inside = [], False
    for line in lines:
        if re.search(r"\bSTATE\b.*\bNAME\b", line):
            inside = True
            continue
        if inside:
            if not line.strip() or line.startswith(("STALLS", "F1")):
                break
            rows.append(line)
    return rows


def row_of(rows, name):
    return next((r for r in rows if r.rstrip().endswith(name)), None)


def flagged(rows, name, reason):
    r = row_of(rows, name)
    return r is not None and re.search(WARN + reason, r) is not None


def flags(rows):
    """(task name, reason) of every row with a warning."""
    found = set()
    for r in rows:
        m = re.search(WARN + r"(.*?)\s+(\S+)\s*$", r)
        if m:	# "idle 2s" is an idle flag
            found.add((m.group(2), re.sub(r"\s+[\d.]+\w*$", "", m.group(1))))
    return found


def frame_stalls(lines):
    """(kind, task) of each line of a frame's STALLS list, keyed as tslib
    keys report findings."""
    found, inside = [], False
    for line in lines:
        if line.startswith("STALLS"):
            inside = True
            continue
        if inside:
            m = re.match(r"\s+\[(\w+)\] (?:task \d+ (.+?): )?(.*)$", line)
            if not m:
                break
            found.append(finding_key({"kind": m.group(1), "name": m.group(2),
                                      "message": m.group(3)}))
    return found


def attrs_at(screen, name):
    """The SGR attributes in force where the name's line begins, in capture-pane -e
    output: tmux only writes a sequence where attributes change."""
    state = {}
    start = None
    pos = 0
    for line in screen.split("\n"):
        if name in re.sub(r"\x1b\[[0-9;]*m", "", line):
            start = pos
            break
        pos += len(line) + 1
    if start is None:
        return {}
    for m in re.finditer(r"\x1b\[([0-9;]*)m", screen[:start + 40]):
        if m.start() > start and screen[start:m.start()].strip():
            break	# past the first visible character of the line
        for code in [int(c) if c else 0 for c in m.group(1).split(";")]:
            if code == 0:
                state = {}
            elif code == 1:
                state["bold"] = True
            elif code == 22:
                state.pop("bold", None)
            elif code == 7:
                state["reverse"] = True
            elif code == 27:
                state.pop("reverse", None)
            elif 30 <= code <= 37 or code == 39:
                state["fg"] = code
            elif 40 <= code <= 47 or code == 49:
                state["bg"] = code
    return state


class Tmux:
    """The real TUI in a detached tmux session of a given size."""
    count = 0

    def __init__(self, args, width=120, height=40, env="LANG=C.UTF-8"):
        Tmux.count += 1
        self.name = f"tstop{os.getpid()}_{Tmux.count}"
        cmd = " ".join([TASKSCOPE] + [str(a) for a in args]) + "; echo EXIT=$?; sleep 600"
        # no COLUMNS/LINES (run.sh sets COLUMNS for pytest's output, and the tmux
        # server inherits it): ncurses would take them over the pane's size
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width),
                        "-y", str(height), f"env -u COLUMNS -u LINES {env} " + cmd],
                       check=True)

    def send(self, *keys, pause=0.25):
        for k in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, k], check=True)
            time.sleep(pause)

    def type(self, text):
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)
        time.sleep(0.3)

    def screen(self, escapes=False):
        args = ["tmux", "capture-pane", "-p", "-t", self.name] + (["-e"] if escapes else [])
        return subprocess.run(args, capture_output=True, text=True).stdout

    def wait_for(self, pred, timeout=8.0):
        deadline = time.time() + timeout
        while True:
            s = self.screen()
            if pred(s) or time.time() >= deadline:
                return s
            time.sleep(0.2)

    def resize(self, width, height):
        subprocess.run(["tmux", "resize-window", "-t", self.name, "-x", str(width), "-y",
                        str(height)], check=True)
        time.sleep(0.5)

    def top_pid(self):
        """taskscope's own pid: the child of the pane's shell."""
        shell = subprocess.run(["tmux", "display", "-p", "-t", self.name, "#{pane_pid}"],
                               capture_output=True, text=True).stdout.strip()
        out = subprocess.run(["pgrep", "-P", shell, "-x", "taskscope"], capture_output=True,
                             text=True).stdout.split()
        return int(out[0]) if out else None

    def kill(self):
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def tmux():
    """tmux(args, width, height, env) -> Tmux running taskscope ARGS; the
    session is killed at teardown."""
    sessions = []

    def start(args, width=120, height=40, env="LANG=C.UTF-8"):
        tm = Tmux(args, width, height, env)
        sessions.append(tm)
        return tm
    yield start
    for tm in sessions:
        tm.kill()


@pytest.fixture(scope="class")
def demo():
    """The demo service for a class of tests; it must outlive them."""
    t = Target("demo")
    try:
        yield t
        gone = t.ended_by_itself()
        assert gone is None, gone
    finally:
        t.kill()


def stuck_shown(screen):
    return all(flagged(table(screen.splitlines()), n, "deadlock") for n in STUCK)


# ---- --batch

class TestBatch:
    """top --batch -n 3 on the demo: three frames, the planted stalls only."""

    @pytest.fixture(scope="class")
    def batch(self, demo):
        # exact flags: the precise mode (sampled, top's default, is tested below)
        r = run(["top", "-p", demo.pid, "--mode", "default", "--batch", "-n", "3", "-w", "160"],
                timeout=30)
        return r, frames(r.stdout)

    def test_three_frames(self, batch):
        r, fs = batch
        assert r.returncode == 0, f"expected exit 0, got {r.returncode} {r.stderr!r}"
        assert len(fs) == 3, f"expected -n 3 to print three frames, got {len(fs)}: " \
                             f"{r.stdout[-800:]!r}"

    @pytest.mark.parametrize("name", STUCK)
    def test_stuck_task(self, batch, name):
        last = batch[1][-1]
        rows = table(last)
        assert row_of(rows, name), f"expected {name} listed, got rows:\n" + "\n".join(rows)
        assert flagged(rows, name, "deadlock"), \
            f"expected {name} flagged deadlock, got {row_of(rows, name)!r}"
        assert any(re.search(rf"\[idle\] task \d+ {name}", line) for line in last), \
            f"expected {name} in the stalls list:\n" + "\n".join(last)

    def test_exact_flags(self, batch):
        """Every frame flags a subset of what the demo plants; the last one at
        least the deadlocked pair; the STALLS lists likewise."""
        fs = batch[1]
        for i, f in enumerate(fs):
            extra = flags(table(f)) - DEMO_FLAGS - DEMO_MAYBE
            assert not extra, f"frame {i + 1}: expected flags only among {sorted(DEMO_FLAGS)}, " \
                              f"top also flagged {sorted(extra)}"
            extra = set(frame_stalls(f)) - DEMO_STALLS - DEMO_MAYBE_STALLS
            assert not extra, f"frame {i + 1}: expected stalls only among " \
                              f"{sorted(DEMO_STALLS)}, top also listed {sorted(extra)}"
        want = {(n, "deadlock") for n in STUCK}
        got = flags(table(fs[-1]))
        assert want <= got, f"expected the last frame to flag {sorted(want)}, got {sorted(got)}"

    def test_header(self, batch, demo):
        last = batch[1][-1]
        assert f"PID {demo.pid} demo - tokio 1.24.2" in last[0], \
            f"expected the header to name PID {demo.pid} demo and tokio 1.24.2, got {last[0]!r}"
        assert any(re.match(r"Stalls +\d+ flagged", line) for line in last), \
            "expected a 'Stalls N flagged' header line:\n" + "\n".join(last[:6])
        assert any(re.search(r"\d+ hits/s, est\. [\d.]+% CPU", line) for line in last), \
            "expected the probe cost estimate in the header:\n" + "\n".join(last[:6])

    def test_long_poll(self, batch):
        fs = batch[1]
        assert any(flagged(table(f), "demo::flush_metrics", "long poll") for f in fs), \
            "expected flush_metrics flagged long poll in some frame, got:\n" + \
            "\n".join(row_of(table(f), "demo::flush_metrics") or "-" for f in fs)
        row = row_of(table(fs[-1]), "demo::process_orders")
        assert row and not re.search(WARN, row), \
            f"expected the healthy process_orders listed and not flagged, got {row!r}"

    def test_nothing_left_attached(self, batch):
        assert_nothing_left("top --batch")


@pytest.mark.parametrize("name", ["healthy", "quiet", "quiet-lto"])
def test_batch_no_flag_when_healthy(name, spawn, request):
    """Nothing false: a healthy or quiet process observed past the stall
    threshold gets no warning row and an empty STALLS list."""
    path = request.getfixturevalue("quiet_lto") if name == "quiet-lto" else None
    t = spawn(name.replace("-lto", ""), path=path, settle=1)
    r = run(["top", "-p", t.pid, "--batch", "-n", "4", "-w", "200"], timeout=30)
    fs = frames(r.stdout)
    assert r.returncode == 0 and len(fs) == 4, \
        f"expected exit 0 and 4 frames, got {r.returncode}, {len(fs)} frames, {r.stderr!r}"
    for i, f in enumerate(fs):
        warned = [row for row in table(f) if re.search(WARN, row)]
        assert not warned, f"frame {i + 1}: expected no warning row, top flagged:\n" + \
                           "\n".join(warned)
        listed = frame_stalls(f)
        assert not listed, f"frame {i + 1}: expected no stall, top listed {listed}"


# ---- every process

def test_system_wide(spawn):
    t = spawn("demo")
    r = run(["top", "--mode", "default", "--batch", "-n", "2", "-w", "200"], timeout=60)
    assert r.returncode == 0, f"expected exit 0, got {r.returncode} {r.stderr!r}"
    fs = frames(r.stdout)
    assert fs, f"expected frames, got {r.stdout[-500:]!r}"
    rows = table(fs[-1])
    mine = [x for x in rows if re.match(rf"\s*{t.pid}\s", x)]
    assert any(x.rstrip().endswith("demo::reconcile_accounts") for x in mine), \
        f"expected the demo process's rows with its PID {t.pid}:\n" + "\n".join(rows[:20])
    assert any(x.rstrip().endswith("demo::reconcile_accounts") and re.search(WARN, x)
               for x in mine), "expected its stuck task flagged:\n" + "\n".join(mine)
    extra = flags(mine) - DEMO_FLAGS - DEMO_MAYBE
    assert not extra, f"expected the demo's rows flagged only among {sorted(DEMO_FLAGS)}, " \
                      f"top also flagged {sorted(extra)}"
    assert_nothing_left("top --batch on every process")


def test_system_wide_process_comes_and_goes(popen):
    """A process that starts while top runs appears; one that exits disappears."""
    p = popen([TASKSCOPE, "top", "--batch", "-n", "8", "-w", "200"])
    time.sleep(0.5)
    t = Target("demo", settle=0)
    try:
        time.sleep(4.5)
    finally:
        t.kill()
    code, out, err = wait_exit(p, 30)
    fs = frames(out)
    seen = [any(re.match(rf"\s*{t.pid}\s", x) for x in table(f)) for f in fs]
    assert len(fs) == 8 and not seen[0] and any(seen), \
        f"expected 8 frames, PID {t.pid} absent from the first and present in some: " \
        f"{seen} {err!r}"
    assert not seen[-1], f"expected PID {t.pid} gone from the last frame once it exited: {seen}"


# ---- the TUI under tmux

class TestTui:
    """The real screen on the demo, one tmux session per test."""

    @pytest.fixture
    def screen(self, demo, tmux):
        """top -p DEMO at 120x40, once the stuck tasks show."""
        tm = tmux(["top", "-p", demo.pid, "--mode", "default"], 120, 40)
        s = tm.wait_for(stuck_shown)
        assert stuck_shown(s), f"expected both stuck tasks flagged deadlock:\n{s}"
        return tm, s

    def test_stuck_tasks_flagged(self, screen):
        tm, s = screen
        extra = flags(table(s.splitlines())) - DEMO_FLAGS - DEMO_MAYBE
        assert not extra, f"expected flags only among {sorted(DEMO_FLAGS)}, " \
                          f"top also flagged {sorted(extra)}:\n{s}"
        attrs = {}
        for _ in range(5):
            attrs = attrs_at(tm.screen(escapes=True), "demo::reconcile_accounts")
            if attrs.get("bold") or attrs.get("fg") == 31 or attrs.get("reverse"):
                break
            time.sleep(0.3)
        assert attrs.get("bold") or attrs.get("fg") == 31 or attrs.get("reverse"), \
            f"expected the stalled row highlighted (red, bold or reverse), got {attrs}"
        assert re.search(r"F1\s*Help.*F10\s*Quit", s.splitlines()[-1]), \
            f"expected a footer with function keys, got {s.splitlines()[-1]!r}"

    def test_filter(self, screen):
        tm, _ = screen
        tm.send("/")
        tm.type("settle")
        s = tm.screen()
        rows = table(s.splitlines())
        assert row_of(rows, "demo::settle_payments") and \
            not row_of(rows, "demo::reconcile_accounts") and len(rows) == 1, \
            f"expected / settle to show settle_payments only:\n{s}"
        assert "Filter: settle_" in s, f"expected the filter prompt, got {s.splitlines()[-1]!r}"
        tm.send("Enter", "Escape")
        s = tm.screen()
        assert row_of(table(s.splitlines()), "demo::reconcile_accounts"), \
            f"expected Esc to clear the filter:\n{s}"

    def test_detail_histogram(self, screen):
        tm, _ = screen
        tm.send("/")
        tm.type("process_orders")
        tm.send("Enter", "Enter")
        s = tm.wait_for(lambda s: "Poll durations" in s)
        assert "Task " in s and "demo::process_orders" in s and "Poll durations" in s and \
            re.search(r"us [│|][█▏▎▍▌▋▊▉#]", s), \
            f"expected Enter to open process_orders's detail with its poll histogram:\n{s}"
        assert re.search(r"wakes +\d+", s) and "last worker" in s, \
            f"expected wakes and the last worker in the detail:\n{s}"

    def test_detail_await_chain(self, screen):
        tm, _ = screen
        tm.send("/")
        tm.type("reconcile")
        tm.send("Enter", "Enter")
        s = tm.wait_for(lambda s: "Await chain" in s)
        assert "demo::reconcile_accounts" in s and "src/main.rs:" in s and \
            re.search(r"waiting on mutex", s, re.I), \
            f"expected the detail to show where the stuck task waits (await chain):\n{s}"
        tm.send("Escape", "Escape")
        s = tm.screen()
        assert row_of(table(s.splitlines()), "demo::reconcile_accounts"), \
            f"expected Esc back to the full list:\n{s}"

    def test_help(self, screen):
        tm, _ = screen
        tm.send("?")
        s = tm.screen()
        assert "Keys" in s and "MAXPOLL" in s and "invert the sort order" in s, \
            f"expected ? to show help with keys and columns:\n{s}"
        tm.send("x")
        s = tm.screen()
        assert "Keys" not in s.splitlines()[1], f"expected any key to close the help:\n{s}"

    def test_workers(self, screen):
        tm, _ = screen
        tm.send("w")
        s = tm.screen()
        assert "CURRENT TASK" in s and "tokio-runtime-w" in s, \
            f"expected w to show the workers:\n{s}"

    def test_resize(self, screen):
        tm, _ = screen
        tm.resize(80, 24)
        s = tm.wait_for(lambda s: len(s.rstrip("\n").splitlines()) == 24 and
                        "F10Quit" in s.rstrip("\n").splitlines()[-1], 3)
        lines = s.rstrip("\n").splitlines()
        assert len(lines) == 24 and "F10" in lines[-1], \
            f"expected 24 lines with the footer last at 80x24, got {len(lines)}: {lines[-1:]!r}"
        assert all(flagged(table(lines), n, "deadlock") for n in STUCK), \
            f"expected the stuck tasks still shown at 80x24, names whole:\n{s}"

    def test_quit(self, screen):
        tm, _ = screen
        pid = tm.top_pid()
        held = prog_holders()
        mine = [p["name"] for p in attached_links(0) if pid in held.get(p["id"], ())]
        assert "task_poll" in mine, \
            f"expected task_poll attached by top (PID {pid}) while watching, found {mine}"
        tm.send("q")
        s = tm.wait_for(lambda s: "EXIT=" in s, 5)
        assert "EXIT=0" in s, f"expected q to quit with status 0, got {s[-300:]!r}"
        assert_nothing_left("q")


def test_tui_sort(spawn, tmux):
    busiest = "spinner::spin_loop"
    t = spawn("spinner")
    tm = tmux(["top", "-p", t.pid], 120, 40)
    tm.wait_for(lambda s: busiest in s)
    s = ""
    for _ in range(15):
        s = tm.screen()
        if re.search(r"sort BUSY[▼v]", s):
            break
        tm.send(">")
    assert re.search(r"sort BUSY[▼v]", s), f"expected > to walk the columns to BUSY:\n{s}"
    titles = next((x for x in s.splitlines() if re.search(r"\bSTATE\b.*\bNAME\b", x)), "")
    assert re.search(r"BUSY[▼v]", titles), f"expected the BUSY title marked, got {titles!r}"
    time.sleep(2.2)	# two refreshes, so that the busiest has outrun the rest
    rows = table(tm.screen().splitlines())
    assert rows and rows[0].rstrip().endswith(busiest), \
        f"expected {busiest} first when sorted by BUSY:\n" + "\n".join(rows)
    tm.send("i")
    rows = table(tm.screen().splitlines())
    assert rows and not rows[0].rstrip().endswith(busiest), \
        "expected i to invert the order:\n" + "\n".join(rows)
    tm.send("C-c")
    s = tm.wait_for(lambda s: "EXIT=" in s, 5)
    assert "EXIT=0" in s, f"expected Ctrl-C to leave with status 0, got {s[-300:]!r}"
    assert_nothing_left("Ctrl-C")


def test_tui_bounded_refreshes(spawn, tmux):
    """-n bounds the TUI: CI runs the real screen headless."""
    t = spawn("demo")
    tm = tmux(["top", "-p", t.pid, "-n", "3"], 100, 30)
    start = time.time()
    s = tm.wait_for(lambda s: "EXIT=" in s, 10)
    took = time.time() - start
    assert "EXIT=0" in s and 1.5 <= took <= 6, \
        f"expected -n 3 to end by itself with status 0 after three refreshes (1.5-6 s), " \
        f"got {took:.1f} s {s[-200:]!r}"


def test_tui_sigterm(spawn, tmux):
    t = spawn("demo")
    tm = tmux(["top", "-p", t.pid], 100, 30)
    tm.wait_for(lambda s: "demo::reconcile_accounts" in s)
    pid = tm.top_pid()
    assert pid, "expected taskscope running in the tmux pane"
    os.kill(pid, signal.SIGTERM)
    s = tm.wait_for(lambda s: "EXIT=" in s, 5)
    assert "EXIT=0" in s, f"expected SIGTERM to leave with status 0, got {s[-300:]!r}"
    assert_nothing_left("SIGTERM")


def test_tui_target_exits(spawn, tmux):
    t = spawn("demo")
    tm = tmux(["top", "-p", t.pid], 100, 30)
    tm.wait_for(lambda s: "demo::reconcile_accounts" in s)
    t.kill()
    s = tm.wait_for(lambda s: "EXIT=" in s, 6)
    assert f"PID {t.pid} exited" in s and "EXIT=0" in s, \
        f"expected the TUI to leave with status 0 saying 'PID {t.pid} exited', got {s[-300:]!r}"
    assert_nothing_left("the target exited")


def test_tui_mono_system_wide(spawn, tmux):
    """No colours (vt100), no UTF-8 (C locale), every process: still readable."""
    t = spawn("demo")
    tm = tmux(["top"], 140, 40, env="TERM=vt100 LANG=C LC_ALL=C")

    def mine(s):
        return [x for x in s.splitlines() if re.match(rf"\s*{t.pid}\s", x)]
    s = tm.wait_for(lambda s: any(x.rstrip().endswith("demo::reconcile_accounts") and
                                  "! deadlock" in x for x in mine(s)))
    assert any(x.rstrip().endswith("demo::reconcile_accounts") and "! deadlock" in x
               for x in mine(s)), f"expected the demo's rows flagged with ascii '!':\n{s}"
    assert all(ord(c) < 128 for c in s), f"expected no UTF-8 on the screen:\n{s}"
    row = next((x for x in tm.screen(escapes=True).split("\n")
                if "demo::reconcile_accounts" in x and str(t.pid) in x), "")
    a = attrs_at(tm.screen(escapes=True), re.sub(r"\x1b\[[0-9;]*m", "", row)[:60])
    assert (a.get("bold") or a.get("reverse")) and a.get("fg", 39) == 39, \
        f"expected the stalled row bold or reverse, no colour, got {a}"
    tm.send("p")
    s = tm.screen()
    assert "RUNTIME" in s and re.search(rf"^\s*{t.pid} demo\s+tokio 1\.24\.2", s, re.M), \
        f"expected p to list the processes with the demo's runtime:\n{s}"
    tm.send("Escape", "q")
    s = tm.wait_for(lambda s: "EXIT=" in s, 5)
    assert "EXIT=0" in s, f"expected q to quit with status 0, got {s[-300:]!r}"
    assert_nothing_left("q")


# ---- errors

class TestErrors:
    def test_no_such_pid(self):
        r = run(["top", "-p", "999999", "--batch", "-n", "1"])
        assert r.returncode == 2 and "no process with PID 999999" in r.stderr and \
            r.stderr.count("\n") == 1, \
            f"expected exit 2 and one line 'no process with PID 999999', got " \
            f"{r.returncode} {r.stderr!r}"

    def test_not_an_async_process(self, popen):
        sl = popen(["sleep", "100"])
        r = run(["top", "-p", sl.pid, "--batch", "-n", "1"])
        assert r.returncode == 2 and "no supported async runtime" in r.stderr and \
            r.stderr.count("\n") == 1, \
            f"expected exit 2 and one line 'no supported async runtime', got " \
            f"{r.returncode} {r.stderr!r}"

    def test_not_root(self):
        r = run(["top", "--batch", "-n", "1"], user="65534")
        assert r.returncode == 2 and "must run as root" in r.stderr and \
            r.stderr.count("\n") == 1, \
            f"expected exit 2 and one line 'must run as root', got {r.returncode} {r.stderr!r}"

    def test_bad_interval(self):
        r = run(["top", "-i", "0"])
        assert r.returncode == 2 and "invalid interval" in r.stderr, \
            f"expected exit 2 and 'invalid interval', got {r.returncode} {r.stderr!r}"

    def test_no_terminal(self, demo):
        r = run(["top", "-p", demo.pid])
        assert r.returncode == 2 and "needs a terminal" in r.stderr, \
            f"expected exit 2 and 'needs a terminal' without --batch, got " \
            f"{r.returncode} {r.stderr!r}"

    def test_batch_sigterm(self, demo, popen):
        p = popen([TASKSCOPE, "top", "-p", demo.pid, "--batch"])
        time.sleep(1.5)
        p.send_signal(signal.SIGTERM)
        code, out, err = wait_exit(p)
        assert code == 0 and frames(out), \
            f"expected SIGTERM to end --batch with status 0 after some frames, got " \
            f"{code} {err!r}"
        assert_nothing_left("SIGTERM")

    def test_batch_target_exits(self, spawn, popen):
        t = spawn("demo")
        p = popen([TASKSCOPE, "top", "-p", t.pid, "--batch", "-n", "20"])
        time.sleep(1.5)
        t.kill()
        code, out, err = wait_exit(p)
        assert code == 0 and f"PID {t.pid} exited" in err and err.count("\n") == 1, \
            f"expected top to end with status 0 and one line 'PID {t.pid} exited', got " \
            f"{code} {err!r}"
        assert_nothing_left("the target exited")


# ---- --mode sampled: nothing on the hot path

@pytest.mark.parametrize("target,expected,maybe", [
    ("deadlock", {("deadlock::lock_ab", "deadlock"), ("deadlock::lock_ba", "deadlock")}, set()),
    # the ticker behind the blocked worker is starved in truth (as test_sampled allows)
    ("blocked", {("blocked::blocking_handler", "long poll")}, {("blocked::ticker", "starved")}),
    ("healthy", set(), set()),
])
def test_sampled_batch(spawn, target, expected, maybe):
    """top --mode sampled: the header names the mode and its measured cost,
    the planted stall is flagged on its task by the last frame, every frame
    flags nothing else, and no uprobe stays attached between bursts."""
    t = spawn(target)
    # no --mode: sampled is top's default
    r = run(["top", "-p", t.pid, "--batch", "-n", "4", "-w", "200"], timeout=60)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-300:]!r}"
    fs = frames(r.stdout)
    assert len(fs) == 4, r.stdout[-600:]
    for i, f in enumerate(fs):
        mode = [line for line in f if line.startswith("Mode")]
        assert mode and "sampled: 199 Hz" in mode[0] and "measured" in mode[0], \
            f"frame {i + 1}: no mode line naming its cost: {f[:6]}"
        got = flags(table(f))
        assert got <= expected | maybe, f"frame {i + 1}: flagged {sorted(got - expected)} too"
    assert flags(table(fs[-1])) - maybe == expected, \
        f"last frame: expected {sorted(expected)}, got {sorted(flags(table(fs[-1])))}"


def test_sampled_bad_options():
    for args, words in ((["--mode", "bogus"], "invalid --mode"),
                        (["--mode", "sampled", "--sample-hz", "0"], "invalid --sample-hz"),
                        (["--mode", "sampled", "--burst", "900"], "invalid --burst")):
        r = run(["top", "--batch", "-n", "1", *args])
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and words in lines[0], (args, lines)


def test_system_wide_sampled(spawn):
    """top with no -p and no --mode: every tokio process, each in its own
    sampled session: the deadlock flagged on its two tasks, the quiet
    process's rows with no warning, the header naming the mode."""
    dl = spawn("deadlock")
    qt = spawn("quiet", settle=1)
    r = run(["top", "--batch", "-n", "3", "-w", "200"], timeout=90)
    assert r.returncode == 0, f"expected exit 0, got {r.returncode} {r.stderr[-300:]!r}"
    fs = frames(r.stdout)
    assert len(fs) == 3, r.stdout[-600:]
    last = fs[-1]
    mode = [line for line in last if line.startswith("Mode")]
    assert mode and "sampled" in mode[0], f"expected the sampled mode named: {last[:8]}"
    rows = table(last)
    dl_rows = [x for x in rows if re.match(rf"\s*{dl.pid}\s", x)]
    qt_rows = [x for x in rows if re.match(rf"\s*{qt.pid}\s", x)]
    assert dl_rows and qt_rows, f"expected rows of both processes:\n" + "\n".join(rows[:30])
    got = flags(dl_rows)
    assert got == {("deadlock::lock_ab", "deadlock"), ("deadlock::lock_ba", "deadlock")}, \
        f"expected exactly the two deadlocked tasks flagged, got {sorted(got)}"
    warned = [x for x in qt_rows if re.search(WARN, x)]
    assert not warned, "the quiet process must have no warning:\n" + "\n".join(warned)
    # #[tokio::main]'s body: a row of its own, ID T<tid>, parked on pending(): no warning
    mains = [x for x in qt_rows if x.rstrip().endswith(" main")]
    assert len(mains) == 1 and f"T{qt.pid}" in mains[0], \
        "expected the quiet process's main as one row T<pid>:\n" + "\n".join(qt_rows)
