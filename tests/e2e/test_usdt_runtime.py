"""taskscope report on the C runtime instrumented with usdt/taskscope.h.

Same planted scenarios as the tokio targets; tasks and resources are named
by the runtime itself through the probes.
"""
import re
import os

from tslib import CRUNTIME, Scenario, deadlock, messages, stalls, tasks_named, the_task


class CScenario(Scenario):
    settle = 0.5

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls.path = os.path.join(CRUNTIME, cls.target)

    def test_runtime_is_usdt(self, observed):
        rt = observed.data["runtime"]
        assert rt["name"] == "usdt", f"expected runtime usdt, taskscope printed {rt}"


class TestCHealthy(CScenario):
    target = "c_healthy"
    findings = []

    def test_tasks_named(self, observed):
        names = sorted(x["name"] for x in observed.data["tasks"] if x["state"] != "done")
        assert {"producer", "consumer", "ticker"} <= set(names), \
            f"expected producer, consumer, ticker named by the runtime, got {names}"

    def test_ticker(self, observed):
        tick = the_task(observed.data, "ticker")
        assert tick["polls"] >= 100, f"expected >= 100 exact polls of the ticker, got {tick}"
        assert ".c:" in tick.get("location", ""), \
            f"expected the spawn location (file.c:LINE) recorded, got {tick}"


class TestCDeadlock(CScenario):
    target = "c_deadlock"
    findings = [deadlock("transfer_ab", "transfer_ba"),
                ("idle", "transfer_ab"), ("idle", "transfer_ba")]

    def test_cycle(self, observed):
        d = stalls(observed.data, "deadlock")
        assert len(d) == 1 and d[0]["count"] == 2, \
            f"expected one cycle of two tasks: {messages(observed.data)}"
        m = d[0]["message"]
        assert re.search(r'transfer_ab \u2192 mutex "account_b" \u2192 task \d+ transfer_ba '
                         r'\u2192 mutex "account_a" \u2192 task \d+ transfer_ab', m) or \
            re.search(r'transfer_ba \u2192 mutex "account_a" \u2192 task \d+ transfer_ab '
                      r'\u2192 mutex "account_b" \u2192 task \d+ transfer_ba', m), \
            f"expected the cycle to name both tasks and mutexes, got {m!r}"

    def test_resources(self, observed):
        res = {r["name"]: r for r in observed.data.get("resources", [])}
        assert res.get("account_a", {}).get("kind") == "mutex" and \
            res["account_a"]["holder"] != 0 and res.get("account_b", {}).get("holder", 0) != 0, \
            f"expected mutexes account_a and account_b, both held, got {res}"


class TestCChannelFull(CScenario):
    target = "c_channel_full"
    findings = [("idle", "producer"), ("idle", "consumer")]

    def test_producer_on_full_channel(self, observed):
        p = stalls(observed.data, "idle", "producer")
        assert len(p) == 1 and 'channel "jobs" (4 of 4 queued)' in p[0]["message"], \
            f"expected the producer idle on the full channel jobs: {messages(observed.data)}"


class TestCSpinner(CScenario):
    target = "c_spinner"
    findings = [("spinning", "spin_loop")]

    def test_ticker_not_flagged(self, observed):
        flagged = [s["message"] for s in observed.data["stalls"] if s["name"] == "ticker"]
        assert not flagged, f"expected the ticker not flagged, got {flagged}"
        assert tasks_named(observed.data, "spin_loop"), "expected spin_loop listed"


class TestCBlocked(CScenario):
    target = "c_blocked"
    duration = 3
    findings = [("blocked_worker", "blocking_handler"), ("starved", "ticker")]

    def test_blocking_poll(self, observed):
        b = stalls(observed.data, "blocked_worker", "blocking_handler")
        assert len(b) == 1 and b[0]["duration_s"] >= 1.4 and b[0]["offcpu_s"] >= 1.0, \
            f"expected blocking_handler to block its worker >= 1.4 s, >= 1 s off-CPU: " \
            f"{[(s['message'], s['duration_s'], s['offcpu_s']) for s in b]}"
