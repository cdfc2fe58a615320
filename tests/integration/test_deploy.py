"""Every way of running the program, tested with the flow suite's own tests.

test_flow.py runs under conf/lighttpd.conf (lighttpd spawning the program).
Here the same tests (the classes of test_flow.py, not copies) run once per
other deployment, each with the shipped conf/ file used as-is:

  LighttpdSocket   lighttpd, mod_fastcgi to the program's own --listen
                   socket (conf/lighttpd-socket.conf)
  ApacheFcgid      Apache, mod_fcgid spawning it (conf/apache-fcgid.conf)
  ApacheProxyFcgi  Apache, mod_proxy_fcgi to its --listen socket
                   (conf/apache-proxy-fcgi.conf)
  Cgi              Apache, mod_cgid: one process per request
                   (conf/apache-cgi.conf)

Each runs all of ConnectFlow, BadCallbacks and Requests, the failed
reconnect of TokenEndpointFaults (the fault path through each server),
GET /token with a bearer key (Authorization must reach the program:
FcgidPassHeader, CGIPassAuth), and a restart.  One rig per class.

Then: behind an https front that terminates TLS (BehindTlsProxy), started
the way systemd's socket activation starts it (SystemdSocket), and the
systemd units themselves (SystemdUnits).
"""

import http.client
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import test_flow
from rig import BASE, NAVIGATE, PROGRAM, ROOT, Rig

SESSION = test_flow.SESSION
PENDING = test_flow.PENDING


class Deployed(test_flow.FlowTest):
    """One rig per class, /token on: a backend key in the config from the
    start, so that the server starts once."""

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(cls.__name__, backend_key=True, **cls.rig_options)
        cls.addClassCleanup(cls.rig.stop)

    def token(self, sid, **kw):
        return self.rig.token(sid, **kw)


class BackendToken:
    """A mixin (not a TestCase of its own): GET /token through the server."""

    def test_backend_token_with_a_bearer_key(self):
        self.assertEqual(self.rig.connect(self.b).status, 303)
        sid = self.b.cookie(SESSION)
        r = self.token(sid)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["access_token"],
                         self.rig.mock.tokens()["access_tokens"][-1])
        self.assertEqual(r.header("Cache-Control"), "no-store")
        # The key is what decides: a wrong one, or none, gets 401.
        self.assertEqual(self.token(sid, key="wrong" * 10).status, 401)
        r = self.token(sid, key=None)
        self.assertEqual(r.status, 401)
        self.assertIn("Bearer", r.header("WWW-Authenticate", ""))


class Restart:
    """A mixin: Rig.restart_server() under this server, and the program's
    log lines reaching Rig.logs()."""

    def test_restart_keeps_the_link_and_leaves_no_worker(self):
        self.assertEqual(self.rig.connect(self.b).status, 303)
        self.assertIn("linked record=", self.rig.logs())
        before = self.rig.worker_pids() + [p.pid for p in self.rig.procs]
        self.rig.restart_server()
        for pid in before:
            try:
                state = Path(f"/proc/{pid}/stat").read_text() \
                    .rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                continue
            self.assertEqual(state, "Z", f"pid {pid} still runs")
        # The server (or the program) stopped them all itself: the rig
        # had nothing left to kill.
        self.assertFalse((self.rig.out / "stragglers.txt").exists())
        self.assertTrue(self.status()["connected"])


# The flow suite's classes, whole: about 30 tests, a few seconds a server.
FLOW = (test_flow.ConnectFlow, test_flow.BadCallbacks, test_flow.Requests)
# Of TokenEndpointFaults only this one: test_each_fault waits out a hanging
# token endpoint ([http] timeout), which says nothing about the web server.
FAULT = test_flow.TokenEndpointFaults.test_a_failed_reconnect_keeps_the_old_link


class LighttpdSocket(Deployed, BackendToken, Restart, *FLOW):
    rig_options = {"server": "lighttpd-socket"}
    test_a_failed_reconnect_keeps_the_old_link = FAULT


class ApacheFcgid(Deployed, BackendToken, Restart, *FLOW):
    rig_options = {"server": "apache-fcgid"}
    test_a_failed_reconnect_keeps_the_old_link = FAULT

    def test_workers_run_as_apaches_user(self):
        self.rig.connect(self.b)
        pids = self.rig.worker_pids()
        self.assertGreaterEqual(len(pids), 1)
        self.assertLessEqual(len(pids), 4)   # FcgidMaxProcessesPerClass
        if self.rig.run_user:
            for pid in pids:
                self.assertEqual(os.stat(f"/proc/{pid}").st_uid,
                                 self.rig.run_user[0])


class ApacheProxyFcgi(Deployed, BackendToken, Restart, *FLOW):
    rig_options = {"server": "apache-proxy-fcgi"}
    test_a_failed_reconnect_keeps_the_old_link = FAULT


class Cgi(Deployed, BackendToken, Restart, *FLOW):
    rig_options = {"server": "cgi"}
    test_a_failed_reconnect_keeps_the_old_link = FAULT

    def test_a_process_per_request(self):
        self.rig.connect(self.b)
        self.assertEqual(self.rig.worker_pids(), [])
        pids = set(re.findall(r"insuresign-connect\[(\d+)\]",
                              self.rig.logs()))
        self.assertGreaterEqual(len(pids), 1)


def cookies(headers):
    """{name: Set-Cookie value} of a response's headers."""
    return {c.split("=", 1)[0]: c for c in headers}


class BehindTlsProxy(Deployed):
    """An https front (Apache, mod_ssl, mod_proxy_http: see
    tests/conf/apache-tls-front.conf) before lighttpd, which the program
    trusts through [app] trusted_proxies = 127.0.0.1."""

    rig_options = {"server": "lighttpd", "front": "apache-tls"}

    # Over https, end to end: redirect_uri is the front's https URL.
    test_whole_flow_as_a_browser = \
        test_flow.ConnectFlow.test_whole_flow_as_a_browser
    test_replayed_callback_makes_no_second_token_request = \
        test_flow.BadCallbacks.test_replayed_callback_makes_no_second_token_request
    test_foreign_state = test_flow.BadCallbacks.test_foreign_state

    def test_the_flow_is_https(self):
        self.assertTrue(self.rig.origin.startswith("https://"))
        self.assertTrue(self.rig.redirect_uri.startswith("https://"))
        auth = self.start()
        self.assertEqual(test_flow.query(auth)["redirect_uri"],
                         self.rig.redirect_uri)
        cb = self.approve(auth)
        self.assertTrue(cb.startswith(self.rig.origin + BASE + "/callback?"))
        self.assertEqual(self.b.get(cb).status, 303)
        self.assertTrue(self.status()["connected"])

    def test_secure_cookies_through_the_front(self):
        r = self.b.get(self.url("/connect/start"))
        self.assertEqual(r.status, 302, r.text)
        c = cookies(r.all("Set-Cookie"))
        self.assertNotIn(SESSION, c)
        s = c["__Host-" + SESSION]
        self.assertIn("; Secure", s)
        self.assertIn("Path=/;", s + ";")
        self.assertNotIn("Domain", s)
        p = c["__Secure-" + PENDING]
        self.assertIn("; Secure", p)
        self.assertIn("Path=" + BASE + "/", p)

    def direct(self, source):
        """connect/start straight to lighttpd, from SOURCE, claiming https
        as the front does; returns the Set-Cookie values by name."""
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.rig.server_port, timeout=10,
            source_address=(source, 0))
        try:
            conn.request("GET", BASE + "/connect/start", headers={
                **NAVIGATE, "X-Forwarded-Proto": "https"})
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 302)
            return cookies(r.headers.get_all("Set-Cookie") or [])
        finally:
            conn.close()

    def test_forwarded_proto_from_an_untrusted_address_is_ignored(self):
        # 127.0.0.2 is loopback too, but not in trusted_proxies.
        c = self.direct("127.0.0.2")
        self.assertIn(SESSION, c)
        self.assertIn(PENDING, c)
        for v in c.values():
            self.assertNotIn("Secure", v)
        # The same request from the trusted address is believed: the
        # address decides, not the header.
        c = self.direct("127.0.0.1")
        self.assertIn("; Secure", c["__Host-" + SESSION])


class SystemdSocket(Deployed, BackendToken, Restart):
    """Started as systemd starts conf/insuresign-connect.service for
    conf/insuresign-connect.socket: the rig binds the socket, forks, puts
    it at fd 3, sets LISTEN_FDS=1 and LISTEN_PID to the child's pid, and
    execs the program with --workers 2 and no --listen; lighttpd
    (conf/lighttpd-socket.conf) connects to that socket."""

    rig_options = {"server": "lighttpd-socket", "activation": "systemd"}

    test_whole_flow_as_a_browser = \
        test_flow.ConnectFlow.test_whole_flow_as_a_browser

    def test_the_program_serves_the_socket_it_was_handed(self):
        self.assertEqual(self.rig.connect(self.b).status, 303)
        program = self.rig.procs[0]      # started before lighttpd
        self.assertEqual(os.readlink(f"/proc/{program.pid}/exe"),
                         str(PROGRAM.resolve()))
        handed = f"socket:[{self.rig.activated_inode}]"
        workers = self.rig.worker_pids()
        self.assertEqual(len(workers), 2)
        for pid in [program.pid] + workers:
            self.assertEqual(os.readlink(f"/proc/{pid}/fd/3"), handed)
        # The supervisor holds no socket but that one: it bound nothing.
        # (A worker may also hold the request's connection, or curl's.)
        socks = [os.readlink(f"/proc/{program.pid}/fd/{fd}")
                 for fd in os.listdir(f"/proc/{program.pid}/fd")]
        self.assertEqual([s for s in socks if s.startswith("socket:")],
                         [handed])
        self.assertIn("listening with 2 workers", self.rig.logs())


class SystemdUnits(unittest.TestCase):
    """conf/insuresign-connect.service and .socket (no systemd runs here:
    SystemdSocket starts the program as it would)."""

    units = ROOT / "conf"

    def keys(self, name):
        out = {}
        for line in (self.units / name).read_text().splitlines():
            m = re.match(r"^([A-Za-z]+)=(.*)$", line)
            if m:
                out.setdefault(m.group(1), []).append(m.group(2))
        return out

    def test_hardening(self):
        k = self.keys("insuresign-connect.service")
        for key, value in [("User", "insuresign-connect"),
                           ("ProtectSystem", "strict"),
                           ("ReadWritePaths", "/var/lib/insuresign-connect"),
                           ("NoNewPrivileges", "yes"),
                           ("PrivateTmp", "yes"),
                           ("ProtectHome", "yes"),
                           ("PrivateDevices", "yes"),
                           ("RestrictAddressFamilies",
                            "AF_UNIX AF_INET AF_INET6"),
                           ("CapabilityBoundingSet", "")]:
            self.assertEqual(k.get(key), [value], key)
        # Socket activation: no --listen, or the program would bind its own.
        self.assertNotIn("--listen", k["ExecStart"][0])
        self.assertEqual(k["Requires"], ["insuresign-connect.socket"])

    def test_the_socket_is_where_the_server_confs_look(self):
        listen = self.keys("insuresign-connect.socket")["ListenStream"]
        self.assertEqual(listen, ["/run/insuresign-connect/fcgi.sock"])
        self.assertIn(f'var.insuresign_socket = "{listen[0]}"',
                      (ROOT / "conf/lighttpd-socket.conf").read_text())
        self.assertIn(f"Define INSURESIGN_SOCKET {listen[0]}\n",
                      (ROOT / "conf/apache-proxy-fcgi.conf").read_text())

    @unittest.skipIf(shutil.which("systemd-analyze") is None,
                     "systemd-analyze is not installed here")
    def test_systemd_analyze_verify(self):
        # verify wants ExecStart's binary to exist: point it at this build.
        with tempfile.TemporaryDirectory() as d:
            for name in ("insuresign-connect.service",
                         "insuresign-connect.socket"):
                text = (self.units / name).read_text()
                text = re.sub(r"(?m)^ExecStart=\S+",
                              f"ExecStart={PROGRAM.resolve()}", text)
                (Path(d) / name).write_text(text)
            r = subprocess.run(
                ["systemd-analyze", "verify", "--man=no",
                 "./insuresign-connect.socket",
                 "./insuresign-connect.service"],
                cwd=d, capture_output=True, text=True, timeout=60)
        # Unknown or misspelt keys are only warnings: none is allowed.
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))


if __name__ == "__main__":
    unittest.main()
