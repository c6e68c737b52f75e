"""taskscope top against real tokio processes: --batch frames, and the real TUI
driven under tmux (send-keys, capture-pane), as a person would use it.

Each check asserts what a person looks for on the screen: the stuck tasks of
the demo service listed and flagged, the busiest task first when sorted by
BUSY, the filter hiding the rest, the histogram in the detail, the help, and
nothing left attached once top is gone.
"""
import os
import re
import signal
import subprocess
import time

from tslib import (Target, check, finish, run, attached_links, left_attached, prog_holders,
                   TASKSCOPE, TARGETS)

WARN = r"[!⚠] "
STUCK = ("demo::reconcile_accounts", "demo::settle_payments")


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
        cmd = " ".join([TASKSCOPE] + args) + "; echo EXIT=$?; sleep 600"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width),
                        "-y", str(height), f"env {env} " + cmd], check=True)

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


def flagged(rows, name, reason):
    r = row_of(rows, name)
    return r is not None and re.search(WARN + reason, r) is not None


def test_batch():
    with Target("demo") as t:
        r = run(["top", "-p", str(t.pid), "--batch", "-n", "3", "-w", "160"], timeout=30)
        check("batch: exit 0", r.returncode == 0, f"{r.returncode} {r.stderr!r}")
        fs = frames(r.stdout)
        check("batch: -n 3 prints three frames", len(fs) == 3, f"{len(fs)} frames")
        if not fs:
            return
        last = fs[-1]
        rows = table(last)
        for name in STUCK:
            check(f"batch: {name} listed", row_of(rows, name) is not None, "\n".join(rows))
            check(f"batch: {name} flagged deadlock", flagged(rows, name, r"deadlock"),
                  row_of(rows, name) or "missing")
            check(f"batch: {name} in the stalls list",
                  any(re.search(rf"\[idle\] task \d+ {name}", line) for line in last), "")
        check("batch: header names the process and runtime",
              f"PID {t.pid} demo - tokio 1.24.2" in last[0], last[0])
        check("batch: header counts stalls", any(re.match(r"Stalls +\d+ flagged", line)
                                                 for line in last), "\n".join(last[:6]))
        check("batch: probe cost estimate", any(re.search(r"\d+ hits/s, est\. [\d.]+% CPU", line)
                                                for line in last), "")
        check("batch: flush_metrics flagged long poll in some frame",
              any(flagged(table(f), "demo::flush_metrics", "long poll") for f in fs),
              "\n".join(row_of(table(f), "demo::flush_metrics") or "-" for f in fs))
        check("batch: healthy tasks not flagged",
              not re.search(WARN, row_of(rows, "demo::process_orders") or "!"),
              row_of(rows, "demo::process_orders") or "missing")
        check("batch: target still running", t.alive(), "")
    check("batch: nothing left attached", not left_attached(), f"{left_attached()}")


def test_system_wide():
    with Target("demo") as t:
        r = run(["top", "--batch", "-n", "2", "-w", "200"], timeout=60)
        check("system-wide: exit 0", r.returncode == 0, f"{r.returncode} {r.stderr!r}")
        fs = frames(r.stdout)
        rows = table(fs[-1]) if fs else []
        mine = [x for x in rows if re.match(rf"\s*{t.pid}\s", x)]
        check("system-wide: the demo process's rows, with its PID",
              any(x.rstrip().endswith("demo::reconcile_accounts") for x in mine),
              "\n".join(rows[:20]))
        check("system-wide: its stuck task flagged",
              any(x.rstrip().endswith("demo::reconcile_accounts") and re.search(WARN, x)
                  for x in mine), "\n".join(mine))
    check("system-wide: nothing left attached", not left_attached(), f"{left_attached()}")

    # a process that starts while top runs appears; one that exits disappears
    p = subprocess.Popen([TASKSCOPE, "top", "--batch", "-n", "8", "-w", "200"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        t = Target("demo", settle=0)
        time.sleep(4.5)
        t.kill()
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
        t.kill()
    fs = frames(out)
    seen = [any(re.match(rf"\s*{t.pid}\s", x) for x in table(f)) for f in fs]
    check("system-wide: a process started later appears",
          len(fs) == 8 and not seen[0] and any(seen), f"{seen} {err!r}")
    check("system-wide: and disappears once it exits", seen and not seen[-1], f"{seen}")


def test_tui():
    with Target("demo") as t:
        tm = Tmux(["top", "-p", str(t.pid)], 120, 40)
        try:
            s = tm.wait_for(lambda s: all(flagged(table(s.splitlines()), n, "deadlock")
                                          for n in STUCK))
            rows = table(s.splitlines())
            check("tui: stuck tasks visible and flagged",
                  all(flagged(rows, n, r"deadlock") for n in STUCK), s)
            attrs = {}
            for _ in range(5):
                attrs = attrs_at(tm.screen(escapes=True), "demo::reconcile_accounts")
                if attrs.get("bold") or attrs.get("fg") == 31 or attrs.get("reverse"):
                    break
                time.sleep(0.3)
            check("tui: the stalled row is highlighted (red or bold)",
                  attrs.get("bold") or attrs.get("fg") == 31 or attrs.get("reverse"),
                  f"{attrs}")
            check("tui: footer with function keys",
                  re.search(r"F1\s*Help.*F10\s*Quit", s.splitlines()[-1]) is not None,
                  s.splitlines()[-1])

            tm.send("/")
            tm.type("settle")
            s = tm.screen()
            rows = table(s.splitlines())
            check("tui: / filter shows the matching task only",
                  row_of(rows, "demo::settle_payments") and
                  not row_of(rows, "demo::reconcile_accounts") and len(rows) == 1, s)
            check("tui: the filter prompt", "Filter: settle_" in s, s.splitlines()[-1])
            tm.send("Enter", "Escape")
            rows = table(tm.screen().splitlines())
            check("tui: Esc clears the filter", row_of(rows, "demo::reconcile_accounts"), "")

            tm.send("/")
            tm.type("process_orders")
            tm.send("Enter", "Enter")
            s = tm.wait_for(lambda s: "Poll durations" in s)
            check("tui: Enter opens the detail with the poll histogram",
                  "Task " in s and "demo::process_orders" in s and "Poll durations" in s and
                  re.search(r"us [│|][█▏▎▍▌▋▊▉#]", s) is not None, s)
            check("tui: the detail has wakes and the last worker",
                  re.search(r"wakes +\d+", s) and "last worker" in s, s)
            tm.send("Escape", "Escape", "/")
            tm.type("reconcile")
            tm.send("Enter", "Enter")
            s = tm.wait_for(lambda s: "Await chain" in s)
            check("tui: the detail shows where the stuck task waits (await chain)",
                  "demo::reconcile_accounts" in s and "src/main.rs:" in s and
                  re.search(r"waiting on mutex", s, re.I) is not None, s)
            tm.send("Escape", "Escape")
            s = tm.screen()
            check("tui: Esc back to the full list", row_of(table(s.splitlines()),
                                                           "demo::reconcile_accounts"), s)

            tm.send("?")
            s = tm.screen()
            check("tui: ? shows help with keys and columns",
                  "Keys" in s and "MAXPOLL" in s and "invert the sort order" in s, s)
            tm.send("x")
            check("tui: any key closes help", "Keys" not in tm.screen().splitlines()[1], "")

            tm.send("w")
            s = tm.screen()
            check("tui: w shows the workers", "CURRENT TASK" in s and "tokio-runtime-w" in s, s)
            tm.send("Escape")

            tm.resize(80, 24)
            s = tm.wait_for(lambda s: len(s.rstrip("\n").splitlines()) == 24 and
                            "F10Quit" in s.rstrip("\n").splitlines()[-1], 3)
            lines = s.rstrip("\n").splitlines()
            check("tui: resized to 80x24, footer on the last line",
                  len(lines) == 24 and "F10" in lines[-1], repr(lines[-1:]))
            check("tui: at 80x24 the stuck tasks still show, names whole",
                  all(flagged(table(lines), n, "deadlock") for n in STUCK), s)

            pid = tm.top_pid()
            mine = [p["name"] for p in attached_links(0)
                    if pid in prog_holders().get(p["id"], ())]
            check("tui: probes attached while watching", "task_poll" in mine, f"{mine}")
            tm.send("q")
            s = tm.wait_for(lambda s: "EXIT=" in s, 5)
            check("tui: q quits with status 0", "EXIT=0" in s, s[-300:])
            check("tui: q leaves nothing attached", not left_attached(), f"{left_attached()}")
            check("tui: target untouched", t.alive(), "")
        finally:
            tm.kill()


def test_tui_sort():
    name = "spinner" if os.path.exists(os.path.join(TARGETS, "spinner")) else "demo"
    busiest = "spinner::spin_loop" if name == "spinner" else "demo::flush_metrics"
    with Target(name) as t:
        tm = Tmux(["top", "-p", str(t.pid)], 120, 40)
        try:
            tm.wait_for(lambda s: busiest in s)
            s = ""
            for _ in range(15):
                s = tm.screen()
                if re.search(r"sort BUSY[▼v]", s):
                    break
                tm.send(">")
            check("tui: > walks the columns to BUSY", re.search(r"sort BUSY[▼v]", s), s)
            titles = next((x for x in s.splitlines() if re.search(r"\bSTATE\b.*\bNAME\b", x)), "")
            check("tui: the BUSY title marked", re.search(r"BUSY[▼v]", titles), titles)
            time.sleep(2.2)	# two refreshes, so that the busiest has outrun the rest
            rows = table(tm.screen().splitlines())
            check(f"tui: sorted by BUSY, {busiest} first",
                  rows and rows[0].rstrip().endswith(busiest), "\n".join(rows))
            tm.send("i")
            rows = table(tm.screen().splitlines())
            check("tui: i inverts", rows and not rows[0].rstrip().endswith(busiest),
                  "\n".join(rows))
            tm.send("C-c")
            s = tm.wait_for(lambda s: "EXIT=" in s, 5)
            check("tui: Ctrl-C leaves with status 0", "EXIT=0" in s, s[-300:])
            check("tui: Ctrl-C leaves nothing attached", not left_attached(),
                  f"{left_attached()}")
        finally:
            tm.kill()


def test_tui_exits():
    # -n bounds the TUI: CI runs the real screen headless
    with Target("demo") as t:
        tm = Tmux(["top", "-p", str(t.pid), "-n", "3"], 100, 30)
        try:
            start = time.time()
            s = tm.wait_for(lambda s: "EXIT=" in s, 10)
            took = time.time() - start
            check("tui: -n 3 ends by itself after three refreshes", "EXIT=0" in s and
                  1.5 <= took <= 6, f"{took:.1f}s {s[-200:]!r}")
        finally:
            tm.kill()

        tm = Tmux(["top", "-p", str(t.pid)], 100, 30)
        try:
            tm.wait_for(lambda s: "demo::reconcile_accounts" in s)
            pid = tm.top_pid()
            if pid:
                os.kill(pid, signal.SIGTERM)
            s = tm.wait_for(lambda s: "EXIT=" in s, 5)
            check("tui: SIGTERM leaves with status 0", pid and "EXIT=0" in s, s[-300:])
            check("tui: SIGTERM leaves nothing attached", not left_attached(),
                  f"{left_attached()}")
        finally:
            tm.kill()

    t = Target("demo")
    tm = Tmux(["top", "-p", str(t.pid)], 100, 30)
    try:
        tm.wait_for(lambda s: "demo::reconcile_accounts" in s)
        t.kill()
        s = tm.wait_for(lambda s: "EXIT=" in s, 6)
        check("tui: target exit leaves the TUI, says so, status 0",
              f"PID {t.pid} exited" in s and "EXIT=0" in s, s[-300:])
        check("tui: nothing attached after the target exits", not left_attached(),
              f"{left_attached()}")
    finally:
        tm.kill()
        t.kill()


def test_tui_mono_system_wide():
    """No colours (vt100), no UTF-8 (C locale), every process: still readable."""
    with Target("demo") as t:
        tm = Tmux(["top"], 140, 40, env="TERM=vt100 LANG=C LC_ALL=C")
        try:
            def mine(s):
                return [x for x in s.splitlines() if re.match(rf"\s*{t.pid}\s", x)]
            s = tm.wait_for(lambda s: any(x.rstrip().endswith("demo::reconcile_accounts") and
                                          "! deadlock" in x for x in mine(s)))
            check("mono: system-wide rows of the demo, flagged with ascii '!'",
                  any(x.rstrip().endswith("demo::reconcile_accounts") and "! deadlock" in x
                      for x in mine(s)), s)
            check("mono: no UTF-8 on the screen", all(ord(c) < 128 for c in s), "")
            row = next((x for x in tm.screen(escapes=True).split("\n")
                        if "demo::reconcile_accounts" in x and str(t.pid) in x), "")
            a = attrs_at(tm.screen(escapes=True), re.sub(r"\x1b\[[0-9;]*m", "", row)[:60])
            check("mono: stalled row bold or reverse, no colour",
                  (a.get("bold") or a.get("reverse")) and a.get("fg", 39) == 39, f"{a}")
            tm.send("p")
            s = tm.screen()
            check("mono: p lists the processes", "RUNTIME" in s and
                  re.search(rf"^\s*{t.pid} demo\s+tokio 1\.24\.2", s, re.M) is not None, s)
            tm.send("Escape", "q")
            s = tm.wait_for(lambda s: "EXIT=" in s, 5)
            check("mono: q quits with status 0", "EXIT=0" in s, s[-300:])
        finally:
            tm.kill()
    check("mono: nothing left attached", not left_attached(), f"{left_attached()}")


def test_errors():
    r = run(["top", "-p", "999999", "--batch", "-n", "1"])
    check("error: no such pid", r.returncode == 2 and "no process with PID 999999" in r.stderr
          and r.stderr.count("\n") == 1, f"{r.returncode} {r.stderr!r}")

    sl = subprocess.Popen(["sleep", "100"])
    try:
        r = run(["top", "-p", str(sl.pid), "--batch", "-n", "1"])
        check("error: non-tokio process", r.returncode == 2 and
              "no supported async runtime" in r.stderr and r.stderr.count("\n") == 1,
              f"{r.returncode} {r.stderr!r}")
    finally:
        sl.kill()
        sl.wait()

    r = run(["top", "--batch", "-n", "1"], user="65534")
    check("error: not root", r.returncode == 2 and "must run as root" in r.stderr and
          r.stderr.count("\n") == 1, f"{r.returncode} {r.stderr!r}")
    r = run(["top", "-i", "0"])
    check("error: bad interval", r.returncode == 2 and "invalid interval" in r.stderr,
          f"{r.returncode} {r.stderr!r}")

    with Target("demo") as t:
        r = run(["top", "-p", str(t.pid)])
        check("error: no terminal without --batch", r.returncode == 2 and
              "needs a terminal" in r.stderr, f"{r.returncode} {r.stderr!r}")

        p = subprocess.Popen([TASKSCOPE, "top", "-p", str(t.pid), "--batch"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        p.send_signal(signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        check("batch: SIGTERM ends it with status 0", p.returncode == 0 and frames(out),
              f"{p.returncode} {err!r}")
        check("batch: nothing attached after SIGTERM", not left_attached(),
              f"{left_attached()}")

    t = Target("demo")
    try:
        p = subprocess.Popen([TASKSCOPE, "top", "-p", str(t.pid), "--batch", "-n", "20"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        t.kill()
        out, err = p.communicate(timeout=10)
        check("batch: target exit ends top: 'PID N exited', status 0",
              p.returncode == 0 and f"PID {t.pid} exited" in err and err.count("\n") == 1,
              f"{p.returncode} {err!r}")
    finally:
        t.kill()
    check("batch: nothing attached after the target exits", not left_attached(),
          f"{left_attached()}")


if __name__ == "__main__":
    for fn in (test_batch, test_system_wide, test_tui, test_tui_sort, test_tui_exits,
               test_tui_mono_system_wide, test_errors):
        try:
            fn()
        except Exception as e:  # a crashed test is a failed test, and the rest still run
            check(f"{fn.__name__}: ran without exception", False, repr(e))
    finish()
