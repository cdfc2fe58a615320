"""Faults: crashes, a full or read-only disk, a tampered store, a broken
token endpoint, oversized requests.  Each loses nothing and opens nothing.
"""

import concurrent.futures
import contextlib
import os
import random
import re
import signal
import subprocess
import threading
import time
import unittest

from rig import BASE, PROGRAM, Mock, Rig



@contextlib.contextmanager
def store_on_tmpfs(test, size):
    """The rig's store moved to a tmpfs of that size for the block (the
    server restarted on it, and back after)."""
    rig = test.rig
    disk = rig.out / f"tmpfs-{size}"
    disk.mkdir(exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                        f"size={size},mode=0700", "tmpfs", str(disk)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        test.skipTest(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        rig.settings["store"]["dir"] = disk
        rig.write_config()
        rig.restart_server()
        yield disk
    finally:
        rig.settings["store"]["dir"] = rig.store
        rig.write_config()
        rig.restart_server()
        subprocess.run(["umount", str(disk)])


class FaultTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(cls.__name__, backend_key=True)
        cls.addClassCleanup(cls.rig.stop)

    def setUp(self):
        self.rig.mock.reset(keep_grants=True)
        for r in self.rig.records():
            r.unlink()

    def linked(self, expires_in=None):
        return self.rig.link(expires_in)

    def token(self, sid):
        return self.rig.token(sid)

    def status(self, b):
        return b.get(self.rig.url(BASE + "/status"), nav=False)

    def all_records_open(self):
        """Every record decrypts: none is torn or tampered."""
        for rec in self.rig.records():
            r = self.rig.cli("show", rec.name, check=False)
            self.assertEqual(r.returncode, 0, (rec.name, r.stderr))


class CrashSafety(FaultTest):

    def test_kill_9_workers_200_times_under_load(self):
        sessions = [self.linked(expires_in=30)[1] for _ in range(6)]
        # Every refresh stays due, so every /token writes its record.
        self.rig.mock.config(expires_in=30, rotate_refresh=True)
        stop = threading.Event()
        answers = []

        def load(i):
            while not stop.is_set():
                try:
                    if i % 3 == 0:
                        b = self.rig.browser()
                        answers.append(self.rig.connect(b).status)
                    else:
                        answers.append(
                            self.token(random.choice(sessions)).status)
                except (OSError, AssertionError):
                    answers.append(0)
        threads = [threading.Thread(target=load, args=(i,))
                   for i in range(6)]
        for t in threads:
            t.start()
        kills = 0
        try:
            while kills < 200:
                pids = self.rig.worker_pids()
                if pids:
                    try:
                        os.kill(random.choice(pids), signal.SIGKILL)
                        kills += 1
                    except ProcessLookupError:
                        pass
                time.sleep(random.uniform(0.005, 0.05))
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        self.assertEqual(kills, 200)
        self.assertIn(200, answers)      # it kept serving meanwhile
        # lighttpd disables killed backends for a second, then respawns.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (
                len(self.rig.worker_pids()) < 4 or
                self.status(self.rig.browser()).status != 200):
            time.sleep(0.2)
        # Every record is whole: the old one or the new one.
        self.all_records_open()
        self.rig.cli("gc")
        self.assertEqual(list(self.rig.store.glob("*/.tmp-*")), [])
        # No lock is stuck: each session answers at once.
        self.rig.mock.reset(keep_grants=True)
        for sid in sessions:
            t0 = time.monotonic()
            r = self.token(sid)
            self.assertIn(r.status, (200, 409), r.text)
            self.assertLess(time.monotonic() - t0, 3)


class StoreFaults(FaultTest):

    def test_full_disk(self):
        with store_on_tmpfs(self, "2m") as disk:
            b, sid = self.linked(expires_in=30)
            before = {p: p.read_bytes() for p in disk.glob("??/*")}
            fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while os.write(fd, b"\0" * 4096) > 0:
                    pass
            except OSError:
                pass
            finally:
                os.close(fd)
            # A new link cannot be saved: a clear 503, not a 500, and the
            # code is not spent at InsureSign for tokens we would drop.
            other = self.rig.browser()
            r = self.rig.connect(other)
            self.assertEqual(r.status, 503)
            self.assertIn("cannot be saved", r.text)
            self.assertEqual(self.rig.mock.token_requests(), 0)
            # A due refresh is not even asked for (a rotating refresh
            # token would be spent for nothing); the token, still good
            # for a few seconds, is handed out; the record is kept.
            self.rig.mock.config(rotate_refresh=True)
            r = self.token(sid)
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(self.rig.mock.token_requests(), 0)
            self.assertIn("disk is full", self.rig.logs())
            after = {p: p.read_bytes() for p in disk.glob("??/*")}
            self.assertEqual(after, before)
            self.assertEqual(list(disk.glob("*/.tmp-*")), [])
            self.assertEqual(self.status(b).status, 200)
            # Room again: the refresh happens, and the rotated refresh
            # token was kept, so the one after works too.
            os.unlink(disk / "filler")
            first = self.token(sid)
            self.assertEqual(first.status, 200, first.text)
            self.assertEqual(self.rig.mock.token_requests("refresh_token"), 1)
            name = next(disk.glob("??/*")).name
            self.rig.cli("refresh", name[:12])
            self.assertEqual(self.rig.mock.token_requests("refresh_token"), 2)
            self.assertEqual(self.rig.mock.log(endpoint="token")[-1]["status"],
                             200)

    def test_read_only_store(self):
        with store_on_tmpfs(self, "1m") as disk:
            b, sid = self.linked()
            subprocess.run(["mount", "-o", "remount,ro", str(disk)],
                           check=True)
            self.assertTrue(self.status(b).json()["connected"])
            r = self.rig.connect(self.rig.browser())
            self.assertEqual(r.status, 503)
            self.assertIn("Read-only file system", self.rig.logs())

    def test_store_owned_by_someone_else(self):
        b, sid = self.linked()
        os.chown(self.rig.store, 4321, 4321)
        try:
            r = self.status(b)
            self.assertEqual(r.status, 503)
            self.assertIn("owned by uid 4321", self.rig.logs())
        finally:
            os.chown(self.rig.store, os.getuid(), os.getgid())
        self.assertEqual(self.status(b).status, 200)

    def test_symlink_planted_for_a_record(self):
        b, sid = self.linked()
        rec = self.rig.records()[0]
        secret = self.rig.out / "not-for-you"
        secret.write_bytes(rec.read_bytes())
        rec.unlink()
        rec.symlink_to(secret)
        try:
            self.assertEqual(self.status(b).status, 503)
            self.assertIn("symbolic link: refused", self.rig.logs())
            r = self.token(sid)
            self.assertEqual(r.status, 503)
        finally:
            rec.unlink()

    def test_symlink_planted_for_a_shard(self):
        b, sid = self.linked()
        rec = self.rig.records()[0]
        shard = rec.parent
        elsewhere = self.rig.out / "elsewhere"
        shard.rename(elsewhere)
        shard.symlink_to(elsewhere)
        try:
            self.assertEqual(self.status(b).status, 503)
            self.assertIn("not a directory: refused", self.rig.logs())
        finally:
            shard.unlink()
            elsewhere.rename(shard)
        self.assertEqual(self.status(b).status, 200)

    def test_truncated_record(self):
        b, sid = self.linked()
        rec = self.rig.records()[0]
        data = rec.read_bytes()
        for cut in (0, 10, 72, len(data) - 1):
            rec.write_bytes(data[:cut])
            self.assertEqual(self.status(b).status, 503, cut)
            self.assertEqual(self.token(sid).status, 503, cut)
        rec.write_bytes(data)
        self.assertEqual(self.status(b).status, 200)


class TokenEndpointFaults(FaultTest):
    """Each ends within the timeout ([http] timeout = 4 in the rig) with a
    502 or 504, stores nothing, and the workers go on serving."""

    def exchange(self, **switches):
        b = self.rig.browser()
        self.rig.mock.config(auto_approve=True)
        start = b.get(self.rig.url(BASE + "/connect/start"))
        cb = b.get(start.location).location
        self.rig.mock.config(fault_count=1, **switches)
        t0 = time.monotonic()
        r = b.get(cb)
        return r, time.monotonic() - t0

    def check(self, r, took, status):
        self.assertEqual(r.status, status, r.text[:300])
        self.assertLess(took, 4 + 1.5)
        self.assertEqual(self.rig.records(), [])
        self.assertEqual(self.status(self.rig.browser()).status, 200)

    def test_reset_mid_reply(self):
        self.check(*self.exchange(reset=True), 502)

    def test_trickle(self):
        self.check(*self.exchange(trickle=True), 504)

    def test_redirect_to_another_host(self):
        self.check(*self.exchange(redirect="https://example.com/token"), 502)

    def test_ten_megabytes(self):
        r, took = self.exchange(pad=10_000_000)
        self.check(r, took, 502)
        self.assertLess(took, 3)          # stopped at the 64 KiB cap

    def test_connection_refused_and_untrusted_certificate(self):
        closed = Mock(self.rig.out, [self.rig.redirect_uri],
                      name="mock-closed")
        closed_url = closed.url
        closed.stop()
        selfsigned = Mock(self.rig.out, [self.rig.redirect_uri],
                          cert="selfsigned", name="mock-selfsigned")
        try:
            for url, kind in [(closed_url, "network"),
                              (selfsigned.url, "tls")]:
                self.rig.settings["insuresign"]["token_url"] = \
                    url + "/oauth2/token"
                self.rig.write_config()
                self.rig.restart_server()
                r, took = self.exchange()
                self.check(r, took, 502)
                self.assertEqual(self.rig.mock.token_requests(), 0)
            self.assertIn("(tls_error)", self.rig.logs())
            self.assertIn("(network_error)", self.rig.logs())
            self.assertEqual(selfsigned.stats()["token_requests"], 0)
        finally:
            selfsigned.stop()
            self.rig.settings["insuresign"]["token_url"] = \
                self.rig.mock.url + "/oauth2/token"
            self.rig.write_config()
            self.rig.restart_server()


class Limits(unittest.TestCase):
    """The program as plain CGI, fed by hand: what no web server lets by."""

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(cls.__name__)
        cls.addClassCleanup(cls.rig.stop)

    def cgi(self, env, body=None, close_stdin=True):
        e = {"INSURESIGN_CONNECT_CONF": str(self.rig.ini),
             "REQUEST_METHOD": "GET", "REQUEST_URI": BASE + "/status",
             "QUERY_STRING": "", "PATH": os.environ["PATH"]}
        e.update(env)
        p = subprocess.Popen([str(PROGRAM)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=e)
        if close_stdin:
            out, _ = p.communicate(body or b"", timeout=10)
        else:
            # stdin stays open and unwritten: a program that read the
            # body would hang here, and the timeout would fail the test.
            out = p.stdout.read()
            p.stdin.close()
            p.wait(10)
        head = out.split(b"\r\n\r\n", 1)[0].decode()
        return int(re.match(r"Status: (\d+)", head).group(1))

    def test_oversized_parts(self):
        self.assertEqual(self.cgi({"QUERY_STRING": "a" * 5000}), 414)
        self.assertEqual(self.cgi({"REQUEST_URI": "/" + "a" * 5000}), 414)
        self.assertEqual(self.cgi({"HTTP_COOKIE": "x=" + "a" * 9000}), 431)
        # 413 without reading the body: stdin stays open, unwritten.
        self.assertEqual(self.cgi({"REQUEST_METHOD": "POST",
                                   "REQUEST_URI": BASE + "/disconnect",
                                   "CONTENT_LENGTH": "20000"},
                                  close_stdin=False), 413)

    def test_bad_content_length(self):
        post = {"REQUEST_METHOD": "POST", "REQUEST_URI": BASE + "/disconnect",
                "CONTENT_TYPE": "application/x-www-form-urlencoded"}
        for cl in ("-1", "abc", "1e3", "+5", " 5"):
            self.assertEqual(self.cgi({**post, "CONTENT_LENGTH": cl}), 400,
                             cl)
        # Larger than the body that came.
        self.assertEqual(self.cgi({**post, "CONTENT_LENGTH": "100"},
                                  body=b"csrf=abc"), 400)
        self.assertEqual(self.cgi({**post, "CONTENT_LENGTH": "8"},
                                  body=b"csrf=abc"), 403)


if __name__ == "__main__":
    unittest.main()
