"""taskscope profile (issue 14): wait and busy time per await point, on
tests/targets/tokio/profiled.

The target's clients loop over requests: a 50 ms sleep (`// profile: slow`)
then a oneshot the cache task answers at once (`// profile: fast`); three
lockers take one tokio Mutex (`// profile: lock`) and hold it across a 20 ms
sleep (`// profile: held`). The lines are found by their markers, and
taskscope must name exactly those lines, with the right means and kinds.
"""
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from tslib import ROOT, TARGETS, Target, assert_nothing_left, run

SOURCE = os.path.join(ROOT, "tests", "targets", "tokio", "profiled", "src", "main.rs")
DURATION = 3


def marked(tag):
    """The line number carrying `// profile: TAG`."""
    lines = [i + 1 for i, l in enumerate(open(SOURCE).read().splitlines())
             if l.rstrip().endswith(f"// profile: {tag}")]
    assert len(lines) == 1, f"expected one line marked '// profile: {tag}' in {SOURCE}"
    return lines[0]


SLOW, FAST, LOCK, HELD, RECV = (marked(t) for t in ("slow", "fast", "lock", "held",
                                                    "cache recv"))


class Profiled:
    def __init__(self, target, data, folded, svg_path):
        self.target, self.data, self.folded, self.svg_path = target, data, folded, svg_path


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    t = Target("profiled")
    try:
        r = run(["profile", "-p", t.pid, "-d", DURATION, "--json"], timeout=DURATION + 60)
        assert r.returncode == 0, f"profile exited {r.returncode}: {r.stderr.strip()!r}"
        data = json.loads(r.stdout)
        svg = tmp_path_factory.mktemp("profile") / "where.svg"
        r = run(["profile", "-p", t.pid, "-d", 2, "--folded", "--svg", svg], timeout=60)
        assert r.returncode == 0, f"profile --folded exited {r.returncode}: {r.stderr!r}"
        yield Profiled(t, data, r.stdout, svg)
        gone = t.ended_by_itself()
        assert gone is None, gone
    finally:
        t.kill()


def point(data, line):
    found = [p for p in data["await_points"] if p["line"] == line and not p["first_poll"]]
    assert len(found) == 1, f"expected one await point at src/main.rs:{line}, got " \
                            f"{[(p['file'], p['line']) for p in data['await_points']]}"
    return found[0]


def test_dwarf_attribution(profiled):
    d = profiled.data
    assert d["dwarf"] is True and d["note"] == "", d["note"]
    assert d["polls"] > 100, f"expected hundreds of profiled polls in {DURATION} s: {d['polls']}"


def test_slow_line_ranked_first_with_its_mean(profiled):
    top = profiled.data["await_points"][0]
    assert (top["file"], top["line"], top["function"]) == \
        ("src/main.rs", SLOW, "profiled::slow_backend"), top
    assert top["awaits"] == "timer", top
    # 4 clients, one 50 ms sleep each per request (timer wheel: + up to ~2 ms)
    assert top["waits"] >= 4 * DURATION * 10, top
    assert 49_000 <= top["wait_mean_us"] <= 60_000, f"mean {top['wait_mean_us']} us: {top}"
    assert top["wait_p50_us"] >= 32_768 and top["wait_p99_us"] <= top["wait_max_us"], top
    assert top["busy_us"] > 0 and top["polls"] >= top["waits"], top
    # the timer fires, then the task waits in the run queue: a small part of 50 ms
    assert 0 < top["queued_mean_us"] < top["wait_mean_us"] / 2, top


def test_fast_line_small_mean(profiled):
    fast = point(profiled.data, FAST)
    assert fast["function"] == "profiled::fast_cache" and fast["awaits"] == "oneshot", fast
    assert fast["waits"] >= 4 * DURATION * 10, fast
    assert fast["wait_mean_us"] < 5_000, f"the fast await waited {fast['wait_mean_us']} us"
    assert fast["queued_mean_us"] <= fast["wait_mean_us"], fast
    ranks = [p["line"] for p in profiled.data["await_points"]]
    assert ranks.index(SLOW) < ranks.index(FAST), ranks


def test_what_is_awaited(profiled):
    d = profiled.data
    kinds = {line: point(d, line)["awaits"] for line in (SLOW, FAST, LOCK, HELD, RECV)}
    assert kinds == {SLOW: "timer", FAST: "oneshot", LOCK: "mutex", HELD: "timer",
                     RECV: "channel recv"}, kinds
    lock = point(d, LOCK)
    # two of three lockers wait while one holds it 20 ms: ~40 ms a wait
    assert 25_000 <= lock["wait_mean_us"] <= 60_000, lock


def test_only_the_programs_own_lines(profiled):
    """No tokio-internal line stands for an await point, and nothing but
    the target's tasks appears (they all started before the attach: no
    first polls)."""
    pts = profiled.data["await_points"]
    got = sorted((p["file"], p["line"]) for p in pts)
    want = sorted(("src/main.rs", l) for l in (SLOW, FAST, LOCK, HELD, RECV))
    assert got == want, f"expected exactly the marked lines, got {got}"
    assert not any(p["external"] for p in pts), pts
    futures = {p["future"] for p in pts}
    assert futures <= {"profiled::client", "profiled::cache", "profiled::locker"}, futures


def test_contended_mutex(profiled):
    c = profiled.data["contention"]
    assert len(c) == 1, f"expected the one contended Mutex, got {c}"
    m = c[0]
    assert (m["kind"], m["type"]) == ("mutex", "Mutex<u64>"), f"kind/type: {m}"
    assert profiled.data["snapshots"] >= 3 and m["seen_in"] >= 3, f"snapshots: {m}"
    assert m["waiters_max"] == 2 and m["waiters_avg"] >= 1.0, f"waiters: {m}"
    assert re.fullmatch(r"\d+(, \d+)*", m["holders"]), f"holders: {m}"
    assert re.fullmatch(r"\d+(, \d+)+", m["waiting"]), f"waiting: {m}"
    # each snapshot: one locker holds, two wait; so the three lockers, no one else
    everyone = set(m["holders"].split(", ")) | set(m["waiting"].split(", "))
    assert len(everyone) == 3, f"expected the 3 lockers holding or waiting: {m}"
    assert m["waited_at"] == f"src/main.rs:{LOCK}", f"waited at: {m}"
    # a locker waits for the other two to hold it 20 ms each (the CPUs may be shared)
    assert 30_000 <= m["longest_wait_us"] <= 500_000, f"longest wait: {m}"


def test_folded(profiled):
    lines = profiled.folded.splitlines()
    assert len(lines) >= 8, profiled.folded
    parsed = []
    for line in lines:
        m = re.fullmatch(r"(\S.*) (\d+)", line)
        assert m, f"not 'stack weight': {line!r}"
        assert int(m.group(2)) > 0, line
        parsed.append((m.group(1).split(";"), int(m.group(2))))
    waits = [(w, s) for s, w in parsed if s[-1].endswith(" wait]")]
    heaviest = max(waits)[1]
    assert heaviest[-2:] == [f"profiled::slow_backend (src/main.rs:{SLOW})", "[timer wait]"], \
        heaviest
    assert heaviest[0] == "profiled::client", heaviest
    assert any(s[-1] == "[busy]" for s, _ in parsed), lines
    assert any(s[-1] == "[mutex wait]" and "tokio::sync::mutex" in s[-2] for s, _ in parsed), \
        "the full path keeps tokio's frames under the user's line"


def test_svg(profiled):
    root = ET.parse(profiled.svg_path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg", root.tag
    rects = root.findall(f".//{ns}g/{ns}rect")
    assert len(rects) >= 8, len(rects)
    titles = [t.text for t in root.iter(f"{ns}title")]
    assert any(t.startswith(f"profiled::slow_backend (src/main.rs:{SLOW})") for t in titles), \
        titles


@pytest.mark.parametrize("args,says", [
    (["-p", "notapid"], "PID"),
    ([], "-p PID"),
    (["-p", "1", "--json", "--folded"], "pick one"),
    (["-p", "1", "-d", "0"], "duration"),
    (["-p", "1", "--bogus"], "bogus"),
    (["-p", "1", "--rows", "x"], "rows"),
    (["-p", "1", "--mode", "sampled"], "sampled"),
])
def test_bad_input(args, says):
    r = run(["profile", *args])
    assert r.returncode == 2, (args, r.returncode, r.stderr)
    if "--json" in args:
        # under --json the error is JSON on stdout, as every command does it
        assert r.stderr == "" and says in json.loads(r.stdout)["error"], (args, r.stdout)
        return
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
    assert says in r.stderr, (args, r.stderr)


def test_without_dwarf_per_future_type(tmp_path, spawn):
    """A binary without DWARF: one line says so, then per future type."""
    exe = tmp_path / "profiled"
    subprocess.run(["objcopy", "--strip-debug", os.path.join(TARGETS, "profiled"), exe],
                   check=True)
    t = spawn("profiled", path=str(exe))
    r = run(["profile", "-p", t.pid, "-d", 1])
    assert r.returncode == 0, r.stderr
    assert re.search(r"^no await points: .+; per future type instead$", r.stdout, re.M), r.stdout
    assert re.search(r"^Contention: not read \(.*need DWARF\)$", r.stdout, re.M), r.stdout
    r = run(["profile", "-p", t.pid, "-d", 1, "--json"])
    d = json.loads(r.stdout)
    assert d["dwarf"] is False and d["note"] and d["await_points"] == [], d
    assert d["contention_read"] is False and d["snapshots"] == 0, d
    polls = {f["future"]: f["polls"] for f in d["future_types"]}
    assert sum(polls.values()) > 50 and len(polls) >= 3, polls


def test_nothing_left_attached(profiled):
    assert_nothing_left("taskscope profile")


def test_deadlock_no_wait_ends(spawn):
    """Two tasks each hold the Mutex the other awaits: no poll in the window,
    so no wait ends and no await point has one; contention still shows each
    Mutex with its one waiter and its holder, the other task."""
    t = spawn("deadlock")
    r = run(["profile", "-p", t.pid, "-d", 1, "--json"])
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["polls"] == 0 and d["await_points"] == [], d
    c = sorted(d["contention"], key=lambda m: m["waited_at"])
    assert [m["kind"] for m in c] == ["mutex", "mutex"], c
    assert all(m["waiters_min"] == m["waiters_max"] == 1 for m in c), c
    assert c[0]["holders"] == c[1]["waiting"] and c[1]["holders"] == c[0]["waiting"], c
    r = run(["profile", "-p", t.pid, "-d", 0.5])
    assert "no task was polled in the window" in r.stdout, r.stdout
