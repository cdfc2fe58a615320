"""How the program serves: what it takes from its command line, who may
talk to its own listener, and what a slow client can hold.

  CgiArgv         plain CGI through Apache (conf/apache-cgi.conf): a query
                  string without '=' becomes command-line words (RFC 3875
                  section 4.4); the program must serve, never run them
                  (lighttpd 1.4's mod_cgi passes no such words)
  UnixSocket      --listen unix: with --socket-mode and --socket-group:
                  the kernel refuses anyone else
  TcpListener     --listen on TCP and [::1], and a TCP socket from systemd:
                  REMOTE_USER is not believed without --trust-remote-user;
                  the address errors
  Pool            the prefork pool: slow bodies and parameters against it
                  (spoken FastCGI from here), a worker killed with kill -9,
                  systemd's socket across a restart
  SlowBodiesThroughApache
                  the same through Apache's mod_proxy_fcgi, which streams
                  the client's body as it comes

The tests that start the program themselves speak FastCGI to it with the
small client below (the FastCGI 1.0 specification, stdlib only).
"""

import grp
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
from pathlib import Path

from rig import BASE, PROGRAM, Rig, free_port, port_open, wait_for

ADMIN_KEY = "admin-key-abcdefghijklmnopqrstuvwxyz0123456789"

# FastCGI record types (FastCGI specification, section 8).
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7


def record(kind, content=b"", request_id=1):
    return struct.pack("!BBHHBx", 1, kind, request_id, len(content), 0) + \
        content


def name_values(params):
    out = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            out += bytes([n]) if n < 128 else struct.pack("!I", n | 1 << 31)
        out += k + v
    return out


class FastCGI:
    """One FastCGI request over one connection, as a web server sends it."""

    def __init__(self, address, timeout=5.0):
        family = socket.AF_UNIX if isinstance(address, str) else (
            socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(address)

    def params(self, method="GET", path="/status", body_length=None,
               **env):
        p = {"REQUEST_METHOD": method, "REQUEST_URI": BASE + path,
             "SCRIPT_NAME": BASE, "PATH_INFO": path, "QUERY_STRING": "",
             "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1",
             "REMOTE_ADDR": "127.0.0.1", "GATEWAY_INTERFACE": "CGI/1.1"}
        if body_length is not None:
            p["CONTENT_LENGTH"] = str(body_length)
            p["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        p.update(env)
        # Role 1, responder; flags 0: close the connection after it.
        return record(BEGIN_REQUEST, struct.pack("!HB5x", 1, 0)) + \
            record(PARAMS, name_values(p)) + record(PARAMS)

    def send(self, data):
        self.sock.sendall(data)

    def answer(self):
        """(status, headers dict, body) once END_REQUEST came; the status
        is None if the connection closed first."""
        out, data = b"", b""
        while True:
            while len(data) < 8:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return None, {}, out
                data += chunk
            _, kind, _, length, padding = struct.unpack("!BBHHBx", data[:8])
            while len(data) < 8 + length + padding:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return None, {}, out
                data += chunk
            content = data[8:8 + length]
            data = data[8 + length + padding:]
            if kind == STDOUT:
                out += content
            elif kind == END_REQUEST:
                break
        head, _, body = out.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1)
                       for line in head.decode().split("\r\n") if line)
        return int(headers.get("Status", "200").split()[0]), headers, body

    def close(self):
        self.sock.close()


def fcgi(address, method="GET", path="/status", body=b"", timeout=5.0,
         **env):
    """A whole request: (status, headers, body)."""
    c = FastCGI(address, timeout)
    try:
        c.send(c.params(method, path, len(body) if body else None, **env) +
               (record(STDIN, body) if body else b"") + record(STDIN))
        return c.answer()
    finally:
        c.close()


class Program:
    """The program on a listener of its own, started here: its log is in
    DIR/program.log.  Stopped (SIGTERM, then waited for) by stop(), and on
    any failure to start."""

    def __init__(self, rig, *args, name="program", user=None, umask=None,
                 env=None, pass_fds=(), preexec_fn=None, wait=True):
        self.log = rig.out / f"{name}.log"
        self.log.unlink(missing_ok=True)
        cmd = [str(PROGRAM), "--config", str(rig.ini), *args]
        extra = {}
        if user is not None:
            extra = {"user": user, "group": pwd.getpwnam(user).pw_gid,
                     "extra_groups": []}
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err, env=env, umask=-1 if umask is None else umask,
                pass_fds=pass_fds, preexec_fn=preexec_fn, **extra)
        if wait:
            try:
                wait_for(lambda: "listening with" in self.text() or
                         self.proc.poll() is not None,
                         what="the program to listen")
            except BaseException:
                self.stop()
                raise
            if self.proc.poll() is not None:
                raise RuntimeError("it did not start: " + self.text())

    def text(self):
        return self.log.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class CgiArgv(unittest.TestCase):
    maxDiff = None
    """Under mod_cgid, GET /insuresign/status?delete+3f9a runs the program
    as `insuresign-connect.fcgi delete 3f9a`.  Each such request must get
    the answer /status gives without the words, and do nothing else."""

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(cls.__name__, server="cgi")

    @classmethod
    def tearDownClass(cls):
        cls.rig.stop()

    def get(self, b, query, timeout=20):
        """GET /status?QUERY with b's cookies; (status, JSON or None)."""
        u = urllib.parse.urlsplit(self.rig.url(BASE + "/status"))
        conn = socket.create_connection((u.hostname, u.port), timeout=timeout)
        try:
            cookie = "insuresign_session=" + b.cookie("insuresign_session")
            conn.sendall(f"GET {u.path}?{query} HTTP/1.0\r\n"
                         f"Host: {u.netloc}\r\nCookie: {cookie}\r\n\r\n"
                         .encode())
            data = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            conn.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body

    def left_nothing_running(self):
        """Every CGI process is gone: none of them became a server."""
        try:
            wait_for(lambda: not self.rig._program_pids(), timeout=3)
            return True
        except TimeoutError:
            return False

    def test_argv_words_are_never_commands(self):
        rig = self.rig
        b, sid = rig.link()
        records = rig.records()
        self.assertEqual(len(records), 1)
        prefix = records[0].name[:8]
        token = rig.mock.tokens()["access_tokens"][-1]
        want = self.get(b, "")
        self.assertEqual(want[0], 200)
        self.assertIn(b'"connected":true', want[1].replace(b" ", b""))
        keyfile = f"/tmp/isc-argv-{secrets.token_hex(6)}"
        port = free_port()
        queries = [
            "list", "list+--json", f"show+{prefix}", f"delete+{prefix}",
            f"refresh+{prefix}", "gc", "rekey", f"keygen+{keyfile}",
            "check-config", f"--listen+127.0.0.1:{port}",
            f"--listen+127.0.0.1:{port}+--workers+4", "--config+/etc/passwd",
            f"token+--session+{sid}", f"--session+{sid}+token", "--help",
            "--bogus",
        ]
        rig.mock.reset(keep_grants=True)
        wrong = []
        try:
            for q in queries:
                try:
                    got = self.get(b, q, timeout=10)
                except socket.timeout:
                    got = ("no answer in 10 s", b"")
                if got != want:
                    wrong.append(f"?{q}: {got[0]} {got[1][:80]!r}")
                if not self.left_nothing_running():
                    wrong.append(f"?{q}: left a process running")
            self.assertEqual(wrong, [], "\n".join(wrong))
            self.assertFalse(port_open(port), "a listener was started")
            self.assertEqual(rig.records(), records, "a record changed")
            self.assertFalse(os.path.exists(keyfile), "keygen ran")
            self.assertEqual(rig.mock.token_requests(), 0, "a refresh ran")
            logs = rig.logs()
            self.assertNotIn(token, logs)
            self.assertNotIn(token[:12], logs)
            self.assertNotIn("root:x:0:0", logs)
        finally:
            if os.path.exists(keyfile):
                os.unlink(keyfile)
            for pid in rig._program_pids():
                rig._kill_straggler(pid, "a server started through argv")



def children(pid):
    """The live processes whose parent is pid."""
    kids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            st = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(st[1]) == pid and st[0] != "Z":
            kids.append(int(d.name))
    return sorted(kids)


class ListenerTest(unittest.TestCase):
    """A rig for the config, the store and the mock; the program is
    started by each test, on an address it chooses."""

    ini = {}

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(cls.__name__, start=False, ini=cls.ini)
        cls.rig.settings.setdefault("admin", {})["key_file"] = \
            cls.rig.secret_file("admin.key", ADMIN_KEY + "\n")
        cls.rig.write_config()

    @classmethod
    def tearDownClass(cls):
        cls.rig.stop()

    def setUp(self):
        # Not under tests/out: a second user must reach the socket.
        self.dir = tempfile.mkdtemp(prefix="isc-serve-")
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "fcgi.sock")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def refused(self, *args):
        """Runs the program with args; (exit status, stderr)."""
        r = subprocess.run([str(PROGRAM), "--config", str(self.rig.ini),
                            *args], capture_output=True, text=True,
                           timeout=20, stdin=subprocess.DEVNULL)
        return r.returncode, r.stderr


class UnixSocket(ListenerTest):

    def connect_as(self, user, groups=()):
        """connect(2) to the socket as user with groups: "ok" or the
        errno's name."""
        code = ("import errno, socket, sys\n"
                "s = socket.socket(socket.AF_UNIX)\n"
                "try:\n"
                "    s.connect(sys.argv[1]); print('ok')\n"
                "except OSError as e:\n"
                "    print(errno.errorcode[e.errno])\n")
        # The system python: a pyenv one under /root is not theirs to run.
        python = shutil.which("python3", path="/usr/bin:/bin")
        r = subprocess.run([python, "-c", code, self.path],
                           user=user, group=pwd.getpwnam(user).pw_gid,
                           extra_groups=[grp.getgrnam(g).gr_gid
                                         for g in groups],
                           capture_output=True, text=True, timeout=20,
                           cwd="/")
        return r.stdout.strip() or r.stderr

    def test_only_the_socket_group_may_connect(self):
        # umask 0, as a careless service manager might leave it: the
        # mode is what --socket-mode says, whatever the umask.
        with Program(self.rig, "--listen", "unix:" + self.path,
                     "--socket-mode", "0660", "--socket-group", "www-data",
                     umask=0):
            st = os.lstat(self.path)
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual(oct(stat.S_IMODE(st.st_mode)), oct(0o660))
            self.assertEqual(st.st_gid, grp.getgrnam("www-data").gr_gid)
            # nobody is in no group of the socket's: the kernel says no.
            self.assertEqual(self.connect_as("nobody"), "EACCES")
            self.assertEqual(self.connect_as("nobody", ["www-data"]), "ok")
            self.assertEqual(fcgi(self.path)[0], 200)
        self.assertFalse(os.path.exists(self.path))

    def test_0600_lets_in_only_the_owner(self):
        with Program(self.rig, "--listen", "unix:" + self.path,
                     "--socket-mode", "0600", "--socket-group", "www-data",
                     umask=0):
            self.assertEqual(stat.S_IMODE(os.lstat(self.path).st_mode),
                             0o600)
            self.assertEqual(self.connect_as("nobody", ["www-data"]),
                             "EACCES")
            self.assertEqual(fcgi(self.path)[0], 200)    # root, the owner

    def test_default_mode_is_0660_whatever_the_umask(self):
        with Program(self.rig, "--listen", "unix:" + self.path, umask=0):
            st = os.lstat(self.path)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
            self.assertEqual(st.st_gid, os.getgid())
            self.assertEqual(self.connect_as("nobody"), "EACCES")

    def test_a_stale_socket_is_replaced_never_another_file(self):
        # A socket left by a run that was killed: the next start takes
        # its place (and a group given by number is that group).
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(self.path)
        stale.close()
        gid = grp.getgrnam("www-data").gr_gid
        with Program(self.rig, "--listen", "unix:" + self.path,
                     "--socket-group", str(gid)):
            self.assertEqual(os.lstat(self.path).st_gid, gid)
            self.assertEqual(fcgi(self.path)[0], 200)
        # Any other file there is not ours to remove.
        with open(self.path, "w") as f:
            f.write("keep me")
        try:
            rc, err = self.refused("--listen", "unix:" + self.path)
            self.assertEqual(rc, 1, err)
            self.assertIn(f"--listen unix:{self.path}: Address already in "
                          "use", err)
            with open(self.path) as f:
                self.assertEqual(f.read(), "keep me")
        finally:
            os.unlink(self.path)

    def test_modes_open_to_others_and_unknown_groups_are_refused(self):
        for args, status, want in (
                (["--socket-mode", "0666"], 2, "nothing for others"),
                (["--socket-mode", "0662"], 2, "nothing for others"),
                (["--socket-mode", "rw"], 2, "an octal mode"),
                (["--socket-mode", "4660"], 2, "an octal mode"),
                (["--socket-group", "no-such-group-here"], 1,
                 "--socket-group no-such-group-here: no such group")):
            rc, err = self.refused("--listen", "unix:" + self.path, *args)
            self.assertEqual(rc, status, err)
            self.assertIn(want, err)
            self.assertFalse(os.path.exists(self.path))


class TcpListener(ListenerTest):
    """[admin] users = alice, and the admin key: on TCP anyone local can
    connect and send REMOTE_USER=alice."""

    ini = {"admin": {"users": "alice"}}

    def admin(self, address, **env):
        return fcgi(address, path="/admin", **env)[0]

    def test_remote_user_is_not_believed_on_tcp(self):
        port = free_port()
        with Program(self.rig, "--listen", f"127.0.0.1:{port}",
                     "--workers", "1") as p:
            a = ("127.0.0.1", port)
            self.assertEqual(self.admin(a, REMOTE_USER="alice"), 401)
            self.assertEqual(self.admin(a), 401)
            # The bearer key still works.
            self.assertEqual(self.admin(
                a, HTTP_AUTHORIZATION="Bearer " + ADMIN_KEY), 200)
            self.assertIn("REMOTE_USER is not believed on a TCP socket",
                          p.text())

    def test_trust_remote_user_is_the_operators_choice(self):
        port = free_port()
        with Program(self.rig, "--listen", f"127.0.0.1:{port}",
                     "--workers", "1", "--trust-remote-user") as p:
            a = ("127.0.0.1", port)
            self.assertEqual(self.admin(a, REMOTE_USER="alice"), 200)
            self.assertEqual(self.admin(a, REMOTE_USER="mallory"), 403)
            self.assertNotIn("not believed", p.text())

    def test_ipv6_loopback(self):
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
            port = s.getsockname()[1]
        with Program(self.rig, "--listen", f"[::1]:{port}",
                     "--workers", "1"):
            self.assertEqual(fcgi(("::1", port))[0], 200)
            self.assertEqual(self.admin(("::1", port), REMOTE_USER="alice"),
                             401)

    def test_a_tcp_socket_from_systemd_is_tcp_too(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        port = sock.getsockname()[1]

        def as_systemd():       # in the child, before exec
            os.dup2(sock.fileno(), 3)
            os.environ["LISTEN_FDS"] = "1"
            os.environ["LISTEN_PID"] = str(os.getpid())

        try:
            with Program(self.rig, "--workers", "1", pass_fds=(3,),
                         preexec_fn=as_systemd):
                a = ("127.0.0.1", port)
                self.assertEqual(self.admin(a, REMOTE_USER="alice"), 401)
                self.assertEqual(fcgi(a)[0], 200)
        finally:
            sock.close()

    def test_address_errors(self):
        with socket.socket(socket.AF_INET6) as busy:
            busy.bind(("::1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            form = "expected unix:/path, 127.0.0.1:PORT or [::1]:PORT"
            for addr, want in (
                    ("localhost:9000", "not an IP address"),
                    ("[::1]x:9000", "not an IP address"),
                    ("127.0.0.1", form), ("127.0.0.1:0", form),
                    ("127.0.0.1:65536", form), ("[::1]:http", form),
                    ("unix:fcgi.sock", "expected unix:/absolute/path"),
                    (f"[::1]:{port}", "Address already in use"),
                    ("192.0.2.1:9000", "Cannot assign requested address"),
                    ("unix:/nonexistent-dir/x.sock",
                     "No such file or directory")):
                rc, err = self.refused("--listen", addr)
                self.assertEqual(rc, 1, (addr, err))
                self.assertIn(f"--listen {addr}: {want}", err)
        # Nothing to listen on at all: the usage, status 2.
        rc, err = self.refused()
        self.assertEqual(rc, 2)
        self.assertIn("usage:", err)
        rc, err = self.refused("--workers", "2")
        self.assertEqual(rc, 2)
        # LISTEN_FDS for another process, or too many, or no socket on
        # fd 3: systemd's socket is not ours, and it says what it wanted.
        for env in ({"LISTEN_FDS": "1", "LISTEN_PID": "1"},
                    {"LISTEN_FDS": "2", "LISTEN_PID": "$$"},
                    {"LISTEN_FDS": "1", "LISTEN_PID": "$$"},
                    {"LISTEN_FDS": "1"}):
            sets = " ".join(f"{k}={v}" for k, v in env.items())
            r = subprocess.run(
                ["sh", "-c", f'{sets} exec "$0" --config "$1" 3</dev/null',
                 str(PROGRAM), str(self.rig.ini)], capture_output=True,
                text=True, timeout=20, stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 1, (env, r.stderr))
            self.assertIn("no --listen ADDR, and no socket from systemd "
                          "(LISTEN_PID, LISTEN_FDS=1)", r.stderr, env)
        # Each number out of its range: the option, the value, the range.
        for opt, value, want in (
                ("--workers", "0", "1 to 256"),
                ("--max-workers", "257", "1 to 256"),
                ("--request-timeout", "0", "1 to 3600 (seconds)"),
                ("--request-timeout", "3601", "1 to 3600 (seconds)")):
            rc, err = self.refused("--listen", "127.0.0.1:9", opt, value)
            self.assertEqual((rc, err), (2, f"{opt} {value}: expected "
                                         f"{want}\n"))
        r = subprocess.run([str(PROGRAM), "--help"], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertIn("--listen ADDR", r.stdout)


class Trickle:
    """Connections that announced a body and send it a byte a second."""

    def __init__(self, conns, chunk):
        self.conns = conns
        self.chunk = chunk
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        while not self.stop.wait(1.0):
            for c in self.conns:
                try:
                    c(self.chunk)
                except OSError:
                    pass

    def end(self):
        self.stop.set()
        self.thread.join()


class Pool(ListenerTest):
    """The prefork pool, spoken to over its unix socket: --workers 2 and a
    deadline of 2 seconds."""

    timeout = 2

    def start(self, *args):
        return Program(self.rig, "--listen", "unix:" + self.path,
                       "--workers", "2", "--request-timeout",
                       str(self.timeout), *args)

    def slow_bodies(self, n):
        """n POSTs that announce 64 bytes and send one."""
        conns = []
        for _ in range(n):
            c = FastCGI(self.path, timeout=15)
            c.send(c.params("POST", "/disconnect", body_length=64) +
                   record(STDIN, b"c"))
            conns.append(c)
        return conns

    def status_times(self, seconds):
        """GET /status every 0.2 s for seconds: the slowest answer."""
        worst = 0.0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t0 = time.monotonic()
            self.assertEqual(fcgi(self.path, timeout=5)[0], 200)
            worst = max(worst, time.monotonic() - t0)
            time.sleep(0.2)
        return worst

    def test_slow_bodies_hold_no_pool(self):
        with self.start() as p:
            self.assertIn("listening with 2 workers, up to 32", p.text())
            slow = self.slow_bodies(3)
            trickle = Trickle([c.send for c in slow], record(STDIN, b"s"))
            try:
                # Before their deadline and after it: /status answers.
                worst = self.status_times(self.timeout + 1.5)
                self.assertLess(worst, 1.0)
                # Each slow one got 408 at its deadline, and no more.
                for c in slow:
                    t0 = time.monotonic()
                    self.assertEqual(c.answer()[0], 408)
                    self.assertLess(time.monotonic() - t0, 1.0)
            finally:
                trickle.end()
                for c in slow:
                    c.close()
            grown = len(children(p.proc.pid))
            self.assertGreaterEqual(grown, 4)
            # Those beyond the two kept leave after 10 s without a request.
            wait_for(lambda: len(children(p.proc.pid)) == 2, timeout=20,
                     what="the pool to shrink")

    def test_slow_parameters_end_at_the_deadline(self):
        begin = record(BEGIN_REQUEST, struct.pack("!HB5x", 1, 0))
        # Stalled between two parameters: libfcgi hands the request over
        # as it stands, and it gets 408.  Stalled inside one: libfcgi
        # closes the connection.
        stalls = [(begin + b"\x01\x04\x00", 408),
                  (begin + struct.pack("!BBHHBx", 1, PARAMS, 1, 10, 0) +
                   b"\x05", None)] * 2
        with self.start():
            slow = []
            for data, _ in stalls:
                c = FastCGI(self.path, timeout=15)
                c.send(data)
                slow.append(c)
            t0 = time.monotonic()
            try:
                self.assertLess(self.status_times(1.0), 1.0)
                for c, (_, want) in zip(slow, stalls):
                    self.assertEqual(c.answer()[0], want)
                self.assertLess(time.monotonic() - t0, self.timeout + 1.5)
            finally:
                for c in slow:
                    c.close()

    def test_a_get_never_waits_for_a_body(self):
        with self.start():
            c = FastCGI(self.path)
            try:
                # 100 bytes announced, none sent, and the stream kept open.
                c.send(c.params("GET", "/status", body_length=100))
                t0 = time.monotonic()
                self.assertEqual(c.answer()[0], 200)
                self.assertLess(time.monotonic() - t0, 1.0)
            finally:
                c.close()

    def test_the_pool_stops_at_max_workers(self):
        with self.start("--workers", "1", "--max-workers", "3") as p:
            slow = self.slow_bodies(5)
            try:
                time.sleep(0.5)
                self.assertEqual(len(children(p.proc.pid)), 3)
            finally:
                for c in slow:
                    c.close()
        rc, err = self.refused("--listen", "unix:" + self.path,
                               "--workers", "4", "--max-workers", "3")
        self.assertEqual(rc, 2)
        self.assertIn("--max-workers 3: expected at least --workers (4)",
                      err)

    def test_a_worker_killed_is_replaced(self):
        with self.start() as p:
            before = children(p.proc.pid)
            self.assertEqual(len(before), 2)
            os.kill(before[0], signal.SIGKILL)
            wait_for(lambda: len(children(p.proc.pid)) == 2 and
                     before[0] not in children(p.proc.pid), timeout=5,
                     what="a new worker")
            self.assertIn(f"worker {before[0]} died of signal 9: "
                          "replacing it", p.text())
            self.assertEqual(fcgi(self.path)[0], 200)
            # The other one still serves: the pool was not restarted.
            self.assertIn(before[1], children(p.proc.pid))

    def test_systemds_socket_outlives_a_restart(self):
        """systemd keeps its socket across restarts of the service
        (conf/insuresign-connect.socket): stopping must not shut it."""
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(self.path)
        sock.listen(16)

        def as_systemd():       # in the child, before exec
            os.dup2(sock.fileno(), 3)
            os.environ["LISTEN_FDS"] = "1"
            os.environ["LISTEN_PID"] = str(os.getpid())

        try:
            for _ in range(2):
                with Program(self.rig, "--workers", "2", pass_fds=(3,),
                             preexec_fn=as_systemd) as p:
                    self.assertEqual(fcgi(self.path)[0], 200)
                self.assertEqual(p.proc.returncode, 0)
            # Between restarts, systemd's socket still takes connections.
            with socket.socket(socket.AF_UNIX) as c:
                c.connect(self.path)
        finally:
            sock.close()


class SlowBodiesThroughApache(unittest.TestCase):
    """mod_proxy_fcgi hands the client's body over as it comes, so a slow
    client holds a worker: three of them against --workers 2."""

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(cls.__name__, server="apache-proxy-fcgi",
                      program_args=["--request-timeout", "3"])

    @classmethod
    def tearDownClass(cls):
        cls.rig.stop()

    def test_three_slow_bodies_against_two_workers(self):
        rig = self.rig
        slow = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", rig.port), timeout=20)
            s.sendall(f"POST {BASE}/disconnect HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{rig.port}\r\n"
                      "Content-Type: application/x-www-form-urlencoded\r\n"
                      "Content-Length: 64\r\nConnection: close\r\n\r\nc"
                      .encode())
            slow.append(s)
        trickle = Trickle([s.sendall for s in slow], b"s")
        try:
            worst = 0.0
            end = time.monotonic() + 5
            while time.monotonic() < end:
                b = rig.browser()
                t0 = time.monotonic()
                r = b.get(rig.url(BASE + "/status"), nav=False)
                worst = max(worst, time.monotonic() - t0)
                self.assertEqual(r.status, 200)
                time.sleep(0.25)
            self.assertLess(worst, 1.0)
            for s in slow:
                head = s.recv(65536).decode(errors="replace")
                self.assertRegex(head, r"^HTTP/1\.1 408 ")
        finally:
            trickle.end()
            for s in slow:
                s.close()


if __name__ == "__main__":
    unittest.main()
