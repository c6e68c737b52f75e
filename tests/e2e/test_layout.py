"""The runtime descriptor is checked against the live process at the first
memory scan (user/runtime/layout_check.c): the task vtables as mapped, the
Ids read back, the owned-task lists walked with every back link. When the
check refutes the layout, the report says so in one line and leaves memory
discovery off, so that nothing read with a wrong layout is printed: tasks
come from the probes alone.

Every tokio release we know shares one layout (test_releases.py asserts it
confirmed on each), so a refuted layout is provoked with the test hook
TASKSCOPE_TEST_LAYOUT_FAULT=owned-links: the check reads the owned-list
links 8 bytes off, as a release that moved them would.
"""
import pytest

from tslib import report, run

FAULT = {"TASKSCOPE_TEST_LAYOUT_FAULT": "owned-links"}


def test_confirmed_by_default(spawn):
    t = spawn("parked")
    code, data, _ = report(t.pid, 1)
    layout = data["layout"]
    assert layout["checked"] and layout["confirmed"] and layout["memory_discovery"], layout
    assert "owned list" in layout["verdict"] and "Ids read back" in layout["verdict"], layout
    spawned = [x for x in data["tasks"] if not x.get("root_thread")]
    assert len(spawned) == 4, f"expected the 4 parked tasks from memory, got {len(spawned)}"


@pytest.mark.parametrize("mode", ["default", "sampled"])
def test_refuted_parked_lists_nothing_from_memory(spawn, mode):
    """parked: every task waits since before attach, none polls. With the
    layout refuted none of them may be shown (their states would be read
    with the wrong layout), and none flagged."""
    t = spawn("parked")
    code, data, _ = report(t.pid, 1, ("--mode", mode), env=FAULT)
    layout = data["layout"]
    assert layout["checked"] and not layout["confirmed"] and not layout["memory_discovery"], \
        f"expected the layout refuted and memory discovery off, got {layout}"
    assert "owned-task list" in layout["verdict"] and "breaks" in layout["verdict"], layout
    spawned = [(x["id"], x["name"]) for x in data["tasks"] if not x.get("root_thread")]
    assert not spawned, f"expected no task from memory, taskscope listed {spawned}"
    assert not data["stalls"], f"expected no finding, got {[s['message'] for s in data['stalls']]}"
    assert code == 0


def test_refuted_healthy_keeps_what_probes_see(spawn):
    """healthy: its tasks poll; the probes still count them exactly, with
    no state taken from memory and no idle time claimed since attach."""
    t = spawn("healthy")
    code, data, _ = report(t.pid, 1.5, env=FAULT)
    assert not data["layout"]["memory_discovery"], data["layout"]
    names = sorted(x["name"] for x in data["tasks"] if not x.get("root_thread"))
    assert "healthy::pinger" in names and "healthy::ponger" in names, names
    polled = [x for x in data["tasks"] if not x.get("root_thread")]
    assert all(x["polls"] > 0 for x in polled), \
        f"expected only tasks the probes saw poll, got {[(x['name'], x['polls']) for x in polled]}"
    assert not [x["name"] for x in polled if x.get("since_attach")], \
        "expected no task idle 'since attach' (that comes from memory)"
    assert not data["stalls"], [s["message"] for s in data["stalls"]]


def test_refuted_text_says_it_in_one_line(spawn):
    t = spawn("parked")
    r = run(["report", "-p", t.pid, "-d", "0.5"], env=FAULT)
    lines = [l for l in r.stdout.splitlines() if l.startswith("layout: ")]
    assert len(lines) == 1 and "tokio 1.24 descriptor not confirmed" in lines[0] and \
        "memory discovery off" in lines[0], f"expected one layout line, got {lines}"
    assert r.returncode == 0


def test_refuted_top_title(spawn):
    t = spawn("parked")
    r = run(["top", "-p", t.pid, "--batch", "-n", "2", "-i", "0.5", "--mode", "default"],
            env=FAULT)
    title = r.stdout.splitlines()[0] if r.stdout else ""
    assert "LAYOUT NOT CONFIRMED" in title, f"expected the title to say so, got {title!r}"
    r = run(["top", "-p", t.pid, "--batch", "-n", "1", "-i", "0.5", "--mode", "default"])
    assert "LAYOUT" not in r.stdout, "a confirmed layout says nothing"
