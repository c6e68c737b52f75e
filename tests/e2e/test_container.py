"""A target in its own mount and PID namespaces (as in a container): its
binary exists only inside (a private tmpfs), its PID there is 1. taskscope
on the host reads the binary through /proc/PID/exe, attaches, and shows
both PIDs; the findings are exactly the ones the same program gives
outside."""
import json
import os
import select
import signal
import subprocess
import time

import pytest

from tslib import TARGETS, assert_findings, deadlock, run

INSIDE = "/mnt/taskscope-ct/app"
SCRIPT = f"""
set -e
mkdir -p /mnt/taskscope-ct
mount -t tmpfs tmpfs /mnt/taskscope-ct
cp "$1" {INSIDE}
exec {INSIDE}
"""


def start_contained(name):
    """Target name as PID 1 of new mount and PID namespaces, its binary
    only inside; returns (the unshare process, the target's host PID)."""
    target = os.path.join(TARGETS, name)
    p = subprocess.Popen(["unshare", "--mount", "--pid", "--fork", "--propagation", "private",
                          "sh", "-c", SCRIPT, "sh", target],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    ready, _, _ = select.select([p.stdout], [], [], 30)
    line = p.stdout.readline() if ready else ""
    assert line.startswith("ready 1"), \
        f"expected 'ready 1' from PID 1 of the new namespace, got {line!r} {p.stderr.read()[-300:] if p.poll() is not None else ''}"
    host_pid = None
    deadline = time.time() + 5
    while host_pid is None and time.time() < deadline:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{pid}/exe") == INSIDE and \
                        os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid"):
                    host_pid = int(pid)
            except OSError:
                pass
        time.sleep(0.05)
    assert host_pid, "the contained target is not visible from the host"
    assert not os.path.exists(INSIDE), "the binary must exist only inside the namespace"
    time.sleep(0.5)
    return p, host_pid


@pytest.fixture(scope="module")
def contained():
    p, host_pid = start_contained("deadlock")
    yield host_pid
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()


def ns_tids(pid):
    """{host TID: TID inside} for every thread of pid, from NSpid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    out[int(tid)] = int(line.split()[-1])
    return out


@pytest.mark.parametrize("mode", ["default", "sampled"])
def test_blocked_worker_both_tids(mode):
    """A worker blocked in a container: the finding names its thread as the
    host sees it and as the container does (what `ps -T` inside shows)."""
    p, pid = start_contained("blocked")
    try:
        r = run(["report", "-p", pid, "-d", "2", "--json", "--mode", mode], timeout=60)
        data = json.loads(r.stdout)
        tids = ns_tids(pid)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    blocked = [s for s in data["stalls"] if s["kind"] == "blocked_worker"]
    assert [s["name"] for s in blocked] == ["blocked::blocking_handler"], \
        f"expected one blocked_worker finding, taskscope reported {[(s['kind'], s['name']) for s in data['stalls']]}"
    f = blocked[0]
    assert f["tid"] in tids and f.get("ns_tid") == tids[f["tid"]] != f["tid"], \
        f"expected thread {f['tid']} and its TID inside {tids.get(f['tid'])}, got ns_tid {f.get('ns_tid')}"
    assert f"thread {f['tid']} ({tids[f['tid']]} in its PID namespace)" in f["message"], f["message"]
    assert data["workers"], "expected the workers listed"
    for w in data["workers"]:
        assert w.get("ns_tid") == tids[w["tid"]], \
            f"worker {w['tid']}: expected ns_tid {tids[w['tid']]}, got {w.get('ns_tid')}"


@pytest.mark.parametrize("mode", ["default", "sampled"])
def test_report_through_proc_root(contained, mode):
    r = run(["report", "-p", contained, "-d", "1.5", "--json", "--mode", mode], timeout=60)
    data = json.loads(r.stdout)
    assert data["pid"] == contained and data.get("ns_pid") == 1, \
        f"pid {data['pid']} ns_pid {data.get('ns_pid')}"
    assert data["exe"] == INSIDE, data["exe"]
    assert_findings(r.returncode, data, [deadlock("deadlock::lock_ab", "deadlock::lock_ba"),
                                         ("idle", "deadlock::lock_ab"),
                                         ("idle", "deadlock::lock_ba")])


def test_text_shows_both_pids(contained):
    r = run(["report", "-p", contained, "-d", "0.5"], timeout=60)
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"PID {contained} (app; PID 1 in its own PID namespace) {INSIDE}"), first


def test_same_namespace_says_nothing_more(spawn):
    t = spawn("quiet")
    r = run(["report", "-p", t.pid, "-d", "0.5", "--json"], timeout=60)
    data = json.loads(r.stdout)
    assert "ns_pid" not in data, data.get("ns_pid")
    assert not [w for w in data["workers"] if "ns_tid" in w], data["workers"]
    assert_findings(r.returncode, data, [])
