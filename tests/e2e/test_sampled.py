"""taskscope report --mode sampled against the targets the precise mode is tested on.

Sampled mode attaches nothing to the target's code but during short bursts:
tasks and states come from memory, the running task of each thread from a
cpu-clock sample of tokio's thread-local, polls and wakes from the bursts.
Each scenario expects the findings the precise mode makes on the same
target (test_report.py, test_usdt_runtime.py); on the healthy one, no
uprobe stays attached between bursts.
"""
import json
import os
import re
import subprocess
import time

from collections import Counter

from tslib import (CRUNTIME, TASKSCOPE, Scenario, assert_findings, deadlock, finding_key,
                   messages, prog_holders, stalls, tasks_named, the_task, wait_exit)

SAMPLED = ("--mode", "sampled")
SAMPLE_PROGS = ("sample_cpu", "sample_switch")


def link_fds(pid):
    """(link_type, target pid) of every BPF link fd pid holds; perf event fds
    (libbpf attaches the sampler to them with an ioctl) as ("perf_event", 0)."""
    out = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target == "anon_inode:[perf_event]":
                out.append(("perf_event", 0))
                continue
            if target != "anon_inode:bpf_link":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = f.read()
        except OSError:
            continue
        kind = re.search(r"^link_type:\s*(\S+)", info, re.M)
        target = re.search(r"^pid:\s*(\d+)", info, re.M)
        out.append((kind.group(1) if kind else "?", int(target.group(1)) if target else 0))
    return out


def watch_links(proc, target_pid, every=0.005):
    """Looks at taskscope's links every 5 ms until it exits: (looks, looks
    with a uprobe_multi link on the target, fewest perf events seen while
    it sampled). The sampler opens and closes its per-CPU events one after
    the other: looks before all are open, and in the last 300 ms before the
    exit (closing down), are not counted."""
    want = online_cpus()
    seen = []       # (time, perf events, uprobe on the target)
    deadline = time.time() + 10  # past the start: BPF loads, first memory scan
    while proc.poll() is None and time.time() < deadline and \
            sum(1 for k, _ in link_fds(proc.pid) if k == "perf_event") < want:
        time.sleep(every)
    while proc.poll() is None:
        links = link_fds(proc.pid)
        nperf = sum(1 for k, _ in links if k == "perf_event")
        if not nperf:
            break  # closing down
        seen.append((time.time(), nperf,
                     any(k == "uprobe_multi" and p == target_pid for k, p in links)))
        time.sleep(every)
    end = time.time()
    kept = [x for x in seen if x[1] == want or x[0] < end - 0.3]
    fewest = min((x[1] for x in kept), default=None)
    return len(kept), sum(1 for x in kept if x[2]), fewest


def online_cpus():
    n = 0
    with open("/sys/devices/system/cpu/online") as f:
        for part in f.read().strip().split(","):
            a, _, b = part.partition("-")
            n += int(b or a) - int(a) + 1
    return n


def sampled_left_behind(settle=3.0):
    """sample_cpu / sample_switch programs nobody holds any more."""
    deadline = time.time() + settle
    while True:
        out = subprocess.run(["bpftool", "-j", "prog", "list"], capture_output=True,
                             text=True).stdout
        held = prog_holders()
        left = [p for p in json.loads(out or "[]")
                if p.get("name") in SAMPLE_PROGS and not held.get(p["id"])]
        if not left or time.time() >= deadline:
            return [f"{p['id']} {p['name']}" for p in left]
        time.sleep(0.1)


class SampledScenario(Scenario):
    extra = SAMPLED

    def test_mode(self, observed):
        assert observed.data["mode"] == "sampled" and "sampled" in observed.data, \
            f"expected mode sampled with its sampled{{}} object, taskscope printed mode " \
            f"{observed.data['mode']}"


def test_healthy_no_finding_no_uprobe_between_bursts(spawn, popen):
    """No finding, and the uprobe_multi links on the target only during
    bursts (10 ms a second, plus the links' teardown), looked at every 5 ms
    in taskscope's fdinfo; the cpu-clock events all along; nothing left."""
    t = spawn("healthy")
    p = popen([TASKSCOPE, "report", "-p", t.pid, "-d", "3", "--json", *SAMPLED])
    looks, with_uprobe, fewest_perf = watch_links(p, t.pid)
    code, out, err = wait_exit(p, 30)
    data = json.loads(out)
    assert_findings(code, data, [])
    assert data["sampled"]["tls_layout"] == "DWARF" and data["sampled"]["bursts"] >= 2, \
        f"expected the thread-local from DWARF and >= 2 bursts, got {data['sampled']}"
    names = {x["name"] for x in data["tasks"]}
    want = {"healthy::pinger", "healthy::ponger", "healthy::ticker", "healthy::aggregator"}
    assert want <= names, f"expected task types {sorted(want)}, taskscope named {sorted(names)}"
    # a quiet process: after the first 10 ms burst, each is sized up to 80 ms
    # (its traps stay far below 0.5 % of a CPU)
    s = data["sampled"]
    assert s["burst_sized"] and 0.03 <= s["burst_s"] <= 0.085, \
        f"expected bursts sized up to 80 ms on a quiet process, got {s['burst_s']} s"
    # the 4 tickers sleep 5, 6, 7, 8 ms (+ ~1 ms timer rounding): ~550 polls/s
    # together, ~1650 in 3 s (--mode default counts 1660-1670); estimated
    # from ~170 ms of bursts, some 100 polls seen: +-25 %
    tick = tasks_named(data, "healthy::ticker")
    total = sum(x["polls"] for x in tick)
    assert len(tick) == 4 and 1240 <= total <= 2070, \
        f"expected 4 tickers polled ~1650 times in all (estimated), got {total}: " \
        f"{[x['polls'] for x in tick]}"
    assert looks >= 100 and 0 < with_uprobe <= 0.15 * looks, \
        f"expected a uprobe_multi link on the target in some looks, at most 15 %: " \
        f"{with_uprobe} of {looks}"
    assert fewest_perf == online_cpus(), \
        f"expected one cpu-clock perf event per online CPU all along, fewest seen " \
        f"{fewest_perf} of {online_cpus()}"
    left = sampled_left_behind()
    assert not left, f"expected no sampling program left after exit, found {left}"


class TestSampledDeadlock(SampledScenario):
    target = "deadlock"
    settle = 0.5
    findings = [deadlock("deadlock::lock_ab", "deadlock::lock_ba"),
                ("idle", "deadlock::lock_ab"), ("idle", "deadlock::lock_ba")]

    def test_cycle(self, observed):
        d = stalls(observed.data, "deadlock")
        assert len(d) == 1 and d[0]["count"] == 2, \
            f"expected one cycle of two tasks: {messages(observed.data)}"
        m = d[0]["message"]
        # written as the cycle: each task at its .await, then the mutex it waits for
        assert re.search(r"deadlock::lock_ab at src/main\.rs:12 \u2192 Mutex<u64> 0x[0-9a-f]+ "
                         r"\u2192 task \d+ deadlock::lock_ba at src/main\.rs:20 \u2192 "
                         r"Mutex<u64> 0x[0-9a-f]+ \u2192 task \d+ deadlock::lock_ab", m), \
            f"expected both await lines (main.rs:12, main.rs:20) in the cycle, got {m!r}"


class TestSampledBlocked(SampledScenario):
    target = "blocked"
    duration = 3
    findings = [("blocked_worker", "blocked::blocking_handler")]
    # the precise mode also finds the ticker starved (woken, not polled during
    # the 1.5 s sleep); sampled mode sees it only when two memory snapshots
    # fall inside one sleep and both show NOTIFIED
    maybe = [("starved", "blocked::ticker")]

    def test_exact_findings(self, observed):
        got = Counter(map(finding_key, observed.data["stalls"]))
        for k in self.maybe:
            got.pop(k, None)
        assert got == Counter(self.findings), \
            f"expected {self.findings} (and maybe {self.maybe}), taskscope reported " \
            f"{messages(observed.data)}"
        assert observed.code == 1, f"expected exit 1, taskscope exited {observed.code}"

    def test_blocking_poll(self, observed):
        s = stalls(observed.data, "blocked_worker", "blocked::blocking_handler")[0]
        assert s["duration_s"] >= 1.4 and s["offcpu_s"] >= 0.8 * min(s["duration_s"], 1.5), \
            f"expected a poll >= 1.4 s, mostly off-CPU; taskscope measured " \
            f"{s['duration_s']} s, {s['offcpu_s']} s off-CPU"

    def test_busy_is_the_offcpu_poll(self, observed):
        bh = the_task(observed.data, "blocked::blocking_handler")
        assert bh["busy_s"] >= 1.0 and bh["offcpu_in_polls_s"] >= 1.0, \
            f"expected >= 1 s busy, off the CPU inside its poll, taskscope printed {bh}"


class TestSampledParked(SampledScenario):
    target = "parked"
    findings = [("idle", "parked::wait_forever")] * 3 + [("idle", "parked::wait_for_signal")]

    def test_idle_since_before_attach(self, observed):
        idle = stalls(observed.data, "idle")
        assert all(s["at_least"] and s["duration_s"] >= 1.9 for s in idle), \
            f"expected every task idle >= the 2 s window, since before attach: {idle}"

    def test_await_lines(self, observed):
        idle = messages(observed.data)
        assert sum("at src/main.rs:9" in m for m in idle) == 3 and \
            sum("at src/main.rs:14" in m for m in idle) == 1, \
            f"expected the .await lines main.rs:9 (x3) and main.rs:14: {idle}"


class TestSampledSpinner(SampledScenario):
    target = "spinner"
    findings = [("spinning", "spinner::spin_loop")]

    def test_seen_on_cpu(self, observed):
        sl = the_task(observed.data, "spinner::spin_loop")
        assert sl["cpu_samples"] > 0, f"expected spin_loop in the CPU samples, got {sl}"


def test_calibrated_field_is_dwarfs(spawn):
    """Without DWARF for the field (forced), calibration finds the word whose
    values are task ids: the same place DWARF gives. spin_loop keeps a worker
    on the CPU, so samples come at once."""
    t = spawn("spinner")
    env = dict(os.environ, TASKSCOPE_SAMPLED_CALIBRATE="1")
    r = subprocess.run([TASKSCOPE, "report", "-p", str(t.pid), "-d", "1.5", "--json", *SAMPLED],
                       capture_output=True, text=True, timeout=60, env=env)
    data = json.loads(r.stdout)
    s = data["sampled"]
    assert s["tls_layout"] == "calibrated" and \
        s["tls_field"] == "+0x20 tag 8 B (None 0), id +0x28", \
        f"expected the field calibrated at +0x20/+0x28 (DWARF's), got {s}"
    assert_findings(r.returncode, data, [("spinning", "spinner::spin_loop")])


class TestSampledUsdtDeadlock(SampledScenario):
    """A USDT runtime replays its state only to a tracer that stays: its
    probes stay attached in sampled mode, and it is found as in default."""
    target = "c_deadlock"
    path = os.path.join(CRUNTIME, "c_deadlock")
    settle = 0.5
    findings = [deadlock("transfer_ab", "transfer_ba"),
                ("idle", "transfer_ab"), ("idle", "transfer_ba")]

    def test_probes_stay(self, observed):
        assert observed.data["sampled"]["probes_attached"] and \
            observed.data["probe_sites"] > 0, \
            f"expected the USDT probes attached all along, got {observed.data['sampled']}"
