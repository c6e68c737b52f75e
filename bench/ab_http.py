#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A/B of report options on the HTTP server under wrk: fewer conditions than
bench.py, more rounds, to see a cost of a few percent.

    sudo bench/ab_http.py ROUNDS CONNS COND...

Each COND is `none`, `top` (`taskscope top --batch` in its default mode,
sampled, refreshing every second through the window; started before it and
given its first refresh, as a top left running all day is past its
start-up; `top,--sample-hz,99` adds options to it), `record` (`taskscope
record` through the window, the file thrown away after its polls and drops
are printed), or comma-separated
`taskscope report` options added to `--mode sampled` (e.g. `--burst,0`,
`--sample-hz,1000`). One server
(bench_hyper, else bench_http) serves every round; the conditions alternate
and their order rotates each round. Prints, per condition, the median
requests/s and server CPU per request, and the median of the per-round
differences against the first condition.
"""
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKSCOPE = os.path.join(ROOT, "build", "taskscope")
TARGETS = os.path.join(ROOT, "tests", "targets", "target", "release")


def main():
    if len(sys.argv) < 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    rounds, conns, names = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    server = os.path.join(TARGETS, "bench_hyper")
    if not os.access(server, os.X_OK):
        server = os.path.join(TARGETS, "bench_http")
    p = subprocess.Popen([server, "0", "900"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    port = pid = None
    for line in p.stdout:
        if line.startswith("listening"):
            port = int(line.split(":")[-1])
        if line.startswith("ready"):
            pid = int(line.split()[1])
            break
    try:
        return run(rounds, conns, names, port, pid)
    finally:
        p.kill()
        p.wait()


def cpu_ns(pid):
    return sum(int(open("/proc/%d/task/%s/schedstat" % (pid, t)).read().split()[0])
               for t in os.listdir("/proc/%d/task" % pid))


def wrk(port, conns, secs):
    r = subprocess.run(["wrk", "-t2", "-c%d" % conns, "-d%ds" % secs,
                        "http://127.0.0.1:%d/" % port], capture_output=True, text=True,
                       timeout=secs + 30)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", r.stdout).group(1))
    return rps, int(re.search(r"(\d+) requests in", r.stdout).group(1))


def proc_cpu_s(pid):
    """User + system CPU seconds of process pid so far (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sampling(proc, timeout=10):
    """Waits until taskscope's cpu-clock events are open (it is observing)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        for fd in os.listdir("/proc/%d/fd" % proc.pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (proc.pid, fd)) == "anon_inode:[perf_event]":
                    time.sleep(0.2)
                    return True
            except OSError:
                pass
        time.sleep(0.01)
    return False


def attached(proc, timeout=20):
    """Waits until taskscope holds its BPF links (record: it is recording)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        links = 0
        for fd in os.listdir("/proc/%d/fd" % proc.pid):
            try:
                links += os.readlink("/proc/%d/fd/%s" % (proc.pid, fd)) == "anon_inode:bpf_link"
            except OSError:
                pass
        if links >= 3:
            time.sleep(0.2)
            return True
        time.sleep(0.01)
    return False


def run(rounds, conns, names, port, pid):
    secs = 4
    wrk(port, conns, 1)  # warm-up
    res = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            obs = None
            if n == "top" or n.startswith("top,"):
                obs = subprocess.Popen([TASKSCOPE, "top", "--batch", "-p", str(pid), "-i", "1",
                                        "-n", str(secs + 4)] + n.split(",")[1:],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if not sampling(obs):
                    print("taskscope top did not start", file=sys.stderr)
                    obs.wait()
                    return 1
                time.sleep(1.2)  # past its first refresh (the full memory scan)
            elif n == "record":
                path = "/tmp/ab_http_record.json"
                obs = subprocess.Popen([TASKSCOPE, "record", "-p", str(pid), "-d", str(secs + 1),
                                        "-o", path], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
                if not attached(obs):
                    print("taskscope record did not start", file=sys.stderr)
                    obs.wait()
                    return 1
            elif n != "none":
                obs = subprocess.Popen([TASKSCOPE, "report", "-p", str(pid), "-d", str(secs + 1),
                                        "--mode", "sampled", "--json"] + n.split(","),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if not sampling(obs):
                    print("taskscope %s did not start" % n, file=sys.stderr)
                    obs.wait()
                    return 1
            o0 = proc_cpu_s(obs.pid) if obs else 0
            t0 = time.monotonic()
            c0 = cpu_ns(pid)
            rps, nreq = wrk(port, conns, secs)
            c1 = cpu_ns(pid)
            own = 100 * (proc_cpu_s(obs.pid) - o0) / (time.monotonic() - t0) if obs else 0
            if obs:
                _, rec_err = obs.communicate(timeout=60)
                if n == "record":
                    # "recorded PID ... N polls ...", "dropped N events"
                    print(" ".join(rec_err.split()), file=sys.stderr)
                    os.unlink(path)
            res[n].append((rps, (c1 - c0) / nreq / 1e3, own))
    base = res[names[0]]
    for n in names:
        v = res[n]
        dc = [100 * (v[i][1] / base[i][1] - 1) for i in range(rounds)]
        dr = [100 * (1 - v[i][0] / base[i][0]) for i in range(rounds)]
        print("%-24s requests/s %8.0f  CPU/request %6.2f us  vs %s: CPU %+6.2f %%, "
              "requests/s loss %+6.2f %%  taskscope %.1f %% of a CPU in the window" % (
                  n, statistics.median(x[0] for x in v), statistics.median(x[1] for x in v),
                  names[0], statistics.median(dc), statistics.median(dr),
                  statistics.median(x[2] for x in v)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
