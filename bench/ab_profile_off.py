#!/usr/bin/env python3
"""What profile's BPF code costs the other commands while no profile runs:
task_poll's run time (kernel.bpf_stats_enabled) under `report --mode default`
on the ping-pong, this build against another (BASE: a build of the commit
before the profile work), alternating, ROUNDS pairs.

    sudo BASE=/tmp/base/build/taskscope bench/ab_profile_off.py

Prints each run and the medians; never fails on timing (exit 2 only when a
binary is missing).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

base = os.environ.get("BASE")
this = os.path.join(bench.ROOT, "build", "taskscope")
if not base or not os.access(base, os.X_OK) or not os.access(this, os.X_OK):
    print("ab_profile_off: set BASE to another build's taskscope (and make this one)",
          file=sys.stderr)
    sys.exit(2)
rounds = bench.env_int("ROUNDS", 4)
bins = {"base": base, "this": this}
runs = {"base": [], "this": []}
for r in range(rounds):
    for name in (["base", "this"] if r % 2 == 0 else ["this", "base"]):
        bench.TASKSCOPE = bins[name]
        st = bench.bpf_stats_runs([("default", "default", None, None)]) or {}
        progs = st.get("default", {}).get("progs", {})
        if "task_poll" in progs:
            runs[name].append(progs["task_poll"]["ns_per_run"])
            print("%-4s round %d: task_poll %.0f ns/run, task_wake %.0f ns/run" % (
                name, r, progs["task_poll"]["ns_per_run"],
                progs.get("task_wake", {}).get("ns_per_run", 0)), flush=True)
for name, v in runs.items():
    if v:
        v.sort()
        print("%-4s task_poll median %.0f ns [%.0f-%.0f]" % (name, v[len(v) // 2], v[0], v[-1]))
