"""Every probe of usdt/taskscope.h, fired once with known values, decoded by
taskscope's BPF side and read back from `taskscope report --json`."""
import os
import subprocess

from tslib import Target, check, finish, run, ROOT
import json

BUILD = os.path.join(ROOT, "build", "tests")
SRC = os.path.join(ROOT, "tests", "e2e", "progs", "usdt_decode.c")
EXE = os.path.join(BUILD, "usdt_decode")


def main():
    os.makedirs(BUILD, exist_ok=True)
    r = subprocess.run(["cc", "-O2", "-g", "-Wall", "-Werror", "-I", os.path.join(ROOT, "usdt"),
                        SRC, "-o", EXE], capture_output=True, text=True)
    if not check("usdt_decode: builds", r.returncode == 0, r.stderr[-400:]):
        return
    with Target("usdt_decode", path=EXE, settle=0) as t:
        r = run(["report", "-p", str(t.pid), "-d", "2", "--json", "--all"])
        try:
            data = json.loads(r.stdout)
        except ValueError:
            check("usdt_decode: report ran", False, f"{r.returncode} {r.stderr} {r.stdout[:300]}")
            return
        tasks = {x["id"]: x for x in data["tasks"]}
        fin = tasks.get(0xfeedface00000001)
        parked = tasks.get(0x8000000000000042)
        check("usdt_decode: task_spawn ids are full 64-bit", fin is not None and parked is not None,
              f"{sorted(tasks)}")
        if fin:
            check("usdt_decode: task_spawn name and location",
                  fin["name"] == "finisher" and fin["location"] == "usdt_decode.c:37", f"{fin}")
            check("usdt_decode: poll_start/poll_end counted", fin["polls"] == 2, f"{fin}")
            check("usdt_decode: wake counted", fin["wakes"] == 1, f"{fin}")
            check("usdt_decode: poll_end ready + task_drop make it done",
                  fin["state"] == "done", f"{fin}")
        if parked:
            check("usdt_decode: UTF-8 name read", parked["name"] == "parked \u03bb", f"{parked}")
            check("usdt_decode: wait_begin after wait_end leaves it waiting",
                  parked.get("waiting_on") == 0x7f00dead0000beef and parked["state"] == "idle",
                  f"{parked}")
        res = {x["id"]: x for x in data.get("resources", [])}
        ch = res.get(0x7f00dead0000beef)
        lk = res.get(0x1234)
        check("usdt_decode: resource_new channel", ch and ch["kind"] == "channel" and
              ch["name"] == "jobs" and ch["capacity"] == 64, f"{ch}")
        check("usdt_decode: channel_len keeps 64 bits", ch and ch["len"] == 0x100000003, f"{ch}")
        check("usdt_decode: wait_begin/wait_end count waiters", ch and ch["waiters"] == 1, f"{ch}")
        check("usdt_decode: acquire/release track the holder", lk and lk["kind"] == "mutex" and
              lk["name"] == "state_lock" and lk["holder"] == 0xfeedface00000001, f"{lk}")
        idle = [s for s in data["stalls"] if s["kind"] == "idle"]
        check("usdt_decode: parked task's stall names the channel", idle and
              'channel "jobs" (4294967299 of 64 queued)' in idle[0]["message"], f"{idle}")


if __name__ == "__main__":
    main()
    finish()
