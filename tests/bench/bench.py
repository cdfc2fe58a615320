#!/usr/bin/env python3
"""make bench: the figures that show the program is fast, each beside its
reference measured in the same run on this machine.

One line per figure:

    name value unit (reference value unit, ratio R; target T: met)
    name value unit (target T: met)

and the same as JSON in tests/out/bench/bench.json.  Nothing here is
asserted: a missed target says MISSED and the run goes on.

What runs (everything on loopback, started here and stopped here):
  - tests/rig.py's Rig: lighttpd with conf/lighttpd.conf (max-procs 2 in
    the bench's copy) and a second fastcgi.server prefix, /hello, for the
    trivial responder build/bench/hello.fcgi (the ceiling), the mock
    InsureSign over https, a store, a config;
  - wrk against /status, /token and /hello; a Python client for the
    connect flows and the memory run;
  - build/bench/coldstart (a C harness) for process start in CGI mode;
  - build/bench/storebench (the program's own modules) for store reads,
    and the program itself for the admin page and gc, on stores of up to
    a million records kept in build/bench/stores/ between runs;
  - the same with [store] backend = redis: a second rig whose workers use
    a redis-server of their own (/status and /token against the hello
    responder and against the file store, the connections each worker
    holds), and a redis-server holding a million links, kept between runs
    (build/bench/stores/redis-N/dump.rdb): its memory per link, the admin
    page, reads, refreshes per second, gc.
"""

import http.client
import json
import os
import re
import resource
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from rig import BASE, NAVIGATE, OUT, PROGRAM, Redis, Rig, certs  # noqa: E402

BENCH = ROOT / "build" / "bench"
STORES = BENCH / "stores"
HELLO = BENCH / "hello.fcgi"
RESULT = OUT / "bench" / "bench.json"

WRK_SECONDS = 10
FLOWS = 1000
FLOW_CONCURRENCY = 8
MEMORY_REQUESTS = 10000
COLD_RUNS = 300
READ_SAMPLES = 2000
READ_ROUNDS = 5
ADMIN_RUNS = 5
GC_STALE = 100
# Store sizes: the read test's three (the last, BIG, also gc's), the
# admin page's.
BIG = 1000000
READ_SIZES = (1, 10000, BIG)
ADMIN_SIZE = 100000
# A generated store is made again when older than this: its records were
# used when made, and gc ([store] max_idle_days, 90) must not see them idle.
STORE_MAX_AGE = 60 * 86400
# What one record takes on disk (a block) and an inode, for the space check.
RECORD_BYTES = 4096

figures = []


def note(text):
    print(f"# {text}", flush=True)


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, int) or (isinstance(v, float) and v >= 1000):
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def figure(name, value, unit, ref=None, ref_value=None, ratio=None,
           target=None, met=None, note_text=None):
    """Prints a figure's line and keeps it for the JSON file.  ratio:
    value / ref_value unless given; target: its text ("ratio >= 0.85");
    met: True, False, or None when there is no target."""
    if ratio is None and ref_value:
        ratio = value / ref_value
    parts = []
    if ref is not None:
        parts.append(f"{ref} {fmt(ref_value)} {unit}" +
                     (f", ratio {ratio:.2f}" if ratio is not None else ""))
    if target is not None:
        parts.append(f"target {target}: " + ("met" if met else "MISSED"))
    if note_text:
        parts.append(note_text)
    line = f"{name} {fmt(value)} {unit}"
    if parts:
        line += " (" + "; ".join(parts) + ")"
    print(line, flush=True)
    figures.append({"name": name, "value": value, "unit": unit,
                    "reference": ref, "reference_value": ref_value,
                    "ratio": None if ratio is None else round(ratio, 4),
                    "target": target, "met": met, "note": note_text})


# -- the web server -----------------------------------------------------

HELLO_CONF = """
# make bench: the ceiling, a trivial libfcgi responder, in the same server
# with the same settings as the program.
fastcgi.server += (
	"{prefix}" => ((
		"bin-path"    => "{hello}",
		"socket"      => "{socket}",
		"max-procs"   => 2,
		"check-local" => "disable",
	)),
)
"""


class BenchRig(Rig):
    # A second ceiling, /open-hello, outside the web server's sign-in.
    open_hello = False

    def start_lighttpd(self, conf_name, values):
        """conf/lighttpd.conf as shipped, with two changes in the bench's
        copy only: max-procs 2, not 4 (two workers for this two-core
        machine, as the figures are quoted), and the /hello prefix."""
        text = (ROOT / "conf" / conf_name).read_text()
        text, n = re.subn(r'("max-procs"\s*=>\s*)\d+', r"\g<1>2", text)
        if n != 1:
            raise RuntimeError(f"conf/{conf_name}: no max-procs to set")
        text += HELLO_CONF.format(prefix="/hello", hello=HELLO,
                                  socket=self.out / "hello.sock")
        if self.open_hello:
            text += HELLO_CONF.format(prefix="/open-hello", hello=HELLO,
                                      socket=self.out / "open-hello.sock")
        copy = self.out / f"bench-{conf_name}"
        copy.write_text(text)
        # An absolute name: the rig reads it, fills in the variables and
        # writes it back in place (ROOT / "conf" / "/abs" is "/abs").
        super().start_lighttpd(str(copy), values)


def proc_stat(pid):
    """(utime + stime in seconds, {VmRSS, RssAnon, RssFile, Private} in
    kB).  Private is what the process alone holds (smaps_rollup's
    Private_Clean + Private_Dirty): the memory each more worker costs,
    since the pages of shared libraries are shared by all of them."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    mem = {"Private": 0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile"):
            mem[k] = int(v.split()[0])
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("Private_Clean", "Private_Dirty"):
            mem["Private"] += int(v.split()[0])
    return cpu, mem


def workers_cpu(pids):
    return sum(proc_stat(p)[0] for p in pids)


def wrk(url, headers):
    """wrk -t2 -c64 -d10s --latency: (requests/s, p50 ms, p99 ms)."""
    cmd = ["wrk", "-t2", "-c64", f"-d{WRK_SECONDS}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    r = subprocess.run(cmd + [url], capture_output=True, text=True,
                       timeout=WRK_SECONDS + 60, check=True)
    out = r.stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        raise RuntimeError(f"wrk {url}: not all answers were 2xx:\n{out}")

    def ms(text):
        v, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
        return float(v) * {"us": 1e-3, "ms": 1, "s": 1e3}[unit]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    return rps, p50, p99


class Client:
    """One keep-alive connection, as a script or backend would use."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path, headers):
        try:
            self.conn.request("GET", path, headers=headers)
            r = self.conn.getresponse()
            body = r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        return r, body

    def close(self):
        self.conn.close()


class Counter:
    def __init__(self):
        self.n = 0
        self.lock = threading.Lock()

    def add(self, k=1):
        with self.lock:
            self.n += k
            return self.n


def counting_https(counter):
    class Conn(http.client.HTTPSConnection):
        def connect(self):
            counter.add()
            super().connect()
    return Conn


class FlowClient:
    """A browser doing whole connects: its own keep-alive connections to
    lighttpd and to the mock (counted: the mock counts them too)."""

    def __init__(self, rig, mock_conns):
        self.app = Client(rig.port)
        ctx = ssl.create_default_context(cafile=str(certs() / "ca.pem"))
        self.mock = counting_https(mock_conns)("127.0.0.1", rig.mock.port,
                                               context=ctx, timeout=30)

    def _app(self, url, jar):
        u = urllib.parse.urlsplit(url)
        h = dict(NAVIGATE)
        if jar:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        r, _ = self.app.get(u.path + ("?" + u.query if u.query else ""), h)
        for v in r.headers.get_all("Set-Cookie") or []:
            k, _, rest = v.partition("=")
            jar[k] = rest.split(";", 1)[0]
        return r

    def flow(self):
        """connect/start, the mock's auto-approve, the callback: True if
        it ended in a 303 to ?insuresign=connected."""
        jar = {}
        r = self._app(BASE + "/connect/start", jar)
        if r.status != 302:
            return False
        u = urllib.parse.urlsplit(r.getheader("Location"))
        self.mock.request("GET", u.path + "?" + u.query, headers=NAVIGATE)
        m = self.mock.getresponse()
        m.read()
        if m.status != 302:
            return False
        r = self._app(m.getheader("Location"), jar)
        return r.status == 303 and \
            "insuresign=connected" in (r.getheader("Location") or "")

    def close(self):
        self.app.close()
        self.mock.close()


def run_flows(rig, n, concurrency, mock_conns):
    """n connects on concurrency threads: (seconds, failures)."""
    left = Counter()
    failures = Counter()

    def worker():
        c = FlowClient(rig, mock_conns)
        try:
            while left.add() <= n:
                try:
                    ok = c.flow()
                except (OSError, http.client.HTTPException):
                    ok = False
                if not ok:
                    failures.add()
        finally:
            c.close()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0, failures.n


# -- the phases ---------------------------------------------------------

def configure(rig):
    """Turns /token on; returns the backend key.  The callback limits
    ([limits], per address and in all) as high as they go: the connect
    flows come from one address, faster than people click."""
    backend_key = "bench-backend-key-" + os.urandom(16).hex()
    rig.settings["app"]["backend_key_file"] = rig.secret_file(
        "backend.key", backend_key + "\n")
    rig.settings["limits"].update(callbacks_per_address=1000000,
                                  callbacks_per_minute=1000000)
    rig.write_config()
    return backend_key


def check(cond, what):
    if not cond:
        raise RuntimeError(what)


CPU_NOTE = ("utime+stime of the 2 workers / requests answered: the "
            "program's own cost, which the machine's load moves far less "
            "than a throughput")


def wrk_cpu(rig, url, headers):
    """wrk's figures, and the workers' CPU per request in microseconds."""
    pids = rig.worker_pids()
    cpu0 = workers_cpu(pids)
    got = wrk(url, headers)
    return got, (workers_cpu(pids) - cpu0) / (got[0] * WRK_SECONDS) * 1e6


def throughput(rig, name, path, headers, ref_path, ref_headers, target):
    """PATH against the ceiling REF_PATH, measured before and after it."""
    base = f"http://127.0.0.1:{rig.port}"
    ref1 = wrk(base + ref_path, ref_headers)
    got, cpu = wrk_cpu(rig, base + path, headers)
    ref2 = wrk(base + ref_path, ref_headers)
    ref = [(a + b) / 2 for a, b in zip(ref1, ref2)]
    figure(f"{name}.throughput", got[0], "req/s", ref_path[1:], ref[0],
           target=f"ratio >= {target}", met=got[0] / ref[0] >= target,
           note_text=f"{ref_path[1:]}: mean of {ref1[0]:,.0f} before and "
           f"{ref2[0]:,.0f} after")
    figure(f"{name}.latency.p50", got[1], "ms", ref_path[1:], ref[1])
    figure(f"{name}.latency.p99", got[2], "ms", ref_path[1:], ref[2])
    figure(f"{name}.cpu_per_request", cpu, "us", note_text=CPU_NOTE)


def phase_users(rig, backend_key):
    """/status and /token where links belong to the web app's users
    ([identity] owner = web_server): lighttpd's mod_auth signs alice in
    (conf/lighttpd-auth.conf as shipped: HTTP Basic, its cache on), and
    the program answers for REMOTE_USER.  /status is measured against
    /hello behind the same sign-in; /token, which the backend calls
    outside it with the backend key and X-InsureSign-User, against
    /open-hello."""
    password = "bench-" + os.urandom(8).hex()
    rig.settings["identity"] = {"owner": "web_server"}
    rig.sign_in = {"alice": password}
    rig.sign_in_pages = "/hello"
    rig.open_hello = True
    rig.write_config()
    try:
        rig.restart_server()
        users_figures(rig, backend_key, password)
    finally:
        # The CGI cold start after this reads the same ini: browser mode.
        del rig.settings["identity"]
        rig.write_config()


def users_figures(rig, backend_key, password):
    browser = rig.browser()
    browser.sign_in(rig.origin, "alice", password)
    cb = rig.connect(browser)
    check(cb.status == 303, f"connect as alice: {cb.status} {cb.text[:200]}")
    signed = {"Authorization": browser.auth[f"127.0.0.1:{rig.port}"]}
    token_h = {"Authorization": f"Bearer {backend_key}",
               "X-InsureSign-User": "alice"}
    c = Client(rig.port)
    for path, h, ok in (
            (BASE + "/status", signed,
             lambda b: json.loads(b).get("connected") is True),
            (BASE + "/token", token_h,
             lambda b: "access_token" in json.loads(b)),
            ("/hello", signed, lambda b: len(b) == 60),
            ("/open-hello", {}, lambda b: len(b) == 60)):
        r, body = c.get(path, h)
        check(r.status == 200 and ok(body), f"{path}: {r.status} "
              f"{body[:200]!r}")
    r, body = c.get("/hello", {})
    check(r.status == 401, f"/hello without signing in: {r.status}")
    c.close()
    throughput(rig, "users.status", BASE + "/status", signed, "/hello",
               signed, 0.85)
    throughput(rig, "users.token", BASE + "/token", token_h, "/open-hello",
               {}, 0.80)


def phase_web(rig, backend_key):
    """Memory, status and token throughput against the ceiling, connect
    flows.  Returns the connected session's id (for the CGI run), the
    memory figures, and a worker's private memory after the flows."""
    browser = rig.browser()
    cb = rig.connect(browser)
    check(cb.status == 303, f"connect: {cb.status} {cb.text[:200]}")
    sid = browser.cookie("insuresign_session")
    # Fresh workers for the memory figure: the connect loaded libcurl into
    # one of them, and the mixed requests below never need it.
    rig.restart_server()
    pids = rig.worker_pids()
    check(len(pids) == 2, f"expected 2 workers, have {pids}")

    status_h = {"Cookie": f"insuresign_session={sid}"}
    token_h = {"Authorization": f"Bearer {backend_key}",
               "X-InsureSign-Session": sid}
    page_h = dict(NAVIGATE, Cookie=f"insuresign_session={sid}")
    c = Client(rig.port)
    r, body = c.get(BASE + "/status", status_h)
    check(r.status == 200 and json.loads(body).get("connected") is True,
          f"/status: {r.status} {body[:200]!r}")
    r, body = c.get(BASE + "/token", token_h)
    check(r.status == 200 and "access_token" in json.loads(body),
          f"/token: {r.status} {body[:200]!r}")
    r, body = c.get("/hello", status_h)
    check(r.status == 200 and len(body) == 60, f"/hello: {r.status} {body!r}")

    # 6. Memory: one keep-alive client, one request at a time (lighttpd
    # then hands them all to the same worker); status, token, the page.
    mix = [(BASE + "/status", status_h), (BASE + "/token", token_h),
           (BASE + "/connect", page_h)]

    def batch():
        for i in range(MEMORY_REQUESTS):
            path, h = mix[i % 3]
            r, _ = c.get(path, h)
            if r.status != 200:
                raise RuntimeError(f"{path}: {r.status}")
    cpu0 = {p: proc_stat(p)[0] for p in pids}
    batch()
    busy = [p for p in pids if proc_stat(p)[0] > cpu0[p]] or pids
    mem1 = {p: proc_stat(p)[1] for p in busy}
    batch()
    mem2 = {p: proc_stat(p)[1] for p in busy}
    c.close()
    # The worker that served most (all, usually).
    top = max(busy, key=lambda p: proc_stat(p)[0])
    memory = (mem1[top], mem2[top], len(busy))

    # 1 and 3. Throughput, between two runs of the ceiling: the machine is
    # shared, and its load drifts; the reference is their mean.
    base = f"http://127.0.0.1:{rig.port}"
    hello1 = wrk(base + "/hello", status_h)
    status, status_cpu = wrk_cpu(rig, base + BASE + "/status", status_h)
    token, token_cpu = wrk_cpu(rig, base + BASE + "/token", token_h)
    hello2 = wrk(base + "/hello", status_h)
    hello = [(a + b) / 2 for a, b in zip(hello1, hello2)]
    figure("hello.throughput", hello[0], "req/s",
           note_text=f"the ceiling: mean of {hello1[0]:,.0f} before and "
           f"{hello2[0]:,.0f} after")
    figure("status.throughput", status[0], "req/s", "hello", hello[0],
           target="ratio >= 0.85", met=status[0] / hello[0] >= 0.85)
    figure("status.latency.p50", status[1], "ms", "hello", hello[1])
    figure("status.latency.p99", status[2], "ms", "hello", hello[2])
    figure("status.cpu_per_request", status_cpu, "us",
           note_text=CPU_NOTE)
    figure("token.throughput", token[0], "req/s", "hello", hello[0],
           target="ratio >= 0.80", met=token[0] / hello[0] >= 0.80)
    figure("token.latency.p50", token[1], "ms", "hello", hello[1])
    figure("token.latency.p99", token[2], "ms", "hello", hello[2])
    figure("token.cpu_per_request", token_cpu, "us", note_text=CPU_NOTE)

    # 2. Connect flows.  A few first, so that both workers have loaded
    # libcurl and hold a connection; then the mock's counters from zero.
    mock_conns = Counter()
    _, failed = run_flows(rig, 4 * FLOW_CONCURRENCY, FLOW_CONCURRENCY,
                          mock_conns)
    check(failed == 0, f"{failed} warm-up connects failed")
    rig.mock.reset(keep_grants=True)
    rig.mock.config(auto_approve=True)
    mock_conns = Counter()
    pids = rig.worker_pids()
    cpu0 = workers_cpu(pids)
    mock0 = proc_stat(rig.mock.proc.pid)[0]
    self0 = sum(os.times()[:2])
    seconds, failed = run_flows(rig, FLOWS, FLOW_CONCURRENCY, mock_conns)
    check(rig.worker_pids() == pids, "a worker was replaced during the "
          "connect flows: CPU time is not comparable")
    cpu = workers_cpu(pids) - cpu0
    # Who was busy: the share of a core each side used.
    busy = {"the mock": proc_stat(rig.mock.proc.pid)[0] - mock0,
            "this client": sum(os.times()[:2]) - self0,
            "the 2 workers": cpu}
    busy = ", ".join(f"{k} {v / seconds:.0%}" for k, v in busy.items())
    stats = rig.mock.stats()
    check(failed == 0, f"{failed} of {FLOWS} connects failed")
    check(stats["code_requests"] == FLOWS,
          f"the mock saw {stats['code_requests']} code exchanges, "
          f"not {FLOWS}")
    ours = stats["connections"] - mock_conns.n
    figure("connect.flows", FLOWS / seconds, "flows/s",
           note_text=f"concurrency {FLOW_CONCURRENCY}, {FLOWS} flows; "
           "bound by waiting, not by our CPU: each callback holds one of "
           "the 2 single-threaded workers while the Python mock answers "
           "the code exchange and the record is fsynced (share of a core: "
           f"{busy})")
    figure("connect.cpu_per_flow", cpu / FLOWS * 1000, "ms",
           target="< 2 ms", met=cpu / FLOWS * 1000 < 2,
           note_text="utime+stime of the 2 workers / flows")
    figure("connect.mock_connections", ours, "connections",
           target=f"{len(pids)} (one per worker)", met=ours <= len(pids),
           note_text=f"TCP connections to the token endpoint for "
           f"{FLOWS} exchanges")
    after_flows = max(proc_stat(p)[1]["Private"] for p in pids)
    return sid, memory, after_flows


def figure_value(name):
    return next((f["value"] for f in figures if f["name"] == name), None)


def phase_web_redis(rig, backend_key):
    """/status and /token with [store] backend = redis: against the hello
    responder in the same run, and against the file store's figures; and
    the Redis connections each worker holds after them."""
    browser = rig.browser()
    cb = rig.connect(browser)
    check(cb.status == 303, f"connect: {cb.status} {cb.text[:200]}")
    sid = browser.cookie("insuresign_session")
    status_h = {"Cookie": f"insuresign_session={sid}"}
    token_h = {"Authorization": f"Bearer {backend_key}",
               "X-InsureSign-Session": sid}
    base = f"http://127.0.0.1:{rig.port}"
    hello1 = wrk(base + "/hello", status_h)
    status = wrk(base + BASE + "/status", status_h)
    token = wrk(base + BASE + "/token", token_h)
    hello2 = wrk(base + "/hello", status_h)
    hello = [(a + b) / 2 for a, b in zip(hello1, hello2)]
    file_status = figure_value("status.throughput")
    file_token = figure_value("token.throughput")
    figure("redis.hello.throughput", hello[0], "req/s",
           note_text=f"the ceiling in this run: {hello1[0]:,.0f} before, "
           f"{hello2[0]:,.0f} after")
    figure("redis.status.throughput", status[0], "req/s", "hello", hello[0],
           target="ratio >= 0.85", met=status[0] / hello[0] >= 0.85,
           note_text=f"file store {fmt(file_status)} req/s, ratio "
           f"{status[0] / file_status:.2f}" if file_status else None)
    figure("redis.status.latency.p99", status[2], "ms", "hello", hello[2])
    figure("redis.token.throughput", token[0], "req/s", "hello", hello[0],
           target="ratio >= 0.80", met=token[0] / hello[0] >= 0.80,
           note_text=f"file store {fmt(file_token)} req/s, ratio "
           f"{token[0] / file_token:.2f}" if file_token else None)
    figure("redis.token.latency.p99", token[2], "ms", "hello", hello[2])
    if file_status:
        figure("redis.status.vs_file", status[0] / file_status, "ratio",
               note_text="Redis store's /status throughput over the file "
               "store's (two runs, each beside its own hello)")
    if file_token:
        figure("redis.token.vs_file", token[0] / file_token, "ratio",
               note_text="the same for /token")
    pids = rig.worker_pids()
    check(pids, "no workers of this program found (rebuilt meanwhile?)")
    clients = rig.redis.clients()
    per = [clients.get(p, 0) for p in pids]
    figure("redis.connections_per_worker", max(per), "connections",
           target="1", met=max(per) == 1 and min(per) >= 0,
           note_text=f"CLIENT LIST after {WRK_SECONDS * 2} s of wrk at "
           f"64 connections: {len(pids)} workers hold {sum(per)} (each "
           "names itself insuresign-connect-PID); "
           f"{len(clients) - sum(per)} more from other processes")


def coldstart(n, program, env):
    r = subprocess.run([str(BENCH / "coldstart"), str(n), str(program)],
                       env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"coldstart {program}: {r.stderr}{r.stdout}")
    v = dict(zip(r.stdout.split()[::2], r.stdout.split()[1::2]))
    return float(v["median_us"]) / 1000


def cgi_env(path, config, query="", **headers):
    env = {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1",
           "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_SOFTWARE": "bench",
           "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
           "REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "GET",
           "SCRIPT_NAME": BASE, "PATH_INFO": path, "QUERY_STRING": query,
           "REQUEST_URI": BASE + path + ("?" + query if query else ""),
           "HTTP_HOST": "127.0.0.1", "INSURESIGN_CONNECT_CONF": str(config)}
    env.update(headers)
    return env


def cgi_once(env):
    r = subprocess.run([str(PROGRAM)], env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=300)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    return head.decode(errors="replace"), body


def phase_cold(ini, sid):
    """5. Process start to response, CGI, GET /status."""
    env = cgi_env("/status", ini, HTTP_COOKIE=f"insuresign_session={sid}")
    head, body = cgi_once(env)
    check(head.startswith("Status: 200") and b'"connected":true' in body,
          f"CGI /status: {head[:200]} {body[:200]!r}")
    true = coldstart(COLD_RUNS, "/bin/true", env)
    hello = coldstart(COLD_RUNS, HELLO, env)
    floor = coldstart(COLD_RUNS, BENCH / "floor", env)
    ours = coldstart(COLD_RUNS, PROGRAM, env)
    figure("coldstart.cgi_status", ours, "ms", "/bin/true", true,
           target="median < 5 ms", met=ours < 5,
           note_text=f"median of {COLD_RUNS}; hello CGI {fmt(hello)} ms; "
           f"floor {fmt(floor)} ms (libcrypto's start, one HMAC and one "
           "AES-GCM seal)")


def phase_memory(memory, after_flows):
    """6. A worker's private memory beside the floor of its libraries."""
    m1, m2, served = memory
    r = subprocess.run([str(BENCH / "floor")], capture_output=True,
                       text=True, check=True, timeout=30)
    f = dict(zip(r.stdout.split()[::2], map(int, r.stdout.split()[1::2])))
    mib = 1024
    figure("memory.worker_private", m1["Private"] / mib, "MiB", "floor",
           f["Private"] / mib, target="< 4 MiB",
           met=m1["Private"] < 4 * mib,
           note_text=f"what one worker alone holds (Private_Clean + "
           f"Private_Dirty) after {MEMORY_REQUESTS:,} mixed requests "
           f"(status, token, connect page; {served} worker"
           f"{'s' if served > 1 else ''} served them); the floor links only "
           "libfcgi and libcrypto")
    figure("memory.worker_rss", m1["VmRSS"] / mib, "MiB", "floor",
           f["VmRSS"] / mib,
           note_text=f"shared library pages included (file-backed "
           f"{m1['RssFile'] / mib:.2f} MiB, floor {f['RssFile'] / mib:.2f}; "
           f"anonymous {m1['RssAnon'] / mib:.2f} MiB, floor "
           f"{f['RssAnon'] / mib:.2f}): one copy serves every worker")
    growth = m2["Private"] - m1["Private"]
    figure("memory.worker_private_growth", growth, "KiB", target="0",
           met=growth <= 0,
           note_text=f"over {MEMORY_REQUESTS:,} more; VmRSS "
           f"{m2['VmRSS'] - m1['VmRSS']:+d} KiB")
    figure("memory.worker_private_after_flows", after_flows / mib, "MiB",
           "floor", f["Private"] / mib,
           note_text="a worker that has run code exchanges: libcurl and "
           "its TLS stack loaded")


# -- the stores ---------------------------------------------------------

def store_config(name, key, admin_key=None):
    d = STORES / name
    ini = STORES / f"{name}.ini"
    lines = ["[insuresign]", "client_id = bench",
             "client_secret = bench-secret",
             "redirect_uri = http://127.0.0.1/insuresign/callback",
             "[store]", f"dir = {d}", f"key_file = {key}"]
    if admin_key is not None:
        lines += ["[admin]", f"key_file = {admin_key}"]
    ini.write_text("\n".join(lines) + "\n")
    ini.chmod(0o600)      # an inline client_secret: private, or refused
    return d, ini


def ensure_store(size, key, admin_key=None):
    """build/bench/stores/SIZE with SIZE sealed records, made once and kept
    (a stamp says it is whole); made again if older than STORE_MAX_AGE."""
    d, ini = store_config(str(size), key, admin_key)
    stamp = STORES / f"{size}.made"
    try:
        made = json.loads(stamp.read_text())
        if made["records"] == size and time.time() - made["time"] < \
                STORE_MAX_AGE:
            return ini, None
    except (OSError, ValueError, KeyError):
        pass
    stamp.unlink(missing_ok=True)
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(mode=0o700)
    t0 = time.monotonic()
    parts = max(1, min(4, os.cpu_count() or 1))
    procs = [subprocess.Popen([str(BENCH / "storebench"), "gen", str(ini),
                               str(size), "0", str(i), str(parts)])
             for i in range(parts)]
    try:
        rcs = [p.wait() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    check(all(rc == 0 for rc in rcs), f"storebench gen {size} failed")
    stamp.write_text(json.dumps({"records": size, "time": time.time()}))
    return ini, time.monotonic() - t0


def plan_big():
    """The biggest store (the read test's last size, gc's): a million, or
    less if the disk cannot hold the stores still to be made."""
    STORES.mkdir(parents=True, exist_ok=True)
    big = BIG
    while True:
        sizes = {*READ_SIZES[:-1], big, ADMIN_SIZE}
        want = sum(s for s in sizes
                   if not (STORES / f"{s}.made").exists())
        st = os.statvfs(STORES)
        free, inodes = st.f_bavail * st.f_frsize, st.f_favail
        if big == BIG:
            note(f"disk: {free / 2**30:.1f} GiB and {inodes:,} inodes free "
                 f"under {STORES.relative_to(ROOT)}; stores to make: "
                 f"{want:,} records, ~{want * RECORD_BYTES / 2**30:.1f} GiB")
        if want * RECORD_BYTES + 2**30 <= free and want + 10000 <= inodes \
                or big <= ADMIN_SIZE:
            return big
        note(f"not enough space for {big:,} records: SCALED DOWN to "
             f"{big // 10:,}")
        big //= 10


def make_keys():
    key = STORES / "store.key"
    if not key.exists():
        subprocess.run([str(PROGRAM), "keygen", str(key)], check=True,
                       capture_output=True)
    admin = STORES / "admin.key"
    if not admin.exists():
        fd = os.open(admin, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, f"bench-admin-key-{os.urandom(16).hex()}\n".encode())
        os.close(fd)
    return key, admin


def children_read_mb():
    """What the finished children (and theirs) read from the disk, in MB:
    the page cache state decides much of the admin and gc figures (this
    machine's kernel reclaims idle page cache within minutes)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_inblock * 512 \
        / 1e6


def store_read(ini, size, samples, rounds):
    """The median microseconds of storebench's reads."""
    r = subprocess.run([str(BENCH / "storebench"), "read", str(ini),
                        str(size), str(samples), str(rounds)],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"storebench read {size}: {r.stderr}")
    v = dict(zip(r.stdout.split()[::2], r.stdout.split()[1::2]))
    return float(v["median_us"])


def phase_store():
    """4. The store at 1, 10,000 and a million records."""
    big = plan_big()
    key, admin_key = make_keys()
    inis = {}
    for size in sorted({*READ_SIZES[:-1], big, ADMIN_SIZE}):
        inis[size], took = ensure_store(size, key, admin_key)
        note(f"store of {size:,} records: " + (
            "(store reused)" if took is None else f"made in {took:.0f} s"))

    # One record read as /status and /token read it, at each size: the
    # same record again and again (only the store's size differs), and
    # 2,000 random ones in turn (the CPU caches no longer hold the file
    # system's structures for them: what a real spread of users costs).
    # The sizes take turns, READ_ROUNDS times, and each figure is the
    # median of its rounds: a burst of load elsewhere hits all alike.
    sizes = [*READ_SIZES[:-1], big]
    hot = {n: [] for n in sizes}
    spread = {n: [] for n in sizes[1:]}
    for _ in range(READ_ROUNDS):
        for n in sizes:
            hot[n].append(store_read(inis[n], n, 1, READ_SAMPLES))
        for n in sizes[1:]:
            spread[n].append(store_read(inis[n], n, READ_SAMPLES, 1))
    hot = {n: statistics.median(v) for n, v in hot.items()}
    spread = {n: statistics.median(v) for n, v in spread.items()}
    one = hot[sizes[0]]
    what = f"median of {READ_ROUNDS} rounds of {READ_SAMPLES:,} reads"
    figure(f"store.read.{sizes[0]}", one, "us",
           note_text=f"{what}; a read: name HMAC, open and read, AES-GCM "
           "open, JSON")
    for n in sizes[1:]:
        figure(f"store.read.{n}", hot[n], "us", f"store.read.{sizes[0]}",
               one, target="ratio <= 1.20", met=hot[n] / one <= 1.20,
               note_text=f"one record, again and again; {what}")
    for i, n in enumerate(sizes[1:]):
        ref = f"store.read_spread.{sizes[1]}" if i else \
            f"store.read.{sizes[0]}"
        figure(f"store.read_spread.{n}", spread[n], "us", ref,
               spread[sizes[1]] if i else one,
               note_text=f"{READ_SAMPLES:,} random records in turn; {what}")

    # The admin page's first page, the program in CGI mode.
    bearer = admin_key.read_text().strip()
    for query, label in (("format=json", "json"), ("", "html")):
        env = cgi_env("/admin", inis[ADMIN_SIZE], query,
                      HTTP_AUTHORIZATION=f"Bearer {bearer}",
                      HTTP_ACCEPT="text/html")
        head, body = cgi_once(env)
        check(head.startswith("Status: 200"),
              f"CGI /admin?{query}: {head[:300]} {body[:300]!r}")
        if label == "json":
            n = json.loads(body).get("matching")
            check(n == ADMIN_SIZE, f"/admin?format=json lists {n}, not "
                  f"{ADMIN_SIZE}")
        mb = children_read_mb()
        ms = coldstart(ADMIN_RUNS, PROGRAM, env)
        mb = children_read_mb() - mb
        figure(f"admin.first_page.{label}", ms, "ms", target="< 500 ms",
               met=ms < 500, note_text=f"{ADMIN_SIZE:,} records; median of "
               f"{ADMIN_RUNS} CGI runs, process start included; "
               f"{mb:,.0f} MB read from disk")

    # gc over the biggest store, with a few idle records for it to remove
    # (added each run, for gc removes them).
    subprocess.run([str(BENCH / "storebench"), "gen", str(inis[big]), "0",
                    str(GC_STALE)], check=True, timeout=300)
    mb = children_read_mb()
    t0 = time.monotonic()
    r = subprocess.run([str(PROGRAM), "gc", "--config", str(inis[big])],
                       capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - t0
    mb = children_read_mb() - mb
    check(r.returncode == 0, f"gc: {r.stderr}")
    removed = len(re.findall(r"^removed [0-9a-f]{12}", r.stdout, re.M))
    check(removed >= GC_STALE, f"gc removed {removed}, not {GC_STALE}")
    figure("gc.seconds", seconds, "s",
           note_text=f"{big + removed:,} records, {removed} of them idle "
           f"and removed; {mb:,.0f} MB read from disk" +
           (" (the store was not in the page cache)" if mb > 100 else ""))


# -- Redis ------------------------------------------------------------------

def redis_ini(name, key, admin_key, redis):
    ini = STORES / f"{name}.ini"
    ini.write_text("\n".join([
        "[insuresign]", "client_id = bench", "client_secret = bench-secret",
        "redirect_uri = http://127.0.0.1/insuresign/callback",
        "[store]", "backend = redis", f"redis = {redis.address}",
        f"key_file = {key}", "[admin]", f"key_file = {admin_key}"]) + "\n")
    ini.chmod(0o600)
    return ini


def redis_cpu(redis):
    return proc_stat(redis.proc.pid)[0]


def ensure_redis(redis, ini, size):
    """SIZE links in the bench's Redis, written once with storebench
    (store_save: the record and its index entries) by 4 processes, then
    kept in its dump.rdb: (seconds it took, or None if kept)."""
    stamp = redis.dir / "made"
    try:
        made = json.loads(stamp.read_text())
        if made["records"] == size and \
                time.time() - made["time"] < STORE_MAX_AGE and \
                redis.command("ZCARD", "isc:{i}:all:c") == size:
            return None
    except (OSError, ValueError, KeyError):
        pass
    stamp.unlink(missing_ok=True)
    redis.command("FLUSHALL")
    t0 = time.monotonic()
    procs = [subprocess.Popen([str(BENCH / "storebench"), "gen", str(ini),
                               str(size), "0", str(i), "4"])
             for i in range(4)]
    try:
        rcs = [p.wait() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    check(all(rc == 0 for rc in rcs), "storebench gen (redis) failed")
    took = time.monotonic() - t0
    redis.command("SAVE", timeout=600)
    stamp.write_text(json.dumps({"records": size, "time": time.time(),
                                 "seconds": took}))
    return took


def phase_migrate(redis, key):
    """`migrate file redis` of the admin page's file store (ADMIN_SIZE
    links), into database 1 of the bench's Redis, emptied after."""
    if not (STORES / f"{ADMIN_SIZE}.made").exists():
        note(f"no file store of {ADMIN_SIZE:,} links (bench.py store makes "
             "it): migrate not measured")
        return
    ini = STORES / "migrate.ini"
    ini.write_text("\n".join([
        "[insuresign]", "client_id = bench", "client_secret = bench-secret",
        "redirect_uri = http://127.0.0.1/insuresign/callback",
        "[store]", f"dir = {STORES / str(ADMIN_SIZE)}",
        f"redis = {redis.address}", "redis_database = 1",
        f"key_file = {key}"]) + "\n")
    ini.chmod(0o600)
    t0 = time.monotonic()
    r = subprocess.run([str(PROGRAM), "migrate", "file", "redis", "--config",
                        str(ini)], capture_output=True, text=True,
                       timeout=3600)
    seconds = time.monotonic() - t0
    try:
        check(r.returncode == 0, f"migrate: {r.stdout} {r.stderr[-2000:]}")
        m = re.search(r"(\d+) links?: copied (\d+)", r.stdout)
        check(m and int(m.group(2)) == ADMIN_SIZE, f"migrate: {r.stdout}")
    finally:
        subprocess.run(["redis-cli", "-s", str(redis.socket), "-n", "1",
                        "FLUSHDB"], capture_output=True, check=True)
    figure("redis.migrate", ADMIN_SIZE / seconds, "links/s",
           note_text=f"`migrate file redis` of {ADMIN_SIZE:,} links in "
           f"{seconds:.0f} s, one process: each copied under both stores' "
           "locks, then read back and opened with the key")


def phase_redis_store():
    """A million links in Redis: memory, the admin page, reads, refreshes
    per second, gc."""
    big = BIG
    d = STORES / f"redis-{big}"
    d.mkdir(parents=True, exist_ok=True)
    key, admin_key = make_keys()
    redis = Redis(d.parent, name=d.name, appendonly=False, start_timeout=600)
    try:
        ini = redis_ini(f"redis-{big}", key, admin_key, redis)
        took = ensure_redis(redis, ini, big)
        note(f"Redis with {big:,} links: " + (
            "(reused: loaded from its dump.rdb)" if took is None else
            f"written in {took:.0f} s ({big / took:,.0f} store_save/s, "
            "4 processes)"))
        info = redis.command("INFO", "memory")
        mem = dict(line.split(":", 1) for line in info.splitlines()
                   if ":" in line)
        dataset = int(mem["used_memory_dataset"])
        sample = [k for k in redis.command("SCAN", "0", "MATCH", "isc:r:*",
                                           "COUNT", "2000")[1]][:200]
        rec = statistics.mean(redis.command("MEMORY", "USAGE", k)
                              for k in sample)
        per = dataset / big
        figure("redis.memory_per_link", per, "bytes",
               note_text=f"used_memory_dataset {dataset / 2**20:,.0f} MiB "
               f"for {big:,} links: the record ~{rec:.0f} B (MEMORY USAGE, "
               f"{len(sample)} keys; a sealed record ~"
               f"{statistics.mean(redis.command('STRLEN', k) for k in sample):.0f}"
               f" B), its index entries ~{per - rec:.0f} B (7 sorted sets); "
               f"used_memory_rss {int(mem['used_memory_rss']) / 2**30:.2f} "
               "GiB")
        bearer = admin_key.read_text().strip()
        for query, label in (("format=json", "json"), ("", "html"),
                             ("format=json&sort=status&page=2",
                              "status_page_2"),
                             ("format=json&status=failing&sort=expires",
                              "failing_by_expiry")):
            env = cgi_env("/admin", ini, query,
                          HTTP_AUTHORIZATION=f"Bearer {bearer}",
                          HTTP_ACCEPT="text/html")
            head, body = cgi_once(env)
            check(head.startswith("Status: 200"),
                  f"CGI /admin?{query} (redis): {head[:300]} {body[:300]!r}")
            if label == "json":
                j = json.loads(body)
                check(j.get("matching") == big, f"/admin?format=json lists "
                      f"{j.get('matching')}, not {big}")
                t = j["totals"]
                check(t["connected"] + t["needs_reconnect"] == big,
                      f"totals {t} do not add up to {big}")
            ms = coldstart(ADMIN_RUNS, PROGRAM, env)
            figure(f"redis.admin.{label}", ms, "ms", "file store, 100,000 "
                   "links" if label == "json" else None,
                   figure_value("admin.first_page.json")
                   if label == "json" else None, target="< 50 ms",
                   met=ms < 50, note_text=f"{big:,} links in Redis; first "
                   "page and totals (pages, filters, sorts from the "
                   "sorted-set indexes); median of "
                   f"{ADMIN_RUNS} CGI runs, process start and the Redis "
                   "connection included")
        r = subprocess.run([str(BENCH / "storebench"), "query", str(ini),
                            "200"], capture_output=True, text=True,
                           timeout=300)
        check(r.returncode == 0, f"storebench query: {r.stderr}")
        v = dict(zip(r.stdout.split()[::2], r.stdout.split()[1::2]))
        check(int(v["matching"]) == big, f"store_query: {r.stdout}")
        figure("redis.admin.store_query", float(v["median_ms"]), "ms",
               target="< 50 ms", met=float(v["median_ms"]) < 50,
               note_text=f"{big:,} links: store_query() for the first page "
               "of 50 and the totals, in one process (no process start); "
               f"median of 200, p90 {float(v['p90_ms']):.2f} ms")
        reads = [store_read(ini, big, READ_SAMPLES, 1)
                 for _ in range(READ_ROUNDS)]
        figure(f"redis.store.read_spread.{big}", statistics.median(reads),
               "us", f"store.read_spread.{big}",
               figure_value(f"store.read_spread.{big}"),
               note_text=f"{READ_SAMPLES:,} random links in turn, as /status "
               "reads one (name HMAC, GET, AES-GCM open, JSON); median of "
               f"{READ_ROUNDS} rounds; the reference is the file store's")
        # Refreshes: the store's side of one (lock, writable, load, open,
        # seal, save, unlock), from 4 processes on random links.
        cpu0, t0 = redis_cpu(redis), time.monotonic()
        procs = [subprocess.Popen([str(BENCH / "storebench"), "refresh",
                                   str(ini), str(big), "10"],
                                  stdout=subprocess.PIPE, text=True)
                 for _ in range(4)]
        outs = [p.communicate(timeout=120)[0] for p in procs]
        wall = time.monotonic() - t0
        busy = (redis_cpu(redis) - cpu0) / wall
        check(all(p.returncode == 0 for p in procs), "storebench refresh")
        done = sum(int(o.split()[1]) for o in outs)
        rate = done / wall
        figure("redis.refreshes_per_second", rate, "refreshes/s",
               note_text=f"4 processes, {wall:.0f} s, each refresh 6 round "
               f"trips (lock, writable, load, save as index and record, "
               f"unlock) without the token request; Redis used "
               f"{busy:.0%} of a core, so one Redis core sustains "
               f"~{rate / busy:,.0f}/s")
        phase_migrate(redis, key)
        t0 = time.monotonic()
        r = subprocess.run([str(PROGRAM), "gc", "--config", str(ini)],
                           capture_output=True, text=True, timeout=1200)
        check(r.returncode == 0, f"gc (redis): {r.stderr}")
        figure("redis.gc.seconds", time.monotonic() - t0, "s",
               note_text=f"{big:,} links: every index entry checked against "
               "its record (1,000 names a round trip), none gone; Redis "
               "expires idle links itself")
    finally:
        redis.stop()


def main():
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    t0 = time.monotonic()
    load = os.getloadavg()
    lv = subprocess.run(["lighttpd", "-v"], capture_output=True, text=True)
    note(f"{os.cpu_count()} cores, load average {load[0]:.2f} at start "
         "(a shared machine: the figures move with its load, the ratios "
         f"less); {lv.stdout.split()[0] if lv.stdout else 'lighttpd'}")
    # `bench.py store` (or web, or users: web_server mode's figures
    # alone): one part only, while working on it.
    parts = sys.argv[1:] or ["web", "store"]
    if parts == ["users"]:
        rig = BenchRig("bench", start=False)
        try:
            backend_key = configure(rig)
            rig.start_server()
            phase_users(rig, backend_key)
        finally:
            rig.stop()
    if "web" in parts:
        rig = BenchRig("bench", start=False)
        try:
            backend_key = configure(rig)
            rig.start_server()
            sid, memory, after_flows = phase_web(rig, backend_key)
            phase_users(rig, backend_key)
        finally:
            rig.stop()
        phase_cold(rig.ini, sid)
        phase_memory(memory, after_flows)
        rig = BenchRig("bench-redis", start=False, store="redis")
        try:
            backend_key = configure(rig)
            rig.start_server()
            phase_web_redis(rig, backend_key)
        finally:
            rig.stop()
    if "store" in parts:
        phase_store()
    if "redis" in parts or "store" in parts:
        phase_redis_store()
    seconds = time.monotonic() - t0
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps({
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cores": os.cpu_count(), "load_at_start": load,
        "seconds": round(seconds, 1), "figures": figures}, indent=1) + "\n")
    missed = [f["name"] for f in figures if f["met"] is False]
    note(f"{len(figures)} figures in {seconds:.0f} s, also in "
         f"{RESULT.relative_to(ROOT)}; targets missed: "
         + (", ".join(missed) if missed else "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
