#!/usr/bin/env python3
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

Prints one "PASS name" / "FAIL name reason" / "SKIP name reason" line per
check; exits 1 if any check failed.
"""
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

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

failures = 0


def report(name, ok, reason=""):
    global failures
    if ok:
        print(f"PASS {name}", flush=True)
    else:
        failures += 1
        reason = " ".join(str(reason).split())[:400]
        print(f"FAIL {name} {reason}", flush=True)


def skip(name, reason):
    print(f"SKIP {name} {reason}", flush=True)


def run(cmd, timeout=120, **kw):
    """Runs cmd; returns (returncode, stdout, stderr), never raises."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return -1, e.stdout or "", f"timeout after {timeout}s"
    except OSError as e:
        return -1, "", str(e)


def have(tool):
    return shutil.which(tool) is not None


def compile_ok(name, cmd):
    rc, out, err = run(cmd)
    report(name, rc == 0, (err or out).strip().splitlines()[:3] if rc else "")
    return rc == 0


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
    report(f"notes_{label}", not problems, "; ".join(problems[:6]))
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
    if rc != 0 and not out:
        problems.insert(0, f"bpftrace rc {rc}: {err.strip()[-200:]}")
    report(f"bpftrace_{label}_started_after_attach", not problems, "; ".join(problems))


def trace_running(label, binary, args):
    """The program is already running (waiting on its semaphores) when
    bpftrace attaches by binary path."""
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
    waited = re.search(r"enabled-after ([\d.]+)", target_out)
    if problems and not tracer_out:
        problems.append("bpftrace: " + tracer_err.strip()[-200:])
    report(f"bpftrace_{label}_attached_while_running", not problems,
           "; ".join(problems))
    return waited


def kernel_at_least(major, minor):
    m = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= (major, minor)


def parse_redzone(text):
    m = re.search(r"calls (\d+) corrupted_calls (\d+) corrupted_words (\d+)", text)
    hits = re.search(r"@hits: (\d+)", text)
    sites = dict(re.findall(r"site (\S+) bytes ([0-9a-f ]+)", text))
    return (tuple(int(x) for x in m.groups()) if m else None,
            int(hits.group(1)) if hits else 0, sites)


def redzone_run(binary, args, probe):
    return run(["bpftrace", "-q", "-c", " ".join([str(binary)] + args),
                "-e", f"usdt:{binary}:{probe} {{ @hits = count(); }}"], timeout=180)


def check_redzone_result(name, out, err, pcs):
    counts, hits, sites = parse_redzone(out)
    problems = []
    if counts is None:
        problems.append("no result: " + (out + err).strip()[-200:])
    else:
        calls, bad_calls, bad_words = counts
        if bad_calls:
            problems.append(f"{bad_calls} of {calls} calls saw red-zone data change "
                            f"({bad_words} words)")
        if hits != calls:
            problems.append(f"probe hit {hits} times for {calls} calls")
    report(name, not problems, "; ".join(problems))
    return sites


def check_optimised(name, sites, pcs):
    """The red-zone checks prove something only if the kernel turned the
    site into a call (kernel >= 6.18)."""
    not_call = [pc for pc in pcs if not sites.get(pc, "").startswith("e8")]
    if not not_call:
        report(name, True)
    elif not kernel_at_least(6, 18):
        skip(name, f"kernel {os.uname().release} does not optimise nop5 uprobes")
    else:
        report(name, False, "sites still " + ", ".join(
            f"{pc}: {sites.get(pc, '?')}" for pc in not_call))


# ---- The checks.

def header_checks():
    flags = ["-O2", "-Wall", "-Wextra", "-pedantic", "-Werror", "-Wundef",
             "-Wconversion", "-Wsign-conversion", "-Wshadow", f"-I{USDT}", "-c",
             str(SRC / "header_check.c")]
    variants = [
        ("header_c99_gcc", "gcc", ["-std=c99"]),
        ("header_c99_clang", "clang", ["-std=c99"]),
        ("header_cxx11_gxx", "g++", ["-x", "c++", "-std=c++11", "-Wold-style-cast"]),
        ("header_cxx11_clangxx", "clang++", ["-x", "c++", "-std=c++11", "-Wold-style-cast"]),
    ]
    for name, cc, extra in variants:
        if not have(cc):
            report(name, False, f"{cc} not installed (make deps)")
            continue
        obj = OUT / f"{name}.o"
        if compile_ok(name, [cc] + extra + flags + ["-o", str(obj)]):
            notes = [n for n in parse_notes(obj) if n["provider"] == "taskscope"]
            names = {n["name"] for n in notes}
            report(f"{name}_notes", not set(PROBES) - names,
                   f"missing {sorted(set(PROBES) - names)}")

    obj = OUT / "header_disabled.o"
    if compile_ok("header_compiles_out", ["gcc", "-std=c99", "-DTASKSCOPE_DISABLE"]
                  + flags + ["-o", str(obj)]):
        secs = sections(obj)
        left = [s for s in (".note.stapsdt", ".probes") if s in secs]
        report("header_compiled_out_emits_nothing", not left, f"still has {left}")

    obj = OUT / "header_aarch64.o"
    rc, _, err = run(["clang", "--target=aarch64-linux-gnu", "-ffreestanding", "-std=c99"]
                     + flags + ["-o", str(obj)])
    if rc != 0:
        skip("header_aarch64_notes", "clang cannot target aarch64 here: "
             + err.strip()[-120:])
    else:
        notes = [n for n in parse_notes(obj) if n["provider"] == "taskscope"]
        bad = [f"{n['name']}:{a}" for n in notes for a in n["args"]
               if not re.fullmatch(r"(8@x|4@w)\d+", a)]
        names = {n["name"] for n in notes}
        report("header_aarch64_notes", not bad and names == set(PROBES),
               f"bad args {bad[:4]} missing {sorted(set(PROBES) - names)}")

    for cxx in ("g++", "clang++"):
        exe = OUT / f"comdat_{cxx.replace('+', 'x')}"
        name = f"cxx_comdat_link_{cxx.replace('+', 'x')}"
        if compile_ok(name, [cxx, "-std=c++11", "-O0", "-Wall", "-Wextra", "-pedantic",
                             "-Werror", f"-I{USDT}", str(SRC / "comdat_a.cpp"),
                             str(SRC / "comdat_b.cpp"), "-o", str(exe)]):
            notes = [n for n in parse_notes(exe) if n["provider"] == "taskscope"]
            # One folded copy of each inline function: one note each.
            counts = Counter(n["name"] for n in notes)
            report(f"{name}_one_note_per_copy", counts == Counter(poll_start=1, wake=1),
                   f"notes {dict(counts)}")


def gc_sections_checks():
    """A probe in a function --gc-sections drops must take its note along
    (else libbpf rejects the probe), and .stapsdt.base must survive."""
    src = OUT / "gc_sections.c"
    src.write_text(
        '#include "taskscope.h"\n'
        "void dead_fn(uint64_t x);\n"
        "void dead_fn(uint64_t x) { TASKSCOPE_POLL_START(x); }\n"
        "int main(void) { TASKSCOPE_TASK_DROP(1); return 0; }\n")
    for cc in ("gcc", "clang"):
        for ld in ("bfd", "lld"):
            name = f"gc_sections_{cc}_{ld}"
            exe = OUT / name
            rc, _, err = run([cc, "-O2", "-ffunction-sections", "-Wl,--gc-sections",
                              f"-fuse-ld={ld}", f"-I{USDT}", str(src), "-o", str(exe)])
            if rc != 0 and ld == "lld" and not have("ld.lld"):
                skip(name, "lld not installed")
                continue
            if rc != 0:
                report(name, False, err.strip()[-300:])
                continue
            notes = [n for n in parse_notes(exe) if n["provider"] == "taskscope"]
            names = Counter(n["name"] for n in notes)
            base = sections(exe).get(".stapsdt.base", (None,))[0]
            problems = []
            if names != Counter(task_drop=1):
                problems.append(f"notes {dict(names)} (want only task_drop)")
            if base is None or any(n["base"] != base for n in notes):
                problems.append(".stapsdt.base dropped or mismatched")
            problems += [p for n in notes for p in check_site(exe, n["pc"], n["name"])]
            report(name, not problems, "; ".join(problems))


def c_programs():
    """Builds probes_all (gcc and clang) and redzone; returns paths or None."""
    built = {}
    for cc in ("gcc", "clang"):
        exe = OUT / f"probes_all_{cc}"
        rc, _, err = run([cc, "-O2", "-Wall", "-Wextra", "-Werror", f"-I{USDT}",
                          str(SRC / "probes_all.c"), "-o", str(exe)])
        report(f"build_probes_all_{cc}", rc == 0, err.strip()[-300:])
        if rc == 0:
            built[cc] = exe
    exe = OUT / "redzone"
    rc, _, err = run(["gcc", "-O2", "-fPIE", "-pie", "-Wall", "-Wextra", "-Werror",
                      f"-I{USDT}", str(SRC / "redzone.c"), "-o", str(exe)])
    report("build_redzone", rc == 0, err.strip()[-300:])
    if rc == 0:
        built["redzone"] = exe
    return built


def redzone_disassembly(exe):
    """Both leaves really are red-zone users: %rsp-negative stores, no frame."""
    rc, out, _ = run(["objdump", "-d", "--no-show-raw-insn", str(exe)])
    for fn in ("leaf_safe", "leaf_naive"):
        m = re.search(rf"<{fn}>:\n(.*?)\n\n", out, re.S)
        body = m.group(1) if m else ""
        uses = re.findall(r"-0x[0-9a-f]+\(%rsp", body)
        frame = re.findall(r"\b(sub|push)\w*\s+.*%rsp|\bpush\b|\bcall\b", body)
        report(f"redzone_{fn}_is_redzone_leaf", bool(body) and len(uses) >= 2 and not frame,
               "not found" if not body else
               f"{len(uses)} negative %rsp operands, frame/call insns {frame[:3]}")


def redzone_checks(exe):
    notes = parse_notes(exe)
    pcs = {n["name"]: f"{n['pc']:#x}" for n in notes
           if (n["provider"], n["name"]) in {("taskscope", "poll_start"),
                                             ("taskscope_test", "naive")}}
    report("redzone_notes", len(pcs) == 2, f"found {pcs}")
    if len(pcs) != 2:
        return
    both = [pcs["poll_start"], pcs["naive"]]

    rc, out, err = redzone_run(exe, ["safe", str(REDZONE_HITS)] + both, "taskscope:poll_start")
    sites = check_redzone_result("redzone_safe_1M_hits_intact", out, err, both)
    check_optimised("redzone_safe_site_optimised_to_call", sites, [pcs["poll_start"]])

    # Control: the same leaf with a bare nop5. It shows the hazard is real
    # here and that the check above would catch it.
    rc, out, err = redzone_run(exe, ["naive", str(REDZONE_HITS)] + both,
                               "taskscope_test:naive")
    counts, hits, sites = parse_redzone(out)
    if counts is None:
        report("redzone_naive_control", False, "no result: " + (out + err).strip()[-200:])
    elif counts[1] > 0:
        report("redzone_naive_control", True)
        print(f"# bare nop5 control: {counts[1]} of {counts[0]} calls corrupted "
              f"({counts[2]} words), site {sites.get(pcs['naive'], '?')}", flush=True)
    elif not sites.get(pcs["naive"], "").startswith("e8"):
        skip("redzone_naive_control", "the bare nop5 site was not optimised into a call")
    else:
        skip("redzone_naive_control", "bare nop5 not corrupted on this kernel "
             "(red-zone push fixed?); the safe check still holds")


def build_libbpf_loader():
    """Builds the libbpf attach_usdt loader; returns its path or None."""
    bpf_obj = OUT / "libbpf_usdt.bpf.o"
    skel = OUT / "libbpf_usdt.skel.h"
    loader = OUT / "libbpf_usdt"
    rc, arch, _ = run(["gcc", "-print-multiarch"])
    cmds = [
        ["clang", "-g", "-O2", "-target", "bpf", "-mcpu=v3", "-D__TARGET_ARCH_x86",
         f"-I{ROOT / 'vmlinux'}", f"-I{SRC}", "-idirafter", f"/usr/include/{arch.strip()}",
         "-Wall", "-Werror", "-c", str(SRC / "libbpf_usdt.bpf.c"), "-o", str(bpf_obj)],
        ["bpftool", "gen", "skeleton", str(bpf_obj), "name", "libbpf_usdt_bpf"],
        ["gcc", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{OUT}", f"-I{SRC}",
         str(SRC / "libbpf_usdt.c"), "-lbpf", "-lelf", "-lz", "-o", str(loader)],
    ]
    for cmd in cmds:
        rc, out, err = run(cmd)
        if rc != 0:
            report("build_libbpf_usdt", False, f"{cmd[0]}: {err.strip()[-300:]}")
            return None
        if cmd[0] == "bpftool":
            skel.write_text(out)
    report("build_libbpf_usdt", True)
    return loader


def libbpf_check(label, loader, target):
    """attach_usdt by binary path, then the loader starts the target."""
    rc, out, err = run([str(loader), str(target)], timeout=60)
    problems = compare_events(out)
    if rc != 0:
        problems.insert(0, f"rc {rc}: {err.strip()[-200:]}")
    report(f"libbpf_attach_usdt_{label}", not problems, "; ".join(problems))


def rust_checks(loader):
    if not have("cargo"):
        skip("rust_build", "cargo not installed")
        return
    target_dir = OUT / "cargo"
    rc, out, err = run(["cargo", "build", "--release", "--offline", "--quiet",
                        "--target-dir", str(target_dir)], cwd=USDT / "rust", timeout=600)
    report("rust_build", rc == 0, err.strip()[-300:])
    if rc != 0:
        return
    exe = target_dir / "release" / "taskscope-usdt-fire"
    notes = check_notes("rust", exe)
    if not is_root():
        return
    trace_running("rust", exe, ["2"])
    trace_spawned("rust", exe, ["2"])
    if loader:
        libbpf_check("rust", loader, exe)
    # One site per probe in Rust (the site lives in a never-inlined function).
    counts = Counter(n["name"] for n in notes if n["provider"] == "taskscope")
    report("rust_one_site_per_probe", counts == Counter({p: 1 for p in PROBES}),
           f"notes {dict(counts)}")
    pcs = [f"{n['pc']:#x}" for n in notes if n["name"] == "poll_start"]
    rc, out, err = redzone_run(exe, ["stack", str(REDZONE_HITS)] + pcs,
                               "taskscope:poll_start")
    sites = check_redzone_result("rust_stack_data_1M_hits_intact", out, err, pcs)
    check_optimised("rust_site_optimised_to_call", sites, pcs)


def is_root():
    return os.geteuid() == 0


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    header_checks()
    gc_sections_checks()
    built = c_programs()
    for cc in ("gcc", "clang"):
        if cc in built:
            check_notes(f"c_{cc}", built[cc])
    if "redzone" in built:
        redzone_disassembly(built["redzone"])

    if "gcc" in built:
        rc, out, _ = run([str(built["gcc"]), "idle"])
        report("semaphores_zero_when_unattached", rc == 0, out.strip().replace("\n", ", "))

    loader = None
    if not is_root():
        report("usdt_attach", False, "attach checks need root")
    elif not have("bpftrace"):
        report("usdt_attach", False, "bpftrace not installed (make deps)")
    else:
        for cc in ("gcc", "clang"):
            if cc in built:
                trace_running(f"c_{cc}", built[cc], [])
                trace_spawned(f"c_{cc}", built[cc], [])
        loader = build_libbpf_loader()
        if loader and "gcc" in built:
            libbpf_check("c_gcc", loader, built["gcc"])
        if "redzone" in built:
            redzone_checks(built["redzone"])
    rust_checks(loader)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
