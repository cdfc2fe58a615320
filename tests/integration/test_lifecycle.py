"""Token lifecycle: refresh, the backend's /token, disconnect and
revocation, clean-up, key rotation and the command line, for real:
lighttpd with 4 workers (conf/lighttpd.conf's max-procs), the mock.
"""

import concurrent.futures
import json
import os
import re
import signal
import struct
import subprocess
import threading
import time
import unittest

from rig import BASE, PROGRAM, ROOT, Rig, wait_for

SESSION = "insuresign_session"


class LifecycleTest(unittest.TestCase):

    extra = {}

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(cls.__name__, ini=cls.extra, backend_key=True)
        cls.addClassCleanup(cls.rig.stop)
        cls.rig.settings["app"]["audit_log"] = cls.rig.out / "audit.log"
        cls.rig.settings["insuresign"]["revocation_url"] = \
            cls.rig.mock.url + "/oauth2/revoke"
        cls.rig.write_config()
        cls.rig.restart_server()

    def setUp(self):
        self.rig.mock.reset()
        for r in self.rig.records():
            r.unlink()

    def linked(self, expires_in=None):
        return self.rig.link(expires_in)

    def token(self, sid, **kw):
        return self.rig.token(sid, **kw)

    def refreshes(self):
        return self.rig.mock.token_requests("refresh_token")

    def issued(self):
        return self.rig.mock.tokens()

    def status(self, b):
        return b.get(self.rig.url(BASE + "/status"), nav=False).json()


class BackendToken(LifecycleTest):

    def test_a_fresh_token_without_refreshing(self):
        b, sid = self.linked()
        r = self.token(sid)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        t = r.json()
        self.assertEqual(t["token_type"], "Bearer")
        self.assertEqual(t["access_token"], self.issued()["access_tokens"][-1])
        self.assertRegex(t["expires_at"], r"Z$")
        self.assertGreater(t["expires_in"], 3500)
        self.assertEqual(self.refreshes(), 0)

    def test_who_may_ask(self):
        b, sid = self.linked()
        self.assertEqual(self.token(sid, key="wrong" * 10).status, 401)
        r = self.token(sid, key="")
        self.assertEqual(r.status, 401)
        self.assertIn("Bearer", r.header("WWW-Authenticate"))
        # A browser holding only the cookie gets nothing.
        r = b.request("GET", self.rig.url(BASE + "/token"))
        self.assertEqual(r.status, 401)
        self.assertNotIn(b"access_token", r.body)
        r = self.token("")
        self.assertEqual(r.status, 400)
        r = self.token("A" * 43)
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"], "not_connected")

    def test_refreshed_when_due(self):
        b, sid = self.linked(expires_in=30)   # due: margin is 60 s
        first = self.issued()
        r = self.token(sid)
        self.assertEqual(r.status, 200)
        log = self.rig.mock.log(grant_type="refresh_token")
        self.assertEqual(len(log), 1)
        p = log[0]["params"]
        self.assertEqual(p["refresh_token"], first["refresh_tokens"][-1])
        self.assertEqual(p["client_id"], "test-client")
        self.assertTrue(log[0]["client_ok"])
        self.assertEqual(r.json()["access_token"],
                         self.issued()["access_tokens"][-1])
        self.assertGreater(r.json()["expires_in"], 3500)
        # Fresh now: the next ask does not refresh again.
        self.assertEqual(self.token(sid).status, 200)
        self.assertEqual(self.refreshes(), 1)
        st = self.status(b)
        self.assertTrue(st["connected"])
        self.assertNotIn("last_refresh_error", st)

    def test_no_refresh_token_in_the_reply_keeps_the_old_one(self):
        b, sid = self.linked(expires_in=30)
        old_rt = self.issued()["refresh_tokens"][-1]
        self.rig.mock.config(expires_in=30)     # every refresh stays due
        for _ in range(3):
            self.assertEqual(self.token(sid).status, 200)
        used = [e["params"]["refresh_token"] for e in
                self.rig.mock.log(grant_type="refresh_token")]
        self.assertEqual(used, [old_rt] * 3)

    def test_rotating_refresh_tokens(self):
        b, sid = self.linked(expires_in=30)
        self.rig.mock.config(expires_in=30, rotate_refresh=True)
        for _ in range(3):
            self.assertEqual(self.token(sid).status, 200)
        used = [e["params"]["refresh_token"] for e in
                self.rig.mock.log(grant_type="refresh_token")]
        self.assertEqual(len(set(used)), 3)    # each a new one
        self.assertTrue(all(e["status"] == 200 for e in
                            self.rig.mock.log(grant_type="refresh_token")))

    def test_invalid_grant_needs_reconnect(self):
        b, sid = self.linked(expires_in=30)
        self.rig.mock.config(error="invalid_grant")
        r = self.token(sid)
        self.assertEqual(r.status, 409)
        self.assertEqual(r.json()["error"], "needs_reconnect")
        st = self.status(b)
        self.assertFalse(st["connected"])
        self.assertTrue(st["needs_reconnect"])
        self.assertEqual(st["last_refresh_error"], "invalid_grant")
        self.assertEqual(len(self.rig.records()), 1)    # kept, for admin
        # Known now: no second refresh request.
        self.assertEqual(self.token(sid).status, 409)
        self.assertEqual(self.refreshes(), 1)
        # Reconnecting mends it.
        self.rig.mock.reset(keep_grants=True)
        self.assertEqual(self.rig.connect(b).status, 303)
        self.assertTrue(self.status(b)["connected"])

    def test_invalid_client_keeps_the_tokens(self):
        b, sid = self.linked(expires_in=30)
        self.rig.mock.config(status=401, fault_count=1)
        r = self.token(sid)
        # Still valid for 30 s: the backend gets the old token.
        self.assertEqual(r.status, 200)
        self.assertIn("invalid_client", self.rig.logs())
        self.assertEqual(self.status(b)["last_refresh_error"],
                         "invalid_client")
        # The tokens were kept: a forced refresh works with them.
        rec = self.rig.records()[0].name
        self.rig.cli("refresh", rec[:12])
        self.assertNotIn("last_refresh_error", self.status(b))


class ExpiredTokens(LifecycleTest):
    """Tokens already expired: failures cannot fall back on them."""

    extra = {"insuresign": {"refresh_backoff": 30}}

    def expired(self):
        b, sid = self.linked(expires_in=1)
        time.sleep(2.1)
        return b, sid

    def test_server_errors_back_off(self):
        b, sid = self.expired()
        self.rig.mock.config(status=500)
        r = self.token(sid)
        self.assertEqual(r.status, 503)
        self.assertEqual(r.header("Retry-After"), "30")
        self.assertEqual(r.json()["error"], "server_error")
        self.assertEqual(self.token(sid).status, 503)
        self.assertEqual(self.refreshes(), 1)   # backing off
        self.assertEqual(self.status(b)["last_refresh_error"],
                         "server_error")
        # The old refresh token was kept: a forced refresh mends it.
        self.rig.mock.reset(keep_grants=True)
        self.rig.cli("refresh", self.rig.records()[0].name[:12])
        self.assertEqual(self.token(sid).status, 200)

    def test_rate_limited_and_unreachable(self):
        for switches, kind in [({"status": 429}, "rate_limited"),
                               ({"reset": True}, "network_error")]:
            with self.subTest(kind=kind):
                self.rig.mock.reset(keep_grants=True)
                b, sid = self.expired()
                self.rig.mock.config(**switches)
                r = self.token(sid)
                self.assertEqual(r.status, 503)
                self.assertEqual(r.json()["error"], kind)


class DoublingBackoff(LifecycleTest):
    """Retry-After says when the link's back-off ends, which doubles."""

    extra = {"insuresign": {"refresh_backoff": 1}}

    def test_retry_after_follows_the_back_off(self):
        b, sid = self.linked(expires_in=1)
        time.sleep(2.1)
        self.rig.mock.config(status=500)
        self.assertEqual(self.token(sid).header("Retry-After"), "1")
        time.sleep(1.1)
        r = self.token(sid)     # the second failure in a row: two seconds
        self.assertEqual((r.status, r.header("Retry-After")), (503, "2"))
        r = self.token(sid)     # backing off: what is left of them
        self.assertEqual(r.status, 503)
        self.assertIn(r.header("Retry-After"), ("1", "2"))
        self.assertEqual(self.refreshes(), 2)


class Concurrency(LifecycleTest):

    def race(self, sid, n=50):
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            return list(pool.map(lambda _: self.token(sid), range(n)))

    def test_fifty_requests_one_refresh(self):
        b, sid = self.linked(expires_in=30)
        self.rig.mock.config(delay=0.5, fault_grant="refresh_token")
        answers = self.race(sid)
        self.assertEqual([r.status for r in answers], [200] * 50)
        self.assertEqual(self.refreshes(), 1)
        new = self.issued()["access_tokens"][-1]
        self.assertEqual({r.json()["access_token"] for r in answers}, {new})
        # Four worker processes, as conf/lighttpd.conf says.
        self.assertEqual(len(self.rig.worker_pids()), 4)

    def test_fifty_requests_with_rotation_and_reuse_detection(self):
        b, sid = self.linked(expires_in=30)
        self.rig.mock.config(delay=0.3, fault_grant="refresh_token",
                             rotate_refresh=True)
        answers = self.race(sid)
        self.assertEqual([r.status for r in answers], [200] * 50)
        self.assertEqual(self.refreshes(), 1)
        self.assertTrue(self.status(b)["connected"])

    def test_cli_and_backend_racing_refresh_once(self):
        b, sid = self.linked(expires_in=30)
        self.rig.mock.config(delay=0.5, fault_grant="refresh_token")
        cmd = [str(PROGRAM), "token", "--session", sid,
               "--config", str(self.rig.ini)]
        # Their log lines (stderr) would land in make test's output.
        clis = [subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
                for _ in range(4)]
        web = self.race(sid, 8)
        outs = [p.communicate(timeout=30)[0].strip() for p in clis]
        self.assertEqual([p.returncode for p in clis], [0] * 4)
        self.assertEqual(self.refreshes(), 1)
        new = self.issued()["access_tokens"][-1]
        self.assertEqual(set(outs), {new})
        self.assertEqual({r.json()["access_token"] for r in web}, {new})

    def test_kill_9_of_the_worker_holding_the_lock(self):
        b, sid = self.linked(expires_in=30)
        self.rig.mock.config(hang=True, fault_grant="refresh_token",
                             fault_count=1)
        stuck = concurrent.futures.ThreadPoolExecutor(1).submit(
            self.token, sid)
        started = re.compile(r"insuresign-connect\[(\d+)\]: refresh " +
                             self.rig.records()[0].name[:12] + ": starting")

        def holder():
            m = started.findall(self.rig.logs())
            return m[-1] if m else None
        deadline = time.monotonic() + 10
        while holder() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(holder())
        os.kill(pid, signal.SIGKILL)
        # lighttpd either fails that request or retries it on another
        # worker, which can only refresh if the kernel dropped the lock.
        first = stuck.result(timeout=30)
        self.assertIn(first.status, (200, 500, 502, 503))
        # Until lighttpd has reaped the worker it may still hand it the
        # next request (a 500 from lighttpd, not from us).
        wait_for(lambda: "child signalled: 9" in self.rig.logs(),
                 what="lighttpd to see its worker die")
        t0 = time.monotonic()
        r = self.token(sid)
        self.assertEqual(r.status, 200)
        self.assertLess(time.monotonic() - t0, 3)   # no lock wait
        ok = [e for e in self.rig.mock.log(grant_type="refresh_token")
              if e["status"] == 200]
        self.assertEqual(len(ok), 1)
        self.assertEqual(r.json()["access_token"],
                         self.issued()["access_tokens"][-1])
        self.assertNotIn(pid, self.rig.worker_pids())


class Disconnect(LifecycleTest):

    def test_disconnect_revokes_then_deletes(self):
        b, sid = self.linked()
        rt = self.issued()["refresh_tokens"][-1]
        csrf = self.status(b)["csrf_token"]
        r = b.post(self.rig.url(BASE + "/disconnect"), {"csrf": csrf},
                   headers={"Sec-Fetch-Mode": "navigate"})
        self.assertEqual(r.status, 303)
        log = self.rig.mock.log(endpoint="revoke")
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0]["params"], {"token": rt,
                                            "token_type_hint":
                                            "refresh_token"})
        self.assertTrue(log[0]["client_ok"])
        self.assertEqual(self.rig.records(), [])
        self.assertEqual(self.token(sid).status, 404)

    def test_failed_revocation_still_deletes(self):
        b, sid = self.linked()
        self.rig.mock.config(fault_grant="revoke", status=503)
        csrf = self.status(b)["csrf_token"]
        r = b.post(self.rig.url(BASE + "/disconnect"), {"csrf": csrf},
                   headers={"Sec-Fetch-Mode": "navigate"})
        self.assertEqual(r.status, 303)
        self.assertEqual(self.rig.records(), [])
        self.assertIn("deleting the local record anyway", self.rig.logs())


class CommandLine(LifecycleTest):

    def test_list_and_show_never_print_a_token(self):
        b, sid = self.linked()
        secrets = self.issued()
        name = self.rig.records()[0].name
        out = self.rig.cli("list").stdout
        self.assertIn(name[:12], out)
        self.assertIn("connected", out)
        js = json.loads(self.rig.cli("list", "--json").stdout)
        self.assertEqual(js[0]["id"], name)
        self.assertTrue(js[0]["refresh_token"])
        shown = self.rig.cli("show", name[:8]).stdout
        self.assertIn(secrets["access_tokens"][-1][:4], shown)
        for text in (out, json.dumps(js), shown):
            for t in secrets["access_tokens"] + secrets["refresh_tokens"]:
                self.assertNotIn(t, text)

    def test_token_refresh_delete(self):
        b, sid = self.linked(expires_in=30)
        r = self.rig.cli("token", "--session", sid)
        self.assertEqual(r.stdout.strip(), self.issued()["access_tokens"][-1])
        self.assertEqual(self.refreshes(), 1)
        name = self.rig.records()[0].name
        self.assertIn("refreshed", self.rig.cli("refresh", name[:10]).stdout)
        self.assertEqual(self.refreshes(), 2)
        self.assertIn("deleted", self.rig.cli("delete", name[:10]).stdout)
        self.assertEqual(self.rig.mock.stats()["revoke_requests"], 1)
        self.assertEqual(self.rig.records(), [])

    def test_exit_codes(self):
        r = self.rig.cli("show", "ffffffff", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        self.assertEqual(self.rig.cli("show", check=False).returncode, 2)
        self.assertEqual(self.rig.cli("frobnicate", check=False).returncode,
                         2)
        r = self.rig.cli("token", "--session", "A" * 43, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not connected", r.stderr)

    def broken_store(self):
        """The store made readable by others: every command that needs
        it refuses (the context restores it)."""
        rig = self.rig

        class Broken:
            def __enter__(self):
                os.chmod(rig.store, 0o755)

            def __exit__(self, *exc):
                os.chmod(rig.store, 0o700)
        return Broken()

    def fails(self, *args, says, code=1, config=True):
        """Runs a command that must fail with CODE and, as its last line
        of stderr, exactly SAYS (a regex when it is one)."""
        r = self.rig.cli(*args, check=False, config=config)
        self.assertEqual(r.returncode, code, r.stderr)
        last = r.stderr.strip().splitlines()[-1]
        if isinstance(says, re.Pattern):
            self.assertRegex(last, says)
        else:
            self.assertEqual(last, says)
        return r

    def test_each_error_message_of_the_command_line(self):
        # Issue 11: every message of cli.c, each by its words.
        me = "insuresign-connect"
        self.fails("list", "--config", "/nonexistent", config=False, says=(
            f"{me} list: /nonexistent: cannot read: No such file or "
            "directory"))
        # Every command that reads the store opens the configuration
        # first, and says which file it could not read.
        for args in (["show", "abcd"], ["token", "--user", "u"],
                     ["refresh", "abcd"], ["delete", "abcd"], ["gc"],
                     ["refresh-due"], ["deliver"], ["rekey"],
                     ["check-config"], ["migrate", "file", "redis"]):
            self.fails(*args, "--config", "/nonexistent", config=False,
                       says=(f"{me} {args[0]}: /nonexistent: cannot read: "
                             "No such file or directory"))
        self.fails("deliver", says=(
            f"{me} deliver: events are off: set [events] url and "
            "secret_file"))
        for pair in (["file", "file"], ["file", "mysql"], ["redis", "x"]):
            self.fails("migrate", *pair, says=(
                f"{me} migrate: expected `migrate file redis` or `migrate "
                "redis file`"))
        self.fails("show", "xyz!", says=(
            f"{me} show: expected a record id (at least 4 of its hex "
            "digits, as `list` shows) or --user ID"))
        self.fails("show", "ffffffff", says=f"{me} show: no record has "
                   "that id")
        a = synthetic_head(self.rig.store, "abcd" + "0" * 60)
        synthetic_head(self.rig.store, "abcd" + "1" * 60)
        self.fails("show", "abcd", says=(
            f"{me} show: several records start so: give more digits"))
        # Random bytes where the sealed part should be: nothing opens it.
        r = self.fails("show", a[:12], says=(
            f"{me} show: the record cannot be read (see the log line)"))
        self.assertIn("abcd00000000", r.stderr)
        # A file under a record's name that is no record: listed as such.
        junk = self.rig.store / "ab" / ("abce" + "0" * 60)
        junk.write_bytes(b"not a record")
        junk.chmod(0o600)
        self.assertIn("abce00000000  (not a record: ignored)\n",
                      self.rig.cli("list").stdout)
        self.fails("rekey", says=(
            f"{me} rekey: some records could not be moved (see the log "
            "lines); run it again"))
        for p in self.rig.records():
            p.unlink()
        with self.broken_store():
            for cmd in (["list"], ["gc"], ["refresh-due"]):
                r = self.fails(*cmd, says=(
                    f"{me} {cmd[0]}: cannot read the store" +
                    (" (see the log line above)" if cmd == ["list"]
                     else "")))
                self.assertIn(f"store dir {self.rig.store}: mode 0755, "
                              f"expected 0700 (chmod 700 {self.rig.store})",
                              r.stderr)
            self.fails("show", "abcd", says=(
                f"{me} show: cannot read the store"))
            self.fails("token", "--session", "A" * 43, says=(
                f"{me} token: the store cannot be read or written (see "
                "the log line)"))
            self.fails("check-config", says=(
                f"{me} check-config: fix the errors above"))
        self.fails("token", says=(
            f"usage: {me}.fcgi token --session COOKIE_VALUE | --user ID "
            "[--config FILE]"), code=2)
        self.fails("token", "--session", "short", says=(
            f"{me} token: not a session id of the expected form"))
        self.fails("show", says=f"usage: {me}.fcgi show ID | --user ID "
                   "[--config FILE]", code=2)
        r = self.fails("frobnicate", says=re.compile(r"^ADDR: "), code=2)
        self.assertIn(f'{me}.fcgi: unknown command "frobnicate"', r.stderr)
        # Named as it was run (issue 12, item 9): make install's link.
        link = self.rig.out / me
        link.unlink(missing_ok=True)
        link.symlink_to(PROGRAM)
        r = subprocess.run([str(link), "--bogus"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"usage: {me} [--config FILE]", r.stderr)
        self.assertIn(f"       {me} COMMAND", r.stderr)
        self.assertNotIn(".fcgi", r.stderr)
        self.fails("keygen", str(self.rig.key), config=False, says=(
            f"{me} keygen: {self.rig.key}: File exists (never overwritten:"
            " move the old key to [store] old_key_files first)"))
        self.fails("keygen", "/nonexistent/dir/k", says=(
            f"{me} keygen: /nonexistent/dir/k: No such file or directory"))

    def test_refresh_failures_on_the_command_line(self):
        me = "insuresign-connect"
        b, sid = self.linked(expires_in=30)
        self.rig.mock.config(error="invalid_grant")
        self.fails("token", "--session", sid, says=(
            f"{me} token: needs reconnect: the user must connect again"))
        self.rig.mock.reset()
        for r in self.rig.records():
            r.unlink()
        self.linked()
        self.rig.mock.config(fault_grant="refresh_token", status=503)
        self.fails("refresh", self.rig.records()[0].name[:8],
                   says=re.compile(rf"^{me} refresh: refresh failed: "
                                   r"[a-z_]+$"))
        self.fails("delete", "ffff", says=f"{me} delete: no record has "
                   "that id")
        self.fails("refresh", "ffff", says=f"{me} refresh: no record has "
                   "that id")

    def test_root_is_sent_to_the_stores_owner(self):
        # Issue 12, item 6: as root, with the store www-data's, every
        # command but keygen says how to run it as www-data, and touches
        # nothing; never "chown it", never a bare uid.
        if os.geteuid() != 0:
            self.skipTest("needs root")
        import pwd
        www = pwd.getpwnam("www-data")
        os.chown(self.rig.store, www.pw_uid, www.pw_gid)
        try:
            before = sorted(p.name for p in self.rig.store.iterdir())
            r = self.fails("list", "--json", says=(
                "  runuser -u www-data -- insuresign-connect list --json "
                f"--config {self.rig.ini}"))
            self.assertIn(f"insuresign-connect list: the store "
                          f"{self.rig.store} belongs to www-data: run this "
                          "as www-data, not as root:", r.stderr)
            self.assertNotIn("uid", r.stderr)
            self.assertNotIn("chown", r.stderr)
            self.fails("check-config", says=(
                "  runuser -u www-data -- insuresign-connect check-config "
                f"--config {self.rig.ini}"))
            self.fails("gc", says=re.compile(r"runuser -u www-data -- "))
            self.fails("show", "abcd", says=(
                "  runuser -u www-data -- insuresign-connect show abcd "
                f"--config {self.rig.ini}"))
            self.fails("token", "--session", "A" * 43, says=(
                "  runuser -u www-data -- insuresign-connect token "
                f'--session "$SESSION" --config {self.rig.ini}'))
            self.assertEqual(sorted(p.name for p in self.rig.store.iterdir()),
                             before)
        finally:
            os.chown(self.rig.store, 0, 0)

    def test_check_config_names_each_fix(self):
        r = self.rig.cli("check-config")
        self.assertRegex(r.stdout, r"(?m)^ok +store dir .*mode 0700")
        self.assertRegex(r.stdout, r"(?m)^ok +redirect_uri ")
        self.assertRegex(r.stdout, r"(?m)^ok +token endpoint host 127.0.0.1")
        # libcurl's own reading of the URL, the one that will connect.
        self.assertRegex(r.stdout, r"(?m)^ok +https://127.0.0.1:\d+/oauth2/"
                                   r"token: libcurl connects to host "
                                   r"127.0.0.1$")
        os.chmod(self.rig.store, 0o750)
        try:
            r = self.rig.cli("check-config", check=False)
        finally:
            os.chmod(self.rig.store, 0o700)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"chmod 700 {self.rig.store}", r.stdout)
        self.assertRegex(r.stdout, r"(?m)^ok +state dir .*mode 0700")
        os.chmod(self.rig.state, 0o755)
        try:
            r = self.rig.cli("check-config", check=False)
        finally:
            os.chmod(self.rig.state, 0o700)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r"(?m)^error +\[app\] state_dir .*"
                                   rf"chmod 700 {self.rig.state}")
        os.chmod(self.rig.key, 0o644)
        try:
            r = self.rig.cli("check-config", check=False)
        finally:
            os.chmod(self.rig.key, 0o600)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"chmod 600 {self.rig.key}", r.stderr)
        # A redirect_uri elsewhere is a warning, not an error.
        saved = self.rig.settings["insuresign"]["redirect_uri"]
        self.rig.settings["insuresign"]["redirect_uri"] = \
            "http://127.0.0.1:1/elsewhere/cb"
        self.rig.write_config()
        try:
            r = self.rig.cli("check-config")
        finally:
            self.rig.settings["insuresign"]["redirect_uri"] = saved
            self.rig.write_config()
        self.assertRegex(r.stdout, r"(?m)^warning +redirect_uri .* points "
                                   r"at /elsewhere/cb")
        # Plain http to this machine, by any name libcurl gives it.
        saved = self.rig.settings["insuresign"]["token_url"]
        try:
            for host, curl in (("localhost", "localhost"),
                               ("[0:0:0:0:0:0:0:1]", "[::1]")):
                url = f"http://{host}:1/oauth2/token"
                self.rig.settings["insuresign"]["token_url"] = url
                self.rig.write_config()
                r = self.rig.cli("check-config", check=False)
                self.assertIn(f"ok       {url}: libcurl connects to host "
                              f"{curl}\n", r.stdout)
            # A port libcurl cannot read: an error now, not at every
            # exchange.
            url = "https://127.0.0.1:99999/oauth2/token"
            self.rig.settings["insuresign"]["token_url"] = url
            self.rig.write_config()
            r = self.rig.cli("check-config", check=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"error    {url}: libcurl cannot parse it\n",
                          r.stdout)
            # A host that does not resolve (RFC 6761: .invalid never
            # does) is a warning: DNS may be down only now.
            url = "https://nonexistent.invalid/oauth2/token"
            self.rig.settings["insuresign"]["token_url"] = url
            self.rig.write_config()
            r = self.rig.cli("check-config")
            self.assertIn(f"warning  token endpoint host of {url} does not "
                          "resolve (DNS, or a typo in [insuresign] "
                          "token_url?)\n", r.stdout)
        finally:
            self.rig.settings["insuresign"]["token_url"] = saved
            self.rig.write_config()

    def test_each_bearer_key_file_is_read_and_checked(self):
        # Issue 11: app.c's refusal of a key file, for each of the four.
        short = self.rig.secret_file("short.key", "tooshort\n")
        for section, key in (("app", "backend_key_file"),
                             ("admin", "key_file"),
                             ("metrics", "key_file"),
                             ("events", "secret_file")):
            saved = {k: dict(v) for k, v in self.rig.settings.items()}
            self.rig.settings.setdefault(section, {})[key] = short
            if section == "events":
                self.rig.settings["events"]["url"] = \
                    "https://127.0.0.1:1/events"
            self.rig.write_config()
            try:
                r = self.rig.cli("check-config", check=False)
            finally:
                self.rig.settings.clear()
                self.rig.settings.update(saved)
                self.rig.write_config()
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(f'[{section}] {key} = "{short}": expected one '
                          "line of at least 32 characters", r.stderr)

    def libcurl_hidden(self, *cmd, **kw):
        """CMD in a mount namespace where libcurl.so.4 is an empty file,
        as on a host without Debian's libcurl4."""
        lib = re.search(r"libcurl\.so\.4 \(.*\) => (\S+)", subprocess.run(
            ["ldconfig", "-p"], capture_output=True, text=True).stdout)
        self.assertIsNotNone(lib, "no libcurl.so.4 in ldconfig -p")
        return ["unshare", "--mount", "sh", "-c",
                'mount --bind /dev/null "$0" && exec "$@"', lib.group(1),
                *map(str, cmd)]

    @unittest.skipUnless(os.geteuid() == 0, "needs root to hide libcurl")
    def test_a_missing_libcurl_shows_in_check_config_and_at_start(self):
        self.assertRegex(self.rig.cli("check-config").stdout,
                         r"(?m)^ok +libcurl\.so\.4 loads$")
        r = subprocess.run(self.libcurl_hidden(
            PROGRAM, "check-config", "--config", self.rig.ini),
            capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"(?m)^error +libcurl cannot be loaded, "
                         r".*file too short \(install Debian's libcurl4\)$")
        # A FastCGI listener says so at start, before any exchange.
        log = self.rig.out / "no-libcurl.log"
        with open(log, "wb") as err:
            p = subprocess.Popen(self.libcurl_hidden(
                PROGRAM, "--config", self.rig.ini, "--workers", "1",
                "--listen", f"unix:{self.rig.out / 'no-libcurl.sock'}"),
                stdin=subprocess.DEVNULL, stderr=err)
        try:
            wait_for(lambda: "listening with" in log.read_text() or
                     p.poll() is not None, what="the listener")
        finally:
            p.terminate()
            p.wait(10)
        self.assertIn("self-check: libcurl cannot be loaded",
                      log.read_text())
        # A CGI request does not load it: what it saves is that cost.
        r = subprocess.run(self.libcurl_hidden(PROGRAM), env={
            "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
            "REQUEST_URI": BASE + "/status", "QUERY_STRING": "",
            "INSURESIGN_CONNECT_CONF": str(self.rig.ini),
            "PATH": os.environ["PATH"]}, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"\"connected\":false", r.stdout)
        self.assertNotIn(b"libcurl", r.stderr)

    def test_audit_trail(self):
        b, sid = self.linked(expires_in=30)
        self.token(sid)
        csrf = self.status(b)["csrf_token"]
        b.post(self.rig.url(BASE + "/disconnect"), {"csrf": csrf})
        audit = (self.rig.out / "audit.log").read_text()
        for event in ("linked", "refreshed", "revoked", "disconnected"):
            self.assertRegex(audit, rf"audit: \S+ {event} record=[0-9a-f]{{12}}")
        for t in self.issued()["access_tokens"] + \
                self.issued()["refresh_tokens"]:
            self.assertNotIn(t, audit)
        self.assertNotIn(sid, audit)


def synthetic_head(store, name):
    """A file under a record's name whose head is a record's (a connected
    link, docs/STORE.md) and whose sealed part is random: listing shows
    it, nothing can open it."""
    head = b"ISC\x01" + b"\0\0\0\0" + struct.pack(
        ">BBBxH2x4s4xqqqqqq", 1, 0, 1, 10, b"eyJh", 1, 1, 2, 0, 1, 0)
    d = store / name[:2]
    d.mkdir(mode=0o700, exist_ok=True)
    (d / name).write_bytes(head + os.urandom(60))
    (d / name).chmod(0o600)
    return name


def age_record(path, days):
    """Moves a record's times back (its head is documented, docs/STORE.md:
    big-endian seconds at offsets 24 created, 32 updated, 48 last refresh,
    56 last used).  The head is authenticated, so only gc reads such a
    record; it has no key-less way to tell."""
    data = bytearray(path.read_bytes())
    for off in (24, 32, 48, 56):
        t, = struct.unpack_from(">q", data, off)
        if t:
            struct.pack_into(">q", data, off, t - days * 86400)
    path.write_bytes(bytes(data))


class Cleanup(LifecycleTest):

    extra = {"store": {"max_idle_days": 30}}

    def test_gc_removes_idle_links_and_stray_temp_files(self):
        self.linked()
        self.linked()
        old, fresh = self.rig.records()
        age_record(old, 31)
        # A writer that crashed left this (its record is not locked).
        tmp = old.parent / (".tmp-" + old.name + "-deadbeefdeadbeef")
        tmp.write_bytes(b"half a record")
        out = self.rig.cli("gc").stdout
        self.assertIn(f"removed {old.name[:12]} (idle)", out)
        self.assertIn("kept 1 link (used in the last 30 days), removed 1; "
                      "removed 1 stray temp file\n", out)
        self.assertEqual(self.rig.records(), [fresh])
        self.assertFalse(tmp.exists())
        self.assertIn("gc_removed", (self.rig.out / "audit.log").read_text())

    def test_gc_keeps_recent_and_removes_old_needs_reconnect(self):
        b, sid = self.linked(expires_in=30)
        self.rig.mock.config(error="invalid_grant")
        self.assertEqual(self.token(sid).status, 409)
        # Nothing to do is said too (issue 12, item 9): cron mails it.
        self.assertEqual(self.rig.cli("gc").stdout,
                         "kept 1 link (used in the last 30 days), removed "
                         "0; removed 0 stray temp files\n")
        self.assertEqual(len(self.rig.records()), 1)
        age_record(self.rig.records()[0], 31)
        self.assertIn("(needs_reconnect)", self.rig.cli("gc").stdout)
        self.assertEqual(self.rig.records(), [])

    def test_conf_has_a_timer_and_a_cron_line(self):
        root = ROOT / "conf"
        timer = (root / "insuresign-connect-gc.timer").read_text()
        self.assertIn("OnCalendar=", timer)
        service = (root / "insuresign-connect-gc.service").read_text()
        self.assertIn(" gc", service)
        cron = (root / "insuresign-connect.cron").read_text()
        self.assertRegex(cron, r"(?m)^[0-9*].*/insuresign-connect gc ")


class KeyRotation(LifecycleTest):

    def test_rotation_never_logs_anyone_out(self):
        b, sid = self.linked()
        old_name = self.rig.records()[0].name
        # The operator: a new key, the old one kept for reading.
        old_key = self.rig.out / "store.key.old"
        os.rename(self.rig.key, old_key)
        self.rig.cli("keygen", str(self.rig.key), config=False)
        self.rig.settings["store"]["old_key_files"] = old_key
        self.rig.write_config()
        self.rig.restart_server()
        try:
            self.assertTrue(self.status(b)["connected"])
            self.assertEqual(self.token(sid).status, 200)
            out = self.rig.cli("rekey").stdout
            self.assertIn("re-sealed 1 record", out)
            names = [p.name for p in self.rig.records()]
            self.assertEqual(len(names), 1)
            self.assertNotEqual(names[0], old_name)
            self.assertTrue(self.status(b)["connected"])
            self.assertEqual(self.token(sid).status, 200)
            # Once rekeyed, the old key is no longer needed.
            del self.rig.settings["store"]["old_key_files"]
            self.rig.write_config()
            self.rig.restart_server()
            self.assertTrue(self.status(b)["connected"])
            self.assertIn("re-sealed 0 records", self.rig.cli("rekey").stdout)
        finally:
            self.rig.settings["store"].pop("old_key_files", None)
            self.rig.write_config()


if __name__ == "__main__":
    unittest.main()
