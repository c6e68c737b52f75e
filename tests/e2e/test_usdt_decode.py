"""Every probe of usdt/taskscope.h, fired once with known values, decoded by
taskscope's BPF side and read back from `taskscope report --json`."""
import json
import os
import subprocess

import pytest

from tslib import ROOT, Target, assert_findings, run

BUILD = os.path.join(ROOT, "build", "tests")
SRC = os.path.join(ROOT, "tests", "e2e", "progs", "usdt_decode.c")
EXE = os.path.join(BUILD, "usdt_decode")
DONE, PARKED = 0xfeedface00000001, 0x8000000000000042
CHAN, LOCK = 0x7f00dead0000beef, 0x1234


@pytest.fixture(scope="module")
def decoded():
    """usdt_decode built and observed once: (exit code, report JSON, tasks by
    id, resources by id)."""
    os.makedirs(BUILD, exist_ok=True)
    r = subprocess.run(["cc", "-O2", "-g", "-Wall", "-Werror", "-I", os.path.join(ROOT, "usdt"),
                        SRC, "-o", EXE], capture_output=True, text=True)
    assert r.returncode == 0, f"expected usdt_decode.c to build, cc said {r.stderr[-400:]!r}"
    t = Target("usdt_decode", path=EXE, settle=0)
    try:
        r = run(["report", "-p", t.pid, "-d", "2", "--json", "--all"])
        try:
            data = json.loads(r.stdout)
        except ValueError:
            raise AssertionError(f"expected a JSON report, got exit {r.returncode} "
                                 f"{r.stderr!r} {r.stdout[:300]!r}") from None
        yield r.returncode, data, {x["id"]: x for x in data["tasks"]}, \
            {x["id"]: x for x in data.get("resources", [])}
        gone = t.ended_by_itself()
        assert gone is None, gone
    finally:
        t.kill()


def test_exact_findings(decoded):
    code, data, _, _ = decoded
    assert_findings(code, data, [("idle", "parked \u03bb")])


def test_task_spawn_ids_64_bit(decoded):
    _, _, tasks, _ = decoded
    assert DONE in tasks and PARKED in tasks, \
        f"expected task ids {DONE:#x} and {PARKED:#x}, taskscope read {[hex(i) for i in tasks]}"


def test_finished_task(decoded):
    _, _, tasks, _ = decoded
    fin = tasks.get(DONE)
    assert fin, f"expected task {DONE:#x}"
    assert fin["name"] == "finisher" and fin["location"] == "usdt_decode.c:37", \
        f"expected task_spawn's name and location, got {fin}"
    assert fin["polls"] == 2, f"expected poll_start/poll_end counted twice, got {fin}"
    assert fin["wakes"] == 1, f"expected one wake, got {fin}"
    assert fin["state"] == "done", f"expected poll_end ready + task_drop to make it done: {fin}"


def test_parked_task(decoded):
    _, _, tasks, _ = decoded
    parked = tasks.get(PARKED)
    assert parked, f"expected task {PARKED:#x}"
    assert parked["name"] == "parked \u03bb", f"expected the UTF-8 name read, got {parked}"
    assert parked.get("waiting_on") == CHAN and parked["state"] == "idle", \
        f"expected wait_begin after wait_end to leave it waiting on {CHAN:#x}: {parked}"


def test_resources(decoded):
    _, _, _, res = decoded
    ch, lk = res.get(CHAN), res.get(LOCK)
    assert ch and ch["kind"] == "channel" and ch["name"] == "jobs" and ch["capacity"] == 64, \
        f"expected resource_new of channel jobs, capacity 64: {ch}"
    assert ch["len"] == 0x100000003, f"expected channel_len to keep 64 bits: {ch}"
    assert ch["waiters"] == 1, f"expected wait_begin/wait_end to leave one waiter: {ch}"
    assert lk and lk["kind"] == "mutex" and lk["name"] == "state_lock" and \
        lk["holder"] == DONE, f"expected acquire/release to leave {DONE:#x} holding: {lk}"


def test_stall_names_channel(decoded):
    _, data, _, _ = decoded
    idle = [s for s in data["stalls"] if s["kind"] == "idle"]
    assert idle and 'channel "jobs" (4294967299 of 64 queued)' in idle[0]["message"], \
        f"expected the parked task's stall to name the channel, got {idle}"
