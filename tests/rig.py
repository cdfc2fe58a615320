#!/usr/bin/env python3
"""The test rig: real web servers, the program, and the mock InsureSign.

A Rig starts, on loopback and in its own directory under tests/out/:
  - the mock InsureSign (tests/mock/insuresign_mock.py) over https, with a
    CA made at test time that the program trusts through [insuresign] ca_file;
  - a key, a store and a config for the program;
  - a web server running the program as it would run in production (the
    shipped file from conf/, with only paths and ports replaced), one of
    SERVERS: lighttpd spawning it (conf/lighttpd.conf), lighttpd connecting
    to it (conf/lighttpd-socket.conf), Apache with mod_fcgid
    (conf/apache-fcgid.conf), Apache with mod_proxy_fcgi
    (conf/apache-proxy-fcgi.conf), or Apache running it as plain CGI
    (conf/apache-cgi.conf);
  - optionally an https front (Apache, mod_ssl, mod_proxy) before it.
A Browser speaks HTTP like a browser: a cookie jar, redirects on request,
navigation headers.

`python3 tests/rig.py demo [PORT [SERVER]] [--owner=OWNER]` runs the same
rig for a person (make demo [OWNER=backend|web_server|browser]).

Apache refuses to serve as root, and it runs CGI and mod_fcgid programs as
its User.  So when the tests run as root, every Apache variant runs the
program as www-data (RUN_USER), the user a Debian Apache serves as: the
rig's directory, the store and the keys are chowned to it, and cli() runs
as it too.  Run as another user, everything stays that user.
"""

import base64
import grp
import http.client
import json
import os
import pwd
import re
import signal
import socket
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("ISC_TEST_OUT", ROOT / "tests" / "out"))
# ISC_PROGRAM picks another build (the sanitizer build, say).
PROGRAM = Path(os.environ.get("ISC_PROGRAM",
                              ROOT / "cgi-bin" / "insuresign-connect.fcgi"))
# The sample web app's pages that the web servers serve.
SITE = ROOT / "demo"
CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
# What Rig(backend_key=True) puts in [app] backend_key_file.
BACKEND_KEY = "backend-key-0123456789abcdefghijklmnopqrstuvwxyz"
BASE = "/insuresign"
SERVERS = ("lighttpd", "lighttpd-socket", "apache-fcgid", "apache-proxy-fcgi",
           "cgi")
APACHE = os.environ.get("ISC_APACHE", "apache2")
APACHE_MODULES = Path(os.environ.get("ISC_APACHE_MODULES",
                                     "/usr/lib/apache2/modules"))
# Apache's user, when the tests run as root (Apache will not serve as root).
RUN_USER = os.environ.get("ISC_RUN_USER", "www-data")

# What a browser sends for a top-level navigation (Fetch Metadata).
NAVIGATE = {"Accept": "text/html,application/xhtml+xml",
            "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none"}


# The rigs started and not yet stopped (tests/run checks after each suite).
LIVE = []


class StageError(Exception):
    """The run user cannot reach the files it needs, and they cannot be
    put where it can: the message says what to do, in one line."""


def _run_user_ids():
    """(uid, gid, groups) of RUN_USER when the tests run as root (the
    Apache variants run the program as it), else None."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(RUN_USER)
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid, os.getgrouplist(RUN_USER, pw.pw_gid)


def _reaches(ids, paths):
    """Whether the user IDS can enter every directory in PATHS, asked of
    the kernel as that user (mode bits, ACLs and all)."""
    uid, gid, groups = ids
    r = subprocess.run(["sh", "-c", 'for d; do cd "$d" || exit 1; done',
                        "sh", *map(str, paths)], user=uid, group=gid,
                       extra_groups=groups, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def _existing(path):
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _copy(src, dst, mode):
    """SRC to DST (atomically: a process running the old DST keeps its
    file), unless DST is already the same size and age."""
    try:
        s, d = src.stat(), dst.stat()
        if (s.st_size, s.st_mtime_ns) == (d.st_size, d.st_mtime_ns):
            return
    except FileNotFoundError:
        pass
    tmp = dst.with_name(dst.name + ".new")
    shutil.copy2(src, tmp)
    tmp.chmod(mode)
    os.replace(tmp, dst)


def _stage_dir(link):
    """The stage that tests/out links to from an earlier run (ours: root's,
    0755, made by mkdtemp), or a new one."""
    if link.is_symlink():
        d = Path(os.readlink(link)).parent.parent
        try:
            st = os.lstat(d)
            if (d.name.startswith("insuresign-connect-tests.") and
                    stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()
                    and stat.S_IMODE(st.st_mode) == 0o755):
                return d
        except OSError:
            pass
    d = Path(tempfile.mkdtemp(prefix="insuresign-connect-tests."))
    d.chmod(0o755)
    return d


def stage():
    """Where the program, the site and the test output live for this run:
    (OUT, PROGRAM, SITE, a note or "", the stage or None).

    Run as root, the Apache variants run the program as RUN_USER, which
    must reach the program, the site's pages and the rig's directories.
    A checkout in a 0700 home directory (Debian's default) or a mktemp -d
    directory is out of its reach, so then those are staged into a 0755
    directory of their own under $TMPDIR that mirrors the checkout's
    layout (tests/out links to its tests/out, so the logs are where they
    always are), and the program is copied there whenever it changed."""
    ids = _run_user_ids()
    link = ROOT / "tests" / "out"
    if ids is None or _reaches(ids, [PROGRAM.parent, SITE, _existing(OUT)]):
        if link.is_symlink() and not link.exists():
            link.unlink()       # a stage that is gone (a reboot cleans /tmp)
        return OUT, PROGRAM, SITE, "", None
    where = _stage_dir(link)
    if not _reaches(ids, [where]):
        raise StageError(
            f"{RUN_USER} can reach neither {ROOT} nor {where}: set TMPDIR "
            f"to a directory {RUN_USER} can enter, or move the checkout")

    def staged(path):
        try:
            return where / path.relative_to(ROOT)
        except ValueError:
            if _reaches(ids, [_existing(path).parent]):
                return path
            raise StageError(f"{RUN_USER} cannot reach {path}: put it "
                             f"under {ROOT} or where {RUN_USER} can")

    out, program, site = staged(OUT), staged(PROGRAM), staged(SITE)
    target = where / "tests" / "out"
    for d in (out, program.parent, site, target):
        d.mkdir(parents=True, exist_ok=True)
        while d != where:
            d.chmod(0o755)
            d = d.parent
    if (os.readlink(link) != str(target) if link.is_symlink()
            else link.exists()):
        # A real tests/out from a run that needed no stage, or a link to
        # an older stage: test output either way (make clean removes it).
        subprocess.run(["rm", "-rf", str(link)], check=True)
    if not link.is_symlink():
        link.symlink_to(target)
    if PROGRAM.exists():
        _copy(PROGRAM, program, 0o755)
    for f in SITE.iterdir():
        _copy(f, site / f.name, 0o644)
    return out, program, site, (
        f"{RUN_USER} cannot reach {ROOT}: the program, demo/ and the test "
        f"output run from {where} (tests/out links there)"), where


try:
    # STAGE: the directory that mirrors the checkout, or None.
    OUT, PROGRAM, SITE, STAGE_NOTE, STAGE = stage()
except StageError as e:
    sys.exit(f"tests: {e}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def certs():
    """The test CA and server certificate, made once per run."""
    d = OUT / "certs"
    if not (d / "server.pem").exists():
        d.mkdir(parents=True, exist_ok=True)
        subprocess.run(["sh", str(ROOT / "tests/mock/mkcerts.sh"), str(d)],
                       check=True)
    return d


class Response:
    def __init__(self, status, headers, body, url):
        self.status = status
        self.headers = headers          # list of (name, value)
        self.body = body
        self.url = url

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def location(self):
        loc = self.header("Location")
        return urllib.parse.urljoin(self.url, loc) if loc else None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.url}>"


class Browser:
    """Just enough of a browser: cookies (RFC 6265), redirects, headers."""

    def __init__(self, cafile=None, source=None):
        self.jar = {}           # (name, path) -> (value, secure)
        # The loopback address it connects from (127.0.0.2, ...): another
        # client address for the program's per-address limits.
        self.source = (source, 0) if source else None
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.history = []
        # {"host:port": "Basic ..."}: where the web server signed us in.
        self.auth = {}

    def sign_in(self, origin, user, password):
        """HTTP Basic credentials for ORIGIN from now on, as a browser
        keeps them once asked (RFC 7617); user None signs out."""
        netloc = urllib.parse.urlsplit(origin).netloc
        if user is None:
            self.auth.pop(netloc, None)
        else:
            self.auth[netloc] = "Basic " + base64.b64encode(
                f"{user}:{password}".encode()).decode()

    def cookie(self, name):
        for (n, _), (v, _) in self.jar.items():
            if n == name:
                return v
        return None

    def set_cookie(self, name, value, path="/", secure=False):
        self.jar[(name, path)] = (value, secure)

    def _store(self, header):
        parts = [p.strip() for p in header.split(";")]
        name, _, value = parts[0].partition("=")
        attrs = {}
        for p in parts[1:]:
            k, _, v = p.partition("=")
            attrs[k.lower()] = v
        path = attrs.get("path", "/")
        if attrs.get("max-age") == "0":
            self.jar.pop((name, path), None)
        else:
            self.jar[(name, path)] = (value, "secure" in attrs)

    def _cookie_header(self, path, https):
        pairs = [f"{n}={v}" for (n, p), (v, sec) in self.jar.items()
                 if path.startswith(p) and (https or not sec)]
        return "; ".join(pairs)

    def request(self, method, url, body=None, headers=None, cookies=True):
        u = urllib.parse.urlsplit(url)
        https = u.scheme == "https"
        conn = (http.client.HTTPSConnection(u.hostname, u.port,
                                            context=self.ctx, timeout=60,
                                            source_address=self.source)
                if https else
                http.client.HTTPConnection(u.hostname, u.port, timeout=60,
                                           source_address=self.source))
        path = u.path + ("?" + u.query if u.query else "")
        h = dict(headers or {})
        if u.netloc in self.auth:
            h.setdefault("Authorization", self.auth[u.netloc])
        if cookies:
            c = self._cookie_header(u.path or "/", https)
            if c:
                h.setdefault("Cookie", c)
        try:
            conn.request(method, path or "/", body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            resp = Response(r.status, r.getheaders(), data, url)
        finally:
            conn.close()
        for v in resp.all("Set-Cookie"):
            self._store(v)
        self.history.append(resp)
        return resp

    def get(self, url, headers=None, nav=True, follow=False, **kw):
        h = dict(NAVIGATE) if nav else {}
        h.update(headers or {})
        r = self.request("GET", url, headers=h, **kw)
        return self.follow(r) if follow else r

    def post(self, url, form=None, headers=None, follow=False, **kw):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        body = urllib.parse.urlencode(form or {})
        r = self.request("POST", url, body=body, headers=h, **kw)
        return self.follow(r) if follow else r

    def follow(self, r, limit=10):
        while r.status in (301, 302, 303, 307, 308) and limit > 0:
            r = self.get(r.location)
            limit -= 1
        return r


class Mock:
    """The mock InsureSign, and its control API."""

    def __init__(self, out, redirect_uris, issuer=None, tls=True,
                 cert="server", name="mock"):
        self.out = out
        self.tls = tls
        c = certs()
        port_file = out / f"{name}.port"
        port_file.unlink(missing_ok=True)
        cmd = [sys.executable, str(ROOT / "tests/mock/insuresign_mock.py"),
               "--listen", "127.0.0.1:0", "--port-file", str(port_file),
               "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
        if tls:
            # "selfsigned": a certificate the program's CA file does not
            # vouch for, so its TLS check must fail.
            cmd += ["--cert", str(c / f"{cert}.pem"),
                    "--key", str(c / f"{cert}.key")]
        for u in redirect_uris:
            cmd += ["--redirect-uri", u]
        if issuer:
            cmd += ["--issuer", issuer]
        self.log_file = open(out / f"{name}.log", "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.log_file)
        try:
            wait_for(lambda: port_file.exists() or
                     self.proc.poll() is not None, what="the mock to listen")
            if self.proc.poll() is not None:
                raise RuntimeError(f"the mock did not start: see {out}/"
                                   f"{name}.log")
            self.port = int(port_file.read_text())
        except BaseException:
            self.stop()
            raise
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.ctx = ssl.create_default_context(
            cafile=str(c / ("selfsigned.pem" if cert == "selfsigned"
                            else "ca.pem")))

    def _call(self, method, path, data=None):
        conn = (http.client.HTTPSConnection("127.0.0.1", self.port,
                                            context=self.ctx, timeout=10)
                if self.tls else
                http.client.HTTPConnection("127.0.0.1", self.port,
                                           timeout=10))
        body = json.dumps(data) if data is not None else None
        conn.request(method, path, body=body,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        out = r.read()
        conn.close()
        if r.status != 200:
            raise RuntimeError(f"mock {path}: {r.status} {out!r}")
        return json.loads(out) if out else None

    def config(self, **switches):
        return self._call("POST", "/_mock/config", switches)

    def reset(self, keep_grants=False):
        return self._call("POST", "/_mock/reset",
                          {"keep_grants": keep_grants})

    def log(self, **filters):
        q = urllib.parse.urlencode(filters)
        return self._call("GET", "/_mock/log" + ("?" + q if q else ""))

    def token_requests(self, grant_type=None):
        return len(self.log(endpoint="token", **(
            {"grant_type": grant_type} if grant_type else {})))

    def stats(self):
        return self._call("GET", "/_mock/stats")

    def tokens(self):
        return self._call("GET", "/_mock/tokens")

    def expire(self, **what):
        return self._call("POST", "/_mock/expire", what)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log_file.close()


class Receiver:
    """The web app's event receiver ([events] url), in a thread of the
    test: it checks every delivery's InsureSign-Connect-Signature against
    SECRET (HMAC-SHA256 of "t.body"), and records it.  Switches: status
    (what it answers), hang (never answers until released), and down()
    / up() (its port refuses connections, then listens again)."""

    def __init__(self, secret, port=None):
        import hashlib
        import hmac
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.secret = secret.encode()
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.attempts = []      # every request: (id, answered status)
        self.deliveries = []    # the 2xx ones: the parsed bodies
        self.raw = []           # ... and as they came: (signature, body)
        self.bad = []           # what failed a check, and why
        self.status = 204
        self.release = threading.Event()
        self.release.set()
        self.hanging = threading.Event()    # a request is waiting now
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sig = self.headers.get("InsureSign-Connect-Signature", "")
                m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", sig)
                want = m and hmac.new(rec.secret, m.group(1).encode() +
                                      b"." + body,
                                      hashlib.sha256).hexdigest()
                try:
                    event = json.loads(body)
                except ValueError:
                    event = None
                with rec.lock:
                    if not m or not hmac.compare_digest(want, m.group(2)):
                        rec.bad.append(("signature", sig, body))
                    elif abs(int(m.group(1)) - time.time()) > 300:
                        rec.bad.append(("old t", sig, body))
                    if event is None or self.headers.get(
                            "InsureSign-Connect-Event-Id") != event["id"]:
                        rec.bad.append(("id", sig, body))
                    if self.headers.get("Content-Type") != \
                            "application/json":
                        rec.bad.append(("type", sig, body))
                    status = rec.status
                    rec.attempts.append((event and event["id"], status,
                                         rec.release.is_set()))
                if not rec.release.is_set():
                    rec.hanging.set()
                    rec.release.wait(60)
                    self.close_connection = True
                    return
                if 200 <= status <= 299:
                    with rec.lock:
                        rec.deliveries.append(event)
                        rec.raw.append((sig, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server_class = ThreadingHTTPServer
        self._handler = Handler
        self.server = None
        self.url = f"http://127.0.0.1:{self.port}/events"
        self.up()

    def up(self):
        import threading
        self.server = self._server_class(("127.0.0.1", self.port),
                                         self._handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def down(self):
        """Stops listening: connections are refused."""
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def hang(self):
        self.hanging.clear()
        self.release.clear()

    def unhang(self):
        self.release.set()

    def ids(self):
        with self.lock:
            return [e["id"] for e in self.deliveries]

    def events(self):
        with self.lock:
            return list(self.deliveries)

    def stop(self):
        self.release.set()
        self.down()


class Prometheus:
    """A real Prometheus server (Debian's prometheus) on loopback that
    scrapes TARGET's PATH every second with a bearer key from KEY_FILE,
    and its HTTP query API (https://prometheus.io/docs/prometheus/latest/
    querying/api/)."""

    def __init__(self, out, target_port, path, key_file):
        self.dir = out / "prometheus"
        subprocess.run(["rm", "-rf", str(self.dir)], check=True)
        self.dir.mkdir(parents=True)
        self.port = free_port()
        conf = self.dir / "prometheus.yml"
        conf.write_text(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: insuresign-connect
    metrics_path: {path}
    authorization:
      credentials_file: {key_file}
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
""")
        self.log_file = open(self.dir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={conf}",
             f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.log_file)
        try:
            wait_for(lambda: self._ready() or self.proc.poll() is not None,
                     timeout=30, what="prometheus to start")
            if self.proc.poll() is not None:
                raise RuntimeError("prometheus did not start: see "
                                   f"{self.dir}/prometheus.log")
        except BaseException:
            self.stop()
            raise

    def _get(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def _ready(self):
        try:
            return self._get("/-/ready")[0] == 200
        except OSError:
            return False

    def query(self, promql):
        """The instant vector of PROMQL now: {frozenset(labels): value}."""
        status, body = self._get("/api/v1/query?" + urllib.parse.urlencode(
            {"query": promql}))
        data = json.loads(body)
        if status != 200 or data.get("status") != "success":
            raise RuntimeError(f"prometheus: {promql}: {status} {body!r}")
        return {frozenset((k, v) for k, v in r["metric"].items()
                          if k not in ("job", "instance", "__name__")):
                float(r["value"][1]) for r in data["data"]["result"]}

    def targets(self):
        return json.loads(self._get("/api/v1/targets")[1])["data"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()


class RedisError(Exception):
    """An error reply (RESP "-ERR ..."), as Redis words it."""


class Redis:
    """A redis-server of the rig's own (Debian's), in DIR: on a unix socket
    there, and on a loopback port too when tcp=True; appendonly on (a
    restart keeps every link; off: only what SAVE wrote, as make bench
    keeps its million links), maxmemory-policy noeviction, a password
    when given.  The config is DIR/redis.conf, its log DIR/redis.log.

    command() speaks RESP itself (no client library on the test
    machine): enough for the tests' SCAN, GET, CONFIG and the like."""

    def __init__(self, out, name="redis", password=None, tcp=False,
                 appendonly=True, start_timeout=10):
        self.dir = out / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket = self.dir / "redis.sock"
        self.port = free_port() if tcp else 0
        self.password = password
        self.start_timeout = start_timeout   # loading a big dump.rdb
        self.proc = None
        self.log = self.dir / "redis.log"
        self.conf = self.dir / "redis.conf"
        lines = [f"dir {self.dir}", f"unixsocket {self.socket}",
                 # The program may run as www-data (Apache): the socket
                 # is in the rig's own directory, on a test machine.
                 "unixsocketperm 777", f"port {self.port}",
                 "bind 127.0.0.1", "protected-mode yes",
                 f"appendonly {'yes' if appendonly else 'no'}",
                 "appendfsync everysec", 'save ""',
                 "maxmemory-policy noeviction", f"logfile {self.log}",
                 "daemonize no"]
        if password:
            lines.append(f"requirepass {password}")
        self.conf.write_text("\n".join(lines) + "\n")
        self.start()

    @property
    def address(self):
        """What [store] redis says: the socket (tcp: the port)."""
        return (f"127.0.0.1:{self.port}" if self.port
                else f"unix:{self.socket}")

    def start(self):
        self.socket.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", str(self.conf)], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: self._answers() or self.proc.poll() is not None,
                     timeout=self.start_timeout,
                     what="redis-server to listen")
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server did not start: " +
                                   self.log.read_text(errors="replace")
                                   [-2000:])
        except BaseException:
            self.stop()
            raise

    def _answers(self):
        try:
            return self.command("PING") == "PONG"
        except (OSError, RedisError):
            return False

    def stop(self):
        """SIGTERM: Redis writes its append-only file and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def command(self, *args, timeout=10, raw=False):
        """One command, its reply: str (bytes if raw), int, None, list, or
        RedisError raised."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(str(self.socket))
            f = s.makefile("rwb")
            cmds = ([("AUTH", self.password)] if self.password else []) + \
                [args]
            for c in cmds:
                f.write(self._encode(c))
            f.flush()
            replies = [self._read(f, raw) for _ in cmds]
        finally:
            s.close()
        for r in replies:
            if isinstance(r, RedisError):
                raise r
        return replies[-1]

    @staticmethod
    def _encode(args):
        out = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(f"${len(b)}\r\n".encode() + b + b"\r\n")
        return b"".join(out)

    def _read(self, f, raw=False):
        line = f.readline()
        if not line:
            raise OSError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)[:-2]
            return data if raw else data.decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read(f, raw)
                                       for _ in range(n)]
        raise OSError(f"redis: unexpected reply {line!r}")

    def keys(self, match="*"):
        """Every key (SCAN), sorted."""
        found, cursor = set(), "0"
        while True:
            cursor, batch = self.command("SCAN", cursor, "MATCH", match,
                                         "COUNT", 1000)
            found.update(batch)
            if cursor == "0":
                return sorted(found)

    def clients(self, name_prefix="insuresign-connect-"):
        """The connections our program holds: {pid: count}, from CLIENT
        LIST (store_redis.c names each insuresign-connect-PID)."""
        out = {}
        for line in self.command("CLIENT", "LIST").splitlines():
            m = re.search(r"\bname=" + re.escape(name_prefix) + r"(\d+)",
                          line)
            if m:
                out[int(m.group(1))] = out.get(int(m.group(1)), 0) + 1
        return out

    def dump(self):
        """Every key and its value, as bytes: for greps of what Redis
        holds (the AOF holds it too, and is grepped as well)."""
        out = b""
        for k in self.keys():
            t = self.command("TYPE", k)
            if t == "string":
                v = self.command("GET", k, raw=True)
            elif t == "zset":
                v = b" ".join(self.command("ZRANGE", k, 0, -1, raw=True))
            else:
                v = t.encode()
            out += k.encode() + b" " + v + b"\n"
        return out


class RedisRecord:
    """A record in Redis, with the Path methods the tests use on a
    record file: name, read_bytes(), write_bytes(), unlink()."""

    def __init__(self, redis, key):
        self.redis = redis
        self.key = key
        self.name = re.search(r"\{([0-9a-f]{64})\}", key).group(1)

    def read_bytes(self):
        v = self.redis.command("GET", self.key, raw=True)
        if v is None:
            raise FileNotFoundError(self.key)
        return v

    def write_bytes(self, data):
        self.redis.command("SET", self.key, data)

    def unlink(self):
        self.redis.command("DEL", self.key)

    def __lt__(self, other):
        return self.name < other.name

    def __eq__(self, other):
        return isinstance(other, RedisRecord) and self.key == other.key

    def __hash__(self):
        return hash(self.key)

    def __str__(self):
        return self.key

    def __repr__(self):
        return f"<RedisRecord {self.name[:12]}>"


def replace_vars(text, values):
    """Sets `var.NAME = ...` lines of a lighttpd config (the shipped ones)."""
    for name, value in values.items():
        v = value if isinstance(value, int) else json.dumps(str(value))
        text, n = re.subn(rf"(?m)^var\.{name}\s*=.*$", f"var.{name} = {v}",
                          text)
        if n != 1:
            raise ValueError(f"var.{name} not found exactly once")
    return text


def replace_defines(text, values):
    """Sets `Define NAME value` lines of an Apache config (the shipped ones)."""
    for name, value in values.items():
        v = str(value)
        if not v or re.search(r'[\s"\'\\$]', v):
            raise ValueError(f"Define {name}: {v!r} cannot go in an Apache "
                             "config unquoted")
        text, n = re.subn(rf"(?m)^Define[ \t]+{name}[ \t].*$",
                          f"Define {name} {v}", text)
        if n != 1:
            raise ValueError(f"Define {name} not found exactly once")
    return text


def app_password_hash(password):
    """A password as demo/app.py's users file holds it (few rounds: the
    tests' passwords protect nothing)."""
    import hashlib
    salt = os.urandom(16).hex()
    h = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000)
    return f"pbkdf2_sha256$1000${salt}${h.hex()}"


class Forked:
    """A child the rig forked and exec'd itself (socket activation needs
    the child's own pid in its environment), with the subprocess.Popen
    methods the rig uses."""

    def __init__(self, pid):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, sig):
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        self.send_signal(signal.SIGKILL)


def _alive(pid, start):
    """Whether PID still runs (not a zombie) and is the process that began
    at START (its /proc stat starttime), not a new one with its number."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return stat[0] != "Z" and stat[19] == start


def write_ini(path, sections):
    """Mode 0600: it holds an inline client_secret, which the program
    refuses in a file that others may read."""
    lines = []
    for section, keys in sections.items():
        lines.append(f"[{section}]")
        for k, v in keys.items():
            if v is None:
                continue
            if isinstance(v, bool):
                v = "true" if v else "false"
            lines.append(f"{k} = {v}")
        lines.append("")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as f:
        f.write("\n".join(lines))
    os.chmod(path, 0o600)


class Rig:
    """One whole deployment on loopback.  Use as a context manager.

    server: one of SERVERS.  front="apache-tls": an https front (Apache,
    mod_ssl, mod_proxy, tests/conf/apache-tls-front.conf) before the server;
    url() and redirect_uri are then the front's, and [app] trusted_proxies
    lists the address it connects from.  activation="systemd" (the socket
    variants only): the rig binds the socket and hands it to the program as
    fd 3, as systemd's conf/insuresign-connect.socket does.  start=False:
    nothing serves until start_server() (set up files and settings first).
    program_args: more options for the program's own listener (the socket
    variants: --request-timeout, say).  sign_in: {user: password}, the
    web app's users the web server signs in for [identity] owner =
    web_server (conf/lighttpd-auth.conf or conf/apache-auth-basic.conf:
    HTTP Basic on /account and the base path but the backend's routes).
    sample_app: {user: password}, the sample web app's users (lighttpd,
    backend_key=True): demo/app.py behind the web server at /app/, its
    backend naming each user to the program ([identity] owner = backend).

    store: "file" (a store directory) or "redis" ([store] backend = redis,
    on a Redis of its own, or on redis=, a Redis shared with other rigs);
    the default is $ISC_STORE, else "file" (tests/run's flow_redis pass
    runs the flow suite on Redis so).  Several rigs as several machines
    of one site: mock= shares one mock InsureSign, key= one store key
    (copied), redirect_uri= one callback URL (a load balancer's).
    """

    def __init__(self, name, server="lighttpd", ini=None, port=None,
                 issuer=None, keep_store=False, admin_auth=None, front=None,
                 activation=None, start=True, serve_program=None,
                 mock_tls=True, backend_key=False, program_args=(),
                 sign_in=None, sample_app=None, store=None, redis=None,
                 mock=None, key=None, redirect_uri=None):
        if server not in SERVERS:
            raise ValueError(f"unknown server {server}; have {SERVERS}")
        if front not in (None, "apache-tls"):
            raise ValueError(f"unknown front {front}")
        if activation not in (None, "systemd") or (
                activation and server not in ("lighttpd-socket",
                                              "apache-proxy-fcgi")):
            raise ValueError(f"activation={activation} with {server}")
        if admin_auth and server not in ("lighttpd", "lighttpd-socket"):
            raise ValueError(f"admin_auth with {server}: lighttpd only")
        self.name = name
        self.server = server
        # What the web server runs: the program, or a wrapper of it
        # (valgrind, say); the command line is always the program.
        self.serve_program = serve_program or PROGRAM
        # More options for the program's own listener (start_program).
        self.program_args = list(program_args)
        self.front = front
        self.activation = activation
        self.out = OUT / name
        self.procs = []
        self.run_user = None        # (uid, gid) the program runs as
        if server.startswith("apache") or server == "cgi":
            if os.geteuid() == 0:
                pw = pwd.getpwnam(RUN_USER)
                self.run_user = (pw.pw_uid, pw.pw_gid)
        if not keep_store and self.out.exists():
            subprocess.run(["rm", "-rf", str(self.out)], check=True)
        self.out.mkdir(parents=True, exist_ok=True)
        self._own(self.out)
        # port: where browsers go (the front, if any); server_port: the
        # web server that runs the program.
        self.port = port or free_port()
        self.server_port = free_port() if front else self.port
        scheme = "https" if front else "http"
        self.origin = f"{scheme}://127.0.0.1:{self.port}"
        self.server_origin = f"http://127.0.0.1:{self.server_port}"
        self.redirect_uri = redirect_uri or self.origin + BASE + "/callback"
        self.store_kind = store or os.environ.get("ISC_STORE", "file")
        if self.store_kind not in ("file", "redis"):
            raise ValueError(f"store={self.store_kind}: file or redis")
        self.redis = redis
        self.own_redis = False
        self.own_mock = mock is None
        self.socket = self.out / "fcgi.sock"
        self.ini = self.out / "insuresign-connect.ini"
        # Every process started from here on is stopped by stop(), which
        # runs on any failure before the constructor returns; a rig that
        # a suite never stops, tests/run stops and reports (LIVE).
        self.mock = mock
        LIVE.append(self)
        try:
            # The demo's mock is plain http, so that a person's browser
            # shows its page without a warning about our test CA
            # (loopback only).
            if self.mock is None:
                self.mock = Mock(self.out, [self.redirect_uri],
                                 issuer=issuer, tls=mock_tls)
            self.store = self.out / "store"
            self.store.mkdir(mode=0o700, exist_ok=True)
            self._own(self.store)
            self.state = self.out / "state"
            self.state.mkdir(mode=0o700, exist_ok=True)
            self._own(self.state)
            self.key = self.out / "store.key"
            if key is not None:
                shutil.copyfile(key, self.key)
                self.key.chmod(0o600)
                self._own(self.key)
            if not self.key.exists():
                self.cli("keygen", str(self.key), config=False)
            self.settings = {
                "insuresign": {
                    "authorize_url": self.mock.url + "/oauth2/authorize",
                    "token_url": self.mock.url + "/oauth2/token",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uri": self.redirect_uri,
                    "ca_file": certs() / "ca.pem",
                },
                "http": {"connect_timeout": 2, "timeout": 4},
                "app": {"base_path": BASE, "return_to": "/account",
                        "return_to_allowed": "/account, /settings",
                        "state_dir": self.state},
                "session": {},
                "store": {"dir": self.store, "key_file": self.key},
                # Tests connect far more often than people do.
                "limits": {"callbacks_per_address": 1000,
                           "callbacks_per_minute": 10000},
            }
            if self.store_kind == "redis":
                if self.redis is None:
                    self.redis = Redis(self.out)
                    self.own_redis = True
                self.settings["store"].update(
                    backend="redis", redis=self.redis.address)
                if self.redis.password:
                    self.settings["store"]["redis_password_file"] = \
                        self.secret_file("redis.password",
                                         self.redis.password + "\n")
            if front:
                # The front connects to the server from 127.0.0.1.
                self.settings["app"]["trusted_proxies"] = "127.0.0.1"
            if backend_key:
                self.settings["app"]["backend_key_file"] = self.secret_file(
                    "backend.key", BACKEND_KEY + "\n")
            for section, keys in (ini or {}).items():
                self.settings.setdefault(section, {}).update(keys)
            self.write_config()
            self.error_log = self.out / "lighttpd-error.log"
            # {user: password}: the web server asks for these on /admin
            # and passes REMOTE_USER (lighttpd mod_auth), as an operator
            # would set.
            self.admin_auth = admin_auth
            self.sign_in = sign_in
            # The web app's pages the sign-in covers, beside the base path.
            self.sign_in_pages = "/account"
            self.sample_app = sample_app
            if sample_app:
                self.app_port = free_port()
                self.settings["app"]["return_to"] = "/app/account"
                self.settings["app"]["return_to_allowed"] += ", /app"
                self.write_config()
            if start:
                self.start_server()
        except BaseException:
            self.stop()
            raise

    def write_config(self):
        write_ini(self.ini, self.settings)
        self._own(self.ini)

    def secret_file(self, name, content):
        """A 0600 file under the rig's directory (keys, secrets), owned by
        the user the program runs as."""
        path = self.out / name
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, content.encode() if isinstance(content, str)
                 else content)
        os.close(fd)
        self._own(path)
        return path

    def _own(self, path):
        """Hands a file to the user the program runs as (Apache's)."""
        if self.run_user:
            os.chown(path, *self.run_user)

    def apache_sign_in(self):
        """The Apache sign-in as the site includes it: the shipped
        conf/apache-auth-basic.conf, its Define lines set."""
        return replace_defines(
            (ROOT / "conf/apache-auth-basic.conf").read_text(), {
                "INSURESIGN_BASE": BASE,
                "INSURESIGN_PAGES": self.sign_in_pages,
                "INSURESIGN_USERS": self.htpasswd()})

    def htpasswd(self):
        """The sign_in users as an htpasswd file (apr1, which lighttpd and
        Apache both read), readable by the web server's user."""
        path = self.out / "users.htpasswd"
        lines = []
        for user, password in self.sign_in.items():
            r = subprocess.run(["openssl", "passwd", "-apr1", "-stdin"],
                               input=password, capture_output=True,
                               text=True, check=True)
            lines.append(f"{user}:{r.stdout.strip()}\n")
        path.write_text("".join(lines))
        path.chmod(0o640)
        self._own(path)
        return path

    def _user_names(self):
        """The User and Group lines for an Apache."""
        uid, gid = (pwd.getpwnam(RUN_USER).pw_uid,
                    pwd.getpwnam(RUN_USER).pw_gid) \
            if os.geteuid() == 0 else (os.getuid(), os.getgid())
        return pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name

    # -- web servers ---------------------------------------------------

    def restart_server(self):
        """Stops the web server (and its workers, and the program where it
        runs on its own), starts it again: the program reads its config
        once, at start."""
        self._stop_procs()
        for port in {self.port, self.server_port}:
            wait_for(lambda: not port_open(port), what="the port to free")
        self.start_server()

    def start_sample_app(self):
        """demo/app.py on app_port, its users' passwords hashed as it
        reads them; the web server sends it /app/ (start_lighttpd)."""
        users = self.out / "app-users"
        users.write_text("".join(
            f"{u}:{app_password_hash(p)}\n"
            for u, p in self.sample_app.items()))
        log = self.out / "app.log"
        with open(log, "ab") as err:
            proc = subprocess.Popen(
                [sys.executable, str(SITE / "app.py"), "--listen",
                 f"127.0.0.1:{self.app_port}", "--users", str(users),
                 "--backend-key-file",
                 str(self.settings["app"]["backend_key_file"]),
                 "--insuresign", self.server_origin + BASE],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err)
        self._started(proc, self.app_port, "the sample app", log)

    def start_server(self):
        if self.sample_app:
            self.start_sample_app()
        if self.server in ("lighttpd-socket", "apache-proxy-fcgi"):
            self.start_program()
        if self.server == "lighttpd":
            self.start_lighttpd("lighttpd.conf", {
                "insuresign_base": BASE,
                "insuresign_program": self.serve_program,
                "insuresign_config": self.ini,
                "insuresign_socket": self.out / "fcgi.sock",
                # server.breakagelog: the program's stderr (logs()).
                "insuresign_log": self.out / "lighttpd-breakage.log",
            })
        elif self.server == "lighttpd-socket":
            self.start_lighttpd("lighttpd-socket.conf", {
                "insuresign_base": BASE,
                "insuresign_socket": self.socket,
            })
        elif self.server == "apache-fcgid":
            self.start_apache("apache-fcgid.conf", "FCGID", {
                "INSURESIGN_BASE": BASE,
                "INSURESIGN_PROGRAM": self.serve_program,
                "INSURESIGN_CONFIG": self.ini,
            })
        elif self.server == "apache-proxy-fcgi":
            self.start_apache("apache-proxy-fcgi.conf", "PROXY_FCGI", {
                "INSURESIGN_BASE": BASE,
                "INSURESIGN_SOCKET": self.socket,
            })
        elif self.server == "cgi":
            self.start_apache("apache-cgi.conf", "CGI", {
                "INSURESIGN_BASE": BASE,
                "INSURESIGN_PROGRAM": self.serve_program,
                "INSURESIGN_CONFIG": self.ini,
            })
        if self.front:
            self.start_front()

    def _started(self, proc, port, what, log):
        self.procs.append(proc)
        wait_for(lambda: port_open(port) or proc.poll() is not None,
                 what=f"{what} to listen")
        if proc.poll() is not None:
            self.procs.remove(proc)
            raise RuntimeError(f"{what} did not start: " +
                               log.read_text(errors="replace")[-3000:])

    def start_lighttpd(self, conf_name, values):
        snippet = replace_vars((ROOT / "conf" / conf_name).read_text(),
                               values)
        (self.out / conf_name).write_text(snippet)
        extra = self.out / "lighttpd-extra.conf"
        lines = []
        if self.admin_auth:
            users = self.out / "admin-users"
            users.write_text("".join(f"{u}:{p}\n"
                                     for u, p in self.admin_auth.items()))
            lines += [
                'auth.backend = "plain"',
                f'auth.backend.plain.userfile = "{users}"',
                f'auth.require = ( "{BASE}/admin" => ( "method" => "basic",'
                ' "realm" => "admin", "require" => "valid-user" ) )']
        if self.sample_app:
            lines += [
                'server.modules += ( "mod_proxy" )',
                '$HTTP["url"] =^ "/app" { proxy.server = ( "" => (( '
                f'"host" => "127.0.0.1", "port" => {self.app_port} )) ) }}']
        if self.sign_in:
            conf = self.out / "lighttpd-auth.conf"
            conf.write_text(replace_vars(
                (ROOT / "conf/lighttpd-auth.conf").read_text(), {
                    "insuresign_pages": self.sign_in_pages,
                    "insuresign_users": self.htpasswd()}))
            lines.append(f'include "{conf}"')
        extra.write_text("\n".join(lines) + "\n")
        site = replace_vars((ROOT / "demo/lighttpd-site.conf").read_text(), {
            "site_port": self.server_port, "site_root": SITE,
            "site_run": self.out, "site_include": self.out / conf_name,
            "site_extra": extra})
        (self.out / "lighttpd-site.conf").write_text(site)
        log = self.out / "lighttpd-stderr.log"
        with open(log, "ab") as err:
            proc = subprocess.Popen(
                ["lighttpd", "-D", "-f", str(self.out / "lighttpd-site.conf")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err)
        self._started(proc, self.server_port, "lighttpd", log)

    def _apache(self, conf, defines, what, log, port):
        cmd = [APACHE, "-f", str(conf), "-D", "FOREGROUND"]
        for d in defines:
            cmd += ["-D", d]
        with open(log, "ab") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err)
        self._started(proc, port, what, log)

    def start_apache(self, conf_name, module, values):
        """demo/apache-site.conf including conf/CONF_NAME; MODULE is the
        -D that loads the program's server modules."""
        snippet = replace_defines((ROOT / "conf" / conf_name).read_text(),
                                  values)
        (self.out / conf_name).write_text(snippet)
        user, group = self._user_names()
        site = replace_defines((ROOT / "demo/apache-site.conf").read_text(), {
            "SITE_PORT": self.server_port, "SITE_ROOT": SITE,
            "SITE_RUN": self.out, "SITE_INCLUDE": self.out / conf_name,
            "SITE_MODULES": APACHE_MODULES, "SITE_USER": user,
            "SITE_GROUP": group})
        if self.sign_in:
            # The site includes one file: the program's, then the sign-in.
            auth = self.out / "apache-auth-basic.conf"
            auth.write_text(self.apache_sign_in())
            both = self.out / "apache-include.conf"
            both.write_text(f'Include "{self.out / conf_name}"\n'
                            f'Include "{auth}"\n')
            site = replace_defines(site, {"SITE_INCLUDE": both})
        conf = self.out / "apache-site.conf"
        conf.write_text(site)
        self._apache(conf, [module] + (["SIGN_IN"] if self.sign_in else []),
                     "apache2", self.out / "apache-stderr.log",
                     self.server_port)

    def start_front(self):
        """The https front: tests/conf/apache-tls-front.conf."""
        run = self.out / "front"
        run.mkdir(exist_ok=True)
        user, group = self._user_names()
        c = certs()
        conf = replace_defines(
            (ROOT / "tests/conf/apache-tls-front.conf").read_text(), {
                "FRONT_PORT": self.port,
                "FRONT_BACKEND": self.server_origin,
                "FRONT_RUN": run,
                "FRONT_CERT": c / "server.pem",
                "FRONT_KEY": c / "server.key",
                "FRONT_MODULES": APACHE_MODULES,
                "FRONT_USER": user, "FRONT_GROUP": group})
        (run / "apache-tls-front.conf").write_text(conf)
        self._apache(run / "apache-tls-front.conf", [], "the https front",
                     run / "stderr.txt", self.port)

    def start_program(self):
        """The program as a service of its own, as --listen unix:PATH (or
        socket-activated), with two workers; its log in program.log."""
        log = self.out / "program.log"
        starts = self._listening(log)
        cmd = [str(self.serve_program), "--config", str(self.ini),
               "--workers", "2", *self.program_args]
        with open(log, "ab") as err:
            if self.activation == "systemd":
                proc = self.socket_activated(cmd, err)
            else:
                # The documented setup: only the web server's group may
                # connect (man insuresign-connect(8), --socket-group).
                cmd += ["--listen", f"unix:{self.socket}",
                        "--socket-mode", "0660",
                        "--socket-group", self._user_names()[1]]
                extra = {}
                if self.run_user:
                    extra = {"user": self.run_user[0],
                             "group": self.run_user[1], "extra_groups": []}
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL,
                                        stderr=err, **extra)
        self.procs.append(proc)
        # Bound, listening and forked: it logs that last.
        wait_for(lambda: self._listening(log) > starts or
                 proc.poll() is not None, what="the program to listen")
        if proc.poll() is not None:
            self.procs.remove(proc)
            raise RuntimeError("the program did not start: " +
                               log.read_text(errors="replace")[-3000:])

    @staticmethod
    def _listening(log):
        try:
            return log.read_text(errors="replace").count(
                "listening with ")
        except FileNotFoundError:
            return 0

    def socket_activated(self, cmd, err):
        """Starts CMD the way systemd starts a service for a .socket unit
        (sd_listen_fds(3)): the parent binds and listens, the child gets
        the socket as fd 3, LISTEN_FDS=1 and LISTEN_PID=its own pid."""
        self.socket.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(self.socket))
        sock.listen(128)
        if self.run_user:
            # SocketUser=, SocketGroup=: the server's user may connect.
            os.chown(self.socket, *self.run_user)
        self.activated_inode = os.fstat(sock.fileno()).st_ino
        env = dict(os.environ, LISTEN_FDS="1")
        pid = os.fork()
        if pid == 0:        # the child: never returns
            try:
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 1)
                os.dup2(err.fileno(), 2)
                os.dup2(sock.fileno(), 3)
                os.set_inheritable(3, True)
                os.closerange(4, 65536)
                if self.run_user:
                    os.setgroups([])
                    os.setgid(self.run_user[1])
                    os.setuid(self.run_user[0])
                env["LISTEN_PID"] = str(os.getpid())
                os.execve(cmd[0], cmd, env)
            finally:
                os._exit(127)
        sock.close()
        return Forked(pid)

    def _stop_procs(self):
        """Stops what start_server started, the last started first, then
        anything of theirs that outlived them, for nothing may outlive
        stop(): a server's own shutdown can miss some (lighttpd 1.4.69 now
        and then leaves a bin-path worker behind that it never signals).
        What it had to kill, it notes in stragglers.txt."""
        below = self._descendants()
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()
        if self.activation:
            self.socket.unlink(missing_ok=True)
        end = time.monotonic() + 5
        for pid, (start, exe) in below.items():
            while _alive(pid, start) and time.monotonic() < end:
                time.sleep(0.02)
            if _alive(pid, start):
                self._kill_straggler(pid, exe + " (still below the server)")
        # ... and any program process of this rig's config that is no
        # longer below them (one a server spawned while it stopped).
        for pid, start in self._program_pids().items():
            if _alive(pid, start):
                self._kill_straggler(pid, str(PROGRAM) + " (of this config)")

    def _kill_straggler(self, pid, exe):
        with open(self.out / "stragglers.txt", "a") as f:
            f.write(f"killed {pid} {exe}\n")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _program_pids(self):
        """{pid: start time} of the program's live processes that run with
        this rig's config (in their environment or on their command line)."""
        exe = str(PROGRAM.resolve())
        mark = str(self.ini).encode()
        found = {}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                # " (deleted)": the binary was rebuilt since it started.
                if os.readlink(d / "exe").removesuffix(" (deleted)") != exe:
                    continue
                stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
                if stat[0] != "Z" and (
                        mark in (d / "environ").read_bytes() or
                        mark in (d / "cmdline").read_bytes()):
                    found[int(d.name)] = stat[19]
            except (OSError, IndexError):
                continue
        return found

    def _descendants(self):
        """{pid: (start time, exe)} of every live process below the ones
        the rig started."""
        children = {}
        info = {}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
                if stat[0] == "Z":
                    continue
                info[int(d.name)] = (stat[19], os.readlink(d / "exe"))
            except (OSError, IndexError):
                continue
            children.setdefault(int(stat[1]), []).append(int(d.name))
        found = {}
        todo = [c for p in self.procs for c in children.get(p.pid, [])]
        while todo:
            pid = todo.pop()
            if pid in info:
                found[pid] = info[pid]
            todo += children.get(pid, [])
        return found

    # -- helpers for tests ---------------------------------------------

    def url(self, path):
        return self.origin + path

    def browser(self, source=None):
        return Browser(cafile=str(certs() / "ca.pem"), source=source)

    def link(self, expires_in=None):
        """A new browser whose session is linked: (browser, session id).
        expires_in: the lifetime the code exchange hands out (refreshes
        get the normal hour).  The mock's log and switches are cleared
        after, its grants kept."""
        b = self.browser()
        if expires_in is not None:
            self.mock.config(expires_in=expires_in,
                             fault_grant="authorization_code")
        r = self.connect(b)
        if r.status != 303:
            raise AssertionError(f"connect failed: {r.status} {r.text}")
        self.mock.reset(keep_grants=True)
        return b, b.cookie("insuresign_session")

    def token(self, sid, key=BACKEND_KEY, headers=None):
        """GET /token as the web app's backend asks (key None: no key)."""
        h = {"X-InsureSign-Session": sid}
        if key is not None:
            h["Authorization"] = "Bearer " + key
        h.update(headers or {})
        return self.browser().request("GET", self.url(BASE + "/token"),
                                      headers=h)

    def cli(self, *args, config=True, check=True, env=None):
        cmd = [str(PROGRAM), *args]
        if config:
            cmd += ["--config", str(self.ini)]
        extra = {}
        if self.run_user:
            # As the program runs: the files it makes must be its own.
            extra = {"user": self.run_user[0], "group": self.run_user[1],
                     "extra_groups": []}
        r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=60, **extra)
        if check and r.returncode != 0:
            raise RuntimeError(f"{cmd}: {r.returncode}: {r.stderr}")
        return r

    def connect(self, browser, return_to=None, follow_last=False):
        """The whole flow with the mock's auto-approve: start, authorize,
        callback.  Returns the callback's response (a 303 when it worked)."""
        self.mock.config(auto_approve=True)
        q = "?" + urllib.parse.urlencode({"return_to": return_to}) \
            if return_to else ""
        start = browser.get(self.url(BASE + "/connect/start" + q))
        assert start.status == 302, (start.status, start.text)
        auth = browser.get(start.location)
        assert auth.status == 302, (auth.status, auth.text)
        cb = browser.get(auth.location)
        return browser.follow(cb) if follow_last else cb

    def worker_pids(self):
        """The program's processes this rig's servers run now: the
        descendants of what the rig started (lighttpd's children, mod_fcgid's
        process manager's, the --listen program's workers)."""
        exe = str(PROGRAM.resolve())
        return sorted(pid for pid, (_, e) in self._descendants().items()
                      if e == exe)

    def logs(self):
        """Everything the server and the program wrote to their logs."""
        text = ""
        for f in sorted(self.out.glob("*.log")):
            if not f.name.startswith("mock"):
                text += f.read_text(errors="replace")
        return text

    def records(self):
        """The stored records: files, or RedisRecords (the same methods)."""
        if self.store_kind == "redis":
            prefix = self.settings["store"].get("redis_prefix", "isc:")
            return sorted(RedisRecord(self.redis, k)
                          for k in self.redis.keys(prefix + "r:*"))
        return sorted(p for p in self.store.glob("??/*")
                      if re.fullmatch(r"[0-9a-f]{64}", p.name))

    def stop(self):
        try:
            self._stop_procs()
        finally:
            if self.mock and self.own_mock:
                self.mock.stop()
            if self.own_redis:
                self.redis.stop()
            if self in LIVE:
                LIVE.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


DEMO_OWNERS = ("backend", "web_server", "browser")


def demo(port, server="lighttpd", owner="backend"):
    """make demo: the rig, for a person, until Ctrl-C.  OWNER says whose
    links they are ([identity] owner): backend, the sample web app's users
    (demo/app.py signs them in, its backend names them); web_server, the
    users the web server signs in (HTTP Basic); browser, each browser's."""
    os.environ.setdefault("ISC_TEST_OUT", str(ROOT / "run"))
    global OUT
    OUT = Path(os.environ["ISC_TEST_OUT"])
    import secrets
    if owner not in DEMO_OWNERS:
        sys.exit(f"make demo OWNER={owner}: one of {', '.join(DEMO_OWNERS)}")
    lighttpd = server.startswith("lighttpd")
    if owner == "backend" and not lighttpd:
        sys.exit("make demo OWNER=backend: the sample web app runs behind "
                 "lighttpd only")
    users = {u: secrets.token_urlsafe(9) for u in ("alice", "bob", "admin")}
    backend_key = secrets.token_urlsafe(32)
    people = {u: users[u] for u in ("alice", "bob")}
    # The admin page: the web server signs the operator in.
    admin = lighttpd or owner == "web_server"
    rig = Rig("demo", port=port, server=server, start=False, mock_tls=False,
              admin_auth={"admin": users["admin"]}
              if lighttpd and owner != "web_server" else None,
              sign_in=users if owner == "web_server" else None,
              sample_app=people if owner == "backend" else None,
              ini={"identity": {"owner": owner},
                   **({"admin": {"users": "admin"}} if admin else {})})
    rig.settings["app"]["backend_key_file"] = rig.secret_file(
        "backend.key", backend_key + "\n")
    rig.write_config()
    rig.start_server()
    # InsureSign's tokens are JWTs: the admin page shows what they say.
    rig.mock.config(jwt=True)
    signed = " or ".join(f"{u} (password {p})" for u, p in people.items())
    admin = (f"{rig.url(BASE + '/admin')}   (user admin, password "
             f"{users['admin']})" if admin else "(lighttpd only in the demo)")
    curl = f"curl -H 'Authorization: Bearer {backend_key}'"
    if owner == "backend":
        what = f"""  Open  {rig.url('/app/')}   the sample web app (demo/app.py)
        Sign in as {signed}.
        Each connects their own InsureSign account; sign out, and the
        other one, on the same browser, is not connected.
  Admin {admin}
        both links, by user name

  What the sample app's backend asks, by hand:
    {curl} \\
         -d user=alice {rig.url(BASE + '/connect-tickets')}
    {curl} {rig.url(BASE + '/links/alice')}
    {curl} \\
         -H 'X-InsureSign-User: alice' {rig.url(BASE + '/token')}"""
    elif owner == "web_server":
        what = f"""  Open  {rig.url('/account')}   the sample web app's account page
        The web server asks who you are (HTTP Basic, conf/lighttpd-auth.conf
        or conf/apache-auth-basic.conf): {signed}.
        A browser keeps those until it quits: be the other user in a
        private window.
  Admin {admin}
        both links, by user name

  What your backend would ask:
    {curl} {rig.url(BASE + '/links/alice')}
    {curl} \\
         -H 'X-InsureSign-User: alice' {rig.url(BASE + '/token')}"""
    else:
        what = f"""  Open  {rig.url('/account')}   (the sample web app's account page)
        {rig.url(BASE + '/connect')}   (the program's own Connect page)
  Admin {admin}

  Once connected, what your backend would do (the session is the value of
  the insuresign_session cookie in your browser):
    {curl} \\
         -H 'X-InsureSign-Session: <session>' {rig.url(BASE + '/token')}"""
    others = " or ".join(f"make demo OWNER={o}" for o in DEMO_OWNERS
                         if o != owner)
    print(f"""
insuresign-connect demo is running: [identity] owner = {owner}.

{what}

  The mock InsureSign at {rig.mock.url} shows an Approve / Deny page.
  Files, logs and the token store are under {rig.out}.
  The other ways links can belong: {others}.
  Ctrl-C stops everything this started.
""", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    rig.stop()
    print("stopped.")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "demo":
        words = [a for a in sys.argv[2:] if not a.startswith("--owner=")]
        owners = [a[8:] for a in sys.argv[2:] if a.startswith("--owner=")]
        demo(int(words[0]) if words else 8080,
             words[1] if len(words) > 1 else "lighttpd",
             owners[-1] if owners and owners[-1] else "backend")
    else:
        print(__doc__)
