"""What taskscope guarantees its target, checked on a loaded HTTP server (bench_http):
attach/detach in a loop and SIGKILL of taskscope mid-window cost it no
request, leave its code byte-identical to its file (an installed uprobe
reads as 0xcc through /proc/PID/mem), and leave no BPF program behind.
The code check is shown able to fail: while a report is attached the
bytes differ."""
import os
import re
import signal
import subprocess
import time

import pytest

from tslib import TASKSCOPE, TARGETS, assert_nothing_left, run, wait_exit

CYCLES = 30


@pytest.fixture
def server():
    # bench_http (tests/targets, built by `make targets`): the same server
    # shape as the bench's hyper one, which only `make bench` builds
    path = os.path.join(TARGETS, "bench_http")
    p = subprocess.Popen([path, "0", "900"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    port = pid = None
    for line in p.stdout:
        if line.startswith("listening"):
            port = int(line.split(":")[-1])
        if line.startswith("ready"):
            pid = int(line.split()[1])
            break
    assert port and pid, "bench_hyper did not start"
    yield p, port, pid
    alive = p.poll() is None
    p.kill()
    p.wait()
    assert alive, f"the server died during the test: status {p.returncode}"


def code_mapping(pid):
    """(start, end, file offset, path) of the executable's r-x mapping."""
    exe = os.readlink(f"/proc/{pid}/exe")
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r-xp ([0-9a-f]+) \S+ \S+\s+(.*)$", line)
            if m and m.group(4) == exe:
                return int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16), exe
    raise AssertionError(f"no r-x mapping of {exe} in PID {pid}")


def code_differs(pid):
    """Offsets where the process's code differs from its file."""
    start, end, off, exe = code_mapping(pid)
    with open(f"/proc/{pid}/mem", "rb") as mem:
        mem.seek(start)
        live = mem.read(end - start)
    with open(exe, "rb") as f:
        f.seek(off)
        disk = f.read(end - start)
    n = min(len(live), len(disk))
    return [i for i in range(0, n, 1) if live[i] != disk[i]][:20] if live[:n] != disk[:n] else []


def start_wrk(port, secs):
    return subprocess.Popen(["wrk", "-t2", "-c16", f"-d{secs}s", f"http://127.0.0.1:{port}/"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wrk_errors(p, secs):
    out, err = p.communicate(timeout=secs + 60)
    assert p.returncode == 0, f"wrk failed: {err[-300:]}"
    nreq = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.findall(r"Socket errors: .*|Non-2xx or 3xx responses: \d+", out)
    return nreq, errors


def test_attach_detach_loop_under_load(server):
    p, port, pid = server
    assert code_differs(pid) == [], "the code differs from its file before any attach"
    secs = 40
    load = start_wrk(port, secs)
    time.sleep(1)
    # positive control: attached, the probe sites read 0xcc
    obs = subprocess.Popen([TASKSCOPE, "report", "-p", str(pid), "-d", "3"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    attached = code_differs(pid)
    wait_exit(obs, 30)
    assert attached, "no uprobe visible in the code while attached: the check cannot fail"
    failures = []
    for i in range(CYCLES):
        mode = ("default", "light", "sampled")[i % 3]
        r = run(["report", "-p", pid, "-d", "0.2", "--json", "--mode", mode], timeout=60)
        if r.returncode not in (0, 1):
            failures.append(f"cycle {i} ({mode}): exit {r.returncode} {r.stderr[-200:]!r}")
    nreq, errors = wrk_errors(load, secs)
    assert not failures, failures
    assert nreq > 0 and not errors, f"{nreq} requests, errors: {errors}"
    assert_nothing_left(f"{CYCLES} attach/detach cycles")
    assert code_differs(pid) == [], "the code still differs from its file after detach"


def test_sigkill_mid_window_leaves_nothing(server):
    p, port, pid = server
    secs = 15
    load = start_wrk(port, secs)
    for mode in ("default", "sampled", "full"):
        obs = subprocess.Popen([TASKSCOPE, "report", "-p", str(pid), "-d", "5", "--mode", mode],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.2)
        obs.send_signal(signal.SIGKILL)
        obs.wait()
    nreq, errors = wrk_errors(load, secs)
    assert nreq > 0 and not errors, f"{nreq} requests, errors: {errors}"
    assert_nothing_left("SIGKILL of taskscope mid-window")
    # the kernel removes the uprobes as the killed process's links close
    deadline = time.time() + 5
    while code_differs(pid) and time.time() < deadline:
        time.sleep(0.2)
    assert code_differs(pid) == [], "uprobes left in the code after SIGKILL"
