"""taskscope probes: what it finds in binaries and processes, without attaching."""
import json
import os
import subprocess

from tslib import Target, check, finish, run, TARGETS, ROOT


def probes(target, *extra):
    r = run(["probes", str(target), *extra])
    return r.returncode, r.stdout, r.stderr


def main():
    code, out, err = probes(os.path.join(TARGETS, "deadlock"), "--json")
    data = json.loads(out) if code == 0 else {}
    check("probes: tokio binary recognised", data.get("runtime", {}).get("name") == "tokio" and
          data["runtime"]["version"] == "1.24.2", f"{code} {err} {out[:200]}")
    names = sorted(t["name"] for t in data.get("tasks_types", []) if not t["blocking"])
    check("probes: future types named from DWARF",
          names == ["deadlock::lock_ab", "deadlock::lock_ab", "deadlock::lock_ba",
                    "deadlock::lock_ba"], f"{names}")
    check("probes: DWARF found", data.get("dwarf") is True, f"{data.get('dwarf_note')}")

    for name, rt in (("asyncstd_app", "async-std"), ("smol_app", "smol")):
        code, out, err = probes(os.path.join(TARGETS, name), "--json")
        data = json.loads(out) if code == 0 else {}
        check(f"probes: {name} runtime", data.get("runtime", {}).get("name") == rt,
              f"{code} {err}")
        check(f"probes: {name} task types", sorted(t["name"] for t in data.get("tasks_types", []))
              == [f"{name}::stuck_receiver", f"{name}::ticker"], f"{data.get('tasks_types')}")

    with Target("healthy") as t:
        code, out, err = probes(t.pid)
        check("probes: by PID", code == 0 and f"(PID {t.pid}, healthy)" in out and
              "healthy::ticker" in out, f"{code} {err} {out[:300]}")

    usdt_bin = os.path.join(ROOT, "build", "usdt", "probes_all_gcc")
    if not os.path.exists(usdt_bin):
        subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "tests", "targets", "cruntime")],
                       capture_output=True)
        usdt_bin = os.path.join(ROOT, "tests", "targets", "cruntime", "build", "c_healthy")
    if os.path.exists(usdt_bin):
        code, out, err = probes(usdt_bin, "--json")
        data = json.loads(out) if code == 0 else {}
        got = sorted({p["name"] for p in data.get("usdt", [])})
        want = sorted(["task_spawn", "poll_start", "poll_end", "wake", "task_drop",
                       "resource_new", "wait_begin", "wait_end", "acquire", "release",
                       "channel_len", "abi_version"])
        check("probes: every usdt probe of the ABI found", data.get("runtime", {}).get("name")
              == "usdt" and got == want and all(p["semaphore"] for p in data["usdt"]),
              f"{code} {err} {got}")
    else:
        check("probes: usdt binary available", False, "no USDT test binary built")

    code, out, err = probes("/bin/ls")
    check("probes: non-runtime binary is an error", code == 2 and
          "no supported async runtime" in err and err.count("\n") == 1, f"{code} {err!r}")
    code, out, err = probes("999999")
    check("probes: no such PID", code == 2 and "no process with PID 999999" in err, err)


if __name__ == "__main__":
    main()
    finish()
