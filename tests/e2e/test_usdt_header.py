"""End-to-end checks of the USDT probe ABI (usdt/taskscope.h, usdt/rust).

Builds its own test programs into build/usdt/, then checks, without root:
the header compiles warning-free as C99/C++11 under gcc and clang, compiles
out, emits aarch64 notes, survives C++ COMDAT folding, and its notes (as
readelf -n prints them) describe every probe with register-only arguments,
semaphores and a red-zone-safe nop5 site; with root: bpftrace and libbpf see
every probe fire with the right values, semaphores switch on for a running
process and for one started after the attach, and a leaf function's red zone
survives a million hits of an attached (kernel-optimised) site while a bare
nop5 in the same function does not. The Rust crate gets the same treatment.

Nothing is skipped: a missing compiler, linker or tool is a failure
(make deps installs them), and each kernel-dependent check states what the
running kernel must do.
"""
import os
import re
import shutil
import signal
import struct
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
USDT = ROOT / "usdt"
SRC = USDT / "test"
OUT = ROOT / "build" / "usdt"

# The ABI: probe -> argument sizes in bytes (all unsigned). usdt/README.md
# is the prose version; this table is the test's independent copy of it.
PROBES = {
    "task_spawn": [8, 8, 8, 8],
    "poll_start": [8],
    "poll_end": [8, 4],
    "wake": [8, 8],
    "task_drop": [8],
    "resource_new": [8, 4, 8, 8],
    "wait_begin": [8, 8],
    "wait_end": [8, 8],
    "acquire": [8, 8],
    "release": [8, 8],
    "channel_len": [8, 8],
    "abi_version": [4],
}

# bpftrace printf formats matching the programs' "expect" lines.
BPFTRACE_FMT = {
    "task_spawn": ('"got task_spawn %lx %lx %s %s\\n"', "arg0, arg1, str(arg2), str(arg3)"),
    "poll_start": ('"got poll_start %lx\\n"', "arg0"),
    "poll_end": ('"got poll_end %lx %x\\n"', "arg0, arg1"),
    "wake": ('"got wake %lx %lx\\n"', "arg0, arg1"),
    "task_drop": ('"got task_drop %lx\\n"', "arg0"),
    "resource_new": ('"got resource_new %lx %x %s %lx\\n"', "arg0, arg1, str(arg2), arg3"),
    "wait_begin": ('"got wait_begin %lx %lx\\n"', "arg0, arg1"),
    "wait_end": ('"got wait_end %lx %lx\\n"', "arg0, arg1"),
    "acquire": ('"got acquire %lx %lx\\n"', "arg0, arg1"),
    "release": ('"got release %lx %lx\\n"', "arg0, arg1"),
    "channel_len": ('"got channel_len %lx %lx\\n"', "arg0, arg1"),
    "abi_version": ('"got abi_version %x\\n"', "arg0"),
}

GPR64 = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
         "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}
GPR32 = {"eax", "ebx", "ecx", "edx", "esi", "edi", "ebp",
         "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"}

NOP5 = bytes.fromhex("0f1f440000")
LEA_DOWN = bytes.fromhex("488d642480")          # lea -0x80(%rsp),%rsp
LEA_UP = bytes.fromhex("488da42480000000")      # lea 0x80(%rsp),%rsp
REDZONE_HITS = 1_000_000


def run(cmd, timeout=120, **kw):
    """Runs cmd; returns (returncode, stdout, stderr), never raises."""
    try:
        p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                           timeout=timeout, **kw)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return -1, e.stdout or "", f"timeout after {timeout}s"
    except OSError as e:
        return -1, "", str(e)


def first_lines(text, n=3):
    return " | ".join(text.strip().splitlines()[:n])


def compile_ok(what, cmd):
    """Compiles, or fails the test with the compiler's first lines."""
    assert shutil.which(cmd[0]), f"{what}: {cmd[0]} not installed (make deps)"
    rc, out, err = run(cmd)
    assert rc == 0, f"{what}: expected a clean build, {cmd[0]} said: {first_lines(err or out)}"


# ---- ELF helpers: notes through readelf (the format users see), raw bytes
# through the program headers.

def parse_notes(path):
    """stapsdt notes as readelf -n prints them."""
    rc, out, _ = run(["readelf", "-n", str(path)])
    notes, cur = [], None
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Provider:"):
            cur = {"provider": line.split(":", 1)[1].strip(), "args": []}
            notes.append(cur)
        elif cur is None:
            continue
        elif line.startswith("Name:"):
            cur["name"] = line.split(":", 1)[1].strip()
        elif line.startswith("Location:"):
            m = re.match(r"Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), Semaphore: (0x[0-9a-f]+)", line)
            cur["pc"], cur["base"], cur["sema"] = (int(x, 16) for x in m.groups())
        elif line.startswith("Arguments:"):
            cur["args"] = line.split(":", 1)[1].split()
    return notes


def taskscope_notes(path):
    return [n for n in parse_notes(path) if n["provider"] == "taskscope"]


def sections(path):
    """name -> (addr, size) from readelf -SW."""
    rc, out, _ = run(["readelf", "-SW", str(path)])
    found = {}
    for m in re.finditer(r"\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", out):
        found.setdefault(m.group(1), (int(m.group(2), 16), int(m.group(3), 16)))
    return found


def read_vaddr(path, vaddr, length):
    """Bytes at a link-time address, via the PT_LOAD headers (ELF64 LE)."""
    data = Path(path).read_bytes()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 1 and p_vaddr <= vaddr < p_vaddr + p_filesz:
            off = p_offset + vaddr - p_vaddr
            return data[off:off + length]
    return b""


def check_notes(label, path, provider="taskscope"):
    """Every probe present with register-only args, semaphore and a safe site."""
    notes = [n for n in parse_notes(path) if n["provider"] == provider]
    secs = sections(path)
    problems = []
    if ".stapsdt.base" not in secs:
        problems.append("no .stapsdt.base section")
    if ".probes" not in secs:
        problems.append("no .probes section")
    elif secs[".probes"][0] % 4096:
        problems.append(f".probes at {secs['.probes'][0]:#x} is not page-aligned")
    semaphores = {}
    for name, sizes in PROBES.items():
        mine = [n for n in notes if n.get("name") == name]
        if not mine:
            problems.append(f"{name}: no note")
            continue
        for n in mine:
            where = f"{name}@{n['pc']:#x}"
            if len(n["args"]) != len(sizes):
                problems.append(f"{where}: args {n['args']} want {len(sizes)}")
            for arg, size in zip(n["args"], sizes):
                m = re.fullmatch(r"(-?)(\d+)@%([a-z0-9]+)", arg)
                regs = GPR64 if size == 8 else GPR32
                if not m or m.group(1) or int(m.group(2)) != size or m.group(3) not in regs:
                    problems.append(f"{where}: arg {arg!r} is not {size}@%<register>")
            if ".stapsdt.base" in secs and n["base"] != secs[".stapsdt.base"][0]:
                problems.append(f"{where}: base {n['base']:#x} is not .stapsdt.base")
            lo, size = secs.get(".probes", (0, 0))
            if not (n["sema"] and lo <= n["sema"] < lo + size):
                problems.append(f"{where}: semaphore {n['sema']:#x} not in .probes")
            if semaphores.setdefault(name, n["sema"]) != n["sema"]:
                problems.append(f"{where}: second semaphore for one probe")
            problems += check_site(path, n["pc"], where)
    if len(set(semaphores.values())) != len(semaphores):
        problems.append("probes share a semaphore")
    assert not problems, f"notes of {label}: expected every probe with register-only " \
                         f"arguments, a semaphore in .probes and a safe nop5 site; " \
                         f"{'; '.join(problems[:6])}"
    return notes


def check_site(path, pc, where):
    """nop5 on an 8-byte boundary, between the two %rsp steps."""
    problems = []
    if pc % 8:
        problems.append(f"{where}: site not 8-byte aligned (may straddle a page)")
    window = read_vaddr(path, pc - 12, 12 + 5 + len(LEA_UP))
    if window[12:17] != NOP5:
        problems.append(f"{where}: site bytes {window[12:17].hex()} are not nop5")
    # At most 7 bytes of alignment padding between the first lea and the site.
    if LEA_DOWN not in window[:12]:
        problems.append(f"{where}: no lea -0x80(%rsp),%rsp before the site")
    if window[17:] != LEA_UP:
        problems.append(f"{where}: no lea 0x80(%rsp),%rsp after the site")
    return problems


# ---- Tracing helpers.

def bpftrace_script(binary):
    return "\n".join(
        f"usdt:{binary}:taskscope:{name} {{ printf({fmt}, {args}); }}"
        for name, (fmt, args) in BPFTRACE_FMT.items())


def compare_events(text):
    """Problems between the program's "expect" lines and the tracer's "got" lines."""
    lines = text.splitlines()
    if any(l.startswith("semaphore-timeout") for l in lines):
        return ["semaphores never became nonzero: " + next(
            l for l in lines if l.startswith("semaphore-timeout"))]
    want = Counter(l[len("expect "):] for l in lines if l.startswith("expect "))
    got = Counter(l[len("got "):] for l in lines if l.startswith("got "))
    problems = []
    if not want:
        problems.append("the program fired nothing")
    missing, extra = want - got, got - want
    if missing:
        problems.append("missing: " + " | ".join(list(missing)[:3]))
    if extra:
        problems.append("unexpected: " + " | ".join(list(extra)[:3]))
    seen = {l.split()[0] for l in got}
    absent = [p for p in PROBES if p not in seen]
    if absent:
        problems.append("never fired: " + ",".join(absent))
    return problems


def trace_spawned(label, binary, args):
    """bpftrace starts the program after attaching (bpftrace -c)."""
    rc, out, err = run(["bpftrace", "-q", "-c", " ".join([str(binary)] + args),
                        "-e", bpftrace_script(binary)], timeout=90)
    problems = compare_events(out)
    if rc != 0:
        problems.insert(0, f"bpftrace rc {rc}: {err.strip()[-200:]}")
    assert not problems, f"{label} started by bpftrace -c: expected every probe to fire " \
                         f"with the values it printed; {'; '.join(problems)}"


def trace_running(label, binary, args):
    """The program is already running (waiting on its semaphores) when
    bpftrace attaches by binary path; it must then fire and exit 0."""
    target = subprocess.Popen([str(binary)] + args, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    time.sleep(0.2)
    tracer = subprocess.Popen(["bpftrace", "-q", "-e", bpftrace_script(binary)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        target_out, _ = target.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        target.kill()
        target_out, _ = target.communicate()
    # Let bpftrace drain its perf buffer before asking it to stop.
    time.sleep(0.5)
    tracer.send_signal(signal.SIGINT)
    try:
        tracer_out, tracer_err = tracer.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        tracer.kill()
        tracer_out, tracer_err = tracer.communicate()
    problems = compare_events(target_out + tracer_out)
    if target.returncode != 0:
        problems.insert(0, f"{binary.name} ended with status {target.returncode}")
    if problems and not tracer_out:
        problems.append("bpftrace: " + tracer_err.strip()[-200:])
    assert not problems, f"{label} running when bpftrace attached: expected every probe " \
                         f"to fire with the values it printed; {'; '.join(problems)}"


def kernel_at_least(major, minor):
    m = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= (major, minor)


# Linux 6.18 turns an attached nop5 uprobe site into a call to a trampoline;
# older kernels leave the int3 there and have no red-zone hazard to test.
OPTIMISES = kernel_at_least(6, 18)


def parse_redzone(text):
    m = re.search(r"calls (\d+) corrupted_calls (\d+) corrupted_words (\d+)", text)
    hits = re.search(r"@hits: (\d+)", text)
    sites = dict(re.findall(r"site (\S+) bytes ([0-9a-f ]+)", text))
    return (tuple(int(x) for x in m.groups()) if m else None,
            int(hits.group(1)) if hits else 0, sites)


def redzone_run(binary, args, probe):
    """(returncode, stdout, stderr) of binary ARGS under bpftrace counting
    the probe's hits."""
    return run(["bpftrace", "-q", "-c", " ".join([str(binary)] + args),
                "-e", f"usdt:{binary}:{probe} {{ @hits = count(); }}"], timeout=180)


def check_redzone_result(what, out, err):
    counts, hits, _ = parse_redzone(out)
    assert counts is not None, f"{what}: expected a result line, got " \
                               f"{(out + err).strip()[-200:]!r}"
    calls, bad_calls, bad_words = counts
    assert not bad_calls, f"{what}: expected the red zone intact, {bad_calls} of {calls} " \
                          f"calls saw it change ({bad_words} words)"
    assert hits == calls, f"{what}: expected the probe hit once per call, {hits} hits " \
                          f"for {calls} calls"


def check_optimised(what, sites, pcs):
    """The red-zone checks prove something only if the kernel turned the
    site into a call (kernel >= 6.18); an older kernel must leave it alone."""
    calls = {pc: sites.get(pc, "?").startswith("e8") for pc in pcs}
    if OPTIMISES:
        assert all(calls.values()), \
            f"{what}: expected kernel {os.uname().release} to turn each attached nop5 " \
            f"site into a call (e8), sites: {[(pc, sites.get(pc, '?')) for pc in pcs]}"
    else:
        assert not any(calls.values()), \
            f"{what}: expected kernel {os.uname().release} (< 6.18) not to rewrite the " \
            f"sites, got {[(pc, sites.get(pc, '?')) for pc in pcs]}"


def is_root():
    return os.geteuid() == 0


# ---- Builds, shared by the tests below: each records its result; a test of
# the build asserts it, and a test that needs the program fails if it did not
# build.

@pytest.fixture(scope="module")
def out():
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


class Built:
    def __init__(self, path, rc, err):
        self.path, self.rc, self.err = path, rc, err

    def need(self):
        assert self.rc == 0, f"{self.path.name} did not build: {self.err.strip()[-300:]}"
        return self.path


@pytest.fixture(scope="module")
def programs(out):
    """probes_all (gcc and clang) and redzone."""
    built = {}
    for cc in ("gcc", "clang"):
        exe = out / f"probes_all_{cc}"
        rc, _, err = run([cc, "-O2", "-Wall", "-Wextra", "-Werror", f"-I{USDT}",
                          str(SRC / "probes_all.c"), "-o", str(exe)])
        built[cc] = Built(exe, rc, err)
    exe = out / "redzone"
    rc, _, err = run(["gcc", "-O2", "-fPIE", "-pie", "-Wall", "-Wextra", "-Werror",
                      f"-I{USDT}", str(SRC / "redzone.c"), "-o", str(exe)])
    built["redzone"] = Built(exe, rc, err)
    return built


@pytest.fixture(scope="module")
def loader(out):
    """The libbpf attach_usdt loader."""
    bpf_obj = out / "libbpf_usdt.bpf.o"
    skel = out / "libbpf_usdt.skel.h"
    exe = out / "libbpf_usdt"
    rc, arch, _ = run(["gcc", "-print-multiarch"])
    cmds = [
        ["clang", "-g", "-O2", "-target", "bpf", "-mcpu=v3", "-D__TARGET_ARCH_x86",
         f"-I{ROOT / 'vmlinux'}", f"-I{SRC}", "-idirafter", f"/usr/include/{arch.strip()}",
         "-Wall", "-Werror", "-c", str(SRC / "libbpf_usdt.bpf.c"), "-o", str(bpf_obj)],
        ["bpftool", "gen", "skeleton", str(bpf_obj), "name", "libbpf_usdt_bpf"],
        ["gcc", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{out}", f"-I{SRC}",
         str(SRC / "libbpf_usdt.c"), "-lbpf", "-lelf", "-lz", "-o", str(exe)],
    ]
    for cmd in cmds:
        rc, stdout, err = run(cmd)
        if rc != 0:
            return Built(exe, rc, f"{cmd[0]}: {err}")
        if cmd[0] == "bpftool":
            skel.write_text(stdout)
    return Built(exe, 0, "")


@pytest.fixture(scope="module")
def rust_fire(out):
    """usdt/rust's taskscope-usdt-fire."""
    target_dir = out / "cargo"
    rc, _, err = run(["cargo", "build", "--release", "--offline", "--quiet",
                      "--target-dir", str(target_dir)], cwd=USDT / "rust", timeout=600)
    return Built(target_dir / "release" / "taskscope-usdt-fire", rc, err)


def libbpf_check(label, loader, target):
    """attach_usdt by binary path, then the loader starts the target (and
    fails if the target does not exit 0)."""
    rc, stdout, err = run([str(loader), str(target)], timeout=60)
    problems = compare_events(stdout)
    if rc != 0:
        problems.insert(0, f"rc {rc}: {err.strip()[-200:]}")
    assert not problems, f"libbpf attach_usdt on {label}: expected every probe to fire " \
                         f"with the values it printed; {'; '.join(problems)}"


def root_with_bpftrace():
    assert is_root(), "attach checks need root"
    assert shutil.which("bpftrace"), "bpftrace not installed (make deps)"


# ---- The header, without root.

HEADER_FLAGS = ["-O2", "-Wall", "-Wextra", "-pedantic", "-Werror", "-Wundef",
                "-Wconversion", "-Wsign-conversion", "-Wshadow", f"-I{USDT}", "-c",
                str(SRC / "header_check.c")]


@pytest.mark.parametrize("name, cc, extra", [pytest.param(*v, id=v[0]) for v in (
    ("header_c99_gcc", "gcc", ["-std=c99"]),
    ("header_c99_clang", "clang", ["-std=c99"]),
    ("header_cxx11_gxx", "g++", ["-x", "c++", "-std=c++11", "-Wold-style-cast"]),
    ("header_cxx11_clangxx", "clang++", ["-x", "c++", "-std=c++11", "-Wold-style-cast"]),
)])
def test_header_compiles(out, name, cc, extra):
    obj = out / f"{name}.o"
    compile_ok(name, [cc] + extra + HEADER_FLAGS + ["-o", str(obj)])
    names = {n["name"] for n in taskscope_notes(obj)}
    assert not set(PROBES) - names, \
        f"{name}: expected a note per probe, missing {sorted(set(PROBES) - names)}"


def test_header_compiles_out(out):
    obj = out / "header_disabled.o"
    compile_ok("header_compiles_out", ["gcc", "-std=c99", "-DTASKSCOPE_DISABLE"] +
               HEADER_FLAGS + ["-o", str(obj)])
    left = [s for s in (".note.stapsdt", ".probes") if s in sections(obj)]
    assert not left, f"expected TASKSCOPE_DISABLE to emit no probe section, still has {left}"


def test_header_aarch64_notes(out):
    obj = out / "header_aarch64.o"
    compile_ok("header_aarch64", ["clang", "--target=aarch64-linux-gnu", "-ffreestanding",
                                  "-std=c99"] + HEADER_FLAGS + ["-o", str(obj)])
    notes = taskscope_notes(obj)
    bad = [f"{n['name']}:{a}" for n in notes for a in n["args"]
           if not re.fullmatch(r"(8@x|4@w)\d+", a)]
    names = {n["name"] for n in notes}
    assert not bad and names == set(PROBES), \
        f"expected every probe with register arguments (8@xN, 4@wN): bad args {bad[:4]}, " \
        f"missing {sorted(set(PROBES) - names)}"


@pytest.mark.parametrize("cxx", ["g++", "clang++"])
def test_cxx_comdat_link(out, cxx):
    tag = cxx.replace("+", "x")
    exe = out / f"comdat_{tag}"
    compile_ok(f"cxx_comdat_link_{tag}", [cxx, "-std=c++11", "-O0", "-Wall", "-Wextra",
                                         "-pedantic", "-Werror", f"-I{USDT}",
                                         str(SRC / "comdat_a.cpp"), str(SRC / "comdat_b.cpp"),
                                         "-o", str(exe)])
    # One folded copy of each inline function: one note each.
    counts = Counter(n["name"] for n in taskscope_notes(exe))
    assert counts == Counter(poll_start=1, wake=1), \
        f"expected one note per folded copy (poll_start, wake), got {dict(counts)}"


@pytest.mark.parametrize("cc", ["gcc", "clang"])
@pytest.mark.parametrize("ld", ["bfd", "lld"])
def test_gc_sections(out, cc, ld):
    """A probe in a function --gc-sections drops must take its note along
    (else libbpf rejects the probe), and .stapsdt.base must survive."""
    src = out / "gc_sections.c"
    src.write_text(
        '#include "taskscope.h"\n'
        "void dead_fn(uint64_t x);\n"
        "void dead_fn(uint64_t x) { TASKSCOPE_POLL_START(x); }\n"
        "int main(void) { TASKSCOPE_TASK_DROP(1); return 0; }\n")
    exe = out / f"gc_sections_{cc}_{ld}"
    compile_ok(f"gc_sections_{cc}_{ld}", [cc, "-O2", "-ffunction-sections",
                                         "-Wl,--gc-sections", f"-fuse-ld={ld}", f"-I{USDT}",
                                         str(src), "-o", str(exe)])
    notes = taskscope_notes(exe)
    names = Counter(n["name"] for n in notes)
    base = sections(exe).get(".stapsdt.base", (None,))[0]
    problems = []
    if names != Counter(task_drop=1):
        problems.append(f"notes {dict(names)} (want only task_drop)")
    if base is None or any(n["base"] != base for n in notes):
        problems.append(".stapsdt.base dropped or mismatched")
    problems += [p for n in notes for p in check_site(exe, n["pc"], n["name"])]
    assert not problems, f"expected the dead function's note gone with it: {'; '.join(problems)}"


# ---- C programs: notes, red-zone leaves, semaphores.

@pytest.mark.parametrize("name", ["gcc", "clang", "redzone"])
def test_build(programs, name):
    b = programs[name]
    assert b.rc == 0, f"expected {b.path.name} to build, got: {first_lines(b.err)}"


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_notes_c(programs, cc):
    check_notes(f"c_{cc}", programs[cc].need())


@pytest.mark.parametrize("fn", ["leaf_safe", "leaf_naive"])
def test_redzone_leaf(programs, fn):
    """Both leaves really are red-zone users: %rsp-negative stores, no frame."""
    rc, out, _ = run(["objdump", "-d", "--no-show-raw-insn", str(programs["redzone"].need())])
    m = re.search(rf"<{fn}>:\n(.*?)\n\n", out, re.S)
    body = m.group(1) if m else ""
    assert body, f"expected {fn} in the redzone program's disassembly"
    uses = re.findall(r"-0x[0-9a-f]+\(%rsp", body)
    frame = re.findall(r"\b(sub|push)\w*\s+.*%rsp|\bpush\b|\bcall\b", body)
    assert len(uses) >= 2 and not frame, \
        f"expected {fn} to be a red-zone leaf: {len(uses)} negative %rsp operands, " \
        f"frame/call insns {frame[:3]}"


def test_semaphores_zero_when_unattached(programs):
    rc, out, _ = run([str(programs["gcc"].need()), "idle"])
    assert rc == 0, f"expected every semaphore 0 with nothing attached: " \
                    f"{out.strip().replace(chr(10), ', ')}"


# ---- Attached (root): bpftrace and libbpf see every probe fire.

@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_bpftrace_attached_while_running(programs, cc):
    root_with_bpftrace()
    trace_running(f"c_{cc}", programs[cc].need(), [])


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_bpftrace_started_after_attach(programs, cc):
    root_with_bpftrace()
    trace_spawned(f"c_{cc}", programs[cc].need(), [])


def test_build_libbpf_usdt(loader):
    assert loader.rc == 0, f"expected the libbpf loader to build: {loader.err.strip()[-300:]}"


def test_libbpf_attach_usdt_c_gcc(loader, programs):
    assert is_root(), "attach checks need root"
    libbpf_check("c_gcc", loader.need(), programs["gcc"].need())


# ---- The red zone under an attached, optimised site.

@pytest.fixture(scope="module")
def redzone_pcs(programs):
    notes = parse_notes(programs["redzone"].need())
    return {n["name"]: f"{n['pc']:#x}" for n in notes
            if (n["provider"], n["name"]) in {("taskscope", "poll_start"),
                                              ("taskscope_test", "naive")}}


@pytest.fixture(scope="module")
def redzone_safe(programs, redzone_pcs):
    root_with_bpftrace()
    assert len(redzone_pcs) == 2, f"expected the poll_start and naive notes, got {redzone_pcs}"
    both = [redzone_pcs["poll_start"], redzone_pcs["naive"]]
    return redzone_run(programs["redzone"].need(), ["safe", str(REDZONE_HITS)] + both,
                       "taskscope:poll_start")


def test_redzone_notes(redzone_pcs):
    assert len(redzone_pcs) == 2, \
        f"expected a taskscope:poll_start and a taskscope_test:naive note, got {redzone_pcs}"


def test_redzone_safe_1M_hits_intact(redzone_safe):
    rc, out, err = redzone_safe
    check_redzone_result("safe site, 1M hits", out, err)


def test_redzone_safe_site_optimised_to_call(redzone_safe, redzone_pcs):
    rc, out, err = redzone_safe
    check_optimised("safe site", parse_redzone(out)[2], [redzone_pcs["poll_start"]])


def test_redzone_naive_control(programs, redzone_pcs):
    """Control: the same leaf with a bare nop5. It shows the hazard is real
    here and that the check above would catch it."""
    root_with_bpftrace()
    assert len(redzone_pcs) == 2, f"expected the poll_start and naive notes, got {redzone_pcs}"
    both = [redzone_pcs["poll_start"], redzone_pcs["naive"]]
    rc, out, err = redzone_run(programs["redzone"].need(), ["naive", str(REDZONE_HITS)] + both,
                               "taskscope_test:naive")
    counts, hits, sites = parse_redzone(out)
    assert counts is not None, f"expected a result line, got {(out + err).strip()[-200:]!r}"
    site = sites.get(redzone_pcs["naive"], "?")
    check_optimised("bare nop5 site", sites, [redzone_pcs["naive"]])
    if OPTIMISES:
        assert counts[1] > 0, \
            f"expected the bare nop5 control to corrupt the red zone on kernel " \
            f"{os.uname().release} (site {site}); none of {counts[0]} calls did: has the " \
            f"kernel stopped pushing onto the red zone? Then this control must change"
        print(f"bare nop5 control: {counts[1]} of {counts[0]} calls corrupted "
              f"({counts[2]} words), site {site}")


# ---- The Rust crate.

def test_rust_build(rust_fire):
    assert rust_fire.rc == 0, f"expected usdt/rust to build: {rust_fire.err.strip()[-300:]}"


def test_notes_rust(rust_fire):
    check_notes("rust", rust_fire.need())


def test_rust_one_site_per_probe(rust_fire):
    # One site per probe in Rust (the site lives in a never-inlined function).
    counts = Counter(n["name"] for n in taskscope_notes(rust_fire.need()))
    assert counts == Counter({p: 1 for p in PROBES}), \
        f"expected one note per probe, got {dict(counts)}"


def test_bpftrace_rust_attached_while_running(rust_fire):
    root_with_bpftrace()
    trace_running("rust", rust_fire.need(), ["2"])


def test_bpftrace_rust_started_after_attach(rust_fire):
    root_with_bpftrace()
    trace_spawned("rust", rust_fire.need(), ["2"])


def test_libbpf_attach_usdt_rust(loader, rust_fire):
    assert is_root(), "attach checks need root"
    libbpf_check("rust", loader.need(), rust_fire.need())


@pytest.fixture(scope="module")
def rust_stack(rust_fire):
    root_with_bpftrace()
    exe = rust_fire.need()
    pcs = [f"{n['pc']:#x}" for n in taskscope_notes(exe) if n["name"] == "poll_start"]
    assert pcs, "expected a poll_start note in the Rust program"
    rc, out, err = redzone_run(exe, ["stack", str(REDZONE_HITS)] + pcs, "taskscope:poll_start")
    return pcs, out, err


def test_rust_stack_data_1M_hits_intact(rust_stack):
    pcs, out, err = rust_stack
    check_redzone_result("Rust stack data, 1M hits", out, err)


def test_rust_site_optimised_to_call(rust_stack):
    pcs, out, err = rust_stack
    check_optimised("Rust site", parse_redzone(out)[2], pcs)
