"""A fresh Debian 12 machine gets everything from `make deps`: the Debian
packages in the Makefile's DEB_PKGS, and what they pull in.

Two lists are checked against it, both read from the tree, so a new crate
or a new tool used by a test fails here, on this machine, instead of on the
next fresh one (as librust-smol-dev once did):
- every crate a target's Cargo.toml depends on (tests/targets, bench,
  usdt/rust; tests/targets/releases is vendored and needs none) must be
  its Debian package librust-<crate>-dev;
- every program the tests and benchmarks run (subprocess calls and
  shutil.which in tests/ and bench/ Python, found by parsing them) must
  belong (dpkg -S) to such a package, or to the base system (Essential or
  priority required).

cargo and rustc are outside the check: the Makefile installs them only
when no cargo is on PATH (rustup's will do).
"""
import ast
import functools
import os
import re
import shutil
import subprocess
import tomllib

import pytest

from tslib import ROOT

# Cargo.toml files of crates built from registry packages (Debian's).
CRATE_DIRS = ["tests/targets", "bench", "usdt/rust"]
# Folders whose crates are vendored (a cargo directory source): no package.
VENDORED = ["tests/targets/releases"]
SCAN_DIRS = ["tests", "bench"]
SUBPROCESS_FNS = {"run", "Popen", "check_output", "check_call", "call"}
# Installed by the Makefile's own step when missing (any cargo on PATH will do).
OUTSIDE = {"cargo", "rustc"}


def deb_pkgs(makefile):
    """DEB_PKGS of a Makefile, its continuation lines joined."""
    text = open(makefile).read().replace("\\\n", " ")
    m = re.search(r"^DEB_PKGS\s*:?=(.*)$", text, re.M)
    assert m, f"no DEB_PKGS in {makefile}"
    return set(m.group(1).split())


@functools.lru_cache(maxsize=None)
def closure(pkgs):
    """The packages installing pkgs brings in (Depends and PreDepends,
    recursively), from apt's local cache: no network."""
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends",
                          "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces",
                          "--no-enhances", *sorted(pkgs)], capture_output=True, text=True,
                         check=True).stdout
    got = set(pkgs)
    for line in out.splitlines():
        if not line.startswith(" "):
            got.add(line.strip().strip("<>"))
        else:
            m = re.match(r"\s+\|?(?:Pre)?Depends: <?([^>\s]+)>?", line)
            if m:
                got.add(m.group(1))
    return frozenset(p.split(":")[0] for p in got)


def cargo_tomls(root):
    for d in CRATE_DIRS:
        for dirpath, dirnames, files in os.walk(os.path.join(root, d)):
            dirnames[:] = [n for n in dirnames if n != "target" and not any(
                os.path.join(root, v) == os.path.join(dirpath, n) for v in VENDORED)]
            if "Cargo.toml" in files:
                yield os.path.join(dirpath, "Cargo.toml")


def registry_crates(root):
    """{crate: [Cargo.toml using it]} of every non-path dependency."""
    crates = {}
    for path in cargo_tomls(root):
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        tables = [doc.get(k, {}) for k in ("dependencies", "dev-dependencies",
                                           "build-dependencies")]
        tables.append(doc.get("workspace", {}).get("dependencies", {}))
        for t in doc.get("target", {}).values():
            tables += [t.get(k, {}) for k in ("dependencies", "dev-dependencies")]
        for table in tables:
            for name, spec in table.items():
                if isinstance(spec, dict) and ("path" in spec or spec.get("workspace")):
                    continue    # local, or the workspace's entry (checked there)
                name = spec.get("package", name) if isinstance(spec, dict) else name
                crates.setdefault(name, []).append(os.path.relpath(path, root))
    return crates


def programs_run(root):
    """{program: [file]} of the bare program names the Python in tests/ and
    bench/ runs or looks up."""
    found = {}

    def first_word(node):
        if isinstance(node, ast.BinOp):     # ["bpftrace"] + args
            node = node.left
        if isinstance(node, ast.List) and node.elts and \
                isinstance(node.elts[0], ast.Constant) and isinstance(node.elts[0].value, str):
            return node.elts[0].value
        return None

    for d in SCAN_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for fn in files:
                if not fn.endswith(".py"):
                    continue
                path = os.path.join(dirpath, fn)
                tree = ast.parse(open(path).read(), path)
                for node in ast.walk(tree):
                    name = None
                    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                        f = node.func
                        if f.attr in SUBPROCESS_FNS and node.args:
                            name = first_word(node.args[0])
                        elif f.attr == "which" and node.args and \
                                isinstance(node.args[0], ast.Constant):
                            name = node.args[0].value
                    elif isinstance(node, ast.Assign) and any(
                            isinstance(t, ast.Name) and t.id in ("cmd", "argv")
                            for t in node.targets):
                        name = first_word(node.value)
                    if name and re.fullmatch(r"[A-Za-z][\w.+-]*", name):
                        found.setdefault(name, set()).add(os.path.relpath(path, root))
    return found


def owning_package(program):
    """The Debian package that installed program, or None."""
    path = shutil.which(program)
    if not path:
        return None
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):      # merged /usr: dpkg may know either spelling
        if p.startswith("/usr/"):
            candidates.append(p[4:])
        else:
            candidates.append("/usr" + p)
    for p in candidates:
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            # "pkg:arch, pkg2: /path": diversions print "diversion by ..."
            for line in r.stdout.splitlines():
                if ": " in line and not line.startswith("diversion"):
                    return line.split(": ")[0].split(",")[0].split(":")[0].strip()
    return None


def in_base_system(pkg):
    """Essential, or of priority required: every Debian install has it
    (debootstrap's minbase installs the required set)."""
    r = subprocess.run(["dpkg-query", "-W", "-f=${Essential} ${Priority}", pkg],
                       capture_output=True, text=True)
    return r.stdout.split()[:1] == ["yes"] or r.stdout.strip().endswith("required")


def missing_crates(root, makefile):
    have = closure(frozenset(deb_pkgs(makefile)))
    return {c: users for c, users in registry_crates(root).items()
            if f"librust-{c.replace('_', '-').lower()}-dev" not in have}


def missing_programs(root, makefile):
    have = closure(frozenset(deb_pkgs(makefile)))
    missing = {}
    for prog, users in programs_run(root).items():
        if prog in OUTSIDE:
            continue
        pkg = owning_package(prog)
        if pkg is None:
            missing[prog] = ("not installed, or by no package", sorted(users))
        elif pkg not in have and not in_base_system(pkg):
            missing[prog] = (f"from {pkg}, not installed by make deps", sorted(users))
    return missing


MAKEFILE = os.path.join(ROOT, "Makefile")


def test_every_crate_is_installed_by_deps():
    crates = registry_crates(ROOT)
    assert {"tokio", "smol", "async-std"} <= set(crates), \
        f"expected the targets' crates found, got {sorted(crates)}"
    missing = missing_crates(ROOT, MAKEFILE)
    assert not missing, "crates no DEB_PKGS package installs (add librust-<crate>-dev to " \
                        f"the Makefile's DEB_PKGS): {missing}"


def test_every_program_run_is_installed_by_deps():
    progs = programs_run(ROOT)
    assert {"tmux", "bpftool", "objcopy", "wrk", "setpriv"} <= set(progs), \
        f"expected the programs the tests run found, got {sorted(progs)}"
    missing = missing_programs(ROOT, MAKEFILE)
    assert not missing, "programs the tests run that make deps does not install (add " \
                        f"their package to DEB_PKGS): {missing}"


@pytest.mark.parametrize("drop", ["librust-smol-dev", "tmux"])
def test_a_missing_entry_is_caught(drop, tmp_path):
    """The check fails without one entry (a copy of the Makefile without it),
    so it can fail."""
    text = open(MAKEFILE).read()
    assert re.search(rf"(?<![\w-]){re.escape(drop)}(?![\w-])", text), f"{drop} not in DEB_PKGS"
    copy = tmp_path / "Makefile"
    copy.write_text(re.sub(rf"(?<![\w-]){re.escape(drop)}(?![\w-])", "", text, count=1))
    if drop.startswith("librust-"):
        got = missing_crates(ROOT, str(copy))
        assert "smol" in got, f"expected smol flagged without {drop}, got {got}"
    else:
        got = missing_programs(ROOT, str(copy))
        assert "tmux" in got, f"expected tmux flagged without {drop}, got {got}"
