"""taskscope serve: the fleet view over HTTP, checked the way it is used.

- A real Prometheus (Debian's) scrapes serve every second; PromQL through
  Prometheus's HTTP API must return taskscope_tasks with the deadlock
  target's two idle tasks and taskscope_stalls{kind="deadlock"} = 1, and for
  the healthy target every stall kind at 0 (nothing false).
- Headless Chromium loads the dashboard: the deadlock target's page shows
  both tasks, the wait-for cycle and their .await lines; the healthy one's
  says no stall. A screenshot is taken and checked to be an image.
- Bad requests (path traversal, oversized head, malformed request line,
  slowloris, a write method, too many connections) get a 4xx or a closed
  connection, and serve keeps answering; 1,000 requests leave its memory
  bounded.
- A listen address beyond loopback needs a token, and then the data
  endpoints answer only with it.
"""
import concurrent.futures
import json
import os
import re
import select
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tslib import TASKSCOPE, assert_nothing_left, wait_exit

DEADLOCK = ("deadlock::lock_ab", "deadlock::lock_ba")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Serve:
    """taskscope serve started on a free loopback port, ready to answer."""

    def __init__(self, popen, *args, listen=None):
        self.port = int(listen.rsplit(":", 1)[1]) if listen else free_port()
        self.listen = listen or f"127.0.0.1:{self.port}"
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = popen([TASKSCOPE, "serve", "--listen", self.listen, *args])
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if "listening on" not in line:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"serve did not start: {line!r} {err.strip()[-600:]!r}")

    def get(self, path, headers=None, timeout=10):
        """(status, body text) of a GET."""
        req = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def json(self, path, headers=None):
        status, body = self.get(path, headers)
        assert status == 200, f"GET {path}: {status} {body[:200]}"
        return json.loads(body)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))

    def alive(self):
        return self.proc.poll() is None


def wait_for(what, fn, timeout=30, every=0.5):
    """fn() until it returns something true; fails with what after timeout."""
    end, last = time.time() + timeout, None
    while time.time() < end:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


def process(data, pid):
    return next((p for p in data["processes"] if p["pid"] == pid), None)


def raw(port, payload, timeout=5):
    """Sends payload on a new connection; returns what came back until close (b'' if none)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(payload)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def status_of(response):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", response)
    return int(m.group(1)) if m else None


def sample_values(metrics, name):
    """{frozenset(labels): value} of one family in the text format."""
    out = {}
    for line in metrics.splitlines():
        m = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1)))
            out[labels] = float(m.group(2))
    return out


# ---- Prometheus ---------------------------------------------------------

def promql(port, query):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as r:
        data = json.load(r)
    assert data["status"] == "success", data
    return {(s["metric"].get("pid"), s["metric"].get("state") or s["metric"].get("kind")):
            float(s["value"][1]) for s in data["data"]["result"]}


def promql_or_none(port, query):
    """promql, or None while Prometheus is still starting."""
    try:
        return promql(port, query)
    except (urllib.error.URLError, ConnectionError):
        return None


def test_prometheus_scrapes_tasks_and_the_deadlock(spawn, popen, tmp_path):
    dead = spawn("deadlock")
    healthy = spawn("healthy")
    serve = Serve(popen, "-p", dead.pid, "-p", healthy.pid)
    prom_port = free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: taskscope\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{serve.port}']\n")
    prom = popen(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path}/tsdb",
                  f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=subprocess.DEVNULL)
    d, h = str(dead.pid), str(healthy.pid)

    # the deadlock is found once the wait passes the 1 s threshold
    def deadlock_seen():
        assert prom.poll() is None, f"prometheus exited: {prom.communicate()[1][-600:]}"
        r = promql_or_none(prom_port, 'taskscope_stalls{kind="deadlock"}')
        return r if r and r.get((d, "deadlock")) == 1 else None

    stalls = wait_for("taskscope_stalls{kind=\"deadlock\"} = 1 through Prometheus",
                      deadlock_seen, timeout=60, every=1)
    assert prom.poll() is None, "prometheus exited"
    assert stalls == {(d, "deadlock"): 1, (h, "deadlock"): 0}, stalls
    up = promql(prom_port, 'up{job="taskscope"}')
    assert list(up.values()) == [1.0], up

    tasks = promql(prom_port, "taskscope_tasks")
    assert {k: v for k, v in tasks.items() if k[0] == d} == {
        # the deadlocked pair, and main's block_on future parked on pending()
        (d, "idle"): 3, (d, "scheduled"): 0, (d, "running"): 0, (d, "done"): 0}, tasks
    assert {s for p, s in tasks if p == h} == {"idle", "scheduled", "running", "done"}, tasks
    # pinger, ponger, 4 tickers, aggregator (main is block_on's, not a task)
    # 7 spawned tasks and main's block_on future
    assert sum(v for (p, s), v in tasks.items() if p == h and s != "done") == 8, tasks

    # nothing false on the healthy process, of any kind; the idle pair on the other
    every = promql(prom_port, "taskscope_stalls")
    assert {k: v for k, v in every.items() if k[0] == h and v} == {}, every
    assert {k: v for k, v in every.items() if k[0] == d and v} == {
        (d, "deadlock"): 1, (d, "idle"): 2}, every
    # the healthy target polls: the counter grows, the deadlocked one does not
    polls = promql(prom_port, "taskscope_polls_total")
    assert polls[(h, None)] > 0 and polls[(d, None)] == 0, polls
    own = promql(prom_port, "taskscope_cpu_seconds_total")
    assert list(own.values())[0] > 0, own


@pytest.mark.parametrize("mode", ["default", "sampled"])
def test_modes_find_the_deadlock_and_nothing_on_healthy(spawn, popen, mode):
    """Both modes top's session offers: the same stalls, through /metrics."""
    dead = spawn("deadlock")
    healthy = spawn("healthy")
    serve = Serve(popen, "-p", dead.pid, "-p", healthy.pid, "--mode", mode)

    def stalls():
        text = serve.get("/metrics")[1]
        v = sample_values(text, "taskscope_stalls")
        got = {(dict(k)["pid"], dict(k)["kind"]): n for k, n in v.items() if n}
        return (got, text) if (str(dead.pid), "deadlock") in got else None

    got, text = wait_for("the deadlock in /metrics", stalls, timeout=20)
    time.sleep(1.5)		# another refresh or two: nothing may appear on healthy
    got, text = stalls()
    assert got == {(str(dead.pid), "deadlock"): 1, (str(dead.pid), "idle"): 2}, got
    assert f'mode="{mode}"' in text
    assert ("taskscope_probe_cpu_ratio " in text) == (mode == "default"), text[-1500:]
    hits = sample_values(text.replace("_total ", "_total{} "), "taskscope_probe_hits_total")
    assert list(hits.values())[0] > 0, hits
    polls = sample_values(text, "taskscope_polls_total")
    assert polls[frozenset({("pid", str(healthy.pid)), ("comm", "healthy"),
                            ("runtime", "tokio")})] > 0, polls


def test_metrics_format_and_labels(spawn, popen):
    """The exposition itself: HELP/TYPE once per family, our prefix, the three
    process labels and nothing naming a task."""
    dead = spawn("deadlock")
    serve = Serve(popen, "-p", dead.pid)
    status, text = serve.get("/metrics")
    assert status == 200
    families = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
    names = [f for f, _ in families]
    assert len(names) == len(set(names)), "a family declared twice"
    assert all(n.startswith("taskscope_") for n in names), names
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        name = re.match(r"^([a-z_]+)", line).group(1)
        assert name in names, f"sample of an undeclared family: {line}"
        labels = set(re.findall(r'(\w+)="', line))
        assert labels <= {"pid", "comm", "runtime", "state", "kind", "version", "mode"}, line
    assert 'taskscope_info{version="0.1.0",mode="sampled"} 1' in text, "sampled by default"
    assert "taskscope_probe_cpu_ratio" not in text, "no per-hit CPU estimate in sampled mode"
    assert f'taskscope_wakes_total{{pid="{dead.pid}"' in text
    tasks = sample_values(text, "taskscope_tasks")
    key = frozenset({("pid", str(dead.pid)), ("comm", "deadlock"), ("runtime", "tokio"),
                     ("state", "idle")})
    assert tasks.get(key) == 3, tasks	# the deadlocked pair and main

    # the charts' history: one sample per refresh, for the process and the host (pid 0)
    time.sleep(2.2)
    hist = serve.json("/api/history")["series"]
    assert sorted(h["pid"] for h in hist) == [0, dead.pid], hist
    for h in hist:
        assert len(h["t_ms"]) >= 3 and h["idle"][-1] == 3 and h["running"][-1] == 0, h  # the pair and main
        assert h["t_ms"] == sorted(h["t_ms"]), h
    assert [h["pid"] for h in serve.json(f"/api/history?pid={dead.pid}")["series"]] == [dead.pid]
    assert serve.json("/api/history?pid=1")["series"] == []


# ---- the dashboard in Chromium --------------------------------------------

def chromium(*args, timeout=90):
    r = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--virtual-time-budget=8000", *args],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"chromium failed: {r.stderr.strip()[-500:]}"
    return r.stdout


def page_text(dom):
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", dom, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", text.replace("&gt;", ">").replace("&lt;", "<")
                  .replace("&amp;", "&"))


def test_dashboard_shows_the_deadlock(spawn, popen, tmp_path):
    dead = spawn("deadlock")
    serve = Serve(popen, "-p", dead.pid)
    wait_for("the deadlock in /api/processes",
             lambda: process(serve.json("/api/processes"), dead.pid)["stall_counts"]["deadlock"])
    dom = chromium("--dump-dom", f"{serve.base}/#pid={dead.pid}&task=3")
    text = page_text(dom)
    for name in DEADLOCK:
        assert name in text, f"{name} not on the page"
    # the cycle: drawn (SVG) and spelled out, each task at its .await
    assert 'aria-label="deadlock cycle"' in dom
    assert re.search(r"task 3 deadlock::lock_ab \.await at src/main\.rs:12 waits for mutex "
                     r"0x[0-9a-f]+, held by task 4 deadlock::lock_ba", text), text[:3000]
    assert re.search(r"task 4 deadlock::lock_ba \.await at src/main\.rs:20 waits for mutex "
                     r"0x[0-9a-f]+, held by task 3 deadlock::lock_ab", text), text[:3000]
    # task 3 in full: its await chain down to the mutex it waits on
    assert re.search(r"deadlock::lock_ab \.await at src/main\.rs:12", text)
    assert re.search(r"tokio::sync::mutex::Mutex<u64>::lock \.await at "
                     r"tokio-1\.24\.2/src/sync/mutex\.rs:\d+", text), text[-3000:]
    assert "1 deadlock" in text
    assert "No stall found" not in text

    shot = tmp_path / "dashboard.png"
    chromium("--window-size=1280,1400", f"--screenshot={shot}",
             f"{serve.base}/#pid={dead.pid}&task=3")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000, len(data)


def test_dashboard_healthy_says_no_stall(spawn, popen):
    healthy = spawn("healthy")
    serve = Serve(popen, "-p", healthy.pid)
    time.sleep(2.5)		# past the stall threshold: a false stall would show by now
    text = page_text(chromium("--dump-dom", f"{serve.base}/#pid={healthy.pid}"))
    assert "No stall found." in text, text[:2000]
    assert "0 stalls" in text and "deadlock" not in text.lower(), text[:2000]
    assert "healthy::ticker" in text, text[:2000]


# ---- bad requests, bounds ---------------------------------------------------

def test_bad_requests(spawn, popen):
    dead = spawn("deadlock")
    serve = Serve(popen, "-p", dead.pid)
    port = serve.port

    for path in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                 "/app.js/../../etc/passwd", "/..%2f..%2fetc%2fpasswd", "/etc/passwd"):
        resp = raw(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        st = status_of(resp)
        assert st in (400, 404), f"{path}: {resp[:200]!r}"
        assert b"root:" not in resp

    # a head past the per-connection memory: 4xx or closed, never a 200
    big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n"
    try:
        resp = raw(port, big)
    except (ConnectionResetError, BrokenPipeError):
        resp = b""
    assert resp == b"" or status_of(resp) == 431, resp[:200]

    # answered 4xx (505 for a version that does not exist) or closed; a line of
    # NULs is no request line yet, so it waits and falls to the request deadline
    for bad, want in ((b"GARBAGE\r\n\r\n", (None, 400)), (b"GET\r\n\r\n", (None, 400)),
                      (b"GET / HTTP/9.9\r\n\r\n", (505,)),
                      (b"\x00\x01\x02\x03 / HTTP/1.1\r\n\r\n", (None, 400)),
                      (b"GET / HTTP/1.1\r\nBadHeader\r\n\r\n", (400,))):
        resp = raw(port, bad, timeout=20)
        assert status_of(resp) in want, f"{bad!r}: {resp[:200]!r}"

    # read-only
    for method in ("POST", "PUT", "DELETE"):
        resp = raw(port, f"{method} /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                         f"Connection: close\r\n\r\nhi".encode())
        assert status_of(resp) == 405, resp[:200]
    assert serve.get("/nope")[0] == 404
    assert serve.get("/api/report?pid=abc")[0] == 400
    assert serve.get("/api/report")[0] == 400
    assert serve.get("/api/report?pid=1")[0] == 404
    assert serve.alive()
    assert serve.get("/metrics")[0] == 200


def test_slowloris_is_cut_and_others_are_served(spawn, popen):
    dead = spawn("deadlock")
    serve = Serve(popen, "-p", dead.pid)
    s = socket.create_connection(("127.0.0.1", serve.port), timeout=1)
    s.sendall(b"GET /metrics HTTP/1.1\r\n")
    start, closed_after = time.time(), None
    try:
        # a byte a second keeps an idle timer from firing; the request deadline must not care
        while time.time() - start < 25:
            try:
                s.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.time() - start
                break
            try:
                if s.recv(4096) == b"":
                    closed_after = time.time() - start
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed_after = time.time() - start
                break
            if time.time() - start > 3:
                assert serve.get("/metrics", timeout=5)[0] == 200, "others starved by a slow client"
    finally:
        s.close()
    assert closed_after is not None, "a client sending a byte a second was never cut"
    assert closed_after < 20, closed_after
    rejected = sample_values(serve.get("/metrics")[1].replace("_total ", "_total{} "),
                             "taskscope_http_rejected_total")
    assert list(rejected.values()) == [1.0], rejected


def sockets_of(pid):
    """Sockets pid holds, its listening one included."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:
            pass    # closed since the listing (serve reads /proc files as it runs)
    return n


def test_connections_are_bounded(spawn, popen):
    dead = spawn("deadlock")
    serve = Serve(popen, "-p", dead.pid)
    socks = []
    try:
        for _ in range(100):
            socks.append(socket.create_connection(("127.0.0.1", serve.port), timeout=3))
        time.sleep(1)
        # 64 at once; the rest wait in the listen backlog, not in serve's memory
        held = sockets_of(serve.proc.pid)
        assert 64 <= held <= 64 + 2, held
    finally:
        for s in socks:
            s.close()
    assert wait_for("serve answering again", lambda: serve.get("/metrics")[0] == 200, timeout=15)


def test_thousand_requests_bounded_memory(spawn, popen):
    dead = spawn("deadlock")
    serve = Serve(popen, "-p", dead.pid)
    paths = ["/metrics", "/api/processes", f"/api/report?pid={dead.pid}", "/", "/app.js"]
    for p in paths:
        assert serve.get(p)[0] == 200
    before = serve.rss_kib()

    def one(i):
        return serve.get(paths[i % len(paths)], timeout=20)[0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as ex:
        codes = list(ex.map(one, range(1000)))
    assert codes.count(200) == 1000, {c: codes.count(c) for c in set(codes)}
    after = serve.rss_kib()
    assert after - before < 16 * 1024, f"RSS grew {before} -> {after} KiB over 1000 requests"
    assert serve.alive()


# ---- who may listen where ---------------------------------------------------

def test_token_required_beyond_loopback(spawn, popen):
    dead = spawn("deadlock")
    port = free_port()
    r = subprocess.run([TASKSCOPE, "serve", "-p", str(dead.pid), "--listen", f"0.0.0.0:{port}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stdout == "", r
    assert len(r.stderr.strip().splitlines()) == 1 and "--token" in r.stderr, r.stderr
    for bad in ("nonsense", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "[::1:80"):
        r = subprocess.run([TASKSCOPE, "serve", "--listen", bad], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, (bad, r)
    r = subprocess.run([TASKSCOPE, "serve", "--listen", f"0.0.0.0:{port}", "--token", "short"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "token" in r.stderr, r

    token = "s3cret-token-for-test"
    serve = Serve(popen, "-p", dead.pid, "--token", token, listen=f"0.0.0.0:{port}")
    assert serve.get("/metrics")[0] == 401
    assert serve.get("/api/processes", {"Authorization": "Bearer wrong-token-x"})[0] == 401
    assert serve.get("/api/processes", {"Authorization": token})[0] == 401
    assert serve.get(f"/api/report?pid={dead.pid}")[0] == 401
    status, body = serve.get("/metrics", {"Authorization": f"Bearer {token}"})
    assert status == 200 and "taskscope_tasks{" in body
    # the page itself holds no data; it sends the token it is given in #token=
    assert serve.get("/")[0] == 200
    text = page_text(chromium("--dump-dom", f"{serve.base}/#token={token}&pid={dead.pid}"))
    assert all(name in text for name in DEADLOCK) and "1 deadlock" in text, text[:2000]
    text = page_text(chromium("--dump-dom", f"{serve.base}/#pid={dead.pid}"))
    assert "token required" in text and DEADLOCK[0] not in text, text[:2000]


def test_system_wide_finds_the_target(spawn, popen):
    """No -p: every supported process on the host, as top does."""
    dead = spawn("deadlock")
    serve = Serve(popen)
    data = wait_for("the deadlock target in /api/processes",
                    lambda: process(serve.json("/api/processes"), dead.pid), timeout=20)
    assert data["runtime"]["name"] == "tokio" and data["comm"] == "deadlock"


def test_sigterm_detaches_and_port_in_use(spawn, popen):
    dead = spawn("deadlock")
    serve = Serve(popen, "-p", dead.pid)
    assert serve.get("/metrics")[0] == 200
    # a second serve on the same port: one line, exit 2, the first one unharmed
    r = subprocess.run([TASKSCOPE, "serve", "-p", str(dead.pid), "--listen", serve.listen],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "can't listen on 127.0.0.1 port" in r.stderr, r
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert serve.get("/metrics")[0] == 200
    serve.proc.terminate()
    code, _, err = wait_exit(serve.proc, timeout=10)
    assert code == 0, err
    assert_nothing_left("serve got SIGTERM")
    assert dead.alive()


def test_a_watched_process_exits(spawn, popen):
    """-p: a process that exits leaves the fleet; serve goes on with the others."""
    dead = spawn("deadlock")
    healthy = spawn("healthy")
    serve = Serve(popen, "-p", dead.pid, "-p", healthy.pid)
    assert {p["pid"] for p in serve.json("/api/processes")["processes"]} == {dead.pid, healthy.pid}
    healthy.kill()
    wait_for("the exited process gone from /api/processes",
             lambda: [p["pid"] for p in serve.json("/api/processes")["processes"]] == [dead.pid],
             timeout=15)
    assert f'pid="{healthy.pid}"' not in serve.get("/metrics")[1]
    assert serve.get(f"/api/report?pid={healthy.pid}")[0] == 404
    assert serve.alive()
