#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""taskscope's cost on the observed process, driven by bench/run.sh.

Every workload runs unobserved and observed in one invocation, the
conditions alternating (their order rotates each round), and every figure
is the median of the rounds with its min-max. Nothing here fails on timing:
only a build, a start-up or a taskscope error makes the exit status
non-zero, after the table and the JSON are written.

Parts (see bench/README.md for what each figure means):
  probe   bare cost of one uprobe hit (bench/probe_hit.c under bpftrace)
  pingpong tokio mpsc ping-pong: ns added per poll, traps per poll
  http    HTTP/1.1 server under wrk: requests/s, p50/p99 latency
  self    taskscope's own CPU, RSS, kernel map memory, BPF run time
  attach  attach time on a binary with ~300 raw::poll instances
  sampled --mode sampled next to the precise modes (in pingpong and http),
          its estimation error against --mode default, its BPF programs'
          cost per run, and taskscope's own CPU per refresh on 20,000 tasks
"""
import json
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKSCOPE = os.path.join(ROOT, "build", "taskscope")
TARGETS = os.path.join(ROOT, "tests", "targets", "target", "release")
BENCH_BUILD = os.path.join(ROOT, "build", "bench")


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def env_float(name, default):
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


CFG = {
    "rounds": env_int("ROUNDS", 5),
    "pingpong_s": env_float("PINGPONG_SECS", 2.0),
    "http_s": env_int("HTTP_SECS", 5),
    "http_conns": [int(c) for c in os.environ.get("HTTP_CONNS", "16 64").split()],
    "http_threads": env_int("HTTP_THREADS", 2),
    "probe_rounds": env_int("PROBE_ROUNDS", 5),
    "probe_slice_s": env_float("PROBE_SLICE", 0.2),
    "attach_rounds": env_int("ATTACH_ROUNDS", 3),
    "parts": os.environ.get("PARTS",
                            "probe pingpong spawn cruntime http attach sampled "
                            "estimates record profile").split(),
    # past this many seconds no new round starts (bench/run.sh kills at 1200)
    "budget_s": env_float("BUDGET_SECS", 960),
}
T_START = time.monotonic()
truncated = []


def over_budget(what):
    if time.monotonic() - T_START < CFG["budget_s"]:
        return False
    if what not in truncated:
        truncated.append(what)
        log("bench: time budget (%.0f s) spent, %s cut short" % (CFG["budget_s"], what))
    return True
MODES = ["none", "default", "full", "light", "sampled"]
PRECISE = ("default", "full", "light")
# taskscope's window = the workload's + this (its window starts at attach,
# just before the workload does)
SLACK_S = 0.7
CLK_TCK = os.sysconf("SC_CLK_TCK")
errors = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def err(msg):
    errors.append(msg)
    log("bench: ERROR: " + msg)


# ---------------------------------------------------------------- stats


def summary(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    med = statistics.median(vals)
    out = {"median": med, "min": min(vals), "max": max(vals), "n": len(vals)}
    out["spread_pct"] = 100.0 * (out["max"] - out["min"]) / med if med else None
    return out


def med(s):
    return s["median"] if s else None


def fmt(v, spec=".1f", unit=""):
    if v is None:
        return "n/a"
    return format(v, spec) + unit


def fmt_s(s, spec=".1f", unit=""):
    """median [min-max]"""
    if not s:
        return "n/a"
    return "%s [%s-%s]%s" % (format(s["median"], spec), format(s["min"], spec),
                             format(s["max"], spec), unit)


def rotated(items, r):
    k = r % len(items)
    return items[k:] + items[:k]


# ---------------------------------------------------------------- processes


def read_line(proc, timeout, want):
    """First stdout line of proc starting with want, or None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        rl, _, _ = select.select([proc.stdout], [], [], max(0.0, end - time.monotonic()))
        if not rl:
            break
        line = proc.stdout.readline()
        if not line:
            return None
        line = line.decode(errors="replace").strip()
        if line.startswith(want):
            return line
    return None


def stop(proc, timeout=5):
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_rusage(proc, timeout):
    """Waits for proc (bounded); returns (returncode, rusage or None)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, ru
        time.sleep(0.01)
    proc.kill()
    pid, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return None, ru


def proc_cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def proc_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_cpu_ns(pid):
    """CPU time of every thread of pid, ns (schedstat; stat ticks without it)."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return None
    if total:
        return total
    s = proc_cpu_s(pid)
    return s * 1e9 if s is not None else None


def bpf_fds(pid):
    """{'link': n, 'maps': [fdinfo dicts], 'progs': [fdinfo dicts]} of pid."""
    out = {"link": 0, "maps": [], "progs": []}
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return out
    for fd in fds:
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target == "anon_inode:bpf_link":
            out["link"] += 1
        elif target in ("anon_inode:bpf-map", "anon_inode:bpf-prog"):
            info = {}
            try:
                with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                    for line in f:
                        k, _, v = line.partition(":")
                        info[k.strip()] = v.strip()
            except OSError:
                continue
            out["maps" if target.endswith("map") else "progs"].append(info)
    return out


def link_count(pid):
    try:
        n = 0
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:bpf_link":
                    n += 1
            except OSError:
                pass
        return n
    except OSError:
        return -1


def wait_attached(proc, mode, want=None, timeout=20.0, poll_s=0.001):
    """Seconds from now until taskscope holds all its BPF links, or None.

    Links: sched_switch, raw::poll entry, [raw::poll return in full mode],
    wakers, raw::dealloc. If taskscope ends up with another number of
    links, a count stable for 0.5 s counts as attached."""
    want = want or {"full": 5, "light": 3}.get(mode, 4)
    t0 = time.monotonic()
    if mode == "sampled":
        return wait_sampling(proc, t0, timeout)
    if mode == "top":
        # sampled, top's default: measured past its start-up (BPF load,
        # DWARF index, the first whole-memory scan), as a top left running
        # all day is: its perf events open, then its first refresh
        ok = wait_sampling(proc, t0, timeout)
        if ok is None:
            return None
        time.sleep(1.2)
        return time.monotonic() - t0
    last, last_change = -1, t0
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            return None
        n = link_count(proc.pid)
        now = time.monotonic()
        if n != last:
            last, last_change = n, now
        if n >= want or (n >= 2 and now - last_change > 0.5):
            return now - t0
        time.sleep(poll_s)
    return None


def perf_fd_count(pid):
    try:
        n = 0
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:[perf_event]":
                    n += 1
            except OSError:
                pass
        return n
    except OSError:
        return -1


def wait_sampling(proc, t0, timeout):
    """--mode sampled holds no uprobe link outside its bursts: it is attached
    once its cpu-clock perf events are open and its first burst is done."""
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            return None
        if perf_fd_count(proc.pid) > 0:
            time.sleep(0.1)
            return time.monotonic() - t0
        time.sleep(0.001)
    return None


def start_target(argv, timeout=20):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, bufsize=0)
    line = read_line(p, timeout, "ready")
    if not line:
        stop(p)
        return None, None
    return p, int(line.split()[1])


def have_top():
    """taskscope top --batch exists (it is newer than report)."""
    try:
        r = subprocess.run([TASKSCOPE, "top", "--help"], capture_output=True, timeout=10)
        return r.returncode == 0 and b"--batch" in r.stdout
    except (OSError, subprocess.TimeoutExpired):
        return False


def taskscope_argv(pid, mode, seconds):
    if mode == "top":
        # a frame at start, then one per second: its start-up (see
        # wait_attached), the window, and one more
        n = int(seconds) + 3
        return [TASKSCOPE, "top", "-p", str(pid), "--batch", "-n", str(n), "-i", "1"]
    if mode == "profile":
        return [TASKSCOPE, "profile", "-p", str(pid), "-d", "%.3f" % seconds, "--json"]
    argv = [TASKSCOPE, "report", "-p", str(pid), "-d", "%.3f" % seconds, "--json"]
    if mode in ("full", "light", "sampled"):
        argv += ["--mode", mode]
    return argv


class Observer:
    """taskscope report attached to a target for one measurement window."""

    def __init__(self, pid, mode, seconds, want=None):
        self.mode = mode
        self.t_start = time.monotonic()
        # files, not pipes: a report bigger than a pipe buffer would block
        # taskscope until it is read
        self.out = tempfile.TemporaryFile()
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(taskscope_argv(pid, mode, seconds),
                                     stdout=self.out, stderr=self.err)
        self.attach_s = wait_attached(self.proc, mode, want)
        self.cpu0 = proc_cpu_s(self.proc.pid)
        self.t0 = time.monotonic()
        self.sample = {}

    def ok(self):
        return self.attach_s is not None

    def window_end(self, names=False):
        t1 = time.monotonic()
        cpu1 = proc_cpu_s(self.proc.pid)
        s = self.sample
        if self.cpu0 is not None and cpu1 is not None and t1 > self.t0:
            s["window_cpu_pct"] = 100.0 * (cpu1 - self.cpu0) / (t1 - self.t0)
        s["rss_kb"] = proc_rss_kb(self.proc.pid)
        fds = bpf_fds(self.proc.pid)
        s["maps"] = [{"id": int(m.get("map_id", 0)), "type": int(m.get("map_type", 0)),
                      "max_entries": int(m.get("max_entries", 0)),
                      "key_size": int(m.get("key_size", 0)),
                      "value_size": int(m.get("value_size", 0)),
                      "memlock": int(m.get("memlock", 0))} for m in fds["maps"]]
        s["progs"] = [{"id": int(p.get("prog_id", 0)),
                       "run_time_ns": int(p.get("run_time_ns", 0)),
                       "run_cnt": int(p.get("run_cnt", 0))} for p in fds["progs"]]
        # names only bpftool knows; asked now, while taskscope holds them
        if names:
            mn, pn = bpftool_names("map"), bpftool_names("prog")
            for m in s["maps"]:
                m["name"] = mn.get(m["id"], "map%d" % m["id"])
            for p in s["progs"]:
                p["name"] = pn.get(p["id"], "prog%d" % p["id"])

    def finish(self, timeout):
        rc, ru = wait_rusage(self.proc, timeout)
        self.out.seek(0)
        self.err.seek(0)
        out = self.out.read().decode(errors="replace")
        errtxt = self.err.read().decode(errors="replace").strip()
        self.out.close()
        self.err.close()
        s = self.sample
        s["rc"] = rc
        s["total_s"] = time.monotonic() - self.t_start
        s["attach_s"] = self.attach_s
        if ru is not None:
            s["cpu_s"] = ru.ru_utime + ru.ru_stime
            s["maxrss_kb"] = ru.ru_maxrss
        report = None
        if self.mode == "top":
            if rc != 0:
                err("taskscope top exited %s: %s" % (rc, errtxt[-300:]))
            m = re.findall(r"est\. ([\d.]+)% CPU \(~(\w+)/hit\)", out)
            if m:
                s["top_estimate_cpu_pct"] = max(float(x[0]) for x in m)
                s["top_estimate_per_hit"] = m[-1][1]
            s["top_frames"] = out.count("taskscope top - ")
            return s
        if rc in (0, 1):
            try:
                report = json.loads(out)
            except ValueError:
                err("taskscope %s: unreadable JSON" % self.mode)
        else:
            err("taskscope %s exited %s: %s" % (self.mode, rc, errtxt[-300:]))
        if report and self.mode == "profile":
            # another schema: polls the kernel attributed, await points found
            s["profiled_polls"] = report.get("polls")
            s["await_points"] = len(report.get("await_points", []))
            return s
        if report:
            tasks = report.get("tasks", [])
            s["polls"] = sum(t.get("polls", 0) for t in tasks)
            s["wakes"] = sum(t.get("wakes", 0) for t in tasks)
            s["tasks"] = len(tasks)
            s["tasks_done"] = sum(1 for t in tasks if t.get("state") == "done")
            s["probe_sites"] = report.get("probe_sites")
            s["observed_s"] = report.get("observed_s")
            s["tasks_dropped"] = report.get("tasks_dropped")
            s["estimates"] = estimates(report)
        return s


def estimates(report):
    """What sampled mode estimates, from any mode's JSON, to compare modes:
    polls/s, each worker's busy % and each task's busy share (% of the
    window), tasks keyed by name (and id when names repeat)."""
    obs = report.get("observed_s") or 0
    if not obs:
        return None
    tasks, tasks_s = {}, {}
    for t in report.get("tasks", []):
        key = t.get("name") or "?"
        if key in tasks:
            key = "%s#%s" % (key, t.get("id"))
        tasks[key] = 100.0 * t.get("busy_s", 0) / obs
        tasks_s[key] = t.get("busy_s", 0)
    workers = sorted((100.0 * w.get("busy_s", 0) / obs for w in report.get("workers", [])),
                     reverse=True)
    out = {"polls_per_s": report.get("polls_per_s"), "worker_busy_pct": workers,
           "task_busy_pct": tasks, "task_busy_s": tasks_s,
           "polls": sum(t.get("polls", 0) for t in report.get("tasks", []))}
    if report.get("sampled"):
        out["sampled"] = report["sampled"]
    return out


def bpftool_names(kind):
    """{id: name} of every BPF map or prog on the host (bpftool -j)."""
    try:
        out = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True,
                             timeout=20).stdout
        return {x["id"]: x.get("name", "?") for x in json.loads(out)}
    except (OSError, ValueError, subprocess.TimeoutExpired, KeyError, TypeError):
        return {}


# ---------------------------------------------------------------- parts


def part_probe(res):
    """Bare cost of one uprobe hit, per kind of first instruction."""
    binp = os.path.join(BENCH_BUILD, "probe_hit")
    if not shutil.which("bpftrace"):
        err("bpftrace not found: probe-hit cost skipped")
        return
    funcs = ["ts_hit_jmp", "ts_hit_push", "ts_hit_sub", "ts_hit_jmp_ret", "ts_hit_jmp_mt"]
    probes = ",".join(["uprobe:%s:%s" % (binp, f) for f in funcs] +
                      ["uretprobe:%s:ts_hit_jmp_ret" % binp,
                       "usdt:%s:taskscope:poll_start" % binp])
    funcs.append("ts_hit_usdt")
    script = probes + " { @[probe] = count(); }"
    cmd = ["bpftrace", "-q", "-c", "%s %d %.3f" % (binp, CFG["probe_rounds"],
                                                    CFG["probe_slice_s"]), "-e", script]
    budget = 60 + CFG["probe_rounds"] * 5 * (CFG["probe_slice_s"] + 0.5)
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=budget)
    except subprocess.TimeoutExpired:
        err("bpftrace probe-hit run timed out")
        return
    slices = {}
    wall = {}
    hits = {}
    for line in r.stdout.decode(errors="replace").splitlines():
        f = line.split()
        if len(f) == 7 and f[0] == "slice":
            slices.setdefault(f[1], {})[int(f[2])] = float(f[5])  # CPU ns per call
            wall.setdefault(f[1], {})[int(f[2])] = float(f[6])
        m = re.match(r"@\[(\w+):.*:(\w+)\]: (\d+)", line)
        if m:
            hits[m.group(1) + ":" + m.group(2)] = int(m.group(3))
    if "ts_hit_base" not in slices or not hits:
        err("probe-hit run gave no data (bpftrace rc %d): %s" %
            (r.returncode, r.stderr.decode(errors="replace")[-300:]))
        return
    base = slices["ts_hit_base"]
    out = {"base_ns_per_call": summary(base.values()), "hits": hits,
           "slices_cpu_ns": slices, "slices_wall_ns": wall}
    for f in funcs:
        b = slices.get("ts_hit_base_mt", {}) if f.endswith("_mt") else base
        diffs = [slices[f][k] - b[k] for k in slices.get(f, {}) if k in b]
        out[f] = summary(diffs)
        wb = wall.get("ts_hit_base_mt", {}) if f.endswith("_mt") else wall["ts_hit_base"]
        out[f + "_wall"] = summary([wall[f][k] - wb[k] for k in wall.get(f, {}) if k in wb])
    j, jr = out["ts_hit_jmp"], out["ts_hit_jmp_ret"]
    if j and jr:
        rounds = sorted(set(slices["ts_hit_jmp"]) & set(slices["ts_hit_jmp_ret"]))
        out["uretprobe_extra"] = summary(
            [slices["ts_hit_jmp_ret"][k] - slices["ts_hit_jmp"][k] for k in rounds])
    res["probe"] = out


def result_fields(line):
    """bench_pingpong's `result k=v k=v ...` line as {k: float(v)}."""
    return {k: float(v) for k, _, v in (kv.partition("=") for kv in line.split()[1:])}


def pingpong_round(mode, secs, bpf_stats=False, binp=None, want=None, args=()):
    binp = binp or os.path.join(TARGETS, "bench_pingpong")
    p, pid = start_target([binp, "%.3f" % secs, *args])
    if not p:
        err("%s did not start" % os.path.basename(binp))
        return None
    obs = None
    row = {"mode": mode}
    try:
        if mode != "none":
            obs = Observer(pid, mode, secs + SLACK_S, want)
            if not obs.ok():
                err("taskscope %s did not attach to %s" % (mode, os.path.basename(binp)))
                obs.finish(10)
                return None
        cpu0 = proc_cpu_ns(pid)
        p.stdin.write(b"go\n")
        p.stdin.flush()
        line = read_line(p, secs + 30, "result")
        cpu1 = proc_cpu_ns(pid)
        if obs:
            obs.window_end(names=True)
        if not line:
            err("bench_pingpong gave no result (%s)" % mode)
            return None
        row.update(result_fields(line))
        if cpu0 is not None and cpu1 is not None and row.get("polls"):
            # the target's CPU time per poll: the traps and BPF programs run
            # in its threads, and other load on the machine does not count
            row["cpu_ns_per_poll"] = (cpu1 - cpu0) / row["polls"]
        if obs:
            row["observer"] = obs.finish(secs + 60)
            obs = None
    finally:
        if obs:
            obs.finish(10)
        try:
            p.stdin.close()
        except OSError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stop(p)
    return row


def part_pingpong(res, key="pingpong", binp=None, modes=MODES, want=None, args=()):
    secs = CFG["pingpong_s"]
    runs = []
    for r in range(CFG["rounds"]):
        if r >= 2 and over_budget(key):
            break
        for mode in rotated(modes, r):
            row = pingpong_round(mode, secs, binp=binp, want=want, args=args)
            if row:
                row["round"] = r
                runs.append(row)
                log("  %s round %d %-7s %8.1f ns/poll" % (key, r, mode, row["ns_per_poll"]))
    out = {"runs": runs, "secs": secs, "modes": modes}
    by = {m: {x["round"]: x for x in runs if x["mode"] == m} for m in modes}
    for m in modes:
        out[m] = {"ns_per_poll": summary([x["ns_per_poll"] for x in by[m].values()]),
                  "cpu_ns_per_poll": summary([x.get("cpu_ns_per_poll")
                                              for x in by[m].values()]),
                  "polls_per_s": summary([x["polls_per_s"] for x in by[m].values()])}
    for m in modes[1:]:
        paired = [by[m][k]["ns_per_poll"] - by["none"][k]["ns_per_poll"]
                  for k in by[m] if k in by["none"]]
        out[m]["added_ns_per_poll"] = summary(paired)
        out[m]["added_cpu_ns_per_poll"] = summary(
            [by[m][k]["cpu_ns_per_poll"] - by["none"][k]["cpu_ns_per_poll"]
             for k in by[m] if k in by["none"] and "cpu_ns_per_poll" in by[m][k]
             and "cpu_ns_per_poll" in by["none"][k]])
        obs = [x["observer"] for x in by[m].values() if "observer" in x]
        # traps counted by taskscope itself: poll entries, wakes, deallocs
        # (and a return per poll in full mode), per poll
        tp = []
        for o, x in ((x["observer"], x) for x in by[m].values() if "observer" in x):
            if o.get("polls") and m in PRECISE:
                traps = o["polls"] + o["wakes"] + o.get("tasks_done", 0)
                if m == "full":
                    traps += o["polls"]
                tp.append(traps / o["polls"])
        out[m]["counted_traps_per_poll"] = summary(tp)
        out[m]["polls_seen_vs_program"] = summary(
            [x["observer"]["polls"] / x["polls"] for x in by[m].values()
             if "observer" in x and x["observer"].get("polls") and x.get("polls")])
        out[m]["wakes_per_poll"] = summary(
            [o["wakes"] / o["polls"] for o in obs if o.get("polls")])
        out[m]["attach_s"] = summary([o.get("attach_s") for o in obs])
        out[m]["taskscope_window_cpu_pct"] = summary([o.get("window_cpu_pct") for o in obs])
        out[m]["taskscope_cpu_s"] = summary([o.get("cpu_s") for o in obs])
        out[m]["taskscope_maxrss_kb"] = summary([o.get("maxrss_kb") for o in obs])
        out[m]["cpu_added_pct"] = summary(
            [100.0 * (by[m][k]["cpu_ns_per_poll"] / by["none"][k]["cpu_ns_per_poll"] - 1)
             for k in by[m] if k in by["none"] and by[m][k].get("cpu_ns_per_poll")
             and by["none"][k].get("cpu_ns_per_poll")])
    if "sampled" in modes and "default" in modes:
        out["sampled_vs_default"] = compare_estimates(by["sampled"], by["default"],
                                                      "polls_per_s")
    res[key] = out


def part_spawn(res):
    """The task-tree probe's cost: one trap per spawn (after Id::next's
    fetch_add), none per poll. bench_pingpong spawn: a task spawning an
    empty task and awaiting it, again and again; ns per spawn."""
    part_pingpong(res, "spawn", modes=["none", "default", "sampled"], args=("spawn",))


def estimates_round(mode, secs):
    """One run of bench_pingpong mixed, observed (if mode) over a window
    inside its steady state: it starts computing 1 s before the window and
    stops after it, so rates and shares compare with the program's own."""
    p, pid = start_target([os.path.join(TARGETS, "bench_pingpong"), "%.3f" % (secs + 3),
                           "mixed"])
    if not p:
        err("bench_pingpong did not start")
        return None
    row = {"mode": mode}
    obs = None
    try:
        p.stdin.write(b"go\n")
        p.stdin.flush()
        time.sleep(1.0)
        if mode != "none":
            obs = Observer(pid, mode, secs)
            if not obs.ok():
                err("taskscope %s did not attach to bench_pingpong" % mode)
                return None
            obs.window_end()
            row["observer"] = obs.finish(secs + 60)
            obs = None
        line = read_line(p, secs + 30, "result")
        if not line:
            err("bench_pingpong gave no result (%s)" % mode)
            return None
        row.update(result_fields(line))
    finally:
        if obs:
            obs.finish(10)
        try:
            p.stdin.close()
        except OSError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stop(p)
    return row


def part_estimates(res):
    """Sampled mode's estimates where the truth is known: bench_pingpong
    mixed, three tasks computing 600, 200 and 50 us per poll then sleeping
    1 ms (polls long next to a trap, ~1,100 polls/s), each measuring its
    own compute time. Per mode: polls/s against the program's, each task's
    busy share against the program's (points), and sampled against
    default as in the ping-pong."""
    secs = max(CFG["pingpong_s"], 4.0)
    modes = ["default", "sampled"]
    runs = []
    for r in range(CFG["rounds"]):
        if r >= 2 and over_budget("estimates"):
            break
        for mode in rotated(modes, r):
            row = estimates_round(mode, secs)
            if row:
                row["round"] = r
                runs.append(row)
                log("  estimates round %d %-7s %7.1f polls/s" % (r, mode, row["polls_per_s"]))
    out = {"runs": runs, "secs": secs, "modes": modes}
    by = {m: {x["round"]: x for x in runs if x["mode"] == m} for m in modes}
    for m in modes:
        rate, busy = [], []
        for x in by[m].values():
            es = (x.get("observer") or {}).get("estimates")
            if not es or not es.get("polls_per_s") or not x.get("polls_per_s"):
                continue
            rate.append(100.0 * (es["polls_per_s"] / x["polls_per_s"] - 1))
            obs_s = (x["observer"].get("observed_s") or 0)
            diffs = []
            for which in ("heavy", "medium", "light"):
                got = [v for k, v in es["task_busy_s"].items()
                       if k.endswith("::%s>" % which) or k.endswith("::%s" % which)]
                if got and obs_s and ("busy_pct_" + which) in x:
                    diffs.append(abs(100.0 * got[0] / obs_s - x["busy_pct_" + which]))
            if len(diffs) == 3:
                busy.append(max(diffs))
        out[m] = {"polls_per_s_vs_program_pct": summary(rate),
                  "task_busy_vs_program_max_points": summary(busy)}
    out["sampled_vs_default"] = compare_estimates(by["sampled"], by["default"])
    res["estimates"] = out


def compare_estimates(sampled, default, program_rate=None):
    """Sampled mode's estimates against --mode default's figures, paired by round
    (dicts round -> run row). Each mode observed its own run of the workload."""
    ratio, wdiff, tdiff, vs_prog = [], [], [], []
    for k, x in sampled.items():
        es = (x.get("observer") or {}).get("estimates")
        y = default.get(k)
        ed = (y.get("observer") or {}).get("estimates") if y else None
        if es and program_rate and x.get(program_rate) and es.get("polls_per_s"):
            vs_prog.append(100.0 * (es["polls_per_s"] / x[program_rate] - 1))
        if not es or not ed:
            continue
        if ed.get("polls_per_s"):
            ratio.append(100.0 * (es["polls_per_s"] / ed["polls_per_s"] - 1))
        ws, wd = es["worker_busy_pct"], ed["worker_busy_pct"]
        if ws and wd:
            n = min(len(ws), len(wd))
            wdiff.append(max(abs(ws[i] - wd[i]) for i in range(n)))
        common = set(es["task_busy_pct"]) & set(ed["task_busy_pct"])
        if common:
            tdiff.append(max(abs(es["task_busy_pct"][t] - ed["task_busy_pct"][t])
                             for t in common))
    return {"polls_per_s_err_pct": summary(ratio),
            "worker_busy_max_diff_points": summary(wdiff),
            "task_busy_max_diff_points": summary(tdiff),
            "polls_per_s_vs_program_pct": summary(vs_prog)}


def part_cruntime(res):
    """The ping-pong on the USDT C runtime (tests/targets/cruntime)."""
    binp = os.path.join(BENCH_BUILD, "c_pingpong")
    if not os.access(binp, os.X_OK):
        if os.path.isdir(os.path.join(ROOT, "tests", "targets", "cruntime")):
            err("tests/targets/cruntime exists but bench/c_pingpong.c did not build with it")
            res["cruntime"] = "not measured: c_pingpong did not build (see above)"
        else:
            res["cruntime"] = "pending: tests/targets/cruntime does not exist yet"
        return
    # one uprobe_multi link on every USDT site + sched_switch
    part_pingpong(res, "cruntime_pingpong", binp, ["none", "default"], want=2)
    res["cruntime"] = "measured (cruntime_pingpong)"


def bpf_stats_runs(runs):
    """Observed ping-pong runs with kernel.bpf_stats_enabled=1: run time and
    count of each taskscope BPF program, per run key (None when the sysctl
    can't be set). runs: [(key, mode, binary or None, links wanted or None)]."""
    path = "/proc/sys/kernel/bpf_stats_enabled"
    try:
        with open(path) as f:
            old = f.read().strip()
        with open(path, "w") as f:
            f.write("1")
    except OSError as e:
        log("bench: bpf_stats unavailable (%s), skipped" % e)
        return None
    out = {}
    try:
        for key, mode, binp, want in runs:
            row = pingpong_round(mode, CFG["pingpong_s"], bpf_stats=True, binp=binp,
                                 want=want)
            if not row or "observer" not in row:
                continue
            per = {}
            for pr in row["observer"].get("progs", []):
                name = pr.get("name", "prog%d" % pr["id"])
                if pr["run_cnt"]:
                    per[name] = {"run_cnt": pr["run_cnt"],
                                 "ns_per_run": pr["run_time_ns"] / pr["run_cnt"],
                                 "per_poll": pr["run_cnt"] / row["polls"]}
            out[key] = {"progs": per, "polls": row["polls"],
                         "ns_per_poll": row["ns_per_poll"], "secs": row.get("secs")}
    finally:
        try:
            with open(path, "w") as f:
                f.write(old)
        except OSError:
            pass
    return out


def part_bpf_stats(res):
    """One extra observed ping-pong run per mode with kernel.bpf_stats_enabled=1
    (not in the medians, since the stats themselves add two clock reads per
    program run)."""
    runs = [("default", "default", None, None), ("full", "full", None, None),
            ("sampled", "sampled", None, None)]
    cp = os.path.join(BENCH_BUILD, "c_pingpong")
    if "cruntime" in CFG["parts"] and os.access(cp, os.X_OK):
        runs.append(("cruntime", "default", cp, 2))
    out = bpf_stats_runs(runs)
    if out is not None:
        res["bpf_stats"] = out


def http_server(prefer=None):
    hyper = os.path.join(TARGETS, "bench_hyper")
    prefer = prefer or os.environ.get("HTTP_SERVER", "auto")
    if prefer != "handwritten" and os.access(hyper, os.X_OK):
        return "hyper 0.14", hyper
    return "hand-written (bench_http)", os.path.join(TARGETS, "bench_http")


def parse_wrk(text):
    out = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    if m:
        out["requests"] = int(m.group(1))
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % pct, text, re.M)
        if m:
            out["p%s_ms" % pct] = float(m.group(1)) * unit[m.group(2)]
    m = re.search(r"Socket errors: (.*)", text)
    if m:
        out["socket_errors"] = m.group(1).strip()
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    return out


def run_wrk(port, conns, secs):
    cmd = ["wrk", "-t%d" % min(CFG["http_threads"], conns), "-c%d" % conns,
           "-d%ds" % secs, "--latency", "http://127.0.0.1:%d/" % port]
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=secs + 30)
    except subprocess.TimeoutExpired:
        err("wrk timed out")
        return None
    out = parse_wrk(r.stdout.decode(errors="replace"))
    if "rps" not in out:
        err("wrk gave no result: %s" % r.stderr.decode(errors="replace")[-300:])
        return None
    return out


def part_http(res, key="http", modes=None, conns_list=None, with_top=True, server=None):
    modes = modes or MODES
    conns_list = conns_list or CFG["http_conns"]
    if not shutil.which("wrk"):
        err("wrk not found: HTTP part skipped")
        return
    name, binp = http_server(server)
    secs = CFG["http_s"]
    p = subprocess.Popen([binp, "0", "900"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
    try:
        line = read_line(p, 20, "listening")
        ready = read_line(p, 20, "ready") if line else None
        if not ready:
            err("HTTP server %s did not start" % binp)
            return
        port = int(line.split()[1].rsplit(":", 1)[1])
        pid = int(ready.split()[1])
        run_wrk(port, max(conns_list), 1)  # warm-up, not counted
        runs = []
        # `taskscope top --batch` (refreshing every second, sampled) as one
        # more observer, at every connection count
        top_conns = list(conns_list) if with_top and have_top() else []
        for r in range(CFG["rounds"]):
            if r >= 1 and over_budget(key):
                break
            for conns in conns_list:
                cmodes = modes + (["top"] if conns in top_conns else [])
                for mode in rotated(cmodes, r):
                    obs = None
                    if mode != "none":
                        obs = Observer(pid, mode, secs + SLACK_S)
                        if not obs.ok():
                            err("taskscope %s did not attach to the HTTP server" % mode)
                            obs.finish(10)
                            continue
                    cpu0 = proc_cpu_ns(pid)
                    w = run_wrk(port, conns, secs)
                    cpu1 = proc_cpu_ns(pid)
                    if w and cpu0 is not None and cpu1 is not None and w.get("requests"):
                        w["server_cpu_us_per_request"] = (cpu1 - cpu0) / 1e3 / w["requests"]
                    if obs:
                        obs.window_end(names=True)
                        o = obs.finish(secs + 60)
                    if not w:
                        continue
                    row = dict(w, mode=mode, conns=conns, round=r)
                    if obs:
                        row["observer"] = o
                    runs.append(row)
                    log("  " + key + " round %d c=%-3d %-7s %9.0f req/s p50 %s ms p99 %s ms" %
                        (r, conns, mode, w["rps"], fmt(w.get("p50_ms"), ".3f"),
                         fmt(w.get("p99_ms"), ".2f")))
        out = {"server": name, "binary": binp, "secs": secs, "runs": runs, "by_conns": {},
               "top_conns": top_conns}
        for conns in conns_list:
            cmodes = modes + (["top"] if conns in top_conns else [])
            by = {m: {x["round"]: x for x in runs if x["mode"] == m and x["conns"] == conns}
                  for m in cmodes}
            c = {}
            for m in cmodes:
                c[m] = {k: summary([x.get(k) for x in by[m].values()])
                        for k in ("rps", "p50_ms", "p99_ms", "server_cpu_us_per_request")}
            for m in cmodes[1:]:
                c[m]["rps_loss_pct"] = summary(
                    [100.0 * (1 - by[m][k]["rps"] / by["none"][k]["rps"])
                     for k in by[m] if k in by["none"]])
                pairs = [(by[m][k].get("server_cpu_us_per_request"),
                          by["none"][k].get("server_cpu_us_per_request"))
                         for k in by[m] if k in by["none"]]
                pairs = [(a, b) for a, b in pairs if a and b]
                c[m]["added_server_cpu_us_per_request"] = summary([a - b for a, b in pairs])
                # the loss if the server alone saturated its CPUs
                c[m]["cpu_bound_loss_pct"] = summary([100.0 * (1 - b / a) for a, b in pairs])
                c[m]["added_us_per_request"] = summary(
                    [1e6 * (1 / by[m][k]["rps"] - 1 / by["none"][k]["rps"])
                     for k in by[m] if k in by["none"]])
                obs = [x["observer"] for x in by[m].values() if "observer" in x]
                c[m]["polls_per_request"] = summary(
                    [x["observer"]["polls"] / x["requests"] for x in by[m].values()
                     if "observer" in x and x["observer"].get("polls") is not None
                     and x.get("requests")])
                c[m]["wakes_per_poll"] = summary(
                    [o["wakes"] / o["polls"] for o in obs if o.get("polls")])
                c[m]["taskscope_window_cpu_pct"] = summary(
                    [o.get("window_cpu_pct") for o in obs])
                c[m]["taskscope_cpu_s"] = summary([o.get("cpu_s") for o in obs])
                c[m]["taskscope_maxrss_kb"] = summary([o.get("maxrss_kb") for o in obs])
                c[m]["attach_s"] = summary([o.get("attach_s") for o in obs])
                if obs and obs[-1].get("maps"):
                    c[m]["maps"] = obs[-1]["maps"]
                if m == "sampled" and "default" in by:
                    c["sampled_vs_default"] = compare_estimates(by["sampled"], by["default"])
                if m == "top":
                    c[m]["top_estimate_cpu_pct"] = summary(
                        [o.get("top_estimate_cpu_pct") for o in obs])
                    c[m]["top_estimate_per_hit"] = next(
                        (o["top_estimate_per_hit"] for o in obs if "top_estimate_per_hit" in o),
                        None)
            out["by_conns"][str(conns)] = c
        res[key] = out
    finally:
        stop(p)


PROFILE_MODES = ["none", "default", "profile"]


def part_profile(res):
    """taskscope profile (issue 14) next to report's default mode: the same
    probes plus, per poll, a walk of the task's state machines (DWARF tables
    in maps) and a statistics update in the kernel; and its memory snapshots
    for contention every 0.5 s. Ping-pong CPU per poll, HTTP requests/s on
    both servers: hyper's tasks are hand-written futures (no await point,
    no walk: per future type), the hand-written server's are async fns
    (a walk of two state machines per poll)."""
    # last in `make bench`: each step after the first only within the budget
    part_pingpong(res, "profile_pingpong", modes=PROFILE_MODES)
    # the BPF programs' own time per poll, which CPU sharing does not blur
    if not over_budget("profile_bpf_stats"):
        st = bpf_stats_runs([("default", "default", None, None),
                             ("profile", "profile", None, None)])
        if st is not None:
            res["profile_bpf_stats"] = st
    if not over_budget("profile_http"):
        part_http(res, "profile_http", modes=PROFILE_MODES,
                  conns_list=CFG["http_conns"][:1], with_top=False)
    if not over_budget("profile_http_async"):
        part_http(res, "profile_http_async", modes=PROFILE_MODES,
                  conns_list=CFG["http_conns"][:1], with_top=False, server="handwritten")


def part_sampled(res):
    """taskscope's own cost in sampled mode on 20,000 parked tasks (many_tasks):
    CPU per refresh (a memory snapshot every 0.5 s, a burst every second),
    next to one default-mode report of the same length."""
    binp = os.path.join(TARGETS, "many_tasks")
    if not os.access(binp, os.X_OK):
        err("many_tasks not built: sampled scale part skipped")
        return
    p, pid = start_target([binp, "20000"], timeout=60)
    if not p:
        err("many_tasks did not start")
        return
    out = {"tasks": 20000, "runs": []}
    secs = 5.0
    try:
        for r in range(max(1, min(CFG["rounds"], 3))):
            for mode in rotated(["sampled", "default"], r):
                obs = Observer(pid, mode, secs)
                o = obs.finish(secs + 120)
                est = o.get("estimates") or {}
                row = {"mode": mode, "round": r, "cpu_s": o.get("cpu_s"),
                       "maxrss_kb": o.get("maxrss_kb"), "tasks": o.get("tasks"),
                       "total_s": o.get("total_s")}
                smp = est.get("sampled")
                if smp:
                    row["snapshots"] = smp.get("snapshots")
                    row["bursts"] = smp.get("bursts")
                    # the periodic ones: not the first (full scan) nor the last
                    periodic = (smp.get("snapshots") or 0) - 2
                    if periodic > 0:
                        row["snapshot_cpu_ms"] = 1e3 * smp.get("snapshot_cpu_s", 0) / periodic
                    if smp.get("bursts"):
                        row["burst_cpu_ms"] = 1e3 * smp.get("burst_cpu_s", 0) / smp["bursts"]
                out["runs"].append(row)
                log("  sampled scale round %d %-8s CPU %s s, %s tasks" % (
                    r, mode, fmt(o.get("cpu_s"), ".3f"), o.get("tasks")))
    finally:
        stop(p)
    for mode in ("sampled", "default"):
        rows = [x for x in out["runs"] if x["mode"] == mode]
        out[mode] = {"cpu_s": summary([x["cpu_s"] for x in rows]),
                     "maxrss_kb": summary([x["maxrss_kb"] for x in rows]),
                     "tasks": rows[-1]["tasks"] if rows else None}
        if mode == "sampled":
            out[mode]["cpu_ms_per_snapshot"] = summary([x.get("snapshot_cpu_ms") for x in rows])
            out[mode]["cpu_ms_per_burst"] = summary([x.get("burst_cpu_ms") for x in rows])
            out[mode]["snapshots"] = rows[-1].get("snapshots") if rows else None
    res["sampled_scale"] = out
    sample_cost(res)


def sample_cost(res):
    """What one cpu-clock sample costs the CPU it interrupts: a loop that only
    computes, unobserved and while a sampled report watches an idle tokio
    process (the interrupt hits every CPU, watched or not) at 199 and 4000 Hz."""
    spin = os.path.join(BENCH_BUILD, "spin_loop")
    idle = os.path.join(TARGETS, "many_tasks")
    if not os.access(spin, os.X_OK) or not os.access(idle, os.X_OK):
        err("spin_loop or many_tasks missing: sample cost skipped")
        return
    p, pid = start_target([idle, "10"], timeout=30)
    if not p:
        err("many_tasks did not start")
        return
    rates = {0: [], 199: [], 4000: []}
    try:
        for r in range(max(3, CFG["rounds"])):
            for hz in rotated([0, 199, 4000], r):
                obs = None
                if hz:
                    obs = subprocess.Popen([TASKSCOPE, "report", "-p", str(pid), "-d", "3.5",
                                            "--mode", "sampled", "--burst", "0",
                                            "--sample-hz", str(hz)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    if wait_sampling(obs, time.monotonic(), 20) is None:
                        err("sampled report did not start (sample cost)")
                        obs.wait()
                        continue
                out = subprocess.run([spin, "2"], capture_output=True, text=True,
                                     timeout=30).stdout
                m = re.search(r"loops_per_cpu_s=([\d.]+)", out)
                if m:
                    rates[hz].append((r, float(m.group(1))))
                if obs:
                    obs.wait(timeout=30)
    finally:
        stop(p)
    base = dict(rates[0])
    out = {"rates": {str(k): v for k, v in rates.items()}}
    for hz in (199, 4000):
        fr = [1 - v / base[r] for r, v in rates[hz] if r in base]
        out["loss_pct_%d" % hz] = summary([100 * f for f in fr])
        out["us_per_sample_%d" % hz] = summary([1e6 * f / hz for f in fr])
    res["sample_cost"] = out


def strace_phases(pid):
    """One taskscope run under strace (bpf syscalls only): its phases."""
    if not shutil.which("strace"):
        return None
    tmp = os.path.join(BENCH_BUILD, "strace.out")
    argv = ["strace", "-f", "-ttt", "-T", "--seccomp-bpf", "-e", "trace=execve,bpf",
            "-o", tmp] + taskscope_argv(pid, "default", 0.1)
    try:
        r = subprocess.run(argv, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None
    if r.returncode not in (0, 1):
        return None
    t_exec = t_first_bpf = t_last_load = t_attach = t_last = None
    link_s = 0.0
    nlinks = 0
    with open(tmp) as f:
        for line in f:
            m = re.match(r"\d+\s+([\d.]+) \+\+\+ exited", line.strip())
            if m:
                t_last = float(m.group(1))
            m = re.match(r"\d+\s+([\d.]+) (\w+)\((.*?)(?:<([\d.]+)>)?$", line.strip())
            if not m:
                continue
            ts, call, rest, dur = float(m.group(1)), m.group(2), m.group(3), m.group(4)
            if call == "execve" and t_exec is None:
                t_exec = ts
            elif call == "bpf":
                t_first_bpf = t_first_bpf if t_first_bpf is not None else ts
                if "BPF_PROG_LOAD" in rest:
                    t_last_load = ts + float(dur or 0)
                if "BPF_LINK_CREATE" in rest or "BPF_RAW_TRACEPOINT_OPEN" in rest:
                    nlinks += 1
                    link_s += float(dur or 0)
                    t_attach = ts + float(dur or 0)
    if None in (t_exec, t_first_bpf, t_last_load, t_attach):
        return None
    return {"elf_scan_s": t_first_bpf - t_exec,
            "bpf_load_s": t_last_load - t_first_bpf,
            "link_create_s": link_s, "links": nlinks,
            "exec_to_attached_s": t_attach - t_exec,
            "after_window_s": (t_last - t_attach - 0.1) if t_last else None}


def attach_rounds(pid):
    rows = []
    for r in range(CFG["attach_rounds"]):
        obs = Observer(pid, "default", 0.1)
        o = obs.finish(60)
        rows.append({"attach_s": o.get("attach_s"), "total_s": o.get("total_s"),
                     "cpu_s": o.get("cpu_s"), "maxrss_kb": o.get("maxrss_kb"),
                     "probe_sites": o.get("probe_sites"), "tasks": o.get("tasks"),
                     "rc": o.get("rc")})
    return {"runs": rows,
            "attach_s": summary([x["attach_s"] for x in rows]),
            "total_s": summary([x["total_s"] for x in rows]),
            "cpu_s": summary([x["cpu_s"] for x in rows]),
            "maxrss_kb": summary([x["maxrss_kb"] for x in rows]),
            "probe_sites": rows[-1]["probe_sites"], "tasks": rows[-1]["tasks"],
            "strace": strace_phases(pid)}


def part_attach(res):
    out = {}
    many = os.path.join(TARGETS, "bench_manytypes")
    p, pid = start_target([many, "300"])
    if not p:
        err("bench_manytypes did not start")
    else:
        try:
            out["manytypes"] = attach_rounds(pid)
        finally:
            stop(p)
    # the same on a small binary (the ping-pong, idle before its start)
    p, pid = start_target([os.path.join(TARGETS, "bench_pingpong"), "1"])
    if p:
        try:
            out["pingpong"] = attach_rounds(pid)
        finally:
            stop(p)
    res["attach"] = out


# ---------------------------------------------------------------- output


def machine():
    m = {"kernel": os.uname().release, "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    m["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            m["mem_kb"] = int(f.readline().split()[1])
    except OSError:
        pass
    try:
        with open("/sys/class/dmi/id/product_name") as f:
            m["product"] = f.read().strip()
    except OSError:
        pass
    m["loadavg_start"] = os.getloadavg()
    return m


def pingpong_lines(d, modes, trap, trap_name, counted=None):
    L = ["    %-8s %-22s %-20s %-22s %-20s %-8s %s" % (
        "mode", "wall ns/poll", "added (wall)", "CPU ns/poll", "added (CPU)",
        "traps", "counted")]
    for m in modes:
        x = d[m]
        tp = cnt = ""
        if m != "none":
            a = med(x.get("added_cpu_ns_per_poll"))
            tp = fmt(a / trap if a is not None and trap else None, ".2f")
            cnt = fmt(counted if counted is not None else
                      med(x.get("counted_traps_per_poll")), ".2f")
        L.append("    %-8s %-22s %-20s %-22s %-20s %-8s %s" % (
            m, fmt_s(x["ns_per_poll"], ".0f"),
            fmt_s(x.get("added_ns_per_poll"), ".0f") if m != "none" else "-",
            fmt_s(x.get("cpu_ns_per_poll"), ".0f"),
            fmt_s(x.get("added_cpu_ns_per_poll"), ".0f") if m != "none" else "-", tp, cnt))
    L.append("    wall = elapsed / polls; CPU = the target's CPU time (all threads) / polls;")
    L.append("    traps = added CPU ns per poll / bare %s hit (%s CPU ns)" % (
        trap_name, fmt(trap, ".0f")))
    return L


def table(res):
    L = []
    pr = res.get("probe")
    trap = med(pr["ts_hit_jmp"]) if pr else None
    L.append("taskscope overhead benchmark — %s, %d CPUs, kernel %s, load %.2f→%.2f" % (
        res["machine"].get("cpu", "?"), res["machine"]["cpus"], res["machine"]["kernel"],
        res["machine"]["loadavg_start"][0], res["machine"]["loadavg_end"][0]))
    L.append("%d rounds, conditions alternating; figures: median [min-max] over rounds"
             % CFG["rounds"])
    if pr:
        L.append("")
        L.append("1a. bare probe hit (probe_hit.c under bpftrace, count() per hit): CPU ns of"
                 " the calling thread")
        L.append("    %-40s %-24s %s" % ("", "CPU ns/hit", "wall ns/hit"))
        L.append("    %-40s %-24s" % ("loop call, no probe", fmt_s(pr["base_ns_per_call"], ".2f")))
        for k, what in (("ts_hit_jmp", "uprobe, first insn jmp (raw::poll)"),
                        ("ts_hit_push", "uprobe, first insn push (wake_by_val)"),
                        ("ts_hit_sub", "uprobe, first insn sub (wake_by_ref)"),
                        ("ts_hit_jmp_ret", "uprobe+uretprobe, jmp (--mode full)"),
                        ("uretprobe_extra", "  the uretprobe's share"),
                        ("ts_hit_jmp_mt", "uprobe jmp, 2 threads at once"),
                        ("ts_hit_usdt", "USDT nop5 (usdt/taskscope.h)")):
            L.append("    %-40s %-24s %s" % (what, fmt_s(pr.get(k), ".0f"),
                                              fmt_s(pr.get(k + "_wall"), ".0f")))
    pp = res.get("pingpong")
    if pp:
        L.append("")
        L.append("1b. tokio mpsc ping-pong (2 tasks, 2 workers), %.1f s per run" % pp["secs"])
        L += pingpong_lines(pp, MODES, trap, "jmp uprobe")
        L.append("    counted = (poll entries + wakes + deallocs [+ returns]) / polls,"
                 " from taskscope's JSON")
    sp = res.get("spawn")
    if sp:
        L.append("")
        L.append("1d. spawn loop (a task spawning an empty task and awaiting it), %.1f s per run;"
                 " 'poll' = one spawn" % sp["secs"])
        L += pingpong_lines(sp, sp["modes"], trap, "jmp uprobe")
        L.append("    default: a trap per spawn (task tree), per poll, per wake and per dealloc;"
                 " sampled: none outside its bursts")
    es = res.get("estimates")
    if es:
        L.append("")
        L.append("5b. sampled mode's estimates against the truth: bench_pingpong mixed (3 tasks"
                 " computing 600/200/50 us per poll, sleeping 1 ms), %.1f s windows in its"
                 " steady state" % es["secs"])
        for m in ("default", "sampled"):
            d = es.get(m) or {}
            L.append("    %-8s polls/s vs the program's %s %%; largest task busy-share"
                     " error %s points" % (m, fmt_s(d.get("polls_per_s_vs_program_pct"), "+.1f"),
                                           fmt_s(d.get("task_busy_vs_program_max_points"), ".2f")))
        c = es.get("sampled_vs_default") or {}
        L.append("    sampled vs default: polls/s %s %%, worker busy %s points, task busy %s"
                 " points (largest difference)" % (
                     fmt_s(c.get("polls_per_s_err_pct"), "+.1f"),
                     fmt_s(c.get("worker_busy_max_diff_points"), ".1f"),
                     fmt_s(c.get("task_busy_max_diff_points"), ".1f")))
    bs = res.get("bpf_stats")
    if bs:
        L.append("")
        L.append("1c. taskscope's BPF programs (extra ping-pong run, kernel.bpf_stats_enabled=1):"
                 " runs per poll × ns per run")
        for m, d in bs.items():
            parts = ["%s %s × %.0f ns" % (n, fmt(v["per_poll"], ".2f"), v["ns_per_run"])
                     for n, v in sorted(d["progs"].items())]
            tot = sum(v["per_poll"] * v["ns_per_run"] for v in d["progs"].values())
            L.append("    %-8s %s = %.0f ns/poll" % (m, "; ".join(parts), tot))
    h = res.get("http")
    if h:
        L.append("")
        L.append("2. HTTP/1.1 keep-alive, %s server (2 workers), wrk -t%d, %d s per run,"
                 " 127.0.0.1" % (h["server"], CFG["http_threads"], h["secs"]))
        L.append("    %-5s %-8s %-24s %-18s %-21s %-20s %-20s %s" % (
            "conns", "mode", "requests/s", "rps loss %", "p50 ms", "p99 ms",
            "server CPU µs/req", "CPU-bound loss %"))
        for conns, c in h["by_conns"].items():
            for m in [m for m in MODES + ["top"] if m in c]:
                d = c[m]
                L.append("    %-5s %-8s %-24s %-18s %-21s %-20s %-20s %s" % (
                    conns, m, fmt_s(d["rps"], ".0f"),
                    fmt_s(d.get("rps_loss_pct"), ".1f") if m != "none" else "-",
                    fmt_s(d["p50_ms"], ".3f"), fmt_s(d["p99_ms"], ".2f"),
                    fmt_s(d.get("server_cpu_us_per_request"), ".1f"),
                    fmt_s(d.get("cpu_bound_loss_pct"), ".1f") if m != "none" else "-"))
        if h.get("top_conns"):
            L.append("    top = taskscope top -p PID --batch -i 1 (sampled, its default), measured"
                     " past its start-up, at %s conns" % "/".join(map(str, h["top_conns"])))
        ppr = [med(c[m].get("polls_per_request")) for c in h["by_conns"].values()
               for m in ("default", "full", "light") if m in c]
        wpp = [med(c[m].get("wakes_per_poll")) for c in h["by_conns"].values()
               for m in ("default", "full", "light") if m in c]
        L.append("    polls per request %s, wakes per poll %s (taskscope's JSON / wrk's count)" % (
            "/".join(fmt(x, ".2f") for x in ppr), "/".join(fmt(x, ".2f") for x in wpp)))
        L.append("    CPU-bound loss = 1 - server CPU per request unobserved / observed")
    L.append("")
    L.append("3. taskscope's own cost")
    if pp:
        for m in [m for m in ("default", "full", "light") if m in pp]:
            d = pp[m]
            L.append("    ping-pong %-7s CPU %% in window %s, CPU per run %s s, max RSS %s KiB,"
                     " attach %s ms" % (
                         m, fmt_s(d["taskscope_window_cpu_pct"], ".1f"),
                         fmt_s(d["taskscope_cpu_s"], ".3f"),
                         fmt(med(d["taskscope_maxrss_kb"]), ".0f"),
                         fmt(med(d["attach_s"]) * 1e3 if med(d["attach_s"]) else None, ".0f")))
    if h:
        for conns, c in h["by_conns"].items():
            for m in [m for m in ("default", "full", "light", "top") if m in c]:
                d = c[m]
                extra = ""
                if m == "top":
                    extra = ", max RSS %s KiB; top's own estimate of the target's probe cost:" \
                            " %s %% CPU at ~%s/hit" % (
                                fmt(med(d["taskscope_maxrss_kb"]), ".0f"),
                                fmt(med(d.get("top_estimate_cpu_pct")), ".1f"),
                                d.get("top_estimate_per_hit") or "?")
                L.append("    http c=%-4s %-7s CPU %% in window %s, CPU per run %s s%s" % (
                    conns, m, fmt_s(d["taskscope_window_cpu_pct"], ".1f"),
                    fmt_s(d["taskscope_cpu_s"], ".3f"), extra))
    km = res.get("kernel_maps")
    if km:
        L.append("    kernel maps (memlock): %s" % ", ".join(
            "%s %.0f KiB" % (n, b / 1024) for n, b in km["by_name"].items()))
        L.append("    kernel maps total %.1f MiB" % (km["total"] / 2**20))
    at = res.get("attach")
    if at:
        for k, what in (("manytypes", "bench_manytypes"), ("pingpong", "bench_pingpong")):
            d = at.get(k)
            if not d:
                continue
            L.append("    attach %-16s %4s probe sites: start→attached %s ms, report -d 0.1 "
                     "total %s ms, CPU %s ms, max RSS %s KiB" % (
                         what, d.get("probe_sites"),
                         fmt_s(scale(d["attach_s"], 1e3), ".0f"),
                         fmt_s(scale(d["total_s"], 1e3), ".0f"),
                         fmt(med(d["cpu_s"]) * 1e3 if med(d["cpu_s"]) else None, ".0f"),
                         fmt(med(d["maxrss_kb"]), ".0f")))
            st = d.get("strace")
            if st:
                L.append("        (strace) ELF scan %.0f ms, BPF load %.0f ms, %d links %.1f ms;"
                         " after the window %.0f ms" % (
                             st["elf_scan_s"] * 1e3, st["bpf_load_s"] * 1e3, st["links"],
                             st["link_create_s"] * 1e3, (st["after_window_s"] or 0) * 1e3))
    L.append("")
    cp = res.get("cruntime_pingpong")
    if not cp:
        L.append("4. USDT C runtime: %s" % res.get("cruntime", "pending"))
    else:
        usdt = med(pr.get("ts_hit_usdt")) if pr else None
        L.append("4. USDT C runtime (tests/targets/cruntime, 1 thread) ping-pong, %.1f s per run"
                 % cp["secs"])
        st = (res.get("bpf_stats") or {}).get("cruntime")
        hits = None
        if st:
            hits = sum(v["per_poll"] for n, v in st["progs"].items() if n != "sched_switch")
        L += pingpong_lines(cp, cp["modes"], usdt, "USDT nop5", counted=hits)
        L.append("    counted = USDT probes fired per poll (run count of taskscope's USDT"
                 " program in the bpf_stats run)")
        bpf = bpf_ns_per_poll(res, "cruntime")
        a = med(cp["default"].get("added_cpu_ns_per_poll"))
        if usdt and hits:
            L.append("    floor: %s ns/hit × %s hits/poll = %s ns, + BPF programs %s ns = %s ns"
                     " predicted; measured %s CPU ns/poll" % (
                         fmt(usdt, ".0f"), fmt(hits, ".2f"), fmt(usdt * hits, ".0f"),
                         fmt(bpf, ".0f"), fmt(usdt * hits + (bpf or 0), ".0f"), fmt(a, ".0f")))
    L += sampled_lines(res)
    L += record_lines(res)
    L += profile_lines(res)
    v = res.get("verdict")
    if v:
        L.append("")
        L.append("issue 6 targets (default mode):")
        for line in v:
            L.append("    " + line)
    tr = res.get("truncated_by_budget")
    if tr:
        L.append("")
        L.append("cut short by the time budget: %s" % ", ".join(tr))
    return "\n".join(L)


def sampled_lines(res):
    """5. --mode sampled next to the precise modes, and issue 10's targets."""
    L = []
    pp, h, sc = res.get("pingpong"), res.get("http"), res.get("sampled_scale")
    bs = (res.get("bpf_stats") or {}).get("sampled")
    if not (pp and "sampled" in pp) and not (h and h.get("by_conns")) and not sc:
        return L
    L.append("")
    L.append("5. --mode sampled (no uprobe but bursts of 10-80 ms per second; 199 Hz cpu-clock"
             " samples)")
    if pp and "sampled" in pp:
        d = pp["sampled"]
        L.append("    ping-pong: CPU per poll %s ns vs %s unobserved: %s %% added"
                 " (wall %s ns/poll)" % (
                     fmt_s(d["cpu_ns_per_poll"], ".0f"),
                     fmt_s(pp["none"]["cpu_ns_per_poll"], ".0f"),
                     fmt_s(d.get("cpu_added_pct"), ".2f"), fmt_s(d["ns_per_poll"], ".0f")))
        for m in PRECISE:
            if m in pp:
                L.append("    ping-pong %-7s for comparison: %s %% added CPU per poll" % (
                    m, fmt_s(pp[m].get("cpu_added_pct"), ".0f")))
        e = pp.get("sampled_vs_default")
        if e:
            L.append("    estimation error vs --mode default (each on its own run):"
                     " polls/s %s %%, worker busy max %s points, task busy max %s points" % (
                         fmt_s(e["polls_per_s_err_pct"], "+.1f"),
                         fmt_s(e["worker_busy_max_diff_points"], ".1f"),
                         fmt_s(e["task_busy_max_diff_points"], ".1f")))
            L.append("    sampled polls/s vs the program's own count in that run: %s %%"
                     " (bursts count polls while every poll traps: a CPU-bound loop"
                     " runs slower then)" % fmt_s(e["polls_per_s_vs_program_pct"], "+.1f"))
    if h and h.get("by_conns"):
        for conns, c in h["by_conns"].items():
            if "sampled" not in c:
                continue
            d = c["sampled"]
            L.append("    http c=%-3s requests/s %s vs %s unobserved: loss %s %%,"
                     " server CPU/request +%s µs" % (
                         conns, fmt_s(d["rps"], ".0f"), fmt_s(c["none"]["rps"], ".0f"),
                         fmt_s(d.get("rps_loss_pct"), ".1f"),
                         fmt_s(d.get("added_server_cpu_us_per_request"), ".2f")))
            e = c.get("sampled_vs_default")
            if e:
                L.append("        vs --mode default: polls/s %s %%, worker busy max %s points" % (
                    fmt_s(e["polls_per_s_err_pct"], "+.1f"),
                    fmt_s(e["worker_busy_max_diff_points"], ".1f")))
            L.append("        taskscope CPU in window %s %%, per run %s s" % (
                fmt_s(d.get("taskscope_window_cpu_pct"), ".1f"),
                fmt_s(d.get("taskscope_cpu_s"), ".3f")))
    if bs:
        secs = bs.get("secs") or CFG["pingpong_s"]
        parts = ["%s %.0f runs/s × %.0f ns" % (n, v["run_cnt"] / secs, v["ns_per_run"])
                 for n, v in sorted(bs["progs"].items())]
        L.append("    BPF programs during a sampled ping-pong (bpf_stats): " + "; ".join(parts))
    if sc and sc.get("sampled"):
        d, dd = sc["sampled"], sc.get("default") or {}
        L.append("    taskscope on %d parked tasks, report -d 5: sampled %s s CPU in all,"
                 " default %s s; max RSS %s KiB" % (
                     sc["tasks"], fmt_s(d["cpu_s"], ".2f"), fmt_s(dd.get("cpu_s"), ".2f"),
                     fmt(med(d["maxrss_kb"]), ".0f")))
        L.append("        per refresh: memory snapshot %s ms, burst %s ms of taskscope's CPU"
                 " (the first full scan and the last snapshot, as long as a default-mode"
                 " report's, not counted)" % (fmt_s(d.get("cpu_ms_per_snapshot"), ".1f"),
                                              fmt_s(d.get("cpu_ms_per_burst"), ".1f")))
    cost = res.get("sample_cost")
    if cost:
        L.append("    a cpu-clock sample costs the CPU it interrupts %s µs (from 4000 Hz: %s %% of"
                 " a computing loop); at 199 Hz: %s %%" % (
                     fmt_s(cost.get("us_per_sample_4000"), ".1f"),
                     fmt_s(cost.get("loss_pct_4000"), ".1f"),
                     fmt_s(cost.get("loss_pct_199"), ".2f")))
    load = (res.get("machine") or {}).get("loadavg_start")
    if load and load[0] > 1.0:
        L.append("    (load average %.1f at the start on %s CPUs: other work shared the CPUs;"
                 " paired CPU per request moves least)" % (load[0], res["machine"].get("cpus")))
    L.append("    issue 10 targets:")
    if h and h.get("by_conns"):
        for conns, c in h["by_conns"].items():
            # the figure is top left running (sampled, its default)
            m = "top" if c.get("top") else "sampled"
            d = c.get(m) or {}
            loss = med(d.get("rps_loss_pct"))
            closs = med(d.get("cpu_bound_loss_pct"))
            spread = (c["none"].get("rps") or {}).get("spread_pct")
            if loss is not None:
                L.append("      ≤ 2 %% requests/s loss with %s (http, %s conns): %s — %.1f %%"
                         " (CPU-bound loss %s %%; unobserved requests/s spread %s %% between"
                         " rounds)" % ("top" if m == "top" else "report --mode sampled", conns,
                                       "met" if loss <= 2 else "NOT met", loss,
                                       fmt(closs, ".1f"), fmt(spread, ".0f")))
    if pp and "sampled" in pp:
        a = med(pp["sampled"].get("cpu_added_pct"))
        if a is not None:
            L.append("      ≤ 2 %% added CPU per poll (ping-pong): %s — %.2f %%" % (
                "met" if a <= 2 else "NOT met", a))
        e = pp.get("sampled_vs_default") or {}
        r = med(e.get("polls_per_s_err_pct"))
        if r is not None:
            L.append("      polls/s within ±15 %% of --mode default (ping-pong, polls shorter than"
                     " a trap): %s — %+.1f %%" % ("met" if abs(r) <= 15 else "NOT met", r))
    es = res.get("estimates")
    if es:
        r = med((es.get("sampled") or {}).get("polls_per_s_vs_program_pct"))
        b = med((es.get("sampled") or {}).get("task_busy_vs_program_max_points"))
        if r is not None:
            L.append("      polls/s within ±15 %% of the program's own (estimates): %s — %+.1f %%"
                     % ("met" if abs(r) <= 15 else "NOT met", r))
        if b is not None:
            L.append("      busy share within ±5 points of the program's own (estimates): %s —"
                     " %.2f points" % ("met" if b <= 5 else "NOT met", b))
    return L


def scale(s, k):
    if not s:
        return None
    return {kk: (vv * k if isinstance(vv, (int, float)) and kk not in ("n", "spread_pct")
                 else vv) for kk, vv in s.items()}


def bpf_ns_per_poll(res, key):
    d = (res.get("bpf_stats") or {}).get(key)
    if not d:
        return None
    return sum(v["per_poll"] * v["ns_per_run"] for v in d["progs"].values())


# ---- taskscope record (issue 14): what a recording costs, and what it holds ----

def record_start(pid, secs, ring_kb=None):
    """taskscope record on pid for secs, attached: (proc, path, stderr file) or None."""
    fd, path = tempfile.mkstemp(prefix="ts-record-", suffix=".json")
    os.close(fd)
    errf = tempfile.TemporaryFile()
    argv = [TASKSCOPE, "record", "-p", str(pid), "-d", "%.3f" % secs, "-o", path]
    if ring_kb:
        argv += ["--ring-kb", str(ring_kb)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errf)
    if wait_attached(proc, "default") is None:
        stop(proc)
        os.unlink(path)
        return None
    return proc, path, errf, proc_cpu_s(proc.pid), time.monotonic()


def record_finish(rec, timeout):
    """What the recording holds: polls (slices), wake arrows, drops, bytes."""
    proc, path, errf, cpu0, t0 = rec
    out = {}
    try:
        out["window_cpu_pct"] = 100.0 * (proc_cpu_s(proc.pid) - cpu0) / \
            max(time.monotonic() - t0, 1e-3)
        proc.wait(timeout=timeout)
        errf.seek(0)
        out["stderr"] = errf.read().decode(errors="replace")[-400:]
        if proc.returncode:
            err("taskscope record exited %d: %s" % (proc.returncode, out["stderr"]))
            return None
        with open(path) as f:
            sec = json.load(f)["taskscope"]
        out.update({k: sec.get(k) for k in ("events", "slices", "flows", "dropped", "stalls")})
        out["snapshots"] = len(sec.get("snapshots", []))
        out["seconds"] = (sec["end_ns"] - sec["start_ns"]) / 1e9
        out["bytes"] = os.path.getsize(path)
        if out.get("slices"):
            out["bytes_per_poll"] = out["bytes"] / out["slices"]
    except (subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
        err("taskscope record: %s: %s" % (type(e).__name__, e))
        stop(proc)
        return None
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    return out


def part_record(res):
    """taskscope record on the ping-pong (every poll on the critical path)
    and on the HTTP server under wrk, against the same workload unobserved:
    the target's CPU per poll or per request, the polls recorded per second,
    the events dropped, the bytes per poll in the file."""
    out = {"pingpong": [], "http": []}
    secs = CFG["pingpong_s"]
    binp = os.path.join(TARGETS, "bench_pingpong")
    for r in range(CFG["rounds"]):
        if r >= 2 and over_budget("record"):
            break
        for mode in rotated(["none", "default", "record"], r):
            if mode == "default":
                # the same probes without the ring: what recording adds to them
                row = pingpong_round("default", secs)
                if row:
                    row["round"] = r
                    out["pingpong"].append(row)
                    log("  record pingpong round %d %-7s %8.0f CPU ns/poll" % (
                        r, mode, row.get("cpu_ns_per_poll", 0)))
                continue
            p, pid = start_target([binp, "%.3f" % secs])
            if not p:
                err("bench_pingpong did not start")
                continue
            rec = None
            try:
                if mode == "record":
                    rec = record_start(pid, secs + SLACK_S + 0.5)
                    if not rec:
                        err("taskscope record did not attach to bench_pingpong")
                        continue
                cpu0 = proc_cpu_ns(pid)
                p.stdin.write(b"go\n")
                p.stdin.flush()
                line = read_line(p, secs + 30, "result")
                cpu1 = proc_cpu_ns(pid)
                if not line:
                    err("bench_pingpong gave no result (%s)" % mode)
                    continue
                row = {"mode": mode, "round": r}
                row.update(result_fields(line))
                if cpu0 is not None and cpu1 is not None and row.get("polls"):
                    row["cpu_ns_per_poll"] = (cpu1 - cpu0) / row["polls"]
                if rec:
                    o = record_finish(rec, secs + 60)
                    rec = None
                    if not o:
                        continue
                    row["record"] = o
                    # polls in the file per second of the ping-pong's window
                    row["recorded_polls_per_s"] = o["slices"] / row["secs"]
                    row["recorded_share"] = o["slices"] / row["polls"] if row["polls"] else None
                out["pingpong"].append(row)
                log("  record pingpong round %d %-6s %8.0f CPU ns/poll%s" % (
                    r, mode, row.get("cpu_ns_per_poll", 0),
                    " %.0f polls/s recorded, %d dropped, %.0f B/poll" % (
                        row["recorded_polls_per_s"], row["record"]["dropped"],
                        row["record"].get("bytes_per_poll", 0)) if "record" in row else ""))
            finally:
                if rec:
                    stop(rec[0])
                    try:
                        os.unlink(rec[1])
                    except OSError:
                        pass
                try:
                    p.stdin.close()
                except OSError:
                    pass
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    stop(p)

    name, hbin = http_server()
    hsecs, conns = CFG["http_s"], CFG["http_conns"][0]
    hp = subprocess.Popen([hbin, "0", "900"], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
    try:
        line = read_line(hp, 20, "listening")
        ready = read_line(hp, 20, "ready") if line else None
        if not ready:
            err("HTTP server %s did not start" % hbin)
        else:
            port = int(line.split()[1].rsplit(":", 1)[1])
            pid = int(ready.split()[1])
            run_wrk(port, conns, 1)  # warm-up
            for r in range(CFG["rounds"]):
                if r >= 1 and over_budget("record"):
                    break
                for mode in rotated(["none", "default", "record"], r):
                    rec = obs = None
                    if mode == "default":
                        obs = Observer(pid, "default", hsecs + SLACK_S)
                        if not obs.ok():
                            err("taskscope report did not attach to the HTTP server")
                            obs.finish(10)
                            continue
                    if mode == "record":
                        rec = record_start(pid, hsecs + SLACK_S + 0.5)
                        if not rec:
                            err("taskscope record did not attach to the HTTP server")
                            continue
                    cpu0 = proc_cpu_ns(pid)
                    w = run_wrk(port, conns, hsecs)
                    cpu1 = proc_cpu_ns(pid)
                    o = record_finish(rec, hsecs + 60) if rec else None
                    if obs:
                        obs.window_end()
                        obs.finish(hsecs + 60)
                    if not w or (rec and not o):
                        continue
                    row = dict(w, mode=mode, round=r, conns=conns)
                    if cpu0 is not None and cpu1 is not None and w.get("requests"):
                        row["server_cpu_us_per_request"] = (cpu1 - cpu0) / 1e3 / w["requests"]
                    if o:
                        row["record"] = o
                        row["recorded_polls_per_s"] = o["slices"] / hsecs
                    out["http"].append(row)
                    log("  record http round %d %-6s %9.0f req/s%s" % (
                        r, mode, w["rps"], " %.0f polls/s recorded, %d dropped, %.0f B/poll" % (
                            row["recorded_polls_per_s"], o["dropped"],
                            o.get("bytes_per_poll", 0)) if o else ""))
    finally:
        stop(hp)
    out["server"] = name
    modes = ("none", "default", "record")
    for key, metric in (("pingpong", "cpu_ns_per_poll"), ("http", "server_cpu_us_per_request")):
        runs = out[key]
        by = {m: {x["round"]: x for x in runs if x["mode"] == m} for m in modes}
        s = {m: {metric: summary([x.get(metric) for x in by[m].values()])} for m in modes}
        for m in modes[1:]:
            pairs = [(by[m][k].get(metric), by["none"][k].get(metric))
                     for k in by[m] if k in by["none"]]
            pairs = [(a, b) for a, b in pairs if a and b]
            s[m]["added_pct"] = summary([100.0 * (a / b - 1) for a, b in pairs])
        # recording against the same probes without it
        pairs = [(by["record"][k].get(metric), by["default"][k].get(metric))
                 for k in by["record"] if k in by["default"]]
        pairs = [(a, b) for a, b in pairs if a and b]
        s["record"]["vs_default_pct"] = summary([100.0 * (a / b - 1) for a, b in pairs])
        if key == "http":
            for m in modes:
                s[m]["rps"] = summary([x.get("rps") for x in by[m].values()])
            for m in modes[1:]:
                s[m]["rps_loss_pct"] = summary(
                    [100.0 * (1 - by[m][k]["rps"] / by["none"][k]["rps"])
                     for k in by[m] if k in by["none"]])
        recs = [x for x in by["record"].values() if "record" in x]
        s["record"]["recorded_polls_per_s"] = summary([x["recorded_polls_per_s"] for x in recs])
        s["record"]["dropped"] = summary([x["record"]["dropped"] for x in recs])
        s["record"]["bytes_per_poll"] = summary([x["record"].get("bytes_per_poll")
                                                 for x in recs])
        s["record"]["taskscope_cpu_pct"] = summary([x["record"].get("window_cpu_pct")
                                                    for x in recs])
        out[key + "_summary"] = s
    res["record"] = out


def record_lines(res):
    d = res.get("record")
    if not d:
        return []
    L = ["", "1h. taskscope record (Chrome trace + snapshots; default ring 4 MiB)"]
    pp = d.get("pingpong_summary")
    if pp:
        r = pp["record"]
        L.append("    ping-pong: CPU ns/poll none %s, report (default mode) %s, recording %s"
                 " (%s %% vs report); %s polls/s recorded,"
                 " dropped %s, %s bytes/poll, taskscope %s %% CPU" % (
                     fmt_s(pp["none"]["cpu_ns_per_poll"], ".0f"),
                     fmt_s(pp["default"]["cpu_ns_per_poll"], ".0f"),
                     fmt_s(r["cpu_ns_per_poll"], ".0f"), fmt_s(r["vs_default_pct"], "+.0f"),
                     fmt_s(r["recorded_polls_per_s"], ".0f"), fmt_s(r["dropped"], ".0f"),
                     fmt_s(r["bytes_per_poll"], ".0f"), fmt_s(r["taskscope_cpu_pct"], ".1f")))
    h = d.get("http_summary")
    if h:
        r = h["record"]
        L.append("    HTTP (%s): req/s none %s, report (default mode) %s (loss %s %%), recording"
                 " %s (loss %s %%), server CPU/request %s %% vs report;"
                 " %s polls/s recorded, dropped %s, %s bytes/poll, taskscope %s %% CPU" % (
                     d.get("server", "?"), fmt_s(h["none"]["rps"], ".0f"),
                     fmt_s(h["default"]["rps"], ".0f"), fmt_s(h["default"]["rps_loss_pct"], ".1f"),
                     fmt_s(r["rps"], ".0f"),
                     fmt_s(r["rps_loss_pct"], ".1f"), fmt_s(r["vs_default_pct"], "+.0f"),
                     fmt_s(r["recorded_polls_per_s"], ".0f"), fmt_s(r["dropped"], ".0f"),
                     fmt_s(r["bytes_per_poll"], ".0f"), fmt_s(r["taskscope_cpu_pct"], ".1f")))
def profile_lines(res):
    """taskscope profile next to report --mode default, side by side."""
    L = []
    pp = res.get("profile_pingpong")
    hs = [res[k] for k in ("profile_http", "profile_http_async") if res.get(k)]
    if not pp and not hs:
        return L
    L.append("")
    L.append("5. taskscope profile (issue 14) vs report (default mode): same probes,"
             " + a state-machine walk per poll")
    if pp:
        L.append("    ping-pong       %-26s %-26s %s" % ("CPU ns/poll", "added CPU ns/poll",
                                                       "ratio to none"))
        none = med(pp["none"]["cpu_ns_per_poll"])
        for m in PROFILE_MODES:
            d = pp.get(m, {})
            c = med(d.get("cpu_ns_per_poll"))
            L.append("    %-15s %-26s %-26s %s" % (
                m, fmt_s(d.get("cpu_ns_per_poll"), ".0f"),
                fmt_s(d.get("added_cpu_ns_per_poll"), ".0f") if m != "none" else "–",
                fmt(c / none if c and none else None, ".1f", "×")))
        a_def = med(pp.get("default", {}).get("added_cpu_ns_per_poll"))
        a_prof = med(pp.get("profile", {}).get("added_cpu_ns_per_poll"))
        if a_def is not None and a_prof is not None:
            L.append("    profile's own share: %s CPU ns per poll over default (%s)" % (
                fmt(a_prof - a_def, ".0f"), fmt(a_prof / a_def if a_def else None, ".2f", "×")))
    st = res.get("profile_bpf_stats") or {}
    for m in ("default", "profile"):
        d = st.get(m)
        if d:
            parts = ["%s %s × %.0f ns" % (n, fmt(v["per_poll"], ".2f"), v["ns_per_run"])
                     for n, v in sorted(d["progs"].items())]
            tot = sum(v["per_poll"] * v["ns_per_run"] for v in d["progs"].values())
            L.append("    BPF (bpf_stats) %-8s %s = %.0f ns/poll" % (m, "; ".join(parts), tot))
    for ph in hs:
        for conns, c in ph["by_conns"].items():
            L.append("    HTTP (%s, %s conns)  %-22s %-18s %s" % (
                ph["server"], conns, "requests/s", "loss %", "server CPU us/req"))
            for m in PROFILE_MODES:
                d = c.get(m, {})
                L.append("    %-26s %-22s %-18s %s" % (
                    m, fmt_s(d.get("rps"), ".0f"),
                    fmt_s(d.get("rps_loss_pct"), ".1f") if m != "none" else "–",
                    fmt_s(d.get("server_cpu_us_per_request"), ".1f")))
    return L


def verdict(res):
    out = []
    pp = res.get("pingpong")
    pr = res.get("probe")
    trap = med(pr["ts_hit_jmp"]) if pr else None
    if pp:
        d = pp["default"]
        cnt = med(d.get("counted_traps_per_poll"))
        added = med(d.get("added_cpu_ns_per_poll"))
        out.append("≤ 1 trap per poll on the hot path: %s — %s traps counted per poll"
                   " (1 poll entry + %s wakes)%s" % (
                       "met" if cnt is not None and cnt <= 1.05 else "NOT met",
                       fmt(cnt, ".2f"), fmt(med(d.get("wakes_per_poll")), ".2f"),
                       (", %s trap-equivalents of CPU" % fmt(added / trap, ".2f"))
                       if added is not None and trap else ""))
        bpf = bpf_ns_per_poll(res, "default")
        if trap and cnt:
            out.append("cost floor (ping-pong): %s ns/trap × %s traps/poll = %s ns, + BPF"
                       " programs %s ns = %s ns/poll predicted; measured %s CPU ns/poll"
                       " (%s wall)" % (
                           fmt(trap, ".0f"), fmt(cnt, ".2f"), fmt(trap * cnt, ".0f"),
                           fmt(bpf, ".0f"), fmt(trap * cnt + (bpf or 0), ".0f"),
                           fmt(added, ".0f"), fmt(med(d.get("added_ns_per_poll")), ".0f")))
    h = res.get("http")
    if h:
        for conns, c in h["by_conns"].items():
            d = c["default"]
            loss = med(d.get("rps_loss_pct"))
            closs = med(d.get("cpu_bound_loss_pct"))
            base = med(c["none"].get("server_cpu_us_per_request"))
            added = med(d.get("added_server_cpu_us_per_request"))
            line = ("≤ 3 %% requests/s loss (HTTP, %s conns): %s — %s %% requests/s lost,"
                    " %s %% CPU-bound (server CPU %s → +%s µs/request)" % (
                        conns, "met" if loss is not None and loss <= 3 else "NOT met",
                        fmt(loss, ".1f"), fmt(closs, ".1f"), fmt(base, ".1f"),
                        fmt(added, ".1f")))
            out.append(line)
            ppr = med(d.get("polls_per_request"))
            wpp = med(d.get("wakes_per_poll"))
            if trap and ppr is not None and wpp is not None:
                pred = trap / 1e3 * ppr * (1 + wpp)
                out.append("  traps: %.2f polls + %.2f wakes per request × %.1f µs = %.1f µs"
                           " predicted; measured +%s µs of server CPU per request" % (
                               ppr, ppr * wpp, trap / 1e3, pred, fmt(added, ".1f")))
            if base and trap:
                one = trap / 1e3
                out.append("  floor: 3 %% of %.1f µs is %.2f µs per request; one trap is %.1f µs,"
                           " so even 1 trap per request costs ≥ %.0f %%" % (
                               base, 0.03 * base, one, 100 * one / (base + one)))
    return out


def main():
    if os.geteuid() != 0:
        print("bench: needs root (sudo make bench)", file=sys.stderr)
        return 2
    if not os.access(TASKSCOPE, os.X_OK):
        print("bench: %s missing (make)" % TASKSCOPE, file=sys.stderr)
        return 2
    # Private copies of every binary: other work on this tree (make clean,
    # a rebuild) must not pull a binary from under a running benchmark.
    priv = tempfile.mkdtemp(prefix="taskscope-bench-")
    try:
        return run_all(priv)
    finally:
        shutil.rmtree(priv, ignore_errors=True)


def private_copies(priv):
    global TASKSCOPE, TARGETS, BENCH_BUILD
    src_targets, src_build = TARGETS, BENCH_BUILD
    TARGETS = os.path.join(priv, "targets")
    BENCH_BUILD = os.path.join(priv, "bench")
    os.makedirs(TARGETS)
    os.makedirs(BENCH_BUILD)
    shutil.copy2(TASKSCOPE, os.path.join(priv, "taskscope"))
    TASKSCOPE = os.path.join(priv, "taskscope")
    for name in ("bench_pingpong", "bench_http", "bench_manytypes"):
        shutil.copy2(os.path.join(src_targets, name), TARGETS)
    # the sampled part's 20,000-task target, a test target (make targets)
    if os.path.exists(os.path.join(src_targets, "many_tasks")):
        shutil.copy2(os.path.join(src_targets, "many_tasks"), TARGETS)
    # built by bench/run.sh when it can be
    if os.path.exists(os.path.join(src_targets, "bench_hyper")):
        shutil.copy2(os.path.join(src_targets, "bench_hyper"), TARGETS)
    for name in ("probe_hit", "c_pingpong", "spin_loop"):
        if os.path.exists(os.path.join(src_build, name)):
            shutil.copy2(os.path.join(src_build, name), os.path.join(BENCH_BUILD, name))


def run_all(priv):
    try:
        private_copies(priv)
    except OSError as e:
        print("bench: copying the binaries failed: %s (make all targets?)" % e,
              file=sys.stderr)
        return 2
    t0 = T_START
    res = {"config": CFG, "machine": machine(),
           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    parts = [("probe", part_probe), ("pingpong", part_pingpong), ("spawn", part_spawn),
             ("cruntime", part_cruntime), ("pingpong", part_bpf_stats),
             ("http", part_http), ("attach", part_attach), ("sampled", part_sampled),
             ("estimates", part_estimates), ("record", part_record),
             ("profile", part_profile)]
    for name, fn in parts:
        if name not in CFG["parts"]:
            continue
        if fn is part_bpf_stats and over_budget("bpf_stats"):
            continue
        log("bench: %s (%.0f s so far)" % (fn.__name__[5:], time.monotonic() - t0))
        try:
            fn(res)
        except Exception as e:  # one part failing must not lose the others
            err("%s: %s: %s" % (fn.__name__, type(e).__name__, e))
    if "cruntime" not in res:
        res["cruntime"] = "not run (PARTS)"
    # kernel map memory, from any observed run (the same maps every time)
    maps = None
    for src in (res.get("http", {}).get("by_conns", {}).values()):
        maps = src.get("default", {}).get("maps") or maps
    if not maps and res.get("pingpong"):
        for x in res["pingpong"]["runs"]:
            maps = x.get("observer", {}).get("maps") or maps
    if maps:
        by = {}
        for m in maps:
            n = m.get("name", "map%d" % m["id"])
            by[n] = by.get(n, 0) + m["memlock"]
        res["kernel_maps"] = {"by_name": by, "total": sum(by.values()), "maps": maps}
    res["machine"]["loadavg_end"] = os.getloadavg()
    res["elapsed_s"] = time.monotonic() - t0
    res["verdict"] = verdict(res)
    res["errors"] = errors
    res["truncated_by_budget"] = truncated
    res["binaries"] = {"taskscope": os.path.join(ROOT, "build", "taskscope"),
                       "copied_to": priv}
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results",
                        "bench-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    print(table(res))
    print("\nJSON: %s (%.0f s)" % (os.path.relpath(path, ROOT), res["elapsed_s"]))
    if errors:
        print("%d error(s):\n  %s" % (len(errors), "\n  ".join(errors)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
