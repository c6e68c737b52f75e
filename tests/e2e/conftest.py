"""pytest setup for the end-to-end tests (run as root: they attach BPF).

Fixtures start what a test needs and end it at teardown, even when the test
failed: targets (spawn) and other processes (popen).
The suite's rules are enforced here: a skipped test is a failed test, and a
target that ended by itself fails the test that started it.
"""
import os
import subprocess

import pytest

from tslib import ROOT, TARGETS, TASKSCOPE, Target


@pytest.fixture(scope="session", autouse=True)
def _preconditions():
    if os.geteuid() != 0:
        pytest.fail("end-to-end tests need root (they attach BPF programs): "
                    "run sudo make test", pytrace=False)
    if not os.access(TASKSCOPE, os.X_OK):
        pytest.fail(f"{TASKSCOPE} not built: run make all", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """No skips: every feature under test is in the build, so a test that
    skips hides a failure. It is reported as failed, with its reason."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and not hasattr(rep, "wasxfail"):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"skipped, which this suite counts as a failure: {reason}"


@pytest.fixture
def spawn():
    """spawn(name, path=None, settle=0.3, args=()) -> Target, killed at
    teardown; one that ended by itself (crash, exit) fails the test."""
    started = []

    def start(name, path=None, settle=0.3, args=()):
        t = Target(name, path=path, settle=settle, args=args)
        started.append(t)
        return t
    yield start
    gone = [why for why in (t.ended_by_itself() for t in started) if why]
    for t in started:
        t.kill()
    assert not gone, "; ".join(gone)


@pytest.fixture
def popen():
    """popen(cmd, **kw) -> subprocess.Popen with text pipes; killed at teardown."""
    procs = []

    def start(cmd, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen([str(c) for c in cmd], text=True, **kw)
        procs.append(p)
        return p
    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.communicate()


@pytest.fixture(scope="session")
def quiet_lto():
    """The quiet target built with whole-program LTO (profile release-lto)."""
    r = subprocess.run(["cargo", "build", "--profile", "release-lto", "--quiet", "-p", "quiet"],
                       cwd=os.path.join(ROOT, "tests", "targets"), capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, f"cargo build --profile release-lto -p quiet failed: " \
                              f"{r.stderr.strip()[-400:]}"
    return os.path.join(TARGETS, "..", "release-lto", "quiet")
