"""taskscope probes: what it finds in binaries and processes, without attaching."""
import json
import os

import pytest

from tslib import CRUNTIME, ROOT, TARGETS, Target, run

RELEASES_DIR = os.path.join(ROOT, "tests", "targets", "releases", "target")

USDT_ABI = sorted(["task_spawn", "poll_start", "poll_end", "wake", "task_drop", "resource_new",
                   "wait_begin", "wait_end", "acquire", "release", "channel_len",
                   "abi_version"])


def probes_json(target):
    r = run(["probes", target, "--json"])
    assert r.returncode == 0, f"expected taskscope probes {target} --json to succeed, got " \
                              f"exit {r.returncode}: {r.stderr.strip()!r}"
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        raise AssertionError(f"expected JSON from taskscope probes, got {r.stdout[:300]!r} "
                             f"({e})") from None


def test_tokio_binary():
    data = probes_json(os.path.join(TARGETS, "deadlock"))
    assert data["runtime"]["name"] == "tokio" and data["runtime"]["version"] == "1.24.2", \
        f"expected tokio 1.24.2 recognised, taskscope printed {data['runtime']}"
    names = sorted(t["name"] for t in data["tasks_types"] if not t["blocking"])
    assert names == ["deadlock::lock_ab", "deadlock::lock_ab", "deadlock::lock_ba",
                     "deadlock::lock_ba"], f"expected future types named from DWARF, got {names}"
    assert data["dwarf"] is True, f"expected DWARF found, taskscope says {data['dwarf_note']!r}"


@pytest.mark.parametrize("name, runtime", [("asyncstd_app", "async-std"), ("smol_app", "smol")])
def test_async_task_binary(name, runtime):
    data = probes_json(os.path.join(TARGETS, name))
    assert data["runtime"]["name"] == runtime, \
        f"expected runtime {runtime}, taskscope printed {data['runtime']}"
    types = sorted(t["name"] for t in data["tasks_types"])
    assert types == [f"{name}::stuck_receiver", f"{name}::ticker"], \
        f"expected the two task types of {name}, got {types}"


def test_by_pid(spawn):
    t = spawn("healthy")
    r = run(["probes", t.pid])
    assert r.returncode == 0 and f"(PID {t.pid}, healthy)" in r.stdout and \
        "healthy::ticker" in r.stdout, \
        f"expected the process and its task types, got exit {r.returncode} " \
        f"{r.stderr!r} {r.stdout[:300]!r}"


@pytest.mark.parametrize("name", ["c_healthy", "c_blocked", "c_channel_full", "c_deadlock",
                                  "c_spinner"])
def test_usdt_binary(name):
    data = probes_json(os.path.join(CRUNTIME, name))
    got = sorted({p["name"] for p in data["usdt"]})
    assert data["runtime"]["name"] == "usdt" and got == USDT_ABI, \
        f"expected every probe of the USDT ABI {USDT_ABI}, taskscope found " \
        f"{data['runtime']} {got}"
    assert all(p["semaphore"] for p in data["usdt"]), \
        f"expected a semaphore on every probe: {data['usdt']}"


def test_not_a_runtime_binary():
    r = run(["probes", "/bin/ls"])
    assert r.returncode == 2 and "no supported async runtime" in r.stderr and \
        r.stderr.count("\n") == 1, \
        f"expected exit 2 and one line 'no supported async runtime', got " \
        f"{r.returncode} {r.stderr!r}"


def test_no_such_pid():
    r = run(["probes", "999999"])
    assert r.returncode == 2 and "no process with PID 999999" in r.stderr, \
        f"expected exit 2 and 'no process with PID 999999', got {r.returncode} {r.stderr!r}"


# The deadlock scenario: lock_ab and lock_ba (owned), and the two workers'
# launch tasks (blocking pool, unowned): 4 tasks in memory, Ids 1 to 4.
@pytest.mark.parametrize("path, version, descriptor, lists", [
    (os.path.join(TARGETS, "deadlock"), "1.24.2", "tokio 1.24", 1),
    (os.path.join(RELEASES_DIR, "release", "app_tokio_1_53"), "1.53.1", "tokio 1.53", 2),
    # stripped: vtables found by shape, no Id counter symbol to compare with
    (os.path.join(RELEASES_DIR, "release-strip", "app_tokio_1_53"), "1.53.1", "tokio 1.53", 2),
], ids=["1.24", "1.53", "1.53-stripped"])
def test_layout_checked_on_process(path, version, descriptor, lists):
    """probes -p names the release and where it was read, the descriptor
    chosen, and how the live process confirmed it: the vtables as mapped,
    the Ids read back, every owned list (one per shard from 1.35: lock_ab
    and lock_ba sit in two) walked end to end."""
    t = Target("deadlock", path=path, args=("deadlock",))
    try:
        data = probes_json(str(t.pid))
        r = run(["probes", str(t.pid)])
    finally:
        t.kill()
    rt, lay = data["runtime"], data["layout"]
    assert rt["version"] == version and \
        rt["version_from"] == f"panic-location strings (.../tokio-{version}/src/...)", \
        f"expected tokio {version} read from panic-location strings, got {rt}"
    assert lay["descriptor"] == descriptor and lay["checked"] and lay["confirmed"], \
        f"expected the {descriptor} layout confirmed on the process, got {lay}"
    assert lay["vtables_as_mapped"] == lay["vtables_checked"] > 0, lay
    assert lay["tasks_in_memory"] == 4 and lay["ids_read_back"] == 4, \
        f"expected 4 tasks in memory with their Ids read back, got {lay}"
    assert lay["owned_list_closed"] and lay["owned_lists"] == lists and \
        lay["owned_list_tasks"] == 2, \
        f"expected lock_ab and lock_ba on {lists} owned list(s) walked end to end, got {lay}"
    stripped = "strip" in path
    assert lay["id_counter"] == (0 if stripped else 5), \
        f"expected the Id counter {'unknown (stripped)' if stripped else 'at 5'}, got {lay}"
    lines = [l for l in r.stdout.splitlines() if l.startswith("layout: ")]
    assert lines == [f"layout: {descriptor} descriptor; {lay['verdict']}"] and \
        "not confirmed" not in r.stdout, \
        f"expected one layout line with the verdict, got {lines}"


def test_layout_not_checked_on_binary():
    """Given a file, there is no process to check the layout against: it
    says so rather than claiming a confirmation."""
    data = probes_json(os.path.join(RELEASES_DIR, "release", "app_tokio_1_53"))
    lay = data["layout"]
    assert lay["descriptor"] == "tokio 1.53" and not lay["checked"] and \
        not lay["confirmed"] and lay["verdict"] == \
        "not checked against a process (give a PID); 52 of 52 task vtables store header " \
        "offsets in its cell's order", \
        f"expected the layout named, not checked, its vtables' offsets in order: {lay}"
