"""DWARF kept apart from the binary, as packagers and release profiles do:
a .gnu_debuglink file next to the binary or in .debug/ there, a stripped
binary with its DWARF under /usr/lib/debug/.build-id/ (a distribution
package's shape), and rustc's split-debuginfo = "packed" (.dwp), which
elfutils 0.188 cannot read.

Each case runs the tokio 1.53 deadlock scenario and asserts the real task
names and await chains, or the one line saying why there are none.
"""
import os
import subprocess

from tslib import ROOT, Target, assert_findings, deadlock, report, run

RELEASES_DIR = os.path.join(ROOT, "tests", "targets", "releases", "target")
WITH_DWARF = os.path.join(RELEASES_DIR, "release", "app_tokio_1_53")
SPLIT = os.path.join(RELEASES_DIR, "release-split", "app_tokio_1_53")
NAMES = ["app_tokio_1_53::lock_ab", "app_tokio_1_53::lock_ba"]


def objcopy(*args):
    subprocess.run(["objcopy", *args], check=True)


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True,
                         check=True).stdout
    return next(l.split(":", 1)[1].strip() for l in out.splitlines() if "Build ID" in l)


def observe_deadlock(path):
    t = Target("app_tokio_1_53 deadlock", path=path, settle=0.5, args=("deadlock",))
    try:
        code, data, err = report(t.pid, 2)
        gone = t.ended_by_itself()
        assert gone is None, gone
        return code, data
    finally:
        t.kill()


def assert_chains(code, data, how):
    assert data["debuginfo"]["present"], \
        f"expected DWARF found {how}, taskscope says {data['debuginfo']['note']!r}"
    names = sorted(t["name"] for t in data["tasks"] if "root_thread" not in t)
    assert names == NAMES, f"expected the tasks {NAMES} named from DWARF {how}, got {names}"
    # #[tokio::main]'s body, found on the main thread's stack with the same DWARF
    roots = [t["name"] for t in data["tasks"] if "root_thread" in t]
    assert roots == ["main"], f"expected main's block_on future found {how}, got {roots}"
    assert_findings(code, data, [deadlock(*NAMES), ("idle", NAMES[0]), ("idle", NAMES[1])])
    for t in data["tasks"]:
        chain = t.get("await_chain") or {}
        frames = chain.get("frames") or [{}]
        assert frames[0].get("file") == "src/main.rs" and chain.get("leaf", {}).get("kind"), \
            f"expected {t['name']}'s await chain from src/main.rs to a leaf ({how}), got {chain}"


def test_debuglink_next_to_binary(tmp_path):
    dbg = tmp_path / "app.debug"
    exe = tmp_path / "app_tokio_1_53"
    objcopy("--only-keep-debug", WITH_DWARF, str(dbg))
    objcopy("--strip-debug", f"--add-gnu-debuglink={dbg}", WITH_DWARF, str(exe))
    code, data = observe_deadlock(str(exe))
    assert_chains(code, data, "through .gnu_debuglink next to the binary")


def test_debuglink_in_debug_dir(tmp_path):
    (tmp_path / ".debug").mkdir()
    dbg = tmp_path / ".debug" / "app.debug"
    exe = tmp_path / "app_tokio_1_53"
    objcopy("--only-keep-debug", WITH_DWARF, str(dbg))
    objcopy("--strip-debug", f"--add-gnu-debuglink={dbg}", WITH_DWARF, str(exe))
    code, data = observe_deadlock(str(exe))
    assert_chains(code, data, "through .gnu_debuglink in .debug/")


def test_packaged_stripped_with_build_id_debug(tmp_path):
    """strip --strip-all (no symbol table: vtables by shape) and the DWARF
    in /usr/lib/debug/.build-id/xx/yyyy.debug, as a -dbgsym package puts it."""
    exe = tmp_path / "app_tokio_1_53"
    subprocess.run(["strip", "--strip-all", WITH_DWARF, "-o", str(exe)], check=True)
    bid = build_id(str(exe))
    ddir = f"/usr/lib/debug/.build-id/{bid[:2]}"
    dbg = f"{ddir}/{bid[2:]}.debug"
    assert not os.path.exists(dbg), f"{dbg} exists already: left by another run?"
    os.makedirs(ddir, exist_ok=True)
    try:
        objcopy("--only-keep-debug", WITH_DWARF, dbg)
        data = None
        code, data = observe_deadlock(str(exe))
    finally:
        os.unlink(dbg)
        if not os.listdir(ddir):
            os.rmdir(ddir)
    assert_chains(code, data, "under /usr/lib/debug/.build-id")


def test_packaged_stripped_without_debug_file(tmp_path):
    """The same stripped binary with no debug file: named by address, and
    the note says where it looked."""
    exe = tmp_path / "app_tokio_1_53"
    subprocess.run(["strip", "--strip-all", WITH_DWARF, "-o", str(exe)], check=True)
    code, data = observe_deadlock(str(exe))
    names = [t["name"] for t in data["tasks"]]
    assert not data["debuginfo"]["present"] and \
        f"/usr/lib/debug/.build-id/{build_id(str(exe))[:2]}/" in data["debuginfo"]["note"], \
        f"expected no DWARF and the build-id path tried, got {data['debuginfo']}"
    assert len(names) == 2 and all(n.startswith("<future at 0x") for n in names), \
        f"expected two tasks named by address, got {names}"


def test_split_dwp_says_unsupported():
    """split-debuginfo = "packed": the binary keeps skeleton units, the types
    are in app_tokio_1_53.dwp, which libdw 0.188 cannot open. One note says
    so; names still come from the symbols' drop glue, exact."""
    assert os.path.exists(SPLIT + ".dwp"), f"{SPLIT}.dwp not built (build.sh)"
    code, data = observe_deadlock(SPLIT)
    note = data["debuginfo"]["note"]
    assert not data["debuginfo"]["present"] and ".dwp" in note and \
        "split-debuginfo" in note and "line-tables-only" not in note, \
        f"expected a note on the unreadable .dwp, got {note!r}"
    names = sorted((t["name"], t["name_ambiguous"]) for t in data["tasks"])
    assert names == [(n, False) for n in NAMES], \
        f"expected {NAMES} named from drop glue, got {names}"
    assert not any(t.get("await_chain") for t in data["tasks"]), \
        "expected no await chain without readable DWARF"
    r = run(["probes", SPLIT])
    assert r.returncode == 0 and r.stdout.count(".dwp") == 1, \
        f"expected probes to name the .dwp once, got {r.stdout[:600]!r}"
