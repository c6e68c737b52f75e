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


@pytest.fixture(scope="module")
def contained():
    target = os.path.join(TARGETS, "deadlock")
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
                if os.readlink(f"/proc/{pid}/exe") == INSIDE:
                    host_pid = int(pid)
            except OSError:
                pass
        time.sleep(0.05)
    assert host_pid, "the contained target is not visible from the host"
    assert not os.path.exists(INSIDE), "the binary must exist only inside the namespace"
    time.sleep(0.5)
    yield host_pid
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()


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
    assert_findings(r.returncode, data, [])
