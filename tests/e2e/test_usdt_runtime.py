"""taskscope report on the C runtime instrumented with usdt/taskscope.h.

Same planted scenarios as the tokio targets; tasks and resources are named
by the runtime itself through the probes.
"""
import os

from tslib import Target, check, finish, report, stalls, tasks_named, ROOT

CRT = os.path.join(ROOT, "tests", "targets", "cruntime", "build")


def target(name, settle=0.5):
    return Target(name, path=os.path.join(CRT, name), settle=settle)


def test_healthy():
    with target("c_healthy") as t:
        code, data, err = report(t.pid, 2)
        if not check("c_healthy: report ran", data is not None, err):
            return
        check("c_healthy: runtime is usdt", data["runtime"]["name"] == "usdt", f"{data['runtime']}")
        names = sorted(x["name"] for x in data["tasks"] if x["state"] != "done")
        check("c_healthy: tasks named by the runtime",
              {"producer", "consumer", "ticker"} <= set(names), f"{names}")
        check("c_healthy: no stall", code == 0 and not data["stalls"],
              f"{code} {[s['message'] for s in data['stalls']]}")
        tick = tasks_named(data, "ticker")
        check("c_healthy: ticker polled, exact poll ends", tick and tick[0]["polls"] >= 100,
              f"{tick}")
        check("c_healthy: spawn location recorded", tick and ".c:" in tick[0].get("location", ""),
              f"{tick}")


def test_deadlock():
    with target("c_deadlock") as t:
        code, data, err = report(t.pid, 2)
        if not check("c_deadlock: report ran", data is not None, err):
            return
        d = stalls(data, "deadlock")
        check("c_deadlock: cycle found", len(d) == 1 and d[0]["count"] == 2,
              f"{[s['message'] for s in data['stalls']]}")
        if d:
            m = d[0]["message"]
            check("c_deadlock: names tasks and mutexes",
                  'transfer_ab waits for mutex "account_b" held by transfer_ba' in m and
                  'transfer_ba waits for mutex "account_a" held by transfer_ab' in m, m)
        res = {r["name"]: r for r in data.get("resources", [])}
        check("c_deadlock: resources with holders",
              res.get("account_a", {}).get("kind") == "mutex" and
              res["account_a"]["holder"] != 0 and res.get("account_b", {}).get("holder", 0) != 0,
              f"{res}")
        check("c_deadlock: exit 1", code == 1, f"{code}")


def test_channel_full():
    with target("c_channel_full") as t:
        code, data, err = report(t.pid, 2)
        if not check("c_channel_full: report ran", data is not None, err):
            return
        p = stalls(data, "idle", "producer")
        check("c_channel_full: producer idle on the full channel",
              len(p) == 1 and 'channel "jobs" (4 of 4 queued)' in p[0]["message"],
              f"{[s['message'] for s in data['stalls']]}")


def test_spinner():
    with target("c_spinner") as t:
        code, data, err = report(t.pid, 2)
        if not check("c_spinner: report ran", data is not None, err):
            return
        check("c_spinner: spin_loop flagged", len(stalls(data, "spinning", "spin_loop")) == 1,
              f"{[s['message'] for s in data['stalls']]}")
        check("c_spinner: ticker not flagged",
              not [s for s in data["stalls"] if s["name"] == "ticker"], "")


def test_blocked():
    with target("c_blocked") as t:
        code, data, err = report(t.pid, 3)
        if not check("c_blocked: report ran", data is not None, err):
            return
        b = stalls(data, "blocked_worker", "blocking_handler")
        check("c_blocked: blocking_handler blocks its worker", len(b) == 1 and
              b[0]["duration_s"] >= 1.4 and b[0]["offcpu_s"] >= 1.0,
              f"{[s['message'] for s in data['stalls']]}")
        check("c_blocked: ticker starved", len(stalls(data, "starved", "ticker")) == 1,
              f"{[s['message'] for s in data['stalls']]}")


if __name__ == "__main__":
    for fn in (test_healthy, test_deadlock, test_channel_full, test_spinner, test_blocked):
        try:
            fn()
        except Exception as e:
            check(f"{fn.__name__}: ran without exception", False, repr(e))
    finish()
