#!/usr/bin/env python3
"""The test rig: real web servers, the program, and the mock InsureSign.

A Rig starts, on loopback and in its own directory under tests/out/:
  - the mock InsureSign (tests/mock/insuresign_mock.py) over https, with a
    CA made at test time that the program trusts through [insuresign] ca_file;
  - a key, a store and a config for the program;
  - a web server running the program as it would run in production (the
    shipped file from conf/, with only paths and ports replaced).
A Browser speaks HTTP like a browser: a cookie jar, redirects on request,
navigation headers.

`python3 tests/rig.py demo [PORT]` runs the same rig for a person (make demo).
"""

import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("ISC_TEST_OUT", ROOT / "tests" / "out"))
# ISC_PROGRAM picks another build (the sanitizer build, say).
PROGRAM = Path(os.environ.get("ISC_PROGRAM",
                              ROOT / "cgi-bin" / "insuresign-connect.fcgi"))
CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
BASE = "/insuresign"

# What a browser sends for a top-level navigation (Fetch Metadata).
NAVIGATE = {"Accept": "text/html,application/xhtml+xml",
            "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none"}


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

    def __init__(self, cafile=None):
        self.jar = {}           # (name, path) -> (value, secure)
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.history = []

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
                                            context=self.ctx, timeout=60)
                if https else
                http.client.HTTPConnection(u.hostname, u.port, timeout=60))
        path = u.path + ("?" + u.query if u.query else "")
        h = dict(headers or {})
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

    def __init__(self, out, redirect_uris, issuer=None, tls=True):
        self.out = out
        self.tls = tls
        c = certs()
        port_file = out / "mock.port"
        port_file.unlink(missing_ok=True)
        cmd = [sys.executable, str(ROOT / "tests/mock/insuresign_mock.py"),
               "--listen", "127.0.0.1:0", "--port-file", str(port_file),
               "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
        if tls:
            cmd += ["--cert", str(c / "server.pem"),
                    "--key", str(c / "server.key")]
        for u in redirect_uris:
            cmd += ["--redirect-uri", u]
        if issuer:
            cmd += ["--issuer", issuer]
        self.log_file = open(out / "mock.log", "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.log_file)
        wait_for(port_file.exists, what="the mock to listen")
        self.port = int(port_file.read_text())
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.ctx = ssl.create_default_context(cafile=str(c / "ca.pem"))

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


def replace_vars(text, values):
    """Sets `var.NAME = ...` lines of a lighttpd config (the shipped ones)."""
    for name, value in values.items():
        v = value if isinstance(value, int) else json.dumps(str(value))
        text, n = re.subn(rf"(?m)^var\.{name}\s*=.*$", f"var.{name} = {v}",
                          text)
        if n != 1:
            raise ValueError(f"var.{name} not found exactly once")
    return text


def write_ini(path, sections):
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
    path.write_text("\n".join(lines))


class Rig:
    """One whole deployment on loopback.  Use as a context manager."""

    def __init__(self, name, server="lighttpd", ini=None, port=None,
                 issuer=None, keep_store=False, admin_auth=None):
        self.name = name
        self.server = server
        self.out = OUT / name
        self.procs = []
        if not keep_store and self.out.exists():
            subprocess.run(["rm", "-rf", str(self.out)], check=True)
        self.out.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.redirect_uri = self.origin + BASE + "/callback"
        self.mock = Mock(self.out, [self.redirect_uri], issuer=issuer)
        self.store = self.out / "store"
        self.store.mkdir(mode=0o700, exist_ok=True)
        self.key = self.out / "store.key"
        if not self.key.exists():
            self.cli("keygen", str(self.key), config=False)
        self.ini = self.out / "insuresign-connect.ini"
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
                    "return_to_allowed": "/account, /settings"},
            "session": {},
            "store": {"dir": self.store, "key_file": self.key},
        }
        for section, keys in (ini or {}).items():
            self.settings.setdefault(section, {}).update(keys)
        self.write_config()
        self.error_log = self.out / "lighttpd-error.log"
        # {user: password}: the web server asks for these on /admin and
        # passes REMOTE_USER (lighttpd mod_auth), as an operator would set.
        self.admin_auth = admin_auth
        self.start_server()

    def write_config(self):
        write_ini(self.ini, self.settings)

    def secret_file(self, name, content):
        """A 0600 file under the rig's directory (keys, secrets)."""
        path = self.out / name
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, content.encode() if isinstance(content, str)
                 else content)
        os.close(fd)
        return path

    # -- web servers ---------------------------------------------------

    def restart_server(self):
        """Stops the web server (and its workers), starts it again: the
        program reads its config once, at start."""
        for p in self.procs:
            p.terminate()
            p.wait(10)
        self.procs.clear()
        wait_for(lambda: not port_open(self.port), what="the port to free")
        self.start_server()

    def start_server(self):
        if self.server == "lighttpd":
            self.start_lighttpd("lighttpd.conf", {
                "insuresign_base": BASE,
                "insuresign_program": PROGRAM,
                "insuresign_config": self.ini,
                "insuresign_socket": self.out / "fcgi.sock",
            })
        else:
            raise ValueError(f"unknown server {self.server}")

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
        extra.write_text("\n".join(lines) + "\n")
        site = replace_vars((ROOT / "demo/lighttpd-site.conf").read_text(), {
            "site_port": self.port, "site_root": ROOT / "demo",
            "site_run": self.out, "site_include": self.out / conf_name,
            "site_extra": extra})
        (self.out / "lighttpd-site.conf").write_text(site)
        proc = subprocess.Popen(
            ["lighttpd", "-D", "-f", str(self.out / "lighttpd-site.conf")],
            stdout=subprocess.DEVNULL,
            stderr=open(self.out / "lighttpd-stderr.log", "wb"))
        self.procs.append(proc)
        wait_for(lambda: port_open(self.port) or proc.poll() is not None,
                 what="lighttpd to listen")
        if proc.poll() is not None:
            raise RuntimeError("lighttpd did not start: " +
                               (self.out / "lighttpd-stderr.log").read_text())

    # -- helpers for tests ---------------------------------------------

    def url(self, path):
        return self.origin + path

    def browser(self):
        return Browser(cafile=str(certs() / "ca.pem"))

    def cli(self, *args, config=True, check=True, env=None):
        cmd = [str(PROGRAM), *args]
        if config:
            cmd += ["--config", str(self.ini)]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=60)
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
        """The program's processes this rig's servers run now."""
        parents = {p.pid for p in self.procs}
        pids = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                exe = os.readlink(d / "exe")
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1]
                           .split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if exe == str(PROGRAM.resolve()) and ppid in parents:
                pids.append(int(d.name))
        return pids

    def logs(self):
        """Everything the server and the program wrote to their logs."""
        text = ""
        for f in sorted(self.out.glob("*.log")):
            if f.name != "mock.log":
                text += f.read_text(errors="replace")
        return text

    def records(self):
        return sorted(p for p in self.store.glob("??/*")
                      if re.fullmatch(r"[0-9a-f]{64}", p.name))

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()
        self.mock.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def demo(port):
    """make demo: the rig, for a person, until Ctrl-C."""
    os.environ.setdefault("ISC_TEST_OUT", str(ROOT / "run"))
    global OUT
    OUT = Path(os.environ["ISC_TEST_OUT"])
    rig = Rig("demo", port=port)
    print(f"""
insuresign-connect demo is running.

  Open  {rig.url('/account')}   (the sample web app's account page)
        {rig.url(BASE + '/connect')}   (the program's own Connect page)

  The mock InsureSign at {rig.mock.url} shows an Approve / Deny page.
  Files, logs and the token store are under {rig.out}.
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
        demo(int(sys.argv[2]) if len(sys.argv) > 2 else 8080)
    else:
        print(__doc__)
