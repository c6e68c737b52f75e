"""Await chains in taskscope report, end to end, against await_nested.

Each task of tests/targets/tokio/await_nested parks at a known `.await`;
the report must show where (file:line per frame), what it waits on (leaf
kind and the lock/channel/task), and, for --task ID, the variables each
frame holds. Without DWARF the report must still run and say how to get
chains; --debuginfo FILE must bring them back.
"""
import os
import shutil
import subprocess
import tempfile

from tslib import Target, check, finish, report, run, TARGETS

BIN = os.path.join(TARGETS, "await_nested")


def by_name(data, name):
    for t in data["tasks"]:
        if t["name"] == name:
            return t
    return None


def frames(chain):
    return [(f["func"], f["file"], f["line"]) for f in chain["frames"]]


def test_chains():
    with Target("await_nested") as t:
        code, data, err = report(t.pid, 1)
        if not check("await: report ran", data is not None, err):
            return
        if not any("await_chain" in x for x in data["tasks"]):
            print("SKIP await: this taskscope build reports no await chains")
            return
        check("await: DWARF present, no note",
              data["debuginfo"]["present"] and not data["debuginfo"]["note"], f"{data['debuginfo']}")

        hr = by_name(data, "await_nested::handle_request")
        c = hr and hr.get("await_chain")
        check("await: handle_request -> fetch_user_data -> db_query -> Sleep",
              c and frames(c) == [("await_nested::handle_request", "src/main.rs", 28),
                                  ("await_nested::fetch_user_data", "src/main.rs", 21),
                                  ("await_nested::db_query", "src/main.rs", 14)]
              and c["leaf"]["kind"] == "timer" and c["leaf"]["type"] == "tokio::time::Sleep",
              f"{c}")
        st = by_name(data, "await_nested::short_timer")
        c = st and st.get("await_chain")
        rem = c and c["leaf"].get("remaining_s")
        check("await: 30 s timer remaining within tolerance",
              rem is not None and 20 < rem <= 30, f"{c and c['leaf']}")

        holder = by_name(data, "await_nested::hold_lock")
        waiter = by_name(data, "await_nested::lock_waiter")
        hc, wc = holder and holder.get("await_chain"), waiter and waiter.get("await_chain")
        check("await: lock_waiter waits on the mutex hold_lock's guard holds",
              hc and wc and wc["leaf"]["kind"] == "mutex" and hc["holds"]
              and wc["leaf"]["object"] == hc["holds"][0]["object"], f"{wc and wc['leaf']} {hc and hc['holds']}")
        check("await: lock_waiter at its .await, through tokio's Mutex::lock",
              wc and frames(wc)[0] == ("await_nested::lock_waiter", "src/main.rs", 45)
              and wc["frames"][1]["func"] == "tokio::sync::mutex::Mutex<u64>::lock"
              and wc["frames"][1]["external"], f"{wc and frames(wc)}")

        cases = {
            "await_nested::channel_reader": ("channel_recv", ("src/main.rs", 51)),
            "await_nested::channel_writer": ("channel_send", ("src/main.rs", 59)),
            "await_nested::join_waiter": ("join", ("src/main.rs", 68)),
            "await_nested::never_finishes": ("pending", ("src/main.rs", 63)),
            "await_nested::niche_holder": ("pending", ("src/main.rs", 101)),
            "await_nested::boxed_dyn": ("timer", ("src/main.rs", 106)),
            "await_nested::with_timeout": ("timer", ("src/main.rs", 110)),
        }
        for name, (kind, where) in cases.items():
            x = by_name(data, name)
            c = x and x.get("await_chain")
            short = name.split("::")[-1]
            check(f"await: {short} waits on {kind} at {where[0]}:{where[1]}",
                  c and c["leaf"]["kind"] == kind and frames(c)[0][1:] == where,
                  f"{c and (c['leaf'], frames(c))}")
        jn = by_name(data, "await_nested::joiner")
        c = jn and jn.get("await_chain")
        check("await: join! shows its pending branch",
              c and [f["func"] for f in c["frames"]] == ["await_nested::joiner", "tokio::join!",
                                                        "await_nested::db_query"]
              and c["leaf"]["kind"] == "timer", f"{c and frames(c)}")
        jw, nf = by_name(data, "await_nested::join_waiter"), by_name(data, "await_nested::never_finishes")
        check("await: the JoinHandle names the awaited task's header",
              jw and nf and jw.get("await_chain") and jw["await_chain"]["leaf"]["object"] == nf["header"],
              f"{jw and jw.get('await_chain', {}).get('leaf')} vs {nf and nf['header']}")

        r = run(["report", "-p", str(t.pid), "-d", "1", "--task", str(hr["id"])])
        out = r.stdout
        check("await: --task shows the tree with file:line",
              "await_nested::fetch_user_data   src/main.rs:21   (Suspend0)" in out, out[-1500:])
        check("await: --task shows captured variables",
              'route = "/api/users/42"' in out and 'owner = "alice"' in out and "user_id = 42" in out,
              out[-1500:])
        check("await: target still running", t.alive(), "target died")


def test_no_debuginfo():
    if not shutil.which("objcopy"):
        print("SKIP await: no objcopy to make a copy without DWARF")
        return
    tmp = tempfile.mkdtemp(prefix="ts_await_")
    stripped = os.path.join(tmp, "await_nested")
    try:
        subprocess.run(["objcopy", "--strip-debug", BIN, stripped], check=True)
        with Target("await_nested", path=stripped) as t:
            code, data, err = report(t.pid, 1)
            if not check("await nodebug: report still runs", data is not None, err):
                return
            note = data["debuginfo"]["note"]
            if not note and not any("await_chain" in x for x in data["tasks"]):
                print("SKIP await nodebug: this taskscope build reports no await chains")
                return
            check("await nodebug: no chains", not any("await_chain" in x for x in data["tasks"]),
                  "a chain without DWARF")
            check("await nodebug: the note says what is missing and how to fix it",
                  "no DWARF" in note and "debug = true" in note and "--debuginfo" in note, note)
            code, data, err = report(t.pid, 1, extra=("--debuginfo", BIN))
            hr = data and by_name(data, "await_nested::handle_request")
            check("await nodebug: --debuginfo FILE brings the chains back",
                  hr and hr.get("await_chain") and len(hr["await_chain"]["frames"]) == 3,
                  f"{err} {hr and hr.get('await_chain')}")
        # the DWARF in a .debug file named by .gnu_debuglink, next to the binary
        linked = os.path.join(tmp, "linked")
        subprocess.run(["objcopy", "--only-keep-debug", BIN, os.path.join(tmp, "linked.debug")],
                       check=True)
        subprocess.run(["objcopy", "--strip-debug", "--add-gnu-debuglink=linked.debug", BIN, linked],
                       check=True, cwd=tmp)
        with Target("await_nested", path=linked) as t:
            code, data, err = report(t.pid, 1)
            hr = data and by_name(data, "await_nested::handle_request")
            check("await debuglink: chains from the .debug file next to the binary",
                  hr and hr.get("await_chain") and len(hr["await_chain"]["frames"]) == 3,
                  f"{err} {data and data['debuginfo']}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if not os.path.exists(BIN):
        print("SKIP await: await_nested not built (make targets)")
    else:
        test_chains()
        test_no_debuginfo()
    finish()
